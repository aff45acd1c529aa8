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
	comma(b);
	put(b, "\"", 1);
	put(b, key, strlen(key));
	put(b, "\":", 2);
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

/* Bytes that stand for themselves in a JSON string. */
static inline bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static void str_body(struct afgw_jbuf *b, const char *s, size_t n, bool unfold)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	/* Worst case 6 bytes of output per input byte; reserve once. */
	if (!reserve(b, n * 6 + 2))
		return;
	char *o = b->p + b->len;
	*o++ = '"';
	while (i < n) {
		/* A run of characters that need no escaping is copied at once. */
		size_t r = i;
		while (r < n && plain(p[r]))
			r++;
		if (r > i) {
			memcpy(o, p + i, r - i);
			o += r - i;
			i = r;
			if (i == n)
				break;
		}
		unsigned c = p[i];
		if (unfold && (c == '\r' || c == '\n')) {
			size_t j = i;
			while (j < n && (p[j] == '\r' || p[j] == '\n'))
				j++;
			if (j < n && (p[j] == ' ' || p[j] == '\t')) {
				while (j < n && (p[j] == ' ' || p[j] == '\t'))
					j++;
				*o++ = ' ';
				i = j;
				continue;
			}
		}
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c;
			i++;
			continue;
		}
		if (c < 0x80) {
			*o++ = '\\';
			switch (c) {
			case '"': *o++ = '"'; break;
			case '\\': *o++ = '\\'; break;
			case '\n': *o++ = 'n'; break;
			case '\r': *o++ = 'r'; break;
			case '\t': *o++ = 't'; break;
			default:
				*o++ = 'u';
				*o++ = '0';
				*o++ = '0';
				*o++ = hex[c >> 4];
				*o++ = hex[c & 15];
			}
			i++;
			continue;
		}
		size_t k = utf8_seq(p + i, n - i);
		if (k) {
			memcpy(o, p + i, k);
			o += k;
			i += k;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD for each bad byte */
			o += 3;
			i++;
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
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

void afgw_json_int(struct afgw_jbuf *b, long long v)
{
	char t[24];
	char *e = t + sizeof(t);
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	char *p = utoa_end(u, e);
	if (v < 0)
		*--p = '-';
	comma(b);
	put(b, p, (size_t)(e - p));
}

void afgw_json_uint(struct afgw_jbuf *b, unsigned long long v)
{
	char t[24];
	char *e = t + sizeof(t);
	char *p = utoa_end(v, e);
	comma(b);
	put(b, p, (size_t)(e - p));
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
