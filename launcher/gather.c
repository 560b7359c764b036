/* gather.c: see gather.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "gather.h"
#include "records.h"
#include "strbuf.h"
#include "util.h"

/* --- base64 (RFC 4648) --- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
lch_b64_encode(char *dst, const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t i, k = 0;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		dst[k++] = b64[v >> 18];
		dst[k++] = b64[(v >> 12) & 63];
		dst[k++] = b64[(v >> 6) & 63];
		dst[k++] = b64[v & 63];
	}
	if (i < n) {
		v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0);
		dst[k++] = b64[v >> 18];
		dst[k++] = b64[(v >> 12) & 63];
		dst[k++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		dst[k++] = '=';
	}
	dst[k] = '\0';
	return k;
}

static int
b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

ssize_t
lch_b64_decode(void *dst, const char *src, size_t n)
{
	unsigned char *d = dst;
	size_t i, k = 0;
	int v[4], j, pad;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		pad = 0;
		for (j = 0; j < 4; j++) {
			if (src[i + j] == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
			} else if (pad || (v[j] = b64_val(src[i + j])) < 0)
				return -1;
		}
		d[k++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			d[k++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			d[k++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	return (ssize_t)k;
}

/* --- paths --- */

/* Whether s is valid UTF-8 without control characters. */
static int
clean_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int k, i;

	while (*p) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p < 0x80) {
			p++;
			continue;
		}
		k = *p >= 0xf0 && *p <= 0xf4 ? 3 : *p >= 0xe0 ? 2 :
		    *p >= 0xc2 && *p < 0xe0 ? 1 : -1;
		if (k < 0 || *p > 0xf4)
			return 0;
		for (i = 1; i <= k; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		if (k == 1 && p[0] == 0xc2 && p[1] < 0xa0)
			return 0;	/* C1 controls */
		p += k + 1;
	}
	return 1;
}

const char *
lch_gather_path_check(const char *rel)
{
	const char *p, *e;
	size_t n;

	if (rel == NULL || *rel == '\0')
		return "an empty path";
	if (strlen(rel) >= PATH_MAX - 64)
		return "a path too long";
	if (*rel == '/')
		return "an absolute path";
	if (!clean_utf8(rel))
		return "a path with control characters or not UTF-8";
	for (p = rel; ; p = e + 1) {
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0)
			return "a path with an empty part";
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' &&
		    p[1] == '.'))
			return "a path with a '.' or '..' part";
		if (e == NULL)
			return NULL;
	}
}

/* A name for a message: bytes that are no clean UTF-8 as \xNN. */
static char *
shown(const char *s)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	const unsigned char *p;
	char *out;

	if (clean_utf8(s))
		return lch_xstrdup(s);
	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '\\')
			lch_strbuf_addf(&sb, "\\x%02x", *p);
		else
			lch_strbuf_addch(&sb, *p);
	out = lch_xstrdup(sb.buf);
	lch_strbuf_release(&sb);
	return out;
}

/* --- the agent's side --- */

long long
lch_gather_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

char *
lch_gather_prepare(const char *dir)
{
	char *abs, *cwd;

	if (dir[0] == '/')
		abs = lch_xstrdup(dir);
	else {
		cwd = getcwd(NULL, 0);
		abs = lch_xasprintf("%s/%s", cwd ? cwd : ".", dir);
		free(cwd);
	}
	(void)lch_mkdirs(abs, 0755);
	return abs;
}

struct tx {
	int fd, node, broken;
	long long since;
	long files, skipped, nerr, more;
	unsigned long long bytes;
	cJSON *errors;
	unsigned char *raw;
	char *enc;
	struct lch_strbuf line;
};

