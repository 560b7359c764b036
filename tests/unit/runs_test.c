/*
 * runs_test.c: the pure pieces of `muster runs/show/plot/compare`
 * (runs.h): nice ticks, downsampling, the best rule, run id matching,
 * XML escaping.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "runs.h"
#include "test.h"

static int
near(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b) + 1e-300);
}

/* ticks cover [lo, hi] at a 1-2-5 step, about want of them */
static void
check_ticks(double lo, double hi, int want, int integer, double first,
	    double step, double last)
{
	double f, s, l;
	int n = lch_nice_ticks(lo, hi, want, integer, &f, &s, &l);

	CHECK_(near(f, first) && near(s, step) && near(l, last),
	    "[%g, %g] want %d: got %g..%g step %g (%d), want %g..%g step %g",
	    lo, hi, want, f, l, s, n, first, last, step);
	CHECK_INT(n, (int)llround((last - first) / step) + 1);
	CHECK_(f <= lo + s * 1e-9 && l >= hi - s * 1e-9, "[%g, %g]: %g..%g", lo, hi, f, l);
}

static void
test_nice_ticks(void)
{
	check_ticks(0, 1, 5, 0, 0, 0.2, 1);
	check_ticks(0.43, 2.17, 6, 0, 0.4, 0.2, 2.2);
	check_ticks(0, 19, 8, 1, 0, 2, 20);
	check_ticks(0, 19, 4, 1, 0, 5, 20);
	check_ticks(0, 3, 8, 1, 0, 1, 3);	/* never a step under 1 */
	check_ticks(-3.5, 7.2, 5, 0, -4, 2, 8);
	check_ticks(0, 1e6, 5, 0, 0, 2e5, 1e6);
	check_ticks(1e-6, 5e-6, 4, 0, 1e-6, 1e-6, 5e-6);
	check_ticks(-0.2, -0.1, 5, 0, -0.2, 0.02, -0.1);
	/* one value: widened around it */
	check_ticks(5, 5, 6, 0, 4.4, 0.2, 5.6);
	check_ticks(0, 0, 6, 0, -1, 0.5, 1);
	check_ticks(7, 7, 8, 1, 6, 1, 8);
}

static void
test_nice_ticks_extremes(void)
{
	double f, s, l;
	int n = lch_nice_ticks(-1.7e308, 1.7e308, 6, 0, &f, &s, &l);

	CHECK(isfinite(f) && isfinite(s) && isfinite(l));
	CHECK(n >= 2 && n <= 20);
	n = lch_nice_ticks(1, 1 + 1e-12, 6, 0, &f, &s, &l);
	CHECK(n >= 2 && n <= 20 && s > 0);
}

/* the result: few points, first and last kept, each bucket's extremes */
static void
test_downsample(void)
{
	size_t n = 100000, i, k;
	struct lch_pt *v = malloc(n * sizeof(*v));
	double ymin = 1e9, ymax = -1e9;

	for (i = 0; i < n; i++) {
		v[i].x = (double)i;
		v[i].y = sin((double)i / 1000.0);
	}
	v[31337].y = 50;	/* a spike */
	v[77777].y = -50;
	k = lch_downsample(v, n, 2000);
	CHECK(k <= 2000 && k > 1000);
	CHECK(v[0].x == 0 && v[k - 1].x == (double)(n - 1));
	for (i = 0; i < k; i++) {
		CHECK(i == 0 || v[i].x > v[i - 1].x);
		ymin = v[i].y < ymin ? v[i].y : ymin;
		ymax = v[i].y > ymax ? v[i].y : ymax;
	}
	CHECK(ymax == 50 && ymin == -50);
	free(v);
}

