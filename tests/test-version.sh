#!/bin/sh
# SPDX-License-Identifier: MIT
# One version, one ABI: configure.ac's AC_INIT, VRSEQ_VERSION_* in
# <vrseq.h>, the newest NEWS entry, the man pages' .TH footers, the
# version script's nodes (one per release, named in a comment, empty ones
# included, each inheriting the one before) and the libtool version must
# agree, and the built library's soname and runtime version with them.
#
# libtool rules, as this project applies them (soname libvrseq.so.1, no
# interface ever removed): current = the number of nodes that added
# symbols, age = current - 1, revision 0 in a release that added symbols
# and above 0 in one that added none.
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
status=0
fail() { echo "FAIL: $*"; status=1; }
ok() { echo "ok: $*"; }

# ------------------------------------------------------------ the sources
ac=$(sed -n 's/^AC_INIT(\[vrseq\], *\[\([0-9.]*\)\].*/\1/p' "$src/configure.ac")
lt=$(sed -n 's/^AC_SUBST(\[VRSEQ_LT_VERSION\], *\[\([0-9:]*\)\]).*/\1/p' "$src/configure.ac")
hdr=$(awk '/^#define VRSEQ_VERSION_(MAJOR|MINOR|MICRO)[ \t]/ { v[$2] = $3 }
	END { print v["VRSEQ_VERSION_MAJOR"] "." v["VRSEQ_VERSION_MINOR"] "." v["VRSEQ_VERSION_MICRO"] }' \
	"$src/include/vrseq.h")
news=$(sed -n '1s/^\* Version \([0-9.]*\) - .*/\1/p' "$src/NEWS")
[ -n "$ac" ] || fail "no version in AC_INIT"
[ -n "$lt" ] || fail "no VRSEQ_LT_VERSION in configure.ac"
[ "$hdr" = "$ac" ] || fail "VRSEQ_VERSION_* say $hdr, AC_INIT $ac"
[ "$news" = "$ac" ] || fail "NEWS starts with '$news', AC_INIT says $ac"

# NEWS: "* Version X.Y.Z - YYYY-MM-DD" (or "unreleased" for the newest),
# newest first, each version once.
news_versions=$(awk '/^\* Version / {
		if ($0 !~ /^\* Version [0-9]+\.[0-9]+\.[0-9]+ - ([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|unreleased)$/)
			print "BAD " $0
		else
			print $3
	}' "$src/NEWS")
if echo "$news_versions" | grep -q '^BAD'; then
	fail "NEWS headings not '* Version X.Y.Z - date':"
	echo "$news_versions" | grep '^BAD' | sed 's/^BAD /    /'
fi
if [ "$(echo "$news_versions" | grep -v '^BAD' | sort -t. -k1,1nr -k2,2nr -k3,3nr -u)" != \
	"$(echo "$news_versions" | grep -v '^BAD')" ]; then
	fail "NEWS versions are not newest first, each once"
fi
if [ "$(grep -c '^\* Version .* - unreleased$' "$src/NEWS")" -gt 1 ] ||
	grep '^\* Version .* - unreleased$' "$src/NEWS" | grep -qv "Version $ac "; then
	fail "only the newest NEWS entry may be unreleased"
fi

# Man pages: every full page's footer names this version.
for page in "$src"/man/*.[0-9]; do
	th=$(sed -n 's/^\.TH .*"vrseq \([0-9.]*\)".*/\1/p' "$page")
	[ -z "$th" ] && grep -q '^\.so ' "$page" && continue
	[ "$th" = "$ac" ] || fail "$(basename "$page"): .TH says '$th', not $ac"
done

# ------------------------------------------------------------ the map
# One line per node: NAME PARENT RELEASE SYMBOLS
nodes=$(sed -e 's/;/ ; /g' "$src/src/libvrseq.map" | awk '
	/\/\* *vrseq [0-9.]+:/ { match($0, /vrseq [0-9.]+/); rel = substr($0, RSTART + 6, RLENGTH - 6) }
	/^VRSEQ_[0-9.]+ *\{/ { name = $1; syms = 0; inglobal = 0; next }
	name != "" && /global:/ { inglobal = 1; next }
	name != "" && /local:/ { inglobal = 0; next }
	name != "" && /^\}/ {
		parent = $2; sub(/;.*/, "", parent); if (parent == ";" || parent == "") parent = "-"
		print name, parent, (rel == "" ? "?" : rel), syms; name = ""; rel = ""; next }
	name != "" && inglobal && /^[ \t]*[A-Za-z_][A-Za-z_0-9]*[ \t]*;/ { syms++ }')
prev=- prev_rel= current=0 newest_syms=0 newest_rel=
while read -r name parent rel syms; do
	[ "$parent" = "$prev" ] || fail "map: $name inherits '$parent', not '$prev'"
	[ "$rel" != "?" ] || fail "map: no '/* vrseq X.Y.Z: ... */' comment before $name"
	if [ -n "$prev_rel" ] && [ "$(printf '%s\n%s\n' "$prev_rel" "$rel" |
		sort -t. -k1,1n -k2,2n -k3,3n | head -1)" != "$prev_rel" ]; then
		fail "map: $name ($rel) is not after $prev ($prev_rel)"
	fi
	echo "$news_versions" | grep -qx "$rel" ||
		fail "map: $name names release $rel, which NEWS does not have"
	[ "$syms" -gt 0 ] && current=$((current + 1))
	prev=$name prev_rel=$rel newest_syms=$syms newest_rel=$rel
done <<EOF
$nodes
EOF
[ "$newest_rel" = "$ac" ] ||
	fail "map: the newest node is $newest_rel's; $ac needs its own (empty if it adds nothing)"
for rel in $news_versions; do
	echo "$nodes" | awk '{ print $3 }' | grep -qx "$rel" ||
		fail "map: no node for release $rel"
done

lt_c=${lt%%:*} lt_a=${lt##*:} lt_r=${lt#*:}
lt_r=${lt_r%%:*}
[ "$lt_c" = "$current" ] ||
	fail "libtool current is $lt_c; the map has $current nodes that added symbols"
[ "$lt_a" = $((current - 1)) ] ||
	fail "libtool age is $lt_a; nothing was removed, so current - 1 = $((current - 1))"
if [ "$newest_syms" -gt 0 ]; then
	[ "$lt_r" = 0 ] || fail "libtool revision is $lt_r in a release that adds interfaces"
else
	[ "$lt_r" -gt 0 ] || fail "libtool revision is 0 in a release that adds no interface"
fi
[ $status = 0 ] && ok "$ac: AC_INIT, <vrseq.h>, NEWS, man pages, $current interface nodes, libtool $lt"

# ------------------------------------------------------------ the build
lib=$build/src/.libs/libvrseq.so.1
if [ -f "$lib" ]; then
	soname=$(${READELF:-readelf} -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	[ "$soname" = "libvrseq.so.$((lt_c - lt_a))" ] ||
		fail "soname $soname, libtool $lt says libvrseq.so.$((lt_c - lt_a))"
	real=$(readlink "$build/src/.libs/libvrseq.so.1")
	[ "$real" = "libvrseq.so.$((lt_c - lt_a)).$lt_a.$lt_r" ] ||
		fail "the library file is $real, not libvrseq.so.$((lt_c - lt_a)).$lt_a.$lt_r"
	# The runtime version, from the library itself.
	probe=$(mktemp -d "${TMPDIR:-/tmp}/vrseq-version.XXXXXX") || exit 99
	trap 'rm -rf "$probe"' EXIT
	cat >"$probe/v.c" <<'EOC'
#include <stdio.h>
#include <vrseq.h>
int main(void)
{
	printf("%s %d.%d.%d %d%d%d%d\n", vrseq_version(), vrseq_version_major(),
	       vrseq_version_minor(), vrseq_version_micro(),
	       vrseq_check_version(VRSEQ_VERSION_MAJOR, VRSEQ_VERSION_MINOR,
				   VRSEQ_VERSION_MICRO),
	       vrseq_check_version(0, 0, 0),
	       !vrseq_check_version(VRSEQ_VERSION_MAJOR, VRSEQ_VERSION_MINOR,
				    VRSEQ_VERSION_MICRO + 1),
	       !vrseq_check_version(VRSEQ_VERSION_MAJOR + 1, 0, 0));
	return 0;
}
EOC
	if ${CC:-cc} ${SANITIZER_FLAGS:-} -I"$src/include" -o "$probe/v" "$probe/v.c" \
		-L"$build/src/.libs" -lvrseq -Wl,-rpath,"$build/src/.libs" \
		>"$probe/cc.log" 2>&1; then
		got=$(LD_LIBRARY_PATH="$build/src/.libs" "$probe/v")
		[ "$got" = "$ac $ac 1111" ] ||
			fail "runtime version says '$got', wanted '$ac $ac 1111'"
	else
		cat "$probe/cc.log"
		fail "the version probe does not build"
	fi
	[ $status = 0 ] && ok "soname $soname, $real, vrseq_version() $ac"
else
	echo "no $lib (--disable-shared?): the build is not checked"
fi
exit $status
