/*
 * test_smpp.c - SMPP PDU decoder and stream reader.
 *
 * Every PDU type is checked field by field from hand-built bytes (readable
 * form in the comment above each), then from PDUs encoded by an independent
 * implementation (Net::SMPP, see smpp_netsmpp_vectors.pl).  The reader is
 * checked on lying lengths, garbage, gaps, overflow and on the same stream
 * cut into every chunking: the PDUs that come out must not depend on how
 * the bytes arrived.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afgw/smpp.h"
#include "check.h"

/* The hand-built PDUs are string literals: sizeof counts their extra NUL. */
#define LEN(a) (sizeof(a) - 1)
#define U8(s)  ((const uint8_t *)(s))

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static struct afgw_smpp_pdu pdu; /* 1.4 KiB: keep it off the stack */

/* Parse a hand-built PDU; its command_length must be its size. */
static int parse_lit(const char *bytes, size_t n)
{
	CHECK_INT(get32(U8(bytes)), n); /* the test data is self-consistent */
	return afgw_smpp_parse(U8(bytes), n, &pdu);
}

/* ---- a small PDU builder for generated streams ------------------------ */

struct bld {
	uint8_t d[1 << 17];
	size_t n;
};

static void put8(struct bld *b, uint8_t v)
{
	b->d[b->n++] = v;
}

static void put16(struct bld *b, uint16_t v)
{
	put8(b, (uint8_t)(v >> 8));
	put8(b, (uint8_t)v);
}

static void put32(struct bld *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b, (uint16_t)v);
}

static void putmem(struct bld *b, const void *p, size_t n)
{
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

/* A C-octet string, with its NUL. */
static void putz(struct bld *b, const char *s)
{
	putmem(b, s, strlen(s) + 1);
}

/* Start a PDU; end_pdu() patches its command_length. */
static size_t begin_pdu(struct bld *b, uint32_t id, uint32_t status, uint32_t seq)
{
	size_t at = b->n;
	put32(b, 0);
	put32(b, id);
	put32(b, status);
	put32(b, seq);
	return at;
}

static void end_pdu(struct bld *b, size_t at)
{
	uint32_t n = (uint32_t)(b->n - at);
	b->d[at] = (uint8_t)(n >> 24);
	b->d[at + 1] = (uint8_t)(n >> 16);
	b->d[at + 2] = (uint8_t)(n >> 8);
	b->d[at + 3] = (uint8_t)n;
}

/* submit_sm: src 1/1 src, dst 1/1 dst, all flags 0, dc 0, text. */
static void put_submit_sm(struct bld *b, uint32_t seq, const char *src, const char *dst,
                          const char *text)
{
	size_t at = begin_pdu(b, AFGW_SMPP_SUBMIT_SM, 0, seq);
	putz(b, "");
	put8(b, 1);
	put8(b, 1);
	putz(b, src);
	put8(b, 1);
	put8(b, 1);
	putz(b, dst);
	put8(b, 0);
	put8(b, 0);
	put8(b, 0);
	putz(b, "");
	putz(b, "");
	for (int i = 0; i < 4; i++)
		put8(b, 0);
	put8(b, (uint8_t)strlen(text));
	putmem(b, text, strlen(text));
	end_pdu(b, at);
}

static void put_header_only(struct bld *b, uint32_t id, uint32_t status, uint32_t seq)
{
	end_pdu(b, begin_pdu(b, id, status, seq));
}

/* xorshift64: the tests' own reproducible randomness. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* ---- names ------------------------------------------------------------ */

static void test_names(void)
{
	CHECK(strcmp(afgw_smpp_command_name(0x00000004), "submit_sm") == 0);
	CHECK(strcmp(afgw_smpp_command_name(0x80000004), "submit_sm_resp") == 0);
	CHECK(strcmp(afgw_smpp_command_name(0x80000000), "generic_nack") == 0);
	CHECK(strcmp(afgw_smpp_command_name(0x00000009), "bind_transceiver") == 0);
	CHECK(strcmp(afgw_smpp_command_name(0x80000009), "bind_transceiver_resp") == 0);
	CHECK(strcmp(afgw_smpp_command_name(0x80000015), "enquire_link_resp") == 0);
	CHECK(strcmp(afgw_smpp_command_name(0x00000103), "data_sm") == 0);
	CHECK(strcmp(afgw_smpp_command_name(0x00000021), "submit_multi") == 0);
	CHECK(strcmp(afgw_smpp_command_name(0x00000005), "deliver_sm") == 0);
	CHECK(strcmp(afgw_smpp_command_name(0x0000000b), "outbind") == 0);
	CHECK(strcmp(afgw_smpp_command_name(0x00000102), "alert_notification") == 0);
	CHECK(afgw_smpp_command_name(0x00000099) == NULL);
	CHECK(afgw_smpp_command_name(0x8000000b) == NULL); /* outbind has no resp */
	CHECK(afgw_smpp_command_name(0x80000102) == NULL); /* nor alert_notification */
	CHECK(afgw_smpp_command_name(0x00010004) == NULL); /* SMPP 4.0 numbering */

	/* every anomaly bit has its own name, and nothing else has one */
	for (unsigned i = 0; i < AFGW_SMPP_ANOMALY_COUNT; i++) {
		const char *n = afgw_smpp_anomaly_name(1u << i);
		CHECK(n != NULL);
		for (unsigned j = 0; n && j < i; j++)
			CHECK(strcmp(n, afgw_smpp_anomaly_name(1u << j)) != 0);
	}
	CHECK(afgw_smpp_anomaly_name(1u << AFGW_SMPP_ANOMALY_COUNT) == NULL);
	CHECK(afgw_smpp_anomaly_name(0) == NULL);
	CHECK(strcmp(afgw_smpp_anomaly_name(AFGW_SMPP_A_PAYLOAD_AND_SM),
	             "payload_and_short_message") == 0);
	CHECK(strcmp(afgw_smpp_anomaly_name(AFGW_SMPP_A_UNTERMINATED_STR), "unterminated_string") ==
	      0);
	CHECK(strcmp(afgw_smpp_reason_name(AFGW_SMPP_R_BAD_LENGTH), "bad_command_length") == 0);
	CHECK(strcmp(afgw_smpp_reason_name(AFGW_SMPP_R_UNKNOWN_ID), "unknown_command_id") == 0);
	CHECK(strcmp(afgw_smpp_reason_name(AFGW_SMPP_R_GAP), "gap") == 0);
	CHECK(strcmp(afgw_smpp_reason_name(AFGW_SMPP_R_OVERFLOW), "overflow") == 0);
	CHECK(afgw_smpp_reason_name(AFGW_SMPP_R_COUNT) == NULL);
}

/* ---- hand-built PDUs, one per type ---------------------------------- */

/* clang-format off */
/* bind_transmitter, seq 1: system_id "esme01", password "pw12345",
 * system_type "VMA", interface_version 0x34, addr_ton 1, addr_npi 1,
 * address_range "" */
static const char bind_transmitter[] =
	"\x00\x00\x00\x27" "\x00\x00\x00\x02" "\x00\x00\x00\x00" "\x00\x00\x00\x01"
	"esme01\0" "pw12345\0" "VMA\0" "\x34\x01\x01" "\0";

/* bind_receiver_resp, seq 1, status 0: system_id "SMSC",
 * TLV sc_interface_version (0x0210, len 1) = 0x34 */
static const char bind_receiver_resp[] =
	"\x00\x00\x00\x1a" "\x80\x00\x00\x01" "\x00\x00\x00\x00" "\x00\x00\x00\x01"
	"SMSC\0" "\x02\x10\x00\x01\x34";

/* outbind, seq 9: system_id "SMSC01", password "opensesa" */
static const char outbind[] =
	"\x00\x00\x00\x20" "\x00\x00\x00\x0b" "\x00\x00\x00\x00" "\x00\x00\x00\x09"
	"SMSC01\0" "opensesa\0";

/* submit_sm, seq 7: service_type "CMT", src 1/1 "8613800138000",
 * dst 1/1 "8613900139000", esm_class 0x03, protocol_id 0x20, priority 2,
 * schedule_delivery_time "", validity_period "240101120000032+",
 * registered_delivery 0x11, replace_if_present 1, data_coding 0,
 * sm_default_msg_id 7, sm_length 5 "hello" */
static const char submit_sm[] =
	"\x00\x00\x00\x53" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x07"
	"CMT\0"
	"\x01\x01" "8613800138000\0"
	"\x01\x01" "8613900139000\0"
	"\x03\x20\x02"
	"\0"
	"240101120000032+\0"
	"\x11\x01\x00\x07"
	"\x05" "hello";

/* deliver_sm, seq 0x1234: service_type "", src 2/1 "13912345678",
 * dst 0/0 "10086", esm_class 0x40 (UDHI), pid 0, priority 0, "", "",
 * registered 0, replace 0, data_coding 8, default 0, sm_length 10:
 * UDH 05 00 03 2a 02 01 (concat ref 0x2a, part 1 of 2) + UCS-2 "你好" */
static const char deliver_sm[] =
	"\x00\x00\x00\x3b" "\x00\x00\x00\x05" "\x00\x00\x00\x00" "\x00\x00\x12\x34"
	"\0"
	"\x02\x01" "13912345678\0"
	"\x00\x00" "10086\0"
	"\x40\x00\x00"
	"\0" "\0"
	"\x00\x00\x08\x00"
	"\x0a" "\x05\x00\x03\x2a\x02\x01" "\x4f\x60\x59\x7d";

/* data_sm, seq 0x7fffffff: service_type "WAP", src 5/0 "ALERT",
 * dst 1/1 "+8613800138000", esm_class 0, registered 1, data_coding 8,
 * TLV message_payload (0x0424, len 8) UCS-2 "中国银行",
 * TLV 0x1403 (unknown, len 2) ab cd */
static const char data_sm[] =
	"\x00\x00\x00\x42" "\x00\x00\x01\x03" "\x00\x00\x00\x00" "\x7f\xff\xff\xff"
	"WAP\0"
	"\x05\x00" "ALERT\0"
	"\x01\x01" "+8613800138000\0"
	"\x00\x01\x08"
	"\x04\x24\x00\x08" "\x4e\x2d\x56\xfd\x94\xf6\x88\x4c"
	"\x14\x03\x00\x02" "\xab\xcd";

/* submit_multi, seq 6: service_type "", src 1/1 "95588", number_of_dests 3:
 *   dest_flag 2 (distribution list) "friends",
 *   dest_flag 1 (SME) 1/1 "8613800138000",
 *   dest_flag 1 (SME) 2/9 "10086";
 * esm 0, pid 0, priority 0, "", "", registered 0, replace 0, dc 0,
 * default 0, sm_length 2 "hi" */
static const char submit_multi[] =
	"\x00\x00\x00\x49" "\x00\x00\x00\x21" "\x00\x00\x00\x00" "\x00\x00\x00\x06"
	"\0"
	"\x01\x01" "95588\0"
	"\x03"
	"\x02" "friends\0"
	"\x01\x01\x01" "8613800138000\0"
	"\x01\x02\x09" "10086\0"
	"\x00\x00\x00" "\0" "\0" "\x00\x00\x00\x00"
	"\x02" "hi";

/* submit_sm_resp, seq 7, status 0: message_id "0123456789abcdef" */
static const char submit_sm_resp[] =
	"\x00\x00\x00\x21" "\x80\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x07"
	"0123456789abcdef\0";

/* deliver_sm_resp, seq 0x1234, status 0: message_id "" */
static const char deliver_sm_resp[] =
	"\x00\x00\x00\x11" "\x80\x00\x00\x05" "\x00\x00\x00\x00" "\x00\x00\x12\x34"
	"\0";

/* submit_sm_resp, seq 8, status 0x45 (ESME_RSUBMITFAIL), no body */
static const char submit_sm_resp_err[] =
	"\x00\x00\x00\x10" "\x80\x00\x00\x04" "\x00\x00\x00\x45" "\x00\x00\x00\x08";

/* data_sm_resp, seq 4, status 0: message_id "abc",
 * TLV delivery_failure_reason (0x0425, len 1) = 1 */
static const char data_sm_resp[] =
	"\x00\x00\x00\x19" "\x80\x00\x01\x03" "\x00\x00\x00\x00" "\x00\x00\x00\x04"
	"abc\0" "\x04\x25\x00\x01\x01";

/* submit_multi_resp, seq 6, status 0: message_id "M1", no_unsuccess 1:
 * 1/1 "139" error_status_code 0x44 */
static const char submit_multi_resp[] =
	"\x00\x00\x00\x1e" "\x80\x00\x00\x21" "\x00\x00\x00\x00" "\x00\x00\x00\x06"
	"M1\0" "\x01" "\x01\x01" "139\0" "\x00\x00\x00\x44";

/* enquire_link, seq 42 */
static const char enquire_link[] =
	"\x00\x00\x00\x10" "\x00\x00\x00\x15" "\x00\x00\x00\x00" "\x00\x00\x00\x2a";

/* enquire_link_resp, seq 42 */
static const char enquire_link_resp[] =
	"\x00\x00\x00\x10" "\x80\x00\x00\x15" "\x00\x00\x00\x00" "\x00\x00\x00\x2a";

/* unbind, seq 43 */
static const char unbind[] =
	"\x00\x00\x00\x10" "\x00\x00\x00\x06" "\x00\x00\x00\x00" "\x00\x00\x00\x2b";

/* generic_nack, seq 44, status 3 (ESME_RINVCMDID) */
static const char generic_nack[] =
	"\x00\x00\x00\x10" "\x80\x00\x00\x00" "\x00\x00\x00\x03" "\x00\x00\x00\x2c";
/* clang-format on */

static void check_addr(const struct afgw_smpp_addr *a, unsigned ton, unsigned npi, const char *s,
                       bool is_dl)
{
	CHECK_INT(a->ton, ton);
	CHECK_INT(a->npi, npi);
	CHECK_STR(a->addr, s);
	CHECK_INT(a->is_dl, is_dl);
}

static void test_bind(void)
{
	/* clang-format off */
	CHECK_INT(parse_lit(bind_transmitter, LEN(bind_transmitter)), 0);
	CHECK_INT(pdu.command_length, 39);
	CHECK_INT(pdu.command_id, AFGW_SMPP_BIND_TRANSMITTER);
	CHECK_INT(pdu.command_status, 0);
	CHECK_INT(pdu.sequence_number, 1);
	CHECK(pdu.raw == U8(bind_transmitter));
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.system_id, "esme01");
	CHECK_STR(pdu.password, "pw12345");
	CHECK_STR(pdu.system_type, "VMA");
	CHECK_INT(pdu.interface_version, 0x34);
	CHECK_INT(pdu.addr_ton, 1);
	CHECK_INT(pdu.addr_npi, 1);
	CHECK_STR(pdu.address_range, "");
	CHECK(pdu.address_range.p != NULL); /* present, empty */
	CHECK(pdu.short_message.p == NULL); /* not a message PDU */

	CHECK_INT(parse_lit(bind_receiver_resp, LEN(bind_receiver_resp)), 0);
	CHECK_INT(pdu.command_id, 0x80000001u);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.system_id, "SMSC");
	CHECK_INT(pdu.interface_version, 0x34); /* from sc_interface_version */

	CHECK_INT(parse_lit(outbind, LEN(outbind)), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_OUTBIND);
	CHECK_INT(pdu.sequence_number, 9);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.system_id, "SMSC01");
	CHECK_STR(pdu.password, "opensesa");

	/* bind_receiver, seq 2: system_id "a_system_id_of_20ch" + "x" (20
	 * chars, max is 15 + NUL), password "", system_type "", 0x34, 0, 0,
	 * address_range "" then a stray byte 0x99 */
	static const char long_bind[] =
		"\x00\x00\x00\x2c" "\x00\x00\x00\x01" "\x00\x00\x00\x00" "\x00\x00\x00\x02"
		"a_system_id_of_20chx\0" "\0" "\0" "\x34\x00\x00" "\0" "\x99";
	CHECK_INT(parse_lit(long_bind, LEN(long_bind)), 0);
	CHECK(pdu.valid); /* informative only */
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_FIELD_TOO_LONG | AFGW_SMPP_A_TRAILING_BYTES);
	CHECK_STR(pdu.system_id, "a_system_id_of_20chx");
	CHECK_STR(pdu.password, "");
	CHECK_INT(pdu.interface_version, 0x34);

	/* bind_transceiver, seq 3: system_id "x", then the body ends */
	static const char short_bind[] =
		"\x00\x00\x00\x12" "\x00\x00\x00\x09" "\x00\x00\x00\x00" "\x00\x00\x00\x03"
		"x\0";
	CHECK_INT(parse_lit(short_bind, LEN(short_bind)), 0);
	CHECK(!pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_TRUNCATED_BODY);
	CHECK_STR(pdu.system_id, "x");
	CHECK(pdu.password.p == NULL);
	/* clang-format on */
}

