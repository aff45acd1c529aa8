/*
 * fleet.c - behaviour counters shared by the fleet through Redis (see
 * fleet.h for what is counted and the keys).
 *
 * Two threads and three buffers.  The owner (the score stage) appends
 * notes to `fill`; at a round it swaps `fill` with the idle `sent` buffer
 * and wakes the fleet thread, which groups the notes by key, talks to
 * Redis and writes one answer per key into `answers`; the owner applies
 * the answers to its table of fleet counts at a later tick.  The mutex is
 * taken once per round and once per answer check, never per message:
 * a tick reads one atomic (`state`) and compares two timestamps.
 *
 * A round, in one pipelined exchange: for each key, PFADD of its members
 * (16-hex hashes, in chunks), EXPIRE (window + 60 s) and PFCOUNT.  The
 * HyperLogLog counts are Redis's (0.81 % standard error), plenty for
 * thresholds in the tens.  A failed round costs its notes (counted); the
 * connection is dropped and retried after retry_ms of wall time, and the
 * outage is logged once per outage.
 *
 * What a round costs, and why it is these three commands.  The commands
 * are written in Redis's protocol straight into one buffer (through
 * hiredis's argv formatting they cost the fleet thread three times as
 * much).  One EVALSHA per key doing the same in Lua was measured and costs
 * Redis more, not less (about 7 us a key against about 4.5 us for the
 * three pipelined commands, Redis 7.0): each redis.call() inside a script
 * costs more than a pipelined command, and no key can do with fewer than
 * PFADD and PFCOUNT.  Nothing can be left out either: every member must
 * reach Redis, since the other gateways' counts are made of it whether or
 * not this gateway's own count can reach a threshold; every key's count is
 * what flags it; and EXPIRE on every round is what gives a key that was
 * evicted or flushed and then re-created by a PFADD its TTL again.
 *
 * The owner's table of counts is fixed-size, in buckets of 8 slots: a key
 * lives in its bucket's first free slot, and a full bucket replaces the
 * slot whose flag ends first.  The keys sit in an array of their own, one
 * cache line per bucket, and slots are never emptied, so a lookup reads
 * one line and stops at the first free slot.  Most of the four lookups a
 * message makes are for keys that were never flagged, and a small bitmap
 * of the flagged ones answers those without reading the table.  Losing an
 * entry only loses a fleet flag early: the local detectors still run.
 *
 * Not here: the local detectors (behaviour.c), the weights (score.c).
 */
#include "afgw/fleet.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afgw/log.h"
#include "redis_conn.h"

#define BUCKET 8u                  /* slots per bucket: 8 keys, one cache line */
#define CHUNK 256u                 /* members per PFADD */
#define KEY_MAX 40u                /* "afgw:bh:mc:<16 hex>:<window>" */
#define OUT_CAP (64u * 1024)       /* commands formatted before hiredis takes them */
/* the longest command: a full PFADD ("$16\r\n" + 16 hex + "\r\n" a member) */
#define CMD_MAX (128u + KEY_MAX + CHUNK * 23u)
#define KEY_TTL_EXTRA_S 60
#define US 1000000ull

struct note {
	uint64_t key, member;
	uint32_t window;
	uint8_t kind;
};

struct answer {
	uint64_t key;
	uint64_t count;
	uint32_t window;
	uint8_t kind;
};

struct slot {                      /* of the key at the same index of keys */
	uint64_t until_us;             /* flagged while ts < until_us */
	uint32_t window;
	uint32_t count;
	uint8_t kind;
};

enum { IDLE, WORK, DONE, STOP };

struct afgw_fleet {
	struct afgw_config_redis rc;   /* url / password copied */
	uint64_t win_us[AFGW_FLEET_KINDS];
	unsigned threshold[AFGW_FLEET_KINDS];
	uint64_t hold_us, sync_us;
	bool wait;

	/* owner */
	struct note *fill;
	size_t n_fill, cap;
	uint64_t next_round_us;        /* 0: no round yet */
	uint64_t round_us;             /* message time of the round in flight */
	uint64_t last_us;              /* latest message time ticked */
	uint64_t *keys;                /* 0: a free slot */
	struct slot *tab;
	size_t tab_mask;
	uint64_t *seen;                /* a bit per hash class of the keys ever flagged */
	size_t seen_mask;              /* bits - 1 */

