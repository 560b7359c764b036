/* spawn_test.c: lch_pipes opens all of its pipes or none (spawn.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <stdlib.h>
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

TEST_LIST = {
	{ "pipes_all_or_none", test_pipes_all_or_none },
	{ NULL, NULL },
};
