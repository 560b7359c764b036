/* plan.c: see plan.h. */
#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cJSON.h>

#include "plan.h"
#include "records.h"

/* What a node's plan line may take (records.h), less room for the cwd and
 * what the rendezvous adds to every rank (endpoint, secret, key). */
#define PLAN_LINE_MAX (LCH_REC_PLAN_MAX - 4096 - PATH_MAX)
#define PLAN_RANK_EXTRA 1024

/* Unknown values while sizing the plan: as long as any real one. */
#define SIZE_ADDR "255.255.255.255"
#define SIZE_PORT "65535"
#define SIZE_IFNAME "123456789012345"

/* What lch_plan_set_net does with a node whose net is not known yet. */
enum net_mode {
	NET_REAL,	/* everything is known (facts), or skip it (--mpi) */
	NET_DESCRIBE,	/* --dry-run: say how it will be chosen */
	NET_SIZE	/* the longest it can be, to size the plan lines */
};

/* A TCP port free here: port 0 bound on every interface, then closed. */
static int
free_port_here(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Per-node process counts: fill hosts by slots, or ppn per node. */
static int
place(struct lch_plan *p, const struct lch_opts *o)
{
	static const char *localhost = "localhost";
	int i, left = p->np, nn;

	if (o->hosts.n && !o->nodes && !o->ppn) {
		if (p->np > lch_hosts_slots(&o->hosts)) {
			lch_msg("-n %d: the hosts give only %ld slots", p->np,
			    lch_hosts_slots(&o->hosts));
			return -1;
		}
		nn = (int)o->hosts.n;
	} else {
		nn = o->nodes ? (int)o->nodes : 1;
	}
	p->nodes = lch_xcalloc((size_t)nn, sizeof(*p->nodes));
	p->all_local = 1;
	for (i = 0; i < nn && left > 0; i++) {
		struct lch_node *n = &p->nodes[i];
		int cap = o->hosts.n && !o->nodes && !o->ppn ?
		    o->hosts.h[i].slots : o->ppn ? (int)o->ppn : left;

		n->index = i;
		n->host = o->hosts.n ? o->hosts.h[i].name : localhost;
		n->local = lch_host_is_local(n->host);
		p->all_local &= n->local;
		n->first_rank = p->np - left;
		n->nprocs = cap < left ? cap : left;
		left -= n->nprocs;
		p->nnodes = i + 1;
	}
	if (left > 0) {
		lch_msg("-n %d: %d processes do not fit on %d nodes", p->np,
		    left, nn);
		return -1;
	}
	return 0;
}

/*
 * A node's address as every rank can use it, into buf: from its facts,
 * 127.0.0.1 when all is local, else what mode says (NULL: unknown).
 */
static const char *
node_addr(const struct lch_plan *p, const struct lch_node *n,
	  enum net_mode mode, char *buf, size_t len)
{
	if (n->have_net)
		return n->net.addr;
	if (p->all_local)
		return "127.0.0.1";
	if (mode == NET_SIZE)
		return SIZE_ADDR;
	if (mode == NET_REAL)
		return NULL;
	snprintf(buf, len, "(address of %s, chosen there at start)", n->host);
	return buf;
}

/* The interface of a node's address, as node_addr. */
static const char *
node_ifname(const struct lch_plan *p, const struct lch_node *n,
	    enum net_mode mode, char *buf, size_t len)
{
	if (n->have_net)
		return n->net.ifname;
	if (p->all_local)
		return "lo";
	if (mode == NET_REAL)
		return NULL;
	if (p->iface && !strchr(p->iface, '/'))
		return p->iface;	/* --iface NAME: that on every host */
	if (mode == NET_SIZE)
		return SIZE_IFNAME;
	snprintf(buf, len, "(interface of %s, chosen there at start)",
	    n->host);
	return buf;
}

/* Port i of a node's, as node_addr. */
static const char *
node_port(const struct lch_node *n, int i, enum net_mode mode, char *buf,
	  size_t len)
{
	if (n->ports && i < n->want_ports)
		snprintf(buf, len, "%d", n->ports[i]);
	else if (mode == NET_SIZE)
		return SIZE_PORT;
	else if (mode == NET_REAL)
		return NULL;
	else
		snprintf(buf, len, "(a free port of %s, chosen there at start)",
		    n->host);
	return buf;
}

/* TF task type and index of each rank: chief, workers, ps, evaluator. */
static void
assign_roles(struct lch_plan *p, const struct lch_opts *o)
{
	static const char *names[] = { "chief", "worker", "ps", "evaluator" };
	long count[4];
	int r = 0, t, i;

	if (!lch_opts_ps_mode(o)) {
		for (r = 0; r < p->np; r++) {
			p->ranks[r].role = "default";
			p->ranks[r].role_index = r;
			p->ranks[r].role_size = p->np;
		}
		return;
	}
	count[0] = o->chief;
	count[1] = o->workers;
	count[2] = o->ps;
	count[3] = o->evaluator;
	for (t = 0; t < 4; t++)
		for (i = 0; i < count[t]; i++, r++) {
			p->ranks[r].role = names[t];
			p->ranks[r].role_index = i;
			p->ranks[r].role_size = (int)count[t];
		}
}

/*
 * TF_CONFIG: every task its own host:port, the same cluster for all: its
 * node's address and a port its node's agent found free there.  The
 * evaluator is not part of the training cluster (Estimator's rule).
 */
static int
set_tf_config(struct lch_plan *p, enum net_mode mode)
{
	static const char *types[] = { "chief", "worker", "ps" };
	cJSON *cluster = cJSON_CreateObject();
	char **addr = lch_xcalloc((size_t)p->np, sizeof(char *));
	char ab[320], pb[320];
	int r, t, rc = -1;

	for (r = 0; r < p->np; r++) {
		const struct lch_rank *rk = &p->ranks[r];
		const struct lch_node *n = &p->nodes[rk->node_rank];
		/* the node's ports: MASTER_PORT's first on node 0 */
		int base = n->index == 0 && !p->master_port_given;
		const char *a = node_addr(p, n, mode, ab, sizeof(ab));
		const char *pt = node_port(n, base + rk->local_rank, mode, pb,
		    sizeof(pb));

		if (a == NULL || pt == NULL) {
			lch_msg("TF_CONFIG task %d: no address or port of %s",
			    r, n->host);
			goto out;
		}
		addr[r] = lch_xasprintf("%s:%s", a, pt);
	}
	for (t = 0; t < 3; t++) {
		cJSON *list = NULL;

		for (r = 0; r < p->np; r++) {
			if (strcmp(p->ranks[r].role, types[t]) != 0)
				continue;
			if (list == NULL)
				list = cJSON_AddArrayToObject(cluster, types[t]);
			cJSON_AddItemToArray(list, cJSON_CreateString(addr[r]));
		}
	}
	for (r = 0; r < p->np; r++) {
		cJSON *tf = cJSON_CreateObject(), *task;
		char *s;

		cJSON_AddItemReferenceToObject(tf, "cluster", cluster);
		task = cJSON_AddObjectToObject(tf, "task");
		cJSON_AddStringToObject(task, "type", p->ranks[r].role);
		cJSON_AddNumberToObject(task, "index", p->ranks[r].role_index);
		cJSON_AddStringToObject(tf, "environment", "cloud");
		if ((s = cJSON_PrintUnformatted(tf)) == NULL)
			lch_oom();
		cJSON_Delete(tf);
		if (mode != NET_DESCRIBE &&
		    strlen("TF_CONFIG=") + strlen(s) > LCH_ENV_MAX) {
			lch_msg("parameter-server mode: TF_CONFIG for %d tasks "
			    "is %zu bytes, more than the %d Linux passes in one "
			    "variable", p->np, strlen(s), LCH_ENV_MAX);
			free(s);
			goto out;
		}
		lch_env_set(&p->ranks[r].env, "TF_CONFIG", s);
		free(s);
	}
	rc = 0;
out:
	for (r = 0; r < p->np; r++)
		free(addr[r]);
	free(addr);
	cJSON_Delete(cluster);
	return rc;
}

/*
 * Horovod's cross rank: the index of a rank's node among the nodes that
 * have a rank of its local rank; its size is how many such nodes there
 * are.  One pass over the nodes, linear in the ranks.
 */
static void
set_cross(struct lch_plan *p)
{
	int *seen, i, l, biggest = 0;

	for (i = 0; i < p->nnodes; i++)
		if (p->nodes[i].nprocs > biggest)
			biggest = p->nodes[i].nprocs;
	seen = lch_xcalloc((size_t)biggest, sizeof(*seen));
	for (i = 0; i < p->nnodes; i++)
		for (l = 0; l < p->nodes[i].nprocs; l++)
			p->ranks[p->nodes[i].first_rank + l].cross_rank =
			    seen[l]++;
	for (i = 0; i < p->np; i++)
		p->ranks[i].cross_size = seen[p->ranks[i].local_rank];
	free(seen);
}

static void set_xvars(struct lch_env *e, const struct lch_opts *o);

static void
set_rank_env(struct lch_plan *p, const struct lch_opts *o, int r)
{
	struct lch_rank *rk = &p->ranks[r];
	struct lch_env *e = &rk->env;
	const struct lch_node *n = &p->nodes[rk->node_rank];

	lch_env_setf(e, "MUSTER_RANK", "%d", r);
	lch_env_setf(e, "MUSTER_SIZE", "%d", p->np);
	lch_env_setf(e, "MUSTER_LOCAL_RANK", "%d", rk->local_rank);
	lch_env_setf(e, "MUSTER_LOCAL_SIZE", "%d", n->nprocs);
	lch_env_setf(e, "MUSTER_NODE_RANK", "%d", rk->node_rank);
	lch_env_setf(e, "MUSTER_NUM_NODES", "%d", p->nnodes);
	lch_env_set(e, "MUSTER_JOB_ID", p->job_id);
	lch_env_set(e, "MUSTER_HOST", n->host);
	if (o->output_dir)
		lch_env_set(e, "MUSTER_OUTPUT_DIR", o->output_dir);
	/* torchrun */
	lch_env_setf(e, "RANK", "%d", r);
	lch_env_setf(e, "WORLD_SIZE", "%d", p->np);
	lch_env_setf(e, "LOCAL_RANK", "%d", rk->local_rank);
	lch_env_setf(e, "LOCAL_WORLD_SIZE", "%d", n->nprocs);
	lch_env_setf(e, "GROUP_RANK", "%d", rk->node_rank);
	lch_env_setf(e, "GROUP_WORLD_SIZE", "%d", p->nnodes);
	lch_env_setf(e, "ROLE_RANK", "%d", rk->role_index);
	lch_env_setf(e, "ROLE_WORLD_SIZE", "%d", rk->role_size);
	lch_env_set(e, "ROLE_NAME", rk->role);
	lch_env_set(e, "TORCHELASTIC_RESTART_COUNT", "0");
	lch_env_setf(e, "TORCHELASTIC_MAX_RESTARTS", "%ld", o->max_restarts);
	lch_env_set(e, "TORCHELASTIC_RUN_ID", p->job_id);
	lch_env_setf(e, "NODE_RANK", "%d", rk->node_rank);
	if (n->nprocs > 1 && getenv("OMP_NUM_THREADS") == NULL)
		lch_env_set(e, "OMP_NUM_THREADS", "1");
	/* Horovod */
	lch_env_setf(e, "HOROVOD_RANK", "%d", r);
	lch_env_setf(e, "HOROVOD_SIZE", "%d", p->np);
	lch_env_setf(e, "HOROVOD_LOCAL_RANK", "%d", rk->local_rank);
	lch_env_setf(e, "HOROVOD_LOCAL_SIZE", "%d", n->nprocs);
	lch_env_setf(e, "HOROVOD_CROSS_RANK", "%d", rk->cross_rank);
	lch_env_setf(e, "HOROVOD_CROSS_SIZE", "%d", rk->cross_size);
	lch_env_set(e, "HOROVOD_HOSTNAME", n->host);
	/* in a Slurm step: srun's task variables as if `srun -n SIZE` had
	 * started the ranks (the step's own describe one agent per node);
	 * Slurm-aware code (Lightning, submitit) reads them */
	if (o->launcher == LCH_LAUNCH_SLURM) {
		lch_env_setf(e, "SLURM_PROCID", "%d", r);
		lch_env_setf(e, "SLURM_LOCALID", "%d", rk->local_rank);
		lch_env_setf(e, "SLURM_NODEID", "%d", rk->node_rank);
		lch_env_setf(e, "SLURM_NTASKS", "%d", p->np);
		lch_env_setf(e, "SLURM_NPROCS", "%d", p->np);
		lch_env_setf(e, "SLURM_STEP_NUM_TASKS", "%d", p->np);
	}
	lch_env_set(e, "PYTHONUNBUFFERED", "1");
	set_xvars(e, o);
}

/*
 * MASTER_ADDR: --master-addr, else 127.0.0.1 when all is local, else
 * rank 0's node's address.  NULL: not known yet.
 */
static const char *
master_addr(struct lch_plan *p, const struct lch_opts *o, enum net_mode mode)
{
	char buf[sizeof(p->master_addr)];
	const char *a;

	if (o->master_addr)
		return o->master_addr;
	if (mode == NET_SIZE && !p->all_local)
		return SIZE_ADDR;
	if (p->master_addr[0] && (o->mpi || o->mode == LCH_MPI_RANK))
		return p->master_addr;	/* lch_plan_choose_head's */
	if ((a = node_addr(p, &p->nodes[0], mode, buf, sizeof(buf))) == NULL)
		return NULL;
	if (mode == NET_SIZE)
		return a;
	snprintf(p->master_addr, sizeof(p->master_addr), "%s", a);
	return p->master_addr;
}

static const char *
master_port(struct lch_plan *p, enum net_mode mode, char *buf, size_t len)
{
	if (p->master_port_given) {
		snprintf(buf, len, "%d", p->master_port);
		return buf;
	}
	if (p->nodes[0].ports) {
		p->master_port = p->nodes[0].ports[0];
		snprintf(buf, len, "%d", p->master_port);
		return buf;
	}
	if (p->master_port > 0) {	/* --mpi: lch_plan_choose_head's */
		snprintf(buf, len, "%d", p->master_port);
		return buf;
	}
	return node_port(&p->nodes[0], 0, mode, buf, len);
}

/* The names of the address, of the interface, of the master, for r. */
static void
set_rank_net(struct lch_plan *p, const struct lch_opts *o, int r,
	     enum net_mode mode, const char *maddr, const char *mport)
{
	static const char *ifvars[] = { "GLOO_SOCKET_IFNAME",
	    "NCCL_SOCKET_IFNAME", "TP_SOCKET_IFNAME" };
	struct lch_env *e = &p->ranks[r].env;
	const struct lch_node *n = &p->nodes[p->ranks[r].node_rank];
	const char *a, *ifn;
	char ab[300], ib[300];
	size_t i;

	if (maddr) {
		lch_env_set(e, "MASTER_ADDR", maddr);
		lch_env_set(e, "AZ_BATCHAI_MPI_MASTER_NODE", maddr);
	}
	if (mport)
		lch_env_set(e, "MASTER_PORT", mport);
	if (maddr && mport)	/* Azure ML */
		lch_env_setf(e, "AZ_BATCH_MASTER_NODE", "%s:%s", maddr, mport);
	if ((a = node_addr(p, n, mode, ab, sizeof(ab))) != NULL)
		lch_env_set(e, "MUSTER_ADDR", a);
	if ((ifn = node_ifname(p, n, mode, ib, sizeof(ib))) == NULL)
		return;
	/* torch's gloo, NCCL, TensorPipe: the path the address takes; the
	 * user's own value goes to remote ranks too (-x wins still) */
	for (i = 0; i < sizeof(ifvars) / sizeof(ifvars[0]); i++)
		if (getenv(ifvars[i]))
			lch_env_set(e, ifvars[i], getenv(ifvars[i]));
		else if (!lch_opts_user_set(o, ifvars[i]))
			lch_env_set(e, ifvars[i], ifn);
}

static int
set_net(struct lch_plan *p, const struct lch_opts *o, enum net_mode mode)
{
	const char *maddr = master_addr(p, o, mode), *mport;
	char pb[320];
	int r;

	mport = master_port(p, mode, pb, sizeof(pb));
	for (r = 0; r < p->np; r++)
		set_rank_net(p, o, r, mode, maddr, mport);
	if (p->ps && set_tf_config(p, mode) != 0)
		return -1;
	for (r = 0; r < p->np; r++)	/* -x wins */
		set_xvars(&p->ranks[r].env, o);
	return 0;
}

int
lch_plan_set_net(struct lch_plan *p, const struct lch_opts *o, int describe)
{
	return set_net(p, o, describe ? NET_DESCRIBE : NET_REAL);
}

/* -x, last so that the user can override anything */
static void
set_xvars(struct lch_env *e, const struct lch_opts *o)
{
	size_t x;

	for (x = 0; x < o->xvars.n; x++) {
		const char *kv = o->xvars.v[x], *eq = strchr(kv, '=');
		char *name;

		if (eq == NULL) {
			const char *v = getenv(kv);

			if (v)
				lch_env_set(e, kv, v);
			continue;
		}
		name = lch_xasprintf("%.*s", (int)(eq - kv), kv);
		lch_env_set(e, name, eq + 1);
		free(name);
	}
}

/* Bytes of a string vector, each string as JSON escapes it at worst. */
static size_t
strv_json_max(char *const *v, size_t n)
{
	size_t i, sum = 0;

	for (i = 0; i < n; i++)
		sum += 6 * strlen(v[i]) + 3;	/* "\u00XX" per byte, quotes, ',' */
	return sum;
}

/*
 * Each node's plan goes to its agent as one line, at most PLAN_LINE_MAX
 * bytes: past that the agent found "no plan on stdin".  A cheap bound
 * first; the exact line only for a node that might not fit.
 */
static int
check_plan_lines(const struct lch_plan *p, const struct lch_opts *o)
{
	size_t argv_n = 0, bound, len;
	struct lch_rec_plan_opts po = { NULL, 0, NULL, NULL, 0, 0, 0 };
	char *line;
	int i, r;

	po.log_dir = o->log_dir;
	while (p->argv[argv_n])
		argv_n++;
	for (i = 0; i < p->nnodes; i++) {
		const struct lch_node *n = &p->nodes[i];

		bound = strv_json_max(p->argv, argv_n) + 4096;
		for (r = n->first_rank; r < n->first_rank + n->nprocs; r++)
			bound += strv_json_max(p->ranks[r].env.kv.v,
			    p->ranks[r].env.kv.n) + PLAN_RANK_EXTRA;
		if (bound <= PLAN_LINE_MAX)
			continue;
		line = lch_rec_plan_encode(p, n, &po);
		len = strlen(line) + (size_t)n->nprocs * PLAN_RANK_EXTRA;
		free(line);
		if (len > PLAN_LINE_MAX) {
			lch_msg("node %d (%s): the plan of its %d ranks is %zu "
			    "bytes, more than the %ld an agent takes (fewer "
			    "ranks per node, or smaller -x values)", i, n->host,
			    n->nprocs, len, (long)PLAN_LINE_MAX);
			return -1;
		}
	}
	return 0;
}

/* What every agent places its ranks with, from the options. */
static void
set_place_opts(struct lch_plan *p, const struct lch_opts *o)
{
	p->place.bind = o->bind;
	p->place.map = o->map;
	p->place.gpus_per_proc = (int)o->gpus_per_proc;
	p->place.report = o->report_bindings;
	p->place.verbose = o->verbose;
	p->place.omp_user = lch_opts_user_set(o, "OMP_NUM_THREADS");
	if (o->topology) {
		/* the agents run elsewhere (remote ones in our folder) */
		p->topology = realpath(o->topology, NULL);
		if (p->topology == NULL)
			p->topology = lch_xstrdup(o->topology);
		p->place.topology = p->topology;
	}
}

/* Node n's placement, planned once per node size (and locality). */
static int
place_node(struct lch_plan *p, struct lch_node *n, const char *file)
{
	struct lch_plan_placed *pl;
	char err[512];
	int i;

	for (i = 0; i < p->nplaced; i++)
		if (p->placed[i].nprocs == n->nprocs &&
		    p->placed[i].local == n->local) {
			n->place = &p->placed[i];
			return 0;
		}
	pl = &p->placed[p->nplaced];
	pl->nprocs = n->nprocs;
	pl->local = n->local;
	if (lch_place_node(&p->place, n->nprocs,
	    &p->ranks[n->first_rank].env, n->local, &pl->topo, &pl->p, err,
	    sizeof(err)) != 0) {
		if (strncmp(err, "topology file ", 14) == 0)
			lch_msg("%s", err);
		else
			lch_msg("%s: %s%s%s%s", n->host, err, file ?
			    " (on the topology '" : "", file ? file : "",
			    file ? "')" : "");
		return -1;
	}
	p->nplaced++;
	n->place = pl;
	return 0;
}

/*
 * The placements planned here: every node's on a topology file
 * (--topology, else HWLOC_XMLFILE), else with --dry-run or --mpi (its
 * wrappers cannot say as an agent does, before any rank starts) the
 * local nodes' on this machine.  The agents plan again at start.
 */
static int
place_nodes(struct lch_plan *p, const struct lch_opts *o)
{
	const char *file = o->topology ? o->topology : getenv("HWLOC_XMLFILE");
	int i;

	if (file && file[0] == '\0')
		file = NULL;
	if (o->mode != LCH_RUN || (file == NULL && !o->dry_run && !o->mpi))
		return 0;
	p->placed = lch_xcalloc((size_t)p->nnodes, sizeof(*p->placed));
	for (i = 0; i < p->nnodes; i++)
		if ((file || p->nodes[i].local) &&
		    place_node(p, &p->nodes[i], file) != 0)
			return -1;
	return 0;
}

int
lch_plan_build(struct lch_plan *p, const struct lch_opts *o)
{
	int i, r;

	memset(p, 0, sizeof(*p));
	if (o->np < 1 || o->np > LCH_NP_MAX)	/* lch_opts_finish's bounds */
		return lch_msg("-n %ld: expected 1 to %d processes", o->np,
		    LCH_NP_MAX), -1;
	p->np = (int)o->np;
	p->argv = o->argv;
	p->cwd = o->cwd;
	p->launcher = lch_launcher_name(o->launcher);
	if (o->job_id)
		snprintf(p->job_id, sizeof(p->job_id), "%s", o->job_id);
	else if (lch_random_hex(p->job_id, 6) != 0)
		return lch_msg("cannot read random bytes for the job id"), -1;
	if (lch_random_hex(p->secret, 32) != 0)
		return lch_msg("cannot read random bytes for the job secret"), -1;
	if (place(p, o) != 0)
		goto fail;
	p->ranks = lch_xcalloc((size_t)p->np, sizeof(*p->ranks));
	for (i = 0; i < p->nnodes; i++)
		for (r = 0; r < p->nodes[i].nprocs; r++) {
			struct lch_rank *rk = &p->ranks[p->nodes[i].first_rank + r];

			rk->rank = p->nodes[i].first_rank + r;
			rk->local_rank = r;
			rk->node_rank = i;
		}
	assign_roles(p, o);
	set_cross(p);
	p->ps = lch_opts_ps_mode(o);
	p->iface = o->iface;
	p->master_port = (int)o->master_port;
	p->master_port_given = o->master_port > 0;
	if (o->master_addr)
		snprintf(p->master_addr, sizeof(p->master_addr), "%s",
		    o->master_addr);
	else if (p->all_local)
		snprintf(p->master_addr, sizeof(p->master_addr), "127.0.0.1");
	/* (in ps mode a node of more than LCH_FACTS_PORTS_MAX tasks has a
	 * plan line far past what an agent takes: check_plan_lines says) */
	for (i = 0; i < p->nnodes; i++)
		p->nodes[i].want_ports = (i == 0 && !p->master_port_given) +
		    (p->ps ? p->nodes[i].nprocs : 0);
	for (r = 0; r < p->np; r++)
		set_rank_env(p, o, r);
	set_place_opts(p, o);
	if (place_nodes(p, o) != 0)
		goto fail;
	/* under --mpi what is known now; else the longest it can get */
	if (set_net(p, o, o->mpi || o->mode == LCH_MPI_RANK ? NET_REAL :
	    NET_SIZE) != 0)
		goto fail;
	if (!o->mpi && check_plan_lines(p, o) != 0)
		goto fail;
	return 0;
fail:
	lch_plan_release(p);	/* the caller has nothing to release */
	return -1;
}

/* host as a dotted quad that is no loopback address, into buf. */
static int
resolve_numeric(const char *host, char *buf, size_t len)
{
	struct addrinfo hints, *res;
	int rc = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -1;
	if (inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr,
	    buf, (socklen_t)len) && !mst_addr_is_loopback(buf))
		rc = 0;
	freeaddrinfo(res);
	return rc;
}

