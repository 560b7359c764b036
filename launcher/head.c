/* head.c: see head.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "agent.h"
#include "clock.h"
#include "dial.h"
#include "elastic.h"
#include "facts.h"
#include "flight.h"
#include "gather.h"
#include "metrics.h"
#include "head.h"
#include "join.h"
#include "mpi.h"
#include "muster.h"
#include "num.h"
#include "outq.h"
#include "plan.h"
#include "embed.h"
#include "progress.h"
#include "records.h"
#include "relay.h"
#include "remote.h"
#include "runrec.h"
#include "slurm.h"
#include "spawn.h"
#include "stacks.h"
#include "strbuf.h"
#include "util.h"

#define EARLY_MAX 2048	/* ssh's own stderr we keep for the message */
/* Our output queued past this: stop reading records (the ranks wait). */
#define OUT_HIGH (2 * LCH_REC_MAX)
/* ... and while the job stops, when they took nothing for STALL_MS,
 * read on and drop what does not fit in this */
#define OUT_DROP ((size_t)8 << 20)
#define STALL_MS 1000
#define REAP_POLL_MS 100	/* an agent with closed pipes not yet reaped */
/* An agent still there this long after its grace period is killed. */
#define AGENT_SLACK_MS 1000
#define MSG_ROOM_MS 1000	/* our stderr is full: wait this long to say why */
/* srun still there this long after its agents ended is stopped */
#define STEP_END_MS 3000
#define WHY_MAX 4096	/* the line that says why a job ended, kept */
#define TAIL_LINES 10	/* a rank's last stderr lines, for its failure */
#define TAIL_LINE_MAX 300	/* ... each cut at this many bytes */

/* A rank's last stderr lines, as the head received them (a ring). */
struct tail {
	char *line[TAIL_LINES];
	int n, next;
	struct lch_strbuf part;	/* a line still coming in E pieces */
};

/*
 * A connection: one agent process the head started (forked here or ssh)
 * and its pipes.  It carries one or more nodes (nodes[]: today only its
 * own, with fan-out the subtree of a relay); what concerns a node (its
 * facts, its ranks' ends) is kept per node, in struct node_state.
 */
struct agent_proc {
	const struct lch_node *node;	/* the node it reaches: its host */
	int *nodes, nnodes;	/* the nodes it carries (indexes), its own first */
	void *tree;		/* its HELLO's "tree" (a cJSON array), or NULL */
	pid_t pid;
	int in_fd, out_fd, err_fd;
	struct lch_strbuf rd[2];	/* a partial line of out_fd, err_fd */
	int reaped, code, done;
	int remote;		/* started over ssh (or srun) */
	int dial;		/* reached by a dialled connection (slurm.h) */
	int dialled;		/* ... which came: in_fd, out_fd are its */
	int warned;		/* "did not end" was said */
	int nrec;		/* records received */
	char early[EARLY_MAX];	/* stderr before the first record: ssh's */
	size_t early_len;
};

/* What the head knows of a node. */
struct node_state {
	int conn;		/* the connection that carries it (h->ag[]) */
	int have_facts;
	struct lch_facts facts;	/* its host's (records.h: h) */
	int nended;		/* ranks reported ended ("x" or "f") */
	int lost;		/* an n record: its ranks count as ended */
	int up;			/* its parent in the tree (relay.h), or -1 */
	/* outputs (gather.h): 1 + the node that gathers the folder this one
	   shares (0: none), and at that node how many of them run still */
	int gleader, gleft;
	int gdone;		/* counted out of its leader's gleft */
	long long heard;	/* its last record (y, or of its ranks) */
};

enum fail_kind {
	F_RANK,		/* a rank failed (rank, pid, code) */
	F_EXEC,		/* a rank's program could not be run (err) */
	F_AGENT_SIG,	/* an agent was killed by a signal */
	F_SSH,		/* ssh ended before the remote agent started */
	F_LOST,		/* an agent ended with ranks unaccounted for */
	F_HOST		/* a host cannot take part (msg says why) */
};

struct failure {
	enum fail_kind kind;
	int rank, pid, code, err;
	const char *host;
	const struct agent_proc *agent;
	int node;		/* F_SSH, F_LOST: the node lost */
	int remote;		/* F_SSH, F_LOST: over ssh */
	int held;		/* a stopped rank when it failed, or -1 */
	int held_pid, held_sig;
	char said[EARLY_MAX + 8];	/* F_SSH, F_LOST: its stderr, one line */
	char msg[EARLY_MAX + 512];	/* F_HOST */
};

/* A connection that dialled in and has not said which node it is. */
struct dialin {
	int fd;
	struct lch_strbuf rd;
	long long until;	/* closed unannounced then */
	char peer[64];		/* ADDR:PORT, for messages */
};

/* --host-discovery CMD (elastic.h): its run now, if any. */
struct discovery {
	pid_t pid;		/* sh -c CMD, 0: none running */
	int fd;			/* its stdout, -1: closed */
	struct lch_strbuf out;
	int reaped, code;
	long long next_at;	/* the next run starts then */
	int failing;		/* its failure was said (till it succeeds) */
};

/* --launcher slurm: the job step of the agents (slurm.h). */
struct step {
	pid_t pid;		/* srun, 0: none */
	int reaped, code;
	int err_fd;		/* srun's stdout and stderr */
	struct lch_strbuf rd;
	int listen_fd;		/* where the agents dial in, -1: closed */
	char where[64];		/* ADDR:PORT of listen_fd */
	char token[LCH_DIAL_TOKEN_LEN + 1];
	struct dialin *din;
	int ndin, din_cap, ndialled;
	long long stop_at;	/* srun outlived its agents: stop it then */
	int stopped;		/* SIGTERM sent (SIGKILL at last) */
	int bad_exit;		/* srun's kill-on-bad-exit is ending the step */
};

struct head {
	struct lch_opts *o;
	struct lch_plan *p;
	struct agent_proc *ag;
	int nag, running;
	struct node_state *ns;	/* per node */
	int nfacts;		/* nodes whose facts arrived */
	int planned;		/* the plans went out (or never will) */
	/* beats (records.h): beat_ms (0: none), our next "beat", since
	   when we read the agents without a pause (their silence counts
	   from then) */
	long beat_ms;
	long long beat_at, reading_since, beat_ran;
	struct lch_outq out[2];	/* our stdout, stderr */
	int sigfd[2];
	struct failure fail;	/* fail.code 0: none yet */
	int stopping, interrupted, timed_out;
	int killed;		/* we sent "kill" (a second Ctrl-C) */
	int broken[2];		/* our stdout/stderr reader went away */
	int out_err[2];		/* another write error on them, said once */
	int dropping;		/* "dropping output" was said */
	int log_err;		/* an agent could not write a log */
	int *stop_sig, *stop_pid;	/* per rank: stopped by, 0: running */
	int open[2];		/* the rank whose long line is open, or -1 */
	int cr[2];		/* ... and its last piece ended in '\r' */
	unsigned char *broke;	/* [2 * rank + stream]: its line was cut */
	long long kill_at;	/* agents still there now are killed */
	long long kill2_at;	/* ... and SIGKILLed, their pipes closed */
	long long out_moved;	/* when our output last went out, or was all out */
	long long term_at;	/* delayed stop after a forwarded signal */
	long long deadline;	/* --timeout, 0 = none */
	char *cwd;		/* remote agents start their workers here */
	int slurm;		/* the agents start in one srun step */
	struct step st;
	struct lch_gather_rx *gather;	/* the nodes' outputs, or NULL */
	struct lch_metrics *metrics;	/* metrics.jsonl (metrics.h), or NULL */
	struct lch_runrec *rr;	/* the run record (runrec.h), or NULL */
	/* flight records (flight.h): the last q records, and when to ask
	   (MUSTER_FLIGHT_ASK_MS, a debugging aid) */
	struct lch_flight_set *fl;
	long fl_ask_ms;
	long long fl_ask_at;
	int fl_print;		/* MUSTER_FLIGHT_ASK_MS: print each round */
	unsigned long long *fl_done;	/* per rank: its last completed seq */
	struct lch_progress pg;	/* the progress line (progress.h) */
	int eol[2];		/* what went to stdout, stderr ends a line */
	int nstarted, nended;	/* ranks of this attempt (s; x or f) */
	int nok;		/* ... that exited 0 */
	char why[WHY_MAX];	/* what summarize said of the attempt */
	char limit_why[256];	/* the time limit's line, when reached */
	/* --nodes MIN:MAX (elastic.h), kept by the elastic_*() functions */
	struct lch_elastic *el;	/* NULL: a job of fixed nodes */
	unsigned char *gone;	/* per node of the attempt: lost in it */
	long long join_at;	/* --join-timeout: every node's facts by then */
	int join_expired;	/* ... and some had not come */
	int last_call;		/* MIN nodes were up (2: join_at moved) */
	int regen;		/* stopped for hosts to join (1) or leave (2),
				   as --host-discovery says */
	int unlisted_said;	/* said why unlisted hosts keep running */
	long long ran_at;	/* when the plans went out, 0: not yet */
	struct discovery disc;
	struct lch_joinsrv *joins;	/* --join's port (join.h), or NULL */
	int ndial;		/* connections that dial in: Slurm's, joiners' */
	/* hang forensics (stacks.h) */
	long long last_progress;	/* the job's last progress, 0: none */
	long long *last_out;	/* per rank: its last output, 0: none */
	int *rank_pid;		/* per rank: its pid (s record), 0: none */
	int stall_fired;	/* this stall was reported */
	int stall_stop;		/* --stall-action abort: stop once taken */
	struct lch_stacks snap;	/* the snapshot being taken */
	struct tail *tail;	/* per rank: its last stderr lines */
	unsigned char *victim;	/* per rank: ended nonzero after the first
				   failure */
};

static void
setup_signals(struct head *h)
{
	if (lch_signals_setup(h->sigfd) != 0) {
		lch_msg("pipe: %s", strerror(errno));
		exit(70);
	}
}

static int
ending(const struct head *h)
{
	return h->stopping || h->timed_out || h->interrupted;
}

/* Our output is queued and our readers took none of it for STALL_MS. */
static int
stalled(const struct head *h)
{
	return (long long)mst_now_ms() - h->out_moved >= STALL_MS;
}

/*
 * Queues output for our stdout (s 0) or stderr (1).  The queue is
 * bounded by not reading more records (loop) while our readers take it,
 * however slowly; once the job stops and they stopped taking it, what
 * does not fit is dropped and counted, said once.
 */
static void
out_add(struct head *h, int s, const char *data, size_t n)
{
	if (ending(h) && lch_outq_pending(&h->out[s]) + n > OUT_DROP &&
	    stalled(h)) {
		if (!h->dropping)
			lch_msg("%s is not being read: dropping output while "
			    "the job stops", s ? "stderr" : "stdout");
		h->dropping = 1;
		lch_outq_drop(&h->out[s], n);
		return;
	}
	lch_outq_add(&h->out[s], data, n);
	if (n)
		h->eol[s] = data[n - 1] == '\n';
}

/* Ends a rank's open long line (records.h) for other output to go. */
static void
out_close(struct head *h, int s)
{
	if (h->open[s] < 0)
		return;
	out_add(h, s, "\n", 1);
	/* a bar ended in '\r' was whole: its next piece starts anew */
	h->broke[2 * h->open[s] + s] = !h->cr[s];
	h->open[s] = -1;
}

/* A line without its newline, and the newline. */
static void
out_line(struct head *h, int s, const char *line, size_t n)
{
	out_close(h, s);
	out_add(h, s, line, n);
	out_add(h, s, "\n", 1);
}

/*
 * A rank's line, or a piece of one (O and E records): the pieces of a
 * line follow each other on one line; when other output came between,
 * the line was ended and its next piece is marked "[R]+ ".  After a
 * piece that ends in '\r' (a progress bar redrawn) the next is tagged
 * again, so that with --tag the bar redraws in place with its tag.
 */
static void
out_rank(struct head *h, const struct lch_rec *r)
{
	int s = r->type == LCH_REC_ERR || r->type == LCH_REC_ERR_MORE;
	int more = r->type == LCH_REC_OUT_MORE || r->type == LCH_REC_ERR_MORE;
	char mark[LCH_REC_PREFIX_MAX + 1];
	const char *from = r->text;

	if (h->open[s] != r->rank) {
		out_close(h, s);
		if (h->broke[2 * r->rank + s]) {
			snprintf(mark, sizeof(mark), "[%d]+ ", r->rank);
			out_add(h, s, mark, strlen(mark));
		} else if (h->o->tag)
			from = r->tag;	/* "[R] " and the text: one piece */
	} else if (h->cr[s] && h->o->tag && r->text_len)	/* not at "\r\n" */
		from = r->tag;
	h->broke[2 * r->rank + s] = 0;
	out_add(h, s, from, (size_t)(r->text - from) + r->text_len);
	lch_runrec_log(h->rr, r->rank, s, r->text, r->text_len, !more);
	h->cr[s] = more && r->text_len && r->text[r->text_len - 1] == '\r';
	if (more)
		h->open[s] = r->rank;
	else {
		out_add(h, s, "\n", 1);
		h->open[s] = -1;
	}
}

static size_t
out_pending(const struct head *h)
{
	return lch_outq_pending(&h->out[0]) + lch_outq_pending(&h->out[1]);
}

static int
out_full(const struct head *h)
{
	return lch_outq_pending(&h->out[0]) > OUT_HIGH ||
	    lch_outq_pending(&h->out[1]) > OUT_HIGH;
}

/*
 * Our stderr is non-blocking (lch_outq_init): before the messages that
 * matter, give a slow reader a moment to make room, so they are not lost
 * to EAGAIN, without waiting for one that never reads.
 */
static void
msg_room(void)
{
	struct pollfd pfd = { 2, POLLOUT, 0 };

	(void)poll(&pfd, 1, MSG_ROOM_MS);
}

static void stop_job(struct head *h);

/*
 * Writes what our stdout and stderr take now.  A closed pipe ends the
 * job, as SIGPIPE ends a pipeline; another error (a full disk,
 * /dev/full) is said once and makes the exit status LCH_EXIT_IOERR.
 */
static void
flush_out(struct head *h)
{
	size_t before = out_pending(h);
	int s;

	if (lch_outq_pending(&h->out[1]) ||
	    (h->pg.stdout_too && lch_outq_pending(&h->out[0])))
		lch_progress_hide(&h->pg);	/* before output goes there */
	for (s = 0; s < 2; s++) {
		if (lch_outq_flush(&h->out[s]) == 0 || h->broken[s] ||
		    h->out_err[s])
			continue;
		if (h->out[s].err == EPIPE) {
			h->broken[s] = 1;
			stop_job(h);
			continue;
		}
		if (h->out[s].err == 0)
			continue;
		h->out_err[s] = h->out[s].err;
		lch_msg("cannot write to %s: %s: the job's output there is "
		    "lost", s ? "stderr" : "stdout", strerror(h->out_err[s]));
	}
	if (out_pending(h) < before || out_pending(h) == 0)
		h->out_moved = (long long)mst_now_ms();
}

static void
send_all(struct head *h, const char *line)
{
	int i;

	/* in_fd is non-blocking: an agent that does not read its commands
	 * (stopped) misses them, and is killed after the grace period */
	for (i = 0; i < h->nag; i++)
		if (h->ag[i].in_fd >= 0 &&
		    lch_write_all(h->ag[i].in_fd, line, strlen(line)) != 0 &&
		    errno != EAGAIN) {
			close(h->ag[i].in_fd);
			h->ag[i].in_fd = -1;
		}
}

/* A command (records.h) to every agent. */
static void
send_cmd(struct head *h, enum lch_rec_ctl cmd, int sig)
{
	char line[LCH_REC_CTL_MAX];

	lch_rec_ctl_encode(line, cmd, sig);
	send_all(h, line);
}

/* Agents get ms to end before kill_agents (never later than set before). */
static void
arm_kill(struct head *h, long long ms)
{
	long long at = (long long)mst_now_ms() + ms;

	if (h->kill_at == 0 || at < h->kill_at)
		h->kill_at = at;
}

static void step_abort(struct head *h);

