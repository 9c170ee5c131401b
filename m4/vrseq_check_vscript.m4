# SPDX-License-Identifier: MIT
#
# VRSEQ_CHECK_VSCRIPT: fail unless the linker builds a shared object from a
# version script (GNU ld, gold, lld, mold all do), and set VSCRIPT_LDFLAGS
# to the flag Makefile.am completes with "=FILE". Every symbol of
# libvrseq.so.1 is versioned, so there is no build without it.
AC_DEFUN([VRSEQ_CHECK_VSCRIPT], [
AC_CACHE_CHECK([whether $CC links shared objects with a version script],
	[vrseq_cv_vscript], [
	cat >conftest.map <<_VRSEQ_EOF
VRSEQ_CONFTEST_1.0 {
global:
	vrseq_conftest_exported;
local:
	*;
};
_VRSEQ_EOF
	vrseq_save_LDFLAGS=$LDFLAGS
	vrseq_save_CFLAGS=$CFLAGS
	CFLAGS="$CFLAGS -fPIC"
	LDFLAGS="$LDFLAGS -shared -Wl,--version-script=conftest.map"
	AC_LINK_IFELSE([AC_LANG_SOURCE([[
int vrseq_conftest_exported(void);
int vrseq_conftest_hidden(void);
int vrseq_conftest_exported(void) { return 1; }
int vrseq_conftest_hidden(void) { return 2; }
]])], [vrseq_cv_vscript=yes], [vrseq_cv_vscript=no])
	LDFLAGS=$vrseq_save_LDFLAGS
	CFLAGS=$vrseq_save_CFLAGS
	rm -f conftest.map])
AS_IF([test "x$vrseq_cv_vscript" != xyes],
	[AC_MSG_ERROR([the linker must support version scripts: every symbol of libvrseq is versioned])])
AC_SUBST([VSCRIPT_LDFLAGS], [-Wl,--version-script])
])
