/*
 * subscriber.c - the subscriber registry: records, the local replica that
 * follows Redis, and the writes of afgwctl sub.
 *
 * subscriber.h describes the schema.  Like reputation.c this file holds the
 * three parts that know about it: record text <-> struct afgw_sub_entry
 * (pure), the replica (a sync thread that loads and follows the Redis
 * change feed, an owner thread - the score stage - that looks subscribers
 * up), and the writes (Lua scripts, so that a record and its feed entry
 * change together on the server).
 *
 * The replica's table is a dense array of entries (64 bytes each) with an
 * open-addressing index of 8-byte slots (a 32-bit tag and the entry's
 * position) beside it; account ids live in a byte arena, since most are far
 * shorter than the 64 they may be.  An entry is keyed by a 64-bit encoding
 * of the canonical MSISDN: up to 15 digits, with or without '+', are
 * encoded exactly (as reputation.c does), anything else by a 63-bit FNV-1a
 * hash with a second, independent 32-bit hash stored beside it as a check,
 * so that two MSISDNs can only be confused if both hashes collide.
 * Deleting moves the last entry into the hole and closes the index gap by
 * backward shifting, so no tombstones pile up under churn.
 *
 * Threads: the sync thread never touches the owner's table.  It builds
 * whole new tables (full loads) and queues feed changes under a mutex; the
 * owner takes both in at afgw_sub_poll, and only when an atomic flag says
 * something is waiting.  A lookup is a hash probe with no lock.
 *
 * Not here: who gets warned and when (notify.c), the keys (keys.c).
 */
#include "afgw/subscriber.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "afgw/log.h"
#include "afgw/reputation.h"
#include "redis_conn.h"

#define FEED_KEY "afgw:sub:feed"
#define FEED_MAX 1000000
#define FEED_TTL_S 2592000
#define BUCKET_FMT "afgw:sub:b:%04x"
#define LOAD_BATCH 512             /* HLENs / HGETALLs in flight during a full load */
#define FEED_BATCH 1000            /* feed entries per XREAD */
#define FEED_BLOCK_MS 500
#define PK_B64_LEN 44              /* base64 of 32 bytes, padded */
#define MSISDN_MAX 64

/* ---- records --------------------------------------------------------- */

static bool account_ok(const char *s, size_t len)
{
	if (len == 0 || len > AFGW_SUB_ACCOUNT_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '@' || c == '-'))
			return false;
	}
	return true;
}

bool afgw_sub_account_ok(const char *s)
{
	return account_ok(s, strlen(s));
}

static const char pref_letters[] = "csl"; /* bit i is letter i */

static int prefs_parse(const char *s, size_t len, unsigned *out)
{
	unsigned p = 0;
	if (len == 1 && s[0] == '-') {
		*out = 0;
		return 0;
	}
	if (len == 0 || len > 3)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		const char *l = memchr(pref_letters, s[i], 3);
		if (!l || p & 1u << (l - pref_letters))
			return -EINVAL;
		p |= 1u << (l - pref_letters);
	}
	*out = p;
	return 0;
}

int afgw_sub_prefs_parse(const char *s, unsigned *prefs)
{
	return prefs_parse(s, strlen(s), prefs);
}

void afgw_sub_prefs_format(unsigned prefs, char out[4])
{
	size_t n = 0;
	for (unsigned i = 0; i < 3; i++)
		if (prefs & 1u << i)
			out[n++] = pref_letters[i];
	if (!n)
		out[n++] = '-';
	out[n] = '\0';
}

/* Unix seconds: 1..10 decimal digits, at most UINT32_MAX (the replica
 * keeps times in 32 bits: until 2106). */
static bool field_time(const char *s, size_t len, int64_t *out)
{
	if (len == 0 || len > 10)
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*out = v;
	return true;
}

int afgw_sub_record_parse(const char *s, size_t len, struct afgw_sub_entry *e)
{
	struct afgw_str f[6];
	unsigned n = 0;
	size_t start = 0;

	if (len >= AFGW_SUB_RECORD_MAX)
		return -EINVAL;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == ';') {
			if (n == AFGW_ARRAY_SIZE(f))
				return -EINVAL;
			f[n++] = afgw_str_make(s + start, i - start);
			start = i + 1;
		}
	}
	if (n != AFGW_ARRAY_SIZE(f) || !afgw_str_eq(f[0], "v1"))
		return -EINVAL;

	memset(e, 0, sizeof(*e));
	bool ok = account_ok(f[1].p, f[1].len);
	ok = ok && f[2].len == PK_B64_LEN &&
	     afgw_unbase64(f[2].p, f[2].len, e->pk, sizeof(e->pk)) == AFGW_BOX_PUBLIC_BYTES;
	ok = ok && prefs_parse(f[3].p, f[3].len, &e->prefs) == 0;
	ok = ok && field_time(f[4].p, f[4].len, &e->registered);
	ok = ok && field_time(f[5].p, f[5].len, &e->expires);
	if (!ok || e->expires <= e->registered) {
		memset(e, 0, sizeof(*e));
		return -EINVAL;
	}
	memcpy(e->account, f[1].p, f[1].len);
	return 0;
}

