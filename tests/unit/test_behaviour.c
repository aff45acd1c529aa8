/*
 * test_behaviour.c - the behaviour detectors: each fires exactly at its
 * threshold, windows expire, flags are held and then released, Wangiri
 * dialogs end once, tables evict and count, hostile input is harmless, the
 * same input gives the same answers, and in a crowd of ordinary callers
 * only the mass caller and the Wangiri caller are flagged.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "afgw/behaviour.h"
#include "check.h"

#define S(x)  ((uint64_t)(x) * 1000000ull)
#define MS(x) ((uint64_t)(x) * 1000ull)

static struct afgw_config_behaviour defaults(void)
{
	struct afgw_config_behaviour c = {
		.mass_call_window_s = 60,
		.mass_call_callees = 15,
		.wangiri_ring_max_s = 6,
		.wangiri_window_s = 600,
		.wangiri_callees = 5,
		.fanout_window_s = 600,
		.fanout_recipients = 20,
		.call_sms_window_s = 1800,
		.flag_hold_s = 3600,
		.fleet_sync_ms = 1000,
	};
	return c;
}

static struct afgw_behaviour *make(const struct afgw_config_behaviour *c, unsigned numbers,
				   unsigned dialogs)
{
	struct afgw_behaviour *b = NULL;
	int rc = afgw_behaviour_new(c, numbers, dialogs, &b);
	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "afgw_behaviour_new: %d\n", rc);
		exit(1);
	}
	return b;
}

/* Canonical numbers: N(7) is "+8613800000007"; eight rotating buffers. */
static const char *N(unsigned i)
{
	static char buf[8][32];
	static unsigned k;
	char *p = buf[k++ % 8];
	snprintf(p, 32, "+86138%08u", i);
	return p;
}

/* Call-IDs: CID(7) is "7-a84b4c76e66710@192.0.2.4". */
static const char *CID(unsigned i)
{
	static char buf[8][48];
	static unsigned k;
	char *p = buf[k++ % 8];
	snprintf(p, 48, "%u-a84b4c76e66710@192.0.2.4", i);
	return p;
}

static struct afgw_str mk(const char *s)
{
	return s ? afgw_str_make(s, strlen(s)) : afgw_str_make(NULL, 0);
}

static struct afgw_bh_result obs(struct afgw_behaviour *b, uint64_t ts, enum afgw_bh_kind kind,
				 const char *caller, const char *callee, const char *call_id,
				 uint64_t text)
{
	struct afgw_bh_msg m = { ts, kind, mk(caller), mk(callee), mk(call_id), text, NULL };
	struct afgw_bh_result r;
	memset(&r, 0xa5, sizeof(r));  /* observe must fill every field */
	/* Every other message comes with its keys computed ahead, as the
	 * pipeline's workers give them: the answers must not depend on it. */
	static unsigned calls;
	struct afgw_bh_keys k;
	if (calls++ % 2) {
		afgw_behaviour_keys(&m, &k);
		m.keys = &k;
	}
	afgw_behaviour_observe(b, &m, &r);
	return r;
}

static uint64_t ctr(const struct afgw_behaviour *b, enum afgw_bh_counter c)
{
	uint64_t v[AFGW_BH_C_COUNT];
	afgw_behaviour_counters(b, v);
	return v[c];
}

static void test_new_and_names(void)
{
	struct afgw_config_behaviour c = defaults();
	struct afgw_behaviour *b = (struct afgw_behaviour *)&c;  /* must be reset to NULL */
	CHECK_INT(afgw_behaviour_new(&c, 0, 16, &b), -EINVAL);
	CHECK(b == NULL);
	CHECK_INT(afgw_behaviour_new(&c, 16, 0, &b), -EINVAL);
	CHECK_INT(afgw_behaviour_new(NULL, 16, 16, &b), -EINVAL);
	CHECK_INT(afgw_behaviour_new(&c, 16, 16, NULL), -EINVAL);
	unsigned *windows[] = { &c.mass_call_window_s, &c.wangiri_ring_max_s, &c.wangiri_window_s,
				&c.fanout_window_s, &c.call_sms_window_s };
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(windows); i++) {
		c = defaults();
		*windows[i] = 0;
		CHECK_INT(afgw_behaviour_new(&c, 16, 16, &b), -EINVAL);
		CHECK(b == NULL);
	}
	c = defaults();
	c.flag_hold_s = 0;  /* not a window: allowed */
	CHECK_INT(afgw_behaviour_new(&c, 1, 1, &b), 0);
	CHECK(b != NULL);
	afgw_behaviour_free(b);
	afgw_behaviour_free(NULL);

	CHECK(strcmp(afgw_behaviour_name(AFGW_BH_MASS_CALLING), "mass_calling") == 0);
	CHECK(strcmp(afgw_behaviour_name(AFGW_BH_WANGIRI), "wangiri") == 0);
	CHECK(strcmp(afgw_behaviour_name(AFGW_BH_SMS_FANOUT), "sms_fanout") == 0);
	CHECK(strcmp(afgw_behaviour_name(AFGW_BH_CALL_AND_SMS), "call_and_sms") == 0);
	CHECK(strcmp(afgw_behaviour_name(AFGW_BH_MASS_CALLING | AFGW_BH_WANGIRI), "unknown") == 0);
	CHECK(strcmp(afgw_behaviour_name(0), "unknown") == 0);
	CHECK(strcmp(afgw_behaviour_counter_name(AFGW_BH_C_OBSERVED), "behaviour_observed") == 0);
	CHECK(strcmp(afgw_behaviour_counter_name(AFGW_BH_C_CALLERS_EVICTED),
		     "behaviour_callers_evicted") == 0);
	CHECK(strcmp(afgw_behaviour_counter_name(AFGW_BH_C_FLAGGED_CALL_AND_SMS),
		     "behaviour_flagged_call_and_sms") == 0);
	for (int k = 0; k < AFGW_BH_C_COUNT; k++) {
		const char *n = afgw_behaviour_counter_name((enum afgw_bh_counter)k);
		CHECK(n && strncmp(n, "behaviour_", 10) == 0 && strcmp(n, "behaviour_unknown"));
	}
	CHECK(strcmp(afgw_behaviour_counter_name(AFGW_BH_C_COUNT), "behaviour_unknown") == 0);
}