/* Writes all of buf to the head, waiting for room; -1: it is gone. */
static int
tx_write(struct tx *t, const char *buf, size_t n)
{
	struct pollfd pfd = { t->fd, POLLOUT, 0 };
	ssize_t w;

	while (n > 0 && !t->broken) {
		w = write(t->fd, buf, n);
		if (w > 0) {
			buf += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EAGAIN)
			(void)poll(&pfd, 1, -1);
		else if (w < 0 && errno == EINTR)
			continue;
		else
			t->broken = 1;
	}
	return t->broken ? -1 : 0;
}

static void
tx_error(struct tx *t, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void
tx_error(struct tx *t, const char *rel, const char *fmt, ...)
{
	cJSON *e;
	va_list ap;
	char msg[512], *s;

	if (t->nerr >= LCH_GATHER_ERRORS) {
		t->more++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = cJSON_CreateObject();
	s = shown(rel);
	cJSON_AddStringToObject(e, "path", s);
	cJSON_AddStringToObject(e, "error", msg);
	cJSON_AddItemToArray(t->errors, e);
	free(s);
	t->nerr++;
}

static void
tx_header(struct tx *t, const char *rel, const struct stat *st)
{
	cJSON *j = cJSON_CreateObject();
	char mode[8], *s;

	snprintf(mode, sizeof(mode), "0%03o", (unsigned)(st->st_mode & 0777));
	cJSON_AddStringToObject(j, "path", rel);
	cJSON_AddNumberToObject(j, "size", (double)st->st_size);
	cJSON_AddStringToObject(j, "mode", mode);
	if ((s = cJSON_PrintUnformatted(j)) == NULL)
		lch_oom();
	cJSON_Delete(j);
	lch_strbuf_reset(&t->line);
	lch_strbuf_addf(&t->line, "%c[%d] %s\n", LCH_REC_GATHER, t->node, s);
	free(s);
	(void)tx_write(t, t->line.buf, t->line.len);
}

/* A file's bytes, at most size of them, as b records: how many went. */
static unsigned long long
tx_data(struct tx *t, int fd, const char *rel, unsigned long long size)
{
	unsigned long long sent = 0;
	size_t want, k;
	ssize_t n;
	int len;

	len = snprintf(t->enc, LCH_REC_PREFIX_MAX, "%c[%d] ",
	    LCH_REC_GATHER_DATA, t->node);
	while (sent < size && !t->broken) {
		want = size - sent < LCH_GATHER_CHUNK ? (size_t)(size - sent) :
		    LCH_GATHER_CHUNK;
		n = read(fd, t->raw, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tx_error(t, rel, "read: %s: %llu of %llu bytes sent",
			    strerror(errno), sent, size);
			break;
		}
		if (n == 0)
			break;
		k = (size_t)len + lch_b64_encode(t->enc + len, t->raw,
		    (size_t)n);
		t->enc[k++] = '\n';
		(void)tx_write(t, t->enc, k);
		sent += (unsigned long long)n;
	}
	return sent;
}

/* One regular file, opened as fd (taken): g, then b records. */
static void
tx_file(struct tx *t, int fd, const char *rel)
{
	struct stat st, after;
	unsigned long long sent;

	if (fstat(fd, &st) != 0) {
		tx_error(t, rel, "fstat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		tx_error(t, rel, "not a regular file: not sent");
		goto out;
	}
	if ((long long)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec <
	    t->since) {
		t->skipped++;
		goto out;
	}
	(void)fcntl(fd, F_SETFL, 0);
	tx_header(t, rel, &st);
	sent = tx_data(t, fd, rel, (unsigned long long)st.st_size);
	if (fstat(fd, &after) == 0 && after.st_size != st.st_size)
		tx_error(t, rel, "changed size while read (%lld bytes when "
		    "opened, %lld after): %llu bytes sent",
		    (long long)st.st_size, (long long)after.st_size, sent);
	t->files++;
	t->bytes += sent;
out:
	close(fd);
}

static void tx_dir(struct tx *t, int dfd, const char *prefix, int depth);

/* Entry name of folder dfd (rel its path below DIR). */
static void
tx_entry(struct tx *t, int dfd, const char *name, const char *rel, int depth)
{
	struct stat st;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		tx_error(t, rel, "%s", strerror(errno));
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		tx_error(t, rel, "a symbolic link: not followed");
		return;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		tx_error(t, rel, "not a regular file (a device, FIFO or "
		    "socket): not sent");
		return;
	}
	if (!clean_utf8(name)) {
		tx_error(t, rel, "a name that is not UTF-8 or has control "
		    "characters: not sent");
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth >= LCH_GATHER_DEPTH) {
			tx_error(t, rel, "more than %d folders deep: not sent",
			    LCH_GATHER_DEPTH);
			return;
		}
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd < 0)
			tx_error(t, rel, "%s", strerror(errno));
		else
			tx_dir(t, fd, rel, depth + 1);
		return;
	}
	/* O_NONBLOCK: a FIFO put there meanwhile does not hold us */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd < 0)
		tx_error(t, rel, "%s%s", strerror(errno), errno == ELOOP ?
		    " (a symbolic link: not followed)" : "");
	else
		tx_file(t, fd, rel);
}

