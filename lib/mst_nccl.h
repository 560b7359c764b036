/*
 * mst_nccl.h: the NCCL backend (nccl.c), behind muster_allreduce_cuda.
 * Private; named so as not to shadow <nccl.h>, which nccl.c wraps.
 *
 * The NCCL communicator is created on the first call: rank 0 draws the
 * ncclUniqueId and publishes it under the given key of the
 * communicator's bootstrap (the rendezvous), the others wait for it.  A
 * backend (backend.h): failures to load or create are MST_FAULT_LOCAL, a
 * failed ncclAllReduce is MST_FAULT_BROKEN.
 */
#ifndef MST_NCCL_H
#define MST_NCCL_H

#include <stddef.h>
#include "backend.h"
#include "boot.h"

struct mst_nccl;

/* What NCCL needs to know of the communicator. */
struct mst_nccl_job {
	int rank, size, local_rank;	/* local_rank picks the device */
	const struct mst_boot *boot;
	const char *key;		/* of the ncclUniqueId */
	int wait_ms;			/* for rank 0's id */
};

/* NULL, or why this build has no NCCL (every call is MUSTER_ENOTSUP). */
const char   *mst_nccl_missing(void);
/*
 * Allreduce of device buffers on stream; *np (NULL at first) holds the
 * NCCL state, created by the first call even for count 0.
 */
muster_result mst_nccl_allreduce(struct mst_nccl **np,
				 const struct mst_nccl_job *j,
				 const void *sendbuf, void *recvbuf,
				 size_t count, muster_dtype dt, muster_op op,
				 void *stream, struct mst_fault *f);
/* Aborts or frees the NCCL state (NULL is fine). */
void          mst_nccl_abort(struct mst_nccl *n);
void          mst_nccl_free(struct mst_nccl *n);

#endif /* MST_NCCL_H */