static void
stop_job(struct head *h)
{
	if (h->stopping)
		return;
	h->stopping = 1;
	send_cmd(h, LCH_REC_TERM, 0);
	step_abort(h);
	arm_kill(h, (long long)(h->o->grace * 1000) + AGENT_SLACK_MS);
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Whether connection a only sends its nodes' outputs now (gather.h):
 * every rank of its nodes ended.  It is not cut for taking time, but a
 * second Ctrl-C (killed) cuts it.
 */
static int
only_gathering(const struct head *h, const struct agent_proc *a)
{
	int i;

	if (h->killed || h->gather == NULL)
		return 0;
	for (i = 0; i < a->nnodes; i++)
		if (h->ns[a->nodes[i]].lost || h->ns[a->nodes[i]].nended <
		    h->p->nodes[a->nodes[i]].nprocs)
			return 0;
	return 1;
}

/*
 * Agents that did not end in time (stopped, or their host stopped
 * answering), but those that only send outputs.  First a local agent's
 * warden is told to kill it
 * (LCH_AGENT_KILL_SIG: it then kills what the ranks left, see agent.h)
 * and an ssh connection is killed; a second later whatever is left is
 * SIGKILLed and its pipes closed, so nothing holds the job any longer.
 */
static void
kill_agents(struct head *h, int last)
{
	int i;

	for (i = 0; i < h->nag; i++) {
		struct agent_proc *a = &h->ag[i];

		if (a->done || (a->reaped && a->out_fd < 0 && a->err_fd < 0) ||
		    only_gathering(h, a))
			continue;
		if (!a->reaped && a->pid > 0) {
			if (last || a->remote)
				killpg(a->pid, SIGKILL);
			else
				kill(a->pid, LCH_AGENT_KILL_SIG);
		}
		if (!last && !a->remote)
			continue;
		if (!a->warned)
			lch_msg("the %s for %s did not end %s: killed it",
			    a->remote ? "connection" : "agent", a->node->host,
			    last ? "when told to" : "within the grace period");
		a->warned = 1;
		close_fd(&a->in_fd);
		close_fd(&a->out_fd);
		close_fd(&a->err_fd);
	}
}

/* The first rank but except that is stopped (SIGSTOP...), or -1. */
static int
first_stopped(const struct head *h, int except)
{
	int r;

	for (r = 0; r < h->p->np; r++)
		if (r != except && h->stop_sig[r])
			return r;
	return -1;
}

static const char *
rank_host(const struct head *h, int rank)
{
	return h->p->nodes[h->p->ranks[rank].node_rank].host;
}

/* A stopped rank holds the others up: say so where a job ends. */
static void
say_stopped(const struct head *h, int rank, int pid, int sig, int failed)
{
	char when[64] = "at the time limit";

	if (failed >= 0)
		snprintf(when, sizeof(when), "when rank %d failed", failed);
	lch_msg("rank %d (host %s, pid %d) was stopped by %s %s: a stopped "
	    "rank holds up the others", rank, rank_host(h, rank), pid,
	    lch_signame(sig), when);
}

static void
note_failure(struct head *h, int rank, int pid, int code, int err)
{
	if (h->fail.code != 0 || h->timed_out)
		return;
	h->fail.kind = err ? F_EXEC : F_RANK;
	h->fail.rank = rank;
	h->fail.pid = pid;
	h->fail.code = code;
	h->fail.err = err;
	h->fail.host = h->p->nodes[h->p->ranks[rank].node_rank].host;
	h->fail.held = first_stopped(h, rank);
	if (h->fail.held >= 0) {
		h->fail.held_pid = h->stop_pid[h->fail.held];
		h->fail.held_sig = h->stop_sig[h->fail.held];
	}
	/* after a forwarded signal the ranks get a grace period to handle it */
	if (h->interrupted)
		h->term_at = (long long)mst_now_ms() + (long long)(h->o->grace * 1000);
	else
		stop_job(h);
}

/*
 * Node i is over (its ranks ended, or it is lost): once every node that
 * shares its outputs folder is, the node that gathers it is told to
 * (records.h: gather N).
 */
static void
gather_node_done(struct head *h, int i)
{
	struct node_state *ns = &h->ns[i], *lead;
	struct agent_proc *a;
	char line[LCH_REC_CTL_MAX];

	if (h->gather == NULL || ns->gleader == 0 || ns->gdone)
		return;
	ns->gdone = 1;
	lead = &h->ns[ns->gleader - 1];
	if (--lead->gleft > 0 || lead->lost)
		return;
	a = &h->ag[lead->conn];
	lch_rec_ctl_encode(line, LCH_REC_GATHER_GO, ns->gleader - 1);
	if (a->in_fd >= 0 && lch_write_all(a->in_fd, line, strlen(line)) != 0 &&
	    errno != EAGAIN)
		close_fd(&a->in_fd);
}

/*
 * A rank's last line without a newline came as a piece nothing follows
 * (records.h): at its x record, all its output in, the line ends.
 */
static void
end_open_lines(struct head *h, int rank)
{
	int s;

	for (s = 0; s < 2; s++)
		if (h->open[s] == rank) {
			out_add(h, s, "\n", 1);
			h->open[s] = -1;
		}
}

/* The run record's view of an F, x or f record (before it is acted on). */
static void
record_rank_end(struct head *h, const struct lch_rec *r)
{
	if (r->nums != 2)
		return;
	if (r->type == LCH_REC_NOEXEC)
		lch_runrec_rank_end(h->rr, r->rank, 0, r->num[1],
		    LCH_RR_NOEXEC, ending(h));
	else
		lch_runrec_rank_end(h->rr, r->rank, r->num[0], r->num[1],
		    r->type == LCH_REC_FAIL ? LCH_RR_FAIL : LCH_RR_EXIT,
		    ending(h));
}

/* An F, x or f record: the rank's end, or its failure. */
static void
record_end(struct head *h, const struct lch_rec *r)
{
	int node = h->p->ranks[r->rank].node_rank;
	struct node_state *ns = &h->ns[node];

	record_rank_end(h, r);
	if (r->type == LCH_REC_NOEXEC) {
		if (++ns->nended >= h->p->nodes[node].nprocs)
			gather_node_done(h, node);
		if (r->nums == 2)
			note_failure(h, r->rank, 0, r->num[1], r->num[0]);
		return;
	}
	ns->nended += r->type == LCH_REC_EXIT;
	h->nended += r->type == LCH_REC_EXIT;
	h->nok += r->type == LCH_REC_EXIT && r->nums == 2 && r->num[1] == 0;
	if (r->type == LCH_REC_EXIT)
		end_open_lines(h, r->rank);
	if (ns->nended >= h->p->nodes[node].nprocs)
		gather_node_done(h, node);
	if (r->type == LCH_REC_EXIT && r->nums == 2 && r->num[1] != 0 &&
	    h->fail.code != 0 && h->fail.kind == F_RANK &&
	    r->rank != h->fail.rank)
		h->victim[r->rank] = 1;
	if (r->nums == 2 && r->num[1] != 0 &&
	    (r->type == LCH_REC_FAIL || !h->stopping))
		note_failure(h, r->rank, r->num[0], r->num[1], 0);
}

static void node_record(struct head *h, struct agent_proc *a,
			const struct lch_rec *r);

/*
 * Rank made progress (stacks.h): its output came (the flight records'
 * progress is flight_record's).
 */
static void
note_progress(struct head *h, int rank)
{
	long long now = (long long)mst_now_ms();

	h->last_progress = now;
	h->last_out[rank] = now;
	h->stall_fired = 0;
}

/* Keeps a stderr line (or piece: more) of rank in its tail. */
static void
tail_add(struct head *h, int rank, const char *s, size_t n, int more)
{
	struct tail *t = &h->tail[rank];
	size_t room = TAIL_LINE_MAX - t->part.len;

	while (n && !more && (s[n - 1] == '\r'))
		n--;
	lch_strbuf_add(&t->part, s, n < room ? n : room);
	if (more)
		return;
	free(t->line[t->next]);
	t->line[t->next] = lch_xstrdup(t->part.buf);
	t->next = (t->next + 1) % TAIL_LINES;
	t->n += t->n < TAIL_LINES;
	lch_strbuf_reset(&t->part);
}

/*
 * A rank started: the node that gathers its node's folder owes the head
 * those outputs (an agent that ends before any rank of its folder
 * started, e.g. refusing its placement, owes none).
 */
static void
outputs_expected(struct head *h, int rank)
{
	int lead = h->ns[h->p->ranks[rank].node_rank].gleader - 1;

	if (h->gather && lead >= 0)
		lch_gather_rx_expect(h->gather, lead);
}

/*
 * A q record (flight.h): kept; a collective the rank completed since its
 * last one is the job's progress (--stall-timeout); with
 * MUSTER_FLIGHT_ASK_MS, the report of each round.
 */
static void
flight_record(struct head *h, const struct lch_rec *r)
{
	struct lch_strbuf out = LCH_STRBUF_INIT;
	char *line, *nl;
	int round;

	if (h->fl == NULL)
		return;
	round = lch_flight_set_add(h->fl, r->rank, r->text, r->text_len);
	if (round >= 0 && h->fl->s[r->rank].have &&
	    h->fl->s[r->rank].last_completed > h->fl_done[r->rank]) {
		h->fl_done[r->rank] = h->fl->s[r->rank].last_completed;
		h->last_progress = (long long)mst_now_ms();
		h->stall_fired = 0;
	}
	if (round != 1 || !h->fl_print)
		return;
	lch_flight_report(h->fl->s, h->fl->np, 0, &out);
	lch_flight_set_round(h->fl);
	flush_out(h);
	for (line = out.buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		lch_msg("flight: %s", line);
	}
	lch_strbuf_release(&out);
}

/* MUSTER_FLIGHT_ASK_MS: time to ask the agents for their records. */
static void
flight_ask(struct head *h)
{
	long long now = (long long)mst_now_ms();

	if (h->fl_ask_at == 0 || now < h->fl_ask_at)
		return;
	h->fl_ask_at = now + h->fl_ask_ms;
	if (!ending(h) && h->nstarted > h->nended)
		send_cmd(h, LCH_REC_FLIGHT_GO, 0);
}

/*
 * One line from an agent's stdout, n bytes without its newline: a record
 * (records.h), or passed on.  "o[3] line" prints as "line", or as
 * "[3] line" with --tag.
 */
static void
record(struct head *h, struct agent_proc *a, const char *line, size_t n)
{
	struct lch_rec r;

	if (lch_rec_decode_node(line, n, h->p->nnodes, &r) == 0) {
		h->ns[r.rank].heard = (long long)mst_now_ms();
		if (r.type != LCH_REC_ALIVE)
			node_record(h, a, &r);
		return;
	}
	if (lch_rec_decode(line, n, h->p->np, &r) != 0) {
		out_line(h, 1, line, n);	/* not a record: pass it on */
		return;
	}
	h->ns[h->p->ranks[r.rank].node_rank].heard = (long long)mst_now_ms();
	if (a->nrec++ == 0 && a->early_len) {	/* the agent's, after all */
		out_close(h, 1);
		out_add(h, 1, a->early, a->early_len);
		a->early_len = 0;
	}
	switch (r.type) {
	case LCH_REC_OUT:
	case LCH_REC_ERR:
	case LCH_REC_OUT_MORE:
	case LCH_REC_ERR_MORE:
		note_progress(h, r.rank);
		if (r.type == LCH_REC_ERR || r.type == LCH_REC_ERR_MORE)
			tail_add(h, r.rank, r.text, r.text_len,
			    r.type == LCH_REC_ERR_MORE);
		out_rank(h, &r);
		return;
	case LCH_REC_STACK:
	case LCH_REC_STACK_END:
		lch_stacks_record(&h->snap, r.type, r.rank, r.text,
		    r.text_len);
		return;
	case LCH_REC_FAIL:
	case LCH_REC_EXIT:
	case LCH_REC_NOEXEC:
		record_end(h, &r);
		return;
	case LCH_REC_START:
		if (++h->nstarted == h->p->np)	/* the stall clock starts */
			h->last_progress = (long long)mst_now_ms();
		h->rank_pid[r.rank] = r.nums ? r.num[0] : 0;
		lch_runrec_rank_start(h->rr, r.rank, r.nums ? r.num[0] : 0);
		outputs_expected(h, r.rank);
		return;
	case LCH_REC_STOP:
		if (r.nums == 2) {
			h->stop_pid[r.rank] = r.num[0];
			h->stop_sig[r.rank] = r.num[1];
		}
		return;
	case LCH_REC_LOGERR:
		h->log_err = 1;
		return;
	case LCH_REC_METRIC:
		if (h->metrics)
			(void)lch_metrics_add(h->metrics, r.rank, r.text,
			    r.text_len, lch_metrics_now());
		return;
	case LCH_REC_FLIGHT:
		flight_record(h, &r);
		return;
	}
	out_line(h, 1, line, n);
}

/* Keeps what fits of s in the agent's early stderr. */
static void
early_add(struct agent_proc *a, const char *s, size_t n)
{
	if (n > sizeof(a->early) - a->early_len)
		n = sizeof(a->early) - a->early_len;
	memcpy(a->early + a->early_len, s, n);
	a->early_len += n;
}

/*
 * A line on an agent's stderr, without its newline.  Until an agent's
 * first record (its node's facts) it may be ssh's own ("Connection
 * refused") or the agent's reason not to start: kept for the failure
 * message.
 */
static void
agent_errline(struct head *h, struct agent_proc *a, const char *s, size_t n)
{
	if (a->nrec > 0) {
		out_line(h, 1, s, n);
		return;
	}
	early_add(a, s, n);
	early_add(a, "\n", 1);
}

static void
agent_line(struct head *h, struct agent_proc *a, int s, const char *line,
	   size_t n)
{
	if (s == 0)
		record(h, a, line, n);
	else
		agent_errline(h, a, line, n);
}

typedef void line_fn(struct head *h, void *arg, const char *line, size_t n);

/*
 * One read of *fd into sb, then each whole line (without its newline)
 * to fn, and a partial one at EOF or once it is too long for a record;
 * *fd is closed at EOF or on an error.  Returns read's count, or 0 when
 * nothing was there to read yet.
 */
static ssize_t
read_lines(struct head *h, int *fd, struct lch_strbuf *sb, line_fn *fn,
	   void *arg)
{
	size_t start = 0, len;
	char *nl;
	ssize_t n;

	n = lch_strbuf_read_once(sb, *fd, LCH_REC_MAX);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	while ((nl = memchr(sb->buf + start, '\n', sb->len - start))) {
		len = (size_t)(nl - (sb->buf + start));
		fn(h, arg, sb->buf + start, len);
		start += len + 1;
	}
	if ((n <= 0 || sb->len - start >= LCH_REC_MAX) && sb->len > start) {
		fn(h, arg, sb->buf + start, sb->len - start);
		start = sb->len;
	}
	lch_strbuf_consume(sb, start);
	if (n <= 0)
		close_fd(fd);
	return n;
}

static void
out_agent_line(struct head *h, void *arg, const char *line, size_t n)
{
	struct agent_proc *a = arg;

	agent_line(h, a, 0, line, n);
}

static void
err_agent_line(struct head *h, void *arg, const char *line, size_t n)
{
	struct agent_proc *a = arg;

	agent_line(h, a, 1, line, n);
}

/* Reads an agent's stdout (records) or stderr (its own messages). */
static void
read_agent(struct head *h, struct agent_proc *a, int s)
{
	int *fd = s == 0 ? &a->out_fd : &a->err_fd;

	(void)read_lines(h, fd, &a->rd[s], s == 0 ? out_agent_line :
	    err_agent_line, a);
	if (*fd < 0 && a->dial) {	/* no process of ours: EOF is its end */
		close_fd(&a->in_fd);
		a->reaped = 1;
	}
}

/* What an agent said before its first record, on one line. */
static void
said_line(char *dst, size_t len, const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 3 < len; i++) {
		if (s[i] != '\n')
			dst[k++] = s[i];
		else if (i + 1 < n)
			dst[k++] = ';', dst[k++] = ' ';
	}
	dst[k] = '\0';
}

/*
 * Blames a lost node (its ranks with it) and stops the job: the node a
 * connection reaches, or one below it (an n record, said its text).
 */
static void
node_failure(struct head *h, struct agent_proc *a, int node, int kind,
	     int code, const char *said, size_t said_len)
{
	h->fail.kind = kind;
	h->fail.code = code;
	h->fail.rank = -1;
	h->fail.pid = (int)a->pid;
	h->fail.node = node;
	h->fail.host = h->p->nodes[node].host;
	h->fail.remote = a->remote || node != a->node->index;
	h->fail.agent = a;
	said_line(h->fail.said, sizeof(h->fail.said), said, said_len);
	stop_job(h);
}

/* Blames a lost agent (its node's ranks with it) and stops the job. */
static void
agent_failure(struct head *h, struct agent_proc *a, int kind, int code)
{
	node_failure(h, a, a->node->index, kind, code, a->early,
	    a->early_len);
}

/* A host that cannot take part: msg says why (one line), and the job stops. */
static void
host_failure(struct head *h, struct agent_proc *a, int node, const char *fmt,
	     ...) __attribute__((format(printf, 4, 5)));
static void
host_failure(struct head *h, struct agent_proc *a, int node, const char *fmt,
	     ...)
{
	va_list ap;

	if (h->fail.code != 0 || h->timed_out)
		return;
	h->fail.kind = F_HOST;
	h->fail.code = 2;
	h->fail.rank = -1;
	h->fail.node = node;
	h->fail.host = h->p->nodes[node].host;
	h->fail.agent = a;
	va_start(ap, fmt);
	vsnprintf(h->fail.msg, sizeof(h->fail.msg), fmt, ap);
	va_end(ap);
	stop_job(h);
}

