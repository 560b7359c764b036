#!/bin/sh
# Pre-flight: `muster --check` and `--preflight` on test hosts h1..h3
# (network namespaces with their own sshd, tests/netns.sh).  The launcher
# runs inside h1.  What differs per host is made with mounts private to
# one host: a tmpfs mounted in h3's sshd's mount namespace hides a folder
# from h3's sessions only; one mounted in the launcher's own namespace
# (each `netns.sh exec` has its own) holds a muster no other host has.
. "$(dirname "$0")/lib.sh"

hosts_up 3 "pre-flight tests"
REAL=$(readlink -f $MUSTER)	# what a muster says its path is
V=$(sed -n 's/^#define MUSTER_VERSION_STRING "\(.*\)"/\1/p' lib/include/muster.h)

# in_sshd K CMD...: CMD in the mount namespace of hK's sshd (its sessions)
in_sshd() { k=$1; shift; nsenter -t "$(cat $NS/sshd.$k.pid)" -m "$@"; }
# a mount made there goes when the host goes; undone first all the same
umounts=""
undo_mounts() { for m in $umounts; do in_sshd ${m%%:*} umount ${m#*:} 2>/dev/null; done; }
test_cleanup_hooks="undo_mounts $test_cleanup_hooks"
private() {	# private K DIR: DIR hidden from hK behind an empty tmpfs
	in_sshd $1 mount -t tmpfs muster-test "$2" && umounts="$umounts $1:$2"
}
# in_h1_alone CMD...: CMD in h1 with $T/alone/muster, a muster that
# exists only in this command's own mount namespace
mkdir -p $T/alone
in_h1_alone() {
	$in_h1 sh -c 'mount -t tmpfs muster-test "$1" && cp "$2" "$1/muster" &&
		shift 2 && exec "$@"' sh $T/alone $MUSTER "$@"
}
# has FILE LINE: FILE holds LINE, whole; else shows FILE
has() {
	grep -qxF -- "$2" "$1" && return 0
	sed 's/^/#   /' "$1"
	return 1
}
# ok_line FILE HOST K HOW: HOST's line says it passes, with hK's cluster
# address, a port and a clock offset
ok_line() {
	grep -Eq "^$2: ok: reachable \($4\), muster $V at [^ ]+, (program [^ ]+, )?address 10\\.200\\.0\\.$3 \\(eth1\\), free port [1-9][0-9]*, clock offset [+-][0-9]+ ms\$" "$1" && return 0
	sed 's/^/#   /' "$1"
	return 1
}

# every host passes
$in_h1 $MUSTER --check h1 h2 h3 > $T/out 2> $T/err
is "--check h1 h2 h3: exit 0" $? 0
is "one line per host, in order" "$(cut -d: -f1 $T/out | tr '\n' ' ')" "h1 h2 h3 "
ok_if "h1: local, its cluster address, a port, a clock offset" ok_line $T/out h1 1 local
ok_if "h2: over ssh, 10.200.0.2 (eth1), not 127.0.1.1 or eth0's" ok_line $T/out h2 2 ssh
ok_if "h3: over ssh, 10.200.0.3" ok_line $T/out h3 3 ssh
ok_if "--check: nothing on stderr when all pass" [ ! -s $T/err ]
$in_h1 $MUSTER -H h2:2,h3:4 --check -- $PY -c pass > $T/out 2> $T/err
is "--check with -H hosts and a program: exit 0" $? 0
ok_if "the program is found on each host" \
	grep -q "^h3: ok: .*, program $PY, address 10.200.0.3 " $T/out
is "two lines" "$(wc -l < $T/out)" 2
MUSTER_IFACE=10.200.1.0/24 $in_h1 $MUSTER --check h1 h2 > $T/out 2> $T/err
is "MUSTER_IFACE pins the other network: exit 0" $? 0
ok_if "MUSTER_IFACE: h2 would use 10.200.1.2 (eth0)" \
	grep -q "^h2: ok: .*, address 10.200.1.2 (eth0), free port" $T/out
if $MUSTER --help | grep -q -- '--iface'; then
	$in_h1 $MUSTER --iface eth0 --check h1 h2 > $T/out 2> $T/err
	is "--iface eth0: exit 0" $? 0
	ok_if "--iface eth0: h2 would use 10.200.1.2 (eth0)" \
		grep -q "^h2: ok: .*, address 10.200.1.2 (eth0), free port" $T/out
	$in_h1 $MUSTER --iface eth9 --check h1 h2 > $T/out 2> $T/err
	is "--iface eth9, on no host: exit 1" $? 1
	ok_if "each host named with its interfaces" sh -c "grep -q \
		\"^h2: FAILED: cannot gather its facts: --iface eth9: .*eth1 10.200.0.2\" $T/out"
else
	skip "--iface" "no --iface option yet"
fi

# a host without muster at our path nor in its PATH
if $in_h1 $MUSTER_SSH h2 'command -v muster' > /dev/null 2>&1; then
	skip "a host without muster" "h2 has a muster in its PATH"
else
	in_h1_alone $T/alone/muster --check h1 h2 h3 > $T/out 2> $T/err
	is "muster only here: exit 1" $? 1
	ok_if "h1 (local, forked) passes" ok_line $T/out h1 1 local
	ok_if "h2 is named: no muster at our path nor in PATH" grep -qx \
		"h2: FAILED: no muster at $T/alone/muster nor in PATH (use --remote-muster PATH)" $T/out
	ok_if "h3 too" grep -q "^h3: FAILED: no muster at $T/alone/muster " $T/out
	ok_if "the summary names both" grep -qx \
		"muster: --check: 2 of 3 hosts failed: h2, h3" $T/err
fi
# --remote-muster PATH: that one, and only it
in_h1_alone $T/alone/muster --remote-muster $MUSTER --check h1 h2 > $T/out 2> $T/err
is "--remote-muster PATH reaches h2 from a muster it lacks: exit 0" $? 0
ok_if "h2 runs that muster" grep -q "^h2: ok: reachable (ssh), muster $V at $REAL," $T/out
$in_h1 $MUSTER --remote-muster /nonexistent/muster --check h1 h2 > $T/out 2> $T/err
is "--remote-muster /nonexistent/muster: exit 1" $? 1
ok_if "h2 is named with the path" has $T/out \
	"h2: FAILED: no muster at /nonexistent/muster (--remote-muster)"
ok_if "h1, local, is not reached through it" ok_line $T/out h1 1 local
# same path else PATH: h2 has muster in its PATH only (/usr/local/sbin)
mkdir -p $T/pathbin && cp $MUSTER $T/pathbin/muster
if [ -n "$(ls -A /usr/local/sbin 2>/dev/null)" ] && ! [ -d /usr/local/sbin ]; then
	skip "muster from the remote PATH" "no empty /usr/local/sbin to mount on"
elif in_sshd 2 mount --bind $T/pathbin /usr/local/sbin; then
	umounts="$umounts 2:/usr/local/sbin"
	in_h1_alone $T/alone/muster --check h1 h2 > $T/out 2> $T/err
	is "muster not at our path on h2 but in its PATH: exit 0" $? 0
	ok_if "h2 runs the muster of its PATH" grep -q \
		"^h2: ok: reachable (ssh), muster $V at /usr/local/sbin/muster," $T/out
	$in_h1 $MUSTER --check h2 > $T/out 2> $T/err
	ok_if "muster at our path there too: that one wins" grep -q \
		"^h2: ok: reachable (ssh), muster $V at $REAL," $T/out
else
	skip "muster from the remote PATH" "cannot bind-mount in h2's sshd namespace"
fi

# another version answers
printf '#!/bin/sh\necho sync; read go\necho "{\\"addr\\":\\"10.200.0.2\\",\\"ifname\\":\\"eth1\\",\\"ports\\":[4000],\\"version\\":\\"9.9.9\\",\\"host\\":\\"h2\\",\\"cpus\\":1,\\"time_ms\\":0,\\"self\\":\\"/old/muster\\"}"\n' > $T/other
chmod +x $T/other
$in_h1 $MUSTER --remote-muster $T/other --check h2 > $T/out 2> $T/err
is "a muster of another version: exit 1" $? 1
ok_if "named: the versions differ" has $T/out \
	"h2: FAILED: muster 9.9.9 there (/old/muster), $V here: versions differ"

# an older muster, without --probe
printf '#!/bin/sh\necho "muster: unknown option '"'"'--probe'"'"' (try '"'"'muster --help'"'"')" >&2; exit 2\n' > $T/older
chmod +x $T/older
$in_h1 $MUSTER --remote-muster $T/older --check h2 > $T/out 2> $T/err
is "a muster without --probe: exit 1" $? 1
ok_if "named: an older version" has $T/out \
	"h2: FAILED: the muster there has no --probe (an older version?)"
# the clock offset: h2's clock 5 s ahead (a probe that says so)
printf '#!/bin/sh\necho sync; read go\nt=$(($(date +%%s%%3N) + 5000))\necho "{\\"addr\\":\\"10.200.0.2\\",\\"ifname\\":\\"eth1\\",\\"ports\\":[4000],\\"version\\":\\"%s\\",\\"host\\":\\"h2\\",\\"cpus\\":1,\\"time_ms\\":$t,\\"self\\":\\"/ahead\\"}"\n' "$V" > $T/ahead
chmod +x $T/ahead
$in_h1 $MUSTER --remote-muster $T/ahead --check h2 > $T/out 2> $T/err
is "a host whose clock is ahead passes" $? 0
off=$(sed -n 's/.*, clock offset +\([0-9]*\) ms$/\1/p' $T/out)
ok_if "its clock offset is about +5000 ms (${off:-none})" \
	[ "${off:-0}" -ge 4900 -a "${off:-0}" -le 5100 ]

# a program missing on one host: $T/p exists on h1 and h2, h3 sees it empty
mkdir -p $T/p
printf '#!/bin/sh\n' > $T/p/prog.sh && chmod +x $T/p/prog.sh
p3=0
if private 3 $T/p; then
	p3=1
	$in_h1 $MUSTER --check h1 h2 h3 -- $T/p/prog.sh > $T/out 2> $T/err
	is "program missing on h3: exit 1" $? 1
	ok_if "h1 and h2 find it" sh -c "grep -q '^h1: ok: .*, program $T/p/prog.sh, ' $T/out &&
		grep -q '^h2: ok: .*, program $T/p/prog.sh, ' $T/out"
	ok_if "h3 is named: the program is not there" grep -qx \
		"h3: FAILED: program '$T/p/prog.sh': No such file or directory" $T/out
	# relative to the launcher's folder, as the workers would run it
	$in_h1 sh -c "cd $T/p && exec $MUSTER --check h2 h3 -- ./prog.sh" > $T/out 2> $T/err
	is "./prog.sh from the launcher's folder: exit 1" $? 1
	ok_if "h2 runs it from there" grep -q "^h2: ok: .*, program $T/p/prog.sh, " $T/out
	ok_if "h3 has no such file there" grep -qx \
		"h3: FAILED: program './prog.sh': No such file or directory" $T/out
	in_sshd 3 sh -c "printf '#!/bin/sh\n' > $T/p/prog.sh; chmod 644 $T/p/prog.sh"
	$in_h1 $MUSTER --check h1 h3 -- $T/p/prog.sh > $T/out 2> $T/err
	is "program not executable on h3: exit 1" $? 1
	ok_if "h3 is named: not executable" grep -qx \
		"h3: FAILED: program '$T/p/prog.sh': not executable (Permission denied)" $T/out
	$in_h1 $MUSTER --check h1 h2 h3 -- no-such-program-x > $T/out 2> $T/err
	is "a program in no host's PATH: every host named" \
		"$(grep -c "^h[123]: FAILED: program 'no-such-program-x': not found in PATH\$" $T/out)" 3
else
	skip "a program missing on one host" "cannot mount in h3's sshd namespace"
fi

# unreachable hosts: bounded by --check-timeout, named with the reason
t0=$(now_ms)
$in_h1 $MUSTER --check-timeout 1 --check 10.200.0.77 > $T/out 2> $T/err
rc=$?
ms=$(($(now_ms) - t0))
is "an address with no host: exit 1" $rc 1
ok_if "named: timed out after 1s" has $T/out "10.200.0.77: FAILED: timed out after 1s"
ok_if "bounded: failed in ${ms} ms (< 2500)" [ $rc -eq 1 -a $ms -lt 2500 ]
# hosts that take the connection and never answer (sshd hung): "hung2"
# and "hung3" reach listeners on h2 and h3 that accept and say nothing
for k in 2 3; do
	sh $ROOT/tests/netns.sh exec $NS $k $PY -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 2222)); s.listen(16)
