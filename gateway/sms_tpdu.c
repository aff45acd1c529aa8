/*
 * sms_tpdu.c - SMS over IP: the RP message (3GPP TS 24.011 §7.3, §8.2)
 * and the TPDU it carries (TS 23.040 §9.2), as found in the body of a SIP
 * MESSAGE with Content-Type application/vnd.3gpp.sms (TS 24.341).
 *
 * Input: the body bytes.  Output: struct afgw_sms_pdu (sms.h): the RP
 * message type and reference, the SMSC address, and for an RP-DATA the
 * TPDU's type, the other party (TP-OA of an SMS-DELIVER, TP-DA of an
 * SMS-SUBMIT), TP-PID, TP-DCS, TP-UDHI and the user data as a slice.
 * Addresses are decoded here (BCD semi-octets, or GSM 7-bit for an
 * alphanumeric sender) because they are short and the caller wants text.
 *
 * The direction of the RP message decides how TP-MTI is read (23.040
 * §9.2.3.1: 00 is SMS-DELIVER towards the phone and SMS-DELIVER-REPORT
 * from it).  Malformed input is decoded as far as it goes and every
 * problem is an anomaly bit; only a body too short for an RP header is an
 * error.  The user data itself (header, alphabet, unpacking) is the
 * caller's: sms_text.c has the pieces, shared with SMPP.
 *
 * It deliberately does not: read TP-VP or TP-SCTS values, RP-ACK /
 * RP-ERROR contents, or SMS-STATUS-REPORT / SMS-COMMAND fields beyond
 * their type.  Thread: any; no state; nothing allocated.
 */
#include <errno.h>
#include <string.h>

#include "afgw/number.h"
#include "afgw/sms.h"

/* TP-VPF (23.040 §9.2.3.3), bits 4-3 of an SMS-SUBMIT's first octet. */
enum { VPF_NONE = 0, VPF_ENHANCED = 1, VPF_RELATIVE = 2, VPF_ABSOLUTE = 3 };

/* Address bounds: 20 semi-octets in a TP address (23.040 §9.1.2.5), an RP
 * address of at most 11 octets after its length (24.011 §8.2.5.1-2). */
#define TP_ADDR_DIGITS_MAX 20
#define RP_ADDR_OCTETS_MAX 11
#define TP_UD_OCTETS_MAX   140

/* A bounded reader with a sticky "ran out" flag (STYLE: read all, check once). */
struct rd {
	const uint8_t *p, *e;
	bool short_;
};

static uint8_t u8(struct rd *r)
{
	if (r->p >= r->e) {
		r->short_ = true;
		return 0;
	}
	return *r->p++;
}

/* Skip n bytes, or to the end (flagged). */
static void skip(struct rd *r, size_t n)
{
	if ((size_t)(r->e - r->p) < n) {
		r->short_ = true;
		r->p = r->e;
		return;
	}
	r->p += n;
}

static size_t left(const struct rd *r)
{
	return (size_t)(r->e - r->p);
}

/*
 * nd BCD semi-octets from p (low nibble first) into a->text.  A 0xF
 * nibble is filler and allowed only as the last one of an odd count;
 * elsewhere it ends the digits and is reported.  Returns false on a
 * malformed digit string.
 */
static bool bcd(const uint8_t *p, size_t nd, struct afgw_sms_addr *a)
{
	static const char digit[16] = "0123456789*#abc";
	bool ok = true;
	size_t k = 0;
	for (size_t i = 0; i < nd; i++) {
		unsigned v = i % 2 ? p[i / 2] >> 4 : p[i / 2] & 0x0f;
		if (v == 0x0f) {
			ok = false;
			break;
		}
		a->text[k++] = digit[v];
	}
	a->len = (uint8_t)k;
	return ok;
}

/* The type-of-address octet: TON bits 6-4, NPI bits 3-0. */
static void type_of_address(uint8_t t, struct afgw_sms_addr *a)
{
	a->ton = (t >> 4) & 0x07;
	a->npi = t & 0x0f;
}

/*
 * An alphanumeric TP address (TON 5): nd semi-octets of GSM 7-bit packed
 * text, decoded to UTF-8 in a->text.  nd should count the useful
 * semi-octets, but some senders give whole octets: 7 characters then
 * come with 14 semi-octets, whose last 7 bits are a zero septet ('@') of
 * padding.  When the count ends exactly on a septet, a last '@' is taken
 * for that padding (a sender name ending in '@' is the rarer case).
 */
