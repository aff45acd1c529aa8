/*
 * test_sip_reply.c - the response frame bridge mode sends back to the
 * caller of a blocked request (gateway/sip_reply.c).
 *
 * Request frames are built by hand (pktbuild.h, plus QinQ, IPv4 options
 * and an IPv6 hop-by-hop header written out here), answered, and the
 * answer is decoded again with afgw_packet_decode + afgw_sip_parse: the
 * whole SIP text is compared with the text RFC 3261 §8.2.6 asks for, the
 * link, IP and UDP headers field by field, and both checksums are
 * recomputed with the small independent function below.  Then the
 * refusals, every cap short of the answer (-ENOSPC), every prefix of a
 * request (-EINVAL), and one answer through tshark when it is installed.
 *
 * Every call works on exact-size heap copies of the frame and of the
 * output buffer, so ASan sees any read or write outside them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afgw/packet.h"
#include "afgw/sip.h"
#include "afgw/sip_reply.h"
#include "check.h"
#include "pktbuild.h"

#define CALLER_PORT 5062
#define GW_PORT     5060

static const uint8_t mac_gw[6] = { 2, 0, 0, 0, 0, 1 };     /* pb_eth's destination */
static const uint8_t mac_caller[6] = { 2, 0, 0, 0, 0, 2 }; /* pb_eth's source */
static const uint32_t ip4_caller = 0xcb007109;             /* 203.0.113.9 */
static const uint32_t ip4_gw = 0xc6336407;                 /* 198.51.100.7 */
static const uint8_t ip6_caller[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					0,    0,    0,    0,    0, 0, 0, 9 }; /* 2001:db8::9 */
static const uint8_t ip6_gw[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				    0,    0,    0,    0,    0, 0, 0, 7 }; /* 2001:db8::7 */

/* ---- SIP texts ------------------------------------------------------- */

/* An INVITE with two Vias (the second in compact form), To without a tag
 * and a body that looks like a compact Via (it must not be copied). */
static const char invite1[] =
    "INVITE sip:+12125550100@gw.example.net SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 203.0.113.9:5062;branch=z9hG4bK776asdhds\r\n"
    "v: SIP/2.0/UDP 10.0.0.2:5064;branch=z9hG4bKnashds8;received=10.0.0.2\r\n"
    "Max-Forwards: 70\r\n"
    "To: \"Bob\" <sip:+12125550100@gw.example.net>\r\n"
    "From: \"Mallory\" <sip:+15555550123@203.0.113.9>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:+15555550123@203.0.113.9:5062>\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 31\r\n"
    "\r\n"
    "v: SIP/2.0/UDP evil;branch=z9\r\n";

static const char reply1[] =
    "SIP/2.0 607 Unwanted\r\n"
    "Via: SIP/2.0/UDP 203.0.113.9:5062;branch=z9hG4bK776asdhds\r\n"
    "Via: SIP/2.0/UDP 10.0.0.2:5064;branch=z9hG4bKnashds8;received=10.0.0.2\r\n"
    "From: \"Mallory\" <sip:+15555550123@203.0.113.9>;tag=1928301774\r\n"
    "To: \"Bob\" <sip:+12125550100@gw.example.net>;tag=t607\r\n"
    "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Reason: SIP;cause=607;text=\"Unwanted\"\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* Names in odd case and compact form, a Via line with two values, a
 * folded Via, a To that has a tag, LWS inside CSeq, LF-only line ends on
 * two lines. */
static const char invite2[] =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "VIA: SIP/2.0/UDP  proxy.example.com;branch=z9hG4bK1, SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK2\r\n"
    "Max-Forwards: 69\n"
    "v : SIP/2.0/UDP\r\n 192.0.2.9:5070\r\n\t;branch=z9hG4bK3\r\n"
    "f: <sip:alice@example.org>;tag=aa\r\n"
    "t: <sip:bob@example.com>;tag=bb\n"
    "i: 12345@192.0.2.9\r\n"
    "cseq:   7   INVITE  \r\n"
    "l: 0\r\n"
    "\r\n";

static const char reply2[] =
    "SIP/2.0 607 Unwanted\r\n"
    "Via: SIP/2.0/UDP  proxy.example.com;branch=z9hG4bK1, SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK2\r\n"
    "Via: SIP/2.0/UDP 192.0.2.9:5070\t;branch=z9hG4bK3\r\n"
    "From: <sip:alice@example.org>;tag=aa\r\n"
    "To: <sip:bob@example.com>;tag=bb\r\n"
    "Call-ID: 12345@192.0.2.9\r\n"
    "CSeq: 7   INVITE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* A To in addr-spec form without a tag, no Content-Length, one Via. */
