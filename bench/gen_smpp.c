/*
 * gen_smpp.c - SMPP 3.4 PDUs and SMS text encoding for afgw-gen.
 *
 * Text: UTF-8 in, short_message bytes out.  data_coding 0 is the GSM 03.38
 * default alphabet carried one septet per octet (unpacked, as SMPP links
 * usually do), with extension-table characters as 0x1B + code; 3 is
 * Latin-1; 8 is UTF-16BE with surrogate pairs.  GSM 0x09 is left out on
 * purpose: tables disagree on whether it is "Ç" or "ç", so a text holding
 * either goes out as Latin-1 and the truth stays unambiguous.
 *
 * Long texts are split the way handsets and SMSCs do it: 153 septets /
 * 134 octets / 67 UTF-16 units per part behind an 8-bit-reference UDH (one
 * less with a 16-bit reference), never cutting an escape or a surrogate
 * pair; or the same sizes with sar_* TLVs; or whole in message_payload.
 *
 * PDUs are appended to a buffer, command_length patched at the end.
 */
#include "gen.h"

/* GSM 03.38 default alphabet: septet -> code point (0 marks "not used"). */
static const uint16_t gsm_basic[128] = {
    0x0040, 0x00a3, 0x0024, 0x00a5, 0x00e8, 0x00e9, 0x00f9, 0x00ec, /* 00 */
    0x00f2, 0,      0x000a, 0x00d8, 0x00f8, 0x000d, 0x00c5, 0x00e5, /* 08: 09 Ç unused */
    0x0394, 0x005f, 0x03a6, 0x0393, 0x039b, 0x03a9, 0x03a0, 0x03a8, /* 10 */
    0x03a3, 0x0398, 0x039e, 0,      0x00c6, 0x00e6, 0x00df, 0x00c9, /* 18: 1B escape */
    0x0020, 0x0021, 0x0022, 0x0023, 0x00a4, 0x0025, 0x0026, 0x0027, /* 20 */
    0x0028, 0x0029, 0x002a, 0x002b, 0x002c, 0x002d, 0x002e, 0x002f, /* 28 */
    0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037, /* 30 */
    0x0038, 0x0039, 0x003a, 0x003b, 0x003c, 0x003d, 0x003e, 0x003f, /* 38 */
    0x00a1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, /* 40 */
    0x0048, 0x0049, 0x004a, 0x004b, 0x004c, 0x004d, 0x004e, 0x004f, /* 48 */
    0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, /* 50 */
    0x0058, 0x0059, 0x005a, 0x00c4, 0x00d6, 0x00d1, 0x00dc, 0x00a7, /* 58 */
    0x00bf, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067, /* 60 */
    0x0068, 0x0069, 0x006a, 0x006b, 0x006c, 0x006d, 0x006e, 0x006f, /* 68 */
    0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077, /* 70 */
    0x0078, 0x0079, 0x007a, 0x00e4, 0x00f6, 0x00f1, 0x00fc, 0x00e0, /* 78 */
};

/* Extension table (after 0x1B); the page break 0x0A is not generated. */
static const struct {
	uint8_t code;
	uint16_t cp;
} gsm_ext[] = {
    {0x14, '^'}, {0x28, '{'}, {0x29, '}'}, {0x2f, '\\'},   {0x3c, '['},
    {0x3d, '~'}, {0x3e, ']'}, {0x40, '|'}, {0x65, 0x20ac},
};

/* Septet for cp: 0..127 basic, 0x100 | code for the extension table, -1 none. */
static int gsm_code(uint32_t cp)
{
	if (cp == 0x40)
		return 0;
	for (unsigned i = 0; i < 128; i++)
		if (gsm_basic[i] == cp && cp != 0)
			return (int)i;
	for (unsigned i = 0; i < AFGW_GEN_N(gsm_ext); i++)
		if (gsm_ext[i].cp == cp)
			return 0x100 | gsm_ext[i].code;
	return -1;
}

/* Next code point of valid UTF-8 (checked at corpus load). */
static uint32_t utf8_next(const uint8_t *s, size_t n, size_t *i)
{
	uint8_t c = s[*i];
	unsigned need = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
	uint32_t cp = need == 0   ? c
	              : need == 1 ? (c & 0x1fu)
	              : need == 2 ? (c & 0x0fu)
	                          : (c & 0x07u);

	(*i)++;
	for (unsigned k = 0; k < need && *i < n; k++)
		cp = (cp << 6) | (s[(*i)++] & 0x3fu);
	return cp;
}