static void test_submit_deliver(void)
{
	CHECK_INT(parse_lit(submit_sm, LEN(submit_sm)), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_SUBMIT_SM);
	CHECK_INT(pdu.sequence_number, 7);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.service_type, "CMT");
	check_addr(&pdu.src, 1, 1, "8613800138000", false);
	check_addr(&pdu.dst, 1, 1, "8613900139000", false);
	CHECK_INT(pdu.esm_class, 0x03);
	CHECK_INT(pdu.protocol_id, 0x20);
	CHECK_INT(pdu.priority_flag, 2);
	CHECK_STR(pdu.schedule_delivery_time, "");
	CHECK_STR(pdu.validity_period, "240101120000032+");
	CHECK_INT(pdu.registered_delivery, 0x11);
	CHECK_INT(pdu.replace_if_present_flag, 1);
	CHECK_INT(pdu.data_coding, 0);
	CHECK_INT(pdu.sm_default_msg_id, 7);
	CHECK_STR(pdu.short_message, "hello");
	CHECK(!pdu.has_message_payload);
	CHECK(!pdu.has_sar);
	CHECK_INT(pdu.n_dests, 0);
	CHECK_INT(pdu.number_of_dests, 0);

	CHECK_INT(parse_lit(deliver_sm, LEN(deliver_sm)), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_DELIVER_SM);
	CHECK_INT(pdu.sequence_number, 0x1234);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.service_type, "");
	check_addr(&pdu.src, 2, 1, "13912345678", false);
	check_addr(&pdu.dst, 0, 0, "10086", false);
	CHECK_INT(pdu.esm_class, 0x40);
	CHECK_INT(pdu.protocol_id, 0);
	CHECK_INT(pdu.priority_flag, 0);
	CHECK_STR(pdu.schedule_delivery_time, "");
	CHECK_STR(pdu.validity_period, "");
	CHECK_INT(pdu.registered_delivery, 0);
	CHECK_INT(pdu.replace_if_present_flag, 0);
	CHECK_INT(pdu.data_coding, 8);
	CHECK_INT(pdu.sm_default_msg_id, 0);
	CHECK_INT(pdu.short_message.len, 10); /* binary: NULs inside */
	/* clang-format off */
	CHECK(pdu.short_message.len == 10 &&
	      memcmp(pdu.short_message.p, "\x05\x00\x03\x2a\x02\x01" "\x4f\x60\x59\x7d", 10) == 0);
	/* clang-format on */

	CHECK_INT(parse_lit(data_sm, LEN(data_sm)), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_DATA_SM);
	CHECK_INT(pdu.sequence_number, 0x7fffffff);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.service_type, "WAP");
	check_addr(&pdu.src, 5, 0, "ALERT", false);
	check_addr(&pdu.dst, 1, 1, "+8613800138000", false);
	CHECK_INT(pdu.esm_class, 0);
	CHECK_INT(pdu.registered_delivery, 1);
	CHECK_INT(pdu.data_coding, 8);
	CHECK(pdu.has_message_payload);
	CHECK_STR(pdu.message_payload, "\x4e\x2d\x56\xfd\x94\xf6\x88\x4c");
	CHECK_INT(pdu.short_message.len, 0);
	CHECK(!pdu.has_sar);
}

