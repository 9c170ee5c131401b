#!/bin/sh
# SPDX-License-Identifier: MIT
# vrseq-check as an interface: --json output valid against
# doc/vrseq-check.schema.json (with and without the probe, with glibc's
# registration and with vrseq's own), exit_status equal to the exit
# status, a validator that can fail, --version naming the
# library's version, and every option of --help in the man page. 77
# without python3.
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
tool=$build/tools/vrseq-check
schema=$src/doc/vrseq-check.schema.json
man=$src/man/vrseq-check.1
status=0
fail() { echo "FAIL: $*"; status=1; }

command -v python3 >/dev/null 2>&1 || { echo "no python3: skipped"; exit 77; }
[ -x "$tool" ] || { echo "no $tool"; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vrseq-json.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

validate=$src/tests/json-validate.py

run() {	# run NAME ARGS...: validate one --json run
	r_name=$1
	shift
	"$tool" --json "$@" >"$tmp/out.json" 2>"$tmp/err"
	r_rc=$?
	if python3 "$validate" "$schema" "$tmp/out.json" "$r_rc"; then
		echo "ok: $r_name: valid schema-1 JSON, exit $r_rc"
	else
		sed 's/^/    > /' "$tmp/out.json" "$tmp/err"
		fail "$r_name: the JSON does not match doc/vrseq-check.schema.json"
	fi
}
run "with the probe" --probe
run "without the probe" --no-probe
# glibc's registration off: vrseq registers its own (a different owner).
GLIBC_TUNABLES=glibc.pthread.rseq=0 run "own registration" --no-probe

# The validator can fail: a key with a space and an unknown token.
sed -e 's/"same_cpu_read"/"same-CPU read"/' -e 's/"owner":"[a-z]*"/"owner":"nobody"/' \
	"$tmp/out.json" >"$tmp/bad.json"
if python3 "$validate" "$schema" "$tmp/bad.json" "$r_rc" >/dev/null; then
	fail "the validator accepted a broken document"
else
	echo "ok: the validator rejects a key with a space and an unknown owner"
fi

v=$("$tool" --version)
lib=$(sed -n '1s/^\* Version \([0-9.]*\) .*/\1/p' "$src/NEWS")
case $v in
*"libvrseq $lib"*) echo "ok: --version: $v" ;;
*) fail "--version says '$v', not libvrseq $lib" ;;
esac

# Every option --help names is in the man page, long and short.
for opt in $("$tool" --help | grep -o -- '-[-a-zA-Z]*' | sort -u); do
	grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" "$man" ||
		grep -q -- "$opt" "$man" || fail "$opt is not in vrseq-check(1)"
done
# Every exit status the usage line names is in the man page.
for code in $("$tool" --help | sed -n 's/^exit: //p' | grep -o '[0-9][0-9]*'); do
	grep -q "^\.B $code\$\|^\.TP\$" "$man" &&
		grep -A1 '^\.TP' "$man" | grep -q "^\.B $code\$" ||
		fail "exit status $code is not in vrseq-check(1)"
done
exit $status
