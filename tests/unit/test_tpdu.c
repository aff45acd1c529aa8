/*
 * test_tpdu.c - SMS over IP: the RP layer (3GPP TS 24.011 §7.3, §8.2) and
 * the TPDU it carries (TS 23.040 §9.2), as afgw_sms_rp_parse reads them.
 *
 * Every PDU here is assembled by hand from the specs, one byte group per
 * line with its meaning beside it; none is produced by the decoder under
 * test.  Covered: RP-DATA both ways with SMS-SUBMIT (all four TP-VPF
 * forms) and SMS-DELIVER, RP and TP addresses (odd digit counts, '*' '#'
 * and 'a'-'c', alphanumeric senders in packed GSM 7-bit), the user data
 * header, TP-UDL in septets or octets by TP-DCS, RP-ACK / RP-ERROR /
 * RP-SMMA, STATUS-REPORT and COMMAND, reserved types, and malformed
 * input: every prefix of every valid PDU, single-byte mutations, lengths
 * that lie, addresses too long, trailing bytes.
 *
 * The user data is decoded here the way a consumer does (UDH, fill bits,
 * the alphabet of the DCS, afgw_sms_decode), so a wrong UDL unit or a
 * slice in the wrong place shows up as wrong text.
 */
#include <errno.h>
#include <stdlib.h>

#include "afgw/sms.h"

#include "check.h"

#define U(...) ((const uint8_t[]){__VA_ARGS__})

static struct afgw_sms_pdu pdu;
static uint8_t *cur; /* the parsed copy: pdu.ud points into it */
static size_t cur_len;

/*
 * Parse a copy of p[0..n) held in a block of exactly n bytes, so ASan sees
 * any read past the end; *pdu is filled with junk first so fields the
 * parser forgets to set show.  The copy lives until the next call.
 */
static int parse(const uint8_t *p, size_t n)
{
	free(cur);
	cur = malloc(n ? n : 1);
	if (!cur) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	if (n)
		memcpy(cur, p, n);
	cur_len = n;
	memset(&pdu, 0xA5, sizeof(pdu));
	return afgw_sms_rp_parse(cur, n, &pdu);
}

#define PARSE(arr) parse(arr, sizeof(arr))

/* The user data slice lies inside the input (or is empty). */
static bool ud_in_bounds(void)
{
	if (pdu.ud_len == 0)
		return true;
	return pdu.ud >= cur && pdu.ud_len <= cur_len &&
	       (size_t)(pdu.ud - cur) <= cur_len - pdu.ud_len;
}

static char text[2048];
static size_t text_len;
static struct afgw_sms_udh udh;

/*
 * Decode pdu's TP-UD as a consumer would: the UDH when TP-UDHI says so,
 * then for GSM 7-bit the septets after the header's fill bits (TP-UDL
 * counts the header's septets too, 23.040 §9.2.3.16), else the octets.
 * Leaves the UTF-8 in text / text_len, the header in udh; returns the
 * alphabet.
 */
static enum afgw_sms_alphabet ud_text(void)
{
	static uint8_t units[512];
	struct afgw_sms_decoded res;
	enum afgw_sms_alphabet a = afgw_sms_alphabet_dcs(pdu.dcs);
	/* an empty slice may be NULL (a PDU cut before its TP-UD) */
	const uint8_t *ud = pdu.ud_len ? pdu.ud : (const uint8_t *)"";
	size_t off = 0;

	memset(&udh, 0, sizeof(udh));
	text_len = 0;
	if (pdu.udhi) {
		afgw_sms_udh_parse(ud, pdu.ud_len, &udh);
		off = udh.len;
	}
	if (a == AFGW_SMS_GSM7) {
		size_t hsept = (off * 8 + 6) / 7;
		unsigned fill = (unsigned)(hsept * 7 - off * 8);
		size_t nsept = pdu.udl > hsept ? pdu.udl - hsept : 0;
		size_t ns =
		    afgw_sms_unpack7(ud + off, pdu.ud_len - off, nsept, fill, units, sizeof(units));
		afgw_sms_decode(a, units, ns, text, sizeof(text), &res);
	} else {
		afgw_sms_decode(a, ud + off, pdu.ud_len - off, text, sizeof(text), &res);
	}
	text_len = res.len;
	return a;
}

/* ---- SMS-DELIVER: the classic public example ------------------------- */

/*
 * The SMS-DELIVER every PDU tutorial decodes
 * (07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07):
 * its SMSC part is exactly an RP-Originator Address, so it goes into an
 * RP-DATA network -> MS unchanged.
 */
static const uint8_t mt_example[] = {
    0x01,                                           /* RP-MTI 1: RP-DATA network -> MS */
    0x2A,                                           /* RP-MR 42 */
    0x07, 0x91, 0x13, 0x26, 0x04, 0x00, 0x00, 0xF0, /* RP-OA: 7 octets, intl/ISDN, 31624000000 */
    0x00,                                           /* RP-DA: empty (network -> MS) */
    0x1E,                                           /* RP-User-Data: 30 octets of TPDU */
    0x04,                                           /* SMS-DELIVER (MTI 00), TP-MMS */
    0x0B, 0x91, 0x13, 0x46, 0x61, 0x00, 0x89, 0xF6, /* TP-OA: 11 digits, intl/ISDN, 31641600986 */
    0x00,                                           /* TP-PID */
    0x00,                                           /* TP-DCS: GSM 7-bit */
    0x20, 0x80, 0x62, 0x91, 0x73, 0x14, 0x08,       /* TP-SCTS 02-08-26 19:37:41 */
    0x0C,                                           /* TP-UDL: 12 septets */
    0xC8, 0xF7, 0x1D, 0x14, 0x96, 0x97, 0x41, 0xF9, /* "How are you?" packed */
    0x77, 0xFD, 0x07,
};

static void test_classic_deliver(void)
{
	uint8_t s[32];

	CHECK_INT(PARSE(mt_example), 0);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_INT(pdu.rp_type, AFGW_RP_DATA_MT);
	CHECK_INT(pdu.rp_ref, 0x2A);
	/* RP-OA 0x91: extension bit, TON 1 international, NPI 1 ISDN */
	CHECK_INT(pdu.rp_orig.ton, 1);
	CHECK_INT(pdu.rp_orig.npi, 1);
	CHECK_MEM(pdu.rp_orig.text, pdu.rp_orig.len, "31624000000");
	CHECK_INT(pdu.rp_dest.len, 0);
	CHECK_INT(pdu.tp_type, AFGW_TP_DELIVER);
	CHECK_INT(pdu.tp_first, 0x04);
	CHECK(!pdu.udhi);
	CHECK_INT(pdu.party.ton, 1);
	CHECK_INT(pdu.party.npi, 1);
	CHECK_MEM(pdu.party.text, pdu.party.len, "31641600986");
	CHECK_INT(pdu.pid, 0);
	CHECK_INT(pdu.dcs, 0);
	CHECK_INT(pdu.udl, 12);
	/* 12 septets = 84 bits: 11 octets, a slice into the input */
	CHECK_INT(pdu.ud_len, 11);
	CHECK(pdu.ud == cur + sizeof(mt_example) - 11);
	CHECK_INT(afgw_sms_unpack7(pdu.ud, pdu.ud_len, pdu.udl, 0, s, sizeof(s)), 12);
	CHECK_MEM(s, 12, "How are you?");
	CHECK_INT(ud_text(), AFGW_SMS_GSM7);
	CHECK_MEM(text, text_len, "How are you?");
}

/* ---- SMS-SUBMIT and its four validity period formats ------------------ */

