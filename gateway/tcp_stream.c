/*
 * tcp_stream.c - TCP flow table and stream reassembly.
 *
 * The flow table is an array of max_flows entries allocated up front,
 * found through a chained hash on the direction-independent 5-tuple and
 * kept on an LRU list (most recent at the tail) for idle timeout and
 * eviction.
 *
 * Reassembly, per direction.  next_seq is the sequence number of the next
 * byte we owe the application.  A segment that starts at next_seq while
 * nothing waits is delivered straight from the packet (the common case:
 * no copy).  A segment that starts later is out of order: it is copied
 * into a window, a ring of window_bytes bytes with a presence bitmap,
 * borrowed from a pool of max_windows (the memcap).  Whenever the byte at
 * next_seq is present, the contiguous run is delivered and the ring moves
 * on; an empty window goes back to the pool.  Bytes already delivered or
 * already buffered are never delivered twice (first copy wins, as most
 * stacks do).  A hole is skipped, and reported as a gap, when a segment
 * lands beyond the window, when the direction ends (FIN, RST), when the
 * flow times out or is evicted, or when the pool is empty.
 *
 * Mid-stream pickup: a direction first seen without a SYN starts at the
 * first segment seen.  Sequence arithmetic is modulo 2^32.
 */
#include <stdlib.h>

#include "afgw/tcp_stream.h"

struct window {
	uint8_t *bytes;
	uint8_t *present;          /* one bit per byte */
	uint32_t head;             /* ring index of next_seq */
	uint32_t buffered;         /* bytes present */
	int next_free;
};

struct dir {
	bool seen, fin;
	uint32_t next_seq;
	uint32_t fin_seq;
	int win;                   /* pool index or -1 */
};

/*
 * A flow is two cache lines, aligned: a lookup walking a hash chain reads
 * only the first (the chain link, the addresses and ports, last_us); the
 * flow it finds also has its second (app state, the directions) read.
 * The LRU links are in an array of their own (struct lru): moving a flow
 * to the tail of the list touches its neighbours' links, and eight to a
 * cache line in a small array those are far more often cached than a
 * flow's lines in the big one.
 */
struct flow {
	_Alignas(64) int hnext;
	uint8_t family;
	bool used;
	struct afgw_flow pub;
	struct dir d[2];
};

struct lru {
	int prev, next;            /* LRU list, or the free list through next */
};

struct afgw_tcp {
	struct afgw_tcp_limits lim;
	struct afgw_tcp_callbacks cb;
	void *ud;
	struct flow *flows;        /* in flows_mem, aligned */
	void *flows_mem;
	struct lru *lru;           /* lru[i]: the links of flows[i] */
	int *buckets;
	unsigned nbuckets;
	int lru_head, lru_tail, free_head;
	struct window *wins;
	int win_free;
	struct afgw_tcp_stats st;
};

/* Bytes 0-7 and 8-15 of an address as words (an IPv4 address: its 4 bytes, and 0). */
static inline void addr_words(const struct afgw_ip_addr *a, uint64_t *w0, uint64_t *w1)
{
	if (a->family == 6) {
		memcpy(w0, a->a, 8);
		memcpy(w1, a->a + 8, 8);
	} else {
		uint32_t v;
		memcpy(&v, a->a, 4);
		*w0 = v;
		*w1 = 0;
	}
}

/* One endpoint, mixed into 64 bits (multiply-xorshift, per word). */
static inline uint64_t ep_hash(const struct afgw_ip_addr *a, uint16_t port)
{
	uint64_t w0, w1;
	addr_words(a, &w0, &w1);
	uint64_t h = (w0 ^ ((uint64_t)port << 48 | a->family)) * 0x9e3779b97f4a7c15u;
	h = (h ^ (h >> 29) ^ w1) * 0xbf58476d1ce4e5b9u;
	return h ^ (h >> 32);
}

static unsigned hash_tuple(const struct afgw_ip_addr *a, uint16_t pa, const struct afgw_ip_addr *b,
			   uint16_t pb, unsigned nb)
{
	/* Symmetric: combine the two endpoints with a commutative operation. */
	uint64_t h = ep_hash(a, pa) + ep_hash(b, pb);
	h ^= h >> 31;
	h *= 0x94d049bb133111ebu;
	h ^= h >> 29;
	return (unsigned)h & (nb - 1);
}

/* Same address and port; by words, as a memcmp() call per flow looked at is most of a lookup. */
static inline bool ep_eq(const struct afgw_ip_addr *a, uint16_t pa, const struct afgw_ip_addr *b,
			 uint16_t pb)
{
	if (pa != pb || a->family != b->family)
		return false;
	uint64_t a0, a1, b0, b1;
	addr_words(a, &a0, &a1);
	addr_words(b, &b0, &b1);
	return a0 == b0 && a1 == b1;
}

