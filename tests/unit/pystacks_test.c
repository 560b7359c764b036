/*
 * pystacks_test.c: pystacks.h's pieces: the hook's first line, /proc's
 * stat, the summary's Python frame, the rank's folder and PYTHONPATH, and
 * the checks before a signal, on children of ours that register as the
 * hook does (a C handler writing a frame line), or only pretend to.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "pystacks.h"
#include "stacks.h"
#include "strbuf.h"
#include "test.h"
#include "util.h"

static void
test_header(void)
{
	static const char ok[] = "muster-pystacks 1 pid=42 start=123456 "
	    "signal=45 fd=3 main=0x00007f29c44ae040";
	static const char *const bad[] = {
		"muster-pystacks 2 pid=42 start=1 signal=45 fd=3 main=0x1",
		"muster-pystacks 1 pid=42 start=1 signal=45 fd=3",
		"muster-pystacks 1 pid=42 start=1 signal=45 fd=3 main=0x1 x",
		"muster-pystacks 1 pid=-42 start=1 signal=45 fd=3 main=0x1",
		"muster-pystacks 1 pid=42 start=-1 signal=45 fd=3 main=0x1",
		"muster-pystacks 1 pid=42 start=1 signal=0 fd=3 main=0x1",
		"muster-pystacks 1 pid=42 start=1 signal=45 fd=-1 main=0x1",
		"pid=42 start=1 signal=45 fd=3 main=0x1", "", NULL };
	struct lch_pyreg r;
	char longer[400];
	int i;

	CHECK_INT(lch_pyreg_parse(ok, strlen(ok), &r), 0);
	CHECK_INT(r.pid, 42);
	CHECK(r.start == 123456);
	CHECK_INT(r.sig, 45);
	CHECK_INT(r.fd, 3);
	CHECK(r.main == 0x00007f29c44ae040ULL);
	for (i = 0; bad[i]; i++)
		CHECK_(lch_pyreg_parse(bad[i], strlen(bad[i]), &r) == -1,
		    "refused: '%s'", bad[i]);
	memset(longer, 'x', sizeof(longer));
	memcpy(longer, ok, strlen(ok));
	CHECK_INT(lch_pyreg_parse(longer, sizeof(longer), &r), -1);
}

static void
test_proc_stat(void)
{
	/* a comm with blanks and parens; tty and nice negative */
	static const char text[] = "4516 (a) S (b) R 77 4500 4500 -1 -1 "
	    "4194560 5 0 0 0 1 2 0 0 20 -5 1 0 4919895 0 0\n";
	struct lch_proc_stat st;

	CHECK_INT(lch_proc_stat_parse(text, &st), 0);
	CHECK_INT(st.state, 'R');
	CHECK_INT(st.ppid, 77);
	CHECK_INT(st.pgrp, 4500);
	CHECK(st.start == 4919895);
	CHECK_INT(lch_proc_stat_parse("4516 (a) S 1 2", &st), -1);
	CHECK_INT(lch_proc_stat_parse("no paren", &st), -1);
	CHECK_INT(lch_proc_stat_read(getpid(), &st), 0);
	CHECK_INT(st.pgrp, getpgrp());
	CHECK_INT(st.ppid, getppid());
	CHECK_INT(lch_proc_stat_read(0, &st), -1);
}

static const char py_text[] =
	"Python frames (pid 7, main thread 0x00007f0000000002):\n"
	"Thread 0x00007f0000000001 (most recent call first):\n"
	"  File \"/usr/lib/python3.11/threading.py\", line 320 in wait\n"
	"  File \"/x/a.py\", line 3 in worker\n"
	"Current thread 0x00007f0000000002 (most recent call first):\n"
	"  File \"/x/a, line 5 b.py\", line 12 in wait_in_here\n"
	"  File \"/x/a.py\", line 20 in <module>\n"
	"Python frames (pid 8, main thread 0x00007f0000000003):\n"
	"Current thread 0x00007f0000000003 (most recent call first):\n"
	"  File \"/x/c.py\", line 1 in child\n"
	"Thread 1 (Thread 0x7f (LWP 7) \"python3\"):\n"
	"#0  0x00007f in epoll_wait () from /lib/libc.so.6\n"
	"#1  0x00007f in _PyEval_EvalFrameDefault ()\n";