	/* shared, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int state;
	struct note *sent;
	size_t n_sent;
	struct answer *answers;
	size_t n_answers;

	/* fleet thread */
	pthread_t thread;
	bool has_thread;
	struct afgw_redis_link link;   /* rc's strings are those of f->rc */
	long *cmd_key;                 /* per pipelined command: its key's answer, -1 none */
	char ttl[AFGW_FLEET_KINDS][24];  /* per kind: window + KEY_TTL_EXTRA_S, decimal */
	size_t ttl_len[AFGW_FLEET_KINDS];
	char mem[CHUNK][16];           /* a PFADD's members as hex, not NUL-terminated */
	char out[OUT_CAP];             /* commands in Redis's protocol, not yet appended */
	size_t out_len;

	atomic_uint_fast64_t c[AFGW_FLEET_C_COUNT];
};

static const char *const kind_tag[AFGW_FLEET_KINDS] = { "mc", "wg", "fo", "cs" };

static int cmp_note(const void *a, const void *b)
{
	const struct note *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->window != y->window)
		return x->window < y->window ? -1 : 1;
	if (x->member != y->member)
		return x->member < y->member ? -1 : 1;
	return 0;
}

static bool same_key(const struct note *x, const struct note *y)
{
	return x->kind == y->kind && x->key == y->key && x->window == y->window;
}

static void drop_connection(struct afgw_fleet *f, const char *why)
{
	if (afgw_redis_link_drop(&f->link, why)) {
		afgw_log(AFGW_LOG_WARN, "fleet counters: Redis at %s unavailable (%s); "
			 "going on with this gateway's own counts", f->rc.url, f->link.why);
		atomic_fetch_add(&f->c[AFGW_FLEET_C_OUTAGES], 1);
	}
}

static void hex16(char *out, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--, v >>= 4)
		out[i] = digits[v & 15];
}

/* v in decimal into buf (room for its digits, at most 20; no NUL); their count. */
static size_t put_dec(char *buf, uint64_t v)
{
	char d[20];
	size_t n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	for (size_t i = 0; i < n; i++)
		buf[i] = d[n - 1 - i];
	return n;
}

/* "afgw:bh:<kind>:<key as 16 hex>:<window>" into buf (KEY_MAX bytes); its length. */
static size_t key_name(char *buf, const struct note *n)
{
	memcpy(buf, "afgw:bh:", 8);
	memcpy(buf + 8, kind_tag[n->kind], 2);
	buf[10] = ':';
	hex16(buf + 11, n->key);
	buf[27] = ':';
	return 28 + put_dec(buf + 28, n->window);
}

