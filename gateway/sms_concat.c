/*
 * sms_concat.c - reassembly of concatenated SMS (23.040 §9.2.3.24.1 / .8,
 * SMPP sar_* TLVs).
 *
 * Input: one part at a time - its key (from, to, reference, 8/16-bit,
 * total), its sequence number and its code units (unpacked septets or
 * bytes, see sms.h).  Output: whole messages, joined in sequence order,
 * for the caller to decode and scan once; or, on timeout, eviction or
 * flush, the parts that did arrive.  A table belongs to one worker.
 *
 * The accounting promise is the one of the whole pipeline: every part
 * accepted comes back in exactly one done message (a duplicate as a
 * count in that message).  Nothing is dropped to make room: the oldest
 * message is evicted instead and handed back through afgw_concat_expire.
 *
 * Memory is per message, not per packet: a message gets one allocation
 * for its header, part table and caller metadata, and one growing buffer
 * for its units.  max_messages and max_bytes bound what is held; the
 * joining buffer grows to the largest message handed back and is kept.
 *
 * Deliberately not done: decoding (sms_text.c), matching of the parts
 * one by one, and any notion of the "same" message across different keys.
 */
#include <errno.h>
#include <stdlib.h>

#include "afgw/sms.h"

#define DEFAULT_MESSAGES   1024u
#define DEFAULT_BYTES      (1u << 20)
#define DEFAULT_TIMEOUT_MS 60000u
#define MAX_MESSAGES_LIMIT (1u << 20)

struct part {
	size_t off, len; /* into msg->buf */
	uint64_t tag;    /* the caller's, for done->tags */
};

struct msg {
	struct msg *hnext;       /* hash chain */
	struct msg *prev, *next; /* age list while live; next: evicted queue */
	uint32_t hash;
	uint16_t ref;
	bool ref16;
	bool mixed;
	uint8_t total;
	uint8_t parts; /* parts held */
	uint8_t from_len, to_len;
	char from[AFGW_CONCAT_KEY_MAX], to[AFGW_CONCAT_KEY_MAX];
	enum afgw_sms_alphabet alphabet;
	unsigned duplicates;
	uint64_t first_ms;
	uint8_t have[32]; /* bit seq-1: part seq held */
	uint8_t *buf;     /* units of the parts held, in arrival order */
	size_t bytes, cap;
	uint8_t *meta;      /* meta_size bytes, after part[total] */
	struct part part[]; /* by seq - 1 */
};

struct afgw_concat {
	struct afgw_concat_limits lim;
	struct msg **buckets;
	unsigned nbuckets;
	struct msg *oldest, *newest;   /* live messages by first part seen */
	struct msg *ev_head, *ev_tail; /* evicted, waiting for afgw_concat_expire */
	unsigned live;                 /* messages on the age list */
	size_t live_bytes;             /* and their units */
	uint8_t *out;                  /* the last done message's joined units */
	size_t out_cap;
	uint8_t *meta_out; /* and its metadata */
	uint64_t tags_out[255]; /* and its parts' tags */
	struct afgw_concat_stats st;
};

static uint32_t key_hash(const struct afgw_concat_key *k)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < k->from.len; i++)
		h = (h ^ (uint8_t)k->from.p[i]) * 16777619u;
	h = (h ^ 0x100u) * 16777619u; /* keeps ("ab","c") apart from ("a","bc") */
	for (size_t i = 0; i < k->to.len; i++)
		h = (h ^ (uint8_t)k->to.p[i]) * 16777619u;
	h = (h ^ k->ref) * 16777619u;
	h = (h ^ (k->ref16 ? 0x10000u : 0) ^ ((uint32_t)k->total << 17)) * 16777619u;
	return h;
}

static bool key_eq(const struct msg *m, uint32_t h, const struct afgw_concat_key *k)
{
	return m->hash == h && m->ref == k->ref && m->ref16 == k->ref16 && m->total == k->total &&
	       m->from_len == k->from.len && m->to_len == k->to.len &&
	       (k->from.len == 0 || memcmp(m->from, k->from.p, k->from.len) == 0) &&
	       (k->to.len == 0 || memcmp(m->to, k->to.p, k->to.len) == 0);
}

static bool has_part(const struct msg *m, uint8_t seq)
{
	return m->have[(seq - 1) >> 3] & (1u << ((seq - 1) & 7));
}

