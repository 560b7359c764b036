/*
 * slurm_test.c: the allocation as the environment gives it (slurm.h):
 * count lists, lch_slurm_detect with the variables set and unset, the
 * agent step's srun argv, and --launcher with the allocation in
 * lch_opts_finish (options.h).  Each case is its own process, so setenv
 * stays there; srun is a scratch executable put first in PATH.
 */
#include <sys/stat.h>

#include "launcher_harness.h"
#include "slurm.h"

static char err[1024];
static char srun_dir[64];

static void
check_counts(const char *spec, int n, const char *want)
{
	int counts[16], i;
	char got[256] = "";

	if (lch_slurm_counts(spec, counts, n, err, sizeof(err)) != 0) {
		CHECK_(0, "'%s' (%d): %s", spec, n, err);
		return;
	}
	for (i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%d",
		    i ? " " : "", counts[i]);
	CHECK_STR(got, want);
}

static void
test_counts(void)
{
	check_counts("4", 1, "4");
	check_counts("2(x3),1", 4, "2 2 2 1");
	check_counts("72(x2),36", 3, "72 72 36");
	check_counts("1(x2)", 2, "1 1");
	check_counts("2,1", 2, "2 1");
	check_counts("1048576", 1, "1048576");
	check_counts("3,1(x2),5(x1)", 4, "3 1 1 5");
}

static void
check_counts_bad(const char *spec, int n, const char *want)
{
	int counts[16];

	err[0] = '\0';
	CHECK_(lch_slurm_counts(spec, counts, n, err, sizeof(err)) == -1,
	    "'%s' (%d) accepted", spec, n);
	CHECK_STR(err, want);
}

#define FORM "expected counts from 1 to 1048576, as \"2(x3),1\""
#define REPEAT "expected a repeat \"(xR)\" of R from 1 to 1048576"

#define OF "(expected counts as \"2(x3),1\")"
#define ZERO "of 0 (expected counts from 1, as \"2(x3),1\")"

static void
test_counts_bad(void)
{
	static const struct {
		const char *spec;
		int n;
		const char *want;
	} bad[] = {
		{ "", 1, "empty " OF },
		{ "0", 1, "a count " ZERO },
		{ "2,0", 2, "a count " ZERO },
		{ "2(x0)", 1, "a repeat " ZERO },
		{ "x", 1, FORM },
		{ "-1", 1, FORM },
		{ "+1", 1, FORM },
		{ " 1", 1, FORM },
		{ "1048577", 1, FORM },
		{ "99999999999999999999", 1, FORM },
		{ "2(x", 2, REPEAT },
		{ "2(x2", 2, REPEAT },
		{ "2(xa)", 2, REPEAT },
		{ "2(x99999999999999999999)", 2, REPEAT },
		{ "2(2)", 2, "unexpected '(' " OF },
		{ "2 ", 1, "unexpected ' ' " OF },
		{ "2;1", 2, "unexpected ';' " OF },
		{ "2,", 2, "ends in ',' " OF },
		{ ",2", 2, FORM },
		{ "2,,1", 3, FORM },
		{ "2(x3),1", 3, "more counts than the 3 nodes" },
		{ "2(x3),1", 5, "4 counts for 5 nodes" },
		{ "4", 2, "1 count for 2 nodes" },
		{ "2(x1048576)", 2, "more counts than the 2 nodes" },
		{ NULL, 0, NULL }
	};
	int i;

	for (i = 0; bad[i].spec; i++)
		check_counts_bad(bad[i].spec, bad[i].n, bad[i].want);
}

/*
 * Random strings over the list's alphabet: never a crash, and whatever
 * is accepted gives exactly n counts, each from 1 to LCH_SLOTS_MAX, and
 * the message is never empty otherwise.
 */
static void
test_counts_random(void)
{
	static const char abc[] = "0123456789(x),1(x2)";
	char spec[24];
	int counts[8], i, k, n, len, ok = 0;

	srand(10);
	for (i = 0; i < 200000; i++) {
		len = rand() % (int)(sizeof(spec) - 1);
		for (k = 0; k < len; k++)
			spec[k] = abc[rand() % (int)(sizeof(abc) - 1)];
		spec[len] = '\0';
		n = 1 + rand() % 8;
		for (k = 0; k < n; k++)
			counts[k] = -1;
		err[0] = '\0';
		if (lch_slurm_counts(spec, counts, n, err, sizeof(err)) != 0) {
			CHECK_(err[0], "'%s' (%d): no message", spec, n);
			continue;
		}
		ok++;
		for (k = 0; k < n; k++)
			CHECK_(counts[k] >= 1 && counts[k] <= LCH_SLOTS_MAX,
			    "'%s' (%d): count %d is %d", spec, n, k, counts[k]);
	}
	CHECK(ok > 100);	/* some were lists */
}