/* RESP: "*<argc>\r\n" and "$<len>\r\n<bytes>\r\n", at p; past what was written. */
static char *put_head(char *p, size_t argc)
{
	*p++ = '*';
	p += put_dec(p, argc);
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

static char *put_bulk(char *p, const char *s, size_t len)
{
	*p++ = '$';
	p += put_dec(p, len);
	*p++ = '\r';
	*p++ = '\n';
	memcpy(p, s, len);
	p += len;
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* Make room for one more command: hand what is written so far to hiredis. */
static int out_room(struct afgw_fleet *f, redisContext *ctx)
{
	if (OUT_CAP - f->out_len >= CMD_MAX)
		return 0;
	int rc = redisAppendFormattedCommand(ctx, f->out, f->out_len);
	f->out_len = 0;
	return rc == REDIS_OK ? 0 : -1;
}

/*
 * One round over the sorted notes [0, n): returns the number of answers
 * written, or -1 if the round failed.  The commands go to hiredis OUT_CAP
 * bytes at a time, already in Redis's protocol.  Every reply is read, even
 * after an error reply, so the connection stays in step; a key whose
 * commands got an error reply gets no answer.
 */
static long round_redis(struct afgw_fleet *f, const struct note *nt, size_t n,
			struct answer *ans)
{
	int up = afgw_redis_link_up(&f->link);
	if (up < 0)
		drop_connection(f, f->link.why);
	if (up <= 0)
		return -1;
	if (up == 2)
		afgw_log(AFGW_LOG_INFO, "fleet counters: Redis at %s is back", f->rc.url);
	redisContext *ctx = f->link.ctx;

	char key[KEY_MAX];
	size_t n_keys = 0, n_cmds = 0;
	f->out_len = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && same_key(&nt[i], &nt[j]))
			j++;
		size_t kl = key_name(key, &nt[i]);
		/* PFADD of the distinct members, in chunks */
		for (size_t k = i; k < j;) {
			unsigned m = 0;
			for (; k < j && m < CHUNK; k++) {
				if (k > i && nt[k].member == nt[k - 1].member)
					continue;
				hex16(f->mem[m++], nt[k].member);
			}
			if (!m)
				continue;
			if (out_room(f, ctx) < 0)
				goto fail;
			char *p = f->out + f->out_len;
			p = put_head(p, 2 + m);
			p = put_bulk(p, "PFADD", 5);
			p = put_bulk(p, key, kl);
			for (unsigned x = 0; x < m; x++)
				p = put_bulk(p, f->mem[x], 16);
			f->out_len = (size_t)(p - f->out);
			f->cmd_key[n_cmds++] = -1;
		}
		if (out_room(f, ctx) < 0)
			goto fail;
		char *p = f->out + f->out_len;
		p = put_head(p, 3);
		p = put_bulk(p, "EXPIRE", 6);
		p = put_bulk(p, key, kl);
		p = put_bulk(p, f->ttl[nt[i].kind], f->ttl_len[nt[i].kind]);
		p = put_head(p, 2);
		p = put_bulk(p, "PFCOUNT", 7);
		p = put_bulk(p, key, kl);
		f->out_len = (size_t)(p - f->out);
		f->cmd_key[n_cmds++] = -1;
		f->cmd_key[n_cmds++] = (long)n_keys;
		ans[n_keys].kind = nt[i].kind;
		ans[n_keys].key = nt[i].key;
		ans[n_keys].window = nt[i].window;
		ans[n_keys].count = 0;
		n_keys++;
		i = j;
	}
	if (f->out_len && redisAppendFormattedCommand(ctx, f->out, f->out_len) != REDIS_OK)
		goto fail;
	f->out_len = 0;

	bool key_bad = false;
	size_t n_ans = 0;
	for (size_t c = 0; c < n_cmds; c++) {
		redisReply *rep = NULL;
		if (redisGetReply(ctx, (void **)&rep) != REDIS_OK || !rep)
			goto fail;
		if (rep->type != REDIS_REPLY_INTEGER)
			key_bad = true;
		long k = f->cmd_key[c];
		if (k >= 0) {
			/* PFCOUNT closes its key: keep the answer unless a command failed */
			if (!key_bad) {
				ans[n_ans] = ans[k];
				ans[n_ans].count = (uint64_t)rep->integer;
				n_ans++;
			}
			key_bad = false;
		}
		freeReplyObject(rep);
	}
	atomic_fetch_add(&f->c[AFGW_FLEET_C_KEYS], n_keys);
	return (long)n_ans;
fail:
	drop_connection(f, ctx->err ? ctx->errstr : "out of memory");
	return -1;
}

static void *fleet_main(void *arg)
{
	struct afgw_fleet *f = arg;
	afgw_redis_thread_init();
	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (atomic_load(&f->state) == IDLE || atomic_load(&f->state) == DONE)
			pthread_cond_wait(&f->cv, &f->mu);
		if (atomic_load(&f->state) == STOP)
			break;
		size_t n = f->n_sent;
		pthread_mutex_unlock(&f->mu);

		qsort(f->sent, n, sizeof(*f->sent), cmp_note);
		long got = round_redis(f, f->sent, n, f->answers);

		pthread_mutex_lock(&f->mu);
		if (got < 0) {
			atomic_fetch_add(&f->c[AFGW_FLEET_C_ERRORS], 1);
			atomic_fetch_add(&f->c[AFGW_FLEET_C_DROPPED], n);
			f->n_answers = 0;
		} else {
			atomic_fetch_add(&f->c[AFGW_FLEET_C_ROUNDS], 1);
			f->n_answers = (size_t)got;
		}
		f->n_sent = 0;
		if (atomic_load(&f->state) == STOP)
			break;
		atomic_store(&f->state, DONE);
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	if (f->link.ctx)
		redisFree(f->link.ctx);
	f->link.ctx = NULL;
	return NULL;
}

