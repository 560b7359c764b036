/* options.c: see options.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "muster.h"
#include "netaddr.h"
#include "elastic.h"
#include "join.h"
#include "num.h"
#include "options.h"
#include "strbuf.h"

#define CONFIG_MAX (1 << 20)

enum opt_id {
	O_NP, O_NODES, O_PPN, O_HOSTS, O_HOSTFILE, O_PS, O_WORKERS, O_CHIEF,
	O_EVALUATOR, O_MPI, O_RDV, O_DRY, O_TIMEOUT, O_GRACE, O_RESTARTS,
	O_LOGDIR, O_OUTDIR, O_JOBID, O_X, O_CONFIG, O_NOTAG, O_VERBOSE,
	O_HELP, O_VERSION, O_AGENT, O_MPIRANK, O_MADDR, O_MPORT, O_SSH,
	O_FANOUT, O_IFACE,
	O_CHECK, O_PREFLIGHT, O_CHECK_TIMEOUT, O_RMUSTER,
	O_LAUNCHER, O_BIND, O_MAP, O_GPP, O_TOPO, O_REPORT, O_DIAL,
	O_RUNDIR, O_NORECORD, O_QUIET,
	O_JOIN_TIMEOUT, O_DISCOVERY, O_DISC_INTERVAL, O_RDZV_EP, O_STALL,
	O_STALL_ACTION, O_JOIN, O_SECRET_FILE, O_SLOTS
};

struct opt_def {
	const char *name;	/* as typed, with its dashes */
	enum opt_id id;
	int arg;		/* takes a value */
	const char *key;	/* config file key, or NULL */
};

static const struct opt_def opt_defs[] = {
	{ "-n", O_NP, 1, NULL },
	{ "-np", O_NP, 1, NULL },
	{ "--np", O_NP, 1, "np" },
	{ "--nodes", O_NODES, 1, "nodes" },
	{ "--nnodes", O_NODES, 1, NULL },
	{ "--join-timeout", O_JOIN_TIMEOUT, 1, "join_timeout" },
	{ "--host-discovery", O_DISCOVERY, 1, "host_discovery" },
	{ "--discovery-interval", O_DISC_INTERVAL, 1, "discovery_interval" },
	{ "--procs-per-node", O_PPN, 1, "procs_per_node" },
	{ "--nproc-per-node", O_PPN, 1, NULL },
	{ "-H", O_HOSTS, 1, NULL },
	{ "--host", O_HOSTS, 1, "hosts" },
	{ "--hosts", O_HOSTS, 1, NULL },
	{ "--hostfile", O_HOSTFILE, 1, "hostfile" },
	{ "--ps", O_PS, 1, "ps" },
	{ "--workers", O_WORKERS, 1, "workers" },
	{ "--chief", O_CHIEF, 0, "chief" },
	{ "--evaluator", O_EVALUATOR, 0, "evaluator" },
	{ "--mpi", O_MPI, 0, "mpi" },
	{ "--rendezvous", O_RDV, 1, "rendezvous" },
	{ "--rdzv-endpoint", O_RDZV_EP, 1, NULL },
	{ "--ssh", O_SSH, 1, "ssh" },
	{ "--fanout", O_FANOUT, 1, "fanout" },
	{ "--iface", O_IFACE, 1, "iface" },
	{ "--remote-muster", O_RMUSTER, 1, "remote_muster" },
	{ "--launcher", O_LAUNCHER, 1, "launcher" },
	{ "--bind-to", O_BIND, 1, "bind_to" },
	{ "--map-by", O_MAP, 1, "map_by" },
	{ "--gpus-per-proc", O_GPP, 1, "gpus_per_proc" },
	{ "--topology", O_TOPO, 1, "topology" },
	{ "--report-bindings", O_REPORT, 0, "report_bindings" },
	{ "--dial", O_DIAL, 1, NULL },
	{ "--join", O_JOIN, 1, NULL },
	{ "--secret-file", O_SECRET_FILE, 1, "secret_file" },
	{ "--slots", O_SLOTS, 1, NULL },
	{ "--check", O_CHECK, 0, NULL },
	{ "--preflight", O_PREFLIGHT, 0, "preflight" },
	{ "--check-timeout", O_CHECK_TIMEOUT, 1, "check_timeout" },
	{ "--dry-run", O_DRY, 0, "dry_run" },
	{ "--timeout", O_TIMEOUT, 1, "timeout" },
	{ "--grace", O_GRACE, 1, "grace" },
	{ "--stall-timeout", O_STALL, 1, "stall_timeout" },
	{ "--stall-action", O_STALL_ACTION, 1, "stall_action" },
	{ "--max-restarts", O_RESTARTS, 1, "max_restarts" },
	{ "--log-dir", O_LOGDIR, 1, "log_dir" },
	{ "--output-dir", O_OUTDIR, 1, "output_dir" },
	{ "--run-dir", O_RUNDIR, 1, "run_dir" },
	{ "--no-record", O_NORECORD, 0, "no_record" },
	{ "-q", O_QUIET, 0, NULL },
	{ "--quiet", O_QUIET, 0, "quiet" },
	{ "--job-id", O_JOBID, 1, "job_id" },
	{ "--rdzv-id", O_JOBID, 1, NULL },
	{ "--master-addr", O_MADDR, 1, "master_addr" },
	{ "--master-port", O_MPORT, 1, "master_port" },
	{ "-x", O_X, 1, "env" },
	{ "--config", O_CONFIG, 1, NULL },
	{ "--no-tag", O_NOTAG, 0, "no_tag" },
	{ "-v", O_VERBOSE, 0, NULL },
	{ "--verbose", O_VERBOSE, 0, "verbose" },
	{ "-h", O_HELP, 0, NULL },
	{ "--help", O_HELP, 0, NULL },
	{ "--version", O_VERSION, 0, NULL },
	{ "--agent", O_AGENT, 0, NULL },
	{ "--mpi-rank", O_MPIRANK, 0, NULL },
};
#define NDEFS (sizeof(opt_defs) / sizeof(opt_defs[0]))

void
lch_usage(int to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;

	fputs(
"usage: muster [options] [--] PROGRAM [ARGS...]\n"
"       muster --join tcp://HOST:PORT [--secret-file F] [--slots N]\n"
"       muster --check [options] [HOST...] [-- PROGRAM [ARGS...]]\n"
"       muster runs | show ID | plot ID [METRIC...] | compare ID ID...\n"
"       muster stacks [ID]\n"
"\n"
"Launches PROGRAM as the ranks of a distributed job and supervises them.\n"
"Every rank gets the environment of torchrun, Horovod, Azure ML and muster\n"
"(TF_CONFIG too in parameter-server mode).\n"
"\n"
"--join tcp://HOST:PORT joins this host to a running elastic job (the URL\n"
"that job printed; --secret-file F, default $MUSTER_SECRET_FILE, its secret;\n"
"--slots N, its slots): a spare until a generation takes it in; exits with\n"
"the job's status.\n"
"\n"
"Placement:\n"
"  -n, -np, --np N           total processes (default: the slots given, else 1)\n"
"  --nodes N                 node count (virtual nodes here without hosts)\n"
"  --nodes MIN:MAX           an elastic job: starts on up to MAX nodes, goes\n"
"                            on while MIN remain (a new generation per change)\n"
"  --join-timeout S          seconds the nodes have to come up (default 600)\n"
"  --host-discovery CMD      elastic: CMD prints 'host:slots' lines; new hosts\n"
"                            join at the next generation (up to MAX)\n"
"  --discovery-interval S    seconds between its runs (default 5)\n"
"  --secret-file F           elastic: the secret for muster --join (read if\n"
"                            there, else written 0600; default RUN/secret)\n"
"  --procs-per-node P        processes per node (or --nproc-per-node)\n"
"  -H, --host, --hosts LIST  hosts and slots: a:4,b:4 or a,a,b or node[01-04]:2\n"
"  --hostfile FILE           lines 'host slots=N'; '#' comments\n"
"Modes:\n"
"  --ps P --workers W        parameter-server mode: TF_CONFIG for every task\n"
"  --chief, --evaluator      add a chief / an evaluator task\n"
"  --mpi                     spawn through Open MPI's mpirun\n"
"  --launcher L              auto (default: slurm inside an allocation, ssh\n"
"                            when other hosts are named, else local), local,\n"
"                            ssh, slurm (srun) or mpi (as --mpi)\n"
"  --rendezvous tcp://H:P    use a running musterd instead of the embedded one\n"
"  --ssh CMD                 how to reach other hosts (default: $MUSTER_SSH,\n"
"                            else 'ssh -T -o BatchMode=yes')\n"
"  --fanout K                the head reaches K hosts, each the next K...\n"
"                            (a tree; default 32, 1 to 1024)\n"
"  --iface NAME|CIDR         the interface (eth1) or network (10.0.0.0/8)\n"
"                            every host advertises (default: $MUSTER_IFACE,\n"
"                            else each host's route toward this one)\n"
"  --remote-muster PATH      muster on other hosts (default: this one's path\n"
"                            when it is there, else muster from their PATH)\n"
"Binding (hwloc):\n"
"  --bind-to WHAT            none, core, l3cache, numa or socket (default:\n"
"                            an equal share of cores per rank, spread over\n"
"                            the NUMA domains; none when ranks > cores)\n"
"  --map-by WHAT             slot, core, numa or socket\n"
"  --gpus-per-proc K         GPUs per rank (default 1 on GPU nodes; 0: none)\n"
"  --topology FILE           plan on this hwloc XML (also $HWLOC_XMLFILE)\n"
"  --report-bindings         print each rank's cores, NUMA node and GPUs\n"
"Pre-flight:\n"
"  --check [HOST...]         check each host (or -H's) and exit: reachable,\n"
"                            same version, the program after '--' runnable,\n"
"                            its address, a free port, clock offset\n"
"  --preflight               run that check first; launch only if all pass\n"
"  --check-timeout S         seconds each host has to answer (default 10)\n"
"Supervision:\n"
"  --timeout S               wall-clock limit: stop all, exit 124\n"
"  --grace S                 seconds between SIGTERM and SIGKILL (default 3)\n"
"  --stall-timeout S         no rank made progress (output) for S seconds:\n"
"                            report it and every rank's stack (default off)\n"
"  --stall-action A          report (default), or abort: then stop, exit 124\n"
"  --max-restarts K          restart the whole job up to K times on failure\n"
"  --log-dir D               per-rank logs D/rank.N.stdout, D/rank.N.stderr\n"
"  --output-dir D            MUSTER_OUTPUT_DIR for every rank\n"
"  --run-dir D               the run record (default ./muster-runs/JOBID)\n"
"  --no-record               keep no run record\n"
"  -q, --quiet               no progress line on the terminal\n"
"  --no-tag                  do not prefix output lines with [rank]\n"
"Environment:\n"
"  -x VAR, -x VAR=VAL        forward or set a variable on every rank\n"
"  --master-addr A           MASTER_ADDR (default: rank 0's host)\n"
"  --master-port P           MASTER_PORT (default: a free port)\n"
"  --job-id ID               job id (default: random)\n"
"torchrun's spellings (aliases):\n"
"  --nnodes N|MIN:MAX        = --nodes\n"
"  --nproc-per-node P        = --procs-per-node\n"
"  --rdzv-endpoint H:P       = --rendezvous tcp://H:P\n"
"  --rdzv-id ID              = --job-id\n"
"Run records (the first word; a program of that name: muster -- show):\n"
"  muster runs [--json]      past runs, newest first, with their metrics\n"
"  muster show ID [--json]   a run: status, each rank, metrics' last and best\n"
"  muster plot ID [METRIC...] [--mean] [-o FILE]\n"
"                            an SVG chart of metrics over steps (per rank,\n"
"                            or their mean)\n"
"  muster compare ID ID...   runs side by side\n"
"  muster stacks [ID]        every rank's stack of a running job (default:\n"
"                            the newest; sends its launcher SIGUSR1)\n"
"  --runs-dir D              where runs are (default $MUSTER_RUNS_DIR, else\n"
"                            ./muster-runs); ID: a name, a unique prefix,\n"
"                            a path, latest or -1 (-2 the one before...)\n"
"Other:\n"
"  --config FILE             the same options as a JSON job spec (Azure ML's\n"
"                            ScriptRunConfig/Estimator names too)\n"
"  --dry-run                 print the plan, one JSON object per rank, exit 0\n"
"  -v, --verbose             say what muster does\n"
"  -h, --help                this help\n"
"  --version                 print the version\n"
"\n"
"Exit status: 0 when every rank succeeded; else the first failed rank's\n"
"code (128+N for signal N); 124 time limit or stall abort; 127 program not\n"
"found; 2 bad usage or bad input.  --check, --preflight: 1 when a host fails.\n", f);
}

