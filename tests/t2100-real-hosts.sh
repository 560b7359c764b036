#!/bin/sh
# Hosts as real cluster nodes are (tests/netns.sh): each host's /etc/hosts
# maps its own name to 127.0.1.1 first, and of its two interfaces only
# eth1 (10.200.0.K) reaches the other hosts; eth0 (10.200.1.K, first in
# interface order) leads nowhere, or with --net2 to a second network.
# Everything muster advertises must be the address that reaches: the
# route toward the head on every host (or --iface), ports chosen on the
# host that uses them.  The launcher runs inside h1; nothing here runs a
# client in the root namespace.  First, without test hosts, a fake ssh
# plays a remote host's agent.
. "$(dirname "$0")/lib.sh"

# --- --iface, MUSTER_IFACE, config "iface": bad input is one line, exit 2
bad_iface() {	# bad_iface NAME WANT CMD...: one line starting WANT, exit 2
	name=$1 want=$2; shift 2
	"$@" > /dev/null 2> $T/err
	is "$name: exit 2, one line" \
		"$? $(wc -l < $T/err) $(head -1 $T/err | cut -c1-${#want})" \
		"2 1 $want"
}
me=$(hostname)
bad_iface "--iface 'a b'" "muster: --iface 'a b': expected an interface name \
(e.g. eth1) or a network A.B.C.D/N (e.g. 10.200.0.0/24)" \
	$MUSTER --iface 'a b' -n 1 -- true
bad_iface "--iface 10.0.0.0/33" "muster: --iface '10.0.0.0/33': expected an \
interface name (e.g. eth1) or a network A.B.C.D/N (e.g. 10.200.0.0/24)" \
	$MUSTER --iface 10.0.0.0/33 -n 1 -- true
bad_iface "--iface naming no interface here" "muster: $me (this host): \
--iface muster-no-if0: no such interface up with an IPv4 address (have: lo \
127.0.0.1" $MUSTER --iface muster-no-if0 -n 1 -- true
bad_iface "--iface, a CIDR matching none here" "muster: $me (this host): \
--iface 198.51.100.0/24: no local address in it (have: lo 127.0.0.1" \
	$MUSTER --iface 198.51.100.0/24 -n 1 -- true
bad_iface "MUSTER_IFACE" "muster: MUSTER_IFACE 'a/b': expected an interface \
name (e.g. eth1) or a network A.B.C.D/N (e.g. 10.200.0.0/24)" \
	env MUSTER_IFACE=a/b $MUSTER -n 1 -- true
printf '{"iface": "lo"}\n' > $T/iface.json
MUSTER_IFACE=muster-no-if0 $MUSTER --config $T/iface.json -n 1 -- true 2> $T/err
is "the config's iface wins over MUSTER_IFACE, --iface over both" \
	"$? $(MUSTER_IFACE=lo $MUSTER --config $T/iface.json --iface muster-no-if0 \
	-n 1 -- true 2>&1 | grep -c 'muster-no-if0: no such interface')" "0 1"

# --- a remote agent of another muster version; an n record from a relay
cat > $T/other-version <<EOF
#!/bin/sh
# ssh HOST CMD, played here: the agent's facts, with another version
exec $MUSTER --agent | sed -u 's/"version":"[^"]*"/"version":"0.0.1-other"/'
EOF
$MUSTER --ssh "sh $T/other-version" -H localhost:1,fakehost:1 --timeout 20 \
	-- true > /dev/null 2> $T/err
is "another muster version on a host: exit 2, named with both versions" \
	"$? $(grep -c "^muster: fakehost runs muster 0.0.1-other, this one is \
$($MUSTER --version | cut -d' ' -f2): " $T/err)" "2 1"
cat > $T/relay-lost <<'EOF'
#!/bin/sh
# a relay whose child could not be reached: its n record
read hello
echo "n[1] 0 255 ssh: connect to host fakehost port 22: Connection refused"
EOF
$MUSTER --ssh "sh $T/relay-lost" -H localhost:1,fakehost:1 --timeout 20 \
	-- true > /dev/null 2> $T/err
is "an n record (KIND 0): exit 255, naming the host and what ssh said" \
	"$? $(grep -c "^muster: ssh to fakehost failed (exit 255): ssh: connect \
to host fakehost port 22: Connection refused$" $T/err)" "255 1"