/* This host's name, for messages. */
static void
my_name(char *buf, size_t len)
{
	if (gethostname(buf, len) != 0)
		snprintf(buf, len, "localhost");
	buf[len - 1] = '\0';
}

/*
 * --mpi: mpirun starts the ranks, no agent says its facts.  MASTER_ADDR
 * is the head's address when rank 0 is here, else rank 0's host as it
 * resolves here (no loopback answer), else its name; MASTER_PORT a port
 * free here.
 */
static void
mpi_master(struct lch_plan *p, const struct lch_opts *o, int dry_run)
{
	const struct lch_node *n0 = &p->nodes[0];

	if (!o->master_addr && !p->all_local) {
		if (n0->local && p->have_head)
			snprintf(p->master_addr, sizeof(p->master_addr), "%s",
			    p->head.addr);
		else if (n0->local || resolve_numeric(n0->host,
		    p->master_addr, sizeof(p->master_addr)) != 0)
			snprintf(p->master_addr, sizeof(p->master_addr), "%s",
			    n0->host);
	}
	if (!p->master_port_given && !dry_run &&
	    (p->master_port = free_port_here()) <= 0)
		p->master_port = 0;
}

/*
 * The route toward the first other host that resolves here (of the first
 * ROUTE_TRIES), or --iface's address: 0, or -1 with err of the first.
 */