struct afgw_tcp *afgw_tcp_new(const struct afgw_tcp_limits *lim,
			      const struct afgw_tcp_callbacks *cb, void *ud)
{
	struct afgw_tcp *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->lim = *lim;
	if (!t->lim.max_flows)
		t->lim.max_flows = 65536;
	if (!t->lim.window_bytes)
		t->lim.window_bytes = 65536;
	t->lim.window_bytes = (t->lim.window_bytes + 7) & ~7u;
	if (!t->lim.max_windows)
		t->lim.max_windows = 256;
	if (!t->lim.idle_timeout_us)
		t->lim.idle_timeout_us = 600000000u;
	t->cb = *cb;
	t->ud = ud;
	t->nbuckets = 16;
	while (t->nbuckets < t->lim.max_flows * 2)
		t->nbuckets <<= 1;
	/* calloc (its pages come zeroed, touched only when used) and one
	 * spare flow for rounding up to the flows' alignment */
	t->flows_mem = calloc(t->lim.max_flows + 1, sizeof(*t->flows));
	if (t->flows_mem) {
		const uintptr_t al = _Alignof(struct flow);
		t->flows = (struct flow *)(void *)(((uintptr_t)t->flows_mem + al - 1) & ~(al - 1));
	}
	t->lru = malloc(t->lim.max_flows * sizeof(*t->lru));
	t->buckets = malloc(t->nbuckets * sizeof(int));
	t->wins = calloc(t->lim.max_windows, sizeof(*t->wins));
	if (!t->flows || !t->lru || !t->buckets || !t->wins)
		goto fail;
	for (unsigned i = 0; i < t->nbuckets; i++)
		t->buckets[i] = -1;
	for (unsigned i = 0; i < t->lim.max_flows; i++) {
		t->lru[i].prev = -1;
		t->lru[i].next = i + 1 < t->lim.max_flows ? (int)i + 1 : -1;
	}
	t->free_head = 0;
	t->lru_head = t->lru_tail = -1;
	/* Window memory is reserved now but touched only when used. */
	for (unsigned i = 0; i < t->lim.max_windows; i++) {
		t->wins[i].bytes = malloc(t->lim.window_bytes);
		t->wins[i].present = calloc(t->lim.window_bytes / 8, 1);
		if (!t->wins[i].bytes || !t->wins[i].present)
			goto fail;
		t->wins[i].next_free = i + 1 < t->lim.max_windows ? (int)i + 1 : -1;
	}
	t->win_free = 0;
	return t;
fail:
	afgw_tcp_free(t);
	return NULL;
}

static void lru_unlink(struct afgw_tcp *t, int i)
{
	struct lru *f = &t->lru[i];
	if (f->prev != -1)
		t->lru[f->prev].next = f->next;
	else
		t->lru_head = f->next;
	if (f->next != -1)
		t->lru[f->next].prev = f->prev;
	else
		t->lru_tail = f->prev;
}

static void lru_append(struct afgw_tcp *t, int i)
{
	struct lru *f = &t->lru[i];
	f->prev = t->lru_tail;
	f->next = -1;
	if (t->lru_tail != -1)
		t->lru[t->lru_tail].next = i;
	else
		t->lru_head = i;
	t->lru_tail = i;
}

static void deliver(struct afgw_tcp *t, struct flow *f, int d, const uint8_t *p, size_t n)
{
	if (!n)
		return;
	t->st.bytes_delivered += n;
	t->cb.data(t->ud, &f->pub, d, p, n, f->pub.last_us);
}

static void report_gap(struct afgw_tcp *t, struct flow *f, int d, uint64_t lost)
{
	t->st.gaps++;
	t->st.gap_bytes += lost;
	if (t->cb.gap)
		t->cb.gap(t->ud, &f->pub, d, lost);
}

static bool bit(const struct window *w, uint32_t i)
{
	return (w->present[i >> 3] >> (i & 7)) & 1;
}

/* Deliver the contiguous run at the head of the window; free it when empty. */
static void drain_window(struct afgw_tcp *t, struct flow *f, int d)
{
	struct dir *dr = &f->d[d];
	if (dr->win < 0)
		return;
	struct window *w = &t->wins[dr->win];
	uint32_t W = t->lim.window_bytes;
	while (w->buffered && bit(w, w->head)) {
		uint32_t run = 0;
		while (w->head + run < W && run < w->buffered && bit(w, w->head + run))
			run++;
		for (uint32_t k = 0; k < run; k++) {
			uint32_t i = w->head + k;
			w->present[i >> 3] &= (uint8_t) ~(1u << (i & 7));
		}
		const uint8_t *p = w->bytes + w->head;
		w->head = (w->head + run) % W;
		w->buffered -= run;
		dr->next_seq += run;
		deliver(t, f, d, p, run);
	}
	if (!w->buffered) {
		w->next_free = t->win_free;
		t->win_free = dr->win;
		dr->win = -1;
		t->st.windows_used--;
	}
}

