/*
 * tcp.c: the leaders' ring (see tcp.h).  One thread drives both
 * directions of a step with non-blocking sockets and poll(), reducing
 * received data in 64 KiB pieces while the rest is still in flight.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "reduce.h"
#include "tcp.h"

#define TCP_MAGIC 0x3154534dU	/* "MST1" */
#define REDUCE_PIECE (64 * 1024)
#define RING (512 * 1024)	/* reduce-scatter receive ring */
#define ALIGN_B 64

struct mst_tcp {
	int lfd, left, right;
	int me, n;
	int lrank, rrank;	/* global ranks of the left, right leaders */
	char *tmp;
	size_t tmpcap;
	size_t small_max;
	size_t seg;		/* ring segment per rank, bytes */
	int buf;		/* socket buffer bytes; 0: the kernel's */
};

struct hello {
	uint32_t magic;
	uint32_t node;
	uint64_t hash;
};

/* One step: send slen bytes right while receiving rlen bytes from left. */
struct xfer {
	const char *sbuf;
	size_t slen, sdone;
	char *rbuf;
	size_t rlen, rdone, rused;
	/* reduce-scatter: fold received bytes into dst */
	char *dst;
	muster_dtype dt;
	muster_op op;
};

/*
 * A ring failure: close our side so our other neighbour fails fast too,
 * and name the neighbour (on the left: -1, on the right: +1).  It may
 * only pass on the failure of a rank behind it, hence MST_FAULT_RELAY.
 */
static muster_result
tcp_fail(struct mst_tcp *t, struct mst_fault *f, muster_result rv, int side,
	 const char *what)
{
	int rank = side < 0 ? t->lrank : t->rrank;

	mst_tcp_shutdown(t);
	return mst_fault_set(f, MST_FAULT_RELAY, rv, rank, "rank %d (leader "
	    "of node %d) %s", rank, (t->me + t->n + side) % t->n, what);
}

static int
split_addr(const char *addr, char *host, size_t hl, char *port, size_t pl)
{
	const char *colon = strrchr(addr, ':');

	if (colon == NULL || (size_t)(colon - addr) >= hl ||
	    strlen(colon + 1) >= pl)
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

muster_result
mst_tcp_listen(struct mst_tcp **out, int me, int n, const char *host,
	       const struct mst_tune *tune, char addr[64], struct mst_fault *f)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct mst_tcp *t;
	int one = 1;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENOMEM, -1,
		    "out of memory");
	t->lfd = t->left = t->right = -1;
	t->me = me;
	t->n = n;
	t->small_max = tune->tcp_small;
	t->seg = tune->tcp_seg;
	t->buf = tune->tcp_buf;
	*out = t;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_EINVAL, -1,
		    "bad listen address '%s' (an IPv4 address is expected)",
		    host);
	if ((t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ESYSERR | errno,
		    -1, "socket: %s", strerror(errno));
	setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(t->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(t->lfd, 64) != 0 ||
	    getsockname(t->lfd, (struct sockaddr *)&sa, &sl) != 0)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ESYSERR | errno,
		    -1, "listen on %s: %s", host, strerror(errno));
	snprintf(addr, 64, "%s:%d", host, ntohs(sa.sin_port));
	return MUSTER_OK;
}

static void
sock_tune(int fd, int buf)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (buf > 0) {
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Blocking connect to addr with retries until the deadline. */
static int
dial(const char *addr, double deadline)
{
	struct addrinfo hints, *res = NULL;
	char host[64], port[16];
	int fd = -1;

	if (split_addr(addr, host, sizeof(host), port, sizeof(port)) != 0)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
		if (mst_now() > deadline)
			break;
		usleep(10000);
	}
	freeaddrinfo(res);
	return fd;
}

