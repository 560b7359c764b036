#!/bin/sh
# tests/slurm.sh: a real Slurm cluster on this machine, for tests
# (shared/research/slurm.md): Debian's slurmctld, slurmd and munge run as
# plain daemons, each node a separate host.
#
#   slurm.sh up N DIR            nodes n1..nN and a login/controller host
#                                "ctl"; state, config and logs in DIR (an
#                                existing folder); returns once sinfo shows
#                                N idle nodes
#   slurm.sh exec DIR CMD...     runs CMD on ctl, where the clients (salloc,
#                                sbatch, srun, squeue, scancel) work:
#                                SLURM_CONF set, caller's SLURM_* cleared
#   slurm.sh on DIR K CMD...     the same on node nK
#   slurm.sh pids DIR K|ctl      the processes running on that host
#   slurm.sh down DIR            stops all that up started, removes the hosts
#
# Hosts are network namespaces on a bridge, 10.202.0.K/24 for nK and
# 10.202.0.254 for ctl, each with its own UTS namespace (hostname nK) and
# mount namespace, whose /etc/hosts is a stock Debian one: "127.0.1.1 nK"
# before the cluster's names.  A host's namespaces are held by a "sleep"
# started in them; munged and slurmctld run on ctl, one slurmd per node,
# and every job step (slurmstepd and the tasks, even those that call
# setsid) stays in its node's namespaces, so down kills exactly what
# runs there and nothing else.
#
# Namespaces are named sl<tag>ctl, sl<tag>n<K> and sl<tag>sw (the switch);
# <tag> is unique per "up", and so are the ports, so two clusters can run
# side by side.  The root namespace gets only a guard route, "unreachable
# 10.202.0.0/24" with the tag as metric, added first and removed last, so
# that a client run outside the hosts fails at once instead of sending
# traffic off the machine.
# Missing packages (slurmctld slurmd slurm-client munge) are installed
# when root.  up exits 77 with the reason on stderr when this machine
# cannot run the cluster (not root, no namespaces, packages not
# installable): callers report a skip.
# Settings: MUSTER_SLURM_CPUS (slots per node, default 2),
# MUSTER_SLURM_TIMEOUT (seconds up waits for idle nodes, default 30).
set -u
NET=10.202.0
PATH=$PATH:/usr/sbin:/sbin
export PATH
PKGS="slurmctld slurmd slurm-client munge"

die() { echo "slurm.sh: $*" >&2; exit 1; }
cant() { echo "slurm.sh: $*" >&2; exit 77; }

ns_name() { echo "sl$(cat "$1/tag")$2"; }	# ns_name DIR ctl|nK|sw

have_tools() {
	for t in munged slurmctld slurmd srun sinfo; do
		command -v $t > /dev/null || return 1
	done
}

# install the packages, non-interactively; apt-get update only when the
# first try fails (an empty or stale package list)
install() {
	[ "$(id -u)" = 0 ] || cant "no Slurm here and not root to install it:" \
		"apt-get install $PKGS"
	command -v apt-get > /dev/null || cant "no Slurm here and no apt-get"
	echo "slurm.sh: installing $PKGS" >&2
	t0=$(date +%s.%N)
	log=$(mktemp /tmp/slurm-install.XXXXXX) || die "mktemp failed"
	set -- env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends -o DPkg::Lock::Timeout=300 $PKGS
	if ! "$@" < /dev/null > "$log" 2>&1; then
		apt-get update -q -o DPkg::Lock::Timeout=300 < /dev/null \
			> /dev/null 2>&1
		"$@" < /dev/null > "$log" 2>&1 || {
			err=$(tail -1 "$log")
			rm -f "$log"
			cant "cannot install $PKGS: $err"
		}
	fi
	rm -f "$log"
	have_tools || cant "installed $PKGS but the daemons are still missing"
	echo "slurm.sh: installed in" \
		"$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" >&2
}

