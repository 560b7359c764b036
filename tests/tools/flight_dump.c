/*
 * flight_dump: the stall report (launcher/flight.h) of flight record
 * files, as the agent would make it:
 *
 *   flight_dump FILE...	the report, on this host's clock
 *   flight_dump -q FILE	the file's q record (records.h)
 *   flight_dump -r FILE	the report of that q record, decoded
 *
 * Exit 0, 1 after a line naming a file that cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flight.h"
#include "strbuf.h"

int
main(int argc, char **argv)
{
	struct lch_flight_snap *s;
	struct lch_strbuf out = LCH_STRBUF_INIT;
	struct timespec ts;
	char err[512];
	int i, q = argc > 1 && strcmp(argv[1], "-q") == 0,
	    r = argc > 1 && strcmp(argv[1], "-r") == 0, first = 1 + (q || r);

	if (argc <= first) {
		fprintf(stderr, "usage: flight_dump [-q|-r] FILE...\n");
		return 2;
	}
	s = calloc((size_t)argc, sizeof(*s));
	for (i = first; i < argc; i++)
		if (lch_flight_read(argv[i], &s[i - first], err, sizeof(err))) {
			fprintf(stderr, "flight_dump: %s\n", err);
			free(s);
			return 1;
		}
	if (q || r) {
		lch_flight_add_record(&out, &s[0]);
		if (r) {
			char *json = strchr(out.buf, ' ') + 1;

			if (lch_flight_decode(json, strlen(json), &s[0]) != 0) {
				fprintf(stderr, "flight_dump: the q record does "
				    "not decode\n");
				lch_strbuf_release(&out);
				free(s);
				return 1;
			}
			lch_strbuf_reset(&out);
			lch_flight_report(s, 1, 0, &out);
		} else
			lch_strbuf_addch(&out, '\n');
	} else {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		lch_flight_report(s, argc - first, (long long)ts.tv_sec *
		    1000000000 + ts.tv_nsec, &out);
	}
	fputs(out.buf, stdout);
	lch_strbuf_release(&out);
	free(s);
	return 0;
}
