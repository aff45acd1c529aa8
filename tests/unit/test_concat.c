/*
 * test_concat.c - concatenated SMS reassembly: order, duplicates,
 * timeouts, eviction by count and by bytes, flush, characters split
 * across parts, and the accounting promise (every part comes back in
 * exactly one done message) under randomised interleavings.
 */
#include <errno.h>
#include <stdlib.h>

#include "afgw/sms.h"

#include "check.h"

struct meta {
	unsigned id;
};

static struct afgw_concat_key key(const char *from, const char *to, uint16_t ref, bool ref16,
                                  uint8_t total)
{
	struct afgw_concat_key k = {afgw_str_make(from, strlen(from)),
	                            afgw_str_make(to, strlen(to)), ref, ref16, total};
	return k;
}

static int add_s(struct afgw_concat *c, const struct afgw_concat_key *k, uint8_t seq,
                 const char *text, unsigned id, uint64_t now, struct afgw_concat_done *d)
{
	struct meta m = {id};
	return afgw_concat_add(c, k, seq, AFGW_SMS_GSM7, (const uint8_t *)text, strlen(text), &m,
	                       1000u + id * 10u + seq, now, d); /* tag: id and part */
}

/* The id in a done message's metadata, or ~0u when it has none. */
static unsigned meta_id(const struct afgw_concat_done *d)
{
	return d->meta ? ((const struct meta *)d->meta)->id : ~0u;
}

static const struct afgw_concat_limits lim_default = {16, 4096, 1000, sizeof(struct meta)};

static void test_in_order(void)
{
	struct afgw_concat *c = afgw_concat_new(&lim_default);
	struct afgw_concat_done d;
	struct afgw_concat_key k = key("+8613800138000", "+8613900139000", 0x42, false, 3);

	CHECK_INT(add_s(c, &k, 1, "Your account ", 1, 0, &d), 0);
	CHECK_INT(add_s(c, &k, 2, "is frozen, ", 2, 1, &d), 0);
	CHECK_INT(add_s(c, &k, 3, "call now", 3, 2, &d), 1);
	CHECK_MEM(d.units, d.len, "Your account is frozen, call now");
	CHECK(d.complete && !d.mixed_alphabet);
	CHECK_INT(d.parts, 3);
	CHECK_INT(d.total, 3);
	CHECK_INT(d.duplicates, 0);
	CHECK_INT(d.alphabet, AFGW_SMS_GSM7);
	CHECK_INT(meta_id(&d), 1);
	/* every part's tag, in part order (the SMPP proxy finds its PDUs by them) */
	CHECK_INT(d.tags[0], 1011);
	CHECK_INT(d.tags[1], 1022);
	CHECK_INT(d.tags[2], 1033);
	CHECK_INT(afgw_concat_expire(c, 1000000, true, &d), 0);

	struct afgw_concat_stats st;
	afgw_concat_get_stats(c, &st);
	CHECK_INT(st.parts, 3);
	CHECK_INT(st.completed, 1);
	CHECK_INT(st.messages_held, 0);
	CHECK_INT(st.bytes_held, 0);
	afgw_concat_free(c);
	afgw_concat_free(NULL);
}