void
lch_opts_init(struct lch_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ps = o->workers = -1;
	o->grace = 3.0;
	o->tag = 1;
	o->fanout = LCH_FANOUT_DEFAULT;
	o->check_timeout = 10.0;
	o->gpus_per_proc = -1;
	o->join_timeout = LCH_JOIN_TIMEOUT_DEFAULT;
	o->discovery_interval = LCH_DISCOVERY_INTERVAL_DEFAULT;
	o->slots = -1;
}

void
lch_opts_release(struct lch_opts *o)
{
	free(o->hosts_arg);
	free(o->hostfile);
	free(o->rendezvous);
	free(o->log_dir);
	free(o->output_dir);
	free(o->run_dir);
	free(o->cwd);
	free(o->job_id);
	free(o->config);
	cJSON_Delete(o->spec);
	free(o->master_addr);
	free(o->ssh);
	free(o->iface);
	free(o->remote_muster);
	free(o->topology);
	free(o->dial);
	free(o->host_discovery);
	free(o->join);
	free(o->secret_file);
	if (o->slurm)
		lch_slurm_release(o->slurm);
	free(o->slurm);
	o->slurm = NULL;
	lch_hosts_clear(&o->hosts);
	lch_strv_clear(&o->xvars);
	if (o->argv_owned) {
		while (o->argc > 0)
			free(o->argv[--o->argc]);
		free(o->argv);
	}
	o->argv = NULL;
	o->argv_owned = 0;
}

static const struct opt_def *
find_def(const char *arg, const char **inline_val)
{
	size_t i, len;
	const char *eq = NULL;

	*inline_val = NULL;
	if (strncmp(arg, "--", 2) == 0)
		eq = strchr(arg, '=');
	len = eq ? (size_t)(eq - arg) : strlen(arg);
	for (i = 0; i < NDEFS; i++) {
		if (strlen(opt_defs[i].name) == len &&
		    strncmp(opt_defs[i].name, arg, len) == 0) {
			*inline_val = eq ? eq + 1 : NULL;
			return &opt_defs[i];
		}
	}
	return NULL;
}

/*
 * Seconds over 0, at most max: --check-timeout, --stall-timeout,
 * --join-timeout, --discovery-interval.
 */
static int
set_seconds(const char *from, const char *v, double max, double *out)
{
	if (mst_parse_double(v, 0, max, out) != 0 || *out <= 0) {
		lch_msg("%s '%s': expected seconds (a number over 0, at most "
		    "%.0f)", from, v, max);
		return -1;
	}
	return 0;
}

static int
set_count(const char *what, const char *v, long min, long *out)
{
	if (mst_parse_long(v, min, LCH_NP_MAX, out) != 0) {
		lch_msg("%s '%s': expected a whole number from %ld to %d",
		    what, v, min, LCH_NP_MAX);
		return -1;
	}
	return 0;
}

static void
replace(char **dst, const char *v)
{
	free(*dst);
	*dst = lch_xstrdup(v);
}

static int
valid_xvar(const char *v)
{
	size_t i, n = strcspn(v, "=");

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!(v[i] == '_' || (v[i] >= 'A' && v[i] <= 'Z') ||
		    (v[i] >= 'a' && v[i] <= 'z') ||
		    (i > 0 && v[i] >= '0' && v[i] <= '9')))
			return 0;
	return 1;
}

/* A value longer than max (in unit) is refused, whole, not cut. */
static int
too_long(const char *from, const char *v, size_t max, const char *unit)
{
	if (strlen(v) <= max)
		return 0;
	lch_msg("%s '%.20s...': %zu %s, more than %zu", from, v, strlen(v),
	    unit, max);
	return -1;
}

/* --rendezvous tcp://HOST:PORT: an IPv4 host or name and a port. */
static int
check_endpoint(const char *v, const char *from)
{
	const char *colon = strrchr(v, ':');
	char *host;
	long port;
	int ok;

	if (strncmp(v, "tcp://", 6) != 0 || colon < v + 6) {
		lch_msg("%s '%s': expected tcp://HOST:PORT", from, v);
		return -1;
	}
	host = lch_xasprintf("%.*s", (int)(colon - v - 6), v + 6);
	if (strchr(host, ':') || strchr(host, '[')) {
		lch_msg("%s '%s': " LCH_IPV6_REFUSED, from, v);
		free(host);
		return -1;
	}
	ok = lch_host_valid(host) && mst_parse_long(colon + 1, 1, 65535,
	    &port) == 0;
	free(host);
	if (!ok) {
		lch_msg("%s '%s': expected tcp://HOST:PORT", from, v);
		return -1;
	}
	return too_long(from, v, LCH_ENDPOINT_MAX, "characters");
}

/*
 * --iface: an interface name (at most IFNAMSIZ - 1 characters, no '/',
 * no blank) or a CIDR A.B.C.D/N.  Whether a host has it is its agent's
 * to say (facts.h).
 */
static int
set_iface(struct lch_opts *o, const char *v, const char *from)
{
	unsigned net, mask;
	size_t n = strlen(v);

	if (strchr(v, '/') ? !mst_cidr_parse(v, &net, &mask) :
	    n == 0 || n >= MST_IFNAME_MAX || strcspn(v, " \t\n:") != n ||
	    strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
		lch_msg("%s '%s': expected an interface name (e.g. eth1) or a "
		    "network A.B.C.D/N (e.g. 10.200.0.0/24)", from, v);
		return -1;
	}
	replace(&o->iface, v);
	return 0;
}

/*
 * --nodes N, or MIN:MAX (an elastic job, elastic.h): 1 <= MIN <= MAX;
 * N alone is a fixed count (nodes_min stays 0).
 */
static int
set_nodes(struct lch_opts *o, const char *v, const char *from)
{
	const char *colon = strchr(v, ':');
	char *min;
	int bad;

	if (colon == NULL) {
		o->nodes_min = o->nodes_max = 0;
		return set_count(from, v, 1, &o->nodes);
	}
	min = lch_xasprintf("%.*s", (int)(colon - v), v);
	bad = mst_parse_long(min, 1, LCH_NP_MAX, &o->nodes_min) != 0 ||
	    mst_parse_long(colon + 1, 1, LCH_NP_MAX, &o->nodes_max) != 0 ||
	    o->nodes_max < o->nodes_min;
	free(min);
	if (bad) {
		o->nodes_min = o->nodes_max = 0;
		lch_msg("%s '%s': expected N or MIN:MAX, whole numbers with 1 "
		    "<= MIN <= MAX <= %d", from, v, LCH_NP_MAX);
		return -1;
	}
	o->nodes = o->nodes_max;
	return 0;
}

/* torchrun's --rdzv-endpoint HOST:PORT: --rendezvous tcp://HOST:PORT. */
static int
set_rdzv_endpoint(struct lch_opts *o, const char *v, const char *from)
{
	char *ep = strncmp(v, "tcp://", 6) == 0 ? lch_xstrdup(v) :
	    lch_xasprintf("tcp://%s", v);
	int rc = check_endpoint(ep, from);

	if (rc == 0)
		replace(&o->rendezvous, ep);
	free(ep);
	return rc;
}

