/* util_test.c: shell quoting of the remote agent command. */
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

TEST_LIST = {
	{ "sq_quote", test_sq_quote },
	{ "sq_quote_sh", test_sq_quote_sh },
	{ NULL, NULL }
};
