/*
 * reputation.c - number reputation: records, the local replica and its
 * Redis change feed, and the writes of afgwctl.
 *
 * reputation.h describes the schema.  This file holds the three parts that
 * know about it: record text <-> struct afgw_rep_entry (pure), the replica
 * (a background thread that loads and follows Redis, an owner thread that
 * looks numbers up), and the writes (Lua scripts, so that a put, a delete
 * or a report and its feed entry happen atomically on the server).
 *
 * The replica is an open-addressing table of fixed-size slots keyed by a
 * 64-bit encoding of the canonical number: E.164 and digit strings of up
 * to 15 digits are encoded exactly (value, length, '+'), anything else
 * (alphanumeric senders) by a 63-bit hash.  Categories are interned into a
 * small table shared by the slots (at most 255 distinct ones; beyond that
 * they read as "other").  One owner thread reads and writes the table;
 * the sync thread never touches it: it builds whole new tables (full
 * loads) and queues feed changes, and the owner takes both in at
 * afgw_rep_poll().  So a lookup is a hash probe with no lock and no atomic.
 *
 * Not here: the scoring of a reputation (score.c), the config file.
 */
#include "afgw/reputation.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "afgw/fleet.h"
#include "afgw/log.h"
#include "redis_conn.h"

#define FEED_KEY "afgw:rep:feed"
#define FEED_TTL_S 2592000
#define BUCKET_FMT "afgw:rep:b:%04x"
#define REPORTS_FMT "afgw:rep:r:%.*s"
#define LOAD_BATCH 512             /* HGETALLs in flight during a full load */
#define FEED_BATCH 1000            /* feed entries per XREAD */
#define FEED_BLOCK_MS 500
#define MAX_TTL_S (20ll * 365 * 86400)

/* ---- records --------------------------------------------------------- */

static const char *const list_names[] = { "none", "black", "gray", "allow" };
static const char *const source_names[] = { "police", "operator", "reports", "import" };

const char *afgw_rep_list_name(enum afgw_rep_list l)
{
	return (unsigned)l < AFGW_ARRAY_SIZE(list_names) ? list_names[l] : "?";
}

const char *afgw_rep_source_name(enum afgw_rep_source s)
{
	return (unsigned)s < AFGW_ARRAY_SIZE(source_names) ? source_names[s] : "?";
}

static int name_index(const char *const *names, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return (int)i;
	return -1;
}

int afgw_rep_list_parse(const char *s, enum afgw_rep_list *out)
{
	int i = name_index(list_names, AFGW_ARRAY_SIZE(list_names), s, strlen(s));
	if (i < 0)
		return -EINVAL;
	*out = (enum afgw_rep_list)i;
	return 0;
}

int afgw_rep_source_parse(const char *s, enum afgw_rep_source *out)
{
	int i = name_index(source_names, AFGW_ARRAY_SIZE(source_names), s, strlen(s));
	if (i < 0)
		return -EINVAL;
	*out = (enum afgw_rep_source)i;
	return 0;
}

