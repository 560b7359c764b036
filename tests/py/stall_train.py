# A gloo job for the hang-forensics test (t7100): every rank writes its
# pid to $STALL_DIR/pid.RANK, then runs allreduces in a loop, printing a
# line per step; a rank stopped from outside (SIGSTOP) leaves the others
# waiting in allreduce (in train_steps) with nothing printed: a stall.
import os, sys, time
import torch
import torch.distributed as dist

dist.init_process_group("gloo", init_method="env://")
rank = dist.get_rank()
with open(os.path.join(os.environ["STALL_DIR"], "pid.%d" % rank), "w") as f:
    f.write("%d\n" % os.getpid())


def train_steps(n):  # t7100 looks for this name in the Python frames
    t = torch.ones(4)
    for step in range(n):
        dist.all_reduce(t)
        t.fill_(1.0)
        print("step %d" % step, flush=True)
        time.sleep(0.1)


train_steps(int(sys.argv[1]) if len(sys.argv) > 1 else 600)
dist.destroy_process_group()
