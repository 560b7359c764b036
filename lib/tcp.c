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
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "reduce.h"
#include "tcp.h"

#define TCP_MAGIC 0x3254534dU	/* "MST2": the keyed handshake */
#define NONCE 32
#define MAC crypto_auth_hmacsha512256_BYTES
#define CANDIDATES 16		/* pending connections on the left */
#define REDUCE_PIECE (64 * 1024)
#define RING (512 * 1024)	/* reduce-scatter receive ring */
#define ALIGN_B 64

struct mst_tcp {
	int lfd, left, right;
	int me, n;
	int rank;		/* mine, global */
	int lrank, rrank;	/* global ranks of the left, right leaders */
	char *tmp;
	size_t tmpcap;
	size_t small_max;
	size_t seg;		/* ring segment per rank, bytes */
	int buf;		/* socket buffer bytes; 0: the kernel's */
	int refused;		/* connections that failed the handshake */
	const char *why;	/* the last one's reason */
};

/* Dialer to acceptor: who I am and my challenge. */
struct hs_hello {
	uint32_t magic;
	uint32_t node;
	unsigned char nonce[NONCE];
};

/* Acceptor to dialer: my challenge and my answer to yours. */
struct hs_reply {
	uint32_t magic;
	uint32_t node;
	unsigned char nonce[NONCE];
	unsigned char mac[MAC];
};

/*
 * A collective's descriptor (backend.h), sent ahead of its first step's
 * data and checked as soon as the left neighbour's has come in.  Inline
 * (the small allgather): it is already the first HDR bytes of sbuf and
 * rbuf, so the step stays one send and one recv; else it goes in front
 * of the data by sendmsg and recvmsg.
 */
struct xhdr {
	const struct mst_desc *mine;
	struct mst_desc in;
	size_t sent, got;
	int inl;
};

#define HDR sizeof(struct mst_desc)

/* One step: send slen bytes right while receiving rlen bytes from left. */
struct xfer {
	struct xhdr *h;		/* NULL: no descriptor on this step */
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
	       const char *adv, const struct mst_tune *tune, char addr[64],
	       struct mst_fault *f)
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
	if ((t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ESYSERR | errno,
		    -1, "socket: %s", strerror(errno));
	setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(t->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(t->lfd, 64) != 0 ||
	    getsockname(t->lfd, (struct sockaddr *)&sa, &sl) != 0)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ESYSERR | errno,
		    -1, "listen on %s: %s", host, strerror(errno));
	snprintf(addr, 64, "%s:%d", adv, ntohs(sa.sin_port));
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

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ok;

static void
sodium_start(void)
{
	sodium_ok = sodium_init() >= 0;
}

int
mst_sodium(void)
{
	pthread_once(&sodium_once, sodium_start);
	return sodium_ok ? 0 : -1;
}

void
mst_tcp_key(unsigned char key[MST_RING_KEY], const unsigned char *secret,
	    size_t secret_len, const char *job, const char *prefix)
{
	crypto_generichash_state st;
	static const char ctx[] = "muster tcp ring v2";

	crypto_generichash_init(&st, secret, secret_len, MST_RING_KEY);
	crypto_generichash_update(&st, (const unsigned char *)ctx, sizeof(ctx));
	crypto_generichash_update(&st, (const unsigned char *)job,
	    strlen(job) + 1);
	crypto_generichash_update(&st, (const unsigned char *)prefix,
	    strlen(prefix) + 1);
	crypto_generichash_final(&st, key, MST_RING_KEY);
}

/*
 * The MAC of one side: role 'A' (acceptor) or 'D' (dialer), both nodes
 * and both nonces, so an answer is good for one connection only.
 */
static void
hs_mac(unsigned char out[MAC], const unsigned char *key, char role,
       uint32_t dnode, uint32_t anode, const unsigned char *dnonce,
       const unsigned char *anonce)
{
	crypto_auth_hmacsha512256_state st;
	unsigned char r = (unsigned char)role;

	crypto_auth_hmacsha512256_init(&st, key, MST_RING_KEY);
	crypto_auth_hmacsha512256_update(&st, &r, 1);
	crypto_auth_hmacsha512256_update(&st, (unsigned char *)&dnode, 4);
	crypto_auth_hmacsha512256_update(&st, (unsigned char *)&anode, 4);
	crypto_auth_hmacsha512256_update(&st, dnonce, NONCE);
	crypto_auth_hmacsha512256_update(&st, anonce, NONCE);
	crypto_auth_hmacsha512256_final(&st, out);
}

