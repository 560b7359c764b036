/*
 * coll_ops_test.c: broadcast, allgather, barrier, group fusion, abort,
 * failures (a killed peer, a stalled peer: an error naming it within the
 * timeout on every other rank, never a hang), environment and argument
 * errors.
 */
#include <signal.h>
#include "test.h"
#include "coll_harness.h"
#include "clock.h"

static const size_t bsizes[] = { 1, 3, 1000, 300001 };

static void
bcast_body(muster_comm *c, struct h_report *me, void *arg)
{
	int n = muster_comm_size(c), r = muster_comm_rank(c), root, k;
	size_t i;
	int32_t *buf = malloc(300001 * 4);

	(void)arg;
	for (root = 0; root < n; root++)
		for (k = 0; k < 4; k++) {
			for (i = 0; i < bsizes[k]; i++)
				buf[i] = r == root ? (int32_t)(i * 7 + root) : -1;
			if (muster_broadcast(buf, bsizes[k], MUSTER_INT32, root,
			    c) != MUSTER_OK) {
				me->failures++;
				continue;
			}
			for (i = 0; i < bsizes[k]; i++)
				if (buf[i] != (int32_t)(i * 7 + root)) {
					me->failures++;
					break;
				}
		}
	free(buf);
}

static void
allgather_body(muster_comm *c, struct h_report *me, void *arg)
{
	int n = muster_comm_size(c), r = muster_comm_rank(c), k, q;
	size_t i;
	uint16_t *mine = malloc(100003 * 2), *all = malloc(100003 * 2 * 4);

	(void)arg;
	for (k = 0; k < 3; k++) {
		size_t cnt = k == 0 ? 1 : k == 1 ? 33 : 100003;
		for (i = 0; i < cnt; i++)
			mine[i] = (uint16_t)(r * 1000 + i);
		memset(all, 0xff, cnt * 2 * (size_t)n);
		/* k == 2: in place (sendbuf is this rank's block) */
		if (k == 2)
			memcpy(all + cnt * (size_t)r, mine, cnt * 2);
		if (muster_allgather(k == 2 ? all + cnt * (size_t)r : mine, all,
		    cnt, MUSTER_FLOAT16, c) != MUSTER_OK) {
			me->failures++;
			continue;
		}
		for (q = 0; q < n; q++)
			for (i = 0; i < cnt; i++)
				if (all[(size_t)q * cnt + i] !=
				    (uint16_t)(q * 1000 + i)) {
					me->failures++;
					q = n;
					break;
				}
	}
	for (k = 0; k < 20; k++)
		if (muster_barrier(c) != MUSTER_OK)
			me->failures++;
	free(mine);
	free(all);
}

static void test_bcast_1node(void) { CHECK_INT(h_run(3, 1, "20", bcast_body, NULL), 0); }
static void test_bcast_2nodes(void) { CHECK_INT(h_run(4, 2, "20", bcast_body, NULL), 0); }
static void test_allgather_1node(void) { CHECK_INT(h_run(4, 1, "20", allgather_body, NULL), 0); }
static void test_allgather_2nodes(void) { CHECK_INT(h_run(3, 2, "20", allgather_body, NULL), 0); }
static void test_allgather_1rank(void) { CHECK_INT(h_run(1, 1, "20", allgather_body, NULL), 0); }

/* Fused allreduces give what separate ones give. */
static void
group_body(muster_comm *c, struct h_report *me, void *arg)
{
	int n = muster_comm_size(c), r = muster_comm_rank(c), k;
	float a[10], b[1000], a2[10];
	int64_t x[5];
	double y[3];
	size_t i;

	(void)arg;
	for (i = 0; i < 10; i++)
		a[i] = (float)(r + i);
	for (i = 0; i < 1000; i++)
		b[i] = (float)(r * i);
	for (i = 0; i < 5; i++)
		x[i] = r + 1;
	for (i = 0; i < 3; i++)
		y[i] = r;
	CHECK_INT(muster_group_start(), MUSTER_OK);
	CHECK_INT(muster_group_start(), MUSTER_ESTATE);
	CHECK_INT(muster_allreduce(a, a2, 10, MUSTER_FLOAT32, MUSTER_SUM, c), 0);
	CHECK_INT(muster_allreduce(x, x, 5, MUSTER_INT64, MUSTER_PROD, c), 0);
	CHECK_INT(muster_allreduce(b, b, 1000, MUSTER_FLOAT32, MUSTER_SUM, c), 0);
	CHECK_INT(muster_allreduce(y, y, 3, MUSTER_FLOAT64, MUSTER_MAX, c), 0);
	CHECK_INT(muster_allreduce(a, a, 10, MUSTER_FLOAT32, MUSTER_AVG, c), 0);
	CHECK_INT(muster_group_end(), MUSTER_OK);
	CHECK_INT(muster_group_end(), MUSTER_ESTATE);
	for (i = 0; i < 10; i++) {
		float s = (float)(n * (n - 1) / 2 + n * (int)i);
		if (a2[i] != s || a[i] != s * (1.0f / (float)n))
			me->failures++;
	}
	for (i = 0; i < 1000; i++)
		if (b[i] != (float)(n * (n - 1) / 2 * (int)i))
			me->failures++;
	for (k = 1, i = 0; i < 5; i++) {
		int64_t p = 1;
		for (k = 1; k <= n; k++)
			p *= k;
		if (x[i] != p)
			me->failures++;
	}
	for (i = 0; i < 3; i++)
		if (y[i] != n - 1)
			me->failures++;
	/* an empty group is fine */
	CHECK_INT(muster_group_start(), MUSTER_OK);
	CHECK_INT(muster_group_end(), MUSTER_OK);
}

