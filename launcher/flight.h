/*
 * flight.h: the agent's side of the flight records libmuster keeps of
 * its collectives (the file's format: common/flight_fmt.h, the one
 * place it is defined), and the stall report made from every rank's.
 *
 * With "flight":1 in its plan (records.h) the agent creates one record
 * per rank, "flight.R" in its private directory (metrics.h's, mode 0700,
 * in /dev/shm unless $TMPDIR names another place: memory, as a page of
 * a disk's file faults at the rank's next store once written back;
 * removed at its end, by its warden when it was killed), and names it in
 * the rank's MUSTER_FLIGHT; libmuster maps it at its first
 * communicator's init (lib/flightrec.h) and writes each collective's
 * start and end there.  The agent reads them when it likes, without
 * stopping anyone (lch_agent_flight_snap, agent.h), and sends a rank's
 * as a "q[R] JSON" record (records.h) when the head asks ("flight").
 *
 * The report (lch_flight_report), one line per collective in flight on
 * each communicator, ranks in ranges:
 *
 *   allreduce #1234 (float32 x 1048576): ranks 0-2,4-7 waiting 31 s;
 *     rank 3 has not entered it, last completed #1233
 *
 * (one line), where "waiting" is the longest of them.  About the ranks
 * not waiting in it: "has not entered it, last completed #N" (or
 * "waiting in #N", an earlier one, which has its line too), "skipped
 * it: waiting in #N" (a later one, without having made this call as the
 * others make it: no entry of this number, or another call, done
 * alone), "skipped it: last completed #N", "completed it, waiting in
 * #N" (it gave its part; the others are finishing, or are stuck behind
 * a rank stopped in the next one), "completed it", "failed in it
 * (code)", and ranks that waiting in it called another one: "rank 5
 * entered it as broadcast (...)".  With
 * nothing in flight: "no collective in flight: ranks 0-3 last completed
 * #12".  A rank whose collectives, by the history the rings still hold,
 * are the others' next ones from #K on (MUSTER_CHECK_ARGS=0 lets ranks
 * that skipped a call pair with the others' next one) gets a line
 * "rank 2 skipped #K: its allreduce #K (...) is the others' next,
 * allreduce #K+1 (...)", or when it is not their next "rank 2 called
 * another collective as #K: its ..., the others' ...".  Ranks
 * without a record (no libmuster, or not initialised yet) are named
 * once: "ranks 8-11: no flight record (no libmuster, or not started)".
 * Several communicators: each line starts "comm N: ".
 */
#ifndef LCH_FLIGHT_H
#define LCH_FLIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "flight_fmt.h"
#include "strbuf.h"

#define LCH_FLIGHT_REC 'q'	/* the q[R] record (records.h) */

/* An entry as read (flight_fmt.h has the fields). */
struct lch_flight_ent {
	uint64_t idx, seq, count;
	int op, dtype, redop, state, result;
	uint32_t comm, comm_size, extra;
	int64_t t_start_ns, t_end_ns;
};

/* One rank's record at one moment. */
struct lch_flight_snap {
	int have;		/* 1: libmuster attached; 0: no record yet */
	int rank, pid;
	int64_t taken_ns;	/* CLOCK_MONOTONIC when read */
	uint64_t head, last_started, last_completed;
	int64_t progress_ns;	/* last_started, progress_ns: the newest
				 * entry's seq, start or end (flight_fmt.h) */
	uint64_t wall_base_ns;
	int torn;		/* entries still being written after retries
				 * (left out) */
	int n;			/* entries, oldest first (by idx) */
	struct lch_flight_ent e[MST_FLIGHT_RING];
};

/*
 * Agent: creates rank's record at path (O_EXCL, O_NOFOLLOW, 0600) with
 * MST_FLIGHT_RING entries and its header: 0, or -1 with err set (one
 * line naming path).
 */
int   lch_flight_create(const char *path, int rank, char *err, size_t len);
/*
 * Removes the records flight.R of ours in dir (plain files, one link;
 * NULL is fine): the agent, and its warden after a killed agent, before
 * lch_metrics_dir_remove removes the directory.
 */
void  lch_flight_files_remove(const char *dir);
/*
 * A consistent snapshot of the record at path (or in fd, which is not
 * closed): each entry copied under its seqlock, retried while a write
 * is under way (the newest MST_FLIGHT_RING entries).  0 (s->have 0
 * when no process attached yet), or -1 with err set: no such file, not
 * a plain file, a bad magic, version or layout.
 */
int   lch_flight_read(const char *path, struct lch_flight_snap *s, char *err,
		      size_t len);
int   lch_flight_read_fd(int fd, struct lch_flight_snap *s, char *err,
			 size_t len);
/*
 * The report (above) of nranks snapshots, lines ended by '\n', appended
 * to out.  now_ns: CLOCK_MONOTONIC of the records' host, or 0 to take
 * each snapshot's taken_ns (snapshots from other hosts).
 */
void  lch_flight_report(const struct lch_flight_snap *snaps, int nranks,
			long long now_ns, struct lch_strbuf *out);

/*
 * The q record's JSON (compact, one line, times relative to taken_ns):
 *   {"v":1, "rank":R, "pid":P, "taken":NS, "wall":NS, "ls":SEQ,
 *    "lc":SEQ, "prog":-AGE, "torn":K,
 *    "e":[[idx, seq, op, dtype, redop, count, comm, comm_size, extra,
 *          state, result, -START_AGE, -END_AGE or null], ...]}
 * and {"v":1, "rank":R, "none":1} without a record.  Malloc'ed.
 */
char *lch_flight_encode(const struct lch_flight_snap *s);
/* Decodes n bytes of it: 0, or -1 when it is not such JSON. */
int   lch_flight_decode(const char *json, size_t n, struct lch_flight_snap *s);
/* Appends "q[R] JSON" (no newline) of s. */
void  lch_flight_add_record(struct lch_strbuf *sb, const struct lch_flight_snap *s);

/*
 * The head's side: the q records of one round of "flight", per rank.
 * set_add decodes rank's JSON (n bytes) into its slot: 1 when every
 * rank's came since the last set_round, 0 while some are missing, -1
 * for a record that does not decode (ignored).
 */
struct lch_flight_set {
	int np, ngot;
	struct lch_flight_snap *s;	/* [np] */
	unsigned char *got;		/* [np] */
};
void  lch_flight_set_init(struct lch_flight_set *fs, int np);
void  lch_flight_set_round(struct lch_flight_set *fs);
int   lch_flight_set_add(struct lch_flight_set *fs, int rank,
			 const char *json, size_t n);
void  lch_flight_set_release(struct lch_flight_set *fs);
/*
 * MUSTER_FLIGHT_ASK_MS (hidden, for debugging): the head sends "flight"
 * every that many ms while ranks run, and once every rank's q record
 * came prints the report (lch_flight_report, the records' own clocks)
 * on its stderr, each line as "muster: flight: LINE".  0 when unset or
 * not a number from 100 to 3600000.
 */
#define LCH_FLIGHT_ASK_ENV "MUSTER_FLIGHT_ASK_MS"
long  lch_flight_ask_ms(void);

/* "allreduce", "broadcast", ... ("op?" for another). */
const char *lch_flight_op_name(int op);

#endif /* LCH_FLIGHT_H */
