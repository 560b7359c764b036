/* runs.c: see runs.h.  The chart itself is runplot.c's. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "rdv_proto.h"
#include "runrec.h"
#include "runs.h"
#include "stacks.h"
#include "util.h"

#define RUNS_DIR_DEFAULT "./" LCH_RUNREC_DEFAULT
#define RUN_JSON_MAX (512L << 20)	/* a run of 2^20 ranks fits */
#define RANKS_FULL 16		/* up to this many ranks: one row each */
#define CELL_MAX 40		/* characters of a compare cell */

/* A run directory and what its run.json says. */
struct run {
	char *name;		/* the directory's name */
	char *dir;		/* its path */
	cJSON *j;		/* run.json, or NULL (not loaded, or broken) */
	double start;		/* -1 when unknown */
	int live;		/* a launcher holds its .lock */
	int interrupted;	/* Starting/Running, no launcher */
};

struct runs_args {
	const char *cmd;
	const char *runs_dir;
	int json, mean;
	const char *out;
	struct lch_strv words;	/* ids, then metric names */
};

static const char *const commands[] = { "runs", "show", "plot", "compare",
    "stacks" };

int
lch_runs_is_command(const char *word)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(word, commands[i]) == 0)
			return 1;
	return 0;
}

/* Pure pieces (runs.h) */

long
lch_runs_match(const char *const *names, size_t n, const char *id,
	       size_t *nmatch)
{
	size_t i, len = strlen(id), hits = 0;
	long at = -1;

	*nmatch = 0;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], id) == 0) {
			*nmatch = 1;
			return (long)i;
		}
	for (i = 0; len > 0 && i < n; i++)
		if (strncmp(names[i], id, len) == 0) {
			hits++;
			at = (long)i;
		}
	*nmatch = hits;
	return hits > 1 ? -2 : at;
}

int
lch_metric_lower_better(const char *name)
{
	static const char *const low[] = { "loss", "err", "perplexity", "ppl",
	    "mse", "mae", "time", "latency" };
	char *l = lch_xstrdup(name), *c;
	size_t i;
	int hit = 0;

	for (c = l; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (i = 0; i < sizeof(low) / sizeof(low[0]) && !hit; i++)
		hit = strstr(l, low[i]) != NULL;
	free(l);
	return hit;
}

void
lch_xml_escape(struct lch_strbuf *sb, const char *s)
{
	size_t n = strlen(s), i;
	unsigned char *c = (unsigned char *)lch_xstrdup(s);

	(void)mst_utf8_fix((char *)c, n);
	for (i = 0; i < n; i++) {
		const char *ent = c[i] == '&' ? "&amp;" : c[i] == '<' ? "&lt;" :
		    c[i] == '>' ? "&gt;" : c[i] == '"' ? "&quot;" :
		    c[i] == '\'' ? "&apos;" : NULL;

		if (ent) {
			lch_strbuf_add(sb, ent, strlen(ent));
		} else if (c[i] < 0x20 && c[i] != '\t' && c[i] != '\n') {
			lch_strbuf_addch(sb, '?');
		} else if (c[i] == 0xef && i + 2 < n && c[i + 1] == 0xbf &&
		    (c[i + 2] == 0xbe || c[i + 2] == 0xbf)) {
			/* U+FFFE, U+FFFF: UTF-8, but no XML character */
			lch_strbuf_add(sb, "???", 3);
			i += 2;
		} else {
			lch_strbuf_addch(sb, c[i]);
		}
	}
	free(c);
}

/* metrics.jsonl */

/* One line into m (its name borrowed from j); 0, or -1: no metric. */
static int
mline_parse(const cJSON *j, struct lch_mline *m)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
	const cJSON *rank = cJSON_GetObjectItemCaseSensitive(j, "rank");
	const cJSON *step = cJSON_GetObjectItemCaseSensitive(j, "step");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");

	if (!cJSON_IsString(name) || name->valuestring[0] == '\0')
		return -1;
	m->name = name->valuestring;
	m->rank = cJSON_IsNumber(rank) && rank->valuedouble >= 0 &&
	    rank->valuedouble < 1e15 ? (long)rank->valuedouble : -1;
	m->step = cJSON_IsNumber(step) && step->valuedouble >= 0 ?
	    step->valuedouble : -1;
	m->scalar = v != NULL;
	m->finite = cJSON_IsNumber(v) && isfinite(v->valuedouble);
	m->value = m->finite ? v->valuedouble : 0;
	if (v && !cJSON_IsNumber(v) && !cJSON_IsNull(v))
		return -1;
	if (!v && !cJSON_GetObjectItemCaseSensitive(j, "values") &&
	    !cJSON_GetObjectItemCaseSensitive(j, "row"))
		return -1;
	return 0;
}

int
lch_metrics_scan(const char *path, lch_mline_fn fn, void *arg, long *bad,
		 long *bad_line)
{
	FILE *f = fopen(path, "re");
	struct lch_mline m;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long no = 0;
	cJSON *j;

	*bad = 0;
	*bad_line = 0;
	if (f == NULL)
		return -1;
	while ((len = getline(&line, &cap, f)) > 0) {
		no++;
		if (len == 1 && line[0] == '\n')
			continue;
		j = cJSON_ParseWithLength(line, (size_t)len);
		if (j && cJSON_IsObject(j) && mline_parse(j, &m) == 0) {
			fn(&m, arg);
		} else if (line[len - 1] != '\n') {
			;	/* the end of a line still being written */
		} else if ((*bad)++ == 0) {
			*bad_line = no;
		}
		cJSON_Delete(j);
	}
	free(line);
	fclose(f);
	return 0;
}

/* Loading runs */

static void
run_free(struct run *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->dir);
	cJSON_Delete(r->j);
	free(r);
}

