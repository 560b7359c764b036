/*
 * place.c: placement of a node's ranks on its hwloc topology (place.h).
 *
 * Planning works on cpusets: a rank's binding is a set of whole cores,
 * its NUMA nodes are those its cores belong to, its GPUs are chosen by
 * the locality hwloc gives them (the non-I/O object they hang from).
 * Applying is two system calls on masks built at plan time, as nothing
 * may allocate between fork and exec.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <hwloc.h>

#include "place.h"
#include "util.h"

#ifndef MPOL_BIND
#define MPOL_BIND 2		/* <linux/mempolicy.h>; libnuma not needed */
#endif

#define PCI_VENDOR_NVIDIA 0x10de
#define PCI_VENDOR_AMD 0x1002
#define PCI_VENDOR_INTEL 0x8086

struct lch_gpu {
	char *id;		/* its entry in gpu_env's list */
	long index;		/* its number in that list's numbering, or -1 */
	int kind;		/* which OS device named it (gpu_kinds) */
	const char *env;
	hwloc_obj_t pci;	/* the PCI device, NULL when unknown */
	hwloc_obj_t near;	/* the non-I/O object it hangs from */
};

struct lch_topo {
	hwloc_topology_t topo;
	char *src;		/* the XML file, or NULL: this machine */
	int io;			/* I/O devices looked at (GPUs) */
	int thissystem;
	int ncores;
	hwloc_obj_t *cores;	/* cores (PUs where hwloc has no cores) */
	int nnuma;
	hwloc_obj_t *numa;	/* NUMA domains: DRAM nodes with CPUs */
	int ngpus;
	struct lch_gpu *gpus;	/* by index */
	const char *gpu_env;
};

/*
 * How hwloc's OS devices name GPUs, best first: CUDA's numbering is
 * CUDA_VISIBLE_DEVICES's, NVML's is nvidia-smi's (the same on PCI order).
 */
static const struct {
	const char *subtype, *prefix, *env;
} gpu_kinds[] = {
	{ "CUDA", "cuda", "CUDA_VISIBLE_DEVICES" },
	{ "NVML", "nvml", "CUDA_VISIBLE_DEVICES" },
	{ "RSMI", "rsmi", "ROCR_VISIBLE_DEVICES" },
	{ "LevelZero", "ze", "ZE_AFFINITY_MASK" },
	{ "OpenCL", "opencl", NULL },	/* by the PCI vendor */
};
#define NKINDS (int)(sizeof(gpu_kinds) / sizeof(gpu_kinds[0]))

static const char *const bind_names[] = {
	"auto", "none", "core", "l3cache", "numa", "socket"
};
static const char *const map_names[] = {
	"auto", "slot", "core", "numa", "socket"
};

int
lch_bind_parse(const char *s, enum lch_bind *out, char *err, size_t errlen)
{
	int i;

	for (i = LCH_BIND_NONE; i <= LCH_BIND_SOCKET; i++)
		if (strcmp(s, bind_names[i]) == 0) {
			*out = (enum lch_bind)i;
			return 0;
		}
	if (strcmp(s, "l3") == 0 || strcmp(s, "package") == 0) {
		*out = s[0] == 'l' ? LCH_BIND_L3CACHE : LCH_BIND_SOCKET;
		return 0;
	}
	snprintf(err, errlen, "bind-to '%s': expected none, core, l3cache, "
		 "numa or socket", s);
	return -1;
}

int
lch_map_parse(const char *s, enum lch_map *out, char *err, size_t errlen)
{
	int i;

	for (i = LCH_MAP_SLOT; i <= LCH_MAP_SOCKET; i++)
		if (strcmp(s, map_names[i]) == 0) {
			*out = (enum lch_map)i;
			return 0;
		}
	if (strcmp(s, "package") == 0) {
		*out = LCH_MAP_SOCKET;
		return 0;
	}
	snprintf(err, errlen, "map-by '%s': expected slot, core, numa or "
		 "socket", s);
	return -1;
}

const char *
lch_bind_name(enum lch_bind b)
{
	return (unsigned)b <= LCH_BIND_SOCKET ? bind_names[b] : "?";
}

const char *
lch_map_name(enum lch_map m)
{
	return (unsigned)m <= LCH_MAP_SOCKET ? map_names[m] : "?";
}

/* The number after prefix in an OS device name: cuda3 3, opencl0d3 3. */
static long
gpu_name_index(const char *name, const char *prefix)
{
	const char *s = name + strlen(prefix), *d;
	char *end;
	long v;

	if (strcmp(prefix, "opencl") == 0 && (d = strchr(s, 'd')) != NULL)
		s = d + 1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < 0)
		return -1;
	return v;
}

static const char *
gpu_vendor_env(hwloc_obj_t pci)
{
	if (pci == NULL)
		return NULL;
	switch (pci->attr->pcidev.vendor_id) {
	case PCI_VENDOR_NVIDIA:
		return "CUDA_VISIBLE_DEVICES";
	case PCI_VENDOR_AMD:
		return "ROCR_VISIBLE_DEVICES";
	case PCI_VENDOR_INTEL:
		return "ZE_AFFINITY_MASK";
	}
	return NULL;
}

static int
gpu_kind_of(hwloc_obj_t o)
{
	int k;

	if (o->attr->osdev.type != HWLOC_OBJ_OSDEV_GPU &&
	    o->attr->osdev.type != HWLOC_OBJ_OSDEV_COPROC)
		return -1;
	if (o->subtype == NULL || o->name == NULL)
		return -1;
	for (k = 0; k < NKINDS; k++)
		if (strcmp(o->subtype, gpu_kinds[k].subtype) == 0 &&
		    strncmp(o->name, gpu_kinds[k].prefix,
			    strlen(gpu_kinds[k].prefix)) == 0)
			return k;
	return -1;
}

