/*
 * coll_mismatch_test.c: a collective whose arguments differ between
 * ranks (count, dtype, op, root, kind, a group's sizes) fails on every
 * rank with MUSTER_EINVAL and a message naming both calls, at once,
 * in shared memory, on the TCP ring and across both; the communicator
 * is broken afterwards.  MUSTER_CHECK_ARGS=0 turns the check off.
 */
#include "test.h"
#include "coll_harness.h"
#include "clock.h"

enum what { COUNT, DTYPE, OP, ROOT, KIND, GROUP_ORDER, GROUP_COUNT,
	BCAST_COUNT, GATHER_COUNT, BIG_COUNT };

struct mcase {
	int odd;		/* the rank that calls differently */
	enum what what;
	const char *a, *b;	/* both calls, as the message says them */
};

static float fbuf[4096], big[300000];

/* What rank r calls; odd: the other arguments. */
static muster_result
call(muster_comm *c, enum what w, int odd)
{
	switch (w) {
	case COUNT:
		return muster_allreduce(fbuf, fbuf, odd ? 1000 : 1024,
		    MUSTER_FLOAT32, MUSTER_SUM, c);
	case DTYPE:
		return muster_allreduce(fbuf, fbuf, 1024, odd ? MUSTER_INT32 :
		    MUSTER_FLOAT32, MUSTER_SUM, c);
	case OP:
		return muster_allreduce(fbuf, fbuf, 1024, MUSTER_FLOAT32,
		    odd ? MUSTER_MAX : MUSTER_SUM, c);
	case ROOT:
		return muster_broadcast(fbuf, 100, MUSTER_FLOAT32, odd ? 1 : 0,
		    c);
	case KIND:
		return odd ? muster_barrier(c) : muster_allreduce(fbuf, fbuf,
		    1, MUSTER_UINT8, MUSTER_MAX, c);
	case GROUP_ORDER:
	case GROUP_COUNT:
		muster_group_start();
		muster_allreduce(fbuf, fbuf, odd ? 5 : 3, MUSTER_FLOAT32,
		    MUSTER_SUM, c);
		muster_allreduce(fbuf + 8, fbuf + 8, odd && w == GROUP_ORDER ?
		    3 : 5, MUSTER_FLOAT32, MUSTER_SUM, c);
		return muster_group_end();
	case BCAST_COUNT:
		return muster_broadcast(fbuf, odd ? 99 : 100, MUSTER_FLOAT32, 0,
		    c);
	case GATHER_COUNT:
		return muster_allgather(fbuf, fbuf + 512, odd ? 7 : 8,
		    MUSTER_FLOAT32, c);
	case BIG_COUNT:		/* the pipelined ring, several segments */
		return muster_allreduce(big, big, odd ? 299999 : 300000,
		    MUSTER_FLOAT32, MUSTER_SUM, c);
	}
	return MUSTER_EINVAL;
}

/*
 * Every rank: one good allreduce, the (mis)matched call, then another
 * call to see the communicator broken.
 */
static void
mismatch_body(muster_comm *c, struct h_report *me, void *arg)
{
	const struct mcase *k = arg;
	int r = muster_comm_rank(c);
	double t0;

	me->rv[0] = muster_allreduce(fbuf, fbuf, 16, MUSTER_FLOAT32,
	    MUSTER_SUM, c);
	t0 = mst_now();
	me->rv[1] = call(c, k->what, r == k->odd);
	me->t[1] = mst_now() - t0;
	snprintf(me->msg[1], sizeof(me->msg[1]), "%s",
	    muster_comm_last_error(c));
	me->rv[2] = muster_allreduce(fbuf, fbuf, 16, MUSTER_FLOAT32,
	    MUSTER_SUM, c);
}

/*
 * Runs case k on n ranks and nodes; same: every rank's message must be
 * the same sentence (with one or two nodes each is found alike).
 */
static void
run_case(int n, int nodes, const struct mcase *k, int same)
{
	int r;

	CHECK_INT(h_run(n, nodes, "20", mismatch_body, (void *)k), 0);
	for (r = 0; r < n; r++) {
		const char *m = h_rep[r].msg[1];
		CHECK_INT(h_rep[r].rv[0], MUSTER_OK);
		CHECK_INT(h_rep[r].rv[1], MUSTER_EINVAL);
		CHECK_(strncmp(m, "mismatched collective: rank ", 28) == 0 &&
		    strstr(m, k->a) != NULL && strstr(m, k->b) != NULL,
		    "rank %d said '%s', want both '%s' and '%s'", r, m, k->a,
		    k->b);
		CHECK_(h_rep[r].t[1] < 5, "rank %d took %.1f s", r,
		    h_rep[r].t[1]);
		/* broken: the same error again */
		CHECK_INT(h_rep[r].rv[2], MUSTER_EINVAL);
		if (same && r > 0)
			CHECK_STR(m, h_rep[0].msg[1]);
	}
	fprintf(stderr, "#   rank 0: %s\n", h_rep[0].msg[1]);
}

#define ARF(cnt) "allreduce(" #cnt " x float32, sum)"

static const struct mcase c_count = { 3, COUNT, ARF(1000), ARF(1024) };

static void
test_count_1node(void)
{
	run_case(4, 1, &c_count, 1);
	CHECK_STR(h_rep[1].msg[1], "mismatched collective: rank 3 called "
	    "allreduce(1000 x float32, sum), rank 0 allreduce(1024 x float32, "
	    "sum)");
}

