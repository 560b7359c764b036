#!/bin/sh
# tests/netns.sh: test hosts h1..hN as Linux network namespaces, each with
# its own address 10.200.0.K/24 and its own sshd (shared/research/netns.md).
#
#   netns.sh up N DIR           creates the hosts; state, keys, ssh_config
#                               in DIR (an existing, empty folder)
#   netns.sh exec DIR K CMD...  runs CMD inside hK, with hostname hK
#   netns.sh down DIR           removes all that up created
#
# Namespaces are named mu<tag>h<K> and mu<tag>sw (the switch: a bridge
# joined by one veth per host); <tag> is unique per "up", so two runs do
# not collide, and hosts of one run see only each other.  The root
# namespace gets nothing but a guard route, "unreachable 10.200.0.0/24"
# with the tag as its metric, so that a stray connection from there fails
# at once instead of leaving the machine; it is removed last.
# up exits 77 with the reason on stderr when hosts cannot be made here
# (not root, no CAP_NET_ADMIN, no sshd): callers report a skip.
set -u
NET=10.200.0

die() { echo "netns.sh: $*" >&2; exit 1; }
cant() { echo "netns.sh: $*" >&2; exit 77; }

ns_of() { echo "mu$(cat "$1/tag")h$2"; }
sw_of() { echo "mu$(cat "$1/tag")sw"; }

# host K: namespace, veth to the switch, address, hosts file, sshd
host_up() {
	dir=$1 k=$2 n=$3 ns=$(ns_of "$1" "$2") sw=$(sw_of "$1")
	ip netns add "$ns" || return 1
	echo "$ns" >> "$dir/namespaces"
	mkdir -p "/etc/netns/$ns" || return 1
	echo "/etc/netns/$ns" >> "$dir/etcdirs"
	{
		echo "127.0.0.1 localhost"
		i=1
		while [ $i -le "$n" ]; do echo "$NET.$i h$i"; i=$((i + 1)); done
	} > "/etc/netns/$ns/hosts"
	ip -n "$sw" link add "v$k" type veth peer name eth0 netns "$ns" &&
	ip -n "$sw" link set "v$k" master br0 up &&
	ip -n "$ns" link set lo up &&
	ip -n "$ns" addr add "$NET.$k/24" dev eth0 &&
	ip -n "$ns" link set eth0 up || return 1
	cat > "$dir/sshd.$k.conf" <<-EOF
	ListenAddress $NET.$k
	Port 22
	HostKey $dir/hostkey
	PidFile $dir/sshd.$k.pid
	PermitRootLogin prohibit-password
	AuthorizedKeysFile $dir/authorized_keys
	StrictModes no
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	UseDNS no
	PrintMotd no
	PrintLastLog no
	MaxStartups 100:30:200
	LogLevel ERROR
	EOF
	ip netns exec "$ns" unshare --uts sh -c \
		'hostname "$0" && exec /usr/sbin/sshd -f "$1" -E "$2"' \
		"h$k" "$dir/sshd.$k.conf" "$dir/sshd.$k.log"
}

