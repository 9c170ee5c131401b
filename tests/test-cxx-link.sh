#!/bin/sh
# SPDX-License-Identifier: MIT
# C++ and section groups. A C++ inline or template function that holds a
# critical section (its own, or vrseq_slot_commit/store/cas inlined) is
# emitted in a COMDAT group in every object that uses it, and the linker
# discards all copies of the group but one. The descriptor, its
# __rseq_cs_ptr_array entry and its abort stub must go with their copy
# (the "?" section flag, see COMDAT in <vrseq/arch/x86_64.h>), or the link
# fails: "... referenced in section `__rseq_cs' ...: defined in discarded
# section".
#
# 1. <vrseq.h> and <vrseq/compat.h> compile with -Wall -Wextra -Werror as
#    C++11, 14, 17 and 20, with g++ and clang++ (each that is here).
# 2. tests/cxx-comdat-a.cc and tests/cxx-comdat-b.cc both emit every
#    function of tests/cxx-comdat.h. Each compiler builds them at -O0 and
#    -O2 (C++11, C++17), with -ffunction-sections -Wl,--gc-sections, static,
#    with LTO and with lld where it can; both objects must hold sections in
#    COMDAT groups (or the link proves nothing), the link must succeed,
#    `rseq-cs-lint -a` must find every descriptor right and listed exactly
#    once, and the program runs: one copy of each function, whose sections
#    commit, refuse and are aborted (a timer signal) right.
# 3. The control: with -DVRSEQ_CS_COMDAT=0 (no "?") the same link fails.
# 4. In C nothing is in a group, so "?" changes nothing: the objects of
#    tests/cross-smoke.c and tests/percpu-cache.c are the same byte for
#    byte with -DVRSEQ_CS_COMDAT=0 (-O2; -O0 -ffunction-sections), and so
#    are LTO static links with --gc-sections.
# Skipped (77) without a working C++ compiler. The same C++ program is
# checked for aarch64 in tests/test-cross-aarch64.sh.
set -u
srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
cc=${CC:-cc}
cxx=${CXX:-c++}
clangxx=${CLANGXX-clang++}
clang=${CLANG-clang}
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
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vrseq-cxx.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0 skipped=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
skip() { echo "SKIP $*"; skipped=$((skipped + 1)); }
indent() { sed 's/^/    /' "$@"; }

# The C++ compilers: CXX, and clang++ unless CXX is clang++.
printf 'int main() { return 0; }\n' >"$tmp/empty.cc"
printf 'int main(void) { return 0; }\n' >"$tmp/empty.c"
works() {	# works CXX FLAGS...: compiles and links a trivial program
	w_cxx=$1
	shift
	"$w_cxx" -no-pie -o "$tmp/empty" "$tmp/empty.cc" "$@" >/dev/null 2>&1
}
works_c() {	# works_c CC FLAGS...: the same in C
	w_cc=$1
	shift
	"$w_cc" -no-pie -o "$tmp/empty" "$tmp/empty.c" "$@" >/dev/null 2>&1
}
compilers=
if command -v "$cxx" >/dev/null 2>&1 && works "$cxx"; then
	compilers=$cxx
else
	echo "CXX=$cxx does not work"
fi
if [ -n "$clangxx" ] && command -v "$clangxx" >/dev/null 2>&1 &&
	works "$clangxx" && ! "$cxx" --version 2>/dev/null | grep -q clang; then
	compilers=${compilers:+$compilers }$clangxx
fi
if [ -z "$compilers" ]; then
	echo "no working C++ compiler (CXX=$cxx, $clangxx): skipped"
	exit 77
fi
echo "C++ compilers: $compilers"

# rseq-cs-lint is tools/cs-lint.c (vrseq-scan's checks) on libelf: the
# flags configure found (LIBELF_CFLAGS/LIBS from the tests' environment),
# else pkg-config's, else -lelf.
libelf_flags="${LIBELF_CFLAGS:-} ${LIBELF_LIBS:-}"
[ -n "${LIBELF_LIBS:-}" ] ||
	libelf_flags=$(pkg-config --cflags --libs libelf 2>/dev/null) || libelf_flags=-lelf
if ! $cc -std=gnu11 -O2 -Wall -Wextra -Werror ${SANITIZER_FLAGS:-} \
	-I"$srcdir/tools" -o "$tmp/rseq-cs-lint" "$srcdir/tests/rseq-cs-lint.c" \
	"$srcdir/tools/cs-lint.c" $libelf_flags; then
	echo "FAIL: rseq-cs-lint does not compile"
	exit 1
