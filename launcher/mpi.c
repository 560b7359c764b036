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
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "clock.h"
#include "metrics.h"
#include "mpi.h"
#include "netaddr.h"
#include "num.h"
#include "place.h"
#include "rdv_client.h"
#include "runrec.h"
#include "spawn.h"
#include "strbuf.h"
#include "util.h"
#include "warden.h"

#define CUTOFF_PROCS 32	/* mpirun's threaded spawn hangs above this */
#define WATCH_KEY "muster/mpi-watch"	/* a key nobody sets */
#define FAILED_WITH "failed with code "
#define ABORT_LINGER_MS 250
#define MASTER_KEY "muster/mpi-master"	/* rank 0's "ADDR:PORT" */
#define MASTER_WAIT_S 300	/* without --timeout or MUSTER_TIMEOUT */

/* The names torch, NCCL and TensorPipe take their interface from. */
static const char *const ifname_vars[] = {
	"GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME", "TP_SOCKET_IFNAME"
};

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

struct watch {
	int fd;
	mst_rdv *r;	/* the wrapper's connection, or NULL: its own */
};

/* A thread that waits for the job's abort and then writes to fd. */
static void *
watch_abort(void *arg)
{
	struct watch w = *(struct watch *)arg;
	mst_rdv *r = w.r ? w.r : rdv_open(getenv("MUSTER_RENDEZVOUS"), 5000);
	int fd = w.fd;
	muster_result rv;
	void *val;
	size_t len;

	free(arg);
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

/* The thread takes r over (NULL: it opens its own connection). */
static int
start_abort_watch(mst_rdv *r)
{
	pthread_attr_t attr;
	struct watch *w;
	pthread_t t;
	int fds[2];

	if (getenv("MUSTER_RENDEZVOUS") == NULL ||
	    pipe2(fds, O_CLOEXEC) != 0) {
		if (r)
			mst_rdv_close(r);
		return -1;
	}
	w = lch_xcalloc(1, sizeof(*w));
	w->fd = fds[1];
	w->r = r;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, watch_abort, w) != 0) {
		if (r)
			mst_rdv_close(r);
		free(w);
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

/*
 * --iface NAME|CIDR (or the config's iface, or MUSTER_IFACE): what every
 * host advertises.  The wrappers get it as MUSTER_IFACE (-x).
 */
static const char *
mpi_iface(const struct lch_opts *o)
{
	return o->iface && *o->iface ? o->iface : NULL;
}

/*
 * Without --iface: the network of the head's address (the route toward
 * the other hosts) when every other node's host resolves inside it, as a
 * CIDR for mpirun's oob/btl_tcp_if_include.  Open MPI otherwise tries
 * every interface of a host in turn, and one that leads nowhere (a
 * second network, a docker bridge) costs its connect timeout: 3 s more
 * per launch on the test hosts.  Hosts on other networks (a routed
 * cluster): no restriction, Open MPI's own choice.
 */
static int
head_net(const struct lch_plan *p, char cidr[MST_CIDR_MAX])
{
	unsigned net, mask;
	int n;

	if (!p->have_head ||
	    mst_iface_net(p->head.addr, cidr, &net, &mask) != 0 || mask == 0)
		return 0;
	for (n = 0; n < p->nnodes; n++)
		if (!p->nodes[n].local &&
		    !mst_host_in_net(p->nodes[n].host, net, mask))
			return 0;
	return 1;
}

/*
 * Whether MASTER_PORT comes from rank 0's host (master_exchange): the
 * head's free port is on the head's host, which need not be rank 0's,
 * and is only known free there.  Not when the user gave --master-port,
 * nor when the job is all on this host.
 */
static int
master_from_rank0(const struct lch_opts *o, const struct lch_plan *p)
{
	return !o->master_port && !p->all_local;
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
	/* without --master-port the wrappers learn both from rank 0's */
	if (!master_from_rank0(o, p)) {
		lch_strv_pushf(v, "--master-addr=%s", p->master_addr);
		lch_strv_pushf(v, "--master-port=%d", p->master_port);
	} else if (o->master_addr) {
		lch_strv_pushf(v, "--master-addr=%s", o->master_addr);
	}
	if (o->timeout > 0)	/* bounds the wait for rank 0's port */
		lch_strv_pushf(v, "--timeout=%g", o->timeout);
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
	/* placement: each wrapper plans its node as an agent would */
	if (o->bind)
		lch_strv_pushf(v, "--bind-to=%s", lch_bind_name(o->bind));
	if (o->map)
		lch_strv_pushf(v, "--map-by=%s", lch_map_name(o->map));
	if (o->gpus_per_proc >= 0)
		lch_strv_pushf(v, "--gpus-per-proc=%ld", o->gpus_per_proc);
	if (p->topology)
		lch_strv_pushf(v, "--topology=%s", p->topology);
	if (o->report_bindings)
		lch_strv_push(v, "--report-bindings");
	if (o->verbose)
		lch_strv_push(v, "-v");
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
	char net[MST_CIDR_MAX];
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
	if (o->cwd) {	/* a config's source_directory */
		lch_strv_push(v, "-wdir");
		lch_strv_push(v, o->cwd);
	}
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
	/* in a Slurm allocation mpirun starts its orted with srun (plm
	 * slurm): beside or inside another step (--overlap), binding
	 * nothing (the wrappers place the ranks) */
	if (o->slurm && !p->all_local) {
		lch_strv_push(v, "--mca");
		lch_strv_push(v, "plm_slurm_args");
		lch_strv_push(v, "--overlap --cpu-bind=none");
	}
	/* other hosts: mpirun starts its orted with our ssh command */
	if (!p->all_local && (ssh = o->ssh ? o->ssh : getenv("MUSTER_SSH")) &&
	    *ssh) {
		lch_strv_push(v, "--mca");
		lch_strv_push(v, "plm_rsh_agent");
		lch_strv_push(v, ssh);
	}
	/* mpirun's own traffic takes the interface the ranks take */
	if (!p->all_local && (mpi_iface(o) || head_net(p, net))) {
		static const char *const fw[] = { "oob", "btl" };

		for (n = 0; n < 2; n++) {
			char inc[64], exc[64];

			snprintf(inc, sizeof(inc), "OMPI_MCA_%s_tcp_if_include",
			    fw[n]);
			snprintf(exc, sizeof(exc), "OMPI_MCA_%s_tcp_if_exclude",
			    fw[n]);
			if (getenv(inc) || getenv(exc))
				continue;	/* the user's choice */
			lch_strv_push(v, "--mca");
			lch_strv_pushf(v, "%s_tcp_if_include", fw[n]);
			lch_strv_push(v, mpi_iface(o) ? mpi_iface(o) : net);
		}
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
	if (mpi_iface(o)) {
		lch_strv_push(v, "-x");
		lch_strv_push(v, "MUSTER_IFACE");
	}
	/* the user's own interface names reach every host and stay */
	for (i = 0; i < sizeof(ifname_vars) / sizeof(*ifname_vars); i++)
		if (getenv(ifname_vars[i])) {
			lch_strv_push(v, "-x");
			lch_strv_push(v, ifname_vars[i]);
		}
	for (i = 0; i < o->xvars.n; i++)
		if (!strchr(o->xvars.v[i], '=')) {
			lch_strv_push(v, "-x");
			lch_strv_push(v, o->xvars.v[i]);
		}
	if (getenv(LCH_METRICS_WHERE_ENV)) {	/* metrics_where */
		lch_strv_push(v, "-x");
		lch_strv_push(v, LCH_METRICS_WHERE_ENV);
	}
	lch_strv_push(v, self);
	wrapper_args(v, o, p);
	lch_strv_push(v, "--");
	for (n = 0; p->argv[n]; n++)
		lch_strv_push(v, p->argv[n]);
}

/*
 * Waits for mpirun, forwarding signals and enforcing --timeout; *sig is
 * the first signal forwarded (SIGINT, SIGTERM...), or 0, *late whether
 * the time limit was reached.
 */
static int
supervise(const struct lch_opts *o, pid_t pid, int *sig, int *late)
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
				if (*sig == 0 && b[i] != SIGUSR1 &&
				    b[i] != SIGUSR2)
					*sig = b[i];
				if (interrupted++ && b[i] == SIGINT) {
					killpg(pid, SIGKILL);
					continue;
				}
				kill(pid, b[i]);
			}
	}
	close(fds[0]);
	close(fds[1]);
	*late = timed_out;
	return timed_out ? 124 : code;
}