/* RP-DATA MS -> network, SMS-SUBMIT "Hello" to national 13800138000,
 * TP-VPF 00: no TP-VP. */
static const uint8_t mo_vp_none[] = {
    0x00,                                                 /* RP-MTI 0: RP-DATA MS -> network */
    0x05,                                                 /* RP-MR 5 */
    0x00,                                                 /* RP-OA: empty (MS -> network) */
    0x08, 0x91, 0x68, 0x31, 0x08, 0x10, 0x00, 0x05, 0xF0, /* RP-DA: SMSC intl 8613800100500 */
    0x12,                                                 /* RP-User-Data: 18 octets */
    0x01,                                                 /* SMS-SUBMIT (MTI 01), TP-VPF 00 */
    0x07,                                                 /* TP-MR 7 */
    0x0B, 0xA1, 0x31, 0x08, 0x10, 0x83, 0x00, 0xF0, /* TP-DA: 11 digits, national, 13800138000 */
    0x00,                                           /* TP-PID */
    0x00,                                           /* TP-DCS: GSM 7-bit */
    0x05,                                           /* TP-UDL: 5 septets */
    0xC8, 0x32, 0x9B, 0xFD, 0x06,                   /* "Hello" packed */
};

/* The same, TP-VPF 10: relative TP-VP, one octet. */
static const uint8_t mo_vp_relative[] = {
    0x00,                                                 /* RP-MTI 0: RP-DATA MS -> network */
    0x05,                                                 /* RP-MR 5 */
    0x00,                                                 /* RP-OA: empty */
    0x08, 0x91, 0x68, 0x31, 0x08, 0x10, 0x00, 0x05, 0xF0, /* RP-DA: SMSC intl 8613800100500 */
    0x13,                                                 /* RP-User-Data: 19 octets */
    0x11,                                                 /* SMS-SUBMIT, TP-VPF 10 (relative) */
    0x07,                                                 /* TP-MR 7 */
    0x0B, 0xA1, 0x31, 0x08, 0x10, 0x83, 0x00, 0xF0,       /* TP-DA: national 13800138000 */
    0x00,                                                 /* TP-PID */
    0x00,                                                 /* TP-DCS: GSM 7-bit */
    0xA7,                                                 /* TP-VP: relative, 24 hours */
    0x05,                                                 /* TP-UDL: 5 septets */
    0xC8, 0x32, 0x9B, 0xFD, 0x06,                         /* "Hello" */
};

/* TP-VPF 11: absolute TP-VP, seven octets in the TP-SCTS format. */
static const uint8_t mo_vp_absolute[] = {
    0x00,                                                 /* RP-MTI 0: RP-DATA MS -> network */
    0x05,                                                 /* RP-MR 5 */
    0x00,                                                 /* RP-OA: empty */
    0x08, 0x91, 0x68, 0x31, 0x08, 0x10, 0x00, 0x05, 0xF0, /* RP-DA: SMSC intl 8613800100500 */
    0x19,                                                 /* RP-User-Data: 25 octets */
    0x19,                                                 /* SMS-SUBMIT, TP-VPF 11 (absolute) */
    0x07,                                                 /* TP-MR 7 */
    0x0B, 0xA1, 0x31, 0x08, 0x10, 0x83, 0x00, 0xF0,       /* TP-DA: national 13800138000 */
    0x00,                                                 /* TP-PID */
    0x00,                                                 /* TP-DCS: GSM 7-bit */
    0x62, 0x21, 0x11, 0x80, 0x00, 0x00, 0x23,             /* TP-VP: 2026-12-11 08:00:00 +08:00 */
    0x05,                                                 /* TP-UDL: 5 septets */
    0xC8, 0x32, 0x9B, 0xFD, 0x06,                         /* "Hello" */
};

/* TP-VPF 01: enhanced TP-VP, seven octets (23.040 §9.2.3.12.3). */
static const uint8_t mo_vp_enhanced[] = {
    0x00,                                                 /* RP-MTI 0: RP-DATA MS -> network */
    0x05,                                                 /* RP-MR 5 */
    0x00,                                                 /* RP-OA: empty */
    0x08, 0x91, 0x68, 0x31, 0x08, 0x10, 0x00, 0x05, 0xF0, /* RP-DA: SMSC intl 8613800100500 */
    0x19,                                                 /* RP-User-Data: 25 octets */
    0x09,                                                 /* SMS-SUBMIT, TP-VPF 01 (enhanced) */
    0x07,                                                 /* TP-MR 7 */
    0x0B, 0xA1, 0x31, 0x08, 0x10, 0x83, 0x00, 0xF0,       /* TP-DA: national 13800138000 */
    0x00,                                                 /* TP-PID */
    0x00,                                                 /* TP-DCS: GSM 7-bit */
    0x01, 0xA7, 0x00, 0x00, 0x00, 0x00, 0x00,             /* TP-VP: enhanced, relative, 24 h */
    0x05,                                                 /* TP-UDL: 5 septets */
    0xC8, 0x32, 0x9B, 0xFD, 0x06,                         /* "Hello" */
};

static void test_submit_vpf(void)
{
	static const struct {
		const uint8_t *p;
		size_t n;
		uint8_t first;
	} v[] = {
	    {mo_vp_none, sizeof(mo_vp_none), 0x01},
	    {mo_vp_relative, sizeof(mo_vp_relative), 0x11},
	    {mo_vp_absolute, sizeof(mo_vp_absolute), 0x19},
	    {mo_vp_enhanced, sizeof(mo_vp_enhanced), 0x09},
	};

	for (size_t i = 0; i < AFGW_ARRAY_SIZE(v); i++) {
		CHECK_INT(parse(v[i].p, v[i].n), 0);
		CHECK_INT(pdu.anomalies, 0);
		CHECK_INT(pdu.rp_type, AFGW_RP_DATA_MO);
		CHECK_INT(pdu.rp_ref, 5);
		CHECK_INT(pdu.rp_orig.len, 0);
		CHECK_INT(pdu.rp_dest.ton, 1);
		CHECK_INT(pdu.rp_dest.npi, 1);
		/* 13 digits: the last octet's high nibble is the 0xF filler */
		CHECK_MEM(pdu.rp_dest.text, pdu.rp_dest.len, "8613800100500");
		CHECK_INT(pdu.tp_type, AFGW_TP_SUBMIT);
		CHECK_INT(pdu.tp_first, v[i].first);
		CHECK(!pdu.udhi);
		CHECK_INT(pdu.mr, 7);
		/* 0xA1: TON 2 national, NPI 1 ISDN */
		CHECK_INT(pdu.party.ton, 2);
		CHECK_INT(pdu.party.npi, 1);
		CHECK_MEM(pdu.party.text, pdu.party.len, "13800138000");
		CHECK_INT(pdu.pid, 0);
		CHECK_INT(pdu.dcs, 0);
		CHECK_INT(pdu.udl, 5);
		CHECK_INT(pdu.ud_len, 5);
		CHECK(pdu.ud == cur + v[i].n - 5);
		ud_text();
		CHECK_MEM(text, text_len, "Hello");
	}
}

/* ---- addresses ------------------------------------------------------- */

/*
 * An RP-DATA MS -> network whose TP-DA is da[0..dan) (length, TOA,
 * digits), with "Hi" as the text.  Returns the bytes written to b.
 */
