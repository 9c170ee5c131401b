/* SPDX-License-Identifier: MIT */
/*
 * The ABI as a foreign-function interface sees it: libvrseq.so.1 and
 * libvrseq-ffi.so.1 are dlopen()ed (this program links neither), every
 * name@VERSION of src/libvrseq.map and src/libvrseq-ffi.map is resolved
 * with dlvsym() in its library, and the functions are called through
 * libffi's ffi_call() with the signatures of tests/ffi-sigs.h, which
 * tests/ffi-sigs.awk generates from the headers (and checks against the
 * compiler's view of each prototype). A map symbol without a signature, a
 * header function in no map, or a map symbol this program never calls
 * fails the test.
 *
 * Usage: test-ffi [libvrseq.so.1 libvrseq-ffi.so.1 libvrseq.map
 * libvrseq-ffi.map]; the defaults come from Makefile.am.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ffi.h>

#include "harness.h"
#include <vrseq/compat.h>

#ifndef LIBVRSEQ_PATH
# define LIBVRSEQ_PATH "src/.libs/libvrseq.so.1"
#endif
#ifndef LIBVRSEQ_FFI_PATH
# define LIBVRSEQ_FFI_PATH "src/.libs/libvrseq-ffi.so.1"
#endif
#ifndef LIBVRSEQ_MAP
# define LIBVRSEQ_MAP "src/libvrseq.map"
#endif
#ifndef LIBVRSEQ_FFI_MAP
# define LIBVRSEQ_FFI_MAP "src/libvrseq-ffi.map"
#endif

/*
 * The C types of the headers as libffi types. A type the headers start
 * using that is not here fails the build (FT_<type> undeclared).
 */
#define FT_void			(&ffi_type_void)
#define FT_ptr			(&ffi_type_pointer)
#define FT_int			(&ffi_type_sint)
#define FT_unsigned_int		(&ffi_type_uint)
#define FT_uint32_t		(&ffi_type_uint32)
#define FT_uint64_t		(&ffi_type_uint64)
#define FT_vrseq_token_t	(&ffi_type_uint64)
#define FT_bool			(&ffi_type_uint8)
#if SIZE_MAX == UINT64_MAX
# define FT_size_t		(&ffi_type_uint64)
#else
# define FT_size_t		(&ffi_type_uint32)
#endif
_Static_assert(__builtin_types_compatible_p(vrseq_token_t, uint64_t),
	       "FT_vrseq_token_t");
_Static_assert(sizeof(bool) == 1, "FT_bool: bool is one byte on this ABI");
_Static_assert(sizeof(int) == 4 && sizeof(unsigned int) == 4, "FT_int");

enum { FFI_LIB_CORE, FFI_LIB_FFI, FFI_LIBS };

/* The longest symbol or node name the maps may use, with its NUL. */
#define WORD 64

struct ffi_sig {
	const char *name;
	int lib;
	ffi_type *ret;
	unsigned int nargs;
	ffi_type **args;
	const char *ctype;
	/* filled from the maps and the calls */
	char node[WORD];
	void *fn;
	ffi_cif cif;
	unsigned long calls;
};

#include "ffi-sigs.h"

static const char *lib_path[FFI_LIBS] = { LIBVRSEQ_PATH, LIBVRSEQ_FFI_PATH };
static const char *map_path[FFI_LIBS] = { LIBVRSEQ_MAP, LIBVRSEQ_FFI_MAP };
static void *handle[FFI_LIBS];

static struct ffi_sig *sig(const char *name)
{
	for (size_t i = 0; i < FFI_SIGS_COUNT; i++)
		if (!strcmp(ffi_sigs[i].name, name))
			return &ffi_sigs[i];
	return NULL;
}

/* ------------------------------------------------------------- the maps */

struct map_sym {
	char name[WORD];
	char node[WORD];
	int lib;
};
static struct map_sym map_syms[256];
static size_t nr_map_syms;
static char nodes[FFI_LIBS][16][WORD];
static size_t nr_nodes[FFI_LIBS];
static char map_errors[1024];

static void map_error(const char *fmt, ...)
{
	size_t len = strlen(map_errors);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(map_errors + len, sizeof(map_errors) - len, fmt, ap);
	va_end(ap);
}