static void test_submit_multi(void)
{
	/* clang-format off */
	CHECK_INT(parse_lit(submit_multi, LEN(submit_multi)), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_SUBMIT_MULTI);
	CHECK_INT(pdu.sequence_number, 6);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.service_type, "");
	check_addr(&pdu.src, 1, 1, "95588", false);
	CHECK_INT(pdu.number_of_dests, 3);
	CHECK_INT(pdu.n_dests, 3);
	check_addr(&pdu.dests[0], 0, 0, "friends", true);
	check_addr(&pdu.dests[1], 1, 1, "8613800138000", false);
	check_addr(&pdu.dests[2], 2, 9, "10086", false);
	check_addr(&pdu.dst, 1, 1, "8613800138000", false); /* the first SME */
	CHECK_INT(pdu.esm_class, 0);
	CHECK_INT(pdu.data_coding, 0);
	CHECK_STR(pdu.validity_period, "");
	CHECK_STR(pdu.short_message, "hi");

	/* More destinations than kept: 40 SMEs "1000".."1039" (the first is
	 * a DL "dl0"), then esm 0x40 ... dc 8, text "tail" and a
	 * message_payload TLV: everything after the list is still found. */
	static struct bld b;
	b.n = 0;
	size_t at = begin_pdu(&b, AFGW_SMPP_SUBMIT_MULTI, 0, 77);
	putz(&b, "");
	put8(&b, 5);
	put8(&b, 0);
	putz(&b, "SENDER");
	put8(&b, 40);
	put8(&b, 2);
	putz(&b, "dl0");
	for (int i = 1; i < 40; i++) {
		char num[16];
		snprintf(num, sizeof(num), "%d", 1000 + i);
		put8(&b, 1);
		put8(&b, 1);
		put8(&b, (uint8_t)(i & 7));
		putz(&b, num);
	}
	put8(&b, 0x40);
	put8(&b, 0);
	put8(&b, 1);
	putz(&b, "");
	putz(&b, "");
	put8(&b, 0);
	put8(&b, 0);
	put8(&b, 8);
	put8(&b, 0);
	put8(&b, 4);
	putmem(&b, "tail", 4);
	put16(&b, 0x020c); /* sar_msg_ref_num 7, sar_total 2, sar_seq 2 */
	put16(&b, 2);
	put16(&b, 7);
	put16(&b, 0x020e);
	put16(&b, 1);
	put8(&b, 2);
	put16(&b, 0x020f);
	put16(&b, 1);
	put8(&b, 2);
	end_pdu(&b, at);
	CHECK_INT(afgw_smpp_parse(b.d, b.n, &pdu), 0);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_TOO_MANY_DESTS);
	CHECK_INT(pdu.number_of_dests, 40);
	CHECK_INT(pdu.n_dests, AFGW_SMPP_MAX_DESTS);
	check_addr(&pdu.src, 5, 0, "SENDER", false);
	check_addr(&pdu.dests[0], 0, 0, "dl0", true);
	check_addr(&pdu.dests[1], 1, 1, "1001", false);
	check_addr(&pdu.dests[31], 1, 31 & 7, "1031", false);
	check_addr(&pdu.dst, 1, 1, "1001", false);
	CHECK_INT(pdu.esm_class, 0x40);
	CHECK_INT(pdu.priority_flag, 1);
	CHECK_INT(pdu.data_coding, 8);
	CHECK_STR(pdu.short_message, "tail");
	CHECK(pdu.has_sar);
	CHECK_INT(pdu.sar_msg_ref_num, 7);
	CHECK_INT(pdu.sar_total_segments, 2);
	CHECK_INT(pdu.sar_segment_seqnum, 2);

	/* submit_multi, seq 8: "", 1/1 "1", 2 dests: DL "x", then dest_flag 3 */
	static const char bad_flag[] =
		"\x00\x00\x00\x1e" "\x00\x00\x00\x21" "\x00\x00\x00\x00" "\x00\x00\x00\x08"
		"\0" "\x01\x01" "1\0" "\x02" "\x02" "x\0" "\x03" "\x01\x01" "2\0";
	CHECK_INT(parse_lit(bad_flag, LEN(bad_flag)), 0);
	CHECK(!pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_BAD_DEST_FLAG);
	CHECK_INT(pdu.number_of_dests, 2);
	CHECK_INT(pdu.n_dests, 1);
	check_addr(&pdu.dests[0], 0, 0, "x", true);
	CHECK(pdu.dst.addr.p == NULL); /* no SME destination */

	/* submit_multi, seq 9: "", 1/1 "1", 0 dests, then the body ends */
	static const char no_tail[] =
		"\x00\x00\x00\x16" "\x00\x00\x00\x21" "\x00\x00\x00\x00" "\x00\x00\x00\x09"
		"\0" "\x01\x01" "1\0" "\x00";
	CHECK_INT(parse_lit(no_tail, LEN(no_tail)), 0);
	CHECK(!pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_TRUNCATED_BODY);
	CHECK_INT(pdu.number_of_dests, 0);
	CHECK_INT(pdu.n_dests, 0);
	/* clang-format on */
}

static void test_responses(void)
{
	CHECK_INT(parse_lit(submit_sm_resp, LEN(submit_sm_resp)), 0);
	CHECK_INT(pdu.command_id, 0x80000004u);
	CHECK_INT(pdu.sequence_number, 7);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.message_id, "0123456789abcdef");

	CHECK_INT(parse_lit(deliver_sm_resp, LEN(deliver_sm_resp)), 0);
	CHECK_INT(pdu.command_id, 0x80000005u);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.message_id, "");

	/* an error response may leave its body out */
	CHECK_INT(parse_lit(submit_sm_resp_err, LEN(submit_sm_resp_err)), 0);
	CHECK_INT(pdu.command_status, 0x45);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK(pdu.message_id.p == NULL);

	CHECK_INT(parse_lit(data_sm_resp, LEN(data_sm_resp)), 0);
	CHECK_INT(pdu.command_id, 0x80000103u);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.message_id, "abc");

	CHECK_INT(parse_lit(submit_multi_resp, LEN(submit_multi_resp)), 0);
	CHECK_INT(pdu.command_id, 0x80000021u);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.message_id, "M1");

	/* a successful submit_sm_resp must carry its message_id */
	/* clang-format off */
	static const char resp_no_body[] =
		"\x00\x00\x00\x10" "\x80\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x08";
	/* clang-format on */
	CHECK_INT(parse_lit(resp_no_body, LEN(resp_no_body)), 0);
	CHECK(!pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_TRUNCATED_BODY);
}

static void test_header_only(void)
{
	/* clang-format off */
	CHECK_INT(parse_lit(enquire_link, LEN(enquire_link)), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_ENQUIRE_LINK);
	CHECK_INT(pdu.sequence_number, 42);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);

	CHECK_INT(parse_lit(enquire_link_resp, LEN(enquire_link_resp)), 0);
	CHECK_INT(pdu.command_id, 0x80000015u);
	CHECK(pdu.valid);

	CHECK_INT(parse_lit(unbind, LEN(unbind)), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_UNBIND);
	CHECK_INT(pdu.sequence_number, 43);
	CHECK(pdu.valid);

	CHECK_INT(parse_lit(generic_nack, LEN(generic_nack)), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_GENERIC_NACK);
	CHECK_INT(pdu.command_status, 3);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0); /* a response may carry an error */

	/* enquire_link, seq 45, with one byte 0x00 after the header */
	static const char el_trailing[] =
		"\x00\x00\x00\x11" "\x00\x00\x00\x15" "\x00\x00\x00\x00" "\x00\x00\x00\x2d"
		"\0";
	CHECK_INT(parse_lit(el_trailing, LEN(el_trailing)), 0);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_TRAILING_BYTES);

	/* enquire_link, seq 46, status 1: a request cannot carry an error */
	static const char el_status[] =
		"\x00\x00\x00\x10" "\x00\x00\x00\x15" "\x00\x00\x00\x01" "\x00\x00\x00\x2e";
	CHECK_INT(parse_lit(el_status, LEN(el_status)), 0);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_BAD_STATUS);

	/* query_sm, seq 47: "id1", 1/1 "123" - known, body not decoded */
	static const char query_sm[] =
		"\x00\x00\x00\x1a" "\x00\x00\x00\x03" "\x00\x00\x00\x00" "\x00\x00\x00\x2f"
		"id1\0" "\x01\x01" "123\0";
	CHECK_INT(parse_lit(query_sm, LEN(query_sm)), 0);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK(pdu.message_id.p == NULL);

	/* command_id 0x00000099, seq 1: unknown */
	static const char unknown[] =
		"\x00\x00\x00\x14" "\x00\x00\x00\x99" "\x00\x00\x00\x00" "\x00\x00\x00\x01"
		"abcd";
	CHECK_INT(parse_lit(unknown, LEN(unknown)), 0);
	CHECK_INT(pdu.command_id, 0x99);
	CHECK(!pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_UNKNOWN_COMMAND);
	/* clang-format on */
}

static void test_bad_headers(void)
{
	/* clang-format off */
	/* shorter than a header */
	CHECK_INT(afgw_smpp_parse(U8(enquire_link), 15, &pdu), -EBADMSG);
	CHECK_INT(afgw_smpp_parse(U8(enquire_link), 0, &pdu), -EBADMSG);
	/* command_length 15 / 0 / 0xffffffff */
	static const char cl15[] =
		"\x00\x00\x00\x0f" "\x00\x00\x00\x15" "\x00\x00\x00\x00" "\x00\x00\x00\x01";
	static const char cl0[] =
		"\x00\x00\x00\x00" "\x00\x00\x00\x15" "\x00\x00\x00\x00" "\x00\x00\x00\x01";
	static const char clmax[] =
		"\xff\xff\xff\xff" "\x00\x00\x00\x15" "\x00\x00\x00\x00" "\x00\x00\x00\x01";
	CHECK_INT(afgw_smpp_parse(U8(cl15), LEN(cl15), &pdu), -EBADMSG);
	CHECK_INT(afgw_smpp_parse(U8(cl0), LEN(cl0), &pdu), -EBADMSG);
	CHECK_INT(afgw_smpp_parse(U8(clmax), LEN(clmax), &pdu), -EBADMSG);
	/* command_length longer than the buffer: the submit_sm cut short */
	CHECK_INT(afgw_smpp_parse(U8(submit_sm), LEN(submit_sm) - 1, &pdu), -EBADMSG);
	/* a buffer longer than command_length: only command_length is read */
	static uint8_t two[64];
	memcpy(two, enquire_link, 16);
	memcpy(two + 16, unbind, 16);
	CHECK_INT(afgw_smpp_parse(two, 32, &pdu), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_ENQUIRE_LINK);
	CHECK_INT(pdu.command_length, 16);
	CHECK_INT(pdu.anomalies, 0);
	/* clang-format on */
}

/* ---- strings and sm_length -------------------------------------------- */

