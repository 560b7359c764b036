/*
 * place_test.c: placement plans (launcher/place.c) on the hwloc XML
 * topologies of tests/topo/ (written by tests/topo/gen.py), every
 * bind-to and map-by, the GPU choices and the errors; and, on this
 * machine, a binding applied in a forked child read back from
 * /proc/self/status.
 */
#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "place.h"
#include "test.h"
#include "util.h"

#define MPOL_BIND_ 2

static char *
topo_path(const char *name)
{
	static char path[4096];
	const char *root = getenv("MUSTER_TEST_ROOT");

	snprintf(path, sizeof(path), "%s/tests/topo/%s", root ? root : ".",
		 name);
	return path;
}

static struct lch_topo *
load(const char *name)
{
	struct lch_topo *t = NULL;
	char err[512] = "";

	if (lch_topo_load(&t, name ? topo_path(name) : NULL, err,
			  sizeof(err)) != 0) {
		fprintf(stderr, "# load %s: %s\n", name ? name : "(here)", err);
		return NULL;
	}
	return t;
}

/*
 * Plans n ranks with bind b, map m, k GPUs per rank and visible on
 * topology name, and checks each rank's --report-bindings line (host
 * "h") against want (NULL-terminated; NULL want: the plan must fail
 * with the error errwant).
 */
static void
check_plan_(const char *file, int line, const char *name, int n,
	    enum lch_bind b, enum lch_map m, int k, const char *visible,
	    const char *const *want, const char *errwant)
{
	struct lch_place_req rq = { n, b, m, k, visible };
	struct lch_topo *t = load(name);
	struct lch_place p;
	char err[512] = "", got[512];
	int i, rv;

	CHECK_(t != NULL, "%s:%d: topology %s loads", file, line, name);
	if (t == NULL)
		return;
	rv = lch_place_plan(t, &rq, &p, err, sizeof(err));
	if (want == NULL) {
		CHECK_(rv == -1, "%s:%d: plan fails", file, line);
		CHECK_(strcmp(err, errwant) == 0, "%s:%d: error\n#   got  "
		       "'%s'\n#   want '%s'", file, line, err, errwant);
	} else {
		CHECK_(rv == 0, "%s:%d: plan: %s", file, line, err);
		for (i = 0; rv == 0 && i < n; i++) {
			CHECK_(want[i] != NULL, "%s:%d: more ranks than lines",
			       file, line);
			if (want[i] == NULL)
				break;
			lch_place_report(&p, i, "h", i, got, sizeof(got));
			CHECK_(strcmp(got, want[i]) == 0, "%s:%d: rank %d\n"
			       "#   got  '%s'\n#   want '%s'", file, line, i,
			       got, want[i]);
		}
		CHECK_(rv != 0 || want[n] == NULL, "%s:%d: fewer ranks than "
		       "lines", file, line);
	}
	lch_place_release(&p);
	lch_topo_free(t);
}
#define check_plan(name, n, b, m, k, vis, ...) do { \
	static const char *const want_[] = { __VA_ARGS__, NULL }; \
	check_plan_(__FILE__, __LINE__, name, n, b, m, k, vis, want_, NULL); \
} while (0)
#define check_plan_err(name, n, b, m, k, vis, errwant) \
	check_plan_(__FILE__, __LINE__, name, n, b, m, k, vis, NULL, errwant)


#define BAUTO LCH_BIND_AUTO	/* no --bind-to */
#define MAUTO LCH_MAP_AUTO	/* no --map-by */

/* No two ranks share a core or a GPU; every rank is bound. */
static void
check_disjoint(const char *name, int n, int k)
{
	struct lch_place_req rq = { n, LCH_BIND_AUTO, LCH_MAP_AUTO, k, NULL };
	struct lch_topo *t = load(name);
	hwloc_bitmap_t all = hwloc_bitmap_alloc(), one = hwloc_bitmap_alloc();
	struct lch_place p;
	char err[512], seen[4096] = ",", *g, *s, *tok, key[64];
	int i;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK(lch_place_plan(t, &rq, &p, err, sizeof(err)) == 0);
	for (i = 0; i < p.nranks; i++) {
		CHECK(p.ranks[i].bound);
		CHECK(hwloc_bitmap_list_sscanf(one, p.ranks[i].cpus) == 0);
		CHECK_(!hwloc_bitmap_intersects(all, one), "%s: rank %d's "
		       "cpus %s taken before", name, i, p.ranks[i].cpus);
		hwloc_bitmap_or(all, all, one);
		CHECK(p.ranks[i].gpus != NULL);
		g = s = strdup(p.ranks[i].gpus ? p.ranks[i].gpus : "");
		while ((tok = strsep(&s, ",")) != NULL) {
			snprintf(key, sizeof(key), ",%s,", tok);
			CHECK_(strstr(seen, key) == NULL, "%s: GPU %s twice",
			       name, tok);
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
		}
		free(g);
	}
	lch_place_release(&p);
	lch_topo_free(t);
	hwloc_bitmap_free(all);
	hwloc_bitmap_free(one);
}

