/* hosts_test.c: -H, hostfiles and Slurm hostlists. */
#include <stdlib.h>

#include "hosts.h"
#include "test.h"

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

TEST_LIST = {
	{ "hostlist", test_hostlist },
	{ "hostlist_bad", test_hostlist_bad },
	{ "arg", test_arg },
	{ "arg_bad", test_arg_bad },
	{ "file", test_file },
	{ "file_bad", test_file_bad },
	{ "local", test_local },
	{ NULL, NULL }
};