/* An executable srun first in PATH (a scratch folder per process). */
static void
fake_srun(void)
{
	char path[128], *p;
	FILE *f;

	snprintf(srun_dir, sizeof(srun_dir), "/tmp/muster-srun-%d",
	    (int)getpid());
	mkdir(srun_dir, 0700);
	snprintf(path, sizeof(path), "%s/srun", srun_dir);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		_exit(1);
	}
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	chmod(path, 0755);
	p = lch_xasprintf("%s:/usr/bin:/bin", srun_dir);
	setenv("PATH", p, 1);
	free(p);
}

static void
no_srun(void)
{
	setenv("PATH", "/nonexistent", 1);
}

static void
rm_srun(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/srun", srun_dir);
	unlink(path);
	rmdir(srun_dir);
}

/* salloc -N2 -n4's shell, as the test cluster shows it (slurm-env.md). */
static void
salloc_env(void)
{
	static const char *const clear[] = { "SLURM_STEP_ID", "SLURM_PROCID",
		"SLURM_STEP_NUM_TASKS", "SLURM_NTASKS_PER_NODE", NULL };
	int i;

	for (i = 0; clear[i]; i++)
		unsetenv(clear[i]);
	setenv("SLURM_JOB_ID", "12", 1);
	setenv("SLURM_JOB_NODELIST", "n[1-2]", 1);
	setenv("SLURM_NTASKS", "4", 1);
	setenv("SLURM_TASKS_PER_NODE", "2(x2)", 1);
	setenv("SLURM_JOB_CPUS_PER_NODE", "2(x2)", 1);
}

static void
test_detect_unset(void)
{
	struct lch_slurm s;

	unsetenv("SLURM_JOB_ID");
	setenv("SLURM_JOB_NODELIST", "n[1-", 1);	/* never read */
	CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), 0);
	CHECK(s.nodes == NULL && s.job_id == NULL && s.nnodes == 0);
	setenv("SLURM_JOB_ID", "", 1);
	CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), 0);
	lch_slurm_release(&s);
}

static void
test_detect(void)
{
	struct lch_slurm s;

	fake_srun();
	salloc_env();
	CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), 1);
	CHECK_STR(s.job_id, "12");
	CHECK_INT(s.nnodes, 2);
	CHECK_STR(s.nodes[0], "n1");
	CHECK_STR(s.nodes[1], "n2");
	CHECK(s.nodes[2] == NULL);
	CHECK_INT(s.slots[0], 2);
	CHECK_INT(s.slots[1], 2);
	CHECK_STR(s.nodelist, "n[1-2]");
	CHECK_STR(s.slots_from, "SLURM_TASKS_PER_NODE=2(x2)");
	CHECK_INT(s.in_step, 0);
	CHECK(s.srun && strncmp(s.srun, srun_dir, strlen(srun_dir)) == 0);
	lch_slurm_release(&s);

	/* uneven: salloc -N2 -n3 */
	setenv("SLURM_TASKS_PER_NODE", "2,1", 1);
	CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), 1);
	CHECK_INT(s.slots[0], 2);
	CHECK_INT(s.slots[1], 1);
	lch_slurm_release(&s);

	/* salloc -N2 (no -n): the CPUs, whatever SLURM_TASKS_PER_NODE says */
	unsetenv("SLURM_NTASKS");
	setenv("SLURM_TASKS_PER_NODE", "1(x2)", 1);
	setenv("SLURM_JOB_CPUS_PER_NODE", "4,2", 1);
	CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), 1);
	CHECK_STR(s.slots_from, "SLURM_JOB_CPUS_PER_NODE=4,2");
	CHECK_INT(s.slots[0], 4);
	CHECK_INT(s.slots[1], 2);
	lch_slurm_release(&s);

	/* --ntasks-per-node: the same on every node */
	setenv("SLURM_NTASKS_PER_NODE", "3", 1);
	CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), 1);
	CHECK_STR(s.slots_from, "SLURM_NTASKS_PER_NODE=3");
	CHECK_INT(s.slots[0], 3);
	CHECK_INT(s.slots[1], 3);
	lch_slurm_release(&s);

	/* no srun: still an allocation, srun NULL */
	no_srun();
	CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), 1);
	CHECK(s.srun == NULL);
	lch_slurm_release(&s);
	rm_srun();
}

