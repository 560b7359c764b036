/*
 * metrics.h: metrics a rank logs, and how they reach the run record.
 *
 * Every rank (when the job keeps a record, runrec.h) finds in its
 * environment MUSTER_METRICS, the path of a FIFO its node's agent reads
 * (one per rank, "rank.R" in a private directory of the agent's, mode
 * 0700 under $TMPDIR, else /dev/shm, else /tmp, removed when the agent
 * ends, by its warden when it was killed).  Any process of the rank may open it for writing,
 * O_APPEND, and write lines; writers may come and go (the agent holds a
 * writer of its own, so one closing is no end).  A line written with one
 * write(2) of at most PIPE_BUF (4096) bytes is never mixed with another
 * writer's.  The agent stops reading while the head is behind, so a
 * writer then waits: nothing is lost.  The line protocol, one metric per
 * line, '\n' ended, at most LCH_METRIC_LINE_MAX bytes (a longer line is
 * dropped by the agent, and counted: its stderr says how many once, at
 * the end):
 *
 *	NAME VALUE [STEP]		text form (shell: echo loss 0.5 3 >...)
 *	{"name":NAME, "value":NUM, "step":INT, "t":SECONDS}
 *	{"name":NAME, "values":[NUM, ...]}		a list (log_list)
 *	{"name":NAME, "row":{COLUMN:NUM, ...}}		a row (log_row)
 *
 * NAME: 1 to 255 bytes of UTF-8, no blanks or control bytes; VALUE a
 * number, "nan", "inf" or "-inf" (in JSON the number, those strings, or
 * null for nan; recorded as null with "nonfinite"); STEP a whole number
 * >= 0 (absent: the rank's count of that name so far, 0 first); t the
 * wall time the rank logged it (absent: when the head read it).  In the
 * text form blanks (spaces, tabs) separate the fields and a '\r' before
 * the newline is ignored.  A list or a row may carry "step" and "t" too.
 * A COLUMN is 1 to 255 bytes of UTF-8 without control bytes.  A JSON
 * line is one object (blanks may follow it); its other members are
 * ignored.
 * The agent passes each line on as an "m[R] LINE" record (records.h);
 * the head turns it into a line of metrics.jsonl:
 *
 *	{"t":SECONDS, "rank":R, "name":NAME, "step":S, "value":V}
 *	{"t":..., "rank":R, "name":NAME, ["step":S,] "values":[...]}
 *	{"t":..., "rank":R, "name":NAME, ["step":S,] "row":{...}}
 *
 * with "nonfinite":"nan" ("inf", "-inf") after a null value, and after
 * a list or row holding nulls "nonfinite":K, how many.  Numbers are
 * written in the fewest digits that read back the same double.
 * A line that parses as none of these is counted (run.json's
 * metrics.bad, and one message at the end naming the rank and the first
 * such line), never fatal.  libmuster's muster_log_metric() and
 * lib/python's muster.run write the same lines.
 *
 * Under --mpi there is no head: a rank wrapper on the launcher's own
 * machine appends normalized lines to the run directory's metrics.jsonl
 * itself (each flush one write(2) of whole lines, O_APPEND); on other
 * hosts the metrics are not recorded (said once).
 */
#ifndef LCH_METRICS_H
#define LCH_METRICS_H

#include <stddef.h>

#include <cJSON.h>

#include "strbuf.h"

#define LCH_METRIC_LINE_MAX 65536
#define LCH_METRIC_NAME_MAX 255
#define LCH_METRICS_ENV "MUSTER_METRICS"
/* (rank, name) pairs and names tracked; past it steps default to 0 and
 * names are not summarized (the lines are still recorded) */
#define LCH_METRICS_KEYS_MAX (1 << 20)
#define LCH_METRICS_FLUSH_MS 100	/* buffered at most this long */

/* --- the head's side: the sink, metrics.jsonl --- */

struct lch_metrics;

/*
 * Opens (creates, appends to) the metrics file at path: NULL with err
 * set (one line naming path) when it cannot.
 */
struct lch_metrics *lch_metrics_open(const char *path, char *err, size_t len);
/*
 * One line of rank (n bytes, without its newline) received at now
 * (seconds since the epoch): normalized into the file's buffer, or
 * counted as bad.  0, or -1 for a bad line.  Writes out the buffer when
 * it is large or LCH_METRICS_FLUSH_MS old.
 */
int   lch_metrics_add(struct lch_metrics *m, int rank, const char *line,
		      size_t n, double now);
