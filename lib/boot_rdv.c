/*
 * boot_rdv.c: the bootstrap over the rendezvous server (rdv_client.h):
 * the worker joins its job as kind "worker" with the rank the launcher
 * planned, and the communicator's key-value traffic goes to the job's KV.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "boot.h"
#include "comm.h"
#include "rdv_client.h"

static muster_result
rdv_err(mst_rdv *r, muster_result rv, char *err, size_t errlen)
{
	snprintf(err, errlen, "rendezvous: %s", mst_rdv_error(r));
	return rv;
}

static muster_result
rdv_set(void *ctx, const char *key, const void *val, size_t len, char *err,
	size_t errlen)
{
	muster_result rv = mst_rdv_kv_set(ctx, key, val, len);

	return rv == MUSTER_OK ? rv : rdv_err(ctx, rv, err, errlen);
}

static muster_result
rdv_get(void *ctx, const char *key, void **val, size_t *len, int wait_ms,
	char *err, size_t errlen)
{
	muster_result rv = mst_rdv_kv_get(ctx, key, val, len, wait_ms);

	return rv == MUSTER_OK ? rv : rdv_err(ctx, rv, err, errlen);
}

static muster_result
rdv_barrier(void *ctx, const char *name, int size, int rank, int wait_ms,
	    char *err, size_t errlen)
{
	muster_result rv;

	(void)size;
	(void)rank;
	rv = mst_rdv_barrier(ctx, name, wait_ms);
	return rv == MUSTER_OK ? rv : rdv_err(ctx, rv, err, errlen);
}

static void
rdv_poll_abort(void *ctx, char *why, size_t n, int *aborted)
{
	*aborted = mst_rdv_poll_abort(ctx, why, n) != MUSTER_OK;
}

static void
rdv_close(void *ctx)
{
	mst_rdv_leave(ctx, 0, NULL);
	mst_rdv_close(ctx);
}

static const struct mst_boot_ops rdv_ops = {
	rdv_set, rdv_get, rdv_barrier, rdv_poll_abort, rdv_close
};

/*
 * The member the server made of us must have the rank the launcher
 * planned.  The node layout comes from the environment: virtual nodes
 * share one host name, which the server groups as one.
 */
static int
same_place(const struct mst_rdv_member *m, const struct mst_topo *t)
{
	return m->rank == t->rank && m->size == t->size;
}

muster_result
mst_boot_rdv_open(struct mst_boot *b, const char *endpoint, const char *job,
		  const char *secret, const struct mst_topo *t, int wait_ms,
		  char *err, size_t errlen)
{
	struct mst_rdv_opts o = { 0 };
	struct mst_rdv_member m;
	const char *host = getenv("MUSTER_HOST");
	char hn[256];
	mst_rdv *r = NULL;
	muster_result rv;

	if (host == NULL || *host == '\0') {
		if (gethostname(hn, sizeof(hn)) != 0)
			snprintf(hn, sizeof(hn), "localhost");
		hn[sizeof(hn) - 1] = '\0';
		host = hn;
	}
	o.endpoint = endpoint;
	o.job = job;
	o.secret = secret;
	o.timeout_ms = wait_ms;
	if ((rv = mst_rdv_open(&r, &o)) != MUSTER_OK) {
		snprintf(err, errlen, "rendezvous %s: %s", endpoint,
		    r ? mst_rdv_error(r) : muster_strerror(rv));
		mst_rdv_close(r);
		return rv;
	}
	if ((rv = mst_rdv_join(r, "worker", host, t->rank, t->size, wait_ms,
	    &m)) != MUSTER_OK) {
		rdv_err(r, rv, err, errlen);
		mst_rdv_close(r);
		return rv;
	}
	if (!same_place(&m, t)) {
		snprintf(err, errlen, "rendezvous placed this worker as rank %d "
		    "of %d, the environment (MUSTER_RANK, MUSTER_SIZE) says "
		    "rank %d of %d", m.rank, m.size, t->rank, t->size);
		rdv_close(r);
		return MUSTER_ERENDEZVOUS;
	}
	b->ops = &rdv_ops;
	b->ctx = r;
	b->generation = m.generation;
	return MUSTER_OK;
}
