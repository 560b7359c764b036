/*
 * rdv_server_test: the rendezvous server and client over real zmq sockets
 * on loopback (port 0 each time): join/assign, KV, barriers, heartbeats,
 * aborts, restarts, secrets, CURVE and bad input.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "test.h"
#include "clock.h"
#include "rdv_client.h"
#include "rdv_proto.h"
#include "server.h"

static char ep[256];

static struct rdv_server *
start(int hb_ms)
{
	struct rdv_server_opts o = { .bind = "tcp://127.0.0.1:0",
		.heartbeat_ms = hb_ms, .verbose = 0 };
	struct rdv_server *s = NULL;

	CHECK_INT(rdv_server_start(&s, &o, ep, sizeof(ep)), 0);
	CHECK(strncmp(ep, "tcp://127.0.0.1:", 16) == 0);
	return s;
}

static mst_rdv *
client(const char *job, const char *secret, int timeout_ms, void *ctx)
{
	struct mst_rdv_opts o = { .endpoint = ep, .job = job, .secret = secret,
		.timeout_ms = timeout_ms, .zmq_ctx = ctx };
	mst_rdv *r = NULL;

	CHECK_INT(mst_rdv_open(&r, &o), MUSTER_OK);
	return r;
}

struct member {
	pthread_t t;
	void *ctx;
	const char *job, *secret;
	char host[32];
	int want, size;
	muster_result rv;
	struct mst_rdv_member m;
	mst_rdv *r;
	int keep;		/* stay joined (do not close) */
};

static void *
join_main(void *arg)
{
	struct member *p = arg;

	p->r = client(p->job, p->secret, 5000, p->ctx);
	p->rv = mst_rdv_join(p->r, "worker", p->host, p->want, p->size, 5000,
	    &p->m);
	if (!p->keep) {
		mst_rdv_close(p->r);
		p->r = NULL;
	}
	return NULL;
}

/* Checks ranks form 0..n-1, hosts contiguous, local and node ranks. */
static void
check_assignment(struct member *p, int n)
{
	int seen[64] = { 0 }, i, k;

	for (i = 0; i < n; i++) {
		CHECK_INT(p[i].rv, MUSTER_OK);
		CHECK_INT(p[i].m.size, n);
		CHECK(p[i].m.rank >= 0 && p[i].m.rank < n);
		if (p[i].m.rank >= 0 && p[i].m.rank < n)
			seen[p[i].m.rank]++;
	}
	for (i = 0; i < n; i++)
		CHECK_INT(seen[i], 1);
	for (i = 0; i < n; i++) {
		int local = 0, lsize = 0, lo = n, hi = -1, nodes = 0, below = 0;
		for (k = 0; k < n; k++) {
			if (strcmp(p[k].host, p[i].host) == 0) {
				lsize++;
				local += p[k].m.rank < p[i].m.rank;
				if (p[k].m.rank < lo) lo = p[k].m.rank;
				if (p[k].m.rank > hi) hi = p[k].m.rank;
			}
			if (p[k].m.local_rank == 0) {
				nodes++;
				below += p[k].m.rank < p[i].m.rank &&
				    strcmp(p[k].host, p[i].host) != 0;
			}
		}
		CHECK_INT(hi - lo + 1, lsize);		/* contiguous */
		CHECK_INT(p[i].m.local_rank, local);
		CHECK_INT(p[i].m.local_size, lsize);
		CHECK_INT(p[i].m.num_nodes, nodes);
		CHECK_INT(p[i].m.node_rank, below);
	}
}

static void
run_join(const char *job, int n, int hosts, int planned)
{
	struct member p[64];
	void *ctx = zmq_ctx_new();
	int i;

	memset(p, 0, sizeof(p));
	for (i = 0; i < n; i++) {
		p[i].ctx = ctx;
		p[i].job = job;
		p[i].secret = "s3cret";
		/* interleave hosts so join order is not host order; a plan
		 * (reverse join order) keeps each host's ranks together */
		p[i].want = planned ? n - 1 - i : -1;
		snprintf(p[i].host, sizeof(p[i].host), "host%c", planned ?
		    'a' + (n - 1 - i) / hosts : 'a' + (i * 7) % hosts);
		p[i].size = n;
		pthread_create(&p[i].t, NULL, join_main, &p[i]);
	}
	for (i = 0; i < n; i++)
		pthread_join(p[i].t, NULL);
	check_assignment(p, n);
	if (planned)
		for (i = 0; i < n; i++)
			CHECK_INT(p[i].m.rank, n - 1 - i);
	zmq_ctx_term(ctx);
}

