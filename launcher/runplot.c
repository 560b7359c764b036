/*
 * runplot.c: `muster plot`, an SVG line chart of a run's metrics
 * (runs.h): one chart per metric, stacked, each series one <path>.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runs.h"
#include "util.h"

#define SERIES_POINTS 2000	/* at most about this many points drawn */
#define SVG_W 960
#define PLOT_X 80		/* the plot area of each chart */
#define PLOT_W 640
#define PLOT_TOP 44		/* below the chart's title */
#define PLOT_H 280
#define CHART_H (PLOT_TOP + PLOT_H + 60)
#define LEGEND_X (PLOT_X + PLOT_W + 24)
#define LEGEND_ROW 18
/* appends a string literal */
#define ADDS(sb, lit) lch_strbuf_add((sb), (lit), sizeof(lit) - 1)

/* Tableau's ten: distinct, and none of them the axes' greys. */
static const char *const palette[] = { "#1f77b4", "#ff7f0e", "#2ca02c",
    "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
    "#393b79" };
#define NCOLORS (sizeof(palette) / sizeof(palette[0]))
/* after every colour was used once: the same colours, dashed */
static const char *const dashes[] = { NULL, "8 4", "2 3", "8 3 2 3" };

int
lch_nice_ticks(double lo, double hi, int want, int integer, double *first,
	       double *step, double *last)
{
	double raw, mag, norm, s, k0, k1;

	if (want < 1)
		want = 1;
	if (!(hi > lo)) {
		double d = lo == 0 ? 1 : fabs(lo) * 0.1;

		if (integer && d < 1)
			d = 1;
		lo -= d;
		hi += d;
	}
	/* in halves, so that a range near DBL_MAX does not overflow */
	raw = (hi / 2 - lo / 2) / want * 2;
	mag = pow(10, floor(log10(raw)));
	norm = raw / mag;
	/* the nearest of 1, 2, 5, 10 (on a log scale), as d3's ticks */
	s = (norm >= sqrt(50) ? 10 : norm >= sqrt(10) ? 5 : norm >= sqrt(2) ?
	    2 : 1) * mag;
	if (integer && s < 1)
		s = 1;
	*step = s;
	k0 = floor(lo / s + 1e-9);
	k1 = ceil(hi / s - 1e-9);
	/* past DBL_MAX: the last multiple that is not */
	*first = isfinite(k0 * s) ? k0 * s : (k0 + 1) * s;
	*last = isfinite(k1 * s) ? k1 * s : (k1 - 1) * s;
	return (int)llround(*last / s - *first / s) + 1;
}

size_t
lch_downsample(struct lch_pt *v, size_t n, size_t max)
{
	size_t nb, b, i = 1, out = 1, lo, hi, j;
	double x0, width;

	if (max < 4)
		max = 4;
	if (n <= max)
		return n;
	nb = max / 2 - 1;
	x0 = v[0].x;
	width = (v[n - 1].x / 2 - x0 / 2) / (double)nb * 2;
	for (b = 0; b < nb && i < n - 1; b++) {
		double end = x0 + width * (double)(b + 1);

		lo = hi = i;
		for (j = i; j < n - 1 && (b + 1 == nb || v[j].x < end); j++) {
			if (v[j].y < v[lo].y)
				lo = j;
			if (v[j].y > v[hi].y)
				hi = j;
		}
		if (j == i)
			continue;	/* an empty bucket */
		{
			struct lch_pt a = v[lo < hi ? lo : hi];
			struct lch_pt c = v[lo < hi ? hi : lo];

			v[out++] = a;
			if (lo != hi)
				v[out++] = c;
		}
		i = j;
	}
	v[out++] = v[n - 1];
	return out;
}

/* What was read: metrics by name, series by (metric, rank). */
struct series {
	int metric;
	long rank;
	struct lch_pt *pt;
	size_t n, cap;
};

struct metric {
	char *name;
	int scalar, other;	/* lines with "value"; with values/row */
	int want;		/* asked for (or all are) */
};

