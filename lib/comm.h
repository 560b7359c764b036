/*
 * comm.h: the communicator's insides (struct muster_comm), for the core
 * files that own its parts.  Private; the backends (shm.c, tcp.c,
 * nccl.c) never see it (backend.h).
 *
 * Layout of a job: ranks on the same node (MUSTER_NODE_RANK) share one
 * shared-memory segment (shm.h); local rank 0 of each node is its leader,
 * and leaders form a TCP ring in node order (tcp.h).  An allreduce with
 * one node runs entirely in shared memory; with several it reduces in the
 * node (into float32 for the 16-bit floats), runs the ring between
 * leaders, and broadcasts the result in the node (dispatch.h).
 *
 * The core's files, each with its part of the struct, and its header
 * where others call it:
 *   err.c         the error text (err); the clock is common/clock.c
 *   init.c        life cycle and environment: topology, peers, layout,
 *                 waiting policy, the transports' setup, abort, destroy
 *   health.c      the sticky error, blaming a rank, the job-abort check
 *   boot.c        the bootstrap KV the ranks meet through (boot_rdv.c:
 *                 over the rendezvous)
 *   dispatch.c    the allreduce engine (acc)
 *   group.c       tensor fusion (fuse)
 *   coll.c        the public collectives; device buffers via nccl.c
 *   flightrec.c   the flight record of the collectives (flight_id,
 *                 flight_seq; flightrec.h)
 *   strerror.c    the fixed strings
 * The backends: shm.c, tcp.c, nccl.c; the kernels: reduce.c.
 */
#ifndef MST_COMM_H
#define MST_COMM_H

#include <stddef.h>
#include <stdint.h>
#include "muster.h"
#include "boot.h"
#include "err.h"
#include "tune.h"

struct mst_topo {
	int rank, size;
	int local_rank, local_size;
	int node_rank, num_nodes;
};

/* This rank checks the collectives' arguments (MUSTER_CHECK_ARGS). */
#define MST_PEER_CHECK_ARGS 1

/* Information every rank publishes at init. */
struct mst_peer {
	int32_t rank, local_rank, local_size, node_rank;
	int32_t pid;
	int32_t flags;		/* MST_PEER_CHECK_ARGS */
	uint64_t host;		/* hash of host name and boot id */
};

struct mst_shm;
struct mst_tcp;
struct mst_nccl;

struct muster_comm {
	/* set at init (init.c) */
	struct mst_topo t;
	double timeout;		/* seconds, per operation */
	char prefix[64];	/* KV key prefix of this communicator */
	uint32_t flight_id;	/* the process's how-manieth (flightrec.h) */
	uint64_t flight_seq;	/* collectives called on it so far */
	struct mst_peer *peers;	/* [size] */
	int *leaders;		/* [num_nodes]: global rank of each leader */
	int *local_ranks;	/* [local_size]: global rank of each local */
	struct mst_boot boot;
	struct mst_shm *shm;	/* local_size > 1 */
	struct mst_tcp *tcp;	/* leaders, num_nodes > 1 */
	int host_ranks;		/* ranks on this physical host */
	struct mst_tune tune;	/* the environment's knobs (tune.h) */
	double spin_s, yield_s;	/* waiting: spin, then yield, then sleep */
	int check_args;		/* compare the collectives' arguments: rank
				 * 0's MUSTER_CHECK_ARGS, so all agree */
	/* health (health.c) */
	muster_result sticky;	/* once set, every call returns it */
	int aborted;		/* muster_comm_abort was called */
	int blamed;		/* this rank published a blame */
	double next_job_check;
	/* scratch (dispatch.c, group.c) */
	void *acc;		/* hierarchical accumulator */
	size_t acc_cap;
	void *fuse;		/* group_end packing buffer */
	size_t fuse_cap;
	struct mst_nccl *nccl;	/* made by the first CUDA call */
	char err[MST_ERRLEN];
};

#endif /* MST_COMM_H */
