/*
 * normalize.c - anti-evasion normalization of SMS text and rule literals.
 *
 * Input: UTF-8 bytes (possibly invalid).  Output: canonical UTF-8 in a
 * caller-owned, reused buffer, with an offset map back to the input.  Rules
 * and traffic both pass through here, so a rule literal and an evasive
 * spelling of it meet in one form.  Called by workers (per message) and by
 * the control thread (per rule literal); nothing here is shared or mutable.
 *
 * One pass over the input, code point by code point, in two stages:
 *
 *   1. fold: decode (invalid UTF-8 -> U+FFFD, one per maximal ill-formed
 *      subsequence), homoglyph fold of the code point, NFKC decomposition
 *      + full case folding (utf8proc_decompose_char), then for each
 *      resulting code point: drop invisibles, traditional -> simplified,
 *      homoglyph fold again.  The results gather in a small "segment" (a
 *      starter and the marks that follow it), which is put in canonical
 *      order and composed (utf8proc_normalize_utf32) when the next
 *      boundary starter arrives.  Folding before composing matters: a
 *      Cyrillic с followed by U+0327 must end as ç, the same thing a second
 *      pass would make of "c" + U+0327, or normalization would not be
 *      idempotent.
 *   2. emit: whitespace runs become one space, leading and trailing ones
 *      go (whatever the flags; control characters other than whitespace
 *      are removed with the invisibles); between two CJK ideographs a run of spaces, punctuation,
 *      symbols, marks and format characters is removed: the run is written
 *      tentatively and cut back when the second ideograph arrives.
 *
 * Every output byte maps to the input offset of the first code point of
 * the segment that produced it; segments are almost always one code point,
 * so the map is exact except inside combining sequences.
 *
 * Speed: runs of printable ASCII and of BMP unified ideographs (nearly all
 * of a Chinese SMS) take fast paths that do the same thing without
 * utf8proc; everything else pays one utf8proc_decompose_char per code
 * point.  About 0.7 us for a 47-character Chinese SMS at -O2 on one core
 * (test_normalize prints a figure for its own build).  The unit test
 * checks every code point for idempotence and against utf8proc's own
 * NFKC_Casefold.
 *
 * Deliberately not done: word segmentation or phrase-level conversion
 * (OpenCC's phrase tables), collapsing repeated characters (谢谢 stays),
 * touching digits or letters between ideographs (第1名 stays).
 */
#include <errno.h>
#include <stdlib.h>
#include <utf8proc.h>

#include "afgw/normalize.h"

#include "t2s_table.h"

#define SEG_MAX    64 /* code points awaiting composition */
#define MARKS_MAX  30 /* non-starters kept after one starter (UAX #15 stream-safe) */
#define DECOMP_MAX 32 /* longest NFKC + case fold of one code point is 18 (U+FDFA) */

/*
 * Homoglyphs: letters that render identically (or nearly so) to an ASCII
 * letter in the fonts phones use.  Source: Unicode's confusables.txt
 * (UTS #39), restricted to Latin, Greek and Cyrillic letters whose
 * confusable target is a single ASCII letter, minus the pairs that are only
 * alike in some fonts.  Capitals are folded before case folding (Greek Ν
 * looks like N, not like its lowercase ν -> v), lowercase after it; a
 * capital that only looks like an ASCII capital (Cyrillic В, Н, Т) has no
 * lowercase entry, since в, н, т do not look like b, h, t.  Letters that
 * look like digits (З, б) are left alone: digits carry meaning.  Sorted.
 */