struct plot {
	const struct lch_plot_req *req;
	struct metric *m;
	size_t nm, capm;
	struct series *s;
	size_t ns, caps;
	uint32_t *mhash, *shash;	/* index + 1, 0 empty */
	size_t mhcap, shcap;		/* powers of two */
};

static uint64_t
fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 1099511628211ULL;
	return h;
}

#define FNV0 14695981039346656037ULL

static uint64_t
series_hash(int metric, long rank)
{
	return fnv(&rank, sizeof(rank), fnv(&metric, sizeof(metric), FNV0));
}

/* Doubles a table of n slots, re-placing entries by their hash. */
static uint32_t *
rehash(uint32_t *old, size_t *cap, const struct plot *p, int series)
{
	size_t ncap = *cap ? 2 * *cap : 64, i, k;
	uint32_t *t = lch_xcalloc(ncap, sizeof(*t));

	for (i = 0; i < *cap; i++) {
		uint64_t h;
		uint32_t e = old[i];

		if (e == 0)
			continue;
		h = series ? series_hash(p->s[e - 1].metric, p->s[e - 1].rank) :
		    fnv(p->m[e - 1].name, strlen(p->m[e - 1].name), FNV0);
		for (k = h & (ncap - 1); t[k]; k = (k + 1) & (ncap - 1))
			;
		t[k] = e;
	}
	free(old);
	*cap = ncap;
	return t;
}

static int
asked(const struct lch_plot_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nmetrics; i++)
		if (strcmp(r->metrics[i], name) == 0)
			return 1;
	return r->nmetrics == 0;
}

static int
metric_get(struct plot *p, const char *name)
{
	uint64_t h = fnv(name, strlen(name), FNV0);
	size_t k;

	if (2 * (p->nm + 1) > p->mhcap)
		p->mhash = rehash(p->mhash, &p->mhcap, p, 0);
	for (k = h & (p->mhcap - 1); p->mhash[k]; k = (k + 1) & (p->mhcap - 1))
		if (strcmp(p->m[p->mhash[k] - 1].name, name) == 0)
			return (int)p->mhash[k] - 1;
	if (p->nm == p->capm) {
		p->capm = p->capm ? 2 * p->capm : 16;
		p->m = lch_xrealloc(p->m, p->capm * sizeof(*p->m));
	}
	memset(&p->m[p->nm], 0, sizeof(p->m[p->nm]));
	p->m[p->nm].name = lch_xstrdup(name);
	p->m[p->nm].want = asked(p->req, name);
	p->mhash[k] = (uint32_t)++p->nm;
	return (int)p->nm - 1;
}

static struct series *
series_get(struct plot *p, int metric, long rank)
{
	size_t k;

	if (2 * (p->ns + 1) > p->shcap)
		p->shash = rehash(p->shash, &p->shcap, p, 1);
	for (k = series_hash(metric, rank) & (p->shcap - 1); p->shash[k];
	    k = (k + 1) & (p->shcap - 1)) {
		struct series *s = &p->s[p->shash[k] - 1];

		if (s->metric == metric && s->rank == rank)
			return s;
	}
	if (p->ns == p->caps) {
		p->caps = p->caps ? 2 * p->caps : 16;
		p->s = lch_xrealloc(p->s, p->caps * sizeof(*p->s));
	}
	memset(&p->s[p->ns], 0, sizeof(p->s[p->ns]));
	p->s[p->ns].metric = metric;
	p->s[p->ns].rank = rank;
	p->shash[k] = (uint32_t)++p->ns;
	return &p->s[p->ns - 1];
}

static void
pt_push(struct series *s, double x, double y)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->pt = lch_xrealloc(s->pt, s->cap * sizeof(*s->pt));
	}
	s->pt[s->n].x = x;
	s->pt[s->n++].y = y;
}

static void
on_line(const struct lch_mline *l, void *arg)
{
	struct plot *p = arg;
	int mi = metric_get(p, l->name);
	struct series *s;

	if (!l->scalar) {
		p->m[mi].other = 1;
		return;
	}
	p->m[mi].scalar = 1;
	if (!p->m[mi].want || !l->finite)
		return;
	s = series_get(p, mi, l->rank);
	pt_push(s, l->step >= 0 ? l->step : (double)s->n, l->value);
}

