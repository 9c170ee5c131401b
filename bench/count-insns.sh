#!/bin/sh
# SPDX-License-Identifier: MIT
# Count the hit-path instructions of the lean pop and push of each variant
# (bench/lean-ops.h) in a built binary, the way tests/test-fastpath.sh counts
# the slot read: objdump -d, from the function's entry to its ret, miss
# branches not taken (every conditional branch on these paths leaves to the
# miss label: the asm is written so), unconditional jumps followed. CET
# landing pads and nops are shown but not counted. Prints each path, then a
# table of instructions, loads and stores per function.
#   count-insns.sh BINARY [OBJDUMP]
set -u
bin=$1
objdump=${2:-objdump}
[ -n "$objdump" ] || objdump=objdump

case $(uname -m) in x86_64) ;; *) echo "count-insns: not x86_64: skipped"; exit 0 ;; esac
# A libtool wrapper script: the real binary is in .libs.
d=$(dirname "$bin"); b=$(basename "$bin")
[ -f "$d/.libs/$b" ] && bin=$d/.libs/$b
dis=$("$objdump" -d --no-show-raw-insn "$bin") || {
	echo "count-insns: $objdump -d $bin failed"; exit 1; }

# path FN: "C|I<tab>LOADS<tab>STORES<tab>insn" per instruction on the hit path.
path() {
	echo "$dis" | awk -v fn="<$1>:" '
	BEGIN { n = 0 }
	$2 == fn { on = 1; next }
	!on { next }
	/^$/ { on = 0; next }
	/^ *[0-9a-f]+:/ {
		a = $1; sub(/:$/, "", a)
		i = $0; sub(/^ *[0-9a-f]+:[ \t]*/, "", i); sub(/[ \t]*#.*$/, "", i)
		addr[n] = a; ins[n] = i; idx[a] = n; n++
	}
	function mem(s) { return s ~ /\(/ || s ~ /%[a-z]s:/ }
	END {
		if (!n) { print "E\tno function " fn; exit }
		i = 0
		for (steps = 0; steps < 100 && i < n; steps++) {
			s = ins[i]
			op = s; sub(/[ \t].*$/, "", op)
			args = s; sub(/^[^ \t]+[ \t]*/, "", args)
			if (op ~ /^(endbr64|endbr32|nop|xchg)/ || s ~ /^(cs |data16 )/) {
				print "I\t0\t0\t" s; i++; continue
			}
			# operands: split at the last comma outside parentheses
			depth = 0; cut = 0
			for (k = 1; k <= length(args); k++) {
				c = substr(args, k, 1)
				if (c == "(") depth++
				else if (c == ")") depth--
				else if (c == "," && !depth) cut = k
			}
			src = cut ? substr(args, 1, cut - 1) : ""
			dst = cut ? substr(args, cut + 1) : args
			ld = 0; st = 0
			if (op !~ /^lea/ && op !~ /^j/ && op !~ /^call/) {
				if (mem(src)) ld = 1
				if (mem(dst)) {
					if (op ~ /^mov/) st = 1
					else if (op ~ /^(cmp|test|bt)$|^(cmp|test|bt)[bwlq]$/) ld = 1
					else { ld = 1; st = 1 }
				}
			}
			print "C\t" ld "\t" st "\t" s
			if (op ~ /^(rep |repz )?ret/ || op ~ /^ret/) exit
			if (op ~ /^jmp/) {
				t = args; sub(/[ \t].*$/, "", t)
				if (!(t in idx)) { print "E\tjump out of the function"; exit }
				i = idx[t]; continue
			}
			i++
		}
		print "E\tno ret on the path"
	}'
}

status=0
rows=""
for spec in "legacy twin pop:pc_legacy_lean_pop" "vrseq register pop:bench_vrseq_lean_pop" \
	    "vrseq operand pop:bench_vrseq_m_pop" \
	    "legacy twin push:pc_legacy_lean_push" "vrseq register push:bench_vrseq_lean_push" \
	    "vrseq operand push:bench_vrseq_m_push"; do
	name=${spec%%:*}; fn=${spec#*:}
	p=$(path "$fn")
	if echo "$p" | grep -q '^E'; then
		echo "count-insns: $fn: $(echo "$p" | sed -n 's/^E\t//p')"
		status=1
		continue
	fi
	echo "$name ($fn), hit path:"
	echo "$p" | awk -F '\t' '{
		note = ($2 ? "  load" : "") ($3 ? "  store" : "")
		if ($1 == "I") printf "      (%s: not counted)\n", $4
		else printf "    %-44s%s\n", $4, note }'
	n=$(echo "$p" | grep -c '^C')
	l=$(echo "$p" | awk -F '\t' '$1 == "C" { s += $2 } END { print s + 0 }')
	s=$(echo "$p" | awk -F '\t' '$1 == "C" { s += $3 } END { print s + 0 }')
	rows="$rows$(printf '  %-20s %-22s %3d insns  %d loads  %d stores' "$name" "$fn" "$n" "$l" "$s")
"
done
echo "hit-path instructions with ret (objdump -d $bin):"
printf '%s' "$rows"
exit $status
