/*
 * backend.h: what a transport backend (shm.c, tcp.c, nccl.c) sees of the
 * core, and how it answers.  Private.
 *
 * Backends know nothing of the communicator: the core (init.c,
 * dispatch.c, coll.c) hands each call what it needs, and a backend never
 * calls back into the core's health (health.h) nor into another
 * backend.  A failing backend call returns its code and fills a fault:
 *
 *   code  the muster_result it returned;
 *   kind  what the failure means to the communicator (below);
 *   rank  the global rank to blame (MST_FAULT_PEER, MST_FAULT_RELAY),
 *         else the rank it names or -1;
 *   msg   the sentence for muster_comm_last_error().
 *
 * The caller hands the fault to mst_fault_report() (health.h), which
 * does the blaming, so a failure is announced in one place.
 *
 * Collectives also get a wait context: the deadline, the waiting policy
 * (spin, then sched_yield, then sleep), and a check the backend calls
 * where a slow wait wakes up (at most every few ms, never per spin of a
 * fast path).  A check that fails has filled w->fault; the backend
 * returns its code at once.
 */
#ifndef MST_BACKEND_H
#define MST_BACKEND_H

#include <stdint.h>
#include "err.h"
#include "muster.h"

enum mst_fault_kind {
	/* this rank failed (out of memory, bad address): the ranks are
	 * still in step and the communicator stays usable */
	MST_FAULT_LOCAL,
	/* the communicator is broken, nobody new to blame: the failure was
	 * already announced (shared error word, job abort) or has no
	 * culprit (NCCL) */
	MST_FAULT_BROKEN,
	/* this rank found that rank died or stalled: blame it */
	MST_FAULT_PEER,
	/* a ring neighbour closed or stalled, which may only pass on the
	 * failure of a rank behind it: blame the rank someone published,
	 * else the neighbour */
	MST_FAULT_RELAY,
	/* the ranks called different collectives (struct mst_desc): msg
	 * names both, rank the one that differs; every rank must fail */
	MST_FAULT_MISMATCH,
};

struct mst_fault {
	muster_result code;
	enum mst_fault_kind kind;
	int rank;
	char msg[MST_ERRLEN];
};

/* Fills f (printf-style) and returns code. */
muster_result mst_fault_set(struct mst_fault *f, enum mst_fault_kind kind,
			    muster_result code, int rank, const char *fmt,
			    ...) __attribute__((format(printf, 5, 6)));

/*
 * What a rank called, as the user called it, for the argument check:
 * each rank publishes its descriptor at the start of a collective (in
 * its shared-memory line; a leader in the first bytes it sends on the
 * ring) and compares it with the others' where it first waits for
 * them, so a mismatch costs no extra round.  16 bytes, compared whole:
 * two of them share the cache line of the rank's sequence word.
 */
enum mst_kind {	/* the flight record's ops too (flight_fmt.h) */
	MST_K_ALLREDUCE = 1, MST_K_BROADCAST, MST_K_ALLGATHER, MST_K_BARRIER,
	MST_K_GROUP
};

struct mst_desc {
	uint8_t kind;		/* enum mst_kind */
	uint8_t dtype, op;
	uint8_t nops;		/* group: allreduces fused (at most 255) */
	uint32_t extra;		/* broadcast: root; group: hash of the
				 * fused counts; else 0 */
	uint64_t count;		/* elements (group: of all the fused ones) */
};

/*
 * A mismatch between rank a (descriptor da) and rank b: fills f
 * (MST_FAULT_MISMATCH, MUSTER_EINVAL, blaming the higher rank) with a
 * sentence that reads the same whichever rank writes it, and returns
 * MUSTER_EINVAL.
 */
muster_result mst_fault_mismatch(struct mst_fault *f, int a,
				 const struct mst_desc *da, int b,
				 const struct mst_desc *db);

struct mst_wait {
	double deadline;	/* mst_now() seconds: give up after it */
	double timeout;		/* the operation's length, seconds */
	double spin_s, yield_s;	/* spin this long, then yield */
	/* MUSTER_OK, or a failure found elsewhere (f filled) */
	muster_result (*check)(struct mst_wait *w, double now);
	void *arg;		/* the check's */
	/* what this rank called, to compare with the others (NULL: no
	 * check, or already done for this collective) */
	const struct mst_desc *desc;
	struct mst_fault fault;	/* out */
	/* out: a wait went past its spin into the slow path, which calls
	 * check (the flight record then reads the clock for the end) */
	int waited;
};

#endif /* MST_BACKEND_H */
