/*
 * dissect.h - frames in, SIP messages and SMS out: the decode stage that
 * ties capture, packet, ipfrag, tcp_stream, the SIP and SMPP decoders,
 * SMS text and concatenation, and numbers together.  gateway/dissect.c.
 *
 * Every SIP message and every SMS-bearing SMPP PDU ends in exactly one
 * event (a concatenated SMS: one event for all its parts); other SMPP PDUs
 * and bytes that are not SIP or SMPP are counted by name.  The counters
 * are the decode side of "one message, one path" (DESIGN.md §2).
 * Thread: a dissector belongs to one worker.
 */
#ifndef AFGW_DISSECT_H
#define AFGW_DISSECT_H

#include "afgw/capture.h"
#include "afgw/number.h"
#include "afgw/packet.h"
#include "afgw/sip.h"
#include "afgw/smpp.h"
#include "afgw/sms.h"

#define AFGW_EVENT_MAX_ANOMALIES 48
#define AFGW_ADDR_TEXT 56

enum afgw_proto { AFGW_PROTO_SIP, AFGW_PROTO_SMPP };

/* One decoded message, handed to the event callback.  Pointers are valid
 * only during the callback. */
struct afgw_event {
	uint64_t ts_us;
	uint64_t first_tag;              /* tag of the frame that carried the first part seen
	                                    (the completing frame's for one-part messages) */
	const uint64_t *part_tags;       /* SMS: the tag of each part's frame, in part order */
	unsigned n_part_tags;
	enum afgw_proto proto;
	bool tcp;
	struct afgw_ip_addr src_ip, dst_ip; /* formatted only when written out */
	uint16_t src_port, dst_port;
	bool valid;
	unsigned n_anomalies;
	const char *anomalies[AFGW_EVENT_MAX_ANOMALIES];

	const struct afgw_sip_msg *sip;  /* SIP only */

	/* Numbers: SIP From/To/PAI user parts, or SMPP source/destination. */
	struct afgw_number from, to, pai;
	bool has_from, has_to, has_pai;
	struct afgw_str from_raw, to_raw;  /* as written (SIP: %-unescaped user part) */

	/* SMS (SMPP, or a SIP MESSAGE body) */
	bool is_sms;
	const char *op;                  /* "submit_sm", "deliver_sm", "data_sm", "submit_multi", "sip_message" */
	int data_coding;                 /* -1: not applicable */
	const char *text;                /* UTF-8, NULL for binary */
	size_t text_len;
	unsigned parts;
	bool binary;
};

typedef void (*afgw_event_fn)(void *ud, const struct afgw_event *ev);

struct afgw_dissect_config {
	unsigned country_code;           /* default 86 */
	uint16_t sip_ports[4];           /* 0-terminated; default 5060, 5080 */
	uint16_t smpp_ports[4];          /* default 2775 */
	uint32_t smpp_max_pdu;           /* default 65536 */
	unsigned max_flows;              /* TCP flows, default 65536 */
	unsigned tcp_windows;            /* out-of-order windows (memcap), default 256 */
	unsigned frag_datagrams;         /* IP datagrams in reassembly, default 256 */
	unsigned concat_messages;        /* concatenated SMS in reassembly, default 4096 */
	size_t concat_bytes;             /* their bytes, default 4 MiB */
	uint32_t concat_timeout_ms;      /* default 60 s */
	size_t sip_stream_max;           /* buffered SIP bytes per TCP direction, default 256 KiB */
};

/* Named counters; afgw_dissect_counter_name() gives the name. */
enum afgw_dissect_counter {
	AFGW_C_FRAMES,
	AFGW_C_BYTES,
	AFGW_C_NOT_IP,
	AFGW_C_NOT_UDP_TCP,
	AFGW_C_TRUNCATED,
	AFGW_C_BAD_IP,
	AFGW_C_BAD_L4,
	AFGW_C_UNSUPPORTED_LINK,
	AFGW_C_FRAGMENTS,
	AFGW_C_FRAG_REASSEMBLED,
	AFGW_C_FRAG_DROPPED,
	AFGW_C_UDP_OTHER,               /* UDP not on a SIP port and not SIP */
	AFGW_C_TCP_SEGMENTS,
	AFGW_C_TCP_OTHER_FLOWS,         /* TCP flows that are neither SIP nor SMPP */
	AFGW_C_SIP_MESSAGES,
	AFGW_C_SIP_INVALID,
	AFGW_C_SIP_KEEPALIVES,
	AFGW_C_SIP_NOT_SIP,             /* bytes on a SIP port that are not SIP */
	AFGW_C_SIP_STREAM_OVERFLOW,
	AFGW_C_SIP_SMS_PARTS,           /* SIP MESSAGEs carrying one part of a concatenated 3GPP SMS */
	AFGW_C_SIP_SMS_JOINED,          /* events made of such parts (SIP events = messages - parts + joined) */
	AFGW_C_SMS_OVER_IP,             /* SMS events from 3GPP SMS over IP, joined ones included */
	AFGW_C_SMPP_PDUS,
	AFGW_C_SMPP_INVALID,
	AFGW_C_SMPP_CONTROL,            /* binds, resps, enquire_link, unbind, ... */
	AFGW_C_SMS_PARTS,
	AFGW_C_SMS_MESSAGES,            /* events with an SMS (after reassembly) */
	AFGW_C_SMS_INCOMPLETE,          /* concatenated SMS released with parts missing */
	AFGW_C_SMS_BINARY,
	AFGW_C_SMS_BAD_UDH,
	AFGW_C_SMS_INVALID_CHARS,       /* SMS with replaced characters */
	AFGW_C_EVENTS,
	AFGW_C_COUNT
};

struct afgw_dissect;

struct afgw_dissect *afgw_dissect_new(const struct afgw_dissect_config *cfg, afgw_event_fn fn,
				      void *ud);
/* Flushes (afgw_dissect_flush) and frees; NULL is a no-op. */
void afgw_dissect_free(struct afgw_dissect *d);

/* One captured frame. */
void afgw_dissect_frame(struct afgw_dissect *d, const struct afgw_frame *f);

/* No frame, but time goes on (a live source that is quiet): release the
 * concatenated SMS and IP fragments whose time is up at now_us.  Events
 * come out as from a frame tagged tag. */
void afgw_dissect_tick(struct afgw_dissect *d, uint64_t now_us, uint64_t tag);

/* Release the concatenated SMS of key (canonical numbers, as the decoder
 * keys them) now, incomplete, as if its time were up: its event comes
 * out as from a frame tagged tag.  Returns 1, or 0 when it is not held
 * here. */
int afgw_dissect_release_sms(struct afgw_dissect *d, const struct afgw_concat_key *key,
			     uint64_t tag);

/* End of input: close TCP flows and release incomplete concatenated SMS,
 * so every message seen comes out as an event. */
void afgw_dissect_flush(struct afgw_dissect *d);

/* Counters, including the TCP, fragment, SMPP-reader and concat ones. */
void afgw_dissect_counters(const struct afgw_dissect *d, uint64_t out[AFGW_C_COUNT]);
const char *afgw_dissect_counter_name(enum afgw_dissect_counter c);

/* Extra named counters from the sub-stages, for summaries: calls fn for
 * each (name, value). */
void afgw_dissect_foreach_detail(const struct afgw_dissect *d,
				 void (*fn)(void *ud, const char *name, uint64_t v), void *ud);

void afgw_dissect_config_default(struct afgw_dissect_config *cfg);

#endif
