/*
 * spawn.h: starting a child the careful way (git's start_command).
 *
 * argv and envp are built before fork(); the child resets signal handlers
 * and the mask, optionally moves into its own process group, asks for
 * PR_SET_PDEATHSIG, checks that its parent is still the one that forked it,
 * wires its fds and execs.  An exec failure comes back over a CLOEXEC pipe
 * as an errno; EOF on that pipe means the exec worked.
 */
#ifndef LCH_SPAWN_H
#define LCH_SPAWN_H

#include <sys/types.h>

struct lch_spawn {
	char *const *argv;	/* argv[0] is looked up in PATH */
	char *const *envp;	/* NULL: the current environment */
	int in_fd, out_fd, err_fd;	/* -1: /dev/null (in), inherit (out, err) */
	int new_pgroup;		/* setpgid(0, 0) */
	int deathsig;		/* PR_SET_PDEATHSIG, 0 for none */
	/* called in the child right before exec, its fds wired (NULL:
	   none); async-signal-safe calls only (a CPU binding) */
	void (*pre_exec)(void *arg);
	void *pre_exec_arg;
};

/*
 * Returns the pid, or -1 with *err_out = errno of the failed step (exec
 * failure: ENOENT, EACCES...).  A child that could not exec is reaped.
 */
pid_t lch_spawn_start(const struct lch_spawn *s, int *err_out);

/*
 * Opens n pipes (O_CLOEXEC) into p: all of them and 0, or none and -1
 * with errno set.  lch_pipes_close closes both ends of each.
 */
int   lch_pipes(int (*p)[2], int n);
void  lch_pipes_close(int (*p)[2], int n);

/* Exit code for a wait status: the code, or 128 + signal. */
int   lch_exit_code(int status);

/*
 * Routes the watched signals into a non-blocking self-pipe: each arrival
 * writes its number as one byte to fds[1]; the poll loop reads fds[0].
 * SIGPIPE is ignored.
 */
int   lch_signals_setup(int fds[2]);

/* Signals the launcher watches; blocked around fork, reset in children. */
extern const int lch_watched_signals[];

#endif /* LCH_SPAWN_H */
