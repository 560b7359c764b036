/* metrics.c: see metrics.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "clock.h"
#include "hash.h"
#include "metrics.h"
#include "util.h"

#define BUF_FLUSH (1 << 20)	/* buffered past this: written at once */
#define BAD_KEEP 200		/* of the first bad line, for the message */
#define STEP_MAX 9007199254740992.0	/* 2^53: steps are exact doubles */

/* A (rank, name) count, or with rank -1 a name's summary. */
struct entry {
	char *name;
	int rank;
	long count;
	double last, min, max;	/* last: NAN when it was not finite */
	long last_step;
	int have_range;
};

struct lch_metrics {
	int fd;
	char *path;
	struct lch_strbuf buf;
	double flushed_at;	/* mst_now() of the last flush */
	int werr;		/* a write failed: said, and no more writes */
	long long lines, bad, lost;
	int bad_rank;
	char bad_line[BAD_KEEP + 1];
	const char *bad_why;
	struct entry *e;	/* entries, in the order first seen */
	size_t ne, ecap;
	size_t *slot;		/* hash table of entry index + 1; 0: free */
	size_t nslot;
	long last;		/* entry of the last scalar, -1: none */
};

/* One metric taken apart: name and what follows it. */
struct metric {
	const char *name;	/* '\0' ended (a copy, or cJSON's) */
	double t;
	long step;		/* -1: none given */
	int kind;		/* 0 value, 1 values, 2 row */
	double value;
	const char *nonfinite;	/* the value's spelling, or NULL */
	cJSON *vals;		/* values or row */
};

struct lch_metrics *
lch_metrics_open(const char *path, char *err, size_t len)
{
	struct lch_metrics *m;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
	    0644);
	if (fd < 0) {
		snprintf(err, len, "cannot open '%s': %s", path,
		    strerror(errno));
		return NULL;
	}
	m = lch_xcalloc(1, sizeof(*m));
	m->fd = fd;
	m->path = lch_xstrdup(path);
	m->last = -1;
	m->flushed_at = mst_now();
	lch_strbuf_init(&m->buf, 65536);
	m->nslot = 1024;
	m->slot = lch_xcalloc(m->nslot, sizeof(*m->slot));
	return m;
}

static uint64_t
key_hash(int rank, const char *name)
{
	return mst_fnv1a(MST_FNV_BASIS ^ (uint64_t)(unsigned)(rank + 1),
	    name) * 0x9e3779b97f4a7c15ULL;
}

static void
rehash(struct lch_metrics *m)
{
	size_t i, k, mask;

	free(m->slot);
	m->nslot *= 2;
	m->slot = lch_xcalloc(m->nslot, sizeof(*m->slot));
	mask = m->nslot - 1;
	for (i = 0; i < m->ne; i++) {
		k = (size_t)(key_hash(m->e[i].rank, m->e[i].name) >> 20) & mask;
		while (m->slot[k])
			k = (k + 1) & mask;
		m->slot[k] = i + 1;
	}
}

/* The entry of (rank, name), made when new; NULL past the cap. */
static struct entry *
entry_get(struct lch_metrics *m, int rank, const char *name)
{
	size_t mask = m->nslot - 1, k;
	struct entry *e;

	k = (size_t)(key_hash(rank, name) >> 20) & mask;
	for (; m->slot[k]; k = (k + 1) & mask) {
		e = &m->e[m->slot[k] - 1];
		if (e->rank == rank && strcmp(e->name, name) == 0)
			return e;
	}
	if (m->ne >= LCH_METRICS_KEYS_MAX)
		return NULL;
	if (m->ne == m->ecap) {
		m->ecap = m->ecap ? 2 * m->ecap : 256;
		m->e = lch_xrealloc(m->e, m->ecap * sizeof(*m->e));
	}
	e = &m->e[m->ne];
	memset(e, 0, sizeof(*e));
	e->name = lch_xstrdup(name);
	e->rank = rank;
	m->slot[k] = ++m->ne;
	if (2 * m->ne > m->nslot)
		rehash(m);
	return &m->e[m->ne - 1];
}