# the pid of the sleep holding host H's namespaces, checked: it must
# still be in H's network namespace (a pid can be reused)
holder() {
	dir=$1 h=$2
	pid=$(cat "$dir/run/hold-$h.pid" 2>/dev/null) || return 1
	case "$pid" in ''|*[!0-9]*) return 1 ;; esac
	[ "$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" = \
	  "$(stat -L -c %i "/run/netns/$(ns_name "$dir" "$h")" 2>/dev/null)" ] ||
		return 1
	echo "$pid"
}

# host H (ctl or nK) at address ADDR: namespace, veth to the switch,
# hosts file, and the holder with its own hostname and /etc/hosts
host_up() {
	dir=$1 h=$2 addr=$3 n=$4 ns=$(ns_name "$1" "$2") sw=$(ns_name "$1" sw)
	ip netns add "$ns" || return 1
	echo "$ns" >> "$dir/namespaces"
	mkdir -p "/etc/netns/$ns" || return 1
	echo "/etc/netns/$ns" >> "$dir/etcdirs"
	{
		printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$h"
		printf '%s.254\tctl\n' $NET
		i=1
		while [ $i -le "$n" ]; do printf '%s.%s\tn%s\n' $NET $i $i; i=$((i + 1)); done
		printf '\n# The following lines are desirable for IPv6 capable hosts\n'
		printf '::1     localhost ip6-localhost ip6-loopback\n'
		printf 'ff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n'
	} > "/etc/netns/$ns/hosts"
	ip -n "$sw" link add "v$h" type veth peer name eth0 netns "$ns" &&
	ip -n "$sw" link set "v$h" master br0 up &&
	ip -n "$ns" link set lo up &&
	ip -n "$ns" addr add "$addr/24" dev eth0 &&
	ip -n "$ns" link set eth0 up || return 1
	# not "ip netns exec": it remounts /sys, which hides /sys/fs/cgroup,
	# and slurmd then refuses to start
	setsid nsenter --net="/run/netns/$ns" unshare --mount --uts \
		--propagation private sh -c '
		mount --bind "$1" /etc/hosts && hostname "$2" || exit 1
		echo $$ > "$3.tmp" && mv "$3.tmp" "$3" && exec sleep infinity' \
		sh "/etc/netns/$ns/hosts" "$h" "$dir/run/hold-$h.pid" \
		< /dev/null > /dev/null 2> "$dir/log/hold-$h.err" &
	for i in $(seq 100); do
		holder "$dir" "$h" > /dev/null && return 0
		kill -0 $! 2> /dev/null || break
		sleep 0.02
	done
	cat "$dir/log/hold-$h.err" >&2
	echo "cannot enter the namespaces of $h" >&2
	return 1
}

# in DIR H CMD...: CMD on host H, in the launcher's folder
in_host() {
	dir=$1 h=$2
	shift 2
	pid=$(holder "$dir" "$h") || die "$dir: no cluster up (host $h is gone)"
	exec nsenter -t "$pid" -n -u -m --wd="$(pwd)" sh -c '
		for v in $(env | sed -n "s/^\(SLURM[A-Z0-9_]*\)=.*/\1/p"); do
			unset "$v"
		done
		SLURM_CONF=$0; export SLURM_CONF; exec "$@"' "$dir/etc/slurm.conf" "$@"
}

