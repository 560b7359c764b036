/* util.c: see util.h. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "num.h"
#include "util.h"

void
lch_oom(void)
{
	static const char m[] = "muster: out of memory\n";

	(void)!write(2, m, sizeof(m) - 1);
	_exit(70);
}

void *
lch_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		lch_oom();
	return p;
}

void *
lch_xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL)
		lch_oom();
	return p;
}

void *
lch_xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		lch_oom();
	return p;
}

char *
lch_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		lch_oom();
	return p;
}

char *
lch_xvasprintf(const char *fmt, va_list ap)
{
	char *p;

	if (vasprintf(&p, fmt, ap) < 0)
		lch_oom();
	return p;
}

void
lch_list_add(char *buf, size_t len, const char *s)
{
	size_t k = strlen(buf);

	if (k + 1 < len)
		snprintf(buf + k, len - k, "%s%s", k ? ", " : "", s);
}

char *
lch_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = lch_xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

char *
lch_sq_quote_argv(const char *const *argv)
{
	size_t i, n = 1;
	const char *c;
	char *out, *o;

	for (i = 0; argv[i]; i++)
		n += 3 + 4 * strlen(argv[i]);
	o = out = lch_xmalloc(n);
	for (i = 0; argv[i]; i++) {
		if (i)
			*o++ = ' ';
		*o++ = '\'';
		for (c = argv[i]; *c; c++) {
			if (*c == '\'' || *c == '!') {
				memcpy(o, "'\\", 2);
				o += 2;
				*o++ = *c;
				*o++ = '\'';
			} else {
				*o++ = *c;
			}
		}
		*o++ = '\'';
	}
	*o = '\0';
	return out;
}

const char *
lch_self_exe(void)
{
	static char buf[PATH_MAX];
	ssize_t n;

	if (buf[0])
		return buf;
	if ((n = readlink("/proc/self/exe", buf, sizeof(buf) - 1)) <= 0)
		return "muster";
	buf[n] = '\0';
	return buf;
}

static void
strv_push_owned(struct lch_strv *s, char *str)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->v = lch_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
}

void
lch_strv_push(struct lch_strv *s, const char *str)
{
	strv_push_owned(s, lch_xstrdup(str));
}

void
lch_strv_pushf(struct lch_strv *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strv_push_owned(s, lch_xvasprintf(fmt, ap));
	va_end(ap);
}

void
lch_strv_clear(struct lch_strv *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static ssize_t
env_find(const struct lch_env *e, const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < e->kv.n; i++)
		if (strncmp(e->kv.v[i], name, len) == 0 && e->kv.v[i][len] == '=')
			return (ssize_t)i;
	return -1;
}

void
lch_env_set(struct lch_env *e, const char *name, const char *val)
{
	ssize_t i = env_find(e, name);
	char *kv = lch_xasprintf("%s=%s", name, val);

	if (i < 0) {
		strv_push_owned(&e->kv, kv);
		return;
	}
	free(e->kv.v[i]);
	e->kv.v[i] = kv;
}

void
lch_env_setf(struct lch_env *e, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = lch_xvasprintf(fmt, ap);
	va_end(ap);
	lch_env_set(e, name, p);
	free(p);
}

const char *
lch_env_get(const struct lch_env *e, const char *name)
{
	ssize_t i = env_find(e, name);

	return i < 0 ? NULL : e->kv.v[i] + strlen(name) + 1;
}

void
lch_env_clear(struct lch_env *e)
{
	lch_strv_clear(&e->kv);
}

char **
lch_env_merge(char *const *base, const struct lch_env *e)
{
	size_t nb = 0, i, j, n = 0;
	char **out;

	while (base && base[nb])
		nb++;
	out = lch_xcalloc(nb + e->kv.n + 1, sizeof(*out));
	for (i = 0; i < nb; i++) {
		const char *eq = strchr(base[i], '=');
		int dup = 0;

		if (eq == NULL)
			continue;
		for (j = 0; j < e->kv.n && !dup; j++)
			dup = strncmp(e->kv.v[j], base[i],
			    (size_t)(eq - base[i]) + 1) == 0;
		if (!dup)
			out[n++] = base[i];
	}
	for (j = 0; j < e->kv.n; j++)
		out[n++] = e->kv.v[j];
	out[n] = NULL;
	return out;
}

void (*lch_msg_hook)(void);

void
lch_vmsg(const char *fmt, va_list ap)
{
	char buf[2048];
	int n = snprintf(buf, sizeof(buf), "muster: ");

	if (lch_msg_hook)
		lch_msg_hook();

	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)lch_write_all(2, buf, (size_t)n);
}

void
lch_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lch_vmsg(fmt, ap);
	va_end(ap);
}

void
lch_more_files(long n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= (rlim_t)n)
		return;
	rl.rlim_cur = rl.rlim_max < (rlim_t)n ? rl.rlim_max : (rlim_t)n;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

int
lch_mkdirs(const char *dir, unsigned mode)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return ENAMETOOLONG;
	for (p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(buf, (mode_t)mode);
			*p = '/';
		}
	if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
		return errno;
	return 0;
}

int
lch_random_hex(char *buf, size_t n)
{
	unsigned char raw[64];
	size_t i;

	if (n > sizeof(raw) || getrandom(raw, n, 0) != (ssize_t)n)
		return -1;
	for (i = 0; i < n; i++)
		sprintf(buf + 2 * i, "%02x", raw[i]);
	return 0;
}

int
lch_addr_port(const char *s, char *addr, size_t len, long *port)
{
	const char *colon = strrchr(s, ':');

	if (colon == NULL || colon == s || (size_t)(colon - s) >= len ||
	    mst_parse_long(colon + 1, 1, 65535, port) != 0)
		return -1;
	memcpy(addr, s, (size_t)(colon - s));
	addr[colon - s] = '\0';
	return 0;
}

int
lch_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

const char *
lch_signame(int sig)
{
	static char buf[16];
	const char *a = sigabbrev_np(sig);

	if (a == NULL) {
		snprintf(buf, sizeof(buf), "SIG%d", sig);
		return buf;
	}
	snprintf(buf, sizeof(buf), "SIG%s", a);
	return buf;
}

int
lch_poll_ms(long long ms)
{
	if (ms < 0)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

void
lch_remove_numbered(const char *dir, const char *prefix, unsigned type)
{
	size_t k = strlen(prefix);
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (dir == NULL || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, k) != 0 || e->d_name[k] == '\0' ||
		    strspn(e->d_name + k, "0123456789") != strlen(e->d_name + k))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) != 0 || (st.st_mode & S_IFMT) != type ||
		    st.st_uid != geteuid() ||
		    (type == S_IFREG && st.st_nlink != 1))
			continue;
		if (type != S_IFDIR)
			unlink(path);
		else {	/* its numbered files, then itself */
			lch_remove_numbered(path, "", S_IFREG);
			(void)rmdir(path);
		}
	}
	closedir(d);
}