static const char invite3[] =
    "INVITE tel:+12125550100 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP [2001:db8::9]:5062;branch=z9hG4bKv6\r\n"
    "From: <tel:+15555550123>;tag=x1\r\n"
    "To: tel:+12125550100\r\n"
    "Call-ID: v6call@2001:db8::9\r\n"
    "CSeq: 1 INVITE\r\n"
    "\r\n";

static const char reply3[] = "SIP/2.0 607 Unwanted\r\n"
			     "Via: SIP/2.0/UDP [2001:db8::9]:5062;branch=z9hG4bKv6\r\n"
			     "From: <tel:+15555550123>;tag=x1\r\n"
			     "To: tel:+12125550100;tag=afgw\r\n"
			     "Call-ID: v6call@2001:db8::9\r\n"
			     "CSeq: 1 INVITE\r\n"
			     "Content-Length: 0\r\n"
			     "\r\n";

static const char response[] = "SIP/2.0 180 Ringing\r\n"
			       "Via: SIP/2.0/UDP 203.0.113.9:5062;branch=z9hG4bK1\r\n"
			       "From: <sip:a@example.org>;tag=1\r\n"
			       "To: <sip:b@example.com>;tag=2\r\n"
			       "Call-ID: r@x\r\n"
			       "CSeq: 1 INVITE\r\n"
			       "Content-Length: 0\r\n"
			       "\r\n";

static const char no_call_id[] = "INVITE sip:b@example.com SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP 203.0.113.9:5062;branch=z9hG4bK1\r\n"
				 "From: <sip:a@example.org>;tag=1\r\n"
				 "To: <sip:b@example.com>\r\n"
				 "CSeq: 1 INVITE\r\n"
				 "\r\n";

static const char no_via[] = "INVITE sip:b@example.com SIP/2.0\r\n"
			     "From: <sip:a@example.org>;tag=1\r\n"
			     "To: <sip:b@example.com>\r\n"
			     "Call-ID: nv@x\r\n"
			     "CSeq: 1 INVITE\r\n"
			     "\r\n";

static const char empty_call_id[] = "INVITE sip:b@example.com SIP/2.0\r\n"
				    "Via: SIP/2.0/UDP 203.0.113.9:5062;branch=z9hG4bK1\r\n"
				    "From: <sip:a@example.org>;tag=1\r\n"
				    "To: <sip:b@example.com>\r\n"
				    "Call-ID:   \r\n"
				    "CSeq: 1 INVITE\r\n"
				    "\r\n";

static const char ack[] = "ACK sip:b@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 203.0.113.9:5062;branch=z9hG4bK1\r\n"
			  "From: <sip:a@example.org>;tag=1\r\n"
			  "To: <sip:b@example.com>;tag=2\r\n"
			  "Call-ID: ack@x\r\n"
			  "CSeq: 1 ACK\r\n"
			  "\r\n";

/* A lone CR inside the Call-ID value: never copied into our answer. */
static const char lone_cr[] = "INVITE sip:b@example.com SIP/2.0\r\n"
			      "Via: SIP/2.0/UDP 203.0.113.9:5062;branch=z9hG4bK1\r\n"
			      "From: <sip:a@example.org>;tag=1\r\n"
			      "To: <sip:b@example.com>\r\n"
			      "Call-ID: cr\rinjected: x\r\n"
			      "CSeq: 1 INVITE\r\n"
			      "\r\n";

/* ---- frames ---------------------------------------------------------- */

enum vlan_kind { NO_TAG, ONE_TAG, QINQ };

static void eth(struct pb *p, enum vlan_kind vk, unsigned et)
{
	pb_mem(p, mac_gw, 6);
	pb_mem(p, mac_caller, 6);
	if (vk == QINQ) {
		pb_u16(p, 0x88a8); /* S-tag: PCP 3, VLAN 200 */
		pb_u16(p, 0x60c8);
		pb_u16(p, 0x8100); /* C-tag: PCP 5, DEI, VLAN 100 */
		pb_u16(p, 0xb064);
	} else if (vk == ONE_TAG) {
		pb_u16(p, 0x8100); /* PCP 1, VLAN 100 */
		pb_u16(p, 0x2064);
	}
	pb_u16(p, et);
}

