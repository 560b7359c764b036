/* flight.c: see flight.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "flight.h"
#include "num.h"
#include "util.h"

#define READ_TRIES 1000	/* a torn entry: copies before it is left out */

static const char *const op_names[] = { "op?", "allreduce", "broadcast",
	"allgather", "barrier", "group", "allreduce_cuda" };
static const char *const dtype_names[] = { "int8", "uint8", "int32",
	"uint32", "int64", "uint64", "float16", "bfloat16", "float32",
	"float64" };
static const char *const redop_names[] = { "sum", "prod", "min", "max",
	"avg" };

const char *
lch_flight_op_name(int op)
{
	return op > 0 && op < (int)(sizeof(op_names) / sizeof(*op_names)) ?
	    op_names[op] : op_names[0];
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
lch_flight_create(const char *path, int rank, char *err, size_t len)
{
	struct mst_flight_hdr h;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		snprintf(err, len, "cannot create the flight record '%s': %s",
		    path, strerror(errno));
		return -1;
	}
	memset(&h, 0, sizeof(h));
	h.magic = MST_FLIGHT_MAGIC;
	h.version = MST_FLIGHT_VERSION;
	h.hdr_size = MST_FLIGHT_HDR_SIZE;
	h.entry_size = sizeof(struct mst_flight_entry);
	h.nring = MST_FLIGHT_RING;
	h.rank = rank;
	if (ftruncate(fd, (off_t)MST_FLIGHT_SIZE(MST_FLIGHT_RING)) != 0 ||
	    pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		snprintf(err, len, "cannot write the flight record '%s': %s",
		    path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

void
lch_flight_files_remove(const char *dir)
{
	lch_remove_numbered(dir, "flight.", S_IFREG);
}

/* One entry under its seqlock: 0, or -1 when it stayed torn. */
static int
read_entry(const struct mst_flight_entry *e, struct lch_flight_ent *o)
{
	uint32_t g1, g2;
	int k;

	for (k = 0; k < READ_TRIES; k++) {
		g1 = atomic_load_explicit(&((struct mst_flight_entry *)e)->gen,
		    memory_order_acquire);
		if (g1 & 1)
			continue;
		o->op = MST_FLIGHT_GET(e->op);
		o->dtype = MST_FLIGHT_GET(e->dtype);
		o->redop = MST_FLIGHT_GET(e->redop);
		o->state = MST_FLIGHT_GET(e->state);
		o->idx = MST_FLIGHT_GET(e->idx);
		o->seq = MST_FLIGHT_GET(e->seq);
		o->count = MST_FLIGHT_GET(e->count);
		o->comm = MST_FLIGHT_GET(e->comm);
		o->comm_size = MST_FLIGHT_GET(e->comm_size);
		o->extra = MST_FLIGHT_GET(e->extra);
		o->result = MST_FLIGHT_GET(e->result);
		o->t_start_ns = MST_FLIGHT_GET(e->t_start_ns);
		o->t_end_ns = MST_FLIGHT_GET(e->t_end_ns);
		atomic_thread_fence(memory_order_acquire);
		g2 = atomic_load_explicit(&((struct mst_flight_entry *)e)->gen,
		    memory_order_relaxed);
		if (g1 != g2)
			continue;
		if (o->state == MST_FLIGHT_STARTED)	/* the slot's last */
			o->t_end_ns = 0;
		return 0;
	}
	return -1;
}

static int
by_idx(const void *a, const void *b)
{
	const struct lch_flight_ent *x = a, *y = b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The newest entries of the mapped ring h, oldest first. */
static void
read_ring(const struct mst_flight_hdr *h, struct lch_flight_snap *s)
{
	const struct mst_flight_entry *ring =
	    (const struct mst_flight_entry *)(h + 1);
	uint64_t head = atomic_load_explicit(&((struct mst_flight_hdr *)h)->head,
	    memory_order_acquire), k, n;
	struct lch_flight_ent o;
	int i, j;

	n = head < h->nring ? head : h->nring;
	if (n > MST_FLIGHT_RING)
		n = MST_FLIGHT_RING;
	s->head = head;
	for (k = 0; k < n; k++) {
		if (read_entry(&ring[(head - 1 - k) % h->nring], &o) != 0) {
			s->torn++;
			continue;
		}
		if (o.state != MST_FLIGHT_EMPTY)
			s->e[s->n++] = o;
	}
	qsort(s->e, (size_t)s->n, sizeof(*s->e), by_idx);
	for (i = j = 0; i < s->n; i++)	/* a slot rewritten meanwhile */
		if (j == 0 || s->e[j - 1].idx != s->e[i].idx)
			s->e[j++] = s->e[i];
	s->n = j;
}

/*
 * What the writer leaves to us (flight_fmt.h): the last started and the
 * last progress are the newest entry's (the newest whole one).
 */
static void
derive_newest(struct lch_flight_snap *s)
{
	const struct lch_flight_ent *e;

	if (s->n == 0)
		return;
	e = &s->e[s->n - 1];
	s->last_started = e->seq;
	s->progress_ns = e->state == MST_FLIGHT_STARTED ? e->t_start_ns :
	    e->t_end_ns;
}

int
lch_flight_read_fd(int fd, struct lch_flight_snap *s, char *err, size_t len)
{
	struct mst_flight_hdr *h;
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->rank = -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, len, "not a plain file");
		return -1;
	}
	if ((uint64_t)st.st_size < MST_FLIGHT_SIZE(1) || (uint64_t)st.st_size >
	    MST_FLIGHT_SIZE(MST_FLIGHT_RING_MAX)) {
		snprintf(err, len, "%lld bytes: not a flight record",
		    (long long)st.st_size);
		return -1;
	}
	h = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		snprintf(err, len, "mmap: %s", strerror(errno));
		return -1;
	}
	if (!mst_flight_layout_ok(h, (uint64_t)st.st_size)) {
		snprintf(err, len, "not a flight record of version %d (bad "
		    "magic, version or layout)", MST_FLIGHT_VERSION);
		munmap(h, (size_t)st.st_size);
		return -1;
	}
	s->taken_ns = mono_ns();
	s->pid = __atomic_load_n(&h->pid, __ATOMIC_ACQUIRE);
	s->rank = __atomic_load_n(&h->rank, __ATOMIC_RELAXED);
	if ((s->have = s->pid != 0)) {
		s->wall_base_ns = __atomic_load_n(&h->wall_base_ns,
		    __ATOMIC_RELAXED);
		read_ring(h, s);
		derive_newest(s);
		s->last_completed = atomic_load(&h->last_completed);
	}
	munmap(h, (size_t)st.st_size);
	return 0;
}

int
lch_flight_read(const char *path, struct lch_flight_snap *s, char *err,
		size_t len)
{
	char why[256];
	int fd, rv;

	memset(s, 0, sizeof(*s));
	s->rank = -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0) {
		snprintf(err, len, "cannot open the flight record '%s': %s",
		    path, strerror(errno));
		return -1;
	}
	if ((rv = lch_flight_read_fd(fd, s, why, sizeof(why))) != 0)
		snprintf(err, len, "'%s': %s", path, why);
	close(fd);
	return rv;
}

