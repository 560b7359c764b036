/*
 * remote.h: the command that starts muster on another host.
 *
 * --ssh CMD (or $MUSTER_SSH, split on blanks; default "ssh -T -o
 * BatchMode=yes") HOST, then one remote shell command.  Which muster runs
 * there: --remote-muster PATH when given (a bare name: from the remote
 * PATH), else the remote command exits 127 after "muster: h3: no muster
 * at PATH (--remote-muster)" on stderr; without it, this binary's path
 * when it is an executable file there, else `muster` from the remote
 * PATH; else the remote command exits 127 after a message on stderr
 * naming the host and both places looked ("muster: h3: no muster at
 * /opt/x/muster nor in PATH (use --remote-muster PATH)").  The choice is
 * made by /bin/sh -c on the remote host (whatever the login shell is), its
 * script fixed text; the paths, the host and ARGS travel as its
 * positional parameters, each word quoted for the remote shell
 * (lch_sq_quote_argv), after "exec".
 */
#ifndef LCH_REMOTE_H
#define LCH_REMOTE_H

#include "util.h"

#define LCH_REMOTE_NOTFOUND 127	/* the remote command's exit: no muster */

struct lch_remote {
	const char *ssh;		/* --ssh, or NULL: $MUSTER_SSH, default */
	const char *remote_muster;	/* --remote-muster, or NULL */
	const char *self;		/* this binary's path */
};

/*
 * Pushes onto v the argv that runs `muster ARGS...` on host (args is
 * NULL-terminated, e.g. {"--agent", NULL}); -1 after a message, nothing
 * pushed, when host cannot be used (empty, or starts with '-': ssh
 * would take it for an option) or remote_muster is "".  self NULL:
 * lch_self_exe().  Local hosts are not its business: the caller forks
 * them directly.
 */
int lch_remote_argv(const struct lch_remote *r, const char *host,
		    const char *const *args, struct lch_strv *v);

#endif /* LCH_REMOTE_H */
