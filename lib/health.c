/*
 * health.c: what a failure does to a communicator (see health.h): the
 * sticky error, blaming a rank once (shared error word, closed ring
 * sockets, the bootstrap KV), and the job-abort check of slow waits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "comm.h"
#include "health.h"
#include "shm.h"
#include "tcp.h"

muster_result
mst_broken(muster_comm *c, muster_result rv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mst_vfail(c, rv, fmt, ap);
	va_end(ap);
	if (c && c->sticky == MUSTER_OK)
		c->sticky = rv;
	/* a leader that gives up must not leave its ring neighbours waiting */
	if (c)
		mst_tcp_shutdown(c->tcp);
	return rv;
}

void
mst_blame(muster_comm *c, muster_result code, int rank)
{
	char key[128], val[64];
	int n;

	if (c->blamed)
		return;
	c->blamed = 1;
	/* published before the sockets close: a neighbour that sees EOF
	 * finds the record at once */
	snprintf(key, sizeof(key), "%s/failed", c->prefix);
	n = snprintf(val, sizeof(val), "%d %d", (int)code, rank);
	c->boot.ops->kv_set(c->boot.ctx, key, val, (size_t)n, c->err,
	    sizeof(c->err));
	mst_shm_poison(c->shm, code, rank);
	mst_tcp_shutdown(c->tcp);
}

muster_result
mst_check_job(muster_comm *c, double now)
{
	char why[256] = "";
	int aborted = 0;

	if (c->boot.ops->poll_abort == NULL || now < c->next_job_check)
		return MUSTER_OK;
	c->next_job_check = now + 0.05;
	c->boot.ops->poll_abort(c->boot.ctx, why, sizeof(why), &aborted);
	if (!aborted)
		return MUSTER_OK;
	mst_shm_poison(c->shm, MUSTER_EABORTED, c->t.rank);
	return mst_broken(c, MUSTER_EABORTED, "the job was aborted (%s)",
	    why[0] ? why : "(no reason given)");
}

int
mst_blamed(muster_comm *c, int wait_ms, muster_result *code, int *rank)
{
	char key[128], err[256];
	void *v = NULL;
	size_t len = 0;
	int cd, r, ok;

	snprintf(key, sizeof(key), "%s/failed", c->prefix);
	if (c->boot.ops->kv_get(c->boot.ctx, key, &v, &len, wait_ms, err,
	    sizeof(err)) != MUSTER_OK)
		return 0;
	/* both bootstraps NUL-terminate values past len */
	ok = len < 64 && sscanf((char *)v, "%d %d", &cd, &r) == 2 &&
	    r >= 0 && r < c->t.size;
	free(v);
	if (ok) {
		*code = (muster_result)cd;
		*rank = r;
	}
	return ok;
}

/* Common checks: a usable communicator. */
muster_result
mst_usable(muster_comm *c)
{
	if (c == NULL)
		return mst_fail(NULL, MUSTER_EINVAL, "comm is NULL");
	if (c->aborted) {
		snprintf(c->err, sizeof(c->err), "the communicator was aborted "
		    "(muster_comm_abort); destroy it");
		return MUSTER_EABORTED;
	}
	return c->sticky;
}