static size_t mo_with_da(uint8_t *b, const uint8_t *da, size_t dan)
{
	static const uint8_t head[] = {
	    0x00, /* RP-MTI 0: RP-DATA MS -> network */
	    0x06, /* RP-MR 6 */
	    0x00, /* RP-OA: empty */
	    0x08, 0x91, 0x68, 0x31, 0x08, 0x10, 0x00, 0x05, 0xF0, /* RP-DA: SMSC 8613800100500 */
	};
	static const uint8_t tail[] = {
	    0x00,       /* TP-PID */
	    0x00,       /* TP-DCS: GSM 7-bit */
	    0x02,       /* TP-UDL: 2 septets */
	    0xC8, 0x34, /* "Hi" packed */
	};
	size_t n = 0;

	memcpy(b, head, sizeof(head));
	n += sizeof(head);
	size_t lenpos = n++; /* RP-User-Data length, set below */
	b[n++] = 0x01;       /* SMS-SUBMIT, TP-VPF 00 */
	b[n++] = 0x09;       /* TP-MR 9 */
	memcpy(b + n, da, dan);
	n += dan;
	memcpy(b + n, tail, sizeof(tail));
	n += sizeof(tail);
	b[lenpos] = (uint8_t)(n - lenpos - 1);
	return n;
}

static void test_tp_addresses(void)
{
	static const struct {
		uint8_t da[16];
		size_t n;
		uint8_t ton, npi;
		const char *text;
	} v[] = {
	    /* 5 digits, unknown/ISDN: 1 0 | 0 8 | 6 + filler 0xF */
	    {{0x05, 0x81, 0x01, 0x80, 0xF6}, 5, 0, 1, "10086"},
	    /* "*21#": '*' is 1010, '#' is 1011 (24.008 table 10.5.118) */
	    {{0x04, 0x81, 0x2A, 0xB1}, 4, 0, 1, "*21#"},
	    /* 1100 1101 1110 are 'a' 'b' 'c', then the filler */
	    {{0x03, 0x81, 0xDC, 0xFE}, 4, 0, 1, "abc"},
	    /* an empty address: length 0, the TOA octet still there */
	    {{0x00, 0x81}, 2, 0, 1, ""},
	    /* 20 digits, the most 23.040 §9.1.2.5 allows: 10 octets */
	    {{0x14, 0x91, 0x21, 0x43, 0x65, 0x87, 0x09, 0x21, 0x43, 0x65, 0x87, 0x09},
	     12,
	     1,
	     1,
	     "12345678901234567890"},
	    /* TON 4 subscriber, NPI 9 private: 1234 */
	    {{0x04, 0xC9, 0x21, 0x43}, 4, 4, 9, "1234"},
	};
	uint8_t b[64];

	for (size_t i = 0; i < AFGW_ARRAY_SIZE(v); i++) {
		size_t n = mo_with_da(b, v[i].da, v[i].n);
		CHECK_INT(parse(b, n), 0);
		CHECK_INT(pdu.anomalies, 0);
		CHECK_INT(pdu.tp_type, AFGW_TP_SUBMIT);
		CHECK_INT(pdu.party.ton, v[i].ton);
		CHECK_INT(pdu.party.npi, v[i].npi);
		CHECK_MEM(pdu.party.text, pdu.party.len, v[i].text);
		CHECK_INT(pdu.mr, 9);
		CHECK_INT(pdu.udl, 2);
		ud_text();
		CHECK_MEM(text, text_len, "Hi");
	}
}

/*
 * An RP-DATA network -> MS carrying an SMS-DELIVER whose TP-OA is
 * oa[0..oan), with first octet, DCS, UDL and TP-UD given.  Returns the
 * bytes written to b (at most 32 + oan + udn).
 */
static size_t mt_deliver(uint8_t *b, uint8_t first, const uint8_t *oa, size_t oan, uint8_t dcs,
                         uint8_t udl, const uint8_t *ud, size_t udn)
{
	static const uint8_t head[] = {
	    0x01, /* RP-MTI 1: RP-DATA network -> MS */
	    0x21, /* RP-MR 33 */
	    0x08, 0x91, 0x68, 0x31, 0x08, 0x10, 0x00, 0x05, 0xF0, /* RP-OA: SMSC 8613800100500 */
	    0x00,                                                 /* RP-DA: empty */
	};
	static const uint8_t scts[] = {
	    0x62, 0x11, 0x12, 0x80, 0x00, 0x00, 0x23, /* TP-SCTS 26-11-21 08:00:00 +08:00 */
	};
	size_t n = 0;

	memcpy(b, head, sizeof(head));
	n += sizeof(head);
	size_t lenpos = n++; /* RP-User-Data length, set below */
	b[n++] = first;
	memcpy(b + n, oa, oan);
	n += oan;
	b[n++] = 0x00; /* TP-PID */
	b[n++] = dcs;
	memcpy(b + n, scts, sizeof(scts));
	n += sizeof(scts);
	b[n++] = udl;
	if (udn)
		memcpy(b + n, ud, udn);
	n += udn;
	b[lenpos] = (uint8_t)(n - lenpos - 1);
	return n;
}

/* TP-OA of the DCS tests: 13 digits, intl/ISDN, 8613912345678. */
static const uint8_t oa_intl[] = {0x0D, 0x91, 0x68, 0x31, 0x19, 0x32, 0x54, 0x76, 0xF8};

/*
 * Alphanumeric senders: TON 5 (TOA 0xD0), the address value is GSM 7-bit
 * packed and TP-Address-Length counts its useful semi-octets (23.040
 * §9.1.2.5), so 4 characters (28 bits) are 7 semi-octets in 4 octets and
 * the decoder must not read the spare bits as a trailing '@'.
 */
static void test_alphanumeric(void)
{
	static const struct {
		uint8_t oa[16];
		size_t n;
		const char *text;
	} v[] = {
	    /* "ICBC": 7 semi-octets */
	    {{0x07, 0xD0, 0xC9, 0xA1, 0x70, 0x08}, 6, "ICBC"},
	    /* "Google": 42 bits, 11 semi-octets */
	    {{0x0B, 0xD0, 0xC7, 0xF7, 0xFB, 0xCC, 0x2E, 0x03}, 8, "Google"},
	    /* "Example": 49 bits, 13 semi-octets in 7 octets (56 bits would be 8 septets) */
	    {{0x0D, 0xD0, 0x45, 0x7C, 0xB8, 0x0D, 0x67, 0x97, 0x01}, 9, "Example"},
	    /* "Example" again with the length of whole octets (14), as some SMSCs
	     * send it: the 8th septet is padding, not an '@' */
	    {{0x0E, 0xD0, 0x45, 0x7C, 0xB8, 0x0D, 0x67, 0x97, 0x01}, 9, "Example"},
	    /* "ABCDEFGHIJK": 11 characters, the most: 20 semi-octets */
	    {{0x14, 0xD0, 0x41, 0xE1, 0x90, 0x58, 0x34, 0x1E, 0x91, 0x49, 0xE5, 0x12},
	     12,
	     "ABCDEFGHIJK"},
	};
	/* "工商银行" in UCS-2 */
	static const uint8_t ucs2[] = {0x5D, 0xE5, 0x55, 0x46, 0x94, 0xF6, 0x88, 0x4C};
	uint8_t b[96];

	for (size_t i = 0; i < AFGW_ARRAY_SIZE(v); i++) {
		size_t n =
		    mt_deliver(b, 0x04, v[i].oa, v[i].n, 0x08, sizeof(ucs2), ucs2, sizeof(ucs2));
		CHECK_INT(parse(b, n), 0);
		CHECK_INT(pdu.anomalies, 0);
		CHECK_INT(pdu.rp_type, AFGW_RP_DATA_MT);
		CHECK_INT(pdu.tp_type, AFGW_TP_DELIVER);
		CHECK_INT(pdu.party.ton, 5);
		CHECK_INT(pdu.party.npi, 0);
		CHECK_MEM(pdu.party.text, pdu.party.len, v[i].text);
		CHECK_INT(pdu.dcs, 0x08);
		CHECK_INT(pdu.udl, 8);
		CHECK_INT(pdu.ud_len, 8);
		CHECK_INT(ud_text(), AFGW_SMS_UCS2);
		CHECK_MEM(text, text_len, "工商银行");
	}

	/* A sender with characters outside ASCII: "Øre£" (0x0B 'r' 'e' 0x01) */
	static const uint8_t oa_latin[] = {
	    0x07, 0xD0, 0x0B, 0x79, 0x39, 0x00, /* TP-OA: alphanumeric, 7 semi-octets, "Øre£" */
	};
	size_t n =
	    mt_deliver(b, 0x04, oa_latin, sizeof(oa_latin), 0x08, sizeof(ucs2), ucs2, sizeof(ucs2));
	CHECK_INT(parse(b, n), 0);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_MEM(pdu.party.text, pdu.party.len, "Øre£");
}

