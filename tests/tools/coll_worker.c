/*
 * coll_worker: a libmuster worker for shell tests.  Joins the job from
 * the environment, then: rank $COLL_STALL_RANK sleeps $COLL_STALL_S
 * seconds (a stalled peer), rank $COLL_DIE_RANK exits with 7 (a dead
 * one); the others run allreduces until one fails or $COLL_OPS are done,
 * rank $COLL_ODD_RANK with one element fewer in the large ones (a
 * mismatch), and print "rank R: NAME (S s): MESSAGE" for the result.
 * Exit: 0 when every allreduce succeeded, 1 when one failed, 2 on init.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <muster.h>
#include "clock.h"

static int
env_int(const char *name, int dflt)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : dflt;
}

int
main(void)
{
	static float buf[100000];
	muster_comm *c;
	muster_result rv;
	int r, k, ops = env_int("COLL_OPS", 1000), odd;
	double t0;

	if ((rv = muster_comm_init_from_env(&c)) != MUSTER_OK) {
		printf("init: %s: %s\n", muster_strerror(rv),
		    muster_comm_last_error(NULL));
		return 2;
	}
	r = muster_comm_rank(c);
	if (r == env_int("COLL_DIE_RANK", -1))
		_exit(7);
	if (r == env_int("COLL_STALL_RANK", -1)) {
		sleep((unsigned)env_int("COLL_STALL_S", 30));
		muster_comm_destroy(c);
		return 0;
	}
	odd = r == env_int("COLL_ODD_RANK", -1);
	t0 = mst_now();
	for (k = 0, rv = MUSTER_OK; k < ops && rv == MUSTER_OK; k++)
		rv = muster_allreduce(buf, buf, k % 2 ? 100000 - odd : 3,
		    MUSTER_FLOAT32, MUSTER_SUM, c);
	printf("rank %d: %s (%.1f s): %s\n", r, muster_strerror(rv),
	    mst_now() - t0, rv ? muster_comm_last_error(c) : "");
	fflush(stdout);
	muster_comm_destroy(c);
	return rv == MUSTER_OK ? 0 : 1;
}