/* Every entry of folder dfd (taken), prefix its path below DIR or "". */
static void
tx_dir(struct tx *t, int dfd, const char *prefix, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	char *rel;

	if (d == NULL) {
		tx_error(t, prefix, "%s", strerror(errno));
		close(dfd);
		return;
	}
	while (!t->broken && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		rel = *prefix ? lch_xasprintf("%s/%s", prefix, de->d_name) :
		    lch_xstrdup(de->d_name);
		tx_entry(t, dirfd(d), de->d_name, rel, depth);
		free(rel);
	}
	closedir(d);
}

static void
tx_end(struct tx *t)
{
	cJSON *j = cJSON_CreateObject();
	char *s;

	cJSON_AddNumberToObject(j, "files", (double)t->files);
	cJSON_AddNumberToObject(j, "bytes", (double)t->bytes);
	cJSON_AddNumberToObject(j, "skipped_old", (double)t->skipped);
	cJSON_AddItemToObject(j, "errors", t->errors);
	t->errors = NULL;
	if (t->more)
		cJSON_AddNumberToObject(j, "errors_more", (double)t->more);
	if ((s = cJSON_PrintUnformatted(j)) == NULL)
		lch_oom();
	cJSON_Delete(j);
	lch_strbuf_reset(&t->line);
	lch_strbuf_addf(&t->line, "%c[%d] %s\n", LCH_REC_GATHER_END, t->node,
	    s);
	free(s);
	(void)tx_write(t, t->line.buf, t->line.len);
}

int
lch_gather_send(int fd, int node, const char *dir, long long since_ns)
{
	struct tx t;
	int dfd;

	memset(&t, 0, sizeof(t));
	t.fd = fd;
	t.node = node;
	t.since = since_ns;
	t.errors = cJSON_CreateArray();
	t.raw = lch_xmalloc(LCH_GATHER_CHUNK);
	t.enc = lch_xmalloc(LCH_REC_PREFIX_MAX + 4 * (LCH_GATHER_CHUNK / 3 + 1)
	    + 2);
	lch_strbuf_init(&t.line, 0);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		tx_error(&t, dir, "cannot open the outputs folder: %s",
		    strerror(errno));
	else
		tx_dir(&t, dfd, "", 0);
	if (!t.broken)
		tx_end(&t);
	cJSON_Delete(t.errors);
	free(t.raw);
	free(t.enc);
	lch_strbuf_release(&t.line);
	return t.broken ? -1 : 0;
}

/* --- the head's side --- */

struct rxfile {
	char *rel;		/* as the node sent it */
	char *path;		/* where it is, below the root */
	unsigned long long size;
	int node;
	int listed;		/* 0: removed, the same bytes as the first */
};

struct rxnode {
	int expect, ended;
	int fd;			/* the file being written, or -1 */
	int skip;		/* its data is dropped: the file was refused */
	int clash;		/* written as node.I/REL: compare at its end */
	unsigned mode;
	char *rel, *path;
	unsigned long long want, got;
	long skipped_old;
};

