/*
 * sip.h - the SIP message decoder (RFC 3261), gateway/decode_sip.c.
 *
 * Input: one datagram, or the front of a TCP byte stream.  Output: a
 * struct afgw_sip_msg whose fields are slices into the input buffer
 * (nothing is copied, nothing is allocated).  Headers the screening needs
 * are located once; everything else is skipped.
 *
 * A malformed message is decoded as far as is safe, marked !valid, and its
 * problems are named in the anomaly bit set.  Ambiguous messages (duplicate
 * From/To/Call-ID/CSeq, conflicting Content-Length, junk before a header
 * colon) additionally carry AFGW_SIP_A_AMBIGUOUS: fraudsters exploit
 * parser disagreement, so we flag rather than guess.
 *
 * Thread: any; the parser keeps no state between calls.
 */
#ifndef AFGW_SIP_H
#define AFGW_SIP_H

#include "afgw/common.h"

/*
 * Anomaly bits; afgw_sip_anomaly_name() gives the JSON name.  Macros, not
 * an enum: bit 31 does not fit the int an enumerator must be in C11.
 */
#define AFGW_SIP_A_AMBIGUOUS (1u << 0)           /* "ambiguous" */
#define AFGW_SIP_A_BAD_START_LINE (1u << 1)      /* "bad_start_line" */
#define AFGW_SIP_A_BAD_VERSION (1u << 2)         /* "bad_version" */
#define AFGW_SIP_A_BAD_REQUEST_URI (1u << 3)     /* "bad_request_uri" */
#define AFGW_SIP_A_BAD_HEADER (1u << 4)          /* "bad_header" (no colon, bad name) */
#define AFGW_SIP_A_JUNK_BEFORE_COLON (1u << 5)   /* "junk_before_colon" */
#define AFGW_SIP_A_MISSING_FROM (1u << 6)        /* "missing_from" */
#define AFGW_SIP_A_MISSING_TO (1u << 7)          /* "missing_to" */
#define AFGW_SIP_A_MISSING_CALL_ID (1u << 8)     /* "missing_call_id" */
#define AFGW_SIP_A_MISSING_CSEQ (1u << 9)        /* "missing_cseq" */
#define AFGW_SIP_A_MISSING_VIA (1u << 10)        /* "missing_via" */
#define AFGW_SIP_A_DUPLICATE_FROM (1u << 11)     /* "duplicate_from" */
#define AFGW_SIP_A_DUPLICATE_TO (1u << 12)       /* "duplicate_to" */
#define AFGW_SIP_A_DUPLICATE_CALL_ID (1u << 13)  /* "duplicate_call_id" */
#define AFGW_SIP_A_DUPLICATE_CSEQ (1u << 14)     /* "duplicate_cseq" */
#define AFGW_SIP_A_CONFLICTING_CL (1u << 15)     /* "conflicting_content_length" */
#define AFGW_SIP_A_BAD_CONTENT_LENGTH (1u << 16) /* "bad_content_length" */
#define AFGW_SIP_A_BODY_TRUNCATED (1u << 17)     /* "body_truncated" (CL > bytes) */
#define AFGW_SIP_A_BODY_EXTRA (1u << 18)         /* "body_extra" (datagram, CL < bytes) */
#define AFGW_SIP_A_BAD_CSEQ (1u << 19)           /* "bad_cseq" */
#define AFGW_SIP_A_CSEQ_METHOD_MISMATCH (1u << 20) /* "cseq_method_mismatch" */
#define AFGW_SIP_A_BAD_FROM (1u << 21)           /* "bad_from" (unparsable name-addr) */
#define AFGW_SIP_A_BAD_TO (1u << 22)             /* "bad_to" */
#define AFGW_SIP_A_BAD_ESCAPE (1u << 23)         /* "bad_escape" (%-escape not 2 hex) */
#define AFGW_SIP_A_NUL_BYTE (1u << 24)           /* "nul_byte" in the header section */
#define AFGW_SIP_A_UNTERMINATED_QUOTE (1u << 25) /* "unterminated_quote" */
#define AFGW_SIP_A_TOO_MANY_HEADERS (1u << 26)   /* "too_many_headers" */
#define AFGW_SIP_A_NO_END_OF_HEADERS (1u << 27)  /* "no_end_of_headers" (datagram) */
#define AFGW_SIP_A_BAD_MAX_FORWARDS (1u << 28)   /* "bad_max_forwards" */
#define AFGW_SIP_A_BAD_VIA (1u << 29)            /* "bad_via" */
#define AFGW_SIP_A_BAD_STATUS (1u << 30)         /* "bad_status" */
#define AFGW_SIP_A_BAD_PAI (1u << 31)            /* "bad_pai" */
#define AFGW_SIP_ANOMALY_COUNT 32