/* Skip every hole: deliver all buffered bytes in order, with gaps between. */
static void flush_window(struct afgw_tcp *t, struct flow *f, int d)
{
	struct dir *dr = &f->d[d];
	uint32_t W = t->lim.window_bytes;
	while (dr->win >= 0) {
		struct window *w = &t->wins[dr->win];
		uint32_t skip = 0;
		while (!bit(w, (w->head + skip) % W))
			skip++;
		if (skip) {
			w->head = (w->head + skip) % W;
			dr->next_seq += skip;
			report_gap(t, f, d, skip);
		}
		drain_window(t, f, d);
	}
}

static int take_window(struct afgw_tcp *t)
{
	int i = t->win_free;
	if (i < 0)
		return -1;
	t->win_free = t->wins[i].next_free;
	t->wins[i].head = 0;
	t->wins[i].buffered = 0;
	t->st.windows_used++;
	return i;
}

/* Copy [off, off+n) relative to next_seq into the window, first copy wins. */
static void buffer_segment(struct afgw_tcp *t, struct dir *dr, uint32_t off, const uint8_t *p,
			   uint32_t n)
{
	struct window *w = &t->wins[dr->win];
	uint32_t W = t->lim.window_bytes;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = (w->head + off + k) % W;
		if (!bit(w, i)) {
			w->bytes[i] = p[k];
			w->present[i >> 3] |= (uint8_t)(1u << (i & 7));
			w->buffered++;
		}
	}
}

static void close_flow(struct afgw_tcp *t, int i, unsigned bucket)
{
	struct flow *f = &t->flows[i];
	for (int d = 0; d < 2; d++)
		flush_window(t, f, d);
	if (t->cb.close)
		t->cb.close(t->ud, &f->pub);
	int *pp = &t->buckets[bucket];
	while (*pp != -1 && *pp != i)
		pp = &t->flows[*pp].hnext;
	if (*pp == i)
		*pp = f->hnext;
	lru_unlink(t, i);
	f->used = false;
	t->lru[i].next = t->free_head;
	t->free_head = i;
	t->st.flows_closed++;
	t->st.flows_active--;
}

static unsigned flow_bucket(const struct afgw_tcp *t, const struct flow *f)
{
	return hash_tuple(&f->pub.addr[0], f->pub.port[0], &f->pub.addr[1], f->pub.port[1],
			  t->nbuckets);
}

void afgw_tcp_expire(struct afgw_tcp *t, uint64_t now_us)
{
	while (t->lru_head != -1 &&
	       t->flows[t->lru_head].pub.last_us + t->lim.idle_timeout_us < now_us) {
		int i = t->lru_head;
		t->st.flows_timed_out++;
		close_flow(t, i, flow_bucket(t, &t->flows[i]));
	}
}

static void handle_data(struct afgw_tcp *t, struct flow *f, int d, uint32_t seq, const uint8_t *p,
			size_t len)
{
	struct dir *dr = &f->d[d];
	int32_t off = (int32_t)(seq - dr->next_seq);
	uint32_t W = t->lim.window_bytes;

	if (off < 0) {
		if ((int64_t)off + (int64_t)len <= 0) {
			t->st.retransmitted++;
			return;
		}
		p += (uint32_t)-off;
		len -= (uint32_t)-off;
		off = 0;
	}
	if (off == 0 && dr->win < 0) {
		dr->next_seq += (uint32_t)len;
		deliver(t, f, d, p, len);
		return;
	}
	if ((uint64_t)off + len > W) {
		/* Beyond what we are willing to hold: give up on the hole. */
		flush_window(t, f, d);
		off = (int32_t)(seq - dr->next_seq);
		if (off > 0) {
			report_gap(t, f, d, (uint32_t)off);
			dr->next_seq = seq;
		}
		if (off >= 0 || (int64_t)off + (int64_t)len > 0) {
			if (off < 0) {
				p += (uint32_t)-off;
				len -= (uint32_t)-off;
			}
			dr->next_seq += (uint32_t)len;
			deliver(t, f, d, p, len);
		}
		return;
	}
	if (dr->win < 0) {
		dr->win = take_window(t);
		if (dr->win < 0) {
			/* No memory for the hole: skip it rather than stall. */
			t->st.memcap++;
			report_gap(t, f, d, (uint32_t)off);
			dr->next_seq = seq + (uint32_t)len;
			deliver(t, f, d, p, len);
			return;
		}
	}
	if (off > 0)
		t->st.out_of_order++;
	buffer_segment(t, dr, (uint32_t)off, p, (uint32_t)len);
	drain_window(t, f, d);
}

