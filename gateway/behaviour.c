/*
 * behaviour.c - the behaviour detectors of DESIGN.md §4 (see behaviour.h).
 *
 * Input: every decoded call-signalling message and SMS, in capture order,
 * from the score stage's one thread.  Output: which of mass calling,
 * Wangiri, SMS fan-out and call + SMS flag the message, with the figures
 * behind them.  Four tables, each allocated once in _new and never grown:
 *
 *   callers  caller number -> distinct callees INVITEd (mass calling) and
 *            distinct callees rung short (Wangiri), two windowed sets;
 *   texts    text_hash -> distinct recipients (SMS fan-out);
 *   pairs    (caller, callee) -> time of the last INVITE and last SMS;
 *   dialogs  Call-ID -> the INVITE waiting for an answer or a CANCEL.
 *
 * Time is the messages' ts_us only.  Each key keeps the time it was last
 * seen, and a message older than that is taken as happening then, so a
 * clock that steps back cannot reopen a window or undo a flag (and one
 * bogus timestamp from the future only affects the keys it touches).
 * A threshold of 0 switches its detector off; a zero window is -EINVAL.
 *
 * It deliberately does not: copy any number or text (keys are hashes),
 * share counts between gateways (fleet.c does, beside it, in the score stage),
 * or decide anything: score.c weighs the flags.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "afgw/behaviour.h"

/*
 * The tables.
 *
 * Each table is a set-associative cache: a key's 64-bit hash picks one set
 * of WAYS consecutive slots (the probe window), and the key lives in one
 * of them.  A slot is a 16-byte tag (hash, when last seen, expiry) in one
 * array and the value in another, so a lookup or a choice of victim reads
 * the two cache lines of the set's tags and touches a value only on a hit.
 * "When last seen" is the observe() sequence number, so least recently
 * seen means that, whatever the timestamps say; the expiry is kept in
 * units of 2^20 µs (about a second), rounded up, so an entry may count as
 * live up to two seconds longer than it is, never shorter.
 *
 * Two numbers (or pairs, or Call-IDs) are the same key when both the
 * 64-bit hash and a second, independently mixed 32-bit check agree: a
 * false match needs a 96-bit coincidence, about 2^-93 per lookup, i.e.
 * never.  Texts arrive as the caller's 64-bit text_hash, which is all
 * there is to compare; two texts with one hash are one text.  The hash is
 * not keyed, so somebody could in principle forge a number that shares
 * another number's entry; that gives nothing a spoofed caller ID does not
 * already give.
 *
 * A miss takes, in this order, an empty slot of the set, an expired one
 * (its windows and flag hold are over, or a dialog that can no longer
 * count), or the least recently seen one; only the last case throws away
 * live state, and only it is counted as an eviction.  A key that keeps
 * being seen therefore stays, whatever noise passes through its set.
 * Dialogs are dropped as soon as they end (CANCEL, 487), leaving holes;
 * lookups always read the whole set, so holes need no tombstones.
 *
 * Per key: a caller 352 bytes (tag + two sets), a text 192, a pair 64, a
 * dialog 64; at the defaults (65536 keys, 65536 dialogs) about 42 MiB,
 * of which only the pages of values ever used are touched.  A message
 * costs about 1000 instructions and, once the tables are far larger than
 * the cache, about 7 cache misses (cachegrind, mixed SIP and SMS).
 */
#define WAYS      8u
#define SET_WORDS 32u                /* 32 exact members, or ... */
#define SET_BITS  (SET_WORDS * 32u)  /* ... a 1024-bit bitmap */
#define NONE      SIZE_MAX
#define US        1000000ull
#define EXP_SHIFT 20                 /* expiry unit: 2^20 µs */
#define EXP_NEVER UINT32_MAX

struct key {
	uint64_t h;      /* never 0: 0 marks an empty slot */
	uint32_t chk;
};

struct tag {
	uint64_t h;
	uint32_t seen;     /* afgw_behaviour.seq when last seen */
	uint32_t expires;  /* from this time (EXP_SHIFT units) on the value carries nothing */
};

/* Every value starts with this (see head_at). */
struct head {
	uint64_t last_us;  /* latest timestamp seen: the key's "now" never goes back */
	uint32_t chk;      /* the key's second check */
};

