/*
 * ipfrag.c - IPv4 / IPv6 fragment reassembly.
 *
 * Each datagram in reassembly owns a slot: a 64 KiB buffer (allocated the
 * first time the slot is used, then kept), the sorted list of byte ranges
 * received, and the total length once the last fragment has arrived.
 * Slots are found through a small chained hash on (addresses, id, proto)
 * and kept on a list in arrival order, so expiry and eviction take the
 * oldest in O(1).
 *
 * Overlap policy, as Linux (net/ipv4/inet_fragment.c) and RFC 5722: a
 * fragment with exactly the offset and length of one already held is a
 * duplicate and is ignored; any other overlap discards the datagram, since
 * overlapping fragments are how IDS evasion works (the receiver and the
 * inspector would see different bytes).  A non-last fragment whose length
 * is not a multiple of 8, or data past 65535 bytes, also discards it.
 */
#include <errno.h>
#include <stdlib.h>

#include "afgw/ipfrag.h"

#define MAX_DGRAM 65535u

struct range {
	uint32_t start, end;
};

struct slot {
	bool used;
	uint8_t family, proto;
	uint8_t src[16], dst[16];
	uint32_t id;
	uint64_t first_us;
	uint32_t total;            /* 0 until the last fragment is seen */
	uint32_t have;             /* bytes received */
	unsigned n_ranges;
	struct range *ranges;      /* max_fragments entries */
	uint8_t *buf;              /* MAX_DGRAM bytes, allocated on first use */
	int hnext;                 /* hash chain */
	int prev, next;            /* age list */
};

struct afgw_ipfrag {
	struct afgw_ipfrag_limits lim;
	struct slot *slots;
	int *buckets;
	unsigned nbuckets;
	int oldest, newest;        /* age list ends, -1 when empty */
	int free_head;             /* free slots chained through next */
	struct afgw_ipfrag_stats st;
};

static unsigned key_hash(const struct afgw_pkt *p, unsigned nbuckets)
{
	uint32_t h = 2166136261u;
	size_t n = p->src.family == 6 ? 16 : 4;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p->src.a[i]) * 16777619u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p->dst.a[i]) * 16777619u;
	h = (h ^ p->frag_id) * 16777619u;
	h = (h ^ p->l4proto) * 16777619u;
	return h & (nbuckets - 1);
}

static bool key_eq(const struct slot *s, const struct afgw_pkt *p)
{
	size_t n = p->src.family == 6 ? 16 : 4;
	return s->family == p->src.family && s->proto == p->l4proto && s->id == p->frag_id &&
	       memcmp(s->src, p->src.a, n) == 0 && memcmp(s->dst, p->dst.a, n) == 0;
}

struct afgw_ipfrag *afgw_ipfrag_new(const struct afgw_ipfrag_limits *lim)
{
	struct afgw_ipfrag *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->lim = *lim;
	if (!f->lim.max_datagrams)
		f->lim.max_datagrams = 256;
	if (!f->lim.max_fragments)
		f->lim.max_fragments = 64;
	if (!f->lim.timeout_us)
		f->lim.timeout_us = 30000000u;
	f->nbuckets = 16;
	while (f->nbuckets < f->lim.max_datagrams * 2)
		f->nbuckets <<= 1;
	f->slots = calloc(f->lim.max_datagrams, sizeof(*f->slots));
	f->buckets = malloc(f->nbuckets * sizeof(*f->buckets));
	if (!f->slots || !f->buckets)
		goto fail;
	for (unsigned i = 0; i < f->nbuckets; i++)
		f->buckets[i] = -1;
	for (unsigned i = 0; i < f->lim.max_datagrams; i++) {
		f->slots[i].ranges = calloc(f->lim.max_fragments, sizeof(struct range));
		if (!f->slots[i].ranges)
			goto fail;
		f->slots[i].next = i + 1 < f->lim.max_datagrams ? (int)i + 1 : -1;
	}
	f->free_head = 0;
	f->oldest = f->newest = -1;
	return f;
fail:
	afgw_ipfrag_free(f);
	return NULL;
}

void afgw_ipfrag_free(struct afgw_ipfrag *f)
{
	if (!f)
		return;
	if (f->slots) {
		for (unsigned i = 0; i < f->lim.max_datagrams; i++) {
			free(f->slots[i].ranges);
			free(f->slots[i].buf);
		}
	}
	free(f->slots);
	free(f->buckets);
	free(f);
}

/* Take slot i off the hash chain and the age list and put it on the free list. */
static void release(struct afgw_ipfrag *f, int i, unsigned bucket)
{
	struct slot *s = &f->slots[i];
	int *pp = &f->buckets[bucket];
	while (*pp != -1 && *pp != i)
		pp = &f->slots[*pp].hnext;
	if (*pp == i)
		*pp = s->hnext;
	if (s->prev != -1)
		f->slots[s->prev].next = s->next;
	else
		f->oldest = s->next;
	if (s->next != -1)
		f->slots[s->next].prev = s->prev;
	else
		f->newest = s->prev;
	s->used = false;
	s->next = f->free_head;
	f->free_head = i;
	f->st.held--;
}

