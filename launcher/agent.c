/* agent.c: see agent.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "clock.h"
#include "facts.h"
#include "flight.h"
#include "gather.h"
#include "metrics.h"
#include "outq.h"
#include "place.h"
#include "pystacks.h"
#include "records.h"
#include "relay.h"
#include "spawn.h"
#include "stacks.h"
#include "strbuf.h"
#include "util.h"
#include "warden.h"

/* A stream's buffer: a split line and one more read fit. */
#define STREAM_MAX (LCH_REC_LINE_MAX + 4096)
#define DRAIN_MS 300	/* after a worker is reaped, wait this long for EOF */
#define REAP_POLL_MS 100	/* a worker with closed pipes not yet reaped */
/* Records queued past this: stop reading the workers (they wait). */
#define OUT_HIGH (2 * LCH_REC_MAX)


struct wstate {
	const struct lch_agent_worker *w;
	pid_t pid;
	int fd[2];		/* stdout, stderr read ends; -1 when closed */
	int logfd[2];
	char *logpath[2];	/* for messages */
	struct lch_strbuf lb[2];	/* a partial line per stream */
	int reaped, reported, code;
	long long reaped_at;
	char prefix[2][LCH_REC_PREFIX_MAX];	/* "o[3] "/"e[3] ", or "[3] " */
	size_t plen[2];
	int piece[2];		/* the last line sent was a piece (O, E) */
	int cr[2];		/* ... and it ended in '\r' (a redrawn bar) */
	struct lch_metrics_in min;	/* its metrics FIFO (metrics.h) */
	struct agent *a;
};

struct agent {
	const struct lch_agent_cfg *c;
	struct wstate *ws;
	struct lch_outq out[2];		/* fd 1, fd 2 */
	struct lch_strbuf ctl;		/* a partial command line */
	int sigfd[2];
	int running;		/* workers not yet reported */
	int first_code;		/* 0 until a worker fails */
	int stopping;
	long long kill_at;	/* SIGKILL deadline, 0 = none */
	long long term_at;	/* delayed stop after a forwarded signal */
	int forwarded;		/* a signal was forwarded to the workers */
	int ctl_open;
	int gather_go;		/* "gather NODE" came (gather.h) */
	int killed;		/* "kill" came */
	pid_t snap_pid;		/* the stack snapshotter (stacks.h), or 0 */
	int snap_fd;		/* its records, -1: none */
	struct lch_strbuf snap;	/* a partial line of them */
	long long beat_at;	/* our next y record (beat_ms) */
	long long heard_at;	/* the head's last line */
	long long beat_ran;	/* beat() last ran */
};

static void stop_all(struct agent *a, int sig);
static void read_control(struct agent *a);

static void
flush_out(struct agent *a)
{
	int i;

	for (i = 0; i < 2; i++)
		if (lch_outq_flush(&a->out[i]) < 0 && !a->c->direct &&
		    a->ctl_open) {
			/* The head is gone: stop everything. */
			a->ctl_open = 0;
			stop_all(a, SIGTERM);
		}
}

/* Records wait for the head: do not read the workers meanwhile. */
static int
out_full(const struct agent *a)
{
	return lch_outq_pending(&a->out[0]) > OUT_HIGH;
}

/* Records still queued at the end: until the head takes them or goes. */
static void
drain_out(struct agent *a)
{
	struct pollfd pfd[2];

	for (flush_out(a); !a->c->direct && a->ctl_open &&
	    lch_outq_pending(&a->out[0]); flush_out(a)) {
		pfd[0] = (struct pollfd){ a->out[0].fd, POLLOUT, 0 };
		pfd[1] = (struct pollfd){ a->c->control_fd, POLLIN, 0 };
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)	/* "gather NODE" may come now */
			read_control(a);
	}
}

/*
 * The workers ended, their records went: wait for the head's "gather
 * NODE" (gather.h).  EOF, "kill" or a signal to stop end the wait.
 */
static void
wait_gather(struct agent *a)
{
	struct pollfd pfd[2];
	unsigned char b[64];
	ssize_t n, i;

	while (!a->gather_go && !a->killed && a->ctl_open) {
		pfd[0] = (struct pollfd){ a->c->control_fd, POLLIN, 0 };
		pfd[1] = (struct pollfd){ a->sigfd[0], POLLIN, 0 };
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return;
		if (pfd[0].revents)
			read_control(a);
		if (!pfd[1].revents)
			continue;
		while ((n = read(a->sigfd[0], b, sizeof(b))) > 0)
			for (i = 0; i < n; i++)
				if (b[i] == SIGTERM || b[i] == SIGHUP ||
				    b[i] == SIGINT)
					return;
	}
}

/*
 * A line from a worker stream (without its newline), or with more a
 * piece of one that goes on (records.h: O and E records).  In direct mode
 * the rank has the stream to itself: a piece is printed as it is and the
 * rest follows it.
 */
static void
emit_line(struct agent *a, struct wstate *ws, int stream, const char *s,
	  size_t n, int more)
{
	struct lch_outq *o = &a->out[a->c->direct ? stream : 0];
	char prefix[LCH_REC_PREFIX_MAX];

	memcpy(prefix, ws->prefix[stream], sizeof(prefix));
	if (more && !a->c->direct)
		prefix[0] = (char)(stream ? LCH_REC_ERR_MORE : LCH_REC_OUT_MORE);
	if (!(a->c->direct && ws->piece[stream] && (!ws->cr[stream] ||
	    n == 0)))	/* the tag again after '\r', not before "\n" */
		lch_outq_add(o, prefix, ws->plen[stream]);
	lch_outq_add(o, s, n);
	if (!more || !a->c->direct)	/* a record ends with its newline */
		lch_outq_add(o, "\n", 1);
	ws->piece[stream] = more;
	ws->cr[stream] = more && n > 0 && s[n - 1] == '\r';
}

/*
 * A progress bar redraws with '\r' and no newline: what is buffered up
 * to each '\r' goes at once, as a piece of its own.
 */
static size_t
drain_bars(struct agent *a, struct wstate *ws, int stream, size_t start)
{
	struct lch_strbuf *lb = &ws->lb[stream];
	char *cr;

	while ((cr = memchr(lb->buf + start, '\r', lb->len - start)) != NULL) {
		emit_line(a, ws, stream, lb->buf + start,
		    (size_t)(cr + 1 - (lb->buf + start)), 1);
		start = (size_t)(cr + 1 - lb->buf);
	}
	return start;
}

