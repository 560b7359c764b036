/*
 * dial.h: agents that connect back to the head (slurm.h has the
 * protocol): the head's listening socket and token, the agent's side of
 * the connection, and the first line between them.
 */
#ifndef LCH_DIAL_H
#define LCH_DIAL_H

#include <stddef.h>

#define LCH_DIAL_TOKEN_LEN 32	/* hex digits of a token */
#define LCH_DIAL_LINE_MAX 1024	/* the first line, newline included */

/*
 * A TCP socket listening on addr (a dotted quad) at a free port, CLOEXEC
 * and non-blocking; its port goes to *port.  -1 with err filled.
 */
int  lch_dial_listen(const char *addr, int *port, char *err, size_t errlen);

/* A fresh random token, LCH_DIAL_TOKEN_LEN hex digits and a '\0'. */
int  lch_dial_token(char tok[LCH_DIAL_TOKEN_LEN + 1]);

/*
 * The first line of a dialled connection (slurm.h), without its newline:
 * 0 when it is JSON with "dial":1, a "token" equal to tok and a "host"
 * (copied into host, hostlen bytes); -1 when it is not, with why in err.
 */
int  lch_dial_check(const char *line, size_t n, const char *tok,
		    char *host, size_t hostlen, char *err, size_t errlen);

/*
 * The agent's side: connects to "ADDR:PORT" (retrying a refused
 * connection for up to 10 s), writes the first line with the token of
 * $MUSTER_AGENT_TOKEN (then removed from the environment) and host,
 * and makes the connection its stdin and stdout.  -1 after a message.
 */
int  lch_dial_agent(const char *where, const char *host);

/* This node's name for the head: $SLURMD_NODENAME, else the host name. */
const char *lch_node_name(void);

#endif /* LCH_DIAL_H */
