/*
 * comm.h: the communicator's insides, shared by the files of the
 * allreduce core (comm.c, shm.c, tcp.c, boot.c, nccl.c).  Private.
 *
 * Layout of a job: ranks on the same node (MUSTER_NODE_RANK) share one
 * shared-memory segment (shm.c); local rank 0 of each node is its leader,
 * and leaders form a TCP ring in node order (tcp.c).  An allreduce with
 * one node runs entirely in shared memory; with several it reduces in the
 * node (into float32 for the 16-bit floats), runs the ring between
 * leaders, and broadcasts the result in the node.
 */
#ifndef MST_COMM_H
#define MST_COMM_H

#include <stddef.h>
#include <stdint.h>
#include "muster.h"
#include "boot.h"
#include "err.h"

struct mst_topo {
	int rank, size;
	int local_rank, local_size;
	int node_rank, num_nodes;
};

/* Information every rank publishes at init. */
struct mst_peer {
	int32_t rank, local_rank, local_size, node_rank;
	int32_t pid;
	int32_t pad;
	uint64_t host;		/* hash of host name and boot id */
};

struct mst_shm;
struct mst_tcp;

struct muster_comm {
	struct mst_topo t;
	double timeout;		/* seconds, per operation */
	char prefix[64];	/* KV key prefix of this communicator */
	struct mst_peer *peers;	/* [size] */
	int *leaders;		/* [num_nodes]: global rank of each leader */
	int *local_ranks;	/* [local_size]: global rank of each local */
	struct mst_boot boot;
	struct mst_shm *shm;	/* local_size > 1 */
	struct mst_tcp *tcp;	/* leaders, num_nodes > 1 */
	int host_ranks;		/* ranks on this physical host */
	double spin_s, yield_s;	/* waiting: spin, then yield, then sleep */
	muster_result sticky;	/* once set, every call returns it */
	int aborted;
	int blamed;
	double next_job_check;
	void *acc;		/* hierarchical accumulator */
	size_t acc_cap;
	void *fuse;		/* group_end packing buffer */
	size_t fuse_cap;
	void *nccl;		/* nccl.c state */
	char err[MST_ERRLEN];
};

/* Like mst_fail, and remembers rv as the communicator's sticky error. */
muster_result mst_broken(muster_comm *c, muster_result rv, const char *fmt,
			 ...) __attribute__((format(printf, 3, 4)));

/*
 * A rank found that rank failed (code): tell the local ranks (shared
 * error word), the neighbours on the ring (closed sockets) and everyone
 * else (the bootstrap KV), once.
 */
void mst_blame(muster_comm *c, muster_result code, int rank);
/*
 * Called from slow waits: every 50 ms asks the bootstrap whether the job
 * was aborted (the rendezvous broadcasts it); MUSTER_EABORTED if so.
 */
muster_result mst_check_job(muster_comm *c, double now);
/* Looks up a blame another rank published, waiting up to wait_ms. */
int  mst_blamed(muster_comm *c, int wait_ms, muster_result *code, int *rank);

/* Creates a communicator over a bootstrap (takes the boot over). */
muster_result mst_comm_init_boot(muster_comm **out, struct mst_boot *boot,
				 const struct mst_topo *t, double timeout,
				 const char *job, const char *listen_host,
				 char *err, size_t errlen);

/* The allreduce engine (comm.c), for collectives built on it. */
muster_result mst_allreduce(muster_comm *c, const void *sendbuf,
			    void *recvbuf, size_t count, muster_dtype dt,
			    muster_op op);

/* Argument checks shared by the collectives (comm.c). */
muster_result mst_usable(muster_comm *c);
muster_result mst_check_args(muster_comm *c, const void *send,
			     const void *recv, size_t count, muster_dtype dt,
			     muster_op op);

/* nccl.c: aborts or frees the NCCL state of a communicator (NULL is fine). */
void mst_nccl_abort(void *nccl);
void mst_nccl_free(void *nccl);

#endif /* MST_COMM_H */
