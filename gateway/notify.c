/*
 * notify.c - the notifier thread (see notify.h for the keys and the flow).
 *
 * The score stage puts items into a single-producer single-consumer ring
 * of fixed slots (two atomics, no lock); a full ring refuses the item and
 * counts it.  The notifier thread takes items in batches and, per batch:
 *
 *   1. warnings: dedupe window and hourly cap (two small local tables),
 *      then JSON, sign, seal, base64 — the CPU work, done before any I/O;
 *   2. if Redis is reachable: first what waits in the spool, oldest first,
 *      then this batch, as one pipeline of XADDs, contact-log writes and
 *      look-back claims; a warning counts as delivered when its XADD
 *      answered, and spooled records are released only then;
 *   3. if not (or the round failed): the batch's sealed warnings go to the
 *      spool; without a spool they wait in memory (a bounded backlog) and
 *      beyond that are counted lost.  Contacts of a failed round are
 *      dropped (the contact log is best effort: a later contact renews it).
 *
 * So a warning is in exactly one place at a time (ring, batch, spool or
 * Redis), and a crash loses only what was in memory; after one, the
 * spool's records are sent again, some perhaps twice, with their ids.
 *
 * Look-back needs reads: the gateway that wins the NX claim on
 * afgw:lb:NUMBER:SINCE reads NUMBER's contact log, fetches each
 * subscriber's registration (HGET on the registry bucket) and sends each
 * one who wants look-back a warning through the same path.
 *
 * Not here: whom to warn (the score stage decides from the verdict and the
 * registry), the format (warning.c), the files (spool.c).
 */
#include "afgw/notify.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afgw/fleet.h"
#include "afgw/log.h"
#include "afgw/reputation.h"
#include "afgw/spool.h"
#include "redis_conn.h"

#define STREAM_KEY "afgw:warn"
#define STREAM_TTL_S (7 * 86400)
#define CLAIM_TTL_S (7 * 86400)
#define BATCH 256                  /* items taken per round */
#define BACKLOG_MAX 65536          /* sealed warnings held in memory without a spool */
#define TABLE_WAYS 8
#define NUM_MAX 64

enum kind { K_WARNING, K_CONTACT, K_LOOKBACK };

struct item {
	uint8_t kind;
	union {
		struct {
			struct afgw_warning w;
			uint8_t pk[AFGW_BOX_PUBLIC_BYTES];
			unsigned prefs;
		} warn;
		struct {
			char number[NUM_MAX + 1];
			char msisdn[NUM_MAX + 1];
			int64_t ts;
		} contact;
		struct {
			char number[NUM_MAX + 1];
			char category[AFGW_WARNING_FIELD_MAX + 1];
			int64_t since;
			int score;
		} lb;
	} u;
};

/* A sealed warning on its way: what the stream entry and the spool record hold. */
struct sealed {
	char account[AFGW_SUB_ACCOUNT_MAX + 1];
	char id[AFGW_WARNING_ID_HEX];
	char *b64;                     /* malloc'd */
	size_t b64_len;
	bool from_spool;
};

/* Small fixed tables for dedupe and caps: key hash -> (until / window, count). */
struct tslot {
	uint64_t key;
	int64_t t;
	uint32_t count;
};

struct ttable {
	struct tslot *s;
	size_t mask;
};

struct afgw_notify {
	const struct afgw_config *cfg;
	struct afgw_config_redis rc;
	const struct afgw_sign_key *gk;

	/* the ring */
	struct item *ring;
	size_t ring_mask;
	_Alignas(64) atomic_size_t head;   /* producer writes */
	_Alignas(64) atomic_size_t tail;   /* consumer writes */
	atomic_bool sleeping;              /* the notifier waits on cv */
	size_t submitted;                  /* producer's count of items */

	/* thread */
	pthread_t thread;
	bool has_thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	size_t done;                       /* items handled (delivered, parked or dropped) */
	bool waiting;                      /* sealed warnings wait in the spool or memory */
	uint64_t fail_gen;                 /* failed connection attempts so far */

	/* notifier thread only */
	struct afgw_redis_link link;       /* rc's strings are the config's */
	struct afgw_spool *spool;
	struct ttable dedupe, cap;
	struct sealed *out;                /* this round's sealed warnings */
	size_t n_out, cap_out;
	struct sealed *backlog;            /* no spool: waiting in memory */
	size_t n_backlog;
	struct afgw_jbuf jb;
	uint8_t *sealbuf;
	char *b64buf;

