/*
 * rdv_load: N simulated members join one job of a running musterd and pass
 * a barrier.  Each member is its own non-blocking DEALER (its own TCP
 * connection); T threads drive N/T members each through zmq_poll.  Prints
 * "members N threads T seconds S".  The job secret comes from
 * $MUSTER_JOB_SECRET (never argv).
 *
 * usage: rdv_load ENDPOINT MEMBERS [THREADS] [JOB]
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zmq.h>
#include <cJSON.h>
#include "clock.h"
#include "rdv_client.h"
#include "rdv_proto.h"

struct load {
	void *ctx;
	const char *ep, *job, *secret;
	int n;			/* members in the job */
	int first, count;	/* this thread's members */
	int failed;
	pthread_t t;
};

static int
send_op(void *s, const struct load *l, const char *op, int i, const char *mid)
{
	char buf[1024];
	int len;

	if (mid)
		len = snprintf(buf, sizeof(buf), "{\"v\":1,\"op\":\"%s\","
		    "\"id\":%d,\"job\":\"%s\",\"secret\":\"%s\",\"mid\":\"%s\","
		    "\"name\":\"start\",\"wait_ms\":60000}", op, i, l->job,
		    l->secret, mid);
	else
		len = snprintf(buf, sizeof(buf), "{\"v\":1,\"op\":\"join\","
		    "\"id\":%d,\"job\":\"%s\",\"secret\":\"%s\",\"kind\":"
		    "\"worker\",\"host\":\"node%04d\",\"rank\":-1,\"size\":%d,"
		    "\"wait_ms\":60000}", i, l->job, l->secret, i / 8, l->n);
	return zmq_send(s, buf, (size_t)len, ZMQ_DONTWAIT) == len ? 0 : -1;
}

/* A reply for member i: phase 0 (join) sends its barrier; 1 is done. */
static int
on_reply(void *s, struct load *l, int i, int *phase)
{
	char buf[4096];
	int n = zmq_recv(s, buf, sizeof(buf) - 1, ZMQ_DONTWAIT);
	cJSON *o, *mid;
	int rv = 0;

	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	if ((o = cJSON_ParseWithLength(buf, (size_t)n)) == NULL ||
	    !cJSON_IsTrue(cJSON_GetObjectItem(o, "ok"))) {
		fprintf(stderr, "rdv_load: member %d: %.*s\n", i, n, buf);
		cJSON_Delete(o);
		return -1;
	}
	if (*phase == 0 && getenv("RDV_LOAD_VERBOSE") && (i % 1024 == 0))
		fprintf(stderr, "member %d joined at %llu ms\n", i,
		    (unsigned long long)(mst_now_ms() % 100000));
	if (*phase == 0) {
		mid = cJSON_GetObjectItem(o, "mid");
		rv = cJSON_IsString(mid) ?
		    send_op(s, l, "barrier", i, mid->valuestring) : -1;
	}
	(*phase)++;
	cJSON_Delete(o);
	return rv;
}

/* Drains socket k: every reply it holds; 1 once member k is done. */
static int
drain(struct load *l, void *s, int k, int *phase)
{
	int ev;
	size_t len = sizeof(ev);

	for (;;) {
		if (zmq_getsockopt(s, ZMQ_EVENTS, &ev, &len) != 0)
			return -1;
		if (!(ev & ZMQ_POLLIN))
			return phase[k] == 2;
		if (on_reply(s, l, l->first + k, &phase[k]) != 0)
			return -1;
	}
}

/*
 * epoll on each socket's ZMQ_FD, so a wake-up costs what is ready, not a
 * scan of every socket (zmq_poll over thousands of sockets is O(n) per
 * call).  ZMQ_FD is edge-like: after each wake-up, read ZMQ_EVENTS until
 * no input is left.
 */
