/* preflight.c: see preflight.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "clock.h"
#include "facts.h"
#include "hosts.h"
#include "muster.h"
#include "netaddr.h"
#include "num.h"
#include "preflight.h"
#include "remote.h"
#include "spawn.h"
#include "strbuf.h"
#include "util.h"

#define OUT_MAX (64 * 1024)	/* a probe's answer: one line of facts */
#define ERR_MAX 8192		/* of a probe's stderr, what is kept */
#define WHY_MAX 400		/* a quoted line of ssh's or the probe's */
/*
 * Probes in flight at once: each holds three pipes and an ssh client;
 * a larger list waits its turn (each host's time counts from its start).
 */
#define INFLIGHT_MAX 128

struct probe {
	const char *host;
	int local;
	char toward[MST_ADDR_MAX];	/* ours toward the host, or "" */
	pid_t pid;
	int in_fd, out_fd, err_fd;
	struct lch_strbuf out, err;
	long long deadline;		/* mst_now_ms */
	long long t_send, t_recv;	/* wall clock, ms */
	int started, done, code, timed_out, answered, bad_answer;
	struct lch_facts f;
	char *self;			/* the muster that answered */
};

struct check {
	const struct lch_opts *o;
	const char *program;		/* NULL: none to check */
	const char *iface;
	char cwd[PATH_MAX];
	struct probe *p;
	size_t n;
};

static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --------------------------------------------------------------------
 * The probe: one host's side.
 */