static bool alnum(const uint8_t *p, size_t nd, struct afgw_sms_addr *a)
{
	uint8_t sept[TP_ADDR_DIGITS_MAX];
	size_t ns = afgw_sms_unpack7(p, (nd + 1) / 2, nd * 4 / 7, 0, sept, sizeof(sept));
	if (ns && (nd * 4) % 7 == 0 && nd % 2 == 0 && sept[ns - 1] == 0)
		ns--;
	struct afgw_sms_decoded res;
	afgw_sms_decode(AFGW_SMS_GSM7, sept, ns, a->text, sizeof(a->text), &res);
	a->len = (uint8_t)res.len;
	return res.invalid == 0;
}

/* TP-OA / TP-DA (23.040 §9.1.2.5): semi-octet count, type, digits. */
static void tp_address(struct rd *r, struct afgw_sms_addr *a, uint32_t *anom)
{
	size_t nd = u8(r);
	uint8_t t = u8(r);
	if (r->short_)
		return;
	type_of_address(t, a);
	/* Too long to be an address: decode what one could hold, but skip
	 * all the sender says it takes, so the fields after it are read right. */
	if (nd > TP_ADDR_DIGITS_MAX)
		*anom |= AFGW_SMS_PDU_A_BAD_ADDRESS;
	size_t octets = (nd + 1) / 2;
	if (left(r) < octets) {
		*anom |= AFGW_SMS_PDU_A_TRUNCATED;
		octets = left(r);
		nd = octets * 2;
	}
	if (nd > TP_ADDR_DIGITS_MAX)
		nd = TP_ADDR_DIGITS_MAX;
	bool ok = a->ton == AFGW_TON_ALPHANUMERIC ? alnum(r->p, nd, a) : bcd(r->p, nd, a);
	if (!ok)
		*anom |= AFGW_SMS_PDU_A_BAD_ADDRESS;
	skip(r, octets);
}

/* An RP address (24.011 §8.2.5.1-2): octet count, then type and BCD digits. */
static void rp_address(struct rd *r, struct afgw_sms_addr *a, uint32_t *anom)
{
	size_t n = u8(r);
	if (r->short_ || n == 0)
		return;
	if (n > RP_ADDR_OCTETS_MAX)
		*anom |= AFGW_SMS_PDU_A_BAD_ADDRESS;
	if (left(r) < n) {
		*anom |= AFGW_SMS_PDU_A_TRUNCATED;
		n = left(r);
		if (n == 0)
			return;
	}
	type_of_address(r->p[0], a);
	size_t digits = n - 1 > RP_ADDR_OCTETS_MAX - 1 ? RP_ADDR_OCTETS_MAX - 1 : n - 1;
	size_t nd = digits * 2;
	if (nd && (r->p[digits] >> 4) == 0x0f)
		nd--; /* odd count: the last high nibble is filler */
	if (!bcd(r->p + 1, nd, a))
		*anom |= AFGW_SMS_PDU_A_BAD_ADDRESS;
	skip(r, n);
}

/*
 * TP-PID, TP-DCS, [TP-VP or TP-SCTS: vp octets], TP-UDL and TP-UD: the
 * tail shared by SMS-SUBMIT and SMS-DELIVER.
 */
static void tp_user_data(struct rd *r, size_t vp, struct afgw_sms_pdu *pdu)
{
	pdu->pid = u8(r);
	pdu->dcs = u8(r);
	skip(r, vp);
	pdu->udl = u8(r);
	if (r->short_) {
		pdu->anomalies |= AFGW_SMS_PDU_A_TRUNCATED;
		return;
	}
	/* UDL counts septets when the text is GSM 7-bit (uncompressed), octets otherwise */
	bool septets = afgw_sms_alphabet_dcs(pdu->dcs) == AFGW_SMS_GSM7;
	size_t need = septets ? ((size_t)pdu->udl * 7 + 7) / 8 : pdu->udl;
	if (need > TP_UD_OCTETS_MAX) {
		pdu->anomalies |= AFGW_SMS_PDU_A_UDL;
		need = TP_UD_OCTETS_MAX;
	}
	if (need > left(r)) {
		pdu->anomalies |= AFGW_SMS_PDU_A_UDL;
		need = left(r);
	}
	pdu->ud = r->p;
	pdu->ud_len = need;
	skip(r, need);
	if (left(r))
		pdu->anomalies |= AFGW_SMS_PDU_A_EXTRA;
}

