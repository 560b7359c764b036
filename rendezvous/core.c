/*
 * core.c: the rendezvous server's state: jobs, members, rank assignment,
 * the KV store, barriers, waiters and their deadlines, heartbeats, aborts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "clock.h"
#include "hash.h"
#include "rdv.h"
#include "reply.h"

#define link_init(l) ((l)->prev = (l)->next = (l))
#define link_empty(l) ((l)->next == (l))
#define container(p, type, field) \
	((type *)(void *)((char *)(p) - offsetof(type, field)))

static void
link_add(struct rdv_link *head, struct rdv_link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static void
link_del(struct rdv_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	link_init(l);
}

void
rdv_log(struct rdv_core *c, int level, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	if (c->verbose < level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "musterd: %s\n", buf);
}

const char *
rdv_kind_name(enum rdv_kind kind)
{
	return kind == RDV_KIND_NODE ? "node" : "worker";
}

/* libsodium's CSPRNG: a token cannot be guessed from the sid or another. */
uint64_t
rdv_random(void)
{
	uint64_t v;

	randombytes_buf(&v, sizeof(v));
	return v;
}

void
rdv_limits_default(struct rdv_limits *l)
{
	l->max_jobs = 1024;
	l->max_size = 65536;
	l->max_members = 262144;
	l->max_keys = 65536;
	l->max_kv_bytes = 16u << 20;
	l->max_waiters = 4096;
	l->job_expire_ms = 60000;
}

int
rdv_core_init(struct rdv_core *c, int heartbeat_ms, int verbose,
	      rdv_send_fn send, void *arg)
{
	memset(c, 0, sizeof(*c));
	if (sodium_init() < 0 || pthread_mutex_init(&c->lock, NULL) != 0)
		return -1;
	link_init(&c->waiters);
	rdv_limits_default(&c->lim);
	c->heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : 5000;
	c->verbose = verbose;
	c->send = send;
	c->send_arg = arg;
	c->now = mst_now_ms();
	c->sid = rdv_random();
	snprintf(c->sid_str, sizeof(c->sid_str), "%016llx",
	    (unsigned long long)c->sid);
	return 0;
}

int
rdv_core_set_create(struct rdv_core *c, enum rdv_create mode,
		    const char *secret)
{
	char sec[41];

	c->create = mode;
	if (mode != RDV_CREATE_ADMIN)
		return 0;
	if (secret == NULL || (c->admin_secret = strdup(secret)) == NULL)
		return -1;
	if (mst_rdv_curve_keys(secret, c->admin_key_pub, sec) != 0)
		c->admin_key_pub[0] = '\0';
	sodium_memzero(sec, sizeof(sec));
	return 0;
}

int
rdv_core_key_known(struct rdv_core *c, const char *key)
{
	struct rdv_job *j;

	if (c->create == RDV_CREATE_OPEN ||
	    (c->admin_pub[0] && strcmp(key, c->admin_pub) == 0) ||
	    (c->admin_key_pub[0] && strcmp(key, c->admin_key_pub) == 0))
		return 1;
	for (j = c->jobs; j; j = j->next)
		if (strcmp(key, j->curve_pub) == 0)
			return 1;
	return 0;
}

void
rdv_core_release(struct rdv_core *c)
{
	while (c->jobs)
		rdv_job_free(c, c->jobs);
	if (c->admin_secret)
		sodium_memzero(c->admin_secret, strlen(c->admin_secret));
	free(c->admin_secret);
	pthread_mutex_destroy(&c->lock);
}

struct rdv_job *
rdv_job_find(struct rdv_core *c, const char *name)
{
	struct rdv_job *j;

	for (j = c->jobs; j; j = j->next)
		if (strcmp(j->name, name) == 0)
			return j;
	return NULL;
}

