/*
 * server.c: the rendezvous server's sockets: a ROUTER for members, a ZAP
 * handler when CURVE is on, a monitor that counts connections, one
 * zmq_poll() loop that also watches a stop fd, and the thread the
 * launcher embeds it in.
 *
 * Connections are bounded: the monitor tells each accepted fd; past
 * max_conns the oldest one that never made an authenticated request is
 * shut down (libzmq then closes it), so accept() never meets EMFILE (on
 * which libzmq's listener spins) and members keep getting in.  A client
 * whose reply queue is full (it does not read) is shut down the same way.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>
#include "clock.h"
#include "rdv.h"
#include "reply.h"
#include "server.h"

#define RDV_BATCH 512		/* messages handled between ticks */
#define RDV_SNDHWM 256		/* replies queued for one client, at most */
#define RDV_RCVHWM 256		/* requests queued from one client */
#define RDV_ID_CACHE 4096	/* routing id -> fd, direct-mapped */

enum conn_state { CONN_NONE, CONN_OPEN, CONN_AUTH, CONN_KICKED };

/* One accepted connection, by fd; OPEN ones are listed oldest first. */
struct rdv_conn {
	uint8_t state;
	int prev, next;
};

struct rdv_server {
	void *ctx, *router, *zap, *mon;
	struct rdv_core core;
	struct rdv_conn *conn;	/* by fd */
	int nconn_max;		/* entries of conn */
	int head, tail;		/* OPEN connections, oldest first */
	int nopen, max_conns;
	int port;		/* ours: a kick checks the fd is one of ours */
	struct { struct rdv_id id; int fd; } ids[RDV_ID_CACHE];
	int cur_fd;		/* where the message being handled came from */
	unsigned long kicked_idle, kicked_deaf, kicks_logged;
	uint64_t next_kick_log;
	int wake_fd;		/* rdv_server_stop writes here */
	pthread_t thread;
	int threaded;
	int curve;
	char pub[41], sec[41];
};

static size_t
id_slot(const struct rdv_id *id)
{
	uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < id->len; i++)
		h = (h ^ id->b[i]) * 16777619u;
	return h % RDV_ID_CACHE;
}

static void
conn_unlist(struct rdv_server *s, int fd)
{
	struct rdv_conn *c = &s->conn[fd];

	if (c->prev >= 0)
		s->conn[c->prev].next = c->next;
	else
		s->head = c->next;
	if (c->next >= 0)
		s->conn[c->next].prev = c->prev;
	else
		s->tail = c->prev;
	c->prev = c->next = -1;
}

/* shutdown(), not close(): libzmq sees the end and closes the fd itself. */
static void
conn_kick(struct rdv_server *s, int fd)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);
	int port = -1;

	if (fd < 0 || fd >= s->nconn_max || s->conn[fd].state == CONN_NONE ||
	    s->conn[fd].state == CONN_KICKED)
		return;
	if (s->conn[fd].state == CONN_OPEN)
		conn_unlist(s, fd);
	s->conn[fd].state = CONN_KICKED;
	if (getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = a.ss_family == AF_INET ?
		    ntohs(((struct sockaddr_in *)&a)->sin_port) :
		    a.ss_family == AF_INET6 ?
		    ntohs(((struct sockaddr_in6 *)&a)->sin6_port) : -1;
	if (port == s->port)
		shutdown(fd, SHUT_RDWR);
}

/* At most one line per 10 s on what was dropped (an attack floods). */
static void
kick_log(struct rdv_server *s)
{
	unsigned long n = s->kicked_idle + s->kicked_deaf;

	if (n == s->kicks_logged || s->core.now < s->next_kick_log)
		return;
	rdv_log(&s->core, 1, "dropped %lu connections so far: %lu over the "
	    "limit of %d open connections, %lu that did not read their "
	    "replies", n, s->kicked_idle, s->max_conns, s->kicked_deaf);
	s->kicks_logged = n;
	s->next_kick_log = s->core.now + 10000;
}