/* Mass calling: 14 distinct callees do not flag, the 15th does; repeats count once. */
static void test_mass_calling(void)
{
	struct afgw_config_behaviour c = defaults();
	struct afgw_behaviour *b = make(&c, 1024, 1024);
	const char *a = "+8617000000001";
	struct afgw_bh_result r;

	r = obs(b, S(0), AFGW_BH_INVITE, a, N(1), CID(1), 0);
	CHECK_INT(r.mass_callees, 1);
	r = obs(b, S(1), AFGW_BH_INVITE, a, N(1), CID(2), 0);  /* same callee again */
	CHECK_INT(r.mass_callees, 1);
	CHECK_INT(r.flags, 0);
	for (unsigned i = 2; i <= 14; i++) {
		r = obs(b, S(i), AFGW_BH_INVITE, a, N(i), CID(i + 100), 0);
		CHECK_INT(r.mass_callees, i);
		CHECK_INT(r.flags, 0);
		CHECK_INT(r.wangiri_callees, 0);
		CHECK_INT(r.fanout_recipients, 0);
	}
	r = obs(b, S(14) + 1, AFGW_BH_INVITE, a, N(14), CID(200), 0);  /* a repeat: still 14 */
	CHECK_INT(r.mass_callees, 14);
	CHECK_INT(r.flags, 0);
	CHECK_INT(ctr(b, AFGW_BH_C_FLAGGED_MASS_CALLING), 0);
	r = obs(b, S(15), AFGW_BH_INVITE, a, N(15), CID(15), 0);
	CHECK_INT(r.flags, AFGW_BH_MASS_CALLING);
	CHECK_INT(r.mass_callees, 15);
	CHECK_INT(ctr(b, AFGW_BH_C_FLAGGED_MASS_CALLING), 1);

	/* Another caller calling the same people is its own count. */
	r = obs(b, S(16), AFGW_BH_INVITE, "+8617000000002", N(3), CID(300), 0);
	CHECK_INT(r.flags, 0);
	CHECK_INT(r.mass_callees, 1);

	/* Whatever the flagged caller sends next carries the flag. */
	r = obs(b, S(20), AFGW_BH_OTHER_SIP, a, N(2), CID(2), 0);
	CHECK_INT(r.flags, AFGW_BH_MASS_CALLING);
	r = obs(b, S(30), AFGW_BH_SMS, a, N(99), NULL, 0x1234);
	CHECK_INT(r.flags & AFGW_BH_MASS_CALLING, AFGW_BH_MASS_CALLING);
	CHECK_INT(ctr(b, AFGW_BH_C_FLAGGED_MASS_CALLING), 1);  /* still one flagging */

	/*
	 * Hold: the condition last held at 30 s (the window opened at 0 s is
	 * live until 60 s).  Past the window the figure is the one that flagged.
	 */
	r = obs(b, S(30 + 3600), AFGW_BH_OTHER_SIP, a, NULL, NULL, 0);
	CHECK_INT(r.flags, AFGW_BH_MASS_CALLING);
	CHECK_INT(r.mass_callees, 15);
	r = obs(b, S(30 + 3600) + 1, AFGW_BH_OTHER_SIP, a, NULL, NULL, 0);
	CHECK_INT(r.flags, 0);
	CHECK_INT(r.mass_callees, 0);

	/* A new burst flags again, and is counted again. */
	for (unsigned i = 0; i < 15; i++)
		r = obs(b, S(10000 + i), AFGW_BH_INVITE, a, N(500 + i), CID(500 + i), 0);
	CHECK_INT(r.flags, AFGW_BH_MASS_CALLING);
	CHECK_INT(ctr(b, AFGW_BH_C_FLAGGED_MASS_CALLING), 2);
	afgw_behaviour_free(b);
}

/* Windows: a slow caller never flags; a burst split by a window end is two counts. */
static void test_windows(void)
{
	struct afgw_config_behaviour c = defaults();
	struct afgw_behaviour *b = make(&c, 1024, 1024);
	const char *slow = "+8617000000010";
	struct afgw_bh_result r;
	unsigned flagged = 0, max = 0;
	for (unsigned i = 0; i < 200; i++) {  /* one call every 61 s for 3.4 hours */
		r = obs(b, S(61 * i), AFGW_BH_INVITE, slow, N(i), CID(i), 0);
		flagged |= r.flags;
		if (r.mass_callees > max)
			max = r.mass_callees;
	}
	CHECK_INT(flagged, 0);
	CHECK_INT(max, 1);

	/* 14 calls in [0, 14] s, then 14 more from 61 s: never 15 in one window. */
	const char *split = "+8617000000011";
	for (unsigned i = 0; i < 14; i++)
		flagged |= obs(b, S(i), AFGW_BH_INVITE, split, N(1000 + i), NULL, 0).flags;
	for (unsigned i = 0; i < 14; i++) {
		r = obs(b, S(61 + i), AFGW_BH_INVITE, split, N(2000 + i), NULL, 0);
		flagged |= r.flags;
	}
	CHECK_INT(flagged, 0);
	CHECK_INT(r.mass_callees, 14);

	/* The window end itself is inside: 0 s .. 60 s is one window. */
	const char *edge = "+8617000000012";
	for (unsigned i = 0; i < 14; i++)
		obs(b, S(i), AFGW_BH_INVITE, edge, N(3000 + i), NULL, 0);
	r = obs(b, S(60), AFGW_BH_INVITE, edge, N(3014), NULL, 0);
	CHECK_INT(r.flags, AFGW_BH_MASS_CALLING);
	afgw_behaviour_free(b);

	/* Hold 0: flagged only while the condition holds. */
	c.flag_hold_s = 0;
	c.mass_call_callees = 2;
	b = make(&c, 64, 64);
	obs(b, S(0), AFGW_BH_INVITE, edge, N(1), NULL, 0);
	r = obs(b, S(1), AFGW_BH_INVITE, edge, N(2), NULL, 0);
	CHECK_INT(r.flags, AFGW_BH_MASS_CALLING);
	r = obs(b, S(61) + 1, AFGW_BH_OTHER_SIP, edge, NULL, NULL, 0);
	CHECK_INT(r.flags, 0);
	afgw_behaviour_free(b);
}

/* One short ring: INVITE at t, then `end` (CANCEL / 487) at t + ring. */
static struct afgw_bh_result ring(struct afgw_behaviour *b, const char *caller, unsigned callee,
				  unsigned id, uint64_t t, uint64_t ring_us, enum afgw_bh_kind end)
{
	obs(b, t, AFGW_BH_INVITE, caller, N(callee), CID(id), 0);
	return obs(b, t + ring_us, end, caller, N(callee), CID(id), 0);
}