# Ctrl-C while a host has not said its facts yet (ssh still connecting):
# no rank is there to handle it, the job stops, the slow host with it
printf '#!/bin/sh\nexec sleep 20\n' > $T/slow-host
$MUSTER --ssh "sh $T/slow-host" -H fakehost:1 --grace 0.5 -- true 2> $T/err &
mpid=$!
sleep 0.5
t0=$(now_ms)
kill -INT $mpid
wait $mpid
rc=$?
ms=$(($(now_ms) - t0))
is "SIGINT before the facts: exit 130 within 3 s (grace 0.5 s; ${ms} ms)" \
	"$rc $([ $ms -lt 3000 ] && echo fast || echo slow)" "130 fast"

# --- test hosts like real ones
hosts_up 3 "real-looking hosts"
ok_if "on h2, h2 resolves to 127.0.1.1 (stock Debian /etc/hosts)" sh -c \
	"sh $ROOT/tests/netns.sh exec $NS 2 getent ahostsv4 h2 | head -1 |
	grep -q '^127.0.1.1 '"

# net_of FILE: "rank:host:what is wrong" per rank of netcheck.py's lines,
# "ok" when every address is hK's 10.200.0.K (rank 0 on h1 for MASTER_ADDR
# and the rendezvous) and every interface eth1; WANT_NET, WANT_IF,
# MASTER_K change what is expected
net_of() {
	WANT_NET=${WANT_NET:-10.200.0} WANT_IF=${WANT_IF:-eth1} \
	MASTER_K=${MASTER_K:-1} $PY -c 'import json, os, sys
net, want_if, mk = os.environ["WANT_NET"], os.environ["WANT_IF"], os.environ["MASTER_K"]
for l in sys.stdin:
    t, _, j = l.partition("] ")
    if not j.startswith("{"):
        continue
    e = json.loads(j); k = e["hostname"][1:]; bad = []
    if e["MUSTER_ADDR"] != "%s.%s" % (net, k): bad.append("MUSTER_ADDR=%s" % e["MUSTER_ADDR"])
    if e["MASTER_ADDR"] != "%s.%s" % (net, mk): bad.append("MASTER_ADDR=%s" % e["MASTER_ADDR"])
    rdv = e["MUSTER_RENDEZVOUS"].split("//")[1].rsplit(":", 1)[0]
    if rdv != "10.200.0.1" and rdv != "%s.1" % net: bad.append("MUSTER_RENDEZVOUS=%s" % rdv)
    for v in ("GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME", "TP_SOCKET_IFNAME"):
        if e[v] != want_if: bad.append("%s=%s" % (v, e[v]))
    print("%s:%s:%s" % (t[1:], e["hostname"], " ".join(bad) or "ok"))' < "$1" |
	sort -n | tr '\n' ' '
}

# every address advertised is the one that reaches, every interface eth1
$in_h1 $MUSTER --timeout 60 -H h1:2,h2:2,h3:2 -- $PY tests/py/netcheck.py \
	> $T/net 2> $T/err
is "3 hosts x 2: MASTER_ADDR, the rendezvous, MUSTER_ADDR reach; *_SOCKET_IFNAME eth1" \
	"$(net_of $T/net)" \
	"0:h1:ok 1:h1:ok 2:h2:ok 3:h2:ok 4:h3:ok 5:h3:ok "
is "... and what each rank would connect to resolves to no 127.x there" \
	"$($PY -c 'import json, sys
for l in sys.stdin:
    for a in json.loads(l.partition("] ")[2])["resolved"]:
        print("loopback" if a.startswith("127.") else "ok")' < $T/net |
	sort -u | tr '\n' ' ')" "ok "

# torch DDP with gloo across 3 hosts (gloo takes the host name's
# address unless told the interface: 127.0.1.1, 'Connection refused')
$in_h1 $MUSTER --timeout 90 -H h1:1,h2:1,h3:1 -- $PY tests/py/ddp_train.py \
	> $T/out 2> $T/err
rc=$?
is "torch DDP (gloo) across h1, h2, h3: exit 0" $rc 0
is "... every rank trained and agrees" \
	"$(grep -c '^\[[0-2]\] ddp ok rank=[0-2] world=3' $T/out)" 3
[ $rc = 0 ] || sed 's/^/#   /' $T/err | head -5