/* Records OS device o (of kind k) as a GPU, one per PCI device. */
static void
gpu_add(struct lch_topo *t, hwloc_obj_t o, int k)
{
	hwloc_obj_t pci = o->parent && o->parent->type == HWLOC_OBJ_PCI_DEVICE ?
	    o->parent : NULL;
	const char *env = gpu_kinds[k].env ? gpu_kinds[k].env :
	    gpu_vendor_env(pci);
	struct lch_gpu *g = NULL;
	int i;

	if (env == NULL)
		return;
	for (i = 0; pci && i < t->ngpus; i++)
		if (t->gpus[i].pci == pci)
			g = &t->gpus[i];
	if (g != NULL && g->kind <= k)
		return;
	if (g == NULL) {
		t->gpus = lch_xrealloc(t->gpus, (size_t)(t->ngpus + 1) *
				       sizeof(*t->gpus));
		g = &t->gpus[t->ngpus++];
		g->id = NULL;
	}
	g->index = gpu_name_index(o->name, gpu_kinds[k].prefix);
	g->kind = k;
	g->env = env;
	g->pci = pci;
	g->near = hwloc_get_non_io_ancestor_obj(t->topo, o);
}

/* Without GPU OS devices: NVIDIA display-class PCI devices, bus order. */
static void
gpu_add_pci(struct lch_topo *t)
{
	hwloc_obj_t o = NULL;
	struct lch_gpu *g;

	while ((o = hwloc_get_next_pcidev(t->topo, o)) != NULL) {
		if (o->attr->pcidev.vendor_id != PCI_VENDOR_NVIDIA ||
		    (o->attr->pcidev.class_id >> 8) != 0x03)
			continue;
		t->gpus = lch_xrealloc(t->gpus, (size_t)(t->ngpus + 1) *
				       sizeof(*t->gpus));
		g = &t->gpus[t->ngpus];
		g->index = t->ngpus++;
		g->id = NULL;
		g->kind = NKINDS;
		g->env = "CUDA_VISIBLE_DEVICES";
		g->pci = o;
		g->near = hwloc_get_non_io_ancestor_obj(t->topo, o);
	}
}

static int
gpu_cmp(const void *a, const void *b)
{
	const struct lch_gpu *x = a, *y = b;

	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return 0;
}

/* The node's GPUs, of one family (the first of CUDA, ROCm, oneAPI). */
static void
gpu_index(struct lch_topo *t)
{
	static const char *const envs[] = {
		"CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
		"ZE_AFFINITY_MASK"
	};
	hwloc_obj_t o = NULL;
	int i, j, k, n;

	while ((o = hwloc_get_next_osdev(t->topo, o)) != NULL)
		if ((k = gpu_kind_of(o)) >= 0)
			gpu_add(t, o, k);
	if (t->ngpus == 0)
		gpu_add_pci(t);
	t->gpu_env = envs[0];
	for (i = 0; i < 3 && t->ngpus > 0; i++) {
		for (j = n = 0; j < t->ngpus; j++)
			if (strcmp(t->gpus[j].env, envs[i]) == 0)
				t->gpus[n++] = t->gpus[j];
		if (n > 0) {
			t->ngpus = n;
			t->gpu_env = envs[i];
			break;
		}
	}
	/* numbered by the best name; those without a number after them */
	for (i = 0; i < t->ngpus; i++)
		if (t->gpus[i].index < 0)
			t->gpus[i].index = LONG_MAX;
	if (t->ngpus > 1)
		qsort(t->gpus, (size_t)t->ngpus, sizeof(*t->gpus), gpu_cmp);
	for (i = 0; i < t->ngpus; i++) {
		if (t->gpus[i].index == LONG_MAX)
			t->gpus[i].index = i;
		t->gpus[i].id = lch_xasprintf("%ld", t->gpus[i].index);
	}
}

/* Cores, and NUMA domains: DRAM nodes with CPUs, one per cpuset. */
static void
topo_index(struct lch_topo *t)
{
	hwloc_obj_type_t ct = HWLOC_OBJ_CORE;
	hwloc_obj_t o;
	int i, j, n, plain;

	if (hwloc_get_nbobjs_by_type(t->topo, ct) <= 0)
		ct = HWLOC_OBJ_PU;
	t->ncores = hwloc_get_nbobjs_by_type(t->topo, ct);
	t->cores = lch_xcalloc((size_t)t->ncores + 1, sizeof(*t->cores));
	for (i = 0; i < t->ncores; i++)
		t->cores[i] = hwloc_get_obj_by_type(t->topo, ct, (unsigned)i);
	n = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_NUMANODE);
	t->numa = lch_xcalloc((size_t)n + 1, sizeof(*t->numa));
	/* HBM, NVM and GPU memory nodes have a subtype; skip them if DRAM */
	for (plain = 1; plain >= 0 && t->nnuma == 0; plain--)
		for (i = 0; i < n; i++) {
			o = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE,
						  (unsigned)i);
			if (hwloc_bitmap_iszero(o->cpuset) ||
			    (plain && o->subtype != NULL))
				continue;
			for (j = 0; j < t->nnuma; j++)
				if (hwloc_bitmap_isequal(t->numa[j]->cpuset,
							 o->cpuset))
					break;
			if (j == t->nnuma)
				t->numa[t->nnuma++] = o;
		}
	gpu_index(t);
}

/*
 * hwloc_topology_init, without loading the plugins of the components
 * topo_open leaves out (dlopen of libOpenCL, libX11...: milliseconds of
 * every launch), unless the user chose which plugins hwloc loads.  Our
 * environment is as it was after (the workers' is built from it).
 */
