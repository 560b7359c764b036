/*
 * plan_test.c: who runs where and what each rank gets (plan.h): ranks,
 * local and node ranks for -n, --nodes/--procs-per-node and -H lists,
 * parameter-server roles and TF_CONFIG, the environment of every rank
 * (muster's, torchrun's, Horovod's, Azure ML's names, -x last), and the
 * --dry-run lines; what every rank gets from its node's facts (address,
 * interface, ports: MASTER_ADDR, MASTER_PORT, TF_CONFIG, MUSTER_ADDR,
 * *_SOCKET_IFNAME), the head's own address, the ports each node is asked
 * for.
 */
#include <stdlib.h>

#include <cJSON.h>

#include <time.h>

#include "launcher_harness.h"
#include "plan.h"

/* Host names that are never this machine. */
#define FAR_A "muster-test-far-a"
#define FAR_B "muster-test-far-b"

/* Options from words, finished, then the plan; 0 when both worked. */
#define PLAN(p, o, ...) plan_of((p), (o), FINISH((o), __VA_ARGS__))

/* The ports given to the nodes as their facts (node i: fake_ports[i]). */
static int **fake_ports;
static int fake_nports;

/*
 * What the head does once every node's facts arrived: node i has
 * 10.9.0.(i+1) on "eth1" (127.0.0.1 on "lo" when all is local), and
 * ports 20000 + 100 i + k.
 */
static int
give_facts(struct lch_plan *p, struct lch_opts *o)
{
	int i, k, rc;

	fake_ports = calloc((size_t)p->nnodes, sizeof(*fake_ports));
	fake_nports = p->nnodes;
	for (i = 0; i < p->nnodes; i++) {
		struct lch_node *n = &p->nodes[i];

		if (p->all_local) {
			snprintf(n->net.addr, sizeof(n->net.addr), "127.0.0.1");
			snprintf(n->net.ifname, sizeof(n->net.ifname), "lo");
		} else {
			snprintf(n->net.addr, sizeof(n->net.addr), "10.9.%d.%d",
			    (i / 250) % 250, i % 250 + 1);
			snprintf(n->net.ifname, sizeof(n->net.ifname), "eth1");
		}
		n->have_net = 1;
		fake_ports[i] = calloc((size_t)n->want_ports + 1, sizeof(int));
		for (k = 0; k < n->want_ports; k++)
			fake_ports[i][k] = 20000 + 100 * (i % 400) + k;
		n->ports = fake_ports[i];
	}
	lh_capture(2);
	rc = lch_plan_set_net(p, o, 0);
	lh_captured();
	return rc;
}

/* Built, and with facts unless raw; 0 when it worked. */
static int
plan_built(struct lch_plan *p, struct lch_opts *o, int finished, int raw)
{
	int rc;

	memset(p, 0, sizeof(*p));
	if (finished != 0) {
		fprintf(stderr, "# options failed: %s", lh_err);
		return -1;
	}
	lh_capture(2);
	rc = lch_plan_build(p, o);
	lh_captured();
	if (rc == 0 && !raw)
		rc = give_facts(p, o);
	return rc;
}

static int
plan_of(struct lch_plan *p, struct lch_opts *o, int finished)
{
	return plan_built(p, o, finished, 0);
}

/* Options from words, finished, then the plan without facts. */
#define PLAN_RAW(p, o, ...) plan_built((p), (o), FINISH((o), __VA_ARGS__), 1)

/* The plan and its options, released. */
static void
done(struct lch_plan *p, struct lch_opts *o)
{
	int i;

	lch_plan_release(p);
	lch_opts_release(o);
	for (i = 0; i < fake_nports; i++)
		free(fake_ports[i]);
	free(fake_ports);
	fake_ports = NULL;
	fake_nports = 0;
}

/* Rank r's variable name holds want. */
static void
check_env(const struct lch_plan *p, int r, const char *name, const char *want)
{
	const char *got = lch_env_get(&p->ranks[r].env, name);

	CHECK_(got && strcmp(got, want) == 0, "rank %d: %s=%s, want %s", r,
	    name, got ? got : "(unset)", want);
}

static void
check_env_int(const struct lch_plan *p, int r, const char *name, long want)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", want);
	check_env(p, r, name, buf);
}

static void
check_unset(const struct lch_plan *p, int r, const char *name)
{
	const char *got = lch_env_get(&p->ranks[r].env, name);

	CHECK_(got == NULL, "rank %d: %s=%s, want it unset", r, name, got);
}

