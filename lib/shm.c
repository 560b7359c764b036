/*
 * shm.c: allreduce, reduce-to-leader and broadcast between the ranks of
 * one node through one shared segment (see shm.h).
 *
 * Phases.  Every algorithm is a sequence of phases; a phase ends with a
 * barrier (each rank posts seq+1 and waits for every local rank's seq).
 * Chunk g always uses buffer set g % 2, is written in one phase and read
 * in the next, and chunk g+1 is written at least one phase after chunk g.
 * Hence chunk g+2, which reuses g's set, is written only after a barrier
 * that every reader of g posted after reading: one barrier per chunk,
 * no extra handshakes, across operations of different kinds too.
 */
#include <errno.h>
#include <alloca.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "reduce.h"
#include "shm.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U	/* linux/memfd.h, 6.3: never executable,
				 * as vm.memfd_noexec=2 requires */
#endif

#define SHM_MAGIC 0x6d757374657273ULL
#define LINE 128
#define ALIGN_B 64

struct shm_line {
	_Atomic uint32_t seq;
	_Atomic uint32_t waiters;
	/* what the rank called, by checked collective parity: a rank may
	 * write the next while a slower one still reads this one */
	struct mst_desc desc[2];
	char pad[LINE - 8 - 2 * sizeof(struct mst_desc)];
};

_Static_assert(sizeof(struct mst_desc) == 16, "two uint64_t, compared so");

struct shm_hdr {
	uint64_t magic;
	uint64_t slot;
	uint64_t len;
	uint32_t nlocal;
	_Atomic uint32_t attached;
	_Atomic uint64_t err;	/* code << 32 | rank, first error wins */
	uint64_t cookie;	/* in the name too: the segment is this job's */
	char pad[LINE - 48];
	struct shm_line line[];
};

/* What this rank knows of another local rank. */
struct shm_peer {
	int rank;		/* global */
	int pid;
	int pidfd;		/* -1 for me or when unavailable */
};

struct mst_shm {
	struct shm_hdr *hdr;
	int fd;			/* leader: the memfd, until all mapped it */
	size_t len;
	size_t slot;		/* bytes per slot */
	char *slots;		/* [n][2][slot] */
	char *out;		/* [2][slot] */
	int me, n;
	int node, size;		/* node rank; ranks in the job (AVG) */
	uint32_t seq;		/* my last posted sequence */
	uint64_t gchunk;	/* chunks used so far (buffer parity) */
	uint64_t nchecked;	/* collectives checked so far (desc parity) */
	const struct mst_desc *check;	/* to compare at the next barrier */
	size_t oneshot_max;
	struct shm_peer *peer;	/* [n] */
	double next_alive;
};

static size_t
seg_len(int n, size_t slot, size_t *hdr_len)
{
	size_t h = sizeof(struct shm_hdr) + (size_t)n * sizeof(struct shm_line);

	h = (h + 4095) & ~(size_t)4095;
	*hdr_len = h;
	return h + ((size_t)n * 2 + 2) * slot;
}

static char *
slot_of(struct mst_shm *s, int j, uint64_t g)
{
	return s->slots + ((size_t)j * 2 + (g & 1)) * s->slot;
}

static char *
out_of(struct mst_shm *s, uint64_t g)
{
	return s->out + (g & 1) * s->slot;
}

static int
pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

static int
peer_dead(struct mst_shm *s, int j)
{
	struct pollfd p;

	if (s->peer[j].pidfd < 0)
		return 0;
	p.fd = s->peer[j].pidfd;
	p.events = POLLIN;
	return poll(&p, 1, 0) > 0;
}

/* Fills in the private half of s once the segment is mapped. */
static muster_result
shm_setup(struct mst_shm *s, const struct mst_shm_node *nd, size_t hdr_len,
	  struct mst_fault *f)
{
	int j;

	s->me = nd->me;
	s->n = nd->n;
	s->node = nd->node;
	s->size = nd->size;
	s->slots = (char *)s->hdr + hdr_len;
	s->out = s->slots + (size_t)s->n * 2 * s->slot;
	s->seq = 0;
	s->gchunk = 0;
	s->oneshot_max = nd->oneshot >= 0 ? (size_t)nd->oneshot :
	    s->n <= 2 ? 128 * 1024 : 32 * 1024;
	if (s->oneshot_max > s->slot)
		s->oneshot_max = s->slot;
	if ((s->peer = malloc(sizeof(*s->peer) * (size_t)s->n)) == NULL)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENOMEM, -1,
		    "out of memory");
	for (j = 0; j < s->n; j++) {
		s->peer[j].rank = nd->ranks[j];
		s->peer[j].pid = nd->pids[j];
		s->peer[j].pidfd = j == s->me ? -1 : pidfd_open_(nd->pids[j]);
	}
	return MUSTER_OK;
}

