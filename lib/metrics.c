/*
 * metrics.c: muster_log_metric, muster_log_list, muster_log_row: one
 * line each (launcher/metrics.h has the protocol) on $MUSTER_METRICS,
 * the FIFO the rank's agent reads.  Formatted on the stack (a long list
 * or row in one malloc'ed buffer), written with one write(2): a line of
 * at most PIPE_BUF bytes never mixes with another writer's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "muster.h"

#define LINE_MAX_ 65536	/* launcher/metrics.h LCH_METRIC_LINE_MAX */
#define NAME_MAX_ 255
#define NUM_MAX 32	/* "%.17g", a comma, or "\"-inf\"" */
#define STACK_LINE 4096

static pthread_once_t open_once = PTHREAD_ONCE_INIT;
static int metrics_fd = -1;	/* -1: unset, -2: failed (open_err) */
static int open_err;

static void
metrics_open(void)
{
	const char *path = getenv("MUSTER_METRICS");
	int fd, fl;

	if (path == NULL || *path == '\0')
		return;
	/*
	 * O_NONBLOCK for the open only: a FIFO nobody reads (its agent is
	 * gone) is ENXIO, not a wait; the writes then block, which is how
	 * a rank waits for an agent behind on its records.  O_CREAT: the
	 * user may name a plain file (muster --no-record -x MUSTER_METRICS=F).
	 */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK,
	    0644);
	if (fd < 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		open_err = errno;
		if (fd >= 0)
			close(fd);
		metrics_fd = -2;
		return;
	}
	metrics_fd = fd;
}

/* A NAME (no blanks) or a COLUMN (blanks allowed): 1 to 255 bytes. */
static int
name_ok(const char *s, int blanks)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
		    (s[i] == ' ' && !blanks) || i >= NAME_MAX_)
			return 0;
	return i > 0;
}

/* Appends the JSON string of s (checked by name_ok: no control bytes). */
static char *
put_str(char *p, const char *s)
{
	*p++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	return p;
}

static char *
put_lit(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* A number, or the strings "nan", "inf", "-inf" (NUM_MAX bytes at most). */
static char *
put_num(char *p, double v)
{
	if (isnan(v))
		return put_lit(p, "\"nan\"");
	if (isinf(v))
		return put_lit(p, v > 0 ? "\"inf\"" : "\"-inf\"");
	return p + snprintf(p, NUM_MAX, "%.17g", v);
}

/* ,"t":SECONDS} and the newline. */
static char *
put_end(char *p)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	p += snprintf(p, 48, ",\"t\":%lld.%06ld}\n", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000);
	return p;
}

/* One write(2) of the whole line (more only if a regular file cuts it). */
static muster_result
put_line(muster_comm *comm, const char *buf, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(metrics_fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return mst_fail(comm, MUSTER_ESYSERR | errno,
			    "muster_log: cannot write to MUSTER_METRICS: %s",
			    strerror(errno));
		buf += w;
		n -= (size_t)w;
	}
	return MUSTER_OK;
}

/* Checks name, opens the FIFO once: 1 to go on, 0 (rv set) to return. */
static int
start(muster_comm *comm, const char *name, muster_result *rv)
{
	*rv = MUSTER_OK;
	if (!name_ok(name, 0)) {
		*rv = mst_fail(comm, MUSTER_EINVAL, "muster_log: the name is "
		    "not 1 to 255 bytes without blanks or control bytes");
		return 0;
	}
	pthread_once(&open_once, metrics_open);
	if (metrics_fd == -2)
		*rv = mst_fail(comm, MUSTER_ESYSERR | open_err, "muster_log: "
		    "cannot open MUSTER_METRICS ('%s'): %s",
		    getenv("MUSTER_METRICS"), strerror(open_err));
	return metrics_fd >= 0;
}

muster_result
muster_log_metric(muster_comm *comm, const char *name, double value,
		  long step)
{
	char buf[STACK_LINE], *p = buf;
	muster_result rv;

	if (!start(comm, name, &rv))
		return rv;
	p = put_lit(p, "{\"name\":");
	p = put_str(p, name);
	p = put_lit(p, ",\"value\":");
	p = put_num(p, value);
	if (step >= 0)
		p += snprintf(p, 32, ",\"step\":%ld", step);
	p = put_end(p);
	return put_line(comm, buf, (size_t)(p - buf));
}

/* The line of a list (cols NULL) or a row, from its name on. */
static muster_result
log_vals(muster_comm *comm, const char *name, const char *const *cols,
	 const double *vals, size_t n)
{
	char stack[STACK_LINE], *buf = stack, *p;
	size_t i, need = 2 * NAME_MAX_ + 128;
	muster_result rv;

	if (!start(comm, name, &rv))
		return rv;
	if (n > 0 && vals == NULL)
		return mst_fail(comm, MUSTER_EINVAL, "muster_log: no values");
	for (i = 0; i < n; i++) {
		if (cols && !name_ok(cols[i], 1))
			return mst_fail(comm, MUSTER_EINVAL, "muster_log_row: "
			    "column %zu is not 1 to 255 bytes without control "
			    "bytes", i);
		need += NUM_MAX + 4 + (cols ? 2 * strlen(cols[i]) : 0);
		if (need > LINE_MAX_)
			return mst_fail(comm, MUSTER_EINVAL, "muster_log: "
			    "the line would pass %d bytes", LINE_MAX_);
	}
	if (need > sizeof(stack) && (buf = malloc(need)) == NULL)
		return mst_fail(comm, MUSTER_ENOMEM, "muster_log: out of memory");
	p = put_lit(buf, "{\"name\":");
	p = put_str(p, name);
	p = put_lit(p, cols ? ",\"row\":{" : ",\"values\":[");
	for (i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		if (cols) {
			p = put_str(p, cols[i]);
			*p++ = ':';
		}
		p = put_num(p, vals[i]);
	}
	*p++ = cols ? '}' : ']';
	p = put_end(p);
	rv = put_line(comm, buf, (size_t)(p - buf));
	if (buf != stack)
		free(buf);
	return rv;
}

muster_result
muster_log_list(muster_comm *comm, const char *name, const double *values,
		size_t n)
{
	return log_vals(comm, name, NULL, values, n);
}

muster_result
muster_log_row(muster_comm *comm, const char *name, const char *const *cols,
	       const double *vals, size_t n)
{
	if (n > 0 && cols == NULL)
		return mst_fail(comm, MUSTER_EINVAL, "muster_log_row: no "
		    "columns");
	static const char *const none[1] = { NULL };

	return log_vals(comm, name, cols ? cols : none, vals, n);
}
