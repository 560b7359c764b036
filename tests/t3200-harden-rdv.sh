#!/bin/sh
# t3200-harden-rdv: the rendezvous (musterd and the launcher's embedded
# server) under abuse: clients that never read, limits, who may create
# jobs, job ids that clash and jobs that outlive their launcher, floods
# of half-open connections, CURVE clients with unknown keys, invalid
# UTF-8.  tests/tools/rdv_abuse.c is the attacker.
. "$(dirname "$0")/lib.sh"
CLI=$B/tests/rdv_cli
AB=$B/tests/rdv_abuse
matches() { expr "$1" : "$2" >/dev/null; }
export MUSTER_JOB_SECRET=t3200-$$-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$T/admin"
export MUSTER_ADMIN_SECRET_FILE=$T/admin
pids=""
stop_all() { for p in $pids; do kill "$p" 2>/dev/null; done; }
test_cleanup_hooks="stop_all"

# start_md NAME ARGS...: a foreground musterd; sets EP, PORT, MPID
start_md() {
	name=$1; shift
	"$MUSTERD" --foreground --bind tcp://127.0.0.1:0 "$@" \
		> "$T/$name.ep" 2> "$T/$name.log" &
	MPID=$!; pids="$pids $MPID"
	for i in $(seq 100); do [ -s "$T/$name.ep" ] && break; sleep 0.05; done
	EP=$(head -1 "$T/$name.ep"); PORT=${EP##*:}
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
utf8_json() {	# reads one reply on stdin: valid UTF-8 and JSON
	"$PY" -c 'import sys, json; json.loads(sys.stdin.buffer.read().decode("utf-8", "strict"))' 2>/dev/null
}

# --- who may create: the admin secret, or --open; never argv
timeout 10 "$MUSTERD" --foreground --bind tcp://127.0.0.1:0 > /dev/null 2> "$T/e"
is "musterd without admin secret or --open: exit 2" "$?" 2
ok_if "... says what to give, in one line" sh -c \
	"grep -q -- '--admin-secret-file' $T/e && test \$(wc -l < $T/e) -eq 1"
start_md adm --admin-secret-file "$T/admin" --heartbeat 300 --job-expire 2000
ok_if "create with the admin secret" "$CLI" "$EP" A create
MUSTER_ADMIN_SECRET_FILE=/dev/null "$CLI" "$EP" B create 2> "$T/e"
is "create without the admin secret refused" "$?" 1
ok_if "... EAUTH naming the admin secret" grep -q "admin secret.*EAUTH" "$T/e"
echo wrong-admin-secret-of-16 > "$T/wrong"
MUSTER_ADMIN_SECRET_FILE=$T/wrong "$CLI" "$EP" B create 2>/dev/null
is "create with a wrong admin secret refused" "$?" 1
ok_if "members need no admin secret" sh -c \
	"MUSTER_ADMIN_SECRET_FILE= '$CLI' '$EP' A set k v && test \"\$(MUSTER_ADMIN_SECRET_FILE= '$CLI' '$EP' A get k 0)\" = v"

# --- a job id that is live: a clear error; it expires once nobody is left
MUSTER_JOB_SECRET=another "$CLI" "$EP" A create 2> "$T/e"
is "create a live id with another secret: refused" "$?" 1
ok_if "... says the id is in use (EEXIST)" grep -q "job id 'A' is already in use (EEXIST)" "$T/e"
sleep 2.6
MUSTER_JOB_SECRET=another "$CLI" "$EP" A create 2> "$T/e"
is "an idle job with no member expires (--job-expire 2000): its id is free" "$?" 0
ok_if "... and the expiry is logged" grep -q "job A expired" "$T/adm.log"
if [ -x "$MUSTER" ]; then
	# the launcher registers its job with MUSTER_ADMIN_SECRET_FILE
	"$CLI" "$EP" taken create
	$MUSTER --rendezvous "$EP" --job-id taken -n 1 -- true > /dev/null 2> "$T/e"
	rc=$?
	ok_if "launcher: job id clash fails (exit $rc)" test "$rc" -ne 0
	is "launcher: one line naming id and server" "$(cat "$T/e")" \
		"muster: job id 'taken' is already in use on $EP"
	MUSTER_ADMIN_SECRET_FILE= $MUSTER --rendezvous "$EP" -n 1 -- true \
		> /dev/null 2> "$T/e"
	ok_if "launcher without the admin secret: says so" \
		grep -q "admin secret.*MUSTER_ADMIN_SECRET_FILE" "$T/e"
	# a head killed with SIGKILL: its job expires, the id is usable again
	$MUSTER --rendezvous "$EP" --job-id K -n 1 -- sleep 30 > /dev/null 2>&1 &
	hp=$!
	for i in $(seq 100); do
		"$MUSTERD" --status "$EP" | grep -q '"K"' && break; sleep 0.05
	done
	kill -9 $hp
	sleep 0.3
	$MUSTER --rendezvous "$EP" --job-id K -n 1 -- true 2> "$T/e"
	is "right after the head's SIGKILL the id is still taken" "$?" 2
	sleep 3
	$MUSTER --rendezvous "$EP" --job-id K -n 1 -- sh -c 'echo reused' > "$T/o" 2> "$T/e"
	is "SIGKILLed head: the job expires and its id runs again" "$(cat "$T/o")" "[0] reused"
else
	skip "launcher: job id clash" "no muster binary"
fi
kill "$MPID"

# --- limits: ELIMIT naming the limit, nothing allocated for a declared size
start_md lim --open --max-jobs 2 --max-keys 3 --max-kv-bytes 2048 --max-job-size 64
"$CLI" "$EP" L create
reply=$("$CLI" "$EP" - raw "{\"v\":1,\"op\":\"join\",\"job\":\"L\",\"secret\":\"$MUSTER_JOB_SECRET\",\"host\":\"h\",\"size\":1048576}")
ok_if "join size=2^20: ELIMIT naming --max-job-size" matches "$reply" '.*"code":"ELIMIT".*--max-job-size'
for k in 1 2 3; do "$CLI" "$EP" L set k$k v; done
"$CLI" "$EP" L set k4 v 2> "$T/e"
ok_if "a 4th key over --max-keys 3: ELIMIT" grep -q "max-keys.*ELIMIT" "$T/e"
"$CLI" "$EP" L set k1 "$(head -c 3000 /dev/zero | tr '\0' x)" 2> "$T/e"
ok_if "a value over --max-kv-bytes: ELIMIT" grep -q "max-kv-bytes.*ELIMIT" "$T/e"
is "the old value stays" "$("$CLI" "$EP" L get k1 0)" v
"$CLI" "$EP" M create
"$CLI" "$EP" N create 2> "$T/e"
ok_if "a 3rd job over --max-jobs 2: ELIMIT" grep -q "max-jobs.*ELIMIT" "$T/e"
err=$("$MUSTERD" --open --max-jobs 0 2>&1); rc=$?
is "--max-jobs 0: exit 2" "$rc" 2
ok_if "... names the option and the range" matches "$err" "musterd: --max-jobs: '0' is not a number in 1\.\."
kill "$MPID"

# --- a client that never reads its replies: dropped, memory stays bounded
# (ASan holds freed memory in a 256 MiB quarantine, which RSS would count)
case "${MUSTER_SANITIZE:-}" in
*address*) export ASAN_OPTIONS="quarantine_size_mb=16:malloc_context_size=5${ASAN_OPTIONS:+:$ASAN_OPTIONS}" ;;
esac
start_md deaf --open
"$AB" flood "$EP" 40 4 > /dev/null &
fp=$!
peak=0
while kill -0 $fp 2>/dev/null; do
	kb=$(awk '/VmRSS/ { print $2 }' /proc/$MPID/status)
	[ "$kb" -gt "$peak" ] && peak=$kb
	sleep 0.2
done
ok_if "40 clients that never read, 4 s: musterd stays under 64 MiB (peak $((peak / 1024)) MiB)" \
	test "$peak" -lt 65536
ok_if "... the deaf clients are dropped, and it says so" grep -q "did not read their replies" "$T/deaf.log"
is "... and it still answers" "$("$CLI" "$EP" - raw '{"v":1,"op":"ping","id":7}' | sed 's/.*"ok":\([a-z]*\).*/\1/')" true
kill "$MPID"
if [ -x "$MUSTER" ]; then
	# the launcher's embedded server: no create from the network, and a
	# rank that floods it without reading does not grow the launcher
	$MUSTER -n 1 -- sh -c "
		$CLI \$MUSTER_RENDEZVOUS - raw '{\"v\":1,\"op\":\"create\",\"id\":1,\"job\":\"evil\",\"secret\":\"x\"}' > $T/create.out
		$AB flood \$MUSTER_RENDEZVOUS 30 3 > /dev/null
		awk '/VmHWM/ { print \$2 }' /proc/\$(cat $T/head.pid)/status > $T/head.hwm" &
	echo $! > "$T/head.pid"
	wait $!
	ok_if "embedded server: create from the network refused (EAUTH)" \
		grep -q '"code":"EAUTH".*takes no create' "$T/create.out"
	ok_if "embedded server: 30 deaf clients, launcher under 64 MiB ($(( $(cat "$T/head.hwm" 2>/dev/null || echo 0) / 1024 )) MiB)" \
		test "$(cat "$T/head.hwm" 2>/dev/null || echo 999999)" -lt 65536
fi

# --- 2000 half-open connections at 1024 fds: no spin, members answered
(ulimit -n 1024; exec "$MUSTERD" --open --foreground --bind tcp://127.0.0.1:0 \
	> "$T/ho.ep" 2> "$T/ho.log") &
pids="$pids $!"
for i in $(seq 100); do [ -s "$T/ho.ep" ] && break; sleep 0.05; done
EP=$(head -1 "$T/ho.ep"); PORT=${EP##*:}
MPID=$(ss -Htlnp "sport = :$PORT" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
pids="$pids $MPID"
"$CLI" "$EP" H create
"$AB" halfopen 127.0.0.1 "$PORT" 2000 7 once > /dev/null &
hp=$!
sleep 1
t0=$(cpu_ticks "$MPID"); w0=$(now_ms)
out=$("$AB" member "$EP" H 4)
t1=$(cpu_ticks "$MPID"); w1=$(now_ms)
pct=$(( (t1 - t0) * 1000 / (w1 - w0) ))
ok_if "2000 half-open connections at ulimit -n 1024: musterd does not spin (${pct}% CPU)" \
	test "$pct" -lt 30
ok_if "... a member keeps being answered, new connections too ($out)" \
	matches "$out" 'ops [1-9][0-9]* fails 0 max_ms [0-9]\{1,4\}$'
ms=$(echo "$out" | awk '{ print $6 }')
ok_if "... within 2 s each (worst ${ms:-?} ms)" test "${ms:-99999}" -lt 2000
wait $hp
"$AB" halfopen 127.0.0.1 "$PORT" 1500 5 > "$T/ho.churn" &
hp=$!
sleep 1
out=$("$AB" member "$EP" H 3)
wait $hp
ok_if "connections reopened as fast as closed: members still answered ($out)" \
	matches "$out" 'ops [1-9][0-9]* fails 0 '
ok_if "... the connections over the limit were dropped, and it says so" \
	grep -q "over the limit of [0-9]* open connections" "$T/ho.log"
kill "$MPID"

# --- CURVE: a key that no job's secret derives gets nothing, not even status
start_md cz --admin-secret-file "$T/admin" --curve
for i in $(seq 100); do [ "$(wc -l < "$T/cz.ep")" -ge 2 ] && break; sleep 0.05; done
KEY=$(sed -n 's/^curve-public-key //p' "$T/cz.ep")
MUSTER_RDV_KEY=$KEY "$CLI" "$EP" Z create
is "CURVE: the admin creates a job" "$?" 0
is "CURVE: the job's members get in" \
	"$(MUSTER_RDV_KEY=$KEY "$CLI" "$EP" Z set a b && MUSTER_RDV_KEY=$KEY "$CLI" "$EP" Z get a 0)" b
MUSTER_RDV_KEY=$KEY MUSTER_JOB_SECRET=unknown "$CLI" "$EP" Z status > "$T/st" 2>&1
is "CURVE: an unknown key gets no status" "$?" 1
ok_if "... refused at the handshake (logged)" grep -q "ZAP: refused.*belongs to no job" "$T/cz.log"
kill "$MPID"

# --- tokens and invalid UTF-8
start_md u8 --open
"$CLI" "$EP" U create
for bad in "$(printf '{"v":1,"op":"\377\376","id":1}')" \
	"$(printf '{"v":1,"op":"get","id":2,"job":"U\300\257","secret":"x","key":"k"}')"; do
	"$CLI" "$EP" - raw "$bad" > "$T/r"
	ok_if "invalid UTF-8 in a request: the reply is valid UTF-8 JSON" utf8_json < "$T/r"
	ok_if "... and says EPROTO" grep -q '"code":"EPROTO"' "$T/r"
done
# a valid request whose echo would be cut inside a character
"$CLI" "$EP" - raw "{\"v\":1,\"op\":\"a$(printf '\303\251%.0s' $(seq 20))\",\"id\":3}" > "$T/r"
ok_if "an op echoed cut at 32 bytes: still valid UTF-8 JSON" utf8_json < "$T/r"
kill "$MPID"
done_testing