static int
topo_init(hwloc_topology_t *topo)
{
	static const char var[] = "HWLOC_PLUGINS_BLACKLIST";
	int set = getenv(var) == NULL &&
	    setenv(var, "hwloc_cuda,hwloc_opencl,hwloc_gl", 0) == 0;
	int rv = hwloc_topology_init(topo);

	if (set)
		unsetenv(var);
	return rv;
}

static int
topo_open(struct lch_topo *t, char *err, size_t errlen)
{
	if (topo_init(&t->topo) != 0) {
		snprintf(err, errlen, "hwloc: %s", strerror(errno));
		t->topo = NULL;
		return -1;
	}
	if (t->io)
		hwloc_topology_set_io_types_filter(t->topo,
		    HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
	/*
	 * These would start the CUDA runtime, an OpenCL ICD or an X client
	 * in the agent, slowly; NVML's numbering is CUDA's on PCI order.
	 */
	hwloc_topology_set_components(t->topo,
		HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "cuda");
	hwloc_topology_set_components(t->topo,
		HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "opencl");
	hwloc_topology_set_components(t->topo,
		HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "gl");
	/* set_xml reads the file (and refuses a non-XML one), load checks it */
	if ((t->src && hwloc_topology_set_xml(t->topo, t->src) != 0) ||
	    hwloc_topology_load(t->topo) != 0) {
		if (t->src)
			snprintf(err, errlen, "topology file '%s': not an "
				 "hwloc XML topology", t->src);
		else
			snprintf(err, errlen, "hwloc cannot read this "
				 "machine's topology: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * hwloc drops what the cgroup (a Slurm job's) forbids; the CPUs the
 * agent itself was started on (taskset, an srun step's binding) are
 * ours to share, too.  GPUs outside them move to the root: anywhere.
 * The calling thread's: the workers are forked from it and inherit its
 * mask (a helper thread's, e.g. a sanitizer's, is not theirs).
 */
static void
topo_restrict(struct lch_topo *t)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();

	if (set != NULL &&
	    hwloc_get_cpubind(t->topo, set, HWLOC_CPUBIND_THREAD) == 0 &&
	    !hwloc_bitmap_iszero(set) &&
	    hwloc_bitmap_isincluded(set, hwloc_topology_get_topology_cpuset(
					  t->topo)) &&
	    !hwloc_bitmap_isequal(set, hwloc_topology_get_topology_cpuset(
					  t->topo)))
		hwloc_topology_restrict(t->topo, set,
					HWLOC_RESTRICT_FLAG_REMOVE_CPULESS |
					HWLOC_RESTRICT_FLAG_ADAPT_IO |
					HWLOC_RESTRICT_FLAG_ADAPT_MISC);
	hwloc_bitmap_free(set);
}

/* Whether a PCI function here is a display or an accelerator (a GPU). */
static int
pci_has_gpu(void)
{
	static const char dir[] = "/sys/bus/pci/devices";
	char path[sizeof(dir) + 300], cls[16];
	struct dirent *de;
	ssize_t n;
	int fd, found = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return 1;	/* cannot tell: let hwloc look */
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/class", dir, de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, cls, sizeof(cls) - 1);
		close(fd);
		cls[n > 0 ? n : 0] = '\0';
		/* "0x030200": the class is the byte after 0x */
		found = strncmp(cls, "0x03", 4) == 0 ||
		    strncmp(cls, "0x12", 4) == 0;
	}
	closedir(d);
	return found;
}

int
lch_topo_load(struct lch_topo **out, const char *xml, char *err,
	      size_t errlen)
{
	return lch_topo_load_for(out, xml, 1, err, errlen);
}

int
lch_topo_load_for(struct lch_topo **out, const char *xml, int gpus,
		  char *err, size_t errlen)
{
	struct lch_topo *t;
	struct stat st;

	*out = NULL;
	if (xml == NULL && (xml = getenv("HWLOC_XMLFILE")) != NULL &&
	    xml[0] == '\0')
		xml = NULL;
	if (xml != NULL && stat(xml, &st) != 0) {
		snprintf(err, errlen, "topology file '%s': %s", xml,
			 strerror(errno));
		return -1;
	}
	if (xml != NULL && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "topology file '%s': not a regular file",
			 xml);
		return -1;
	}
	t = lch_xcalloc(1, sizeof(*t));
	t->src = xml ? lch_xstrdup(xml) : NULL;
	t->io = gpus && (xml != NULL || pci_has_gpu());
	if (topo_open(t, err, errlen) != 0) {
		lch_topo_free(t);
		return -1;
	}
	t->thissystem = hwloc_topology_is_thissystem(t->topo);
	if (t->thissystem && t->src == NULL)
		topo_restrict(t);
	topo_index(t);
	*out = t;
	return 0;
}

void
lch_topo_free(struct lch_topo *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ngpus; i++)
		free(t->gpus[i].id);
	free(t->gpus);
	free(t->cores);
	free(t->numa);
	if (t->topo)
		hwloc_topology_destroy(t->topo);
	free(t->src);
	free(t);
}

int
lch_topo_is_thissystem(const struct lch_topo *t)
{
	return t->thissystem;
}

const char *
lch_topo_gpu_env(const struct lch_topo *t)
{
	return t->gpu_env;
}

void
lch_topo_describe(const struct lch_topo *t, char *buf, size_t len)
{
	snprintf(buf, len, "%d packages, %d NUMA nodes, %d cores, %d PUs, "
		 "%d GPUs",
		 hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PACKAGE),
		 t->nnuma, t->ncores,
		 hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PU), t->ngpus);
}