static void
plot_release(struct plot *p)
{
	size_t i;

	for (i = 0; i < p->nm; i++)
		free(p->m[i].name);
	for (i = 0; i < p->ns; i++)
		free(p->s[i].pt);
	free(p->m);
	free(p->s);
	free(p->mhash);
	free(p->shash);
}

static int
by_x(const void *a, const void *b)
{
	const struct lch_pt *x = a, *y = b;

	return (x->x > y->x) - (x->x < y->x);
}

static int
by_rank(const void *a, const void *b)
{
	const struct series *x = *(struct series *const *)a;
	const struct series *y = *(struct series *const *)b;

	return (x->rank > y->rank) - (x->rank < y->rank);
}

static void
sort_pts(struct lch_pt *v, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (v[i].x < v[i - 1].x) {
			qsort(v, n, sizeof(*v), by_x);
			return;
		}
}

/* One series of a chart, as drawn. */
struct line {
	char label[48];
	struct lch_pt *pt;
	size_t n;
	int owned;
};

/* The mean over the series at each step, as one line. */
static void
mean_line(struct series **s, size_t ns, struct line *out)
{
	size_t i, n = 0, k, o = 0;
	struct lch_pt *v;

	for (i = 0; i < ns; i++)
		n += s[i]->n;
	v = lch_xmalloc((n ? n : 1) * sizeof(*v));
	for (i = 0; i < ns; i++) {
		memcpy(v + o, s[i]->pt, s[i]->n * sizeof(*v));
		o += s[i]->n;
	}
	qsort(v, n, sizeof(*v), by_x);
	for (i = 0, o = 0; i < n; i = k) {
		double sum = 0;

		for (k = i; k < n && v[k].x == v[i].x; k++)
			sum += v[k].y;
		v[o].x = v[i].x;
		v[o++].y = sum / (double)(k - i);
	}
	out->pt = v;
	out->n = lch_downsample(v, o, SERIES_POINTS);
	out->owned = 1;
	snprintf(out->label, sizeof(out->label), "mean");
}

/* The metric's lines: one per rank (sorted, thinned), or the mean. */
static struct line *
chart_lines(struct plot *p, int metric, size_t *n)
{
	struct series **s = lch_xcalloc(p->ns + 1, sizeof(*s));
	struct line *ln;
	size_t i, ns = 0;

	for (i = 0; i < p->ns; i++)
		if (p->s[i].metric == metric && p->s[i].n > 0)
			s[ns++] = &p->s[i];
	qsort(s, ns, sizeof(*s), by_rank);
	for (i = 0; i < ns; i++)
		sort_pts(s[i]->pt, s[i]->n);
	ln = lch_xcalloc(ns + 1, sizeof(*ln));
	if (p->req->mean && ns > 0) {
		mean_line(s, ns, &ln[0]);
		*n = 1;
	} else {
		for (i = 0; i < ns; i++) {
			ln[i].pt = s[i]->pt;
			ln[i].n = lch_downsample(s[i]->pt, s[i]->n,
			    SERIES_POINTS);
			snprintf(ln[i].label, sizeof(ln[i].label), "rank %ld",
			    s[i]->rank);
		}
		*n = ns;
	}
	free(s);
	return ln;
}

/* A tick's label: the step's decimals, or %g for far-out values. */
static void
fmt_tick(char *buf, size_t len, double v, double step)
{
	int d = step < 1 ? (int)ceil(-log10(step) - 1e-9) : 0;

	if (fabs(v) < step * 1e-6)
		v = 0;
	if (fabs(v) >= 1e7 || (v != 0 && fabs(v) < 1e-4) || d > 6)
		snprintf(buf, len, "%.4g", v);
	else
		snprintf(buf, len, "%.*f", d, v);
}