/* The node: 2 sockets x 2 NUMA x 8 cores x 2 threads, 8 GPUs. */
static void
test_default_gpu8_4numa(void)
{
	check_plan("gpu8-4numa.xml", 8, BAUTO, MAUTO, -1, NULL,
		   "h rank 0: cpus 0-3,32-35 numa 0 gpus 0",
		   "h rank 1: cpus 4-7,36-39 numa 0 gpus 1",
		   "h rank 2: cpus 8-11,40-43 numa 1 gpus 2",
		   "h rank 3: cpus 12-15,44-47 numa 1 gpus 3",
		   "h rank 4: cpus 16-19,48-51 numa 2 gpus 4",
		   "h rank 5: cpus 20-23,52-55 numa 2 gpus 5",
		   "h rank 6: cpus 24-27,56-59 numa 3 gpus 6",
		   "h rank 7: cpus 28-31,60-63 numa 3 gpus 7");
	/* 4 ranks: one GPU of each NUMA node, the whole node's cores */
	check_plan("gpu8-4numa.xml", 4, BAUTO, MAUTO, -1, NULL,
		   "h rank 0: cpus 0-7,32-39 numa 0 gpus 0",
		   "h rank 1: cpus 8-15,40-47 numa 1 gpus 2",
		   "h rank 2: cpus 16-23,48-55 numa 2 gpus 4",
		   "h rank 3: cpus 24-31,56-63 numa 3 gpus 6");
	check_disjoint("gpu8-4numa.xml", 8, -1);
	check_disjoint("gpu8-4numa.xml", 4, -1);
	check_disjoint("gpu8-4numa.xml", 2, 4);
}

/* 2 sockets, one NUMA node and 4 GPUs each. */
static void
test_default_gpu8_2numa(void)
{
	check_plan("gpu8-2numa.xml", 8, BAUTO, MAUTO, -1, NULL,
		   "h rank 0: cpus 0-1 numa 0 gpus 0",
		   "h rank 1: cpus 2-3 numa 0 gpus 1",
		   "h rank 2: cpus 4-5 numa 0 gpus 2",
		   "h rank 3: cpus 6-7 numa 0 gpus 3",
		   "h rank 4: cpus 8-9 numa 1 gpus 4",
		   "h rank 5: cpus 10-11 numa 1 gpus 5",
		   "h rank 6: cpus 12-13 numa 1 gpus 6",
		   "h rank 7: cpus 14-15 numa 1 gpus 7");
	check_plan("gpu8-2numa.xml", 4, BAUTO, MAUTO, -1, NULL,
		   "h rank 0: cpus 0-3 numa 0 gpus 0",
		   "h rank 1: cpus 4-7 numa 0 gpus 1",
		   "h rank 2: cpus 8-11 numa 1 gpus 4",
		   "h rank 3: cpus 12-15 numa 1 gpus 5");
	check_plan("gpu8-2numa.xml", 1, BAUTO, MAUTO, -1, NULL,
		   "h rank 0: cpus 0-7 numa 0 gpus 0");
	check_disjoint("gpu8-2numa.xml", 8, -1);
	check_disjoint("gpu8-2numa.xml", 3, -1);
}

/* Both GPUs on the second socket: the ranks' cores follow them there. */
static void
test_default_follows_gpu(void)
{
	check_plan("gpu2-skew.xml", 2, BAUTO, MAUTO, -1, NULL,
		   "h rank 0: cpus 8-11 numa 1 gpus 0",
		   "h rank 1: cpus 12-15 numa 1 gpus 1");
	check_plan("gpu2-skew.xml", 1, BAUTO, MAUTO, -1, NULL,
		   "h rank 0: cpus 8-15 numa 1 gpus 0");
	/* no GPUs asked for: a CPU node's plan */
	check_plan("gpu2-skew.xml", 2, BAUTO, MAUTO, 0, NULL,
		   "h rank 0: cpus 0-7 numa 0",
		   "h rank 1: cpus 8-15 numa 1");
}

static void
test_gpus_per_proc(void)
{
	check_plan("gpu8-4numa.xml", 4, BAUTO, MAUTO, 2, NULL,
		   "h rank 0: cpus 0-7,32-39 numa 0 gpus 0,1",
		   "h rank 1: cpus 8-15,40-47 numa 1 gpus 2,3",
		   "h rank 2: cpus 16-23,48-55 numa 2 gpus 4,5",
		   "h rank 3: cpus 24-31,56-63 numa 3 gpus 6,7");
	check_plan("gpu8-2numa.xml", 2, BAUTO, MAUTO, 4, NULL,
		   "h rank 0: cpus 0-7 numa 0 gpus 0,1,2,3",
		   "h rank 1: cpus 8-15 numa 1 gpus 4,5,6,7");
	/* 3 GPUs each: no NUMA node has 3, so the node's GPUs in order */
	check_plan("gpu8-4numa.xml", 2, BAUTO, MAUTO, 3, NULL,
		   "h rank 0: cpus 0-15,32-47 numa 0-1 gpus 0,1,2",
		   "h rank 1: cpus 16-31,48-63 numa 2-3 gpus 3,4,5");
	/* gpus-per-proc 0: more ranks than GPUs, placed as on a CPU node */
	check_plan("gpu8-4numa.xml", 12, BAUTO, MAUTO, 0, NULL,
		   "h rank 0: cpus 0-1,32-33 numa 0",
		   "h rank 1: cpus 2-3,34-35 numa 0",
		   "h rank 2: cpus 4-5,36-37 numa 0",
		   "h rank 3: cpus 8-9,40-41 numa 1",
		   "h rank 4: cpus 10-11,42-43 numa 1",
		   "h rank 5: cpus 12-13,44-45 numa 1",
		   "h rank 6: cpus 16-17,48-49 numa 2",
		   "h rank 7: cpus 18-19,50-51 numa 2",
		   "h rank 8: cpus 20-21,52-53 numa 2",
		   "h rank 9: cpus 24-25,56-57 numa 3",
		   "h rank 10: cpus 26-27,58-59 numa 3",
		   "h rank 11: cpus 28-29,60-61 numa 3");
}

