#!/bin/sh
# SPDX-License-Identifier: MIT
# An architecture without vrseq critical sections gets a fallback-only
# library (<vrseq/arch/generic.h>): the library, vrseq-check and
# tests/cross-fallback.c are cross-compiled for riscv64 (static, -Werror)
# and run under qemu-user, where the program must find every slot in
# fallback mode for VRSEQ_FALLBACK_ARCH and vrseq-check must exit 2 saying
# so. 77 without riscv64-linux-gnu-gcc (Debian: gcc-riscv64-linux-gnu
# libc6-dev-riscv64-cross) or qemu-riscv64(-static) (qemu-user-static).
set -u
srcdir=${top_srcdir:-.}
xcc=${RISCV64_CC:-riscv64-linux-gnu-gcc}
xar=${RISCV64_AR:-riscv64-linux-gnu-ar}
qemu=
for q in ${QEMU_RISCV64:-qemu-riscv64-static qemu-riscv64}; do
	command -v "$q" >/dev/null 2>&1 && { qemu=$q; break; }
done
if ! command -v "$xcc" >/dev/null 2>&1 || [ -z "$qemu" ]; then
	echo "no $xcc or qemu-riscv64 (gcc-riscv64-linux-gnu, libc6-dev-riscv64-cross, qemu-user-static): skipped"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vrseq-generic.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }

cflags="-std=gnu11 -O2 -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter -Werror -I$srcdir/include -I$srcdir/compat"
objs=
for f in "$srcdir"/src/*.c; do
	case $f in */vrseq-check.c|*/ffi.c) continue ;; esac	# not the library
	o=$tmp/$(basename "$f" .c).o
	"$xcc" $cflags -DVRSEQ_BUILDING -fvisibility=hidden -c -o "$o" "$f" ||
		fail "riscv64: $f does not compile"
	objs="$objs $o"
done
# shellcheck disable=SC2086
"$xar" rcs "$tmp/libvrseq.a" $objs || fail "riscv64: $xar"
for p in cross-fallback vrseq-check; do
	case $p in
	vrseq-check) s="$srcdir/tools/vrseq-check.c $srcdir/tools/output.c" ;;
	*) s=$srcdir/tests/$p.c ;;
	esac
	"$xcc" $cflags -static -o "$tmp/$p" $s "$tmp/libvrseq.a" -lpthread \
		2>"$tmp/$p.log" || { cat "$tmp/$p.log"; fail "riscv64: $p does not link"; }
done
[ $status = 0 ] || exit 1
echo "ok: riscv64 library, vrseq-check and cross-fallback build (-Werror, static)"

if "$qemu" "$tmp/cross-fallback"; then
	echo "ok: riscv64 under $qemu: every slot in fallback, fences succeed"
else
	fail "riscv64: cross-fallback under $qemu"
fi
"$qemu" "$tmp/vrseq-check" --json --no-probe >"$tmp/check.json"
rc=$?
if [ $rc = 2 ] && grep -q '"fallback":"arch"' "$tmp/check.json" &&
	grep -q '"fence_method":"none"' "$tmp/check.json"; then
	echo "ok: riscv64 vrseq-check exits 2 with \"fallback\":\"arch\""
else
	cat "$tmp/check.json"
	fail "riscv64 vrseq-check: exit $rc"
fi
exit $status