static void test_wangiri(void)
{
	struct afgw_config_behaviour c = defaults();
	struct afgw_behaviour *b = make(&c, 1024, 1024);
	struct afgw_bh_result r;

	/* INVITE ... CANCEL 2 s later, to 4 callees: not yet; the 5th flags. */
	const char *w = "+881600000001";
	for (unsigned i = 0; i < 4; i++) {
		r = ring(b, w, i, i, S(10 * i), S(2), AFGW_BH_CANCEL);
		CHECK_INT(r.flags, 0);
		CHECK_INT(r.wangiri_callees, i + 1);
	}
	r = ring(b, w, 4, 4, S(40), S(2), AFGW_BH_CANCEL);
	CHECK_INT(r.flags, AFGW_BH_WANGIRI);
	CHECK_INT(r.wangiri_callees, 5);
	CHECK_INT(ctr(b, AFGW_BH_C_FLAGGED_WANGIRI), 1);
	/* The 487 that follows the CANCEL finds no dialog and changes nothing. */
	r = obs(b, S(42) + 1, AFGW_BH_REJECT, w, N(4), CID(4), 0);
	CHECK_INT(r.wangiri_callees, 5);
	CHECK_INT(r.flags, AFGW_BH_WANGIRI);
	/* The flagged caller's next INVITE carries the flag. */
	r = obs(b, S(100), AFGW_BH_INVITE, w, N(50), CID(50), 0);
	CHECK_INT(r.flags, AFGW_BH_WANGIRI);

	/* CANCEL after ring max does not count; exactly ring max does. */
	const char *x = "+881600000002";
	for (unsigned i = 0; i < 5; i++) {
		r = ring(b, x, 100 + i, 100 + i, S(10 * i), S(6) + 1, AFGW_BH_CANCEL);
		CHECK_INT(r.flags, 0);
		CHECK_INT(r.wangiri_callees, 0);
	}
	r = ring(b, x, 105, 105, S(60), S(6), AFGW_BH_CANCEL);
	CHECK_INT(r.wangiri_callees, 1);

	/* Answered calls (200, then BYE; or a CANCEL crossing the 200) do not count. */
	const char *y = "+881600000003";
	for (unsigned i = 0; i < 6; i++) {
		obs(b, S(10 * i), AFGW_BH_INVITE, y, N(200 + i), CID(200 + i), 0);
		obs(b, S(10 * i + 1), AFGW_BH_ANSWER, y, N(200 + i), CID(200 + i), 0);
		r = obs(b, S(10 * i + 2), i % 2 ? AFGW_BH_OTHER_SIP : AFGW_BH_CANCEL, y,
			N(200 + i), CID(200 + i), 0);
		CHECK_INT(r.flags, 0);
		CHECK_INT(r.wangiri_callees, 0);
	}

	/* 487 counts like CANCEL. */
	const char *z = "+881600000004";
	for (unsigned i = 0; i < 5; i++)
		r = ring(b, z, 300 + i, 300 + i, S(10 * i), S(1), AFGW_BH_REJECT);
	CHECK_INT(r.flags, AFGW_BH_WANGIRI);
	CHECK_INT(r.wangiri_callees, 5);

	/*
	 * Retransmitted INVITE and CANCEL, then the 487: one short ring.  A
	 * later short ring to the same callee on a new Call-ID is still the
	 * same callee.
	 */
	const char *v = "+881600000005";
	obs(b, S(0), AFGW_BH_INVITE, v, N(400), CID(400), 0);
	obs(b, MS(500), AFGW_BH_INVITE, v, N(400), CID(400), 0);
	r = obs(b, S(2), AFGW_BH_CANCEL, v, N(400), CID(400), 0);
	CHECK_INT(r.wangiri_callees, 1);
	r = obs(b, S(2) + MS(500), AFGW_BH_CANCEL, v, N(400), CID(400), 0);
	CHECK_INT(r.wangiri_callees, 1);
	r = obs(b, S(3), AFGW_BH_REJECT, v, N(400), CID(400), 0);
	CHECK_INT(r.wangiri_callees, 1);
	r = ring(b, v, 400, 401, S(20), S(1), AFGW_BH_CANCEL);
	CHECK_INT(r.wangiri_callees, 1);
	/* A retransmitted INVITE does not restart the ring: 7 s from the first is too late. */
	obs(b, S(30), AFGW_BH_INVITE, v, N(402), CID(402), 0);
	obs(b, S(34), AFGW_BH_INVITE, v, N(402), CID(402), 0);
	r = obs(b, S(37), AFGW_BH_CANCEL, v, N(402), CID(402), 0);
	CHECK_INT(r.wangiri_callees, 1);
	/* A CANCEL for a Call-ID never seen counts nothing. */
	r = obs(b, S(40), AFGW_BH_CANCEL, v, N(403), "no-such-call", 0);
	CHECK_INT(r.wangiri_callees, 1);
	/* A CANCEL naming no caller is reported for the dialog's caller. */
	obs(b, S(50), AFGW_BH_INVITE, v, N(404), CID(404), 0);
	r = obs(b, S(51), AFGW_BH_CANCEL, NULL, NULL, CID(404), 0);
	CHECK_INT(r.wangiri_callees, 2);

	/* Wangiri window: short rings 10 minutes apart never add up. */
	const char *u = "+881600000006";
	for (unsigned i = 0; i < 10; i++) {
		r = ring(b, u, 500 + i, 500 + i, S(601 * i), S(1), AFGW_BH_CANCEL);
		CHECK_INT(r.flags, 0);
		CHECK_INT(r.wangiri_callees, 1);
	}
	CHECK_INT(ctr(b, AFGW_BH_C_FLAGGED_WANGIRI), 2);
	CHECK_INT(ctr(b, AFGW_BH_C_DIALOGS_EVICTED), 0);
	afgw_behaviour_free(b);
}