/* An agent that dies on its own takes its node down: stop the job. */
static void
agent_died(struct head *h, struct agent_proc *a)
{
	if (h->fail.code != 0 || h->timed_out || h->stopping ||
	    h->interrupted)
		return;
	agent_failure(h, a, F_AGENT_SIG, a->code);
}

/* A node's ranks are all accounted for. */
static int
node_ended(const struct head *h, int node)
{
	return h->ns[node].lost ||
	    h->ns[node].nended >= h->p->nodes[node].nprocs;
}

/*
 * An agent is done (reaped, pipes closed).  One that leaves ranks
 * unaccounted for lost them: ssh could not connect, or the connection or
 * the remote agent died.  That is a failure of the job.
 */
static void
agent_done(struct head *h, struct agent_proc *a)
{
	int s, i, missing = -1;

	a->done = 1;
	for (i = 0; i < a->nnodes; i++)	/* whatever became of them */
		gather_node_done(h, a->nodes[i]);
	for (s = 0; s < 2; s++)	/* a long line it left open ends here */
		for (i = 0; i < a->nnodes && h->open[s] >= 0; i++) {
			const struct lch_node *n = &h->p->nodes[a->nodes[i]];

			if (h->open[s] >= n->first_rank &&
			    h->open[s] < n->first_rank + n->nprocs) {
				out_add(h, s, "\n", 1);
				h->open[s] = -1;
			}
		}
	for (i = 0; i < a->nnodes && missing < 0; i++)
		if (!node_ended(h, a->nodes[i]))
			missing = a->nodes[i];
	if (missing < 0 || h->fail.code != 0 || h->timed_out ||
	    h->stopping || h->interrupted) {
		if (a->early_len) {
			out_close(h, 1);
			out_add(h, 1, a->early, a->early_len);
		}
		a->early_len = 0;
		return;
	}
	if (a->nrec == 0)	/* before its facts: said why, or ssh did */
		agent_failure(h, a, F_SSH, a->code ? a->code : 255);
	else
		node_failure(h, a, missing, F_LOST, a->code ? a->code : 255,
		    a->early, a->early_len);
}

static void step_ended(struct head *h);
static int elastic_reaped(struct head *h, pid_t pid, int st);
static ssize_t read_step(struct head *h);
static void step_blame(struct head *h, int code, const char *msg);

static void
reap(struct head *h)
{
	pid_t pid;
	int st, i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (elastic_reaped(h, pid, st))
			continue;
		if (h->slurm && pid == h->st.pid) {
			h->st.reaped = 1;
			h->st.code = lch_exit_code(st);
			/* what srun said comes first: it says why */
			while (h->st.err_fd >= 0 && read_step(h) > 0)
				;
			if (WIFSIGNALED(st) && !h->st.stopped) {
				char m[160];

				snprintf(m, sizeof(m), "srun (pid %d), which "
				    "runs the agents' job step, was killed by "
				    "%s: every node's agent is lost", (int)pid,
				    lch_signame(WTERMSIG(st)));
				step_blame(h, h->st.code, m);
			}
			step_ended(h);
			continue;
		}
		for (i = 0; i < h->nag; i++)
			if (h->ag[i].pid == pid) {
				h->ag[i].reaped = 1;
				h->ag[i].code = lch_exit_code(st);
				if (WIFSIGNALED(st))
					agent_died(h, &h->ag[i]);
			}
	}
}

static void start_snapshot(struct head *h, const char *why);

static void
handle_signals(struct head *h)
{
	unsigned char b[64];
	ssize_t n, i;

	while ((n = read(h->sigfd[0], b, sizeof(b))) > 0)
		for (i = 0; i < n; i++) {
			int sig = b[i];

			if (sig == SIGCHLD) {
				reap(h);
				continue;
			}
			if (sig == SIGUSR1) {	/* muster stacks (stacks.h) */
				start_snapshot(h, "SIGUSR1 (muster stacks)");
				continue;
			}
			if (sig == SIGUSR2) {
				send_cmd(h, LCH_REC_SIG, sig);
				continue;
			}
			if (h->interrupted) {
				lch_msg("%s again: killing all ranks",
				    lch_signame(sig));
				h->killed = 1;
				send_cmd(h, LCH_REC_KILL, 0);
				arm_kill(h, AGENT_SLACK_MS);
				continue;
			}
			h->interrupted = sig;
			if (h->o->verbose)
				lch_msg("%s: forwarding to all ranks",
				    lch_signame(sig));
			send_cmd(h, LCH_REC_SIG, sig == SIGQUIT ? SIGTERM : sig);
			/* no rank yet to handle it (the facts are not all
			 * in): the job stops, slow hosts with it */
			if (!h->planned)
				stop_job(h);
		}
}

/*
 * The agent command: this binary locally; for other hosts ssh and the
 * remote command of remote.h (the same path there, else muster from the
 * remote PATH).
 */
static int
agent_argv(struct head *h, struct lch_strv *v, const struct lch_node *n,
	   const char *self)
{
	static const char *const args[] = { "--agent", NULL };
	struct lch_remote r;

	if (n->local && !getenv("MUSTER_FORCE_SSH")) {
		lch_strv_push(v, self);
		lch_strv_push(v, "--agent");
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.ssh = h->o->ssh;
	r.remote_muster = h->o->remote_muster;
	r.self = self;
	return lch_remote_argv(&r, n->host, args, v);
}

static int
start_agent(struct head *h, struct agent_proc *a, const char *self)
{
	struct lch_strv argv = LCH_STRV_INIT;
	struct lch_spawn s;
	int p[3][2], e, rc = -1;	/* the agent's stdin, stdout, stderr */

	if (lch_pipes(p, 3) != 0) {
		lch_msg("pipe: %s", strerror(errno));
		return -1;
	}
	a->remote = !a->node->local || getenv("MUSTER_FORCE_SSH") != NULL;
	if (agent_argv(h, &argv, a->node, self) != 0) {
		a->reaped = 1;
		a->code = 2;
		lch_pipes_close(p, 3);
		goto out;
	}
	if (h->o->verbose && a->remote)
		lch_msg("node %d: %s %s '%s'", (int)(a - h->ag), argv.v[0],
		    a->node->host, argv.v[argv.n - 1]);
	memset(&s, 0, sizeof(s));
	s.argv = argv.v;
	s.in_fd = p[0][0];
	s.out_fd = p[1][1];
	s.err_fd = p[2][1];
	s.new_pgroup = 1;	/* the terminal's ^C reaches only the head */
	s.deathsig = SIGTERM;
	a->pid = lch_spawn_start(&s, &e);
	close(p[0][0]);
	close(p[1][1]);
	close(p[2][1]);
	a->in_fd = p[0][1];
	a->out_fd = p[1][0];
	a->err_fd = p[2][0];
	if (a->pid < 0) {
		lch_msg("cannot start the agent for %s (%s): %s", a->node->host,
		    argv.v[0], strerror(e));
		a->reaped = 1;
		a->code = 127;
		goto out;
	}
	rc = 0;
out:
	lch_strv_clear(&argv);
	return rc;
}

/*
 * Writes an agent its HELLO (records.h): small, it fits in the pipe
 * while ssh connects, so the connections are made side by side.
 */
static void
send_hello(struct head *h, struct agent_proc *a)
{
	const struct lch_plan *p = h->p;
	struct lch_rec_hello hello;
	char *line;

	if (a->in_fd < 0)
		return;
	memset(&hello, 0, sizeof(hello));
	hello.node = a->node->index;
	hello.host = a->node->host;
	hello.version = MUSTER_VERSION_STRING;
	hello.toward = p->all_local || !p->have_head ? NULL : p->head.addr;
	hello.iface = p->all_local ? NULL : p->iface;
	hello.ports = a->node->want_ports;
	hello.self = lch_self_exe();
	if (a->tree) {	/* a relay: how it reaches its children */
		hello.tree = a->tree;
		hello.ssh = h->o->ssh ? h->o->ssh : getenv("MUSTER_SSH");
		hello.remote_muster = h->o->remote_muster;
	}
	line = lch_rec_hello_encode(&hello);
	/* EPIPE: the agent (or ssh) ended; its end says why */
	if ((lch_write_all(a->in_fd, line, strlen(line)) != 0 ||
	    lch_write_all(a->in_fd, "\n", 1) != 0) && errno != EPIPE)
		lch_msg("agent for %s did not take its HELLO: %s",
		    a->node->host, strerror(errno));
	free(line);
}

static int node_remote(const struct lch_node *n);

/* Orders node indices by host, then index (qsort_r). */
static int
by_host(const void *x, const void *y, void *arg)
{
	const struct lch_node *n = arg;
	int i = *(const int *)x, k = *(const int *)y, c;

	c = strcmp(n[i].host, n[k].host);
	return c ? c : (i > k) - (i < k);
}

/*
 * Who gathers what (gather.h): the first node of each host gathers the
 * outputs folder of every node of that host; all the nodes of this
 * machine (virtual nodes) share its folder, node 0's.
 */
static void
gather_groups(struct head *h)
{
	const struct lch_node *n = h->p->nodes;
	int *rem = lch_xcalloc((size_t)h->p->nnodes + 1, sizeof(*rem));
	int i, nrem = 0, local = -1, lead = -1;

	for (i = 0; i < h->p->nnodes; i++) {
		if (node_remote(&n[i])) {
			rem[nrem++] = i;
			continue;
		}
		if (local < 0)
			local = i;
		h->ns[i].gleader = local + 1;
		h->ns[local].gleft++;
	}
	qsort_r(rem, (size_t)nrem, sizeof(*rem), by_host, (void *)n);
	for (i = 0; i < nrem; i++) {
		if (i == 0 || strcmp(n[rem[i]].host, n[rem[i - 1]].host) != 0)
			lead = rem[i];
		h->ns[rem[i]].gleader = lead + 1;
		h->ns[lead].gleft++;
	}
	free(rem);
}

/* Whether node i gathers its host's outputs (gather_groups). */
static int
node_gathers(const struct head *h, int i)
{
	return h->gather != NULL && h->ns[i].gleader == i + 1;
}

/*
 * A node that shares its host's outputs folder with the node that
 * gathers it: its ranks are told where it is (MUSTER_OUTPUT_DIR, made
 * here for a node of this machine), as that node's agent tells its own.
 */
static void
outputs_env(struct head *h, const struct lch_node *n)
{
	const char *dir = h->o->output_dir ? h->o->output_dir : "outputs";
	char *abs;
	int r;

	if (!node_remote(n))
		abs = lch_gather_prepare(dir);
	else if (dir[0] == '/' || h->cwd == NULL)
		abs = lch_xstrdup(dir);
	else
		abs = lch_xasprintf("%s/%s", h->cwd, dir);
	for (r = n->first_rank; r < n->first_rank + n->nprocs; r++)
		if (lch_env_get(&h->p->ranks[r].env, "MUSTER_OUTPUT_DIR") == NULL)
			lch_env_set(&h->p->ranks[r].env, "MUSTER_OUTPUT_DIR",
			    abs);
	free(abs);
}

/* Writes a connection the plans of the nodes it carries. */
static void
send_plans_to(struct head *h, struct agent_proc *a)
{
	struct lch_rec_plan_opts po = { h->cwd, (long)(h->o->grace * 1000),
	    h->o->log_dir, NULL, h->metrics != NULL, h->fl != NULL,
	    h->beat_ms };
	char *plan;
	int i, e;

	for (i = 0; i < a->nnodes && a->in_fd >= 0; i++) {
		po.outputs = NULL;
		if (node_gathers(h, a->nodes[i])) {
			po.outputs = h->o->output_dir ? h->o->output_dir :
			    "outputs";
		} else if (h->gather)
			outputs_env(h, &h->p->nodes[a->nodes[i]]);
		plan = lch_rec_plan_encode(h->p, &h->p->nodes[a->nodes[i]],
		    &po);
		/* EPIPE: the agent (or ssh) ended; its end says why */
		if ((lch_write_all(a->in_fd, plan, strlen(plan)) != 0 ||
		    lch_write_all(a->in_fd, "\n", 1) != 0) &&
		    (e = errno) != EPIPE)
			lch_msg("agent for %s did not take its plan: %s",
			    a->node->host, strerror(e));
		free(plan);
	}
	if (a->in_fd >= 0)
		(void)fcntl(a->in_fd, F_SETFL, O_NONBLOCK);
}

/* "p1 p2 ..." of a node's ports, the first few. */
static void
ports_text(char *buf, size_t len, const struct lch_facts *f)
{
	size_t k = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < f->nports && i < 8 && k + 16 < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s%d", i ? " " : "",
		    f->ports[i]);
	if (f->nports > 8)
		snprintf(buf + k, len - k, " ... (%d)", f->nports);
	if (f->nports == 0)
		snprintf(buf, len, "none");
}

/*
 * Every node's facts arrived: every rank's environment from them, then
 * the plans.  A job that stops meanwhile gets none: the agents see EOF
 * and end (records.h).
 */
static void
send_plans(struct head *h)
{
	int i;

	h->planned = 1;
	h->beat_at = h->reading_since = h->beat_ran = (long long)mst_now_ms();
	if (!ending(h) && !h->p->all_local && !h->p->have_head) {
		char me[256];

		if (gethostname(me, sizeof(me)) != 0)
			snprintf(me, sizeof(me), "localhost");
		me[sizeof(me) - 1] = '\0';
		host_failure(h, &h->ag[0], 0, "%s (this host): %s: no address "
		    "to advertise to the other hosts (give --iface)", me,
		    h->p->head_err);
	}
	if (!ending(h)) {
		for (i = 0; i < h->p->nnodes; i++) {
			struct lch_node *n = &h->p->nodes[i];

			n->net = h->ns[i].facts.net;
			n->have_net = 1;
			n->ports = h->ns[i].facts.ports;
		}
		if (lch_plan_set_net(h->p, h->o, 0) != 0) {
			h->fail.kind = F_HOST;
			h->fail.code = 2;
			h->fail.msg[0] = '\0';	/* said */
			stop_job(h);
		}
	}
	if (!ending(h) && h->gather)
		gather_groups(h);
	for (i = 0; i < h->nag; i++) {
		if (ending(h))
			close_fd(&h->ag[i].in_fd);
		else
			send_plans_to(h, &h->ag[i]);
	}
	if (h->fl && h->fl_ask_ms)
		h->fl_ask_at = (long long)mst_now_ms() + h->fl_ask_ms;
}

/*
 * Node i's facts, as its agent sent them (h record): the same muster,
 * the ports asked for, no loopback address when the job spans hosts.
 */
static void
got_facts(struct head *h, struct agent_proc *a, int i, const char *json,
	  size_t len)
{
	struct node_state *ns = &h->ns[i];
	const struct lch_node *n = &h->p->nodes[i];
	struct lch_facts *f = &ns->facts;
	char ports[160];

	if (ns->have_facts)
		return;
	if (lch_facts_decode(json, len, f) != 0) {
		host_failure(h, a, i, "%s: its agent's facts cannot be read: "
		    "'%.80s'", n->host, json);
		return;
	}
	ns->have_facts = 1;
	h->nfacts++;
	lch_runrec_node(h->rr, i, f->net.addr);
	if (strcmp(f->version, MUSTER_VERSION_STRING) != 0)
		host_failure(h, a, i, "%s runs muster %s, this one is %s: the "
		    "same version must run on every host", n->host, f->version,
		    MUSTER_VERSION_STRING);
	else if (f->nports != n->want_ports)
		host_failure(h, a, i, "%s: its agent found %d free ports, %d "
		    "were asked for", n->host, f->nports, n->want_ports);
	else if (!h->p->all_local && h->p->have_head &&
	    mst_addr_is_loopback(f->net.addr))
		host_failure(h, a, i, "%s would advertise %s on %s, a loopback "
		    "address the other hosts cannot reach (give --iface)",
		    n->host, f->net.addr, f->net.ifname);
	if (h->o->verbose) {
		ports_text(ports, sizeof(ports), f);
		lch_msg("%s (node %d): address %s on %s (%s%s), ports %s",
		    n->host, i, f->net.addr, f->net.ifname, h->p->all_local ?
		    "all local" : h->p->iface ? "--iface " : "route toward ",
		    h->p->all_local ? "" : h->p->iface ? h->p->iface :
		    h->p->head.addr, ports);
	}
	if (h->nfacts == h->p->nnodes && !h->planned)
		send_plans(h);
}

/* Node top and every node below it in the tree count as ended. */
static void
lost_subtree(struct head *h, int top)
{
	int i, k;

	for (i = 0; i < h->p->nnodes; i++)
		for (k = i; k >= 0; k = h->ns[k].up)
			if (k == top) {
				h->ns[i].lost = 1;
				gather_node_done(h, i);
				break;
			}
}

/*
 * An h or n record (by node).  An n record comes from a relay: the
 * connection to node i, below it, ended badly; node i's ranks count as
 * ended (with fan-out, its subtree's too).
 */