static void
test_detect_steps(void)
{
	struct lch_slurm s;

	salloc_env();
	/* the batch script: no SLURM_STEP_ID, SLURM_PROCID=0 */
	setenv("SLURM_PROCID", "0", 1);
	CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), 1);
	CHECK_INT(s.in_step, 0);
	lch_slurm_release(&s);
	/* the interactive step, extern, batch: special ids */
	setenv("SLURM_STEP_ID", "4294967290", 1);
	CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), 1);
	CHECK_INT(s.in_step, 0);
	lch_slurm_release(&s);
	setenv("SLURM_STEP_ID", "batch", 1);
	CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), 1);
	CHECK_INT(s.in_step, 0);
	lch_slurm_release(&s);
	/* srun -n2 muster: task 1 of a step; the slots are the CPUs */
	setenv("SLURM_STEP_ID", "0", 1);
	setenv("SLURM_STEP_NUM_TASKS", "2", 1);
	setenv("SLURM_PROCID", "1", 1);
	setenv("SLURM_NTASKS", "2", 1);
	setenv("SLURM_TASKS_PER_NODE", "1(x2)", 1);
	setenv("SLURM_JOB_CPUS_PER_NODE", "2(x2)", 1);
	CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), 1);
	CHECK_INT(s.in_step, 1);
	CHECK_INT(s.step_tasks, 2);
	CHECK_INT(s.procid, 1);
	CHECK_STR(s.slots_from, "SLURM_JOB_CPUS_PER_NODE=2(x2)");
	lch_slurm_release(&s);
	/* srun -n1 muster: the step's one count is not the job's two */
	setenv("SLURM_STEP_NUM_TASKS", "1", 1);
	setenv("SLURM_PROCID", "0", 1);
	setenv("SLURM_TASKS_PER_NODE", "1", 1);
	CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), 1);
	CHECK_INT(s.slots[1], 2);
	lch_slurm_release(&s);
}

static void
check_detect_bad(const char *var, const char *val, const char *want)
{
	struct lch_slurm s;

	salloc_env();
	if (val)
		setenv(var, val, 1);
	else
		unsetenv(var);
	err[0] = '\0';
	CHECK_(lch_slurm_detect(&s, err, sizeof(err)) == -1, "%s='%s' accepted",
	    var, val ? val : "(unset)");
	CHECK_STR(err, want);
	CHECK(s.nodes == NULL && s.job_id == NULL);
}

static void
test_detect_bad(void)
{
	check_detect_bad("SLURM_JOB_ID", "7x", "SLURM_JOB_ID '7x': expected a "
	    "Slurm job number");
	check_detect_bad("SLURM_JOB_NODELIST", NULL, "SLURM_JOB_NODELIST is "
	    "not set (Slurm job 12: expected its nodes, as \"n[1-4]\")");
	check_detect_bad("SLURM_JOB_NODELIST", "", "SLURM_JOB_NODELIST is "
	    "empty (Slurm job 12: expected its nodes, as \"n[1-4]\")");
	check_detect_bad("SLURM_JOB_NODELIST", "n[1-", "SLURM_JOB_NODELIST: "
	    "'n[1-': '[' without ']' (expected Slurm's hostlist, as "
	    "\"n[1-4]\")");
	check_detect_bad("SLURM_TASKS_PER_NODE", NULL, "SLURM_TASKS_PER_NODE "
	    "is not set (Slurm job 12: expected the tasks of each node, as "
	    "\"2(x3),1\")");
	check_detect_bad("SLURM_TASKS_PER_NODE", "2(x3)",
	    "SLURM_TASKS_PER_NODE '2(x3)': more counts than the 2 nodes "
	    "(SLURM_JOB_NODELIST 'n[1-2]' has 2)");
	check_detect_bad("SLURM_TASKS_PER_NODE", "4", "SLURM_TASKS_PER_NODE "
	    "'4': 1 count for 2 nodes (SLURM_JOB_NODELIST 'n[1-2]' has 2)");
	check_detect_bad("SLURM_TASKS_PER_NODE", "2,0", "SLURM_TASKS_PER_NODE "
	    "'2,0': a count of 0 (expected counts from 1, as \"2(x3),1\") "
	    "(SLURM_JOB_NODELIST 'n[1-2]' has 2)");
	check_detect_bad("SLURM_NTASKS_PER_NODE", "0", "SLURM_NTASKS_PER_NODE "
	    "'0': expected a number from 1 to 1048576");
	unsetenv("SLURM_NTASKS");
	salloc_env();
	setenv("SLURM_STEP_ID", "3", 1);
	setenv("SLURM_STEP_NUM_TASKS", "x", 1);
	err[0] = '\0';
	{
		struct lch_slurm s;

		CHECK_INT(lch_slurm_detect(&s, err, sizeof(err)), -1);
	}
	CHECK_STR(err, "SLURM_STEP_NUM_TASKS 'x': expected the tasks of job "
	    "step 3 (a number from 1)");
}

