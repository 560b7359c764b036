#!/bin/sh
# Inputs kept whole or refused: counts that would wrap, values too long
# for where they go, config files that are not plain JSON objects, IPv6
# literals (not supported yet) and host lists large enough to show a
# quadratic parse.  Each refusal is one line naming the input, exit 2,
# nothing started.
. "$(dirname "$0")/lib.sh"

# a refusal within 20 s (a hang fails); sanitizers run the 270 MB plan
# below several times slower
BAD_LIMIT=20
[ -n "${MUSTER_SANITIZE:-}" ] && BAD_LIMIT=120
bad() {	# bad "WORD IN MESSAGE" ARGS...
	want=$1; shift
	rm -f $T/started
	timeout $BAD_LIMIT "$MUSTER" "$@" > $T/out 2> $T/err < /dev/null
	rc=$?
	lines=$(wc -l < $T/err)
	test_n=$((test_n + 1))
	if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -qF -- "$want" $T/err &&
	    grep -q '^muster: ' $T/err && [ ! -e $T/started ]; then
		echo "ok $test_n refused: $(echo "$*" | cut -c1-100)"
	else
		echo "not ok $test_n refused: $(echo "$*" | cut -c1-100) (rc $rc, $lines lines, want '$want')"
		sed 's/^/#   /' $T/err | cut -c1-200 | head -5
	fi
}
P="touch $T/started"
V6="IPv6 addresses are not supported yet (use a host name that resolves to IPv4)"

# --- counts: products and sums that would wrap are refused -------------
bad "65536 nodes x 65536 processes per node: 4294967296 processes, more than the 1048576 of a job" \
    --nodes 65536 --procs-per-node 65536 -- $P
bad "4294967296 processes, more than the 1048576" \
    --dry-run --nodes 65536 --procs-per-node 65536 -- $P
bad "the hosts give 2097152 slots, more than the 1048576 processes of a job (give -n)" \
    -H 'a[1-2]:1048576' -- $P
bad "-H: 'a': more than 1048576 slots" -H a:1048576,a -- $P
i=0; : > $T/hf-slots
while [ $i -lt 4096 ]; do echo "a slots=1048576"; i=$((i + 1)); done > $T/hf-slots
bad "hostfile '$T/hf-slots' line 2: 'a': more than 1048576 slots" \
    --hostfile $T/hf-slots -- $P
bad "parameter-server mode: 2097152 tasks" --ps 1048576 --workers 1048576 -- $P
bad "--nodes 4: only 2 hosts given" --ps 1 --workers 3 --nodes 4 -H a,b -- $P
bad "'[0-99999999]': 100000000 hosts, more than 1048576" -H 'node[0-99999999]' -- $P
bad "more than 1048576 hosts" -H 'n[0-1048575]x[0-1]' -- $P

# --- IPv6 literals: refused by name, wherever a host is taken ----------
bad "-H: 'fd00::1:4': $V6" -H fd00::1:4 -- $P
bad "-H: '[fd00::1]:4': $V6" -H '[fd00::1]:4' -- $P
bad "-H: '::1': $V6" -H a,::1 -- $P
printf 'node1 slots=2\nfd00::1 slots=4\n' > $T/hf6
bad "hostfile '$T/hf6' line 2: 'fd00::1': $V6" --hostfile $T/hf6 -- $P
bad "--master-addr 'fd00::1': $V6" --master-addr fd00::1 -- $P
bad "--rendezvous 'tcp://[fd00::1]:5555': $V6" --rendezvous 'tcp://[fd00::1]:5555' -- $P
printf '{"hosts": "[fd00::1]:2"}' > $T/h6.json
bad "config '$T/h6.json': \"hosts\": '[fd00::1]:2': $V6" --config $T/h6.json -- $P
# an IPv4 literal still works
"$MUSTER" --dry-run -H 10.1.2.3:2 --master-addr 10.1.2.3 -- true > $T/out 2>&1
is "-H 10.1.2.3:2 --dry-run" "$(grep -c '"host":"10.1.2.3"' $T/out)" 2

