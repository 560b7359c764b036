#!/bin/sh
# libmuster and --mpi on hosts like real cluster nodes (tests/netns.sh):
# each host's /etc/hosts maps its own name to 127.0.1.1 (stock Debian),
# eth0 (10.200.1.K, first in interface order) leads nowhere unless
# --net2, eth1 (10.200.0.K) is the cluster link.  The TCP ring's address
# must be the route's (or MUSTER_ADDR's, MUSTER_IFACE's), never the host
# name's; under --mpi each rank's wrapper sets MUSTER_ADDR, the
# interface names of torch, NCCL and TensorPipe, and MASTER_ADDR:PORT
# from rank 0's host.  Short MUSTER_TIMEOUTs: a wrong address hangs the
# ring until then.  Every client runs inside a test host.
. "$(dirname "$0")/lib.sh"

NS=$T/hosts NS2=$T/hosts2
mkdir -p $NS $NS2
rc=0
sh $ROOT/tests/netns.sh up 3 $NS 2> $T/up.err || rc=$?
if [ $rc -eq 0 ]; then
	sh $ROOT/tests/netns.sh up 2 $NS2 --net2 2> $T/up.err || rc=$?
	[ $rc -eq 0 ] || sh $ROOT/tests/netns.sh down $NS
fi
if [ $rc -eq 77 ]; then	# not possible here (no root, no CAP_NET_ADMIN)
	skip "real-host tests" "cannot make test hosts: $(tail -1 $T/up.err)"
	done_testing
	exit 0
elif [ $rc -ne 0 ]; then
	is "test hosts up" "$(tail -1 $T/up.err)" ""
	done_testing
	exit 0
fi
netns_down() {
	sh $ROOT/tests/netns.sh down $NS
	sh $ROOT/tests/netns.sh down $NS2
}
test_cleanup_hooks="netns_down $test_cleanup_hooks"
SSH="ssh -F $NS/ssh_config" SSH2="ssh -F $NS2/ssh_config"
in_h1="sh $ROOT/tests/netns.sh exec $NS 1"
in2_h1() { MUSTER_SSH="$SSH2" sh $ROOT/tests/netns.sh exec $NS2 1 "$@"; }
export MUSTER_SSH="$SSH"
TRAINER=$B/examples/trainer
COLL=$B/tests/coll_worker
TO="-x MUSTER_TIMEOUT=8"	# (-x: also for the ranks mpirun starts)

is "the hosts are realistic: h2 is 127.0.1.1 on h2" \
	"$(sh $ROOT/tests/netns.sh exec $NS 2 getent hosts h2 | head -1 | cut -d' ' -f1)" \
	127.0.1.1

final() { sed -n 's/^\(\[0\] \)\{0,1\}final loss //p' "$1"; }
$MUSTER -n 1 -- $TRAINER --steps 100 > $T/one 2>&1
one=$(final $T/one)
# same_loss FILE WHAT: the trainer's final loss in FILE is one process's
same_loss() {
	got=$(final "$1")
	ok_if "$2: loss '$got' = '$one' (1 process)" awk -v a="$got" \
		-v b="$one" 'BEGIN { d = a - b; if (d < 0) d = -d;
		m = a < 0 ? -a : a; exit !(a != "" && b != "" && d <= 1e-9 * m + 1e-15) }'
	[ -n "$got" ] || sed 's/^/# /' "$1" | head -8
}

# the C allreduce across 3 hosts, as the launcher sets it up, then with
# MUSTER_ADDR unset (the route toward the rendezvous host)
$in_h1 timeout -k 5 60 $MUSTER $TO -H h1:2,h2:2,h3:1 -- $TRAINER --steps 100 \
	> $T/out 2>&1
same_loss $T/out "trainer on 3 realistic hosts"
$in_h1 timeout -k 5 60 $MUSTER $TO -H h1:2,h2:2,h3:1 -- \
	env -u MUSTER_ADDR $TRAINER --steps 100 > $T/out 2>&1
same_loss $T/out "trainer on 3 hosts, MUSTER_ADDR unset (the route's address)"
# the launcher's host not in the job: no leader is on the rendezvous host
$in_h1 timeout -k 5 60 $MUSTER $TO -H h2:1,h3:2 -- \
	env -u MUSTER_ADDR $TRAINER --steps 100 > $T/out 2>&1
same_loss $T/out "trainer on h2, h3 launched from h1, MUSTER_ADDR unset"

# a musterd on h1 named by its host, which is 127.0.1.1 there: the
# leader on h1 listens on any address and takes the route toward h2's
# (the server's CURVE key reaches the ranks on h2 through the plan)
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > $T/admin
: > $T/md.out	# there before the background shell opens it
$in_h1 $MUSTERD --admin-secret-file $T/admin --bind tcp://0.0.0.0:0 \
	--foreground > $T/md.out 2> $T/md.err &
