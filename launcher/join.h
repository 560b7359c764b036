/*
 * join.h: hosts that join an elastic job on their own (elastic.h):
 * `muster --join tcp://HOST:PORT` run on the new host.
 *
 * The head of an elastic job that runs on hosts (not virtual nodes, not
 * under --launcher slurm) and starts with fewer than MAX of them listens
 * for joins on a TCP port of every interface (as the embedded rendezvous
 * then does, embed.h), and says once on stderr where, with the address
 * other hosts reach it at (--iface's, else the route toward the other
 * hosts, else the first address that is no loopback one this host's name
 * resolves to):
 *
 *	muster: hosts can join with: muster --join tcp://ADDR:PORT
 *	    --secret-file RUN/secret
 *
 * run.json (runrec.h) holds it as "join" ("tcp://ADDR:PORT").  The secret
 * file is --secret-file F when given (read when it exists, else created
 * holding the job's secret, plan.h), else RUN/secret in the run record's
 * folder, created 0600 (O_EXCL, O_NOFOLLOW) with the job's secret.  No
 * run record (--no-record) and no --secret-file: no join port (-v says
 * so).
 *
 * The protocol: JSON lines of at most LCH_JOIN_LINE_MAX bytes.  The head
 * speaks first, on every connection:
 *
 *	{"muster":"join","v":1,"job":ID,"nonce":HEX64}
 *
 * the joiner answers within LCH_JOIN_HELLO_MS
 *
 *	{"join":1,"host":NAME,"slots":N,"mac":HEX64[,"job":ID]}
 *
 * NAME is lch_node_name() (dial.h), N its --slots (-1: not given, as a
 * host without slots), "job" its --job-id when given; the MAC is keyed
 * BLAKE2b-256 (libsodium's crypto_generichash) over
 * "muster-join/1\nNONCE\nNAME\nN\n" under the key BLAKE2b-256(secret)
 * (the secret: the file's first line).  The secret never travels; a fresh
 * nonce per connection makes an answer useless twice.  The head checks
 * the MAC in constant time, then the job and the name (a host that is a
 * node, a spare or lost already is refused), and replies
 *
 *	{"ok":1,"job":ID}	or	{"error":WHY}
 *
 * closing the connection after an error; both sides say WHY in one line
 * (the joiner exits 1).  After "ok" the connection stays open: the host
 * is a spare of the job.  When a generation takes it in (elastic_fill,
 * as a discovered host), the head sends
 *
 *	{"start":GENERATION,"token":T,"dial":"ADDR:PORT"}
 *
 * (ADDR: the head's own address on this connection) and the joiner runs
 * `muster --agent --dial ADDR:PORT` with MUSTER_AGENT_TOKEN=T, an agent
 * that dials in as a Slurm step's does (slurm.h): the head takes it as a
 * dial-in node.  Each generation that has the host starts a new agent.
 * When the job ends the head sends {"end":1,"code":N} and closes; the
 * joiner waits for its agent and exits N.  The control connection ending
 * (the joiner killed, Ctrl-C: it stops its agent first) loses the host
 * as any other: its node is lost, the host never used again.
 *
 * NAME is the node's host in the plan, as -H's are: it must resolve at
 * the head (the plan routes toward it; names are not looked up while the
 * job runs, as a lookup there would hold the head's loop), else the
 * generation that takes it in has no route toward it.  A joiner under
 * another name sets SLURMD_NODENAME (lch_node_name).
 */
#ifndef LCH_JOIN_H
#define LCH_JOIN_H

#include <poll.h>
#include <stddef.h>

#include "hosts.h"
#include "strbuf.h"

#define LCH_JOIN_LINE_MAX 1024
#define LCH_JOIN_HELLO_MS 10000	/* the joiner's answer, after the nonce */
#define LCH_JOIN_SECRET_MAX 512	/* bytes of a secret file's line */
#define LCH_JOIN_KEY_LEN 32
#define LCH_JOIN_SECRET_ENV "MUSTER_SECRET_FILE"

/* --- the pure parts (tests/unit/join_test.c) --- */

/*
 * "tcp://HOST:PORT" (tcp:// may be left out) into host and port: 0, or -1
 * with err saying what was expected.
 */
int  lch_join_url(const char *url, char *host, size_t hostlen, long *port,
		  char *err, size_t errlen);
/* The key of a secret (its text, n bytes). */
void lch_join_key(const char *secret, size_t n,
		  unsigned char key[LCH_JOIN_KEY_LEN]);
/* The MAC (64 hex digits and '\0') of a nonce, host and slots. */
void lch_join_mac(const unsigned char key[LCH_JOIN_KEY_LEN],
		  const char *nonce, const char *host, long slots,
		  char mac[65]);
/* The joiner's answer line (malloc'ed, no newline); job may be NULL. */
char *lch_join_answer(const unsigned char key[LCH_JOIN_KEY_LEN],
		      const char *nonce, const char *host, long slots,
		      const char *job);
/*
 * Checks a joiner's answer (n bytes, no newline) to nonce for job: 0 with
 * host (hostlen bytes) and *slots set, or -1 with why in err (a malformed
 * line, a wrong secret, another job).
 */
