/* test_packet.c - link, IP and transport decoding of hand-built frames. */
#include "afgw/capture.h"
#include "afgw/packet.h"
#include "check.h"
#include "pktbuild.h"

static const char sip[] = "OPTIONS sip:a@b SIP/2.0\r\n\r\n";

int main(void)
{
	struct pb p;
	struct afgw_pkt k;
	char txt[64];

	/* Ethernet / IPv4 10.0.0.1 -> 10.0.0.2 / UDP 5060 -> 5060 */
	p.n = 0;
	pb_eth(&p, 0, 0x0800);
	pb_ipv4(&p, 0x0a000001, 0x0a000002, 17, 8 + strlen(sip), 1, 0, 0);
	pb_udp(&p, 5060, 5060, sip, strlen(sip));
	CHECK_INT(afgw_packet_decode(AFGW_LINK_ETHERNET, p.b, p.n, p.n, &k), AFGW_PKT_OK);
	CHECK_INT(k.ip_version, 4);
	CHECK_INT(k.l4proto, 17);
	CHECK_INT(k.sport, 5060);
	CHECK_MEM(k.payload, k.payload_len, sip);
	afgw_ip_format(&k.src, k.sport, txt, sizeof(txt));
	CHECK(strcmp(txt, "10.0.0.1:5060") == 0);

	/* Ethernet padding after a short IP packet is ignored (total length wins). */
	p.b[p.n++] = 0;
	p.b[p.n++] = 0;
	CHECK_INT(afgw_packet_decode(AFGW_LINK_ETHERNET, p.b, p.n, p.n, &k), AFGW_PKT_OK);
	CHECK_MEM(k.payload, k.payload_len, sip);

	/* QinQ: 802.1ad outer 100, 802.1Q inner 200 */
	p.n = 0;
	static const uint8_t macs[12] = { 0 };
	pb_mem(&p, macs, 12);
	pb_u16(&p, 0x88a8);
	pb_u16(&p, 100);
	pb_u16(&p, 0x8100);
	pb_u16(&p, 200);
	pb_u16(&p, 0x0800);
	pb_ipv4(&p, 0x0a000001, 0x0a000002, 17, 8 + strlen(sip), 1, 0, 0);
	pb_udp(&p, 5060, 5080, sip, strlen(sip));
	CHECK_INT(afgw_packet_decode(AFGW_LINK_ETHERNET, p.b, p.n, p.n, &k), AFGW_PKT_OK);
	CHECK_INT(k.n_vlan, 2);
	CHECK_INT(k.vlan[0], 100);
	CHECK_INT(k.vlan[1], 200);
	CHECK_INT(k.dport, 5080);

	/* IPv6 with a hop-by-hop and a destination-options header, then TCP */
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, b6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
	p.n = 0;
	pb_eth(&p, 0, 0x86dd);
	pb_ipv6(&p, a6, b6, 0, 8 + 8 + 20 + strlen(sip));
	pb_u8(&p, 60); pb_u8(&p, 0); pb_u32(&p, 0); pb_u16(&p, 0); /* hop-by-hop, 8 bytes */
	pb_u8(&p, 6); pb_u8(&p, 0); pb_u32(&p, 0); pb_u16(&p, 0);  /* dest opts -> TCP */
	pb_tcp(&p, 40000, 5060, 1000, 0, 0x18, sip, strlen(sip));
	CHECK_INT(afgw_packet_decode(AFGW_LINK_ETHERNET, p.b, p.n, p.n, &k), AFGW_PKT_OK);
	CHECK_INT(k.ip_version, 6);
	CHECK_INT(k.l4proto, 6);
	CHECK_INT(k.tcp_seq, 1000);
	CHECK_MEM(k.payload, k.payload_len, sip);
	afgw_ip_format(&k.dst, k.dport, txt, sizeof(txt));
	CHECK(strcmp(txt, "[2001:db8::2]:5060") == 0);

	/* Linux cooked SLL: 16-byte header, protocol at 14 */
	p.n = 0;
	pb_u16(&p, 0); pb_u16(&p, 1); pb_u16(&p, 6);
	pb_mem(&p, macs, 8);
	pb_u16(&p, 0x0800);
	pb_ipv4(&p, 0x0a000001, 0x0a000002, 17, 8 + strlen(sip), 1, 0, 0);
	pb_udp(&p, 1, 5060, sip, strlen(sip));
	CHECK_INT(afgw_packet_decode(AFGW_LINK_LINUX_SLL, p.b, p.n, p.n, &k), AFGW_PKT_OK);
	CHECK_MEM(k.payload, k.payload_len, sip);

	/* SLL2: protocol first, 20-byte header */
	p.n = 0;
	pb_u16(&p, 0x0800); pb_u16(&p, 0); pb_u32(&p, 2); pb_u16(&p, 1); pb_u8(&p, 0); pb_u8(&p, 6);
	pb_mem(&p, macs, 8);
	pb_ipv4(&p, 0x0a000001, 0x0a000002, 17, 8 + strlen(sip), 1, 0, 0);
	pb_udp(&p, 1, 5060, sip, strlen(sip));
	CHECK_INT(afgw_packet_decode(AFGW_LINK_LINUX_SLL2, p.b, p.n, p.n, &k), AFGW_PKT_OK);
	CHECK_MEM(k.payload, k.payload_len, sip);

	/* Raw IP and BSD null loopback */
	p.n = 0;
	pb_ipv4(&p, 0x7f000001, 0x7f000001, 17, 8 + strlen(sip), 1, 0, 0);
	pb_udp(&p, 1, 5060, sip, strlen(sip));
	CHECK_INT(afgw_packet_decode(AFGW_LINK_RAW, p.b, p.n, p.n, &k), AFGW_PKT_OK);
	CHECK_INT(afgw_packet_decode(AFGW_LINK_IPV4, p.b, p.n, p.n, &k), AFGW_PKT_OK);
	struct pb q;
	q.n = 0;
	pb_u32(&q, 0x02000000); /* AF_INET, little-endian host order */
	pb_mem(&q, p.b, p.n);
	CHECK_INT(afgw_packet_decode(AFGW_LINK_NULL, q.b, q.n, q.n, &k), AFGW_PKT_OK);
	CHECK_MEM(k.payload, k.payload_len, sip);

	/* A fragment is reported, with its offset and payload */
	p.n = 0;
	pb_eth(&p, 0, 0x0800);
	pb_ipv4(&p, 0x0a000001, 0x0a000002, 17, 16, 77, 1480, 1);
	pb_mem(&p, "0123456789abcdef", 16);
	CHECK_INT(afgw_packet_decode(AFGW_LINK_ETHERNET, p.b, p.n, p.n, &k), AFGW_PKT_FRAGMENT);
	CHECK_INT(k.frag_id, 77);
	CHECK_INT(k.frag_offset, 1480);
	CHECK(k.frag_more);
	CHECK_INT(k.frag_len, 16);

	/* Lying lengths: IPv4 total length past the frame, UDP length past the IP payload */
	p.n = 0;
	pb_eth(&p, 0, 0x0800);
	pb_ipv4(&p, 1, 2, 17, 500, 1, 0, 0);
	pb_udp(&p, 1, 5060, sip, strlen(sip));
	CHECK_INT(afgw_packet_decode(AFGW_LINK_ETHERNET, p.b, p.n, p.n, &k), AFGW_PKT_BAD_IP);
	p.n = 0;
	pb_eth(&p, 0, 0x0800);
	pb_ipv4(&p, 1, 2, 17, 8 + strlen(sip), 1, 0, 0);
	pb_u16(&p, 1); pb_u16(&p, 5060); pb_u16(&p, 4000); pb_u16(&p, 0);
	pb_mem(&p, sip, strlen(sip));
	CHECK_INT(afgw_packet_decode(AFGW_LINK_ETHERNET, p.b, p.n, p.n, &k), AFGW_PKT_BAD_L4);

	/* Cut by the snap length: what was captured is still decoded */
	p.n = 0;
	pb_eth(&p, 0, 0x0800);
	pb_ipv4(&p, 1, 2, 17, 8 + strlen(sip), 1, 0, 0);
	pb_udp(&p, 1, 5060, sip, strlen(sip));
	CHECK_INT(afgw_packet_decode(AFGW_LINK_ETHERNET, p.b, p.n - 5, p.n, &k), AFGW_PKT_OK);
	CHECK(k.l4_truncated);
	CHECK_INT(k.payload_len, strlen(sip) - 5);

	/* Every prefix of a frame is handled without reading past it */
	for (size_t n = 0; n < p.n; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, p.b, n);
		enum afgw_pkt_status st = afgw_packet_decode(AFGW_LINK_ETHERNET, copy, n, n, &k);
		CHECK(st != AFGW_PKT_OK || n == p.n);
		free(copy);
	}

	/* Not IP, and an unknown link type */
	p.n = 0;
	pb_eth(&p, 0, 0x0806);
	pb_u32(&p, 0);
	CHECK_INT(afgw_packet_decode(AFGW_LINK_ETHERNET, p.b, p.n, p.n, &k), AFGW_PKT_NOT_IP);
	CHECK_INT(afgw_packet_decode(9999, p.b, p.n, p.n, &k), AFGW_PKT_UNSUPPORTED_LINK);
	return check_report();
}