/*
 * Splits what is buffered into lines; at EOF a partial line goes too:
 * to the head as a piece that nothing follows (records.h), so that its
 * logs keep it without a newline; printed directly, ended by one.
 */
static void
drain_lines(struct agent *a, struct wstate *ws, int stream, int eof)
{
	struct lch_strbuf *lb = &ws->lb[stream];
	int last_more = !eof || !a->c->direct;
	size_t start = 0;
	char *nl;

	while ((nl = memchr(lb->buf + start, '\n', lb->len - start)) != NULL) {
		emit_line(a, ws, stream, lb->buf + start,
		    (size_t)(nl - (lb->buf + start)), 0);
		start = (size_t)(nl - lb->buf) + 1;
	}
	if (!eof)
		start = drain_bars(a, ws, stream, start);
	if ((eof || lb->len - start >= LCH_REC_LINE_MAX) && lb->len > start) {
		emit_line(a, ws, stream, lb->buf + start, lb->len - start,
		    last_more);
		start = lb->len;
	} else if (eof && ws->piece[stream] && a->c->direct) {
		emit_line(a, ws, stream, "", 0, 0);	/* its newline */
	}
	lch_strbuf_consume(lb, start);
}

static void
add_end(struct agent *a, int type, int rank, int num, int code)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;

	lch_rec_add_end(&sb, type, rank, num, code);
	lch_outq_add(&a->out[0], sb.buf, sb.len);
	lch_strbuf_release(&sb);
}

/* A log write failed (a full disk): said once, the head told, log closed. */
static void
log_failed(struct agent *a, struct wstate *ws, int stream)
{
	int e = errno;

	lch_msg("cannot write the log '%s' of rank %d: %s: the rest of it is "
	    "lost", ws->logpath[stream], ws->w->rank, strerror(e));
	close(ws->logfd[stream]);
	ws->logfd[stream] = -1;
	if (a->c->direct) {
		if (a->first_code == 0)
			a->first_code = LCH_EXIT_IOERR;
	} else
		add_end(a, LCH_REC_LOGERR, ws->w->rank, e, stream);
}

static void
read_stream(struct agent *a, struct wstate *ws, int stream)
{
	struct lch_strbuf *lb = &ws->lb[stream];
	ssize_t n;

	n = lch_strbuf_read_once(lb, ws->fd[stream], STREAM_MAX);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		drain_lines(a, ws, stream, 1);
		close(ws->fd[stream]);
		ws->fd[stream] = -1;
		return;
	}
	if (ws->logfd[stream] >= 0 && lch_write_all(ws->logfd[stream],
	    lb->buf + lb->len - (size_t)n, (size_t)n) != 0)
		log_failed(a, ws, stream);
	drain_lines(a, ws, stream, 0);
}

/* A rank's metric line: an m record, or in direct mode the sink's. */
static void
metric_line(void *arg, const char *line, size_t n)
{
	struct wstate *ws = arg;
	struct agent *a = ws->a;
	char prefix[LCH_REC_PREFIX_MAX];

	if (a->c->direct) {
		if (a->c->metrics)
			(void)lch_metrics_add(a->c->metrics, ws->w->rank, line,
			    n, lch_metrics_now());
		return;
	}
	snprintf(prefix, sizeof(prefix), "%c[%d] ", LCH_REC_METRIC,
	    ws->w->rank);
	lch_outq_add(&a->out[0], prefix, strlen(prefix));
	lch_outq_add(&a->out[0], line, n);
	lch_outq_add(&a->out[0], "\n", 1);
}

/* What the rank's metrics FIFO holds (all of it: at its end). */
static void
read_metrics(struct wstate *ws, int all)
{
	long n;
	int k = 0;

	/* at the end: what the FIFO holds, not what a leftover writes on */
	while ((n = lch_metrics_in_read(&ws->min, metric_line, ws)) > 0 &&
	    all && ++k < 64)
		;
	if (n < 0) {
		lch_msg("cannot read the metrics FIFO of rank %d: %s",
		    ws->w->rank, strerror(errno));
		lch_metrics_in_close(&ws->min);
	}
}

/* Signals every worker's process group (reaped ones too: grandchildren). */
static void
signal_all(struct agent *a, int sig)
{
	int i;

	for (i = 0; i < a->c->nworkers; i++) {
		struct wstate *ws = &a->ws[i];

		if (ws->pid <= 0)
			continue;
		if (killpg(ws->pid, sig) != 0 && !ws->reaped)
			kill(ws->pid, sig);
	}
}

static void
stop_all(struct agent *a, int sig)
{
	signal_all(a, sig);
	if (!a->stopping) {
		a->stopping = 1;
		a->kill_at = (long long)mst_now_ms() + a->c->grace_ms;
	}
}

static const char *
oom_hint(int code)
{
	return code == 128 + SIGKILL ? " (SIGKILL: often the kernel's OOM "
	    "killer)" : "";
}

/* The first failure not caused by us: "F" record, or a message. */
static void
report_failure(struct agent *a, struct wstate *ws)
{
	if (a->first_code == 0)
		a->first_code = ws->code;
	if (!a->c->direct) {
		add_end(a, LCH_REC_FAIL, ws->w->rank, (int)ws->pid, ws->code);
		return;
	}
	flush_out(a);
	if (ws->code > 128)
		lch_msg("rank %d (host %s, pid %d) was killed by %s%s",
		    ws->w->rank, a->c->host, (int)ws->pid,
		    lch_signame(ws->code - 128), oom_hint(ws->code));
	else
		lch_msg("rank %d (host %s, pid %d) exited with code %d",
		    ws->w->rank, a->c->host, (int)ws->pid, ws->code);
	if (a->c->failed)
		a->c->failed(ws->w->rank, (int)ws->pid, ws->code);
}

