/*
 * agent.h: one node's supervisor.
 *
 * The head starts one agent per node (`muster --agent`, locally or over
 * ssh) and writes it the node's plan on stdin, then commands; the agent
 * forks the node's workers, each in its own process group with
 * PR_SET_PDEATHSIG, relays their output line by line and reports starts
 * and exits as records on its stdout.  records.h has that protocol.
 *
 * The first failing worker makes the agent stop its other workers at once
 * (SIGTERM to each group, SIGKILL after the grace period); after a
 * forwarded signal they get the grace period to handle it first.
 * In "direct" mode (under mpirun) there is no head: lines are printed as
 * they are (as "[rank] line" with tag) and failures as one message.
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
