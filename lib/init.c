/*
 * init.c: the communicator's life cycle: the environment muster gives a
 * worker (MUSTER_RANK ... MUSTER_TIMEOUT, MUSTER_RENDEZVOUS, the ring's
 * address: addr.h, the waiting knobs), joining the bootstrap, exchanging
 * every rank's hello, deriving the layout, opening the transports, abort
 * and destroy.
 */
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "addr.h"
#include "comm.h"
#include "flightrec.h"
#include "hash.h"
#include "health.h"
#include "mst_nccl.h"
#include "num.h"
#include "rdv_client.h"
#include "shm.h"
#include "tcp.h"
#include "tune.h"

static atomic_int comm_seq;

struct hello {
	struct mst_peer p;
	char tcp[64];
	char shm[64];
};

static muster_result
topo_check(const struct mst_topo *t, char *err, size_t errlen)
{
	const char *bad = NULL;

	if (t->size < 1)
		bad = "MUSTER_SIZE must be at least 1";
	else if (t->rank < 0 || t->rank >= t->size)
		bad = "MUSTER_RANK must be in [0, MUSTER_SIZE)";
	else if (t->local_size < 1 || t->local_size > t->size)
		bad = "MUSTER_LOCAL_SIZE must be in [1, MUSTER_SIZE]";
	else if (t->local_rank < 0 || t->local_rank >= t->local_size)
		bad = "MUSTER_LOCAL_RANK must be in [0, MUSTER_LOCAL_SIZE)";
	else if (t->num_nodes < 1 || t->num_nodes > t->size)
		bad = "MUSTER_NUM_NODES must be in [1, MUSTER_SIZE]";
	else if (t->node_rank < 0 || t->node_rank >= t->num_nodes)
		bad = "MUSTER_NODE_RANK must be in [0, MUSTER_NUM_NODES)";
	if (bad == NULL)
		return MUSTER_OK;
	snprintf(err, errlen, "%s", bad);
	return MUSTER_ENOENV;
}

/* Checks what every rank said about itself and derives the layout. */
static muster_result
layout(muster_comm *c, const struct hello *all)
{
	muster_result rv = MUSTER_OK;
	int i, *count;

	if ((c->peers = calloc((size_t)c->t.size, sizeof(*c->peers))) == NULL ||
	    (c->leaders = malloc(sizeof(int) * (size_t)c->t.num_nodes)) == NULL ||
	    (c->local_ranks = malloc(sizeof(int) * (size_t)c->t.local_size))
	    == NULL || (count = calloc((size_t)c->t.num_nodes, sizeof(int)))
	    == NULL)
		return mst_fail(c, MUSTER_ENOMEM, "out of memory");
	for (i = 0; i < c->t.num_nodes; i++)
		c->leaders[i] = -1;
	for (i = 0; i < c->t.local_size; i++)
		c->local_ranks[i] = -1;
	for (i = 0; i < c->t.size && rv == MUSTER_OK; i++) {
		const struct mst_peer *p = &all[i].p;
		c->peers[i] = *p;
		if (p->rank != i || p->node_rank < 0 ||
		    p->node_rank >= c->t.num_nodes || p->local_rank < 0 ||
		    p->local_rank >= p->local_size) {
			rv = mst_fail(c, MUSTER_EPEER, "rank %d published an "
			    "inconsistent place (node %d, local rank %d of %d)",
			    i, p->node_rank, p->local_rank, p->local_size);
			break;
		}
		count[p->node_rank]++;
		if (p->local_rank == 0)
			c->leaders[p->node_rank] = i;
		if (p->node_rank != c->t.node_rank)
			continue;
		if (p->local_size != c->t.local_size ||
		    c->local_ranks[p->local_rank] != -1)
			rv = mst_fail(c, MUSTER_EPEER, "ranks of node %d "
			    "disagree on local ranks (rank %d)",
			    c->t.node_rank, i);
		else
			c->local_ranks[p->local_rank] = i;
	}
	for (i = 0; i < c->t.num_nodes && rv == MUSTER_OK; i++)
		if (c->leaders[i] < 0 ||
		    count[i] != all[c->leaders[i]].p.local_size)
			rv = mst_fail(c, MUSTER_EPEER, "node %d has %d ranks "
			    "and no consistent local rank 0", i, count[i]);
	free(count);
	return rv;
}