static double
jnum(const cJSON *o, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* A whole number of o's key within +-1e15 (a long), else dflt. */
static long
jlong(const cJSON *o, const char *key, long dflt)
{
	double v = jnum(o, key, (double)dflt);

	return fabs(v) < 1e15 ? (long)v : dflt;
}

static const char *
jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A file's whole text (at most max bytes), or NULL with errno. */
static char *
slurp(const char *path, long max, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	buf = lch_xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	    ((n = read(fd, buf + got, (size_t)st.st_size - got)) > 0 ||
	    (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* Reads dir/run.json into r->j; -1 after a line naming the file (quiet: none). */
static int
run_load(struct run *r, int quiet)
{
	char *path = lch_xasprintf("%s/run.json", r->dir), *buf;
	const char *end = NULL, *st;
	size_t len = 0;
	double v;

	if ((buf = slurp(path, RUN_JSON_MAX, &len)) == NULL) {
		if (!quiet)
			lch_msg("%s: %s", path, errno == EFBIG ? "not a "
			    "regular file under 512 MiB" : strerror(errno));
		goto bad;
	}
	r->j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	free(buf);
	if (!cJSON_IsObject(r->j)) {
		if (!quiet)
			lch_msg("%s: not a run record (expected a JSON object%s)",
			    path, r->j ? "" : ", invalid JSON");
		goto bad;
	}
	v = jnum(r->j, "version", -1);
	if (v != LCH_RUNREC_VERSION) {
		if (!quiet && v < 0)
			lch_msg("%s: no \"version\" (not a run record)", path);
		else if (!quiet)
			lch_msg("%s: run record version %g; this muster reads "
			    "version %d", path, v, LCH_RUNREC_VERSION);
		goto bad;
	}
	r->start = jnum(r->j, "start", -1);
	st = jstr(r->j, "status");
	if (st && (strcmp(st, "Starting") == 0 || strcmp(st, "Running") == 0)) {
		r->live = lch_runrec_live(r->dir) == 1;
		r->interrupted = !r->live;
	}
	free(path);
	return 0;
bad:
	cJSON_Delete(r->j);
	r->j = NULL;
	free(path);
	return -1;
}

static struct run *
run_new(const char *name, const char *dir)
{
	struct run *r = lch_xcalloc(1, sizeof(*r));

	r->name = lch_xstrdup(name);
	r->dir = lch_xstrdup(dir);
	r->start = -1;
	return r;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp((*(struct run *const *)a)->name,
	    (*(struct run *const *)b)->name);
}

/* The runs under d whose directory holds a run.json, not loaded, by name. */
static struct run **
list_runs(const char *d, size_t *n, int *missing)
{
	struct run **v = NULL;
	struct dirent *e;
	struct stat st;
	size_t cap = 0;
	char *p;
	DIR *dir;

	*n = 0;
	*missing = 0;
	if ((dir = opendir(d)) == NULL) {
		*missing = 1;
		return NULL;
	}
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		p = lch_xasprintf("%s/%s/run.json", d, e->d_name);
		if (stat(p, &st) == 0) {
			if (*n == cap) {
				cap = cap ? 2 * cap : 16;
				v = lch_xrealloc(v, cap * sizeof(*v));
			}
			p[strlen(p) - strlen("/run.json")] = '\0';
			v[(*n)++] = run_new(e->d_name, p);
		}
		free(p);
	}
	closedir(dir);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), by_name);
	return v;
}

static void
free_runs(struct run **v, size_t n)
{
	while (n > 0)
		run_free(v[--n]);
	free(v);
}

/* Newest first; runs without a start last, by name. */
static int
by_start(const void *a, const void *b)
{
	const struct run *x = *(struct run *const *)a;
	const struct run *y = *(struct run *const *)b;

	if (x->start != y->start)
		return x->start < y->start ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* "-N" (N >= 1) or "latest": which newest run; else 0. */
static long
nth_newest(const char *id)
{
	char *end;
	long k;

	if (strcmp(id, "latest") == 0)
		return 1;
	if (id[0] != '-' || !isdigit((unsigned char)id[1]))
		return 0;
	errno = 0;
	k = strtol(id + 1, &end, 10);
	return *end == '\0' && errno == 0 && k > 0 ? k : 0;
}

static void
no_run(const char *id, const char *rdir)
{
	lch_msg("no run '%s' in %s (muster runs lists them)", id, rdir);
}

/* The runs matching a prefix, named in one line. */
static void
ambiguous(struct run **v, size_t n, const char *id, const char *rdir,
	  size_t hits)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	size_t i, shown = 0;

	for (i = 0; i < n; i++) {
		if (strncmp(v[i]->name, id, strlen(id)) != 0)
			continue;
		if (shown++ == 5) {
			lch_strbuf_addf(&sb, " and %zu more", hits - 5);
			break;
		}
		lch_strbuf_addf(&sb, "%s%s", shown > 1 ? ", " : "",
		    v[i]->name);
	}
	lch_msg("run id '%s' is ambiguous in %s: %s (give more of it)", id,
	    rdir, sb.buf);
	lch_strbuf_release(&sb);
}

/* The k-th newest of v, loaded (broken ones skipped), or NULL. */
/* Loads v's runs, drops the broken (said unless quiet), newest first. */
static size_t
load_all(struct run **v, size_t n, int quiet)
{
	size_t i, good = 0;

	for (i = 0; i < n; i++)
		if (run_load(v[i], quiet) == 0)
			v[good++] = v[i];
		else
			run_free(v[i]);
	if (good > 1)
		qsort(v, good, sizeof(*v), by_start);
	return good;
}

static struct run *
pick_newest(struct run **v, size_t n, long k)
{
	size_t i, good = load_all(v, n, 1);

	for (i = (size_t)k; i < good; i++)
		run_free(v[i]);
	if ((size_t)k > good) {
		for (i = 0; i < good; i++)
			run_free(v[i]);
		return NULL;
	}
	for (i = 0; i + 1 < (size_t)k; i++)
		run_free(v[i]);
	return v[k - 1];
}

/* The run id names under rdir, loaded; NULL after one line. */
static struct run *
resolve(const char *id, const char *rdir)
{
	struct run **v, *r = NULL;
	const char **names;
	size_t n, i, hits;
	long at, k;
	int missing;

	if (strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0) {
		char *dir = lch_xstrdup(id), *slash;
		size_t len = strlen(dir);

		while (len > 1 && dir[len - 1] == '/')
			dir[--len] = '\0';
		slash = strrchr(dir, '/');
		r = run_new(slash && slash[1] ? slash + 1 : dir, dir);
		free(dir);
		if (run_load(r, 0) != 0) {
			run_free(r);
			return NULL;
		}
		return r;
	}
	v = list_runs(rdir, &n, &missing);
	if ((k = nth_newest(id)) > 0) {
		if ((r = pick_newest(v, n, k)) == NULL)
			no_run(id, rdir);
		free(v);
		return r;
	}
	names = lch_xcalloc(n + 1, sizeof(*names));
	for (i = 0; i < n; i++)
		names[i] = v[i]->name;
	at = lch_runs_match(names, n, id, &hits);
	free(names);
	if (at == -2)
		ambiguous(v, n, id, rdir, hits);
	else if (at < 0)
		no_run(id, rdir);
	else {
		r = v[at];
		v[at] = NULL;
		for (i = 0; i < n; i++)
			run_free(v[i]);
		free(v);
		if (run_load(r, 0) != 0) {
			run_free(r);
			return NULL;
		}
		return r;
	}
	free_runs(v, n);
	return NULL;
}

/* Formatting */

static const char *
status_of(const struct run *r)
{
	const char *s = jstr(r->j, "status");

	return r->interrupted ? "Interrupted" : s ? s : "?";
}

static void
fmt_time(char *buf, size_t len, double t)
{
	time_t tt = t >= 0 && t < 1e12 ? (time_t)t : 0;
	struct tm tm;

	if (tt == 0 || localtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void
fmt_duration(char *buf, size_t len, double s)
{
	long t = s >= 0 && s < 1e15 ? (long)s : -1;

	if (t < 0)
		snprintf(buf, len, "-");
	else if (s < 10)
		snprintf(buf, len, "%.1fs", s);
	else if (t < 60)
		snprintf(buf, len, "%lds", t);
	else if (t < 3600)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t % 3600 / 60);
	else
		snprintf(buf, len, "%ldd%02ldh", t / 86400, t % 86400 / 3600);
}

/* The run's duration: recorded, else so far while it runs. */
static double
duration_of(const struct run *r)
{
	double d = jnum(r->j, "duration", -1), end = jnum(r->j, "end", -1);

	if (d >= 0)
		return d;
	if (end >= 0 && r->start >= 0)
		return end - r->start;
	if (r->live && r->start >= 0)
		return (double)time(NULL) - r->start;
	return -1;
}

static void
fmt_bytes(char *buf, size_t len, double b)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f B", b);
	else
		snprintf(buf, len, "%.1f %s", b, unit[u]);
}

/* A word as a shell would need it: bare when safe, else single-quoted. */
static void
add_word(struct lch_strbuf *sb, const char *w)
{
	const char *c;

	if (*w && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-./=:,+@%") == strlen(w)) {
		lch_strbuf_addf(sb, "%s", w);
		return;
	}
	lch_strbuf_addch(sb, '\'');
	for (c = w; *c; c++)
		if (*c == '\'')
			lch_strbuf_add(sb, "'\\''", 4);
		else
			lch_strbuf_addch(sb, *c);
	lch_strbuf_addch(sb, '\'');
}

/* run.json's command as one line (malloc'ed). */
static char *
command_of(const struct run *r)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(r->j, "command"), *w;
	struct lch_strbuf sb = LCH_STRBUF_INIT;

	cJSON_ArrayForEach(w, c)
		if (cJSON_IsString(w)) {
			if (sb.len)
				lch_strbuf_addch(&sb, ' ');
			add_word(&sb, w->valuestring);
		}
	return sb.len ? sb.buf : lch_xstrdup("-");
}