struct lch_gather_rx {
	char *root;
	int rootfd, nnodes;
	struct rxnode *n;
	struct rxfile *f;
	size_t nf, fcap;
	size_t *tab, tabcap;	/* open addressing: index + 1 of the first */
	unsigned long long bytes;
	cJSON *errors;
	long nerr, more;
	int said_disk;
	char first[1024];	/* the first error, one line */
	unsigned char *buf;	/* a b record's bytes */
};

static size_t
hash_str(const char *s)
{
	size_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* The first file sent as rel (by any node): its index, or -1. */
static long
rx_find(const struct lch_gather_rx *rx, const char *rel)
{
	size_t i;

	if (rx->tabcap == 0)
		return -1;
	for (i = hash_str(rel) & (rx->tabcap - 1); rx->tab[i];
	    i = (i + 1) & (rx->tabcap - 1))
		if (strcmp(rx->f[rx->tab[i] - 1].rel, rel) == 0)
			return (long)rx->tab[i] - 1;
	return -1;
}

static void
tab_put(size_t *tab, size_t cap, const char *rel, size_t idx)
{
	size_t i;

	for (i = hash_str(rel) & (cap - 1); tab[i]; i = (i + 1) & (cap - 1))
		;
	tab[i] = idx + 1;
}

/* Remembers file k as the first sent as its rel. */
static void
rx_index(struct lch_gather_rx *rx, size_t k)
{
	size_t i, cap;
	size_t *tab;

	if (2 * (rx->nf + 1) > rx->tabcap) {
		cap = rx->tabcap ? 2 * rx->tabcap : 64;
		tab = lch_xcalloc(cap, sizeof(*tab));
		for (i = 0; i < rx->tabcap; i++)
			if (rx->tab[i])
				tab_put(tab, cap, rx->f[rx->tab[i] - 1].rel,
				    rx->tab[i] - 1);
		free(rx->tab);
		rx->tab = tab;
		rx->tabcap = cap;
	}
	tab_put(rx->tab, rx->tabcap, rx->f[k].rel, k);
}

static void
rx_error(struct lch_gather_rx *rx, int node, const char *path,
	 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void
rx_error(struct lch_gather_rx *rx, int node, const char *path,
	 const char *fmt, ...)
{
	char msg[400], *s = path ? shown(path) : NULL;
	va_list ap;
	cJSON *e;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rx->nerr + rx->more == 0)
		snprintf(rx->first, sizeof(rx->first), "node %d%s%.400s%s: %s",
		    node, s ? ", '" : "", s ? s : "", s ? "'" : "", msg);
	if (rx->nerr >= LCH_GATHER_RX_ERRORS) {
		rx->more++;
		free(s);
		return;
	}
	e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "node", node);
	if (s)
		cJSON_AddStringToObject(e, "path", s);
	cJSON_AddStringToObject(e, "error", msg);
	cJSON_AddItemToArray(rx->errors, e);
	rx->nerr++;
	free(s);
}

struct lch_gather_rx *
lch_gather_rx_new(const char *outputs_dir, int nnodes)
{
	struct lch_gather_rx *rx;
	int fd, i;

	fd = open(outputs_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		lch_msg("outputs: cannot open '%s': %s: the nodes' outputs are "
		    "not gathered", outputs_dir, strerror(errno));
		return NULL;
	}
	rx = lch_xcalloc(1, sizeof(*rx));
	rx->root = lch_xstrdup(outputs_dir);
	rx->rootfd = fd;
	rx->nnodes = nnodes;
	rx->n = lch_xcalloc((size_t)nnodes + 1, sizeof(*rx->n));
	for (i = 0; i < nnodes; i++)
		rx->n[i].fd = -1;
	rx->errors = cJSON_CreateArray();
	rx->buf = lch_xmalloc(LCH_REC_MAX);
	return rx;
}

