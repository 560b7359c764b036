/*
 * muster.h: the whole public API of libmuster.
 *
 * libmuster gives a process started by the muster launcher (or any process
 * that has the MUSTER_* environment) a communicator over every rank of its
 * job, and collectives on it: allreduce for Horovod-style gradient
 * averaging, broadcast, allgather and barrier.  Ranks on one host talk
 * through shared memory, hosts through TCP, GPU buffers through NCCL when
 * the library was built with it.
 *
 * Rules every function keeps:
 *  - it never prints, exits or aborts on bad input: it returns a code, and
 *    muster_comm_last_error() says what was wrong;
 *  - every operation has a deadline (MUSTER_TIMEOUT seconds, default 300);
 *    a dead or stalled peer gives MUSTER_EPEER or MUSTER_ETIMEDOUT naming
 *    the rank, never a hang;
 *  - results are bit-identical on every rank and from run to run.
 *
 * Result codes are stable: they are never renumbered.
 */
#ifndef MUSTER_H
#define MUSTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MUSTER_VERSION_MAJOR 0
#define MUSTER_VERSION_MINOR 1
#define MUSTER_VERSION_PATCH 0
#define MUSTER_VERSION_STRING "0.1.0"

typedef struct muster_comm muster_comm;	/* opaque */

typedef enum {
	MUSTER_OK = 0,
	MUSTER_ENOMEM = 1,	/* out of memory */
	MUSTER_EINVAL = 2,	/* bad argument */
	MUSTER_ETIMEDOUT = 3,	/* deadline passed */
	MUSTER_EPEER = 4,	/* a peer died, left or sent garbage */
	MUSTER_EABORTED = 5,	/* the communicator or the job was aborted */
	MUSTER_ENOTSUP = 6,	/* not supported in this build or setup */
	MUSTER_ENOENV = 7,	/* not started by muster: environment missing */
	MUSTER_ERENDEZVOUS = 8,	/* rendezvous refused or unreachable */
	MUSTER_ESTATE = 9,	/* call out of order (e.g. nested group) */
	MUSTER_ENCCL = 10,	/* NCCL or CUDA reported an error */
	MUSTER_ESYSERR = 0x10000000	/* | errno */
} muster_result;

typedef enum {
	MUSTER_INT8, MUSTER_UINT8, MUSTER_INT32, MUSTER_UINT32, MUSTER_INT64,
	MUSTER_UINT64, MUSTER_FLOAT16, MUSTER_BFLOAT16, MUSTER_FLOAT32,
	MUSTER_FLOAT64
} muster_dtype;

typedef enum {
	MUSTER_SUM, MUSTER_PROD, MUSTER_MIN, MUSTER_MAX, MUSTER_AVG
} muster_op;

/*
 * Joins the job named by the environment muster gives each worker.
 *
 * Lost peers and elastic jobs (muster --nodes MIN:MAX, muster(1)): a peer
 * that dies (its process, its node's agent, its host) makes the
 * collectives in flight and every later one on comm fail with
 * MUSTER_EPEER naming the rank (MUSTER_ETIMEDOUT when it stops answering
 * without its connection ending, MUSTER_EABORTED once the job is
 * aborted); comm is then of no more use: destroy it and exit nonzero.
 * muster stops the job's workers and, in an elastic job or with
 * --max-restarts left, starts them again as new processes on the nodes
 * left (a new generation: MUSTER_GENERATION and
 * TORCHELASTIC_RESTART_COUNT count it, RANK and WORLD_SIZE may differ,
 * the rendezvous is fresh).  So the restart is a process restart: a
 * trainer saves a checkpoint every few steps and, at start, loads the
 * last one when there is one (examples/trainer.c), then calls this
 * function as on a first start.
 */
muster_result muster_comm_init_from_env(muster_comm **comm);
int           muster_comm_rank(const muster_comm *comm);
int           muster_comm_size(const muster_comm *comm);

/*
 * Reduces count elements of every rank's sendbuf into every rank's recvbuf.
 * sendbuf == recvbuf works in place.  MUSTER_AVG sums, then multiplies by
 * 1/size (Horovod's average); integer AVG divides, truncating.  float16 and
 * bfloat16 accumulate in float32.
 */
muster_result muster_allreduce(const void *sendbuf, void *recvbuf,
			       size_t count, muster_dtype dtype, muster_op op,
			       muster_comm *comm);
muster_result muster_broadcast(void *buf, size_t count, muster_dtype dtype,
			       int root, muster_comm *comm);
/* recvbuf holds size * sendcount elements, rank r's at r * sendcount. */
muster_result muster_allgather(const void *sendbuf, void *recvbuf,
			       size_t sendcount, muster_dtype dtype,
			       muster_comm *comm);
muster_result muster_barrier(muster_comm *comm);

/*
 * GPU buffers through NCCL: sendbuf and recvbuf are device pointers, the
 * reduction is enqueued on stream (a cudaStream_t; NULL: the default
 * stream) and the call returns without waiting for it.  MUSTER_AVG is
 * ncclAvg.  The first call creates the NCCL communicator collectively
 * (ncclUniqueId through the rendezvous; device local_rank % devices).
 * libnccl.so.2 and libcudart are loaded at run time: without them, or
 * without a CUDA device, it returns MUSTER_ENOTSUP and says why; in a
 * build without NCCL headers, always MUSTER_ENOTSUP.  Not fused by groups.
 */
muster_result muster_allreduce_cuda(const void *sendbuf, void *recvbuf,
				    size_t count, muster_dtype dtype,
				    muster_op op, muster_comm *comm,
				    void *stream);

/* Allreduces issued between these two (one thread) are fused. */
muster_result muster_group_start(void);
muster_result muster_group_end(void);

muster_result muster_comm_abort(muster_comm *comm);
muster_result muster_comm_destroy(muster_comm *comm);

/*
 * Metrics for the job's run record (its metrics.jsonl, with this rank,
 * the step and the wall time): a scalar (step < 0: none, the launcher
 * counts them per name), a list, or a row of named columns.  A name is
 * 1 to 255 bytes without blanks or control bytes, a column 1 to 255
 * bytes without control bytes; nan and inf are recorded as null.  Each
 * call writes one line with one write(2) on the FIFO in MUSTER_METRICS
 * (opened on the first call); a few microseconds, safe from any thread
 * and from signals' EINTR.  It blocks only while the launcher is behind
 * on reading (nothing is lost).  comm may be NULL (errors then go to
 * the thread's muster_comm_last_error(NULL)).  Without MUSTER_METRICS
 * (not under muster, or --no-record) it does nothing and returns
 * MUSTER_OK; bad names give MUSTER_EINVAL either way, a line that would
 * pass 65536 bytes too.
 */
muster_result muster_log_metric(muster_comm *comm, const char *name,
				double value, long step);
muster_result muster_log_list(muster_comm *comm, const char *name,
			      const double *values, size_t n);
muster_result muster_log_row(muster_comm *comm, const char *name,
			     const char *const *cols, const double *vals,
			     size_t n);

const char   *muster_strerror(muster_result r);
const char   *muster_comm_last_error(const muster_comm *comm);
size_t        muster_dtype_size(muster_dtype dtype);
const char   *muster_version(void);

#ifdef __cplusplus
}
#endif
#endif /* MUSTER_H */