fi

inc="-I$srcdir/include -I$srcdir/compat -I$srcdir/tests"
warn="-Wall -Wextra -Werror"

# ---------------------------------------------------------------- 1
cat >"$tmp/header.cc" <<'EOF'
#include <vrseq.h>
#include <vrseq/compat.h>

int use(struct vrseq_slot *slot, uint64_t *word);
int use(struct vrseq_slot *slot, uint64_t *word)
{
	uint64_t v = 0;
	vrseq_token_t t = vrseq_slot_observe(slot);

	return vrseq_slot_commit(slot, t, vrseq_token_id(t)) +
	       vrseq_slot_store(slot, 1) + vrseq_slot_cas(slot, word, 1, 2) +
	       (int)vrseq_slot_load(slot, &v) + (int)vrseq_slot_valid(slot) +
	       (int)vrseq_slot_cpu_view(slot) +
	       (int)vrseq_slot_current_id(slot) +
	       (int)vrseq_compat_cpu_id_start(slot) +
	       vrseq_compat_cpu_id_start_store(slot, 3) +
	       (int)vrseq_compat_word_load(slot);
}
EOF
for c in $compilers; do
	bad=
	for std in c++11 c++14 c++17 c++20; do
		if ! "$c" -std=$std $warn $inc -c -o "$tmp/header.o" \
			"$tmp/header.cc" >"$tmp/header.log" 2>&1; then
			indent "$tmp/header.log"
			bad="$bad $std"
		fi
	done
	if [ -z "$bad" ]; then
		pass "$c: the headers compile with $warn as C++11/14/17/20"
	else
		fail "$c: the headers do not compile cleanly as$bad"
	fi
done

# ---------------------------------------------------------------- 2
gc="-ffunction-sections -fdata-sections -Wl,--gc-sections"

# build OUT CXX FLAGS...: both objects, then the link. Static links go
# against libvrseq.a (glibc's warnings about dlopen in static programs
# dropped), others against the shared library; always -no-pie, so that
# rseq-cs-lint can read the descriptors. CXX builds with the library's
# sanitizers (SANITIZER_FLAGS), so that its programs can run against it.
build() {
	b_out=$1 b_cxx=$2
	shift 2
	b_san=
	[ "$b_cxx" = "$cxx" ] && b_san=${SANITIZER_FLAGS:-}
	case " $* " in
	*" -static "*)
		[ -f "$lib_a" ] || return 2
		b_lib=$lib_a ;;
	*)
		b_lib="-L$lib_dir -lvrseq -Wl,-rpath,$lib_dir" ;;
	esac
	b_cflags=	# the flags without the linker's
	for b_f in "$@"; do
		case $b_f in
		-Wl,*|-static|-fuse-ld=*) ;;
		*) b_cflags="$b_cflags $b_f" ;;
		esac
	done
	for b_tu in a b; do
		"$b_cxx" $warn $inc $b_cflags $b_san -c -o "$b_out-$b_tu.o" \
			"$srcdir/tests/cxx-comdat-$b_tu.cc" || return 1
	done
	"$b_cxx" -no-pie "$@" $b_san -o "$b_out" "$b_out-a.o" "$b_out-b.o" $b_lib \
		-lpthread >"$b_out.log" 2>&1
	b_rc=$?
	grep -v -e 'in statically linked applications requires' \
		-e ': in function ' -e "argument unused during compilation: '-no-pie'" \
		-e 'libasan.*is dangerous' "$b_out.log" | indent
	[ $b_rc = 0 ] && [ -x "$b_out" ]
}

# grouped OBJ: __rseq_cs sections in COMDAT groups (non-LTO objects).
grouped() {
	readelf -gW "$1" 2>/dev/null | grep -q '^ *\[ *[0-9]*\] *__rseq_cs$'
}

