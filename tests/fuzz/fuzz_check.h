/*
 * fuzz_check.h - what the fuzz targets that check contracts share: an
 * independent strict UTF-8 validator (not the product's own, so that a
 * bug there cannot hide one in the decoder) and check(), which aborts
 * naming the target's line.  Header-only: each target is one file.
 */
#ifndef AFGW_FUZZ_CHECK_H
#define AFGW_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static inline bool valid_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned b = p[i];
		size_t k;
		uint32_t cp, min;
		if (b < 0x80) {
			i++;
			continue;
		} else if (b >= 0xC2 && b <= 0xDF) {
			k = 1, cp = b & 0x1F, min = 0x80;
		} else if (b >= 0xE0 && b <= 0xEF) {
			k = 2, cp = b & 0x0F, min = 0x800;
		} else if (b >= 0xF0 && b <= 0xF4) {
			k = 3, cp = b & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += k + 1;
	}
	return true;
}

static inline void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: contract broken: %s\n", file, line, what);
	abort();
}

#define check(ok)                                                                                  \
	do {                                                                                       \
		if (!(ok))                                                                         \
			fuzz_fail(__FILE__, __LINE__, #ok);                                        \
	} while (0)

#endif
