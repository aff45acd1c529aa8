/*
 * fuzz_tpdu.c - SMS over IP: afgw_sms_rp_parse on the body of an
 * application/vnd.3gpp.sms SIP MESSAGE, then the user data decoded the
 * way a consumer does it (the UDH when TP-UDHI is set, the alphabet of
 * TP-DCS, GSM 7-bit septets unpacked after the header's fill bits, the
 * text into a bounded buffer).
 *
 * Input: the RP message, as is.
 *
 * Besides the sanitizers it checks the contracts of sms.h: -EBADMSG only
 * for a body shorter than the RP header or a reserved RP-MTI; the user
 * data slice inside the input, never longer than 140 octets, present only
 * for an SMS-DELIVER or SMS-SUBMIT; addresses within AFGW_SMS_ADDR_MAX
 * and valid UTF-8 (digits only unless alphanumeric); only known anomaly
 * bits, each with a name; a PDU without anomalies has exactly the user
 * data its TP-UDL promises; the same input parses the same twice; the
 * decoded text is valid UTF-8 and a truncated decode is a prefix of the
 * whole.  A violation calls abort().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "afgw/sms.h"
#include "fuzz_check.h"

#define ALL_ANOMALIES                                                                              \
	(AFGW_SMS_PDU_A_TRUNCATED | AFGW_SMS_PDU_A_BAD_ADDRESS | AFGW_SMS_PDU_A_UDL |              \
	 AFGW_SMS_PDU_A_EXTRA | AFGW_SMS_PDU_A_RESERVED)

/* An address: in bounds, UTF-8, and BCD characters unless alphanumeric. */
static void check_addr(const struct afgw_sms_addr *a)
{
	check(a->len <= AFGW_SMS_ADDR_MAX);
	check(a->ton <= 7 && a->npi <= 15);
	check(valid_utf8(a->text, a->len));
	if (a->ton == 5)
		return;
	for (size_t i = 0; i < a->len; i++)
		check(strchr("0123456789*#abc", a->text[i]) != NULL && a->text[i] != '\0');
}

static bool same_addr(const struct afgw_sms_addr *a, const struct afgw_sms_addr *b)
{
	return a->ton == b->ton && a->npi == b->npi && a->len == b->len &&
	       memcmp(a->text, b->text, a->len) == 0;
}

/*
 * Decode the user data as a consumer would, into a large buffer and a
 * small one (cap bytes), and check both.
 */
