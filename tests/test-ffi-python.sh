#!/bin/sh
# SPDX-License-Identifier: MIT
# examples/python/vrseq_ctypes.py through ctypes against the built
# libvrseq-ffi.so.1: it must report the contract's behaviour (a stored
# value reads back until a fence, or fallback mode refusing the store).
# Skipped without python3 or a shared build.
set -u
lib=${top_builddir:-.}/src/.libs/libvrseq-ffi.so.1
script=${top_srcdir:-.}/examples/python/vrseq_ctypes.py

if ! command -v python3 >/dev/null 2>&1; then
	echo "no python3: skipped"
	exit 77
fi
if [ ! -f "$lib" ]; then
	echo "no $lib (built with --disable-shared?): skipped"
	exit 77
fi
case ${SANITIZER_FLAGS:-} in
*-fsanitize=*)
	echo "libraries built with sanitizers cannot load into python3: skipped"
	exit 77 ;;
esac
# libvrseq-ffi.so.1 finds libvrseq.so.1 beside it.
out=$(LD_LIBRARY_PATH=$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
	python3 "$script" "$lib" 2>&1)
rc=$?
printf '%s\n' "$out"
status=0
if [ $rc != 0 ]; then
	echo "FAIL: vrseq_ctypes.py exited $rc"
	status=1
fi
expect() {
	if ! printf '%s\n' "$out" | grep -Eq "$1"; then
		echo "FAIL: no line matching: $1"
		status=1
	fi
}
expect '^vrseq_init: 0$'
expect '^fence cpu [0-9]+: 0; load: valid=False; cpu view: [0-9]+$'
expect '^result: as the contract says$'
if printf '%s\n' "$out" | grep -q 'usable$'; then
	expect '^store 0x5eed: 0; load: valid=True value=0x5eed$'
else
	expect 'fallback mode$'
	expect '^store 0x5eed: 4; load: valid=False'
fi
if [ $status = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $status