/* Identifies this machine (virtual nodes share it): host name, boot id. */
static uint64_t
host_hash(void)
{
	char buf[512] = "", boot[64] = "";
	FILE *f;

	gethostname(buf, sizeof(buf) - 1);
	if ((f = fopen("/proc/sys/kernel/random/boot_id", "re")) != NULL) {
		if (fgets(boot, sizeof(boot), f) == NULL)
			boot[0] = '\0';
		fclose(f);
	}
	return mst_fnv1a(mst_fnv1a(MST_FNV_BASIS, buf), boot);
}

/*
 * Waiting policy.  Spinning is cheapest while every rank has a CPU; with
 * more ranks on this machine than CPUs a spinner steals the CPU of the
 * rank it waits for, so it yields at once.
 */
static void
wait_policy(muster_comm *c)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int i;

	c->host_ranks = 0;
	for (i = 0; i < c->t.size; i++)
		c->host_ranks += c->peers[i].host == c->peers[c->t.rank].host;
	c->spin_s = c->tune.spin_us >= 0 ? c->tune.spin_us * 1e-6 :
	    ncpu > 0 && c->host_ranks > ncpu ? 0 : 5e-6;
	c->yield_s = c->tune.yield_us * 1e-6;
}

/* A leader opens what its hello announces: the segment, the port. */
static muster_result
open_transports(muster_comm *c, const struct mst_listen *l,
		struct hello *mine)
{
	int leader = c->t.local_rank == 0;
	struct mst_fault f;

	if (leader && c->t.local_size > 1 && mst_shm_create(&c->shm,
	    c->t.local_size, c->tune.shm_slot, mine->shm, &f) != MUSTER_OK)
		return mst_fault_report(c, &f);
	if (leader && c->t.num_nodes > 1 && mst_tcp_listen(&c->tcp,
	    c->t.node_rank, c->t.num_nodes, l->bind, l->addr, &c->tune,
	    mine->tcp, &f) != MUSTER_OK)
		return mst_fault_report(c, &f);
	return MUSTER_OK;
}

/* Maps the node's segment; shm.c learns the node's ranks and pids. */
static muster_result
shm_join(muster_comm *c, const char *name, double deadline)
{
	struct mst_shm_node nd = { c->t.local_rank, c->t.local_size,
	    c->t.node_rank, c->t.size, c->local_ranks, NULL,
	    c->tune.shm_oneshot };
	struct mst_fault f;
	muster_result rv;
	int *pids, j;

	if ((pids = malloc(sizeof(int) * (size_t)c->t.local_size)) == NULL)
		return mst_fail(c, MUSTER_ENOMEM, "out of memory");
	for (j = 0; j < c->t.local_size; j++)
		pids[j] = c->peers[c->local_ranks[j]].pid;
	nd.pids = pids;
	rv = mst_shm_attach(&c->shm, name, &nd, deadline, &f);
	free(pids);
	return rv == MUSTER_OK ? rv : mst_fault_report(c, &f);
}

/*
 * A leader on the rendezvous host said "*:PORT" (addr.h): it publishes
 * the address the route toward another leader gives it, and the leader
 * that dials it (its left neighbour) waits for that.  Each publishes its
 * own before it waits, so no two wait for each other.
 */
static muster_result
ring_resolve(muster_comm *c, char (*addrs)[64], double deadline)
{
	int me = c->t.node_rank, rn = (me + 1) % c->t.num_nodes, ms;
	char k[256], why[256], mine[64];
	muster_result rv;
	void *v = NULL;
	size_t len = 0;

	if (mst_listen_later(addrs[me])) {
		if (mst_listen_resolve((const char (*)[64])addrs,
		    c->t.num_nodes, me, mine, why, sizeof(why)) != 0)
			return mst_fail(c, MUSTER_ENOENV, "the TCP ring's "
			    "address of node %d: %s (set MUSTER_ADDR or "
			    "MUSTER_IFACE)", me, why);
		memcpy(addrs[me], mine, sizeof(mine));
		snprintf(k, sizeof(k), "%s/ring-addr/%d", c->prefix, me);
		rv = c->boot.ops->kv_set(c->boot.ctx, k, addrs[me],
		    strlen(addrs[me]) + 1, c->err, sizeof(c->err));
		if (rv != MUSTER_OK)
			return rv;
	}
	if (!mst_listen_later(addrs[rn]))
		return MUSTER_OK;
	snprintf(k, sizeof(k), "%s/ring-addr/%d", c->prefix, rn);
	ms = (int)((deadline - mst_now()) * 1000);
	if ((rv = c->boot.ops->kv_get(c->boot.ctx, k, &v, &len, ms > 0 ? ms :
	    1, c->err, sizeof(c->err))) != MUSTER_OK) {
		if (rv == MUSTER_ETIMEDOUT)
			mst_fail(c, rv, "timed out waiting for rank %d (leader "
			    "of node %d) to publish its ring address",
			    c->leaders[rn], rn);
		return rv;
	}
	if (len < 2 || len > 64 || ((char *)v)[len - 1] != '\0') {
		free(v);
		return mst_fail(c, MUSTER_EPEER, "rank %d (leader of node %d) "
		    "published a bad ring address (%zu bytes)", c->leaders[rn],
		    rn, len);
	}
	memcpy(addrs[rn], v, len);
	free(v);
	return MUSTER_OK;
}

