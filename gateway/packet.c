/*
 * packet.c - from a captured frame to a transport payload.
 *
 * Link layers: Ethernet II with any stack of 802.1Q / 802.1ad tags (the
 * first two VLAN ids are kept), Linux cooked SLL and SLL2, raw IP, the
 * IPv4 / IPv6 link types, and BSD null / loopback.  Network layers: IPv4
 * (options skipped) and IPv6 with its extension headers walked.  Fragments
 * are recognised and handed back for ipfrag.c; everything else is decoded
 * in place, without copying and without allocation.
 *
 * A frame cut short by the snap length still gives the payload that was
 * captured (l4_truncated); a frame whose headers lie gets a named status.
 * Thread: any.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "afgw/capture.h"
#include "afgw/packet.h"

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

enum afgw_pkt_status afgw_packet_decode_l4(uint8_t proto, const uint8_t *p, size_t len,
					   struct afgw_pkt *pkt)
{
	pkt->l4proto = proto;
	if (proto == 17) {
		if (len < 8)
			return AFGW_PKT_TRUNCATED;
		pkt->sport = rd16(p);
		pkt->dport = rd16(p + 2);
		size_t ulen = rd16(p + 4);
		/* UDP length 0 is legal inside IPv6 jumbograms only; lying lengths are bad. */
		if (ulen < 8)
			return AFGW_PKT_BAD_L4;
		if (ulen > len) {
			if (!pkt->l4_truncated)
				return AFGW_PKT_BAD_L4;
			ulen = len;
		}
		pkt->payload = p + 8;
		pkt->payload_len = ulen - 8;
		return AFGW_PKT_OK;
	}
	if (proto == 6) {
		if (len < 20)
			return AFGW_PKT_TRUNCATED;
		pkt->sport = rd16(p);
		pkt->dport = rd16(p + 2);
		pkt->tcp_seq = rd32(p + 4);
		pkt->tcp_ack = rd32(p + 8);
		size_t off = (size_t)(p[12] >> 4) * 4;
		pkt->tcp_flags = p[13];
		if (off < 20)
			return AFGW_PKT_BAD_L4;
		if (off > len)
			return pkt->l4_truncated ? AFGW_PKT_TRUNCATED : AFGW_PKT_BAD_L4;
		pkt->payload = p + off;
		pkt->payload_len = len - off;
		return AFGW_PKT_OK;
	}
	return AFGW_PKT_NOT_UDP_TCP;
}

static enum afgw_pkt_status decode_ipv4(const uint8_t *p, size_t caplen, size_t wirelen,
					struct afgw_pkt *pkt)
{
	if (caplen < 20)
		return AFGW_PKT_TRUNCATED;
	if ((p[0] >> 4) != 4)
		return AFGW_PKT_BAD_IP;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	size_t total = rd16(p + 2);
	if (ihl < 20 || total < ihl)
		return AFGW_PKT_BAD_IP;
	if (caplen < ihl)
		return AFGW_PKT_TRUNCATED;
	size_t have = total;
	if (total > caplen) {
		/* Cut by the snap length (wire length covers it) or a lying length. */
		if (wirelen >= total && caplen < wirelen) {
			pkt->l4_truncated = true;
			have = caplen;
		} else {
			return AFGW_PKT_BAD_IP;
		}
	}
	pkt->ip_version = 4;
	pkt->src.family = pkt->dst.family = 4;
	memcpy(pkt->src.a, p + 12, 4);
	memcpy(pkt->dst.a, p + 16, 4);
	uint8_t proto = p[9];
	uint16_t fo = rd16(p + 6);
	bool more = (fo & 0x2000) != 0;
	uint32_t off = (uint32_t)(fo & 0x1fff) * 8;
	pkt->l4proto = proto;
	if (more || off) {
		if (pkt->l4_truncated)
			return AFGW_PKT_TRUNCATED; /* a cut fragment cannot be reassembled */
		pkt->frag_id = rd16(p + 4);
		pkt->frag_offset = off;
		pkt->frag_more = more;
		pkt->frag_data = p + ihl;
		pkt->frag_len = total - ihl;
		return AFGW_PKT_FRAGMENT;
	}
	return afgw_packet_decode_l4(proto, p + ihl, have - ihl, pkt);
}

static enum afgw_pkt_status decode_ipv6(const uint8_t *p, size_t caplen, size_t wirelen,
					struct afgw_pkt *pkt)
{
	if (caplen < 40)
		return AFGW_PKT_TRUNCATED;
	if ((p[0] >> 4) != 6)
		return AFGW_PKT_BAD_IP;
	size_t plen = rd16(p + 4);
	size_t have = plen;
	if (40 + plen > caplen) {
		if (wirelen >= 40 + plen && caplen < wirelen) {
			pkt->l4_truncated = true;
			have = caplen - 40;
		} else {
			return AFGW_PKT_BAD_IP;
		}
	}
	pkt->ip_version = 6;
	pkt->src.family = pkt->dst.family = 6;
	memcpy(pkt->src.a, p + 8, 16);
	memcpy(pkt->dst.a, p + 24, 16);

