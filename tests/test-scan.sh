#!/bin/sh
# SPDX-License-Identifier: MIT
# vrseq-scan(1): each expectation exact (verdict token, descriptor counts,
# exit status) on
#  - real binaries nobody here wrote: glibc's libc.so.6 and ld.so must be
#    libc_registration, /bin/sh no_rseq;
#  - the project's own: the tcmalloc-style legacy control (tests/test-legacy.c
#    + percpu-legacy.c + percpu-cache.c), dynamic and static, must be
#    legacy_self_registering (never clean); test-discovery (which calls
#    rseq() itself on purpose) too; test-slot, the C++ test-blocks-cxx and
#    percpu-cache-cxx, libvrseq.so.1 and a static test-slot are vrseq, with
#    every descriptor validated; libvrseq.a member by member;
#  - objects of fuzz/seed.c for 32-bit (i386), big-endian (aarch64_be,
#    powerpc64), riscv64, aarch64 and x86_64 (clang --target, gcc cross
#    compilers where there are some), right and broken, alone and in an
#    archive; a directory with a symbolic link loop;
#  - the damaged corpus tests/scan-corpus/ (expected.tsv, written by
#    make-corpus.py);
# and checks the options and exit statuses (0 1 2 3 64, -q, -a), --json
# against doc/vrseq-scan.schema.json (with a validator that can fail, as
# tests/test-check-json.sh), the man page against --help, and replays
# fuzz/corpus and the damaged corpus through the fuzzer's entry
# (fuzz/replay). The comparison is shown to fail on a wrong answer.
# 77 without python3 (JSON parsing).
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
cc=${CC:-cc}
tool=$build/tools/vrseq-scan
replay=$build/fuzz/replay
schema=$src/doc/vrseq-scan.schema.json
validate=$src/tests/json-validate.py
man=$src/man/vrseq-scan.1
corpus=$src/tests/scan-corpus
passed=0 failed=0 skipped=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
skip() { echo "SKIP $*"; skipped=$((skipped + 1)); }

