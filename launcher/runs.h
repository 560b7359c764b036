/*
 * runs.h: the commands that read run records (runrec.h, metrics.h):
 *
 *	muster runs [--json]			past runs, newest first
 *	muster show ID [--json]			one run: summary, ranks, metrics
 *	muster plot ID [METRIC...] [--mean] [-o FILE]	an SVG line chart
 *	muster compare ID ID [ID...]		runs side by side
 *	muster stacks [ID]			every rank's stack of a running
 *						job (stacks.h): its launcher
 *						takes them on SIGUSR1
 *
 * Each takes --runs-dir D (else $MUSTER_RUNS_DIR, else ./muster-runs).
 * An ID is a run's directory name under it, a unique prefix of one, a
 * path to a run directory (it holds a '/', or is "." or ".."), or
 * "latest" / "-1" (the newest by run.json's "start"; "-2" the one
 * before...).  Bad usage or input (no such run, an ambiguous prefix, a
 * run.json that is no version-1 run, an unknown metric) is one line on
 * stderr and exit 2; a plot that cannot be written, or a run with no
 * metric to plot, exit 1.
 *
 * A run whose run.json says Starting or Running while no launcher holds
 * its .lock is shown as Interrupted (the launcher was killed).
 */
#ifndef LCH_RUNS_H
#define LCH_RUNS_H

#include <stddef.h>

#include "strbuf.h"

/* argv[0] is the command's name ("runs", "show", "plot", "compare"). */
int lch_runs_main(int argc, char **argv);
/* Whether argv[1] names one of those commands (main.c dispatches on it). */
int lch_runs_is_command(const char *word);

/*
 * The pieces, exposed for tests/unit/runs_test.c.
 */

/*
 * Ticks for an axis over [lo, hi]: about want of them (from want/1.4
 * to 1.4 * want + 1) at a 1-2-5 step (1, 2 or 5 times a power of ten;
 * at least 1 when integer), from
 * *first (a multiple of *step at or below lo) to *last (at or above hi).
 * lo == hi is widened around the value.  Returns the tick count.
 */
int lch_nice_ticks(double lo, double hi, int want, int integer,
		   double *first, double *step, double *last);

/* A point of a series: x the step, y the value. */
struct lch_pt {
	double x, y;
};
/*
 * Keeps at most about max points of the n in v (sorted by x), in place:
 * the first and the last, and in each of max/2 - 1 buckets of equal x
 * width the lowest and the highest (in x order), so spikes survive.
 * Returns the new count (n when n <= max).
 */
size_t lch_downsample(struct lch_pt *v, size_t n, size_t max);

/*
 * Whether a lower value of metric name is better: its name holds (any
 * case) loss, err, perplexity, ppl, mse, mae, time or latency; else a
 * higher one is ("best" in show and compare).
 */
int lch_metric_lower_better(const char *name);

/*
 * Which of names[0..n) id picks: one equal to it, else the only one it
 * is a prefix of.  Returns the index, -1 when none, -2 when several
 * start with it (*nmatch says how many; 1 or 0 otherwise).
 */
long lch_runs_match(const char *const *names, size_t n, const char *id,
		    size_t *nmatch);

/*
 * Appends s to sb as XML text or attribute content: & < > " ' escaped,
 * control bytes (but tab and newline) and bytes that are not UTF-8 as
 * '?', so any name makes a well-formed document.
 */
void lch_xml_escape(struct lch_strbuf *sb, const char *s);

/*
 * Between runs.c and runplot.c.
 */

/* One line of metrics.jsonl as lch_metrics_scan gives it. */
struct lch_mline {
	long rank;
	const char *name;
	double step;		/* -1 when absent */
	double value;		/* when finite */
	int scalar;		/* "value" (else "values" or "row") */
	int finite;		/* a number, not null */
};
typedef void (*lch_mline_fn)(const struct lch_mline *m, void *arg);
/*
 * Streams path line by line (memory: one line), calling fn for each
 * metric; a line that is none (not JSON, no name) is counted in *bad,
 * the first one's number in *bad_line, unless it is the last and has no
 * newline yet (a writer is at it).  0, or -1 with errno when path
 * cannot be read.
 */
int lch_metrics_scan(const char *path, lch_mline_fn fn, void *arg,
		     long *bad, long *bad_line);

/* What `muster plot` was given, its run resolved. */
struct lch_plot_req {
	const char *dir;	/* the run directory */
	const char *id;		/* its id, for titles */
	const char *const *metrics;	/* names asked for, or none */
	size_t nmetrics;
	int mean;		/* --mean */
	const char *out;	/* -o FILE ("-": stdout), or NULL */
};
/* Writes the chart and prints its path; the exit code. */
int lch_runs_plot(const struct lch_plot_req *r);

#endif /* LCH_RUNS_H */
