/*
 * number.c - canonical numbers for every lookup key (DESIGN.md §6).
 *
 * Input: a number as it came (SIP user part, tel: URI, SMPP address with
 * its TON) and the default country code.  Output: the canonical text and
 * its kind.  Pure functions, any thread, nothing allocated.
 *
 * First the text is cleaned: a "tel:" scheme is dropped, everything from
 * the first ';' (tel: / user=phone parameters such as phone-context) is
 * cut (not for TON 5, which is text), surrounding spaces are trimmed and
 * the visual separators - . ( ) and space are skipped.  Control
 * characters make it INVALID; letters (or any non-ASCII byte) make it
 * ALPHA, kept as written.  The digits are then placed by the rules below;
 * "cc" is the default country code.
 *
 *   input (separators removed)          kind     canonical
 *   +D, 00D, TON 1 D                    E164     +D (D 3-15 digits, no
 *                                                leading 0; "+<cc>0..."
 *                                                drops that 0 for cc)
 *   China (cc 86), also under TON 2:
 *     1[3-9] + 9 digits (mobile)        E164     +86 + mobile
 *     0 + mobile                        E164     +86 + mobile
 *     0 + area code + subscriber        E164     +86 + NSN (NSN 10xxxxxxxx,
 *                                                2xxxxxxxxx, [3-9] + 9-10)
 *     86 + mobile or fixed NSN          E164     +86 + NSN
 *     1[0-2]... 3-20 digits             SERVICE  as dialled: 110 119 120
 *                                                122 114, 10086 10000,
 *                                                12381 12110 12315, 106..
 *                                                SMS ports, 12520 + mobile
 *     95xxx, 95xxxx, 96xxx, 96xxxx      SERVICE  as dialled (95588, 96110)
 *     400 / 800 + 7 digits              SERVICE  as dialled: dialled
 *                                                nationwide without trunk
 *                                                prefix, like 95xxx
 *   any other cc:
 *     0 + 6 or more digits (trunk 0)    E164     +cc + rest
 *     cc + rest, 10-15 digits           E164     +D
 *   3-6 digits, not starting with 0     SERVICE  as dialled (short codes)
 *   digits with * or #                  SERVICE  as dialled (*123#)
 *   anything else up to 15 digits       DIGITS   as dialled
 *   more than 15 digits otherwise       INVALID
 *
 * TON: 1 (international) means the digits are cc + NSN; a TON 1 address
 * that starts with a single 0 cannot be that and gets the heuristics.
 * 2 (national) gets the national rules, which the heuristics try first
 * anyway; 0, 3, 4, 6 and none (SIP) get the heuristics.  5 (alphanumeric)
 * keeps the text as ALPHA - unless it is a clean number: a handset shows
 * an alphanumeric "13800138000" as that number, so it must meet the same
 * list entry as the real one (otherwise the TON would be a way round
 * every number list).  For the same reason TON 6 (abbreviated) is not
 * taken on trust.  Country code 0 (or > 999) means "unknown": only +, 00
 * and TON 1 give E164.  Trunk prefix 0 and IDD prefix 00 are assumed for
 * every country (NANP's 1 / 011 are not special-cased).
 */
#include <errno.h>
#include <stdio.h>

#include "afgw/number.h"

#define MAX_DIGITS 20 /* longest service number (SMPP address: 20 chars) */
#define E164_MAX   15

struct clean {
	const char *p; /* the text after tel:, ';' and trimming */
	size_t len;
	char d[MAX_DIGITS + 1];
	size_t nd;
	bool too_long; /* more than MAX_DIGITS digits */
	bool plus;     /* one leading '+' */
	bool bad_plus; /* a '+' anywhere else */
	bool star;     /* '*' or '#' */
	bool letters;  /* ASCII letters or non-ASCII bytes */
	bool other;    /* punctuation no number has */
	bool ctrl;     /* C0 control or DEL */
};

/*
 * What each byte of a number's text is to clean(), one lookup per byte:
 * 0 other punctuation, 1 separator (space - . ( )), 2 digit, 3 '*' '#',
 * 4 '+', 5 letter or non-ASCII, 6 C0 control or DEL.
 */
enum { K_OTHER, K_SEP, K_DIGIT, K_STAR, K_PLUS, K_LETTER, K_CTRL };

/* clang-format off */
static const uint8_t kind_of[256] = {
	6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* 00 */
	6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, /* 10 */
	1, 0, 0, 3, 0, 0, 0, 0, 1, 1, 3, 4, 0, 1, 1, 0, /* 20 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, /* 30 */
	0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* 40 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 0, 0, 0, 0, /* 50 */
	0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* 60 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 0, 0, 0, 6, /* 70 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* 80 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* 90 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* a0 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* b0 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* c0 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* d0 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* e0 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* f0 */
};
/* clang-format on */