	uint8_t nh = p[6];
	const uint8_t *q = p + 40;
	size_t left = have;
	/* Walk extension headers; bounded by the packet length. */
	for (;;) {
		switch (nh) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
		{
			if (left < 8)
				return pkt->l4_truncated ? AFGW_PKT_TRUNCATED : AFGW_PKT_BAD_IP;
			size_t hl = ((size_t)q[1] + 1) * 8;
			if (hl > left)
				return pkt->l4_truncated ? AFGW_PKT_TRUNCATED : AFGW_PKT_BAD_IP;
			nh = q[0];
			q += hl;
			left -= hl;
			continue;
		}
		case 44: { /* fragment */
			if (left < 8)
				return pkt->l4_truncated ? AFGW_PKT_TRUNCATED : AFGW_PKT_BAD_IP;
			uint16_t fo = rd16(q + 2);
			uint32_t off = (uint32_t)(fo & 0xfff8);
			bool more = (fo & 1) != 0;
			uint8_t inner = q[0];
			uint32_t id = rd32(q + 4);
			q += 8;
			left -= 8;
			if (!more && off == 0) { /* atomic fragment (RFC 6946) */
				nh = inner;
				continue;
			}
			if (pkt->l4_truncated)
				return AFGW_PKT_TRUNCATED;
			pkt->l4proto = inner;
			pkt->frag_id = id;
			pkt->frag_offset = off;
			pkt->frag_more = more;
			pkt->frag_data = q;
			pkt->frag_len = left;
			return AFGW_PKT_FRAGMENT;
		}
		case 59: /* no next header */
			return AFGW_PKT_NOT_UDP_TCP;
		default:
			return afgw_packet_decode_l4(nh, q, left, pkt);
		}
	}
}

static enum afgw_pkt_status decode_ip_any(const uint8_t *p, size_t caplen, size_t wirelen,
					  struct afgw_pkt *pkt)
{
	if (caplen < 1)
		return AFGW_PKT_TRUNCATED;
	switch (p[0] >> 4) {
	case 4:
		return decode_ipv4(p, caplen, wirelen, pkt);
	case 6:
		return decode_ipv6(p, caplen, wirelen, pkt);
	default:
		return AFGW_PKT_BAD_IP;
	}
}

static enum afgw_pkt_status decode_ethertype(uint16_t et, const uint8_t *p, size_t caplen,
					     size_t wirelen, struct afgw_pkt *pkt)
{
	switch (et) {
	case 0x0800:
		return decode_ipv4(p, caplen, wirelen, pkt);
	case 0x86dd:
		return decode_ipv6(p, caplen, wirelen, pkt);
	default:
		return AFGW_PKT_NOT_IP;
	}
}

enum afgw_pkt_status afgw_packet_decode(int linktype, const uint8_t *data, size_t caplen,
					size_t wirelen, struct afgw_pkt *pkt)
{
	afgw_zero(pkt, sizeof(*pkt));
	if (wirelen < caplen)
		wirelen = caplen;

	switch (linktype) {
	case AFGW_LINK_ETHERNET: {
		if (caplen < 14)
			return AFGW_PKT_TRUNCATED;
		size_t off = 12;
		uint16_t et = rd16(data + off);
		/* 802.1Q, 802.1ad and the old 0x9100 QinQ tag; at most 8 tags. */
		for (int tags = 0; (et == 0x8100 || et == 0x88a8 || et == 0x9100) && tags < 8; tags++) {
			if (caplen < off + 6)
				return AFGW_PKT_TRUNCATED;
			if (pkt->n_vlan < 2)
				pkt->vlan[pkt->n_vlan++] = rd16(data + off + 2) & 0x0fff;
			off += 4;
			et = rd16(data + off);
		}
		off += 2;
		return decode_ethertype(et, data + off, caplen - off, wirelen - off, pkt);
	}
	case AFGW_LINK_LINUX_SLL:
		if (caplen < 16)
			return AFGW_PKT_TRUNCATED;
		return decode_ethertype(rd16(data + 14), data + 16, caplen - 16, wirelen - 16, pkt);
	case AFGW_LINK_LINUX_SLL2:
		if (caplen < 20)
			return AFGW_PKT_TRUNCATED;
		return decode_ethertype(rd16(data), data + 20, caplen - 20, wirelen - 20, pkt);
	case AFGW_LINK_RAW:
	case 12:
	case 14:
		return decode_ip_any(data, caplen, wirelen, pkt);
	case AFGW_LINK_IPV4:
		return decode_ipv4(data, caplen, wirelen, pkt);
	case AFGW_LINK_IPV6:
		return decode_ipv6(data, caplen, wirelen, pkt);
	case AFGW_LINK_NULL:
	case AFGW_LINK_LOOP: {
		if (caplen < 4)
			return AFGW_PKT_TRUNCATED;
		/* The AF_ word is host order (NULL) or network order (LOOP); the
		 * values for IPv6 differ between BSDs, so look at the IP version. */
		return decode_ip_any(data + 4, caplen - 4, wirelen - 4, pkt);
	}
	default:
		return AFGW_PKT_UNSUPPORTED_LINK;
	}
}

