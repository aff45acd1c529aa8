/*
 * gen_sip.c - SIP messages (RFC 3261) and SDP bodies for afgw-gen.
 *
 * gen_sip_build() writes one request or response from a spec the flow
 * filled in, and beside it the JSON members of its truth line, taken from
 * the same values (so the truth cannot drift from the bytes).  What varies
 * on purpose, because real equipment varies: compact header names (f: t:
 * i: l: m: v: c:), lower-case names, a legal space before a colon, name-addr
 * vs addr-spec, quoted display names in Chinese, sip: vs tel: URIs with
 * ;user=phone or ;phone-context, vendor User-Agent / Server values.
 *
 * A MESSAGE carrying SMS over IP (an application/vnd.3gpp.sms body, built
 * in gen_sms3gpp.c) gets the SMS members of its event from the flow: the
 * TPDU's party stands in for the SIP header's number on one side, and a
 * concatenated SMS has one line of its own, without SIP header fields
 * (gen_sms_fields_put()).
 *
 * Content damage for --bad (a line without colon, a second From with
 * another value, two Content-Length values, junk before a colon, a NUL in
 * a header value) is written here too; the truth members stay those of the
 * intended message.
 */
#include "gen.h"

enum hdr {
	H_VIA,
	H_MAXFWD,
	H_FROM,
	H_TO,
	H_CALLID,
	H_CSEQ,
	H_CONTACT,
	H_PAI,
	H_UA,
	H_SERVER,
	H_ALLOW,
	H_SUPPORTED,
	H_CTYPE,
	H_CLEN,
	H_COUNT
};

static const char *const full_name[H_COUNT] = {
    "Via",          "Max-Forwards",        "From",       "To",     "Call-ID", "CSeq",
    "Contact",      "P-Asserted-Identity", "User-Agent", "Server", "Allow",   "Supported",
    "Content-Type", "Content-Length",
};

static const char *const lower_name[H_COUNT] = {
    "via",          "max-forwards",        "from",       "to",     "call-id", "cseq",
    "contact",      "p-asserted-identity", "user-agent", "server", "allow",   "supported",
    "content-type", "content-length",
};

static const char *const compact_name[H_COUNT] = {
    [H_VIA] = "v",     [H_FROM] = "f",  [H_TO] = "t",   [H_CALLID] = "i",
    [H_CONTACT] = "m", [H_CTYPE] = "c", [H_CLEN] = "l", [H_SUPPORTED] = "k",
};

static const char *const allow_sets[] = {
    "INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, MESSAGE, REFER, NOTIFY",
    "INVITE,ACK,CANCEL,BYE,UPDATE,PRACK,MESSAGE,OPTIONS",
    "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, MESSAGE, SUBSCRIBE, NOTIFY, PRACK, UPDATE, REFER",
    "ACK, BYE, CANCEL, INFO, INVITE, MESSAGE, NOTIFY, OPTIONS, PRACK, REFER, UPDATE",
};

static const char *const supported_sets[] = {
    "100rel, timer, replaces, norefersub",
    "timer,precondition,100rel",
    "path, gruu, sec-agree",
    "replaces, timer",
};

const char *gen_sip_vendor(struct gen_rng *r)
{
	static const char *const v[] = {
	    "Huawei SoftX3000 V300R011",
	    "Huawei SBC SE2900 V300R001C10",
	    "ZTE ZXUN SSS V4.16",
	    "Ericsson MTAS 1.0",
	    "Nokia CFX-5000 CSCF 20.0",
	    "FreeSWITCH-mod_sofia/1.10.9-release~64bit",
	    "Asterisk PBX 18.15.0",
	    "Kamailio (5.7.2 (x86_64/linux))",
	    "Linphone/5.2.0 (belle-sip/5.2.0)",
	    "MicroSIP/3.21.3",
	    "Yealink SIP-T46U 108.86.0.20",
	    "Grandstream GXP1625 1.0.7.25",
	    "Oracle SBC SCZ8.4.0",
	    "Audiocodes-Sip-Gateway-Mediant 1000/v.7.20A.258.005",
	    "HUAWEI-EchoLife/V200R003",
	    "iOS/17.1 iPhone",
	    "SM-G9910 Samsung IMS 6.0",
	    "Xiaomi VoLTE/2.0 (MIUI 14)",
	};
	return GEN_PICK(r, v);
}

