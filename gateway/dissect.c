/*
 * dissect.c - the decode stage: frames in, events out.
 *
 * Per frame: link/IP/transport decode (packet.c); IP fragments go through
 * ipfrag.c and come back as whole transport payloads; UDP payloads on a
 * SIP port (or that look like SIP) are SIP datagrams; TCP segments go
 * through tcp_stream.c, whose in-order bytes feed, per direction, either a
 * SIP stream buffer (framed by Content-Length) or an SMPP reader.  Which
 * one is decided by port, or else by the first bytes (a SIP start line or
 * a plausible SMPP header).
 *
 * A SIP MESSAGE is an SMS too: its text/plain body is the text, and an
 * application/vnd.3gpp.sms body (SMS over IP) is an RP message whose
 * TPDU (sms_tpdu.c) is decoded like an SMPP short message below, its
 * parts joined the same way.
 *
 * SMPP PDUs that carry a short message become SMS: the user data header
 * is read, the text decoded to UTF-8, and concatenated parts (UDH 8/16-bit
 * references, or sar_* TLVs) are held in sms_concat.c until the message is
 * complete, times out, or the input ends.  Numbers are canonicalised here,
 * with the SMPP TON where there is one.
 *
 * Time is the capture's time: timeouts fire as packets arrive, so a replay
 * of a file behaves like the live gateway.  An event carries the time of
 * the frame that completed it; TCP data released by afgw_dissect_flush()
 * (no frame) carries the time of its flow's last segment.  No malloc per
 * packet: per-flow application buffers are allocated when a flow is first
 * seen and reused.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "afgw/dissect.h"
#include "afgw/ipfrag.h"
#include "afgw/json.h"
#include "afgw/packet.h"
#include "afgw/sms.h"
#include "afgw/tcp_stream.h"

enum app_kind { APP_UNDECIDED = 0, APP_SIP, APP_SMPP, APP_OTHER };

struct sip_stream {
	uint8_t *buf;
	size_t len, cap;
	size_t need;    /* the buffered message is this long: parse again once it is there */
	bool desync;
};

/* What a concatenated SMS remembers of its first part. */
struct sms_meta {
	uint64_t ts_us;
	uint64_t tag;            /* of the frame that carried this part */
	bool tcp;
	struct afgw_ip_addr src_ip, dst_ip;
	uint16_t src_port, dst_port;
	char op[16];
	uint8_t data_coding;
	bool valid;
	bool sip;                /* a part of a 3GPP SMS in a SIP MESSAGE, not an SMPP PDU */
	uint32_t smpp_anomalies;
	uint32_t sip_anomalies, pdu_anomalies; /* the SIP message's and the RP / TPDU's */
	uint8_t from_ton, to_ton;
	char from_raw[66], to_raw[66];
	uint8_t from_raw_len, to_raw_len;
};

#define TEXT_CAP (256 * 1024)
#define UNIT_CAP (64 * 1024)

/* Per-flow application state is recycled rather than freed, so a steady
 * stream of short TCP flows does not allocate.  Big buffers are not kept. */
#define APP_POOL_MAX 1024
#define APP_POOL_KEEP_BYTES (64 * 1024)

struct afgw_dissect {
	struct afgw_dissect_config cfg;
	struct sip_stream *sip_pool[APP_POOL_MAX];
	unsigned n_sip_pool;
	struct afgw_smpp_reader *smpp_pool[APP_POOL_MAX];
	unsigned n_smpp_pool;
	afgw_event_fn fn;
	void *ud;
	struct afgw_ipfrag *frag;
	struct afgw_tcp *tcp;
	struct afgw_concat *concat;
	uint64_t c[AFGW_C_COUNT];
	uint64_t now_us;
	uint64_t drained_ms;     /* the concat table had nothing to release at this ms */
	/* scratch, allocated once */
	char *text;
	uint8_t *units;
	/* the frame being handled, for events; cur only while in_frame */
	const struct afgw_pkt *cur;
	bool in_frame;
	uint64_t cur_ts;
	uint64_t cur_tag;        /* the tag of the frame being handled */
	bool cur_tcp;
	int cur_dir;
	const struct afgw_flow *cur_flow;
	uint64_t smpp_reasons[AFGW_SMPP_R_COUNT];
	uint64_t smpp_skipped;
	uintptr_t prefetched;    /* the bytes below this address have been prefetched */
};

/* How far past the end of a frame afgw_dissect_frame() asks for the bytes. */
#define PREFETCH_BYTES 1024

void afgw_dissect_config_default(struct afgw_dissect_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->country_code = 86;
	cfg->sip_ports[0] = 5060;
	cfg->sip_ports[1] = 5080;
	cfg->smpp_ports[0] = 2775;
	cfg->smpp_max_pdu = 65536;
	cfg->max_flows = 65536;
	cfg->tcp_windows = 256;
	cfg->frag_datagrams = 256;
	cfg->concat_messages = 4096;
	cfg->concat_bytes = 4u << 20;
	cfg->concat_timeout_ms = 60000;
	cfg->sip_stream_max = 256u << 10;
}

static bool port_in(const uint16_t *ports, size_t n, uint16_t a, uint16_t b)
{
	for (size_t i = 0; i < n && ports[i]; i++)
		if (ports[i] == a || ports[i] == b)
			return true;
	return false;
}

/* ---- events ------------------------------------------------------- */

static void add_anomaly(struct afgw_event *ev, const char *name)
{
	if (!name)
		return;
	for (unsigned i = 0; i < ev->n_anomalies; i++)
		if (strcmp(ev->anomalies[i], name) == 0)
			return;
	if (ev->n_anomalies < AFGW_EVENT_MAX_ANOMALIES)
		ev->anomalies[ev->n_anomalies++] = name;
}

/*
 * Zero an event but for its anomaly list: only the first n_anomalies
 * entries of it are ever read, and it is half the struct (zeroing it was
 * a tenth of the work of an event).
 */
static void event_clear(struct afgw_event *ev)
{
	const size_t a = offsetof(struct afgw_event, anomalies), b = a + sizeof(ev->anomalies);
	afgw_zero(ev, a);
	afgw_zero((char *)ev + b, sizeof(*ev) - b);
}

static void emit(struct afgw_dissect *d, struct afgw_event *ev)
{
	d->c[AFGW_C_EVENTS]++;
	d->fn(d->ud, ev);
}

