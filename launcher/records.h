/*
 * records.h: the protocol between the head and its agents, both ways.
 *
 * The head starts one agent per node (`muster --agent`, forked here or
 * over ssh; see agent.h) with three pipes.  Everything on them is text,
 * one item per line, each line ended by '\n'.
 *
 * Head -> agent, on the agent's stdin:
 *
 *	PLAN		the first line: the node's plan, one JSON object
 *	term		stop the workers: SIGTERM to each worker's process
 *			group, SIGKILL once the plan's grace_ms have passed
 *	kill		SIGKILL to every worker's group at once
 *	sig N		forward signal N (1 to 64) to every worker's group
 *
 * The plan holds
 *
 *	{"host":H, "cwd":DIR, "grace_ms":MS, "log_dir":DIR,
 *	 "argv":[PROGRAM, ARG...],
 *	 "ranks":[{"rank":R, "env":["NAME=VALUE", ...]}, ...]}
 *
 * host names the node in messages ("localhost" when absent); cwd, where
 * the workers run, is sent only when some node is remote (the agent stays
 * in $HOME when it cannot enter it); grace_ms defaults to 3000; log_dir,
 * optional, gets rank.R.stdout and rank.R.stderr (mode 0600, never
 * through a symbolic link, only a plain file of the agent's user with one
 * link).  argv and each "env" are
 * non-empty arrays of strings; a rank's environment is the agent's own
 * with "env" set over it ("env" entries without '=' are skipped).
 * The plan line must stay under LCH_REC_PLAN_MAX - 4096 bytes (a longer
 * one counts as no plan).  What follows it are commands: an unknown one is
 * ignored with a message, and LCH_REC_CTL_MAX - 1 bytes without a newline
 * are dropped.
 * EOF on stdin means the head is gone (or its ssh connection): the agent
 * stops its workers as on "term".
 *
 * Agent -> head, on the agent's stdout, records "T[R] ..." where T is a
 * letter and R the rank in decimal:
 *
 *	o[R] LINE		rank R wrote LINE on its stdout
 *	e[R] LINE		... on its stderr
 *	O[R] PIECE		a piece of a line of rank R's stdout that goes
 *				on in the next O or o record of rank R
 *	E[R] PIECE		... of its stderr (E or e records)
 *	s[R] PID		rank R started as process PID
 *	F[R] PID CODE		rank R failed while the agent was not stopping
 *				its workers: sent when it is reaped, before its
 *				output is drained (blame goes here); its x
 *				record follows
 *	x[R] PID CODE		rank R ended and all its output was sent
 *	f[R] ERRNO CODE		rank R's program could not be run (no x follows)
 *	z[R] PID SIG		rank R was stopped by signal SIG (SIGSTOP,
 *				SIGTSTP...), or SIG 0: it was continued
 *	w[R] ERRNO STREAM	rank R's log for STREAM (0 stdout, 1 stderr)
 *				could not be written (the agent's stderr names
 *				the file and the error); once per file
 *
 * CODE is the exit code, 128 + the signal that killed the rank, or for f
 * 127 (program not found), 126, or 2: the rank's log could not be opened
 * (a symbolic link, a file not ours...; the agent's stderr said which)
 * and the rank was not started.
 * LINE is a line without its newline: a line is kept whole up to
 * LCH_REC_LINE_MAX (1 MiB); a longer one goes as O (or E) pieces of at
 * least LCH_REC_LINE_MAX and less than LCH_REC_LINE_MAX + 4096 bytes, then
 * its o (or e) end; a last line without a newline goes when its stream
 * ends.  So a record, newline included, fits in LCH_REC_MAX bytes (the
 * head cuts longer lines at that size), and an agent holds at most about
 * LCH_REC_LINE_MAX bytes per stream of each rank.
 * "[R] LINE", the record from its second byte on, is what the user sees
 * with --tag.  The head prints a piece without a newline and the next
 * piece of the same rank right after it, so a long line stays whole on
 * the user's side, at any length, unless something else must go to the
 * same stream first: then the open line is ended there ("\n") and its
 * next piece starts with "[R]+ " (with or without --tag), the mark that
 * it continues rank R's line.  Pieces of different ranks never share a
 * line.
 * A line that is not a record (a remote shell's greeting) is passed on as
 * it is, to the head's stderr.  EOF on stdout, with the agent reaped, ends
 * the node: ranks without their x or f record are lost.
 *
 * The agent's stderr carries its own messages ("muster: ..."); the head
 * passes them on (for ssh, what it says before the first record is kept
 * for the failure message).
 */