open(sys.argv[2], "w").write("up")
held = []
while True:
    held.append(s.accept())' 10.200.0.$k $T/listening.$k &
	echo $! > $T/listener.$k
done
kill_listeners() { for k in 2 3; do kill $(cat $T/listener.$k) 2>/dev/null; done; }
test_cleanup_hooks="kill_listeners $test_cleanup_hooks"
wait_files 2 "$T/listening.*"
printf 'Host hung2\n  HostName 10.200.0.2\n  Port 2222\nHost hung3\n  HostName 10.200.0.3\n  Port 2222\nInclude %s\n' \
	$NS/ssh_config > $T/ssh_config
t0=$(now_ms)
$in_h1 $MUSTER --ssh "ssh -F $T/ssh_config" --check-timeout 2 --check h1 hung2 hung3 \
	> $T/out 2> $T/err
rc=$?
ms=$(($(now_ms) - t0))
is "two hosts that never answer: exit 1" $rc 1
ok_if "each named: timed out after 2s" sh -c "grep -qx 'hung2: FAILED: timed out after 2s' $T/out &&
	grep -qx 'hung3: FAILED: timed out after 2s' $T/out"
ok_if "h1 passes meanwhile" grep -q "^h1: ok: reachable (local), " $T/out
ok_if "side by side: failed in ${ms} ms (< 3500; one after the other: over 4000)" \
	[ $rc -eq 1 -a $ms -lt 3500 ]