command -v python3 >/dev/null 2>&1 || { echo "no python3: skipped"; exit 77; }
[ -x "$tool" ] || { echo "no $tool (build first)"; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vrseq-scan.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# summary FILE...: "verdict descriptors validated invalid unvalidated exit"
# of one object (the first), from --json, which must be valid.
summary() {
	"$tool" --json "$@" >"$tmp/s.json" 2>"$tmp/s.err"
	s_rc=$?
	if ! python3 "$validate" "$schema" "$tmp/s.json" "$s_rc" >"$tmp/s.val"; then
		cat "$tmp/s.val"
		echo "invalid-json - - - - $s_rc"
		return
	fi
	python3 - "$tmp/s.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
if not d["objects"]:
    print("- 0 0 0 0", d["exit_status"])
else:
    o = d["objects"][0]; c = o["critical_sections"]
    print(o["verdict"], c["descriptors"], c["validated"], c["invalid"],
          c["unvalidated"], d["exit_status"])
EOF
}

# expect WHAT WANT FILE...: WANT is "verdict descriptors validated invalid
# unvalidated exit", '*' matching anything in a field.
matches() {	# matches GOT WANT
	set -f
	m_got=$1 m_want=$2
	set -- $m_got
	for w in $m_want; do
		[ $# -gt 0 ] || { set +f; return 1; }
		[ "$w" = '*' ] || [ "$w" = "$1" ] || { set +f; return 1; }
		shift
	done
	set +f
}
expect() {
	e_what=$1 e_want=$2
	shift 2
	e_got=$(summary "$@")
	if matches "$e_got" "$e_want"; then
		pass "$e_what: $e_got"
	else
		"$tool" "$@" 2>&1 | sed 's/^/    /' | head -40
		fail "$e_what: got '$e_got', want '$e_want'"
	fi
}

# ---------------------------------------------------------------- the comparison can fail
if matches "no_rseq 0 0 0 0 0" "legacy_self_registering * * * * 1" ||
	matches "vrseq 5 5 0 0 0" "vrseq 4 * * * 0" ||
	! matches "vrseq 5 5 0 0 0" "vrseq * 5 0 0 0"; then
	fail "the comparison cannot tell answers apart"
else
	pass "the comparison tells a clean legacy binary and a wrong count from the expectation"
fi

# ---------------------------------------------------------------- real binaries
libc=$($cc -print-file-name=libc.so.6 2>/dev/null)
case $libc in /*) ;; *) libc=/lib/x86_64-linux-gnu/libc.so.6 ;; esac
ldso=$(${READELF:-readelf} -l /bin/sh 2>/dev/null |
	sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
glibc_rseq=no
if [ -f "$libc" ] && "$tool" "$libc" 2>/dev/null | grep -q 'rseq system call'; then
	glibc_rseq=yes
fi
if [ -f "$libc" ] && [ -n "$ldso" ] && [ -f "$ldso" ]; then
	if [ $glibc_rseq = yes ] || ${READELF:-readelf} --dyn-syms -W "$ldso" |
		grep -q ' __rseq_offset@'; then
		# ld.so defines __rseq_offset and registers the initial
		# thread; libc.so.6 (defines __libc_start_main, references
		# ld.so's __rseq_size) registers every new thread in
		# start_thread: both are glibc's own registration.
		expect "glibc $libc" "libc_registration 0 0 0 0 0" "$libc"
		expect "glibc $ldso" "libc_registration 0 0 0 0 0" "$ldso"
	else
		skip "glibc before 2.35 (no rseq registration): $libc"
	fi
	expect "/bin/sh" "no_rseq 0 0 0 0 0" /bin/sh
	# glibc's static archive: its registering members (dl-tls_init_tp.o,
	# pthread_create.o) are glibc's, none legacy; its empty archives
	# (libanl.a is the magic alone) hold no object and are not damaged.
	libc_a=$($cc -print-file-name=libc.a 2>/dev/null)
	if [ -f "$libc_a" ]; then
		"$tool" --json "$libc_a" >"$tmp/libca.json"
		la_rc=$?
		got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); v = d["summary"]["verdicts"]
regs = sorted(o["member"] for o in d["objects"] if o["verdict"] == "libc_registration")
print(v["legacy_self_registering"], v["damaged"], v["bad_descriptors"], ",".join(regs))' "$tmp/libca.json")
		case $got in
		"0 0 0 "*dl-tls_init_tp.o*)
			[ $la_rc = 0 ] && pass "libc.a: glibc's members ${got#0 0 0 }, none legacy, exit 0" ||
				fail "libc.a: exit $la_rc" ;;
		*) fail "libc.a: got '$got' (legacy damaged bad libc_registration-members)" ;;
		esac
	fi
	printf '!<arch>\n' >"$tmp/empty.a"
	expect "an empty archive" "- 0 0 0 0 0" "$tmp/empty.a"
	# A static-pie with a .dynsym but no symbols of glibc's (qemu-user):
	# glibc by its tunable's name, its sites glibc's.
	for q in /usr/bin/qemu-aarch64-static /usr/bin/qemu-x86_64-static; do
		[ -f "$q" ] || continue
		expect "$q (static-pie, glibc inside)" "libc_registration 0 0 0 0 0" "$q"
		break
	done
else
	skip "no libc.so.6/ld.so found ($libc, $ldso)"
fi

# ---------------------------------------------------------------- the project's programs
real() {	# real PROGRAM: the ELF file behind a libtool wrapper
	r_dir=$(dirname "$1") r_base=$(basename "$1")
	if [ -f "$r_dir/.libs/$r_base" ]; then
		echo "$r_dir/.libs/$r_base"
	else
		echo "$1"
	fi
}
ndesc() {	# ndesc FILE: __rseq_cs's size / 32, as readelf says
	n_hex=$(${READELF:-readelf} -SW "$1" | sed 's/^ *\[ *[0-9]*\]//' |
		awk '$1 == "__rseq_cs" { print $5 }')
	echo $((0x${n_hex:-0} / 32))
}
lib_so=$build/src/.libs/libvrseq.so.1
lib_a=$build/src/.libs/libvrseq.a
case $(uname -m) in
x86_64|aarch64) native=yes ;;
*) native=no ;;
esac
if [ $native = yes ]; then
	for p in tests/test-slot tests/test-blocks-cxx examples/percpu-cache-cxx \
		examples/percpu-cache; do
		f=$(real "$build/$p")
		if [ -f "$f" ]; then
			# descriptors: as many as there are, every one validated
			n=$(ndesc "$f")
			expect "$p" "vrseq $n $n 0 0 0" "$f"
		else
			skip "$p not built"
		fi
	done
	# A vrseq user names the version nodes it needs from libvrseq.so.1
	# (.gnu.version_r), as readelf lists them.
	f=$(real "$build/tests/test-slot")
	if [ -f "$f" ]; then
		want=$(${READELF:-readelf} -V -W "$f" | sed -n 's/.*Name: \(VRSEQ_[0-9.]*\).*/\1/p' |
			sort | tr '\n' ' ')
		"$tool" --json "$f" >"$tmp/slot.json"
		got=$(python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))["objects"][0]["vrseq"]
