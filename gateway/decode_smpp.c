/*
 * decode_smpp.c - SMPP 3.4 / 5.0 PDUs: one buffer, or a TCP byte stream.
 *
 * Input: the bytes of an SMPP session as the TCP reassembler hands them
 * over (afgw_smpp_feed / afgw_smpp_next), or one complete PDU
 * (afgw_smpp_parse).  Output: struct afgw_smpp_pdu, whose strings are
 * slices into the input - nothing is copied and nothing is allocated per
 * PDU.  Called by one worker thread per reader.
 *
 * Body decoding is field by field over a cursor with a sticky error flag:
 * the first missing or unterminated mandatory field records its anomaly
 * and every later read quietly yields zero, so one broken PDU reports one
 * precise cause.  A malformed body is data (anomaly bits and valid=false),
 * never an error return.
 *
 * The stream reader checks command_length and command_id of a header
 * before it waits for any body byte, so a lying length costs nothing but
 * a counter.  After a bad header, a TCP gap or a buffer overflow it is
 * "desynchronised" and slides forward one byte at a time until 16 bytes
 * look like a header a real peer would send (see plausible()).
 *
 * Deliberately not done here: text decoding (sms_text.c), concatenation
 * (sms_concat.c), any reply to the peer (generic_nack is the proxy's job),
 * and the bodies of query_sm, replace_sm, cancel_sm, alert_notification
 * and the broadcast PDUs (their headers are decoded; nothing downstream
 * scans them).
 */
#include <errno.h>
#include <stdlib.h>

#include "afgw/smpp.h"

#define HDR_LEN 16u

/* SMPP field maxima, counting the terminating NUL (SMPP 3.4 §5.2). */
#define MAX_SYSTEM_ID     16
#define MAX_PASSWORD      9
#define MAX_SYSTEM_TYPE   13
#define MAX_ADDRESS_RANGE 41
#define MAX_SERVICE_TYPE  6
#define MAX_ADDR          21
#define MAX_DATA_SM_ADDR  65
#define MAX_TIME          17
#define MAX_MESSAGE_ID    65
#define MAX_SM_LENGTH     254

/* Anomalies that make a PDU's fields untrustworthy: valid = false. */
#define INVALIDATING                                                                               \
	(AFGW_SMPP_A_TRUNCATED_BODY | AFGW_SMPP_A_UNTERMINATED_STR | AFGW_SMPP_A_BAD_SM_LENGTH |   \
	 AFGW_SMPP_A_BAD_TLV | AFGW_SMPP_A_UNKNOWN_COMMAND | AFGW_SMPP_A_BAD_DEST_FLAG)

/* Initial reader buffer; it grows towards max_pdu + AFGW_SMPP_FEED_MAX. */
#define READER_INITIAL_CAP 4096u

/* How the body of a command is decoded. */
enum body {
	B_OPAQUE,     /* known, body not decoded */
	B_EMPTY,      /* header only; anything after it is trailing_bytes */
	B_BIND,       /* bind_receiver / _transmitter / _transceiver */
	B_BIND_RESP,  /* system_id + TLVs */
	B_OUTBIND,    /* system_id, password */
	B_SM,         /* submit_sm, deliver_sm */
	B_DATA_SM,    /* data_sm */
	B_MULTI,      /* submit_multi */
	B_MSGID_RESP, /* submit_sm_resp, deliver_sm_resp, data_sm_resp */
	B_MULTI_RESP, /* submit_multi_resp */
};

/*
 * The commands we know: id, name, how the body is decoded, and the
 * smallest legal body of a successful PDU (every C-octet string empty),
 * which only sharpens the resynchronisation guess.
 */