/* caller -> gateway, over IPv4 (tos 0xb8: DSCP EF, and ECN 0) */
static void frame4(struct pb *p, enum vlan_kind vk, const char *sip)
{
	size_t n = strlen(sip);
	p->n = 0;
	eth(p, vk, 0x0800);
	pb_ipv4(p, ip4_caller, ip4_gw, 17, 8 + n, 0x1234, 0, 0);
	p->b[p->n - 19] = 0xb9; /* tos: DSCP 46, ECN 1 (not to be copied) */
	pb_udp(p, CALLER_PORT, GW_PORT, sip, n);
}

/* caller -> gateway, over IPv6 (traffic class 0x68: DSCP 26, flow label set) */
static void frame6(struct pb *p, enum vlan_kind vk, const char *sip)
{
	size_t n = strlen(sip);
	p->n = 0;
	eth(p, vk, 0x86dd);
	size_t ip = p->n;
	pb_ipv6(p, ip6_caller, ip6_gw, 17, 8 + n);
	p->b[ip] = 0x66;     /* version 6, traffic class 0x6b: DSCP 26, ECN 3 */
	p->b[ip + 1] = 0xb1; /* flow label 0x12345 */
	p->b[ip + 2] = 0x23;
	p->b[ip + 3] = 0x45;
	pb_udp(p, CALLER_PORT, GW_PORT, sip, n);
}

/* IPv4 with 4 bytes of options (IHL 6): NOP NOP NOP EOL. */
static void frame4_options(struct pb *p, const char *sip)
{
	size_t n = strlen(sip);
	p->n = 0;
	eth(p, NO_TAG, 0x0800);
	pb_u8(p, 0x46);
	pb_u8(p, 0);
	pb_u16(p, (unsigned)(24 + 8 + n));
	pb_u16(p, 7);
	pb_u16(p, 0);
	pb_u8(p, 5);
	pb_u8(p, 17);
	pb_u16(p, 0);
	pb_u32(p, ip4_caller);
	pb_u32(p, ip4_gw);
	pb_u32(p, 0x01010100);
	pb_udp(p, CALLER_PORT, GW_PORT, sip, n);
}

/* IPv6 with a hop-by-hop options header (PadN) before UDP. */
static void frame6_hbh(struct pb *p, const char *sip)
{
	static const uint8_t hbh[8] = { 17, 0, 1, 4, 0, 0, 0, 0 };
	size_t n = strlen(sip);
	p->n = 0;
	eth(p, NO_TAG, 0x86dd);
	pb_ipv6(p, ip6_caller, ip6_gw, 0, 8 + 8 + n);
	pb_mem(p, hbh, 8);
	pb_udp(p, CALLER_PORT, GW_PORT, sip, n);
}

/* ---- calling it on exact-size copies --------------------------------- */

static uint8_t reply[AFGW_SIP_REPLY_MAX];

/* The answer to frame[0..len) into reply (through an exact-size heap buffer of cap bytes). */
static int answer_cap(const uint8_t *frame, size_t len, int linktype, const char *to_tag,
		      const char *extra, size_t cap)
{
	uint8_t *in = malloc(len ? len : 1), *out = malloc(cap ? cap : 1);
	if (!in || !out)
		abort();
	if (len)
		memcpy(in, frame, len);
	int n = afgw_sip_reply_frame(in, len, linktype, 607, "Unwanted", to_tag, extra, out, cap);
	if (n > 0 && (size_t)n <= cap && (size_t)n <= sizeof(reply))
		memcpy(reply, out, (size_t)n);
	free(in);
	free(out);
	return n;
}

static int answer(const struct pb *p, const char *to_tag, const char *extra)
{
	return answer_cap(p->b, p->n, 1, to_tag, extra, AFGW_SIP_REPLY_MAX);
}

/* ---- an independent checksum (RFC 1071, over a list of pieces) --------- */

/* One's-complement sum of the concatenation of the pieces, folded; a correct
 * header or segment, checksum field included, sums to 0xffff. */
static unsigned ones_sum(const uint8_t *const *piece, const size_t *plen, int k)
{
	uint64_t s = 0;
	int odd = 0;
	for (int i = 0; i < k; i++)
		for (size_t j = 0; j < plen[i]; j++, odd ^= 1)
			s += odd ? piece[i][j] : (uint64_t)piece[i][j] << 8;
	while (s > 0xffff)
		s = (s >> 16) + (s & 0xffff);
	return (unsigned)s;
}

/* ---- checking an answer ---------------------------------------------- */

