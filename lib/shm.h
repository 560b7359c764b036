/*
 * shm.h: the shared-memory transport between the ranks of one node.
 *
 * One segment per node, created by local rank 0 (POSIX shm, unlinked as
 * soon as every local rank has mapped it, so a crash leaves nothing in
 * /dev/shm).  It holds one control line per rank (a sequence number that
 * is also a futex word) and, per rank, two staging slots (double
 * buffering: chunk g uses set g % 2), plus two shared output slots.
 * Ranks synchronize by each publishing a sequence number and waiting for
 * everyone's: bounded spin, then sched_yield, then futex sleep with a
 * short timeout that checks the deadline, the shared error word and
 * whether the awaited peer is still alive (pidfd).
 */
#ifndef MST_SHM_H
#define MST_SHM_H

#include "comm.h"

/* Leader: creates the segment; name gets its /dev/shm name. */
muster_result mst_shm_create(muster_comm *c, char name[64]);
/* Everyone: maps it (the leader's is already mapped). */
muster_result mst_shm_attach(muster_comm *c, const char *name,
			     double deadline);
void          mst_shm_free(struct mst_shm *s);

/* Allreduce among the ranks of this node (the whole job on one node). */
muster_result mst_shm_allreduce(muster_comm *c, const void *sendbuf,
				void *recvbuf, size_t count, muster_dtype dt,
				muster_op op, double deadline);
/* Reduces into acc (mst_acc_dtype elements) on the leader only. */
muster_result mst_shm_reduce_leader(muster_comm *c, const void *sendbuf,
				    void *acc, size_t count, muster_dtype dt,
				    muster_op op, double deadline);
/* Copies local rank root's buf to every local rank's. */
muster_result mst_shm_bcast(muster_comm *c, void *buf, size_t bytes,
			    int root, double deadline);
/* Tells the other local ranks to stop waiting: code, naming rank. */
void          mst_shm_poison(struct mst_shm *s, muster_result code,
			     int rank);

#endif /* MST_SHM_H */