/* A CPU-only node: equal shares, nothing bound with too many ranks. */
static void
test_default_cpu(void)
{
	struct lch_place_req rq = { 2, LCH_BIND_AUTO, LCH_MAP_AUTO, -1, NULL };
	struct lch_topo *t;
	struct lch_place p;
	char err[256];

	check_plan("cpu4.xml", 1, BAUTO, MAUTO, -1, NULL,
		   "h rank 0: cpus 0-3 numa 0");
	check_plan("cpu4.xml", 2, BAUTO, MAUTO, -1, NULL,
		   "h rank 0: cpus 0-1 numa 0",
		   "h rank 1: cpus 2-3 numa 0");
	check_plan("cpu4.xml", 3, BAUTO, MAUTO, -1, NULL,
		   "h rank 0: cpus 0 numa 0",
		   "h rank 1: cpus 1 numa 0", "h rank 2: cpus 2 numa 0");
	check_plan("cpu4.xml", 5, BAUTO, MAUTO, -1, NULL,
		   "h rank 0: not bound (5 ranks but 4 cores)",
		   "h rank 1: not bound (5 ranks but 4 cores)",
		   "h rank 2: not bound (5 ranks but 4 cores)",
		   "h rank 3: not bound (5 ranks but 4 cores)",
		   "h rank 4: not bound (5 ranks but 4 cores)");
	/* 16 cores over 2 NUMA nodes, 3 ranks: equal shares of 4 */
	check_plan("gpu2-skew.xml", 3, BAUTO, MAUTO, 0, NULL,
		   "h rank 0: cpus 0-3 numa 0", "h rank 1: cpus 4-7 numa 0",
		   "h rank 2: cpus 8-11 numa 1");

	/* OMP_NUM_THREADS is the share; one NUMA node: no memory binding */
	CHECK((t = load("cpu4.xml")) != NULL);
	if (t == NULL)
		return;
	CHECK(lch_place_plan(t, &rq, &p, err, sizeof(err)) == 0);
	CHECK_INT(p.ranks[0].omp, 2);
	CHECK_INT(p.ranks[0].membind, 0);
	CHECK(p.ranks[0].gpus == NULL);
	CHECK_STR(p.why, "");
	CHECK(!lch_topo_is_thissystem(t));
	lch_place_release(&p);
	rq.nranks = 5;
	CHECK(lch_place_plan(t, &rq, &p, err, sizeof(err)) == 0);
	CHECK_STR(p.why, "5 ranks but 4 cores");
	CHECK_INT(p.ranks[0].omp, 0);
	CHECK_INT(p.ranks[0].bound, 0);
	lch_place_release(&p);
	lch_topo_free(t);

	CHECK((t = load("gpu8-4numa.xml")) != NULL);
	if (t == NULL)
		return;
	rq.nranks = 8;
	CHECK(lch_place_plan(t, &rq, &p, err, sizeof(err)) == 0);
	CHECK_INT(p.ranks[5].omp, 4);
	CHECK_INT(p.ranks[5].membind, 1);
	CHECK_STR(p.gpu_env, "CUDA_VISIBLE_DEVICES");
	CHECK_INT(p.ngpus, 8);
	/* node 2 in the kernel's mask */
	CHECK_INT(p.ranks[5].nodemask[0], 1UL << 2);
	CHECK_INT(p.ranks[5].maxnode, 4);
	lch_place_release(&p);
	lch_topo_free(t);
}

/* --bind-to alone (map-by numa: round robin over the NUMA nodes). */
static void
test_bind_to(void)
{
	check_plan("gpu8-4numa.xml", 4, LCH_BIND_CORE, LCH_MAP_AUTO, -1, NULL,
		   "h rank 0: cpus 0,32 numa 0 gpus 0",
		   "h rank 1: cpus 8,40 numa 1 gpus 2",
		   "h rank 2: cpus 16,48 numa 2 gpus 4",
		   "h rank 3: cpus 24,56 numa 3 gpus 6");
	check_plan("gpu8-4numa.xml", 8, LCH_BIND_CORE, LCH_MAP_AUTO, 0, NULL,
		   "h rank 0: cpus 0,32 numa 0", "h rank 1: cpus 8,40 numa 1",
		   "h rank 2: cpus 16,48 numa 2", "h rank 3: cpus 24,56 numa 3",
		   "h rank 4: cpus 1,33 numa 0", "h rank 5: cpus 9,41 numa 1",
		   "h rank 6: cpus 17,49 numa 2",
		   "h rank 7: cpus 25,57 numa 3");
	check_plan("gpu8-4numa.xml", 4, LCH_BIND_L3CACHE, LCH_MAP_AUTO, -1,
		   NULL,
		   "h rank 0: cpus 0-3,32-35 numa 0 gpus 0",
		   "h rank 1: cpus 8-11,40-43 numa 1 gpus 2",
		   "h rank 2: cpus 16-19,48-51 numa 2 gpus 4",
		   "h rank 3: cpus 24-27,56-59 numa 3 gpus 6");
	check_plan("gpu8-4numa.xml", 4, LCH_BIND_NUMA, LCH_MAP_AUTO, -1, NULL,
		   "h rank 0: cpus 0-7,32-39 numa 0 gpus 0",
		   "h rank 1: cpus 8-15,40-47 numa 1 gpus 2",
		   "h rank 2: cpus 16-23,48-55 numa 2 gpus 4",
		   "h rank 3: cpus 24-31,56-63 numa 3 gpus 6");
	/* NUMA 1 is in socket 0: ranks 0 and 1 share it */
	check_plan("gpu8-4numa.xml", 4, LCH_BIND_SOCKET, LCH_MAP_AUTO, -1,
		   NULL,
		   "h rank 0: cpus 0-15,32-47 numa 0-1 gpus 0",
		   "h rank 1: cpus 0-15,32-47 numa 0-1 gpus 2",
		   "h rank 2: cpus 16-31,48-63 numa 2-3 gpus 4",
		   "h rank 3: cpus 16-31,48-63 numa 2-3 gpus 6");
	/* none: nothing bound, GPUs still near each rank's locale */
	check_plan("gpu8-4numa.xml", 4, LCH_BIND_NONE, LCH_MAP_AUTO, -1, NULL,
		   "h rank 0: not bound (bind-to none) gpus 0",
		   "h rank 1: not bound (bind-to none) gpus 2",
		   "h rank 2: not bound (bind-to none) gpus 4",
		   "h rank 3: not bound (bind-to none) gpus 6");
	check_plan("cpu4.xml", 2, LCH_BIND_NONE, LCH_MAP_AUTO, -1, NULL,
		   "h rank 0: not bound (bind-to none)",
		   "h rank 1: not bound (bind-to none)");
}

