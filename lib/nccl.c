/*
 * nccl.c: GPU allreduce through NCCL (muster_allreduce_cuda).  Built when
 * nccl.h is found (MUSTER_HAVE_NCCL); libnccl.so.2 and libcudart are
 * dlopen'ed on first use, so libmuster has no link-time dependency on
 * CUDA and runs where it is absent.  The NCCL communicator is created on
 * the first call: rank 0 draws the ncclUniqueId and publishes it through
 * the communicator's bootstrap KV (the rendezvous), the others wait for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "comm.h"
#include "coll.h"
#include "health.h"

#ifdef MUSTER_HAVE_NCCL
#include <dlfcn.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <nccl.h>
#pragma GCC diagnostic pop

struct mst_nccl {
	void *hnccl, *hcudart;
	ncclResult_t (*get_unique_id)(ncclUniqueId *);
	ncclResult_t (*comm_init_rank)(ncclComm_t *, int, ncclUniqueId, int);
	ncclResult_t (*all_reduce)(const void *, void *, size_t,
	    ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t);
	ncclResult_t (*comm_destroy)(ncclComm_t);
	ncclResult_t (*comm_abort)(ncclComm_t);
	const char *(*nccl_error)(ncclResult_t);
	cudaError_t (*get_device_count)(int *);
	cudaError_t (*set_device)(int);
	const char *(*cuda_error)(cudaError_t);
	ncclComm_t comm;
	int device;
};

static void *
open_first(const char *const *names)
{
	void *h = NULL;

	for (; *names && h == NULL; names++)
		h = dlopen(*names, RTLD_NOW | RTLD_LOCAL);
	return h;
}

#define SYM(h, field, name) do { \
	*(void **)&n->field = dlsym(n->h, name); \
	if (n->field == NULL) { missing = name; goto bad; } \
} while (0)

/* Loads the two libraries and every entry point we use. */
static muster_result
nccl_load(muster_comm *c, struct mst_nccl *n)
{
	static const char *const nccls[] = { "libnccl.so.2", "libnccl.so",
		NULL };
	static const char *const cudarts[] = { "libcudart.so",
		"libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0",
		NULL };
	const char *missing;

	if ((n->hcudart = open_first(cudarts)) == NULL)
		return mst_fail(c, MUSTER_ENOTSUP, "CUDA runtime (libcudart.so) "
		    "not found: %s", dlerror());
	if ((n->hnccl = open_first(nccls)) == NULL)
		return mst_fail(c, MUSTER_ENOTSUP, "NCCL (libnccl.so.2) not "
		    "found: %s", dlerror());
	SYM(hnccl, get_unique_id, "ncclGetUniqueId");
	SYM(hnccl, comm_init_rank, "ncclCommInitRank");
	SYM(hnccl, all_reduce, "ncclAllReduce");
	SYM(hnccl, comm_destroy, "ncclCommDestroy");
	SYM(hnccl, comm_abort, "ncclCommAbort");
	SYM(hnccl, nccl_error, "ncclGetErrorString");
	SYM(hcudart, get_device_count, "cudaGetDeviceCount");
	SYM(hcudart, set_device, "cudaSetDevice");
	SYM(hcudart, cuda_error, "cudaGetErrorString");
	return MUSTER_OK;
bad:
	return mst_fail(c, MUSTER_ENOTSUP, "%s is missing from the NCCL/CUDA "
	    "libraries", missing);
}