#ifndef LCH_RECORDS_H
#define LCH_RECORDS_H

#include <stddef.h>

#include "plan.h"
#include "strbuf.h"

#define LCH_REC_LINE_MAX (1024 * 1024)	/* longer lines go in pieces */
#define LCH_REC_MAX (LCH_REC_LINE_MAX + 8192)	/* a record: a line, its tag */
#define LCH_REC_PLAN_MAX (256L << 20)	/* the plan line */
#define LCH_REC_CTL_MAX 4096		/* a command line, newline included */
#define LCH_REC_PREFIX_MAX 24		/* "o[R] " with its '\0' */

/* Record letters (T above). */
enum {
	LCH_REC_OUT = 'o',
	LCH_REC_ERR = 'e',
	LCH_REC_OUT_MORE = 'O',
	LCH_REC_ERR_MORE = 'E',
	LCH_REC_START = 's',
	LCH_REC_FAIL = 'F',
	LCH_REC_EXIT = 'x',
	LCH_REC_NOEXEC = 'f',
	LCH_REC_STOP = 'z',
	LCH_REC_LOGERR = 'w'
};

enum lch_rec_ctl { LCH_REC_TERM, LCH_REC_KILL, LCH_REC_SIG };

/* --- the head's side: plan and commands out, records in --- */

/* The plan line for node n, without its newline; malloc'ed. */
char *lch_rec_plan_encode(const struct lch_plan *p, const struct lch_node *n,
			  const char *cwd, long grace_ms, const char *log_dir);
/* A command line, newline included, into buf (LCH_REC_CTL_MAX bytes). */
void  lch_rec_ctl_encode(char *buf, enum lch_rec_ctl cmd, int sig);

/* One record taken apart; the pointers point into the line. */
struct lch_rec {
	int type;		/* T: one of the letters above, or another */
	int rank;
	const char *tag;	/* "[R] LINE", the line from its second byte */
	size_t tag_len;
	const char *text;	/* what follows "] " */
	size_t text_len;
	int nums, num[2];	/* s F x f z w: how many numbers, and them */
};
/*
 * Decodes a line of n bytes (no newline) from an agent's stdout: 0 when
 * it is a record of a rank below np, -1 when it is not a record.
 */
int   lch_rec_decode(const char *line, size_t n, int np, struct lch_rec *r);

/* --- the agent's side: plan and commands in, records out --- */

/* A decoded plan; strings and vectors borrow from the JSON tree. */
struct lch_rec_plan {
	void *json;		/* the parsed line (a cJSON tree) */
	const char *host, *cwd, *log_dir;	/* cwd, log_dir: NULL if absent */
	int grace_ms;
	char **argv;
	int nranks;
	struct lch_rec_plan_rank {
		int rank;
		char **env;	/* "NAME=VALUE" strings */
	} *ranks;
};
/*
 * Reads the plan line from fd: a malloc'ed string without its newline,
 * and in *rest the bytes read after it (commands; malloc'ed).  NULL at EOF
 * before a newline, or past LCH_REC_PLAN_MAX.
 */
char *lch_rec_plan_read(int fd, char **rest, size_t *rest_len);
/*
 * Decodes a plan line: 0, -1 when it is not JSON, -2 when it is JSON but
 * not a plan.  Release p in every case.
 */
int   lch_rec_plan_decode(const char *line, struct lch_rec_plan *p);
void  lch_rec_plan_release(struct lch_rec_plan *p);

/* Decodes a command line (no newline): 0, or -1 when it is none. */
int   lch_rec_ctl_decode(const char *line, enum lch_rec_ctl *cmd, int *sig);

/*
 * "o[R] " or "e[R] " (stream 0 or 1), to put before each output line;
 * "O[R] " or "E[R] " for a piece (the first letter in upper case).
 */
void  lch_rec_prefix(char buf[LCH_REC_PREFIX_MAX], int stream, int rank);
/* "[R] ": the tag the user sees (for the agent's direct mode). */
void  lch_rec_tag(char buf[LCH_REC_PREFIX_MAX], int rank);
/* Appends "s[R] PID". */
void  lch_rec_add_start(struct lch_strbuf *sb, int rank, int pid);
/*
 * Appends an F or x record (PID CODE), an f record (ERRNO CODE), a z
 * record (PID SIG) or a w record (ERRNO STREAM).
 */
void  lch_rec_add_end(struct lch_strbuf *sb, int type, int rank, int num,
		      int code);

#endif /* LCH_RECORDS_H */
