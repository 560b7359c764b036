/*
 * runrec.h: the run record, the local run history of a job (what Azure
 * ML's run history keeps, with no server).
 *
 * The head keeps one directory per job: --run-dir D, else the config's
 * "run_dir", else ./muster-runs/JOBID (a JOBID whose directory exists
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
 *		      "reason":TEXT}, ...],
 *	 "outputs":{"files":N, "bytes":B,
 *		    "list":[{"path":REL, "size":B, "node":I}, ...],
 *		    "errors":[{"node":I, "path":REL, "error":TEXT}, ...]},
 *	 "metrics":{"lines":N, "bad":M,
 *		    "summary":{NAME:{"count":N, "last":V, "last_step":S,
 *				     "min":V, "max":V}, ...}}}
 *
 * STATUS is Starting (the directory was made), Running (every rank
 * started), then Completed (exit 0), Failed, Canceled (SIGINT, SIGTERM,
 * SIGHUP) or TimedOut (--timeout).  reason is the line muster printed
 * for the first failure ("rank 1 (host a, pid 42) exited with code 3").
 * summary counts scalar metrics only (metrics.h "value").
 */
#ifndef LCH_RUNREC_H
#define LCH_RUNREC_H

#define LCH_RUNREC_DEFAULT "muster-runs"	/* under the cwd */
#define LCH_RUNREC_VERSION 1

#endif /* LCH_RUNREC_H */