/*
 * mpirun's own connections take the interface here too (oob_tcp_if_include):
 * one this host lacks fails mpirun with no word (-q), so say it first.
 */
static int
check_iface(const struct lch_opts *o, const struct lch_plan *p)
{
	struct mst_netaddr na;
	char err[512];

	if (p->all_local || !mpi_iface(o) ||
	    mst_iface_lookup(mpi_iface(o), &na, err, sizeof(err)) == 0)
		return 0;
	lch_msg("--mpi: this host (mpirun's): %s", err);
	return -1;
}

/*
 * A run record: the wrappers on this machine write its metrics.jsonl
 * (metrics.h), told where it is in the environment (mpirun_argv's -x).
 * Those on other hosts cannot (mpi_metrics_start says so).
 */
static void
metrics_where(const struct lch_runrec *rr)
{
	unsetenv(LCH_METRICS_WHERE_ENV);	/* a muster's above us */
	if (lch_runrec_dir(rr))
		(void)lch_metrics_where_set(lch_runrec_dir(rr));
}

int
lch_mpi_run(const struct lch_opts *o, const struct lch_plan *p)
{
	struct lch_strv argv = LCH_STRV_INIT;
	struct lch_spawn s;
	const char *rdv;
	struct lch_runrec *rr;
	pid_t pid;
	int e, code, i, sig = 0, late = 0;

	if (check_hosts_arg(o, p) != 0 || check_iface(o, p) != 0)
		return 2;
	setenv("MUSTER_JOB_SECRET", p->secret, 1);
	if (mpi_iface(o))	/* for the wrappers, with -x */
		setenv("MUSTER_IFACE", mpi_iface(o), 1);
	rdv = lch_env_get(&p->ranks[0].env, "MUSTER_RENDEZVOUS");
	if (rdv)
		setenv("MUSTER_RENDEZVOUS", rdv, 1);
	rdv = lch_env_get(&p->ranks[0].env, "MUSTER_RDV_KEY");
	if (rdv)
		setenv("MUSTER_RDV_KEY", rdv, 1);
	rr = lch_runrec_open(o, p, "mpi");	/* status only: runrec.h */
	metrics_where(rr);
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
	lch_runrec_attempt(rr, 0);
	if ((pid = lch_spawn_start(&s, &e)) < 0) {
		char why[256];

		snprintf(why, sizeof(why), "--mpi: cannot run '%s': %s "
		    "(install openmpi-bin)", argv.v[0], strerror(e));
		lch_msg("%s", why);
		lch_strv_clear(&argv);
		code = e == ENOENT ? 127 : 126;
		lch_runrec_failure(rr, -1, NULL, 0, code, why);
		lch_runrec_attempt_end(rr, code, why, 0);
		lch_runrec_finish(rr, LCH_RR_FAILED, code);
		lch_runrec_free(rr);
		return code;
	}
	(void)lch_runrec_write(rr, LCH_RR_RUNNING);	/* mpirun runs */
	code = supervise(o, pid, &sig, &late);
	if (code != 124) {
		int failed = abort_code(p);

		if (failed > 0)
			code = failed;
		else if (failed == 0 && code == 0)
			code = 1;	/* aborted, yet mpirun saw no failure */
	}
	lch_runrec_attempt_end(rr, code, NULL, 0);
	lch_runrec_finish(rr, lch_runrec_final(code, sig, late), code);
	lch_runrec_free(rr);
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

/* HOST of a tcp://HOST:PORT endpoint; -1: not one. */
static int
endpoint_host(const char *ep, char *host, size_t n)
{
	const char *colon;

	if (ep == NULL || strncmp(ep, "tcp://", 6) != 0 ||
	    (colon = strrchr(ep + 6, ':')) == NULL ||
	    (size_t)(colon - ep - 6) >= n)
		return -1;
	memcpy(host, ep + 6, (size_t)(colon - ep - 6));
	host[colon - ep - 6] = '\0';
	return 0;
}

/*
 * The address this rank's host advertises, as an agent's facts would
 * say (there is no agent under mpirun): MUSTER_IFACE's, else the local
 * address of the route toward the rendezvous host (the head's), else,
 * on that host itself, where the route is a loopback one, the route
 * toward another node's host.  Never the host name's resolution.
 */
static int
rank_addr(const struct lch_opts *o, const struct lch_plan *p, int rank,
	  struct mst_netaddr *na)
{
	/* -x MUSTER_IFACE=... is for the ranks: the rank's libmuster too */
	const char *spec = lch_env_get(&p->ranks[rank].env, "MUSTER_IFACE");
	const char *me = p->nodes[p->ranks[rank].node_rank].host;
	char host[256], err[512];
	int n;

	if ((spec && *spec) || (spec = mpi_iface(o)) != NULL) {
		if (mst_iface_lookup(spec, na, err, sizeof(err)) == 0)
			return 0;
		lch_msg("--mpi-rank: host %s: MUSTER_IFACE: %s", me, err);
		return -1;
	}
	if (endpoint_host(getenv("MUSTER_RENDEZVOUS"), host, sizeof(host)) ==
	    0 && mst_route_toward(host, na, err, sizeof(err)) == 0 &&
	    !mst_addr_is_loopback(na->addr))
		return 0;
	for (n = 0; n < p->nnodes; n++)
		if (mst_route_toward(p->nodes[n].host, na, err,
		    sizeof(err)) == 0 && !mst_addr_is_loopback(na->addr))
			return 0;
	snprintf(na->addr, sizeof(na->addr), "127.0.0.1");
	snprintf(na->ifname, sizeof(na->ifname), "lo");
	return 0;
}

/* MUSTER_ADDR and the interface names of the rank, unless the user's. */
static void
set_addr_env(const struct lch_opts *o, struct lch_env *e,
	     const struct mst_netaddr *na)
{
	size_t i;

	if (!lch_opts_user_set(o, "MUSTER_ADDR"))
		lch_env_set(e, "MUSTER_ADDR", na->addr);
	for (i = 0; i < sizeof(ifname_vars) / sizeof(*ifname_vars); i++)
		if (!lch_opts_user_set(o, ifname_vars[i]))
			lch_env_set(e, ifname_vars[i], na->ifname);
}

/* How long a wrapper waits for rank 0's: --timeout, else MUSTER_TIMEOUT. */
static double
master_wait_s(const struct lch_opts *o, const struct lch_env *e)
{
	const char *t = lch_env_get(e, "MUSTER_TIMEOUT");
	double d;

	if (o->timeout > 0)
		return o->timeout;
	if (t && mst_parse_double(t, 0, 1e6, &d) == 0 && d > 0)
		return d;
	return MASTER_WAIT_S;
}

/* A TCP port free on this host: port 0 bound on every address, closed. */
static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1, e;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	e = errno;
	close(fd);
	errno = e;	/* the reason, for the message */
	return port;
}

