/*
 * check.h - the unit tests' tiny assertion macros.
 *
 * CHECK(cond) records a failure with file:line and goes on; a test program
 * ends with `return check_report();`, which prints "N passed, M failed"
 * and returns non-zero if anything failed.
 */
#ifndef AFGW_CHECK_H
#define AFGW_CHECK_H

#include <stdio.h>
#include <string.h>

static _Atomic unsigned check_passed, check_failed; /* CHECKs may run on several threads */

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (cond) {                                                      \
			check_passed++;                                          \
		} else {                                                         \
			check_failed++;                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,   \
				__LINE__, #cond);                                \
		}                                                                \
	} while (0)

#define CHECK_INT(a, b)                                                          \
	do {                                                                     \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);  \
		if (check_a_ == check_b_) {                                      \
			check_passed++;                                          \
		} else {                                                         \
			check_failed++;                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, check_a_, check_b_); \
		}                                                                \
	} while (0)

/* Compare a slice / buffer of n bytes with a NUL-terminated string. */
#define CHECK_MEM(p, n, lit)                                                     \
	do {                                                                     \
		const char *check_p_ = (const char *)(p);                        \
		size_t check_n_ = (n);                                           \
		const char *check_l_ = (lit);                                    \
		if (check_n_ == strlen(check_l_) &&                              \
		    (check_n_ == 0 || memcmp(check_p_, check_l_, check_n_) == 0)) { \
			check_passed++;                                          \
		} else {                                                         \
			check_failed++;                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s == \"%s\" (got \"%.*s\")\n", \
				__FILE__, __LINE__, #p, check_l_, (int)check_n_, \
				check_p_ ? check_p_ : "");                       \
		}                                                                \
	} while (0)

#define CHECK_STR(s, lit) CHECK_MEM((s).p, (s).len, lit)

/* Compare a NUL-terminated string (NULL counts as "") with another. */
#define CHECK_CSTR(s, lit)                                                       \
	do {                                                                     \
		const char *check_s_ = (s);                                      \
		CHECK_MEM(check_s_, check_s_ ? strlen(check_s_) : 0, lit);       \
	} while (0)

static inline int check_report(void)
{
	printf("%u passed, %u failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