static void
node_record(struct head *h, struct agent_proc *a, const struct lch_rec *r)
{
	if (r->type == LCH_REC_FACTS) {
		got_facts(h, a, r->rank, r->text, r->text_len);
		return;
	}
	if (r->type != LCH_REC_LOST) {	/* g, b, G: a node of a's only */
		if (h->gather && h->ns[r->rank].conn == (int)(a - h->ag))
			lch_gather_rx_record(h->gather, r);
		return;
	}
	lost_subtree(h, r->rank);
	if (h->fail.code != 0 || h->timed_out || h->stopping ||
	    h->interrupted)
		return;
	node_failure(h, a, r->rank, r->num[0] == LCH_REC_LOST_EARLY ? F_SSH :
	    F_LOST, r->num[1] ? r->num[1] : 255, r->more, r->more_len);
}

/* The earlier of t and at - now (at 0: none). */
static long long
sooner(long long t, long long at, long long now)
{
	if (at == 0)
		return t;
	return t < 0 || at - now < t ? at - now : t;
}

/* An agent whose pipes are closed but which is not reaped yet. */
static int
closed_unreaped(const struct head *h)
{
	int i;

	for (i = 0; i < h->nag; i++)
		if (h->ag[i].pid > 0 && !h->ag[i].reaped &&
		    h->ag[i].out_fd < 0 && h->ag[i].err_fd < 0)
			return 1;
	return h->slurm && h->st.pid > 0 && !h->st.reaped && h->st.err_fd < 0;
}

/*
 * --- elastic jobs (elastic.h): the join deadline, --host-discovery, the
 * nodes lost in an attempt, and the next generation ---
 */

/* An attempt's join deadline; the discovery's first run after a pause. */
static void
elastic_arm(struct head *h)
{
	long long now = (long long)mst_now_ms();

	h->join_expired = h->regen = h->last_call = h->unlisted_said = 0;
	h->ran_at = 0;
	h->join_at = h->el ? now + (long long)(h->o->join_timeout * 1000) : 0;
	if (h->el && h->o->host_discovery && h->disc.pid == 0)
		h->disc.next_at = now +
		    (long long)(h->o->discovery_interval * 1000);
}

static long long
disc_interval_ms(const struct head *h)
{
	return (long long)(h->o->discovery_interval * 1000);
}

/* What went wrong with --host-discovery: said once, till it works again. */
static void
disc_failed(struct head *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void
disc_failed(struct head *h, const char *fmt, ...)
{
	char why[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!h->disc.failing)
		lch_msg("--host-discovery '%s': %s: going on with the %d "
		    "node%s the job has", h->o->host_discovery, why, h->el->n,
		    h->el->n == 1 ? "" : "s");
	h->disc.failing = 1;
}

/* Starts --host-discovery's command, its stdout into a pipe of ours. */
static void
disc_start(struct head *h)
{
	char err[300];

	h->disc.next_at = (long long)mst_now_ms() + disc_interval_ms(h);
	h->disc.pid = lch_discovery_start(h->o->host_discovery, &h->disc.fd,
	    err, sizeof(err));
	if (h->disc.pid < 0) {
		h->disc.pid = 0;
		disc_failed(h, "%s", err);
		return;
	}
	(void)fcntl(h->disc.fd, F_SETFL, O_NONBLOCK);
	h->disc.reaped = h->disc.code = 0;
	lch_strbuf_reset(&h->disc.out);
}

/* The command ended (reaped, stdout at EOF): its hosts, or its failure. */
static void
disc_done(struct head *h)
{
	char err[300];

	h->disc.pid = 0;
	if (h->disc.code != 0) {
		disc_failed(h, "exited with code %d", h->disc.code);
		return;
	}
	if (lch_elastic_discovered(h->el, h->disc.out.buf, h->disc.out.len,
	    err, sizeof(err)) < 0) {
		disc_failed(h, "%s", err);
		return;
	}
	h->disc.failing = 0;
}

/* Reads what the command printed; starts it when it is time. */
static void
disc_tick(struct head *h, long long now)
{
	ssize_t n = -1;

	if (h->o->host_discovery == NULL)
		return;
	if (h->disc.pid == 0) {
		if (!ending(h) && now >= h->disc.next_at)
			disc_start(h);
		return;
	}
	while (h->disc.fd >= 0 &&
	    (n = lch_strbuf_read_once(&h->disc.out, h->disc.fd, 65536)) != 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			break;
		if (n < 0 || h->disc.out.len > LCH_DISCOVERY_OUT_MAX)
			break;
	}
	if (h->disc.fd >= 0 && (h->disc.out.len > LCH_DISCOVERY_OUT_MAX ||
	    now >= h->disc.next_at + disc_interval_ms(h))) {
		killpg(h->disc.pid, SIGKILL);
		if (h->disc.out.len > LCH_DISCOVERY_OUT_MAX)
			disc_failed(h, "printed more than %d bytes",
			    LCH_DISCOVERY_OUT_MAX);
		else
			disc_failed(h, "did not end within %g s",
			    h->o->discovery_interval * 2);
		close_fd(&h->disc.fd);
		h->disc.code = -1;
	} else if (h->disc.fd >= 0 && n == 0)
		close_fd(&h->disc.fd);
	if (h->disc.fd < 0 && h->disc.reaped && h->disc.code >= 0)
		disc_done(h);
	else if (h->disc.fd < 0 && h->disc.reaped)
		h->disc.pid = 0;
}

/* The discovery's command was reaped: 1, or 0 when pid is not it. */
static int
elastic_reaped(struct head *h, pid_t pid, int st)
{
	if (h->disc.pid <= 0 || pid != h->disc.pid)
		return 0;
	h->disc.reaped = 1;
	if (h->disc.code >= 0)
		h->disc.code = lch_exit_code(st);
	return 1;
}

/* Ends a discovery run still going (the job ends). */
static void
disc_stop(struct head *h)
{
	if (h->disc.pid > 0) {
		killpg(h->disc.pid, SIGKILL);
		if (!h->disc.reaped)
			(void)waitpid(h->disc.pid, NULL, 0);
	}
	close_fd(&h->disc.fd);
	lch_strbuf_release(&h->disc.out);
	h->disc.pid = 0;
}

/* --join-timeout passed with nodes not up: this attempt ends without them. */
static void
join_expired(struct head *h)
{
	char names[512] = "";
	int i, first = -1, missing = 0;
	struct agent_proc *a;

	for (i = 0; i < h->p->nnodes; i++) {
		char name[LCH_HOST_MAX + 16];

		if (h->ns[i].have_facts)
			continue;
		if (first < 0)
			first = i;
		a = &h->ag[h->ns[i].conn];
		if (a->remote && !a->dial && a->pid > 0 && !a->reaped)
			killpg(a->pid, SIGKILL);	/* no grace: not up */
		missing++;
		lch_elastic_name(h->el, i, name, sizeof(name));
		lch_list_add(names, sizeof(names), name);
	}
	h->join_expired = 1;
	if (h->last_call == 2)
		host_failure(h, &h->ag[h->ns[first].conn], first, "%d of %d "
		    "nodes did not come up within %g s of %d being up: %s",
		    missing, h->p->nnodes, LCH_ELASTIC_LAST_CALL, h->el->min,
		    names);
	else
		host_failure(h, &h->ag[h->ns[first].conn], first,
		    "--join-timeout %gs: %d of %d nodes did not come up: %s",
		    h->o->join_timeout, missing, h->p->nnodes, names);
}

/* The members to join (discovered) stop the generation for the next. */
static void
regen_for_join(struct head *h)
{
	const struct lch_elastic *e = h->el;
	char names[512] = "";
	int i, k = lch_elastic_can_grow(e);

	for (i = 0; i < k && i < e->max - e->n; i++)
		lch_list_add(names, sizeof(names), e->spare[i].host);
	h->regen = 1;
	lch_msg("hosts joining (%s): stopping generation %d for the next",
	    names, e->generation);
	stop_job(h);
}

/* Nodes a generation keeps at least: its members but k, and spares. */
static int
elastic_keeps(const struct lch_elastic *e, int k)
{
	int room = e->max - (e->n - k);

	return e->n - k + (e->nspare < room ? e->nspare : room);
}

/*
 * Members --host-discovery no longer prints stop the generation for the
 * next without them, while MIN remain (else said once: they stay).
 */
static void
regen_for_leave(struct head *h, int k)
{
	const struct lch_elastic *e = h->el;
	char names[512] = "";
	int i;

	for (i = 0; i < e->n; i++)
		if (e->m[i].unlisted)
			lch_list_add(names, sizeof(names), e->m[i].host);
	if (elastic_keeps(e, k) < e->min) {
		if (!h->unlisted_said)
			lch_msg("--host-discovery no longer lists %s: kept, the "
			    "job needs at least %d nodes (--nodes %d:%d)", names,
			    e->min, e->min, e->max);
		h->unlisted_said = 1;
		return;
	}
	h->regen = 2;
	lch_msg("--host-discovery no longer lists %s: stopping generation "
	    "%d for the next without %s", names, e->generation,
	    k == 1 ? "it" : "them");
	stop_job(h);
}

static void
elastic_tick(struct head *h)
{
	long long now = (long long)mst_now_ms();
	int k;

	if (h->el == NULL)
		return;
	if (h->planned && h->ran_at == 0)
		h->ran_at = now;
	if (!h->planned && !h->last_call && h->nfacts >= h->el->min) {
		long long at = now + (long long)(LCH_ELASTIC_LAST_CALL * 1000);

		h->last_call = 1;	/* MIN are up: the others get this long */
		if (at < h->join_at) {
			h->join_at = at;
			h->last_call = 2;
		}
	}
	if (!h->planned && !ending(h) && now >= h->join_at &&
	    h->nfacts < h->p->nnodes)
		join_expired(h);
	disc_tick(h, now);
	if (!ending(h) && h->planned && (k = lch_elastic_unlisted(h->el)) > 0)
		regen_for_leave(h, k);
	if (!ending(h) && h->planned && lch_elastic_can_grow(h->el) &&
	    now >= h->ran_at + disc_interval_ms(h))
		regen_for_join(h);
}

/* The earlier of t and at - now, at in the past being now. */
static long long
sooner_now(long long t, long long at, long long now)
{
	return sooner(t, at > now ? at : now, now);
}

/*
 * poll()'s timeout t with the elastic job's times, those only that
 * elastic_tick acts on now (a past one wakes at once, and is acted on).
 */
static long long
elastic_wake(struct head *h, long long t, long long now)
{
	if (h->el == NULL || ending(h))
		return t;
	if (!h->planned)
		t = sooner_now(t, h->join_at, now);
	if (h->o->host_discovery)
		t = sooner_now(t, h->disc.pid ? now + REAP_POLL_MS :
		    h->disc.next_at, now);
	if (h->planned && lch_elastic_can_grow(h->el))
		t = sooner_now(t, h->ran_at ? h->ran_at + disc_interval_ms(h) :
		    now, now);
	return t;
}

/*
 * The nodes the attempt lost (h->gone): the one its failure blames, those
 * that did not come up in time, and once the plans went out those whose
 * ranks were not all accounted for (their agent died, an n record).
 */
static void
elastic_note_gone(struct head *h)
{
	const struct failure *f = &h->fail;
	int i, node_fail = f->code != 0 && f->kind != F_RANK &&
	    f->kind != F_EXEC && !h->join_expired;

	if (h->el == NULL)
		return;
	for (i = 0; i < h->p->nnodes; i++)
		h->gone[i] = (node_fail && f->node == i) || h->ns[i].lost ||
		    (h->planned && h->ns[i].nended < h->p->nodes[i].nprocs) ||
		    (h->join_expired && !h->ns[i].have_facts);
}

/* A list of names as a JSON array ("a, b"). */
static cJSON *
names_json(const char *names)
{
	cJSON *a = cJSON_CreateArray();
	const char *s = names;

	while (*s) {
		size_t n = strcspn(s, ",");
		char *one = lch_xasprintf("%.*s", (int)n, s);

		cJSON_AddItemToArray(a, cJSON_CreateString(one));
		free(one);
		s += n;
		s += strspn(s, ", ");
	}
	return a;
}

/* Spares join the next generation; their names go to the run record. */
static void
elastic_fill(struct head *h)
{
	char names[1024];

	if (lch_elastic_fill(h->el, names, sizeof(names)) > 0)
		lch_runrec_attempt_note(h->rr, "joined", names_json(names));
}

/*
 * Whether the elastic job goes on after an attempt that ended with code:
 * on the nodes left when nodes were lost (at least MIN, else one line
 * naming them), with the hosts that join, or after a rank failure while
 * --max-restarts is left.
 */
static int
elastic_again(struct head *h, int code)
{
	struct lch_elastic *e = h->el;
	char names[1024], left[1024];
	int why, k;

	lch_runrec_attempt_note(h->rr, "generation",
	    cJSON_CreateNumber(e->generation));
	if (h->regen && h->nok == h->p->np)
		h->regen = 0;	/* every rank was done: so is the job */
	if ((code == 0 && !h->regen) || h->timed_out || h->interrupted || h->broken[0] ||
	    h->broken[1])
		return 0;
	if (lch_elastic_drop(e, h->gone, names, sizeof(names)) > 0) {
		lch_runrec_attempt_note(h->rr, "lost", names_json(names));
		if (elastic_keeps(e, 0) < e->min) {
			lch_msg("elastic job: lost %s: %d node%s left, fewer "
			    "than --nodes %d:%d", names, e->n, e->n == 1 ? "" :
			    "s", e->min, e->max);
			return 0;
		}
		why = 0;
	} else if (h->regen) {
		why = h->regen;
	} else {
		if (e->restarts >= h->o->max_restarts)
			return 0;
		e->restarts++;
		why = 3;
	}
	if ((k = lch_elastic_unlisted(e)) > 0 && elastic_keeps(e, k) >= e->min &&
	    lch_elastic_drop_unlisted(e, left, sizeof(left)) > 0)
		lch_runrec_attempt_note(h->rr, "left", names_json(left));
	elastic_fill(h);
	lch_runrec_attempt_note(h->rr, "next", cJSON_CreateString(why == 0 ?
	    "nodes lost" : why == 1 ? "hosts joined" : why == 2 ?
	    "hosts left" : "a rank failed"));
	if (why == 0)
		lch_msg("lost %s: generation %d goes on with %d node%s", names,
		    e->generation + 1, e->n, e->n == 1 ? "" : "s");
	else if (why == 3)
		lch_msg("restarting the job (%ld of %ld): generation %d on %d "
		    "nodes", e->restarts, h->o->max_restarts, e->generation + 1,
		    e->n);
	return 1;
}

/*
 * The next generation's plan: built for the members, with the job's id
 * and secret; the rendezvous starts a new generation; the run record and
 * the progress line follow.  -1 after a message.
 */
static int
elastic_replan(struct head *h, struct lch_plan *plan, struct lch_rdv *rdv)
{
	struct lch_plan next;

	h->el->generation++;
	if (lch_elastic_apply(h->el, h->o) != 0 ||
	    lch_plan_build(&next, h->o) != 0)
		return -1;
	memcpy(next.secret, plan->secret, sizeof(next.secret));
	if (lch_plan_choose_head(&next, h->o, 0) != 0) {
		lch_plan_release(&next);
		return -1;
	}
	lch_plan_release(plan);
	*plan = next;
	if (lch_rdv_regen(rdv, plan) != 0)
		return -1;
	lch_runrec_replan(h->rr);
	h->pg.nnodes = plan->nnodes;
	h->pg.np = plan->np;
	if (h->o->verbose)
		lch_msg("generation %d: %d ranks on %d nodes", h->el->generation,
		    plan->np, plan->nnodes);
	return 0;
}
static long long stall_at(const struct head *h);

/* LCH_BEAT_MS, or $MUSTER_HEARTBEAT_MS (tests: 0 none, 50 to 600000). */
static long
beat_ms(void)
{
	const char *v = getenv("MUSTER_HEARTBEAT_MS");
	long ms;

	if (v == NULL || *v == '\0')
		return LCH_BEAT_MS;
	if (mst_parse_long(v, 0, 600000, &ms) != 0 || (ms > 0 && ms < 50)) {
		lch_msg("MUSTER_HEARTBEAT_MS '%.40s': expected 0 (none) or 50 to "
		    "600000 ms: using %d", v, LCH_BEAT_MS);
		return LCH_BEAT_MS;
	}
	return ms;
}

/*
 * The beats (records.h), once the plans went out: "beat" to every agent
 * each beat_ms; a node with ranks running unheard of for LCH_BEAT_MISSED
 * beats while we read is lost (its host or the network is gone), and the
 * job ends naming it (an elastic job goes on without it).
 */
/* Since when node i is silent: its last record, or since we read. */
static long long
heard_since(const struct head *h, int i)
{
	return h->ns[i].heard > h->reading_since ? h->ns[i].heard :
	    h->reading_since;
}

static void
beat_check(struct head *h, long long now, int reading)
{
	long long quiet = (long long)h->beat_ms * LCH_BEAT_MISSED, since;
	int i;

	if (h->beat_ms <= 0 || !h->planned || ending(h))
		return;
	/* we did not run (stopped, starved): the agents may have spoken */
	if (now - h->beat_ran > 2 * (long long)h->beat_ms)
		h->reading_since = 0;
	h->beat_ran = now;
	if (now >= h->beat_at) {	/* reading or not: we are here */
		send_cmd(h, LCH_REC_BEAT, 0);
		h->beat_at = now + h->beat_ms;
	}
	if (!reading) {
		h->reading_since = 0;
		return;
	}
	if (h->reading_since == 0)
		h->reading_since = now;
	for (i = 0; i < h->p->nnodes; i++) {
		since = heard_since(h, i);
		if (node_ended(h, i) || now - since <= quiet)
			continue;
		h->ns[i].lost = 1;
		gather_node_done(h, i);
		host_failure(h, &h->ag[h->ns[i].conn], i, "node %d (host %s): "
		    "no word from its agent for %.1f s (its host or the "
		    "network is gone): lost", i, h->p->nodes[i].host,
		    (double)(now - since) / 1000);
		h->fail.code = 255;	/* a lost host's, as ssh's */
		return;
	}
}

/* When beat_check has something to do. */
static long long
beat_wake(const struct head *h, long long t, long long now)
{
	long long quiet = (long long)h->beat_ms * LCH_BEAT_MISSED;
	int i;

	if (h->beat_ms <= 0 || !h->planned || ending(h))
		return t;
	t = sooner_now(t, h->beat_at, now);
	for (i = 0; i < h->p->nnodes && h->reading_since; i++)
		if (!node_ended(h, i))
			t = sooner_now(t, heard_since(h, i) + quiet + 1, now);
	return t;
}

static int
poll_timeout(struct head *h)
{
	long long now = (long long)mst_now_ms(), t = -1;

	if (!h->timed_out)
		t = sooner(t, h->deadline, now);
	if (!h->stopping)
		t = sooner(t, h->term_at, now);
	t = sooner(t, h->kill_at, now);
	t = sooner(t, h->kill2_at, now);
	t = sooner(t, h->fl_ask_at, now);
	t = sooner(t, stall_at(h), now);
	if (h->snap.active)
		t = sooner(t, h->snap.deadline_ms, now);
	if (ending(h) && out_pending(h) && !stalled(h))	/* to drop then */
		t = sooner(t, h->out_moved + STALL_MS, now);
	if (closed_unreaped(h))	/* see loop() */
		t = sooner(t, now + REAP_POLL_MS, now);
	t = elastic_wake(h, t, now);
	t = beat_wake(h, t, now);
	if (lch_progress_wait_ms(&h->pg) >= 0)	/* a redraw */
		t = sooner(t, now + lch_progress_wait_ms(&h->pg), now);
	if (h->joins)
		t = sooner(t, lch_joinsrv_wake(h->joins), now);
	if (h->ndial) {
		int k;

		t = sooner(t, h->st.stop_at, now);
		for (k = 0; k < h->st.ndin; k++)
			t = sooner(t, h->st.din[k].until, now);
		/* srun reaped without SIGCHLD's byte (see loop()) */
		if (h->st.pid > 0 && !h->st.reaped && h->st.err_fd < 0)
			t = sooner(t, now + REAP_POLL_MS, now);
	}
	return lch_poll_ms(t);
}

/* A "muster: " line on our stderr, queued in order with the ranks'. */
static void
say(struct head *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
say(struct head *h, const char *fmt, ...)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	va_list ap;
	char *t;

	va_start(ap, fmt);
	t = lch_xvasprintf(fmt, ap);
	va_end(ap);
	lch_strbuf_addf(&sb, "muster: %s", t);
	out_line(h, 1, sb.buf, sb.len);
	lch_strbuf_release(&sb);
	free(t);
}

/*
 * "stacks" to every agent (stacks.h), unless a snapshot is being taken
 * (it serves this request too).  Ranks whose agent is gone, or before
 * the plans went out, are settled here.
 */
static void
start_snapshot(struct head *h, const char *why)
{
	long long now = (long long)mst_now_ms();
	int r, node;

	if (h->snap.active)
		return;
	if (!h->planned || h->p->np == 0) {
		say(h, "%s: no rank runs yet: no stacks to take", why);
		return;
	}
	lch_stacks_begin(&h->snap, h->p->np, why, now,
	    lch_stacks_rank_ms() + LCH_STACKS_SLACK_MS);
	for (r = 0; r < h->p->np; r++) {
		node = h->p->ranks[r].node_rank;
		h->snap.r[r].host = rank_host(h, r);
		h->snap.r[r].pid = h->rank_pid[r];
		if (h->ns[node].lost || h->ag[h->ns[node].conn].done ||
		    h->ag[h->ns[node].conn].in_fd < 0)
			lch_stacks_settle(&h->snap, r, LCH_STACKS_NOTRUNNING,
			    "its node's agent has ended");
	}
	send_cmd(h, LCH_REC_STACKS, 0);
}

/* The ranks' summary lines: top frames (Python's too), or why none. */
static void
snapshot_summary(struct head *h)
{
	char top[512];
	int r;

	for (r = 0; r < h->snap.np; r++) {
		const struct lch_stacks_rank *k = &h->snap.r[r];

		lch_stacks_summary(k->text.buf, k->text.len, LCH_STACKS_TOP,
		    top, sizeof(top));
		if (k->status == LCH_STACKS_OK && top[0])
			say(h, "  rank %d (host %s, pid %d): %s%s%s", r, k->host,
			    k->pid, top, k->note ? "; " : "",
			    k->note ? k->note : "");
		else
			say(h, "  rank %d (host %s): no stack: %s", r, k->host,
			    k->note ? k->note : k->status == LCH_STACKS_OK ?
			    "no frame" : "no answer");
	}
}

/* The snapshot is complete: saved in the run record, summed up on stderr. */
static void
finish_snapshot(struct head *h)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	const char *dir = lch_runrec_dir(h->rr);
	long long took = (long long)mst_now_ms() - h->snap.started_ms;
	char *path = NULL;
	int r, ok = 0;

	for (r = 0; r < h->snap.np; r++) {
		lch_stacks_settle(&h->snap, r, LCH_STACKS_FAILED, "no answer "
		    "from its agent in time");
		ok += h->snap.r[r].status == LCH_STACKS_OK;
	}
	lch_stacks_text(&h->snap, h->p->job_id, &sb);
	if (dir && (path = lch_stacks_save(dir, h->snap.started, sb.buf,
	    sb.len)) == NULL)
		say(h, "cannot save the stacks in %s/stacks: %s", dir,
		    strerror(errno));
	say(h, "stacks of %d of %d ranks (%s) taken in %.1f s%s%s%s", ok,
	    h->snap.np, h->snap.why, (double)took / 1000, path ? ": " : "",
	    path ? path : "", path ? "" : "; all of them follow");
	snapshot_summary(h);
	if (path == NULL) {
		out_close(h, 1);
		out_add(h, 1, sb.buf, sb.len);
	}
	free(path);
	lch_strbuf_release(&sb);
	lch_stacks_release(&h->snap);
}