static void test_rp_addresses(void)
{
	/* RP-DATA MT whose RP-OA has an even digit count and TON/NPI 0xA1, and
	 * the TPDU's TP-OA a short code of unknown type */
	static const uint8_t mt[] = {
	    0x01,                                     /* RP-MTI 1: RP-DATA network -> MS */
	    0x00,                                     /* RP-MR 0 */
	    0x05, 0xA1, 0x31, 0x08, 0x10, 0x00,       /* RP-OA: 4 octets, national/ISDN, 13800100 */
	    0x00,                                     /* RP-DA: empty */
	    0x15,                                     /* RP-User-Data: 21 octets */
	    0x04,                                     /* SMS-DELIVER, TP-MMS */
	    0x05, 0x81, 0x59, 0x85, 0xF8,             /* TP-OA: 5 digits, unknown/ISDN, 95588 */
	    0x00,                                     /* TP-PID */
	    0x00,                                     /* TP-DCS: GSM 7-bit */
	    0x62, 0x11, 0x12, 0x80, 0x00, 0x00, 0x23, /* TP-SCTS */
	    0x05,                                     /* TP-UDL: 5 septets */
	    0xC8, 0x32, 0x9B, 0xFD, 0x06,             /* "Hello" */
	};

	CHECK_INT(PARSE(mt), 0);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_INT(pdu.rp_ref, 0);
	CHECK_INT(pdu.rp_orig.ton, 2);
	CHECK_INT(pdu.rp_orig.npi, 1);
	CHECK_MEM(pdu.rp_orig.text, pdu.rp_orig.len, "13800100");
	CHECK_INT(pdu.rp_dest.len, 0);
	CHECK_INT(pdu.party.ton, 0);
	CHECK_MEM(pdu.party.text, pdu.party.len, "95588");
	ud_text();
	CHECK_MEM(text, text_len, "Hello");
}

/* ---- user data header, UDL units ------------------------------------- */

static void test_concat(void)
{
	/* RP-DATA MO: part 1 of 2 of a GSM 7-bit message, 8-bit reference */
	static const uint8_t mo_part[] = {
	    0x00, /* RP-MTI 0: RP-DATA MS -> network */
	    0x0A, /* RP-MR 10 */
	    0x00, /* RP-OA: empty */
	    0x08, 0x91, 0x68, 0x31, 0x08, 0x10, 0x00, 0x05, 0xF0, /* RP-DA: SMSC 8613800100500 */
	    0x1C,                                                 /* RP-User-Data: 28 octets */
	    0x41, /* SMS-SUBMIT, TP-UDHI, TP-VPF 00 */
	    0x0B, /* TP-MR 11 */
	    0x0D, 0x91, 0x68, 0x31, 0x08, 0x10, 0x83, 0x00, 0xF0, /* TP-DA: intl 8613800138000 */
	    0x00,                                                 /* TP-PID */
	    0x00,                                                 /* TP-DCS: GSM 7-bit */
	    0x10,                               /* TP-UDL: 16 septets = 7 (UDH + fill) + 9 */
	    0x05, 0x00, 0x03, 0xA7, 0x02, 0x01, /* UDH: IE 00 concat, ref 0xA7, 2 parts, part 1 */
	    0xA0, 0x61, 0x39, 0x1D, 0xF4, 0x76, 0x97, 0x41, /* 1 fill bit, "Part one " */
	};
	/* RP-DATA MT: part 2 of 3 in UCS-2, 16-bit reference */
	static const uint8_t mt_part[] = {
	    0x01, /* RP-MTI 1: RP-DATA network -> MS */
	    0x0C, /* RP-MR 12 */
	    0x08, 0x91, 0x68, 0x31, 0x08, 0x10, 0x00, 0x05, 0xF0, /* RP-OA: SMSC 8613800100500 */
	    0x00,                                                 /* RP-DA: empty */
	    0x1B,                                                 /* RP-User-Data: 27 octets */
	    0x44,                                                 /* SMS-DELIVER, TP-UDHI, TP-MMS */
	    0x05, 0x81, 0x59, 0x85, 0xF8,                         /* TP-OA: unknown/ISDN 95588 */
	    0x00,                                                 /* TP-PID */
	    0x08,                                                 /* TP-DCS: UCS-2 */
	    0x62, 0x11, 0x12, 0x80, 0x00, 0x00, 0x23,             /* TP-SCTS */
	    0x0B,                                                 /* TP-UDL: 11 octets */
	    0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x02, /* UDH: IE 08 concat, ref 0x1234, 3 parts,
	                                                 part 2 */
	    0x4F, 0x60, 0x59, 0x7D,                   /* "你好" */
	};

	CHECK_INT(PARSE(mo_part), 0);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_INT(pdu.tp_type, AFGW_TP_SUBMIT);
	CHECK(pdu.udhi);
	CHECK_INT(pdu.tp_first, 0x41);
	CHECK_MEM(pdu.party.text, pdu.party.len, "8613800138000");
	CHECK_INT(pdu.udl, 16);
	CHECK_INT(pdu.ud_len, 14); /* ceil(16 * 7 / 8) */
	CHECK(pdu.ud == cur + sizeof(mo_part) - 14);
	CHECK_INT(ud_text(), AFGW_SMS_GSM7);
	CHECK(udh.present && udh.concat && !udh.ref16 && !udh.bad);
	CHECK_INT(udh.len, 6);
	CHECK_INT(udh.ref, 0xA7);
	CHECK_INT(udh.total, 2);
	CHECK_INT(udh.seq, 1);
	CHECK_MEM(text, text_len, "Part one ");

	CHECK_INT(PARSE(mt_part), 0);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_INT(pdu.tp_type, AFGW_TP_DELIVER);
	CHECK(pdu.udhi);
	CHECK_INT(pdu.udl, 11);
	CHECK_INT(pdu.ud_len, 11);
	CHECK_INT(ud_text(), AFGW_SMS_UCS2);
	CHECK(udh.present && udh.concat && udh.ref16 && !udh.bad);
	CHECK_INT(udh.ref, 0x1234);
	CHECK_INT(udh.total, 3);
	CHECK_INT(udh.seq, 2);
	CHECK_MEM(text, text_len, "你好");
}

/*
 * TP-UDL counts septets when the DCS says GSM 7-bit (uncompressed),
 * octets otherwise (23.040 §9.2.3.16).  Each case's UD is exactly what
 * its UDL asks for, so reading the other unit shows as UDL or EXTRA.
 */