struct expect {
	enum vlan_kind vk;
	int v;                /* 4 or 6 */
	const char *request;  /* the SIP text of the request */
	const char *sip;      /* the whole expected SIP text */
	const char *to_tag;   /* the To tag the answer must carry */
	uint8_t dscp;         /* the DSCP the answer must carry (the request's) */
};

static unsigned rd16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Every Via value of a SIP message's header section, in order, as "a|b|c". */
static void via_list(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	const char *e = s + n, *p = memchr(s, '\n', n);
	out[0] = '\0';
	for (p = p ? p + 1 : e; p < e && *p != '\r' && *p != '\n';) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		const char *le = nl ? nl : e;
		if (le > p && le[-1] == '\r')
			le--;
		if (le - p > 5 && memcmp(p, "Via: ", 5) == 0) {
			size_t k = (size_t)(le - p - 5);
			if (o && o + 1 < cap)
				out[o++] = '|';
			if (o + k < cap) {
				memcpy(out + o, p + 5, k);
				o += k;
			}
			out[o] = '\0';
		}
		p = nl ? nl + 1 : e;
	}
}

static void check_answer(int n, const struct expect *x)
{
	CHECK(n > 0);
	if (n <= 0)
		return;
	const uint8_t *f = reply;
	size_t len = (size_t)n;

	/* link layer: addresses swapped, tags and EtherType byte for byte */
	size_t l3 = x->vk == QINQ ? 22 : x->vk == ONE_TAG ? 18 : 14;
	struct pb req;
	if (x->v == 4)
		frame4(&req, x->vk, x->request);
	else
		frame6(&req, x->vk, x->request);
	CHECK(memcmp(f, mac_caller, 6) == 0);
	CHECK(memcmp(f + 6, mac_gw, 6) == 0);
	CHECK(memcmp(f + 12, req.b + 12, l3 - 12) == 0);

	/* decoded again */
	struct afgw_pkt pkt;
	CHECK_INT(afgw_packet_decode(1, f, len, len, &pkt), AFGW_PKT_OK);
	CHECK_INT(pkt.ip_version, x->v);
	CHECK_INT(pkt.l4proto, 17);
	CHECK_INT(pkt.n_vlan, x->vk == QINQ ? 2 : x->vk == ONE_TAG ? 1 : 0);
	if (x->vk == QINQ) {
		CHECK_INT(pkt.vlan[0], 200);
		CHECK_INT(pkt.vlan[1], 100);
	} else if (x->vk == ONE_TAG) {
		CHECK_INT(pkt.vlan[0], 100);
	}
	CHECK_INT(pkt.sport, GW_PORT);
	CHECK_INT(pkt.dport, CALLER_PORT);
	CHECK(!pkt.l4_truncated);

	const uint8_t *ip = f + l3, *udp;
	size_t iph = x->v == 4 ? 20 : 40;
	udp = ip + iph;
	size_t udp_len = len - l3 - iph;
	CHECK_INT(rd16(udp + 4), udp_len);
	CHECK(udp_len == 8 + pkt.payload_len);
	uint8_t pseudo[40];
	size_t pl;
	if (x->v == 4) {
		uint8_t a[4];
		a[0] = ip4_gw >> 24, a[1] = ip4_gw >> 16 & 255, a[2] = ip4_gw >> 8 & 255,
		a[3] = ip4_gw & 255;
		CHECK(memcmp(pkt.src.a, a, 4) == 0);
		CHECK(memcmp(ip + 12, a, 4) == 0);
		a[0] = ip4_caller >> 24, a[1] = ip4_caller >> 16 & 255,
		a[2] = ip4_caller >> 8 & 255, a[3] = ip4_caller & 255;
		CHECK(memcmp(pkt.dst.a, a, 4) == 0);
		CHECK(memcmp(ip + 16, a, 4) == 0);
		CHECK_INT(ip[0], 0x45); /* plain 20-byte header */
		CHECK_INT(ip[1], x->dscp);
		CHECK_INT(rd16(ip + 2), len - l3);
		CHECK_INT(rd16(ip + 4), 0);      /* id 0 */
		CHECK_INT(rd16(ip + 6), 0x4000); /* DF, offset 0 */
		CHECK_INT(ip[8], 64);
		CHECK_INT(ip[9], 17);
		const uint8_t *pc[1] = { ip };
		size_t pn[1] = { 20 };
		CHECK_INT(ones_sum(pc, pn, 1), 0xffff);
		/* pseudo-header: src, dst, 0, 17, UDP length */
		memcpy(pseudo, ip + 12, 8);
		pseudo[8] = 0, pseudo[9] = 17;
		pseudo[10] = (uint8_t)(udp_len >> 8), pseudo[11] = (uint8_t)udp_len;
		pl = 12;
	} else {
		CHECK(memcmp(pkt.src.a, ip6_gw, 16) == 0);
		CHECK(memcmp(pkt.dst.a, ip6_caller, 16) == 0);
		CHECK_INT(ip[0] >> 4, 6);
		CHECK_INT(((ip[0] & 15) << 4 | ip[1] >> 4), x->dscp);
		CHECK_INT(((ip[1] & 15) << 16 | ip[2] << 8 | ip[3]), 0); /* flow label */
		CHECK_INT(rd16(ip + 4), udp_len);
		CHECK_INT(ip[6], 17); /* UDP right after the fixed header */
		CHECK_INT(ip[7], 64);
		/* pseudo-header: src, dst, 32-bit length, 3 zero bytes, 17 */
		memcpy(pseudo, ip + 8, 32);
		pseudo[32] = (uint8_t)(udp_len >> 24), pseudo[33] = (uint8_t)(udp_len >> 16);
		pseudo[34] = (uint8_t)(udp_len >> 8), pseudo[35] = (uint8_t)udp_len;
		pseudo[36] = pseudo[37] = pseudo[38] = 0, pseudo[39] = 17;
		pl = 40;
	}
	CHECK(rd16(udp + 6) != 0); /* a checksum is there */
	const uint8_t *uc[2] = { pseudo, udp };
	size_t un[2] = { pl, udp_len };
	CHECK_INT(ones_sum(uc, un, 2), 0xffff);

	/* the SIP text, whole, then as the parser reads it */
	CHECK_MEM(pkt.payload, pkt.payload_len, x->sip);
	struct afgw_sip_msg m, q;
	CHECK_INT(afgw_sip_parse((const char *)pkt.payload, pkt.payload_len, &m, 0), 0);
	CHECK_INT(afgw_sip_parse(x->request, strlen(x->request), &q, 0), 0);
	CHECK(!m.is_request);
	CHECK(m.valid);
	CHECK_INT(m.status, 607);
	CHECK_STR(m.reason, "Unwanted");
	CHECK_INT(m.content_length, 0);
	CHECK_INT(m.body.len, 0);
	CHECK_INT(m.msg_len, pkt.payload_len);
	CHECK(m.call_id.len == q.call_id.len && memcmp(m.call_id.p, q.call_id.p, q.call_id.len) == 0);
	CHECK_INT(m.cseq, q.cseq);
	CHECK(m.cseq_method.len == q.cseq_method.len &&
	      memcmp(m.cseq_method.p, q.cseq_method.p, q.cseq_method.len) == 0);
	CHECK(m.from.tag.len == q.from.tag.len &&
	      memcmp(m.from.tag.p, q.from.tag.p, q.from.tag.len) == 0);
	CHECK(m.from.uri.len == q.from.uri.len &&
	      memcmp(m.from.uri.p, q.from.uri.p, q.from.uri.len) == 0);
	CHECK(m.to.uri.len == q.to.uri.len && memcmp(m.to.uri.p, q.to.uri.p, q.to.uri.len) == 0);
	CHECK_STR(m.to.tag, x->to_tag);
	CHECK(m.via.len == q.via.len && memcmp(m.via.p, q.via.p, q.via.len) == 0);
}