/* Next token of a version script: a word, or one of { } ; : */
static const char *next_token(const char **p, char *tok, size_t size)
{
	const char *s = *p;
	size_t n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (s[0] == '/' && s[1] == '*') {
			const char *end = strstr(s + 2, "*/");

			s = end ? end + 2 : s + strlen(s);
			continue;
		}
		break;
	}
	if (!*s)
		return NULL;
	if (strchr("{};:", *s)) {
		tok[n++] = *s++;
	} else {
		while (*s && !strchr(" \t\r\n{};:", *s) && n + 1 < size)
			tok[n++] = *s++;
	}
	tok[n] = 0;
	*p = s;
	return tok;
}

/* Every "name;" in a global: part, with its node. 0, or -1 if unreadable. */
static int read_map(int lib)
{
	char text[16384], tok[WORD], node[WORD] = "", prev[WORD] = "";
	const char *p = text;
	bool global = false;
	FILE *f = fopen(map_path[lib], "re");
	size_t len;

	if (!f) {
		map_error("cannot open %s: %s\n", map_path[lib], strerror(errno));
		return -1;
	}
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = 0;
	while (next_token(&p, tok, sizeof(tok))) {
		if (!strcmp(tok, "{") && !node[0]) {
			snprintf(node, sizeof(node), "%s", prev);
			if (nr_nodes[lib] < 16)
				snprintf(nodes[lib][nr_nodes[lib]++], WORD, "%s",
					 node);
			global = false;
		} else if (!strcmp(tok, "}")) {
			node[0] = 0;	/* then "parent;" or ";" */
			global = false;
		} else if (!strcmp(tok, ":")) {
			global = !strcmp(prev, "global");
		} else if (!strcmp(tok, ";") && node[0] && global &&
			   strcmp(prev, "*") && nr_map_syms < 256) {
			struct map_sym *m = &map_syms[nr_map_syms++];

			snprintf(m->name, sizeof(m->name), "%s", prev);
			snprintf(m->node, sizeof(m->node), "%s", node);
			m->lib = lib;
		}
		snprintf(prev, sizeof(prev), "%s", tok);
	}
	return 0;
}

static bool have(const char *name)
{
	struct ffi_sig *s = sig(name);

	return s && s->fn;
}

/* Load both libraries and resolve every map symbol; errors for later. */
static void setup(void)
{
	for (int lib = 0; lib < FFI_LIBS; lib++) {
		handle[lib] = dlopen(lib_path[lib], RTLD_NOW | RTLD_LOCAL);
		if (!handle[lib])
			map_error("dlopen: %s\n", dlerror());
		read_map(lib);
	}
	if (!handle[FFI_LIB_CORE] || !handle[FFI_LIB_FFI])
		return;
	for (size_t i = 0; i < nr_map_syms; i++) {
		struct map_sym *m = &map_syms[i];
		struct ffi_sig *s = sig(m->name);
		void *fn = dlvsym(handle[m->lib], m->name, m->node);

		if (!s) {
			map_error("%s@%s: no signature (not declared with "
				  "VRSEQ_API or VRSEQ_INLINE in the headers?)\n",
				  m->name, m->node);
			continue;
		}
		if (s->lib != m->lib)
			map_error("%s: in %s but the headers say %s\n", m->name,
				  map_path[m->lib],
				  s->lib == FFI_LIB_CORE ? "VRSEQ_API" :
				  "VRSEQ_INLINE");
		if (s->node[0])
			map_error("%s: listed twice (%s, %s)\n", m->name,
				  s->node, m->node);
		snprintf(s->node, sizeof(s->node), "%s", m->node);
		if (!fn) {
			map_error("dlvsym(%s, %s): %s\n", m->name, m->node,
				  dlerror());
			continue;
		}
		if (ffi_prep_cif(&s->cif, FFI_DEFAULT_ABI, s->nargs, s->ret,
				 s->args) != FFI_OK) {
			map_error("ffi_prep_cif(%s) failed\n", m->name);
			continue;
		}
		s->fn = fn;
	}
}

/* ----------------------------------------------------------- the calls */

union ffi_rv {
	ffi_arg u;
	ffi_sarg s;
	uint64_t u64;
	void *p;
};

