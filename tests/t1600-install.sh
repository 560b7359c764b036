#!/bin/sh
# make install: binaries, library (+ soname), header, pkg-config, man pages;
# a C trainer builds against the installed tree with pkg-config alone.
. "$(dirname "$0")/lib.sh"

make --no-print-directory -s install DESTDIR=$T/root PREFIX=/usr/local \
	B=${MUSTER_BUILD:-build} > $T/log 2>&1
is "make install DESTDIR=" $? 0
R=$T/root/usr/local
for f in bin/muster bin/musterd bin/muster-allreduce-perf include/muster.h \
	lib/libmuster.a lib/pkgconfig/muster.pc share/man/man1/muster.1 \
	share/man/man8/musterd.8 share/man/man3/muster.3 \
	share/muster/python/muster/__init__.py \
	share/muster/python/muster-hook/sitecustomize.py; do
	ok_if "installed $f" test -e $R/$f
done
so=$(ls $R/lib/libmuster.so.*.*.* 2>/dev/null | head -1)
ok_if "installed the versioned library" test -n "$so"
ok_if "soname link" test -L $R/lib/libmuster.so.0
ok_if "dev link" test -L $R/lib/libmuster.so
ok_if "only muster_* exported" sh -c \
	"nm -D --defined-only $so | awk '{ print \$3 }' | grep -v '^muster_' | grep -v '^_' | grep -q . && exit 1; exit 0"
export PKG_CONFIG_PATH=$R/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$T/root
cflags=$(pkg-config --cflags muster) libs=$(pkg-config --libs muster)
# a sanitizer build's library needs its runtime in the program too
san=${MUSTER_SANITIZE:+-fsanitize=$MUSTER_SANITIZE}
cc $san $cflags -o $T/trainer examples/trainer.c $libs -lm 2> $T/ccerr
is "trainer builds with pkg-config --cflags --libs muster" $? 0
LD_LIBRARY_PATH=$R/lib $R/bin/muster -n 2 -- $T/trainer --steps 20 > $T/out 2>&1
is "installed muster runs the installed trainer" $? 0
ok_if "it trained" grep -q 'final loss' $T/out
got=$(cd $T && LD_LIBRARY_PATH=$R/lib $R/bin/muster -n 1 --no-record --no-tag -- \
	$PY -c 'import muster; print(muster.__file__)' 2>&1)
is "an installed muster's ranks import the installed Python helper" "$got" \
	"$R/share/muster/python/muster/__init__.py"
# its ranks get the installed startup hook (stacks.h: Python frames)
got=$(cd $T && LD_LIBRARY_PATH=$R/lib $R/bin/muster -n 1 --no-tag -- \
	$PY -c 'import os; print(os.environ["PYTHONPATH"].split(":")[0], os.listdir(os.environ["MUSTER_PYSTACKS"]) != [])' 2>&1)
is "an installed muster's Python ranks run the installed hook" "$got" \
	"$R/share/muster/python/muster-hook True"

# muster.pc is written for the install's own PREFIX and LIBDIR, not the
# build's: install the same build elsewhere.
make --no-print-directory -s install DESTDIR=$T/opt PREFIX=/opt/muster \
	LIBDIR=/opt/muster/lib64 B=${MUSTER_BUILD:-build} > $T/log 2>&1
is "make install PREFIX=/opt/muster LIBDIR=.../lib64" $? 0
pc=$T/opt/opt/muster/lib64/pkgconfig/muster.pc
is "muster.pc prefix" "$(sed -n 's/^prefix=//p' $pc 2>/dev/null)" /opt/muster
is "muster.pc libdir" "$(PKG_CONFIG_PATH=${pc%/*} PKG_CONFIG_SYSROOT_DIR= \
	pkg-config --variable=libdir muster 2>&1)" /opt/muster/lib64
ok_if "library under LIBDIR" test -L $T/opt/opt/muster/lib64/libmuster.so
PKG_CONFIG_PATH=${pc%/*} PKG_CONFIG_SYSROOT_DIR=$T/opt
cc $san $(pkg-config --cflags muster) -o $T/trainer2 examples/trainer.c \
	$(pkg-config --libs muster) -lm 2> $T/ccerr
is "trainer builds against the PREFIX=/opt/muster install" $? 0

make --no-print-directory -s uninstall DESTDIR=$T/opt PREFIX=/opt/muster \
	LIBDIR=/opt/muster/lib64 B=${MUSTER_BUILD:-build} > $T/log 2>&1
is "make uninstall" $? 0
left=$(find $T/opt -type f -o -type l | sed "s|^$T/opt||" | sort | tr '\n' ' ')
is "make uninstall removes every installed file" "$left" ""
done_testing