print(o["needed"], " ".join(sorted(o["version_needs"])) + " ")' "$tmp/slot.json")
		if [ "$got" = "True $want" ] && [ -n "$want" ]; then
			pass "test-slot needs libvrseq.so.1, nodes $want"
		else
			fail "test-slot: got '$got', want 'True $want'"
		fi
	fi
	# Two descriptors since 0.4.0: an inline section of <vrseq.h> the
	# library uses itself, and the probe's abort experiment (cs-abort.c).
	[ -f "$lib_so" ] && expect "libvrseq.so.1 (PIC: R_*_RELATIVE applied)" \
		"vrseq 2 2 0 0 0" "$lib_so"
	if f=$(real "$build/tests/test-discovery") && [ -f "$f" ]; then
		expect "test-discovery (calls rseq() through syscall())" \
			"legacy_self_registering $(ndesc "$f") $(ndesc "$f") 0 0 1" "$f"
	fi

	# A descriptor whose addresses are undefined symbols cannot be
	# checked: counted as not validated, said plainly, never as right.
	printf '%s\n' '__asm__(".pushsection __rseq_cs, \"aw\"\n.balign 32\n"' \
		'".long 0, 0\n.quad elsewhere_start\n.quad 4\n.quad elsewhere_abort\n"' \
		'".popsection\n");' >"$tmp/unres.c"
	if $cc -c -o "$tmp/unres.o" "$tmp/unres.c" 2>"$tmp/cc.log"; then
		expect "descriptor against undefined symbols" \
			"critical_sections_only 1 0 0 1 0" "$tmp/unres.o"
		if "$tool" "$tmp/unres.o" | grep -q '^    not validated: needs relocation'; then
			pass "not validated: needs relocation, in words"
		else
			fail "no 'not validated: needs relocation' line"
		fi
	else
		fail "cannot compile $tmp/unres.c: $(head -1 "$tmp/cc.log")"
	fi

	# A false positive the filter removes (libLLVM-14's bytes): "b8 4e 01
	# 00 00" inside cmpb $0,0x14e(%r8), "0f 05" inside je's rel32.
	if [ "$(uname -m)" = x86_64 ]; then
		printf '%s\n' 'int f(void);' \
			'int f(void) { __asm__ volatile("jmp 1f\n\t.byte 0x41,0x80,0xb8,0x4e,1,0,0,0,0x0f,0x84,0x0f,0x05,0,0\n1:"); return 0; }' \
			>"$tmp/fp.c"
		$cc -c -o "$tmp/fp.o" "$tmp/fp.c" &&
			expect "mov \$334 and 0f 05 inside other instructions" "no_rseq 0 0 0 0 0" "$tmp/fp.o"
	fi

	# tcmalloc's names: its TLS slab pointer (C), its slab functions
	# (C++, mangled); each a marker, so legacy.
	echo '__thread void *tcmalloc_slabs; int f(void); int f(void) { return 0; }' \
		>"$tmp/slabs.c"
	if $cc -c -o "$tmp/slabs.o" "$tmp/slabs.c" 2>"$tmp/cc.log"; then
		expect "tcmalloc_slabs (C)" "legacy_self_registering 0 0 0 0 1" "$tmp/slabs.o"
	else
		fail "cannot compile $tmp/slabs.c: $(head -1 "$tmp/cc.log")"
	fi
	cxx=${CXX:-c++}
	echo 'namespace tcmalloc { namespace subtle { int TcmallocSlab_Internal_Push(int x) { return x; } } }' \
		>"$tmp/slab.cc"
	if command -v "${cxx%% *}" >/dev/null 2>&1 &&
		$cxx -c -o "$tmp/slab.o" "$tmp/slab.cc" 2>"$tmp/cc.log"; then
		expect "TcmallocSlab_Internal (C++, mangled)" \
			"legacy_self_registering 0 0 0 0 1" "$tmp/slab.o"
	else
		skip "no C++ compiler ($cxx)"
	fi

	# The legacy control, dynamic and static, built here.
	lsrc="$src/tests/test-legacy.c $src/tests/percpu-legacy.c $src/tests/percpu-cache.c"
	lflags="-std=gnu11 -O2 -DHAVE_CONFIG_H -I$build -I$src/include -I$src/compat -I$src/tests"
	if $cc $lflags -o "$tmp/legacy-dyn" $lsrc "$lib_so" -lpthread \
		>"$tmp/cc.log" 2>&1; then
		expect "legacy control, dynamic" "legacy_self_registering $(ndesc "$tmp/legacy-dyn") $(ndesc "$tmp/legacy-dyn") 0 0 1" \
			"$tmp/legacy-dyn"
		# And as an installed, stripped program: .dynsym only.
		strip -o "$tmp/legacy-dyn-stripped" "$tmp/legacy-dyn" 2>/dev/null &&
			expect "legacy control, dynamic, stripped" \
				"legacy_self_registering $(ndesc "$tmp/legacy-dyn-stripped") $(ndesc "$tmp/legacy-dyn-stripped") 0 0 1" "$tmp/legacy-dyn-stripped"
	else
		cat "$tmp/cc.log"
		fail "the legacy control does not build"
	fi
	if [ -f "$lib_a" ] && $cc -static $lflags -o "$tmp/legacy-static" $lsrc \
		"$lib_a" -lpthread >"$tmp/cc.log" 2>&1; then
		expect "legacy control, static (glibc and libvrseq inside)" \
			"legacy_self_registering $(ndesc "$tmp/legacy-static") $(ndesc "$tmp/legacy-static") 0 0 1" "$tmp/legacy-static"
		# The static vrseq user beside it: glibc's and libvrseq's
		# sites are theirs, so not legacy.
		slot_srcs="tests/test-slot.c tests/harness.c tests/harness-vrseq.c"
		if $cc -static $lflags -o "$tmp/slot-static" \
			$(for s in $slot_srcs; do echo "$src/$s"; done) \
			"$lib_a" $(pkg-config --static --libs cunit 2>/dev/null || echo -lcunit) \
			-lpthread >"$tmp/cc.log" 2>&1; then
			expect "test-slot, static" "vrseq $(ndesc "$tmp/slot-static") $(ndesc "$tmp/slot-static") 0 0 0" "$tmp/slot-static"
			strip -o "$tmp/slot-static-stripped" "$tmp/slot-static" &&
				expect "test-slot, static, stripped (libvrseq and glibc by their strings)" \
					"vrseq $(ndesc "$tmp/slot-static-stripped") $(ndesc "$tmp/slot-static-stripped") 0 0 0" "$tmp/slot-static-stripped"
		else
			skip "no static test-slot (static CUnit?)"
		fi
	else
		skip "no static legacy control ($lib_a, static glibc)"
	fi
	# A static program whose own function makes the rseq system call
	# inline: glibc's sites beside it are glibc's, its own is not.
	if [ "$(uname -m)" = x86_64 ]; then
		cat >"$tmp/inline.c" <<'EOF'