n=0
check() {	# check NAME CXX FLAGS...
	c_name=$1 c_cxx=$2
	shift 2
	n=$((n + 1))
	c_out=$tmp/prog$n
	if ! works "$c_cxx" "$@"; then
		skip "$c_name: $c_cxx cannot link with $* here"
		return
	fi
	case " $* " in
	*" -static "*)
		if [ -n "${SANITIZER_FLAGS:-}" ]; then
			skip "$c_name: static links do not take the sanitizers"
			return
		fi ;;
	esac
	build "$c_out" "$c_cxx" "$@"
	case $? in
	0) ;;
	2) skip "$c_name: no $lib_a (configured --disable-static)"; return ;;
	*) fail "$c_name: does not build"; return ;;
	esac
	case " $* " in
	*" -flto "*) ;;
	*)
		if ! grouped "$c_out-a.o" || ! grouped "$c_out-b.o"; then
			fail "$c_name: no __rseq_cs in a COMDAT group in both objects; the link proves nothing"
			return
		fi ;;
	esac
	if "$tmp/rseq-cs-lint" -a "$c_out" >"$c_out.lint" 2>&1; then
		indent "$c_out.lint"
	else
		indent "$c_out.lint"
		fail "$c_name: descriptors or __rseq_cs_ptr_array"
		return
	fi
	if [ -n "${SANITIZER_FLAGS:-}" ] && [ "$c_cxx" != "$cxx" ]; then
		pass "$c_name: links, every descriptor listed once (not run: the library has $cxx's sanitizers)"
		return
	fi
	if "$c_out" >"$c_out.run" 2>&1; then
		indent "$c_out.run"
		pass "$c_name: links, every descriptor listed once, runs"
	else
		indent "$c_out.run"
		fail "$c_name: the program failed"
	fi
}

for c in $compilers; do
	check "$c -O0 -std=c++11" "$c" -O0 -std=c++11
	check "$c -O2 -std=c++17" "$c" -O2 -std=c++17
	check "$c -O0 $gc" "$c" -O0 -std=c++11 $gc
	check "$c -O2 $gc -static" "$c" -O2 -std=c++17 $gc -static
	check "$c -O2 -flto $gc -static" "$c" -O2 -flto $gc -static
	if command -v ld.lld >/dev/null 2>&1; then
		check "$c -O0 -fuse-ld=lld $gc" "$c" -O0 -fuse-ld=lld $gc
	fi
done

# ---------------------------------------------------------------- 3
for c in $compilers; do
	n=$((n + 1))
	if build "$tmp/prog$n" "$c" -O0 -DVRSEQ_CS_COMDAT=0 >/dev/null 2>&1; then
		fail "control: $c -DVRSEQ_CS_COMDAT=0 links; the checks above prove nothing"
	elif grep -q 'discarded section' "$tmp/prog$n.log"; then
		pass "control: $c -DVRSEQ_CS_COMDAT=0 fails: $(grep -m1 'discarded section' "$tmp/prog$n.log")"
	else
		indent "$tmp/prog$n.log"
		fail "control: $c -DVRSEQ_CS_COMDAT=0 fails for another reason"
	fi
done

# ---------------------------------------------------------------- 4
ccs=$cc
if [ -n "$clang" ] && command -v "$clang" >/dev/null 2>&1 &&
	! "$cc" --version 2>/dev/null | grep -q clang; then
	ccs="$ccs $clang"
fi
cflags="-std=gnu11 -Wall $inc"
for c in $ccs; do
	for flags in "-O2" "-O0 -ffunction-sections -fdata-sections"; do
		same=yes
		for f in cross-smoke percpu-cache; do
			$c $cflags $flags -c -o "$tmp/$f.o" "$srcdir/tests/$f.c" &&
			$c $cflags $flags -DVRSEQ_CS_COMDAT=0 -c \
				-o "$tmp/$f-0.o" "$srcdir/tests/$f.c" &&
			cmp -s "$tmp/$f.o" "$tmp/$f-0.o" || same=no
		done
		if [ $same = yes ]; then
			pass "$c $flags: C objects identical with and without \"?\""
		else
			fail "$c $flags: \"?\" changes C objects"
		fi
	done
	if [ -f "$lib_a" ] && works_c "$c" -flto -static; then
		for d in "" -DVRSEQ_CS_COMDAT=0; do
			$c $cflags -O2 -flto $gc -static -no-pie $d \
				-o "$tmp/lto$d" "$srcdir/tests/cross-smoke.c" \
				"$srcdir/tests/percpu-cache.c" "$lib_a" -lpthread \
				>/dev/null 2>&1
		done
		if [ -x "$tmp/lto" ] && cmp -s "$tmp/lto" "$tmp/lto-DVRSEQ_CS_COMDAT=0"; then
			pass "$c -flto $gc -static: identical with and without \"?\""
		else
			fail "$c -flto $gc -static: \"?\" changes the program (or it does not link)"
		fi
		rm -f "$tmp/lto" "$tmp/lto-DVRSEQ_CS_COMDAT=0"
	fi
done

echo "cxx-link: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
