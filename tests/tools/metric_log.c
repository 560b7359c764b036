/*
 * metric_log: libmuster's metric calls from the shell, for tests and
 * the benchmark (tests/perf/metrics.sh).
 *
 *   metric_log log N MS	N scalars "loss" (value 1/(i+1), step i), MS
 *				ms apart, then a list "l" and a row "r"
 *   metric_log seq N		N scalars "seq", value i, no step (the head
 *				counts: step == value checks the sequence)
 *   metric_log bench N FILE	ns per call: N muster_log_metric calls (on
 *				$MUSTER_METRICS), then N write(2)s of the
 *				same line to FILE; prints both and the ratio
 *   metric_log threads T N	T threads, each N scalars "tK" (K the
 *				thread), value i, no step, at once
 *   metric_log bad		a bad name: prints the result's text
 *
 * Exit 0, or 1 after a line naming what failed.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <muster.h>

static int
failed(muster_result rv, const char *what)
{
	fprintf(stderr, "metric_log: %s: %s: %s\n", what, muster_strerror(rv),
	    muster_comm_last_error(NULL));
	return 1;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
do_log(long n, long ms)
{
	static const char *const cols[] = { "a b", "c" };
	const double vals[] = { 1.5, -2 };
	muster_result rv;
	long i;

	for (i = 0; i < n; i++) {
		if ((rv = muster_log_metric(NULL, "loss", 1.0 / (double)(i + 1),
		    i)) != MUSTER_OK)
			return failed(rv, "muster_log_metric");
		if (ms)
			usleep((useconds_t)ms * 1000);
	}
	if ((rv = muster_log_list(NULL, "l", vals, 2)) != MUSTER_OK)
		return failed(rv, "muster_log_list");
	if ((rv = muster_log_row(NULL, "r", cols, vals, 2)) != MUSTER_OK)
		return failed(rv, "muster_log_row");
	return 0;
}

static int
do_seq(long n)
{
	muster_result rv;
	long i;

	for (i = 0; i < n; i++)
		if ((rv = muster_log_metric(NULL, "seq", (double)i, -1)) !=
		    MUSTER_OK)
			return failed(rv, "muster_log_metric");
	return 0;
}

static long per_thread;

static void *
thread_main(void *arg)
{
	char name[16];
	long i;

	snprintf(name, sizeof(name), "t%ld", (long)(intptr_t)arg);
	for (i = 0; i < per_thread; i++)
		if (muster_log_metric(NULL, name, (double)i, -1) != MUSTER_OK)
			return (void *)1;
	return NULL;
}

static int
do_threads(long nt, long n)
{
	pthread_t t[64];
	void *rv;
	long k;
	int bad = 0;

	per_thread = n;
	for (k = 0; k < nt && k < 64; k++)
		pthread_create(&t[k], NULL, thread_main, (void *)(intptr_t)k);
	for (k = 0; k < nt && k < 64; k++) {
		pthread_join(t[k], &rv);
		bad |= rv != NULL;
	}
	if (bad)
		fprintf(stderr, "metric_log: a thread's muster_log_metric failed\n");
	return bad;
}

/* The same line libmuster writes, to a plain file, one write(2) each. */
static int
do_bench(long n, const char *file)
{
	char line[256];
	double t0, lib, plain;
	muster_result rv;
	int fd, len;
	long i;

	for (i = 0; i < n; i++)
		if ((rv = muster_log_metric(NULL, "loss", 0.123456789 * (double)i,
		    i)) != MUSTER_OK)
			return failed(rv, "warm-up");
	t0 = now_ns();
	for (i = 0; i < n; i++)
		(void)muster_log_metric(NULL, "loss", 0.123456789 * (double)i, i);
	lib = (now_ns() - t0) / (double)n;
	if ((fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600)) < 0) {
		perror(file);
		return 1;
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		len = snprintf(line, sizeof(line), "{\"name\":\"loss\",\"value\":"
		    "%.17g,\"step\":%ld,\"t\":%.6f}\n", 0.123456789 * (double)i,
		    i, 1e9);
		if (write(fd, line, (size_t)len) != len) {
			perror(file);
			return 1;
		}
	}
	plain = (now_ns() - t0) / (double)n;
	close(fd);
	printf("muster_log_metric %.0f ns/call, write(2) to a file %.0f "
	    "ns/call, ratio %.2f\n", lib, plain, lib / plain);
	return 0;
}

int
main(int argc, char **argv)
{
	muster_result rv;

	if (argc >= 4 && strcmp(argv[1], "log") == 0)
		return do_log(atol(argv[2]), atol(argv[3]));
	if (argc >= 3 && strcmp(argv[1], "seq") == 0)
		return do_seq(atol(argv[2]));
	if (argc >= 4 && strcmp(argv[1], "threads") == 0)
		return do_threads(atol(argv[2]), atol(argv[3]));
	if (argc >= 4 && strcmp(argv[1], "bench") == 0)
		return do_bench(atol(argv[2]), argv[3]);
	if (argc >= 2 && strcmp(argv[1], "bad") == 0) {
		rv = muster_log_metric(NULL, "two words", 1, 0);
		printf("%s: %s\n", muster_strerror(rv),
		    muster_comm_last_error(NULL));
		return rv == MUSTER_EINVAL ? 0 : 1;
	}
	fprintf(stderr, "usage: metric_log log N MS | seq N | bench N FILE | "
	    "threads T N | bad\n");
	return 2;
}