uint8_t gen_sms_encode(const char *text, size_t n, struct gen_buf *out, size_t *nunits)
{
	const uint8_t *s = (const uint8_t *)text;
	bool gsm = true, latin = true;
	size_t i = 0, start = out->len;

	while (i < n && (gsm || latin)) {
		uint32_t cp = utf8_next(s, n, &i);
		if (gsm && gsm_code(cp) < 0)
			gsm = false;
		if (cp > 0xff)
			latin = false;
	}
	i = 0;
	if (gsm) {
		while (i < n) {
			int c = gsm_code(utf8_next(s, n, &i));
			if (c & 0x100)
				gen_put8(out, 0x1b);
			gen_put8(out, (uint8_t)(c & 0x7f));
		}
		*nunits = out->len - start;
		return GEN_DC_GSM7;
	}
	if (latin) {
		while (i < n)
			gen_put8(out, (uint8_t)utf8_next(s, n, &i));
		*nunits = out->len - start;
		return GEN_DC_LATIN1;
	}
	while (i < n) {
		uint32_t cp = utf8_next(s, n, &i);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			gen_put16(out, (uint16_t)(0xd800 | (cp >> 10)));
			gen_put16(out, (uint16_t)(0xdc00 | (cp & 0x3ff)));
		} else {
			gen_put16(out, (uint16_t)cp);
		}
	}
	*nunits = (out->len - start) / 2;
	return GEN_DC_UCS2;
}

unsigned gen_sms_per_part(const struct gen_text *t, unsigned method)
{
	unsigned udh16 = method == GEN_SMS_UDH16;

	if (method == GEN_SMS_SINGLE || method == GEN_SMS_PAYLOAD)
		return t->dc == GEN_DC_GSM7 ? 160 : t->dc == GEN_DC_LATIN1 ? 140 : 70;
	switch (t->dc) {
	case GEN_DC_GSM7:
		return 153 - udh16;
	case GEN_DC_LATIN1:
		return 134 - udh16;
	default:
		return 67 - udh16;
	}
}

unsigned gen_sms_split(const struct gen_text *t, unsigned per_part, size_t *cuts, unsigned maxparts)
{
	size_t pos = 0, total = t->nunits;
	unsigned parts = 0;

	while (pos < total || parts == 0) {
		if (parts == maxparts)
			return 0;
		cuts[parts++] = pos * t->unit;
		size_t cut = pos + per_part;
		if (cut >= total) {
			pos = total;
			break;
		}
		if (t->unit == 1) {
			/* 0x1B only ever starts an escape pair in our encoding */
			if (t->dc == GEN_DC_GSM7 && t->units[cut - 1] == 0x1b)
				cut--;
		} else {
			uint16_t u =
			    (uint16_t)(t->units[2 * (cut - 1)] << 8 | t->units[2 * (cut - 1) + 1]);
			if (u >= 0xd800 && u <= 0xdbff)
				cut--;
		}
		pos = cut;
	}
	cuts[parts] = total * t->unit;
	return parts;
}

/* ---- PDUs ---------------------------------------------------------------- */

static size_t pdu_begin(struct gen_buf *b, uint32_t cmd, uint32_t status, uint32_t seq)
{
	size_t start = b->len;

	gen_put32(b, 0); /* command_length, patched by pdu_end */
	gen_put32(b, cmd);
	gen_put32(b, status);
	gen_put32(b, seq);
	return start;
}