size_t afgw_sub_record_format(const struct afgw_sub_entry *e, char *buf)
{
	char pk[PK_B64_LEN + 1], prefs[4];
	afgw_base64(e->pk, sizeof(e->pk), pk, sizeof(pk));
	afgw_sub_prefs_format(e->prefs, prefs);
	int n = snprintf(buf, AFGW_SUB_RECORD_MAX, "v1;%.*s;%s;%s;%" PRId64 ";%" PRId64,
			 (int)strnlen(e->account, AFGW_SUB_ACCOUNT_MAX), e->account, pk, prefs,
			 e->registered, e->expires);
	return n < 0 ? 0 : (size_t)n < AFGW_SUB_RECORD_MAX ? (size_t)n : AFGW_SUB_RECORD_MAX - 1;
}

/* ---- the replica table ------------------------------------------------- */

/* One registration: 64 bytes. */
struct ent {
	uint64_t key;
	uint32_t check;                 /* second hash for non-numeric keys, else 0 */
	uint32_t registered, expires;
	uint32_t acct;                  /* offset of the account id in the arena */
	uint8_t acct_len;
	uint8_t prefs;
	uint8_t pk[AFGW_BOX_PUBLIC_BYTES];
};

/* An index slot: ent is the entry's position + 1 (0: empty); the home
 * slot of an entry is tag & mask, so probing needs no entry access until
 * the tag matches. */
struct ix {
	uint32_t tag;
	uint32_t ent;
};

struct table {
	struct ix *ix;
	size_t cap;                     /* index slots, a power of two; load <= 0.75 */
	struct ent *ents;
	size_t n, ents_cap;
	char *arena;
	size_t arena_len, arena_cap;
	size_t garbage;                 /* arena bytes no entry uses any more */
};

#define NOPOS SIZE_MAX

