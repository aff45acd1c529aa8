/*
 * normalize.h - anti-evasion text normalization, gateway/normalize.c.
 *
 * Applied identically to rule literals and to traffic text (DESIGN.md §4):
 * Unicode NFKC and case folding (full-width -> half-width, circled and
 * enclosed digits -> digits, compatibility forms), traditional -> simplified
 * Chinese (OpenCC's character table, converted at build time), removal of
 * zero-width / invisible characters, removal of noise symbols and spaces
 * between CJK characters (安 全 账 户, 刷*单, 安\u200b全 -> 安全账户, 刷单,
 * 安全), and a curated homoglyph fold for Latin / Cyrillic / Greek
 * look-alikes.  Repeated characters are kept (谢谢 stays 谢谢), so
 * legitimate doubled characters remain matchable.  Invalid UTF-8 becomes
 * U+FFFD.
 *
 * The output carries an offset map: for every output byte, the offset of
 * the input byte that produced it, so a rule hit can be shown as evidence
 * in the original text.
 *
 * Thread: any; the tables are immutable and built into the program; the
 * caller owns the output buffer (one per worker, reused).
 */
#ifndef AFGW_NORMALIZE_H
#define AFGW_NORMALIZE_H

#include "afgw/common.h"

struct afgw_norm_buf {
	char *text;        /* normalized UTF-8, NUL-terminated */
	size_t len;
	uint32_t *map;     /* map[i]: input offset of output byte i (len + 1 entries; map[len] = input length) */
	size_t cap;        /* bytes allocated for text (map has as many entries) */
};

void afgw_norm_buf_init(struct afgw_norm_buf *b);
void afgw_norm_buf_fini(struct afgw_norm_buf *b);

/* Flags: all on by default (AFGW_NORM_ALL); tests may switch steps off. */
enum {
	AFGW_NORM_NFKC_CASEFOLD = 1u << 0,
	AFGW_NORM_T2S = 1u << 1,
	AFGW_NORM_INVISIBLE = 1u << 2,
	AFGW_NORM_CJK_NOISE = 1u << 3,
	AFGW_NORM_HOMOGLYPH = 1u << 4,
	AFGW_NORM_ALL = 0x1f,
};

/*
 * Normalize in[0..n) into b (grown as needed: the output is at most a
 * small constant times the input; the buffer is reused between calls so
 * the steady state does not allocate).  Returns 0, -ENOMEM (b->len is
 * then 0), or -EOVERFLOW when n does not fit the 32-bit offset map.
 */
int afgw_normalize(const char *in, size_t n, unsigned flags, struct afgw_norm_buf *b);

#endif