# --- values are taken whole or refused, never cut ------------------------
id63=$(printf 'j%.0s' $(seq 63))
bad "--job-id '$(printf 'j%.0s' $(seq 20))...': 64 characters, more than 63" \
    --job-id "${id63}x" -- $P
"$MUSTER" --dry-run --job-id "$id63" -- true > $T/out 2>&1
is "a 63-character --job-id is kept whole" \
    "$(grep -o '"MUSTER_JOB_ID":"[^"]*"' $T/out)" "\"MUSTER_JOB_ID\":\"$id63\""
# a config env value over 4 KiB (was cut at 4 KiB): whole in the rank
awk 'BEGIN { printf "{\"env\": {\"BIG\": \""; for (i = 0; i < 10000; i++)
	printf "%d", i % 10; printf "\"}}" }' > $T/env10k.json
"$MUSTER" --config $T/env10k.json -- sh -c 'printf %s "$BIG" | wc -c' \
    > $T/out 2>&1
is "config env value of 10000 bytes arrives whole" "$(cat $T/out)" "[0] 10000"
awk 'BEGIN { printf "{\"env\": {\"HUGE\": \""; for (i = 0; i < 200000; i++)
	printf "x"; printf "\"}}" }' > $T/env200k.json
bad "config '$T/env200k.json': \"env\": HUGE=... is 200005 bytes, more than the 131071 Linux passes in one variable" \
    --config $T/env200k.json -- $P
awk 'BEGIN { printf "{\"program\": [\"echo\", \""; for (i = 0; i < 140000; i++)
	printf "w"; printf "\"]}" }' > $T/argbig.json
bad "config '$T/argbig.json': \"program\" word 1 is 140000 bytes, more than the 131071 Linux passes in one argument" \
    --config $T/argbig.json
bad "config '$T/envkey.json': \"env\": \"A=B\": expected a variable name" \
    --config "$(printf '{"env": {"A=B": "x"}}' > $T/envkey.json; echo $T/envkey.json)" -- $P
# a --log-dir too long for its files' paths (rank.N.stdout went elsewhere)
long=$T; while [ ${#long} -lt 4050 ]; do long=$long/$(printf 'd%.0s' $(seq 200)); done
bad "--log-dir '$(printf '%.20s' "$long")...': ${#long} bytes, more than 4000" \
    --log-dir "$long" -- $P
bad "--output-dir '$(printf '%.20s' "$long")...': ${#long} bytes, more than 4000" \
    --output-dir "$long" -- $P
rdv="tcp://$(printf 'r%.0s' $(seq 250)):5555"
bad "--rendezvous '$(printf '%.20s' "$rdv")...': 261 characters, more than 255" \
    --rendezvous "$rdv" -- $P
bad "parameter-server mode: TF_CONFIG for 8100 tasks is" \
    --ps 100 --workers 8000 -- $P
# a node's plan goes to its agent as one line of at most 256 MiB: past it
# the agent said "no plan on stdin" and the head lost all its ranks
awk 'BEGIN { printf "{\"env\": {\"BIG\": \""; for (i = 0; i < 130000; i++)
	printf "x"; printf "\"}}" }' > $T/env130k.json
bad "node 0 (localhost): the plan of its 2100 ranks is" \
    --config $T/env130k.json --procs-per-node 2100 -- $P
# the agent holds --grace in int milliseconds: 1e9 s was cut to 24.8 days
bad "--grace '1000000000': expected seconds (a number from 0 to 1000000)" \
    --grace 1000000000 -- $P
# --mpi hands the host list to mpirun as one argument: past Linux's bound
# exec failed and it read "cannot run 'mpirun': Argument list too long"
bad "--mpi: the host list for mpirun is 179999 bytes, more than the 131071 Linux passes in one argument (20000 hosts)" \
    --mpi -H 'h[00000-19999]' -- $P
# the embedded rendezvous advertised a local host name of 201 to 255
# characters cut at 200: a name that is this machine, and a "remote" host
# reached through a stand-in ssh that runs the agent here.  Now no name
# is advertised, whatever its length: this host's address (here --iface's,
# as far.invalid resolves nowhere)
me=$(hostname)
addr=$(ip -4 -o addr show up scope global 2>/dev/null |
	awk '{ sub("/.*", "", $4); print $4; exit }')
case $me in
*.*) skip "long local host name in the endpoint" "host name $me has a domain" ;;
*) if [ -z "$addr" ]; then
	skip "long local host name in the endpoint" "no global IPv4 address here"
