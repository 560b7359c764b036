/*
 * group.h: groups (tensor fusion, group.c), per thread.  Private.
 *
 * muster_group_start opens a group on the calling thread; until
 * muster_group_end, muster_allreduce only checks its arguments and
 * queues the call here.  muster_group_end runs the queue in order,
 * fusing the calls of the same (comm, dtype, op) into allreduces of at
 * most 64 MiB (Horovod's fusion threshold), and returns the first error.
 */
#ifndef MST_GROUP_H
#define MST_GROUP_H

#include <stddef.h>
#include "muster.h"

/* Whether this thread has a group open. */
int           mst_group_open(void);
/* Queues an allreduce whose arguments were checked. */
muster_result mst_group_add(const void *send, void *recv, size_t count,
			    muster_dtype dt, muster_op op, muster_comm *c);

#endif /* MST_GROUP_H */
