/* agent.c: see agent.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "agent.h"
#include "spawn.h"
#include "util.h"

#define LINE_MAX_BYTES (64 * 1024)	/* longer lines are split */
#define PLAN_MAX (256L << 20)
#define DRAIN_MS 300	/* after a worker is reaped, wait this long for EOF */

struct linebuf {
	char *buf;
	size_t len;
};

struct wstate {
	const struct lch_agent_worker *w;
	pid_t pid;
	int fd[2];		/* stdout, stderr read ends; -1 when closed */
	int logfd[2];
	struct linebuf lb[2];
	int reaped, reported, code;
	long long reaped_at;
	char prefix[2][24];	/* "o3 "/"e3 " records, or "[3] " */
	size_t plen[2];
};

struct outbuf {
	char *buf;
	size_t len, cap;
};

struct agent {
	const struct lch_agent_cfg *c;
	struct wstate *ws;
	struct outbuf out[2];	/* fd 1, fd 2 */
	struct linebuf ctl;
	int sigfd[2];
	int running;		/* workers not yet reported */
	int first_code;		/* 0 until a worker fails */
	int stopping;
	long long kill_at;	/* SIGKILL deadline, 0 = none */
	long long term_at;	/* delayed stop after a forwarded signal */
	int forwarded;		/* a signal was forwarded to the workers */
	int ctl_open;
};

static void
out_add(struct outbuf *o, const char *s, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2 + 4096;
		o->buf = lch_xrealloc(o->buf, o->cap);
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void
out_printf(struct outbuf *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void
out_printf(struct outbuf *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	out_add(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void
flush_out(struct agent *a)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (a->out[i].len && lch_write_all(i + 1, a->out[i].buf,
		    a->out[i].len) != 0 && errno == EPIPE && !a->c->direct) {
			/* The head is gone: stop everything. */
			a->ctl_open = 0;
		}
		a->out[i].len = 0;
	}
}

/* One complete line from a worker stream (without its newline). */
static void
emit_line(struct agent *a, struct wstate *ws, int stream, const char *s,
	  size_t n)
{
	struct outbuf *o = &a->out[a->c->direct ? stream : 0];
	size_t pl = ws->plen[stream];

	if (o->len + pl + n + 1 > o->cap) {
		o->cap = (o->len + pl + n + 1) * 2 + 4096;
		o->buf = lch_xrealloc(o->buf, o->cap);
	}
	memcpy(o->buf + o->len, ws->prefix[stream], pl);
	memcpy(o->buf + o->len + pl, s, n);
	o->buf[o->len + pl + n] = '\n';
	o->len += pl + n + 1;
}

/* Splits what is buffered into lines; at EOF a partial line goes too. */
static void
drain_lines(struct agent *a, struct wstate *ws, int stream, int eof)
{
	struct linebuf *lb = &ws->lb[stream];
	size_t start = 0;
	char *nl;

	while ((nl = memchr(lb->buf + start, '\n', lb->len - start)) != NULL) {
		emit_line(a, ws, stream, lb->buf + start,
		    (size_t)(nl - (lb->buf + start)));
		start = (size_t)(nl - lb->buf) + 1;
	}
	if ((eof || lb->len - start >= LINE_MAX_BYTES) && lb->len > start) {
		emit_line(a, ws, stream, lb->buf + start, lb->len - start);
		start = lb->len;
	}
	memmove(lb->buf, lb->buf + start, lb->len - start);
	lb->len -= start;
}

static void
read_stream(struct agent *a, struct wstate *ws, int stream)
{
	struct linebuf *lb = &ws->lb[stream];
	ssize_t n;

	if (lb->buf == NULL)
		lb->buf = lch_xmalloc(LINE_MAX_BYTES + 4096);
	n = read(ws->fd[stream], lb->buf + lb->len,
	    LINE_MAX_BYTES + 4096 - lb->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		drain_lines(a, ws, stream, 1);
		close(ws->fd[stream]);
		ws->fd[stream] = -1;
		return;
	}
	if (ws->logfd[stream] >= 0)
		(void)lch_write_all(ws->logfd[stream], lb->buf + lb->len,
		    (size_t)n);
	lb->len += (size_t)n;
	drain_lines(a, ws, stream, 0);
}

/* Signals every worker's process group (reaped ones too: grandchildren). */
static void
signal_all(struct agent *a, int sig)
{
	int i;

	for (i = 0; i < a->c->nworkers; i++) {
		struct wstate *ws = &a->ws[i];

		if (ws->pid <= 0)
			continue;
		if (killpg(ws->pid, sig) != 0 && !ws->reaped)
			kill(ws->pid, sig);
	}
}

static void
stop_all(struct agent *a, int sig)
{
	signal_all(a, sig);
	if (!a->stopping) {
		a->stopping = 1;
		a->kill_at = lch_now_ms() + a->c->grace_ms;
	}
}

static const char *
oom_hint(int code)
{
	return code == 128 + SIGKILL ? " (SIGKILL: often the kernel's OOM "
	    "killer)" : "";
}

/* The first failure not caused by us: "F" record, or a message. */
static void
report_failure(struct agent *a, struct wstate *ws)
{
	if (a->first_code == 0)
		a->first_code = ws->code;
	if (!a->c->direct) {
		out_printf(&a->out[0], "F[%d] %d %d\n", ws->w->rank,
		    (int)ws->pid, ws->code);
		return;
	}
	flush_out(a);
	if (ws->code > 128)
		lch_msg("rank %d (host %s, pid %d) was killed by %s%s",
		    ws->w->rank, a->c->host, (int)ws->pid,
		    lch_signame(ws->code - 128), oom_hint(ws->code));
	else
		lch_msg("rank %d (host %s, pid %d) exited with code %d",
		    ws->w->rank, a->c->host, (int)ws->pid, ws->code);
	if (a->c->failed)
		a->c->failed(ws->w->rank, (int)ws->pid, ws->code);
}

/* A worker is done when it is reaped and both its pipes are closed. */
static void
check_done(struct agent *a, struct wstate *ws, long long now)
{
	int s;

	if (ws->reported || !ws->reaped)
		return;
	if (now - ws->reaped_at >= DRAIN_MS)
		for (s = 0; s < 2; s++)
			if (ws->fd[s] >= 0) {
				drain_lines(a, ws, s, 1);
				close(ws->fd[s]);
				ws->fd[s] = -1;
			}
	if (ws->fd[0] >= 0 || ws->fd[1] >= 0)
		return;
	ws->reported = 1;
	a->running--;
	if (!a->c->direct)
		out_printf(&a->out[0], "x[%d] %d %d\n", ws->w->rank,
		    (int)ws->pid, ws->code);
}

static void
reap(struct agent *a)
{
	long long now = lch_now_ms();
	pid_t pid;
	int st, i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < a->c->nworkers; i++) {
			struct wstate *ws = &a->ws[i];

			if (ws->pid != pid || ws->reaped)
				continue;
			ws->reaped = 1;
			ws->reaped_at = now;
			ws->code = lch_exit_code(st);
			/* fail fast locally, without waiting for EOF */
			if (ws->code != 0 && !a->stopping) {
				report_failure(a, ws);
				/* after a forwarded signal the others get a
				 * grace period to handle it themselves */
				if (a->forwarded && !a->term_at)
					a->term_at = now + a->c->grace_ms;
				else if (!a->forwarded)
					stop_all(a, SIGTERM);
			}
		}
	}
}

