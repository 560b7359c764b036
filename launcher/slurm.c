/* slurm.c: see slurm.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facts.h"
#include "hosts.h"
#include "num.h"
#include "slurm.h"

/* Slurm 22.05's special step ids (0xfffffffa and up): no step of tasks. */
#define SLURM_STEP_SPECIAL 4294967290UL

/* One "N" or "N(xR)" at *p; advances past it. */
static int
count_item(const char **p, long *count, long *repeat, char *err,
	   size_t errlen)
{
	char *end;

	errno = 0;
	*repeat = 1;
	if (**p < '0' || **p > '9' ||
	    (*count = strtol(*p, &end, 10), errno) || *count > LCH_SLOTS_MAX) {
		snprintf(err, errlen, "expected counts from 1 to %d, as "
		    "\"2(x3),1\"", LCH_SLOTS_MAX);
		return -1;
	}
	*p = end;
	if (strncmp(*p, "(x", 2) == 0) {
		*p += 2;
		errno = 0;
		if (**p < '0' || **p > '9' ||
		    (*repeat = strtol(*p, &end, 10), errno) || *end != ')' ||
		    *repeat > LCH_HOSTS_MAX) {
			snprintf(err, errlen, "expected a repeat \"(xR)\" of "
			    "R from 1 to %d", LCH_HOSTS_MAX);
			return -1;
		}
		*p = end + 1;
	}
	if (*count == 0 || *repeat == 0) {
		snprintf(err, errlen, "a %s of 0 (expected counts from 1, as "
		    "\"2(x3),1\")", *count == 0 ? "count" : "repeat");
		return -1;
	}
	if (**p != '\0' && **p != ',') {
		snprintf(err, errlen, "unexpected '%c' (expected counts as "
		    "\"2(x3),1\")", **p);
		return -1;
	}
	return 0;
}

int
lch_slurm_counts(const char *spec, int *counts, int n, char *err,
		 size_t errlen)
{
	const char *p = spec;
	long count, repeat, got = 0;

	if (*p == '\0') {
		snprintf(err, errlen, "empty (expected counts as \"2(x3),1\")");
		return -1;
	}
	for (;;) {
		if (count_item(&p, &count, &repeat, err, errlen) != 0)
			return -1;
		if (repeat > n - got) {
			snprintf(err, errlen, "more counts than the %d node%s",
			    n, n == 1 ? "" : "s");
			return -1;
		}
		while (repeat-- > 0)
			counts[got++] = (int)count;
		if (*p == '\0')
			break;
		if (*++p == '\0') {
			snprintf(err, errlen, "ends in ',' (expected counts as "
			    "\"2(x3),1\")");
			return -1;
		}
	}
	if (got != n) {
		snprintf(err, errlen, "%ld count%s for %d nodes", got,
		    got == 1 ? "" : "s", n);
		return -1;
	}
	return 0;
}

char *
lch_slurm_which_srun(void)
{
	char cwd[4096];

	return lch_path_search("srun", getcwd(cwd, sizeof(cwd)), NULL, NULL);
}

/* A step of tasks: SLURM_STEP_ID a number below Slurm's special ids. */
static int
detect_step(struct lch_slurm *s, char *err, size_t errlen)
{
	const char *id = getenv("SLURM_STEP_ID"), *v;
	long step;

	if (id == NULL || mst_parse_long(id, 0, SLURM_STEP_SPECIAL - 1,
	    &step) != 0)
		return 0;	/* none, "batch", "extern", 4294967290... */
	s->in_step = 1;
	v = getenv("SLURM_STEP_NUM_TASKS");
	if (v == NULL || mst_parse_long(v, 1, LONG_MAX, &s->step_tasks) != 0) {
		snprintf(err, errlen, "SLURM_STEP_NUM_TASKS '%s': expected the "
		    "tasks of job step %s (a number from 1)", v ? v : "(unset)",
		    id);
		return -1;
	}
	v = getenv("SLURM_PROCID");
	if (v == NULL || mst_parse_long(v, 0, s->step_tasks - 1,
	    &s->procid) != 0) {
		snprintf(err, errlen, "SLURM_PROCID '%s': expected a task of "
		    "job step %s (0 to %ld)", v ? v : "(unset)", id,
		    s->step_tasks - 1);
		return -1;
	}
	return 0;
}

/*
 * The variable each node's slots come from (slurm.h); inside a step
 * srun has replaced the job's task variables with the step's, so only
 * the CPUs describe the allocation there.
 */
static const char *
slots_var(const struct lch_slurm *s)
{
	if (!s->in_step && getenv("SLURM_NTASKS_PER_NODE"))
		return "SLURM_NTASKS_PER_NODE";
	if (!s->in_step && getenv("SLURM_NTASKS"))
		return "SLURM_TASKS_PER_NODE";
	return "SLURM_JOB_CPUS_PER_NODE";
}