static void pdu_end(struct gen_buf *b, size_t start)
{
	uint32_t len = (uint32_t)(b->len - start);
	uint8_t *p = b->p + start;

	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

static void cstr(struct gen_buf *b, const char *s)
{
	gen_put(b, s, strlen(s) + 1);
}

static void tlv(struct gen_buf *b, uint16_t tag, const void *v, size_t len)
{
	gen_put16(b, tag);
	gen_put16(b, (uint16_t)len);
	gen_put(b, v, len);
}

void gen_smpp_bind(struct gen_buf *b, uint32_t cmd, uint32_t seq, const char *system_id,
                   const char *password, const char *system_type)
{
	size_t st = pdu_begin(b, cmd, 0, seq);

	cstr(b, system_id);
	cstr(b, password);
	cstr(b, system_type);
	gen_put8(b, 0x34); /* interface_version 3.4 */
	gen_put8(b, 0);    /* addr_ton */
	gen_put8(b, 0);    /* addr_npi */
	cstr(b, "");       /* address_range */
	pdu_end(b, st);
}

void gen_smpp_resp_id(struct gen_buf *b, uint32_t cmd, uint32_t seq, const char *id)
{
	size_t st = pdu_begin(b, cmd, 0, seq);

	cstr(b, id);
	if (cmd == (GEN_SMPP_BIND_TRANSCEIVER | GEN_SMPP_RESP) ||
	    cmd == (GEN_SMPP_BIND_TRANSMITTER | GEN_SMPP_RESP)) {
		uint8_t v = 0x34;
		tlv(b, 0x0210, &v, 1); /* sc_interface_version */
	}
	pdu_end(b, st);
}

void gen_smpp_empty(struct gen_buf *b, uint32_t cmd, uint32_t seq)
{
	pdu_end(b, pdu_begin(b, cmd, 0, seq));
}

void gen_smpp_sm(struct gen_buf *b, const struct gen_smpp_sm *s)
{
	const struct gen_text *t = s->text;
	const uint8_t *units = t->units + s->off;
	bool udh = s->method == GEN_SMS_UDH8 || s->method == GEN_SMS_UDH16;
	size_t st = pdu_begin(b, s->cmd, 0, s->seq);

	cstr(b, s->service_type ? s->service_type : "");
	gen_put8(b, s->src->ton);
	gen_put8(b, s->src->npi);
	cstr(b, s->src->addr);
	gen_put8(b, s->dst->ton);
	gen_put8(b, s->dst->npi);
	cstr(b, s->dst->addr);
	gen_put8(b, udh ? 0x40 : 0x00); /* esm_class: UDHI for concatenation */
	if (s->cmd == GEN_SMPP_DATA_SM) {
		gen_put8(b, s->registered_delivery);
		gen_put8(b, t->dc);
		tlv(b, 0x0424, units, s->len); /* message_payload */
		pdu_end(b, st);
		return;
	}
	gen_put8(b, 0); /* protocol_id */
	gen_put8(b, 0); /* priority_flag */
	cstr(b, "");    /* schedule_delivery_time */
	cstr(b, "");    /* validity_period */
	gen_put8(b, s->registered_delivery);
	gen_put8(b, 0); /* replace_if_present_flag */
	gen_put8(b, t->dc);
	gen_put8(b, 0); /* sm_default_msg_id */
	if (s->method == GEN_SMS_PAYLOAD) {
		gen_put8(b, 0); /* sm_length 0: the text is in message_payload */
		tlv(b, 0x0424, units, s->len);
		pdu_end(b, st);
		return;
	}
	if (s->method == GEN_SMS_UDH8) {
		/* UDHL 5, IE 00 (concat, 8-bit ref) len 3: ref total seq */
		uint8_t h[6] = {5, 0x00, 3, (uint8_t)s->ref, s->total, s->seqnum};
		gen_put8(b, (uint8_t)(sizeof(h) + s->len));
		gen_put(b, h, sizeof(h));
	} else if (s->method == GEN_SMS_UDH16) {
		/* UDHL 6, IE 08 (concat, 16-bit ref) len 4: ref(2) total seq */
		uint8_t h[7] = {6,        0x08,     4, (uint8_t)(s->ref >> 8), (uint8_t)s->ref,
		                s->total, s->seqnum};
		gen_put8(b, (uint8_t)(sizeof(h) + s->len));
		gen_put(b, h, sizeof(h));
	} else {
		gen_put8(b, (uint8_t)s->len);
	}
	gen_put(b, units, s->len);
	if (s->method == GEN_SMS_SAR) {
		uint8_t ref[2] = {(uint8_t)(s->ref >> 8), (uint8_t)s->ref};
		tlv(b, 0x020c, ref, 2);        /* sar_msg_ref_num */
		tlv(b, 0x020e, &s->total, 1);  /* sar_total_segments */
		tlv(b, 0x020f, &s->seqnum, 1); /* sar_segment_seqnum */
	}
	pdu_end(b, st);
}

void gen_smpp_lie_length(struct gen_rng *r, uint8_t *pdu, size_t len)
{
	uint32_t v;

	switch (gen_rng_below(r, 4)) {
	case 0:
		v = gen_rng_below(r, 16); /* shorter than the header */
		break;
	case 1:
		v = (uint32_t)len + 1 + gen_rng_below(r, 64); /* a little too long */
		break;
	case 2:
		v = 0x00100000u + gen_rng_below(r, 1u << 20); /* megabytes */
		break;
	default:
		v = 0xffffffffu;
		break;
	}
	pdu[0] = (uint8_t)(v >> 24);
	pdu[1] = (uint8_t)(v >> 16);
	pdu[2] = (uint8_t)(v >> 8);
	pdu[3] = (uint8_t)v;
}
