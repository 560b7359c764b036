/*
 * num.c: strict number parsing (num.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "num.h"

/* strtol and strtod skip blanks and take a sign: we take neither '+' nor
 * a blank, so that "8 " or " 8" in a config is an error, not an 8. */
static int
plain_start(const char *s)
{
	return s != NULL && *s != '\0' && *s != ' ' && *s != '\t' &&
	    *s != '\n' && *s != '+';
}

int
mst_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!plain_start(s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
mst_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	/* decimal only: no hex floats, "inf" or "nan" */
	if (!plain_start(s) || s[strspn(s, "0123456789.eE-")] != '\0' ||
	    (*s == '-' && min >= 0))	/* "-0" is not a duration */
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || !(v >= min) ||
	    !(v <= max))
		return -1;
	*out = v;
	return 0;
}

int
mst_env_long(const char *name, long min, long max, long *out, char *err,
	     size_t errlen)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0' || mst_parse_long(v, min, max, out) == 0)
		return 0;
	snprintf(err, errlen, "%s='%s' is not an integer from %ld to %ld",
	    name, v, min, max);
	return -1;
}

int
mst_env_double(const char *name, double min, double max, double *out,
	       char *err, size_t errlen)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0' || mst_parse_double(v, min, max, out) == 0)
		return 0;
	snprintf(err, errlen, "%s='%s' is not a number from %g to %g", name,
	    v, min, max);
	return -1;
}