#define ROUTE_TRIES 8
static int
choose_route(struct lch_plan *p, char *err, size_t errlen)
{
	char e2[256];
	int i, tries = 0;

	if (p->iface)
		return mst_addr_choose(p->iface, p->toward, &p->head, err,
		    errlen);
	for (i = 0; i < p->nnodes && tries < ROUTE_TRIES; i++) {
		if (p->nodes[i].local)
			continue;
		if (mst_route_toward(p->nodes[i].host, &p->head,
		    tries ? e2 : err, tries ? sizeof(e2) : errlen) == 0) {
			p->toward = p->nodes[i].host;
			return 0;
		}
		tries++;
	}
	return -1;
}

int
lch_plan_choose_head(struct lch_plan *p, const struct lch_opts *o,
		     int dry_run)
{
	struct mst_netaddr chk;
	char err[256], me[256];
	int i;

	p->have_head = 0;
	p->head_err[0] = '\0';
	p->toward = NULL;
	for (i = 0; i < p->nnodes && !p->toward; i++)
		if (!p->nodes[i].local)
			p->toward = p->nodes[i].host;
	if (p->all_local) {
		/* one machine: loopback, whatever --iface says; but a bad
		 * --iface is refused all the same */
		snprintf(p->head.addr, sizeof(p->head.addr), "127.0.0.1");
		snprintf(p->head.ifname, sizeof(p->head.ifname), "lo");
		p->have_head = 1;
		if (p->iface && mst_iface_lookup(p->iface, &chk, err,
		    sizeof(err)) != 0)
			goto bad;
	} else if (choose_route(p, err, sizeof(err)) != 0) {
		if (p->iface || dry_run)
			goto bad;
		/*
		 * No other host's name resolves here: maybe only ssh knows
		 * them (its config's aliases), maybe they do not exist.  ssh
		 * says which first; the head refuses the job after the facts
		 * came (lch_plan_choose_head's caller, with head_err).
		 */
		snprintf(p->head_err, sizeof(p->head_err), "%s", err);
		if (o->mpi)	/* mpirun's ssh says, or knows the names */
			mpi_master(p, o, dry_run);
		return o->mpi ? set_net(p, o, NET_REAL) : 0;
	} else if (mst_addr_is_loopback(p->head.addr)) {
		snprintf(err, sizeof(err), "%s%s%s gives %s, a loopback address "
		    "the other hosts cannot reach (give --iface)",
		    p->iface ? "--iface " : "the route toward ",
		    p->iface ? p->iface : p->toward, p->iface ? "" : " here",
		    p->head.addr);
		goto bad;
	} else
		p->have_head = 1;
	for (i = 0; i < p->nnodes; i++)
		if (p->nodes[i].local) {
			p->nodes[i].net = p->head;
			p->nodes[i].have_net = 1;
		}
	if (o->mpi) {
		mpi_master(p, o, dry_run);
		if (set_net(p, o, NET_REAL) != 0)
			return -1;
	}
	return 0;
bad:
	my_name(me, sizeof(me));
	snprintf(p->head_err, sizeof(p->head_err), "%s", err);
	p->have_head = 0;
	if (dry_run)
		return 0;
	lch_msg("%s (this host): %s", me, err);
	return -1;
}