/* --- the report --- */

/* What a rank knows of one communicator. */
struct rview {
	int rank;
	const struct lch_flight_ent *last;	/* its newest, or NULL */
	uint64_t lc;		/* its last completed seq, 0: none */
	long long now;		/* the clock to measure waits by */
	const struct lch_flight_snap *s;
};

/* "0-2,4-7" of the sorted ranks r[0..n). */
static void
add_ranges(struct lch_strbuf *out, const int *r, int n)
{
	int i = 0, j;

	while (i < n) {
		for (j = i; j + 1 < n && r[j + 1] == r[j] + 1; j++)
			;
		lch_strbuf_addf(out, "%s%d", i ? "," : "", r[i]);
		if (j > i)
			lch_strbuf_addf(out, "%s%d", j == i + 1 ? "," : "-",
			    r[j]);
		i = j + 1;
	}
}

static void
add_who(struct lch_strbuf *out, const int *r, int n)
{
	lch_strbuf_addf(out, "rank%s ", n == 1 ? "" : "s");
	add_ranges(out, r, n);
}

static const char *
dtype_name(int dt)
{
	return dt >= 0 && dt < (int)(sizeof(dtype_names) /
	    sizeof(*dtype_names)) ? dtype_names[dt] : "dtype?";
}

/* "allreduce #12 (float32 x 8)" of e. */
static void
add_coll(struct lch_strbuf *out, const struct lch_flight_ent *e)
{
	const char *dt = dtype_name(e->dtype);

	lch_strbuf_addf(out, "%s #%llu", lch_flight_op_name(e->op),
	    (unsigned long long)e->seq);
	switch (e->op) {
	case MST_FLIGHT_BARRIER:
		return;
	case MST_FLIGHT_BROADCAST:
		lch_strbuf_addf(out, " (%s x %llu, root %u)", dt,
		    (unsigned long long)e->count, e->extra);
		return;
	case MST_FLIGHT_ALLGATHER:
		lch_strbuf_addf(out, " (%s x %llu per rank)", dt,
		    (unsigned long long)e->count);
		return;
	case MST_FLIGHT_GROUP:
		lch_strbuf_addf(out, " (%u fused, %s x %llu", e->extra, dt,
		    (unsigned long long)e->count);
		break;
	default:
		lch_strbuf_addf(out, " (%s x %llu", dt,
		    (unsigned long long)e->count);
	}
	if (e->redop != 0)
		lch_strbuf_addf(out, ", %s", e->redop < 5 ?
		    redop_names[e->redop] : "op?");
	lch_strbuf_addch(out, ')');
}

