/*
 * addr.h: where a node's leader listens for the TCP ring and which
 * address it advertises to the other leaders (addr.c).  Private.
 *
 * In order: MUSTER_ADDR (the launcher sets it per node to the address it
 * chose on that host); else MUSTER_IFACE, an interface name or a CIDR;
 * else the local address of the route toward the rendezvous host
 * (common/netaddr.h), the way the kernel would send there, not what the
 * host name resolves to (127.0.1.1 on a stock Debian or Ubuntu).  A
 * file:// bootstrap or a rendezvous on loopback gives 127.0.0.1.
 *
 * On the rendezvous host itself that route is a loopback one, which the
 * other hosts cannot reach.  The leader then listens on every address,
 * advertises "*:PORT" in its hello, and learns its address once the
 * hellos are in: the route toward another leader's address
 * (mst_listen_resolve).  All leaders on the rendezvous host: 127.0.0.1.
 */
#ifndef MST_ADDR_H
#define MST_ADDR_H

#include <stddef.h>
#include "muster.h"
#include "netaddr.h"

/* Advertised as the host of "*:PORT": resolved after the hellos. */
#define MST_ADDR_LATER "*"

struct mst_listen {
	char bind[MST_ADDR_MAX];	/* where the socket binds */
	char addr[MST_ADDR_MAX];	/* what the hello says: or "*" */
};

/*
 * From the environment and the rendezvous endpoint rdv (tcp://HOST:PORT
 * or file://DIR); multi: whether the job has several nodes (only then is
 * the route looked up).  A bad MUSTER_ADDR or MUSTER_IFACE: MUSTER_ENOENV
 * and one line naming it in err.
 */
muster_result mst_listen_from_env(struct mst_listen *l, const char *rdv,
				  int multi, char *err, size_t errlen);

/*
 * For leader me that advertised "*:PORT": out gets "ADDR:PORT", ADDR the
 * local address of the route toward the first of the n leaders' ring
 * addresses (tcp, "HOST:PORT" each, by node) that is neither "*" nor
 * loopback, else 127.0.0.1.  -1 with the reason in err: no route.
 */
int mst_listen_resolve(const char (*tcp)[64], int n, int me, char out[64],
		       char *err, size_t errlen);

/* Whether a hello's ring address ("HOST:PORT") waits for resolution. */
int mst_listen_later(const char *tcp);

#endif /* MST_ADDR_H */