static void fill_addrs(struct afgw_dissect *d, struct afgw_event *ev)
{
	const struct afgw_pkt *p = d->cur;
	ev->ts_us = d->cur_ts;
	ev->first_tag = d->cur_tag;
	ev->tcp = d->cur_tcp;
	if (d->cur_tcp && d->cur_flow) {
		/* Direction d was sent by addr[d]. */
		const struct afgw_flow *fl = d->cur_flow;
		int s = d->cur_dir;
		ev->src_ip = fl->addr[s];
		ev->src_port = fl->port[s];
		ev->dst_ip = fl->addr[!s];
		ev->dst_port = fl->port[!s];
	} else {
		ev->src_ip = p->src;
		ev->src_port = p->sport;
		ev->dst_ip = p->dst;
		ev->dst_port = p->dport;
	}
}

/* ---- SIP ---------------------------------------------------------- */

/*
 * Whether [p, p+n) holds a ':', ';' or '%' (a password, parameters or an
 * escape in a user part), eight bytes at a time: a byte of w equal to c
 * is a zero byte of w ^ c, and (v - 1s) & ~v & 0x80s finds zero bytes.
 * ':' and ';' differ only in the low bit, so (w | 1s) ^ ';' finds both.
 */
static bool user_specials(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101u, highs = ones * 0x80;
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			if (p[i] == ':' || p[i] == ';' || p[i] == '%')
				return true;
		return false;
	}
	for (size_t i = 0;; i += 8) {
		uint64_t w;
		if (i + 8 > n)
			i = n - 8; /* the last word overlaps the one before */
		memcpy(&w, p + i, 8);
		uint64_t a = (w | ones) ^ (ones * ';'), c = w ^ (ones * '%');
		if ((((a - ones) & ~a) | ((c - ones) & ~c)) & highs)
			return true;
		if (i + 8 == n)
			return false;
	}
}

/*
 * The number in a URI: the user part for sip/sips (without a ":password"),
 * %-unescaped, up to a ';'; the number of a tel: URI (without its
 * parameters).  Canonicalised into *num.
 */
static bool uri_number(struct afgw_dissect *d, const struct afgw_sip_uri *u, char *raw,
		       size_t rawcap, struct afgw_str *raw_out, struct afgw_number *num)
{
	if (!u->parsed || afgw_str_empty(u->user))
		return false;
	struct afgw_str user = u->user;
	/* user_plain: the parser's fast path saw the user part and found none
	 * of the three; without it, look */
	if (u->user_plain || !user_specials(user.p, user.len)) {
		/* the usual user part: digits, maybe a '+', nothing to cut or
		 * decode, so it is used where it lies (an event does not outlive
		 * its packet); only one longer than raw is cut, into raw */
		if (user.len <= rawcap) {
			*raw_out = user;
		} else {
			memcpy(raw, user.p, rawcap);
			*raw_out = afgw_str_make(raw, rawcap);
		}
		afgw_number_canon(*raw_out, AFGW_TON_NONE, d->cfg.country_code, num);
		return true;
	}
	const struct afgw_str sc = u->scheme;
	bool tel = sc.len == 3 && (sc.p[0] | 0x20) == 't' && (sc.p[1] | 0x20) == 'e' &&
		   (sc.p[2] | 0x20) == 'l';
	/* One pass for the usual user part (digits, maybe a ';'): the end of
	 * the user (a ':' starts a password, except in tel:), the first ';'
	 * and whether there is any %-escape, copying as it goes. */
	size_t semi_at = SIZE_MAX;
	bool escaped = false;
	for (size_t i = 0; i < user.len; i++) {
		char c = user.p[i];
		if (i < rawcap)
			raw[i] = c;
		if ((unsigned char)c > ';' || (unsigned char)(c - '0') < 10)
			continue; /* none of : ; % (the usual digits and letters) */
		if (c == ':' && !tel) {
			user.len = i;
			break;
		}
		if (c == '%')
			escaped = true;
		else if (c == ';' && semi_at == SIZE_MAX)
			semi_at = i;
	}
	if (!escaped) {
		size_t k = user.len < rawcap ? user.len : rawcap;
		*raw_out = afgw_str_make(raw, semi_at < k ? semi_at : k);
		afgw_number_canon(*raw_out, AFGW_TON_NONE, d->cfg.country_code, num);
		return true;
	}
	int n = afgw_sip_unescape(user, raw, rawcap);
	if (n < 0) {
		size_t k = user.len < rawcap ? user.len : rawcap;
		memcpy(raw, user.p, k);
		n = (int)k;
	}
	/* tel: parameters are not part of the number */
	const char *semi = memchr(raw, ';', (size_t)n);
	if (semi)
		n = (int)(semi - raw);
	*raw_out = afgw_str_make(raw, (size_t)n);
	afgw_number_canon(*raw_out, AFGW_TON_NONE, d->cfg.country_code, num);
	return true;
}

/* The media type of a Content-Type, without parameters or blanks around it. */
static struct afgw_str media_type(struct afgw_str ct)
{
	if (afgw_str_empty(ct))
		return afgw_str_make("", 0);
	size_t n = ct.len;
	while (n && (ct.p[n - 1] == ' ' || ct.p[n - 1] == '\t'))
		n--;
	const char *semi = memchr(ct.p, ';', n);
	if (semi)
		n = (size_t)(semi - ct.p);
	while (n && (ct.p[n - 1] == ' ' || ct.p[n - 1] == '\t'))
		n--;
	return afgw_str_make(ct.p, n);
}

static bool sip_sms_pdu(struct afgw_dissect *d, const struct afgw_sip_msg *m,
			struct afgw_event *ev, struct afgw_sms_pdu *pdu);