/* The step's argv joined by blanks. */
static void
check_argv(const struct lch_srun_step *st, const char *want)
{
	struct lch_strv v = LCH_STRV_INIT;
	char got[2048] = "";
	size_t i;

	lch_slurm_srun_argv(st, &v);
	for (i = 0; i < v.n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
		    i ? " " : "", v.v[i]);
	CHECK(v.v[v.n] == NULL);
	CHECK_STR(got, want);
	lch_strv_clear(&v);
}

#define STEP_OPTS "--kill-on-bad-exit=1 --cpu-bind=none --mem-bind=none " \
	"--overlap --input=none --export=ALL --job-name=muster"

static void
test_srun_argv(void)
{
	static char n1[] = "n1", n2[] = "n2", n3[] = "n3", id[] = "12",
	    list[] = "n[1-3]", srun[] = "/usr/bin/srun";
	char *nodes[] = { n1, n2, n3, NULL };
	int slots[] = { 2, 2, 2 };
	struct lch_slurm s = { 0 };
	const char *all[] = { "n1", "n2", "n3" }, *some[] = { "n1", "n3" };
	struct lch_srun_step st = { &s, all, 3, "/opt/muster/bin/muster",
		"10.0.0.1:4242" };

	s.job_id = id;
	s.nodes = nodes;
	s.slots = slots;
	s.nnodes = 3;
	s.nodelist = list;
	s.srun = srun;
	check_argv(&st, "/usr/bin/srun --jobid=12 --nodes=3 --ntasks=3 "
	    "--ntasks-per-node=1 --nodelist=n[1-3] " STEP_OPTS
	    " /opt/muster/bin/muster --agent --dial 10.0.0.1:4242");
	/* a subset: a comma list, and --remote-muster's path as given */
	st.hosts = some;
	st.nhosts = 2;
	st.muster = "/shared/muster";
	check_argv(&st, "/usr/bin/srun --jobid=12 --nodes=2 --ntasks=2 "
	    "--ntasks-per-node=1 --nodelist=n1,n3 " STEP_OPTS
	    " /shared/muster --agent --dial 10.0.0.1:4242");
	st.hosts = some + 1;
	st.nhosts = 1;
	s.srun = NULL;
	check_argv(&st, "srun --jobid=12 --nodes=1 --ntasks=1 "
	    "--ntasks-per-node=1 --nodelist=n3 " STEP_OPTS
	    " /shared/muster --agent --dial 10.0.0.1:4242");
}

#define CHECK_FAILS(want, ...) do { \
	struct lch_opts o_; \
	CHECK_INT(FINISH(&o_, __VA_ARGS__), -1); \
	CHECK_STR(lh_err, want); \
	lch_opts_release(&o_); \
} while (0)

/* The hosts o ended with, as "n1:2 n2:2", and its counts. */
static void
check_hosts(struct lch_opts *o, const char *want, long np)
{
	char got[512] = "";
	size_t i;

	for (i = 0; i < o->hosts.n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got),
		    "%s%s:%d", i ? " " : "", o->hosts.h[i].name,
		    o->hosts.h[i].slots);
	CHECK_STR(got, want);
	CHECK_INT(o->np, np);
}