/* A leader joins the ring at the addresses the leaders' hellos gave. */
static muster_result
ring_join(muster_comm *c, const struct hello *all, const char *job,
	  double deadline)
{
	unsigned char key[MST_RING_KEY];
	char (*addrs)[64];
	struct mst_fault f;
	muster_result rv;
	int i;

	if ((addrs = calloc((size_t)c->t.num_nodes, 64)) == NULL)
		return mst_fail(c, MUSTER_ENOMEM, "out of memory");
	for (i = 0; i < c->t.num_nodes; i++) {
		memcpy(addrs[i], all[c->leaders[i]].tcp, 64);
		addrs[i][63] = '\0';	/* a peer's bytes */
	}
	if ((rv = ring_resolve(c, addrs, deadline)) != MUSTER_OK) {
		free(addrs);
		return rv;
	}
	mst_tcp_key(key, c->boot.secret, sizeof(c->boot.secret), job,
	    c->prefix);
	rv = mst_tcp_connect(c->tcp, (const char (*)[64])addrs, c->leaders,
	    key, deadline, &f);
	sodium_memzero(key, sizeof(key));
	free(addrs);
	return rv == MUSTER_OK ? rv : mst_fault_report(c, &f);
}

static muster_result
comm_connect(muster_comm *c, const char *job, const struct mst_listen *l,
	     double deadline)
{
	struct hello mine, *all;
	muster_result rv;

	memset(&mine, 0, sizeof(mine));
	mine.p.rank = c->t.rank;
	mine.p.local_rank = c->t.local_rank;
	mine.p.local_size = c->t.local_size;
	mine.p.node_rank = c->t.node_rank;
	mine.p.pid = (int32_t)getpid();
	mine.p.flags = c->tune.check_args ? MST_PEER_CHECK_ARGS : 0;
	mine.p.host = host_hash();
	if ((rv = open_transports(c, l, &mine)) != MUSTER_OK)
		return rv;
	if ((all = calloc((size_t)c->t.size, sizeof(*all))) == NULL)
		return mst_fail(c, MUSTER_ENOMEM, "out of memory");
	if ((rv = mst_boot_allgather(c, "hello", &mine, all, sizeof(mine),
	    deadline)) != MUSTER_OK || (rv = layout(c, all)) != MUSTER_OK)
		goto out;
	wait_policy(c);
	c->check_args = (all[0].p.flags & MST_PEER_CHECK_ARGS) != 0;
	if (c->t.local_size > 1 && (rv = shm_join(c,
	    all[c->leaders[c->t.node_rank]].shm, deadline)) != MUSTER_OK)
		goto out;
	if (c->t.local_rank == 0 && c->t.num_nodes > 1)
		rv = ring_join(c, all, job, deadline);
out:
	free(all);
	return rv;
}

/* Creates a communicator over a bootstrap (takes the boot over). */
static muster_result
comm_init_boot(muster_comm **out, struct mst_boot *boot,
	       const struct mst_topo *t, double timeout, const char *job,
	       const struct mst_listen *l, char *err, size_t errlen)
{
	struct mst_tune tune;
	muster_comm *c;
	muster_result rv;

	*out = NULL;
	if ((rv = topo_check(t, err, errlen)) != MUSTER_OK ||
	    (rv = mst_tune_from_env(&tune, err, errlen)) != MUSTER_OK) {
		boot->ops->close(boot->ctx);
		return rv;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		boot->ops->close(boot->ctx);
		snprintf(err, errlen, "out of memory");
		return MUSTER_ENOMEM;
	}
	c->t = *t;
	c->tune = tune;
	c->timeout = timeout;
	c->boot = *boot;
	c->flight_id = (uint32_t)atomic_fetch_add(&comm_seq, 1);
	snprintf(c->prefix, sizeof(c->prefix), "muster/g%llu/c%u",
	    (unsigned long long)boot->generation, c->flight_id);
	rv = comm_connect(c, job ? job : "", l, mst_now() + timeout);
	if (rv != MUSTER_OK) {
		snprintf(err, errlen, "%s", c->err);
		muster_comm_destroy(c);
		return rv;
	}
	mst_flight_attach(c->t.rank);	/* MUSTER_FLIGHT, once */
	*out = c;
	return MUSTER_OK;
}