/* Planning state: the set of GPUs to split and each rank's choices. */
struct plan {
	const struct lch_topo *t;
	const struct lch_place_req *rq;
	struct lch_place *p;
	int ngpus;
	struct lch_gpu *gpus;	/* the set to split (ids borrowed) */
	char *visible;		/* its copy of rq->visible, cut at ',' */
	int *used;		/* per GPU: taken */
	int k;			/* GPUs per rank */
	int *rgpu;		/* nranks * k chosen GPUs */
	hwloc_bitmap_t *set;	/* per rank: bound cpuset, empty unbound */
	hwloc_bitmap_t *home;	/* per rank: where it is (GPU nearness) */
};

static hwloc_obj_t
plan_gpu_near(const struct plan *pl, long index)
{
	int i;

	for (i = 0; i < pl->t->ngpus; i++)
		if (pl->t->gpus[i].index == index)
			return pl->t->gpus[i].near;
	return hwloc_get_root_obj(pl->t->topo);
}

/*
 * The set to split is the workers' CUDA_VISIBLE_DEVICES (or its
 * equivalent) when set: its entries up to the first empty or negative
 * one (where CUDA stops reading), each placed by the topology's GPU of
 * that number (anywhere when unknown: a UUID, a MIG instance).
 */
static void
plan_gpus(struct plan *pl)
{
	const struct lch_topo *t = pl->t;
	char *s, *tok, *end;
	long v;

	if (pl->rq->visible == NULL) {
		pl->ngpus = t->ngpus;
		pl->gpus = lch_xcalloc((size_t)t->ngpus + 1, sizeof(*pl->gpus));
		if (t->ngpus > 0)
			memcpy(pl->gpus, t->gpus,
			       (size_t)t->ngpus * sizeof(*pl->gpus));
		return;
	}
	pl->visible = s = lch_xstrdup(pl->rq->visible);
	pl->gpus = lch_xcalloc(strlen(s) / 2 + 2, sizeof(*pl->gpus));
	while ((tok = strsep(&s, ",")) != NULL) {
		tok += strspn(tok, " \t");
		tok[strcspn(tok, " \t")] = '\0';
		if (tok[0] == '\0' || tok[0] == '-')
			break;
		errno = 0;
		v = strtol(tok, &end, 10);
		pl->gpus[pl->ngpus].id = tok;
		pl->gpus[pl->ngpus].index = *end == '\0' && errno == 0 ? v : -1;
		pl->gpus[pl->ngpus].near = *end == '\0' && errno == 0 ?
		    plan_gpu_near(pl, v) : hwloc_get_root_obj(t->topo);
		pl->ngpus++;
	}
}

/* The GPU counts, checked; where says whose count it is. */
static int
plan_check_gpus(struct plan *pl, char *err, size_t errlen)
{
	int n = pl->rq->nranks, g = pl->ngpus, k = pl->rq->gpus_per_proc;
	char where[64];

	if (pl->rq->visible)
		snprintf(where, sizeof(where), "%s names", pl->t->gpu_env);
	else
		snprintf(where, sizeof(where), "the node has");
	if (k < -1) {
		snprintf(err, errlen, "gpus-per-proc %d: expected 0 or more", k);
		return -1;
	}
	pl->k = k < 0 ? (g > 0) : k;
	if (pl->k == 0)
		return 0;
	if (g == 0) {
		snprintf(err, errlen, "gpus-per-proc %d: %s no GPUs", pl->k,
			 where);
		return -1;
	}
	if (pl->k > g) {
		snprintf(err, errlen, "gpus-per-proc %d: %s %d GPU%s", pl->k,
			 where, g, g == 1 ? "" : "s");
		return -1;
	}
	if ((long long)n * pl->k > g) {
		snprintf(err, errlen, "%d local ranks with %d GPU%s each need "
			 "%lld GPUs, %s %d (gpus-per-proc 0 shares them)", n,
			 pl->k, pl->k == 1 ? "" : "s", (long long)n * pl->k,
			 where, g);
		return -1;
	}
	return 0;
}

/* Cores of t inside set, counted (and listed into out when non-NULL). */
static int
cores_in(const struct lch_topo *t, hwloc_const_cpuset_t set, hwloc_obj_t *out)
{
	int i, n = 0;

	for (i = 0; i < t->ncores; i++)
		if (hwloc_bitmap_isincluded(t->cores[i]->cpuset, set)) {
			if (out)
				out[n] = t->cores[i];
			n++;
		}
	return n;
}

/*
 * The cores inside set not in taken, into out: domains of GPUs whose
 * locality is unknown (the machine) overlap the others.
 */
static int
cores_free(const struct lch_topo *t, hwloc_const_cpuset_t set,
	   hwloc_const_cpuset_t taken, hwloc_obj_t *out)
{
	int i, n = 0;

	for (i = 0; i < t->ncores; i++)
		if (hwloc_bitmap_isincluded(t->cores[i]->cpuset, set) &&
		    !hwloc_bitmap_intersects(t->cores[i]->cpuset, taken))
			out[n++] = t->cores[i];
	return n;
}

/*
 * A domain of the default plan: a NUMA domain (CPU node) or the
 * locality of some GPUs, and the ranks it holds.
 */
struct dom {
	hwloc_bitmap_t cpuset;
	int ngpus, *gpus;
	int cap, nr, first;
};

static void
doms_free(struct dom *d, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		hwloc_bitmap_free(d[i].cpuset);
		free(d[i].gpus);
	}
	free(d);
}

/* Domains by GPU locality (one when single is set: all of them). */
static struct dom *
doms_gpu(struct plan *pl, int single, int *nd)
{
	struct dom *d = lch_xcalloc((size_t)pl->ngpus + 1, sizeof(*d));
	hwloc_const_cpuset_t cs;
	int i, j, n = 0;

	for (i = 0; i < pl->ngpus; i++) {
		cs = pl->gpus[i].near->cpuset;
		for (j = 0; j < n && !single; j++)
			if (hwloc_bitmap_isequal(d[j].cpuset, cs))
				break;
		if (j == n) {
			d[n].cpuset = hwloc_bitmap_dup(cs);
			d[n].gpus = lch_xcalloc((size_t)pl->ngpus,
						sizeof(int));
			n++;
		} else if (single) {
			j = 0;
			hwloc_bitmap_or(d[0].cpuset, d[0].cpuset, cs);
		}
		d[j].gpus[d[j].ngpus++] = i;
	}
	for (j = 0; j < n; j++)
		d[j].cap = d[j].ngpus / pl->k;
	*nd = n;
	return d;
}

