/*
 * rdv_client.c: the rendezvous client, a DEALER speaking the JSON protocol
 * of rdv_proto.h.  Every call has a deadline; while it waits on the server
 * it pings, so a vanished server is an error within timeout_ms, and a
 * restarted one (a new "sid") is an error at once.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>
#include <cJSON.h>
#include "clock.h"
#include "rdv_client.h"
#include "rdv_proto.h"

struct mst_rdv {
	void *ctx;
	int own_ctx;
	void *sock;
	char *endpoint, *job, *secret, *admin;
	char server_key[41], pub[41], sec[41];
	int curve;
	int timeout_ms;
	int no_keepalive;
	uint32_t next_id;
	char mid[48];
	int joined;
	int hb_ms;
	char err[512];
	char code[16];
	/* shared with the keepalive thread, under lock */
	pthread_mutex_t lock;
	char sid[24];
	muster_result gone;	/* EABORTED or ERENDEZVOUS once it happened */
	char why[512];
	pthread_t ka;
	int ka_fd;
	int ka_running;
};

static muster_result
fail(mst_rdv *r, muster_result rv, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static muster_result
fail(mst_rdv *r, muster_result rv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->code[0] = '\0';
	return rv;
}

/* Records an abort or a lost server (first one wins). */
static void
set_gone(mst_rdv *r, muster_result rv, const char *why)
{
	pthread_mutex_lock(&r->lock);
	if (r->gone == MUSTER_OK) {
		r->gone = rv;
		snprintf(r->why, sizeof(r->why), "%s", why);
	}
	pthread_mutex_unlock(&r->lock);
}

/* 0, or -1 when the server instance changed (it restarted). */
static int
check_sid(mst_rdv *r, const cJSON *msg)
{
	const cJSON *sid = cJSON_GetObjectItemCaseSensitive(msg, "sid");
	int rv = 0;

	if (!cJSON_IsString(sid))
		return 0;
	pthread_mutex_lock(&r->lock);
	if (r->sid[0] == '\0')
		snprintf(r->sid, sizeof(r->sid), "%s", sid->valuestring);
	else if (strcmp(r->sid, sid->valuestring) != 0)
		rv = -1;
	pthread_mutex_unlock(&r->lock);
	if (rv)
		set_gone(r, MUSTER_ERENDEZVOUS, "the rendezvous server "
		    "restarted: the job's state is gone");
	return rv;
}

static void *
new_socket(mst_rdv *r)
{
	void *s = zmq_socket(r->ctx, ZMQ_DEALER);
	int zero = 0;
	int64_t maxmsg = 64 * 1024 * 1024;

	if (s == NULL)
		return NULL;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (r->curve && (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY,
	    r->server_key, 40) || zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY,
	    r->pub, 40) || zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, r->sec, 40)))
		goto fail;
	if (zmq_connect(s, r->endpoint) != 0)
		goto fail;
	return s;
fail:
	zmq_close(s);
	return NULL;
}

static muster_result
setup_curve(mst_rdv *r, const struct mst_rdv_opts *o)
{
	const char *key = o->server_key ? o->server_key :
	    getenv("MUSTER_RDV_KEY");

	if (key == NULL || key[0] == '\0')
		return MUSTER_OK;
	if (!zmq_has("curve"))
		return fail(r, MUSTER_ENOTSUP, "libzmq lacks CURVE");
	if (strlen(key) != 40)
		return fail(r, MUSTER_EINVAL, "server key: want 40 Z85 chars");
	memcpy(r->server_key, key, 41);
	if (o->curve_secret) {
		if (strlen(o->curve_secret) != 40 ||
		    zmq_curve_public(r->pub, o->curve_secret) != 0)
			return fail(r, MUSTER_EINVAL, "bad CURVE secret key");
		memcpy(r->sec, o->curve_secret, 41);
	} else if (mst_rdv_curve_keys(r->admin ? r->admin : r->secret, r->pub,
	    r->sec) != 0) {
		return fail(r, MUSTER_EINVAL, "cannot derive CURVE keys");
	}
	r->curve = 1;
	return MUSTER_OK;
}