static void test_out_of_order_and_dups(void)
{
	struct afgw_concat *c = afgw_concat_new(&lim_default);
	struct afgw_concat_done d;
	struct afgw_concat_key k = key("95588", "+8613800138000", 0x1234, true, 3);

	CHECK_INT(add_s(c, &k, 3, "C", 30, 0, &d), 0);
	CHECK_INT(add_s(c, &k, 1, "A", 10, 0, &d), 0);
	CHECK_INT(add_s(c, &k, 1, "X", 11, 0, &d), 0); /* duplicate: first copy wins */
	CHECK_INT(add_s(c, &k, 3, "Y", 31, 0, &d), 0);
	struct afgw_concat_stats st;
	afgw_concat_get_stats(c, &st);
	CHECK_INT(st.duplicates, 2);
	CHECK_INT(st.messages_held, 1);
	CHECK_INT(st.bytes_held, 2);
	CHECK_INT(add_s(c, &k, 2, "B", 20, 0, &d), 1);
	CHECK_MEM(d.units, d.len, "ABC");
	CHECK_INT(d.duplicates, 2);
	CHECK_INT(d.parts, 3);
	CHECK_INT(meta_id(&d), 30); /* first part seen */
	/* the tags of the copies kept, in part order: not the duplicates' */
	CHECK_INT(d.tags[0], 1101);
	CHECK_INT(d.tags[1], 1202);
	CHECK_INT(d.tags[2], 1303);

	/* A duplicate after completion starts a new message: it comes back
	 * on its own, incomplete. */
	CHECK_INT(add_s(c, &k, 2, "B", 21, 5, &d), 0);
	CHECK_INT(afgw_concat_expire(c, 5, true, &d), 1);
	CHECK(!d.complete);
	CHECK_MEM(d.units, d.len, "B");
	afgw_concat_free(c);
}

/* A message let go early (its sender waits for answers): incomplete,
 * before anything timed out, and only that one. */
static void test_release(void)
{
	struct afgw_concat *c = afgw_concat_new(&lim_default);
	struct afgw_concat_done d;
	struct afgw_concat_key k = key("+8613800138000", "+8613900139000", 9, false, 3);
	struct afgw_concat_key other = key("+8613800138000", "+8613900139000", 10, false, 2);
	CHECK_INT(add_s(c, &k, 1, "part one ", 4, 0, &d), 0);
	CHECK_INT(add_s(c, &other, 1, "other", 5, 0, &d), 0);
	struct afgw_concat_key absent = key("+8613800138000", "+8613900139000", 11, false, 3);
	CHECK_INT(afgw_concat_release(c, &absent), 0);
	CHECK_INT(afgw_concat_release(c, &k), 1);
	CHECK_INT(afgw_concat_release(c, &k), 0); /* once */
	CHECK_INT(afgw_concat_expire(c, 1, false, &d), 1);
	CHECK(!d.complete);
	CHECK_INT(d.parts, 1);
	CHECK_MEM(d.units, d.len, "part one ");
	CHECK_INT(d.tags[0], 1041);
	CHECK_INT(afgw_concat_expire(c, 1, false, &d), 0); /* the other one waits */
	/* a later part of the released message starts a message of its own */
	CHECK_INT(add_s(c, &k, 2, "part two", 6, 2, &d), 0);
	struct afgw_concat_stats st;
	afgw_concat_get_stats(c, &st);
	CHECK_INT(st.released, 1);
	CHECK_INT(st.messages_held, 2);
	afgw_concat_free(c);
}

