/* spawn.c: see spawn.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

extern char **environ;

const int lch_watched_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD, SIGPIPE,
	SIGALRM, 0
};

int
lch_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* Only async-signal-safe calls from here to exec. */
static void __attribute__((noreturn))
child(const struct lch_spawn *s, int errfd, pid_t parent, const sigset_t *old)
{
	int i, e, null;

	for (i = 0; lch_watched_signals[i]; i++)
		signal(lch_watched_signals[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, old, NULL);
	if (s->new_pgroup)
		setpgid(0, 0);
	if (s->deathsig) {
		prctl(PR_SET_PDEATHSIG, s->deathsig);
		if (getppid() != parent)
			_exit(128 + s->deathsig);
	}
	if (s->in_fd >= 0) {
		dup2(s->in_fd, 0);
	} else if ((null = open("/dev/null", O_RDONLY)) >= 0) {
		dup2(null, 0);
		if (null != 0)
			close(null);
	}
	if (s->out_fd >= 0)
		dup2(s->out_fd, 1);
	if (s->err_fd >= 0)
		dup2(s->err_fd, 2);
	if (s->pre_exec)
		s->pre_exec(s->pre_exec_arg);
	execvpe(s->argv[0], s->argv, s->envp ? s->envp : environ);
	e = errno;
	(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

pid_t
lch_spawn_start(const struct lch_spawn *s, int *err_out)
{
	sigset_t all, old;
	pid_t parent = getpid(), pid;
	int fds[2], e = 0, st;
	ssize_t n;

	*err_out = 0;
	if (pipe2(fds, O_CLOEXEC) != 0) {
		*err_out = errno;
		return -1;
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		child(s, fds[1], parent, &old);
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		*err_out = e;
		return -1;
	}
	/* Also set from here, so the group exists before we signal it. */
	if (s->new_pgroup)
		setpgid(pid, pid);
	do
		n = read(fds[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		*err_out = e;
		return -1;
	}
	return pid;
}

static int sigpipe_w = -1;

static void
on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int e = errno;

	(void)!write(sigpipe_w, &b, 1);
	errno = e;
}

int
lch_signals_setup(int fds[2])
{
	struct sigaction sa;
	int i;

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	sigpipe_w = fds[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; lch_watched_signals[i]; i++)
		if (lch_watched_signals[i] != SIGPIPE &&
		    lch_watched_signals[i] != SIGALRM)
			sigaction(lch_watched_signals[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
lch_pipes(int (*p)[2], int n)
{
	int i, e;

	for (i = 0; i < n; i++)
		if (pipe2(p[i], O_CLOEXEC) != 0) {
			e = errno;
			lch_pipes_close(p, i);
			errno = e;
			return -1;
		}
	return 0;
}

void
lch_pipes_close(int (*p)[2], int n)
{
	int i;

	for (i = 0; i < n; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
}