muster_result
mst_rdv_open(mst_rdv **out, const struct mst_rdv_opts *o)
{
	mst_rdv *r;
	muster_result rv = MUSTER_ENOMEM;

	*out = NULL;
	if (o == NULL || o->endpoint == NULL)
		return MUSTER_EINVAL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return MUSTER_ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	r->ka_fd = -1;
	r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	r->no_keepalive = o->no_keepalive;
	r->next_id = 1;
	if ((r->endpoint = strdup(o->endpoint)) == NULL ||
	    (r->job = strdup(o->job ? o->job : "")) == NULL ||
	    (r->secret = strdup(o->secret ? o->secret : "")) == NULL ||
	    (o->admin_secret && (r->admin = strdup(o->admin_secret)) == NULL))
		goto fail;
	if ((rv = setup_curve(r, o)) != MUSTER_OK)
		goto fail;
	r->ctx = o->zmq_ctx;
	if (r->ctx == NULL && (r->own_ctx = 1, r->ctx = zmq_ctx_new()) == NULL)
		goto fail;
	if ((r->sock = new_socket(r)) == NULL) {
		rv = MUSTER_EINVAL;
		goto fail;
	}
	*out = r;
	return MUSTER_OK;
fail:
	mst_rdv_close(r);
	return rv;
}

/* The first line of the file $env names. */
static muster_result
load_file(const char *env, char *buf, size_t n)
{
	const char *path = getenv(env);
	FILE *f;

	if (path == NULL || !*path)
		return MUSTER_ENOENV;
	if ((f = fopen(path, "re")) == NULL)
		return MUSTER_ESYSERR | errno;
	if (fgets(buf, (int)n, f) == NULL) {
		fclose(f);
		return MUSTER_EINVAL;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf[0] ? MUSTER_OK : MUSTER_EINVAL;
}

muster_result
mst_rdv_load_secret(char *buf, size_t n)
{
	const char *s = getenv("MUSTER_JOB_SECRET");

	if (s && *s) {
		if (strlen(s) >= n)
			return MUSTER_EINVAL;
		memcpy(buf, s, strlen(s) + 1);
		return MUSTER_OK;
	}
	return load_file("MUSTER_JOB_SECRET_FILE", buf, n);
}

muster_result
mst_rdv_load_admin_secret(char *buf, size_t n)
{
	return load_file("MUSTER_ADMIN_SECRET_FILE", buf, n);
}

/* Builds a request: envelope plus job, secret and (once joined) mid. */
static cJSON *
req_new(mst_rdv *r, const char *op, uint32_t *id)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	*id = r->next_id++;
	cJSON_AddNumberToObject(o, "v", RDV_VERSION);
	cJSON_AddStringToObject(o, "op", op);
	cJSON_AddNumberToObject(o, "id", *id);
	cJSON_AddStringToObject(o, "job", r->job);
	cJSON_AddStringToObject(o, "secret", r->secret);
	if (r->mid[0])
		cJSON_AddStringToObject(o, "mid", r->mid);
	return o;
}

static int
send_json(void *sock, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	int rc;

	if (s == NULL)
		return -1;
	rc = zmq_send(sock, s, strlen(s), ZMQ_DONTWAIT);
	cJSON_free(s);
	return rc < 0 ? -1 : 0;
}

static void
send_ping(mst_rdv *r)
{
	uint32_t id;
	cJSON *o = req_new(r, r->joined ? "heartbeat" : "ping", &id);

	if (o)
		send_json(r->sock, o);
	cJSON_Delete(o);
}

