/*
 * util_test.c: shell quoting of the remote agent command, the ordered
 * environment map.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"
#include "test.h"

static void
check_quote(const char *const *argv, const char *want)
{
	char *got = lch_sq_quote_argv(argv);

	CHECK_STR(got, want);
	free(got);
}

static void
test_sq_quote(void)
{
	const char *plain[] = { "/usr/bin/muster", "--agent", NULL };
	const char *space[] = { "/opt/my tools/muster", NULL };
	const char *quote[] = { "it's", NULL };
	const char *bang[] = { "a!b", "", NULL };
	const char *meta[] = { "$HOME;`id`\\ \"x\"", NULL };
	const char *none[] = { NULL };

	check_quote(plain, "'/usr/bin/muster' '--agent'");
	check_quote(space, "'/opt/my tools/muster'");
	check_quote(quote, "'it'\\''s'");
	check_quote(bang, "'a'\\!'b' ''");
	check_quote(meta, "'$HOME;`id`\\ \"x\"'");
	check_quote(none, "");
}

/* What the quoting gives back through a real shell. */
static void
test_sq_quote_sh(void)
{
	const char *argv[] = { "printf", "%s|", "it's", "a b", "$x!", "\\n", NULL };
	char *q = lch_sq_quote_argv(argv), buf[256] = "";
	FILE *f;

	f = popen(q, "r");
	free(q);
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(fgets(buf, sizeof(buf), f) != NULL);
	pclose(f);
	CHECK_STR(buf, "it's|a b|$x!|\\n|");
}

static void
test_env(void)
{
	static char b0[] = "A=base", b1[] = "KEEP=1", b2[] = "NOEQ";
	char *base[] = { b0, b1, b2, NULL }, **m;
	struct lch_env e = { LCH_STRV_INIT };

	lch_env_set(&e, "A", "1");
	lch_env_setf(&e, "B", "%d-%s", 2, "x");
	lch_env_set(&e, "A", "3");	/* replaced in place */
	lch_env_set(&e, "EMPTY", "");
	CHECK_INT(e.kv.n, 3);
	CHECK_STR(e.kv.v[0], "A=3");
	CHECK_STR(e.kv.v[1], "B=2-x");
	CHECK(e.kv.v[3] == NULL);
	CHECK_STR(lch_env_get(&e, "B"), "2-x");
	CHECK_STR(lch_env_get(&e, "EMPTY"), "");
	CHECK(lch_env_get(&e, "C") == NULL);
	CHECK(lch_env_get(&e, "") == NULL);
	m = lch_env_merge(base, &e);	/* what e sets replaces base's */
	CHECK_STR(m[0], "KEEP=1");
	CHECK_STR(m[1], "A=3");
	CHECK_STR(m[2], "B=2-x");
	CHECK_STR(m[3], "EMPTY=");
	CHECK(m[4] == NULL);
	free(m);
	lch_env_clear(&e);
	CHECK_INT(e.kv.n, 0);
}

/* Waits of months must not wrap to poll()'s "forever" (-1). */
static void
test_poll_ms(void)
{
	CHECK_INT(lch_poll_ms(-1), -1);
	CHECK_INT(lch_poll_ms(-5000), -1);
	CHECK_INT(lch_poll_ms(0), 0);
	CHECK_INT(lch_poll_ms(250), 250);
	CHECK_INT(lch_poll_ms(INT_MAX), INT_MAX);
	CHECK_INT(lch_poll_ms(3000000LL * 1000), INT_MAX);	/* 34 days */
	CHECK_INT(lch_poll_ms(LLONG_MAX), INT_MAX);
}

TEST_LIST = {
	{ "sq_quote", test_sq_quote },
	{ "sq_quote_sh", test_sq_quote_sh },
	{ "env", test_env },
	{ "poll_ms", test_poll_ms },
	{ NULL, NULL }
};
