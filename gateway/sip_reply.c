/*
 * sip_reply.c - the frame bridge mode sends back to the caller of a
 * blocked request: a SIP response ("607 Unwanted", RFC 8197), ready for
 * pcap_inject on the side the request came from.
 *
 * Input: the request's whole Ethernet frame.  It is decoded again with
 * afgw_packet_decode() and afgw_sip_parse(); the response then goes back
 * the way the request came.  Ethernet: the two addresses swapped, the
 * 802.1Q / 802.1ad tags and the EtherType copied as they were.  IP: a new
 * plain header (IPv4: 20 bytes, TTL 64, DF, id 0; IPv6: 40 bytes, hop
 * limit 64, no extension headers), addresses swapped, the request's DSCP
 * kept (the caller's network classed the signalling once already), ECN
 * and flow label zero.  Options and extension headers are not copied: a
 * source route or router alert meant for the request has no business on
 * its answer.  UDP: ports swapped, the checksum computed (IPv6 requires
 * it, IPv4 gets one too).
 *
 * The SIP message follows RFC 3261 §8.2.6.2: every Via of the request, in
 * order, each header line as one Via line (compact "v:" written "Via:");
 * From, To, Call-ID and CSeq as the request wrote them (the first of each,
 * as sip.h reads them), with ";tag=" added to To when it has none; then
 * the caller's extra line and "Content-Length: 0".  sip.h keeps only the
 * topmost Via, so the header section is walked here the way decode_sip.c
 * walks it (line ends, folds, names in any case, compact forms).  A
 * folded value is unfolded (its line breaks dropped, the blanks after
 * them kept, which RFC 3261 §7.3.1 makes the same value); a value with
 * any other CR, LF or NUL is refused rather than copied into our answer.
 *
 * What it refuses (-EINVAL): anything but Ethernet, a frame the decoder
 * does not take whole (truncated, lying lengths), fragments, TCP, a
 * response, ACK (never answered, RFC 3261 §17.1.1.3), a request without
 * or with an empty Via / From / To / Call-ID / CSeq, one whose header
 * section was too big for the parser to read all of it, a request sent to
 * a group address (multicast or broadcast MAC, IPv4 multicast or
 * broadcast, IPv6 multicast), whose answer would come from an address no
 * one owns, and source port 0.
 *
 * Pure: no allocation, no I/O; every read is inside frame[0..len), every
 * write inside out[0..cap).  out must not overlap frame.  Thread: any.
 */
#include <errno.h>
#include <string.h>

#include "afgw/capture.h"
#include "afgw/packet.h"
#include "afgw/sip.h"
#include "afgw/sip_reply.h"

#define TAG_DEFAULT "afgw"
#define TTL         64
#define IP4_HDR     20
#define IP6_HDR     40
#define UDP_HDR     8
#define IP_MAX      65535u

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline void wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline bool wsp(char c)
{
	return c == ' ' || c == '\t';
}

static inline bool lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 3261 §25.1 token: alphanum and - . ! % * _ + ` ' ~ */
static bool token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("-.!%*_+`'~", c) != NULL);
}

/* ASCII case-insensitive: [p, p+n) is lit (lower case). */
static bool ci(const char *p, size_t n, const char *lit)
{
	if (n != strlen(lit))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if (c != (unsigned char)lit[i])
			return false;
	}
	return true;
}

/* Text we put on a line of our own (reason phrase, extra header): no controls but HT. */
static bool line_text_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* ---- the writer: bounded, with a sticky overflow flag --------------------- */

struct wr {
	uint8_t *p;
	size_t n, cap;
	bool over; /* something did not fit: check once at the end */
	bool bad;  /* a value held a byte we will not copy */
};

static void put(struct wr *w, const void *s, size_t n)
{
	if (w->over || n > w->cap - w->n) {
		w->over = true;
		return;
	}
	if (n)
		memcpy(w->p + w->n, s, n);
	w->n += n;
}

static void put_str(struct wr *w, const char *s)
{
	put(w, s, strlen(s));
}