static __thread char area[32] __attribute__((aligned(32)));
long my_register(void *a);
long my_register(void *a)
{
	long r;

	__asm__ volatile("movl $334, %%eax\n\tsyscall" : "=a"(r)
			 : "D"(a), "S"(32L), "d"(0L) : "rcx", "r11", "memory");
	return r;
}
int main(void) { return my_register(area) == 0; }
EOF
		if $cc -static -O2 -o "$tmp/inline-static" "$tmp/inline.c" 2>"$tmp/cc.log"; then
			expect "static program, inline rseq() of its own" \
				"legacy_self_registering 0 0 0 0 1" "$tmp/inline-static"
			if "$tool" "$tmp/inline-static" | grep -q 'rseq system call at .* in my_register: its own'; then
				pass "the inline site is attributed to my_register, not glibc"
			else
				fail "the inline site of my_register is not reported as its own"
			fi
		else
			skip "no static glibc: $(head -1 "$tmp/cc.log")"
		fi
	fi
	if [ -f "$lib_a" ]; then
		"$tool" --json "$lib_a" >"$tmp/a.json"
		a_rc=$?
		if python3 "$validate" "$schema" "$tmp/a.json" $a_rc >/dev/null &&
			python3 - "$tmp/a.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
o = d["objects"]
ok = (len(o) > 5 and all(x["member"] for x in o) and d["exit_status"] == 0 and
      any(x["verdict"] == "vrseq" for x in o) and
      not any(x["verdict"] in ("legacy_self_registering", "bad_descriptors",
                                "damaged") for x in o))