static void test_keys_apart(void)
{
	struct afgw_concat *c = afgw_concat_new(&lim_default);
	struct afgw_concat_done d;
	struct afgw_concat_key a = key("+8613800138000", "+8613900139000", 7, false, 2);
	struct afgw_concat_key b = key("+8613800138001", "+8613900139000", 7, false, 2);
	struct afgw_concat_key e = key("+8613800138000", "+8613900139000", 7, true, 2);
	struct afgw_concat_key f = key("+8613800138000", "+8613900139000", 7, false, 3);
	struct afgw_concat_key g = key("+861380013800", "0+8613900139000", 7, false, 2);

	CHECK_INT(add_s(c, &a, 1, "a1", 0, 0, &d), 0);
	CHECK_INT(add_s(c, &b, 1, "b1", 0, 0, &d), 0);
	CHECK_INT(add_s(c, &e, 1, "e1", 0, 0, &d), 0);
	CHECK_INT(add_s(c, &f, 1, "f1", 0, 0, &d), 0);
	CHECK_INT(add_s(c, &g, 1, "g1", 0, 0, &d), 0);
	CHECK_INT(add_s(c, &b, 2, "b2", 0, 0, &d), 1);
	CHECK_MEM(d.units, d.len, "b1b2");
	CHECK_INT(add_s(c, &a, 2, "a2", 0, 0, &d), 1);
	CHECK_MEM(d.units, d.len, "a1a2");
	CHECK_INT(add_s(c, &g, 2, "g2", 0, 0, &d), 1);
	CHECK_MEM(d.units, d.len, "g1g2");
	CHECK_INT(add_s(c, &e, 2, "e2", 0, 0, &d), 1);
	CHECK_MEM(d.units, d.len, "e1e2");
	CHECK_INT(add_s(c, &f, 3, "f3", 0, 0, &d), 0);
	CHECK_INT(add_s(c, &f, 2, "f2", 0, 0, &d), 1);
	CHECK_MEM(d.units, d.len, "f1f2f3");

	/* total 1: complete on arrival */
	struct afgw_concat_key one = key("a", "b", 1, false, 1);
	CHECK_INT(add_s(c, &one, 1, "solo", 99, 0, &d), 1);
	CHECK_MEM(d.units, d.len, "solo");
	CHECK(d.complete);
	CHECK_INT(meta_id(&d), 99);
	afgw_concat_free(c);
}

static void test_rejects(void)
{
	struct afgw_concat_limits lim = {4, 16, 1000, 0};
	struct afgw_concat *c = afgw_concat_new(&lim);
	struct afgw_concat_done d;
	struct afgw_concat_key k = key("a", "b", 1, false, 2);
	struct afgw_concat_key k0 = key("a", "b", 1, false, 0);
	char longnum[60];
	memset(longnum, '1', sizeof(longnum) - 1);
	longnum[sizeof(longnum) - 1] = '\0';
	struct afgw_concat_key kl = key(longnum, "b", 1, false, 2);

	CHECK_INT(add_s(c, &k, 0, "x", 0, 0, &d), -EINVAL);
	CHECK_INT(add_s(c, &k, 3, "x", 0, 0, &d), -EINVAL);
	CHECK_INT(add_s(c, &k0, 1, "x", 0, 0, &d), -EINVAL);
	CHECK_INT(add_s(c, &kl, 1, "x", 0, 0, &d), -EINVAL);
	CHECK_INT(add_s(c, &k, 1, "0123456789abcdefX", 0, 0, &d), -EMSGSIZE);
	CHECK_INT(add_s(c, &k, 1, "0123456789abcdef", 0, 0, &d), 0); /* exactly max_bytes */
	struct afgw_concat_stats st;
	afgw_concat_get_stats(c, &st);
	CHECK_INT(st.rejected, 5);
	CHECK_INT(st.parts, 1);
	/* meta_size 0: done->meta is NULL */
	CHECK_INT(add_s(c, &k, 2, "", 0, 0, &d), 1);
	CHECK(d.meta == NULL);
	CHECK_INT(d.len, 16);
	afgw_concat_free(c);
}