/* Call `name` through libffi; the arguments are pointers to the values. */
static union ffi_rv fcall(const char *name, ...)
{
	struct ffi_sig *s = sig(name);
	union ffi_rv rv;
	void *argv[8];
	va_list ap;

	memset(&rv, 0, sizeof(rv));
	if (!s || !s->fn) {
		fprintf(stderr, "fcall: %s is not resolved\n", name);
		CU_FAIL_FATAL("call of an unresolved symbol");
		return rv;
	}
	va_start(ap, name);
	for (unsigned int i = 0; i < s->nargs && i < 8; i++)
		argv[i] = va_arg(ap, void *);
	va_end(ap);
	ffi_call(&s->cif, FFI_FN(s->fn), &rv, argv);
	s->calls++;
	return rv;
}

#define CALL_INT(...)	((int)fcall(__VA_ARGS__).s)
#define CALL_BOOL(...)	((bool)(uint8_t)fcall(__VA_ARGS__).u)
#define CALL_U32(...)	((uint32_t)fcall(__VA_ARGS__).u)
#define CALL_U64(...)	(fcall(__VA_ARGS__).u64)
#define CALL_PTR(...)	(fcall(__VA_ARGS__).p)

static int cpu;			/* the one the tests are pinned to */

static void pin_here(void)
{
	cpu = sched_getcpu();
	CU_ASSERT_FATAL(cpu >= 0);
	CU_ASSERT_EQUAL(harness_pin(cpu), 0);
}

/* --------------------------------------------------------------- tests */

static void test_maps(void)
{
	size_t per_lib[FFI_LIBS] = { 0, 0 };

	if (map_errors[0])
		fputs(map_errors, stderr);
	CU_ASSERT_FATAL(map_errors[0] == 0);
	CU_ASSERT(nr_map_syms > 0);
	for (size_t i = 0; i < nr_map_syms; i++) {
		struct map_sym *m = &map_syms[i];
		struct ffi_sig *s = sig(m->name);

		per_lib[m->lib]++;
		/* The default version is that node, and no other node has it. */
		CU_ASSERT_PTR_EQUAL(dlsym(handle[m->lib], m->name), s->fn);
		for (size_t n = 0; n < nr_nodes[m->lib]; n++)
			if (strcmp(nodes[m->lib][n], m->node))
				CU_ASSERT_PTR_NULL(dlvsym(handle[m->lib], m->name,
							  nodes[m->lib][n]));
		if (m->lib == FFI_LIB_FFI) {
			/* libvrseq itself exports no inline function. */
			CU_ASSERT_PTR_NULL(dlsym(handle[FFI_LIB_CORE], m->name));
		} else {
			/* Through the FFI library, libvrseq's one copy. */
			CU_ASSERT_PTR_EQUAL(dlsym(handle[FFI_LIB_FFI], m->name),
					    s->fn);
		}
	}
	/* Every function of the headers is in its library's map. */
	for (size_t i = 0; i < FFI_SIGS_COUNT; i++)
		if (!ffi_sigs[i].node[0]) {
			fprintf(stderr, "%s (%s) is in no map\n",
				ffi_sigs[i].name, ffi_sigs[i].ctype);
			CU_FAIL("a header function is in no map");
		}
	printf("\n  %zu libvrseq symbols (%zu nodes), %zu libvrseq-ffi symbols"
	       " (%zu nodes) resolved with dlvsym ",
	       per_lib[FFI_LIB_CORE], nr_nodes[FFI_LIB_CORE],
	       per_lib[FFI_LIB_FFI], nr_nodes[FFI_LIB_FFI]);
}

