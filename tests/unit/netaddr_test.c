/*
 * netaddr_test.c: the address muster advertises (common/netaddr.h).
 *
 * The interface cases run in a network namespace of their own (each case
 * is a forked child: unshare(CLONE_NEWNET) there), with veth interfaces
 * laid out like a cluster node's: eth0 a second network first in order,
 * eth1 the cluster's; nothing leaves it (a UDP connect sends nothing).
 */

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "test.h"

static void
test_loopback(void)
{
	struct mst_netaddr a;
	char err[256] = "";

	CHECK_INT(mst_route_toward("127.0.0.1", &a, err, sizeof(err)), 0);
	CHECK_STR(a.addr, "127.0.0.1");
	CHECK_STR(a.ifname, "lo");
	CHECK_INT(mst_route_toward("localhost", &a, err, sizeof(err)), 0);
	CHECK(mst_addr_is_loopback(a.addr));
	CHECK_STR(a.ifname, "lo");
	CHECK_INT(mst_addr_choose(NULL, NULL, &a, err, sizeof(err)), 0);
	CHECK_STR(a.addr, "127.0.0.1");
	CHECK_INT(mst_iface_lookup("lo", &a, err, sizeof(err)), 0);
	CHECK_STR(a.addr, "127.0.0.1");
	CHECK_INT(mst_iface_lookup("127.0.0.0/8", &a, err, sizeof(err)), 0);
	CHECK_STR(a.ifname, "lo");
	CHECK_INT(mst_iface_of("127.0.0.1", a.ifname), 0);
	CHECK_STR(a.ifname, "lo");
}

static void
test_parse(void)
{
	static const char *bad[] = { "", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33",
		"10.0.0.0/-1", "10.0.0/8", "10.0.0.0/8x", "x/8", "/8",
		"1234567890123456789/8", NULL };
	unsigned net, mask;
	int i;

	CHECK(mst_cidr_parse("10.200.1.7/24", &net, &mask));
	CHECK(net == 0x0ac80100u && mask == 0xffffff00u);
	CHECK(mst_cidr_parse("0.0.0.0/0", &net, &mask));
	CHECK(net == 0 && mask == 0);
	CHECK(mst_cidr_parse("10.1.2.3/32", &net, &mask));
	CHECK(net == 0x0a010203u && mask == 0xffffffffu);
	for (i = 0; bad[i]; i++)
		CHECK_(!mst_cidr_parse(bad[i], &net, &mask), "'%s' accepted",
		    bad[i]);
	CHECK(mst_addr_is_loopback("127.0.1.1"));
	CHECK(!mst_addr_is_loopback("10.0.0.1"));
	CHECK(!mst_addr_is_loopback("localhost"));
	CHECK(!mst_addr_is_loopback(NULL));
}

static void
test_bad_input(void)
{
	struct mst_netaddr a;
	char err[512];

	CHECK_INT(mst_iface_lookup("eth99x", &a, err, sizeof(err)), -1);
	CHECK_(strstr(err, "--iface eth99x: no such interface") &&
	    strstr(err, "have: lo 127.0.0.1"), "message: %s", err);
	CHECK_INT(mst_iface_lookup("10.0.0.0/33", &a, err, sizeof(err)), -1);
	CHECK_STR(err, "--iface '10.0.0.0/33': expected an interface name or "
	    "an IPv4 CIDR (A.B.C.D/N)");
	CHECK_INT(mst_iface_lookup("an-interface-name-too-long", &a, err,
	    sizeof(err)), -1);
	CHECK_(strstr(err, "at most 15 characters") != NULL, "message: %s", err);
	CHECK_INT(mst_iface_lookup("", &a, err, sizeof(err)), -1);
	CHECK_INT(mst_route_toward("", &a, err, sizeof(err)), -1);
	CHECK_INT(mst_route_toward("no-such-host.invalid", &a, err,
	    sizeof(err)), -1);
	CHECK_(strstr(err, "cannot resolve 'no-such-host.invalid'") != NULL,
	    "message: %s", err);
	CHECK_INT(mst_iface_of("10.255.255.254", a.ifname), -1);
	CHECK_INT(mst_iface_of("not an address", a.ifname), -1);
}