static void test_timeout_and_flush(void)
{
	struct afgw_concat *c = afgw_concat_new(&lim_default);
	struct afgw_concat_done d;
	struct afgw_concat_key a = key("a", "x", 1, false, 3);
	struct afgw_concat_key b = key("b", "x", 2, false, 2);
	struct afgw_concat_key e = key("e", "x", 3, false, 2);

	CHECK_INT(add_s(c, &a, 1, "a1", 1, 100, &d), 0);
	CHECK_INT(add_s(c, &a, 3, "a3", 2, 150, &d), 0);
	CHECK_INT(add_s(c, &b, 2, "b2", 3, 500, &d), 0);
	CHECK_INT(add_s(c, &e, 1, "e1", 4, 600, &d), 0);
	CHECK_INT(afgw_concat_expire(c, 1099, false, &d), 0);
	CHECK_INT(afgw_concat_expire(c, 1100, false, &d), 1); /* a: 1000 ms after its first part */
	CHECK(!d.complete);
	CHECK_INT(d.parts, 2);
	CHECK_INT(d.total, 3);
	CHECK_MEM(d.units, d.len, "a1a3"); /* the gap is simply absent */
	CHECK_INT(meta_id(&d), 1);
	CHECK_INT(d.tags[0], 1011);
	CHECK_INT(d.tags[1], 1023);
	CHECK_INT(afgw_concat_expire(c, 1100, false, &d), 0);
	/* A clock that steps back expires nothing. */
	CHECK_INT(afgw_concat_expire(c, 10, false, &d), 0);
	CHECK_INT(afgw_concat_expire(c, 1500, false, &d), 1);
	CHECK_MEM(d.units, d.len, "b2");
	/* flush releases what has not timed out */
	CHECK_INT(afgw_concat_expire(c, 1500, true, &d), 1);
	CHECK_MEM(d.units, d.len, "e1");
	CHECK_INT(afgw_concat_expire(c, 1500, true, &d), 0);

	struct afgw_concat_stats st;
	afgw_concat_get_stats(c, &st);
	CHECK_INT(st.timed_out, 2);
	CHECK_INT(st.flushed, 1);
	CHECK_INT(st.messages_held, 0);
	CHECK_INT(st.bytes_held, 0);
	afgw_concat_free(c);
}

static void test_eviction(void)
{
	struct afgw_concat_done d;
	struct afgw_concat_stats st;

	/* By count: the third message pushes out the oldest. */
	struct afgw_concat_limits lm = {2, 4096, 1000, sizeof(struct meta)};
	struct afgw_concat *c = afgw_concat_new(&lm);
	struct afgw_concat_key a = key("a", "x", 1, false, 2);
	struct afgw_concat_key b = key("b", "x", 1, false, 2);
	struct afgw_concat_key e = key("e", "x", 1, false, 2);
	CHECK_INT(add_s(c, &a, 1, "a1", 1, 0, &d), 0);
	CHECK_INT(add_s(c, &b, 1, "b1", 2, 1, &d), 0);
	CHECK_INT(add_s(c, &a, 1, "a1", 1, 2, &d), 0); /* a duplicate needs no room */
	CHECK_INT(add_s(c, &e, 1, "e1", 3, 3, &d), 0);
	afgw_concat_get_stats(c, &st);
	CHECK_INT(st.evicted, 1);
	CHECK_INT(st.messages_held, 3); /* until collected */
	CHECK_INT(afgw_concat_expire(c, 3, false, &d), 1);
	CHECK_MEM(d.units, d.len, "a1");
	CHECK_INT(d.duplicates, 1);
	CHECK_INT(meta_id(&d), 1);
	CHECK_INT(afgw_concat_expire(c, 3, false, &d), 0);
	/* a's second part now starts a new message, evicting b */
	CHECK_INT(add_s(c, &a, 2, "a2", 4, 4, &d), 0);
	CHECK_INT(afgw_concat_expire(c, 4, false, &d), 1);
	CHECK_MEM(d.units, d.len, "b1");
	CHECK_INT(add_s(c, &e, 2, "e2", 5, 5, &d), 1);
	CHECK_MEM(d.units, d.len, "e1e2");
	afgw_concat_free(c);

	/* By bytes: 10 bytes held at most. */
	struct afgw_concat_limits lb = {16, 10, 1000, 0};
	c = afgw_concat_new(&lb);
	CHECK_INT(add_s(c, &a, 1, "aaaaaa", 0, 0, &d), 0);
	CHECK_INT(add_s(c, &b, 1, "bbbb", 0, 0, &d), 0);
	CHECK_INT(add_s(c, &e, 1, "eee", 0, 0, &d), 0); /* 13 > 10: a goes */
	CHECK_INT(afgw_concat_expire(c, 0, false, &d), 1);
	CHECK_MEM(d.units, d.len, "aaaaaa");
	CHECK_INT(afgw_concat_expire(c, 0, false, &d), 0);
	/* The part's own message can be the oldest: it is evicted and the
	 * part starts over. */
	struct afgw_concat_key t = key("t", "x", 9, false, 4);
	CHECK_INT(add_s(c, &t, 1, "t1", 0, 1, &d), 0);      /* b4 e3 t2 = 9 */
	CHECK_INT(add_s(c, &b, 2, "BBBBBBB", 0, 2, &d), 1); /* completion needs no room */
	CHECK_MEM(d.units, d.len, "bbbbBBBBBBB");
	CHECK_INT(add_s(c, &t, 2, "TTTTTTT", 0, 3, &d), 0); /* 12 > 10: e goes */
	CHECK_INT(afgw_concat_expire(c, 3, false, &d), 1);
	CHECK_MEM(d.units, d.len, "eee");
	CHECK_INT(add_s(c, &t, 3, "ttt", 0, 4, &d), 0); /* 12 > 10: t itself goes */
	CHECK_INT(afgw_concat_expire(c, 4, false, &d), 1);
	CHECK_MEM(d.units, d.len, "t1TTTTTTT");
	CHECK_INT(d.parts, 2);
	CHECK(!d.complete);
	CHECK_INT(afgw_concat_expire(c, 4, true, &d), 1);
	CHECK_MEM(d.units, d.len, "ttt");
	CHECK_INT(d.parts, 1);
	afgw_concat_get_stats(c, &st);
	CHECK_INT(st.evicted, 3);
	CHECK_INT(st.flushed, 1);
	CHECK_INT(st.bytes_held, 0);
	afgw_concat_free(c);

	/* Not drained: evicted messages wait, in order, and the table still
	 * frees them. */
	c = afgw_concat_new(&lb);
	CHECK_INT(add_s(c, &a, 1, "aaaaaa", 0, 0, &d), 0);
	CHECK_INT(add_s(c, &b, 1, "bbbbbb", 0, 0, &d), 0);
	CHECK_INT(add_s(c, &e, 1, "eeeeee", 0, 0, &d), 0);
	afgw_concat_get_stats(c, &st);
	CHECK_INT(st.messages_held, 3);
	CHECK_INT(st.bytes_held, 18);
	CHECK_INT(afgw_concat_expire(c, 0, false, &d), 1);
	CHECK_MEM(d.units, d.len, "aaaaaa");
	afgw_concat_free(c);
}