/* ---- the owner's side ---------------------------------------------------- */

static uint64_t mix(uint64_t key, unsigned kind)
{
	return (key ^ ((uint64_t)kind << 56)) * 0x9e3779b97f4a7c15ull;
}

/* The first slot of the key's bucket. */
static size_t bucket(uint64_t key, unsigned kind, size_t mask)
{
	return (size_t)(mix(key, kind) >> 17) & mask & ~(size_t)(BUCKET - 1);
}

/*
 * The table holds every key a round answered for, sized for every number
 * a gateway may track, so a probe is a cache miss; yet few keys are ever
 * flagged, and only flagged keys matter to afgw_fleet_flagged().  A small
 * bitmap (at most 64 KiB, in cache) has a bit set for every key flagged
 * so far: a clear bit answers "not flagged" without the probe.  Bits are
 * never cleared (a flag ends, or its slot is reused: the bit only costs
 * a probe).
 */
static size_t seen_bit(const struct afgw_fleet *f, unsigned kind, uint64_t key)
{
	return (size_t)(mix(key, kind) >> 40) & f->seen_mask;
}

static struct slot *slot_find(const struct afgw_fleet *f, unsigned kind, uint64_t key)
{
	size_t b = bucket(key, kind, f->tab_mask);
	for (unsigned i = 0; i < BUCKET; i++) {
		uint64_t k = f->keys[b + i];
		if (k == key && f->tab[b + i].kind == kind)
			return &f->tab[b + i];
		if (!k)
			return NULL; /* the bucket's keys all come before its free slots */
	}
	return NULL;
}

/* The key's slot, or its bucket's first free one, or the one whose flag ends first. */
static struct slot *slot_get(struct afgw_fleet *f, unsigned kind, uint64_t key)
{
	size_t b = bucket(key, kind, f->tab_mask), victim = b;
	for (unsigned i = 0; i < BUCKET; i++) {
		uint64_t k = f->keys[b + i];
		if (k == key && f->tab[b + i].kind == kind)
			return &f->tab[b + i];
		if (!k) {
			victim = b + i;
			break;
		}
		if (f->tab[b + i].until_us < f->tab[victim].until_us)
			victim = b + i;
	}
	struct slot *s = &f->tab[victim];
	memset(s, 0, sizeof(*s));
	f->keys[victim] = key;
	s->kind = (uint8_t)kind;
	return s;
}

/* Take in a finished round's answers (called with mu held, state DONE). */
static void apply_answers(struct afgw_fleet *f)
{
	for (size_t i = 0; i < f->n_answers; i++) {
		const struct answer *a = &f->answers[i];
		struct slot *s = slot_get(f, a->kind, a->key);
		if (s->count && a->window < s->window)
			continue;  /* an older window than one we know */
		s->window = a->window;
		s->count = a->count > UINT32_MAX ? UINT32_MAX : (uint32_t)a->count;
		unsigned th = f->threshold[a->kind];
		if (th && s->count >= th) {
			size_t bit = seen_bit(f, a->kind, a->key);
			f->seen[bit / 64] |= 1ull << (bit % 64);
			if (s->until_us <= f->round_us)
				atomic_fetch_add(&f->c[AFGW_FLEET_C_FLAGGED], 1);
			uint64_t until = f->round_us + f->hold_us + 1;
			if (until > s->until_us)
				s->until_us = until;
		}
	}
	f->n_answers = 0;
	atomic_store(&f->state, IDLE);
}

/* Hand the filled batch to the thread (state IDLE); with wait, take the answer. */
static void start_round(struct afgw_fleet *f, uint64_t ts_us, bool wait)
{
	pthread_mutex_lock(&f->mu);
	struct note *t = f->sent;
	f->sent = f->fill;
	f->n_sent = f->n_fill;
	f->fill = t;
	f->n_fill = 0;
	f->round_us = ts_us;
	atomic_store(&f->state, WORK);
	pthread_cond_broadcast(&f->cv);
	if (wait) {
		while (atomic_load(&f->state) == WORK)
			pthread_cond_wait(&f->cv, &f->mu);
		if (atomic_load(&f->state) == DONE)
			apply_answers(f);
	}
	pthread_mutex_unlock(&f->mu);
}

