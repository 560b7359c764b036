/*
 * outq_test.c: output that never blocks (outq.h): a pipe nobody reads
 * takes what fits and the rest waits, without the writer's description
 * turning non-blocking; a closed pipe is EPIPE, /dev/full ENOSPC, and
 * what comes after an error is counted as dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "outq.h"
#include "test.h"

#define BIG (1 << 20)	/* more than a pipe holds */

static char big[BIG];

static void
test_full_pipe(void)
{
	struct lch_outq q;
	int p[2], fl;

	signal(SIGPIPE, SIG_IGN);	/* as lch_signals_setup does */
	CHECK(pipe(p) == 0);
	lch_outq_init(&q, p[1], 0);
	CHECK(q.fd != p[1]);	/* a description of its own */
	fl = fcntl(p[1], F_GETFL);
	CHECK(!(fl & O_NONBLOCK));	/* the caller's stays as it was */
	lch_outq_add(&q, big, sizeof(big));
	CHECK_INT(lch_outq_flush(&q), 1);	/* some left, and no block */
	CHECK(lch_outq_pending(&q) > 0);
	CHECK(lch_outq_pending(&q) < sizeof(big));
	CHECK_INT(q.err, 0);
	close(p[0]);	/* the reader goes away */
	CHECK_INT(lch_outq_flush(&q), -1);
	CHECK_INT(q.err, EPIPE);
	CHECK_INT(lch_outq_pending(&q), 0);
	lch_outq_add(&q, "x", 1);
	CHECK(q.dropped > 1);
	close(q.fd);
	close(p[1]);
	lch_outq_release(&q);
}

static void
test_dev_full(void)
{
	struct lch_outq q;
	int fd = open("/dev/full", O_WRONLY);

	CHECK(fd >= 0);
	lch_outq_init(&q, fd, 1);	/* dup_over: fd itself is the new one */
	CHECK_INT(q.fd, fd);
	lch_outq_add(&q, "hello\n", 6);
	CHECK_INT(lch_outq_flush(&q), -1);
	CHECK_INT(q.err, ENOSPC);
	CHECK_INT((int)q.dropped, 6);
	close(fd);
	lch_outq_release(&q);
}

static void
test_plain_file(void)
{
	char path[] = "/tmp/outq_test.XXXXXX";
	struct lch_outq q;
	char buf[16];
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	unlink(path);
	lch_outq_init(&q, fd, 0);
	CHECK_INT(q.fd, fd);	/* a file is written as it is */
	lch_outq_add(&q, "abc", 3);
	CHECK_INT(lch_outq_flush(&q), 0);
	CHECK_INT((int)pread(fd, buf, sizeof(buf), 0), 3);
	close(fd);
	lch_outq_release(&q);
}

TEST_LIST = {
	{ "full_pipe", test_full_pipe },
	{ "dev_full", test_dev_full },
	{ "plain_file", test_plain_file },
	{ NULL, NULL }
};