static void
test_top(void)
{
	char buf[256];
	const char *no_main, *end;

	lch_pystacks_top(py_text, strlen(py_text), buf, sizeof(buf));
	CHECK_STR(buf, "/x/a, line 5 b.py:12 wait_in_here");
	/* the main thread unknown: the first thread's */
	no_main = strstr(py_text, "Thread 0x");
	end = strstr(py_text, "Current thread");
	{
		struct lch_strbuf sb = LCH_STRBUF_INIT;

		lch_strbuf_addf(&sb, "Python frames (pid 7):\n%.*s",
		    (int)(end - no_main), no_main);
		lch_pystacks_top(sb.buf, sb.len, buf, sizeof(buf));
		CHECK_STR(buf, "/usr/lib/python3.11/threading.py:320 wait");
		lch_strbuf_release(&sb);
	}
	lch_pystacks_top("Thread 1 (Thread 0x7f):\n#0 x ()\n", 31, buf,
	    sizeof(buf));
	CHECK_STR(buf, "");
	lch_pystacks_top(py_text, strlen(py_text), buf, 10);
	CHECK(strlen(buf) < 10);
	lch_stacks_summary(py_text, strlen(py_text), 2, buf, sizeof(buf));
	CHECK_STR(buf, "python /x/a, line 5 b.py:12 wait_in_here; epoll_wait < "
	    "_PyEval_EvalFrameDefault");
	lch_stacks_summary(strstr(py_text, "Thread 1"),
	    strlen(strstr(py_text, "Thread 1")), 4, buf, sizeof(buf));
	CHECK_STR(buf, "epoll_wait < _PyEval_EvalFrameDefault");
}