/* "ADDR:PORT" into the rank's MASTER_ADDR, MASTER_PORT and their kin. */
static int
set_master_env(struct lch_env *e, const char *val)
{
	char addr[256];
	long port;

	if (lch_addr_port(val, addr, sizeof(addr), &port) != 0)
		return -1;
	lch_env_set(e, "MASTER_ADDR", addr);
	lch_env_setf(e, "MASTER_PORT", "%ld", port);
	lch_env_set(e, "AZ_BATCH_MASTER_NODE", val);
	lch_env_set(e, "AZ_BATCHAI_MPI_MASTER_NODE", addr);
	return 0;
}

/*
 * MASTER_ADDR:MASTER_PORT from rank 0's host: its wrapper publishes a
 * port free there and its address (or --master-addr) on the job's
 * rendezvous; the others wait for it, as long as the job may take.  *rp
 * keeps the connection for the watch.
 */
static int
master_exchange(const struct lch_opts *o, struct lch_plan *p, int rank,
		const char *addr, mst_rdv **rp)
{
	const char *ep = getenv("MUSTER_RENDEZVOUS");
	struct lch_env *e = &p->ranks[rank].env;
	double wait_s = master_wait_s(o, e);
	mst_rdv *r = rdv_open(ep, 5000);
	muster_result rv;
	char val[320];
	void *got = NULL;
	size_t len;

	if (r == NULL) {
		lch_msg("--mpi-rank: rank %d: cannot reach the job's "
		    "rendezvous %s for MASTER_PORT", rank, ep ? ep : "(none)");
		return -1;
	}
	*rp = r;
	if (rank == 0) {
		int port = free_port();

		if (port <= 0) {
			lch_msg("--mpi-rank: rank 0 (host %s): cannot find a "
			    "free port for MASTER_PORT: %s", p->nodes[0].host,
			    strerror(errno));
			return -1;
		}
		snprintf(val, sizeof(val), "%s:%d", o->master_addr ?
		    o->master_addr : addr, port);
		if ((rv = mst_rdv_kv_set(r, MASTER_KEY, val, strlen(val))) !=
		    MUSTER_OK) {
			lch_msg("--mpi-rank: rank 0: cannot publish "
			    "MASTER_PORT on the job's rendezvous %s: %s", ep,
			    mst_rdv_error(r));
			return -1;
		}
		return set_master_env(e, val);
	}
	rv = mst_rdv_kv_get(r, MASTER_KEY, &got, &len, wait_s * 1000 <
	    INT_MAX ? (int)(wait_s * 1000) : INT_MAX);
	if (rv == MUSTER_EABORTED)
		return -1;	/* another rank failed: it says why */
	if (rv == MUSTER_ETIMEDOUT)
		lch_msg("--mpi-rank: rank %d: no MASTER_ADDR:MASTER_PORT from "
		    "rank 0's host %s within %gs (--timeout, MUSTER_TIMEOUT)",
		    rank, p->nodes[0].host, wait_s);
	else if (rv != MUSTER_OK)
		lch_msg("--mpi-rank: rank %d: no MASTER_ADDR:MASTER_PORT from "
		    "rank 0's host %s: %s", rank, p->nodes[0].host,
		    mst_rdv_error(r));
	if (rv != MUSTER_OK)
		return -1;
	snprintf(val, sizeof(val), "%.*s", (int)(len < sizeof(val) ? len :
	    sizeof(val) - 1), (char *)got);
	free(got);
	if (len >= sizeof(val) || set_master_env(e, val) != 0) {
		lch_msg("--mpi-rank: rank %d: rank 0 published '%s'%s for "
		    "MASTER_ADDR:MASTER_PORT", rank, val, len >= sizeof(val) ?
		    "..." : "");
		return -1;
	}
	return 0;
}

