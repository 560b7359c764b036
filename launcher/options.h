/*
 * options.h: the launcher's command line and its JSON job spec (--config).
 *
 * Command-line flags win over the config file, whatever their order.
 * lch_opts_parse() and lch_opts_finish() print one line naming the bad
 * input and return -1 (the caller exits 2).
 */
#ifndef LCH_OPTIONS_H
#define LCH_OPTIONS_H

#include "hosts.h"
#include "place.h"
#include "slurm.h"
#include "util.h"

/*
 * Limits on what is given (man/muster.1 lists them): a larger value is
 * refused with one line, never cut or wrapped.
 */
#define LCH_NP_MAX (1 << 20)	/* processes in a job: a rendezvous group */
#define LCH_JOB_ID_MAX 63	/* characters of --job-id */
#define LCH_ENDPOINT_MAX 255	/* characters of --rendezvous */
#define LCH_ENV_MAX (128 * 1024 - 1)	/* NAME=VALUE: Linux's MAX_ARG_STRLEN */
#define LCH_DIR_MAX 4000	/* --log-dir, --output-dir: room for names */
#define LCH_TIMEOUT_MAX 1e9	/* seconds of --timeout, --stall-timeout */
#define LCH_GRACE_MAX 1e6	/* seconds of --grace: its ms fit an int */
#define LCH_FANOUT_DEFAULT 32	/* --fanout: remote agents the head starts */
#define LCH_FANOUT_MAX 1024
#define LCH_CHECK_TIMEOUT_MAX 1e6	/* seconds of --check-timeout */
#define LCH_GPP_MAX 1024	/* --gpus-per-proc */
#define LCH_JOIN_TIMEOUT_DEFAULT 600.0	/* --join-timeout: torchrun's */
#define LCH_DISCOVERY_INTERVAL_DEFAULT 5.0	/* --discovery-interval */

/* --launcher: how the agents of the nodes are started */
enum lch_launcher {
	LCH_LAUNCH_AUTO = 0,	/* slurm in an allocation, ssh with other
				   hosts, else local */
	LCH_LAUNCH_LOCAL,	/* every node on this machine */
	LCH_LAUNCH_SSH,		/* ssh (--ssh) to other hosts */
	LCH_LAUNCH_SLURM,	/* one srun job step, an agent per node */
	LCH_LAUNCH_MPI		/* Open MPI's mpirun (--mpi) */
};

enum lch_mode {
	LCH_RUN = 0,	/* launch a job */
	LCH_HELP,	/* --help */
	LCH_VERSION,	/* --version */
	LCH_AGENT,	/* internal: --agent, one node's supervisor */
	LCH_MPI_RANK,	/* internal: --mpi-rank, wrapper under mpirun */
	LCH_CHECK,	/* --check [HOST...] [-- PROGRAM]: pre-flight only */
	LCH_JOIN	/* --join URL: this host joins an elastic job (join.h) */
};

