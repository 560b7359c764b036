/*
 * stacks.h: stack snapshots of a job's ranks (hang forensics, issue 12).
 *
 * Who asks.  The head takes a snapshot of every rank of the job
 *  - when no rank made progress for --stall-timeout S seconds (head.c
 *    stall_check: a rank makes progress when the head receives output of
 *    it, an o, e, O or E record; later also when its flight record says a
 *    collective completed, see "The flight record's hook" below): once
 *    per stall, again only after progress resumed and stopped again.
 *    The clock starts when every rank started (s records), and does not
 *    run while muster's own stdout or stderr is not being read (the head
 *    then reads no records: the ranks wait on it, not on each other);
 *  - on SIGUSR1 to the launcher (which before issue 12 forwarded SIGUSR1
 *    to every rank; SIGUSR2 still is), what `muster stacks [JOB]` sends
 *    from another terminal (runs.h).
 * A snapshot never stops the job: every rank goes on (a rank stopped by
 * SIGSTOP stays stopped), and the job's progress, exit code and records
 * are as they would be without it.  One snapshot at a time: a SIGUSR1
 * while one is taken is served by that one.
 *
 * How.  The head sends "stacks" (records.h) to every agent; each agent
 * forks one snapshotter (lch_stacks_fork), which runs one debugger per
 * running rank of its node, all at once, each bounded by
 * LCH_STACKS_RANK_MS (killed past it, the rank detached by the kernel
 * and left as it was), and sends what they printed as k[R] records and
 * a K[R] STATUS TEXT record per rank.  The debugger is eu-stack
 * (Debian's elfutils) where it is installed, `eu-stack -i -s -p PID`
 * (every thread, inlined frames, source lines: about 0.1 s a rank where
 * gdb takes 0.4 s, so a stall's stacks come within S + 2 s), else gdb
 * (Debian's gdb package); $MUSTER_STACKS_TOOL (gdb or eu-stack) chooses,
 * and a Python rank that gave no Python frames of muster's (below) gets
 * gdb, which may have py-bt:
 *
 *	gdb -batch -nx -p PID -iex 'set debuginfod enabled off'
 *	    -ex 'set pagination off' -ex 'thread apply all bt'
 *	    [-ex py-bt]
 *
 * Either attaches (ptrace: the agent's user may trace its own ranks unless
 * kernel.yama.ptrace_scope is 2 or more; root may always), prints every
 * thread's native frames and detaches.  For a rank whose program is a
 * Python interpreter (/proc/PID/exe's name starts with "python") gdb
 * also runs py-bt, unless it gave Python frames of muster's own (below).
 * On Debian 12 py-bt comes with python3-dbg (python3.11-dbg:
 * /usr/share/gdb/auto-load/usr/bin/python3.11-gdb.py), but it needs the
 * interpreter's debug information, which python3.11-dbg has for its own
 * debug interpreter (python3.11d) and not for the stripped
 * /usr/bin/python3.11 (that is in the debian-debug archive); py-spy is
 * not in Debian.
 *
 * Python frames.  So every Python process of a rank registers, at start,
 * the standard library's faulthandler for a real-time signal (muster's
 * sitecustomize.py, on the rank's PYTHONPATH: pystacks.h), and the
 * snapshotter, before any debugger attaches, sends that signal to each
 * process that registered and is still as it registered (never to
 * another: a real-time signal's default action kills), waits up to
 * LCH_PYSTACKS_WAIT_MS for what faulthandler wrote (from its C signal
 * handler: it works while the interpreter is blocked in C, in time.sleep
 * or a gloo allreduce), and puts it first in the rank's text as
 * "Python frames (pid P, main thread 0x...):" lines; a stopped rank's
 * note says "python frames: not available (process stopped)" and gdb's
 * native frames are taken still.  The Python phase takes half of the
 * rank's time LCH_STACKS_RANK_MS at most, its debugger the rest.
 * The debugger missing on a node is each of its ranks' K 1 "cannot run
 * gdb (Debian's gdb package) ..." (or eu-stack, elfutils).
 *
 * The snapshot's text, per rank, in rank order, after a header and, for
 * a stall, the stall report:
 *
 *	=== rank R (host H, pid P): STATUS_WORD[: TEXT] ===
 *	Thread 1 (Thread 0x7f... (LWP P) "prog"):	(gdb's)
 *	#0  0x... in clock_nanosleep (...) at ...
 *	...
 *	TID P:						(eu-stack's)
 *	#0  0x00007f... clock_nanosleep@GLIBC_2.2.5
 *	    ../sysdeps/unix/sysv/linux/clock_nanosleep.c:71:10
 *	...
 *
 * is written to lch_runrec_dir(rr)/stacks/N-YYYYmmdd-HHMMSS.txt (N: 1,
 * 2... the run's snapshots in order; written as .N.tmp, then renamed, so
 * that a reader never sees half of one), and a summary goes to stderr:
 * one line per rank with its top frames ("clock_nanosleep < nanosleep <
 * spin < main", the main thread's, innermost first) or why there are
 * none; for a rank with Python frames first "python FILE:LINE FUNC; "
 * (lch_stacks_summary).  Without a run record (--no-record) the whole
 * text goes to stderr instead.
 *
 * The report's lines on collectives come from the ranks' flight records
 * (flight.h): with --stall-timeout the head asks the agents for them
 * ("flight") 4 times a period (0.1 to 1 s) and a collective a rank
 * completed counts as the job's progress too; at a stall it prints
 * lch_flight_report's lines ("allreduce #1234 (float32 x 1048576):
 * ranks 0-2,4-7 waiting 31 s; rank 3 has not entered it, last
 * completed #1233"), or, when no rank has a record (no libmuster), for
 * each rank how long ago its last output came.
 */