static const struct {
	uint16_t from;
	char to;
} homoglyphs[] = {
	{ 0x0131, 'i' }, /* ı dotless i */
	{ 0x0251, 'a' }, /* ɑ Latin alpha */
	{ 0x0261, 'g' }, /* ɡ script g */
	{ 0x0269, 'i' }, /* ɩ Latin iota */
	{ 0x037F, 'J' }, /* Ϳ */
	{ 0x0391, 'A' }, /* Α */
	{ 0x0392, 'B' }, /* Β */
	{ 0x0395, 'E' }, /* Ε */
	{ 0x0396, 'Z' }, /* Ζ */
	{ 0x0397, 'H' }, /* Η */
	{ 0x0399, 'I' }, /* Ι */
	{ 0x039A, 'K' }, /* Κ */
	{ 0x039C, 'M' }, /* Μ */
	{ 0x039D, 'N' }, /* Ν */
	{ 0x039F, 'O' }, /* Ο */
	{ 0x03A1, 'P' }, /* Ρ */
	{ 0x03A4, 'T' }, /* Τ */
	{ 0x03A5, 'Y' }, /* Υ */
	{ 0x03A7, 'X' }, /* Χ */
	{ 0x03B1, 'a' }, /* α */
	{ 0x03B9, 'i' }, /* ι */
	{ 0x03BA, 'k' }, /* κ */
	{ 0x03BD, 'v' }, /* ν */
	{ 0x03BF, 'o' }, /* ο */
	{ 0x03C1, 'p' }, /* ρ */
	{ 0x03C4, 't' }, /* τ */
	{ 0x03C5, 'u' }, /* υ */
	{ 0x03C7, 'x' }, /* χ */
	{ 0x03F2, 'c' }, /* ϲ lunate sigma */
	{ 0x03F3, 'j' }, /* ϳ yot */
	{ 0x03F9, 'C' }, /* Ϲ */
	{ 0x0405, 'S' }, /* Ѕ */
	{ 0x0406, 'I' }, /* І */
	{ 0x0408, 'J' }, /* Ј */
	{ 0x0410, 'A' }, /* А */
	{ 0x0412, 'B' }, /* В */
	{ 0x0415, 'E' }, /* Е */
	{ 0x041A, 'K' }, /* К */
	{ 0x041C, 'M' }, /* М */
	{ 0x041D, 'H' }, /* Н */
	{ 0x041E, 'O' }, /* О */
	{ 0x0420, 'P' }, /* Р */
	{ 0x0421, 'C' }, /* С */
	{ 0x0422, 'T' }, /* Т */
	{ 0x0423, 'Y' }, /* У */
	{ 0x0425, 'X' }, /* Х */
	{ 0x0430, 'a' }, /* а */
	{ 0x0435, 'e' }, /* е */
	{ 0x043E, 'o' }, /* о */
	{ 0x0440, 'p' }, /* р */
	{ 0x0441, 'c' }, /* с */
	{ 0x0443, 'y' }, /* у */
	{ 0x0445, 'x' }, /* х */
	{ 0x0455, 's' }, /* ѕ */
	{ 0x0456, 'i' }, /* і */
	{ 0x0458, 'j' }, /* ј */
	{ 0x04AE, 'Y' }, /* Ү */
	{ 0x04AF, 'y' }, /* ү */
	{ 0x04BA, 'H' }, /* Һ */
	{ 0x04BB, 'h' }, /* һ */
	{ 0x04C0, 'l' }, /* Ӏ palochka */
	{ 0x04CF, 'l' }, /* ӏ */
	{ 0x0500, 'D' }, /* Ԁ */
	{ 0x0501, 'd' }, /* ԁ */
	{ 0x051A, 'Q' }, /* Ԛ */
	{ 0x051B, 'q' }, /* ԛ */
	{ 0x051C, 'W' }, /* Ԝ */
	{ 0x051D, 'w' }, /* ԝ */
};

/*
 * Starters (combining class 0) that compose with the starter before them:
 * Hangul medial vowels and final consonants, and a few Indic, Sinhala,
 * Myanmar, Balinese and Brahmi-family vowel signs (from UnicodeData.txt:
 * the second half of every canonical pair whose second has class 0).  A
 * segment must not end before one of them.
 */
