/*
 * flight_fmt.h: the flight record's format, the one definition that
 * libmuster (the writer, lib/flightrec.c) and the launcher (its node's
 * agent, the reader, launcher/flight.h) share.  Shared (common/).
 *
 * A flight record is one small file per rank that the rank's agent
 * creates (mode 0600, in its private directory) and names in the rank's
 * MUSTER_FLIGHT; libmuster maps it MAP_SHARED at its first
 * communicator's init and records there every collective it runs, so
 * the agent can tell, without stopping anyone, which collective each
 * rank is in, since when, and which it last completed.  Native byte
 * order: the reader is on the writer's machine.
 *
 * The file: a header (struct mst_flight_hdr, MST_FLIGHT_HDR_SIZE bytes)
 * then a ring of nring entries (struct mst_flight_entry, 64 bytes each):
 *
 *   magic, version	MST_FLIGHT_MAGIC, MST_FLIGHT_VERSION
 *   hdr_size, entry_size, nring	the layout (a reader checks them;
 *			nring is a power of two, at most MST_FLIGHT_RING_MAX)
 *   rank		the agent's, at creation; libmuster writes its
 *			MUSTER_RANK there when it attaches
 *   pid		0 until a process attached (no libmuster yet)
 *   head		entries ever written: entry i (0, 1, ...) is in
 *			slot i % nring, the newest in (head - 1) % nring
 *   last_completed	the sequence number (below) of the last
 *			collective completed (on any communicator)
 *   last_started, progress_ns	not written since version 2 (a store
 *			each was a tenth of the record's cost): the newest
 *			entry's seq and time say them (launcher/flight.h)
 *   wall_base_ns	CLOCK_REALTIME - CLOCK_MONOTONIC at attach, ns:
 *			wall time of a monotonic t is t + wall_base_ns
 *
 * An entry is one collective call on one communicator (a fused group is
 * one: MST_FLIGHT_GROUP), with
 *
 *   gen		its seqlock word: odd while the writer changes
 *			the entry, bumped twice per change
 *   idx		the entry's index (head's value when written)
 *   seq		the collective's number on its communicator: 1 for
 *			the first, +1 per call (trivial ones too: count 0,
 *			one rank), the same on every rank that calls the
 *			same collectives in the same order
 *   op, dtype, redop	enum mst_flight_op, muster_dtype and muster_op as
 *			the user called it (barrier: uint8, max)
 *   count		elements (allgather: per rank; group: all fused)
 *   comm, comm_size	the communicator's id (0 for the process's first,
 *			1 for the next...) and its ranks
 *   extra		broadcast: the root; group: allreduces fused
 *   state		MST_FLIGHT_STARTED, _COMPLETED or _FAILED
 *   result		the muster_result of a failed one, else 0
 *   t_start_ns, t_end_ns	CLOCK_MONOTONIC; t_end_ns meaningless
 *			while it is STARTED (the slot's previous entry's:
 *			not cleared, a store less), then
 *			CLOCK_MONOTONIC_COARSE's (the last tick: ms
 *			resolution), never before t_start_ns; for a quick
 *			one (under 64 KiB, never past its spin: it took
 *			microseconds) t_start_ns, no clock read
 *
 * The writer never locks and never makes a system call: per change it
 * stores gen + 1, a release fence, the fields (a start all but t_end_ns,
 * an end state, t_end_ns and a failure's result), then gen + 2 (release);
 * a reader in another process copies the entry between two loads of gen
 * and keeps the copy only when both are equal and even (struct
 * mst_flight_entry's fields are read and written with relaxed atomics,
 * so the copy is a data race for neither side).  head is advanced by a
 * plain load and store, not an atomic add (a third of the cost): two
 * threads that start collectives at the same moment (on two
 * communicators) may write the same slot, whose entry then holds one of
 * them or a mix that a reader cannot tell apart; one thread per process
 * doing collectives, the usual case, never does.  An allreduce on device buffers
 * (muster_allreduce_cuda) completes when NCCL took it (enqueued).
 */
#ifndef MST_FLIGHT_FMT_H
#define MST_FLIGHT_FMT_H

#include <stdatomic.h>
#include <stdint.h>

#define MST_FLIGHT_ENV "MUSTER_FLIGHT"
#define MST_FLIGHT_MAGIC 0x544847494c46534dULL	/* "MSFLIGHT" */
#define MST_FLIGHT_VERSION 2	/* 2: last_started, progress_ns unused */
#define MST_FLIGHT_HDR_SIZE 128
#define MST_FLIGHT_RING 64		/* entries the agent's files hold */
#define MST_FLIGHT_RING_MAX 4096	/* the most a reader takes */

enum mst_flight_op {
	MST_FLIGHT_ALLREDUCE = 1, MST_FLIGHT_BROADCAST, MST_FLIGHT_ALLGATHER,
	MST_FLIGHT_BARRIER, MST_FLIGHT_GROUP, MST_FLIGHT_ALLREDUCE_CUDA
};

enum mst_flight_state {
	MST_FLIGHT_EMPTY = 0, MST_FLIGHT_STARTED, MST_FLIGHT_COMPLETED,
	MST_FLIGHT_FAILED
};

struct mst_flight_hdr {
	uint64_t magic;
	uint32_t version, hdr_size;
	uint32_t entry_size, nring;
	int32_t rank, pid;
	_Atomic uint64_t head;
	_Atomic uint64_t last_started, last_completed;
	_Atomic uint64_t progress_ns;
	uint64_t wall_base_ns;
	char pad[MST_FLIGHT_HDR_SIZE - 72];
};

/*
 * The unions are the writer's: what it writes together is one store (a
 * store was a nanosecond of the record's cost); readers read the fields.
 */
struct mst_flight_entry {
	_Atomic uint32_t gen;
	union {
		struct { uint8_t op, dtype, redop, state; };
		uint32_t what;
	};
	uint64_t idx, seq, count;
	union {
		struct { uint32_t comm, comm_size; };
		uint64_t who;
	};
	union {
		struct { uint32_t extra; int32_t result; };
		uint64_t how;
	};
	int64_t t_start_ns, t_end_ns;
};

_Static_assert(sizeof(struct mst_flight_hdr) == MST_FLIGHT_HDR_SIZE,
    "the header's size is the format's");
_Static_assert(sizeof(struct mst_flight_entry) == 64, "one cache line");

/* The file's size for nring entries. */
#define MST_FLIGHT_SIZE(nring) \
	((uint64_t)MST_FLIGHT_HDR_SIZE + (uint64_t)(nring) * 64)

/* The header's layout is this format's, in a file of size bytes. */
static inline int
mst_flight_layout_ok(const struct mst_flight_hdr *h, uint64_t size)
{
	return h->magic == MST_FLIGHT_MAGIC &&
	    h->version == MST_FLIGHT_VERSION &&
	    h->hdr_size == MST_FLIGHT_HDR_SIZE &&
	    h->entry_size == sizeof(struct mst_flight_entry) &&
	    h->nring > 0 && h->nring <= MST_FLIGHT_RING_MAX &&
	    (h->nring & (h->nring - 1)) == 0 &&	/* a mask, not a division */
	    MST_FLIGHT_SIZE(h->nring) <= size;
}

/* A field of an entry, relaxed (the seqlock orders them). */
#define MST_FLIGHT_PUT(f, v) __atomic_store_n(&(f), (v), __ATOMIC_RELAXED)
#define MST_FLIGHT_GET(f) __atomic_load_n(&(f), __ATOMIC_RELAXED)

#endif /* MST_FLIGHT_FMT_H */