/* Past the fusion threshold (64 MiB) a group runs in several batches. */
static void
group_big_body(muster_comm *c, struct h_report *me, void *arg)
{
	static const size_t cnt[3] = { 5 << 20, 5 << 20, 7 << 20 };
	int n = muster_comm_size(c), r = muster_comm_rank(c), k;
	float *b[3];
	size_t i;

	(void)arg;
	for (k = 0; k < 3; k++) {
		b[k] = malloc(cnt[k] * sizeof(float));
		for (i = 0; i < cnt[k]; i++)
			b[k][i] = (float)(r + k + (int)(i % 5));
	}
	muster_group_start();
	for (k = 0; k < 3; k++)
		muster_allreduce(b[k], b[k], cnt[k], MUSTER_FLOAT32, MUSTER_SUM,
		    c);
	if (muster_group_end() != MUSTER_OK)
		me->failures++;
	for (k = 0; k < 3; k++) {
		for (i = 0; i < cnt[k]; i++)
			if (b[k][i] != (float)(n * (n - 1) / 2 +
			    n * (k + (int)(i % 5)))) {
				me->failures++;
				break;
			}
		free(b[k]);
	}
}

static void test_group_big(void) { CHECK_INT(h_run(2, 1, "30", group_big_body, NULL), 0); }
static void test_group_1node(void) { CHECK_INT(h_run(3, 1, "20", group_body, NULL), 0); }
static void test_group_2nodes(void) { CHECK_INT(h_run(4, 2, "20", group_body, NULL), 0); }

/*
 * The victim dies (SIGKILL) or stalls; every other rank must get
 * want (EPEER or ETIMEDOUT) naming the victim within the timeout.
 */
struct fail_arg {
	int victim;
	int stall;
	muster_result want;
	const char *name;	/* "rank N" expected in the message */
};

static void
fail_body(muster_comm *c, struct h_report *me, void *arg)
{
	struct fail_arg *f = arg;
	int r = muster_comm_rank(c), k;
	float buf[70000];
	muster_result rv = MUSTER_OK;
	double t0;

	memset(buf, 0, sizeof(buf));
	if (muster_barrier(c) != MUSTER_OK)
		me->failures++;
	if (r == f->victim) {
		if (f->stall)
			sleep(8);
		else
			raise(SIGKILL);
		_exit(0);
	}
	t0 = mst_now();
	for (k = 0; k < 100 && rv == MUSTER_OK; k++)
		rv = muster_allreduce(buf, buf, k % 2 ? 70000 : 5,
		    MUSTER_FLOAT32, MUSTER_SUM, c);
	me->t[0] = mst_now() - t0;
	me->rv[0] = rv;
	snprintf(me->msg[0], sizeof(me->msg[0]), "%s",
	    muster_comm_last_error(c));
	/* sticky: the communicator stays broken */
	if (muster_allreduce(buf, buf, 5, MUSTER_FLOAT32, MUSTER_SUM, c) == 0)
		me->failures++;
}

static void
run_fail(int n, int nodes, struct fail_arg *f, double limit)
{
	int r;

	h_run(n, nodes, f->stall ? "2" : "5", fail_body, f);
	for (r = 0; r < n; r++) {
		if (r == f->victim)
			continue;
		fprintf(stderr, "# rank %d: %.2fs %s: %s\n", r, h_rep[r].t[0],
		    muster_strerror(h_rep[r].rv[0]), h_rep[r].msg[0]);
		CHECK_INT(h_rep[r].rv[0], f->want);
		CHECK(h_rep[r].t[0] < limit);
		CHECK(strstr(h_rep[r].msg[0], f->name) != NULL);
		CHECK_INT(h_rep[r].failures, 0);
	}
}