static int
nhosts(const struct run *r)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r->j,
	    "hosts"));
}

/* "host", "host +N" or "-". */
static void
fmt_hosts(char *buf, size_t len, const struct run *r)
{
	const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
	    r->j, "hosts"), 0);
	const char *name = jstr(h, "host");
	int n = nhosts(r);

	if (n == 0 || name == NULL)
		snprintf(buf, len, "-");
	else if (n == 1)
		snprintf(buf, len, "%.30s", name);
	else
		snprintf(buf, len, "%.30s +%d", name, n - 1);
}

/* Metric statistics: run.json's summary, or metrics.jsonl's lines. */
struct mstat {
	char *name;
	long count;
	double last, min, max;
	int have;		/* a finite value seen */
};

struct mstats {
	struct mstat *v;
	size_t n, cap;
};

static struct mstat *
mstat_get(struct mstats *s, const char *name)
{
	size_t i;

	for (i = s->n; i > 0; i--)
		if (strcmp(s->v[i - 1].name, name) == 0)
			return &s->v[i - 1];
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->v = lch_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	s->v[s->n].name = lch_xstrdup(name);
	return &s->v[s->n++];
}

static void
mstats_clear(struct mstats *s)
{
	while (s->n > 0)
		free(s->v[--s->n].name);
	free(s->v);
	s->v = NULL;
	s->cap = 0;
}

static void
mstat_add(const struct lch_mline *m, void *arg)
{
	struct mstat *st;

	if (!m->scalar)
		return;
	st = mstat_get(arg, m->name);
	st->count++;
	if (!m->finite)
		return;
	st->last = m->value;
	if (!st->have || m->value < st->min)
		st->min = m->value;
	if (!st->have || m->value > st->max)
		st->max = m->value;
	st->have = 1;
}

/* From run.json "metrics"."summary"; 0 when there is none. */
static int
mstats_summary(const struct run *r, struct mstats *s)
{
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(r->j, "metrics"), "summary"), *e;
	struct mstat *st;

	if (!cJSON_IsObject(sum))
		return 0;
	cJSON_ArrayForEach(e, sum) {
		const cJSON *last = cJSON_GetObjectItemCaseSensitive(e, "last");

		st = mstat_get(s, e->string);
		st->count = jlong(e, "count", 0);
		st->have = cJSON_IsNumber(last);
		st->last = jnum(e, "last", 0);
		st->min = jnum(e, "min", st->last);
		st->max = jnum(e, "max", st->last);
	}
	return 1;
}

/*
 * The run's metrics: its summary once the run is over, else (running,
 * interrupted, no summary) read from metrics.jsonl, whole when full is
 * set, else (runs' listing) its last 64 KiB.
 */