/*
 * The handshake, one connection each way, keyed by the job's secret
 * (tcp.h).  Every leader dials its right neighbour and sends its hello
 * (magic, node, nonce) without waiting; it answers each connection on
 * its port with its own nonce and a MAC over both; the dialer checks
 * that MAC and sends its own.  Several connections on the port are
 * served at once, so a silent or lying client delays nobody; one that
 * fails is closed and the wait goes on.
 */
enum hs_state { HS_HELLO, HS_MAC, HS_DONE };

struct hs_conn {
	int fd;
	enum hs_state st;
	size_t got;
	unsigned char in[sizeof(struct hs_reply)];
	unsigned char nonce[NONCE];	/* mine */
	unsigned char peer[NONCE];	/* theirs */
	double since;
};

struct hs {
	struct mst_tcp *t;
	const unsigned char *key;
	const char *addr;		/* the right neighbour's */
	double deadline;
	struct hs_conn right;
	struct hs_conn cand[CANDIDATES];
	int ncand;
	int left;			/* accepted and checked: its fd */
	const char *fatal;		/* the right one is not of this job */
	int right_closed;		/* it closed on us in the handshake */
};

static void
hs_drop(struct hs *h, int i, const char *why)
{
	close(h->cand[i].fd);
	h->cand[i] = h->cand[--h->ncand];
	h->t->refused++;
	h->t->why = why;
}

/* Reads what is there towards the n bytes the state wants; -1 on EOF. */
static int
hs_read(struct hs_conn *k, size_t n)
{
	ssize_t r;

	while (k->got < n) {
		r = recv(k->fd, k->in + k->got, n - k->got, MSG_DONTWAIT);
		if (r > 0)
			k->got += (size_t)r;
		else if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		else
			return -1;
	}
	return 1;
}

/* Small writes on a fresh socket: they fit its buffer, or it is bad. */
static int
hs_write(int fd, const void *b, size_t n)
{
	return send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n ?
	    0 : -1;
}

/* Dials the right neighbour and sends the hello. */
static int
hs_dial(struct hs *h)
{
	struct hs_hello m = { TCP_MAGIC, (uint32_t)h->t->me, { 0 } };

	h->right.fd = dial(h->addr, h->deadline);
	if (h->right.fd < 0)
		return -1;
	randombytes_buf(h->right.nonce, NONCE);
	memcpy(m.nonce, h->right.nonce, NONCE);
	h->right.st = HS_HELLO;
	h->right.got = 0;
	if (hs_write(h->right.fd, &m, sizeof(m)) != 0) {
		close(h->right.fd);
		h->right.fd = -1;
		return -1;
	}
	return 0;
}

/* The right neighbour's reply: check its MAC, send mine. */
static void
hs_on_right(struct hs *h)
{
	struct hs_conn *k = &h->right;
	struct hs_reply rp;
	unsigned char mac[MAC];
	uint32_t me = (uint32_t)h->t->me;
	uint32_t rn = (uint32_t)((h->t->me + 1) % h->t->n);
	int r = hs_read(k, sizeof(rp));

	if (r < 0) {
		/* closed before it answered (its port was flooded?): again */
		close(k->fd);
		k->fd = -1;
		h->right_closed = 1;
		return;
	}
	if (r == 0)
		return;
	memcpy(&rp, k->in, sizeof(rp));
	hs_mac(mac, h->key, 'A', me, rn, k->nonce, rp.nonce);
	if (rp.magic != TCP_MAGIC || rp.node != rn ||
	    sodium_memcmp(mac, rp.mac, MAC) != 0) {
		h->fatal = "answered the ring handshake without this job's key "
		    "(another job, or a different MUSTER_JOB_SECRET)";
		return;
	}
	hs_mac(mac, h->key, 'D', me, rn, k->nonce, rp.nonce);
	if (hs_write(k->fd, mac, MAC) != 0) {
		close(k->fd);
		k->fd = -1;
		return;
	}
	k->st = HS_DONE;
}