void
lch_gather_rx_expect(struct lch_gather_rx *rx, int node)
{
	if (rx && node >= 0 && node < rx->nnodes)
		rx->n[node].expect = 1;
}

/*
 * Makes and enters the folders of path (below the root), never through
 * a symbolic link: the last one's fd (rootfd for none), with *last the
 * name in it, in *copy (malloc'ed, the caller frees it); -1 with errno
 * (EEXIST: a file or a link in the way).
 */
static int
enter_parents(int rootfd, const char *path, char **copy, char **last)
{
	char *p, *slash;
	int dfd = rootfd, next, e;

	*copy = p = lch_xstrdup(path);
	while ((slash = strchr(p, '/')) != NULL) {
		*slash = '\0';
		if (mkdirat(dfd, p, 0755) != 0 && errno != EEXIST)
			goto fail;
		next = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (next < 0) {
			if (errno == ENOTDIR || errno == ELOOP)
				errno = EEXIST;
			goto fail;
		}
		if (dfd != rootfd)
			close(dfd);
		dfd = next;
		p = slash + 1;
	}
	*last = p;
	return dfd;
fail:
	e = errno;
	if (dfd != rootfd)
		close(dfd);
	errno = e;
	return -1;
}

/* Opens path (below the root) for writing, a new file: -1, errno. */
static int
open_new(int rootfd, const char *path)
{
	char *copy, *last;
	int dfd = enter_parents(rootfd, path, &copy, &last), fd = -1, e;

	if (dfd >= 0) {
		fd = openat(dfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_NOCTTY | O_CLOEXEC, 0600);
		if (fd < 0 && errno == ELOOP)
			errno = EEXIST;
	}
	e = errno;
	if (dfd >= 0 && dfd != rootfd)
		close(dfd);
	free(copy);
	errno = e;
	return fd;
}

/* Moves file from to to (both below the root; to is new): 0, or -1. */
static int
move_new(int rootfd, const char *from, const char *to)
{
	char *copy, *last;
	int dfd = enter_parents(rootfd, to, &copy, &last), rc = -1;

	if (dfd >= 0)
		rc = renameat2(rootfd, from, dfd, last, RENAME_NOREPLACE);
	if (dfd >= 0 && dfd != rootfd)
		close(dfd);
	free(copy);
	return rc;
}

/* Removes path and the folders above it that it leaves empty. */
static void
remove_up(int rootfd, char *path)
{
	char *slash;

	(void)unlinkat(rootfd, path, 0);
	while ((slash = strrchr(path, '/')) != NULL) {
		*slash = '\0';
		if (unlinkat(rootfd, path, AT_REMOVEDIR) != 0)
			break;
	}
}

