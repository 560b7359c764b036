/* mpi.c: see mpi.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "clock.h"
#include "mpi.h"
#include "num.h"
#include "rdv_client.h"
#include "spawn.h"
#include "strbuf.h"
#include "util.h"
#include "warden.h"

#define CUTOFF_PROCS 32	/* mpirun's threaded spawn hangs above this */
#define WATCH_KEY "muster/mpi-watch"	/* a key nobody sets */
#define FAILED_WITH "failed with code "
#define ABORT_LINGER_MS 250

/*
 * mpirun takes about a second to stop the other ranks after one fails.
 * The job's rendezvous is faster: the failing rank's wrapper aborts the
 * job there, naming its code; every wrapper watches for the abort and
 * stops its program at once; the head reads the reason back so that its
 * exit code is the failed rank's.
 */
static mst_rdv *
rdv_open(const char *endpoint, int timeout_ms)
{
	struct mst_rdv_opts ro;
	const char *secret = getenv("MUSTER_JOB_SECRET");
	const char *job = getenv("MUSTER_JOB_ID");
	mst_rdv *r = NULL;

	if (endpoint == NULL || secret == NULL || job == NULL)
		return NULL;
	memset(&ro, 0, sizeof(ro));
	ro.endpoint = endpoint;
	ro.job = job;
	ro.secret = secret;
	ro.timeout_ms = timeout_ms;
	ro.no_keepalive = 1;
	if (mst_rdv_open(&r, &ro) != MUSTER_OK) {
		if (r)
			mst_rdv_close(r);
		return NULL;
	}
	return r;
}

/* The wrapper of the first failing rank: abort the job, naming it. */
static void
announce_failure(int rank, int pid, int code)
{
	mst_rdv *r = rdv_open(getenv("MUSTER_RENDEZVOUS"), 1000);
	char why[128];

	if (r == NULL)
		return;
	snprintf(why, sizeof(why), "rank %d (pid %d) " FAILED_WITH "%d",
	    rank, pid, code);
	(void)mst_rdv_abort(r, why);
	mst_rdv_close(r);
}

/* A thread that waits for the job's abort and then writes to fd. */
static void *
watch_abort(void *arg)
{
	int fd = (int)(long)arg;
	mst_rdv *r = rdv_open(getenv("MUSTER_RENDEZVOUS"), 5000);
	muster_result rv;
	void *val;
	size_t len;

	if (r == NULL)
		return NULL;
	for (;;) {
		/* a key nobody sets: the wait ends only when the job aborts */
		rv = mst_rdv_kv_get(r, WATCH_KEY, &val, &len, 60000);
		if (rv == MUSTER_OK)
			free(val);
		else if (rv == MUSTER_EABORTED)
			break;
		else if (rv != MUSTER_ETIMEDOUT)
			usleep(200000);	/* server trouble: mpirun still rules */
	}
	(void)!write(fd, "a", 1);
	mst_rdv_close(r);
	return NULL;
}

static int
start_abort_watch(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int fds[2];

	if (getenv("MUSTER_RENDEZVOUS") == NULL ||
	    pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, watch_abort, (void *)(long)fds[1]) != 0) {
		close(fds[0]);
		close(fds[1]);
		fds[0] = -1;
	}
	pthread_attr_destroy(&attr);
	return fds[0];
}

/*
 * After mpirun: -1 if the job was not aborted on the rendezvous, else the
 * failed rank's code from the abort's reason (0 if another abort).
 */
static int
abort_code(const struct lch_plan *p)
{
	mst_rdv *r = rdv_open(lch_env_get(&p->ranks[0].env,
	    "MUSTER_RENDEZVOUS"), 1000);
	const char *at;
	void *val = NULL;
	size_t len;
	int code = -1;

	if (r == NULL)
		return -1;
	if (mst_rdv_kv_get(r, WATCH_KEY, &val, &len, 0) == MUSTER_EABORTED) {
		at = strstr(mst_rdv_error(r), FAILED_WITH);
		if (at == NULL || sscanf(at + strlen(FAILED_WITH), "%d",
		    &code) != 1)
			code = 0;
		if (code == 0)
			lch_msg("the job was aborted: %s", mst_rdv_error(r));
	}
	free(val);
	mst_rdv_close(r);
	return code;
}

