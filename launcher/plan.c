/* plan.c: see plan.h. */
#include <arpa/inet.h>
#include <limits.h>
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

/* Binds port 0 and keeps the socket, so ports handed out stay distinct. */
static int
reserve_port(int *fd_out)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*fd_out = fd;
	return ntohs(sa.sin_port);
}

int
lch_free_port(void)
{
	int fd, port = reserve_port(&fd);

	if (port > 0)
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
 * The name other hosts reach this machine by: a local node's name as the
 * user gave it (their resolver knows it), else our host name.
 */
static void
set_here(struct lch_plan *p)
{
	int i;

	for (i = 0; i < p->nnodes; i++)
		if (p->nodes[i].local &&
		    !lch_host_is_loopback(p->nodes[i].host)) {
			snprintf(p->here, sizeof(p->here), "%s",
			    p->nodes[i].host);
			return;
		}
	if (gethostname(p->here, sizeof(p->here)) != 0)
		snprintf(p->here, sizeof(p->here), "localhost");
	p->here[sizeof(p->here) - 1] = '\0';
}

/* A node's address as every rank can use it ("localhost" is not one). */
static const char *
node_addr(const struct lch_plan *p, const struct lch_node *n)
{
	if (p->all_local)
		return "127.0.0.1";
	return n->local && lch_host_is_loopback(n->host) ? p->here : n->host;
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
 * TF_CONFIG: every task its own host:port, the same cluster for all.  The
 * evaluator is not part of the training cluster (Estimator's rule).
 */
static int
set_tf_config(struct lch_plan *p)
{
	static const char *types[] = { "chief", "worker", "ps" };
	cJSON *cluster = cJSON_CreateObject();
	int *fds = lch_xcalloc((size_t)p->np, sizeof(int));
	char **addr = lch_xcalloc((size_t)p->np, sizeof(char *));
	int r, t, rc = -1;

	for (r = 0; r < p->np; r++) {
		const struct lch_node *n = &p->nodes[p->ranks[r].node_rank];
		int port = reserve_port(&fds[r]);

		if (port <= 0) {
			lch_msg("cannot reserve a port for TF_CONFIG task %d", r);
			goto out;
		}
		addr[r] = lch_xasprintf("%s:%d", node_addr(p, n), port);
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
		if (strlen("TF_CONFIG=") + strlen(s) > LCH_ENV_MAX) {
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
	for (r = 0; r < p->np; r++) {
		if (fds[r] > 0)
			close(fds[r]);
		free(addr[r]);
	}
	free(fds);
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

static void
set_rank_env(struct lch_plan *p, const struct lch_opts *o, int r)
{
	struct lch_rank *rk = &p->ranks[r];
	struct lch_env *e = &rk->env;
	const struct lch_node *n = &p->nodes[rk->node_rank];
	size_t x;

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
	lch_env_set(e, "MASTER_ADDR", p->master_addr);
	lch_env_setf(e, "MASTER_PORT", "%d", p->master_port);
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
	/* Azure ML */
	lch_env_setf(e, "AZ_BATCH_MASTER_NODE", "%s:%d", p->master_addr,
	    p->master_port);
	lch_env_set(e, "AZ_BATCHAI_MPI_MASTER_NODE", p->master_addr);
	lch_env_set(e, "PYTHONUNBUFFERED", "1");
	/* -x, last so that the user can override anything */
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
	char *line;
	int i, r;

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
		line = lch_rec_plan_encode(p, n, NULL, 0, o->log_dir);
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
	set_here(p);
	snprintf(p->master_addr, sizeof(p->master_addr), "%s",
	    o->master_addr ? o->master_addr : node_addr(p, &p->nodes[0]));
	p->master_port = (int)o->master_port;
	if (!p->master_port && (p->master_port = lch_free_port()) <= 0) {
		lch_msg("cannot find a free port for MASTER_PORT");
		goto fail;
	}
	if (lch_opts_ps_mode(o) && set_tf_config(p) != 0)
		goto fail;
	for (r = 0; r < p->np; r++)
		set_rank_env(p, o, r);
	if (!o->mpi && check_plan_lines(p, o) != 0)
		goto fail;
	return 0;
fail:
	lch_plan_release(p);	/* the caller has nothing to release */
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
	free(p->ranks);
	free(p->nodes);
	memset(p, 0, sizeof(*p));
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
		if ((s = cJSON_PrintUnformatted(o)) == NULL)
			lch_oom();
		dprintf(fd, "%s\n", s);
		free(s);
		cJSON_Delete(o);
	}
}