static void test_split_characters(void)
{
	struct afgw_concat *c = afgw_concat_new(&lim_default);
	struct afgw_concat_done d;
	char text[64];
	struct afgw_sms_decoded r;

	/* UCS-2 "好" then U+1F600 split between its surrogates:
	 * part 1: 59 7D D8 3D | part 2: DE 00 00 21 ("!") */
	struct afgw_concat_key k = key("+8613800138000", "+8613900139000", 5, false, 2);
	CHECK_INT(afgw_concat_add(c, &k, 2, AFGW_SMS_UCS2,
	                          (const uint8_t[]){0xDE, 0x00, 0x00, 0x21}, 4, NULL, 0, 0, &d),
	          0);
	CHECK_INT(afgw_concat_add(c, &k, 1, AFGW_SMS_UCS2,
	                          (const uint8_t[]){0x59, 0x7D, 0xD8, 0x3D}, 4, NULL, 0, 0, &d),
	          1);
	CHECK_INT(d.alphabet, AFGW_SMS_UCS2);
	CHECK_INT(afgw_sms_decode(d.alphabet, d.units, d.len, text, sizeof(text), &r), 0);
	CHECK_MEM(text, r.len, "好\xF0\x9F\x98\x80!");
	CHECK_INT(r.invalid, 0);
	/* Either part decoded alone would have been broken. */
	CHECK_INT(afgw_sms_decode(AFGW_SMS_UCS2, (const uint8_t[]){0x59, 0x7D, 0xD8, 0x3D}, 4, text,
	                          sizeof(text), &r),
	          0);
	CHECK_INT(r.invalid, 1);

	/* GSM 7-bit "pay 5€" with the escape ending part 1 and 0x65 opening
	 * part 2 */
	k = key("+8613800138000", "+8613900139000", 6, false, 2);
	CHECK_INT(afgw_concat_add(c, &k, 1, AFGW_SMS_GSM7,
	                          (const uint8_t[]){'p', 'a', 'y', ' ', '5', 0x1B}, 6, NULL, 0, 0, &d),
	          0);
	CHECK_INT(afgw_concat_add(c, &k, 2, AFGW_SMS_GSM7, (const uint8_t[]){0x65}, 1, NULL, 0, 0, &d),
	          1);
	CHECK_INT(afgw_sms_decode(d.alphabet, d.units, d.len, text, sizeof(text), &r), 0);
	CHECK_MEM(text, r.len, "pay 5€");

	/* Parts that disagree on the alphabet: the first part's is kept. */
	k = key("+8613800138000", "+8613900139000", 7, false, 2);
	CHECK_INT(
	    afgw_concat_add(c, &k, 2, AFGW_SMS_UCS2, (const uint8_t[]){0x00, 0x41}, 2, NULL, 0, 0, &d),
	    0);
	CHECK_INT(afgw_concat_add(c, &k, 1, AFGW_SMS_GSM7, (const uint8_t[]){'B'}, 1, NULL, 0, 0, &d),
	          1);
	CHECK(d.mixed_alphabet);
	CHECK_INT(d.alphabet, AFGW_SMS_UCS2);
	afgw_concat_free(c);
}