/* Reads exactly n bytes from a blocking-or-not fd before the deadline. */
static int
read_full(int fd, void *buf, size_t n, double deadline)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		int ms = (int)((deadline - mst_now()) * 1000);
		ssize_t r;

		if (ms <= 0 || poll(&p, 1, ms) <= 0)
			return -1;
		r = recv(fd, (char *)buf + got, n - got, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (r > 0)
			got += (size_t)r;
	}
	return 0;
}

/* Accepts the left neighbour, refusing strays (bad magic or hash). */
static int
accept_left(struct mst_tcp *t, uint64_t hash, double deadline)
{
	uint32_t want = (uint32_t)((t->me + t->n - 1) % t->n);

	for (;;) {
		struct pollfd p = { t->lfd, POLLIN, 0 };
		int ms = (int)((deadline - mst_now()) * 1000);
		struct hello h;
		int fd;

		if (ms <= 0 || poll(&p, 1, ms) <= 0)
			return -1;
		if ((fd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		if (read_full(fd, &h, sizeof(h), deadline) == 0 &&
		    h.magic == TCP_MAGIC && h.hash == hash && h.node == want)
			return fd;
		close(fd);
	}
}

muster_result
mst_tcp_connect(struct mst_tcp *t, const char (*addrs)[64],
		const int *leaders, uint64_t hash, double deadline,
		struct mst_fault *f)
{
	struct hello h = { TCP_MAGIC, (uint32_t)t->me, hash };
	int rn = (t->me + 1) % t->n, ln = (t->me + t->n - 1) % t->n;

	t->lrank = leaders[ln];
	t->rrank = leaders[rn];
	t->right = dial(addrs[rn], deadline);
	if (t->right < 0)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_EPEER, -1,
		    "cannot connect to rank %d (leader of node %d) at %s",
		    t->rrank, rn, addrs[rn]);
	if (send(t->right, &h, sizeof(h), MSG_NOSIGNAL) != (ssize_t)sizeof(h))
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_EPEER, -1,
		    "handshake with rank %d: %s", t->rrank, strerror(errno));
	t->left = accept_left(t, hash, deadline);
	if (t->left < 0)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ETIMEDOUT, -1,
		    "rank %d (leader of node %d) did not connect in time",
		    t->lrank, ln);
	sock_tune(t->left, t->buf);
	sock_tune(t->right, t->buf);
	close(t->lfd);
	t->lfd = -1;
	return MUSTER_OK;
}

void
mst_tcp_shutdown(struct mst_tcp *t)
{
	if (t == NULL)
		return;
	if (t->left >= 0)
		shutdown(t->left, SHUT_RDWR);
	if (t->right >= 0)
		shutdown(t->right, SHUT_RDWR);
}

void
mst_tcp_free(struct mst_tcp *t)
{
	if (t == NULL)
		return;
	if (t->lfd >= 0)
		close(t->lfd);
	if (t->left >= 0)
		close(t->left);
	if (t->right >= 0)
		close(t->right);
	free(t->tmp);
	free(t);
}

/*
 * Reduce-scatter receives into a small ring (rbuf, RING bytes) that stays
 * in cache: data are folded into dst as they arrive, and the ring is
 * refilled only where it has been folded.  Folds newly received whole
 * elements (all: also fewer than REDUCE_PIECE bytes).
 */
static void
xfer_reduce(struct xfer *x, int all)
{
	size_t es = muster_dtype_size(x->dt);
	size_t upto = x->rdone / es * es;

	if (x->dst == NULL)
		return;
	while (x->rused < upto && (all || upto - x->rused >= REDUCE_PIECE)) {
		size_t at = x->rused % RING;
		size_t n = upto - x->rused < RING - at ? upto - x->rused :
		    RING - at;
		const void *src[2] = { x->rbuf + at, x->dst + x->rused };
		mst_reduce(x->dt, x->op, x->dst + x->rused, src, 2, n / es, 0);
		x->rused += n;
	}
}