/* Applies one option; from names where the value came from (for errors). */
static int
apply(struct lch_opts *o, const struct opt_def *d, const char *v,
      const char *from)
{
	char err[512];
	double max;

	switch (d->id) {
	case O_NP:	return set_count(from, v, 1, &o->np);
	case O_NODES:	return set_nodes(o, v, from);
	case O_JOIN_TIMEOUT:
	case O_DISC_INTERVAL:
		return set_seconds(from, v, LCH_TIMEOUT_MAX,
		    d->id == O_JOIN_TIMEOUT ? &o->join_timeout :
		    &o->discovery_interval);
	case O_DISCOVERY:
		if (v[strspn(v, " \t")] == '\0') {
			lch_msg("%s '%s': expected a command that prints "
			    "'host:slots' lines", from, v);
			return -1;
		}
		replace(&o->host_discovery, v);
		return 0;
	case O_RDZV_EP:
		return set_rdzv_endpoint(o, v, from);
	case O_PPN:	return set_count(from, v, 1, &o->ppn);
	case O_PS:	return set_count(from, v, 0, &o->ps);
	case O_WORKERS:	return set_count(from, v, 0, &o->workers);
	case O_RESTARTS: return set_count(from, v, 0, &o->max_restarts);
	case O_HOSTS:
		replace(&o->hosts_arg, v);
		if (lch_hosts_parse_arg(&o->hosts, v, err, sizeof(err)) != 0) {
			lch_msg("%s: %s", from, err);
			return -1;
		}
		return 0;
	case O_HOSTFILE: replace(&o->hostfile, v); return 0;
	case O_CHIEF:	o->chief = 1; return 0;
	case O_EVALUATOR: o->evaluator = 1; return 0;
	case O_MPI:	o->mpi = 1; return 0;
	case O_DRY:	o->dry_run = 1; return 0;
	case O_NOTAG:	o->tag = 0; return 0;
	case O_VERBOSE:	o->verbose = 1; return 0;
	case O_RDV:
		if (check_endpoint(v, from) != 0)
			return -1;
		replace(&o->rendezvous, v);
		return 0;
	case O_TIMEOUT:
	case O_GRACE:
		max = d->id == O_TIMEOUT ? LCH_TIMEOUT_MAX : LCH_GRACE_MAX;
		if (mst_parse_double(v, 0, max, d->id == O_TIMEOUT ?
		    &o->timeout : &o->grace) != 0) {
			lch_msg("%s '%s': expected seconds (a number from 0 to "
			    "%.0f)", from, v, max);
			return -1;
		}
		return 0;
	case O_STALL:
		return set_seconds(from, v, LCH_TIMEOUT_MAX, &o->stall_timeout);
	case O_STALL_ACTION:
		if (strcmp(v, "report") != 0 && strcmp(v, "abort") != 0) {
			lch_msg("%s '%s': expected report or abort", from, v);
			return -1;
		}
		o->stall_abort = strcmp(v, "abort") == 0;
		return 0;
	case O_LOGDIR:
	case O_OUTDIR:
		if (too_long(from, v, LCH_DIR_MAX, "bytes") != 0)
			return -1;
		replace(d->id == O_LOGDIR ? &o->log_dir : &o->output_dir, v);
		return 0;
	case O_RUNDIR:
		if (v[0] == '\0') {
			lch_msg("%s '': expected a directory", from);
			return -1;
		}
		if (too_long(from, v, LCH_DIR_MAX, "bytes") != 0)
			return -1;
		replace(&o->run_dir, v);
		return 0;
	case O_NORECORD: o->no_record = 1; return 0;
	case O_QUIET:	o->quiet = 1; return 0;
	case O_JOBID:
		if (!lch_host_valid(v) || strchr(v, ':')) {
			lch_msg("%s '%s': expected letters, digits, '-', '.' "
			    "or '_'", from, v);
			return -1;
		}
		if (too_long(from, v, LCH_JOB_ID_MAX, "characters") != 0)
			return -1;
		replace(&o->job_id, v);
		return 0;
	case O_X:
		if (!valid_xvar(v)) {
			lch_msg("%s '%s': expected VAR or VAR=VALUE", from, v);
			return -1;
		}
		if (strlen(v) > LCH_ENV_MAX) {
			lch_msg("%s: %.*s=... is %zu bytes, more than the %d "
			    "Linux passes in one variable", from,
			    (int)strcspn(v, "="), v, strlen(v), LCH_ENV_MAX);
			return -1;
		}
		lch_strv_push(&o->xvars, v);
		return 0;
	case O_CONFIG:	replace(&o->config, v); return 0;
	case O_SSH:
		if (v[strspn(v, " \t")] == '\0') {
			lch_msg("%s '%s': expected a command, e.g. 'ssh -F "
			    "FILE'", from, v);
			return -1;
		}
		replace(&o->ssh, v);
		return 0;
	case O_FANOUT:
		if (mst_parse_long(v, 1, LCH_FANOUT_MAX, &o->fanout) != 0) {
			lch_msg("%s '%s': expected a whole number from 1 to %d",
			    from, v, LCH_FANOUT_MAX);
			return -1;
		}
		return 0;
	case O_IFACE:
		return set_iface(o, v, from);
	case O_MADDR:
		if (lch_host_is_ipv6(v)) {
			lch_msg("%s '%s': " LCH_IPV6_REFUSED, from, v);
			return -1;
		}
		if (!lch_host_valid(v)) {
			lch_msg("%s '%s': expected a host name or address",
			    from, v);
			return -1;
		}
		replace(&o->master_addr, v);
		return 0;
	case O_MPORT:
		if (mst_parse_long(v, 1, 65535, &o->master_port) != 0) {
			lch_msg("%s '%s': expected a port from 1 to 65535",
			    from, v);
			return -1;
		}
		return 0;
	case O_CHECK:	o->mode = LCH_CHECK; return 0;
	case O_PREFLIGHT: o->preflight = 1; return 0;
	case O_CHECK_TIMEOUT:
		return set_seconds(from, v, LCH_CHECK_TIMEOUT_MAX,
		    &o->check_timeout);
	case O_RMUSTER:
		if (v[0] == '\0') {
			lch_msg("%s '': expected the path of muster on the "
			    "other hosts", from);
			return -1;
		}
		replace(&o->remote_muster, v);
		return 0;
	case O_LAUNCHER:
		if (lch_launcher_parse(v, &o->launcher) != 0) {
			lch_msg("%s '%s': expected auto, local, ssh, slurm or "
			    "mpi", from, v);
			return -1;
		}
		return 0;
	case O_BIND:
		if (lch_bind_parse(v, &o->bind, err, sizeof(err)) != 0) {
			lch_msg("%s '%s': expected none, core, l3cache, numa "
			    "or socket", from, v);
			return -1;
		}
		return 0;
	case O_MAP:
		if (lch_map_parse(v, &o->map, err, sizeof(err)) != 0) {
			lch_msg("%s '%s': expected slot, core, numa or socket",
			    from, v);
			return -1;
		}
		return 0;
	case O_GPP:
		if (mst_parse_long(v, 0, LCH_GPP_MAX, &o->gpus_per_proc) != 0) {
			lch_msg("%s '%s': expected a whole number from 0 to %d",
			    from, v, LCH_GPP_MAX);
			return -1;
		}
		return 0;
	case O_TOPO:
		if (v[0] == '\0') {
			lch_msg("%s '': expected an hwloc XML file", from);
			return -1;
		}
		replace(&o->topology, v);
		return 0;
	case O_REPORT:	o->report_bindings = 1; return 0;
	case O_DIAL:	replace(&o->dial, v); return 0;
	case O_JOIN:
		o->mode = LCH_JOIN;
		replace(&o->join, v);
		return 0;
	case O_SECRET_FILE:
		if (v[0] == '\0') {
			lch_msg("%s '': expected a file", from);
			return -1;
		}
		replace(&o->secret_file, v);
		return 0;
	case O_SLOTS:
		if (mst_parse_long(v, 1, LCH_SLOTS_MAX, &o->slots) != 0) {
			lch_msg("%s '%s': expected a whole number from 1 to "
			    "%d", from, v, LCH_SLOTS_MAX);
			return -1;
		}
		return 0;
	case O_HELP:	o->mode = LCH_HELP; return 0;
	case O_VERSION:	o->mode = LCH_VERSION; return 0;
	case O_AGENT:	o->mode = LCH_AGENT; return 0;
	case O_MPIRANK:	o->mode = LCH_MPI_RANK; return 0;
	}
	return -1;
}

int
lch_opts_parse(struct lch_opts *o, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		const struct opt_def *d;

		if (strcmp(a, "--") == 0) {
			i++;
			o->dashdash = 1;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if ((d = find_def(a, &v)) == NULL) {
			lch_msg("unknown option '%s' (try 'muster --help')", a);
			return -1;
		}
		if (!d->arg && v) {
			lch_msg("option '%s' takes no value", d->name);
			return -1;
		}
		if (d->arg && !v) {
			if (i + 1 >= argc) {
				lch_msg("option '%s' needs a value", a);
				return -1;
			}
			v = argv[++i];
		}
		o->set |= 1ull << (d->id == O_RDZV_EP ? O_RDV : d->id);
		if (apply(o, d, v ? v : "", d->name) != 0)
			return -1;
	}
	o->argv = argv + i;
	o->argc = argc - i;
	return 0;
}

/* A config value as the option string it stands for (malloc'ed), or NULL. */
static char *
config_value(const cJSON *it, const struct opt_def *d)
{
	double v;

	if (!d->arg)
		return cJSON_IsBool(it) ? lch_xstrdup(cJSON_IsTrue(it) ? "1" :
		    "0") : NULL;
	if (cJSON_IsString(it))
		return lch_xstrdup(it->valuestring);
	if (!cJSON_IsNumber(it))
		return NULL;
	v = it->valuedouble;
	if (d->id == O_TIMEOUT || d->id == O_GRACE || d->id == O_STALL)
		return lch_xasprintf("%.17g", v);
	if (!isfinite(v) || floor(v) != v)
		return NULL;
	/* beyond what a long holds exactly: as written, for the range message */
	if (fabs(v) > 1e15)
		return lch_xasprintf("%.17g", v);
	return lch_xasprintf("%ld", (long)v);
}

/* One member of the config's "env" object: NAME, its value a string. */
static int
config_env(struct lch_opts *o, const struct opt_def *d, const cJSON *e,
	   const char *from)
{
	char *kv;
	int rc;

	if (!cJSON_IsString(e)) {
		lch_msg("%s: value of \"%s\" must be a string", from, e->string);
		return -1;
	}
	if (strchr(e->string, '=') || !valid_xvar(e->string)) {
		lch_msg("%s: \"%s\": expected a variable name (letters, "
		    "digits and '_', not first a digit)", from, e->string);
		return -1;
	}
	kv = lch_xasprintf("%s=%s", e->string, e->valuestring);
	rc = apply(o, d, kv, from);
	free(kv);
	return rc;
}

/* Orders "NAME=VALUE" and "NAME" strings by NAME. */
static int
by_var(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
	int c = strncmp(x, y, nx < ny ? nx : ny);

	return c ? c : (nx > ny) - (nx < ny);
}

