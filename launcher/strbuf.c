/* strbuf.c: see strbuf.h. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strbuf.h"
#include "util.h"

#define READ_MIN 65536	/* lch_strbuf_read_once grows by at least this */

/* What an unallocated buffer points at; nothing ever writes to it. */
char lch_strbuf_slopbuf[1];

void
lch_strbuf_init(struct lch_strbuf *sb, size_t hint)
{
	sb->alloc = sb->len = 0;
	sb->buf = lch_strbuf_slopbuf;
	if (hint)
		lch_strbuf_grow(sb, hint);
}

void
lch_strbuf_release(struct lch_strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	lch_strbuf_init(sb, 0);
}

void
lch_strbuf_reset(struct lch_strbuf *sb)
{
	lch_strbuf_setlen(sb, 0);
}

void
lch_strbuf_grow(struct lch_strbuf *sb, size_t extra)
{
	size_t want = sb->len + extra + 1, nr;

	if (want < sb->len)
		lch_oom();
	if (want <= sb->alloc)
		return;
	nr = (sb->alloc + 16) * 3 / 2;
	if (sb->alloc == 0)
		sb->buf = NULL;
	sb->alloc = nr > want ? nr : want;
	sb->buf = lch_xrealloc(sb->buf, sb->alloc);
	sb->buf[sb->len] = '\0';
}

void
lch_strbuf_setlen(struct lch_strbuf *sb, size_t len)
{
	assert(len == 0 || len < sb->alloc);
	if (sb->alloc == 0)	/* the shared empty string stays untouched */
		return;
	sb->len = len;
	sb->buf[len] = '\0';
}

void
lch_strbuf_add(struct lch_strbuf *sb, const void *data, size_t n)
{
	lch_strbuf_grow(sb, n);
	memcpy(sb->buf + sb->len, data, n);
	lch_strbuf_setlen(sb, sb->len + n);
}

void
lch_strbuf_addch(struct lch_strbuf *sb, int c)
{
	lch_strbuf_grow(sb, 1);
	sb->buf[sb->len] = (char)c;
	lch_strbuf_setlen(sb, sb->len + 1);
}

void
lch_strbuf_addf(struct lch_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	lch_strbuf_grow(sb, 64);
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sb->alloc - sb->len) {
		lch_strbuf_grow(sb, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
		va_end(ap);
	}
	lch_strbuf_setlen(sb, sb->len + (size_t)n);
}

void
lch_strbuf_consume(struct lch_strbuf *sb, size_t n)
{
	assert(n <= sb->len);
	if (n == 0)
		return;
	memmove(sb->buf, sb->buf + n, sb->len - n);
	lch_strbuf_setlen(sb, sb->len - n);
}

ssize_t
lch_strbuf_read_once(struct lch_strbuf *sb, int fd, size_t max)
{
	size_t want;
	ssize_t n;

	assert(sb->len <= max);
	/* the room grows with what comes, up to max: a short line costs
	 * little however high max is */
	lch_strbuf_grow(sb, max - sb->len < READ_MIN ? max - sb->len : READ_MIN);
	want = sb->alloc - 1 - sb->len;
	if (want > max - sb->len)
		want = max - sb->len;
	n = read(fd, sb->buf + sb->len, want);
	if (n > 0)
		lch_strbuf_setlen(sb, sb->len + (size_t)n);
	return n;
}