	atomic_uint_fast64_t c[AFGW_NOTIFY_C_COUNT];
};

static void count(struct afgw_notify *n, enum afgw_notify_counter c, uint64_t v)
{
	atomic_fetch_add_explicit(&n->c[c], v, memory_order_relaxed);
}

/* The fleet's FNV-1a over s and its NUL, so that fields chained this way stay apart. */
static uint64_t hash_str(uint64_t h, const char *s)
{
	return afgw_fleet_hash(h, s, strlen(s) + 1);
}

static void copy_str(char *dst, size_t cap, const char *p, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, p, len);
	dst[len] = '\0';
}

/* ---- the producer's side -------------------------------------------------- */

static struct item *slot_reserve(struct afgw_notify *n)
{
	size_t h = atomic_load_explicit(&n->head, memory_order_relaxed);
	size_t t = atomic_load_explicit(&n->tail, memory_order_acquire);
	if (h - t > n->ring_mask) {
		count(n, AFGW_NOTIFY_C_QUEUE_FULL, 1);
		return NULL;
	}
	return &n->ring[h & n->ring_mask];
}

/* Publish the item; wake the notifier only if it is asleep (no lock otherwise). */
static void slot_commit(struct afgw_notify *n)
{
	size_t h = atomic_load_explicit(&n->head, memory_order_relaxed);
	atomic_store(&n->head, h + 1);
	n->submitted++;
	if (atomic_load(&n->sleeping)) {
		pthread_mutex_lock(&n->mu);
		pthread_cond_signal(&n->cv);
		pthread_mutex_unlock(&n->mu);
	}
}

bool afgw_notify_submit_warning(struct afgw_notify *n, const struct afgw_warning *w,
				const struct afgw_sub_entry *sub, uint64_t event)
{
	count(n, AFGW_NOTIFY_C_SUBMITTED, 1);
	struct item *it = slot_reserve(n);
	if (!it)
		return false;
	it->kind = K_WARNING;
	it->u.warn.w = *w;
	struct afgw_warning *x = &it->u.warn.w;
	copy_str(x->account, sizeof(x->account), sub->account, strlen(sub->account));
	copy_str(x->gateway, sizeof(x->gateway), n->gk->id, strlen(n->gk->id));
	afgw_warning_make_id(x, event);
	memcpy(it->u.warn.pk, sub->pk, sizeof(it->u.warn.pk));
	it->u.warn.prefs = sub->prefs;
	slot_commit(n);
	return true;
}

bool afgw_notify_submit_contact(struct afgw_notify *n, struct afgw_str number,
				struct afgw_str msisdn, int64_t ts)
{
	if (number.len == 0 || number.len > NUM_MAX || msisdn.len == 0 || msisdn.len > NUM_MAX)
		return false;
	struct item *it = slot_reserve(n);
	if (!it)
		return false;
	it->kind = K_CONTACT;
	copy_str(it->u.contact.number, sizeof(it->u.contact.number), number.p, number.len);
	copy_str(it->u.contact.msisdn, sizeof(it->u.contact.msisdn), msisdn.p, msisdn.len);
	it->u.contact.ts = ts;
	slot_commit(n);
	return true;
}

bool afgw_notify_submit_lookback(struct afgw_notify *n, struct afgw_str number, int64_t since,
				 const char *category, int score)
{
	if (number.len == 0 || number.len > NUM_MAX)
		return false;
	struct item *it = slot_reserve(n);
	if (!it)
		return false;
	it->kind = K_LOOKBACK;
	copy_str(it->u.lb.number, sizeof(it->u.lb.number), number.p, number.len);
	copy_str(it->u.lb.category, sizeof(it->u.lb.category), category ? category : "",
		 category ? strlen(category) : 0);
	it->u.lb.since = since;
	it->u.lb.score = score;
	slot_commit(n);
	return true;
}

/* ---- dedupe and caps -------------------------------------------------------- */

static int ttable_init(struct ttable *t, size_t n)
{
	size_t cap = 64;
	while (cap < n)
		cap <<= 1;
	t->s = calloc(cap, sizeof(*t->s));
	t->mask = cap - 1;
	return t->s ? 0 : -ENOMEM;
}