/*
 * A config "env" list that names a variable twice, as an object could:
 * one of the two would silently win.  Length of the name, or 0.
 */
static size_t
env_list_dup(const cJSON *list, const char **name)
{
	const cJSON *e;
	const char **v;
	size_t n = 0, i, len = 0;

	cJSON_ArrayForEach(e, list)
		n++;
	v = lch_xcalloc(n, sizeof(*v));
	n = 0;
	cJSON_ArrayForEach(e, list)
		if (cJSON_IsString(e))
			v[n++] = e->valuestring;
	qsort(v, n, sizeof(*v), by_var);
	for (i = 1; i < n && len == 0; i++)
		if (by_var(&v[i - 1], &v[i]) == 0) {
			*name = v[i];
			len = strcspn(v[i], "=");
		}
	free(v);
	return len;
}

/* The option a config key stands for, or NULL. */
static const struct opt_def *
key_def(const char *key)
{
	size_t i;

	for (i = 0; i < NDEFS; i++)
		if (opt_defs[i].key && strcmp(opt_defs[i].key, key) == 0)
			return &opt_defs[i];
	return NULL;
}

static int config_apply(struct lch_opts *o, const struct opt_def *d,
			const cJSON *it, const char *path, const char *label);

static int
config_item(struct lch_opts *o, const cJSON *it, const char *path)
{
	const struct opt_def *d = key_def(it->string);

	if (d == NULL) {
		lch_msg("config '%s': unknown key \"%s\"", path, it->string);
		return -1;
	}
	return config_apply(o, d, it, path, it->string);
}

/* Applies config value it to option d; label names it in messages. */
static int
config_apply(struct lch_opts *o, const struct opt_def *d, const cJSON *it,
	     const char *path, const char *label)
{
	const char *dup;
	char *from, *val;
	const cJSON *e;
	size_t i;
	int rc = -1;

	if (o->set & (1ull << d->id))
		return 0;	/* the command line wins */
	from = lch_xasprintf("config '%s': \"%s\"", path, label);
	if (d->id == O_X && cJSON_IsObject(it)) {
		rc = 0;
		cJSON_ArrayForEach(e, it)
			if ((rc = config_env(o, d, e, from)) != 0)
				break;
	} else if (d->id == O_X && cJSON_IsArray(it) &&
	    (i = env_list_dup(it, &dup)) > 0) {
		lch_msg("%s: \"%.*s\" is set twice", from, (int)i, dup);
	} else if ((d->id == O_X || d->id == O_HOSTS) && cJSON_IsArray(it)) {
		rc = 0;
		cJSON_ArrayForEach(e, it) {
			if (!cJSON_IsString(e)) {
				lch_msg("%s: expected strings", from);
				rc = -1;
			} else {
				rc = apply(o, d, e->valuestring, from);
			}
			if (rc != 0)
				break;
		}
	} else if ((val = config_value(it, d)) == NULL) {
		lch_msg("%s: expected %s", from, !d->arg ? "true or false" :
		    d->id == O_X ? "an object or a list of strings" :
		    "a string or a whole number");
	} else {
		rc = !d->arg && strcmp(val, "0") == 0 ? 0 :
		    apply(o, d, val, from);
		free(val);
	}
	free(from);
	return rc;
}

static int
config_program(struct lch_opts *o, const cJSON *prog, const char *path)
{
	const cJSON *e;
	int n = 0;

	if (o->argc > 0)
		return 0;	/* the command line's program wins */
	if (!cJSON_IsArray(prog) || cJSON_GetArraySize(prog) == 0) {
		lch_msg("config '%s': \"program\" must be a non-empty list "
		    "of strings", path);
		return -1;
	}
	o->argv = lch_xcalloc((size_t)cJSON_GetArraySize(prog) + 1,
	    sizeof(char *));
	o->argv_owned = 1;
	o->argc = 0;	/* counts what lch_opts_release frees */
	cJSON_ArrayForEach(e, prog) {
		if (!cJSON_IsString(e)) {
			lch_msg("config '%s': \"program\" must be a list of "
			    "strings", path);
			return -1;
		}
		if (strlen(e->valuestring) > LCH_ENV_MAX) {
			lch_msg("config '%s': \"program\" word %d is %zu bytes, "
			    "more than the %d Linux passes in one argument",
			    path, n, strlen(e->valuestring), LCH_ENV_MAX);
			return -1;
		}
		o->argv[n++] = lch_xstrdup(e->valuestring);
		o->argc = n;
	}
	return 0;
}

/*
 * The config file's text, NUL-terminated: a regular file of at most
 * CONFIG_MAX bytes.  Opened without blocking, so that a FIFO or a device
 * is refused instead of waited on.
 */
static char *
config_text(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n = 0;
	int fd, e = 0;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) < 0) {
		lch_msg("config '%s': %s", path, strerror(errno));
		return NULL;
	}
	buf = lch_xmalloc(CONFIG_MAX + 2);
	*len = 0;
	/* not a regular file, or too big: nothing read, as if over the bound */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONFIG_MAX)
		*len = CONFIG_MAX + 1;
	/* up to a byte more than allowed: the file may grow meanwhile */
	while (*len <= CONFIG_MAX) {
		n = read(fd, buf + *len, CONFIG_MAX + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	e = n < 0 ? errno : 0;
	close(fd);
	if (e || *len > CONFIG_MAX) {
		if (e)
			lch_msg("config '%s': %s", path, strerror(e));
		else
			lch_msg("config '%s': expected a regular file under %d "
			    "bytes", path, CONFIG_MAX);
		free(buf);
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

/* Where JSON text holds a \u0000 escape (cJSON would cut its string), or -1. */
static long
nul_escape_at(const char *s, size_t len)
{
	size_t i;
	int in_str = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			in_str = !in_str;
		else if (in_str && s[i] == '\\') {
			if (i + 6 <= len && strncmp(s + i + 1, "u0000", 5) == 0)
				return (long)i;
			i++;	/* the escaped character */
		}
	}
	return -1;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string,
	    (*(const cJSON *const *)b)->string);
}

/*
 * Refuses an object, at any depth, that names a key twice: cJSON keeps
 * both, and one of them would silently win.  Sorted, so linear-ish.
 */
static int
check_dups(const cJSON *node, const char *path)
{
	const cJSON *c, **v;
	size_t n = 0, i;
	int rc = 0;

	cJSON_ArrayForEach(c, node)
		if ((cJSON_IsObject(c) || cJSON_IsArray(c)) &&
		    check_dups(c, path) != 0)
			return -1;
	if (!cJSON_IsObject(node))
		return 0;
	cJSON_ArrayForEach(c, node)
		n++;
	v = lch_xcalloc(n, sizeof(*v));
	n = 0;
	cJSON_ArrayForEach(c, node)
		v[n++] = c;
	qsort(v, n, sizeof(*v), by_name);
	for (i = 1; i < n && rc == 0; i++)
		if (strcmp(v[i - 1]->string, v[i]->string) == 0) {
			if (node->string)
				lch_msg("config '%s': \"%s\": duplicate key "
				    "\"%s\"", path, node->string, v[i]->string);
			else
				lch_msg("config '%s': duplicate key \"%s\"",
				    path, v[i]->string);
			rc = -1;
		}
	free(v);
	return rc;
}

/* Parses the text: one JSON object, nothing after it, no NUL in it. */
static cJSON *
config_parse(const char *buf, size_t len, const char *path)
{
	const char *end = NULL, *nul = memchr(buf, '\0', len);
	cJSON *root;
	long at;

	if (nul) {
		lch_msg("config '%s': NUL byte at byte %ld", path,
		    (long)(nul - buf));
		return NULL;
	}
	if ((root = cJSON_ParseWithLengthOpts(buf, len, &end, 0)) == NULL) {
		lch_msg("config '%s': invalid JSON at byte %ld", path,
		    end ? (long)(end - buf) : 0L);
		return NULL;
	}
	end += strspn(end, " \t\r\n");
	if (end < buf + len)
		lch_msg("config '%s': unexpected text after the JSON value at "
		    "byte %ld", path, (long)(end - buf));
	else if ((at = nul_escape_at(buf, len)) >= 0)
		lch_msg("config '%s': \\u0000 at byte %ld (a string cannot "
		    "hold a NUL)", path, at);
	else if (!cJSON_IsObject(root))
		lch_msg("config '%s': expected a JSON object", path);
	else if (check_dups(root, path) == 0)
		return root;
	cJSON_Delete(root);
	return NULL;
}

/*
 * Azure ML's names in a --config file (ScriptRunConfig, Estimator and
 * their distributed configurations; man/muster.1 "Azure ML job specs"),
 * each mapped to a muster key.  The same thing said twice (node_count
 * and nodes) must agree; keys that only matter on Azure are noted with
 * -v and ignored.
 */
enum az_type { AZ_NONE, AZ_MPI, AZ_PS, AZ_TORCH };

static const struct az_key {
	int type;		/* AZ_NONE: at the top of the file */
	const char *az, *key;
} az_keys[] = {
	{ AZ_NONE, "node_count", "nodes" },
	{ AZ_NONE, "process_count_per_node", "procs_per_node" },
	{ AZ_NONE, "max_run_duration_seconds", "timeout" },
	{ AZ_NONE, "environment_variables", "env" },
	{ AZ_MPI, "process_count_per_node", "procs_per_node" },
	{ AZ_MPI, "node_count", "nodes" },
	{ AZ_PS, "worker_count", "workers" },
	{ AZ_PS, "parameter_server_count", "ps" },
	{ AZ_PS, "node_count", "nodes" },
	{ AZ_TORCH, "process_count", "np" },
	{ AZ_TORCH, "node_count", "nodes" },
};
#define NAZ (sizeof(az_keys) / sizeof(az_keys[0]))

/* read elsewhere in read_azure, or only noted */
static const char *const az_other[] = { "script", "arguments",
    "entry_script", "script_params", "source_directory",
    "distributed_training", "distributed_job_config" };
static const char *const az_ignored[] = { "compute_target", "environment",
    "docker", "framework", "framework_version", "conda_packages",
    "pip_packages", "conda_dependencies_file", "pip_requirements_file",
    "use_gpu", "use_docker", "custom_docker_image", "shm_size", "inputs",
    "experiment_name", "display_name", "description", "tags" };
static const char *const az_type_keys[] = { "type",
    "_distributed_training_type", "distributed_training_type" };

static int
in_list(const char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}
#define IN_LIST(v, s) in_list((v), sizeof(v) / sizeof((v)[0]), (s))

/* Whether read_config leaves key to read_azure. */
static int
azure_key(const char *key)
{
	size_t i;

	for (i = 0; i < NAZ; i++)
		if (az_keys[i].type == AZ_NONE && strcmp(az_keys[i].az, key) == 0)
			return 1;
	return IN_LIST(az_other, key) || IN_LIST(az_ignored, key);
}

/* One value for a muster key, as named in the file. */
struct az_ent {
	char *label;		/* "node_count", "distributed_job_config.node_count" */
	const struct opt_def *d;
	const cJSON *v;
};

struct az_map {
	struct az_ent *e;
	size_t n, cap;
	cJSON *made;		/* values made here (defaults), owned */
	struct lch_strbuf ignored;	/* for the -v note */
};

static void
az_add(struct az_map *m, const char *label, const char *key, const cJSON *v)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 8;
		m->e = lch_xrealloc(m->e, m->cap * sizeof(*m->e));
	}
	m->e[m->n].label = lch_xstrdup(label);
	m->e[m->n].d = key_def(key);
	m->e[m->n++].v = v;
}

