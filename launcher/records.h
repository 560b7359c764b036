/*
 * records.h: the protocol between the head and its agents, both ways.
 *
 * The head starts one agent per node (`muster --agent`, forked here or
 * over ssh; see agent.h) with three pipes.  Everything on them is text,
 * one item per line, each line ended by '\n'.  A node is the unit of
 * placement (a host, or a virtual node here); a connection is one agent
 * process the head started and its pipes.  Today every connection
 * carries one node; with fan-out (protocol.md: a relay starts the
 * agents of further hosts) one connection carries a subtree of nodes,
 * which is why the records below that concern a host are by NODE index
 * and the others by rank.
 *
 * Head -> agent, on the agent's stdin:
 *
 *	HELLO		the first line: who the agent is, one JSON object
 *	PLAN ...	one line per node the connection carries, sent once
 *			the facts of every node of the job arrived
 *	term		stop the workers: SIGTERM to each worker's process
 *			group, SIGKILL once the plan's grace_ms have passed
 *	kill		SIGKILL to every worker's group at once
 *	sig N		forward signal N (1 to 64) to every worker's group
 *	gather N	node N and every node that shares its outputs
 *			folder have ended their ranks: node N's agent, which
 *			waits for this, sends its outputs (gather.h); other
 *			agents ignore it
 *	flight		each agent with flight records (the plan's
 *			"flight") sends one q record per rank (below)
 *	beat		the head is there (the plan's "beat_ms"): sent to
 *			every connection each beat_ms once the plans went
 *			out; an agent running ranks that hears nothing from
 *			the head for LCH_BEAT_MISSED beats says so and stops
 *			them as on EOF (a host cut off keeps nothing); a
 *			relay passes it on
 *	stacks		take a stack snapshot of every rank of the node, all
 *			at once (stacks.h), without stopping them; the
 *			answer is k and K records, a K for every rank of
 *			the node's plan (an agent without a plan yet, or
 *			an older one, ignores it)
 *
 * HELLO holds
 *
 *	{"hello":1, "node":I, "host":H, "version":V,
 *	 "toward":ADDR, "iface":SPEC, "ports":N,
 *	 "ssh":CMD, "remote_muster":PATH, "self":PATH, "tree":[...]}
 *
 * node is the node's index in the job, host its name (for messages),
 * version the head's MUSTER_VERSION_STRING.  toward, the head's own
 * address, is absent when every node is this machine: the agent then
 * advertises 127.0.0.1 on "lo"; else its address is the local address
 * of its route toward that one, or the address of the interface iface
 * names (--iface NAME|CIDR, also MUSTER_IFACE and the config's "iface").
 * ports is how many free TCP ports the agent finds on its host and holds
 * (bound) until right before it forks its workers: MASTER_PORT (1, on
 * rank 0's node, unless --master-port is given) and in parameter-server
 * mode one per rank of the node, for TF_CONFIG, in that order (the
 * node's local rank L takes the facts' port L, or L + 1 after
 * MASTER_PORT's).  ssh, remote_muster,
 * self and tree (the children of a relay, each {"node":J, "host":H,
 * "ports":M, "tree":[...]}) are for fan-out: absent, the agent is a
 * leaf.  The agent answers with its facts record (h, below) before
 * anything else on its stdout; when it cannot gather them (no interface
 * matches iface on this host, no free port) it says why on stderr, one
 * line, and exits 2 without a record: the head ends the job naming the
 * host and that line.  A version in the facts that is not the head's
 * ends the job too, naming the host and both versions, as does a loopback
 * address when the job spans hosts.  A command (but "sig" 10 or 12,
 * SIGUSR1 and SIGUSR2, ignored) or EOF before the plan ends an agent
 * quietly (exit 0): the job stopped first.
 *
 * A PLAN line holds
 *
 *	{"node":I, "host":H, "cwd":DIR, "grace_ms":MS, "log_dir":DIR,
 *	 "outputs":DIR,
 *	 "place":{"bind":NAME, "map":NAME, "gpus_per_proc":K,
 *		  "topology":FILE, "report":1, "verbose":1, "omp_user":1},
 *	 "argv":[PROGRAM, ARG...],
 *	 "ranks":[{"rank":R, "env":["NAME=VALUE", ...]}, ...]}
 *
 * An agent runs the plan whose node is its own and skips others (a
 * relay passes each on toward its node).  The environment was built
 * from the facts of each rank's node: MASTER_ADDR (rank 0's node's
 * address, when the job spans hosts), MASTER_PORT (a port of rank 0's
 * node), TF_CONFIG (each task at its node's address, with a port of its
 * node), MUSTER_ADDR (the node's address: libmuster's ring listens on
 * it), GLOO_SOCKET_IFNAME, NCCL_SOCKET_IFNAME and TP_SOCKET_IFNAME (the
 * node's interface; the user's value when set in the launcher's
 * environment, on every rank; -x wins).
 * host names the node in messages ("localhost" when absent); cwd, where
 * the workers run, is sent only when some node is remote (the agent stays
 * in $HOME when it cannot enter it); grace_ms defaults to 3000; log_dir,
 * optional, gets rank.R.stdout and rank.R.stderr (mode 0600, never
 * through a symbolic link, only a plain file of the agent's user with one
 * link); outputs, optional, the folder the agent gathers to the head
 * once its ranks ended (gather.h).  "metrics":1 (the head keeps a run
 * record) makes the agent give each rank a metrics FIFO (metrics.h:
 * MUSTER_METRICS) and send what the rank writes there as m records.
 * "beat_ms":MS, optional, makes the agent send y records and watch the
 * head's "beat" commands (above).
 * "flight":1 (the head keeps a run record) makes it create each rank's
 * flight record (flight.h: MUSTER_FLIGHT), libmuster's log of its
 * collectives, which "flight" asks it to send.
 * argv and each "env" are
 * non-empty arrays of strings; a rank's environment is the agent's own
 * with "env" set over it ("env" entries without '=' are skipped).
 * "place" is the placement every agent plans its ranks with (place.h),
 * each field absent for its default, the object absent when all are:
 * bind and map (--bind-to, --map-by: "none", "core", "l3cache", "numa",
 * "socket"; "slot", "core", "numa", "socket"), gpus_per_proc (0 or
 * more; absent: 1 on a node with GPUs), topology (--topology made
 * absolute: the agent plans on that file of its host, else on its
 * HWLOC_XMLFILE, else on its machine; a file binds nothing, its plan
 * sets the environment), report (--report-bindings: the agent prints
 * each rank's binding once, before its ranks start), verbose (-v: it
 * says why ranks are not bound; both as "muster: ..." lines on its
 * stdout, not records, which the head passes on at once) and omp_user (the user
 * set OMP_NUM_THREADS, for the launcher or with -x: the agent keeps it;
 * else it sets each bound rank's share of cores over the plan's
 * default of 1).  The rank's GPU variable (CUDA_VISIBLE_DEVICES, or
 * ROCR_VISIBLE_DEVICES, ZE_AFFINITY_MASK) gets its GPUs, taken from
 * that variable's value in the rank's environment when set there.
 * An agent that cannot place its ranks (a file that is no hwloc XML,
 * more ranks than GPUs, --gpus-per-proc or --bind-to core asking for
 * more than the node has) says why on stderr, one line naming its
 * host, and exits 2 before any rank starts, without records for them.
 * The HELLO and each plan line must stay under LCH_REC_PLAN_MAX - 4096
 * bytes (a longer one counts as none).  What follows the plan are
 * commands: an unknown one is ignored with a message, and
 * LCH_REC_CTL_MAX - 1 bytes without a newline are dropped.
 * EOF on stdin means the head is gone (or its ssh connection): the agent
 * stops its workers as on "term".
 *
 * Agent -> head, on the agent's stdout, records "T[R] ..." where T is a
 * letter and R in decimal: a node index for h, n, g, b and G, else a
 * rank:
 *
 *	y[I]			node I's agent is there: every beat_ms (the
 *				plan's) while it runs ranks.  A node with ranks
 *				running that the head hears nothing of (no y,
 *				no record of its ranks) for LCH_BEAT_MISSED
 *				beats, while the head reads, is lost: the head
 *				ends the job naming it (an elastic job goes on
 *				without it), as for an n record
 *	h[I] JSON		node I's facts (launcher/facts.h encodes them:
 *				address, interface, the free ports asked for,
 *				version, CPUs, clock); node I's first record
 *	n[I] KIND CODE TEXT	(relays only) the connection to node I, a
 *				child, ended badly: KIND 0, before its facts
 *				(CODE its exit code, TEXT what it said on
 *				stderr: one line, "; " between its lines, at
 *				most LCH_REC_LOST_TEXT bytes); KIND 1, with
 *				ranks unaccounted for (CODE its exit code or
 *				128 + the signal).  The head ends the job
 *				naming node I's host and counts every node of
 *				I's subtree as ended
 *	g[I] JSON		(gather.h) a file of node I's outputs
 *				folder begins: {"path", "size", "mode"}
 *	b[I] BASE64		... its next bytes
 *	G[I] JSON		node I's outputs were all sent: {"files",
 *				"bytes", "skipped_old", "errors"}
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
 *	m[R] LINE		rank R logged a metric: LINE as the rank
 *				wrote it on its FIFO (metrics.h), at most
 *				LCH_METRIC_LINE_MAX bytes; before its x record
 *	q[R] JSON		rank R's flight record as the agent read it
 *				when "flight" came (flight.h has the JSON:
 *				lch_flight_encode; {"v":1,"rank":R,"none":1}
 *				before libmuster attached), one line of at
 *				most about 8 KiB
 *	k[R] LINE		a line of rank R's stack snapshot (after a
 *				"stacks" command): the rank's Python frames
 *				first, when it has some ("Python frames (pid
 *				P, ...):" and faulthandler's lines,
 *				pystacks.h), then what the debugger printed
 *				(gdb's "Thread N ..." and "#N ..." lines,
 *				py-bt's Python frames after them), at most
 *				LCH_STACKS_LINE_MAX bytes each
 *	K[R] STATUS TEXT	rank R's snapshot is complete, its k records
 *				all sent: STATUS 0 taken (TEXT: a note, or
 *				empty), 1 failed, 2 timed out, 3 the rank is
 *				not running (not started, or ended); TEXT one
 *				line saying why (stacks.h).  k and K records of
 *				different ranks may interleave; they never
 *				count as the rank's progress (--stall-timeout)
 *
 * CODE is the exit code, 128 + the signal that killed the rank, or for f
 * 127 (program not found), 126, or 2: the rank's log could not be opened
 * (a symbolic link, a file not ours...; the agent's stderr said which)
 * and the rank was not started.
 * LINE is a line without its newline: a line is kept whole up to
 * LCH_REC_LINE_MAX (1 MiB); a longer one goes as O (or E) pieces of at
 * least LCH_REC_LINE_MAX and less than LCH_REC_LINE_MAX + 4096 bytes, then
 * its o (or e) end; a last line without a newline goes when its stream
 * ends, as an O (or E) piece that no record of that stream follows (the
 * head ends it on the user's side, and its logs keep it as it was,
 * runrec.h).  A progress bar redraws with '\r' and no newline: what a
 * stream holds up to each '\r' goes at once as an O (or E) piece ending
 * in it.  So a record, newline included, fits in LCH_REC_MAX bytes (the
 * head cuts longer lines at that size), and an agent holds at most about
 * LCH_REC_LINE_MAX bytes per stream of each rank.
 * "[R] LINE", the record from its second byte on, is what the user sees
 * with --tag.  The head prints a piece without a newline and the next
 * piece of the same rank right after it, so a long line stays whole on
 * the user's side, at any length, unless something else must go to the
 * same stream first: then the open line is ended there ("\n") and its
 * next piece starts with "[R]+ " (with or without --tag), the mark that
 * it continues rank R's line.  After a piece that ends in '\r' the line
 * starts anew: the next piece of rank R gets its tag again (with --tag;
 * on a terminal the bar redraws in place), and no "[R]+ " when other
 * output came between.  Pieces of different ranks never share a line.
 * A line that is not a record (a remote shell's greeting) is passed on as
 * it is, to the head's stderr.  EOF on stdout, with the agent reaped, ends
 * the node: ranks without their x or f record are lost.
 *
 * The agent's stderr carries its own messages ("muster: ..."); the head
 * passes them on.  What a connection says there before its first record
 * (its node's facts) is kept for the failure message instead: ssh's own
 * words ("Connection refused"), or the agent's reason not to take part.
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
#define LCH_REC_LOST_TEXT 1024		/* TEXT of an n record, at most */
#define LCH_REC_HELLO_VERSION 1		/* HELLO's "hello" */

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
	LCH_REC_LOGERR = 'w',
	LCH_REC_METRIC = 'm',		/* metrics.h */
	LCH_REC_FLIGHT = 'q',		/* flight.h */
	LCH_REC_STACK = 'k',		/* stacks.h */
	LCH_REC_STACK_END = 'K',	/* stacks.h */
	LCH_REC_FACTS = 'h',		/* by node */
	LCH_REC_LOST = 'n',		/* by node */
	LCH_REC_ALIVE = 'y',		/* by node */
	LCH_REC_GATHER = 'g',		/* by node: gather.h */
	LCH_REC_GATHER_DATA = 'b',	/* by node: gather.h */
	LCH_REC_GATHER_END = 'G'	/* by node: gather.h */
};