/* key's slot, else a free one, else the oldest of its set (forgetting it). */
static struct tslot *ttable_get(struct ttable *t, uint64_t key)
{
	key |= 1;
	size_t home = (size_t)(key * 0x9e3779b97f4a7c15ull >> 20) & t->mask;
	struct tslot *victim = NULL;
	for (unsigned i = 0; i < TABLE_WAYS; i++) {
		struct tslot *s = &t->s[(home + i) & t->mask];
		if (s->key == key)
			return s;
		if (!victim || (victim->key && (!s->key || s->t < victim->t)))
			victim = s;
	}
	victim->key = key;
	victim->t = INT64_MIN;
	victim->count = 0;
	return victim;
}

/*
 * Whether a warning may go: not within the dedupe window of an equal one
 * (same other party, category, subscriber, channel kind), and under the
 * subscriber's cap for the hour of its time.  Counts the suppression.
 */
static bool admit(struct afgw_notify *n, const struct afgw_warning *w)
{
	const struct afgw_config_notify *nc = &n->cfg->notify;
	int64_t ts = w->ts;
	if (nc->dedupe_window_s) {
		uint64_t k = hash_str(hash_str(hash_str(AFGW_FLEET_HASH_INIT, w->other),
					       w->category),
				      w->account) ^ (uint64_t)(w->channel == AFGW_WARNING_LOOKBACK);
		struct tslot *d = ttable_get(&n->dedupe, k);
		if (d->t != INT64_MIN && ts < d->t) {
			count(n, AFGW_NOTIFY_C_DEDUPED, 1);
			return false;
		}
		d->t = ts + nc->dedupe_window_s;
	}
	struct tslot *c = ttable_get(&n->cap, hash_str(0x6a09e667f3bcc909ull, w->account));
	int64_t hour = ts / 3600;
	if (c->t != hour) {
		c->t = hour;
		c->count = 0;
	}
	if (c->count >= nc->hourly_cap) {
		count(n, AFGW_NOTIFY_C_CAPPED, 1);
		return false;
	}
	c->count++;
	return true;
}

/* ---- sealing ---------------------------------------------------------------- */