/* A random cookie, so a recycled pid or fd is not taken for ours. */
static uint64_t
shm_cookie(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint64_t)(mst_now() * 1e9) ^ (uint64_t)getpid() << 32;
	return v | 1;
}

/*
 * The segment is a memfd: it has no name in /dev/shm at all, so no way
 * of dying (SIGKILL at any point) leaves a file behind; the kernel frees
 * it with its last mapping.  The other local ranks open it through
 * /proc/PID/fd/FD while the leader holds it open (shm_leader_attach).
 */
muster_result
mst_shm_create(struct mst_shm **out, int n, size_t slot, char name[64],
	       struct mst_fault *f)
{
	struct mst_shm *s;
	size_t hdr_len;
	int e;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENOMEM, -1,
		    "out of memory");
	s->slot = slot;
	s->len = seg_len(n, s->slot, &hdr_len);
	s->fd = memfd_create("muster-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING |
	    MFD_NOEXEC_SEAL);
	if (s->fd < 0 && errno == EINVAL)	/* a kernel before 6.3 */
		s->fd = memfd_create("muster-shm", MFD_CLOEXEC |
		    MFD_ALLOW_SEALING);
	if (s->fd < 0) {
		e = errno;
		free(s);
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ESYSERR | e,
		    -1, "memfd_create: %s", strerror(e));
	}
	/* sealed at its size: no rank can shrink it under the others */
	if (ftruncate(s->fd, (off_t)s->len) != 0 ||
	    fcntl(s->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) != 0 ||
	    (s->hdr = mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_SHARED,
	    s->fd, 0)) == MAP_FAILED) {
		size_t len = s->len;
		e = errno;
		close(s->fd);
		free(s);
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ESYSERR | e, -1,
		    "shared segment of %zu bytes: %s", len, strerror(e));
	}
	s->hdr->slot = s->slot;
	s->hdr->len = s->len;
	s->hdr->nlocal = (uint32_t)n;
	s->hdr->cookie = shm_cookie();
	atomic_store(&s->hdr->attached, 1);
	__atomic_store_n(&s->hdr->magic, SHM_MAGIC, __ATOMIC_RELEASE);
	snprintf(name, 64, "memfd:%d:%d:%016llx", (int)getpid(), s->fd,
	    (unsigned long long)s->hdr->cookie);
	*out = s;
	return MUSTER_OK;
}