static void test_strings(void)
{
	/* clang-format off */
	/* submit_sm, seq 1: "", 1/1 "86138" and no NUL before the end */
	static const char unterminated[] =
		"\x00\x00\x00\x18" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x01"
		"\0" "\x01\x01" "86138";
	CHECK_INT(parse_lit(unterminated, LEN(unterminated)), 0);
	CHECK(!pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_UNTERMINATED_STR);
	CHECK_STR(pdu.src.addr, "86138");
	CHECK(pdu.dst.addr.p == NULL);

	/* submit_sm, seq 2: "", 1/1 "123", 1/1 "456", esm 0, then the end */
	static const char truncated[] =
		"\x00\x00\x00\x1e" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x02"
		"\0" "\x01\x01" "123\0" "\x01\x01" "456\0" "\x00";
	CHECK_INT(parse_lit(truncated, LEN(truncated)), 0);
	CHECK(!pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_TRUNCATED_BODY);
	CHECK_STR(pdu.src.addr, "123");
	CHECK_STR(pdu.dst.addr, "456");
	CHECK(pdu.short_message.p == NULL);

	/* submit_sm, seq 3: "", 1/1 "1234567890123456789012345" (25 digits;
	 * max is 20 + NUL), 1/1 "10086", 0, 0, 0, "", "", 0, 0, 0, 0, 2 "ok" */
	static const char too_long[] =
		"\x00\x00\x00\x41" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x03"
		"\0" "\x01\x01" "1234567890123456789012345\0" "\x01\x01" "10086\0"
		"\x00\x00\x00" "\0" "\0" "\x00\x00\x00\x00" "\x02" "ok";
	CHECK_INT(parse_lit(too_long, LEN(too_long)), 0);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_FIELD_TOO_LONG);
	CHECK_STR(pdu.src.addr, "1234567890123456789012345");
	CHECK_STR(pdu.dst.addr, "10086");
	CHECK_STR(pdu.short_message, "ok");

	/* the boundary: 20 characters fit in source_addr, 21 do not */
	static struct bld b;
	b.n = 0;
	put_submit_sm(&b, 4, "12345678901234567890", "1", "x");
	CHECK_INT(afgw_smpp_parse(b.d, b.n, &pdu), 0);
	CHECK_INT(pdu.anomalies, 0);
	b.n = 0;
	put_submit_sm(&b, 4, "123456789012345678901", "1", "x");
	CHECK_INT(afgw_smpp_parse(b.d, b.n, &pdu), 0);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_FIELD_TOO_LONG);
	CHECK_INT(pdu.src.addr.len, 21);

	/* sm_length 254 is the SMPP maximum; 255 is decoded but flagged */
	static char text[256];
	memset(text, 'a', 255);
	text[254] = '\0';
	b.n = 0;
	put_submit_sm(&b, 4, "1", "2", text);
	CHECK_INT(afgw_smpp_parse(b.d, b.n, &pdu), 0);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_INT(pdu.short_message.len, 254);
	text[254] = 'a';
	b.n = 0;
	put_submit_sm(&b, 4, "1", "2", text);
	CHECK_INT(afgw_smpp_parse(b.d, b.n, &pdu), 0);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_FIELD_TOO_LONG);
	CHECK_INT(pdu.short_message.len, 255);

	/* submit_sm, seq 5: "", 1/1 "1", 1/1 "2", 0, 0, 0, "", "", 0, 0, 0, 0,
	 * sm_length 50 but only "short" follows */
	static const char bad_len[] =
		"\x00\x00\x00\x28" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x05"
		"\0" "\x01\x01" "1\0" "\x01\x01" "2\0" "\x00\x00\x00" "\0" "\0"
		"\x00\x00\x00\x00" "\x32" "short";
	CHECK_INT(parse_lit(bad_len, LEN(bad_len)), 0);
	CHECK(!pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_BAD_SM_LENGTH);
	CHECK_STR(pdu.short_message, "short"); /* what is there, for scanning */

	/* submit_sm, seq 6, status 5: a request with an error status */
	static const char req_status[] =
		"\x00\x00\x00\x25" "\x00\x00\x00\x04" "\x00\x00\x00\x05" "\x00\x00\x00\x06"
		"\0" "\x01\x01" "1\0" "\x01\x01" "2\0" "\x00\x00\x00" "\0" "\0"
		"\x00\x00\x00\x00" "\x02" "hi";
	CHECK_INT(parse_lit(req_status, LEN(req_status)), 0);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_BAD_STATUS);
	CHECK_STR(pdu.short_message, "hi");
	/* clang-format on */
}

/* ---- TLVs ------------------------------------------------------------- */

/* submit_sm, seq 100: "", 1/1 "8613800138000", 1/1 "10086", flags 0,
 * dc 0, short_message sm, then the given TLV bytes. */
static int parse_sm_tlvs(const char *sm, const char *tlv, size_t tlv_len)
{
	static struct bld b;
	b.n = 0;
	size_t at = begin_pdu(&b, AFGW_SMPP_SUBMIT_SM, 0, 100);
	putz(&b, "");
	put8(&b, 1);
	put8(&b, 1);
	putz(&b, "8613800138000");
	put8(&b, 1);
	put8(&b, 1);
	putz(&b, "10086");
	put8(&b, 0);
	put8(&b, 0);
	put8(&b, 0);
	putz(&b, "");
	putz(&b, "");
	for (int i = 0; i < 4; i++)
		put8(&b, 0);
	put8(&b, (uint8_t)strlen(sm));
	putmem(&b, sm, strlen(sm));
	putmem(&b, tlv, tlv_len);
	end_pdu(&b, at);
	return afgw_smpp_parse(b.d, b.n, &pdu);
}

#define SM_TLVS(sm, lit) parse_sm_tlvs(sm, lit, LEN(lit))

static void test_tlvs(void)
{
	/* clang-format off */
	/* message_payload (0x0424, len 11) "hello world", sm_length 0 */
	CHECK_INT(SM_TLVS("", "\x04\x24\x00\x0b" "hello world"), 0);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK(pdu.has_message_payload);
	CHECK_STR(pdu.message_payload, "hello world");
	CHECK_STR(pdu.short_message, "");

	/* empty message_payload (len 0) is still present */
	CHECK_INT(SM_TLVS("", "\x04\x24\x00\x00"), 0);
	CHECK(pdu.has_message_payload);
	CHECK_INT(pdu.message_payload.len, 0);
	CHECK_INT(pdu.anomalies, 0);

	/* message_payload "abc" and short_message "xyz": 5.0 forbids both */
	CHECK_INT(SM_TLVS("xyz", "\x04\x24\x00\x03" "abc"), 0);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_PAYLOAD_AND_SM);
	CHECK_STR(pdu.message_payload, "abc");
	CHECK_STR(pdu.short_message, "xyz");

	/* sar_msg_ref_num (0x020c, 2) 0x1234, sar_total_segments (0x020e, 1)
	 * 3, sar_segment_seqnum (0x020f, 1) 3 */
	CHECK_INT(SM_TLVS("p3", "\x02\x0c\x00\x02\x12\x34" "\x02\x0e\x00\x01\x03"
				"\x02\x0f\x00\x01\x03"), 0);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK(pdu.has_sar);
	CHECK_INT(pdu.sar_msg_ref_num, 0x1234);
	CHECK_INT(pdu.sar_total_segments, 3);
	CHECK_INT(pdu.sar_segment_seqnum, 3);

	/* sar_msg_ref_num and sar_total_segments but no seqnum */
	CHECK_INT(SM_TLVS("p", "\x02\x0c\x00\x02\x12\x34" "\x02\x0e\x00\x01\x03"), 0);
	CHECK(pdu.valid); /* informative */
	CHECK(!pdu.has_sar);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_BAD_SAR);

	/* seqnum 4 of 3 */
	CHECK_INT(SM_TLVS("p", "\x02\x0c\x00\x02\x12\x34" "\x02\x0e\x00\x01\x03"
			       "\x02\x0f\x00\x01\x04"), 0);
	CHECK(!pdu.has_sar);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_BAD_SAR);

	/* seqnum 0 of 0 */
	CHECK_INT(SM_TLVS("p", "\x02\x0c\x00\x02\x12\x34" "\x02\x0e\x00\x01\x00"
			       "\x02\x0f\x00\x01\x00"), 0);
	CHECK(!pdu.has_sar);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_BAD_SAR);

	/* sar_msg_ref_num with a 1-byte value */
	CHECK_INT(SM_TLVS("p", "\x02\x0c\x00\x01\x12" "\x02\x0e\x00\x01\x02"
			       "\x02\x0f\x00\x01\x01"), 0);
	CHECK(!pdu.has_sar);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_BAD_SAR);

	/* unknown TLVs 0x1501 (len 3) and 0x0005 (len 0) around a payload */
	CHECK_INT(SM_TLVS("", "\x15\x01\x00\x03" "abc" "\x04\x24\x00\x02" "hi"
			      "\x00\x05\x00\x00"), 0);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.message_payload, "hi");

	/* two message_payloads "first", "second": the first wins */
	CHECK_INT(SM_TLVS("", "\x04\x24\x00\x05" "first" "\x04\x24\x00\x06" "second"), 0);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_DUPLICATE_TLV);
	CHECK_STR(pdu.message_payload, "first");

	/* sar_total_segments twice (2 then 9): first wins, sar still valid */
	CHECK_INT(SM_TLVS("p", "\x02\x0c\x00\x02\x00\x01" "\x02\x0e\x00\x01\x02"
			       "\x02\x0e\x00\x01\x09" "\x02\x0f\x00\x01\x02"), 0);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_DUPLICATE_TLV);
	CHECK(pdu.has_sar);
	CHECK_INT(pdu.sar_total_segments, 2);

	/* message_payload claiming 100 bytes, 5 present */
	CHECK_INT(SM_TLVS("", "\x04\x24\x00\x64" "hello"), 0);
	CHECK(!pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_BAD_TLV);
	CHECK(!pdu.has_message_payload);

	/* a valid payload, then 3 stray bytes (not even a TLV header) */
	CHECK_INT(SM_TLVS("", "\x04\x24\x00\x02" "ok" "\x02\x0c\x00"), 0);
	CHECK(!pdu.valid);
	CHECK_INT(pdu.anomalies, AFGW_SMPP_A_BAD_TLV);
	CHECK(pdu.has_message_payload); /* what was read before stays */
	CHECK_STR(pdu.message_payload, "ok");
	/* clang-format on */
}

/* ---- vectors from an independent encoder ------------------------------ */

/* clang-format off */
/* Generated by tests/unit/smpp_netsmpp_vectors.pl with Net::SMPP 1.19
 * (Debian libnet-smpp-perl): `perl tests/unit/smpp_netsmpp_vectors.pl`
 * prints these arrays; the script drives Net::SMPP's own request encoders
 * on an unconnected object and captures what it would write. */
