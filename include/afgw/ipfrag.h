/*
 * ipfrag.h - IPv4 and IPv6 fragment reassembly, gateway/ipfrag.c.
 *
 * An INVITE with SDP is often larger than the MTU, so SIP over UDP arrives
 * in fragments.  The table holds at most max_datagrams datagrams being
 * reassembled, each at most 65535 bytes, for at most timeout_us.  Overlaps
 * are handled as the Linux stack does since 4.19 (and RFC 5722 for IPv6):
 * an exact duplicate fragment is ignored, any other overlap discards the
 * whole datagram.  Buffers are allocated on first use and kept, so the
 * steady state allocates nothing.
 * Thread: a table belongs to one worker.
 */
#ifndef AFGW_IPFRAG_H
#define AFGW_IPFRAG_H

#include "afgw/packet.h"

struct afgw_ipfrag_limits {
	unsigned max_datagrams;    /* datagrams in reassembly at once (default 256) */
	unsigned max_fragments;    /* fragments per datagram (default 64) */
	uint64_t timeout_us;       /* default 30 s, as Linux's ipfrag_time */
};

struct afgw_ipfrag_stats {
	uint64_t fragments;        /* fragments offered */
	uint64_t reassembled;      /* datagrams completed */
	uint64_t duplicates;       /* exact duplicate fragments ignored */
	uint64_t overlaps;         /* datagrams discarded for overlapping fragments */
	uint64_t bad;              /* bad fragment (odd length, past 64 KiB, two ends) */
	uint64_t too_many;         /* datagrams discarded for too many fragments */
	uint64_t timeouts;         /* datagrams discarded incomplete after the timeout */
	uint64_t evicted;          /* datagrams discarded to make room */
	unsigned held;             /* datagrams in reassembly now */
};

struct afgw_ipfrag;

struct afgw_ipfrag *afgw_ipfrag_new(const struct afgw_ipfrag_limits *lim);
void afgw_ipfrag_free(struct afgw_ipfrag *f);

/*
 * Offer one fragment (pkt as filled by afgw_packet_decode with status
 * AFGW_PKT_FRAGMENT).  Returns 1 when it completed a datagram: *out points
 * to the reassembled transport bytes (header + payload; pkt->l4proto says
 * which transport), valid until the next call on f.  Returns 0 when the
 * fragment is held, -EINVAL when it was dropped (counted).
 */
int afgw_ipfrag_add(struct afgw_ipfrag *f, const struct afgw_pkt *pkt, uint64_t now_us,
		    const uint8_t **out, size_t *out_len);

/* Discard datagrams older than the timeout (counted). */
void afgw_ipfrag_expire(struct afgw_ipfrag *f, uint64_t now_us);

void afgw_ipfrag_get_stats(const struct afgw_ipfrag *f, struct afgw_ipfrag_stats *s);

#endif