write_conf() {
	dir=$1 n=$2 port=$3 cpus=$4
	cat > "$dir/etc/slurm.conf" <<-EOF
	# written by tests/slurm.sh up
	ClusterName=muster
	SlurmctldHost=ctl($NET.254)
	SlurmctldPort=$port
	SlurmdPort=$((port + 1))
	SlurmUser=root
	SlurmdUser=root
	AuthType=auth/munge
	CredType=cred/munge
	AuthInfo=socket=$dir/munge/munge.socket.2
	StateSaveLocation=$dir/ctld
	SlurmdSpoolDir=$dir/spool/%n
	SlurmctldPidFile=$dir/run/slurmctld.pid
	SlurmdPidFile=$dir/run/slurmd-%n.pid
	SlurmctldLogFile=$dir/log/slurmctld.log
	SlurmdLogFile=$dir/log/slurmd-%n.log
	ProctrackType=proctrack/linuxproc
	TaskPlugin=task/none
	JobAcctGatherType=jobacct_gather/none
	AccountingStorageType=accounting_storage/none
	SchedulerType=sched/backfill
	SchedulerParameters=batch_sched_delay=0
	SelectType=select/cons_tres
	SelectTypeParameters=CR_Core
	MpiDefault=none
	ReturnToService=2
	KillWait=2
	MailProg=/bin/true
	PlugStackConfig=$dir/etc/plugstack.conf
	SlurmdParameters=config_overrides
	NodeName=DEFAULT CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 State=UNKNOWN
	EOF
	i=1
	while [ $i -le "$n" ]; do
		echo "NodeName=n$i NodeAddr=$NET.$i" >> "$dir/etc/slurm.conf"
		i=$((i + 1))
	done
	echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP" \
		>> "$dir/etc/slurm.conf"
	: > "$dir/etc/plugstack.conf"
}

