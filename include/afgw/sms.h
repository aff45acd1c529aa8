/*
 * sms.h - SMS user data to UTF-8 (3GPP TS 23.038 / 23.040), and the
 * reassembly of concatenated SMS.  gateway/sms_text.c, gateway/sms_concat.c.
 *
 * Decoding: GSM 7-bit default alphabet (packed with UDH fill bits, or one
 * septet per octet as SMPP usually carries it) with the extension table,
 * Latin-1, UCS-2 / UTF-16BE with surrogate pairs, IA5.  Invalid sequences
 * become U+FFFD and are counted.  Binary data is flagged, not decoded.
 *
 * Reassembly works on "code units" (unpacked septets for GSM 7-bit, bytes
 * otherwise) so that an escape or a surrogate pair split across two parts
 * still decodes; the caller decodes the joined units once.
 * Thread: a concat table belongs to one worker.
 */
#ifndef AFGW_SMS_H
#define AFGW_SMS_H

#include "afgw/common.h"

enum afgw_sms_alphabet {
	AFGW_SMS_GSM7,     /* units: one septet per byte (0x00-0x7f) */
	AFGW_SMS_LATIN1,
	AFGW_SMS_UCS2,     /* UTF-16BE, surrogates accepted */
	AFGW_SMS_ASCII,    /* IA5 */
	AFGW_SMS_BINARY,
};

/*
 * Alphabet for an SMPP data_coding value (SMPP 3.4 §5.2.19, with the
 * GSM 23.038 coding groups for values >= 0xC0/0xF0).
 */
enum afgw_sms_alphabet afgw_sms_alphabet_smpp(uint8_t data_coding);

/* Alphabet for a GSM TP-DCS (23.038 §4). */
enum afgw_sms_alphabet afgw_sms_alphabet_dcs(uint8_t dcs);

struct afgw_sms_udh {
	bool present;
	size_t len;        /* bytes of UDH including the UDHL byte */
	bool concat;       /* IE 0x00 or 0x08 found */
	bool ref16;        /* IE 0x08 */
	uint16_t ref;
	uint8_t total, seq;
	bool bad;          /* IE lengths run past the UDH, or concat IE malformed */
	bool repeated;     /* several concat IEs: the last valid one is used */
};

/*
 * Parse the user data header at the start of ud (call only when the
 * esm_class / TP-UDHI bit says there is one).  Returns 0, or -EBADMSG
 * when the UDHL itself runs past the data (udh->bad set, udh->len = len).
 * A malformed concat IE (wrong IEDL, total 0, seq 0 or > total) is
 * ignored as 23.040 says and sets udh->bad.
 */
int afgw_sms_udh_parse(const uint8_t *ud, size_t len, struct afgw_sms_udh *udh);

/*
 * Unpack GSM 7-bit packed user data into one septet per byte.
 * nsept: septets to produce; fill_bits: bits skipped after a UDH (0-6).
 * Returns the septet count written (<= cap), stops early if data runs out.
 */
size_t afgw_sms_unpack7(const uint8_t *p, size_t n, size_t nsept,
			unsigned fill_bits, uint8_t *out, size_t cap);

/* Heuristic for SMPP data_coding 0: true when the bytes look packed
 * (any byte >= 0x80).  Unpacked GSM text never has the top bit set. */
bool afgw_sms_looks_packed(const uint8_t *p, size_t n);

struct afgw_sms_decoded {
	size_t len;        /* UTF-8 bytes written */
	unsigned invalid;  /* replaced (U+FFFD) units */
	bool truncated;    /* out too small */
};

/*
 * Decode code units of an alphabet into UTF-8 in out (no NUL written).
 * GSM7 units must be unpacked septets.  BINARY writes nothing.
 * Returns 0, or -ENOSPC with res->truncated when out was too small (what
 * fits is written, never a partial UTF-8 sequence).
 */
int afgw_sms_decode(enum afgw_sms_alphabet a, const uint8_t *units, size_t n,
		    char *out, size_t cap, struct afgw_sms_decoded *res);

/* ---- concatenated SMS ------------------------------------------------ */

struct afgw_concat;

/* A zero limit takes its default: 1024 messages, 1 MiB, 60 s. */
struct afgw_concat_limits {
	unsigned max_messages;   /* messages being assembled at once */
	size_t max_bytes;        /* unit bytes held in all */
	uint32_t timeout_ms;     /* an incomplete message is released after this */
	size_t meta_size;        /* bytes of caller metadata kept per message */
};

