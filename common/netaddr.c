/* netaddr.c: see netaddr.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netaddr.h"
#include "num.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

static void
set_loopback(struct mst_netaddr *out)
{
	snprintf(out->addr, sizeof(out->addr), "127.0.0.1");
	snprintf(out->ifname, sizeof(out->ifname), "lo");
}

int
mst_addr_is_loopback(const char *s)
{
	struct in_addr a;

	return s && inet_pton(AF_INET, s, &a) == 1 &&
	    (ntohl(a.s_addr) >> 24) == 127;
}

int
mst_cidr_parse(const char *spec, unsigned *net, unsigned *mask)
{
	char buf[MST_ADDR_MAX];
	const char *slash = spec ? strchr(spec, '/') : NULL;
	struct in_addr a;
	long bits;

	if (slash == NULL || (size_t)(slash - spec) >= sizeof(buf))
		return 0;
	memcpy(buf, spec, (size_t)(slash - spec));
	buf[slash - spec] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1 ||
	    mst_parse_long(slash + 1, 0, 32, &bits) != 0)
		return 0;
	*mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
	*net = ntohl(a.s_addr) & *mask;
	return 1;
}

int
mst_iface_of(const char *addr, char ifname[MST_IFNAME_MAX])
{
	struct ifaddrs *ifs, *i;
	struct in_addr a;
	int rc = -1;

	if (inet_pton(AF_INET, addr, &a) != 1 || getifaddrs(&ifs) != 0)
		return -1;
	for (i = ifs; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
		    a.s_addr) {
			snprintf(ifname, MST_IFNAME_MAX, "%s", i->ifa_name);
			rc = 0;
			break;
		}
	freeifaddrs(ifs);
	return rc;
}

int
mst_iface_net(const char *addr, char cidr[MST_CIDR_MAX], unsigned *net,
	      unsigned *mask)
{
	struct ifaddrs *ifs, *i;
	struct in_addr a;
	int rc = -1;

	if (inet_pton(AF_INET, addr, &a) != 1 || getifaddrs(&ifs) != 0)
		return -1;
	for (i = ifs; i; i = i->ifa_next) {
		struct in_addr n;
		unsigned m, bits = 0;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    !i->ifa_netmask ||
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr !=
		    a.s_addr)
			continue;
		m = ntohl(((struct sockaddr_in *)i->ifa_netmask)->
		    sin_addr.s_addr);
		while (bits < 32 && (m & (0x80000000u >> bits)))
			bits++;
		*mask = m;
		*net = ntohl(a.s_addr) & m;
		n.s_addr = htonl(*net);
		inet_ntop(AF_INET, &n, cidr, MST_CIDR_MAX);
		snprintf(cidr + strlen(cidr), MST_CIDR_MAX - strlen(cidr),
		    "/%u", bits);
		rc = 0;
		break;
	}
	freeifaddrs(ifs);
	return rc;
}

int
mst_host_in_net(const char *host, unsigned net, unsigned mask)
{
	struct addrinfo hints, *res, *r;
	int in = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (host == NULL || getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	for (r = res; r && !in; r = r->ai_next)
		in = (ntohl(((struct sockaddr_in *)r->ai_addr)->sin_addr.
		    s_addr) & mask) == net;
	freeaddrinfo(res);
	return in;
}

int
mst_route_toward(const char *peer, struct mst_netaddr *out, char *err,
		 size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	int fd, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_DGRAM;
	if (peer == NULL || *peer == '\0')
		return ERR("no host to route toward");
	if ((rc = getaddrinfo(peer, "9", &hints, &res)) != 0)
		return ERR("cannot resolve '%s' (IPv4): %s", peer,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		freeaddrinfo(res);
		return ERR("socket: %s", strerror(errno));
	}
	/* a UDP connect sends nothing: it only asks the routing table */
	rc = connect(fd, res->ai_addr, res->ai_addrlen);
	if (rc == 0)
		rc = getsockname(fd, (struct sockaddr *)&me, &len);
	if (rc != 0) {
		char to[MST_ADDR_MAX] = "?";

		inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->
		    sin_addr, to, sizeof(to));
		rc = ERR("no route toward %s (%s): %s", peer, to,
		    strerror(errno));
		close(fd);
		freeaddrinfo(res);
		return rc;
	}
	close(fd);
	freeaddrinfo(res);
	inet_ntop(AF_INET, &me.sin_addr, out->addr, sizeof(out->addr));
	if (mst_iface_of(out->addr, out->ifname) != 0) {
		/* a loopback route: 127.0.1.1 is on lo without being lo's */
		if (mst_addr_is_loopback(out->addr))
			snprintf(out->ifname, sizeof(out->ifname), "lo");
		else
			return ERR("route toward %s: no interface holds %s",
			    peer, out->addr);
	}
	return 0;
}

/* ", name" for each IPv4 interface (for messages), into buf. */
static void
list_ifaces(struct ifaddrs *ifs, char *buf, size_t n)
{
	struct ifaddrs *i;
	size_t used = 0;

	buf[0] = '\0';
	for (i = ifs; i && used + 1 < n; i = i->ifa_next) {
		char a[MST_ADDR_MAX];
		int w;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->
		    sin_addr, a, sizeof(a));
		w = snprintf(buf + used, n - used, "%s%s %s", used ? ", " : "",
		    i->ifa_name, a);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
}

int
mst_iface_lookup(const char *spec, struct mst_netaddr *out, char *err,
		 size_t errlen)
{
	struct ifaddrs *ifs, *i;
	unsigned net = 0, mask = 0;
	int cidr, found = 0;
	char have[512];

	if (spec == NULL || *spec == '\0')
		return ERR("empty interface name");
	cidr = strchr(spec, '/') != NULL;
	if (cidr && !mst_cidr_parse(spec, &net, &mask))
		return ERR("--iface '%s': expected an interface name or an "
		    "IPv4 CIDR (A.B.C.D/N)", spec);
	if (!cidr && strlen(spec) >= MST_IFNAME_MAX)
		return ERR("--iface '%s': an interface name has at most %d "
		    "characters", spec, MST_IFNAME_MAX - 1);
	if (getifaddrs(&ifs) != 0)
		return ERR("getifaddrs: %s", strerror(errno));
	for (i = ifs; i && !found; i = i->ifa_next) {
		struct sockaddr_in *sa = (struct sockaddr_in *)i->ifa_addr;

		if (!sa || sa->sin_family != AF_INET)
			continue;
		if (cidr ? (ntohl(sa->sin_addr.s_addr) & mask) != net :
		    strcmp(i->ifa_name, spec) != 0)
			continue;
		if (!(i->ifa_flags & IFF_UP))
			continue;
		inet_ntop(AF_INET, &sa->sin_addr, out->addr, sizeof(out->addr));
		snprintf(out->ifname, sizeof(out->ifname), "%s", i->ifa_name);
		found = 1;
	}
	if (!found)
		list_ifaces(ifs, have, sizeof(have));
	freeifaddrs(ifs);
	if (!found)
		return ERR(cidr ? "--iface %s: no local address in it "
		    "(have: %s)" : "--iface %s: no such interface up with an "
		    "IPv4 address (have: %s)", spec, have);
	return 0;
}

int
mst_addr_choose(const char *spec, const char *peer, struct mst_netaddr *out,
		char *err, size_t errlen)
{
	if (spec && *spec)
		return mst_iface_lookup(spec, out, err, errlen);
	if (peer && *peer)
		return mst_route_toward(peer, out, err, errlen);
	set_loopback(out);
	return 0;
}