void afgw_fleet_tick(struct afgw_fleet *f, uint64_t ts_us)
{
	if (ts_us > f->last_us)
		f->last_us = ts_us;
	/* live: answers are taken in as soon as they are there */
	if (!f->wait && atomic_load_explicit(&f->state, memory_order_acquire) == DONE) {
		pthread_mutex_lock(&f->mu);
		apply_answers(f);
		pthread_mutex_unlock(&f->mu);
	}
	if (!f->next_round_us) {
		f->next_round_us = ts_us + f->sync_us;
		return;
	}
	if (ts_us < f->next_round_us)
		return;
	/*
	 * A round boundary.  In replay the previous round's answers are taken
	 * in here and nowhere else (waiting for them if Redis is slower than
	 * the replay), so verdicts do not depend on timing, and Redis works on
	 * one round while the score stage scores the next second's messages.
	 */
	if (f->wait) {
		pthread_mutex_lock(&f->mu);
		while (atomic_load(&f->state) == WORK)
			pthread_cond_wait(&f->cv, &f->mu);
		if (atomic_load(&f->state) == DONE)
			apply_answers(f);
		pthread_mutex_unlock(&f->mu);
	}
	if (!f->n_fill || atomic_load_explicit(&f->state, memory_order_acquire) != IDLE)
		return;  /* live and still busy: the notes keep accumulating */
	f->next_round_us = ts_us + f->sync_us;
	start_round(f, ts_us, false);
}

void afgw_fleet_flush(struct afgw_fleet *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	while (atomic_load(&f->state) == WORK)
		pthread_cond_wait(&f->cv, &f->mu);
	if (atomic_load(&f->state) == DONE)
		apply_answers(f);
	pthread_mutex_unlock(&f->mu);
	if (f->n_fill)
		start_round(f, f->last_us, true);
}

void afgw_fleet_note(struct afgw_fleet *f, enum afgw_fleet_kind kind, uint64_t key,
		     uint64_t member, uint64_t ts_us)
{
	if ((unsigned)kind >= AFGW_FLEET_KINDS || !f->threshold[kind])
		return;
	atomic_fetch_add_explicit(&f->c[AFGW_FLEET_C_NOTES], 1, memory_order_relaxed);
	if (f->n_fill == f->cap) {
		atomic_fetch_add_explicit(&f->c[AFGW_FLEET_C_DROPPED], 1, memory_order_relaxed);
		return;
	}
	struct note *n = &f->fill[f->n_fill++];
	n->kind = (uint8_t)kind;
	n->key = key ? key : 1;
	n->member = member;
	n->window = (uint32_t)(ts_us / f->win_us[kind]);
}

bool afgw_fleet_flagged(const struct afgw_fleet *f, enum afgw_fleet_kind kind, uint64_t key,
			uint64_t ts_us, unsigned *count)
{
	key = key ? key : 1;
	size_t bit = seen_bit(f, kind, key);
	const struct slot *s = NULL;
	if (f->seen[bit / 64] >> (bit % 64) & 1)
		s = slot_find(f, kind, key);
	*count = s ? s->count : 0;
	return s && ts_us < s->until_us;
}

unsigned afgw_fleet_count(const struct afgw_fleet *f, enum afgw_fleet_kind kind, uint64_t key)
{
	const struct slot *s = slot_find(f, kind, key ? key : 1);
	return s ? s->count : 0;
}

/* ---- life cycle ----------------------------------------------------------- */

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;
	while (p < n)
		p <<= 1;
	return p;
}

