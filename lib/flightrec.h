/*
 * flightrec.h: libmuster's side of the flight record (the format:
 * common/flight_fmt.h): the file MUSTER_FLIGHT names, mapped once per
 * process at the first communicator's init, and each collective's start
 * and end written into its ring.  Private.
 *
 * Unset (or a file that is not one the agent made: not a regular file
 * of ours, too small, another magic or layout), nothing is mapped and
 * each collective pays one predictable branch on mst_flight.  Set, a
 * start costs a dozen stores (its time is the one the collective's
 * deadline was computed from), an end a few stores, and for a
 * collective that waited or moved 64 KiB or more a coarse clock_gettime
 * (vDSO, CLOCK_MONOTONIC_COARSE): no lock, no atomic read-modify-write,
 * no system call, no call (inline; tests/perf/flight.sh measures it).
 * What is left is 16 stores to lines in this CPU's cache (the start's
 * 11: the entry, its seqlock word twice, head, c->flight_seq; the end's
 * 5, last_completed one of them): about 5 ns on a
 * core that retires one store per cycle, 10 ns with the coarse clock;
 * under 1% of an allreduce of 0.5 us or more.
 */
#ifndef MST_FLIGHTREC_H
#define MST_FLIGHTREC_H

#include <stdatomic.h>
#include <stdint.h>
#include "comm.h"
#include "flight_fmt.h"
#include "muster.h"

/* The mapped header, or NULL when there is no record (the branch). */
extern struct mst_flight_hdr *mst_flight;

/* An entry being written: where, its seqlock word, what it holds. */
struct mst_flight_slot {
	struct mst_flight_entry *e;
	uint32_t gen;
	uint64_t seq;
	int64_t t_start;
};

/*
 * Maps MUSTER_FLIGHT's file, once per process (later calls, and calls
 * after a failure, do nothing), and writes rank and pid into it; not a
 * file whose pid is another live process's (a child of the rank that
 * inherited the variable).
 */
void mst_flight_attach(int rank);

/* The writer's half of an entry's seqlock (flight_fmt.h): odd, ... */
static inline uint32_t
mst_flight_open(struct mst_flight_entry *e)
{
	/* | 1: a writer killed mid-entry left it odd */
	uint32_t g = atomic_load_explicit(&e->gen, memory_order_relaxed) | 1;

	atomic_store_explicit(&e->gen, g, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	return g;
}

/* ... the fields, then even again (release). */
static inline void
mst_flight_close(struct mst_flight_entry *e, uint32_t g)
{
	atomic_store_explicit(&e->gen, g + 1, memory_order_release);
}

/* An entry's what (flight_fmt.h): the four bytes as one word. */
static inline uint32_t
mst_flight_what(int op, int dtype, int redop, int state)
{
	union { struct { uint8_t b[4]; } s; uint32_t w; } u = { { {
	    (uint8_t)op, (uint8_t)dtype, (uint8_t)redop, (uint8_t)state } } };

	return u.w;
}

/* Its who or how: two 32-bit fields as one word. */
static inline uint64_t
mst_flight_pair(uint32_t first, uint32_t second)
{
	union { struct { uint32_t a, b; } s; uint64_t w; } u = { { first,
	    second } };

	return u.w;
}

/*
 * The start of a collective on c at now (mst_now() seconds): op an enum
 * mst_flight_op, the rest as the user called it (flight_fmt.h).
 * Numbers it (c->flight_seq).  Call only when mst_flight is not NULL.
 * Inline: a call and its saved registers were a third of the cost.
 */
static inline void
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
	uint32_t g = mst_flight_open(e);

	atomic_store_explicit(&h->head, i + 1, memory_order_relaxed);
	MST_FLIGHT_PUT(e->what, mst_flight_what(op, dtype, redop,
	    MST_FLIGHT_STARTED));
	MST_FLIGHT_PUT(e->idx, i);
	MST_FLIGHT_PUT(e->seq, seq);
	MST_FLIGHT_PUT(e->count, count);
	MST_FLIGHT_PUT(e->who, mst_flight_pair(c->flight_id,
	    (uint32_t)c->t.size));
	MST_FLIGHT_PUT(e->how, mst_flight_pair(extra, 0));
	MST_FLIGHT_PUT(e->t_start_ns, t);	/* t_end_ns: stale until
						 * it ended (flight_fmt.h) */
	mst_flight_close(e, g);
	s->e = e;
	s->gen = g + 1;
	s->seq = seq;
	s->t_start = t;
}

/* The end's time: CLOCK_MONOTONIC_COARSE's ns (out of line). */
int64_t mst_flight_coarse_ns(void);

/*
 * ... its end at t_ns (not before its start): rv MUSTER_OK is
 * completed, else failed.
 */
static inline void
mst_flight_end_at(struct mst_flight_slot *s, muster_result rv, int64_t t)
{
	struct mst_flight_entry *e = s->e;
	uint32_t g;

	/* another thread took the slot since (nring in flight): leave it */
	if (atomic_load_explicit(&e->gen, memory_order_relaxed) != s->gen)
		return;
	if (t < s->t_start)
		t = s->t_start;
	g = mst_flight_open(e);
	if (__builtin_expect(rv == MUSTER_OK, 1)) {	/* result: 0 */
		MST_FLIGHT_PUT(e->state, (uint8_t)MST_FLIGHT_COMPLETED);
	} else {
		MST_FLIGHT_PUT(e->state, (uint8_t)MST_FLIGHT_FAILED);
		MST_FLIGHT_PUT(e->result, (int32_t)rv);
	}
	MST_FLIGHT_PUT(e->t_end_ns, t);
	mst_flight_close(e, g);
	if (rv == MUSTER_OK)
		atomic_store_explicit(&mst_flight->last_completed, s->seq,
		    memory_order_relaxed);
}

/*
 * The end of one that took time, at the coarse clock (the last tick, a
 * few ms behind: a precise clock_gettime costs more than 10% of a small
 * allreduce): one that waited (struct mst_wait's waited), moved at least
 * MST_FLIGHT_TIMED_BYTES, or whose length is not ours to know (an NCCL
 * enqueue).
 */
static inline void
mst_flight_end(struct mst_flight_slot *s, muster_result rv)
{
	mst_flight_end_at(s, rv, mst_flight_coarse_ns());
}

/*
 * The end of a quick one, at its start's time, no clock read (the
 * clock was most of the record's cost): it moved less than
 * MST_FLIGHT_TIMED_BYTES and never waited past its spin (a few us), so
 * it ended microseconds after it started, unless its CPU was taken from
 * it meanwhile; the coarse clock, a tick behind, would say the same.
 */
static inline void
mst_flight_end_quick(struct mst_flight_slot *s, muster_result rv)
{
	mst_flight_end_at(s, rv, 0);
}

#define MST_FLIGHT_TIMED_BYTES (64 * 1024)

#endif /* MST_FLIGHTREC_H */
