/*
 * test.h: a tiny acutest-style harness that speaks TAP.
 *
 *	static void test_parse(void) { CHECK(x == 1); CHECK_STR(s, "a"); }
 *	TEST_LIST = { { "parse", test_parse }, { NULL, NULL } };
 *
 * Each case runs in its own forked child, so a crash or a hang (alarm,
 * TEST_TIMEOUT seconds, default 60) fails that case only.  A case calls
 * SKIP("why") when its precondition is missing; that is reported as a skip,
 * never as a pass.  Run one case with `./x_test NAME`.
 */
#ifndef MUSTER_TEST_H
#define MUSTER_TEST_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * How many times slower an instrumented build runs: time bounds in tests
 * are multiplied by it (ASan and TSan, by GCC's or clang's macros).
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_SLOWDOWN 8
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TEST_SLOWDOWN 8
#endif
#endif
#ifndef TEST_SLOWDOWN
#define TEST_SLOWDOWN 1
#endif

struct test_case {
	const char *name;
	void (*fn)(void);
};
extern const struct test_case test_list_[];
#define TEST_LIST const struct test_case test_list_[]

static int test_failures_;

/* One write per failed check, so that ranks' messages do not interleave. */
static void __attribute__((format(printf, 3, 4)))
test_fail_(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	test_failures_++;
	n = snprintf(msg, sizeof(msg), "# %s:%d: check failed: ", file, line);
	if (n < 0 || (size_t)n >= sizeof(msg) - 1)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", msg);
}

#define CHECK_(cond, ...) do { \
	if (!(cond)) \
		test_fail_(__FILE__, __LINE__, __VA_ARGS__); \
} while (0)
#define CHECK(cond) CHECK_(cond, "%s", #cond)
#define CHECK_INT(a, b) do { long long a_ = (a), b_ = (b); \
	CHECK_(a_ == b_, "%s == %s (%lld vs %lld)", #a, #b, a_, b_); } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	CHECK_(a_ && b_ && strcmp(a_, b_) == 0, "%s == %s (\"%s\" vs \"%s\")", \
	    #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define SKIP(why) do { fflush(stderr); printf("SKIP %s\n", why); \
	fflush(stdout); _exit(77); } while (0)

/* One read() of the case's output: its first size-1 bytes go to buf. */
static ssize_t
test_read_(int fd, char *buf, size_t size, size_t *len)
{
	char sink[4096];
	int keep = *len < size - 1;
	ssize_t got;

	do
		got = keep ? read(fd, buf + *len, size - 1 - *len) :
		    read(fd, sink, sizeof(sink));
	while (got < 0 && errno == EINTR);
	if (got > 0 && keep)
		*len += (size_t)got;
	buf[*len] = '\0';
	return got;
}

/*
 * Reads the case's stdout to EOF (a case may print any amount) and reaps
 * the case.  It stops before EOF only once the case is gone and the pipe
 * is empty: a process the case left behind may hold the pipe open.
 */
static void
test_collect_(int fd, pid_t pid, int *st, char *buf, size_t size)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t len = 0;
	int ready;

	for (;;) {
		ready = poll(&p, 1, 100);
		if (ready > 0 && test_read_(fd, buf, size, &len) <= 0)
			break;
		if (ready == 0 && waitpid(pid, st, WNOHANG) == pid)
			return;
	}
	waitpid(pid, st, 0);
}

/* The reason on the case's "SKIP why" line, or "". */
static const char *
test_skip_why_(char *out)
{
	char *s = strncmp(out, "SKIP ", 5) == 0 ? out : strstr(out, "\nSKIP ");
	char *nl;

	if (s == NULL)
		return "";
	s += *s == '\n' ? 6 : 5;
	if ((nl = strchr(s, '\n')) != NULL)
		*nl = '\0';
	return s;
}

static int
test_run_one_(const struct test_case *t, int n)
{
	int fds[2], st;
	char buf[512] = "";
	pid_t pid;

	fflush(stdout);
	if (pipe(fds) != 0)
		return 1;
	if ((pid = fork()) == 0) {
		const char *to = getenv("TEST_TIMEOUT");
		close(fds[0]);
		dup2(fds[1], 1);
		alarm(to ? (unsigned)atoi(to) : 60);
		t->fn();
		fflush(stdout);
		_exit(test_failures_ ? 1 : 0);
	}
	close(fds[1]);
	test_collect_(fds[0], pid, &st, buf, sizeof(buf));
	close(fds[0]);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		printf("ok %d %s # SKIP %s\n", n, t->name, test_skip_why_(buf));
		return 0;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		printf("ok %d %s\n", n, t->name);
		return 0;
	}
	if (WIFSIGNALED(st))
		printf("not ok %d %s (signal %d%s)\n", n, t->name,
		    WTERMSIG(st), WTERMSIG(st) == SIGALRM ? ": timed out" : "");
	else
		printf("not ok %d %s\n", n, t->name);
	return 1;
}

int
main(int argc, char **argv)
{
	int i, n = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; test_list_[i].name; i++)
		if (argc < 2 || strcmp(argv[1], test_list_[i].name) == 0)
			n++;
	printf("1..%d\n", n);
	n = 0;
	for (i = 0; test_list_[i].name; i++)
		if (argc < 2 || strcmp(argv[1], test_list_[i].name) == 0)
			failed += test_run_one_(&test_list_[i], ++n);
	return failed ? 1 : 0;
}
#endif /* MUSTER_TEST_H */