/* A connection on my port: hello, then the dialer's MAC. */
static void
hs_on_cand(struct hs *h, int i)
{
	struct hs_conn *k = &h->cand[i];
	uint32_t me = (uint32_t)h->t->me;
	uint32_t ln = (uint32_t)((h->t->me + h->t->n - 1) % h->t->n);
	size_t want = k->st == HS_HELLO ? sizeof(struct hs_hello) : MAC;
	unsigned char mac[MAC];
	int r = hs_read(k, want);

	if (r < 0)
		return hs_drop(h, i, "closed during the handshake");
	/* a stray is refused by its first 8 bytes, not kept waiting */
	if (k->st == HS_HELLO && k->got >= 8 &&
	    (memcmp(k->in, &(uint32_t){ TCP_MAGIC }, 4) != 0 ||
	    memcmp(k->in + 4, &ln, 4) != 0))
		return hs_drop(h, i, "was not a ring hello of this job");
	if (r == 0)
		return;
	if (k->st == HS_HELLO) {
		struct hs_hello m;
		struct hs_reply rp = { TCP_MAGIC, me, { 0 }, { 0 } };
		memcpy(&m, k->in, sizeof(m));
		memcpy(k->peer, m.nonce, NONCE);
		randombytes_buf(k->nonce, NONCE);
		memcpy(rp.nonce, k->nonce, NONCE);
		hs_mac(rp.mac, h->key, 'A', ln, me, k->peer, k->nonce);
		if (hs_write(k->fd, &rp, sizeof(rp)) != 0)
			return hs_drop(h, i, "closed during the handshake");
		k->st = HS_MAC;
		k->got = 0;
		return;
	}
	hs_mac(mac, h->key, 'D', ln, me, k->peer, k->nonce);
	if (sodium_memcmp(mac, k->in, MAC) != 0)
		return hs_drop(h, i, "failed the ring handshake (not this "
		    "job's key)");
	h->left = k->fd;
	h->cand[i] = h->cand[--h->ncand];
}

/*
 * A new connection on my port.  When all slots are taken the oldest
 * goes, one that has not said hello first (one that has may be our
 * neighbour, waiting for its answer to be checked).
 */
static void
hs_accept(struct hs *h)
{
	int fd, i, old = 0;

	if ((fd = accept4(h->t->lfd, NULL, NULL, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) < 0)
		return;
	if (h->ncand == CANDIDATES) {
		for (i = 1; i < h->ncand; i++)
			if (h->cand[i].st < h->cand[old].st ||
			    (h->cand[i].st == h->cand[old].st &&
			    h->cand[i].since < h->cand[old].since))
				old = i;
		hs_drop(h, old, "was pushed out by newer connections");
	}
	memset(&h->cand[h->ncand], 0, sizeof(h->cand[0]));
	h->cand[h->ncand].fd = fd;
	h->cand[h->ncand].st = HS_HELLO;
	h->cand[h->ncand].since = mst_now();
	h->ncand++;
}

/* One round: poll everything still pending, serve what is ready. */
static int
hs_round(struct hs *h)
{
	struct pollfd p[CANDIDATES + 2];
	int np = 0, i, ms = (int)((h->deadline - mst_now()) * 1000) + 1;

	if (h->right.st != HS_DONE && h->right.fd < 0 && hs_dial(h) != 0)
		return -1;
	if (ms <= 0)
		return -1;
	if (ms > 100)
		ms = 100;
	if (h->right.st != HS_DONE)
		p[np++] = (struct pollfd){ h->right.fd, POLLIN, 0 };
	if (h->left < 0) {
		p[np++] = (struct pollfd){ h->t->lfd, POLLIN, 0 };
		for (i = 0; i < h->ncand; i++)
			p[np++] = (struct pollfd){ h->cand[i].fd, POLLIN, 0 };
	}
	if (poll(p, (nfds_t)np, ms) < 0 && errno != EINTR)
		return -1;
	if (h->right.st != HS_DONE)
		hs_on_right(h);
	if (h->left < 0) {
		for (i = h->ncand - 1; i >= 0 && h->left < 0; i--)
			hs_on_cand(h, i);
		if (h->left < 0)
			hs_accept(h);
	}
	return 0;
}

muster_result
mst_tcp_connect(struct mst_tcp *t, const char (*addrs)[64],
		const int *leaders, const unsigned char key[MST_RING_KEY],
		double deadline, struct mst_fault *f)
{
	int rn = (t->me + 1) % t->n, ln = (t->me + t->n - 1) % t->n, i;
	struct hs h;

	t->rank = leaders[t->me];
	t->lrank = leaders[ln];
	t->rrank = leaders[rn];
	if (mst_sodium() != 0)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENOTSUP, -1,
		    "libsodium failed to initialize");
	memset(&h, 0, sizeof(h));
	h.t = t;
	h.key = key;
	h.addr = addrs[rn];
	h.deadline = deadline;
	h.left = -1;
	h.right.fd = -1;
	while ((h.right.st != HS_DONE || h.left < 0) && h.fatal == NULL &&
	    hs_round(&h) == 0)
		;
	for (i = 0; i < h.ncand; i++)
		close(h.cand[i].fd);
	t->right = h.right.fd;
	t->left = h.left;
	if (h.fatal != NULL)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_EPEER, -1,
		    "rank %d (leader of node %d) at %s %s", t->rrank, rn,
		    addrs[rn], h.fatal);
	if (h.right.st != HS_DONE)
		return mst_fault_set(f, MST_FAULT_LOCAL, h.right.fd < 0 ?
		    MUSTER_EPEER : MUSTER_ETIMEDOUT, -1, "cannot connect to "
		    "rank %d (leader of node %d) at %s%s", t->rrank, rn,
		    addrs[rn], h.right.fd >= 0 ? ": no answer to the ring "
		    "handshake in time" : h.right_closed ? ": it closed the "
		    "connection in the ring handshake (another job, or a "
		    "different MUSTER_JOB_SECRET?)" : "");
	if (h.left < 0) {
		char why[160] = "";
		if (t->refused)
			snprintf(why, sizeof(why), " (refused %d connection%s on "
			    "this port; the last %s)", t->refused,
			    t->refused > 1 ? "s" : "", t->why);
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ETIMEDOUT, -1,
		    "rank %d (leader of node %d) did not connect in time%s",
		    t->lrank, ln, why);
	}
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