static struct msg *lookup(const struct afgw_concat *c, uint32_t h, const struct afgw_concat_key *k)
{
	for (struct msg *m = c->buckets[h & (c->nbuckets - 1)]; m; m = m->hnext)
		if (key_eq(m, h, k))
			return m;
	return NULL;
}

/* Take a live message off the hash and the age list. */
static void unlink_live(struct afgw_concat *c, struct msg *m)
{
	struct msg **pp = &c->buckets[m->hash & (c->nbuckets - 1)];
	while (*pp != m)
		pp = &(*pp)->hnext;
	*pp = m->hnext;

	if (m->prev)
		m->prev->next = m->next;
	else
		c->oldest = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		c->newest = m->prev;
	m->hnext = m->prev = m->next = NULL;
	c->live--;
	c->live_bytes -= m->bytes;
}

/* Move the oldest live message to the evicted queue.  It stays counted
 * in the stats' held figures until afgw_concat_expire hands it back, but
 * no longer in the limits. */
/* Move a live message to the queue afgw_concat_expire() empties first. */
static void queue_out(struct afgw_concat *c, struct msg *m)
{
	unlink_live(c, m);
	m->next = NULL;
	if (c->ev_tail)
		c->ev_tail->next = m;
	else
		c->ev_head = m;
	c->ev_tail = m;
}

static void evict_oldest(struct afgw_concat *c)
{
	queue_out(c, c->oldest);
	c->st.evicted++;
}

static void msg_free(struct afgw_concat *c, struct msg *m)
{
	c->st.bytes_held -= m->bytes;
	c->st.messages_held--;
	free(m->buf);
	free(m);
}

