/*
 * num.h: the one strict parser for numbers muster reads from people and
 * from the environment: command-line values, hostfile slots, wire fields
 * and the MUSTER_* tuning variables of libmuster.  Shared (common/).
 *
 * Strict means the whole string is the number: no leading blank or '+',
 * no trailing text, no overflow, inside [min, max].  Doubles must be
 * finite.  Each parser returns 0 and stores *out, or -1 and leaves *out.
 */
#ifndef MST_NUM_H
#define MST_NUM_H

#include <stddef.h>

int mst_parse_long(const char *s, long min, long max, long *out);
int mst_parse_double(const char *s, double min, double max, double *out);

/*
 * A numeric environment knob: unset or empty leaves *out (the default)
 * and returns 0; a value the parser refuses returns -1 and writes
 * "NAME='VALUE' is not ..." into err (one line, for the caller's error).
 */
int mst_env_long(const char *name, long min, long max, long *out,
		 char *err, size_t errlen);
int mst_env_double(const char *name, double min, double max, double *out,
		   char *err, size_t errlen);

#endif /* MST_NUM_H */