/*
 * Writes out what is buffered: 0, or -1 when the file cannot be written
 * (said once; later lines are counted, not written).
 */
int   lch_metrics_flush(struct lch_metrics *m);
/* run.json's "metrics": {"lines":N, "bad":M, "summary":{...}} (runrec.h). */
cJSON *lch_metrics_json(const struct lch_metrics *m);
/*
 * The last scalar metric recorded (for a progress line): 0 with *name
 * (borrowed, valid until the next add), *value (NAN for a non-finite
 * one) and *step set, or -1 when none was.
 */
int   lch_metrics_last(const struct lch_metrics *m, const char **name,
		       double *value, long *step);
/* One message when lines were bad: how many, the rank and the first. */
void  lch_metrics_report(const struct lch_metrics *m);
long long lch_metrics_lines(const struct lch_metrics *m);
long long lch_metrics_bad(const struct lch_metrics *m);
/* Flushes, closes, frees (NULL is fine). */
void  lch_metrics_close(struct lch_metrics *m);

/* The wall clock (CLOCK_REALTIME), seconds since the epoch. */
double lch_metrics_now(void);

/*
 * The folder of the Python helper (the package "muster", metrics.h's
 * lines from Python), found beside this program: BIN/../share/muster/
 * python when installed, else BIN/../../lib/python (the build tree).
 * NULL when neither holds muster/__init__.py.  The agent appends it to
 * every rank's PYTHONPATH.
 */
const char *lch_metrics_pydir(void);
/* Appends that folder to PYTHONPATH in e (over the process's own). */
struct lch_env;
void  lch_metrics_pypath(struct lch_env *e);

/*
 * --mpi: the wrappers write metrics.jsonl themselves, where they run on
 * the launcher's machine.  lch_metrics_where_set puts in the environment
 * (LCH_METRICS_WHERE_ENV) what names the run directory dir there: the
 * kernel's boot id, the directory's device and inode and its path (-1
 * when dir cannot be read).  lch_metrics_where_path returns that path
 * when this process sees the same directory on the same kernel, else
 * NULL (another host: its metrics are not recorded).
 */
#define LCH_METRICS_WHERE_ENV "MUSTER_METRICS_WHERE"
int   lch_metrics_where_set(const char *dir);
const char *lch_metrics_where_path(void);

/* --- the agent's side: a FIFO per rank --- */

/*
 * A private directory for the FIFOs and the flight records (mkdtemp,
 * 0700, under $TMPDIR when it is set, else LCH_METRICS_SHM_DIR when we
 * may write there, else /tmp; memory, not a disk, for the records that
 * ranks map: flight.h): malloc'ed path, or NULL with err set.
 */
#define LCH_METRICS_SHM_DIR "/dev/shm"
char *lch_metrics_dir_make(char *err, size_t len);
/* Makes dir/rank.R (mkfifo 0600): malloc'ed path, or NULL with err set. */
char *lch_metrics_fifo_make(const char *dir, int rank, char *err, size_t len);
/*
 * Removes the FIFOs rank.R of ours in dir, and dir when then empty;
 * NULL is fine (the agent calls it, and its warden after it).
 */
void  lch_metrics_dir_remove(const char *dir);

/* The reading end of a rank's FIFO, and the lines split out of it. */
struct lch_metrics_in {
	int fd;			/* O_RDONLY | O_NONBLOCK, -1: none */
	int hold;		/* our own writer: no EOF when the rank's go */
	struct lch_strbuf lb;	/* a partial line */
	int skipping;		/* in a line too long: dropped to its end */
	long long dropped;	/* lines dropped (too long) */
};
/* Opens path for reading (and our writer): 0, or -1 with errno. */
int   lch_metrics_in_open(struct lch_metrics_in *in, const char *path);
/*
 * One read; each whole line (without its newline) to fn.  Returns
 * read(2)'s count (0: nothing now, as EAGAIN), -1 on an error but
 * EAGAIN and EINTR.
 */
typedef void lch_metrics_line_fn(void *arg, const char *line, size_t n);
long  lch_metrics_in_read(struct lch_metrics_in *in, lch_metrics_line_fn *fn,
			  void *arg);
/* Splits what buf holds (n bytes) as lch_metrics_in_read does. */
void  lch_metrics_in_feed(struct lch_metrics_in *in, const char *buf,
			  size_t n, lch_metrics_line_fn *fn, void *arg);
void  lch_metrics_in_close(struct lch_metrics_in *in);

#endif /* LCH_METRICS_H */