#define COMMANDS(X)                                                                                \
	X(0x80000000u, generic_nack, B_EMPTY, 0)                                                   \
	X(0x00000001u, bind_receiver, B_BIND, 7)                                                   \
	X(0x80000001u, bind_receiver_resp, B_BIND_RESP, 1)                                         \
	X(0x00000002u, bind_transmitter, B_BIND, 7)                                                \
	X(0x80000002u, bind_transmitter_resp, B_BIND_RESP, 1)                                      \
	X(0x00000003u, query_sm, B_OPAQUE, 4)                                                      \
	X(0x80000003u, query_sm_resp, B_OPAQUE, 4)                                                 \
	X(0x00000004u, submit_sm, B_SM, 17)                                                        \
	X(0x80000004u, submit_sm_resp, B_MSGID_RESP, 1)                                            \
	X(0x00000005u, deliver_sm, B_SM, 17)                                                       \
	X(0x80000005u, deliver_sm_resp, B_MSGID_RESP, 1)                                           \
	X(0x00000006u, unbind, B_EMPTY, 0)                                                         \
	X(0x80000006u, unbind_resp, B_EMPTY, 0)                                                    \
	X(0x00000007u, replace_sm, B_OPAQUE, 0)                                                    \
	X(0x80000007u, replace_sm_resp, B_EMPTY, 0)                                                \
	X(0x00000008u, cancel_sm, B_OPAQUE, 0)                                                     \
	X(0x80000008u, cancel_sm_resp, B_EMPTY, 0)                                                 \
	X(0x00000009u, bind_transceiver, B_BIND, 7)                                                \
	X(0x80000009u, bind_transceiver_resp, B_BIND_RESP, 1)                                      \
	X(0x0000000bu, outbind, B_OUTBIND, 2)                                                      \
	X(0x00000015u, enquire_link, B_EMPTY, 0)                                                   \
	X(0x80000015u, enquire_link_resp, B_EMPTY, 0)                                              \
	X(0x00000021u, submit_multi, B_MULTI, 15)                                                  \
	X(0x80000021u, submit_multi_resp, B_MULTI_RESP, 2)                                         \
	X(0x00000102u, alert_notification, B_OPAQUE, 0)                                            \
	X(0x00000103u, data_sm, B_DATA_SM, 10)                                                     \
	X(0x80000103u, data_sm_resp, B_MSGID_RESP, 1)                                              \
	X(0x00000111u, broadcast_sm, B_OPAQUE, 0)                                                  \
	X(0x80000111u, broadcast_sm_resp, B_OPAQUE, 0)                                             \
	X(0x00000112u, query_broadcast_sm, B_OPAQUE, 0)                                            \
	X(0x80000112u, query_broadcast_sm_resp, B_OPAQUE, 0)                                       \
	X(0x00000113u, cancel_broadcast_sm, B_OPAQUE, 0)                                           \
	X(0x80000113u, cancel_broadcast_sm_resp, B_EMPTY, 0)

struct cmd {
	const char *name;
	uint8_t body;
	uint8_t min_body;
};

#define X(id, name, body, min) static const struct cmd cmd_##name = {#name, body, min};
COMMANDS(X)
#undef X

/* A switch keeps the lookup cheap (the compiler builds a search tree or a
 * table): it runs for every header and, while resynchronising, at every
 * byte offset. */
static const struct cmd *cmd_find(uint32_t id)
{
	switch (id) {
#define X(id, name, body, min)                                                                     \
	case id:                                                                                   \
		return &cmd_##name;
		COMMANDS(X)
#undef X
	default:
		return NULL;
	}
}

const char *afgw_smpp_command_name(uint32_t command_id)
{
	const struct cmd *c = cmd_find(command_id);
	return c ? c->name : NULL;
}

