/*
 * err.h: the leaf every file of libmuster may use: the error text, and
 * the clock (common/clock.h: mst_now).  Private.
 *
 * A failing call returns a muster_result and leaves a sentence saying
 * what went wrong for muster_comm_last_error(): in the communicator when
 * there is one, else in a buffer of the calling thread (init and group
 * calls).  Setting the text never does more than that; what a failure
 * does to the communicator (the sticky error, blaming a rank) is
 * health.h's business.
 */
#ifndef MST_ERR_H
#define MST_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include "clock.h"
#include "muster.h"

/* Size of an error text, in the communicator and per thread. */
#define MST_ERRLEN 512

/*
 * Sets c's error text (printf-style; c NULL: the thread's) and returns
 * rv.
 */
muster_result mst_fail(muster_comm *c, muster_result rv, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
muster_result mst_vfail(muster_comm *c, muster_result rv, const char *fmt,
			va_list ap) __attribute__((format(printf, 3, 0)));

/* The thread's error text (MST_ERRLEN bytes), for calls without a comm. */
char *mst_thread_err(void);

#endif /* MST_ERR_H */