/* An axis' scale: its ticks, and where a value falls (0..1). */
struct axis {
	double first, step, last;
	int nticks;
};

static double
axis_at(const struct axis *a, double v)
{
	double span = a->last / 2 - a->first / 2;

	return span > 0 ? (v / 2 - a->first / 2) / span : 0.5;
}

static void
axis_of(struct axis *a, const struct line *ln, size_t n, int x)
{
	double lo = INFINITY, hi = -INFINITY;
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < ln[i].n; k++) {
			double v = x ? ln[i].pt[k].x : ln[i].pt[k].y;

			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
	if (lo > hi)
		lo = hi = 0;
	a->nticks = lch_nice_ticks(lo, hi, x ? 8 : 6, x, &a->first, &a->step,
	    &a->last);
}

static void
svg_text(struct lch_strbuf *sb, double x, double y, const char *attrs,
	 const char *text)
{
	lch_strbuf_addf(sb, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
	lch_xml_escape(sb, text);
	ADDS(sb, "</text>\n");
}

/* Grid lines, ticks and their labels, and the axes' titles. */
static void
svg_axes(struct lch_strbuf *sb, const struct axis *xa, const struct axis *ya,
	 double top, const char *metric)
{
	char lab[64];
	double v, px;
	int i;

	ADDS(sb, "<g class=\"axes\">\n");
	for (i = 0; i < xa->nticks; i++) {
		v = xa->first + xa->step * i;
		px = PLOT_X + axis_at(xa, v) * PLOT_W;
		lch_strbuf_addf(sb, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" "
		    "x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n", px, top,
		    px, top + PLOT_H + 5);
		fmt_tick(lab, sizeof(lab), v, xa->step);
		svg_text(sb, px, top + PLOT_H + 19, "class=\"tick x\" "
		    "text-anchor=\"middle\"", lab);
	}
	for (i = 0; i < ya->nticks; i++) {
		v = ya->first + ya->step * i;
		px = top + PLOT_H - axis_at(ya, v) * PLOT_H;
		lch_strbuf_addf(sb, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" "
		    "x2=\"%d\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n", PLOT_X - 5,
		    px, PLOT_X + PLOT_W, px);
		fmt_tick(lab, sizeof(lab), v, ya->step);
		svg_text(sb, PLOT_X - 8, px + 4, "class=\"tick y\" "
		    "text-anchor=\"end\"", lab);
	}
	lch_strbuf_addf(sb, "<rect class=\"plot-area\" x=\"%d\" y=\"%.1f\" "
	    "width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888888\"/>\n",
	    PLOT_X, top, PLOT_W, PLOT_H);
	svg_text(sb, PLOT_X + PLOT_W / 2.0, top + PLOT_H + 42,
	    "class=\"axis-title x\" text-anchor=\"middle\"", "step");
	lch_strbuf_addf(sb, "<text class=\"axis-title y\" x=\"0\" y=\"0\" "
	    "text-anchor=\"middle\" transform=\"translate(22,%.1f) "
	    "rotate(-90)\">", top + PLOT_H / 2.0);
	lch_xml_escape(sb, metric);
	ADDS(sb, "</text>\n</g>\n");
}

static void
svg_style(struct lch_strbuf *sb, size_t i)
{
	const char *d = dashes[(i / NCOLORS) % (sizeof(dashes) /
	    sizeof(dashes[0]))];

	lch_strbuf_addf(sb, "stroke=\"%s\"", palette[i % NCOLORS]);
	if (d)
		lch_strbuf_addf(sb, " stroke-dasharray=\"%s\"", d);
}

/* A line as one path; a single point as a dot (a round cap). */
static void
svg_path(struct lch_strbuf *sb, const struct line *ln, size_t i,
	 const struct axis *xa, const struct axis *ya, double top)
{
	size_t k;

	ADDS(sb, "<path class=\"series\" data-series=\"");
	lch_xml_escape(sb, ln->label);
	ADDS(sb, "\" fill=\"none\" stroke-width=\"2\" "
	    "stroke-linejoin=\"round\" stroke-linecap=\"round\" ");
	svg_style(sb, i);
	ADDS(sb, " d=\"");
	for (k = 0; k < ln->n; k++)
		lch_strbuf_addf(sb, "%c%.1f,%.1f", k ? 'L' : 'M',
		    PLOT_X + axis_at(xa, ln->pt[k].x) * PLOT_W,
		    top + PLOT_H - axis_at(ya, ln->pt[k].y) * PLOT_H);
	if (ln->n == 1)
		ADDS(sb, "l0,0");
	ADDS(sb, "\"/>\n");
}

static void
svg_legend(struct lch_strbuf *sb, const struct line *ln, size_t n,
	   double top)
{
	size_t i;
	double y;

	ADDS(sb, "<g class=\"legend\">\n");
	for (i = 0; i < n; i++) {
		y = top + 8 + LEGEND_ROW * (double)i;
		ADDS(sb, "<g class=\"legend-entry\" data-series=\"");
		lch_xml_escape(sb, ln[i].label);
		lch_strbuf_addf(sb, "\"><line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
		    "y2=\"%.1f\" stroke-width=\"3\" ", LEGEND_X, y, LEGEND_X + 22,
		    y);
		svg_style(sb, i);
		ADDS(sb, "/>");
		svg_text(sb, LEGEND_X + 28, y + 4, "class=\"legend-label\"",
		    ln[i].label);
		ADDS(sb, "</g>\n");
	}
	ADDS(sb, "</g>\n");
}

static double
chart_height(size_t nlines)
{
	double h = PLOT_TOP + LEGEND_ROW * (double)nlines + 24;

	return h > CHART_H ? h : CHART_H;
}

/* One metric's chart at y = top. */
static void
svg_chart(struct lch_strbuf *sb, const struct plot *p, int metric,
	  struct line *ln, size_t n, double top)
{
	const char *name = p->m[metric].name;
	struct axis xa, ya;
	char *title;
	size_t i;

	axis_of(&xa, ln, n, 1);
	axis_of(&ya, ln, n, 0);
	ADDS(sb, "<g class=\"chart\" data-metric=\"");
	lch_xml_escape(sb, name);
	ADDS(sb, "\">\n");
	title = lch_xasprintf("%s (run %s%s)", name, p->req->id, p->req->mean ?
	    ", mean over ranks" : "");
	svg_text(sb, PLOT_X + PLOT_W / 2.0, top + 26, "class=\"title\" "
	    "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\"",
	    title);
	free(title);
	svg_axes(sb, &xa, &ya, top + PLOT_TOP, name);
	if (n == 0)
		svg_text(sb, PLOT_X + PLOT_W / 2.0, top + PLOT_TOP + PLOT_H / 2.0,
		    "class=\"empty\" text-anchor=\"middle\"",
		    "no finite values");
	for (i = 0; i < n; i++)
		svg_path(sb, &ln[i], i, &xa, &ya, top + PLOT_TOP);
	svg_legend(sb, ln, n, top + PLOT_TOP);
	ADDS(sb, "</g>\n");
}

/* The charts' metrics, in order; 0 after a message when one is not there. */
static int
chart_metrics(const struct plot *p, int *out, size_t *n)
{
	struct lch_strbuf names = LCH_STRBUF_INIT;
	const struct lch_plot_req *r = p->req;
	size_t i, k;

	*n = 0;
	for (i = 0; i < r->nmetrics; i++) {
		for (k = 0; k < p->nm && strcmp(p->m[k].name, r->metrics[i]);
		    k++)
			;
		if (k < p->nm && p->m[k].scalar) {
			out[(*n)++] = (int)k;
			continue;
		}
		for (k = 0; k < p->nm; k++)
			if (p->m[k].scalar)
				lch_strbuf_addf(&names, "%s%s", names.len ?
				    ", " : "", p->m[k].name);
		lch_msg("run %s: no scalar metric '%s' (its metrics: %s)",
		    r->id, r->metrics[i], names.len ? names.buf : "none");
		lch_strbuf_release(&names);
		return -1;
	}
	for (k = 0; r->nmetrics == 0 && k < p->nm; k++)
		if (p->m[k].scalar)
			out[(*n)++] = (int)k;
	return 0;
}

static char *
svg_doc(struct plot *p, const int *charts, size_t nc)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT, body = LCH_STRBUF_INIT;
	struct line *ln;
	double top = 0;
	size_t c, n, i;

	for (c = 0; c < nc; c++) {
		ln = chart_lines(p, charts[c], &n);
		svg_chart(&body, p, charts[c], ln, n, top);
		top += chart_height(n);
		for (i = 0; i < n; i++)
			if (ln[i].owned)
				free(ln[i].pt);
		free(ln);
	}
	lch_strbuf_addf(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%.0f\" viewBox=\"0 0 %d %.0f\" font-family=\"sans-serif\" "
	    "font-size=\"12\">\n<title>", SVG_W, top, SVG_W, top);
	lch_xml_escape(&sb, "muster run ");
	lch_xml_escape(&sb, p->req->id);
	lch_strbuf_addf(&sb, "</title>\n<rect width=\"%d\" height=\"%.0f\" "
	    "fill=\"#ffffff\"/>\n", SVG_W, top);
	lch_strbuf_add(&sb, body.buf, body.len);
	ADDS(&sb, "</svg>\n");
	lch_strbuf_release(&body);
	return sb.buf;
}