void
lch_plan_setenv(struct lch_plan *p, const char *name, const char *val)
{
	int r;

	for (r = 0; r < p->np; r++)
		lch_env_set(&p->ranks[r].env, name, val);
}

void
lch_plan_release(struct lch_plan *p)
{
	int r;

	for (r = 0; r < p->np && p->ranks; r++)
		lch_env_clear(&p->ranks[r].env);
	for (r = 0; r < p->nplaced; r++) {
		lch_place_release(&p->placed[r].p);
		lch_topo_free(p->placed[r].topo);
	}
	free(p->placed);
	free(p->topology);
	free(p->ranks);
	free(p->nodes);
	memset(p, 0, sizeof(*p));
}

/* --dry-run's "net": the node's choice where known, else its rule. */
static void
add_net(const struct lch_plan *p, const struct lch_node *n, cJSON *o)
{
	cJSON *net = cJSON_AddObjectToObject(o, "net");
	char buf[600];

	if (n->have_net) {
		cJSON_AddStringToObject(net, "addr", n->net.addr);
		cJSON_AddStringToObject(net, "iface", n->net.ifname);
	} else {
		if (p->iface)
			snprintf(buf, sizeof(buf), "the address on --iface %s "
			    "(chosen on %s at start)", p->iface, n->host);
		else if (n->local)	/* the head's, which failed */
			snprintf(buf, sizeof(buf), "route toward %s (chosen "
			    "here at start)", p->toward);
		else
			snprintf(buf, sizeof(buf), "route toward %s (chosen on "
			    "%s at start)", p->have_head ? p->head.addr :
			    "this host", n->host);
		cJSON_AddStringToObject(net, "addr", buf);
		if (p->iface && !strchr(p->iface, '/'))
			cJSON_AddStringToObject(net, "iface", p->iface);
		else
			cJSON_AddStringToObject(net, "iface", "the one holding "
			    "that address");
	}
	if (n->want_ports)
		snprintf(buf, sizeof(buf), "%d free on %s, chosen there at "
		    "start", n->want_ports, n->local ? "this host" : n->host);
	else
		snprintf(buf, sizeof(buf), "none");
	cJSON_AddStringToObject(net, "ports", buf);
	if (!p->have_head && p->head_err[0])
		cJSON_AddStringToObject(net, "error", p->head_err);
}