/* A worker is done when it is reaped and both its pipes are closed. */
static void
check_done(struct agent *a, struct wstate *ws, long long now)
{
	int s;

	if (ws->reported || !ws->reaped)
		return;
	if (now - ws->reaped_at >= DRAIN_MS)
		for (s = 0; s < 2; s++)
			if (ws->fd[s] >= 0) {
				drain_lines(a, ws, s, 1);
				close(ws->fd[s]);
				ws->fd[s] = -1;
			}
	if (ws->fd[0] >= 0 || ws->fd[1] >= 0)
		return;
	if (ws->min.fd >= 0) {	/* its metrics come before its end */
		read_metrics(ws, 1);
		lch_metrics_in_close(&ws->min);
	}
	ws->reported = 1;
	a->running--;
	if (!a->c->direct)
		add_end(a, LCH_REC_EXIT, ws->w->rank, (int)ws->pid, ws->code);
}

/* A worker was stopped (sig) or continued (0): the head is told. */
static void
stopped(struct agent *a, struct wstate *ws, int sig)
{
	if (a->c->direct) {
		if (sig)
			lch_msg("rank %d (host %s, pid %d) was stopped by %s",
			    ws->w->rank, a->c->host, (int)ws->pid,
			    lch_signame(sig));
		return;
	}
	add_end(a, LCH_REC_STOP, ws->w->rank, (int)ws->pid, sig);
}

static void
reap(struct agent *a)
{
	long long now = (long long)mst_now_ms();
	pid_t pid;
	int st, i;

	while ((pid = waitpid(-1, &st, WNOHANG | WUNTRACED | WCONTINUED)) > 0) {
		if (pid == a->snap_pid) {
			if (!WIFSTOPPED(st) && !WIFCONTINUED(st))
				a->snap_pid = 0;
			continue;
		}
		for (i = 0; i < a->c->nworkers; i++) {
			struct wstate *ws = &a->ws[i];

			if (ws->pid != pid || ws->reaped)
				continue;
			if (WIFSTOPPED(st) || WIFCONTINUED(st)) {
				stopped(a, ws, WIFSTOPPED(st) ?
				    WSTOPSIG(st) : 0);
				continue;
			}
			ws->reaped = 1;
			ws->reaped_at = now;
			ws->code = lch_exit_code(st);
			/* fail fast locally, without waiting for EOF */
			if (ws->code != 0 && !a->stopping) {
				report_failure(a, ws);
				/* after a forwarded signal the others get a
				 * grace period to handle it themselves */
				if (a->forwarded && !a->term_at)
					a->term_at = now + a->c->grace_ms;
				else if (!a->forwarded)
					stop_all(a, SIGTERM);
			}
		}
	}
}

/*
 * A signal for the workers to handle (Ctrl-C, a scheduler's SIGTERM).
 * One that ends a job also continues stopped workers (SIGSTOP, SIGTSTP:
 * they would never see it, as systemd and Slurm know), and the workers
 * have the grace period to end on their own before they are stopped as
 * at a failure: SIGTERM, then SIGKILL after the grace.
 */
static void
forward(struct agent *a, int sig)
{
	signal_all(a, sig);
	if (sig == SIGUSR1 || sig == SIGUSR2)
		return;
	a->forwarded = 1;
	signal_all(a, SIGCONT);
	if (!a->term_at)
		a->term_at = (long long)mst_now_ms() + a->c->grace_ms;
}

int
lch_agent_flight_snap(const struct lch_agent_cfg *c,
		      struct lch_flight_snap *snaps)
{
	char err[512];
	int i, n = 0;

	for (i = 0; i < c->nworkers; i++) {
		struct lch_flight_snap *s = &snaps[i];

		if (c->w[i].flight == NULL ||
		    lch_flight_read(c->w[i].flight, s, err, sizeof(err)) != 0) {
			memset(s, 0, sizeof(*s));
			s->rank = c->w[i].rank;
		}
		s->rank = c->w[i].rank;	/* the plan's, whatever the file says */
		n += s->have;
	}
	return n;
}

/* "flight": a q record per rank with a flight record (records.h). */
static void
send_flight(struct agent *a)
{
	struct lch_flight_snap *snaps;
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	int i;

	if (a->c->direct)
		return;
	snaps = lch_xcalloc((size_t)a->c->nworkers + 1, sizeof(*snaps));
	(void)lch_agent_flight_snap(a->c, snaps);
	for (i = 0; i < a->c->nworkers; i++) {
		if (a->c->w[i].flight == NULL)
			continue;
		lch_strbuf_reset(&sb);
		lch_flight_add_record(&sb, &snaps[i]);
		lch_strbuf_addch(&sb, '\n');
		lch_outq_add(&a->out[0], sb.buf, sb.len);
	}
	lch_strbuf_release(&sb);
	free(snaps);
}

/*
 * "stacks" (records.h): a snapshot of every rank of the node, one
 * debugger per rank at once, in a child (stacks.h) whose records the
 * loop passes on; a K record for each rank when it cannot be taken.
 */
static void
start_snapshot(struct agent *a)
{
	struct lch_stacks_target *t;
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	const char *busy = NULL;
	int i, n = a->c->nworkers;

	if (a->c->direct)
		return;
	t = lch_xcalloc((size_t)(n ? n : 1), sizeof(*t));
	for (i = 0; i < n; i++) {
		t[i].rank = a->ws[i].w->rank;
		t[i].pid = a->ws[i].pid > 0 && !a->ws[i].reaped ?
		    a->ws[i].pid : 0;
		t[i].ended = a->ws[i].reaped && a->ws[i].pid > 0;
		t[i].pydir = a->ws[i].w->pystacks;
	}
	if (a->snap_pid > 0 || a->snap_fd >= 0)
		busy = "a snapshot of this node is still being taken";
	else if ((a->snap_pid = lch_stacks_fork(t, n, lch_stacks_rank_ms(),
	    &a->snap_fd)) < 0) {
		a->snap_pid = 0;
		a->snap_fd = -1;
		busy = strerror(errno);
	}
	for (i = 0; busy && i < n; i++)
		lch_stacks_add_end(&sb, t[i].rank, LCH_STACKS_FAILED, busy);
	lch_outq_add(&a->out[0], sb.buf, sb.len);
	lch_strbuf_release(&sb);
	free(t);
}