static void
test_kill_1node(void)
{
	struct fail_arg f = { 2, 0, MUSTER_EPEER, "rank 2" };

	run_fail(4, 1, &f, 2.0);
}

static void
test_kill_2nodes(void)
{
	struct fail_arg f = { 1, 0, MUSTER_EPEER, "rank 1" };

	run_fail(2, 2, &f, 2.0);
}

static void
test_kill_2nodes_leader(void)
{
	struct fail_arg f = { 2, 0, MUSTER_EPEER, "rank 2" };

	run_fail(4, 2, &f, 2.0);
}

static void
test_kill_2nodes_nonleader(void)
{
	struct fail_arg f = { 3, 0, MUSTER_EPEER, "rank 3" };

	run_fail(4, 2, &f, 2.0);
}

static void
test_stall_1node(void)
{
	struct fail_arg f = { 1, 1, MUSTER_ETIMEDOUT, "rank 1" };

	run_fail(3, 1, &f, 4.0);
}

static void
test_stall_2nodes(void)
{
	struct fail_arg f = { 2, 1, MUSTER_ETIMEDOUT, "rank 2" };

	run_fail(4, 2, &f, 4.0);
}

static void
abort_body(muster_comm *c, struct h_report *me, void *arg)
{
	int r = muster_comm_rank(c);
	float v = 1;

	(void)arg;
	if (muster_barrier(c) != MUSTER_OK)
		me->failures++;
	if (r == 0) {
		CHECK_INT(muster_comm_abort(c), MUSTER_OK);
		CHECK_INT(muster_allreduce(&v, &v, 1, MUSTER_FLOAT32,
		    MUSTER_SUM, c), MUSTER_EABORTED);
		CHECK_INT(muster_barrier(c), MUSTER_EABORTED);
		CHECK(strstr(muster_comm_last_error(c), "abort") != NULL);
		return;
	}
	me->rv[0] = muster_allreduce(&v, &v, 1, MUSTER_FLOAT32, MUSTER_SUM, c);
	snprintf(me->msg[0], sizeof(me->msg[0]), "%s",
	    muster_comm_last_error(c));
}

static void
test_abort(void)
{
	int r;

	CHECK_INT(h_run(3, 1, "5", abort_body, NULL), 0);
	for (r = 1; r < 3; r++) {
		CHECK_INT(h_rep[r].rv[0], MUSTER_EABORTED);
		CHECK(strstr(h_rep[r].msg[0], "rank 0") != NULL);
	}
}

static void
test_abort_2nodes(void)
{
	int r;

	CHECK_INT(h_run(2, 2, "5", abort_body, NULL), 0);
	CHECK_INT(h_rep[1].rv[0], MUSTER_EABORTED);
	CHECK(strstr(h_rep[1].msg[0], "rank 0") != NULL);
	(void)r;
}

static void
test_env_errors(void)
{
	muster_comm *c = (muster_comm *)1;

	unsetenv("MUSTER_RANK");
	CHECK_INT(muster_comm_init_from_env(&c), MUSTER_ENOENV);
	CHECK(c == NULL);
	CHECK(strstr(muster_comm_last_error(NULL), "MUSTER_RANK") != NULL);
	setenv("MUSTER_RANK", "x1", 1);
	CHECK_INT(muster_comm_init_from_env(&c), MUSTER_ENOENV);
	CHECK(strstr(muster_comm_last_error(NULL), "MUSTER_RANK") != NULL);
	setenv("MUSTER_RANK", "0", 1);
	setenv("MUSTER_SIZE", "1", 1);
	setenv("MUSTER_LOCAL_RANK", "0", 1);
	setenv("MUSTER_LOCAL_SIZE", "1", 1);
	setenv("MUSTER_NODE_RANK", "0", 1);
	unsetenv("MUSTER_NUM_NODES");
	CHECK_INT(muster_comm_init_from_env(&c), MUSTER_ENOENV);
	CHECK(strstr(muster_comm_last_error(NULL), "MUSTER_NUM_NODES") != NULL);
	setenv("MUSTER_NUM_NODES", "1", 1);
	setenv("MUSTER_RANK", "1", 1);
	CHECK_INT(muster_comm_init_from_env(&c), MUSTER_ENOENV);
	CHECK(strstr(muster_comm_last_error(NULL), "MUSTER_RANK") != NULL);
	setenv("MUSTER_RANK", "0", 1);
	unsetenv("MUSTER_RENDEZVOUS");
	CHECK_INT(muster_comm_init_from_env(&c), MUSTER_ENOENV);
	CHECK(strstr(muster_comm_last_error(NULL), "MUSTER_RENDEZVOUS") != NULL);
	setenv("MUSTER_RENDEZVOUS", "udp://x", 1);
	CHECK_INT(muster_comm_init_from_env(&c), MUSTER_ENOENV);
	setenv("MUSTER_RENDEZVOUS", "tcp://127.0.0.1:1", 1);
	unsetenv("MUSTER_JOB_ID");
	CHECK_INT(muster_comm_init_from_env(&c), MUSTER_ENOENV);
	CHECK(strstr(muster_comm_last_error(NULL), "MUSTER_JOB_ID") != NULL);
	setenv("MUSTER_RENDEZVOUS", "file:///tmp", 1);
	setenv("MUSTER_TIMEOUT", "-3", 1);
	CHECK_INT(muster_comm_init_from_env(&c), MUSTER_ENOENV);
	CHECK(strstr(muster_comm_last_error(NULL), "MUSTER_TIMEOUT") != NULL);
	CHECK_INT(muster_comm_init_from_env(NULL), MUSTER_EINVAL);
}