static void
mstats_of(const struct run *r, struct mstats *s, int full)
{
	const char *st = status_of(r);
	char *path;
	long bad, bad_line;

	if (strcmp(st, "Running") != 0 && strcmp(st, "Starting") != 0 &&
	    strcmp(st, "Interrupted") != 0 && mstats_summary(r, s))
		return;
	path = lch_xasprintf("%s/metrics.jsonl", r->dir);
	if (full) {
		(void)lch_metrics_scan(path, mstat_add, s, &bad, &bad_line);
	} else {
		FILE *f = fopen(path, "re");
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;
		int skip = 0;

		/* the first line there is likely cut: skipped */
		if (f && fseek(f, -65536, SEEK_END) == 0)
			skip = 1;
		else if (f)
			rewind(f);
		while (f && (len = getline(&line, &cap, f)) > 0) {
			cJSON *j = skip ? NULL :
			    cJSON_ParseWithLength(line, (size_t)len);
			struct lch_mline m;

			if (j && mline_parse(j, &m) == 0)
				mstat_add(&m, s);
			cJSON_Delete(j);
			skip = 0;
		}
		free(line);
		if (f)
			fclose(f);
	}
	free(path);
}

static void
fmt_val(char *buf, size_t len, double v)
{
	snprintf(buf, len, "%.4g", v);
}

static double
best_of(const struct mstat *m)
{
	return lch_metric_lower_better(m->name) ? m->min : m->max;
}

/* "loss=0.43 acc=0.91" */
static char *
metrics_line(const struct run *r)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	struct mstats s = { NULL, 0, 0 };
	char v[32];
	size_t i;

	mstats_of(r, &s, 0);
	for (i = 0; i < s.n; i++) {
		if (!s.v[i].have)
			continue;
		fmt_val(v, sizeof(v), s.v[i].last);
		lch_strbuf_addf(&sb, "%s%s=%s", sb.len ? " " : "", s.v[i].name,
		    v);
	}
	mstats_clear(&s);
	return sb.buf[0] ? sb.buf : lch_xstrdup("");
}

/* Columns of stdout when it is a terminal, else 0 (no limit). */
static int
term_width(void)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");

	if (!isatty(1))
		return 0;
	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return c && atoi(c) > 0 ? atoi(c) : 80;
}

/* Prints line, cut at width characters (0: whole), UTF-8 kept whole. */
static void
put_cut(const char *line, int width)
{
	size_t n = strlen(line), cut = 0;
	int cols = 0;

	if (width <= 0) {
		puts(line);
		return;
	}
	while (cut < n && cols < width) {
		cut++;
		while (cut < n && ((unsigned char)line[cut] & 0xc0) == 0x80)
			cut++;
		cols++;
	}
	printf("%.*s\n", (int)cut, line);
}

/* muster runs */

enum { C_ID, C_START, C_DUR, C_RANKS, C_HOSTS, C_STATUS, C_METRICS, NCOL };
static const char *const col_names[NCOL] = { "ID", "START", "DURATION",
    "RANKS", "HOSTS", "STATUS", "METRICS" };

/* One run as the listing's cells (malloc'ed). */
static void
run_cells(const struct run *r, char **cell)
{
	char buf[128];
	double np = jnum(r->j, "np", -1);

	cell[C_ID] = lch_xstrdup(r->name);
	fmt_time(buf, sizeof(buf), r->start);
	cell[C_START] = lch_xstrdup(buf);
	fmt_duration(buf, sizeof(buf), duration_of(r));
	cell[C_DUR] = lch_xstrdup(buf);
	cell[C_RANKS] = np >= 0 ? lch_xasprintf("%.0f", np) : lch_xstrdup("-");
	fmt_hosts(buf, sizeof(buf), r);
	cell[C_HOSTS] = lch_xstrdup(buf);
	cell[C_STATUS] = lch_xstrdup(status_of(r));
	cell[C_METRICS] = metrics_line(r);
}

static void
print_table(char ***rows, size_t n)
{
	size_t w[NCOL], i;
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	int c, width = term_width();

	for (c = 0; c < NCOL; c++)
		w[c] = strlen(col_names[c]);
	for (i = 0; i < n; i++)
		for (c = 0; c < NCOL; c++)
			if (strlen(rows[i][c]) > w[c])
				w[c] = strlen(rows[i][c]);
	for (i = 0; i <= n; i++) {
		lch_strbuf_reset(&sb);
		for (c = 0; c < NCOL; c++)
			lch_strbuf_addf(&sb, "%-*s%s", c + 1 < NCOL ?
			    (int)w[c] : 0, i == 0 ? col_names[c] :
			    rows[i - 1][c], c + 1 < NCOL ? "  " : "");
		while (sb.len && sb.buf[sb.len - 1] == ' ')
			lch_strbuf_setlen(&sb, sb.len - 1);
		put_cut(sb.buf, width);
	}
	lch_strbuf_release(&sb);
}

/* runs --json: each run in brief. */
static cJSON *
run_brief(const struct run *r)
{
	cJSON *o = cJSON_CreateObject(), *m = NULL;
	const char *keys[] = { "id", "status", "start", "end", "duration",
	    "np", "nnodes", "exit_code", "command" };
	struct mstats s = { NULL, 0, 0 };
	const cJSON *h;
	cJSON *hosts;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->j, keys[i]);

		if (v)
			cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v, 1));
	}
	cJSON_AddStringToObject(o, "dir", r->dir);
	cJSON_AddBoolToObject(o, "interrupted", r->interrupted);
	hosts = cJSON_AddArrayToObject(o, "hosts");
	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(r->j, "hosts"))
		if (jstr(h, "host"))
			cJSON_AddItemToArray(hosts,
			    cJSON_CreateString(jstr(h, "host")));
	mstats_of(r, &s, 0);
	m = cJSON_AddObjectToObject(o, "metrics");
	for (i = 0; i < s.n; i++)
		if (s.v[i].have)
			cJSON_AddNumberToObject(m, s.v[i].name, s.v[i].last);
	mstats_clear(&s);
	return o;
}

