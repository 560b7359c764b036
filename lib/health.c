/*
 * health.c: what a failure does to a communicator (see health.h): the
 * sticky error, blaming a rank once (shared error word, closed ring
 * sockets, the bootstrap KV), the job-abort check of slow waits, and
 * turning a backend's fault into all that.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "comm.h"
#include "health.h"
#include "shm.h"
#include "tcp.h"

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

/* Like mst_fail, and remembers rv as the communicator's sticky error. */
static muster_result
broken(muster_comm *c, muster_result rv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mst_vfail(c, rv, fmt, ap);
	va_end(ap);
	if (c->sticky == MUSTER_OK)
		c->sticky = rv;
	/* a leader that gives up must not leave its ring neighbours waiting */
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

/* Asks the bootstrap; on an abort, tells the local ranks at once. */
static muster_result
job_aborted(muster_comm *c, struct mst_fault *f)
{
	char why[256] = "";
	int aborted = 0;

	c->boot.ops->poll_abort(c->boot.ctx, why, sizeof(why), &aborted);
	if (!aborted)
		return MUSTER_OK;
	mst_shm_poison(c->shm, MUSTER_EABORTED, c->t.rank);
	return mst_fault_set(f, MST_FAULT_BROKEN, MUSTER_EABORTED, c->t.rank,
	    "the job was aborted (%s)", why[0] ? why : "(no reason given)");
}

/*
 * The wait context's check: every 50 ms asks the bootstrap whether the
 * job was aborted (the rendezvous broadcasts it).
 */
static muster_result
job_check(struct mst_wait *w, double now)
{
	muster_comm *c = w->arg;

	w->waited = 1;
	if (c->boot.ops->poll_abort == NULL || now < c->next_job_check)
		return MUSTER_OK;
	c->next_job_check = now + 0.05;
	return job_aborted(c, &w->fault);
}

void
mst_wait_init(struct mst_wait *w, muster_comm *c, double deadline)
{
	w->deadline = deadline;
	w->timeout = c->timeout;
	w->spin_s = c->spin_s;
	w->yield_s = c->yield_s;
	w->check = job_check;
	w->arg = c;
	w->desc = NULL;
	w->waited = 0;
	w->fault.code = MUSTER_OK;
	w->fault.kind = MST_FAULT_LOCAL;
	w->fault.rank = -1;
	w->fault.msg[0] = '\0';
}

/* Looks up a blame another rank published, waiting up to wait_ms. */
static int
blamed(muster_comm *c, int wait_ms, muster_result *code, int *rank)
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

/*
 * A ring neighbour closed or stalled, but may only pass on the failure
 * of a rank behind it: if someone published who failed, name that rank.
 */
static muster_result
report_relay(muster_comm *c, const struct mst_fault *f)
{
	muster_result code, rv = f->code;
	int who, rank = f->rank;

	if (blamed(c, 50, &code, &who) && who != rank && who != c->t.rank) {
		mst_blame(c, code, who);
		return broken(c, code, "rank %d (node %d) %s; seen from rank "
		    "%d (leader of node %d)", who, c->peers[who].node_rank,
		    code == MUSTER_EABORTED ? "aborted the communicator" :
		    code == MUSTER_ETIMEDOUT ? "stalled" :
		    code == MUSTER_EINVAL ? "called a mismatched collective" :
		    "failed (died or left)", rank, c->peers[rank].node_rank);
	}
	if (blamed(c, 0, &code, &who) && who == rank && code != rv)
		rv = code;
	mst_blame(c, rv, rank);
	if (rv == MUSTER_EABORTED)
		return broken(c, rv, "rank %d (leader of node %d) aborted the "
		    "communicator", rank, c->peers[rank].node_rank);
	return broken(c, rv, "%s", f->msg);
}

/*
 * A rank that finds a mismatch publishes its sentence before it blames
 * (which wakes everyone), so every rank can say the same.
 */
static muster_result
report_mismatch(muster_comm *c, const struct mst_fault *f)
{
	char key[128];

	snprintf(key, sizeof(key), "%s/mismatch", c->prefix);
	c->boot.ops->kv_set(c->boot.ctx, key, f->msg, strlen(f->msg), c->err,
	    sizeof(c->err));
	mst_blame(c, MUSTER_EINVAL, f->rank);
	return broken(c, MUSTER_EINVAL, "%s", f->msg);
}

/* Failed with EINVAL because another rank found a mismatch: say which. */
static void
adopt_mismatch(muster_comm *c)
{
	char key[128], err[256];
	void *v = NULL;
	size_t len = 0;

	snprintf(key, sizeof(key), "%s/mismatch", c->prefix);
	if (c->boot.ops->kv_get(c->boot.ctx, key, &v, &len, 100, err,
	    sizeof(err)) != MUSTER_OK)
		return;
	/* both bootstraps NUL-terminate values past len */
	if (len > 0 && len < sizeof(c->err))
		snprintf(c->err, sizeof(c->err), "%s", (char *)v);
	free(v);
}

static muster_result
fault_report(muster_comm *c, const struct mst_fault *f)
{
	switch (f->kind) {
	case MST_FAULT_LOCAL:
		break;
	case MST_FAULT_BROKEN:
		return broken(c, f->code, "%s", f->msg);
	case MST_FAULT_PEER:
		mst_blame(c, f->code, f->rank);
		return broken(c, f->code, "%s", f->msg);
	case MST_FAULT_RELAY:
		return report_relay(c, f);
	case MST_FAULT_MISMATCH:
		return report_mismatch(c, f);
	}
	return mst_fail(c, f->code, "%s", f->msg);
}

muster_result
mst_fault_report(muster_comm *c, const struct mst_fault *f)
{
	muster_result rv = fault_report(c, f);

	if (rv == MUSTER_EINVAL && f->kind != MST_FAULT_LOCAL &&
	    f->kind != MST_FAULT_MISMATCH)
		adopt_mismatch(c);
	return rv;
}