/* 1 when s (n bytes) is valid UTF-8, without NUL. */
static int
utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, more;
	unsigned c, min;

	while (i < n) {
		c = s[i++];
		if (c == 0)
			return 0;
		if (c < 0x80)
			continue;
		if (c >= 0xf0 && c < 0xf5)
			more = 3, min = 0x10000, c &= 0x07;
		else if (c >= 0xe0)
			more = 2, min = 0x800, c &= 0x0f;
		else if (c >= 0xc2 && c < 0xe0)
			more = 1, min = 0x80, c &= 0x1f;
		else
			return 0;
		if (c > 0x10ffff || n - i < more)
			return 0;
		for (k = 0; k < more; k++, i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
	}
	return 1;
}

/* A NAME (blanks forbidden) or a COLUMN (allowed): 1 when it is one. */
static int
name_ok(const char *s, size_t n, int blanks)
{
	size_t i;

	if (n == 0 || n > LCH_METRIC_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (c == ' ' && !blanks))
			return 0;
	}
	return utf8_ok((const unsigned char *)s, n);
}

/* "nan", "inf", "-inf" (and "+inf", "infinity"...): its spelling, or NULL. */
static const char *
nonfinite_word(const char *s, size_t n)
{
	if ((n == 3 && strncasecmp(s, "nan", 3) == 0) ||
	    (n == 4 && strncasecmp(s, "-nan", 4) == 0))
		return "nan";
	if ((n == 3 && strncasecmp(s, "inf", 3) == 0) ||
	    (n == 4 && strncasecmp(s, "+inf", 4) == 0) ||
	    (n == 8 && strncasecmp(s, "infinity", 8) == 0) ||
	    (n == 9 && strncasecmp(s, "+infinity", 9) == 0))
		return "inf";
	if ((n == 4 && strncasecmp(s, "-inf", 4) == 0) ||
	    (n == 9 && strncasecmp(s, "-infinity", 9) == 0))
		return "-inf";
	return NULL;
}

/* A text number (n bytes): 0 with *v, *nf set, or -1. */
static int
parse_num(const char *s, size_t n, double *v, const char **nf)
{
	char tmp[64], *end;

	*nf = NULL;
	if ((*nf = nonfinite_word(s, n)) != NULL) {
		*v = NAN;
		return 0;
	}
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	*v = strtod(tmp, &end);
	if (*end != '\0' || end == tmp || !isfinite(*v))
		return -1;	/* "1e999" is no number we can keep */
	return 0;
}

/* A text STEP: digits only. */
static int
parse_step(const char *s, size_t n, long *step)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 15)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*step = v;
	return 0;
}

/* NAME VALUE [STEP]: 0, or -1 with *why. */
static int
parse_text(const char *s, size_t n, struct metric *mt, char *name,
	   const char **why)
{
	const char *tok[4];
	size_t len[4], i = 0;
	int k = 0;

	while (i < n && k < 4) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n)
			break;
		tok[k] = s + i;
		while (i < n && s[i] != ' ' && s[i] != '\t')
			i++;
		len[k] = (size_t)(s + i - tok[k]);
		k++;
	}
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	*why = "expected NAME VALUE [STEP] or a JSON object";
	if (k < 2 || k > 3 || i < n)
		return -1;
	*why = "the name is not 1 to 255 bytes of UTF-8 without control bytes";
	if (!name_ok(tok[0], len[0], 0))
		return -1;
	memcpy(name, tok[0], len[0]);
	name[len[0]] = '\0';
	mt->name = name;
	*why = "the value is not a number";
	if (parse_num(tok[1], len[1], &mt->value, &mt->nonfinite) != 0)
		return -1;
	*why = "the step is not a whole number >= 0";
	if (k == 3 && parse_step(tok[2], len[2], &mt->step) != 0)
		return -1;
	return 0;
}

/* A JSON value: a number, "nan"/"inf"/"-inf", or null (nan). */
static int
json_num(const cJSON *j, double *v, const char **nf)
{
	*nf = NULL;
	if (cJSON_IsNumber(j) && isfinite(j->valuedouble)) {
		*v = j->valuedouble;
		return 0;
	}
	if (cJSON_IsNull(j))
		*nf = "nan";
	else if (cJSON_IsString(j))
		*nf = nonfinite_word(j->valuestring, strlen(j->valuestring));
	*v = NAN;
	return *nf ? 0 : -1;
}