/* n records: what ended (KIND above). */
enum { LCH_REC_LOST_EARLY = 0, LCH_REC_LOST_RANKS = 1 };

/*
 * HELLO, both ways; decoded strings borrow from json (NULL when absent),
 * tree is its cJSON array of children or NULL.
 */
struct lch_rec_hello {
	void *json;		/* decode: the parsed line (a cJSON tree) */
	int node;
	const char *host, *version;
	const char *toward;	/* NULL: the job is all on this machine */
	const char *iface;	/* NULL: the route decides */
	int ports;
	const char *ssh, *remote_muster, *self;
	void *tree;		/* encode: copied if not NULL */
};

enum lch_rec_ctl { LCH_REC_TERM, LCH_REC_KILL, LCH_REC_SIG,
	LCH_REC_GATHER_GO,	/* "gather N": N in sig */
	LCH_REC_FLIGHT_GO,	/* "flight" */
	LCH_REC_STACKS,		/* "stacks" */
	LCH_REC_BEAT };		/* "beat" */

#define LCH_BEAT_MS 5000	/* the head's and agents' beat (torchrun's) */
#define LCH_BEAT_MISSED 6	/* beats unheard: the other side is gone */

/* --- the head's side: plan and commands out, records in --- */

/* The HELLO line, without its newline; malloc'ed. */
char *lch_rec_hello_encode(const struct lch_rec_hello *h);
/* What a plan line holds besides the plan's own (all optional). */
struct lch_rec_plan_opts {
	const char *cwd;	/* "cwd" */
	long grace_ms;		/* "grace_ms" */
	const char *log_dir;	/* "log_dir" */
	const char *outputs;	/* "outputs": the folder to gather (gather.h) */
	int metrics;		/* "metrics": a FIFO per rank (metrics.h) */
	int flight;		/* "flight": a flight record per rank */
	long beat_ms;		/* "beat_ms": y records and beats; 0 none */
};
/* The plan line for node n, without its newline; malloc'ed. */
char *lch_rec_plan_encode(const struct lch_plan *p, const struct lch_node *n,
			  const struct lch_rec_plan_opts *po);
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
	int nums, num[2];	/* s F x f z w n: how many numbers, and them */
	const char *more;	/* n: TEXT, after its two numbers */
	size_t more_len;
};
/*
 * Decodes a line of n bytes (no newline) from an agent's stdout: 0 when
 * it is a record of a rank below np, -1 when it is not a record.  It
 * takes node records (h, n, g, b, G) for rank records too: try
 * lch_rec_decode_node first.
 */