/* OMPI_COMM_WORLD_LOCAL_RANK and _SIZE, else the plan's. */
static void
local_rank(const struct lch_plan *p, int rank, long *lr, long *ls)
{
	const char *r = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
	const char *s = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");

	if (r == NULL || s == NULL || mst_parse_long(r, 0, INT_MAX, lr) != 0 ||
	    mst_parse_long(s, 1, INT_MAX, ls) != 0 || *lr >= *ls) {
		*lr = p->ranks[rank].local_rank;
		*ls = p->nodes[p->ranks[rank].node_rank].nprocs;
	}
}

/*
 * mpirun binds nothing (--bind-to none): the wrapper plans its node's
 * local ranks as an agent does and takes its own rank's part, its
 * environment now and its binding in the child before exec.  The
 * head checked what it could (a topology file, this host's nodes);
 * a failure here is said by the node's local rank 0.
 */
static int
place_rank(struct lch_plan *p, int rank, const char *host,
	   struct lch_topo **t, struct lch_place *pl, long *lr)
{
	struct lch_env *e = &p->ranks[rank].env;
	char err[512];
	long ls;

	local_rank(p, rank, lr, &ls);
	if (lch_place_node(&p->place, (int)ls, e, 1, t, pl, err,
	    sizeof(err)) != 0) {
		if (*lr == 0)
			lch_msg("%s: %s", host, err);
		return -1;
	}
	lch_place_env(pl, (int)*lr, p->place.omp_user, e);
	lch_place_tell(&p->place, *t, pl, host, (int)*lr, rank, *lr == 0, 2);
	return 0;
}