struct lch_opts {
	enum lch_mode mode;
	long np;		/* -n; 0 = not given */
	long nodes;		/* --nodes; 0 = not given (MIN:MAX: MAX) */
	/* --nodes MIN:MAX (--nnodes): an elastic job (elastic.h); 0 = a
	   fixed --nodes N */
	long nodes_min, nodes_max;
	double join_timeout;	/* --join-timeout S: the nodes come up */
	char *host_discovery;	/* --host-discovery CMD, or NULL */
	int hosts_discovered;	/* hosts came from it (no -H, --hostfile) */
	double discovery_interval;	/* --discovery-interval S */
	long ppn;		/* --procs-per-node; 0 = not given */
	char *hosts_arg;	/* -H as given */
	char *hostfile;		/* --hostfile */
	struct lch_hostlist hosts;
	long ps, workers;	/* --ps, --workers; -1 = not given */
	int chief, evaluator;	/* --chief, --evaluator */
	int mpi;		/* --mpi */
	char *rendezvous;	/* --rendezvous tcp://HOST:PORT */
	char *ssh;		/* --ssh CMD: reaches other hosts */
	long fanout;		/* --fanout K: the tree of agents (relay.h) */
	char *iface;		/* --iface NAME|CIDR (or MUSTER_IFACE): the
				   interface every host advertises */
	int dry_run;
	double timeout;		/* --timeout seconds; 0 = none */
	double stall_timeout;	/* --stall-timeout seconds; 0 = none (stacks.h) */
	int stall_abort;	/* --stall-action abort (else report) */
	double grace;		/* --grace seconds between SIGTERM and SIGKILL */
	long max_restarts;	/* --max-restarts */
	char *log_dir, *output_dir;
	char *run_dir;		/* --run-dir: the run record (runrec.h), or NULL */
	int no_record;		/* --no-record */
	int quiet;		/* -q, --quiet: no progress line */
	char *job_id;		/* --job-id */
	char *master_addr;	/* --master-addr */
	long master_port;	/* --master-port; 0 = a free port */
	struct lch_strv xvars;	/* -x VAR or VAR=VAL, in order */
	char *config;		/* --config */
	char *cwd;		/* the ranks' folder, absolute: a config's
				   source_directory; NULL: the head's */
	void *spec;		/* --config's JSON as given (a cJSON tree,
				   for the run record), or NULL */
	int tag;		/* --no-tag clears: raw output */
	int verbose;
	char **argv;		/* the program and its arguments */
	int argc;
	int argv_owned;		/* argv is the config's: released with o */
	int dashdash;		/* argv came after a "--" */
	/* pre-flight (preflight.h) */
	int preflight;		/* --preflight: check the hosts, then launch */
	double check_timeout;	/* --check-timeout seconds per host */
	char *remote_muster;	/* --remote-muster PATH on other hosts */
	enum lch_launcher launcher;	/* --launcher; lch_opts_finish
					   resolves AUTO */
	/* placement (place.h) */
	enum lch_bind bind;	/* --bind-to */
	enum lch_map map;	/* --map-by */
	long gpus_per_proc;	/* --gpus-per-proc; -1 = not given */
	char *topology;		/* --topology FILE.xml */
	int report_bindings;	/* --report-bindings */
	char *dial;		/* internal: --agent --dial ADDR:PORT (slurm.h) */
	char *join;		/* --join tcp://HOST:PORT (join.h) */
	char *secret_file;	/* --secret-file F: the join secret (join.h) */
	long slots;		/* --slots N of a joining host; -1: not given */
	struct lch_slurm *slurm;	/* the allocation the hosts come from
					   or are checked against
					   (lch_opts_finish), or NULL */
	int slurm_hosts;	/* hosts are slurm's nodes (no -H given) */
	/* set-by-command-line markers, so the config only fills the rest
	   (one bit per option id: more than 32 of them) */
	unsigned long long set;
};

/* "auto", "local", "ssh", "slurm", "mpi": 0, or -1 when none of them. */
int  lch_launcher_parse(const char *s, enum lch_launcher *out);
const char *lch_launcher_name(enum lch_launcher l);

void lch_opts_init(struct lch_opts *o);
void lch_opts_release(struct lch_opts *o);
/* Parses argv (argv[0] is muster). */
int  lch_opts_parse(struct lch_opts *o, int argc, char **argv);
/*
 * Reads --config, resolves hosts, counts and modes, and --launcher:
 * auto becomes slurm inside an allocation with srun, else ssh when a
 * host given is not this machine, else local; mpi and --mpi are one.
 * Slurm, mpi inside an allocation and ssh there without -H or
 * --hostfile take their hosts from it, or check -H's against it
 * (slurm.h); local never looks at it.
 */
int  lch_opts_finish(struct lch_opts *o);
/*
 * For --check: the words before "--" are hosts (as -H takes them, added
 * to -H's; with --hostfile refused, as -H is; over the config's hosts),
 * the words after it the program; reads --config and --hostfile; no
 * program is fine.
 */
int  lch_opts_finish_check(struct lch_opts *o);
/*
 * Whether the user set variable name for the ranks: in our environment
 * (local ranks inherit it) or with -x NAME / -x NAME=VAL.
 */
int  lch_opts_user_set(const struct lch_opts *o, const char *name);
/*
 * --join (join.h): -1 after one line when a program or an option that is
 * the job's (-n, --nodes, -H...) is given too.
 */
int  lch_opts_finish_join(const struct lch_opts *o);
/* Whether the job is in parameter-server (TF_CONFIG) mode. */
int  lch_opts_ps_mode(const struct lch_opts *o);
void lch_usage(int to_stderr);

#endif /* LCH_OPTIONS_H */