/* The snapshotter's records: whole lines go on to the head. */
static void
read_snapshot(struct agent *a)
{
	char *nl;
	ssize_t n;

	n = lch_strbuf_read_once(&a->snap, a->snap_fd, LCH_REC_MAX);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if ((nl = memrchr(a->snap.buf, '\n', a->snap.len)) != NULL) {
		lch_outq_add(&a->out[0], a->snap.buf,
		    (size_t)(nl + 1 - a->snap.buf));
		lch_strbuf_consume(&a->snap, (size_t)(nl + 1 - a->snap.buf));
	}
	if (a->snap.len >= LCH_REC_MAX - 1 || n <= 0)
		lch_strbuf_reset(&a->snap);	/* a cut line: dropped */
	if (n <= 0) {
		close(a->snap_fd);
		a->snap_fd = -1;
	}
}

/* A command from the head (records.h). */
static void
control_line(struct agent *a, const char *line)
{
	enum lch_rec_ctl cmd;
	int sig;

	if (lch_rec_ctl_decode(line, &cmd, &sig) != 0)
		lch_msg("agent: ignoring control line '%.40s'", line);
	else if (cmd == LCH_REC_TERM)
		stop_all(a, SIGTERM);
	else if (cmd == LCH_REC_KILL) {
		a->killed = 1;
		signal_all(a, SIGKILL);
	} else if (cmd == LCH_REC_GATHER_GO)
		a->gather_go |= sig == a->c->node;
	else if (cmd == LCH_REC_FLIGHT_GO)
		send_flight(a);
	else if (cmd == LCH_REC_STACKS)
		start_snapshot(a);
	else if (cmd != LCH_REC_BEAT)	/* heard_at is set */
		forward(a, sig);
}

static void
control_lines(struct agent *a)
{
	char *nl;

	while ((nl = memchr(a->ctl.buf, '\n', a->ctl.len)) != NULL) {
		*nl = '\0';
		control_line(a, a->ctl.buf);
		lch_strbuf_consume(&a->ctl, (size_t)(nl + 1 - a->ctl.buf));
	}
	if (a->ctl.len >= LCH_REC_CTL_MAX - 1)
		lch_strbuf_reset(&a->ctl);	/* garbage without newlines */
}

static void
read_control(struct agent *a)
{
	ssize_t n;

	n = lch_strbuf_read_once(&a->ctl, a->c->control_fd,
	    LCH_REC_CTL_MAX - 1);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {	/* the head is gone */
		a->ctl_open = 0;
		stop_all(a, SIGTERM);
		return;
	}
	a->heard_at = (long long)mst_now_ms();
	control_lines(a);
}

static void
handle_signals(struct agent *a)
{
	unsigned char b[64];
	ssize_t n, i;

	while ((n = read(a->sigfd[0], b, sizeof(b))) > 0)
		for (i = 0; i < n; i++) {
			if (b[i] == SIGCHLD)
				reap(a);
			else if (b[i] == SIGTERM || b[i] == SIGHUP ||
			    b[i] == SIGINT)
				stop_all(a, b[i] == SIGHUP ? SIGTERM : b[i]);
			else if (b[i] == SIGUSR1 || b[i] == SIGUSR2)
				forward(a, b[i]);
		}
}

/*
 * Opens a log as a regular file of ours with one link, never through a
 * symbolic link (O_NOFOLLOW), a FIFO (O_NONBLOCK: no wait for a reader)
 * or a device; truncated only once it is known to be ours.  -1 with
 * errno: ELOOP for a symbolic link, EPERM for a file that is not ours.
 */
static int
open_log(const char *path)
{
	struct stat st;
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY | O_NONBLOCK, 0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto fail;
	errno = EPERM;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1)
		goto fail;
	if (ftruncate(fd, 0) != 0 || fcntl(fd, F_SETFL, 0) != 0)
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* What goes before each line: a record's "o[3] ", or "[3] " with --tag. */
static void
set_prefixes(struct agent *a, struct wstate *ws)
{
	int s;

	for (s = 0; s < 2; s++) {
		if (!a->c->direct)
			lch_rec_prefix(ws->prefix[s], s, ws->w->rank);
		else if (a->c->tag)
			lch_rec_tag(ws->prefix[s], ws->w->rank);
		ws->plen[s] = strlen(ws->prefix[s]);
	}
}

/* Both logs of a rank, or -1 (said once): the rank is then not started. */
static int
open_logs(struct agent *a, struct wstate *ws)
{
	static const char *what[2] = { "stdout", "stderr" };
	int s;

	if (a->c->log_dir == NULL)
		return 0;
	for (s = 0; s < 2; s++) {
		ws->logpath[s] = lch_xasprintf("%s/rank.%d.%s", a->c->log_dir,
		    ws->w->rank, what[s]);
		if ((ws->logfd[s] = open_log(ws->logpath[s])) >= 0)
			continue;
		if (errno == ELOOP)
			lch_msg("--log-dir: '%s' is a symbolic link: refusing to "
			    "write through it", ws->logpath[s]);
		else if (errno == EPERM)
			lch_msg("--log-dir: '%s' is not a plain file of ours "
			    "(another user's, a hard link, a FIFO or a device): "
			    "refusing to write to it", ws->logpath[s]);
		else
			lch_msg("--log-dir: cannot open '%s': %s",
			    ws->logpath[s], strerror(errno));
		return -1;
	}
	return 0;
}

/* Appends s to buf (len bytes) at *n: no stdio after fork. */
static void
child_add(char *buf, size_t len, size_t *n, const char *s)
{
	while (*s && *n < len - 1)
		buf[(*n)++] = *s++;
}

/* In the forked worker: its binding; failing, it runs unbound, said. */
static void
bind_child(void *arg)
{
	const struct lch_agent_worker *w = arg;
	char buf[512], num[16];
	size_t n = 0;
	int e, merr, k = (int)sizeof(num) - 1;

	if ((e = lch_place_apply(w->place, &merr)) == 0)
		return;
	num[k] = '\0';
	do
		num[--k] = (char)('0' + e % 10);
	while ((e /= 10) > 0 && k > 0);
	child_add(buf, sizeof(buf), &n, "muster: cannot bind to cpus ");
	child_add(buf, sizeof(buf), &n, w->place->cpus);
	child_add(buf, sizeof(buf), &n, " (errno ");
	child_add(buf, sizeof(buf), &n, num + k);
	child_add(buf, sizeof(buf), &n, "): running unbound\n");
	(void)!write(2, buf, n);
}