/* The key of an MSISDN and its check (see the file top). */
static uint64_t key_of(struct afgw_str m, uint32_t *check)
{
	const char *p = m.p;
	size_t n = m.len;
	bool plus = n > 0 && p[0] == '+';
	*check = 0;
	if (plus) {
		p++;
		n--;
	}
	if (n >= 1 && n <= 15) {
		uint64_t v = 0;
		size_t i;
		for (i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			v = v * 10 + (uint64_t)(p[i] - '0');
		if (i == n) /* bit 63 clear, '+' at 62, length at 58..61, value below 2^50 */
			return (uint64_t)plus << 62 | (uint64_t)n << 58 | v;
	}
	uint64_t h = 14695981039346656037ull; /* FNV-1a 64 */
	uint32_t c = 5381;                    /* djb2: a different construction */
	for (size_t i = 0; i < m.len; i++) {
		h ^= (unsigned char)m.p[i];
		h *= 1099511628211ull;
		c = c * 33 + (unsigned char)m.p[i];
	}
	*check = c;
	return h | 1ull << 63;
}

static uint32_t tag_of(uint64_t key, uint32_t check)
{
	key ^= check;
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	key *= 0xc4ceb9fe1a85ec53ull;
	key ^= key >> 33;
	return (uint32_t)key;
}

/*
 * Ask for transparent huge pages under a big array: a lookup is a random
 * access into tens of megabytes, and with 4 KiB pages the TLB miss costs
 * as much as the cache miss.  (malloc serves big blocks from their own
 * mappings, which realloc moves with mremap, advice and all.)
 */
static void huge(void *p, size_t bytes)
{
	if (bytes < (4u << 20))
		return;
	uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t b = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
	if (b > a)
		madvise((void *)a, b - a, MADV_HUGEPAGE);
}

static int table_init(struct table *t, size_t entries)
{
	memset(t, 0, sizeof(*t));
	size_t cap = 1024;
	while (cap * 3 < entries * 4)
		cap <<= 1;
	t->ents_cap = entries < 64 ? 64 : entries;
	t->arena_cap = t->ents_cap * 16;
	t->ix = calloc(cap, sizeof(*t->ix));
	t->ents = malloc(t->ents_cap * sizeof(*t->ents));
	t->arena = malloc(t->arena_cap);
	if (!t->ix || !t->ents || !t->arena) {
		free(t->ix);
		free(t->ents);
		free(t->arena);
		memset(t, 0, sizeof(*t));
		return -ENOMEM;
	}
	t->cap = cap;
	huge(t->ix, cap * sizeof(*t->ix));
	huge(t->ents, t->ents_cap * sizeof(*t->ents));
	huge(t->arena, t->arena_cap);
	return 0;
}

static void table_fini(struct table *t)
{
	free(t->ix);
	free(t->ents);
	free(t->arena);
	memset(t, 0, sizeof(*t));
}

/* The index slot of (key, check), or NOPOS. */
static size_t ix_find(const struct table *t, uint64_t key, uint32_t check)
{
	if (!t->cap)
		return NOPOS;
	size_t mask = t->cap - 1;
	uint32_t tag = tag_of(key, check);
	for (size_t i = tag & mask; t->ix[i].ent; i = (i + 1) & mask) {
		if (t->ix[i].tag != tag)
			continue;
		const struct ent *e = &t->ents[t->ix[i].ent - 1];
		if (e->key == key && e->check == check)
			return i;
	}
	return NOPOS;
}

static void ix_place(struct table *t, uint32_t tag, size_t pos)
{
	size_t mask = t->cap - 1, i = tag & mask;
	while (t->ix[i].ent)
		i = (i + 1) & mask;
	t->ix[i].tag = tag;
	t->ix[i].ent = (uint32_t)(pos + 1);
}

static int ix_grow(struct table *t)
{
	struct ix *ix = calloc(t->cap * 2, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	free(t->ix);
	t->ix = ix;
	t->cap *= 2;
	huge(t->ix, t->cap * sizeof(*t->ix));
	for (size_t k = 0; k < t->n; k++)
		ix_place(t, tag_of(t->ents[k].key, t->ents[k].check), k);
	return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap * 2 > need ? *cap * 2 : need;
	void *q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	huge(q, n * elem);
	return 0;
}

/* Copy the account ids into a fresh arena once most of it is garbage:
 * amortised over the changes that made the garbage. */
static void arena_compact(struct table *t)
{
	if (t->garbage < 65536 || t->garbage * 2 < t->arena_len)
		return;
	size_t cap = (t->arena_len - t->garbage) * 2 + 1024, len = 0;
	char *a = malloc(cap);
	if (!a)
		return; /* try again after the next change */
	for (size_t k = 0; k < t->n; k++) {
		struct ent *e = &t->ents[k];
		memcpy(a + len, t->arena + e->acct, e->acct_len);
		e->acct = (uint32_t)len;
		len += e->acct_len;
	}
	free(t->arena);
	t->arena = a;
	t->arena_len = len;
	t->arena_cap = cap;
	t->garbage = 0;
}

/*
 * Insert or replace (key, check) with e (an entry that parsed, so its
 * times fit 32 bits).  Returns 0, -ENOSPC when max entries are reached,
 * or -ENOMEM.
 */
static int table_put(struct table *t, size_t max, uint64_t key, uint32_t check,
		     const struct afgw_sub_entry *e)
{
	size_t len = strnlen(e->account, AFGW_SUB_ACCOUNT_MAX);
	size_t pos = ix_find(t, key, check);
	struct ent *d;
	if (pos == NOPOS) {
		if (t->n >= max || t->n >= UINT32_MAX - 1)
			return -ENOSPC;
		if ((t->n + 1) * 4 > t->cap * 3 && ix_grow(t) != 0)
			return -ENOMEM;
		if (grow((void **)&t->ents, &t->ents_cap, t->n + 1, sizeof(*t->ents)) != 0)
			return -ENOMEM;
		d = &t->ents[t->n];
		d->key = key;
		d->check = check;
		d->acct = 0;
		d->acct_len = 0;
	} else {
		d = &t->ents[t->ix[pos].ent - 1];
	}
	if (len > d->acct_len) { /* a new or longer account id: append it */
		if (t->arena_len + len > UINT32_MAX ||
		    grow((void **)&t->arena, &t->arena_cap, t->arena_len + len, 1) != 0)
			return -ENOMEM;
		t->garbage += d->acct_len;
		d->acct = (uint32_t)t->arena_len;
		t->arena_len += len;
	} else {
		t->garbage += d->acct_len - len;
	}
	memcpy(t->arena + d->acct, e->account, len);
	d->acct_len = (uint8_t)len;
	d->prefs = (uint8_t)e->prefs;
	d->registered = (uint32_t)e->registered;
	d->expires = (uint32_t)e->expires;
	memcpy(d->pk, e->pk, sizeof(d->pk));
	if (pos == NOPOS) {
		ix_place(t, tag_of(key, check), t->n);
		t->n++;
	}
	arena_compact(t);
	return 0;
}

/*
 * Remove (key, check).  Linear probing without tombstones: after emptying
 * slot i, every later slot of the cluster whose home is not in (i, j]
 * moves back into the hole.  Then the last entry fills the entry's place.
 */
static void table_del(struct table *t, uint64_t key, uint32_t check)
{
	size_t i = ix_find(t, key, check);
	if (i == NOPOS)
		return;
	size_t mask = t->cap - 1, victim = t->ix[i].ent - 1;
	for (size_t j = (i + 1) & mask; t->ix[j].ent; j = (j + 1) & mask) {
		size_t home = t->ix[j].tag & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->ix[i] = t->ix[j];
			i = j;
		}
	}
	t->ix[i].ent = 0;
	t->ix[i].tag = 0;
	t->garbage += t->ents[victim].acct_len;
	size_t last = t->n - 1;
	if (victim != last) {
		t->ents[victim] = t->ents[last];
		uint32_t tag = tag_of(t->ents[victim].key, t->ents[victim].check);
		for (size_t k = tag & mask;; k = (k + 1) & mask) {
			if (t->ix[k].ent == last + 1) {
				t->ix[k].ent = (uint32_t)(victim + 1);
				break;
			}
		}
	}
	t->n--;
	arena_compact(t);
}

/* ---- the replica ------------------------------------------------------ */

struct change {
	uint64_t key;
	uint32_t check;
	bool del;
	struct afgw_sub_entry e;
};

struct afgw_sub {
	size_t max_entries;

	/* Owner thread. */
	struct table t;
	_Atomic uint64_t c[AFGW_SUB_C_COUNT];

	/* Shared with the sync thread, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool pending;            /* changes or a new table are waiting */
	struct change *changes;
	size_t n_changes, cap_changes;
	struct table *new_table;        /* a finished full load */
	struct table retired;           /* the owner's old table, for the sync thread to free */
	bool loaded;                    /* a first full load is done */
	bool unreachable;               /* the first connection attempt failed */
	bool stop;

	/* Sync thread. */
	bool has_thread;
	pthread_t thread;
	struct afgw_config_redis rc;
	redisContext *ctx;
	char last_id[64];               /* the last feed entry read */
};

static void count(struct afgw_sub *s, enum afgw_sub_counter c, uint64_t n)
{
	atomic_fetch_add_explicit(&s->c[c], n, memory_order_relaxed);
}

/* Queue a change (e NULL: a delete) for the owner. */
static void queue_change(struct afgw_sub *s, struct afgw_str m, const struct afgw_sub_entry *e)
{
	pthread_mutex_lock(&s->mu);
	if (grow((void **)&s->changes, &s->cap_changes, s->n_changes + 1, sizeof(*s->changes))) {
		pthread_mutex_unlock(&s->mu);
		count(s, AFGW_SUB_C_BAD_RECORDS, 1);
		return;
	}
	struct change *c = &s->changes[s->n_changes++];
	c->key = key_of(m, &c->check);
	c->del = e == NULL;
	if (e)
		c->e = *e;
	atomic_store(&s->pending, true);
	pthread_mutex_unlock(&s->mu);
}

/* The id of the first (XRANGE) or last (XREVRANGE) feed entry into id,
 * "0-0" when the feed is empty.  Returns 0 or -EIO. */
static int feed_end_id(struct afgw_sub *s, const char *cmd, char *id, size_t idlen)
{
	redisReply *rep = redisCommand(s->ctx, cmd, FEED_KEY);
	if (!afgw_redis_reply_is(rep, REDIS_REPLY_ARRAY)) {
		freeReplyObject(rep);
		return -EIO;
	}
	snprintf(id, idlen, "0-0");
	if (rep->elements == 1 && afgw_redis_reply_is(rep->element[0], REDIS_REPLY_ARRAY) &&
	    rep->element[0]->elements == 2 &&
	    afgw_redis_reply_is(rep->element[0]->element[0], REDIS_REPLY_STRING))
		snprintf(id, idlen, "%s", rep->element[0]->element[0]->str);
	freeReplyObject(rep);
	return 0;
}

/* Does the feed still hold every entry after id?  It does unless its
 * first entry is later than the one right after id.  1 yes, 0 no, -EIO. */
static int feed_covers(struct afgw_sub *s, const char *id)
{
	char first[64];
	unsigned long long a_ms, a_seq, b_ms, b_seq;
	if (feed_end_id(s, "XRANGE %s - + COUNT 1", first, sizeof(first)) != 0)
		return -EIO;
	if (sscanf(first, "%llu-%llu", &a_ms, &a_seq) != 2 ||
	    sscanf(id, "%llu-%llu", &b_ms, &b_seq) != 2)
		return 0;
	if (a_ms == 0 && a_seq == 0) /* empty feed: nothing was missed */
		return 1;
	return a_ms < b_ms || (a_ms == b_ms && a_seq <= b_seq + 1);
}

/* Run a pipelined command over every bucket, LOAD_BATCH in flight, with
 * fn(ud, reply) for each answer.  Returns 0, -EIO (the context is dead) or
 * fn's first negative return. */
static int each_bucket(struct afgw_sub *s, const char *cmd,
		       int (*fn)(struct afgw_sub *s, void *ud, const redisReply *rep), void *ud)
{
	int rc = 0;
	for (unsigned b = 0; b < AFGW_REP_BUCKETS; b += LOAD_BATCH) {
		for (unsigned k = b; k < b + LOAD_BATCH; k++)
			redisAppendCommand(s->ctx, cmd, k);
		for (unsigned k = b; k < b + LOAD_BATCH; k++) {
			redisReply *rep;
			if (redisGetReply(s->ctx, (void **)&rep) != REDIS_OK)
				return -EIO;
			if (rc == 0)
				rc = fn(s, ud, rep);
			freeReplyObject(rep);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int add_len(struct afgw_sub *s, void *ud, const redisReply *rep)
{
	(void)s;
	if (!afgw_redis_reply_is(rep, REDIS_REPLY_INTEGER))
		return -EIO;
	if (rep->integer > 0)
		*(size_t *)ud += (size_t)rep->integer;
	return 0;
}

struct load {
	struct table *t;
	int64_t now;
};

static int add_bucket(struct afgw_sub *s, void *ud, const redisReply *rep)
{
	struct load *l = ud;
	if (!afgw_redis_reply_is(rep, REDIS_REPLY_ARRAY))
		return -EIO;
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		const redisReply *f = rep->element[i], *v = rep->element[i + 1];
		struct afgw_sub_entry e;
		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    f->len == 0 || f->len > MSISDN_MAX ||
		    afgw_sub_record_parse(v->str, v->len, &e) != 0) {
			count(s, AFGW_SUB_C_BAD_RECORDS, 1);
			continue;
		}
		if (e.expires <= l->now) /* lapsed: the bucket outlives it */
			continue;
		uint32_t check;
		uint64_t key = key_of(afgw_str_make(f->str, f->len), &check);
		int rc = table_put(l->t, s->max_entries, key, check, &e);
		if (rc == -ENOSPC)
			count(s, AFGW_SUB_C_FULL, 1);
		else if (rc)
			return rc;
	}
	return 0;
}

/*
 * Full load into a new table: an HLEN pass to size it, then an HGETALL of
 * every bucket.  Lapsed registrations are skipped.  Returns 0 (the table
 * is handed to the owner, replacing any queued changes: it holds them) or
 * -EIO / -ENOMEM.
 */
static int full_load(struct afgw_sub *s)
{
	uint64_t t0 = afgw_mono_ms();
	size_t total = 0;
	int rc = each_bucket(s, "HLEN " BUCKET_FMT, add_len, &total);
	if (rc)
		return rc;
	struct load l = { calloc(1, sizeof(struct table)), time(NULL) };
	if (!l.t || table_init(l.t, total < s->max_entries ? total : s->max_entries) != 0) {
		free(l.t);
		return -ENOMEM;
	}
	rc = each_bucket(s, "HGETALL " BUCKET_FMT, add_bucket, &l);
	if (rc) {
		table_fini(l.t);
		free(l.t);
		return rc;
	}
	uint64_t ms = afgw_mono_ms() - t0;
	size_t n = l.t->n;
	pthread_mutex_lock(&s->mu);
	if (s->new_table) { /* never picked up: replace it */
		table_fini(s->new_table);
		free(s->new_table);
	}
	s->new_table = l.t;
	s->n_changes = 0;
	s->loaded = true;
	/* counted before waking the waiters, who may read the counters at once */
	count(s, AFGW_SUB_C_LOADS, 1);
	atomic_store(&s->c[AFGW_SUB_C_LOAD_MS], ms);
	atomic_store(&s->pending, true);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	afgw_log(AFGW_LOG_INFO, "subscribers: loaded %zu registrations from Redis in %llu ms", n,
		 (unsigned long long)ms);
	return 0;
}

/* One feed entry: n + r, or op=reload.  Returns 1 for a reload, else 0. */
static int feed_entry(struct afgw_sub *s, const redisReply *fields)
{
	const redisReply *num = NULL, *rec = NULL;
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *k = fields->element[i], *v = fields->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (!strcmp(k->str, "op") && !strcmp(v->str, "reload"))
			return 1;
		if (!strcmp(k->str, "n"))
			num = v;
		else if (!strcmp(k->str, "r"))
			rec = v;
	}
	struct afgw_sub_entry e;
	if (!num || !rec || num->len == 0 || num->len > MSISDN_MAX ||
	    (rec->len && afgw_sub_record_parse(rec->str, rec->len, &e) != 0)) {
		count(s, AFGW_SUB_C_BAD_RECORDS, 1);
		return 0;
	}
	queue_change(s, afgw_str_make(num->str, num->len), rec->len ? &e : NULL);
	count(s, AFGW_SUB_C_CHANGES, 1);
	return 0;
}

/* Read the feed once, blocking up to FEED_BLOCK_MS.  Returns 0, 1 when a
 * reload was asked for, or -EIO. */
static int feed_read(struct afgw_sub *s)
{
	redisReply *rep = redisCommand(s->ctx, "XREAD COUNT %d BLOCK %d STREAMS %s %s", FEED_BATCH,
				       FEED_BLOCK_MS, FEED_KEY, s->last_id);
	int rc = 0;
	if (afgw_redis_reply_is(rep, REDIS_REPLY_NIL)) {
		freeReplyObject(rep);
		return 0;
	}
	if (!afgw_redis_reply_is(rep, REDIS_REPLY_ARRAY) || rep->elements != 1 ||
	    !afgw_redis_reply_is(rep->element[0], REDIS_REPLY_ARRAY) ||
	    rep->element[0]->elements != 2 ||
	    !afgw_redis_reply_is(rep->element[0]->element[1], REDIS_REPLY_ARRAY)) {
		freeReplyObject(rep);
		return -EIO;
	}
	const redisReply *entries = rep->element[0]->element[1];
	for (size_t i = 0; i < entries->elements; i++) {
		const redisReply *en = entries->element[i];
		if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
		    en->element[0]->type != REDIS_REPLY_STRING)
			continue;
		snprintf(s->last_id, sizeof(s->last_id), "%s", en->element[0]->str);
		if (en->element[1]->type == REDIS_REPLY_ARRAY && feed_entry(s, en->element[1]) == 1)
			rc = 1;
	}
	freeReplyObject(rep);
	return rc;
}

