/*
 * runrec.h: the run record, the local run history of a job (what Azure
 * ML's run history keeps, with no server).
 *
 * The head keeps one directory per job: --run-dir D, else the config's
 * "run_dir", else ./muster-runs/JOBID, or $MUSTER_RUNS_DIR/JOBID when
 * that is set (where `muster runs` looks too; a JOBID whose directory exists
 * gets ".1", ".2"... so no run is overwritten); --no-record keeps none.
 * A directory that cannot be made or written is one warning on stderr
 * and the job runs without a record.  Inside it:
 *
 *	run.json	the run, one JSON object (below), replaced as a whole
 *			(written to .run.json.tmp, fsync'ed, renamed) at every
 *			change of status, so a reader never sees half of one
 *	logs/		rank.R.stdout, rank.R.stderr: every rank's output
 *			from every node, untagged, as the rank wrote it
 *			(carriage returns included), appended as it arrives
 *	outputs/	each node's ./outputs (or --output-dir), gathered at
 *			the end (gather.h)
 *	metrics.jsonl	one JSON object per metric logged (metrics.h),
 *			appended as it arrives, in the order received
 *	secret		an elastic job's join secret, 0600 (join.h), when
 *			hosts may join it with muster --join
 *	.lock		held (flock LOCK_EX) by the launcher while it runs:
 *			a reader that can take it knows the launcher is gone
 *
 * Only appends and whole replacements: a launcher killed by SIGKILL
 * leaves run.json as it last was (status Starting or Running), its logs
 * and metrics up to their last whole line, and `muster runs` shows
 * such a run as Interrupted (status Starting/Running, .lock free).
 *
 * run.json, version 1 (fields absent when unknown; times are seconds
 * since the epoch, with milliseconds):
 *
 *	{"version":1, "id":JOBID, "status":STATUS,
 *	 "command":[PROGRAM, ARG...], "cwd":DIR,
 *	 "launcher":{"kind":"local|ssh|slurm|mpi", "host":H, "pid":P,
 *		     "version":MUSTER_VERSION_STRING},
 *	 "options":{"np":N, "nodes":K, "procs_per_node":P, "timeout":S,
 *		    "max_restarts":R, "mode":"mpi|ps|plain", ...},
 *	 "config":FILE, "spec":{...the --config file as given...},
 *	 "np":N, "nnodes":K,
 *	 "hosts":[{"node":I, "host":H, "addr":A, "ranks":[R...]}, ...],
 *	 "start":T, "running":T, "end":T, "duration":S,
 *	 "exit_code":C,
 *	 "ranks":[{"rank":R, "node":I, "host":H, "pid":P, "start":T,
 *		   "end":T, "exit_code":C, "signal":"SIGKILL",
 *		   "status":"Running|Completed|Failed|Killed|NotStarted|Lost"},
 *		  ...],
 *	 "first_failure":{"rank":R, "host":H, "pid":P, "exit_code":C,
 *			  "signal":NAME, "reason":TEXT},
 *	 "attempts":[{"attempt":A, "start":T, "end":T, "exit_code":C,
 *		      "reason":TEXT, "np":N, "nnodes":K, "hosts":[H...],
 *		      "generation":G, "lost":[NAME...], "joined":[H...],
 *		      "next":"why the next attempt starts"}, ...],
 *	 "outputs":{"files":N, "bytes":B,
 *		    "list":[{"path":REL, "size":B, "node":I}, ...],
 *		    "errors":[{"node":I, "path":REL, "error":TEXT}, ...]},
 *	 "join":"tcp://ADDR:PORT" (where hosts join: join.h),
 *	 "metrics":{"lines":N, "bad":M,
 *		    "summary":{NAME:{"count":N, "last":V, "last_step":S,
 *				     "min":V, "max":V}, ...}}}
 *
 * An attempt is one generation of an elastic job (elastic.h): its np,
 * nnodes and hosts are that generation's (the top-level np, nnodes,
 * hosts and ranks are the last generation's); generation, lost (the
 * nodes lost in it: hosts, or "node K" for virtual nodes), joined (the
 * hosts the next generation adds) and next are there for elastic jobs.
 * STATUS is Starting (the directory was made), Running (every rank
 * started), then Completed (exit 0), Failed, Canceled (SIGINT, SIGTERM,
 * SIGHUP) or TimedOut (--timeout).  reason is the line muster printed
 * for the first failure ("rank 1 (host a, pid 42) exited with code 3").
 * summary counts scalar metrics only (metrics.h "value").
 *
 * Under --mpi (launcher kind "mpi") mpirun starts and watches the ranks:
 * run.json holds the status (Running once mpirun started), exit_code,
 * hosts (no addr), options and one attempt; "ranks" is absent and
 * first_failure only where mpirun could not be run.  The --mpi-rank
 * wrappers on the launcher's machine (metrics.h: MUSTER_METRICS_WHERE)
 * write their rank's logs/ and metrics.jsonl lines themselves; those on
 * other hosts do not, and no outputs are gathered.  A rank's status is
 * Killed when it ended nonzero while muster was stopping the job.
 */
