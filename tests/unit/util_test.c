/*
 * util_test.c: shell quoting of the remote agent command, strict number
 * parsing (every count, port and duration the launcher reads), the
 * ordered environment map.
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

/* lch_parse_long(s, min, max) gives want. */
static void
check_long(const char *s, long min, long max, long want)
{
	long v = -12345;

	CHECK_(lch_parse_long(s, min, max, &v) == 0, "'%s' in [%ld, %ld] "
	    "rejected", s, min, max);
	CHECK_(v == want, "'%s': %ld, want %ld", s, v, want);
}

/* lch_parse_long(s, min, max) fails and leaves the output alone. */
static void
check_long_bad(const char *s, long min, long max)
{
	long v = -12345;

	CHECK_(lch_parse_long(s, min, max, &v) == -1, "'%s' in [%ld, %ld] "
	    "accepted", s ? s : "(null)", min, max);
	CHECK_(v == -12345, "'%s': output changed to %ld", s ? s : "(null)", v);
}

static void
test_parse_long(void)
{
	static const char *bad[] = { "", " 1", "+1", "1 ", "1x", "x", "0x10",
		"1e3", "1.0", "--1", "9223372036854775808",
		"-9223372036854775809", NULL };
	char buf[32];
	int i;

	check_long("0", 0, 10, 0);
	check_long("10", 0, 10, 10);
	check_long("007", 0, 10, 7);
	check_long("-5", -10, 10, -5);
	check_long("1048576", 1, 1 << 20, 1 << 20);
	snprintf(buf, sizeof(buf), "%ld", LONG_MAX);
	check_long(buf, 0, LONG_MAX, LONG_MAX);
	snprintf(buf, sizeof(buf), "%ld", LONG_MIN);
	check_long(buf, LONG_MIN, 0, LONG_MIN);
	check_long_bad("11", 0, 10);	/* the bounds are inclusive, no more */
	check_long_bad("-1", 0, 10);
	check_long_bad("0", 1, 10);
	check_long_bad("65536", 1, 65535);
	check_long_bad(NULL, 0, 10);
	for (i = 0; bad[i]; i++)
		check_long_bad(bad[i], LONG_MIN, LONG_MAX);
}

static void
test_parse_seconds(void)
{
	static const struct { const char *s; double want; } good[] = {
		{ "0", 0 }, { "1", 1 }, { "1.5", 1.5 }, { ".25", 0.25 },
		{ "2.", 2 }, { "1e3", 1000 }, { "0.001", 0.001 }, { "1e9", 1e9 },
	};
	static const char *bad[] = { "", " 1", "+1", "-1", "-0", "1s", "1 ",
		"x", "1.5.2", "nan", "inf", "1e10", "1e999", NULL };
	double v;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		CHECK_(lch_parse_seconds(good[i].s, &v) == 0, "'%s' rejected",
		    good[i].s);
		CHECK_(v == good[i].want, "'%s': %g, want %g", good[i].s, v,
		    good[i].want);
	}
	for (i = 0; bad[i]; i++) {
		v = -1;
		CHECK_(lch_parse_seconds(bad[i], &v) == -1, "'%s' accepted",
		    bad[i]);
		CHECK_(v == -1, "'%s': output changed to %g", bad[i], v);
	}
	CHECK_INT(lch_parse_seconds(NULL, &v), -1);
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

TEST_LIST = {
	{ "sq_quote", test_sq_quote },
	{ "sq_quote_sh", test_sq_quote_sh },
	{ "parse_long", test_parse_long },
	{ "parse_seconds", test_parse_seconds },
	{ "env", test_env },
	{ NULL, NULL }
};
