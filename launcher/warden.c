/* warden.c: see warden.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "clock.h"
#include "flight.h"
#include "metrics.h"
#include "pystacks.h"
#include "spawn.h"
#include "util.h"
#include "warden.h"

#define SLACK_MS 1000		/* past the grace period: SIGKILL */
#define SHM_DIR "/dev/shm"
#define SHM_PREFIX "muster-"	/* lib/shm.c: /muster-PID-... */

struct warden {
	pid_t agent;
	int status, agent_gone;
	int sfd, pids_fd, head_fd;	/* -1 once closed */
	long long kill_at;		/* SIGKILL the agent then; 0: no */
	int grace_ms;
	pid_t *pids;			/* the workers, as the agent told */
	size_t npids, apids;
	const char *metrics_dir;	/* removed at the end, or NULL */
};

void
lch_warden_tell(int fd, pid_t pid)
{
	if (fd >= 0)
		(void)!write(fd, &pid, sizeof(pid));
}

/* The parent pid in /proc/PID/stat, or -1. */
static pid_t
ppid_of(const char *pid)
{
	char path[300], buf[512], *p;
	int fd, ppid = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

/* SIGKILLs every child of ours. */
static void
kill_children(void)
{
	pid_t self = getpid();
	struct dirent *e;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (isdigit((unsigned char)e->d_name[0]) &&
		    ppid_of(e->d_name) == self)
			kill((pid_t)atol(e->d_name), SIGKILL);
	closedir(d);
}

/*
 * Kills what is left under us: a killed child's children are ours in
 * turn (we are their subreaper) before its end reaches waitpid.
 */
static void
kill_all(void)
{
	for (;;) {
		kill_children();
		if (waitpid(-1, NULL, 0) < 0 && errno != EINTR)
			break;
	}
}

static int
is_worker(const struct warden *w, long pid)
{
	size_t i;

	for (i = 0; i < w->npids; i++)
		if ((long)w->pids[i] == pid)
			return 1;
	return 0;
}

/* Segments our workers created and left: muster-PID-*, ours by owner. */
static void
remove_segments(const struct warden *w)
{
	char path[512], *end;
	struct dirent *e;
	struct stat st;
	long pid;
	DIR *d;

	if (w->npids == 0 || (d = opendir(SHM_DIR)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, SHM_PREFIX, strlen(SHM_PREFIX)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(SHM_PREFIX), &end, 10);
		if (*end != '-' || !is_worker(w, pid))
			continue;
		snprintf(path, sizeof(path), SHM_DIR "/%s", e->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_uid == geteuid())
			unlink(path);
	}
	closedir(d);
}

static void
read_pids(struct warden *w)
{
	pid_t buf[256];
	ssize_t n, i;

	n = read(w->pids_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(w->pids_fd);
		w->pids_fd = -1;
		return;
	}
	for (i = 0; i < n / (ssize_t)sizeof(pid_t); i++) {
		if (w->npids == w->apids) {
			w->apids = w->apids ? 2 * w->apids : 64;
			w->pids = lch_xrealloc(w->pids,
			    w->apids * sizeof(*w->pids));
		}
		w->pids[w->npids++] = buf[i];
	}
}

/* The agent is to stop: SIGTERM now, SIGKILL if it is still there later. */
static void
stop_agent(struct warden *w, int sig)
{
	kill(w->agent, sig);
	if (w->kill_at == 0)
		w->kill_at = (long long)mst_now_ms() + w->grace_ms + SLACK_MS;
}

static void
on_signal(struct warden *w)
{
	struct signalfd_siginfo si;
	pid_t pid;
	int st;

	while (w->sfd >= 0 &&
	    read(w->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP)
			stop_agent(w, SIGTERM);
		else if (si.ssi_signo == LCH_AGENT_KILL_SIG)
			kill(w->agent, SIGKILL);
	}
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (pid == w->agent) {
			w->status = st;
			w->agent_gone = 1;
		}
}

static void
watch(struct warden *w)
{
	struct pollfd pfd[3];
	long long now;
	int t;

	while (!w->agent_gone) {
		now = (long long)mst_now_ms();
		if (w->kill_at && now >= w->kill_at) {
			kill(w->agent, SIGKILL);
			w->kill_at = 0;
		}
		t = w->kill_at ? (int)(w->kill_at - now) : -1;
		if (w->sfd < 0 && (t < 0 || t > 200))
			t = 200;	/* no signalfd: look for the agent's end */
		pfd[0] = (struct pollfd){ w->sfd, POLLIN, 0 };
		pfd[1] = (struct pollfd){ w->pids_fd, POLLIN, 0 };
		/* a pipe's POLLERR; a socket's (--dial) POLLRDHUP */
		pfd[2] = (struct pollfd){ w->head_fd, POLLRDHUP, 0 };
		if (poll(pfd, 3, t) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			read_pids(w);
		if (pfd[2].revents) {	/* the head's end is closed */
			w->head_fd = -1;
			stop_agent(w, SIGTERM);
		}
		on_signal(w);
	}
}

/* Never returns: cleans up after the agent and ends as it ended. */
static void __attribute__((noreturn))
warden_run(struct warden *w)
{
	sigset_t set;

	watch(w);
	while (w->pids_fd >= 0)
		read_pids(w);
	kill_all();
	remove_segments(w);
	lch_pystacks_remove(w->metrics_dir);	/* pystacks.h */
	lch_flight_files_remove(w->metrics_dir);	/* flight.h */
	lch_metrics_dir_remove(w->metrics_dir);
	free(w->pids);
	if (WIFSIGNALED(w->status)) {
		signal(WTERMSIG(w->status), SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, WTERMSIG(w->status));
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(WTERMSIG(w->status));
	}
	_exit(lch_exit_code(w->status) & 0xff);
}

int
lch_warden_split(int grace_ms, const char *metrics_dir, int *pids_fd)
{
	struct warden w;
	sigset_t set, old;
	pid_t parent = getpid();
	int p[2];

	*pids_fd = -1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0 || pipe2(p, O_CLOEXEC) != 0)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, LCH_AGENT_KILL_SIG);
	sigprocmask(SIG_BLOCK, &set, &old);
	memset(&w, 0, sizeof(w));
	if ((w.agent = fork()) < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (w.agent == 0) {	/* the agent */
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(p[0]);
		prctl(PR_SET_CHILD_SUBREAPER, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(128 + SIGTERM);
		(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
		*pids_fd = p[1];
		return 0;
	}
	close(p[1]);
	w.pids_fd = p[0];
	w.head_fd = 1;
	w.grace_ms = grace_ms;
	w.metrics_dir = metrics_dir;
	if ((w.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		w.sfd = -1;	/* poll ignores it; SIGCHLD stays blocked */
		lch_msg("agent: signalfd: %s", strerror(errno));
	}
	warden_run(&w);
}