/* A signal for the workers to handle (Ctrl-C, a scheduler's SIGTERM). */
static void
forward(struct agent *a, int sig)
{
	if (sig != SIGUSR1 && sig != SIGUSR2)
		a->forwarded = 1;
	signal_all(a, sig);
}

/* Control lines from the head: "term", "kill", "sig N". */
static void
control_line(struct agent *a, const char *line)
{
	long sig;

	if (strcmp(line, "term") == 0)
		stop_all(a, SIGTERM);
	else if (strcmp(line, "kill") == 0)
		signal_all(a, SIGKILL);
	else if (strncmp(line, "sig ", 4) == 0 &&
	    lch_parse_long(line + 4, 1, 64, &sig) == 0)
		forward(a, (int)sig);
	else
		lch_msg("agent: ignoring control line '%.40s'", line);
}

static void
control_lines(struct agent *a)
{
	char *nl;

	while ((nl = memchr(a->ctl.buf, '\n', a->ctl.len)) != NULL) {
		*nl = '\0';
		control_line(a, a->ctl.buf);
		a->ctl.len -= (size_t)(nl + 1 - a->ctl.buf);
		memmove(a->ctl.buf, nl + 1, a->ctl.len);
	}
	if (a->ctl.len >= 4096 - 1)
		a->ctl.len = 0;	/* garbage without newlines */
}

static void
read_control(struct agent *a)
{
	ssize_t n;

	n = read(a->c->control_fd, a->ctl.buf + a->ctl.len,
	    4096 - a->ctl.len - 1);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {	/* the head is gone */
		a->ctl_open = 0;
		stop_all(a, SIGTERM);
		return;
	}
	a->ctl.len += (size_t)n;
	control_lines(a);
}