/* ---- the accounting promise under random interleavings -------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
	uint64_t x = rng_state; /* xorshift64 */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return (uint32_t)(x % n);
}

#define MAX_ADDS 3000u

struct logical {
	struct afgw_concat_key key;
	char from[24], to[24];
	uint8_t order[8];
	unsigned next;
};

/* Per add: part id (24 bits) | key index | seq | filler length | filler */
static size_t make_units(uint8_t *u, unsigned id, unsigned ki, uint8_t seq)
{
	uint8_t fill = (uint8_t)rnd(12);
	u[0] = (uint8_t)(id >> 16);
	u[1] = (uint8_t)(id >> 8);
	u[2] = (uint8_t)id;
	u[3] = (uint8_t)ki;
	u[4] = seq;
	u[5] = fill;
	memset(u + 6, (uint8_t)id, fill);
	return 6u + fill;
}

struct tally {
	uint8_t seen[MAX_ADDS];
	unsigned returned, dups, messages, bad;
	const struct logical *lg;
};

static void take(struct tally *t, const struct afgw_concat_done *d)
{
	size_t i = 0;
	unsigned parts = 0, ki0 = 256, last_seq = 0;
	t->messages++;
	while (i < d->len) {
		if (d->len - i < 6) {
			t->bad++;
			return;
		}
		const uint8_t *u = d->units + i;
		unsigned id = (unsigned)u[0] << 16 | (unsigned)u[1] << 8 | u[2];
		if (id >= MAX_ADDS || t->seen[id] || u[4] <= last_seq || d->len - i - 6 < u[5])
			t->bad++;
		else
			t->seen[id] = 1;
		if (ki0 == 256)
			ki0 = u[3];
		/* all parts of one done message share a key */
		if (u[3] != ki0 || t->lg[ki0].key.total != d->total)
			t->bad++;
		for (unsigned f = 0; f < u[5]; f++)
			if (u[6 + f] != (uint8_t)id)
				t->bad++;
		last_seq = u[4];
		i += 6u + u[5];
		parts++;
	}
	if (parts != d->parts || d->complete != (d->parts == d->total))
		t->bad++;
	t->returned += parts;
	t->dups += d->duplicates;
}