mdpid=$!
i=0; while [ "$(wc -l < $T/md.out)" -lt 2 ] && [ $i -lt 400 ]; do
	sleep 0.05; i=$((i + 1)); done
port=$(sed -n '1s/.*://p' $T/md.out)
$in_h1 env MUSTER_ADMIN_SECRET_FILE=$T/admin \
	MUSTER_RDV_KEY="$(sed -n 's/^curve-public-key //p' $T/md.out)" \
	timeout -k 5 60 $MUSTER $TO --rendezvous tcp://h1:$port \
	-H h1:2,h2:2 -- env -u MUSTER_ADDR $TRAINER --steps 100 > $T/out 2>&1
same_loss $T/out "trainer on h1, h2 through musterd at tcp://h1:PORT, MUSTER_ADDR unset"
kill $mdpid 2>/dev/null; wait $mdpid 2>/dev/null

# ring_conns K: h<K>'s (of --net2's hosts) TCP connections of coll_worker
# but its rendezvous ones, "LOCAL PEER" each, sorted (none before rank 1
# said its rendezvous)
ring_conns() {
	rp=$(sed 's/.*://' $T/rdv 2>/dev/null)
	[ -n "$rp" ] || return 0
	sh $ROOT/tests/netns.sh exec $NS2 $1 ss -Htnp state established |
		grep '"coll_worker"' | awk '{ print $(NF-2), $(NF-1) }' |
		grep -v ":$rp\$" | sort
}
# watch_ring K: waits (10 s at most) until h<K> has the 2 connections of
# a 2-node ring (to its right neighbour, from its left one), prints them
watch_ring() {
	i=0
	while [ $i -lt 100 ]; do
		c=$(ring_conns $1)
		[ "$(echo "$c" | grep -c .)" -ge 2 ] && break
		sleep 0.1; i=$((i + 1))
	done
	echo $c
}
# ring_on SUBNET CONNS: every one of the 2 connections is within SUBNET
ring_on() {
	set -- "$1" $2
	[ $# -eq 5 ] || return 1
	n=$1; shift
	for a in "$@"; do case $a in "$n".[12]:*) ;; *) return 1 ;; esac; done
}
# stalled_job -x...: coll_worker on h1:1,h2:1 of --net2's hosts, rank 1
# stalling 3 s after init (the ring is up meanwhile, then rank 0 finds
# it gone: the job fails); in the background
stalled_job() {
	rm -f $T/rdv
	in2_h1 timeout -k 5 60 $MUSTER $TO -x COLL_OPS=20 -x COLL_STALL_RANK=1 \
		-x COLL_STALL_S=3 "$@" -H h1:1,h2:1 -- sh -c \
		'[ $RANK = 1 ] && echo $MUSTER_RENDEZVOUS > '$T'/rdv.tmp &&
		mv '$T'/rdv.tmp '$T'/rdv; exec env -u MUSTER_ADDR '$COLL \
		> $T/out 2>&1 &
	pid=$!
}

# --net2: both networks connect the hosts.  MUSTER_IFACE=eth0 puts the
# ring on 10.200.1.x; without it the route's network, 10.200.0.x, holds it.
stalled_job -x MUSTER_IFACE=eth0
c=$(watch_ring 2)
wait $pid
ok_if "--net2, MUSTER_IFACE=eth0: the ring runs over 10.200.1.x ($c)" \
	ring_on 10.200.1 "$c"
[ -n "$c" ] || sed 's/^/# /' $T/out | head -5
for i in eth0 10.200.1.0/24; do
	in2_h1 timeout -k 5 60 $MUSTER $TO -x MUSTER_IFACE=$i -H h1:2,h2:1 -- \
		env -u MUSTER_ADDR $TRAINER --steps 100 > $T/out 2>&1
	same_loss $T/out "--net2, MUSTER_IFACE=$i: trainer"
done
stalled_job
c=$(watch_ring 2)
wait $pid
ok_if "--net2, no MUSTER_IFACE: the ring takes the route's 10.200.0.x ($c)" \
	ring_on 10.200.0 "$c"

# bad MUSTER_ADDR, MUSTER_IFACE: init fails at once, naming the variable
# (one rank on h2: these are checked before anything else)
# coll_err -x...: coll_worker alone on h2, prints its init line
# (and adds its exit code to $T/codes)
coll_err() {
	$in_h1 timeout -k 5 30 $MUSTER -x MUSTER_TIMEOUT=20 "$@" -H h2:1 -- \
		$COLL > $T/bad 2>&1
	echo $? >> $T/codes
	sed -n 's/^\[0\] init: //p' $T/bad
}
: > $T/codes
ENOENV=$($in_h1 $B/tests/coll_worker 2>&1 | sed -n 's/^init: \([^:]*\): .*/\1/p')
t0=$(now_ms)
is "MUSTER_ADDR=foo: init fails naming it" "$(coll_err -x MUSTER_ADDR=foo)" \
	"$ENOENV: MUSTER_ADDR='foo': expected an IPv4 address of this host (a.b.c.d)"