/* A server push (abort event): records it. */
static void
on_event(mst_rdv *r, const cJSON *msg)
{
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(msg, "ev");
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(msg, "why");

	if (cJSON_IsString(ev) && strcmp(ev->valuestring, "abort") == 0)
		set_gone(r, MUSTER_EABORTED,
		    cJSON_IsString(why) ? why->valuestring : "job aborted");
}

/* Reads one message: 1 with *msg, 0 none within ms, -1 error. */
static int
recv_json(void *sock, int ms, cJSON **msg)
{
	zmq_pollitem_t it = { .socket = sock, .events = ZMQ_POLLIN };
	zmq_msg_t m;
	int rc;

	*msg = NULL;
	if (ms > 0 && (rc = zmq_poll(&it, 1, ms)) <= 0)
		return rc < 0 && errno != EINTR ? -1 : 0;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	}
	*msg = cJSON_ParseWithLength(zmq_msg_data(&m), zmq_msg_size(&m));
	zmq_msg_close(&m);
	return 1;
}

static muster_result
reply_error(mst_rdv *r, const cJSON *msg, const char *op)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(msg, "code");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(msg, "error");
	const char *c = cJSON_IsString(code) ? code->valuestring : "EPROTO";
	muster_result rv = mst_rdv_code_result(c);

	if (strcmp(c, "ENOENT") == 0)
		rv = MUSTER_ETIMEDOUT;
	if (rv == MUSTER_EABORTED)
		set_gone(r, MUSTER_EABORTED, cJSON_IsString(text) ?
		    text->valuestring : "job aborted");
	fail(r, rv, "rendezvous %s: %s (%s)", op,
	    cJSON_IsString(text) ? text->valuestring : "error", c);
	snprintf(r->code, sizeof(r->code), "%s", c);
	return rv;
}

/*
 * Sends req (taking it) and waits for its reply: up to wait_ms for the
 * server to answer, plus timeout_ms; pings every ping period so that a
 * silent server is found out within timeout_ms.
 */
static muster_result
call(mst_rdv *r, cJSON *req, uint32_t id, int wait_ms, cJSON **reply)
{
	const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(req, "op"));
	uint64_t now = mst_now_ms(), end, last_rx = now, next_ping;
	int ping = r->timeout_ms / 4 < 1000 ? r->timeout_ms / 4 : 1000;
	char opname[32];
	cJSON *msg, *mid;
	int rc;

	snprintf(opname, sizeof(opname), "%s", op ? op : "?");
	*reply = NULL;
	rc = send_json(r->sock, req);
	cJSON_Delete(req);
	if (rc != 0)
		return fail(r, MUSTER_ERENDEZVOUS, "rendezvous %s: send: %s",
		    opname, zmq_strerror(errno));
	end = now + (uint64_t)wait_ms + (uint64_t)r->timeout_ms;
	next_ping = now + (uint64_t)(ping > 0 ? ping : 1);
	for (;;) {
		now = mst_now_ms();
		if (now >= end || now - last_rx >= (uint64_t)r->timeout_ms)
			return fail(r, MUSTER_ERENDEZVOUS, "rendezvous %s: no "
			    "answer from %s within %d ms", opname, r->endpoint,
			    (int)(now - last_rx));
		if (now >= next_ping) {
			send_ping(r);
			next_ping = now + (uint64_t)ping;
		}
		rc = recv_json(r->sock, (int)((next_ping < end ? next_ping :
		    end) - now) + 1, &msg);
		if (rc < 0)
			return fail(r, MUSTER_ERENDEZVOUS, "rendezvous %s: %s",
			    opname, zmq_strerror(errno));
		if (rc == 0)
			continue;
		last_rx = mst_now_ms();
		if (msg == NULL)
			continue;	/* not JSON: ignore it */
		if (check_sid(r, msg) != 0) {
			cJSON_Delete(msg);
			return fail(r, MUSTER_ERENDEZVOUS, "rendezvous %s: the "
			    "server at %s restarted", opname, r->endpoint);
		}
		if (cJSON_GetObjectItemCaseSensitive(msg, "ev"))
			on_event(r, msg);
		else if ((mid = cJSON_GetObjectItemCaseSensitive(msg, "id")) &&
		    cJSON_IsNumber(mid) && mid->valuedouble == id)
			break;
		cJSON_Delete(msg);
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "ok"))) {
		*reply = msg;
		return MUSTER_OK;
	}
	rc = reply_error(r, msg, opname);
	cJSON_Delete(msg);
	return rc;
}

