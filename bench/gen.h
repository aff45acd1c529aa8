/*
 * gen.h - the pieces of afgw-gen, the signalling traffic generator.
 *
 * afgw-gen writes a classic pcap of realistic SIP and SMPP traffic and, next
 * to it, the ground truth: one JSON line per message with exactly the event
 * the decoder should print for it.  It is the independent reference the
 * decoders are checked against, so it shares no code with gateway/: every
 * byte on the wire and every canonical number in the truth is produced here.
 *
 *   afgw_gen.c     options, the simulated clock, the flows (calls, SMPP
 *                  sessions, SIP MESSAGE and SMS over IP, noise) and the
 *                  summary
 *   gen_net.c      Ethernet / VLAN / IPv4 / IPv6 / UDP / TCP framing,
 *                  fragmentation, TCP streams, packet damage, the pcap and
 *                  truth writers
 *   gen_sip.c      SIP messages and SDP bodies
 *   gen_smpp.c     SMPP 3.4 PDUs and SMS text encoding / splitting
 *   gen_sms3gpp.c  SMS over IP bodies: RP-DATA / RP-ACK (TS 24.011) and
 *                  the SMS-SUBMIT / SMS-DELIVER TPDU (TS 23.040) they carry
 *   gen_util.c     buffers, the random generator, JSON, numbers, the corpus
 *
 * Everything is reproducible from the seed: one random stream, consumed in
 * a fixed order, and no wall-clock value in any output.  The program is
 * single-threaded.  Symbols shared between these files carry the gen_
 * prefix; they never leave the executable.
 */
#ifndef AFGW_GEN_H
#define AFGW_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- growable byte buffers ------------------------------------------- */

/* Buffers are reused from message to message, so after warm-up appends
 * never allocate.  Allocation failure is fatal (a generator has nothing
 * better to do). */
struct gen_buf {
	uint8_t *p;
	size_t len, cap;
};

void gen_buf_init(struct gen_buf *b, size_t cap);
void gen_buf_fini(struct gen_buf *b);
void gen_buf_grow(struct gen_buf *b, size_t more);

