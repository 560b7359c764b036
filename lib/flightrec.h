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
 * deadline was computed from), an end a coarse clock_gettime (vDSO,
 * CLOCK_MONOTONIC_COARSE: a precise one would cost more than the rest)
 * and a few stores: no lock, no atomic read-modify-write, no system
 * call (tests/perf/flight.sh measures it).
 */
#ifndef MST_FLIGHTREC_H
#define MST_FLIGHTREC_H

#include <stdint.h>
#include "flight_fmt.h"
#include "muster.h"

struct muster_comm;

/* The mapped header, or NULL when there is no record (the branch). */
extern struct mst_flight_hdr *mst_flight;

/* An entry being written: where, its seqlock word. */
struct mst_flight_slot {
	struct mst_flight_entry *e;
	uint32_t gen;
};

/*
 * Maps MUSTER_FLIGHT's file, once per process (later calls, and calls
 * after a failure, do nothing), and writes rank and pid into it; not a
 * file whose pid is another live process's (a child of the rank that
 * inherited the variable).
 */
void mst_flight_attach(int rank);

/*
 * The start of a collective on c at now (mst_now() seconds): op an enum
 * mst_flight_op, the rest as the user called it (flight_fmt.h).
 * Numbers it (c->flight_seq).  Call only when mst_flight is not NULL.
 */
void mst_flight_begin(struct mst_flight_slot *s, struct muster_comm *c,
		      int op, int dtype, int redop, uint64_t count,
		      uint32_t extra, double now);
/* ... and its end: rv MUSTER_OK is completed, else failed. */
void mst_flight_end(struct mst_flight_slot *s, muster_result rv);

#endif /* MST_FLIGHTREC_H */