/* The common case: op with fields already in req, reply dropped. */
static muster_result
call_simple(mst_rdv *r, cJSON *req, uint32_t id, int wait_ms)
{
	cJSON *rep;
	muster_result rv = call(r, req, id, wait_ms, &rep);

	cJSON_Delete(rep);
	return rv;
}

static void
keepalive_start(mst_rdv *r);
static int
jint(const cJSON *o, const char *name);

muster_result
mst_rdv_create(mst_rdv *r)
{
	uint32_t id;
	cJSON *o = req_new(r, "create", &id), *rep;
	muster_result rv;
	int hb, expire;

	if (o == NULL)
		return MUSTER_ENOMEM;
	if (r->admin)
		cJSON_AddStringToObject(o, "admin", r->admin);
	if ((rv = call(r, o, id, 0, &rep)) != MUSTER_OK)
		return rv;
	hb = jint(rep, "hb_ms");
	expire = jint(rep, "expire_ms");
	cJSON_Delete(rep);
	/* the job's own heartbeat: often enough for the expiry too */
	r->hb_ms = expire > 0 && (hb <= 0 || expire < hb) ? expire : hb;
	keepalive_start(r);
	return MUSTER_OK;
}

static int
jint(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

	/* in range before the cast: a bad reply must not be undefined */
	return cJSON_IsNumber(f) && f->valuedouble >= INT_MIN &&
	    f->valuedouble <= INT_MAX ? (int)f->valuedouble : -1;
}

static void *
keepalive_main(void *arg);

static void
keepalive_start(mst_rdv *r)
{
	if (r->no_keepalive || r->hb_ms <= 0)
		return;
	if ((r->ka_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return;
	if (pthread_create(&r->ka, NULL, keepalive_main, r) == 0)
		r->ka_running = 1;
}

static void
keepalive_stop(mst_rdv *r)
{
	uint64_t one = 1;

	if (r->ka_running) {
		if (write(r->ka_fd, &one, sizeof(one)) < 0)
			(void)0;
		pthread_join(r->ka, NULL);
		r->ka_running = 0;
	}
	if (r->ka_fd >= 0)
		close(r->ka_fd);
	r->ka_fd = -1;
}

muster_result
mst_rdv_join(mst_rdv *r, const char *kind, const char *host, int want_rank,
	     int size, int wait_ms, struct mst_rdv_member *out)
{
	uint32_t id;
	cJSON *o, *rep;
	const cJSON *mid;
	muster_result rv;

	if (r->joined)
		return fail(r, MUSTER_ESTATE, "already joined");
	if (kind == NULL || host == NULL || size < 1 || wait_ms < 0)
		return fail(r, MUSTER_EINVAL, "join: bad arguments");
	if ((o = req_new(r, "join", &id)) == NULL)
		return MUSTER_ENOMEM;
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "host", host);
	cJSON_AddNumberToObject(o, "rank", want_rank);
	cJSON_AddNumberToObject(o, "size", size);
	cJSON_AddNumberToObject(o, "wait_ms", wait_ms);
	if ((rv = call(r, o, id, wait_ms, &rep)) != MUSTER_OK)
		return rv;
	mid = cJSON_GetObjectItemCaseSensitive(rep, "mid");
	out->rank = jint(rep, "rank");
	out->size = jint(rep, "size");
	out->local_rank = jint(rep, "local_rank");
	out->local_size = jint(rep, "local_size");
	out->node_rank = jint(rep, "node_rank");
	out->num_nodes = jint(rep, "num_nodes");
	out->generation = (uint64_t)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(rep, "generation"));
	out->heartbeat_ms = r->hb_ms = jint(rep, "hb_ms");
	if (!cJSON_IsString(mid) || strlen(mid->valuestring) >= sizeof(r->mid)
	    || out->rank < 0) {
		cJSON_Delete(rep);
		return fail(r, MUSTER_ERENDEZVOUS, "join: bad reply");
	}
	strcpy(r->mid, mid->valuestring);
	r->joined = 1;
	cJSON_Delete(rep);
	keepalive_start(r);
	return MUSTER_OK;
}

