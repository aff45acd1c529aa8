/*
 * json.c - JSON output for events and summaries.
 *
 * The writer tracks only whether a comma is due; callers write keys and
 * values in order.  String escaping validates UTF-8 as it goes (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF) and writes
 * U+FFFD for every bad byte, so hostile SMS text cannot break the output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "afgw/json.h"

void afgw_jbuf_init(struct afgw_jbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void afgw_jbuf_fini(struct afgw_jbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void afgw_jbuf_reset(struct afgw_jbuf *b)
{
	b->len = 0;
	b->need_comma = false;
	b->failed = false;
}

bool afgw_jbuf_write(struct afgw_jbuf *b, FILE *out)
{
	bool ok = !b->failed && (!b->len || fwrite(b->p, 1, b->len, out) == b->len);
	afgw_jbuf_reset(b);
	return ok;
}

static bool reserve(struct afgw_jbuf *b, size_t n)
{
	if (b->failed)
		return false;
	if (b->len + n <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap < b->len + n)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static inline void put(struct afgw_jbuf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap && !reserve(b, n))
		return;
	if (b->failed)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void afgw_json_raw(struct afgw_jbuf *b, const char *s, size_t n)
{
	put(b, s, n);
}

static void comma(struct afgw_jbuf *b)
{
	if (b->need_comma)
		put(b, ",", 1);
	b->need_comma = true;
}

void afgw_json_obj_begin(struct afgw_jbuf *b)
{
	comma(b);
	put(b, "{", 1);
	b->need_comma = false;
}

void afgw_json_obj_end(struct afgw_jbuf *b)
{
	put(b, "}", 1);
	b->need_comma = true;
}

void afgw_json_arr_begin(struct afgw_jbuf *b)
{
	comma(b);
	put(b, "[", 1);
	b->need_comma = false;
}

void afgw_json_arr_end(struct afgw_jbuf *b)
{
	put(b, "]", 1);
	b->need_comma = true;
}

void afgw_json_key(struct afgw_jbuf *b, const char *key)
{
	size_t n = strlen(key);
	char *o = afgw_jbuf_room(b, n + 4);
	if (!o)
		return;
	if (b->need_comma)
		*o++ = ',';
	*o++ = '"';
	memcpy(o, key, n);
	o += n;
	*o++ = '"';
	*o++ = ':';
	b->len = (size_t)(o - b->p);
	b->need_comma = false;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0;
		if (c == 0xf4 && p[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

bool afgw_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t k = utf8_seq(p + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

/*
 * What each byte needs in a JSON string: 0 stands for itself; ESC_SHORT a
 * two-byte escape (the letter is in short_esc); ESC_U a \u00XX escape;
 * ESC_NL a CR or LF (a fold, when unfolding; else short); ESC_HIGH the
 * start of a UTF-8 sequence, checked.
 */
enum { PLAIN = 0, ESC_SHORT, ESC_U, ESC_NL, ESC_HIGH };

/* clang-format off */
static const uint8_t esc[256] = {
	2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 3, 2, 2, 3, 2, 2, /* 00: \t short, \n \r folds */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 20: '"' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 50: '\\' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 7f is plain */
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};
/* clang-format on */

/*
 * Runs of bytes that stand for themselves are the common case, so eight
 * bytes are tested at a time with the "has a byte less than" trick:
 * below(x, k) is non-zero exactly when some byte of x is below k
 * (k <= 0x80).  A byte needs work when it is below 0x20, '"', '\\', or
 * 0x80 and up.
 */
#define REP(c) (0x0101010101010101ull * (uint8_t)(c))

static inline uint64_t below(uint64_t x, uint8_t k)
{
	return (x - REP(k)) & ~x & REP(0x80);
}

static inline uint64_t needs_work(uint64_t x)
{
	return below(x, 0x20) | below(x ^ REP('"'), 1) | below(x ^ REP('\\'), 1) | (x & REP(0x80));
}

/*
 * Copy the run of bytes at p[0..n) that stand for themselves to *op and
 * return its length.  Sixteen bytes at a time with SSE2 (all of x86-64
 * has it), then eight: each block is stored whole (the caller's room, six
 * bytes per input byte, always covers it) and only the part before its
 * first byte needing work counts.  The lowest
 * flagged byte of needs_work() is exact (a borrow only runs upwards from
 * a byte that is itself flagged), so on little-endian machines its index
 * comes from counting trailing zeros; elsewhere the table finds it.
 */
static inline size_t copy_plain(const unsigned char *p, size_t n, char **op)
{
	char *o = *op;
	size_t i = 0;
#if defined(__SSE2__)
	/* Sixteen at a time: a signed "below 0x20" also catches 0x80 and up. */
	const __m128i sp = _mm_set1_epi8(0x20), qu = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
	while (n - i >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		_mm_storeu_si128((__m128i *)(void *)(o + i), x);
		__m128i bad = _mm_or_si128(_mm_cmplt_epi8(x, sp),
					   _mm_or_si128(_mm_cmpeq_epi8(x, qu), _mm_cmpeq_epi8(x, bs)));
		unsigned mask = (unsigned)_mm_movemask_epi8(bad);
		if (mask) {
			i += (size_t)__builtin_ctz(mask);
			*op = o + i;
			return i;
		}
		i += 16;
	}
#endif
	while (n - i >= 8) {
		uint64_t x, t;
		memcpy(&x, p + i, 8);
		memcpy(o + i, &x, 8);
		t = needs_work(x);
		if (t) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			i += (size_t)__builtin_ctzll(t) >> 3;
			*op = o + i;
			return i;
#else
			break;
#endif
		}
		i += 8;
	}
	while (i < n && esc[p[i]] == PLAIN) {
		o[i] = (char)p[i];
		i++;
	}
	*op = o + i;
	return i;
}