static int out_push(struct afgw_notify *n, const char *account, const char *id, const char *b64,
		    size_t len, bool from_spool)
{
	if (n->n_out == n->cap_out) {
		size_t cap = n->cap_out ? 2 * n->cap_out : 64;
		struct sealed *o = realloc(n->out, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		n->out = o;
		n->cap_out = cap;
	}
	struct sealed *s = &n->out[n->n_out];
	s->b64 = malloc(len + 1);
	if (!s->b64)
		return -ENOMEM;
	memcpy(s->b64, b64, len);
	s->b64[len] = '\0';
	s->b64_len = len;
	copy_str(s->account, sizeof(s->account), account, strlen(account));
	copy_str(s->id, sizeof(s->id), id, strlen(id));
	s->from_spool = from_spool;
	n->n_out++;
	return 0;
}

static void seal_one(struct afgw_notify *n, struct item *it)
{
	struct afgw_warning *w = &it->u.warn.w;
	if (!admit(n, w))
		return;
	afgw_warning_json(w, &n->jb);
	size_t sl;
	if (afgw_jbuf_failed(&n->jb) ||
	    afgw_warning_seal(n->gk, it->u.warn.pk, n->jb.p, n->jb.len, n->sealbuf,
			      AFGW_WARNING_SEALED_MAX, &sl) != 0) {
		count(n, AFGW_NOTIFY_C_LOST, 1);
		return;
	}
	afgw_base64(n->sealbuf, sl, n->b64buf, 2 * AFGW_WARNING_SEALED_MAX);
	count(n, AFGW_NOTIFY_C_SEALED, 1);
	if (out_push(n, w->account, w->id, n->b64buf, strlen(n->b64buf), false) != 0)
		count(n, AFGW_NOTIFY_C_LOST, 1);
}

/* ---- the spool ------------------------------------------------------------ */

/*
 * A spool record: account, NUL, id, NUL, base64 of the sealed warning —
 * routing data and ciphertext only.
 */
static int spool_put(struct afgw_notify *n, const struct sealed *s)
{
	size_t al = strlen(s->account), il = strlen(s->id);
	size_t len = al + 1 + il + 1 + s->b64_len;
	if (len > AFGW_SPOOL_RECORD_MAX)
		return -EINVAL;
	char *rec = n->b64buf + 2 * AFGW_WARNING_SEALED_MAX; /* room after the base64 area */
	memcpy(rec, s->account, al + 1);
	memcpy(rec + al + 1, s->id, il + 1);
	memcpy(rec + al + 1 + il + 1, s->b64, s->b64_len);
	return afgw_spool_append(n->spool, rec, len);
}

static int spool_parse(const char *rec, size_t len, struct sealed *s, const char **b64,
		       size_t *b64_len)
{
	const char *a = rec, *end = rec + len;
	const char *z1 = memchr(a, '\0', len);
	if (!z1 || (size_t)(z1 - a) > AFGW_SUB_ACCOUNT_MAX)
		return -EINVAL;
	const char *id = z1 + 1;
	const char *z2 = memchr(id, '\0', (size_t)(end - id));
	if (!z2 || (size_t)(z2 - id) != AFGW_WARNING_ID_HEX - 1)
		return -EINVAL;
	copy_str(s->account, sizeof(s->account), a, (size_t)(z1 - a));
	copy_str(s->id, sizeof(s->id), id, (size_t)(z2 - id));
	*b64 = z2 + 1;
	*b64_len = (size_t)(end - *b64);
	return *b64_len ? 0 : -EINVAL;
}

/* Park what could not be delivered: spool, else memory, else lost. */
static void park(struct afgw_notify *n, size_t from)
{
	for (size_t i = from; i < n->n_out; i++) {
		struct sealed *s = &n->out[i];
		if (s->from_spool) {  /* still in the spool: nothing to do */
			free(s->b64);
			continue;
		}
		if (n->spool && spool_put(n, s) == 0) {
			count(n, AFGW_NOTIFY_C_SPOOLED, 1);
			free(s->b64);
		} else if (!n->spool && n->n_backlog < BACKLOG_MAX) {
			n->backlog[n->n_backlog++] = *s;
		} else {
			count(n, AFGW_NOTIFY_C_LOST, 1);
			free(s->b64);
		}
	}
	n->n_out = from;
	if (n->spool)
		afgw_spool_sync(n->spool);
}

/* ---- Redis ---------------------------------------------------------------- */

static void drop_connection(struct afgw_notify *n, const char *why)
{
	if (afgw_redis_link_drop(&n->link, why)) {
		afgw_log(AFGW_LOG_WARN, "notifier: Redis at %s unavailable (%s); warnings wait in "
			 "the %s", n->rc.url, n->link.why, n->spool ? "spool" : "memory");
		count(n, AFGW_NOTIFY_C_REDIS_OUTAGES, 1);
	}
}

/* Connected (now, or again)?  A failed attempt also wakes afgw_notify_flush. */
static bool connected(struct afgw_notify *n)
{
	int up = afgw_redis_link_up(&n->link);
	if (up < 0) {
		drop_connection(n, n->link.why);
		pthread_mutex_lock(&n->mu);
		n->fail_gen++;
		pthread_cond_broadcast(&n->cv);
		pthread_mutex_unlock(&n->mu);
	}
	if (up == 2)
		afgw_log(AFGW_LOG_INFO, "notifier: Redis at %s is back", n->rc.url);
	return up > 0;
}

static int append_xadd(struct afgw_notify *n, const struct sealed *s)
{
	char maxlen[24];
	int ml = snprintf(maxlen, sizeof(maxlen), "%u", n->cfg->notify.stream_maxlen);
	const char *argv[] = { "XADD", STREAM_KEY, "MAXLEN", "~", maxlen, "*",
			       "a", s->account, "id", s->id, "w", s->b64 };
	size_t argl[] = { 4, sizeof(STREAM_KEY) - 1, 6, 1, (size_t)ml, 1,
			  1, strlen(s->account), 2, strlen(s->id), 1, s->b64_len };
	return redisAppendCommandArgv(n->link.ctx, 12, argv, argl) == REDIS_OK ? 0 : -EIO;
}

/*
 * Send n->out[0..n_out) as one pipeline of XADDs (+ one EXPIRE); a spool
 * record that could not be read (b64_len 0) is passed over as done.
 * Returns how many, from the start, are done (on a failure the rest stays
 * to be parked), or -1 when nothing could be sent.
 */
static long send_out(struct afgw_notify *n)
{
	if (!n->n_out)
		return 0;
	for (size_t i = 0; i < n->n_out; i++)
		if (n->out[i].b64_len && append_xadd(n, &n->out[i]) != 0)
			goto fail;
	if (redisAppendCommand(n->link.ctx, "EXPIRE %s %d", STREAM_KEY, STREAM_TTL_S) != REDIS_OK)
		goto fail;
	size_t ok = 0;
	bool broken = false;
	for (size_t i = 0; i <= n->n_out; i++) {
		if (i < n->n_out && !n->out[i].b64_len) {
			ok += !broken;
			continue;
		}
		redisReply *rep = NULL;
		if (redisGetReply(n->link.ctx, (void **)&rep) != REDIS_OK || !rep) {
			drop_connection(n, n->link.ctx && n->link.ctx->err ? n->link.ctx->errstr : "no reply");
			return (long)ok;
		}
		if (i < n->n_out) {
			if (rep->type == REDIS_REPLY_STRING && !broken)
				ok++;
			else
				broken = true;  /* keep order: everything after a failure is parked */
		}
		freeReplyObject(rep);
	}
	return (long)ok;
fail:
	drop_connection(n, "cannot queue a command");
	return -1;
}

/* Release delivered entries [0, ok): spooled ones from the spool. */
static void delivered(struct afgw_notify *n, size_t ok)
{
	uint64_t from_spool = 0, sent = 0;
	for (size_t i = 0; i < ok; i++) {
		if (n->out[i].from_spool)
			from_spool++;
		sent += n->out[i].b64_len != 0;
		free(n->out[i].b64);
	}
	if (from_spool) {
		afgw_spool_release(n->spool, from_spool);
		count(n, AFGW_NOTIFY_C_UNSPOOLED, from_spool);
	}
	count(n, AFGW_NOTIFY_C_DELIVERED, sent);
	if (ok && n->n_out > ok)
		memmove(n->out, n->out + ok, (n->n_out - ok) * sizeof(*n->out));
	n->n_out -= ok;
}

/*
 * What waited (spool or memory backlog) goes first, in batches, oldest
 * first.  Returns false if Redis failed meanwhile.
 */
static bool drain_waiting(struct afgw_notify *n)
{
	while (n->n_backlog) {
		size_t k = n->n_backlog < BATCH ? n->n_backlog : BATCH;
		for (size_t i = 0; i < k; i++) {
			struct sealed *s = &n->backlog[i];
			if (out_push(n, s->account, s->id, s->b64, s->b64_len, false) != 0)
				return false;
			free(s->b64);
		}
		if (n->n_backlog > k)
			memmove(n->backlog, n->backlog + k,
				(n->n_backlog - k) * sizeof(*n->backlog));
		n->n_backlog -= k;
		long ok = send_out(n);
		delivered(n, ok > 0 ? (size_t)ok : 0);
		if (n->n_out) {
			park(n, 0);
			return false;
		}
	}
	while (n->spool && afgw_spool_pending(n->spool)) {
		afgw_spool_rewind(n->spool);
		unsigned got = 0;
		for (unsigned i = 0; i < BATCH; i++, got++) {
			const void *rec;
			size_t len;
			if (afgw_spool_next(n->spool, &rec, &len) != 0)
				break;
			struct sealed s;
			const char *b64;
			size_t bl;
			if (spool_parse(rec, len, &s, &b64, &bl) != 0) {
				/* unreadable (damage the checksum missed): released unsent */
				s.account[0] = s.id[0] = '\0';
				b64 = "";
				bl = 0;
			}
			if (out_push(n, s.account, s.id, b64, bl, true) != 0)
				return false;
		}
		if (!got) {  /* pending, yet unreadable (an I/O error): try again later */
			count(n, AFGW_NOTIFY_C_ERRORS, 1);
			return false;
		}
		long ok = send_out(n);
		delivered(n, ok > 0 ? (size_t)ok : 0);
		if (n->n_out) {
			park(n, 0);
			return false;
		}
	}
	return true;
}

/* Contact log: ZADD + EXPIRE + trim to the latest contact_log_max, per contact. */
static void send_contacts(struct afgw_notify *n, struct item **cs, size_t k)
{
	const struct afgw_config_notify *nc = &n->cfg->notify;
	size_t cmds = 0;
	for (size_t i = 0; i < k; i++) {
		char key[8 + NUM_MAX + 1];
		snprintf(key, sizeof(key), "afgw:cl:%s", cs[i]->u.contact.number);
		redisAppendCommand(n->link.ctx, "ZADD %s %lld %s", key, (long long)cs[i]->u.contact.ts,
				   cs[i]->u.contact.msisdn);
		redisAppendCommand(n->link.ctx, "EXPIRE %s %u", key, nc->lookback_days * 86400u);
		redisAppendCommand(n->link.ctx, "ZREMRANGEBYRANK %s 0 %d", key,
				   -(int)nc->contact_log_max - 1);
		cmds += 3;
	}
	size_t ok = 0;
	for (size_t i = 0; i < cmds; i++) {
		redisReply *rep = NULL;
		if (redisGetReply(n->link.ctx, (void **)&rep) != REDIS_OK || !rep) {
			drop_connection(n, n->link.ctx && n->link.ctx->err ? n->link.ctx->errstr : "no reply");
			count(n, AFGW_NOTIFY_C_ERRORS, 1);
			return;
		}
		if (i % 3 == 0 && rep->type == REDIS_REPLY_INTEGER)
			ok++;
		freeReplyObject(rep);
	}
	count(n, AFGW_NOTIFY_C_CONTACTS, ok);
}

/*
 * One look-back: claim it for the fleet, read the contact log, warn each
 * registered subscriber who wants it.  The warnings join n->out.
 */
static void lookback(struct afgw_notify *n, const struct item *it)
{
	const struct afgw_config_notify *nc = &n->cfg->notify;
	redisReply *rep = redisCommand(n->link.ctx, "SET afgw:lb:%s:%lld 1 NX EX %d", it->u.lb.number,
				       (long long)it->u.lb.since, CLAIM_TTL_S);
	if (!rep) {
		drop_connection(n, n->link.ctx->errstr);
		return;
	}
	bool mine = rep->type == REDIS_REPLY_STATUS;  /* OK; NIL: another gateway has it */
	freeReplyObject(rep);
	if (!mine)
		return;
	count(n, AFGW_NOTIFY_C_LOOKBACKS, 1);
	int64_t from = it->u.lb.since - (int64_t)nc->lookback_days * 86400;
	rep = redisCommand(n->link.ctx, "ZRANGEBYSCORE afgw:cl:%s %lld +inf WITHSCORES",
			   it->u.lb.number, (long long)from);
	if (!afgw_redis_reply_is(rep, REDIS_REPLY_ARRAY)) {
		if (!rep)
			drop_connection(n, n->link.ctx->errstr);
		freeReplyObject(rep);
		return;
	}
	struct afgw_redis conn = { n->link.ctx };
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		const redisReply *m = rep->element[i], *sc = rep->element[i + 1];
		if (m->type != REDIS_REPLY_STRING || sc->type != REDIS_REPLY_STRING)
			continue;
		struct afgw_sub_entry sub;
		char err[AFGW_SUB_ERR];
		if (afgw_sub_get(&conn, afgw_str_make(m->str, m->len), &sub, err, sizeof(err)) != 0)
			continue;
		if (!(sub.prefs & AFGW_SUB_LOOKBACK) || sub.expires <= it->u.lb.since)
			continue;
		struct item w = { .kind = K_WARNING };
		struct afgw_warning *x = &w.u.warn.w;
		x->channel = AFGW_WARNING_LOOKBACK;
		x->ts = it->u.lb.since;
		x->contacted_at = strtoll(sc->str, NULL, 10);
		copy_str(x->other, sizeof(x->other), it->u.lb.number, strlen(it->u.lb.number));
		copy_str(x->category, sizeof(x->category), it->u.lb.category,
			 strlen(it->u.lb.category));
		copy_str(x->account, sizeof(x->account), sub.account, strlen(sub.account));
		copy_str(x->gateway, sizeof(x->gateway), n->gk->id, strlen(n->gk->id));
		x->score = it->u.lb.score;
		x->action = AFGW_BLOCK;
		x->n_reasons = 1;
		snprintf(x->reason[0].source, sizeof(x->reason[0].source), "reputation");
		snprintf(x->reason[0].id, sizeof(x->reason[0].id), "blacklist");
		copy_str(x->reason[0].category, sizeof(x->reason[0].category), x->category,
			 strlen(x->category));
		x->reason[0].weight = it->u.lb.score;
		afgw_warning_make_id(x, (uint64_t)it->u.lb.since);
		memcpy(w.u.warn.pk, sub.pk, sizeof(w.u.warn.pk));
		size_t before = n->n_out;
		seal_one(n, &w);
		if (n->n_out > before)
			count(n, AFGW_NOTIFY_C_LOOKBACK_WARNINGS, 1);
	}
	freeReplyObject(rep);
}