sys.exit(0 if ok else 1)
EOF
		then
			pass "libvrseq.a: each member an object, none legacy, bad or damaged"
		else
			fail "libvrseq.a: $(head -c 400 "$tmp/a.json")"
		fi
	fi
else
	skip "$(uname -m): the project's programs (no critical sections here)"
fi

# ---------------------------------------------------------------- cross objects
clang=${CLANG:-clang}
objs=
if command -v "$clang" >/dev/null 2>&1; then
	for t in x86_64-linux-gnu i386-linux-gnu aarch64-linux-gnu \
		aarch64_be-linux-gnu riscv64-linux-gnu powerpc64-linux-gnu; do
		base="-Os -ffreestanding -fno-asynchronous-unwind-tables -c $src/fuzz/seed.c"
		if "$clang" --target=$t -DGOOD $base -o "$tmp/good-$t.o" 2>"$tmp/cc.log" &&
			"$clang" --target=$t $base -o "$tmp/bad-$t.o" 2>>"$tmp/cc.log" &&
			"$clang" --target=$t -DGOOD -DNOARRAY $base \
				-o "$tmp/noarray-$t.o" 2>>"$tmp/cc.log"; then
			expect "clang $t, right" "critical_sections_only 1 1 0 0 0" "$tmp/good-$t.o"
			# TLS __rseq_abi: legacy, but the wrong descriptor wins.
			expect "clang $t, broken" "bad_descriptors 2 1 1 0 2" "$tmp/bad-$t.o"
			expect "clang $t, no array, -a" "bad_descriptors 1 1 0 0 2" \
				-a "$tmp/noarray-$t.o"
			# Right descriptors beside self-registration: legacy.
			if "$clang" --target=$t -DGOOD -DLEGACY $base \
				-o "$tmp/legacy-$t.o" 2>"$tmp/cc.log"; then
				expect "clang $t, TLS __rseq_abi" \
					"legacy_self_registering 1 1 0 0 1" "$tmp/legacy-$t.o"
				case $t in x86_64*|aarch64*)
					# the syscall(334/293) call and the inline one
					"$tool" "$tmp/legacy-$t.o" >"$tmp/l.txt"
					nc=$(grep -c 'rseq syscall() call at' "$tmp/l.txt")
					ni=$(grep -c 'rseq system call at' "$tmp/l.txt")
					want_i=1
					if [ "$nc $ni" = "1 $want_i" ]; then
						pass "clang $t: $nc syscall() call site, $ni inline site found"
					else
						sed 's/^/    /' "$tmp/l.txt"
						fail "clang $t: $nc syscall() call sites, $ni inline, want 1 $want_i"
					fi ;;
				esac
			else
				fail "clang $t -DLEGACY: $(head -1 "$tmp/cc.log")"
			fi
			objs="$objs $tmp/good-$t.o"
		else
			skip "clang --target=$t cannot compile: $(head -1 "$tmp/cc.log")"
		fi
	done
else
	skip "no clang: no objects for other machines"