# the C trainer: libmuster's ring between hosts listens on MUSTER_ADDR
TRAINER=$B/examples/trainer
final() { sed -n 's/^\(\[0\] \)\{0,1\}final loss //p' "$1"; }
same_loss() {	# same_loss A B: within 1e-9, both there
	awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d;
	m = a < 0 ? -a : a; exit !(a != "" && b != "" && d <= 1e-9 * m + 1e-15) }'
}
if [ -x $TRAINER ]; then
	$MUSTER -n 1 -- $TRAINER --steps 50 > $T/one 2>&1
	one=$(final $T/one)
	$in_h1 env MUSTER_TIMEOUT=15 $MUSTER --timeout 60 -H h1:1,h2:1,h3:1 -- \
		$TRAINER --steps 50 > $T/out 2>&1
	got=$(final $T/out)
	ok_if "C trainer (libmuster's TCP ring) on h1, h2, h3: loss $got = $one" \
		same_loss "$got" "$one"
	[ -n "$got" ] || sed 's/^/#   /' $T/out | head -5
else
	skip "C trainer on 3 hosts" "${B#$ROOT/}/examples/trainer not built"
fi

# rank 0 on another host than the launcher's: MASTER_ADDR and MASTER_PORT
# are h2's, the port found free by h2's agent (-v says it)
$in_h1 $MUSTER -v --timeout 60 -H h2:1,h3:1 -- $PY tests/py/netcheck.py \
	> $T/net 2> $T/err
is "rank 0 on h2, launcher on h1: addresses reach" "$(MASTER_K=2 net_of $T/net)" \
	"0:h2:ok 1:h3:ok "
port=$(sed -n 's/^muster: h2 (node 0): address 10\.200\.0\.2 on eth1 (route toward 10\.200\.0\.1), ports \([0-9]*\)$/\1/p' $T/err)
is "MASTER_PORT is the port h2's agent found free there (-v)" \
	"$(sed -n 's/^\[0\] .*"MASTER_PORT": "\([0-9]*\)".*/\1/p' $T/net)" \
	"${port:-none in -v}"
is "-v: one line per host with its address and interface" \
	"$(grep -c '^muster: h[23] (node [01]): address 10\.200\.0\.[23] on eth1 ' $T/err)" 2
ok_if "-v: this host's address" grep -q \
	"^muster: this host: address 10\.200\.0\.1 on eth1 (route toward h2)" $T/err
$in_h1 $MUSTER --timeout 90 -H h2:1,h3:1 -- $PY tests/py/ddp_train.py \
	> $T/out 2> $T/err
is "torch DDP with rank 0 on h2 (its MASTER_PORT, its address): exit 0" $? 0

# the user's own interface names are kept, on every host; -x wins
GLOO_SOCKET_IFNAME=mine0 $in_h1 $MUSTER --timeout 60 -x NCCL_SOCKET_IFNAME=ib7 \
	-H h1:1,h2:1 -- $PY tests/py/netcheck.py > $T/net 2> $T/err
is "user's GLOO_SOCKET_IFNAME and -x NCCL_SOCKET_IFNAME kept, TP_SOCKET_IFNAME eth1" \
	"$($PY -c 'import json, sys
for l in sys.stdin:
    e = json.loads(l.partition("] ")[2])
    print(e["RANK"], e["GLOO_SOCKET_IFNAME"], e["NCCL_SOCKET_IFNAME"], e["TP_SOCKET_IFNAME"])' < $T/net |
	sort | tr '\n' ';')" "0 mine0 ib7 eth1;1 mine0 ib7 eth1;"

# TF_CONFIG across 3 hosts: every task binds its own address on its own
# host (the port its agent found free there) and every task reaches all
mkdir $T/ready
$in_h1 $MUSTER --timeout 60 --chief --workers 3 --ps 2 -H h1:2,h2:2,h3:2 -- \
	$PY tests/py/netcheck.py $T/ready > $T/net 2> $T/err
is "TF_CONFIG, 6 tasks on 3 hosts: each at its host's address, bound there, all reached" \
	"$($PY -c 'import json, sys
for l in sys.stdin:
    e = json.loads(l.partition("] ")[2]); k = e["hostname"][1:]
    host = e["tf"].rsplit(":", 1)[0]
    bad = [] if host == "10.200.0." + k else ["at " + e["tf"]]
    bad += [] if e["bound"] == e["tf"] else [e["bound"]]
    bad += [r for r in e["reached"] if r.startswith("no")]
    print(e["RANK"], " ".join(bad) or "ok")' < $T/net | sort -n | tr '\n' ';')" \
	"0 ok;1 ok;2 ok;3 ok;4 ok;5 ok;"

