#!/bin/sh
# SPDX-License-Identifier: MIT
# Every symbol libvrseq.so.1 defines for others is versioned VRSEQ_* and
# listed in the map; nothing else leaks; the soname is libvrseq.so.1.
set -u
lib=${top_builddir:-.}/src/.libs/libvrseq.so.1
map=${top_srcdir:-.}/src/libvrseq.map
readelf=${READELF:-readelf}
[ -n "$readelf" ] || readelf=readelf

if [ ! -f "$lib" ]; then
	echo "no $lib (built with --disable-shared?)"
	exit 77
fi
status=0

soname=$("$readelf" -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
# Never unloaded (areas vrseq registers live in its TLS): -z nodelete.
if ! "$readelf" -d "$lib" | grep -q 'FLAGS_1.*NODELETE'; then
	echo "FAIL: libvrseq.so.1 is not linked -z nodelete"
	status=1
fi
# A malloc may be built on vrseq: the library imports nothing that
# allocates or takes a lock a malloc could hold (stdio, dl*, mutexes).
bad_imports=$("$readelf" --dyn-syms -W "$lib" | awk '$7 == "UND" { print $8 }' |
	sed 's/@.*//' | grep -E '^(malloc|calloc|realloc|free|posix_memalign|aligned_alloc|memalign|valloc|strdup|strndup|asprintf|vasprintf|fopen|fdopen|fclose|f?printf|vf?printf|puts|fputs|fgets|getline|dlopen|dlclose|dlsym|dlvsym|dladdr|dladdr1|dlerror|pthread_mutex_.*|pthread_once|pthread_key_create|__cxa_atexit|atexit|CPU_ALLOC|__sched_cpualloc|getenv)$' || true)
if [ -n "$bad_imports" ]; then
	echo "FAIL: libvrseq.so.1 imports functions that allocate or lock:" $bad_imports
	status=1
fi
if [ "$soname" != libvrseq.so.1 ]; then
	echo "FAIL: soname is '$soname'"
	status=1
fi

# Defined dynamic symbols other than the version nodes themselves.
exported=$("$readelf" --dyn-syms -W "$lib" |
	awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") && $4 != "SECTION" { print $8 }' |
	grep -v '^VRSEQ_[0-9.]*$' | sort)
listed=$(sed -e 's,/\*.*\*/,,' "$map" |
	awk '/global:/ { g = 1; next } /local:|}/ { g = 0 } g && /^[ \t]*[A-Za-z_0-9]+;/ { gsub(/[ \t;]/, ""); print }' |
	sort -u)

count=0
for sym in $exported; do
	count=$((count + 1))
	case $sym in
	*@@VRSEQ_*|*@VRSEQ_*) ;;
	*)	echo "FAIL: unversioned export: $sym"; status=1; continue ;;
	esac
	name=${sym%%@*}
	if ! printf '%s\n' "$listed" | grep -qx "$name"; then
		echo "FAIL: exported but not in the map: $sym"
		status=1
	fi
done
for name in $listed; do
	if ! printf '%s\n' "$exported" | grep -q "^$name@"; then
		echo "FAIL: in the map but not exported: $name"
		status=1
	fi
done
# A man page for every exported function and every inline fast path.
inline=$(sed -n 's/^VRSEQ_INLINE [a-z_0-9 ]*[ *]\(vrseq_[a-z_0-9]*\)(.*/\1/p' \
	"${top_srcdir:-.}/include/vrseq.h" "${top_srcdir:-.}/compat/vrseq/compat.h")
[ -n "$inline" ] || { echo "FAIL: no VRSEQ_INLINE function found in vrseq.h"; status=1; }
for name in $listed $inline; do
	if [ ! -f "${top_srcdir:-.}/man/$name.3" ]; then
		echo "FAIL: no man page for $name"
		status=1
	fi
done
[ "$count" -gt 0 ] || { echo "FAIL: no exports found"; status=1; }

# map_pairs MAP: "name@NODE" for every symbol the version script lists.
map_pairs() {
	sed -e 's,/\*.*\*/,,' "$1" | awk '
		/^[A-Z_0-9.]+ *\{/ { node = $1; g = 0; next }
		/global:/ { g = 1; next } /local:|}/ { g = 0 }
		g && /^[ \t]*[A-Za-z_0-9]+;/ { gsub(/[ \t;]/, ""); print $0 "@" node }' | sort
}

# libvrseq-ffi.so.1: exactly its map, all versioned VRSEQ_FFI_*, and the
# map is every VRSEQ_INLINE function of the headers.
ffi=${top_builddir:-.}/src/.libs/libvrseq-ffi.so.1
ffimap=${top_srcdir:-.}/src/libvrseq-ffi.map
if [ -f "$ffi" ]; then
	ffi_exported=$("$readelf" --dyn-syms -W "$ffi" |
		awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") && $4 != "SECTION" { print $8 }' |
		grep -v '^VRSEQ_FFI_[0-9.]*$' | sed 's/@@*/@/' | sort)
	if [ "$ffi_exported" != "$(map_pairs "$ffimap")" ]; then
		echo "FAIL: libvrseq-ffi.so.1 exports differ from src/libvrseq-ffi.map:"
		echo "    exported: $(echo $ffi_exported)"
		status=1
	fi
	if [ "$(map_pairs "$ffimap" | sed 's/@.*//' | sort)" != "$(printf '%s\n' $inline | sort)" ]; then
		echo "FAIL: src/libvrseq-ffi.map is not every VRSEQ_INLINE function of the headers"
		status=1
	fi
	echo "ffi: $(echo "$ffi_exported" | wc -l) exported, as its map"
fi

# Debian's symbols files list each map's symbols at their nodes, no more.
for pair in "libvrseq1:$map" "libvrseq-ffi1:$ffimap"; do
	sf=${top_srcdir:-.}/debian/${pair%%:*}.symbols
	[ -f "$sf" ] || continue
	listed_deb=$(sed -n 's/^ \([a-z_0-9]*@[A-Z_0-9.]*\) .*/\1/p' "$sf" | sort)
	if [ "$listed_deb" != "$(map_pairs "${pair#*:}")" ]; then
		echo "FAIL: debian/${pair%%:*}.symbols does not list exactly $(basename "${pair#*:}")'s symbols"
		status=1
	fi
done
echo "symbols: $count exported, all versioned: $([ $status = 0 ] && echo yes || echo NO)"
if [ $status = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $status