static unsigned slot_bucket(const struct afgw_ipfrag *f, const struct slot *s)
{
	struct afgw_pkt k;
	k.src.family = s->family;
	memcpy(k.src.a, s->src, 16);
	memcpy(k.dst.a, s->dst, 16);
	k.frag_id = s->id;
	k.l4proto = s->proto;
	return key_hash(&k, f->nbuckets);
}

static void drop_oldest(struct afgw_ipfrag *f)
{
	int i = f->oldest;
	release(f, i, slot_bucket(f, &f->slots[i]));
}

void afgw_ipfrag_expire(struct afgw_ipfrag *f, uint64_t now_us)
{
	while (f->oldest != -1 && f->slots[f->oldest].first_us + f->lim.timeout_us < now_us) {
		f->st.timeouts++;
		drop_oldest(f);
	}
}

static int new_slot(struct afgw_ipfrag *f, const struct afgw_pkt *p, unsigned bucket, uint64_t now)
{
	if (f->free_head == -1) {
		f->st.evicted++;
		drop_oldest(f);
	}
	int i = f->free_head;
	struct slot *s = &f->slots[i];
	if (!s->buf) {
		s->buf = malloc(MAX_DGRAM);
		if (!s->buf)
			return -ENOMEM;
	}
	f->free_head = s->next;
	s->used = true;
	s->family = p->src.family;
	s->proto = p->l4proto;
	memset(s->src, 0, 16);
	memset(s->dst, 0, 16);
	memcpy(s->src, p->src.a, p->src.family == 6 ? 16 : 4);
	memcpy(s->dst, p->dst.a, p->src.family == 6 ? 16 : 4);
	s->id = p->frag_id;
	s->first_us = now;
	s->total = 0;
	s->have = 0;
	s->n_ranges = 0;
	s->hnext = f->buckets[bucket];
	f->buckets[bucket] = i;
	s->prev = f->newest;
	s->next = -1;
	if (f->newest != -1)
		f->slots[f->newest].next = i;
	else
		f->oldest = i;
	f->newest = i;
	f->st.held++;
	return i;
}

int afgw_ipfrag_add(struct afgw_ipfrag *f, const struct afgw_pkt *pkt, uint64_t now_us,
		    const uint8_t **out, size_t *out_len)
{
	uint32_t start = pkt->frag_offset;
	uint32_t end = start + (uint32_t)pkt->frag_len;
	unsigned bucket = key_hash(pkt, f->nbuckets);
	int i;

	f->st.fragments++;
	afgw_ipfrag_expire(f, now_us);

	for (i = f->buckets[bucket]; i != -1; i = f->slots[i].hnext)
		if (key_eq(&f->slots[i], pkt))
			break;

	/* A fragment that can never be valid: drop it, and its datagram. */
	if (end > MAX_DGRAM || (pkt->frag_more && (pkt->frag_len & 7)) ||
	    (pkt->frag_len == 0 && pkt->frag_more)) {
		f->st.bad++;
		if (i != -1)
			release(f, i, bucket);
		return -EINVAL;
	}
	if (i == -1) {
		i = new_slot(f, pkt, bucket, now_us);
		if (i < 0)
			return -ENOMEM;
		bucket = key_hash(pkt, f->nbuckets);
	}
	struct slot *s = &f->slots[i];

	if (!pkt->frag_more) {
		if ((s->total && s->total != end) || end < s->have) {
			f->st.bad++;
			release(f, i, bucket);
			return -EINVAL;
		}
		s->total = end;
	}
	if (s->total && end > s->total) {
		f->st.bad++;
		release(f, i, bucket);
		return -EINVAL;
	}

	/* Find the insertion point in the sorted range list. */
	unsigned k = 0;
	while (k < s->n_ranges && s->ranges[k].start < start)
		k++;
	if (k < s->n_ranges && s->ranges[k].start == start && s->ranges[k].end == end) {
		f->st.duplicates++;
		return 0;
	}
	if ((k > 0 && s->ranges[k - 1].end > start) ||
	    (k < s->n_ranges && s->ranges[k].start < end) ||
	    (k < s->n_ranges && s->ranges[k].start == start)) {
		f->st.overlaps++;
		release(f, i, bucket);
		return -EINVAL;
	}
	if (s->n_ranges == f->lim.max_fragments) {
		f->st.too_many++;
		release(f, i, bucket);
		return -EINVAL;
	}
	memmove(&s->ranges[k + 1], &s->ranges[k], (s->n_ranges - k) * sizeof(struct range));
	s->ranges[k].start = start;
	s->ranges[k].end = end;
	s->n_ranges++;
	if (pkt->frag_len)
		memcpy(s->buf + start, pkt->frag_data, pkt->frag_len);
	s->have += (uint32_t)pkt->frag_len;

	/* No overlaps and everything inside [0, total): complete when the byte count matches. */
	if (s->total && s->have == s->total) {
		*out = s->buf;
		*out_len = s->total;
		f->st.reassembled++;
		release(f, i, bucket); /* the buffer stays intact until the slot is reused */
		return 1;
	}
	return 0;
}

void afgw_ipfrag_get_stats(const struct afgw_ipfrag *f, struct afgw_ipfrag_stats *s)
{
	*s = f->st;
}