/* --map-by alone (bind-to its level: core for slot and core). */
static void
test_map_by(void)
{
	check_plan("gpu8-4numa.xml", 4, LCH_BIND_AUTO, LCH_MAP_SLOT, -1, NULL,
		   "h rank 0: cpus 0,32 numa 0 gpus 0",
		   "h rank 1: cpus 1,33 numa 0 gpus 1",
		   "h rank 2: cpus 2,34 numa 0 gpus 2",
		   "h rank 3: cpus 3,35 numa 0 gpus 3");
	check_plan("gpu8-4numa.xml", 3, LCH_BIND_AUTO, LCH_MAP_CORE, 0, NULL,
		   "h rank 0: cpus 0,32 numa 0", "h rank 1: cpus 1,33 numa 0",
		   "h rank 2: cpus 2,34 numa 0");
	check_plan("gpu8-4numa.xml", 4, LCH_BIND_AUTO, LCH_MAP_NUMA, -1, NULL,
		   "h rank 0: cpus 0-7,32-39 numa 0 gpus 0",
		   "h rank 1: cpus 8-15,40-47 numa 1 gpus 2",
		   "h rank 2: cpus 16-23,48-55 numa 2 gpus 4",
		   "h rank 3: cpus 24-31,56-63 numa 3 gpus 6");
	check_plan("gpu8-4numa.xml", 4, LCH_BIND_AUTO, LCH_MAP_SOCKET, -1,
		   NULL,
		   "h rank 0: cpus 0-15,32-47 numa 0-1 gpus 0",
		   "h rank 1: cpus 16-31,48-63 numa 2-3 gpus 4",
		   "h rank 2: cpus 0-15,32-47 numa 0-1 gpus 1",
		   "h rank 3: cpus 16-31,48-63 numa 2-3 gpus 5");
}

/* Both given: the bind-to object containing, or inside, the locale. */
static void
test_map_and_bind(void)
{
	/* slot packs: NUMA 0 takes ranks until it has one per core */
	check_plan("gpu8-4numa.xml", 3, LCH_BIND_NUMA, LCH_MAP_SLOT, 0, NULL,
		   "h rank 0: cpus 0-7,32-39 numa 0",
		   "h rank 1: cpus 0-7,32-39 numa 0",
		   "h rank 2: cpus 0-7,32-39 numa 0");
	check_plan("cpu4.xml", 4, LCH_BIND_CORE, LCH_MAP_SLOT, -1, NULL,
		   "h rank 0: cpus 0 numa 0", "h rank 1: cpus 1 numa 0",
		   "h rank 2: cpus 2 numa 0", "h rank 3: cpus 3 numa 0");
	check_plan("gpu8-4numa.xml", 3, LCH_BIND_L3CACHE, LCH_MAP_CORE, 0,
		   NULL,
		   "h rank 0: cpus 0-3,32-35 numa 0",
		   "h rank 1: cpus 0-3,32-35 numa 0",
		   "h rank 2: cpus 0-3,32-35 numa 0");
	/* socket locale, numa inside it: the least loaded */
	check_plan("gpu8-4numa.xml", 4, LCH_BIND_NUMA, LCH_MAP_SOCKET, -1,
		   NULL,
		   "h rank 0: cpus 0-7,32-39 numa 0 gpus 0",
		   "h rank 1: cpus 16-23,48-55 numa 2 gpus 4",
		   "h rank 2: cpus 8-15,40-47 numa 1 gpus 2",
		   "h rank 3: cpus 24-31,56-63 numa 3 gpus 6");
	check_plan("gpu8-4numa.xml", 8, LCH_BIND_CORE, LCH_MAP_SOCKET, 0, NULL,
		   "h rank 0: cpus 0,32 numa 0", "h rank 1: cpus 16,48 numa 2",
		   "h rank 2: cpus 1,33 numa 0", "h rank 3: cpus 17,49 numa 2",
		   "h rank 4: cpus 2,34 numa 0", "h rank 5: cpus 18,50 numa 2",
		   "h rank 6: cpus 3,35 numa 0",
		   "h rank 7: cpus 19,51 numa 2");
	check_plan("gpu8-4numa.xml", 2, LCH_BIND_L3CACHE, LCH_MAP_NUMA, 0, NULL,
		   "h rank 0: cpus 0-3,32-35 numa 0",
		   "h rank 1: cpus 8-11,40-43 numa 1");
}

/* OMP_NUM_THREADS: the binding's cores shared by the ranks bound there. */
static void
test_omp(void)
{
	struct lch_place_req rq = { 4, LCH_BIND_NUMA, LCH_MAP_SLOT, 0, NULL };
	struct lch_topo *t = load("gpu8-4numa.xml");
	struct lch_place p;
	char err[256];

	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK(lch_place_plan(t, &rq, &p, err, sizeof(err)) == 0);
	CHECK_INT(p.ranks[0].omp, 2);
	lch_place_release(&p);
	rq.bind = LCH_BIND_CORE;
	CHECK(lch_place_plan(t, &rq, &p, err, sizeof(err)) == 0);
	CHECK_INT(p.ranks[3].omp, 1);
	lch_place_release(&p);
	rq.bind = LCH_BIND_SOCKET;
	rq.map = LCH_MAP_SOCKET;
	CHECK(lch_place_plan(t, &rq, &p, err, sizeof(err)) == 0);
	CHECK_INT(p.ranks[0].omp, 8);
	lch_place_release(&p);
	lch_topo_free(t);
}