/* Every rank's place: "node_rank/local_rank" joined by spaces. */
static void
check_layout(const struct lch_plan *p, const char *want)
{
	char got[1024] = "";
	size_t n = 0;
	int r;

	for (r = 0; r < p->np; r++) {
		const struct lch_rank *rk = &p->ranks[r];

		CHECK_INT(rk->rank, r);
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%d/%d",
		    r ? " " : "", rk->node_rank, rk->local_rank);
	}
	CHECK_STR(got, want);
}

/* The counts every launcher's names give rank r. */
static void
check_rank_env(const struct lch_plan *p, int r)
{
	const struct lch_rank *rk = &p->ranks[r];
	const struct lch_node *n = &p->nodes[rk->node_rank];

	check_env_int(p, r, "MUSTER_RANK", r);
	check_env_int(p, r, "RANK", r);
	check_env_int(p, r, "HOROVOD_RANK", r);
	check_env_int(p, r, "MUSTER_SIZE", p->np);
	check_env_int(p, r, "WORLD_SIZE", p->np);
	check_env_int(p, r, "HOROVOD_SIZE", p->np);
	check_env_int(p, r, "MUSTER_LOCAL_RANK", rk->local_rank);
	check_env_int(p, r, "LOCAL_RANK", rk->local_rank);
	check_env_int(p, r, "HOROVOD_LOCAL_RANK", rk->local_rank);
	check_env_int(p, r, "MUSTER_LOCAL_SIZE", n->nprocs);
	check_env_int(p, r, "LOCAL_WORLD_SIZE", n->nprocs);
	check_env_int(p, r, "HOROVOD_LOCAL_SIZE", n->nprocs);
	check_env_int(p, r, "MUSTER_NODE_RANK", rk->node_rank);
	check_env_int(p, r, "GROUP_RANK", rk->node_rank);
	check_env_int(p, r, "NODE_RANK", rk->node_rank);
	check_env_int(p, r, "MUSTER_NUM_NODES", p->nnodes);
	check_env_int(p, r, "GROUP_WORLD_SIZE", p->nnodes);
	check_env(p, r, "MUSTER_HOST", n->host);
	check_env(p, r, "HOROVOD_HOSTNAME", n->host);
	check_env(p, r, "MUSTER_JOB_ID", p->job_id);
	check_env(p, r, "TORCHELASTIC_RUN_ID", p->job_id);
	check_env(p, r, "MASTER_ADDR", p->master_addr);
	check_env_int(p, r, "MASTER_PORT", p->master_port);
	check_env(p, r, "AZ_BATCHAI_MPI_MASTER_NODE", p->master_addr);
	check_env(p, r, "TORCHELASTIC_RESTART_COUNT", "0");
	check_env(p, r, "PYTHONUNBUFFERED", "1");
}