/* Where the next recv may write, and how much. */
static size_t
xfer_room(struct xfer *x, char **where)
{
	size_t at, n;

	if (x->dst == NULL) {
		*where = x->rbuf + x->rdone;
		return x->rlen - x->rdone;
	}
	at = x->rdone % RING;
	n = RING - at;
	if (n > x->rlen - x->rdone)
		n = x->rlen - x->rdone;
	if (n > RING - (x->rdone - x->rused))
		n = RING - (x->rdone - x->rused);
	*where = x->rbuf + at;
	return n;
}

static muster_result
xfer_run(struct mst_tcp *t, struct xfer *x, struct mst_wait *w)
{
	double idle = 0, now;
	muster_result rv;

	while (x->sdone < x->slen || x->rdone < x->rlen) {
		struct pollfd p[2];
		int np = 0, ms, progress = 0;
		ssize_t r;

		if (x->sdone < x->slen) {
			r = send(t->right, x->sbuf + x->sdone,
			    x->slen - x->sdone, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (r > 0) {
				x->sdone += (size_t)r;
				progress = 1;
			} else if (errno != EAGAIN && errno != EINTR) {
				return tcp_fail(t, &w->fault, MUSTER_EPEER, 1,
				    "closed its connection (died or failed)");
			}
		}
		if (x->rdone < x->rlen) {
			char *where;
			size_t room = xfer_room(x, &where);
			if (room == 0) {
				xfer_reduce(x, 1);
				room = xfer_room(x, &where);
			}
			r = recv(t->left, where, room, MSG_DONTWAIT);
			if (r > 0) {
				x->rdone += (size_t)r;
				progress = 1;
				xfer_reduce(x, 0);
			} else if (r == 0 ||
			    (errno != EAGAIN && errno != EINTR)) {
				return tcp_fail(t, &w->fault, MUSTER_EPEER, -1,
				    "closed its connection (died or failed)");
			}
		}
		if (progress) {
			idle = 0;
			continue;
		}
		/* as in shm.c: spin, then yield, then sleep in poll() */
		now = mst_now();
		if ((rv = w->check(w, now)) != MUSTER_OK)
			return rv;
		if (idle == 0)
			idle = now;
		if (now < w->deadline && now - idle < w->spin_s + w->yield_s) {
			if (now - idle >= w->spin_s)
				sched_yield();
			continue;
		}
		if (x->sdone < x->slen)
			p[np++] = (struct pollfd){ t->right, POLLOUT, 0 };
		if (x->rdone < x->rlen)
			p[np++] = (struct pollfd){ t->left, POLLIN, 0 };
		ms = (int)((w->deadline - mst_now()) * 1000) + 1;
		if (ms > 50)
			ms = 50;	/* wake to check for a job abort */
		if (ms <= 0 || poll(p, (nfds_t)np, ms) == 0) {
			if (mst_now() < w->deadline)
				continue;
			return tcp_fail(t, &w->fault, MUSTER_ETIMEDOUT,
			    x->rdone < x->rlen ? -1 : 1,
			    "stalled: timed out in the TCP ring");
		}
	}
	xfer_reduce(x, 1);
	return MUSTER_OK;
}

static int
tmp_reserve(struct mst_tcp *t, size_t n)
{
	char *p;

	if (n <= t->tmpcap)
		return 0;
	if ((p = realloc(t->tmp, n)) == NULL)
		return -1;
	t->tmp = p;
	t->tmpcap = n;
	return 0;
}

/* Ring allgather of whole vectors, then a reduction in node order. */
static muster_result
tcp_small(struct mst_tcp *t, void *buf, size_t count, muster_dtype dt,
	  muster_op op, struct mst_wait *w)
{
	size_t bytes = count * muster_dtype_size(dt);
	const void **src;
	muster_result rv;
	int i;

	if (tmp_reserve(t, bytes * (size_t)t->n) != 0)
		return mst_fault_set(&w->fault, MST_FAULT_LOCAL, MUSTER_ENOMEM,
		    -1, "out of memory");
	memcpy(t->tmp + (size_t)t->me * bytes, buf, bytes);
	for (i = 0; i < t->n - 1; i++) {
		int sb = (t->me - i + t->n) % t->n;
		int rb = (t->me - i - 1 + 2 * t->n) % t->n;
		struct xfer x = { t->tmp + (size_t)sb * bytes, bytes, 0,
		    t->tmp + (size_t)rb * bytes, bytes, 0, 0, NULL, dt, op };
		if ((rv = xfer_run(t, &x, w)) != MUSTER_OK)
			return rv;
	}
	if ((src = malloc(sizeof(void *) * (size_t)t->n)) == NULL)
		return mst_fault_set(&w->fault, MST_FAULT_LOCAL, MUSTER_ENOMEM,
		    -1, "out of memory");
	for (i = 0; i < t->n; i++)
		src[i] = t->tmp + (size_t)i * bytes;
	mst_reduce(dt, op, buf, src, t->n, count, 0);
	free(src);
	return MUSTER_OK;
}

/* Ring reduce-scatter then ring allgather (bandwidth-optimal). */
static muster_result
tcp_ring_seg(struct mst_tcp *t, void *buf, size_t count, muster_dtype dt,
	     muster_op op, struct mst_wait *w)
{
	size_t es = muster_dtype_size(dt), al = ALIGN_B / es;
	size_t bs = ((count + (size_t)t->n - 1) / (size_t)t->n + al - 1) / al * al;
	char *b = buf;
	muster_result rv;
	int i;

#define BLK_OFF(k) ((size_t)(k) * bs < count ? (size_t)(k) * bs : count)
#define BLK_LEN(k) ((BLK_OFF((k) + 1) - BLK_OFF(k)) * es)
	if (tmp_reserve(t, RING) != 0)
		return mst_fault_set(&w->fault, MST_FAULT_LOCAL, MUSTER_ENOMEM,
		    -1, "out of memory");
	for (i = 0; i < t->n - 1; i++) {
		int sb = (t->me - i + t->n) % t->n;
		int rb = (t->me - i - 1 + 2 * t->n) % t->n;
		struct xfer x = { b + BLK_OFF(sb) * es, BLK_LEN(sb), 0,
		    t->tmp, BLK_LEN(rb), 0, 0, b + BLK_OFF(rb) * es, dt, op };
		if ((rv = xfer_run(t, &x, w)) != MUSTER_OK)
			return rv;
	}
	for (i = 0; i < t->n - 1; i++) {
		int sb = (t->me + 1 - i + t->n) % t->n;
		int rb = (t->me - i + t->n) % t->n;
		struct xfer x = { b + BLK_OFF(sb) * es, BLK_LEN(sb), 0,
		    b + BLK_OFF(rb) * es, BLK_LEN(rb), 0, 0, NULL, dt, op };
		if ((rv = xfer_run(t, &x, w)) != MUSTER_OK)
			return rv;
	}
#undef BLK_OFF
#undef BLK_LEN
	return MUSTER_OK;
}

/*
 * Large vectors go round the ring in segments of seg bytes per rank, so
 * what a step reduces is still in cache when the next step sends it.
 */
static muster_result
tcp_ring(struct mst_tcp *t, void *buf, size_t count, muster_dtype dt,
	 muster_op op, struct mst_wait *w)
{
	size_t es = muster_dtype_size(dt);
	size_t seg = t->seg / es * (size_t)t->n, off;
	muster_result rv;

	for (off = 0; off < count; off += seg) {
		size_t m = count - off < seg ? count - off : seg;
		if ((rv = tcp_ring_seg(t, (char *)buf + off * es, m, dt, op,
		    w)) != MUSTER_OK)
			return rv;
	}
	return MUSTER_OK;
}

muster_result
mst_tcp_allreduce(struct mst_tcp *t, void *buf, size_t count,
		  muster_dtype dt, muster_op op, struct mst_wait *w)
{
	if (count * muster_dtype_size(dt) <= t->small_max)
		return tcp_small(t, buf, count, dt, op, w);
	return tcp_ring(t, buf, count, dt, op, w);
}