static void
az_release(struct az_map *m)
{
	while (m->n > 0)
		free(m->e[--m->n].label);
	free(m->e);
	cJSON_Delete(m->made);
	lch_strbuf_release(&m->ignored);
}

static void
az_ignore(struct az_map *m, const char *key)
{
	lch_strbuf_addf(&m->ignored, "%s%s", m->ignored.len ? ", " : "", key);
}

/* "mpi", "MpiConfiguration", "parameter_server", "PyTorch"...: a type. */
static enum az_type
az_type_of(const char *s)
{
	char t[64];
	size_t n = 0;

	for (; *s && n + 1 < sizeof(t); s++)
		if (*s != '_' && *s != '-' && *s != ' ')
			t[n++] = (char)tolower((unsigned char)*s);
	t[n] = '\0';
	if (n > 13 && strcmp(t + n - 13, "configuration") == 0)
		t[n - 13] = '\0';
	if (strcmp(t, "mpi") == 0 || strcmp(t, "horovod") == 0)
		return AZ_MPI;
	if (strcmp(t, "parameterserver") == 0 || strcmp(t, "ps") == 0 ||
	    strcmp(t, "tensorflow") == 0)
		return AZ_PS;
	if (strcmp(t, "pytorch") == 0 || strcmp(t, "torch") == 0)
		return AZ_TORCH;
	return AZ_NONE;
}

/* The type a distributed object names, else what its keys imply. */
static enum az_type
az_dist_type(const cJSON *dj, const char *path, int *bad)
{
	const cJSON *t = NULL;
	size_t i;

	*bad = 0;
	if (cJSON_IsString(dj))
		t = dj;
	for (i = 0; !t && i < sizeof(az_type_keys) / sizeof(az_type_keys[0]);
	    i++)
		t = cJSON_GetObjectItemCaseSensitive(dj, az_type_keys[i]);
	if (t && (!cJSON_IsString(t) || az_type_of(t->valuestring) ==
	    AZ_NONE)) {
		lch_msg("config '%s': \"%s\": type %s%s%s: expected mpi, "
		    "parameter_server or pytorch", path, dj->string,
		    cJSON_IsString(t) ? "'" : "", cJSON_IsString(t) ?
		    t->valuestring : "(not a string)", cJSON_IsString(t) ?
		    "'" : "");
		*bad = 1;
		return AZ_NONE;
	}
	if (t)
		return az_type_of(t->valuestring);
	if (cJSON_GetObjectItemCaseSensitive(dj, "worker_count") ||
	    cJSON_GetObjectItemCaseSensitive(dj, "parameter_server_count"))
		return AZ_PS;
	return cJSON_GetObjectItemCaseSensitive(dj, "process_count") ?
	    AZ_TORCH : AZ_MPI;
}

/* One member of the distributed object: mapped, noted, or refused. */
static int
az_dist_member(struct az_map *m, const cJSON *dj, const cJSON *c,
	       enum az_type type, const char *path)
{
	static const char *const tname[] = { "", "mpi", "parameter_server",
	    "pytorch" };
	char *label;
	size_t i;

	if (IN_LIST(az_type_keys, c->string))
		return 0;
	if (strcmp(c->string, "communication_backend") == 0 ||
	    strcmp(c->string, "backend") == 0) {
		label = lch_xasprintf("%s.%s", dj->string, c->string);
		az_ignore(m, label);
		free(label);
		return 0;
	}
	for (i = 0; i < NAZ; i++)
		if ((int)type == az_keys[i].type &&
		    strcmp(az_keys[i].az, c->string) == 0) {
			label = lch_xasprintf("%s.%s", dj->string, c->string);
			az_add(m, label, az_keys[i].key, c);
			free(label);
			return 0;
		}
	lch_msg("config '%s': \"%s\": unknown key \"%s\" for type %s",
	    path, dj->string, c->string, tname[type]);
	return -1;
}

/* distributed_training / distributed_job_config: a type and its counts. */
static int
az_distributed(struct az_map *m, const cJSON *root, const char *path)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root,
	    "distributed_training"), *c;
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(root,
	    "distributed_job_config"), *dj = a ? a : b;
	enum az_type type;
	int bad;

	if (a && b) {
		lch_msg("config '%s': give \"distributed_training\" or "
		    "\"distributed_job_config\", not both", path);
		return -1;
	}
	if (dj == NULL)
		return 0;
	if (!cJSON_IsObject(dj) && !cJSON_IsString(dj)) {
		lch_msg("config '%s': \"%s\": expected an object, e.g. "
		    "{\"type\": \"mpi\", \"process_count_per_node\": 2}", path,
		    dj->string);
		return -1;
	}
	if ((type = az_dist_type(dj, path, &bad)) == AZ_NONE)
		return bad ? -1 : 0;
	cJSON_ArrayForEach(c, (cJSON_IsObject(dj) ? dj : NULL))
		if (az_dist_member(m, dj, c, type, path) != 0)
			return -1;
	/* TensorflowConfiguration's defaults: a worker and a server */
	if (type == AZ_PS && !cJSON_GetObjectItemCaseSensitive(dj,
	    "worker_count") && !cJSON_GetObjectItemCaseSensitive(dj,
	    "parameter_server_count")) {
		m->made = cJSON_CreateArray();
		cJSON_AddItemToArray(m->made, cJSON_CreateNumber(1));
		az_add(m, "distributed type parameter_server (1 worker)",
		    "workers", cJSON_GetArrayItem(m->made, 0));
		az_add(m, "distributed type parameter_server (1 server)", "ps",
		    cJSON_GetArrayItem(m->made, 0));
	}
	return 0;
}

/* A config value as a string for comparing, or NULL. */
static char *
az_text(const struct az_ent *e)
{
	char *s;

	if (e->d->id != O_X)
		return config_value(e->v, e->d);
	if ((s = cJSON_PrintUnformatted(e->v)) == NULL)
		lch_oom();
	return s;
}

/* Two names for one muster key that say different things: one line. */
static int
az_conflicts(const struct az_map *m, const char *path)
{
	size_t i, k;
	char *a, *b;
	int rc = 0;

	for (i = 0; i < m->n && rc == 0; i++)
		for (k = i + 1; k < m->n && rc == 0; k++) {
			if (m->e[i].d != m->e[k].d ||
			    m->e[i].d->id == O_X)
				continue;
			a = az_text(&m->e[i]);
			b = az_text(&m->e[k]);
			if (a && b && strcmp(a, b) != 0) {
				lch_msg("config '%s': \"%s\" %s and \"%s\" %s "
				    "differ (give one)", path, m->e[i].label,
				    a, m->e[k].label, b);
				rc = -1;
			}
			free(a);
			free(b);
		}
	return rc;
}

/* An env value: NAME's in an object or a list of NAME=VALUE, or NULL. */
static const char *
env_value(const cJSON *env, const char *name)
{
	const cJSON *e;
	size_t n = strlen(name);

	if (cJSON_IsObject(env)) {
		e = cJSON_GetObjectItemCaseSensitive(env, name);
		return cJSON_IsString(e) ? e->valuestring : NULL;
	}
	cJSON_ArrayForEach(e, env)
		if (cJSON_IsString(e) && strncmp(e->valuestring, name, n) == 0 &&
		    e->valuestring[n] == '=')
			return e->valuestring + n + 1;
	return NULL;
}

/* "env" and "environment_variables" setting one variable two ways. */
static int
az_env_conflict(const cJSON *root, const char *path)
{
	const cJSON *az = cJSON_GetObjectItemCaseSensitive(root,
	    "environment_variables");
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(root, "env"), *e;
	const char *v;

	if (!az || !env)
		return 0;
	cJSON_ArrayForEach(e, (cJSON_IsObject(az) ? az : NULL))
		if (cJSON_IsString(e) && (v = env_value(env, e->string)) &&
		    strcmp(v, e->valuestring) != 0) {
			lch_msg("config '%s': \"environment_variables\" %s=%s "
			    "and \"env\" %s=%s differ (give one)", path,
			    e->string, e->valuestring, e->string, v);
			return -1;
		}
	return 0;
}