static int
all_hex(const char *s, size_t len)
{
	return strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

static void
test_local_n(void)
{
	struct lch_plan p;
	struct lch_opts o;
	char az[300];
	int r;

	unsetenv("OMP_NUM_THREADS");
	CHECK_INT(PLAN(&p, &o, "-n", "3", "prog", "arg"), 0);
	CHECK_INT(p.np, 3);
	CHECK_INT(p.nnodes, 1);
	CHECK_STR(p.nodes[0].host, "localhost");
	CHECK_INT(p.nodes[0].local, 1);
	CHECK_INT(p.nodes[0].first_rank, 0);
	CHECK_INT(p.nodes[0].nprocs, 3);
	CHECK_INT(p.all_local, 1);
	CHECK_STR(p.master_addr, "127.0.0.1");
	CHECK(p.master_port > 0 && p.master_port < 65536);
	CHECK_(all_hex(p.job_id, 12), "job id '%s'", p.job_id);
	CHECK_(all_hex(p.secret, 64), "secret '%s'", p.secret);
	CHECK_STR(p.argv[0], "prog");
	CHECK_STR(p.argv[1], "arg");
	check_layout(&p, "0/0 0/1 0/2");
	snprintf(az, sizeof(az), "127.0.0.1:%d", p.master_port);
	for (r = 0; r < 3; r++) {
		check_rank_env(&p, r);
		check_env_int(&p, r, "HOROVOD_CROSS_RANK", 0);
		check_env_int(&p, r, "HOROVOD_CROSS_SIZE", 1);
		check_env(&p, r, "ROLE_NAME", "default");
		check_env_int(&p, r, "ROLE_RANK", r);
		check_env_int(&p, r, "ROLE_WORLD_SIZE", 3);
		check_env(&p, r, "OMP_NUM_THREADS", "1");
		check_env(&p, r, "TORCHELASTIC_MAX_RESTARTS", "0");
		check_env(&p, r, "AZ_BATCH_MASTER_NODE", az);
		check_unset(&p, r, "TF_CONFIG");
		check_unset(&p, r, "MUSTER_OUTPUT_DIR");
		check_unset(&p, r, "MUSTER_JOB_SECRET");	/* the head's */
	}
	CHECK_STR(lh_err, "");
	done(&p, &o);
}

static void
test_one_rank(void)
{
	struct lch_plan p;
	struct lch_opts o;

	unsetenv("OMP_NUM_THREADS");
	CHECK_INT(PLAN(&p, &o, "true"), 0);
	CHECK_INT(p.np, 1);
	check_layout(&p, "0/0");
	check_rank_env(&p, 0);
	check_unset(&p, 0, "OMP_NUM_THREADS");	/* alone on its node */
	done(&p, &o);
	setenv("OMP_NUM_THREADS", "8", 1);	/* the user's is kept */
	CHECK_INT(PLAN(&p, &o, "-n", "2", "true"), 0);
	check_unset(&p, 1, "OMP_NUM_THREADS");
	done(&p, &o);
}

static void
test_virtual_nodes(void)
{
	struct lch_plan p;
	struct lch_opts o;
	int r;

	CHECK_INT(PLAN(&p, &o, "--nodes", "2", "--procs-per-node", "3",
	    "true"), 0);
	CHECK_INT(p.np, 6);
	CHECK_INT(p.nnodes, 2);
	CHECK_INT(p.all_local, 1);
	CHECK_STR(p.nodes[1].host, "localhost");
	CHECK_INT(p.nodes[1].first_rank, 3);
	CHECK_INT(p.nodes[1].nprocs, 3);
	check_layout(&p, "0/0 0/1 0/2 1/0 1/1 1/2");
	for (r = 0; r < 6; r++) {
		check_rank_env(&p, r);
		check_env_int(&p, r, "HOROVOD_CROSS_RANK", r / 3);
		check_env_int(&p, r, "HOROVOD_CROSS_SIZE", 2);
	}
	done(&p, &o);
	CHECK_INT(PLAN(&p, &o, "-n", "4", "--nodes", "4", "true"), 0);
	check_layout(&p, "0/0 1/0 2/0 3/0");
	check_env_int(&p, 3, "LOCAL_WORLD_SIZE", 1);
	check_env_int(&p, 3, "GROUP_WORLD_SIZE", 4);
	done(&p, &o);
}

static void
test_hosts(void)
{
	struct lch_plan p;
	struct lch_opts o;
	int r;

	CHECK_INT(PLAN(&p, &o, "-H", FAR_A ":2," FAR_B ":3", "true"), 0);
	CHECK_INT(p.np, 5);
	CHECK_INT(p.nnodes, 2);
	CHECK_INT(p.all_local, 0);
	CHECK_STR(p.nodes[0].host, FAR_A);
	CHECK_INT(p.nodes[0].local, 0);
	CHECK_STR(p.nodes[1].host, FAR_B);
	CHECK_INT(p.nodes[1].first_rank, 2);
	/* rank 0's node's address, a port its agent found */
	CHECK_STR(p.master_addr, "10.9.0.1");
	CHECK_INT(p.master_port, 20000);
	CHECK_INT(p.nodes[0].want_ports, 1);
	CHECK_INT(p.nodes[1].want_ports, 0);
	check_layout(&p, "0/0 0/1 1/0 1/1 1/2");
	for (r = 0; r < 5; r++)
		check_rank_env(&p, r);
	check_env(&p, 4, "MUSTER_HOST", FAR_B);
	/* each rank its own node's address and interface */
	check_env(&p, 1, "MUSTER_ADDR", "10.9.0.1");
	check_env(&p, 4, "MUSTER_ADDR", "10.9.0.2");
	check_env(&p, 4, "GLOO_SOCKET_IFNAME", "eth1");
	/* Horovod's cross rank: among the nodes that have this local rank */
	check_env_int(&p, 0, "HOROVOD_CROSS_RANK", 0);
	check_env_int(&p, 2, "HOROVOD_CROSS_RANK", 1);
	check_env_int(&p, 2, "HOROVOD_CROSS_SIZE", 2);
	check_env_int(&p, 4, "HOROVOD_CROSS_RANK", 0);
	check_env_int(&p, 4, "HOROVOD_CROSS_SIZE", 1);
	done(&p, &o);
}

static void
test_hosts_fill(void)
{
	struct lch_plan p;
	struct lch_opts o;

	/* -n fills hosts in order; an unused host is no node */
	CHECK_INT(PLAN(&p, &o, "-n", "3", "-H", "a:2,b:2,c:2", "true"), 0);
	CHECK_INT(p.nnodes, 2);
	check_layout(&p, "0/0 0/1 1/0");
	check_env_int(&p, 2, "LOCAL_WORLD_SIZE", 1);
	check_env_int(&p, 0, "GROUP_WORLD_SIZE", 2);
	done(&p, &o);
	/* --procs-per-node overrides the slots */
	CHECK_INT(PLAN(&p, &o, "-H", "a:4,b:4", "--procs-per-node", "1",
	    "true"), 0);
	CHECK_INT(p.np, 2);
	check_layout(&p, "0/0 1/0");
	CHECK_STR(p.nodes[1].host, "b");
	done(&p, &o);
	CHECK_INT(PLAN(&p, &o, "-n", "6", "--procs-per-node", "2", "-H",
	    "a,b,c,d", "true"), 0);
	CHECK_INT(p.nnodes, 3);
	check_layout(&p, "0/0 0/1 1/0 1/1 2/0 2/1");
	CHECK_STR(p.nodes[2].host, "c");
	done(&p, &o);
}

static void
test_hostfile(void)
{
	struct lch_plan p;
	struct lch_opts o;

	CHECK_INT(PLAN(&p, &o, "--hostfile", lh_write_file("# two hosts\n"
	    FAR_A " slots=2\n" FAR_B ":1\n"), "true"), 0);
	lh_remove_file();
	CHECK_INT(p.np, 3);
	check_layout(&p, "0/0 0/1 1/0");
	CHECK_STR(p.nodes[1].host, FAR_B);
	check_rank_env(&p, 2);
	done(&p, &o);
}

/*
 * A local host beside others: its ranks advertise the head's address,
 * the route toward the first other host (which here does not resolve:
 * a dry run says why, a run refuses naming this host).
 */
static void
test_localhost_beside_others(void)
{
	struct lch_plan p;
	struct lch_opts o;
	char me[256], want[512];

	CHECK_INT(gethostname(me, sizeof(me)), 0);
	CHECK_INT(PLAN_RAW(&p, &o, "-H", "localhost:1," FAR_A ":1", "true"), 0);
	CHECK_INT(p.nodes[0].local, 1);
	CHECK_INT(p.all_local, 0);
	CHECK_INT(lch_plan_choose_head(&p, &o, 1), 0);
	CHECK_STR(p.toward, FAR_A);
	CHECK_INT(p.have_head, 0);
	CHECK_(strstr(p.head_err, FAR_A) != NULL, "head_err '%s'", p.head_err);
	CHECK_INT(p.nodes[0].have_net, 0);
	/* a run lets ssh say first (only it may know the name) */
	lh_capture(2);
	CHECK_INT(lch_plan_choose_head(&p, &o, 0), 0);
	lh_captured();
	CHECK_STR(lh_err, "");
	CHECK_INT(p.have_head, 0);
	CHECK_(strstr(p.head_err, "cannot resolve '" FAR_A "'") != NULL,
	    "head_err '%s'", p.head_err);
	check_env(&p, 0, "MUSTER_HOST", "localhost");
	done(&p, &o);
	/* an address of ours is this machine: all local, loopback */
	CHECK_INT(PLAN_RAW(&p, &o, "-H", "127.0.0.1:2", "true"), 0);
	CHECK_INT(p.all_local, 1);
	CHECK_STR(p.master_addr, "127.0.0.1");
	CHECK_INT(lch_plan_choose_head(&p, &o, 0), 0);
	CHECK(p.toward == NULL);
	CHECK_STR(p.head.addr, "127.0.0.1");
	CHECK_STR(p.head.ifname, "lo");
	CHECK_INT(p.nodes[0].have_net, 1);
	done(&p, &o);
	/* a bad --iface is refused even when all is local */
	CHECK_INT(PLAN_RAW(&p, &o, "--iface", "muster-no-if", "-n", "1",
	    "true"), 0);
	lh_capture(2);
	CHECK_INT(lch_plan_choose_head(&p, &o, 0), -1);
	lh_captured();
	snprintf(want, sizeof(want), "muster: %s (this host): --iface "
	    "muster-no-if: ", me);
	CHECK_(strncmp(lh_err, want, strlen(want)) == 0, "said '%s'", lh_err);
	done(&p, &o);
}

/*
 * The interface names: the node's, unless the user set them (in our
 * environment, which local ranks inherit, or with -x, which wins).
 */
static void
test_socket_ifname(void)
{
	struct lch_plan p;
	struct lch_opts o;

	unsetenv("GLOO_SOCKET_IFNAME");
	unsetenv("NCCL_SOCKET_IFNAME");
	unsetenv("TP_SOCKET_IFNAME");
	CHECK_INT(PLAN(&p, &o, "-H", FAR_A ":1," FAR_B ":1", "true"), 0);
	check_env(&p, 1, "GLOO_SOCKET_IFNAME", "eth1");
	check_env(&p, 1, "NCCL_SOCKET_IFNAME", "eth1");
	check_env(&p, 1, "TP_SOCKET_IFNAME", "eth1");
	done(&p, &o);
	setenv("GLOO_SOCKET_IFNAME", "mine0", 1);
	CHECK_INT(PLAN(&p, &o, "-x", "NCCL_SOCKET_IFNAME=ib0", "-H",
	    FAR_A ":1," FAR_B ":1", "true"), 0);
	check_env(&p, 1, "GLOO_SOCKET_IFNAME", "mine0");	/* remote too */
	check_env(&p, 1, "NCCL_SOCKET_IFNAME", "ib0");
	check_env(&p, 0, "NCCL_SOCKET_IFNAME", "ib0");
	check_env(&p, 1, "TP_SOCKET_IFNAME", "eth1");
	done(&p, &o);
	unsetenv("GLOO_SOCKET_IFNAME");
	/* all local: loopback */
	CHECK_INT(PLAN(&p, &o, "--nodes", "2", "true"), 0);
	check_env(&p, 1, "GLOO_SOCKET_IFNAME", "lo");
	check_env(&p, 1, "MUSTER_ADDR", "127.0.0.1");
	done(&p, &o);
}

/* The ports a node's agent is asked for: MASTER_PORT's, TF_CONFIG's. */
static void
test_ports_wanted(void)
{
	struct lch_plan p;
	struct lch_opts o;

	CHECK_INT(PLAN_RAW(&p, &o, "--nodes", "3", "-n", "6", "true"), 0);
	CHECK_INT(p.nodes[0].want_ports, 1);
	CHECK_INT(p.nodes[1].want_ports, 0);
	CHECK_INT(p.nodes[2].want_ports, 0);
	done(&p, &o);
	CHECK_INT(PLAN_RAW(&p, &o, "--master-port", "29500", "--nodes", "2",
	    "true"), 0);
	CHECK_INT(p.nodes[0].want_ports, 0);
	done(&p, &o);
	CHECK_INT(PLAN_RAW(&p, &o, "--workers", "3", "--ps", "1", "--nodes",
	    "2", "true"), 0);
	CHECK_INT(p.nodes[0].want_ports, 3);	/* MASTER_PORT, 2 tasks */
	CHECK_INT(p.nodes[1].want_ports, 2);
	done(&p, &o);
}

static void
test_options_in_env(void)
{
	struct lch_plan p;
	struct lch_opts o;
	int r;

	CHECK_INT(PLAN(&p, &o, "-n", "2", "--master-addr", "10.1.2.3",
	    "--master-port", "29500", "--job-id", "myjob", "--output-dir",
	    "/data/out", "--max-restarts", "2", "true"), 0);
	CHECK_STR(p.job_id, "myjob");
	CHECK_INT(p.master_port, 29500);
	for (r = 0; r < 2; r++) {
		check_rank_env(&p, r);
		check_env(&p, r, "MASTER_ADDR", "10.1.2.3");
		check_env(&p, r, "MASTER_PORT", "29500");
		check_env(&p, r, "AZ_BATCH_MASTER_NODE", "10.1.2.3:29500");
		check_env(&p, r, "MUSTER_JOB_ID", "myjob");
		check_env(&p, r, "MUSTER_OUTPUT_DIR", "/data/out");
		check_env(&p, r, "TORCHELASTIC_MAX_RESTARTS", "2");
	}
	done(&p, &o);
}

/* -x sets or forwards, after everything else: it may override. */
static void
test_xvars(void)
{
	struct lch_plan p;
	struct lch_opts o;

	setenv("MUSTER_TEST_FWD", "from here", 1);
	unsetenv("MUSTER_TEST_UNSET");
	CHECK_INT(PLAN(&p, &o, "-n", "2", "-x", "A=1", "-x", "MUSTER_TEST_FWD",
	    "-x", "MUSTER_TEST_UNSET", "-x", "RANK=7", "-x", "E=", "-x",
	    "A=2", "true"), 0);
	check_env(&p, 1, "A", "2");
	check_env(&p, 1, "MUSTER_TEST_FWD", "from here");
	check_unset(&p, 1, "MUSTER_TEST_UNSET");
	check_env(&p, 0, "RANK", "7");
	check_env(&p, 1, "RANK", "7");
	check_env(&p, 1, "MUSTER_RANK", "1");
	check_env(&p, 0, "E", "");
	done(&p, &o);
}

/* Roles in order, each "type/index/size". */
static void
check_roles(const struct lch_plan *p, const char *want)
{
	char got[1024] = "";
	size_t n = 0;
	int r;

	for (r = 0; r < p->np; r++) {
		const struct lch_rank *rk = &p->ranks[r];

		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s/%d/%d",
		    r ? " " : "", rk->role, rk->role_index, rk->role_size);
		check_env(p, r, "ROLE_NAME", rk->role);
		check_env_int(p, r, "ROLE_RANK", rk->role_index);
		check_env_int(p, r, "ROLE_WORLD_SIZE", rk->role_size);
	}
	CHECK_STR(got, want);
}

