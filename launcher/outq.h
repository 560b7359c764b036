/*
 * outq.h: output that never blocks the supervisor loop.
 *
 * The head's stdout and stderr (and an agent's stdout, the records pipe
 * to the head) may be a pipe nobody reads, a stopped terminal or a full
 * disk.  An outq holds what is to be written there and writes only what
 * the file takes without blocking: a pipe, FIFO or terminal is reopened
 * through /proc/self/fd as a description of our own with O_NONBLOCK (the
 * shell's is left as it is), a socket is written with MSG_DONTWAIT, a
 * regular file is written as it is (it does not block).  Where the reopen
 * fails, only what poll(2) says fits goes, PIPE_BUF bytes at a time.
 *
 * The caller bounds the queue (lch_outq_pending): it stops reading what
 * fills it, or drops with lch_outq_drop.  The first write error is kept
 * in err (EPIPE: the reader went away, with SIGPIPE ignored as
 * lch_signals_setup does); what is queued after it is thrown away.
 */
#ifndef LCH_OUTQ_H
#define LCH_OUTQ_H

#include <stddef.h>

#include "strbuf.h"

struct lch_outq {
	int fd;
	int sock;		/* send(MSG_DONTWAIT) */
	int polled;		/* blocking description: poll before writing */
	struct lch_strbuf buf;
	size_t off;		/* buf[0..off) is written */
	int err;		/* errno of the first failed write, or 0 */
	unsigned long long dropped;	/* bytes thrown away */
};

/*
 * Sets q up for fd.  With dup_over, the non-blocking description also
 * replaces fd itself (dup2), so that every other write to fd (messages)
 * cannot block either.
 */
void   lch_outq_init(struct lch_outq *q, int fd, int dup_over);
/* Sets q up for fd as it is: writes block where fd blocks. */
void   lch_outq_init_plain(struct lch_outq *q, int fd);
void   lch_outq_release(struct lch_outq *q);
/* Queues n bytes (dropped, and counted, after an error). */
void   lch_outq_add(struct lch_outq *q, const void *data, size_t n);
/* Counts n bytes as dropped instead of queueing them. */
void   lch_outq_drop(struct lch_outq *q, size_t n);
size_t lch_outq_pending(const struct lch_outq *q);
/*
 * Writes what goes without blocking: 0 when the queue is empty, 1 when
 * some is left (poll q->fd for POLLOUT), -1 on an error (q->err).
 */
int    lch_outq_flush(struct lch_outq *q);

#endif /* LCH_OUTQ_H */