const char *afgw_smpp_anomaly_name(uint32_t bit)
{
	switch (bit) {
	case AFGW_SMPP_A_TRUNCATED_BODY:
		return "truncated_body";
	case AFGW_SMPP_A_UNTERMINATED_STR:
		return "unterminated_string";
	case AFGW_SMPP_A_FIELD_TOO_LONG:
		return "field_too_long";
	case AFGW_SMPP_A_BAD_SM_LENGTH:
		return "bad_sm_length";
	case AFGW_SMPP_A_BAD_TLV:
		return "bad_tlv";
	case AFGW_SMPP_A_DUPLICATE_TLV:
		return "duplicate_tlv";
	case AFGW_SMPP_A_PAYLOAD_AND_SM:
		return "payload_and_short_message";
	case AFGW_SMPP_A_UNKNOWN_COMMAND:
		return "unknown_command";
	case AFGW_SMPP_A_BAD_SAR:
		return "bad_sar";
	case AFGW_SMPP_A_TRAILING_BYTES:
		return "trailing_bytes";
	case AFGW_SMPP_A_TOO_MANY_DESTS:
		return "too_many_dests";
	case AFGW_SMPP_A_BAD_STATUS:
		return "bad_status";
	case AFGW_SMPP_A_BAD_DEST_FLAG:
		return "bad_dest_flag";
	default:
		return NULL;
	}
}