/* CUDA_VISIBLE_DEVICES set: its entries are the GPUs to split. */
static void
test_visible(void)
{
	check_plan("gpu8-4numa.xml", 2, BAUTO, MAUTO, -1, "6,7",
		   "h rank 0: cpus 24-27,56-59 numa 3 gpus 6",
		   "h rank 1: cpus 28-31,60-63 numa 3 gpus 7");
	check_plan("gpu8-4numa.xml", 2, BAUTO, MAUTO, -1, "7, 2",
		   "h rank 0: cpus 24-31,56-63 numa 3 gpus 7",
		   "h rank 1: cpus 8-15,40-47 numa 1 gpus 2");
	/* unknown locality (UUIDs): anywhere on the node */
	check_plan("gpu8-2numa.xml", 2, BAUTO, MAUTO, -1, "GPU-aa,GPU-bb",
		   "h rank 0: cpus 0-7 numa 0 gpus GPU-aa",
		   "h rank 1: cpus 8-15 numa 1 gpus GPU-bb");
	/* CUDA stops at an empty or negative entry */
	check_plan_err("gpu8-4numa.xml", 2, BAUTO, MAUTO, -1, "3,-1,4",
		       "2 local ranks with 1 GPU each need 2 GPUs, "
		       "CUDA_VISIBLE_DEVICES names 1 (gpus-per-proc 0 shares "
		       "them)");
	check_plan_err("gpu8-4numa.xml", 1, BAUTO, MAUTO, 1, "",
		       "gpus-per-proc 1: CUDA_VISIBLE_DEVICES names no GPUs");
	/* empty: no GPU for the workers, a CPU node's plan */
	check_plan("gpu8-2numa.xml", 2, BAUTO, MAUTO, -1, "",
		   "h rank 0: cpus 0-7 numa 0", "h rank 1: cpus 8-15 numa 1");
	/* a CPU node whose workers see two GPUs it cannot place */
	check_plan("cpu4.xml", 2, BAUTO, MAUTO, -1, "0,1",
		   "h rank 0: cpus 0-1 numa 0 gpus 0",
		   "h rank 1: cpus 2-3 numa 0 gpus 1");
}

static void
test_errors(void)
{
	check_plan_err("gpu8-4numa.xml", 9, BAUTO, MAUTO, -1, NULL,
		       "9 local ranks with 1 GPU each need 9 GPUs, the node "
		       "has 8 (gpus-per-proc 0 shares them)");
	check_plan_err("gpu8-4numa.xml", 3, BAUTO, MAUTO, 3, NULL,
		       "3 local ranks with 3 GPUs each need 9 GPUs, the node "
		       "has 8 (gpus-per-proc 0 shares them)");
	check_plan_err("gpu8-4numa.xml", 1, BAUTO, MAUTO, 9, NULL,
		       "gpus-per-proc 9: the node has 8 GPUs");
	check_plan_err("gpu2-skew.xml", 1, BAUTO, MAUTO, 3, NULL,
		       "gpus-per-proc 3: the node has 2 GPUs");
	check_plan_err("cpu4.xml", 1, BAUTO, MAUTO, 1, NULL,
		       "gpus-per-proc 1: the node has no GPUs");
	check_plan_err("cpu4.xml", 5, LCH_BIND_CORE, LCH_MAP_AUTO, -1, NULL,
		       "bind-to core: 5 local ranks but the node has 4 cores "
		       "(bind-to none runs them unbound)");
	check_plan_err("cpu4.xml", 5, LCH_BIND_NONE, LCH_MAP_CORE, -1, NULL,
		       "map-by core: 5 local ranks but the node has 4 cores");
	check_plan_err("cpu2-nol3.xml", 1, LCH_BIND_L3CACHE, MAUTO, -1, NULL,
		       "bind-to l3cache: the node's topology has no L3 cache");
	check_plan("cpu2-nol3.xml", 2, LCH_BIND_CORE, MAUTO, -1, NULL,
		   "h rank 0: cpus 0 numa 0", "h rank 1: cpus 1 numa 0");
	check_plan_err("cpu4.xml", 0, BAUTO, MAUTO, -1, NULL,
		       "placement: 0 local ranks");
	check_plan_err("cpu4.xml", 1, BAUTO, MAUTO, -2, NULL,
		       "gpus-per-proc -2: expected 0 or more");
	/* map-by alone, oversubscribed: its implied binding is none */
	check_plan("cpu4.xml", 5, BAUTO, LCH_MAP_SLOT, -1, NULL,
		   "h rank 0: not bound (5 ranks but 4 cores)",
		   "h rank 1: not bound (5 ranks but 4 cores)",
		   "h rank 2: not bound (5 ranks but 4 cores)",
		   "h rank 3: not bound (5 ranks but 4 cores)",
		   "h rank 4: not bound (5 ranks but 4 cores)");
	/* wider bindings may share: 5 ranks on numa 0 */
	check_plan("cpu4.xml", 5, LCH_BIND_NUMA, LCH_MAP_AUTO, -1, NULL,
		   "h rank 0: cpus 0-3 numa 0", "h rank 1: cpus 0-3 numa 0",
		   "h rank 2: cpus 0-3 numa 0", "h rank 3: cpus 0-3 numa 0",
		   "h rank 4: cpus 0-3 numa 0");
}

static void
check_parse(const char *s, int want_ok, int want, const char *errwant,
	    int map)
{
	enum lch_bind b = LCH_BIND_AUTO;
	enum lch_map m = LCH_MAP_AUTO;
	char err[256] = "";
	int rv = map ? lch_map_parse(s, &m, err, sizeof(err)) :
	    lch_bind_parse(s, &b, err, sizeof(err));

	CHECK_(rv == (want_ok ? 0 : -1), "parse '%s': %d", s, rv);
	if (want_ok)
		CHECK_INT(map ? (int)m : (int)b, want);
	else
		CHECK_STR(err, errwant);
}