static void sip_event(struct afgw_dissect *d, const struct afgw_sip_msg *m)
{
	struct afgw_event ev;
	char from_raw[128], to_raw[128], pai_raw[128];
	struct afgw_str pai_s;
	struct afgw_sms_pdu pdu; /* SMS over IP: ev's TPDU party text lives here until emit() */

	event_clear(&ev);
	fill_addrs(d, &ev);
	ev.proto = AFGW_PROTO_SIP;
	ev.sip = m;
	ev.valid = m->valid;
	ev.data_coding = -1;
	/* lowest bit first; most messages have none */
	for (uint32_t bits = m->anomalies; bits; bits &= bits - 1)
		add_anomaly(&ev, afgw_sip_anomaly_name(bits & (0u - bits)));
	d->c[AFGW_C_SIP_MESSAGES]++;
	if (!m->valid)
		d->c[AFGW_C_SIP_INVALID]++;

	ev.has_from = uri_number(d, &m->from.parsed, from_raw, sizeof(from_raw), &ev.from_raw,
				 &ev.from);
	ev.has_to = uri_number(d, &m->to.parsed, to_raw, sizeof(to_raw), &ev.to_raw, &ev.to);
	ev.has_pai = m->pai.present &&
		     uri_number(d, &m->pai.parsed, pai_raw, sizeof(pai_raw), &pai_s, &ev.pai);

	if (m->is_request && afgw_str_eq(m->method, "MESSAGE")) {
		struct afgw_str media = media_type(m->content_type);
		if (afgw_str_caseeq(media, "application/vnd.3gpp.sms")) {
			if (!sip_sms_pdu(d, m, &ev, &pdu))
				return; /* one part of a concatenated SMS, held */
			if (ev.is_sms)
				d->c[AFGW_C_SMS_OVER_IP]++;
		} else {
			ev.is_sms = true;
			ev.op = "sip_message";
			ev.parts = 1;
			if (media.len == 0 || afgw_str_caseeq(media, "text/plain")) {
				ev.text = m->body.p ? m->body.p : "";
				ev.text_len = m->body.len;
				if (!afgw_utf8_valid(ev.text, ev.text_len)) {
					add_anomaly(&ev, "invalid_text_encoding");
					d->c[AFGW_C_SMS_INVALID_CHARS]++;
				}
			} else {
				/* some other body (an image, a CPIM wrapper): flagged, not guessed */
				ev.binary = true;
				add_anomaly(&ev, "unsupported_content_type");
				d->c[AFGW_C_SMS_BINARY]++;
			}
		}
		if (ev.is_sms)
			d->c[AFGW_C_SMS_MESSAGES]++;
	}
	emit(d, &ev);
}

static bool is_keepalive(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

static void sip_datagram(struct afgw_dissect *d, const uint8_t *p, size_t n)
{
	struct afgw_sip_msg m;
	if (is_keepalive(p, n)) {
		d->c[AFGW_C_SIP_KEEPALIVES]++;
		return;
	}
	if (afgw_sip_parse((const char *)p, n, &m, 0) != 0) {
		d->c[AFGW_C_SIP_NOT_SIP]++;
		return;
	}
	sip_event(d, &m);
}

/*
 * Take every complete SIP message off the front of buf[0..len); returns
 * the bytes consumed (what is left is an incomplete message, or junk kept
 * while looking for a start line).  s->need is set to the length the
 * incomplete message will have, when the parser knows it (0 otherwise),
 * so a message whose body spans segments is parsed once, not once per
 * segment.
 */
static size_t sip_stream_scan(struct afgw_dissect *d, struct sip_stream *s, const uint8_t *buf,
			      size_t len)
{
	size_t off = 0;
	s->need = 0;
	for (;;) {
		/* Skip CRLF keep-alives between messages (RFC 5626). */
		size_t ka = off;
		while (ka < len && (buf[ka] == '\r' || buf[ka] == '\n'))
			ka++;
		if (ka - off >= 4)
			d->c[AFGW_C_SIP_KEEPALIVES]++;
		off = ka;
		if (off >= len)
			break;
		if (s->desync) {
			long r = afgw_sip_resync((const char *)buf + off, len - off);
			if (r < 0) {
				/* Keep a short tail: a start line may be arriving. */
				size_t keep = len - off > 256 ? 256 : len - off;
				d->c[AFGW_C_SIP_NOT_SIP]++;
				off = len - keep;
				break;
			}
			off += (size_t)r;
			s->desync = false;
		}
		struct afgw_sip_msg m;
		int rc = afgw_sip_parse((const char *)buf + off, len - off, &m, AFGW_SIP_STREAM);
		if (rc == -EAGAIN) {
			s->need = m.msg_len;
			break;
		}
		if (rc != 0 || m.msg_len == 0) {
			d->c[AFGW_C_SIP_NOT_SIP]++;
			s->desync = true;
			off++;
			continue;
		}
		sip_event(d, &m);
		off += m.msg_len;
	}
	return off;
}

/* Keep n bytes in the stream buffer (appending); false when over the bound. */
static bool sip_stream_keep(struct afgw_dissect *d, struct sip_stream *s, const uint8_t *p,
			    size_t n)
{
	if (s->len + n > d->cfg.sip_stream_max) {
		/* A message larger than we are willing to hold: drop and resync. */
		d->c[AFGW_C_SIP_STREAM_OVERFLOW]++;
		s->len = 0;
		s->need = 0;
		s->desync = true;
		return false;
	}
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n)
			cap *= 2;
		uint8_t *nb = realloc(s->buf, cap);
		if (!nb) {
			d->c[AFGW_C_SIP_STREAM_OVERFLOW]++;
			s->len = 0;
			s->need = 0;
			s->desync = true;
			return false;
		}
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return true;
}

/*
 * In-order bytes of one direction of a SIP/TCP flow.  The common case,
 * nothing buffered, parses straight from the packet and keeps only an
 * incomplete tail; otherwise the bytes join the buffer first.
 */
static void sip_stream_data(struct afgw_dissect *d, struct sip_stream *s, const uint8_t *p,
			    size_t n)
{
	if (s->len == 0) {
		size_t used = sip_stream_scan(d, s, p, n);
		if (used < n)
			sip_stream_keep(d, s, p + used, n - used);
		return;
	}
	if (!sip_stream_keep(d, s, p, n)) {
		/* Over the bound: drop it all, look for a start line in what came now. */
		size_t used = sip_stream_scan(d, s, p, n);
		if (used < n && n - used <= d->cfg.sip_stream_max)
			sip_stream_keep(d, s, p + used, n - used);
		return;
	}
	if (s->len < s->need)
		return; /* the body is still arriving */
	size_t used = sip_stream_scan(d, s, s->buf, s->len);
	if (used) {
		memmove(s->buf, s->buf + used, s->len - used);
		s->len -= used;
	}
}

/* ---- SMPP / SMS --------------------------------------------------- */

static void copy_raw(char *dst, uint8_t *dlen, struct afgw_str s)
{
	size_t n = s.len < 65 ? s.len : 65;
	if (n)
		memcpy(dst, s.p, n);
	*dlen = (uint8_t)n;
}

/* The text of an SMS from its code units (into d->text), or binary: flagged, not decoded. */
static void sms_text(struct afgw_dissect *d, struct afgw_event *ev, enum afgw_sms_alphabet a,
		     const uint8_t *units, size_t n)
{
	if (a == AFGW_SMS_BINARY) {
		ev->binary = true;
		d->c[AFGW_C_SMS_BINARY]++;
		return;
	}
	struct afgw_sms_decoded res;
	afgw_sms_decode(a, units, n, d->text, TEXT_CAP, &res);
	ev->text = d->text;
	ev->text_len = res.len;
	if (res.invalid) {
		add_anomaly(ev, "invalid_text_encoding");
		d->c[AFGW_C_SMS_INVALID_CHARS]++;
	}
	if (res.truncated)
		add_anomaly(ev, "text_truncated");
}