static int
xfer_sending(const struct xfer *x)
{
	return x->sdone < x->slen || (x->h && x->h->sent < HDR);
}

static int
xfer_receiving(const struct xfer *x)
{
	return x->rdone < x->rlen || (x->h && x->h->got < HDR);
}

/* Sends what the socket takes, the descriptor first: 1 if any, -1 on error. */
static int
xfer_send(struct mst_tcp *t, struct xfer *x)
{
	struct xhdr *h = x->h;
	ssize_t r;

	if (h && h->sent < HDR) {
		struct iovec v[2] = {
			{ (char *)h->mine + h->sent, HDR - h->sent },
			{ (char *)x->sbuf + x->sdone, x->slen - x->sdone } };
		struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };
		if ((r = sendmsg(t->right, &m, MSG_NOSIGNAL | MSG_DONTWAIT)) > 0) {
			size_t a = (size_t)r < v[0].iov_len ? (size_t)r :
			    v[0].iov_len;
			h->sent += a;
			x->sdone += (size_t)r - a;
		}
	} else if ((r = send(t->right, x->sbuf + x->sdone, x->slen - x->sdone,
	    MSG_NOSIGNAL | MSG_DONTWAIT)) > 0) {
		x->sdone += (size_t)r;
	}
	if (r > 0)
		return 1;
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

/*
 * Receives what has come, the descriptor first: 1 if any, 0 if none,
 * -1 on EOF or error; -2 when the left neighbour's descriptor is not
 * mine (f filled).
 */
static int
xfer_recv(struct mst_tcp *t, struct xfer *x, struct mst_fault *f)
{
	struct xhdr *h = x->h;
	char *where;
	size_t room = xfer_room(x, &where);
	ssize_t r;

	if (room == 0 && x->rdone < x->rlen) {
		xfer_reduce(x, 1);
		room = xfer_room(x, &where);
	}
	if (h && !h->inl && h->got < HDR) {
		struct iovec v[2] = { { (char *)&h->in + h->got, HDR - h->got },
			{ where, room } };
		struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };
		if ((r = recvmsg(t->left, &m, MSG_DONTWAIT)) > 0) {
			size_t a = (size_t)r < v[0].iov_len ? (size_t)r :
			    v[0].iov_len;
			h->got += a;
			x->rdone += (size_t)r - a;
			if (h->got == HDR && memcmp(&h->in, h->mine, HDR) != 0) {
				mst_fault_mismatch(f, t->lrank, &h->in, t->rank,
				    h->mine);
				return -2;
			}
		}
	} else {
		r = recv(t->left, where, room, MSG_DONTWAIT);
		if (r > 0)
			x->rdone += (size_t)r;
		if (h && h->inl && h->got < HDR && x->rdone >= HDR) {
			h->got = HDR;
			memcpy(&h->in, x->rbuf, HDR);
			if (memcmp(&h->in, h->mine, HDR) != 0) {
				mst_fault_mismatch(f, t->lrank, &h->in, t->rank,
				    h->mine);
				return -2;
			}
		}
	}
	if (r > 0) {
		xfer_reduce(x, 0);
		return 1;
	}
	return r < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