/* "host:nprocs,..." of the plan's nodes (linear: one buffer grows). */
static char *
hosts_csv(const struct lch_plan *p)
{
	struct lch_strbuf sb;
	char *h;
	int n;

	lch_strbuf_init(&sb, 0);
	for (n = 0; n < p->nnodes; n++)
		lch_strbuf_addf(&sb, "%s%s:%d", n ? "," : "", p->nodes[n].host,
		    p->nodes[n].nprocs);
	h = lch_xstrdup(sb.buf);
	lch_strbuf_release(&sb);
	return h;
}

/*
 * mpirun and every rank's wrapper get the host list as one argument:
 * past what Linux passes in one, exec would fail with E2BIG and look
 * like a missing mpirun.
 */
static int
check_hosts_arg(const struct lch_opts *o, const struct lch_plan *p)
{
	char *h;
	size_t len;

	if (p->all_local && !o->hosts.n)
		return 0;	/* "localhost:N" and --nodes: no list */
	h = hosts_csv(p);
	len = strlen(h);
	free(h);
	if (len <= LCH_ENV_MAX)
		return 0;
	lch_msg("--mpi: the host list for mpirun is %zu bytes, more than the "
	    "%d Linux passes in one argument (%d hosts)", len, LCH_ENV_MAX,
	    p->nnodes);
	return -1;
}

/* The options a rank's wrapper needs to rebuild the plan. */
static void
wrapper_args(struct lch_strv *v, const struct lch_opts *o,
	     const struct lch_plan *p)
{
	size_t i;

	lch_strv_push(v, "--mpi-rank");
	lch_strv_push(v, "--job-id");
	lch_strv_push(v, p->job_id);
	lch_strv_pushf(v, "--master-addr=%s", p->master_addr);
	lch_strv_pushf(v, "--master-port=%d", p->master_port);
	if (o->hosts.n) {
		char *h = hosts_csv(p);

		lch_strv_push(v, "-H");
		lch_strv_push(v, h);
		free(h);
	} else {
		lch_strv_pushf(v, "--nodes=%d", p->nnodes);
		lch_strv_pushf(v, "--procs-per-node=%d", p->nodes[0].nprocs);
	}
	lch_strv_pushf(v, "--grace=%g", o->grace);
	lch_strv_pushf(v, "--max-restarts=%ld", o->max_restarts);
	if (o->log_dir)
		lch_strv_pushf(v, "--log-dir=%s", o->log_dir);
	if (o->output_dir)
		lch_strv_pushf(v, "--output-dir=%s", o->output_dir);
	if (!o->tag)
		lch_strv_push(v, "--no-tag");
	for (i = 0; i < o->xvars.n; i++) {
		lch_strv_push(v, "-x");
		lch_strv_push(v, o->xvars.v[i]);
	}
}

