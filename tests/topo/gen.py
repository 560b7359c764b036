#!/usr/bin/env python3
# Writes the synthetic hwloc 2.x XML topologies under tests/topo/ that
# tests/unit/place_test.c plans against (they are committed; run this only
# to change them: `python3 tests/topo/gen.py tests/topo`).
#
# lstopo's synthetic input ("pack:2 numa:2 core:8") makes no I/O objects,
# so the GPUs (a PCI device with CUDA, NVML and OpenCL OS devices, as
# hwloc's plugins report them) are written here, under a host bridge
# attached to the object holding their NUMA node, as hwloc's Linux backend
# attaches them.  PUs are numbered as Linux does on x86: the first
# hardware thread of every core, then the second ones (core 0 = PUs 0,32).
import os
import sys


def mask(bits):
	"""hwloc's bitmap string: 32-bit words, most significant first."""
	v = 0
	for b in bits:
		v |= 1 << b
	words = []
	while True:
		words.append(v & 0xffffffff)
		v >>= 32
		if v == 0:
			break
	return ",".join("0x%08x" % w for w in reversed(words))


class Gen:
	def __init__(self):
		self.gp = 1
		self.out = []

	def gpi(self):
		self.gp += 1
		return self.gp

	def line(self, depth, s):
		self.out.append("  " * depth + s)


def sets(pus, nodes):
	return 'cpuset="%s" complete_cpuset="%s" nodeset="%s" ' \
		'complete_nodeset="%s"' % (mask(pus), mask(pus), mask(nodes),
					   mask(nodes))


# The OS devices of each GPU, as hwloc's plugins name them: NVIDIA with
# the CUDA, NVML and OpenCL plugins; NVIDIA with none (Debian's hwloc:
# the PCI device only); AMD with the RSMI and OpenCL plugins.
GPU_KINDS = {
	"nvidia": ("0302 [10de:2335] [10de:18be] a1",
		   (("cuda%d", "CUDA", 5), ("nvml%d", "NVML", 1),
		    ("opencl0d%d", "OpenCL", 5))),
	"pci": ("0302 [10de:2335] [10de:18be] a1", ()),
	"amd": ("0380 [1002:74a1] [1002:74a1] 00",
		(("rsmi%d", "RSMI", 1), ("opencl0d%d", "OpenCL", 5))),
}


