/*
 * plan.h: who runs where, and the environment each rank gets.
 *
 * Ranks are placed node by node (a node is a host, or a "virtual node" on
 * this machine when no hosts are given), so ranks on one node are
 * contiguous.  Each rank's environment holds the names of muster, torchrun,
 * Horovod and Azure ML, and TF_CONFIG in parameter-server mode.
 */
#ifndef LCH_PLAN_H
#define LCH_PLAN_H

#include "options.h"
#include "util.h"

struct lch_node {
	const char *host;	/* borrowed from the options, or "localhost" */
	int local;		/* the host is this machine */
	int first_rank, nprocs;
};

struct lch_rank {
	int rank, local_rank, node_rank;
	const char *role;	/* TF task type in ps mode, else "default" */
	int role_index, role_size;	/* among ranks of this role */
	int cross_rank, cross_size;	/* Horovod's, among the nodes with
					   a rank of this local rank */
	struct lch_env env;	/* what muster sets for this rank */
};

struct lch_plan {
	int np, nnodes;
	struct lch_node *nodes;
	struct lch_rank *ranks;
	char job_id[64];
	char secret[65];	/* hex; in MUSTER_JOB_SECRET, never on argv */
	char master_addr[256];
	char here[256];		/* the name other hosts reach this one by */
	int master_port;
	int all_local;
	char **argv;		/* the program, borrowed */
};

/*
 * Builds the plan; -1 after a one-line message on bad input, with
 * nothing left to release.
 */
int  lch_plan_build(struct lch_plan *p, const struct lch_opts *o);
/* Sets name=val on every rank (e.g. MUSTER_RENDEZVOUS once known). */
void lch_plan_setenv(struct lch_plan *p, const char *name, const char *val);
void lch_plan_release(struct lch_plan *p);
/* One JSON object per rank per line (the --dry-run format). */
void lch_plan_print(const struct lch_plan *p, int fd);
/* A free TCP port: port 0 bound on every interface, then closed. */
int  lch_free_port(void);

#endif /* LCH_PLAN_H */
