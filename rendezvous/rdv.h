/*
 * rdv.h: the rendezvous server's state and its socket-free core.
 *
 * The core never touches a socket: it is handed one message at a time by
 * server.c (or by the fuzzer) and answers through core->send.  A message
 * flows one way: ops.c (the dispatcher) checks it and calls its handler,
 * core.c (jobs, members, KV, barriers, waiters) keeps the state, and
 * reply.c (reply.h) builds what goes out.  The core is single-threaded;
 * server.c serializes on core->lock so that rdv_server_add_job() may be
 * called from the launcher's thread.
 */
#ifndef RDV_RDV_H
#define RDV_RDV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "rdv_proto.h"

#define RDV_ID_MAX 64		/* longest ROUTER routing id we serve */
#define RDV_SIZE_MAX (1 << 20)	/* largest --max-job-size */
#define RDV_WAIT_MAX (24 * 3600 * 1000)

/*
 * What one server holds at most (musterd(8), LIMITS, says each).  A
 * request that would pass a limit gets ELIMIT and changes nothing.
 */
struct rdv_limits {
	int max_jobs;		/* jobs registered at once (1024) */
	int max_size;		/* declared size of one group (65536) */
	int max_members;	/* members of every job together (262144) */
	int max_keys;		/* KV keys of one job (65536) */
	size_t max_kv_bytes;	/* one job's keys, values, barrier names (16 MiB) */
	int max_waiters;	/* requests one job holds unanswered, beyond
				 * one join and one barrier per member (4096) */
	int job_expire_ms;	/* a job without a live member and without a
				 * request this long is dropped (60000;
				 * 0: never, the launcher's own job) */
};

/* Who may send "create". */
enum rdv_create { RDV_CREATE_NONE, RDV_CREATE_ADMIN, RDV_CREATE_OPEN };

struct rdv_id {
	uint8_t len;
	uint8_t b[RDV_ID_MAX];
};

/* An intrusive doubly-linked list (head is a sentinel). */
struct rdv_link {
	struct rdv_link *prev, *next;
};

enum rdv_kind { RDV_KIND_NODE, RDV_KIND_WORKER, RDV_KINDS };
enum rdv_wait { RDV_W_JOIN, RDV_W_GET, RDV_W_BARRIER };

struct rdv_job;

/* A request the server answers later (join, get, barrier). */
struct rdv_waiter {
	struct rdv_link all;	/* core->waiters: for deadlines */
	struct rdv_link on;	/* the object it waits on */
	enum rdv_wait type;
	struct rdv_job *job;
	struct rdv_member *m;	/* join and barrier */
	struct rdv_id to;
	double req_id;
	uint64_t deadline;
};

struct rdv_member {
	struct rdv_job *job;
	enum rdv_kind kind;
	size_t slot;		/* index in job->all (the "mid") */
	uint64_t token;
	uint64_t seq;		/* join order */
	struct rdv_id id;	/* where abort events go */
	char *host;
	int want, rank, local_rank, local_size, node_rank, num_nodes;
	uint64_t last_seen;
	int left;
	struct rdv_waiter *join_wait;
	struct rdv_barrier *in_barrier;
};

struct rdv_group {
	int size;		/* 0 until the first join */
	int joined, complete;
	uint64_t generation;
	/* both grow with the members who came, never to a declared size */
	struct rdv_member **m;	/* join order; by rank once complete */
	struct rdv_member **by_rank;	/* planned ranks; all once complete */
	int cap_m, cap_rank;
};

struct rdv_kv {
	struct rdv_kv *next;	/* hash chain */
	char *key, *val;	/* val NULL: only waiters so far */
	struct rdv_link waiters;
};

struct rdv_barrier {
	struct rdv_barrier *next;
	enum rdv_kind kind;
	char *name;
	int count;
	struct rdv_link waiters;
};

struct rdv_job {
	struct rdv_job *next;
	char *name;
	char *secret;
	size_t secret_len;
	char curve_pub[41];
	int aborted;
	char *why;
	struct rdv_group groups[RDV_KINDS];
	struct rdv_member **all;
	size_t nall, capall;
	struct rdv_kv **kv;
	size_t kv_buckets, kv_n;
	struct rdv_barrier *barriers;
	size_t kv_bytes;	/* keys, values, barrier names */
	int nwaiters;		/* get waiters (joins, barriers: per member) */
	int nmembers;
	uint64_t seq;
	uint64_t last_active;	/* last authenticated request */
};

typedef void (*rdv_send_fn)(void *arg, const struct rdv_id *to,
			    const char *buf, size_t len);