/* Dialogs: live ones evicted are counted and lost; finished ones are reused freely. */
static void test_dialog_eviction(void)
{
	struct afgw_config_behaviour c = defaults();
	struct afgw_behaviour *b = make(&c, 64, 8);  /* one set of 8 dialogs */
	struct afgw_bh_result r;
	const char *w = "+881600000007";
	for (unsigned i = 0; i < 20; i++)
		obs(b, MS(10 * i), AFGW_BH_INVITE, w, N(i), CID(i), 0);
	CHECK_INT(ctr(b, AFGW_BH_C_DIALOGS_EVICTED), 12);
	r = obs(b, S(2), AFGW_BH_CANCEL, w, N(0), CID(0), 0);  /* evicted: lost */
	CHECK_INT(r.wangiri_callees, 0);
	r = obs(b, S(2), AFGW_BH_CANCEL, w, N(19), CID(19), 0);  /* newest: kept */
	CHECK_INT(r.wangiri_callees, 1);
	afgw_behaviour_free(b);

	b = make(&c, 64, 8);
	for (unsigned i = 0; i < 8; i++)
		obs(b, S(0), AFGW_BH_INVITE, w, N(i), CID(i), 0);
	for (unsigned i = 8; i < 16; i++)  /* the first 8 have rung past ring max */
		obs(b, S(10), AFGW_BH_INVITE, w, N(i), CID(i), 0);
	for (unsigned i = 16; i < 24; i++) {  /* the second 8 are answered */
		obs(b, S(11), AFGW_BH_ANSWER, w, N(i - 8), CID(i - 8), 0);
		obs(b, S(12), AFGW_BH_INVITE, w, N(i), CID(i), 0);
	}
	CHECK_INT(ctr(b, AFGW_BH_C_DIALOGS_EVICTED), 0);
	afgw_behaviour_free(b);

	/* At exactly ring max a dialog can still count: taking its slot is an eviction. */
	b = make(&c, 64, 8);
	for (unsigned i = 0; i < 8; i++)
		obs(b, S(0), AFGW_BH_INVITE, w, N(i), CID(i), 0);
	obs(b, S(6), AFGW_BH_INVITE, w, N(8), CID(8), 0);
	CHECK_INT(ctr(b, AFGW_BH_C_DIALOGS_EVICTED), 1);
	unsigned counted = 0;
	for (unsigned i = 0; i < 8; i++)
		counted = obs(b, S(6), AFGW_BH_CANCEL, w, N(i), CID(i), 0).wangiri_callees;
	CHECK_INT(counted, 7);
	afgw_behaviour_free(b);

	/* Ended dialogs (CANCEL, 487) free their slot at once, even inside ring max. */
	b = make(&c, 64, 8);
	for (unsigned i = 0; i < 8; i++)
		ring(b, w, i, i, MS(10 * i), MS(1), i % 2 ? AFGW_BH_CANCEL : AFGW_BH_REJECT);
	for (unsigned i = 8; i < 16; i++)
		obs(b, MS(100 + i), AFGW_BH_INVITE, w, N(i), CID(i), 0);
	CHECK_INT(ctr(b, AFGW_BH_C_DIALOGS_EVICTED), 0);
	afgw_behaviour_free(b);
}

static void test_fanout(void)
{
	struct afgw_config_behaviour c = defaults();
	struct afgw_behaviour *b = make(&c, 1024, 1024);
	struct afgw_bh_result r;
	const uint64_t text = 0x8f3a22c1d0e4b597ull, other = 0x8f3a22c1d0e4b598ull;

	/* 20 senders (a SIM box), one recipient each; recipient 0 twice. */
	r = obs(b, S(0), AFGW_BH_SMS, N(9000), N(0), NULL, text);
	CHECK_INT(r.fanout_recipients, 1);
	r = obs(b, S(1), AFGW_BH_SMS, N(9001), N(0), NULL, text);
	CHECK_INT(r.fanout_recipients, 1);
	for (unsigned i = 1; i < 19; i++) {
		r = obs(b, S(1 + i), AFGW_BH_SMS, N(9000 + i), N(i), NULL, text);
		CHECK_INT(r.flags, 0);
		CHECK_INT(r.fanout_recipients, i + 1);
		CHECK_INT(r.mass_callees, 0);
	}
	r = obs(b, S(30), AFGW_BH_SMS, N(9019), N(19), NULL, text);
	CHECK_INT(r.flags, AFGW_BH_SMS_FANOUT);
	CHECK_INT(r.fanout_recipients, 20);
	CHECK_INT(ctr(b, AFGW_BH_C_FLAGGED_SMS_FANOUT), 1);

	/* The text is flagged, so every sender of it is: the first one, and a new one. */
	r = obs(b, S(31), AFGW_BH_SMS, N(9000), N(1), NULL, text);
	CHECK_INT(r.flags, AFGW_BH_SMS_FANOUT);
	r = obs(b, S(32), AFGW_BH_SMS, N(9500), N(2), NULL, text);
	CHECK_INT(r.flags, AFGW_BH_SMS_FANOUT);
	/* A different text from the same sender is not. */
	r = obs(b, S(33), AFGW_BH_SMS, N(9000), N(1), NULL, other);
	CHECK_INT(r.flags, 0);
	CHECK_INT(r.fanout_recipients, 1);
	/* No recipient: not counted, the flag still reported. */
	r = obs(b, S(34), AFGW_BH_SMS, N(9000), NULL, NULL, text);
	CHECK_INT(r.flags, AFGW_BH_SMS_FANOUT);
	CHECK_INT(r.fanout_recipients, 20);
	/* Fan-out is about texts: a call from the sender does not carry it. */
	r = obs(b, S(35), AFGW_BH_INVITE, N(9000), N(1), CID(1), 0);
	CHECK_INT(r.flags & AFGW_BH_SMS_FANOUT, 0);
	/* Held for an hour after the last message on which it held (34 s). */
	r = obs(b, S(34 + 3600), AFGW_BH_SMS, N(9100), N(77), NULL, text);
	CHECK_INT(r.flags, AFGW_BH_SMS_FANOUT);
	r = obs(b, S(34 + 3600) + 1, AFGW_BH_SMS, N(9100), N(78), NULL, text);
	CHECK_INT(r.flags, 0);
	CHECK_INT(r.fanout_recipients, 2);

	/* A text without a sender still counts its recipients. */
	const uint64_t anon = 0x1111222233334444ull;
	for (unsigned i = 0; i < 20; i++)
		r = obs(b, S(5000 + i), AFGW_BH_SMS, NULL, N(100 + i), NULL, anon);
	CHECK_INT(r.flags, AFGW_BH_SMS_FANOUT);
	CHECK_INT(r.fanout_recipients, 20);
	/* text_hash 0 is "no text": nothing counted. */
	for (unsigned i = 0; i < 30; i++)
		r = obs(b, S(6000 + i), AFGW_BH_SMS, N(8000), N(100 + i), NULL, 0);
	CHECK_INT(r.flags, 0);
	CHECK_INT(r.fanout_recipients, 0);
	afgw_behaviour_free(b);
}

