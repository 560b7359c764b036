/*
 * progress.h: the head's progress line on a terminal.
 *
 *	muster: nodes 2/2 up, ranks 7/8 running, 1:05 elapsed, loss 0.43 @ step 12
 *
 * drawn on stderr, in place ("\r" LINE "\033[K"), only when stderr is a
 * terminal and without --quiet; never on a pipe or a file.  It is redrawn
 * at most LCH_PROGRESS_MS apart, when its text changed, and only while the
 * terminal's cursor is at the start of a line (no rank's line is half
 * written there).  Before anything else goes to the terminal (the
 * ranks' output on stderr, and on stdout when stdout is the same
 * terminal; every lch_msg) it is erased ("\r\033[K"), and redrawn after;
 * lch_progress_end erases it for good.  The last metric comes from a
 * callback (the metrics sink fills it, metrics.h): text such as
 * "loss 0.43 @ step 120", or NULL while there is none.
 */
#ifndef LCH_PROGRESS_H
#define LCH_PROGRESS_H

#define LCH_PROGRESS_MS 250	/* at most 4 redraws a second */
#define LCH_PROGRESS_MAX 256	/* bytes of the line, at most */

typedef const char *lch_progress_metric_fn(void *arg);

struct lch_progress {
	int on;			/* stderr is a terminal, not --quiet */
	int shown;		/* the line is on the terminal now */
	int stdout_too;		/* stdout is the same terminal */
	long long start_ms, drawn_ms;
	/* what the line says: the head sets them */
	int nodes_up, nnodes, running, np;
	lch_progress_metric_fn *metric;	/* or NULL */
	void *metric_arg;
	char line[LCH_PROGRESS_MAX];	/* what was drawn last */
};

/*
 * Sets pg up (on or off, as above) for a job of nnodes nodes and np
 * ranks; with it on, every lch_msg erases the line first.
 */
void lch_progress_init(struct lch_progress *pg, int quiet, int nnodes,
		       int np);
/* The hook of the metrics sink: the last metric's text, or NULL. */
void lch_progress_set_metric(struct lch_progress *pg,
			     lch_progress_metric_fn *fn, void *arg);
/* Erases the line if it is shown (before other output goes there). */
void lch_progress_hide(struct lch_progress *pg);
/*
 * Draws the line when it is due; may_draw: the terminal's cursor is at
 * the start of a line and nothing waits to be written there.
 */
void lch_progress_tick(struct lch_progress *pg, int may_draw);
/* Milliseconds until a redraw may be due (a poll timeout), -1: never. */
long long lch_progress_wait_ms(const struct lch_progress *pg);
/* Erases the line and draws no more (the job ended). */
void lch_progress_end(struct lch_progress *pg);

#endif /* LCH_PROGRESS_H */
