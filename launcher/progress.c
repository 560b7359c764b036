/* progress.c: see progress.h. */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "progress.h"
#include "util.h"

#define ERASE "\r\033[K"

static struct lch_progress *active;	/* the one lch_msg erases */

/* Whether fds a and b are the same terminal. */
static int
same_tty(int a, int b)
{
	struct stat sa, sb;

	return isatty(a) && isatty(b) && fstat(a, &sa) == 0 &&
	    fstat(b, &sb) == 0 && sa.st_rdev == sb.st_rdev;
}

static void
msg_hook(void)
{
	if (active)
		lch_progress_hide(active);
}

void
lch_progress_init(struct lch_progress *pg, int quiet, int nnodes, int np)
{
	memset(pg, 0, sizeof(*pg));
	pg->nnodes = nnodes;
	pg->np = np;
	pg->start_ms = (long long)mst_now_ms();
	/* the first draw waits a moment: a job that ends at once shows none */
	pg->drawn_ms = pg->start_ms;
	pg->on = !quiet && isatty(2);
	if (!pg->on)
		return;
	pg->stdout_too = same_tty(1, 2);
	active = pg;
	lch_msg_hook = msg_hook;
}

void
lch_progress_set_metric(struct lch_progress *pg, lch_progress_metric_fn *fn,
			void *arg)
{
	pg->metric = fn;
	pg->metric_arg = arg;
}

void
lch_progress_hide(struct lch_progress *pg)
{
	if (!pg->shown)
		return;
	pg->shown = 0;
	(void)lch_write_all(2, ERASE, sizeof(ERASE) - 1);
}

/* The line's text for now, cut to the terminal's width. */
static void
progress_text(const struct lch_progress *pg, char *buf, size_t len)
{
	long long s = ((long long)mst_now_ms() - pg->start_ms) / 1000;
	const char *m = pg->metric ? pg->metric(pg->metric_arg) : NULL;
	struct winsize ws;
	size_t cols = 80;
	int n;

	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		cols = ws.ws_col;
	if (s >= 3600)
		n = snprintf(buf, len, "muster: nodes %d/%d up, ranks %d/%d "
		    "running, %lld:%02lld:%02lld elapsed", pg->nodes_up,
		    pg->nnodes, pg->running, pg->np, s / 3600, s / 60 % 60,
		    s % 60);
	else
		n = snprintf(buf, len, "muster: nodes %d/%d up, ranks %d/%d "
		    "running, %lld:%02lld elapsed", pg->nodes_up, pg->nnodes,
		    pg->running, pg->np, s / 60, s % 60);
	if (m && *m && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", %s", m);
	/* one column spare: a full row would wrap where the terminal does */
	if (cols > 1 && strlen(buf) > cols - 1)
		buf[cols - 1] = '\0';
}

void
lch_progress_tick(struct lch_progress *pg, int may_draw)
{
	char text[LCH_PROGRESS_MAX], out[LCH_PROGRESS_MAX + 8];
	long long now = (long long)mst_now_ms();
	int n;

	if (!pg->on || !may_draw || now - pg->drawn_ms < LCH_PROGRESS_MS)
		return;
	progress_text(pg, text, sizeof(text));
	if (pg->shown && strcmp(text, pg->line) == 0)
		return;
	n = snprintf(out, sizeof(out), "\r%s\033[K", text);
	(void)lch_write_all(2, out, (size_t)n);
	memcpy(pg->line, text, sizeof(text));
	pg->shown = 1;
	pg->drawn_ms = now;
}

long long
lch_progress_wait_ms(const struct lch_progress *pg)
{
	long long t;

	if (!pg->on)
		return -1;
	/* due already, yet not drawn (nothing changed, or the terminal is
	 * mid-line): look again a period later, never spin */
	t = pg->drawn_ms + LCH_PROGRESS_MS - (long long)mst_now_ms();
	return t <= 0 ? LCH_PROGRESS_MS : t;
}

void
lch_progress_end(struct lch_progress *pg)
{
	if (!pg->on)
		return;
	lch_progress_hide(pg);
	pg->on = 0;
	if (active == pg) {
		active = NULL;
		lch_msg_hook = NULL;
	}
}