static void put_name(struct gen_buf *b, const struct gen_sip_spec *s, enum hdr h)
{
	if (s->compact && compact_name[h])
		gen_puts(b, compact_name[h]);
	else
		gen_puts(b, s->lower ? lower_name[h] : full_name[h]);
	/* HCOLON allows white space before the colon (RFC 3261 §25.1); it
	 * goes on headers no truth member depends on, since some dissectors
	 * do not take it */
	gen_puts(b, s->space_colon && (h == H_MAXFWD || h == H_SUPPORTED) ? " : " : ": ");
}

static void put_nameaddr(struct gen_buf *b, const struct gen_sip_id *id, const char *tag)
{
	if (id->display[0]) {
		gen_puts(b, id->display);
		gen_putc(b, ' ');
	}
	if (id->addr_spec) {
		gen_puts(b, id->uri);
	} else {
		gen_putc(b, '<');
		gen_puts(b, id->uri);
		gen_putc(b, '>');
	}
	if (tag) {
		gen_puts(b, ";tag=");
		gen_puts(b, tag);
	}
}

static void field_str(struct gen_buf *f, const char *key, const char *val)
{
	gen_puts(f, ",\"");
	gen_puts(f, key);
	gen_puts(f, "\":");
	gen_put_json_or_null(f, val);
}

static void field_int(struct gen_buf *f, const char *key, uint64_t v)
{
	gen_puts(f, ",\"");
	gen_puts(f, key);
	gen_puts(f, "\":");
	gen_putu(f, v, 1);
}

/* Another identity in the same domain, for a duplicate / junk From. */
static void other_from(struct gen_rng *r, struct gen_buf *b, const struct gen_sip_id *from)
{
	struct gen_number alt;
	char user[40];

	gen_num_mobile(&alt, gen_rng_next(r));
	gen_num_sip_user(r, &alt, user, sizeof(user));
	const char *at = strchr(from->uri, '@');
	gen_puts(b, "<sip:");
	gen_puts(b, user);
	if (at) {
		size_t hl = strcspn(at, ";>");
		gen_put(b, at, hl);
	} else {
		gen_puts(b, "@ims.mnc000.mcc460.3gppnetwork.org");
	}
	gen_puts(b, ">;tag=");
	char tag[12];
	gen_rng_token(r, tag, 10, true);
	gen_puts(b, tag);
	gen_puts(b, "\r\n");
}

void gen_sip_build(struct gen_rng *r, const struct gen_sip_spec *s, struct gen_buf *b,
                   struct gen_buf *f)
{
	/* start line */
	if (s->request) {
		gen_puts(b, s->method);
		gen_putc(b, ' ');
		gen_puts(b, s->ruri);
		gen_puts(b, " SIP/2.0\r\n");
	} else {
		gen_puts(b, "SIP/2.0 ");
		gen_putu(b, (uint64_t)s->status, 3);
		gen_putc(b, ' ');
		gen_puts(b, s->reason);
		gen_puts(b, "\r\n");
	}

	for (int i = 0; i < 2; i++) {
		if (!s->via[i])
			continue;
		put_name(b, s, H_VIA);
		gen_puts(b, s->via[i]);
		gen_puts(b, "\r\n");
	}
	if (s->request) {
		if (s->damage == GEN_BAD_SIP_NO_COLON) {
			gen_puts(b, "Max-Forwards 70\r\n"); /* the colon is missing */
		} else {
			put_name(b, s, H_MAXFWD);
			gen_puts(b, s->via[1] ? "69\r\n" : "70\r\n");
		}
	} else if (s->damage == GEN_BAD_SIP_NO_COLON) {
		gen_puts(b, "P-Charging-Vector icid-value=8f1e2a\r\n");
	}

