/*
 * boot.h: bootstraps, how the ranks of a communicator find each other
 * (boot.c, boot_rdv.c).  Private.
 *
 * A bootstrap is a small key-value store every rank of the job can
 * reach, with waiting reads: the rendezvous server's in a muster-launched
 * job, or a directory (file://DIR) for tests and single hosts.  Every
 * operation writes its error text into (err, errlen) and returns a code.
 * Keys of a communicator start with its prefix (comm.h), which carries
 * the job's generation, so the keys of a restart differ.
 */
#ifndef MST_BOOT_H
#define MST_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include "muster.h"

struct mst_topo;

struct mst_boot_ops {
	muster_result (*kv_set)(void *ctx, const char *key, const void *val,
				size_t len, char *err, size_t errlen);
	/* waits up to wait_ms; *val is malloc'ed */
	muster_result (*kv_get)(void *ctx, const char *key, void **val,
				size_t *len, int wait_ms, char *err,
				size_t errlen);
	muster_result (*barrier)(void *ctx, const char *name, int size,
				 int rank, int wait_ms, char *err,
				 size_t errlen);
	/* NULL when the store cannot tell (file://) */
	void (*poll_abort)(void *ctx, char *why, size_t n, int *aborted);
	void (*close)(void *ctx);
};

/*
 * The job's secret as 32 bytes: the BLAKE2b hash of MUSTER_JOB_SECRET
 * (or of MUSTER_JOB_SECRET_FILE's first line) when set, else, with a
 * file:// bootstrap, the random bytes of DIR/.muster-secret (made 0600 by
 * the first rank there: whoever can read the directory can join the job
 * anyway).  It keys the TCP ring's handshake (tcp.h).
 */
#define MST_SECRET 32

struct mst_boot {
	const struct mst_boot_ops *ops;
	void *ctx;
	uint64_t generation;	/* of the job: keys of a restart differ */
	unsigned char secret[MST_SECRET];
};

/* A directory (file://DIR, for tests and single hosts). */
muster_result mst_boot_file_open(struct mst_boot *b, const char *dir,
				 char *err, size_t errlen);
/* b->secret from DIR/.muster-secret, made by the first rank that asks. */
muster_result mst_boot_file_secret(struct mst_boot *b, const char *dir,
				   char *err, size_t errlen);
/* The rendezvous server (rdv_client.h): joins as the planned rank. */
muster_result mst_boot_rdv_open(struct mst_boot *b, const char *endpoint,
				const char *job, const char *secret,
				const struct mst_topo *t, int wait_ms,
				char *err, size_t errlen);

/*
 * Publishes mine under the communicator's key, reads every rank's into
 * all[size][len]; errors go to the communicator.
 */
muster_result mst_boot_allgather(muster_comm *c, const char *key,
				 const void *mine, void *all, size_t len,
				 double deadline);

#endif /* MST_BOOT_H */
