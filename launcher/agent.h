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
 *
 * No descendant outlives the job.  `muster --agent` reads its plan, then
 * splits in two: the process the head started stays behind as the
 * agent's warden (PR_SET_CHILD_SUBREAPER), and its child is the agent
 * proper.  Whatever a rank starts and leaves behind (a daemon: fork,
 * setsid, fork) is reparented to the warden, not to init; so are the
 * ranks themselves when the agent dies, even of SIGKILL.  When the agent
 * has ended, however it ended, the warden SIGKILLs every process left
 * under it until none is left, removes the shared-memory segments the
 * ranks created (/dev/shm/muster-PID-*, PID a rank's; see lib/shm.c) and
 * exits as the agent did (the same code, or the same signal).  The warden
 * passes SIGTERM and SIGHUP on to the agent, and when the head goes away
 * (its end of stdout closes) it tells the agent too; an agent that has
 * not ended the grace period and a second after that (a stopped one) is
 * SIGKILLed.  LCH_AGENT_KILL_SIG to the warden SIGKILLs the agent at once:
 * the head sends it to an agent that did not end in time.
 */
#ifndef LCH_AGENT_H
#define LCH_AGENT_H

#include <signal.h>
#include <stddef.h>

#define LCH_AGENT_KILL_SIG SIGUSR1	/* to the warden: kill the agent now */
#define LCH_EXIT_IOERR 74	/* output or a log could not be written */

struct lch_place_rank;
struct lch_metrics;

struct lch_agent_worker {
	int rank;
	char **argv;
	char **envp;
	/* its CPU and memory binding (place.h), applied in the forked
	   child before exec; NULL: none */
	const struct lch_place_rank *place;
	const char *metrics;	/* its metrics FIFO (metrics.h), or NULL */
	const char *flight;	/* its flight record (flight.h), or NULL */
	const char *pystacks;	/* its MUSTER_PYSTACKS (pystacks.h), or NULL */
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
	int warden_fd;		/* worker pids to the warden (warden.h), or -1 */
	/* outputs to send (gather.h): once the workers ended, wait for the
	   head's "gather NODE"; *gather_go is set when it came */
	int outputs_wait, node;
	int *gather_go;
	/* direct mode: where the ranks' metric lines go, or NULL */
	struct lch_metrics *metrics;
	/* y records every beat_ms, the head's beats watched (records.h);
	   0: neither */
	int beat_ms;
};

struct lch_flight_snap;
/*
 * Snapshots every worker's flight record (flight.h) into snaps[i] for
 * c->w[i], without stopping anyone; a worker without one (no "flight"
 * in the plan, no libmuster, not initialised yet, a file that cannot be
 * read) gets have 0 and its rank.  Returns how many have one.  Safe
 * from the agent's loop at any time (a read is a few microseconds).
 */
int lch_agent_flight_snap(const struct lch_agent_cfg *c,
			  struct lch_flight_snap *snaps);

/* Runs the workers to the end; returns the first failure's code, or 0. */
int lch_agent_run(const struct lch_agent_cfg *c);
/* `muster --agent`: reads the plan from stdin, runs it. */
int lch_agent_main(void);
/*
 * Set by `muster --agent --dial` (slurm.h): the agent's stdin and stdout
 * are its connection to the head; EOF before the HELLO ends it quietly,
 * and once it ran its plan it exits 0 (the head reports failed ranks).
 */
extern int lch_agent_dialled;

#endif /* LCH_AGENT_H */
