/* num_test.c: the strict number parser (common/num.h) and env knobs. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "test.h"

static int
plong(const char *s, long min, long max, long *out)
{
	*out = -12345;
	return mst_parse_long(s, min, max, out);
}

static void
test_long_accepts(void)
{
	long v;

	CHECK_INT(plong("0", 0, 10, &v), 0);
	CHECK_INT(v, 0);
	CHECK_INT(plong("10", 0, 10, &v), 0);
	CHECK_INT(v, 10);
	CHECK_INT(plong("-3", -5, 5, &v), 0);
	CHECK_INT(v, -3);
	CHECK_INT(plong("007", 0, 10, &v), 0);	/* decimal, not octal */
	CHECK_INT(v, 7);
	CHECK_INT(plong("9223372036854775807", 0, LONG_MAX, &v), 0);
	CHECK(v == LONG_MAX);
}

static void
test_long_refuses(void)
{
	static const char *bad[] = { NULL, "", " 1", "1 ", "+1", "1x", "x",
		"0x10", "1.0", "1e3", "\t1", "1\n", "--1",
		"9223372036854775808", "-9223372036854775809" };
	size_t i;
	long v;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(plong(bad[i], LONG_MIN, LONG_MAX, &v), -1);
		CHECK_INT(v, -12345);	/* untouched on error */
	}
	CHECK_INT(plong("11", 0, 10, &v), -1);
	CHECK_INT(plong("-1", 0, 10, &v), -1);
	CHECK_INT(v, -12345);
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
	{ "long_accepts", test_long_accepts },
	{ "long_refuses", test_long_refuses },
	{ "double", test_double },
	{ "env_knobs", test_env },
	{ NULL, NULL },
};