/* The leader's memfd is only needed until every local rank opened it. */
static void
shm_close_fd(struct mst_shm *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/*
 * The leader waits until everyone mapped it, then closes its memfd;
 * a local rank that dies first fails it at once.
 */
static muster_result
shm_leader_attach(struct mst_shm *s, const struct mst_shm_node *nd,
		  double deadline, struct mst_fault *f)
{
	size_t hdr_len;
	muster_result rv;
	int j;

	seg_len(nd->n, s->slot, &hdr_len);
	if ((rv = shm_setup(s, nd, hdr_len, f)) != MUSTER_OK) {
		shm_close_fd(s);
		return rv;
	}
	while (atomic_load(&s->hdr->attached) < (uint32_t)s->n) {
		for (j = 1; j < s->n; j++)
			if (peer_dead(s, j)) {
				shm_close_fd(s);
				return mst_fault_set(f, MST_FAULT_LOCAL,
				    MUSTER_EPEER, s->peer[j].rank, "rank %d "
				    "(pid %d, node %d) died before it mapped "
				    "the shared segment", s->peer[j].rank,
				    s->peer[j].pid, s->node);
			}
		if (mst_now() > deadline) {
			shm_close_fd(s);
			return mst_fault_set(f, MST_FAULT_LOCAL,
			    MUSTER_ETIMEDOUT, -1, "timed out waiting for the "
			    "local ranks to map the shared segment");
		}
		usleep(200);
	}
	shm_close_fd(s);
	return MUSTER_OK;
}

/* Opens the leader's memfd by the name it published. */
static int
shm_open_leader(const char *name, uint64_t *cookie)
{
	unsigned long long ck;
	char path[64];
	int pid, fd, end = 0;

	if (sscanf(name, "memfd:%d:%d:%16llx%n", &pid, &fd, &ck, &end) != 3 ||
	    name[end] != '\0' || pid <= 0 || fd < 0) {
		errno = EINVAL;
		return -1;
	}
	*cookie = ck;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	return open(path, O_RDWR | O_CLOEXEC);
}

muster_result
mst_shm_attach(struct mst_shm **sp, const char *name,
	       const struct mst_shm_node *nd, double deadline,
	       struct mst_fault *f)
{
	struct mst_shm *s;
	size_t hdr_len;
	struct stat st;
	uint64_t cookie = 0;
	int fd;

	if (nd->me == 0)
		return shm_leader_attach(*sp, nd, deadline, f);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ENOMEM, -1,
		    "out of memory");
	s->fd = -1;
	if ((fd = shm_open_leader(name, &cookie)) < 0) {
		int e = errno;
		free(s);
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_ESYSERR | e, -1,
		    "cannot open local rank 0's shared segment (%s): %s", name,
		    strerror(e));
	}
	if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(struct shm_hdr) ||
	    (s->hdr = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0)) == MAP_FAILED) {
		close(fd);
		free(s);
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_EPEER, -1,
		    "cannot map shared segment %s", name);
	}
	close(fd);
	s->len = (size_t)st.st_size;
	s->slot = s->hdr->slot;
	*sp = s;
	if (s->hdr->magic != SHM_MAGIC || s->hdr->cookie != cookie ||
	    s->hdr->nlocal != (uint32_t)nd->n ||
	    seg_len(nd->n, s->slot, &hdr_len) != s->len)
		return mst_fault_set(f, MST_FAULT_LOCAL, MUSTER_EPEER, -1,
		    "shared segment %s does not match this job", name);
	atomic_fetch_add(&s->hdr->attached, 1);
	return shm_setup(s, nd, hdr_len, f);
}

void
mst_shm_free(struct mst_shm *s)
{
	int j;

	if (s == NULL)
		return;
	shm_close_fd(s);
	if (s->peer)
		for (j = 0; j < s->n; j++)
			if (s->peer[j].pidfd >= 0)
				close(s->peer[j].pidfd);
	free(s->peer);
	if (s->hdr)
		munmap(s->hdr, s->len);
	free(s);
}

