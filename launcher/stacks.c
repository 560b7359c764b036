/* stacks.c: see stacks.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "facts.h"
#include "pystacks.h"
#include "records.h"
#include "spawn.h"
#include "stacks.h"
#include "util.h"

/* One debugger of the snapshotter. */
struct snap {
	int rank;
	pid_t pid, gdb;		/* the rank's, the debugger's (0: none) */
	int python;		/* the rank runs a Python interpreter */
	struct lch_strbuf pytext;	/* its Python frames (pystacks.h) */
	int pyframes;		/* how many gave frames */
	char pynote[LCH_PYSTACKS_NOTE];	/* what is missing, or "" */
	int fd[2];		/* its stdout, stderr; -1 once at EOF */
	struct lch_strbuf out[2];
	int code, timedout, err;	/* exit code; killed; exec errno */
	int ended;		/* not running: it ended */
	int eu;			/* the debugger is eu-stack, not gdb */
};

/* The debuggers (stacks.h): their names, their Debian packages. */
static const char *const tool_name[2] = { "gdb", "eu-stack" };
static const char *const tool_pkg[2] = { "gdb", "elfutils" };
#define TOOL(s) tool_name[(s)->eu]

/*
 * The native debugger: $MUSTER_STACKS_TOOL (gdb or eu-stack), else
 * eu-stack where it is installed (a tenth of gdb's time), else gdb.
 * 1 for eu-stack.
 */
static int
use_eu_stack(void)
{
	const char *v = getenv("MUSTER_STACKS_TOOL");
	char *found;

	if (v && strcmp(v, "gdb") == 0)
		return 0;
	if (v && strcmp(v, "eu-stack") == 0)
		return 1;
	if ((found = lch_path_search("eu-stack", NULL, NULL, NULL)) == NULL)
		return 0;
	free(found);
	return 1;
}

int
lch_stacks_rank_ms(void)
{
	const char *v = getenv("MUSTER_STACKS_RANK_MS");
	char *end;
	long ms;

	if (v == NULL || *v == '\0')
		return LCH_STACKS_RANK_MS;
	ms = strtol(v, &end, 10);
	return *end == '\0' && ms >= 100 && ms <= 600000 ? (int)ms :
	    LCH_STACKS_RANK_MS;
}

/* Appends text's n bytes to sb, control bytes as blanks. */
static void
add_clean(struct lch_strbuf *sb, const char *text, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		lch_strbuf_addch(sb, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
}

void
lch_stacks_add_end(struct lch_strbuf *sb, int rank, int status,
		   const char *text)
{
	lch_strbuf_addf(sb, "%c[%d] %d ", LCH_REC_STACK_END, rank, status);
	add_clean(sb, text, strnlen(text, LCH_STACKS_LINE_MAX));
	lch_strbuf_addch(sb, '\n');
}

/* Whether pid runs a Python interpreter (its executable's name). */
static int
is_python(pid_t pid)
{
	char path[64], exe[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((n = readlink(path, exe, sizeof(exe) - 1)) <= 0)
		return 0;
	exe[n] = '\0';
	base = strrchr(exe, '/');
	return strncmp(base ? base + 1 : exe, "python", 6) == 0;
}

/* Starts the debugger of s (stdout and stderr on two pipes). */
static void
snap_start(struct snap *s)
{
	char pid[16];
	const char *argv[] = { "gdb", "-batch", "-nx", "-p", pid,
	    "-iex", "set debuginfod enabled off",
	    "-ex", "set pagination off", "-ex", "set width 0",
	    "-ex", "thread apply all bt", NULL, NULL, NULL };
	const char *eu[] = { "eu-stack", "-i", "-s", "-p", pid, NULL };
	struct lch_spawn sp;
	int p[2][2];

	snprintf(pid, sizeof(pid), "%d", (int)s->pid);
	if (s->python) {
		argv[13] = "-ex";
		argv[14] = "py-bt";
	}
	if (lch_pipes(p, 2) != 0) {
		s->err = errno;
		return;
	}
	memset(&sp, 0, sizeof(sp));
	sp.argv = (char *const *)(s->eu ? eu : argv);
	sp.in_fd = -1;
	sp.out_fd = p[0][1];
	sp.err_fd = p[1][1];
	sp.new_pgroup = 1;
	sp.deathsig = SIGKILL;
	s->gdb = lch_spawn_start(&sp, &s->err);
	close(p[0][1]);
	close(p[1][1]);
	if (s->gdb <= 0) {
		s->gdb = 0;
		close(p[0][0]);
		close(p[1][0]);
		return;
	}
	s->fd[0] = p[0][0];
	s->fd[1] = p[1][0];
}

/* Reads the debuggers until they are all done or the deadline passed. */
static void
snap_collect(struct snap *s, int n, long long deadline)
{
	struct pollfd *pfd = lch_xcalloc((size_t)(2 * n), sizeof(*pfd));
	int i, k, open;
	long long now;

	for (;;) {
		for (i = open = 0; i < n; i++)
			for (k = 0; k < 2; k++) {
				pfd[2 * i + k].fd = s[i].fd[k];
				pfd[2 * i + k].events = POLLIN;
				open += s[i].fd[k] >= 0;
			}
		now = (long long)mst_now_ms();
		if (open == 0 || now >= deadline)
			break;
		if (poll(pfd, (nfds_t)(2 * n), lch_poll_ms(deadline - now)) < 0 &&
		    errno != EINTR)
			break;
		for (i = 0; i < 2 * n; i++) {
			struct snap *x = &s[i / 2];
			int *fd = &x->fd[i % 2];
			ssize_t r;

			if (*fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP |
			    POLLERR)))
				continue;
			r = lch_strbuf_read_once(&x->out[i % 2], *fd,
			    LCH_STACKS_RANK_MAX + 1);
			if (r > 0 && x->out[i % 2].len < LCH_STACKS_RANK_MAX)
				continue;
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			close(*fd);
			*fd = -1;
		}
	}
	free(pfd);
}

