/*
 * head.h: the launcher's head: plans the job, starts one agent per node,
 * prints their workers' output tagged with the rank, turns the first
 * failure into a stop of every node, forwards signals, enforces --timeout
 * and restarts the job (--max-restarts).
 *
 * Signals: SIGINT, SIGTERM, SIGHUP (SIGQUIT as SIGTERM) and SIGUSR2 are
 * forwarded to every rank; SIGUSR1 is not (it was before issue 12): it
 * makes the head take a stack snapshot of every rank (stacks.h), which
 * is what `muster stacks` sends.  --stall-timeout S: no progress of any
 * rank for S seconds is reported once per stall, with a snapshot
 * (stacks.h); --stall-action abort then stops the job as --timeout does
 * (exit 124, LCH_STACKS_EXIT; run.json status TimedOut).
 * The message of a failed rank is followed by the last lines of its
 * stderr (up to 10, as the head received them) and one line naming the
 * ranks that ended nonzero after it, as its likely victims.
 */
#ifndef LCH_HEAD_H
#define LCH_HEAD_H

#include "options.h"

/* Runs the job; returns muster's exit code. */
int lch_head_run(struct lch_opts *o);

#endif /* LCH_HEAD_H */