struct rdv_job *
rdv_job_create(struct rdv_core *c, const char *name, const char *secret)
{
	struct rdv_job *j;

	if (c->njobs >= (size_t)c->lim.max_jobs) {
		errno = ENOSPC;
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto fail;
	if ((j->name = strdup(name)) == NULL ||
	    (j->secret = strdup(secret)) == NULL)
		goto fail_job;
	j->secret_len = strlen(secret);
	if (mst_rdv_curve_keys(secret, j->curve_pub, (char[41]){ 0 }) != 0)
		j->curve_pub[0] = '\0';
	j->kv_buckets = 64;
	if ((j->kv = calloc(j->kv_buckets, sizeof(*j->kv))) == NULL)
		goto fail_job;
	j->last_active = c->now;
	j->next = c->jobs;
	c->jobs = j;
	c->njobs++;
	return j;
fail_job:
	free(j->name);
	free(j->secret);
	free(j);
fail:
	errno = ENOMEM;
	return NULL;
}

/* Answers every waiter of the job with code and drops it. */
static void
job_fail_waiters(struct rdv_core *c, struct rdv_job *j, const char *code,
		 const char *why)
{
	struct rdv_link *l, *n;
	struct rdv_waiter *w;

	for (l = c->waiters.next; l != &c->waiters; l = n) {
		n = l->next;
		w = container(l, struct rdv_waiter, all);
		if (w->job != j)
			continue;
		if (code)
			rdv_reply_err(c, &w->to, w->req_id, code, "%s", why);
		rdv_wait_free(w);
	}
}

void
rdv_job_abort(struct rdv_core *c, struct rdv_job *j, const char *why)
{
	size_t i;

	if (j->aborted)
		return;
	j->aborted = 1;
	j->why = strdup(why ? why : "aborted");
	rdv_log(c, 1, "job %s aborted: %s", j->name, why);
	job_fail_waiters(c, j, "EABORTED", j->why ? j->why : "aborted");
	for (i = 0; i < j->nall; i++) {
		struct rdv_member *m = j->all[i];
		if (m != NULL && !m->left)
			rdv_event_abort(c, m, j);
	}
}

static void
member_free(struct rdv_member *m)
{
	if (m == NULL)
		return;
	if (m->join_wait)
		rdv_wait_free(m->join_wait);
	free(m->host);
	free(m);
}

static void
job_clear(struct rdv_core *c, struct rdv_job *j)
{
	struct rdv_barrier *b;
	struct rdv_kv *e;
	size_t i;
	int k;

	job_fail_waiters(c, j, NULL, NULL);
	for (i = 0; i < j->nall; i++)
		member_free(j->all[i]);
	c->nmembers -= j->nmembers;
	j->nmembers = 0;
	free(j->all);
	j->all = NULL;
	j->nall = j->capall = 0;
	for (k = 0; k < RDV_KINDS; k++) {
		free(j->groups[k].m);
		free(j->groups[k].by_rank);
		j->groups[k].m = j->groups[k].by_rank = NULL;
		j->groups[k].cap_m = j->groups[k].cap_rank = 0;
		j->groups[k].size = j->groups[k].joined = 0;
		j->groups[k].complete = 0;
	}
	for (i = 0; i < j->kv_buckets; i++)
		while ((e = j->kv[i]) != NULL) {
			j->kv[i] = e->next;
			free(e->key);
			free(e->val);
			free(e);
		}
	j->kv_n = 0;
	j->kv_bytes = 0;
	while ((b = j->barriers) != NULL) {
		j->barriers = b->next;
		free(b->name);
		free(b);
	}
	free(j->why);
	j->why = NULL;
	j->aborted = 0;
}

/* A new generation: members, KV, barriers and the abort are forgotten. */
void
rdv_job_reset(struct rdv_core *c, struct rdv_job *j)
{
	uint64_t gen = j->groups[0].generation;
	int k;

	if (j->groups[1].generation > gen)
		gen = j->groups[1].generation;
	job_clear(c, j);
	for (k = 0; k < RDV_KINDS; k++)
		j->groups[k].generation = gen + 1;
}

void
rdv_job_unlink(struct rdv_core *c, struct rdv_job *j)
{
	struct rdv_job **p;

	for (p = &c->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			c->njobs--;
			return;
		}
}

void
rdv_job_free(struct rdv_core *c, struct rdv_job *j)
{
	rdv_job_unlink(c, j);
	job_clear(c, j);
	free(j->kv);
	free(j->name);
	if (j->secret)
		memset(j->secret, 0, j->secret_len);
	free(j->secret);
	free(j);
}

/* Grows *v (cap *cap entries, zeroed past the old end) to hold n. */
static int
grow_ptrs(struct rdv_member ***v, int *cap, int n)
{
	struct rdv_member **p;
	int nc = *cap ? *cap : 16;

	if (n <= *cap)
		return 0;
	while (nc < n)
		nc *= 2;
	if ((p = realloc(*v, (size_t)nc * sizeof(*p))) == NULL)
		return -1;
	memset(p + *cap, 0, (size_t)(nc - *cap) * sizeof(*p));
	*v = p;
	*cap = nc;
	return 0;
}

struct rdv_member *
rdv_member_add(struct rdv_core *c, struct rdv_job *j, enum rdv_kind kind,
	       const char *host, int want, const struct rdv_id *id)
{
	struct rdv_group *g = &j->groups[kind];
	struct rdv_member *m, **p;

	if (j->nall == j->capall) {
		size_t cap = j->capall ? j->capall * 2 : 16;
		if ((p = realloc(j->all, cap * sizeof(*p))) == NULL)
			return NULL;
		j->all = p;
		j->capall = cap;
	}
	if (grow_ptrs(&g->m, &g->cap_m, g->joined + 1) != 0 ||
	    (want >= 0 && grow_ptrs(&g->by_rank, &g->cap_rank, want + 1)))
		return NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if ((m->host = strdup(host)) == NULL) {
		free(m);
		return NULL;
	}
	m->job = j;
	m->kind = kind;
	m->slot = j->nall;
	m->token = rdv_random();
	m->seq = j->seq++;
	m->id = *id;
	m->want = want;
	m->rank = -1;
	m->last_seen = c->now;
	j->all[j->nall++] = m;
	g->m[g->joined++] = m;
	if (want >= 0)
		g->by_rank[want] = m;
	j->nmembers++;
	c->nmembers++;
	return m;
}

/* The planned rank's member, or NULL (by_rank covers planned ranks only). */
struct rdv_member *
rdv_group_planned(const struct rdv_group *g, int rank)
{
	return rank < g->cap_rank ? g->by_rank[rank] : NULL;
}

/* Takes a member that never completed its join out of its group. */
void
rdv_member_remove(struct rdv_core *c, struct rdv_member *m)
{
	struct rdv_job *j = m->job;
	struct rdv_group *g = &j->groups[m->kind];
	int i;

	for (i = 0; i < g->joined; i++)
		if (g->m[i] == m) {
			memmove(g->m + i, g->m + i + 1,
			    (size_t)(g->joined - i - 1) * sizeof(*g->m));
			g->joined--;
			break;
		}
	if (m->want >= 0 && g->by_rank[m->want] == m)
		g->by_rank[m->want] = NULL;
	j->all[m->slot] = NULL;
	j->nmembers--;
	c->nmembers--;
	member_free(m);
}

/* mid is "SLOT.TOKEN" in hex, as rdv_reply_join (reply.c) writes it. */
struct rdv_member *
rdv_member_find(struct rdv_job *j, const char *mid)
{
	unsigned long long slot, token;
	char *end;

	slot = strtoull(mid, &end, 16);
	if (*end != '.')
		return NULL;
	token = strtoull(end + 1, &end, 16);
	if (*end != '\0' || slot >= j->nall || j->all[slot] == NULL)
		return NULL;
	return j->all[slot]->token == token ? j->all[slot] : NULL;
}

static int
by_host_seq(const void *a, const void *b)
{
	const struct rdv_member *x = *(struct rdv_member * const *)a;
	const struct rdv_member *y = *(struct rdv_member * const *)b;
	int r = strcmp(x->host, y->host);

	if (r)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
by_host_rank(const void *a, const void *b)
{
	const struct rdv_member *x = *(struct rdv_member * const *)a;
	const struct rdv_member *y = *(struct rdv_member * const *)b;
	int r = strcmp(x->host, y->host);

	return r ? r : (x->rank > y->rank) - (x->rank < y->rank);
}

/*
 * Ranks: planned ones stay; the others take the free ranks in host order,
 * so one host's ranks are contiguous.  Then local rank/size per host and
 * node rank (hosts ordered by their lowest rank).
 */
int
rdv_group_assign(struct rdv_group *g)
{
	struct rdv_member **v;
	int n = g->joined, i, next = 0, start, nodes = 0, k;

	if (grow_ptrs(&g->by_rank, &g->cap_rank, n) != 0)
		return -1;
	v = g->m;
	qsort(v, (size_t)n, sizeof(*v), by_host_seq);
	for (i = 0; i < n; i++) {
		if (v[i]->want >= 0) {
			v[i]->rank = v[i]->want;
			continue;
		}
		while (g->by_rank[next])
			next++;
		v[i]->rank = next;
		g->by_rank[next] = v[i];
	}
	qsort(v, (size_t)n, sizeof(*v), by_host_rank);
	for (start = 0; start < n; start = i, nodes++) {
		for (i = start; i < n && strcmp(v[i]->host,
		    v[start]->host) == 0; i++)
			v[i]->local_rank = i - start;
		for (k = start; k < i; k++)
			v[k]->local_size = i - start;
	}
	/* a host's local rank 0 holds its lowest rank: number hosts so */
	for (i = 0, k = 0; i < n; i++)
		if (g->by_rank[i]->local_rank == 0)
			g->by_rank[i]->node_rank = k++;
	for (i = 0; i < n; i++) {
		v[i]->node_rank = v[i - v[i]->local_rank]->node_rank;
		v[i]->num_nodes = nodes;
	}
	memcpy(g->m, g->by_rank, (size_t)n * sizeof(*g->m));
	g->complete = 1;
	return 0;
}

static size_t
kv_hash(const char *s)
{
	return (size_t)mst_fnv1a(MST_FNV_BASIS, s);
}

static void
kv_grow(struct rdv_job *j)
{
	size_t nb = j->kv_buckets * 4, i;
	struct rdv_kv **t, *e;

	if ((t = calloc(nb, sizeof(*t))) == NULL)
		return;
	for (i = 0; i < j->kv_buckets; i++)
		while ((e = j->kv[i]) != NULL) {
			j->kv[i] = e->next;
			e->next = t[kv_hash(e->key) % nb];
			t[kv_hash(e->key) % nb] = e;
		}
	free(j->kv);
	j->kv = t;
	j->kv_buckets = nb;
}

struct rdv_kv *
rdv_kv_lookup(struct rdv_core *c, struct rdv_job *j, const char *key,
	      int create)
{
	struct rdv_kv *e;
	size_t b = kv_hash(key) % j->kv_buckets, n = strlen(key);

	for (e = j->kv[b]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	if (!create)
		return NULL;
	if (j->kv_n >= (size_t)c->lim.max_keys ||
	    j->kv_bytes + n > c->lim.max_kv_bytes) {
		errno = ENOSPC;
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto nomem;
	if ((e->key = strdup(key)) == NULL) {
		free(e);
		goto nomem;
	}
	link_init(&e->waiters);
	e->next = j->kv[b];
	j->kv[b] = e;
	j->kv_bytes += n;
	if (++j->kv_n > j->kv_buckets * 2)
		kv_grow(j);
	return e;
nomem:
	errno = ENOMEM;
	return NULL;
}

int
rdv_kv_store(struct rdv_core *c, struct rdv_job *j, struct rdv_kv *e,
	     const char *val)
{
	size_t old = e->val ? strlen(e->val) : 0, n = strlen(val);
	char *v;

	if (j->kv_bytes - old + n > c->lim.max_kv_bytes) {
		errno = ENOSPC;
		return -1;
	}
	if ((v = strdup(val)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	free(e->val);
	e->val = v;
	j->kv_bytes = j->kv_bytes - old + n;
	return 0;
}

struct rdv_barrier *
rdv_barrier_lookup(struct rdv_core *c, struct rdv_job *j, enum rdv_kind kind,
		   const char *name, int create)
{
	struct rdv_barrier *b;
	size_t n = strlen(name);

	for (b = j->barriers; b; b = b->next)
		if (b->kind == kind && strcmp(b->name, name) == 0)
			return b;
	if (!create)
		return NULL;
	if (j->kv_bytes + n > c->lim.max_kv_bytes) {
		errno = ENOSPC;
		return NULL;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->name = strdup(name)) == NULL) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	b->kind = kind;
	link_init(&b->waiters);
	b->next = j->barriers;
	j->barriers = b;
	j->kv_bytes += n;
	return b;
}

struct rdv_waiter *
rdv_wait_add(struct rdv_core *c, enum rdv_wait type, struct rdv_job *j,
	     struct rdv_link *on, const struct rdv_id *to, double req_id,
	     int wait_ms)
{
	struct rdv_waiter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->type = type;
	w->job = j;
	w->to = *to;
	w->req_id = req_id;
	w->deadline = c->now + (uint64_t)wait_ms;
	if (type == RDV_W_GET)
		j->nwaiters++;
	if (w->deadline < c->next_deadline)
		c->next_deadline = w->deadline;
	link_add(&c->waiters, &w->all);
	if (on)
		link_add(on, &w->on);
	else
		link_init(&w->on);
	return w;
}

void
rdv_wait_free(struct rdv_waiter *w)
{
	link_del(&w->all);
	link_del(&w->on);
	if (w->type == RDV_W_GET)
		w->job->nwaiters--;
	if (w->m && w->m->join_wait == w)
		w->m->join_wait = NULL;
	if (w->m && w->type == RDV_W_BARRIER)
		w->m->in_barrier = NULL;
	free(w);
}

static void
waiter_expire(struct rdv_core *c, struct rdv_waiter *w)
{
	struct rdv_member *m = w->m;

	switch (w->type) {
	case RDV_W_JOIN:
		rdv_reply_err(c, &w->to, w->req_id, "ETIMEDOUT",
		    "join: %d of %d %ss joined before the deadline",
		    w->job->groups[m->kind].joined,
		    w->job->groups[m->kind].size,
		    rdv_kind_name(m->kind));
		rdv_wait_free(w);
		rdv_member_remove(c, m);
		return;
	case RDV_W_GET:
		rdv_reply_err(c, &w->to, w->req_id, "ETIMEDOUT",
		    "get: key not set before the deadline");
		break;
	case RDV_W_BARRIER:
		if (m->in_barrier)
			m->in_barrier->count--;
		rdv_reply_err(c, &w->to, w->req_id, "ETIMEDOUT",
		    "barrier: not every member arrived before the deadline");
		break;
	}
	rdv_wait_free(w);
}

static void
check_heartbeats(struct rdv_core *c)
{
	struct rdv_job *j;
	struct rdv_member *m;
	char why[512];
	size_t i;

	for (j = c->jobs; j; j = j->next) {
		if (j->aborted)
			continue;
		for (i = 0; i < j->nall; i++) {
			m = j->all[i];
			if (m == NULL || m->left || m->join_wait ||
			    c->now - m->last_seen <= (uint64_t)c->heartbeat_ms)
				continue;
			snprintf(why, sizeof(why), "%s rank %d on %.200s "
			    "missed heartbeats for %llu ms",
			    rdv_kind_name(m->kind), m->rank, m->host,
			    (unsigned long long)(c->now - m->last_seen));
			rdv_job_abort(c, j, why);
			break;
		}
	}
}

/* A member who may still speak: waiting, or heard within a heartbeat. */
static int
member_live(const struct rdv_core *c, const struct rdv_member *m)
{
	return m != NULL && !m->left && (m->join_wait || m->in_barrier ||
	    c->now - m->last_seen <= (uint64_t)c->heartbeat_ms);
}

/*
 * A job nobody asked anything for job_expire_ms, with no live member and
 * no waiting request, is dropped: its creator was killed, or its members
 * are all gone, and its id is free for the next job.
 */
static void
expire_jobs(struct rdv_core *c)
{
	struct rdv_job *j, *next;
	size_t i;

	for (j = c->jobs; j; j = next) {
		next = j->next;
		if (c->lim.job_expire_ms <= 0 || j->nwaiters > 0 ||
		    c->now - j->last_active <= (uint64_t)c->lim.job_expire_ms)
			continue;
		for (i = 0; i < j->nall && !member_live(c, j->all[i]); i++)
			;
		if (i < j->nall)
			continue;
		rdv_log(c, 1, "job %s expired: no member and no request for "
		    "%d ms", j->name, c->lim.job_expire_ms);
		c->expired++;
		rdv_job_free(c, j);
	}
}

int
rdv_core_tick(struct rdv_core *c)
{
	struct rdv_link *l, *n;
	struct rdv_waiter *w;
	uint64_t next;
	int hb_step = c->heartbeat_ms / 10;

	if (!c->fake_clock)
		c->now = mst_now_ms();
	/* scan the waiters only when the earliest deadline is due */
	if (c->now >= c->next_deadline) {
		c->next_deadline = UINT64_MAX;
		for (l = c->waiters.next; l != &c->waiters; l = n) {
			n = l->next;
			w = container(l, struct rdv_waiter, all);
			if (w->deadline <= c->now)
				waiter_expire(c, w);
			else if (w->deadline < c->next_deadline)
				c->next_deadline = w->deadline;
		}
	}
	if (c->now >= c->next_hb_check) {
		check_heartbeats(c);
		expire_jobs(c);
		c->next_hb_check = c->now + (uint64_t)(hb_step < 100 ?
		    (hb_step < 5 ? 5 : hb_step) : 100);
	}
	next = c->next_hb_check < c->next_deadline ? c->next_hb_check :
	    c->next_deadline;
	return next > c->now ? (int)(next - c->now) : 0;
}