void afgw_tcp_segment(struct afgw_tcp *t, const struct afgw_pkt *pkt)
{
	unsigned b = hash_tuple(&pkt->src, pkt->sport, &pkt->dst, pkt->dport, t->nbuckets);
	int i;
	int d = 0;

	t->st.segments++;
	afgw_tcp_expire(t, pkt->ts_us);
	for (i = t->buckets[b]; i != -1; i = t->flows[i].hnext) {
		struct flow *f = &t->flows[i];
		if (ep_eq(&f->pub.addr[0], f->pub.port[0], &pkt->src, pkt->sport) &&
		    ep_eq(&f->pub.addr[1], f->pub.port[1], &pkt->dst, pkt->dport)) {
			d = 0;
			break;
		}
		if (ep_eq(&f->pub.addr[1], f->pub.port[1], &pkt->src, pkt->sport) &&
		    ep_eq(&f->pub.addr[0], f->pub.port[0], &pkt->dst, pkt->dport)) {
			d = 1;
			break;
		}
	}
	if (i == -1) {
		if (pkt->tcp_flags & AFGW_TCP_RST)
			return; /* nothing to reset */
		if (t->free_head == -1) {
			int victim = t->lru_head;
			t->st.flows_evicted++;
			close_flow(t, victim, flow_bucket(t, &t->flows[victim]));
		}
		i = t->free_head;
		struct flow *f = &t->flows[i];
		t->free_head = t->lru[i].next;
		memset(f, 0, sizeof(*f));
		f->used = true;
		f->pub.addr[0] = pkt->src;
		f->pub.addr[1] = pkt->dst;
		f->pub.port[0] = pkt->sport;
		f->pub.port[1] = pkt->dport;
		f->pub.first_us = pkt->ts_us;
		f->d[0].win = f->d[1].win = -1;
		f->hnext = t->buckets[b];
		t->buckets[b] = i;
		lru_append(t, i);
		t->st.flows_opened++;
		t->st.flows_active++;
		d = 0;
	} else if (t->lru_tail != i) { /* already the most recent: nothing moves */
		lru_unlink(t, i);
		lru_append(t, i);
	}
	struct flow *f = &t->flows[i];
	struct dir *dr = &f->d[d];
	f->pub.last_us = pkt->ts_us;

	uint32_t seq = pkt->tcp_seq;
	if (pkt->tcp_flags & AFGW_TCP_SYN) {
		if (!dr->seen || (int32_t)(seq + 1 - dr->next_seq) > 0) {
			dr->next_seq = seq + 1;
			dr->seen = true;
		}
		seq++;
	} else if (!dr->seen) {
		dr->next_seq = seq;
		dr->seen = true;
	}
	if (pkt->payload_len)
		handle_data(t, f, d, seq, pkt->payload, pkt->payload_len);

	if (pkt->tcp_flags & AFGW_TCP_RST) {
		close_flow(t, i, b);
		return;
	}
	if (pkt->tcp_flags & AFGW_TCP_FIN) {
		dr->fin = true;
		dr->fin_seq = seq + (uint32_t)pkt->payload_len;
	}
	/* A direction is finished when its FIN's sequence number is reached. */
	if (f->d[0].fin && f->d[1].fin && f->d[0].next_seq == f->d[0].fin_seq &&
	    f->d[1].next_seq == f->d[1].fin_seq)
		close_flow(t, i, b);
}

void afgw_tcp_flush(struct afgw_tcp *t)
{
	while (t->lru_head != -1) {
		int i = t->lru_head;
		close_flow(t, i, flow_bucket(t, &t->flows[i]));
	}
}

void afgw_tcp_free(struct afgw_tcp *t)
{
	if (!t)
		return;
	if (t->flows && t->lru && t->buckets)
		afgw_tcp_flush(t);
	if (t->wins) {
		for (unsigned i = 0; i < t->lim.max_windows; i++) {
			free(t->wins[i].bytes);
			free(t->wins[i].present);
		}
	}
	free(t->wins);
	free(t->flows_mem);
	free(t->lru);
	free(t->buckets);
	free(t);
}

void afgw_tcp_get_stats(const struct afgw_tcp *t, struct afgw_tcp_stats *s)
{
	*s = t->st;
}