static int out_reserve(struct afgw_concat *c, size_t need)
{
	if (need <= c->out_cap)
		return 0;
	size_t cap = c->out_cap ? c->out_cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	uint8_t *p = realloc(c->out, cap);
	if (!p)
		return -ENOMEM;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

/*
 * Join the parts of m in sequence order into c->out - with one more part
 * (seq, units, len) that is not stored in m, when seq is not 0 - and fill
 * *done.  m is not freed here.  Returns 0 or -ENOMEM (nothing changed).
 */
static int join(struct afgw_concat *c, const struct msg *m, uint8_t seq, const uint8_t *units,
                size_t len, enum afgw_sms_alphabet a, uint64_t tag, struct afgw_concat_done *done)
{
	if (out_reserve(c, m->bytes + len) < 0)
		return -ENOMEM;

	size_t n = 0;
	unsigned k = 0;
	for (unsigned s = 1; s <= m->total; s++) {
		if (s == seq) {
			if (len)
				memcpy(c->out + n, units, len);
			n += len;
			c->tags_out[k++] = tag;
		} else if (has_part(m, (uint8_t)s)) {
			const struct part *p = &m->part[s - 1];
			if (p->len)
				memcpy(c->out + n, m->buf + p->off, p->len);
			n += p->len;
			c->tags_out[k++] = p->tag;
		}
	}
	if (c->lim.meta_size)
		memcpy(c->meta_out, m->meta, c->lim.meta_size);

	memset(done, 0, sizeof(*done));
	done->units = c->out;
	done->len = n;
	done->alphabet = m->alphabet;
	done->parts = (uint8_t)(m->parts + (seq != 0));
	done->total = m->total;
	done->complete = done->parts == m->total;
	done->mixed_alphabet = m->mixed || (seq != 0 && a != m->alphabet);
	done->duplicates = m->duplicates;
	done->meta = c->lim.meta_size ? c->meta_out : NULL;
	done->tags = c->tags_out;
	return 0;
}

static struct msg *msg_new(struct afgw_concat *c, uint32_t h, const struct afgw_concat_key *k,
                           enum afgw_sms_alphabet a, const void *meta, uint64_t now_ms)
{
	size_t sz = sizeof(struct msg) + (size_t)k->total * sizeof(struct part) + c->lim.meta_size;
	struct msg *m = calloc(1, sz);
	if (!m)
		return NULL;
	m->hash = h;
	m->ref = k->ref;
	m->ref16 = k->ref16;
	m->total = k->total;
	m->from_len = (uint8_t)k->from.len;
	m->to_len = (uint8_t)k->to.len;
	if (k->from.len)
		memcpy(m->from, k->from.p, k->from.len);
	if (k->to.len)
		memcpy(m->to, k->to.p, k->to.len);
	m->alphabet = a;
	m->first_ms = now_ms;
	m->meta = (uint8_t *)&m->part[k->total];
	if (c->lim.meta_size && meta)
		memcpy(m->meta, meta, c->lim.meta_size);

	struct msg **b = &c->buckets[h & (c->nbuckets - 1)];
	m->hnext = *b;
	*b = m;
	m->prev = c->newest;
	if (c->newest)
		c->newest->next = m;
	else
		c->oldest = m;
	c->newest = m;
	c->live++;
	c->st.messages_held++;
	return m;
}

static int store(struct afgw_concat *c, struct msg *m, uint8_t seq, enum afgw_sms_alphabet a,
                 const uint8_t *units, size_t len, uint64_t tag)
{
	if (m->cap - m->bytes < len) {
		size_t cap = m->cap ? m->cap : 64;
		while (cap - m->bytes < len)
			cap = cap > SIZE_MAX / 2 ? m->bytes + len : cap * 2;
		uint8_t *p = realloc(m->buf, cap);
		if (!p)
			return -ENOMEM;
		m->buf = p;
		m->cap = cap;
	}
	if (len)
		memcpy(m->buf + m->bytes, units, len);
	m->part[seq - 1].off = m->bytes;
	m->part[seq - 1].len = len;
	m->part[seq - 1].tag = tag;
	m->have[(seq - 1) >> 3] |= (uint8_t)(1u << ((seq - 1) & 7));
	m->parts++;
	m->bytes += len;
	if (a != m->alphabet)
		m->mixed = true;
	c->st.bytes_held += len;
	c->live_bytes += len;
	return 0;
}

struct afgw_concat *afgw_concat_new(const struct afgw_concat_limits *lim)
{
	struct afgw_concat *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (lim)
		c->lim = *lim;
	if (!c->lim.max_messages)
		c->lim.max_messages = DEFAULT_MESSAGES;
	if (c->lim.max_messages > MAX_MESSAGES_LIMIT)
		c->lim.max_messages = MAX_MESSAGES_LIMIT;
	if (!c->lim.max_bytes)
		c->lim.max_bytes = DEFAULT_BYTES;
	if (!c->lim.timeout_ms)
		c->lim.timeout_ms = DEFAULT_TIMEOUT_MS;

	c->nbuckets = 16;
	while (c->nbuckets < c->lim.max_messages * 2)
		c->nbuckets <<= 1;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets)
		goto fail;
	if (c->lim.meta_size) {
		c->meta_out = calloc(1, c->lim.meta_size);
		if (!c->meta_out)
			goto fail;
	}
	return c;
fail:
	afgw_concat_free(c);
	return NULL;
}

void afgw_concat_free(struct afgw_concat *c)
{
	if (!c)
		return;
	while (c->oldest) {
		struct msg *m = c->oldest;
		unlink_live(c, m);
		msg_free(c, m);
	}
	while (c->ev_head) {
		struct msg *m = c->ev_head;
		c->ev_head = m->next;
		msg_free(c, m);
	}
	free(c->buckets);
	free(c->out);
	free(c->meta_out);
	free(c);
}

/*
 * The order of the checks matters for the accounting:
 *  1. a part that can never belong anywhere is rejected (counted);
 *  2. a duplicate of a held part is counted in its message and dropped -
 *     the first copy wins, so a late "correction" cannot rewrite text
 *     that may already have been judged;
 *  3. the part that completes a message is joined straight from the
 *     caller's buffer, so completion never needs room and never evicts;
 *  4. otherwise room is made - one message slot if the part starts a new
 *     message, then bytes - by evicting the oldest live messages.  That
 *     can be the part's own message: the part then starts a new one, and
 *     both halves still come back.  The limits bound the live messages;
 *     evicted ones wait in a queue for afgw_concat_expire, which the
 *     caller drains after every add.  A part is never refused for room:
 *     len <= max_bytes was checked, so evicting everything live always
 *     makes enough.
 */