/*
 * A header value as the request wrote it, unfolded: the CRLF (or bare LF)
 * of each fold is dropped, the blanks after it kept.  Inside a trimmed
 * value every LF starts a fold (decode_sip.c ends a header at the first
 * LF not followed by SP / HT), so any other CR, LF or a NUL is refused.
 */
static void put_value(struct wr *w, struct afgw_str v)
{
	size_t i = 0, run = 0;
	while (i < v.len) {
		char c = v.p[i];
		size_t brk = 0;
		if (c == '\n')
			brk = 1;
		else if (c == '\r' && i + 1 < v.len && v.p[i + 1] == '\n')
			brk = 2;
		else if (c == '\r' || c == '\0')
			w->bad = true;
		if (brk == 0) {
			i++;
			continue;
		}
		if (i + brk >= v.len || !wsp(v.p[i + brk]))
			w->bad = true;
		put(w, v.p + run, i - run);
		i += brk;
		run = i;
	}
	put(w, v.p + run, v.len - run);
}

/* ---- the request's header section ------------------------------------- */

/* The first of each header the response copies; Vias are written as they come. */
struct req_hdrs {
	struct afgw_str from, to, call_id, cseq;
	unsigned n_via;
};

static const char *skip_lws(const char *p, const char *e)
{
	while (p < e && lws(*p))
		p++;
	return p;
}

static const char *trim_end(const char *p, const char *e)
{
	while (e > p && lws(e[-1]))
		e--;
	return e;
}

static const char *find_nl(const char *p, const char *e)
{
	return p < e ? memchr(p, '\n', (size_t)(e - p)) : NULL;
}

/*
 * Walk the header section of the SIP message [p, e) as decode_sip.c does:
 * CRLFs before the start line skipped, the start line skipped, then one
 * header per line plus its folds, up to the empty line or e, at most
 * AFGW_SIP_MAX_HEADERS lines.  A line whose name is followed (after
 * blanks) by a colon counts; lines the parser rejects (a fold with nothing
 * before it, junk before the colon) count for neither.  Each Via value is
 * written to w as "Via: value\r\n"; the first From / To / Call-ID / CSeq
 * values are kept in *h.
 */
static void walk_headers(const char *p, const char *e, struct wr *w, struct req_hdrs *h)
{
	while (p < e && (*p == '\r' || *p == '\n'))
		p++;
	const char *nl = find_nl(p, e);
	p = nl ? nl + 1 : e;
	for (unsigned nhdr = 0; p < e && nhdr < AFGW_SIP_MAX_HEADERS; nhdr++) {
		if (*p == '\n' || (*p == '\r' && p + 1 < e && p[1] == '\n'))
			return; /* end of headers */
		nl = find_nl(p, e);
		while (nl && nl + 1 < e && wsp(nl[1]))
			nl = find_nl(nl + 1, e);
		const char *next = nl ? nl + 1 : e, *le = nl ? nl : e;
		if (le > p && le[-1] == '\r')
			le--;
		const char *line = p;
		p = next;
		if (wsp(*line) || *line == '\r')
			continue;
		const char *ne = line;
		while (ne < le && *ne != ':' && !wsp(*ne))
			ne++;
		const char *colon = ne;
		while (colon < le && wsp(*colon))
			colon++;
		if (colon == le || *colon != ':')
			continue;
		const char *v = skip_lws(colon + 1, le);
		struct afgw_str val = afgw_str_make(v, (size_t)(trim_end(v, le) - v));
		size_t n = (size_t)(ne - line);
		if (ci(line, n, "via") || ci(line, n, "v")) {
			if (val.len == 0)
				w->bad = true;
			put_str(w, "Via: ");
			put_value(w, val);
			put_str(w, "\r\n");
			h->n_via++;
		} else if ((ci(line, n, "from") || ci(line, n, "f")) && !h->from.p) {
			h->from = val;
		} else if ((ci(line, n, "to") || ci(line, n, "t")) && !h->to.p) {
			h->to = val;
		} else if ((ci(line, n, "call-id") || ci(line, n, "i")) && !h->call_id.p) {
			h->call_id = val;
		} else if (ci(line, n, "cseq") && !h->cseq.p) {
			h->cseq = val;
		}
	}
}