else
	lname=$me.$(printf 'l%.0s' $(seq $((240 - ${#me}))))
	printf '#!/bin/sh\nwhile [ "$1" != -- ]; do shift; done\nshift 2\nexec sh -c "$1"\n' \
	    > $T/fakessh
	chmod +x $T/fakessh
	timeout 20 "$MUSTER" --ssh $T/fakessh --iface "$addr/32" \
	    -H "$lname:1,far.invalid:1" -- \
	    sh -c 'echo "$MUSTER_RENDEZVOUS"' > $T/out 2> $T/err
	ok_if "a 241-character local host name: the endpoint is this host's address" \
	    [ "$(grep -c "^\[[01]\] tcp://$addr:[0-9]*\$" $T/out)" -eq 2 ]
	sed 's/^/#   /' $T/err | cut -c1-200 | head -3
fi ;;
esac

# --- hostfiles: a regular file or a pipe; never a wait or an endless line
# (/dev/zero was one endless line: memory grew until the OOM killer; the
# address-space limit keeps a regression from taking the machine along)
start=$(now_ms)
# (sanitizers reserve terabytes of address space: they get their own caps)
case ${MUSTER_BUILD:-build} in
build) lim="ulimit -v 2000000" ;;
*) lim=: ;;
esac
(eval "$lim"; ASAN_OPTIONS="${ASAN_OPTIONS:-}:hard_rss_limit_mb=2000" \
    TSAN_OPTIONS="${TSAN_OPTIONS:-} memory_limit_mb=2000" \
    exec timeout 20 "$MUSTER" --hostfile /dev/zero -- $P) \
    > $T/out 2> $T/err < /dev/null
is "--hostfile /dev/zero: refused" "$? $(cat $T/err)" \
    "2 muster: hostfile '/dev/zero': expected a regular file or a pipe"
mkfifo $T/hfifo
bad "hostfile '$T/hfifo': no hosts" --hostfile $T/hfifo -- $P
ok_if "a device or a FIFO nobody writes as --hostfile: refused at once" \
    [ $(( $(now_ms) - start )) -lt 5000 ]
bad "hostfile '$T': expected a regular file or a pipe" --hostfile $T -- $P
printf 'p1 slots=2\n' | "$MUSTER" --dry-run --hostfile /dev/stdin -- true > $T/out 2>&1
is "--hostfile /dev/stdin (a pipe) still works" "$(grep -c '"host":"p1"' $T/out)" 2

# --- config: a regular JSON object, whole, or refused -------------------
mkfifo $T/fifo
start=$(now_ms)
bad "config '$T/fifo': expected a regular file under 1048576 bytes" --config $T/fifo -- $P
ok_if "a FIFO as --config is refused at once" [ $(( $(now_ms) - start )) -lt 5000 ]
printf '{"np": 2} trailing' > $T/trail.json
bad "config '$T/trail.json': unexpected text after the JSON value at byte 10" \
    --config $T/trail.json -- $P
printf '{"np": 2}{"np": 3}' > $T/two.json
bad "config '$T/two.json': unexpected text after the JSON value at byte 9" \
    --config $T/two.json -- $P
printf '{"np": 2, "np": 3}' > $T/dup.json
bad "config '$T/dup.json': duplicate key \"np\"" --config $T/dup.json -- $P
printf '{"env": {"A": "1"}, "env": {"B": "2"}}' > $T/dupenv.json
bad "config '$T/dupenv.json': duplicate key \"env\"" --config $T/dupenv.json -- $P
printf '{"env": {"A": "1", "B": "2", "A": "3"}}' > $T/dupvar.json
bad "config '$T/dupvar.json': \"env\": duplicate key \"A\"" --config $T/dupvar.json -- $P
printf '{"env": ["A=1", "B=2", "A=3"]}' > $T/duplist.json
bad "config '$T/duplist.json': \"env\": \"A\" is set twice" --config $T/duplist.json -- $P
printf '{"env": {"A": "x\\u0000y"}}' > $T/nul.json
bad "config '$T/nul.json': \\u0000 at byte 16 (a string cannot hold a NUL)" \
    --config $T/nul.json -- $P
# (cJSON cut the string there: the program ran as "touch .../started")
printf '{"program": ["sh", "-c", "touch %s/started\\u0000; echo more"]}' "$T" \
    > $T/nulprog.json
bad "config '$T/nulprog.json': \\u0000 at byte" --config $T/nulprog.json
printf '{"np": 1, "job_id": "a\0b"}' > $T/raw.json
bad "config '$T/raw.json': NUL byte at byte 22" --config $T/raw.json -- $P
printf '{"np": 1e30}' > $T/huge.json
bad "config '$T/huge.json': \"np\" '1e+30': expected a whole number from 1 to 1048576" \
    --config $T/huge.json -- $P
# what stays valid: trailing blank lines, an escaped backslash before u0000
printf '{"env": {"A": "x\\\\u0000y"}, "dry_run": true}\n\n  \n' > $T/fine.json
"$MUSTER" --config $T/fine.json -- true > $T/out 2>&1
is "'\\\\u0000' (an escaped backslash) is text, kept" \
    "$(grep -o '"A":"[^"]*"' $T/out)" '"A":"x\\u0000y"'

# --- large host lists parse in linear time ------------------------------
# 10^5 hosts in a hostfile took 21 s before (a list scan per host).
timed() {	# timed CMD...: its status in rc, its milliseconds in t
	start=$(now_ms); "$@" > $T/out 2> $T/err; rc=$?
	t=$(( $(now_ms) - start ))
}
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "node%d slots=2\n", i }' > $T/hf100k
timed "$MUSTER" --dry-run -n 1 --hostfile $T/hf100k -- true
echo "# 10^5-host hostfile: $t ms (rc $rc)"
ok_if "10^5-host hostfile parses in under 2 s ($t ms)" [ $rc -eq 0 -a "$t" -lt 2000 ]
is "10^5-host hostfile: rank 0 on node0" "$(grep -o '"host":"[^"]*"' $T/out)" '"host":"node0"'
# every host twice, 2x10^5 lines: sums kept, order of first sight kept
awk 'BEGIN { for (r = 0; r < 2; r++) for (i = 0; i < 100000; i++)
	printf "n%d\n", (i * 7919) % 100000 }' > $T/hf200k
timed "$MUSTER" --dry-run -n 3 --hostfile $T/hf200k -- true
echo "# 2x10^5-line hostfile: $t ms (rc $rc)"
ok_if "2x10^5-line hostfile within a generous 5 s ($t ms)" [ $rc -eq 0 -a "$t" -lt 5000 ]
is "repeated hosts sum their slots, first seen first" \
    "$(grep -o '"host":"[^"]*"' $T/out | tr '\n' ' ')" \
    '"host":"n0" "host":"n0" "host":"n7919" '
# -H with a range of 2x10^5 hosts
timed "$MUSTER" --dry-run -n 1 -H 'h[000000-199999]' -- true
ok_if "-H h[000000-199999] within 5 s ($t ms)" [ $rc -eq 0 -a "$t" -lt 5000 ]
done_testing
