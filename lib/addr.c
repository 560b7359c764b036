/*
 * addr.c: the TCP ring's listening address (addr.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"

/* HOST of "HOST:PORT" into host (n bytes); -1 when it does not fit. */
static int
host_of(const char *hp, char *host, size_t n)
{
	const char *colon = strrchr(hp, ':');

	if (colon == NULL || (size_t)(colon - hp) >= n)
		return -1;
	memcpy(host, hp, (size_t)(colon - hp));
	host[colon - hp] = '\0';
	return 0;
}

static void
set(struct mst_listen *l, const char *bind, const char *addr)
{
	snprintf(l->bind, sizeof(l->bind), "%s", bind);
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
}

/* MUSTER_ADDR: a dotted quad this host holds (so that bind works). */
static muster_result
from_addr(struct mst_listen *l, const char *a, char *err, size_t errlen)
{
	char ifname[MST_IFNAME_MAX];
	struct in_addr in;

	if (strlen(a) >= MST_ADDR_MAX || inet_pton(AF_INET, a, &in) != 1) {
		snprintf(err, errlen, "MUSTER_ADDR='%s': expected an IPv4 "
		    "address of this host (a.b.c.d)", a);
		return MUSTER_ENOENV;
	}
	if (!mst_addr_is_loopback(a) && mst_iface_of(a, ifname) != 0) {
		snprintf(err, errlen, "MUSTER_ADDR='%s' is not an address of "
		    "this host (no interface holds it)", a);
		return MUSTER_ENOENV;
	}
	set(l, a, a);
	return MUSTER_OK;
}

/* Whether the rendezvous host is this host's loopback, as the old rule. */
static int
rdv_on_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strcmp(host, "*") == 0 ||
	    strcmp(host, "0.0.0.0") == 0 || mst_addr_is_loopback(host);
}

/* The route toward the rendezvous host; loopback there: resolved later. */
static muster_result
from_route(struct mst_listen *l, const char *rdv, char *err, size_t errlen)
{
	struct mst_netaddr na;
	char host[256], why[256];

	if (strncmp(rdv, "tcp://", 6) != 0 ||
	    host_of(rdv + 6, host, sizeof(host)) != 0 ||
	    rdv_on_loopback(host)) {
		set(l, "127.0.0.1", "127.0.0.1");
		return MUSTER_OK;
	}
	if (mst_route_toward(host, &na, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "MUSTER_RENDEZVOUS='%s': no route toward "
		    "its host to take the ring's address from (%s); set "
		    "MUSTER_ADDR or MUSTER_IFACE", rdv, why);
		return MUSTER_ENOENV;
	}
	if (mst_addr_is_loopback(na.addr))
		set(l, "0.0.0.0", MST_ADDR_LATER);
	else
		set(l, na.addr, na.addr);
	return MUSTER_OK;
}

muster_result
mst_listen_from_env(struct mst_listen *l, const char *rdv, int multi,
		    char *err, size_t errlen)
{
	const char *a = getenv("MUSTER_ADDR"), *i = getenv("MUSTER_IFACE");
	struct mst_netaddr na;
	char why[256];

	if (a && *a)
		return from_addr(l, a, err, errlen);
	if (i && *i) {
		if (mst_iface_lookup(i, &na, why, sizeof(why)) != 0) {
			const char *r = strstr(why, ": ");

			/* netaddr.c says "--iface SPEC: why": ours is the env */
			snprintf(err, errlen, "MUSTER_IFACE='%s': %s", i,
			    strncmp(why, "--iface ", 8) == 0 && r ? r + 2 :
			    why);
			return MUSTER_ENOENV;
		}
		set(l, na.addr, na.addr);
		return MUSTER_OK;
	}
	if (!multi) {	/* no ring: nothing to look up */
		set(l, "127.0.0.1", "127.0.0.1");
		return MUSTER_OK;
	}
	return from_route(l, rdv, err, errlen);
}

int
mst_listen_later(const char *tcp)
{
	return strncmp(tcp, MST_ADDR_LATER ":", sizeof(MST_ADDR_LATER)) == 0;
}

int
mst_listen_resolve(const char (*tcp)[64], int n, int me, char out[64],
		   char *err, size_t errlen)
{
	const char *port = strrchr(tcp[me], ':');
	struct mst_netaddr na;
	char host[64], why[256];
	int i;

	if (port == NULL) {
		snprintf(err, errlen, "bad ring address '%s'", tcp[me]);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (i == me || mst_listen_later(tcp[i]) ||
		    host_of(tcp[i], host, sizeof(host)) != 0 ||
		    mst_addr_is_loopback(host))
			continue;
		if (mst_route_toward(host, &na, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "no route toward node %d's "
			    "leader at %s: %s", i, tcp[i], why);
			return -1;
		}
		snprintf(out, 64, "%s%s", na.addr, port);
		return 0;
	}
	snprintf(out, 64, "127.0.0.1%s", port);
	return 0;
}