/* Kills what ran past the deadline and reaps every debugger. */
static void
snap_reap(struct snap *s, int n)
{
	int i, k, st;

	for (i = 0; i < n; i++) {
		for (k = 0; k < 2; k++)
			if (s[i].fd[k] >= 0) {
				s[i].timedout = 1;
				close(s[i].fd[k]);
				s[i].fd[k] = -1;
			}
		if (s[i].gdb <= 0)
			continue;
		if (s[i].timedout)	/* the kernel detaches the rank */
			killpg(s[i].gdb, SIGKILL);
		if (waitpid(s[i].gdb, &st, 0) == s[i].gdb)
			s[i].code = lch_exit_code(st);
	}
}

/* Which of the debugger's stdout lines are the snapshot's (eu-stack's
   threads are "TID N:", its source lines indented). */
static int
frame_line(const char *l, size_t n)
{
	static const char *const keep[] = { "Thread ", "TID ", "#",
	    "Traceback", "  ", "Python ", NULL };
	int i;

	for (i = 0; keep[i]; i++)
		if (n >= strlen(keep[i]) && memcmp(l, keep[i],
		    strlen(keep[i])) == 0)
			return 1;
	return 0;
}

/* Why there are no frames: the debugger's own words, one line. */
static void
gdb_reason(const struct snap *s, char *buf, size_t len)
{
	const struct lch_strbuf *e = &s->out[1];
	const char *l = e->buf, *nl, *best = NULL;
	size_t bn = 0;

	for (; l < e->buf + e->len; l = nl + 1) {
		if ((nl = memchr(l, '\n', (size_t)(e->buf + e->len - l))) == NULL)
			nl = e->buf + e->len;
		if (nl == l || strncmp(l, "warning:", 8) == 0)
			continue;
		if (best == NULL || strstr(l, "ptrace") || strstr(l, "attach"))
			best = l, bn = (size_t)(nl - l);
		if (strstr(l, "ptrace"))
			break;
	}
	/* eu-stack's lines start with its name already */
	if (best && s->eu && strncmp(best, "eu-stack: ", 10) == 0)
		best += 10, bn -= 10;
	if (best)
		snprintf(buf, len, "%s: %.*s", TOOL(s),
		    (int)(bn > 400 ? 400 : bn), best);
	else
		snprintf(buf, len, "%s exited with code %d and printed no "
		    "frame", TOOL(s), s->code);
}

