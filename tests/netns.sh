#!/bin/sh
# tests/netns.sh: test hosts h1..hN as Linux network namespaces, each with
# its own sshd (shared/research/netns.md), made to look like real cluster
# nodes rather than like a clean lab:
#
#   - /etc/hosts starts as a stock Debian install writes it: localhost,
#     "127.0.1.1 hK" (the host's own name on a loopback address), the
#     IPv6 lines; then the cluster's names, "10.200.0.J hJ" for every
#     host.  So on hK, hK itself resolves to 127.0.1.1 first.
#   - two interfaces, and only one connects the hosts: eth0 (first in
#     interface order, the one a naive "first non-loopback interface"
#     picks) holds 10.200.1.K/24 on a network of its own (a veth whose
#     other end joins nothing: what another host sends to 10.200.1.J
#     is never delivered, its ARP requests go unanswered); eth1 is the
#     cluster link, 10.200.0.K/24 on the switch, where hK resolves and
#     where sshd listens.
#
#   netns.sh up N DIR [--net2]  creates the hosts; state, keys, ssh_config
#                               in DIR (an existing, empty folder).
#                               --net2 (or NETNS_NET2=1 in the
#                               environment): eth0 too connects the hosts,
#                               on a second switch, so 10.200.1.J reaches
#                               hJ from every host (for --iface); hK
#                               still resolves to 10.200.0.K
#   netns.sh exec DIR K CMD...  runs CMD inside hK, with hostname hK
#   netns.sh down DIR           removes all that up created
#
# Namespaces are named mu<tag>h<K> and mu<tag>sw (the switch: bridge br0
# joined by vK, the other end of hK's eth1; wK, the other end of hK's
# eth0, joins bridge br1 with --net2, else nothing); <tag> is unique per
# "up", so two runs do not collide, and hosts of one run see only each
# other.  The root namespace gets nothing but guard routes, "unreachable
# 10.200.0.0/24" and "unreachable 10.200.1.0/24" with the tag as their
# metric, so that a stray connection from there fails at once instead of
# leaving the machine; they are added first and removed last.
# up exits 77 with the reason on stderr when hosts cannot be made here
# (not root, no CAP_NET_ADMIN, no sshd): callers report a skip.
set -u
NET=10.200.0	# the cluster network: eth1, the names, sshd
NET2=10.200.1	# the second network: eth0

die() { echo "netns.sh: $*" >&2; exit 1; }
cant() { echo "netns.sh: $*" >&2; exit 77; }

ns_of() { echo "mu$(cat "$1/tag")h$2"; }
sw_of() { echo "mu$(cat "$1/tag")sw"; }