static void test_udl_units(void)
{
	static const struct {
		uint8_t dcs, udl;
		uint8_t ud[16];
		size_t n;
		const char *text; /* NULL: binary */
	} v[] = {
	    /* 0x00 GSM 7-bit: 8 septets in 7 octets, "12345678" */
	    {0x00, 8, {0x31, 0xD9, 0x8C, 0x56, 0xB3, 0xDD, 0x70}, 7, "12345678"},
	    /* 0x11 general group, class 1, GSM 7-bit: septets */
	    {0x11, 5, {0xC8, 0x32, 0x9B, 0xFD, 0x06}, 5, "Hello"},
	    /* 0xF0 data coding / message class group, class 0, GSM 7-bit: septets */
	    {0xF0, 5, {0xC8, 0x32, 0x9B, 0xFD, 0x06}, 5, "Hello"},
	    /* 0xC0 message waiting (discard), GSM 7-bit: septets */
	    {0xC0, 2, {0xC8, 0x34}, 2, "Hi"},
	    /* 0x08 UCS-2: octets, "你好吗？" (8 octets; as septets 8 would be 7 octets) */
	    {0x08, 8, {0x4F, 0x60, 0x59, 0x7D, 0x54, 0x17, 0xFF, 0x1F}, 8, "你好吗？"},
	    /* 0x18 UCS-2, class 0: octets */
	    {0x18, 8, {0x4F, 0x60, 0x59, 0x7D, 0x54, 0x17, 0xFF, 0x1F}, 8, "你好吗？"},
	    /* 0xE0 message waiting (store), UCS-2: octets, U+1F600 as a surrogate pair */
	    {0xE0, 4, {0xD8, 0x3D, 0xDE, 0x00}, 4, "😀"},
	    /* 0x04 8-bit data: octets */
	    {0x04, 8, {0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01, 0x02, 0x03}, 8, NULL},
	    /* 0xF4 class 0, 8-bit data: octets */
	    {0xF4, 8, {0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01, 0x02, 0x03}, 8, NULL},
	    /* 0x20 compressed GSM 7-bit: UDL counts octets after compression */
	    {0x20, 8, {0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01, 0x02, 0x03}, 8, NULL},
	    /* UDL 0: no user data at all */
	    {0x00, 0, {0}, 0, ""},
	};
	uint8_t b[96];

	for (size_t i = 0; i < AFGW_ARRAY_SIZE(v); i++) {
		size_t n = mt_deliver(b, 0x04, oa_intl, sizeof(oa_intl), v[i].dcs, v[i].udl,
		                      v[i].ud, v[i].n);
		CHECK_INT(parse(b, n), 0);
		if (pdu.anomalies != 0)
			fprintf(stderr, "  (udl case %zu, dcs 0x%02X)\n", i, v[i].dcs);
		CHECK_INT(pdu.anomalies, 0);
		CHECK_INT(pdu.dcs, v[i].dcs);
		CHECK_INT(pdu.udl, v[i].udl);
		CHECK_INT(pdu.ud_len, v[i].n);
		CHECK_MEM(pdu.party.text, pdu.party.len, "8613912345678");
		enum afgw_sms_alphabet a = ud_text();
		if (v[i].text) {
			CHECK(a != AFGW_SMS_BINARY);
			CHECK_MEM(text, text_len, v[i].text);
		} else {
			CHECK_INT(a, AFGW_SMS_BINARY);
			CHECK(pdu.ud_len == 0 || memcmp(pdu.ud, v[i].ud, v[i].n) == 0);
		}
	}

	/* The boundaries: 160 septets in 140 octets and 140 UCS-2 octets are
	 * whole messages; one more is an anomaly. */
	static uint8_t ud[141];
	memset(ud, 0x41, sizeof(ud)); /* packed 0x41 repeated: any septets */
	uint8_t big[200];
	size_t n = mt_deliver(big, 0x04, oa_intl, sizeof(oa_intl), 0x00, 160, ud, 140);
	CHECK_INT(parse(big, n), 0);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_INT(pdu.ud_len, 140);
	n = mt_deliver(big, 0x04, oa_intl, sizeof(oa_intl), 0x08, 140, ud, 140);
	CHECK_INT(parse(big, n), 0);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_INT(pdu.ud_len, 140);
	/* 161 septets need 141 octets: more than TP-UD may hold */
	n = mt_deliver(big, 0x04, oa_intl, sizeof(oa_intl), 0x00, 161, ud, 141);
	CHECK_INT(parse(big, n), 0);
	CHECK(pdu.anomalies & AFGW_SMS_PDU_A_UDL);
	n = mt_deliver(big, 0x04, oa_intl, sizeof(oa_intl), 0x08, 141, ud, 141);
	CHECK_INT(parse(big, n), 0);
	CHECK(pdu.anomalies & AFGW_SMS_PDU_A_UDL);
	CHECK(ud_in_bounds());
}

/* GSM 7-bit with the extension table, after a UDH: the fill bits and
 * the escapes together. */
static void test_gsm7_extension(void)
{
	static const uint8_t mt[] = {
	    0x01, /* RP-MTI 1: RP-DATA network -> MS */
	    0x0D, /* RP-MR 13 */
	    0x08,
	    0x91,
	    0x68,
	    0x31,
	    0x08,
	    0x10,
	    0x00,
	    0x05,
	    0xF0, /* RP-OA: SMSC 8613800100500 */
	    0x00, /* RP-DA: empty */
	    0x2E, /* RP-User-Data: 46 octets */
	    0x44, /* SMS-DELIVER, TP-UDHI, TP-MMS */
	    0x0D,
	    0x91,
	    0x68,
	    0x31,
	    0x19,
	    0x32,
	    0x54,
	    0x76,
	    0xF8, /* TP-OA: intl 8613912345678 */
	    0x00, /* TP-PID */
	    0x00, /* TP-DCS: GSM 7-bit */
	    0x62,
	    0x11,
	    0x12,
	    0x80,
	    0x00,
	    0x00,
	    0x23, /* TP-SCTS */
	    0x1D, /* TP-UDL: 29 septets = 7 (UDH + fill) + 22 */
	    0x05,
	    0x00,
	    0x03,
	    0x33,
	    0x01,
	    0x01, /* UDH: concat ref 0x33, 1 part, part 1 */
	    /* 1 fill bit, then "Pay €5 [now] {ok}": € [ ] { } each ESC + code */
	    0xA0,
	    0xE1,
	    0x3C,
	    0x68,
	    0x53,
	    0xAE,
	    0x81,
	    0x36,
	    0x3C,
	    0xF7,
	    0xFB,
	    0xBE,
	    0xF1,
	    0x81,
	    0x36,
	    0xA8,
	    0xF7,
	    0x7A,
	    0x93,
	    0x02,
	};

	CHECK_INT(PARSE(mt), 0);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_INT(pdu.udl, 29);
	CHECK_INT(pdu.ud_len, 26); /* ceil(29 * 7 / 8) */
	CHECK_INT(ud_text(), AFGW_SMS_GSM7);
	CHECK(udh.concat);
	CHECK_MEM(text, text_len, "Pay €5 [now] {ok}");
}

/* ---- the other RP messages and TPDU types ---------------------------- */