/* ---- the tests ------------------------------------------------------- */

static struct pb req;

static void test_ipv4_two_vias(void)
{
	char vias[512];
	frame4(&req, NO_TAG, invite1);
	int n = answer(&req, "t607", "Reason: SIP;cause=607;text=\"Unwanted\"");
	struct expect x = { NO_TAG, 4, invite1, reply1, "t607", 0xb8 };
	check_answer(n, &x);
	/* Via order, read by a scan of our own */
	via_list(reply1, strlen(reply1), vias, sizeof(vias));
	CHECK_CSTR(vias, "SIP/2.0/UDP 203.0.113.9:5062;branch=z9hG4bK776asdhds|"
			 "SIP/2.0/UDP 10.0.0.2:5064;branch=z9hG4bKnashds8;received=10.0.0.2");
	struct afgw_pkt pkt;
	CHECK_INT(afgw_packet_decode(1, reply, (size_t)n, (size_t)n, &pkt), AFGW_PKT_OK);
	via_list((const char *)pkt.payload, pkt.payload_len, vias, sizeof(vias));
	CHECK(strstr(vias, "evil") == NULL); /* the body's "v:" line is not a header */
	CHECK(memchr(pkt.payload, 0, pkt.payload_len) == NULL);
}

static void test_ipv4_vlan_and_qinq(void)
{
	frame4(&req, ONE_TAG, invite1);
	struct expect x = { ONE_TAG, 4, invite1, reply1, "t607", 0xb8 };
	check_answer(answer(&req, "t607", "Reason: SIP;cause=607;text=\"Unwanted\""), &x);

	frame4(&req, QINQ, invite2);
	struct expect y = { QINQ, 4, invite2, reply2, "bb", 0xb8 };
	check_answer(answer(&req, "t607", NULL), &y);
}