	put_name(b, s, H_FROM);
	put_nameaddr(b, s->from, s->from_tag);
	gen_puts(b, "\r\n");
	if (s->damage == GEN_BAD_SIP_DUP_FROM) {
		gen_puts(b, "From: ");
		other_from(r, b, s->from);
	} else if (s->damage == GEN_BAD_SIP_JUNK_COLON) {
		gen_puts(b, "From xx: ");
		other_from(r, b, s->from);
	}
	put_name(b, s, H_TO);
	put_nameaddr(b, s->to, s->to_tag);
	gen_puts(b, "\r\n");
	put_name(b, s, H_CALLID);
	gen_puts(b, s->call_id);
	gen_puts(b, "\r\n");
	put_name(b, s, H_CSEQ);
	gen_putu(b, s->cseq, 1);
	gen_putc(b, ' ');
	gen_puts(b, s->method);
	gen_puts(b, "\r\n");
	if (s->contact) {
		put_name(b, s, H_CONTACT);
		gen_puts(b, s->contact);
		gen_puts(b, "\r\n");
	}
	if (s->pai) {
		put_name(b, s, H_PAI);
		put_nameaddr(b, s->pai, NULL);
		gen_puts(b, "\r\n");
	}
	if (s->user_agent) {
		put_name(b, s, H_UA);
		gen_puts(b, s->user_agent);
		gen_puts(b, "\r\n");
	}
	if (s->server) {
		put_name(b, s, H_SERVER);
		gen_puts(b, s->server);
		gen_puts(b, "\r\n");
	}
	if (s->request || s->status == 200) {
		put_name(b, s, H_ALLOW);
		gen_puts(b, allow_sets[s->allow_set % AFGW_GEN_N(allow_sets)]);
		gen_puts(b, "\r\n");
		put_name(b, s, H_SUPPORTED);
		gen_puts(b, supported_sets[s->allow_set % AFGW_GEN_N(supported_sets)]);
		gen_puts(b, "\r\n");
	}
	if (s->extra)
		gen_puts(b, s->extra);
	if (s->damage == GEN_BAD_SIP_NUL) {
		static const char subj[] = "Subject: call\0back\r\n";
		gen_put(b, subj, sizeof(subj) - 1);
	}
	if (s->body_len) {
		put_name(b, s, H_CTYPE);
		gen_puts(b, s->content_type);
		gen_puts(b, "\r\n");
	}
	if (s->damage == GEN_BAD_SIP_CONFLICT_CL) {
		gen_puts(b, "Content-Length: ");
		gen_putu(b, s->body_len + 1 + gen_rng_below(r, 200), 1);
		gen_puts(b, "\r\n");
	}
	put_name(b, s, H_CLEN);
	gen_putu(b, s->body_len, 1);
	gen_puts(b, "\r\n\r\n");
	gen_put(b, s->body, s->body_len);

	/* the truth members, from the same values */
	if (s->request)
		field_str(f, "method", s->method);
	else
		field_int(f, "status", (uint64_t)s->status);
	field_str(f, "call_id", s->call_id);
	field_int(f, "cseq", s->cseq);
	if (s->request)
		field_str(f, "ruri", s->ruri);
	field_str(f, "from_uri", s->from->uri);
	field_str(f, "to_uri", s->to->uri);
	/* SMS over IP: the TPDU's party replaces one side's number */
	const struct gen_sms_fields *sms = s->sms;
	field_str(f, "from", sms && sms->from ? sms->from : s->from->num.canon);
	field_str(f, "to", sms && sms->to ? sms->to : s->to->num.canon);
	field_str(f, "pai", s->pai ? s->pai->num.canon : NULL);
	field_str(f, "from_raw", sms && sms->from_raw ? sms->from_raw : s->from->raw);
	field_str(f, "to_raw", sms && sms->to_raw ? sms->to_raw : s->to->raw);
	field_str(f, "user_agent", s->user_agent);
	if (sms) {
		gen_puts(f, ",\"op\":\"sip_message\",\"text\":");
		gen_put_json(f, sms->text, sms->text_len);
		gen_puts(f, ",\"parts\":");
		gen_putu(f, sms->parts, 1);
		field_int(f, "data_coding", sms->data_coding);
	} else if (s->sip_message_text) {
		gen_puts(f, ",\"op\":\"sip_message\",\"text\":");
		gen_put_json(f, (const char *)s->body, s->body_len);
		gen_puts(f, ",\"parts\":1,\"data_coding\":null");
	}
}