int   lch_rec_decode(const char *line, size_t n, int np, struct lch_rec *r);
/*
 * An h, n, g, b or G record of a node below nnodes (r->rank holds the
 * node): 0, or -1 when the line is no such record.
 */
int   lch_rec_decode_node(const char *line, size_t n, int nnodes,
			  struct lch_rec *r);

/* --- the agent's side: plan and commands in, records out --- */

/*
 * Decodes a HELLO line: 0, -1 when it is not JSON, -2 when it is JSON
 * but not a HELLO.  Release h in every case.
 */
int   lch_rec_hello_decode(const char *line, struct lch_rec_hello *h);
void  lch_rec_hello_release(struct lch_rec_hello *h);

/* A decoded plan; strings and vectors borrow from the JSON tree. */
struct lch_rec_plan {
	void *json;		/* the parsed line (a cJSON tree) */
	int node;		/* -1 when absent */
	const char *host, *cwd, *log_dir;	/* cwd, log_dir: NULL if absent */
	const char *outputs;	/* "outputs" (gather.h), or NULL */
	int metrics;		/* "metrics" (metrics.h) */
	int flight;		/* "flight" (flight.h) */
	long beat_ms;		/* "beat_ms", 0: absent */
	int grace_ms;
	struct lch_place_opts place;	/* "place"; topology borrowed */
	char **argv;
	int nranks;
	struct lch_rec_plan_rank {
		int rank;
		char **env;	/* "NAME=VALUE" strings */
	} *ranks;
};
/*
 * Reads a line (HELLO, a plan) from fd: a malloc'ed string without its
 * newline, and in *rest the bytes read after it (malloc'ed).  On entry
 * *rest holds the bytes already read (malloc'ed, taken; or NULL and 0),
 * which come first.  NULL at EOF before a newline, or past
 * LCH_REC_PLAN_MAX; *rest is then NULL.
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
 * record (PID SIG) or a w record (ERRNO STREAM).  (K records, STATUS
 * TEXT, are stacks.c's.)
 */
void  lch_rec_add_end(struct lch_strbuf *sb, int type, int rank, int num,
		      int code);
/* Appends "h[I] JSON" (json: lch_facts_encode's, no newline). */
void  lch_rec_add_facts(struct lch_strbuf *sb, int node, const char *json);
/*
 * Appends "n[I] KIND CODE TEXT": text's n bytes, its newlines as "; ",
 * other control bytes as blanks, cut at LCH_REC_LOST_TEXT.
 */
void  lch_rec_add_lost(struct lch_strbuf *sb, int node, int kind, int code,
		       const char *text, size_t n);

#endif /* LCH_RECORDS_H */