up() {
	n=$1 dir=$2
	[ "$(id -u)" = 0 ] || cant "not root: cannot create network namespaces"
	command -v ip > /dev/null || cant "no ip(8) (iproute2)"
	command -v unshare > /dev/null || cant "no unshare(1)"
	[ -x /usr/sbin/sshd ] || cant "no /usr/sbin/sshd (openssh-server)"
	command -v ssh-keygen > /dev/null || cant "no ssh-keygen"
	[ -d "$dir" ] || die "$dir: not a folder"
	dir=$(cd "$dir" && pwd)
	[ ! -e "$dir/tag" ] || die "$dir: already holds hosts"
	echo "$$" > "$dir/tag"
	echo "$n" > "$dir/n"
	: > "$dir/namespaces"; : > "$dir/etcdirs"
	sw=$(sw_of "$dir")
	# the guard first, so that no moment has hosts without it
	if ! ip route add unreachable "$NET.0/24" metric "$$" 2> "$dir/err"; then
		err=$(cat "$dir/err")
		rm -f "$dir/tag" "$dir/n" "$dir/namespaces" "$dir/etcdirs" "$dir/err"
		cant "cannot add the guard route (no CAP_NET_ADMIN?): $err"
	fi
	echo "$$" > "$dir/guard"
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
	mkdir -p /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$dir/hostkey" &&
	ssh-keygen -q -t ed25519 -N '' -C muster-test -f "$dir/key" &&
	cp "$dir/key.pub" "$dir/authorized_keys" || { down "$dir"; die "ssh-keygen failed"; }
	cat > "$dir/ssh_config" <<-EOF
	Host *
	  User root
	  BatchMode yes
	  StrictHostKeyChecking no
	  UserKnownHostsFile /dev/null
	  GlobalKnownHostsFile /dev/null
	  LogLevel ERROR
	  IdentityFile $dir/key
	  IdentitiesOnly yes
	  ConnectTimeout 5
	EOF
	k=1
	while [ $k -le "$n" ]; do
		if ! host_up "$dir" $k "$n" 2> "$dir/err"; then
			err=$(cat "$dir/err")
			down "$dir"
			die "host h$k: $err"
		fi
		k=$((k + 1))
	done
	# each sshd writes its pid file once it listens
	for i in $(seq 100); do
		k=1
		while [ $k -le "$n" ] && [ -s "$dir/sshd.$k.pid" ]; do k=$((k + 1)); done
		[ $k -gt "$n" ] && return 0
		sleep 0.05
	done
	down "$dir"
	die "sshd of h$k did not start: $(cat "$dir/sshd.$k.log" 2>/dev/null)"
}

# kill PID only if it is still the sshd we started with CONF
kill_sshd() {
	pid=$(cat "$1" 2>/dev/null) || return 0
	case "$pid" in ''|*[!0-9]*) return 0 ;; esac
	if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"; then
		kill "$pid" 2>/dev/null
	fi
	rm -f "$1"
}

down() {
	dir=$1
	[ -f "$dir/tag" ] || return 0
	n=$(cat "$dir/n" 2>/dev/null || echo 0)
	k=1
	while [ $k -le "$n" ]; do
		kill_sshd "$dir/sshd.$k.pid" "$dir/sshd.$k.conf"
		k=$((k + 1))
	done
	left=0
	for ns in $(cat "$dir/namespaces" 2>/dev/null); do
		# what still runs in a test host was started by this test
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
		[ -e "/run/netns/$ns" ] && left=1
	done
	for d in $(cat "$dir/etcdirs" 2>/dev/null); do
		case "$d" in /etc/netns/mu*) rm -rf "$d" ;; esac
	done
	rmdir /etc/netns 2>/dev/null
	# the guard goes last, and only when no host is left
	if [ $left = 0 ] && [ -f "$dir/guard" ]; then
		ip route del unreachable "$NET.0/24" metric "$(cat "$dir/guard")" 2>/dev/null
		rm -f "$dir/guard"
	fi
	[ $left = 0 ] || { echo "netns.sh: namespaces left: see $dir/namespaces" >&2; return 1; }
	rm -f "$dir/tag" "$dir/namespaces" "$dir/etcdirs"
}

hexec() {
	dir=$1 k=$2
	shift 2
	exec ip netns exec "$(ns_of "$dir" "$k")" unshare --uts sh -c \
		'hostname "$0" && exec "$@"' "h$k" "$@"
}

case "${1:-}" in
up)	[ $# -eq 3 ] || die "usage: netns.sh up N DIR"
	case "$2" in ''|*[!0-9]*) die "up: N must be a number" ;; esac
	[ "$2" -ge 1 ] && [ "$2" -le 250 ] || die "up: N must be 1 to 250"
	up "$2" "$3" ;;
down)	[ $# -eq 2 ] || die "usage: netns.sh down DIR"
	down "$2" ;;
exec)	[ $# -ge 4 ] || die "usage: netns.sh exec DIR K CMD..."
	shift
	hexec "$@" ;;
*)	die "usage: netns.sh up N DIR | down DIR | exec DIR K CMD..." ;;
esac