/* Domains by NUMA node (the machine when hwloc shows none with CPUs). */
static struct dom *
doms_numa(const struct lch_topo *t, int *nd)
{
	struct dom *d = lch_xcalloc((size_t)t->nnuma + 1, sizeof(*d));
	int i;

	for (i = 0; i < t->nnuma; i++) {
		d[i].cpuset = hwloc_bitmap_dup(t->numa[i]->cpuset);
		d[i].cap = INT_MAX;
	}
	*nd = t->nnuma;
	if (t->nnuma == 0) {
		d[0].cpuset = hwloc_bitmap_dup(
		    hwloc_topology_get_topology_cpuset(t->topo));
		d[0].cap = INT_MAX;
		*nd = 1;
	}
	return d;
}

/* Ranks one at a time to the domain holding fewest; -1 when all full. */
static int
doms_fill(struct dom *d, int nd, int nranks)
{
	int r, i, best, first = 0;

	for (r = 0; r < nranks; r++) {
		for (best = -1, i = 0; i < nd; i++)
			if (d[i].nr < d[i].cap &&
			    (best < 0 || d[i].nr < d[best].nr))
				best = i;
		if (best < 0)
			return -1;
		d[best].nr++;
	}
	for (i = 0; i < nd; i++) {
		d[i].first = first;
		first += d[i].nr;
	}
	return 0;
}

/* Equal contiguous shares of each domain's cores, GPUs in its order. */
static void
plan_shares(struct plan *pl, struct dom *d, int nd)
{
	const struct lch_topo *t = pl->t;
	hwloc_obj_t *cores = lch_xcalloc((size_t)t->ncores + 1,
					 sizeof(*cores));
	hwloc_bitmap_t taken = hwloc_bitmap_alloc();
	int i, j, c, r, share = INT_MAX, nc;
	char *list;

	for (i = 0; i < nd; i++)
		if (d[i].nr > 0 && cores_in(t, d[i].cpuset, NULL) / d[i].nr <
		    share)
			share = cores_in(t, d[i].cpuset, NULL) / d[i].nr;
	if (pl->rq->nranks > t->ncores)
		snprintf(pl->p->why, sizeof(pl->p->why), "%d ranks but %d "
			 "cores", pl->rq->nranks, t->ncores);
	for (i = 0; i < nd && share == 0 && !pl->p->why[0]; i++) {
		if (d[i].nr == 0 ||
		    (nc = cores_in(t, d[i].cpuset, NULL)) >= d[i].nr)
			continue;
		hwloc_bitmap_list_asprintf(&list, d[i].cpuset);
		snprintf(pl->p->why, sizeof(pl->p->why), "%d ranks on the %d "
			 "cores of cpus %s", d[i].nr, nc, list ? list : "?");
		free(list);
	}
	for (i = 0; i < nd; i++) {
		nc = cores_free(t, d[i].cpuset, taken, cores);
		for (j = 0; j < d[i].nr; j++) {
			r = d[i].first + j;
			hwloc_bitmap_copy(pl->home[r], d[i].cpuset);
			for (c = 0; c < pl->k; c++)
				pl->rgpu[r * pl->k + c] =
				    d[i].gpus[j * pl->k + c];
			if (pl->p->why[0])
				continue;
			for (c = j * share; c < (j + 1) * share && c < nc; c++)
				hwloc_bitmap_or(pl->set[r], pl->set[r],
						cores[c]->cpuset);
			hwloc_bitmap_or(taken, taken, pl->set[r]);
			if (!hwloc_bitmap_iszero(pl->set[r]))
				hwloc_bitmap_copy(pl->home[r], pl->set[r]);
		}
	}
	hwloc_bitmap_free(taken);
	free(cores);
}

static void
plan_default(struct plan *pl)
{
	struct dom *d;
	int nd;

	if (pl->k > 0) {
		d = doms_gpu(pl, 0, &nd);
		if (doms_fill(d, nd, pl->rq->nranks) != 0) {
			/* the GPUs of one locality do not divide by k */
			doms_free(d, nd);
			d = doms_gpu(pl, 1, &nd);
			doms_fill(d, nd, pl->rq->nranks);
		}
	} else {
		d = doms_numa(pl->t, &nd);
		doms_fill(d, nd, pl->rq->nranks);
	}
	plan_shares(pl, d, nd);
	doms_free(d, nd);
}

/* The objects of one bind-to or map-by level, and ranks bound to each. */
struct level {
	int n;
	hwloc_const_cpuset_t *set;
	int *ncores, *load;
};

static void
level_release(struct level *l)
{
	free(l->set);
	free(l->ncores);
	free(l->load);
}

