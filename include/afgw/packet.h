/*
 * packet.h - link, network and transport layers, gateway/packet.c.
 *
 * Takes one captured frame and finds the IPv4/IPv6 header, the transport
 * header and the payload, without copying.  IPv4 and IPv6 fragments are
 * reported as such (the caller hands them to ipfrag.c); IPv6 extension
 * headers are walked (hop-by-hop, routing, destination options,
 * fragment).  Anything we cannot decode is a named counter, not a log line.
 * Thread: any; pure functions.
 */
#ifndef AFGW_PACKET_H
#define AFGW_PACKET_H

#include "afgw/common.h"

struct afgw_ip_addr {
	uint8_t family;            /* 4 or 6 */
	uint8_t a[16];             /* IPv4 in the first 4 bytes */
};

enum afgw_pkt_status {
	AFGW_PKT_OK = 0,           /* transport payload found */
	AFGW_PKT_FRAGMENT,         /* an IP fragment: see frag_* */
	AFGW_PKT_NOT_IP,           /* ARP, LLDP, ...: not for us */
	AFGW_PKT_NOT_UDP_TCP,      /* ICMP, SCTP, ...: not for us */
	AFGW_PKT_TRUNCATED,        /* caplen shorter than the headers say */
	AFGW_PKT_BAD_IP,           /* bad version, header length, total length */
	AFGW_PKT_BAD_L4,           /* bad UDP length, TCP data offset */
	AFGW_PKT_UNSUPPORTED_LINK,
	AFGW_PKT_STATUS_COUNT
};

struct afgw_pkt {
	uint64_t ts_us;
	unsigned n_vlan;
	uint16_t vlan[2];

	uint8_t ip_version;        /* 4 or 6 */
	struct afgw_ip_addr src, dst;
	uint8_t l4proto;           /* 6 TCP, 17 UDP, ... */

	/* fragments (AFGW_PKT_FRAGMENT) */
	uint32_t frag_id;          /* IPv4 identification or IPv6 fragment id */
	uint32_t frag_offset;      /* bytes */
	bool frag_more;
	const uint8_t *frag_data;  /* the fragment's payload */
	size_t frag_len;

	/* transport (AFGW_PKT_OK) */
	uint16_t sport, dport;
	uint32_t tcp_seq, tcp_ack;
	uint8_t tcp_flags;         /* AFGW_TCP_* */
	const uint8_t *payload;
	size_t payload_len;
	bool l4_truncated;         /* the frame was cut: payload is what was captured */
};

enum {
	AFGW_TCP_FIN = 0x01,
	AFGW_TCP_SYN = 0x02,
	AFGW_TCP_RST = 0x04,
	AFGW_TCP_PSH = 0x08,
	AFGW_TCP_ACK = 0x10,
};

/* Decode a frame of the given link type.  Fills what it could. */
enum afgw_pkt_status afgw_packet_decode(int linktype, const uint8_t *data, size_t caplen,
					size_t wirelen, struct afgw_pkt *pkt);

/* Decode a transport header + payload (after reassembly): sets ports,
 * TCP fields, payload.  pkt keeps its addresses. */
enum afgw_pkt_status afgw_packet_decode_l4(uint8_t proto, const uint8_t *p, size_t len,
					   struct afgw_pkt *pkt);

/* "1.2.3.4:5060" or "[2001:db8::1]:5060" (RFC 5952 form).  Returns length. */
size_t afgw_ip_format(const struct afgw_ip_addr *a, uint16_t port, char *out, size_t cap);

const char *afgw_pkt_status_name(enum afgw_pkt_status s);

#endif