static void
mpirun_argv(struct lch_strv *v, const struct lch_opts *o,
	    const struct lch_plan *p, const char *self)
{
	int n, biggest = 0;
	const char *ssh;
	size_t i;

	lch_strv_push(v, getenv("MUSTER_MPIRUN") ? getenv("MUSTER_MPIRUN") :
	    "mpirun");
	if (geteuid() == 0)
		lch_strv_push(v, "--allow-run-as-root");
	lch_strv_push(v, "-q");	/* the failing rank's wrapper says it */
	lch_strv_push(v, "--oversubscribe");
	lch_strv_push(v, "--bind-to");
	lch_strv_push(v, "none");
	lch_strv_push(v, "--map-by");
	lch_strv_push(v, "slot");
	lch_strv_push(v, "-np");
	lch_strv_pushf(v, "%d", p->np);
	lch_strv_push(v, "--host");
	if (p->all_local) {
		lch_strv_pushf(v, "localhost:%d", p->np);
	} else {
		char *h = hosts_csv(p);

		lch_strv_push(v, h);
		free(h);
	}
	for (n = 0; n < p->nnodes; n++)
		if (p->nodes[n].nprocs > biggest)
			biggest = p->nodes[n].nprocs;
	/* other hosts: mpirun starts its orted with our ssh command */
	if (!p->all_local && (ssh = o->ssh ? o->ssh : getenv("MUSTER_SSH")) &&
	    *ssh) {
		lch_strv_push(v, "--mca");
		lch_strv_push(v, "plm_rsh_agent");
		lch_strv_push(v, ssh);
	}
	if (biggest >= CUTOFF_PROCS) {
		lch_strv_push(v, "--mca");
		lch_strv_push(v, "odls_base_cutoff");
		lch_strv_push(v, "100000");
	}
	/* names only: values travel in the environment, not on argv */
	lch_strv_push(v, "-x");
	lch_strv_push(v, "MUSTER_JOB_SECRET");
	if (getenv("MUSTER_RENDEZVOUS")) {
		lch_strv_push(v, "-x");
		lch_strv_push(v, "MUSTER_RENDEZVOUS");
	}
	if (getenv("MUSTER_RDV_KEY")) {	/* the CURVE server key */
		lch_strv_push(v, "-x");
		lch_strv_push(v, "MUSTER_RDV_KEY");
	}
	for (i = 0; i < o->xvars.n; i++)
		if (!strchr(o->xvars.v[i], '=')) {
			lch_strv_push(v, "-x");
			lch_strv_push(v, o->xvars.v[i]);
		}
	lch_strv_push(v, self);
	wrapper_args(v, o, p);
	lch_strv_push(v, "--");
	for (n = 0; p->argv[n]; n++)
		lch_strv_push(v, p->argv[n]);
}

/* Waits for mpirun, forwarding signals and enforcing --timeout. */
static int
supervise(const struct lch_opts *o, pid_t pid)
{
	long long deadline = o->timeout > 0 ?
	    (long long)mst_now_ms() + (long long)(o->timeout * 1000) : 0, kill_at = 0;
	int fds[2], st, code = -1, timed_out = 0, interrupted = 0;

	if (lch_signals_setup(fds) != 0)
		return 70;
	while (code < 0) {
		long long now = (long long)mst_now_ms(), wake = -1;
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		unsigned char b[32];
		ssize_t n, i;

		if (deadline && !timed_out && now >= deadline) {
			timed_out = 1;
			lch_msg("time limit of %gs reached: stopping mpirun",
			    o->timeout);
			kill(pid, SIGINT);
			kill_at = now + (long long)(o->grace * 1000) + 1000;
		}
		if (kill_at && now >= kill_at) {
			killpg(pid, SIGKILL);
			kill_at = 0;
		}
		if (deadline && !timed_out)
			wake = deadline - now;
		if (kill_at && (wake < 0 || kill_at - now < wake))
			wake = kill_at - now;
		if (poll(&pfd, 1, lch_poll_ms(wake)) < 0 &&
		    errno != EINTR)
			break;
		while ((n = read(fds[0], b, sizeof(b))) > 0)
			for (i = 0; i < n; i++) {
				if (b[i] == SIGCHLD) {
					if (waitpid(pid, &st, WNOHANG) == pid)
						code = lch_exit_code(st);
					continue;
				}
				if (interrupted++ && b[i] == SIGINT) {
					killpg(pid, SIGKILL);
					continue;
				}
				kill(pid, b[i]);
			}
	}
	close(fds[0]);
	close(fds[1]);
	return timed_out ? 124 : code;
}

