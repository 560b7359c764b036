/*
 * launcher_harness.h: the launcher's options as its command line gives
 * them, in-process, for options_test.c and plan_test.c.
 *
 *	struct lch_opts o;
 *	CHECK_INT(PARSE(&o, "-n", "4", "--", "true"), 0);   lch_opts_parse
 *	CHECK_INT(FINISH(&o, "-n", "5", "--nodes", "2", "true"), -1);
 *	CHECK_STR(lh_err, "muster: -n 5: not a multiple of --nodes 2\n");
 *
 * PARSE and FINISH initialize o (release it with lch_opts_release before
 * the next call: o->argv points into words the next call frees).  What
 * the launcher printed on stderr meanwhile is in lh_err; lh_capture(fd)
 * and lh_captured() do the same around any other call.  lh_write_file()
 * writes a scratch file (a config, a hostfile); lh_remove_file() removes
 * it.
 */
#ifndef LAUNCHER_HARNESS_H
#define LAUNCHER_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "test.h"

#define LH_MAXARGS 64

static char lh_err[4096];	/* what the last captured call printed */
static char *lh_argv[LH_MAXARGS + 2];
static FILE *lh_tmp;
static int lh_fd = 2, lh_saved_fd = -1;

/* From here to lh_captured(), fd (2: stderr, 1: stdout) goes to lh_err. */
static void
lh_capture(int fd)
{
	fflush(NULL);
	lh_err[0] = '\0';
	lh_fd = fd;
	if ((lh_tmp = tmpfile()) == NULL || (lh_saved_fd = dup(fd)) < 0 ||
	    dup2(fileno(lh_tmp), fd) < 0) {
		perror("# lh_capture");
		_exit(1);
	}
}

static void
lh_captured(void)
{
	size_t n;

	fflush(NULL);
	dup2(lh_saved_fd, lh_fd);
	close(lh_saved_fd);
	rewind(lh_tmp);
	n = fread(lh_err, 1, sizeof(lh_err) - 1, lh_tmp);
	lh_err[n] = '\0';
	fclose(lh_tmp);
}

/* argv = "muster" and the words up to NULL, each a fresh copy. */
static int
lh_set_argv(va_list ap)
{
	const char *w;
	int argc;

	for (argc = 0; lh_argv[argc]; argc++)
		free(lh_argv[argc]);
	lh_argv[0] = strdup("muster");
	for (argc = 1; (w = va_arg(ap, const char *)) != NULL; argc++) {
		if (argc > LH_MAXARGS) {
			fprintf(stderr, "# lh_set_argv: too many words\n");
			_exit(1);
		}
		lh_argv[argc] = strdup(w);
	}
	lh_argv[argc] = NULL;
	return argc;
}

static int __attribute__((sentinel))
lh_opts(struct lch_opts *o, int finish, ...)
{
	va_list ap;
	int argc, rc;

	va_start(ap, finish);
	argc = lh_set_argv(ap);
	va_end(ap);
	lch_opts_init(o);
	lh_capture(2);
	rc = lch_opts_parse(o, argc, lh_argv);
	if (rc == 0 && finish)
		rc = lch_opts_finish(o);
	lh_captured();
	return rc;
}
#define PARSE(o, ...) lh_opts((o), 0, __VA_ARGS__, (const char *)NULL)
#define FINISH(o, ...) lh_opts((o), 1, __VA_ARGS__, (const char *)NULL)

static char lh_path[64];

/* Writes text to this process's scratch file; returns its path. */
static const char *
lh_write_file(const char *text)
{
	FILE *f;

	snprintf(lh_path, sizeof(lh_path), "/tmp/muster-lh-%d", (int)getpid());
	if ((f = fopen(lh_path, "w")) == NULL) {
		perror(lh_path);
		_exit(1);
	}
	fputs(text, f);
	fclose(f);
	return lh_path;
}

static void
lh_remove_file(void)
{
	if (lh_path[0])
		unlink(lh_path);
}

#endif /* LAUNCHER_HARNESS_H */
