/*
 * dispatch.c: the allreduce engine (see dispatch.h): which transports
 * run an allreduce.  One node: shared memory; several: reduce in the
 * node, TCP ring between leaders, broadcast in the node.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "comm.h"
#include "dispatch.h"
#include "flightrec.h"
#include "health.h"
#include "reduce.h"
#include "shm.h"
#include "tcp.h"

int
mst_grow(void **buf, size_t *cap, size_t n)
{
	void *p;

	if (n <= *cap)
		return 0;
	if ((p = realloc(*buf, n)) == NULL)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

struct mst_desc
mst_desc_of(int kind, size_t count, muster_dtype dt, muster_op op, int root)
{
	struct mst_desc d;

	memset(&d, 0, sizeof(d));	/* compared whole, padding too */
	d.kind = (uint8_t)kind;
	d.dtype = (uint8_t)dt;
	d.op = (uint8_t)op;
	d.extra = (uint32_t)root;
	d.nops = 1;
	d.count = count;
	return d;
}

/*
 * Several nodes: reduce in the node, ring between leaders, broadcast.
 * w->desc, when set, is checked in the node's reduction and on the ring
 * (which clears it), not again in the broadcast.
 */
static muster_result
hier_seg(muster_comm *c, const void *send, void *recv, size_t count,
	 muster_dtype dt, muster_op op, struct mst_wait *w)
{
	muster_dtype adt = mst_acc_dtype(dt);
	size_t aes = muster_dtype_size(adt);
	int leader = c->t.local_rank == 0;
	void *acc = c->acc;
	muster_result rv;

	if (leader && adt == dt && c->t.local_size == 1) {
		/* alone on the node, no widening: the ring runs in recv */
		if (send != recv)
			memcpy(recv, send, count * aes);
		acc = recv;
	} else if (leader) {
		if (mst_grow(&c->acc, &c->acc_cap, count * aes) != 0)
			return mst_fault_set(&w->fault, MST_FAULT_LOCAL,
			    MUSTER_ENOMEM, -1, "out of memory (%zu bytes)",
			    count * aes);
		acc = c->acc;
	}
	if (c->t.local_size > 1) {
		if ((rv = mst_shm_reduce_leader(c->shm, send, acc, count, dt,
		    op, w)) != MUSTER_OK)
			return rv;
	} else if (acc != recv) {
		const void *src[1] = { send };
		mst_reduce_to_acc(dt, op, acc, src, 1, count);
	}
	if (leader) {
		if ((rv = mst_tcp_allreduce(c->tcp, acc, count, adt, op, w))
		    != MUSTER_OK)
			return rv;
		if (acc != recv || op == MUSTER_AVG)
			mst_finalize(dt, op, recv, acc, count, c->t.size);
	}
	w->desc = NULL;
	if (c->t.local_size > 1)
		return mst_shm_bcast(c->shm, recv,
		    count * muster_dtype_size(dt), 0, w);
	return MUSTER_OK;
}

/*
 * In segments of 1 MiB, so a segment reduced in the node is still in
 * cache when its leader sends it and when the node reads the result.
 */
static muster_result
hier_allreduce(muster_comm *c, const void *send, void *recv, size_t count,
	       muster_dtype dt, muster_op op, struct mst_wait *w)
{
	size_t es = muster_dtype_size(dt), seg = (1u << 20) / es, off;
	muster_result rv;

	for (off = 0; off < count; off += seg) {
		size_t m = count - off < seg ? count - off : seg;
		if ((rv = hier_seg(c, (const char *)send + off * es,
		    (char *)recv + off * es, m, dt, op, w)) != MUSTER_OK)
			return rv;
	}
	return MUSTER_OK;
}

/*
 * The allreduce of mst_allreduce, started at now; *waited (when not
 * NULL, for the flight record) whether it waited past its spin.  Inlined
 * in both callers, so the one without a record is today's code.
 */
static inline __attribute__((always_inline)) muster_result
allreduce_w(muster_comm *c, const void *send, void *recv, size_t count,
	    muster_dtype dt, muster_op op, const struct mst_desc *d,
	    double now, int *waited)
{
	struct mst_wait w;
	muster_result rv;

	mst_wait_init(&w, c, now + c->timeout);
	w.desc = c->check_args ? d : NULL;
	if (count == 0)
		return MUSTER_OK;
	if (c->t.size == 1) {
		if (send != recv)
			memcpy(recv, send, count * muster_dtype_size(dt));
		return MUSTER_OK;
	}
	if (c->t.num_nodes == 1)
		rv = mst_shm_allreduce(c->shm, send, recv, count, dt, op, &w);
	else
		rv = hier_allreduce(c, send, recv, count, dt, op, &w);
	if (waited != NULL)
		*waited = w.waited;
	return rv == MUSTER_OK ? rv : mst_fault_report(c, &w.fault);
}

/* Without a record: its own function, mst_allreduce's tail call. */
static __attribute__((noinline)) muster_result
allreduce_run(muster_comm *c, const void *send, void *recv, size_t count,
	      muster_dtype dt, muster_op op, const struct mst_desc *d,
	      double now)
{
	return allreduce_w(c, send, recv, count, dt, op, d, now, NULL);
}

/* What the flight record says of d (enum mst_kind is its op). */
static inline void
flight_begin(struct mst_flight_slot *s, muster_comm *c,
	     const struct mst_desc *d, double now)
{
	mst_flight_begin(s, c, d->kind, d->dtype, d->op, d->count,
	    d->kind == MST_K_GROUP ? d->nops : d->extra, now);
}

/*
 * ... and its end: timed when it waited or moved much (flightrec.h);
 * max_bytes is at least what it moved (count * 8 for an allreduce: a
 * call to muster_dtype_size would cost more than the rest).
 */
static inline void
flight_end(struct mst_flight_slot *s, muster_result rv, int waited,
	   size_t max_bytes)
{
	if (waited || max_bytes >= MST_FLIGHT_TIMED_BYTES)
		mst_flight_end(s, rv);
	else
		mst_flight_end_quick(s, rv);
}

muster_result
mst_allreduce(muster_comm *c, const void *send, void *recv, size_t count,
	      muster_dtype dt, muster_op op, const struct mst_desc *d)
{
	double now = mst_now();
	struct mst_flight_slot fs;
	muster_result rv;
	int waited = 0;

	if (__builtin_expect(mst_flight == NULL, 1))
		return allreduce_run(c, send, recv, count, dt, op, d, now);
	flight_begin(&fs, c, d, now);
	rv = allreduce_w(c, send, recv, count, dt, op, d, now, &waited);
	flight_end(&fs, rv, waited, count * 8);
	return rv;
}

muster_result
mst_node_bcast(muster_comm *c, void *buf, size_t bytes, int root,
	       const struct mst_desc *d)
{
	double now = mst_now();
	int rec = mst_flight != NULL;
	struct mst_flight_slot fs = { 0 };
	struct mst_wait w;
	muster_result rv = MUSTER_OK;

	if (rec)
		flight_begin(&fs, c, d, now);
	mst_wait_init(&w, c, now + c->timeout);
	w.desc = c->check_args ? d : NULL;
	if (mst_shm_bcast(c->shm, buf, bytes, root, &w) != MUSTER_OK)
		rv = mst_fault_report(c, &w.fault);
	if (rec)
		flight_end(&fs, rv, w.waited, bytes);
	return rv;
}
