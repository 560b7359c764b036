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

/* nccl.c: aborts or frees the NCCL state of a communicator (NULL is fine). */
void mst_nccl_abort(void *nccl);
void mst_nccl_free(void *nccl);

#endif /* MST_COMM_H */