static void test_call_and_sms(void)
{
	struct afgw_config_behaviour c = defaults();
	struct afgw_behaviour *b = make(&c, 1024, 1024);
	struct afgw_bh_result r;
	const char *a = "+8617100000001", *v = "+8613900000001", *w = "+8613900000002";

	/* Call then SMS within 30 minutes. */
	r = obs(b, S(0), AFGW_BH_INVITE, a, v, CID(1), 0);
	CHECK_INT(r.flags, 0);
	r = obs(b, S(1), AFGW_BH_OTHER_SIP, a, v, CID(1), 0);
	CHECK_INT(r.flags, 0);
	r = obs(b, S(100), AFGW_BH_SMS, a, w, NULL, 0x77);  /* another subscriber */
	CHECK_INT(r.flags, 0);
	r = obs(b, S(100), AFGW_BH_SMS, v, a, NULL, 0x77);  /* the other direction */
	CHECK_INT(r.flags, 0);
	r = obs(b, S(120), AFGW_BH_SMS, a, v, NULL, 0x77);
	CHECK_INT(r.flags, AFGW_BH_CALL_AND_SMS);
	CHECK_INT(ctr(b, AFGW_BH_C_FLAGGED_CALL_AND_SMS), 1);
	/* The pair's later signalling carries it; the caller's other pairs do not. */
	r = obs(b, S(200), AFGW_BH_OTHER_SIP, a, v, CID(9), 0);
	CHECK_INT(r.flags, AFGW_BH_CALL_AND_SMS);
	r = obs(b, S(200), AFGW_BH_OTHER_SIP, a, w, CID(9), 0);
	CHECK_INT(r.flags, 0);
	/* A CANCEL naming no caller is reported for its dialog's caller, pair included. */
	obs(b, S(300), AFGW_BH_INVITE, a, v, CID(60), 0);
	r = obs(b, S(301), AFGW_BH_CANCEL, NULL, v, CID(60), 0);
	CHECK_INT(r.flags, AFGW_BH_CALL_AND_SMS);
	CHECK_INT(r.wangiri_callees, 1);
	r = obs(b, S(300 + 3600) + 1, AFGW_BH_OTHER_SIP, a, v, CID(9), 0);
	CHECK_INT(r.flags, 0);

	/* SMS first, then the call, exactly at the window's end. */
	const char *d = "+8617100000002";
	r = obs(b, S(0), AFGW_BH_SMS, d, v, NULL, 0x88);
	CHECK_INT(r.flags, 0);
	r = obs(b, S(1800), AFGW_BH_INVITE, d, v, CID(2), 0);
	CHECK_INT(r.flags, AFGW_BH_CALL_AND_SMS);

	/* One µs outside the window, either order: nothing. */
	const char *e = "+8617100000003", *f = "+8617100000004";
	obs(b, S(0), AFGW_BH_INVITE, e, v, CID(3), 0);
	r = obs(b, S(1800) + 1, AFGW_BH_SMS, e, v, NULL, 0x99);
	CHECK_INT(r.flags, 0);
	obs(b, S(0), AFGW_BH_SMS, f, v, NULL, 0x99);
	r = obs(b, S(1800) + 1, AFGW_BH_INVITE, f, v, CID(4), 0);
	CHECK_INT(r.flags, 0);
	/* Calls alone or texts alone never flag. */
	const char *g = "+8617100000005";
	for (unsigned i = 0; i < 5; i++) {
		r = obs(b, S(i), AFGW_BH_INVITE, g, v, CID(10 + i), 0);
		CHECK_INT(r.flags, 0);
		r = obs(b, S(i), AFGW_BH_SMS, g, w, NULL, 0x99);
		CHECK_INT(r.flags, 0);
	}
	CHECK_INT(ctr(b, AFGW_BH_C_FLAGGED_CALL_AND_SMS), 2);
	afgw_behaviour_free(b);
}