/* "00" to "99", for writing two digits at once. */
static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
			       "25262728293031323334353637383940414243444546474849"
			       "50515253545556575859606162636465666768697071727374"
			       "75767778798081828384858687888990919293949596979899";

/* a.b.c.d into t; returns the length. */
static size_t ip4_text(const uint8_t *a, char *t)
{
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (v >= 100) {
			t[n++] = (char)('0' + v / 100);
			v %= 100;
			t[n++] = pairs[2 * v];
		} else if (v >= 10) {
			t[n++] = pairs[2 * v];
		}
		t[n++] = pairs[2 * v + 1];
		t[n++] = '.';
	}
	return n - 1;
}

/*
 * An IPv6 address as inet_ntop() writes it, byte for byte (glibc's, which
 * prints each group with sprintf and so costs more than the rest of an
 * event): lower-case hex groups without leading zeros, the first longest
 * run of two or more zero groups as "::", and ::a.b.c.d / ::ffff:a.b.c.d
 * for IPv4-compatible and -mapped addresses.  Returns the length.
 */
static size_t ip6_text(const uint8_t *a, char *t)
{
	static const char hex[] = "0123456789abcdef";
	unsigned w[8];
	int best = -1, best_len = 0, cur = -1, cur_len = 0;
	size_t n = 0;
	for (int i = 0; i < 8; i++) {
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		if (w[i] == 0) {
			if (cur < 0)
				cur = i, cur_len = 0;
			cur_len++;
		} else {
			if (cur >= 0 && (best < 0 || cur_len > best_len))
				best = cur, best_len = cur_len;
			cur = -1;
		}
	}
	if (cur >= 0 && (best < 0 || cur_len > best_len))
		best = cur, best_len = cur_len;
	if (best >= 0 && best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				t[n++] = ':';
			continue;
		}
		if (i != 0)
			t[n++] = ':';
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
			return n + ip4_text(a + 12, t + n);
		unsigned v = w[i];
		size_t nd = v >= 0x1000 ? 4 : v >= 0x100 ? 3 : v >= 0x10 ? 2 : 1;
		for (size_t k = nd; k-- > 0; v >>= 4)
			t[n + k] = hex[v & 15];
		n += nd;
	}
	if (best >= 0 && best + best_len == 8)
		t[n++] = ':';
	return n;
}

size_t afgw_ip_format(const struct afgw_ip_addr *a, uint16_t port, char *out, size_t cap)
{
	char buf[INET6_ADDRSTRLEN + 16];
	/* Straight into out when it has room for the longest text, "[" + 45 +
	 * "]:65535" and the NUL (the usual case: every event writes two);
	 * else through buf, then truncated. */
	char *t = cap >= INET6_ADDRSTRLEN + 8 ? out : buf;
	size_t n = 0;
	if (a->family == 6) {
		t[n++] = '[';
		n += ip6_text(a->a, t + n);
		t[n++] = ']';
	} else {
		/* by hand: inet_ntop + snprintf cost more than the rest of an event */
		n += ip4_text(a->a, t);
	}
	t[n++] = ':';
	unsigned p = port;
	size_t nd = p >= 10000 ? 5 : p >= 1000 ? 4 : p >= 100 ? 3 : p >= 10 ? 2 : 1;
	for (size_t k = nd; k-- > 0; p /= 10)
		t[n + k] = (char)('0' + p % 10);
	n += nd;
	if (t == out) {
		out[n] = '\0';
		return n;
	}
	if (cap == 0)
		return 0;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, t, n);
	out[n] = '\0';
	return n;
}

const char *afgw_pkt_status_name(enum afgw_pkt_status s)
{
	static const char *const names[AFGW_PKT_STATUS_COUNT] = {
		[AFGW_PKT_OK] = "ok",
		[AFGW_PKT_FRAGMENT] = "fragment",
		[AFGW_PKT_NOT_IP] = "not_ip",
		[AFGW_PKT_NOT_UDP_TCP] = "not_udp_tcp",
		[AFGW_PKT_TRUNCATED] = "truncated",
		[AFGW_PKT_BAD_IP] = "bad_ip",
		[AFGW_PKT_BAD_L4] = "bad_l4",
		[AFGW_PKT_UNSUPPORTED_LINK] = "unsupported_link",
	};
	return (unsigned)s < AFGW_PKT_STATUS_COUNT ? names[s] : "unknown";
}
