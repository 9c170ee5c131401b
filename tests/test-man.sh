#!/bin/sh
# SPDX-License-Identifier: MIT
# The man pages are whole: every full page has the sections of its kind
# (section 3: NAME, SYNOPSIS, DESCRIPTION, RETURN VALUE, ERRORS, VERSIONS,
# SEE ALSO; section 1: NAME, SYNOPSIS, DESCRIPTION, OPTIONS, EXIT STATUS,
# SEE ALSO; section 7: NAME, DESCRIPTION, SEE ALSO), every name in a NAME
# line has a page (itself or a .so link to the page), every link's target
# exists, Makefile.am (or a tools/*.am fragment) installs every page, and mandoc -Tlint reports no
# warning (when mandoc is installed). test-version.sh checks the .TH
# versions, test-symbols.sh that every function has a page.
set -u
src=${top_srcdir:-.}
status=0
fail() { echo "FAIL: $*"; status=1; }
pages=0 links=0

for page in "$src"/man/*.[0-9]; do
	base=$(basename "$page")
	cat "$src/Makefile.am" "$src"/tools/*.am | grep -q "man/$base" ||
		fail "$base is not in dist_man_MANS (Makefile.am or tools/*.am)"
	target=$(sed -n 's/^\.so man[0-9]\/\(.*\)/\1/p' "$page")
	if [ -n "$target" ]; then
		links=$((links + 1))
		[ -f "$src/man/$target" ] || fail "$base links to missing $target"
		# The target's NAME line must name this page.
		sed -n '/^\.SH NAME/,/^\.SH/p' "$src/man/$target" |
			grep -q "\<${base%.*}\>" ||
			fail "$base links to $target, whose NAME does not list ${base%.*}"
		continue
	fi
	pages=$((pages + 1))
	case $base in
	*.3) want="NAME|SYNOPSIS|DESCRIPTION|RETURN VALUE|ERRORS|VERSIONS|SEE ALSO" ;;
	*.1) want="NAME|SYNOPSIS|DESCRIPTION|OPTIONS|EXIT STATUS|SEE ALSO" ;;
	*) want="NAME|DESCRIPTION|SEE ALSO" ;;
	esac
	have=$(sed -n 's/^\.SH "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$page")
	old_ifs=$IFS
	IFS='|'
	for sec in $want; do
		echo "$have" | grep -qx "$sec" || fail "$base has no $sec section"
	done
	IFS=$old_ifs
	# Every name of the NAME line has a page.
	names=$(sed -n '/^\.SH NAME/,/^\.SH/{/^\.SH/d;p}' "$page" |
		sed 's/\\-.*//' | tr ',' '\n' | tr -d ' ')
	for n in $names; do
		[ -f "$src/man/$n.${base##*.}" ] || fail "$base names $n, which has no page"
	done
done
if command -v mandoc >/dev/null 2>&1; then
	for page in "$src"/man/*.[0-9]; do
		grep -q '^\.so ' "$page" && continue
		mandoc -Tlint -W warning "$page" >/dev/null 2>&1 ||
			{ mandoc -Tlint -W warning "$page"; fail "mandoc: $(basename "$page")"; }
	done
	lint="mandoc -Tlint clean"
else
	lint="no mandoc: lint not run"
fi
echo "man pages: $pages pages, $links links; $lint"
exit $status