/* Forks the worker with its output on two pipes; -1 with *err set. */
static int
spawn_worker(struct wstate *ws, int *err)
{
	struct lch_spawn s;
	int p[2][2];	/* stdout, stderr */

	if (lch_pipes(p, 2) != 0) {
		*err = errno;
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.argv = ws->w->argv;
	s.envp = ws->w->envp;
	s.in_fd = -1;
	s.out_fd = p[0][1];
	s.err_fd = p[1][1];
	s.new_pgroup = 1;
	s.deathsig = SIGKILL;
	if (ws->w->place) {
		s.pre_exec = bind_child;
		s.pre_exec_arg = (void *)ws->w;
	}
	ws->pid = lch_spawn_start(&s, err);
	close(p[0][1]);
	close(p[1][1]);
	if (ws->pid > 0) {
		ws->fd[0] = p[0][0];
		ws->fd[1] = p[1][0];
		return 0;
	}
	close(p[0][0]);
	close(p[1][0]);
	return -1;
}

/*
 * The program could not be run (err), or its logs not opened (code 2):
 * the rank is over, the job stops.
 */
static void
start_failed(struct agent *a, struct wstate *ws, int err, int code)
{
	ws->pid = 0;
	ws->reaped = ws->reported = 1;
	ws->code = code ? code : err == ENOENT ? 127 : 126;
	a->running--;
	if (a->first_code == 0)
		a->first_code = ws->code;
	if (a->c->direct && !code)
		lch_msg("rank %d: cannot run '%s': %s", ws->w->rank,
		    ws->w->argv[0], strerror(err));
	else if (a->c->direct)
		;	/* open_logs said why */
	else
		add_end(a, LCH_REC_NOEXEC, ws->w->rank, err, ws->code);
	stop_all(a, SIGTERM);
}

static void
start_worker(struct agent *a, struct wstate *ws)
{
	int err;

	ws->fd[0] = ws->fd[1] = ws->logfd[0] = ws->logfd[1] = -1;
	set_prefixes(a, ws);
	if (ws->w->metrics && lch_metrics_in_open(&ws->min,
	    ws->w->metrics) != 0)	/* the rank runs, its metrics lost */
		lch_msg("%s: cannot open the metrics FIFO '%s' of rank %d: %s",
		    a->c->host, ws->w->metrics, ws->w->rank, strerror(errno));
	if (open_logs(a, ws) != 0) {
		start_failed(a, ws, errno, 2);
		return;
	}
	if (spawn_worker(ws, &err) != 0) {
		start_failed(a, ws, err, 0);
		return;
	}
	lch_warden_tell(a->c->warden_fd, ws->pid);
	if (!a->c->direct) {
		struct lch_strbuf sb = LCH_STRBUF_INIT;

		lch_rec_add_start(&sb, ws->w->rank, (int)ws->pid);
		lch_outq_add(&a->out[0], sb.buf, sb.len);
		lch_strbuf_release(&sb);
	}
}

/*
 * The beats (records.h): a y record every beat_ms; a head unheard of
 * for LCH_BEAT_MISSED beats is gone, as at EOF.
 */
static void
beat(struct agent *a, long long now)
{
	char rec[32];
	int n;

	if (a->c->beat_ms <= 0 || a->c->direct || !a->ctl_open)
		return;
	/* we did not run (stopped, starved): the head may have spoken */
	if (now - a->beat_ran > 2 * (long long)a->c->beat_ms)
		a->heard_at = now;
	a->beat_ran = now;
	if (now - a->heard_at > (long long)a->c->beat_ms * LCH_BEAT_MISSED) {
		lch_msg("agent on %s: no word from the launcher for %.1f s "
		    "(its host or the network is gone): stopping the ranks",
		    a->c->host, (double)(now - a->heard_at) / 1000);
		a->ctl_open = 0;
		stop_all(a, SIGTERM);
		return;
	}
	if (now < a->beat_at)
		return;
	a->beat_at = now + a->c->beat_ms;
	n = snprintf(rec, sizeof(rec), "%c[%d] \n", LCH_REC_ALIVE, a->c->node);
	lch_outq_add(&a->out[0], rec, (size_t)n);
}

static int
poll_timeout(struct agent *a, long long now)
{
	long long t = -1;
	int i;

	if (a->c->beat_ms > 0 && !a->c->direct && a->ctl_open) {
		long long b = a->beat_at - now, g = a->heard_at +
		    (long long)a->c->beat_ms * LCH_BEAT_MISSED + 1 - now;

		t = b < g ? b : g;
		if (t < 0)
			t = 0;
	}
	if (a->stopping && a->kill_at && (t < 0 || a->kill_at - now < t))
		t = a->kill_at - now;
	if (!a->stopping && a->term_at && (t < 0 || a->term_at - now < t))
		t = a->term_at - now;
	for (i = 0; i < a->c->nworkers; i++) {
		struct wstate *ws = &a->ws[i];
		long long d = -1;

		if (ws->reaped && !ws->reported)
			d = ws->reaped_at + DRAIN_MS - now;
		else if (!ws->reaped && ws->pid > 0 && ws->fd[0] < 0 &&
		    ws->fd[1] < 0)
			d = REAP_POLL_MS;	/* see loop() */
		if (d >= 0 && (t < 0 || d < t))
			t = d;
	}
	return lch_poll_ms(t);
}

static void
loop(struct agent *a)
{
	struct pollfd *pfd = lch_xcalloc((size_t)(5 + 3 * a->c->nworkers),
	    sizeof(*pfd));
	struct wstate **who = lch_xcalloc((size_t)(5 + 3 * a->c->nworkers),
	    sizeof(*who));
	int abort_open = a->c->abort_fd >= 0;
	int n, i, s, to, full;
	long long now;

	a->heard_at = a->beat_ran = (long long)mst_now_ms();
	a->beat_at = a->heard_at + a->c->beat_ms;
	while (a->running > 0) {
		now = (long long)mst_now_ms();
		beat(a, now);
		flush_out(a);
		(void)lch_metrics_flush(a->c->metrics);	/* direct mode */
		if (!a->stopping && a->term_at && now >= a->term_at)
			stop_all(a, SIGTERM);
		if (a->stopping && a->kill_at && now >= a->kill_at) {
			signal_all(a, SIGKILL);
			a->kill_at = 0;
		}
		n = 0;
		pfd[n].fd = a->sigfd[0];
		pfd[n++].events = POLLIN;
		if (a->ctl_open) {
			pfd[n].fd = a->c->control_fd;
			pfd[n++].events = POLLIN;
		}
		if (abort_open) {
			pfd[n].fd = a->c->abort_fd;
			pfd[n++].events = POLLIN;
		}
		if ((full = out_full(a))) {
			pfd[n].fd = a->out[0].fd;
			pfd[n++].events = POLLOUT;
		} else if (a->snap_fd >= 0) {
			pfd[n].fd = a->snap_fd;
			pfd[n++].events = POLLIN;
		}
		for (i = 0; i < a->c->nworkers; i++)
			for (s = 0; s < 3; s++) {
				int fd = s < 2 ? a->ws[i].fd[s] :
				    a->ws[i].min.fd;

				if (fd >= 0 && !full) {
					who[n] = &a->ws[i];
					pfd[n].fd = fd;
					pfd[n++].events = POLLIN;
				}
			}
		to = poll_timeout(a, now);
		if (poll(pfd, (nfds_t)n, to) < 0 && errno != EINTR)
			break;
		/*
		 * A worker whose pipes are closed is about to end: reap
		 * without waiting for SIGCHLD's byte too, which a lost or
		 * deferred signal (seen under ThreadSanitizer) never sends.
		 */
		if (to >= 0 && to <= REAP_POLL_MS)
			reap(a);
		for (i = 0; i < n; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) ||
			    pfd[i].events == POLLOUT)
				continue;
			if (pfd[i].fd == a->sigfd[0])
				handle_signals(a);
			else if (a->ctl_open && pfd[i].fd == a->c->control_fd)
				read_control(a);
			else if (pfd[i].fd == a->snap_fd)
				read_snapshot(a);
			else if (abort_open && pfd[i].fd == a->c->abort_fd) {
				abort_open = 0;	/* the job was aborted */
				stop_all(a, SIGTERM);
			} else if (pfd[i].fd == who[i]->min.fd)
				read_metrics(who[i], 0);
			else
				read_stream(a, who[i],
				    pfd[i].fd == who[i]->fd[0] ? 0 : 1);
		}
		now = (long long)mst_now_ms();
		for (i = 0; i < a->c->nworkers; i++) {
			/* unread output of a reaped worker waits for us */
			if (full && a->ws[i].reaped && !a->ws[i].reported)
				a->ws[i].reaped_at = now;
			check_done(a, &a->ws[i], now);
		}
	}
	drain_out(a);
	free(pfd);
	free(who);
}