/*
 * The stall report's collective lines, from the ranks' latest flight
 * records (flight.h; the head asks for them every fl_ask_ms): how many,
 * 0 when no rank has one (no libmuster).
 */
static int
flight_lines(struct head *h, struct lch_strbuf *sb)
{
	size_t before = sb->len, i;
	int r, have = 0, n = 0;

	if (h->fl == NULL)
		return 0;
	for (r = 0; r < h->fl->np; r++)
		have += h->fl->s[r].have;
	if (have == 0)
		return 0;
	lch_flight_report(h->fl->s, h->fl->np, 0, sb);
	for (i = before; i < sb->len; i++)
		n += sb->buf[i] == '\n';
	return n;
}

/*
 * The stall report (stacks.h): a line per collective in flight from the
 * flight records, else for each rank how long since its output.
 */
static void
stall_report(struct head *h, long long now, struct lch_strbuf *sb)
{
	int r;

	lch_strbuf_addf(sb, "no rank made progress for %.1f s "
	    "(--stall-timeout %g)\n", (double)(now - h->last_progress) / 1000,
	    h->o->stall_timeout);
	if (flight_lines(h, sb) > 0)
		return;
	for (r = 0; r < h->p->np; r++) {
		lch_strbuf_addf(sb, "  rank %d (host %s", r, rank_host(h, r));
		if (h->rank_pid[r])
			lch_strbuf_addf(sb, ", pid %d", h->rank_pid[r]);
		if (h->last_out[r])
			lch_strbuf_addf(sb, "): last output %.1f s ago",
			    (double)(now - h->last_out[r]) / 1000);
		else
			lch_strbuf_addf(sb, "): no output yet");
		if (h->stop_sig[r])
			lch_strbuf_addf(sb, ", stopped by %s",
			    lch_signame(h->stop_sig[r]));
		lch_strbuf_addch(sb, '\n');
	}
}

static void stall_abort(struct head *h);

/* When the stall clock runs out (0: not armed). */
static long long
stall_at(const struct head *h)
{
	if (h->o->stall_timeout <= 0 || ending(h) || h->stall_fired ||
	    h->last_progress == 0 || h->nstarted < h->p->np ||
	    h->nended >= h->p->np)
		return 0;
	return h->last_progress + (long long)(h->o->stall_timeout * 1000);
}

/* No progress for --stall-timeout: the report, once per stall, and stacks. */
static void
stall_check(struct head *h, long long now)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	long long at = stall_at(h);
	char why[96];
	char *l, *nl;

	/* during a SIGUSR1's snapshot the stall waits for it to end */
	if (at == 0 || now < at || h->snap.active)
		return;
	h->stall_fired = 1;
	h->stall_stop = h->o->stall_abort;
	snprintf(why, sizeof(why), "a stall: no progress for %g s",
	    h->o->stall_timeout);
	stall_report(h, now, &sb);
	for (l = sb.buf; *l; l = nl + 1) {
		nl = strchr(l, '\n');
		say(h, "%.*s", (int)(nl - l), l);
	}
	start_snapshot(h, why);
	if (h->snap.active)
		lch_strbuf_add(&h->snap.report, sb.buf, sb.len);
	else if (h->stall_stop)
		stall_abort(h);
	lch_strbuf_release(&sb);
}

/* --stall-action abort, once the stacks are in: stop as at --timeout. */
static void
stall_abort(struct head *h)
{
	int i;

	h->stall_stop = 0;
	if (ending(h))
		return;
	h->timed_out = 1;
	flush_out(h);
	snprintf(h->limit_why, sizeof(h->limit_why), "no rank made progress "
	    "for %gs (--stall-action abort): stopping all %d ranks",
	    h->o->stall_timeout, h->p->np);
	say(h, "%s", h->limit_why);
	for (i = 0; i < h->p->np; i++)
		if (h->stop_sig[i])
			say_stopped(h, i, h->stop_pid[i], h->stop_sig[i], -1);
	stop_job(h);
}

/* The forensics' clocks: a stall, a snapshot complete. */
static void
check_forensics(struct head *h)
{
	long long now = (long long)mst_now_ms();

	/* our readers hold the ranks up (we read no records): no stall */
	if (out_full(h) && h->last_progress)
		h->last_progress = now;
	stall_check(h, now);
	if (lch_stacks_complete(&h->snap, now)) {
		finish_snapshot(h);
		if (h->stall_stop)
			stall_abort(h);
	}
}

static void
check_deadline(struct head *h)
{
	long long now = (long long)mst_now_ms();
	int i;

	elastic_tick(h);
	if (h->term_at && !h->stopping && now >= h->term_at)
		stop_job(h);
	if (h->kill_at && now >= h->kill_at && out_full(h) && !stalled(h))
		h->kill_at = now + STALL_MS;	/* agents wait for our readers */
	if (h->kill_at && now >= h->kill_at) {
		h->kill_at = 0;
		h->kill2_at = now + AGENT_SLACK_MS;
		kill_agents(h, 0);
	}
	if (h->kill2_at && now >= h->kill2_at) {
		h->kill2_at = 0;
		kill_agents(h, 1);
	}
	if (h->deadline == 0 || h->timed_out || (long long)mst_now_ms() < h->deadline)
		return;
	h->timed_out = 1;
	flush_out(h);
	msg_room();
	snprintf(h->limit_why, sizeof(h->limit_why), "time limit of %gs "
	    "reached: stopping all %d ranks", h->o->timeout, h->p->np);
	lch_msg("%s", h->limit_why);
	for (i = 0; i < h->p->np; i++)
		if (h->stop_sig[i])
			say_stopped(h, i, h->stop_pid[i], h->stop_sig[i],
			    -1);
	if (h->stopping)	/* a failure stop is already under way */
		return;
	stop_job(h);
}

/* Our stdout and stderr, at pfd[1] and pfd[2], while output waits. */
static void
poll_out(struct head *h, struct pollfd *pfd)
{
	int s;

	for (s = 0; s < 2; s++) {
		pfd[1 + s].fd = lch_outq_pending(&h->out[s]) ? h->out[s].fd : -1;
		pfd[1 + s].events = POLLOUT;
		pfd[1 + s].revents = 0;
	}
}

/* Reads the signal pipe: 1 if a signal other than SIGCHLD came. */
static int
signalled(int fd)
{
	unsigned char b[64];
	ssize_t n, i;
	int any = 0;

	while ((n = read(fd, b, sizeof(b))) > 0)
		for (i = 0; i < n; i++)
			any |= b[i] != SIGCHLD;
	return any;
}

/*
 * At the end, output still queued: wait for our readers, as any
 * program's write would, but give up on a signal, and when the job was
 * stopped (a time limit must end the job) once they took nothing for
 * STALL_MS.
 */
static void
drain_out(struct head *h)
{
	struct pollfd pfd[3];
	int t;

	out_close(h, 0);
	out_close(h, 1);
	for (flush_out(h); out_pending(h); flush_out(h)) {
		pfd[0].fd = h->sigfd[0];
		pfd[0].events = POLLIN;
		poll_out(h, pfd);
		t = ending(h) ? (int)(h->out_moved + STALL_MS -
		    (long long)mst_now_ms()) : -1;
		if (ending(h) && t <= 0)
			break;
		if (poll(pfd, 3, t) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents && signalled(h->sigfd[0]))
			break;
	}
}

/*
 * --launcher slurm (slurm.h): the agents run as the tasks of one srun
 * job step and connect back; until one says which node it is, a
 * connection waits in st->din.
 */
static struct agent_proc *
dial_node(struct head *h, const char *host)
{
	int i;

	for (i = 0; i < h->nag; i++)
		if (h->ag[i].dial && strcmp(h->ag[i].node->host, host) == 0)
			return &h->ag[i];
	return NULL;
}

/* Forgets dialled connection k; closes it unless keep. */
static void
dialin_drop(struct step *st, int k, int keep)
{
	if (!keep)
		close(st->din[k].fd);
	lch_strbuf_release(&st->din[k].rd);
	st->din[k] = st->din[--st->ndin];
}

