/* joiner.c: `muster --join URL`, the joining host's side (join.h). */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "clock.h"
#include "dial.h"
#include "join.h"
#include "options.h"
#include "slurm.h"
#include "spawn.h"
#include "strbuf.h"
#include "util.h"

#define STOP_MS 10000	/* an agent told to stop has this long */
#define LEAVE_MS 2000	/* ... to see its connection closed first */

struct joiner {
	const struct lch_opts *o;
	const char *url;
	int fd, sigfd[2];
	struct lch_strbuf rd;
	pid_t agent;		/* this generation's, 0: none */
	int agent_code;
};

/* Connects to host:port (IPv4, by name or address): the fd, or -1 (errno). */
static int
dial_head(const char *host, long port)
{
	struct addrinfo hints, *res = NULL, *ai;
	char ps[16];
	int fd = -1, e = ENOENT;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(ps, sizeof(ps), "%ld", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			e = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		errno = e;
	return fd;
}

/*
 * The next line from the head into m, waiting at most ms (-1: forever)
 * while watching our signals: 1, 0 at EOF, -1 on a timeout or a bad
 * line (said), -2 - SIG on a signal.
 */
static int
next_line(struct joiner *j, struct lch_join_msg *m, long long ms)
{
	long long end = ms < 0 ? -1 : (long long)mst_now_ms() + ms;
	char err[200], *nl;
	ssize_t n;
	int rc;

	for (;;) {
		struct pollfd pfd[2] = { { j->fd, POLLIN, 0 },
		    { j->sigfd[0], POLLIN, 0 } };
		unsigned char b;

		if ((nl = j->rd.len ? memchr(j->rd.buf, '\n', j->rd.len) :
		    NULL) != NULL) {
			rc = lch_join_parse(j->rd.buf,
			    (size_t)(nl - j->rd.buf), m, err, sizeof(err));
			lch_strbuf_consume(&j->rd, (size_t)(nl - j->rd.buf) + 1);
			if (rc != 0)
				lch_msg("--join %s: %s", j->url, err);
			return rc == 0 ? 1 : -1;
		}
		if (poll(pfd, 2, end < 0 ? -1 : lch_poll_ms(end -
		    (long long)mst_now_ms())) == 0) {
			lch_msg("--join %s: the head said nothing for %lld s",
			    j->url, ms / 1000);
			return -1;
		}
		while (read(j->sigfd[0], &b, 1) == 1) {
			if (b == SIGINT || b == SIGTERM || b == SIGHUP ||
			    b == SIGQUIT)
				return -2 - b;
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = lch_strbuf_read_once(&j->rd, j->fd, LCH_JOIN_LINE_MAX);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return 0;
		if (j->rd.len >= LCH_JOIN_LINE_MAX &&
		    !memchr(j->rd.buf, '\n', j->rd.len)) {
			lch_msg("--join %s: a line from the head longer than "
			    "%d bytes", j->url, LCH_JOIN_LINE_MAX);
			return -1;
		}
	}
}

/* Reaps our children; the agent's code when it ended. */
static void
reap(struct joiner *j)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (pid == j->agent) {
			j->agent = 0;
			j->agent_code = lch_exit_code(st);
		}
}

/*
 * Waits for the agent: wait_ms for it to end on its own, then sig (0:
 * none), then STOP_MS, then SIGKILL to its process group.
 */
static void
stop_agent(struct joiner *j, long long wait_ms, int sig)
{
	long long end = (long long)mst_now_ms() + wait_ms;
	int sent = 0;

	reap(j);
	while (j->agent > 0) {
		if (!sent && (long long)mst_now_ms() >= end) {
			if (!sig)
				break;
			kill(j->agent, sig);
			sent = 1;
			end = (long long)mst_now_ms() + STOP_MS;
		} else if (sent && (long long)mst_now_ms() >= end) {
			break;
		}
		usleep(20000);
		reap(j);
	}
	if (j->agent > 0) {
		killpg(j->agent, SIGKILL);
		(void)waitpid(j->agent, NULL, 0);
		j->agent = 0;
	}
}

/* This generation's agent: muster --agent --dial D, the token in its env. */
static void
start_agent(struct joiner *j, const struct lch_join_msg *m)
{
	char *argv[5], agent[] = "--agent", dial[] = "--dial";
	struct lch_env env;
	struct lch_spawn s;
	char **envp;
	int e;

	reap(j);
	if (j->agent > 0)	/* the last one still ends: it is done */
		stop_agent(j, 0, SIGTERM);
	argv[0] = (char *)lch_self_exe();
	argv[1] = agent;
	argv[2] = dial;
	argv[3] = (char *)m->dial;
	argv[4] = NULL;
	memset(&env, 0, sizeof(env));
	lch_env_set(&env, LCH_DIAL_TOKEN_ENV, m->token);
	envp = lch_env_merge(environ, &env);
	memset(&s, 0, sizeof(s));
	s.argv = argv;
	s.envp = envp;
	s.in_fd = s.out_fd = s.err_fd = -1;
	s.new_pgroup = 1;	/* our Ctrl-C reaches it through us */
	s.deathsig = SIGTERM;
	j->agent = lch_spawn_start(&s, &e);
	if (j->agent < 0) {
		lch_msg("--join %s: cannot start the agent (%s): %s", j->url,
		    argv[0], strerror(e));
		j->agent = 0;
	} else if (j->o->verbose) {
		lch_msg("generation %ld: agent %d dials the head at %s",
		    m->generation, (int)j->agent, m->dial);
	}
	free(envp);
	lch_env_clear(&env);
}

/* The nonce, the answer, the head's verdict: 0 joined, else an exit code. */
static int
handshake(struct joiner *j, const char *secret, size_t n)
{
	struct lch_join_msg m;
	unsigned char key[LCH_JOIN_KEY_LEN];
	char *ans;
	int rc;

	if ((rc = next_line(j, &m, LCH_JOIN_HELLO_MS)) != 1 ||
	    m.kind != LCH_JOIN_NONCE) {
		if (rc == 0 || (rc == 1 && m.kind != LCH_JOIN_NONCE))
			lch_msg("--join %s: not the join port of a muster job",
			    j->url);
		return rc < -1 ? 128 + (-2 - rc) : 1;
	}
	lch_join_key(secret, n, key);
	ans = lch_join_answer(key, m.nonce, lch_node_name(), j->o->slots,
	    j->o->job_id);
	rc = lch_write_all(j->fd, ans, strlen(ans)) != 0 ||
	    lch_write_all(j->fd, "\n", 1) != 0;
	free(ans);
	if (rc != 0 || (rc = next_line(j, &m, LCH_JOIN_HELLO_MS)) == 0) {
		lch_msg("--join %s: the head closed the connection", j->url);
		return 1;
	}
	if (rc != 1)
		return rc < -1 ? 128 + (-2 - rc) : 1;
	if (m.kind == LCH_JOIN_ERROR) {
		lch_msg("--join %s: the job's head refused host %s: %s",
		    j->url, lch_node_name(), m.why);
		return 1;
	}
	if (m.kind != LCH_JOIN_OK) {
		lch_msg("--join %s: an unexpected line from the head", j->url);
		return 1;
	}
	lch_msg("joined job %s as host %s, waiting for the next generation",
	    m.job, lch_node_name());
	return 0;
}

/*
 * Start lines until the end line (its code), EOF or a signal.  On a
 * signal the control connection closes first: the head takes the node
 * as lost and closes the agent's connection, which stops the agent; it
 * gets a signal of its own only if that does not come.
 */
static int
serve(struct joiner *j)
{
	struct lch_join_msg m;
	int rc;

	for (;;) {
		rc = next_line(j, &m, -1);
		reap(j);
		if (rc == 1 && m.kind == LCH_JOIN_START) {
			start_agent(j, &m);
			continue;
		}
		if (rc == 1 && m.kind == LCH_JOIN_END) {
			stop_agent(j, STOP_MS, 0);	/* ends with its
							   connection */
			return m.code;
		}
		close(j->fd);
		j->fd = -1;
		if (rc < -1) {
			stop_agent(j, LEAVE_MS, SIGTERM);
			return 128 + (-2 - rc);
		}
		if (rc == 0)
			lch_msg("--join %s: the job's head closed the "
			    "connection before the job's end", j->url);
		stop_agent(j, LEAVE_MS, SIGTERM);
		return 1;
	}
}

int
lch_join_main(const struct lch_opts *o)
{
	struct joiner j;
	char host[LCH_HOST_MAX + 1], err[PATH_MAX + 300];
	char secret[LCH_JOIN_SECRET_MAX + 2];
	const char *path = o->secret_file ? o->secret_file :
	    getenv(LCH_JOIN_SECRET_ENV);
	long port;
	int n, rc;

	memset(&j, 0, sizeof(j));
	j.o = o;
	j.url = o->join;
	if (lch_join_url(o->join, host, sizeof(host), &port, err,
	    sizeof(err)) != 0) {
		lch_msg("%s", err);
		return 2;
	}
	if (path == NULL || *path == '\0') {
		lch_msg("--join: no secret file (give --secret-file F, or "
		    "set %s)", LCH_JOIN_SECRET_ENV);
		return 2;
	}
	if ((n = lch_join_secret_read(path, secret, sizeof(secret), err,
	    sizeof(err))) < 0) {
		lch_msg("--join: %s", err);
		return 2;
	}
	if ((j.fd = dial_head(host, port)) < 0) {
		lch_msg("--join %s: cannot connect to the job's head: %s",
		    o->join, strerror(errno));
		return 1;
	}
	if (lch_signals_setup(j.sigfd) != 0) {
		lch_msg("--join: signals: %s", strerror(errno));
		close(j.fd);
		return 1;
	}
	lch_strbuf_init(&j.rd, 0);
	rc = handshake(&j, secret, (size_t)n);
	sodium_memzero(secret, sizeof(secret));
	if (rc == 0)
		rc = serve(&j);
	if (j.fd >= 0)
		close(j.fd);
	lch_strbuf_release(&j.rd);
	return rc;
}