/* Whether two files below the root hold the same bytes. */
static int
same_bytes(int rootfd, const char *a, const char *b)
{
	char x[65536], y[65536];
	int fa, fb, same = 0;
	ssize_t na, nb;

	fa = openat(rootfd, a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	fb = openat(rootfd, b, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fa >= 0 && fb >= 0)
		for (;;) {
			na = read(fa, x, sizeof(x));
			nb = na > 0 ? read(fb, y, (size_t)na) : read(fb, y, 1);
			if (na < 0 || nb != na || memcmp(x, y, (size_t)na))
				break;
			if (na == 0) {
				same = 1;
				break;
			}
		}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

static void
node_clear(struct rxnode *n)
{
	free(n->rel);
	free(n->path);
	n->rel = n->path = NULL;
	n->fd = -1;
	n->skip = n->clash = 0;
	n->want = n->got = 0;
}

/* Drops node i's open file: removed (why: an error entry already made). */
static void
drop_file(struct lch_gather_rx *rx, int i)
{
	struct rxnode *n = &rx->n[i];

	if (n->fd >= 0) {
		close(n->fd);
		remove_up(rx->rootfd, n->path);
	}
	node_clear(n);
}

/*
 * Node i's file (a clash, at node.I/REL) takes REL from node j's, a
 * higher node, which goes to node.J/REL: whatever order they come in,
 * REL is the lowest node's.  -1 when it cannot be done (both stay).
 */
static int
take_top(struct lch_gather_rx *rx, struct rxfile *f, int i)
{
	struct rxnode *n = &rx->n[i];
	char *to;

	if (strcmp(f->path, f->rel) != 0)
		return -1;
	to = lch_xasprintf("node.%d/%s", f->node, f->rel);
	if (move_new(rx->rootfd, f->path, to) != 0) {
		free(to);
		return -1;
	}
	if (move_new(rx->rootfd, n->path, f->rel) != 0) {
		(void)move_new(rx->rootfd, to, f->path);
		free(to);
		return -1;
	}
	remove_up(rx->rootfd, n->path);	/* its folders, now empty */
	free(n->path);
	n->path = lch_xstrdup(f->rel);
	free(f->path);
	f->path = to;
	return 0;
}

/* Points rel's entry of the table at file k. */
static void
tab_move(struct lch_gather_rx *rx, const char *rel, size_t k)
{
	size_t i;

	for (i = hash_str(rel) & (rx->tabcap - 1); rx->tab[i];
	    i = (i + 1) & (rx->tabcap - 1))
		if (strcmp(rx->f[rx->tab[i] - 1].rel, rel) == 0) {
			rx->tab[i] = k + 1;
			return;
		}
}

/*
 * Lists a file that arrived whole.  A clash with the same bytes as REL
 * goes (listed once, with the lower node); one with other bytes from a
 * lower node than REL's takes its place.
 */
static void
keep_file(struct lch_gather_rx *rx, int i)
{
	struct rxnode *n = &rx->n[i];
	long first = rx_find(rx, n->rel);
	struct rxfile *f;
	int top = 0;

	if (n->clash && first >= 0 && rx->f[first].size == n->got &&
	    same_bytes(rx->rootfd, rx->f[first].path, n->path)) {
		if (i < rx->f[first].node)
			rx->f[first].node = i;
		remove_up(rx->rootfd, n->path);
		node_clear(n);
		return;
	}
	if (n->clash && first >= 0 && i < rx->f[first].node)
		top = take_top(rx, &rx->f[first], i) == 0;
	if (rx->nf == rx->fcap) {
		rx->fcap = rx->fcap ? 2 * rx->fcap : 64;
		rx->f = lch_xrealloc(rx->f, rx->fcap * sizeof(*rx->f));
	}
	f = &rx->f[rx->nf];
	f->rel = n->rel;
	f->path = n->path;
	f->size = n->got;
	f->node = i;
	f->listed = 1;
	n->rel = n->path = NULL;
	if (first < 0)
		rx_index(rx, rx->nf);
	else if (top)
		tab_move(rx, f->rel, rx->nf);
	rx->nf++;
	rx->bytes += n->got;
	node_clear(n);
}

/* Node i's open file is complete (its next record came). */
static void
end_file(struct lch_gather_rx *rx, int i)
{
	struct rxnode *n = &rx->n[i];

	if (n->fd < 0) {
		node_clear(n);
		return;
	}
	if (fchmod(n->fd, n->mode & 0100 ? 0755 : 0644) != 0 ||
	    close(n->fd) != 0) {
		n->fd = -1;
		rx_error(rx, i, n->rel, "cannot write '%s/%s': %s", rx->root,
		    n->path, strerror(errno));
		remove_up(rx->rootfd, n->path);
		node_clear(n);
		return;
	}
	n->fd = -1;
	keep_file(rx, i);
}

/* A write error: said once for the whole job, and the file dropped. */
static void
disk_error(struct lch_gather_rx *rx, int i, int e)
{
	struct rxnode *n = &rx->n[i];

	if (!rx->said_disk)
		lch_msg("outputs: cannot write '%s/%s': %s: what does not fit "
		    "is not gathered (the job goes on)", rx->root, n->path,
		    strerror(e));
	rx->said_disk = 1;
	rx_error(rx, i, n->rel, "cannot write '%s': %s", n->path, strerror(e));
	drop_file(rx, i);
	n->skip = 1;
}

/* Where node i's file rel goes: its fd, or -1 after an error entry. */
static void
start_file(struct lch_gather_rx *rx, int i, const char *rel)
{
	struct rxnode *n = &rx->n[i];
	int e;

	n->rel = lch_xstrdup(rel);
	if (rx_find(rx, rel) < 0) {
		n->path = lch_xstrdup(rel);
		if ((n->fd = open_new(rx->rootfd, n->path)) >= 0)
			return;
		if ((e = errno) != EEXIST && e != EISDIR) {
			disk_error(rx, i, e);
			return;
		}
		free(n->path);
	}
	n->clash = 1;
	n->path = lch_xasprintf("node.%d/%s", i, rel);
	if ((n->fd = open_new(rx->rootfd, n->path)) >= 0)
		return;
	if ((e = errno) != EEXIST && e != EISDIR) {
		disk_error(rx, i, e);
		return;
	}
	rx_error(rx, i, rel, "not kept: '%s' and '%s' are taken", rel,
	    n->path);
	node_clear(n);
	n->skip = 1;
}

/* A g record: the previous file of the node ends, this one begins. */
static void
rx_begin(struct lch_gather_rx *rx, int i, const char *text, size_t len)
{
	struct rxnode *n = &rx->n[i];
	cJSON *j = cJSON_ParseWithLength(text, len);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "path");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "size");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "mode");
	const char *why;

	end_file(rx, i);
	if (!cJSON_IsString(p) || !cJSON_IsNumber(s) || s->valuedouble < 0 ||
	    s->valuedouble > 9e18) {
		rx_error(rx, i, NULL, "a g record that does not parse: "
		    "'%.80s'", text);
		n->skip = 1;
	} else if ((why = lch_gather_path_check(p->valuestring)) != NULL) {
		rx_error(rx, i, p->valuestring, "refused: %s", why);
		n->skip = 1;
	} else {
		n->mode = cJSON_IsString(m) ?
		    (unsigned)strtoul(m->valuestring, NULL, 8) & 0777 : 0644;
		n->want = (unsigned long long)s->valuedouble;
		start_file(rx, i, p->valuestring);
	}
	cJSON_Delete(j);
}