/* What a wrapper's metrics need: its FIFO's directory, the FIFO, the sink. */
struct mpi_metrics {
	char *dir, *fifo;
	struct lch_metrics *sink;
	char *logs;		/* the run record's logs/, on its machine */
};

/*
 * On the launcher's machine (metrics_where said where the run is): a
 * FIFO for the rank, in its environment, and the run's metrics.jsonl to
 * append to.  Elsewhere, or failing (said), nothing: the rank runs.
 */
static void
mpi_metrics_start(struct mpi_metrics *mm, const char *host, int rank,
		  long lr, struct lch_env *e)
{
	const char *run = lch_metrics_where_path();
	char err[PATH_MAX + 128], *path;

	memset(mm, 0, sizeof(*mm));
	if (run == NULL && getenv(LCH_METRICS_WHERE_ENV) && lr == 0)
		lch_msg("%s: --mpi: the run record is on another machine: "
		    "metrics logged here are not recorded", host);
	unsetenv(LCH_METRICS_WHERE_ENV);	/* not the rank's business */
	if (run == NULL)
		return;
	mm->logs = lch_xasprintf("%s/logs", run);
	path = lch_xasprintf("%s/metrics.jsonl", run);
	if ((mm->dir = lch_metrics_dir_make(err, sizeof(err))) == NULL ||
	    (mm->fifo = lch_metrics_fifo_make(mm->dir, rank, err,
	    sizeof(err))) == NULL ||
	    (mm->sink = lch_metrics_open(path, err, sizeof(err))) == NULL) {
		lch_msg("%s: rank %d: %s: its metrics are not recorded", host,
		    rank, err);
		free(mm->fifo);
		mm->fifo = NULL;
	} else
		lch_env_set(e, LCH_METRICS_ENV, mm->fifo);
	free(path);
}

