/*
 * fuzz_sms.c - SMS text decoding, the UDH, numbers and concat reassembly.
 *
 * Input layout:
 *   [0] data_coding   [1] flags   [2] nsept / TON / limits   [3] number length
 *   then the number slice, then the user data (which also drives the
 *   concat operations).
 * flags: bit 0 UDHI, bit 1 force packed, bits 2-3 default country code,
 * bits 4-7 the small output buffer's size.
 *
 * Besides the sanitizers it checks the contracts: decoded text is valid
 * UTF-8 whatever the input, truncation gives a whole-character prefix, a
 * canonical number is a fixed point and has the shape its kind promises,
 * and every concat part accepted comes back exactly once.  A violation
 * calls abort().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "afgw/number.h"
#include "afgw/sms.h"
#include "fuzz_check.h"

#define MAX_UNITS 4096

/* Decode into a small and a large buffer and check both. */
static void decode_both(enum afgw_sms_alphabet a, const uint8_t *u, size_t n, size_t small_cap)
{
	size_t big_cap = 3 * n + 4; /* a unit never gives more than 3 bytes */
	char *big = malloc(big_cap);
	char small[16];
	struct afgw_sms_decoded br, sr;

	check(big != NULL);
	check(afgw_sms_decode(a, u, n, big, big_cap, &br) == 0);
	check(!br.truncated && br.len <= big_cap && valid_utf8(big, br.len));
	check(br.invalid <= n);
	if (a == AFGW_SMS_BINARY)
		check(br.len == 0);

	int rc = afgw_sms_decode(a, u, n, small, small_cap, &sr);
	check(sr.len <= small_cap && valid_utf8(small, sr.len));
	check(sr.len <= br.len && memcmp(small, big, sr.len) == 0);
	if (rc == 0)
		check(!sr.truncated && sr.len == br.len && sr.invalid == br.invalid);
	else
		check(rc == -ENOSPC && sr.truncated && sr.len < br.len);
	free(big);
}

static bool all_digits(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= '0' && s[i] <= '9') && !(extra && strchr(extra, s[i])))
			return false;
	return true;
}

static void fuzz_number(const uint8_t *p, size_t n, unsigned ton, unsigned cc)
{
	struct afgw_number a, b;
	int rc = afgw_number_canon(afgw_str_make((const char *)p, n), ton, cc, &a);

	check(a.len <= AFGW_NUMBER_MAX && a.canon[a.len] == '\0' && strlen(a.canon) == a.len);
	check((rc == -EINVAL) == (a.kind == AFGW_NUMBER_INVALID));
	check(afgw_number_kind_name(a.kind) != NULL);
	switch (a.kind) {
	case AFGW_NUMBER_EMPTY:
		check(a.len == 0);
		return;
	case AFGW_NUMBER_E164:
		check(a.len >= 4 && a.len <= 16 && a.canon[0] == '+' && a.canon[1] != '0' &&
		      all_digits(a.canon + 1, a.len - 1, NULL));
		break;
	case AFGW_NUMBER_SERVICE:
		check(a.len >= 1 && a.len <= 20 && all_digits(a.canon, a.len, "*#"));
		break;
	case AFGW_NUMBER_DIGITS:
		check(a.len <= 15 && all_digits(a.canon, a.len, NULL));
		break;
	case AFGW_NUMBER_ALPHA:
		check(a.len >= 1 && valid_utf8(a.canon, a.len));
		break;
	case AFGW_NUMBER_INVALID:
		for (size_t i = 0; i < a.len; i++)
			check(a.canon[i] >= 0x20 && a.canon[i] < 0x7F);
		return;
	}
	/* a fixed point */
	afgw_number_canon(afgw_str_make(a.canon, a.len), ton, cc, &b);
	check(b.kind == a.kind && b.len == a.len && memcmp(a.canon, b.canon, a.len) == 0);
}

struct tally {
	uint64_t accepted, returned, dups, messages;
};

static void take(struct tally *t, const struct afgw_concat_done *d)
{
	check(d->parts >= 1 && d->parts <= d->total && d->complete == (d->parts == d->total));
	check(d->meta != NULL);
	t->returned += d->parts;
	t->dups += d->duplicates;
	t->messages++;
	decode_both(d->alphabet, d->units, d->len, 7);
}