/* The K record's status and TEXT of s. */
static int
snap_status(const struct snap *s, int frames, char *buf, size_t len)
{
	buf[0] = '\0';
	if (s->pid <= 0) {
		snprintf(buf, len, "%s", s->ended ? "it ended" :
		    "it was not started");
		return LCH_STACKS_NOTRUNNING;
	}
	if (s->gdb == 0 && s->err) {
		snprintf(buf, len, "cannot run %s (Debian's %s package): "
		    "%s", TOOL(s), tool_pkg[s->eu], strerror(s->err));
		return LCH_STACKS_FAILED;
	}
	if (s->timedout && !frames) {
		snprintf(buf, len, "%s did not finish within its time: "
		    "killed (the rank is left as it was)", TOOL(s));
		return LCH_STACKS_TIMEDOUT;
	}
	if (!frames) {
		gdb_reason(s, buf, len);
		return LCH_STACKS_FAILED;
	}
	if (s->timedout)
		snprintf(buf, len, "%s did not finish within its time: what "
		    "it printed until then", TOOL(s));
	else if (s->python && strstr(s->out[1].buf, "py-bt"))
		snprintf(buf, len, "no Python frames: gdb has no py-bt "
		    "(Debian: python3-dbg)");
	else if (s->python && strstr(s->out[1].buf, "Unable to locate"))
		snprintf(buf, len, "no Python frames: gdb found none");
	return LCH_STACKS_OK;
}

/* One k record of rank: text's n bytes (cut at LCH_STACKS_LINE_MAX). */
static void
add_line(struct lch_strbuf *sb, int rank, const char *l, size_t n)
{
	lch_strbuf_addf(sb, "%c[%d] ", LCH_REC_STACK, rank);
	add_clean(sb, l, n > LCH_STACKS_LINE_MAX ? LCH_STACKS_LINE_MAX : n);
	lch_strbuf_addch(sb, '\n');
}

/* s's records, k lines (Python frames, then gdb's) then its K, into sb. */
static void
snap_records(const struct snap *s, struct lch_strbuf *sb)
{
	const struct lch_strbuf *o = &s->out[0], *py = &s->pytext;
	const char *l, *nl;
	char why[512], note[LCH_PYSTACKS_NOTE + 600];
	const char *pre = "";
	int frames = 0, st;

	for (l = py->buf; l < py->buf + py->len; l = nl + 1) {
		if ((nl = memchr(l, '\n', (size_t)(py->buf + py->len - l))) == NULL)
			nl = py->buf + py->len;
		add_line(sb, s->rank, l, (size_t)(nl - l));
	}
	for (l = o->buf; l < o->buf + o->len; l = nl + 1) {
		size_t n;

		if ((nl = memchr(l, '\n', (size_t)(o->buf + o->len - l))) == NULL)
			nl = o->buf + o->len;
		n = (size_t)(nl - l);
		if (!frame_line(l, n))
			continue;
		frames |= l[0] == '#';
		add_line(sb, s->rank, l, n);
	}
	st = snap_status(s, frames, why, sizeof(why));
	if (s->pyframes && (st == LCH_STACKS_FAILED ||
	    st == LCH_STACKS_TIMEDOUT)) {	/* the Python frames are there */
		pre = "no native frames: ";
		st = LCH_STACKS_OK;
	}
	snprintf(note, sizeof(note), "%s%s%s%s", s->pynote, s->pynote[0] &&
	    why[0] ? "; " : "", why[0] ? pre : "", why);
	lch_stacks_add_end(sb, s->rank, st, note);
}

/*
 * The Python frames of every rank (pystacks.h), before any debugger
 * attaches: half the ranks' time at most.
 */
