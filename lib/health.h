/*
 * health.h: what a failure does to a communicator (health.c).  Private.
 *
 * A communicator is usable until it is aborted or broken.  Broken means
 * a collective failed in a way that leaves the ranks out of step: the
 * code is remembered (sticky) and every later call returns it.  When a
 * rank finds that another rank failed, it blames that rank once: it
 * publishes "code rank" in the bootstrap KV, writes it into the node's
 * shared error word and shuts its ring sockets, so every other rank stops
 * waiting at once and names the same culprit.
 */
#ifndef MST_HEALTH_H
#define MST_HEALTH_H

#include "muster.h"

/* MUSTER_OK, or why the communicator cannot be used (its error text). */
muster_result mst_usable(muster_comm *c);

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

#endif /* MST_HEALTH_H */