static void fuzz_concat(const uint8_t *p, size_t n, uint8_t knob)
{
	static const char *const nums[] = {"+8613800138000", "+8613900139000", "95588", ""};
	struct afgw_concat_limits lim = {1u + (knob & 3), 8u + (knob >> 2 & 31), 5u + (knob >> 6),
	                                 4};
	struct afgw_concat *c = afgw_concat_new(&lim);
	struct afgw_concat_done d;
	struct tally t = {0};
	uint64_t now = 0;
	uint32_t seqno = 0;
	bool drain = knob & 0x80;
	size_t i = 0;

	check(c != NULL);
	while (i < n) {
		uint8_t op = p[i++];
		now += op >> 5;
		if ((op & 3) == 3) {
			int r;
			while ((r = afgw_concat_expire(c, now, op & 4, &d)) == 1)
				take(&t, &d);
			check(r == 0);
			continue;
		}
		if (n - i < 2)
			break;
		uint8_t b1 = p[i++], b2 = p[i++];
		const char *from = nums[op >> 2 & 3], *to = nums[b1 >> 6];
		struct afgw_concat_key k = {afgw_str_make(from, strlen(from)),
		                            afgw_str_make(to, strlen(to)), (uint16_t)(b1 & 1),
		                            op & 0x10, (uint8_t)(b1 >> 1 & 3)};
		uint8_t seq = (uint8_t)(b1 >> 3 & 7) % 5;
		size_t len = b2 % 13;
		if (len > n - i)
			len = n - i;
		enum afgw_sms_alphabet a = (enum afgw_sms_alphabet)(b2 / 13 % 5);
		seqno++;
		int rc = afgw_concat_add(c, &k, seq, a, p + i, len, &seqno, seq, now, &d);
		i += len;
		if (rc == 1)
			take(&t, &d);
		if (rc >= 0)
			t.accepted++;
		else
			check(rc == -EINVAL || rc == -EMSGSIZE);
		if (drain)
			while (afgw_concat_expire(c, now, false, &d) == 1)
				take(&t, &d);
	}
	while (afgw_concat_expire(c, now, true, &d) == 1)
		take(&t, &d);

	struct afgw_concat_stats st;
	afgw_concat_get_stats(c, &st);
	check(t.accepted == t.returned + t.dups && st.parts == t.accepted);
	check(st.duplicates == t.dups && st.messages_held == 0 && st.bytes_held == 0);
	check(st.completed + st.timed_out + st.evicted + st.flushed == t.messages);
	afgw_concat_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned ccs[] = {86, 44, 1, 0};
	static uint8_t units[MAX_UNITS];

	if (size < 4)
		return 0;
	uint8_t dc = data[0], flags = data[1], b2 = data[2];
	size_t numlen = data[3] % 64;
	const uint8_t *p = data + 4;
	size_t n = size - 4;
	if (numlen > n)
		numlen = n;
	fuzz_number(p, numlen, b2 % 8 == 7 ? AFGW_TON_NONE : b2 % 8, ccs[flags >> 2 & 3]);
	p += numlen;
	n -= numlen;

	enum afgw_sms_alphabet a = afgw_sms_alphabet_smpp(dc);
	check(a <= AFGW_SMS_BINARY && afgw_sms_alphabet_dcs(dc) <= AFGW_SMS_BINARY);

	const uint8_t *body = p;
	size_t blen = n;
	unsigned fill = (flags >> 2) % 7;
	if (flags & 1) {
		struct afgw_sms_udh udh;
		int rc = afgw_sms_udh_parse(p, n, &udh);
		check(udh.present && udh.len <= n);
		check(rc == 0 || (rc == -EBADMSG && udh.bad && !udh.concat));
		if (udh.concat)
			check(udh.seq >= 1 && udh.seq <= udh.total && (udh.ref16 || udh.ref < 256));
		if (udh.repeated)
			check(udh.concat);
		body = p + udh.len;
		blen = n - udh.len;
		fill = (7 - (unsigned)(udh.len * 8) % 7) % 7;
	}

	if (a == AFGW_SMS_GSM7 && ((flags & 2) || afgw_sms_looks_packed(body, blen))) {
		size_t nsept = b2 ? b2 * 8u : SIZE_MAX;
		size_t ns = afgw_sms_unpack7(body, blen, nsept, fill, units, sizeof(units));
		check(ns <= sizeof(units) && ns <= nsept && (ns == 0 || ns * 7 + fill <= blen * 8));
		for (size_t i = 0; i < ns; i++)
			check(units[i] < 0x80);
		decode_both(a, units, ns, flags >> 4);
	} else {
		decode_both(a, body, blen, flags >> 4);
	}
	/* every decoder over the same bytes */
	for (int alpha = AFGW_SMS_GSM7; alpha <= AFGW_SMS_BINARY; alpha++)
		decode_both((enum afgw_sms_alphabet)alpha, p, n, flags >> 4);

	fuzz_concat(p, n, b2);
	return 0;
}