static void
test_parse(void)
{
	check_parse("none", 1, LCH_BIND_NONE, NULL, 0);
	check_parse("core", 1, LCH_BIND_CORE, NULL, 0);
	check_parse("l3cache", 1, LCH_BIND_L3CACHE, NULL, 0);
	check_parse("numa", 1, LCH_BIND_NUMA, NULL, 0);
	check_parse("socket", 1, LCH_BIND_SOCKET, NULL, 0);
	check_parse("package", 1, LCH_BIND_SOCKET, NULL, 0);
	check_parse("sockets", 0, 0, "bind-to 'sockets': expected none, "
		    "core, l3cache, numa or socket", 0);
	check_parse("", 0, 0, "bind-to '': expected none, core, l3cache, "
		    "numa or socket", 0);
	check_parse("auto", 0, 0, "bind-to 'auto': expected none, core, "
		    "l3cache, numa or socket", 0);
	check_parse("slot", 1, LCH_MAP_SLOT, NULL, 1);
	check_parse("core", 1, LCH_MAP_CORE, NULL, 1);
	check_parse("numa", 1, LCH_MAP_NUMA, NULL, 1);
	check_parse("socket", 1, LCH_MAP_SOCKET, NULL, 1);
	check_parse("node", 0, 0, "map-by 'node': expected slot, core, numa "
		    "or socket", 1);
	CHECK_STR(lch_bind_name(LCH_BIND_L3CACHE), "l3cache");
	CHECK_STR(lch_map_name(LCH_MAP_SLOT), "slot");
}

static void
check_load_err(const char *path, const char *errwant)
{
	struct lch_topo *t = (struct lch_topo *)1;
	char err[512] = "";

	CHECK_INT(lch_topo_load(&t, path, err, sizeof(err)), -1);
	CHECK(t == NULL);
	CHECK_STR(err, errwant);
}

static void
test_bad_topology(void)
{
	char want[8192], path[4096];

	snprintf(path, sizeof(path), "%s", topo_path("missing.xml"));
	snprintf(want, sizeof(want), "topology file '%s': No such file or "
		 "directory", path);
	check_load_err(path, want);
	snprintf(path, sizeof(path), "%s", topo_path("not-hwloc.xml"));
	snprintf(want, sizeof(want), "topology file '%s': not an hwloc XML "
		 "topology", path);
	check_load_err(path, want);
	snprintf(path, sizeof(path), "%s", topo_path("garbage.xml"));
	snprintf(want, sizeof(want), "topology file '%s': not an hwloc XML "
		 "topology", path);
	check_load_err(path, want);
	snprintf(path, sizeof(path), "%s", topo_path("."));
	snprintf(want, sizeof(want), "topology file '%s': not a regular "
		 "file", path);
	check_load_err(path, want);
}

/* HWLOC_XMLFILE stands for --topology when none is given. */
static void
test_hwloc_xmlfile(void)
{
	struct lch_topo *t;
	char err[512] = "", desc[256], want[8192];

	setenv("HWLOC_XMLFILE", topo_path("gpu8-2numa.xml"), 1);
	CHECK(lch_topo_load(&t, NULL, err, sizeof(err)) == 0);
	if (t == NULL)
		return;
	lch_topo_describe(t, desc, sizeof(desc));
	CHECK_STR(desc, "2 packages, 2 NUMA nodes, 16 cores, 16 PUs, 8 GPUs");
	lch_topo_free(t);
	/* the explicit file wins */
	CHECK(lch_topo_load(&t, topo_path("cpu4.xml"), err, sizeof(err)) == 0);
	if (t == NULL)
		return;
	lch_topo_describe(t, desc, sizeof(desc));
	CHECK_STR(desc, "1 packages, 1 NUMA nodes, 4 cores, 4 PUs, 0 GPUs");
	lch_topo_free(t);
	setenv("HWLOC_XMLFILE", topo_path("missing.xml"), 1);
	snprintf(want, sizeof(want), "topology file '%s': No such file or "
		 "directory", topo_path("missing.xml"));
	check_load_err(NULL, want);
	unsetenv("HWLOC_XMLFILE");
}

static void
test_gpu_kinds(void)
{
	struct lch_topo *t = load("gpu8-4numa.xml");
	char desc[256];

	/* cuda, nvml and opencl devices of one PCI device: one GPU */
	CHECK(t != NULL);
	if (t == NULL)
		return;
	lch_topo_describe(t, desc, sizeof(desc));
	CHECK_STR(desc, "2 packages, 4 NUMA nodes, 32 cores, 64 PUs, 8 GPUs");
	CHECK_STR(lch_topo_gpu_env(t), "CUDA_VISIBLE_DEVICES");
	lch_topo_free(t);

	/* AMD's RSMI and OpenCL devices: ROCR_VISIBLE_DEVICES */
	CHECK((t = load("amd2.xml")) != NULL);
	if (t == NULL)
		return;
	lch_topo_describe(t, desc, sizeof(desc));
	CHECK_STR(desc, "2 packages, 2 NUMA nodes, 8 cores, 8 PUs, 2 GPUs");
	CHECK_STR(lch_topo_gpu_env(t), "ROCR_VISIBLE_DEVICES");
	lch_topo_free(t);
	check_plan("amd2.xml", 2, BAUTO, MAUTO, -1, NULL,
		   "h rank 0: cpus 0-3 numa 0 gpus 0",
		   "h rank 1: cpus 4-7 numa 1 gpus 1");

	/* hwloc without GPU plugins: NVIDIA's PCI devices, in bus order */
	CHECK((t = load("gpu2-pci.xml")) != NULL);
	if (t == NULL)
		return;
	lch_topo_describe(t, desc, sizeof(desc));
	CHECK_STR(desc, "2 packages, 2 NUMA nodes, 8 cores, 8 PUs, 2 GPUs");
	CHECK_STR(lch_topo_gpu_env(t), "CUDA_VISIBLE_DEVICES");
	lch_topo_free(t);
	check_plan("gpu2-pci.xml", 1, BAUTO, MAUTO, 2, NULL,
		   "h rank 0: cpus 0-7 numa 0-1 gpus 0,1");
	check_plan("gpu2-pci.xml", 2, LCH_BIND_CORE, LCH_MAP_SLOT, -1, NULL,
		   "h rank 0: cpus 0 numa 0 gpus 0",
		   "h rank 1: cpus 1 numa 0 gpus 1");
}

