/*
 * gen_sms3gpp.c - SMS over IP bodies for afgw-gen: the RP messages of
 * 3GPP TS 24.011 §7.3 and the TPDUs of TS 23.040 §9.2.2 they carry, as
 * an IMS core and VoLTE phones put them in a SIP MESSAGE with
 * Content-Type application/vnd.3gpp.sms (TS 24.341).
 *
 * A phone submits (RP-DATA MS -> network, RP-DA = its SC, carrying an
 * SMS-SUBMIT with TP-DA = the recipient); the network delivers (RP-DATA
 * network -> MS, RP-OA = the SC, carrying an SMS-DELIVER with TP-OA = the
 * sender and the SC's time stamp); the receiver of an RP-DATA answers
 * with an RP-ACK of the same RP-Message Reference.
 *
 * Text comes from the corpus, already encoded once (gen_smpp.c): GSM
 * 7-bit septets (escapes as 0x1B + code) are packed here, LSB first, after
 * the fill bits that put the first septet on a septet boundary behind a
 * user data header (23.038 §6.1.2.1.1, 23.040 §9.2.3.24); UTF-16BE goes
 * as it is; Latin-1, which TP-DCS cannot name, is widened to UTF-16BE.
 * Addresses are BCD semi-octets (low nibble first, 0xF filler) or, for
 * an alphanumeric sender, GSM 7-bit packed with the count of useful
 * semi-octets in front (23.040 §9.1.2.5).
 *
 * Everything is appended to a gen_buf; nothing is random here (the flow
 * in afgw_gen.c makes every choice), and no decoder code is used.
 */
#include "gen.h"

#include <time.h>

/* China Standard Time, UTC+8, in quarters of an hour (23.040 §9.2.3.11). */
#define TZ_QUARTERS 32

uint8_t gen_tp_dcs(unsigned enc)
{
	return enc == GEN_TP_GSM7 ? 0x00 : 0x08;
}

unsigned gen_tp_plan(const struct gen_text *t, bool ref16, uint8_t *enc, size_t *cuts,
                     unsigned maxparts)
{
	/* the SMPP side's sizes, taken for the alphabet the TPDU uses */
	struct gen_text view = *t;
	view.dc = t->dc == GEN_DC_GSM7 ? GEN_DC_GSM7 : GEN_DC_UCS2;
	*enc = t->dc == GEN_DC_GSM7   ? GEN_TP_GSM7
	       : t->dc == GEN_DC_UCS2 ? GEN_TP_UCS2
	                              : GEN_TP_LATIN1;
	if (t->nunits <= gen_sms_per_part(&view, GEN_SMS_SINGLE)) {
		cuts[0] = 0;
		cuts[1] = t->nbytes;
		return 1;
	}
	unsigned per = gen_sms_per_part(&view, ref16 ? GEN_SMS_UDH16 : GEN_SMS_UDH8);
	/* Latin-1 is split on its own bytes (one UTF-16 unit each, no pairs) */
	view.dc = t->dc;
	return gen_sms_split(&view, per, cuts, maxparts);
}

/*
 * Append n septets packed LSB first after fill zero bits.  cr_pad: when
 * exactly 7 bits of the last octet are spare they carry CR, so a reader
 * does not take them for '@' (23.038 §6.1.2.1.1); an address leaves them 0.
 */
static void pack7(struct gen_buf *b, const uint8_t *sept, size_t n, unsigned fill, bool cr_pad)
{
	size_t nbits = fill + 7 * n, nbytes = (nbits + 7) / 8;

	if (b->cap - b->len < nbytes)
		gen_buf_grow(b, nbytes);
	uint8_t *o = b->p + b->len;
	memset(o, 0, nbytes);
	size_t bit = fill;
	for (size_t i = 0; i < n; i++, bit += 7) {
		unsigned v = sept[i] & 0x7fu, sh = (unsigned)(bit % 8);
		o[bit / 8] |= (uint8_t)(v << sh);
		if (sh > 1)
			o[bit / 8 + 1] |= (uint8_t)(v >> (8 - sh));
	}
	if (cr_pad && nbytes * 8 - nbits == 7)
		o[nbytes - 1] |= 0x0d << 1;
	b->len += nbytes;
}

