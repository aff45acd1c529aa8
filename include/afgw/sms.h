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

#endif