/* The CPUs the agent was started on (taskset) are the node's. */
static void
test_restrict(void)
{
	struct lch_place_req rq = { 1, LCH_BIND_AUTO, LCH_MAP_AUTO, 0, NULL };
	struct lch_topo *t;
	struct lch_place p;
	char err[256], desc[256], want[256];
	cpu_set_t one;
	int last = -1, i;

	CPU_ZERO(&one);
	if (sched_getaffinity(0, sizeof(one), &one) != 0)
		SKIP("sched_getaffinity failed");
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &one))
			last = i;
	if (CPU_COUNT(&one) < 2)
		SKIP("fewer than 2 CPUs here");
	CPU_ZERO(&one);
	CPU_SET(last, &one);
	CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
	CHECK((t = load(NULL)) != NULL);
	if (t == NULL)
		return;
	lch_topo_describe(t, desc, sizeof(desc));
	CHECK(strstr(desc, " 1 cores, 1 PUs") != NULL);
	CHECK(lch_place_plan(t, &rq, &p, err, sizeof(err)) == 0);
	snprintf(want, sizeof(want), "%d", last);
	CHECK_STR(p.ranks[0].cpus, want);
	lch_place_release(&p);
	lch_topo_free(t);
}

/* The Cpus_allowed_list of a child that applied r (in buf), and errors. */
static int
child_allowed(const struct lch_place_rank *r, char *buf, size_t len,
	      int *mem_errno, int *mode)
{
	int fds[2], st;
	pid_t pid;
	ssize_t n;

	if (pipe(fds) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		char line[512], out[600] = "?";
		unsigned long mask[LCH_PLACE_NODE_WORDS] = { 0 };
		int merr = 0, rv, md = -1;
		FILE *f;

		close(fds[0]);
		rv = lch_place_apply(r, &merr);
		syscall(SYS_get_mempolicy, &md, mask,
			(unsigned long)LCH_PLACE_NODE_WORDS * 64, NULL, 0UL);
		f = fopen("/proc/self/status", "r");
		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, "Cpus_allowed_list:", 18) == 0)
				snprintf(out, sizeof(out), "%d %d %d %s", rv,
					 merr, md, line + 18 +
					 strspn(line + 18, " \t"));
		if (write(fds[1], out, strlen(out)) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], buf, len - 1);
	close(fds[0]);
	waitpid(pid, &st, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	{
		int rv, consumed = 0;

		if (sscanf(buf, "%d %d %d %n", &rv, mem_errno, mode,
			   &consumed) < 3)
			return -1;
		memmove(buf, buf + consumed, strlen(buf + consumed) + 1);
		return rv;
	}
}

static void
parent_allowed(char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/self/status", "r");

	snprintf(buf, len, "?");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "Cpus_allowed_list:", 18) == 0)
			snprintf(buf, len, "%s", line + 18 +
				 strspn(line + 18, " \t"));
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* This machine, really: bind-to core gives each child one distinct CPU. */
static void
test_apply_core(void)
{
	struct lch_place_req rq = { 2, LCH_BIND_CORE, LCH_MAP_AUTO, 0, NULL };
	struct lch_topo *t = load(NULL);
	struct lch_place p;
	char err[256], a[512], b[512], all[512];
	int merr, mode;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK(lch_topo_is_thissystem(t));
	parent_allowed(all, sizeof(all));
	if (lch_place_plan(t, &rq, &p, err, sizeof(err)) != 0) {
		lch_topo_free(t);
		SKIP("this machine has fewer than 2 cores");
	}
	CHECK(p.ranks[0].bound && p.ranks[1].bound);
	CHECK_INT(child_allowed(&p.ranks[0], a, sizeof(a), &merr, &mode), 0);
	CHECK_INT(child_allowed(&p.ranks[1], b, sizeof(b), &merr, &mode), 0);
	fprintf(stderr, "# parent %s, rank 0 %s, rank 1 %s\n", all, a, b);
	CHECK(strspn(a, "0123456789") == strlen(a) && a[0]);
	CHECK(strspn(b, "0123456789") == strlen(b) && b[0]);
	CHECK(strcmp(a, b) != 0);
	/* the binding is the one planned (cores with one thread here) */
	CHECK(strncmp(p.ranks[0].cpus, a, strlen(a)) == 0);
	CHECK(strncmp(p.ranks[1].cpus, b, strlen(b)) == 0);
	lch_place_release(&p);
	lch_topo_free(t);
}

/* bind-to none leaves all CPUs; the default with 1 rank binds to all. */
static void
test_apply_none(void)
{
	struct lch_place_req rq = { 2, LCH_BIND_NONE, LCH_MAP_AUTO, 0, NULL };
	struct lch_topo *t = load(NULL);
	struct lch_place p;
	char err[256], a[512], all[512];
	int merr, mode;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	parent_allowed(all, sizeof(all));
	CHECK(lch_place_plan(t, &rq, &p, err, sizeof(err)) == 0);
	CHECK_INT(p.ranks[1].bound, 0);
	CHECK_INT(child_allowed(&p.ranks[1], a, sizeof(a), &merr, &mode), 0);
	CHECK_STR(a, all);
	CHECK_INT(merr, 0);
	lch_place_release(&p);
	rq.nranks = 1;
	rq.bind = LCH_BIND_AUTO;
	CHECK(lch_place_plan(t, &rq, &p, err, sizeof(err)) == 0);
	CHECK_INT(child_allowed(&p.ranks[0], a, sizeof(a), &merr, &mode), 0);
	CHECK_STR(a, all);
	lch_place_release(&p);
	lch_topo_free(t);
}