/* Semi-octets of a digit string, low nibble first, 0xF after an odd count. */
static void bcd(struct gen_buf *b, const char *digits)
{
	size_t n = strlen(digits);

	for (size_t i = 0; i < n; i += 2) {
		unsigned lo = (unsigned)(digits[i] - '0');
		unsigned hi = i + 1 < n ? (unsigned)(digits[i + 1] - '0') : 0x0fu;
		gen_put8(b, (uint8_t)(hi << 4 | lo));
	}
}

/* TP-OA / TP-DA: useful semi-octets, type of address, the value. */
static void tp_address(struct gen_buf *b, const struct gen_tp_addr *a)
{
	if (a->toa != GEN_TOA_ALNUM) {
		gen_put8(b, (uint8_t)strlen(a->text));
		gen_put8(b, a->toa);
		bcd(b, a->text);
		return;
	}
	/* the names are short and in the GSM alphabet: gen_sms_encode gives
	 * their septets (a name is at most 23 bytes, 11 of them fit) */
	uint8_t tmp[64];
	struct gen_buf sb = {tmp, 0, sizeof(tmp)};
	size_t ns;
	gen_sms_encode(a->text, strlen(a->text), &sb, &ns);
	if (ns > 11)
		ns = 11;
	gen_put8(b, (uint8_t)((7 * ns + 3) / 4));
	gen_put8(b, a->toa);
	pack7(b, tmp, ns, 0, false);
}

/* RP-Originator / RP-Destination Address: octets, 0x91, BCD (24.011 §8.2.5). */
static void rp_address(struct gen_buf *b, const char *digits)
{
	gen_put8(b, (uint8_t)(1 + (strlen(digits) + 1) / 2));
	gen_put8(b, GEN_TOA_INTL);
	bcd(b, digits);
}

static uint8_t swapped_bcd(unsigned v)
{
	return (uint8_t)((v % 10) << 4 | (v / 10 % 10));
}

/* TP-SCTS (23.040 §9.2.3.11): local time, semi-octets swapped, then the
 * zone in quarters of an hour (sign in bit 3; east of Greenwich is 0). */
static void scts(struct gen_buf *b, uint64_t ts_us)
{
	time_t tt = (time_t)(ts_us / 1000000 + TZ_QUARTERS * 15 * 60);
	struct tm tm;

	gmtime_r(&tt, &tm);
	gen_put8(b, swapped_bcd((unsigned)tm.tm_year % 100));
	gen_put8(b, swapped_bcd((unsigned)tm.tm_mon + 1));
	gen_put8(b, swapped_bcd((unsigned)tm.tm_mday));
	gen_put8(b, swapped_bcd((unsigned)tm.tm_hour));
	gen_put8(b, swapped_bcd((unsigned)tm.tm_min));
	gen_put8(b, swapped_bcd((unsigned)tm.tm_sec));
	gen_put8(b, swapped_bcd(TZ_QUARTERS));
}

/*
 * TP-UDL and TP-UD: the UDH for a part, then the text.  TP-UDL counts
 * septets (header and fill included) for GSM 7-bit, octets for UCS-2.
 */
