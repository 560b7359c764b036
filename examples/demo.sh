#!/bin/sh
# make demo: the main job on the embedded default, a local job of
# 2 nodes x 2 processes.  First what each rank is told, then a C trainer
# that averages its gradients with libmuster (MUSTER_AVG) every step.
set -e
cd "$(dirname "$0")/.."
M=build/bin/muster
echo "== muster --nodes 2 --procs-per-node 2: the environment each rank gets"
env_line='echo "RANK=$RANK/$WORLD_SIZE NODE_RANK=$NODE_RANK LOCAL_RANK=$LOCAL_RANK MASTER=$MASTER_ADDR:$MASTER_PORT HOROVOD_CROSS_RANK=$HOROVOD_CROSS_RANK MUSTER_RENDEZVOUS=$MUSTER_RENDEZVOUS"'
$M --nodes 2 --procs-per-node 2 --no-record -- sh -c "$env_line" | sort
echo
echo "== muster --nodes 2 --procs-per-node 2 -- build/examples/trainer"
echo "   (data-parallel SGD; gradients averaged across the 4 ranks each step;"
echo "   every rank logs its loss each step with muster_log_metric)"
$M --nodes 2 --procs-per-node 2 -- build/examples/trainer
echo
echo "== the same problem in one process, for comparison"
$M -n 1 --no-record -- build/examples/trainer | tail -1
echo
echo "== the trainer's run record (muster show latest; muster runs lists them all)"
$M show latest
$M plot latest loss
