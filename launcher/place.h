/*
 * place.h: where each of a node's workers runs (cores, NUMA memory, GPUs),
 * planned on the node's hwloc topology and applied in the child before exec.
 *
 * The agent loads its host's topology once (or the XML file of
 * --topology / HWLOC_XMLFILE, to print the plan of another machine),
 * plans its N local ranks, and in each forked child calls
 * lch_place_apply() on that rank's part of the plan; the environment
 * (CUDA_VISIBLE_DEVICES or its ROCm/oneAPI equivalent, OMP_NUM_THREADS)
 * comes from the plan too.
 *
 * Without options (LCH_BIND_AUTO, LCH_MAP_AUTO, gpus_per_proc -1):
 * - CPU node: ranks are spread evenly over the NUMA domains, in blocks
 *   (ranks 0,1 on NUMA 0, ranks 2,3 on NUMA 1), and every rank gets the
 *   same number of whole cores, a contiguous run of its domain's cores
 *   (all their hardware threads); memory is bound to its NUMA node,
 *   OMP_NUM_THREADS is its core count.  With more ranks than cores
 *   nothing is bound and why says so.
 * - GPU node: local rank i gets its own GPU (or gpus_per_proc of them);
 *   the ranks are spread evenly over the GPUs' localities (the NUMA node
 *   or socket the GPU hangs from), so 4 ranks on a node with 2 GPUs per
 *   NUMA node use one GPU of each NUMA node, and each rank's cores are a
 *   share of its GPU's NUMA node (the binding follows the GPU).  More
 *   ranks than GPUs is an error unless gpus_per_proc is 0 (then the
 *   GPUs are not split, the variable is left alone, and ranks are placed
 *   as on a CPU node).
 *
 * With options, Open MPI's meanings, on one node:
 * - map-by picks each rank's locale: slot: the node, ranks packed in
 *   order; core: the i-th core; numa / socket: NUMA domain or package
 *   i mod their count (round robin).  Default when only bind-to is
 *   given: numa.
 * - bind-to binds to one object of its kind: the one containing the
 *   locale when the locale is smaller (map-by core --bind-to numa: the
 *   NUMA node of the rank's core), else one inside the locale (slot:
 *   the first not yet holding as many ranks as it has cores; numa and
 *   socket: the least loaded, lowest first).  Default when only map-by
 *   is given: the map-by level (core for slot and core), none when the
 *   ranks outnumber the cores.  none binds nothing; bind-to core with
 *   more ranks than cores is an error, wider objects may be shared.  GPUs go to ranks in order, each the free GPU nearest to
 *   the rank's binding (deepest common ancestor; lowest index on ties).
 * - OMP_NUM_THREADS: the rank's cores divided among the ranks bound to
 *   overlapping sets (bind-to numa with 4 ranks on an 8-core NUMA: 2).
 *
 * GPUs are hwloc's OS devices (CUDA, NVML, RSMI, LevelZero, OpenCL; one
 * per PCI device), else NVIDIA display-class PCI devices in bus order
 * (hwloc built without the CUDA/NVML plugins, as Debian's); when the
 * workers' CUDA_VISIBLE_DEVICES (gpu_env) is set, its entries are the
 * set to split, located through the topology's GPU of that index.
 *
 * Errors fill err (errlen bytes, never NULL) with one line naming the
 * input, and return -1.
 */
#ifndef LCH_PLACE_H
#define LCH_PLACE_H

#include <sched.h>
#include <stddef.h>

enum lch_bind {
	LCH_BIND_AUTO = 0,	/* no --bind-to: the defaults above */
	LCH_BIND_NONE,
	LCH_BIND_CORE,
	LCH_BIND_L3CACHE,
	LCH_BIND_NUMA,
	LCH_BIND_SOCKET
};

enum lch_map {
	LCH_MAP_AUTO = 0,	/* no --map-by */
	LCH_MAP_SLOT,
	LCH_MAP_CORE,
	LCH_MAP_NUMA,
	LCH_MAP_SOCKET
};

/* "none", "core", "l3cache", "numa", "socket" (also "package", "l3"). */
int lch_bind_parse(const char *s, enum lch_bind *out, char *err,
		   size_t errlen);
/* "slot", "core", "numa", "socket" (also "package"). */
int lch_map_parse(const char *s, enum lch_map *out, char *err, size_t errlen);
const char *lch_bind_name(enum lch_bind b);
const char *lch_map_name(enum lch_map m);

/* A loaded topology and what placement needs of it (opaque). */
struct lch_topo;
struct lch_env;

/*
 * Loads the topology of xml (an hwloc XML file), or, xml NULL, of the
 * file HWLOC_XMLFILE names, or of this machine.  A missing file or one
 * hwloc cannot read as a topology is an error naming the file.
 */
int  lch_topo_load(struct lch_topo **out, const char *xml, char *err,
		   size_t errlen);
/*
 * As lch_topo_load; without gpus the I/O devices are not looked at (no
 * GPUs then).  This machine's are looked at only when it has a display
 * or accelerator PCI function (class 0x03 or 0x12 in /sys/bus/pci):
 * hwloc's PCI discovery reads every device's config space, which costs
 * milliseconds per device in a VM.
 */
