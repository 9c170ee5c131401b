#!/bin/sh
# SPDX-License-Identifier: MIT
# vrseq-check -p PID against live processes (tests/pid-target): glibc's
# registration, vrseq's own, a tcmalloc-style writer beside vrseq, thread
# churn and processes that exit while being inspected; as root and as an
# unprivileged user; JSON valid against doc/vrseq-check-pid.schema.json.
# 77 without PTRACE_GET_RSEQ_CONFIGURATION or rseq.
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
tool=$build/tools/vrseq-check
target=$build/tests/pid-target
schema=$src/doc/vrseq-check-pid.schema.json
validate=$src/tests/json-validate.py
status=0
fail() { echo "FAIL: $*"; status=1; }
ok() { echo "ok: $*"; }

[ -x "$tool" ] && [ -x "$target" ] || { echo "no $tool or $target"; exit 99; }
# The inspected programs run without LeakSanitizer (the sanitizer build):
# it cannot work in a process that exits while ptraced, and dies with a
# "fatal error" exit 1 instead -- which the churn case would count
# (vrseq-check itself is leak-checked by the other tests).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
command -v python3 >/dev/null 2>&1 || { echo "no python3: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vrseq-pid.XXXXXX") || exit 99
chmod 755 "$tmp"
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

# start NAME MODE SECONDS [ENV...]: run pid-target in the background until
# it says "ready"; its pid in $pid.
start() {
	s_name=$1 s_mode=$2 s_sec=$3
	shift 3
	env "$@" "$target" "$s_mode" "$s_sec" >"$tmp/$s_name.out" 2>"$tmp/$s_name.err" &
	pid=$!
	pids="$pids $pid"
	for _ in $(seq 100); do
		grep -q ready "$tmp/$s_name.out" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$tmp/$s_name.err"
	return 1
}

# inspect NAME PID [ARGS]: --json run, validated; exit status in $rc.
inspect() {
	i_name=$1 i_pid=$2
	shift 2
	"$tool" -p "$i_pid" --json "$@" >"$tmp/$i_name.json" 2>"$tmp/$i_name.stderr"
	rc=$?
	if ! python3 "$validate" "$schema" "$tmp/$i_name.json" "$rc"; then
		sed 's/^/    > /' "$tmp/$i_name.json" "$tmp/$i_name.stderr"
		fail "$i_name: output does not match the schema"
	fi
}

# field NAME EXPR: a Python expression over the document d.
field() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$tmp/$1.json" "$2"
}

# Can this kernel answer at all? (5.13+, and rseq.)
start probe glibc 5 || { echo "pid-target does not start"; exit 99; }
inspect probe "$pid" --no-probe
if [ $rc = 5 ] && grep -q "PTRACE_GET_RSEQ_CONFIGURATION" "$tmp/probe.stderr"; then
	echo "no PTRACE_GET_RSEQ_CONFIGURATION here: skipped"; exit 77
fi
kill "$pid"; wait "$pid" 2>/dev/null

# 1. glibc's registration: every thread owned by glibc, clean, exit 0.
if start glibc glibc 10; then
	inspect glibc "$pid"
	glibc_len=$(field glibc 'd["rseq_size"]')
	if [ "$glibc_len" = 0 ] || [ "$glibc_len" = None ]; then
		echo "glibc registers nothing here: the glibc case is skipped"
	else
		n=$(field glibc 'len(d["threads"])')
		owners=$(field glibc '",".join(sorted(set(t["owner"] for t in d["threads"])))')
		verdicts=$(field glibc '",".join(sorted(set(t["verdict"] for t in d["threads"])))')
		if [ $rc = 0 ] && [ "$n" = 4 ] && [ "$owners" = glibc ] &&
			[ "$verdicts" = clean ] &&
			[ "$(field glibc 'd["libvrseq"]')" = shared ]; then
			ok "glibc: 4 threads owned by glibc, clean, exit 0"
		else
			fail "glibc: rc $rc, $n threads, owners $owners, verdicts $verdicts"
		fi
		[ "$(field glibc 'd["threads"][0]["signature"]')" != "0x00000000" ] ||
			fail "glibc: no signature"
	fi
	kill "$pid"; wait "$pid" 2>/dev/null
else
	fail "pid-target glibc does not start"
fi

# 2. vrseq's own registration (glibc's off): owner vrseq, who won said.
if start own vrseq 10 GLIBC_TUNABLES=glibc.pthread.rseq=0; then
	inspect own "$pid"
	owners=$(field own '",".join(sorted(set(t["owner"] for t in d["threads"])))')
	won=$(field own 'd["threads"][1]["who_won"]')
	if [ $rc = 0 ] && [ "$owners" = vrseq ] && [ "$(field own 'd["rseq_size"]')" = 0 ] &&
		case $won in "vrseq registered first"*) true ;; *) false ;; esac; then
		ok "own: every thread owned by vrseq (its marker), rseq_size 0, exit 0"
	else
		fail "own: rc $rc, owners $owners, who_won '$won'"
	fi
	kill "$pid"; wait "$pid" 2>/dev/null
