/*
 * head.h: the launcher's head: plans the job, starts one agent per node,
 * prints their workers' output tagged with the rank, turns the first
 * failure into a stop of every node, forwards signals, enforces --timeout
 * and restarts the job (--max-restarts).
 */
#ifndef LCH_HEAD_H
#define LCH_HEAD_H

#include "options.h"

/* Runs the job; returns muster's exit code. */
int lch_head_run(struct lch_opts *o);

#endif /* LCH_HEAD_H */
