#!/bin/sh
# SPDX-License-Identifier: MIT
# Link-time survival of the critical-section metadata, and a warning-free
# static link.
#
# 1. A program that uses every inline fast path and sections of its own
#    (tests/cross-smoke.c with the per-CPU cache fixture) is linked with
#    -ffunction-sections -Wl,--gc-sections, with -flto, with -flto -static
#    and with all of them, by gcc and by clang where they can, always
#    -no-pie so that rseq-cs-lint can read the descriptors without
#    relocating them. `rseq-cs-lint -a` then requires every descriptor to
#    be right and __rseq_cs_ptr_array to be there and list each exactly
#    once: nothing refers to the array, so --gc-sections drops it unless it
#    is marked to be kept (SHF_GNU_RETAIN, see <vrseq/arch/x86_64.h>).
#    A control built with -DVRSEQ_CS_RETAIN=0 must lose the array, or the
#    check above would prove nothing.
# 2. The same program links statically against the build's libvrseq.a with
#    -Wl,--fatal-warnings, as static allocator builds do, with no warning at
#    all (glibc warns about dlopen and friends in static programs).
set -u
srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
cc=${CC:-cc}
clang=${CLANG-clang}
readelf=${READELF:-readelf}
[ -n "$readelf" ] || readelf=readelf
lib_a=$builddir/src/.libs/libvrseq.a
lib_dir=$builddir/src/.libs

case $(uname -m) in
x86_64|aarch64) ;;
*) echo "$(uname -m): rseq-cs-lint reads x86_64 and aarch64 only: skipped"; exit 77 ;;
esac
if [ ! -f "$lib_dir/libvrseq.so" ] && [ ! -f "$lib_a" ]; then
	echo "FAIL: no libvrseq in $lib_dir (build first)"
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vrseq-link.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0 skipped=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
skip() { echo "SKIP $*"; skipped=$((skipped + 1)); }

# The linter (tools/cs-lint.c on libelf, as in test-cross-aarch64.sh),
# built with the project's compiler (and its sanitizers).
libelf_flags="${LIBELF_CFLAGS:-} ${LIBELF_LIBS:-}"
[ -n "${LIBELF_LIBS:-}" ] ||
	libelf_flags=$(pkg-config --cflags --libs libelf 2>/dev/null) || libelf_flags=-lelf
if ! $cc -std=gnu11 -O2 -Wall -Wextra -Werror ${SANITIZER_FLAGS:-} \
	-I"$srcdir/tools" -o "$tmp/rseq-cs-lint" "$srcdir/tests/rseq-cs-lint.c" \
	"$srcdir/tools/cs-lint.c" $libelf_flags; then
	echo "FAIL: rseq-cs-lint does not compile"
	exit 1
fi

cflags="-std=gnu11 -O2 -Wall -I$srcdir/include -I$srcdir/tests"
prog="$srcdir/tests/cross-smoke.c $srcdir/tests/percpu-cache.c"

# link OUT CC FLAGS...: build the program; the log keeps the compiler's
# output. Static links against libvrseq.a (glibc's warnings about dlopen
# in static programs are expected here and dropped: part 2 is about them),
# others against the shared library.
link() {
	l_out=$1 l_cc=$2
	shift 2
	case " $* " in
	*" -static "*)
		[ -f "$lib_a" ] || return 2
		l_lib=$lib_a ;;
	*)
		l_lib="-L$lib_dir -lvrseq -Wl,-rpath,$lib_dir" ;;
	esac
	"$l_cc" $cflags -no-pie -o "$l_out" "$@" $prog $l_lib -lpthread \
		>"$l_out.log" 2>&1
	l_rc=$?
	grep -v -e 'in statically linked applications requires' \
		-e ': in function ' -e "argument unused during compilation: '-no-pie'" \
		"$l_out.log" | sed 's/^/    /'
	[ $l_rc = 0 ] && [ -x "$l_out" ]
}

# Can this compiler link with these flags at all (LTO needs a linker
# plugin, or lld, for clang)? A trivial program decides.
printf 'int main(void) { return 0; }\n' >"$tmp/empty.c"
can_link() {	# can_link CC FLAGS...
	c_cc=$1
	shift
	"$c_cc" -no-pie -o "$tmp/empty" "$tmp/empty.c" "$@" >/dev/null 2>&1
}