static bool composes_back(int32_t c)
{
	if (c < 0x09BE)
		return false;
	if ((c >= 0x1161 && c <= 0x1175) || (c >= 0x11A8 && c <= 0x11C2))
		return true;
	switch (c) {
	case 0x09BE: case 0x09D7: case 0x0B3E: case 0x0B56: case 0x0B57: case 0x0BBE:
	case 0x0BD7: case 0x0CC2: case 0x0CD5: case 0x0CD6: case 0x0D3E: case 0x0D57:
	case 0x0DCF: case 0x0DDF: case 0x102E: case 0x1B35: case 0x11127: case 0x1133E:
	case 0x11357: case 0x114B0: case 0x114BA: case 0x114BD: case 0x115AF: case 0x11930:
		return true;
	default:
		return false;
	}
}

static bool is_cjk(int32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
	       (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x323AF);
}

/* Unified ideographs of the BMP: NFKC and case folding leave them alone. */
static bool is_plain_cjk(int32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF);
}

static int32_t homoglyph(int32_t c)
{
	if (c < 0x0131 || c > 0x051D)
		return c;
	size_t lo = 0, hi = AFGW_ARRAY_SIZE(homoglyphs);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (homoglyphs[mid].from == c)
			return (unsigned char)homoglyphs[mid].to;
		if (homoglyphs[mid].from < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return c;
}

static int32_t t2s_search(int32_t c)
{
	size_t lo = 0, hi = T2S_COUNT;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t2s_from[mid] == (uint32_t)c)
			return (int32_t)t2s_to[mid];
		if (t2s_from[mid] < (uint32_t)c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return c;
}

/* Traditional -> simplified: one bit test for most characters. */
static inline int32_t t2s(int32_t c)
{
	if (c < T2S_MIN || c > T2S_MAX)
		return c;
	if (c >= T2S_BITMAP_LO && c <= T2S_BITMAP_HI) {
		uint32_t i = (uint32_t)(c - T2S_BITMAP_LO);
		if (!((t2s_bitmap[i >> 3] >> (i & 7)) & 1))
			return c;
	}
	return t2s_search(c);
}

/* What stage 2 needs to know about a code point. */
enum kind { K_OTHER, K_SPACE, K_NOISE, K_CJK };

/*
 * Whitespace: ASCII, NEL and the Z* separators.  Noise (removed between
 * ideographs): punctuation, symbols (emoji are So / Sk), marks left
 * hanging on an ideograph or a symbol, format and control characters.
 * Letters, digits, unassigned and private-use characters are neither.
 */
static inline enum kind classify(int32_t c)
{
	if (c < 0x80) {
		if (c == ' ' || (c >= '\t' && c <= '\r'))
			return K_SPACE;
		if (c < 0x30 || (c > 0x39 && c < 0x41) || (c > 0x5A && c < 0x61) || c > 0x7A)
			return K_NOISE;
		return K_OTHER;
	}
	if (is_cjk(c))
		return K_CJK;
	if (c == 0x85)
		return K_SPACE;
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
		return K_SPACE;
	case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
	case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
	case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO: case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC:
	case UTF8PROC_CATEGORY_SK: case UTF8PROC_CATEGORY_SO: case UTF8PROC_CATEGORY_CC:
	case UTF8PROC_CATEGORY_CF:
		return K_NOISE;
	default:
		return K_OTHER;
	}
}

/* Invisible: default-ignorable (zero-width, bidi, soft hyphen, variation
 * selectors, tags, ...) and control characters other than whitespace. */
static bool is_invisible(int32_t c)
{
	if (c < 0x80)
		return (c < 0x20 && !(c >= '\t' && c <= '\r')) || c == 0x7F;
	if (c < 0xA0)
		return c != 0x85;
	return utf8proc_get_property(c)->ignorable;
}

/*
 * Decode one code point from s[0..n), n >= 1.  Ill-formed input gives
 * U+FFFD for each maximal subpart (Unicode §3.9, "best practice"): a lead
 * byte and the continuation bytes that are still valid for it.
 */