kill_listeners
$in_h1 $MUSTER --check h1 h9 > $T/out 2> $T/err
is "a name that does not resolve: exit 1" $? 1
ok_if "named with ssh's own message" grep -q \
	"^h9: FAILED: ssh failed (exit 255): ssh: Could not resolve hostname h9" $T/out
$in_h1 $MUSTER --check --check-timeout 0 h1 2> $T/err
is "--check-timeout 0: bad input, exit 2" $? 2
is "one line naming it" "$(cat $T/err)" \
	"muster: --check-timeout '0': expected seconds (a number over 0, at most 1000000)"
$in_h1 $MUSTER --check h1 -oProxyCommand=x > $T/out 2> $T/err
is "a host starting with '-': bad input, exit 2" $? 2
is "one line naming it, nothing checked" "$(cat $T/err $T/out)" \
	"muster: --check: '-oProxyCommand=x': expected a host (options go before the hosts, the program after '--')"

# --preflight: the same check first; a failing host: no launch, exit 1
rm -f $T/launched.*
$in_h1 $MUSTER --preflight -H h1:1,h2:1 -- sh -c "echo ran; touch $T/launched.\$RANK" \
	> $T/out 2> $T/err
is "--preflight, all hosts pass: the job runs, exit 0" $? 0
is "both ranks ran" "$(grep -c '^\[[01]\] ran$' $T/out)" 2
ok_if "--preflight says nothing when all pass" [ ! -s $T/err ]
$in_h1 $MUSTER -v --preflight -H h1:1,h2:1 -- true > $T/out 2> $T/err
is "-v --preflight: exit 0" $? 0
ok_if "-v: each host's line on stderr" sh -c "grep -q '^h1: ok: ' $T/err && grep -q '^h2: ok: ' $T/err"
rm -f $T/launched.*
$in_h1 $MUSTER --preflight --check-timeout 1 -H h1:1,10.200.0.77:1 -- \
	sh -c "touch $T/launched.\$RANK" > $T/out 2> $T/err
