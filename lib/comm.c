/*
 * comm.c: the public API of libmuster: communicator life cycle, argument
 * checks, the allreduce dispatcher (one node: shared memory; several:
 * reduce in the node, TCP ring between leaders, broadcast in the node),
 * the collectives built on it, and group fusion.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "comm.h"
#include "rdv_client.h"
#include "reduce.h"
#include "shm.h"
#include "tcp.h"

static atomic_int comm_seq;

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

/* --- life cycle -------------------------------------------------- */

struct hello {
	struct mst_peer p;
	char tcp[64];
	char shm[64];
};

static uint64_t
fnv1a(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 1099511628211ULL;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 1099511628211ULL;
	return h;
}

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
	return fnv1a(buf, boot);
}

static double
env_us(const char *name, double dflt)
{
	const char *v = getenv(name);
	char *end;
	double d;

	if (v == NULL || *v == '\0')
		return dflt * 1e-6;
	d = strtod(v, &end);
	return (*end == '\0' && d >= 0 ? d : dflt) * 1e-6;
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
	c->spin_s = env_us("MUSTER_SPIN_US",
	    ncpu > 0 && c->host_ranks > ncpu ? 0 : 5);
	c->yield_s = env_us("MUSTER_YIELD_US", 2000);
}

static muster_result
comm_connect(muster_comm *c, const char *job, const char *host,
	     double deadline)
{
	struct hello mine, *all;
	char (*addrs)[64];
	muster_result rv;
	int leader = c->t.local_rank == 0, i;

	memset(&mine, 0, sizeof(mine));
	mine.p.rank = c->t.rank;
	mine.p.local_rank = c->t.local_rank;
	mine.p.local_size = c->t.local_size;
	mine.p.node_rank = c->t.node_rank;
	mine.p.pid = (int32_t)getpid();
	mine.p.host = host_hash();
	if (leader && c->t.local_size > 1 &&
	    (rv = mst_shm_create(c, mine.shm)) != MUSTER_OK)
		return rv;
	if (leader && c->t.num_nodes > 1 &&
	    (rv = mst_tcp_listen(c, host, mine.tcp)) != MUSTER_OK)
		return rv;
	if ((all = calloc((size_t)c->t.size, sizeof(*all))) == NULL)
		return mst_fail(c, MUSTER_ENOMEM, "out of memory");
	if ((rv = mst_boot_allgather(c, "hello", &mine, all, sizeof(mine),
	    deadline)) != MUSTER_OK || (rv = layout(c, all)) != MUSTER_OK)
		goto out;
	wait_policy(c);
	if (c->t.local_size > 1 && (rv = mst_shm_attach(c,
	    all[c->leaders[c->t.node_rank]].shm, deadline)) != MUSTER_OK)
		goto out;
	if (leader && c->t.num_nodes > 1) {
		if ((addrs = calloc((size_t)c->t.num_nodes, 64)) == NULL) {
			rv = mst_fail(c, MUSTER_ENOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < c->t.num_nodes; i++)
			memcpy(addrs[i], all[c->leaders[i]].tcp, 64);
		rv = mst_tcp_connect(c, (const char (*)[64])addrs,
		    fnv1a(job, c->prefix), deadline);
		free(addrs);
	}
out:
	free(all);
	return rv;
}

muster_result
mst_comm_init_boot(muster_comm **out, struct mst_boot *boot,
		   const struct mst_topo *t, double timeout, const char *job,
		   const char *listen_host, char *err, size_t errlen)
{
	muster_comm *c;
	muster_result rv;

	*out = NULL;
	if ((rv = topo_check(t, err, errlen)) != MUSTER_OK) {
		boot->ops->close(boot->ctx);
		return rv;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		boot->ops->close(boot->ctx);
		snprintf(err, errlen, "out of memory");
		return MUSTER_ENOMEM;
	}
	c->t = *t;
	c->timeout = timeout;
	c->boot = *boot;
	snprintf(c->prefix, sizeof(c->prefix), "muster/g%llu/c%d",
	    (unsigned long long)boot->generation,
	    atomic_fetch_add(&comm_seq, 1));
	rv = comm_connect(c, job ? job : "", listen_host ? listen_host :
	    "127.0.0.1", mst_now() + timeout);
	if (rv != MUSTER_OK) {
		snprintf(err, errlen, "%s", c->err);
		muster_comm_destroy(c);
		return rv;
	}
	*out = c;
	return MUSTER_OK;
}

static muster_result
env_int(const char *name, int *v, int required)
{
	const char *s = getenv(name);
	char *end;
	long l;

	if (s == NULL || *s == '\0') {
		if (!required)
			return MUSTER_OK;
		return mst_fail(NULL, MUSTER_ENOENV, "%s is not set: not "
		    "started by muster?", name);
	}
	errno = 0;
	l = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || l < 0 || l > 1 << 24)
		return mst_fail(NULL, MUSTER_ENOENV, "%s='%s' is not a "
		    "non-negative integer", name, s);
	*v = (int)l;
	return MUSTER_OK;
}