static size_t decode(const unsigned char *s, size_t n, int32_t *cp)
{
	unsigned b0 = s[0];
	if (b0 < 0x80) {
		*cp = (int32_t)b0;
		return 1;
	}
	*cp = 0xFFFD;
	if (b0 < 0xC2 || b0 > 0xF4)
		return 1;
	size_t need = b0 < 0xE0 ? 1 : b0 < 0xF0 ? 2 : 3;
	unsigned lo = 0x80, hi = 0xBF;
	if (b0 == 0xE0)
		lo = 0xA0;
	else if (b0 == 0xED)
		hi = 0x9F; /* no surrogates */
	else if (b0 == 0xF0)
		lo = 0x90;
	else if (b0 == 0xF4)
		hi = 0x8F;
	uint32_t c = b0 & (0x3Fu >> need);
	for (size_t k = 1; k <= need; k++) {
		if (k >= n || s[k] < lo || s[k] > hi)
			return k;
		c = (c << 6) | (s[k] & 0x3Fu);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = (int32_t)c;
	return need + 1;
}

struct norm {
	struct afgw_norm_buf *b;
	unsigned flags;
	int err; /* sticky: -ENOMEM */
	/* stage 1: decomposed code points awaiting composition */
	int32_t seg[SEG_MAX];
	uint32_t seg_off[SEG_MAX];
	size_t nseg;
	unsigned nmarks;
	/* stage 2 */
	bool space;         /* a whitespace run is pending */
	uint32_t space_off;
	bool after_cjk;     /* only noise since the last ideograph */
	size_t cjk_end;     /* output length just after that ideograph */
};

static int grow(struct afgw_norm_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (cap > SIZE_MAX / 2 / sizeof(uint32_t))
			return -ENOMEM;
		cap *= 2;
	}
	if (cap == b->cap)
		return 0;
	char *t = realloc(b->text, cap);
	if (!t)
		return -ENOMEM;
	b->text = t;
	uint32_t *m = realloc(b->map, cap * sizeof(*m));
	if (!m)
		return -ENOMEM; /* text is bigger than cap now, which is harmless */
	b->map = m;
	b->cap = cap;
	return 0;
}

/* Append the UTF-8 bytes of one code point, all mapped to off.  Fields
 * are read into locals first: the byte stores may alias anything. */
static inline void put(struct norm *st, int32_t c, uint32_t off)
{
	struct afgw_norm_buf *b = st->b;
	size_t len = b->len;
	if (len + 5 > b->cap) {
		if (grow(b, len + 5) < 0) {
			st->err = -ENOMEM;
			return;
		}
	}
	unsigned char *p = (unsigned char *)b->text + len;
	uint32_t *m = b->map + len;
	uint32_t u = (uint32_t)c;
	if (u < 0x80) {
		m[0] = off;
		p[0] = (unsigned char)u;
		len += 1;
	} else if (u < 0x800) {
		m[0] = m[1] = off;
		p[0] = (unsigned char)(0xC0 | (u >> 6));
		p[1] = (unsigned char)(0x80 | (u & 0x3F));
		len += 2;
	} else if (u < 0x10000) {
		m[0] = m[1] = m[2] = off;
		p[0] = (unsigned char)(0xE0 | (u >> 12));
		p[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
		p[2] = (unsigned char)(0x80 | (u & 0x3F));
		len += 3;
	} else {
		m[0] = m[1] = m[2] = m[3] = off;
		p[0] = (unsigned char)(0xF0 | (u >> 18));
		p[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3F));
		p[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
		p[3] = (unsigned char)(0x80 | (u & 0x3F));
		len += 4;
	}
	b->len = len;
}

static inline void put_space(struct norm *st)
{
	if (st->space && st->b->len > 0)
		put(st, ' ', st->space_off);
	st->space = false;
}

/* Stage 2: whitespace collapsing and CJK noise removal. */
static inline void emit(struct norm *st, int32_t c, uint32_t off)
{
	enum kind k = classify(c);
	if (k == K_SPACE) {
		if (!st->space) {
			st->space = true;
			st->space_off = off;
		}
		return;
	}
	if (st->flags & AFGW_NORM_CJK_NOISE) {
		if (k == K_CJK) {
			if (st->after_cjk) {
				st->b->len = st->cjk_end; /* drop the noise run */
				st->space = false;
			}
			put_space(st);
			put(st, c, off);
			st->after_cjk = true;
			st->cjk_end = st->b->len;
			return;
		}
		if (k != K_NOISE)
			st->after_cjk = false;
	}
	put_space(st);
	put(st, c, off);
}

/* Insertion sort of each run of non-starters by combining class (stable). */
static void reorder(int32_t *s, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		int32_t c = s[i];
		int cc = utf8proc_get_property(c)->combining_class;
		if (cc == 0)
			continue;
		size_t j = i;
		while (j > 0) {
			int pc = utf8proc_get_property(s[j - 1])->combining_class;
			if (pc <= cc)
				break;
			s[j] = s[j - 1];
			j--;
		}
		s[j] = c;
	}
}