is "MUSTER_ADDR=10.9.9.9: not this host's" "$(coll_err -x MUSTER_ADDR=10.9.9.9)" \
	"$ENOENV: MUSTER_ADDR='10.9.9.9' is not an address of this host (no interface holds it)"
# matches STRING REGEX
matches() { echo "$1" | grep -q -- "$2"; }
HAVE="(have: lo 127.0.0.1, eth0 10.200.1.2, eth1 10.200.0.2)"
got=$(coll_err -x MUSTER_IFACE=eth9 -x MUSTER_ADDR=)
ok_if "MUSTER_IFACE=eth9: init fails naming it ($got)" matches "$got" \
	"^$ENOENV: MUSTER_IFACE='eth9': .*$HAVE\$"
got=$(coll_err -x MUSTER_IFACE=10.9.0.0/16 -x MUSTER_ADDR=)
ok_if "MUSTER_IFACE=10.9.0.0/16: no address in it ($got)" matches "$got" \
	"^$ENOENV: MUSTER_IFACE='10.9.0.0/16': .*$HAVE\$"
ms=$(($(now_ms) - t0))
is "the 4 bad values: exit 2 (init), fast (${ms} ms < 15000, MUSTER_TIMEOUT 20)" \
	"$(cat $T/codes | tr '\n' ' ')$([ $ms -lt 15000 ] && echo fast)" "2 2 2 2 fast"