fi
for xcc in aarch64-linux-gnu-gcc riscv64-linux-gnu-gcc; do
	command -v $xcc >/dev/null 2>&1 || { skip "no $xcc"; continue; }
	if $xcc -O2 -DGOOD -c -o "$tmp/$xcc.o" "$src/fuzz/seed.c" 2>"$tmp/cc.log"; then
		expect "$xcc object" "critical_sections_only 1 1 0 0 0" "$tmp/$xcc.o"
	else
		fail "$xcc: $(head -1 "$tmp/cc.log")"
	fi
done
if [ -n "$objs" ]; then
	rm -f "$tmp/cross.a"
	if ${AR:-ar} rc "$tmp/cross.a" $objs "$tmp/bad-x86_64-linux-gnu.o" 2>/dev/null; then
		"$tool" --json "$tmp/cross.a" >"$tmp/ar.json"
		ar_rc=$?
		n=$(echo $objs | wc -w)
		got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(len(d["objects"]), sum(o["verdict"] == "critical_sections_only" for o in d["objects"]),
      sum(o["verdict"] == "bad_descriptors" for o in d["objects"]), d["exit_status"])' "$tmp/ar.json")
		if [ "$got" = "$((n + 1)) $n 1 2" ] && [ $ar_rc = 2 ]; then
			pass "an archive of $((n + 1)) objects of several machines: $got"
		else
			fail "archive: got '$got', exit $ar_rc, want '$((n + 1)) $n 1 2'"
		fi
	fi
fi

# ---------------------------------------------------------------- damaged corpus
n=0 bad=0
while IFS='	' read -r name verdict nd nval ninv nunval rc; do
	case $name in '#'*|'') continue ;; esac
	n=$((n + 1))
	if [ "$verdict" = - ]; then
		want="- 0 0 0 0 $rc"	# not ELF: no object
	else
		want="$verdict $nd $nval $ninv $nunval $rc"
	fi
	got=$(summary "$corpus/$name")
	if ! matches "$got" "$want"; then
		fail "scan-corpus/$name: got '$got', want '$want'"
		bad=$((bad + 1))
	fi
done <"$corpus/expected.tsv"
[ $bad = 0 ] && pass "scan-corpus: $n files, each verdict, descriptor counts (all, validated, invalid, not validated) and exit status as expected.tsv says"

