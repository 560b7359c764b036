/*
 * slurm.h: muster inside a Slurm allocation.
 *
 * Inside an allocation (SLURM_JOB_ID set and srun found in PATH) the
 * nodes are SLURM_JOB_NODELIST (hostlist syntax, hosts.h expands it), in
 * its order, and each node's slots are its tasks: SLURM_NTASKS_PER_NODE
 * when set (the same on every node), else SLURM_TASKS_PER_NODE ("2(x3),1")
 * when the job asked for tasks (SLURM_NTASKS set), else its CPUs,
 * SLURM_JOB_CPUS_PER_NODE ("4(x2)").  Inside a job step (srun -n1 muster)
 * srun has replaced the task variables with the step's, so there the
 * slots are the CPUs.  -n, --nodes, --procs-per-node and
 * -H are checked against that: more nodes, more tasks than the slots, a
 * host not in the allocation or more slots on it than it holds is an
 * error naming the allocation (job id) and the variable the slots came
 * from.
 *
 * --launcher slurm (auto's choice in an allocation) starts every node's
 * agent in one job step:
 *
 *	srun --jobid=ID --nodes=N --ntasks=N --ntasks-per-node=1
 *	     --nodelist=H1,H2,... --kill-on-bad-exit=1 --cpu-bind=none
 *	     --mem-bind=none --overlap --input=none --export=ALL
 *	     --job-name=muster MUSTER --agent --dial ADDR:PORT
 *
 * (the whole allocation's SLURM_JOB_NODELIST instead of the list when
 * every node is used; MUSTER is --remote-muster when given, else this
 * binary's path).  --cpu-bind=none leaves binding to muster's own
 * placement; --overlap lets the step start inside another step and
 * beside the user's own; the step inherits the GPUs and memory of the
 * allocation.
 *
 * The dial-back (the step's tasks have no pipe to the head): the head
 * listens on its address (127.0.0.1 when every node is this machine) on
 * a free TCP port before it starts srun, and puts a fresh random token in
 * srun's environment as MUSTER_AGENT_TOKEN.  `muster --agent --dial
 * ADDR:PORT` connects there, removes the token from its environment and
 * writes one line first:
 *
 *	{"dial":1, "token":T, "host":SLURMD_NODENAME, "pid":PID}
 *
 * then the connection is the agent's stdin and stdout (records.h, from
 * HELLO on); its stderr goes through srun to the head's stderr.  The head
 * takes a dialled connection as the node whose name is host (each node
 * once); a wrong token, an unknown or repeated host, or no line within
 * 10 s closes that connection, said once.  srun ending before every node
 * dialled in fails the job naming the nodes missing and what srun said;
 * the head killed closes every connection, and each agent stops its
 * workers as at EOF on stdin.  Every message names the node by its Slurm
 * name.
 */
#ifndef LCH_SLURM_H
#define LCH_SLURM_H

#include <stddef.h>

#include "util.h"

struct lch_slurm {
	char *job_id;		/* SLURM_JOB_ID */
	char **nodes;		/* SLURM_JOB_NODELIST, expanded, in order */
	int *slots;		/* per node: its tasks, else its CPUs */
	int nnodes;
	char *nodelist;		/* SLURM_JOB_NODELIST as it is */
	/* where slots came from, for messages: "SLURM_TASKS_PER_NODE=2(x2)" */
	char slots_from[160];
	int in_step;		/* we are a task of a job step (SLURM_STEP_ID
				   set, the batch and interactive steps apart) */
	long step_tasks;	/* its tasks (SLURM_STEP_NUM_TASKS), in_step */
	long procid;		/* SLURM_PROCID, in_step */
	char *srun;		/* srun's path in PATH, or NULL */
};

/*
 * Reads the allocation from the environment: 1 inside one (s filled),
 * 0 when SLURM_JOB_ID is not set or empty (s zeroed), -1 when a variable
 * is malformed (s zeroed): err names it, its value and what was expected.
 * in_step: SLURM_STEP_ID is a number below 4294967290 (the batch script
 * has no SLURM_STEP_ID; the interactive step's is 4294967290, extern's
 * 4294967292).  srun is looked up, not required.
 */
int  lch_slurm_detect(struct lch_slurm *s, char *err, size_t errlen);
void lch_slurm_release(struct lch_slurm *s);

/*
 * A Slurm count list ("2(x3),1", "4", "72(x2),36") into counts[0..n):
 * 0, or -1 when it is malformed (a count of 0 or over LCH_SLOTS_MAX, a
 * bad repeat, other text) or does not give exactly n counts; err then
 * says why, without spec (the caller names the variable and its value).
 */
int  lch_slurm_counts(const char *spec, int *counts, int n, char *err,
		      size_t errlen);
/* srun's absolute path in PATH (malloc'ed), or NULL. */
char *lch_slurm_which_srun(void);

/* The agent step (above) for hosts[0..nhosts) of allocation s. */
struct lch_srun_step {
	const struct lch_slurm *s;
	const char *const *hosts;
	int nhosts;
	const char *muster;	/* muster's path on the nodes */
	const char *dial;	/* "ADDR:PORT" the agents connect to */
};
void lch_slurm_srun_argv(const struct lch_srun_step *st, struct lch_strv *v);

#define LCH_DIAL_TOKEN_ENV "MUSTER_AGENT_TOKEN"
#define LCH_DIAL_HELLO_MS 10000	/* a dialled connection's first line */

#endif /* LCH_SLURM_H */