#ifndef LCH_STACKS_H
#define LCH_STACKS_H

#include <stddef.h>
#include <sys/types.h>

#include "strbuf.h"

#define LCH_STACKS_RANK_MS 20000	/* one rank's debugger, at most */
#define LCH_STACKS_SLACK_MS 5000	/* the head waits this much more */
#define LCH_STACKS_LINE_MAX 4096	/* a k record's LINE, at most */
#define LCH_STACKS_RANK_MAX (256 * 1024)	/* a rank's text, at most */
#define LCH_STACKS_WAIT_MS 60000	/* `muster stacks` waits this long */
#define LCH_STACKS_TOP 4		/* frames in the stderr summary */
#define LCH_STACKS_EXIT 124		/* --stall-action abort's exit code */

/* K records' STATUS. */
enum lch_stacks_status {
	LCH_STACKS_OK = 0,		/* taken; TEXT a note or empty */
	LCH_STACKS_FAILED = 1,		/* TEXT: why */
	LCH_STACKS_TIMEDOUT = 2,	/* the debugger ran past its time */
	LCH_STACKS_NOTRUNNING = 3,	/* not started, or ended */
	LCH_STACKS_PENDING = -1		/* (the head's) no K record yet */
};

/* --stall-action (options.h). */
enum lch_stall_action { LCH_STALL_REPORT = 0, LCH_STALL_ABORT = 1 };


/*
 * LCH_STACKS_RANK_MS, or $MUSTER_STACKS_RANK_MS (100 to 600000; a knob
 * for tests, read by the head and by the agents it forks here).
 */
int   lch_stacks_rank_ms(void);

/* --- the agent's side --- */

/*
 * A rank to snapshot: pid 0 when it is not running (ended: it ended);
 * pydir its MUSTER_PYSTACKS (pystacks.h), or NULL.
 */
struct lch_stacks_target {
	int rank;
	pid_t pid;
	int ended;
	const char *pydir;
};
/*
 * Forks the snapshotter of n ranks (each debugger bounded by ms): its
 * pid, and in *fd the read end (O_CLOEXEC, O_NONBLOCK) of the pipe
 * where its k and K records come, whole lines, ending at EOF; the
 * caller reaps it.  -1 with errno when it cannot fork.
 */
