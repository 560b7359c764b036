/*
 * stacks_test.c: stacks.h's pure pieces: K records, the head's
 * collection of k and K records, the top frames of gdb's text, the
 * snapshot files' names and their saving, and a real snapshot of a
 * child of ours (skipped without gdb).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "records.h"
#include "stacks.h"
#include "strbuf.h"
#include "test.h"
#include "util.h"

static const char gdb_text[] =
	"Thread 2 (Thread 0x7f (LWP 11) \"worker\"):\n"
	"#0  0x00007f in epoll_wait () from /lib/libc.so.6\n"
	"#1  0x00007f in loop_thread (arg=0x0) at w.c:9\n"
	"Thread 1 (Thread 0x7e (LWP 10) \"prog\"):\n"
	"#0  __GI___clock_nanosleep (clock_id=0) at x.c:71\n"
	"#1  0x00007f in __GI___nanosleep (req=0x1) at y.c:25\n"
	"#2  0x000056 in ?? ()\n"
	"#3  0x000055 in stall_loop_wait () at stall_loop.c:19\n"
	"#4  0x000055 in main (argc=1) at stall_loop.c:31\n";

/* eu-stack -i -s: source lines indented, no " in ", symbol versions */
static const char eu_text[] =
	"TID 10:\n"
	"#0  0x00007f1b8998b503 clock_nanosleep@GLIBC_2.2.5\n"
	"    ../sysdeps/unix/sysv/linux/clock_nanosleep.c:71:10\n"
	"#1  0x00007f1b8998fe53 __nanosleep\n"
	"#2  0x000055e86c3004af\n"
	"#3  0x000055e86c3004b0 stall_loop_wait\n"
	"    tests/tools/stall_loop.c:19:3\n"
	"#4  0x000055e86c3004c0 main\n"
	"TID 11:\n"
	"#0  0x00007f1b8998b504 epoll_wait\n";

static void
test_top(void)
{
	char buf[256];

	lch_stacks_top(gdb_text, strlen(gdb_text), 4, buf, sizeof(buf));
	CHECK_STR(buf, "__GI___clock_nanosleep < __GI___nanosleep < "
	    "stall_loop_wait < main");
	lch_stacks_top(gdb_text, strlen(gdb_text), 2, buf, sizeof(buf));
	CHECK_STR(buf, "__GI___clock_nanosleep < __GI___nanosleep");
	/* no Thread 1: the first block */
	lch_stacks_top(gdb_text, 120, 4, buf, sizeof(buf));
	CHECK_STR(buf, "epoll_wait < loop_thread");
	lch_stacks_top("", 0, 4, buf, sizeof(buf));
	CHECK_STR(buf, "");
	lch_stacks_top(gdb_text, strlen(gdb_text), 4, buf, 20);
	CHECK(strlen(buf) < 20);
	/* eu-stack's: the first thread (the main one), no address-only */
	lch_stacks_top(eu_text, strlen(eu_text), 4, buf, sizeof(buf));
	CHECK_STR(buf, "clock_nanosleep < __nanosleep < stall_loop_wait < main");
	lch_stacks_top(eu_text, strlen(eu_text), 9, buf, sizeof(buf));
	CHECK_STR(buf, "clock_nanosleep < __nanosleep < stall_loop_wait < main");
}

static void
test_records(void)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	struct lch_stacks s;
	struct lch_rec r;

	lch_stacks_add_end(&sb, 3, LCH_STACKS_FAILED, "gdb: ptrace:\tno");
	CHECK_STR(sb.buf, "K[3] 1 gdb: ptrace: no\n");
	CHECK_INT(lch_rec_decode(sb.buf, sb.len - 1, 4, &r), 0);
	CHECK_INT(r.type, LCH_REC_STACK_END);
	memset(&s, 0, sizeof(s));
	lch_stacks_begin(&s, 2, "test", 1000, 500);
	CHECK_INT(s.pending, 2);
	CHECK(!lch_stacks_complete(&s, 1200));
	lch_stacks_record(&s, LCH_REC_STACK, 0, "#0  main () at a.c:1", 20);
	lch_stacks_record(&s, LCH_REC_STACK_END, 0, "0 ", 2);
	lch_stacks_record(&s, LCH_REC_STACK, 0, "late", 4);	/* after K */
	CHECK_STR(s.r[0].text.buf, "#0  main () at a.c:1\n");
	CHECK_INT(s.r[0].status, LCH_STACKS_OK);
	CHECK(s.r[0].note == NULL);
	CHECK(!lch_stacks_complete(&s, 1200));
	CHECK(lch_stacks_complete(&s, 1500));	/* the deadline */
	lch_stacks_record(&s, LCH_REC_STACK_END, 1, sb.buf + 5, sb.len - 6);
	CHECK_INT(s.r[1].status, LCH_STACKS_FAILED);
	CHECK_STR(s.r[1].note, "gdb: ptrace: no");
	CHECK(lch_stacks_complete(&s, 1001));
	lch_stacks_record(&s, LCH_REC_STACK_END, 5, "0", 1);	/* no rank 5 */
	lch_strbuf_reset(&sb);
	s.r[0].host = s.r[1].host = "h";
	s.r[0].pid = 42;
	lch_stacks_text(&s, "job", &sb);
	CHECK(strstr(sb.buf, "=== rank 0 (host h, pid 42): taken ===\n#0  main")
	    != NULL);
	CHECK(strstr(sb.buf, "=== rank 1 (host h): failed: gdb: ptrace: no ===")
	    != NULL);
	lch_stacks_release(&s);
	/* a STATUS that is none counts as a failure */
	lch_stacks_begin(&s, 1, "test", 0, 10);
	lch_stacks_record(&s, LCH_REC_STACK_END, 0, "x", 1);
	CHECK_INT(s.r[0].status, LCH_STACKS_FAILED);
	lch_stacks_release(&s);
	lch_strbuf_release(&sb);
}