static muster_result
xfer_run(struct mst_tcp *t, struct xfer *x, struct mst_wait *w)
{
	double idle = 0, now;
	muster_result rv;

	while (xfer_sending(x) || xfer_receiving(x)) {
		struct pollfd p[2];
		int np = 0, ms, progress = 0, r;

		if (xfer_sending(x)) {
			if ((r = xfer_send(t, x)) < 0)
				return tcp_fail(t, &w->fault, MUSTER_EPEER, 1,
				    "closed its connection (died or failed)");
			progress |= r;
		}
		if (xfer_receiving(x)) {
			if ((r = xfer_recv(t, x, &w->fault)) == -2)
				return w->fault.code;
			if (r < 0)
				return tcp_fail(t, &w->fault, MUSTER_EPEER, -1,
				    "closed its connection (died or failed)");
			progress |= r;
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
		if (xfer_sending(x))
			p[np++] = (struct pollfd){ t->right, POLLOUT, 0 };
		if (xfer_receiving(x))
			p[np++] = (struct pollfd){ t->left, POLLIN, 0 };
		ms = (int)((w->deadline - mst_now()) * 1000) + 1;
		if (ms > 50)
			ms = 50;	/* wake to check for a job abort */
		if (ms <= 0 || poll(p, (nfds_t)np, ms) == 0) {
			if (mst_now() < w->deadline)
				continue;
			return tcp_fail(t, &w->fault, MUSTER_ETIMEDOUT,
			    xfer_receiving(x) ? -1 : 1,
			    "stalled: timed out in the TCP ring");
		}
	}
	xfer_reduce(x, 1);
	return MUSTER_OK;
}

/* The descriptor rides on the collective's first step (w->desc once). */
static struct xhdr *
xfer_hdr(struct xhdr *h, struct mst_wait *w)
{
	if (w->desc == NULL)
		return NULL;
	memset(h, 0, sizeof(*h));
	h->mine = w->desc;
	w->desc = NULL;
	return h;
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
	size_t bytes = count * muster_dtype_size(dt), stride;
	const void **src;
	struct xhdr h;
	muster_result rv;
	int i;

	/* block i at tmp + i * stride + HDR, its descriptor just before */
	stride = (bytes + HDR + ALIGN_B - 1) / ALIGN_B * ALIGN_B;
	if (tmp_reserve(t, stride * (size_t)t->n) != 0)
		return mst_fault_set(&w->fault, MST_FAULT_LOCAL, MUSTER_ENOMEM,
		    -1, "out of memory");
	memcpy(t->tmp + (size_t)t->me * stride + HDR, buf, bytes);
	for (i = 0; i < t->n - 1; i++) {
		int sb = (t->me - i + t->n) % t->n;
		int rb = (t->me - i - 1 + 2 * t->n) % t->n;
		struct xhdr *hp = xfer_hdr(&h, w);
		size_t at = hp ? 0 : HDR, len = bytes + HDR - at;
		struct xfer x = { hp, t->tmp + (size_t)sb * stride + at, len, 0,
		    t->tmp + (size_t)rb * stride + at, len, 0, 0, NULL, dt, op };
		if (hp) {
			hp->inl = 1;
			hp->sent = HDR;
			memcpy(t->tmp + (size_t)sb * stride, hp->mine, HDR);
		}
		if ((rv = xfer_run(t, &x, w)) != MUSTER_OK)
			return rv;
	}
	if ((src = malloc(sizeof(void *) * (size_t)t->n)) == NULL)
		return mst_fault_set(&w->fault, MST_FAULT_LOCAL, MUSTER_ENOMEM,
		    -1, "out of memory");
	for (i = 0; i < t->n; i++)
		src[i] = t->tmp + (size_t)i * stride + HDR;
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
	struct xhdr h;
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
		struct xfer x = { xfer_hdr(&h, w), b + BLK_OFF(sb) * es,
		    BLK_LEN(sb), 0, t->tmp, BLK_LEN(rb), 0, 0,
		    b + BLK_OFF(rb) * es, dt, op };
		if ((rv = xfer_run(t, &x, w)) != MUSTER_OK)
			return rv;
	}
	for (i = 0; i < t->n - 1; i++) {
		int sb = (t->me + 1 - i + t->n) % t->n;
		int rb = (t->me - i + t->n) % t->n;
		struct xfer x = { NULL, b + BLK_OFF(sb) * es, BLK_LEN(sb), 0,
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
