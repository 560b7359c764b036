/*
 * agent.h: one node's supervisor.
 *
 * The head starts one agent per node (`muster --agent`, locally or over
 * ssh) and writes it the node's part of the plan as one JSON line on stdin;
 * stdin then carries control lines ("term", "kill", "sig N") and its EOF
 * means the head is gone.  The agent forks the node's workers, each in its
 * own process group with PR_SET_PDEATHSIG, relays their output line by line
 * and reports exits.  Records on its stdout, one per line:
 *
 *	o[<rank>] <line>	a line the rank wrote on stdout
 *	e[<rank>] <line>	... on stderr
 *	s[<rank>] <pid>		the rank started
 *	x[<rank>] <pid> <code>	the rank ended: exit code, or 128+signal
 *	F[<rank>] <pid> <code>	the rank failed first (sent at once, before
 *				its output is drained; blame goes here)
 *	f[<rank>] <errno> <code> the rank's program could not be run
 *
 * so that the head prints an output record from its second byte on.
 *
 * The first failing worker makes the agent stop its other workers at once
 * (SIGTERM to each group, SIGKILL after the grace period).
 * In "direct" mode (under mpirun) there is no head: lines are printed as
 * "[rank] line" and failures as one message.
 */
#ifndef LCH_AGENT_H
#define LCH_AGENT_H

#include <stddef.h>

struct lch_agent_worker {
	int rank;
	char **argv;
	char **envp;
};

struct lch_agent_cfg {
	const char *host;
	int nworkers;
	struct lch_agent_worker *w;
	int grace_ms;
	const char *log_dir;	/* per-rank logs, or NULL */
	int direct;		/* print "[rank] line" instead of records */
	int tag;		/* direct mode: prefix lines with [rank] */
	int control_fd;		/* head's control lines, or -1 */
	int abort_fd;		/* readable once the job aborted, or -1 */
	/* direct mode: told of the first failure (after the message) */
	void (*failed)(int rank, int pid, int code);
	const char *ctl_pending;	/* control bytes read with the plan */
	size_t ctl_pending_len;
};

/* Runs the workers to the end; returns the first failure's code, or 0. */
int lch_agent_run(const struct lch_agent_cfg *c);
/* `muster --agent`: reads the plan from stdin, runs it. */
int lch_agent_main(void);

#endif /* LCH_AGENT_H */