/* ---- the thread ------------------------------------------------------------ */

static void settle(struct afgw_notify *n);

static void round_once(struct afgw_notify *n, size_t t, size_t h)
{
	struct item *contacts[BATCH], *lbs[BATCH];
	size_t nc = 0, nl = 0;
	size_t end = h - t > BATCH ? t + BATCH : h;
	/* what waited goes first, so that the stream stays in order */
	bool up = connected(n) && drain_waiting(n);
	for (size_t i = t; i < end; i++) {
		struct item *it = &n->ring[i & n->ring_mask];
		if (it->kind == K_WARNING)
			seal_one(n, it);
		else if (it->kind == K_CONTACT && n->cfg->notify.lookback_days)
			contacts[nc++] = it;
		else if (it->kind == K_LOOKBACK && n->cfg->notify.lookback_days)
			lbs[nl++] = it;
	}
	if (up && nc && n->link.ctx)
		send_contacts(n, contacts, nc);
	for (size_t i = 0; up && i < nl && n->link.ctx; i++)
		lookback(n, lbs[i]);
	if (up && n->link.ctx) {
		long ok = send_out(n);
		if (ok < 0)
			count(n, AFGW_NOTIFY_C_ERRORS, 1);
		delivered(n, ok > 0 ? (size_t)ok : 0);
	}
	park(n, 0);
	atomic_store_explicit(&n->tail, end, memory_order_release);
	settle(n);
}