static void
test_prepare(void)
{
	char tmpl[] = "/tmp/pystacks-test-XXXXXX", *d, path[512];
	struct lch_env e = { LCH_STRV_INIT };
	const char *hook = lch_pystacks_hookdir();
	struct stat st;

	if (hook == NULL)
		SKIP("no lib/python/muster-hook beside this program");
	CHECK(mkdtemp(tmpl) != NULL);
	unsetenv("PYTHONPATH");
	d = lch_pystacks_prepare(tmpl, 3, &e);
	snprintf(path, sizeof(path), "%s/py.3", tmpl);
	CHECK_STR(d, path);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0777) == 0700);
	CHECK_STR(lch_env_get(&e, LCH_PYSTACKS_ENV), path);
	CHECK_STR(lch_env_get(&e, "PYTHONPATH"), hook);
	free(d);
	/* the user's PYTHONPATH after the hook, the plan's over the process's */
	lch_env_clear(&e);
	setenv("PYTHONPATH", "/user/a", 1);
	d = lch_pystacks_prepare(tmpl, 4, &e);
	snprintf(path, sizeof(path), "%s:/user/a", hook);
	CHECK_STR(lch_env_get(&e, "PYTHONPATH"), path);
	free(d);
	lch_env_clear(&e);
	lch_env_set(&e, "PYTHONPATH", "/plan/b");
	d = lch_pystacks_prepare(tmpl, 5, &e);
	snprintf(path, sizeof(path), "%s:/plan/b", hook);
	CHECK_STR(lch_env_get(&e, "PYTHONPATH"), path);
	free(d);
	CHECK(lch_pystacks_prepare(tmpl, 5, &e) == NULL);	/* exists */
	CHECK(lch_pystacks_prepare(NULL, 6, &e) == NULL);
	/* remove: py.N folders and their pid files only */
	snprintf(path, sizeof(path), "%s/py.3/123", tmpl);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	snprintf(path, sizeof(path), "%s/py.x", tmpl);
	CHECK(mkdir(path, 0700) == 0);
	lch_pystacks_remove(tmpl);
	snprintf(path, sizeof(path), "%s/py.3", tmpl);
	CHECK(access(path, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/py.5", tmpl);
	CHECK(access(path, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/py.x", tmpl);
	CHECK(rmdir(path) == 0);
	CHECK(rmdir(tmpl) == 0);
	lch_env_clear(&e);
}

/* --- children that register as the hook does, or pretend to --- */

enum kid_kind { KID_CATCHES, KID_NO_HANDLER, KID_OLD_START, KID_FD_REUSED };

static int kid_fd = -1;

static void
kid_dump(int sig)
{
	static const char l[] = "Current thread 0x0000000000000001 (most "
	    "recent call first):\n  File \"kid.c\", line 7 in c_waits\n";

	(void)sig;
	if (write(kid_fd, l, sizeof(l) - 1) < 0)
		_exit(9);
}

/* A child of kind k registered in dir: its pid, once it is ready. */
static pid_t
kid_start(const char *dir, enum kid_kind k)
{
	struct lch_proc_stat st;
	char path[512], c;
	int p[2];
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		snprintf(path, sizeof(path), "%s/%d", dir, (int)getpid());
		kid_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (k != KID_NO_HANDLER)
			signal(SIGRTMIN + 11, kid_dump);
		if (lch_proc_stat_read(getpid(), &st) != 0)
			_exit(8);
		dprintf(kid_fd, "muster-pystacks 1 pid=%d start=%llu signal=%d "
		    "fd=%d main=0x0000000000000001\n", (int)getpid(),
		    st.start + (k == KID_OLD_START), SIGRTMIN + 11, kid_fd);
		if (k == KID_FD_REUSED)	/* closed, then the number reused */
			dup2(open("/dev/null", O_WRONLY), kid_fd);
		if (write(p[1], "x", 1) != 1)
			_exit(7);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		pid = -1;
	close(p[0]);
	return pid;
}

/* One ask of kid's frames: the signals sent; text and note filled. */
static int
ask(const char *dir, pid_t kid, struct lch_strbuf *text, char *note,
    size_t len)
{
	struct lch_pystacks ps;
	int n = lch_pystacks_ask(&ps, dir, kid);

	lch_pystacks_wait(&ps, 1, (long long)mst_now_ms() +
	    LCH_PYSTACKS_WAIT_MS * TEST_SLOWDOWN);
	lch_strbuf_reset(text);
	lch_pystacks_text(&ps, text, note, len);
	lch_pystacks_release(&ps);
	return n;
}

static void
kid_end(pid_t kid)
{
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
}

/* Whether kid still runs (not killed by a signal it did not catch). */
static int
kid_alive(pid_t kid)
{
	int st;

	return waitpid(kid, &st, WNOHANG) == 0;
}

static void
test_ask(void)
{
	char tmpl[] = "/tmp/pystacks-test-XXXXXX", want[256], note[256];
	struct lch_strbuf text = LCH_STRBUF_INIT;
	pid_t kid;
	int st;

	CHECK(mkdtemp(tmpl) != NULL);
	kid = kid_start(tmpl, KID_CATCHES);
	CHECK_INT(ask(tmpl, kid, &text, note, sizeof(note)), 1);
	snprintf(want, sizeof(want), "Python frames (pid %d, main thread "
	    "0x0000000000000001):\nCurrent thread 0x0000000000000001 (most "
	    "recent call first):\n  File \"kid.c\", line 7 in c_waits\n",
	    (int)kid);
	CHECK_STR(text.buf, want);
	CHECK_STR(note, "");
	/* a second snapshot: only what came since */
	CHECK_INT(ask(tmpl, kid, &text, note, sizeof(note)), 1);
	CHECK_STR(text.buf, want);
	/* stopped: no signal (it stays stopped), said so */
	kill(kid, SIGSTOP);
	CHECK(waitpid(kid, &st, WUNTRACED) == kid && WIFSTOPPED(st));
	CHECK_INT(ask(tmpl, kid, &text, note, sizeof(note)), 0);
	CHECK_STR(note, "python frames: not available (process stopped)");
	CHECK_INT(text.len, 0);
	/* another rank's (neither in its group nor below it): not signalled */
	kill(kid, SIGCONT);
	CHECK_INT(ask(tmpl, 1, &text, note, sizeof(note)), 0);
	kid_end(kid);
	/* gone: nothing */
	CHECK_INT(ask(tmpl, kid, &text, note, sizeof(note)), 0);
	CHECK_STR(note, "");
	lch_strbuf_release(&text);
	lch_remove_numbered(tmpl, "", S_IFREG);
	CHECK(rmdir(tmpl) == 0);
}

/* Pretenders: a real-time signal would kill them; they get none. */
static void
test_pretenders(void)
{
	static const enum kid_kind kinds[] = { KID_NO_HANDLER, KID_OLD_START,
	    KID_FD_REUSED };
	char tmpl[] = "/tmp/pystacks-test-XXXXXX", note[256];
	struct lch_strbuf text = LCH_STRBUF_INIT;
	size_t i;
	pid_t kid;

	CHECK(mkdtemp(tmpl) != NULL);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		kid = kid_start(tmpl, kinds[i]);
		CHECK_(ask(tmpl, kid, &text, note, sizeof(note)) == 0,
		    "kind %d not asked", (int)kinds[i]);
		usleep(50 * 1000);
		CHECK_(kid_alive(kid), "kind %d still runs", (int)kinds[i]);
		CHECK_INT(text.len, 0);
		kid_end(kid);
		lch_remove_numbered(tmpl, "", S_IFREG);
	}
	lch_strbuf_release(&text);
	CHECK(rmdir(tmpl) == 0);
}

TEST_LIST = {
	{ "header", test_header },
	{ "proc_stat", test_proc_stat },
	{ "top", test_top },
	{ "prepare", test_prepare },
	{ "ask", test_ask },
	{ "pretenders", test_pretenders },
	{ NULL, NULL }
};