/* Tiny tables: eviction is counted, never crashes, and a busy caller survives noise. */
static void test_eviction(void)
{
	struct afgw_config_behaviour c = defaults();
	struct afgw_behaviour *b = make(&c, 16, 16);  /* two sets of 8 each */
	struct afgw_bh_result r;
	for (unsigned i = 0; i < 1000; i++)  /* all within one second: all live */
		obs(b, MS(i), AFGW_BH_INVITE, N(100000 + i), N(i), CID(i), 0);
	CHECK_INT(ctr(b, AFGW_BH_C_CALLERS_EVICTED), 1000 - 16);
	CHECK_INT(ctr(b, AFGW_BH_C_PAIRS_EVICTED), 1000 - 16);
	CHECK_INT(ctr(b, AFGW_BH_C_DIALOGS_EVICTED), 1000 - 16);
	for (unsigned i = 0; i < 100; i++)
		obs(b, S(2) + MS(i), AFGW_BH_SMS, N(7), N(i), NULL, 1000 + i);
	CHECK_INT(ctr(b, AFGW_BH_C_TEXTS_EVICTED), 100 - 16);

	/* A mass caller among three noise callers per call, in the same tiny table. */
	const char *m = "+8617200000001";
	unsigned flagged_at = 0;
	for (unsigned i = 0; i < 20 && !flagged_at; i++) {
		for (unsigned k = 0; k < 3; k++)
			obs(b, S(10) + MS(10 * i + k), AFGW_BH_INVITE, N(200000 + 3 * i + k),
			    N(i), NULL, 0);
		r = obs(b, S(10) + MS(10 * i + 5), AFGW_BH_INVITE, m, N(300 + i), NULL, 0);
		if (r.flags & AFGW_BH_MASS_CALLING)
			flagged_at = i + 1;
	}
	CHECK_INT(flagged_at, 15);

	/*
	 * Old entries are dead after their windows and holds: reused without
	 * counting (8 new keys of each table fit in any set's 8 dead slots).
	 */
	uint64_t before = ctr(b, AFGW_BH_C_CALLERS_EVICTED);
	uint64_t pairs_before = ctr(b, AFGW_BH_C_PAIRS_EVICTED);
	uint64_t texts_before = ctr(b, AFGW_BH_C_TEXTS_EVICTED);
	for (unsigned i = 0; i < 8; i++) {
		obs(b, S(10 * 3600) + i, AFGW_BH_INVITE, N(400000 + i), N(i), NULL, 0);
		obs(b, S(10 * 3600) + i, AFGW_BH_SMS, N(400000 + i), N(i), NULL, 5000 + i);
	}
	CHECK_INT(ctr(b, AFGW_BH_C_CALLERS_EVICTED) - before, 0);
	CHECK_INT(ctr(b, AFGW_BH_C_PAIRS_EVICTED) - pairs_before, 0);
	CHECK_INT(ctr(b, AFGW_BH_C_TEXTS_EVICTED) - texts_before, 0);
	afgw_behaviour_free(b);

	/*
	 * A flagged caller past its window but inside its hold is live: in a
	 * one-set table it outlasts seven one-shot callers whose windows have
	 * run out, and only when every other slot is live does anything go.
	 */
	b = make(&c, 8, 8);
	const char *f = "+8617200000002";
	for (unsigned i = 0; i < 15; i++)
		r = obs(b, S(i), AFGW_BH_INVITE, f, N(i), NULL, 0);
	CHECK_INT(r.flags, AFGW_BH_MASS_CALLING);
	for (unsigned i = 0; i < 7; i++)
		obs(b, S(20), AFGW_BH_INVITE, N(500000 + i), N(i), NULL, 0);
	for (unsigned i = 0; i < 7; i++)
		obs(b, S(100), AFGW_BH_INVITE, N(600000 + i), N(i), NULL, 0);
	CHECK_INT(ctr(b, AFGW_BH_C_CALLERS_EVICTED), 0);
	r = obs(b, S(101), AFGW_BH_OTHER_SIP, f, NULL, NULL, 0);
	CHECK_INT(r.flags, AFGW_BH_MASS_CALLING);
	obs(b, S(102), AFGW_BH_INVITE, N(700000), N(1), NULL, 0);  /* all live: LRU goes */
	CHECK_INT(ctr(b, AFGW_BH_C_CALLERS_EVICTED), 1);
	r = obs(b, S(103), AFGW_BH_OTHER_SIP, f, NULL, NULL, 0);
	CHECK_INT(r.flags, AFGW_BH_MASS_CALLING);
	afgw_behaviour_free(b);

	/*
	 * "Least recently seen" is by arrival, not by timestamp: a caller
	 * stamped far in the future is not pinned, it goes first.
	 */
	b = make(&c, 8, 8);
	obs(b, UINT64_MAX - S(100000), AFGW_BH_INVITE, f, N(1), NULL, 0);
	for (unsigned i = 0; i < 8; i++)
		obs(b, S(1000) + i, AFGW_BH_INVITE, N(800000 + i), N(i), NULL, 0);
	CHECK_INT(ctr(b, AFGW_BH_C_CALLERS_EVICTED), 1);
	for (unsigned i = 0; i < 8; i++) {
		r = obs(b, S(1001), AFGW_BH_OTHER_SIP, N(800000 + i), NULL, NULL, 0);
		CHECK_INT(r.mass_callees, 1);
	}
	r = obs(b, UINT64_MAX - S(100000), AFGW_BH_OTHER_SIP, f, NULL, NULL, 0);
	CHECK_INT(r.mass_callees, 0);
	afgw_behaviour_free(b);

	/* The smallest tables there are. */
	b = make(&c, 1, 1);
	for (unsigned i = 0; i < 100; i++)
		r = obs(b, MS(i), AFGW_BH_INVITE, N(i % 10), N(i), CID(i), 0);
	CHECK_INT(ctr(b, AFGW_BH_C_CALLERS_EVICTED), 92);
	afgw_behaviour_free(b);
}

/* Time that steps back is "now" for the key; it cannot reopen windows or crash. */
static void test_old_timestamps(void)
{
	struct afgw_config_behaviour c = defaults();
	struct afgw_behaviour *b = make(&c, 1024, 1024);
	struct afgw_bh_result r;
	const char *a = "+8617300000001";
	for (unsigned i = 0; i < 14; i++)
		obs(b, S(1000 + i), AFGW_BH_INVITE, a, N(i), NULL, 0);
	r = obs(b, S(5), AFGW_BH_INVITE, a, N(14), NULL, 0);  /* taken as 1013 s */
	CHECK_INT(r.flags, AFGW_BH_MASS_CALLING);
	CHECK_INT(r.mass_callees, 15);
	r = obs(b, 0, AFGW_BH_OTHER_SIP, a, NULL, NULL, 0);
	CHECK_INT(r.flags, AFGW_BH_MASS_CALLING);

	/* A CANCEL stamped before its INVITE rang 0 s. */
	const char *w = "+881600000009";
	obs(b, S(500), AFGW_BH_INVITE, w, N(1), CID(1), 0);
	r = obs(b, S(400), AFGW_BH_CANCEL, w, N(1), CID(1), 0);
	CHECK_INT(r.wangiri_callees, 1);

	/* Far in the future, then back to zero, then the very end of time. */
	const uint64_t far = UINT64_MAX - S(100000);
	const char *z = "+8617300000002";
	obs(b, far, AFGW_BH_INVITE, z, N(1), CID(2), 0);
	obs(b, far, AFGW_BH_SMS, z, N(1), NULL, 5);
	r = obs(b, 0, AFGW_BH_CANCEL, z, N(1), CID(2), 0);
	CHECK_INT(r.flags, AFGW_BH_CALL_AND_SMS);
	CHECK_INT(r.wangiri_callees, 1);
	r = obs(b, far + S(1), AFGW_BH_SMS, NULL, N(2), NULL, 5);
	CHECK_INT(r.fanout_recipients, 2);
	for (int k = 0; k <= AFGW_BH_SMS; k++)
		obs(b, UINT64_MAX, (enum afgw_bh_kind)k, z, N(3), CID(3), 5);
	r = obs(b, UINT64_MAX, AFGW_BH_OTHER_SIP, z, N(1), NULL, 0);
	CHECK_INT(r.mass_callees, 1);
	CHECK_INT(r.wangiri_callees, 1);
	afgw_behaviour_free(b);
}