/* A parsed SIP / SIPS / tel URI.  All members are slices; empty when absent. */
struct afgw_sip_uri {
	struct afgw_str scheme;   /* "sip", "sips", "tel", or another scheme */
	struct afgw_str user;     /* user part as written (may hold %-escapes) */
	struct afgw_str host;     /* host, IPv6 references with their brackets */
	struct afgw_str port;     /* digits only */
	struct afgw_str params;   /* everything after the first ';' up to '?' */
	bool user_phone;          /* ";user=phone" present */
	bool parsed;              /* the URI was recognised at all */
	bool user_plain;          /* a hint: true only if user holds no ':', ';' or '%'
	                           * (false says nothing: look at the bytes) */
};

/* A From / To / P-Asserted-Identity / Contact value. */
struct afgw_sip_nameaddr {
	struct afgw_str display;  /* display name, quotes removed, escapes kept */
	struct afgw_str uri;      /* the URI text, without '<' '>' */
	struct afgw_str tag;      /* ";tag=" value */
	struct afgw_sip_uri parsed;
	bool present;
};

struct afgw_sip_msg {
	bool is_request;
	bool valid;               /* no anomaly that makes it unusable */
	uint32_t anomalies;       /* AFGW_SIP_A_* */

	struct afgw_str method;   /* requests */
	struct afgw_str ruri;     /* requests: Request-URI text */
	struct afgw_sip_uri ruri_parsed;
	int status;               /* responses: 100..699 */
	struct afgw_str reason;   /* responses */

	struct afgw_sip_nameaddr from, to, pai, contact;
	struct afgw_str call_id;
	uint32_t cseq;
	struct afgw_str cseq_method;
	struct afgw_str user_agent;
	struct afgw_str identity;     /* STIR/SHAKEN Identity header value */
	struct afgw_str content_type;
	struct afgw_str via;          /* topmost Via value */
	long content_length;          /* -1 when absent */

	struct afgw_str body;
	size_t msg_len;               /* bytes of input this message used */
};

/*
 * Bounds on the work one message can cause: past either, the rest of the
 * header section is not read and the message carries too_many_headers.
 */
#define AFGW_SIP_MAX_HEADERS 256          /* header lines */
#define AFGW_SIP_MAX_HEADER_BYTES 65536   /* start line + headers, bytes */

/* afgw_sip_parse() flags */
#define AFGW_SIP_STREAM 1u /* input is a TCP stream: frame by Content-Length */

/*
 * Decode one SIP message at the start of buf.
 *
 * Datagram mode (flags 0): the whole buffer is the message; the body is
 * Content-Length bytes (or the rest when absent); returns 0.
 * Stream mode (AFGW_SIP_STREAM): returns -EAGAIN while the header section
 * or the body is not complete (the caller keeps the bytes and feeds more),
 * and 0 with m->msg_len set when a whole message is there.  A stream
 * message without Content-Length is framed as having an empty body
 * (RFC 3261 §18.3).  On -EAGAIN, m->msg_len is the length the message
 * will have when its header section is complete and only the body is
 * missing (feeding fewer bytes than that gives -EAGAIN again, so the
 * caller need not parse until it has them), and 0 when not yet known.
 * Returns -EBADMSG when buf does not start with anything like a SIP start
 * line (the caller skips / resynchronises); m is then unspecified.
 * CRLFs before the start line are skipped (counted in msg_len).  In
 * datagram mode msg_len ends with the Content-Length body: bytes after it
 * are flagged body_extra, not used.  A stream whose header section passes
 * AFGW_SIP_MAX_HEADER_BYTES gives 0, a !valid message with
 * too_many_headers, and msg_len up to the last whole line read.
 * Slices in *m point into buf.
 */
int afgw_sip_parse(const char *buf, size_t len, struct afgw_sip_msg *m,
		   unsigned flags);

/* JSON name of one anomaly bit, NULL for an unknown bit. */
const char *afgw_sip_anomaly_name(uint32_t bit);

/*
 * Copy a URI user part (or any slice) into out with %XX escapes decoded.
 * Returns the decoded length, or -EINVAL on a bad escape (out then holds
 * the text copied verbatim), -ENOSPC if it does not fit.  Never writes
 * more than cap bytes; does not NUL-terminate.
 */
int afgw_sip_unescape(struct afgw_str in, char *out, size_t cap);

/*
 * Find where a SIP start line might begin in a stream after a gap: returns
 * the offset of the first "SIP/2.0 " response line or "METHOD sip:"-like
 * request line at a line start, or -1.
 * Offset 0 counts as a line start, and a last line cut short by the end of
 * buf that may still become a start line is returned too (keep those
 * bytes).  After afgw_sip_parse() says -EBADMSG at p, search from p + 1.
 */
long afgw_sip_resync(const char *buf, size_t len);

#endif