static void test_ipv6(void)
{
	frame6(&req, NO_TAG, invite3);
	struct expect x = { NO_TAG, 6, invite3, reply3, "afgw", 0x68 };
	check_answer(answer(&req, NULL, NULL), &x);

	frame6(&req, ONE_TAG, invite2);
	struct expect y = { ONE_TAG, 6, invite2, reply2, "bb", 0x68 };
	check_answer(answer(&req, NULL, NULL), &y);

	frame6(&req, QINQ, invite1);
	struct expect z = { QINQ, 6, invite1, reply1, "t607", 0x68 };
	check_answer(answer(&req, "t607", "Reason: SIP;cause=607;text=\"Unwanted\""), &z);
}

/* IPv4 options and IPv6 extension headers are not copied: plain headers come back. */
static void test_plain_headers(void)
{
	frame4_options(&req, invite3);
	int n = answer(&req, NULL, NULL);
	struct expect x = { NO_TAG, 4, invite3, reply3, "afgw", 0 };
	check_answer(n, &x);
	CHECK_INT(n, 14 + 20 + 8 + (int)strlen(reply3));

	frame6_hbh(&req, invite3);
	n = answer(&req, NULL, NULL);
	struct expect y = { NO_TAG, 6, invite3, reply3, "afgw", 0 };
	check_answer(n, &y);
	CHECK_INT(n, 14 + 40 + 8 + (int)strlen(reply3));

	/* Ethernet padding after the IP packet is ignored */
	frame4(&req, NO_TAG, invite3);
	memset(req.b + req.n, 0, 16);
	req.n += 16;
	struct expect z = { NO_TAG, 4, invite3, reply3, "afgw", 0xb8 };
	check_answer(answer(&req, NULL, NULL), &z);
}

/* An odd-length SIP text exercises the checksum's padding byte. */
static void test_odd_length(void)
{
	frame4(&req, NO_TAG, invite1);
	int even = answer(&req, "t607", NULL);
	frame4(&req, NO_TAG, invite1);
	int odd = answer(&req, "t6071", NULL);
	CHECK_INT(odd, even + 1);
	char text[sizeof(reply1) + 8];
	/* reply1 without the Reason line, with a longer tag */
	const char *r = strstr(reply1, "Reason:"), *e = strstr(reply1, "Content-Length");
	const char *t = strstr(reply1, ";tag=t607");
	size_t o = 0;
	memcpy(text, reply1, (size_t)(t - reply1) + 9);
	o = (size_t)(t - reply1) + 9;
	text[o++] = '1';
	memcpy(text + o, t + 9, (size_t)(r - t - 9));
	o += (size_t)(r - t - 9);
	memcpy(text + o, e, strlen(e) + 1);
	struct expect x = { NO_TAG, 4, invite1, text, "t6071", 0xb8 };
	check_answer(odd, &x);
}

