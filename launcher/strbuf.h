/*
 * strbuf.h: a growable byte buffer, as git's strbuf.
 *
 * Invariants, true after lch_strbuf_init() and after every call here:
 *  - buf is never NULL: it points at a shared, empty, read-only string
 *    until the first growth, so a fresh buffer can be printed or compared;
 *  - buf[0..len) holds the content (any bytes, NULs too) and buf[len] is
 *    '\0', so text in a strbuf is also a C string;
 *  - alloc is the size of buf's allocation, 0 while buf is the shared
 *    string; alloc > len otherwise.
 * Write into buf[len..alloc-1) directly only after lch_strbuf_grow() made
 * the room, and end with lch_strbuf_setlen().
 *
 * A strbuf grows without bound: callers that read from a peer pass their
 * own cap (lch_strbuf_read_once).  Out of memory ends the program
 * (lch_oom), like the rest of the launcher.
 */
#ifndef LCH_STRBUF_H
#define LCH_STRBUF_H

#include <stddef.h>
#include <sys/types.h>

struct lch_strbuf {
	size_t alloc;
	size_t len;
	char *buf;
};

extern char lch_strbuf_slopbuf[];
#define LCH_STRBUF_INIT { 0, 0, lch_strbuf_slopbuf }

/* An empty buffer; hint > 0 allocates room for hint bytes at once. */
void lch_strbuf_init(struct lch_strbuf *sb, size_t hint);
/* Frees the content; sb is empty and may be used again. */
void lch_strbuf_release(struct lch_strbuf *sb);
/* Empties sb and keeps its allocation for the next content. */
void lch_strbuf_reset(struct lch_strbuf *sb);

/*
 * Makes room for extra more bytes (and the '\0').  The allocation grows
 * to the larger of len + extra + 1 and about 1.5 times its size.
 */
void lch_strbuf_grow(struct lch_strbuf *sb, size_t extra);
/* Sets the length (at most alloc - 1) after writing into buf directly. */
void lch_strbuf_setlen(struct lch_strbuf *sb, size_t len);

void lch_strbuf_add(struct lch_strbuf *sb, const void *data, size_t n);
void lch_strbuf_addch(struct lch_strbuf *sb, int c);
void lch_strbuf_addf(struct lch_strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Drops the first n bytes (n <= len), moving the rest to the front. */
void lch_strbuf_consume(struct lch_strbuf *sb, size_t n);

/*
 * One read(2) from fd that keeps len at most max: asks for what fits in
 * the allocation, at most max - len bytes (callers keep len < max),
 * after growing it (as lch_strbuf_grow does) to hold at least 64 KiB
 * more, or up to max.  Returns what read(2) returned: bytes added, 0 at EOF,
 * -1 with errno.
 */
ssize_t lch_strbuf_read_once(struct lch_strbuf *sb, int fd, size_t max);

#endif /* LCH_STRBUF_H */