static int
level_build(const struct lch_topo *t, int what, struct level *l, char *err,
	    size_t errlen)
{
	hwloc_obj_type_t type = what == LCH_BIND_L3CACHE ? HWLOC_OBJ_L3CACHE :
	    HWLOC_OBJ_PACKAGE;
	int i, n;

	if (what == LCH_BIND_CORE)
		n = t->ncores;
	else if (what == LCH_BIND_NUMA)
		n = t->nnuma;
	else
		n = hwloc_get_nbobjs_by_type(t->topo, type);
	if (n <= 0 && what == LCH_BIND_L3CACHE) {
		snprintf(err, errlen, "bind-to l3cache: the node's topology "
			 "has no L3 cache");
		return -1;
	}
	l->n = n > 0 ? n : 1;
	l->set = lch_xcalloc((size_t)l->n, sizeof(*l->set));
	l->ncores = lch_xcalloc((size_t)l->n, sizeof(int));
	l->load = lch_xcalloc((size_t)l->n, sizeof(int));
	for (i = 0; i < l->n; i++) {
		if (what == LCH_BIND_CORE)
			l->set[i] = t->cores[i]->cpuset;
		else if (n <= 0)	/* none at that level: the machine */
			l->set[i] = hwloc_topology_get_topology_cpuset(t->topo);
		else if (what == LCH_BIND_NUMA)
			l->set[i] = t->numa[i]->cpuset;
		else
			l->set[i] = hwloc_get_obj_by_type(t->topo, type,
							  (unsigned)i)->cpuset;
		l->ncores[i] = cores_in(t, l->set[i], NULL);
	}
	return 0;
}

/*
 * The bind-to object of a rank with locale loc: the one containing loc,
 * else one inside it (pack: the first with fewer ranks than cores; else
 * the least loaded), else the least loaded one overlapping it.
 */
static int
level_pick(struct level *l, hwloc_const_cpuset_t loc, int pack)
{
	int i, best = -1, pass;

	for (i = 0; i < l->n; i++)
		if (hwloc_bitmap_isincluded(loc, l->set[i]))
			return i;
	for (pass = 0; pass < 2 && best < 0; pass++)
		for (i = 0; i < l->n; i++) {
			if (pass == 0 ?
			    !hwloc_bitmap_isincluded(l->set[i], loc) :
			    !hwloc_bitmap_intersects(l->set[i], loc))
				continue;
			if (pack && l->load[i] < l->ncores[i])
				return i;
			if (best < 0 || l->load[i] < l->load[best])
				best = i;
		}
	return best;
}

static int
plan_check_explicit(struct plan *pl, enum lch_bind b, enum lch_map m,
		    char *err, size_t errlen)
{
	int n = pl->rq->nranks, nc = pl->t->ncores;

	if (b == LCH_BIND_CORE && n > nc) {
		snprintf(err, errlen, "bind-to core: %d local ranks but the "
			 "node has %d cores (bind-to none runs them unbound)",
			 n, nc);
		return -1;
	}
	if (m == LCH_MAP_CORE && n > nc) {
		snprintf(err, errlen, "map-by core: %d local ranks but the "
			 "node has %d cores", n, nc);
		return -1;
	}
	return 0;
}

static const int map_level[] = {
	[LCH_MAP_SLOT] = LCH_BIND_CORE, [LCH_MAP_CORE] = LCH_BIND_CORE,
	[LCH_MAP_NUMA] = LCH_BIND_NUMA, [LCH_MAP_SOCKET] = LCH_BIND_SOCKET,
};

/* The free GPU nearest to set: deepest common ancestor, lowest first. */
static int
gpu_nearest(struct plan *pl, hwloc_const_cpuset_t set)
{
	hwloc_topology_t topo = pl->t->topo;
	hwloc_obj_t at = hwloc_bitmap_iszero(set) ? NULL :
	    hwloc_get_obj_covering_cpuset(topo, set);
	hwloc_obj_t c;
	int i, best = -1, depth, bestdepth = -1;

	if (at == NULL)
		at = hwloc_get_root_obj(topo);
	for (i = 0; i < pl->ngpus; i++) {
		if (pl->used[i])
			continue;
		c = hwloc_get_common_ancestor_obj(topo, at, pl->gpus[i].near);
		depth = c ? c->depth : 0;
		if (depth > bestdepth) {
			best = i;
			bestdepth = depth;
		}
	}
	return best;
}

static int
plan_explicit(struct plan *pl, char *err, size_t errlen)
{
	const struct lch_topo *t = pl->t;
	enum lch_map m = pl->rq->map ? pl->rq->map : LCH_MAP_NUMA;
	enum lch_bind b = pl->rq->bind ? pl->rq->bind :
	    (enum lch_bind)map_level[m];
	struct level ml = { 0 }, bl = { 0 };
	hwloc_const_cpuset_t loc;
	int r, i, c, rv = -1;

	/* oversubscribed, an implied binding is none (as Open MPI's) */
	if (pl->rq->bind == LCH_BIND_AUTO && pl->rq->nranks > t->ncores) {
		b = LCH_BIND_NONE;
		snprintf(pl->p->why, sizeof(pl->p->why), "%d ranks but %d "
			 "cores", pl->rq->nranks, t->ncores);
	} else if (b == LCH_BIND_NONE)
		snprintf(pl->p->why, sizeof(pl->p->why), "bind-to none");
	pl->p->bind = b;
	pl->p->map = m;
	if (plan_check_explicit(pl, b, m, err, errlen) != 0 ||
	    level_build(t, map_level[m], &ml, err, errlen) != 0 ||
	    (b != LCH_BIND_NONE && level_build(t, b, &bl, err, errlen) != 0))
		goto out;
	for (r = 0; r < pl->rq->nranks; r++) {
		loc = m == LCH_MAP_SLOT ?
		    hwloc_topology_get_topology_cpuset(t->topo) :
		    ml.set[r % ml.n];
		hwloc_bitmap_copy(pl->home[r], loc);
		if (b != LCH_BIND_NONE &&
		    (i = level_pick(&bl, loc, m == LCH_MAP_SLOT)) >= 0) {
			bl.load[i]++;
			hwloc_bitmap_copy(pl->set[r], bl.set[i]);
			/* GPUs near the narrower of binding and locale */
			if (!hwloc_bitmap_isincluded(loc, bl.set[i]))
				hwloc_bitmap_copy(pl->home[r], bl.set[i]);
		}
		for (c = 0; c < pl->k; c++) {
			i = gpu_nearest(pl, pl->home[r]);
			pl->used[i] = 1;
			pl->rgpu[r * pl->k + c] = i;
		}
	}
	rv = 0;
out:
	level_release(&ml);
	level_release(&bl);
	return rv;
}