/* The same call (the seq aside). */
static int
same_call(const struct lch_flight_ent *a, const struct lch_flight_ent *b)
{
	return a->op == b->op && a->dtype == b->dtype && a->redop == b->redop &&
	    a->count == b->count && a->extra == b->extra;
}

/* "31 s", "2.5 s" */
static void
add_secs(struct lch_strbuf *out, long long ns)
{
	double s = ns > 0 ? (double)ns / 1e9 : 0;

	lch_strbuf_addf(out, s >= 10 ? "%.0f s" : "%.1f s", s);
}

/* The entries of comm c of one rank: its newest and last completed. */
static void
view_of(const struct lch_flight_snap *s, uint32_t c, long long now,
	struct rview *v)
{
	int i;

	memset(v, 0, sizeof(*v));
	v->rank = s->rank;
	v->s = s;
	v->now = now > 0 ? now : s->taken_ns;
	for (i = 0; i < s->n; i++) {
		const struct lch_flight_ent *e = &s->e[i];

		if (e->comm != c)
			continue;
		if (v->last == NULL || e->seq > v->last->seq ||
		    (e->seq == v->last->seq && e->idx > v->last->idx))
			v->last = e;
		if (e->state == MST_FLIGHT_COMPLETED && e->seq > v->lc)
			v->lc = e->seq;
	}
	/* the ring forgot older ones: the header still knows */
	if (v->lc == 0 && v->last && v->last->seq > 1 &&
	    s->last_completed < v->last->seq)
		v->lc = s->last_completed;
}

/*
 * Groups ranks by a key and a kind: adds "; rank 3 TEXT #KEY" clauses,
 * one per distinct key, in rank order of their first rank.
 */
struct clause {
	int kind;
	uint64_t key;
	int *ranks, n;
};

