#!/bin/sh
# t3100-musterd-fuzz: builds the libFuzzer target on the rendezvous message
# parser/dispatcher (tests/fuzz/rdv_msg_fuzz.c) with clang and runs it for
# a few seconds from the seed corpus.  No clang: a skip, never a pass.
. "$(dirname "$0")/lib.sh"
secs=${MUSTER_FUZZ_SECONDS:-4}
if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
	skip "fuzz build" "clang not installed"
	skip "fuzz smoke run" "clang not installed"
	done_testing; exit 0
fi
if make -s B="$B" fuzz > "$T/build.log" 2>&1; then
	echo "ok 1 fuzz build"; test_n=1
else
	test_n=1; echo "not ok 1 fuzz build"; sed 's/^/# /' "$T/build.log" | tail -20
	done_testing; exit 0
fi
mkdir -p "$T/corpus"
# a new corpus dir first (libFuzzer writes there), the seeds read-only
(cd "$T" && "$B/fuzz/rdv_msg_fuzz" -max_total_time="$secs" \
	-rss_limit_mb=2048 "$T/corpus" "$ROOT/tests/fuzz/corpus/rdv_msg") \
	> "$T/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$T/fuzz.log")
ok_if "fuzz smoke run ($secs s, ${runs:-0} runs): no crash, leak or hang" \
	test "$rc" -eq 0 -a "${runs:-0}" -gt 100
[ "$rc" -ne 0 ] && grep -E "ERROR|SUMMARY|==[0-9]+==" "$T/fuzz.log" | head -10 | sed 's/^/# /'
done_testing