# --mpi across 2 hosts: no agent gathers facts there, each rank's wrapper
# chooses; mpirun's own traffic takes the head's network (every host is
# inside it), and MPI_NET stays empty for that
if command -v mpirun > /dev/null; then
	MPI_NET=
	$in_h1 $MPI_NET timeout -k 5 60 $MUSTER --mpi $TO -H h1:2,h2:2 -- \
		$TRAINER --steps 100 > $T/out 2>&1
	same_loss $T/out "--mpi: trainer on 2 realistic hosts"
	$in_h1 $MPI_NET timeout -k 5 60 $MUSTER --mpi -H h1:1,h2:2 -- sh -c \
		'echo $MUSTER_ADDR $GLOO_SOCKET_IFNAME $NCCL_SOCKET_IFNAME $TP_SOCKET_IFNAME $MASTER_ADDR $MASTER_PORT' \
		> $T/out 2> $T/err
	is "--mpi: MUSTER_ADDR, GLOO/NCCL/TP_SOCKET_IFNAME per host, MASTER_ADDR rank 0's, one MASTER_PORT" \
		"$(sort $T/out | sed 's/ [0-9]*$//' | tr '\n' ' ')ports: $(
		sed 's/.* //' $T/out | sort -u | wc -l)" \
		"[0] 10.200.0.1 eth1 eth1 eth1 10.200.0.1 [1] 10.200.0.2 eth1 eth1 eth1 10.200.0.1 [2] 10.200.0.2 eth1 eth1 eth1 10.200.0.1 ports: 1"
	GLOO_SOCKET_IFNAME=mine $in_h1 $MPI_NET timeout -k 5 60 $MUSTER --mpi \
		-x TP_SOCKET_IFNAME=tp -x MUSTER_ADDR=10.200.0.1 \
		--master-port 29999 -H h1:1,h2:1 -- sh -c \
		'echo $MUSTER_ADDR $GLOO_SOCKET_IFNAME $NCCL_SOCKET_IFNAME $TP_SOCKET_IFNAME $MASTER_PORT' \
		> $T/out 2> $T/err
	is "--mpi: the user's values stay (environment, -x, --master-port)" \
		"$(sort $T/out | tr '\n' ' ')" \
		"[0] 10.200.0.1 mine eth1 tp 29999 [1] 10.200.0.1 mine eth1 tp 29999 "
	# the launcher's host not in the job: MASTER_ADDR:PORT are rank 0's
	# host's, h2, where a torch gloo group forms with h3
	$in_h1 $MPI_NET timeout -k 5 60 $MUSTER --mpi -H h2:1,h3:1 -- sh -c \
		'echo $MASTER_ADDR $MUSTER_ADDR' > $T/out 2> $T/err
	is "--mpi on h2, h3 from h1: MASTER_ADDR is h2's address" \
		"$(sort $T/out | tr '\n' ' ')" "[0] 10.200.0.2 10.200.0.2 [1] 10.200.0.2 10.200.0.3 "
	if $PY -c 'import torch' 2>/dev/null; then
		$in_h1 $MPI_NET timeout -k 5 90 $MUSTER --mpi -H h2:1,h3:1 -- \
			$PY tests/py/ddp_train.py > $T/out 2> $T/err
		is "--mpi: torch gloo (env://) on h2, h3 from h1: every rank trained" \
			"$(grep -c 'ddp ok .* world=2' $T/out)" 2
		grep -h 'Error' $T/err | head -3 | sed 's/^/# /'
	else
		skip "--mpi: torch gloo on 2 hosts" "python3-torch is not installed"
	fi
	# MUSTER_IFACE: the ranks' address and mpirun's own connections
	if $PY -c 'import mpi4py' 2>/dev/null; then
		$in_h1 env MUSTER_IFACE=eth1 timeout -k 5 60 $MUSTER --mpi -v \
			-H h1:2,h2:2 -- $PY tests/py/mpi_check.py > $T/out 2> $T/err
		# (without those options mpirun's connections try eth0
		# first and mpi4py works, seconds later)
		ok_if "--mpi, MUSTER_IFACE=eth1: mpi4py allreduce and layout, mpirun gets oob/btl_tcp_if_include eth1" \
			sh -c "grep -q '^\[0\] mpi4py ok size=4 sum=6 layout=0/0,1/0,0/1,1/1$' $T/out &&
			grep -q -- '--mca oob_tcp_if_include eth1 --mca btl_tcp_if_include eth1 ' $T/err"
	else
		skip "--mpi: mpi4py on 2 hosts" "mpi4py is not installed"
	fi
	in2_h1 timeout -k 5 60 $MUSTER --mpi $TO -x MUSTER_IFACE=eth0 \
		-H h1:1,h2:1 -- sh -c 'echo $MUSTER_ADDR $GLOO_SOCKET_IFNAME' \
		> $T/out 2> $T/err
	is "--mpi, --net2, MUSTER_IFACE=eth0: the ranks take eth0" \
		"$(sort $T/out | tr '\n' ' ')" "[0] 10.200.1.1 eth0 [1] 10.200.1.2 eth0 "
	# rank 0's wrapper never comes (an mpirun that starts rank 1 alone):
	# rank 1 waits as long as MUSTER_TIMEOUT says, then names rank 0's host
	printf '%s\n' '#!/bin/sh' \
		'while [ $# -gt 1 ] && [ "$2" != --mpi-rank ]; do shift; done' \
		'OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_SIZE=2 exec "$@"' > $T/mpirun1
	chmod +x $T/mpirun1
	t0=$(now_ms)
	$in_h1 env MUSTER_MPIRUN=$T/mpirun1 timeout -k 5 30 $MUSTER --mpi \
		-x MUSTER_TIMEOUT=2 -H h1:1,h2:1 -- true > /dev/null 2> $T/err
	rc=$?
	ms=$(($(now_ms) - t0))
	is "--mpi: no word from rank 0's wrapper: exit 2 after MUSTER_TIMEOUT (${ms} ms, 2000 to 6000)" \
		"$rc $(cat $T/err) $([ $ms -ge 2000 ] && [ $ms -lt 6000 ] && echo in-time)" \
		"2 muster: --mpi-rank: rank 1: no MASTER_ADDR:MASTER_PORT from rank 0's host h1 within 2s (--timeout, MUSTER_TIMEOUT) in-time"
	# a network only h2 has: rank 0's wrapper, on h1, names its host
	$in_h1 $MPI_NET timeout -k 5 60 $MUSTER --mpi -x MUSTER_IFACE=10.200.0.2/32 \
		-H h1:1,h2:1 -- true > /dev/null 2> $T/err
	rc=$?
	is "--mpi, MUSTER_IFACE only h2 has: exit 2, h1 named" \
		"$rc $(grep -c '^muster: --mpi-rank: host h1: MUSTER_IFACE: .*10.200.0.2/32' $T/err)" "2 1"
	$in_h1 env MUSTER_IFACE=eth9 $MUSTER --mpi -H h1:1,h2:1 -- true \
		> /dev/null 2> $T/err
	is "--mpi, MUSTER_IFACE=eth9: exit 2" $? 2
	is "--mpi, MUSTER_IFACE=eth9: one line naming this host and eth9" \
		"$(wc -l < $T/err) $(grep -c "^muster: .*this host.*: --iface eth9: no such interface up with an IPv4 address (have: lo 127.0.0.1, eth0 10.200.1.1, eth1 10.200.0.1)$" $T/err)" \
		"1 1"
else
	skip "--mpi on 2 hosts" "mpirun missing"
fi

done_testing