void
mst_shm_poison(struct mst_shm *s, muster_result code, int rank)
{
	uint64_t zero = 0;

	if (s == NULL)
		return;
	atomic_compare_exchange_strong(&s->hdr->err, &zero,
	    (uint64_t)code << 32 | (uint32_t)rank);
	/* wake every sleeper so it sees the error now */
	for (int j = 0; j < s->n; j++)
		syscall(SYS_futex, &s->hdr->line[j].seq, FUTEX_WAKE, INT_MAX,
		    NULL, NULL, 0);
}

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static void
shm_post(struct mst_shm *s)
{
	struct shm_line *l = &s->hdr->line[s->me];

	s->seq++;
	atomic_store(&l->seq, s->seq);
	if (atomic_load(&l->waiters) != 0)
		syscall(SYS_futex, &l->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Turns the shared error word into this rank's error. */
static muster_result
shm_seen_error(struct mst_shm *s, struct mst_fault *f)
{
	uint64_t e = atomic_load(&s->hdr->err);
	muster_result code = (muster_result)(e >> 32);
	int r = (int)(uint32_t)e;

	switch (code) {
	case MUSTER_EABORTED:
		return mst_fault_set(f, MST_FAULT_BROKEN, code, r, "rank %d "
		    "aborted the communicator", r);
	case MUSTER_ETIMEDOUT:
		return mst_fault_set(f, MST_FAULT_BROKEN, code, r, "rank %d "
		    "stalled: a rank on this node timed out waiting for it", r);
	case MUSTER_EINVAL:
		return mst_fault_set(f, MST_FAULT_BROKEN, code, r, "rank %d "
		    "called a collective that does not match the others'", r);
	default:
		return mst_fault_set(f, MST_FAULT_BROKEN, code, r, "rank %d "
		    "failed (died, left or timed out) during a collective", r);
	}
}

/* Every 2 ms: whether local rank j died (pidfd readable). */
static muster_result
shm_check_alive(struct mst_shm *s, int j, double now, struct mst_fault *f)
{
	if (now < s->next_alive)
		return MUSTER_OK;
	s->next_alive = now + 0.002;
	if (!peer_dead(s, j))
		return MUSTER_OK;
	/* it may have said why before it went */
	if (atomic_load(&s->hdr->err) != 0)
		return shm_seen_error(s, f);
	return mst_fault_set(f, MST_FAULT_PEER, MUSTER_EPEER, s->peer[j].rank,
	    "rank %d (pid %d, node %d) died during a collective",
	    s->peer[j].rank, s->peer[j].pid, s->node);
}

/* Slow path of a wait: yield, then sleep on the futex; check for death. */
static muster_result
shm_wait_slow(struct mst_shm *s, int j, uint32_t target, struct mst_wait *w)
{
	struct shm_line *l = &s->hdr->line[j];
	double start = mst_now(), now;
	muster_result rv;
	uint32_t v;

	for (;;) {
		v = atomic_load_explicit(&l->seq, memory_order_acquire);
		if ((int32_t)(v - target) >= 0)
			return MUSTER_OK;
		if (atomic_load_explicit(&s->hdr->err, memory_order_relaxed) != 0)
			return shm_seen_error(s, &w->fault);
		now = mst_now();
		if ((rv = w->check(w, now)) != MUSTER_OK ||
		    (rv = shm_check_alive(s, j, now, &w->fault)) != MUSTER_OK)
			return rv;
		/*
		 * Past the deadline, wait a little longer for a more precise
		 * error from a rank nearer the trouble (a leader that timed
		 * out in the TCP ring names the stalled rank on another node).
		 */
		if (now > w->deadline + (w->timeout < 4 ? w->timeout / 8 : 0.5))
			return mst_fault_set(&w->fault, MST_FAULT_PEER,
			    MUSTER_ETIMEDOUT, s->peer[j].rank, "timed out "
			    "after %gs waiting for rank %d (node %d)",
			    w->timeout, s->peer[j].rank, s->node);
		if (now - start < w->spin_s) {
			cpu_relax();
		} else if (now - start < w->spin_s + w->yield_s) {
			sched_yield();
		} else {
			struct timespec ts = { 0, 5 * 1000 * 1000 };
			atomic_fetch_add(&l->waiters, 1);
			v = atomic_load(&l->seq);
			if ((int32_t)(v - target) < 0)
				syscall(SYS_futex, &l->seq, FUTEX_WAIT, v, &ts,
				    NULL, 0);
			atomic_fetch_sub(&l->waiters, 1);
		}
	}
}

/*
 * The start of a collective: what this rank called (w->desc), for its
 * first barrier to publish and compare.
 */
static void
shm_desc_post(struct mst_shm *s, const struct mst_wait *w)
{
	s->check = w->desc;
}

/* Whether local rank j's descriptor (parity k) differs from d. */
static int
shm_desc_differs(struct mst_shm *s, int j, unsigned k, const uint64_t d[2])
{
	uint64_t b[2];

	memcpy(b, &s->hdr->line[j].desc[k], sizeof(b));
	return ((d[0] ^ b[0]) | (d[1] ^ b[1])) != 0;
}

/*
 * Some rank's descriptor differs from mine: name the first local rank
 * whose differs from local rank 0's, so every rank (each finds some
 * difference) says the same.  Nobody writes these slots again: that
 * takes the next collective's first barrier, which we never post.
 */
static muster_result
shm_desc_mismatch(struct mst_shm *s, unsigned k, struct mst_fault *f)
{
	const struct mst_desc *d0 = &s->hdr->line[0].desc[k];
	uint64_t a[2];
	int j;

	memcpy(a, d0, sizeof(a));
	for (j = 1; j < s->n; j++)
		if (shm_desc_differs(s, j, k, a))
			return mst_fault_mismatch(f, s->peer[j].rank,
			    &s->hdr->line[j].desc[k], s->peer[0].rank, d0);
	return mst_fault_set(f, MST_FAULT_BROKEN, MUSTER_EINVAL, -1,
	    "mismatched collective (the descriptors changed under us)");
}

/*
 * Posts this phase's end and waits for every local rank to post it.  In
 * a collective's first barrier (s->check) the post carries my descriptor
 * and each peer's is compared with mine as soon as its post is seen,
 * while its line is in this CPU's cache (the peer rewrites the line
 * when it moves on).
 */
static muster_result
shm_barrier(struct mst_shm *s, struct mst_wait *w)
{
	unsigned par = (unsigned)(s->nchecked & 1);
	muster_result rv;
	uint64_t mine[2];
	int j, k, differ = 0;

	/* written with the post: the line moves to this CPU once */
	if (s->check) {
		memcpy(mine, s->check, sizeof(mine));
		memcpy(&s->hdr->line[s->me].desc[par], mine, sizeof(mine));
	}
	shm_post(s);
	for (j = 0; j < s->n; j++) {
		struct shm_line *l = &s->hdr->line[j];
		if (j == s->me)
			continue;
		for (k = 0; k < 64; k++) {
			uint32_t v = atomic_load_explicit(&l->seq,
			    memory_order_acquire);
			if ((int32_t)(v - s->seq) >= 0)
				break;
			cpu_relax();
		}
		if (k == 64 &&
		    (rv = shm_wait_slow(s, j, s->seq, w)) != MUSTER_OK)
			return rv;
		if (s->check)
			differ |= shm_desc_differs(s, j, par, mine);
	}
	if (s->check == NULL)
		return MUSTER_OK;
	s->check = NULL;
	s->nchecked++;
	return differ ? shm_desc_mismatch(s, par, &w->fault) : MUSTER_OK;
}

static muster_result
shm_oneshot(struct mst_shm *s, const void *send, void *recv, size_t count,
	    muster_dtype dt, muster_op op, struct mst_wait *w)
{
	const void **srcs;
	uint64_t g = s->gchunk++;
	muster_result rv;
	int j;

	memcpy(slot_of(s, s->me, g), send, count * muster_dtype_size(dt));
	if ((rv = shm_barrier(s, w)) != MUSTER_OK)
		return rv;
	srcs = alloca(sizeof(void *) * (size_t)s->n);
	for (j = 0; j < s->n; j++)
		srcs[j] = j == s->me ? send : slot_of(s, j, g);
	mst_reduce(dt, op, recv, srcs, s->n, count, s->size);
	return MUSTER_OK;
}

/* Elements per chunk and per rank slice, slices 64-byte aligned. */
static void
chunk_geom(struct mst_shm *s, size_t es, size_t *chunk, size_t *slice)
{
	size_t al = ALIGN_B / es;
	size_t ce = s->slot / es;
	size_t sl = (ce / (size_t)s->n) / al * al;

	if (sl == 0)
		sl = al;
	*slice = sl;
	*chunk = sl * (size_t)s->n;
}

/*
 * Two-shot, one chunk at a time.  A chunk is cut into one slice per rank;
 * each rank reduces its own slice, reading its own part straight from
 * sendbuf and the others' from their slots, so it stages only the other
 * slices and copies out only the other ranks' results.
 */
struct ts {
	const char *send;
	char *recv;
	size_t es, ce, sl, count;
	uint64_t g0;
};

/* Chunk q: first element, length, and my slice [*lo, *hi) within it. */
static size_t
ts_chunk(struct mst_shm *s, const struct ts *t, size_t q, size_t *lo,
	 size_t *hi)
{
	size_t off = q * t->ce;
	size_t m = t->count - off < t->ce ? t->count - off : t->ce;

	*lo = (size_t)s->me * t->sl < m ? (size_t)s->me * t->sl : m;
	*hi = *lo + t->sl < m ? *lo + t->sl : m;
	return m;
}

static void
ts_copy_in(struct mst_shm *s, const struct ts *t, size_t q)
{
	size_t lo, hi, m = ts_chunk(s, t, q, &lo, &hi), es = t->es;
	const char *src = t->send + q * t->ce * es;
	char *dst = slot_of(s, s->me, t->g0 + q);

	memcpy(dst, src, lo * es);
	memcpy(dst + hi * es, src + hi * es, (m - hi) * es);
}

static void
ts_reduce(struct mst_shm *s, const struct ts *t, size_t q, muster_dtype dt,
	  muster_op op)
{
	size_t lo, hi, es = t->es, off = q * t->ce;
	const void **srcs = alloca(sizeof(void *) * (size_t)s->n);
	int j;

	ts_chunk(s, t, q, &lo, &hi);
	if (lo == hi)
		return;
	for (j = 0; j < s->n; j++)
		srcs[j] = j == s->me ? t->send + (off + lo) * es :
		    slot_of(s, j, t->g0 + q) + lo * es;
	mst_reduce(dt, op, t->recv + (off + lo) * es, srcs, s->n, hi - lo,
	    s->size);
	memcpy(out_of(s, t->g0 + q) + lo * es, t->recv + (off + lo) * es,
	    (hi - lo) * es);
}

static void
ts_copy_out(struct mst_shm *s, const struct ts *t, size_t q)
{
	size_t lo, hi, m = ts_chunk(s, t, q, &lo, &hi), es = t->es;
	char *dst = t->recv + q * t->ce * es;
	const char *src = out_of(s, t->g0 + q);

	memcpy(dst, src, lo * es);
	memcpy(dst + hi * es, src + hi * es, (m - hi) * es);
}

static muster_result
shm_twoshot(struct mst_shm *s, const void *send, void *recv, size_t count,
	    muster_dtype dt, muster_op op, struct mst_wait *w)
{
	struct ts t = { send, recv, muster_dtype_size(dt), 0, 0, count,
	    s->gchunk };
	size_t nchunks, p;
	muster_result rv;

	chunk_geom(s, t.es, &t.ce, &t.sl);
	nchunks = (count + t.ce - 1) / t.ce;
	s->gchunk += nchunks;
	for (p = 0; p < nchunks + 2; p++) {
		if (p >= 2)
			ts_copy_out(s, &t, p - 2);
		if (p >= 1 && p - 1 < nchunks)
			ts_reduce(s, &t, p - 1, dt, op);
		if (p < nchunks)
			ts_copy_in(s, &t, p);
		if (p <= nchunks &&
		    (rv = shm_barrier(s, w)) != MUSTER_OK)
			return rv;
	}
	return MUSTER_OK;
}

muster_result
mst_shm_allreduce(struct mst_shm *s, const void *sendbuf, void *recvbuf,
		  size_t count, muster_dtype dt, muster_op op,
		  struct mst_wait *w)
{
	size_t bytes = count * muster_dtype_size(dt);

	shm_desc_post(s, w);
	if (bytes <= s->oneshot_max)
		return shm_oneshot(s, sendbuf, recvbuf, count, dt, op, w);
	return shm_twoshot(s, sendbuf, recvbuf, count, dt, op, w);
}

muster_result
mst_shm_reduce_leader(struct mst_shm *s, const void *sendbuf, void *acc,
		      size_t count, muster_dtype dt, muster_op op,
		      struct mst_wait *w)
{
	size_t es = muster_dtype_size(dt);
	size_t aes = muster_dtype_size(mst_acc_dtype(dt));
	size_t ce = s->slot / es, nchunks = (count + ce - 1) / ce, p;
	const void **srcs = alloca(sizeof(void *) * (size_t)s->n);
	uint64_t g0 = s->gchunk;
	muster_result rv;

	shm_desc_post(s, w);
	s->gchunk += nchunks;
	for (p = 0; p <= nchunks; p++) {
		if (p >= 1 && s->me == 0) {
			size_t q = p - 1, off = q * ce;
			size_t m = count - off < ce ? count - off : ce;
			for (int j = 0; j < s->n; j++)
				srcs[j] = j == 0 ?
				    (const char *)sendbuf + off * es :
				    slot_of(s, j, g0 + q);
			mst_reduce_to_acc(dt, op, (char *)acc + off * aes, srcs,
			    s->n, m);
		}
		if (p < nchunks) {
			size_t off = p * ce;
			size_t m = count - off < ce ? count - off : ce;
			if (s->me != 0)
				memcpy(slot_of(s, s->me, g0 + p),
				    (const char *)sendbuf + off * es, m * es);
			if ((rv = shm_barrier(s, w)) != MUSTER_OK)
				return rv;
		}
	}
	return MUSTER_OK;
}

muster_result
mst_shm_bcast(struct mst_shm *s, void *buf, size_t bytes, int root,
	      struct mst_wait *w)
{
	size_t ce = s->slot, nchunks = (bytes + ce - 1) / ce, p;
	uint64_t g0 = s->gchunk;
	muster_result rv;

	shm_desc_post(s, w);
	s->gchunk += nchunks;
	for (p = 0; p <= nchunks; p++) {
		if (p >= 1 && s->me != root) {
			size_t off = (p - 1) * ce;
			size_t m = bytes - off < ce ? bytes - off : ce;
			memcpy((char *)buf + off, out_of(s, g0 + p - 1), m);
		}
		if (p < nchunks) {
			size_t off = p * ce;
			size_t m = bytes - off < ce ? bytes - off : ce;
			if (s->me == root)
				memcpy(out_of(s, g0 + p), (char *)buf + off, m);
			if ((rv = shm_barrier(s, w)) != MUSTER_OK)
				return rv;
		}
	}
	return MUSTER_OK;
}