static muster_result
env_int(const char *name, int *v, int required)
{
	const char *s = getenv(name);
	long l;

	if (s == NULL || *s == '\0') {
		if (!required)
			return MUSTER_OK;
		return mst_fail(NULL, MUSTER_ENOENV, "%s is not set: not "
		    "started by muster?", name);
	}
	if (mst_parse_long(s, 0, 1 << 24, &l) != 0)
		return mst_fail(NULL, MUSTER_ENOENV, "%s='%s' is not a "
		    "non-negative integer", name, s);
	*v = (int)l;
	return MUSTER_OK;
}

static muster_result
env_timeout(double *out)
{
	const char *s = getenv("MUSTER_TIMEOUT");
	double d;

	*out = 300;
	if (s == NULL || *s == '\0')
		return MUSTER_OK;
	if (mst_parse_double(s, 0, 1e9, &d) != 0 || !(d > 0))
		return mst_fail(NULL, MUSTER_ENOENV, "MUSTER_TIMEOUT='%s' is "
		    "not a positive number of seconds", s);
	*out = d;
	return MUSTER_OK;
}

/* The topology and the timeout muster gives every worker. */
static muster_result
env_topo(struct mst_topo *t, double *timeout)
{
	muster_result rv;

	if ((rv = env_int("MUSTER_RANK", &t->rank, 1)) != MUSTER_OK ||
	    (rv = env_int("MUSTER_SIZE", &t->size, 1)) != MUSTER_OK ||
	    (rv = env_int("MUSTER_LOCAL_RANK", &t->local_rank, 1))
	    != MUSTER_OK ||
	    (rv = env_int("MUSTER_LOCAL_SIZE", &t->local_size, 1))
	    != MUSTER_OK ||
	    (rv = env_int("MUSTER_NODE_RANK", &t->node_rank, 1)) != MUSTER_OK ||
	    (rv = env_int("MUSTER_NUM_NODES", &t->num_nodes, 1)) != MUSTER_OK ||
	    (rv = env_timeout(timeout)) != MUSTER_OK)
		return rv;
	return topo_check(t, mst_thread_err(), MST_ERRLEN);
}

/*
 * The job's secret, MUSTER_JOB_SECRET or _FILE, into secret (n bytes):
 * MUSTER_OK, MUSTER_ENOENV when neither is set, else the error (said).
 */
static muster_result
env_secret(char *secret, size_t n)
{
	muster_result rv = mst_rdv_load_secret(secret, n);

	if (rv == MUSTER_OK || rv == MUSTER_ENOENV)
		return rv;
	return mst_fail(NULL, MUSTER_ENOENV, "MUSTER_JOB_SECRET%s: %s",
	    getenv("MUSTER_JOB_SECRET") && *getenv("MUSTER_JOB_SECRET") ?
	    " is too long" : "_FILE cannot be read or is empty",
	    rv & MUSTER_ESYSERR ? strerror(rv & ~MUSTER_ESYSERR) :
	    "expected the secret on its first line");
}

/* A file:// bootstrap: the ring's secret is the job's, else the dir's. */
static muster_result
env_boot_file(struct mst_boot *boot, const char *dir)
{
	char secret[1024];
	muster_result rv;
	int have;

	if ((rv = env_secret(secret, sizeof(secret))) != MUSTER_OK &&
	    rv != MUSTER_ENOENV)
		return rv;
	have = rv == MUSTER_OK;
	if (mst_sodium() != 0)
		return mst_fail(NULL, MUSTER_ENOTSUP, "libsodium failed to "
		    "initialize");
	if (have)
		crypto_generichash(boot->secret, sizeof(boot->secret),
		    (unsigned char *)secret, strlen(secret), NULL, 0);
	sodium_memzero(secret, sizeof(secret));
	if ((rv = mst_boot_file_open(boot, dir, mst_thread_err(), MST_ERRLEN))
	    != MUSTER_OK || have)
		return rv;
	return mst_boot_file_secret(boot, dir, mst_thread_err(), MST_ERRLEN);
}