/* bind_transceiver seq 1 system_id "afgw_esme" password "secret" system_type "SMPP" if 0x34 ton 1 npi 1 range "^86" */
static const uint8_t nsv_bind_transceiver[] = {
	0x00, 0x00, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x61, 0x66, 0x67, 0x77, 0x5f, 0x65, 0x73, 0x6d,
	0x65, 0x00, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x00, 0x53, 0x4d, 0x50,
	0x50, 0x00, 0x34, 0x01, 0x01, 0x5e, 0x38, 0x36, 0x00,
};
/* submit_sm seq 2 "CMT" 5/0 "ICBC" -> 1/1 "8613800138000" prio 1 validity "000001000000000R" reg 1 dc 8, 22-byte UCS-2 text */
static const uint8_t nsv_submit_sm_ucs2[] = {
	0x00, 0x00, 0x00, 0x5b, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0x43, 0x4d, 0x54, 0x00, 0x05, 0x00, 0x49, 0x43,
	0x42, 0x43, 0x00, 0x01, 0x01, 0x38, 0x36, 0x31, 0x33, 0x38, 0x30, 0x30,
	0x31, 0x33, 0x38, 0x30, 0x30, 0x30, 0x00, 0x00, 0x00, 0x01, 0x00, 0x30,
	0x30, 0x30, 0x30, 0x30, 0x31, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
	0x30, 0x30, 0x52, 0x00, 0x01, 0x00, 0x08, 0x00, 0x16, 0x60, 0xa8, 0x76,
	0x84, 0x8d, 0x26, 0x62, 0x37, 0x5f, 0x02, 0x5e, 0x38, 0x8b, 0xf7, 0x70,
	0xb9, 0x51, 0xfb, 0x94, 0xfe, 0x63, 0xa5,
};
/* deliver_sm seq 3 1/1 "8613912345678" -> 0/1 "10690000" esm 0x04, receipt text */
static const uint8_t nsv_deliver_sm[] = {
	0x00, 0x00, 0x00, 0x62, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x03, 0x00, 0x01, 0x01, 0x38, 0x36, 0x31, 0x33, 0x39,
	0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x00, 0x00, 0x01, 0x31,
	0x30, 0x36, 0x39, 0x30, 0x30, 0x30, 0x30, 0x00, 0x04, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x69, 0x64, 0x3a, 0x34, 0x32, 0x20,
	0x73, 0x75, 0x62, 0x3a, 0x30, 0x30, 0x31, 0x20, 0x64, 0x6c, 0x76, 0x72,
	0x64, 0x3a, 0x30, 0x30, 0x31, 0x20, 0x73, 0x74, 0x61, 0x74, 0x3a, 0x44,
	0x45, 0x4c, 0x49, 0x56, 0x52, 0x44, 0x20, 0x65, 0x72, 0x72, 0x3a, 0x30,
	0x30, 0x30,
};
/* data_sm seq 4 5/0 "BANK-ALERT" -> 1/1 "+8613800138000" reg 0x11 dc 0, message_payload 333 bytes */
static const uint8_t nsv_data_sm_payload[] = {
	0x00, 0x00, 0x01, 0x83, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x04, 0x00, 0x05, 0x00, 0x42, 0x41, 0x4e, 0x4b, 0x2d,
	0x41, 0x4c, 0x45, 0x52, 0x54, 0x00, 0x01, 0x01, 0x2b, 0x38, 0x36, 0x31,
	0x33, 0x38, 0x30, 0x30, 0x31, 0x33, 0x38, 0x30, 0x30, 0x30, 0x00, 0x00,
	0x11, 0x00, 0x04, 0x24, 0x01, 0x4d, 0x59, 0x6f, 0x75, 0x72, 0x20, 0x70,
	0x61, 0x72, 0x63, 0x65, 0x6c, 0x20, 0x69, 0x73, 0x20, 0x68, 0x65, 0x6c,
	0x64, 0x20, 0x61, 0x74, 0x20, 0x63, 0x75, 0x73, 0x74, 0x6f, 0x6d, 0x73,
	0x2e, 0x20, 0x50, 0x61, 0x79, 0x20, 0x74, 0x68, 0x65, 0x20, 0x66, 0x65,
	0x65, 0x20, 0x77, 0x69, 0x74, 0x68, 0x69, 0x6e, 0x20, 0x32, 0x34, 0x20,
	0x68, 0x6f, 0x75, 0x72, 0x73, 0x20, 0x61, 0x74, 0x20, 0x68, 0x74, 0x74,
	0x70, 0x3a, 0x2f, 0x2f, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e,
	0x74, 0x65, 0x73, 0x74, 0x2f, 0x70, 0x61, 0x79, 0x20, 0x6f, 0x72, 0x20,
	0x69, 0x74, 0x20, 0x77, 0x69, 0x6c, 0x6c, 0x20, 0x62, 0x65, 0x20, 0x72,
	0x65, 0x74, 0x75, 0x72, 0x6e, 0x65, 0x64, 0x2e, 0x20, 0x59, 0x6f, 0x75,
	0x72, 0x20, 0x70, 0x61, 0x72, 0x63, 0x65, 0x6c, 0x20, 0x69, 0x73, 0x20,
	0x68, 0x65, 0x6c, 0x64, 0x20, 0x61, 0x74, 0x20, 0x63, 0x75, 0x73, 0x74,
	0x6f, 0x6d, 0x73, 0x2e, 0x20, 0x50, 0x61, 0x79, 0x20, 0x74, 0x68, 0x65,
	0x20, 0x66, 0x65, 0x65, 0x20, 0x77, 0x69, 0x74, 0x68, 0x69, 0x6e, 0x20,
	0x32, 0x34, 0x20, 0x68, 0x6f, 0x75, 0x72, 0x73, 0x20, 0x61, 0x74, 0x20,
	0x68, 0x74, 0x74, 0x70, 0x3a, 0x2f, 0x2f, 0x65, 0x78, 0x61, 0x6d, 0x70,
	0x6c, 0x65, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x2f, 0x70, 0x61, 0x79, 0x20,
	0x6f, 0x72, 0x20, 0x69, 0x74, 0x20, 0x77, 0x69, 0x6c, 0x6c, 0x20, 0x62,
	0x65, 0x20, 0x72, 0x65, 0x74, 0x75, 0x72, 0x6e, 0x65, 0x64, 0x2e, 0x20,
	0x59, 0x6f, 0x75, 0x72, 0x20, 0x70, 0x61, 0x72, 0x63, 0x65, 0x6c, 0x20,
	0x69, 0x73, 0x20, 0x68, 0x65, 0x6c, 0x64, 0x20, 0x61, 0x74, 0x20, 0x63,
	0x75, 0x73, 0x74, 0x6f, 0x6d, 0x73, 0x2e, 0x20, 0x50, 0x61, 0x79, 0x20,
	0x74, 0x68, 0x65, 0x20, 0x66, 0x65, 0x65, 0x20, 0x77, 0x69, 0x74, 0x68,
	0x69, 0x6e, 0x20, 0x32, 0x34, 0x20, 0x68, 0x6f, 0x75, 0x72, 0x73, 0x20,
	0x61, 0x74, 0x20, 0x68, 0x74, 0x74, 0x70, 0x3a, 0x2f, 0x2f, 0x65, 0x78,
	0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x2f, 0x70,
	0x61, 0x79, 0x20, 0x6f, 0x72, 0x20, 0x69, 0x74, 0x20, 0x77, 0x69, 0x6c,
	0x6c, 0x20, 0x62, 0x65, 0x20, 0x72, 0x65, 0x74, 0x75, 0x72, 0x6e, 0x65,
	0x64, 0x2e, 0x20,
};
/* submit_sm seq 5 1/1 "8613700000001" -> 1/1 "8613800138000" "part two", sar ref 0xbeef total 3 seq 2 */
static const uint8_t nsv_submit_sm_sar[] = {
	0x00, 0x00, 0x00, 0x53, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x01, 0x38, 0x36, 0x31, 0x33, 0x37,
	0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x00, 0x01, 0x01, 0x38,
	0x36, 0x31, 0x33, 0x38, 0x30, 0x30, 0x31, 0x33, 0x38, 0x30, 0x30, 0x30,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x70,
	0x61, 0x72, 0x74, 0x20, 0x74, 0x77, 0x6f, 0x02, 0x0c, 0x00, 0x02, 0xbe,
	0xef, 0x02, 0x0e, 0x00, 0x01, 0x03, 0x02, 0x0f, 0x00, 0x01, 0x02,
};
/* submit_multi seq 6 1/1 "95588" -> SME 1/1 "8613800138000", DL "vip_list", SME 2/9 "13900000000" dc 3 "Hello" */
static const uint8_t nsv_submit_multi[] = {
	0x00, 0x00, 0x00, 0x53, 0x00, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x06, 0x00, 0x01, 0x01, 0x39, 0x35, 0x35, 0x38, 0x38,
	0x00, 0x03, 0x01, 0x01, 0x01, 0x38, 0x36, 0x31, 0x33, 0x38, 0x30, 0x30,
	0x31, 0x33, 0x38, 0x30, 0x30, 0x30, 0x00, 0x02, 0x76, 0x69, 0x70, 0x5f,
	0x6c, 0x69, 0x73, 0x74, 0x00, 0x01, 0x02, 0x09, 0x31, 0x33, 0x39, 0x30,
	0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x03, 0x00, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f,
};
/* submit_sm_resp seq 2 status 0 message_id "MSG-0001" */
static const uint8_t nsv_submit_sm_resp[] = {
	0x00, 0x00, 0x00, 0x19, 0x80, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0x4d, 0x53, 0x47, 0x2d, 0x30, 0x30, 0x30, 0x31,
	0x00,
};
/* clang-format on */