#ifndef LCH_RUNREC_H
#define LCH_RUNREC_H

#include <stddef.h>

#include "options.h"
#include "plan.h"

#define LCH_RUNREC_DEFAULT "muster-runs"	/* under the cwd */
#define LCH_RUNREC_VERSION 1
#define LCH_RUNREC_LOG_BUF 65536	/* a log buffer is written past it */
#define LCH_RUNREC_SUFFIX_MAX 999	/* JOBID.1 ... JOBID.999 */

/* STATUS, and what `muster runs` shows for a run nobody holds. */
#define LCH_RR_STARTING "Starting"
#define LCH_RR_RUNNING "Running"
#define LCH_RR_COMPLETED "Completed"
#define LCH_RR_FAILED "Failed"
#define LCH_RR_CANCELED "Canceled"
#define LCH_RR_TIMEDOUT "TimedOut"
#define LCH_RR_INTERRUPTED "Interrupted"	/* never in run.json */

struct cJSON;
struct lch_runrec;

/*
 * The head's side.  Every call takes NULL (no record) and does nothing
 * then, so the head calls them unconditionally.  Each write of run.json
 * is a whole replacement (.run.json.tmp, fsync, rename, fsync of the
 * directory); it happens at open (Starting), when every rank of an
 * attempt started (Running), at the end of an attempt that is restarted
 * (Starting again), at lch_runrec_write and at lch_runrec_finish: a
 * handful of times per job, never per line.  The writes while the job
 * runs (Running, Starting again) are done by a thread of the record's,
 * so the head's loop never waits on the disk; the others are done in
 * the caller, after the thread's.  A write that fails later is one
 * warning; the job goes on, its exit code unchanged.
 */

/*
 * Makes the run directory (runrec.h's "where", with logs/ and outputs/,
 * mode 0755), takes its .lock (an O_CLOEXEC descriptor, held until
 * lch_runrec_free) and writes run.json (Starting).  NULL when o asks for
 * no record (--no-record, --dry-run: the caller does not call it for
 * agents, --check or --mpi-rank), or after one warning naming the
 * directory and the error: the job then runs without one.  kind is the
 * launcher's kind ("local", "ssh", "slurm", "mpi"; NULL: p->launcher).
 * Raises RLIMIT_NOFILE toward 2 * np log files.  o and p are borrowed
 * until lch_runrec_free.  A --run-dir used before is taken over: its
 * run.json and the logs this run writes are replaced.
 */
struct lch_runrec *lch_runrec_open(const struct lch_opts *o,
				   const struct lch_plan *p, const char *kind);
/* The run directory (absolute when it was given so), or NULL. */
const char *lch_runrec_dir(const struct lch_runrec *rr);

/* Node i's address, from its facts ("hosts"[i].addr). */
void lch_runrec_node(struct lch_runrec *rr, int node, const char *addr);
/*
 * Attempt a (0, 1... with --max-restarts) begins: every rank is
 * NotStarted again, first_failure forgotten.
 */
void lch_runrec_attempt(struct lch_runrec *rr, int a);
/* An s record: rank started as pid; the last rank's makes it Running. */
void lch_runrec_rank_start(struct lch_runrec *rr, int rank, int pid);

/* How a rank ended (records.h: x, F, f). */
enum lch_rr_end {
	LCH_RR_EXIT,		/* x: ended (code: exit code, 128 + sig) */
	LCH_RR_FAIL,		/* F: failed (x follows) */
	LCH_RR_NOEXEC		/* f: not started (pid: 0) */
};
/*
 * A rank's end.  stopping: the job was already being stopped (a failure
 * elsewhere, a signal, the time limit) when it ended: a nonzero code is
 * then Killed, not Failed.
 */