static void
test_launcher(void)
{
	struct lch_opts o;

	/* outside an allocation */
	unsetenv("SLURM_JOB_ID");
	fake_srun();
	CHECK_INT(FINISH(&o, "true"), 0);
	CHECK_INT(o.launcher, LCH_LAUNCH_LOCAL);
	CHECK(o.slurm == NULL);
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "-H", "localhost:2", "true"), 0);
	CHECK_INT(o.launcher, LCH_LAUNCH_LOCAL);
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "-H", "localhost:2,elsewhere-host", "true"), 0);
	CHECK_INT(o.launcher, LCH_LAUNCH_SSH);
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "--mpi", "true"), 0);
	CHECK_INT(o.launcher, LCH_LAUNCH_MPI);
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "--launcher", "mpi", "true"), 0);
	CHECK_INT(o.mpi, 1);
	lch_opts_release(&o);
	CHECK_FAILS("muster: --mpi: starts the ranks with mpirun, not with "
	    "--launcher ssh (--launcher mpi is --mpi)\n", "--mpi",
	    "--launcher", "ssh", "true");
	CHECK_FAILS("muster: --launcher slurm: not inside a Slurm allocation "
	    "(SLURM_JOB_ID is not set: run muster under salloc or sbatch)\n",
	    "--launcher", "slurm", "true");
	/* inside one */
	salloc_env();
	CHECK_INT(FINISH(&o, "true"), 0);
	CHECK_INT(o.launcher, LCH_LAUNCH_SLURM);
	CHECK(o.slurm && o.slurm_hosts);
	check_hosts(&o, "n1:2 n2:2", 4);
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "--launcher", "local", "true"), 0);
	check_hosts(&o, "", 1);
	CHECK(o.slurm == NULL);
	lch_opts_release(&o);
	/* mpi inside: the allocation's hosts; ssh with -H: not used */
	CHECK_INT(FINISH(&o, "--mpi", "true"), 0);
	check_hosts(&o, "n1:2 n2:2", 4);
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "--launcher", "ssh", "true"), 0);
	check_hosts(&o, "n1:2 n2:2", 4);
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "--launcher", "ssh", "-H", "n9", "true"), 0);
	CHECK(o.slurm == NULL);
	lch_opts_release(&o);
	/* no srun: auto leaves the allocation alone, slurm is refused */
	no_srun();
	CHECK_INT(FINISH(&o, "true"), 0);
	CHECK_INT(o.launcher, LCH_LAUNCH_LOCAL);
	CHECK(o.slurm == NULL);
	lch_opts_release(&o);
	CHECK_FAILS("muster: --launcher slurm: srun not found in PATH (Slurm "
	    "job 12)\n", "--launcher", "slurm", "true");
	rm_srun();
}