muster_result
mst_rdv_peers(mst_rdv *r, const char *kind, char ***hosts, int *n)
{
	uint32_t id;
	cJSON *o, *rep, *a, *h;
	muster_result rv;
	int i = 0;

	*hosts = NULL;
	*n = 0;
	if ((o = req_new(r, "peers", &id)) == NULL)
		return MUSTER_ENOMEM;
	cJSON_AddStringToObject(o, "kind", kind ? kind : "worker");
	if ((rv = call(r, o, id, 0, &rep)) != MUSTER_OK)
		return rv;
	a = cJSON_GetObjectItemCaseSensitive(rep, "hosts");
	if (!cJSON_IsArray(a) ||
	    (*hosts = calloc((size_t)cJSON_GetArraySize(a) + 1,
	    sizeof(char *))) == NULL) {
		cJSON_Delete(rep);
		return fail(r, MUSTER_ERENDEZVOUS, "peers: bad reply");
	}
	cJSON_ArrayForEach(h, a)
		(*hosts)[i++] = strdup(cJSON_IsString(h) ? h->valuestring : "");
	*n = i;
	cJSON_Delete(rep);
	return MUSTER_OK;
}

void
mst_rdv_peers_free(char **hosts, int n)
{
	int i;

	for (i = 0; hosts && i < n; i++)
		free(hosts[i]);
	free(hosts);
}

muster_result
mst_rdv_kv_set(mst_rdv *r, const char *key, const void *val, size_t len)
{
	uint32_t id;
	cJSON *o;
	char *b64;

	if (key == NULL || (val == NULL && len))
		return fail(r, MUSTER_EINVAL, "kv_set: bad arguments");
	if (len > RDV_MSG_MAX || (b64 = malloc(mst_b64_encoded_len(len) + 1))
	    == NULL)
		return fail(r, MUSTER_EINVAL, "kv_set: value of %zu bytes too "
		    "large", len);
	mst_b64_encode(val, len, b64);
	if ((o = req_new(r, "set", &id)) == NULL) {
		free(b64);
		return MUSTER_ENOMEM;
	}
	cJSON_AddStringToObject(o, "key", key);
	cJSON_AddStringToObject(o, "val", b64);
	free(b64);
	return call_simple(r, o, id, 0);
}

muster_result
mst_rdv_kv_get(mst_rdv *r, const char *key, void **val, size_t *len,
	       int wait_ms)
{
	uint32_t id;
	cJSON *o, *rep;
	const cJSON *v;
	unsigned char *buf;
	muster_result rv;
	ssize_t n;

	*val = NULL;
	*len = 0;
	if (key == NULL || wait_ms < 0)
		return fail(r, MUSTER_EINVAL, "kv_get: bad arguments");
	if ((o = req_new(r, "get", &id)) == NULL)
		return MUSTER_ENOMEM;
	cJSON_AddStringToObject(o, "key", key);
	cJSON_AddNumberToObject(o, "wait_ms", wait_ms);
	if ((rv = call(r, o, id, wait_ms, &rep)) != MUSTER_OK)
		return rv;
	v = cJSON_GetObjectItemCaseSensitive(rep, "val");
	if (!cJSON_IsString(v) ||
	    (buf = malloc(strlen(v->valuestring) / 4 * 3 + 1)) == NULL) {
		cJSON_Delete(rep);
		return fail(r, MUSTER_ERENDEZVOUS, "kv_get: bad reply");
	}
	n = mst_b64_decode(v->valuestring, strlen(v->valuestring), buf);
	cJSON_Delete(rep);
	if (n < 0) {
		free(buf);
		return fail(r, MUSTER_ERENDEZVOUS, "kv_get: bad base64");
	}
	buf[n] = '\0';
	*val = buf;
	*len = (size_t)n;
	return MUSTER_OK;
}