void gen_sms_fields_put(struct gen_buf *f, const struct gen_sms_fields *sms)
{
	gen_puts(f, ",\"op\":\"sip_message\"");
	field_str(f, "from", sms->from);
	field_str(f, "from_raw", sms->from_raw);
	field_str(f, "to", sms->to);
	field_str(f, "to_raw", sms->to_raw);
	field_int(f, "data_coding", sms->data_coding);
	gen_puts(f, ",\"text\":");
	gen_put_json(f, sms->text, sms->text_len);
	gen_puts(f, ",\"parts\":");
	gen_putu(f, sms->parts, 1);
}

void gen_sip_id_make(struct gen_rng *r, struct gen_sip_id *id, const struct gen_number *n,
                     const char *host, bool with_display, bool allow_tel)
{
	static const char *const cn_names[] = {
	    "\"张伟\"",     "\"王芳\"",     "\"李娜\"",     "\"刘洋\"",
	    "\"陈静\"",     "\"杨磊\"",     "\"客服中心\"", "\"中国工商银行\"",
	    "\"顺丰快递\"", "\"市公安局\"", "\"王经理\"",   "\"李老师\"",
	};
	static const char *const ascii_names[] = {
	    "Alice", "Bob Smith", "\"Zhang Wei\"", "\"Office 3F\"", "Reception", "\"Li, Na\"",
	};
	char params[40];
	size_t o = 0;

	id->num = *n;
	id->display[0] = '\0';
	if (allow_tel && gen_rng_chance(r, 0.15)) {
		gen_num_tel(r, n, id->raw, sizeof(id->raw), params, sizeof(params));
		o = 0;
		memcpy(id->uri, "tel:", 4);
		o = 4;
		size_t rl = strlen(id->raw), pl = strlen(params);
		memcpy(id->uri + o, id->raw, rl);
		o += rl;
		memcpy(id->uri + o, params, pl + 1);
	} else {
		gen_num_sip_user(r, n, id->raw, sizeof(id->raw));
		size_t rl = strlen(id->raw), hl = strlen(host);
		memcpy(id->uri, "sip:", 4);
		o = 4;
		memcpy(id->uri + o, id->raw, rl);
		o += rl;
		id->uri[o++] = '@';
		memcpy(id->uri + o, host, hl);
		o += hl;
		id->uri[o] = '\0';
		if (gen_rng_chance(r, id->raw[0] == '+' ? 0.7 : 0.3))
			memcpy(id->uri + o, ";user=phone", sizeof(";user=phone"));
	}
	if (with_display && gen_rng_chance(r, 0.45)) {
		unsigned pick = gen_rng_below(r, 10);
		if (pick < 6) {
			gen_copy(id->display, sizeof(id->display), GEN_PICK(r, cn_names));
		} else if (pick < 8) {
			gen_copy(id->display, sizeof(id->display), GEN_PICK(r, ascii_names));
		} else {
			id->display[0] = '"';
			gen_copy(id->display + 1, sizeof(id->display) - 2, id->raw);
			size_t dl = strlen(id->display);
			id->display[dl] = '"';
			id->display[dl + 1] = '\0';
		}
	}
	/* addr-spec only for plain sip: URIs (a bare tel: From trips some
	 * parsers, Wireshark's among them, and is rare on real links) */
	id->addr_spec = !id->display[0] && !strchr(id->uri, ';') && id->uri[0] == 's' &&
	                gen_rng_chance(r, 0.15);
}

/* ---- SDP -------------------------------------------------------------------- */