/* What a concat part keeps of the event of its frame: time, tag, addresses. */
static void meta_addrs(struct sms_meta *mt, const struct afgw_event *ev, uint64_t tag)
{
	mt->ts_us = ev->ts_us;
	mt->tag = tag;
	mt->tcp = ev->tcp;
	mt->src_ip = ev->src_ip;
	mt->dst_ip = ev->dst_ip;
	mt->src_port = ev->src_port;
	mt->dst_port = ev->dst_port;
}

/* Decode joined units and emit the SMS event described by meta. */
static void sms_emit(struct afgw_dissect *d, const struct sms_meta *mt, enum afgw_sms_alphabet a,
		     const uint8_t *units, size_t n, unsigned parts, const uint64_t *tags,
		     bool incomplete, bool mixed, uint64_t ts_us)
{
	struct afgw_event ev;
	event_clear(&ev);
	ev.ts_us = ts_us;
	ev.first_tag = mt->tag;
	ev.part_tags = tags;
	ev.n_part_tags = parts;
	ev.proto = mt->sip ? AFGW_PROTO_SIP : AFGW_PROTO_SMPP;
	ev.tcp = mt->tcp;
	ev.src_ip = mt->src_ip;
	ev.dst_ip = mt->dst_ip;
	ev.src_port = mt->src_port;
	ev.dst_port = mt->dst_port;
	ev.valid = mt->valid;
	for (unsigned b = 0; b < AFGW_SMPP_ANOMALY_COUNT; b++)
		if (mt->smpp_anomalies & (1u << b))
			add_anomaly(&ev, afgw_smpp_anomaly_name(1u << b));
	for (uint32_t bits = mt->sip_anomalies; bits; bits &= bits - 1)
		add_anomaly(&ev, afgw_sip_anomaly_name(bits & (0u - bits)));
	for (uint32_t bits = mt->pdu_anomalies; bits; bits &= bits - 1)
		add_anomaly(&ev, afgw_sms_pdu_anomaly_name(bits & (0u - bits)));
	if (mt->sip) {
		d->c[AFGW_C_SIP_SMS_JOINED]++;
		d->c[AFGW_C_SMS_OVER_IP]++;
	}
	ev.is_sms = true;
	ev.op = mt->op;
	ev.data_coding = mt->data_coding;
	ev.parts = parts;
	ev.from_raw = afgw_str_make(mt->from_raw, mt->from_raw_len);
	ev.to_raw = afgw_str_make(mt->to_raw, mt->to_raw_len);
	ev.has_from = true;
	ev.has_to = true;
	afgw_number_canon(ev.from_raw, mt->from_ton, d->cfg.country_code, &ev.from);
	afgw_number_canon(ev.to_raw, mt->to_ton, d->cfg.country_code, &ev.to);
	if (incomplete) {
		add_anomaly(&ev, "incomplete_concat");
		d->c[AFGW_C_SMS_INCOMPLETE]++;
	}
	if (mixed)
		add_anomaly(&ev, "mixed_alphabet");
	sms_text(d, &ev, a, units, n);
	d->c[AFGW_C_SMS_MESSAGES]++;
	emit(d, &ev);
}

/*
 * Release what the concat table has timed out or evicted (everything with
 * flush).  Its answer depends only on the millisecond and on parts added
 * since, so once it has had nothing more to give at a millisecond, asking
 * again in the same one before the next part is added is skipped: frames
 * come many to a millisecond.
 */
static void concat_release(struct afgw_dissect *d, bool flush)
{
	struct afgw_concat_done done;
	int rc;
	while ((rc = afgw_concat_expire(d->concat, d->now_us / 1000u, flush, &done)) == 1) {
		const struct sms_meta *mt = done.meta;
		sms_emit(d, mt, done.alphabet, done.units, done.len, done.parts, done.tags,
			 !done.complete, done.mixed_alphabet, d->now_us);
	}
	if (!flush && rc == 0)
		d->drained_ms = d->now_us / 1000u;
}

/*
 * The code units of SMS user data [p, p + n): the user data header (when
 * udhi says there is one) is parsed into *udh and skipped, and GSM 7-bit
 * text is unpacked into d->units when it is packed.  udl: the septets the
 * sender declared, header included (TP-UDL: the text is always packed),
 * or SIZE_MAX when there is no such count (SMPP: packed or not is told
 * from the bytes, the count from the length).  Returns false when the
 * header is malformed (counted); the units are then what follows it.
 */
static bool user_data(struct afgw_dissect *d, bool udhi, enum afgw_sms_alphabet a, size_t udl,
		      const uint8_t *p, size_t n, struct afgw_sms_udh *udh, const uint8_t **units,
		      size_t *nunits)
{
	bool ok = true;
	memset(udh, 0, sizeof(*udh));
	if (udhi && n) {
		if (afgw_sms_udh_parse(p, n, udh) != 0 || udh->bad) {
			d->c[AFGW_C_SMS_BAD_UDH]++;
			ok = false;
		}
		size_t skip = udh->len <= n ? udh->len : n;
		p += skip;
		n -= skip;
	}
	*units = p;
	*nunits = n;
	bool declared = udl != SIZE_MAX;
	if (a != AFGW_SMS_GSM7 || !(declared || afgw_sms_looks_packed(p, n)))
		return ok;
	/* Packed septets start on a septet boundary after the UDH. */
	size_t hdr_bits = udh->present ? udh->len * 8 : 0;
	unsigned fill = (unsigned)((7 - hdr_bits % 7) % 7);
	size_t bits = n * 8 >= fill ? n * 8 - fill : 0;
	size_t nsept = bits / 7;
	if (declared) {
		size_t hdr_sept = (hdr_bits + fill) / 7;
		nsept = udl > hdr_sept ? udl - hdr_sept : 0;
	}
	*nunits = afgw_sms_unpack7(p, n, nsept, fill, d->units, UNIT_CAP);
	/* With exactly 7 spare bits the last septet is padding: CR per
	 * 23.038 §6.1.2.1.1, or zero from older senders. */
	if (!declared && *nunits && bits % 7 == 0 &&
	    (d->units[*nunits - 1] == 0x0d || d->units[*nunits - 1] == 0x00))
		(*nunits)--;
	*units = d->units;
	return ok;
}

/*
 * Hand one part of a concatenated SMS, described by *mt, to the concat
 * table, keyed by its canonical numbers and reference.  Emits the message
 * it completes and any the table evicted.  Returns false when the part
 * cannot belong to any message (the caller screens it alone).
 */
