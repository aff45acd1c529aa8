/*
 * test_tcp_stream.c - stream reassembly: every byte once and in order under
 * reordering and retransmission; gaps reported; FIN/RST/timeout/eviction.
 */
#include <stdlib.h>

#include "afgw/tcp_stream.h"
#include "check.h"

struct sink {
	uint8_t got[2][200000];
	size_t n[2];
	uint64_t gaps[2], lost[2];
	unsigned closes;
};

static void on_data(void *ud, struct afgw_flow *fl, int dir, const uint8_t *p, size_t n,
		    uint64_t ts)
{
	struct sink *s = ud;
	(void)fl;
	(void)ts;
	memcpy(s->got[dir] + s->n[dir], p, n);
	s->n[dir] += n;
}

static void on_gap(void *ud, struct afgw_flow *fl, int dir, uint64_t lost)
{
	struct sink *s = ud;
	(void)fl;
	s->gaps[dir]++;
	s->lost[dir] += lost;
}

static void on_close(void *ud, struct afgw_flow *fl)
{
	struct sink *s = ud;
	(void)fl;
	s->closes++;
}

static uint64_t rng = 88172645463325252ull;
static uint32_t xs(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static struct afgw_pkt seg(int dir, uint32_t seq, unsigned flags, const uint8_t *p, size_t n,
			   uint64_t ts, uint16_t cport)
{
	struct afgw_pkt k;
	memset(&k, 0, sizeof(k));
	k.ts_us = ts;
	k.src.family = k.dst.family = 4;
	k.src.a[3] = dir ? 2 : 1;
	k.dst.a[3] = dir ? 1 : 2;
	k.sport = dir ? 5060 : cport;
	k.dport = dir ? cport : 5060;
	k.l4proto = 6;
	k.tcp_seq = seq;
	k.tcp_flags = (uint8_t)flags;
	k.payload = p;
	k.payload_len = n;
	return k;
}

struct piece {
	uint32_t off, len;
};

int main(void)
{
	static struct sink s;
	static uint8_t stream[150000];
	struct afgw_tcp_callbacks cb = { on_data, on_gap, on_close };
	struct afgw_tcp_limits lim = { .max_flows = 8, .window_bytes = 65536, .max_windows = 4,
				       .idle_timeout_us = 1000000 };
	struct afgw_tcp_stats st;
	for (size_t i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)xs();

	/* 1. Randomised: segments of 1..1460 bytes, near-ISN wraparound, 20 rounds of
	 * adjacent swaps and duplicated segments.  Every byte arrives once, in order. */
	for (int round = 0; round < 20; round++) {
		memset(&s, 0, sizeof(s));
		struct afgw_tcp *t = afgw_tcp_new(&lim, &cb, &s);
		uint32_t isn = 0xffffffffu - 5000u + (uint32_t)round * 997u; /* wraps mid-stream */
		static struct piece pcs[4000];
		unsigned np = 0;
		for (uint32_t off = 0; off < sizeof(stream);) {
			uint32_t len = 1 + xs() % 1460;
			if (off + len > sizeof(stream))
				len = (uint32_t)sizeof(stream) - off;
			pcs[np++] = (struct piece){ off, len };
			off += len;
		}
		for (unsigned i = 0; i + 1 < np; i++) {
			if (xs() % 10 == 0) {
				struct piece tmp = pcs[i];
				pcs[i] = pcs[i + 1];
				pcs[i + 1] = tmp;
				i++;
			}
		}
		struct afgw_pkt k = seg(0, isn, AFGW_TCP_SYN, NULL, 0, 1, 40000);
		afgw_tcp_segment(t, &k);
		for (unsigned i = 0; i < np; i++) {
			k = seg(0, isn + 1 + pcs[i].off, AFGW_TCP_ACK, stream + pcs[i].off, pcs[i].len, 2,
				40000);
			afgw_tcp_segment(t, &k);
			if (xs() % 20 == 0) /* retransmission */
				afgw_tcp_segment(t, &k);
		}
		afgw_tcp_get_stats(t, &st);
		CHECK_INT(s.n[0], sizeof(stream));
		CHECK(memcmp(s.got[0], stream, sizeof(stream)) == 0);
		CHECK_INT(s.gaps[0], 0);
		CHECK_INT(st.windows_used, 0);
		afgw_tcp_free(t);
		CHECK_INT(s.closes, 1);
	}

	/* 2. A lost segment: the hole is reported as a gap when the flow ends, and
	 * the bytes after it are still delivered. */
	memset(&s, 0, sizeof(s));
	struct afgw_tcp *t = afgw_tcp_new(&lim, &cb, &s);
	struct afgw_pkt k = seg(0, 100, AFGW_TCP_ACK, stream, 1000, 1, 40001);
	afgw_tcp_segment(t, &k);
	k = seg(0, 2100, AFGW_TCP_ACK, stream + 2000, 1000, 2, 40001); /* 1000..2000 missing */
	afgw_tcp_segment(t, &k);
	CHECK_INT(s.n[0], 1000);
	k = seg(0, 3100, AFGW_TCP_ACK | AFGW_TCP_FIN, NULL, 0, 3, 40001);
	afgw_tcp_segment(t, &k);
	afgw_tcp_flush(t);
	CHECK_INT(s.n[0], 2000);
	CHECK_INT(s.gaps[0], 1);
	CHECK_INT(s.lost[0], 1000);
	CHECK(memcmp(s.got[0] + 1000, stream + 2000, 1000) == 0);

	/* 3. A segment beyond the window skips the hole at once. */
	memset(&s, 0, sizeof(s));
	k = seg(0, 0, AFGW_TCP_ACK, stream, 100, 10, 40002);
	afgw_tcp_segment(t, &k);
	k = seg(0, 100 + 70000, AFGW_TCP_ACK, stream + 200, 100, 11, 40002);
	afgw_tcp_segment(t, &k);
	CHECK_INT(s.n[0], 200);
	CHECK_INT(s.gaps[0], 1);
	CHECK_INT(s.lost[0], 70000);

	/* 4. Both directions, FIN both ways closes the flow; RST closes too. */
	memset(&s, 0, sizeof(s));
	k = seg(0, 5000, AFGW_TCP_SYN, NULL, 0, 20, 40003);
	afgw_tcp_segment(t, &k);
	k = seg(1, 9000, AFGW_TCP_SYN | AFGW_TCP_ACK, NULL, 0, 20, 40003);
	afgw_tcp_segment(t, &k);
	k = seg(0, 5001, AFGW_TCP_ACK, (const uint8_t *)"hello", 5, 21, 40003);
	afgw_tcp_segment(t, &k);
	k = seg(1, 9001, AFGW_TCP_ACK, (const uint8_t *)"world!", 6, 21, 40003);
	afgw_tcp_segment(t, &k);
	k = seg(0, 5006, AFGW_TCP_ACK | AFGW_TCP_FIN, NULL, 0, 22, 40003);
	afgw_tcp_segment(t, &k);
	CHECK_INT(s.closes, 0);
	k = seg(1, 9007, AFGW_TCP_ACK | AFGW_TCP_FIN, NULL, 0, 22, 40003);
	afgw_tcp_segment(t, &k);
	CHECK_INT(s.closes, 1);
	CHECK_MEM(s.got[0], s.n[0], "hello");
	CHECK_MEM(s.got[1], s.n[1], "world!");
	k = seg(0, 1, AFGW_TCP_ACK, (const uint8_t *)"x", 1, 23, 40004);
	afgw_tcp_segment(t, &k);
	k = seg(1, 1, AFGW_TCP_RST, NULL, 0, 23, 40004);
	afgw_tcp_segment(t, &k);
	CHECK_INT(s.closes, 2);

	/* 5. Idle timeout and LRU eviction keep the table bounded. */
	memset(&s, 0, sizeof(s));
	afgw_tcp_flush(t);
	memset(&s, 0, sizeof(s));
	for (uint16_t p = 0; p < 20; p++) {
		k = seg(0, 1, AFGW_TCP_ACK, (const uint8_t *)"x", 1, 100, (uint16_t)(41000 + p));
		afgw_tcp_segment(t, &k);
	}
	afgw_tcp_get_stats(t, &st);
	CHECK_INT(st.flows_active, 8);
	CHECK(st.flows_evicted >= 12);
	k = seg(0, 1, AFGW_TCP_ACK, (const uint8_t *)"x", 1, 100 + 5000000, 42000);
	afgw_tcp_segment(t, &k);
	afgw_tcp_get_stats(t, &st);
	CHECK_INT(st.flows_active, 1);
	CHECK(st.flows_timed_out >= 8);

	/* 6. Memcap: with no window left, an out-of-order segment becomes a gap. */
	afgw_tcp_flush(t);
	memset(&s, 0, sizeof(s));
	for (uint16_t p = 0; p < 5; p++) {
		k = seg(0, 0, AFGW_TCP_ACK, stream, 10, 200, (uint16_t)(43000 + p));
		afgw_tcp_segment(t, &k);
		k = seg(0, 20, AFGW_TCP_ACK, stream + 20, 10, 200, (uint16_t)(43000 + p));
		afgw_tcp_segment(t, &k);
	}
	afgw_tcp_get_stats(t, &st);
	CHECK_INT(st.memcap, 1);
	CHECK_INT(st.windows_used, 4);
	afgw_tcp_free(t);
	return check_report();
}