/*
 * Rank r's TF_CONFIG: its task, and the cluster as "type:N ..." (e.g.
 * "chief:1 worker:2 ps:1"); the cluster's text is the same on every rank.
 */
static void
check_tf(const struct lch_plan *p, int r, const char *cluster_shape,
	 char *cluster_out, size_t cluster_len)
{
	const char *s = lch_env_get(&p->ranks[r].env, "TF_CONFIG");
	cJSON *tf = s ? cJSON_Parse(s) : NULL, *cl, *task, *t;
	char shape[256] = "", *cs;
	size_t n = 0;

	CHECK_(tf != NULL, "rank %d: TF_CONFIG '%s'", r, s ? s : "(unset)");
	if (tf == NULL)
		return;
	cl = cJSON_GetObjectItemCaseSensitive(tf, "cluster");
	task = cJSON_GetObjectItemCaseSensitive(tf, "task");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(tf,
	    "environment")), "cloud");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(task,
	    "type")), p->ranks[r].role);
	t = cJSON_GetObjectItemCaseSensitive(task, "index");
	CHECK(cJSON_IsNumber(t) && t->valueint == p->ranks[r].role_index);
	cJSON_ArrayForEach(t, cl)
		n += (size_t)snprintf(shape + n, sizeof(shape) - n, "%s%s:%d",
		    n ? " " : "", t->string, cJSON_GetArraySize(t));
	CHECK_STR(shape, cluster_shape);
	cs = cJSON_PrintUnformatted(cl);
	if (cluster_out[0])
		CHECK_(strcmp(cs, cluster_out) == 0, "rank %d: cluster %s, "
		    "rank 0's %s", r, cs, cluster_out);
	else
		snprintf(cluster_out, cluster_len, "%s", cs);
	free(cs);
	cJSON_Delete(tf);
}

