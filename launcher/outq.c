/* outq.c: see outq.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outq.h"

#define COMPACT_MIN 65536	/* move the unwritten rest to the front */

/* A description of our own, O_NONBLOCK, for a pipe or a terminal. */
static int
reopen_nonblock(int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

void
lch_outq_init(struct lch_outq *q, int fd, int dup_over)
{
	struct stat st;
	int nfd;

	memset(q, 0, sizeof(*q));
	q->fd = fd;
	lch_strbuf_init(&q->buf, 0);
	if (fstat(fd, &st) != 0)
		return;
	if (S_ISSOCK(st.st_mode)) {
		q->sock = 1;
		return;
	}
	if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
		return;
	if ((nfd = reopen_nonblock(fd)) < 0) {
		q->polled = 1;
		return;
	}
	if (dup_over && dup3(nfd, fd, 0) == fd) {
		close(nfd);
		return;
	}
	q->fd = nfd;
}

void
lch_outq_init_plain(struct lch_outq *q, int fd)
{
	memset(q, 0, sizeof(*q));
	q->fd = fd;
	lch_strbuf_init(&q->buf, 0);
}

void
lch_outq_release(struct lch_outq *q)
{
	lch_strbuf_release(&q->buf);
	q->off = 0;
}

void
lch_outq_drop(struct lch_outq *q, size_t n)
{
	q->dropped += n;
}

void
lch_outq_add(struct lch_outq *q, const void *data, size_t n)
{
	if (q->err) {
		lch_outq_drop(q, n);
		return;
	}
	lch_strbuf_add(&q->buf, data, n);
}

size_t
lch_outq_pending(const struct lch_outq *q)
{
	return q->buf.len - q->off;
}

/* One write that does not block; -1 with EAGAIN when nothing fits. */
static ssize_t
write_some(struct lch_outq *q, const char *p, size_t n)
{
	struct pollfd pfd = { q->fd, POLLOUT, 0 };

	if (q->sock)
		return send(q->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (q->polled) {
		if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT)) {
			if (pfd.revents & POLLERR)
				return write(q->fd, p, 1);	/* the error */
			errno = EAGAIN;
			return -1;
		}
		if (n > PIPE_BUF)
			n = PIPE_BUF;
	}
	return write(q->fd, p, n);
}

int
lch_outq_flush(struct lch_outq *q)
{
	ssize_t w;

	while (!q->err && lch_outq_pending(q) > 0) {
		w = write_some(q, q->buf.buf + q->off, lch_outq_pending(q));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			q->err = w < 0 ? errno : EIO;
			break;
		}
		q->off += (size_t)w;
	}
	if (q->err) {
		lch_outq_drop(q, lch_outq_pending(q));
		q->off = q->buf.len;
	}
	if (q->off == q->buf.len) {
		lch_strbuf_reset(&q->buf);
		q->off = 0;
	} else if (q->off >= COMPACT_MIN && q->off * 2 >= q->buf.len) {
		lch_strbuf_consume(&q->buf, q->off);
		q->off = 0;
	}
	return q->err ? -1 : lch_outq_pending(q) ? 1 : 0;
}
