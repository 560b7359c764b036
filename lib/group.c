/*
 * group.c: groups (tensor fusion, see group.h): between
 * muster_group_start and muster_group_end a thread's allreduces are
 * queued, then run in order, those of the same (comm, dtype, op) fused
 * into one allreduce of at most FUSION_BYTES.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend.h"
#include "comm.h"
#include "dispatch.h"
#include "group.h"
#include "health.h"

struct gop {
	const void *send;
	void *recv;
	size_t count;
	muster_dtype dt;
	muster_op op;
	muster_comm *c;
	int done;
};

static __thread int group_active;
static __thread struct gop *group_ops;
static __thread size_t group_n, group_cap;
static __thread muster_result group_err;

int
mst_group_open(void)
{
	return group_active;
}

muster_result
mst_group_add(const void *send, void *recv, size_t count, muster_dtype dt,
	  muster_op op, muster_comm *c)
{
	if (group_n == group_cap) {
		size_t n = group_cap ? group_cap * 2 : 16;
		struct gop *p = realloc(group_ops, n * sizeof(*p));
		if (p == NULL) {
			group_err = MUSTER_ENOMEM;
			return mst_fail(c, MUSTER_ENOMEM, "out of memory");
		}
		group_ops = p;
		group_cap = n;
	}
	group_ops[group_n++] = (struct gop){ send, recv, count, dt, op, c, 0 };
	return MUSTER_OK;
}

muster_result
muster_group_start(void)
{
	if (group_active)
		return mst_fail(NULL, MUSTER_ESTATE, "muster_group_start: a "
		    "group is already open on this thread");
	group_active = 1;
	group_n = 0;
	group_err = MUSTER_OK;
	return MUSTER_OK;
}

/* Horovod's fusion threshold: a fused allreduce carries at most this. */
#define FUSION_BYTES ((size_t)64 << 20)

static int
same_kind(const struct gop *a, const struct gop *b)
{
	return !b->done && a->c == b->c && a->dt == b->dt && a->op == b->op;
}

/*
 * Runs ops[i] and the queued ops after it of the same (comm, dtype, op),
 * in order, fused into allreduces of at most FUSION_BYTES; an op alone
 * in its batch runs on its own buffers.
 */
static muster_result
group_run(size_t i)
{
	struct gop g = group_ops[i];
	muster_comm *c = g.c;
	size_t es = muster_dtype_size(g.dt), total = 0, off, j, n = 0;
	struct mst_desc d;
	uint32_t h;
	muster_result rv;

	for (j = i; j < group_n; j++)
		if (same_kind(&g, &group_ops[j]) && (n == 0 ||
		    (total + group_ops[j].count) * es <= FUSION_BYTES)) {
			total += group_ops[j].count;
			group_ops[j].done = 2;	/* in this batch */
			n++;
		}
	d = mst_desc_of(n == 1 ? MST_K_ALLREDUCE : MST_K_GROUP, total, g.dt,
	    g.op, 0);
	d.nops = (uint8_t)(n < 255 ? n : 255);
	for (j = i, h = 2166136261u; j < group_n && n > 1; j++)
		if (group_ops[j].done == 2)
			h = (h ^ (uint32_t)group_ops[j].count ^
			    (uint32_t)(group_ops[j].count >> 32)) * 16777619u;
	d.extra = n > 1 ? h : 0;
	if ((rv = mst_usable(c)) == MUSTER_OK && n == 1)
		rv = mst_allreduce(c, g.send, g.recv, g.count, g.dt, g.op, &d);
	else if (rv == MUSTER_OK &&
	    mst_grow(&c->fuse, &c->fuse_cap, total * es))
		rv = mst_fail(c, MUSTER_ENOMEM, "out of memory (fusion buffer "
		    "of %zu bytes)", total * es);
	if (rv == MUSTER_OK && n > 1) {
		for (off = 0, j = i; j < group_n; j++)
			if (group_ops[j].done == 2) {
				memcpy((char *)c->fuse + off, group_ops[j].send,
				    group_ops[j].count * es);
				off += group_ops[j].count * es;
			}
		rv = mst_allreduce(c, c->fuse, c->fuse, total, g.dt, g.op,
		    &d);
	}
	for (off = 0, j = i; j < group_n; j++)
		if (group_ops[j].done == 2) {
			if (rv == MUSTER_OK && n > 1)
				memcpy(group_ops[j].recv, (char *)c->fuse + off,
				    group_ops[j].count * es);
			off += group_ops[j].count * es;
			group_ops[j].done = 1;
		}
	return rv;
}

muster_result
muster_group_end(void)
{
	muster_result rv, first;
	size_t i;

	if (!group_active)
		return mst_fail(NULL, MUSTER_ESTATE, "muster_group_end without "
		    "muster_group_start");
	group_active = 0;
	first = group_err;
	for (i = 0; i < group_n; i++) {
		if (group_ops[i].done)
			continue;
		rv = group_run(i);
		if (rv != MUSTER_OK && first == MUSTER_OK) {
			first = rv;
			snprintf(mst_thread_err(), MST_ERRLEN, "%s",
			    group_ops[i].c->err);
		}
	}
	group_n = 0;
	free(group_ops);
	group_ops = NULL;
	group_cap = 0;
	return first;
}
