#!/bin/sh
# man/muster.3: lint-clean mdoc, and every function of muster.h is named.
. "$(dirname "$0")/lib.sh"
if command -v mandoc > /dev/null 2>&1; then
	ok_if "mandoc -Tlint is clean" mandoc -Tlint -W warning man/muster.3
else
	skip "mandoc -Tlint is clean" "mandoc not installed"
fi
missing=""
for f in $(grep -oE 'muster_[a-z_]+\(' lib/include/muster.h | tr -d '(' | sort -u); do
	grep -q "^\.Nm $f" man/muster.3 || missing="$missing $f"
done
is "every function of muster.h is in NAME" "$missing" ""
done_testing