else
	fail "pid-target vrseq (own) does not start"
fi

# 3. The tcmalloc-style writer: a foreign 32-byte area with the cached bit.
# Killed where rseq debug mode is on: then there is nothing to inspect.
debug=$("$tool" --json | python3 -c 'import json,sys; p=json.load(sys.stdin)["probe"]; print(p and p["debug_mode"])')
if [ "$debug" = on ]; then
	echo "rseq debug mode is on: the legacy writer would be killed; skipped"
elif start legacy legacy 10 GLIBC_TUNABLES=glibc.pthread.rseq=0; then
	inspect legacy "$pid"
	legacy=$(field legacy 'sum(t["verdict"] == "legacy_writer" for t in d["threads"])')
	foreign=$(field legacy 'sum(t["owner"] == "foreign" and t["length"] == 32 for t in d["threads"] if t["registered"])')
	won=$(field legacy '[t["who_won"] for t in d["threads"] if t["owner"] == "foreign"][0]')
	meaning=$(field legacy '[t["meaning"] for t in d["threads"] if t["verdict"] == "legacy_writer"][0]')
	if [ $rc = 4 ] && [ "$legacy" = 3 ] && [ "$foreign" = 3 ] &&
		[ "$(field legacy 'd["verdict"]')" = written ] &&
		case $won in "another library registered first"*) true ;; *) false ;; esac &&
		[ -n "$meaning" ] && [ "$meaning" != None ]; then
		ok "legacy: 3 foreign 32-byte areas with the cached bit, exit 4 ($meaning)"
	else
		fail "legacy: rc $rc, $legacy legacy writers, $foreign foreign areas, who_won '$won'"
	fi
	"$tool" -p "$pid" --no-probe >"$tmp/legacy.txt"
	grep -q "LEGACY WRITER" "$tmp/legacy.txt" || fail "legacy: the text does not say LEGACY WRITER"
	kill "$pid"; wait "$pid" 2>/dev/null
else
	fail "pid-target legacy does not start"
fi

# 3b. The project's legacy control (tests/test-legacy: tcmalloc's protocol
# under stress), the real thing rather than pid-target's imitation.
legacy_bin=
for b in "$build/tests/.libs/test-legacy" "$build/tests/test-legacy" "$build/kernels/bin/test-legacy"; do
	[ -x "$b" ] && file_is_elf=$(head -c 4 "$b" | od -An -c | tr -d ' ') &&
		[ "$file_is_elf" = '177ELF' ] && { legacy_bin=$b; break; }
done
if [ "$debug" = on ] || [ -z "$legacy_bin" ]; then
	echo "no legacy control binary (or debug mode on): the test-legacy case is skipped"
else
	GLIBC_TUNABLES=glibc.pthread.rseq=0 VRSEQ_TEST_SECONDS=4 \
		LD_LIBRARY_PATH="$build/src/.libs" "$legacy_bin" >"$tmp/tl.out" 2>&1 &
	tl=$!
	pids="$pids $tl"
	sleep 1
	inspect tl "$tl" --no-probe
	n=$(field tl 'sum(t["verdict"] == "legacy_writer" for t in d["threads"])')
	if [ $rc = 4 ] && [ "$n" -ge 1 ]; then
		ok "test-legacy ($legacy_bin): $n legacy writers found, exit 4"
	else
		fail "test-legacy: rc $rc, $n legacy writers"
	fi
	wait "$tl"
	w=$?
	[ $w = 0 ] || fail "test-legacy exited $w after being inspected: $(tail -2 "$tmp/tl.out")"
fi

# 4. Processes that exit while being inspected: never a hang, a crash or a
# process left stopped; exit 0 (done in time) or 5 (it went away).
bad=0 done0=0 done5=0
for i in $(seq 20); do
	"$target" churn 0.$((i % 5 + 1)) >/dev/null &
	p=$!
	timeout 20 "$tool" -p "$p" --json --no-probe -s 1000 -i 1 >"$tmp/churn.json" 2>"$tmp/churn.err"
	c=$?
	case $c in
	0) done0=$((done0 + 1)) ;;
	5) done5=$((done5 + 1)) ;;
	esac
	case $c in
	0|5) python3 "$validate" "$schema" "$tmp/churn.json" "$c" >/dev/null || bad=$((bad + 1)) ;;
	*) bad=$((bad + 1)); echo "    churn $i: exit $c"; cat "$tmp/churn.err" ;;
	esac
	timeout 20 sh -c "wait $p" 2>/dev/null
	wait "$p"
	w=$?
	[ $w = 0 ] || { bad=$((bad + 1)); echo "    churn $i: the target exited $w"; }
done
# 1000 rounds at least a millisecond apart outlive every target (0.1 to
# 0.5 s): the inspection must see nearly all of them go.
[ $done5 -ge 15 ] || { bad=$((bad + 1)); echo "    only $done5 of 20 targets exited during their inspection"; }
[ $bad = 0 ] && ok "20 churning processes inspected while they exited: $done0 finished in time (exit 0), $done5 went away (exit 5), valid JSON, each target exited 0" ||
	fail "$bad problems with processes that exit during inspection"