static void test_refusals(void)
{
	struct pb *p = &req;

	frame4(p, NO_TAG, response);
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);
	frame4(p, NO_TAG, no_call_id);
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);
	frame4(p, NO_TAG, no_via);
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);
	frame6(p, NO_TAG, empty_call_id);
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);
	frame4(p, NO_TAG, ack);
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);
	frame4(p, NO_TAG, lone_cr);
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);
	frame4(p, NO_TAG, "not SIP at all\r\n\r\n");
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);

	/* TCP */
	size_t n = strlen(invite1);
	p->n = 0;
	eth(p, NO_TAG, 0x0800);
	pb_ipv4(p, ip4_caller, ip4_gw, 6, 20 + n, 1, 0, 0);
	pb_tcp(p, CALLER_PORT, GW_PORT, 1, 1, 0x18, invite1, n);
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);

	/* an IPv4 first fragment (MF) holding the whole UDP header and the start */
	p->n = 0;
	eth(p, NO_TAG, 0x0800);
	pb_ipv4(p, ip4_caller, ip4_gw, 17, 8 + n, 1, 0, 1);
	pb_udp(p, CALLER_PORT, GW_PORT, invite1, n);
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);
	/* a last fragment */
	p->n = 0;
	eth(p, NO_TAG, 0x0800);
	pb_ipv4(p, ip4_caller, ip4_gw, 17, n, 1, 1480, 0);
	pb_mem(p, invite1, n);
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);
	/* an IPv6 fragment header, more fragments */
	static const uint8_t frag[8] = { 17, 0, 0, 1, 0, 0, 0, 42 };
	p->n = 0;
	eth(p, NO_TAG, 0x86dd);
	pb_ipv6(p, ip6_caller, ip6_gw, 44, 8 + 8 + n);
	pb_mem(p, frag, 8);
	pb_udp(p, CALLER_PORT, GW_PORT, invite1, n);
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);

	/* not Ethernet: the same IPv4 packet as raw IP (101) and as LINUX_SLL (113) */
	frame4(p, NO_TAG, invite1);
	CHECK_INT(answer_cap(p->b + 14, p->n - 14, 101, NULL, NULL, AFGW_SIP_REPLY_MAX), -EINVAL);
	CHECK_INT(answer_cap(p->b, p->n, 113, NULL, NULL, AFGW_SIP_REPLY_MAX), -EINVAL);
	CHECK_INT(answer_cap(p->b, p->n, 0, NULL, NULL, AFGW_SIP_REPLY_MAX), -EINVAL);
	CHECK(answer_cap(p->b, p->n, 1, NULL, NULL, AFGW_SIP_REPLY_MAX) > 0);

	/* sent to a group address: multicast MAC, IPv4 multicast / broadcast, IPv6 multicast */
	frame4(p, NO_TAG, invite1);
	p->b[0] = 0x01;
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);
	frame4(p, NO_TAG, invite1);
	p->b[14 + 16] = 224;
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);
	frame4(p, NO_TAG, invite1);
	memset(p->b + 14 + 16, 255, 4);
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);
	frame6(p, NO_TAG, invite1);
	p->b[14 + 24] = 0xff;
	CHECK_INT(answer(p, NULL, NULL), -EINVAL);

	/* arguments */
	frame4(p, NO_TAG, invite1);
	uint8_t out[AFGW_SIP_REPLY_MAX];
	CHECK_INT(afgw_sip_reply_frame(p->b, p->n, 1, 99, "x", NULL, NULL, out, sizeof(out)),
		  -EINVAL);
	CHECK_INT(afgw_sip_reply_frame(p->b, p->n, 1, 700, "x", NULL, NULL, out, sizeof(out)),
		  -EINVAL);
	CHECK_INT(afgw_sip_reply_frame(p->b, p->n, 1, 607, NULL, NULL, NULL, out, sizeof(out)),
		  -EINVAL);
	CHECK_INT(afgw_sip_reply_frame(p->b, p->n, 1, 607, "Un\r\nX: y", NULL, NULL, out,
				       sizeof(out)),
		  -EINVAL);
	CHECK_INT(afgw_sip_reply_frame(p->b, p->n, 1, 607, "Unwanted", "a b", NULL, out,
				       sizeof(out)),
		  -EINVAL);
	CHECK_INT(afgw_sip_reply_frame(p->b, p->n, 1, 607, "Unwanted", "", NULL, out, sizeof(out)),
		  -EINVAL);
	CHECK_INT(afgw_sip_reply_frame(p->b, p->n, 1, 607, "Unwanted", NULL, "X: a\r\nY: b", out,
				       sizeof(out)),
		  -EINVAL);
	CHECK_INT(afgw_sip_reply_frame(p->b, p->n, 1, 607, "Unwanted", NULL, "", out, sizeof(out)),
		  -EINVAL);
	CHECK_INT(afgw_sip_reply_frame(p->b, p->n, 1, 607, "Unwanted", NULL, "no colon", out,
				       sizeof(out)),
		  -EINVAL);
	CHECK(afgw_sip_reply_frame(p->b, p->n, 1, 603, "Decline", NULL, "X-A: b", out,
				   sizeof(out)) > 0);
}