/* Hostile input: empty and odd strings, unknown kinds, extreme configs, big counts. */
static void test_hostile(void)
{
	struct afgw_config_behaviour c = defaults();
	struct afgw_behaviour *b = make(&c, 64, 64);
	struct afgw_bh_result r;
	for (int k = 0; k <= AFGW_BH_SMS + 1; k++) {
		r = obs(b, S(k), (enum afgw_bh_kind)k, NULL, NULL, NULL, 0);
		CHECK_INT(r.flags, 0);
		CHECK_INT(r.mass_callees + r.wangiri_callees + r.fanout_recipients, 0);
		r = obs(b, S(k), (enum afgw_bh_kind)k, "", "", "", 42);
		CHECK_INT(r.flags, 0);
		r = obs(b, S(k), (enum afgw_bh_kind)k, "+8613800000000", NULL, "x", 42);
		CHECK_INT(r.flags, 0);
	}
	/* A NULL pointer with a length is empty (afgw_str_empty), not a read. */
	struct afgw_bh_msg m = { S(1), AFGW_BH_INVITE, { NULL, 5 }, { NULL, 7 }, { NULL, 3 }, 0, NULL };
	afgw_behaviour_observe(b, &m, &r);
	CHECK_INT(r.flags, 0);
	m.kind = (enum afgw_bh_kind)-1;
	afgw_behaviour_observe(b, &m, &r);
	CHECK_INT(r.flags, 0);

	/*
	 * Numbers that differ only past 8 bytes, in length, or by a trailing
	 * NUL are distinct, and so are short codes of every length 1..7.
	 */
	static const char lookalike[][24] = {
		"+861380013800", "+8613800138000", "+8613800138001", "+86138001380000",
		"+8613800138000\0", "1", "2", "11", "12", "21", "110", "119", "120", "1234",
		"12345", "95588", "10086", "12381", "123456", "1234567", "1234576",
	};
	const char *a = "+8617400000001";
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(lookalike); i++) {
		size_t len = strlen(lookalike[i]) + (i == 4);
		struct afgw_bh_msg q = { S(10), AFGW_BH_INVITE, mk(a),
					 afgw_str_make(lookalike[i], len), mk(NULL), 0, NULL };
		afgw_behaviour_observe(b, &q, &r);
		CHECK_INT(r.mass_callees, i + 1);
	}

	/* Huge callee and caller strings. */
	size_t big = 100000;
	char *huge = malloc(big);
	CHECK(huge != NULL);
	if (huge) {
		memset(huge, '9', big);
		struct afgw_bh_msg q = { S(11), AFGW_BH_INVITE, afgw_str_make(huge, big),
					 afgw_str_make(huge, big - 1),
					 afgw_str_make(huge, big), 0, NULL };
		afgw_behaviour_observe(b, &q, &r);
		CHECK_INT(r.mass_callees, 1);
		q.kind = AFGW_BH_CANCEL;
		afgw_behaviour_observe(b, &q, &r);
		CHECK_INT(r.wangiri_callees, 1);
		free(huge);
	}
	afgw_behaviour_free(b);

	/* Thresholds 0 switch detectors off; UINT_MAX never flags; huge windows do not overflow. */
	struct afgw_config_behaviour off = c, max = c;
	off.mass_call_callees = off.wangiri_callees = off.fanout_recipients = 0;
	max.mass_call_callees = max.wangiri_callees = max.fanout_recipients = UINT_MAX;
	max.mass_call_window_s = max.wangiri_ring_max_s = max.wangiri_window_s = UINT_MAX;
	max.fanout_window_s = max.call_sms_window_s = max.flag_hold_s = UINT_MAX;
	struct afgw_config_behaviour *cfgs[] = { &off, &max };
	for (size_t k = 0; k < 2; k++) {
		b = make(cfgs[k], 64, 64);
		unsigned flags = 0;
		for (unsigned i = 0; i < 100; i++) {
			uint64_t t = UINT64_MAX - S(1000) + MS(10 * i);
			r = ring(b, a, i, i, t, S(1), AFGW_BH_CANCEL);
			flags |= r.flags;
			r = obs(b, t, AFGW_BH_SMS, a, N(i), NULL, 7);
			flags |= r.flags;
		}
		CHECK_INT(flags & ~(unsigned)AFGW_BH_CALL_AND_SMS, 0);
		CHECK_INT(r.mass_callees, 100);
		CHECK_INT(r.wangiri_callees, 100);
		CHECK_INT(r.fanout_recipients, 100);
		afgw_behaviour_free(b);
	}

	/*
	 * Large distinct counts: exact up to 32, then a monotone estimate,
	 * close to the truth and saturating without overflow.
	 */
	c.mass_call_callees = 3000;
	b = make(&c, 64, 64);
	unsigned prev = 0, exact = 1, monotone = 1, flagged_at = 0;
	for (unsigned i = 1; i <= 20000; i++) {
		r = obs(b, S(1) + i, AFGW_BH_INVITE, a, N(i), NULL, 0);
		if (i <= 32 && r.mass_callees != i)
			exact = 0;
		if (r.mass_callees < prev)
			monotone = 0;
		prev = r.mass_callees;
		if (i == 500)
			CHECK(r.mass_callees >= 450 && r.mass_callees <= 550);
		if ((r.flags & AFGW_BH_MASS_CALLING) && !flagged_at)
			flagged_at = i;
	}
	CHECK(exact);
	CHECK(monotone);
	CHECK(flagged_at >= 2500 && flagged_at <= 3500);
	CHECK(prev >= 7000 && prev <= 7200);  /* saturated: 1024 ln 1024 */
	afgw_behaviour_free(b);
}

/* ---- a crowd ------------------------------------------------------------ */

static uint64_t xs_state;

static uint64_t xorshift(void)
{
	uint64_t x = xs_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return xs_state = x;
}

static unsigned below(unsigned n)
{
	return (unsigned)(xorshift() % n);
}

struct ev {
	uint64_t ts;
	unsigned seq;
	enum afgw_bh_kind kind;
	unsigned caller, callee, call;
	uint64_t text;
};

