/*
 * metrics.h: metrics a rank logs, and how they reach the run record.
 *
 * Every rank (when the job keeps a record, runrec.h) finds in its
 * environment MUSTER_METRICS, the path of a FIFO its node's agent reads
 * (one per rank, in a private directory of the agent's; any process of
 * the rank may open it for writing, O_APPEND, and write lines).  The
 * line protocol, one metric per line, '\n' ended, at most
 * LCH_METRIC_LINE_MAX bytes:
 *
 *	NAME VALUE [STEP]		text form (shell: echo loss 0.5 3 >...)
 *	{"name":NAME, "value":NUM, "step":INT, "t":SECONDS}
 *	{"name":NAME, "values":[NUM, ...]}		a list (log_list)
 *	{"name":NAME, "row":{COLUMN:NUM, ...}}		a row (log_row)
 *
 * NAME: 1 to 255 bytes, no blanks or control bytes; VALUE a number,
 * "nan", "inf" or "-inf" (recorded as null with "nonfinite"); STEP a
 * whole number >= 0 (absent: the rank's count of that name so far); t
 * the wall time the rank logged it (absent: when the agent read it).
 * The agent passes each line on as an "m[R] LINE" record (records.h);
 * the head turns it into a line of metrics.jsonl:
 *
 *	{"t":SECONDS, "rank":R, "name":NAME, "step":S, "value":V}
 *	{"t":..., "rank":R, "name":NAME, "values":[...]}
 *	{"t":..., "rank":R, "name":NAME, "row":{...}}
 *
 * A line that parses as none of these is counted (run.json's
 * metrics.bad, and one message at the end naming the rank and the first
 * such line), never fatal.  libmuster's muster_log_metric() and
 * lib/python's muster.run write the same lines.
 */
#ifndef LCH_METRICS_H
#define LCH_METRICS_H

#include <stddef.h>

#include "strbuf.h"

#define LCH_METRIC_LINE_MAX 65536

#endif /* LCH_METRICS_H */