/* A namespace of our own with a cluster node's interfaces, or SKIP. */
static int
node_netns(void)
{
	if (unshare(CLONE_NEWNET) != 0)
		return -1;
	return system("exec > /dev/null 2>&1; ip link set lo up && "
	    "ip link add eth0 type veth peer name p0 && ip link set p0 up && "
	    "ip addr add 10.200.1.5/24 dev eth0 && ip link set eth0 up && "
	    "ip link add eth1 type veth peer name p1 && ip link set p1 up && "
	    "ip addr add 10.200.0.5/24 dev eth1 && ip link set eth1 up && "
	    "ip route add 10.200.9.0/24 via 10.200.0.1 dev eth1 onlink") == 0 ?
	    0 : -1;
}

static void
test_two_ifaces(void)
{
	struct mst_netaddr a;
	char err[512];

	if (node_netns() != 0) {
		SKIP("no network namespace with veth interfaces here "
		    "(not root, or no ip(8))");
		return;
	}
	/* the route decides, not the interface order */
	CHECK_INT(mst_route_toward("10.200.0.7", &a, err, sizeof(err)), 0);
	CHECK_STR(a.addr, "10.200.0.5");
	CHECK_STR(a.ifname, "eth1");
	CHECK_INT(mst_route_toward("10.200.9.3", &a, err, sizeof(err)), 0);
	CHECK_STR(a.addr, "10.200.0.5");
	CHECK_STR(a.ifname, "eth1");
	CHECK_INT(mst_route_toward("10.200.1.9", &a, err, sizeof(err)), 0);
	CHECK_STR(a.addr, "10.200.1.5");
	CHECK_STR(a.ifname, "eth0");
	/* our own address: ourselves, on the interface that holds it */
	CHECK_INT(mst_route_toward("10.200.0.5", &a, err, sizeof(err)), 0);
	CHECK_STR(a.addr, "10.200.0.5");
	CHECK_STR(a.ifname, "eth1");
	CHECK_INT(mst_route_toward("192.0.2.1", &a, err, sizeof(err)), -1);
	CHECK_(strstr(err, "no route toward 192.0.2.1") != NULL, "message: %s",
	    err);
	/* pinned: the other interface, by name or by network */
	CHECK_INT(mst_addr_choose("eth0", "10.200.0.7", &a, err, sizeof(err)),
	    0);
	CHECK_STR(a.addr, "10.200.1.5");
	CHECK_STR(a.ifname, "eth0");
	CHECK_INT(mst_addr_choose("10.200.0.0/16", NULL, &a, err, sizeof(err)),
	    0);
	CHECK_STR(a.addr, "10.200.1.5");	/* the first inside, in order */
	CHECK_INT(mst_addr_choose("10.200.0.0/24", NULL, &a, err, sizeof(err)),
	    0);
	CHECK_STR(a.ifname, "eth1");
	CHECK_INT(mst_addr_choose(NULL, "10.200.1.1", &a, err, sizeof(err)), 0);
	CHECK_STR(a.ifname, "eth0");
	CHECK_INT(mst_addr_choose("10.9.0.0/16", NULL, &a, err, sizeof(err)),
	    -1);
	CHECK_STR(err, "--iface 10.9.0.0/16: no local address in it (have: "
	    "lo 127.0.0.1, eth0 10.200.1.5, eth1 10.200.0.5)");
	/* the network an address is on, and who is inside it */
	{
		char cidr[MST_CIDR_MAX];
		unsigned net, mask;

		CHECK_INT(mst_iface_net("10.200.0.5", cidr, &net, &mask), 0);
		CHECK_STR(cidr, "10.200.0.0/24");
		CHECK(mst_host_in_net("10.200.0.77", net, mask));
		CHECK(!mst_host_in_net("10.200.1.77", net, mask));
		CHECK(!mst_host_in_net("no-such-host.invalid", net, mask));
		CHECK_INT(mst_iface_net("10.200.3.5", cidr, &net, &mask), -1);
	}
	/* an interface that is down holds no address we can use */
	CHECK_INT(system("ip link set eth0 down"), 0);
	CHECK_INT(mst_iface_lookup("eth0", &a, err, sizeof(err)), -1);
}

TEST_LIST = {
	{ "loopback", test_loopback },
	{ "parse", test_parse },
	{ "bad_input", test_bad_input },
	{ "two_ifaces", test_two_ifaces },
	{ NULL, NULL },
};
