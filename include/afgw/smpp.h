/*
 * smpp.h - the SMPP 3.4 / 5.0 PDU decoder, gateway/decode_smpp.c.
 *
 * Two layers:
 *  - afgw_smpp_parse() decodes one complete PDU held in memory;
 *  - struct afgw_smpp_reader frames a TCP byte stream into PDUs with the
 *    _feed/_next pair.  command_length is checked (16 <= len <= max_pdu)
 *    before any byte of the body is buffered beyond what was fed, so a
 *    lying length costs nothing.  After a bad header or a TCP gap the
 *    reader is "desynchronised" and scans forward for the next plausible
 *    PDU header (sane length, known command id, sane status and sequence).
 *
 * Slices in a returned PDU point into the reader's buffer (or the caller's
 * buffer for afgw_smpp_parse) and stay valid until the next call on that
 * reader.  Thread: a reader belongs to one worker.
 */
#ifndef AFGW_SMPP_H
#define AFGW_SMPP_H

#include "afgw/common.h"

/* Command ids.  The two with bit 31 set are macros: ISO C enumerators
 * must fit in an int. */
#define AFGW_SMPP_GENERIC_NACK 0x80000000u
#define AFGW_SMPP_RESP_BIT 0x80000000u

enum {
	AFGW_SMPP_BIND_RECEIVER = 0x00000001u,
	AFGW_SMPP_BIND_TRANSMITTER = 0x00000002u,
	AFGW_SMPP_QUERY_SM = 0x00000003u,
	AFGW_SMPP_SUBMIT_SM = 0x00000004u,
	AFGW_SMPP_DELIVER_SM = 0x00000005u,
	AFGW_SMPP_UNBIND = 0x00000006u,
	AFGW_SMPP_REPLACE_SM = 0x00000007u,
	AFGW_SMPP_CANCEL_SM = 0x00000008u,
	AFGW_SMPP_BIND_TRANSCEIVER = 0x00000009u,
	AFGW_SMPP_OUTBIND = 0x0000000bu,
	AFGW_SMPP_ENQUIRE_LINK = 0x00000015u,
	AFGW_SMPP_SUBMIT_MULTI = 0x00000021u,
	AFGW_SMPP_ALERT_NOTIFICATION = 0x00000102u,
	AFGW_SMPP_DATA_SM = 0x00000103u,
	AFGW_SMPP_BROADCAST_SM = 0x00000111u,
	AFGW_SMPP_QUERY_BROADCAST_SM = 0x00000112u,
	AFGW_SMPP_CANCEL_BROADCAST_SM = 0x00000113u,
};

/* TLV tags we decode */
enum {
	AFGW_SMPP_TLV_SAR_MSG_REF_NUM = 0x020c,
	AFGW_SMPP_TLV_SAR_TOTAL_SEGMENTS = 0x020e,
	AFGW_SMPP_TLV_SAR_SEGMENT_SEQNUM = 0x020f,
	AFGW_SMPP_TLV_MESSAGE_PAYLOAD = 0x0424,
	AFGW_SMPP_TLV_SC_INTERFACE_VERSION = 0x0210,
};

/* PDU anomaly bits; afgw_smpp_anomaly_name() gives the JSON name. */
enum {
	AFGW_SMPP_A_TRUNCATED_BODY = 1u << 0,  /* "truncated_body": mandatory fields run past the end */
	AFGW_SMPP_A_UNTERMINATED_STR = 1u << 1, /* "unterminated_string": C-octet string without NUL */
	AFGW_SMPP_A_FIELD_TOO_LONG = 1u << 2,  /* "field_too_long": C-octet string over its SMPP max */
	AFGW_SMPP_A_BAD_SM_LENGTH = 1u << 3,   /* "bad_sm_length": sm_length past the end */
	AFGW_SMPP_A_BAD_TLV = 1u << 4,         /* "bad_tlv": TLV length past the end */
	AFGW_SMPP_A_DUPLICATE_TLV = 1u << 5,   /* "duplicate_tlv" */
	AFGW_SMPP_A_PAYLOAD_AND_SM = 1u << 6,  /* "payload_and_short_message": both set (5.0 forbids) */
	AFGW_SMPP_A_UNKNOWN_COMMAND = 1u << 7, /* "unknown_command" */
	AFGW_SMPP_A_BAD_SAR = 1u << 8,         /* "bad_sar": sar_* incomplete or inconsistent */
	AFGW_SMPP_A_TRAILING_BYTES = 1u << 9,  /* "trailing_bytes" after the body of a PDU without TLVs */
	AFGW_SMPP_A_TOO_MANY_DESTS = 1u << 10, /* "too_many_dests" (submit_multi, > 255 or > kept) */
	AFGW_SMPP_A_BAD_STATUS = 1u << 11,     /* "bad_status": request with command_status != 0 */
	AFGW_SMPP_A_BAD_DEST_FLAG = 1u << 12,  /* "bad_dest_flag": submit_multi dest_flag not 1 or 2 */
};
#define AFGW_SMPP_ANOMALY_COUNT 13