static void decode_ud(const struct afgw_sms_pdu *pdu, size_t cap)
{
	static uint8_t units[256];
	static char big[1024];
	char small[32];
	struct afgw_sms_decoded br, sr;
	enum afgw_sms_alphabet a = afgw_sms_alphabet_dcs(pdu->dcs);
	/* an empty slice may be NULL (a PDU cut before its TP-UD) */
	const uint8_t *ud = pdu->ud_len ? pdu->ud : (const uint8_t *)"";
	const uint8_t *u;
	size_t off = 0, n;

	check(a <= AFGW_SMS_BINARY);
	if (pdu->udhi) {
		struct afgw_sms_udh udh;
		int rc = afgw_sms_udh_parse(ud, pdu->ud_len, &udh);
		check(rc == 0 || (rc == -EBADMSG && udh.bad));
		check(udh.len <= pdu->ud_len);
		if (udh.concat)
			check(udh.seq >= 1 && udh.seq <= udh.total);
		off = udh.len;
	}
	if (a == AFGW_SMS_GSM7) {
		/* TP-UDL counts the header's septets (and fill) too */
		size_t hsept = (off * 8 + 6) / 7;
		unsigned fill = (unsigned)(hsept * 7 - off * 8);
		size_t nsept = pdu->udl > hsept ? pdu->udl - hsept : 0;
		n = afgw_sms_unpack7(ud + off, pdu->ud_len - off, nsept, fill, units,
		                     sizeof(units));
		check(n <= nsept && n <= 160);
		for (size_t i = 0; i < n; i++)
			check(units[i] < 0x80);
		u = units;
	} else {
		u = ud + off;
		n = pdu->ud_len - off;
	}
	check(afgw_sms_decode(a, u, n, big, sizeof(big), &br) == 0);
	check(!br.truncated && valid_utf8(big, br.len));
	if (a == AFGW_SMS_BINARY)
		check(br.len == 0);
	if (cap > sizeof(small))
		cap = sizeof(small);
	int rc = afgw_sms_decode(a, u, n, small, cap, &sr);
	check(sr.len <= cap && valid_utf8(small, sr.len));
	check(sr.len <= br.len && memcmp(small, big, sr.len) == 0);
	if (rc == 0)
		check(!sr.truncated && sr.len == br.len);
	else
		check(rc == -ENOSPC && sr.truncated && sr.len < br.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct afgw_sms_pdu pdu, again;
	int rc = afgw_sms_rp_parse(data, size, &pdu);

	if (size < 2) {
		check(rc == -EBADMSG);
		return 0;
	}
	check(rc == 0 || rc == -EBADMSG);
	if (data[0] <= AFGW_RP_SMMA)
		check(rc == 0); /* an RP header that fits and a known RP-MTI */
	if (rc != 0)
		return 0;

	/* the same bytes give the same answer */
	check(afgw_sms_rp_parse(data, size, &again) == 0);
	check(again.rp_type == pdu.rp_type && again.tp_type == pdu.tp_type &&
	      again.anomalies == pdu.anomalies && again.ud == pdu.ud &&
	      again.ud_len == pdu.ud_len && again.udl == pdu.udl && again.dcs == pdu.dcs &&
	      same_addr(&again.party, &pdu.party) && same_addr(&again.rp_orig, &pdu.rp_orig) &&
	      same_addr(&again.rp_dest, &pdu.rp_dest));

	check(pdu.rp_type <= AFGW_RP_SMMA && pdu.rp_ref == data[1]);
	check(pdu.tp_type <= AFGW_TP_RESERVED);
	bool rp_data = pdu.rp_type == AFGW_RP_DATA_MO || pdu.rp_type == AFGW_RP_DATA_MT;
	check(rp_data == (pdu.tp_type != AFGW_TP_NONE));
	if (pdu.rp_type == AFGW_RP_DATA_MO)
		check(pdu.tp_type == AFGW_TP_SUBMIT || pdu.tp_type == AFGW_TP_COMMAND ||
		      pdu.tp_type == AFGW_TP_RESERVED);
	if (pdu.rp_type == AFGW_RP_DATA_MT)
		check(pdu.tp_type == AFGW_TP_DELIVER || pdu.tp_type == AFGW_TP_STATUS_REPORT ||
		      pdu.tp_type == AFGW_TP_RESERVED);
	check((pdu.anomalies & ~(uint32_t)ALL_ANOMALIES) == 0);
	for (uint32_t bits = pdu.anomalies; bits; bits &= bits - 1) {
		const char *name = afgw_sms_pdu_anomaly_name(bits & (0u - bits));
		check(name != NULL && name[0] != '\0');
	}
	check_addr(&pdu.rp_orig);
	check_addr(&pdu.rp_dest);
	check_addr(&pdu.party);

	/* the user data: a slice of the input, and only where there is text */
	if (pdu.ud_len) {
		check(pdu.tp_type == AFGW_TP_DELIVER || pdu.tp_type == AFGW_TP_SUBMIT);
		check(pdu.ud >= data && pdu.ud_len <= size &&
		      (size_t)(pdu.ud - data) <= size - pdu.ud_len);
	}
	check(pdu.ud_len <= 140);
	if ((pdu.tp_type == AFGW_TP_DELIVER || pdu.tp_type == AFGW_TP_SUBMIT) &&
	    pdu.anomalies == 0) {
		bool septets = afgw_sms_alphabet_dcs(pdu.dcs) == AFGW_SMS_GSM7;
		size_t want = septets ? ((size_t)pdu.udl * 7 + 7) / 8 : pdu.udl;
		check(pdu.ud_len == want);
		/* and the TP-UD ends the body */
		check(pdu.ud_len == 0 || pdu.ud + pdu.ud_len == data + size);
	}
	if (pdu.tp_type == AFGW_TP_DELIVER || pdu.tp_type == AFGW_TP_SUBMIT)
		decode_ud(&pdu, 1 + (size_t)(data[1] % 31));
	return 0;
}
