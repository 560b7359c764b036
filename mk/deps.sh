#!/bin/sh
# Makes sure the Debian packages muster needs are installed.
# usage: mk/deps.sh demo|check
# As root, installs what is missing (apt-get update once, then install);
# otherwise prints the exact apt-get line and fails.
set -u
build="gcc make pkg-config libzmq3-dev libsodium-dev libcjson-dev libhwloc-dev"
run="openmpi-bin libopenmpi-dev"
test="python3-torch python3-mpi4py openssh-server mandoc iproute2 procps clang libclang-rt-14-dev chromium gdb elfutils"
case "${1:-demo}" in
demo) want="$build $run" ;;
check) want="$build $run $test" ;;
*) echo "mk/deps.sh: unknown target '$1' (expected demo or check)" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)
	[ "$s" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "muster: missing Debian packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "muster: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || { echo "muster: apt-get update failed" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends $missing >&2 || {
	echo "muster: apt-get install$missing failed" >&2; exit 1; }