static inline void flush(struct norm *st)
{
	size_t n = st->nseg;
	if (n == 0)
		return;
	st->nseg = 0;
	if (n == 1) {
		emit(st, st->seg[0], st->seg_off[0]);
		return;
	}
	reorder(st->seg, n);
	/* STABLE: utf8proc honours the composition exclusions (U+2ADC,
	 * U+1D15E, ...) only with it. */
	utf8proc_ssize_t m = utf8proc_normalize_utf32(st->seg, (utf8proc_ssize_t)n,
							 UTF8PROC_COMPOSE | UTF8PROC_STABLE);
	if (m < 0 || (size_t)m > n)
		m = (utf8proc_ssize_t)n;
	for (size_t i = 0; i < (size_t)m; i++)
		emit(st, st->seg[i], st->seg_off[0]);
}

/*
 * Stage 2 for a run of printable ASCII s[i..end): what emit() does, with
 * the state in locals.  No ASCII character composes with the next ASCII
 * character, so every one is its own segment.  Returns end.
 */
static size_t ascii_run(struct norm *st, const unsigned char *s, size_t i, size_t end)
{
	struct afgw_norm_buf *b = st->b;
	if (b->len + (end - i) + 2 > b->cap && grow(b, b->len + (end - i) + 2) < 0) {
		st->err = -ENOMEM;
		return end;
	}
	char *text = b->text;
	uint32_t *map = b->map;
	size_t len = b->len;
	bool fold = st->flags & AFGW_NORM_NFKC_CASEFOLD;
	bool space = st->space, after_cjk = st->after_cjk;
	uint32_t space_off = st->space_off;

	for (; i < end; i++) {
		unsigned c = s[i];
		if (c == ' ') {
			if (!space) {
				space = true;
				space_off = (uint32_t)i;
			}
			continue;
		}
		bool alnum = (c | 0x20) - 'a' < 26 || c - '0' < 10;
		if (alnum)
			after_cjk = false;
		if (space) {
			if (len) {
				text[len] = ' ';
				map[len++] = space_off;
			}
			space = false;
		}
		if (fold && c - 'A' < 26)
			c += 'a' - 'A';
		text[len] = (char)c;
		map[len++] = (uint32_t)i;
	}
	b->len = len;
	st->space = space;
	st->space_off = space_off;
	st->after_cjk = after_cjk;
	return end;
}

/* A BMP unified ideograph (lead bytes E3..E9) at s[i]? */
static inline bool plain_cjk_at(const unsigned char *s, size_t i, size_t n, uint32_t *c)
{
	if (n - i < 3 || s[i] - 0xE3u > 0xE9u - 0xE3u)
		return false;
	unsigned b1 = s[i + 1], b2 = s[i + 2];
	if (((b1 ^ 0x80) | (b2 ^ 0x80)) & 0xC0)
		return false;
	*c = ((s[i] & 0x0Fu) << 12) | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu);
	return *c >= 0x4E00 || (*c >= 0x3400 && *c <= 0x4DBF); /* E9 ends at U+9FFF */
}

/*
 * Stage 2 for a run of BMP unified ideographs from s[i]: NFKC and case
 * folding leave them alone and they never compose, so each is finished at
 * once; what emit() does, with the state in locals.  Returns the end of
 * the run (i if s[i] does not start one).
 */