static void
print_json(cJSON *j)
{
	char *s = cJSON_Print(j);

	if (s == NULL)
		lch_oom();
	puts(s);
	free(s);
}

static int
cmd_runs(const struct runs_args *a)
{
	struct run **v;
	char ***rows;
	size_t n, i, good = 0;
	int missing, c;

	if (a->words.n > 0) {
		lch_msg("muster runs takes no run id (try 'muster show %s')",
		    a->words.v[0]);
		return 2;
	}
	v = list_runs(a->runs_dir, &n, &missing);
	good = load_all(v, n, 0);
	if (a->json) {
		cJSON *arr = cJSON_CreateArray();

		for (i = 0; i < good; i++)
			cJSON_AddItemToArray(arr, run_brief(v[i]));
		print_json(arr);
		cJSON_Delete(arr);
	} else if (good == 0) {
		printf("no runs in %s\n", a->runs_dir);
	} else {
		rows = lch_xcalloc(good, sizeof(*rows));
		for (i = 0; i < good; i++) {
			rows[i] = lch_xcalloc(NCOL, sizeof(char *));
			run_cells(v[i], rows[i]);
		}
		print_table(rows, good);
		for (i = 0; i < good; i++) {
			for (c = 0; c < NCOL; c++)
				free(rows[i][c]);
			free(rows[i]);
		}
		free(rows);
	}
	free_runs(v, good);
	return 0;
}

/* muster show */

/* One rank's row: rank(s), host, pid, exit, signal, status. */
struct rank_row {
	long first, last;
	const char *host;
	int many_hosts;
	char pid[24], exit[24];
	const char *sig, *status;
};

static void
rank_row_of(const cJSON *rk, struct rank_row *row)
{
	double pid = jnum(rk, "pid", -1), code = jnum(rk, "exit_code", -1e18);

	row->first = row->last = jlong(rk, "rank", -1);
	row->host = jstr(rk, "host") ? jstr(rk, "host") : "-";
	row->many_hosts = 0;
	snprintf(row->pid, sizeof(row->pid), pid >= 0 ? "%.0f" : "-", pid);
	snprintf(row->exit, sizeof(row->exit), code > -1e18 ? "%.0f" : "-",
	    code);
	row->sig = jstr(rk, "signal") ? jstr(rk, "signal") : "-";
	row->status = jstr(rk, "status") ? jstr(rk, "status") : "-";
}

/* Whether b continues a's group (consecutive, same ending). */
static int
same_end(const struct rank_row *a, const struct rank_row *b)
{
	return b->first == a->last + 1 && strcmp(a->exit, b->exit) == 0 &&
	    strcmp(a->sig, b->sig) == 0 && strcmp(a->status, b->status) == 0;
}

static void
print_rank_row(const struct rank_row *g)
{
	char rk[48];

	if (g->first == g->last) {
		snprintf(rk, sizeof(rk), "%ld", g->first);
		printf("  %-12s %-20.40s %-8s %-5s %-8s %s\n", rk, g->host,
		    g->pid, g->exit, g->sig, g->status);
		return;
	}
	snprintf(rk, sizeof(rk), "%ld-%ld", g->first, g->last);
	printf("  %-12s %-20.40s %-8s %-5s %-8s %s\n", rk,
	    g->many_hosts ? "(several)" : g->host, "-", g->exit, g->sig,
	    g->status);
}

/* Each rank, or each run of ranks that ended alike when there are many. */
static void
show_ranks(const struct run *r)
{
	const cJSON *ranks = cJSON_GetObjectItemCaseSensitive(r->j, "ranks");
	const cJSON *rk;
	struct rank_row g, row;
	int n = cJSON_GetArraySize(ranks), started = 0;

	if (n == 0)
		return;
	printf("\n  %-12s %-20s %-8s %-5s %-8s %s\n", "RANK", "HOST", "PID",
	    "EXIT", "SIGNAL", "STATUS");
	cJSON_ArrayForEach(rk, ranks) {
		rank_row_of(rk, &row);
		if (n <= RANKS_FULL) {
			print_rank_row(&row);
			continue;
		}
		if (started && same_end(&g, &row)) {
			g.last = row.last;
			g.many_hosts |= strcmp(g.host, row.host) != 0;
			continue;
		}
		if (started)
			print_rank_row(&g);
		g = row;
		started = 1;
	}
	if (started)
		print_rank_row(&g);
}

/* "2: a (ranks 0-3), b (ranks 4-7)" for up to 4 hosts. */
static void
show_hosts(const struct run *r)
{
	const cJSON *h, *rk;
	int n = nhosts(r), i = 0, k;

	printf("hosts     %d", n);
	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(r->j, "hosts")) {
		rk = cJSON_GetObjectItemCaseSensitive(h, "ranks");
		k = cJSON_GetArraySize(rk);
		if (i++ == 4) {
			printf(", +%d more", n - 4);
			break;
		}
		printf("%s %s", i == 1 ? ":" : ",", jstr(h, "host") ?
		    jstr(h, "host") : "?");
		if (k == 1)
			printf(" (rank %.0f)",
			    cJSON_GetArrayItem(rk, 0)->valuedouble);
		else if (k > 1)
			printf(" (ranks %.0f-%.0f)",
			    cJSON_GetArrayItem(rk, 0)->valuedouble,
			    cJSON_GetArrayItem(rk, k - 1)->valuedouble);
	}
	printf("\n");
}

static void
show_failure(const struct run *r)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(r->j,
	    "first_failure");
	const cJSON *att = cJSON_GetObjectItemCaseSensitive(r->j, "attempts");

	if (cJSON_IsObject(f) && jstr(f, "reason"))
		printf("failure   %s\n", jstr(f, "reason"));
	else if (cJSON_IsObject(f))
		printf("failure   rank %.0f (host %s)\n", jnum(f, "rank", -1),
		    jstr(f, "host") ? jstr(f, "host") : "?");
	if (cJSON_GetArraySize(att) > 1)
		printf("attempts  %d\n", cJSON_GetArraySize(att));
}

