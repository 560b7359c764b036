/*
 * dispatch.h: the allreduce engine (dispatch.c), for the collectives
 * built on it (coll.c, group.c).  Private.
 *
 * An allreduce with one node runs entirely in shared memory (shm.h);
 * with several it reduces in the node (into float32 for the 16-bit
 * floats), runs the TCP ring between leaders (tcp.h), and broadcasts the
 * result in the node, in segments of 1 MiB.  Arguments are checked by
 * the caller.  The engine hands the backends a wait context (backend.h)
 * and reports their faults (health.h), so a failure leaves its text in
 * the communicator, and breaks it or blames a rank as the fault says.
 */
#ifndef MST_DISPATCH_H
#define MST_DISPATCH_H

#include <stddef.h>
#include "muster.h"

struct mst_desc;

/*
 * Allreduce of count elements under the communicator's timeout.  d says
 * what the user called (backend.h): unless MUSTER_CHECK_ARGS=0, every
 * rank compares it with the others' on the way, and a mismatch fails
 * the call on every rank with MUSTER_EINVAL naming it (and breaks the
 * communicator).  Count 0 and one rank return at once, unchecked.
 */
muster_result mst_allreduce(muster_comm *c, const void *sendbuf,
			    void *recvbuf, size_t count, muster_dtype dt,
			    muster_op op, const struct mst_desc *d);

/* Copies local rank root's buf to every rank of this node (d: as above). */
muster_result mst_node_bcast(muster_comm *c, void *buf, size_t bytes,
			     int root, const struct mst_desc *d);

/* A descriptor of one call (root only for a broadcast). */
struct mst_desc mst_desc_of(int kind, size_t count, muster_dtype dt,
			    muster_op op, int root);

/* Grows a scratch buffer to at least n bytes; -1 when out of memory. */
int mst_grow(void **buf, size_t *cap, size_t n);

#endif /* MST_DISPATCH_H */
