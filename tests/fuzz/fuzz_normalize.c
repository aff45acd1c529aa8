/*
 * fuzz_normalize.c - libFuzzer target for normalization and extraction.
 *
 * Input layout: byte 0 = normalization flags (low 5 bits; bit 7 set means
 * AFGW_NORM_ALL whatever the low bits say, so the production setting gets
 * most of the time); byte 1 = country code choice (86, 1, 44, none); the
 * rest is the text, any bytes.
 *
 * Properties checked (a violation traps):
 *  - afgw_normalize returns 0, the output is valid UTF-8 and terminated;
 *  - the map has len + 1 entries, is non-decreasing, every entry but the
 *    last is < the input length, the last is the input length, and the
 *    bytes of one code point share one entry;
 *  - normalization is idempotent: normalizing the output again with the
 *    same flags gives the same bytes;
 *  - extraction on the output (and on the raw input) keeps every item's
 *    span inside the text, values terminated and bounded, counts bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afgw/extract.h"
#include "afgw/normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool cond)
{
	if (!cond)
		__builtin_trap();
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool valid_utf8(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t b = s[i];
		size_t need;
		uint8_t lo = 0x80, hi = 0xBF;
		if (b < 0x80) {
			i++;
			continue;
		} else if (b >= 0xC2 && b <= 0xDF) {
			need = 1;
		} else if (b >= 0xE0 && b <= 0xEF) {
			need = 2;
			if (b == 0xE0)
				lo = 0xA0;
			if (b == 0xED)
				hi = 0x9F;
		} else if (b >= 0xF0 && b <= 0xF4) {
			need = 3;
			if (b == 0xF0)
				lo = 0x90;
			if (b == 0xF4)
				hi = 0x8F;
		} else {
			return false;
		}
		if (n - i <= need)
			return false;
		for (size_t k = 1; k <= need; k++) {
			if (s[i + k] < lo || s[i + k] > hi)
				return false;
			lo = 0x80;
			hi = 0xBF;
		}
		i += need + 1;
	}
	return true;
}

static void check_items(const struct afgw_extract_item *it, unsigned count, size_t len)
{
	must(count <= AFGW_EXTRACT_MAX);
	for (unsigned i = 0; i < count; i++) {
		must(it[i].start < it[i].end && it[i].end <= len);
		must(it[i].value_len <= AFGW_EXTRACT_VALUE_MAX);
		must(it[i].value[it[i].value_len] == '\0');
		must(strlen(it[i].value) == it[i].value_len);
	}
}

static void check_extract(const char *text, size_t len, unsigned cc)
{
	static struct afgw_extract ex;
	afgw_extract_all(text, len, cc, &ex);
	check_items(ex.urls, ex.n_urls, len);
	check_items(ex.contacts, ex.n_contacts, len);
	check_items(ex.numbers, ex.n_numbers, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned ccs[] = { 86, 1, 44, 0 };
	static struct afgw_norm_buf a, b;
	static bool ready;

	if (!ready) {
		/* One pair of buffers for the whole run, as a worker has:
		 * reuse across inputs of every size is part of the test. */
		afgw_norm_buf_init(&a);
		afgw_norm_buf_init(&b);
		ready = true;
	}
	if (size < 2)
		return 0;
	unsigned flags = data[0] & 0x80 ? AFGW_NORM_ALL : data[0] & AFGW_NORM_ALL;
	unsigned cc = ccs[data[1] & 3];
	const char *in = (const char *)data + 2;
	size_t n = size - 2;

	must(afgw_normalize(in, n, flags, &a) == 0);
	must(a.len < a.cap && a.text[a.len] == '\0');
	must(valid_utf8((const uint8_t *)a.text, a.len));
	must(a.map[a.len] == n);
	for (size_t i = 0; i < a.len; i++) {
		must(a.map[i] < n);
		if (i) {
			must(a.map[i] >= a.map[i - 1]);
			if (((uint8_t)a.text[i] & 0xC0) == 0x80)
				must(a.map[i] == a.map[i - 1]);
		}
	}

	must(afgw_normalize(a.text, a.len, flags, &b) == 0);
	must(b.len == a.len && memcmp(a.text, b.text, a.len) == 0);

	check_extract(a.text, a.len, cc);
	check_extract(in, n, cc);
	return 0;
}
