/*
 * nccl.c: the NCCL backend (see mst_nccl.h).  Built when nccl.h is found
 * (MUSTER_HAVE_NCCL); libnccl.so.2 and libcudart are dlopen'ed on first
 * use, so libmuster has no link-time dependency on CUDA and runs where it
 * is absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mst_nccl.h"

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
nccl_load(struct mst_nccl *n, struct mst_fault *f)
{
	static const char *const nccls[] = { "libnccl.so.2", "libnccl.so",
		NULL };
	static const char *const cudarts[] = { "libcudart.so",
		"libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0",
		NULL };
	const char *missing;

	if ((n->hcudart = open_first(cudarts)) == NULL)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENOTSUP, -1,
		    "CUDA runtime (libcudart.so) not found: %s", dlerror());
	if ((n->hnccl = open_first(nccls)) == NULL)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENOTSUP, -1,
		    "NCCL (libnccl.so.2) not found: %s", dlerror());
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
	return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENOTSUP, -1, "%s is "
	    "missing from the NCCL/CUDA libraries", missing);
}

/* A bootstrap call failed: it wrote f->msg. */
static muster_result
kv_fault(struct mst_fault *f, muster_result rv)
{
	f->code = rv;
	f->kind = MST_FAULT_LOCAL;
	f->rank = -1;
	return rv;
}

/* Rank 0 draws the unique id and publishes it, the others wait for it. */
static muster_result
nccl_id(struct mst_nccl *n, const struct mst_nccl_job *j, ncclUniqueId *id,
	struct mst_fault *f)
{
	const struct mst_boot *b = j->boot;
	ncclResult_t nr;
	muster_result rv;
	void *v = NULL;
	size_t l = 0;

	if (j->rank == 0) {
		if ((nr = n->get_unique_id(id)) != ncclSuccess)
			return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENCCL,
			    -1, "ncclGetUniqueId: %s", n->nccl_error(nr));
		if ((rv = b->ops->kv_set(b->ctx, j->key, id, sizeof(*id),
		    f->msg, sizeof(f->msg))) != MUSTER_OK)
			return kv_fault(f, rv);
		return MUSTER_OK;
	}
	if ((rv = b->ops->kv_get(b->ctx, j->key, &v, &l, j->wait_ms, f->msg,
	    sizeof(f->msg))) != MUSTER_OK)
		return kv_fault(f, rv);
	if (l != sizeof(*id)) {
		free(v);
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_EPEER, -1,
		    "rank 0 published a %zu-byte ncclUniqueId", l);
	}
	memcpy(id, v, sizeof(*id));
	free(v);
	return MUSTER_OK;
}

/* Picks the device and shares the unique id through the bootstrap. */
static muster_result
nccl_comm(struct mst_nccl *n, const struct mst_nccl_job *j,
	  struct mst_fault *f)
{
	ncclUniqueId id;
	ncclResult_t nr;
	cudaError_t ce;
	int ndev = 0;
	muster_result rv;

	if ((ce = n->get_device_count(&ndev)) != cudaSuccess || ndev < 1)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENOTSUP, -1,
		    "no CUDA device on this host (cudaGetDeviceCount: %s)",
		    ce != cudaSuccess ? n->cuda_error(ce) : "0 devices");
	n->device = j->local_rank % ndev;
	if ((ce = n->set_device(n->device)) != cudaSuccess)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENCCL, -1,
		    "cudaSetDevice(%d): %s", n->device, n->cuda_error(ce));
	if ((rv = nccl_id(n, j, &id, f)) != MUSTER_OK)
		return rv;
	if ((nr = n->comm_init_rank(&n->comm, j->size, id, j->rank))
	    != ncclSuccess)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENCCL, -1,
		    "ncclCommInitRank: %s", n->nccl_error(nr));
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

/* The NCCL state, created on first use. */
static muster_result
nccl_get(struct mst_nccl **np, const struct mst_nccl_job *j,
	 struct mst_fault *f)
{
	struct mst_nccl *n;
	muster_result rv;

	if (*np != NULL)
		return MUSTER_OK;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENOMEM, -1,
		    "out of memory");
	if ((rv = nccl_load(n, f)) != MUSTER_OK ||
	    (rv = nccl_comm(n, j, f)) != MUSTER_OK) {
		n->comm = NULL;
		nccl_close(n);
		return rv;
	}
	*np = n;
	return MUSTER_OK;
}

static const ncclDataType_t nccl_types[] = {
	ncclInt8, ncclUint8, ncclInt32, ncclUint32, ncclInt64, ncclUint64,
	ncclFloat16, ncclBfloat16, ncclFloat32, ncclFloat64
};
static const ncclRedOp_t nccl_ops[] = {
	ncclSum, ncclProd, ncclMin, ncclMax, ncclAvg
};

const char *
mst_nccl_missing(void)
{
	return NULL;
}

muster_result
mst_nccl_allreduce(struct mst_nccl **np, const struct mst_nccl_job *j,
		   const void *sendbuf, void *recvbuf, size_t count,
		   muster_dtype dt, muster_op op, void *stream,
		   struct mst_fault *f)
{
	struct mst_nccl *n;
	ncclResult_t nr;
	muster_result rv;

	if ((rv = nccl_get(np, j, f)) != MUSTER_OK)
		return rv;
	if (count == 0)
		return MUSTER_OK;
	n = *np;
	nr = n->all_reduce(sendbuf, recvbuf, count, nccl_types[dt],
	    nccl_ops[op], n->comm, (cudaStream_t)stream);
	if (nr != ncclSuccess)
		return mst_fault_set(f, MST_FAULT_BROKEN, MUSTER_ENCCL, -1,
		    "ncclAllReduce: %s", n->nccl_error(nr));
	return MUSTER_OK;
}

void
mst_nccl_abort(struct mst_nccl *n)
{
	if (n && n->comm) {
		n->comm_abort(n->comm);
		n->comm = NULL;
	}
}

void
mst_nccl_free(struct mst_nccl *n)
{
	if (n)
		nccl_close(n);
}

#else /* !MUSTER_HAVE_NCCL */

const char *
mst_nccl_missing(void)
{
	return "libmuster was built without NCCL (nccl.h not found at build "
	    "time)";
}

muster_result
mst_nccl_allreduce(struct mst_nccl **np, const struct mst_nccl_job *j,
		   const void *sendbuf, void *recvbuf, size_t count,
		   muster_dtype dt, muster_op op, void *stream,
		   struct mst_fault *f)
{
	(void)np; (void)j; (void)sendbuf; (void)recvbuf; (void)count;
	(void)dt; (void)op; (void)stream;
	return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENOTSUP, -1, "%s",
	    mst_nccl_missing());
}

void
mst_nccl_abort(struct mst_nccl *n)
{
	(void)n;
}

void
mst_nccl_free(struct mst_nccl *n)
{
	(void)n;
}

#endif
