/*
 * place_plan: prints the placement launcher/place.c plans, for humans and
 * tests (the agents plan with the same code: lch_place_node).
 *
 *   place_plan [-t FILE.xml] [-n N] [-b BIND] [-m MAP] [-g K] [-v LIST]
 *              [-a]
 *
 * -t an hwloc XML topology (default: HWLOC_XMLFILE, else this machine),
 * -n local ranks (default 1), -b bind-to, -m map-by, -g gpus-per-proc,
 * -v the workers' CUDA_VISIBLE_DEVICES (default: this process's), -a
 * also applies each rank's binding in a forked child and prints its
 * Cpus_allowed_list.  Prints the topology, then one report line per rank
 * and its OMP_NUM_THREADS; errors: one line on stderr, exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "place.h"

static void
show_allowed(const struct lch_place_rank *r)
{
	char line[512];
	int merr = 0, rv;
	FILE *f;
	pid_t pid = fork();

	if (pid != 0) {
		waitpid(pid, NULL, 0);
		return;
	}
	if ((rv = lch_place_apply(r, &merr)) != 0)
		printf("  apply: %s\n", strerror(rv));
	if (merr)
		printf("  memory binding: %s\n", strerror(merr));
	if ((f = fopen("/proc/self/status", "r")) == NULL)
		_exit(1);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Cpus_allowed_list:", 18) == 0)
			printf("  applied:%s", line + 18);
	fflush(stdout);
	_exit(0);
}

int
main(int argc, char **argv)
{
	struct lch_place_req rq = { 1, LCH_BIND_AUTO, LCH_MAP_AUTO, -1, NULL };
	const char *xml = NULL, *vis = NULL;
	struct lch_topo *t;
	struct lch_place p;
	char err[512], line[1024];
	int c, i, apply = 0, setvis = 0;

	while ((c = getopt(argc, argv, "t:n:b:m:g:v:a")) != -1) {
		switch (c) {
		case 't': xml = optarg; break;
		case 'n': rq.nranks = atoi(optarg); break;
		case 'g': rq.gpus_per_proc = atoi(optarg); break;
		case 'v': vis = optarg; setvis = 1; break;
		case 'a': apply = 1; break;
		case 'b':
			if (lch_bind_parse(optarg, &rq.bind, err,
					   sizeof(err)) != 0)
				goto fail;
			break;
		case 'm':
			if (lch_map_parse(optarg, &rq.map, err,
					  sizeof(err)) != 0)
				goto fail;
			break;
		default:
			return 2;
		}
	}
	if (lch_topo_load(&t, xml, err, sizeof(err)) != 0)
		goto fail;
	rq.visible = setvis ? vis : getenv(lch_topo_gpu_env(t));
	lch_topo_describe(t, line, sizeof(line));
	printf("topology: %s\n", line);
	if (lch_place_plan(t, &rq, &p, err, sizeof(err)) != 0) {
		lch_place_release(&p);
		lch_topo_free(t);
		goto fail;
	}
	if (p.why[0])
		printf("not bound: %s\n", p.why);
	for (i = 0; i < p.nranks; i++) {
		printf("%s omp %d%s\n",
		       lch_place_report(&p, i, "host", i, line, sizeof(line)),
		       p.ranks[i].omp, p.ranks[i].membind ? " membind" : "");
		fflush(stdout);
		if (apply)
			show_allowed(&p.ranks[i]);
	}
	lch_place_release(&p);
	lch_topo_free(t);
	return 0;
fail:
	fprintf(stderr, "place_plan: %s\n", err);
	return 2;
}