/* Publish how far the notifier is, for afgw_notify_flush. */
static void settle(struct afgw_notify *n)
{
	bool waiting = n->n_backlog || (n->spool && afgw_spool_pending(n->spool));
	pthread_mutex_lock(&n->mu);
	n->done = atomic_load(&n->tail);
	n->waiting = waiting;
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

static void *notify_main(void *arg)
{
	struct afgw_notify *n = arg;
	afgw_redis_thread_init();
	for (;;) {
		size_t t = atomic_load_explicit(&n->tail, memory_order_relaxed);
		size_t h = atomic_load_explicit(&n->head, memory_order_acquire);
		if (h != t) {
			round_once(n, t, h);
			continue;
		}
		/* idle: deliver what waits once Redis is back, then sleep a little */
		bool waiting = n->n_backlog || (n->spool && afgw_spool_pending(n->spool));
		if (waiting && connected(n))
			drain_waiting(n);
		settle(n);
		pthread_mutex_lock(&n->mu);
		if (n->stop && atomic_load(&n->head) == atomic_load(&n->tail)) {
			pthread_mutex_unlock(&n->mu);
			break;
		}
		/* sleeping is set before the last look at the ring: a producer
		 * that misses it has already published its item (seq_cst) */
		atomic_store(&n->sleeping, true);
		if (atomic_load(&n->head) == atomic_load(&n->tail)) {
			struct timespec until;
			afgw_deadline(&until, CLOCK_REALTIME, 100);
			pthread_cond_timedwait(&n->cv, &n->mu, &until);
		}
		atomic_store(&n->sleeping, false);
		pthread_mutex_unlock(&n->mu);
	}
	return NULL;
}

/* ---- life cycle -------------------------------------------------------------- */

int afgw_notify_open(const struct afgw_config *cfg, const struct afgw_sign_key *gk,
		     struct afgw_notify **out, char *err, size_t errlen)
{
	struct afgw_notify *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->cfg = cfg;
	n->gk = gk;
	n->rc = cfg->redis;
	n->link.rc = cfg->redis;
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cv, NULL);
	afgw_jbuf_init(&n->jb);
	size_t cap = 16;
	while (cap < cfg->notify.queue)
		cap <<= 1;
	n->ring = calloc(cap, sizeof(*n->ring));
	n->ring_mask = cap - 1;
	n->sealbuf = malloc(AFGW_WARNING_SEALED_MAX);
	n->b64buf = malloc(2 * AFGW_WARNING_SEALED_MAX + AFGW_SPOOL_RECORD_MAX);
	n->backlog = cfg->notify.spool_dir ? NULL : calloc(BACKLOG_MAX, sizeof(*n->backlog));
	int rc = -ENOMEM;
	if (!n->ring || !n->sealbuf || !n->b64buf || (!cfg->notify.spool_dir && !n->backlog) ||
	    ttable_init(&n->dedupe, 65536) || ttable_init(&n->cap, 65536))
		goto fail;
	if (cfg->notify.spool_dir) {
		rc = afgw_spool_open(cfg->notify.spool_dir, cfg->notify.spool_bytes, &n->spool);
		if (rc != 0) {
			snprintf(err, errlen, "%s: cannot open the warnings spool: %s",
				 cfg->notify.spool_dir, strerror(-rc));
			goto fail;
		}
		uint64_t pending = afgw_spool_pending(n->spool);
		if (pending)
			afgw_log(AFGW_LOG_INFO, "notifier: %llu warnings wait in the spool from "
				 "an earlier run", (unsigned long long)pending);
	}
	if (pthread_create(&n->thread, NULL, notify_main, n) != 0) {
		rc = -ENOMEM;
		goto fail;
	}
	n->has_thread = true;
	*out = n;
	return 0;
fail:
	afgw_notify_close(n);
	return rc;
}