/* A b record: the node's open file's next bytes. */
static void
rx_data(struct lch_gather_rx *rx, int i, const char *text, size_t len)
{
	struct rxnode *n = &rx->n[i];
	ssize_t k;

	if (n->skip)
		return;
	if (n->fd < 0) {
		rx_error(rx, i, NULL, "data (a b record) before its file's "
		    "g record: dropped");
		n->skip = 1;
		return;
	}
	if (len > LCH_REC_MAX / 4 * 3 ||
	    (k = lch_b64_decode(rx->buf, text, len)) < 0) {
		rx_error(rx, i, n->rel, "its data was cut or damaged (a b "
		    "record that is not base64): removed");
		drop_file(rx, i);
		n->skip = 1;
		return;
	}
	if (n->got + (unsigned long long)k > n->want) {
		rx_error(rx, i, n->rel, "more bytes than the %llu it said: the "
		    "file is dropped", n->want);
		drop_file(rx, i);
		n->skip = 1;
		return;
	}
	if (lch_write_all(n->fd, rx->buf, (size_t)k) != 0) {
		disk_error(rx, i, errno);
		return;
	}
	n->got += (unsigned long long)k;
}

/* A G record: the node's last file ended; what it could not send. */
static void
rx_end(struct lch_gather_rx *rx, int i, const char *text, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(text, len), *e;
	const cJSON *v;

	end_file(rx, i);
	rx->n[i].ended = 1;
	if (!cJSON_IsObject(j)) {
		rx_error(rx, i, NULL, "a G record that does not parse: "
		    "'%.80s'", text);
		cJSON_Delete(j);
		return;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "skipped_old");
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15)
		rx->n[i].skipped_old += (long)v->valuedouble;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "errors")) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "error");

		rx_error(rx, i, cJSON_IsString(p) ? p->valuestring : NULL,
		    "%s", cJSON_IsString(m) ? m->valuestring : "?");
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "errors_more");
	if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 1e15)
		rx->more += (long)v->valuedouble;
	cJSON_Delete(j);
}

