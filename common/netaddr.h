/*
 * netaddr.h: which local address other hosts reach us by.
 *
 * A host has several interfaces (loopback, a management network, the
 * cluster's fabric) and its own name often resolves to 127.0.1.1 (what a
 * stock Debian or Ubuntu /etc/hosts says).  So the address muster
 * advertises is chosen the way the kernel routes: the local address of
 * the route toward a peer (a connected UDP socket's getsockname: no
 * packet is sent), or the address of the interface the user pinned with
 * --iface NAME|CIDR.  IPv4 only, like the rest of muster today.
 *
 * Every function fills a caller's buffer and returns 0, or -1 with a
 * one-line reason in err (errlen bytes; never NULL) that names the input.
 */
#ifndef MST_NETADDR_H
#define MST_NETADDR_H

#include <stddef.h>

#define MST_ADDR_MAX 16		/* "255.255.255.255" and its '\0' */
#define MST_IFNAME_MAX 16	/* IFNAMSIZ */

struct mst_netaddr {
	char addr[MST_ADDR_MAX];	/* dotted quad */
	char ifname[MST_IFNAME_MAX];	/* the interface that holds it */
};

/*
 * The local address of the route toward peer (a dotted quad or a host
 * name, resolved for IPv4; its first address is used) and the interface
 * holding it.  A peer on this host (a loopback one) gives 127.0.0.1, "lo".
 */
int mst_route_toward(const char *peer, struct mst_netaddr *out,
		     char *err, size_t errlen);

/*
 * The address of the interface spec names: an interface name ("eth1":
 * its first IPv4 address) or a CIDR ("10.200.1.0/24": the first local
 * address inside it, in getifaddrs order).  Errors name the spec and
 * what this host has instead ("no interface 'eth9' (have: lo, eth0)").
 */
int mst_iface_lookup(const char *spec, struct mst_netaddr *out,
		     char *err, size_t errlen);

/*
 * What to advertise: the interface spec when one is given (spec non-NULL
 * and non-empty), else the route toward peer.  Both NULL: 127.0.0.1, "lo".
 */
int mst_addr_choose(const char *spec, const char *peer,
		    struct mst_netaddr *out, char *err, size_t errlen);

/* The interface holding local address addr (a dotted quad); -1: none. */
int mst_iface_of(const char *addr, char ifname[MST_IFNAME_MAX]);

/*
 * The network of the interface holding local address addr, as a CIDR
 * ("10.200.0.0/24") into cidr (MST_CIDR_MAX bytes), and as numbers in host
 * order; -1 when no interface holds addr.
 */
#define MST_CIDR_MAX 19		/* "255.255.255.255/32" and its '\0' */
int mst_iface_net(const char *addr, char cidr[MST_CIDR_MAX], unsigned *net,
		  unsigned *mask);

/* Whether host (a name or a dotted quad) resolves, IPv4, inside net/mask. */
int mst_host_in_net(const char *host, unsigned net, unsigned mask);

/* Whether s is a dotted quad in 127.0.0.0/8. */
int mst_addr_is_loopback(const char *s);

/* Whether spec is a well-formed CIDR "A.B.C.D/N" (N 0 to 32). */
int mst_cidr_parse(const char *spec, unsigned *net, unsigned *mask);

#endif /* MST_NETADDR_H */
