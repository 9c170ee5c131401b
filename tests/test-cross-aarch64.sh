#!/bin/sh
# SPDX-License-Identifier: MIT
# aarch64 is cross-compiled on every `make check`: the library, vrseq-check,
# a program that uses every inline fast path plus the per-CPU cache fixture
# (tests/cross-smoke.c), all linked static and not PIE, and the CUnit programs
# compiled with -c only (no arm64 libcunit here; the kernel matrix links
# them). rseq-cs-lint then checks every critical-section descriptor of the
# aarch64 binaries and of a native static x86_64 build of the same program,
# and must reject a program with deliberately broken descriptors. The x86_64
# build also runs. They run on arm64 for real in `make check-kernels`.
# With a clang++ that targets aarch64, the two-object C++ program of
# tests/test-cxx-link.sh is linked too: its descriptors must survive the
# discarded COMDAT copies.
#
# The build directory's config.h is configured for the host, but no source
# includes it (DEFS only defines HAVE_CONFIG_H), so it is not used here.
set -u
srcdir=${top_srcdir:-.}
cc=${CC:-cc}
xcc=${AARCH64_CC:-aarch64-linux-gnu-gcc}
xar=${AARCH64_AR:-aarch64-linux-gnu-ar}
cunit_inc=${CUNIT_INCLUDE:-/usr/include/CUnit}

if ! command -v "$xcc" >/dev/null 2>&1; then
	echo "$xcc not found (Debian packages gcc-aarch64-linux-gnu libc6-dev-arm64-cross): skipped"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vrseq-cross.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
printf 'int main(void) { return 0; }\n' >"$tmp/empty.c"
warn="-Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter -Werror"

# static_flags CC: the flags of a static non-PIE link with CC, under $warn.
# gcc takes -no-pie (needed where it was built --enable-default-pie and -static
# alone would not undo that); clang reports -no-pie unused next to -static,
# an error under -Werror, and links -static non-PIE anyway.
static_flags() {
	for s_flags in "-static -no-pie" "-static"; do
		if "$1" $warn $s_flags -o "$tmp/empty" "$tmp/empty.c" \
			>"$tmp/empty.log" 2>&1; then
			echo "$s_flags"
			return 0
		fi
	done
	return 1
}
if ! xstatic=$(static_flags "$xcc"); then
	cat "$tmp/empty.log"
	echo "$xcc cannot link static programs (Debian package libc6-dev-arm64-cross): skipped"
	exit 77
fi
echo "$xcc links with: $xstatic"

passed=0 failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

cflags="-std=gnu11 -O2 -g $warn -I$srcdir/include -I$srcdir/compat"
libsrcs=
for f in "$srcdir"/src/*.c; do
	# src/ffi.c is libvrseq-ffi, not the library.
	case $f in */vrseq-check.c|*/ffi.c) ;; *) libsrcs="$libsrcs $f" ;; esac
done
smoke="$srcdir/tests/cross-smoke.c $srcdir/tests/percpu-cache.c"

# A static link; drops glibc's warnings about dlopen in static programs.
link() {	# link CC OUT ARGS...
	l_cc=$1 l_out=$2
	shift 2
	if [ "$l_cc" = "$xcc" ]; then
		l_static=$xstatic
	else
		l_static=$hstatic
	fi
	"$l_cc" $l_static -o "$l_out" "$@" -lpthread 2>"$l_out.log"
	l_rc=$?
	grep -v -e 'in statically linked applications requires' \
		-e 'in function .pin_library.:' "$l_out.log"
	[ $l_rc = 0 ] && [ -x "$l_out" ]
}