void
lch_gather_rx_record(struct lch_gather_rx *rx, const struct lch_rec *r)
{
	if (rx == NULL || r->rank < 0 || r->rank >= rx->nnodes)
		return;
	if (r->type == LCH_REC_GATHER)
		rx_begin(rx, r->rank, r->text, r->text_len);
	else if (r->type == LCH_REC_GATHER_DATA)
		rx_data(rx, r->rank, r->text, r->text_len);
	else if (r->type == LCH_REC_GATHER_END)
		rx_end(rx, r->rank, r->text, r->text_len);
}

void
lch_gather_rx_finish(struct lch_gather_rx *rx)
{
	int i;

	if (rx == NULL)
		return;
	for (i = 0; i < rx->nnodes; i++) {
		struct rxnode *n = &rx->n[i];

		if (n->fd >= 0) {
			rx_error(rx, i, n->rel, "incomplete: %llu of %llu "
			    "bytes came before the node's connection ended: "
			    "removed", n->got, n->want);
			drop_file(rx, i);
		} else if (n->expect && !n->ended)
			rx_error(rx, i, NULL, "the node's connection ended "
			    "before its outputs were all sent");
		node_clear(n);
		n->expect = n->ended = 0;
	}
}

cJSON *
lch_gather_rx_json(const struct lch_gather_rx *rx)
{
	cJSON *j = cJSON_CreateObject(), *list, *e;
	long skipped = 0;
	size_t k, files = 0;
	int i;

	list = cJSON_CreateArray();
	for (k = 0; rx && k < rx->nf; k++) {
		if (!rx->f[k].listed)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "path", rx->f[k].path);
		cJSON_AddNumberToObject(e, "size", (double)rx->f[k].size);
		cJSON_AddNumberToObject(e, "node", rx->f[k].node);
		cJSON_AddItemToArray(list, e);
		files++;
	}
	for (i = 0; rx && i < rx->nnodes; i++)
		skipped += rx->n[i].skipped_old;
	cJSON_AddNumberToObject(j, "files", (double)files);
	cJSON_AddNumberToObject(j, "bytes", rx ? (double)rx->bytes : 0);
	cJSON_AddNumberToObject(j, "skipped_old", (double)skipped);
	cJSON_AddItemToObject(j, "list", list);
	cJSON_AddItemToObject(j, "errors", rx ? cJSON_Duplicate(rx->errors, 1)
	    : cJSON_CreateArray());
	if (rx && rx->more)
		cJSON_AddNumberToObject(j, "errors_more", (double)rx->more);
	return j;
}

int
lch_gather_rx_errors(const struct lch_gather_rx *rx, char *first, size_t len)
{
	if (rx == NULL)
		return 0;
	if (first && len)
		snprintf(first, len, "%s", rx->first);
	return (int)(rx->nerr + rx->more);
}

void
lch_gather_rx_free(struct lch_gather_rx *rx)
{
	size_t k;
	int i;

	if (rx == NULL)
		return;
	for (i = 0; i < rx->nnodes; i++)
		drop_file(rx, i);
	for (k = 0; k < rx->nf; k++) {
		free(rx->f[k].rel);
		free(rx->f[k].path);
	}
	free(rx->f);
	free(rx->tab);
	free(rx->n);
	free(rx->buf);
	free(rx->root);
	cJSON_Delete(rx->errors);
	close(rx->rootfd);
	free(rx);
}
