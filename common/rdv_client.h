/*
 * rdv_client.h: the rendezvous client (a ZeroMQ DEALER talking JSON to
 * musterd or to the server embedded in the launcher).  Private to muster,
 * not part of muster.h; compiled into each program that uses it (common/):
 * libmuster's bootstrap (lib/boot_rdv.c, lib/comm.c for the job secret),
 * the launcher's head (registers a job on a standalone musterd) and its
 * --mpi wrappers (job abort), musterd --status, and the test tools.
 * Agents do not use it: they talk to the head over pipes.
 *
 * Every call returns a muster_result (muster.h) and never blocks longer
 * than its deadline; on error mst_rdv_error() holds a one-line message.
 * One mst_rdv is used by one thread at a time.
 */
#ifndef MST_RDV_CLIENT_H
#define MST_RDV_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "muster.h"

typedef struct mst_rdv mst_rdv;

struct mst_rdv_opts {
	const char *endpoint;	/* "tcp://host:port" */
	const char *job;	/* job id */
	const char *secret;	/* the job's secret; never on a command line */
	const char *server_key;	/* CURVE public key (Z85) beyond loopback;
				 * NULL: $MUSTER_RDV_KEY if set; "": none */
	int timeout_ms;		/* deadline of one request (default 30000) */
	void *zmq_ctx;		/* share a zmq context, or NULL for an own one */
	const char *curve_secret; /* own CURVE secret key (Z85) instead of the
				   * one the job secret derives (musterd --status) */
	int no_keepalive;	/* 1: no heartbeat thread after join (or after
				 * create); the caller sends mst_rdv_heartbeat */
	const char *admin_secret; /* musterd's admin secret, for create; over
				   * CURVE the connection then uses the key it
				   * derives (mst_rdv_load_admin_secret) */
};

struct mst_rdv_member {
	int rank, size;
	int local_rank, local_size;
	int node_rank, num_nodes;
	uint64_t generation;
	int heartbeat_ms;	/* the server's: silent this long = dead */
};

/* Connects (lazily; the first request finds out whether a server is there). */
muster_result mst_rdv_open(mst_rdv **out, const struct mst_rdv_opts *o);

/*
 * Reads the job secret from $MUSTER_JOB_SECRET, else from the first line
 * of the file $MUSTER_JOB_SECRET_FILE names (never from a command line).
 */
muster_result mst_rdv_load_secret(char *buf, size_t n);

/*
 * musterd's admin secret, from the first line of the file
 * $MUSTER_ADMIN_SECRET_FILE names (never argv, never the environment
 * itself, which the ranks inherit).  MUSTER_ENOENV when it is unset.
 */
muster_result mst_rdv_load_admin_secret(char *buf, size_t n);

/*
 * Registers the job with its secret on a standalone musterd; needs
 * opts.admin_secret unless musterd runs --open.  The job's id stays taken
 * while the job lives: creating it again with the same secret is ok,
 * with another one fails with MUSTER_ESTATE and mst_rdv_code() "EEXIST".
 * Unless opts.no_keepalive, a thread then keeps the job alive (musterd
 * drops jobs nobody talks to, see musterd(8)).  The embedded server takes
 * rdv_server_add_job() instead: it refuses create.
 */
muster_result mst_rdv_create(mst_rdv *r);

/*
 * Joins the job as a "node" (an agent) or a "worker".  want_rank >= 0 asks
 * for that rank (the launcher already planned it), -1 lets the server assign
 * ranks ordered by host.  size is the number of members the job expects of
 * this kind; the call returns when all of them have joined.  host is the
 * grouping key for local and node ranks: virtual nodes on one machine
 * pass distinct names ("localhost/1").  Nodes and workers are separate
 * groups of one job; barriers are per group.
 */
muster_result mst_rdv_join(mst_rdv *r, const char *kind, const char *host,
			   int want_rank, int size, int wait_ms,
			   struct mst_rdv_member *out);

/*
 * After join, a thread heartbeats for the member (every heartbeat_ms / 4)
 * unless opts.no_keepalive; blocking calls also prove liveness.  A member
 * the server hears nothing from for heartbeat_ms aborts the job.
 */

/* The hosts of a complete group ("node" or "worker"), by rank; *hosts and
 * each string are malloc'ed (free with mst_rdv_peers_free). */
muster_result mst_rdv_peers(mst_rdv *r, const char *kind, char ***hosts,
			    int *n);
void          mst_rdv_peers_free(char **hosts, int n);

muster_result mst_rdv_kv_set(mst_rdv *r, const char *key, const void *val,
			     size_t len);
/* Waits on the server up to wait_ms for the key; *val is malloc'ed (and
 * NUL-terminated past len).  A key still missing: MUSTER_ETIMEDOUT. */
muster_result mst_rdv_kv_get(mst_rdv *r, const char *key, void **val,
			     size_t *len, int wait_ms);
muster_result mst_rdv_barrier(mst_rdv *r, const char *name, int wait_ms);
muster_result mst_rdv_heartbeat(mst_rdv *r);
/* error != 0 makes the server abort the job, with why as the reason. */
muster_result mst_rdv_leave(mst_rdv *r, int error, const char *why);
muster_result mst_rdv_abort(mst_rdv *r, const char *why);
/*
 * Non-blocking: MUSTER_EABORTED (and the reason in why) once the job
 * aborted; MUSTER_ERENDEZVOUS once the server is gone or restarted (the
 * keepalive thread notices within the request timeout).
 */
muster_result mst_rdv_poll_abort(mst_rdv *r, char *why, size_t n);
/* The server's status (jobs and members) as a malloc'ed JSON text;
 * served to loopback peers only. */
muster_result mst_rdv_status(mst_rdv *r, char **json);
/* Ends the job on the server: its state is dropped. */
muster_result mst_rdv_end(mst_rdv *r);
const char   *mst_rdv_error(const mst_rdv *r);
/* The server's code ("EAUTH", "EEXIST", ...) of the last error reply, or
 * "" when the last error was not a reply. */
const char   *mst_rdv_code(const mst_rdv *r);
void          mst_rdv_close(mst_rdv *r);

#endif /* MST_RDV_CLIENT_H */
