#!/bin/sh
# Runs every benchmark under tests/perf/ (make perf).  Benchmarks print
# ratios against a peer measured in the same run; they are not tests.
cd "$(dirname "$0")/../.." || exit 2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
/usr/bin/python3 tests/perf/launch.py
for b in tests/perf/*.sh; do
	[ "$b" = tests/perf/run.sh ] && continue
	echo "== $b"
	sh "$b"
done