static bool concat_part(struct afgw_dissect *d, const struct sms_meta *mt, uint16_t ref, bool ref16,
			uint8_t total, uint8_t seq, enum afgw_sms_alphabet a, const uint8_t *units,
			size_t nunits)
{
	struct afgw_number fa, ta;
	afgw_number_canon(afgw_str_make(mt->from_raw, mt->from_raw_len), mt->from_ton,
			  d->cfg.country_code, &fa);
	afgw_number_canon(afgw_str_make(mt->to_raw, mt->to_raw_len), mt->to_ton,
			  d->cfg.country_code, &ta);
	struct afgw_concat_key key = {
		.from = afgw_str_make(fa.canon, fa.len),
		.to = afgw_str_make(ta.canon, ta.len),
		.ref = ref,
		.ref16 = ref16,
		.total = total,
	};
	struct afgw_concat_done done;
	int rc = afgw_concat_add(d->concat, &key, seq, a, units, nunits, mt, d->cur_tag,
				 d->now_us / 1000u, &done);
	if (rc == 1) {
		const struct sms_meta *first = done.meta;
		sms_emit(d, first, done.alphabet, done.units, done.len, done.parts, done.tags, false,
			 done.mixed_alphabet, d->now_us);
	}
	/* Evicted messages come back through expire right away. */
	concat_release(d, false);
	return rc >= 0;
}

/*
 * A SIP MESSAGE carrying an SMS over IP (TS 24.341): its body is an RP
 * message, read by afgw_sms_rp_parse().  An RP-DATA with an SMS-SUBMIT
 * or SMS-DELIVER makes ev an SMS whose parties are the SMS's own: the
 * sender of a DELIVER is its TP-OA (the SIP From is the SMSC that relays
 * it), the recipient of a SUBMIT its TP-DA (the SIP To is the SMSC); the
 * other party stays the SIP header's.  RP-ACK / RP-ERROR / RP-SMMA and
 * status reports or commands are signalling: ev stays a plain SIP event.
 * A part of a concatenated SMS goes to the concat table like an SMPP
 * part and comes out as one event when the message is whole: returns
 * false then (ev is not to be emitted), true otherwise.
 */
static bool sip_sms_pdu(struct afgw_dissect *d, const struct afgw_sip_msg *m,
			struct afgw_event *ev, struct afgw_sms_pdu *pdu)
{
	int rc = afgw_sms_rp_parse((const uint8_t *)m->body.p, m->body.len, pdu);
	if (rc == 0 && (pdu->tp_type == AFGW_TP_NONE || pdu->tp_type == AFGW_TP_STATUS_REPORT ||
			pdu->tp_type == AFGW_TP_COMMAND))
		return true;
	ev->is_sms = true;
	ev->op = "sip_message";
	ev->parts = 1;
	if (rc < 0) {
		add_anomaly(ev, "bad_sms_pdu");
		pdu->anomalies = 0;
	}
	for (uint32_t bits = pdu->anomalies; bits; bits &= bits - 1)
		add_anomaly(ev, afgw_sms_pdu_anomaly_name(bits & (0u - bits)));
	if (rc < 0 || (pdu->anomalies & ~(uint32_t)AFGW_SMS_PDU_A_EXTRA))
		ev->valid = false;
	if (rc < 0 || !pdu->ud) {
		/* no user data to read: flagged as not decoded */
		ev->binary = true;
		d->c[AFGW_C_SMS_BINARY]++;
		return true;
	}

	const struct afgw_sms_addr *party = &pdu->party;
	struct afgw_str raw = afgw_str_make(party->text, party->len);
	if (pdu->tp_type == AFGW_TP_DELIVER) {
		ev->from_raw = raw;
		ev->has_from = true;
		afgw_number_canon(raw, party->ton, d->cfg.country_code, &ev->from);
	} else {
		ev->to_raw = raw;
		ev->has_to = true;
		afgw_number_canon(raw, party->ton, d->cfg.country_code, &ev->to);
	}
	ev->data_coding = pdu->dcs;

	enum afgw_sms_alphabet a = afgw_sms_alphabet_dcs(pdu->dcs);
	struct afgw_sms_udh udh;
	const uint8_t *units;
	size_t nunits;
	if (!user_data(d, pdu->udhi, a, a == AFGW_SMS_GSM7 ? pdu->udl : SIZE_MAX, pdu->ud,
		       pdu->ud_len, &udh, &units, &nunits))
		ev->valid = false;

	if (udh.concat && !udh.bad && udh.total > 1) {
		struct sms_meta mt;
		afgw_zero(&mt, sizeof(mt));
		meta_addrs(&mt, ev, d->cur_tag);
		memcpy(mt.op, "sip_message", sizeof("sip_message"));
		mt.data_coding = pdu->dcs;
		mt.valid = ev->valid;
		mt.sip = true;
		mt.sip_anomalies = m->anomalies;
		mt.pdu_anomalies = pdu->anomalies;
		/* the SIP side's number has no TON; the TPDU's has */
		mt.from_ton = pdu->tp_type == AFGW_TP_DELIVER ? party->ton : AFGW_TON_NONE;
		mt.to_ton = pdu->tp_type == AFGW_TP_SUBMIT ? party->ton : AFGW_TON_NONE;
		struct afgw_str none = afgw_str_make("", 0);
		copy_raw(mt.from_raw, &mt.from_raw_len, ev->has_from ? ev->from_raw : none);
		copy_raw(mt.to_raw, &mt.to_raw_len, ev->has_to ? ev->to_raw : none);
		if (concat_part(d, &mt, udh.ref, udh.ref16, udh.total, udh.seq, a, units, nunits)) {
			d->c[AFGW_C_SIP_SMS_PARTS]++;
			return false;
		}
		ev->valid = false; /* a part no message can take: screened alone */
	}
	sms_text(d, ev, a, units, nunits);
	return true;
}

static const char *sms_op(uint32_t id)
{
	switch (id) {
	case AFGW_SMPP_SUBMIT_SM: return "submit_sm";
	case AFGW_SMPP_DELIVER_SM: return "deliver_sm";
	case AFGW_SMPP_DATA_SM: return "data_sm";
	case AFGW_SMPP_SUBMIT_MULTI: return "submit_multi";
	default: return NULL;
	}
}