static const char *const clause_text[][2] = {
	{ "has not entered it, last completed #%llu",
	  "have not entered it, last completed #%llu" },
	{ "has not entered it, waiting in #%llu",
	  "have not entered it, waiting in #%llu" },
	{ "skipped it: waiting in #%llu", "skipped it: waiting in #%llu" },
	{ "skipped it: last completed #%llu",
	  "skipped it: last completed #%llu" },
	{ "completed it", "completed it" },
	{ "failed in it (code %llu)", "failed in it (code %llu)" },
	{ "has not entered it, none completed",
	  "have not entered it, none completed" },
	{ "completed it, waiting in #%llu", "completed it, waiting in #%llu" },
	{ "completed it, last completed #%llu",
	  "completed it, last completed #%llu" },
};
enum { CL_BEHIND, CL_BEHIND_IN, CL_AHEAD_IN, CL_PAST, CL_DONE, CL_FAILED,
	CL_NONE, CL_DONE_IN, CL_DONE_PAST };

static void
clause_add(struct clause *cl, int *ncl, int nmax, int kind, uint64_t key,
	   int rank)
{
	int i;

	for (i = 0; i < *ncl; i++)
		if (cl[i].kind == kind && cl[i].key == key)
			break;
	if (i == *ncl) {
		cl[i].kind = kind;
		cl[i].key = key;
		cl[i].ranks = lch_xcalloc((size_t)nmax, sizeof(int));
		cl[i].n = 0;
		(*ncl)++;
	}
	cl[i].ranks[cl[i].n++] = rank;
}

/* Rank v's entry seq of communicator c, or NULL. */
static const struct lch_flight_ent *
entry_at(const struct lch_flight_snap *s, uint32_t c, uint64_t seq)
{
	int i;

	for (i = s->n - 1; i >= 0; i--)
		if (s->e[i].comm == c && s->e[i].seq == seq)
			return &s->e[i];
	return NULL;
}

/*
 * What rank v is doing about collective seq, which the others (first)
 * wait in: its clause.  A rank past it completed it, as they called
 * it (they are finishing, or it stopped in the next one after giving
 * its part); or skipped it: no such call of it, or another, done alone.
 */
static void
classify(const struct rview *v, uint64_t seq, const struct lch_flight_ent
	 *first, struct clause *cl, int *ncl, int nmax)
{
	const struct lch_flight_ent *l = v->last;
	const struct lch_flight_ent *at = entry_at(v->s, first->comm, seq);
	int done = at && at->state == MST_FLIGHT_COMPLETED &&
	    same_call(at, first);

	if (l == NULL)
		clause_add(cl, ncl, nmax, CL_NONE, 0, v->rank);
	else if (l->seq < seq && l->state == MST_FLIGHT_STARTED)
		clause_add(cl, ncl, nmax, CL_BEHIND_IN, l->seq, v->rank);
	else if (l->seq < seq)
		clause_add(cl, ncl, nmax, v->lc ? CL_BEHIND : CL_NONE, v->lc,
		    v->rank);
	else if (l->seq > seq && l->state == MST_FLIGHT_STARTED)
		clause_add(cl, ncl, nmax, done ? CL_DONE_IN : CL_AHEAD_IN,
		    l->seq, v->rank);
	else if (l->seq > seq)
		clause_add(cl, ncl, nmax, done ? CL_DONE_PAST : CL_PAST, v->lc,
		    v->rank);
	else if (l->state == MST_FLIGHT_FAILED)
		clause_add(cl, ncl, nmax, CL_FAILED, (uint64_t)(uint32_t)
		    l->result, v->rank);
	else if (l->state == MST_FLIGHT_COMPLETED)
		clause_add(cl, ncl, nmax, CL_DONE, 0, v->rank);
}

static int
cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* One line: collective seq, which ranks wait in it, what the others do. */
static void
report_one(const struct rview *v, int nv, uint64_t seq, const char *pre,
	   struct lch_strbuf *out)
{
	struct clause *cl = lch_xcalloc((size_t)nv * 7 + 1, sizeof(*cl));
	const struct lch_flight_ent *first = NULL;
	int *wait = lch_xcalloc((size_t)nv, sizeof(int)), nw = 0, ncl = 0, i;
	long long longest = 0;