/* The address the launcher reached us from, as sshd tells it. */
static const char *
ssh_client_addr(char *buf, size_t size)
{
	const char *c = getenv("SSH_CONNECTION");
	size_t n;

	if (c == NULL || (n = strcspn(c, " ")) == 0 || n >= size)
		return NULL;
	memcpy(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* Waits for the launcher's "go" (or EOF): the clock is read right after. */
static void
probe_sync(void)
{
	char c;
	ssize_t n;

	fputs("sync\n", stdout);
	fflush(stdout);
	do
		n = read(0, &c, 1);
	while ((n < 0 && errno == EINTR) || (n == 1 && c != '\n'));
}

static int
probe_print(const struct lch_facts *f)
{
	char *s = lch_facts_encode(f), *t;
	cJSON *j = cJSON_Parse(s);

	if (j == NULL)
		lch_oom();
	cJSON_AddStringToObject(j, "self", lch_self_exe());
	if ((t = cJSON_PrintUnformatted(j)) == NULL)
		lch_oom();
	printf("%s\n", t);
	free(t);
	free(s);
	cJSON_Delete(j);
	return fflush(stdout) == 0 ? 0 : 2;
}

/* The folder the workers would run in: cwd, else $HOME (as the agent). */
static const char *
probe_cwd(const char *cwd)
{
	struct stat st;

	if (cwd && stat(cwd, &st) == 0 && S_ISDIR(st.st_mode))
		return cwd;
	return getenv("HOME") ? getenv("HOME") : "/";
}

int
lch_probe_main(int argc, char **argv)
{
	struct lch_facts_req rq = { NULL, NULL, 0, NULL, NULL };
	struct lch_facts f;
	char err[512], via[MST_ADDR_MAX];
	int i, sync = 0, rc;
	long n;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--sync") == 0) {
			sync = 1;
			continue;
		}
		if (v == NULL) {
			lch_msg("--probe: '%s' needs a value", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--toward") == 0)
			rq.toward = v;
		else if (strcmp(a, "--iface") == 0)
			rq.iface = v;
		else if (strcmp(a, "--cwd") == 0)
			rq.cwd = v;
		else if (strcmp(a, "--program") == 0)
			rq.program = v;
		else if (strcmp(a, "--ports") == 0 &&
		    mst_parse_long(v, 0, LCH_FACTS_PORTS_MAX, &n) == 0)
			rq.nports = (int)n;
		else {
			lch_msg("--probe: unknown or bad '%s %s'", a, v);
			return 2;
		}
	}
	if (rq.toward == NULL)
		rq.toward = ssh_client_addr(via, sizeof(via));
	rq.cwd = probe_cwd(rq.cwd);
	if (lch_facts_gather(&rq, &f, err, sizeof(err)) != 0) {
		lch_msg("%s", err);
		return 2;
	}
	if (sync)
		probe_sync();
	f.time_ms = wall_ms();
	rc = probe_print(&f);
	lch_facts_release(&f);
	return rc;
}

/* --------------------------------------------------------------------
 * The check: every host at once.
 */

static void
push_probe_args(const struct check *c, const struct probe *p,
		struct lch_strv *v)
{
	lch_strv_push(v, "--probe");
	lch_strv_push(v, "--sync");
	if (p->toward[0]) {
		lch_strv_push(v, "--toward");
		lch_strv_push(v, p->toward);
	}
	if (c->iface) {
		lch_strv_push(v, "--iface");
		lch_strv_push(v, c->iface);
	}
	lch_strv_push(v, "--cwd");
	lch_strv_push(v, c->cwd);
	lch_strv_push(v, "--ports");
	lch_strv_push(v, "1");
	if (c->program) {
		lch_strv_push(v, "--program");
		lch_strv_push(v, c->program);
	}
}

static int
probe_argv(const struct check *c, const struct probe *p, struct lch_strv *v)
{
	struct lch_strv args = LCH_STRV_INIT;
	struct lch_remote r;
	size_t i;
	int rc = 0;

	push_probe_args(c, p, &args);
	if (c->o->launcher == LCH_LAUNCH_SLURM && c->o->slurm) {
		/* a job step of one task on the node, as the agents run */
		const struct lch_slurm *s = c->o->slurm;

		lch_strv_push(v, s->srun ? s->srun : "srun");
		lch_strv_pushf(v, "--jobid=%s", s->job_id);
		lch_strv_push(v, "--nodes=1");
		lch_strv_push(v, "--ntasks=1");
		lch_strv_pushf(v, "--nodelist=%s", p->host);
		lch_strv_push(v, "--overlap");
		lch_strv_push(v, "--input=none");
		lch_strv_push(v, "--export=ALL");
		lch_strv_push(v, "--job-name=muster-check");
		lch_strv_push(v, c->o->remote_muster ? c->o->remote_muster :
		    lch_self_exe());
		for (i = 0; i < args.n; i++)
			lch_strv_push(v, args.v[i]);
	} else if (p->local) {
		lch_strv_push(v, lch_self_exe());
		for (i = 0; i < args.n; i++)
			lch_strv_push(v, args.v[i]);
	} else {
		r.ssh = c->o->ssh;
		r.remote_muster = c->o->remote_muster;
		r.self = lch_self_exe();
		rc = lch_remote_argv(&r, p->host, (const char *const *)args.v,
		    v);
	}
	lch_strv_clear(&args);
	return rc;
}

/* A probe that could not start: done, with why in its stderr. */
static void
start_failed(struct probe *p, int code, const char *fmt, const char *arg)
{
	lch_strbuf_addf(&p->err, fmt, arg);
	p->done = 1;
	p->code = code;
}

static void
start_probe(struct check *c, struct probe *p, long long now)
{
	struct lch_strv argv = LCH_STRV_INIT;
	struct lch_spawn s;
	int fds[3][2], e;

	p->started = 1;
	p->in_fd = p->out_fd = p->err_fd = -1;
	p->pid = -1;
	p->deadline = now + (long long)(c->o->check_timeout * 1000);
	if (probe_argv(c, p, &argv) != 0) {
		start_failed(p, 2, "muster: host '%s' cannot be used", p->host);
		goto out;
	}
	if (c->o->verbose)
		lch_msg("check %s: %s%s%s", p->host, argv.v[0],
		    p->local ? " " : " ... ", argv.v[argv.n - 1]);
	if (lch_pipes(fds, 3) != 0) {
		start_failed(p, 2, "muster: pipe: %s", strerror(errno));
		goto out;
	}
	memset(&s, 0, sizeof(s));
	s.argv = argv.v;
	s.in_fd = fds[0][0];
	s.out_fd = fds[1][1];
	s.err_fd = fds[2][1];
	s.new_pgroup = 1;	/* killed as a whole when it times out */
	s.deathsig = SIGTERM;
	p->pid = lch_spawn_start(&s, &e);
	close(fds[0][0]);
	close(fds[1][1]);
	close(fds[2][1]);
	p->in_fd = fds[0][1];
	p->out_fd = fds[1][0];
	p->err_fd = fds[2][0];
	if (p->pid < 0)
		start_failed(p, 127, "muster: cannot run %s: ", argv.v[0]);
	if (p->pid < 0)
		lch_strbuf_addf(&p->err, "%s", strerror(e));
out:
	lch_strv_clear(&argv);
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* One line of the probe's stdout: "sync" (answer "go"), or the facts. */
static void
probe_line(struct probe *p, char *line, size_t len)
{
	cJSON *j, *self;

	if (strcmp(line, "sync") == 0) {
		p->t_send = wall_ms();
		/* EPIPE: it ended; its exit says why */
		(void)lch_write_all(p->in_fd, "go\n", 3);
		return;
	}
	if (line[0] != '{' || p->answered)
		return;	/* a login script's noise */
	p->t_recv = wall_ms();
	if (lch_facts_decode(line, len, &p->f) != 0) {
		p->bad_answer = 1;
		return;
	}
	p->answered = 1;
	if ((j = cJSON_ParseWithLength(line, len)) != NULL) {
		self = cJSON_GetObjectItemCaseSensitive(j, "self");
		if (cJSON_IsString(self))
			p->self = lch_xstrdup(self->valuestring);
		cJSON_Delete(j);
	}
}

static void
read_out(struct probe *p)
{
	ssize_t n = lch_strbuf_read_once(&p->out, p->out_fd, OUT_MAX);
	char *nl;

	if (n <= 0) {
		if (n == 0 || errno != EINTR)
			close_fd(&p->out_fd);
		return;
	}
	while ((nl = memchr(p->out.buf, '\n', p->out.len)) != NULL) {
		*nl = '\0';
		probe_line(p, p->out.buf, (size_t)(nl - p->out.buf));
		lch_strbuf_consume(&p->out, (size_t)(nl - p->out.buf) + 1);
	}
	if (p->out.len >= OUT_MAX - 1)
		lch_strbuf_reset(&p->out);	/* no line this long is ours */
}

static void
read_err(struct probe *p)
{
	char sink[4096];
	ssize_t n;

	if (p->err.len < ERR_MAX)
		n = lch_strbuf_read_once(&p->err, p->err_fd, ERR_MAX);
	else
		n = read(p->err_fd, sink, sizeof(sink));
	if (n == 0 || (n < 0 && errno != EINTR))
		close_fd(&p->err_fd);
}

/* Ended: both pipes closed and reaped (or killed at its deadline). */
static void
try_reap(struct probe *p, long long now)
{
	int st = 0;

	if (p->done || !p->started)
		return;
	if (now >= p->deadline) {
		kill(-p->pid, SIGKILL);
		kill(p->pid, SIGKILL);
		p->timed_out = !p->answered;
	} else if (p->out_fd >= 0 || p->err_fd >= 0) {
		return;
	} else if (waitpid(p->pid, &st, WNOHANG) != p->pid) {
		return;
	}
	if (now >= p->deadline)
		while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
			;
	p->code = lch_exit_code(st);
	p->done = 1;
	close_fd(&p->in_fd);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
}

/* How long poll may sleep: to the nearest deadline; briefly while reaping. */
static int
wait_ms(const struct check *c, long long now)
{
	long long t = -1, d;
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct probe *p = &c->p[i];

		if (p->done || !p->started)
			continue;
		d = p->deadline - now;
		if (p->out_fd < 0 && p->err_fd < 0 && d > 10)
			d = 10;	/* closed, not reaped yet */
		if (t < 0 || d < t)
			t = d;
	}
	return lch_poll_ms(t < 0 ? 0 : t);
}

static void
run_all(struct check *c)
{
	struct pollfd *pf = lch_xcalloc(2 * c->n, sizeof(*pf));
	struct probe **who = lch_xcalloc(2 * c->n, sizeof(*who));
	size_t i, k, left, next = 0, busy;
	long long now;

	for (;;) {
		now = (long long)mst_now_ms();
		for (i = 0, busy = 0; i < next; i++) {
			try_reap(&c->p[i], now);
			busy += !c->p[i].done;
		}
		for (; next < c->n && busy < INFLIGHT_MAX; next++) {
			start_probe(c, &c->p[next], now);
			busy += !c->p[next].done;
		}
		left = busy + (c->n - next);
		if (left == 0)
			break;
		for (i = 0, k = 0; i < next; i++) {
			struct probe *p = &c->p[i];

			if (p->done)
				continue;
			if (p->out_fd >= 0) {
				pf[k] = (struct pollfd){ p->out_fd, POLLIN, 0 };
				who[k++] = p;
			}
			if (p->err_fd >= 0) {
				pf[k] = (struct pollfd){ p->err_fd, POLLIN, 0 };
				who[k++] = p;
			}
		}
		if (poll(pf, k, wait_ms(c, now)) < 0 && errno != EINTR)
			break;
		for (i = 0; i < k; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pf[i].fd == who[i]->out_fd)
				read_out(who[i]);
			else if (pf[i].fd == who[i]->err_fd)
				read_err(who[i]);
		}
	}
	free(pf);
	free(who);
}

/* The last non-blank line of a probe's stderr, cut to WHY_MAX bytes. */
static void
last_line(const struct lch_strbuf *sb, char *out, size_t size)
{
	const char *s = sb->buf, *end = sb->buf + sb->len, *b;

	while (end > s && (end[-1] == '\n' || end[-1] == '\r' ||
	    end[-1] == ' '))
		end--;
	for (b = end; b > s && b[-1] != '\n'; b--)
		;
	snprintf(out, size, "%.*s", (int)(end - b < WHY_MAX ? end - b :
	    WHY_MAX), b);
}

/* Why a host that gave no facts failed. */
static void
no_answer(const struct check *c, const struct probe *p, char *why,
	  size_t size)
{
	char line[WHY_MAX + 1];
	const char *l = line, *at;

	last_line(&p->err, line, sizeof(line));
	if (p->timed_out) {
		snprintf(why, size, "timed out after %gs", c->o->check_timeout);
		return;
	}
	/* "muster: h2: no muster at ...", "muster: --probe: ..." */
	if (strncmp(l, "muster: ", 8) == 0)
		l += 8;
	if (!p->local && p->code == 255)
		snprintf(why, size, "ssh failed (exit 255)%s%s", *l ? ": " : "",
		    l);
	else if (p->code == LCH_REMOTE_NOTFOUND &&
	    (at = strstr(l, "no muster at ")) != NULL)
		snprintf(why, size, "%s", at);
	else if (p->code == 2 && strstr(l, "unknown option '--probe'"))
		snprintf(why, size, "the muster there has no --probe (an "
		    "older version?)");
	else if (p->code == 2 && !p->bad_answer && *l)
		snprintf(why, size, "cannot gather its facts: %s", l);
	else if (p->bad_answer)
		snprintf(why, size, "an answer that is not facts (exit %d)",
		    p->code);
	else
		snprintf(why, size, "muster --probe failed (exit %d)%s%s",
		    p->code, *l ? ": " : "", l);
}

/* The host's line; 0 when it passes. */
static int
verdict(const struct check *c, const struct probe *p, char *line,
	size_t size)
{
	char why[2 * WHY_MAX + 600] = "";
	const struct lch_facts *f = &p->f;
	long long off;

	if (!p->answered) {
		no_answer(c, p, why, sizeof(why));
	} else if (strcmp(f->version, MUSTER_VERSION_STRING) != 0) {
		snprintf(why, sizeof(why), "muster %s there (%s), %s here: "
		    "versions differ", f->version, p->self ? p->self : "?",
		    MUSTER_VERSION_STRING);
	} else if (c->program && f->prog_ok != 0) {
		snprintf(why, sizeof(why), "program %s", f->prog_msg);
	}
	if (why[0]) {
		snprintf(line, size, "%s: FAILED: %s", p->host, why);
		return -1;
	}
	off = f->time_ms - (p->t_send + p->t_recv) / 2;
	snprintf(line, size, "%s: ok: reachable (%s), muster %s at %s, %s%s%s"
	    "address %s (%s), free port %d, clock offset %+lld ms", p->host,
	    c->o->launcher == LCH_LAUNCH_SLURM && c->o->slurm ? "srun" :
	    p->local ? "local" : "ssh", f->version, p->self ? p->self : "?",
	    c->program ? "program " : "", c->program ? f->prog_msg : "",
	    c->program ? ", " : "", f->net.addr, f->net.ifname,
	    f->nports ? f->ports[0] : 0, off);
	return 0;
}

/*
 * Our address toward each remote host (what the probe routes toward);
 * local hosts get the one toward the first remote host: the head's.
 */
static void
choose_toward(struct check *c)
{
	struct mst_netaddr na;
	const char *head = NULL;
	char err[512];
	size_t i;

	for (i = 0; i < c->n; i++) {
		struct probe *p = &c->p[i];

		if (p->local)
			continue;
		if (mst_addr_choose(c->iface, p->host, &na, err,
		    sizeof(err)) != 0 &&
		    mst_route_toward(p->host, &na, err, sizeof(err)) != 0)
			continue;	/* unresolved here: the probe asks sshd */
		snprintf(p->toward, sizeof(p->toward), "%s", na.addr);
		if (head == NULL)
			head = p->toward;
	}
	for (i = 0; i < c->n; i++)
		if (c->p[i].local && head)
			snprintf(c->p[i].toward, sizeof(c->p[i].toward), "%s",
			    head);
}

/*
 * Checks every host; prints each host's line to out (quiet: only the
 * failing ones); returns how many failed, their names in failed.
 */
static size_t
check_hosts(const struct lch_opts *o, const char *program, FILE *out,
	    int quiet, struct lch_strbuf *failed)
{
	static const char *const here[] = { "localhost" };
	struct check c;
	char line[4096];
	size_t i, nfail = 0;
	void (*old_pipe)(int);

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.program = program;
	/* --iface, config "iface", else MUSTER_IFACE (options.c sets it) */
	c.iface = o->iface ? o->iface : getenv("MUSTER_IFACE");
	if (c.iface && !*c.iface)
		c.iface = NULL;
	if (getcwd(c.cwd, sizeof(c.cwd)) == NULL)
		snprintf(c.cwd, sizeof(c.cwd), "/");
	c.n = o->hosts.n ? o->hosts.n : 1;
	c.p = lch_xcalloc(c.n, sizeof(*c.p));
	for (i = 0; i < c.n; i++) {
		c.p[i].host = o->hosts.n ? o->hosts.h[i].name : here[0];
		c.p[i].local = lch_host_is_local(c.p[i].host) &&
		    !getenv("MUSTER_FORCE_SSH");
		lch_strbuf_init(&c.p[i].out, 0);
		lch_strbuf_init(&c.p[i].err, 0);
	}
	choose_toward(&c);
	/* a probe that ended before its "go": EPIPE, not death */
	old_pipe = signal(SIGPIPE, SIG_IGN);
	run_all(&c);
	signal(SIGPIPE, old_pipe);
	for (i = 0; i < c.n; i++) {
		int bad = verdict(&c, &c.p[i], line, sizeof(line)) != 0;

		if (bad || !quiet)
			fprintf(out, "%s\n", line);
		if (bad)
			lch_strbuf_addf(failed, "%s%s", nfail++ ? ", " : "",
			    c.p[i].host);
	}
	fflush(out);
	for (i = 0; i < c.n; i++) {
		lch_facts_release(&c.p[i].f);
		lch_strbuf_release(&c.p[i].out);
		lch_strbuf_release(&c.p[i].err);
		free(c.p[i].self);
	}
	free(c.p);
	return nfail;
}

int
lch_check_main(struct lch_opts *o)
{
	struct lch_strbuf failed = LCH_STRBUF_INIT;
	size_t nfail, n;

	if (lch_opts_finish_check(o) != 0)
		return 2;
	n = o->hosts.n ? o->hosts.n : 1;
	nfail = check_hosts(o, o->argc ? o->argv[0] : NULL, stdout, 0,
	    &failed);
	if (nfail)
		lch_msg("--check: %zu of %zu host%s failed: %s", nfail, n,
		    n == 1 ? "" : "s", failed.buf);
	lch_strbuf_release(&failed);
	return nfail ? 1 : 0;
}

int
lch_preflight_run(const struct lch_opts *o)
{
	struct lch_strbuf failed = LCH_STRBUF_INIT;
	size_t nfail, n = o->hosts.n ? o->hosts.n : 1;

	nfail = check_hosts(o, o->argc ? o->argv[0] : NULL, stderr,
	    !o->verbose, &failed);
	if (nfail)
		lch_msg("--preflight: %zu of %zu host%s failed (%s): not "
		    "launching", nfail, n, n == 1 ? "" : "s", failed.buf);
	lch_strbuf_release(&failed);
	return nfail ? -1 : 0;
}
