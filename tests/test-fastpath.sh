#!/bin/sh
# SPDX-License-Identifier: MIT
# The x86_64 slot-read fast path must not grow: count the instructions of the
# valid path of a compiled vrseq_slot_load() (up to the first ret) and compare
# with VRSEQ_X86_64_SLOT_LOAD_INSNS, which the header documents. Also checks
# that no instruction on it is a lock-prefixed read-modify-write, a syscall or
# a call.
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
# Instructions of one function, in order, up to and including the first ret.
path() {
	"$objdump" -d --no-show-raw-insn "$obj" |
		awk -v fn="<$1>:" '$2 == fn { on = 1; next }
			on && /^$/ { exit }
			on && NF > 1 { sub(/^[ \t]*[0-9a-f]+:[ \t]*/, ""); print; if ($0 ~ /^ret/) exit }'
}
load=$(path fastpath_slot_load)
raw=$(path fastpath_raw_cpu_id_start)
echo "vrseq_slot_load valid path:"; echo "$load" | sed 's/^/    /'
echo "raw cpu_id_start load:"; echo "$raw" | sed 's/^/    /'
n=$(echo "$load" | grep -c .)
r=$(echo "$raw" | grep -c .)
status=0
if [ -z "$budget" ] || [ "$n" -gt "$budget" ]; then
	echo "FAIL: $n instructions, the header documents ${budget:-nothing}"
	status=1
fi
if echo "$load" | grep -E -q '^(lock|xchg|cmpxchg|syscall|call)'; then
	echo "FAIL: an atomic RMW, syscall or call on the fast path"
	status=1
fi
echo "fastpath: $n instructions (budget $budget), raw cpu_id_start: $r, added: $((n - r))"
[ $status = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $status
