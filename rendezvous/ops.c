/*
 * ops.c: the rendezvous message dispatcher.  A frame is bounded, parsed,
 * checked (version, op, types, job secret, member token), then handed to
 * its handler by table.  Every bad message gets an error reply and a log
 * line; nothing here blocks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include "rdv.h"
#include "reply.h"

struct rdv_req {
	struct rdv_core *c;
	const struct rdv_id *from;
	const char *peer;
	const char *user;	/* CURVE key of the connection, or NULL */
	cJSON *msg;
	double id;
	const char *op;
	struct rdv_job *job;
	struct rdv_member *m;
};

#define RDV_F_AUTH	0x1	/* job + secret */
#define RDV_F_MEMBER	0x2	/* + mid of a member */
#define RDV_F_ABORTOK	0x4	/* allowed on an aborted job */
#define RDV_F_LOCAL	0x8	/* loopback peers only */

struct rdv_handler {
	const char *op;
	void (*fn)(struct rdv_req *r);
	int flags;
};

/* An error reply to a bad request, with a log line naming the peer. */
static void
bad(struct rdv_req *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void
bad(struct rdv_req *r, const char *code, const char *fmt, ...)
{
	char text[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	r->c->bad++;
	rdv_log(r->c, 1, "bad request from %s (op %.32s, job %.64s): %s: %s",
	    r->peer ? r->peer : "local", r->op ? r->op : "?",
	    r->job ? r->job->name : "-", code, text);
	rdv_reply_err(r->c, r->from, r->id, code, "%s", text);
}

/* Field getters: 0, or -1 after replying with the error. */
static int
get_str(struct rdv_req *r, const char *name, size_t max, int required,
	const char **out)
{
	cJSON *f = cJSON_GetObjectItemCaseSensitive(r->msg, name);

	*out = NULL;
	if (f == NULL && !required)
		return 0;
	if (!cJSON_IsString(f) || f->valuestring == NULL) {
		bad(r, "EINVAL", "\"%s\" must be a string", name);
		return -1;
	}
	if (strlen(f->valuestring) > max || f->valuestring[0] == '\0') {
		bad(r, "EINVAL", "\"%s\" must be 1 to %zu bytes", name, max);
		return -1;
	}
	*out = f->valuestring;
	return 0;
}

static int
get_int(struct rdv_req *r, const char *name, int lo, int hi, int dflt,
	int *out)
{
	cJSON *f = cJSON_GetObjectItemCaseSensitive(r->msg, name);

	*out = dflt;
	if (f == NULL)
		return 0;
	/* the range first: casting an out-of-range double (1e30, inf) is
	 * undefined behaviour */
	if (!cJSON_IsNumber(f) || !(f->valuedouble >= lo &&
	    f->valuedouble <= hi) || f->valuedouble != (double)(long long)
	    f->valuedouble) {
		bad(r, "EINVAL", "\"%s\" must be an integer in %d..%d",
		    name, lo, hi);
		return -1;
	}
	*out = (int)f->valuedouble;
	return 0;
}

static int
get_kind(struct rdv_req *r, enum rdv_kind *kind)
{
	const char *s;

	if (get_str(r, "kind", 16, 0, &s) != 0)
		return -1;
	if (s == NULL || strcmp(s, "worker") == 0)
		*kind = RDV_KIND_WORKER;
	else if (strcmp(s, "node") == 0)
		*kind = RDV_KIND_NODE;
	else {
		bad(r, "EINVAL", "\"kind\" must be \"node\" or \"worker\"");
		return -1;
	}
	return 0;
}

static void
reply_ok(struct rdv_req *r)
{
	rdv_reply_ok(r->c, r->from, r->id);
}

static void
on_ping(struct rdv_req *r)
{
	reply_ok(r);
}

/* Over CURVE, the connection's key must be the one secret derives. */
static int
curve_key_ok(struct rdv_req *r, const char *job_pub, const char *secret)
{
	char pub[41], sec[41];

	if (r->user == NULL || r->user[0] == '\0')
		return 1;
	if ((r->c->admin_pub[0] && strcmp(r->user, r->c->admin_pub) == 0) ||
	    (r->c->admin_key_pub[0] && strcmp(r->user, r->c->admin_key_pub)
	    == 0))
		return 1;
	if (job_pub == NULL) {
		if (mst_rdv_curve_keys(secret, pub, sec) != 0)
			return 0;
		job_pub = pub;
	}
	return mst_ct_equal(r->user, strlen(r->user), job_pub, strlen(job_pub));
}

/* A request past one of the server's limits: ELIMIT, naming it. */
static void
over_limit(struct rdv_req *r, const char *what, size_t n, const char *flag)
{
	bad(r, "ELIMIT", "%s: this server's limit is %zu (musterd %s)", what,
	    n, flag);
}

/* Who may create: nobody over the network (the launcher's own server),
 * holders of the admin secret, or anyone (musterd --open). */
static int
create_allowed(struct rdv_req *r)
{
	const char *admin;

	if (r->c->create == RDV_CREATE_NONE) {
		bad(r, "EAUTH", "this server's job is registered by its "
		    "launcher; it takes no create");
		return 0;
	}
	if (r->c->create == RDV_CREATE_OPEN)
		return 1;
	if (get_str(r, "admin", RDV_SECRET_MAX, 0, &admin) != 0)
		return 0;
	if (admin == NULL || !mst_ct_equal(admin, strlen(admin),
	    r->c->admin_secret, strlen(r->c->admin_secret)) ||
	    (r->user && r->user[0] && strcmp(r->user, r->c->admin_key_pub) &&
	    strcmp(r->user, r->c->admin_pub))) {
		bad(r, "EAUTH", "create needs musterd's admin secret "
		    "(MUSTER_ADMIN_SECRET_FILE)");
		return 0;
	}
	return 1;
}

/* The create reply: how often to keep the job alive (job-level heartbeat). */
static void
reply_created(struct rdv_req *r)
{
	cJSON *o = rdv_reply_new(r->c, r->id);

	if (o == NULL)
		return;
	cJSON_AddNumberToObject(o, "hb_ms", r->c->heartbeat_ms);
	cJSON_AddNumberToObject(o, "expire_ms", r->c->lim.job_expire_ms);
	rdv_send_json(r->c, r->from, o);
}

/* Registers a job; its id stays taken while the job lives (the same
 * secret again is the same job). */
static void
on_create(struct rdv_req *r)
{
	const char *job, *secret;

	if (!create_allowed(r) || get_str(r, "job", RDV_JOB_MAX, 1, &job) ||
	    get_str(r, "secret", RDV_SECRET_MAX, 1, &secret))
		return;
	if (!curve_key_ok(r, NULL, secret)) {
		bad(r, "EAUTH", "CURVE key does not match the job's secret");
		return;
	}
	if ((r->job = rdv_job_find(r->c, job)) != NULL) {
		if (!mst_ct_equal(secret, strlen(secret), r->job->secret,
		    r->job->secret_len)) {
			r->job = NULL;
			bad(r, "EEXIST", "job id '%.256s' is already in use",
			    job);
			return;
		}
	} else if ((r->job = rdv_job_create(r->c, job, secret)) == NULL) {
		if (errno == ENOSPC)
			over_limit(r, "jobs", (size_t)r->c->lim.max_jobs,
			    "--max-jobs");
		else
			bad(r, "ENOMEM", "out of memory");
		return;
	}
	r->job->last_active = r->c->now;
	r->c->authed = 1;
	rdv_log(r->c, 2, "job %s created", job);
	reply_created(r);
}

static int
join_check(struct rdv_req *r, struct rdv_group *g, int want, int size)
{
	if (g->complete) {
		int i, alive = 0;
		for (i = 0; i < g->joined; i++)
			alive += !g->m[i]->left;
		if (alive) {
			bad(r, "ESTATE", "the job's %d members already joined",
			    g->size);
			return -1;
		}
		/* every member left: a returning member starts a round */
		rdv_job_reset(r->c, r->job);
	}
	if (g->size == 0)
		g->size = size;
	if (size != g->size) {
		bad(r, "EINVAL", "size %d does not match the job's %d",
		    size, g->size);
		return -1;
	}
	if (want >= size) {
		bad(r, "EINVAL", "rank %d out of range for size %d", want, size);
		return -1;
	}
	if (want >= 0 && rdv_group_planned(g, want)) {
		bad(r, "EINVAL", "rank %d already taken", want);
		return -1;
	}
	return 0;
}

static void
on_join(struct rdv_req *r)
{
	const char *host;
	int want, size, wait_ms, i;
	enum rdv_kind kind;
	struct rdv_group *g;
	struct rdv_member *m;

	if (get_kind(r, &kind) || get_str(r, "host", RDV_HOST_MAX, 1, &host) ||
	    get_int(r, "size", 1, RDV_SIZE_MAX, 0, &size) ||
	    get_int(r, "rank", -1, RDV_SIZE_MAX, -1, &want) ||
	    get_int(r, "wait_ms", 0, RDV_WAIT_MAX, 30000, &wait_ms))
		return;
	if (size == 0) {
		bad(r, "EINVAL", "\"size\" is required");
		return;
	}
	if (size > r->c->lim.max_size) {
		over_limit(r, "job size", (size_t)r->c->lim.max_size,
		    "--max-job-size");
		return;
	}
	if (r->c->nmembers >= r->c->lim.max_members) {
		over_limit(r, "members of all jobs",
		    (size_t)r->c->lim.max_members, "--max-members");
		return;
	}
	g = &r->job->groups[kind];
	if (join_check(r, g, want, size) != 0)
		return;
	if ((m = rdv_member_add(r->c, r->job, kind, host, want, r->from)) ==
	    NULL) {
		bad(r, "ENOMEM", "out of memory");
		return;
	}
	m->join_wait = rdv_wait_add(r->c, RDV_W_JOIN, r->job, NULL, r->from,
	    r->id, wait_ms);
	if (m->join_wait == NULL) {
		rdv_member_remove(r->c, m);
		bad(r, "ENOMEM", "out of memory");
		return;
	}
	m->join_wait->m = m;
	rdv_log(r->c, 2, "job %s: %s on %s joined (%d of %d)", r->job->name,
	    rdv_kind_name(kind), host, g->joined, g->size);
	if (g->joined < g->size)
		return;
	if (rdv_group_assign(g) != 0) {
		bad(r, "ENOMEM", "out of memory");
		return;
	}
	for (i = 0; i < g->size; i++) {
		m = g->m[i];
		if (m->join_wait) {
			rdv_reply_join(r->c, m, m->join_wait);
			rdv_wait_free(m->join_wait);
		}
		m->last_seen = r->c->now;
	}
}

/* The hosts of a complete group, by rank. */
static void
on_peers(struct rdv_req *r)
{
	enum rdv_kind kind;
	struct rdv_group *g;

	if (get_kind(r, &kind))
		return;
	g = &r->job->groups[kind];
	if (!g->complete) {
		bad(r, "ESTATE", "the %s group is not complete",
		    rdv_kind_name(kind));
		return;
	}
	rdv_reply_peers(r->c, r->from, r->id, g);
}

static void
kv_wake(struct rdv_core *c, struct rdv_kv *e)
{
	struct rdv_waiter *w;

	while (e->waiters.next != &e->waiters) {
		w = (struct rdv_waiter *)(void *)((char *)e->waiters.next -
		    offsetof(struct rdv_waiter, on));
		rdv_reply_val(c, &w->to, w->req_id, e->val);
		rdv_wait_free(w);
	}
}

/* Why a key could not be made (or, storing, its value stored). */
static void
kv_failed(struct rdv_req *r, int storing)
{
	if (errno != ENOSPC)
		bad(r, "ENOMEM", "out of memory");
	else if (!storing && r->job->kv_n >= (size_t)r->c->lim.max_keys)
		over_limit(r, "keys of a job", (size_t)r->c->lim.max_keys,
		    "--max-keys");
	else
		over_limit(r, "bytes of a job's keys and values",
		    r->c->lim.max_kv_bytes, "--max-kv-bytes");
}

static void
on_set(struct rdv_req *r)
{
	const char *key;
	cJSON *val = cJSON_GetObjectItemCaseSensitive(r->msg, "val");
	struct rdv_kv *e;

	if (get_str(r, "key", RDV_KEY_MAX, 1, &key))
		return;
	if (!cJSON_IsString(val) || val->valuestring == NULL) {
		bad(r, "EINVAL", "\"val\" must be a (base64) string");
		return;
	}
	if ((e = rdv_kv_lookup(r->c, r->job, key, 1)) == NULL) {
		kv_failed(r, 0);
		return;
	}
	if (rdv_kv_store(r->c, r->job, e, val->valuestring) != 0) {
		kv_failed(r, 1);
		return;
	}
	reply_ok(r);
	kv_wake(r->c, e);
}

static void
on_get(struct rdv_req *r)
{
	const char *key;
	struct rdv_kv *e;
	int wait_ms;

	if (get_str(r, "key", RDV_KEY_MAX, 1, &key) ||
	    get_int(r, "wait_ms", 0, RDV_WAIT_MAX, 0, &wait_ms))
		return;
	e = rdv_kv_lookup(r->c, r->job, key, wait_ms > 0);
	if (e && e->val) {
		rdv_reply_val(r->c, r->from, r->id, e->val);
		return;
	}
	if (wait_ms == 0) {
		rdv_reply_err(r->c, r->from, r->id, "ENOENT", "no such key");
		return;
	}
	if (e == NULL) {
		kv_failed(r, 0);
		return;
	}
	if (r->job->nwaiters >= r->c->lim.max_waiters) {
		over_limit(r, "waiting gets of a job",
		    (size_t)r->c->lim.max_waiters, "--max-waiters");
		return;
	}
	if (rdv_wait_add(r->c, RDV_W_GET, r->job, &e->waiters, r->from,
	    r->id, wait_ms) == NULL)
		bad(r, "ENOMEM", "out of memory");
}

static void
on_barrier(struct rdv_req *r)
{
	const char *name;
	int wait_ms;
	struct rdv_barrier *b;
	struct rdv_waiter *w;

	if (get_str(r, "name", RDV_KEY_MAX, 1, &name) ||
	    get_int(r, "wait_ms", 0, RDV_WAIT_MAX, 30000, &wait_ms))
		return;
	if (r->m->in_barrier) {
		bad(r, "ESTATE", "already waiting in barrier %.64s",
		    r->m->in_barrier->name);
		return;
	}
	if ((b = rdv_barrier_lookup(r->c, r->job, r->m->kind, name, 1)) ==
	    NULL) {
		kv_failed(r, 1);
		return;
	}
	if ((w = rdv_wait_add(r->c, RDV_W_BARRIER, r->job, &b->waiters,
	    r->from, r->id, wait_ms)) == NULL) {
		bad(r, "ENOMEM", "out of memory");
		return;
	}
	w->m = r->m;
	r->m->in_barrier = b;
	if (++b->count < r->job->groups[r->m->kind].size)
		return;
	b->count = 0;
	while (b->waiters.next != &b->waiters) {
		w = (struct rdv_waiter *)(void *)((char *)b->waiters.next -
		    offsetof(struct rdv_waiter, on));
		rdv_reply_ok(r->c, &w->to, w->req_id);
		rdv_wait_free(w);
	}
}

static void
on_heartbeat(struct rdv_req *r)
{
	reply_ok(r);
}

static void
on_leave(struct rdv_req *r)
{
	const char *why;
	int error;
	char text[512];

	if (get_int(r, "error", -1000000, 1000000, 0, &error) ||
	    get_str(r, "why", 400, 0, &why))
		return;
	r->m->left = 1;
	reply_ok(r);
	if (error == 0 || r->job->aborted)
		return;
	snprintf(text, sizeof(text), "%s rank %d on %.100s left with error %d"
	    "%s%.300s", rdv_kind_name(r->m->kind), r->m->rank, r->m->host, error,
	    why ? ": " : "", why ? why : "");
	rdv_job_abort(r->c, r->job, text);
}

static void
on_abort(struct rdv_req *r)
{
	const char *why;
	char text[512];

	if (get_str(r, "why", 400, 0, &why))
		return;
	if (r->m)
		snprintf(text, sizeof(text), "%s rank %d on %.100s aborted: "
		    "%.300s", rdv_kind_name(r->m->kind), r->m->rank, r->m->host,
		    why ? why : "no reason given");
	else
		snprintf(text, sizeof(text), "aborted: %.300s",
		    why ? why : "no reason given");
	reply_ok(r);
	rdv_job_abort(r->c, r->job, text);
}

/* Ends a job: its state is dropped and its name is free again. */
static void
on_end(struct rdv_req *r)
{
	rdv_log(r->c, 2, "job %s ended", r->job->name);
	reply_ok(r);
	rdv_job_free(r->c, r->job);
	r->job = NULL;
}

/* Lists jobs and members (no secrets); loopback peers only. */
static void
on_status(struct rdv_req *r)
{
	rdv_reply_status(r->c, r->from, r->id);
}

static const struct rdv_handler handlers[] = {
	{ "ping",	on_ping,	RDV_F_ABORTOK },
	{ "create",	on_create,	RDV_F_ABORTOK },
	{ "join",	on_join,	RDV_F_AUTH },
	{ "peers",	on_peers,	RDV_F_AUTH },
	{ "set",	on_set,		RDV_F_AUTH },
	{ "get",	on_get,		RDV_F_AUTH },
	{ "barrier",	on_barrier,	RDV_F_MEMBER },
	{ "heartbeat",	on_heartbeat,	RDV_F_AUTH },
	{ "leave",	on_leave,	RDV_F_MEMBER | RDV_F_ABORTOK },
	{ "abort",	on_abort,	RDV_F_AUTH | RDV_F_ABORTOK },
	{ "end",	on_end,		RDV_F_AUTH | RDV_F_ABORTOK },
	{ "status",	on_status,	RDV_F_LOCAL | RDV_F_ABORTOK },
};

static int
peer_is_local(const char *peer)
{
	return peer == NULL || strncmp(peer, "127.", 4) == 0 ||
	    strcmp(peer, "::1") == 0 || strncmp(peer, "::ffff:127.", 11) == 0;
}

/* Job, secret and member checks of flags; 0 when the request may run. */
static int
check_access(struct rdv_req *r, int flags)
{
	const char *job, *secret, *mid;

	if ((flags & RDV_F_LOCAL) && !peer_is_local(r->peer)) {
		bad(r, "EAUTH", "%s is for loopback peers only", r->op);
		return -1;
	}
	if (!(flags & (RDV_F_AUTH | RDV_F_MEMBER)))
		return 0;
	if (get_str(r, "job", RDV_JOB_MAX, 1, &job) ||
	    get_str(r, "secret", RDV_SECRET_MAX, 1, &secret))
		return -1;
	r->job = rdv_job_find(r->c, job);
	if (r->job == NULL || !mst_ct_equal(secret, strlen(secret),
	    r->job->secret, r->job->secret_len)) {
		r->job = NULL;
		bad(r, "EAUTH", "unknown job or wrong secret");
		return -1;
	}
	if (!curve_key_ok(r, r->job->curve_pub, secret)) {
		r->job = NULL;
		bad(r, "EAUTH", "CURVE key does not match the job's secret");
		return -1;
	}
	if (get_str(r, "mid", 64, (flags & RDV_F_MEMBER) != 0, &mid))
		return -1;
	if (mid && (r->m = rdv_member_find(r->job, mid)) == NULL) {
		bad(r, "ESTATE", "not a member of this job (restarted?)");
		return -1;
	}
	if (r->m)
		r->m->last_seen = r->c->now;
	r->job->last_active = r->c->now;
	r->c->authed = 1;
	if (r->job->aborted && !(flags & RDV_F_ABORTOK)) {
		rdv_reply_err(r->c, r->from, r->id, "EABORTED", "%s",
		    r->job->why ? r->job->why : "aborted");
		return -1;
	}
	if (r->m && r->m->left && !(flags & RDV_F_ABORTOK)) {
		bad(r, "ESTATE", "this member left the job");
		return -1;
	}
	return 0;
}

/* Version, id and op; returns the handler or NULL after replying. */
static const struct rdv_handler *
check_envelope(struct rdv_req *r)
{
	cJSON *v, *id, *op;
	size_t i;

	id = cJSON_GetObjectItemCaseSensitive(r->msg, "id");
	if (cJSON_IsNumber(id))
		r->id = id->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(r->msg, "v");
	if (!cJSON_IsNumber(v) || v->valuedouble != RDV_VERSION) {
		bad(r, "EPROTO", "protocol version %s not supported (want %d)",
		    cJSON_IsNumber(v) ? "given" : "missing", RDV_VERSION);
		return NULL;
	}
	if (id && !cJSON_IsNumber(id)) {
		bad(r, "EPROTO", "\"id\" must be a number");
		return NULL;
	}
	op = cJSON_GetObjectItemCaseSensitive(r->msg, "op");
	if (!cJSON_IsString(op) || op->valuestring == NULL) {
		bad(r, "EPROTO", "\"op\" must be a string");
		return NULL;
	}
	r->op = op->valuestring;
	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (strcmp(handlers[i].op, r->op) == 0)
			return &handlers[i];
	bad(r, "EPROTO", "unknown op \"%.32s\"", r->op);
	return NULL;
}

void
rdv_core_handle(struct rdv_core *c, const struct rdv_id *from,
		const char *peer, const char *user, const char *data, size_t len)
{
	struct rdv_req r = { .c = c, .from = from, .peer = peer, .user = user };
	const struct rdv_handler *h;

	c->msgs++;
	if (len > RDV_MSG_MAX) {
		bad(&r, "ETOOBIG", "message of %zu bytes exceeds %d", len,
		    RDV_MSG_MAX);
		return;
	}
	if (!mst_utf8_valid(data, len)) {
		bad(&r, "EPROTO", "not valid UTF-8 (JSON must be)");
		return;
	}
	if ((r.msg = cJSON_ParseWithLength(data, len)) == NULL ||
	    !cJSON_IsObject(r.msg)) {
		bad(&r, "EPROTO", "not a JSON object");
		goto out;
	}
	if ((h = check_envelope(&r)) == NULL)
		goto out;
	if (check_access(&r, h->flags) != 0)
		goto out;
	h->fn(&r);
out:
	cJSON_Delete(r.msg);
}
