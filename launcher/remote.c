/* remote.c: see remote.h. */
#include <stdlib.h>
#include <string.h>

#include "remote.h"

#define DEFAULT_SSH "ssh -T -o BatchMode=yes"

/*
 * The remote side, run by sh -c whatever the login shell is (a csh or a
 * fish would not parse if/fi): $1 the path to try, $2 the host for the
 * message, the rest muster's arguments.  A path is taken when it is an
 * executable file; a bare name (--remote-muster NAME) from PATH.  Fixed
 * text: what varies travels as quoted positional parameters.
 */
static const char same_path_script[] =
	"p=$1 h=$2; shift 2; "
	"if [ -f \"$p\" ] && [ -x \"$p\" ]; then exec \"$p\" \"$@\"; fi; "
	"if command -v muster >/dev/null 2>&1; then exec muster \"$@\"; fi; "
	"echo \"muster: $h: no muster at $p nor in PATH "
	"(use --remote-muster PATH)\" >&2; exit 127";

static const char given_path_script[] =
	"p=$1 h=$2; shift 2; "
	"case $p in */*) [ -f \"$p\" ] && [ -x \"$p\" ];; "
	"*) command -v \"$p\" >/dev/null 2>&1;; esac && exec \"$p\" \"$@\"; "
	"echo \"muster: $h: no muster at $p (--remote-muster)\" >&2; "
	"exit 127";

static void
push_ssh(const struct lch_remote *r, struct lch_strv *v)
{
	const char *ssh = r->ssh ? r->ssh : getenv("MUSTER_SSH");
	char *copy, *tok, *save = NULL;

	copy = lch_xstrdup(ssh && ssh[strspn(ssh, " \t")] ? ssh : DEFAULT_SSH);
	for (tok = strtok_r(copy, " \t", &save); tok;
	    tok = strtok_r(NULL, " \t", &save))
		lch_strv_push(v, tok);
	free(copy);
}

/*
 * The remote shell command: /bin/sh -c SCRIPT muster PATH HOST ARGS..., each
 * word quoted for the remote shell (git's sq_quote_argv), after exec so
 * that the login shell does not stay between ssh and muster.
 */
static char *
remote_command(const struct lch_remote *r, const char *host,
	       const char *const *args)
{
	struct lch_strv w = LCH_STRV_INIT;
	char *q, *cmd;
	size_t i;

	lch_strv_push(&w, "/bin/sh");	/* whatever the remote PATH */
	lch_strv_push(&w, "-c");
	lch_strv_push(&w, r->remote_muster ? given_path_script :
	    same_path_script);
	lch_strv_push(&w, "muster");	/* $0: the name sh's errors give */
	lch_strv_push(&w, r->remote_muster ? r->remote_muster :
	    r->self ? r->self : lch_self_exe());
	lch_strv_push(&w, host);
	for (i = 0; args && args[i]; i++)
		lch_strv_push(&w, args[i]);
	q = lch_sq_quote_argv((const char *const *)w.v);
	cmd = lch_xasprintf("exec %s", q);
	free(q);
	lch_strv_clear(&w);
	return cmd;
}

int
lch_remote_argv(const struct lch_remote *r, const char *host,
		const char *const *args, struct lch_strv *v)
{
	char *cmd;

	if (host[0] == '-' || host[0] == '\0') {
		lch_msg("host '%s': a host cannot %s", host, host[0] ?
		    "start with '-'" : "be empty");
		return -1;
	}
	if (r->remote_muster && r->remote_muster[0] == '\0') {
		lch_msg("--remote-muster '': expected a path");
		return -1;
	}
	push_ssh(r, v);
	lch_strv_push(v, "--");
	lch_strv_push(v, host);
	cmd = remote_command(r, host, args);
	lch_strv_push(v, cmd);
	free(cmd);
	return 0;
}