static void line(struct gen_buf *b, const char *s)
{
	gen_puts(b, s);
	gen_puts(b, "\r\n");
}

static void origin(struct gen_rng *r, struct gen_buf *b, const struct gen_ep *ep, bool v6)
{
	static const char *const users[] = {"-",   "root",      "HuaweiSBC", "FreeSWITCH",
	                                    "ZTE", "rtpengine", "MxSIP"};
	uint64_t sess = gen_rng_range(r, 100000000, 4000000000u);

	gen_puts(b, "v=0\r\no=");
	gen_puts(b, GEN_PICK(r, users));
	gen_putc(b, ' ');
	gen_putu(b, sess, 1);
	gen_putc(b, ' ');
	gen_putu(b, sess + gen_rng_below(r, 3), 1);
	gen_puts(b, v6 ? " IN IP6 " : " IN IP4 ");
	gen_puts(b, ep->addr);
	gen_puts(b, "\r\ns=");
	gen_puts(b, gen_rng_below(r, 2) ? "-" : "SIP Call");
	gen_puts(b, v6 ? "\r\nc=IN IP6 " : "\r\nc=IN IP4 ");
	gen_puts(b, ep->addr);
	gen_puts(b, "\r\nt=0 0\r\n");
}

static void big_tail(struct gen_rng *r, struct gen_buf *b, const struct gen_ep *ep, bool v6,
                     size_t start, size_t target)
{
	char tok[48];
	unsigned vport = (unsigned)gen_rng_range(r, 20000, 60000) & ~1u;

	/* video with several H.264 profiles, SRTP keys, ICE candidates */
	gen_puts(b, "m=video ");
	gen_putu(b, vport, 1);
	line(b, " RTP/AVP 100 101 102 103 104");
	line(b, "b=AS:2048");
	static const char *const v[] = {
	    "a=rtpmap:100 H264/90000",
	    "a=fmtp:100 profile-level-id=42e01f;packetization-mode=1;max-br=2000",
	    "a=rtpmap:101 H264/90000",
	    "a=fmtp:101 profile-level-id=42e01f;packetization-mode=0",
	    "a=rtpmap:102 H264/90000",
	    /* the parameter sets of RFC 6184's example */
	    "a=fmtp:102 profile-level-id=42a01e;packetization-mode=1;sprop-parameter-sets="
	    "Z0IACpZTBYmI,aMljiA==",
	    "a=rtpmap:103 H265/90000",
	    "a=fmtp:103 profile-id=1;level-id=93;sprop-max-don-diff=0",
	    "a=rtpmap:104 VP8/90000",
	    "a=rtcp-fb:* nack",
	    "a=rtcp-fb:* nack pli",
	    "a=rtcp-fb:* ccm fir",
	    "a=rtcp-fb:* ccm tmmbr",
	    "a=imageattr:100 send [x=[320:16:1280],y=[240:16:720]] recv [x=[320:16:1280],"
	    "y=[240:16:720]]",
	    "a=extmap:1 urn:3gpp:video-orientation",
	    "a=sendrecv",
	};
	for (size_t i = 0; i < AFGW_GEN_N(v); i++)
		line(b, v[i]);
	for (unsigned k = 1; k <= 2; k++) {
		gen_puts(b, "a=crypto:");
		gen_putu(b, k, 1);
		gen_puts(b, k == 1 ? " AES_CM_128_HMAC_SHA1_80 inline:"
		                   : " AES_CM_128_HMAC_SHA1_32 inline:");
		gen_rng_token(r, tok, 40, false);
		line(b, tok);
	}
	unsigned c = 1;
	while (b->len - start < target) {
		gen_puts(b, "a=candidate:");
		gen_putu(b, c, 1);
		gen_puts(b, c & 1 ? " 1 UDP " : " 2 UDP ");
		gen_putu(b, 2130706431u - c * 1000, 1);
		gen_putc(b, ' ');
		gen_puts(b, ep->addr);
		gen_putc(b, ' ');
		gen_putu(b, vport + c, 1);
		gen_puts(b, c % 3 ? " typ host\r\n" : " typ srflx raddr ");
		if (c % 3 == 0) {
			gen_puts(b, v6 ? "fd00::1" : "10.0.0.1");
			gen_puts(b, " rport 9\r\n");
		}
		c++;
	}
}