/* NUMA domains near set: DRAM nodes its cores belong to. */
static void
rank_nodes(const struct lch_topo *t, hwloc_const_cpuset_t set,
	   hwloc_bitmap_t nodes)
{
	int i;

	hwloc_bitmap_zero(nodes);
	for (i = 0; i < t->nnuma; i++)
		if (hwloc_bitmap_intersects(t->numa[i]->cpuset, set))
			hwloc_bitmap_or(nodes, nodes, t->numa[i]->nodeset);
}

/* What lch_place_apply needs, built now: no allocation after fork. */
static void
rank_masks(struct lch_place_rank *pr, hwloc_const_cpuset_t set,
	   hwloc_const_nodeset_t nodes)
{
	int last = hwloc_bitmap_last(set), b;

	pr->cpuset = CPU_ALLOC((size_t)last + 1);
	if (pr->cpuset == NULL)
		lch_oom();
	pr->cpusetsize = CPU_ALLOC_SIZE((size_t)last + 1);
	CPU_ZERO_S(pr->cpusetsize, pr->cpuset);
	hwloc_bitmap_foreach_begin(b, set)
		CPU_SET_S((size_t)b, pr->cpusetsize, pr->cpuset);
	hwloc_bitmap_foreach_end();
	last = hwloc_bitmap_last(nodes);
	if (last < 0 || last >= LCH_PLACE_NODE_WORDS * (int)sizeof(long) * 8) {
		pr->membind = 0;
		return;
	}
	hwloc_bitmap_foreach_begin(b, nodes)
		pr->nodemask[b / (8 * sizeof(long))] |=
		    1UL << (b % (8 * sizeof(long)));
	hwloc_bitmap_foreach_end();
	pr->maxnode = (unsigned long)last + 2;
}

/* Appends id to the comma-separated list *s (malloc'ed). */
static void
list_add(char **s, const char *id)
{
	char *n = *s ? lch_xasprintf("%s,%s", *s, id) : lch_xstrdup(id);

	free(*s);
	*s = n;
}

/* Per core: how many ranks are bound to it (ranks x cores, not ranks^2). */
static int *
plan_cover(const struct plan *pl)
{
	const struct lch_topo *t = pl->t;
	int *cover = lch_xcalloc((size_t)t->ncores + 1, sizeof(int));
	int r, c;

	for (r = 0; r < pl->rq->nranks; r++)
		for (c = 0; c < t->ncores && !hwloc_bitmap_iszero(pl->set[r]);
		     c++)
			cover[c] += hwloc_bitmap_intersects(t->cores[c]->cpuset,
							    pl->set[r]);
	return cover;
}

/* OMP_NUM_THREADS: its cores over the most ranks sharing one of them. */
static int
plan_omp(const struct plan *pl, const int *cover, int r)
{
	const struct lch_topo *t = pl->t;
	int c, n = 0, most = 1;

	for (c = 0; c < t->ncores; c++)
		if (hwloc_bitmap_isincluded(t->cores[c]->cpuset, pl->set[r])) {
			n++;
			if (cover[c] > most)
				most = cover[c];
		}
	return n / most > 0 ? n / most : 1;
}

/* Lists, OMP_NUM_THREADS and masks of every rank, from pl->set. */
static void
plan_finish(struct plan *pl)
{
	const struct lch_topo *t = pl->t;
	hwloc_bitmap_t nodes = hwloc_bitmap_alloc(), all = hwloc_bitmap_alloc();
	struct lch_place_rank *pr;
	char *ids = NULL;
	int r, c, *cover = plan_cover(pl);

	rank_nodes(t, hwloc_topology_get_topology_cpuset(t->topo), all);
	for (r = 0; r < pl->rq->nranks; r++) {
		pr = &pl->p->ranks[r];
		pr->bound = !hwloc_bitmap_iszero(pl->set[r]);
		if (pr->bound) {
			rank_nodes(t, pl->set[r], nodes);
			hwloc_bitmap_list_asprintf(&pr->cpus, pl->set[r]);
			hwloc_bitmap_list_asprintf(&pr->numa, nodes);
			pr->membind = !hwloc_bitmap_isequal(nodes, all);
			pr->omp = plan_omp(pl, cover, r);
			rank_masks(pr, pl->set[r], nodes);
		}
		if (pr->cpus == NULL || pr->numa == NULL) {
			free(pr->cpus);
			free(pr->numa);
			pr->cpus = lch_xstrdup("");
			pr->numa = lch_xstrdup("");
		}
		for (c = 0; c < pl->k; c++)
			list_add(&ids, pl->gpus[pl->rgpu[r * pl->k + c]].id);
		pr->gpus = ids;
		ids = NULL;
	}
	free(cover);
	hwloc_bitmap_free(nodes);
	hwloc_bitmap_free(all);
}

static void
plan_alloc(struct plan *pl)
{
	int n = pl->rq->nranks, i;

	pl->used = lch_xcalloc((size_t)pl->ngpus + 1, sizeof(int));
	pl->rgpu = lch_xcalloc((size_t)n * (size_t)pl->k + 1, sizeof(int));
	pl->set = lch_xcalloc((size_t)n, sizeof(*pl->set));
	pl->home = lch_xcalloc((size_t)n, sizeof(*pl->home));
	for (i = 0; i < n; i++) {
		pl->set[i] = hwloc_bitmap_alloc();
		pl->home[i] = hwloc_bitmap_alloc();
		if (pl->set[i] == NULL || pl->home[i] == NULL)
			lch_oom();
	}
}