/* The address this node's leader listens on for the TCP ring. */
static void
listen_host(const char *rdv, char *out, size_t n)
{
	const char *a = getenv("MUSTER_ADDR");
	char host[256];
	const char *p, *q;

	if (a && *a) {
		snprintf(out, n, "%s", a);
		return;
	}
	snprintf(out, n, "127.0.0.1");
	if (strncmp(rdv, "tcp://", 6) != 0)
		return;
	p = rdv + 6;
	q = strrchr(p, ':');
	if (q == NULL || (size_t)(q - p) >= sizeof(host))
		return;
	memcpy(host, p, (size_t)(q - p));
	host[q - p] = '\0';
	/* a numeric, non-loopback rendezvous host: we are on that network */
	if (strcmp(host, "localhost") != 0 && strncmp(host, "127.", 4) != 0 &&
	    strcmp(host, "*") != 0 && strcmp(host, "0.0.0.0") != 0) {
		char me[256];
		struct addrinfo hints, *res;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_INET;
		if (gethostname(me, sizeof(me)) == 0 &&
		    getaddrinfo(me, NULL, &hints, &res) == 0) {
			inet_ntop(AF_INET,
			    &((struct sockaddr_in *)res->ai_addr)->sin_addr,
			    out, (socklen_t)n);
			freeaddrinfo(res);
		}
	}
}

static muster_result
env_timeout(double *out)
{
	const char *s = getenv("MUSTER_TIMEOUT");
	char *end;
	double d;

	*out = 300;
	if (s == NULL || *s == '\0')
		return MUSTER_OK;
	d = strtod(s, &end);
	if (*end != '\0' || !(d > 0) || d > 1e9)
		return mst_fail(NULL, MUSTER_ENOENV, "MUSTER_TIMEOUT='%s' is "
		    "not a positive number of seconds", s);
	*out = d;
	return MUSTER_OK;
}

muster_result
muster_comm_init_from_env(muster_comm **comm)
{
	struct mst_topo t = { -1, -1, -1, -1, -1, -1 };
	const char *rdv, *job;
	char secret[1024];
	struct mst_boot boot = { 0 };
	char host[64];
	double timeout;
	muster_result rv;

	if (comm == NULL)
		return mst_fail(NULL, MUSTER_EINVAL, "comm is NULL");
	*comm = NULL;
	if ((rv = env_int("MUSTER_RANK", &t.rank, 1)) != MUSTER_OK ||
	    (rv = env_int("MUSTER_SIZE", &t.size, 1)) != MUSTER_OK ||
	    (rv = env_int("MUSTER_LOCAL_RANK", &t.local_rank, 1)) != MUSTER_OK ||
	    (rv = env_int("MUSTER_LOCAL_SIZE", &t.local_size, 1)) != MUSTER_OK ||
	    (rv = env_int("MUSTER_NODE_RANK", &t.node_rank, 1)) != MUSTER_OK ||
	    (rv = env_int("MUSTER_NUM_NODES", &t.num_nodes, 1)) != MUSTER_OK ||
	    (rv = env_timeout(&timeout)) != MUSTER_OK)
		return rv;
	if ((rv = topo_check(&t, mst_thread_err(), MST_ERRLEN)) != MUSTER_OK)
		return rv;
	rdv = getenv("MUSTER_RENDEZVOUS");
	job = getenv("MUSTER_JOB_ID");
	if (rdv == NULL || *rdv == '\0')
		return mst_fail(NULL, MUSTER_ENOENV, "MUSTER_RENDEZVOUS is not "
		    "set: not started by muster?");
	if (strncmp(rdv, "file://", 7) == 0) {
		rv = mst_boot_file_open(&boot, rdv + 7, mst_thread_err(),
		    MST_ERRLEN);
	} else if (strncmp(rdv, "tcp://", 6) == 0) {
		if (job == NULL || *job == '\0')
			return mst_fail(NULL, MUSTER_ENOENV, "MUSTER_JOB_ID is "
			    "not set");
		if (mst_rdv_load_secret(secret, sizeof(secret)) != MUSTER_OK ||
		    secret[0] == '\0')
			return mst_fail(NULL, MUSTER_ENOENV, "MUSTER_JOB_SECRET "
			    "(or MUSTER_JOB_SECRET_FILE) is not set");
		rv = mst_boot_rdv_open(&boot, rdv, job, secret, &t,
		    (int)(timeout * 1000), mst_thread_err(), MST_ERRLEN);
		explicit_bzero(secret, sizeof(secret));
	} else {
		return mst_fail(NULL, MUSTER_ENOENV, "MUSTER_RENDEZVOUS='%s': "
		    "expected tcp://HOST:PORT or file://DIR", rdv);
	}
	if (rv != MUSTER_OK)
		return rv;
	listen_host(rdv, host, sizeof(host));
	return mst_comm_init_boot(comm, &boot, &t, timeout, job ? job : rdv,
	    host, mst_thread_err(), MST_ERRLEN);
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
	free(comm);
	return MUSTER_OK;
}