int
lch_mpi_run(const struct lch_opts *o, const struct lch_plan *p)
{
	struct lch_strv argv = LCH_STRV_INIT;
	struct lch_spawn s;
	const char *rdv;
	pid_t pid;
	int e, code, i;

	if (check_hosts_arg(o, p) != 0)
		return 2;
	setenv("MUSTER_JOB_SECRET", p->secret, 1);
	rdv = lch_env_get(&p->ranks[0].env, "MUSTER_RENDEZVOUS");
	if (rdv)
		setenv("MUSTER_RENDEZVOUS", rdv, 1);
	rdv = lch_env_get(&p->ranks[0].env, "MUSTER_RDV_KEY");
	if (rdv)
		setenv("MUSTER_RDV_KEY", rdv, 1);
	mpirun_argv(&argv, o, p, lch_self_exe());
	if (o->verbose) {
		fprintf(stderr, "muster:");
		for (i = 0; argv.v[i]; i++)
			fprintf(stderr, " %s", argv.v[i]);
		fputc('\n', stderr);
	}
	memset(&s, 0, sizeof(s));
	s.argv = argv.v;
	s.in_fd = -1;
	s.out_fd = s.err_fd = -1;
	s.new_pgroup = 1;
	s.deathsig = SIGKILL;
	if ((pid = lch_spawn_start(&s, &e)) < 0) {
		lch_msg("--mpi: cannot run '%s': %s (install openmpi-bin)",
		    argv.v[0], strerror(e));
		lch_strv_clear(&argv);
		return e == ENOENT ? 127 : 126;
	}
	code = supervise(o, pid);
	if (code != 124) {
		int failed = abort_code(p);

		if (failed > 0)
			code = failed;
		else if (failed == 0 && code == 0)
			code = 1;	/* aborted, yet mpirun saw no failure */
	}
	lch_strv_clear(&argv);
	return code;
}

static int
env_int(const char *name, long *out)
{
	const char *v = getenv(name);

	if (v == NULL || mst_parse_long(v, 0, INT_MAX, out) != 0) {
		lch_msg("--mpi-rank: %s %s (run it through 'muster --mpi')",
		    name, v ? "is not a number" : "is not set");
		return -1;
	}
	return 0;
}

int
lch_mpi_rank_main(struct lch_opts *o)
{
	extern char **environ;
	struct lch_agent_worker w;
	struct lch_agent_cfg c;
	struct lch_plan p;
	const char *secret = getenv("MUSTER_JOB_SECRET");
	long rank, size;
	int code;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (env_int("OMPI_COMM_WORLD_RANK", &rank) != 0 ||
	    env_int("OMPI_COMM_WORLD_SIZE", &size) != 0 ||
	    lch_opts_finish(o) != 0 || lch_plan_build(&p, o) != 0)
		return 2;
	if (p.np != size || rank >= size) {
		lch_msg("--mpi-rank: mpirun started %ld ranks, the plan has %d",
		    size, p.np);
		return 2;
	}
	if (secret)
		lch_plan_setenv(&p, "MUSTER_JOB_SECRET", secret);
	memset(&w, 0, sizeof(w));
	w.rank = (int)rank;
	w.argv = o->argv;
	w.envp = lch_env_merge(environ, &p.ranks[rank].env);
	memset(&c, 0, sizeof(c));
	c.host = p.nodes[p.ranks[rank].node_rank].host;
	c.nworkers = 1;
	c.w = &w;
	c.grace_ms = (int)(o->grace * 1000);
	c.log_dir = o->log_dir;
	c.direct = 1;
	c.tag = o->tag;
	c.control_fd = -1;
	setenv("MUSTER_JOB_ID", p.job_id, 1);	/* for the rendezvous client */
	/* a warden, as every agent has, before any thread starts (fork) */
	(void)lch_warden_split(c.grace_ms, &c.warden_fd);
	c.abort_fd = start_abort_watch();
	c.failed = announce_failure;
	code = lch_agent_run(&c);
	if (code == 0 && c.abort_fd >= 0) {
		struct pollfd pfd = { c.abort_fd, POLLIN, 0 };

		/*
		 * Stopped by the abort: let the failed rank's wrapper end
		 * first, or mpirun takes a second more (it starts its own
		 * kill sequence on a failure it sees last).
		 */
		if (poll(&pfd, 1, 0) == 1)
			usleep(ABORT_LINGER_MS * 1000);
	}
	free(w.envp);
	lch_plan_release(&p);
	return code;
}