/* Each member of a list or row is a number (or nan...): 0, or -1. */
static int
json_vals_ok(const cJSON *vals, int row)
{
	const cJSON *c;
	const char *nf;
	double v;

	cJSON_ArrayForEach(c, vals) {
		if (json_num(c, &v, &nf) != 0)
			return -1;
		if (row && !name_ok(c->string, strlen(c->string), 1))
			return -1;
	}
	return 0;
}

/* The JSON forms: 0, or -1 with *why. */
static int
parse_json(cJSON *j, struct metric *mt, const char **why)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
	const cJSON *step = cJSON_GetObjectItemCaseSensitive(j, "step");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "t");
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
	cJSON *vs = cJSON_GetObjectItemCaseSensitive(j, "values");
	cJSON *row = cJSON_GetObjectItemCaseSensitive(j, "row");

	*why = "no \"name\" of 1 to 255 bytes of UTF-8 without blanks";
	if (!cJSON_IsString(name) ||
	    !name_ok(name->valuestring, strlen(name->valuestring), 0))
		return -1;
	mt->name = name->valuestring;
	*why = "\"step\" is not a whole number >= 0";
	if (step) {
		if (!cJSON_IsNumber(step) || step->valuedouble < 0 ||
		    step->valuedouble >= STEP_MAX ||
		    step->valuedouble != floor(step->valuedouble))
			return -1;
		mt->step = (long)step->valuedouble;
	}
	*why = "\"t\" is not a number of seconds";
	if (t) {
		if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) ||
		    t->valuedouble < 0)
			return -1;
		mt->t = t->valuedouble;
	}
	*why = "expected one of \"value\", \"values\" (an array) or \"row\" "
	    "(an object) of numbers";
	if ((v != NULL) + (vs != NULL) + (row != NULL) != 1)
		return -1;
	if (v)
		return json_num(v, &mt->value, &mt->nonfinite);
	mt->kind = vs ? 1 : 2;
	mt->vals = vs ? vs : row;
	if ((vs && !cJSON_IsArray(vs)) || (row && !cJSON_IsObject(row)))
		return -1;
	return json_vals_ok(mt->vals, !vs);
}

/* s as a JSON string, quotes included. */
static void
add_str(struct lch_strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;

	lch_strbuf_addch(sb, '"');
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			lch_strbuf_addch(sb, '\\');
			lch_strbuf_addch(sb, *p);
		} else if (*p < 0x20 || *p == 0x7f) {
			char u[6] = { '\\', 'u', '0', '0', hex[*p >> 4],
			    hex[*p & 15] };

			lch_strbuf_add(sb, u, 6);
		} else
			lch_strbuf_addch(sb, *p);
	}
	lch_strbuf_addch(sb, '"');
}