	for (i = 0; i < nv; i++) {
		const struct lch_flight_ent *l = v[i].last;

		if (l && l->seq == seq && l->state == MST_FLIGHT_STARTED) {
			if (first == NULL)
				first = l;
			wait[nw++] = v[i].rank;
			if (v[i].now - l->t_start_ns > longest)
				longest = v[i].now - l->t_start_ns;
		}
	}
	lch_strbuf_addf(out, "%s", pre);
	add_coll(out, first);
	lch_strbuf_add(out, ": ", 2);
	add_who(out, wait, nw);
	lch_strbuf_add(out, " waiting ", 9);
	add_secs(out, longest);
	for (i = 0; i < nv; i++) {
		const struct lch_flight_ent *l = v[i].last;

		if (l && l->seq == seq && l->state == MST_FLIGHT_STARTED) {
			if (!same_call(l, first)) {
				lch_strbuf_addf(out, "; rank %d entered it as ",
				    v[i].rank);
				add_coll(out, l);
			}
			continue;
		}
		classify(&v[i], seq, first, cl, &ncl, nv);
	}
	for (i = 0; i < ncl; i++) {
		lch_strbuf_add(out, "; ", 2);
		add_who(out, cl[i].ranks, cl[i].n);
		lch_strbuf_addch(out, ' ');
		lch_strbuf_addf(out, clause_text[cl[i].kind][cl[i].n > 1],
		    (unsigned long long)cl[i].key);
		free(cl[i].ranks);
	}
	lch_strbuf_addch(out, '\n');
	free(cl);
	free(wait);
}

/* Nothing in flight on the communicator: where each rank is. */
static void
report_idle(const struct rview *v, int nv, const char *pre,
	    struct lch_strbuf *out)
{
	struct clause *cl = lch_xcalloc((size_t)nv + 1, sizeof(*cl));
	int ncl = 0, i;

	for (i = 0; i < nv; i++)
		clause_add(cl, &ncl, nv, 0, v[i].lc, v[i].rank);
	lch_strbuf_addf(out, "%sno collective in flight: ", pre);
	for (i = 0; i < ncl; i++) {
		lch_strbuf_addf(out, "%s", i ? ", " : "");
		add_who(out, cl[i].ranks, cl[i].n);
		if (cl[i].key)
			lch_strbuf_addf(out, " last completed #%llu",
			    (unsigned long long)cl[i].key);
		else
			lch_strbuf_addf(out, " none completed");
		free(cl[i].ranks);
	}
	lch_strbuf_addch(out, '\n');
	free(cl);
}

/*
 * The call most ranks (but skip) made as collective seq, when at least
 * two agree; NULL otherwise.
 */
static const struct lch_flight_ent *
majority_at(const struct rview *v, int nv, int skip, uint32_t c,
	    uint64_t seq)
{
	const struct lch_flight_ent *best = NULL, *e, *f;
	int i, j, n, bn = 0;

	for (i = 0; i < nv; i++) {
		if (i == skip || (e = entry_at(v[i].s, c, seq)) == NULL)
			continue;
		for (n = 0, j = 0; j < nv; j++)
			if (j != skip && (f = entry_at(v[j].s, c, seq)) &&
			    same_call(e, f))
				n++;
		if (n > bn) {
			bn = n;
			best = e;
		}
	}
	return bn >= 2 && bn * 2 > nv - 1 ? best : NULL;
}

/*
 * A rank whose calls differ from the others' from some seq on (ranks
 * paired their collectives off by one, unchecked): said, with the seq.
 */
static void
report_shifted(const struct rview *v, int nv, uint32_t c, const char *pre,
	       struct lch_strbuf *out)
{
	const struct lch_flight_snap *s;
	const struct lch_flight_ent *m, *next;
	int i, k, agreed, before;