int afgw_notify_flush(struct afgw_notify *n, unsigned timeout_ms)
{
	struct timespec until;
	afgw_deadline(&until, CLOCK_REALTIME, timeout_ms);
	/*
	 * Done when every item is handled and nothing waits, or when what
	 * waits has seen a connection attempt fail since the flush began
	 * (Redis is away: the spool keeps it).
	 */
	int rc = 0;
	pthread_mutex_lock(&n->mu);
	uint64_t gen0 = n->fail_gen;
	while ((n->done != n->submitted || (n->waiting && n->fail_gen == gen0)) && rc == 0)
		rc = pthread_cond_timedwait(&n->cv, &n->mu, &until) ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&n->mu);
	return rc;
}

void afgw_notify_close(struct afgw_notify *n)
{
	if (!n)
		return;
	if (n->has_thread) {
		pthread_mutex_lock(&n->mu);
		n->stop = true;
		pthread_cond_broadcast(&n->cv);
		pthread_mutex_unlock(&n->mu);
		pthread_join(n->thread, NULL);
	}
	/* nothing can be delivered any more: memory backlog is lost, the spool keeps its own */
	if (n->n_backlog)
		count(n, AFGW_NOTIFY_C_LOST, n->n_backlog);
	for (size_t i = 0; i < n->n_backlog; i++)
		free(n->backlog[i].b64);
	for (size_t i = 0; i < n->n_out; i++)
		free(n->out[i].b64);
	if (n->link.ctx)
		redisFree(n->link.ctx);
	afgw_spool_close(n->spool);
	afgw_jbuf_fini(&n->jb);
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cv);
	free(n->dedupe.s);
	free(n->cap.s);
	free(n->backlog);
	free(n->out);
	free(n->ring);
	free(n->sealbuf);
	free(n->b64buf);
	free(n);
}