/* Picks the device and shares the unique id through the bootstrap. */
static muster_result
nccl_comm(muster_comm *c, struct mst_nccl *n)
{
	char key[128];
	ncclUniqueId id;
	ncclResult_t nr;
	cudaError_t ce;
	int ndev = 0;
	muster_result rv;

	if ((ce = n->get_device_count(&ndev)) != cudaSuccess || ndev < 1)
		return mst_fail(c, MUSTER_ENOTSUP, "no CUDA device on this "
		    "host (cudaGetDeviceCount: %s)", ce != cudaSuccess ?
		    n->cuda_error(ce) : "0 devices");
	n->device = c->t.local_rank % ndev;
	if ((ce = n->set_device(n->device)) != cudaSuccess)
		return mst_fail(c, MUSTER_ENCCL, "cudaSetDevice(%d): %s",
		    n->device, n->cuda_error(ce));
	snprintf(key, sizeof(key), "%s/nccl-id", c->prefix);
	if (c->t.rank == 0) {
		if ((nr = n->get_unique_id(&id)) != ncclSuccess)
			return mst_fail(c, MUSTER_ENCCL, "ncclGetUniqueId: %s",
			    n->nccl_error(nr));
		if ((rv = c->boot.ops->kv_set(c->boot.ctx, key, &id,
		    sizeof(id), c->err, sizeof(c->err))) != MUSTER_OK)
			return rv;
	} else {
		void *v = NULL;
		size_t l = 0;
		if ((rv = c->boot.ops->kv_get(c->boot.ctx, key, &v, &l,
		    (int)(c->timeout * 1000), c->err, sizeof(c->err)))
		    != MUSTER_OK)
			return rv;
		if (l != sizeof(id)) {
			free(v);
			return mst_fail(c, MUSTER_EPEER, "rank 0 published a "
			    "%zu-byte ncclUniqueId", l);
		}
		memcpy(&id, v, sizeof(id));
		free(v);
	}
	if ((nr = n->comm_init_rank(&n->comm, c->t.size, id, c->t.rank))
	    != ncclSuccess)
		return mst_fail(c, MUSTER_ENCCL, "ncclCommInitRank: %s",
		    n->nccl_error(nr));
	return MUSTER_OK;
}

static void
nccl_close(struct mst_nccl *n)
{
	if (n->comm && n->comm_destroy)
		n->comm_destroy(n->comm);
	if (n->hnccl)
		dlclose(n->hnccl);
	if (n->hcudart)
		dlclose(n->hcudart);
	free(n);
}

static muster_result
nccl_get(muster_comm *c, struct mst_nccl **out)
{
	struct mst_nccl *n = c->nccl;
	muster_result rv;

	if (n != NULL) {
		*out = n;
		return MUSTER_OK;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return mst_fail(c, MUSTER_ENOMEM, "out of memory");
	if ((rv = nccl_load(c, n)) != MUSTER_OK ||
	    (rv = nccl_comm(c, n)) != MUSTER_OK) {
		n->comm = NULL;
		nccl_close(n);
		return rv;
	}
	c->nccl = n;
	*out = n;
	return MUSTER_OK;
}

static const ncclDataType_t nccl_types[] = {
	ncclInt8, ncclUint8, ncclInt32, ncclUint32, ncclInt64, ncclUint64,
	ncclFloat16, ncclBfloat16, ncclFloat32, ncclFloat64
};
static const ncclRedOp_t nccl_ops[] = {
	ncclSum, ncclProd, ncclMin, ncclMax, ncclAvg
};

muster_result
muster_allreduce_cuda(const void *sendbuf, void *recvbuf, size_t count,
		      muster_dtype dtype, muster_op op, muster_comm *comm,
		      void *stream)
{
	struct mst_nccl *n = NULL;
	ncclResult_t nr;
	muster_result rv;

	if ((rv = mst_usable(comm)) != MUSTER_OK ||
	    (rv = mst_check_args(comm, sendbuf, recvbuf, count, dtype, op))
	    != MUSTER_OK || (rv = nccl_get(comm, &n)) != MUSTER_OK)
		return rv;
	if (count == 0)
		return MUSTER_OK;
	nr = n->all_reduce(sendbuf, recvbuf, count, nccl_types[dtype],
	    nccl_ops[op], n->comm, (cudaStream_t)stream);
	if (nr != ncclSuccess)
		return mst_broken(comm, MUSTER_ENCCL, "ncclAllReduce: %s",
		    n->nccl_error(nr));
	return MUSTER_OK;
}

void
mst_nccl_abort(void *nccl)
{
	struct mst_nccl *n = nccl;

	if (n && n->comm) {
		n->comm_abort(n->comm);
		n->comm = NULL;
	}
}

void
mst_nccl_free(void *nccl)
{
	if (nccl)
		nccl_close(nccl);
}

#else /* !MUSTER_HAVE_NCCL */

muster_result
muster_allreduce_cuda(const void *sendbuf, void *recvbuf, size_t count,
		      muster_dtype dtype, muster_op op, muster_comm *comm,
		      void *stream)
{
	(void)sendbuf; (void)recvbuf; (void)count; (void)dtype; (void)op;
	(void)stream;
	return mst_fail(comm, MUSTER_ENOTSUP, "libmuster was built without "
	    "NCCL (nccl.h not found at build time)");
}

void
mst_nccl_abort(void *nccl)
{
	(void)nccl;
}

void
mst_nccl_free(void *nccl)
{
	(void)nccl;
}

#endif