rc=$?
is "--preflight, a host unreachable: exit 1" $rc 1
ok_if "nothing was launched" [ $rc -eq 1 -a -z "$(ls $T/launched.* 2>/dev/null)" ]
ok_if "the failing host is named on stderr" has $T/err \
	"10.200.0.77: FAILED: timed out after 1s"
ok_if "and the refusal" has $T/err \
	"muster: --preflight: 1 of 2 hosts failed (10.200.0.77): not launching"
if [ $p3 = 1 ]; then	# h3's prog.sh: there, not executable
	$in_h1 $MUSTER --preflight -H h2:1,h3:1 -- $T/p/prog.sh > $T/out 2> $T/err
	is "--preflight, the program not runnable on h3: exit 1" $? 1
	ok_if "h3 is named" grep -q "^h3: FAILED: program '$T/p/prog.sh'" $T/err
fi

# a stopped sshd: ssh's "Connection refused", at once
kill "$(cat $NS/sshd.3.pid)"
sleep 0.2
$in_h1 $MUSTER --check h2 h3 > $T/out 2> $T/err
is "sshd stopped on h3: exit 1" $? 1
ok_if "named with ssh's message" grep -q \
	"^h3: FAILED: ssh failed (exit 255): ssh: connect to host h3 port 22: Connection refused" $T/out
done_testing
