#!/bin/sh
# SPDX-License-Identifier: MIT
# The Coccinelle rewrites: each legacy sample under tests/legacy/ is
# rewritten, compared with its expected output, compiled against vrseq and
# run; the rewritten program must still behave the way the legacy code
# expected cpu_id_start to behave. The unrewritten samples are compiled but
# never run: they write the kernel's field.
set -u
# Absolute and without "..": spatch 1.1.1 exits 255 on /a/b/../c paths.
srcdir=$(cd "${top_srcdir:-.}" && pwd -P)
builddir=$(cd "${top_builddir:-.}" && pwd -P)
cc=${CC:-cc}
cocci=$srcdir/compat/coccinelle/cpu_id_start.cocci
lib=$builddir/src/.libs

if ! command -v spatch >/dev/null 2>&1; then
	echo "spatch not found (Debian package coccinelle): skipped"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 skipped=0
flags="-D_GNU_SOURCE -std=gnu11 -O2 -Wall -Werror -I$srcdir/include -I$srcdir/compat -I$srcdir/tests/legacy ${SANITIZER_FLAGS:-}"

for sample in "$srcdir"/tests/legacy/*.c; do
	name=$(basename "$sample" .c)
	ok=yes
	if ! $cc $flags -c -o "$tmp/$name-orig.o" "$sample"; then
		echo "FAIL $name: the legacy sample does not compile"
		ok=no
	fi
	if ! spatch --very-quiet --sp-file "$cocci" "$sample" -o "$tmp/$name.c" \
		>"$tmp/$name.spatch" 2>&1; then
		cat "$tmp/$name.spatch"
		echo "FAIL $name: spatch failed"
		ok=no
	elif ! diff -u "$srcdir/tests/legacy/expected/$name.c" "$tmp/$name.c"; then
		echo "FAIL $name: rewrite differs from tests/legacy/expected/$name.c"
		ok=no
	elif grep -n 'cpu_id_start' "$tmp/$name.c" | grep -v 'vrseq_compat_cpu_id_start' |
		grep -v '^[0-9]*: *[/*]'; then
		echo "FAIL $name: a cpu_id_start access survived the rewrite"
		ok=no
	elif ! $cc $flags -o "$tmp/$name" "$tmp/$name.c" -L"$lib" -lvrseq \
		-Wl,-rpath,"$(cd "$lib" && pwd)" -lpthread; then
		echo "FAIL $name: the rewritten sample does not compile"
		ok=no
	else
		"$tmp/$name"
		rc=$?
		case $rc in
		0) ;;
		77) echo "SKIP $name: needs two CPUs"; skipped=$((skipped + 1)); continue ;;
		*) echo "FAIL $name: the rewritten sample exited $rc"; ok=no ;;
		esac
	fi
	if [ $ok = yes ]; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "cocci: $passed passed, $failed failed, $skipped skipped"
# Any failure fails; a run where every sample skipped (one CPU) proved
# nothing and says so with 77; otherwise at least one sample passed.
[ $failed -eq 0 ] || exit 1
[ $passed -gt 0 ] || exit 77
exit 0
