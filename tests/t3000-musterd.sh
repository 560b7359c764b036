#!/bin/sh
# t3000-musterd: the standalone rendezvous server as a user meets it:
# flags, man page, daemon start on port 0, jobs and secrets, status, bad
# input (error reply + log line, still serving), clean shutdown.
. "$(dirname "$0")/lib.sh"
CLI=$B/tests/rdv_cli
matches() { expr "$1" : "$2" >/dev/null; }
export MUSTER_JOB_SECRET=t3000-$$-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
# musterd's admin secret: only its holders create jobs (rdv_cli reads it)
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$T/admin"
export MUSTER_ADMIN_SECRET_FILE=$T/admin
ADM="--admin-secret-file $T/admin"

# --- flags and the man page
out=$("$MUSTERD" --help); rc=$?
is "--help exits 0" "$rc" 0
is "--version" "$("$MUSTERD" --version)" \
	"musterd $(sed -n 's/^#define MUSTER_VERSION_STRING "\(.*\)"/\1/p' lib/include/muster.h)"
err=$("$MUSTERD" --bogus 2>&1); rc=$?
is "unknown flag exits 2" "$rc" 2
is "unknown flag: one line" "$(printf '%s\n' "$err" | wc -l | tr -d ' ')" 1
ok_if "unknown flag named" matches "$err" ".*'--bogus'"
err=$("$MUSTERD" --heartbeat soon 2>&1); rc=$?
is "bad --heartbeat exits 2" "$rc" 2
ok_if "bad --heartbeat names the value" matches "$err" ".*'soon'"
err=$("$MUSTERD" --bind 2>&1); is "missing argument exits 2" "$?" 2
err=$("$MUSTERD" $ADM --bind tcp://256.1.1.1:0 --foreground 2>&1)
is "unbindable address exits 1" "$?" 1
helpopts=$(printf '%s\n' "$out" | grep -o -- '--[a-z][a-z-]*' | sort -u)
manopts=$(grep -o 'Fl \\-[a-z\\-]*' man/musterd.8 | sed 's/Fl \\-/--/; s/\\//g' | sort -u)
is "every --help option is in musterd.8 and back" "$manopts" "$helpopts"
if command -v mandoc >/dev/null; then
	ok_if "mandoc -Tlint musterd.8" sh -c 'test -z "$(mandoc -Tlint -W warning man/musterd.8 2>&1)"'
else
	skip "mandoc -Tlint musterd.8" "mandoc not installed"
fi

# --- daemon on a free port
"$MUSTERD" $ADM --bind tcp://127.0.0.1:0 --heartbeat 400 2> "$T/log" > "$T/ep"
is "daemon start exits 0" "$?" 0
EP=$(head -1 "$T/ep")
ok_if "prints the bound endpoint" matches "$EP" 'tcp://127\.0\.0\.1:[1-9][0-9]*$'
PORT=${EP##*:}
PID=$(ss -Htlnp "sport = :$PORT" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
stop_daemon() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; }
test_cleanup_hooks="stop_daemon"
ok_if "daemon is running detached" test -n "$PID" -a "$(ps -o ppid= -p "${PID:-1}" | tr -d ' ')" = 1

# --- two jobs, secrets, KV, join
ok_if "create job A" "$CLI" "$EP" A create
MUSTER_JOB_SECRET=other-secret "$CLI" "$EP" B create
ok_if "create job A again, same secret" "$CLI" "$EP" A create
MUSTER_JOB_SECRET=not-it "$CLI" "$EP" A create 2> "$T/e"
is "create A with another secret refused" "$?" 1
ok_if "refusal says the id is in use" grep -q "job id .A. is already in use" "$T/e"
"$CLI" "$EP" A set addr 10.0.0.1:7000
is "get in job A" "$("$CLI" "$EP" A get addr 0)" "10.0.0.1:7000"
MUSTER_JOB_SECRET=other-secret "$CLI" "$EP" B get addr 0 2>/dev/null
is "job B does not see job A's key" "$?" 1
MUSTER_JOB_SECRET=wrong "$CLI" "$EP" A get addr 0 2> "$T/e"
is "wrong secret cannot read" "$?" 1
ok_if "wrong secret is logged" grep -q "EAUTH" "$T/log"
start=$(now_ms)
"$CLI" "$EP" A get never 300 2>/dev/null
is "get waits then times out" "$?" 1
el=$(( $(now_ms) - start ))
ok_if "timeout after ~300 ms (took $el)" test "$el" -ge 280 -a "$el" -lt 2500

# three members: two hold, one joins late; the secret never in argv
for i in 0 1 2; do
	"$CLI" "$EP" A join worker "host$((i % 2))" -1 3 5000 1500 > "$T/m$i" &
	eval "mp$i=\$!"
done
sleep 0.3
ok_if "secret not on any command line" sh -c \
	"! grep -qF -- \"\$MUSTER_JOB_SECRET\" /proc/$PID/cmdline /proc/$mp0/cmdline"
"$MUSTERD" --status "$EP" > "$T/status"
is "--status exits 0" "$?" 0
ok_if "--status lists job A" grep -q '"job":[[:space:]]*"A"' "$T/status"
ok_if "--status lists members" grep -q '"host":[[:space:]]*"host1"' "$T/status"
ok_if "--status shows no secret" sh -c "! grep -qF -- \"\$MUSTER_JOB_SECRET\" $T/status"
wait $mp0 $mp1 $mp2
ranks=$(cat "$T/m0" "$T/m1" "$T/m2" | awk '{ print $2 }' | sort | tr '\n' ' ')
is "three members got ranks 0..2" "$ranks" "0 1 2 "
is "host0 holds local_size 2" "$(grep -c 'local_size 2' "$T/m0" "$T/m2" | awk -F: '{ s += $2 } END { print s }')" 2

# heartbeat loss: a member that is killed (no leave) aborts the others
"$CLI" "$EP" A create
MUSTER_JOB_SECRET=other-secret "$CLI" "$EP" B join node n0 -1 2 5000 4000 > "$T/h0" &
h0=$!
MUSTER_JOB_SECRET=other-secret "$CLI" "$EP" B join node n1 -1 2 5000 60000 > "$T/h1" &
h1=$!
for i in $(seq 50); do [ -s "$T/h1" ] && break; sleep 0.05; done
kill -9 $h1; t0=$(now_ms)
wait $h0; rc=$?
el=$(( $(now_ms) - t0 ))
is "killed member: the other hears the abort" "$rc" 3
ok_if "abort names the missed heartbeats" grep -q "missed heartbeats" "$T/h0"
ok_if "abort within heartbeat + 1 s (took $el ms)" test "$el" -lt 1400

# --- bad input: error reply, a log line, the server keeps serving
bad() {
	reply=$("$CLI" "$EP" - raw "$2")
	ok_if "bad input ($1): $3 reply" matches "$reply" ".*\"code\":\"$3\""
}
bad "malformed JSON" '{"v":1,"op":' EPROTO
bad "unknown op" '{"v":1,"op":"explode"}' EPROTO
bad "wrong version" '{"v":7,"op":"ping"}' EPROTO
bad "wrong type" "{\"v\":1,\"op\":\"set\",\"job\":\"A\",\"secret\":\"$MUSTER_JOB_SECRET\",\"key\":{},\"val\":\"x\"}" EINVAL
bad "wrong secret" '{"v":1,"op":"get","job":"A","secret":"x","key":"addr"}' EAUTH
big=$(head -c 70000 /dev/zero | tr '\0' ' ')
bad "oversize frame" "{\"v\":1,\"op\":\"ping\"}$big" ETOOBIG
ok_if "bad input is logged" sh -c "test \$(grep -c 'bad request' $T/log) -ge 6"
is "still serving after bad input" "$("$CLI" "$EP" A get addr 0)" "10.0.0.1:7000"

# --- clean shutdown
kill -TERM "$PID"
for i in $(seq 40); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
ok_if "SIGTERM stops the daemon" sh -c "! kill -0 $PID 2>/dev/null"
PID=""
ok_if "the port is free again" sh -c "test -z \"\$(ss -Htln 'sport = :$PORT')\""
"$CLI" "$EP" A get addr 0 2> "$T/e"
is "a client of a stopped server gets an error" "$?" 1

# CURVE (forced on loopback): the printed key lets clients in, nothing else
"$MUSTERD" $ADM --foreground --curve --bind tcp://127.0.0.1:0 > "$T/ep3" 2>"$T/log3" &
cp=$!
for i in $(seq 100); do [ "$(wc -l < "$T/ep3")" -ge 2 ] && break; sleep 0.05; done
EP3=$(head -1 "$T/ep3"); KEY=$(sed -n 's/^curve-public-key //p' "$T/ep3")
is "--curve prints a 40-character public key" "${#KEY}" 40
MUSTER_RDV_KEY=$KEY "$CLI" "$EP3" C create
MUSTER_RDV_KEY=$KEY "$CLI" "$EP3" C set k encrypted
is "CURVE client with the key and secret" "$(MUSTER_RDV_KEY=$KEY "$CLI" "$EP3" C get k 0)" encrypted
MUSTER_RDV_KEY=$KEY MUSTER_JOB_SECRET=guess "$CLI" "$EP3" C get k 0 2>/dev/null
is "CURVE: a secret no job has is refused" "$?" 1
ok_if "CURVE refusal is logged" grep -q "ZAP: refused a client .*belongs to no job" "$T/log3"
"$CLI" "$EP3" C get k 0 2>/dev/null
is "CURVE: plaintext client gets nothing" "$?" 1
kill -TERM $cp; wait $cp

# foreground + SIGINT
"$MUSTERD" --open --foreground --bind tcp://127.0.0.1:0 > "$T/ep2" 2>/dev/null &
fp=$!
for i in $(seq 50); do [ -s "$T/ep2" ] && break; sleep 0.05; done
kill -INT $fp; wait $fp
is "foreground: SIGINT exits 0" "$?" 0
done_testing