/* The SIP response into w; -EINVAL for a request we do not answer. */
static int build_sip(const char *msg, size_t len, unsigned status, const char *reason,
		     const char *to_tag, const char *extra, struct wr *w)
{
	struct afgw_sip_msg m;
	struct req_hdrs h = { 0 };
	const uint32_t missing = AFGW_SIP_A_MISSING_VIA | AFGW_SIP_A_MISSING_FROM |
				 AFGW_SIP_A_MISSING_TO | AFGW_SIP_A_MISSING_CALL_ID |
				 AFGW_SIP_A_MISSING_CSEQ | AFGW_SIP_A_TOO_MANY_HEADERS;

	if (afgw_sip_parse(msg, len, &m, 0) != 0 || !m.is_request || (m.anomalies & missing))
		return -EINVAL;
	if (afgw_str_caseeq(m.method, "ACK"))
		return -EINVAL;

	char code[4] = { (char)('0' + status / 100), (char)('0' + status / 10 % 10),
			 (char)('0' + status % 10), '\0' };
	put_str(w, "SIP/2.0 ");
	put_str(w, code);
	put_str(w, " ");
	put_str(w, reason);
	put_str(w, "\r\n");
	walk_headers(msg, msg + len, w, &h);
	if (h.n_via == 0 || !h.from.len || !h.to.len || !h.call_id.len || !h.cseq.len)
		return -EINVAL;
	put_str(w, "From: ");
	put_value(w, h.from);
	put_str(w, "\r\nTo: ");
	put_value(w, h.to);
	/* sip.h read the same first To; its tag decides */
	if (m.to.tag.len == 0) {
		put_str(w, ";tag=");
		put_str(w, to_tag);
	}
	put_str(w, "\r\nCall-ID: ");
	put_value(w, h.call_id);
	put_str(w, "\r\nCSeq: ");
	put_value(w, h.cseq);
	put_str(w, "\r\n");
	if (extra) {
		put_str(w, extra);
		put_str(w, "\r\n");
	}
	put_str(w, "Content-Length: 0\r\n\r\n");
	return w->bad ? -EINVAL : 0;
}

/* ---- checksums -------------------------------------------------------- */

