/* pystacks.c: see pystacks.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "metrics.h"
#include "pystacks.h"
#include "util.h"

#define HEADER_MAX 256		/* a file's first line, at most */
#define ANCESTORS 64		/* parents walked up to the rank, at most */
#define PIDS_MAX 1024		/* a rank's files looked at, at most */

static const char digits[] = "0123456789";

const char *
lch_pystacks_hookdir(void)
{
	static char found[PATH_MAX];
	static int looked;
	const char *py;
	char try[PATH_MAX + 64];

	if (looked)
		return found[0] ? found : NULL;
	looked = 1;
	if ((py = lch_metrics_pydir()) == NULL)
		return NULL;
	snprintf(try, sizeof(try), "%s/%s/sitecustomize.py", py,
	    LCH_PYSTACKS_HOOK);
	if (access(try, R_OK) == 0 && strlen(try) < sizeof(found))
		snprintf(found, sizeof(found), "%s/%s", py, LCH_PYSTACKS_HOOK);
	return found[0] ? found : NULL;
}

char *
lch_pystacks_prepare(const char *dir, int rank, struct lch_env *e)
{
	static int said;
	const char *hook = lch_pystacks_hookdir(), *old;
	char *d;

	if (dir == NULL || hook == NULL)
		return NULL;
	d = lch_xasprintf("%s/py.%d", dir, rank);
	if (mkdir(d, 0700) != 0) {
		if (!said++)
			lch_msg("cannot make '%s': %s: ranks have no Python "
			    "frames in stack snapshots", d, strerror(errno));
		free(d);
		return NULL;
	}
	lch_env_set(e, LCH_PYSTACKS_ENV, d);
	if ((old = lch_env_get(e, "PYTHONPATH")) == NULL)
		old = getenv("PYTHONPATH");
	if (old && *old)	/* first: a user's sitecustomize is chained */
		lch_env_setf(e, "PYTHONPATH", "%s:%s", hook, old);
	else	/* not "hook:", which would put the current folder on it */
		lch_env_set(e, "PYTHONPATH", hook);
	return d;
}

/* Whether name is PREFIX followed by digits only. */
static int
numbered(const char *name, const char *prefix)
{
	size_t k = strlen(prefix);

	return strncmp(name, prefix, k) == 0 && name[k] != '\0' &&
	    strspn(name + k, digits) == strlen(name + k);
}

void
lch_pystacks_remove(const char *dir)
{
	lch_remove_numbered(dir, "py.", S_IFDIR);
}

int
lch_pyreg_parse(const char *line, size_t n, struct lch_pyreg *r)
{
	char buf[HEADER_MAX];
	int used = -1;

	if (n >= sizeof(buf) || memchr(line, '\0', n) != NULL)
		return -1;
	memcpy(buf, line, n);
	buf[n] = '\0';
	memset(r, 0, sizeof(*r));
	if (sscanf(buf, "muster-pystacks 1 pid=%ld start=%llu signal=%d fd=%d "
	    "main=0x%llx%n", &r->pid, &r->start, &r->sig, &r->fd, &r->main,
	    &used) != 5 || used != (int)n)
		return -1;
	return r->pid > 0 && r->sig > 0 && r->fd >= 0 &&
	    strstr(buf, "=-") == NULL && strstr(buf, "=+") == NULL ? 0 : -1;
}