void gen_sdp_build(struct gen_rng *r, struct gen_buf *b, const struct gen_ep *ep, bool v6, bool big,
                   bool answer)
{
	size_t start = b->len;
	unsigned port = (unsigned)gen_rng_range(r, 10000, 65000) & ~1u;
	bool ims = big || gen_rng_below(r, 2);

	origin(r, b, ep, v6);
	gen_puts(b, "m=audio ");
	gen_putu(b, port, 1);
	if (ims && answer) {
		line(b, " RTP/AVP 104 101");
		line(b, "b=AS:41");
		line(b, "a=rtpmap:104 AMR-WB/16000/1");
		line(b, "a=fmtp:104 mode-change-capability=2;max-red=0");
		line(b, "a=rtpmap:101 telephone-event/16000");
		line(b, "a=fmtp:101 0-15");
		line(b, "a=ptime:20");
		line(b, "a=maxptime:240");
		line(b, "a=sendrecv");
		return;
	}
	if (ims) {
		line(b, big ? " RTP/AVP 116 104 110 102 108 105 100 101 9 8 0"
		            : " RTP/AVP 104 110 102 108 105 100");
		line(b, "b=AS:49");
		line(b, "b=RS:0");
		line(b, "b=RR:2500");
		if (big) {
			line(b, "a=rtpmap:116 EVS/16000");
			line(b, "a=fmtp:116 br=5.9-24.4;bw=nb-swb;max-red=0;cmr=1;ch-aw-recv=-1");
		}
		line(b, "a=rtpmap:104 AMR-WB/16000/1");
		line(b, "a=fmtp:104 mode-change-capability=2;max-red=0");
		line(b, "a=rtpmap:110 AMR-WB/16000/1");
		line(b, "a=fmtp:110 octet-align=1;mode-change-capability=2;max-red=0");
		line(b, "a=rtpmap:102 AMR/8000/1");
		line(b, "a=fmtp:102 mode-change-capability=2;max-red=0");
		line(b, "a=rtpmap:108 AMR/8000/1");
		line(b, "a=fmtp:108 octet-align=1;mode-change-capability=2;max-red=0");
		line(b, "a=rtpmap:105 telephone-event/16000");
		line(b, "a=fmtp:105 0-15");
		line(b, "a=rtpmap:100 telephone-event/8000");
		line(b, "a=fmtp:100 0-15");
		if (big) {
			line(b, "a=rtpmap:101 telephone-event/48000");
			line(b, "a=rtpmap:9 G722/8000");
			line(b, "a=rtpmap:8 PCMA/8000");
			line(b, "a=rtpmap:0 PCMU/8000");
		}
		line(b, "a=curr:qos local none");
		line(b, "a=curr:qos remote none");
		line(b, "a=des:qos mandatory local sendrecv");
		line(b, "a=des:qos optional remote sendrecv");
		line(b, "a=ptime:20");
		line(b, "a=maxptime:240");
		line(b, "a=sendrecv");
		if (big)
			big_tail(r, b, ep, v6, start, 1500 + gen_rng_below(r, 1800));
		return;
	}
	if (answer) {
		line(b, " RTP/AVP 8 101");
		line(b, "a=rtpmap:8 PCMA/8000");
	} else {
		line(b, " RTP/AVP 8 0 18 101");
		line(b, "a=rtpmap:8 PCMA/8000");
		line(b, "a=rtpmap:0 PCMU/8000");
		line(b, "a=rtpmap:18 G729/8000");
		line(b, "a=fmtp:18 annexb=no");
	}
	line(b, "a=rtpmap:101 telephone-event/8000");
	line(b, "a=fmtp:101 0-15");
	line(b, "a=ptime:20");
	line(b, "a=sendrecv");
}