static void
show_outputs(const struct run *r)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(r->j, "outputs");
	int errs = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o,
	    "errors"));
	char b[32];

	if (!cJSON_IsObject(o))
		return;
	fmt_bytes(b, sizeof(b), jnum(o, "bytes", 0));
	printf("outputs   %.0f file%s, %s in %s/outputs", jnum(o, "files", 0),
	    jnum(o, "files", 0) == 1 ? "" : "s", b, r->dir);
	if (errs)
		printf(" (%d not gathered)", errs);
	printf("\n");
}

static void
show_metrics(const struct run *r)
{
	struct mstats s = { NULL, 0, 0 };
	char last[32], best[32];
	size_t i, w = 6;

	mstats_of(r, &s, 1);
	for (i = 0; i < s.n; i++)
		if (strlen(s.v[i].name) > w)
			w = strlen(s.v[i].name);
	if (s.n > 0)
		printf("\n  %-*s %8s %12s %12s\n", (int)w, "METRIC", "COUNT",
		    "LAST", "BEST");
	for (i = 0; i < s.n; i++) {
		snprintf(last, sizeof(last), "-");
		snprintf(best, sizeof(best), "-");
		if (s.v[i].have) {
			fmt_val(last, sizeof(last), s.v[i].last);
			fmt_val(best, sizeof(best), best_of(&s.v[i]));
		}
		printf("  %-*s %8ld %12s %12s (%s)\n", (int)w, s.v[i].name,
		    s.v[i].count, last, best,
		    lch_metric_lower_better(s.v[i].name) ? "min" : "max");
	}
	mstats_clear(&s);
}

static void
show_text(const struct run *r)
{
	char *cmd = command_of(r), t[64];
	double code = jnum(r->j, "exit_code", -1e18);

	printf("run       %s\ndir       %s\ncommand   %s\n",
	    jstr(r->j, "id") ? jstr(r->j, "id") : r->name, r->dir, cmd);
	printf("status    %s", status_of(r));
	if (code > -1e18)
		printf(" (exit code %.0f)", code);
	if (r->interrupted)
		printf(" (run.json says %s; its launcher is gone)",
		    jstr(r->j, "status"));
	fmt_time(t, sizeof(t), r->start);
	printf("\nstart     %s\n", t);
	fmt_time(t, sizeof(t), jnum(r->j, "end", -1));
	printf("end       %s", t);
	fmt_duration(t, sizeof(t), duration_of(r));
	printf(" (%s%s)\n", r->live ? "running for " : "duration ", t);
	show_hosts(r);
	printf("np        %.0f\n", jnum(r->j, "np", 0));
	show_failure(r);
	show_outputs(r);
	printf("logs      %s/logs\n", r->dir);
	show_ranks(r);
	show_metrics(r);
	printf("\nplot      muster plot %s  (writes %s/plot.svg)\n", r->name,
	    r->dir);
	free(cmd);
}

static int
cmd_show(const struct runs_args *a)
{
	struct run *r;

	if (a->words.n != 1) {
		lch_msg("muster show takes one run id (usage: muster show ID "
		    "[--json])");
		return 2;
	}
	if ((r = resolve(a->words.v[0], a->runs_dir)) == NULL)
		return 2;
	if (a->json) {
		cJSON_AddBoolToObject(r->j, "interrupted", r->interrupted);
		cJSON_AddStringToObject(r->j, "dir", r->dir);
		print_json(r->j);
	} else {
		show_text(r);
	}
	run_free(r);
	return 0;
}

/* muster stacks */

/* The newest run whose launcher holds its .lock, or NULL after a line. */
static struct run *
newest_live(const char *rdir)
{
	struct run **v, *r = NULL;
	size_t n, good, i;
	int missing;

	v = list_runs(rdir, &n, &missing);
	good = load_all(v, n, 1);
	for (i = 0; i < good; i++)
		if (r == NULL && v[i]->live)
			r = v[i];
		else
			run_free(v[i]);
	free(v);
	if (r == NULL)
		lch_msg("no running job in %s (muster runs lists the runs; "
		    "--runs-dir D looks elsewhere)", rdir);
	return r;
}

/* The run's launcher, when it is live here and takes SIGUSR1: its pid. */
static long
stacks_launcher(const struct run *r)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(r->j, "launcher");
	const char *host = jstr(l, "host"), *kind = jstr(l, "kind");
	long pid = jlong(l, "pid", 0);
	char here[256];

	if (gethostname(here, sizeof(here)) != 0)
		snprintf(here, sizeof(here), "localhost");
	here[sizeof(here) - 1] = '\0';
	if (!r->live) {
		lch_msg("run %s is not running (%s): no stacks to take", r->name,
		    status_of(r));
		return 0;
	}
	if (kind && strcmp(kind, "mpi") == 0) {
		lch_msg("run %s was started with --mpi: mpirun watches its "
		    "ranks, muster stacks cannot", r->name);
		return 0;
	}
	if (host && strcmp(host, here) != 0) {
		lch_msg("run %s's launcher runs on host %s, not here (%s): run "
		    "muster stacks there", r->name, host, here);
		return 0;
	}
	if (pid <= 0)
		lch_msg("run %s: run.json names no launcher pid", r->name);
	return pid > 0 ? pid : 0;
}

static int
cmd_stacks(const struct runs_args *a)
{
	struct run *r;
	long pid;
	int rc;

	if (a->words.n > 1) {
		lch_msg("muster stacks takes at most one run id (usage: muster "
		    "stacks [ID])");
		return 2;
	}
	r = a->words.n ? resolve(a->words.v[0], a->runs_dir) :
	    newest_live(a->runs_dir);
	if (r == NULL)
		return a->words.n ? 2 : 1;
	pid = stacks_launcher(r);
	rc = pid > 0 ? lch_stacks_request(r->dir, r->name, pid,
	    LCH_STACKS_WAIT_MS) : 1;
	run_free(r);
	return rc;
}

/* muster compare */

struct cmp_table {
	struct lch_strv label;	/* row labels */
	struct lch_strv *cell;	/* cell[run]: one per row */
	size_t nruns;
};

static void
cmp_row(struct cmp_table *t, const char *label, char **cells)
{
	size_t i;

	lch_strv_push(&t->label, label);
	for (i = 0; i < t->nruns; i++) {
		lch_strv_push(&t->cell[i], cells[i]);
		free(cells[i]);
	}
}