static void *
load_main(void *arg)
{
	struct load *l = arg;
	void **socks = calloc((size_t)l->count, sizeof(*socks));
	int *phase = calloc((size_t)l->count, sizeof(*phase));
	struct epoll_event evs[256];
	int i, k, n, left = l->count, zero = 0, ep = epoll_create1(0), fd, rc;
	size_t len;

	if (socks == NULL || phase == NULL || ep < 0)
		goto fail;
	for (i = 0; i < l->count; i++) {
		void *s = zmq_socket(l->ctx, ZMQ_DEALER);
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		if (s == NULL) {
			fprintf(stderr, "rdv_load: socket: %s\n",
			    zmq_strerror(errno));
			goto fail;
		}
		socks[i] = s;
		len = sizeof(fd);
		zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
		if (zmq_connect(s, l->ep) != 0 ||
		    zmq_getsockopt(s, ZMQ_FD, &fd, &len) != 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0 ||
		    send_op(s, l, "join", l->first + i, NULL) != 0)
			goto fail;
	}
	if (getenv("RDV_LOAD_VERBOSE"))
		fprintf(stderr, "thread %d: all joins sent at %llu ms\n",
		    l->first, (unsigned long long)(mst_now_ms() % 100000));
	/* a reply may have come before its fd was in the set */
	for (i = 0; i < l->count; i++)
		if ((rc = drain(l, socks[i], i, phase)) < 0)
			goto fail;
		else
			left -= rc;
	while (left > 0) {
		if ((n = epoll_wait(ep, evs, 256, 60000)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			goto fail;
		}
		for (k = 0; k < n; k++) {
			i = (int)evs[k].data.u32;
			if (phase[i] == 2)
				continue;
			if ((rc = drain(l, socks[i], i, phase)) < 0)
				goto fail;
			left -= rc;
		}
	}
	goto out;
fail:
	l->failed = 1;
out:
	for (i = 0; socks && i < l->count; i++)
		if (socks[i])
			zmq_close(socks[i]);
	if (ep >= 0)
		close(ep);
	free(socks);
	free(phase);
	return NULL;
}

/* The job must exist on a standalone musterd: the first one creates it
 * (with the admin secret of $MUSTER_ADMIN_SECRET_FILE, or on --open). */
static int
create_job(const char *ep, const char *job, const char *secret)
{
	struct mst_rdv_opts o = { .endpoint = ep, .job = job,
		.secret = secret, .timeout_ms = 5000, .no_keepalive = 1 };
	char admin[1100];
	mst_rdv *r;
	muster_result rv;

	if (mst_rdv_load_admin_secret(admin, sizeof(admin)) == MUSTER_OK)
		o.admin_secret = admin;
	if ((rv = mst_rdv_open(&r, &o)) == MUSTER_OK &&
	    (rv = mst_rdv_create(r)) != MUSTER_OK)
		fprintf(stderr, "rdv_load: %s\n", mst_rdv_error(r));
	mst_rdv_close(r);
	return rv == MUSTER_OK ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct load *l;
	const char *secret = getenv("MUSTER_JOB_SECRET");
	int n, t, i, failed = 0;
	struct rlimit rl;
	uint64_t t0, t1;
	void *ctx;

	if (argc < 3 || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: rdv_load ENDPOINT MEMBERS [THREADS] "
		    "[JOB]\n");
		return 2;
	}
	t = argc > 3 ? atoi(argv[3]) : 2;
	if (t < 1 || t > n)
		t = 1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ctx = zmq_ctx_new();
	zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, n + 64);
	zmq_ctx_set(ctx, ZMQ_IO_THREADS, getenv("RDV_LOAD_IO") ? atoi(getenv("RDV_LOAD_IO")) : 1);
	l = calloc((size_t)t, sizeof(*l));
	t0 = mst_now_ms();
	if (getenv("RDV_LOAD_VERBOSE"))
		fprintf(stderr, "start at %llu ms\n",
		    (unsigned long long)(t0 % 100000));
	if (create_job(argv[1], argc > 4 ? argv[4] : "load",
	    secret ? secret : "load-secret") != 0)
		return 1;
	for (i = 0; i < t; i++) {
		l[i].ctx = ctx;
		l[i].ep = argv[1];
		l[i].job = argc > 4 ? argv[4] : "load";
		l[i].secret = secret ? secret : "load-secret";
		l[i].n = n;
		l[i].first = (int)((long)n * i / t);
		l[i].count = (int)((long)n * (i + 1) / t) - l[i].first;
		pthread_create(&l[i].t, NULL, load_main, &l[i]);
	}
	for (i = 0; i < t; i++) {
		pthread_join(l[i].t, NULL);
		failed |= l[i].failed;
	}
	t1 = mst_now_ms();
	printf("members %d threads %d seconds %.3f%s\n", n, t,
	    (double)(t1 - t0) / 1000, failed ? " FAILED" : "");
	zmq_ctx_term(ctx);
	free(l);
	return failed ? 1 : 0;
}