	for (i = 0; i < nv; i++) {
		s = v[i].s;
		for (k = agreed = 0; k < s->n; k++) {
			if (s->e[k].comm != c ||
			    (m = majority_at(v, nv, i, c, s->e[k].seq)) ==
			    NULL)
				continue;
			if (same_call(&s->e[k], m)) {
				agreed = 1;
				continue;
			}
			/* off from the first call kept, which is not #1: it
			   began in calls the ring no longer holds */
			before = !agreed && s->e[k].seq > 1;
			next = majority_at(v, nv, i, c, s->e[k].seq + 1);
			lch_strbuf_addf(out, "%srank %d %s #%llu%s: its ", pre,
			    v[i].rank, next && same_call(&s->e[k], next) ?
			    before ? "skipped one at or before" : "skipped" :
			    before ? "called another collective at or before" :
			    "called another collective as",
			    (unsigned long long)s->e[k].seq, before ?
			    " (older calls are not kept)" : "");
			add_coll(out, &s->e[k]);
			lch_strbuf_addf(out, next && same_call(&s->e[k], next) ?
			    " is the others' next, " : ", the others' ");
			add_coll(out, next && same_call(&s->e[k], next) ?
			    next : m);
			lch_strbuf_addch(out, '\n');
			break;
		}
	}
}

/* The report of communicator c over the ranks with a record. */
static void
report_comm(const struct lch_flight_snap *snaps, const int *idx, int nv,
	    uint32_t c, int several, long long now, struct lch_strbuf *out)
{
	struct rview *v = lch_xcalloc((size_t)nv, sizeof(*v));
	uint64_t *seqs = lch_xcalloc((size_t)nv, sizeof(*seqs));
	char pre[32] = "";
	int i, j, ns = 0;

	if (several)
		snprintf(pre, sizeof(pre), "comm %u: ", c);
	for (i = 0; i < nv; i++)
		view_of(&snaps[idx[i]], c, now, &v[i]);
	for (i = 0; i < nv; i++)
		if (v[i].last && v[i].last->state == MST_FLIGHT_STARTED) {
			for (j = 0; j < ns && seqs[j] != v[i].last->seq; j++)
				;
			if (j == ns)
				seqs[ns++] = v[i].last->seq;
		}
	for (i = 1; i < ns; i++)	/* ascending: few */
		for (j = i; j > 0 && seqs[j - 1] > seqs[j]; j--) {
			uint64_t t = seqs[j];
			seqs[j] = seqs[j - 1];
			seqs[j - 1] = t;
		}
	for (i = 0; i < ns; i++)
		report_one(v, nv, seqs[i], pre, out);
	if (ns == 0)
		report_idle(v, nv, pre, out);
	report_shifted(v, nv, c, pre, out);
	free(seqs);
	free(v);
}

static int
by_rank(const void *a, const void *b, void *arg)
{
	const struct lch_flight_snap *s = arg;

	return s[*(const int *)a].rank - s[*(const int *)b].rank;
}

void
lch_flight_report(const struct lch_flight_snap *snaps, int nranks,
		  long long now_ns, struct lch_strbuf *out)
{
	int *idx = lch_xcalloc((size_t)nranks + 1, sizeof(int));
	int *none = lch_xcalloc((size_t)nranks + 1, sizeof(int));
	uint32_t *comms = NULL;
	int i, k, nv = 0, nn = 0, nc = 0;

	for (i = 0; i < nranks; i++) {
		if (snaps[i].have)
			idx[nv++] = i;
		else
			none[nn++] = snaps[i].rank >= 0 ? snaps[i].rank : i;
	}
	qsort_r(idx, (size_t)nv, sizeof(int), by_rank, (void *)snaps);
	qsort(none, (size_t)nn, sizeof(int), cmp_int);
	for (i = 0; i < nv; i++)
		for (k = 0; k < snaps[idx[i]].n; k++) {
			uint32_t c = snaps[idx[i]].e[k].comm;
			int j;

			for (j = 0; j < nc && comms[j] != c; j++)
				;
			if (j < nc)
				continue;
			comms = lch_xrealloc(comms, (size_t)(nc + 1) *
			    sizeof(*comms));
			comms[nc++] = c;
		}
	for (i = 1; i < nc; i++)
		for (k = i; k > 0 && comms[k - 1] > comms[k]; k--) {
			uint32_t t = comms[k];
			comms[k] = comms[k - 1];
			comms[k - 1] = t;
		}
	for (i = 0; i < nc; i++)
		report_comm(snaps, idx, nv, comms[i], nc > 1, now_ns, out);
	if (nc == 0 && nv > 0) {
		for (i = 0; i < nv; i++)
			idx[i] = snaps[idx[i]].rank;
		add_who(out, idx, nv);
		lch_strbuf_addf(out, ": no collective yet\n");
	}
	if (nn > 0) {
		add_who(out, none, nn);
		lch_strbuf_addf(out, ": no flight record (no libmuster, or not "
		    "started)\n");
	}
	free(comms);
	free(idx);
	free(none);
}

