/*
 * pystacks.h: Python frames of Python ranks in stack snapshots (stacks.h,
 * issue 12).
 *
 * gdb's py-bt needs the interpreter's debug information, which Debian
 * keeps out of main, and py-spy is not in Debian; the standard library's
 * faulthandler can print every thread's Python frames from its C signal
 * handler, so it works while the interpreter is blocked in C (time.sleep,
 * a gloo allreduce), but only in a process that registered a signal for
 * it.  So muster registers one in every Python process of a rank, at
 * start, and sends that signal at a snapshot.
 *
 * The hook.  lib/python/muster-hook/sitecustomize.py, beside the Python
 * helper (metrics.h, lch_metrics_pydir: BIN/../share/muster/python/
 * muster-hook when installed, BIN/../../lib/python/muster-hook in the
 * build tree).  The agent makes, in its private directory (the metrics
 * FIFOs' one, 0700, removed by the warden however the agent ends),
 * DIR/py.R for each rank R, names it in the rank's MUSTER_PYSTACKS and
 * puts the hook's folder FIRST on its PYTHONPATH (the folder holds that
 * file only, so nothing else is shadowed; first, so that a user's
 * sitecustomize on PYTHONPATH does not shadow ours).  Python's site
 * module imports it at start (not with python -S, -E or -I: such a
 * process just has no Python frames); it
 *  - registers faulthandler (all threads, chain=False: faulthandler's
 *    chain would re-raise the signal with its default action, which
 *    kills the process) for the first of SIGRTMIN+11 to SIGRTMIN+14
 *    whose disposition is still the default, writing to
 *    MUSTER_PYSTACKS/<pid> (O_TRUNC, O_CLOEXEC), whose first line then
 *    says what it registered:
 *
 *	muster-pystacks 1 pid=P start=S signal=N fd=F main=0xT
 *
 *    (S: /proc/P/stat's start time; F: the file's descriptor in P; T:
 *    the main thread's id as faulthandler prints it); a child made by
 *    os.fork() (a DataLoader worker) registers a file of its own; the
 *    file is removed when the process exits normally;
 *  - then runs the sitecustomize it shadows, the next one on sys.path
 *    (Debian's /usr/lib/python3.11/sitecustomize.py, or a user's), as
 *    Python would have: nothing of the user's changes.
 * An error in its own part is swallowed (one stderr line with
 * MUSTER_DEBUG set); it costs about 1 ms a start (0.2 ms without it).
 *
 * At a snapshot (lch_pystacks_ask, in the snapshotter, before any
 * debugger attaches) the rank's files are read, and the signal goes only
 * to a process that registered and is still as it registered: its file
 * is a regular file of ours with a valid first line naming its own pid;
 * the pid runs, with that start time (not a reused pid); it is in the
 * rank's process group or below the rank; it catches that signal
 * (/proc/P/status SigCgt: an exec() since reset it, and a process that
 * does not catch a real-time signal dies of it); its descriptor F is still
 * that file (not closed and reused for something else); the signal is a
 * real-time one.  A stopped process (SIGSTOP, or traced) cannot run the
 * handler: it gets no signal and the rank's note says "python frames: not
 * available (process stopped)" (gdb's native frames are still taken).
 * lch_pystacks_wait then waits, LCH_PYSTACKS_WAIT_MS at most, until
 * every asked file grew and stayed the same for LCH_PYSTACKS_SETTLE_MS;
 * what came (up to LCH_PYSTACKS_MAX bytes a process, no more processes
 * once a rank's passed LCH_PYSTACKS_RANK_MAX: the note says which were
 * left out) goes first in the rank's section of the snapshot, the
 * rank's own pid first:
 *
 *	Python frames (pid P, main thread 0x00007f...):
 *	Current thread 0x00007f... (most recent call first):
 *	  File "/x/train.py", line 12 in wait_in_here
 *	  File "/x/train.py", line 20 in <module>
 *	Thread 1 (Thread 0x7f... (LWP P) "python3"):	(gdb's, as before)
 *	#0 ...
 *
 * and the summary line of the rank starts "python FILE:LINE FUNC" (its
 * innermost frame of the main thread, lch_pystacks_top).  With Python
 * frames gdb runs no py-bt.  Not caught: a program that later installs
 * its own handler for that very signal gets our signal at a snapshot.
 */