/* name=val in a rank's printed env, in its place or last. */
static void
env_put_json(cJSON *env, const char *name, const char *val)
{
	if (cJSON_GetObjectItem(env, name))
		cJSON_ReplaceItemInObject(env, name, cJSON_CreateString(val));
	else
		cJSON_AddStringToObject(env, name, val);
}

/*
 * --dry-run's "place": rank r's as planned here, and the environment
 * its agent will set from it (over -x's GPU list: the rank's part).
 */
static void
add_place(const struct lch_plan *p, const struct lch_rank *rk, cJSON *o,
	  cJSON *env)
{
	const struct lch_node *n = &p->nodes[rk->node_rank];
	const struct lch_place *pl;
	const struct lch_place_rank *r;
	char buf[320], *x = getenv("HWLOC_XMLFILE");
	cJSON *po;

	if (n->place == NULL) {
		snprintf(buf, sizeof(buf), "planned by the agent of %s at "
		    "start, on its topology", n->host);
		cJSON_AddStringToObject(o, "place", buf);
		return;
	}
	pl = &n->place->p;
	r = &pl->ranks[rk->local_rank];
	po = cJSON_AddObjectToObject(o, "place");
	cJSON_AddStringToObject(po, "topology", p->topology ? p->topology :
	    x && *x ? x : "this machine");
	cJSON_AddBoolToObject(po, "bound", r->bound);
	if (r->bound) {
		cJSON_AddStringToObject(po, "cpus", r->cpus);
		cJSON_AddStringToObject(po, "numa", r->numa);
	} else
		cJSON_AddStringToObject(po, "why", pl->why[0] ? pl->why :
		    "no binding");
	if (r->gpus) {
		cJSON_AddStringToObject(po, "gpus", r->gpus);
		env_put_json(env, pl->gpu_env, r->gpus);
	}
	if (r->omp > 0)
		cJSON_AddNumberToObject(po, "omp", r->omp);
	if (r->omp > 0 && !p->place.omp_user) {
		snprintf(buf, sizeof(buf), "%d", r->omp);
		env_put_json(env, "OMP_NUM_THREADS", buf);
	}
	/* a file of another machine: the environment only */
	cJSON_AddBoolToObject(po, "applied",
	    r->bound && lch_topo_is_thissystem(n->place->topo));
}