static void clean(struct afgw_str raw, unsigned ton, struct clean *c)
{
	memset(c, 0, sizeof(*c));
	const char *p = raw.p ? raw.p : "";
	size_t n = raw.p ? raw.len : 0;

	while (n && *p == ' ') {
		p++;
		n--;
	}
	/* An SMPP alphanumeric address is text, not a URI. */
	if (ton != AFGW_TON_ALPHANUMERIC) {
		if (n >= 4 && afgw_str_caseeq(afgw_str_make(p, 4), "tel:")) {
			p += 4;
			n -= 4;
		}
		const char *semi = memchr(p, ';', n);
		if (semi)
			n = (size_t)(semi - p);
	}
	while (n && *p == ' ') {
		p++;
		n--;
	}
	while (n && p[n - 1] == ' ')
		n--;
	c->p = p;
	c->len = n;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		/* digits first: they are nearly every byte, and a jump per byte
		 * through the switch below is what this loop would cost */
		if ((unsigned)(ch - '0') < 10) {
			if (c->nd == MAX_DIGITS)
				c->too_long = true;
			else
				c->d[c->nd++] = (char)ch;
			continue;
		}
		switch (kind_of[ch]) {
		case K_STAR:
			if (c->nd == MAX_DIGITS)
				c->too_long = true;
			else
				c->d[c->nd++] = (char)ch;
			c->star = true;
			break;
		case K_CTRL:
			c->ctrl = true;
			break;
		case K_LETTER:
			c->letters = true;
			break;
		case K_PLUS:
			if (c->nd == 0 && !c->plus)
				c->plus = true;
			else
				c->bad_plus = true;
			break;
		case K_OTHER:
			c->other = true;
			break;
		default: /* K_SEP (K_DIGIT was taken above) */
			break;
		}
	}
	c->d[c->nd] = '\0';
}

static int set(struct afgw_number *out, enum afgw_number_kind kind, const char *prefix,
               const char *p, size_t n)
{
	size_t pl = strlen(prefix);
	if (pl + n > AFGW_NUMBER_MAX)
		return -1;
	memcpy(out->canon, prefix, pl);
	if (n)
		memcpy(out->canon + pl, p, n);
	out->len = pl + n;
	out->canon[out->len] = '\0';
	out->kind = kind;
	return 0;
}

/* INVALID: the printable ASCII of the raw input, truncated. */
static int invalid(struct afgw_str raw, struct afgw_number *out)
{
	size_t k = 0;
	for (size_t i = 0; raw.p && i < raw.len && k < AFGW_NUMBER_MAX; i++)
		if (raw.p[i] >= 0x20 && raw.p[i] < 0x7F)
			out->canon[k++] = raw.p[i];
	out->canon[k] = '\0';
	out->len = k;
	out->kind = AFGW_NUMBER_INVALID;
	return -EINVAL;
}

/* Well-formed UTF-8 without C1 controls (U+0080-U+009F). */
static bool printable_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned b = p[i];
		if (b < 0x80) {
			if (b < 0x20 || b == 0x7F)
				return false;
			i++;
			continue;
		}
		size_t k;
		uint32_t cp, min;
		if (b >= 0xC2 && b <= 0xDF) {
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
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ||
		    (cp >= 0x80 && cp <= 0x9F))
			return false;
		i += k + 1;
	}
	return true;
}

/*
 * [p, p+n) is all ASCII digits.  Eight bytes at a time: with no byte of w
 * at or above 0x80, w + 0x46 sets a byte's top bit exactly when the byte
 * is above '9', and (w | 0x80) - 0x30 keeps it exactly when the byte is
 * '0' or above; neither carries into the next byte.
 */
static inline bool digits_only(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101u, highs = ones * 0x80;
	if (n >= 8) {
		for (size_t i = 0;; i += 8) {
			uint64_t w;
			if (i + 8 > n)
				i = n - 8;
			memcpy(&w, p + i, 8);
			if (((w | (w + ones * 0x46)) & highs) != 0 ||
			    (((w | highs) - ones * 0x30) & highs) != highs)
				return false;
			if (i + 8 == n)
				return true;
		}
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned)(p[i] - '0') >= 10)
			return false;
	return true;
}

/* d (NUL-terminated) starts with prefix; by hand, as strncmp() is a call per use. */
static inline bool starts(const char *d, const char *prefix)
{
	for (; *prefix; d++, prefix++)
		if (*d != *prefix)
			return false;
	return true;
}

static inline bool is_cn(const char *cc)
{
	return cc[0] == '8' && cc[1] == '6' && cc[2] == '\0';
}

static bool all_digits(const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (d[i] < '0' || d[i] > '9')
			return false;
	return true;
}