static void
setup_signals(struct agent *a)
{
	if (lch_signals_setup(a->sigfd) != 0) {
		lch_msg("agent: pipe: %s", strerror(errno));
		exit(70);
	}
}

/* Two pipes and two logs per worker: lift the soft fd limit if needed. */
static void
raise_fd_limit(int nworkers)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)nworkers * 6 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int
lch_agent_run(const struct lch_agent_cfg *c)
{
	struct agent a;
	int i;

	memset(&a, 0, sizeof(a));
	a.c = c;
	raise_fd_limit(c->nworkers);
	a.ws = lch_xcalloc((size_t)c->nworkers, sizeof(*a.ws));
	a.running = c->nworkers;
	a.ctl_open = c->control_fd >= 0;
	a.snap_fd = -1;
	lch_strbuf_init(&a.snap, 0);
	setup_signals(&a);
	for (i = 0; i < 2; i++)
		if (c->direct)
			lch_outq_init_plain(&a.out[i], i + 1);
		else
			lch_outq_init(&a.out[i], i + 1, 1);
	lch_strbuf_init(&a.ctl, LCH_REC_CTL_MAX - 1);
	if (c->ctl_pending_len && c->ctl_pending_len < LCH_REC_CTL_MAX)
		lch_strbuf_add(&a.ctl, c->ctl_pending, c->ctl_pending_len);
	for (i = 0; i < c->nworkers; i++) {
		a.ws[i].w = &c->w[i];
		a.ws[i].a = &a;
		a.ws[i].min.fd = a.ws[i].min.hold = -1;
		lch_strbuf_init(&a.ws[i].min.lb, 0);
		lch_strbuf_init(&a.ws[i].lb[0], 0);
		lch_strbuf_init(&a.ws[i].lb[1], 0);
		if (!a.stopping)
			start_worker(&a, &a.ws[i]);
		else {	/* a sibling could not start: do not start more */
			a.ws[i].reaped = a.ws[i].reported = 1;
			a.ws[i].fd[0] = a.ws[i].fd[1] = -1;
			a.running--;
		}
	}
	control_lines(&a);
	loop(&a);
	signal_all(&a, SIGKILL);	/* leftovers in the workers' groups */
	if (c->outputs_wait && !c->direct) {
		wait_gather(&a);
		*c->gather_go = a.gather_go;
	}
	for (i = 0; i < c->nworkers; i++) {
		if (a.ws[i].min.dropped)
			lch_msg("%s: rank %d: %lld metric line%s longer than "
			    "%d bytes dropped", c->host, c->w[i].rank,
			    a.ws[i].min.dropped, a.ws[i].min.dropped == 1 ?
			    "" : "s", LCH_METRIC_LINE_MAX);
		lch_metrics_in_close(&a.ws[i].min);
		lch_strbuf_release(&a.ws[i].lb[0]);
		lch_strbuf_release(&a.ws[i].lb[1]);
		if (a.ws[i].logfd[0] >= 0)
			close(a.ws[i].logfd[0]);
		if (a.ws[i].logfd[1] >= 0)
			close(a.ws[i].logfd[1]);
		free(a.ws[i].logpath[0]);
		free(a.ws[i].logpath[1]);
	}
	lch_outq_release(&a.out[0]);
	lch_outq_release(&a.out[1]);
	lch_strbuf_release(&a.ctl);
	lch_strbuf_release(&a.snap);
	if (a.snap_fd >= 0)
		close(a.snap_fd);
	if (a.snap_pid > 0) {	/* the workers ended first: not needed */
		kill(a.snap_pid, SIGKILL);
		(void)waitpid(a.snap_pid, NULL, 0);
	}
	free(a.ws);
	return a.first_code;
}