static void smpp_pdu(struct afgw_dissect *d, const struct afgw_smpp_pdu *pdu)
{
	const char *op = sms_op(pdu->command_id);
	d->c[AFGW_C_SMPP_PDUS]++;
	if (!pdu->valid)
		d->c[AFGW_C_SMPP_INVALID]++;
	if (!op) {
		d->c[AFGW_C_SMPP_CONTROL]++;
		return;
	}
	d->c[AFGW_C_SMS_PARTS]++;

	struct sms_meta mt;
	afgw_zero(&mt, sizeof(mt));
	struct afgw_event tmp; /* fill_addrs() sets every field read below */
	fill_addrs(d, &tmp);
	meta_addrs(&mt, &tmp, d->cur_tag);
	memcpy(mt.op, op, strlen(op) + 1); /* op names are short literals */
	mt.data_coding = pdu->data_coding;
	mt.valid = pdu->valid;
	mt.smpp_anomalies = pdu->anomalies;
	mt.from_ton = pdu->src.ton;
	mt.to_ton = pdu->dst.ton;
	copy_raw(mt.from_raw, &mt.from_raw_len, pdu->src.addr);
	copy_raw(mt.to_raw, &mt.to_raw_len, pdu->dst.addr);

	struct afgw_str ud = pdu->has_message_payload && pdu->short_message.len == 0
				     ? pdu->message_payload
				     : pdu->short_message;
	enum afgw_sms_alphabet a = afgw_sms_alphabet_smpp(pdu->data_coding);
	struct afgw_sms_udh udh;
	const uint8_t *units;
	size_t nunits;
	if (!user_data(d, (pdu->esm_class & 0x40) != 0, a, SIZE_MAX, (const uint8_t *)ud.p, ud.len,
		       &udh, &units, &nunits))
		mt.valid = false;

	bool concat = udh.concat && !udh.bad;
	uint16_t ref = udh.ref;
	uint8_t total = udh.total, seq = udh.seq;
	bool ref16 = udh.ref16;
	if (!concat && pdu->has_sar) {
		concat = true;
		ref = pdu->sar_msg_ref_num;
		total = pdu->sar_total_segments;
		seq = pdu->sar_segment_seqnum;
		ref16 = true;
	}
	if (concat && total > 1) {
		if (concat_part(d, &mt, ref, ref16, total, seq, a, units, nunits))
			return;
		/* A part that cannot belong to any message: screen it alone. */
		mt.valid = false;
	}
	sms_emit(d, &mt, a, units, nunits, 1, &mt.tag, false, false, d->now_us);
}

/* ---- TCP callbacks ------------------------------------------------ */

/* A whole SIP start line at the very start (resync also accepts a line
 * that has not ended yet, which is too weak for sniffing a flow). */
static bool looks_like_sip(const uint8_t *p, size_t n)
{
	size_t k = n < 512 ? n : 512;
	return memchr(p, '\n', k) != NULL && afgw_sip_resync((const char *)p, n) == 0;
}

static bool looks_like_smpp(const uint8_t *p, size_t n, uint32_t max_pdu)
{
	if (n < 16)
		return false;
	uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	uint32_t id = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	return len >= 16 && len <= max_pdu && afgw_smpp_command_name(id) != NULL;
}

static void tcp_data(void *ud, struct afgw_flow *fl, int dir, const uint8_t *p, size_t n,
		     uint64_t ts_us)
{
	struct afgw_dissect *d = ud;
	/* Inside a frame an event carries that frame's time (even for another
	 * flow's data released by an expiry); at the end of the input, when
	 * there is no frame, the time of the flow's last segment. */
	if (!d->in_frame)
		d->cur_ts = ts_us;
	d->cur_flow = fl;
	d->cur_dir = dir;
	d->cur_tcp = true;

	if (fl->app_kind == APP_UNDECIDED) {
		if (port_in(d->cfg.sip_ports, AFGW_ARRAY_SIZE(d->cfg.sip_ports), fl->port[0],
			    fl->port[1]) ||
		    looks_like_sip(p, n))
			fl->app_kind = APP_SIP;
		else if (port_in(d->cfg.smpp_ports, AFGW_ARRAY_SIZE(d->cfg.smpp_ports), fl->port[0],
				 fl->port[1]) ||
			 looks_like_smpp(p, n, d->cfg.smpp_max_pdu))
			fl->app_kind = APP_SMPP;
		else {
			fl->app_kind = APP_OTHER;
			d->c[AFGW_C_TCP_OTHER_FLOWS]++;
		}
	}
	if (fl->app_kind == APP_OTHER)
		return;
	if (!fl->app[dir]) {
		if (fl->app_kind == APP_SIP) {
			fl->app[dir] = d->n_sip_pool ? d->sip_pool[--d->n_sip_pool]
						     : calloc(1, sizeof(struct sip_stream));
		} else if (d->n_smpp_pool) {
			fl->app[dir] = d->smpp_pool[--d->n_smpp_pool];
		} else {
			struct afgw_smpp_reader *r = calloc(1, sizeof(*r));
			if (r && afgw_smpp_reader_init(r, d->cfg.smpp_max_pdu) != 0) {
				free(r);
				r = NULL;
			}
			fl->app[dir] = r;
		}
		if (!fl->app[dir])
			return; /* out of memory: the flow goes unparsed */
	}
	if (fl->app_kind == APP_SIP) {
		sip_stream_data(d, fl->app[dir], p, n);
		return;
	}
	struct afgw_smpp_reader *r = fl->app[dir];
	/* Feed in bounded slices so one huge delivery cannot exceed the reader's bound. */
	while (n) {
		size_t chunk = n > 16384 ? 16384 : n;
		afgw_smpp_feed(r, p, chunk);
		p += chunk;
		n -= chunk;
		struct afgw_smpp_pdu pdu;
		while (afgw_smpp_next(r, &pdu) == 0)
			smpp_pdu(d, &pdu);
	}
}

static void tcp_gap(void *ud, struct afgw_flow *fl, int dir, uint64_t lost)
{
	(void)ud;
	(void)lost;
	if (!fl->app[dir])
		return;
	if (fl->app_kind == APP_SIP) {
		struct sip_stream *s = fl->app[dir];
		s->len = 0;
		s->need = 0;
		s->desync = true;
	} else if (fl->app_kind == APP_SMPP) {
		afgw_smpp_gap(fl->app[dir]);
	}
}