# A directory: the corpus as a whole, plus a symbolic link loop, a link to
# a file and a FIFO, each counted and none followed into a loop.
mkdir -p "$tmp/dir/sub"
cp "$corpus"/*.elf "$tmp/dir/sub/"
cp "$corpus/not-elf.txt" "$tmp/dir/"
ln -s .. "$tmp/dir/sub/loop"
ln -s sub/ok.elf "$tmp/dir/link.elf"
mkfifo "$tmp/dir/fifo" 2>/dev/null || true
nelf=$(ls "$corpus"/*.elf | wc -l)
"$tool" --json -r "$tmp/dir" >"$tmp/dir.json"
dir_rc=$?
got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); s = d["summary"]
print(s["objects"], s["not_elf"], s["skipped"] >= 1, d["exit_status"])' "$tmp/dir.json")
if [ "$got" = "$((nelf + 1)) 1 True 3" ] && [ $dir_rc = 3 ] &&
	python3 "$validate" "$schema" "$tmp/dir.json" $dir_rc >/dev/null; then
	pass "a directory: $((nelf + 1)) objects (a link to a file followed), 1 not ELF, the loop and FIFO skipped, exit 3"
else
	fail "directory: got '$got' exit $dir_rc, want '$((nelf + 1)) 1 True 3'"
fi

# ---------------------------------------------------------------- options and exit statuses
status_of() { "$tool" "$@" >/dev/null 2>&1; echo $?; }
for c in "0 $corpus/ok.elf" "2 $corpus/wrong-signature.elf" \
	"3 $corpus/truncated-header.elf" "3 $tmp/does-not-exist" \
	"64" "64 --no-such-option $corpus/ok.elf" "0 --help" "0 --version"; do
	set -- $c
	want=$1
	shift
	got=$(status_of "$@")
	if [ "$got" = "$want" ]; then
		pass "exit $want: vrseq-scan $*"
	else
		fail "vrseq-scan $*: exit $got, not $want"
	fi
done
if [ -f "$tmp/legacy-dyn" ]; then
	got=$(status_of "$tmp/legacy-dyn" "$corpus/ok.elf")
	[ "$got" = 1 ] && pass "exit 1: a legacy program among clean ones" ||
		fail "legacy program: exit $got, not 1"
	got=$(status_of "$tmp/legacy-dyn" "$corpus/wrong-signature.elf")
	[ "$got" = 2 ] && pass "exit 2: the most severe finding wins over legacy" ||
		fail "legacy + bad descriptors: exit $got, not 2"
fi
# -q: clean objects are not listed, the others are.
out=$("$tool" -q "$corpus/ok.elf" "$corpus/wrong-signature.elf")
if echo "$out" | grep -q '^[^ ].*ok.elf:' ||
	! echo "$out" | grep -q 'wrong-signature.elf: bad_descriptors'; then
	echo "$out"
	fail "-q lists clean objects or hides a bad one"
else
	pass "-q lists only what is not clean"
fi
# -a: the right object with its array passes, so the failure above is the
# array's absence.
[ -f "$tmp/good-x86_64-linux-gnu.o" ] && expect "-a with the array" \
	"critical_sections_only 1 1 0 0 0" -a "$tmp/good-x86_64-linux-gnu.o"

# JSON: the validator can fail.
"$tool" --json "$corpus/ok.elf" >"$tmp/ok.json"
sed -e 's/"verdict":"shares_glibc"/"verdict":"clean"/' -e 's/"machine"/"the machine"/' \
	"$tmp/ok.json" >"$tmp/bad.json"
if python3 "$validate" "$schema" "$tmp/bad.json" 0 >/dev/null; then
	fail "the validator accepted a broken document"
elif ! python3 "$validate" "$schema" "$tmp/ok.json" 0 >/dev/null; then
	fail "ok.elf: invalid JSON"
else
	pass "--json is valid against the schema, and the validator rejects an unknown verdict and a key with a space"
fi

v=$("$tool" --version)
lib=$(sed -n '1s/^\* Version \([0-9.]*\) .*/\1/p' "$src/NEWS")
case $v in
*"libvrseq $lib"*) pass "--version: $v" ;;
*) fail "--version says '$v', not libvrseq $lib" ;;
esac
# Options are the words after '[', '|' or a blank that start with a dash
# (not the dash inside "vrseq-scan" or "self-registration").
for opt in $("$tool" --help | grep -v '^exit:' |
	grep -oE -- '(^|[[| ])--?[a-zA-Z][-a-zA-Z]*' | sed 's/^[[| ]//' | sort -u); do
	grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" "$man" ||
		fail "$opt is not in vrseq-scan(1)"
done
for code in $("$tool" --help | sed -n 's/^exit: //p' | grep -o '\<[0-9][0-9]*\>'); do
	grep -A1 '^\.TP' "$man" | grep -q "^\.B $code\$" ||
		fail "exit status $code is not in vrseq-scan(1)"
done
pass "every option and exit status of --help is in vrseq-scan(1)"

# ---------------------------------------------------------------- fuzz corpus replay
# The command itself over the fuzzing corpus (inputs that once crashed or
# hung it among them): no crash, an exit status of 0 to 3.
"$tool" "$src/fuzz/corpus" >"$tmp/fc.log" 2>&1
fc_rc=$?
if [ $fc_rc -le 3 ]; then
	pass "vrseq-scan fuzz/corpus: exit $fc_rc, $(tail -1 "$tmp/fc.log")"
else
	tail -5 "$tmp/fc.log"
	fail "vrseq-scan fuzz/corpus: exit $fc_rc"
fi
if [ -x "$replay" ]; then
	if "$replay" "$src"/fuzz/corpus/* "$corpus"/* >"$tmp/replay.log" 2>&1; then
		pass "replay: $(grep -c '^replayed' "$tmp/replay.log") inputs of fuzz/corpus and tests/scan-corpus through the fuzzer's entry"
	else
		tail -20 "$tmp/replay.log"
		fail "replay of the fuzz corpus"
	fi
else
	fail "no $replay"
fi

echo "scan: $passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
