/*
 * server.c: the rendezvous server's sockets: a ROUTER for members, a ZAP
 * handler when CURVE is on, one zmq_poll() loop that also watches a stop
 * fd, and the thread the launcher embeds it in.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>
#include "clock.h"
#include "rdv.h"
#include "reply.h"
#include "server.h"

#define RDV_BATCH 512		/* messages handled between ticks */

struct rdv_server {
	void *ctx, *router, *zap;
	struct rdv_core core;
	int wake_fd;		/* rdv_server_stop writes here */
	pthread_t thread;
	int threaded;
	int curve;
	char pub[41], sec[41];
};

static void
server_send(void *arg, const struct rdv_id *to, const char *buf, size_t len)
{
	struct rdv_server *s = arg;

	if (zmq_send(s->router, to->b, to->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return;
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

static int
setup_router(struct rdv_server *s, const struct rdv_server_opts *o,
	     char *err, size_t n)
{
	int zero = 0, one = 1, backlog = 4096, hwm = 100000;
	int64_t maxmsg = RDV_WIRE_MAX;
	char ep[256];
	size_t len = sizeof(ep);

	if ((s->router = zmq_socket(s->ctx, ZMQ_ROUTER)) == NULL ||
	    zmq_setsockopt(s->router, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_setsockopt(s->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) ||
	    zmq_setsockopt(s->router, ZMQ_BACKLOG, &backlog, sizeof(backlog)) ||
	    zmq_setsockopt(s->router, ZMQ_SNDHWM, &hwm, sizeof(hwm)) ||
	    zmq_setsockopt(s->router, ZMQ_RCVHWM, &hwm, sizeof(hwm)) ||
	    zmq_setsockopt(s->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg))) {
		snprintf(err, n, "router socket: %s", zmq_strerror(errno));
		return -1;
	}
	if (setup_curve(s, o, err, n) != 0)
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
 * Anything but a well-formed CURVE request is refused.
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
		ok = 1;
	if (!ok)
		rdv_log(&s->core, 1, "ZAP: refused a client from %.*s",
		    i >= 4 ? (int)len[3] : 1, i >= 4 ? f[3] : "?");
	zmq_send(s->zap, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(s->zap, f[1], i >= 2 ? len[1] : 0, ZMQ_SNDMORE);
	zmq_send(s->zap, ok ? "200" : "400", 3, ZMQ_SNDMORE);
	zmq_send(s->zap, ok ? "OK" : "CURVE only", ok ? 2 : 10,
	    ZMQ_SNDMORE);
	zmq_send(s->zap, ok ? key : "", ok ? 40 : 0, ZMQ_SNDMORE);
	zmq_send(s->zap, "", 0, 0);
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
	if (extra)
		rdv_reply_err(&s->core, &from, 0, "EPROTO",
		    "one frame per message, got %d more", extra);
	else
		rdv_core_handle(&s->core, &from, peer, s->curve ?
		    zmq_msg_gets(&body, "User-Id") : NULL,
		    zmq_msg_data(&body), zmq_msg_size(&body));
out:
	zmq_msg_close(&body);
	zmq_msg_close(&id);
	return 0;
}

int
rdv_server_run(struct rdv_server *s, int stop_fd)
{
	zmq_pollitem_t it[4];
	int n = 0, i, timeout, ir, iz = -1, iw, is = -1;

	it[ir = n++] = (zmq_pollitem_t){ .socket = s->router, .events = ZMQ_POLLIN };
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
	if (s->router)
		zmq_close(s->router);
	if (s->zap)
		zmq_close(s->zap);
	if (s->ctx)
		zmq_ctx_term(s->ctx);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	rdv_core_release(&s->core);
	memset(s->sec, 0, sizeof(s->sec));
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