static size_t cjk_run(struct norm *st, const unsigned char *s, size_t i, size_t n)
{
	uint32_t c;
	if (!plain_cjk_at(s, i, n, &c))
		return i;
	flush(st);
	if (st->err)
		return n;

	struct afgw_norm_buf *b = st->b;
	bool t2s_on = st->flags & AFGW_NORM_T2S, noise_on = st->flags & AFGW_NORM_CJK_NOISE;
	bool space = st->space, after_cjk = st->after_cjk;
	size_t len = b->len, cjk_end = st->cjk_end;
	do {
		if (len + 6 > b->cap) {
			b->len = len;
			if (grow(b, len + 6) < 0) {
				st->err = -ENOMEM;
				return n;
			}
		}
		if (after_cjk) {
			len = cjk_end; /* drop the noise run */
			space = false;
		}
		if (space) {
			if (len) {
				b->text[len] = ' ';
				b->map[len++] = st->space_off;
			}
			space = false;
		}
		uint32_t *m = b->map + len;
		uint32_t out = t2s_on ? (uint32_t)t2s((int32_t)c) : c;
		if (out == c) {
			memcpy(b->text + len, s + i, 3);
			m[0] = m[1] = m[2] = (uint32_t)i;
			len += 3;
		} else {
			unsigned char *p = (unsigned char *)b->text + len;
			if (out < 0x10000) {
				m[0] = m[1] = m[2] = (uint32_t)i;
				p[0] = (unsigned char)(0xE0 | (out >> 12));
				p[1] = (unsigned char)(0x80 | ((out >> 6) & 0x3F));
				p[2] = (unsigned char)(0x80 | (out & 0x3F));
				len += 3;
			} else { /* a few simplified forms are outside the BMP */
				m[0] = m[1] = m[2] = m[3] = (uint32_t)i;
				p[0] = (unsigned char)(0xF0 | (out >> 18));
				p[1] = (unsigned char)(0x80 | ((out >> 12) & 0x3F));
				p[2] = (unsigned char)(0x80 | ((out >> 6) & 0x3F));
				p[3] = (unsigned char)(0x80 | (out & 0x3F));
				len += 4;
			}
		}
		after_cjk = noise_on;
		cjk_end = len;
		i += 3;
	} while (plain_cjk_at(s, i, n, &c));
	b->len = len;
	st->space = space;
	st->after_cjk = after_cjk;
	st->cjk_end = cjk_end;
	return i;
}

/* Stage 1, last step: gather a folded code point into the segment. */
static void push(struct norm *st, int32_t c, uint32_t off, bool plain)
{
	if (!(st->flags & AFGW_NORM_NFKC_CASEFOLD)) {
		emit(st, c, off);
		return;
	}
	int cc = plain ? 0 : utf8proc_get_property(c)->combining_class;
	if (cc == 0 && (plain || !composes_back(c))) {
		flush(st);
		st->seg[0] = c;
		st->seg_off[0] = off;
		st->nseg = 1;
		st->nmarks = 0;
		return;
	}
	if (cc != 0) {
		/* Stream-safe: a starter keeps at most MARKS_MAX marks; the
		 * rest (zalgo text) is dropped, which also bounds the segment. */
		if (st->nmarks >= MARKS_MAX)
			return;
		st->nmarks++;
	} else {
		st->nmarks = 0;
	}
	if (st->nseg == SEG_MAX) {
		if (cc != 0)
			return;
		/* Only long runs of composing starters (Hangul jamo) get
		 * here: keep the last two, which c may compose with (L V + T). */
		int32_t keep[2] = { st->seg[SEG_MAX - 2], st->seg[SEG_MAX - 1] };
		uint32_t keep_off = st->seg_off[0];
		st->nseg = SEG_MAX - 2;
		flush(st);
		st->seg[0] = keep[0];
		st->seg[1] = keep[1];
		st->seg_off[0] = st->seg_off[1] = keep_off;
		st->nseg = 2;
	}
	st->seg[st->nseg] = c;
	st->seg_off[st->nseg] = st->nseg ? st->seg_off[0] : off;
	st->nseg++;
}