/* Contract in json.h. */
char *afgw_json_put_str(char *o, const char *s, size_t n, bool unfold)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	*o++ = '"';
	while (i < n) {
		/* A run of characters that need no escaping is copied at once. */
		i += copy_plain(p + i, n - i, &o);
		if (i == n)
			break;
		unsigned c = p[i];
		switch (esc[c]) {
		case ESC_NL:
			if (unfold) {
				size_t j = i;
				while (j < n && (p[j] == '\r' || p[j] == '\n'))
					j++;
				if (j < n && (p[j] == ' ' || p[j] == '\t')) {
					while (j < n && (p[j] == ' ' || p[j] == '\t'))
						j++;
					*o++ = ' ';
					i = j;
					break;
				}
			}
			__attribute__((fallthrough));
		case ESC_SHORT:
			*o++ = '\\';
			*o++ = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : (char)c;
			i++;
			break;
		case ESC_U:
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
			i++;
			break;
		default:
			/* Non-ASCII text (Chinese SMS) comes in runs: stay here for the run. */
			do {
				size_t k = utf8_seq(p + i, n - i);
				if (!k) {
					/* U+FFFD for each bad byte */
					o[0] = '\xef';
					o[1] = '\xbf';
					o[2] = '\xbd';
					o += 3;
					i++;
					continue;
				}
				o[0] = (char)p[i];
				o[1] = (char)p[i + 1];
				if (k > 2)
					o[2] = (char)p[i + 2];
				if (k > 3)
					o[3] = (char)p[i + 3];
				o += k;
				i += k;
			} while (i < n && p[i] >= 0x80);
		}
	}
	*o++ = '"';
	return o;
}

static void str_body(struct afgw_jbuf *b, const char *s, size_t n, bool unfold)
{
	/* Worst case 6 bytes of output per input byte; reserve once. */
	if (!reserve(b, AFGW_JSON_STR_MAX(n)))
		return;
	b->len = (size_t)(afgw_json_put_str(b->p + b->len, s, n, unfold) - b->p);
}

char *afgw_jbuf_room(struct afgw_jbuf *b, size_t n)
{
	if (b->len + n > b->cap && !reserve(b, n))
		return NULL;
	if (b->failed)
		return NULL;
	return b->p + b->len;
}

void afgw_json_str(struct afgw_jbuf *b, const char *p, size_t n)
{
	comma(b);
	if (!p) {
		put(b, "null", 4);
		return;
	}
	str_body(b, p, n, false);
}

void afgw_json_str_unfold(struct afgw_jbuf *b, const char *p, size_t n)
{
	comma(b);
	if (!p) {
		put(b, "null", 4);
		return;
	}
	str_body(b, p, n, true);
}

void afgw_json_cstr(struct afgw_jbuf *b, const char *s)
{
	afgw_json_str(b, s, s ? strlen(s) : 0);
}

/* Decimal digits of v into the end of t[0..24); returns the first digit. */
static char *utoa_end(unsigned long long v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

char *afgw_json_put_uint(char *o, unsigned long long v)
{
	char t[24];
	char *e = t + sizeof(t);
	char *p = utoa_end(v, e);
	memcpy(o, p, (size_t)(e - p));
	return o + (e - p);
}

char *afgw_json_put_int(char *o, long long v)
{
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	if (v < 0)
		*o++ = '-';
	return afgw_json_put_uint(o, u);
}

void afgw_json_int(struct afgw_jbuf *b, long long v)
{
	char t[AFGW_JSON_INT_MAX];
	char *e = afgw_json_put_int(t, v);
	comma(b);
	put(b, t, (size_t)(e - t));
}

void afgw_json_uint(struct afgw_jbuf *b, unsigned long long v)
{
	char t[AFGW_JSON_INT_MAX];
	char *e = afgw_json_put_uint(t, v);
	comma(b);
	put(b, t, (size_t)(e - t));
}

void afgw_json_bool(struct afgw_jbuf *b, bool v)
{
	comma(b);
	put(b, v ? "true" : "false", v ? 4 : 5);
}

void afgw_json_null(struct afgw_jbuf *b)
{
	comma(b);
	put(b, "null", 4);
}

size_t afgw_rfc3339_us(uint64_t ts_us, char *out, size_t cap)
{
	/* Events come in time order: format the date and time once per second. */
	static _Thread_local uint64_t cached_sec = UINT64_MAX;
	static _Thread_local char cached[80]; /* room for any int snprintf could print */
	uint64_t sec = ts_us / 1000000u;
	unsigned us = (unsigned)(ts_us % 1000000u);
	if (cap < 28)
		return 0;
	if (sec != cached_sec) {
		time_t t = (time_t)sec;
		struct tm tm;
		gmtime_r(&t, &tm);
		snprintf(cached, sizeof(cached), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		cached_sec = sec;
	}
	memcpy(out, cached, 19);
	out[19] = '.';
	for (int i = 25; i >= 20; i--) {
		out[i] = (char)('0' + us % 10);
		us /= 10;
	}
	out[26] = 'Z';
	out[27] = '\0';
	return 27;
}