static void test_names(void)
{
	int owner_glibc = VRSEQ_OWNER_GLIBC, bad = 99, fence = VRSEQ_FENCE_MEMBARRIER;
	int fallback = VRSEQ_FALLBACK_NONE, answer = VRSEQ_PROBE_YES;
	int v2 = VRSEQ_V2_STRICT;
	int major = VRSEQ_VERSION_MAJOR, minor = VRSEQ_VERSION_MINOR;
	int micro = VRSEQ_VERSION_MICRO, later = VRSEQ_VERSION_MAJOR + 1;
	int zero = 0;

	CU_ASSERT_STRING_EQUAL(CALL_PTR("vrseq_owner_name", &owner_glibc), "glibc");
	CU_ASSERT_STRING_EQUAL(CALL_PTR("vrseq_owner_name", &bad), "unknown");
	CU_ASSERT_STRING_EQUAL(CALL_PTR("vrseq_fence_method_name", &fence),
			       "membarrier-rseq");
	CU_ASSERT_STRING_EQUAL(CALL_PTR("vrseq_fallback_name", &fallback), "none");
	CU_ASSERT_STRING_EQUAL(CALL_PTR("vrseq_probe_name", &answer), "yes");
	CU_ASSERT_STRING_EQUAL(CALL_PTR("vrseq_v2_name", &v2), "strict");
	/* 0.4.0's runtime version, where the map has it. */
	if (have("vrseq_version")) {
		char want[32];

		snprintf(want, sizeof(want), "%d.%d.%d", major, minor, micro);
		CU_ASSERT_STRING_EQUAL(CALL_PTR("vrseq_version"), want);
		CU_ASSERT_EQUAL(CALL_INT("vrseq_version_major"), major);
		CU_ASSERT_EQUAL(CALL_INT("vrseq_version_minor"), minor);
		CU_ASSERT_EQUAL(CALL_INT("vrseq_version_micro"), micro);
		CU_ASSERT_TRUE(CALL_BOOL("vrseq_check_version", &major, &minor,
					 &micro));
		CU_ASSERT_TRUE(CALL_BOOL("vrseq_check_version", &zero, &zero,
					 &zero));
		CU_ASSERT_FALSE(CALL_BOOL("vrseq_check_version", &later, &zero,
					  &zero));
	}
	/* Calls that change nothing: out of range, and "allowed" (default). */
	if (have("vrseq_set_own_registration")) {
		int seven = 7, one = 1;

		CU_ASSERT_EQUAL(CALL_INT("vrseq_set_own_registration", &seven),
				-EINVAL);
		CU_ASSERT_EQUAL(CALL_INT("vrseq_set_own_registration", &one), 0);
	}
}

/*
 * Size-extensible structs, called with the size of every release: 0.1.0 to
 * 0.3.0 had a 40-byte vrseq_info (0.4.0 added `fallback`); vrseq_kernel was
 * 24 bytes from 0.2.0 to 0.3.0 and is 44 since 0.4.0 (cs_abort took a
 * reserved byte, the measured causes came after it). Also
 * the smallest size (the size field alone) and a larger caller. The bytes
 * past the size the library fills must stay untouched.
 */
static void check_sized(const char *fn, size_t size, size_t full, int want)
{
	unsigned char buf[256];
	size_t filled = size < full ? size : full;
	uint32_t got_size;
	void *p = buf;
	int ret;

	memset(buf, 0xa5, sizeof(buf));
	ret = CALL_INT(fn, &p, &size);
	CU_ASSERT_EQUAL(ret, want);
	if (ret < 0)
		filled = 0;
	else {
		memcpy(&got_size, buf, sizeof(got_size));
		CU_ASSERT_EQUAL(got_size, filled);
	}
	for (size_t i = filled; i < sizeof(buf); i++)
		if (buf[i] != 0xa5) {
			fprintf(stderr, "%s(size %zu) wrote byte %zu\n", fn, size, i);
			CU_FAIL("a byte past the size was written");
			break;
		}
}

static void test_info(void)
{
	static const size_t info_sizes[] = { 4, 40, 44, sizeof(struct vrseq_info),
					     sizeof(struct vrseq_info) + 16 };
	static const size_t kernel_sizes[] = { 4, 24, 44,
					       sizeof(struct vrseq_kernel) + 8 };
	struct vrseq_info info;
	void *p = &info;
	size_t size = sizeof(info);

	_Static_assert(sizeof(struct vrseq_info) == 48, "0.4.0's vrseq_info");
	_Static_assert(sizeof(struct vrseq_kernel) == 44, "0.4.0's vrseq_kernel");
	CU_ASSERT_EQUAL(CALL_INT("vrseq_init"), 0);
	for (size_t i = 0; i < sizeof(info_sizes) / sizeof(info_sizes[0]); i++)
		check_sized("vrseq_get_info", info_sizes[i], sizeof(info), 0);
	check_sized("vrseq_get_info", 3, sizeof(info), -EINVAL);
	for (size_t i = 0; i < sizeof(kernel_sizes) / sizeof(kernel_sizes[0]); i++)
		check_sized("vrseq_probe_kernel", kernel_sizes[i],
			    sizeof(struct vrseq_kernel), 0);
	check_sized("vrseq_probe_kernel", 2, sizeof(struct vrseq_kernel),
		    -EINVAL);

	CU_ASSERT_EQUAL(CALL_INT("vrseq_get_info", &p, &size), 0);
	CU_ASSERT_EQUAL(info.size, sizeof(info));
	printf("\n  owner %s, fence %s, fallback %s ",
	       (const char *)CALL_PTR("vrseq_owner_name", &info.owner),
	       (const char *)CALL_PTR("vrseq_fence_method_name",
				      &info.fence_method),
	       (const char *)CALL_PTR("vrseq_fallback_name", &info.fallback));
}

