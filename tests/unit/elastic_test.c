/* elastic_test.c: an elastic job's members, generation by generation. */
#include <stdlib.h>
#include <string.h>

#include "elastic.h"
#include "options.h"
#include "test.h"

static char err[512], names[512];

/* Options of "--nodes MIN:MAX [-H hosts]", parsed and finished. */
static void
opts(struct lch_opts *o, const char *nodes, const char *hosts)
{
	char *argv[8];
	int argc = 0;

	lch_opts_init(o);
	argv[argc++] = (char *)"muster";
	argv[argc++] = (char *)"--nodes";
	argv[argc++] = (char *)nodes;
	if (hosts) {
		argv[argc++] = (char *)"-H";
		argv[argc++] = (char *)hosts;
	}
	argv[argc++] = (char *)"true";
	argv[argc] = NULL;
	CHECK(lch_opts_parse(o, argc, argv) == 0);
	CHECK(lch_opts_finish(o) == 0);
}

static void
test_virtual(void)
{
	struct lch_opts o;
	struct lch_elastic e;
	unsigned char gone[3] = { 0, 1, 0 };

	opts(&o, "2:3", NULL);
	lch_elastic_init(&e, &o);
	CHECK(lch_elastic_apply(&e, &o) == 0);
	CHECK_INT(o.np, 3);
	CHECK_INT(o.nodes, 3);
	CHECK_INT(lch_elastic_drop(&e, gone, names, sizeof(names)), 1);
	CHECK_STR(names, "node 1");
	CHECK(lch_elastic_apply(&e, &o) == 0);
	CHECK_INT(o.np, 2);
	lch_elastic_name(&e, 1, names, sizeof(names));
	CHECK_STR(names, "node 2");	/* virtual nodes keep their number */
	CHECK_INT(lch_elastic_can_grow(&e), 0);
	lch_elastic_release(&e);
	lch_opts_release(&o);
}

static void
test_hosts(void)
{
	struct lch_opts o;
	struct lch_elastic e;
	unsigned char gone[2] = { 1, 0 };
	const char *out = "a:2\nb:3\n\nd:1\r\ne\n";

	opts(&o, "1:2", "a:2,b:3,c:4");
	lch_elastic_init(&e, &o);
	CHECK(lch_elastic_apply(&e, &o) == 0);
	CHECK_INT(o.np, 5);		/* a and b; c is a spare */
	CHECK_INT((long)o.hosts.n, 2);
	CHECK_INT(lch_elastic_can_grow(&e), 0);
	CHECK_INT(lch_elastic_drop(&e, gone, names, sizeof(names)), 1);
	CHECK_STR(names, "a");
	CHECK_INT(lch_elastic_can_grow(&e), 1);
	CHECK_INT(lch_elastic_fill(&e, names, sizeof(names)), 1);
	CHECK_STR(names, "c");
	CHECK(lch_elastic_apply(&e, &o) == 0);
	CHECK_INT(o.np, 7);
	CHECK_STR(o.hosts.h[0].name, "b");
	CHECK_STR(o.hosts.h[1].name, "c");
	/* discovery: a lost host (a) and known ones are not added again */
	CHECK_INT(lch_elastic_discovered(&e, out, strlen(out), err,
	    sizeof(err)), 2);
	CHECK_INT(e.nspare, 2);
	if (e.nspare == 2)
		CHECK_STR(e.spare[1].host, "e");
	CHECK_INT(lch_elastic_can_grow(&e), 0);	/* 2 of 2 run */
	lch_elastic_release(&e);
	lch_opts_release(&o);
}

static void
test_discovered_bad(void)
{
	static const char *const bad[] = {
		"a:1\nnot a host\n", "a:x\n", "a,b\n", "a:0\n", "-a\n",
		"fd00::1\n", "a:1 b:2\n",
	};
	struct lch_opts o;
	struct lch_elastic e;
	size_t i;

	opts(&o, "1:4", "h");
	lch_elastic_init(&e, &o);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_(lch_elastic_discovered(&e, bad[i], strlen(bad[i]), err,
		    sizeof(err)) == -1, "'%s' taken", bad[i]);
		CHECK_(strstr(err, "expected host:slots") != NULL, "%s", err);
	}
	CHECK(lch_elastic_discovered(&e, bad[0], strlen(bad[0]), err,
	    sizeof(err)) == -1);
	CHECK_STR(err, "line 2 'not a host': expected host:slots");
	CHECK_INT(e.nspare, 0);	/* nothing taken from bad output */
	lch_elastic_release(&e);
	lch_opts_release(&o);
}

/* Hosts the discovery printed and no longer prints leave (not lost). */
static void
test_unlisted(void)
{
	struct lch_opts o;
	struct lch_elastic e;
	const char *first = "a:1\nb:1\nc:1\n", *then = "a:1\n";

	opts(&o, "1:2", "x:1,y:1,z:1");	/* -H hosts: never unlisted */
	lch_elastic_init(&e, &o);
	CHECK_INT(lch_elastic_discovered(&e, first, strlen(first), err,
	    sizeof(err)), 3);
	CHECK_INT(lch_elastic_discovered(&e, then, strlen(then), err,
	    sizeof(err)), 0);
	CHECK_INT(lch_elastic_unlisted(&e), 0);	/* x, y run: from -H */
	CHECK_INT(e.nspare, 2);			/* z, a: b, c are gone */
	if (e.nspare == 2) {
		CHECK_STR(e.spare[0].host, "z");
		CHECK_STR(e.spare[1].host, "a");
	}
	/* a member from the discovery, then unlisted, then listed again */
	e.n = 1;	/* y becomes a spare-less slot: y leaves the members */
	free(e.m[1].host);
	CHECK_INT(lch_elastic_fill(&e, names, sizeof(names)), 1);
	CHECK_STR(names, "z");
	e.m[1].disc = 1;
	CHECK_INT(lch_elastic_discovered(&e, then, strlen(then), err,
	    sizeof(err)), 0);
	CHECK_INT(lch_elastic_unlisted(&e), 1);
	CHECK_INT(lch_elastic_discovered(&e, "z\na\n", 4, err, sizeof(err)),
	    0);
	CHECK_INT(lch_elastic_unlisted(&e), 0);	/* printed again: stays */
	CHECK_INT(lch_elastic_discovered(&e, then, strlen(then), err,
	    sizeof(err)), 0);
	CHECK_INT(lch_elastic_drop_unlisted(&e, names, sizeof(names)), 1);
	CHECK_STR(names, "z");
	CHECK_INT(e.n, 1);
	CHECK_INT(e.nlost, 0);		/* not lost: may come back */
	CHECK_INT(lch_elastic_discovered(&e, "z\n", 2, err, sizeof(err)), 1);
	lch_elastic_release(&e);
	lch_opts_release(&o);
}

TEST_LIST = {
	{ "unlisted", test_unlisted },
	{ "virtual", test_virtual },
	{ "hosts", test_hosts },
	{ "discovered_bad", test_discovered_bad },
	{ NULL, NULL }
};