static void
handle_signals(struct agent *a)
{
	unsigned char b[64];
	ssize_t n, i;

	while ((n = read(a->sigfd[0], b, sizeof(b))) > 0)
		for (i = 0; i < n; i++) {
			if (b[i] == SIGCHLD)
				reap(a);
			else if (b[i] == SIGTERM || b[i] == SIGHUP ||
			    b[i] == SIGINT)
				stop_all(a, b[i] == SIGHUP ? SIGTERM : b[i]);
			else if (b[i] == SIGUSR1 || b[i] == SIGUSR2)
				forward(a, b[i]);
		}
}

static int
open_log(const char *dir, int rank, const char *what)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/rank.%d.%s", dir, rank, what);
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

static void
start_worker(struct agent *a, struct wstate *ws)
{
	struct lch_spawn s;
	int out[2], err[2], e, s2;

	ws->fd[0] = ws->fd[1] = ws->logfd[0] = ws->logfd[1] = -1;
	for (s2 = 0; s2 < 2; s2++) {
		if (!a->c->direct)
			snprintf(ws->prefix[s2], sizeof(ws->prefix[s2]), "%c[%d] ",
			    s2 ? 'e' : 'o', ws->w->rank);
		else if (a->c->tag)
			snprintf(ws->prefix[s2], sizeof(ws->prefix[s2]), "[%d] ",
			    ws->w->rank);
		ws->plen[s2] = strlen(ws->prefix[s2]);
	}
	if (a->c->log_dir) {
		ws->logfd[0] = open_log(a->c->log_dir, ws->w->rank, "stdout");
		ws->logfd[1] = open_log(a->c->log_dir, ws->w->rank, "stderr");
		if (ws->logfd[0] < 0 || ws->logfd[1] < 0)
			lch_msg("cannot write logs of rank %d in '%s': %s",
			    ws->w->rank, a->c->log_dir, strerror(errno));
	}
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		e = errno;
		goto fail;
	}
	memset(&s, 0, sizeof(s));
	s.argv = ws->w->argv;
	s.envp = ws->w->envp;
	s.in_fd = -1;
	s.out_fd = out[1];
	s.err_fd = err[1];
	s.new_pgroup = 1;
	s.deathsig = SIGKILL;
	ws->pid = lch_spawn_start(&s, &e);
	close(out[1]);
	close(err[1]);
	ws->fd[0] = out[0];
	ws->fd[1] = err[0];
	if (ws->pid > 0) {
		if (!a->c->direct)
			out_printf(&a->out[0], "s[%d] %d\n", ws->w->rank,
			    (int)ws->pid);
		return;
	}
	for (s2 = 0; s2 < 2; s2++) {
		close(ws->fd[s2]);
		ws->fd[s2] = -1;
	}
fail:
	ws->pid = 0;
	ws->reaped = ws->reported = 1;
	ws->code = e == ENOENT ? 127 : 126;
	a->running--;
	if (a->first_code == 0)
		a->first_code = ws->code;
	if (a->c->direct)
		lch_msg("rank %d: cannot run '%s': %s", ws->w->rank,
		    ws->w->argv[0], strerror(e));
	else
		out_printf(&a->out[0], "f[%d] %d %d\n", ws->w->rank, e, ws->code);
	stop_all(a, SIGTERM);
}

static int
poll_timeout(struct agent *a, long long now)
{
	long long t = -1;
	int i;

	if (a->stopping && a->kill_at)
		t = a->kill_at - now;
	if (!a->stopping && a->term_at && (t < 0 || a->term_at - now < t))
		t = a->term_at - now;
	for (i = 0; i < a->c->nworkers; i++) {
		struct wstate *ws = &a->ws[i];

		if (ws->reaped && !ws->reported) {
			long long d = ws->reaped_at + DRAIN_MS - now;

			if (t < 0 || d < t)
				t = d;
		}
	}
	return t < 0 ? -1 : (int)(t > 0 ? t : 0);
}