int  lch_topo_load_for(struct lch_topo **out, const char *xml, int gpus,
		       char *err, size_t errlen);
void lch_topo_free(struct lch_topo *t);
/* Whether plans on t may be applied here (not a file of another host). */
int  lch_topo_is_thissystem(const struct lch_topo *t);
/* The variable that selects t's GPUs: "CUDA_VISIBLE_DEVICES" when none. */
const char *lch_topo_gpu_env(const struct lch_topo *t);
/* "2 packages, 4 NUMA nodes, 32 cores, 64 PUs, 8 GPUs" into buf. */
void lch_topo_describe(const struct lch_topo *t, char *buf, size_t len);

struct lch_place_req {
	int nranks;		/* local ranks, >= 1 */
	enum lch_bind bind;
	enum lch_map map;
	int gpus_per_proc;	/* -1: 1 when the node has GPUs, else 0 */
	const char *visible;	/* gpu_env in the workers' environment, or
				   NULL when unset */
};

#define LCH_PLACE_NODE_WORDS 16	/* nodemask: 1024 NUMA nodes */

struct lch_place_rank {
	int bound;		/* CPU binding to apply */
	char *cpus;		/* its PUs as a list, "0-3,32-35"; "" unbound */
	char *numa;		/* NUMA nodes near them, "1"; "" unbound */
	int membind;		/* bind memory to numa (not when that is
				   every node: nothing to gain) */
	int omp;		/* OMP_NUM_THREADS to set unless the user
				   did; 0: leave it */
	char *gpus;		/* gpu_env's value, "0,1"; NULL: leave it */
	/* for lch_place_apply, built before fork */
	cpu_set_t *cpuset;
	size_t cpusetsize;
	unsigned long nodemask[LCH_PLACE_NODE_WORDS];
	unsigned long maxnode;
};

struct lch_place {
	int nranks;
	struct lch_place_rank *ranks;
	const char *gpu_env;	/* the variable ranks' gpus go to */
	int ngpus;		/* GPUs in the set that was split */
	int gpus_per_proc;	/* as applied */
	enum lch_bind bind;	/* as applied (AUTO: the defaults) */
	enum lch_map map;
	char why[256];		/* why ranks are not bound (for -v), or "" */
};

/* Plans rq on t into p (lch_place_release frees it, even after -1). */
int  lch_place_plan(const struct lch_topo *t, const struct lch_place_req *rq,
		    struct lch_place *p, char *err, size_t errlen);
void lch_place_release(struct lch_place *p);

/*
 * Applies r to the calling process: sched_setaffinity, then
 * set_mempolicy(MPOL_BIND).  No allocation: safe between fork and exec.
 * Returns 0 or the errno of the CPU binding; a failed memory binding
 * (a container's seccomp refuses set_mempolicy) is not fatal and goes to
 * *mem_errno (0 when it worked or was not asked for).
 */
int lch_place_apply(const struct lch_place_rank *r, int *mem_errno);

/*
 * The --report-bindings line of local rank i, global rank rank, on host:
 * "node1 rank 3: cpus 8-11,40-43 numa 1 gpus 1", or
 * "node1 rank 3: not bound (4 ranks but 2 cores)".  Returns buf.
 */
char *lch_place_report(const struct lch_place *p, int i, const char *host,
		       int rank, char *buf, size_t len);

/*
 * What is asked of a node's placement: the options, as the head sends
 * them to every agent (records.h: a PLAN's "place").
 */
struct lch_place_opts {
	enum lch_bind bind;
	enum lch_map map;
	int gpus_per_proc;	/* -1: not given */
	const char *topology;	/* an hwloc XML file, or NULL: HWLOC_XMLFILE,
				   else this machine */
	int report;		/* --report-bindings */
	int verbose;		/* -v: say why ranks are not bound */
	int omp_user;		/* the user set OMP_NUM_THREADS: kept */
};

/*
 * A node's nranks ranks, as an agent (or an --mpi-rank wrapper) places
 * them: loads the topology of po (into *t, lch_topo_free it; I/O devices
 * only when GPUs may be split) and plans on it.  The set of GPUs to
 * split is the workers' gpu_env: env's (-x), else, inherit set, ours
 * (a local agent's workers inherit it).  -1 with err (p released).
 */
int  lch_place_node(const struct lch_place_opts *po, int nranks,
		    const struct lch_env *env, int inherit,
		    struct lch_topo **t, struct lch_place *p, char *err,
		    size_t errlen);
/*
 * Local rank i's environment from the plan, into e: its GPUs in
 * gpu_env, OMP_NUM_THREADS its share (over muster's default of 1)
 * unless omp_user.
 */
void lch_place_env(const struct lch_place *p, int i, int omp_user,
		   struct lch_env *e);
/*
 * The messages of local rank i (global rank) on host, "muster: ..."
 * lines on fd: its --report-bindings line; with why and -v also why
 * ranks are not bound (once per node: the caller says which rank).  A
 * topology of another machine binds nothing: both say so.
 */
void lch_place_tell(const struct lch_place_opts *po, const struct lch_topo *t,
		    const struct lch_place *p, const char *host, int i,
		    int rank, int why, int fd);

#endif /* LCH_PLACE_H */