# fail DIR WHAT: up failed after the guard: say why, undo, exit 1
fail() {
	for f in "$1"/log/*.log; do
		[ -s "$f" ] && { echo "== $f"; tail -5 "$f"; }
	done >&2
	down "$1"
	die "$2"
}

up() {
	n=$1 dir=$2 cpus=${MUSTER_SLURM_CPUS:-2} limit=${MUSTER_SLURM_TIMEOUT:-30}
	case "$cpus" in ''|*[!0-9]*|0) die "MUSTER_SLURM_CPUS: want a number of slots, got '$cpus'" ;; esac
	case "$limit" in ''|*[!0-9]*|0) die "MUSTER_SLURM_TIMEOUT: want seconds, got '$limit'" ;; esac
	[ -d "$dir" ] || die "$dir: not a folder"
	dir=$(cd "$dir" && pwd)
	# the paths go into slurm.conf and munged's options unquoted
	case "$dir" in *[!A-Za-z0-9/._+-]*)
		die "$dir: want a folder whose path has only letters, digits and /._+-" ;;
	esac
	# munged's socket is DIR/munge/munge.socket.2, and a socket's path
	# has at most 107 bytes
	[ ${#dir} -le 80 ] || die "$dir: want a folder path of at most 80 bytes"
	[ ! -e "$dir/tag" ] || die "$dir: already holds a cluster"
	[ "$(id -u)" = 0 ] || cant "not root: cannot create network namespaces"
	for t in ip nsenter unshare setsid; do
		command -v $t > /dev/null || cant "no $t(1) here"
	done
	have_tools || install
	# a tag no other cluster uses; the ports follow it, below the
	# ephemeral range (each host has its own ports anyway)
	tag=$$
	while [ -e "/run/netns/sl${tag}sw" ]; do tag=$((tag + 1)); done
	port=$((17000 + tag % 4000 * 2))
	echo "$tag" > "$dir/tag"
	# from here on an interrupted up takes down what it made
	trap 'down "$dir"; exit 130' INT TERM HUP
	echo "$n" > "$dir/n"
	echo "$port" > "$dir/port"
	: > "$dir/namespaces"; : > "$dir/etcdirs"
	mkdir -p "$dir/munge" "$dir/ctld" "$dir/spool" "$dir/run" "$dir/log" "$dir/etc"
	chmod 755 "$dir/munge"
	# the guard first, so that no moment has hosts without it
	if ! ip route add unreachable "$NET.0/24" metric "$tag" 2> "$dir/err"; then
		err=$(cat "$dir/err")
		rm -f "$dir/tag" "$dir/err"
		case "$err" in
		*"not permitted"*) cant "cannot add the guard route (no CAP_NET_ADMIN): $err" ;;
		esac
		die "cannot add the guard route, metric $tag: $err"
	fi
	echo "$tag" > "$dir/guard"
	sw=$(ns_name "$dir" sw)
	if ! ip netns add "$sw" 2> "$dir/err"; then
		down "$dir"
		cant "cannot create a network namespace: $(cat "$dir/err")"
	fi
	echo "$sw" >> "$dir/namespaces"
	if ! { ip -n "$sw" link add br0 type bridge &&
	    ip -n "$sw" link set br0 up; } 2> "$dir/err"; then
		down "$dir"
		cant "cannot create a bridge: $(cat "$dir/err")"
	fi
	host_up "$dir" ctl $NET.254 "$n" 2> "$dir/err" ||
		fail "$dir" "host ctl: $(cat "$dir/err")"
	k=1
	while [ $k -le "$n" ]; do
		host_up "$dir" n$k $NET.$k "$n" 2> "$dir/err" ||
			fail "$dir" "host n$k: $(cat "$dir/err")"
		k=$((k + 1))
	done
	rm -f "$dir/err"
	write_conf "$dir" "$n" "$port" "$cpus"
	head -c 1024 /dev/urandom > "$dir/munge/munge.key"
	chmod 400 "$dir/munge/munge.key"
	# the daemons detach themselves; their stdio must not hold the
	# caller's pipes
	ctl=$(holder "$dir" ctl)
	# --force: munged wants every folder above its socket searchable
	# by all, and a test's DIR under mktemp -d is not
	nsenter -t "$ctl" -n -u -m munged --force -S "$dir/munge/munge.socket.2" \
		--key-file="$dir/munge/munge.key" \
		--pid-file="$dir/munge/munged.pid" \
		--seed-file="$dir/munge/munged.seed" \
		--log-file="$dir/log/munged.log" < /dev/null > /dev/null 2>&1 ||
		fail "$dir" "munged did not start"
	nsenter -t "$ctl" -n -u -m slurmctld -f "$dir/etc/slurm.conf" \
		< /dev/null > /dev/null 2>&1 || fail "$dir" "slurmctld did not start"
	k=1
	while [ $k -le "$n" ]; do
		mkdir -p "$dir/spool/n$k"
		nsenter -t "$(holder "$dir" n$k)" -n -u -m slurmd \
			-f "$dir/etc/slurm.conf" -N n$k < /dev/null > /dev/null 2>&1 ||
			fail "$dir" "slurmd of n$k did not start"
		k=$((k + 1))
	done
	# bounded wait for every node to register and be idle; a daemon
	# that died (a bad config, a wrong hostname) ends it at once
	start=$(date +%s)
	end=$((start + limit))
	while :; do
		idle=$(in_host_q "$dir" ctl timeout 3 sinfo -h -N -o '%N %T' \
			2>/dev/null | grep -c ' idle$')
		if [ "$idle" = "$n" ]; then trap - INT TERM HUP; return 0; fi
		[ "$(date +%s)" -lt "$end" ] || break
		if [ "$(date +%s)" -ge $((start + 2)) ]; then
			gone=$(dead_daemons "$dir" "$n")
			[ -z "$gone" ] || fail "$dir" "daemons died:$gone"
		fi
		sleep 0.1
	done
	state=$(in_host_q "$dir" ctl timeout 3 sinfo -h -N -o '%N %T' 2>&1 |
		tr '\n' ' ')
	fail "$dir" "only $idle of $n nodes idle after ${limit}s: $state"
}

# dead_daemons DIR N: the names of the daemons whose pid file is missing
# or names no live process
dead_daemons() {
	for f in munge/munged.pid run/slurmctld.pid \
	    $(seq -f 'run/slurmd-n%g.pid' "$2"); do
		p=$(cat "$1/$f" 2>/dev/null)
		name=${f##*/}; name=${name%.pid}
		case "$p" in ''|*[!0-9]*) echo " $name"; continue ;; esac
		case "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" in
		''|Z|X) echo " $name" ;;	# no such process, or a zombie
		esac
	done | tr -d '\n'
}

# in_host without exec, for up's own queries
in_host_q() { (in_host "$@"); }

# kill everything in namespace NS (what runs there was started there:
# daemons, holders, slurmstepd, tasks); true when nothing is left.
# The pids go to $killed, for down to see them reaped.
ns_kill() {
	for i in $(seq 50); do
		pids=$(ip netns pids "$1" 2>/dev/null)
		[ -z "$pids" ] && return 0
		kill -KILL $pids 2>/dev/null
		killed="$killed $pids"
		sleep 0.02
	done
	return 1
}