static int
detect_slots(struct lch_slurm *s, char *err, size_t errlen)
{
	const char *var = slots_var(s), *v = getenv(var);
	char why[256];
	long per;
	int i;

	if (v == NULL) {
		snprintf(err, errlen, "%s is not set (Slurm job %s: expected "
		    "the tasks of each node, as \"2(x3),1\")", var, s->job_id);
		return -1;
	}
	snprintf(s->slots_from, sizeof(s->slots_from), "%s=%s", var, v);
	s->slots = lch_xcalloc((size_t)s->nnodes, sizeof(*s->slots));
	if (strcmp(var, "SLURM_NTASKS_PER_NODE") == 0) {
		if (mst_parse_long(v, 1, LCH_SLOTS_MAX, &per) != 0) {
			snprintf(err, errlen, "%s '%s': expected a number from "
			    "1 to %d", var, v, LCH_SLOTS_MAX);
			return -1;
		}
		for (i = 0; i < s->nnodes; i++)
			s->slots[i] = (int)per;
		return 0;
	}
	if (lch_slurm_counts(v, s->slots, s->nnodes, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s '%s': %s (SLURM_JOB_NODELIST '%s' "
		    "has %d)", var, v, why, s->nodelist, s->nnodes);
		return -1;
	}
	return 0;
}

static int
detect_nodes(struct lch_slurm *s, char *err, size_t errlen)
{
	const char *v = getenv("SLURM_JOB_NODELIST");
	char why[512];
	size_t n;

	if (v == NULL || *v == '\0') {
		snprintf(err, errlen, "SLURM_JOB_NODELIST is %s (Slurm job %s: "
		    "expected its nodes, as \"n[1-4]\")", v ? "empty" :
		    "not set", s->job_id);
		return -1;
	}
	s->nodelist = lch_xstrdup(v);
	if (lch_hostlist_expand(v, &s->nodes, &n, why, sizeof(why)) != 0) {
		s->nodes = NULL;
		snprintf(err, errlen, "SLURM_JOB_NODELIST: %s (expected "
		    "Slurm's hostlist, as \"n[1-4]\")", why);
		return -1;
	}
	s->nnodes = (int)n;
	return 0;
}

int
lch_slurm_detect(struct lch_slurm *s, char *err, size_t errlen)
{
	const char *id = getenv("SLURM_JOB_ID");
	size_t len;

	memset(s, 0, sizeof(*s));
	if (id == NULL || *id == '\0')
		return 0;
	len = strspn(id, "0123456789");
	if (id[len] != '\0' || len > 20) {
		snprintf(err, errlen, "SLURM_JOB_ID '%.40s%s': expected a "
		    "Slurm job number", id, strlen(id) > 40 ? "..." : "");
		return -1;
	}
	s->job_id = lch_xstrdup(id);
	s->srun = lch_slurm_which_srun();
	if (detect_step(s, err, errlen) != 0 ||
	    detect_nodes(s, err, errlen) != 0 ||
	    detect_slots(s, err, errlen) != 0) {
		lch_slurm_release(s);
		return -1;
	}
	return 1;
}

void
lch_slurm_release(struct lch_slurm *s)
{
	int i;

	for (i = 0; s->nodes && s->nodes[i]; i++)
		free(s->nodes[i]);
	free(s->nodes);
	free(s->slots);
	free(s->nodelist);
	free(s->job_id);
	free(s->srun);
	memset(s, 0, sizeof(*s));
}

/*
 * Whether the step takes every node of the allocation: the hosts are
 * distinct nodes of it (lch_opts_finish checked -H's), so as many is all.
 */
static int
whole_allocation(const struct lch_srun_step *st)
{
	return st->nhosts == st->s->nnodes;
}

void
lch_slurm_srun_argv(const struct lch_srun_step *st, struct lch_strv *v)
{
	char *joined;
	size_t len = 0, at = 0;
	int i;

	lch_strv_push(v, st->s->srun ? st->s->srun : "srun");
	lch_strv_pushf(v, "--jobid=%s", st->s->job_id);
	lch_strv_pushf(v, "--nodes=%d", st->nhosts);
	lch_strv_pushf(v, "--ntasks=%d", st->nhosts);
	lch_strv_push(v, "--ntasks-per-node=1");
	if (whole_allocation(st)) {
		lch_strv_pushf(v, "--nodelist=%s", st->s->nodelist);
	} else {
		for (i = 0; i < st->nhosts; i++)
			len += strlen(st->hosts[i]) + 1;
		joined = lch_xmalloc(len + sizeof("--nodelist="));
		at = (size_t)sprintf(joined, "--nodelist=");
		for (i = 0; i < st->nhosts; i++)
			at += (size_t)sprintf(joined + at, "%s%s", i ? "," : "",
			    st->hosts[i]);
		lch_strv_push(v, joined);
		free(joined);
	}
	lch_strv_push(v, "--kill-on-bad-exit=1");
	lch_strv_push(v, "--cpu-bind=none");
	lch_strv_push(v, "--mem-bind=none");
	lch_strv_push(v, "--overlap");
	lch_strv_push(v, "--input=none");
	lch_strv_push(v, "--export=ALL");
	lch_strv_push(v, "--job-name=muster");
	lch_strv_push(v, st->muster);
	lch_strv_push(v, "--agent");
	lch_strv_push(v, "--dial");
	lch_strv_push(v, st->dial);
}