static void
mpi_metrics_end(struct mpi_metrics *mm)
{
	lch_metrics_report(mm->sink);
	lch_metrics_close(mm->sink);
	lch_metrics_dir_remove(mm->dir);
	free(mm->dir);
	free(mm->fifo);
	free(mm->logs);
}

int
lch_mpi_rank_main(struct lch_opts *o)
{
	extern char **environ;
	struct lch_agent_worker w;
	struct lch_agent_cfg c;
	struct lch_plan p;
	struct mst_netaddr na;
	const char *secret = getenv("MUSTER_JOB_SECRET");
	const char *me;
	mst_rdv *r = NULL;
	struct lch_topo *t = NULL;
	struct lch_place pl;
	struct mpi_metrics mm;
	long rank, size, lr;
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
	setenv("MUSTER_JOB_ID", p.job_id, 1);	/* for the rendezvous client */
	me = p.nodes[p.ranks[rank].node_rank].host;
	if (place_rank(&p, (int)rank, me, &t, &pl, &lr) != 0) {
		lch_plan_release(&p);
		return 2;
	}
	memset(&c, 0, sizeof(c));
	c.grace_ms = (int)(o->grace * 1000);
	mpi_metrics_start(&mm, me, (int)rank, lr, &p.ranks[rank].env);
	lch_metrics_pypath(&p.ranks[rank].env);
	/*
	 * A warden, as every agent has, before any thread starts (fork):
	 * the rendezvous client's below has threads; this process goes on
	 * as the agent.
	 */
	(void)lch_warden_split(c.grace_ms, mm.dir, &c.warden_fd);
	if (!p.all_local) {
		if (rank_addr(o, &p, (int)rank, &na) != 0) {
			code = 2;
			goto out;
		}
		set_addr_env(o, &p.ranks[rank].env, &na);
		if (o->master_port == 0 && master_exchange(o, &p, (int)rank,
		    na.addr, &r) != 0) {
			if (r)
				mst_rdv_close(r);
			code = 2;
			goto out;
		}
	}
	memset(&w, 0, sizeof(w));
	w.rank = (int)rank;
	w.argv = o->argv;
	w.envp = lch_env_merge(environ, &p.ranks[rank].env);
	if (lch_topo_is_thissystem(t))
		w.place = &pl.ranks[lr];
	w.metrics = mm.fifo;
	c.metrics = mm.sink;
	c.host = me;
	c.nworkers = 1;
	c.w = &w;
	/* on the record's machine, the rank's logs go into it too */
	c.log_dir = o->log_dir ? o->log_dir : mm.logs;
	c.direct = 1;
	c.tag = o->tag;
	c.control_fd = -1;
	c.abort_fd = start_abort_watch(r);
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
out:
	mpi_metrics_end(&mm);
	lch_place_release(&pl);
	lch_topo_free(t);
	lch_plan_release(&p);
	return code;
}