static void
snap_python(struct snap *s, const struct lch_stacks_target *t, int n, int ms)
{
	struct lch_pystacks *all = lch_xcalloc((size_t)(n ? n : 1),
	    sizeof(*all));
	long long until = (long long)mst_now_ms() + (ms / 2 <
	    LCH_PYSTACKS_WAIT_MS ? ms / 2 : LCH_PYSTACKS_WAIT_MS);
	int i, asked = 0;

	for (i = 0; i < n; i++)
		if (s[i].pid > 0 && t[i].pydir)
			asked += lch_pystacks_ask(&all[i], t[i].pydir, s[i].pid);
	if (asked)
		lch_pystacks_wait(all, n, until);
	for (i = 0; i < n; i++) {
		s[i].pyframes = lch_pystacks_text(&all[i], &s[i].pytext,
		    s[i].pynote, sizeof(s[i].pynote));
		lch_pystacks_release(&all[i]);
	}
	free(all);
}

/* The snapshotter, in the forked child: never returns. */
static void __attribute__((noreturn))
snapshotter(const struct lch_stacks_target *t, int n, int ms, int out)
{
	struct snap *s = lch_xcalloc((size_t)(n ? n : 1), sizeof(*s));
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	long long t0 = (long long)mst_now_ms();
	sigset_t none;
	int i, eu;

	for (i = 0; lch_watched_signals[i]; i++)
		signal(lch_watched_signals[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (i = 0; i < n; i++) {
		s[i].rank = t[i].rank;
		s[i].pid = t[i].pid;
		s[i].ended = t[i].ended;
		s[i].fd[0] = s[i].fd[1] = -1;
		lch_strbuf_init(&s[i].out[0], 0);
		lch_strbuf_init(&s[i].out[1], 0);
		lch_strbuf_init(&s[i].pytext, 0);
	}
	snap_python(s, t, n, ms);
	eu = use_eu_stack();
	for (i = 0; i < n; i++)
		if (s[i].pid > 0) {	/* py-bt only without frames of ours */
			s[i].python = !s[i].pyframes && is_python(s[i].pid);
			/* gdb may have py-bt (python3-dbg); eu-stack has none */
			s[i].eu = eu && !s[i].python;
			snap_start(&s[i]);
		}
	snap_collect(s, n, t0 + ms);
	snap_reap(s, n);
	for (i = 0; i < n; i++) {
		snap_records(&s[i], &sb);
		if (lch_write_all(out, sb.buf, sb.len) != 0)
			_exit(1);
		lch_strbuf_reset(&sb);
	}
	_exit(0);
}

pid_t
lch_stacks_fork(const struct lch_stacks_target *t, int n, int ms, int *fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		snapshotter(t, n, ms, p[1]);
	}
	close(p[1]);
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	*fd = p[0];
	return pid;
}

/* The head's side */

void
lch_stacks_begin(struct lch_stacks *s, int np, const char *why,
		 long long now_ms, long long wait_ms)
{
	struct timespec ts;
	int i;

	lch_stacks_release(s);
	s->active = 1;
	s->np = s->pending = np;
	s->r = lch_xcalloc((size_t)np, sizeof(*s->r));
	for (i = 0; i < np; i++) {
		s->r[i].status = LCH_STACKS_PENDING;
		lch_strbuf_init(&s->r[i].text, 0);
	}
	s->started_ms = now_ms;
	s->deadline_ms = now_ms + wait_ms;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->started = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	snprintf(s->why, sizeof(s->why), "%s", why);
	lch_strbuf_init(&s->report, 0);
}

void
lch_stacks_settle(struct lch_stacks *s, int rank, int status, const char *why)
{
	struct lch_stacks_rank *r;

	if (!s->active || rank < 0 || rank >= s->np ||
	    s->r[rank].status != LCH_STACKS_PENDING)
		return;
	r = &s->r[rank];
	r->status = status;
	free(r->note);
	r->note = why && *why ? lch_xstrdup(why) : NULL;
	s->pending--;
}

void
lch_stacks_record(struct lch_stacks *s, int type, int rank, const char *text,
		  size_t n)
{
	struct lch_stacks_rank *r;
	char *note, *end;
	long st;

	if (!s->active || rank < 0 || rank >= s->np)
		return;
	r = &s->r[rank];
	if (r->status != LCH_STACKS_PENDING)
		return;	/* a late answer to an earlier snapshot */
	if (type == LCH_REC_STACK) {
		if (r->text.len + n < LCH_STACKS_RANK_MAX) {
			lch_strbuf_add(&r->text, text, n);
			lch_strbuf_addch(&r->text, '\n');
		}
		return;
	}
	note = lch_xmalloc(n + 1);
	memcpy(note, text, n);
	note[n] = '\0';
	st = strtol(note, &end, 10);
	if (end == note || st < 0 || st > LCH_STACKS_NOTRUNNING)
		st = LCH_STACKS_FAILED;
	while (*end == ' ')
		end++;
	lch_stacks_settle(s, rank, (int)st, end);
	free(note);
}

int
lch_stacks_complete(const struct lch_stacks *s, long long now_ms)
{
	return s->active && (s->pending <= 0 || now_ms >= s->deadline_ms);
}

static const char *
status_word(int st)
{
	switch (st) {
	case LCH_STACKS_OK:		return "taken";
	case LCH_STACKS_TIMEDOUT:	return "timed out";
	case LCH_STACKS_NOTRUNNING:	return "not running";
	case LCH_STACKS_PENDING:	return "no answer";
	default:			return "failed";
	}
}

void
lch_stacks_text(const struct lch_stacks *s, const char *job,
		struct lch_strbuf *sb)
{
	char when[64];
	time_t t = (time_t)s->started;
	struct tm tm;
	int i;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
	lch_strbuf_addf(sb, "muster stacks: job %s, %d ranks, %s, asked by "
	    "%s\n", job ? job : "?", s->np, when, s->why);
	if (s->report.len)
		lch_strbuf_addf(sb, "\n%s", s->report.buf);
	for (i = 0; i < s->np; i++) {
		const struct lch_stacks_rank *r = &s->r[i];

		lch_strbuf_addf(sb, "\n=== rank %d (host %s", i,
		    r->host ? r->host : "?");
		if (r->pid > 0)
			lch_strbuf_addf(sb, ", pid %d", r->pid);
		lch_strbuf_addf(sb, "): %s%s%s ===\n", status_word(r->status),
		    r->note ? ": " : "", r->note ? r->note : "");
		lch_strbuf_add(sb, r->text.buf, r->text.len);
	}
}

long
lch_stacks_file_no(const char *name)
{
	char *end;
	long n;

	if (name[0] < '1' || name[0] > '9')
		return 0;
	n = strtol(name, &end, 10);
	if (*end != '-' || strlen(end) < 5 ||
	    strcmp(end + strlen(end) - 4, ".txt") != 0)
		return 0;
	return n;
}

long
lch_stacks_latest(const char *run_dir, char **path)
{
	char *dir = lch_xasprintf("%s/stacks", run_dir);
	struct dirent *e;
	long best = 0, n;
	DIR *d;

	if (path)
		*path = NULL;
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if ((n = lch_stacks_file_no(e->d_name)) <= best)
				continue;
			best = n;
			if (path) {
				free(*path);
				*path = lch_xasprintf("%s/%s", dir, e->d_name);
			}
		}
		closedir(d);
	}
	free(dir);
	return best;
}