static void tcp_close(void *ud, struct afgw_flow *fl)
{
	struct afgw_dissect *d = ud;
	for (int i = 0; i < 2; i++) {
		if (!fl->app[i])
			continue;
		if (fl->app_kind == APP_SIP) {
			struct sip_stream *s = fl->app[i];
			if (s->len && !is_keepalive(s->buf, s->len))
				d->c[AFGW_C_SIP_NOT_SIP]++; /* a message cut by the end of the flow */
			if (d->n_sip_pool < APP_POOL_MAX) {
				if (s->cap > APP_POOL_KEEP_BYTES) {
					free(s->buf);
					s->buf = NULL;
					s->cap = 0;
				}
				s->len = 0;
				s->need = 0;
				s->desync = false;
				d->sip_pool[d->n_sip_pool++] = s;
			} else {
				free(s->buf);
				free(s);
			}
		} else {
			struct afgw_smpp_reader *r = fl->app[i];
			for (int k = 0; k < AFGW_SMPP_R_COUNT; k++)
				d->smpp_reasons[k] += r->reasons[k];
			d->smpp_skipped += r->skipped_bytes + (r->len - r->off);
			if (d->n_smpp_pool < APP_POOL_MAX && r->cap <= APP_POOL_KEEP_BYTES) {
				afgw_smpp_reader_reset(r);
				d->smpp_pool[d->n_smpp_pool++] = r;
			} else {
				afgw_smpp_reader_fini(r);
				free(r);
			}
		}
		fl->app[i] = NULL;
	}
}

/* ---- frames ------------------------------------------------------- */

static void transport(struct afgw_dissect *d, struct afgw_pkt *pkt)
{
	d->cur = pkt;
	d->cur_ts = pkt->ts_us;
	d->cur_flow = NULL;
	d->cur_tcp = false;
	if (pkt->l4proto == 17) {
		if (port_in(d->cfg.sip_ports, AFGW_ARRAY_SIZE(d->cfg.sip_ports), pkt->sport,
			    pkt->dport) ||
		    looks_like_sip(pkt->payload, pkt->payload_len))
			sip_datagram(d, pkt->payload, pkt->payload_len);
		else
			d->c[AFGW_C_UDP_OTHER]++;
		return;
	}
	d->c[AFGW_C_TCP_SEGMENTS]++;
	afgw_tcp_segment(d->tcp, pkt);
}

/* One frame; d->cur points into this call's stack while it runs. */
static void frame(struct afgw_dissect *d, const struct afgw_frame *f)
{
	struct afgw_pkt pkt;
	d->c[AFGW_C_FRAMES]++;
	d->c[AFGW_C_BYTES] += f->len;
	if (f->ts_us > d->now_us)
		d->now_us = f->ts_us;
	afgw_ipfrag_expire(d->frag, d->now_us);
	if (d->now_us / 1000u != d->drained_ms)
		concat_release(d, false);

	enum afgw_pkt_status st = afgw_packet_decode(f->linktype, f->data, f->caplen, f->len, &pkt);
	pkt.ts_us = f->ts_us;
	switch (st) {
	case AFGW_PKT_OK:
		transport(d, &pkt);
		return;
	case AFGW_PKT_FRAGMENT: {
		const uint8_t *l4;
		size_t l4len;
		d->c[AFGW_C_FRAGMENTS]++;
		int rc = afgw_ipfrag_add(d->frag, &pkt, d->now_us, &l4, &l4len);
		if (rc < 0) {
			d->c[AFGW_C_FRAG_DROPPED]++;
			return;
		}
		if (rc == 0)
			return;
		d->c[AFGW_C_FRAG_REASSEMBLED]++;
		enum afgw_pkt_status s2 = afgw_packet_decode_l4(pkt.l4proto, l4, l4len, &pkt);
		if (s2 == AFGW_PKT_OK)
			transport(d, &pkt);
		else if (s2 == AFGW_PKT_NOT_UDP_TCP)
			d->c[AFGW_C_NOT_UDP_TCP]++;
		else
			d->c[AFGW_C_BAD_L4]++;
		return;
	}
	case AFGW_PKT_NOT_IP: d->c[AFGW_C_NOT_IP]++; return;
	case AFGW_PKT_NOT_UDP_TCP: d->c[AFGW_C_NOT_UDP_TCP]++; return;
	case AFGW_PKT_TRUNCATED: d->c[AFGW_C_TRUNCATED]++; return;
	case AFGW_PKT_BAD_IP: d->c[AFGW_C_BAD_IP]++; return;
	case AFGW_PKT_BAD_L4: d->c[AFGW_C_BAD_L4]++; return;
	default: d->c[AFGW_C_UNSUPPORTED_LINK]++; return;
	}
}

/*
 * Frames lie back to back in a capture buffer (libpcap's, the file
 * reader's, a test's arena), so the bytes after this frame are most
 * likely the next frames': ask the cache for them now, and the next frame
 * is decoded from cache instead of waiting on memory at every line it
 * reads (the decoder reads each frame once, front to back, which the
 * hardware prefetcher alone follows too late).  Only a hint: a prefetch
 * never faults, and the address is computed as an integer, so nothing
 * outside the frame is dereferenced.  Lines asked for by the previous
 * frame are not asked for again.
 */
static inline void prefetch_next(struct afgw_dissect *d, const struct afgw_frame *f)
{
	uintptr_t from = (uintptr_t)f->data + f->caplen, to = from + PREFETCH_BYTES;
	if (d->prefetched > from && d->prefetched < to)
		from = d->prefetched;
	for (uintptr_t a = from & ~(uintptr_t)63; a < to; a += 64)
		__builtin_prefetch((const void *)a);
	d->prefetched = to;
}

void afgw_dissect_frame(struct afgw_dissect *d, const struct afgw_frame *f)
{
	prefetch_next(d, f);
	d->cur_tag = f->tag;
	d->in_frame = true;
	frame(d, f);
	d->in_frame = false;
	d->cur = NULL;
}

void afgw_dissect_tick(struct afgw_dissect *d, uint64_t now_us, uint64_t tag)
{
	d->cur_tag = tag;
	if (now_us > d->now_us)
		d->now_us = now_us;
	afgw_ipfrag_expire(d->frag, d->now_us);
	if (d->now_us / 1000u != d->drained_ms)
		concat_release(d, false);
}

int afgw_dissect_release_sms(struct afgw_dissect *d, const struct afgw_concat_key *key,
			     uint64_t tag)
{
	d->cur_tag = tag;
	if (!afgw_concat_release(d->concat, key))
		return 0;
	concat_release(d, false);
	return 1;
}

void afgw_dissect_flush(struct afgw_dissect *d)
{
	afgw_tcp_flush(d->tcp);
	concat_release(d, true);
}