pid_t lch_stacks_fork(const struct lch_stacks_target *t, int n, int ms,
		      int *fd);
/*
 * Appends a K record: "K[R] STATUS TEXT\n" (TEXT's control bytes as
 * blanks).
 */
void  lch_stacks_add_end(struct lch_strbuf *sb, int rank, int status,
			 const char *text);

/* --- the head's side: one snapshot being collected --- */

struct lch_stacks_rank {
	int status;		/* enum lch_stacks_status */
	const char *host;	/* borrowed */
	int pid;		/* 0: unknown */
	char *note;		/* the K record's TEXT, or NULL */
	struct lch_strbuf text;	/* its k lines, each ending in '\n' */
};

struct lch_stacks {
	int active;		/* begun, not yet done */
	int np, pending;	/* ranks, and those without a K record */
	struct lch_stacks_rank *r;
	long long started_ms, deadline_ms;	/* mst_now_ms clock */
	double started;		/* seconds since the epoch */
	char why[256];		/* what asked: "SIGUSR1", a stall... */
	struct lch_strbuf report;	/* the stall report, or empty */
};

/* Begins a snapshot of np ranks (each pending), done by wait_ms at most. */
void  lch_stacks_begin(struct lch_stacks *s, int np, const char *why,
		       long long now_ms, long long wait_ms);
/* A k or K record's text for rank (below np). */
void  lch_stacks_record(struct lch_stacks *s, int type, int rank,
			const char *text, size_t n);
/* Rank's snapshot ends without a K record (its agent is gone...). */
void  lch_stacks_settle(struct lch_stacks *s, int rank, int status,
			const char *why);
/* Every rank answered, or now_ms is past the deadline. */
int   lch_stacks_complete(const struct lch_stacks *s, long long now_ms);
/* The whole text (header, report, each rank), appended to sb. */
void  lch_stacks_text(const struct lch_stacks *s, const char *job,
		      struct lch_strbuf *sb);
/*
 * Writes text to run_dir/stacks/N-TIME.txt (N: one more than the
 * highest there; .N.tmp renamed): the path, malloc'ed, or NULL with
 * errno.
 */
char *lch_stacks_save(const char *run_dir, double when, const char *text,
		      size_t n);
/*
 * The top frames of a rank's text: the function names of the first
 * "Thread 1" block's innermost max frames with a name (else the first
 * block's; "??" frames skipped), " < " between them, into buf; "" when
 * there is none.
 */
void  lch_stacks_top(const char *text, size_t n, int max, char *buf,
		     size_t len);
/*
 * A rank's summary line: "python FILE:LINE FUNC; " (its innermost Python
 * frame, lch_pystacks_top) when it has Python frames, then
 * lch_stacks_top's frames.
 */
void  lch_stacks_summary(const char *text, size_t n, int max, char *buf,
			 size_t len);
void  lch_stacks_release(struct lch_stacks *s);

/*
 * --- `muster stacks [ID] [--runs-dir D]` (runs.h resolves ID as `muster
 * show` does; without one, the newest run whose launcher is live) ---
 * It refuses (exit 1, one line) a run that is not live, one whose
 * launcher runs on another host (run.json's launcher.host) or is an
 * --mpi one (mpirun watches those ranks), and says so when no new file
 * came within LCH_STACKS_WAIT_MS.
 */

/*
 * The snapshot's number in a file name "N-....txt", or 0 when it is no
 * such name.
 */
long  lch_stacks_file_no(const char *name);
/*
 * The highest N of run_dir/stacks (0: none), and in *path (malloc'ed,
 * or NULL) that file's path.
 */
long  lch_stacks_latest(const char *run_dir, char **path);

/*
 * Asks the launcher pid of the live run in run_dir (id: for messages)
 * for a snapshot (SIGUSR1), waits up to wait_ms for the new file and
 * prints it on stdout: 0, or 1 after one line saying what failed.
 */
int   lch_stacks_request(const char *run_dir, const char *id, long pid,
			 int wait_ms);

#endif /* LCH_STACKS_H */