#ifndef LCH_PYSTACKS_H
#define LCH_PYSTACKS_H

#include <stddef.h>
#include <sys/types.h>

#include "strbuf.h"

#define LCH_PYSTACKS_ENV "MUSTER_PYSTACKS"
#define LCH_PYSTACKS_HOOK "muster-hook"	/* beside the helper's muster/ */
#define LCH_PYSTACKS_WAIT_MS 300	/* for the dumps, at most */
#define LCH_PYSTACKS_SETTLE_MS 30	/* a dump unchanged this long: done */
#define LCH_PYSTACKS_MAX (64 * 1024)	/* one process's dump, at most */
#define LCH_PYSTACKS_RANK_MAX (128 * 1024)	/* no more dumps past this */
#define LCH_PYSTACKS_PROCS 64	/* processes of one rank asked, at most */
#define LCH_PYSTACKS_NOTE 256	/* a rank's note, at most */

/* The hook's folder (holding sitecustomize.py), or NULL when none. */
const char *lch_pystacks_hookdir(void);

struct lch_env;
/*
 * Makes dir/py.RANK (0700) and names it in e's MUSTER_PYSTACKS, with the
 * hook's folder first on e's PYTHONPATH (over the process's own): the
 * folder's path (malloc'ed), or NULL (said why on stderr, once) when there
 * is no hook or it cannot be made: the rank runs without.
 */
char *lch_pystacks_prepare(const char *dir, int rank, struct lch_env *e);
/* Removes every dir/py.N of ours with the pid files in it (NULL: none). */
void  lch_pystacks_remove(const char *dir);

/* A file's first line (the hook's registration). */
struct lch_pyreg {
	long pid;
	unsigned long long start;
	int sig, fd;
	unsigned long long main;	/* the main thread's id */
};
/* Parses "muster-pystacks 1 pid=.. start=.. signal=.. fd=.. main=0x..": 0, or -1. */
int   lch_pyreg_parse(const char *line, size_t n, struct lch_pyreg *r);

/* What of /proc/PID/stat the checks use. */
struct lch_proc_stat {
	char state;		/* R, S, D, T, t, Z... */
	long ppid, pgrp;
	unsigned long long start;	/* clock ticks since boot */
};
/* Parses a /proc/PID/stat text (its comm may hold blanks and parens). */
int   lch_proc_stat_parse(const char *text, struct lch_proc_stat *st);
int   lch_proc_stat_read(pid_t pid, struct lch_proc_stat *st);
/* Whether pid catches sig (a handler: /proc/PID/status SigCgt). */
int   lch_proc_catches(pid_t pid, int sig);

/* --- the snapshotter's side: one rank's processes --- */

struct lch_pyask {
	pid_t pid;
	int state;		/* below */
	int fd;			/* the file, read-only, or -1 */
	off_t from, size;	/* its size when asked, now */
	long long still_ms;	/* since when size has not changed */
	unsigned long long main;
};
enum { LCH_PYASK_ASKED = 1, LCH_PYASK_STOPPED = 2 };

struct lch_pystacks {
	int n;
	struct lch_pyask a[LCH_PYSTACKS_PROCS];
};

/*
 * Asks every process of dir (a rank's MUSTER_PYSTACKS; the rank's pid
 * rank_pid) that passes the checks above for its frames: how many got
 * the signal.
 */
int   lch_pystacks_ask(struct lch_pystacks *ps, const char *dir,
		       pid_t rank_pid);
/* Waits for the dumps of n ranks' processes (until deadline_ms at most). */
void  lch_pystacks_wait(struct lch_pystacks *ps, int n, long long deadline_ms);
/*
 * The rank's Python frames, lines ending in '\n', into text, and in note
 * (len bytes, "" when none) what is missing and why: how many processes
 * gave frames.
 */
int   lch_pystacks_text(const struct lch_pystacks *ps, struct lch_strbuf *text,
			char *note, size_t len);
void  lch_pystacks_release(struct lch_pystacks *ps);

/* --- the head's side --- */

/*
 * The innermost frame of the first "Python frames" section of a rank's
 * text, of its main thread (else of its first thread), as "FILE:LINE
 * FUNC" into buf; "" when there is none.
 */
void  lch_pystacks_top(const char *text, size_t n, char *buf, size_t len);

#endif /* LCH_PYSTACKS_H */