static inline void gen_put(struct gen_buf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n)
		gen_buf_grow(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline void gen_puts(struct gen_buf *b, const char *s)
{
	gen_put(b, s, strlen(s));
}

static inline void gen_putc(struct gen_buf *b, char c)
{
	if (b->cap == b->len)
		gen_buf_grow(b, 1);
	b->p[b->len++] = (uint8_t)c;
}

static inline void gen_put8(struct gen_buf *b, uint8_t v)
{
	gen_putc(b, (char)v);
}

static inline void gen_put16(struct gen_buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	gen_put(b, x, 2);
}

static inline void gen_put32(struct gen_buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	gen_put(b, x, 4);
}

/* Decimal, zero-padded to at least width digits. */
void gen_putu(struct gen_buf *b, uint64_t v, unsigned width);
/* Lower-case hex of v, exactly ndigits digits. */
void gen_putx(struct gen_buf *b, uint64_t v, unsigned ndigits);
/* A JSON string literal (quotes included) for n bytes of UTF-8. */
void gen_put_json(struct gen_buf *b, const char *s, size_t n);
/* A JSON string literal, or null when s is NULL. */
void gen_put_json_or_null(struct gen_buf *b, const char *s);
/* RFC 3339 UTC with microseconds: 2026-11-21T08:00:00.123456Z */
void gen_put_time(struct gen_buf *b, uint64_t ts_us);

/* Copy a NUL-terminated string into dst[cap], truncating; always terminates. */
void gen_copy(char *dst, size_t cap, const char *src);

/* ---- random numbers --------------------------------------------------- */

/* xoshiro256**, seeded through splitmix64. */
struct gen_rng {
	uint64_t s[4];
};

void gen_rng_seed(struct gen_rng *r, uint64_t seed);
uint64_t gen_rng_next(struct gen_rng *r);
/* Uniform in [0, n), n > 0. */
uint32_t gen_rng_below(struct gen_rng *r, uint32_t n);
/* Uniform in [lo, hi]. */
uint64_t gen_rng_range(struct gen_rng *r, uint64_t lo, uint64_t hi);
/* Uniform in [0, 1). */
double gen_rng_unit(struct gen_rng *r);
/* True with probability p; draws nothing when p <= 0 or p >= 1. */
bool gen_rng_chance(struct gen_rng *r, double p);
/* Exponential with the given mean, in microseconds, at least 1. */
uint64_t gen_rng_exp(struct gen_rng *r, double mean_us);
/* Lower-case alphanumeric / hex token of n characters into out (NUL added). */
void gen_rng_token(struct gen_rng *r, char *out, size_t n, bool hex_only);
/* A stateless 64-bit mix, for numbers derived from an index. */
uint64_t gen_mix64(uint64_t x);

#define AFGW_GEN_N(a)    (sizeof(a) / sizeof((a)[0]))
#define GEN_PICK(r, arr) ((arr)[gen_rng_below((r), (uint32_t)(sizeof(arr) / sizeof((arr)[0])))])

/* ---- numbers ---------------------------------------------------------- */

enum gen_num_class {
	GEN_NUM_MOBILE,   /* +86 1[3-9]x xxxx xxxx */
	GEN_NUM_LANDLINE, /* +86 <area without 0> <local> */
	GEN_NUM_SERVICE,  /* 95588, 10086, 400xxxxxxx, 1069..., as dialled */
	GEN_NUM_INTL,     /* +<cc other than 86><nsn> */
	GEN_NUM_ALPHA,    /* SMS sender text: ICBC, JD.com */
};

/* A number known by its canonical form (DESIGN.md §6, default country 86);
 * rendered into the many forms traffic carries it in. */
struct gen_number {
	char canon[24];
	uint8_t cls;      /* enum gen_num_class */
	uint8_t cc_len;   /* E.164 classes: digits of the country code */
	uint8_t lead_len; /* digits of the first group of the national number */
};

void gen_num_mobile(struct gen_number *n, uint64_t h);
void gen_num_virtual(struct gen_number *n, uint64_t h); /* 170/171/165/167/162 */
void gen_num_landline(struct gen_number *n, uint64_t h);
void gen_num_service(struct gen_number *n, uint64_t h);
void gen_num_smsport(struct gen_number *n, uint64_t h); /* 106 SMS ports */
void gen_num_intl(struct gen_number *n, uint64_t h);    /* ordinary foreign numbers */
void gen_num_wangiri(struct gen_number *n, uint64_t h); /* premium-rate style origins */
void gen_num_alpha(struct gen_number *n, uint64_t h);

/* User part of a sip: URI (no separators): 13800138000, +8613800138000,
 * 8613800138000, 008613800138000, 075512345678, 0044..., 95588 ... */
void gen_num_sip_user(struct gen_rng *r, const struct gen_number *n, char *out, size_t cap);
/* tel: URI: the number as written in raw (possibly with visual separators,
 * possibly a local number) and the URI parameters that follow it in params
 * (";phone-context=+86" for local numbers, else ""). */
void gen_num_tel(struct gen_rng *r, const struct gen_number *n, char *raw, size_t rawcap,
                 char *params, size_t pcap);
/* SMPP address: TON, NPI and the address text. */
void gen_num_smpp(struct gen_rng *r, const struct gen_number *n, uint8_t *ton, uint8_t *npi,
                  char *out, size_t cap);

/* A TPDU address (TP-OA / TP-DA, 23.040 §9.1.2.5) as afgw-gen writes it:
 * the type-of-address octet and the digits or the alphanumeric text,
 * which is also what the decoder prints as the raw number. */
#define GEN_TOA_INTL    0x91 /* TON international, NPI ISDN: "8613800138000" */
#define GEN_TOA_UNKNOWN 0x81 /* TON unknown, NPI ISDN: national or service digits */
#define GEN_TOA_ALNUM   0xd0 /* TON alphanumeric: GSM 7-bit text */
struct gen_tp_addr {
	uint8_t toa;
	char text[24];
};

/* Render n as a TPDU address: international (digits after the +) or
 * unknown (national / service digits, or 00 + international); alpha
 * senders as text, and with alpha_ok a service number sometimes as
 * alphanumeric text too, the way banks brand "95588". */
void gen_num_tp(struct gen_rng *r, const struct gen_number *n, bool alpha_ok,
                struct gen_tp_addr *a);

/* ---- the SMS corpus --------------------------------------------------- */

enum gen_dc {
	GEN_DC_GSM7 = 0,
	GEN_DC_LATIN1 = 3,
	GEN_DC_UCS2 = 8,
};

/* One text, with its SMS encoding worked out once at load time. */
struct gen_text {
	const char *id, *label, *category, *lang;
	const char *text; /* UTF-8, escapes resolved */
	size_t len;
	bool fraud;
	uint8_t dc;           /* enum gen_dc */
	uint8_t unit;         /* bytes per splitting unit: 1, or 2 for UCS-2 */
	const uint8_t *units; /* short_message bytes: unpacked septets, Latin-1, or UTF-16BE */
	size_t nbytes;
	size_t nunits; /* in septets (escapes count 2), octets, or UTF-16 units */
};

struct gen_corpus {
	struct gen_text *t;
	size_t n;
	uint32_t *fraud, *legit; /* indices by label */
	size_t nfraud, nlegit;
	char *text_store;
	uint8_t *unit_store;
	size_t skipped; /* lines that were not usable */
};

/* Load a corpus TSV (see tests/data/sms_corpus.tsv).  Returns 0, or a
 * negative errno with a message on stderr naming the file and line. */
int gen_corpus_load(struct gen_corpus *c, const char *path);
/* A small built-in corpus, used when the default file does not exist. */
void gen_corpus_builtin(struct gen_corpus *c);
void gen_corpus_free(struct gen_corpus *c);

/* SMS encoding (gen_smpp.c).  Encode UTF-8 text: picks the data_coding
 * (0 when every character is in the GSM 03.38 default alphabet or its
 * extension table, 3 when all are Latin-1, else 8) and appends the
 * short_message bytes to out.  Sets *nunits as in struct gen_text. */
uint8_t gen_sms_encode(const char *s, size_t n, struct gen_buf *out, size_t *nunits);
/* Split a text's units into parts of at most per_part units without
 * cutting an escape or a surrogate pair: part i is bytes [cuts[i],
 * cuts[i+1]) of t->units (cuts has maxparts + 1 entries).  Returns the
 * number of parts, or 0 when more than maxparts would be needed. */
unsigned gen_sms_split(const struct gen_text *t, unsigned per_part, size_t *cuts,
                       unsigned maxparts);

/* ---- network and output ---------------------------------------------- */

enum gen_proto {
	GEN_PROTO_SIP,
	GEN_PROTO_SMPP,
};

/* Damage kinds for --bad; the names are in gen_bad_name(). */
enum gen_bad {
	GEN_BAD_NONE = 0,
	GEN_BAD_TRUNCATED,       /* caplen < len on the completing packet */
	GEN_BAD_IP_LENGTH,       /* IPv4 total / IPv6 payload length lies */
	GEN_BAD_UDP_LENGTH,      /* UDP length lies */
	GEN_BAD_SMPP_LENGTH,     /* SMPP command_length lies */
	GEN_BAD_SIP_NO_COLON,    /* a header line without a colon */
	GEN_BAD_SIP_DUP_FROM,    /* a second From with another value */
	GEN_BAD_SIP_CONFLICT_CL, /* two Content-Length values */
	GEN_BAD_SIP_JUNK_COLON,  /* "From xx: ..." */
	GEN_BAD_SIP_NUL,         /* a NUL byte in a header value */
	GEN_BAD_TCP_GARBAGE,     /* the message's bytes replaced by random bytes */
	GEN_BAD_AFTER_DAMAGE,    /* not damaged itself, but follows stream-breaking
	                          * damage on the same TCP connection */
	GEN_BAD_COUNT
};

const char *gen_bad_name(unsigned kind);

enum gen_pattern {
	GEN_PAT_NORMAL,
	GEN_PAT_WANGIRI,
	GEN_PAT_MASS_CALL,
	GEN_PAT_BLACKLISTED,
};

/* The generator's labels for the "truth" object of a message. */
struct gen_label {
	const struct gen_text *text; /* corpus entry, or NULL */
	uint8_t pattern;             /* enum gen_pattern */
};

/* One message handed to the network layer. */
struct gen_msg {
	const uint8_t *data;
	size_t len;
	uint8_t proto;      /* enum gen_proto */
	uint8_t bad;        /* enum gen_bad: chosen by the flow, may be
	                     * raised to TRUNCATED / AFTER_DAMAGE by the
	                     * network layer */
	uint8_t *group_bad; /* parts of one SMS: the first damage of any
	                     * part is kept here and reported on the line */
	const char *fields; /* JSON members ",\"k\":v..." for the truth
	                     * line, or NULL: this message has no line */
	size_t fields_len;
	const struct gen_label *label;
};

struct gen_ep {
	uint8_t ip[16]; /* IPv4 in the first 4 bytes */
	uint16_t port;
	uint8_t mac[6];
	char text[64]; /* "10.1.2.3:5060" or "[fd00::1]:5060" */
	char host[48]; /* "10.1.2.3" or "[fd00::1]" for SIP */
	char addr[48]; /* "10.1.2.3" or "fd00::1" for SDP */
};

/* Both ends of a flow and how its frames look on the wire.  ep[0] is the
 * initiator.  Mutable: IPv4 identification counters live here. */
struct gen_path {
	struct gen_ep ep[2];
	bool v6;
	uint8_t nvlan;    /* 0, 1 (802.1Q) or 2 (0x88a8 outer, QinQ) */
	uint16_t vlan[2]; /* outer first */
	uint32_t flow_label;
	uint8_t ttl[2];
	uint8_t tos;
	uint16_t ipid[2];
};

struct gen_tcp {
	struct gen_path path;
	uint32_t seq[2]; /* next sequence number of each direction */
	uint16_t win[2];
	bool broken; /* stream-breaking damage happened */
};

struct gen_net_opts {
	unsigned mtu;            /* IP MTU, IPv6 paths use at least 1280 */
	unsigned mss;            /* upper bound on TCP payload per segment */
	double reorder, retrans; /* --tcp-reorder, --tcp-retrans */
	double tcp_split;        /* extra split of a write at a random offset */
};

struct gen_net_stats {
	uint64_t packets, bytes, fragments, retrans, reordered, truncated;
	uint64_t messages, sip, sms, truth_lines, bad;
};

struct gen_net;

/* Open the outputs (truth_path may be NULL); the pcap header is written at
 * once.  Returns NULL with a message on stderr. */
struct gen_net *gen_net_open(const char *pcap_path, const char *truth_path,
                             const struct gen_net_opts *o, struct gen_rng *rng);
/* Write every pending packet, close the files.  Returns 0, or -EIO with a
 * message on stderr.  Frees n in either case. */
int gen_net_close(struct gen_net *n, struct gen_net_stats *st);

/* Packets are built into a time-ordered queue; this writes every packet
 * stamped at or before upto.  Call it before running anything at upto. */
void gen_net_flush(struct gen_net *n, uint64_t upto);

/* One UDP datagram from ep[dir] at time t, fragmented when it exceeds the
 * MTU.  The truth line (if any) carries the time of the last fragment. */
void gen_udp_send(struct gen_net *n, struct gen_path *p, int dir, struct gen_msg *m, uint64_t t);

/* SYN, SYN-ACK, ACK from t; returns the time the client may send data. */
uint64_t gen_tcp_open(struct gen_net *n, struct gen_tcp *c, uint64_t t);
/* One write of nm messages from ep[dir] at time t: segmented by MSS and at
 * random offsets, possibly reordered and retransmitted, acknowledged by the
 * peer.  Returns the time of the last data segment. */
uint64_t gen_tcp_send(struct gen_net *n, struct gen_tcp *c, int dir, struct gen_msg *m, size_t nm,
                      uint64_t t);
/* FIN from ep[dir] at t, the peer's FIN, the last ACK. */
void gen_tcp_close(struct gen_net *n, struct gen_tcp *c, int dir, uint64_t t);

/* ---- SIP builder (gen_sip.c) ----------------------------------------- */

/* A URI with a number in its user part, as one side of a dialog shows it. */
struct gen_sip_id {
	struct gen_number num;
	char uri[160];    /* URI text, without <> */
	char raw[40];     /* user part / tel number as written */
	char display[64]; /* display name as written (quotes included), or "" */
	bool addr_spec;   /* written without <> */
};

/* Render number n as a SIP identity: sip: or tel:, form chosen at random,
 * host is the domain or address for sip: URIs. */
void gen_sip_id_make(struct gen_rng *r, struct gen_sip_id *id, const struct gen_number *n,
                     const char *host, bool with_display, bool allow_tel);

/* The SMS members of an SMS over IP event.  A NULL number stays the SIP
 * header's: the decoder takes the TPDU's party (TP-OA of a DELIVER, TP-DA
 * of a SUBMIT) and the SIP header's for the other side. */
struct gen_sms_fields {
	const char *from, *from_raw, *to, *to_raw; /* canonical and as written */
	uint8_t data_coding;                       /* TP-DCS */
	const char *text;
	size_t text_len;
	unsigned parts;
};

struct gen_sip_spec {
	bool request;
	const char *method; /* request method; for responses the CSeq method */
	int status;
	const char *reason;
	const char *ruri;
	const char *via[2]; /* Via values, top first; via[1] may be NULL */
	const struct gen_sip_id *from, *to;
	const char *from_tag, *to_tag; /* to_tag may be NULL */
	const char *call_id;
	uint32_t cseq;
	const char *contact;    /* Contact value (with <>), or NULL */
	const char *user_agent; /* User-Agent value, or NULL */
	const char *server;     /* Server value, or NULL */
	const struct gen_sip_id *pai;
	const char *extra;        /* more header lines, each ending "\r\n", or NULL */
	const char *content_type; /* with body */
	const uint8_t *body;
	size_t body_len;
	bool compact;                     /* compact header names */
	bool lower;                       /* lower-case header names */
	bool space_colon;                 /* "Max-Forwards : 70" (legal) */
	bool sip_message_text;            /* add the SMS members for a SIP MESSAGE */
	const struct gen_sms_fields *sms; /* SMS over IP: its members instead */
	uint8_t damage;                   /* content damage (enum gen_bad) */
	uint16_t allow_set;               /* index into the Allow / Supported variants */
};

/* The members of the one event a concatenated SMS over IP makes: no SIP
 * header field (it was several SIP messages), every number given. */
void gen_sms_fields_put(struct gen_buf *f, const struct gen_sms_fields *sms);

/* Build the message into msg and its truth members into fields (both are
 * appended to).  Nothing else is touched; the caller sends it. */
void gen_sip_build(struct gen_rng *r, const struct gen_sip_spec *s, struct gen_buf *msg,
                   struct gen_buf *fields);

/* An SDP offer or answer for address ep; big makes it > 1500 bytes with
 * many codecs and attributes. */
void gen_sdp_build(struct gen_rng *r, struct gen_buf *out, const struct gen_ep *ep, bool v6,
                   bool big, bool answer);

/* A User-Agent / Server value from a set of vendors. */
const char *gen_sip_vendor(struct gen_rng *r);

/* ---- SMPP builder (gen_smpp.c) --------------------------------------- */

#define GEN_SMPP_BIND_TRANSMITTER 0x00000002u
#define GEN_SMPP_SUBMIT_SM        0x00000004u
#define GEN_SMPP_DELIVER_SM       0x00000005u
#define GEN_SMPP_UNBIND           0x00000006u
#define GEN_SMPP_BIND_TRANSCEIVER 0x00000009u
#define GEN_SMPP_ENQUIRE_LINK     0x00000015u
#define GEN_SMPP_DATA_SM          0x00000103u
#define GEN_SMPP_RESP             0x80000000u /* or-ed into a request's id */

struct gen_smpp_addr {
	struct gen_number num;
	uint8_t ton, npi;
	char addr[24];
};

/* How one SMS travels: whole, split with a UDH, split with sar_* TLVs, or
 * whole in a message_payload TLV. */
enum gen_sms_method {
	GEN_SMS_SINGLE,
	GEN_SMS_UDH8,
	GEN_SMS_UDH16,
	GEN_SMS_SAR,
	GEN_SMS_PAYLOAD,
};

/* Units per part for a concatenated SMS sent with method m. */
unsigned gen_sms_per_part(const struct gen_text *t, unsigned method);

/* Header-only PDUs and simple bodies; each appends one whole PDU. */
void gen_smpp_bind(struct gen_buf *b, uint32_t cmd, uint32_t seq, const char *system_id,
                   const char *password, const char *system_type);
void gen_smpp_resp_id(struct gen_buf *b, uint32_t cmd, uint32_t seq, const char *id);
void gen_smpp_empty(struct gen_buf *b, uint32_t cmd, uint32_t seq);

/* One part (or the whole) of an SMS as submit_sm / deliver_sm / data_sm. */
struct gen_smpp_sm {
	uint32_t cmd, seq;
	const struct gen_smpp_addr *src, *dst;
	const struct gen_text *text;
	unsigned method; /* enum gen_sms_method */
	size_t off, len; /* bytes of text->units in this part */
	uint16_t ref;
	uint8_t total, seqnum;
	uint8_t registered_delivery;
	const char *service_type;
};

void gen_smpp_sm(struct gen_buf *b, const struct gen_smpp_sm *s);

/* Make an SMPP PDU lie about its length (--bad). */
void gen_smpp_lie_length(struct gen_rng *r, uint8_t *pdu, size_t len);

/* ---- SMS over IP builder (gen_sms3gpp.c) ------------------------------ */

/* How a corpus text goes into a TPDU: its GSM 7-bit septets packed
 * (TP-DCS 0x00), its UTF-16BE as stored (0x08), or its Latin-1 bytes
 * widened to UTF-16BE (0x08: TP-DCS has no Latin-1). */
enum gen_tp_enc {
	GEN_TP_GSM7,
	GEN_TP_UCS2,
	GEN_TP_LATIN1,
};

/* TP-DCS for an encoding. */
uint8_t gen_tp_dcs(unsigned enc);

/* Encoding and parts of text t as SMS over IP: one part when it fits in
 * 160 septets / 70 UTF-16 units, else parts behind an 8-bit (ref16:
 * 16-bit) reference UDH, never cutting an escape or a surrogate pair;
 * part i is bytes [cuts[i], cuts[i+1]) of t->units.  Returns the number
 * of parts, or 0 when more than maxparts would be needed. */
unsigned gen_tp_plan(const struct gen_text *t, bool ref16, uint8_t *enc, size_t *cuts,
                     unsigned maxparts);

/* One RP-DATA (24.011 §7.3.1) carrying one SMS-DELIVER (mt: network to
 * phone, RP-OA = the SC) or SMS-SUBMIT (phone to network, RP-DA = the
 * SC) with part [off, off + len) of a text's units. */
struct gen_rp_data {
	bool mt;
	uint8_t rp_mr, tp_mr;            /* RP-Message Reference; TP-MR (SUBMIT) */
	const char *smsc;                /* the SC's E.164 digits, without '+' */
	const struct gen_tp_addr *party; /* TP-OA (DELIVER) or TP-DA (SUBMIT) */
	uint8_t vpf, vp;                 /* SUBMIT: TP-VPF 0 (none) or 2 (relative), TP-VP */
	bool srr;                        /* SUBMIT: TP-SRR, a status report is asked for */
	uint64_t scts_us;                /* DELIVER: TP-SCTS, written as China local time */
	const struct gen_text *text;
	uint8_t enc;        /* enum gen_tp_enc */
	size_t off, len;    /* bytes of text->units */
	bool concat, ref16; /* a UDH with IE 0x00 (8-bit) or 0x08 (16-bit ref) */
	uint16_t ref;
	uint8_t total, seq;
};

void gen_rp_data(struct gen_buf *b, const struct gen_rp_data *d);

/* An RP-ACK (24.011 §7.3.3) for RP-Message Reference mr: from the network
 * (RP-MTI 3, after an SMS-SUBMIT) or from the phone (RP-MTI 2, after an
 * SMS-DELIVER); with report, RP-User-Data with an SMS-SUBMIT-REPORT
 * (TP-SCTS scts_us) or SMS-DELIVER-REPORT. */
void gen_rp_ack(struct gen_buf *b, bool from_network, uint8_t mr, bool report, uint64_t scts_us);

#endif