/* A finite double in the fewest digits that read back the same. */
static void
add_num(struct lch_strbuf *sb, double v)
{
	char b[40];
	int prec;

	for (prec = 15; prec < 17; prec++) {
		snprintf(b, sizeof(b), "%.*g", prec, v);
		if (strtod(b, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(b, sizeof(b), "%.17g", v);
	lch_strbuf_add(sb, b, strlen(b));
}

/* A list's or row's members; returns how many were null. */
static int
add_vals(struct lch_strbuf *sb, const cJSON *vals, int row)
{
	const cJSON *c;
	const char *nf;
	int nulls = 0, first = 1;
	double v;

	lch_strbuf_addch(sb, row ? '{' : '[');
	cJSON_ArrayForEach(c, vals) {
		if (!first)
			lch_strbuf_addch(sb, ',');
		first = 0;
		if (row) {
			add_str(sb, c->string);
			lch_strbuf_addch(sb, ':');
		}
		(void)json_num(c, &v, &nf);
		if (nf) {
			lch_strbuf_add(sb, "null", 4);
			nulls++;
		} else
			add_num(sb, v);
	}
	lch_strbuf_addch(sb, row ? '}' : ']');
	return nulls;
}

/* The scalar's summary under its name. */
static void
summarize(struct lch_metrics *m, const struct metric *mt)
{
	struct entry *s = entry_get(m, -1, mt->name);

	if (s == NULL)
		return;
	s->count++;
	s->last = mt->nonfinite ? NAN : mt->value;
	s->last_step = mt->step;
	if (!mt->nonfinite) {
		if (!s->have_range || mt->value < s->min)
			s->min = mt->value;
		if (!s->have_range || mt->value > s->max)
			s->max = mt->value;
		s->have_range = 1;
	}
	m->last = (long)(s - m->e);
}

/* The metrics.jsonl line of mt. */
static void
write_line(struct lch_metrics *m, int rank, struct metric *mt)
{
	struct lch_strbuf *sb = &m->buf;
	struct entry *e;
	int nulls;

	if (mt->kind == 0 && mt->step < 0) {
		e = entry_get(m, rank, mt->name);
		mt->step = e ? e->count++ : 0;
	}
	lch_strbuf_addf(sb, "{\"t\":%.6f,\"rank\":%d,\"name\":", mt->t, rank);
	add_str(sb, mt->name);
	if (mt->step >= 0)
		lch_strbuf_addf(sb, ",\"step\":%ld", mt->step);
	if (mt->kind == 0) {
		lch_strbuf_add(sb, ",\"value\":", 9);
		if (mt->nonfinite)
			lch_strbuf_addf(sb, "null,\"nonfinite\":\"%s\"",
			    mt->nonfinite);
		else
			add_num(sb, mt->value);
		summarize(m, mt);
	} else {
		lch_strbuf_add(sb, mt->kind == 1 ? ",\"values\":" :
		    ",\"row\":", mt->kind == 1 ? 10 : 7);
		if ((nulls = add_vals(sb, mt->vals, mt->kind == 2)) > 0)
			lch_strbuf_addf(sb, ",\"nonfinite\":%d", nulls);
	}
	lch_strbuf_add(sb, "}\n", 2);
}

/* The first bad line, printable, for the message. */
static void
keep_bad(struct lch_metrics *m, int rank, const char *line, size_t n,
	 const char *why)
{
	size_t i;

	if (m->bad++ > 0)
		return;
	m->bad_rank = rank;
	m->bad_why = why;
	for (i = 0; i < n && i < BAD_KEEP; i++)
		m->bad_line[i] = (unsigned char)line[i] < 0x20 ||
		    line[i] == 0x7f ? '?' : line[i];
	m->bad_line[i] = '\0';
	if (n > BAD_KEEP)
		memcpy(m->bad_line + BAD_KEEP - 3, "...", 3);
}

int
lch_metrics_add(struct lch_metrics *m, int rank, const char *line, size_t n,
		double now)
{
	char name[LCH_METRIC_NAME_MAX + 1];
	struct metric mt;
	const char *why = "not JSON";
	cJSON *j = NULL;
	int rc;

	memset(&mt, 0, sizeof(mt));
	mt.step = -1;
	mt.t = now;
	if (n && line[n - 1] == '\r')
		n--;
	while (n && (*line == ' ' || *line == '\t'))
		line++, n--;
	if (n && line[0] == '{') {
		const char *end = NULL;

		/* one object, and only blanks after it */
		j = cJSON_ParseWithLengthOpts(line, n, &end, 0);
		while (j && end < line + n && (*end == ' ' || *end == '\t'))
			end++;
		if (j == NULL || !cJSON_IsObject(j) || end != line + n)
			rc = -1;
		else
			rc = parse_json(j, &mt, &why);
	} else
		rc = parse_text(line, n, &mt, name, &why);
	if (rc == 0) {
		write_line(m, rank, &mt);
		m->lines++;
	} else
		keep_bad(m, rank, line, n, why);
	cJSON_Delete(j);
	if (m->buf.len >= BUF_FLUSH ||
	    mst_now() - m->flushed_at >= LCH_METRICS_FLUSH_MS / 1000.0)
		(void)lch_metrics_flush(m);
	return rc;
}

int
lch_metrics_flush(struct lch_metrics *m)
{
	if (m == NULL)
		return 0;
	m->flushed_at = mst_now();
	if (m->buf.len == 0)
		return m->werr ? -1 : 0;
	if (!m->werr && lch_write_all(m->fd, m->buf.buf, m->buf.len) != 0) {
		m->werr = errno ? errno : EIO;
		lch_msg("cannot write the metrics to '%s': %s: the rest are "
		    "not recorded", m->path, strerror(m->werr));
	}
	lch_strbuf_reset(&m->buf);
	return m->werr ? -1 : 0;
}

/* A number, or null for NAN. */
static void
json_add_num(cJSON *o, const char *k, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

cJSON *
lch_metrics_json(const struct lch_metrics *m)
{
	cJSON *j = cJSON_CreateObject(), *sum, *o;
	size_t i;

	cJSON_AddNumberToObject(j, "lines", m ? (double)m->lines : 0);
	cJSON_AddNumberToObject(j, "bad", m ? (double)m->bad : 0);
	sum = cJSON_AddObjectToObject(j, "summary");
	for (i = 0; m && i < m->ne; i++) {
		const struct entry *e = &m->e[i];

		if (e->rank != -1 || e->count == 0)
			continue;
		o = cJSON_AddObjectToObject(sum, e->name);
		cJSON_AddNumberToObject(o, "count", (double)e->count);
		json_add_num(o, "last", e->last);
		cJSON_AddNumberToObject(o, "last_step", (double)e->last_step);
		if (e->have_range) {
			cJSON_AddNumberToObject(o, "min", e->min);
			cJSON_AddNumberToObject(o, "max", e->max);
		}
	}
	return j;
}

int
lch_metrics_last(const struct lch_metrics *m, const char **name,
		 double *value, long *step)
{
	const struct entry *e;

	if (m == NULL || m->last < 0)
		return -1;
	e = &m->e[m->last];
	*name = e->name;
	*value = e->last;
	*step = e->last_step;
	return 0;
}

void
lch_metrics_report(const struct lch_metrics *m)
{
	if (m == NULL || m->bad == 0)
		return;
	lch_msg("%lld metric line%s could not be read and %s not recorded; "
	    "the first, from rank %d: '%s': %s (metrics.h)", m->bad,
	    m->bad == 1 ? "" : "s", m->bad == 1 ? "was" : "were",
	    m->bad_rank, m->bad_line, m->bad_why);
}

long long
lch_metrics_lines(const struct lch_metrics *m)
{
	return m ? m->lines : 0;
}

long long
lch_metrics_bad(const struct lch_metrics *m)
{
	return m ? m->bad : 0;
}

void
lch_metrics_close(struct lch_metrics *m)
{
	size_t i;

	if (m == NULL)
		return;
	(void)lch_metrics_flush(m);
	close(m->fd);
	for (i = 0; i < m->ne; i++)
		free(m->e[i].name);
	free(m->e);
	free(m->slot);
	free(m->path);
	lch_strbuf_release(&m->buf);
	free(m);
}

double
lch_metrics_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *
lch_metrics_pydir(void)
{
	static const char *const rel[] = { "../share/muster/python",
	    "../../lib/python" };
	static char found[PATH_MAX];
	static int looked;
	char bin[PATH_MAX], try[PATH_MAX + 64], *slash;
	size_t i;

	if (looked)
		return found[0] ? found : NULL;
	looked = 1;
	snprintf(bin, sizeof(bin), "%s", lch_self_exe());
	if ((slash = strrchr(bin, '/')) == NULL)
		return NULL;
	*slash = '\0';
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(try, sizeof(try), "%s/%s/muster/__init__.py", bin,
		    rel[i]);
		if (access(try, R_OK) != 0)
			continue;
		snprintf(try, sizeof(try), "%s/%s", bin, rel[i]);
		if (realpath(try, found) != NULL)
			return found;
		found[0] = '\0';
	}
	return NULL;
}

void
lch_metrics_pypath(struct lch_env *e)
{
	const char *dir = lch_metrics_pydir(), *old;

	if (dir == NULL)
		return;
	if ((old = lch_env_get(e, "PYTHONPATH")) == NULL)
		old = getenv("PYTHONPATH");
	if (old && *old)
		lch_env_setf(e, "PYTHONPATH", "%s:%s", old, dir);
	else
		lch_env_set(e, "PYTHONPATH", dir);
}

/* The kernel's boot id (36 bytes), or "" */
static void
boot_id(char buf[64])
{
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY |
	    O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, 63);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int
lch_metrics_where_set(const char *dir)
{
	char boot[64], *path, *v;
	struct stat st;

	boot_id(boot);
	if (!boot[0] || (path = realpath(dir, NULL)) == NULL)
		return -1;
	if (stat(path, &st) != 0) {
		free(path);
		return -1;
	}
	v = lch_xasprintf("%s %llu %llu %s", boot,
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, path);
	setenv(LCH_METRICS_WHERE_ENV, v, 1);
	free(v);
	free(path);
	return 0;
}

const char *
lch_metrics_where_path(void)
{
	const char *v = getenv(LCH_METRICS_WHERE_ENV);
	unsigned long long dev, ino;
	char boot[64], theirs[64];
	struct stat st;
	int off = 0;

	if (v == NULL || sscanf(v, "%63s %llu %llu %n", theirs, &dev, &ino,
	    &off) != 3 || off == 0)
		return NULL;
	boot_id(boot);
	if (strcmp(boot, theirs) != 0 || stat(v + off, &st) != 0 ||
	    (unsigned long long)st.st_dev != dev ||
	    (unsigned long long)st.st_ino != ino)
		return NULL;
	return v + off;
}

/* --- the agent's side --- */

/*
 * /dev/shm before /tmp: the flight records are mapped shared, and a
 * file's page on a disk is written back, then write-protected, and the
 * rank's next store into it faults (and may wait for the disk).
 */
static const char *
dir_base(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp != NULL && *tmp == '/' && strlen(tmp) <= PATH_MAX - 64)
		return tmp;
	return access(LCH_METRICS_SHM_DIR, W_OK | X_OK) == 0 ?
	    LCH_METRICS_SHM_DIR : "/tmp";
}

char *
lch_metrics_dir_make(char *err, size_t len)
{
	const char *tmp = dir_base();
	char *dir;

	dir = lch_xasprintf("%s/muster-metrics-XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {	/* mode 0700 */
		snprintf(err, len, "cannot make a directory for the metrics "
		    "FIFOs in %s: %s", tmp, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

char *
lch_metrics_fifo_make(const char *dir, int rank, char *err, size_t len)
{
	char *path = lch_xasprintf("%s/rank.%d", dir, rank);

	if (mkfifo(path, 0600) != 0) {
		snprintf(err, len, "cannot make the metrics FIFO '%s': %s",
		    path, strerror(errno));
		free(path);
		return NULL;
	}
	return path;
}

void
lch_metrics_dir_remove(const char *dir)
{
	if (dir == NULL)
		return;
	lch_remove_numbered(dir, "rank.", S_IFIFO);	/* FIFOs of ours only */
	(void)rmdir(dir);
}

int
lch_metrics_in_open(struct lch_metrics_in *in, const char *path)
{
	int e;

	memset(in, 0, sizeof(*in));
	in->fd = in->hold = -1;
	lch_strbuf_init(&in->lb, 0);
	if ((in->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -1;
	/* a reader is there: this open does not wait */
	if ((in->hold = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		e = errno;
		close(in->fd);
		in->fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

void
lch_metrics_in_feed(struct lch_metrics_in *in, const char *buf, size_t n,
		    lch_metrics_line_fn *fn, void *arg)
{
	const char *nl, *end = buf + n;

	while (buf < end) {
		nl = memchr(buf, '\n', (size_t)(end - buf));
		if (in->skipping) {	/* a line too long: to its end */
			if (nl == NULL)
				return;
			in->skipping = 0;
			buf = nl + 1;
			continue;
		}
		if (nl == NULL) {
			if (in->lb.len + (size_t)(end - buf) >
			    LCH_METRIC_LINE_MAX) {
				in->dropped++;
				in->skipping = 1;
				lch_strbuf_reset(&in->lb);
				return;
			}
			lch_strbuf_add(&in->lb, buf, (size_t)(end - buf));
			return;
		}
		if (in->lb.len + (size_t)(nl - buf) > LCH_METRIC_LINE_MAX)
			in->dropped++;
		else if (in->lb.len) {
			lch_strbuf_add(&in->lb, buf, (size_t)(nl - buf));
			fn(arg, in->lb.buf, in->lb.len);
		} else
			fn(arg, buf, (size_t)(nl - buf));
		lch_strbuf_reset(&in->lb);
		buf = nl + 1;
	}
}

long
lch_metrics_in_read(struct lch_metrics_in *in, lch_metrics_line_fn *fn,
		    void *arg)
{
	char buf[65536];
	ssize_t n;

	n = read(in->fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	lch_metrics_in_feed(in, buf, (size_t)n, fn, arg);
	return (long)n;
}

void
lch_metrics_in_close(struct lch_metrics_in *in)
{
	if (in->fd >= 0)
		close(in->fd);
	if (in->hold >= 0)
		close(in->hold);
	in->fd = in->hold = -1;
	lch_strbuf_release(&in->lb);
}