/* An argument as Python's str() writes it (Azure passes str(arg)). */
static char *
az_word(const cJSON *v)
{
	char buf[40];
	double d;
	int p;

	if (cJSON_IsString(v))
		return lch_xstrdup(v->valuestring);
	if (cJSON_IsBool(v))
		return lch_xstrdup(cJSON_IsTrue(v) ? "True" : "False");
	if (!cJSON_IsNumber(v))
		return NULL;
	d = v->valuedouble;
	if (floor(d) == d && fabs(d) < 1e15)
		return lch_xasprintf("%.0f", d);
	for (p = 15; p <= 17; p++) {	/* the shortest that reads back */
		snprintf(buf, sizeof(buf), "%.*g", p, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return lch_xstrdup(buf);
}

/* Pushes an argument; -1 after a message when it is no string, number or bool. */
static int
az_push_word(struct lch_strv *v, const cJSON *w, const char *path,
	     const char *what)
{
	char *s = az_word(w);

	if (s == NULL) {
		lch_msg("config '%s': %s: expected a string, a number or true/"
		    "false", path, what);
		return -1;
	}
	if (strlen(s) > LCH_ENV_MAX) {
		lch_msg("config '%s': %s is %zu bytes, more than the %d Linux "
		    "passes in one argument", path, what, strlen(s),
		    LCH_ENV_MAX);
		free(s);
		return -1;
	}
	lch_strv_push(v, s);
	free(s);
	return 0;
}

/* "arguments" (a list) and "script_params" ({"--flag": value}) as words. */
static int
az_args(struct lch_strv *v, const cJSON *args, const cJSON *params,
	const char *path)
{
	const cJSON *a;
	char *what;
	int i = 0, rc = 0;

	if (args && !cJSON_IsArray(args)) {
		lch_msg("config '%s': \"arguments\": expected a list", path);
		return -1;
	}
	if (params && !cJSON_IsObject(params)) {
		lch_msg("config '%s': \"script_params\": expected an object "
		    "{\"--flag\": value}", path);
		return -1;
	}
	cJSON_ArrayForEach(a, args) {
		what = lch_xasprintf("\"arguments\" item %d", i++);
		rc = az_push_word(v, a, path, what);
		free(what);
		if (rc != 0)
			return -1;
	}
	cJSON_ArrayForEach(a, params) {
		lch_strv_push(v, a->string);
		if (cJSON_IsNull(a))
			continue;	/* a flag alone */
		what = lch_xasprintf("\"script_params\" \"%s\"", a->string);
		rc = az_push_word(v, a, path, what);
		free(what);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* The script as the program: python3 SCRIPT for a .py, else SCRIPT. */
static int
az_script(struct lch_opts *o, const cJSON *script, const cJSON *args,
	  const cJSON *params, const char *path)
{
	struct lch_strv v = LCH_STRV_INIT;
	const char *s = cJSON_IsString(script) ? script->valuestring : "";
	size_t n = strlen(s);

	if (n == 0) {
		lch_msg("config '%s': \"%s\": expected the script's file name "
		    "(e.g. \"train.py\")", path, script->string);
		return -1;
	}
	if (n > 3 && strcmp(s + n - 3, ".py") == 0)
		lch_strv_push(&v, "python3");
	if (o->cwd && s[0] != '/')
		lch_strv_pushf(&v, "%s/%s", o->cwd, s);
	else if (!strchr(s, '/') && v.n == 0)
		lch_strv_pushf(&v, "./%s", s);	/* a file here, not in PATH */
	else
		lch_strv_push(&v, s);
	if (az_args(&v, args, params, path) != 0) {
		lch_strv_clear(&v);
		return -1;
	}
	o->argv = v.v;
	o->argc = (int)v.n;
	o->argv_owned = 1;
	return 0;
}

/* source_directory: the ranks' folder, from the config file's folder. */
static int
az_source_dir(struct lch_opts *o, const cJSON *src, const char *path)
{
	const char *slash = strrchr(path, '/'), *s;
	char *full, *real;
	struct stat st;

	if (!cJSON_IsString(src) || src->valuestring[0] == '\0') {
		lch_msg("config '%s': \"source_directory\": expected a "
		    "directory", path);
		return -1;
	}
	s = src->valuestring;
	full = s[0] == '/' || !slash ? lch_xstrdup(s) :
	    lch_xasprintf("%.*s/%s", (int)(slash - path), path, s);
	real = realpath(full, NULL);
	if (real == NULL || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
		lch_msg("config '%s': \"source_directory\" '%s': %s", path,
		    full, real ? "not a directory" : strerror(errno));
		free(full);
		free(real);
		return -1;
	}
	free(full);
	free(o->cwd);
	o->cwd = real;
	return 0;
}

/* script + arguments, entry_script + script_params, source_directory. */
static int
az_program(struct lch_opts *o, const cJSON *root, const char *path)
{
	const cJSON *script = cJSON_GetObjectItemCaseSensitive(root, "script");
	const cJSON *entry = cJSON_GetObjectItemCaseSensitive(root,
	    "entry_script");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(root, "arguments");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(root,
	    "script_params");
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(root,
	    "source_directory");
	const char *what = args ? "arguments" : "script_params";

	if (src && az_source_dir(o, src, path) != 0)
		return -1;
	if (script && entry) {
		lch_msg("config '%s': give \"script\" or \"entry_script\", not "
		    "both", path);
		return -1;
	}
	if (!script && !entry && (args || params)) {
		lch_msg("config '%s': \"%s\" without \"script\" or "
		    "\"entry_script\"", path, what);
		return -1;
	}
	if (!script && !entry)
		return 0;
	if (cJSON_GetObjectItemCaseSensitive(root, "program")) {
		lch_msg("config '%s': give \"program\" or \"%s\", not both",
		    path, script ? "script" : "entry_script");
		return -1;
	}
	if (o->argc > 0)
		return 0;	/* the command line's program wins */
	return az_script(o, script ? script : entry, args, params, path);
}

/* The top-level names; what is only noted. */
static void
az_top(struct az_map *m, const cJSON *root)
{
	const cJSON *it;
	size_t i;

	for (i = 0; i < NAZ; i++)
		if (az_keys[i].type == AZ_NONE && (it =
		    cJSON_GetObjectItemCaseSensitive(root, az_keys[i].az)))
			az_add(m, az_keys[i].az, az_keys[i].key, it);
	cJSON_ArrayForEach(it, root)
		if (IN_LIST(az_ignored, it->string))
			az_ignore(m, it->string);
}

/* Each muster key that the names stand for and the file gives as well. */
static void
az_natives(struct az_map *m, const cJSON *root)
{
	const cJSON *it;
	size_t i, n;

	for (i = 0, n = m->n; i < n; i++) {
		const char *key = m->e[i].d->key;
		size_t k;

		for (k = 0; k < m->n && strcmp(m->e[k].label, key) != 0; k++)
			;
		if (k == m->n && (it = cJSON_GetObjectItemCaseSensitive(root,
		    key)))
			az_add(m, key, key, it);
	}
}

/* Each muster key from its first Azure name, unless the file has the key. */
static int
az_apply(struct lch_opts *o, const struct az_map *m, const cJSON *root,
	 const char *path)
{
	size_t i, k;

	for (i = 0; i < m->n; i++) {
		const struct opt_def *d = m->e[i].d;

		/* the key itself is read_config's; env's two add up */
		if (d->id != O_X && cJSON_GetObjectItemCaseSensitive(root,
		    d->key))
			continue;
		for (k = 0; k < i && m->e[k].d != d; k++)
			;
		if (k == i && config_apply(o, d, m->e[i].v, path,
		    m->e[i].label) != 0)
			return -1;
	}
	return 0;
}

/* Azure ML's names in the config root; what is ignored goes in *note. */
static int
read_azure(struct lch_opts *o, const cJSON *root, const char *path,
	   char **note)
{
	struct az_map m;
	int rc = -1;

	memset(&m, 0, sizeof(m));
	*note = NULL;
	az_top(&m, root);
	if (az_distributed(&m, root, path) != 0)
		goto out;
	az_natives(&m, root);
	if (az_conflicts(&m, path) != 0 || az_env_conflict(root, path) != 0 ||
	    az_apply(o, &m, root, path) != 0 || az_program(o, root, path) != 0)
		goto out;
	if (m.ignored.len)
		*note = lch_xstrdup(m.ignored.buf);
	rc = 0;
out:
	az_release(&m);
	return rc;
}

static int
read_config(struct lch_opts *o, const char *path)
{
	cJSON *root, *it;
	char *buf, *note = NULL;
	size_t len;
	int rc = -1;

	if ((buf = config_text(path, &len)) == NULL)
		return -1;
	if ((root = config_parse(buf, len, path)) == NULL)
		goto out;
	if (read_azure(o, root, path, &note) != 0)
		goto out;
	cJSON_ArrayForEach(it, root) {
		if (azure_key(it->string))
			continue;
		if (strcmp(it->string, "program") == 0) {
			if (config_program(o, it, path) != 0)
				goto out;
		} else if (config_item(o, it, path) != 0) {
			goto out;
		}
	}
	if (note && o->verbose)
		lch_msg("config '%s': Azure ML keys ignored (muster runs on the "
		    "hosts and software it is given): %s", path, note);
	rc = 0;
	cJSON_Delete(o->spec);	/* kept for the run record (runrec.h) */
	o->spec = root;
	root = NULL;
out:
	free(note);
	cJSON_Delete(root);
	free(buf);
	return rc;
}

static const char *const launcher_names[] = {
	"auto", "local", "ssh", "slurm", "mpi"
};

int
lch_launcher_parse(const char *s, enum lch_launcher *out)
{
	size_t i;

	for (i = 0; i < sizeof(launcher_names) / sizeof(launcher_names[0]);
	    i++)
		if (strcmp(s, launcher_names[i]) == 0) {
			*out = (enum lch_launcher)i;
			return 0;
		}
	return -1;
}

const char *
lch_launcher_name(enum lch_launcher l)
{
	return (unsigned)l < sizeof(launcher_names) / sizeof(launcher_names[0])
	    ? launcher_names[l] : "?";
}

int
lch_opts_ps_mode(const struct lch_opts *o)
{
	return o->ps >= 0 || o->workers >= 0 || o->chief || o->evaluator;
}

/* Counts for parameter-server mode: every task is one process. */
static int
finish_ps(struct lch_opts *o)
{
	long tasks;

	if (o->workers < 0)
		o->workers = o->ps > 0 || o->chief ? 1 : 0;
	if (o->ps < 0)
		o->ps = 0;
	tasks = o->chief + o->workers + o->ps + o->evaluator;
	if (o->workers == 0 && !o->chief) {
		lch_msg("--workers 0: parameter-server mode needs at least one "
		    "worker or --chief");
		return -1;
	}
	if (tasks > LCH_NP_MAX) {
		lch_msg("parameter-server mode: %ld tasks (chief %d + workers "
		    "%ld + ps %ld + evaluator %d), more than the %d processes "
		    "of a job", tasks, o->chief, o->workers, o->ps,
		    o->evaluator, LCH_NP_MAX);
		return -1;
	}
	if (o->np && o->np != tasks) {
		lch_msg("-n %ld: parameter-server mode runs %ld tasks "
		    "(chief %d + workers %ld + ps %ld + evaluator %d)", o->np,
		    tasks, o->chief, o->workers, o->ps, o->evaluator);
		return -1;
	}
	if (o->mpi) {
		lch_msg("--mpi: not available in parameter-server mode");
		return -1;
	}
	o->np = tasks;
	return 0;
}

/* --nodes more than the hosts: named as the allocation's when they are. */
static int
too_many_nodes(const struct lch_opts *o)
{
	if (o->slurm_hosts)
		lch_msg("--nodes %ld: the Slurm allocation (job %s) holds %d "
		    "node%s", o->nodes, o->slurm->job_id, o->slurm->nnodes,
		    o->slurm->nnodes == 1 ? "" : "s");
	else
		lch_msg("--nodes %ld: only %ld hosts given", o->nodes,
		    (long)o->hosts.n);
	return -1;
}

/* "tasks" or "CPUs": what n of the allocation's slots are. */
static const char *
slot_unit(const struct lch_slurm *s, long n)
{
	int cpus = strncmp(s->slots_from, "SLURM_JOB_CPUS", 14) == 0;

	return n == 1 ? (cpus ? "CPU" : "task") : cpus ? "CPUs" : "tasks";
}

/* Nodes for the tasks of parameter-server mode, within the hosts given. */
static int
finish_ps_nodes(struct lch_opts *o)
{
	long hosts = (long)o->hosts.n;

	if (!o->nodes && !o->ppn)
		return 0;	/* the hosts' slots, or one node */
	if (o->ppn && !o->nodes)
		o->nodes = (o->np + o->ppn - 1) / o->ppn;
	if (o->nodes && !o->ppn)
		o->ppn = (o->np + o->nodes - 1) / o->nodes;
	if (hosts && o->nodes > hosts)
		return too_many_nodes(o);
	return 0;
}

/* -n from the hosts' slots alone, within LCH_NP_MAX. */
static int
finish_slots(struct lch_opts *o)
{
	long slots = lch_hosts_slots(&o->hosts);

	if (!o->np && slots > LCH_NP_MAX) {
		lch_msg("the hosts give %ld slots, more than the %d processes "
		    "of a job (give -n)", slots, LCH_NP_MAX);
		return -1;
	}
	if (!o->np)
		o->np = slots;
	if (o->np > slots && o->slurm_hosts) {
		lch_msg("-n %ld: the Slurm allocation (job %s) holds %ld %s "
		    "(%s)", o->np, o->slurm->job_id, slots,
		    slot_unit(o->slurm, slots), o->slurm->slots_from);
		return -1;
	}
	if (o->np > slots) {
		lch_msg("-n %ld: the hosts give only %ld slots", o->np, slots);
		return -1;
	}
	return 0;
}

/* Resolves -n, --nodes and --procs-per-node against the hosts given. */
static int
finish_counts(struct lch_opts *o)
{
	long hosts = (long)o->hosts.n, procs;

	if (hosts && o->nodes > hosts)
		return too_many_nodes(o);
	if (hosts && !o->nodes && !o->ppn)
		return finish_slots(o);
	if (!o->nodes)
		o->nodes = hosts && o->ppn && o->np ?
		    (o->np + o->ppn - 1) / o->ppn : hosts ? hosts : 1;
	if (!o->ppn) {
		if (o->np && o->np % o->nodes) {
			lch_msg("-n %ld: not a multiple of --nodes %ld", o->np,
			    o->nodes);
			return -1;
		}
		o->ppn = o->np ? o->np / o->nodes : 1;
	}
	/* both at most LCH_NP_MAX (2^20): the product fits in 64 bits */
	procs = o->nodes * o->ppn;
	if (!o->np && procs > LCH_NP_MAX) {
		lch_msg("%ld nodes x %ld processes per node: %ld processes, "
		    "more than the %d of a job", o->nodes, o->ppn, procs,
		    LCH_NP_MAX);
		return -1;
	}
	if (!o->np)
		o->np = procs;
	if (o->np != procs) {
		lch_msg("-n %ld: --nodes %ld x --procs-per-node %ld gives %ld",
		    o->np, o->nodes, o->ppn, procs);
		return -1;
	}
	if (hosts && o->nodes > hosts)
		return too_many_nodes(o);
	return 0;
}

/* The hosts given, "a, b, c" (the first few), for messages. */
static void
hosts_text(const struct lch_opts *o, char *buf, size_t len)
{
	size_t i, k = 0;

	buf[0] = '\0';
	for (i = 0; i < o->hosts.n && i < 8 && k + 8 < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? ", " : "",
		    o->hosts.h[i].name);
	if (o->hosts.n > 8 && k + 8 < len)
		snprintf(buf + k, len - k, ", ...");
}

/*
 * --nodes MIN:MAX (elastic.h): agents of ours only, the world size from
 * the nodes (--procs-per-node, else each host's slots, else 1), at
 * least MIN hosts when hosts are given.  nodes and np describe the
 * first generation; elastic.c sets them per generation.
 */
static int
finish_elastic(struct lch_opts *o)
{
	long hosts = (long)o->hosts.n, slots = 0;
	char names[512];
	size_t i;

	if (o->mpi || o->launcher == LCH_LAUNCH_SLURM || lch_opts_ps_mode(o))
		return lch_msg("--nodes %ld:%ld: an elastic job runs on "
		    "muster's own agents, not with %s", o->nodes_min,
		    o->nodes_max, o->mpi ? "--mpi" : lch_opts_ps_mode(o) ?
		    "parameter-server mode" : "--launcher slurm"), -1;
	if (o->np)
		return lch_msg("-n %ld: with --nodes %ld:%ld the world size "
		    "follows the nodes (give --procs-per-node)", o->np,
		    o->nodes_min, o->nodes_max), -1;

	if (hosts && hosts < o->nodes_min) {
		hosts_text(o, names, sizeof(names));
		return lch_msg("--nodes %ld:%ld: only %ld host%s given (%s), "
		    "fewer than MIN", o->nodes_min, o->nodes_max, hosts,
		    hosts == 1 ? "" : "s", names), -1;
	}
	o->nodes = hosts && hosts < o->nodes_max ? hosts : o->nodes_max;
	for (i = 0; i < (size_t)o->nodes; i++)
		slots += o->ppn ? o->ppn : hosts && o->hosts.h[i].slots > 0 ?
		    o->hosts.h[i].slots : 1;
	if (slots > LCH_NP_MAX)
		return lch_msg("--nodes %ld:%ld: %ld processes, more than the "
		    "%d of a job", o->nodes_min, o->nodes_max, slots,
		    LCH_NP_MAX), -1;
	o->np = slots;
	return 0;
}

/*
 * The launcher's side of --join (join.h): --slots is a joiner's,
 * --secret-file an elastic job's, and one that exists must be readable.
 */
static int
finish_join_opts(const struct lch_opts *o)
{
	char secret[LCH_JOIN_SECRET_MAX + 2], err[PATH_MAX + 300];

	if (o->slots > 0)
		return lch_msg("--slots %ld: for a host that joins (muster "
		    "--join); the job's hosts take -H host:%ld", o->slots,
		    o->slots), -1;
	if (o->secret_file && !o->nodes_min)
		return lch_msg("--secret-file: only for an elastic job "
		    "(--nodes MIN:MAX), which hosts join with muster --join"),
		    -1;
	if (o->secret_file && access(o->secret_file, F_OK) == 0 &&
	    lch_join_secret_read(o->secret_file, secret, sizeof(secret), err,
	    sizeof(err)) < 0)
		return lch_msg("--secret-file: %s", err), -1;
	memset(secret, 0, sizeof(secret));
	return 0;
}

/* --config, then --hostfile (once the config may have named one). */
static int
finish_sources(struct lch_opts *o)
{
	char err[600];

	if (o->config && read_config(o, o->config) != 0)
		return -1;
	/* the environment's comes after the command line and the config */
	if (o->iface == NULL && getenv("MUSTER_IFACE") &&
	    *getenv("MUSTER_IFACE") &&
	    set_iface(o, getenv("MUSTER_IFACE"), "MUSTER_IFACE") != 0)
		return -1;
	if (o->hostfile) {
		if (o->hosts.n) {
			lch_msg("--hostfile '%s': give hosts with -H or "
			    "--hostfile, not both", o->hostfile);
			return -1;
		}
		if (lch_hosts_parse_file(&o->hosts, o->hostfile, err,
		    sizeof(err)) != 0) {
			lch_msg("%s", err);
			return -1;
		}
	}
	return 0;
}

/* The allocation's nodes by name, for -H's hosts: sorted, bsearch'ed. */
struct alloc_node {
	const char *name;
	int slots;
};

static int
by_node(const void *a, const void *b)
{
	return strcmp(((const struct alloc_node *)a)->name,
	    ((const struct alloc_node *)b)->name);
}

static struct alloc_node *
alloc_index(const struct lch_slurm *s)
{
	struct alloc_node *v = lch_xcalloc((size_t)s->nnodes, sizeof(*v));
	int i;

	for (i = 0; i < s->nnodes; i++) {
		v[i].name = s->nodes[i];
		v[i].slots = s->slots[i];
	}
	qsort(v, (size_t)s->nnodes, sizeof(*v), by_node);
	return v;
}

/* The slots of the allocation's node name, or -1: not one of its nodes. */
static int
alloc_slots(const struct alloc_node *v, int n, const char *name)
{
	struct alloc_node key = { name, 0 }, *at;

	at = bsearch(&key, v, (size_t)n, sizeof(*v), by_node);
	return at ? at->slots : -1;
}

/* -H's (or --hostfile's) hosts: nodes of the allocation, within its slots. */
static int
check_alloc_hosts(struct lch_opts *o)
{
	const struct lch_slurm *s = o->slurm;
	struct alloc_node *v = alloc_index(s);
	char *from = o->hostfile ? lch_xasprintf("--hostfile '%s': ",
	    o->hostfile) : lch_xstrdup("-H ");
	size_t i;
	int slots, rc = 0;

	for (i = 0; i < o->hosts.n && rc == 0; i++) {
		const struct lch_host *h = &o->hosts.h[i];

		rc = -1;
		if ((slots = alloc_slots(v, s->nnodes, h->name)) < 0)
			lch_msg("%s%s: not a node of Slurm job %s (%.100s%s)",
			    from, h->name, s->job_id, s->nodelist,
			    strlen(s->nodelist) > 100 ? "..." : "");
		else if (h->slots > slots)
			lch_msg("%s%s:%d: node %s of Slurm job %s holds %d %s "
			    "(%s)", from, h->name, h->slots, h->name,
			    s->job_id, slots, slot_unit(s, slots),
			    s->slots_from);
		else
			rc = 0;
	}
	free(from);
	free(v);
	return rc;
}

/* The allocation's nodes and their slots as the hosts. */
static int
alloc_hosts(struct lch_opts *o)
{
	const struct lch_slurm *s = o->slurm;
	char err[600], *spec;
	int i, rc = 0;

	for (i = 0; i < s->nnodes && rc == 0; i++) {
		spec = lch_xasprintf("%s:%d", s->nodes[i], s->slots[i]);
		if ((rc = lch_hosts_parse_arg(&o->hosts, spec, err,
		    sizeof(err))) != 0)
			lch_msg("SLURM_JOB_NODELIST '%.100s': %s", s->nodelist,
			    err);
		free(spec);
	}
	o->slurm_hosts = 1;
	return rc;
}

/*
 * The allocation for the hosts (options.h): read, refused inside a step
 * of several tasks (each would start a job), then the hosts.
 */
static int
use_allocation(struct lch_opts *o)
{
	struct lch_slurm *s = lch_xcalloc(1, sizeof(*s));
	char err[1024];

	if (lch_slurm_detect(s, err, sizeof(err)) != 1) {
		lch_msg("%s", err);
		free(s);
		return -1;
	}
	o->slurm = s;
	if (s->in_step && s->step_tasks > 1) {
		lch_msg("started as task %ld of %ld of a Slurm step (job %s, "
		    "step %s): start muster once, it starts its own step on "
		    "every node", s->procid, s->step_tasks, s->job_id,
		    getenv("SLURM_STEP_ID"));
		return -1;
	}
	if (o->verbose)
		lch_msg("Slurm job %s: %d node%s (%.100s), slots from %s; "
		    "launcher %s", s->job_id, s->nnodes, s->nnodes == 1 ? "" :
		    "s", s->nodelist, s->slots_from,
		    lch_launcher_name(o->launcher));
	return o->hosts.n ? check_alloc_hosts(o) : alloc_hosts(o);
}

/* auto without an allocation to use: ssh when a host is another machine. */
static void
launcher_auto(struct lch_opts *o)
{
	size_t i;

	o->launcher = LCH_LAUNCH_LOCAL;
	for (i = 0; i < o->hosts.n; i++)
		if (!lch_host_is_local(o->hosts.h[i].name)) {
			o->launcher = LCH_LAUNCH_SSH;
			return;
		}
}

/* Resolves --launcher (options.h); takes the allocation where it is used. */
static int
finish_launcher(struct lch_opts *o)
{
	const char *job = getenv("SLURM_JOB_ID");
	int in_alloc = job && *job;
	char *srun = NULL;

	/* a rank's wrapper under mpirun: its orted may run in a Slurm step
	 * of mpirun's own, which is not the allocation's to hand out */
	if (o->mode == LCH_MPI_RANK)
		return 0;
	if (o->mpi && o->launcher != LCH_LAUNCH_AUTO &&
	    o->launcher != LCH_LAUNCH_MPI) {
		lch_msg("--mpi: starts the ranks with mpirun, not with "
		    "--launcher %s (--launcher mpi is --mpi)",
		    lch_launcher_name(o->launcher));
		return -1;
	}
	if (o->mpi || o->launcher == LCH_LAUNCH_MPI) {
		o->mpi = 1;
		o->launcher = LCH_LAUNCH_MPI;
	}
	if (o->launcher == LCH_LAUNCH_LOCAL)
		return 0;	/* whatever the environment says */
	if (in_alloc && (o->launcher == LCH_LAUNCH_AUTO ||
	    o->launcher == LCH_LAUNCH_SLURM))
		srun = lch_slurm_which_srun();
	if (o->launcher == LCH_LAUNCH_AUTO && srun)
		o->launcher = LCH_LAUNCH_SLURM;
	else if (o->launcher == LCH_LAUNCH_AUTO)
		launcher_auto(o);
	free(srun);
	if (o->launcher == LCH_LAUNCH_SLURM && !in_alloc) {
		lch_msg("--launcher slurm: not inside a Slurm allocation "
		    "(SLURM_JOB_ID is not set: run muster under salloc or "
		    "sbatch)");
		return -1;
	}
	if (o->launcher == LCH_LAUNCH_SLURM && !srun) {
		lch_msg("--launcher slurm: srun not found in PATH (Slurm job "
		    "%s)", job);
		return -1;
	}
	if (in_alloc && (o->launcher == LCH_LAUNCH_SLURM ||
	    o->launcher == LCH_LAUNCH_MPI ||
	    (o->launcher == LCH_LAUNCH_SSH && o->hosts.n == 0)))
		return use_allocation(o);
	return 0;
}

/*
 * Each node used holds its ranks: the hosts came from the allocation or
 * were checked against it, but --procs-per-node (or -n over --nodes) was
 * not.  Ranks fill the nodes in order, as place.c does.
 */
static int
check_alloc_fit(const struct lch_opts *o, int ppn_given)
{
	const struct lch_slurm *s = o->slurm;
	struct alloc_node *v;
	long i, got;
	int slots, rc = 0;

	if (!o->ppn)
		return 0;	/* the hosts' slots: finish_slots checked */
	v = o->slurm_hosts ? NULL : alloc_index(s);
	for (i = 0; i < o->nodes && rc == 0; i++) {
		const char *h = o->hosts.h[i].name;

		got = o->np - i * o->ppn < o->ppn ? o->np - i * o->ppn : o->ppn;
		slots = v ? alloc_slots(v, s->nnodes, h) : s->slots[i];
		if (got <= slots)
			continue;
		if (ppn_given)
			lch_msg("--procs-per-node %ld: node %s of Slurm job %s "
			    "holds %d %s (%s)", o->ppn, h, s->job_id, slots,
			    slot_unit(s, slots), s->slots_from);
		else
			lch_msg("-n %ld over --nodes %ld: %ld on node %s, "
			    "which holds %d %s in Slurm job %s (%s)", o->np,
			    o->nodes, got, h, slots, slot_unit(s, slots),
			    s->job_id, s->slots_from);
		rc = -1;
	}
	free(v);
	return rc;
}

/* parameter-server mode's tasks on the allocation's slots. */
static int
check_alloc_ps(const struct lch_opts *o)
{
	long slots = lch_hosts_slots(&o->hosts);

	if (!o->slurm_hosts || o->nodes || o->ppn || o->np <= slots)
		return 0;
	lch_msg("parameter-server mode: %ld tasks, the Slurm allocation (job "
	    "%s) holds %ld %s (%s)", o->np, o->slurm->job_id, slots,
	    slot_unit(o->slurm, slots), o->slurm->slots_from);
	return -1;
}

int
lch_opts_finish(struct lch_opts *o)
{
	int ppn_given;

	if (finish_sources(o) != 0)
		return -1;
	if (o->argc == 0) {
		lch_msg("no program given (usage: muster [options] [--] "
		    "PROGRAM [ARGS...])");
		return -1;
	}
	ppn_given = o->ppn != 0;	/* the config's too */
	/* no hosts given: the discovery gives the first (elastic.h) */
	if (o->nodes_min && o->host_discovery && o->hosts.n == 0 &&
	    lch_elastic_discover_first(o) != 0)
		return -1;
	if (finish_launcher(o) != 0)
		return -1;
	if (o->host_discovery && !o->nodes_min) {
		lch_msg("--host-discovery: only for an elastic job (--nodes "
		    "MIN:MAX)");
		return -1;
	}
	if (finish_join_opts(o) != 0)
		return -1;
	if (o->nodes_min)
		return finish_elastic(o);
	if (lch_opts_ps_mode(o)) {
		if (finish_ps(o) != 0 || finish_ps_nodes(o) != 0)
			return -1;
		if (o->slurm && check_alloc_ps(o) != 0)
			return -1;
	} else if (finish_counts(o) != 0) {
		return -1;
	}
	return o->slurm ? check_alloc_fit(o, ppn_given) : 0;
}

int
lch_opts_finish_check(struct lch_opts *o)
{
	char err[512];
	int i;

	for (i = 0; !o->dashdash && i < o->argc; i++) {
		if (strcmp(o->argv[i], "--") == 0) {
			i++;
			break;
		}
		if (o->argv[i][0] == '-') {
			lch_msg("--check: '%s': expected a host (options go "
			    "before the hosts, the program after '--')",
			    o->argv[i]);
			return -1;
		}
		if (lch_hosts_parse_arg(&o->hosts, o->argv[i], err,
		    sizeof(err)) != 0) {
			lch_msg("--check: %s", err);
			return -1;
		}
	}
	if (!o->dashdash && i > 0) {
		/* hosts named here win over the config's, as -H's do */
		if (i > 1 || strcmp(o->argv[0], "--") != 0)
			o->set |= 1ull << O_HOSTS | 1ull << O_HOSTFILE;
		o->argv += i;
		o->argc -= i;
	}
	if (finish_sources(o) != 0)
		return -1;
	/* no host named, inside an allocation: its nodes, through srun */
	if (o->hosts.n == 0 && (o->launcher == LCH_LAUNCH_AUTO ||
	    o->launcher == LCH_LAUNCH_SLURM))
		return finish_launcher(o);
	return 0;
}

int
lch_opts_finish_join(const struct lch_opts *o)
{
	static const struct { enum opt_id id; const char *name; } job[] = {
		{ O_NP, "-n" }, { O_NODES, "--nodes" }, { O_PPN,
		"--procs-per-node" }, { O_HOSTS, "-H" }, { O_HOSTFILE,
		"--hostfile" }, { O_DISCOVERY, "--host-discovery" },
	};
	size_t i;

	if (o->argc > 0) {
		lch_msg("--join: '%s': a joining host runs no program of its "
		    "own (the job's muster gives it)", o->argv[0]);
		return -1;
	}
	for (i = 0; i < sizeof(job) / sizeof(job[0]); i++)
		if (o->set & (1ull << job[i].id)) {
			lch_msg("--join: %s is the job's to choose, not a "
			    "joining host's", job[i].name);
			return -1;
		}
	return 0;
}

int
lch_opts_user_set(const struct lch_opts *o, const char *name)
{
	size_t x, n = strlen(name);

	if (getenv(name))
		return 1;
	for (x = 0; x < o->xvars.n; x++)
		if (strncmp(o->xvars.v[x], name, n) == 0 &&
		    (o->xvars.v[x][n] == '\0' || o->xvars.v[x][n] == '='))
			return 1;
	return 0;
}