int afgw_fleet_open(const struct afgw_fleet_opts *o, struct afgw_fleet **out)
{
	const struct afgw_config *cfg = o->cfg;
	const struct afgw_config_behaviour *b = &cfg->behaviour;
	if (!cfg->redis.url || !b->fleet_sync_ms)
		return -EINVAL;
	struct afgw_fleet *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	atomic_init(&f->state, IDLE);
	f->rc = cfg->redis;
	f->rc.url = strdup(cfg->redis.url);
	f->rc.password = cfg->redis.password ? strdup(cfg->redis.password) : NULL;
	f->link.rc = f->rc;
	f->win_us[AFGW_FLEET_MASS_CALLING] = b->mass_call_window_s * US;
	f->win_us[AFGW_FLEET_WANGIRI] = b->wangiri_window_s * US;
	f->win_us[AFGW_FLEET_SMS_FANOUT] = b->fanout_window_s * US;
	f->win_us[AFGW_FLEET_CALL_AND_SMS] = b->call_sms_window_s * US;
	f->threshold[AFGW_FLEET_MASS_CALLING] = b->mass_call_callees;
	f->threshold[AFGW_FLEET_WANGIRI] = b->wangiri_callees;
	f->threshold[AFGW_FLEET_SMS_FANOUT] = b->fanout_recipients;
	f->threshold[AFGW_FLEET_CALL_AND_SMS] = 2;
	for (unsigned k = 0; k < AFGW_FLEET_KINDS; k++) {
		if (!f->win_us[k])
			f->threshold[k] = 0;
		f->ttl_len[k] = put_dec(f->ttl[k], f->win_us[k] / US + KEY_TTL_EXTRA_S);
	}
	f->hold_us = b->flag_hold_s * US;
	f->sync_us = b->fleet_sync_ms * 1000ull;
	f->wait = o->wait;
	f->cap = o->batch ? o->batch : cfg->memcap.behaviour_numbers;
	size_t keys = pow2_at_least(o->keys ? o->keys : cfg->memcap.behaviour_numbers);
	f->tab_mask = keys - 1;
	f->fill = calloc(f->cap, sizeof(*f->fill));
	f->sent = calloc(f->cap, sizeof(*f->sent));
	f->answers = calloc(f->cap, sizeof(*f->answers));
	/* commands per round: at most one PFADD per note plus two per key */
	f->cmd_key = calloc(3 * f->cap, sizeof(*f->cmd_key));
	f->tab = calloc(keys, sizeof(*f->tab));
	f->keys = aligned_alloc(64, keys * sizeof(*f->keys)); /* a bucket per cache line */
	size_t seen_bits = keys < 64 ? 64 : keys > (1u << 19) ? (1u << 19) : keys;
	f->seen_mask = seen_bits - 1;
	f->seen = calloc(seen_bits / 64, sizeof(*f->seen));
	if (!f->rc.url || (cfg->redis.password && !f->rc.password) || !f->fill || !f->sent ||
	    !f->answers || !f->cmd_key || !f->tab || !f->keys || !f->seen)
		goto nomem;
	memset(f->keys, 0, keys * sizeof(*f->keys));
	if (pthread_create(&f->thread, NULL, fleet_main, f) != 0)
		goto nomem;
	f->has_thread = true;
	*out = f;
	return 0;
nomem:
	afgw_fleet_close(f);
	return -ENOMEM;
}

void afgw_fleet_close(struct afgw_fleet *f)
{
	if (!f)
		return;
	if (f->has_thread) {
		pthread_mutex_lock(&f->mu);
		while (atomic_load(&f->state) == WORK)
			pthread_cond_wait(&f->cv, &f->mu);
		atomic_store(&f->state, STOP);
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->thread, NULL);
	}
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f->rc.url);
	free(f->rc.password);
	free(f->fill);
	free(f->sent);
	free(f->answers);
	free(f->cmd_key);
	free(f->tab);
	free(f->keys);
	free(f->seen);
	free(f);
}

void afgw_fleet_counters(const struct afgw_fleet *f, uint64_t out[AFGW_FLEET_C_COUNT])
{
	for (unsigned i = 0; i < AFGW_FLEET_C_COUNT; i++)
		out[i] = f ? atomic_load(&((struct afgw_fleet *)f)->c[i]) : 0;
}

const char *afgw_fleet_counter_name(enum afgw_fleet_counter c)
{
	static const char *const names[AFGW_FLEET_C_COUNT] = {
		[AFGW_FLEET_C_NOTES] = "fleet_notes",
		[AFGW_FLEET_C_DROPPED] = "fleet_notes_dropped",
		[AFGW_FLEET_C_ROUNDS] = "fleet_rounds",
		[AFGW_FLEET_C_KEYS] = "fleet_keys_sent",
		[AFGW_FLEET_C_FLAGGED] = "fleet_flagged",
		[AFGW_FLEET_C_ERRORS] = "fleet_round_errors",
		[AFGW_FLEET_C_OUTAGES] = "fleet_redis_outages",
	};
	return (unsigned)c < AFGW_FLEET_C_COUNT ? names[c] : "?";
}
