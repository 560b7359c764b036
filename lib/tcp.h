/*
 * tcp.h: the TCP ring between node leaders (one per node, in node
 * order).  Each leader listens on one port, connects to its right
 * neighbour and accepts its left one; a handshake carries a magic, the
 * communicator's hash and the sender's node, so a stray connection is
 * refused.  Sockets are non-blocking and every transfer polls against
 * the operation's deadline: EOF names the peer rank (MUSTER_EPEER), a
 * deadline names the rank we were waiting on (MUSTER_ETIMEDOUT).
 */
#ifndef MST_TCP_H
#define MST_TCP_H

#include "comm.h"

/* Opens the listening socket on host; addr gets "host:port". */
muster_result mst_tcp_listen(muster_comm *c, const char *host,
			     char addr[64]);
/* addrs[node] are every leader's listen addresses. */
muster_result mst_tcp_connect(muster_comm *c, const char (*addrs)[64],
			      uint64_t hash, double deadline);
/*
 * Allreduce of the leaders' buf (count elements of dt, already the
 * accumulation type), op without AVG scaling.  Small vectors: ring
 * allgather then a reduction in node order; large: pipelined ring
 * reduce-scatter + allgather.
 */
muster_result mst_tcp_allreduce(muster_comm *c, void *buf, size_t count,
				muster_dtype dt, muster_op op,
				double deadline);
/* Shuts the sockets so the neighbours see EOF at once. */
void          mst_tcp_shutdown(struct mst_tcp *t);
void          mst_tcp_free(struct mst_tcp *t);

#endif /* MST_TCP_H */