static void
loop(struct agent *a)
{
	struct pollfd *pfd = lch_xcalloc((size_t)(3 + 2 * a->c->nworkers),
	    sizeof(*pfd));
	struct wstate **who = lch_xcalloc((size_t)(3 + 2 * a->c->nworkers),
	    sizeof(*who));
	int abort_open = a->c->abort_fd >= 0;
	int n, i, s, to;
	long long now;

	while (a->running > 0) {
		flush_out(a);
		now = lch_now_ms();
		if (!a->stopping && a->term_at && now >= a->term_at)
			stop_all(a, SIGTERM);
		if (a->stopping && a->kill_at && now >= a->kill_at) {
			signal_all(a, SIGKILL);
			a->kill_at = 0;
		}
		n = 0;
		pfd[n].fd = a->sigfd[0];
		pfd[n++].events = POLLIN;
		if (a->ctl_open) {
			pfd[n].fd = a->c->control_fd;
			pfd[n++].events = POLLIN;
		}
		if (abort_open) {
			pfd[n].fd = a->c->abort_fd;
			pfd[n++].events = POLLIN;
		}
		for (i = 0; i < a->c->nworkers; i++)
			for (s = 0; s < 2; s++)
				if (a->ws[i].fd[s] >= 0) {
					who[n] = &a->ws[i];
					pfd[n].fd = a->ws[i].fd[s];
					pfd[n++].events = POLLIN;
				}
		to = poll_timeout(a, now);
		if (poll(pfd, (nfds_t)n, to) < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pfd[i].fd == a->sigfd[0])
				handle_signals(a);
			else if (a->ctl_open && pfd[i].fd == a->c->control_fd)
				read_control(a);
			else if (abort_open && pfd[i].fd == a->c->abort_fd) {
				abort_open = 0;	/* the job was aborted */
				stop_all(a, SIGTERM);
			} else
				read_stream(a, who[i],
				    pfd[i].fd == who[i]->fd[0] ? 0 : 1);
		}
		now = lch_now_ms();
		for (i = 0; i < a->c->nworkers; i++)
			check_done(a, &a->ws[i], now);
	}
	flush_out(a);
	free(pfd);
	free(who);
}

static void
setup_signals(struct agent *a)
{
	if (lch_signals_setup(a->sigfd) != 0) {
		lch_msg("agent: pipe: %s", strerror(errno));
		exit(70);
	}
}

/* Two pipes and two logs per worker: lift the soft fd limit if needed. */
static void
raise_fd_limit(int nworkers)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)nworkers * 6 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int
lch_agent_run(const struct lch_agent_cfg *c)
{
	struct agent a;
	int i;

	memset(&a, 0, sizeof(a));
	a.c = c;
	raise_fd_limit(c->nworkers);
	a.ws = lch_xcalloc((size_t)c->nworkers, sizeof(*a.ws));
	a.running = c->nworkers;
	a.ctl_open = c->control_fd >= 0;
	setup_signals(&a);
	a.ctl.buf = lch_xmalloc(4096);
	if (c->ctl_pending_len && c->ctl_pending_len < 4096) {
		memcpy(a.ctl.buf, c->ctl_pending, c->ctl_pending_len);
		a.ctl.len = c->ctl_pending_len;
	}
	for (i = 0; i < c->nworkers; i++) {
		a.ws[i].w = &c->w[i];
		if (!a.stopping)
			start_worker(&a, &a.ws[i]);
		else {	/* a sibling could not start: do not start more */
			a.ws[i].reaped = a.ws[i].reported = 1;
			a.ws[i].fd[0] = a.ws[i].fd[1] = -1;
			a.running--;
		}
	}
	control_lines(&a);
	loop(&a);
	signal_all(&a, SIGKILL);	/* leftovers in the workers' groups */
	for (i = 0; i < c->nworkers; i++) {
		free(a.ws[i].lb[0].buf);
		free(a.ws[i].lb[1].buf);
		if (a.ws[i].logfd[0] >= 0)
			close(a.ws[i].logfd[0]);
		if (a.ws[i].logfd[1] >= 0)
			close(a.ws[i].logfd[1]);
	}
	free(a.out[0].buf);
	free(a.out[1].buf);
	free(a.ctl.buf);
	free(a.ws);
	return a.first_code;
}