# build ARCH CC AR: the library archive, vrseq-check and the smoke program.
build() {
	b_arch=$1 b_cc=$2 b_ar=$3 b_dir=$tmp/$1 b_ok=yes
	mkdir -p "$b_dir/lib"
	for f in $libsrcs; do
		"$b_cc" $cflags -DVRSEQ_BUILDING -fvisibility=hidden -c \
			-o "$b_dir/lib/$(basename "$f" .c).o" "$f" || b_ok=no
	done
	if [ $b_ok = no ]; then
		fail "$b_arch: the library does not compile"
		return 1
	fi
	if ! "$b_ar" rcs "$b_dir/libvrseq.a" "$b_dir"/lib/*.o; then
		fail "$b_arch: $b_ar"
		return 1
	fi
	if link "$b_cc" "$b_dir/vrseq-check" $cflags "$srcdir/tools/vrseq-check.c" "$srcdir/tools/output.c" \
		"$b_dir/libvrseq.a" &&
		link "$b_cc" "$b_dir/cross-smoke" $cflags -I"$srcdir/tests" $smoke \
			"$b_dir/libvrseq.a"; then
		pass "$b_arch: library, vrseq-check and cross-smoke build static"
	else
		fail "$b_arch: static build"
		return 1
	fi
}

# asm_build ARCH CC: tests/asm-sections.S (the blocks of <vrseq/asm.h>)
# linked with a main that only defines the TLS slots it reads, for lint;
# on the host it also runs: a register-block load of an unbound slot must
# refuse (-1).
cat >"$tmp/asm-main.c" <<'EOF'
#include <stdint.h>
#include <vrseq.h>
extern __thread struct vrseq_slot blocks_cpu_slot, blocks_cid_slot;
__thread struct vrseq_slot blocks_cpu_slot = VRSEQ_SLOT_UNBOUND;
__thread struct vrseq_slot blocks_cid_slot = VRSEQ_SLOT_UNBOUND;
int64_t asm_load_reg(const struct vrseq_slot *slot);
int main(void) { return asm_load_reg(&blocks_cpu_slot) == -1 ? 0 : 1; }
EOF
asm_build() {	# asm_build ARCH CC
	if link "$2" "$tmp/$1/asm-sections" $cflags "$tmp/asm-main.c" \
		"$srcdir/tests/asm-sections.S"; then
		pass "$1: tests/asm-sections.S (<vrseq/asm.h>) assembles and links"
	else
		fail "$1: tests/asm-sections.S"
	fi
}

# ---------------------------------------------------------------- lint
# rseq-cs-lint is tools/cs-lint.c (vrseq-scan's checks) on libelf: the
# flags configure found (LIBELF_CFLAGS/LIBS from the tests' environment),
# else pkg-config's, else -lelf.
libelf_flags="${LIBELF_CFLAGS:-} ${LIBELF_LIBS:-}"
[ -n "${LIBELF_LIBS:-}" ] ||
	libelf_flags=$(pkg-config --cflags --libs libelf 2>/dev/null) || libelf_flags=-lelf
if ! $cc -std=gnu11 -O2 -Wall -Wextra -Werror ${SANITIZER_FLAGS:-} \
	-I"$srcdir/tools" -o "$tmp/rseq-cs-lint" "$srcdir/tests/rseq-cs-lint.c" \
	"$srcdir/tools/cs-lint.c" $libelf_flags; then
	fail "rseq-cs-lint does not compile"
	echo "cross-aarch64: $passed passed, $failed failed"
	exit 1
fi
lint() {	# lint WHAT FILE...: all descriptors must be right (FILEs in $tmp)
	l_what=$1
	shift
	if (cd "$tmp" && ./rseq-cs-lint "$@") >"$tmp/lint.out" 2>&1; then
		sed 's/^/    /' "$tmp/lint.out"
		pass "$l_what: descriptors"
	else
		sed 's/^/    /' "$tmp/lint.out"
		fail "$l_what: descriptors"
	fi
}

# A negative control, built for each architecture: descriptor 0 is right,
# each of the others has exactly one fault. The linter must find those.
cat >"$tmp/bad.c" <<'EOF'
#if defined(__x86_64__)
# define SIG "0x53053053"
#else
# define SIG "0xd428bc00"
#endif
__asm__(
	".pushsection .text.vrseq_bad, \"ax\"\n"
	".balign 4\n"
	"10: .long 0, 0, 0\n"
	"11: .long " SIG "\n"
	"12: .long 0\n"
	"13: .long 0x12345678\n"
	"14: .long 0\n"
	".popsection\n"
	".pushsection __rseq_cs, \"aw\"\n"
	".balign 32\n"
	".long 0, 0\n .quad 10b, 11b - 10b, 12b\n"	/* right */
	".long 0, 0\n .quad 10b, 11b - 10b, 14b\n"	/* signature */
	".long 1, 0\n .quad 10b, 11b - 10b, 12b\n"	/* version */
	".long 0, 1\n .quad 10b, 11b - 10b, 12b\n"	/* flags */
	".long 0, 0\n .quad 10b, 0, 12b\n"		/* empty */
	".long 0, 0\n .quad 10b, 13b - 10b, 12b\n"	/* abort inside */
	".long 0, 0\n .quad bad_data, 4, 12b\n"	/* not code */
	".popsection\n");