static void test_netsmpp(void)
{
	/* clang-format off */
	CHECK_INT(afgw_smpp_parse(nsv_bind_transceiver, sizeof(nsv_bind_transceiver), &pdu), 0);
	CHECK_INT(pdu.command_length, sizeof(nsv_bind_transceiver));
	CHECK_INT(pdu.command_id, AFGW_SMPP_BIND_TRANSCEIVER);
	CHECK_INT(pdu.command_status, 0);
	CHECK_INT(pdu.sequence_number, 1);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.system_id, "afgw_esme");
	CHECK_STR(pdu.password, "secret");
	CHECK_STR(pdu.system_type, "SMPP");
	CHECK_INT(pdu.interface_version, 0x34);
	CHECK_INT(pdu.addr_ton, 1);
	CHECK_INT(pdu.addr_npi, 1);
	CHECK_STR(pdu.address_range, "^86");

	/* "您的账户异常请点击链接" in UTF-16BE */
	static const char ucs2[] = "\x60\xa8\x76\x84\x8d\x26\x62\x37\x5f\x02\x5e\x38"
				   "\x8b\xf7\x70\xb9\x51\xfb\x94\xfe\x63\xa5";
	CHECK_INT(afgw_smpp_parse(nsv_submit_sm_ucs2, sizeof(nsv_submit_sm_ucs2), &pdu), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_SUBMIT_SM);
	CHECK_INT(pdu.sequence_number, 2);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.service_type, "CMT");
	check_addr(&pdu.src, 5, 0, "ICBC", false);
	check_addr(&pdu.dst, 1, 1, "8613800138000", false);
	CHECK_INT(pdu.esm_class, 0);
	CHECK_INT(pdu.protocol_id, 0);
	CHECK_INT(pdu.priority_flag, 1);
	CHECK_STR(pdu.schedule_delivery_time, "");
	CHECK_STR(pdu.validity_period, "000001000000000R");
	CHECK_INT(pdu.registered_delivery, 1);
	CHECK_INT(pdu.replace_if_present_flag, 0);
	CHECK_INT(pdu.data_coding, 8);
	CHECK_INT(pdu.sm_default_msg_id, 0);
	CHECK_INT(pdu.short_message.len, 22);
	CHECK_MEM(pdu.short_message.p, pdu.short_message.len, ucs2);
	CHECK(!pdu.has_message_payload);

	CHECK_INT(afgw_smpp_parse(nsv_deliver_sm, sizeof(nsv_deliver_sm), &pdu), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_DELIVER_SM);
	CHECK_INT(pdu.sequence_number, 3);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.service_type, "");
	check_addr(&pdu.src, 1, 1, "8613912345678", false);
	check_addr(&pdu.dst, 0, 1, "10690000", false);
	CHECK_INT(pdu.esm_class, 0x04);
	CHECK_INT(pdu.data_coding, 0);
	CHECK_INT(pdu.registered_delivery, 0);
	CHECK_STR(pdu.short_message, "id:42 sub:001 dlvrd:001 stat:DELIVRD err:000");

	CHECK_INT(afgw_smpp_parse(nsv_data_sm_payload, sizeof(nsv_data_sm_payload), &pdu), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_DATA_SM);
	CHECK_INT(pdu.sequence_number, 4);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.service_type, "");
	check_addr(&pdu.src, 5, 0, "BANK-ALERT", false);
	check_addr(&pdu.dst, 1, 1, "+8613800138000", false);
	CHECK_INT(pdu.esm_class, 0);
	CHECK_INT(pdu.registered_delivery, 0x11);
	CHECK_INT(pdu.data_coding, 0);
	CHECK(pdu.has_message_payload);
	CHECK_INT(pdu.message_payload.len, 333); /* > 254: why message_payload exists */
	static const char payload_start[] =
		"Your parcel is held at customs. Pay the fee within 24 hours at "
		"http://example.test/pay or it will be returned. Your parcel";
	CHECK(pdu.message_payload.len >= LEN(payload_start) &&
	      memcmp(pdu.message_payload.p, payload_start, LEN(payload_start)) == 0);

	CHECK_INT(afgw_smpp_parse(nsv_submit_sm_sar, sizeof(nsv_submit_sm_sar), &pdu), 0);
	CHECK_INT(pdu.sequence_number, 5);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	check_addr(&pdu.src, 1, 1, "8613700000001", false);
	check_addr(&pdu.dst, 1, 1, "8613800138000", false);
	CHECK_STR(pdu.short_message, "part two");
	CHECK(pdu.has_sar);
	CHECK_INT(pdu.sar_msg_ref_num, 0xbeef);
	CHECK_INT(pdu.sar_total_segments, 3);
	CHECK_INT(pdu.sar_segment_seqnum, 2);

	CHECK_INT(afgw_smpp_parse(nsv_submit_multi, sizeof(nsv_submit_multi), &pdu), 0);
	CHECK_INT(pdu.command_id, AFGW_SMPP_SUBMIT_MULTI);
	CHECK_INT(pdu.sequence_number, 6);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	check_addr(&pdu.src, 1, 1, "95588", false);
	CHECK_INT(pdu.number_of_dests, 3);
	CHECK_INT(pdu.n_dests, 3);
	check_addr(&pdu.dests[0], 1, 1, "8613800138000", false);
	check_addr(&pdu.dests[1], 0, 0, "vip_list", true);
	check_addr(&pdu.dests[2], 2, 9, "13900000000", false);
	check_addr(&pdu.dst, 1, 1, "8613800138000", false);
	CHECK_INT(pdu.data_coding, 3);
	CHECK_STR(pdu.short_message, "Hello");

	CHECK_INT(afgw_smpp_parse(nsv_submit_sm_resp, sizeof(nsv_submit_sm_resp), &pdu), 0);
	CHECK_INT(pdu.command_id, 0x80000004u);
	CHECK_INT(pdu.sequence_number, 2);
	CHECK(pdu.valid);
	CHECK_INT(pdu.anomalies, 0);
	CHECK_STR(pdu.message_id, "MSG-0001");
	/* clang-format on */
}

/* ---- the stream reader ------------------------------------------------ */

/* What a returned PDU looked like, to compare runs of the same stream. */
struct seen {
	uint32_t id, seq, len, anomalies;
	uint64_t hash; /* FNV-1a of the raw bytes and the text slices */
};

struct run {
	struct seen pdus[4096];
	size_t n;
	uint64_t reasons[AFGW_SMPP_R_COUNT], skipped;
	size_t fed, returned, max_cap;
	bool accounting_ok;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

/* Take every PDU the reader has ready. */
static void drain(struct afgw_smpp_reader *r, struct run *out)
{
	struct afgw_smpp_pdu p;
	int rc;
	while ((rc = afgw_smpp_next(r, &p)) == 0) {
		if (out->n < AFGW_ARRAY_SIZE(out->pdus)) {
			struct seen *s = &out->pdus[out->n];
			s->id = p.command_id;
			s->seq = p.sequence_number;
			s->len = p.command_length;
			s->anomalies = p.anomalies;
			uint64_t h = fnv(0xcbf29ce484222325ull, p.raw, p.command_length);
			h = fnv(h, p.src.addr.p, p.src.addr.len);
			h = fnv(h, p.dst.addr.p, p.dst.addr.len);
			h = fnv(h, p.short_message.p, p.short_message.len);
			h = fnv(h, p.message_payload.p, p.message_payload.len);
			s->hash = h;
		}
		out->n++;
		out->returned += p.command_length;
	}
	/* every accepted byte is returned, skipped, or still buffered */
	if (rc != -EAGAIN || out->fed != out->returned + r->skipped_bytes + (r->len - r->off))
		out->accounting_ok = false;
	if (r->cap > out->max_cap)
		out->max_cap = r->cap;
}

/* Feed stream in chunks: chunk == 0 means random sizes 1..max_chunk. */
static void run_stream(const uint8_t *s, size_t n, size_t chunk, size_t max_chunk, uint32_t max_pdu,
                       struct run *out)
{
	struct afgw_smpp_reader r;
	memset(out, 0, sizeof(*out));
	out->accounting_ok = true;
	CHECK_INT(afgw_smpp_reader_init(&r, max_pdu), 0);
	for (size_t i = 0; i < n;) {
		size_t k = chunk ? chunk : 1 + (size_t)(rng() % max_chunk);
		if (k > n - i)
			k = n - i;
		if (afgw_smpp_feed(&r, s + i, k) != 0)
			out->accounting_ok = false;
		out->fed += k;
		i += k;
		drain(&r, out);
	}
	memcpy(out->reasons, r.reasons, sizeof(out->reasons));
	out->skipped = r.skipped_bytes;
	afgw_smpp_reader_fini(&r);
}

static bool same_run(const struct run *a, const struct run *b)
{
	return a->n == b->n && a->skipped == b->skipped &&
	       memcmp(a->reasons, b->reasons, sizeof(a->reasons)) == 0 &&
	       memcmp(a->pdus, b->pdus, sizeof(a->pdus[0]) * (a->n < 4096 ? a->n : 4096)) == 0;
}

static void test_reader_basic(void)
{
	/* clang-format off */
	struct afgw_smpp_reader r;
	struct afgw_smpp_pdu p;

	CHECK_INT(afgw_smpp_reader_init(&r, 15), -EINVAL);
	afgw_smpp_reader_fini(&r);
	CHECK_INT(afgw_smpp_reader_init(&r, 4096), 0);
	CHECK(!r.desync);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);

	/* one PDU in three pieces: 5 bytes, 20 bytes, the rest */
	CHECK_INT(afgw_smpp_feed(&r, U8(submit_sm), 5), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	CHECK_INT(afgw_smpp_feed(&r, U8(submit_sm) + 5, 20), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	CHECK_INT(afgw_smpp_feed(&r, U8(submit_sm) + 25, LEN(submit_sm) - 25), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_SUBMIT_SM);
	CHECK_STR(p.short_message, "hello");
	CHECK_STR(p.dst.addr, "8613900139000");
	CHECK(p.raw == r.buf); /* slices into the reader's buffer */
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);

	/* four PDUs in one feed, back out in order */
	static struct bld b;
	b.n = 0;
	putmem(&b, enquire_link, LEN(enquire_link));
	putmem(&b, deliver_sm, LEN(deliver_sm));
	putmem(&b, generic_nack, LEN(generic_nack));
	putmem(&b, data_sm, LEN(data_sm));
	CHECK_INT(afgw_smpp_feed(&r, b.d, b.n), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_ENQUIRE_LINK);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_DELIVER_SM);
	CHECK_STR(p.src.addr, "13912345678");
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_GENERIC_NACK);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_DATA_SM);
	CHECK_STR(p.message_payload, "\x4e\x2d\x56\xfd\x94\xf6\x88\x4c");
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	for (int i = 0; i < AFGW_SMPP_R_COUNT; i++)
		CHECK_INT(r.reasons[i], 0);
	CHECK_INT(r.skipped_bytes, 0);

	/* the header is judged before the body arrives: a 4096-byte
	 * submit_sm (== max_pdu) waits, one of 4097 is refused at once */
	static const char big_ok[] =
		"\x00\x00\x10\x00" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x01";
	CHECK_INT(afgw_smpp_feed(&r, U8(big_ok), 16), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	CHECK(!r.desync);
	CHECK_INT(r.reasons[AFGW_SMPP_R_BAD_LENGTH], 0);
	afgw_smpp_gap(&r);
	CHECK_INT(r.reasons[AFGW_SMPP_R_GAP], 1);
	CHECK_INT(r.skipped_bytes, 16);
	CHECK(r.desync);
	static const char big_bad[] =
		"\x00\x00\x10\x01" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x01";
	afgw_smpp_reader_fini(&r);
	CHECK_INT(afgw_smpp_reader_init(&r, 4096), 0);
	CHECK_INT(afgw_smpp_feed(&r, U8(big_bad), 16), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	CHECK_INT(r.reasons[AFGW_SMPP_R_BAD_LENGTH], 1);
	CHECK(r.desync);
	afgw_smpp_reader_fini(&r);
	CHECK(r.buf == NULL);
	/* clang-format on */
}

/* A bad header, then enquire_link (seq 42): the bad one is counted once,
 * its 16 bytes are skipped, and the reader is back on the next PDU. */
static void lying_header(const char *hdr, enum afgw_smpp_reason why)
{
	struct afgw_smpp_reader r;
	struct afgw_smpp_pdu p;
	static struct bld b;

	b.n = 0;
	putmem(&b, hdr, 16);
	putmem(&b, enquire_link, LEN(enquire_link));
	putmem(&b, submit_sm, LEN(submit_sm));
	CHECK_INT(afgw_smpp_reader_init(&r, 4096), 0);
	CHECK_INT(afgw_smpp_feed(&r, b.d, b.n), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_ENQUIRE_LINK);
	CHECK_INT(p.sequence_number, 42);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_SUBMIT_SM);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	CHECK_INT(r.reasons[why], 1);
	CHECK_INT(r.reasons[AFGW_SMPP_R_BAD_LENGTH] + r.reasons[AFGW_SMPP_R_UNKNOWN_ID], 1);
	CHECK_INT(r.skipped_bytes, 16);
	CHECK(!r.desync);
	afgw_smpp_reader_fini(&r);
}

