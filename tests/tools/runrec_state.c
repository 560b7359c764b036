/*
 * runrec_state DIR: what `muster runs` would show of the run in DIR, as
 * runrec.h's readers decide it: run.json's status, or Interrupted when
 * it says Starting or Running and no launcher holds DIR/.lock.  Prints
 * "STATUS live" (lch_runrec_live's answer: 1, 0); exit 2 on an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "runrec.h"

int
main(int argc, char **argv)
{
	static char buf[1 << 24];	/* run.json of a million ranks */
	char path[4096];
	const cJSON *st;
	cJSON *j;
	size_t n;
	FILE *f;
	int live;

	if (argc != 2) {
		fprintf(stderr, "usage: runrec_state DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/run.json", argv[1]);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "runrec_state: %s: %s\n", path, strerror(errno));
		return 2;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	j = cJSON_Parse(buf);
	st = cJSON_GetObjectItemCaseSensitive(j, "status");
	if (!cJSON_IsString(st) || (live = lch_runrec_live(argv[1])) < 0) {
		fprintf(stderr, "runrec_state: %s: no status, or no lock to "
		    "look at\n", argv[1]);
		cJSON_Delete(j);
		return 2;
	}
	printf("%s %d\n", lch_runrec_shown(st->valuestring, live), live);
	cJSON_Delete(j);
	return 0;
}