/* --- collectives ------------------------------------------------- */

static int
grow(void **buf, size_t *cap, size_t n)
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

/* Several nodes: reduce in the node, ring between leaders, broadcast. */
static muster_result
hier_seg(muster_comm *c, const void *send, void *recv, size_t count,
	 muster_dtype dt, muster_op op, double deadline)
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
		if (grow(&c->acc, &c->acc_cap, count * aes) != 0)
			return mst_fail(c, MUSTER_ENOMEM, "out of memory (%zu "
			    "bytes)", count * aes);
		acc = c->acc;
	}
	if (c->t.local_size > 1) {
		if ((rv = mst_shm_reduce_leader(c, send, acc, count, dt, op,
		    deadline)) != MUSTER_OK)
			return rv;
	} else if (acc != recv) {
		const void *src[1] = { send };
		mst_reduce_to_acc(dt, op, acc, src, 1, count);
	}
	if (leader) {
		if ((rv = mst_tcp_allreduce(c, acc, count, adt, op,
		    deadline)) != MUSTER_OK)
			return rv;
		if (acc != recv || op == MUSTER_AVG)
			mst_finalize(dt, op, recv, acc, count, c->t.size);
	}
	if (c->t.local_size > 1)
		return mst_shm_bcast(c, recv, count * muster_dtype_size(dt), 0,
		    deadline);
	return MUSTER_OK;
}

/*
 * In segments of 1 MiB, so a segment reduced in the node is still in
 * cache when its leader sends it and when the node reads the result.
 */
static muster_result
hier_allreduce(muster_comm *c, const void *send, void *recv, size_t count,
	       muster_dtype dt, muster_op op, double deadline)
{
	size_t es = muster_dtype_size(dt), seg = (1u << 20) / es, off;
	muster_result rv;

	for (off = 0; off < count; off += seg) {
		size_t m = count - off < seg ? count - off : seg;
		if ((rv = hier_seg(c, (const char *)send + off * es,
		    (char *)recv + off * es, m, dt, op, deadline)) != MUSTER_OK)
			return rv;
	}
	return MUSTER_OK;
}