# --dry-run contacts nobody: the choice here, the rule elsewhere
$in_h1 $MUSTER --dry-run -H h1:1,h2:1 -- true > $T/plan 2> $T/err
is "--dry-run: h1's address as chosen, h2's rule" "$($PY -c 'import json, sys
for l in sys.stdin:
    n = json.loads(l)["net"]
    print(n["addr"], n["iface"])' < $T/plan | tr '\n' ';')" \
	"10.200.0.1 eth1;route toward 10.200.0.1 (chosen on h2 at start) the one holding that address;"

# a bad --iface names the host that lacks it, and ends the job: exit 2
$in_h1 $MUSTER --timeout 20 --iface 10.200.0.1/32 -H h1:1,h2:1 -- true \
	> /dev/null 2> $T/err
is "--iface a network only h1 has: exit 2, naming h2 and what it has" \
	"$? $(grep -c "^muster: h2: --iface 10\.200\.0\.1/32: no local address \
in it (have: .*10\.200\.0\.2" $T/err)" "2 1"
$in_h1 $MUSTER --timeout 20 --iface eth9 -H h1:1,h2:1 -- true > /dev/null 2> $T/err
is "--iface naming no interface: exit 2, naming this host" \
	"$? $(grep -c "^muster: h1 (this host): --iface eth9: " $T/err)" "2 1"
netns_down

# --- both interfaces connect the hosts: --iface eth0 takes the other one
NS=$T/hosts2
mkdir -p $NS
if ! sh $ROOT/tests/netns.sh up 2 $NS --net2 2> $T/up.err; then
	is "test hosts with --net2 up" "$(tail -1 $T/up.err)" ""
	done_testing
	exit 0
fi
export MUSTER_SSH="ssh -F $NS/ssh_config"
in_h1="sh $ROOT/tests/netns.sh exec $NS 1"
$in_h1 $MUSTER --timeout 60 -H h1:1,h2:1 -- $PY tests/py/netcheck.py > $T/net 2> $T/err
is "two networks, no --iface: the route's (eth1)" "$(net_of $T/net)" "0:h1:ok 1:h2:ok "
$in_h1 $MUSTER --timeout 60 --iface eth0 -H h1:1,h2:1 -- $PY tests/py/netcheck.py \
	> $T/net 2> $T/err
is "--iface eth0: every address 10.200.1.K, every interface eth0" \
	"$(WANT_NET=10.200.1 WANT_IF=eth0 net_of $T/net)" "0:h1:ok 1:h2:ok "
MUSTER_IFACE=10.200.1.0/24 $in_h1 $MUSTER --timeout 60 -H h1:1,h2:1 -- \
	$PY tests/py/netcheck.py > $T/net 2> $T/err
is "MUSTER_IFACE=10.200.1.0/24: the same" \
	"$(WANT_NET=10.200.1 WANT_IF=eth0 net_of $T/net)" "0:h1:ok 1:h2:ok "
if [ -x $TRAINER ]; then
	$in_h1 env MUSTER_TIMEOUT=15 $MUSTER --timeout 60 --iface eth0 \
		-H h1:1,h2:1 -- $TRAINER --steps 50 > $T/out 2>&1
	got=$(final $T/out)
	ok_if "--iface eth0: the C trainer across h1, h2: loss $got = $one" \
		same_loss "$got" "$one"
else
	skip "C trainer with --iface eth0" "${B#$ROOT/}/examples/trainer not built"
fi
# gloo's bytes go where --iface says: h2's eth0 counters
eth0_bytes() {
	sh $ROOT/tests/netns.sh exec $NS 2 sh -c \
		'echo $(($(cat /sys/class/net/eth0/statistics/rx_bytes) + $(cat /sys/class/net/eth0/statistics/tx_bytes)))'
}
b0=$(eth0_bytes)
$in_h1 $MUSTER --timeout 90 --iface eth0 -H h1:1,h2:1 -- $PY tests/py/gloo_bytes.py \
	> $T/out 2> $T/err
rc=$?
moved=$(($(eth0_bytes) - b0))
is "--iface eth0: torch gloo across h1, h2 works" \
	"$rc $(grep -c '^\[[01]\] gloo ok rank=[01] world=2 ifname=eth0$' $T/out)" "0 2"
ok_if "... its 16 MB of allreduce went over h2's eth0 ($moved bytes)" \
	[ "$moved" -gt 16000000 ]
done_testing