/* The TPDU of an RP-DATA, [p, p + n); mt: it goes towards the phone. */
static void tpdu(const uint8_t *p, size_t n, bool mt, struct afgw_sms_pdu *pdu)
{
	struct rd r = {p, p + n, false};
	uint8_t first = u8(&r);
	if (r.short_) {
		pdu->anomalies |= AFGW_SMS_PDU_A_TRUNCATED;
		pdu->tp_type = AFGW_TP_RESERVED;
		return;
	}
	pdu->tp_first = first;
	pdu->udhi = (first & 0x40) != 0;
	switch (first & 0x03) {
	case 0:
		pdu->tp_type = mt ? AFGW_TP_DELIVER : AFGW_TP_RESERVED;
		break;
	case 1:
		pdu->tp_type = mt ? AFGW_TP_RESERVED : AFGW_TP_SUBMIT;
		break;
	case 2:
		pdu->tp_type = mt ? AFGW_TP_STATUS_REPORT : AFGW_TP_COMMAND;
		return;
	default:
		pdu->tp_type = AFGW_TP_RESERVED;
		break;
	}
	if (pdu->tp_type == AFGW_TP_RESERVED) {
		pdu->anomalies |= AFGW_SMS_PDU_A_RESERVED;
		return;
	}
	if (pdu->tp_type == AFGW_TP_SUBMIT) {
		static const size_t vp_octets[4] = {
		    [VPF_NONE] = 0, [VPF_ENHANCED] = 7, [VPF_RELATIVE] = 1, [VPF_ABSOLUTE] = 7};
		pdu->mr = u8(&r);
		tp_address(&r, &pdu->party, &pdu->anomalies);
		tp_user_data(&r, vp_octets[(first >> 3) & 0x03], pdu);
	} else {
		tp_address(&r, &pdu->party, &pdu->anomalies);
		tp_user_data(&r, 7, pdu); /* TP-SCTS */
	}
	if (r.short_)
		pdu->anomalies |= AFGW_SMS_PDU_A_TRUNCATED;
}

/* Contract in sms.h. */
int afgw_sms_rp_parse(const uint8_t *p, size_t n, struct afgw_sms_pdu *pdu)
{
	memset(pdu, 0, sizeof(*pdu));
	if (n < 2 || (p[0] & 0x07) > AFGW_RP_SMMA)
		return -EBADMSG;
	/* RP-MTI is bits 3-1 of the first octet; bits 8-4 are spare */
	pdu->rp_type = (enum afgw_rp_type)(p[0] & 0x07);
	pdu->rp_ref = p[1];
	if (pdu->rp_type != AFGW_RP_DATA_MO && pdu->rp_type != AFGW_RP_DATA_MT)
		return 0; /* RP-ACK, RP-ERROR, RP-SMMA: no SMS in them */

	struct rd r = {p + 2, p + n, false};
	rp_address(&r, &pdu->rp_orig, &pdu->anomalies);
	rp_address(&r, &pdu->rp_dest, &pdu->anomalies);
	size_t len = u8(&r);
	if (r.short_) {
		pdu->anomalies |= AFGW_SMS_PDU_A_TRUNCATED;
		pdu->tp_type = AFGW_TP_RESERVED;
		return 0;
	}
	if (len > left(&r)) {
		pdu->anomalies |= AFGW_SMS_PDU_A_TRUNCATED;
		len = left(&r);
	} else if (len < left(&r)) {
		pdu->anomalies |= AFGW_SMS_PDU_A_EXTRA;
	}
	tpdu(r.p, len, pdu->rp_type == AFGW_RP_DATA_MT, pdu);
	return 0;
}

const char *afgw_sms_pdu_anomaly_name(uint32_t bit)
{
	switch (bit) {
	case AFGW_SMS_PDU_A_TRUNCATED: return "sms_pdu_truncated";
	case AFGW_SMS_PDU_A_BAD_ADDRESS: return "sms_pdu_bad_address";
	case AFGW_SMS_PDU_A_UDL: return "sms_pdu_bad_length";
	case AFGW_SMS_PDU_A_EXTRA: return "sms_pdu_extra_bytes";
	case AFGW_SMS_PDU_A_RESERVED: return "sms_pdu_reserved_type";
	default: return "sms_pdu_bad";
	}
}
