/*
 * tcp.h: the TCP ring between node leaders (one per node, in node
 * order).  Each leader listens on one port, connects to its right
 * neighbour and accepts its left one; a handshake carries a magic, the
 * communicator's hash and the sender's node, so a stray connection is
 * refused.  Sockets are non-blocking and every transfer polls against
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

/*
 * Opens the listening socket on host for leader me of n; addr gets
 * "host:port".  *out is set as soon as allocated (also on failure, for
 * mst_tcp_free).
 */
muster_result mst_tcp_listen(struct mst_tcp **out, int me, int n,
			     const char *host, const struct mst_tune *tune,
			     char addr[64], struct mst_fault *f);
/* addrs[node] are every leader's listen addresses, leaders[node] ranks. */
muster_result mst_tcp_connect(struct mst_tcp *t, const char (*addrs)[64],
			      const int *leaders, uint64_t hash,
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