muster_result
mst_allreduce(muster_comm *c, const void *send, void *recv, size_t count,
	      muster_dtype dt, muster_op op)
{
	double deadline = mst_now() + c->timeout;

	if (count == 0)
		return MUSTER_OK;
	if (c->t.size == 1) {
		if (send != recv)
			memcpy(recv, send, count * muster_dtype_size(dt));
		return MUSTER_OK;
	}
	if (c->t.num_nodes == 1)
		return mst_shm_allreduce(c, send, recv, count, dt, op,
		    deadline);
	return hier_allreduce(c, send, recv, count, dt, op, deadline);
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

static int
overlap(const void *a, const void *b, size_t n)
{
	const char *x = a, *y = b;

	return a != b && x < y + n && y < x + n;
}

muster_result
mst_check_args(muster_comm *c, const void *send, const void *recv,
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

static muster_result group_add(const void *send, void *recv, size_t count,
			       muster_dtype dt, muster_op op, muster_comm *c);
static __thread int group_active;

muster_result
muster_allreduce(const void *sendbuf, void *recvbuf, size_t count,
		 muster_dtype dtype, muster_op op, muster_comm *comm)
{
	muster_result rv;

	if ((rv = mst_usable(comm)) != MUSTER_OK ||
	    (rv = mst_check_args(comm, sendbuf, recvbuf, count, dtype, op))
	    != MUSTER_OK)
		return rv;
	if (group_active)
		return group_add(sendbuf, recvbuf, count, dtype, op, comm);
	return mst_allreduce(comm, sendbuf, recvbuf, count, dtype, op);
}

muster_result
muster_broadcast(void *buf, size_t count, muster_dtype dtype, int root,
		 muster_comm *comm)
{
	size_t bytes;
	muster_result rv;

	if ((rv = mst_usable(comm)) != MUSTER_OK ||
	    (rv = mst_check_args(comm, buf, buf, count, dtype, MUSTER_SUM))
	    != MUSTER_OK)
		return rv;
	if (root < 0 || root >= comm->t.size)
		return mst_fail(comm, MUSTER_EINVAL, "root %d is not a rank "
		    "(size %d)", root, comm->t.size);
	bytes = count * muster_dtype_size(dtype);
	if (bytes == 0 || comm->t.size == 1)
		return MUSTER_OK;
	if (comm->t.num_nodes == 1)
		return mst_shm_bcast(comm, buf, bytes,
		    comm->peers[root].local_rank, mst_now() + comm->timeout);
	/* across nodes: every byte is root's plus zeros, exactly */
	if (comm->t.rank != root)
		memset(buf, 0, bytes);
	return mst_allreduce(comm, buf, buf, bytes, MUSTER_UINT8, MUSTER_SUM);
}

muster_result
muster_allgather(const void *sendbuf, void *recvbuf, size_t sendcount,
		 muster_dtype dtype, muster_comm *comm)
{
	size_t bytes, total;
	char *mine;
	muster_result rv;

	if ((rv = mst_usable(comm)) != MUSTER_OK ||
	    (rv = mst_check_args(comm, sendbuf, sendbuf, sendcount, dtype,
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
	return mst_allreduce(comm, recvbuf, recvbuf, total, MUSTER_UINT8,
	    MUSTER_SUM);
}

muster_result
muster_barrier(muster_comm *comm)
{
	unsigned char b = 0;
	muster_result rv;

	if ((rv = mst_usable(comm)) != MUSTER_OK)
		return rv;
	return mst_allreduce(comm, &b, &b, 1, MUSTER_UINT8, MUSTER_MAX);
}

/* --- groups (tensor fusion) -------------------------------------- */

struct gop {
	const void *send;
	void *recv;
	size_t count;
	muster_dtype dt;
	muster_op op;
	muster_comm *c;
	int done;
};

static __thread struct gop *group_ops;
static __thread size_t group_n, group_cap;
static __thread muster_result group_err;

static muster_result
group_add(const void *send, void *recv, size_t count, muster_dtype dt,
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
	muster_result rv;

	for (j = i; j < group_n; j++)
		if (same_kind(&g, &group_ops[j]) && (n == 0 ||
		    (total + group_ops[j].count) * es <= FUSION_BYTES)) {
			total += group_ops[j].count;
			group_ops[j].done = 2;	/* in this batch */
			n++;
		}
	if ((rv = mst_usable(c)) == MUSTER_OK && n == 1)
		rv = mst_allreduce(c, g.send, g.recv, g.count, g.dt, g.op);
	else if (rv == MUSTER_OK && grow(&c->fuse, &c->fuse_cap, total * es))
		rv = mst_fail(c, MUSTER_ENOMEM, "out of memory (fusion buffer "
		    "of %zu bytes)", total * es);
	if (rv == MUSTER_OK && n > 1) {
		for (off = 0, j = i; j < group_n; j++)
			if (group_ops[j].done == 2) {
				memcpy((char *)c->fuse + off, group_ops[j].send,
				    group_ops[j].count * es);
				off += group_ops[j].count * es;
			}
		rv = mst_allreduce(c, c->fuse, c->fuse, total, g.dt, g.op);
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