static void
step_accept(struct head *h)
{
	struct step *st = &h->st;
	struct sockaddr_in sa;
	socklen_t len;
	struct dialin *d;
	char a[INET_ADDRSTRLEN];
	int fd;

	for (;;) {
		len = sizeof(sa);
		fd = accept4(st->listen_fd, (struct sockaddr *)&sa, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;	/* EAGAIN, or one that went away */
		if (st->ndin == st->din_cap) {
			st->din_cap = st->din_cap ? 2 * st->din_cap : 16;
			st->din = lch_xrealloc(st->din,
			    (size_t)st->din_cap * sizeof(*st->din));
		}
		d = &st->din[st->ndin++];
		d->fd = fd;
		lch_strbuf_init(&d->rd, 0);
		d->until = (long long)mst_now_ms() + LCH_DIAL_HELLO_MS;
		if (inet_ntop(AF_INET, &sa.sin_addr, a, sizeof(a)) == NULL)
			snprintf(a, sizeof(a), "?");
		snprintf(d->peer, sizeof(d->peer), "%s:%d", a,
		    ntohs(sa.sin_port));
	}
}

/* Connection k's first line: which node it is (slurm.h). */
static void
step_dialin(struct head *h, int k)
{
	struct step *st = &h->st;
	struct dialin *d = &st->din[k];
	char host[LCH_HOST_MAX + 1], err[160], peer[sizeof(d->peer)];
	struct agent_proc *a;
	ssize_t n;
	char *nl;
	int fd;

	n = lch_strbuf_read_once(&d->rd, d->fd, LCH_DIAL_LINE_MAX);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	nl = d->rd.len ? memchr(d->rd.buf, '\n', d->rd.len) : NULL;
	if (nl == NULL) {
		if (n > 0 && d->rd.len < LCH_DIAL_LINE_MAX)
			return;
		lch_msg("a connection from %s to the agents' port %s %s: "
		    "closed", d->peer, st->where, n > 0 ? "sent a first line "
		    "too long" : "ended before its first line");
		dialin_drop(st, k, 0);
		return;
	}
	if (lch_dial_check(d->rd.buf, (size_t)(nl - d->rd.buf), st->token,
	    host, sizeof(host), err, sizeof(err)) != 0) {
		lch_msg("a connection from %s to the agents' port %s: %s: "
		    "closed", d->peer, st->where, err);
		dialin_drop(st, k, 0);
		return;
	}
	if ((a = dial_node(h, host)) == NULL || a->dialled) {
		lch_msg("a connection from %s says it is node '%s', %s: "
		    "closed", d->peer, host, a ? "which is already connected"
		    : "not a node of this job");
		dialin_drop(st, k, 0);
		return;
	}
	fd = d->fd;
	memcpy(peer, d->peer, sizeof(peer));
	dialin_drop(st, k, 1);	/* d is another connection's now */
	a->dialled = 1;
	if (++st->ndialled == h->ndial)
		close_fd(&st->listen_fd);
	if (ending(h)) {	/* too late: it sees EOF and ends */
		close(fd);
		a->reaped = 1;
		return;
	}
	(void)fcntl(fd, F_SETFL, 0);	/* blocking, as a pipe, until the plan */
	a->in_fd = fd;
	a->out_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (a->out_fd < 0) {
		lch_msg("dup: %s", strerror(errno));
		close_fd(&a->in_fd);
		a->reaped = 1;
		stop_job(h);
		return;
	}
	if (h->o->verbose)
		lch_msg("node %d (%s): its agent connected from %s",
		    a->node->index, host, peer);
	send_hello(h, a);
}

/* Connections that did not say which node they are in time. */
static void
step_tick(struct head *h)
{
	struct step *st = &h->st;
	long long now = (long long)mst_now_ms();
	int k, live = 0, i;

	for (k = st->ndin - 1; k >= 0; k--)
		if (now >= st->din[k].until) {
			lch_msg("a connection from %s to the agents' port %s "
			    "said nothing for %d s: closed", st->din[k].peer,
			    st->where, LCH_DIAL_HELLO_MS / 1000);
			dialin_drop(st, k, 0);
		}
	if (st->pid <= 0 || st->reaped)
		return;
	for (i = 0; i < h->nag; i++)
		live += !h->ag[i].done;
	/* srun outlived its agents, or the job stopped before it started */
	if (live == 0 && st->stop_at == 0)
		st->stop_at = now + STEP_END_MS;
	if (st->stop_at && now >= st->stop_at) {
		kill(st->pid, st->stopped ? SIGKILL : SIGTERM);
		st->stopped = 1;
		st->stop_at = now + AGENT_SLACK_MS;
	}
}

/* Stops the step before its agents have their plans: nothing runs yet. */
static void
step_abort(struct head *h)
{
	struct step *st = &h->st;

	if (!h->slurm || h->planned || st->pid <= 0 || st->reaped ||
	    st->stopped)
		return;
	kill(st->pid, SIGTERM);	/* srun ends the step (its tasks SIGKILLed) */
	st->stopped = 1;
	st->stop_at = (long long)mst_now_ms() + AGENT_SLACK_MS;
}

/*
 * srun ended.  The nodes whose agents never connected are lost: the job
 * fails naming them, with srun's exit code.
 */
static void
step_ended(struct head *h)
{
	char missing[512] = "";
	size_t len = 0;
	int i, first = -1, n = 0;

	for (i = 0; i < h->nag; i++) {
		struct agent_proc *a = &h->ag[i];

		if (!a->dial || a->dialled || a->done)
			continue;
		a->reaped = a->done = 1;
		h->ns[a->node->index].lost = 1;
		gather_node_done(h, a->node->index);
		if (first < 0)
			first = i;
		if (n++ < 8 && len + strlen(a->node->host) + 8 < sizeof(missing))
			len += (size_t)snprintf(missing + len,
			    sizeof(missing) - len, "%s%s", n > 1 ? ", " : "",
			    a->node->host);
	}
	if (first < 0 || ending(h))
		return;
	if (n > 8)
		snprintf(missing + len, sizeof(missing) - len, " and %d more",
		    n - 8);
	host_failure(h, &h->ag[first], h->ag[first].node->index,
	    "the Slurm job step of the agents ended (srun: exit %d) before "
	    "%s connected%s", h->st.code, missing,
	    h->st.code == 0 ? "" : ": srun said why above");
	h->fail.code = h->st.code ? h->st.code : 255;
}

/*
 * Whether the failure so far is what a stop of the step from outside
 * (scancel, srun killed) does to the job before srun's words on it
 * arrive: a rank killed by SIGKILL or SIGTERM, or an agent's connection
 * lost.  Nothing yet counts too.
 */
static int
slurm_victim(const struct head *h)
{
	const struct failure *f = &h->fail;

	if (f->code == 0)
		return 1;
	if (f->kind == F_RANK)
		return f->code == 128 + SIGKILL || f->code == 128 + SIGTERM;
	return (f->kind == F_LOST || f->kind == F_SSH) && f->agent &&
	    f->agent->dial;
}

/* The cause, from Slurm, of a job that is ending: said instead. */
static void
step_blame(struct head *h, int code, const char *msg)
{
	if (h->timed_out || h->interrupted || !slurm_victim(h))
		return;
	memset(&h->fail, 0, sizeof(h->fail));
	host_failure(h, NULL, 0, "%s", msg);
	h->fail.code = code;
}

/* Whether line (n bytes) starts with s. */
static int
starts(const char *line, size_t n, const char *s)
{
	size_t k = strlen(s);

	return n >= k && memcmp(line, s, k) == 0;
}

/* Whether line holds s (n bytes, not '\0'-ended). */
static int
holds(const char *line, size_t n, const char *s)
{
	size_t k = strlen(s), i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(line + i, s, k) == 0)
			return 1;
	return 0;
}

/*
 * Whether srun's line says a task of the step failed on its own (an
 * agent that could not start: "execve(): ...", "task 0: Exited with exit
 * code 2"), or that srun is ending the step for it (kill-on-bad-exit:
 * "_step_signal: Terminating StepId=..."): a CANCELLED line that follows
 * is srun's doing, not scancel's.
 */
static int
step_bad_exit(const char *line, size_t n)
{
	return holds(line, n, "_step_signal: Terminating StepId") ||
	    holds(line, n, "execve(): ") ||
	    (starts(line, n, "srun: error: ") &&
	    holds(line, n, ": Exited with exit code ") &&
	    !holds(line, n, "exit code 143") && !holds(line, n, "exit code 137"));
}

/*
 * A line srun wrote: the agents' own messages, and srun's and
 * slurmstepd's.  "*** STEP 12.3 ON n1 CANCELLED AT ... ***": scancel, or
 * the allocation's end, stops the job (unless srun itself is ending the
 * step for a task that failed first: step_bad_exit).
 */
static void
step_line(struct head *h, const char *line, size_t n)
{
	int slurms = starts(line, n, "srun: ") ||
	    starts(line, n, "slurmstepd");

	if (slurms && step_bad_exit(line, n))
		h->st.bad_exit = 1;
	if (slurms && holds(line, n, " CANCELLED AT ") && !h->st.stopped &&
	    !h->st.bad_exit) {
		out_line(h, 1, line, n);
		step_blame(h, 128 + SIGTERM, "the Slurm job step of the agents "
		    "was cancelled (scancel, or the allocation ended): every "
		    "rank is stopped");
		return;
	}
	/* said on every launch where the cluster binds nothing (task/none):
	 * muster binds */
	if (slurms && holds(line, n, "lacks support for cpu binding") &&
	    !h->o->verbose)
		return;
	/* once the job stops, srun's and slurmstepd's words on it are noise
	 * (the step ends because muster ends it) */
	if (h->stopping && slurms && !h->o->verbose)
		return;
	out_line(h, 1, line, n);
}

static void
step_line_fn(struct head *h, void *arg, const char *line, size_t n)
{
	(void)arg;
	step_line(h, line, n);
}

static ssize_t
read_step(struct head *h)
{
	return read_lines(h, &h->st.err_fd, &h->st.rd, step_line_fn, NULL);
}

/*
 * Starts the step: listens, then runs srun with the token in its
 * environment.  -1 after a message.
 */
static int
start_step(struct head *h)
{
	struct step *st = &h->st;
	const char *addr = h->p->all_local ? "127.0.0.1" : h->p->head.addr;
	struct lch_strv argv = LCH_STRV_INIT;
	struct lch_env env;
	struct lch_srun_step step;
	const char **hosts;
	char err[256], **envp, *cmd;
	int p[1][2], e, port, i, rc = -1;

	if (!h->p->all_local && !h->p->have_head) {
		lch_msg("--launcher slurm: this host has no address toward the "
		    "nodes (%s): give --iface", h->p->head_err);
		return -1;
	}
	if ((st->listen_fd = lch_dial_listen(addr, &port, err,
	    sizeof(err))) < 0) {
		lch_msg("--launcher slurm: the agents' port: %s", err);
		return -1;
	}
	snprintf(st->where, sizeof(st->where), "%s:%d", addr, port);
	if (lch_dial_token(st->token) != 0) {
		lch_msg("getrandom: %s", strerror(errno));
		return -1;
	}
	hosts = lch_xcalloc((size_t)h->p->nnodes, sizeof(*hosts));
	for (i = 0; i < h->p->nnodes; i++)
		hosts[i] = h->p->nodes[i].host;
	memset(&step, 0, sizeof(step));
	step.s = h->o->slurm;
	step.hosts = hosts;
	step.nhosts = h->p->nnodes;
	step.muster = h->o->remote_muster ? h->o->remote_muster :
	    lch_self_exe();
	step.dial = st->where;
	lch_slurm_srun_argv(&step, &argv);
	memset(&env, 0, sizeof(env));
	lch_env_set(&env, LCH_DIAL_TOKEN_ENV, st->token);
	envp = lch_env_merge(environ, &env);
	if (h->o->verbose) {
		cmd = lch_sq_quote_argv((const char *const *)argv.v);
		lch_msg("the agents start in one Slurm job step, and connect "
		    "back to %s: %s", st->where, cmd);
		free(cmd);
	}
	if (lch_pipes(p, 1) != 0) {
		lch_msg("pipe: %s", strerror(errno));
		goto out;
	}
	{
		struct lch_spawn s;

		memset(&s, 0, sizeof(s));
		s.argv = argv.v;
		s.envp = envp;
		s.in_fd = -1;
		s.out_fd = s.err_fd = p[0][1];
		s.new_pgroup = 1;	/* the terminal's ^C reaches only us */
		s.deathsig = 0;	/* we gone, the agents see EOF and end */
		st->pid = lch_spawn_start(&s, &e);
	}
	close(p[0][1]);
	st->err_fd = p[0][0];
	/* non-blocking: srun's helper may hold the pipe after srun ends */
	(void)fcntl(st->err_fd, F_SETFL, O_NONBLOCK);
	if (st->pid < 0) {
		lch_msg("cannot run %s: %s", argv.v[0], strerror(e));
		st->pid = 0;
		goto out;
	}
	rc = 0;
out:
	free(envp);
	free(hosts);
	lch_env_clear(&env);
	lch_strv_clear(&argv);
	return rc;
}

/* The step's fds in the poll set; how many were added. */
static int
step_pollfds(struct head *h, struct pollfd *pfd)
{
	struct step *st = &h->st;
	int n = 0, k;

	if (!h->ndial)
		return 0;
	pfd[n++] = (struct pollfd){ st->listen_fd, POLLIN, 0 };
	pfd[n++] = (struct pollfd){ st->err_fd, POLLIN, 0 };
	for (k = 0; k < st->ndin; k++)
		pfd[n++] = (struct pollfd){ st->din[k].fd, POLLIN, 0 };
	return n;
}

/* What came on them (pfd as step_pollfds filled it, n of them). */
static void
step_events(struct head *h, const struct pollfd *pfd, int n)
{
	struct step *st = &h->st;
	int k;

	if (n == 0)
		return;
	if (pfd[1].revents && st->err_fd >= 0)
		read_step(h);
	/* from the last: step_dialin moves the last entry into k */
	for (k = n - 3; k >= 0; k--)
		if (pfd[2 + k].revents && k < st->ndin &&
		    st->din[k].fd == pfd[2 + k].fd)
			step_dialin(h, k);
	if (pfd[0].revents && st->listen_fd >= 0)
		step_accept(h);
}

/* Whether the step still holds the job: srun running, or its output. */
static int
step_live(const struct head *h)
{
	return h->slurm && h->st.pid > 0 &&
	    (!h->st.reaped || h->st.err_fd >= 0);
}

static void
step_release(struct head *h)
{
	struct step *st = &h->st;

	while (st->ndin > 0)
		dialin_drop(st, st->ndin - 1, 0);
	free(st->din);
	close_fd(&st->listen_fd);
	close_fd(&st->err_fd);
	lch_strbuf_release(&st->rd);
	if (st->pid > 0 && !st->reaped) {	/* should not be: stop it */
		kill(st->pid, SIGKILL);
		(void)waitpid(st->pid, NULL, 0);
	}
	memset(st, 0, sizeof(*st));
	st->listen_fd = st->err_fd = -1;
}

/*
 * --- hosts that joined with muster --join (join.h): their nodes dial
 * in as a Slurm step's do, through h->st's port and token ---
 */

/* Whether node i of the plan is a host that joined. */
static int
node_joined(const struct head *h, int i)
{
	return h->joins && !h->slurm &&
	    lch_joinsrv_find(h->joins, h->p->nodes[i].host) >= 0;
}

/* A joined host's node is lost: its joiner went away, or cannot be told. */
static void
joined_lost(struct head *h, struct agent_proc *a)
{
	int node = a->node->index, fd = a->out_fd >= 0 ? a->out_fd : a->in_fd;

	if (a->done || (a->reaped && !a->dialled))
		return;
	h->ns[node].lost = 1;	/* whatever its ranks say now */
	if (a->dialled && fd >= 0)	/* the agent sees EOF, and ends */
		(void)shutdown(fd, SHUT_RDWR);
	else if (!a->dialled)
		a->reaped = 1;
	host_failure(h, a, node, "host %s left the job (its muster --join "
	    "ended)", a->node->host);
}

/* The generation's joined hosts are told to start their agents. */
static void
join_start(struct head *h)
{
	struct step *st = &h->st;
	char err[256];
	int i, k, port = 0;

	if ((st->listen_fd = lch_dial_listen("0.0.0.0", &port, err,
	    sizeof(err))) < 0 || lch_dial_token(st->token) != 0) {
		lch_msg("the joined hosts' agents' port: %s", st->listen_fd < 0 ?
		    err : strerror(errno));
		close_fd(&st->listen_fd);
	}
	snprintf(st->where, sizeof(st->where), "%d", port);
	for (i = 0; i < h->nag; i++) {
		struct agent_proc *a = &h->ag[i];

		if (!a->dial)
			continue;
		k = lch_joinsrv_find(h->joins, a->node->host);
		if (st->listen_fd < 0 || lch_joinsrv_start(h->joins, k,
		    h->el->generation, st->token, port) != 0)
			joined_lost(h, a);
		else if (h->o->verbose)
			lch_msg("node %d (%s): its agent starts (muster --join) "
			    "and dials port %d", a->node->index, a->node->host,
			    port);
	}
}

/* join.h's admit: a host that joined is a spare of the elastic job. */
static int
join_admit(void *arg, const char *host, long slots, char *why, size_t len)
{
	struct head *h = arg;

	return lch_elastic_join(h->el, host, (int)slots, why, len);
}

/* join.h's left: joiner k's connection ended. */
static void
join_left(void *arg, int k)
{
	struct head *h = arg;
	const char *host = h->joins->j[k].host;
	int i;

	if (lch_elastic_lose_spare(h->el, host)) {
		lch_msg("host %s left (its muster --join ended): no longer a "
		    "spare", host);
		return;
	}
	for (i = 0; i < h->nag; i++)
		if (h->ag[i].dial && strcmp(h->ag[i].node->host, host) == 0)
			joined_lost(h, &h->ag[i]);
}

/* Answers not given in time; joined agents that will not dial in now. */
static void
join_tick(struct head *h)
{
	int i;

	if (h->joins == NULL)
		return;
	lch_joinsrv_tick(h->joins, (long long)mst_now_ms());
	if (!ending(h) || h->slurm)
		return;
	for (i = 0; i < h->nag; i++)
		if (h->ag[i].dial && !h->ag[i].dialled && !h->ag[i].reaped)
			h->ag[i].reaped = 1;	/* agent_done follows */
}

/*
 * The join port of an elastic job that has room (join.h): said once,
 * in run.json as "join".  Without a secret file or an address, none.
 */