static void
test_files(void)
{
	char dir[] = "/tmp/stacks_test.XXXXXX", *p1, *p2, *latest;

	CHECK_INT(lch_stacks_file_no("1-20260101-101010.txt"), 1);
	CHECK_INT(lch_stacks_file_no("12-x.txt"), 12);
	CHECK_INT(lch_stacks_file_no(".3.tmp"), 0);
	CHECK_INT(lch_stacks_file_no("0-x.txt"), 0);
	CHECK_INT(lch_stacks_file_no("3-x.txt~"), 0);
	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(lch_stacks_latest(dir, &latest), 0);
	CHECK(latest == NULL);
	p1 = lch_stacks_save(dir, 1.7e9, "one\n", 4);
	p2 = lch_stacks_save(dir, 1.7e9, "two\n", 4);
	CHECK(p1 && strstr(p1, "/stacks/1-") != NULL);
	CHECK(p2 && strstr(p2, "/stacks/2-") != NULL);
	CHECK_INT(lch_stacks_latest(dir, &latest), 2);
	CHECK_STR(latest, p2);
	unlink(p1);
	unlink(p2);
	free(p1);
	free(p2);
	free(latest);
	p1 = lch_xasprintf("%s/stacks", dir);
	CHECK_INT(rmdir(p1), 0);
	free(p1);
	CHECK_INT(rmdir(dir), 0);
}

/* Reads the snapshotter's records until EOF (10 s at most). */
static void
read_all(int fd, struct lch_strbuf *sb)
{
	long long until = (long long)mst_now_ms() + 10000 * TEST_SLOWDOWN;
	ssize_t n;

	while ((long long)mst_now_ms() < until) {
		n = lch_strbuf_read_once(sb, fd, 1 << 20);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
		if (n < 0)
			usleep(10000);
	}
}

/*
 * A real snapshot with tool (gdb or eu-stack: MUSTER_STACKS_TOOL): a
 * stopped child stays stopped, one not running is said.
 */
static void
snapshot_with(const char *tool, const char *pkg, const char *thread)
{
	struct lch_stacks_target t[2];
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	char state[64], path[64];
	pid_t kid, snap;
	FILE *f;
	int fd, st;

	snprintf(path, sizeof(path), "command -v %s > /dev/null 2>&1", tool);
	if (system(path) != 0) {
		printf("# no %s (Debian's %s package)\n", tool, pkg);
		return;
	}
	setenv("MUSTER_STACKS_TOOL", tool, 1);
	if ((kid = fork()) == 0) {
		for (;;)
			pause();
	}
	CHECK(kid > 0);
	usleep(100000);
	kill(kid, SIGSTOP);
	CHECK_INT(waitpid(kid, &st, WUNTRACED), kid);
	t[0] = (struct lch_stacks_target){ 0, kid, 0, NULL };
	t[1] = (struct lch_stacks_target){ 1, 0, 1, NULL };
	snap = lch_stacks_fork(t, 2, 10000 * TEST_SLOWDOWN, &fd);
	CHECK(snap > 0);
	read_all(fd, &sb);
	close(fd);
	CHECK_INT(waitpid(snap, &st, 0), snap);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_(strstr(sb.buf, thread) != NULL, "%s: %s", tool, sb.buf);
	CHECK(strstr(sb.buf, "k[0] #0 ") != NULL);
	CHECK(strstr(sb.buf, "pause") != NULL);
	CHECK(strstr(sb.buf, "\nK[0] 0 ") != NULL);
	CHECK(strstr(sb.buf, "\nK[1] 3 it ended\n") != NULL);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)kid);
	CHECK((f = fopen(path, "r")) != NULL);
	CHECK(fgets(state, sizeof(state), f) != NULL);
	fclose(f);
	CHECK(strstr(state, ") T ") != NULL);	/* still stopped */
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	lch_strbuf_release(&sb);
	unsetenv("MUSTER_STACKS_TOOL");
}

static void
test_snapshot(void)
{
	if (system("command -v gdb > /dev/null 2>&1") != 0 &&
	    system("command -v eu-stack > /dev/null 2>&1") != 0)
		SKIP("no gdb, no eu-stack (Debian's gdb, elfutils)");
	snapshot_with("gdb", "gdb", "k[0] Thread 1 ");
	snapshot_with("eu-stack", "elfutils", "k[0] TID ");
}

TEST_LIST = {
	{ "top", test_top },
	{ "records", test_records },
	{ "files", test_files },
	{ "snapshot", test_snapshot },
	{ NULL, NULL }
};