/* Option names in any run, in first-seen order. */
static void
option_names(struct run **v, size_t n, struct lch_strv *names)
{
	const cJSON *e;
	size_t i, k;

	for (i = 0; i < n; i++)
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(v[i]->j,
		    "options")) {
			if (e->string == NULL)
				break;	/* not an object */
			for (k = 0; k < names->n; k++)
				if (strcmp(names->v[k], e->string) == 0)
					break;
			if (k == names->n)
				lch_strv_push(names, e->string);
		}
}

static char *
json_text(const cJSON *v)
{
	char *s;

	if (v == NULL)
		return lch_xstrdup("-");
	if (cJSON_IsString(v))
		return lch_xstrdup(v->valuestring);
	if ((s = cJSON_PrintUnformatted(v)) == NULL)
		lch_oom();
	return s;
}

/* The options whose values differ between the runs. */
static void
cmp_options(struct cmp_table *t, struct run **v, size_t n)
{
	struct lch_strv names = LCH_STRV_INIT;
	char **cells = lch_xcalloc(n, sizeof(*cells)), *label;
	size_t k, i;
	int differ;

	option_names(v, n, &names);
	for (k = 0; k < names.n; k++) {
		differ = 0;
		for (i = 0; i < n; i++) {
			cells[i] = json_text(cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(v[i]->j,
			    "options"), names.v[k]));
			differ |= i > 0 && strcmp(cells[i], cells[0]) != 0;
		}
		if (!differ) {
			for (i = 0; i < n; i++)
				free(cells[i]);
			continue;
		}
		label = lch_xasprintf("option %s", names.v[k]);
		cmp_row(t, label, cells);
		free(label);
	}
	free(cells);
	lch_strv_clear(&names);
}

/* Each metric's last and best, per run. */
static void
cmp_metrics(struct cmp_table *t, struct run **v, size_t n)
{
	struct mstats *s = lch_xcalloc(n, sizeof(*s)), all = { NULL, 0, 0 };
	char **cells = lch_xcalloc(n, sizeof(*cells)), *label, b[32];
	size_t i, k, m;
	int best;

	for (i = 0; i < n; i++) {
		mstats_of(v[i], &s[i], 1);
		for (k = 0; k < s[i].n; k++)
			(void)mstat_get(&all, s[i].v[k].name);
	}
	for (m = 0; m < all.n; m++)
		for (best = 0; best < 2; best++) {
			for (i = 0; i < n; i++) {
				struct mstat *st = NULL;

				for (k = 0; k < s[i].n && !st; k++)
					if (strcmp(s[i].v[k].name,
					    all.v[m].name) == 0)
						st = &s[i].v[k];
				snprintf(b, sizeof(b), "-");
				if (st && st->have)
					fmt_val(b, sizeof(b), best ?
					    best_of(st) : st->last);
				cells[i] = lch_xstrdup(b);
			}
			label = lch_xasprintf("%s %s", all.v[m].name, !best ?
			    "last" : lch_metric_lower_better(all.v[m].name) ?
			    "best (min)" : "best (max)");
			cmp_row(t, label, cells);
			free(label);
		}
	for (i = 0; i < n; i++)
		mstats_clear(&s[i]);
	mstats_clear(&all);
	free(s);
	free(cells);
}

static void
cmp_basics(struct cmp_table *t, struct run **v, size_t n)
{
	char **c = lch_xcalloc(n, sizeof(*c)), b[64];
	size_t i;
	int row;

	for (row = 0; row < 7; row++) {
		for (i = 0; i < n; i++) {
			const struct run *r = v[i];
			double code = jnum(r->j, "exit_code", -1e18);

			switch (row) {
			case 0: c[i] = lch_xstrdup(status_of(r)); break;
			case 1: c[i] = code > -1e18 ? lch_xasprintf("%.0f",
				    code) : lch_xstrdup("-"); break;
			case 2: fmt_time(b, sizeof(b), r->start);
				c[i] = lch_xstrdup(b); break;
			case 3: fmt_duration(b, sizeof(b), duration_of(r));
				c[i] = lch_xstrdup(b); break;
			case 4: c[i] = lch_xasprintf("%.0f", jnum(r->j, "np",
				    0)); break;
			case 5: fmt_hosts(b, sizeof(b), r);
				c[i] = lch_xasprintf("%d (%s)", nhosts(r), b);
				break;
			default: c[i] = command_of(r); break;
			}
		}
		cmp_row(t, (const char *const[]){ "status", "exit code",
		    "start", "duration", "np", "hosts", "command" }[row], c);
	}
	free(c);
}

static void
cmp_print(const struct cmp_table *t, struct run **v)
{
	size_t lw = 2, i, r, *w = lch_xcalloc(t->nruns, sizeof(*w));
	struct lch_strbuf sb = LCH_STRBUF_INIT;

	for (r = 0; r < t->label.n; r++)
		if (strlen(t->label.v[r]) > lw)
			lw = strlen(t->label.v[r]);
	for (i = 0; i < t->nruns; i++) {
		w[i] = strlen(v[i]->name);
		for (r = 0; r < t->label.n; r++)
			if (strlen(t->cell[i].v[r]) > w[i])
				w[i] = strlen(t->cell[i].v[r]);
		if (w[i] > CELL_MAX)
			w[i] = CELL_MAX;
	}
	for (r = 0; r <= t->label.n; r++) {
		lch_strbuf_reset(&sb);
		lch_strbuf_addf(&sb, "%-*s", (int)lw, r ? t->label.v[r - 1] :
		    "");
		for (i = 0; i < t->nruns; i++) {
			const char *c = r ? t->cell[i].v[r - 1] : v[i]->name;

			if (strlen(c) > CELL_MAX)
				lch_strbuf_addf(&sb, "  %.*s...", CELL_MAX - 3,
				    c);
			else
				lch_strbuf_addf(&sb, "  %-*s", (int)w[i], c);
		}
		while (sb.len && sb.buf[sb.len - 1] == ' ')
			lch_strbuf_setlen(&sb, sb.len - 1);
		puts(sb.buf);
	}
	lch_strbuf_release(&sb);
	free(w);
}