/* Every address in the cluster: "127.0.0.1:PORT", the ports distinct. */
static void
check_tf_addrs(const char *cluster, int ntasks)
{
	cJSON *cl = cJSON_Parse(cluster), *type, *a;
	int ports[64], n = 0, i;

	cJSON_ArrayForEach(type, cl)
		cJSON_ArrayForEach(a, type) {
			const char *s = cJSON_GetStringValue(a);
			int port = 0;

			CHECK_(s && sscanf(s, "127.0.0.1:%d", &port) == 1 &&
			    port > 0 && port < 65536, "address '%s'", s);
			for (i = 0; i < n; i++)
				CHECK_(ports[i] != port, "port %d twice", port);
			if (n < 64)
				ports[n++] = port;
		}
	CHECK_INT(n, ntasks);
	cJSON_Delete(cl);
}

static void
test_ps_roles(void)
{
	char cluster[4096] = "";
	struct lch_plan p;
	struct lch_opts o;
	int r;

	CHECK_INT(PLAN(&p, &o, "--chief", "--workers", "2", "--ps", "1",
	    "--evaluator", "true"), 0);
	CHECK_INT(p.np, 5);
	check_roles(&p, "chief/0/1 worker/0/2 worker/1/2 ps/0/1 evaluator/0/1");
	check_layout(&p, "0/0 0/1 0/2 0/3 0/4");
	for (r = 0; r < 5; r++) {
		check_rank_env(&p, r);	/* RANK stays global */
		/* the evaluator is no part of the training cluster */
		check_tf(&p, r, "chief:1 worker:2 ps:1", cluster,
		    sizeof(cluster));
	}
	check_tf_addrs(cluster, 4);
	done(&p, &o);
}