/* Every cap short of the answer is -ENOSPC, written into an exact-size buffer. */
static void test_cap(void)
{
	frame6(&req, QINQ, invite1);
	int full = answer(&req, "t607", NULL);
	CHECK(full > 0);
	int bad = 0;
	for (size_t cap = 0; cap < (size_t)full; cap++)
		if (answer_cap(req.b, req.n, 1, "t607", NULL, cap) != -ENOSPC)
			bad++;
	CHECK_INT(bad, 0);
	CHECK_INT(answer_cap(req.b, req.n, 1, "t607", NULL, (size_t)full), full);
}

/* Every prefix of a request is refused, read from an exact-size copy. */
static void test_prefixes(void)
{
	int bad = 0;
	frame4(&req, ONE_TAG, invite2);
	for (size_t len = 0; len < req.n; len++)
		if (answer_cap(req.b, len, 1, NULL, NULL, AFGW_SIP_REPLY_MAX) != -EINVAL)
			bad++;
	frame6_hbh(&req, invite3);
	for (size_t len = 0; len < req.n; len++)
		if (answer_cap(req.b, len, 1, NULL, NULL, AFGW_SIP_REPLY_MAX) != -EINVAL)
			bad++;
	CHECK_INT(bad, 0);
}

/* ---- tshark ---------------------------------------------------------- */

static void le32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	fwrite(b, 1, 4, f);
}

/* One frame as a classic pcap file (LINKTYPE_ETHERNET). */
static int write_pcap(const char *path, const uint8_t *f, size_t n)
{
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return -1;
	le32(fp, 0xa1b2c3d4);
	le32(fp, 0x00040002); /* version 2.4 */
	le32(fp, 0);
	le32(fp, 0);
	le32(fp, 65535);
	le32(fp, 1);
	le32(fp, 1700000000);
	le32(fp, 0);
	le32(fp, (uint32_t)n);
	le32(fp, (uint32_t)n);
	fwrite(f, 1, n, fp);
	return fclose(fp);
}

/* What tshark says about one frame: its -T fields line for fields. */
static int tshark_fields(const uint8_t *f, size_t n, const char *fields, char *out, size_t cap)
{
	char path[] = "/tmp/test_sip_reply_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	int rc = -1;
	if (write_pcap(path, f, n) == 0) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd),
			 "tshark -n -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE "
			 "-r %s -T fields %s 2>/dev/null",
			 path, fields);
		FILE *pp = popen(cmd, "r");
		if (pp) {
			size_t k = fread(out, 1, cap - 1, pp);
			out[k] = '\0';
			rc = pclose(pp) == 0 ? 0 : -1;
		}
	}
	unlink(path);
	return rc;
}

static void test_tshark(void)
{
	if (system("command -v tshark >/dev/null 2>&1") != 0) {
		printf("note: tshark not installed, its cross-check skipped\n");
		return;
	}
	char got[1024];
	frame4(&req, ONE_TAG, invite1);
	int n = answer(&req, "t607", "Reason: SIP;cause=607;text=\"Unwanted\"");
	CHECK(n > 0);
	CHECK_INT(tshark_fields(reply, (size_t)n, "-e sip.Status-Code -e sip.Call-ID", got,
				sizeof(got)),
		  0);
	CHECK_CSTR(got, "607\ta84b4c76e66710@pc33.example.com\n");
	/* its checksum verdicts: Wireshark's checksum status 1 is "good", 0 "bad" */
	CHECK_INT(tshark_fields(reply, (size_t)n,
				"-e ip.checksum.status -e udp.checksum.status -e sip.tag", got,
				sizeof(got)),
		  0);
	CHECK_CSTR(got, "1\t1\t1928301774,t607\n");
	/* and it does check: a changed TTL spoils the IP checksum only */
	reply[18 + 8] ^= 1;
	CHECK_INT(tshark_fields(reply, (size_t)n, "-e ip.checksum.status -e udp.checksum.status",
				got, sizeof(got)),
		  0);
	CHECK_CSTR(got, "0\t1\n");

	frame6(&req, QINQ, invite3);
	n = answer(&req, NULL, NULL);
	CHECK(n > 0);
	CHECK_INT(tshark_fields(reply, (size_t)n,
				"-e sip.Status-Code -e sip.Call-ID -e udp.checksum.status", got,
				sizeof(got)),
		  0);
	CHECK_CSTR(got, "607\tv6call@2001:db8::9\t1\n");
}

int main(void)
{
	test_ipv4_two_vias();
	test_ipv4_vlan_and_qinq();
	test_ipv6();
	test_plain_headers();
	test_odd_length();
	test_refusals();
	test_cap();
	test_prefixes();
	test_tshark();
	return check_report();
}
