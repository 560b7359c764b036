/*
 * addr_test.c: the TCP ring's listening address from the environment
 * (lib/addr.h).  Routes toward other hosts are t2200's (test hosts);
 * here only what any machine has: lo, 127.0.0.1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "test.h"

static char err[512];

/* mst_listen_from_env gives bind and addr for this environment. */
static void
check_listen(const char *rdv, int multi, const char *bind, const char *addr)
{
	struct mst_listen l;

	err[0] = '\0';
	CHECK_(mst_listen_from_env(&l, rdv, multi, err, sizeof(err)) ==
	    MUSTER_OK, "%s: %s", rdv, err);
	CHECK_STR(l.bind, bind);
	CHECK_STR(l.addr, addr);
}

/* mst_listen_from_env fails with MUSTER_ENOENV and why. */
static void
check_bad(const char *why)
{
	struct mst_listen l;

	CHECK_INT(mst_listen_from_env(&l, "tcp://127.0.0.1:1", 1, err,
	    sizeof(err)), MUSTER_ENOENV);
	CHECK_(strncmp(err, why, strlen(why)) == 0, "'%s', want '%s...'",
	    err, why);
}

static void
clear(void)
{
	unsetenv("MUSTER_ADDR");
	unsetenv("MUSTER_IFACE");
}

static void
test_addr(void)
{
	clear();
	setenv("MUSTER_ADDR", "127.0.0.1", 1);
	check_listen("tcp://10.0.0.1:5", 1, "127.0.0.1", "127.0.0.1");
	setenv("MUSTER_IFACE", "no-such-if", 1);	/* MUSTER_ADDR first */
	check_listen("tcp://10.0.0.1:5", 1, "127.0.0.1", "127.0.0.1");
	setenv("MUSTER_ADDR", "foo", 1);
	check_bad("MUSTER_ADDR='foo': expected an IPv4 address of this host");
	setenv("MUSTER_ADDR", "127.0.0.1.2", 1);
	check_bad("MUSTER_ADDR='127.0.0.1.2': expected");
	setenv("MUSTER_ADDR", "0.0.0.0", 1);
	check_bad("MUSTER_ADDR='0.0.0.0' is not an address of this host");
	setenv("MUSTER_ADDR", "198.51.100.77", 1);	/* TEST-NET-2 */
	check_bad("MUSTER_ADDR='198.51.100.77' is not an address of this host");
	/* checked with one node too: the error comes first, not never */
	CHECK_INT(mst_listen_from_env(&(struct mst_listen){ "", "" },
	    "file:///tmp", 0, err, sizeof(err)), MUSTER_ENOENV);
	clear();
}

static void
test_iface(void)
{
	clear();
	setenv("MUSTER_IFACE", "lo", 1);
	check_listen("tcp://10.0.0.1:5", 1, "127.0.0.1", "127.0.0.1");
	setenv("MUSTER_IFACE", "127.0.0.0/8", 1);
	check_listen("tcp://10.0.0.1:5", 1, "127.0.0.1", "127.0.0.1");
	setenv("MUSTER_IFACE", "no-such-if", 1);
	check_bad("MUSTER_IFACE='no-such-if': no such interface");
	setenv("MUSTER_IFACE", "198.51.100.0/24", 1);
	check_bad("MUSTER_IFACE='198.51.100.0/24': no local address in it");
	setenv("MUSTER_IFACE", "10.0.0.0/33", 1);
	check_bad("MUSTER_IFACE='10.0.0.0/33': expected an interface name");
	clear();
}

static void
test_default(void)
{
	clear();
	setenv("MUSTER_IFACE", "", 1);	/* empty: not set */
	check_listen("file:///tmp/x", 1, "127.0.0.1", "127.0.0.1");
	check_listen("tcp://127.0.0.1:5", 1, "127.0.0.1", "127.0.0.1");
	check_listen("tcp://127.0.1.1:5", 1, "127.0.0.1", "127.0.0.1");
	check_listen("tcp://localhost:5", 1, "127.0.0.1", "127.0.0.1");
	/* one node: no ring, no lookup of an unknown name */
	check_listen("tcp://no-such-host.invalid:5", 0, "127.0.0.1",
	    "127.0.0.1");
	clear();
}

static void
test_resolve(void)
{
	const char a[3][64] = { "*:1000", "127.0.0.1:2000", "*:3000" };
	char out[64];

	CHECK(mst_listen_later("*:1000"));
	CHECK(!mst_listen_later("10.0.0.1:1000"));
	CHECK(!mst_listen_later("*"));
	/* nothing but this host's: loopback it is */
	CHECK_INT(mst_listen_resolve(a, 3, 0, out, err, sizeof(err)), 0);
	CHECK_STR(out, "127.0.0.1:1000");
	CHECK_INT(mst_listen_resolve(a, 3, 2, out, err, sizeof(err)), 0);
	CHECK_STR(out, "127.0.0.1:3000");
}

TEST_LIST = {
	{ "addr", test_addr },
	{ "iface", test_iface },
	{ "default", test_default },
	{ "resolve", test_resolve },
	{ NULL, NULL },
};
