#!/bin/sh
# SPDX-License-Identifier: MIT
# vrseq-run: --auto on this kernel (where the probe finds legacy
# self-registration safe, nothing may change), --deny's GLIBC_TUNABLES
# edits, the seccomp filter against a program without libc
# (tests/run-nolibc.c, built here: -nostdlib -static), --allow, the exit
# statuses and the one stderr line, the legacy control (tests/test-legacy)
# running clean without per-CPU caching, and -n --json against
# doc/vrseq-run.schema.json. 77 without rseq; 99 on a set-up error.
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
run=$build/tools/vrseq-run
probe=$build/tests/run-probe
legacy=$build/tests/test-legacy
schema=$src/doc/vrseq-run.schema.json
validate=$src/tests/json-validate.py
status=0
fail() { echo "FAIL: $*"; status=1; }
ok() { echo "ok: $*"; }
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds
check() {
	c_what=$1
	shift
	if "$@"; then ok "$c_what"; else fail "$c_what"; fi
}

for f in "$run" "$probe" "$legacy"; do
	[ -x "$f" ] || { echo "no $f"; exit 99; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vrseq-run.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# expect NAME WANT GOT
expect() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1: expected [$2], got [$3]"
	fi
}

# The witness without vrseq-run: what "unchanged" looks like.
GLIBC_TUNABLES=glibc.pthread.rseq=0 "$probe" >"$tmp/plain" 2>&1 ||
	{ cat "$tmp/plain"; exit 99; }
if grep -q '^rseq: ENOSYS' "$tmp/plain"; then
	echo "no rseq here: skipped"
	exit 77
fi
grep -q '^rseq: 0$' "$tmp/plain" ||
	{ echo "run-probe cannot register with glibc's registration off:"; cat "$tmp/plain"; exit 99; }

# ---- --auto: safe here -> untouched; unsafe -> the tunable goes.
"$run" -n --json -- "$probe" >"$tmp/auto.json" 2>"$tmp/auto.err"
expect "-n --json exit" 0 $?
if python3 "$validate" "$schema" "$tmp/auto.json"; then
	ok "-n --json --auto valid against the schema"
else
	fail "-n --json --auto invalid"; cat "$tmp/auto.json"
fi
expect "-n --json prints nothing on stderr" "" "$(cat "$tmp/auto.err")"
unsafe=$(sed -n 's/.*"unsafe":\([a-z]*\).*/\1/p' "$tmp/auto.json")
release=$(uname -r)
GLIBC_TUNABLES=glibc.pthread.rseq=0 "$run" --auto -- "$probe" >"$tmp/auto" 2>"$tmp/auto.err"
expect "--auto: the program's exit status" 0 $?
if [ "$unsafe" = false ]; then
	echo "kernel $release: legacy self-registration safe (probe)"
	expect "--auto changes nothing on a safe kernel" "$(cat "$tmp/plain")" "$(cat "$tmp/auto")"
	expect "--auto prints nothing on a safe kernel" "" "$(cat "$tmp/auto.err")"
	"$run" -- "$probe" >"$tmp/auto2" 2>&1
	expect "--auto, GLIBC_TUNABLES unset: still unset" "GLIBC_TUNABLES unset" "$(head -n 1 "$tmp/auto2")"
	"$run" -v -- true 2>"$tmp/v.err"
	expect "-v: the last line" "vrseq-run: legacy rseq self-registration is safe on $release: nothing changed" "$(tail -n 1 "$tmp/v.err")"
else
	echo "kernel $release: legacy self-registration UNSAFE (probe): --auto must act"
	expect "--auto drops the tunable on an unsafe kernel" "GLIBC_TUNABLES unset" "$(head -n 1 "$tmp/auto")"
	check "--auto: the one line [$(cat "$tmp/auto.err")]" grep -q \
		"^vrseq-run: legacy rseq self-registration is unsafe on $release (.*): dropped glibc.pthread.rseq=0 from GLIBC_TUNABLES$" "$tmp/auto.err"
fi

# ---- --deny: GLIBC_TUNABLES results, exactly.
# tunables IN OUT: OUT "-" means unset
tunables() {
	if [ "$1" = - ]; then
		"$run" --deny -q -- "$probe" >"$tmp/deny" 2>&1
	else
		GLIBC_TUNABLES=$1 "$run" --deny -q -- "$probe" >"$tmp/deny" 2>&1
	fi
	if [ "$2" = - ]; then want="GLIBC_TUNABLES unset"; else want="GLIBC_TUNABLES=$2"; fi
	expect "--deny: GLIBC_TUNABLES [$1]" "$want" "$(head -n 1 "$tmp/deny")"
}
tunables glibc.pthread.rseq=0 -
tunables glibc.pthread.rseq=0:glibc.pthread.rseq=0 -
tunables glibc.malloc.check=3:glibc.pthread.rseq=0:glibc.malloc.tcache_count=0 \
	glibc.malloc.check=3:glibc.malloc.tcache_count=0
