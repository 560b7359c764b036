/*
 * coll.c: the public collectives: argument checks, then the allreduce
 * engine (dispatch.h), the open group of this thread (group.h), or for
 * device buffers the NCCL backend (mst_nccl.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "backend.h"
#include "comm.h"
#include "dispatch.h"
#include "flightrec.h"
#include "group.h"
#include "health.h"
#include "mst_nccl.h"
#include "reduce.h"

static int
overlap(const void *a, const void *b, size_t n)
{
	const char *x = a, *y = b;

	return a != b && x < y + n && y < x + n;
}

static muster_result
check_args(muster_comm *c, const void *send, const void *recv,
	   size_t count, muster_dtype dt, muster_op op)
{
	if (!mst_dtype_valid(dt))
		return mst_fail(c, MUSTER_EINVAL, "unknown dtype %d", (int)dt);
	if (!mst_op_valid(op))
		return mst_fail(c, MUSTER_EINVAL, "unknown op %d", (int)op);
	if (count > 0 && (send == NULL || recv == NULL))
		return mst_fail(c, MUSTER_EINVAL, "NULL buffer with count %zu",
		    count);
	if (count > (SIZE_MAX >> 4) / muster_dtype_size(dt))
		return mst_fail(c, MUSTER_EINVAL, "count %zu is too large",
		    count);
	if (count > 0 && overlap(send, recv, count * muster_dtype_size(dt)))
		return mst_fail(c, MUSTER_EINVAL, "sendbuf and recvbuf overlap "
		    "without being equal");
	return MUSTER_OK;
}

muster_result
muster_allreduce(const void *sendbuf, void *recvbuf, size_t count,
		 muster_dtype dtype, muster_op op, muster_comm *comm)
{
	struct mst_desc d;
	muster_result rv;

	if ((rv = mst_usable(comm)) != MUSTER_OK ||
	    (rv = check_args(comm, sendbuf, recvbuf, count, dtype, op))
	    != MUSTER_OK)
		return rv;
	if (mst_group_open())
		return mst_group_add(sendbuf, recvbuf, count, dtype, op, comm);
	d = mst_desc_of(MST_K_ALLREDUCE, count, dtype, op, 0);
	return mst_allreduce(comm, sendbuf, recvbuf, count, dtype, op, &d);
}

muster_result
muster_broadcast(void *buf, size_t count, muster_dtype dtype, int root,
		 muster_comm *comm)
{
	struct mst_desc d;
	size_t bytes;
	muster_result rv;

	if ((rv = mst_usable(comm)) != MUSTER_OK ||
	    (rv = check_args(comm, buf, buf, count, dtype, MUSTER_SUM))
	    != MUSTER_OK)
		return rv;
	if (root < 0 || root >= comm->t.size)
		return mst_fail(comm, MUSTER_EINVAL, "root %d is not a rank "
		    "(size %d)", root, comm->t.size);
	bytes = count * muster_dtype_size(dtype);
	if (bytes == 0 || comm->t.size == 1)
		return MUSTER_OK;
	d = mst_desc_of(MST_K_BROADCAST, count, dtype, MUSTER_SUM, root);
	if (comm->t.num_nodes == 1)
		return mst_node_bcast(comm, buf, bytes,
		    comm->peers[root].local_rank, &d);
	/* across nodes: every byte is root's plus zeros, exactly */
	if (comm->t.rank != root)
		memset(buf, 0, bytes);
	return mst_allreduce(comm, buf, buf, bytes, MUSTER_UINT8, MUSTER_SUM,
	    &d);
}

muster_result
muster_allgather(const void *sendbuf, void *recvbuf, size_t sendcount,
		 muster_dtype dtype, muster_comm *comm)
{
	struct mst_desc d;
	size_t bytes, total;
	char *mine;
	muster_result rv;

	if ((rv = mst_usable(comm)) != MUSTER_OK ||
	    (rv = check_args(comm, sendbuf, sendbuf, sendcount, dtype,
	    MUSTER_SUM)) != MUSTER_OK)
		return rv;
	bytes = sendcount * muster_dtype_size(dtype);
	if (bytes == 0)
		return MUSTER_OK;
	if (recvbuf == NULL)
		return mst_fail(comm, MUSTER_EINVAL, "recvbuf is NULL");
	total = bytes * (size_t)comm->t.size;
	mine = (char *)recvbuf + bytes * (size_t)comm->t.rank;
	if (sendbuf != mine)
		memmove(mine, sendbuf, bytes);
	/* every block is its owner's plus zeros: a byte sum is exact */
	memset(recvbuf, 0, mine - (char *)recvbuf);
	memset(mine + bytes, 0, total - (size_t)(mine + bytes - (char *)recvbuf));
	d = mst_desc_of(MST_K_ALLGATHER, sendcount, dtype, MUSTER_SUM, 0);
	return mst_allreduce(comm, recvbuf, recvbuf, total, MUSTER_UINT8,
	    MUSTER_SUM, &d);
}

muster_result
muster_barrier(muster_comm *comm)
{
	struct mst_desc d = mst_desc_of(MST_K_BARRIER, 0, MUSTER_UINT8,
	    MUSTER_MAX, 0);
	unsigned char b = 0;
	muster_result rv;

	if ((rv = mst_usable(comm)) != MUSTER_OK)
		return rv;
	return mst_allreduce(comm, &b, &b, 1, MUSTER_UINT8, MUSTER_MAX, &d);
}

muster_result
muster_allreduce_cuda(const void *sendbuf, void *recvbuf, size_t count,
		      muster_dtype dtype, muster_op op, muster_comm *comm,
		      void *stream)
{
	const char *missing = mst_nccl_missing();
	struct mst_nccl_job j;
	struct mst_flight_slot fs = { 0 };
	struct mst_fault f;
	char key[128];
	muster_result rv;

	if (missing != NULL)
		return mst_fail(comm, MUSTER_ENOTSUP, "%s", missing);
	if ((rv = mst_usable(comm)) != MUSTER_OK ||
	    (rv = check_args(comm, sendbuf, recvbuf, count, dtype, op))
	    != MUSTER_OK)
		return rv;
	snprintf(key, sizeof(key), "%s/nccl-id", comm->prefix);
	j = (struct mst_nccl_job){ comm->t.rank, comm->t.size,
	    comm->t.local_rank, &comm->boot, key, (int)(comm->timeout * 1000) };
	if (mst_flight != NULL)
		mst_flight_begin(&fs, comm, MST_FLIGHT_ALLREDUCE_CUDA, dtype, op,
		    count, 0, mst_now());
	if ((rv = mst_nccl_allreduce(&comm->nccl, &j, sendbuf, recvbuf, count,
	    dtype, op, stream, &f)) != MUSTER_OK)
		rv = mst_fault_report(comm, &f);
	if (mst_flight != NULL)
		mst_flight_end(&fs, rv);	/* enqueued, or failed */
	return rv;
}