static void
server_send(void *arg, const struct rdv_id *to, const char *buf, size_t len)
{
	struct rdv_server *s = arg;
	size_t k = id_slot(to);

	if (zmq_send(s->router, to->b, to->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		/* EAGAIN: RDV_SNDHWM replies wait, the client is not reading */
		if (errno == EAGAIN && s->ids[k].id.len == to->len &&
		    memcmp(s->ids[k].id.b, to->b, to->len) == 0) {
			conn_kick(s, s->ids[k].fd);
			s->kicked_deaf++;
			kick_log(s);
		}
		return;
	}
	if (zmq_send(s->router, buf, len, ZMQ_DONTWAIT) < 0)
		rdv_log(&s->core, 2, "reply dropped: %s", zmq_strerror(errno));
}

static int
bind_is_loopback(const char *ep)
{
	const char *h = strstr(ep, "://");

	if (h == NULL || strncmp(ep, "tcp://", 6) != 0)
		return 1;	/* inproc, ipc: never leave the host */
	h += 3;
	return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost:", 10) == 0
	    || strncmp(h, "[::1]:", 6) == 0;
}

static int
setup_curve(struct rdv_server *s, const struct rdv_server_opts *o,
	    char *err, size_t n)
{
	int one = 1;

	if (o->curve < 0 || (o->curve == 0 && bind_is_loopback(o->bind)))
		return 0;
	if (!zmq_has("curve")) {
		snprintf(err, n, "CURVE needed for %s, but libzmq lacks it",
		    o->bind);
		return -1;
	}
	if (o->curve_secret) {
		if (strlen(o->curve_secret) != 40 ||
		    zmq_curve_public(s->pub, o->curve_secret) != 0) {
			snprintf(err, n, "bad CURVE secret key (want 40 Z85 "
			    "characters)");
			return -1;
		}
		memcpy(s->sec, o->curve_secret, 41);
	} else if (zmq_curve_keypair(s->pub, s->sec) != 0) {
		snprintf(err, n, "zmq_curve_keypair: %s", zmq_strerror(errno));
		return -1;
	}
	s->zap = zmq_socket(s->ctx, ZMQ_REP);
	if (s->zap == NULL || zmq_bind(s->zap, "inproc://zeromq.zap.01") != 0 ||
	    zmq_setsockopt(s->router, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
	    zmq_setsockopt(s->router, ZMQ_CURVE_SECRETKEY, s->sec, 40) ||
	    zmq_setsockopt(s->router, ZMQ_ZAP_DOMAIN, "muster", 6)) {
		snprintf(err, n, "CURVE setup: %s", zmq_strerror(errno));
		return -1;
	}
	s->curve = 1;
	memcpy(s->core.admin_pub, s->pub, sizeof(s->pub));
	return 0;
}

/*
 * The monitor: accepted and closed connections, by fd.  max_conns keeps
 * a reserve below the fd limit for libzmq itself and for members.
 */
static int
setup_monitor(struct rdv_server *s, const struct rdv_server_opts *o,
	      char *err, size_t n)
{
	struct rlimit rl;
	int fds = 1024, i, reserve, hwm = 100000;
	char addr[64];

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		fds = rl.rlim_cur < (1 << 17) ? (int)rl.rlim_cur : 1 << 17;
	reserve = 64 + fds / 16;
	s->max_conns = fds > reserve + 16 ? fds - reserve : 16;
	if (o->max_conns > 0 && o->max_conns < s->max_conns)
		s->max_conns = o->max_conns;
	s->nconn_max = fds;
	s->head = s->tail = -1;
	if ((s->conn = calloc((size_t)fds, sizeof(*s->conn))) == NULL) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	for (i = 0; i < fds; i++)
		s->conn[i].prev = s->conn[i].next = -1;
	snprintf(addr, sizeof(addr), "inproc://rdv-monitor-%p", (void *)s);
	if (zmq_socket_monitor(s->router, addr, ZMQ_EVENT_ACCEPTED |
	    ZMQ_EVENT_DISCONNECTED) != 0 ||
	    (s->mon = zmq_socket(s->ctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(s->mon, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_connect(s->mon, addr) != 0) {
		snprintf(err, n, "monitor: %s", zmq_strerror(errno));
		return -1;
	}
	return 0;
}

/* One monitor event: a connection came or went. */
static int
monitor_handle(struct rdv_server *s)
{
	uint8_t ev[6];
	uint16_t what;
	uint32_t fd32;
	int fd, r;
	char addr[256];

	if ((r = zmq_recv(s->mon, ev, sizeof(ev), ZMQ_DONTWAIT)) < 0)
		return -1;
	if (zmq_recv(s->mon, addr, sizeof(addr), ZMQ_DONTWAIT) < 0 || r != 6)
		return 0;
	memcpy(&what, ev, 2);
	memcpy(&fd32, ev + 2, 4);
	fd = (int)fd32;
	if (fd < 0 || fd >= s->nconn_max)
		return 0;
	if (what == ZMQ_EVENT_ACCEPTED) {
		/* a lost DISCONNECTED (the monitor is lossy): the fd is new */
		if (s->conn[fd].state == CONN_OPEN)
			conn_unlist(s, fd);
		if (s->conn[fd].state != CONN_NONE)
			s->nopen--;
		s->conn[fd].state = CONN_OPEN;
		s->conn[fd].prev = s->tail;
		s->conn[fd].next = -1;
		if (s->tail >= 0)
			s->conn[s->tail].next = fd;
		else
			s->head = fd;
		s->tail = fd;
		s->nopen++;
	} else if (what == ZMQ_EVENT_DISCONNECTED &&
	    s->conn[fd].state != CONN_NONE) {
		if (s->conn[fd].state == CONN_OPEN)
			conn_unlist(s, fd);
		s->conn[fd].state = CONN_NONE;
		s->nopen--;
	}
	return 0;
}

/* Past max_conns: the oldest connections not proven members go. */
static void
conns_enforce(struct rdv_server *s)
{
	int kicked = 0;

	while (s->nopen - kicked > s->max_conns && s->head >= 0) {
		conn_kick(s, s->head);
		s->kicked_idle++;
		kicked++;
	}
	if (kicked)
		kick_log(s);
}

static int
setup_router(struct rdv_server *s, const struct rdv_server_opts *o,
	     char *err, size_t n)
{
	int zero = 0, one = 1, backlog = 1024, sndhwm = RDV_SNDHWM;
	int rcvhwm = RDV_RCVHWM;
	int hs = o->handshake_ms > 0 ? o->handshake_ms : 3000;
	int64_t maxmsg = RDV_WIRE_MAX;
	char ep[256];
	size_t len = sizeof(ep);

	if ((s->router = zmq_socket(s->ctx, ZMQ_ROUTER)) == NULL ||
	    zmq_setsockopt(s->router, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_setsockopt(s->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) ||
	    zmq_setsockopt(s->router, ZMQ_BACKLOG, &backlog, sizeof(backlog)) ||
	    zmq_setsockopt(s->router, ZMQ_SNDHWM, &sndhwm, sizeof(sndhwm)) ||
	    zmq_setsockopt(s->router, ZMQ_RCVHWM, &rcvhwm, sizeof(rcvhwm)) ||
	    zmq_setsockopt(s->router, ZMQ_HANDSHAKE_IVL, &hs, sizeof(hs)) ||
	    zmq_setsockopt(s->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg))) {
		snprintf(err, n, "router socket: %s", zmq_strerror(errno));
		return -1;
	}
	if (setup_curve(s, o, err, n) != 0 || setup_monitor(s, o, err, n) != 0)
		return -1;
	if (zmq_bind(s->router, o->bind) != 0) {
		snprintf(err, n, "cannot bind %s: %s", o->bind,
		    zmq_strerror(errno));
		return -1;
	}
	if (zmq_getsockopt(s->router, ZMQ_LAST_ENDPOINT, ep, &len) != 0) {
		snprintf(err, n, "ZMQ_LAST_ENDPOINT: %s", zmq_strerror(errno));
		return -1;
	}
	if (strrchr(ep, ':'))
		s->port = atoi(strrchr(ep, ':') + 1);
	snprintf(err, n, "%s", ep);
	return 0;
}

int
rdv_server_new(struct rdv_server **out, const struct rdv_server_opts *o,
	       char *endpoint_out, size_t n)
{
	struct rdv_server *s;
	char msg[512];

	*out = NULL;
	if (o == NULL || o->bind == NULL) {
		snprintf(endpoint_out, n, "no bind address");
		return MUSTER_EINVAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(endpoint_out, n, "out of memory");
		return MUSTER_ENOMEM;
	}
	s->wake_fd = -1;
	if (rdv_core_init(&s->core, o->heartbeat_ms, o->verbose, server_send,
	    s) != 0) {
		free(s);
		snprintf(endpoint_out, n, "out of memory");
		return MUSTER_ENOMEM;
	}
	if (o->limits)
		s->core.lim = *o->limits;
	if ((o->create == RDV_CREATE_ADMIN && (o->admin_secret == NULL ||
	    !*o->admin_secret)) ||
	    rdv_core_set_create(&s->core, o->create, o->admin_secret) != 0) {
		rdv_core_release(&s->core);
		free(s);
		snprintf(endpoint_out, n, "no admin secret");
		return MUSTER_EINVAL;
	}
	if ((s->ctx = zmq_ctx_new()) == NULL ||
	    (s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		snprintf(msg, sizeof(msg), "zmq context: %s", strerror(errno));
		goto fail;
	}
	if (setup_router(s, o, msg, sizeof(msg)) != 0)
		goto fail;
	snprintf(endpoint_out, n, "%s", msg);
	*out = s;
	return MUSTER_OK;
fail:
	snprintf(endpoint_out, n, "%s", msg);
	rdv_server_free(s);
	return MUSTER_ERENDEZVOUS;
}

const char *
rdv_server_public_key(const struct rdv_server *s)
{
	return s->curve ? s->pub : "";
}

/*
 * ZAP (RFC 27): the CURVE handshake proved the client holds the secret
 * key of its public key; ZAP binds that key to the connection as its
 * User-Id, and the dispatcher admits a job op only over the key the job's
 * secret derives (or the server's own, for --status with the key file).
 * ZAP itself admits only keys the server knows: some job's, the admin
 * secret's, its own (any key under --open, where anyone may create);
 * anything else, or anything but CURVE, is refused at the handshake.
 */
static void
zap_handle(struct rdv_server *s)
{
	char f[7][256], key[41] = "";
	size_t len[7];
	int i, more = 1, ok = 0;

	for (i = 0; more; i++) {
		int r;
		size_t ml = sizeof(more);
		r = zmq_recv(s->zap, i < 7 ? f[i] : f[6], sizeof(f[0]) - 1,
		    ZMQ_DONTWAIT);
		if (r < 0)
			return;
		if (i < 7)
			len[i] = (size_t)r < sizeof(f[0]) ? (size_t)r : 0;
		zmq_getsockopt(s->zap, ZMQ_RCVMORE, &more, &ml);
	}
	if (i >= 7 && len[5] == 5 && memcmp(f[5], "CURVE", 5) == 0 &&
	    len[6] == 32 && zmq_z85_encode(key, (uint8_t *)f[6], 32))
		ok = rdv_core_key_known(&s->core, key) ? 1 : -1;
	if (ok <= 0)
		rdv_log(&s->core, 1, "ZAP: refused a client from %.*s: %s",
		    i >= 4 ? (int)len[3] : 1, i >= 4 ? f[3] : "?", ok < 0 ?
		    "its CURVE key belongs to no job" : "not CURVE");
	zmq_send(s->zap, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(s->zap, f[1], i >= 2 ? len[1] : 0, ZMQ_SNDMORE);
	zmq_send(s->zap, ok > 0 ? "200" : "400", 3, ZMQ_SNDMORE);
	zmq_send(s->zap, ok > 0 ? "OK" : "unknown key", ok > 0 ? 2 : 11,
	    ZMQ_SNDMORE);
	ok = ok > 0;
	zmq_send(s->zap, ok ? key : "", ok ? 40 : 0, ZMQ_SNDMORE);
	zmq_send(s->zap, "", 0, 0);
}

/* Remembers which fd a routing id speaks from (for a kick later). */
static void
note_sender(struct rdv_server *s, const struct rdv_id *from, int fd)
{
	size_t k = id_slot(from);

	s->cur_fd = fd >= 0 && fd < s->nconn_max ? fd : -1;
	if (s->cur_fd < 0)
		return;
	s->ids[k].id = *from;
	s->ids[k].fd = fd;
}

/* One ROUTER message: identity, [empty delimiter], one payload frame. */
static int
router_handle(struct rdv_server *s)
{
	zmq_msg_t id, body;
	struct rdv_id from;
	const char *peer;
	int more, extra = 0;
	size_t ml = sizeof(more);

	zmq_msg_init(&id);
	if (zmq_msg_recv(&id, s->router, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&id);
		return -1;
	}
	zmq_msg_init(&body);
	if (zmq_msg_recv(&body, s->router, ZMQ_DONTWAIT) >= 0 &&
	    zmq_msg_size(&body) == 0 && zmq_msg_more(&body))
		zmq_msg_recv(&body, s->router, ZMQ_DONTWAIT);	/* REQ envelope */
	for (more = zmq_msg_more(&body); more; extra++) {
		zmq_msg_t x;
		zmq_msg_init(&x);
		zmq_msg_recv(&x, s->router, ZMQ_DONTWAIT);
		more = zmq_msg_more(&x);
		zmq_msg_close(&x);
	}
	(void)ml;
	if (zmq_msg_size(&id) > RDV_ID_MAX) {
		rdv_log(&s->core, 1, "dropped a message: routing id too long");
		goto out;
	}
	from.len = (uint8_t)zmq_msg_size(&id);
	memcpy(from.b, zmq_msg_data(&id), from.len);
	peer = zmq_msg_gets(&body, "Peer-Address");
	note_sender(s, &from, zmq_msg_get(&body, ZMQ_SRCFD));
	s->core.authed = 0;
	if (extra)
		rdv_reply_err(&s->core, &from, 0, "EPROTO",
		    "one frame per message, got %d more", extra);
	else
		rdv_core_handle(&s->core, &from, peer, s->curve ?
		    zmq_msg_gets(&body, "User-Id") : NULL,
		    zmq_msg_data(&body), zmq_msg_size(&body));
	if (s->core.authed && s->cur_fd >= 0 &&
	    s->conn[s->cur_fd].state == CONN_OPEN) {
		conn_unlist(s, s->cur_fd);	/* a member: never kicked idle */
		s->conn[s->cur_fd].state = CONN_AUTH;
	}
out:
	zmq_msg_close(&body);
	zmq_msg_close(&id);
	return 0;
}

int
rdv_server_run(struct rdv_server *s, int stop_fd)
{
	zmq_pollitem_t it[5];
	int n = 0, i, timeout, ir, iz = -1, iw, is = -1, im;

	it[ir = n++] = (zmq_pollitem_t){ .socket = s->router, .events = ZMQ_POLLIN };
	it[im = n++] = (zmq_pollitem_t){ .socket = s->mon, .events = ZMQ_POLLIN };
	if (s->zap)
		it[iz = n++] = (zmq_pollitem_t){ .socket = s->zap, .events = ZMQ_POLLIN };
	it[iw = n++] = (zmq_pollitem_t){ .fd = s->wake_fd, .events = ZMQ_POLLIN };
	if (stop_fd >= 0)
		it[is = n++] = (zmq_pollitem_t){ .fd = stop_fd, .events = ZMQ_POLLIN };
	for (;;) {
		pthread_mutex_lock(&s->core.lock);
		timeout = rdv_core_tick(&s->core);
		pthread_mutex_unlock(&s->core.lock);
		if (zmq_poll(it, n, timeout) < 0 && errno != EINTR)
			return MUSTER_ESYSERR | errno;
		if (it[iw].revents || (is >= 0 && it[is].revents))
			return MUSTER_OK;
		pthread_mutex_lock(&s->core.lock);
		s->core.now = mst_now_ms();
		if (it[im].revents) {
			while (monitor_handle(s) == 0)
				;
			conns_enforce(s);
		}
		if (iz >= 0 && it[iz].revents)
			zap_handle(s);
		for (i = 0; i < RDV_BATCH && router_handle(s) == 0; i++)
			;
		pthread_mutex_unlock(&s->core.lock);
	}
}

void
rdv_server_free(struct rdv_server *s)
{
	if (s == NULL)
		return;
	if (s->router) {
		zmq_socket_monitor(s->router, NULL, 0);
		zmq_close(s->router);
	}
	if (s->mon)
		zmq_close(s->mon);
	if (s->zap)
		zmq_close(s->zap);
	if (s->ctx)
		zmq_ctx_term(s->ctx);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	rdv_core_release(&s->core);
	memset(s->sec, 0, sizeof(s->sec));
	free(s->conn);
	free(s);
}

static void *
server_thread(void *arg)
{
	rdv_server_run(arg, -1);
	return NULL;
}

int
rdv_server_start(struct rdv_server **out, const struct rdv_server_opts *o,
		 char *endpoint_out, size_t n)
{
	struct rdv_server *s;
	int rv;

	if ((rv = rdv_server_new(&s, o, endpoint_out, n)) != MUSTER_OK)
		return rv;
	if ((rv = pthread_create(&s->thread, NULL, server_thread, s)) != 0) {
		snprintf(endpoint_out, n, "pthread_create: %s", strerror(rv));
		rdv_server_free(s);
		return MUSTER_ESYSERR | rv;
	}
	s->threaded = 1;
	*out = s;
	return MUSTER_OK;
}

int
rdv_server_add_job(struct rdv_server *s, const char *job, const char *secret)
{
	struct rdv_job *j;
	int rv = MUSTER_OK;

	if (job == NULL || secret == NULL || !*job || !*secret ||
	    strlen(job) > RDV_JOB_MAX || strlen(secret) > RDV_SECRET_MAX)
		return MUSTER_EINVAL;
	pthread_mutex_lock(&s->core.lock);
	if ((j = rdv_job_find(&s->core, job)) != NULL) {
		if (!mst_ct_equal(secret, strlen(secret), j->secret,
		    j->secret_len))
			rv = MUSTER_EINVAL;
		else
			rdv_job_reset(&s->core, j);
	} else if (rdv_job_create(&s->core, job, secret) == NULL) {
		rv = MUSTER_ENOMEM;
	}
	pthread_mutex_unlock(&s->core.lock);
	return rv;
}

void
rdv_server_stop(struct rdv_server *s)
{
	uint64_t one = 1;

	if (s == NULL)
		return;
	if (s->threaded) {
		if (write(s->wake_fd, &one, sizeof(one)) < 0)
			(void)0;
		pthread_join(s->thread, NULL);
	}
	rdv_server_free(s);
}