/* What a slot that cannot be valid does (valgrind, seccomp, foreign owner). */
static void check_fallback(struct vrseq_slot *slot)
{
	uint64_t value = 0, word = 5, v = 7;
	uint32_t w32 = 5, u32 = 0x10;
	void *ptr = &word, *expected = &word, *desired = &w32;
	vrseq_token_t token;

	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_store", &slot, &v), VRSEQ_UNCACHED);
	CU_ASSERT_FALSE(CALL_BOOL("vrseq_slot_load", &slot, &(void *){ &value }));
	CU_ASSERT_FALSE(CALL_BOOL("vrseq_slot_valid", &slot));
	CU_ASSERT_FALSE(CALL_BOOL("vrseq_compat_word_cached", &slot));
	CU_ASSERT_EQUAL(CALL_U32("vrseq_slot_cpu_view", &slot), (uint32_t)cpu);
	CU_ASSERT_EQUAL(CALL_U32("vrseq_compat_cpu_id_start", &slot),
			(uint32_t)cpu);
	CU_ASSERT_EQUAL(CALL_U32("vrseq_slot_current_id", &slot), (uint32_t)cpu);
	CU_ASSERT_EQUAL(CALL_U32("vrseq_slot_fallback_id", &slot), (uint32_t)cpu);
	token = CALL_U64("vrseq_slot_observe", &slot);
	CU_ASSERT_EQUAL(CALL_U32("vrseq_token_id", &token), (uint32_t)cpu);
	CU_ASSERT_EQUAL(token & VRSEQ_TAG_GEN_MASK, 0);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_commit", &slot, &token, &v),
			VRSEQ_UNCACHED);
	token = CALL_U64("vrseq_compat_word_begin", &slot);
	CU_ASSERT_EQUAL(CALL_U32("vrseq_compat_word_cpu", &token), (uint32_t)cpu);
	CU_ASSERT_FALSE(CALL_BOOL("vrseq_compat_word_commit", &slot, &token, &v));
	CU_ASSERT_EQUAL(CALL_U64("vrseq_compat_word_load", &slot),
			(uint64_t)cpu << 32);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_compat_cpu_id_start_store", &slot, &u32),
			VRSEQ_UNCACHED);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_compat_cpu_id_start_or", &slot, &u32),
			VRSEQ_UNCACHED);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_compat_cpu_id_start_and", &slot, &u32),
			VRSEQ_UNCACHED);
	/* compare-and-store: refused, the word untouched */
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas", &slot, &(void *){ &word },
				 &(uint64_t){ 5 }, &(uint64_t){ 6 }),
			VRSEQ_UNCACHED);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas32", &slot, &(void *){ &w32 },
				 &(uint32_t){ 5 }, &(uint32_t){ 6 }),
			VRSEQ_UNCACHED);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas_ptr", &slot, &(void *){ &ptr },
				 &expected, &desired), VRSEQ_UNCACHED);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas_value", &slot, &v,
				 &(void *){ &word }, &(uint64_t){ 5 },
				 &(uint64_t){ 6 }), VRSEQ_UNCACHED);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas32_value", &slot, &v,
				 &(void *){ &w32 }, &(uint32_t){ 5 },
				 &(uint32_t){ 6 }), VRSEQ_UNCACHED);
	CU_ASSERT(word == 5 && w32 == 5 && ptr == &word);
	fcall("vrseq_slot_clear", &slot);
	fcall("vrseq_compat_word_uncache", &slot);
	CU_ASSERT_FALSE(CALL_BOOL("vrseq_slot_load", &slot, &(void *){ &value }));
	/* Fences still succeed: there is nothing to abort. */
	CU_ASSERT_EQUAL(CALL_INT("vrseq_fence_cpu", &cpu), 0);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_fence_all"), 0);
}

