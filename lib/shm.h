/*
 * shm.h: the shared-memory transport between the ranks of one node.
 *
 * One segment per node, created by local rank 0 as a memfd: it never
 * has a name in /dev/shm, so a rank killed at any point of the set-up
 * leaves nothing behind.  The others open it through /proc/PID/fd/FD
 * while the leader holds it open; the leader closes it as soon as every
 * local rank has mapped it (or one died first, or the deadline passed).  It holds one control line per rank (a sequence number that
 * is also a futex word) and, per rank, two staging slots (double
 * buffering: chunk g uses set g % 2), plus two shared output slots.
 * Ranks synchronize by each publishing a sequence number and waiting for
 * everyone's: bounded spin, then sched_yield, then futex sleep with a
 * short timeout that checks the deadline, the shared error word and
 * whether the awaited peer is still alive (pidfd).  A backend
 * (backend.h): it knows the node only through mst_shm_node.
 */
#ifndef MST_SHM_H
#define MST_SHM_H

#include <stdint.h>
#include "backend.h"

struct mst_shm;

/* The node as the segment sees it (copied at attach). */
struct mst_shm_node {
	int me, n;		/* my local rank; ranks on the node */
	int node;		/* node rank, for messages */
	int size;		/* ranks in the job (MUSTER_AVG) */
	const int *ranks;	/* [n]: global rank of each local rank */
	const int *pids;	/* [n]: its process */
	long oneshot;		/* largest one-shot bytes; < 0: by n (tune.h) */
};

/*
 * Leader: creates the segment for n ranks in chunks of slot bytes (a
 * multiple of 4096); name gets what the others open it by
 * ("memfd:PID:FD:COOKIE").
 */
muster_result mst_shm_create(struct mst_shm **out, int n, size_t slot,
			     char name[64], struct mst_fault *f);
/*
 * Everyone: maps it.  The leader passes the segment it created in *sp;
 * the others get theirs there (also on failure, for mst_shm_free).
 */
muster_result mst_shm_attach(struct mst_shm **sp, const char *name,
			     const struct mst_shm_node *nd, double deadline,
			     struct mst_fault *f);
void          mst_shm_free(struct mst_shm *s);

/*
 * The collectives.  A wait that fails names the local rank it waited
 * for (MST_FAULT_PEER: it died, or stalled past the deadline plus a
 * grace) or passes on the shared error word (MST_FAULT_BROKEN).
 */
/* Allreduce among the ranks of this node (the whole job on one node). */
muster_result mst_shm_allreduce(struct mst_shm *s, const void *sendbuf,
				void *recvbuf, size_t count, muster_dtype dt,
				muster_op op, struct mst_wait *w);
/* Reduces into acc (mst_acc_dtype elements) on the leader only. */
muster_result mst_shm_reduce_leader(struct mst_shm *s, const void *sendbuf,
				    void *acc, size_t count, muster_dtype dt,
				    muster_op op, struct mst_wait *w);
/* Copies local rank root's buf to every local rank's. */
muster_result mst_shm_bcast(struct mst_shm *s, void *buf, size_t bytes,
			    int root, struct mst_wait *w);
/*
 * Tells the other local ranks to stop waiting: code, naming rank (the
 * first error wins).  NULL is fine.
 */
void          mst_shm_poison(struct mst_shm *s, muster_result code,
			     int rank);

#endif /* MST_SHM_H */
