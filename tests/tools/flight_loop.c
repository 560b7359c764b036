/*
 * flight_loop: a loop of allreduces under muster, for the flight
 * record's tests (tests/t7000-flight.sh):
 *
 *   flight_loop [-n ITERS] [-u SLEEP_US] [-s R:I] [-k R:I] [-v] [-h]
 *
 * Each iteration allreduces float32 x 2 (-v: x 4 + i % 3) once.
 * -s R:I: rank R stops itself (SIGSTOP) before iteration I's allreduce;
 * -k R:I: rank R skips iteration I's allreduce; -h: after the loop,
 * a rank that called fewer allreduces than ITERS waits forever (pause)
 * instead of leaving.  Prints "rank R done" at the end; exit 1 after a
 * line naming what failed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <muster.h>

static int
parse_ri(const char *s, int *r, int *i)
{
	return sscanf(s, "%d:%d", r, i) == 2 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	int iters = 100, us = 0, stop_r = -1, stop_i = -1, skip_r = -1,
	    skip_i = -1, vary = 0, hold = 0, o, i, rank, calls = 0;
	float buf[8];
	muster_comm *c;
	muster_result rv;

	while ((o = getopt(argc, argv, "n:u:s:k:vh")) != -1)
		switch (o) {
		case 'n': iters = atoi(optarg); break;
		case 'u': us = atoi(optarg); break;
		case 's': if (parse_ri(optarg, &stop_r, &stop_i)) return 2; break;
		case 'k': if (parse_ri(optarg, &skip_r, &skip_i)) return 2; break;
		case 'v': vary = 1; break;
		case 'h': hold = 1; break;
		default: return 2;
		}
	if ((rv = muster_comm_init_from_env(&c)) != MUSTER_OK) {
		fprintf(stderr, "flight_loop: init: %s\n",
		    muster_comm_last_error(NULL));
		return 1;
	}
	rank = muster_comm_rank(c);
	for (i = 0; i < iters; i++) {
		size_t n = vary ? 4 + (size_t)(i % 3) : 2;

		if (rank == stop_r && i == stop_i)
			raise(SIGSTOP);
		if (rank == skip_r && i == skip_i)
			continue;
		memset(buf, 0, sizeof(buf));
		buf[0] = (float)rank;
		if ((rv = muster_allreduce(buf, buf, n, MUSTER_FLOAT32,
		    MUSTER_SUM, c)) != MUSTER_OK) {
			fprintf(stderr, "flight_loop: rank %d, allreduce %d: "
			    "%s\n", rank, i, muster_comm_last_error(c));
			return 1;
		}
		calls++;
		if (us)
			usleep((useconds_t)us);
	}
	if (hold && calls < iters)
		for (;;)
			pause();
	printf("rank %d done\n", rank);
	muster_comm_destroy(c);
	return 0;
}