/*
 * A distinct set counted over a tumbling window, with its flag.
 *
 * The window opens at the first member added after the previous one has
 * run out (ts - start > window) and everything is forgotten then, so a
 * caller who spreads calls over hours never reaches a threshold.  Being
 * tumbling, a burst that straddles the end of a window opened by an
 * earlier, unrelated call is split in two; the worst case halves the
 * count, which the thresholds (tens, in a minute) tolerate, and a burst
 * that starts from quiet opens its own window.
 *
 * Members are 32-bit fingerprints of the callee's hash.  Up to SET_WORDS
 * members are kept as a list, so counts are exact (up to fingerprint
 * collisions: 1 in 10^7 at 32 members) across the range the thresholds
 * live in.  The next distinct member turns the same 128 bytes into a
 * 1024-bit bitmap: every fingerprint sets one bit and the count is the
 * linear-counting estimate n = -m ln(zeros / m) (Whang et al., 1990),
 * within a few per cent up to a few thousand members and saturating at
 * m ln m (about 7100) when every bit is set.  The count never goes down
 * inside a window: the list's exact 33 is the floor of the estimate.
 *
 * until_us is last-condition-time + hold + 1 µs, so "flagged" is simply
 * now < until_us and 0 means never flagged.
 *
 * The set's header and its members are kept apart, so that a caller's two
 * headers sit together at the front of the value: reading the flags
 * touches one or two cache lines, adding a member one more.
 */
struct dset {
	uint64_t start_us;
	uint64_t until_us;
	uint32_t n;        /* distinct members in the window (0: no window) */
	uint32_t at_flag;  /* n when the condition last held */
	uint32_t bitmap;   /* 0: the words list n members; 1: they are a bitmap */
	uint32_t ones;     /* bitmap: bits set */
};

struct caller {
	struct head hd;
	struct dset mass, wangiri;
	uint32_t mass_w[SET_WORDS], wangiri_w[SET_WORDS];
};

struct text {
	struct head hd;
	struct dset fan;
	uint32_t fan_w[SET_WORDS];
};

/*
 * A new caller or text zeroes its header and sets only: a set reads its
 * words below n in list mode and clears them all when it becomes a
 * bitmap, so stale words are never read, and the 128-byte arrays of a
 * new key (cache misses, most of a fresh key's cost) are not touched.
 */
#define CALLER_ZERO offsetof(struct caller, mass_w)
#define TEXT_ZERO offsetof(struct text, fan_w)

enum { PAIR_CALL = 1, PAIR_SMS = 2 };

struct pair {
	struct head hd;
	uint32_t has;      /* PAIR_* seen */
	uint64_t call_us, sms_us;
	uint64_t until_us;
};

struct dialog {
	struct head hd;
	uint32_t answered;
	uint64_t caller_h;
	uint32_t caller_chk;
	uint32_t callee_fp;
	uint64_t invite_us;
};

struct afgw_behaviour;

struct table {
	struct tag *tag;
	unsigned char *val;
	size_t esz;
	size_t zsz;        /* bytes of a new value to zero: the rest is written before read */
	size_t mask;       /* slots - 1; slots is a power of two >= WAYS */
	int c_evicted;     /* AFGW_BH_C_*_EVICTED */
	uint64_t (*expires)(const struct afgw_behaviour *b, const void *v);
};

struct afgw_behaviour {
	struct afgw_config_behaviour cfg;
	uint64_t mass_win, wan_win, ring_max, fan_win, cs_win, hold;  /* µs */
	struct table callers, texts, pairs, dialogs;
	uint32_t seq;      /* observe() calls, wrapping: the clock of "least recently seen" */
	uint64_t c[AFGW_BH_C_COUNT];
};

/* ---- time ----------------------------------------------------------- */