/* Opens the bootstrap MUSTER_RENDEZVOUS names. */
static muster_result
env_boot(struct mst_boot *boot, const char *rdv, const char *job,
	 const struct mst_topo *t, double timeout)
{
	char secret[1024];
	muster_result rv;

	if (strncmp(rdv, "file://", 7) == 0)
		return env_boot_file(boot, rdv + 7);
	if (strncmp(rdv, "tcp://", 6) != 0)
		return mst_fail(NULL, MUSTER_ENOENV, "MUSTER_RENDEZVOUS='%s': "
		    "expected tcp://HOST:PORT or file://DIR", rdv);
	if (job == NULL || *job == '\0')
		return mst_fail(NULL, MUSTER_ENOENV, "MUSTER_JOB_ID is not "
		    "set");
	if ((rv = env_secret(secret, sizeof(secret))) == MUSTER_ENOENV ||
	    (rv == MUSTER_OK && secret[0] == '\0'))
		return mst_fail(NULL, MUSTER_ENOENV, "MUSTER_JOB_SECRET (or "
		    "MUSTER_JOB_SECRET_FILE) is not set");
	if (rv != MUSTER_OK)
		return rv;
	if (mst_sodium() != 0) {
		sodium_memzero(secret, sizeof(secret));
		return mst_fail(NULL, MUSTER_ENOTSUP, "libsodium failed to "
		    "initialize");
	}
	crypto_generichash(boot->secret, sizeof(boot->secret),
	    (unsigned char *)secret, strlen(secret), NULL, 0);
	rv = mst_boot_rdv_open(boot, rdv, job, secret, t,
	    (int)(timeout * 1000), mst_thread_err(), MST_ERRLEN);
	sodium_memzero(secret, sizeof(secret));
	return rv;
}

muster_result
muster_comm_init_from_env(muster_comm **comm)
{
	struct mst_topo t = { -1, -1, -1, -1, -1, -1 };
	struct mst_boot boot = { 0 };
	const char *rdv, *job;
	struct mst_listen l;
	double timeout;
	muster_result rv;

	if (comm == NULL)
		return mst_fail(NULL, MUSTER_EINVAL, "comm is NULL");
	*comm = NULL;
	if ((rv = env_topo(&t, &timeout)) != MUSTER_OK)
		return rv;
	rdv = getenv("MUSTER_RENDEZVOUS");
	job = getenv("MUSTER_JOB_ID");
	if (rdv == NULL || *rdv == '\0')
		return mst_fail(NULL, MUSTER_ENOENV, "MUSTER_RENDEZVOUS is not "
		    "set: not started by muster?");
	/* before joining: a bad MUSTER_ADDR fails at once, not at the ring */
	if ((rv = mst_listen_from_env(&l, rdv, t.num_nodes > 1,
	    mst_thread_err(), MST_ERRLEN)) != MUSTER_OK ||
	    (rv = env_boot(&boot, rdv, job, &t, timeout)) != MUSTER_OK)
		return rv;
	return comm_init_boot(comm, &boot, &t, timeout, job ? job : rdv,
	    &l, mst_thread_err(), MST_ERRLEN);
}

int
muster_comm_rank(const muster_comm *comm)
{
	return comm ? comm->t.rank : -1;
}

int
muster_comm_size(const muster_comm *comm)
{
	return comm ? comm->t.size : -1;
}

muster_result
muster_comm_abort(muster_comm *comm)
{
	if (comm == NULL)
		return mst_fail(NULL, MUSTER_EINVAL, "comm is NULL");
	comm->aborted = 1;
	mst_nccl_abort(comm->nccl);
	mst_blame(comm, MUSTER_EABORTED, comm->t.rank);
	snprintf(comm->err, sizeof(comm->err), "the communicator was aborted "
	    "(muster_comm_abort)");
	return MUSTER_OK;
}

muster_result
muster_comm_destroy(muster_comm *comm)
{
	if (comm == NULL)
		return MUSTER_OK;
	mst_nccl_free(comm->nccl);
	mst_tcp_free(comm->tcp);
	mst_shm_free(comm->shm);
	if (comm->boot.ops)
		comm->boot.ops->close(comm->boot.ctx);
	free(comm->peers);
	free(comm->leaders);
	free(comm->local_ranks);
	free(comm->acc);
	free(comm->fuse);
	sodium_memzero(comm->boot.secret, sizeof(comm->boot.secret));
	free(comm);
	return MUSTER_OK;
}