static bool should_stop(struct afgw_sub *s)
{
	pthread_mutex_lock(&s->mu);
	bool stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

/* Sleep up to ms; close wakes it. */
static void nap(struct afgw_sub *s, unsigned ms)
{
	struct timespec until;
	afgw_deadline(&until, CLOCK_REALTIME, ms);
	pthread_mutex_lock(&s->mu);
	if (!s->stop)
		pthread_cond_timedwait(&s->cv, &s->mu, &until);
	pthread_mutex_unlock(&s->mu);
}

/*
 * The sync thread.  Connect; load fully the first time, and after a
 * reconnect too when the feed was trimmed past the last id read; follow
 * the feed; on op=reload load again.  Any Redis error drops the
 * connection: the outage is counted and logged once, and the thread
 * retries every retry_ms while the owner keeps serving its table.
 */
static void *sync_main(void *arg)
{
	struct afgw_sub *s = arg;
	bool ever_loaded = false, down = false;
	time_t down_since = 0;
	char err[AFGW_SUB_ERR];

	afgw_redis_thread_init();
	while (!should_stop(s)) {
		pthread_mutex_lock(&s->mu); /* free the owner's old table here, not there */
		struct table old = s->retired;
		memset(&s->retired, 0, sizeof(s->retired));
		pthread_mutex_unlock(&s->mu);
		table_fini(&old);

		int rc = 0;
		if (!s->ctx) {
			s->ctx = afgw_redis_ctx_open(&s->rc, FEED_BLOCK_MS, err, sizeof(err));
			if (!s->ctx)
				goto down;
			if (down)
				afgw_log(AFGW_LOG_INFO, "subscribers: Redis at %s is back after %lld s",
					 s->rc.url, (long long)(time(NULL) - down_since));
			down = false;
			pthread_mutex_lock(&s->mu);
			s->unreachable = false;
			pthread_mutex_unlock(&s->mu);
			atomic_store(&s->c[AFGW_SUB_C_REDIS_UP], 1);
			int covers = ever_loaded ? feed_covers(s, s->last_id) : 0;
			if (covers < 0)
				rc = covers;
			if (covers == 0) {
				rc = feed_end_id(s, "XREVRANGE %s + - COUNT 1", s->last_id,
						 sizeof(s->last_id));
				if (rc == 0)
					rc = full_load(s);
				ever_loaded = ever_loaded || rc == 0;
			}
			if (rc)
				goto drop;
		}
		rc = feed_read(s);
		if (rc == 1) /* entries after the reload op are in the new load too */
			rc = full_load(s);
		if (rc == 0)
			continue;
drop:
		snprintf(err, sizeof(err), "lost Redis at %s (%s)", s->rc.url,
			 s->ctx->err ? s->ctx->errstr : "unexpected reply");
		redisFree(s->ctx);
		s->ctx = NULL;
down:
		if (!down) {
			afgw_log(AFGW_LOG_WARN, "subscribers: %s; serving from the local replica, retrying",
				 err);
			down = true;
			down_since = time(NULL);
			count(s, AFGW_SUB_C_REDIS_OUTAGES, 1);
		}
		atomic_store(&s->c[AFGW_SUB_C_REDIS_UP], 0);
		pthread_mutex_lock(&s->mu); /* wait_loaded need not wait any longer */
		s->unreachable = !ever_loaded;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		nap(s, s->rc.retry_ms);
	}
	if (s->ctx)
		redisFree(s->ctx);
	s->ctx = NULL;
	return NULL;
}

/* ---- the owner's side --------------------------------------------------- */

int afgw_sub_open(const struct afgw_config *cfg, struct afgw_sub **out, char *err, size_t errlen)
{
	struct afgw_sub *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->max_entries = cfg->memcap.replica_numbers;
	snprintf(s->last_id, sizeof(s->last_id), "0-0");
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->rc = cfg->redis;
	s->rc.url = cfg->redis.url ? strdup(cfg->redis.url) : NULL;
	s->rc.password = cfg->redis.password ? strdup(cfg->redis.password) : NULL;
	if (table_init(&s->t, 0) != 0 || (cfg->redis.url && !s->rc.url) ||
	    (cfg->redis.password && !s->rc.password))
		goto nomem;
	if (!s->rc.url) {
		s->loaded = true;
		*out = s;
		return 0;
	}
	char host[256];
	bool is_unix;
	int port;
	if (afgw_redis_url_parse(s->rc.url, &is_unix, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "bad Redis URL '%s' (unix:///path, tcp://host:port)", s->rc.url);
		afgw_sub_close(s);
		return -EINVAL;
	}
	if (pthread_create(&s->thread, NULL, sync_main, s) != 0)
		goto nomem;
	s->has_thread = true;
	*out = s;
	return 0;
nomem:
	afgw_sub_close(s);
	return -ENOMEM;
}

void afgw_sub_close(struct afgw_sub *s)
{
	if (!s)
		return;
	if (s->has_thread) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	if (s->new_table) {
		table_fini(s->new_table);
		free(s->new_table);
	}
	table_fini(&s->retired);
	table_fini(&s->t);
	free(s->changes);
	free(s->rc.url);
	free(s->rc.password);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void afgw_sub_poll(struct afgw_sub *s)
{
	if (!atomic_load_explicit(&s->pending, memory_order_acquire))
		return;
	pthread_mutex_lock(&s->mu);
	if (s->new_table) {
		if (!s->retired.ix)
			s->retired = s->t;
		else /* the sync thread has not freed the last one yet */
			table_fini(&s->t);
		s->t = *s->new_table;
		free(s->new_table);
		s->new_table = NULL;
	}
	for (size_t i = 0; i < s->n_changes; i++) {
		const struct change *c = &s->changes[i];
		if (c->del)
			table_del(&s->t, c->key, c->check);
		else if (table_put(&s->t, s->max_entries, c->key, c->check, &c->e) == -ENOSPC)
			count(s, AFGW_SUB_C_FULL, 1);
	}
	s->n_changes = 0;
	atomic_store(&s->c[AFGW_SUB_C_ENTRIES], s->t.n);
	atomic_store_explicit(&s->pending, false, memory_order_release);
	pthread_mutex_unlock(&s->mu);
}

/* 0 once a full load is done (and taken in).  Also -ETIMEDOUT at once when
 * the first connection attempt failed: waiting longer would not help. */
int afgw_sub_wait_loaded(struct afgw_sub *s, unsigned timeout_ms)
{
	struct timespec until;
	afgw_deadline(&until, CLOCK_REALTIME, timeout_ms);
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	while (!s->loaded && !s->unreachable && rc == 0)
		rc = pthread_cond_timedwait(&s->cv, &s->mu, &until);
	bool ready = s->loaded;
	pthread_mutex_unlock(&s->mu);
	afgw_sub_poll(s);
	return ready ? 0 : -ETIMEDOUT;
}

/* The owner bumps its own counters: a relaxed load and store, no locked
 * instruction on the packet path. */
static void bump(struct afgw_sub *s, enum afgw_sub_counter c)
{
	atomic_store_explicit(&s->c[c], atomic_load_explicit(&s->c[c], memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

bool afgw_sub_lookup(struct afgw_sub *s, struct afgw_str msisdn, int64_t now,
		     struct afgw_sub_entry *out)
{
	bump(s, AFGW_SUB_C_LOOKUPS);
	uint32_t check;
	uint64_t key = key_of(msisdn, &check);
	size_t i = msisdn.len ? ix_find(&s->t, key, check) : NOPOS;
	const struct ent *e = i == NOPOS ? NULL : &s->t.ents[s->t.ix[i].ent - 1];
	if (!e || e->expires <= now) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	memcpy(out->account, s->t.arena + e->acct, e->acct_len);
	out->account[e->acct_len] = '\0';
	memcpy(out->pk, e->pk, sizeof(out->pk));
	out->prefs = e->prefs;
	out->registered = e->registered;
	out->expires = e->expires;
	bump(s, AFGW_SUB_C_HITS);
	return true;
}

void afgw_sub_counters(const struct afgw_sub *s, uint64_t out[AFGW_SUB_C_COUNT])
{
	for (int i = 0; i < AFGW_SUB_C_COUNT; i++)
		out[i] = atomic_load_explicit(&((struct afgw_sub *)s)->c[i], memory_order_relaxed);
}

const char *afgw_sub_counter_name(enum afgw_sub_counter c)
{
	static const char *const names[AFGW_SUB_C_COUNT] = {
		"subscriber_lookups",      "subscriber_hits",  "subscriber_entries",
		"subscriber_loads",        "subscriber_load_ms", "subscriber_changes",
		"subscriber_bad_records",  "subscriber_full",  "subscriber_redis_outages",
		"subscriber_redis_up",
	};
	return (unsigned)c < AFGW_SUB_C_COUNT ? names[c] : "?";
}

/* ---- writes ------------------------------------------------------------ */

/*
 * KEYS[1] the bucket, KEYS[2] the feed; ARGV[1] the MSISDN.  put: ARGV[2]
 * the record, ARGV[3] when the bucket may expire (its TTL only ever
 * grows), ARGV[4] feed length, ARGV[5] feed TTL.  del: ARGV[2] feed
 * length, ARGV[3] feed TTL; returns 0 when there was nothing to delete.
 */
static const char put_script[] =
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
	"local at = tonumber(ARGV[3])\n"
	"if redis.call('EXPIRETIME', KEYS[1]) < at then redis.call('EXPIREAT', KEYS[1], at) end\n"
	"redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'n', ARGV[1], 'r', ARGV[2])\n"
	"redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
	"return 1\n";

static const char del_script[] =
	"if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
	"redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'n', ARGV[1], 'r', '')\n"
	"redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
	"return 1\n";

/* 0, or -EIO with err when rep is missing (freed: none) or an error (freed). */
static int reply_error(redisContext *ctx, redisReply *rep, const char *what, char *err,
		       size_t errlen)
{
	if (!rep) {
		snprintf(err, errlen, "%s: Redis: %s", what, ctx->errstr);
		return -EIO;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "%s: Redis: %s", what, rep->str);
		freeReplyObject(rep);
		return -EIO;
	}
	return 0;
}

/* A hash field the gateways can read back: 1..64 printable bytes, no ';'. */
static bool msisdn_ok(struct afgw_str m, char *err, size_t errlen)
{
	bool ok = m.len > 0 && m.len <= MSISDN_MAX;
	for (size_t i = 0; ok && i < m.len; i++)
		ok = (unsigned char)m.p[i] > ' ' && m.p[i] != ';' && m.p[i] != 0x7f;
	if (!ok)
		snprintf(err, errlen, "bad MSISDN");
	return ok;
}

static void bucket_of(struct afgw_str m, char out[32])
{
	snprintf(out, 32, BUCKET_FMT, afgw_rep_bucket(m));
}

int afgw_sub_put(struct afgw_redis *c, struct afgw_str msisdn, const struct afgw_sub_entry *e,
		 char *err, size_t errlen)
{
	char rec[AFGW_SUB_RECORD_MAX], bucket[32];
	struct afgw_sub_entry back;
	if (!msisdn_ok(msisdn, err, errlen))
		return -EINVAL;
	/* what the gateways will parse, checked before anything is written */
	size_t n = afgw_sub_record_format(e, rec);
	if (afgw_sub_record_parse(rec, n, &back) != 0 ||
	    strnlen(e->account, sizeof(e->account)) > AFGW_SUB_ACCOUNT_MAX || e->prefs > 7) {
		snprintf(err, errlen, "bad registration (account [A-Za-z0-9_.@-]{1,64}, prefs, "
				      "times 0..4294967295 with expiry after registration)");
		return -EINVAL;
	}
	int64_t now = time(NULL);
	long long at = e->expires > now + 60 ? e->expires : now + 60;
	bucket_of(msisdn, bucket);
	redisReply *rep = redisCommand(c->ctx, "EVAL %s 2 %s %s %b %b %lld %d %d", put_script,
				       bucket, FEED_KEY, msisdn.p, msisdn.len, rec, n, at, FEED_MAX,
				       FEED_TTL_S);
	int rc = reply_error(c->ctx, rep, "put", err, errlen);
	if (rc == 0)
		freeReplyObject(rep);
	return rc;
}

int afgw_sub_del(struct afgw_redis *c, struct afgw_str msisdn, char *err, size_t errlen)
{
	char bucket[32];
	if (!msisdn_ok(msisdn, err, errlen))
		return -EINVAL;
	bucket_of(msisdn, bucket);
	redisReply *rep = redisCommand(c->ctx, "EVAL %s 2 %s %s %b %d %d", del_script, bucket,
				       FEED_KEY, msisdn.p, msisdn.len, FEED_MAX, FEED_TTL_S);
	int rc = reply_error(c->ctx, rep, "del", err, errlen);
	if (rc)
		return rc;
	rc = afgw_redis_reply_is(rep, REDIS_REPLY_INTEGER) && rep->integer == 1 ? 0 : -ENOENT;
	freeReplyObject(rep);
	if (rc)
		snprintf(err, errlen, "not registered");
	return rc;
}

int afgw_sub_get(struct afgw_redis *c, struct afgw_str msisdn, struct afgw_sub_entry *e,
		 char *err, size_t errlen)
{
	char bucket[32];
	if (!msisdn_ok(msisdn, err, errlen))
		return -EINVAL;
	bucket_of(msisdn, bucket);
	redisReply *rep = redisCommand(c->ctx, "HGET %s %b", bucket, msisdn.p, msisdn.len);
	int rc = reply_error(c->ctx, rep, "get", err, errlen);
	if (rc)
		return rc;
	if (rep->type != REDIS_REPLY_STRING) {
		snprintf(err, errlen, "not registered");
		rc = -ENOENT;
	} else if ((rc = afgw_sub_record_parse(rep->str, rep->len, e)) != 0) {
		snprintf(err, errlen, "the stored record does not parse");
	}
	freeReplyObject(rep);
	return rc;
}
