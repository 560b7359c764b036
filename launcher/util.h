/*
 * util.h: small helpers the launcher shares: growable string vectors,
 * ordered environment maps and messages (numbers: common/num.h).
 * The launcher is a program: out of memory ends it (lch_oom).
 */
#ifndef LCH_UTIL_H
#define LCH_UTIL_H

#include <stdarg.h>
#include <stddef.h>

/* NULL-terminated vector of malloc'ed strings (argv/envp shape). */
struct lch_strv {
	char **v;
	size_t n, cap;
};
#define LCH_STRV_INIT { NULL, 0, 0 }

void lch_strv_push(struct lch_strv *s, const char *str);
void lch_strv_pushf(struct lch_strv *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void lch_strv_clear(struct lch_strv *s);

/* An ordered set of NAME=VALUE; set replaces an existing NAME in place. */
struct lch_env {
	struct lch_strv kv;
};
void        lch_env_set(struct lch_env *e, const char *name, const char *val);
void        lch_env_setf(struct lch_env *e, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *lch_env_get(const struct lch_env *e, const char *name);
void        lch_env_clear(struct lch_env *e);
/* envp for exec: base (environ) overridden by e; strings borrowed. */
char      **lch_env_merge(char *const *base, const struct lch_env *e);

/*
 * Removes dir/PREFIX<digits> entries of ours whose type (lstat) is type
 * (S_IFIFO, S_IFREG: then with one link only; S_IFDIR: a folder, with
 * the files named by digits only in it); NULL dir is fine.
 */
void lch_remove_numbered(const char *dir, const char *prefix,
			 unsigned type);

void *lch_xmalloc(size_t n);
void *lch_xcalloc(size_t n, size_t sz);
void *lch_xrealloc(void *p, size_t n);
char *lch_xstrdup(const char *s);
char *lch_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *lch_xvasprintf(const char *fmt, va_list ap);
/* Appends s to the list in buf ("a, b"), as far as it fits in len. */
void  lch_list_add(char *buf, size_t len, const char *s);
void  lch_oom(void) __attribute__((noreturn));

/*
 * A poll() timeout for a wait of ms milliseconds: -1 (forever) when ms is
 * negative, else ms clamped to [0, INT_MAX] (a --timeout of months must
 * not wrap to a negative, endless wait).
 */
int lch_poll_ms(long long ms);

/*
 * "muster: " + message + newline on stderr, after lch_msg_hook when set
 * (progress.h: it erases the progress line first).
 */
void lch_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern void (*lch_msg_hook)(void);
void lch_vmsg(const char *fmt, va_list ap);

/* Raises RLIMIT_NOFILE's soft limit toward n (never past the hard one). */
void lch_more_files(long n);
/*
 * mkdir -p: dir and its parents with mode (umask applies; one there
 * stays).  0, or the errno of making dir itself.
 */
int  lch_mkdirs(const char *dir, unsigned mode);

/* Fills buf with 2*n hex digits of randomness. */
int lch_random_hex(char *buf, size_t n);
/*
 * "ADDR:PORT" (the last ':' splits) into addr (len bytes) and port (1 to
 * 65535): 0, or -1 when s is not that.
 */
int lch_addr_port(const char *s, char *addr, size_t len, long *port);
/* Writes all of buf, retrying on EINTR; -1 on error. */
int lch_write_all(int fd, const void *buf, size_t len);
const char *lch_signame(int sig);
/*
 * argv quoted for a POSIX shell, as git's sq_quote_argv: each word in
 * single quotes, ' as '\'' and ! as '\!' (csh), joined by spaces.
 */
char *lch_sq_quote_argv(const char *const *argv);
/* This program's absolute path (to start agents and rank wrappers). */
const char *lch_self_exe(void);

#endif /* LCH_UTIL_H */