void lch_runrec_rank_end(struct lch_runrec *rr, int rank, int pid, int code,
			 enum lch_rr_end how, int stopping);
/*
 * What muster said of the attempt's first failure (first_failure): rank
 * (-1 for a host or agent), its host and pid (0: unknown), the exit code
 * and reason, the line muster printed without "muster: ".
 */
void lch_runrec_failure(struct lch_runrec *rr, int rank, const char *host,
			int pid, int code, const char *reason);
/*
 * The attempt ended with code (reason: why, or NULL); ranks started and
 * not ended are Lost.  restart: another attempt follows (run.json is
 * written, Starting).
 */
void lch_runrec_attempt_end(struct lch_runrec *rr, int code,
			    const char *reason, int restart);

/*
 * Adds key: val (taken) to the entry lch_runrec_attempt_end makes next
 * (elastic.h: "generation", "lost", "joined", "left", "next").
 */
void lch_runrec_attempt_note(struct lch_runrec *rr, const char *key,
			     struct cJSON *val);
/*
 * The plan rr borrows was rebuilt (a new generation, elastic.h): room
 * for its ranks and nodes, the nodes' addresses forgotten.  Logs stay
 * per rank number, appended to across generations.
 */
void lch_runrec_replan(struct lch_runrec *rr);

/*
 * n bytes of rank's stdout (stream 0) or stderr (1), as the rank wrote
 * them; newline: a '\n' follows (an o or e record; a piece, O or E, has
 * none).  Buffered per file, written past LCH_RUNREC_LOG_BUF and at
 * lch_runrec_flush; files opened at their first bytes (O_APPEND,
 * O_CLOEXEC, O_NOFOLLOW, mode 0644).  A file that cannot be opened or
 * written is one warning, and its rank's output goes on to muster's
 * stdout and stderr as ever.  Logs stay open while RLIMIT_NOFILE (raised
 * for them) leaves the head room for its pipes; past that, and when
 * descriptors run out, a file is opened for each write (one warning).
 */
void lch_runrec_log(struct lch_runrec *rr, int rank, int stream,
		    const char *data, size_t n, int newline);
/* Writes what the logs hold (once per turn of the head's loop). */
void lch_runrec_flush(struct lch_runrec *rr);

/*
 * Sets (or replaces) a top-level member of run.json, taking val: the
 * hook of the other parts of the record, called before the final write.
 * gather.h sets "outputs" after gathering into
 * lch_runrec_dir(rr)/outputs, metrics.h sets "metrics" after writing
 * lch_runrec_dir(rr)/metrics.jsonl, join.h's port "join" at the start
 * (written with the next status).  NULL rr frees val.
 */
void lch_runrec_set(struct lch_runrec *rr, const char *key,
		    struct cJSON *val);
/* Writes run.json now with status (NULL: as it is); 0 or -1. */
int  lch_runrec_write(struct lch_runrec *rr, const char *status);
/* Waits until what the thread was given is written. */
void lch_runrec_sync(struct lch_runrec *rr);
/* The status of a job that ended with code (the head's view). */
const char *lch_runrec_final(int code, int interrupted, int timed_out);
/*
 * The final write: status (lch_runrec_final), exit_code, end, duration;
 * the logs flushed.  The lock is held until lch_runrec_free.
 */
void lch_runrec_finish(struct lch_runrec *rr, const char *status, int code);
/* Closes the logs, releases the lock, frees rr (NULL is fine). */
void lch_runrec_free(struct lch_runrec *rr);

/*
 * The readers' side (`muster runs`).  Whether a launcher holds the run
 * directory's .lock: 1 yes, 0 no (or no .lock), -1 on an error (errno;
 * no such directory: ENOENT).  It takes the lock shared for an instant
 * and never blocks.
 */
int  lch_runrec_live(const char *run_dir);
/*
 * What to show for a run whose run.json says status, live as
 * lch_runrec_live said: Interrupted for Starting or Running when no
 * launcher holds it (live 0: killed, its host rebooted), else status.
 */
const char *lch_runrec_shown(const char *status, int live);

#endif /* LCH_RUNREC_H */