/* Identity of a concatenated message: who, to whom, which reference.
 * The table copies from and to (at most AFGW_CONCAT_KEY_MAX bytes each). */
#define AFGW_CONCAT_KEY_MAX 48
struct afgw_concat_key {
	struct afgw_str from, to;   /* canonical numbers */
	uint16_t ref;
	bool ref16;
	uint8_t total;
};

/* A message handed back: complete, or incomplete on timeout / flush. */
struct afgw_concat_done {
	const uint8_t *units;    /* joined units of the parts present, in order */
	size_t len;
	enum afgw_sms_alphabet alphabet;
	uint8_t parts;           /* parts present */
	uint8_t total;           /* parts declared */
	bool complete;
	bool mixed_alphabet;     /* parts disagreed; the first part's was used */
	unsigned duplicates;     /* duplicate parts ignored */
	const void *meta;        /* the caller's metadata of the first part seen */
	const uint64_t *tags;    /* the tag of each part present, in part order (parts of them) */
};

/* Counters of the concat table.  parts counts every part accepted
 * (duplicates included); completed, timed_out, evicted and flushed count
 * messages handed back; held counts include evicted messages not yet
 * collected through afgw_concat_expire(). */
struct afgw_concat_stats {
	uint64_t parts, completed, timed_out, evicted, duplicates, rejected;
	size_t bytes_held, messages_held;
	uint64_t flushed;
	uint64_t released;       /* by afgw_concat_release */
};

struct afgw_concat *afgw_concat_new(const struct afgw_concat_limits *lim);
void afgw_concat_free(struct afgw_concat *c);

/*
 * Add one part.  meta (meta_size bytes) is copied when the part is the
 * first seen of its message; tag is the caller's name for this part (the
 * frame that carried it), handed back in done->tags.  Returns 1 when this part completed the
 * message (*done filled, valid until the next call on c), 0 when held
 * (or a duplicate: counted, first copy wins), -EINVAL for a part that
 * cannot belong to a message (seq 0, seq > total, total 0, a key number
 * longer than AFGW_CONCAT_KEY_MAX), -EMSGSIZE for a part larger than
 * max_bytes (both counted as rejected: the caller scans such a part on
 * its own), -ENOMEM (part not taken).  When a limit is reached the oldest
 * message is evicted: it is returned first through afgw_concat_expire(),
 * which the caller drains after every add (the limits bound the messages
 * being assembled; evicted ones wait there until collected).
 */
int afgw_concat_add(struct afgw_concat *c, const struct afgw_concat_key *key,
		    uint8_t seq, enum afgw_sms_alphabet a, const uint8_t *units,
		    size_t len, const void *meta, uint64_t tag, uint64_t now_ms,
		    struct afgw_concat_done *done);

/*
 * Release one message that timed out before now_ms, or was evicted, or
 * (flush true) any message still held.  Returns 1 with *done filled
 * (valid until the next call on c), 0 when there is none, -ENOMEM when
 * the joining buffer could not grow (the message stays; call again).
 * Call in a loop.  Nothing is ever dropped silently: every part added
 * comes back in exactly one done message.
 */
int afgw_concat_expire(struct afgw_concat *c, uint64_t now_ms, bool flush,
		       struct afgw_concat_done *done);

/*
 * Release the message of key now, incomplete (its sender is waiting for
 * an answer before it sends the next part): it comes back first through
 * afgw_concat_expire().  Returns 1, or 0 when no such message is held.
 */
int afgw_concat_release(struct afgw_concat *c, const struct afgw_concat_key *key);

void afgw_concat_get_stats(const struct afgw_concat *c, struct afgw_concat_stats *s);

/* ---- SMS over IP: RP (3GPP TS 24.011) and TPDU (TS 23.040) --------------
 * The body of a SIP MESSAGE with Content-Type application/vnd.3gpp.sms
 * (TS 24.341) is an RP message; an RP-DATA carries a TPDU.  The parser
 * reads both layers from one buffer; the user data stays a slice into it.
 * gateway/sms_tpdu.c.
 */

/* RP-MTI (24.011 §8.2.2): the RP message and its direction. */
enum afgw_rp_type {
	AFGW_RP_DATA_MO = 0,   /* MS -> network: carries an SMS-SUBMIT (or a COMMAND) */
	AFGW_RP_DATA_MT = 1,   /* network -> MS: carries an SMS-DELIVER (or a STATUS-REPORT) */
	AFGW_RP_ACK_MO = 2,
	AFGW_RP_ACK_MT = 3,
	AFGW_RP_ERROR_MO = 4,
	AFGW_RP_ERROR_MT = 5,
	AFGW_RP_SMMA = 6,
};