down() {
	dir=$1
	[ -f "$dir/tag" ] || return 0
	tag=$(cat "$dir/tag")
	left=0 killed=""
	# every process first (no slurmd may start a step while its node
	# goes), then the namespaces; only names this run made
	for ns in $(cat "$dir/namespaces" 2>/dev/null); do
		case "$ns" in "sl${tag}"sw|"sl${tag}"ctl|"sl${tag}"n*)
			ns_kill "$ns" || left=1 ;;
		esac
	done
	for ns in $(cat "$dir/namespaces" 2>/dev/null); do
		case "$ns" in "sl${tag}"sw|"sl${tag}"ctl|"sl${tag}"n*) ;; *) continue ;; esac
		ip netns del "$ns" 2>/dev/null
		[ -e "/run/netns/$ns" ] && left=1
	done
	for d in $(cat "$dir/etcdirs" 2>/dev/null); do
		case "$d" in "/etc/netns/sl${tag}"ctl|"/etc/netns/sl${tag}"n*) rm -rf "$d" ;; esac
	done
	rmdir /etc/netns 2>/dev/null
	# the guard goes last, and only when no host is left
	if [ $left = 0 ] && [ -f "$dir/guard" ]; then
		ip route del unreachable "$NET.0/24" metric "$(cat "$dir/guard")" 2>/dev/null
		rm -f "$dir/guard"
	fi
	# the daemons were children of init: give it up to 3 s to reap
	# them, so that no slurmd is left even as a zombie
	for i in $(seq 150); do
		z=""
		for p in $killed; do [ -e "/proc/$p" ] && z="$z $p"; done
		killed=$z
		[ -z "$killed" ] && break
		sleep 0.02
	done
	[ $left = 0 ] || { echo "slurm.sh: hosts left: see $dir/namespaces" >&2; return 1; }
	rm -f "$dir/tag" "$dir/namespaces" "$dir/etcdirs"
}

# absdir DIR: DIR as an absolute path (the pid files and SLURM_CONF
# name it from other folders)
absdir() { (cd "$1" 2>/dev/null && pwd) || die "$1: not a folder"; }

pids() {
	dir=$1 h=$2
	[ -f "$dir/tag" ] || die "$dir: no cluster up"
	ip netns pids "$(ns_name "$dir" "$h")"
}

case "${1:-}" in
up)	[ $# -eq 3 ] || die "usage: slurm.sh up N DIR"
	case "$2" in ''|*[!0-9]*) die "up: N must be a number, got '$2'" ;; esac
	[ "$2" -ge 1 ] && [ "$2" -le 200 ] || die "up: N must be 1 to 200, got $2"
	up "$2" "$3" ;;
down)	[ $# -eq 2 ] || die "usage: slurm.sh down DIR"
	down "$(absdir "$2")" ;;
exec)	[ $# -ge 3 ] || die "usage: slurm.sh exec DIR CMD..."
	dir=$(absdir "$2")
	shift 2
	in_host "$dir" ctl "$@" ;;
on)	[ $# -ge 4 ] || die "usage: slurm.sh on DIR K CMD..."
	case "$3" in ''|*[!0-9]*) die "on: K must be a node number, got '$3'" ;; esac
	dir=$(absdir "$2") k=$3
	shift 3
	in_host "$dir" "n$k" "$@" ;;
pids)	[ $# -eq 3 ] || die "usage: slurm.sh pids DIR K|ctl"
	case "$3" in
	ctl) h=ctl ;;
	''|*[!0-9]*) die "pids: want a node number or ctl, got '$3'" ;;
	*) h=n$3 ;;
	esac
	pids "$(absdir "$2")" "$h" ;;
*)	die "usage: slurm.sh up N DIR | exec DIR CMD... | on DIR K CMD... | pids DIR K|ctl | down DIR" ;;
esac
