/*
 * flightrec.c: the flight record's writer (flightrec.h; the format:
 * common/flight_fmt.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "backend.h"
#include "comm.h"
#include "flightrec.h"

_Static_assert((int)MST_K_ALLREDUCE == (int)MST_FLIGHT_ALLREDUCE &&
    (int)MST_K_BROADCAST == (int)MST_FLIGHT_BROADCAST &&
    (int)MST_K_ALLGATHER == (int)MST_FLIGHT_ALLGATHER &&
    (int)MST_K_BARRIER == (int)MST_FLIGHT_BARRIER &&
    (int)MST_K_GROUP == (int)MST_FLIGHT_GROUP,
    "dispatch.c passes a collective's kind as its op");

struct mst_flight_hdr *mst_flight;

static pthread_once_t attach_once = PTHREAD_ONCE_INIT;
static int attach_rank;

static int64_t
ns_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A plain file of ours, mapped; a bad one is no record (never said). */
static void
attach(void)
{
	const char *path = getenv(MST_FLIGHT_ENV);
	struct mst_flight_hdr *h;
	struct stat st;
	int32_t old;
	int fd;

	if (path == NULL || *path == '\0')
		return;
	if ((fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY))
	    < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() ||
	    (uint64_t)st.st_size < MST_FLIGHT_SIZE(1) ||
	    (uint64_t)st.st_size > MST_FLIGHT_SIZE(MST_FLIGHT_RING_MAX)) {
		close(fd);
		return;
	}
	h = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	close(fd);
	if (h == MAP_FAILED)
		return;
	old = h->pid;
	/* the record of another live process of this rank (a child that
	 * inherited MUSTER_FLIGHT and made a communicator) stays its own */
	if (!mst_flight_layout_ok(h, (uint64_t)st.st_size) ||
	    (old != 0 && old != getpid() && (kill(old, 0) == 0 ||
	    errno == EPERM))) {
		munmap(h, (size_t)st.st_size);
		return;
	}
	h->wall_base_ns = (uint64_t)(ns_of(CLOCK_REALTIME) -
	    ns_of(CLOCK_MONOTONIC));
	h->rank = attach_rank;
	__atomic_store_n(&h->pid, (int32_t)getpid(), __ATOMIC_RELEASE);
	mst_flight = h;
}

void
mst_flight_attach(int rank)
{
	attach_rank = rank;
	(void)pthread_once(&attach_once, attach);
}

/* The writer's half of the seqlock (flight_fmt.h): odd, fence, ... */
static uint32_t
entry_open(struct mst_flight_entry *e)
{
	uint32_t g = atomic_load_explicit(&e->gen, memory_order_relaxed);

	g |= 1;		/* a writer killed mid-entry left it odd */
	atomic_store_explicit(&e->gen, g, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	return g;
}

static void
entry_close(struct mst_flight_entry *e, uint32_t g)
{
	atomic_store_explicit(&e->gen, g + 1, memory_order_release);
}

void
mst_flight_begin(struct mst_flight_slot *s, struct muster_comm *c, int op,
		 int dtype, int redop, uint64_t count, uint32_t extra,
		 double now)
{
	struct mst_flight_hdr *h = mst_flight;
	/* not an atomic add, which costs a third of the record: threads
	 * running collectives at the same time may share a slot */
	uint64_t i = atomic_load_explicit(&h->head, memory_order_relaxed);
	struct mst_flight_entry *e = (struct mst_flight_entry *)(h + 1) +
	    (i & (h->nring - 1));
	uint64_t seq = ++c->flight_seq;
	int64_t t = (int64_t)(now * 1e9);
	uint32_t g = entry_open(e);

	atomic_store_explicit(&h->head, i + 1, memory_order_relaxed);
	MST_FLIGHT_PUT(e->op, (uint8_t)op);
	MST_FLIGHT_PUT(e->dtype, (uint8_t)dtype);
	MST_FLIGHT_PUT(e->redop, (uint8_t)redop);
	MST_FLIGHT_PUT(e->state, (uint8_t)MST_FLIGHT_STARTED);
	MST_FLIGHT_PUT(e->idx, i);
	MST_FLIGHT_PUT(e->seq, seq);
	MST_FLIGHT_PUT(e->count, count);
	MST_FLIGHT_PUT(e->comm, c->flight_id);
	MST_FLIGHT_PUT(e->comm_size, (uint32_t)c->t.size);
	MST_FLIGHT_PUT(e->extra, extra);
	MST_FLIGHT_PUT(e->result, 0);
	MST_FLIGHT_PUT(e->t_start_ns, t);
	MST_FLIGHT_PUT(e->t_end_ns, 0);
	entry_close(e, g);
	atomic_store_explicit(&h->last_started, seq, memory_order_relaxed);
	atomic_store_explicit(&h->progress_ns, (uint64_t)t,
	    memory_order_relaxed);
	s->e = e;
	s->gen = g + 1;
}

/*
 * The end's time: the coarse clock (the last tick, a few ms behind; a
 * precise clock_gettime costs more than 10% of a small allreduce), never
 * before the start.
 */
void
mst_flight_end(struct mst_flight_slot *s, muster_result rv)
{
	struct mst_flight_entry *e = s->e;
	int64_t t = ns_of(CLOCK_MONOTONIC_COARSE), t0;
	uint32_t g;

	/* another thread took the slot since (nring in flight): leave it */
	if (atomic_load_explicit(&e->gen, memory_order_relaxed) != s->gen)
		return;
	if (t < (t0 = MST_FLIGHT_GET(e->t_start_ns)))
		t = t0;
	g = entry_open(e);
	MST_FLIGHT_PUT(e->state, (uint8_t)(rv == MUSTER_OK ?
	    MST_FLIGHT_COMPLETED : MST_FLIGHT_FAILED));
	MST_FLIGHT_PUT(e->result, (int32_t)rv);
	MST_FLIGHT_PUT(e->t_end_ns, t);
	entry_close(e, g);
	if (rv == MUSTER_OK)
		atomic_store_explicit(&mst_flight->last_completed,
		    MST_FLIGHT_GET(e->seq), memory_order_relaxed);
	atomic_store_explicit(&mst_flight->progress_ns, (uint64_t)t,
	    memory_order_relaxed);
}