static void test_reader_resync(void)
{
	/* clang-format off */
	/* command_length 0xffffffff / 15 / 0 / 4097, id submit_sm, seq 7 */
	lying_header("\xff\xff\xff\xff" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x07",
		     AFGW_SMPP_R_BAD_LENGTH);
	lying_header("\x00\x00\x00\x0f" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x07",
		     AFGW_SMPP_R_BAD_LENGTH);
	lying_header("\x00\x00\x00\x00" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x07",
		     AFGW_SMPP_R_BAD_LENGTH);
	lying_header("\x00\x00\x10\x01" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x07",
		     AFGW_SMPP_R_BAD_LENGTH);
	/* command_length 16, command_id 0x00000099, seq 1 */
	lying_header("\x00\x00\x00\x10" "\x00\x00\x00\x99" "\x00\x00\x00\x00" "\x00\x00\x00\x01",
		     AFGW_SMPP_R_UNKNOWN_ID);

	/* A garbage prefix (an HTTP request on the SMPP port), then PDUs. */
	struct afgw_smpp_reader r;
	struct afgw_smpp_pdu p;
	static struct bld b;
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	b.n = 0;
	putmem(&b, http, LEN(http));
	putmem(&b, bind_transmitter, LEN(bind_transmitter));
	putmem(&b, enquire_link, LEN(enquire_link));
	CHECK_INT(afgw_smpp_reader_init(&r, 4096), 0);
	CHECK_INT(afgw_smpp_feed(&r, b.d, b.n), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_BIND_TRANSMITTER);
	CHECK_STR(p.system_id, "esme01");
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_ENQUIRE_LINK);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	CHECK_INT(r.reasons[AFGW_SMPP_R_BAD_LENGTH], 1); /* "GET " as a length */
	CHECK_INT(r.skipped_bytes, LEN(http));
	afgw_smpp_reader_fini(&r);

	/* While resynchronising only plausible headers are taken: after the
	 * garbage, a submit_sm with status 5 (a request with an error: not
	 * something a peer sends) is skipped, generic_nack with status 3 is
	 * taken.  Had the reader been in sync it would have returned the
	 * submit_sm with bad_status. */
	static const char req_status[] =
		"\x00\x00\x00\x25" "\x00\x00\x00\x04" "\x00\x00\x00\x05" "\x00\x00\x00\x06"
		"\0" "\x01\x01" "1\0" "\x01\x01" "2\0" "\x00\x00\x00" "\0" "\0"
		"\x00\x00\x00\x00" "\x02" "hi";
	b.n = 0;
	putmem(&b, http, LEN(http));
	putmem(&b, req_status, LEN(req_status));
	putmem(&b, generic_nack, LEN(generic_nack));
	putmem(&b, req_status, LEN(req_status));
	CHECK_INT(afgw_smpp_reader_init(&r, 4096), 0);
	CHECK_INT(afgw_smpp_feed(&r, b.d, b.n), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_GENERIC_NACK);
	CHECK_INT(p.command_status, 3);
	CHECK_INT(r.skipped_bytes, LEN(http) + LEN(req_status));
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_SUBMIT_SM);
	CHECK_INT(p.anomalies, AFGW_SMPP_A_BAD_STATUS);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	afgw_smpp_reader_fini(&r);

	/* While resynchronising, a header must also fit its command: a
	 * submit_sm of 16 bytes (no room for its 17-byte minimum body) and an
	 * enquire_link of 17 bytes are passed over; in sync both would be
	 * returned, with truncated_body and trailing_bytes. */
	static const char sm16[] =
		"\x00\x00\x00\x10" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x01";
	static const char el17[] =
		"\x00\x00\x00\x11" "\x00\x00\x00\x15" "\x00\x00\x00\x00" "\x00\x00\x00\x02"
		"\x01";
	b.n = 0;
	putmem(&b, http, LEN(http));
	putmem(&b, sm16, LEN(sm16));
	putmem(&b, el17, LEN(el17));
	putmem(&b, unbind, LEN(unbind));
	putmem(&b, sm16, LEN(sm16));
	putmem(&b, el17, LEN(el17));
	CHECK_INT(afgw_smpp_reader_init(&r, 4096), 0);
	CHECK_INT(afgw_smpp_feed(&r, b.d, b.n), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_UNBIND);
	CHECK_INT(r.skipped_bytes, LEN(http) + LEN(sm16) + LEN(el17));
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_SUBMIT_SM);
	CHECK_INT(p.anomalies, AFGW_SMPP_A_TRUNCATED_BODY);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_ENQUIRE_LINK);
	CHECK_INT(p.anomalies, AFGW_SMPP_A_TRAILING_BYTES);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	afgw_smpp_reader_fini(&r);

	/* ... and have a sequence number in 1..0x7fffffff and, for a
	 * response, a status below 0x1000: generic_nack with seq 0, one with
	 * seq 0x80000000 and one with status 0x00001000 are passed over. */
	static const char nack_seq0[] =
		"\x00\x00\x00\x10" "\x80\x00\x00\x00" "\x00\x00\x00\x03" "\x00\x00\x00\x00";
	static const char nack_seqhi[] =
		"\x00\x00\x00\x10" "\x80\x00\x00\x00" "\x00\x00\x00\x03" "\x80\x00\x00\x00";
	static const char nack_st[] =
		"\x00\x00\x00\x10" "\x80\x00\x00\x00" "\x00\x00\x10\x00" "\x00\x00\x00\x05";
	b.n = 0;
	putmem(&b, http, LEN(http));
	putmem(&b, nack_seq0, LEN(nack_seq0));
	putmem(&b, nack_seqhi, LEN(nack_seqhi));
	putmem(&b, nack_st, LEN(nack_st));
	putmem(&b, generic_nack, LEN(generic_nack));
	CHECK_INT(afgw_smpp_reader_init(&r, 4096), 0);
	CHECK_INT(afgw_smpp_feed(&r, b.d, b.n), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_GENERIC_NACK);
	CHECK_INT(p.sequence_number, 44);
	CHECK_INT(r.skipped_bytes, LEN(http) + 3 * 16);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	afgw_smpp_reader_fini(&r);

	/* Desynchronised with fewer than 16 bytes: they are kept, because
	 * they may be the start of a header.  Garbage 'X' x 20, then
	 * enquire_link fed one byte at a time. */
	CHECK_INT(afgw_smpp_reader_init(&r, 4096), 0);
	CHECK_INT(afgw_smpp_feed(&r, U8("XXXXXXXXXXXXXXXXXXXX"), 20), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	CHECK(r.desync);
	CHECK_INT(r.len - r.off, 15);
	CHECK_INT(r.skipped_bytes, 5);
	int got = 0;
	for (size_t i = 0; i < LEN(unbind); i++) {
		CHECK_INT(afgw_smpp_feed(&r, U8(unbind) + i, 1), 0);
		while (afgw_smpp_next(&r, &p) == 0) {
			got++;
			CHECK_INT(p.command_id, AFGW_SMPP_UNBIND);
			CHECK_INT(i, LEN(unbind) - 1); /* only when complete */
		}
	}
	CHECK_INT(got, 1);
	CHECK_INT(r.skipped_bytes, 20);
	CHECK(!r.desync);
	afgw_smpp_reader_fini(&r);
	/* clang-format on */
}

static void test_reader_gap(void)
{
	struct afgw_smpp_reader r;
	struct afgw_smpp_pdu p;
	const size_t half = 20;

	CHECK_INT(afgw_smpp_reader_init(&r, 4096), 0);
	/* submit_sm, then the first 20 bytes of deliver_sm ... */
	CHECK_INT(afgw_smpp_feed(&r, U8(submit_sm), LEN(submit_sm)), 0);
	CHECK_INT(afgw_smpp_feed(&r, U8(deliver_sm), half), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_SUBMIT_SM);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	/* ... the capture lost some bytes ... */
	afgw_smpp_gap(&r);
	CHECK_INT(r.reasons[AFGW_SMPP_R_GAP], 1);
	CHECK(r.desync);
	CHECK_INT(r.skipped_bytes, half);
	/* ... and resumes in the middle of deliver_sm, then unbind, data_sm */
	CHECK_INT(afgw_smpp_feed(&r, U8(deliver_sm) + 30, LEN(deliver_sm) - 30), 0);
	CHECK_INT(afgw_smpp_feed(&r, U8(unbind), LEN(unbind)), 0);
	CHECK_INT(afgw_smpp_feed(&r, U8(data_sm), LEN(data_sm)), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_UNBIND);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_DATA_SM);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	CHECK_INT(r.skipped_bytes, half + LEN(deliver_sm) - 30);
	CHECK_INT(r.reasons[AFGW_SMPP_R_BAD_LENGTH], 0); /* a gap is not a bad header */
	afgw_smpp_reader_fini(&r);
}