static void
test_ps_shapes(void)
{
	char cluster[4096] = "";
	struct lch_plan p;
	struct lch_opts o;

	CHECK_INT(PLAN(&p, &o, "--workers", "3", "true"), 0);
	check_roles(&p, "worker/0/3 worker/1/3 worker/2/3");
	check_tf(&p, 2, "worker:3", cluster, sizeof(cluster));
	done(&p, &o);
	cluster[0] = '\0';
	CHECK_INT(PLAN(&p, &o, "--ps", "2", "true"), 0);
	check_roles(&p, "worker/0/1 ps/0/2 ps/1/2");
	check_tf(&p, 0, "worker:1 ps:2", cluster, sizeof(cluster));
	check_tf(&p, 2, "worker:1 ps:2", cluster, sizeof(cluster));
	check_tf_addrs(cluster, 3);
	done(&p, &o);
	cluster[0] = '\0';
	CHECK_INT(PLAN(&p, &o, "--chief", "--workers", "0", "--ps", "1",
	    "true"), 0);
	check_roles(&p, "chief/0/1 ps/0/1");
	check_tf(&p, 1, "chief:1 ps:1", cluster, sizeof(cluster));
	done(&p, &o);
}

/* ps mode on nodes: tasks fill nodes of --procs-per-node in role order. */
static void
test_ps_nodes(void)
{
	char cluster[4096] = "";
	struct lch_plan p;
	struct lch_opts o;

	CHECK_INT(PLAN(&p, &o, "--chief", "--workers", "2", "--ps", "1",
	    "--procs-per-node", "2", "true"), 0);
	CHECK_INT(p.nnodes, 2);
	check_layout(&p, "0/0 0/1 1/0 1/1");
	check_roles(&p, "chief/0/1 worker/0/2 worker/1/2 ps/0/1");
	check_env_int(&p, 3, "GROUP_RANK", 1);
	check_tf(&p, 3, "chief:1 worker:2 ps:1", cluster, sizeof(cluster));
	check_tf_addrs(cluster, 4);
	done(&p, &o);
	CHECK_INT(PLAN(&p, &o, "--chief", "--workers", "4", "--ps", "2",
	    "--evaluator", "--nodes", "3", "true"), 0);
	CHECK_INT(p.nnodes, 3);
	check_layout(&p, "0/0 0/1 0/2 1/0 1/1 1/2 2/0 2/1");
	done(&p, &o);
	/* with other hosts, each task at its node's address, with a port
	 * its node's agent found (node 0's first is MASTER_PORT's) */
	CHECK_INT(PLAN(&p, &o, "--workers", "2", "-H", FAR_A ":1," FAR_B ":1",
	    "true"), 0);
	check_layout(&p, "0/0 1/0");
	cluster[0] = '\0';
	check_tf(&p, 0, "worker:2", cluster, sizeof(cluster));
	CHECK_STR(cluster, "{\"worker\":[\"10.9.0.1:20001\",\"10.9.0.2:20100\"]}");
	check_env(&p, 1, "MASTER_PORT", "20000");
	done(&p, &o);
}