static void test_rp_other(void)
{
	static const uint8_t ack_mo[] = {
	    0x02, /* RP-MTI 2: RP-ACK MS -> network */
	    0x05, /* RP-MR 5 */
	};
	static const uint8_t ack_mo_ud[] = {
	    0x02,       /* RP-MTI 2: RP-ACK MS -> network */
	    0x05,       /* RP-MR 5 */
	    0x41, 0x02, /* RP-User-Data IEI 0x41, 2 octets */
	    0x00, 0x00, /* SMS-DELIVER-REPORT, TP-PI none */
	};
	static const uint8_t ack_mt_ud[] = {
	    0x03,                                     /* RP-MTI 3: RP-ACK network -> MS */
	    0x2A,                                     /* RP-MR 42 */
	    0x41, 0x09,                               /* RP-User-Data IEI 0x41, 9 octets */
	    0x01, 0x00,                               /* SMS-SUBMIT-REPORT, TP-PI none */
	    0x62, 0x11, 0x12, 0x80, 0x00, 0x00, 0x23, /* TP-SCTS */
	};
	static const uint8_t err_mo[] = {
	    0x04,       /* RP-MTI 4: RP-ERROR MS -> network */
	    0x07,       /* RP-MR 7 */
	    0x01, 0x16, /* RP-Cause: 1 octet, 22 memory capacity exceeded */
	};
	static const uint8_t err_mo_ud[] = {
	    0x04,             /* RP-MTI 4: RP-ERROR MS -> network */
	    0x07,             /* RP-MR 7 */
	    0x01, 0x16,       /* RP-Cause: 22 memory capacity exceeded */
	    0x41, 0x03,       /* RP-User-Data IEI 0x41, 3 octets */
	    0x00, 0xD3, 0x00, /* SMS-DELIVER-REPORT, TP-FCS 0xD3 memory exceeded, TP-PI none */
	};
	static const uint8_t err_mt[] = {
	    0x05,             /* RP-MTI 5: RP-ERROR network -> MS */
	    0x08,             /* RP-MR 8 */
	    0x02, 0x2A, 0x00, /* RP-Cause: 2 octets, 42 congestion, diagnostic 0 */
	};
	static const uint8_t smma[] = {
	    0x06, /* RP-MTI 6: RP-SMMA MS -> network */
	    0x09, /* RP-MR 9 */
	};
	static const struct {
		const uint8_t *p;
		size_t n;
		enum afgw_rp_type type;
		uint8_t ref;
	} v[] = {
	    {ack_mo, sizeof(ack_mo), AFGW_RP_ACK_MO, 5},
	    {ack_mo_ud, sizeof(ack_mo_ud), AFGW_RP_ACK_MO, 5},
	    {ack_mt_ud, sizeof(ack_mt_ud), AFGW_RP_ACK_MT, 42},
	    {err_mo, sizeof(err_mo), AFGW_RP_ERROR_MO, 7},
	    {err_mo_ud, sizeof(err_mo_ud), AFGW_RP_ERROR_MO, 7},
	    {err_mt, sizeof(err_mt), AFGW_RP_ERROR_MT, 8},
	    {smma, sizeof(smma), AFGW_RP_SMMA, 9},
	};

	for (size_t i = 0; i < AFGW_ARRAY_SIZE(v); i++) {
		CHECK_INT(parse(v[i].p, v[i].n), 0);
		if (pdu.anomalies != 0)
			fprintf(stderr, "  (rp case %zu, RP-MTI %u)\n", i, v[i].p[0]);
		CHECK_INT(pdu.anomalies, 0);
		CHECK_INT(pdu.rp_type, v[i].type);
		CHECK_INT(pdu.rp_ref, v[i].ref);
		CHECK_INT(pdu.tp_type, AFGW_TP_NONE);
		CHECK_INT(pdu.ud_len, 0);
		CHECK_INT(pdu.rp_orig.len, 0);
		CHECK_INT(pdu.rp_dest.len, 0);
		CHECK_INT(pdu.party.len, 0);
	}

	/* Too short for the RP header, and the reserved RP-MTI 7 */
	CHECK_INT(parse(U(0x00), 0), -EBADMSG);
	CHECK_INT(parse(U(0x00), 1), -EBADMSG);
	CHECK_INT(parse(U(0x02), 1), -EBADMSG);
	CHECK_INT(parse(U(0x07, 0x01), 2), -EBADMSG);
	CHECK_INT(parse(U(0x07, 0x01, 0x00, 0x00, 0x00), 5), -EBADMSG);
}

static void test_report_command(void)
{
	static const uint8_t mt_report[] = {
	    0x01, /* RP-MTI 1: RP-DATA network -> MS */
	    0x11, /* RP-MR 17 */
	    0x08, 0x91, 0x68, 0x31, 0x08, 0x10, 0x00, 0x05, 0xF0, /* RP-OA: SMSC 8613800100500 */
	    0x00,                                                 /* RP-DA: empty */
	    0x19,                                                 /* RP-User-Data: 25 octets */
	    0x06,                                           /* SMS-STATUS-REPORT (MTI 10), TP-MMS */
	    0x07,                                           /* TP-MR 7: the SUBMIT it reports on */
	    0x0B, 0xA1, 0x31, 0x08, 0x10, 0x83, 0x00, 0xF0, /* TP-RA: national 13800138000 */
	    0x62, 0x11, 0x12, 0x80, 0x00, 0x00, 0x23,       /* TP-SCTS */
	    0x62, 0x11, 0x12, 0x80, 0x01, 0x00, 0x23,       /* TP-DT: delivered a minute later */
	    0x00,                                           /* TP-ST 0: received by the SME */
	};
	static const uint8_t mo_command[] = {
	    0x00, /* RP-MTI 0: RP-DATA MS -> network */
	    0x12, /* RP-MR 18 */
	    0x00, /* RP-OA: empty */
	    0x08, 0x91, 0x68, 0x31, 0x08, 0x10, 0x00, 0x05, 0xF0, /* RP-DA: SMSC 8613800100500 */
	    0x0E,                                                 /* RP-User-Data: 14 octets */
	    0x02,                                                 /* SMS-COMMAND (MTI 10) */
	    0x08,                                                 /* TP-MR 8 */
	    0x00,                                                 /* TP-PID */
	    0x01, /* TP-CT 1: cancel status report request */
	    0x07, /* TP-MN 7 */
	    0x0B, 0xA1, 0x31, 0x08, 0x10, 0x83, 0x00, 0xF0, /* TP-DA: national 13800138000 */
	    0x00,                                           /* TP-CDL 0 */
	};

	CHECK_INT(PARSE(mt_report), 0);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_INT(pdu.rp_type, AFGW_RP_DATA_MT);
	CHECK_INT(pdu.tp_type, AFGW_TP_STATUS_REPORT);
	CHECK_INT(pdu.tp_first, 0x06);
	CHECK_MEM(pdu.rp_orig.text, pdu.rp_orig.len, "8613800100500");
	CHECK_INT(pdu.ud_len, 0);

	CHECK_INT(PARSE(mo_command), 0);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_INT(pdu.rp_type, AFGW_RP_DATA_MO);
	CHECK_INT(pdu.tp_type, AFGW_TP_COMMAND);
	CHECK_INT(pdu.tp_first, 0x02);
	CHECK_MEM(pdu.rp_dest.text, pdu.rp_dest.len, "8613800100500");
	CHECK_INT(pdu.ud_len, 0);
}

/*
 * TP-MTI is read with the direction (23.040 §9.2.3.1): 11 is reserved
 * both ways, and a SUBMIT-REPORT (01 network -> MS) or DELIVER-REPORT
 * (00 MS -> network) travels in RP-ACK / RP-ERROR, never in RP-DATA.
 */
