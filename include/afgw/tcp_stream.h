/*
 * tcp_stream.h - TCP flows and stream reassembly, gateway/tcp_stream.c.
 *
 * Segments in capture order go in; in-order byte runs per direction come
 * out through callbacks, each exactly once: retransmissions are trimmed,
 * out-of-order segments wait in a bounded window, and a hole that cannot
 * be filled (window overflow, FIN, RST, idle timeout, end of capture,
 * memcap) is reported as a gap so the application parser can resynchronise.
 * Flows live in a fixed-size table; the least recently used one is evicted
 * when it is full, and idle ones time out.  Everything is allocated when
 * the table is made: the per-packet path does not allocate.
 * Thread: a table belongs to one worker.
 */
#ifndef AFGW_TCP_STREAM_H
#define AFGW_TCP_STREAM_H

#include "afgw/packet.h"

struct afgw_flow {
	struct afgw_ip_addr addr[2];  /* addr[d], port[d]: the sender of direction d */
	uint16_t port[2];
	uint64_t first_us, last_us;
	void *app[2];                 /* the application's per-direction state */
	unsigned app_kind;            /* the application's choice, 0 = undecided */
};

struct afgw_tcp_callbacks {
	/* In-order bytes of direction dir (0: the side that spoke first / sent SYN). */
	void (*data)(void *ud, struct afgw_flow *fl, int dir, const uint8_t *p, size_t n,
		     uint64_t ts_us);
	/* lost bytes are missing before the next data of dir. */
	void (*gap)(void *ud, struct afgw_flow *fl, int dir, uint64_t lost);
	/* The flow is going away: release app state. */
	void (*close)(void *ud, struct afgw_flow *fl);
};

struct afgw_tcp_limits {
	unsigned max_flows;        /* default 65536 */
	unsigned window_bytes;     /* out-of-order window per direction, default 65536 */
	unsigned max_windows;      /* windows in the pool (the memcap), default 256 */
	uint64_t idle_timeout_us;  /* default 600 s */
};

struct afgw_tcp_stats {
	uint64_t segments, bytes_delivered;
	uint64_t retransmitted;    /* segments wholly seen before */
	uint64_t out_of_order;     /* segments that had to wait */
	uint64_t gaps, gap_bytes;  /* holes skipped */
	uint64_t memcap;           /* out-of-order segments refused for lack of a window */
	uint64_t flows_opened, flows_closed, flows_timed_out, flows_evicted;
	unsigned flows_active, windows_used;
};

struct afgw_tcp;

struct afgw_tcp *afgw_tcp_new(const struct afgw_tcp_limits *lim,
			      const struct afgw_tcp_callbacks *cb, void *ud);
/* Closes every flow (delivering what is buffered, with gaps) and frees. */
void afgw_tcp_free(struct afgw_tcp *t);

/* One TCP segment (pkt from afgw_packet_decode, l4proto 6). */
void afgw_tcp_segment(struct afgw_tcp *t, const struct afgw_pkt *pkt);

/* Close flows idle since before now_us - idle_timeout. */
void afgw_tcp_expire(struct afgw_tcp *t, uint64_t now_us);

/* Close every flow now (end of a capture file). */
void afgw_tcp_flush(struct afgw_tcp *t);

void afgw_tcp_get_stats(const struct afgw_tcp *t, struct afgw_tcp_stats *s);

#endif
