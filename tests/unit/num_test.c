/* num_test.c: the strict number parser (common/num.h) and env knobs. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "test.h"

/* mst_parse_long(s, min, max) gives want. */
static void
check_long(const char *s, long min, long max, long want)
{
	long v = -12345;

	CHECK_(mst_parse_long(s, min, max, &v) == 0, "'%s' in [%ld, %ld] "
	    "rejected", s, min, max);
	CHECK_(v == want, "'%s': %ld, want %ld", s, v, want);
}

/* mst_parse_long(s, min, max) fails and leaves the output alone. */
static void
check_long_bad(const char *s, long min, long max)
{
	long v = -12345;

	CHECK_(mst_parse_long(s, min, max, &v) == -1, "'%s' in [%ld, %ld] "
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

/* Durations, as the launcher reads them: [0, 1e9] seconds. */
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
		CHECK_(mst_parse_double(good[i].s, 0, 1e9, &v) == 0, "'%s' rejected",
		    good[i].s);
		CHECK_(v == good[i].want, "'%s': %g, want %g", good[i].s, v,
		    good[i].want);
	}
	for (i = 0; bad[i]; i++) {
		v = -1;
		CHECK_(mst_parse_double(bad[i], 0, 1e9, &v) == -1, "'%s' accepted",
		    bad[i]);
		CHECK_(v == -1, "'%s': output changed to %g", bad[i], v);
	}
	CHECK_INT(mst_parse_double(NULL, 0, 1e9, &v), -1);
}

static void
test_double(void)
{
	double d = 0;

	CHECK_INT(mst_parse_double("0.5", 0, 1, &d), 0);
	CHECK(d == 0.5);
	CHECK_INT(mst_parse_double("1e3", 0, 1e9, &d), 0);
	CHECK(d == 1000);
	CHECK_INT(mst_parse_double("3", 0, 1e9, &d), 0);
	CHECK(d == 3);
	d = 42;
	CHECK_INT(mst_parse_double("", 0, 1e9, &d), -1);
	CHECK_INT(mst_parse_double(" 1", 0, 1e9, &d), -1);
	CHECK_INT(mst_parse_double("+1", 0, 1e9, &d), -1);
	CHECK_INT(mst_parse_double("1s", 0, 1e9, &d), -1);
	CHECK_INT(mst_parse_double("-1", 0, 1e9, &d), -1);
	CHECK_INT(mst_parse_double("nan", 0, 1e9, &d), -1);
	CHECK_INT(mst_parse_double("0x10", 0, 1e9, &d), -1);
	CHECK_INT(mst_parse_double("\t1", 0, 1e9, &d), -1);
	CHECK_INT(mst_parse_double("1e-3", 0, 1e9, &d), 0);
	CHECK(d == 1e-3);
	d = 42;
	CHECK_INT(mst_parse_double("inf", 0, 1e300, &d), -1);
	CHECK_INT(mst_parse_double("1e400", 0, 1e300, &d), -1);
	CHECK_INT(mst_parse_double("2e9", 0, 1e9, &d), -1);
	CHECK(d == 42);
}

static void
test_env(void)
{
	char err[128] = "";
	long v = 7;
	double d = 2.5;

	unsetenv("MUSTER_TEST_KNOB");
	CHECK_INT(mst_env_long("MUSTER_TEST_KNOB", 1, 9, &v, err, sizeof(err)), 0);
	CHECK_INT(v, 7);	/* unset: the default stays */
	setenv("MUSTER_TEST_KNOB", "", 1);
	CHECK_INT(mst_env_long("MUSTER_TEST_KNOB", 1, 9, &v, err, sizeof(err)), 0);
	CHECK_INT(v, 7);	/* empty: the default stays */
	setenv("MUSTER_TEST_KNOB", "4", 1);
	CHECK_INT(mst_env_long("MUSTER_TEST_KNOB", 1, 9, &v, err, sizeof(err)), 0);
	CHECK_INT(v, 4);
	setenv("MUSTER_TEST_KNOB", "40", 1);
	CHECK_INT(mst_env_long("MUSTER_TEST_KNOB", 1, 9, &v, err, sizeof(err)), -1);
	CHECK_INT(v, 4);
	CHECK_STR(err, "MUSTER_TEST_KNOB='40' is not an integer from 1 to 9");
	setenv("MUSTER_TEST_KNOB", "fast", 1);
	CHECK_INT(mst_env_double("MUSTER_TEST_KNOB", 0, 100, &d, err,
	    sizeof(err)), -1);
	CHECK(d == 2.5);
	CHECK_STR(err, "MUSTER_TEST_KNOB='fast' is not a number from 0 to 100");
	setenv("MUSTER_TEST_KNOB", "12.5", 1);
	CHECK_INT(mst_env_double("MUSTER_TEST_KNOB", 0, 100, &d, err,
	    sizeof(err)), 0);
	CHECK(d == 12.5);
	unsetenv("MUSTER_TEST_KNOB");
}

TEST_LIST = {
	{ "parse_long", test_parse_long },
	{ "parse_seconds", test_parse_seconds },
	{ "double", test_double },
	{ "env_knobs", test_env },
	{ NULL, NULL },
};