/* Commit `v` under a fresh observation, retrying a rare invalidation. */
static int store(struct vrseq_slot *slot, uint64_t v)
{
	int ret = VRSEQ_INVALIDATED;

	for (int tries = 0; tries < 100 && ret == VRSEQ_INVALIDATED; tries++)
		ret = CALL_INT("vrseq_slot_store", &slot, &v);
	return ret;
}

static bool load(struct vrseq_slot *slot, uint64_t *value)
{
	return CALL_BOOL("vrseq_slot_load", &slot, &value);
}

static void check_slot(struct vrseq_slot *slot)
{
	uint64_t value = 0, word = 5, v;
	uint32_t w32[2] = { 1, 0xdead }, u32;
	void *ptr = &word, *expected = &word, *desired = w32;
	vrseq_token_t token;

	/* store, then load returns it; the views agree */
	CU_ASSERT_EQUAL(store(slot, 0x123456789aULL), VRSEQ_COMMITTED);
	CU_ASSERT_TRUE(load(slot, &value));
	CU_ASSERT_EQUAL(value, 0x123456789aULL);
	CU_ASSERT_TRUE(CALL_BOOL("vrseq_slot_valid", &slot));
	CU_ASSERT_TRUE(CALL_BOOL("vrseq_compat_word_cached", &slot));
	CU_ASSERT_EQUAL(CALL_U32("vrseq_slot_cpu_view", &slot), 0x3456789au);
	CU_ASSERT_EQUAL(CALL_U32("vrseq_compat_cpu_id_start", &slot),
			0x3456789au);
	CU_ASSERT_EQUAL(CALL_U64("vrseq_compat_word_load", &slot),
			0x123456789aULL | VRSEQ_COMPAT_CACHED);
	CU_ASSERT_EQUAL(CALL_U32("vrseq_slot_current_id", &slot), (uint32_t)cpu);
	CU_ASSERT_EQUAL(CALL_U32("vrseq_slot_fallback_id", &slot), (uint32_t)cpu);

	/* observe + commit, and the compat word protocol */
	token = CALL_U64("vrseq_slot_observe", &slot);
	CU_ASSERT_EQUAL(CALL_U32("vrseq_token_id", &token), (uint32_t)cpu);
	CU_ASSERT_NOT_EQUAL(token & VRSEQ_TAG_GEN_MASK, 0);
	v = 77;
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_commit", &slot, &token, &v),
			VRSEQ_COMMITTED);
	CU_ASSERT_TRUE(load(slot, &value) && value == 77);
	token = CALL_U64("vrseq_compat_word_begin", &slot);
	CU_ASSERT_EQUAL(CALL_U32("vrseq_compat_word_cpu", &token), (uint32_t)cpu);
	v = 0x99 | VRSEQ_COMPAT_CACHED;
	CU_ASSERT_TRUE(CALL_BOOL("vrseq_compat_word_commit", &slot, &token, &v));
	CU_ASSERT_TRUE(load(slot, &value) && value == 0x99);

	/* compare-and-store on 64, 32 bits and pointers */
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas", &slot, &(void *){ &word },
				 &(uint64_t){ 5 }, &(uint64_t){ 6 }),
			VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(word, 6);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas", &slot, &(void *){ &word },
				 &(uint64_t){ 5 }, &(uint64_t){ 7 }),
			VRSEQ_CHANGED);
	CU_ASSERT_EQUAL(word, 6);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas32", &slot, &(void *){ w32 },
				 &(uint32_t){ 1 }, &(uint32_t){ 2 }),
			VRSEQ_COMMITTED);
	CU_ASSERT(w32[0] == 2 && w32[1] == 0xdead);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas32", &slot, &(void *){ w32 },
				 &(uint32_t){ 1 }, &(uint32_t){ 3 }),
			VRSEQ_CHANGED);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas_ptr", &slot, &(void *){ &ptr },
				 &expected, &desired), VRSEQ_COMMITTED);
	CU_ASSERT_PTR_EQUAL(ptr, w32);
	/* _value forms: the slot holds 0x99 */
	v = 0x99;
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas_value", &slot, &v,
				 &(void *){ &word }, &(uint64_t){ 6 },
				 &(uint64_t){ 8 }), VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(word, 8);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas32_value", &slot, &v,
				 &(void *){ w32 }, &(uint32_t){ 2 },
				 &(uint32_t){ 4 }), VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(w32[0], 4);
	v = 0x98;
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas_value", &slot, &v,
				 &(void *){ &word }, &(uint64_t){ 8 },
				 &(uint64_t){ 9 }), VRSEQ_INVALIDATED);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas32_value", &slot, &v,
				 &(void *){ w32 }, &(uint32_t){ 4 },
				 &(uint32_t){ 5 }), VRSEQ_INVALIDATED);
	CU_ASSERT(word == 8 && w32[0] == 4 && w32[1] == 0xdead);

	/* the 32-bit compat view */
	u32 = 0x10;
	CU_ASSERT_EQUAL(CALL_INT("vrseq_compat_cpu_id_start_store", &slot, &u32),
			VRSEQ_COMMITTED);
	u32 = 0x3;
	CU_ASSERT_EQUAL(CALL_INT("vrseq_compat_cpu_id_start_or", &slot, &u32),
			VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(CALL_U32("vrseq_compat_cpu_id_start", &slot), 0x13);
	u32 = 0x1;
	CU_ASSERT_EQUAL(CALL_INT("vrseq_compat_cpu_id_start_and", &slot, &u32),
			VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(CALL_U32("vrseq_compat_cpu_id_start", &slot), 0x1);

	/* clear and uncache: invalid, the views show the CPU */
	fcall("vrseq_slot_clear", &slot);
	CU_ASSERT_FALSE(load(slot, &value));
	CU_ASSERT_EQUAL(CALL_U32("vrseq_slot_cpu_view", &slot), (uint32_t)cpu);
	CU_ASSERT_EQUAL(CALL_U64("vrseq_compat_word_load", &slot),
			(uint64_t)cpu << 32);
	CU_ASSERT_EQUAL(store(slot, 1), VRSEQ_COMMITTED);
	fcall("vrseq_compat_word_uncache", &slot);
	CU_ASSERT_FALSE(CALL_BOOL("vrseq_compat_word_cached", &slot));

	/* fences: a load after them fails; a commit under an older token too */
	CU_ASSERT_EQUAL(store(slot, 42), VRSEQ_COMMITTED);
	CU_ASSERT_TRUE(load(slot, &value) && value == 42);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_fence_cpu", &cpu), 0);
	CU_ASSERT_FALSE(load(slot, &value));
	CU_ASSERT_FALSE(CALL_BOOL("vrseq_slot_valid", &slot));
	CU_ASSERT_EQUAL(CALL_U32("vrseq_slot_cpu_view", &slot), (uint32_t)cpu);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_cas", &slot, &(void *){ &word },
				 &(uint64_t){ 8 }, &(uint64_t){ 9 }),
			VRSEQ_INVALIDATED);
	CU_ASSERT_EQUAL(word, 8);
	CU_ASSERT_EQUAL(store(slot, 43), VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_fence_all"), 0);
	CU_ASSERT_FALSE(load(slot, &value));
	token = CALL_U64("vrseq_slot_observe", &slot);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_fence_cpu", &cpu), 0);
	v = 44;
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_commit", &slot, &token, &v),
			VRSEQ_INVALIDATED);
	CU_ASSERT_FALSE(load(slot, &value));
	CU_ASSERT_TRUE(harness_area_ok(slot->area));
}