static void
join_open(struct head *h, const struct lch_plan *p)
{
	char secret[LCH_JOIN_SECRET_MAX + 2], addr[64], err[300], *path;
	int rc, local;

	if (h->el == NULL || !lch_join_wanted(h->o))
		return;
	rc = lch_join_secret(h->o, lch_runrec_dir(h->rr), p->secret, secret,
	    sizeof(secret), &path);
	if (rc != 0) {
		if (rc > 0 && h->o->verbose)
			lch_msg("no run record and no --secret-file: hosts "
			    "cannot join with muster --join");
		free(path);
		return;
	}
	if ((local = lch_join_address(h->o, p->have_head && !p->all_local ?
	    p->head.addr : NULL, addr, sizeof(addr)) != 0))
		snprintf(addr, sizeof(addr), "127.0.0.1");
	h->joins = lch_xcalloc(1, sizeof(*h->joins));
	if (lch_joinsrv_open(h->joins, addr, secret, strlen(secret),
	    p->job_id, err, sizeof(err)) != 0) {
		lch_msg("--join's port: %s: hosts cannot join", err);
		free(h->joins);
		h->joins = NULL;
		free(path);
		return;
	}
	memset(secret, 0, sizeof(secret));
	h->joins->secret_path = path;
	h->joins->admit = join_admit;
	h->joins->left = join_left;
	h->joins->arg = h;
	if (h->cwd == NULL)	/* the joined hosts' agents enter it */
		h->cwd = getcwd(NULL, 0);
	lch_msg("hosts can join with: muster --join %s --secret-file %s%s",
	    h->joins->url, path, local ? " (this machine only: no address "
	    "other hosts reach, give --iface)" : "");
	lch_runrec_set(h->rr, "join", cJSON_CreateString(h->joins->url));
}

/* The job ended with code: the joiners are told, their port closed. */
static void
join_close(struct head *h, int code)
{
	if (h->joins == NULL)
		return;
	lch_joinsrv_end(h->joins, code);
	lch_joinsrv_close(h->joins);
	free(h->joins);
	h->joins = NULL;
}

/*
 * The progress line (progress.h), drawn only where the terminal is at
 * the start of a line with nothing waiting to go there.
 */
static void
progress_tick(struct head *h)
{
	int clear = h->eol[1] && lch_outq_pending(&h->out[1]) == 0 &&
	    (!h->pg.stdout_too || (h->eol[0] &&
	    lch_outq_pending(&h->out[0]) == 0));

	h->pg.nodes_up = h->nfacts;
	h->pg.running = h->nstarted - h->nended;
	lch_progress_tick(&h->pg, clear);
}