/* "NAME=VALUE" from the plan into e; an entry without '=' is skipped. */
static void
env_put(struct lch_env *e, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char *name;

	if (eq == NULL)
		return;
	name = lch_xasprintf("%.*s", (int)(eq - kv), kv);
	lch_env_set(e, name, eq + 1);
	free(name);
}

/* Fills c from the plan; returns env, where env[i] owns worker i's. */
static struct lch_env *
plan_config(const struct lch_rec_plan *p, struct lch_agent_cfg *c)
{
	struct lch_env *env;
	int i, k;

	c->host = p->host;
	c->grace_ms = p->grace_ms;
	c->beat_ms = (int)p->beat_ms;
	c->log_dir = p->log_dir;
	/* the head's folder, as mpirun's -wdir; else stay in $HOME */
	if (p->cwd && chdir(p->cwd) != 0)
		lch_msg("agent on %s: cannot enter '%s' (%s): running in %s",
		    c->host, p->cwd, strerror(errno),
		    getenv("HOME") ? getenv("HOME") : "/");
	c->nworkers = p->nranks;
	c->w = lch_xcalloc((size_t)p->nranks + 1, sizeof(*c->w));
	env = lch_xcalloc((size_t)p->nranks + 1, sizeof(*env));
	for (i = 0; i < p->nranks; i++) {
		c->w[i].rank = p->ranks[i].rank;
		c->w[i].argv = p->argv;
		for (k = 0; p->ranks[i].env[k]; k++)
			env_put(&env[i], p->ranks[i].env[k]);
	}
	return env;
}

static void
config_release(struct lch_agent_cfg *c, struct lch_env *env)
{
	int i;

	for (i = 0; i < c->nworkers; i++) {
		free(c->w[i].envp);
		lch_env_clear(&env[i]);
	}
	free(env);
	free(c->w);
}

/*
 * This host's facts for the head (records.h: h), asked for by HELLO.
 * -1 after saying why on stderr (the head names the host).
 */
static int
send_facts(const struct lch_rec_hello *hello, struct lch_facts *f)
{
	struct lch_facts_req rq;
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	char err[512], *json;
	int rc;

	memset(&rq, 0, sizeof(rq));
	rq.toward = hello->toward;
	rq.iface = hello->iface;
	rq.nports = hello->ports;
	if (lch_facts_gather(&rq, f, err, sizeof(err)) != 0) {
		lch_msg("%s", err);
		return -1;
	}
	json = lch_facts_encode(f);
	lch_rec_add_facts(&sb, hello->node, json);
	free(json);
	rc = lch_write_all(1, sb.buf, sb.len);
	lch_strbuf_release(&sb);
	return rc;	/* the head is gone: nothing to do */
}

/*
 * Lines until our node's plan: plans of other nodes are skipped; a
 * command (the job stopped before it started) or EOF ends us quietly,
 * NULL; a bad plan too, with *bad set after a message.  SIGUSR1 and
 * SIGUSR2 for workers not there yet are ignored, as is "flight".
 */
static char *
read_own_plan(int node, struct lch_rec_plan *plan, char **rest,
	      size_t *rest_len, int *bad)
{
	enum lch_rec_ctl cmd;
	char *line;
	int rv, sig;

	while ((line = lch_rec_plan_read(0, rest, rest_len)) != NULL) {
		if (lch_rec_ctl_decode(line, &cmd, &sig) == 0) {
			if ((cmd == LCH_REC_SIG && (sig == SIGUSR1 ||
			    sig == SIGUSR2)) || cmd == LCH_REC_FLIGHT_GO ||
			    cmd == LCH_REC_STACKS) {
				free(line);
				continue;
			}
			break;
		}
		if ((rv = lch_rec_plan_decode(line, plan)) == 0 &&
		    (plan->node == node || plan->node < 0))
			return line;
		if (rv == -1)
			lch_msg("agent: a plan on stdin is not JSON");
		else if (rv != 0)
			lch_msg("agent: malformed plan on stdin");
		lch_rec_plan_release(plan);
		free(line);
		if ((*bad = rv != 0))
			return NULL;
	}
	free(line);
	return NULL;
}

/*
 * The node's placement (place.h), planned on its topology, loaded once:
 * each worker's environment from it, and its binding when the topology
 * is this machine's.  -1 after one line naming the host: no rank starts.
 */
static int
place_workers(const struct lch_rec_plan *plan, struct lch_agent_cfg *c,
	      struct lch_env *env, struct lch_topo **t, struct lch_place *p)
{
	char err[512];
	int i;

	if (c->nworkers == 0)
		return 0;
	if (lch_place_node(&plan->place, c->nworkers, &env[0], 1, t, p, err,
	    sizeof(err)) != 0) {
		lch_msg("%s: %s", c->host, err);
		return -1;
	}
	for (i = 0; i < c->nworkers; i++) {
		lch_place_env(p, i, plan->place.omp_user, &env[i]);
		if (lch_topo_is_thissystem(*t))
			c->w[i].place = &p->ranks[i];
		/* on stdout, plain lines: the head passes them on as they
		 * come, in order (its stderr it keeps until a rank starts) */
		lch_place_tell(&plan->place, *t, p, c->host, i,
		    c->w[i].rank, i == 0, 1);
	}
	return 0;
}

/*
 * The plan's outputs folder (gather.h), made; each rank told where it is
 * (MUSTER_OUTPUT_DIR) unless its plan says.  Its absolute path, or NULL.
 */
static char *
outputs_prepare(const struct lch_rec_plan *plan, struct lch_agent_cfg *c,
		struct lch_env *env)
{
	char *dir;
	int i;

	if (plan->outputs == NULL || plan->outputs[0] == '\0')
		return NULL;
	dir = lch_gather_prepare(plan->outputs);
	for (i = 0; i < c->nworkers; i++)
		if (lch_env_get(&env[i], "MUSTER_OUTPUT_DIR") == NULL)
			lch_env_set(&env[i], "MUSTER_OUTPUT_DIR", dir);
	return dir;
}

