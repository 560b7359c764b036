/*
 * tune.h: libmuster's tuning knobs, read once per communicator from the
 * environment with the strict parser of common/num.h, then handed to the
 * backends as plain values (they never read the environment).  Private.
 *
 *   MUSTER_SPIN_US     spin before yielding, microseconds [0, 1e6]
 *                      (default 5; 0 with more ranks on the host than CPUs)
 *   MUSTER_YIELD_US    yield before sleeping, microseconds [0, 1e7] (2000)
 *   MUSTER_SHM_SLOT    shared-memory chunk, bytes [4096, 1 GiB], rounded
 *                      down to 4 KiB (262144)
 *   MUSTER_SHM_ONESHOT largest one-shot allreduce in shared memory, bytes
 *                      [0, 1 GiB] (131072 on two ranks, 32768 on more;
 *                      never above the slot)
 *   MUSTER_TCP_SMALL   largest TCP allreduce done as an allgather, bytes
 *                      [0, 1 GiB] (65536)
 *   MUSTER_TCP_SEG     ring segment per rank, bytes [4096, 1 GiB] (262144)
 *   MUSTER_TCP_BUF     socket buffers of the ring, bytes [4096, 1 GiB]
 *                      (unset: the kernel's autotuning)
 *   MUSTER_CHECK_ARGS  1: every collective checks that all ranks called
 *                      it with the same arguments (default); 0: not
 *                      (rank 0's value counts for everyone)
 *
 * A value outside its range, or not a number, fails the communicator's
 * creation with MUSTER_ENOENV and a line naming the variable.
 */
#ifndef MST_TUNE_H
#define MST_TUNE_H

#include <stddef.h>
#include "muster.h"

struct mst_tune {
	double spin_us;		/* < 0: the default for the host's load */
	double yield_us;
	size_t shm_slot;
	long shm_oneshot;	/* < 0: the default for the node's size */
	size_t tcp_small, tcp_seg;
	int tcp_buf;		/* 0: leave the kernel's */
	int check_args;		/* 0 or 1 */
};

/* Fills t from the environment; err gets the line on failure. */
muster_result mst_tune_from_env(struct mst_tune *t, char *err, size_t errlen);

#endif /* MST_TUNE_H */