tunables glibc.pthread.rseq=0:glibc.malloc.check=3:glibc.pthread.rseq=0 glibc.malloc.check=3
tunables glibc.pthread.rseq=1 glibc.pthread.rseq=1
tunables glibc.malloc.check=3 glibc.malloc.check=3
tunables xglibc.pthread.rseq=0:glibc.pthread.rseq=00 xglibc.pthread.rseq=0:glibc.pthread.rseq=00
tunables - -
GLIBC_TUNABLES=glibc.pthread.rseq=0 "$run" --deny -- "$probe" >"$tmp/deny" 2>"$tmp/deny.err"
expect "--deny: glibc registers, the legacy rseq() fails" "rseq: EINVAL" \
	"$(grep '^rseq:' "$tmp/deny" | sed 's/EBUSY/EINVAL/')"
expect "--deny: no seccomp filter for a glibc program" "$(grep '^Seccomp:' "$tmp/plain")" "$(grep '^Seccomp:' "$tmp/deny")"
expect "--deny: the one line" "vrseq-run: legacy rseq self-registration denied (--deny): dropped glibc.pthread.rseq=0 from GLIBC_TUNABLES" "$(cat "$tmp/deny.err")"
GLIBC_TUNABLES=glibc.pthread.rseq=0 "$run" --deny -q -- "$probe" >/dev/null 2>"$tmp/q.err"
expect "--deny -q: silent" "" "$(cat "$tmp/q.err")"
"$run" --deny -- true 2>"$tmp/nothing.err"
expect "--deny, nothing to drop" "vrseq-run: legacy rseq self-registration denied (--deny): nothing to change (the program's libc registers rseq first)" "$(cat "$tmp/nothing.err")"
GLIBC_TUNABLES=a=1:glibc.pthread.rseq=0 "$run" --deny -n --json -- "$probe" >"$tmp/deny.json"
if python3 "$validate" "$schema" "$tmp/deny.json"; then
	ok "-n --json --deny valid"
else
	fail "-n --json --deny invalid"; cat "$tmp/deny.json"
fi
check "-n --json --deny: decision $(cat "$tmp/deny.json")" grep -q \
	'"mode":"deny",.*"probe":null,.*"libc_registers":true,.*"actions":\["drop_tunable"\],"glibc_tunables":"a=1"}$' "$tmp/deny.json"

# ---- --allow: nothing changes.
GLIBC_TUNABLES=glibc.pthread.rseq=0 "$run" --allow -- "$probe" >"$tmp/allow" 2>"$tmp/allow.err"
expect "--allow changes nothing" "$(cat "$tmp/plain")" "$(cat "$tmp/allow")"
[ "$unsafe" = false ] && expect "--allow on a safe kernel: silent" "" "$(cat "$tmp/allow.err")"

# ---- the seccomp path: a program without libc.
nolibc=$tmp/run-nolibc
if ${CC:-cc} -nostdlib -static -fno-stack-protector -fno-pie -no-pie -O2 \
		-o "$nolibc" "$src/tests/run-nolibc.c" 2>"$tmp/cc.err"; then
	"$nolibc" >"$tmp/nl.plain"
	expect "run-nolibc alone" "register 0
unregister 0" "$(cat "$tmp/nl.plain")"
	"$run" --deny -- "$nolibc" >"$tmp/nl.deny" 2>"$tmp/nl.err"
	expect "--deny: rseq(flags 0) gets -ENOSYS, unregister is not filtered (EINVAL: nothing registered)" "register -38
unregister -22" "$(cat "$tmp/nl.deny")"
	expect "--deny: the filter line" "vrseq-run: legacy rseq self-registration denied (--deny): rseq registration filtered (ENOSYS)" "$(cat "$tmp/nl.err")"
	"$run" --allow -- "$nolibc" >"$tmp/nl.allow" 2>&1
	expect "--allow: not filtered" "$(cat "$tmp/nl.plain")" "$(cat "$tmp/nl.allow")"
	"$run" -q -- "$nolibc" >"$tmp/nl.auto" 2>&1
	if [ "$unsafe" = false ]; then
		expect "--auto, safe kernel: not filtered" "$(cat "$tmp/nl.plain")" "$(cat "$tmp/nl.auto")"
	fi
	"$run" --deny -n --json -- "$nolibc" >"$tmp/nl.json"
	check "-n --json (static, no libc) valid" \
		python3 "$validate" "$schema" "$tmp/nl.json"
	check "-n --json: static without glibc -> filter $(cat "$tmp/nl.json")" grep -q \
		'"libc_registers":false,.*"interpreter":null,"actions":\["seccomp_enosys"\]' "$tmp/nl.json"
	printf '#!%s\n' "$nolibc" >"$tmp/script"
	chmod +x "$tmp/script"
	"$run" --deny -n --json -- "$tmp/script" >"$tmp/sc.json"
	check "a #! script is judged by its interpreter" \
		grep -q '"actions":\["seccomp_enosys"\]' "$tmp/sc.json"
