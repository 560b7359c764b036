/*
 * spawn_test.c: lch_pipes opens all of its pipes or none; the pre-exec
 * hook runs in the child, its fds wired, before the program (spawn.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawn.h"
#include "test.h"

/* Open descriptors of this process, and the highest one. */
static int
open_fds(int *highest)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, fd;

	*highest = -1;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || (fd = atoi(e->d_name)) == dirfd(d))
			continue;
		n++;
		if (fd > *highest)
			*highest = fd;
	}
	closedir(d);
	return n;
}

static void
test_pipes_all_or_none(void)
{
	struct rlimit old, lim;
	int p[3][2], before, after, high, e, rv;

	/* no holes below the highest descriptor: new ones come above it */
	open_fds(&high);
	while (open("/dev/null", O_RDONLY | O_CLOEXEC) < high)
		;
	before = open_fds(&high);
	CHECK(before > 0);
	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
	/* room for two pipes and one more descriptor, not three pipes */
	lim = old;
	lim.rlim_cur = (rlim_t)high + 1 + 5;
	CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
	rv = lch_pipes(p, 3);
	e = errno;
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	CHECK_INT(rv, -1);
	CHECK_INT(e, EMFILE);
	CHECK_INT(open_fds(&high), before);	/* the first two were closed */

	CHECK_INT(lch_pipes(p, 3), 0);
	after = open_fds(&high);
	CHECK_INT(after, before + 6);
	lch_pipes_close(p, 3);
	CHECK_INT(open_fds(&high), before);
}

/* In the child: a line on its stdout, before the program's. */
static void
hook(void *arg)
{
	(void)!write(1, arg, strlen(arg));
}

static void
test_pre_exec(void)
{
	char a0[] = "echo", a1[] = "program", line[] = "hook\n";
	char *argv[] = { a0, a1, NULL }, buf[64] = "";
	struct lch_spawn s;
	int p[1][2], e, st;
	size_t n = 0;
	ssize_t k;
	pid_t pid;

	CHECK_INT(lch_pipes(p, 1), 0);
	memset(&s, 0, sizeof(s));
	s.argv = argv;
	s.in_fd = -1;
	s.out_fd = p[0][1];
	s.err_fd = -1;
	s.pre_exec = hook;
	s.pre_exec_arg = line;
	pid = lch_spawn_start(&s, &e);
	CHECK(pid > 0);
	close(p[0][1]);
	while (n < sizeof(buf) - 1 &&
	       (k = read(p[0][0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	close(p[0][0]);
	CHECK_STR(buf, "hook\nprogram\n");
	CHECK(waitpid(pid, &st, 0) == pid && lch_exit_code(st) == 0);
}

TEST_LIST = {
	{ "pipes_all_or_none", test_pipes_all_or_none },
	{ "pre_exec", test_pre_exec },
	{ NULL, NULL },
};