/* Add [p, p+n) as big-endian 16-bit words (an odd last byte padded with zero). */
static uint32_t sum16(uint32_t s, const uint8_t *p, size_t n)
{
	for (; n >= 2; p += 2, n -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static bool group_addr(const struct afgw_ip_addr *a)
{
	if (a->family == 4)
		return (a->a[0] & 0xf0) == 0xe0 ||
		       (a->a[0] == 255 && a->a[1] == 255 && a->a[2] == 255 && a->a[3] == 255);
	return a->a[0] == 0xff;
}

/*
 * The contract is in sip_reply.h.  Order: arguments, then the request
 * (link, IP, UDP, SIP), then the SIP message written in place after the
 * room for the headers, which are filled in last, when the lengths are
 * known.
 */
int afgw_sip_reply_frame(const uint8_t *frame, size_t len, int linktype, unsigned status,
			 const char *reason, const char *to_tag, const char *extra, uint8_t *out,
			 size_t cap)
{
	struct afgw_pkt pkt;
	int rc;

	if (!to_tag)
		to_tag = TAG_DEFAULT;
	if (!frame || !out || !reason || status < 100 || status > 699 || !line_text_ok(reason))
		return -EINVAL;
	if (!*to_tag)
		return -EINVAL;
	for (const char *t = to_tag; *t; t++)
		if (!token_char(*t))
			return -EINVAL;
	if (extra) {
		/* one header line: a name, a colon, printable text */
		size_t n = 0;
		while (token_char(extra[n]))
			n++;
		if (n == 0 || !line_text_ok(extra))
			return -EINVAL;
		const char *c = extra + n;
		while (wsp(*c))
			c++;
		if (*c != ':')
			return -EINVAL;
	}
	if (linktype != AFGW_LINK_ETHERNET)
		return -EINVAL;

	/* wirelen = len: a frame cut by the snap length is not whole, so refused */
	if (afgw_packet_decode(linktype, frame, len, len, &pkt) != AFGW_PKT_OK ||
	    pkt.l4proto != 17 || pkt.l4_truncated || pkt.sport == 0)
		return -EINVAL;
	if ((frame[0] & 1) || group_addr(&pkt.dst))
		return -EINVAL;

	/* The link header as packet.c walked it: the decoder succeeded, so these reads are in frame. */
	size_t l3 = 12;
	uint16_t et = rd16(frame + l3);
	for (int tags = 0; (et == 0x8100 || et == 0x88a8 || et == 0x9100) && tags < 8; tags++) {
		l3 += 4;
		et = rd16(frame + l3);
	}
	l3 += 2;
	const bool v4 = pkt.ip_version == 4;
	const size_t iph = v4 ? IP4_HDR : IP6_HDR;
	const size_t sip_off = l3 + iph + UDP_HDR;
	const uint8_t dscp = v4 ? (uint8_t)(frame[l3 + 1] & 0xfc)
				: (uint8_t)((((frame[l3] & 0x0f) << 4) | (frame[l3 + 1] >> 4)) & 0xfc);
	if (cap < sip_off)
		return -ENOSPC;

	struct wr w = { out + sip_off, 0, cap - sip_off, false, false };
	rc = build_sip((const char *)pkt.payload, pkt.payload_len, status, reason, to_tag, extra,
		       &w);
	if (rc < 0)
		return rc;
	if (w.over)
		return -ENOSPC;
	const size_t udp_len = UDP_HDR + w.n;
	if (udp_len + (v4 ? IP4_HDR : 0) > IP_MAX)
		return -ENOSPC;

	/* Ethernet: addresses swapped, tags and EtherType as they were */
	memcpy(out, frame + 6, 6);
	memcpy(out + 6, frame, 6);
	memcpy(out + 12, frame + 12, l3 - 12);

	uint8_t *ip = out + l3, *udp = ip + iph;
	uint32_t pseudo;
	if (v4) {
		ip[0] = 0x45;
		ip[1] = dscp;
		wr16(ip + 2, (unsigned)(IP4_HDR + udp_len));
		wr16(ip + 4, 0);      /* id: DF set, never fragmented (RFC 6864) */
		wr16(ip + 6, 0x4000); /* DF */
		ip[8] = TTL;
		ip[9] = 17;
		wr16(ip + 10, 0);
		memcpy(ip + 12, pkt.dst.a, 4);
		memcpy(ip + 16, pkt.src.a, 4);
		wr16(ip + 10, csum_fold(sum16(0, ip, IP4_HDR)));
		pseudo = sum16(0, ip + 12, 8);
	} else {
		ip[0] = (uint8_t)(0x60 | dscp >> 4);
		ip[1] = (uint8_t)(dscp << 4);
		ip[2] = ip[3] = 0; /* flow label */
		wr16(ip + 4, (unsigned)udp_len);
		ip[6] = 17;
		ip[7] = TTL;
		memcpy(ip + 8, pkt.dst.a, 16);
		memcpy(ip + 24, pkt.src.a, 16);
		pseudo = sum16(0, ip + 8, 32);
	}
	/* pseudo-header: addresses, then zero + protocol, then the UDP length */
	pseudo += 17 + (uint32_t)udp_len;

	wr16(udp, pkt.dport);
	wr16(udp + 2, pkt.sport);
	wr16(udp + 4, (unsigned)udp_len);
	wr16(udp + 6, 0);
	uint16_t ck = csum_fold(sum16(pseudo, udp, udp_len));
	wr16(udp + 6, ck ? ck : 0xffff); /* 0 means "no checksum" (RFC 768) */
	return (int)(sip_off + w.n);
}
