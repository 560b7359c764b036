#!/bin/sh
# flaunch.sh NP NODES PROG [ARGS...]: starts NP ranks of PROG on NODES
# virtual nodes of this machine with libmuster's environment and a
# file:// bootstrap (no launcher, no rendezvous server); exits with the
# first failing rank's status.  For benchmarks and tests of lib/ alone.
np=$1 nodes=$2; shift 2
dir=$(mktemp -d /tmp/muster-flaunch.XXXXXX) || exit 2
trap 'rm -rf "$dir"' EXIT
base=$((np / nodes)) extra=$((np % nodes))
pids="" r=0 node=0
while [ "$node" -lt "$nodes" ]; do
	sz=$base; [ "$node" -lt "$extra" ] && sz=$((sz + 1))
	lr=0
	while [ "$lr" -lt "$sz" ]; do
		MUSTER_RANK=$r MUSTER_SIZE=$np MUSTER_LOCAL_RANK=$lr \
		MUSTER_LOCAL_SIZE=$sz MUSTER_NODE_RANK=$node \
		MUSTER_NUM_NODES=$nodes MUSTER_JOB_ID=flaunch$$ \
		MUSTER_RENDEZVOUS=file://$dir "$@" &
		pids="$pids $!"
		r=$((r + 1)) lr=$((lr + 1))
	done
	node=$((node + 1))
done
rc=0
for p in $pids; do wait "$p" || { s=$?; [ "$rc" -eq 0 ] && rc=$s; }; done
exit "$rc"