/* Stage 1: fold one input code point. */
static void take(struct norm *st, int32_t c, uint32_t off)
{
	unsigned f = st->flags;
	int32_t d[DECOMP_MAX];
	utf8proc_ssize_t nd = 1;

	if (is_plain_cjk(c)) {
		/* The bulk of Chinese text: no decomposition, no case. */
		push(st, (f & AFGW_NORM_T2S) ? t2s(c) : c, off, true);
		return;
	}
	if (c < 0x80) {
		if ((f & AFGW_NORM_INVISIBLE) && is_invisible(c))
			return;
		if ((f & AFGW_NORM_NFKC_CASEFOLD) && c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		push(st, c, off, true);
		return;
	}
	if (f & AFGW_NORM_HOMOGLYPH)
		c = homoglyph(c); /* capitals, before case folding */
	d[0] = c;
	if (f & AFGW_NORM_NFKC_CASEFOLD) {
		int bc = 0;
		nd = utf8proc_decompose_char(
			c, d, DECOMP_MAX,
			UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD, &bc);
		if (nd < 0 || nd > DECOMP_MAX) {
			d[0] = 0xFFFD;
			nd = 1;
		}
	}
	for (utf8proc_ssize_t i = 0; i < nd; i++) {
		int32_t x = d[i];
		if ((f & AFGW_NORM_INVISIBLE) && is_invisible(x))
			continue;
		if (f & AFGW_NORM_T2S)
			x = t2s(x);
		if (f & AFGW_NORM_HOMOGLYPH)
			x = homoglyph(x);
		push(st, x, off, x < 0x80 || is_plain_cjk(x));
	}
}

void afgw_norm_buf_init(struct afgw_norm_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void afgw_norm_buf_fini(struct afgw_norm_buf *b)
{
	free(b->text);
	free(b->map);
	memset(b, 0, sizeof(*b));
}

/*
 * The whole pipeline (see the top of the file).  The buffer is sized for
 * the usual worst case up front (3 bytes out per byte in: an invalid byte
 * becomes U+FFFD) and grows further only for rare expansions (U+FDFA is 18
 * code points).  Returns 0, -ENOMEM (b->len is then 0), or -EOVERFLOW when
 * n does not fit the 32-bit offset map.
 */
int afgw_normalize(const char *in, size_t n, unsigned flags, struct afgw_norm_buf *b)
{
	struct norm st;
	const unsigned char *s = (const unsigned char *)in;

	b->len = 0;
	if (b->cap)
		b->text[0] = '\0';
	if (n >= UINT32_MAX)
		return -EOVERFLOW;
	if (n > (SIZE_MAX - 16) / 3 || (b->cap < 3 * n + 16 && grow(b, 3 * n + 16) < 0))
		return -ENOMEM;
	st.b = b;
	st.flags = flags;
	st.err = 0;
	st.nseg = 0;
	st.nmarks = 0;
	st.space = false;
	st.space_off = 0;
	st.after_cjk = false;
	st.cjk_end = 0;

	for (size_t i = 0; i < n && !st.err;) {
		unsigned c0 = s[i];
		int32_t c;
		/* Fast path: a run of printable ASCII, less its last byte
		 * unless the input ends there: a combining mark may follow,
		 * maybe behind invisibles that are about to be removed. */
		if (c0 >= 0x20 && c0 < 0x7F) {
			size_t end = i + 1;
			while (end < n && s[end] >= 0x20 && s[end] < 0x7F)
				end++;
			if (end < n)
				end--;
			if (end > i) {
				flush(&st);
				i = ascii_run(&st, s, i, end);
				continue;
			}
		}
		if (c0 >= 0xE3 && c0 <= 0xE9) {
			size_t end = cjk_run(&st, s, i, n);
			if (end > i) {
				i = end;
				continue;
			}
		}
		size_t k = decode(s + i, n - i, &c);
		take(&st, c, (uint32_t)i);
		i += k;
	}
	flush(&st);
	if (st.err) {
		b->len = 0;
		b->text[0] = '\0';
		return st.err;
	}
	/* A pending space is trailing whitespace: dropped.  put() kept
	 * room for the terminator and map[len]. */
	b->text[b->len] = '\0';
	b->map[b->len] = (uint32_t)n;
	return 0;
}