static void
test_alloc_counts(void)
{
	struct lch_opts o;

	fake_srun();
	salloc_env();
	CHECK_INT(FINISH(&o, "-n", "3", "true"), 0);
	check_hosts(&o, "n1:2 n2:2", 3);
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "--nodes", "1", "--procs-per-node", "2", "true"),
	    0);
	CHECK_INT(o.np, 2);
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "-H", "n2:2", "true"), 0);
	check_hosts(&o, "n2:2", 2);
	CHECK(o.slurm && !o.slurm_hosts);
	lch_opts_release(&o);
	CHECK_FAILS("muster: -n 5: the Slurm allocation (job 12) holds 4 tasks "
	    "(SLURM_TASKS_PER_NODE=2(x2))\n", "-n", "5", "true");
	CHECK_FAILS("muster: --nodes 3: the Slurm allocation (job 12) holds 2 "
	    "nodes\n", "--nodes", "3", "true");
	CHECK_FAILS("muster: --procs-per-node 3: node n1 of Slurm job 12 holds "
	    "2 tasks (SLURM_TASKS_PER_NODE=2(x2))\n", "--procs-per-node", "3",
	    "true");
	CHECK_FAILS("muster: -n 6 over --nodes 2: 3 on node n1, which holds 2 "
	    "tasks in Slurm job 12 (SLURM_TASKS_PER_NODE=2(x2))\n", "-n", "6",
	    "--nodes", "2", "true");
	CHECK_FAILS("muster: -H n9: not a node of Slurm job 12 (n[1-2])\n",
	    "-H", "n1,n9", "true");
	CHECK_FAILS("muster: -H n2:3: node n2 of Slurm job 12 holds 2 tasks "
	    "(SLURM_TASKS_PER_NODE=2(x2))\n", "-H", "n2:3", "true");
	CHECK_FAILS("muster: --procs-per-node 3: node n2 of Slurm job 12 holds "
	    "2 tasks (SLURM_TASKS_PER_NODE=2(x2))\n", "-H", "n2",
	    "--procs-per-node", "3", "true");
	{
		const char *hf = lh_write_file("n1 slots=2\nn3 slots=1\n");
		char want[256];

		snprintf(want, sizeof(want), "muster: --hostfile '%s': n3: not "
		    "a node of Slurm job 12 (n[1-2])\n", hf);
		CHECK_FAILS(want, "--hostfile", hf, "true");
		lh_write_file("n2 slots=2\nn1 slots=1\n");
		CHECK_INT(FINISH(&o, "--hostfile", hf, "true"), 0);
		check_hosts(&o, "n2:2 n1:1", 3);
		lch_opts_release(&o);
		lh_remove_file();
	}
	/* the CPUs, when no tasks were asked for */
	unsetenv("SLURM_NTASKS");
	setenv("SLURM_JOB_CPUS_PER_NODE", "1(x2)", 1);
	CHECK_FAILS("muster: -n 3: the Slurm allocation (job 12) holds 2 CPUs "
	    "(SLURM_JOB_CPUS_PER_NODE=1(x2))\n", "-n", "3", "true");
	/* parameter-server mode: the allocation's hosts too */
	CHECK_INT(FINISH(&o, "--ps", "1", "--workers", "1", "true"), 0);
	check_hosts(&o, "n1:1 n2:1", 2);
	lch_opts_release(&o);
	CHECK_FAILS("muster: parameter-server mode: 3 tasks, the Slurm "
	    "allocation (job 12) holds 2 CPUs (SLURM_JOB_CPUS_PER_NODE=1(x2))"
	    "\n", "--ps", "1", "--workers", "2", "true");
	CHECK_FAILS("muster: --nodes 3: the Slurm allocation (job 12) holds 2 "
	    "nodes\n", "--ps", "1", "--nodes", "3", "true");
	rm_srun();
}

static void
test_alloc_bad(void)
{
	struct lch_opts o;

	fake_srun();
	salloc_env();
	/* a broken variable matters only where the allocation is used */
	setenv("SLURM_TASKS_PER_NODE", "2(x", 1);
	CHECK_INT(FINISH(&o, "--launcher", "local", "-n", "2", "true"), 0);
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "--launcher", "ssh", "-H", "h1", "true"), 0);
	lch_opts_release(&o);
	CHECK_FAILS("muster: SLURM_TASKS_PER_NODE '2(x': expected a repeat "
	    "\"(xR)\" of R from 1 to 1048576 (SLURM_JOB_NODELIST 'n[1-2]' has "
	    "2)\n", "true");
	salloc_env();
	setenv("SLURM_JOB_ID", "7", 1);
	setenv("SLURM_JOB_NODELIST", "n[1-", 1);
	CHECK_FAILS("muster: SLURM_JOB_NODELIST: 'n[1-': '[' without ']' "
	    "(expected Slurm's hostlist, as \"n[1-4]\")\n", "--dry-run",
	    "true");
	/* srun -n 2 muster: each task refuses */
	salloc_env();
	setenv("SLURM_STEP_ID", "0", 1);
	setenv("SLURM_STEP_NUM_TASKS", "2", 1);
	setenv("SLURM_PROCID", "1", 1);
	CHECK_FAILS("muster: started as task 1 of 2 of a Slurm step (job 12, "
	    "step 0): start muster once, it starts its own step on every "
	    "node\n", "true");
	rm_srun();
}

TEST_LIST = {
	{ "counts", test_counts },
	{ "counts_bad", test_counts_bad },
	{ "counts_random", test_counts_random },
	{ "detect_unset", test_detect_unset },
	{ "detect", test_detect },
	{ "detect_steps", test_detect_steps },
	{ "detect_bad", test_detect_bad },
	{ "srun_argv", test_srun_argv },
	{ "launcher", test_launcher },
	{ "alloc_counts", test_alloc_counts },
	{ "alloc_bad", test_alloc_bad },
	{ NULL, NULL }
};