struct afgw_dissect *afgw_dissect_new(const struct afgw_dissect_config *cfg, afgw_event_fn fn,
				      void *ud)
{
	struct afgw_dissect *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->cfg = *cfg;
	d->drained_ms = UINT64_MAX; /* nothing drained yet */
	d->fn = fn;
	d->ud = ud;
	struct afgw_ipfrag_limits fl = { .max_datagrams = cfg->frag_datagrams };
	struct afgw_tcp_limits tl = { .max_flows = cfg->max_flows, .max_windows = cfg->tcp_windows };
	struct afgw_tcp_callbacks cb = { .data = tcp_data, .gap = tcp_gap, .close = tcp_close };
	struct afgw_concat_limits cl = {
		.max_messages = cfg->concat_messages,
		.max_bytes = cfg->concat_bytes,
		.timeout_ms = cfg->concat_timeout_ms,
		.meta_size = sizeof(struct sms_meta),
	};
	d->frag = afgw_ipfrag_new(&fl);
	d->tcp = afgw_tcp_new(&tl, &cb, d);
	d->concat = afgw_concat_new(&cl);
	d->text = malloc(TEXT_CAP);
	d->units = malloc(UNIT_CAP);
	if (!d->frag || !d->tcp || !d->concat || !d->text || !d->units) {
		afgw_dissect_free(d);
		return NULL;
	}
	return d;
}

void afgw_dissect_free(struct afgw_dissect *d)
{
	if (!d)
		return;
	if (d->tcp && d->concat && d->text && d->units)
		afgw_dissect_flush(d);
	afgw_tcp_free(d->tcp);
	afgw_ipfrag_free(d->frag);
	afgw_concat_free(d->concat);
	while (d->n_sip_pool) {
		struct sip_stream *s = d->sip_pool[--d->n_sip_pool];
		free(s->buf);
		free(s);
	}
	while (d->n_smpp_pool) {
		struct afgw_smpp_reader *r = d->smpp_pool[--d->n_smpp_pool];
		afgw_smpp_reader_fini(r);
		free(r);
	}
	free(d->text);
	free(d->units);
	free(d);
}

void afgw_dissect_counters(const struct afgw_dissect *d, uint64_t out[AFGW_C_COUNT])
{
	memcpy(out, d->c, sizeof(d->c));
}

const char *afgw_dissect_counter_name(enum afgw_dissect_counter c)
{
	static const char *const names[AFGW_C_COUNT] = {
		[AFGW_C_FRAMES] = "frames",
		[AFGW_C_BYTES] = "bytes",
		[AFGW_C_NOT_IP] = "not_ip",
		[AFGW_C_NOT_UDP_TCP] = "not_udp_tcp",
		[AFGW_C_TRUNCATED] = "truncated",
		[AFGW_C_BAD_IP] = "bad_ip",
		[AFGW_C_BAD_L4] = "bad_l4",
		[AFGW_C_UNSUPPORTED_LINK] = "unsupported_link",
		[AFGW_C_FRAGMENTS] = "ip_fragments",
		[AFGW_C_FRAG_REASSEMBLED] = "ip_reassembled",
		[AFGW_C_FRAG_DROPPED] = "ip_fragments_dropped",
		[AFGW_C_UDP_OTHER] = "udp_other",
		[AFGW_C_TCP_SEGMENTS] = "tcp_segments",
		[AFGW_C_TCP_OTHER_FLOWS] = "tcp_other_flows",
		[AFGW_C_SIP_MESSAGES] = "sip_messages",
		[AFGW_C_SIP_INVALID] = "sip_invalid",
		[AFGW_C_SIP_KEEPALIVES] = "sip_keepalives",
		[AFGW_C_SIP_NOT_SIP] = "sip_not_sip",
		[AFGW_C_SIP_STREAM_OVERFLOW] = "sip_stream_overflow",
		[AFGW_C_SIP_SMS_PARTS] = "sip_sms_parts",
		[AFGW_C_SIP_SMS_JOINED] = "sip_sms_joined",
		[AFGW_C_SMS_OVER_IP] = "sms_over_ip",
		[AFGW_C_SMPP_PDUS] = "smpp_pdus",
		[AFGW_C_SMPP_INVALID] = "smpp_invalid",
		[AFGW_C_SMPP_CONTROL] = "smpp_control",
		[AFGW_C_SMS_PARTS] = "sms_parts",
		[AFGW_C_SMS_MESSAGES] = "sms_messages",
		[AFGW_C_SMS_INCOMPLETE] = "sms_incomplete",
		[AFGW_C_SMS_BINARY] = "sms_binary",
		[AFGW_C_SMS_BAD_UDH] = "sms_bad_udh",
		[AFGW_C_SMS_INVALID_CHARS] = "sms_invalid_chars",
		[AFGW_C_EVENTS] = "events",
	};
	return (unsigned)c < AFGW_C_COUNT ? names[c] : "unknown";
}

void afgw_dissect_foreach_detail(const struct afgw_dissect *d,
				 void (*fn)(void *ud, const char *name, uint64_t v), void *ud)
{
	struct afgw_tcp_stats ts;
	struct afgw_ipfrag_stats is;
	struct afgw_concat_stats cs;
	afgw_tcp_get_stats(d->tcp, &ts);
	afgw_ipfrag_get_stats(d->frag, &is);
	afgw_concat_get_stats(d->concat, &cs);
	fn(ud, "tcp_flows_opened", ts.flows_opened);
	fn(ud, "tcp_flows_timed_out", ts.flows_timed_out);
	fn(ud, "tcp_flows_evicted", ts.flows_evicted);
	fn(ud, "tcp_retransmitted", ts.retransmitted);
	fn(ud, "tcp_out_of_order", ts.out_of_order);
	fn(ud, "tcp_gaps", ts.gaps);
	fn(ud, "tcp_gap_bytes", ts.gap_bytes);
	fn(ud, "tcp_memcap", ts.memcap);
	fn(ud, "ip_frag_duplicates", is.duplicates);
	fn(ud, "ip_frag_overlaps", is.overlaps);
	fn(ud, "ip_frag_bad", is.bad);
	fn(ud, "ip_frag_timeouts", is.timeouts);
	fn(ud, "ip_frag_evicted", is.evicted);
	fn(ud, "sms_concat_completed", cs.completed);
	fn(ud, "sms_concat_timed_out", cs.timed_out);
	fn(ud, "sms_concat_evicted", cs.evicted);
	fn(ud, "sms_concat_released", cs.released);
	fn(ud, "sms_concat_duplicates", cs.duplicates);
	fn(ud, "sms_concat_rejected", cs.rejected);
	for (int k = 0; k < AFGW_SMPP_R_COUNT; k++) {
		char name[64];
		snprintf(name, sizeof(name), "smpp_%s", afgw_smpp_reason_name((enum afgw_smpp_reason)k));
		fn(ud, name, d->smpp_reasons[k]);
	}
	fn(ud, "smpp_skipped_bytes", d->smpp_skipped);
}