static void
plan_release(struct plan *pl)
{
	int i;

	for (i = 0; pl->set && i < pl->rq->nranks; i++) {
		hwloc_bitmap_free(pl->set[i]);
		hwloc_bitmap_free(pl->home[i]);
	}
	free(pl->set);
	free(pl->home);
	free(pl->used);
	free(pl->rgpu);
	free(pl->gpus);
	free(pl->visible);
}

int
lch_place_plan(const struct lch_topo *t, const struct lch_place_req *rq,
	       struct lch_place *p, char *err, size_t errlen)
{
	struct plan pl = { .t = t, .rq = rq, .p = p };
	int rv = -1;

	memset(p, 0, sizeof(*p));
	p->gpu_env = t->gpu_env;
	if (rq->nranks < 1) {
		snprintf(err, errlen, "placement: %d local ranks", rq->nranks);
		return -1;
	}
	if ((unsigned)rq->bind > LCH_BIND_SOCKET ||
	    (unsigned)rq->map > LCH_MAP_SOCKET) {
		snprintf(err, errlen, "placement: bind-to %d, map-by %d: no "
			 "such policy", (int)rq->bind, (int)rq->map);
		return -1;
	}
	plan_gpus(&pl);
	if (plan_check_gpus(&pl, err, errlen) != 0)
		goto out;
	p->nranks = rq->nranks;
	p->ngpus = pl.ngpus;
	p->gpus_per_proc = pl.k;
	p->ranks = lch_xcalloc((size_t)rq->nranks, sizeof(*p->ranks));
	plan_alloc(&pl);
	if (rq->bind == LCH_BIND_AUTO && rq->map == LCH_MAP_AUTO)
		plan_default(&pl);
	else if (plan_explicit(&pl, err, errlen) != 0)
		goto out;
	plan_finish(&pl);
	rv = 0;
out:
	plan_release(&pl);
	return rv;
}

void
lch_place_release(struct lch_place *p)
{
	int i;

	for (i = 0; p->ranks && i < p->nranks; i++) {
		free(p->ranks[i].cpus);
		free(p->ranks[i].numa);
		free(p->ranks[i].gpus);
		if (p->ranks[i].cpuset)
			CPU_FREE(p->ranks[i].cpuset);
	}
	free(p->ranks);
	memset(p, 0, sizeof(*p));
}

int
lch_place_apply(const struct lch_place_rank *r, int *mem_errno)
{
	*mem_errno = 0;
	if (!r->bound)
		return 0;
	if (sched_setaffinity(0, r->cpusetsize, r->cpuset) != 0)
		return errno;
	if (r->membind && syscall(SYS_set_mempolicy, MPOL_BIND, r->nodemask,
				  r->maxnode) != 0)
		*mem_errno = errno;
	return 0;
}

char *
lch_place_report(const struct lch_place *p, int i, const char *host,
		 int rank, char *buf, size_t len)
{
	const struct lch_place_rank *r = &p->ranks[i];
	int n;

	if (r->bound)
		n = snprintf(buf, len, "%s rank %d: cpus %s numa %s", host,
			     rank, r->cpus, r->numa);
	else
		n = snprintf(buf, len, "%s rank %d: not bound (%s)", host,
			     rank, p->why[0] ? p->why : "no binding");
	if (r->gpus && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " gpus %s", r->gpus);
	return buf;
}

int
lch_place_node(const struct lch_place_opts *po, int nranks,
	       const struct lch_env *env, int inherit, struct lch_topo **t,
	       struct lch_place *p, char *err, size_t errlen)
{
	struct lch_place_req rq;
	const char *gv;

	memset(p, 0, sizeof(*p));
	if (lch_topo_load_for(t, po->topology, po->gpus_per_proc != 0, err,
			      errlen) != 0)
		return -1;
	gv = lch_topo_gpu_env(*t);
	memset(&rq, 0, sizeof(rq));
	rq.nranks = nranks;
	rq.bind = po->bind;
	rq.map = po->map;
	rq.gpus_per_proc = po->gpus_per_proc;
	rq.visible = env ? lch_env_get(env, gv) : NULL;
	if (rq.visible == NULL && inherit)
		rq.visible = getenv(gv);
	if (lch_place_plan(*t, &rq, p, err, errlen) != 0) {
		lch_place_release(p);
		lch_topo_free(*t);
		*t = NULL;
		return -1;
	}
	return 0;
}

void
lch_place_env(const struct lch_place *p, int i, int omp_user,
	      struct lch_env *e)
{
	const struct lch_place_rank *r = &p->ranks[i];

	if (r->gpus)
		lch_env_set(e, p->gpu_env, r->gpus);
	if (r->omp > 0 && !omp_user)
		lch_env_setf(e, "OMP_NUM_THREADS", "%d", r->omp);
}

void
lch_place_tell(const struct lch_place_opts *po, const struct lch_topo *t,
	       const struct lch_place *p, const char *host, int i, int rank,
	       int why, int fd)
{
	char line[1024];
	int here = lch_topo_is_thissystem(t);

	if (po->verbose && why && !here)
		dprintf(fd, "muster: %s: the topology '%s' is not this "
			"machine's: its plan sets the ranks' environment, "
			"nothing is bound\n", host, po->topology ?
			po->topology : getenv("HWLOC_XMLFILE"));
	else if (po->verbose && why && p->why[0])
		dprintf(fd, "muster: %s: ranks not bound: %s\n", host, p->why);
	if (po->report)
		dprintf(fd, "muster: %s%s\n", lch_place_report(p, i, host,
			rank, line, sizeof(line)), here ? "" : " (planned on "
			"another machine's topology: not applied)");
}