/* Why bytes of a stream were not a PDU (generic_nack-worthy), counted by the reader. */
enum afgw_smpp_reason {
	AFGW_SMPP_R_BAD_LENGTH,     /* "bad_command_length": < 16 or > max_pdu */
	AFGW_SMPP_R_UNKNOWN_ID,     /* "unknown_command_id" */
	AFGW_SMPP_R_GAP,            /* "gap": the TCP stream lost bytes */
	AFGW_SMPP_R_OVERFLOW,       /* "overflow": fed more than the buffer bound */
	AFGW_SMPP_R_COUNT
};

#define AFGW_SMPP_MAX_DESTS 32 /* submit_multi destinations kept (the rest counted) */

struct afgw_smpp_addr {
	uint8_t ton, npi;
	struct afgw_str addr;
	bool is_dl;               /* submit_multi: distribution list name */
};

struct afgw_smpp_pdu {
	uint32_t command_length, command_id, command_status, sequence_number;
	const uint8_t *raw;       /* the whole PDU, command_length bytes */
	bool valid;
	uint32_t anomalies;       /* AFGW_SMPP_A_* */

	/* bind_* (and their resps: system_id only) */
	struct afgw_str system_id, password, system_type, address_range;
	uint8_t interface_version, addr_ton, addr_npi;

	/* submit_sm, deliver_sm, data_sm, submit_multi */
	struct afgw_str service_type;
	struct afgw_smpp_addr src;
	struct afgw_smpp_addr dst;          /* the single destination */
	struct afgw_smpp_addr dests[AFGW_SMPP_MAX_DESTS]; /* submit_multi */
	unsigned number_of_dests;           /* as declared by submit_multi */
	unsigned n_dests;                   /* kept in dests[] */
	uint8_t esm_class, protocol_id, priority_flag, registered_delivery;
	uint8_t replace_if_present_flag, data_coding, sm_default_msg_id;
	struct afgw_str schedule_delivery_time, validity_period;
	struct afgw_str short_message;      /* raw bytes, sm_length long */
	struct afgw_str message_payload;    /* TLV 0x0424, raw bytes */
	bool has_message_payload;
	bool has_sar;                       /* all three sar_* TLVs present */
	uint16_t sar_msg_ref_num;
	uint8_t sar_total_segments, sar_segment_seqnum;

	struct afgw_str message_id;         /* *_resp */
};

/* Decode one complete PDU (len == command_length).  Returns 0, or
 * -EBADMSG when the 16-byte header itself is unusable (len < 16, or
 * command_length < 16 or > len; bytes past command_length are ignored).
 * Body problems are anomalies, not errors.  dests[] entries past n_dests
 * are not cleared. */
int afgw_smpp_parse(const uint8_t *p, size_t len, struct afgw_smpp_pdu *pdu);

/* Name of a command id ("submit_sm", "deliver_sm_resp", ...), or NULL. */
const char *afgw_smpp_command_name(uint32_t command_id);
const char *afgw_smpp_anomaly_name(uint32_t bit);
const char *afgw_smpp_reason_name(enum afgw_smpp_reason r);

/* The largest single afgw_smpp_feed() a draining caller can always make:
 * the reader buffers at most max_pdu + AFGW_SMPP_FEED_MAX unconsumed bytes. */
#define AFGW_SMPP_FEED_MAX 65536u

struct afgw_smpp_reader {
	uint8_t *buf;             /* owned; grows up to max_pdu + one feed */
	size_t len, cap, off;
	uint32_t max_pdu;
	bool desync;
	uint64_t reasons[AFGW_SMPP_R_COUNT];
	uint64_t skipped_bytes;   /* bytes thrown away while resynchronising */
};

/* Caller's storage.  max_pdu: the configured cap on command_length
 * (>= 16).  Returns 0 or -ENOMEM. */
int afgw_smpp_reader_init(struct afgw_smpp_reader *r, uint32_t max_pdu);
void afgw_smpp_reader_fini(struct afgw_smpp_reader *r);

/* Start over on a new stream, keeping the buffer: a reader can be reused
 * for another flow without allocating.  Counters restart at zero. */
void afgw_smpp_reader_reset(struct afgw_smpp_reader *r);

/* Append stream bytes.  Returns 0, or -ENOBUFS when the bound would be
 * exceeded (the buffered bytes are dropped, the reader desynchronises and
 * the overflow is counted; the fed bytes are not taken), or -ENOMEM. */
int afgw_smpp_feed(struct afgw_smpp_reader *r, const uint8_t *p, size_t n);

/* The stream lost bytes here: drop what is buffered and resynchronise. */
void afgw_smpp_gap(struct afgw_smpp_reader *r);

/* Next complete PDU.  Returns 0 with *pdu filled (slices valid until the
 * next call on r), or -EAGAIN when more bytes are needed.  Bad headers
 * are counted by reason and skipped; they never reach the caller. */
int afgw_smpp_next(struct afgw_smpp_reader *r, struct afgw_smpp_pdu *pdu);

#endif
