# SPDX-License-Identifier: MIT
#
# Reads the console log of one kernel-matrix boot (or of the host run) and
# prints one tab-separated record per event, for run-matrix:
#   boot    KERNEL  DEBUG_SWITCH(yes|no)
#   run     LIBC DEBUG REG TEST STATUS SECONDS DUP LOST STALE POISON CORRUPTION ABI METRICS NOCACHE
#   json    LIBC DEBUG JSON
#   nodebug DEBUG
#   dmesg   LINE
#   oops    LINE            (the first kernel oops, panic, BUG or WARNING lines)
#   end
# DUP..ABI are "-" when the program did not report them; METRICS is 1 when
# it printed a VRSEQ-METRICS line. ABI sums "abi checks: X, violations: Y"
# (CUnit programs) or the abi= field of VRSEQ-METRICS (the others).
# NOCACHE is the errno name of a legacy control that ran without per-CPU
# caching ("per-CPU caching off: rseq registration failed (EINVAL)": its
# own rseq() failed, as under vrseq-run on an unsafe kernel), else "-".
# LIBC is the libc build's label (run-tests' VRSEQ_LIBCS), "-" when the
# markers carry none.

function kv(line, key,   i, n, f) {	# key=value from a marker line
	n = split(line, f, /[ \t]+/)
	for (i = 1; i <= n; i++)
		if (index(f[i], key "=") == 1)
			return substr(f[i], length(key) + 2)
	return ""
}

function reset() {
	dup = lost = stale = poison = corr = abi = "-"
	metrics = 0
	cunit_abi = "-"
	nocache = "-"
}

function add(old, v) {
	return old == "-" ? v + 0 : old + v
}

function orz(v) {
	return v == "" ? "-" : v
}

BEGIN {
	OFS = "\t"
	reset()
}

{
	gsub(/\r/, "")
	line = $0
	at = index(line, "VRSEQ-")
	marker = at ? substr(line, at) : ""
}

marker ~ /^VRSEQ-BOOT / {
	print "boot", kv(marker, "kernel"), kv(marker, "debug_switch")
	next
}
marker ~ /^VRSEQ-BEGIN / {
	reset()
	next
}
marker ~ /^VRSEQ-METRICS / {
	metrics = 1
	dup = orz(kv(marker, "duplicates"))
	lost = orz(kv(marker, "lost"))
	stale = orz(kv(marker, "stale"))
	poison = orz(kv(marker, "poison"))
	corr = orz(kv(marker, "corruption"))
	abi = orz(kv(marker, "abi"))
	next
}
marker ~ /^VRSEQ-RESULT / {
	if (cunit_abi != "-")
		abi = cunit_abi
	print "run", orz(kv(marker, "libc")), kv(marker, "debug"), kv(marker, "reg"),
	      kv(marker, "test"),
	      kv(marker, "status"), orz(kv(marker, "seconds")),
	      dup, lost, stale, poison, corr, abi, metrics, nocache
	reset()
	next
}
marker ~ /^VRSEQ-JSON / {
	split(marker, f, / /)
	j = index(marker, "{")
	print "json", orz(kv(marker, "libc")), kv(marker, "debug"),
	      (j ? substr(marker, j) : "")
	next
}
marker ~ /^VRSEQ-NODEBUG / {
	print "nodebug", kv(marker, "debug")
	next
}
marker ~ /^VRSEQ-DMESG / {
	print "dmesg", substr(marker, 13)
	next
}
marker ~ /^VRSEQ-END/ {
	print "end"
	next
}

/(Oops|Kernel panic|BUG:|WARNING:)/ && noops < 5 {
	noops++
	match(line, /(Oops|Kernel panic|BUG:|WARNING:)/)
	line = substr(line, RSTART)
	print "oops", line
	next
}
nocache == "-" && /per-CPU caching off: rseq registration failed \(/ {
	s = substr(line, index(line, "registration failed (") + 21)
	nocache = substr(s, 1, index(s, ")") - 1)
	if (nocache == "")
		nocache = "?"
	next
}
/abi checks: [0-9]+, violations: [0-9]+/ {
	s = substr(line, index(line, "violations: ") + 12)
	cunit_abi = add(cunit_abi, s + 0)
	next
}
# Before test-stress prints VRSEQ-METRICS: the audit lines of pc_stress_print.
!metrics && /audit: duplicates +[0-9]+/ {
	n = split(line, f, / +/)
	dup = add(dup, f[n])
	next
}
!metrics && /audit: lost +[0-9]+/ {
	n = split(line, f, / +/)
	lost = add(lost, f[n])
	next
}