static void user_data(struct gen_buf *b, const struct gen_rp_data *d)
{
	const uint8_t *u = d->text->units + d->off;
	uint8_t udh[7];
	size_t udhl = 0;

	if (d->concat && d->ref16) {
		/* UDHL 6, IE 08 (concat, 16-bit ref) length 4: ref(2) total seq */
		const uint8_t h[7] = {6,        0x08,  4, (uint8_t)(d->ref >> 8), (uint8_t)d->ref,
		                      d->total, d->seq};
		memcpy(udh, h, sizeof(h));
		udhl = sizeof(h);
	} else if (d->concat) {
		/* UDHL 5, IE 00 (concat, 8-bit ref) length 3: ref total seq */
		const uint8_t h[6] = {5, 0x00, 3, (uint8_t)d->ref, d->total, d->seq};
		memcpy(udh, h, sizeof(h));
		udhl = sizeof(h);
	}
	switch (d->enc) {
	case GEN_TP_GSM7: {
		size_t hsept = (udhl * 8 + 6) / 7;
		unsigned fill = (unsigned)(hsept * 7 - udhl * 8);
		gen_put8(b, (uint8_t)(hsept + d->len));
		gen_put(b, udh, udhl);
		pack7(b, u, d->len, fill, true);
		break;
	}
	case GEN_TP_UCS2:
		gen_put8(b, (uint8_t)(udhl + d->len));
		gen_put(b, udh, udhl);
		gen_put(b, u, d->len);
		break;
	default: /* Latin-1 bytes are the code points U+0000-U+00FF */
		gen_put8(b, (uint8_t)(udhl + 2 * d->len));
		gen_put(b, udh, udhl);
		for (size_t i = 0; i < d->len; i++) {
			gen_put8(b, 0);
			gen_put8(b, u[i]);
		}
		break;
	}
}

void gen_rp_data(struct gen_buf *b, const struct gen_rp_data *d)
{
	bool udhi = d->concat;

	/* RP header: RP-MTI 1 (network -> MS) or 0 (MS -> network), RP-MR,
	 * then RP-OA and RP-DA, one of them empty (length 0) */
	gen_put8(b, d->mt ? 0x01 : 0x00);
	gen_put8(b, d->rp_mr);
	if (d->mt) {
		rp_address(b, d->smsc);
		gen_put8(b, 0);
	} else {
		gen_put8(b, 0);
		rp_address(b, d->smsc);
	}
	size_t len_at = b->len;
	gen_put8(b, 0); /* RP-User-Data length, patched below */
	size_t tpdu = b->len;
	if (d->mt) {
		/* SMS-DELIVER: TP-MTI 00; TP-MMS (bit 2) set on the last part only:
		 * "no more messages are waiting" */
		bool last = !d->concat || d->seq == d->total;
		gen_put8(b, (uint8_t)((last ? 0x04 : 0x00) | (udhi ? 0x40 : 0x00)));
		tp_address(b, d->party);
		gen_put8(b, 0x00); /* TP-PID: plain SME-to-SME */
		gen_put8(b, gen_tp_dcs(d->enc));
		scts(b, d->scts_us);
	} else {
		/* SMS-SUBMIT: TP-MTI 01, TP-RD 0, TP-VPF, TP-SRR, TP-UDHI, TP-RP 0 */
		gen_put8(b, (uint8_t)(0x01 | (d->vpf & 3u) << 3 | (d->srr ? 0x20 : 0x00) |
		                      (udhi ? 0x40 : 0x00)));
		gen_put8(b, d->tp_mr);
		tp_address(b, d->party);
		gen_put8(b, 0x00);
		gen_put8(b, gen_tp_dcs(d->enc));
		if (d->vpf == 2)
			gen_put8(b, d->vp);
	}
	user_data(b, d);
	b->p[len_at] = (uint8_t)(b->len - tpdu);
}

void gen_rp_ack(struct gen_buf *b, bool from_network, uint8_t mr, bool report, uint64_t scts_us)
{
	gen_put8(b, from_network ? 0x03 : 0x02);
	gen_put8(b, mr);
	if (!report)
		return;
	gen_put8(b, 0x41); /* RP-User Data IEI */
	if (from_network) {
		/* SMS-SUBMIT-REPORT for RP-ACK: TP-MTI 01, TP-PI 0, TP-SCTS */
		gen_put8(b, 9);
		gen_put8(b, 0x01);
		gen_put8(b, 0x00);
		scts(b, scts_us);
	} else {
		/* SMS-DELIVER-REPORT for RP-ACK: TP-MTI 00, TP-PI 0 */
		gen_put8(b, 2);
		gen_put8(b, 0x00);
		gen_put8(b, 0x00);
	}
}