int
lch_proc_stat_parse(const char *text, struct lch_proc_stat *st)
{
	const char *p = strrchr(text, ')');
	long long v[19];	/* fields 4 (ppid) to 22 (starttime) */
	char *end;
	int i;

	if (p == NULL || p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
		return -1;
	st->state = p[2];
	for (p += 3, i = 0; i < 19; i++, p = end) {
		v[i] = strtoll(p, &end, 10);
		if (end == p)
			return -1;
	}
	st->ppid = (long)v[0];
	st->pgrp = (long)v[1];
	st->start = (unsigned long long)v[18];
	return 0;
}

/* /proc/PID/NAME's text, NUL-ended, into buf: its length, or -1. */
static ssize_t
proc_read(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int
lch_proc_stat_read(pid_t pid, struct lch_proc_stat *st)
{
	char buf[1024];

	if (proc_read(pid, "stat", buf, sizeof(buf)) <= 0)
		return -1;
	return lch_proc_stat_parse(buf, st);
}

int
lch_proc_catches(pid_t pid, int sig)
{
	char buf[8192], *p;
	unsigned long long mask;

	if (sig < 1 || sig > 64 || proc_read(pid, "status", buf,
	    sizeof(buf)) <= 0 || (p = strstr(buf, "\nSigCgt:")) == NULL)
		return 0;
	mask = strtoull(p + 8, NULL, 16);
	return (mask >> (sig - 1)) & 1;
}

/* Whether pid (its stat st) is the rank's: in its group, or below it. */
static int
in_rank(pid_t pid, const struct lch_proc_stat *st, pid_t rank_pid)
{
	struct lch_proc_stat up = *st;
	int i;

	if (pid == rank_pid || st->pgrp == rank_pid)
		return 1;
	for (i = 0; i < ANCESTORS && up.ppid > 1; i++) {
		if (up.ppid == rank_pid)
			return 1;
		if (lch_proc_stat_read((pid_t)up.ppid, &up) != 0)
			return 0;
	}
	return 0;
}

/* Whether descriptor fd of pid is the file f (not closed and reused). */
static int
same_file(pid_t pid, int fd, const struct stat *f)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	return stat(path, &st) == 0 && st.st_dev == f->st_dev &&
	    st.st_ino == f->st_ino;
}

/*
 * The registration in fd (dir's file of pid) when it holds and the
 * process is as it registered (pystacks.h, the checks): 0, else -1.
 */
static int
check_one(int fd, pid_t pid, pid_t rank_pid, struct lch_pyreg *r,
	  struct lch_proc_stat *st, struct stat *f)
{
	char buf[HEADER_MAX];
	const char *nl;
	ssize_t n;

	if (fstat(fd, f) != 0 || !S_ISREG(f->st_mode) ||
	    f->st_uid != geteuid() ||
	    (n = pread(fd, buf, sizeof(buf), 0)) <= 0 ||
	    (nl = memchr(buf, '\n', (size_t)n)) == NULL ||
	    lch_pyreg_parse(buf, (size_t)(nl - buf), r) != 0 ||
	    r->pid != (long)pid || r->sig < SIGRTMIN || r->sig > SIGRTMAX)
		return -1;
	if (lch_proc_stat_read(pid, st) != 0 || st->start != r->start ||
	    st->state == 'Z' || st->state == 'X' ||
	    !in_rank(pid, st, rank_pid) || !lch_proc_catches(pid, r->sig) ||
	    !same_file(pid, r->fd, f))
		return -1;
	return 0;
}

/* Signals pid when it passes the checks: its entry filled, else -1. */
static int
ask_one(const char *dir, pid_t pid, pid_t rank_pid, struct lch_pyask *a)
{
	char path[PATH_MAX];
	struct lch_proc_stat st;
	struct lch_pyreg r;
	struct stat f;
	int fd;

	snprintf(path, sizeof(path), "%s/%d", dir, (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) < 0)
		return -1;
	if (check_one(fd, pid, rank_pid, &r, &st, &f) != 0) {
		close(fd);
		return -1;
	}
	memset(a, 0, sizeof(*a));
	a->pid = pid;
	a->main = r.main;
	a->fd = -1;
	if (st.state == 'T' || st.state == 't') {	/* cannot run it */
		a->state = LCH_PYASK_STOPPED;
		close(fd);
		return 0;
	}
	a->from = a->size = f.st_size;
	a->still_ms = (long long)mst_now_ms();
	if (kill(pid, r.sig) != 0) {
		close(fd);
		return -1;
	}
	a->state = LCH_PYASK_ASKED;
	a->fd = fd;
	return 0;
}

static pid_t sort_first;	/* the rank's pid sorts first */

static int
pid_cmp(const void *x, const void *y)
{
	pid_t a = *(const pid_t *)x, b = *(const pid_t *)y;

	if (a == b)
		return 0;
	if (a == sort_first || b == sort_first)
		return a == sort_first ? -1 : 1;
	return a < b ? -1 : 1;
}

int
lch_pystacks_ask(struct lch_pystacks *ps, const char *dir, pid_t rank_pid)
{
	pid_t *pids;
	struct dirent *e;
	int n = 0, i, asked = 0;
	DIR *d;

	memset(ps, 0, sizeof(*ps));
	if (dir == NULL || rank_pid <= 0 || (d = opendir(dir)) == NULL)
		return 0;
	pids = lch_xcalloc(PIDS_MAX, sizeof(*pids));
	while ((e = readdir(d)) != NULL && n < PIDS_MAX)
		if (numbered(e->d_name, "") && strlen(e->d_name) < 10)
			pids[n++] = (pid_t)atoi(e->d_name);
	closedir(d);
	sort_first = rank_pid;
	qsort(pids, (size_t)n, sizeof(*pids), pid_cmp);
	for (i = 0; i < n && ps->n < LCH_PYSTACKS_PROCS; i++)
		if (pids[i] > 0 && ask_one(dir, pids[i], rank_pid,
		    &ps->a[ps->n]) == 0)
			asked += ps->a[ps->n++].state == LCH_PYASK_ASKED;
	free(pids);
	return asked;
}

/* Whether a's dump is still to come: refreshes its size. */
static int
still_coming(struct lch_pyask *a, long long now)
{
	struct stat st;

	if (a->state != LCH_PYASK_ASKED || a->fd < 0 || fstat(a->fd, &st) != 0)
		return 0;
	if (st.st_size != a->size) {
		a->size = st.st_size;
		a->still_ms = now;
	}
	return a->size <= a->from || now - a->still_ms < LCH_PYSTACKS_SETTLE_MS;
}

void
lch_pystacks_wait(struct lch_pystacks *ps, int n, long long deadline_ms)
{
	long long now;
	int i, k, coming;

	for (;;) {
		now = (long long)mst_now_ms();
		for (i = coming = 0; i < n; i++)
			for (k = 0; k < ps[i].n; k++)
				coming += still_coming(&ps[i].a[k], now);
		if (coming == 0 || now >= deadline_ms)
			return;
		usleep((useconds_t)(deadline_ms - now < 5 ? deadline_ms - now :
		    5) * 1000);
	}
}

/* Appends to note (len bytes) "; " and what, when it fits. */
static void
note_add(char *note, size_t len, const char *what)
{
	size_t k = strlen(note);

	if (k + strlen(what) + 3 < len)
		snprintf(note + k, len - k, "%s%s", k ? "; " : "", what);
}

/* a's dump: its non-empty lines, after the section's first line. */
static void
dump_lines(const struct lch_pyask *a, struct lch_strbuf *text)
{
	size_t want = (size_t)(a->size - a->from), got = 0;
	const char *l, *nl, *end;
	char *buf;
	ssize_t r;

	if (want > LCH_PYSTACKS_MAX)
		want = LCH_PYSTACKS_MAX;
	buf = lch_xmalloc(want + 1);
	while (got < want && (r = pread(a->fd, buf + got, want - got,
	    a->from + (off_t)got)) > 0)
		got += (size_t)r;
	lch_strbuf_addf(text, "Python frames (pid %d, main thread 0x%016llx):"
	    "\n", (int)a->pid, a->main);
	for (l = buf, end = buf + got; l < end; l = nl + 1) {
		if ((nl = memchr(l, '\n', (size_t)(end - l))) == NULL)
			nl = end;
		if (nl > l) {
			lch_strbuf_add(text, l, (size_t)(nl - l));
			lch_strbuf_addch(text, '\n');
		}
	}
	if ((size_t)(a->size - a->from) > want)
		lch_strbuf_addf(text, "  (cut at %d bytes)\n", LCH_PYSTACKS_MAX);
	free(buf);
}

int
lch_pystacks_text(const struct lch_pystacks *ps, struct lch_strbuf *text,
		  char *note, size_t len)
{
	char what[128];
	int k, frames = 0;

	note[0] = '\0';
	for (k = 0; k < ps->n; k++) {
		const struct lch_pyask *a = &ps->a[k];

		if (a->state == LCH_PYASK_ASKED && a->size > a->from &&
		    text->len >= LCH_PYSTACKS_RANK_MAX) {
			snprintf(what, sizeof(what), "python frames of pid %d "
			    "left out: the rank's are over %d bytes",
			    (int)a->pid, LCH_PYSTACKS_RANK_MAX);
			note_add(note, len, what);
			continue;
		}
		if (a->state == LCH_PYASK_ASKED && a->size > a->from) {
			dump_lines(a, text);
			frames++;
			continue;
		}
		if (a->state == LCH_PYASK_STOPPED && k == 0 &&
		    ps->n == 1)
			snprintf(what, sizeof(what), "python frames: not "
			    "available (process stopped)");
		else if (a->state == LCH_PYASK_STOPPED)
			snprintf(what, sizeof(what), "python frames: not "
			    "available for pid %d (process stopped)",
			    (int)a->pid);
		else
			snprintf(what, sizeof(what), "python frames: none "
			    "came from pid %d within %d ms", (int)a->pid,
			    LCH_PYSTACKS_WAIT_MS);
		note_add(note, len, what);
	}
	return frames;
}

void
lch_pystacks_release(struct lch_pystacks *ps)
{
	int k;

	for (k = 0; k < ps->n; k++)
		if (ps->a[k].fd >= 0)
			close(ps->a[k].fd);
	ps->n = 0;
}

/* The next line of [l, end): its length; *next after it. */
static size_t
line_of(const char *l, const char *end, const char **next)
{
	const char *nl = memchr(l, '\n', (size_t)(end - l));

	*next = nl ? nl + 1 : end;
	return (size_t)((nl ? nl : end) - l);
}

/* A faulthandler frame line '  File "F", line N in FUNC' as "F:N FUNC". */
static int
frame_of(const char *l, size_t n, char *buf, size_t len)
{
	static const char mid[] = "\", line ";
	const char *p, *q = NULL, *in, *end = l + n;
	char *e;
	long line;

	if (n < 9 || memcmp(l, "  File \"", 8) != 0)
		return 0;
	for (p = l + 8; p + sizeof(mid) - 1 <= end; p++)	/* the last one */
		if (memcmp(p, mid, sizeof(mid) - 1) == 0)
			q = p;
	if (q == NULL)
		return 0;
	in = q + sizeof(mid) - 1;
	line = strtol(in, &e, 10);
	if (e == in || e + 4 > end || memcmp(e, " in ", 4) != 0)
		return 0;
	snprintf(buf, len, "%.*s:%ld %.*s", (int)(q - (l + 8)), l + 8, line,
	    (int)(end - (e + 4)), e + 4);
	return 1;
}

/* A thread's line of faulthandler's: its id, or 0 when it is none. */
static unsigned long long
thread_of(const char *l, size_t n)
{
	const char *p = NULL;

	if (n > 17 && memcmp(l, "Current thread 0x", 17) == 0)
		p = l + 15;
	else if (n > 9 && memcmp(l, "Thread 0x", 9) == 0)
		p = l + 7;
	return p ? strtoull(p, NULL, 16) : 0;
}

void
lch_pystacks_top(const char *text, size_t n, char *buf, size_t len)
{
	static const char head[] = "Python frames (pid ";
	const char *l, *next, *end = text + n, *m;
	unsigned long long main = 0, cur = 0;
	int in = 0, want = 0, first = 1;
	char fr[512];
	size_t k;

	buf[0] = '\0';
	for (l = text; l < end; l = next) {
		k = line_of(l, end, &next);
		if (!in) {
			if (k < sizeof(head) - 1 || memcmp(l, head,
			    sizeof(head) - 1) != 0)
				continue;
			in = 1;
			m = memmem(l, k, "main thread 0x", 14);
			main = m ? strtoull(m + 12, NULL, 16) : 0;
			continue;
		}
		if (thread_of(l, k)) {
			cur = thread_of(l, k);
			want = 1;
			continue;
		}
		if (k < 2 || memcmp(l, "  ", 2) != 0)
			break;	/* the section ended */
		if (!want || !frame_of(l, k, fr, sizeof(fr)))
			continue;
		want = 0;	/* a thread's innermost frame */
		if (first || cur == main)
			snprintf(buf, len, "%s", fr);
		first = 0;
		if (cur == main)
			break;
	}
}
