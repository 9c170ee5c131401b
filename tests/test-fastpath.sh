#!/bin/sh
# SPDX-License-Identifier: MIT
# The x86_64 slot-read fast path must not grow: count the instructions of the
# valid path of a compiled vrseq_slot_load() (up to the first ret) and compare
# with VRSEQ_X86_64_SLOT_LOAD_INSNS, which the header documents. Also checks
# that no instruction on it is a lock-prefixed read-modify-write, a syscall or
# a call.
#
# What a compiler adds to every function for reasons of its own is shown but
# not counted, so that the count stays the one the header documents:
#  - CET landing pads (endbr64/endbr32, -fcf-protection, Ubuntu's default);
#  - a profiling hook: a call to mcount/_mcount/__fentry__ (-pg, -mfentry),
#    or the nops left at the entry to be patched into one (-mnop-mcount,
#    -mrecord-mcount, -fpatchable-function-entry). With a hook, the frame set
#    up before it (push, register-to-register mov, sub $n,%rsp) and torn down
#    after it (pop, leave, add $n,%rsp) is the hook's too.
# Everything else on the path counts, and any other call fails.
set -u
obj=${top_builddir:-.}/tests/fastpath.o
hdr=${top_srcdir:-.}/include/vrseq/arch/x86_64.h
objdump=${OBJDUMP:-objdump}
[ -n "$objdump" ] || objdump=objdump

case $(uname -m) in x86_64) ;; *) echo "not x86_64: skipped"; exit 77 ;; esac
if [ ! -f "$obj" ]; then
	echo "FAIL: no $obj"
	exit 1
fi
budget=$(sed -n 's/^#define VRSEQ_X86_64_SLOT_LOAD_INSNS[ \t]*\([0-9]*\).*/\1/p' "$hdr")
if ! "$objdump" -dr --no-show-raw-insn "$obj" >/dev/null; then
	echo "FAIL: $objdump -dr $obj"
	exit 1
fi

# path FN: the instructions of FN, in order, up to and including the first
# ret, one per line, each followed by a tab and the symbol of its relocation
# (if any), then classified:
#	C insn		counted
#	I why: insn	shown, not counted
#	F why: insn	forbidden on the fast path
path() {
	"$objdump" -dr --no-show-raw-insn "$obj" |
		awk -v fn="<$1>:" '
		function flush() { if (have) print insn "\t" sym; have = 0 }
		$2 == fn { on = 1; next }
		!on { next }
		/^$/ { exit }
		# a relocation: "   6: R_X86_64_PLT32	mcount-0x4"
		$1 ~ /^[0-9a-f]+:$/ && $2 ~ /^R_[A-Z0-9_]+$/ { sym = $3; next }
		NF > 1 {
			flush()
			insn = $0
			sub(/^[ \t]*[0-9a-f]+:[ \t]*/, "", insn)
			sub(/[ \t]*#.*$/, "", insn)
			sym = ""; have = 1
			if (insn ~ /^(rep |repz |bnd )?ret/) { flush(); exit }
		}
		END { flush() }' |
		awk -F '\t' '
		function is_hook_call(i) {
			return ins[i] ~ /^call/ &&
				(sym[i] ~ /^(mcount|_mcount|__fentry__)([+-]|$)/ ||
				 ins[i] ~ /<(mcount|_mcount|__fentry__)(@plt)?>/)
		}
		function is_nop(s) {
			return s ~ /^(nop|xchg +%ax,%ax$|data16 |cs nop)/
		}
		function is_cet(s) { return s ~ /^endbr(64|32)$/ }
		function is_frame_in(s) {
			return s ~ /^push/ || s ~ /^mov +%[a-z0-9]+,%[a-z0-9]+$/ ||
				s ~ /^sub +\$(0x)?[0-9a-f]+,%rsp$/
		}
		function is_frame_out(s) {
			return s ~ /^(pop|leave)/ || s ~ /^add +\$(0x)?[0-9a-f]+,%rsp$/
		}
		BEGIN { n = 0 }
		{ ins[n] = $1; sym[n] = $2; n++ }
		END {
			# The profiling hook: a call to the profiler, else the last
			# of the nops at the entry (after CET pad and frame set-up).
			hook = -1
			for (i = 0; i < n; i++)
				if (is_hook_call(i)) { hook = i; break }
			for (i = 0; hook < 0 && i < n; i++) {
				if (is_cet(ins[i]) || is_frame_in(ins[i]))
					continue
				while (i < n && is_nop(ins[i]))
					hook = i++
				break
			}
			for (i = 0; i < n; i++) {
				s = ins[i]
				t = sym[i] != "" ? s " <" sym[i] ">" : s
				if (s ~ /^lock/ || s ~ /^(cmpxchg|xadd)/ ||
				    (s ~ /^xchg/ && s ~ /\(/))
					print "F atomic read-modify-write: " t
				else if (s ~ /^(syscall|sysenter|int[ 3])/)
					print "F system call: " t
				else if (s ~ /^call/ && !(i == hook && is_hook_call(i)))
					print "F call: " t
				else if (is_cet(s))
					print "I CET landing pad: " t
				else if (i == hook)
					print "I profiling hook: " t
				else if (hook >= 0 && i < hook && is_nop(s))
					print "I profiling hook: " t
				else if (hook >= 0 && i < hook && is_frame_in(s))
					print "I frame for the profiling hook: " t
				else if (hook >= 0 && i > hook && is_frame_out(s))
					print "I frame for the profiling hook: " t
				else
					print "C " t
			}
		}'
}
show() {	# show TITLE PATH
	echo "$1:"
	echo "$2" | sed -n -e 's/^C /    /p' -e 's/^I \(.*\): \(.*\)/    (\2: not counted, \1)/p' \
		-e 's/^F \(.*\): \(.*\)/    \2    <-- \1/p'
}
load=$(path fastpath_slot_load)
raw=$(path fastpath_raw_cpu_id_start)
show "vrseq_slot_load valid path" "$load"
show "raw cpu_id_start load" "$raw"
n=$(echo "$load" | grep -c '^C ')
r=$(echo "$raw" | grep -c '^C ')
status=0
if ! echo "$load" | grep -q '^C ret' || ! echo "$raw" | grep -q '^C ret'; then
	echo "FAIL: no ret found in fastpath_slot_load or fastpath_raw_cpu_id_start of $obj"
	status=1
fi
if [ -z "$budget" ] || [ "$n" -gt "$budget" ]; then
	echo "FAIL: $n instructions, the header documents ${budget:-nothing}"
	status=1
fi
if echo "$load" | grep -q '^F '; then
	echo "FAIL: an atomic RMW, syscall or call on the fast path"
	status=1
fi
ign=$(echo "$load" | grep -c '^I ')
echo "fastpath: $n instructions (budget $budget; $ign more not counted), raw cpu_id_start: $r, added: $((n - r))"
[ $status = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $status