static void test_reserved_mti(void)
{
	static const struct {
		uint8_t rp_mti, first;
	} v[] = {
	    {0x00, 0x03}, /* MO, TP-MTI 11 */
	    {0x01, 0x03}, /* MT, TP-MTI 11 */
	    {0x01, 0x01}, /* MT, TP-MTI 01 (SUBMIT's code) */
	    {0x00, 0x00}, /* MO, TP-MTI 00 (DELIVER's code) */
	};
	uint8_t b[64];

	for (size_t i = 0; i < AFGW_ARRAY_SIZE(v); i++) {
		size_t n = 0;
		b[n++] = v[i].rp_mti; /* RP-MTI: RP-DATA */
		b[n++] = 0x01;        /* RP-MR */
		if (v[i].rp_mti == 0) {
			b[n++] = 0x00; /* RP-OA: empty */
			b[n++] = 0x03; /* RP-DA: 3 octets, intl 1234 */
			b[n++] = 0x91;
			b[n++] = 0x21;
			b[n++] = 0x43;
		} else {
			b[n++] = 0x03; /* RP-OA: 3 octets, intl 1234 */
			b[n++] = 0x91;
			b[n++] = 0x21;
			b[n++] = 0x43;
			b[n++] = 0x00; /* RP-DA: empty */
		}
		b[n++] = 0x04;       /* RP-User-Data: 4 octets */
		b[n++] = v[i].first; /* the TPDU's first octet */
		b[n++] = 0x00;       /* (whatever follows) */
		b[n++] = 0x00;
		b[n++] = 0x00;
		CHECK_INT(parse(b, n), 0);
		CHECK_INT(pdu.tp_type, AFGW_TP_RESERVED);
		CHECK(pdu.anomalies & AFGW_SMS_PDU_A_RESERVED);
		CHECK_INT(pdu.ud_len, 0);
		CHECK_MEM(v[i].rp_mti ? pdu.rp_orig.text : pdu.rp_dest.text,
		          v[i].rp_mti ? pdu.rp_orig.len : pdu.rp_dest.len, "1234");
	}
}

/* ---- malformed PDUs --------------------------------------------------- */

static void test_malformed(void)
{
	uint8_t b[128];
	size_t n;

	/* UDL 20 septets (18 octets) over 5 octets of "Hello" */
	n = mt_deliver(b, 0x04, oa_intl, sizeof(oa_intl), 0x00, 20, U(0xC8, 0x32, 0x9B, 0xFD, 0x06),
	               5);
	CHECK_INT(parse(b, n), 0);
	CHECK(pdu.anomalies & AFGW_SMS_PDU_A_UDL);
	CHECK_INT(pdu.tp_type, AFGW_TP_DELIVER);
	CHECK_INT(pdu.udl, 20);
	CHECK_INT(pdu.ud_len, 5);
	CHECK(ud_in_bounds());
	CHECK_MEM(pdu.party.text, pdu.party.len, "8613912345678"); /* what was read stands */

	/* UCS-2 UDL 9 over 8 octets */
	n = mt_deliver(b, 0x04, oa_intl, sizeof(oa_intl), 0x08, 9,
	               U(0x4F, 0x60, 0x59, 0x7D, 0x54, 0x17, 0xFF, 0x1F), 8);
	CHECK_INT(parse(b, n), 0);
	CHECK(pdu.anomalies & AFGW_SMS_PDU_A_UDL);
	CHECK_INT(pdu.ud_len, 8);

	/* TP-OA of 21 semi-octets: one more than 23.040 allows */
	static const uint8_t oa21[] = {
	    0x15, 0x91, 0x21, 0x43, 0x65, 0x87, 0x09, /* TP-OA: 21 digits, 11 octets */
	    0x21, 0x43, 0x65, 0x87, 0x09, 0xF1,
	};
	n = mt_deliver(b, 0x04, oa21, sizeof(oa21), 0x00, 2, U(0xC8, 0x34), 2);
	CHECK_INT(parse(b, n), 0);
	CHECK(pdu.anomalies & AFGW_SMS_PDU_A_BAD_ADDRESS);
	CHECK(pdu.party.len <= AFGW_SMS_ADDR_MAX);
	CHECK(ud_in_bounds());

	/* TP-DA of 0xFF semi-octets: runs far past the TPDU */
	static const uint8_t da255[] = {0xFF, 0x91, 0x21, 0x43}; /* TP-DA: claims 255 digits */
	n = mo_with_da(b, da255, sizeof(da255));
	CHECK_INT(parse(b, n), 0);
	CHECK(pdu.anomalies & AFGW_SMS_PDU_A_BAD_ADDRESS);
	CHECK(pdu.party.len <= AFGW_SMS_ADDR_MAX);
	CHECK(ud_in_bounds());

	/* A filler nibble inside the digits the length counts */
	static const uint8_t da_fill[] = {0x04, 0x81, 0xF1, 0x43}; /* TP-DA: 4 digits "1?34" */
	n = mo_with_da(b, da_fill, sizeof(da_fill));
	CHECK_INT(parse(b, n), 0);
	CHECK(pdu.anomalies & AFGW_SMS_PDU_A_BAD_ADDRESS);

	/* RP-OA of 12 octets: 24.011 §8.2.5.1 allows 11 */
	static const uint8_t rp_oa12[] = {
	    0x01,                                     /* RP-MTI 1: RP-DATA network -> MS */
	    0x01,                                     /* RP-MR 1 */
	    0x0C, 0x91, 0x21, 0x43, 0x65, 0x87, 0x09, /* RP-OA: 12 octets (22 digits) */
	    0x21, 0x43, 0x65, 0x87, 0x09, 0x21, 0x00, /* RP-DA: empty */
	    0x0D,                                     /* RP-User-Data: 13 octets */
	    0x04,                                     /* SMS-DELIVER */
	    0x00, 0x80,                               /* TP-OA: empty */
	    0x00, 0x00,                               /* TP-PID, TP-DCS */
	    0x62, 0x11, 0x12, 0x80, 0x00, 0x00, 0x23, /* TP-SCTS */
	    0x00,                                     /* TP-UDL 0 */
	};
	CHECK_INT(PARSE(rp_oa12), 0);
	CHECK(pdu.anomalies & AFGW_SMS_PDU_A_BAD_ADDRESS);
	CHECK(pdu.rp_orig.len <= AFGW_SMS_ADDR_MAX);

	/* Two bytes after TP-UD inside the RP-User-Data */
	n = mt_deliver(b, 0x04, oa_intl, sizeof(oa_intl), 0x00, 2, U(0xC8, 0x34, 0xEE, 0xEE), 4);
	CHECK_INT(parse(b, n), 0);
	CHECK(pdu.anomalies & AFGW_SMS_PDU_A_EXTRA);
	CHECK_INT(pdu.ud_len, 2);
	ud_text();
	CHECK_MEM(text, text_len, "Hi");

	/* Two bytes after the RP-User-Data element */
	n = mt_deliver(b, 0x04, oa_intl, sizeof(oa_intl), 0x00, 2, U(0xC8, 0x34), 2);
	b[n++] = 0xEE;
	b[n++] = 0xEE;
	CHECK_INT(parse(b, n), 0);
	CHECK(pdu.anomalies & AFGW_SMS_PDU_A_EXTRA);
	CHECK_INT(pdu.ud_len, 2);
	ud_text();
	CHECK_MEM(text, text_len, "Hi");

	/* RP-User-Data length larger than what follows */
	n = mt_deliver(b, 0x04, oa_intl, sizeof(oa_intl), 0x00, 2, U(0xC8, 0x34), 2);
	b[11] = (uint8_t)(b[11] + 10); /* RP-User-Data length, 10 too many */
	CHECK_INT(parse(b, n), 0);
	CHECK(pdu.anomalies & AFGW_SMS_PDU_A_TRUNCATED);
	CHECK(ud_in_bounds());

	/* RP-DATA with an empty RP-User-Data: no TPDU at all */
	static const uint8_t no_tpdu[] = {
	    0x01,                   /* RP-MTI 1: RP-DATA network -> MS */
	    0x01,                   /* RP-MR 1 */
	    0x03, 0x91, 0x21, 0x43, /* RP-OA: intl 1234 */
	    0x00,                   /* RP-DA: empty */
	    0x00,                   /* RP-User-Data: 0 octets */
	};
	CHECK_INT(PARSE(no_tpdu), 0);
	CHECK(pdu.anomalies != 0);
	CHECK_INT(pdu.ud_len, 0);

	/* A UDH whose UDHL runs past TP-UD: the parser hands it over, the
	 * consumer's afgw_sms_udh_parse refuses it */
	n = mt_deliver(b, 0x44, oa_intl, sizeof(oa_intl), 0x08, 4, U(0x20, 0x00, 0x03, 0x01), 4);
	CHECK_INT(parse(b, n), 0);
	CHECK(pdu.udhi);
	CHECK_INT(pdu.ud_len, 4);
	CHECK_INT(afgw_sms_udh_parse(pdu.ud, pdu.ud_len, &udh), -EBADMSG);
}

