/* hosts_test.c: -H, hostfiles and Slurm hostlists. */
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "hosts.h"
#include "test.h"

#define V6 "IPv6 addresses are not supported yet (use a host name that " \
	"resolves to IPv4)"

static char err[512];

static void
check_expand(const char *expr, const char *want)
{
	char **names, joined[4096] = "";
	size_t n, i;

	if (lch_hostlist_expand(expr, &names, &n, err, sizeof(err)) != 0) {
		CHECK_(0, "expand '%s' failed: %s", expr, err);
		return;
	}
	for (i = 0; i < n; i++) {
		strcat(joined, i ? "," : "");
		strcat(joined, names[i]);
		free(names[i]);
	}
	free(names);
	CHECK_STR(joined, want);
}

static void
test_hostlist(void)
{
	check_expand("tux", "tux");
	check_expand("a,b,c", "a,b,c");
	check_expand("node[1-3]", "node1,node2,node3");
	check_expand("node[01-03,07]", "node01,node02,node03,node07");
	check_expand("linux[0000-0002]", "linux0000,linux0001,linux0002");
	check_expand("rack[0-1]_blade[0-1]",
	    "rack0_blade0,rack0_blade1,rack1_blade0,rack1_blade1");
	check_expand("a[1-2],b", "a1,a2,b");
	check_expand("gpu[8-10]", "gpu8,gpu9,gpu10");
}

static void
test_hostlist_bad(void)
{
	static const char *bad[] = { "", "a,,b", "a,", "n[1-", "n[3-1]",
		"n[a-b]", "n]", "n[1-2", "n[]", "n[1-100000000]", NULL };
	char **names;
	size_t n;
	int i;

	for (i = 0; bad[i]; i++) {
		err[0] = '\0';
		CHECK_(lch_hostlist_expand(bad[i], &names, &n, err,
		    sizeof(err)) != 0, "'%s' accepted", bad[i]);
		CHECK_(err[0] != '\0', "'%s': no message", bad[i]);
	}
}

static void
test_arg(void)
{
	struct lch_hostlist l = { 0 };

	CHECK_INT(lch_hosts_parse_arg(&l, "a:4,b:2", err, sizeof(err)), 0);
	CHECK_INT(l.n, 2);
	CHECK_STR(l.h[0].name, "a");
	CHECK_INT(l.h[0].slots, 4);
	CHECK_INT(l.h[1].slots, 2);
	lch_hosts_clear(&l);
	CHECK_INT(lch_hosts_parse_arg(&l, "a,a,b", err, sizeof(err)), 0);
	CHECK_INT(l.n, 2);
	CHECK_INT(l.h[0].slots, 2);
	CHECK_INT(l.h[1].slots, 1);
	CHECK_INT(lch_hosts_slots(&l), 3);
	lch_hosts_clear(&l);
	CHECK_INT(lch_hosts_parse_arg(&l, "n[01-03]:2,m", err, sizeof(err)), 0);
	CHECK_INT(l.n, 4);
	CHECK_STR(l.h[2].name, "n03");
	CHECK_INT(l.h[2].slots, 2);
	CHECK_INT(lch_hosts_slots(&l), 7);
	lch_hosts_clear(&l);
}

static void
test_arg_bad(void)
{
	static const char *bad[] = { "", "a:", "a:0", "a:-1", "a:x", ",a",
		"a,", "-oProxyCommand=x", "a b", "a:4:", "h;rm", NULL };
	struct lch_hostlist l = { 0 };
	int i;

	for (i = 0; bad[i]; i++) {
		err[0] = '\0';
		CHECK_(lch_hosts_parse_arg(&l, bad[i], err, sizeof(err)) != 0,
		    "'%s' accepted", bad[i]);
		CHECK_(err[0] != '\0', "'%s': no message", bad[i]);
		lch_hosts_clear(&l);
	}
}