muster_result
mst_rdv_barrier(mst_rdv *r, const char *name, int wait_ms)
{
	uint32_t id;
	cJSON *o;

	if (!r->joined)
		return fail(r, MUSTER_ESTATE, "barrier before join");
	if ((o = req_new(r, "barrier", &id)) == NULL)
		return MUSTER_ENOMEM;
	cJSON_AddStringToObject(o, "name", name ? name : "barrier");
	cJSON_AddNumberToObject(o, "wait_ms", wait_ms);
	return call_simple(r, o, id, wait_ms);
}

muster_result
mst_rdv_heartbeat(mst_rdv *r)
{
	uint32_t id;
	cJSON *o;

	if (!r->joined)
		return fail(r, MUSTER_ESTATE, "heartbeat before join");
	if ((o = req_new(r, "heartbeat", &id)) == NULL)
		return MUSTER_ENOMEM;
	return call_simple(r, o, id, 0);
}

muster_result
mst_rdv_leave(mst_rdv *r, int error, const char *why)
{
	uint32_t id;
	cJSON *o;
	muster_result rv;

	if (!r->joined)
		return fail(r, MUSTER_ESTATE, "leave before join");
	keepalive_stop(r);
	if ((o = req_new(r, "leave", &id)) == NULL)
		return MUSTER_ENOMEM;
	cJSON_AddNumberToObject(o, "error", error);
	if (why)
		cJSON_AddStringToObject(o, "why", why);
	rv = call_simple(r, o, id, 0);
	r->joined = 0;
	return rv;
}

muster_result
mst_rdv_abort(mst_rdv *r, const char *why)
{
	uint32_t id;
	cJSON *o;

	if ((o = req_new(r, "abort", &id)) == NULL)
		return MUSTER_ENOMEM;
	if (why)
		cJSON_AddStringToObject(o, "why", why);
	return call_simple(r, o, id, 0);
}

muster_result
mst_rdv_end(mst_rdv *r)
{
	uint32_t id;
	cJSON *o;

	if ((o = req_new(r, "end", &id)) == NULL)
		return MUSTER_ENOMEM;
	return call_simple(r, o, id, 0);
}

muster_result
mst_rdv_status(mst_rdv *r, char **json)
{
	uint32_t id;
	cJSON *o, *rep;
	muster_result rv;

	*json = NULL;
	if ((o = req_new(r, "status", &id)) == NULL)
		return MUSTER_ENOMEM;
	if ((rv = call(r, o, id, 0, &rep)) != MUSTER_OK)
		return rv;
	*json = cJSON_Print(rep);
	cJSON_Delete(rep);
	return *json ? MUSTER_OK : MUSTER_ENOMEM;
}

muster_result
mst_rdv_poll_abort(mst_rdv *r, char *why, size_t n)
{
	muster_result rv;
	cJSON *msg;

	while (recv_json(r->sock, 0, &msg) == 1) {
		if (msg && check_sid(r, msg) == 0 &&
		    cJSON_GetObjectItemCaseSensitive(msg, "ev"))
			on_event(r, msg);
		cJSON_Delete(msg);
	}
	pthread_mutex_lock(&r->lock);
	rv = r->gone;
	if (rv != MUSTER_OK && why && n)
		snprintf(why, n, "%s", r->why);
	pthread_mutex_unlock(&r->lock);
	if (rv != MUSTER_OK)
		fail(r, rv, "%s", r->why);
	return rv;
}