static int
cmd_compare(const struct runs_args *a)
{
	struct cmp_table t = { LCH_STRV_INIT, NULL, 0 };
	struct run **v;
	size_t i, n = a->words.n;
	int rc = 0;

	if (n < 2) {
		lch_msg("muster compare takes two run ids or more (usage: "
		    "muster compare ID ID [ID...])");
		return 2;
	}
	v = lch_xcalloc(n, sizeof(*v));
	for (i = 0; i < n && rc == 0; i++)
		if ((v[i] = resolve(a->words.v[i], a->runs_dir)) == NULL)
			rc = 2;
	if (rc == 0) {
		t.nruns = n;
		t.cell = lch_xcalloc(n, sizeof(*t.cell));
		cmp_basics(&t, v, n);
		cmp_options(&t, v, n);
		cmp_metrics(&t, v, n);
		cmp_print(&t, v);
		for (i = 0; i < n; i++)
			lch_strv_clear(&t.cell[i]);
		free(t.cell);
		lch_strv_clear(&t.label);
	}
	for (i = 0; i < n; i++)
		run_free(v[i]);
	free(v);
	return rc;
}

/* muster plot */

static int
cmd_plot(const struct runs_args *a)
{
	struct lch_plot_req req;
	struct run *r;
	int rc;

	if (a->words.n < 1) {
		lch_msg("muster plot takes a run id (usage: muster plot ID "
		    "[METRIC...] [--mean] [-o FILE])");
		return 2;
	}
	if ((r = resolve(a->words.v[0], a->runs_dir)) == NULL)
		return 2;
	memset(&req, 0, sizeof(req));
	req.dir = r->dir;
	req.id = r->name;
	req.metrics = (const char *const *)a->words.v + 1;
	req.nmetrics = a->words.n - 1;
	req.mean = a->mean;
	req.out = a->out;
	rc = lch_runs_plot(&req);
	run_free(r);
	return rc;
}

/* Arguments */

static void
runs_usage(const char *cmd, FILE *f)
{
	if (strcmp(cmd, "runs") == 0)
		fputs("usage: muster runs [--runs-dir D] [--json]\n", f);
	else if (strcmp(cmd, "show") == 0)
		fputs("usage: muster show ID [--runs-dir D] [--json]\n", f);
	else if (strcmp(cmd, "plot") == 0)
		fputs("usage: muster plot ID [METRIC...] [--mean] [-o FILE] "
		    "[--runs-dir D]\n", f);
	else if (strcmp(cmd, "stacks") == 0)
		fputs("usage: muster stacks [ID] [--runs-dir D]\n(default: the "
		    "newest running job)\n", f);
	else
		fputs("usage: muster compare ID ID [ID...] [--runs-dir D]\n", f);
	fputs("ID: a run's directory name under the runs directory (default "
	    "./muster-runs,\nor $MUSTER_RUNS_DIR), a unique prefix of one, "
	    "a path to a run directory,\nor latest (-1; -2 the one before)\n",
	    f);
}

/* An option's value, as --opt=V or --opt V; NULL after the message. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (*i + 1 >= argc) {
		lch_msg("option '%s' needs a value", name);
		return NULL;
	}
	return argv[++*i];
}

/* Which option argv[i] is: its name when it takes the form, else NULL. */
static int
is_opt(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return strncmp(arg, name, n) == 0 && (arg[n] == '\0' ||
	    (name[1] == '-' && arg[n] == '='));
}

/* -1 after a message, 1 for --help, else 0. */
static int
parse_args(struct runs_args *a, int argc, char **argv)
{
	const char *env = getenv("MUSTER_RUNS_DIR");
	int i, plot = strcmp(a->cmd, "plot") == 0, rest = 0;
	int json_ok = plot == 0 && strcmp(a->cmd, "compare") != 0 &&
	    strcmp(a->cmd, "stacks") != 0;

	a->runs_dir = env && *env ? env : RUNS_DIR_DEFAULT;
	for (i = 1; i < argc; i++) {
		const char *w = argv[i];

		if (rest || w[0] != '-' || w[1] == '\0' || nth_newest(w) > 0) {
			lch_strv_push(&a->words, w);
		} else if (strcmp(w, "--") == 0) {
			rest = 1;
		} else if (strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0) {
			return 1;
		} else if (is_opt(w, "--runs-dir")) {
			if ((a->runs_dir = opt_value(argc, argv, &i,
			    "--runs-dir")) == NULL)
				return -1;
			if (a->runs_dir[0] == '\0') {
				lch_msg("--runs-dir '': expected a directory");
				return -1;
			}
		} else if (json_ok && strcmp(w, "--json") == 0) {
			a->json = 1;
		} else if (plot && strcmp(w, "--mean") == 0) {
			a->mean = 1;
		} else if (plot && strcmp(w, "-o") == 0) {
			if ((a->out = opt_value(argc, argv, &i, "-o")) == NULL)
				return -1;
		} else {
			lch_msg("unknown option '%s' for muster %s (try 'muster "
			    "%s --help')", w, a->cmd, a->cmd);
			return -1;
		}
	}
	return 0;
}

int
lch_runs_main(int argc, char **argv)
{
	struct runs_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.cmd = argv[0];
	if ((rc = parse_args(&a, argc, argv)) != 0) {
		if (rc > 0)
			runs_usage(a.cmd, stdout);
		lch_strv_clear(&a.words);
		return rc > 0 ? 0 : 2;
	}
	if (strcmp(a.cmd, "runs") == 0)
		rc = cmd_runs(&a);
	else if (strcmp(a.cmd, "show") == 0)
		rc = cmd_show(&a);
	else if (strcmp(a.cmd, "plot") == 0)
		rc = cmd_plot(&a);
	else if (strcmp(a.cmd, "stacks") == 0)
		rc = cmd_stacks(&a);
	else
		rc = cmd_compare(&a);
	lch_strv_clear(&a.words);
	if (fflush(stdout) != 0 && rc == 0) {
		lch_msg("stdout: %s", strerror(errno));
		rc = 1;
	}
	return rc;
}