def topology(name, packs, numa_per_pack, l3_per_numa, cores_per_l3, smt,
	     gpus, kind="nvidia", with_l3=True):
	"""gpus: {numa index: number of GPUs attached to it}; with_l3 False:
	the cores hang from the package (some ARM and VM topologies)."""
	pci_type, osdevs = GPU_KINDS[kind]
	g = Gen()
	ncores = packs * numa_per_pack * l3_per_numa * cores_per_l3
	nnuma = packs * numa_per_pack
	allpus = [c + t * ncores for c in range(ncores) for t in range(smt)]
	g.line(0, '<?xml version="1.0" encoding="UTF-8"?>')
	g.line(0, '<!DOCTYPE topology SYSTEM "hwloc2.dtd">')
	g.line(0, '<topology version="2.0">')
	g.line(1, '<object type="Machine" os_index="0" %s allowed_cpuset="%s" '
	       'allowed_nodeset="%s" gp_index="1">' %
	       (sets(allpus, range(nnuma)), mask(allpus), mask(range(nnuma))))
	g.line(2, '<info name="Backend" value="Synthetic"/>')
	g.line(2, '<info name="Description" value="%s"/>' % name)
	core = 0
	gpu = 0
	bus = 0x17
	for p in range(packs):
		pnodes = range(p * numa_per_pack, (p + 1) * numa_per_pack)
		pcores = range(core, core + numa_per_pack * l3_per_numa *
			       cores_per_l3)
		ppus = [c + t * ncores for c in pcores for t in range(smt)]
		g.line(2, '<object type="Package" os_index="%d" %s gp_index="%d">'
		       % (p, sets(ppus, pnodes), g.gpi()))
		for n in pnodes:
			ncs = range(core, core + l3_per_numa * cores_per_l3)
			npus = [c + t * ncores for c in ncs for t in range(smt)]
			d = 3
			if numa_per_pack > 1:
				g.line(d, '<object type="Group" %s gp_index="%d" '
				       'kind="1001" subkind="0">' %
				       (sets(npus, [n]), g.gpi()))
				d = 4
			g.line(d, '<object type="NUMANode" os_index="%d" %s '
			       'gp_index="%d" local_memory="68719476736"/>' %
			       (n, sets(npus, [n]), g.gpi()))
			for l3 in range(l3_per_numa):
				lcs = range(core, core + cores_per_l3)
				lpus = [c + t * ncores for c in lcs
					for t in range(smt)]
				if with_l3:
					g.line(d, '<object type="L3Cache" %s '
					       'gp_index="%d" '
					       'cache_size="33554432" depth="3" '
					       'cache_linesize="64" '
					       'cache_associativity="16" '
					       'cache_type="0">'
					       % (sets(lpus, [n]), g.gpi()))
				for c in lcs:
					cp = [c + t * ncores for t in range(smt)]
					g.line(d + 1, '<object type="Core" '
					       'os_index="%d" %s gp_index="%d">'
					       % (c, sets(cp, [n]), g.gpi()))
					for pu in cp:
						g.line(d + 2, '<object type="PU" '
						       'os_index="%d" %s '
						       'gp_index="%d"/>' %
						       (pu, sets([pu], [n]),
							g.gpi()))
					g.line(d + 1, '</object>')
				if with_l3:
					g.line(d, '</object>')
				core += cores_per_l3
			for _ in range(gpus.get(n, 0)):
				g.line(d, '<object type="Bridge" gp_index="%d" '
				       'bridge_type="0-1" depth="0" '
				       'bridge_pci="0000:[%02x-%02x]">' %
				       (g.gpi(), bus, bus))
				g.line(d + 1, '<object type="PCIDev" gp_index="%d" '
				       'pci_busid="0000:%02x:00.0" '
				       'pci_type="%s" '
				       'pci_link_speed="31.507692">' %
				       (g.gpi(), bus, pci_type))
				for nm, sub, t in osdevs:
					g.line(d + 2, '<object type="OSDev" '
					       'gp_index="%d" name="%s" '
					       'subtype="%s" osdev_type="%d"/>'
					       % (g.gpi(), nm % gpu, sub, t))
				g.line(d + 1, '</object>')
				g.line(d, '</object>')
				gpu += 1
				bus += 0x10
			if numa_per_pack > 1:
				g.line(3, '</object>')
		g.line(2, '</object>')
	g.line(1, '</object>')
	g.line(0, '</topology>')
	return "\n".join(g.out) + "\n"


TOPOS = {
	# the node: 2 sockets x 2 NUMA x 8 cores (2 L3 of 4 cores
	# each), 2 hardware threads per core, 2 GPUs per NUMA node
	"gpu8-4numa.xml": ("2 sockets, 4 NUMA, 32 cores, 64 PUs, 8 GPUs",
			   2, 2, 2, 4, 2, {0: 2, 1: 2, 2: 2, 3: 2}),
	# 2 sockets x 1 NUMA x 8 cores, 4 GPUs under each socket
	"gpu8-2numa.xml": ("2 sockets, 2 NUMA, 16 cores, 8 GPUs",
			   2, 1, 1, 8, 1, {0: 4, 1: 4}),
	# both GPUs on the second socket: ranks follow them there
	"gpu2-skew.xml": ("2 sockets, 2 NUMA, 16 cores, 2 GPUs on NUMA 1",
			  2, 1, 1, 8, 1, {1: 2}),
	# NVIDIA GPUs seen by an hwloc without the CUDA/NVML plugins
	"gpu2-pci.xml": ("2 sockets, 2 NUMA, 8 cores, 2 NVIDIA PCI devices",
			 2, 1, 1, 4, 1, {0: 1, 1: 1}, "pci"),
	# AMD GPUs (RSMI, OpenCL)
	"amd2.xml": ("2 sockets, 2 NUMA, 8 cores, 2 AMD GPUs",
		     2, 1, 1, 4, 1, {0: 1, 1: 1}, "amd"),
	# no L3 cache level
	"cpu2-nol3.xml": ("1 socket, 2 cores, no L3", 1, 1, 1, 2, 1, {}, "pci",
			  False),
	# a small CPU-only node
	"cpu4.xml": ("1 socket, 4 cores, no GPU", 1, 1, 1, 4, 1, {}),
}

if __name__ == "__main__":
	d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__)
	for fn, args in sorted(TOPOS.items()):
		with open(os.path.join(d, fn), "w") as f:
			f.write(topology(*args))