/*
 * With "metrics" in the plan: a private directory with one FIFO per
 * rank, named in its MUSTER_METRICS; with "flight", each rank's flight
 * record there too (MUSTER_FLIGHT); with muster's Python hook, each
 * rank's folder for its Python frames (MUSTER_PYSTACKS, pystacks.h)
 * there too, plan or not.  The directory, or NULL when there is none
 * (said why: the ranks run without).
 */
static char *
make_fifos(const struct lch_rec_plan *plan, struct lch_agent_cfg *c,
	   struct lch_env *env)
{
	char err[512], *dir;
	int i;

	if ((!plan->metrics && !plan->flight && lch_pystacks_hookdir() ==
	    NULL) || c->nworkers == 0)
		return NULL;
	if ((dir = lch_metrics_dir_make(err, sizeof(err))) == NULL) {
		lch_msg("%s: %s: metrics, flight records and Python frames "
		    "are not kept", c->host, err);
		return NULL;
	}
	for (i = 0; i < c->nworkers && plan->metrics; i++) {
		char *f = lch_metrics_fifo_make(dir, c->w[i].rank, err,
		    sizeof(err));

		if (f == NULL) {
			lch_msg("%s: %s: metrics are not recorded", c->host,
			    err);
			break;
		}
		lch_env_set(&env[i], LCH_METRICS_ENV, f);
		c->w[i].metrics = f;
	}
	for (i = 0; i < c->nworkers && plan->flight; i++) {
		char *f = lch_xasprintf("%s/flight.%d", dir, c->w[i].rank);

		if (lch_flight_create(f, c->w[i].rank, err, sizeof(err)) != 0) {
			lch_msg("%s: %s: no flight record", c->host, err);
			free(f);
			break;
		}
		lch_env_set(&env[i], MST_FLIGHT_ENV, f);
		c->w[i].flight = f;
	}
	return dir;
}

static void
fifos_release(struct lch_agent_cfg *c, char *dir)
{
	int i;

	for (i = 0; i < c->nworkers; i++) {
		free((char *)c->w[i].metrics);
		free((char *)c->w[i].flight);
		free((char *)c->w[i].pystacks);
	}
	lch_pystacks_remove(dir);
	lch_flight_files_remove(dir);
	lch_metrics_dir_remove(dir);
	free(dir);
}

/*
 * Runs the node's plan (the facts' ports released first); node is ours,
 * since when the plan came (lch_gather_clock): its outputs are the files
 * changed since.
 */
static int
run_plan(struct lch_rec_plan *plan, struct lch_facts *f, char *rest,
	 size_t rest_len, int node, long long since)
{
	struct lch_agent_cfg c;
	struct lch_env *env;
	struct lch_topo *t = NULL;
	struct lch_place p;
	char *outputs, *mdir;
	int code, warden_fd, i, go = 0;

	/* the workers bind them: the agent lets go right before */
	lch_facts_free_ports(f);
	memset(&c, 0, sizeof(c));
	env = plan_config(plan, &c);
	if (place_workers(plan, &c, env, &t, &p) != 0) {
		config_release(&c, env);
		return 2;
	}
	outputs = outputs_prepare(plan, &c, env);
	c.outputs_wait = outputs != NULL;
	c.node = node;
	c.gather_go = &go;
	mdir = make_fifos(plan, &c, env);
	for (i = 0; i < c.nworkers; i++) {	/* the Python helper importable */
		lch_metrics_pypath(&env[i]);
		c.w[i].pystacks = lch_pystacks_prepare(mdir, c.w[i].rank,
		    &env[i]);	/* and its hook first */
	}
	for (i = 0; i < c.nworkers; i++)	/* the plan's, then placement's */
		c.w[i].envp = lch_env_merge(environ, &env[i]);
	/* no warden (no fork): the agent goes on alone, as before; the
	 * warden removes the FIFOs too, after an agent that was killed */
	(void)lch_warden_split(plan->grace_ms, mdir, &warden_fd);
	c.warden_fd = warden_fd;
	c.control_fd = 0;
	c.abort_fd = -1;
	c.ctl_pending = rest;
	c.ctl_pending_len = rest_len;
	code = lch_agent_run(&c);
	/* every rank ended: their outputs to the head, before we end */
	if (outputs && go)
		(void)lch_gather_send(1, node, outputs, since);
	free(outputs);
	fifos_release(&c, mdir);
	config_release(&c, env);
	if (t != NULL) {
		lch_place_release(&p);
		lch_topo_free(t);
	}
	return code;
}

int lch_agent_dialled;

int
lch_agent_main(void)
{
	struct lch_rec_hello hello;
	struct lch_rec_plan plan;
	struct lch_facts f;
	char *line, *pl = NULL, *rest = NULL;
	size_t rest_len = 0;
	int rv, bad = 0, code = 2;

	signal(SIGINT, SIG_IGN);	/* the head decides; it forwards */
	memset(&f, 0, sizeof(f));
	memset(&plan, 0, sizeof(plan));
	if ((line = lch_rec_plan_read(0, &rest, &rest_len)) == NULL) {
		if (lch_agent_dialled)	/* the head closed us: it stopped */
			return 0;
		lch_msg("agent: no HELLO on stdin");
		return 2;
	}
	if ((rv = lch_rec_hello_decode(line, &hello)) == -1)
		lch_msg("agent: the HELLO on stdin is not JSON");
	else if (rv != 0)
		lch_msg("agent: malformed HELLO on stdin");
	else if (hello.tree && lch_relay_wanted(line))	/* fan-out */
		code = lch_relay_main(line, rest, rest_len);
	else if (send_facts(&hello, &f) == 0) {
		if ((pl = read_own_plan(hello.node, &plan, &rest,
		    &rest_len, &bad)) != NULL)
			code = run_plan(&plan, &f, rest, rest_len, hello.node,
			    lch_gather_clock());
		else	/* stopped before it started, or a bad plan */
			code = bad ? 2 : 0;
	}
	/* in a Slurm step a failed rank is the head's to report: srun's
	 * --kill-on-bad-exit is for agents that could not take part */
	if (lch_agent_dialled && pl != NULL)
		code = 0;
	lch_rec_plan_release(&plan);
	lch_rec_hello_release(&hello);
	lch_facts_release(&f);
	free(pl);
	free(rest);
	free(line);
	return code;
}