static int ev_cmp(const void *pa, const void *pb)
{
	const struct ev *a = pa, *b = pb;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

#define CROWD      1500
#define MASS       CROWD
#define WANGIRI    (CROWD + 1)
#define HORIZON_S  7200

static size_t add(struct ev *e, size_t n, uint64_t ts, enum afgw_bh_kind kind, unsigned caller,
		  unsigned callee, unsigned call, uint64_t text)
{
	e[n] = (struct ev){ ts, (unsigned)n, kind, caller, callee, call, text };
	return n + 1;
}

/*
 * Ordinary callers make 1..5 calls over two hours to random people:
 * answered, rung out (CANCEL after 10..40 s), or a quick hang-up (at most
 * 2 each, inside ring max), and send a few SMS.  One mass caller calls 40
 * people in 80 s; one Wangiri caller rings 8 people for 1..3 s each.
 */
static size_t crowd(struct ev *e, uint64_t seed)
{
	size_t n = 0;
	unsigned call = 1;
	xs_state = seed;
	for (unsigned c = 0; c < CROWD; c++) {
		unsigned calls = 1 + below(5), quick = 0;
		for (unsigned k = 0; k < calls; k++) {
			uint64_t t = S(below(HORIZON_S)) + below(1000000);
			unsigned callee = below(100000);
			n = add(e, n, t, AFGW_BH_INVITE, c, callee, call, 0);
			unsigned how = below(3);
			if (how == 2 && quick < 2) {
				quick++;
				n = add(e, n, t + MS(300 + below(5000)), AFGW_BH_CANCEL, c, callee,
					call, 0);
				n = add(e, n, t + MS(5400), AFGW_BH_REJECT, c, callee, call, 0);
			} else if (how == 1) {
				n = add(e, n, t + S(10 + below(30)), AFGW_BH_CANCEL, c, callee,
					call, 0);
			} else {
				n = add(e, n, t + S(5 + below(20)), AFGW_BH_ANSWER, c, callee, call,
					0);
				n = add(e, n, t + S(60 + below(600)), AFGW_BH_OTHER_SIP, c, callee,
					call, 0);
			}
			call++;
		}
		for (unsigned k = below(4); k > 0; k--)
			n = add(e, n, S(below(HORIZON_S)), AFGW_BH_SMS, c, below(100000), 0,
				xorshift() | 1);
	}
	uint64_t t0 = S(1000 + below(3000));
	for (unsigned k = 0; k < 40; k++)
		n = add(e, n, t0 + S(2 * k), AFGW_BH_INVITE, MASS, 200000 + k, call++, 0);
	t0 = S(1000 + below(3000));
	for (unsigned k = 0; k < 8; k++) {
		n = add(e, n, t0 + S(30 * k), AFGW_BH_INVITE, WANGIRI, 300000 + k, call, 0);
		n = add(e, n, t0 + S(30 * k + 1 + below(3)), AFGW_BH_CANCEL, WANGIRI, 300000 + k,
			call, 0);
		call++;
	}
	qsort(e, n, sizeof(*e), ev_cmp);
	return n;
}

static struct afgw_bh_result play(struct afgw_behaviour *b, const struct ev *e)
{
	char caller[32], callee[32], id[48];
	snprintf(caller, sizeof(caller), "+8615%09u", e->caller);
	snprintf(callee, sizeof(callee), "+8613%09u", e->callee);
	snprintf(id, sizeof(id), "%08x-%u@10.1.2.3", e->call * 2654435761u, e->call);
	return obs(b, e->ts, e->kind, caller, callee, e->call ? id : NULL, e->text);
}

static void test_crowd(void)
{
	struct afgw_config_behaviour c = defaults();
	size_t cap = CROWD * 5 * 3 + CROWD * 3 + 40 + 16;
	struct ev *e = malloc(cap * sizeof(*e));
	struct afgw_bh_result *first = malloc(cap * sizeof(*first));
	CHECK(e && first);
	if (!e || !first)
		goto out;
	for (uint64_t seed = 0x9e3779b97f4a7c15ull; seed < 0x9e3779b97f4a7c15ull + 3; seed++) {
		size_t n = crowd(e, seed);
		CHECK(n <= cap);
		struct afgw_behaviour *b = make(&c, 65536, 65536);
		unsigned mass_flagged = 0, wan_flagged = 0, wrong = 0, mass_first = 0;
		for (size_t i = 0; i < n; i++) {
			struct afgw_bh_result r = play(b, &e[i]);
			first[i] = r;
			if (r.flags & AFGW_BH_MASS_CALLING) {
				if (e[i].caller != MASS)
					wrong++;
				else if (!mass_flagged++)
					mass_first = r.mass_callees;
			}
			if (r.flags & AFGW_BH_WANGIRI) {
				if (e[i].caller != WANGIRI)
					wrong++;
				else
					wan_flagged++;
			}
		}
		CHECK_INT(wrong, 0);
		CHECK(mass_flagged >= 26);  /* the 15th .. 40th INVITE at least */
		CHECK_INT(mass_first, 15);
		CHECK(wan_flagged >= 4);   /* the 5th .. 8th CANCEL at least */
		CHECK_INT(ctr(b, AFGW_BH_C_FLAGGED_MASS_CALLING), 1);
		CHECK_INT(ctr(b, AFGW_BH_C_FLAGGED_WANGIRI), 1);
		CHECK_INT(ctr(b, AFGW_BH_C_OBSERVED), n);
		CHECK_INT(ctr(b, AFGW_BH_C_CALLERS_EVICTED) + ctr(b, AFGW_BH_C_DIALOGS_EVICTED), 0);
		uint64_t c1[AFGW_BH_C_COUNT];
		afgw_behaviour_counters(b, c1);
		afgw_behaviour_free(b);

		/* Determinism: the same input again, into a fresh instance. */
		b = make(&c, 65536, 65536);
		size_t diff = 0;
		for (size_t i = 0; i < n; i++) {
			struct afgw_bh_result r = play(b, &e[i]);
			if (memcmp(&r, &first[i], sizeof(r)))
				diff++;
		}
		CHECK_INT(diff, 0);
		uint64_t c2[AFGW_BH_C_COUNT];
		afgw_behaviour_counters(b, c2);
		CHECK(memcmp(c1, c2, sizeof(c1)) == 0);
		afgw_behaviour_free(b);
	}
out:
	free(e);
	free(first);
}

/* Keys computed ahead: empty fields have none, equal strings equal keys wherever they sit. */
static void test_keys(void)
{
	struct afgw_bh_msg m = { S(1), AFGW_BH_INVITE, mk("+8613800000001"), mk("+8613800000001"),
				 { NULL, 4 }, 0, NULL };
	struct afgw_bh_keys k, k2;
	afgw_behaviour_keys(&m, &k);
	CHECK(k.caller.h != 0);
	CHECK(k.caller.h == k.callee.h && k.caller.chk == k.callee.chk);
	CHECK(k.call_id.h == 0);
	m.callee = mk("+8613800000002");
	m.call_id = mk("a84b4c76e66710");
	afgw_behaviour_keys(&m, &k2);
	CHECK(k2.caller.h == k.caller.h && k2.caller.chk == k.caller.chk);
	CHECK(k2.callee.h != k.caller.h);
	CHECK(k2.call_id.h != 0);
	m.caller = mk(NULL);
	afgw_behaviour_keys(&m, &k);
	CHECK(k.caller.h == 0);
}

int main(void)
{
	test_new_and_names();
	test_keys();
	test_mass_calling();
	test_windows();
	test_wangiri();
	test_dialog_eviction();
	test_fanout();
	test_call_and_sms();
	test_eviction();
	test_old_timestamps();
	test_hostile();
	test_crowd();
	return check_report();
}