static void
test_join_sizes(void)
{
	struct rdv_server *s = start(5000);
	static const int sizes[] = { 1, 2, 3, 5, 8, 17, 64 };
	char job[32];
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(job, sizeof(job), "job%zu", i);
		CHECK_INT(rdv_server_add_job(s, job, "s3cret"), 0);
		run_join(job, sizes[i], sizes[i] < 4 ? 1 : 4, 0);
	}
	rdv_server_stop(s);
}

static void
test_join_planned(void)
{
	struct rdv_server *s = start(5000);

	CHECK_INT(rdv_server_add_job(s, "p", "s3cret"), 0);
	run_join("p", 12, 3, 1);
	rdv_server_stop(s);
}

struct jobrun {
	pthread_t t;
	char job[16];
	int n;
};

static void *
jobrun_main(void *arg)
{
	struct jobrun *j = arg;

	run_join(j->job, j->n, 2, 0);
	return NULL;
}

static void
test_several_jobs(void)
{
	struct rdv_server *s = start(5000);
	struct jobrun j[4];
	mst_rdv *a, *b;
	void *v;
	size_t len;
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(j[i].job, sizeof(j[i].job), "multi%d", i);
		j[i].n = 4 + 4 * i;
		CHECK_INT(rdv_server_add_job(s, j[i].job, "s3cret"), 0);
		pthread_create(&j[i].t, NULL, jobrun_main, &j[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(j[i].t, NULL);
	/* the same key in two jobs: each sees its own */
	CHECK_INT(rdv_server_add_job(s, "other", "another-secret"), 0);
	a = client("multi0", "s3cret", 2000, NULL);
	b = client("other", "another-secret", 2000, NULL);
	CHECK_INT(mst_rdv_kv_set(a, "k", "from-a", 6), MUSTER_OK);
	CHECK_INT(mst_rdv_kv_get(b, "k", &v, &len, 0), MUSTER_ETIMEDOUT);
	CHECK_INT(mst_rdv_kv_set(b, "k", "from-b", 6), MUSTER_OK);
	CHECK_INT(mst_rdv_kv_get(a, "k", &v, &len, 0), MUSTER_OK);
	CHECK(len == 6 && memcmp(v, "from-a", 6) == 0);
	free(v);
	mst_rdv_close(a);
	mst_rdv_close(b);
	rdv_server_stop(s);
}

static void *
late_set(void *arg)
{
	mst_rdv *r = client("kv", "s3cret", 2000, NULL);
	unsigned char bin[200];
	int i;

	(void)arg;
	for (i = 0; i < 200; i++)
		bin[i] = (unsigned char)(i * 37);
	usleep(300 * 1000);
	CHECK_INT(mst_rdv_kv_set(r, "late", bin, sizeof(bin)), MUSTER_OK);
	mst_rdv_close(r);
	return NULL;
}

static void
test_kv_wait_timeout(void)
{
	struct rdv_server *s = start(5000);
	mst_rdv *r;
	pthread_t t;
	uint64_t t0;
	void *v;
	size_t len;
	int i, good = 1;

	CHECK_INT(rdv_server_add_job(s, "kv", "s3cret"), 0);
	r = client("kv", "s3cret", 2000, NULL);
	CHECK_INT(mst_rdv_kv_set(r, "empty", "", 0), MUSTER_OK);
	CHECK_INT(mst_rdv_kv_get(r, "empty", &v, &len, 0), MUSTER_OK);
	CHECK_INT(len, 0);
	free(v);
	pthread_create(&t, NULL, late_set, NULL);
	t0 = mst_now_ms();
	CHECK_INT(mst_rdv_kv_get(r, "late", &v, &len, 5000), MUSTER_OK);
	CHECK(mst_now_ms() - t0 >= 250);
	CHECK_INT(len, 200);
	for (i = 0; v && i < 200; i++)
		good &= ((unsigned char *)v)[i] == (unsigned char)(i * 37);
	CHECK(good);
	free(v);
	pthread_join(t, NULL);
	t0 = mst_now_ms();
	CHECK_INT(mst_rdv_kv_get(r, "never", &v, &len, 400), MUSTER_ETIMEDOUT);
	CHECK(mst_now_ms() - t0 >= 380 && mst_now_ms() - t0 < 1500);
	CHECK(v == NULL);
	mst_rdv_close(r);
	rdv_server_stop(s);
}

struct bmember {
	pthread_t t;
	int delay_ms, wait_ms, n;
	const char *job;
	muster_result join_rv, rv;
	uint64_t done;
	mst_rdv *r;
	int no_keepalive, stop_heartbeat;
	char why[256];
};

static void *
barrier_main(void *arg)
{
	struct bmember *b = arg;
	struct mst_rdv_opts o = { .endpoint = ep, .job = b->job,
		.secret = "s3cret", .timeout_ms = 3000,
		.no_keepalive = b->no_keepalive };
	struct mst_rdv_member m;

	CHECK_INT(mst_rdv_open(&b->r, &o), MUSTER_OK);
	b->join_rv = mst_rdv_join(b->r, "node", "h", -1, b->n, 5000, &m);
	if (b->stop_heartbeat) {	/* a hung member: says nothing more */
		usleep(3000 * 1000);
		return NULL;
	}
	usleep((useconds_t)b->delay_ms * 1000);
	b->rv = mst_rdv_barrier(b->r, "b1", b->wait_ms);
	b->done = mst_now_ms();
	mst_rdv_poll_abort(b->r, b->why, sizeof(b->why));
	mst_rdv_close(b->r);
	return NULL;
}

static void
run_members(struct bmember *b, int n, const char *job, int wait_ms)
{
	int i;

	for (i = 0; i < n; i++) {
		b[i].job = job;
		b[i].n = n;
		b[i].wait_ms = wait_ms;
		pthread_create(&b[i].t, NULL, barrier_main, &b[i]);
	}
}

static void
test_barrier(void)
{
	struct rdv_server *s = start(5000);
	struct bmember b[6];
	uint64_t t0;
	int i;

	memset(b, 0, sizeof(b));
	CHECK_INT(rdv_server_add_job(s, "bar", "s3cret"), 0);
	b[5].delay_ms = 400;
	t0 = mst_now_ms();
	run_members(b, 6, "bar", 5000);
	for (i = 0; i < 6; i++)
		pthread_join(b[i].t, NULL);
	for (i = 0; i < 6; i++) {
		CHECK_INT(b[i].join_rv, MUSTER_OK);
		CHECK_INT(b[i].rv, MUSTER_OK);
		CHECK(b[i].done - t0 >= 380);	/* nobody passed early */
	}
	rdv_server_stop(s);
}

static void
test_barrier_timeout(void)
{
	struct rdv_server *s = start(5000);
	struct bmember b[3];
	int i;

	memset(b, 0, sizeof(b));
	CHECK_INT(rdv_server_add_job(s, "bt", "s3cret"), 0);
	b[2].delay_ms = 1500;		/* arrives after the others gave up */
	run_members(b, 3, "bt", 300);
	for (i = 0; i < 3; i++)
		pthread_join(b[i].t, NULL);
	CHECK_INT(b[0].rv, MUSTER_ETIMEDOUT);
	CHECK_INT(b[1].rv, MUSTER_ETIMEDOUT);
	rdv_server_stop(s);
}

/* One member hangs (no keepalive, no calls): the server aborts the job and
 * every other member, blocked in a barrier, hears it within the second. */
static void
test_heartbeat_loss(void)
{
	struct rdv_server *s = start(500);
	struct bmember b[5];
	uint64_t t0;
	int i;

	memset(b, 0, sizeof(b));
	CHECK_INT(rdv_server_add_job(s, "hb", "s3cret"), 0);
	b[4].no_keepalive = 1;
	b[4].stop_heartbeat = 1;
	t0 = mst_now_ms();
	run_members(b, 5, "hb", 20000);
	for (i = 0; i < 4; i++) {
		pthread_join(b[i].t, NULL);
		CHECK_INT(b[i].join_rv, MUSTER_OK);
		CHECK_INT(b[i].rv, MUSTER_EABORTED);
		CHECK(strstr(b[i].why, "missed heartbeats") != NULL);
		/* hb 500 ms + detection and broadcast under 1 s */
		CHECK(b[i].done - t0 < 500 + 1000 + 500);
	}
	pthread_join(b[4].t, NULL);
	mst_rdv_close(b[4].r);
	rdv_server_stop(s);
}

static void
test_keepalive_keeps_alive(void)
{
	struct rdv_server *s = start(300);
	struct bmember b[3];
	int i;

	memset(b, 0, sizeof(b));
	CHECK_INT(rdv_server_add_job(s, "ka", "s3cret"), 0);
	b[2].delay_ms = 1200;	/* 4 heartbeat periods spent elsewhere */
	run_members(b, 3, "ka", 5000);
	for (i = 0; i < 3; i++) {
		pthread_join(b[i].t, NULL);
		CHECK_INT(b[i].rv, MUSTER_OK);
	}
	rdv_server_stop(s);
}

struct leaver {
	pthread_t t;
	int id;
	muster_result rv;
	char why[256];
	uint64_t done;
};

static void *
leave_main(void *arg)
{
	struct leaver *l = arg;
	mst_rdv *r = client("lv", "s3cret", 3000, NULL);
	struct mst_rdv_member m;
	uint64_t end;

	CHECK_INT(mst_rdv_join(r, "worker", "h", -1, 4, 5000, &m), MUSTER_OK);
	if (l->id == 0) {
		usleep(200 * 1000);
		CHECK_INT(mst_rdv_leave(r, 3, "trainer exited 3"), MUSTER_OK);
		mst_rdv_close(r);
		return NULL;
	}
	end = mst_now_ms() + 3000;
	while ((l->rv = mst_rdv_poll_abort(r, l->why, sizeof(l->why))) ==
	    MUSTER_OK && mst_now_ms() < end)
		usleep(10 * 1000);
	l->done = mst_now_ms();
	mst_rdv_close(r);
	return NULL;
}

static void
test_leave_error_aborts(void)
{
	struct rdv_server *s = start(5000);
	struct leaver l[4];
	uint64_t t0 = mst_now_ms();
	int i;

	memset(l, 0, sizeof(l));
	CHECK_INT(rdv_server_add_job(s, "lv", "s3cret"), 0);
	for (i = 0; i < 4; i++) {
		l[i].id = i;
		pthread_create(&l[i].t, NULL, leave_main, &l[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(l[i].t, NULL);
	for (i = 1; i < 4; i++) {
		CHECK_INT(l[i].rv, MUSTER_EABORTED);
		CHECK(strstr(l[i].why, "left with error 3: trainer exited 3"));
		CHECK(l[i].done - t0 < 1500);
	}
	rdv_server_stop(s);
}

static void
test_abort_broadcast(void)
{
	struct rdv_server *s = start(5000);
	struct bmember b[3];
	mst_rdv *head;
	int i;

	memset(b, 0, sizeof(b));
	CHECK_INT(rdv_server_add_job(s, "ab", "s3cret"), 0);
	b[2].delay_ms = 2000;
	run_members(b, 3, "ab", 10000);
	usleep(500 * 1000);
	head = client("ab", "s3cret", 2000, NULL);
	CHECK_INT(mst_rdv_abort(head, "operator said stop"), MUSTER_OK);
	for (i = 0; i < 2; i++) {
		pthread_join(b[i].t, NULL);
		CHECK_INT(b[i].rv, MUSTER_EABORTED);
		CHECK(strstr(b[i].why, "operator said stop") != NULL);
	}
	pthread_join(b[2].t, NULL);
	CHECK_INT(b[2].rv, MUSTER_EABORTED);
	mst_rdv_close(head);
	rdv_server_stop(s);
}

static void
test_server_restart(void)
{
	struct rdv_server_opts o = { .verbose = 0 };
	struct rdv_server *s = start(5000), *s2 = NULL;
	struct mst_rdv_opts co = { .job = "rs", .secret = "s3cret",
		.timeout_ms = 1500 };
	struct mst_rdv_member m;
	char fixed[256], why[256];
	mst_rdv *r;
	uint64_t t0;
	void *v;
	size_t len;
	muster_result rv;

	snprintf(fixed, sizeof(fixed), "%s", ep);
	co.endpoint = fixed;
	CHECK_INT(rdv_server_add_job(s, "rs", "s3cret"), 0);
	CHECK_INT(mst_rdv_open(&r, &co), MUSTER_OK);
	CHECK_INT(mst_rdv_join(r, "worker", "h", -1, 1, 2000, &m), MUSTER_OK);
	rdv_server_stop(s);
	/* gone: an error within the timeout, not a hang */
	t0 = mst_now_ms();
	CHECK_INT(mst_rdv_kv_get(r, "x", &v, &len, 0), MUSTER_ERENDEZVOUS);
	CHECK(mst_now_ms() - t0 < 1500 + 500);
	/* back on the same port, with no memory of the job */
	o.bind = fixed;
	CHECK_INT(rdv_server_start(&s2, &o, ep, sizeof(ep)), 0);
	CHECK_INT(rdv_server_add_job(s2, "rs", "s3cret"), 0);
	rv = mst_rdv_barrier(r, "after", 2000);
	CHECK_INT(rv, MUSTER_ERENDEZVOUS);
	CHECK(strstr(mst_rdv_error(r), "restarted") != NULL);
	CHECK_INT(mst_rdv_poll_abort(r, why, sizeof(why)), MUSTER_ERENDEZVOUS);
	mst_rdv_close(r);
	rdv_server_stop(s2);
}

static void
test_wrong_secret(void)
{
	struct rdv_server *s = start(5000);
	struct mst_rdv_member m;
	mst_rdv *r;
	void *v;
	size_t len;

	CHECK_INT(rdv_server_add_job(s, "sec", "right"), 0);
	r = client("sec", "wrong", 2000, NULL);
	CHECK_INT(mst_rdv_join(r, "worker", "h", -1, 1, 1000, &m),
	    MUSTER_ERENDEZVOUS);
	CHECK(strstr(mst_rdv_error(r), "wrong secret") != NULL);
	CHECK_INT(mst_rdv_kv_set(r, "k", "v", 1), MUSTER_ERENDEZVOUS);
	CHECK_INT(mst_rdv_kv_get(r, "k", &v, &len, 0), MUSTER_ERENDEZVOUS);
	mst_rdv_close(r);
	r = client("sec", "righ", 2000, NULL);	/* a prefix is not enough */
	CHECK_INT(mst_rdv_kv_set(r, "k", "v", 1), MUSTER_ERENDEZVOUS);
	mst_rdv_close(r);
	r = client("nosuchjob", "right", 2000, NULL);
	CHECK_INT(mst_rdv_kv_set(r, "k", "v", 1), MUSTER_ERENDEZVOUS);
	mst_rdv_close(r);
	r = client("sec", "right", 2000, NULL);
	CHECK_INT(mst_rdv_kv_set(r, "k", "v", 1), MUSTER_OK);
	CHECK_INT(mst_rdv_join(r, "worker", "h", -1, 1, 1000, &m), MUSTER_OK);
	mst_rdv_close(r);
	rdv_server_stop(s);
}

/* Raw DEALER: sends one frame, returns the reply's "code" (or "ok"). */
static void
raw_expect(void *sock, const void *msg, size_t len, const char *code)
{
	char buf[2048];
	int n, to = 2000;
	const char *p;

	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &to, sizeof(to));
	CHECK(zmq_send(sock, msg, len, 0) == (int)len);
	n = zmq_recv(sock, buf, sizeof(buf) - 1, 0);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	if (code == NULL) {
		CHECK_(strstr(buf, "\"ok\":true") != NULL, "reply %s", buf);
		return;
	}
	p = strstr(buf, "\"code\":\"");
	CHECK_(p && strncmp(p + 8, code, strlen(code)) == 0,
	    "want %s, got %s", code, buf);
	CHECK_(strstr(buf, "\"v\":1") != NULL, "no version in %s", buf);
}

static void
test_bad_input(void)
{
	struct rdv_server *s = start(5000);
	void *ctx = zmq_ctx_new(), *d = zmq_socket(ctx, ZMQ_DEALER);
	int zero = 0;
	char *big;
	const char *ping = "{\"v\":1,\"op\":\"ping\",\"id\":9}";

	zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof(zero));
	CHECK_INT(zmq_connect(d, ep), 0);
	CHECK_INT(rdv_server_add_job(s, "bad", "s3cret"), 0);
#define RAW(str, code) raw_expect(d, str, strlen(str), code)
	RAW("{not json", "EPROTO");
	RAW("", "EPROTO");
	RAW("[1,2,3]", "EPROTO");
	RAW("{\"v\":1,\"op\":\"frobnicate\"}", "EPROTO");
	RAW("{\"v\":2,\"op\":\"ping\"}", "EPROTO");
	RAW("{\"op\":\"ping\"}", "EPROTO");
	RAW("{\"v\":\"1\",\"op\":\"ping\"}", "EPROTO");
	RAW("{\"v\":1,\"op\":7}", "EPROTO");
	RAW("{\"v\":1,\"op\":\"ping\",\"id\":\"x\"}", "EPROTO");
	RAW("{\"v\":1,\"op\":\"join\",\"job\":\"bad\",\"secret\":\"s3cret\","
	    "\"host\":\"h\",\"size\":\"four\"}", "EINVAL");
	RAW("{\"v\":1,\"op\":\"join\",\"job\":\"bad\",\"secret\":\"s3cret\","
	    "\"host\":\"h\",\"size\":2.5}", "EINVAL");
	RAW("{\"v\":1,\"op\":\"join\",\"job\":\"bad\",\"secret\":\"s3cret\","
	    "\"host\":\"h\",\"size\":4,\"kind\":\"cat\"}", "EINVAL");
	RAW("{\"v\":1,\"op\":\"join\",\"job\":\"bad\",\"secret\":\"s3cret\","
	    "\"host\":\"h\",\"size\":4,\"rank\":4}", "EINVAL");
	RAW("{\"v\":1,\"op\":\"join\",\"job\":\"bad\",\"secret\":\"s3cret\","
	    "\"host\":[],\"size\":4}", "EINVAL");
	RAW("{\"v\":1,\"op\":\"set\",\"job\":\"bad\",\"secret\":\"s3cret\","
	    "\"key\":\"k\",\"val\":5}", "EINVAL");
	RAW("{\"v\":1,\"op\":\"set\",\"job\":\"bad\",\"secret\":42,"
	    "\"key\":\"k\",\"val\":\"\"}", "EINVAL");
	RAW("{\"v\":1,\"op\":\"set\",\"job\":\"bad\",\"secret\":\"nope\","
	    "\"key\":\"k\",\"val\":\"\"}", "EAUTH");
	RAW("{\"v\":1,\"op\":\"barrier\",\"job\":\"bad\",\"secret\":\"s3cret\","
	    "\"name\":\"b\",\"mid\":\"0.1234\"}", "ESTATE");
	RAW("{\"v\":1,\"op\":\"get\",\"job\":\"bad\",\"secret\":\"s3cret\","
	    "\"key\":\"k\",\"wait_ms\":-5}", "EINVAL");
	big = malloc(RDV_MSG_MAX + 100);
	memset(big, ' ', RDV_MSG_MAX + 100);
	memcpy(big, "{\"v\":1,\"op\":\"ping\"}", 20);
	raw_expect(d, big, RDV_MSG_MAX + 100, "ETOOBIG");
	free(big);
	/* a two-frame message */
	zmq_send(d, "{}", 2, ZMQ_SNDMORE);
	RAW("{}", "EPROTO");
	/* still serving, and the same peer too */
	RAW(ping, NULL);
#undef RAW
	zmq_close(d);
	zmq_ctx_term(ctx);
	rdv_server_stop(s);
}

/* One raw request and its reply text (NUL-terminated) in buf. */
static int
raw_call(void *sock, const char *msg, char *buf, size_t n)
{
	int r, to = 2000;

	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &to, sizeof(to));
	if (zmq_send(sock, msg, strlen(msg), 0) < 0 ||
	    (r = zmq_recv(sock, buf, n - 1, 0)) < 0)
		return -1;
	buf[(size_t)r < n - 1 ? (size_t)r : n - 1] = '\0';
	return 0;
}

/* xorshift64* of the old core, run backwards from an output. */
static uint64_t
xs_unmul(uint64_t out)
{
	uint64_t m = 0x2545F4914F6CDD1DULL, inv = m;
	int i;

	for (i = 0; i < 6; i++)	/* Newton: inverse of an odd number mod 2^64 */
		inv *= 2 - m * inv;
	return out * inv;
}

static uint64_t
xs_unshift_r(uint64_t y, int k)
{
	uint64_t x = y;
	int i;

	for (i = 0; i < 64 / k + 1; i++)
		x = y ^ (x >> k);
	return x;
}

static uint64_t
xs_unshift_l(uint64_t y, int k)
{
	uint64_t x = y;
	int i;

	for (i = 0; i < 64 / k + 1; i++)
		x = y ^ (x << k);
	return x;
}

static uint64_t
xs_next(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * 0x2545F4914F6CDD1DULL;
}

/*
 * A member's token must not follow from the sid that any ping reply
 * shows: with the old xorshift core the sid was its first output, so
 * the state and every later token were one inversion away.
 */
static void
test_tokens_unpredictable(void)
{
	struct rdv_server *s = start(5000);
	void *ctx = zmq_ctx_new(), *d = zmq_socket(ctx, ZMQ_DEALER);
	char buf[2048], *p;
	unsigned long long sid = 0, token = 0, guess[4];
	uint64_t st;
	int zero = 0, i, hit = 0;

	zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof(zero));
	CHECK_INT(zmq_connect(d, ep), 0);
	CHECK_INT(rdv_server_add_job(s, "tok", "s3cret"), 0);
	CHECK_INT(raw_call(d, "{\"v\":1,\"op\":\"ping\",\"id\":1}", buf,
	    sizeof(buf)), 0);
	CHECK((p = strstr(buf, "\"sid\":\"")) != NULL);
	if (p)
		sid = strtoull(p + 7, NULL, 16);
	CHECK_INT(raw_call(d, "{\"v\":1,\"op\":\"join\",\"id\":2,\"job\":"
	    "\"tok\",\"secret\":\"s3cret\",\"host\":\"h\",\"size\":1}", buf,
	    sizeof(buf)), 0);
	CHECK((p = strstr(buf, "\"mid\":\"")) != NULL && strchr(p, '.'));
	if (p && strchr(p, '.'))
		token = strtoull(strchr(p, '.') + 1, NULL, 16);
	CHECK(token != 0);
	/* invert the output, then the three shifts, and step forward */
	st = xs_unshift_r(xs_unshift_l(xs_unshift_r(xs_unmul(sid), 27), 25),
	    12);
	for (i = 0; i < 4; i++) {
		guess[i] = xs_next(&st);
		hit |= i > 0 && guess[i] == token;
	}
	CHECK_(guess[0] != sid || !hit, "token %llx follows from sid %llx",
	    token, sid);
	zmq_close(d);
	zmq_ctx_term(ctx);
	rdv_server_stop(s);
}

static void
test_curve(void)
{
	struct rdv_server_opts o = { .bind = "tcp://127.0.0.1:0", .curve = 1 };
	struct rdv_server *s;
	struct mst_rdv_opts co = { .endpoint = ep, .job = "cj",
		.secret = "curve-secret", .timeout_ms = 1500 };
	char key[41];
	mst_rdv *r;
	void *v;
	size_t len;

	if (!zmq_has("curve"))
		SKIP("libzmq without CURVE");
	CHECK_INT(rdv_server_start(&s, &o, ep, sizeof(ep)), 0);
	snprintf(key, sizeof(key), "%s", rdv_server_public_key(s));
	CHECK_INT(strlen(key), 40);
	CHECK_INT(rdv_server_add_job(s, "cj", "curve-secret"), 0);
	co.server_key = key;
	CHECK_INT(mst_rdv_open(&r, &co), MUSTER_OK);
	CHECK_INT(mst_rdv_kv_set(r, "k", "hello", 5), MUSTER_OK);
	CHECK_INT(mst_rdv_kv_get(r, "k", &v, &len, 0), MUSTER_OK);
	CHECK(len == 5 && memcmp(v, "hello", 5) == 0);
	free(v);
	mst_rdv_close(r);
	/* a key no job secret derives: refused */
	co.secret = "guess";
	CHECK_INT(mst_rdv_open(&r, &co), MUSTER_OK);
	CHECK_INT(mst_rdv_kv_get(r, "k", &v, &len, 0), MUSTER_ERENDEZVOUS);
	mst_rdv_close(r);
	/* plaintext to a CURVE server: nothing either */
	co.server_key = "";	/* plaintext, whatever the environment says */
	co.secret = "curve-secret";
	CHECK_INT(mst_rdv_open(&r, &co), MUSTER_OK);
	CHECK_INT(mst_rdv_kv_get(r, "k", &v, &len, 0), MUSTER_ERENDEZVOUS);
	mst_rdv_close(r);
	rdv_server_stop(s);
}

static void
test_proto_helpers(void)
{
	unsigned char out[64], sha[32];
	char b64[64];
	static const unsigned char abc_sha[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41,
		0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3,
		0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00,
		0x15, 0xad };

	mst_b64_encode("foob", 4, b64);
	CHECK_STR(b64, "Zm9vYg==");
	mst_b64_encode("fooba", 5, b64);
	CHECK_STR(b64, "Zm9vYmE=");
	CHECK_INT(mst_b64_decode("Zm9vYmFy", 8, out), 6);
	CHECK(memcmp(out, "foobar", 6) == 0);
	CHECK_INT(mst_b64_decode("Zm9vYg=", 7, out), -1);
	CHECK_INT(mst_b64_decode("Zm=vYg==", 8, out), -1);
	CHECK_INT(mst_b64_decode("Zm9v!g==", 8, out), -1);
	mst_sha256("abc", 3, sha);
	CHECK(memcmp(sha, abc_sha, 32) == 0);
	CHECK(mst_ct_equal("abc", 3, "abc", 3));
	CHECK(!mst_ct_equal("abc", 3, "abd", 3));
	CHECK(!mst_ct_equal("abc", 3, "ab", 2));
}

TEST_LIST = {
	{ "proto_helpers", test_proto_helpers },
	{ "join_sizes_1_to_64", test_join_sizes },
	{ "join_planned_ranks", test_join_planned },
	{ "several_jobs_isolated", test_several_jobs },
	{ "kv_wait_and_timeout", test_kv_wait_timeout },
	{ "barrier", test_barrier },
	{ "barrier_timeout", test_barrier_timeout },
	{ "heartbeat_loss_aborts_all", test_heartbeat_loss },
	{ "keepalive_keeps_alive", test_keepalive_keeps_alive },
	{ "leave_error_aborts_all", test_leave_error_aborts },
	{ "abort_broadcast", test_abort_broadcast },
	{ "server_restart_is_error", test_server_restart },
	{ "wrong_secret_rejected", test_wrong_secret },
	{ "bad_input", test_bad_input },
	{ "curve_and_zap", test_curve },
	{ "tokens_unpredictable", test_tokens_unpredictable },
	{ NULL, NULL },
};