static const char *
write_file(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/muster-hosts-%d", (int)getpid());
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void
test_file(void)
{
	struct lch_hostlist l = { 0 };
	const char *p = write_file("# cluster\n\nnode1 slots=4\n"
	    "node2 slots=2 max_slots=8   # comment\n  node3\nnode4:3\n"
	    "node[5-6] slots=1\nnode1 slots=1\n");

	CHECK_INT(lch_hosts_parse_file(&l, p, err, sizeof(err)), 0);
	CHECK_INT(l.n, 6);
	CHECK_STR(l.h[0].name, "node1");
	CHECK_INT(l.h[0].slots, 5);	/* 4 + 1: a host named twice adds up */
	CHECK_INT(l.h[1].slots, 2);
	CHECK_INT(l.h[2].slots, 1);
	CHECK_INT(l.h[3].slots, 3);
	CHECK_STR(l.h[5].name, "node6");
	lch_hosts_clear(&l);
	unlink(p);
}

static void
test_file_bad(void)
{
	static const char *bad[] = { "node1 slots=0\n", "node1 slots=x\n",
		"node1 cpus=4\n", "# only comments\n\n", "node1 slots=\n",
		"-bad slots=1\n", "node[1-\n", NULL };
	struct lch_hostlist l = { 0 };
	const char *p;
	char fifo[64];
	int i;

	for (i = 0; bad[i]; i++) {
		p = write_file(bad[i]);
		err[0] = '\0';
		CHECK_(lch_hosts_parse_file(&l, p, err, sizeof(err)) != 0,
		    "'%s' accepted", bad[i]);
		CHECK_(strstr(err, p) != NULL, "'%s': message '%s' does not "
		    "name the file", bad[i], err);
		lch_hosts_clear(&l);
		unlink(p);
	}
	CHECK(lch_hosts_parse_file(&l, "/nonexistent/hosts", err,
	    sizeof(err)) != 0);
	CHECK(strstr(err, "/nonexistent/hosts") != NULL);
	/* a device was read as one endless line; a FIFO waited for a writer */
	CHECK(lch_hosts_parse_file(&l, "/dev/zero", err, sizeof(err)) != 0);
	CHECK_STR(err, "hostfile '/dev/zero': expected a regular file or a "
	    "pipe");
	CHECK(lch_hosts_parse_file(&l, "/tmp", err, sizeof(err)) != 0);
	CHECK_STR(err, "hostfile '/tmp': expected a regular file or a pipe");
	snprintf(fifo, sizeof(fifo), "/tmp/muster-hfifo-%d", (int)getpid());
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK(lch_hosts_parse_file(&l, fifo, err, sizeof(err)) != 0);
	CHECK(strstr(err, "': no hosts") != NULL);
	unlink(fifo);
}

static void
test_local(void)
{
	char me[256];

	CHECK(lch_host_is_local("localhost"));
	CHECK(lch_host_is_local("127.0.0.1"));
	CHECK(!lch_host_is_local("10.200.0.7"));
	gethostname(me, sizeof(me));
	CHECK(lch_host_is_local(me));
	CHECK(lch_host_is_loopback("127.0.1.1"));
	CHECK(lch_host_is_loopback("::1"));
	CHECK(!lch_host_is_loopback("10.0.0.1"));
	CHECK(!lch_host_is_loopback(me) || strcmp(me, "localhost") == 0);
	if (strchr(me, '.') == NULL) {	/* our name with a domain is us */
		char fq[300];

		snprintf(fq, sizeof(fq), "%s.example.org", me);
		CHECK(lch_host_is_local(fq));
		snprintf(fq, sizeof(fq), "%sx", me);
		CHECK(!lch_host_is_local(fq));
	}
}

/* -H and hostfile lines refuse IPv6 literals, naming the host. */
static void
test_ipv6(void)
{
	static const char *bad[] = { "fd00::1:4", "[fd00::1]:4", "fd00::1",
		"::1", "[::1]", "fe80::1%eth0:2", NULL };
	struct lch_hostlist l = { 0 };
	char want[600], *list;
	const char *p;
	int i;

	for (i = 0; bad[i]; i++) {
		snprintf(want, sizeof(want), "'%s': " V6, bad[i]);
		CHECK_(lch_hosts_parse_arg(&l, bad[i], err, sizeof(err)) != 0,
		    "-H '%s' accepted", bad[i]);
		CHECK_STR(err, want);
		lch_hosts_clear(&l);
		list = NULL;
		CHECK(asprintf(&list, "a:2,%s,b", bad[i]) > 0);
		CHECK(lch_hosts_parse_arg(&l, list, err, sizeof(err)) != 0);
		CHECK_STR(err, want);
		free(list);
		lch_hosts_clear(&l);
	}
	p = write_file("node1 slots=2\nfd00::1 slots=4\n");
	CHECK(lch_hosts_parse_file(&l, p, err, sizeof(err)) != 0);
	snprintf(want, sizeof(want), "hostfile '%s' line 2: 'fd00::1': " V6, p);
	CHECK_STR(err, want);
	lch_hosts_clear(&l);
	p = write_file("[fd00::1]:4\n");
	CHECK(lch_hosts_parse_file(&l, p, err, sizeof(err)) != 0);
	CHECK(strstr(err, "'[fd00::1]:4': " V6) != NULL);
	lch_hosts_clear(&l);
	unlink(p);
	CHECK(lch_host_is_ipv6("fd00::1"));
	CHECK(!lch_host_is_ipv6("node1:4"));
	CHECK(!lch_host_valid("fd00::1"));	/* ':' is no host name's */
	CHECK(lch_host_valid("10.0.0.1"));
}

/* Sums and sizes past the documented maximums are refused, not wrapped. */
static void
test_limits(void)
{
	struct lch_hostlist l = { 0 };
	const char *p;

	CHECK_INT(lch_hosts_parse_arg(&l, "a:1048576", err, sizeof(err)), 0);
	CHECK_INT(l.h[0].slots, LCH_SLOTS_MAX);
	lch_hosts_clear(&l);
	CHECK(lch_hosts_parse_arg(&l, "a:1048576,b,a:1", err, sizeof(err)) != 0);
	CHECK_STR(err, "'a': more than 1048576 slots");
	lch_hosts_clear(&l);
	/* int wrap: 4096 x 2^20 slots would be 2^32, that is 0 */
	p = write_file("a slots=1048576\na slots=1048576\n");
	CHECK(lch_hosts_parse_file(&l, p, err, sizeof(err)) != 0);
	CHECK(strstr(err, "line 2: 'a': more than 1048576 slots") != NULL);
	lch_hosts_clear(&l);
	unlink(p);
	CHECK(lch_hosts_parse_arg(&l, "node[0-99999999]", err, sizeof(err)) != 0);
	CHECK_STR(err, "'[0-99999999]': 100000000 hosts, more than 1048576");
	lch_hosts_clear(&l);
	CHECK(lch_hosts_parse_arg(&l, "n[0-1048575]x[0-1]", err,
	    sizeof(err)) != 0);
	CHECK_STR(err, "more than 1048576 hosts");
	lch_hosts_clear(&l);
	/* many expressions together are held to the same total */
	CHECK(lch_hosts_parse_arg(&l, "a[0-599999],b[0-599999]", err,
	    sizeof(err)) != 0);
	CHECK_STR(err, "more than 1048576 hosts");
	lch_hosts_clear(&l);
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* "h0,h1,...": n hosts, each named twice (the second adds a slot). */
static char *
many_hosts(int n, const char *sep, const char *suffix)
{
	size_t cap = (size_t)n * 2 * 24 + 1, len = 0;
	char *s = malloc(cap);
	int i;

	for (i = 0; i < 2 * n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%sh%ld%s",
		    i ? sep : "", (long)i * 7919 % n, suffix);
	return s;
}

/* Every host once, in first-seen order, with 2 slots; in what time. */
static double
check_many(int n, int file)
{
	struct lch_hostlist l = { 0 };
	char *text = many_hosts(n, file ? "\n" : ",", file ? " slots=1" : "");
	struct timespec t0;
	const char *p = file ? write_file(text) : NULL;
	double secs;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = file ? lch_hosts_parse_file(&l, p, err, sizeof(err)) :
	    lch_hosts_parse_arg(&l, text, err, sizeof(err));
	secs = seconds_since(&t0);
	CHECK_(rc == 0, "%d hosts: %s", n, err);
	CHECK_INT(l.n, n);
	if (l.n == (size_t)n) {
		CHECK_STR(l.h[0].name, "h0");
		CHECK_STR(l.h[1].name, "h7919");
		CHECK_INT(l.h[n - 1].slots, 2);
		CHECK_INT(lch_hosts_slots(&l), 2L * n);
	}
	lch_hosts_clear(&l);
	if (p)
		unlink(p);
	free(text);
	return secs;
}

/*
 * 10^5 hosts (each named twice) parse in well under 2 s, from -H and from
 * a hostfile; 2x10^5 within a generous 5 s, so that a quadratic parse
 * (16 s for 10^5 before) fails even on a loaded machine.  Instrumented
 * builds get TEST_SLOWDOWN times as long.
 */
static void
test_many_hosts(void)
{
	double a = check_many(100000, 0), f = check_many(100000, 1);
	double b = check_many(200000, 0);

	fprintf(stderr, "# 10^5 hosts: -H %.3f s, hostfile %.3f s; "
	    "2x10^5: %.3f s\n", a, f, b);
	CHECK_(a < 2.0 * TEST_SLOWDOWN, "-H with 10^5 hosts took %.2f s", a);
	CHECK_(f < 2.0 * TEST_SLOWDOWN, "a hostfile of 10^5 hosts took %.2f s",
	    f);
	CHECK_(b < 5.0 * TEST_SLOWDOWN, "-H with 2x10^5 hosts took %.2f s", b);
}

/*
 * The plan asks lch_host_is_local() of every node: 10^5 address literals
 * took 6 s when each asked the kernel for the interfaces again.
 */
static void
test_local_many(void)
{
	struct timespec t0;
	double secs;
	int i, local = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 100000; i++)
		local += lch_host_is_local("10.200.0.7");
	secs = seconds_since(&t0);
	fprintf(stderr, "# 10^5 lch_host_is_local: %.3f s\n", secs);
	CHECK_INT(local, 0);
	CHECK(lch_host_is_local("127.0.0.1"));
	CHECK_(secs < 2.0 * TEST_SLOWDOWN, "10^5 addresses took %.2f s", secs);
}

TEST_LIST = {
	{ "hostlist", test_hostlist },
	{ "hostlist_bad", test_hostlist_bad },
	{ "arg", test_arg },
	{ "arg_bad", test_arg_bad },
	{ "file", test_file },
	{ "file_bad", test_file_bad },
	{ "local", test_local },
	{ "ipv6", test_ipv6 },
	{ "limits", test_limits },
	{ "many_hosts", test_many_hosts },
	{ "local_many", test_local_many },
	{ NULL, NULL }
};