static void test_count_2nodes(void) { run_case(4, 2, &c_count, 1); }

/* the odd rank leads its node: found on the ring */
static void
test_count_2nodes_leader(void)
{
	static const struct mcase k = { 1, COUNT, ARF(1000), ARF(1024) };

	run_case(2, 2, &k, 1);
	CHECK_STR(h_rep[0].msg[1], "mismatched collective: rank 1 called "
	    "allreduce(1000 x float32, sum), rank 0 allreduce(1024 x float32, "
	    "sum)");
}

/* large: the ring's reduce-scatter carries the descriptor */
static void
test_count_big(void)
{
	static const struct mcase k = { 1, BIG_COUNT, ARF(299999),
	    ARF(300000) };

	run_case(2, 2, &k, 1);
	run_case(3, 3, &k, 0);
	run_case(2, 1, &k, 1);
}

/* three leaders: the two that see it may name different pairs */
static void
test_count_3nodes(void)
{
	static const struct mcase k = { 1, COUNT, ARF(1000), ARF(1024) };

	run_case(3, 3, &k, 0);
}

static void
test_dtype(void)
{
	static const struct mcase k = { 1, DTYPE,
	    "allreduce(1024 x int32, sum)", ARF(1024) };

	run_case(3, 1, &k, 1);
	run_case(4, 2, &k, 1);
}

static void
test_op(void)
{
	static const struct mcase k = { 2, OP,
	    "allreduce(1024 x float32, max)", ARF(1024) };

	run_case(3, 1, &k, 1);
	run_case(4, 2, &k, 1);
}

static void
test_root(void)
{
	static const struct mcase k = { 2, ROOT,
	    "broadcast(100 x float32, root 1)",
	    "broadcast(100 x float32, root 0)" };

	run_case(3, 1, &k, 1);
	run_case(4, 2, &k, 1);
}

static void
test_bcast_count(void)
{
	static const struct mcase k = { 1, BCAST_COUNT,
	    "broadcast(99 x float32, root 0)",
	    "broadcast(100 x float32, root 0)" };

	run_case(2, 1, &k, 1);
	run_case(2, 2, &k, 1);
}

static void
test_allgather_count(void)
{
	static const struct mcase k = { 0, GATHER_COUNT,
	    "allgather(7 x float32)", "allgather(8 x float32)" };

	run_case(3, 1, &k, 1);
	run_case(4, 2, &k, 1);
}

static void
test_kind(void)
{
	static const struct mcase k = { 1, KIND, "barrier()",
	    "allreduce(1 x uint8, max)" };

	run_case(2, 1, &k, 1);
	run_case(4, 2, &k, 1);
}

/* same total, other sizes: fused they would look alike */
static void
test_group_order(void)
{
	static const struct mcase k = { 1, GROUP_ORDER,
	    "a group of 2 allreduces(8 x float32 in all, sum, sizes #",
	    "a group of 2 allreduces(8 x float32 in all, sum, sizes #" };

	run_case(2, 1, &k, 1);
	run_case(4, 2, &k, 1);
}

static void
test_group_count(void)
{
	static const struct mcase k = { 3, GROUP_COUNT,
	    "a group of 2 allreduces(10 x float32 in all",
	    "a group of 2 allreduces(8 x float32 in all" };

	run_case(4, 1, &k, 1);
	run_case(4, 2, &k, 1);
}

/* With the check off the mismatch goes unseen (as before the check). */
static void
off_body(muster_comm *c, struct h_report *me, void *arg)
{
	(void)arg;
	me->rv[1] = call(c, COUNT, muster_comm_rank(c) == 1);
}

static void
test_check_off(void)
{
	int r;

	setenv("MUSTER_CHECK_ARGS", "0", 1);
	CHECK_INT(h_run(3, 1, "20", off_body, NULL), 0);
	unsetenv("MUSTER_CHECK_ARGS");
	for (r = 0; r < 3; r++)
		CHECK_INT(h_rep[r].rv[1], MUSTER_OK);
}

static void
bad_knob_body(muster_comm *c, struct h_report *me, void *arg)
{
	(void)c;
	(void)me;
	(void)arg;
}

static void
test_check_bad_value(void)
{
	setenv("MUSTER_CHECK_ARGS", "2", 1);
	/* init fails on every rank: h_rank exits 3 */
	CHECK_INT(h_run(2, 1, "5", bad_knob_body, NULL), 2);
	unsetenv("MUSTER_CHECK_ARGS");
	CHECK_INT(h_rep[0].init_rv, MUSTER_ENOENV);
}

TEST_LIST = {
	{ "count_1node", test_count_1node },
	{ "count_2nodes", test_count_2nodes },
	{ "count_2nodes_leader", test_count_2nodes_leader },
	{ "count_3nodes", test_count_3nodes },
	{ "count_big", test_count_big },
	{ "dtype", test_dtype },
	{ "op", test_op },
	{ "root", test_root },
	{ "bcast_count", test_bcast_count },
	{ "allgather_count", test_allgather_count },
	{ "kind", test_kind },
	{ "group_order", test_group_order },
	{ "group_count", test_group_count },
	{ "check_off", test_check_off },
	{ "check_bad_value", test_check_bad_value },
	{ NULL, NULL }
};