/* --- the q record --- */

static cJSON *
num(double v)
{
	return cJSON_CreateNumber(v);
}

char *
lch_flight_encode(const struct lch_flight_snap *s)
{
	cJSON *j = cJSON_CreateObject(), *es, *a;
	char *txt;
	int i;

	cJSON_AddNumberToObject(j, "v", 1);
	cJSON_AddNumberToObject(j, "rank", s->rank);
	if (!s->have) {
		cJSON_AddNumberToObject(j, "none", 1);
		goto out;
	}
	cJSON_AddNumberToObject(j, "pid", s->pid);
	cJSON_AddNumberToObject(j, "taken", (double)s->taken_ns);
	cJSON_AddNumberToObject(j, "wall", (double)s->wall_base_ns);
	cJSON_AddNumberToObject(j, "ls", (double)s->last_started);
	cJSON_AddNumberToObject(j, "lc", (double)s->last_completed);
	cJSON_AddNumberToObject(j, "prog", (double)(s->progress_ns -
	    s->taken_ns));
	cJSON_AddNumberToObject(j, "torn", s->torn);
	es = cJSON_AddArrayToObject(j, "e");
	for (i = 0; i < s->n; i++) {
		const struct lch_flight_ent *e = &s->e[i];

		a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, num((double)e->idx));
		cJSON_AddItemToArray(a, num((double)e->seq));
		cJSON_AddItemToArray(a, num(e->op));
		cJSON_AddItemToArray(a, num(e->dtype));
		cJSON_AddItemToArray(a, num(e->redop));
		cJSON_AddItemToArray(a, num((double)e->count));
		cJSON_AddItemToArray(a, num(e->comm));
		cJSON_AddItemToArray(a, num(e->comm_size));
		cJSON_AddItemToArray(a, num(e->extra));
		cJSON_AddItemToArray(a, num(e->state));
		cJSON_AddItemToArray(a, num(e->result));
		cJSON_AddItemToArray(a, num((double)(e->t_start_ns -
		    s->taken_ns)));
		cJSON_AddItemToArray(a, e->t_end_ns ? num((double)(e->t_end_ns -
		    s->taken_ns)) : cJSON_CreateNull());
		cJSON_AddItemToArray(es, a);
	}
out:
	if ((txt = cJSON_PrintUnformatted(j)) == NULL)
		lch_oom();
	cJSON_Delete(j);
	return txt;
}

/* A whole number of the object: 0, or -1 when absent or not one. */
static int
get_num(const cJSON *j, const char *name, double *v)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, name);

	if (!cJSON_IsNumber(it))
		return -1;
	*v = it->valuedouble;
	return 0;
}

/* One entry's array: 0, or -1 when it is not 13 numbers (last: null). */
static int
decode_ent(const cJSON *a, int64_t taken, struct lch_flight_ent *e)
{
	double x[13];
	const cJSON *it;
	int k = 0;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 13)
		return -1;
	cJSON_ArrayForEach(it, a) {
		if (k == 12 && cJSON_IsNull(it))
			x[k] = 0;
		else if (!cJSON_IsNumber(it) || (k < 11 && it->valuedouble < 0))
			return -1;
		else
			x[k] = it->valuedouble;
		k++;
	}
	*e = (struct lch_flight_ent){ (uint64_t)x[0], (uint64_t)x[1],
	    (uint64_t)x[5], (int)x[2], (int)x[3], (int)x[4], (int)x[9],
	    (int)x[10], (uint32_t)x[6], (uint32_t)x[7], (uint32_t)x[8],
	    taken + (int64_t)x[11], x[12] != 0 ? taken + (int64_t)x[12] : 0 };
	return 0;
}

