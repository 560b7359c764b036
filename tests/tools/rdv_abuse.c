/*
 * rdv_abuse: what a hostile local user does to a rendezvous server, for
 * tests (tests/t3200-harden-rdv.sh) and measurements.
 *
 *   rdv_abuse flood EP CLIENTS SECONDS
 *	CLIENTS DEALERs send pings as fast as they can and never read a
 *	reply; prints "sent N" (requests that left).
 *   rdv_abuse halfopen HOST PORT N SECONDS [once]
 *	keeps N TCP connections open that never say a word (no ZMTP
 *	greeting); one the server closes is opened again at once (with
 *	"once": not); prints "opened N closed M".
 *   rdv_abuse member EP JOB SECONDS
 *	joins JOB (size 1, secret from $MUSTER_JOB_SECRET) and, for
 *	SECONDS, sends a heartbeat every 100 ms over the joined connection
 *	and opens a fresh connection every 500 ms for a get; prints "ops N
 *	fails F max_ms M" (worst latency of an answer).
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>
#include "clock.h"
#include "rdv_client.h"

static int
flood(const char *ep, int clients, int secs)
{
	void *ctx = zmq_ctx_new(), **s = calloc((size_t)clients, sizeof(*s));
	static const char ping[] = "{\"v\":1,\"op\":\"ping\",\"id\":1}";
	uint64_t end = mst_now_ms() + (uint64_t)secs * 1000;
	int i, zero = 0, one = 1, small = 4096, big = 1000000;
	long sent = 0;

	zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, clients + 16);
	for (i = 0; i < clients; i++) {
		s[i] = zmq_socket(ctx, ZMQ_DEALER);
		zmq_setsockopt(s[i], ZMQ_LINGER, &zero, sizeof(zero));
		zmq_setsockopt(s[i], ZMQ_RCVHWM, &one, sizeof(one));
		zmq_setsockopt(s[i], ZMQ_RCVBUF, &small, sizeof(small));
		zmq_setsockopt(s[i], ZMQ_SNDHWM, &big, sizeof(big));
		if (zmq_connect(s[i], ep) != 0) {
			fprintf(stderr, "rdv_abuse: connect: %s\n",
			    zmq_strerror(errno));
			return 1;
		}
	}
	while (mst_now_ms() < end)
		for (i = 0; i < clients; i++) {
			int k;
			for (k = 0; k < 64; k++)
				if (zmq_send(s[i], ping, sizeof(ping) - 1,
				    ZMQ_DONTWAIT) > 0)
					sent++;
		}
	printf("sent %ld\n", sent);
	for (i = 0; i < clients; i++)
		zmq_close(s[i]);
	zmq_ctx_term(ctx);
	free(s);
	return 0;
}

static int
tcp_open(const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Half-open connections: connected, silent; reopened when closed. */
static int
halfopen(const char *host, int port, int n, int secs, int reopen)
{
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	uint64_t end = mst_now_ms() + (uint64_t)secs * 1000;
	struct rlimit rl;
	long opened = 0, closed = 0;
	char buf[256];
	int i;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (p == NULL || inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return 2;
	for (i = 0; i < n; i++) {
		p[i].fd = tcp_open(&a);
		p[i].events = POLLIN;
		opened += p[i].fd >= 0;
	}
	while (mst_now_ms() < end) {
		if (poll(p, (nfds_t)n, 50) < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			if (p[i].fd >= 0 && !(p[i].revents &
			    (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (p[i].fd >= 0 && (p[i].revents & POLLIN) &&
			    read(p[i].fd, buf, sizeof(buf)) > 0)
				continue;	/* the server's greeting */
			if (p[i].fd >= 0) {
				close(p[i].fd);
				closed++;
			}
			p[i].fd = reopen ? tcp_open(&a) : -1;
			opened += p[i].fd >= 0;
			p[i].revents = 0;
		}
	}
	printf("opened %ld closed %ld\n", opened, closed);
	for (i = 0; i < n; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	free(p);
	return 0;
}

static mst_rdv *
member_open(const char *ep, const char *job, const char *secret)
{
	struct mst_rdv_opts o = { .endpoint = ep, .job = job,
		.secret = secret, .timeout_ms = 20000, .no_keepalive = 1 };
	mst_rdv *r = NULL;

	return mst_rdv_open(&r, &o) == MUSTER_OK ? r : NULL;
}

/* A member's latency while the server is under attack. */
static int
member(const char *ep, const char *job, int secs)
{
	const char *secret = getenv("MUSTER_JOB_SECRET");
	struct mst_rdv_member m;
	uint64_t end, t, worst = 0, next_fresh;
	long ops = 0, fails = 0;
	mst_rdv *r, *f;
	void *v;
	size_t len;

	if (secret == NULL || (r = member_open(ep, job, secret)) == NULL)
		return 2;
	if (mst_rdv_join(r, "worker", "probe", -1, 1, 20000, &m) != MUSTER_OK
	    || mst_rdv_kv_set(r, "probe", "x", 1) != MUSTER_OK) {
		fprintf(stderr, "rdv_abuse: %s\n", mst_rdv_error(r));
		mst_rdv_close(r);
		return 1;
	}
	end = mst_now_ms() + (uint64_t)secs * 1000;
	next_fresh = mst_now_ms();
	while ((t = mst_now_ms()) < end) {
		if (mst_rdv_heartbeat(r) != MUSTER_OK)
			fails++;
		ops++;
		if (mst_now_ms() - t > worst)
			worst = mst_now_ms() - t;
		if (mst_now_ms() >= next_fresh) {
			next_fresh = mst_now_ms() + 500;
			t = mst_now_ms();
			if ((f = member_open(ep, job, secret)) == NULL ||
			    mst_rdv_kv_get(f, "probe", &v, &len, 0) !=
			    MUSTER_OK) {
				fails++;
				if (f)
					fprintf(stderr, "rdv_abuse: %s\n",
					    mst_rdv_error(f));
			} else {
				free(v);
			}
			mst_rdv_close(f);
			ops++;
			if (mst_now_ms() - t > worst)
				worst = mst_now_ms() - t;
		}
		usleep(100 * 1000);
	}
	printf("ops %ld fails %ld max_ms %llu\n", ops, fails,
	    (unsigned long long)worst);
	mst_rdv_close(r);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "flood") == 0)
		return flood(argv[2], atoi(argv[3]), atoi(argv[4]));
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "halfopen") == 0)
		return halfopen(argv[2], atoi(argv[3]), atoi(argv[4]),
		    atoi(argv[5]), argc == 6);
	if (argc == 5 && strcmp(argv[1], "member") == 0)
		return member(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: rdv_abuse flood EP CLIENTS SECONDS | halfopen "
	    "HOST PORT N SECONDS [once] | member EP JOB SECONDS\n");
	return 2;
}