char *
lch_stacks_save(const char *run_dir, double when, const char *text, size_t n)
{
	char *dir = lch_xasprintf("%s/stacks", run_dir), *tmp, *path;
	time_t t = (time_t)when;
	char stamp[32];
	struct tm tm;
	long no;
	int fd, e;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		e = errno;
		free(dir);
		errno = e;
		return NULL;
	}
	no = lch_stacks_latest(run_dir, NULL) + 1;
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	tmp = lch_xasprintf("%s/.%ld.tmp", dir, no);
	path = lch_xasprintf("%s/%ld-%s.txt", dir, no, stamp);
	free(dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd < 0 || lch_write_all(fd, text, n) != 0 || close(fd) != 0 ||
	    rename(tmp, path) != 0) {
		e = errno;
		if (fd >= 0)
			(void)unlink(tmp);
		free(tmp);
		free(path);
		errno = e;
		return NULL;
	}
	free(tmp);
	return path;
}

/*
 * The function of a "#N ..." frame line: gdb's after " in ", else after
 * "#N "; eu-stack's ("#N  0xADDR FUNC[@VERSION]") after the address.
 */
static size_t
frame_fn(const char *l, size_t n, const char **fn)
{
	const char *p = l + 1, *end = l + n, *in, *q;

	while (p < end && (*p >= '0' && *p <= '9'))
		p++;
	while (p < end && *p == ' ')
		p++;
	in = p;
	if (p < end && *p == '0' && p + 1 < end && p[1] == 'x') {
		for (q = p; q + 4 <= end; q++)
			if (memcmp(q, " in ", 4) == 0)
				break;
		if (q + 4 <= end)
			in = q + 4;
		else {	/* eu-stack's: the name after the address, if any */
			for (q = p + 2; q < end && *q != ' '; q++)
				;
			while (q < end && *q == ' ')
				q++;
			if (q == end)
				return 0;
			in = q;
		}
	}
	for (q = in; q < end && *q != ' ' && *q != '(' && *q != '@'; q++)
		;
	*fn = in;
	return (size_t)(q - in);
}