static void
args_body(muster_comm *c, struct h_report *me, void *arg)
{
	float v[4] = { 1, 2, 3, 4 };

	(void)me;
	(void)arg;
	CHECK_INT(muster_allreduce(v, v, 1, (muster_dtype)42, MUSTER_SUM, c),
	    MUSTER_EINVAL);
	CHECK_INT(muster_allreduce(v, v, 1, MUSTER_FLOAT32, (muster_op)9, c),
	    MUSTER_EINVAL);
	CHECK_INT(muster_allreduce(NULL, v, 1, MUSTER_FLOAT32, MUSTER_SUM, c),
	    MUSTER_EINVAL);
	CHECK_INT(muster_allreduce(v, v + 1, 2, MUSTER_FLOAT32, MUSTER_SUM, c),
	    MUSTER_EINVAL);
	CHECK(strstr(muster_comm_last_error(c), "overlap") != NULL);
	CHECK_INT(muster_allreduce(NULL, NULL, 0, MUSTER_FLOAT32, MUSTER_SUM,
	    c), MUSTER_OK);
	CHECK_INT(muster_broadcast(v, 1, MUSTER_FLOAT32, 7, c), MUSTER_EINVAL);
	CHECK_INT(muster_allreduce(v, v, 1, MUSTER_FLOAT32, MUSTER_SUM, NULL),
	    MUSTER_EINVAL);
	/* after bad calls the communicator still works */
	CHECK_INT(muster_allreduce(v, v, 4, MUSTER_FLOAT32, MUSTER_SUM, c),
	    MUSTER_OK);
	CHECK(v[3] == 4.0f * (float)muster_comm_size(c));
}

static void
test_args(void)
{
	CHECK_INT(h_run(2, 1, "5", args_body, NULL), 0);
	CHECK_STR(muster_version(), MUSTER_VERSION_STRING);
	CHECK_INT(muster_dtype_size(MUSTER_BFLOAT16), 2);
	CHECK_INT(muster_dtype_size((muster_dtype)99), 0);
	CHECK_STR(muster_strerror(MUSTER_EPEER), "peer failed");
	CHECK(muster_strerror((muster_result)(MUSTER_ESYSERR | 2)) != NULL);
	CHECK_INT(muster_comm_destroy(NULL), MUSTER_OK);
	CHECK_INT(muster_comm_rank(NULL), -1);
}

TEST_LIST = {
	{ "bcast_1node", test_bcast_1node },
	{ "bcast_2nodes", test_bcast_2nodes },
	{ "allgather_1rank", test_allgather_1rank },
	{ "allgather_1node", test_allgather_1node },
	{ "allgather_2nodes", test_allgather_2nodes },
	{ "group_1node", test_group_1node },
	{ "group_2nodes", test_group_2nodes },
	{ "group_big", test_group_big },
	{ "kill_1node", test_kill_1node },
	{ "kill_2nodes", test_kill_2nodes },
	{ "kill_2nodes_leader", test_kill_2nodes_leader },
	{ "kill_2nodes_nonleader", test_kill_2nodes_nonleader },
	{ "stall_1node", test_stall_1node },
	{ "stall_2nodes", test_stall_2nodes },
	{ "abort", test_abort },
	{ "abort_2nodes", test_abort_2nodes },
	{ "env_errors", test_env_errors },
	{ "args", test_args },
	{ NULL, NULL }
};