/* Reads the first line of stdin (the plan); what follows is control. */
static char *
read_plan(char **rest, size_t *rest_len)
{
	size_t cap = 65536, len = 0;
	char *buf = lch_xmalloc(cap), *nl;
	ssize_t n;

	for (;;) {
		if (len + 4096 >= cap) {
			if (cap >= (size_t)PLAN_MAX)
				break;
			cap *= 2;
			buf = lch_xrealloc(buf, cap);
		}
		n = read(0, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((nl = memchr(buf + len, '\n', (size_t)n)) != NULL) {
			len += (size_t)n;
			*nl = '\0';
			*rest_len = len - (size_t)(nl + 1 - buf);
			*rest = lch_xmalloc(*rest_len + 1);
			memcpy(*rest, nl + 1, *rest_len);
			return buf;
		}
		len += (size_t)n;
	}
	free(buf);
	return NULL;
}

static char **
json_strv(const cJSON *arr)
{
	int n = cJSON_GetArraySize(arr), i = 0;
	char **v;
	const cJSON *e;

	if (!cJSON_IsArray(arr) || n == 0)
		return NULL;
	v = lch_xcalloc((size_t)n + 1, sizeof(*v));
	cJSON_ArrayForEach(e, arr) {
		if (!cJSON_IsString(e)) {
			free(v);
			return NULL;
		}
		v[i++] = e->valuestring;
	}
	return v;
}

/* Fills c from the plan; env[i] owns worker i's variables. */
static int
parse_plan(cJSON *plan, struct lch_agent_cfg *c, struct lch_env *env)
{
	extern char **environ;
	cJSON *ranks = cJSON_GetObjectItem(plan, "ranks"), *r, *it;
	char **argv = json_strv(cJSON_GetObjectItem(plan, "argv"));
	int i = 0;

	if (!cJSON_IsArray(ranks) || argv == NULL)
		goto bad;
	it = cJSON_GetObjectItem(plan, "host");
	c->host = cJSON_IsString(it) ? it->valuestring : "localhost";
	it = cJSON_GetObjectItem(plan, "grace_ms");
	c->grace_ms = cJSON_IsNumber(it) ? it->valueint : 3000;
	it = cJSON_GetObjectItem(plan, "cwd");
	/* the head's folder, as mpirun's -wdir; else stay in $HOME */
	if (cJSON_IsString(it) && chdir(it->valuestring) != 0)
		lch_msg("agent on %s: cannot enter '%s' (%s): running in %s",
		    c->host, it->valuestring, strerror(errno),
		    getenv("HOME") ? getenv("HOME") : "/");
	it = cJSON_GetObjectItem(plan, "log_dir");
	c->log_dir = cJSON_IsString(it) ? it->valuestring : NULL;
	cJSON_ArrayForEach(r, ranks) {
		char **kv = json_strv(cJSON_GetObjectItem(r, "env"));
		int k;

		it = cJSON_GetObjectItem(r, "rank");
		if (!cJSON_IsNumber(it) || kv == NULL || i >= c->nworkers) {
			free(kv);
			goto bad;
		}
		c->w[i].rank = it->valueint;
		c->w[i].argv = i == 0 ? argv : c->w[0].argv;
		for (k = 0; kv[k]; k++) {
			char *eq = strchr(kv[k], '=');

			if (eq) {
				*eq = '\0';
				lch_env_set(&env[i], kv[k], eq + 1);
			}
		}
		free(kv);
		c->w[i].envp = lch_env_merge(environ, &env[i]);
		i++;
	}
	return 0;
bad:
	if (i == 0)
		free(argv);
	lch_msg("agent: malformed plan on stdin");
	return -1;
}

int
lch_agent_main(void)
{
	struct lch_agent_cfg c;
	struct lch_env *env;
	cJSON *plan;
	char *line, *rest = NULL;
	size_t rest_len = 0;
	int i, code = 2;

	signal(SIGINT, SIG_IGN);	/* the head decides; it forwards */
	if ((line = read_plan(&rest, &rest_len)) == NULL) {
		lch_msg("agent: no plan on stdin");
		return 2;
	}
	plan = cJSON_Parse(line);
	memset(&c, 0, sizeof(c));
	c.nworkers = cJSON_GetArraySize(cJSON_GetObjectItem(plan, "ranks"));
	c.w = lch_xcalloc((size_t)c.nworkers + 1, sizeof(*c.w));
	env = lch_xcalloc((size_t)c.nworkers + 1, sizeof(*env));
	c.control_fd = 0;
	c.abort_fd = -1;
	c.ctl_pending = rest;
	c.ctl_pending_len = rest_len;
	if (plan != NULL && parse_plan(plan, &c, env) == 0)
		code = lch_agent_run(&c);
	else if (plan == NULL)
		lch_msg("agent: the plan on stdin is not JSON");
	for (i = 0; i < c.nworkers; i++) {
		free(c.w[i].envp);
		lch_env_clear(&env[i]);
	}
	if (c.nworkers)
		free(c.w[0].argv);
	free(env);
	free(c.w);
	cJSON_Delete(plan);
	free(rest);
	free(line);
	return code;
}
