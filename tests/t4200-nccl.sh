#!/bin/sh
# The NCCL backend: on a machine where nvidia-smi finds a GPU, a real
# allreduce of device buffers under the launcher; elsewhere the library
# must refuse with MUSTER_ENOTSUP and a clear reason, and the GPU test
# is reported as skipped (never as passed).
. "$(dirname "$0")/lib.sh"
CHECK=$B/tests/nccl_check
FL="sh $ROOT/tests/tools/flaunch.sh"
export MUSTER_TIMEOUT=60

if command -v nvidia-smi > /dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
	$MUSTER -n 2 -- $CHECK > $T/out 2>&1
	ok_if "NCCL allreduce on GPU buffers, 2 ranks" grep -q 'nccl_check: 2 ranks, ok' $T/out
	sed 's/^/# /' $T/out | tail -5
else
	$FL 1 1 $CHECK > $T/out 2>&1
	is "no GPU: nccl_check skips (77)" $? 77
	ok_if "no GPU: the reason is clear" grep -Eq 'SKIP .*(no CUDA device|not found|without NCCL)' $T/out
	sed 's/^/# /' $T/out | head -3
	skip "NCCL allreduce on GPU buffers" "no GPU (nvidia-smi finds none)"
fi
done_testing