int bad_data[4];
int main(void) { return 0; }
EOF
bad_expected=6
negative() {	# negative ARCH CC
	if ! link "$2" "$tmp/bad-$1" "$tmp/bad.c"; then
		fail "$1: negative control does not build"
	elif "$tmp/rseq-cs-lint" "$tmp/bad-$1" >"$tmp/bad.out" 2>&1; then
		cat "$tmp/bad.out"
		fail "$1: rseq-cs-lint accepted broken descriptors"
	elif [ "$(grep -c ': descriptor [1-9][0-9]* at ' "$tmp/bad.out")" != $bad_expected ] ||
		grep -q ': descriptor 0 at ' "$tmp/bad.out"; then
		cat "$tmp/bad.out"
		fail "$1: rseq-cs-lint did not find exactly the $bad_expected broken descriptors"
	else
		pass "$1: rseq-cs-lint rejects the $bad_expected broken descriptors of the negative control"
	fi
}

# ---------------------------------------------------------------- aarch64
if build aarch64 "$xcc" "$xar"; then
	asm_build aarch64 "$xcc"
	lint aarch64 aarch64/cross-smoke aarch64/vrseq-check \
		aarch64/asm-sections
fi
negative aarch64 "$xcc"

# C++ section groups on aarch64: the two objects of tests/test-cxx-link.sh,
# which both emit every COMDAT function of tests/cxx-comdat.h, compiled by
# clang++ (no aarch64 g++ needed: they use no C++ library; its integrated
# assembler, and GNU as with -fno-integrated-as) and linked static by $xcc.
# Every descriptor must be right and listed once after the linker discarded
# the duplicate groups; the control without "?" must not link.
xcxx=${AARCH64_CXX:-clang++}
xcxxflags="--target=aarch64-linux-gnu -std=c++17 -Wall -Wextra -Werror -fno-exceptions -fno-rtti -I$srcdir/include"
printf '#include <stdint.h>\nint main() { return 0; }\n' >"$tmp/empty.cc"
if [ ! -f "$tmp/aarch64/libvrseq.a" ]; then
	fail "aarch64 C++: no library archive"
elif ! command -v "$xcxx" >/dev/null 2>&1 ||
	! "$xcxx" $xcxxflags -c -o "$tmp/empty-cxx.o" "$tmp/empty.cc" >/dev/null 2>&1; then
	echo "$xcxx cannot compile for aarch64-linux-gnu: C++ section groups not checked on aarch64"