static void test_slots(void)
{
	struct vrseq_slot own __attribute__((aligned(64)));
	struct vrseq_slot *slot, *mine = &own;
	unsigned int mode = VRSEQ_SLOT_CPU, bad_mode = 99;
	int rc, minus_one = -1;

	pin_here();
	CU_ASSERT_EQUAL(CALL_INT("vrseq_current_cpu"), cpu);
	slot = CALL_PTR("vrseq_thread_slot");
	CU_ASSERT_PTR_NOT_NULL_FATAL(slot);
	CU_ASSERT_PTR_EQUAL(CALL_PTR("vrseq_thread_slot"), slot);
	rc = CALL_INT("vrseq_slot_init", &mine, &mode);
	CU_ASSERT(rc == 0 || rc == 1);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_slot_init", &mine, &bad_mode), -EINVAL);
	rc = CALL_INT("vrseq_slot_init", &mine, &mode);
	/* 1: fallback mode, exactly when the slot is not usable */
	CU_ASSERT_EQUAL(CALL_BOOL("vrseq_slot_usable", &mine), rc == 0);
	CU_ASSERT_EQUAL(CALL_BOOL("vrseq_slot_usable", &slot), rc == 0);
	CU_ASSERT_EQUAL(CALL_INT("vrseq_fence_cpu", &minus_one), -EINVAL);
	printf("\n  slots %s ", rc == 0 ? "usable" : "in fallback mode");
	if (rc == 0) {
		check_slot(slot);
		check_slot(mine);
	} else {
		check_fallback(slot);
		check_fallback(mine);
	}
	harness_pin_restore();
}