void
lch_plan_print(const struct lch_plan *p, int fd)
{
	int r, a;
	size_t i;

	for (r = 0; r < p->np; r++) {
		const struct lch_rank *rk = &p->ranks[r];
		cJSON *o = cJSON_CreateObject(), *argv, *env;
		char *s;

		cJSON_AddNumberToObject(o, "rank", r);
		cJSON_AddNumberToObject(o, "local_rank", rk->local_rank);
		cJSON_AddNumberToObject(o, "node_rank", rk->node_rank);
		cJSON_AddStringToObject(o, "host", p->nodes[rk->node_rank].host);
		cJSON_AddStringToObject(o, "launcher", p->launcher);
		add_net(p, &p->nodes[rk->node_rank], o);
		if (p->cwd)
			cJSON_AddStringToObject(o, "cwd", p->cwd);
		argv = cJSON_AddArrayToObject(o, "argv");
		for (a = 0; p->argv[a]; a++)
			cJSON_AddItemToArray(argv, cJSON_CreateString(p->argv[a]));
		env = cJSON_AddObjectToObject(o, "env");
		for (i = 0; i < rk->env.kv.n; i++) {
			const char *kv = rk->env.kv.v[i], *eq = strchr(kv, '=');
			char *name = lch_xasprintf("%.*s", (int)(eq - kv), kv);

			if (strcmp(name, "MUSTER_JOB_SECRET") != 0)
				cJSON_AddStringToObject(env, name, eq + 1);
			free(name);
		}
		add_place(p, rk, o, env);
		if ((s = cJSON_PrintUnformatted(o)) == NULL)
			lch_oom();
		dprintf(fd, "%s\n", s);
		free(s);
		cJSON_Delete(o);
	}
}