else
	for opt in -O0 -O2 -O2-gas -O0-nogroup; do
		case $opt in
		*-gas) o="-O2 -fno-integrated-as" ;;
		*-nogroup) o="-O0 -DVRSEQ_CS_COMDAT=0" ;;
		*) o=$opt ;;
		esac
		out=aarch64/cxx-comdat$opt ok=yes
		for tu in a b; do
			"$xcxx" $xcxxflags $o -c -o "$tmp/$out-$tu.o" \
				"$srcdir/tests/cxx-comdat-$tu.cc" || ok=no
		done
		if [ $ok = no ]; then
			fail "aarch64 C++ $o: tests/cxx-comdat-*.cc do not compile"
		elif [ $opt = -O0-nogroup ]; then
			if link "$xcc" "$tmp/$out" "$tmp/$out-a.o" "$tmp/$out-b.o" \
				"$tmp/aarch64/libvrseq.a" >/dev/null 2>&1; then
				fail "aarch64 C++ control: links without \"?\"; the check proves nothing"
			elif grep -q 'discarded section' "$tmp/$out.log"; then
				pass "aarch64 C++ control: without \"?\" the link fails (discarded section)"
			else
				sed 's/^/    /' "$tmp/$out.log"
				fail "aarch64 C++ control: fails for another reason"
			fi
		elif link "$xcc" "$tmp/$out" "$tmp/$out-a.o" "$tmp/$out-b.o" \
			"$tmp/aarch64/libvrseq.a"; then
			lint "aarch64 C++ $o ($xcxx, COMDAT groups)" -a "$out"
		else
			fail "aarch64 C++ $o: static link"
		fi
	done
fi

# The CUnit programs and their helpers compile for aarch64 (-c only), with
# the host's CUnit headers and nothing else from the host's /usr/include.
if [ -f "$cunit_inc/CUnit.h" ]; then
	mkdir -p "$tmp/cunit-inc" "$tmp/aarch64/tests"
	ln -s "$cunit_inc" "$tmp/cunit-inc/CUnit"
	ok=yes n=0
	for f in "$srcdir"/tests/test-*.c "$srcdir"/tests/harness*.c \
		"$srcdir"/tests/percpu-*.c "$srcdir"/tests/fastpath.c; do
		# libffi's header is the host's only (no arm64 libffi-dev here).
		case $f in */test-ffi.c) continue ;; esac
		n=$((n + 1))
		"$xcc" $cflags -I"$srcdir/tests" -I"$tmp/cunit-inc" \
			-DLIBVRSEQ_PATH='"libvrseq.so.1"' -c \
			-o "$tmp/aarch64/tests/$(basename "$f" .c).o" "$f" || ok=no
	done
	if [ $ok = yes ]; then
		pass "aarch64: $n test sources compile (CUnit from $cunit_inc)"
	else
		fail "aarch64: test sources"
	fi
else
	fail "aarch64: no CUnit headers in $cunit_inc (set CUNIT_INCLUDE)"
fi

# ---------------------------------------------------------------- x86_64
case $(uname -m) in
x86_64)
	if ! hstatic=$(static_flags "$cc"); then
		cat "$tmp/empty.log"
		fail "x86_64: $cc cannot link static programs"
	else
		echo "$cc links with: $hstatic"
		if build x86_64 "$cc" "${AR:-ar}"; then
			asm_build x86_64 "$cc"
			lint x86_64 x86_64/cross-smoke x86_64/vrseq-check \
				x86_64/asm-sections
			if "$tmp/x86_64/asm-sections"; then
				pass "x86_64: an assembly register-block load refuses an unbound slot"
			else
				fail "x86_64: an assembly register-block load of an unbound slot did not refuse"
			fi
			if "$tmp/x86_64/cross-smoke" >"$tmp/smoke.out" 2>&1; then
				grep -v '^VRSEQ-METRICS' "$tmp/smoke.out" | sed 's/^/    /'
				pass "x86_64: cross-smoke runs"
			else
				sed 's/^/    /' "$tmp/smoke.out"
				fail "x86_64: cross-smoke runs"
			fi
		fi
		negative x86_64 "$cc"
	fi
	;;
*)
	echo "host is $(uname -m): no native x86_64 build" ;;
esac

echo "cross-aarch64: $passed passed, $failed failed"
[ $failed -eq 0 ]