int  lch_join_check(const char *line, size_t n,
		    const unsigned char key[LCH_JOIN_KEY_LEN],
		    const char *nonce, const char *job, char *host,
		    size_t hostlen, long *slots, char *err, size_t errlen);

/* A line from the head, as the joiner reads it. */
enum lch_join_kind {
	LCH_JOIN_NONCE = 1, LCH_JOIN_OK, LCH_JOIN_ERROR, LCH_JOIN_START,
	LCH_JOIN_END
};
struct lch_join_msg {
	enum lch_join_kind kind;
	char nonce[65];		/* NONCE */
	char job[64];		/* NONCE, OK */
	char why[256];		/* ERROR */
	long generation;	/* START */
	char token[64];		/* START */
	char dial[64];		/* START: ADDR:PORT */
	int code;		/* END */
};
/* Parses one (n bytes, no newline): 0, or -1 with err. */
int  lch_join_parse(const char *line, size_t n, struct lch_join_msg *m,
		    char *err, size_t errlen);

/*
 * A secret file's first line (its newline cut) into buf: its length, or
 * -1 with err (missing, unreadable, empty, longer than
 * LCH_JOIN_SECRET_MAX).
 */
int  lch_join_secret_read(const char *path, char *buf, size_t len, char *err,
			  size_t errlen);
/* Creates path (0600, O_EXCL, O_NOFOLLOW) holding secret: 0, or -1 with err. */
int  lch_join_secret_write(const char *path, const char *secret, char *err,
			   size_t errlen);

/* --- the head's side: the join port and the hosts that joined --- */

struct lch_join_pend {		/* a connection not answered yet */
	int fd;
	char nonce[65];
	struct lch_strbuf rd;
	long long until;
	char peer[64];
};

struct lch_joiner {		/* a host that joined */
	int fd;			/* its control connection, -1: ended */
	char host[LCH_HOST_MAX + 1];
	long slots;
	char local[64];		/* our address on it: where its agent dials */
	char peer[64];
};

struct lch_joinsrv {
	int listen_fd;
	char url[96];		/* tcp://ADDR:PORT */
	char *secret_path;
	unsigned char key[LCH_JOIN_KEY_LEN];
	char job[64];
	struct lch_join_pend *pend;
	int npend;
	struct lch_joiner *j;
	int nj;
	/*
	 * admit: whether host may join (0), else -1 with why; left: joiner
	 * k's connection ended (after "ok").
	 */
	int (*admit)(void *arg, const char *host, long slots, char *why,
		     size_t len);
	void (*left)(void *arg, int k);
	void *arg;
};

/*
 * Listens on every interface at a free port, advertised as adv (an IPv4
 * address); the key from secret (n bytes).  0, or -1 with err.
 */
int  lch_joinsrv_open(struct lch_joinsrv *s, const char *adv,
		      const char *secret, size_t n, const char *job,
		      char *err, size_t errlen);
void lch_joinsrv_close(struct lch_joinsrv *s);
/* How many pollfds lch_joinsrv_pollfds may fill. */
int  lch_joinsrv_nfds(const struct lch_joinsrv *s);
int  lch_joinsrv_pollfds(const struct lch_joinsrv *s, struct pollfd *pfd);
/* What came on them (pfd, n as filled); then the answers' deadlines. */
void lch_joinsrv_events(struct lch_joinsrv *s, const struct pollfd *pfd,
			int n);
void lch_joinsrv_tick(struct lch_joinsrv *s, long long now);
/* The next deadline (ms since the epoch of mst_now_ms), or 0: none. */
long long lch_joinsrv_wake(const struct lch_joinsrv *s);
/* The joiner of host (connection still open or not), or -1. */
int  lch_joinsrv_find(const struct lch_joinsrv *s, const char *host);
/* Sends joiner k its start line: 0, or -1 (its connection ended). */
int  lch_joinsrv_start(struct lch_joinsrv *s, int k, int generation,
		       const char *token, int port);
/* The job ended with code: every joiner told, every connection closed. */
void lch_joinsrv_end(struct lch_joinsrv *s, int code);

struct lch_opts;
/* Whether the job o (lch_opts_finish'ed, first hosts set) takes joins. */
int  lch_join_wanted(const struct lch_opts *o);
/*
 * The address to advertise: --iface's, else head (the plan's, NULL when
 * all local) unless a loopback one, else the first address that is no
 * loopback one the host name resolves to: 0, or -1 (none).
 */
int  lch_join_address(const struct lch_opts *o, const char *head,
		      char *addr, size_t len);
/*
 * The join secret into secret (len bytes), its file's path into *path
 * (malloc'ed): --secret-file read when it exists, else created with
 * job_secret, as is run_dir/secret without it.  0, 1 when there is no
 * file to use (no --secret-file, no run_dir), -1 after a message.
 */
int  lch_join_secret(const struct lch_opts *o, const char *run_dir,
		     const char *job_secret, char *secret, size_t len,
		     char **path);

/* --- the joiner: muster --join URL [--secret-file F] [--slots N] --- */

/* Its exit code: the job's, 1 when refused or the head went away. */
int  lch_join_main(const struct lch_opts *o);

#endif /* LCH_JOIN_H */
