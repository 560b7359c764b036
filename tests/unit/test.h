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

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};
extern const struct test_case test_list_[];
#define TEST_LIST const struct test_case test_list_[]

static int test_failures_;

#define CHECK_(cond, ...) do { \
	if (!(cond)) { \
		test_failures_++; \
		fprintf(stderr, "# %s:%d: check failed: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)
#define CHECK(cond) CHECK_(cond, "%s", #cond)
#define CHECK_INT(a, b) do { long long a_ = (a), b_ = (b); \
	CHECK_(a_ == b_, "%s == %s (%lld vs %lld)", #a, #b, a_, b_); } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	CHECK_(a_ && b_ && strcmp(a_, b_) == 0, "%s == %s (\"%s\" vs \"%s\")", \
	    #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define SKIP(why) do { fflush(stderr); printf("SKIP %s\n", why); \
	fflush(stdout); _exit(77); } while (0)

static int
test_run_one_(const struct test_case *t, int n)
{
	int fds[2], st;
	char buf[512] = "";
	ssize_t len;
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
	len = read(fds[0], buf, sizeof(buf) - 1);
	buf[len > 0 ? len : 0] = '\0';
	close(fds[0]);
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		char *nl = strchr(buf, '\n');
		if (nl)
			*nl = '\0';
		printf("ok %d %s # SKIP %s\n", n,
		    t->name, strncmp(buf, "SKIP ", 5) == 0 ? buf + 5 : "");
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
