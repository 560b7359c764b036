/*
 * health.h: what a failure does to a communicator (health.c).  Private.
 *
 * A communicator is usable until it is aborted or broken.  Broken means
 * a collective failed in a way that leaves the ranks out of step: the
 * code is remembered (sticky), every later call returns it, and a leader
 * shuts its ring sockets so its neighbours stop waiting.  When a rank
 * finds that another rank failed, it blames that rank once: it publishes
 * "code rank" under the communicator's "failed" key in the bootstrap KV,
 * writes it into the node's shared error word and shuts its ring
 * sockets, so every other rank stops waiting at once and names the same
 * culprit.
 *
 * The backends never do any of this themselves: they report a fault
 * (backend.h) and their caller passes it to mst_fault_report.
 */
#ifndef MST_HEALTH_H
#define MST_HEALTH_H

#include "backend.h"
#include "muster.h"

/* MUSTER_OK, or why the communicator cannot be used (its error text). */
muster_result mst_usable(muster_comm *c);

/*
 * A rank found that rank failed (code): tell the local ranks (shared
 * error word), the neighbours on the ring (closed sockets) and everyone
 * else (the bootstrap KV), once.
 */
void mst_blame(muster_comm *c, muster_result code, int rank);

/*
 * A wait context for one collective of c ending at deadline: c's waiting
 * policy, and a check that every 50 ms asks the bootstrap whether the
 * job was aborted (the rendezvous broadcasts it; the local ranks are
 * told through the shared error word at once).
 */
void mst_wait_init(struct mst_wait *w, muster_comm *c, double deadline);

/*
 * Acts on a backend's fault and returns its code: LOCAL sets the error
 * text; BROKEN also makes it sticky; PEER first blames f->rank; RELAY
 * waits up to 50 ms for a blame another rank published and blames that
 * rank instead (else f->rank, with the code it was published with);
 * MISMATCH publishes its sentence under the communicator's "mismatch"
 * key, then blames f->rank with MUSTER_EINVAL.  A failure that ends in
 * MUSTER_EINVAL another rank published takes that sentence as its text.
 */
muster_result mst_fault_report(muster_comm *c, const struct mst_fault *f);

#endif /* MST_HEALTH_H */
