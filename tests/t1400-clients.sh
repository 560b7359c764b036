#!/bin/sh
# Real clients: PyTorch DDP (env://, gloo), mpi4py and a C MPI program
# under --mpi, with fail-fast and exit codes through mpirun.
. "$(dirname "$0")/lib.sh"

if $PY -c 'import torch' 2>/dev/null; then
	$MUSTER -n 3 -- $PY tests/py/ddp_train.py > $T/out 2> $T/err
	is "torch DDP under -n 3: exit 0" $? 0
	is "torch DDP under -n 3: every rank trained" "$(grep -c 'ddp ok .* world=3' $T/out)" 3
	$MUSTER --nodes 2 --procs-per-node 2 -- $PY tests/py/ddp_train.py > $T/out 2> $T/err
	is "torch DDP on 2 nodes x 2: exit 0" $? 0
	is "torch DDP on 2 nodes x 2: every rank trained" "$(grep -c 'ddp ok .* world=4' $T/out)" 4
	cat $T/err | head -5 | sed 's/^/# /'
else
	skip "torch DDP" "python3-torch is not installed"
fi

if $PY -c 'import mpi4py' 2>/dev/null && command -v mpirun > /dev/null; then
	$MUSTER --mpi -n 3 -- $PY tests/py/mpi_check.py > $T/out 2> $T/err
	is "mpi4py under --mpi -n 3: exit 0" $? 0
	ok_if "mpi4py under --mpi: allreduce and env agree" grep -q '^\[0\] mpi4py ok size=3 sum=3 layout=0/0,1/0,2/0$' $T/out
	$MUSTER --mpi --nodes 2 --procs-per-node 2 -- $PY tests/py/mpi_check.py > $T/out 2> $T/err
	ok_if "mpi4py under --mpi on 2 virtual nodes: layout" grep -q 'layout=0/0,1/0,0/1,1/1$' $T/out
	$MUSTER --mpi -n 4 -- $B/tests/mpi_ring > $T/out 2> $T/err
	is "C MPI program under --mpi: exit 0" $? 0
	ok_if "C MPI program under --mpi: the ring went round" grep -q '^\[0\] ring ok size=4 token=6$' $T/out
	# fail-fast through the job's rendezvous, not mpirun's one-second path
	rm -f $T/died.* $T/failed_at
	$MUSTER --mpi -n 3 -- sh -c '[ $RANK = 1 ] && { sleep 0.5; date +%s%3N > '$T'/failed_at; exit 6; }
		trap "date +%s%3N > '$T'/died.\$RANK; exit 1" TERM; sleep 30 & wait' > $T/out 2> $T/err
	rc=$?
	is "--mpi: failed rank's code" $rc 6
	ok_if "--mpi: names the rank" grep -q 'rank 1 (host localhost, pid [0-9]*) exited with code 6' $T/err
	f=$(cat $T/failed_at)
	d0=$(($(cat $T/died.0 2>/dev/null || echo 0) - f)) d2=$(($(cat $T/died.2 2>/dev/null || echo 0) - f))
	ok_if "--mpi: the other ranks stopped within 1 s (${d0} and ${d2} ms)" \
		sh -c "[ $d0 -ge 0 ] && [ $d0 -lt 1000 ] && [ $d2 -ge 0 ] && [ $d2 -lt 1000 ]"
	$MUSTER --mpi -n 2 -- sh -c '[ $RANK = 0 ] && kill -KILL $$; exec sleep 30' > $T/out 2> $T/err
	is "--mpi: a rank killed by SIGKILL: 137" $? 137
	$MUSTER --mpi --timeout 0.5 -n 2 -- sleep 30 > $T/out 2> $T/err
	is "--mpi --timeout: 124" $? 124
	$MUSTER --mpi -n 2 -- no-such-program-xyz > $T/out 2> $T/err
	is "--mpi: program not found: 127" $? 127
else
	skip "mpi4py under --mpi" "python3-mpi4py or openmpi-bin missing"
fi
done_testing