# host K: namespace, eth0 and eth1, addresses, hosts file, sshd
host_up() {
	dir=$1 k=$2 n=$3 ns=$(ns_of "$1" "$2") sw=$(sw_of "$1")
	ip netns add "$ns" || return 1
	echo "$ns" >> "$dir/namespaces"
	mkdir -p "/etc/netns/$ns" || return 1
	echo "/etc/netns/$ns" >> "$dir/etcdirs"
	# as Debian's installer writes it, then the cluster's names
	{
		printf '127.0.0.1\tlocalhost\n'
		printf '127.0.1.1\th%s\n' "$k"
		printf '\n# The following lines are desirable for IPv6 capable hosts\n'
		printf '::1     localhost ip6-localhost ip6-loopback\n'
		printf 'ff02::1 ip6-allnodes\n'
		printf 'ff02::2 ip6-allrouters\n'
		printf '\n'
		i=1
		while [ $i -le "$n" ]; do
			printf '%s.%s\th%s\n' "$NET" $i $i
			i=$((i + 1))
		done
	} > "/etc/netns/$ns/hosts"
	ip -n "$ns" link set lo up || return 1
	# eth0 first, so that it comes first in interface order (ifindex)
	# (no dummy links here: the module may be missing and cannot be
	# loaded from a container; a veth whose other end joins no bridge is
	# as isolated: its ARP requests go unanswered)
	ip -n "$sw" link add "w$k" type veth peer name eth0 netns "$ns" || return 1
	if [ "$(cat "$dir/net2")" = 1 ]; then
		ip -n "$sw" link set "w$k" master br1 up
	else
		ip -n "$sw" link set "w$k" up
	fi || return 1
	ip -n "$ns" addr add "$NET2.$k/24" dev eth0 &&
	ip -n "$ns" link set eth0 up &&
	ip -n "$sw" link add "v$k" type veth peer name eth1 netns "$ns" &&
	ip -n "$sw" link set "v$k" master br0 up &&
	ip -n "$ns" addr add "$NET.$k/24" dev eth1 &&
	ip -n "$ns" link set eth1 up || return 1
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
	n=$1 dir=$2 net2=$3
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
	echo "$net2" > "$dir/net2"
	: > "$dir/namespaces"; : > "$dir/etcdirs"; : > "$dir/guard"
	sw=$(sw_of "$dir")
	# the guards first, so that no moment has hosts without them; each
	# one added is written down at once, for down to remove
	for g in "$NET.0/24" "$NET2.0/24"; do
		if ! ip route add unreachable "$g" metric "$$" 2> "$dir/err"; then
			err=$(cat "$dir/err")
			down "$dir"
			rm -f "$dir/err"
			cant "cannot add the guard route $g (no CAP_NET_ADMIN?): $err"
		fi
		echo "$g $$" >> "$dir/guard"
	done
	if ! ip netns add "$sw" 2> "$dir/err"; then
		down "$dir"
		cant "cannot create a network namespace: $(cat "$dir/err")"
	fi
	echo "$sw" >> "$dir/namespaces"
	bridges=br0
	[ "$net2" = 1 ] && bridges="br0 br1"
	for b in $bridges; do
		if ! { ip -n "$sw" link add $b type bridge &&
		    ip -n "$sw" link set $b up; } 2> "$dir/err"; then
			down "$dir"
			cant "cannot create a bridge: $(cat "$dir/err")"
		fi
	done
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
			err="host h$k: $(cat "$dir/err")"
			down "$dir"
			die "$err"
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
	# the guards go last, and only when no host is left
	if [ $left = 0 ] && [ -f "$dir/guard" ]; then
		while read -r g metric; do
			ip route del unreachable "$g" metric "$metric" 2>/dev/null
		done < "$dir/guard"
		rm -f "$dir/guard"
	fi
	[ $left = 0 ] || { echo "netns.sh: namespaces left: see $dir/namespaces" >&2; return 1; }
	rm -f "$dir/tag" "$dir/n" "$dir/net2" "$dir/namespaces" "$dir/etcdirs"
}

hexec() {
	dir=$1 k=$2
	shift 2
	exec ip netns exec "$(ns_of "$dir" "$k")" unshare --uts sh -c \
		'hostname "$0" && exec "$@"' "h$k" "$@"
}

case "${1:-}" in
up)	net2=0
	case "${NETNS_NET2:-0}" in 0|'') ;; 1) net2=1 ;;
	*) die "NETNS_NET2 must be 0 or 1, not '$NETNS_NET2'" ;;
	esac
	[ $# -eq 4 ] && [ "$4" = --net2 ] && { net2=1; set -- "$1" "$2" "$3"; }
	[ $# -eq 3 ] || die "usage: netns.sh up N DIR [--net2]"
	case "$2" in ''|*[!0-9]*) die "up: N must be a number" ;; esac
	[ "$2" -ge 1 ] && [ "$2" -le 250 ] || die "up: N must be 1 to 250"
	up "$2" "$3" $net2 ;;
down)	[ $# -eq 2 ] || die "usage: netns.sh down DIR"
	down "$2" ;;
exec)	[ $# -ge 4 ] || die "usage: netns.sh exec DIR K CMD..."
	shift
	hexec "$@" ;;
*)	die "usage: netns.sh up N DIR [--net2] | down DIR | exec DIR K CMD..." ;;
esac
