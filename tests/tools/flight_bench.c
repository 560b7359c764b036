/*
 * flight_bench: what the flight record adds to one collective, in ns:
 * N starts and ends (lib/flightrec.h) written into a record of a file
 * made as the agent makes it (the start's time is the collective's own,
 * taken anyway: not counted), and what a precise clock_gettime costs
 * here, for comparison.  For tests/perf/flight.sh:
 *
 *   flight_bench N DIR	prints "flight_ns X clock_ns Y"
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "comm.h"
#include "flight.h"
#include "flightrec.h"

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	static muster_comm c;
	struct mst_flight_slot fs;
	char err[512], path[4096];
	double t0, t1, t2;
	long n, i;

	if (argc != 3 || (n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: flight_bench N DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/flight.0", argv[2]);
	if (lch_flight_create(path, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "flight_bench: %s\n", err);
		return 1;
	}
	setenv(MST_FLIGHT_ENV, path, 1);
	mst_flight_attach(0);
	if (mst_flight == NULL) {
		fprintf(stderr, "flight_bench: '%s' was not mapped\n", path);
		return 1;
	}
	c.t.size = 2;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		mst_flight_begin(&fs, &c, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32,
		    MUSTER_SUM, 2, 0, t0 * 1e-9 + (double)i);
		mst_flight_end(&fs, MUSTER_OK);
	}
	t1 = now_ns();
	for (i = 0; i < n; i++)
		(void)mst_now();
	t2 = now_ns();
	printf("flight_ns %.1f clock_ns %.1f\n", (t1 - t0) / (double)n,
	    (t2 - t1) / (double)n);
	unlink(path);
	return 0;
}
