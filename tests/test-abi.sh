#!/bin/sh
# SPDX-License-Identifier: MIT
# The ABI of libvrseq.so.1 against its baselines (abi/, made with abidw;
# abigail-tools): 77 without abidiff, off x86_64 or without the shared
# library.
#  1. The built library against abi/libvrseq.so.1.abi: no difference at all
#     once abi/libvrseq.suppr has let the size-extensible structs grow. An
#     addition must come with a new version node (tests/test-version.sh)
#     and `make update-abi`; a removal or an incompatible change fails.
#  2. Every released baseline (abi/libvrseq.so.1-X.Y.Z.abi) against the
#     built library: additions only (abidiff exit 4 or 0), never bit 8
#     (ABIDIFF_ABI_INCOMPATIBLE_CHANGE).
#  3. The check can fail: the same comparison reversed (the built library
#     as the old side, a released baseline as the new one) removes
#     functions and must set bit 8.
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
lib=$build/src/.libs/libvrseq.so.1
abidiff=${ABIDIFF:-abidiff}
supp=$src/abi/libvrseq.suppr
status=0

if ! command -v "$abidiff" >/dev/null 2>&1; then
	echo "no abidiff (Debian package abigail-tools): skipped"
	exit 77
fi
if [ ! -f "$lib" ]; then
	echo "no $lib (--disable-shared?): skipped"
	exit 77
fi
if [ -n "${SANITIZER_FLAGS:-}" ]; then
	echo "an instrumented build ($SANITIZER_FLAGS) is not the ABI that ships: skipped"
	exit 77
fi
case $(uname -m) in
x86_64) ;;
*) echo "the baselines are x86_64's: skipped on $(uname -m)"; exit 77 ;;
esac

# run OLD NEW: abidiff's exit status, its report in $out. The baselines
# hold public types only already (abidw --drop-private-types, no source
# locations); the library's side is filtered by the installed headers.
run() {
	case $1 in
	*.abi) r_hdr="--headers-dir2 $src/include" ;;
	*) r_hdr="--headers-dir1 $src/include" ;;
	esac
	# shellcheck disable=SC2086
	out=$("$abidiff" --suppressions "$supp" --drop-private-types $r_hdr \
		"$1" "$2" 2>&1)
}

run "$src/abi/libvrseq.so.1.abi" "$lib"; rc=$?
if [ $rc = 0 ]; then
	echo "ok: libvrseq.so.1 matches abi/libvrseq.so.1.abi"
else
	echo "$out" | sed 's/^/    /'
	if [ $((rc & 8)) != 0 ]; then
		echo "FAIL: an incompatible ABI change against abi/libvrseq.so.1.abi (abidiff $rc)"
	elif [ $((rc & 4)) != 0 ]; then
		echo "FAIL: the ABI changed (abidiff $rc): additions need a new node in src/libvrseq.map and 'make update-abi'"
	else
		echo "FAIL: abidiff could not compare (exit $rc)"
	fi
	status=1
fi

for base in "$src"/abi/libvrseq.so.1-*.abi; do
	[ -f "$base" ] || continue
	rel=${base##*/libvrseq.so.1-}
	rel=${rel%.abi}
	run "$base" "$lib"; rc=$?
	summary=$(echo "$out" | sed -n 's/^Functions changes summary: //p')
	if [ $rc = 0 ] || [ $rc = 4 ]; then
		echo "ok: $rel -> now: compatible (abidiff $rc; functions: $summary)"
	else
		echo "$out" | sed 's/^/    /'
		echo "FAIL: $rel -> now: abidiff $rc"
		status=1
	fi
	run "$lib" "$base"; rc=$?
	if [ $((rc & 8)) != 0 ]; then
		echo "ok: now -> $rel, a downgrade, is refused as incompatible (abidiff $rc)"
	else
		echo "$out" | sed 's/^/    /'
		echo "FAIL: removing what $rel lacks was not flagged incompatible (abidiff $rc): the check cannot fail"
		status=1
	fi
done
exit $status