void
lch_stacks_top(const char *text, size_t n, int max, char *buf, size_t len)
{
	const char *l, *nl, *end = text + n, *from = NULL, *fn;
	size_t k = 0, fl;
	int got = 0;

	buf[0] = '\0';
	for (l = text; l < end && from == NULL; l = nl + 1) {
		if ((nl = memchr(l, '\n', (size_t)(end - l))) == NULL)
			nl = end;
		if ((size_t)(nl - l) > 9 && memcmp(l, "Thread 1 ", 9) == 0)
			from = nl + 1;
	}
	if (from == NULL || from >= end)
		from = text;
	for (l = from; l < end && got < max; l = nl + 1) {
		if ((nl = memchr(l, '\n', (size_t)(end - l))) == NULL)
			nl = end;
		if (l[0] == ' ' && got)	/* eu-stack's source line */
			continue;
		if (l[0] != '#') {
			if (got)	/* the block ended */
				break;
			continue;
		}
		if ((fl = frame_fn(l, (size_t)(nl - l), &fn)) == 0 ||
		    (fl == 2 && memcmp(fn, "??", 2) == 0))	/* no symbol */
			continue;
		if (k + fl + 4 >= len)
			break;
		k += (size_t)snprintf(buf + k, len - k, "%s%.*s",
		    got ? " < " : "", (int)fl, fn);
		got++;
	}
}

void
lch_stacks_summary(const char *text, size_t n, int max, char *buf,
		   size_t len)
{
	char py[512], native[512];

	lch_pystacks_top(text, n, py, sizeof(py));
	lch_stacks_top(text, n, max, native, sizeof(native));
	snprintf(buf, len, "%s%s%s%s", py[0] ? "python " : "", py,
	    py[0] && native[0] ? "; " : "", native);
}

void
lch_stacks_release(struct lch_stacks *s)
{
	int i;

	if (s->r)
		for (i = 0; i < s->np; i++) {
			free(s->r[i].note);
			lch_strbuf_release(&s->r[i].text);
		}
	free(s->r);
	if (s->report.alloc)
		lch_strbuf_release(&s->report);
	memset(s, 0, sizeof(*s));
	lch_strbuf_init(&s->report, 0);
}

int
lch_stacks_request(const char *run_dir, const char *id, long pid, int wait_ms)
{
	long before = lch_stacks_latest(run_dir, NULL), now_no;
	long long until = (long long)mst_now_ms() + wait_ms;
	char *path = NULL, buf[65536];
	ssize_t n;
	int fd;

	if (kill((pid_t)pid, SIGUSR1) != 0) {
		lch_msg("run %s: cannot signal its launcher (pid %ld): %s", id,
		    pid, strerror(errno));
		return 1;
	}
	while ((now_no = lch_stacks_latest(run_dir, &path)) <= before) {
		free(path);
		path = NULL;
		if ((long long)mst_now_ms() >= until) {
			lch_msg("run %s: its launcher (pid %ld) wrote no stacks "
			    "in %s/stacks within %d s", id, pid, run_dir,
			    wait_ms / 1000);
			return 1;
		}
		usleep(50 * 1000);
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		lch_msg("%s: %s", path, strerror(errno));
		free(path);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;
	close(fd);
	fprintf(stderr, "muster: saved in %s\n", path);
	free(path);
	return 0;
}