struct rdv_core {
	pthread_mutex_t lock;
	struct rdv_job *jobs;
	size_t njobs;
	struct rdv_link waiters;
	struct rdv_limits lim;
	int nmembers;		/* every job's */
	enum rdv_create create;
	char *admin_secret;	/* RDV_CREATE_ADMIN: what "create" must give */
	char admin_key_pub[41];	/* the CURVE key admin_secret derives */
	int heartbeat_ms;
	int verbose;
	uint64_t now;
	uint64_t sid;		/* this instance */
	char sid_str[24];
	rdv_send_fn send;
	void *send_arg;
	uint64_t next_hb_check;
	uint64_t next_deadline;	/* no waiter expires before this */
	int fake_clock;		/* the fuzzer moves now itself */
	char admin_pub[41];	/* CURVE key allowed every job (the server's) */
	unsigned long msgs, bad, expired;
	int authed;		/* the last request passed a job's secret */
};

/* core.c */
/* The limits musterd starts with unless told otherwise. */
void  rdv_limits_default(struct rdv_limits *l);
/* Default limits, no create op (rdv_core_set_admin changes that). */
int   rdv_core_init(struct rdv_core *c, int heartbeat_ms, int verbose,
		    rdv_send_fn send, void *arg);
/* mode RDV_CREATE_ADMIN needs secret; 0, or -1 without memory. */
int   rdv_core_set_create(struct rdv_core *c, enum rdv_create mode,
			  const char *secret);
void  rdv_core_release(struct rdv_core *c);
/* 1 when key (Z85) may connect over CURVE: a job's, the admin's, the
 * server's own; any key when jobs are open to all (RDV_CREATE_OPEN). */
int   rdv_core_key_known(struct rdv_core *c, const char *key);
/* Runs deadlines and heartbeat checks; returns ms until the next one. */
int   rdv_core_tick(struct rdv_core *c);
/* "node" or "worker", as the protocol spells kinds. */
const char *rdv_kind_name(enum rdv_kind kind);
void  rdv_log(struct rdv_core *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Unpredictable (libsodium's randombytes): tokens, the instance id. */
uint64_t rdv_random(void);

struct rdv_job *rdv_job_find(struct rdv_core *c, const char *name);
/* NULL without memory or past max_jobs (errno ENOMEM or ENOSPC). */
struct rdv_job *rdv_job_create(struct rdv_core *c, const char *name,
			       const char *secret);
void  rdv_job_abort(struct rdv_core *c, struct rdv_job *j, const char *why);
void  rdv_job_reset(struct rdv_core *c, struct rdv_job *j);
void  rdv_job_free(struct rdv_core *c, struct rdv_job *j);
void  rdv_job_unlink(struct rdv_core *c, struct rdv_job *j);

struct rdv_member *rdv_member_add(struct rdv_core *c, struct rdv_job *j,
				  enum rdv_kind kind, const char *host,
				  int want, const struct rdv_id *id);
void  rdv_member_remove(struct rdv_core *c, struct rdv_member *m);
struct rdv_member *rdv_member_find(struct rdv_job *j, const char *mid);
/* Assigns ranks once every member came; -1 without memory. */
int   rdv_group_assign(struct rdv_group *g);
struct rdv_member *rdv_group_planned(const struct rdv_group *g, int rank);

/* create: NULL without memory or past max_keys / max_kv_bytes. */
struct rdv_kv *rdv_kv_lookup(struct rdv_core *c, struct rdv_job *j,
			     const char *key, int create);
/* Sets e's value, accounting its bytes; -1 past max_kv_bytes or ENOMEM. */
int   rdv_kv_store(struct rdv_core *c, struct rdv_job *j, struct rdv_kv *e,
		   const char *val);
/* create: NULL without memory or past max_kv_bytes (errno). */
struct rdv_barrier *rdv_barrier_lookup(struct rdv_core *c, struct rdv_job *j,
				       enum rdv_kind kind, const char *name,
				       int create);

struct rdv_waiter *rdv_wait_add(struct rdv_core *c, enum rdv_wait type,
				struct rdv_job *j, struct rdv_link *on,
				const struct rdv_id *to, double req_id,
				int wait_ms);
void  rdv_wait_free(struct rdv_waiter *w);

/*
 * ops.c: the message dispatcher.  peer is the remote address or NULL; user
 * the CURVE public key (Z85) the connection proved, or NULL without CURVE:
 * then every job op must come over the key the job's secret derives.
 */
void  rdv_core_handle(struct rdv_core *c, const struct rdv_id *from,
		      const char *peer, const char *user, const char *data,
		      size_t len);

#endif /* RDV_RDV_H */
