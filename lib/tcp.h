/*
 * tcp.h: the TCP ring between node leaders (one per node, in node
 * order).  Each leader listens on one port, connects to its right
 * neighbour and accepts its left one.  The handshake is a
 * challenge-response keyed by the job's secret (mst_tcp_key): each side
 * sends a random nonce and proves it holds the key with an
 * HMAC-SHA512-256 over both nonces and both nodes; a connection that
 * fails it is closed and the wait for the right peer goes on until the
 * deadline, and a neighbour that answers with another key fails the
 * set-up.  Sockets are non-blocking and every transfer polls against
 * the operation's deadline: EOF names the peer rank (MUSTER_EPEER), a
 * deadline names the rank we were waiting on (MUSTER_ETIMEDOUT).  A
 * backend (backend.h): it knows the job only as its ring.
 */
#ifndef MST_TCP_H
#define MST_TCP_H

#include <stdint.h>
#include "backend.h"
#include "tune.h"

struct mst_tcp;

#define MST_RING_KEY 32

/* Starts libsodium once per process (any thread); -1 if it cannot. */
int           mst_sodium(void);
/*
 * The ring's key: BLAKE2b keyed by the job's secret (16 to 64 bytes;
 * see boot.h) over the job id and the communicator's prefix, so
 * communicators and restarts get different keys.
 */
void          mst_tcp_key(unsigned char key[MST_RING_KEY],
			  const unsigned char *secret, size_t secret_len,
			  const char *job, const char *prefix);

/*
 * Opens the listening socket on bind (an IPv4 address, 0.0.0.0: every
 * one) for leader me of n; addr gets "adv:port", what the other leaders
 * dial.  *out is set as soon as allocated (also on failure, for
 * mst_tcp_free).
 */
muster_result mst_tcp_listen(struct mst_tcp **out, int me, int n,
			     const char *bind, const char *adv,
			     const struct mst_tune *tune, char addr[64],
			     struct mst_fault *f);
/*
 * addrs[node] are every leader's listen addresses, leaders[node] ranks;
 * key is mst_tcp_key's.
 */
muster_result mst_tcp_connect(struct mst_tcp *t, const char (*addrs)[64],
			      const int *leaders,
			      const unsigned char key[MST_RING_KEY],
			      double deadline, struct mst_fault *f);
/*
 * Allreduce of the leaders' buf (count elements of dt, already the
 * accumulation type), op without AVG scaling.  Small vectors: ring
 * allgather then a reduction in node order; large: pipelined ring
 * reduce-scatter + allgather.  A neighbour that closes or stalls is
 * named as MST_FAULT_RELAY, after our sockets are shut.
 */
muster_result mst_tcp_allreduce(struct mst_tcp *t, void *buf, size_t count,
				muster_dtype dt, muster_op op,
				struct mst_wait *w);
/* Shuts the sockets so the neighbours see EOF at once (NULL is fine). */
void          mst_tcp_shutdown(struct mst_tcp *t);
void          mst_tcp_free(struct mst_tcp *t);

#endif /* MST_TCP_H */