static void
test_downsample_small(void)
{
	struct lch_pt v[5] = { { 0, 1 }, { 1, 2 }, { 2, 3 }, { 3, 4 }, { 4, 5 } };
	struct lch_pt same[300];
	size_t i, k;

	CHECK_INT(lch_downsample(v, 5, 2000), 5);
	CHECK_INT(lch_downsample(v, 1, 2000), 1);
	CHECK_INT(lch_downsample(v, 0, 2000), 0);
	/* every point at one step: the extremes of it survive */
	for (i = 0; i < 300; i++) {
		same[i].x = 7;
		same[i].y = (double)((i * 37) % 300);
	}
	k = lch_downsample(same, 300, 10);
	CHECK(k <= 10);
	for (i = 0; i < k && same[i].y != 299; i++)
		;
	CHECK(i < k);
	for (i = 0; i < k && same[i].y != 0; i++)
		;
	CHECK(i < k);
}

static void
test_best_rule(void)
{
	CHECK(lch_metric_lower_better("loss"));
	CHECK(lch_metric_lower_better("val_loss"));
	CHECK(lch_metric_lower_better("Train/Loss"));
	CHECK(lch_metric_lower_better("top1_error"));
	CHECK(lch_metric_lower_better("err"));
	CHECK(lch_metric_lower_better("perplexity"));
	CHECK(lch_metric_lower_better("val_ppl"));
	CHECK(lch_metric_lower_better("mse"));
	CHECK(lch_metric_lower_better("MAE"));
	CHECK(lch_metric_lower_better("step_time"));
	CHECK(lch_metric_lower_better("latency_ms"));
	CHECK(!lch_metric_lower_better("acc"));
	CHECK(!lch_metric_lower_better("accuracy"));
	CHECK(!lch_metric_lower_better("f1"));
	CHECK(!lch_metric_lower_better("samples_per_sec"));
	CHECK(!lch_metric_lower_better("lr"));
}

static void
test_match(void)
{
	const char *names[] = { "abc123", "abd456", "xyz", "xyz.1" };
	size_t hits;

	CHECK_INT(lch_runs_match(names, 4, "abc123", &hits), 0);
	CHECK_INT(hits, 1);
	CHECK_INT(lch_runs_match(names, 4, "abc", &hits), 0);
	CHECK_INT(lch_runs_match(names, 4, "abd", &hits), 1);
	CHECK_INT(lch_runs_match(names, 4, "ab", &hits), -2);
	CHECK_INT(hits, 2);
	/* an exact name wins over the longer one it is a prefix of */
	CHECK_INT(lch_runs_match(names, 4, "xyz", &hits), 2);
	CHECK_INT(lch_runs_match(names, 4, "xyz.", &hits), 3);
	CHECK_INT(lch_runs_match(names, 4, "q", &hits), -1);
	CHECK_INT(hits, 0);
	CHECK_INT(lch_runs_match(names, 4, "", &hits), -1);
	CHECK_INT(lch_runs_match(names, 0, "abc", &hits), -1);
	CHECK_INT(lch_runs_match(names, 4, "abc1234", &hits), -1);
}

static void
check_escape(const char *in, const char *want)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;

	lch_xml_escape(&sb, in);
	CHECK_STR(sb.buf, want);
	lch_strbuf_release(&sb);
}

static void
test_xml_escape(void)
{
	check_escape("loss", "loss");
	check_escape("a<b>&\"c'", "a&lt;b&gt;&amp;&quot;c&apos;");
	check_escape("x\x01y\x1f\tz\n", "x?y?\tz\n");
	check_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* not UTF-8: a lone continuation, a cut sequence, overlong, U+FFFE */
	check_escape("a\x80z", "a?z");
	check_escape("a\xe2\x82", "a??");
	check_escape("\xc0\xaf", "??");
	check_escape("\xef\xbf\xbe", "???");
	check_escape("\xed\xa0\x80", "???");	/* a surrogate */
	check_escape("", "");
}

TEST_LIST = {
	{ "nice_ticks", test_nice_ticks },
	{ "nice_ticks_extremes", test_nice_ticks_extremes },
	{ "downsample", test_downsample },
	{ "downsample_small", test_downsample_small },
	{ "best_rule", test_best_rule },
	{ "match", test_match },
	{ "xml_escape", test_xml_escape },
	{ NULL, NULL }
};