# A process that is gone: exit 5 and a plain message.
sh -c 'exit 0' & gone=$!
wait $gone
"$tool" -p "$gone" --no-probe >/dev/null 2>"$tmp/gone.err"
c=$?
if [ $c = 5 ] && grep -q "no process $gone" "$tmp/gone.err"; then
	ok "a reaped process: exit 5, '$(cat "$tmp/gone.err")'"
else
	fail "a reaped process: exit $c, '$(cat "$tmp/gone.err")'"
fi

# 5. Unprivileged: someone else's process is refused plainly; one's own
# works (unless Yama forbids even that: then the same plain refusal).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1 &&
	[ -x "$build/tools/.libs/vrseq-check" ] && [ -x "$build/tests/.libs/pid-target" ] &&
	setpriv --reuid=nobody --regid=nogroup --clear-groups test -r "$tmp"; then
	as_nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	# The real binaries and the library, where nobody can reach them (the
	# build tree may be private, as in a package build).
	nb=$tmp/nobody
	mkdir -p "$nb" && chmod 755 "$nb" &&
		cp "$build/tools/.libs/vrseq-check" "$build/tests/.libs/pid-target" "$nb/" &&
		cp -P "$build"/src/.libs/libvrseq.so* "$nb/" || nb=
	libdir=$nb
	start rootproc glibc 10
	LD_LIBRARY_PATH=$libdir $as_nobody "$nb/vrseq-check" -p "$pid" --no-probe \
		>/dev/null 2>"$tmp/eperm.err"
	c=$?
	if [ $c = 5 ] && grep -q "cannot inspect process $pid: .*(ptrace needs the same user" "$tmp/eperm.err"; then
		ok "nobody inspecting root's process: exit 5, '$(cat "$tmp/eperm.err")'"
	else
		fail "nobody inspecting root's process: exit $c, '$(cat "$tmp/eperm.err")'"
	fi
	kill "$pid"; wait "$pid" 2>/dev/null
	LD_LIBRARY_PATH=$libdir $as_nobody "$nb/pid-target" glibc 10 \
		>"$tmp/mine.out" 2>&1 &
	p=$!
	pids="$pids $p"
	for _ in $(seq 100); do grep -q ready "$tmp/mine.out" && break; sleep 0.05; done
	scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo none)
	LD_LIBRARY_PATH=$libdir $as_nobody "$nb/vrseq-check" -p "$p" --no-probe --json \
		>"$tmp/mine.json" 2>"$tmp/mine.err"
	c=$?
	case $scope:$c in
	none:0|0:0) python3 "$validate" "$schema" "$tmp/mine.json" 0 &&
		ok "nobody inspecting its own process: exit 0 (ptrace_scope $scope)" ||
		fail "nobody's own process: bad JSON" ;;
	[123]:5) grep -q "cannot inspect" "$tmp/mine.err" &&
		ok "nobody's own process refused by Yama (ptrace_scope $scope), plainly" ||
		fail "nobody's own process: no plain refusal" ;;
	*) fail "nobody inspecting its own process: exit $c with ptrace_scope $scope: $(cat "$tmp/mine.err")" ;;
	esac
	kill "$p"; wait "$p" 2>/dev/null
else
	echo "not root (or no setpriv/nobody): the unprivileged cases are skipped"
fi

# 5b. A process someone else already traces: refused, naming the tracer.
if command -v gdb >/dev/null 2>&1 && start traced glibc 20; then
	gdb -q -batch -p "$pid" -ex 'shell sleep 3' >/dev/null 2>&1 &
	g=$!
	sleep 1.5
	"$tool" -p "$pid" --no-probe >/dev/null 2>"$tmp/traced.err"
	c=$?
	if [ $c = 5 ] && grep -q "already traced by process $g" "$tmp/traced.err"; then
		ok "a process gdb traces: exit 5, '$(cat "$tmp/traced.err")'"
	else
		fail "a process gdb traces: exit $c, '$(cat "$tmp/traced.err")'"
	fi
	wait "$g"
	kill "$pid"; wait "$pid" 2>/dev/null
fi

# 6. Usage: a PID that is not one; -p alone keeps its old meaning (--probe).
"$tool" -p abc >/dev/null 2>&1; c=$?
[ $c = 64 ] && ok "-p abc: exit 64" || fail "-p abc: exit $c"
"$tool" -p 1 -s 0 >/dev/null 2>&1; c=$?
[ $c = 64 ] && ok "-s 0: exit 64" || fail "-s 0: exit $c"
"$tool" -n -p >/dev/null 2>"$tmp/old.err"; c=$?
if grep -q "means --probe" "$tmp/old.err" && [ $c -le 3 ]; then
	ok "-p without a PID: --probe, with a warning (exit $c)"
else
	fail "-p without a PID: exit $c, '$(cat "$tmp/old.err")'"
fi
exit $status