else
	echo "cannot build a -nostdlib -static program here: seccomp part skipped"
	cat "$tmp/cc.err"
fi

# ---- unknown libc (a script without #!, which execvp() hands to /bin/sh):
# the filter goes in, and is inherited by what the script runs.
printf 'GLIBC_TUNABLES=glibc.pthread.rseq=0 exec "%s"\n' "$probe" >"$tmp/bare"
chmod +x "$tmp/bare"
"$run" --deny -q -- "$tmp/bare" >"$tmp/bare.out" 2>&1
expect "unknown libc: filtered, inherited across exec" "GLIBC_TUNABLES=glibc.pthread.rseq=0
Seccomp:	2
rseq: ENOSYS" "$(cat "$tmp/bare.out")"

# ---- an unsafe kernel, simulated: under the filter of an outer vrseq-run
# (a script without #!, so "libc unknown": filtered) the inner vrseq-run's
# probe finds no rseq, which counts as unsafe.
printf 'exec "$@"\n' >"$tmp/wrap"
chmod +x "$tmp/wrap"
# inner MODE: the inner vrseq-run's output (stdout, then stderr) on run-probe
inner() {
	"$run" --deny -q -- "$tmp/wrap" env GLIBC_TUNABLES=glibc.pthread.rseq=0 \
		"$run" "$@" -- "$probe" >"$tmp/in.out" 2>"$tmp/in.err"
}
inner --auto
expect "unsafe: --auto drops the tunable" "GLIBC_TUNABLES unset" "$(head -n 1 "$tmp/in.out")"
expect "unsafe: --auto, the one line" "vrseq-run: legacy rseq self-registration is unsafe on $release (no rseq system call): dropped glibc.pthread.rseq=0 from GLIBC_TUNABLES" "$(cat "$tmp/in.err")"
inner --auto -q
expect "unsafe: --auto -q: silent" "" "$(cat "$tmp/in.err")"
inner --allow
expect "unsafe: --allow keeps the tunable" "GLIBC_TUNABLES=glibc.pthread.rseq=0" "$(head -n 1 "$tmp/in.out")"
expect "unsafe: --allow, the line" "vrseq-run: legacy rseq self-registration is unsafe on $release (no rseq system call): allowed on an unsafe kernel (--allow): nothing changed" "$(cat "$tmp/in.err")"
inner -n --json
if python3 "$validate" "$schema" "$tmp/in.out"; then
	ok "-n --json, unsafe: valid"
else
	fail "-n --json, unsafe: invalid"; cat "$tmp/in.out"
fi
check "-n --json, unsafe: decision $(cat "$tmp/in.out")" grep -q \
	'"mode":"auto",.*"probe":{"rseq":false,.*"unsafe":true,"reason":"no rseq system call",.*"actions":\["drop_tunable"\],"glibc_tunables":null}$' "$tmp/in.out"

# ---- exit statuses and usage.
"$run" -q -- "$tmp/no-such-program" 2>"$tmp/e.err"
expect "not found: 127" 127 $?
expect "not found: message" "vrseq-run: $tmp/no-such-program: No such file or directory" "$(cat "$tmp/e.err")"
"$run" -q -- no-such-program-in-path-vrseq 2>/dev/null
expect "not found in PATH: 127" 127 $?
printf 'data\n' >"$tmp/noexec"
chmod 644 "$tmp/noexec"
"$run" -q -- "$tmp/noexec" 2>"$tmp/e.err"
expect "not executable: 126" 126 $?
expect "not executable: message" "vrseq-run: $tmp/noexec: Permission denied" "$(cat "$tmp/e.err")"
"$run" >/dev/null 2>&1
expect "no program: 64" 64 $?
"$run" --bogus -- true >/dev/null 2>&1
expect "unknown option: 64" 64 $?
"$run" --json -- true >/dev/null 2>&1
expect "--json without -n: 64" 64 $?
"$run" -q -- sh -c 'exit 42'
expect "the program's exit status" 42 $?
"$run" -q -- env -i sh -c 'exit 3' -- x
expect "options after PROGRAM are the program's" 3 $?
"$run" -n -q -- "$tmp/no-such-program"
expect "-n does not run (exit 0)" 0 $?

# ---- the legacy control, under vrseq-run --deny: clean, caching off.
GLIBC_TUNABLES=glibc.pthread.rseq=0 VRSEQ_TEST_SECONDS=1 \
	"$run" --deny -q -- "$legacy" >"$tmp/legacy" 2>&1
rc=$?
expect "test-legacy under --deny: exit" 0 $rc
line=$(grep -E '^test-legacy: per-CPU caching off: rseq registration failed \((EINVAL|EBUSY)\)$' "$tmp/legacy")
if [ -n "$line" ]; then ok "test-legacy: $line"; else fail "test-legacy: no caching-off line"; fi
check "test-legacy: PASS" grep -q '^test-legacy: PASS' "$tmp/legacy"
[ $rc = 0 ] || cat "$tmp/legacy"

exit $status