# check NAME CC FLAGS...: link, then every descriptor right and listed.
n=0
check() {
	c_name=$1 c_cc=$2
	shift 2
	n=$((n + 1))
	c_out=$tmp/prog$n
	if ! can_link "$c_cc" "$@"; then
		skip "$c_name: $c_cc cannot link with $* here"
		return
	fi
	link "$c_out" "$c_cc" "$@"
	case $? in
	0) ;;
	2) skip "$c_name: no $lib_a (configured --disable-static)"; return ;;
	*) fail "$c_name: does not link"; return ;;
	esac
	if "$tmp/rseq-cs-lint" -a "$c_out" >"$c_out.lint" 2>&1; then
		sed 's/^/    /' "$c_out.lint"
		pass "$c_name: __rseq_cs_ptr_array lists every descriptor"
		built=$c_out
	else
		sed 's/^/    /' "$c_out.lint"
		fail "$c_name: descriptors or __rseq_cs_ptr_array"
	fi
}

gc="-ffunction-sections -fdata-sections -Wl,--gc-sections"
compilers=$cc
if [ -n "$clang" ] && command -v "$clang" >/dev/null 2>&1 &&
	[ "$(command -v "$clang")" != "$(command -v "$cc")" ]; then
	compilers="$compilers $clang"
else
	echo "no clang: gcc only"
fi
run_me= run_name=
for c in $compilers; do
	built=
	check "$c: plain" "$c"
	check "$c: $gc" "$c" $gc
	check "$c: $gc -static" "$c" $gc -static
	check "$c: -flto" "$c" -flto
	check "$c: -flto -static" "$c" -flto -static
	built=
	check "$c: -flto $gc -static" "$c" -flto $gc -static
	if [ -z "$run_me" ] && [ -n "$built" ]; then
		run_me=$built run_name="$c -flto $gc -static"
	fi
done
# clang's LTO through ld.bfd needs the gold plugin; lld needs nothing.
if [ "$compilers" != "$cc" ] && ! can_link "$clang" -flto &&
	can_link "$clang" -flto -fuse-ld=lld; then
	check "$clang: -flto -fuse-ld=lld $gc -static" "$clang" -flto \
		-fuse-ld=lld $gc -static
fi

# The control: without "R" the same gc link drops the array.
n=$((n + 1))
if link "$tmp/prog$n" "$cc" $gc -DVRSEQ_CS_RETAIN=0; then
	if "$tmp/rseq-cs-lint" -a "$tmp/prog$n" >"$tmp/prog$n.lint" 2>&1; then
		sed 's/^/    /' "$tmp/prog$n.lint"
		fail "control: $cc $gc -DVRSEQ_CS_RETAIN=0 kept the array; the checks above prove nothing"
	elif grep -q 'no __rseq_cs_ptr_array' "$tmp/prog$n.lint"; then
		pass "control: $cc $gc -DVRSEQ_CS_RETAIN=0 drops __rseq_cs_ptr_array, and the check sees it"
	else
		sed 's/^/    /' "$tmp/prog$n.lint"
		fail "control: unexpected rseq-cs-lint verdict"
	fi
else
	fail "control: does not link"
fi

# The most aggressive link of the first compiler still runs.
if [ -n "$run_me" ]; then
	if "$run_me" >"$tmp/run.out" 2>&1; then
		grep -v '^VRSEQ-METRICS' "$tmp/run.out" | sed 's/^/    /'
		pass "$run_name: runs"
	else
		rc=$?
		sed 's/^/    /' "$tmp/run.out"
		if [ $rc = 77 ]; then
			skip "$run_name: cannot run here"
		else
			fail "$run_name: exit $rc"
		fi
	fi
fi

# ---------------------------------------------------------------- static
# Every warning is an error, as in static allocator builds.
if [ ! -f "$lib_a" ]; then
	skip "static link with --fatal-warnings: no $lib_a (configured --disable-static)"
else
	out=$tmp/static-fatal
	if $cc $cflags -static -no-pie -Wl,--fatal-warnings -o "$out" $prog \
		"$lib_a" -lpthread >"$out.log" 2>&1 && [ -x "$out" ] &&
		[ ! -s "$out.log" ]; then
		pass "$cc -static -Wl,--fatal-warnings against libvrseq.a: no warning"
	else
		sed 's/^/    /' "$out.log"
		fail "$cc -static -Wl,--fatal-warnings against libvrseq.a: warnings or errors"
	fi
fi

echo "link: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
