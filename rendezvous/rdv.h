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
#define RDV_SIZE_MAX (1 << 20)	/* most members in a group */
#define RDV_WAIT_MAX (24 * 3600 * 1000)

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
	struct rdv_member **m;	/* join order; by rank once complete */
	struct rdv_member **by_rank;
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
	uint64_t seq;
};

typedef void (*rdv_send_fn)(void *arg, const struct rdv_id *to,
			    const char *buf, size_t len);

struct rdv_core {
	pthread_mutex_t lock;
	struct rdv_job *jobs;
	size_t njobs;
	struct rdv_link waiters;
	int heartbeat_ms;
	int verbose;
	uint64_t now;
	uint64_t sid;		/* this instance */
	char sid_str[24];
	uint64_t rng;
	rdv_send_fn send;
	void *send_arg;
	uint64_t next_hb_check;
	uint64_t next_deadline;	/* no waiter expires before this */
	int fake_clock;		/* the fuzzer moves now itself */
	char admin_pub[41];	/* CURVE key allowed every job (the server's) */
	unsigned long msgs, bad;
};

/* core.c */
int   rdv_core_init(struct rdv_core *c, int heartbeat_ms, int verbose,
		    rdv_send_fn send, void *arg);
void  rdv_core_release(struct rdv_core *c);
/* Runs deadlines and heartbeat checks; returns ms until the next one. */
int   rdv_core_tick(struct rdv_core *c);
/* "node" or "worker", as the protocol spells kinds. */
const char *rdv_kind_name(enum rdv_kind kind);
void  rdv_log(struct rdv_core *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t rdv_random(struct rdv_core *c);

struct rdv_job *rdv_job_find(struct rdv_core *c, const char *name);
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
void  rdv_group_assign(struct rdv_group *g);

struct rdv_kv *rdv_kv_lookup(struct rdv_core *c, struct rdv_job *j,
			     const char *key, int create);
struct rdv_barrier *rdv_barrier_lookup(struct rdv_job *j, enum rdv_kind kind,
				       const char *name, int create);

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