const char *afgw_smpp_reason_name(enum afgw_smpp_reason r)
{
	switch (r) {
	case AFGW_SMPP_R_BAD_LENGTH:
		return "bad_command_length";
	case AFGW_SMPP_R_UNKNOWN_ID:
		return "unknown_command_id";
	case AFGW_SMPP_R_GAP:
		return "gap";
	case AFGW_SMPP_R_OVERFLOW:
		return "overflow";
	case AFGW_SMPP_R_COUNT:
		break;
	}
	return NULL;
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- the field cursor ------------------------------------------------- */

struct cur {
	const uint8_t *p, *end;
	uint32_t anom;
	bool err; /* sticky: a mandatory field could not be read */
};

static inline void fail(struct cur *c, uint32_t anomaly)
{
	c->anom |= anomaly;
	c->err = true;
}

static inline size_t left(const struct cur *c)
{
	return (size_t)(c->end - c->p);
}

static inline uint8_t u8(struct cur *c)
{
	if (c->err)
		return 0;
	if (c->p == c->end) {
		fail(c, AFGW_SMPP_A_TRUNCATED_BODY);
		return 0;
	}
	return *c->p++;
}

/*
 * A C-octet string of at most max bytes including its NUL.  Returns the
 * slice without the NUL.  A string longer than max is kept whole up to its
 * NUL (field_too_long, informative): the NUL, not the maximum, is where the
 * sender put the next field.  No NUL before the end of the PDU: the rest of
 * the body is returned and the PDU is unterminated_string.
 */
static struct afgw_str cstr(struct cur *c, size_t max)
{
	struct afgw_str s = {NULL, 0};

	if (c->err)
		return s;
	size_t n = left(c);
	if (n == 0) {
		fail(c, AFGW_SMPP_A_TRUNCATED_BODY);
		return s;
	}
	s.p = (const char *)c->p;
	const uint8_t *nul = memchr(c->p, 0, n);
	if (!nul) {
		s.len = n;
		c->p = c->end;
		fail(c, AFGW_SMPP_A_UNTERMINATED_STR);
		return s;
	}
	s.len = (size_t)(nul - c->p);
	if (s.len >= max)
		c->anom |= AFGW_SMPP_A_FIELD_TOO_LONG;
	c->p = nul + 1;
	return s;
}

/* ton, npi, address: the SME address triple. */
static void addr(struct cur *c, struct afgw_smpp_addr *a, size_t max)
{
	a->ton = u8(c);
	a->npi = u8(c);
	a->addr = cstr(c, max);
}

/* A body without TLVs must end here. */
static void end_of_body(struct cur *c)
{
	if (!c->err && c->p != c->end)
		c->anom |= AFGW_SMPP_A_TRAILING_BYTES;
}

/* ---- TLVs ----------------------------------------------------------- */

enum {
	SEEN_PAYLOAD = 1u << 0,
	SEEN_REF = 1u << 1,
	SEEN_TOTAL = 1u << 2,
	SEEN_SEQ = 1u << 3,
	SEEN_SCIV = 1u << 4,
	SEEN_SAR_ANY = SEEN_REF | SEEN_TOTAL | SEEN_SEQ,
};

/*
 * The optional parameters up to the end of the body.  The tags we decode
 * are remembered so that a second copy is flagged (duplicate_tlv) and
 * ignored: the first one wins, as it does for most SMSCs.  Unknown tags
 * are skipped (their duplicates are not tracked).  A TLV header or value
 * running past the end stops the walk (bad_tlv).  A sar_* TLV of the wrong
 * size is ignored and counted as bad_sar.
 */
static void tlvs(struct cur *c, struct afgw_smpp_pdu *pdu)
{
	unsigned seen = 0;
	bool sar_bad = false;

	if (c->err)
		return;
	while (c->p != c->end) {
		if (left(c) < 4) {
			fail(c, AFGW_SMPP_A_BAD_TLV);
			return;
		}
		uint16_t tag = be16(c->p), len = be16(c->p + 2);
		if (len > left(c) - 4) {
			fail(c, AFGW_SMPP_A_BAD_TLV);
			return;
		}
		const uint8_t *v = c->p + 4;
		c->p = v + len;

		unsigned bit;
		switch (tag) {
		case AFGW_SMPP_TLV_MESSAGE_PAYLOAD:
			bit = SEEN_PAYLOAD;
			break;
		case AFGW_SMPP_TLV_SAR_MSG_REF_NUM:
			bit = SEEN_REF;
			break;
		case AFGW_SMPP_TLV_SAR_TOTAL_SEGMENTS:
			bit = SEEN_TOTAL;
			break;
		case AFGW_SMPP_TLV_SAR_SEGMENT_SEQNUM:
			bit = SEEN_SEQ;
			break;
		case AFGW_SMPP_TLV_SC_INTERFACE_VERSION:
			bit = SEEN_SCIV;
			break;
		default:
			continue;
		}
		if (seen & bit) {
			c->anom |= AFGW_SMPP_A_DUPLICATE_TLV;
			continue;
		}
		seen |= bit;
		switch (bit) {
		case SEEN_PAYLOAD:
			pdu->message_payload = afgw_str_make((const char *)v, len);
			pdu->has_message_payload = true;
			break;
		case SEEN_REF:
			if (len == 2)
				pdu->sar_msg_ref_num = be16(v);
			else
				sar_bad = true;
			break;
		case SEEN_TOTAL:
			if (len == 1)
				pdu->sar_total_segments = v[0];
			else
				sar_bad = true;
			break;
		case SEEN_SEQ:
			if (len == 1)
				pdu->sar_segment_seqnum = v[0];
			else
				sar_bad = true;
			break;
		case SEEN_SCIV:
			if (len == 1)
				pdu->interface_version = v[0];
			break;
		}
	}

	if (seen & SEEN_SAR_ANY) {
		if ((seen & SEEN_SAR_ANY) == SEEN_SAR_ANY && !sar_bad &&
		    pdu->sar_segment_seqnum >= 1 &&
		    pdu->sar_segment_seqnum <= pdu->sar_total_segments)
			pdu->has_sar = true;
		else
			c->anom |= AFGW_SMPP_A_BAD_SAR;
	}
}

/* ---- bodies ---------------------------------------------------------- */

static void body_bind(struct cur *c, struct afgw_smpp_pdu *pdu)
{
	pdu->system_id = cstr(c, MAX_SYSTEM_ID);
	pdu->password = cstr(c, MAX_PASSWORD);
	pdu->system_type = cstr(c, MAX_SYSTEM_TYPE);
	pdu->interface_version = u8(c);
	pdu->addr_ton = u8(c);
	pdu->addr_npi = u8(c);
	pdu->address_range = cstr(c, MAX_ADDRESS_RANGE);
	end_of_body(c);
}

/* esm_class .. short_message: shared by submit_sm, deliver_sm and
 * submit_multi.  An sm_length past the end keeps the bytes that are there
 * (so the text can still be looked at) and stops the decode. */
static void sm_fields(struct cur *c, struct afgw_smpp_pdu *pdu)
{
	pdu->esm_class = u8(c);
	pdu->protocol_id = u8(c);
	pdu->priority_flag = u8(c);
	pdu->schedule_delivery_time = cstr(c, MAX_TIME);
	pdu->validity_period = cstr(c, MAX_TIME);
	pdu->registered_delivery = u8(c);
	pdu->replace_if_present_flag = u8(c);
	pdu->data_coding = u8(c);
	pdu->sm_default_msg_id = u8(c);
	size_t n = u8(c);
	if (c->err)
		return;
	if (n > MAX_SM_LENGTH)
		c->anom |= AFGW_SMPP_A_FIELD_TOO_LONG;
	if (n > left(c)) {
		n = left(c);
		fail(c, AFGW_SMPP_A_BAD_SM_LENGTH);
	}
	pdu->short_message = afgw_str_make((const char *)c->p, n);
	c->p += n;
}

static void body_sm(struct cur *c, struct afgw_smpp_pdu *pdu)
{
	pdu->service_type = cstr(c, MAX_SERVICE_TYPE);
	addr(c, &pdu->src, MAX_ADDR);
	addr(c, &pdu->dst, MAX_ADDR);
	sm_fields(c, pdu);
	tlvs(c, pdu);
}

static void body_data_sm(struct cur *c, struct afgw_smpp_pdu *pdu)
{
	pdu->service_type = cstr(c, MAX_SERVICE_TYPE);
	addr(c, &pdu->src, MAX_DATA_SM_ADDR);
	addr(c, &pdu->dst, MAX_DATA_SM_ADDR);
	pdu->esm_class = u8(c);
	pdu->registered_delivery = u8(c);
	pdu->data_coding = u8(c);
	tlvs(c, pdu);
}

/*
 * submit_multi: number_of_dests dest_address records, each an SME address
 * (dest_flag 1: ton, npi, addr) or a distribution list name (dest_flag 2).
 * All are walked (the fields after them must be found); the first
 * AFGW_SMPP_MAX_DESTS are kept.  dst is the first SME address, wherever it
 * is.  Any other dest_flag leaves the rest of the body unlocatable.
 */
static void body_multi(struct cur *c, struct afgw_smpp_pdu *pdu)
{
	bool have_dst = false;

	pdu->service_type = cstr(c, MAX_SERVICE_TYPE);
	addr(c, &pdu->src, MAX_ADDR);
	pdu->number_of_dests = u8(c);
	if (pdu->number_of_dests > AFGW_SMPP_MAX_DESTS)
		c->anom |= AFGW_SMPP_A_TOO_MANY_DESTS;
	for (unsigned i = 0; i < pdu->number_of_dests && !c->err; i++) {
		struct afgw_smpp_addr a = {0, 0, {NULL, 0}, false};
		uint8_t flag = u8(c);
		if (flag == 1) {
			addr(c, &a, MAX_ADDR);
		} else if (flag == 2) {
			a.is_dl = true;
			a.addr = cstr(c, MAX_ADDR);
		} else if (!c->err) {
			fail(c, AFGW_SMPP_A_BAD_DEST_FLAG);
		}
		if (c->err)
			break;
		if (!a.is_dl && !have_dst) {
			pdu->dst = a;
			have_dst = true;
		}
		if (pdu->n_dests < AFGW_SMPP_MAX_DESTS)
			pdu->dests[pdu->n_dests++] = a;
	}
	sm_fields(c, pdu);
	tlvs(c, pdu);
}

/* submit_multi_resp: message_id, no_unsuccess, unsuccess_sme records
 * (ton, npi, addr, error_status_code u32), then 5.0 TLVs.  Only message_id
 * is kept; the records are walked to find the TLVs. */
static void body_multi_resp(struct cur *c, struct afgw_smpp_pdu *pdu)
{
	pdu->message_id = cstr(c, MAX_MESSAGE_ID);
	unsigned n = u8(c);
	for (unsigned i = 0; i < n && !c->err; i++) {
		struct afgw_smpp_addr a;
		addr(c, &a, MAX_ADDR);
		for (int k = 0; k < 4; k++)
			(void)u8(c);
	}
	tlvs(c, pdu);
}

/* Everything up to (not including) dests[], and everything after it: the
 * kept destinations are bounded by n_dests, so the 1 KiB array is not
 * cleared for every PDU. */
static void pdu_clear(struct afgw_smpp_pdu *pdu)
{
	_Static_assert(offsetof(struct afgw_smpp_pdu, number_of_dests) ==
	                   offsetof(struct afgw_smpp_pdu, dests) + sizeof(pdu->dests),
	               "only dests[] may be left uncleared");
	const size_t a = offsetof(struct afgw_smpp_pdu, dests);
	const size_t b = offsetof(struct afgw_smpp_pdu, number_of_dests);
	afgw_zero(pdu, a);
	afgw_zero((char *)pdu + b, sizeof(*pdu) - b);
}

/*
 * Decode one complete PDU.  Only the first command_length bytes of p are
 * looked at (len may be larger).  Returns 0 with *pdu filled (slices into
 * p), or -EBADMSG when len < 16 or command_length is < 16 or > len.  The
 * entries of pdu->dests past n_dests are left as they were.
 */
int afgw_smpp_parse(const uint8_t *p, size_t len, struct afgw_smpp_pdu *pdu)
{
	if (len < HDR_LEN)
		return -EBADMSG;
	uint32_t cl = be32(p);
	if (cl < HDR_LEN || cl > len)
		return -EBADMSG;

	pdu_clear(pdu);
	pdu->command_length = cl;
	pdu->command_id = be32(p + 4);
	pdu->command_status = be32(p + 8);
	pdu->sequence_number = be32(p + 12);
	pdu->raw = p;

	struct cur c = {p + HDR_LEN, p + cl, 0, false};
	bool resp = (pdu->command_id & AFGW_SMPP_RESP_BIT) != 0;
	const struct cmd *cmd = cmd_find(pdu->command_id);

	if (!cmd) {
		c.anom |= AFGW_SMPP_A_UNKNOWN_COMMAND;
	} else if (resp && pdu->command_status != 0 && cl == HDR_LEN) {
		/* "the PDU body is not returned if the command_status
		 * field contains a non-zero value" (SMPP 3.4, 4.4.2 et al.) */
	} else {
		if (!resp && pdu->command_status != 0)
			c.anom |= AFGW_SMPP_A_BAD_STATUS;
		switch ((enum body)cmd->body) {
		case B_OPAQUE:
			break;
		case B_EMPTY:
			end_of_body(&c);
			break;
		case B_BIND:
			body_bind(&c, pdu);
			break;
		case B_BIND_RESP:
			pdu->system_id = cstr(&c, MAX_SYSTEM_ID);
			tlvs(&c, pdu);
			break;
		case B_OUTBIND:
			pdu->system_id = cstr(&c, MAX_SYSTEM_ID);
			pdu->password = cstr(&c, MAX_PASSWORD);
			end_of_body(&c);
			break;
		case B_SM:
			body_sm(&c, pdu);
			break;
		case B_DATA_SM:
			body_data_sm(&c, pdu);
			break;
		case B_MULTI:
			body_multi(&c, pdu);
			break;
		case B_MSGID_RESP:
			pdu->message_id = cstr(&c, MAX_MESSAGE_ID);
			tlvs(&c, pdu);
			break;
		case B_MULTI_RESP:
			body_multi_resp(&c, pdu);
			break;
		}
		if (pdu->has_message_payload && pdu->short_message.len > 0)
			c.anom |= AFGW_SMPP_A_PAYLOAD_AND_SM;
	}
	pdu->anomalies = c.anom;
	pdu->valid = (c.anom & INVALIDATING) == 0;
	return 0;
}

/* ---- the stream reader ---------------------------------------------- */

/*
 * The reader's buffer holds buf[off, len): bytes fed and not yet returned
 * or skipped.  Memory bound: unconsumed bytes never exceed
 * max_pdu + AFGW_SMPP_FEED_MAX.  A caller that drains _next until -EAGAIN
 * after each feed keeps fewer than max_pdu bytes between feeds (a partial
 * PDU, or at most 15 bytes of a possible header while desynchronised), so
 * any feed of up to AFGW_SMPP_FEED_MAX bytes fits.
 *
 * Accounting: every byte accepted by _feed ends up in exactly one of
 * "returned as part of a PDU", skipped_bytes, or still buffered.
 */

static inline size_t bound(const struct afgw_smpp_reader *r)
{
	return (size_t)r->max_pdu + AFGW_SMPP_FEED_MAX;
}

/* Caller's storage; the buffer starts at 4 KiB and grows only for large
 * PDUs or large feeds.  Returns 0, -EINVAL (max_pdu < 16) or -ENOMEM; r
 * can be given to _fini either way. */
int afgw_smpp_reader_init(struct afgw_smpp_reader *r, uint32_t max_pdu)
{
	memset(r, 0, sizeof(*r));
	if (max_pdu < HDR_LEN)
		return -EINVAL;
	r->max_pdu = max_pdu;
	r->cap = READER_INITIAL_CAP;
	r->buf = malloc(r->cap);
	if (!r->buf) {
		r->cap = 0;
		return -ENOMEM;
	}
	return 0;
}

void afgw_smpp_reader_fini(struct afgw_smpp_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

void afgw_smpp_reader_reset(struct afgw_smpp_reader *r)
{
	r->len = r->off = 0;
	r->desync = false;
	memset(r->reasons, 0, sizeof(r->reasons));
	r->skipped_bytes = 0;
}

/* Throw away everything buffered; the stream position is lost. */
static void drop(struct afgw_smpp_reader *r)
{
	r->skipped_bytes += r->len - r->off;
	r->len = r->off = 0;
	r->desync = true;
}

/*
 * Append n stream bytes.  When they do not fit after buf[len], the
 * unconsumed bytes are slid to the front if the consumed prefix is at
 * least as long as they are (so each byte moved was paid for by a byte
 * consumed: amortised O(1) per byte however small the PDUs), or if the
 * buffer is already at the bound; otherwise the buffer doubles (copying
 * only the unconsumed bytes), never past the bound.
 * Returns 0, -ENOBUFS (bound exceeded: the buffered and the fed bytes are
 * dropped, the reader desynchronises) or -ENOMEM (nothing changed).
 */
int afgw_smpp_feed(struct afgw_smpp_reader *r, const uint8_t *p, size_t n)
{
	size_t live = r->len - r->off;

	if (n == 0)
		return 0;
	if (n > bound(r) - live) {
		drop(r);
		r->reasons[AFGW_SMPP_R_OVERFLOW]++;
		return -ENOBUFS;
	}
	if (live == 0)
		r->len = r->off = 0;
	if (r->cap - r->len < n) {
		if (live + n <= r->cap && (r->off >= live || r->cap >= bound(r))) {
			memmove(r->buf, r->buf + r->off, live);
		} else {
			size_t cap = r->cap ? r->cap : READER_INITIAL_CAP;
			while (cap < live + n)
				cap *= 2;
			if (cap > bound(r))
				cap = bound(r);
			uint8_t *nb = malloc(cap);
			if (!nb)
				return -ENOMEM;
			if (live)
				memcpy(nb, r->buf + r->off, live);
			free(r->buf);
			r->buf = nb;
			r->cap = cap;
		}
		r->len = live;
		r->off = 0;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	return 0;
}

void afgw_smpp_gap(struct afgw_smpp_reader *r)
{
	drop(r);
	r->reasons[AFGW_SMPP_R_GAP]++;
}

/*
 * Could these 16 bytes start a PDU a real peer sent?  Stricter than the
 * check on a synchronised stream, because while scanning every offset is
 * a candidate: known id, a length that fits the command (header-only
 * commands are exactly 16 bytes; others are at least their smallest body),
 * status 0 for a request and a plausible error code (< 0x1000, which
 * covers the SMPP ranges including 0x400-0x4ff vendor codes) for a
 * response, and a sequence number in 1..0x7fffffff.
 */
static bool plausible(const uint8_t *h, uint32_t max_pdu)
{
	uint32_t cl = be32(h), id = be32(h + 4), st = be32(h + 8), seq = be32(h + 12);

	if (cl < HDR_LEN || cl > max_pdu)
		return false;
	if (seq == 0 || seq > 0x7fffffffu)
		return false;
	const struct cmd *cmd = cmd_find(id);
	if (!cmd)
		return false;
	if (id & AFGW_SMPP_RESP_BIT) {
		if (st >= 0x1000u)
			return false;
		if (st != 0)
			return cmd->body != B_EMPTY || cl == HDR_LEN;
	} else if (st != 0) {
		return false;
	}
	if (cmd->body == B_EMPTY)
		return cl == HDR_LEN;
	return cl - HDR_LEN >= cmd->min_body;
}

/*
 * Desynchronised: slide forward to the first plausible header.  Returns
 * true with r->off on it (and the reader synchronised again), or false
 * with all but the last 15 bytes skipped (they may be the start of one).
 */
static bool resync(struct afgw_smpp_reader *r)
{
	size_t i = r->off;
	const size_t last = r->len - HDR_LEN; /* caller ensured len - off >= 16 */

	while (i <= last && !plausible(r->buf + i, r->max_pdu))
		i++;
	r->skipped_bytes += i - r->off;
	r->off = i;
	if (i > last)
		return false;
	r->desync = false;
	return true;
}

/*
 * Next complete PDU, slices into r->buf (valid until the next call on r).
 * In sync, a header is judged on its own 16 bytes - length in 16..max_pdu
 * and a known command id - before any wait for its body; a bad one is
 * counted once by reason, its first byte skipped, and the reader goes
 * desynchronised.  Desynchronised, it slides to the next plausible header
 * (resync) without counting again, and then proceeds as in sync.  Returns
 * 0 or -EAGAIN; never fails otherwise (afgw_smpp_parse cannot, for a
 * length checked here).
 */
int afgw_smpp_next(struct afgw_smpp_reader *r, struct afgw_smpp_pdu *pdu)
{
	for (;;) {
		size_t live = r->len - r->off;
		if (live < HDR_LEN)
			return -EAGAIN;
		if (r->desync) {
			if (!resync(r))
				return -EAGAIN;
			continue;
		}

		const uint8_t *h = r->buf + r->off;
		uint32_t cl = be32(h);
		if (cl < HDR_LEN || cl > r->max_pdu) {
			r->reasons[AFGW_SMPP_R_BAD_LENGTH]++;
		} else if (!cmd_find(be32(h + 4))) {
			r->reasons[AFGW_SMPP_R_UNKNOWN_ID]++;
		} else {
			if (live < cl)
				return -EAGAIN;
			r->off += cl;
			return afgw_smpp_parse(h, cl, pdu);
		}
		/* The header is garbage: its first byte cannot start a PDU. */
		r->off++;
		r->skipped_bytes++;
		r->desync = true;
	}
}