static bool cn_mobile(const char *d, size_t n)
{
	return n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

/* A Chinese fixed-line NSN: area code (10, 2x, or 3 digits from 3xx to
 * 9xx) + a 7- or 8-digit subscriber number. */
static bool cn_fixed(const char *d, size_t n)
{
	if (d[0] == '1')
		return n == 10 && d[1] == '0';
	if (d[0] == '2')
		return n == 10;
	return d[0] >= '3' && d[0] <= '9' && (n == 10 || n == 11);
}

static bool cn_service(const char *d, size_t n)
{
	if (d[0] == '1' && d[1] >= '0' && d[1] <= '2')
		return n >= 3;
	if (starts(d, "95") || starts(d, "96"))
		return n == 5 || n == 6;
	if (starts(d, "400") || starts(d, "800"))
		return n == 10;
	return false;
}

/* "+D": E.164 if D can be one.  A trunk 0 written after the default
 * country code ("+44 (0)20 ...", "+86 0755 ...") is dropped. */
static int intl(struct afgw_str raw, const char *d, size_t n, const char *cc,
                struct afgw_number *out)
{
	size_t cl = strlen(cc);
	if (cl && n > cl + 1 && starts(d, cc) && d[cl] == '0' && d[cl + 1] != '0') {
		char buf[MAX_DIGITS + 1];
		memcpy(buf, d, cl);
		memcpy(buf + cl, d + cl + 1, n - cl - 1);
		buf[n - 1] = '\0';
		return intl(raw, buf, n - 1, "", out);
	}
	if (n < 3 || n > E164_MAX || d[0] == '0')
		return invalid(raw, out);
	return set(out, AFGW_NUMBER_E164, "+", d, n);
}

/* National rules; 1 when they placed the number, 0 when not. */
static int national(const char *d, size_t n, const char *cc, struct afgw_number *out)
{
	if (is_cn(cc)) {
		if (cn_mobile(d, n))
			return set(out, AFGW_NUMBER_E164, "+86", d, n) == 0;
		if (cn_service(d, n))
			return set(out, AFGW_NUMBER_SERVICE, "", d, n) == 0;
		if (n >= 2 && d[0] == '0' && d[1] != '0' &&
		    (cn_mobile(d + 1, n - 1) || cn_fixed(d + 1, n - 1)))
			return set(out, AFGW_NUMBER_E164, "+86", d + 1, n - 1) == 0;
		return 0;
	}
	if (*cc && n >= 7 && d[0] == '0' && d[1] != '0' && strlen(cc) + n - 1 <= E164_MAX) {
		char plus_cc[5] = "+";
		memcpy(plus_cc + 1, cc, strlen(cc) + 1);
		return set(out, AFGW_NUMBER_E164, plus_cc, d + 1, n - 1) == 0;
	}
	return 0;
}

/* Digits already carrying the country code, without + or 00. */
static bool cc_prefixed(const char *d, size_t n, const char *cc)
{
	size_t cl = strlen(cc);
	if (!cl || !starts(d, cc))
		return false;
	if (is_cn(cc))
		return cn_mobile(d + 2, n - 2) || cn_fixed(d + 2, n - 2);
	return n >= 10 && n <= E164_MAX;
}

static int digits(struct afgw_str raw, const struct clean *c, unsigned ton, const char *cc,
                  struct afgw_number *out)
{
	const char *d = c->d;
	size_t n = c->nd;

	if (c->plus)
		return intl(raw, d, n, cc, out);
	if (ton == AFGW_TON_INTERNATIONAL) {
		size_t skip = starts(d, "00") ? 2 : 0;
		if (n > skip && d[skip] != '0')
			return intl(raw, d + skip, n - skip, cc, out);
	}
	if (n > 2 && starts(d, "00"))
		return intl(raw, d + 2, n - 2, cc, out);
	if (national(d, n, cc, out))
		return 0;
	if (cc_prefixed(d, n, cc))
		return intl(raw, d, n, cc, out);
	if (n >= 3 && n <= 6 && d[0] != '0')
		return set(out, AFGW_NUMBER_SERVICE, "", d, n);
	if (n > E164_MAX)
		return invalid(raw, out);
	return set(out, AFGW_NUMBER_DIGITS, "", d, n);
}

/*
 * The forms most signalling carries — a Chinese mobile number bare, or
 * with 86 / +86 / 0086 in front — answered without the general path.  Gives
 * exactly what the general path gives for them (test_number checks both).
 */
static bool fast_cn_mobile(struct afgw_str raw, unsigned ton, struct afgw_number *out)
{
	const char *p = raw.p;
	size_t skip;
	if (!p)
		return false;
	if (raw.len == 11 && (ton == AFGW_TON_NONE || ton == AFGW_TON_UNKNOWN ||
			      ton == AFGW_TON_NATIONAL))
		skip = 0;
	else if (raw.len == 13 && p[0] == '8' && p[1] == '6' && ton != AFGW_TON_ALPHANUMERIC &&
		 ton != AFGW_TON_ABBREVIATED)
		skip = 2;
	else if (raw.len == 14 && p[0] == '+' && p[1] == '8' && p[2] == '6')
		skip = 3;
	else if (raw.len == 15 && p[0] == '0' && p[1] == '0' && p[2] == '8' && p[3] == '6')
		skip = 4; /* 00 86 + mobile: the general path gives +86 + mobile under every TON */
	else
		return false;
	p += skip;
	if (p[0] != '1' || p[1] < '3' || p[1] > '9' || !digits_only(p + 2, 9))
		return false;
	memcpy(out->canon, "+86", 3);
	memcpy(out->canon + 3, p, 11);
	out->canon[14] = '\0';
	out->len = 14;
	out->kind = AFGW_NUMBER_E164;
	return true;
}

/*
 * What clean() makes of a number written as digits with at most a leading
 * '+' (most numbers in signalling), without its byte-by-byte pass: false
 * when raw is anything else.  Only the fields such input can set are set.
 */
static bool plain_digits(struct afgw_str raw, struct clean *c)
{
	const char *p = raw.p;
	size_t n = raw.len;
	if (!p || n == 0 || n > MAX_DIGITS + 1)
		return false;
	bool plus = p[0] == '+';
	size_t nd = n - plus;
	if (nd == 0 || nd > MAX_DIGITS || !digits_only(p + plus, nd))
		return false;
	c->p = p;
	c->len = n;
	memcpy(c->d, p + plus, nd);
	c->d[nd] = '\0';
	c->nd = nd;
	c->too_long = c->bad_plus = c->star = c->letters = c->other = c->ctrl = false;
	c->plus = plus;
	return true;
}

/* Everything afgw_number_canon() does but its fast path. */
static __attribute__((noinline)) int canon(struct afgw_str raw, unsigned ton,
                                           unsigned country_code, struct afgw_number *out)
{
	struct clean c;
	char cc[4] = "";

	out->canon[0] = '\0';
	out->len = 0;
	out->kind = AFGW_NUMBER_EMPTY;
	if (country_code >= 1 && country_code <= 999) {
		/* by hand: this runs for every number of every message */
		size_t k = 0;
		if (country_code >= 100)
			cc[k++] = (char)('0' + country_code / 100);
		if (country_code >= 10)
			cc[k++] = (char)('0' + country_code / 10 % 10);
		cc[k++] = (char)('0' + country_code % 10);
		cc[k] = '\0';
	}
	if (plain_digits(raw, &c))
		return digits(raw, &c, ton, cc, out); /* what the checks below come to for it */
	clean(raw, ton, &c);

	if (c.ctrl)
		return invalid(raw, out);
	if (c.len == 0)
		return 0; /* EMPTY */

	bool clean_number = c.nd && !c.letters && !c.other && !c.bad_plus;
	if (c.letters || c.other || (ton == AFGW_TON_ALPHANUMERIC && !clean_number)) {
		if (!(c.letters || ton == AFGW_TON_ALPHANUMERIC) || !printable_utf8(c.p, c.len) ||
		    set(out, AFGW_NUMBER_ALPHA, "", c.p, c.len) < 0)
			return invalid(raw, out);
		return 0;
	}
	if (c.bad_plus || c.too_long)
		return invalid(raw, out);
	if (c.nd == 0) {
		if (c.plus)
			return invalid(raw, out);
		return 0; /* separators only: EMPTY */
	}
	if (c.star) {
		if (c.plus)
			return invalid(raw, out);
		return set(out, AFGW_NUMBER_SERVICE, "", c.d, c.nd);
	}
	if (!all_digits(c.d, c.nd))
		return invalid(raw, out);
	return digits(raw, &c, ton, cc, out);
}

/*
 * The fast path alone, so that a Chinese mobile number (most of the
 * numbers of most messages) does not pay for the general path's stack
 * frame and saved registers: canon() is kept out of line.
 */
int afgw_number_canon(struct afgw_str raw, unsigned ton, unsigned country_code,
                      struct afgw_number *out)
{
	if (country_code == 86 && fast_cn_mobile(raw, ton, out))
		return 0;
	return canon(raw, ton, country_code, out);
}

const char *afgw_number_kind_name(enum afgw_number_kind k)
{
	switch (k) {
	case AFGW_NUMBER_EMPTY:
		return "empty";
	case AFGW_NUMBER_E164:
		return "e164";
	case AFGW_NUMBER_SERVICE:
		return "service";
	case AFGW_NUMBER_DIGITS:
		return "digits";
	case AFGW_NUMBER_ALPHA:
		return "alpha";
	case AFGW_NUMBER_INVALID:
		return "invalid";
	}
	return "invalid";
}
