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

#include "netaddr.h"
#include "options.h"
#include "util.h"

struct lch_node {
	const char *host;	/* borrowed from the options, or "localhost" */
	int local;		/* the host is this machine */
	int first_rank, nprocs;
	int index;		/* in the plan's nodes */
	int want_ports;		/* free ports its agent finds on its host:
				   MASTER_PORT first (rank 0's node, without
				   --master-port), then one per rank for
				   TF_CONFIG in parameter-server mode */
	/* from the node's facts (the head sets them; lch_plan_set_net) */
	int have_net;		/* net holds the node's address */
	struct mst_netaddr net;	/* what its ranks advertise */
	const int *ports;	/* want_ports of them, or NULL: not yet */
	/* its placement as planned here (lch_plan_build: on a topology
	   file, or with --dry-run on this machine for a local node), or
	   NULL: its agent plans it at start */
	const struct lch_plan_placed *place;
};

/* A placement planned here, shared by the nodes of one size. */
struct lch_plan_placed {
	int nprocs, local;
	struct lch_topo *topo;
	struct lch_place p;
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
	char master_addr[256];	/* --master-addr, else set with the facts
				   (127.0.0.1 when all local; rank 0's
				   host's guess from here under --mpi) */
	int master_port;	/* --master-port, else rank 0's node's */
	int master_port_given;	/* --master-port: no port wanted for it */
	int all_local;
	int ps;			/* parameter-server mode: TF_CONFIG */
	const char *iface;	/* --iface, or NULL */
	/*
	 * The head's own address (lch_plan_choose_head): the local address
	 * of the route toward the first remote node's host (toward), or
	 * --iface's; 127.0.0.1 when all local.  What the embedded
	 * rendezvous advertises and every agent routes toward.
	 */
	const char *toward;	/* NULL: all local */
	int have_head;
	struct mst_netaddr head;
	char head_err[256];	/* why there is no head address (dry run) */
	char **argv;		/* the program, borrowed */
	const char *cwd;	/* the ranks' folder (a config's
				   source_directory), borrowed, or NULL */
	const char *launcher;	/* lch_launcher_name of --launcher, resolved */
	/* what every agent places its ranks with (records.h: "place") */
	struct lch_place_opts place;
	char *topology;		/* place.topology: --topology, absolute */
	int nplaced;
	struct lch_plan_placed *placed;	/* nnodes of room */
};

/*
 * Builds the plan; -1 after a one-line message on bad input, with
 * nothing left to release.  With a topology file (--topology, else
 * HWLOC_XMLFILE) every node's placement is planned on it here, so that
 * a file that is no topology or a request it cannot meet (more ranks
 * than GPUs...) is refused before any agent starts; with --dry-run
 * without one, every local node's on this machine.  The environment that depends on where each
 * node is (MASTER_ADDR, MASTER_PORT, TF_CONFIG, MUSTER_ADDR and the
 * *_SOCKET_IFNAME names) waits for lch_plan_set_net, except under --mpi
 * (MASTER_ADDR, MASTER_PORT: see lch_plan_choose_head).
 */
int  lch_plan_build(struct lch_plan *p, const struct lch_opts *o);
/*
 * Chooses the head's address (p->head) and gives it to every local node
 * (this machine's agents would choose the same).  Under --mpi also
 * MASTER_ADDR (the head's address when rank 0 is here, else rank 0's
 * host as resolved here when that is no loopback address, else its
 * name) and MASTER_PORT (a port free here).  -1 after a message naming
 * this host and why; with dry_run never: p->head_err says why.  When no
 * other host's name resolves here (only ssh may know it) it is 0 all the
 * same, without have_head: the caller lets ssh fail first, else refuses
 * the job with head_err once the facts are in.
 */
int  lch_plan_choose_head(struct lch_plan *p, const struct lch_opts *o,
			  int dry_run);
/*
 * Sets every rank's address-dependent environment from its node's net
 * and ports (the *_SOCKET_IFNAME names: the user's value from our
 * environment when set there, on every rank, else the node's interface
 * unless -x names them) (all nodes' must be known, or describe is set: the --dry-run
 * text then stands for what is not known yet); -x values win still.
 * -1 after a message when TF_CONFIG does not fit in a variable.
 */
int  lch_plan_set_net(struct lch_plan *p, const struct lch_opts *o,
		      int describe);
/* Sets name=val on every rank (e.g. MUSTER_RENDEZVOUS once known). */
void lch_plan_setenv(struct lch_plan *p, const char *name, const char *val);
void lch_plan_release(struct lch_plan *p);
/*
 * One JSON object per rank per line (the --dry-run format); "cwd" the
 * folder it runs in when one was given (else absent); "launcher"
 * says how its node's agent starts (local, ssh, slurm, mpi), "net" how
 * its node's address, interface and ports are chosen, "place" its
 * cores, NUMA node, GPUs and OMP_NUM_THREADS as planned here (its env
 * shows that GPU variable and OMP_NUM_THREADS), or that its agent plans
 * it at start.
 */
void lch_plan_print(const struct lch_plan *p, int fd);

#endif /* LCH_PLAN_H */