/* RUN_DIR/plot.svg, or plot-METRIC.svg for one metric named. */
static char *
out_path(const struct lch_plot_req *r)
{
	char *name, *c;

	if (r->out)
		return lch_xstrdup(r->out);
	if (r->nmetrics != 1)
		return lch_xasprintf("%s/plot.svg", r->dir);
	name = lch_xstrdup(r->metrics[0]);
	for (c = name; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-", *c))
			*c = '_';
	c = lch_xasprintf("%s/plot-%s.svg", r->dir, name);
	free(name);
	return c;
}

/* Writes doc to path through a temporary and a rename; 0 or -1 (said). */
static int
write_doc(const char *path, const char *doc)
{
	char *tmp;
	int fd, rc = 0;

	if (strcmp(path, "-") == 0)
		return lch_write_all(1, doc, strlen(doc)) == 0 ? 0 : -1;
	tmp = lch_xasprintf("%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd < 0 || lch_write_all(fd, doc, strlen(doc)) != 0 ||
	    close(fd) != 0 || rename(tmp, path) != 0) {
		lch_msg("cannot write %s: %s (give -o FILE)", path,
		    strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		rc = -1;
	}
	free(tmp);
	return rc;
}

int
lch_runs_plot(const struct lch_plot_req *r)
{
	struct plot p;
	char *path = lch_xasprintf("%s/metrics.jsonl", r->dir), *doc, *out;
	long bad, bad_line;
	int *charts = NULL, rc = 1;
	size_t nc;

	memset(&p, 0, sizeof(p));
	p.req = r;
	if (lch_metrics_scan(path, on_line, &p, &bad, &bad_line) != 0) {
		lch_msg("run %s: %s: %s (no metric was logged)", r->id, path,
		    strerror(errno));
		goto out;
	}
	if (bad > 0)
		lch_msg("%s: %ld line%s that are no metric skipped (the first: "
		    "line %ld)", path, bad, bad == 1 ? "" : "s", bad_line);
	charts = lch_xcalloc(p.nm + 1, sizeof(*charts));
	if (chart_metrics(&p, charts, &nc) != 0) {
		rc = 2;
		goto out;
	}
	if (nc == 0) {
		lch_msg("run %s: no scalar metric in %s to plot", r->id, path);
		goto out;
	}
	doc = svg_doc(&p, charts, nc);
	out = out_path(r);
	if (write_doc(out, doc) == 0) {
		rc = 0;
		if (strcmp(out, "-") != 0)
			printf("%s\n", out);
	}
	free(out);
	free(doc);
out:
	free(charts);
	plot_release(&p);
	free(path);
	return rc;
}