/* ---- every prefix, every mutation ------------------------------------ */

/* One more valid PDU for the loops: the UCS-2 16-bit-ref concat part
 * through mt_deliver, built in main. */
static uint8_t loop_extra[64];
static size_t loop_extra_len;

/*
 * Every prefix of every valid RP-DATA is cut somewhere the RP-User-Data
 * length (or an earlier length) promised more: -EBADMSG below 2 bytes,
 * else 0 with TRUNCATED, never a read outside the input (ASan), the
 * slice and the addresses in bounds.
 */
static void check_prefixes(const uint8_t *p, size_t n, bool rp_data)
{
	for (size_t k = 0; k < n; k++) {
		int rc = parse(p, k);
		if (k < 2) {
			CHECK_INT(rc, -EBADMSG);
			continue;
		}
		CHECK_INT(rc, 0);
		if (rp_data && !(pdu.anomalies & AFGW_SMS_PDU_A_TRUNCATED))
			fprintf(stderr,
			        "  (prefix %zu of %zu bytes not TRUNCATED, anomalies 0x%x)\n", k, n,
			        pdu.anomalies);
		if (rp_data)
			CHECK(pdu.anomalies & AFGW_SMS_PDU_A_TRUNCATED);
		CHECK(ud_in_bounds());
		CHECK(pdu.party.len <= AFGW_SMS_ADDR_MAX);
		CHECK(pdu.rp_orig.len <= AFGW_SMS_ADDR_MAX);
		CHECK(pdu.rp_dest.len <= AFGW_SMS_ADDR_MAX);
		if (pdu.tp_type != AFGW_TP_DELIVER && pdu.tp_type != AFGW_TP_SUBMIT)
			CHECK_INT(pdu.ud_len, 0);
		if (pdu.ud_len)
			ud_text(); /* the consumer survives it too */
	}
	/* and the whole PDU is clean */
	CHECK_INT(parse(p, n), 0);
	CHECK_INT(pdu.anomalies, 0);
}

/*
 * Each byte of each valid PDU set to a few telling values: the parser
 * returns 0 or -EBADMSG, keeps its slices in bounds, and whatever it
 * hands over decodes.  n * 6 parses per PDU.
 */
static void check_mutations(const uint8_t *p, size_t n)
{
	static const uint8_t vals[] = {0x00, 0xFF, 0x80, 0x7F, 0x15, 0x41};
	uint8_t b[256];

	if (n > sizeof(b))
		return;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < AFGW_ARRAY_SIZE(vals); j++) {
			memcpy(b, p, n);
			b[i] = vals[j];
			int rc = parse(b, n);
			CHECK(rc == 0 || rc == -EBADMSG);
			if (rc != 0)
				continue;
			CHECK(ud_in_bounds());
			CHECK(pdu.party.len <= AFGW_SMS_ADDR_MAX);
			CHECK(pdu.rp_orig.len <= AFGW_SMS_ADDR_MAX);
			CHECK(pdu.rp_dest.len <= AFGW_SMS_ADDR_MAX);
			CHECK((pdu.anomalies & ~31u) == 0);
			if (pdu.ud_len)
				ud_text();
		}
	}
}

static void test_prefixes_and_mutations(void)
{
	uint8_t b[96];
	const uint8_t *ud = U(0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x02, 0x4F, 0x60, 0x59, 0x7D);

	loop_extra_len = mt_deliver(loop_extra, 0x44, oa_intl, sizeof(oa_intl), 0x08, 11, ud, 11);

	const struct {
		const uint8_t *p;
		size_t n;
	} v[] = {
	    {mt_example, sizeof(mt_example)},         {mo_vp_none, sizeof(mo_vp_none)},
	    {mo_vp_relative, sizeof(mo_vp_relative)}, {mo_vp_absolute, sizeof(mo_vp_absolute)},
	    {mo_vp_enhanced, sizeof(mo_vp_enhanced)}, {loop_extra, loop_extra_len},
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(v); i++) {
		check_prefixes(v[i].p, v[i].n, true);
		check_mutations(v[i].p, v[i].n);
	}

	/* alphanumeric sender: every prefix */
	size_t n = mt_deliver(b, 0x04, U(0x0B, 0xD0, 0xC7, 0xF7, 0xFB, 0xCC, 0x2E, 0x03), 8, 0x00,
	                      2, U(0xC8, 0x34), 2);
	check_prefixes(b, n, true);
	check_mutations(b, n);

	/* RP-ERROR with user data: the prefixes that end after the cause are
	 * whole RP-ERRORs, so only the no-crash half of the contract holds */
	static const uint8_t err_ud[] = {0x04, 0x07, 0x01, 0x16, 0x41, 0x03, 0x00, 0xD3, 0x00};
	for (size_t k = 0; k <= sizeof(err_ud); k++) {
		int rc = parse(err_ud, k);
		CHECK(k < 2 ? rc == -EBADMSG : rc == 0);
		CHECK_INT(pdu.ud_len, 0);
	}
	check_mutations(err_ud, sizeof(err_ud));
}

static void test_anomaly_names(void)
{
	const char *names[5];
	for (unsigned i = 0; i < 5; i++) {
		names[i] = afgw_sms_pdu_anomaly_name(1u << i);
		CHECK(names[i] != NULL && names[i][0] != '\0');
		if (!names[i])
			continue;
		for (const char *c = names[i]; *c; c++)
			CHECK((*c >= 'a' && *c <= 'z') || *c == '_');
		for (unsigned j = 0; j < i; j++)
			CHECK(names[j] == NULL || strcmp(names[i], names[j]) != 0);
	}
}

int main(void)
{
	test_classic_deliver();
	test_submit_vpf();
	test_rp_addresses();
	test_tp_addresses();
	test_alphanumeric();
	test_concat();
	test_udl_units();
	test_gsm7_extension();
	test_rp_other();
	test_report_command();
	test_reserved_mti();
	test_malformed();
	test_prefixes_and_mutations();
	test_anomaly_names();
	free(cur);
	return check_report();
}
