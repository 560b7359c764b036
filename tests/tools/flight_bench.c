/*
 * flight_bench: what the flight record adds to one collective, in ns:
 * N starts and ends (lib/flightrec.h) written into a record of a file
 * made as the agent makes it (the start's time is the collective's own,
 * taken anyway: not counted), quick ends (a small collective that did
 * not wait: what an 8 B allreduce pays) and timed ones (the coarse
 * clock read: one that waited or moved 64 KiB), and what a precise
 * clock_gettime costs here, for comparison; each the best of 5 rounds
 * of N (the machine is shared: the best is the cost, the rest is noise).
 * For tests/perf/flight.sh:
 *
 *   flight_bench N DIR	prints "flight_ns X timed_ns Y clock_ns Z"
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

/* ns per start and end of n (timed: the end reads the clock). */
static double
round_ns(muster_comm *c, long n, int timed)
{
	struct mst_flight_slot fs;
	double t0 = now_ns(), t1;
	long i;

	for (i = 0; i < n; i++) {
		mst_flight_begin(&fs, c, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32,
		    MUSTER_SUM, 2, 0, t0 * 1e-9 + (double)i);
		if (timed)
			mst_flight_end(&fs, MUSTER_OK);
		else
			mst_flight_end_quick(&fs, MUSTER_OK);
	}
	t1 = now_ns();
	return (t1 - t0) / (double)n;
}

static double
clock_round_ns(long n)
{
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++)
		(void)mst_now();
	return (now_ns() - t0) / (double)n;
}

#define MIN(a, b) ((a) < (b) ? (a) : (b))

int
main(int argc, char **argv)
{
	static muster_comm c;
	char err[512], path[4096];
	double q = 1e9, t = 1e9, k = 1e9;
	long n;
	int r;

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
	for (r = 0; r < 5; r++) {	/* interleaved */
		q = MIN(q, round_ns(&c, n, 0));
		t = MIN(t, round_ns(&c, n, 1));
		k = MIN(k, clock_round_ns(n));
	}
	printf("flight_ns %.1f timed_ns %.1f clock_ns %.1f\n", q, t, k);
	unlink(path);
	return 0;
}