/* The memory binding reaches the kernel (forced: one NUMA node here). */
static void
test_apply_membind(void)
{
	struct lch_place_req rq = { 1, LCH_BIND_NUMA, LCH_MAP_AUTO, 0, NULL };
	struct lch_topo *t = load(NULL);
	struct lch_place p;
	char err[256], a[512];
	int merr = -1, mode = -1;

	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK(lch_place_plan(t, &rq, &p, err, sizeof(err)) == 0);
	CHECK(p.ranks[0].bound);
	CHECK(p.ranks[0].maxnode >= 2);
	p.ranks[0].membind = 1;
	CHECK_INT(child_allowed(&p.ranks[0], a, sizeof(a), &merr, &mode), 0);
	lch_place_release(&p);
	lch_topo_free(t);
	if (merr == EPERM || merr == ENOSYS)
		SKIP("set_mempolicy refused here (seccomp)");
	CHECK_INT(merr, 0);
	CHECK_INT(mode, MPOL_BIND_);
}

/*
 * A node as an agent places it (lch_place_node): the GPUs to split are
 * the ranks' -x value, else (inherit) ours; the environment it sets.
 */
static void
test_node(void)
{
	struct lch_place_opts po = { LCH_BIND_AUTO, LCH_MAP_AUTO, -1,
				     NULL, 0, 0, 0 };
	struct lch_env e = { LCH_STRV_INIT };
	struct lch_topo *t = NULL;
	struct lch_place p;
	char err[512];

	po.topology = topo_path("gpu8-4numa.xml");
	setenv("CUDA_VISIBLE_DEVICES", "1,3", 1);
	CHECK_INT(lch_place_node(&po, 2, &e, 0, &t, &p, err, sizeof(err)), 0);
	CHECK_STR(p.ranks[1].gpus, "2");	/* not ours: the node's */
	CHECK_INT(lch_topo_is_thissystem(t), 0);
	lch_place_release(&p);
	lch_topo_free(t);
	CHECK_INT(lch_place_node(&po, 2, &e, 1, &t, &p, err, sizeof(err)), 0);
	CHECK_STR(p.ranks[1].gpus, "3");	/* ours, inherited */
	lch_place_release(&p);
	lch_topo_free(t);
	lch_env_set(&e, "CUDA_VISIBLE_DEVICES", "5,7");
	CHECK_INT(lch_place_node(&po, 2, &e, 1, &t, &p, err, sizeof(err)), 0);
	CHECK_STR(p.ranks[0].gpus, "5");	/* -x wins */
	/* the rank's part over the user's list; its share over a 1 */
	lch_env_set(&e, "OMP_NUM_THREADS", "1");
	lch_place_env(&p, 1, 0, &e);
	CHECK_STR(lch_env_get(&e, "CUDA_VISIBLE_DEVICES"), "7");
	CHECK_STR(lch_env_get(&e, "OMP_NUM_THREADS"), "8");
	lch_env_set(&e, "OMP_NUM_THREADS", "3");
	lch_place_env(&p, 0, 1, &e);	/* the user's stays */
	CHECK_STR(lch_env_get(&e, "OMP_NUM_THREADS"), "3");
	lch_place_release(&p);
	lch_topo_free(t);
	/* gpus_per_proc 0: the file's I/O devices are not even read */
	lch_env_clear(&e);
	unsetenv("CUDA_VISIBLE_DEVICES");
	po.gpus_per_proc = 0;
	CHECK_INT(lch_place_node(&po, 12, &e, 1, &t, &p, err, sizeof(err)), 0);
	lch_topo_describe(t, err, sizeof(err));
	CHECK_STR(err, "2 packages, 4 NUMA nodes, 32 cores, 64 PUs, 0 GPUs");
	CHECK(p.ranks[0].gpus == NULL);
	lch_place_release(&p);
	lch_topo_free(t);
	/* errors name the input; nothing is left to release */
	po.gpus_per_proc = 1;
	CHECK_INT(lch_place_node(&po, 9, &e, 0, &t, &p, err, sizeof(err)), -1);
	CHECK(strstr(err, "need 9 GPUs, the node has 8") != NULL);
	CHECK(t == NULL);
	po.topology = topo_path("garbage.xml");
	CHECK_INT(lch_place_node(&po, 1, &e, 0, &t, &p, err, sizeof(err)), -1);
	CHECK(strstr(err, "garbage.xml': not an hwloc XML topology") != NULL);
}

TEST_LIST = {
	{ "default_gpu8_4numa", test_default_gpu8_4numa },
	{ "default_gpu8_2numa", test_default_gpu8_2numa },
	{ "default_follows_gpu", test_default_follows_gpu },
	{ "gpus_per_proc", test_gpus_per_proc },
	{ "default_cpu", test_default_cpu },
	{ "bind_to", test_bind_to },
	{ "map_by", test_map_by },
	{ "map_and_bind", test_map_and_bind },
	{ "omp", test_omp },
	{ "visible", test_visible },
	{ "errors", test_errors },
	{ "parse", test_parse },
	{ "bad_topology", test_bad_topology },
	{ "hwloc_xmlfile", test_hwloc_xmlfile },
	{ "gpu_kinds", test_gpu_kinds },
	{ "restrict", test_restrict },
	{ "apply_core", test_apply_core },
	{ "apply_none", test_apply_none },
	{ "apply_membind", test_apply_membind },
	{ "node", test_node },
	{ NULL, NULL }
};