static void
loop(struct head *h)
{
	struct pollfd *pfd = NULL;
	struct agent_proc **who = NULL;
	size_t cap = 0, want;
	int n, i, live, full, ns, nj;

	for (;;) {
		want = (size_t)(3 + 2 * h->nag + (h->ndial ? 2 + h->st.ndin : 0) +
		    (h->joins ? lch_joinsrv_nfds(h->joins) : 0));
		if (want > cap) {
			cap = want + 16;
			pfd = lch_xrealloc(pfd, cap * sizeof(*pfd));
			who = lch_xrealloc(who, cap * sizeof(*who));
		}
		flush_out(h);
		(void)lch_metrics_flush(h->metrics);	/* nothing waits in poll */
		lch_runrec_flush(h->rr);
		progress_tick(h);
		check_forensics(h);
		check_deadline(h);
		flight_ask(h);
		if (h->ndial)
			step_tick(h);
		join_tick(h);
		n = 0;
		pfd[n].fd = h->sigfd[0];
		pfd[n++].events = POLLIN;
		poll_out(h, pfd);
		n += 2;
		live = 0;
		full = out_full(h) && !(ending(h) && stalled(h));
		beat_check(h, (long long)mst_now_ms(), !full);
		for (i = 0; i < h->nag; i++) {
			struct agent_proc *a = &h->ag[i];

			if (a->out_fd >= 0 && !full) {
				who[n] = a;
				pfd[n].fd = a->out_fd;
				pfd[n++].events = POLLIN;
			}
			if (a->err_fd >= 0) {
				who[n] = a;
				pfd[n].fd = a->err_fd;
				pfd[n++].events = POLLIN;
			}
			if (a->reaped && a->out_fd < 0 && a->err_fd < 0 &&
			    !a->done)
				agent_done(h, a);
			live += !a->reaped || a->out_fd >= 0 || a->err_fd >= 0;
		}
		live += step_live(h);
		if (live == 0)
			break;
		ns = step_pollfds(h, pfd + n);
		nj = h->joins ? lch_joinsrv_pollfds(h->joins, pfd + n + ns) : 0;
		for (i = 0; i < ns + nj; i++)
			pfd[n + i].revents = 0;
		if (poll(pfd, (nfds_t)(n + ns + nj), poll_timeout(h)) < 0 &&
		    errno != EINTR)
			break;
		/* reap without SIGCHLD's byte too: a lost or deferred
		 * signal (seen under ThreadSanitizer) never sends it */
		if (closed_unreaped(h))
			reap(h);
		for (i = 0; i < n; i++) {
			if (i == 1 || i == 2 ||
			    !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (i == 0)
				handle_signals(h);
			else if (pfd[i].fd == who[i]->out_fd ||
			    pfd[i].fd == who[i]->err_fd)
				read_agent(h, who[i],
				    pfd[i].fd == who[i]->out_fd ? 0 : 1);
		}
		step_events(h, pfd + n, ns);
		if (nj)
			lch_joinsrv_events(h->joins, pfd + n + ns, nj);
	}
	lch_runrec_flush(h->rr);
	lch_progress_hide(&h->pg);	/* until the next attempt's loop */
	drain_out(h);
	free(pfd);
	free(who);
}

/*
 * What an agent said before its facts, its own "muster: " cut (the
 * message says it), and the host's name when it starts with it.
 */
static const char *
said_text(const struct failure *f)
{
	const char *t = f->said;
	size_t hl = strlen(f->host);

	if (strncmp(t, "muster: ", 8) == 0)
		t += 8;
	if (strncmp(t, f->host, hl) == 0 && strncmp(t + hl, ": ", 2) == 0)
		t += hl + 2;
	return t;
}

/* Says why the attempt ended, keeping the line for the run record. */
static void
say_why(struct head *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void
say_why(struct head *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->why, sizeof(h->why), fmt, ap);
	va_end(ap);
	lch_msg("%s", h->why);
}

/*
 * One line for an agent that ended early, with what ssh said, or the
 * agent itself (exit 2: it could not take part, e.g. no such --iface
 * there; it says why).
 */
static void
agent_lost_msg(struct head *h, const struct failure *f)
{
	const struct lch_node *n = &h->p->nodes[f->node];
	const struct node_state *ns = &h->ns[f->node];
	const char *t = said_text(f);

	if (f->agent && f->agent->dial) {	/* its stderr: srun's, a joiner's */
		if (f->kind == F_SSH)
			say_why(h, "the agent of node %s (%s) ended before "
			    "its facts", f->host, h->slurm ? "Slurm job step" :
			    "muster --join");
		else
			say_why(h, "lost the agent of node %s (its connection "
			    "ended): %d of its %d ranks unaccounted for",
			    f->host, n->nprocs - ns->nended, n->nprocs);
		return;
	}
	if (f->kind == F_SSH && f->code == 2 && *t)
		say_why(h, "%s: %s%s%s", f->host, t,
		    strstr(t, "plan on stdin") ?
		    " (an older muster there? this one is " : "",
		    strstr(t, "plan on stdin") ? MUSTER_VERSION_STRING ")" : "");
	else if (f->kind == F_SSH && f->remote)
		say_why(h, "ssh to %s failed (exit %d)%s%s", f->host, f->code,
		    *t ? ": " : "", f->said);
	else if (f->kind == F_SSH)
		say_why(h, "the agent for %s ended before its facts (exit "
		    "%d)%s%s", f->host, f->code, *t ? ": " : "", f->said);
	else
		say_why(h, "lost the agent of host %s (%s exited with code "
		    "%d): %d of its %d ranks unaccounted for%s%s", f->host,
		    f->remote ? "ssh" : "agent", f->code,
		    n->nprocs - ns->nended, n->nprocs,
		    f->said[0] ? ": " : "", f->said);
}

/* "rank 2" or "ranks 2-3,5": the ranks set in v (np of them), into sb. */
static int
rank_list(struct lch_strbuf *sb, const unsigned char *v, int np)
{
	int r, e, n = 0, runs = 0;
	size_t at = sb->len;

	for (r = 0; r < np; r = e) {
		if (!v[r]) {
			e = r + 1;
			continue;
		}
		for (e = r; e < np && v[e]; e++)
			n++;
		if (runs++ == 8) {
			lch_strbuf_addf(sb, ",...");
			for (; e < np; e++)
				n += v[e] != 0;
			break;
		}
		lch_strbuf_addf(sb, "%s%d", runs > 1 ? "," : "", r);
		if (e - r > 1)
			lch_strbuf_addf(sb, "-%d", e - 1);
	}
	if (n) {	/* "rank" or "ranks" before the list */
		struct lch_strbuf t = LCH_STRBUF_INIT;

		lch_strbuf_addf(&t, "%s %s", n > 1 ? "ranks" : "rank",
		    sb->buf + at);
		lch_strbuf_setlen(sb, at);
		lch_strbuf_add(sb, t.buf, t.len);
		lch_strbuf_release(&t);
	}
	return n;
}

/*
 * After the first failed rank's line: its last stderr lines, as the
 * head received them, and the ranks that ended nonzero after it.
 */
static void
say_failure_context(struct head *h, const struct failure *f)
{
	struct tail *t = &h->tail[f->rank];
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	int i, n;

	if (t->part.len)	/* its last line had no newline */
		tail_add(h, f->rank, "", 0, 0);
	if (t->n > 0) {
		lch_msg("the last %d line%s of rank %d's stderr:", t->n,
		    t->n > 1 ? "s" : "", f->rank);
		for (i = 0; i < t->n; i++)
			lch_msg("    %s", t->line[(t->next - t->n + i +
			    TAIL_LINES) % TAIL_LINES]);
	}
	h->victim[f->rank] = 0;
	if ((n = rank_list(&sb, h->victim, h->p->np)) > 0)
		lch_msg("%s ended after rank %d failed: likely %s victim%s "
		    "(SIGTERM from muster, or lost %s peer)", sb.buf, f->rank,
		    "its", n > 1 ? "s" : "", n > 1 ? "their" : "its");
	lch_strbuf_release(&sb);
}

/*
 * Says what the first failure was (the line kept in h->why for the run
 * record); returns the job's exit code.
 */
static int
summarize_job(struct head *h)
{
	struct failure *f = &h->fail;
	int i;

	if (h->timed_out)
		return 124;
	if (h->broken[0] || h->broken[1])
		return 128 + SIGPIPE;
	if (f->code == 0) {
		for (i = 0; i < h->nag; i++)
			if (h->ag[i].code != 0 && h->planned) {
				say_why(h, "the agent for %s ended with code "
				    "%d", h->ag[i].node->host, h->ag[i].code);
				return h->ag[i].code;
			}
		return h->interrupted ? 128 + h->interrupted : 0;
	}
	if (f->kind == F_AGENT_SIG)
		say_why(h, "the %s of host %s (pid %d) was killed by %s: its "
		    "ranks are lost", f->agent->remote ? "ssh connection" :
		    "agent", f->host, f->pid, lch_signame(f->code - 128));
	else if (f->kind == F_SSH || f->kind == F_LOST)
		agent_lost_msg(h, f);
	else if (f->kind == F_HOST) {
		if (f->msg[0])
			say_why(h, "%s", f->msg);
	}
	else if (f->err && f->code == 2)
		say_why(h, "rank %d (host %s) was not started: its log cannot "
		    "be written (%s)", f->rank, f->host, strerror(f->err));
	else if (f->err)
		say_why(h, "rank %d (host %s): cannot run '%s': %s", f->rank,
		    f->host, h->p->argv[0], strerror(f->err));
	else if (f->code == 128 + SIGKILL && h->killed)
		say_why(h, "rank %d (host %s, pid %d) was killed by SIGKILL "
		    "(muster's, after the second %s)", f->rank, f->host, f->pid,
		    lch_signame(h->interrupted));
	else if (f->code == 128 + SIGKILL && h->interrupted)
		say_why(h, "rank %d (host %s, pid %d) was killed by SIGKILL "
		    "(muster's: still running %gs after %s, twice the --grace)",
		    f->rank, f->host, f->pid, 2 * h->o->grace,
		    lch_signame(h->interrupted));
	else if (f->code > 128)
		say_why(h, "rank %d (host %s, pid %d) was killed by %s%s",
		    f->rank, f->host, f->pid, lch_signame(f->code - 128),
		    f->code == 128 + SIGKILL ?
		    " (SIGKILL: often the kernel's OOM killer)" : "");
	else
		say_why(h, "rank %d (host %s, pid %d) exited with code %d",
		    f->rank, f->host, f->pid, f->code);
	if (f->kind == F_RANK)
		say_failure_context(h, f);
	if (f->kind == F_RANK && f->held >= 0)
		say_stopped(h, f->held, f->held_pid, f->held_sig,
		    f->rank);
	return f->code;
}

/* What could not be written; LCH_EXIT_IOERR where the job went well. */
static int
output_status(struct head *h, int code)
{
	unsigned long long lost;
	int s;

	for (s = 0; s < 2; s++) {
		lost = h->out[s].dropped + lch_outq_pending(&h->out[s]);
		if (lost && !h->broken[s] && !h->out_err[s])
			lch_msg("%llu bytes of the job's output were not "
			    "written to %s: it was not being read", lost,
			    s ? "stderr" : "stdout");
	}
	if (code == 0 && (h->out_err[0] || h->out_err[1] || h->log_err))
		return LCH_EXIT_IOERR;
	return code;
}

/* The exit code, with what went wrong said. */
static int
summarize(struct head *h)
{
	msg_room();
	return output_status(h, summarize_job(h));
}

/* The attempt's first failure, as summarize said it, for the run record. */
static void
record_failure(struct head *h, int code)
{
	const struct failure *f = &h->fail;
	int rank = f->code && (f->kind == F_RANK || f->kind == F_EXEC);

	if (h->why[0] == '\0' || h->timed_out)
		return;
	lch_runrec_failure(h->rr, rank ? f->rank : -1, f->code ? f->host :
	    NULL, rank ? f->pid : 0, f->code ? f->code : code, h->why);
}

/* Why the attempt ended, in the run record's attempts, or NULL. */
static const char *
attempt_why(struct head *h)
{
	if (h->timed_out)
		return h->limit_why;
	if (h->why[0])
		return h->why;
	if (h->broken[0] || h->broken[1])
		return h->broken[0] ? "muster's stdout was closed" :
		    "muster's stderr was closed";
	if (h->interrupted) {
		snprintf(h->why, sizeof(h->why), "canceled by %s",
		    lch_signame(h->interrupted));
		return h->why;
	}
	return NULL;
}

static void
release_agents(struct head *h)
{
	int i;

	for (i = 0; i < h->nag; i++) {
		struct agent_proc *a = &h->ag[i];

		if (a->in_fd >= 0)
			close(a->in_fd);
		if (a->out_fd >= 0)
			close(a->out_fd);
		if (a->err_fd >= 0)
			close(a->err_fd);
		lch_strbuf_release(&a->rd[0]);
		lch_strbuf_release(&a->rd[1]);
		free(a->nodes);
		cJSON_Delete(a->tree);
	}
	free(h->ag);
	h->ag = NULL;
}

static int
node_remote(const struct lch_node *n)
{
	return !n->local || getenv("MUSTER_FORCE_SSH") != NULL;
}

/* Connection a carries tree position p and everything below it. */
static void
add_subtree(struct head *h, struct agent_proc *a, const int *rem, int nrem,
	    int k, int p)
{
	long c, first = lch_tree_first(p, k);
	int up = lch_tree_parent(p, k);

	a->nodes[a->nnodes++] = rem[p];
	h->ns[rem[p]].conn = (int)(a - h->ag);
	h->ns[rem[p]].up = up < 0 ? -1 : rem[up];
	for (c = first; c < first + k && c < nrem; c++)
		add_subtree(h, a, rem, nrem, k, (int)c);
}

/*
 * The connections (relay.h): one per node of this machine, forked here,
 * and one per remote node at the top of the tree of --fanout, carrying
 * its subtree, which its HELLO's tree tells it to reach.
 */
static void
make_conns(struct head *h)
{
	struct lch_tree_ent *e = lch_xcalloc((size_t)h->p->nnodes, sizeof(*e));
	int *rem = lch_xcalloc((size_t)h->p->nnodes, sizeof(*rem));
	int i, nrem = 0, n = 0, k;

	if (h->slurm) {	/* one connection per node, each dials in */
		h->nag = h->p->nnodes;
		h->ag = lch_xcalloc((size_t)h->nag, sizeof(*h->ag));
		for (i = 0; i < h->nag; i++) {
			h->ns[i].up = -1;
			h->ns[i].conn = i;
			h->ag[i].node = &h->p->nodes[i];
			h->ag[i].nodes = lch_xcalloc(1, sizeof(int));
			h->ag[i].nodes[h->ag[i].nnodes++] = i;
			h->ag[i].remote = h->ag[i].dial = 1;
		}
		h->ndial = h->nag;
		free(e);
		free(rem);
		return;
	}
	h->ndial = 0;
	for (i = 0; i < h->p->nnodes; i++) {
		h->ns[i].up = -1;
		h->ndial += node_joined(h, i);
		if (!node_remote(&h->p->nodes[i]) || node_joined(h, i))
			continue;
		e[nrem] = (struct lch_tree_ent){ i, h->p->nodes[i].host,
		    h->p->nodes[i].want_ports };
		rem[nrem++] = i;
	}
	k = lch_tree_fanout(nrem, (int)h->o->fanout);
	h->nag = h->p->nnodes - nrem + (nrem < k ? nrem : k);
	h->ag = lch_xcalloc((size_t)h->nag, sizeof(*h->ag));
	for (i = 0; i < h->p->nnodes; i++) {
		if (node_remote(&h->p->nodes[i]) || node_joined(h, i))
			continue;
		h->ag[n].node = &h->p->nodes[i];
		h->ag[n].nodes = lch_xcalloc(1, sizeof(int));
		h->ag[n].nodes[h->ag[n].nnodes++] = i;
		h->ns[i].conn = n++;
	}
	for (i = 0; i < nrem && i < k; i++, n++) {
		h->ag[n].node = &h->p->nodes[rem[i]];
		h->ag[n].nodes = lch_xcalloc((size_t)lch_tree_size(i, k, nrem),
		    sizeof(int));
		add_subtree(h, &h->ag[n], rem, nrem, k, i);
		h->ag[n].tree = lch_tree_json(e, nrem, k, i);
	}
	for (i = 0; i < h->p->nnodes; i++)	/* joined (join.h): dial in */
		if (node_joined(h, i)) {
			h->ag[n].node = &h->p->nodes[i];
			h->ag[n].nodes = lch_xcalloc(1, sizeof(int));
			h->ag[n].nodes[h->ag[n].nnodes++] = i;
			h->ag[n].remote = h->ag[n].dial = 1;
			h->ns[i].conn = n++;
		}
	if (h->o->verbose && nrem > k)
		lch_msg("%d other hosts: %d reached from here, the rest through "
		    "them (--fanout %d)", nrem, k, k);
	free(e);
	free(rem);
}

/* One attempt of the whole job. */
static int
run_once(struct head *h)
{
	const char *self = lch_self_exe();
	int i, n, code;

	memset(&h->fail, 0, sizeof(h->fail));
	h->why[0] = h->limit_why[0] = '\0';
	h->nstarted = h->nended = h->nok = 0;
	h->stopping = h->timed_out = h->killed = 0;
	h->term_at = h->kill_at = h->kill2_at = 0;
	h->out_moved = (long long)mst_now_ms();
	h->broken[0] = h->broken[1] = 0;
	if (h->fl) {	/* this attempt's ranks (a generation may differ) */
		lch_flight_set_release(h->fl);
		lch_flight_set_init(h->fl, h->p->np);
		free(h->fl_done);
		h->fl_done = lch_xcalloc((size_t)h->p->np, sizeof(*h->fl_done));
	}
	h->stop_sig = lch_xcalloc((size_t)h->p->np, sizeof(*h->stop_sig));
	h->stop_pid = lch_xcalloc((size_t)h->p->np, sizeof(*h->stop_pid));
	h->broke = lch_xcalloc((size_t)h->p->np, 2);
	h->last_out = lch_xcalloc((size_t)h->p->np, sizeof(*h->last_out));
	h->rank_pid = lch_xcalloc((size_t)h->p->np, sizeof(*h->rank_pid));
	h->tail = lch_xcalloc((size_t)h->p->np, sizeof(*h->tail));
	h->victim = lch_xcalloc((size_t)h->p->np, 1);
	for (i = 0; i < h->p->np; i++)
		lch_strbuf_init(&h->tail[i].part, 0);
	h->last_progress = 0;
	h->stall_fired = h->stall_stop = 0;
	h->open[0] = h->open[1] = -1;
	h->ns = lch_xcalloc((size_t)h->p->nnodes, sizeof(*h->ns));
	free(h->gone);
	h->gone = lch_xcalloc((size_t)h->p->nnodes, 1);
	h->nfacts = h->planned = 0;
	elastic_arm(h);
	memset(&h->st, 0, sizeof(h->st));
	h->st.listen_fd = h->st.err_fd = -1;
	make_conns(h);
	for (i = 0; i < h->nag; i++) {
		h->ag[i].in_fd = h->ag[i].out_fd = h->ag[i].err_fd = -1;
		lch_strbuf_init(&h->ag[i].rd[0], 0);
		lch_strbuf_init(&h->ag[i].rd[1], 0);
	}
	if (h->slurm) {	/* the agents dial in: send_hello then */
		i = h->nag;
		if (start_step(h) != 0) {	/* said why */
			for (n = 0; n < h->nag; n++)
				h->ag[n].reaped = h->ag[n].done = 1;
			h->fail.kind = F_HOST;
			h->fail.code = 2;
			stop_job(h);
		}
	} else {
		for (i = 0; i < h->nag; i++)
			if (!h->ag[i].dial && start_agent(h, &h->ag[i],
			    self) != 0)
				break;
		for (n = 0; n < i; n++)
			send_hello(h, &h->ag[n]);	/* a dial's: once in */
		if (i == h->nag && h->ndial)
			join_start(h);
	}
	if (i < h->nag) {
		for (n = i + 1; n < h->nag; n++)	/* never started */
			h->ag[n].reaped = h->ag[n].done = 1;
		stop_job(h);
	}
	loop(h);
	elastic_note_gone(h);
	if (h->snap.active) {	/* the ranks ended first */
		finish_snapshot(h);
		drain_out(h);
	}
	lch_gather_rx_finish(h->gather);
	code = summarize(h);
	record_failure(h, code);
	release_agents(h);
	if (h->ndial || h->slurm)
		step_release(h);
	for (i = 0; i < h->p->nnodes; i++) {
		lch_facts_release(&h->ns[i].facts);
		h->p->nodes[i].ports = NULL;	/* they were the facts' */
	}
	free(h->ns);
	h->ns = NULL;
	free(h->stop_sig);
	free(h->stop_pid);
	free(h->broke);
	free(h->last_out);
	free(h->rank_pid);
	for (i = 0; i < h->p->np; i++) {
		for (n = 0; n < TAIL_LINES; n++)
			free(h->tail[i].line[n]);
		lch_strbuf_release(&h->tail[i].part);
	}
	free(h->tail);
	free(h->victim);
	return code;
}

/*
 * Program not found is exit 127 before anything starts (local runs); one
 * found in PATH but not executable (as execvp(3) sees it: a file without
 * x, a directory) is 126, said with the path.
 */
static int
check_program(const struct lch_plan *p)
{
	const char *prog = p->argv[0], *path = getenv("PATH");
	char buf[PATH_MAX], denied[PATH_MAX] = "";
	const char *dir, *end;
	int e = 0;

	if (!p->all_local)
		return 0;
	if (strchr(prog, '/')) {
		if (access(prog, X_OK) == 0)
			return 0;
		lch_msg("cannot run '%s': %s", prog, strerror(errno));
		return errno == ENOENT ? 127 : 126;
	}
	for (dir = path ? path : "/usr/bin:/bin"; ; dir = end + 1) {
		end = strchr(dir, ':');
		snprintf(buf, sizeof(buf), "%.*s/%s",
		    end ? (int)(end - dir) : (int)strlen(dir), dir, prog);
		if (access(buf, X_OK) == 0)
			return 0;
		if (errno != ENOENT && errno != ENOTDIR && denied[0] == '\0') {
			e = errno;
			snprintf(denied, sizeof(denied), "%s", buf);
		}
		if (end == NULL)
			break;
	}
	if (denied[0]) {
		lch_msg("cannot run '%s' (found as %s): %s", prog, denied,
		    strerror(e));
		return 126;
	}
	lch_msg("program '%s' not found in PATH", prog);
	return 127;
}

/* Creates dir and its parents with mode (umask applies); one there stays. */
static int
make_dirs(const char *dir, const char *what, mode_t mode)
{
	int e = lch_mkdirs(dir, mode);

	if (e != 0) {
		lch_msg("%s '%s': %s", what, dir, strerror(e));
		return -1;
	}
	return 0;
}

/* The receiver of the nodes' outputs, in the run record's outputs/. */
static struct lch_gather_rx *
gather_open(const char *run_dir, int nnodes)
{
	struct lch_gather_rx *rx;
	char *dir;

	if (run_dir == NULL)
		return NULL;
	dir = lch_xasprintf("%s/outputs", run_dir);
	rx = make_dirs(dir, "--run-dir", 0755) == 0 ?
	    lch_gather_rx_new(dir, nnodes) : NULL;
	free(dir);
	return rx;
}

/* What could not be gathered, one line; the list goes to run.json. */
static void
gather_close(struct head *h)
{
	char first[1200];
	int n;

	if (h->gather == NULL)
		return;
	if ((n = lch_gather_rx_errors(h->gather, first, sizeof(first))) > 0)
		lch_msg("outputs: %d %s not gathered: %s%s", n, n == 1 ?
		    "thing was" : "things were", first, n > 1 ?
		    " (and the others run.json lists)" : "");
	lch_runrec_set(h->rr, "outputs", lch_gather_rx_json(h->gather));
	lch_gather_rx_free(h->gather);
	h->gather = NULL;
}

/*
 * The metrics sink, the run record's metrics.jsonl; NULL without a
 * record, or (said why) when it cannot be made.
 */
static struct lch_metrics *
metrics_open(const char *run_dir)
{
	struct lch_metrics *m;
	char err[PATH_MAX + 128], *path;

	if (run_dir == NULL)
		return NULL;
	path = lch_xasprintf("%s/metrics.jsonl", run_dir);
	if ((m = lch_metrics_open(path, err, sizeof(err))) == NULL)
		lch_msg("%s: the job runs without a record of its metrics", err);
	free(path);
	return m;
}

/* The progress line's last metric: "loss 0.43 @ step 120", or NULL. */
static const char *
last_metric(void *arg)
{
	static char buf[320];
	const char *name;
	double v;
	long step;

	if (lch_metrics_last(arg, &name, &v, &step) != 0)
		return NULL;
	snprintf(buf, sizeof(buf), "%.64s %.4g @ step %ld", name, v, step);
	return buf;
}

/* The bad lines said; the summary goes to run.json's "metrics". */
static void
metrics_close(struct head *h)
{
	if (h->metrics == NULL)
		return;
	lch_metrics_report(h->metrics);
	lch_runrec_set(h->rr, "metrics", lch_metrics_json(h->metrics));
	lch_metrics_close(h->metrics);
	h->metrics = NULL;
}

int
lch_head_run(struct lch_opts *o)
{
	struct lch_plan plan;
	struct head h;
	struct lch_rdv rdv;
	struct lch_elastic el;
	int code, attempt, again;

	memset(&el, 0, sizeof(el));
	if (o->nodes_min) {
		lch_elastic_init(&el, o);
		if (lch_elastic_apply(&el, o) != 0) {
			lch_elastic_release(&el);
			return 2;
		}
	}
	if (lch_plan_build(&plan, o) != 0) {
		lch_elastic_release(&el);
		return 2;
	}
	/* every generation is the same job (elastic.h) */
	if (o->nodes_min && o->job_id == NULL)
		o->job_id = lch_xstrdup(plan.job_id);
	if (o->dry_run) {
		/* nothing contacted: the rules, and what is known here */
		(void)lch_plan_choose_head(&plan, o, 1);
		code = lch_plan_set_net(&plan, o, 1) != 0 ? 2 : 0;
		if (code == 0)
			lch_plan_print(&plan, 1);
		lch_plan_release(&plan);
		return code;
	}
	if (lch_plan_choose_head(&plan, o, 0) != 0) {
		code = 2;
		goto out_plan;
	}
	if (o->verbose && !plan.all_local && plan.have_head)
		lch_msg("this host: address %s on %s (%s%s): the rendezvous "
		    "and the agents use it", plan.head.addr, plan.head.ifname,
		    o->iface ? "--iface " : "route toward ",
		    o->iface ? o->iface : plan.toward);
	if ((code = check_program(&plan)) != 0)
		goto out_plan;
	if ((o->log_dir && make_dirs(o->log_dir, "--log-dir", 0700) != 0) ||
	    (o->output_dir &&
	    make_dirs(o->output_dir, "--output-dir", 0755) != 0)) {
		code = 2;
		goto out_plan;
	}
	if (lch_rdv_start(&rdv, o, &plan) != 0) {
		code = 2;
		goto out_plan;
	}
	if (o->mpi) {
		code = lch_mpi_run(o, &plan);
		goto out_rdv;
	}
	memset(&h, 0, sizeof(h));
	h.o = o;
	h.p = &plan;
	h.el = o->nodes_min ? &el : NULL;
	h.disc.fd = -1;
	h.beat_ms = beat_ms();
	lch_outq_init(&h.out[0], 1, 1);
	lch_outq_init(&h.out[1], 2, 1);
	/* the agents enter it: the config's source_directory, else for
	   other hosts this folder */
	if (o->cwd)
		h.cwd = lch_xstrdup(o->cwd);
	else if (!plan.all_local)
		h.cwd = getcwd(NULL, 0);
	h.slurm = o->launcher == LCH_LAUNCH_SLURM && o->slurm != NULL;
	if (h.slurm)
		lch_more_files(2 * plan.nnodes + 64);
	/* before the record's .lock says we are live: muster stacks may
	   send SIGUSR1 from then on */
	setup_signals(&h);
	h.rr = lch_runrec_open(o, &plan, NULL);	/* Starting */
	lch_progress_init(&h.pg, o->quiet, plan.nnodes, plan.np);
	h.eol[0] = h.eol[1] = 1;
	h.gather = gather_open(lch_runrec_dir(h.rr), plan.nnodes >
	    o->nodes_max ? plan.nnodes : (int)o->nodes_max);
	h.metrics = metrics_open(lch_runrec_dir(h.rr));
	if (h.rr) {	/* the run record keeps flight records */
		h.fl = lch_xcalloc(1, sizeof(*h.fl));
		lch_flight_set_init(h.fl, plan.np);
		h.fl_done = lch_xcalloc((size_t)plan.np, sizeof(*h.fl_done));
		h.fl_ask_ms = lch_flight_ask_ms();
		h.fl_print = h.fl_ask_ms != 0;
		/* --stall-timeout: fresh records, 4 a period (0.1 to 1 s) */
		if (!h.fl_print && o->stall_timeout > 0)
			h.fl_ask_ms = o->stall_timeout * 250 < 100 ? 100 :
			    o->stall_timeout * 250 > 1000 ? 1000 :
			    (long)(o->stall_timeout * 250);
	}
	if (h.metrics)
		lch_progress_set_metric(&h.pg, last_metric, h.metrics);
	/* the whole job's, over its restarts and generations (mpirun's
	   --timeout, Azure ML's max_run_duration_seconds) */
	h.deadline = o->timeout > 0 ?
	    (long long)mst_now_ms() + (long long)(o->timeout * 1000) : 0;
	join_open(&h, &plan);
	for (attempt = 0;; attempt++) {
		char n[16];

		snprintf(n, sizeof(n), "%d", attempt);
		lch_plan_setenv(&plan, "TORCHELASTIC_RESTART_COUNT", n);
		lch_plan_setenv(&plan, "MUSTER_GENERATION", n);
		lch_runrec_attempt(h.rr, attempt);
		code = run_once(&h);
		again = h.el ? elastic_again(&h, code) : !(code == 0 ||
		    h.timed_out || h.interrupted || h.broken[0] ||
		    h.broken[1] || attempt >= o->max_restarts);
		lch_runrec_attempt_end(h.rr, code, attempt_why(&h), again);
		if (!again)
			break;
		if (h.el && elastic_replan(&h, &plan, &rdv) != 0) {
			code = 2;
			break;
		}
		if (!h.el)
			lch_msg("restarting the job (%d of %ld)", attempt + 1,
			    o->max_restarts);
	}
	disc_stop(&h);
	join_close(&h, code);
	free(h.gone);
	lch_progress_end(&h.pg);
	flush_out(&h);
	gather_close(&h);
	metrics_close(&h);
	lch_runrec_finish(h.rr, lch_runrec_final(code, h.interrupted,
	    h.timed_out), code);
	lch_runrec_free(h.rr);
	if (h.fl) {
		lch_flight_set_release(h.fl);
		free(h.fl_done);
		free(h.fl);
	}
	close(h.sigfd[0]);
	close(h.sigfd[1]);
	lch_outq_release(&h.out[0]);
	lch_outq_release(&h.out[1]);
	free(h.cwd);
out_rdv:
	lch_rdv_stop(&rdv);
out_plan:
	lch_plan_release(&plan);
	lch_elastic_release(&el);
	return code;
}