static bool category_ok(const char *s, size_t len)
{
	if (len == 0 || len > AFGW_REP_CATEGORY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool afgw_rep_category_ok(const char *s)
{
	return category_ok(s, strlen(s));
}

bool afgw_rep_reporter_ok(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > AFGW_REP_REPORTER_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

/* A decimal field of at most 19 digits no larger than max. */
static bool field_int(const char *s, size_t len, int64_t max, int64_t *out)
{
	if (len == 0 || len > 19)
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (max - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int afgw_rep_record_parse(const char *s, size_t len, struct afgw_rep_entry *e)
{
	struct afgw_str f[10];
	unsigned n = 0;
	size_t start = 0;

	if (len >= AFGW_REP_RECORD_MAX)
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
	int li = name_index(list_names, AFGW_ARRAY_SIZE(list_names), f[1].p, f[1].len);
	/* SOURCE, or police@SERIAL for an entry a police bundle made */
	const char *at = memchr(f[4].p, '@', f[4].len);
	size_t sl = at ? (size_t)(at - f[4].p) : f[4].len;
	int si = name_index(source_names, AFGW_ARRAY_SIZE(source_names), f[4].p, sl);
	int64_t score, since, expires, hl, reports, rat, bundle = 0;
	bool ok = li >= 0 && si >= 0 && category_ok(f[3].p, f[3].len);
	if (at)
		ok = ok && si == AFGW_REP_SRC_POLICE &&
		     field_int(at + 1, f[4].len - sl - 1, INT64_MAX, &bundle) && bundle > 0;
	ok = ok && field_int(f[2].p, f[2].len, 100, &score);
	ok = ok && field_int(f[5].p, f[5].len, INT64_MAX / 2, &since);
	ok = ok && field_int(f[6].p, f[6].len, INT64_MAX / 2, &expires);
	ok = ok && field_int(f[7].p, f[7].len, 36500, &hl);
	ok = ok && field_int(f[8].p, f[8].len, 1000000, &reports);
	ok = ok && field_int(f[9].p, f[9].len, INT64_MAX / 2, &rat);
	if (!ok)
		return -EINVAL;
	e->list = (enum afgw_rep_list)li;
	e->source = (enum afgw_rep_source)si;
	e->score = (int)score;
	memcpy(e->category, f[3].p, f[3].len);
	e->category[f[3].len] = '\0';
	e->since = since;
	e->expires = expires;
	e->halflife_days = (unsigned)hl;
	e->reports = (unsigned)reports;
	e->reported_at = rat;
	e->bundle = (uint64_t)bundle;
	return 0;
}

/* SOURCE as stored: police@SERIAL for a bundle's entry. */
static const char *source_text(const struct afgw_rep_entry *e, char buf[32])
{
	if (e->source == AFGW_REP_SRC_POLICE && e->bundle) {
		snprintf(buf, 32, "police@%" PRIu64, e->bundle);
		return buf;
	}
	return afgw_rep_source_name(e->source);
}

size_t afgw_rep_record_format(const struct afgw_rep_entry *e, char out[AFGW_REP_RECORD_MAX])
{
	char src[32];
	int n = snprintf(out, AFGW_REP_RECORD_MAX, "v1;%s;%d;%s;%s;%" PRId64 ";%" PRId64 ";%u;%u;%" PRId64,
			 afgw_rep_list_name(e->list), e->score, e->category,
			 source_text(e, src), e->since, e->expires, e->halflife_days,
			 e->reports, e->reported_at);
	return n < 0 ? 0 : (size_t)n < AFGW_REP_RECORD_MAX ? (size_t)n : AFGW_REP_RECORD_MAX - 1;
}

/* FNV-1a, 32 bits: the bucket hash is part of the schema, so it is the
 * simplest one to write in any language. */
static uint32_t fnv1a(const char *p, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

unsigned afgw_rep_bucket(struct afgw_str canon)
{
	return fnv1a(canon.p, canon.len) & (AFGW_REP_BUCKETS - 1);
}

bool afgw_rep_is_emergency(struct afgw_str canon)
{
	static const char *const emergency[] = { "110", "119", "120", "122", "12110", "96110",
						 "12381" };
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(emergency); i++)
		if (afgw_str_eq(canon, emergency[i]))
			return true;
	return false;
}

/*
 * Reputation decays by half-lives: a police entry with a 30-day half-life
 * that scored 90 when it was made scores 45 a month later.  Reports count
 * each * distinct reporters, capped, halving every report_halflife_days
 * since the latest report: a burst of reports raises a number quickly, and
 * it sinks back if nobody reports it again.
 */
static int decayed(int score, int64_t age_s, unsigned halflife_days)
{
	if (halflife_days == 0 || age_s <= 0)
		return score;
	double f = exp2(-(double)age_s / ((double)halflife_days * 86400.0));
	return (int)lround(score * f);
}

void afgw_rep_evaluate(const struct afgw_rep_entry *e, int64_t now,
		       const struct afgw_config_score *sc, struct afgw_rep_result *out)
{
	memset(out, 0, sizeof(*out));
	out->source = e->source;
	memcpy(out->category, e->category, sizeof(out->category));
	if (e->list != AFGW_REP_NONE && now < e->expires) {
		out->list = e->list;
		int s = decayed(e->score, now - e->since, e->halflife_days);
		if (e->list == AFGW_REP_GRAY && s > sc->graylist)
			s = sc->graylist;
		out->score = e->list == AFGW_REP_ALLOW ? 0 : s;
	}
	if (e->reports) {
		int64_t raw = (int64_t)sc->report_each * e->reports;
		int capped = raw > sc->report_cap ? sc->report_cap : (int)raw;
		out->reports = e->reports;
		out->report_score = decayed(capped, now - e->reported_at, sc->report_halflife_days);
	}
}

/* ---- the replica table ------------------------------------------------- */

/*
 * A slot: 28 bytes, 4-byte aligned, so 10 million numbers at a load of
 * 0.6 (2^24 slots) fit in 470 MB.  Times are Unix seconds in 32 bits (until 2106).
 */
struct slot {
	uint32_t key_lo, key_hi;        /* 0/0: empty */
	uint32_t since, expires, reported_at;
	uint16_t reports;
	uint8_t list_source;            /* list | source << 4 */
	uint8_t score;
	uint8_t category;               /* index into the category table */
	uint8_t halflife_days;          /* capped at 255 */
	uint8_t deleted;                /* tombstone: keeps probe chains intact */
	uint8_t pad;
};

struct table {
	struct slot *slots;
	size_t cap;                     /* power of two */
	size_t used;                    /* live entries */
	size_t filled;                  /* live + tombstones */
};

#define CATEGORIES_MAX 255

struct change {
	uint64_t key;
	bool del;
	struct afgw_rep_entry e;
	char num[AFGW_REP_NUMBER_MAX + 1];  /* the canonical number, for look-back */
};

struct afgw_rep {
	struct afgw_config_score score;
	size_t max_entries;

	/* Owner thread. */
	struct table t;
	uint64_t *allow;                /* configured allow list keys, open addressing */
	size_t allow_cap;
	char categories[CATEGORIES_MAX + 1][AFGW_REP_CATEGORY_MAX + 1]; /* [0] = "other" */
	unsigned n_categories;
	_Atomic uint64_t c[AFGW_REP_C_COUNT];

	/* Shared with the sync thread, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool pending;            /* changes or a new table are waiting */
	struct afgw_rep_blacklisted *newly;  /* owner: numbers newly blacklisted by the feed */
	size_t n_newly;
	struct change *changes;
	size_t n_changes, cap_changes;
	struct table *new_table;        /* a finished full load */
	struct table retired;           /* the owner's old table, for the sync thread to free */
	bool loaded;                    /* first full load handed over */
	bool unreachable;               /* first connection attempt failed */
	bool stop;

	/* Sync thread. */
	bool has_thread;
	pthread_t thread;
	struct afgw_config_redis rc;
	redisContext *ctx;
	char last_id[64];               /* last feed entry seen */
};

static uint64_t key_of(struct afgw_str canon)
{
	const char *p = canon.p;
	size_t n = canon.len;
	bool plus = n > 0 && p[0] == '+';
	if (plus) {
		p++;
		n--;
	}
	if (n >= 1 && n <= 15) {
		uint64_t v = 0;
		size_t i;
		for (i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			v = v * 10 + (uint64_t)(p[i] - '0');
		if (i == n) /* exact: bit 63 clear, '+' at 62, length at 58..61, value below 2^50 */
			return (uint64_t)plus << 62 | (uint64_t)n << 58 | v;
	}
	/* FNV-1a 64 with the top bit set: never 0, never equal to an exact key */
	return afgw_fleet_hash(AFGW_FLEET_HASH_INIT, canon.p, canon.len) | 1ull << 63;
}

static size_t slot_hash(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key;
}

static uint64_t slot_key(const struct slot *s)
{
	return (uint64_t)s->key_hi << 32 | s->key_lo;
}

/*
 * Tables past a few megabytes come straight from mmap, asking for
 * transparent huge pages: a lookup in a table of ten million numbers is
 * one random access into hundreds of megabytes, and with 4 KiB pages the
 * TLB miss costs as much as the cache miss.
 */
#define BIG_TABLE (4u << 20)

static int table_init(struct table *t, size_t entries)
{
	size_t cap = 1024;
	while (cap * 3 < entries * 4) /* load at most 0.75 */
		cap <<= 1;
	size_t bytes = cap * sizeof(*t->slots);
	if (bytes >= BIG_TABLE) {
		void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
		madvise(p, bytes, MADV_HUGEPAGE);
		t->slots = p;
	} else {
		t->slots = calloc(cap, sizeof(*t->slots));
		if (!t->slots)
			return -ENOMEM;
	}
	t->cap = cap;
	t->used = t->filled = 0;
	return 0;
}

static void table_fini(struct table *t)
{
	if (t->slots && t->cap * sizeof(*t->slots) >= BIG_TABLE)
		munmap(t->slots, t->cap * sizeof(*t->slots));
	else
		free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* The slot holding key (live or tombstone), or NULL. */
static struct slot *table_find(const struct table *t, uint64_t key)
{
	if (!t->cap)
		return NULL;
	size_t mask = t->cap - 1;
	for (size_t i = slot_hash(key) & mask;; i = (i + 1) & mask) {
		struct slot *s = &t->slots[i];
		if (!s->key_lo && !s->key_hi)
			return NULL;
		if (slot_key(s) == key)
			return s;
	}
}

/* The slot for key, claiming an empty one if needed; NULL when the load
 * would pass 0.8 (the caller grows the table). */
static struct slot *table_claim(struct table *t, uint64_t key)
{
	struct slot *s = table_find(t, key);
	if (s)
		return s;
	if ((t->filled + 1) * 20 > t->cap * 17) /* 0.85: linear probing stays short */
		return NULL;
	size_t mask = t->cap - 1;
	for (size_t i = slot_hash(key) & mask;; i = (i + 1) & mask) {
		s = &t->slots[i];
		if (!s->key_lo && !s->key_hi) {
			s->key_lo = (uint32_t)key;
			s->key_hi = (uint32_t)(key >> 32);
			s->deleted = 1;
			t->filled++;
			return s;
		}
	}
}

static int table_grow(struct table *t)
{
	struct table n;
	if (table_init(&n, t->used + t->used / 2 + 1024) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		const struct slot *s = &t->slots[i];
		if ((!s->key_lo && !s->key_hi) || s->deleted)
			continue;
		struct slot *d = table_claim(&n, slot_key(s));
		*d = *s;
		n.used++;
	}
	table_fini(t);
	*t = n;
	return 0;
}

static uint32_t clamp_u32(int64_t v)
{
	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Category index for name (owner's table, or a table being built by the
 * sync thread: both go through the replica's list under mu). */
static uint8_t category_index(struct afgw_rep *r, const char *name)
{
	for (unsigned i = 1; i <= r->n_categories; i++)
		if (!strcmp(r->categories[i], name))
			return (uint8_t)i;
	if (r->n_categories == CATEGORIES_MAX)
		return 0;
	r->n_categories++;
	memcpy(r->categories[r->n_categories], name, strlen(name) + 1);
	return (uint8_t)r->n_categories;
}

static void slot_fill(struct afgw_rep *r, struct slot *s, const struct afgw_rep_entry *e)
{
	s->since = clamp_u32(e->since);
	s->expires = clamp_u32(e->expires);
	s->reported_at = clamp_u32(e->reported_at);
	s->reports = e->reports > UINT16_MAX ? UINT16_MAX : (uint16_t)e->reports;
	s->list_source = (uint8_t)(e->list | e->source << 4);
	s->score = (uint8_t)e->score;
	s->category = category_index(r, e->category);
	s->halflife_days = e->halflife_days > 255 ? 255 : (uint8_t)e->halflife_days;
	s->deleted = 0;
}

static void slot_entry(const struct afgw_rep *r, const struct slot *s, struct afgw_rep_entry *e)
{
	e->list = (enum afgw_rep_list)(s->list_source & 15);
	e->source = (enum afgw_rep_source)(s->list_source >> 4);
	e->score = s->score;
	memcpy(e->category, r->categories[s->category], sizeof(e->category));
	e->since = s->since;
	e->expires = s->expires;
	e->reported_at = s->reported_at;
	e->reports = s->reports;
	e->halflife_days = s->halflife_days;
}

/* Insert or replace key in t (mu held when t is not the owner's table).
 * Returns 0, or -ENOSPC when max_entries is reached. */
static int table_put(struct afgw_rep *r, struct table *t, uint64_t key,
		     const struct afgw_rep_entry *e)
{
	struct slot *s = table_find(t, key);
	bool fresh = !s || s->deleted;
	if (fresh && t->used >= r->max_entries)
		return -ENOSPC;
	if (!s) {
		s = table_claim(t, key);
		if (!s) {
			if (table_grow(t) != 0)
				return -ENOMEM;
			s = table_claim(t, key);
		}
	}
	slot_fill(r, s, e);
	if (fresh)
		t->used++;
	return 0;
}

static void table_del(struct table *t, uint64_t key)
{
	struct slot *s = table_find(t, key);
	if (s && !s->deleted) {
		s->deleted = 1;
		t->used--;
	}
}

/* ---- allow list -------------------------------------------------------- */

static bool allow_has(const struct afgw_rep *r, uint64_t key)
{
	if (!r->allow_cap)
		return false;
	size_t mask = r->allow_cap - 1;
	for (size_t i = slot_hash(key) & mask; r->allow[i]; i = (i + 1) & mask)
		if (r->allow[i] == key)
			return true;
	return false;
}

static int allow_build(struct afgw_rep *r, char *const *nums, size_t n)
{
	if (!n)
		return 0;
	size_t cap = 16;
	while (cap < n * 2)
		cap <<= 1;
	r->allow = calloc(cap, sizeof(*r->allow));
	if (!r->allow)
		return -ENOMEM;
	r->allow_cap = cap;
	for (size_t k = 0; k < n; k++) {
		uint64_t key = key_of(afgw_str_make(nums[k], strlen(nums[k])));
		size_t i = slot_hash(key) & (cap - 1);
		while (r->allow[i] && r->allow[i] != key)
			i = (i + 1) & (cap - 1);
		r->allow[i] = key;
	}
	return 0;
}

/* ---- the sync thread ---------------------------------------------------- */

static void queue_change(struct afgw_rep *r, uint64_t key, const struct afgw_rep_entry *e,
			 struct afgw_str num)
{
	pthread_mutex_lock(&r->mu);
	if (r->n_changes == r->cap_changes) {
		size_t cap = r->cap_changes ? r->cap_changes * 2 : 256;
		struct change *c = realloc(r->changes, cap * sizeof(*c));
		if (!c) {
			pthread_mutex_unlock(&r->mu);
			atomic_fetch_add(&r->c[AFGW_REP_C_BAD_RECORDS], 1);
			return;
		}
		r->changes = c;
		r->cap_changes = cap;
	}
	struct change *c = &r->changes[r->n_changes++];
	c->key = key;
	c->del = e == NULL;
	if (e)
		c->e = *e;
	size_t nl = num.len <= AFGW_REP_NUMBER_MAX ? num.len : 0;
	memcpy(c->num, num.p, nl);
	c->num[nl] = '\0';
	atomic_store(&r->pending, true);
	pthread_mutex_unlock(&r->mu);
}

/* The id of the newest feed entry, "0-0" for none.  Returns 0 or -EIO. */
static int feed_last_id(struct afgw_rep *r, char *id, size_t idlen)
{
	redisReply *rep = redisCommand(r->ctx, "XREVRANGE %s + - COUNT 1", FEED_KEY);
	int rc = -EIO;
	if (!afgw_redis_reply_is(rep, REDIS_REPLY_ARRAY))
		goto out;
	snprintf(id, idlen, "0-0");
	if (rep->elements == 1 && rep->element[0]->type == REDIS_REPLY_ARRAY &&
	    rep->element[0]->elements == 2 && rep->element[0]->element[0]->type == REDIS_REPLY_STRING)
		snprintf(id, idlen, "%s", rep->element[0]->element[0]->str);
	rc = 0;
out:
	freeReplyObject(rep);
	return rc;
}

/* Does the feed still hold everything after id?  (Its first entry is at or
 * before the entry after id.)  Returns 1 yes, 0 no (trimmed), -EIO. */
static int feed_covers(struct afgw_rep *r, const char *id)
{
	redisReply *rep = redisCommand(r->ctx, "XRANGE %s - + COUNT 1", FEED_KEY);
	int rc = -EIO;
	if (!afgw_redis_reply_is(rep, REDIS_REPLY_ARRAY))
		goto out;
	rc = 1;
	if (rep->elements == 1 && rep->element[0]->type == REDIS_REPLY_ARRAY &&
	    rep->element[0]->element[0]->type == REDIS_REPLY_STRING) {
		unsigned long long a_ms, a_seq, b_ms, b_seq;
		if (sscanf(rep->element[0]->element[0]->str, "%llu-%llu", &a_ms, &a_seq) == 2 &&
		    sscanf(id, "%llu-%llu", &b_ms, &b_seq) == 2) {
			/* the first entry kept must not be later than the one after id */
			if (a_ms > b_ms || (a_ms == b_ms && a_seq > b_seq + 1))
				rc = 0;
		}
	}
out:
	freeReplyObject(rep);
	return rc;
}

/*
 * Full load into a new table: AFGW_REP_BUCKETS HGETALLs, LOAD_BATCH in
 * flight at a time.  Expired list entries without reports are skipped.
 * Returns 0 (the table is queued for the owner) or -EIO / -ENOMEM.
 */
static int full_load(struct afgw_rep *r)
{
	uint64_t t0 = afgw_mono_ms();

	/* size the table once: the sum of the buckets' lengths */
	size_t total = 0;
	for (unsigned b = 0; b < AFGW_REP_BUCKETS; b += LOAD_BATCH) {
		for (unsigned k = b; k < b + LOAD_BATCH; k++)
			redisAppendCommand(r->ctx, "HLEN " BUCKET_FMT, k);
		for (unsigned k = b; k < b + LOAD_BATCH; k++) {
			redisReply *rep;
			if (redisGetReply(r->ctx, (void **)&rep) != REDIS_OK)
				return -EIO;
			if (rep->type == REDIS_REPLY_INTEGER && rep->integer > 0)
				total += (size_t)rep->integer;
			freeReplyObject(rep);
		}
	}
	if (total > r->max_entries)
		total = r->max_entries;
	struct table *t = calloc(1, sizeof(*t));
	if (!t || table_init(t, total + 1024) != 0) {
		free(t);
		return -ENOMEM;
	}
	int64_t now = time(NULL);
	int rc = 0;
	for (unsigned b = 0; b < AFGW_REP_BUCKETS && rc == 0; b += LOAD_BATCH) {
		for (unsigned k = b; k < b + LOAD_BATCH; k++)
			redisAppendCommand(r->ctx, "HGETALL " BUCKET_FMT, k);
		for (unsigned k = b; k < b + LOAD_BATCH; k++) {
			redisReply *rep;
			if (redisGetReply(r->ctx, (void **)&rep) != REDIS_OK) {
				rc = -EIO; /* the context is dead; stop reading */
				break;
			}
			if (rc == 0 && !afgw_redis_reply_is(rep, REDIS_REPLY_ARRAY))
				rc = -EIO;
			for (size_t i = 0; rc == 0 && i + 1 < rep->elements; i += 2) {
				redisReply *f = rep->element[i], *v = rep->element[i + 1];
				struct afgw_rep_entry e;
				if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
				    afgw_rep_record_parse(v->str, v->len, &e) != 0) {
					atomic_fetch_add(&r->c[AFGW_REP_C_BAD_RECORDS], 1);
					continue;
				}
				if ((e.list == AFGW_REP_NONE || e.expires <= now) && e.reports == 0)
					continue;
				pthread_mutex_lock(&r->mu); /* categories are shared */
				int prc = table_put(r, t, key_of(afgw_str_make(f->str, f->len)), &e);
				pthread_mutex_unlock(&r->mu);
				if (prc == -ENOSPC)
					atomic_fetch_add(&r->c[AFGW_REP_C_FULL], 1);
				else if (prc < 0)
					rc = prc;
			}
			freeReplyObject(rep);
		}
	}
	if (rc != 0) {
		table_fini(t);
		free(t);
		return rc;
	}
	uint64_t ms = afgw_mono_ms() - t0;
	size_t used = t->used; /* t belongs to the owner once handed over */
	pthread_mutex_lock(&r->mu);
	if (r->new_table) { /* never picked up: replace it */
		table_fini(r->new_table);
		free(r->new_table);
	}
	r->new_table = t;
	r->n_changes = 0; /* superseded by the table */
	/* counted before waking the waiters, who may read the counters at once */
	atomic_fetch_add(&r->c[AFGW_REP_C_LOADS], 1);
	atomic_store(&r->c[AFGW_REP_C_LOAD_MS], ms);
	atomic_store(&r->pending, true);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	afgw_log(AFGW_LOG_INFO, "reputation: loaded %zu numbers from Redis in %llu ms", used,
		 (unsigned long long)ms);
	return 0;
}

/* Apply one feed entry (fields n/r, or op=reload).  Returns 1 when a
 * reload is asked for, else 0. */
static int feed_entry(struct afgw_rep *r, const redisReply *fields)
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
	if (!num || !rec || num->len == 0 || num->len > 64) {
		atomic_fetch_add(&r->c[AFGW_REP_C_BAD_RECORDS], 1);
		return 0;
	}
	uint64_t key = key_of(afgw_str_make(num->str, num->len));
	struct afgw_rep_entry e;
	if (rec->len == 0) {
		queue_change(r, key, NULL, afgw_str_make(num->str, num->len));
	} else if (afgw_rep_record_parse(rec->str, rec->len, &e) == 0) {
		queue_change(r, key, &e, afgw_str_make(num->str, num->len));
	} else {
		atomic_fetch_add(&r->c[AFGW_REP_C_BAD_RECORDS], 1);
		return 0;
	}
	atomic_fetch_add(&r->c[AFGW_REP_C_CHANGES], 1);
	return 0;
}

/* Read the feed once (blocking up to FEED_BLOCK_MS).  Returns 0, 1 for
 * "reload", -EIO. */
/* The feed has been read to its end now (the replica's lag is measured from here). */
static void synced(struct afgw_rep *r)
{
	atomic_store(&r->c[AFGW_REP_C_SYNCED_MS], afgw_wall_us() / 1000u);
}

static int feed_read(struct afgw_rep *r)
{
	redisReply *rep = redisCommand(r->ctx, "XREAD COUNT %d BLOCK %d STREAMS %s %s", FEED_BATCH,
				       FEED_BLOCK_MS, FEED_KEY, r->last_id);
	if (!rep)
		return -EIO;
	int rc = 0;
	if (rep->type == REDIS_REPLY_NIL) {
		freeReplyObject(rep);
		synced(r);
		return 0;
	}
	if (rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -EIO;
	}
	for (size_t s = 0; s < rep->elements; s++) {
		const redisReply *st = rep->element[s];
		if (st->type != REDIS_REPLY_ARRAY || st->elements != 2 ||
		    st->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		const redisReply *entries = st->element[1];
		for (size_t i = 0; i < entries->elements; i++) {
			const redisReply *en = entries->element[i];
			if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
			    en->element[0]->type != REDIS_REPLY_STRING)
				continue;
			snprintf(r->last_id, sizeof(r->last_id), "%s", en->element[0]->str);
			if (en->element[1]->type == REDIS_REPLY_ARRAY &&
			    feed_entry(r, en->element[1]) == 1)
				rc = 1;
		}
		if (entries->elements < FEED_BATCH)
			synced(r); /* a short batch: nothing more behind it */
	}
	freeReplyObject(rep);
	return rc;
}

static bool should_stop(struct afgw_rep *r)
{
	pthread_mutex_lock(&r->mu);
	bool s = r->stop;
	pthread_mutex_unlock(&r->mu);
	return s;
}

/* Sleep up to ms, waking early on stop. */
static void nap(struct afgw_rep *r, unsigned ms)
{
	struct timespec until;
	afgw_deadline(&until, CLOCK_REALTIME, ms);
	pthread_mutex_lock(&r->mu);
	if (!r->stop)
		pthread_cond_timedwait(&r->cv, &r->mu, &until);
	pthread_mutex_unlock(&r->mu);
}

static void free_retired(struct afgw_rep *r)
{
	pthread_mutex_lock(&r->mu);
	struct table old = r->retired;
	memset(&r->retired, 0, sizeof(r->retired));
	pthread_mutex_unlock(&r->mu);
	table_fini(&old);
}

/*
 * The sync thread: connect, load, follow the feed; on any Redis error
 * drop the connection, count the outage (logged once per outage), and
 * start again after retry_ms.  After a reconnect it continues from the
 * last feed id when the feed still covers it, else reloads fully.
 */
static void *sync_main(void *arg)
{
	struct afgw_rep *r = arg;
	afgw_redis_thread_init();
	bool ever_loaded = false, down_logged = false;
	time_t down_since = 0;
	char err[AFGW_REP_ERR];

	while (!should_stop(r)) {
		free_retired(r);
		if (!r->ctx) {
			r->ctx = afgw_redis_ctx_open(&r->rc, FEED_BLOCK_MS, err, sizeof(err));
			if (!r->ctx) {
				if (!down_logged) {
					afgw_log(AFGW_LOG_WARN,
						 "reputation: %s; serving from the local replica, retrying",
						 err);
					down_logged = true;
					down_since = time(NULL);
					atomic_fetch_add(&r->c[AFGW_REP_C_OUTAGES], 1);
				}
				pthread_mutex_lock(&r->mu);
				if (!ever_loaded) {
					r->unreachable = true;
					pthread_cond_broadcast(&r->cv);
				}
				pthread_mutex_unlock(&r->mu);
				nap(r, r->rc.retry_ms);
				continue;
			}
			if (down_logged) {
				afgw_log(AFGW_LOG_INFO, "reputation: Redis at %s is back after %lld s",
					 r->rc.url, (long long)(time(NULL) - down_since));
				down_logged = false;
			}
			atomic_store(&r->c[AFGW_REP_C_REDIS_UP], 1);
			int rc = 0;
			if (!ever_loaded || feed_covers(r, r->last_id) != 1) {
				rc = feed_last_id(r, r->last_id, sizeof(r->last_id));
				if (rc == 0)
					rc = full_load(r);
				if (rc == 0)
					ever_loaded = true;
			}
			if (rc != 0)
				goto drop;
		}
		int rc = feed_read(r);
		if (rc == 1) {
			char id[64];
			memcpy(id, r->last_id, sizeof(id));
			rc = full_load(r);
			memcpy(r->last_id, id, sizeof(id));
		}
		if (rc == 0)
			continue;
drop:
		if (!down_logged) {
			afgw_log(AFGW_LOG_WARN,
				 "reputation: lost Redis at %s (%s); serving from the local replica, "
				 "retrying",
				 r->rc.url, r->ctx && r->ctx->err ? r->ctx->errstr : "bad reply");
			down_logged = true;
			down_since = time(NULL);
			atomic_fetch_add(&r->c[AFGW_REP_C_OUTAGES], 1);
		}
		atomic_store(&r->c[AFGW_REP_C_REDIS_UP], 0);
		redisFree(r->ctx);
		r->ctx = NULL;
		nap(r, r->rc.retry_ms);
	}
	if (r->ctx)
		redisFree(r->ctx);
	r->ctx = NULL;
	return NULL;
}

/* ---- the owner's side ---------------------------------------------------- */

static char *dup_str(const char *s)
{
	return s ? strdup(s) : NULL;
}

int afgw_rep_open(const struct afgw_config *cfg, struct afgw_rep **out, char *err, size_t errlen)
{
	struct afgw_rep *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->score = cfg->score;
	r->max_entries = cfg->memcap.replica_numbers;
	memcpy(r->categories[0], "other", 6);
	snprintf(r->last_id, sizeof(r->last_id), "0-0");
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->newly = calloc(AFGW_REP_NEWLY_MAX, sizeof(*r->newly));
	if (!r->newly || table_init(&r->t, 1024) != 0 ||
	    allow_build(r, cfg->allow_numbers, cfg->n_allow) != 0)
		goto nomem;
	r->rc = cfg->redis;
	r->rc.url = dup_str(cfg->redis.url);
	r->rc.password = dup_str(cfg->redis.password);
	if ((cfg->redis.url && !r->rc.url) || (cfg->redis.password && !r->rc.password))
		goto nomem;
	if (r->rc.url) {
		char host[256];
		bool is_unix;
		int port;
		if (afgw_redis_url_parse(r->rc.url, &is_unix, host, sizeof(host), &port) != 0) {
			snprintf(err, errlen, "bad Redis URL '%s' (unix:///path, tcp://host:port)",
				 r->rc.url);
			afgw_rep_close(r);
			return -EINVAL;
		}
		if (pthread_create(&r->thread, NULL, sync_main, r) != 0)
			goto nomem;
		r->has_thread = true;
	} else {
		r->loaded = true;
	}
	*out = r;
	return 0;
nomem:
	afgw_rep_close(r);
	return -ENOMEM;
}

void afgw_rep_close(struct afgw_rep *r)
{
	if (!r)
		return;
	if (r->has_thread) {
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
	}
	if (r->new_table) {
		table_fini(r->new_table);
		free(r->new_table);
	}
	table_fini(&r->retired);
	table_fini(&r->t);
	free(r->changes);
	free(r->newly);
	free(r->allow);
	free(r->rc.url);
	free(r->rc.password);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/*
 * A feed change that makes a number black, or black since a new time, is
 * a new blacklisting: look-back (notify.h) warns whom it contacted.  A full
 * load (a bulk import) is not: it would warn for every number of the list.
 * Kept until afgw_rep_take_blacklisted; beyond AFGW_REP_NEWLY_MAX waiting,
 * counted and dropped.
 */
static void note_blacklisted(struct afgw_rep *r, const struct change *c)
{
	const struct slot *old = table_find(&r->t, c->key);
	if (old && !old->deleted && (old->list_source & 15) == AFGW_REP_BLACK &&
	    old->since == (uint32_t)c->e.since)
		return;  /* the same blacklisting, changed otherwise */
	if (r->n_newly == AFGW_REP_NEWLY_MAX) {
		atomic_fetch_add(&r->c[AFGW_REP_C_NEWLY_DROPPED], 1);
		return;
	}
	struct afgw_rep_blacklisted *b = &r->newly[r->n_newly++];
	memcpy(b->number, c->num, sizeof(b->number));
	memcpy(b->category, c->e.category, sizeof(b->category));
	b->since = c->e.since;
	b->score = c->e.score;
}

static bool number_ok(struct afgw_str canon);

int afgw_rep_inject(struct afgw_rep *r, struct afgw_str canon, const struct afgw_rep_entry *e)
{
	if (!number_ok(canon) || canon.len > AFGW_REP_NUMBER_MAX)
		return -EINVAL;
	queue_change(r, key_of(canon), e, canon);
	return 0;
}

size_t afgw_rep_take_blacklisted(struct afgw_rep *r, struct afgw_rep_blacklisted *out, size_t max)
{
	size_t k = r->n_newly < max ? r->n_newly : max;
	memcpy(out, r->newly, k * sizeof(*out));
	memmove(r->newly, r->newly + k, (r->n_newly - k) * sizeof(*out));
	r->n_newly -= k;
	return k;
}

void afgw_rep_poll(struct afgw_rep *r)
{
	if (!atomic_load_explicit(&r->pending, memory_order_acquire))
		return;
	pthread_mutex_lock(&r->mu);
	if (r->new_table) {
		if (!r->retired.slots) {
			r->retired = r->t;
		} else { /* the sync thread has not freed the last one yet */
			table_fini(&r->t);
		}
		r->t = *r->new_table;
		free(r->new_table);
		r->new_table = NULL;
		r->loaded = true;
	}
	for (size_t i = 0; i < r->n_changes; i++) {
		const struct change *c = &r->changes[i];
		if (!c->del && c->e.list == AFGW_REP_BLACK && c->num[0])
			note_blacklisted(r, c);
		if (c->del) {
			table_del(&r->t, c->key);
		} else if (table_put(r, &r->t, c->key, &c->e) == -ENOSPC) {
			atomic_fetch_add(&r->c[AFGW_REP_C_FULL], 1);
		}
	}
	r->n_changes = 0;
	atomic_store(&r->c[AFGW_REP_C_ENTRIES], r->t.used);
	atomic_store_explicit(&r->pending, false, memory_order_release);
	pthread_mutex_unlock(&r->mu);
}

int afgw_rep_wait_loaded(struct afgw_rep *r, unsigned timeout_ms)
{
	struct timespec until;
	afgw_deadline(&until, CLOCK_REALTIME, timeout_ms);
	int rc = 0;
	pthread_mutex_lock(&r->mu);
	while (!r->loaded && !r->new_table && !r->unreachable && rc == 0)
		rc = pthread_cond_timedwait(&r->cv, &r->mu, &until);
	bool ready = r->loaded || r->new_table;
	bool unreachable = r->unreachable;
	pthread_mutex_unlock(&r->mu);
	afgw_rep_poll(r);
	if (ready)
		return 0;
	return unreachable ? -ENOTCONN : -ETIMEDOUT;
}

bool afgw_rep_lookup(struct afgw_rep *r, struct afgw_str canon, int64_t now,
		     struct afgw_rep_result *out)
{
	memset(out, 0, sizeof(*out));
	if (canon.len == 0)
		return false;
	atomic_fetch_add_explicit(&r->c[AFGW_REP_C_LOOKUPS], 1, memory_order_relaxed);
	uint64_t key = key_of(canon);
	bool known = false;
	const struct slot *s = table_find(&r->t, key);
	if (s && !s->deleted) {
		struct afgw_rep_entry e;
		slot_entry(r, s, &e);
		afgw_rep_evaluate(&e, now, &r->score, out);
		known = true;
	}
	if (afgw_rep_is_emergency(canon)) {
		out->emergency = true;
		known = true;
	}
	if (allow_has(r, key)) {
		out->allow_config = true;
		known = true;
	}
	if (known)
		atomic_fetch_add_explicit(&r->c[AFGW_REP_C_HITS], 1, memory_order_relaxed);
	return known;
}

void afgw_rep_counters(const struct afgw_rep *r, uint64_t out[AFGW_REP_C_COUNT])
{
	for (int i = 0; i < AFGW_REP_C_COUNT; i++)
		out[i] = atomic_load_explicit(&((struct afgw_rep *)r)->c[i], memory_order_relaxed);
}

const char *afgw_rep_counter_name(enum afgw_rep_counter c)
{
	static const char *const names[AFGW_REP_C_COUNT] = {
		"reputation_entries",      "reputation_lookups",     "reputation_hits",
		"reputation_loads",        "reputation_load_ms",     "reputation_changes",
		"reputation_bad_records",  "reputation_full",        "reputation_redis_outages",
		"reputation_redis_up",     "reputation_newly_dropped", "reputation_synced_unix_ms",
	};
	return (unsigned)c < AFGW_REP_C_COUNT ? names[c] : "?";
}

/* ---- writes ---------------------------------------------------------- */

/*
 * The scripts keep a record and its feed entry together.  KEYS[1] bucket,
 * KEYS[2] feed; ARGV[1] number.  A bucket's TTL only ever grows, to the
 * latest expiry of anything in it.
 */
static const char put_script[] =
	"local old = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"local rep = '0;0'\n"
	"if old then\n"
	"  local n, t = string.match(old, ';(%d+);(%d+)$')\n"
	"  if n then rep = n .. ';' .. t end\n"
	"end\n"
	"local rec = 'v1;' .. ARGV[2] .. ';' .. rep\n"
	"redis.call('HSET', KEYS[1], ARGV[1], rec)\n"
	"local ttl = tonumber(ARGV[3])\n"
	"if redis.call('TTL', KEYS[1]) < ttl then redis.call('EXPIRE', KEYS[1], ttl) end\n"
	"redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'n', ARGV[1], 'r', rec)\n"
	"redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
	"return rec\n";

/* Removes the list part; a number that still has reports keeps a
 * "none" record carrying them.  ARGV[2] feed max, ARGV[3] feed TTL. */
static const char del_script[] =
	"local old = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if not old then return 0 end\n"
	"local list, cat, n, t = string.match(old, '^v1;(%a+);%d+;([^;]+);[^;]+;%d+;%d+;%d+;(%d+);(%d+)$')\n"
	"if not list then list, cat, n, t = 'black', 'other', '0', '0' end\n"
	"if list == 'none' then return 0 end\n"
	"local rec = ''\n"
	"if tonumber(n) > 0 then\n"
	"  rec = 'v1;none;0;' .. cat .. ';reports;' .. t .. ';' .. t .. ';0;' .. n .. ';' .. t\n"
	"  redis.call('HSET', KEYS[1], ARGV[1], rec)\n"
	"else\n"
	"  redis.call('HDEL', KEYS[1], ARGV[1])\n"
	"end\n"
	"redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'n', ARGV[1], 'r', rec)\n"
	"redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
	"return 1\n";

/* KEYS[3] the reports hash.  ARGV: number, reporter, now, category,
 * window seconds, feed max, feed TTL. */
static const char report_script[] =
	"local now = tonumber(ARGV[3])\n"
	"local window = tonumber(ARGV[5])\n"
	"redis.call('HSET', KEYS[3], ARGV[2], ARGV[3] .. ';' .. ARGV[4])\n"
	"if redis.call('TTL', KEYS[3]) < window then redis.call('EXPIRE', KEYS[3], window) end\n"
	"local all = redis.call('HGETALL', KEYS[3])\n"
	"local n = 0\n"
	"for i = 1, #all, 2 do\n"
	"  local t = tonumber(string.match(all[i + 1], '^(%d+);'))\n"
	"  if t and t > now - window then n = n + 1 else redis.call('HDEL', KEYS[3], all[i]) end\n"
	"end\n"
	"local old = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"local head = nil\n"
	"if old then\n"
	"  head = string.match(old, '^v1;(.*);%d+;%d+$')\n"
	"  if head and string.sub(head, 1, 5) == 'none;' then head = nil end\n"
	"end\n"
	"if not head then\n"
	"  head = 'none;0;' .. ARGV[4] .. ';reports;' .. now .. ';' .. (now + window) .. ';0'\n"
	"end\n"
	"local rec = 'v1;' .. head .. ';' .. n .. ';' .. now\n"
	"redis.call('HSET', KEYS[1], ARGV[1], rec)\n"
	"if redis.call('TTL', KEYS[1]) < window then redis.call('EXPIRE', KEYS[1], window) end\n"
	"redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'n', ARGV[1], 'r', rec)\n"
	"redis.call('EXPIRE', KEYS[2], ARGV[7])\n"
	"return n\n";

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

static bool number_ok(struct afgw_str canon)
{
	if (canon.len == 0 || canon.len > 48)
		return false;
	for (size_t i = 0; i < canon.len; i++)
		if ((unsigned char)canon.p[i] <= ' ' || canon.p[i] == ';' || canon.p[i] == 0x7f)
			return false;
	return true;
}

/* Check canon and e; then "LIST;SCORE;CAT;SRC;SINCE;EXPIRES;HL" and the
 * bucket TTL it needs.  Returns 0 or -EINVAL with err set. */
static int list_part(struct afgw_str canon, const struct afgw_rep_entry *e, char *buf, size_t len,
		     long long *ttl, char *err, size_t errlen)
{
	if (!number_ok(canon)) {
		snprintf(err, errlen, "bad number");
		return -EINVAL;
	}
	if (e->list == AFGW_REP_NONE || e->score < 0 || e->score > 100 ||
	    !afgw_rep_category_ok(e->category) || e->expires <= e->since) {
		snprintf(err, errlen, "bad entry (list, score 0..100, category, expiry after start)");
		return -EINVAL;
	}
	char src[32];
	snprintf(buf, len, "%s;%d;%s;%s;%" PRId64 ";%" PRId64 ";%u", afgw_rep_list_name(e->list),
		 e->score, e->category, source_text(e, src), e->since, e->expires,
		 e->halflife_days);
	int64_t now = time(NULL);
	long long t = (long long)(e->expires - now);
	*ttl = t < 60 ? 60 : t > MAX_TTL_S ? MAX_TTL_S : t;
	return 0;
}

int afgw_rep_put(struct afgw_redis *c, struct afgw_str canon, const struct afgw_rep_entry *e,
		 char *err, size_t errlen)
{
	char part[AFGW_REP_RECORD_MAX], bucket[32];
	long long ttl;
	int rc = list_part(canon, e, part, sizeof(part), &ttl, err, errlen);
	if (rc)
		return rc;
	snprintf(bucket, sizeof(bucket), BUCKET_FMT, afgw_rep_bucket(canon));
	redisReply *rep = redisCommand(c->ctx, "EVAL %s 2 %s %s %b %s %lld %d %d", put_script,
				       bucket, FEED_KEY, canon.p, canon.len, part, ttl,
				       AFGW_REP_FEED_MAX, FEED_TTL_S);
	rc = reply_error(c->ctx, rep, "put", err, errlen);
	if (rc)
		return rc;
	freeReplyObject(rep);
	return 0;
}

int afgw_rep_del(struct afgw_redis *c, struct afgw_str canon, char *err, size_t errlen)
{
	char bucket[32];
	if (!number_ok(canon)) {
		snprintf(err, errlen, "bad number");
		return -EINVAL;
	}
	snprintf(bucket, sizeof(bucket), BUCKET_FMT, afgw_rep_bucket(canon));
	redisReply *rep = redisCommand(c->ctx, "EVAL %s 2 %s %s %b %d %d", del_script, bucket,
				       FEED_KEY, canon.p, canon.len, AFGW_REP_FEED_MAX, FEED_TTL_S);
	int rc = reply_error(c->ctx, rep, "del", err, errlen);
	if (rc)
		return rc;
	rc = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1 ? 0 : -ENOENT;
	freeReplyObject(rep);
	if (rc)
		snprintf(err, errlen, "no list entry for this number");
	return rc;
}

int afgw_rep_get(struct afgw_redis *c, struct afgw_str canon, struct afgw_rep_entry *e,
		 char *err, size_t errlen)
{
	redisReply *rep = redisCommand(c->ctx, "HGET " BUCKET_FMT " %b", afgw_rep_bucket(canon),
				       canon.p, canon.len);
	int rc = reply_error(c->ctx, rep, "get", err, errlen);
	if (rc)
		return rc;
	if (rep->type != REDIS_REPLY_STRING) {
		freeReplyObject(rep);
		snprintf(err, errlen, "not in the reputation table");
		return -ENOENT;
	}
	rc = afgw_rep_record_parse(rep->str, rep->len, e);
	if (rc)
		snprintf(err, errlen, "stored record does not parse: '%.*s'", (int)rep->len > 100 ? 100 : (int)rep->len, rep->str);
	freeReplyObject(rep);
	return rc;
}

int afgw_rep_list(struct afgw_redis *c,
		  int (*fn)(void *ud, const char *canon, const struct afgw_rep_entry *e), void *ud,
		  char *err, size_t errlen)
{
	for (unsigned b = 0; b < AFGW_REP_BUCKETS; b += LOAD_BATCH) {
		for (unsigned k = b; k < b + LOAD_BATCH; k++)
			redisAppendCommand(c->ctx, "HGETALL " BUCKET_FMT, k);
		int stop = 0;
		for (unsigned k = b; k < b + LOAD_BATCH; k++) {
			redisReply *rep;
			if (redisGetReply(c->ctx, (void **)&rep) != REDIS_OK) {
				snprintf(err, errlen, "list: Redis: %s", c->ctx->errstr);
				return -EIO;
			}
			for (size_t i = 0; !stop && rep->type == REDIS_REPLY_ARRAY &&
					   i + 1 < rep->elements;
			     i += 2) {
				struct afgw_rep_entry e;
				if (afgw_rep_record_parse(rep->element[i + 1]->str,
							  rep->element[i + 1]->len, &e) == 0)
					stop = fn(ud, rep->element[i]->str, &e);
			}
			freeReplyObject(rep);
		}
		if (stop)
			return 0;
	}
	return 0;
}

int afgw_rep_report(struct afgw_redis *c, struct afgw_str canon, const char *reporter,
		    const char *category, int64_t now, unsigned window_days, unsigned *reports_out,
		    char *err, size_t errlen)
{
	char bucket[32], rkey[96];
	if (!number_ok(canon) || !afgw_rep_reporter_ok(reporter) ||
	    !afgw_rep_category_ok(category) || window_days == 0 || window_days > 3650) {
		snprintf(err, errlen, "bad report (number, reporter id, category or window)");
		return -EINVAL;
	}
	snprintf(bucket, sizeof(bucket), BUCKET_FMT, afgw_rep_bucket(canon));
	snprintf(rkey, sizeof(rkey), REPORTS_FMT, (int)canon.len, canon.p);
	redisReply *rep = redisCommand(c->ctx, "EVAL %s 3 %s %s %s %b %s %lld %s %u %d %d",
				       report_script, bucket, FEED_KEY, rkey, canon.p, canon.len,
				       reporter, (long long)now, category, window_days * 86400u,
				       AFGW_REP_FEED_MAX, FEED_TTL_S);
	int rc = reply_error(c->ctx, rep, "report", err, errlen);
	if (rc)
		return rc;
	if (reports_out)
		*reports_out = rep->type == REDIS_REPLY_INTEGER ? (unsigned)rep->integer : 0;
	freeReplyObject(rep);
	return 0;
}

/* ---- bulk import ----------------------------------------------------- */

#define IMPORT_BATCH 4096

struct afgw_rep_import {
	struct afgw_redis *c;
	unsigned pending;
	uint64_t count;
	long long *ttl;                /* per bucket: the TTL it needs (0: untouched) */
};

int afgw_rep_import_begin(struct afgw_redis *c, struct afgw_rep_import **out)
{
	struct afgw_rep_import *im = calloc(1, sizeof(*im));
	if (!im)
		return -ENOMEM;
	im->ttl = calloc(AFGW_REP_BUCKETS, sizeof(*im->ttl));
	if (!im->ttl) {
		free(im);
		return -ENOMEM;
	}
	im->c = c;
	*out = im;
	return 0;
}

static int import_drain(struct afgw_rep_import *im, char *err, size_t errlen)
{
	int rc = 0;
	for (; im->pending; im->pending--) {
		redisReply *rep;
		if (redisGetReply(im->c->ctx, (void **)&rep) != REDIS_OK) {
			snprintf(err, errlen, "import: Redis: %s", im->c->ctx->errstr);
			im->pending = 0;
			return -EIO;
		}
		if (rep->type == REDIS_REPLY_ERROR && rc == 0) {
			snprintf(err, errlen, "import: Redis: %s", rep->str);
			rc = -EIO;
		}
		freeReplyObject(rep);
	}
	return rc;
}

/*
 * Each entry is one pipelined HSET; the buckets' TTLs are raised once per
 * bucket at the end (EXPIRE ... NX for a bucket without one, then
 * EXPIRE ... GT).  Entries replace whatever record the number had, reports
 * included: an import is a list.
 */
int afgw_rep_import_add(struct afgw_rep_import *im, struct afgw_str canon,
			const struct afgw_rep_entry *e, char *err, size_t errlen)
{
	char part[AFGW_REP_RECORD_MAX];
	long long ttl;
	int rc = list_part(canon, e, part, sizeof(part), &ttl, err, errlen);
	if (rc)
		return rc;
	unsigned b = afgw_rep_bucket(canon);
	redisAppendCommand(im->c->ctx, "HSET " BUCKET_FMT " %b v1;%s;0;0", b, canon.p, canon.len,
			   part);
	if (ttl > im->ttl[b])
		im->ttl[b] = ttl;
	im->pending++;
	im->count++;
	if (im->pending >= IMPORT_BATCH)
		return import_drain(im, err, errlen);
	return 0;
}

int afgw_rep_import_end(struct afgw_rep_import *im, uint64_t *count, char *err, size_t errlen)
{
	int rc = import_drain(im, err, errlen);
	for (unsigned b = 0; b < AFGW_REP_BUCKETS && rc == 0; b++) {
		if (!im->ttl[b])
			continue;
		redisAppendCommand(im->c->ctx, "EXPIRE " BUCKET_FMT " %lld NX", b, im->ttl[b]);
		redisAppendCommand(im->c->ctx, "EXPIRE " BUCKET_FMT " %lld GT", b, im->ttl[b]);
		im->pending += 2;
		if (im->pending >= IMPORT_BATCH)
			rc = import_drain(im, err, errlen);
	}
	if (rc == 0)
		rc = import_drain(im, err, errlen);
	if (rc == 0) {
		redisReply *rep = redisCommand(im->c->ctx, "XADD %s MAXLEN ~ %d * op reload",
					       FEED_KEY, AFGW_REP_FEED_MAX);
		rc = reply_error(im->c->ctx, rep, "import", err, errlen);
		if (rc == 0)
			freeReplyObject(rep);
		rep = redisCommand(im->c->ctx, "EXPIRE %s %d", FEED_KEY, FEED_TTL_S);
		if (rc == 0)
			rc = reply_error(im->c->ctx, rep, "import", err, errlen);
		if (rep && rc == 0)
			freeReplyObject(rep);
	}
	if (count)
		*count = im->count;
	free(im->ttl);
	free(im);
	return rc;
}