int afgw_concat_add(struct afgw_concat *c, const struct afgw_concat_key *key, uint8_t seq,
                    enum afgw_sms_alphabet a, const uint8_t *units, size_t len, const void *meta,
                    uint64_t tag, uint64_t now_ms, struct afgw_concat_done *done)
{
	if (key->total == 0 || seq == 0 || seq > key->total ||
	    key->from.len > AFGW_CONCAT_KEY_MAX || key->to.len > AFGW_CONCAT_KEY_MAX ||
	    (key->from.len && !key->from.p) || (key->to.len && !key->to.p) || (len && !units)) {
		c->st.rejected++;
		return -EINVAL;
	}
	if (len > c->lim.max_bytes) {
		c->st.rejected++;
		return -EMSGSIZE;
	}

	uint32_t h = key_hash(key);
	struct msg *m = lookup(c, h, key);

	if (m && has_part(m, seq)) {
		m->duplicates++;
		c->st.duplicates++;
		c->st.parts++;
		return 0;
	}

	if (m && m->parts + 1 == m->total) {
		if (join(c, m, seq, units, len, a, tag, done) < 0)
			return -ENOMEM;
		unlink_live(c, m);
		msg_free(c, m);
		c->st.parts++;
		c->st.completed++;
		return 1;
	}

	if (!m && key->total == 1) {
		/* A one-part "concatenated" message: complete on arrival. */
		if (out_reserve(c, len) < 0)
			return -ENOMEM;
		if (len)
			memcpy(c->out, units, len);
		if (c->lim.meta_size) {
			if (meta)
				memcpy(c->meta_out, meta, c->lim.meta_size);
			else
				memset(c->meta_out, 0, c->lim.meta_size);
		}
		memset(done, 0, sizeof(*done));
		done->units = c->out;
		done->len = len;
		done->alphabet = a;
		done->parts = done->total = 1;
		done->complete = true;
		done->meta = c->lim.meta_size ? c->meta_out : NULL;
		c->tags_out[0] = tag;
		done->tags = c->tags_out;
		c->st.parts++;
		c->st.completed++;
		return 1;
	}

	if (!m)
		while (c->live >= c->lim.max_messages)
			evict_oldest(c);
	while (c->live_bytes + len > c->lim.max_bytes) {
		if (c->oldest == m)
			m = NULL;
		evict_oldest(c);
	}
	bool fresh = !m;
	if (fresh) {
		m = msg_new(c, h, key, a, meta, now_ms);
		if (!m)
			return -ENOMEM;
	}
	if (store(c, m, seq, a, units, len, tag) < 0) {
		if (fresh) {
			unlink_live(c, m);
			msg_free(c, m);
		}
		return -ENOMEM;
	}
	c->st.parts++;
	return 0;
}

/*
 * Evicted messages come first (they are already out of the table and
 * still hold memory), then the oldest live message if it has timed out -
 * or, with flush, whatever is oldest.  The age list is in order of the
 * first part seen and the timeout is the same for all, so only its head
 * needs looking at: O(1) per message released.  A clock that steps back
 * only delays expiry.
 */
int afgw_concat_expire(struct afgw_concat *c, uint64_t now_ms, bool flush,
                       struct afgw_concat_done *done)
{
	struct msg *m = c->ev_head;
	if (m) {
		if (join(c, m, 0, NULL, 0, m->alphabet, 0, done) < 0)
			return -ENOMEM;
		c->ev_head = m->next;
		if (!c->ev_head)
			c->ev_tail = NULL;
		msg_free(c, m);
		return 1;
	}

	m = c->oldest;
	if (!m)
		return 0;
	bool timed_out = now_ms >= m->first_ms && now_ms - m->first_ms >= c->lim.timeout_ms;
	if (!flush && !timed_out)
		return 0;
	if (join(c, m, 0, NULL, 0, m->alphabet, 0, done) < 0)
		return -ENOMEM;
	unlink_live(c, m);
	msg_free(c, m);
	if (timed_out)
		c->st.timed_out++;
	else
		c->st.flushed++;
	return 1;
}

int afgw_concat_release(struct afgw_concat *c, const struct afgw_concat_key *key)
{
	if (key->from.len > AFGW_CONCAT_KEY_MAX || key->to.len > AFGW_CONCAT_KEY_MAX)
		return 0;
	struct msg *m = lookup(c, key_hash(key), key);
	if (!m)
		return 0;
	queue_out(c, m);
	c->st.released++;
	return 1;
}

void afgw_concat_get_stats(const struct afgw_concat *c, struct afgw_concat_stats *s)
{
	*s = c->st;
}
