# A real PyTorch DDP client: init_method="env://", gloo backend.
# Trains a tiny model; every rank checks that the parameters agree.
import os, sys
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo", init_method="env://")
rank, world = dist.get_rank(), dist.get_world_size()
assert rank == int(os.environ["RANK"]) and world == int(os.environ["WORLD_SIZE"])
torch.manual_seed(0)
model = DDP(torch.nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
g = torch.Generator().manual_seed(1234 + rank)
w_true = torch.arange(8, dtype=torch.float32).unsqueeze(1) / 8
for step in range(30):
    x = torch.randn(32, 8, generator=g)
    y = x @ w_true
    loss = torch.nn.functional.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
flat = torch.cat([p.detach().flatten() for p in model.parameters()])
mx, mn = flat.clone(), flat.clone()
dist.all_reduce(mx, op=dist.ReduceOp.MAX)
dist.all_reduce(mn, op=dist.ReduceOp.MIN)
if not torch.equal(mx, mn):
    print("parameters differ between ranks", file=sys.stderr)
    sys.exit(1)
t = torch.tensor([float(rank)])
dist.all_reduce(t)
assert t.item() == world * (world - 1) / 2
print("ddp ok rank=%d world=%d local=%s loss=%.4f" %
      (rank, world, os.environ["LOCAL_RANK"], loss.item()), flush=True)
dist.destroy_process_group()