static void
test_build_errors(void)
{
	struct lch_plan p;
	struct lch_opts o;

	/* ps mode counts tasks, not slots: the plan says they do not fit */
	CHECK_INT(PLAN(&p, &o, "--chief", "--workers", "4", "-H", "a:1,b:1",
	    "true"), -1);
	CHECK_STR(lh_err, "muster: -n 5: the hosts give only 2 slots\n");
	done(&p, &o);
	CHECK_INT(PLAN(&p, &o, "--workers", "4", "--nodes", "2",
	    "--procs-per-node", "1", "true"), -1);
	CHECK_STR(lh_err, "muster: -n 4: 2 processes do not fit on 2 nodes\n");
	done(&p, &o);
}

static void
test_setenv(void)
{
	struct lch_plan p;
	struct lch_opts o;
	size_t before;
	int r;

	CHECK_INT(PLAN(&p, &o, "-n", "3", "true"), 0);
	before = p.ranks[2].env.kv.n;
	lch_plan_setenv(&p, "MUSTER_RENDEZVOUS", "tcp://h:1");
	lch_plan_setenv(&p, "MUSTER_RENDEZVOUS", "tcp://h:2");
	lch_plan_setenv(&p, "RANK", "x");
	for (r = 0; r < 3; r++) {
		check_env(&p, r, "MUSTER_RENDEZVOUS", "tcp://h:2");
		check_env(&p, r, "RANK", "x");
	}
	CHECK_INT(p.ranks[2].env.kv.n, before + 1);
	done(&p, &o);
}