void afgw_notify_counters(const struct afgw_notify *n, uint64_t out[AFGW_NOTIFY_C_COUNT])
{
	for (unsigned i = 0; i < AFGW_NOTIFY_C_COUNT; i++)
		out[i] = n ? atomic_load(&((struct afgw_notify *)n)->c[i]) : 0;
}

const char *afgw_notify_counter_name(enum afgw_notify_counter c)
{
	static const char *const names[AFGW_NOTIFY_C_COUNT] = {
		[AFGW_NOTIFY_C_SUBMITTED] = "warnings_submitted",
		[AFGW_NOTIFY_C_QUEUE_FULL] = "notify_queue_full",
		[AFGW_NOTIFY_C_DEDUPED] = "warnings_deduped",
		[AFGW_NOTIFY_C_CAPPED] = "warnings_capped",
		[AFGW_NOTIFY_C_SEALED] = "warnings_sealed",
		[AFGW_NOTIFY_C_DELIVERED] = "warnings_delivered",
		[AFGW_NOTIFY_C_SPOOLED] = "warnings_spooled",
		[AFGW_NOTIFY_C_UNSPOOLED] = "warnings_unspooled",
		[AFGW_NOTIFY_C_LOST] = "warnings_lost",
		[AFGW_NOTIFY_C_CONTACTS] = "contacts_logged",
		[AFGW_NOTIFY_C_LOOKBACKS] = "lookbacks",
		[AFGW_NOTIFY_C_LOOKBACK_WARNINGS] = "lookback_warnings",
		[AFGW_NOTIFY_C_REDIS_OUTAGES] = "notify_redis_outages",
		[AFGW_NOTIFY_C_ERRORS] = "notify_round_errors",
	};
	return (unsigned)c < AFGW_NOTIFY_C_COUNT ? names[c] : "?";
}
