/*
 * remote.h: the command that starts muster on another host.
 *
 * --ssh CMD (or $MUSTER_SSH, split on blanks; default "ssh -T -o
 * BatchMode=yes") HOST, then one remote shell command.  Which muster runs
 * there: --remote-muster PATH when given; else this binary's path when it
 * is executable there, else `muster` from the remote PATH; else the
 * remote command exits 127 after a message on stderr naming the host and
 * both places looked ("muster: h3: no muster at /opt/x/muster nor in
 * PATH (use --remote-muster)").  Words are quoted for the remote shell
 * (lch_sq_quote_argv).
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
 * NULL-terminated, e.g. {"--agent", NULL}); -1 after a message when host
 * cannot be used (starts with '-').
 */
int lch_remote_argv(const struct lch_remote *r, const char *host,
		    const char *const *args, struct lch_strv *v);

#endif /* LCH_REMOTE_H */