/* The fields of a record with entries. */
static int
decode_have(const cJSON *j, struct lch_flight_snap *s)
{
	const cJSON *es = cJSON_GetObjectItemCaseSensitive(j, "e"), *a;
	double pid, taken, wall, ls, lc, prog, torn;

	if (get_num(j, "pid", &pid) || get_num(j, "taken", &taken) ||
	    get_num(j, "wall", &wall) || get_num(j, "ls", &ls) ||
	    get_num(j, "lc", &lc) || get_num(j, "prog", &prog) ||
	    get_num(j, "torn", &torn) || !cJSON_IsArray(es) ||
	    cJSON_GetArraySize(es) > MST_FLIGHT_RING)
		return -1;
	s->have = 1;
	s->pid = (int)pid;
	s->taken_ns = (int64_t)taken;
	s->wall_base_ns = (uint64_t)wall;
	s->last_started = (uint64_t)ls;
	s->last_completed = (uint64_t)lc;
	s->progress_ns = s->taken_ns + (int64_t)prog;
	s->torn = (int)torn;
	cJSON_ArrayForEach(a, es)
		if (decode_ent(a, s->taken_ns, &s->e[s->n++]) != 0)
			return -1;
	return 0;
}

int
lch_flight_decode(const char *json, size_t n, struct lch_flight_snap *s)
{
	cJSON *j = cJSON_ParseWithLength(json, n);
	double v, rank, none;
	int rv = -1;

	memset(s, 0, sizeof(*s));
	s->rank = -1;
	if (j == NULL || !cJSON_IsObject(j))
		goto out;
	if (get_num(j, "v", &v) || v != 1 || get_num(j, "rank", &rank) ||
	    rank < 0 || rank > (1 << 24))
		goto out;
	s->rank = (int)rank;
	if (get_num(j, "none", &none) == 0 && none == 1)
		rv = 0;
	else
		rv = decode_have(j, s);
out:
	cJSON_Delete(j);
	if (rv != 0)
		memset(s, 0, sizeof(*s));
	return rv;
}

void
lch_flight_add_record(struct lch_strbuf *sb, const struct lch_flight_snap *s)
{
	char *json = lch_flight_encode(s);

	lch_strbuf_addf(sb, "%c[%d] %s", LCH_FLIGHT_REC, s->rank, json);
	free(json);
}

/* --- the head's collection --- */

void
lch_flight_set_init(struct lch_flight_set *fs, int np)
{
	fs->np = np;
	fs->ngot = 0;
	fs->s = lch_xcalloc((size_t)np + 1, sizeof(*fs->s));
	fs->got = lch_xcalloc((size_t)np + 1, 1);
}

void
lch_flight_set_round(struct lch_flight_set *fs)
{
	memset(fs->got, 0, (size_t)fs->np);
	fs->ngot = 0;
}

int
lch_flight_set_add(struct lch_flight_set *fs, int rank, const char *json,
		   size_t n)
{
	struct lch_flight_snap *s;

	if (rank < 0 || rank >= fs->np)
		return -1;
	s = lch_xmalloc(sizeof(*s));
	if (lch_flight_decode(json, n, s) != 0 || s->rank != rank) {
		free(s);
		return -1;
	}
	fs->s[rank] = *s;
	free(s);
	if (!fs->got[rank]) {
		fs->got[rank] = 1;
		fs->ngot++;
	}
	return fs->ngot == fs->np;
}

void
lch_flight_set_release(struct lch_flight_set *fs)
{
	free(fs->s);
	free(fs->got);
	memset(fs, 0, sizeof(*fs));
}

long
lch_flight_ask_ms(void)
{
	const char *v = getenv(LCH_FLIGHT_ASK_ENV);
	long ms;

	if (v == NULL || mst_parse_long(v, 100, 3600000, &ms) != 0)
		return 0;
	return ms;
}