/* --dry-run: one JSON object per rank per line, never the secret. */
static void
test_print(void)
{
	char buf[65536], *line, *save = NULL;
	struct lch_plan p;
	struct lch_opts o;
	FILE *f = tmpfile();
	size_t len;
	int r = 0;

	CHECK_INT(PLAN(&p, &o, "--nodes", "2", "--procs-per-node", "1", "prog",
	    "a b"), 0);
	lch_plan_setenv(&p, "MUSTER_JOB_SECRET", p.secret);
	lch_plan_setenv(&p, "MUSTER_RENDEZVOUS", "tcp://h:1");
	lch_plan_print(&p, fileno(f));
	rewind(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	fclose(f);
	CHECK(strstr(buf, p.secret) == NULL);
	for (line = strtok_r(buf, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save), r++) {
		cJSON *j = cJSON_Parse(line), *env;

		CHECK_(j != NULL, "line %d: %s", r, line);
		if (j == NULL)
			continue;
		env = cJSON_GetObjectItemCaseSensitive(j, "env");
		CHECK_INT(cJSON_GetObjectItemCaseSensitive(j, "rank")->valueint, r);
		CHECK_INT(cJSON_GetObjectItemCaseSensitive(j,
		    "local_rank")->valueint, 0);
		CHECK_INT(cJSON_GetObjectItemCaseSensitive(j,
		    "node_rank")->valueint, r);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    j, "host")), "localhost");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(
		    cJSON_GetObjectItemCaseSensitive(j, "argv"), 1)), "a b");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    env, "RANK")), r ? "1" : "0");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    env, "MUSTER_RENDEZVOUS")), "tcp://h:1");
		CHECK(cJSON_GetObjectItemCaseSensitive(env,
		    "MUSTER_JOB_SECRET") == NULL);
		CHECK_INT(cJSON_GetArraySize(env),
		    (long long)p.ranks[r].env.kv.n - 1);
		cJSON_Delete(j);
	}
	CHECK_INT(r, 2);
	done(&p, &o);
}

/*
 * --dry-run before any facts: known values where they are known, else
 * the rule; "net" per rank says how its node's address is chosen.
 */
static void
test_print_rules(void)
{
	char buf[65536];
	struct lch_plan p;
	struct lch_opts o;
	FILE *f = tmpfile();
	size_t len;

	CHECK_INT(PLAN_RAW(&p, &o, "-H", FAR_A ":1," FAR_B ":1", "true"), 0);
	CHECK_INT(lch_plan_choose_head(&p, &o, 1), 0);
	CHECK_INT(lch_plan_set_net(&p, &o, 1), 0);
	lch_plan_print(&p, fileno(f));
	rewind(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	fclose(f);
	CHECK_(strstr(buf, "\"net\":{\"addr\":\"route toward this host "
	    "(chosen on " FAR_B " at start)\"") != NULL, "%s", buf);
	CHECK_(strstr(buf, "\"MASTER_ADDR\":\"(address of " FAR_A
	    ", chosen there at start)\"") != NULL, "%s", buf);
	CHECK_(strstr(buf, "\"ports\":\"1 free on " FAR_A) != NULL, "%s",
	    buf);
	done(&p, &o);
}

/*
 * 10^5 hosts of one rank each: Horovod's cross rank was found with a pass
 * over the nodes for every rank (10^10 steps, 11 s); the plan is linear
 * now (1 s).  5 s is generous; instrumented builds get TEST_SLOWDOWN
 * times as long.
 */
static void
test_many_nodes(void)
{
	struct lch_plan p;
	struct lch_opts o;
	struct timespec t0, t1;
	size_t cap = 100000 * 10, len = 0;
	char *hosts = malloc(cap);
	double secs;
	int i, rc;

	for (i = 0; i < 100000; i++)
		len += (size_t)snprintf(hosts + len, cap - len, "%sh%d",
		    i ? "," : "", i);
	CHECK_INT(FINISH(&o, "-H", hosts, "true"), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = plan_of(&p, &o, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "# a plan of 10^5 nodes: %.2f s\n", secs);
	CHECK_INT(rc, 0);
	CHECK_(secs < 5.0 * TEST_SLOWDOWN, "a plan of 10^5 nodes took %.1f s",
	    secs);
	CHECK_INT(p.np, 100000);
	CHECK_INT(p.nnodes, 100000);
	check_env_int(&p, 99999, "HOROVOD_CROSS_RANK", 99999);
	check_env_int(&p, 99999, "HOROVOD_CROSS_SIZE", 100000);
	check_env(&p, 99999, "MUSTER_HOST", "h99999");
	done(&p, &o);
	free(hosts);
}

TEST_LIST = {
	{ "local_n", test_local_n },
	{ "one_rank", test_one_rank },
	{ "virtual_nodes", test_virtual_nodes },
	{ "hosts", test_hosts },
	{ "hosts_fill", test_hosts_fill },
	{ "hostfile", test_hostfile },
	{ "localhost_beside_others", test_localhost_beside_others },
	{ "options_in_env", test_options_in_env },
	{ "xvars", test_xvars },
	{ "ps_roles", test_ps_roles },
	{ "ps_shapes", test_ps_shapes },
	{ "ps_nodes", test_ps_nodes },
	{ "build_errors", test_build_errors },
	{ "setenv", test_setenv },
	{ "print", test_print },
	{ "print_rules", test_print_rules },
	{ "socket_ifname", test_socket_ifname },
	{ "ports_wanted", test_ports_wanted },
	{ "many_nodes", test_many_nodes },
	{ NULL, NULL }
};
