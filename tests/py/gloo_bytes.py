# torch.distributed over gloo: allreduces of 4 MB, enough traffic to be
# seen on the interface counters of the path gloo took.
import os
import torch
import torch.distributed as dist

dist.init_process_group("gloo", init_method="env://")
rank, world = dist.get_rank(), dist.get_world_size()
s = torch.tensor([float(rank + 1)])
dist.all_reduce(s)
assert s.item() == world * (world + 1) / 2, s
t = torch.ones(1 << 20)
for _ in range(4):
    dist.all_reduce(t)
    t /= world
assert torch.equal(t, torch.ones_like(t)), t[:4]
print("gloo ok rank=%d world=%d ifname=%s" %
      (rank, world, os.environ.get("GLOO_SOCKET_IFNAME")), flush=True)
dist.destroy_process_group()