static void random_round(unsigned round)
{
	struct afgw_concat_limits lim = {1 + rnd(round % 2 ? 6 : 40), 40 + rnd(400), 20 + rnd(300),
	                                 0};
	struct afgw_concat *c = afgw_concat_new(&lim);
	static struct tally t;
	static struct logical lg[64];
	struct afgw_concat_done d;
	unsigned nlg = 8 + rnd(56), accepted = 0, adds = 0, rejected = 0, dup_adds = 0;
	uint64_t now = 0;
	bool drain = round % 3 != 0; /* some rounds let evicted messages pile up */

	memset(&t, 0, sizeof(t));
	t.lg = lg;
	for (unsigned i = 0; i < nlg; i++) {
		struct logical *l = &lg[i];
		/* small pools so that keys differ in one field only */
		snprintf(l->from, sizeof(l->from), "+86138%08u", rnd(3));
		snprintf(l->to, sizeof(l->to), "+86139%08u", rnd(3));
		l->key = key(l->from, l->to, (uint16_t)i, rnd(2), (uint8_t)(1 + rnd(7)));
		for (unsigned s = 0; s < l->key.total; s++)
			l->order[s] = (uint8_t)(s + 1);
		for (unsigned s = l->key.total; s > 1; s--) {
			unsigned j = rnd(s);
			uint8_t x = l->order[s - 1];
			l->order[s - 1] = l->order[j];
			l->order[j] = x;
		}
		l->next = 0;
	}

	while (adds < MAX_ADDS - 10) {
		unsigned ki = rnd(nlg);
		struct logical *l = &lg[ki];
		uint8_t seq;
		uint8_t u[32];
		if (l->next < l->key.total && rnd(8)) {
			seq = l->order[l->next++];
		} else if (rnd(4)) {
			seq = (uint8_t)(1 + rnd(l->key.total)); /* a repeat */
			dup_adds++;
		} else {
			seq = (uint8_t)rnd(l->key.total + 2); /* maybe out of range */
		}
		if (l->next == l->key.total && !rnd(3))
			l->next = 0; /* the sender reuses the reference */
		size_t n = make_units(u, adds, ki, seq);
		int rc = afgw_concat_add(c, &l->key, seq, AFGW_SMS_BINARY, u, n, NULL, seq, now, &d);
		adds++;
		if (rc < 0) {
			CHECK(rc == -EINVAL && (seq == 0 || seq > l->key.total));
			t.seen[adds - 1] = 2; /* never to be returned */
			rejected++;
		} else {
			accepted++;
			if (rc == 1)
				take(&t, &d);
		}
		now += rnd(15);
		if (drain || !rnd(50))
			while (afgw_concat_expire(c, now, false, &d) == 1)
				take(&t, &d);
		if (!rnd(400))
			while (afgw_concat_expire(c, now, true, &d) == 1)
				take(&t, &d);
	}
	while (afgw_concat_expire(c, now, true, &d) == 1)
		take(&t, &d);

	struct afgw_concat_stats st;
	afgw_concat_get_stats(c, &st);
	CHECK_INT(t.bad, 0);
	CHECK_INT(t.returned + t.dups, accepted);
	CHECK_INT(st.parts, accepted);
	CHECK_INT(st.rejected, rejected);
	CHECK_INT(st.duplicates, t.dups);
	CHECK_INT(st.completed + st.timed_out + st.evicted + st.flushed, t.messages);
	CHECK_INT(st.messages_held, 0);
	CHECK_INT(st.bytes_held, 0);
	CHECK(dup_adds > 0);
	if (round % 2)
		CHECK(st.evicted > 0);
	afgw_concat_free(c);
}

int main(void)
{
	test_in_order();
	test_out_of_order_and_dups();
	test_release();
	test_keys_apart();
	test_rejects();
	test_timeout_and_flush();
	test_eviction();
	test_split_characters();
	for (unsigned r = 0; r < 60; r++)
		random_round(r);
	return check_report();
}