const char *
mst_rdv_error(const mst_rdv *r)
{
	return r ? r->err : "no rendezvous handle";
}

const char *
mst_rdv_code(const mst_rdv *r)
{
	return r ? r->code : "";
}

void
mst_rdv_close(mst_rdv *r)
{
	if (r == NULL)
		return;
	keepalive_stop(r);
	if (r->joined && r->sock) {
		int t = r->timeout_ms;
		r->timeout_ms = t < 1000 ? t : 1000;
		mst_rdv_leave(r, 0, NULL);
	}
	if (r->sock)
		zmq_close(r->sock);
	if (r->own_ctx && r->ctx)
		zmq_ctx_term(r->ctx);
	free(r->endpoint);
	free(r->job);
	if (r->secret)
		memset(r->secret, 0, strlen(r->secret));
	free(r->secret);
	if (r->admin)
		memset(r->admin, 0, strlen(r->admin));
	free(r->admin);
	memset(r->sec, 0, sizeof(r->sec));
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/*
 * The keepalive thread: its own DEALER, a heartbeat every hb_ms / 4.  It
 * sees an abort (EABORTED reply), a restarted server (new sid) or a silent
 * one (no reply within timeout_ms) and records it for poll_abort.
 */
static void *
keepalive_main(void *arg)
{
	mst_rdv *r = arg;
	void *s = new_socket(r);
	zmq_pollitem_t it[2] = {
		{ .socket = s, .events = ZMQ_POLLIN },
		{ .fd = r->ka_fd, .events = ZMQ_POLLIN },
	};
	int period = r->hb_ms / 4 > 0 ? r->hb_ms / 4 : 1;
	uint64_t last_rx = mst_now_ms(), next = 0, now;
	uint32_t id;
	cJSON *o, *msg;

	if (s == NULL)
		return NULL;
	for (;;) {
		now = mst_now_ms();
		if (now >= next) {
			o = cJSON_CreateObject();
			id = 0;
			cJSON_AddNumberToObject(o, "v", RDV_VERSION);
			cJSON_AddStringToObject(o, "op", "heartbeat");
			cJSON_AddNumberToObject(o, "id", id);
			cJSON_AddStringToObject(o, "job", r->job);
			cJSON_AddStringToObject(o, "secret", r->secret);
			if (r->mid[0])	/* a member; else the job's creator */
				cJSON_AddStringToObject(o, "mid", r->mid);
			send_json(s, o);
			cJSON_Delete(o);
			next = now + (uint64_t)period;
		}
		if (now - last_rx > (uint64_t)r->timeout_ms) {
			set_gone(r, MUSTER_ERENDEZVOUS, "the rendezvous server "
			    "stopped answering");
			break;
		}
		if (zmq_poll(it, 2, (long)(next - now)) < 0 && errno != EINTR)
			break;
		if (it[1].revents)
			break;
		while (recv_json(s, 0, &msg) == 1) {
			last_rx = mst_now_ms();
			if (msg && check_sid(r, msg) == 0 && cJSON_IsFalse(
			    cJSON_GetObjectItemCaseSensitive(msg, "ok"))) {
				const cJSON *c = cJSON_GetObjectItem(msg, "code");
				const cJSON *e = cJSON_GetObjectItem(msg, "error");
				if (cJSON_IsString(c) && cJSON_IsString(e) &&
				    strcmp(c->valuestring, "EABORTED") == 0)
					set_gone(r, MUSTER_EABORTED,
					    e->valuestring);
			}
			cJSON_Delete(msg);
		}
	}
	zmq_close(s);
	return NULL;
}