/* The TPDU an RP-DATA carries (23.040 §9.2.3.1: TP-MTI read with the direction). */
enum afgw_tp_type {
	AFGW_TP_NONE = 0,      /* no TPDU (RP-ACK, RP-ERROR, RP-SMMA) */
	AFGW_TP_DELIVER,       /* MT, TP-MTI 00 */
	AFGW_TP_SUBMIT,        /* MO, TP-MTI 01 */
	AFGW_TP_STATUS_REPORT, /* MT, TP-MTI 10 */
	AFGW_TP_COMMAND,       /* MO, TP-MTI 10 */
	AFGW_TP_RESERVED,      /* TP-MTI 11, or 01 MT / 00 MO (reports, which RP-DATA does not carry) */
};

/* An address of either layer, decoded: BCD digits ("0"-"9", '*', '#',
 * 'a'-'c') or, with TON 5 (alphanumeric), the GSM 7-bit text as UTF-8.
 * 20 semi-octets or 11 septets (of up to 3 UTF-8 bytes) at most. */
#define AFGW_SMS_ADDR_MAX 40
struct afgw_sms_addr {
	uint8_t ton, npi;          /* TS 24.008 §10.5.4.7 / 23.040 §9.1.2.5: same values as SMPP's */
	uint8_t len;               /* bytes of text */
	char text[AFGW_SMS_ADDR_MAX];
};

/* Anomalies of afgw_sms_rp_parse (bits). */
enum {
	AFGW_SMS_PDU_A_TRUNCATED = 1u << 0,   /* a length runs past the data; what was read stands */
	AFGW_SMS_PDU_A_BAD_ADDRESS = 1u << 1, /* an address length out of range or its digits malformed */
	AFGW_SMS_PDU_A_UDL = 1u << 2,         /* TP-UDL says more than TP-UD holds, or more than 140 octets */
	AFGW_SMS_PDU_A_EXTRA = 1u << 3,       /* bytes after the RP user data or after TP-UD */
	AFGW_SMS_PDU_A_RESERVED = 1u << 4,    /* reserved RP-MTI, TP-MTI or TP-VPF */
};

struct afgw_sms_pdu {
	enum afgw_rp_type rp_type;
	uint8_t rp_ref;                 /* RP-Message Reference */
	struct afgw_sms_addr rp_orig;   /* RP-Originator Address: the SMSC, MT only */
	struct afgw_sms_addr rp_dest;   /* RP-Destination Address: the SMSC, MO only */
	enum afgw_tp_type tp_type;
	uint8_t tp_first;               /* first TPDU octet (MTI, UDHI, ...) */
	bool udhi;                      /* TP-UDHI: TP-UD starts with a user data header */
	uint8_t mr;                     /* TP-MR (SUBMIT) */
	struct afgw_sms_addr party;     /* TP-OA (DELIVER) or TP-DA (SUBMIT) */
	uint8_t pid, dcs;               /* TP-PID, TP-DCS */
	uint8_t udl;                    /* TP-UDL as sent: septets for GSM 7-bit, else octets */
	const uint8_t *ud;              /* TP-UD, header included: a slice into the input;
	                                 * NULL when the TPDU ends before it */
	size_t ud_len;                  /* octets of TP-UD present (0 with ud NULL) */
	uint32_t anomalies;             /* AFGW_SMS_PDU_A_* */
};

/*
 * Parse an RP message (the body of an application/vnd.3gpp.sms MESSAGE)
 * into *pdu, and the TPDU of an RP-DATA.  Returns 0 when the RP header
 * was read (check rp_type and tp_type: only a DELIVER or SUBMIT has user
 * data; anomalies say what was wrong), -EBADMSG when not even that fits
 * (fewer than 2 bytes, or an RP-MTI above 6).  Nothing is allocated;
 * pdu->ud points into p.  Thread: any.
 */
int afgw_sms_rp_parse(const uint8_t *p, size_t n, struct afgw_sms_pdu *pdu);

/* The name of one AFGW_SMS_PDU_A_* bit, for an event's anomalies. */
const char *afgw_sms_pdu_anomaly_name(uint32_t bit);

#endif
