/*
 * coll.h: argument checks of the collectives (coll.c).  Private.
 */
#ifndef MST_COLL_H
#define MST_COLL_H

#include <stddef.h>
#include "muster.h"

muster_result mst_check_args(muster_comm *c, const void *send,
			     const void *recv, size_t count, muster_dtype dt,
			     muster_op op);

#endif /* MST_COLL_H */