static void test_reader_overflow(void)
{
	struct afgw_smpp_reader r;
	struct afgw_smpp_pdu p;
	const size_t bound = 1024 + AFGW_SMPP_FEED_MAX;
	uint8_t *zeros = calloc(1, bound + 1);

	CHECK(zeros != NULL);
	if (!zeros)
		return;
	CHECK_INT(afgw_smpp_reader_init(&r, 1024), 0);
	CHECK(r.cap <= 4096); /* small to start with */
	/* one feed over the bound */
	CHECK_INT(afgw_smpp_feed(&r, zeros, bound + 1), -ENOBUFS);
	CHECK_INT(r.reasons[AFGW_SMPP_R_OVERFLOW], 1);
	CHECK(r.desync);
	CHECK_INT(r.len - r.off, 0);
	CHECK_INT(r.skipped_bytes, 0); /* the refused bytes were never taken */
	/* exactly the bound fits an empty reader */
	CHECK_INT(afgw_smpp_feed(&r, zeros, bound), 0);
	CHECK(r.cap <= bound);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	CHECK_INT(r.len - r.off, 15); /* zeros are no header; 15 kept */
	CHECK_INT(r.skipped_bytes, bound - 15);
	/* the reader still works: an enquire_link behind the zeros */
	CHECK_INT(afgw_smpp_feed(&r, U8(enquire_link), LEN(enquire_link)), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), 0);
	CHECK_INT(p.command_id, AFGW_SMPP_ENQUIRE_LINK);
	CHECK_INT(r.skipped_bytes, bound);

	/* A caller that does not drain: a 1000-byte PDU is waiting (header
	 * of a 1000-byte submit_sm + 500 bytes), then feeds pile up until
	 * the next would pass the bound.  Everything buffered is dropped. */
	/* clang-format off */
	static const char hdr1000[] =
		"\x00\x00\x03\xe8" "\x00\x00\x00\x04" "\x00\x00\x00\x00" "\x00\x00\x00\x01";
	/* clang-format on */
	CHECK_INT(afgw_smpp_feed(&r, U8(hdr1000), 16), 0);
	CHECK_INT(afgw_smpp_feed(&r, zeros, 484), 0);
	CHECK_INT(afgw_smpp_next(&r, &p), -EAGAIN);
	CHECK(!r.desync);
	size_t live = 500;
	while (live + 4000 <= bound) {
		CHECK_INT(afgw_smpp_feed(&r, zeros, 4000), 0);
		live += 4000;
	}
	CHECK(r.cap <= bound);
	uint64_t skipped = r.skipped_bytes;
	CHECK_INT(afgw_smpp_feed(&r, zeros, 4000), -ENOBUFS);
	CHECK_INT(r.reasons[AFGW_SMPP_R_OVERFLOW], 2);
	CHECK_INT(r.skipped_bytes, skipped + live);
	CHECK(r.desync);
	CHECK_INT(r.len - r.off, 0);
	afgw_smpp_reader_fini(&r);

	/* a PDU of exactly max_pdu bytes, fed one byte at a time */
	static struct bld b;
	b.n = 0;
	size_t at = begin_pdu(&b, AFGW_SMPP_DATA_SM, 0, 9);
	putz(&b, "");
	put8(&b, 1);
	put8(&b, 1);
	putz(&b, "1");
	put8(&b, 1);
	put8(&b, 1);
	putz(&b, "2");
	put8(&b, 0);
	put8(&b, 0);
	put8(&b, 0);
	size_t plen = 1024 - (b.n - at) - 4;
	put16(&b, AFGW_SMPP_TLV_MESSAGE_PAYLOAD);
	put16(&b, (uint16_t)plen);
	memset(b.d + b.n, 'A', plen);
	b.n += plen;
	end_pdu(&b, at);
	CHECK_INT(b.n, 1024);
	CHECK_INT(afgw_smpp_reader_init(&r, 1024), 0);
	int got = 0, feed_err = 0;
	for (size_t i = 0; i < b.n; i++) {
		feed_err |= afgw_smpp_feed(&r, b.d + i, 1);
		while (afgw_smpp_next(&r, &p) == 0) {
			got++;
			CHECK(p.valid);
			CHECK_INT(p.message_payload.len, plen);
		}
	}
	CHECK_INT(feed_err, 0);
	CHECK_INT(got, 1);
	CHECK(r.cap <= bound);
	afgw_smpp_reader_fini(&r);
	free(zeros);
}

/* One stream with a bit of everything, including garbage and lying
 * headers (but no gaps: those depend on where the chunks fall). */
static size_t build_mixed_stream(struct bld *b)
{
	static const char *const lits[] = {
	    bind_transmitter,   bind_receiver_resp, outbind,
	    submit_sm,          deliver_sm,         data_sm,
	    submit_multi,       submit_sm_resp,     deliver_sm_resp,
	    submit_sm_resp_err, data_sm_resp,       submit_multi_resp,
	    enquire_link,       enquire_link_resp,  unbind,
	    generic_nack,
	};
	static const uint8_t *const nsv[] = {
	    nsv_bind_transceiver, nsv_submit_sm_ucs2, nsv_deliver_sm,     nsv_data_sm_payload,
	    nsv_submit_sm_sar,    nsv_submit_multi,   nsv_submit_sm_resp,
	};
	size_t count = 0;

	b->n = 0;
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < AFGW_ARRAY_SIZE(lits); i++) {
			putmem(b, lits[i], get32(U8(lits[i])));
			count++;
		}
		for (size_t i = 0; i < AFGW_ARRAY_SIZE(nsv); i++) {
			putmem(b, nsv[i], get32(nsv[i]));
			count++;
		}
		/* clang-format off */
		/* garbage, a lying length, an unknown id */
		putmem(b, "GET / HTTP/1.1\r\n\r\n", 18);
		putmem(b, enquire_link, 16);
		count++;
		putmem(b, "\xff\xff\xff\xff" "\x00\x00\x00\x04" "\x00\x00\x00\x00"
			  "\x00\x00\x00\x07", 16);
		put_submit_sm(b, 1000 + (uint32_t)round, "8613800138000", "10086",
			      "round and round");
		count++;
		putmem(b, "\x00\x00\x00\x10" "\x00\x00\x00\x99" "\x00\x00\x00\x00"
			  "\x00\x00\x00\x01", 16);
		/* clang-format on */
		putmem(b, unbind, 16);
		count++;
	}
	return count;
}

static struct run ref_run, cmp_run;

static void test_reader_chunking(void)
{
	static struct bld b;
	size_t expect = build_mixed_stream(&b);

	CHECK(b.n <= AFGW_SMPP_FEED_MAX);
	run_stream(b.d, b.n, b.n, 0, 4096, &ref_run); /* all at once */
	CHECK_INT(ref_run.n, expect);
	CHECK(ref_run.accounting_ok);
	CHECK_INT(ref_run.reasons[AFGW_SMPP_R_BAD_LENGTH], 6);
	CHECK_INT(ref_run.reasons[AFGW_SMPP_R_UNKNOWN_ID], 3);
	CHECK_INT(ref_run.skipped, 3 * (18 + 16 + 16));
	CHECK_INT(ref_run.fed, ref_run.returned + ref_run.skipped);

	run_stream(b.d, b.n, 1, 0, 4096, &cmp_run); /* one byte at a time */
	CHECK(same_run(&ref_run, &cmp_run));
	CHECK(cmp_run.accounting_ok);
	CHECK_INT(cmp_run.max_cap, 4096); /* never needed more than the start */

	for (uint64_t seed = 1; seed <= 40; seed++) {
		rng_state = seed * 0x9e3779b97f4a7c15ull;
		size_t max_chunk = seed <= 20 ? 64 : 2000;
		run_stream(b.d, b.n, 0, max_chunk, 4096, &cmp_run);
		CHECK(same_run(&ref_run, &cmp_run));
		CHECK(cmp_run.accounting_ok);
	}
	for (size_t k = 2; k <= 40; k++) {
		run_stream(b.d, b.n, k, 0, 4096, &cmp_run);
		CHECK(same_run(&ref_run, &cmp_run));
	}
}

/* Many small PDUs: all come out, and the buffer does not grow. */
static void test_reader_many(void)
{
	static struct bld b;
	struct afgw_smpp_reader r;
	struct afgw_smpp_pdu p;

	b.n = 0;
	for (uint32_t i = 1; i <= 900; i++)
		put_submit_sm(&b, i, "8613800138000", "10086", "one of nine hundred");
	CHECK(b.n <= AFGW_SMPP_FEED_MAX);
	CHECK_INT(afgw_smpp_reader_init(&r, 4096), 0);
	CHECK_INT(afgw_smpp_feed(&r, b.d, b.n), 0);
	uint32_t n = 0;
	bool in_order = true;
	while (afgw_smpp_next(&r, &p) == 0) {
		n++;
		if (p.sequence_number != n || !p.valid ||
		    !afgw_str_eq(p.short_message, "one of nine hundred"))
			in_order = false;
	}
	CHECK_INT(n, 900);
	CHECK(in_order);
	afgw_smpp_reader_fini(&r);

	/* 200000 enquire_links in 7-byte feeds: the buffer stays at 4 KiB */
	CHECK_INT(afgw_smpp_reader_init(&r, 4096), 0);
	b.n = 0;
	for (uint32_t i = 1; i <= 7 * 16; i++)
		put_header_only(&b, AFGW_SMPP_ENQUIRE_LINK, 0, i);
	n = 0;
	int feed_err = 0;
	for (int rep = 0; rep < 200000 / (7 * 16); rep++) {
		for (size_t i = 0; i < b.n; i += 7) {
			feed_err |= afgw_smpp_feed(&r, b.d + i, 7);
			while (afgw_smpp_next(&r, &p) == 0)
				n++;
		}
	}
	CHECK_INT(feed_err, 0);
	CHECK_INT(n, 200000 / (7 * 16) * 7 * 16);
	CHECK_INT(r.cap, 4096);
	CHECK_INT(r.skipped_bytes, 0);
	afgw_smpp_reader_fini(&r);
}

int main(void)
{
	test_names();
	test_bind();
	test_submit_deliver();
	test_submit_multi();
	test_responses();
	test_header_only();
	test_bad_headers();
	test_strings();
	test_tlvs();
	test_netsmpp();
	test_reader_basic();
	test_reader_resync();
	test_reader_gap();
	test_reader_overflow();
	test_reader_chunking();
	test_reader_many();
	return check_report();
}