/* The thread's mm_cid slot and the concurrency-id fence. */
static void test_mm_cid(void)
{
	struct vrseq_slot *slot;
	uint64_t value;
	int cid;

	pin_here();
	slot = CALL_PTR("vrseq_thread_slot_mm_cid");
	CU_ASSERT_PTR_NOT_NULL_FATAL(slot);
	cid = (int)CALL_U32("vrseq_slot_current_id", &slot);
	if (CALL_BOOL("vrseq_slot_usable", &slot)) {
		CU_ASSERT_EQUAL(store(slot, 5), VRSEQ_COMMITTED);
		CU_ASSERT_TRUE(load(slot, &value) && value == 5);
		CU_ASSERT_EQUAL(CALL_INT("vrseq_fence_mm_cid", &cid), 0);
		CU_ASSERT_FALSE(load(slot, &value));
	} else {
		CU_ASSERT_EQUAL(store(slot, 5), VRSEQ_UNCACHED);
		CU_ASSERT_EQUAL(CALL_INT("vrseq_fence_mm_cid", &cid), 0);
		CU_ASSERT_FALSE(load(slot, &value));
	}
	cid = -1;
	CU_ASSERT_EQUAL(CALL_INT("vrseq_fence_mm_cid", &cid), -EINVAL);
	harness_pin_restore();
}

/* Last: every symbol of both maps went through ffi_call at least once. */
static void test_coverage(void)
{
	unsigned long total = 0;
	size_t called = 0;

	for (size_t i = 0; i < FFI_SIGS_COUNT; i++) {
		if (!ffi_sigs[i].fn)
			continue;
		total += ffi_sigs[i].calls;
		if (ffi_sigs[i].calls) {
			called++;
			continue;
		}
		fprintf(stderr, "%s@%s was never called: add a call to "
			"tests/test-ffi.c\n", ffi_sigs[i].name, ffi_sigs[i].node);
		CU_FAIL("a map symbol was not called through libffi");
	}
	CU_ASSERT_EQUAL(called, nr_map_syms);
	printf("\n  %zu of %zu map symbols called through ffi_call, %lu calls ",
	       called, nr_map_syms, total);
}

static const struct test_case cases[] = {
	{ "every name@VERSION resolves, once, in its library", test_maps },
	{ "name and version functions", test_names },
	{ "get_info and probe_kernel with every release's size", test_info },
	{ "slots: store, load, compare-and-store, compat views, fences",
	  test_slots },
	{ "mm_cid slot and fence", test_mm_cid },
	{ "every map symbol called through libffi", test_coverage },
	{ NULL, NULL }
};

int main(int argc, char **argv)
{
	if (argc == 5) {
		lib_path[FFI_LIB_CORE] = argv[1];
		lib_path[FFI_LIB_FFI] = argv[2];
		map_path[FFI_LIB_CORE] = argv[3];
		map_path[FFI_LIB_FFI] = argv[4];
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [libvrseq.so.1 libvrseq-ffi.so.1 "
			"libvrseq.map libvrseq-ffi.map]\n", argv[0]);
		return EXIT_HARD;
	}
	setup();
	return harness_run("ffi", cases);
}