static uint64_t age(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static bool held(uint64_t until_us, uint64_t now)
{
	return now < until_us;
}

/* ---- hashing -------------------------------------------------------- */

static uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t rotl64(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

/*
 * The last 1..7 bytes of a key as one word, the bytes in order from the
 * low end (two overlapping loads; overlapping bytes are equal, so the OR
 * is exact and different tails of one length give different words).
 */
static uint64_t load_tail(const unsigned char *p, size_t len)
{
	if (len >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + len - 4, 4);
		return lo | (uint64_t)hi << (8 * (len - 4));
	}
	return p[0] | (uint64_t)p[len / 2] << (8 * (len / 2)) |
	       (uint64_t)p[len - 1] << (8 * (len - 1));
}

/*
 * Two lanes over 8-byte words: the hash lane (xor-multiply-shift) and the
 * check lane (add-multiply-rotate), each finalised by MurmurHash3's fmix64.
 * Numbers are short, so this is a handful of multiplies.
 */
static struct key key_of(struct afgw_str s)
{
	uint64_t a = 0x9e3779b97f4a7c15ull ^ s.len, b = 0x6a09e667f3bcc909ull + s.len;
	const unsigned char *p = (const unsigned char *)s.p;
	size_t len = s.len;
	while (len) {
		uint64_t w = 0;
		if (len >= 8) {
			memcpy(&w, p, 8);
			p += 8;
			len -= 8;
		} else {
			w = load_tail(p, len);
			len = 0;
		}
		a = (a ^ w) * 0xff51afd7ed558ccdull;
		a ^= a >> 29;
		b = rotl64((b + w) * 0x9fb21c651e98df25ull, 23);
	}
	struct key k = { fmix64(a), (uint32_t)(fmix64(b ^ 0xa0761d6478bd642full) >> 32) };
	if (!k.h)
		k.h = 1;
	return k;
}

/* Ordered: (a, b) and (b, a) are different pairs. */
static struct key pair_key(struct key caller, struct key callee)
{
	struct key k = { fmix64(caller.h * 0x9e3779b97f4a7c15ull + callee.h),
			 caller.chk * 0x9e3779b1u + callee.chk };
	if (!k.h)
		k.h = 1;
	return k;
}

static struct key text_key(uint64_t text_hash)
{
	struct key k = { fmix64(text_hash), (uint32_t)(text_hash >> 32) };
	if (!k.h)
		k.h = 1;
	return k;
}

/* The member fingerprint of a callee / recipient: the top of its hash. */
static uint32_t fp_of(struct key k)
{
	return (uint32_t)(k.h >> 32);
}

/* ---- tables --------------------------------------------------------- */

static void *val_at(const struct table *t, size_t i)
{
	return t->val + i * t->esz;
}

static struct head *head_at(const struct table *t, size_t i)
{
	return val_at(t, i);
}

/* A time in expiry units, rounded down (ts) or up (an expiry), short of EXP_NEVER. */
static uint32_t units_down(uint64_t us)
{
	uint64_t u = us >> EXP_SHIFT;
	return u < EXP_NEVER - 1 ? (uint32_t)u : EXP_NEVER - 1;
}

static uint32_t units_up(uint64_t us)
{
	uint64_t u = (us >> EXP_SHIFT) + ((us & ((1u << EXP_SHIFT) - 1)) != 0);
	return u < EXP_NEVER - 1 ? (uint32_t)u : EXP_NEVER - 1;
}

static size_t set_start(const struct table *t, uint64_t h)
{
	return (size_t)h & t->mask & ~(size_t)(WAYS - 1);
}

/*
 * Ask for key h's set of tags (two cache lines) ahead of use: the tables
 * are tens of MiB, so each lookup is a cache miss, and issuing them all
 * at once lets them overlap instead of queueing one after another.
 */
static void prefetch_set(const struct table *t, uint64_t h)
{
#if defined(__GNUC__)
	const char *p = (const char *)&t->tag[set_start(t, h)];
	__builtin_prefetch(p);
	__builtin_prefetch(p + 64);
#else
	(void)t;
	(void)h;
#endif
}

/* Slot holding k, or NONE. */
static size_t tab_find(const struct table *t, struct key k)
{
	size_t s = set_start(t, k.h);
	for (size_t i = s; i < s + WAYS; i++)
		if (t->tag[i].h == k.h && head_at(t, i)->chk == k.chk)
			return i;
	return NONE;
}

/*
 * Slot holding k, creating it (value zeroed, *fresh set) if absent: an
 * empty slot, else an expired one, else the least recently seen of the
 * set, which is counted as evicted.  Never fails.  Reads tags only.
 */
static size_t tab_get(struct afgw_behaviour *b, struct table *t, struct key k, uint64_t ts,
		      bool *fresh)
{
	size_t s = set_start(t, k.h), empty = NONE, expired = NONE, oldest = NONE;
	uint32_t now = units_down(ts), oldest_age = 0;
	for (size_t i = s; i < s + WAYS; i++) {
		if (t->tag[i].h == k.h && head_at(t, i)->chk == k.chk) {
			*fresh = false;
			return i;
		}
		if (!t->tag[i].h) {
			if (empty == NONE)
				empty = i;
		} else if (now >= t->tag[i].expires) {
			if (expired == NONE)
				expired = i;
		} else if (oldest == NONE || (uint32_t)(b->seq - t->tag[i].seen) > oldest_age) {
			oldest = i;
			oldest_age = b->seq - t->tag[i].seen;
		}
	}
	size_t i = empty != NONE ? empty : expired;
	if (i == NONE) {
		i = oldest;
		b->c[t->c_evicted]++;
	}
	memset(val_at(t, i), 0, t->zsz);
	head_at(t, i)->chk = k.chk;
	head_at(t, i)->last_us = ts;
	t->tag[i].h = k.h;
	t->tag[i].seen = b->seq;
	t->tag[i].expires = EXP_NEVER;  /* live until settle() says otherwise */
	*fresh = true;
	return i;
}

/* Record in slot i's tag when its (just changed) value stops mattering. */
static void settle(const struct afgw_behaviour *b, struct table *t, size_t i)
{
	t->tag[i].expires = units_up(t->expires(b, val_at(t, i)));
}

/* Mark slot i seen at ts and return the key's "now": ts, or its last time if later. */
static uint64_t touch(const struct afgw_behaviour *b, struct table *t, size_t i, uint64_t ts)
{
	struct head *hd = head_at(t, i);
	t->tag[i].seen = b->seq;
	if (ts > hd->last_us)
		hd->last_us = ts;
	return hd->last_us;
}

static void tab_drop(struct table *t, size_t i)
{
	t->tag[i].h = 0;
}

static int tab_init(struct table *t, unsigned n, size_t esz, size_t zsz, int c_evicted,
		    uint64_t (*expires)(const struct afgw_behaviour *, const void *))
{
	size_t slots = WAYS;
	while (slots < n) {
		if (slots > SIZE_MAX / 2 / esz)
			return -ENOMEM;
		slots <<= 1;
	}
	t->esz = esz;
	t->zsz = zsz;
	t->mask = slots - 1;
	t->c_evicted = c_evicted;
	t->expires = expires;
	/* A set's 8 tags are 128 bytes: aligned, exactly two cache lines. */
	t->tag = aligned_alloc(64, slots * sizeof(*t->tag));
	t->val = calloc(slots, esz);
	if (!t->tag || !t->val)
		return -ENOMEM;
	memset(t->tag, 0, slots * sizeof(*t->tag));
	return 0;
}

static void tab_fini(struct table *t)
{
	free(t->tag);
	free(t->val);
}

/* ---- distinct sets -------------------------------------------------- */

static bool set_live(const struct dset *s, uint64_t now, uint64_t win)
{
	return s->n && age(now, s->start_us) <= win;
}

/* Set fp's bit in s's bitmap w; true if it was clear. */
static bool set_bit(struct dset *s, uint32_t *w, uint32_t fp)
{
	uint32_t bit = fp % SET_BITS, mask = 1u << (bit % 32);
	if (w[bit / 32] & mask)
		return false;
	w[bit / 32] |= mask;
	s->ones++;
	return true;
}

/* Linear counting: -m ln(zeros / m), saturating when no bit is clear. */
static uint32_t estimate(uint32_t ones)
{
	double m = SET_BITS, zeros = SET_BITS - ones;
	if (zeros < 1)
		zeros = 1;
	return (uint32_t)lround(-m * log(zeros / m));
}

/* Add member fp to s (words w) at now, opening a new window if the old one has run out. */
static void set_add(struct dset *s, uint32_t *w, uint32_t fp, uint64_t now, uint64_t win)
{
	if (!set_live(s, now, win)) {
		s->n = 0;
		s->bitmap = 0;
		s->ones = 0;
		s->start_us = now;
	}
	if (!s->bitmap) {
		for (uint32_t i = 0; i < s->n; i++)
			if (w[i] == fp)
				return;
		if (s->n < SET_WORDS) {
			w[s->n++] = fp;
			return;
		}
		uint32_t list[SET_WORDS];
		memcpy(list, w, sizeof(list));
		memset(w, 0, sizeof(list));
		s->bitmap = 1;
		for (uint32_t i = 0; i < SET_WORDS; i++)
			set_bit(s, w, list[i]);
		set_bit(s, w, fp);
		s->n = SET_WORDS + 1;
		return;
	}
	if (set_bit(s, w, fp)) {
		uint32_t e = estimate(s->ones);
		if (e > s->n)
			s->n = e;
	}
}

/*
 * Whether s flags at now.  If the condition holds now (a live window at
 * or over thr), the hold restarts from now, and a key that was not
 * flagged is counted in counter.  thr 0: never.
 */
static bool set_flag(struct afgw_behaviour *b, struct dset *s, uint64_t now, uint64_t win,
		     unsigned thr, int counter)
{
	if (thr && set_live(s, now, win) && s->n >= thr) {
		if (!held(s->until_us, now))
			b->c[counter]++;
		s->until_us = sat_add(now, sat_add(b->hold, 1));
		s->at_flag = s->n;
	}
	return held(s->until_us, now);
}

/* The figure behind the flag: the live window's count, or while held the count that flagged. */
static unsigned set_figure(const struct dset *s, uint64_t now, uint64_t win)
{
	uint32_t n = set_live(s, now, win) ? s->n : 0;
	if (held(s->until_us, now) && s->at_flag > n)
		n = s->at_flag;
	return n;
}

/* ---- expiry --------------------------------------------------------- */

/*
 * When a value stops mattering: its windows have run out and its flag is
 * no longer held.  A set is live while now - start <= window, so up to
 * start + window + 1 (exclusive); a flag while now < until.
 */
static uint64_t set_expires(const struct dset *s, uint64_t win)
{
	uint64_t e = s->n ? sat_add(s->start_us, sat_add(win, 1)) : 0;
	return e > s->until_us ? e : s->until_us;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t caller_expires(const struct afgw_behaviour *b, const void *v)
{
	const struct caller *c = v;
	return max64(set_expires(&c->mass, b->mass_win), set_expires(&c->wangiri, b->wan_win));
}

static uint64_t text_expires(const struct afgw_behaviour *b, const void *v)
{
	const struct text *t = v;
	return set_expires(&t->fan, b->fan_win);
}

static uint64_t pair_expires(const struct afgw_behaviour *b, const void *v)
{
	const struct pair *p = v;
	uint64_t e = p->until_us, w = sat_add(b->cs_win, 1);
	if (p->has & PAIR_CALL)
		e = max64(e, sat_add(p->call_us, w));
	if (p->has & PAIR_SMS)
		e = max64(e, sat_add(p->sms_us, w));
	return e;
}

/* A dialog that is answered or has rung longer than ring max can no longer count. */
static uint64_t dialog_expires(const struct afgw_behaviour *b, const void *v)
{
	const struct dialog *d = v;
	return d->answered ? 0 : sat_add(d->invite_us, sat_add(b->ring_max, 1));
}

/* ---- life cycle ----------------------------------------------------- */

int afgw_behaviour_new(const struct afgw_config_behaviour *cfg, unsigned numbers,
		       unsigned dialogs, struct afgw_behaviour **out)
{
	int rc = -EINVAL;
	struct afgw_behaviour *b = NULL;
	if (out)
		*out = NULL;
	if (!cfg || !out || !numbers || !dialogs || !cfg->mass_call_window_s ||
	    !cfg->wangiri_ring_max_s || !cfg->wangiri_window_s || !cfg->fanout_window_s ||
	    !cfg->call_sms_window_s)
		goto fail;
	rc = -ENOMEM;
	b = calloc(1, sizeof(*b));
	if (!b)
		goto fail;
	b->cfg = *cfg;
	b->mass_win = cfg->mass_call_window_s * US;
	b->wan_win = cfg->wangiri_window_s * US;
	b->ring_max = cfg->wangiri_ring_max_s * US;
	b->fan_win = cfg->fanout_window_s * US;
	b->cs_win = cfg->call_sms_window_s * US;
	b->hold = cfg->flag_hold_s * US;
	if ((rc = tab_init(&b->callers, numbers, sizeof(struct caller), CALLER_ZERO, AFGW_BH_C_CALLERS_EVICTED,
			   caller_expires)) ||
	    (rc = tab_init(&b->texts, numbers, sizeof(struct text), TEXT_ZERO, AFGW_BH_C_TEXTS_EVICTED,
			   text_expires)) ||
	    (rc = tab_init(&b->pairs, numbers, sizeof(struct pair), sizeof(struct pair), AFGW_BH_C_PAIRS_EVICTED,
			   pair_expires)) ||
	    (rc = tab_init(&b->dialogs, dialogs, sizeof(struct dialog), sizeof(struct dialog), AFGW_BH_C_DIALOGS_EVICTED,
			   dialog_expires)))
		goto fail;
	*out = b;
	return 0;
fail:
	afgw_behaviour_free(b);
	return rc;
}

void afgw_behaviour_free(struct afgw_behaviour *b)
{
	if (!b)
		return;
	tab_fini(&b->dialogs);
	tab_fini(&b->pairs);
	tab_fini(&b->texts);
	tab_fini(&b->callers);
	free(b);
}

/* ---- the detectors -------------------------------------------------- */

/* An INVITE: remember the dialog, unless this is a retransmission of one we hold. */
static void dialog_invite(struct afgw_behaviour *b, struct key id, struct key caller,
			  uint32_t callee_fp, uint64_t ts)
{
	bool fresh;
	size_t i = tab_get(b, &b->dialogs, id, ts, &fresh);
	touch(b, &b->dialogs, i, ts);
	if (!fresh)
		return;  /* keep the first INVITE's time: retransmissions do not restart the ring */
	struct dialog *d = val_at(&b->dialogs, i);
	d->caller_h = caller.h;
	d->caller_chk = caller.chk;
	d->callee_fp = callee_fp;
	d->invite_us = ts;
	settle(b, &b->dialogs, i);
}

/*
 * A CANCEL or a 487 ends the dialog.  If it was not answered and ended
 * within ring max of its INVITE, its callee joins the caller's Wangiri
 * set.  The dialog is dropped, so the 487 that follows a CANCEL and any
 * retransmission find nothing and count nothing.  Returns the dialog's
 * caller in *caller (h 0 if there was no dialog), and sets *rung_short
 * when the callee counted.
 */
static void dialog_end(struct afgw_behaviour *b, struct key id, uint64_t ts, struct key *caller,
		       bool *rung_short)
{
	caller->h = 0;
	size_t i = tab_find(&b->dialogs, id);
	if (i == NONE)
		return;
	struct dialog *d = val_at(&b->dialogs, i);
	uint64_t now = touch(b, &b->dialogs, i, ts);
	caller->h = d->caller_h;
	caller->chk = d->caller_chk;
	if (!d->answered && age(now, d->invite_us) <= b->ring_max) {
		*rung_short = true;
		bool fresh;
		size_t ci = tab_get(b, &b->callers, *caller, ts, &fresh);
		uint64_t cnow = touch(b, &b->callers, ci, ts);
		struct caller *c = val_at(&b->callers, ci);
		set_add(&c->wangiri, c->wangiri_w, d->callee_fp, cnow, b->wan_win);
		set_flag(b, &c->wangiri, cnow, b->wan_win, b->cfg.wangiri_callees,
			 AFGW_BH_C_FLAGGED_WANGIRI);
		settle(b, &b->callers, ci);
	}
	tab_drop(&b->dialogs, i);
}

static void dialog_answer(struct afgw_behaviour *b, struct key id, uint64_t ts)
{
	size_t i = tab_find(&b->dialogs, id);
	if (i == NONE)
		return;
	touch(b, &b->dialogs, i, ts);
	((struct dialog *)val_at(&b->dialogs, i))->answered = 1;
	settle(b, &b->dialogs, i);
}

/*
 * The caller / callee pair: an INVITE or an SMS records its time, and if
 * the other kind was seen within call_sms_window_s the pair flags.  Other
 * messages of the pair only read the flag.
 */
static bool pair_observe(struct afgw_behaviour *b, struct key pk, enum afgw_bh_kind kind,
			 uint64_t ts)
{
	bool fresh;
	size_t i;
	if (kind == AFGW_BH_INVITE || kind == AFGW_BH_SMS)
		i = tab_get(b, &b->pairs, pk, ts, &fresh);
	else if ((i = tab_find(&b->pairs, pk)) == NONE)
		return false;
	uint64_t now = touch(b, &b->pairs, i, ts);
	struct pair *p = val_at(&b->pairs, i);
	int other = 0;
	if (kind == AFGW_BH_INVITE) {
		p->call_us = now;
		p->has |= PAIR_CALL;
		other = PAIR_SMS;
	} else if (kind == AFGW_BH_SMS) {
		p->sms_us = now;
		p->has |= PAIR_SMS;
		other = PAIR_CALL;
	}
	if (other && (p->has & other) &&
	    age(now, other == PAIR_SMS ? p->sms_us : p->call_us) <= b->cs_win) {
		if (!held(p->until_us, now))
			b->c[AFGW_BH_C_FLAGGED_CALL_AND_SMS]++;
		p->until_us = sat_add(now, sat_add(b->hold, 1));
	}
	settle(b, &b->pairs, i);
	return held(p->until_us, now);
}

/* SMS fan-out: the recipient joins the text's set; returns whether the text flags. */
static bool text_observe(struct afgw_behaviour *b, uint64_t text_hash, bool has_recipient,
			 uint32_t recipient_fp, uint64_t ts, unsigned *figure)
{
	struct key tk = text_key(text_hash);
	bool fresh;
	size_t i;
	if (has_recipient)
		i = tab_get(b, &b->texts, tk, ts, &fresh);
	else if ((i = tab_find(&b->texts, tk)) == NONE)
		return false;
	uint64_t now = touch(b, &b->texts, i, ts);
	struct text *t = val_at(&b->texts, i);
	if (has_recipient)
		set_add(&t->fan, t->fan_w, recipient_fp, now, b->fan_win);
	bool f = set_flag(b, &t->fan, now, b->fan_win, b->cfg.fanout_recipients,
			  AFGW_BH_C_FLAGGED_SMS_FANOUT);
	*figure = set_figure(&t->fan, now, b->fan_win);
	settle(b, &b->texts, i);
	return f;
}

void afgw_behaviour_keys(const struct afgw_bh_msg *m, struct afgw_bh_keys *k)
{
	struct key none = { 0, 0 }, c, e, i;
	c = afgw_str_empty(m->caller) ? none : key_of(m->caller);
	e = afgw_str_empty(m->callee) ? none : key_of(m->callee);
	i = afgw_str_empty(m->call_id) ? none : key_of(m->call_id);
	k->caller = (struct afgw_bh_key){ c.h, c.chk };
	k->callee = (struct afgw_bh_key){ e.h, e.chk };
	k->call_id = (struct afgw_bh_key){ i.h, i.chk };
}

static struct key key_from(struct afgw_bh_key k)
{
	return (struct key){ k.h, k.chk };
}

void afgw_behaviour_prefetch(const struct afgw_behaviour *b, const struct afgw_bh_msg *m)
{
	struct afgw_bh_keys own;
	const struct afgw_bh_keys *k = m->keys;
	if (!k) {
		afgw_behaviour_keys(m, &own);
		k = &own;
	}
	struct key ck = key_from(k->caller), ek = key_from(k->callee), id = key_from(k->call_id);
	if (ck.h)
		prefetch_set(&b->callers, ck.h);
	if (ck.h && ek.h)
		prefetch_set(&b->pairs, pair_key(ck, ek).h);
	if (id.h && m->kind != AFGW_BH_OTHER_SIP)
		prefetch_set(&b->dialogs, id.h);
	if (m->kind == AFGW_BH_SMS && m->text_hash)
		prefetch_set(&b->texts, text_key(m->text_hash).h);
}

/*
 * One message through the detectors.  Keys are hashed once (or were, by
 * afgw_behaviour_keys) and their sets of tags prefetched.  An INVITE
 * creates the caller, the pair and the dialog, an SMS the text and the
 * pair, a CANCEL / 487 that counts the caller (if it has been evicted
 * meanwhile); everything else only looks up what exists.  The caller's
 * flags are read last, after this message has counted.
 */
void afgw_behaviour_observe(struct afgw_behaviour *b, const struct afgw_bh_msg *m,
			    struct afgw_bh_result *res)
{
	memset(res, 0, sizeof(*res));
	b->c[AFGW_BH_C_OBSERVED]++;
	b->seq++;
	uint64_t ts = m->ts_us;
	struct afgw_bh_keys own;
	const struct afgw_bh_keys *k = m->keys;
	if (!k) {
		afgw_behaviour_keys(m, &own);
		k = &own;
	}
	afgw_behaviour_prefetch(b, &(struct afgw_bh_msg){ .kind = m->kind, .text_hash = m->text_hash,
							  .keys = k });
	struct key ck = key_from(k->caller), ek = key_from(k->callee), id = key_from(k->call_id);
	struct key pk = { 0, 0 };
	bool has_caller = ck.h != 0, has_callee = ek.h != 0, has_id = id.h != 0;
	if (has_caller && has_callee)
		pk = pair_key(ck, ek);

	switch (m->kind) {
	case AFGW_BH_INVITE:
		if (has_caller && has_callee) {
			bool fresh;
			size_t ci = tab_get(b, &b->callers, ck, ts, &fresh);
			uint64_t cnow = touch(b, &b->callers, ci, ts);
			struct caller *c = val_at(&b->callers, ci);
			set_add(&c->mass, c->mass_w, fp_of(ek), cnow, b->mass_win);
			if (has_id)
				dialog_invite(b, id, ck, fp_of(ek), ts);
		}
		break;
	case AFGW_BH_CANCEL:
	case AFGW_BH_REJECT:
		if (has_id) {
			struct key dc;
			dialog_end(b, id, ts, &dc, &res->rung_short);
			if (!has_caller && dc.h) {
				/* Report for the dialog's caller when the message names none. */
				ck = dc;
				has_caller = true;
				if (has_callee)
					pk = pair_key(ck, ek);
			}
		}
		break;
	case AFGW_BH_ANSWER:
		if (has_id)
			dialog_answer(b, id, ts);
		break;
	case AFGW_BH_SMS:
		if (m->text_hash && text_observe(b, m->text_hash, has_callee, fp_of(ek), ts,
						 &res->fanout_recipients))
			res->flags |= AFGW_BH_SMS_FANOUT;
		break;
	case AFGW_BH_OTHER_SIP:
	default:
		break;
	}

	if (has_caller && has_callee && pair_observe(b, pk, m->kind, ts))
		res->flags |= AFGW_BH_CALL_AND_SMS;

	size_t ci = has_caller ? tab_find(&b->callers, ck) : NONE;
	if (ci != NONE) {
		uint64_t cnow = touch(b, &b->callers, ci, ts);
		struct caller *c = val_at(&b->callers, ci);
		if (set_flag(b, &c->mass, cnow, b->mass_win, b->cfg.mass_call_callees,
			     AFGW_BH_C_FLAGGED_MASS_CALLING))
			res->flags |= AFGW_BH_MASS_CALLING;
		if (set_flag(b, &c->wangiri, cnow, b->wan_win, b->cfg.wangiri_callees,
			     AFGW_BH_C_FLAGGED_WANGIRI))
			res->flags |= AFGW_BH_WANGIRI;
		res->mass_callees = set_figure(&c->mass, cnow, b->mass_win);
		res->wangiri_callees = set_figure(&c->wangiri, cnow, b->wan_win);
		settle(b, &b->callers, ci);
	}
}

/* ---- counters and names --------------------------------------------- */

void afgw_behaviour_counters(const struct afgw_behaviour *b, uint64_t out[AFGW_BH_C_COUNT])
{
	memcpy(out, b->c, sizeof(b->c));
}

const char *afgw_behaviour_counter_name(enum afgw_bh_counter c)
{
	static const char *const names[AFGW_BH_C_COUNT] = {
		[AFGW_BH_C_OBSERVED] = "behaviour_observed",
		[AFGW_BH_C_CALLERS_EVICTED] = "behaviour_callers_evicted",
		[AFGW_BH_C_DIALOGS_EVICTED] = "behaviour_dialogs_evicted",
		[AFGW_BH_C_TEXTS_EVICTED] = "behaviour_texts_evicted",
		[AFGW_BH_C_PAIRS_EVICTED] = "behaviour_pairs_evicted",
		[AFGW_BH_C_FLAGGED_MASS_CALLING] = "behaviour_flagged_mass_calling",
		[AFGW_BH_C_FLAGGED_WANGIRI] = "behaviour_flagged_wangiri",
		[AFGW_BH_C_FLAGGED_SMS_FANOUT] = "behaviour_flagged_sms_fanout",
		[AFGW_BH_C_FLAGGED_CALL_AND_SMS] = "behaviour_flagged_call_and_sms",
	};
	return (unsigned)c < AFGW_BH_C_COUNT ? names[c] : "behaviour_unknown";
}

const char *afgw_behaviour_name(unsigned flag)
{
	switch (flag) {
	case AFGW_BH_MASS_CALLING:
		return "mass_calling";
	case AFGW_BH_WANGIRI:
		return "wangiri";
	case AFGW_BH_SMS_FANOUT:
		return "sms_fanout";
	case AFGW_BH_CALL_AND_SMS:
		return "call_and_sms";
	default:
		return "unknown";
	}
}
