/*
 * afgw_gen.c - afgw-gen: realistic SIP and SMPP signalling traffic, with
 * ground truth, for testing and benchmarking the decoders.
 *
 * A simulated clock starts at --start.  New activity arrives as a Poisson
 * process sized so that messages come at --rate per second on average;
 * each activity is a flow (a call dialog, a burst of Wangiri calls, a mass
 * calling run, an SMPP session with its SMS, a SIP MESSAGE, OPTIONS or
 * REGISTER noise) that plans its whole message count up front and then
 * runs as a small state machine on an event heap, so many dialogs and
 * sessions interleave as they would on a real signalling link.  -n is
 * exact: flows are only started while their planned messages fit, and the
 * last few slots are filled with short transactions.
 *
 * The shares asked for (--sms, --wangiri, --mass-call) are kept by error
 * diffusion with some noise: the generator starts whichever kind is behind
 * its target, most of the time.  The per-flow shares (--tcp, --ipv6,
 * --vlan, --blacklisted, --fraud, --bad) are independent draws.
 *
 * A SIP MESSAGE SMS is text/plain, or (share --sms-3gpp) SMS over IP as a
 * VoLTE phone and an IMS core send it (TS 24.341): an RP-DATA carrying an
 * SMS-SUBMIT from the phone to its SC, or an SMS-DELIVER from the SC to
 * the phone (gen_sms3gpp.c), GSM 7-bit or UCS-2, a long text in parts
 * that each are a MESSAGE of their own, and about half of them answered
 * by an RP-ACK in a MESSAGE from the other side.  Its truth line is the
 * event the decoder makes: the TPDU's party in place of the SIP header
 * that names the SC, and for a concatenated SMS one line for the joined
 * message, with no SIP header fields, on its last part.
 *
 * Every random choice comes from one stream seeded by --seed and consumed
 * in event order, so the same seed and flags give byte-identical files.
 * Writing the truth file or not does not change the capture.
 *
 * The decoders are not used here (this program is the reference they are
 * checked against): SIP, SMPP, SMS encodings, numbers and framing are all
 * written from the specifications in gen_*.c.
 */
#include "gen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <time.h>

#include "afgw_config.h"

#define DEFAULT_CORPUS AFGW_SOURCE_DIR "/tests/data/sms_corpus.tsv"
#define DEFAULT_START  "2026-11-21T08:00:00Z"
#define BLACKLIST_SIZE 256
#define SUBSCRIBERS    200000
#define MAX_OPS        40
#define MAX_PARTS      16
#define NBUF           (MAX_PARTS + 4)
/* The other side answers no sooner than this after a write's last
 * segment, so its ACK numbers never run ahead of what was sent. */
#define MIN_TURN_US 500

struct opts {
	uint64_t n, seed;
	const char *out, *truth, *blacklist_out, *corpus;
	uint64_t start_us;
	double rate;
	double sms, sip_sms, sms_3gpp, tcp, ipv6, vlan, fraud, blacklisted, wangiri, mass_call, bad;
	double reorder, retrans, big_sdp, tcp_split;
	unsigned mtu, mss;
	bool quiet;
};

/* ---- flows ---------------------------------------------------------------- */

enum flow_kind { F_SPAWN, F_CALL, F_OPTIONS, F_REGISTER, F_MESSAGE, F_SMPP, F_SMS3GPP };

/* What a call dialog sends, in order. */
enum cm {
	CM_INVITE,
	CM_100,
	CM_180,
	CM_200_INV,
	CM_ACK,
	CM_BYE,
	CM_200_BYE,
	CM_CANCEL,
	CM_200_CANCEL,
	CM_487,
	CM_ERR,
	CM_ACK_ERR,
	CM_CLOSE,
};

struct step {
	uint64_t at;
	uint8_t what;
	bool with_next; /* TCP: written together with the next step */
};

struct call {
	struct gen_sip_id caller, callee, pai;
	bool has_pai, big_sdp, bye_from_callee, two_vias;
	uint16_t err_status;
	char ruri[176];
	char call_id[96];
	char ftag[16], ttag[16];
	char via_a[128], via_p[128];
	char contact_a_uri[128], contact_b_uri[128];
	char contact_a[144], contact_b[144];
	const char *ua_a, *ua_b;
	uint8_t resp_hdr; /* 0 none, 1 User-Agent, 2 Server in responses */
	uint8_t allow_a, allow_b;
	uint32_t cseq_a, cseq_b;
	char bye_via[128];
	struct step script[10];
	uint8_t nstep, cur;
};

struct smpp_op {
	uint8_t kind;   /* OP_* */
	uint8_t method; /* enum gen_sms_method */
	uint8_t parts;
	bool burst; /* all parts in one write, all responses in one */
	uint8_t pattern;
	uint32_t text; /* corpus index */
};

enum { OP_SUBMIT, OP_DELIVER, OP_DATA, OP_ENQUIRE };

struct smpp {
	uint32_t bind_cmd;
	const char *system_id, *password, *system_type, *smsc_id;
	uint32_t seq_esme, seq_smsc, ref;
	double gap_us;
	struct smpp_op ops[MAX_OPS];
	uint8_t nops, cur, part, phase;
	bool enquire_from_smsc;
	/* the SMS in progress */
	struct gen_smpp_addr src, dst;
	struct gen_label label;
	uint8_t group_bad;
	uint32_t part_seq[MAX_PARTS];
	size_t cuts[MAX_PARTS + 1];
	uint16_t cur_ref;
};

enum { P_BIND, P_BIND_RESP, P_OP, P_OP_RESP, P_UNBIND, P_UNBIND_RESP, P_CLOSE };

struct simple { /* OPTIONS, REGISTER, MESSAGE */
	struct gen_sip_id a, b;
	char call_id[96], ftag[16], ttag[16], via[128], contact[144], ruri[176];
	const char *ua;
	uint32_t cseq, text;
	uint8_t step, nstep;
	uint16_t status;
	bool pai;
	struct gen_sip_id pai_id;
};

/* What an SMS over IP flow sends for each part: the RP-DATA MESSAGE and
 * its 202, then, when the part is acknowledged, the RP-ACK MESSAGE from
 * the other side and its 200 / 202. */
enum { S3_DATA, S3_DATA_RESP, S3_ACK, S3_ACK_RESP };

struct sms3gpp { /* one SMS over IP, all its parts, between a phone's core and its SC */
	struct gen_sip_id ue, sc, pai_id; /* the phone's IMPU, the SC's PSI, P-Asserted-Identity */
	struct gen_number party;          /* the recipient (MO) or the sender (MT) ... */
	struct gen_tp_addr tp;            /* ... as the TPDU writes it: TP-DA or TP-OA */
	char ue_ruri[176];
	const char *smsc; /* the SC's E.164 digits */
	const char *ua[2];
	char call_id[96], ftag[16], ttag[16], via[128]; /* the transaction in progress */
	size_t cuts[MAX_PARTS + 1];
	uint64_t scts_us;
	uint32_t text, cseq[2];
	uint16_t ref, acks, ack_status; /* acks: bit p, part p gets an RP-ACK */
	uint8_t enc, nparts, part, phase, rp_mr, tp_mr, vpf, vp, group_bad;
	bool mt, ref16, srr, pai, report;
};

struct flow {
	uint8_t kind;
	bool tcp;
	struct gen_tcp conn;    /* the path lives here for UDP flows too */
	struct gen_label label; /* calls: pattern only */
	union {
		struct call call;
		struct smpp smpp;
		struct simple simple;
		struct sms3gpp sms3gpp;
	} u;
	struct flow *next_free;
};

enum role { R_CORE, R_SMSC, R_ESME, R_UE };

struct ev {
	uint64_t t, seq;
	struct flow *f;
};

struct gen {
	struct opts o;
	struct gen_rng rng;
	struct gen_net *net;
	struct gen_corpus corpus;
	struct gen_number blacklist[BLACKLIST_SIZE];
	size_t nblack;
	uint64_t subs_key;

	struct ev *heap;
	size_t nheap, heap_cap;
	uint64_t evseq;
	struct flow *free_flows;
	struct flow spawner;
	uint64_t now;

	uint16_t port_next[2][R_UE + 1][32]; /* next client port per host */
	uint64_t reserved, sms_reserved, calls, wangiri_calls, mass_calls;
	uint64_t planned_sms, planned_sip_sms; /* SMS events planned, and via SIP */

	struct gen_buf mb[NBUF], fb[NBUF], body;
	struct gen_msg m[NBUF];

	uint64_t sms_events, sip_sms, sip_3gpp, smpp_sms, concat_sms, payload_sms, dc_count[3];
	uint64_t calls_started, smpp_sessions;
};

static void oom(void)
{
	fputs("afgw-gen: out of memory\n", stderr);
	exit(1);
}

/* ---- event heap ------------------------------------------------------------ */

static bool ev_before(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void schedule(struct gen *g, struct flow *f, uint64_t t)
{
	struct ev e = {t, g->evseq++, f};

	if (g->nheap == g->heap_cap) {
		g->heap_cap = g->heap_cap ? g->heap_cap * 2 : 1024;
		g->heap = realloc(g->heap, g->heap_cap * sizeof(*g->heap));
		if (!g->heap)
			oom();
	}
	size_t i = g->nheap++;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!ev_before(&e, &g->heap[up]))
			break;
		g->heap[i] = g->heap[up];
		i = up;
	}
	g->heap[i] = e;
}

static struct ev pop_event(struct gen *g)
{
	struct ev top = g->heap[0], last = g->heap[--g->nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= g->nheap)
			break;
		if (c + 1 < g->nheap && ev_before(&g->heap[c + 1], &g->heap[c]))
			c++;
		if (!ev_before(&g->heap[c], &last))
			break;
		g->heap[i] = g->heap[c];
		i = c;
	}
	if (g->nheap)
		g->heap[i] = last;
	return top;
}

static struct flow *flow_new(struct gen *g, uint8_t kind)
{
	struct flow *f = g->free_flows;

	if (f)
		g->free_flows = f->next_free;
	else if (!(f = malloc(sizeof(*f))))
		oom();
	memset(f, 0, offsetof(struct flow, u));
	f->kind = kind;
	return f;
}

static void flow_free(struct gen *g, struct flow *f)
{
	f->next_free = g->free_flows;
	g->free_flows = f;
}

/* ---- hosts and paths ------------------------------------------------------ */

/* The network: a few dozen core SIP nodes, SMSCs, ESMEs, and a large space
 * of user equipment, in 10/8 and fd00::/8. */
static void make_ep(struct gen_ep *ep, enum role role, uint64_t idx, bool v6, uint16_t port)
{
	/* The text fields are filled through gen_bufs over fixed arrays (here
	 * and in the make_* helpers below); every one is sized for its
	 * longest value, so they never grow. */
	static const uint8_t v4net[] = {10, 40, 50, 128};
	uint64_t h = gen_mix64(idx * 4 + role + 0x5eed);

	memset(ep, 0, sizeof(*ep));
	if (v6) {
		static const uint8_t pfx[6] = {0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a};
		memcpy(ep->ip, pfx, 6);
		ep->ip[6] = (uint8_t)(role == R_UE ? 0x80 : 0);
		ep->ip[7] = (uint8_t)(0x10 * (role + 1));
		if (role == R_UE) {
			for (int i = 8; i < 16; i++)
				ep->ip[i] = (uint8_t)(h >> (8 * (i - 8)));
		} else {
			ep->ip[15] = (uint8_t)(0x10 + idx);
		}
		char a[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, ep->ip, a, sizeof(a));
		gen_copy(ep->addr, sizeof(ep->addr), a);
		ep->host[0] = '[';
		gen_copy(ep->host + 1, sizeof(ep->host) - 2, a);
		size_t hl = strlen(ep->host);
		ep->host[hl] = ']';
		ep->host[hl + 1] = '\0';
	} else {
		ep->ip[0] = 10;
		if (role == R_UE) {
			ep->ip[1] = (uint8_t)(128 + (h & 63));
			ep->ip[2] = (uint8_t)(h >> 8);
			ep->ip[3] = (uint8_t)(1 + (h >> 16) % 254);
		} else {
			ep->ip[1] = (uint8_t)(v4net[role] + idx % 4);
			ep->ip[2] = (uint8_t)(idx / 4 % 8);
			ep->ip[3] = (uint8_t)(10 + idx % 200);
		}
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, ep->ip, a, sizeof(a));
		gen_copy(ep->addr, sizeof(ep->addr), a);
		gen_copy(ep->host, sizeof(ep->host), a);
	}
	ep->port = port;
	ep->mac[0] = 0x02;
	ep->mac[1] = (uint8_t)role;
	for (int i = 2; i < 6; i++)
		ep->mac[i] = (uint8_t)(h >> (8 * i + 16));

	struct gen_buf b = {(uint8_t *)ep->text, 0, sizeof(ep->text)};
	/* fits: 41 for the address, 8 for brackets, colon and port */
	gen_puts(&b, ep->host);
	gen_putc(&b, ':');
	gen_putu(&b, port, 1);
	ep->text[b.len] = '\0';
}

static void make_path(struct gen *g, struct gen_path *p, enum role ra, uint64_t ia, uint16_t pa,
                      enum role rb, uint64_t ib, uint16_t pb, bool v6, uint8_t tos)
{
	memset(p, 0, sizeof(*p));
	make_ep(&p->ep[0], ra, ia, v6, pa);
	make_ep(&p->ep[1], rb, ib, v6, pb);
	p->v6 = v6;
	if (gen_rng_chance(&g->rng, g->o.vlan)) {
		p->nvlan = gen_rng_chance(&g->rng, 0.2) ? 2 : 1;
		p->vlan[0] = (uint16_t)gen_rng_range(&g->rng, 10, 200);
		p->vlan[p->nvlan - 1] = (uint16_t)((3u << 13) | gen_rng_range(&g->rng, 100, 4000));
	}
	p->flow_label = (uint32_t)gen_rng_below(&g->rng, 1u << 20);
	static const uint8_t ttls[] = {64, 63, 62, 128, 127, 255, 254};
	p->ttl[0] = GEN_PICK(&g->rng, ttls);
	p->ttl[1] = GEN_PICK(&g->rng, ttls);
	p->tos = tos;
	p->ipid[0] = (uint16_t)gen_rng_next(&g->rng);
	p->ipid[1] = (uint16_t)gen_rng_next(&g->rng);
}

static void make_tcp(struct gen *g, struct flow *f)
{
	f->conn.win[0] = (uint16_t)gen_rng_range(&g->rng, 500, 65535);
	f->conn.win[1] = (uint16_t)gen_rng_range(&g->rng, 500, 65535);
}

/*
 * A client port for a new TCP connection from host (role, idx, v6).  Like
 * an OS, each host hands its ports out in turn from a random start, so two
 * live connections never share a 4-tuple: a port comes round again only
 * after 28,232 newer connections from the same host, long after any call
 * or session has ended.  User equipment addresses are random, so their
 * ports can be too.
 */
static uint16_t ephemeral(struct gen *g, enum role role, uint64_t idx, bool v6)
{
	if (role == R_UE || idx >= AFGW_GEN_N(g->port_next[0][0]))
		return (uint16_t)gen_rng_range(&g->rng, 32768, 60999);
	uint16_t *next = &g->port_next[v6][role][idx];
	if (*next == 0)
		*next = (uint16_t)gen_rng_range(&g->rng, 32768, 60999);
	else if (*next > 60999)
		*next = 32768;
	uint16_t port = (*next)++;
	return port;
}

/*
 * f's path between two different core nodes picked at random, the far
 * side on 5060 (an ephemeral port on the near one over TCP).  Calls,
 * MESSAGE / OPTIONS transactions and SMS over IP all take it; the random
 * draws are those each of them made before.
 */
static void core_path(struct gen *g, struct flow *f, bool v6)
{
	struct gen_rng *r = &g->rng;
	uint32_t a = gen_rng_below(r, 24), b = (a + 1 + gen_rng_below(r, 23)) % 24;
	uint16_t port = f->tcp ? ephemeral(g, R_CORE, a, v6) : 5060;
	make_path(g, &f->conn.path, R_CORE, a, port, R_CORE, b, 5060, v6, 0x68);
}

/* ---- numbers ---------------------------------------------------------- */

static void subscriber(struct gen *g, struct gen_number *n)
{
	gen_num_mobile(n, g->subs_key ^ gen_rng_below(&g->rng, SUBSCRIBERS));
}

static void blacklisted(struct gen *g, struct gen_number *n)
{
	*n = g->blacklist[gen_rng_below(&g->rng, (uint32_t)g->nblack)];
}

/* A fixed pool: the same numbers whatever the seed, so one blacklist file
 * serves every capture. */
static void make_blacklist(struct gen *g)
{
	for (uint64_t i = 0; g->nblack < BLACKLIST_SIZE; i++) {
		struct gen_number n;
		uint64_t h = gen_mix64(0xb1ac0000u + i);
		if (h % 10 < 7)
			gen_num_virtual(&n, h);
		else
			gen_num_intl(&n, h);
		bool dup = false;
		for (size_t k = 0; k < g->nblack && !dup; k++)
			dup = strcmp(g->blacklist[k].canon, n.canon) == 0;
		if (!dup)
			g->blacklist[g->nblack++] = n;
	}
}

static const char *ims_domain(struct gen *g)
{
	static const char *const d[] = {
	    "ims.mnc000.mcc460.3gppnetwork.org",
	    "ims.mnc001.mcc460.3gppnetwork.org",
	    "ims.mnc011.mcc460.3gppnetwork.org",
	};
	return GEN_PICK(&g->rng, d);
}

/* ---- SIP pieces ------------------------------------------------------------ */

static void make_tag(struct gen *g, char *out)
{
	/* one draw per statement: argument evaluation order is unspecified */
	size_t n = 8 + gen_rng_below(&g->rng, 3);
	bool hex = gen_rng_below(&g->rng, 2);
	gen_rng_token(&g->rng, out, n, hex);
}

static void make_call_id(struct gen *g, char *out, size_t cap, const struct gen_ep *ep)
{
	char tok[40];
	struct gen_buf b = {(uint8_t *)out, 0, cap};

	switch (gen_rng_below(&g->rng, 3)) {
	case 0:
		gen_rng_token(&g->rng, tok, 32, true);
		gen_puts(&b, tok);
		gen_putc(&b, '@');
		gen_puts(&b, ep->addr);
		break;
	case 1:
		gen_rng_token(&g->rng, tok, 32, true);
		gen_put(&b, tok, 8);
		gen_putc(&b, '-');
		gen_put(&b, tok + 8, 4);
		gen_putc(&b, '-');
		gen_put(&b, tok + 12, 4);
		gen_putc(&b, '-');
		gen_put(&b, tok + 16, 4);
		gen_putc(&b, '-');
		gen_put(&b, tok + 20, 12);
		break;
	default:
		gen_rng_token(&g->rng, tok, 24, false);
		gen_puts(&b, tok);
		gen_puts(&b, "@sbc");
		gen_putu(&b, gen_rng_below(&g->rng, 16), 2);
		break;
	}
	out[b.len] = '\0';
}

static void make_via(struct gen *g, char *out, size_t cap, const struct gen_ep *ep, bool tcp)
{
	char br[24];
	struct gen_buf b = {(uint8_t *)out, 0, cap};

	gen_rng_token(&g->rng, br, 16, false);
	gen_puts(&b, tcp ? "SIP/2.0/TCP " : "SIP/2.0/UDP ");
	gen_puts(&b, ep->host);
	gen_puts(&b, ":5060;branch=z9hG4bK");
	gen_puts(&b, br);
	if (gen_rng_below(&g->rng, 3) == 0)
		gen_puts(&b, ";rport");
	out[b.len] = '\0';
}

/* "sip:user@host:5060;transport=tcp" and its "<...>" Contact form. */
static void make_contact(char *uri, size_t ucap, char *hdr, size_t hcap, const char *user,
                         const struct gen_ep *ep, bool tcp)
{
	struct gen_buf u = {(uint8_t *)uri, 0, ucap};
	struct gen_buf h = {(uint8_t *)hdr, 0, hcap};

	gen_puts(&u, "sip:");
	gen_puts(&u, user);
	gen_putc(&u, '@');
	gen_puts(&u, ep->host);
	gen_puts(&u, ":5060");
	if (tcp)
		gen_puts(&u, ";transport=tcp");
	uri[u.len] = '\0';
	gen_putc(&h, '<');
	gen_puts(&h, uri);
	gen_putc(&h, '>');
	hdr[h.len] = '\0';
}

/* The user part a Contact carries for an identity: its own for sip:
 * URIs; for tel: URIs (whose visual separators are not allowed in a sip:
 * user part) the canonical number. */
static const char *contact_user(const struct gen_sip_id *id)
{
	return id->uri[0] == 't' ? id->num.canon : id->raw;
}

/* A name that is not a number, for OPTIONS keep-alives. */
static void word_id(struct gen_sip_id *id, const char *word, const char *host)
{
	struct gen_buf b = {(uint8_t *)id->uri, 0, sizeof(id->uri)};

	memset(&id->num, 0, sizeof(id->num));
	gen_copy(id->num.canon, sizeof(id->num.canon), word);
	id->num.cls = GEN_NUM_ALPHA;
	gen_copy(id->raw, sizeof(id->raw), word);
	id->display[0] = '\0';
	id->addr_spec = false;
	gen_puts(&b, "sip:");
	gen_puts(&b, word);
	gen_putc(&b, '@');
	gen_puts(&b, host);
	id->uri[b.len] = '\0';
}

/* With probability --bad, a damage kind that fits a SIP message on this
 * transport (no lying IP / UDP length on TCP, no second Content-Length on
 * TCP where it would break the framing); else GEN_BAD_NONE. */
static uint8_t sip_damage(struct gen *g, bool tcp)
{
	static const uint8_t udp_kinds[] = {
	    GEN_BAD_TRUNCATED,      GEN_BAD_IP_LENGTH,    GEN_BAD_UDP_LENGTH,
	    GEN_BAD_SIP_NO_COLON,   GEN_BAD_SIP_DUP_FROM, GEN_BAD_SIP_CONFLICT_CL,
	    GEN_BAD_SIP_JUNK_COLON, GEN_BAD_SIP_NUL,
	};
	static const uint8_t tcp_kinds[] = {
	    GEN_BAD_TRUNCATED,    GEN_BAD_TCP_GARBAGE,    GEN_BAD_SIP_NO_COLON,
	    GEN_BAD_SIP_DUP_FROM, GEN_BAD_SIP_JUNK_COLON, GEN_BAD_SIP_NUL,
	};
	if (!gen_rng_chance(&g->rng, g->o.bad))
		return GEN_BAD_NONE;
	return tcp ? GEN_PICK(&g->rng, tcp_kinds) : GEN_PICK(&g->rng, udp_kinds);
}

/* With probability --bad, a damage kind for an SMPP PDU. */
static uint8_t smpp_damage(struct gen *g)
{
	static const uint8_t kinds[] = {GEN_BAD_TRUNCATED, GEN_BAD_SMPP_LENGTH,
	                                GEN_BAD_TCP_GARBAGE};
	if (!gen_rng_chance(&g->rng, g->o.bad))
		return GEN_BAD_NONE;
	return GEN_PICK(&g->rng, kinds);
}

/* A spec with the per-message presentation choices made. */
static void spec_init(struct gen *g, struct gen_sip_spec *s, bool tcp)
{
	memset(s, 0, sizeof(*s));
	s->compact = gen_rng_chance(&g->rng, 0.10);
	s->lower = gen_rng_chance(&g->rng, 0.03);
	s->space_colon = gen_rng_chance(&g->rng, 0.01);
	s->damage = sip_damage(g, tcp);
}

/* Slot i of the scratch messages, emptied. */
static struct gen_msg *msg_slot(struct gen *g, size_t i)
{
	g->mb[i].len = 0;
	g->fb[i].len = 0;
	memset(&g->m[i], 0, sizeof(g->m[i]));
	return &g->m[i];
}

static void msg_finish(struct gen *g, size_t i, uint8_t proto, uint8_t bad, bool truth,
                       const struct gen_label *label)
{
	struct gen_msg *m = &g->m[i];

	m->data = g->mb[i].p;
	m->len = g->mb[i].len;
	m->proto = proto;
	m->bad = bad;
	m->label = label;
	if (truth) {
		m->fields = (const char *)g->fb[i].p;
		m->fields_len = g->fb[i].len;
	}
}

static void sip_emit(struct gen *g, size_t i, const struct gen_sip_spec *s,
                     const struct gen_label *label)
{
	msg_slot(g, i);
	gen_sip_build(&g->rng, s, &g->mb[i], &g->fb[i]);
	msg_finish(g, i, GEN_PROTO_SIP, s->damage, true, label);
}

/* Send scratch messages [0, n) from ep[dir] at t; returns the last data time. */
static uint64_t send_msgs(struct gen *g, struct flow *f, int dir, size_t n, uint64_t t)
{
	if (f->tcp)
		return gen_tcp_send(g->net, &f->conn, dir, g->m, n, t);
	for (size_t i = 0; i < n; i++)
		gen_udp_send(g->net, &f->conn.path, dir, &g->m[i], t + 20 * i);
	return t + 20 * (n ? n - 1 : 0);
}

/* ---- call dialogs ------------------------------------------------------ */

enum call_variant { CV_ANSWERED, CV_FAILED, CV_CANCELLED, CV_WANGIRI };

static unsigned call_messages(enum call_variant v, bool ring)
{
	switch (v) {
	case CV_ANSWERED:
		return 7;
	case CV_FAILED:
		return ring ? 5 : 4;
	default:
		return 7;
	}
}

static void add_step(struct call *c, uint64_t at, uint8_t what)
{
	c->script[c->nstep].at = at;
	c->script[c->nstep].what = what;
	c->script[c->nstep].with_next = false;
	c->nstep++;
}

/* Plan and schedule one call dialog starting at t0. */
static void start_call(struct gen *g, uint64_t t0, const struct gen_number *caller,
                       const struct gen_number *callee, enum call_variant v, bool ring,
                       uint8_t pattern)
{
	struct gen_rng *r = &g->rng;
	struct flow *f = flow_new(g, F_CALL);
	struct call *c = &f->u.call;
	bool v6 = gen_rng_chance(r, g->o.ipv6);

	memset(c, 0, sizeof(*c));
	f->label.pattern = pattern;
	c->big_sdp = gen_rng_chance(r, g->o.big_sdp);
	f->tcp = gen_rng_chance(r, g->o.tcp);
	core_path(g, f, v6);
	if (f->tcp)
		make_tcp(g, f);
	const struct gen_ep *ea = &f->conn.path.ep[0], *eb = &f->conn.path.ep[1];

	const char *dom_a = gen_rng_below(r, 2) ? ims_domain(g) : ea->host;
	const char *dom_b = gen_rng_below(r, 2) ? ims_domain(g) : eb->host;
	gen_sip_id_make(r, &c->caller, caller, dom_a, true, true);
	gen_sip_id_make(r, &c->callee, callee, dom_b, gen_rng_chance(r, 0.1), true);
	struct gen_sip_id rid;
	gen_sip_id_make(r, &rid, callee, dom_b, false, gen_rng_chance(r, 0.3));
	gen_copy(c->ruri, sizeof(c->ruri), rid.uri);
	c->has_pai = gen_rng_chance(r, 0.6);
	if (c->has_pai) {
		struct gen_number pn = *caller;
		if (gen_rng_chance(r, 0.03))
			subscriber(g, &pn); /* asserted identity differs from From */
		const char *dom = ims_domain(g);
		bool disp = gen_rng_chance(r, 0.3);
		gen_sip_id_make(r, &c->pai, &pn, dom, disp, true);
		c->pai.addr_spec = false;
	}
	make_call_id(g, c->call_id, sizeof(c->call_id), ea);
	make_tag(g, c->ftag);
	make_tag(g, c->ttag);
	make_via(g, c->via_a, sizeof(c->via_a), ea, f->tcp);
	c->two_vias = gen_rng_chance(r, 0.3);
	if (c->two_vias) {
		struct gen_ep ue;
		make_ep(&ue, R_UE, gen_rng_next(r), v6, 5060);
		make_via(g, c->via_p, sizeof(c->via_p), &ue, f->tcp);
	}
	make_contact(c->contact_a_uri, sizeof(c->contact_a_uri), c->contact_a, sizeof(c->contact_a),
	             contact_user(&c->caller), ea, f->tcp);
	make_contact(c->contact_b_uri, sizeof(c->contact_b_uri), c->contact_b, sizeof(c->contact_b),
	             contact_user(&c->callee), eb, f->tcp);
	c->ua_a = gen_rng_chance(r, 0.85) ? gen_sip_vendor(r) : NULL;
	c->ua_b = gen_sip_vendor(r);
	c->resp_hdr = (uint8_t)(gen_rng_below(r, 100) < 25   ? 1
	                        : gen_rng_below(r, 100) < 60 ? 2
	                                                     : 0);
	c->allow_a = (uint8_t)gen_rng_below(r, 4);
	c->allow_b = (uint8_t)gen_rng_below(r, 4);
	c->cseq_a =
	    gen_rng_below(r, 3) ? 1 + gen_rng_below(r, 3) * 100 : 1 + gen_rng_below(r, 30000);
	c->cseq_b = 1 + gen_rng_below(r, 30000);
	c->bye_from_callee = gen_rng_chance(r, 0.3);

	/* the script */
	uint64_t t = t0;
	add_step(c, t, CM_INVITE);
	t += gen_rng_range(r, 1000, 30000);
	add_step(c, t, CM_100);
	switch (v) {
	case CV_ANSWERED:
		t += gen_rng_range(r, 50000, 1500000);
		add_step(c, t, CM_180);
		t += pattern == GEN_PAT_MASS_CALL ? gen_rng_range(r, 1000000, 8000000)
		                                  : gen_rng_range(r, 1000000, 20000000);
		add_step(c, t, CM_200_INV);
		t += gen_rng_range(r, 5000, 80000);
		add_step(c, t, CM_ACK);
		if (pattern == GEN_PAT_MASS_CALL)
			t += gen_rng_range(r, 3000000, 30000000);
		else
			t += 2000000 + gen_rng_exp(r, 40e6) % 600000000;
		add_step(c, t, CM_BYE);
		t += gen_rng_range(r, 5000, 60000);
		add_step(c, t, CM_200_BYE);
		break;
	case CV_FAILED: {
		static const uint16_t codes[] = {486, 480, 404, 603, 503, 486, 480};
		c->err_status = GEN_PICK(r, codes);
		if (ring) {
			t += gen_rng_range(r, 50000, 1500000);
			add_step(c, t, CM_180);
		}
		t += gen_rng_range(r, 100000, 8000000);
		add_step(c, t, CM_ERR);
		t += gen_rng_range(r, 5000, 50000);
		add_step(c, t, CM_ACK_ERR);
		break;
	}
	case CV_CANCELLED:
	case CV_WANGIRI:
		t += gen_rng_range(r, 100000, 800000);
		add_step(c, t, CM_180);
		if (v == CV_WANGIRI)
			t = t0 + gen_rng_range(r, 1000000, 3000000); /* one ring, then gone */
		else
			t += gen_rng_range(r, 3000000, 25000000);
		if (t <= c->script[c->nstep - 1].at)
			t = c->script[c->nstep - 1].at + 1000;
		add_step(c, t, CM_CANCEL);
		t += gen_rng_range(r, 2000, 30000);
		add_step(c, t, CM_200_CANCEL);
		t += gen_rng_range(r, 1000, 10000);
		add_step(c, t, CM_487);
		t += gen_rng_range(r, 5000, 40000);
		add_step(c, t, CM_ACK_ERR);
		break;
	}
	if (f->tcp) {
		/* fast responders put 100 and 180 in one write, and the
		 * CANCEL answer with the 487 */
		for (uint8_t i = 0; i + 1 < c->nstep; i++) {
			uint8_t w = c->script[i].what, nx = c->script[i + 1].what;
			if ((w == CM_100 && nx == CM_180 && gen_rng_chance(r, 0.3)) ||
			    (w == CM_200_CANCEL && nx == CM_487 && gen_rng_chance(r, 0.5))) {
				c->script[i].with_next = true;
				c->script[i + 1].at = c->script[i].at;
			}
		}
		add_step(c, t + gen_rng_range(r, 50000, 500000), CM_CLOSE);
	}
	g->calls_started++;
	schedule(g, f, c->script[0].at);
}

/* Build the message of one call step into scratch slot i; returns its direction. */
static int call_build(struct gen *g, struct flow *f, uint8_t what, size_t i)
{
	struct call *c = &f->u.call;
	struct gen_rng *r = &g->rng;
	struct gen_sip_spec s;
	int dir = 0;
	const struct gen_ep *ea = &f->conn.path.ep[0], *eb = &f->conn.path.ep[1];
	static const char *const sdp = "application/sdp";

	spec_init(g, &s, f->tcp);
	s.from = &c->caller;
	s.to = &c->callee;
	s.from_tag = c->ftag;
	s.to_tag = c->ttag;
	s.call_id = c->call_id;
	s.cseq = c->cseq_a;
	s.method = "INVITE";
	s.via[0] = c->via_a;
	s.via[1] = c->two_vias ? c->via_p : NULL;
	s.allow_set = c->allow_a;
	g->body.len = 0;

	bool response = what == CM_100 || what == CM_180 || what == CM_200_INV || what == CM_487 ||
	                what == CM_ERR || what == CM_200_CANCEL || what == CM_200_BYE;
	if (response) {
		dir = 1;
		s.allow_set = c->allow_b;
		if (c->resp_hdr == 1)
			s.user_agent = c->ua_b;
		else if (c->resp_hdr == 2)
			s.server = c->ua_b;
	} else {
		s.request = true;
		s.user_agent = c->ua_a;
	}

	switch (what) {
	case CM_INVITE:
		s.ruri = c->ruri;
		s.to_tag = NULL;
		s.contact = c->contact_a;
		s.pai = c->has_pai ? &c->pai : NULL;
		if (gen_rng_chance(r, 0.5))
			s.extra = "Session-Expires: 1800\r\nMin-SE: 90\r\n";
		gen_sdp_build(r, &g->body, ea, f->conn.path.v6, c->big_sdp, false);
		s.content_type = sdp;
		break;
	case CM_100:
		s.status = 100;
		s.reason = "Trying";
		s.to_tag = NULL;
		s.user_agent = NULL;
		s.server = NULL;
		break;
	case CM_180:
		s.status = 180;
		s.reason = "Ringing";
		s.contact = c->contact_b;
		break;
	case CM_200_INV:
		s.status = 200;
		s.reason = "OK";
		s.contact = c->contact_b;
		gen_sdp_build(r, &g->body, eb, f->conn.path.v6, false, true);
		s.content_type = sdp;
		break;
	case CM_ACK:
		s.method = "ACK";
		s.ruri = c->contact_b_uri;
		make_via(g, c->bye_via, sizeof(c->bye_via), ea, f->tcp);
		s.via[0] = c->bye_via;
		s.via[1] = NULL;
		break;
	case CM_BYE:
	case CM_200_BYE:
		s.method = "BYE";
		if (what == CM_BYE)
			make_via(g, c->bye_via, sizeof(c->bye_via), c->bye_from_callee ? eb : ea,
			         f->tcp);
		s.via[0] = c->bye_via;
		s.via[1] = NULL;
		if (c->bye_from_callee) {
			/* the callee hangs up: From and To swap roles */
			s.from = &c->callee;
			s.to = &c->caller;
			s.from_tag = c->ttag;
			s.to_tag = c->ftag;
			s.cseq = c->cseq_b;
			s.ruri = c->contact_a_uri;
			dir = what == CM_BYE ? 1 : 0;
			if (what == CM_BYE)
				s.user_agent = c->ua_b;
		} else {
			s.cseq = c->cseq_a + 1;
			s.ruri = c->contact_b_uri;
		}
		if (what == CM_200_BYE) {
			s.status = 200;
			s.reason = "OK";
		}
		break;
	case CM_CANCEL:
		/* one Via, the INVITE's top one (RFC 3261 §9.1) */
		s.method = "CANCEL";
		s.ruri = c->ruri;
		s.to_tag = NULL;
		s.via[1] = NULL;
		break;
	case CM_200_CANCEL:
		s.method = "CANCEL";
		s.status = 200;
		s.reason = "OK";
		s.via[1] = NULL;
		break;
	case CM_487:
		s.status = 487;
		s.reason = "Request Terminated";
		break;
	case CM_ERR:
		s.status = c->err_status;
		s.reason = c->err_status == 486   ? "Busy Here"
		           : c->err_status == 480 ? "Temporarily Unavailable"
		           : c->err_status == 404 ? "Not Found"
		           : c->err_status == 603 ? "Decline"
		                                  : "Service Unavailable";
		break;
	case CM_ACK_ERR:
		s.method = "ACK";
		s.ruri = c->ruri;
		s.via[1] = NULL;
		break;
	default:
		break;
	}
	s.body = g->body.p;
	s.body_len = g->body.len;
	sip_emit(g, i, &s, &f->label);
	return dir;
}

/*
 * One step of a call dialog at time t: the TCP handshake before the first
 * message, then the scripted message (or two, written together on TCP),
 * or the FIN exchange.  The next step is scheduled no sooner than
 * MIN_TURN_US after this write.  Returns false when the flow is finished
 * (the caller frees it).
 */
static bool run_call(struct gen *g, struct flow *f, uint64_t t)
{
	struct call *c = &f->u.call;
	struct step *st = &c->script[c->cur];

	if (st->what == CM_CLOSE) {
		gen_tcp_close(g->net, &f->conn, 0, t);
		return false;
	}
	if (c->cur == 0 && f->tcp)
		t = gen_tcp_open(g->net, &f->conn, t);
	size_t n = 0;
	int dir = call_build(g, f, st->what, n++);
	if (st->with_next) {
		c->cur++;
		call_build(g, f, c->script[c->cur].what, n++);
	}
	uint64_t last = send_msgs(g, f, dir, n, t) + MIN_TURN_US;
	c->cur++;
	if (c->cur >= c->nstep)
		return false;
	uint64_t next = c->script[c->cur].at;
	schedule(g, f, next > last ? next : last);
	return true;
}

/* ---- OPTIONS, REGISTER, MESSAGE -------------------------------------- */

/* The label of a message that carries no text: only the flow's pattern. */
static const struct gen_label no_text[] = {
    {NULL, GEN_PAT_NORMAL},
    {NULL, GEN_PAT_WANGIRI},
    {NULL, GEN_PAT_MASS_CALL},
    {NULL, GEN_PAT_BLACKLISTED},
};

/*
 * Plan and schedule a short transaction at t: OPTIONS / 200 (nstep 2, or 1
 * for a keep-alive nobody answers), REGISTER / 401 / REGISTER / 200 (4), or
 * a SIP MESSAGE carrying corpus text `text`, answered 200 or 202 (2).
 */
static void start_simple(struct gen *g, uint8_t kind, uint64_t t, uint8_t nstep, uint32_t text,
                         uint8_t pattern)
{
	struct gen_rng *r = &g->rng;
	struct flow *f = flow_new(g, kind);
	struct simple *s = &f->u.simple;
	bool v6 = gen_rng_chance(r, g->o.ipv6);

	memset(s, 0, sizeof(*s));
	f->label.pattern = pattern;
	f->label.text = kind == F_MESSAGE ? &g->corpus.t[text] : NULL;
	f->tcp = gen_rng_chance(r, g->o.tcp);
	s->nstep = nstep;
	s->text = text;
	if (kind == F_REGISTER) {
		uint64_t ue = gen_rng_next(r);
		uint16_t port = f->tcp ? ephemeral(g, R_UE, 0, v6) : 5060;
		uint32_t b = gen_rng_below(r, 24);
		make_path(g, &f->conn.path, R_UE, ue, port, R_CORE, b, 5060, v6, 0x68);
	} else {
		core_path(g, f, v6);
	}
	if (f->tcp)
		make_tcp(g, f);
	const struct gen_ep *ea = &f->conn.path.ep[0], *eb = &f->conn.path.ep[1];
	struct gen_number na, nb;
	const char *dom = ims_domain(g);

	switch (kind) {
	case F_OPTIONS:
		word_id(&s->a, "ping", ea->host);
		word_id(&s->b, "ping", eb->host);
		gen_copy(s->ruri, sizeof(s->ruri), s->b.uri);
		gen_copy(s->ruri + strlen(s->ruri), sizeof(s->ruri) - strlen(s->ruri), ":5060");
		break;
	case F_REGISTER:
		subscriber(g, &na);
		gen_sip_id_make(r, &s->a, &na, dom, false, false);
		s->b = s->a;
		gen_copy(s->ruri, sizeof(s->ruri), "sip:");
		gen_copy(s->ruri + 4, sizeof(s->ruri) - 4, dom);
		break;
	default: /* MESSAGE: the sender is a subscriber, a service, or blacklisted */
		if (pattern == GEN_PAT_BLACKLISTED)
			blacklisted(g, &na);
		else if (g->corpus.t[text].fraud ? gen_rng_chance(r, 0.7) : gen_rng_chance(r, 0.4))
			subscriber(g, &na);
		else if (gen_rng_below(r, 2))
			gen_num_service(&na, gen_rng_next(r));
		else
			gen_num_smsport(&na, gen_rng_next(r));
		subscriber(g, &nb);
		gen_sip_id_make(r, &s->a, &na, dom, true, true);
		gen_sip_id_make(r, &s->b, &nb, ims_domain(g), false, true);
		struct gen_sip_id rid;
		gen_sip_id_make(r, &rid, &nb, dom, false, false);
		gen_copy(s->ruri, sizeof(s->ruri), rid.uri);
		s->pai = gen_rng_chance(r, 0.4);
		if (s->pai) {
			gen_sip_id_make(r, &s->pai_id, &na, dom, false, true);
			s->pai_id.addr_spec = false;
		}
		s->status = gen_rng_below(r, 2) ? 200 : 202;
		break;
	}
	make_call_id(g, s->call_id, sizeof(s->call_id), ea);
	make_tag(g, s->ftag);
	make_tag(g, s->ttag);
	make_via(g, s->via, sizeof(s->via), ea, f->tcp);
	char uri[128];
	make_contact(uri, sizeof(uri), s->contact, sizeof(s->contact), contact_user(&s->a), ea,
	             f->tcp);
	s->ua = gen_rng_chance(r, 0.85) ? gen_sip_vendor(r) : NULL;
	s->cseq = 1 + gen_rng_below(r, 50);
	schedule(g, f, t);
}

/* One message of a short transaction (requests on even steps, answers on
 * odd ones), or the FIN exchange on TCP; false when finished. */
static bool run_simple(struct gen *g, struct flow *f, uint64_t t)
{
	struct simple *s = &f->u.simple;
	struct gen_rng *r = &g->rng;
	struct gen_sip_spec sp;
	bool request = s->step % 2 == 0;
	const struct gen_label *label = &f->label;
	char extra[512];
	struct gen_buf ex = {(uint8_t *)extra, 0, sizeof(extra)};

	if (s->step == s->nstep) {
		gen_tcp_close(g->net, &f->conn, 0, t);
		return false;
	}
	if (s->step == 0 && f->tcp)
		t = gen_tcp_open(g->net, &f->conn, t);
	spec_init(g, &sp, f->tcp);
	sp.request = request;
	sp.from = &s->a;
	sp.to = &s->b;
	sp.from_tag = s->ftag;
	sp.to_tag = request && s->step == 0 ? NULL : s->ttag;
	sp.call_id = s->call_id;
	sp.cseq = s->cseq + s->step / 2;
	sp.via[0] = s->via;
	sp.allow_set = (uint16_t)(s->cseq & 3);
	g->body.len = 0;
	if (request) {
		sp.user_agent = s->ua;
		sp.ruri = s->ruri;
	} else if (gen_rng_below(r, 2)) {
		sp.server = gen_sip_vendor(r);
	}

	switch (f->kind) {
	case F_OPTIONS:
		sp.method = "OPTIONS";
		if (request) {
			sp.contact = s->contact;
			sp.extra = "Accept: application/sdp\r\n";
		} else {
			sp.status = 200;
			sp.reason = "OK";
		}
		break;
	case F_REGISTER:
		sp.method = "REGISTER";
		sp.to_tag = request ? NULL : s->ttag;
		if (request) {
			sp.contact = s->contact;
			gen_puts(&ex, "Expires: 600000\r\nAuthorization: Digest username=\"");
			gen_puts(&ex, s->a.num.canon + 1);
			gen_puts(&ex, "@");
			gen_puts(&ex, s->ruri + 4);
			gen_puts(&ex, "\",realm=\"");
			gen_puts(&ex, s->ruri + 4);
			gen_puts(&ex, "\",uri=\"");
			gen_puts(&ex, s->ruri);
			if (s->step == 0) {
				gen_puts(&ex, "\",nonce=\"\",response=\"\"\r\n");
			} else {
				char tok[40];
				gen_rng_token(r, tok, 32, false);
				gen_puts(&ex, "\",nonce=\"");
				gen_puts(&ex, tok);
				gen_rng_token(r, tok, 32, true);
				gen_puts(&ex, "\",response=\"");
				gen_puts(&ex, tok);
				gen_puts(&ex, "\",algorithm=AKAv1-MD5,qop=auth,nc=00000001\r\n");
			}
		} else if (s->step == 1) {
			char tok[40];
			sp.status = 401;
			sp.reason = "Unauthorized";
			gen_rng_token(r, tok, 32, false);
			gen_puts(&ex, "WWW-Authenticate: Digest realm=\"");
			gen_puts(&ex, s->ruri + 4);
			gen_puts(&ex, "\",nonce=\"");
			gen_puts(&ex, tok);
			gen_puts(&ex, "\",algorithm=AKAv1-MD5,qop=\"auth\"\r\n");
		} else {
			sp.status = 200;
			sp.reason = "OK";
			sp.contact = s->contact;
			gen_puts(&ex, "P-Associated-URI: <");
			gen_puts(&ex, s->a.uri);
			gen_puts(&ex, ">\r\nService-Route: <sip:orig@scscf01.");
			gen_puts(&ex, s->ruri + 4);
			gen_puts(&ex, ";lr>\r\nExpires: 600000\r\n");
		}
		extra[ex.len] = '\0';
		sp.extra = extra;
		break;
	default:
		sp.method = "MESSAGE";
		if (request) {
			const struct gen_text *tx = &g->corpus.t[s->text];
			sp.pai = s->pai ? &s->pai_id : NULL;
			sp.content_type = "text/plain;charset=UTF-8";
			gen_put(&g->body, tx->text, tx->len);
			sp.sip_message_text = true;
			g->sms_events++;
			g->sip_sms++;
		} else {
			sp.status = s->status;
			sp.reason = s->status == 200 ? "OK" : "Accepted";
			/* the response carries no text: only the pattern is kept */
			label = &no_text[f->label.pattern];
		}
		break;
	}
	sp.body = g->body.p;
	sp.body_len = g->body.len;
	sip_emit(g, 0, &sp, label);
	uint64_t last = send_msgs(g, f, request ? 0 : 1, 1, t) + MIN_TURN_US;
	s->step++;
	if (s->step == s->nstep && !f->tcp)
		return false;
	uint64_t next =
	    last + (request ? gen_rng_range(r, 1000, 40000) : gen_rng_range(r, 2000, 60000));
	if (s->step == s->nstep)
		next = last + gen_rng_range(r, 50000, 500000);
	schedule(g, f, next);
	return true;
}

/* ---- SMS over IP ---------------------------------------------------------- */

/* The SCs' E.164 numbers (China Mobile's provincial SMSC pattern). */
static const char *const smsc_numbers[] = {
    "8613800100500", "8613800210500", "8613800200500", "8613800755500", "8613800571500",
};

/* The SC's public service identity: sip:+<number>@<domain>, the number
 * as it is canonical. */
static void sc_identity(struct gen_sip_id *id, const char *digits, const char *dom)
{
	struct gen_buf u = {(uint8_t *)id->uri, 0, sizeof(id->uri)};

	memset(&id->num, 0, sizeof(id->num));
	id->num.canon[0] = '+';
	gen_copy(id->num.canon + 1, sizeof(id->num.canon) - 1, digits);
	id->num.cls = GEN_NUM_MOBILE;
	id->num.cc_len = 2;
	id->num.lead_len = 3;
	gen_copy(id->raw, sizeof(id->raw), id->num.canon);
	id->display[0] = '\0';
	id->addr_spec = false;
	gen_puts(&u, "sip:"); /* fits: 4 + 14 + 1 + 33 of 160 */
	gen_puts(&u, id->num.canon);
	gen_putc(&u, '@');
	gen_puts(&u, dom);
	id->uri[u.len] = '\0';
}

/*
 * Plan and schedule one SMS over IP at t with corpus text `text`: MO (the
 * phone submits to its SC) or MT (the SC delivers to the phone), its
 * parts, which of them get an RP-ACK.  Returns the messages it will send
 * (counted against left, which it never exceeds), or 0 when the text
 * needs more than MAX_PARTS parts or left is too small even without
 * RP-ACKs: the caller sends it as text/plain then.
 */
static uint64_t start_sms3gpp(struct gen *g, uint64_t t, uint32_t text, uint8_t pattern,
                              uint64_t left)
{
	struct gen_rng *r = &g->rng;
	const struct gen_text *tx = &g->corpus.t[text];
	size_t cuts[MAX_PARTS + 1];
	uint8_t enc;
	bool ref16 = gen_rng_chance(r, 0.3);
	unsigned parts = gen_tp_plan(tx, ref16, &enc, cuts, MAX_PARTS);

	if (parts == 0 || 2ull * parts > left)
		return 0;
	uint16_t acks = 0;
	uint64_t msgs = 2ull * parts;
	for (unsigned p = 0; p < parts; p++) {
		if (gen_rng_chance(r, 0.5)) {
			acks |= (uint16_t)(1u << p);
			msgs += 2;
		}
	}
	if (msgs > left) {
		acks = 0;
		msgs = 2ull * parts;
	}

	struct flow *f = flow_new(g, F_SMS3GPP);
	struct sms3gpp *s = &f->u.sms3gpp;
	memset(s, 0, sizeof(*s));
	f->label.pattern = pattern;
	f->label.text = tx;
	s->text = text;
	s->enc = enc;
	s->nparts = (uint8_t)parts;
	s->acks = acks;
	s->ref16 = ref16;
	memcpy(s->cuts, cuts, sizeof(cuts));

	bool v6 = gen_rng_chance(r, g->o.ipv6);
	f->tcp = gen_rng_chance(r, g->o.tcp);
	core_path(g, f, v6);
	if (f->tcp)
		make_tcp(g, f);

	const char *dom = ims_domain(g);
	struct gen_number phone;
	s->mt = gen_rng_below(r, 2);
	s->smsc = GEN_PICK(r, smsc_numbers);
	sc_identity(&s->sc, s->smsc, dom);
	if (s->mt) {
		/* the sender as the SC relays it: people, SMS ports, services,
		 * brands; the phone is a subscriber */
		unsigned k = gen_rng_below(r, 100);
		if (pattern == GEN_PAT_BLACKLISTED)
			blacklisted(g, &s->party);
		else if ((tx->fraud ? k < 40 : k < 10) && gen_rng_below(r, 2))
			gen_num_virtual(&s->party, gen_rng_next(r));
		else if (tx->fraud ? k < 40 : k < 10)
			subscriber(g, &s->party);
		else if (tx->fraud ? k < 70 : k < 40)
			gen_num_smsport(&s->party, gen_rng_next(r));
		else if (tx->fraud ? k < 80 : k < 65)
			gen_num_service(&s->party, gen_rng_next(r));
		else if (tx->fraud && k < 88)
			gen_num_intl(&s->party, gen_rng_next(r));
		else
			gen_num_alpha(&s->party, gen_rng_next(r));
		subscriber(g, &phone);
		gen_sip_id_make(r, &s->ue, &phone, dom, false, true);
		s->pai = gen_rng_chance(r, 0.3);
		if (s->pai)
			s->pai_id = s->sc;
	} else {
		/* a phone: a subscriber, or a virtual-operator number for fraud;
		 * to a person, now and then to a service or abroad */
		if (pattern == GEN_PAT_BLACKLISTED)
			blacklisted(g, &phone);
		else if (tx->fraud && gen_rng_below(r, 2))
			gen_num_virtual(&phone, gen_rng_next(r));
		else
			subscriber(g, &phone);
		unsigned k = gen_rng_below(r, 100);
		if (k < 85)
			subscriber(g, &s->party);
		else if (k < 95)
			gen_num_service(&s->party, gen_rng_next(r));
		else
			gen_num_intl(&s->party, gen_rng_next(r));
		gen_sip_id_make(r, &s->ue, &phone, dom, true, true);
		s->pai = gen_rng_chance(r, 0.4);
		if (s->pai) {
			gen_sip_id_make(r, &s->pai_id, &phone, dom, false, true);
			s->pai_id.addr_spec = false;
		}
	}
	gen_num_tp(r, &s->party, s->mt, &s->tp);
	struct gen_sip_id rid;
	gen_sip_id_make(r, &rid, &phone, dom, false, false);
	gen_copy(s->ue_ruri, sizeof(s->ue_ruri), rid.uri);

	/* relative TP-VP (23.040 §9.2.3.12.1): 12 h, 1 day, 3 days, 1 week, 63 weeks */
	static const uint8_t vps[] = {0x8f, 0xa7, 0xa9, 0xad, 0xff};
	s->rp_mr = (uint8_t)gen_rng_below(r, 256);
	s->tp_mr = (uint8_t)gen_rng_below(r, 256);
	s->vpf = gen_rng_chance(r, 0.7) ? 2 : 0;
	s->vp = GEN_PICK(r, vps);
	s->srr = gen_rng_chance(r, 0.2);
	s->report = gen_rng_chance(r, 0.5);
	s->ref = (uint16_t)gen_rng_below(r, ref16 ? 65536u : 256u);
	s->ack_status = gen_rng_below(r, 2) ? 200 : 202;
	s->scts_us = t - gen_rng_range(r, 1000000, 30000000);
	s->ua[0] = gen_rng_chance(r, 0.85) ? gen_sip_vendor(r) : NULL;
	s->ua[1] = gen_rng_chance(r, 0.85) ? gen_sip_vendor(r) : NULL;
	s->cseq[0] = gen_rng_below(r, 50);
	s->cseq[1] = gen_rng_below(r, 50);
	schedule(g, f, t);
	return msgs;
}

/*
 * One message of an SMS over IP flow, or the FIN exchange on TCP; false
 * when finished.  RP-DATA goes from ep[0] to ep[1], RP-ACK back; each
 * request is a transaction of its own (new Call-ID, tags and branch).
 * The event's truth: a single-part SMS is one line on its MESSAGE, the
 * TPDU's party in place of the SC's SIP identity; a concatenated one is
 * one line on its last part for the joined message, and no line for the
 * parts; every 202 / 200 and RP-ACK MESSAGE has its own SIP line.
 */
static bool run_sms3gpp(struct gen *g, struct flow *f, uint64_t t)
{
	struct sms3gpp *s = &f->u.sms3gpp;
	struct gen_rng *r = &g->rng;
	const struct gen_text *tx = &g->corpus.t[s->text];

	if (s->part == s->nparts) {
		gen_tcp_close(g->net, &f->conn, 0, t);
		return false;
	}
	if (s->part == 0 && s->phase == S3_DATA && f->tcp)
		t = gen_tcp_open(g->net, &f->conn, t);

	bool data = s->phase == S3_DATA || s->phase == S3_DATA_RESP;
	bool request = s->phase == S3_DATA || s->phase == S3_ACK;
	int sender = data ? 0 : 1; /* the end that sent the transaction's request */
	int dir = request ? sender : !sender;
	/* MO RP-DATA and MT RP-ACK come from the phone's IMPU, the rest from the SC */
	bool from_ue = data != s->mt;
	uint8_t rp_mr = (uint8_t)(s->rp_mr + s->part);
	const struct gen_ep *ep = &f->conn.path.ep[sender];

	if (request) {
		make_call_id(g, s->call_id, sizeof(s->call_id), ep);
		make_tag(g, s->ftag);
		make_tag(g, s->ttag);
		make_via(g, s->via, sizeof(s->via), ep, f->tcp);
		s->cseq[sender]++;
	}
	struct gen_sip_spec sp;
	spec_init(g, &sp, f->tcp);
	sp.request = request;
	sp.method = "MESSAGE";
	sp.from = from_ue ? &s->ue : &s->sc;
	sp.to = from_ue ? &s->sc : &s->ue;
	sp.from_tag = s->ftag;
	sp.to_tag = request ? NULL : s->ttag;
	sp.call_id = s->call_id;
	sp.cseq = s->cseq[sender];
	sp.via[0] = s->via;
	sp.allow_set = (uint16_t)(s->cseq[0] & 3);
	g->body.len = 0;

	struct gen_sms_fields sf;
	memset(&sf, 0, sizeof(sf));
	if (request) {
		sp.user_agent = s->ua[sender];
		sp.ruri = from_ue ? s->sc.uri : s->ue_ruri;
		sp.content_type = "application/vnd.3gpp.sms";
		/* towards the phone: only to an SMS-capable contact, unforked
		 * (TS 24.341 §5.3.2) */
		if (!from_ue)
			sp.extra =
			    "Accept-Contact: *;+g.3gpp.smsip\r\nRequest-Disposition: no-fork\r\n";
		if (data) {
			struct gen_rp_data rd = {
			    .mt = s->mt,
			    .rp_mr = rp_mr,
			    .tp_mr = (uint8_t)(s->tp_mr + s->part),
			    .smsc = s->smsc,
			    .party = &s->tp,
			    .vpf = s->vpf,
			    .vp = s->vp,
			    .srr = s->srr,
			    .scts_us = s->scts_us,
			    .text = tx,
			    .enc = s->enc,
			    .off = s->cuts[s->part],
			    .len = s->cuts[s->part + 1] - s->cuts[s->part],
			    .concat = s->nparts > 1,
			    .ref16 = s->ref16,
			    .ref = s->ref,
			    .total = s->nparts,
			    .seq = (uint8_t)(s->part + 1),
			};
			gen_rp_data(&g->body, &rd);
			sp.pai = s->pai ? &s->pai_id : NULL;
			/* the TPDU's party: the sender of a DELIVER, the recipient of a SUBMIT */
			if (s->mt) {
				sf.from = s->party.canon;
				sf.from_raw = s->tp.text;
			} else {
				sf.to = s->party.canon;
				sf.to_raw = s->tp.text;
			}
			sf.data_coding = gen_tp_dcs(s->enc);
			sf.text = tx->text;
			sf.text_len = tx->len;
			sf.parts = s->nparts;
			if (s->nparts == 1)
				sp.sms = &sf;
		} else {
			gen_rp_ack(&g->body, !s->mt, rp_mr, s->report, t - 1000);
		}
	} else {
		sp.status = data ? 202 : s->ack_status;
		sp.reason = sp.status == 200 ? "OK" : "Accepted";
		if (gen_rng_below(r, 2))
			sp.server = gen_sip_vendor(r);
	}
	sp.body = g->body.p;
	sp.body_len = g->body.len;

	bool rp_data = data && request, truth = true;
	msg_slot(g, 0);
	gen_sip_build(r, &sp, &g->mb[0], &g->fb[0]);
	if (rp_data && s->nparts > 1) {
		/* the parts make one event, when the last one is in: its line
		 * has every number and no SIP header field */
		g->fb[0].len = 0;
		truth = s->part + 1 == s->nparts;
		if (truth) {
			const struct gen_sip_id *sip_side = &s->ue;
			if (s->mt) {
				sf.to = sip_side->num.canon;
				sf.to_raw = sip_side->raw;
			} else {
				sf.from = sip_side->num.canon;
				sf.from_raw = sip_side->raw;
			}
			gen_sms_fields_put(&g->fb[0], &sf);
		}
	}
	msg_finish(g, 0, GEN_PROTO_SIP, sp.damage, truth,
	           rp_data ? &f->label : &no_text[f->label.pattern]);
	if (rp_data && s->nparts > 1)
		g->m[0].group_bad = &s->group_bad;
	if (rp_data && s->part + 1 == s->nparts) {
		g->sms_events++;
		g->sip_sms++;
		g->sip_3gpp++;
		g->dc_count[s->enc == GEN_TP_GSM7 ? 0 : 2]++;
		if (s->nparts > 1)
			g->concat_sms++;
	}
	uint64_t last = send_msgs(g, f, dir, 1, t) + MIN_TURN_US, next;

	bool part_done =
	    s->phase == S3_ACK_RESP || (s->phase == S3_DATA_RESP && !(s->acks >> s->part & 1u));
	if (part_done) {
		s->part++;
		s->phase = S3_DATA;
		if (s->part == s->nparts && !f->tcp)
			return false;
		/* the next part follows closely; the FIN a little later */
		next = last + (s->part == s->nparts ? gen_rng_range(r, 50000, 500000)
		                                    : gen_rng_range(r, 10000, 300000));
	} else {
		s->phase++;
		next = last + (s->phase == S3_ACK ? gen_rng_range(r, 5000, 300000)
		                                  : gen_rng_range(r, 1000, 40000));
	}
	schedule(g, f, next);
	return true;
}

/* ---- SMPP sessions ----------------------------------------------------- */

static uint32_t pick_text(struct gen *g)
{
	const struct gen_corpus *c = &g->corpus;
	bool fraud = gen_rng_chance(&g->rng, g->o.fraud);

	if (fraud && c->nfraud)
		return c->fraud[gen_rng_below(&g->rng, (uint32_t)c->nfraud)];
	if (c->nlegit)
		return c->legit[gen_rng_below(&g->rng, (uint32_t)c->nlegit)];
	return c->fraud[gen_rng_below(&g->rng, (uint32_t)c->nfraud)];
}

/* How one SMS goes, and in how many parts. */
static void plan_sms(struct gen *g, struct smpp_op *op)
{
	const struct gen_text *t = &g->corpus.t[op->text];
	struct gen_rng *r = &g->rng;
	size_t cuts[MAX_PARTS + 1];

	op->parts = 1;
	if (op->kind == OP_DATA) {
		op->method = GEN_SMS_PAYLOAD;
		return;
	}
	if (t->nunits <= gen_sms_per_part(t, GEN_SMS_SINGLE)) {
		op->method = gen_rng_chance(r, 0.05) ? GEN_SMS_PAYLOAD : GEN_SMS_SINGLE;
		return;
	}
	unsigned pick = gen_rng_below(r, 100);
	op->method = pick < 40   ? GEN_SMS_UDH8
	             : pick < 60 ? GEN_SMS_UDH16
	             : pick < 80 ? GEN_SMS_SAR
	                         : GEN_SMS_PAYLOAD;
	if (op->method == GEN_SMS_PAYLOAD)
		return;
	unsigned parts = gen_sms_split(t, gen_sms_per_part(t, op->method), cuts, MAX_PARTS);
	if (parts == 0) {
		op->method = GEN_SMS_PAYLOAD; /* too long to split: send it whole */
		return;
	}
	op->parts = (uint8_t)parts;
	op->burst = gen_rng_chance(r, 0.6);
}

static unsigned op_messages(const struct smpp_op *op)
{
	return op->kind == OP_ENQUIRE ? 2 : 2u * op->parts;
}

/*
 * Plan and schedule an SMPP session at t: bind, 1-40 operations (SMS as
 * submit_sm / deliver_sm / data_sm with their parts, enquire_link), unbind.
 * Every message it will send is counted against budget now, so -n holds.
 */
static void start_smpp(struct gen *g, uint64_t t, uint64_t budget)
{
	static const char *const ids[] = {"bank_sms01", "sp106900", "esme_hub3", "ecom_notify",
	                                  "gw_aggr07",  "otp_srv2", "mkt_push",  "logistics9"};
	static const char *const pws[] = {"Pa55w0rd", "sm5pass", "x9k2m1", "secret"};
	static const char *const types[] = {"", "", "SMPP", "CMT", "VMA"};
	static const char *const smscs[] = {"SMSC_GZ01", "SMSC_BJ02", "smsc-sh-3", "SMSGW"};
	struct gen_rng *r = &g->rng;
	struct flow *f = flow_new(g, F_SMPP);
	struct smpp *s = &f->u.smpp;
	bool v6 = gen_rng_chance(r, g->o.ipv6);

	memset(s, 0, sizeof(*s));
	f->tcp = true;
	uint32_t esme = gen_rng_below(r, 16);
	uint16_t port = ephemeral(g, R_ESME, esme, v6);
	uint32_t smsc = gen_rng_below(r, 4);
	make_path(g, &f->conn.path, R_ESME, esme, port, R_SMSC, smsc, 2775, v6, 0);
	make_tcp(g, f);
	s->bind_cmd =
	    gen_rng_chance(r, 0.7) ? GEN_SMPP_BIND_TRANSCEIVER : GEN_SMPP_BIND_TRANSMITTER;
	s->system_id = GEN_PICK(r, ids);
	s->password = GEN_PICK(r, pws);
	s->system_type = GEN_PICK(r, types);
	s->smsc_id = GEN_PICK(r, smscs);
	s->seq_esme = 1;
	s->seq_smsc = 1;
	s->ref = gen_rng_below(r, 65536);
	s->gap_us = (double)gen_rng_range(r, 20000, 2000000);
	s->enquire_from_smsc = gen_rng_chance(r, 0.3);

	/* plan the ops while they fit in the budget (bind + unbind = 4) */
	uint64_t used = 4;
	unsigned want = 1 + gen_rng_below(r, MAX_OPS);
	while (s->nops < want) {
		struct smpp_op op = {0};
		if (s->nops > 0 && gen_rng_chance(r, 0.08)) {
			op.kind = OP_ENQUIRE;
		} else {
			unsigned k = gen_rng_below(r, 100);
			if (s->bind_cmd == GEN_SMPP_BIND_TRANSCEIVER)
				op.kind = k < 65 ? OP_SUBMIT : k < 95 ? OP_DELIVER : OP_DATA;
			else
				op.kind = k < 93 ? OP_SUBMIT : OP_DATA;
			op.text = pick_text(g);
			op.pattern = gen_rng_chance(r, g->o.blacklisted) ? GEN_PAT_BLACKLISTED
			                                                 : GEN_PAT_NORMAL;
			plan_sms(g, &op);
		}
		if (used + op_messages(&op) > budget)
			break;
		used += op_messages(&op);
		s->ops[s->nops++] = op;
		if (op.kind != OP_ENQUIRE)
			g->planned_sms++;
	}
	g->reserved += used;
	g->sms_reserved += used;
	g->smpp_sessions++;
	schedule(g, f, t);
}

/* Sender and recipient of one SMS. */
static void sms_parties(struct gen *g, struct smpp *s, const struct smpp_op *op)
{
	struct gen_rng *r = &g->rng;
	const struct gen_text *t = &g->corpus.t[op->text];
	struct gen_number a, b;

	if (op->kind == OP_DELIVER) {
		/* a subscriber's SMS handed to the ESME: to a service or a person */
		if (op->pattern == GEN_PAT_BLACKLISTED)
			blacklisted(g, &a);
		else if (gen_rng_chance(r, 0.05))
			gen_num_intl(&a, gen_rng_next(r));
		else
			subscriber(g, &a);
		if (gen_rng_below(r, 2))
			subscriber(g, &b);
		else if (gen_rng_below(r, 2))
			gen_num_service(&b, gen_rng_next(r));
		else
			gen_num_smsport(&b, gen_rng_next(r));
	} else {
		unsigned k = gen_rng_below(r, 100);
		if (op->pattern == GEN_PAT_BLACKLISTED)
			blacklisted(g, &a);
		else if ((t->fraud ? k < 40 : k < 10) && gen_rng_below(r, 2))
			gen_num_virtual(&a, gen_rng_next(r));
		else if (t->fraud ? k < 40 : k < 10)
			subscriber(g, &a);
		else if (t->fraud ? k < 75 : k < 40)
			gen_num_smsport(&a, gen_rng_next(r));
		else if (t->fraud ? k < 85 : k < 70)
			gen_num_service(&a, gen_rng_next(r));
		else if (t->fraud && k < 90)
			gen_num_intl(&a, gen_rng_next(r));
		else
			gen_num_alpha(&a, gen_rng_next(r));
		subscriber(g, &b);
	}
	s->src.num = a;
	s->dst.num = b;
	gen_num_smpp(r, &a, &s->src.ton, &s->src.npi, s->src.addr, sizeof(s->src.addr));
	gen_num_smpp(r, &b, &s->dst.ton, &s->dst.npi, s->dst.addr, sizeof(s->dst.addr));
}

static uint32_t op_cmd(const struct smpp_op *op)
{
	return op->kind == OP_SUBMIT    ? GEN_SMPP_SUBMIT_SM
	       : op->kind == OP_DELIVER ? GEN_SMPP_DELIVER_SM
	                                : GEN_SMPP_DATA_SM;
}

/* The SMS truth members, for the line on the last part. */
static void sms_fields(struct gen *g, struct gen_buf *f, const struct smpp *s,
                       const struct smpp_op *op)
{
	const struct gen_text *t = &g->corpus.t[op->text];

	gen_puts(f, ",\"op\":\"");
	gen_puts(f, op->kind == OP_SUBMIT    ? "submit_sm"
	            : op->kind == OP_DELIVER ? "deliver_sm"
	                                     : "data_sm");
	gen_puts(f, "\",\"from\":");
	gen_put_json_or_null(f, s->src.num.canon);
	gen_puts(f, ",\"from_raw\":");
	gen_put_json_or_null(f, s->src.addr);
	gen_puts(f, ",\"to\":");
	gen_put_json_or_null(f, s->dst.num.canon);
	gen_puts(f, ",\"to_raw\":");
	gen_put_json_or_null(f, s->dst.addr);
	gen_puts(f, ",\"data_coding\":");
	gen_putu(f, t->dc, 1);
	gen_puts(f, ",\"text\":");
	gen_put_json(f, t->text, t->len);
	gen_puts(f, ",\"parts\":");
	gen_putu(f, op->parts, 1);
}

/* One part of the current SMS into scratch slot i. */
static void sms_part(struct gen *g, struct smpp *s, const struct smpp_op *op, unsigned part,
                     size_t i, bool esme_side)
{
	const struct gen_text *t = &g->corpus.t[op->text];
	struct gen_smpp_sm sm = {0};
	bool last = part + 1 == op->parts;

	msg_slot(g, i);
	sm.cmd = op_cmd(op);
	sm.seq = esme_side ? s->seq_esme++ : s->seq_smsc++;
	s->part_seq[part] = sm.seq;
	sm.src = &s->src;
	sm.dst = &s->dst;
	sm.text = t;
	sm.method = op->method;
	if (op->parts > 1) {
		sm.off = s->cuts[part];
		sm.len = s->cuts[part + 1] - s->cuts[part];
	} else {
		sm.off = 0;
		sm.len = t->nbytes;
	}
	sm.ref = s->cur_ref;
	sm.total = op->parts;
	sm.seqnum = (uint8_t)(part + 1);
	sm.registered_delivery = (uint8_t)(op->kind == OP_DELIVER ? 0 : s->ref & 1);
	sm.service_type = op->kind == OP_DELIVER ? "" : s->system_type[0] ? "CMT" : "";
	gen_smpp_sm(&g->mb[i], &sm);
	uint8_t bad = smpp_damage(g);
	if (bad == GEN_BAD_SMPP_LENGTH)
		gen_smpp_lie_length(&g->rng, g->mb[i].p, g->mb[i].len);
	if (last)
		sms_fields(g, &g->fb[i], s, op);
	msg_finish(g, i, GEN_PROTO_SMPP, bad, last, &s->label);
	g->m[i].group_bad = &s->group_bad;
}

/* A PDU without a truth line into scratch slot i. */
static void smpp_plain(struct gen *g, size_t i,
                       void (*build)(struct gen *, struct smpp *, struct gen_buf *, uint32_t),
                       struct smpp *s, uint32_t arg)
{
	msg_slot(g, i);
	build(g, s, &g->mb[i], arg);
	uint8_t bad = smpp_damage(g);
	if (bad == GEN_BAD_SMPP_LENGTH)
		gen_smpp_lie_length(&g->rng, g->mb[i].p, g->mb[i].len);
	msg_finish(g, i, GEN_PROTO_SMPP, bad, false, NULL);
}

static void b_bind(struct gen *g, struct smpp *s, struct gen_buf *b, uint32_t arg)
{
	(void)g;
	(void)arg;
	gen_smpp_bind(b, s->bind_cmd, s->seq_esme++, s->system_id, s->password, s->system_type);
}

static void b_bind_resp(struct gen *g, struct smpp *s, struct gen_buf *b, uint32_t seq)
{
	(void)g;
	gen_smpp_resp_id(b, s->bind_cmd | GEN_SMPP_RESP, seq, s->smsc_id);
}

/* The response to the current operation's part with sequence number seq. */
static void b_sm_resp(struct gen *g, struct smpp *s, struct gen_buf *b, uint32_t seq)
{
	const struct smpp_op *op = &s->ops[s->cur];
	char id[24];

	if (op->kind == OP_DELIVER) {
		gen_smpp_resp_id(b, GEN_SMPP_DELIVER_SM | GEN_SMPP_RESP, seq, "");
		return;
	}
	size_t n = 8 + gen_rng_below(&g->rng, 9);
	bool hex = gen_rng_below(&g->rng, 2);
	gen_rng_token(&g->rng, id, n, hex);
	gen_smpp_resp_id(b, op_cmd(op) | GEN_SMPP_RESP, seq, id);
}

static void b_enquire(struct gen *g, struct smpp *s, struct gen_buf *b, uint32_t arg)
{
	(void)g;
	(void)arg;
	gen_smpp_empty(b, GEN_SMPP_ENQUIRE_LINK,
	               s->enquire_from_smsc ? s->seq_smsc++ : s->seq_esme++);
}

static void b_enquire_resp(struct gen *g, struct smpp *s, struct gen_buf *b, uint32_t seq)
{
	(void)g;
	(void)s;
	gen_smpp_empty(b, GEN_SMPP_ENQUIRE_LINK | GEN_SMPP_RESP, seq);
}

static void b_unbind(struct gen *g, struct smpp *s, struct gen_buf *b, uint32_t arg)
{
	(void)g;
	(void)arg;
	gen_smpp_empty(b, GEN_SMPP_UNBIND, s->seq_esme++);
}

static void b_unbind_resp(struct gen *g, struct smpp *s, struct gen_buf *b, uint32_t seq)
{
	(void)g;
	(void)s;
	gen_smpp_empty(b, GEN_SMPP_UNBIND | GEN_SMPP_RESP, seq);
}

/*
 * One step of an SMPP session: each phase writes one batch of PDUs (a
 * burst SMS puts all its parts in one write and all their responses in
 * the next; a stop-and-wait SMS alternates part and response) and moves
 * on.  The SMS truth line rides on its last part.  False when finished.
 */
static bool run_smpp(struct gen *g, struct flow *f, uint64_t t)
{
	struct smpp *s = &f->u.smpp;
	struct gen_rng *r = &g->rng;
	uint64_t next = t;

	switch (s->phase) {
	case P_BIND:
		t = gen_tcp_open(g->net, &f->conn, t);
		smpp_plain(g, 0, b_bind, s, 0);
		t = send_msgs(g, f, 0, 1, t) + MIN_TURN_US;
		s->phase = P_BIND_RESP;
		next = t + gen_rng_range(r, 2000, 20000);
		break;
	case P_BIND_RESP:
		smpp_plain(g, 0, b_bind_resp, s, s->seq_esme - 1);
		t = send_msgs(g, f, 1, 1, t) + MIN_TURN_US;
		s->phase = s->nops ? P_OP : P_UNBIND;
		next = t + gen_rng_range(r, 20000, 500000);
		break;
	case P_OP: {
		const struct smpp_op *op = &s->ops[s->cur];
		if (op->kind == OP_ENQUIRE) {
			smpp_plain(g, 0, b_enquire, s, 0);
			t = send_msgs(g, f, s->enquire_from_smsc ? 1 : 0, 1, t) + MIN_TURN_US;
			s->phase = P_OP_RESP;
			next = t + gen_rng_range(r, 1000, 10000);
			break;
		}
		bool esme = op->kind != OP_DELIVER;
		if (s->part == 0) {
			const struct gen_text *tx = &g->corpus.t[op->text];
			sms_parties(g, s, op);
			s->label.text = tx;
			s->label.pattern = op->pattern;
			s->group_bad = 0;
			s->cur_ref = (uint16_t)(op->method == GEN_SMS_UDH8 ? s->ref++ & 0xff
			                                                   : s->ref++ & 0xffff);
			if (op->parts > 1)
				gen_sms_split(tx, gen_sms_per_part(tx, op->method), s->cuts,
				              MAX_PARTS);
		}
		size_t n = 0;
		if (op->burst) {
			for (unsigned p = 0; p < op->parts; p++)
				sms_part(g, s, op, p, n++, esme);
		} else {
			sms_part(g, s, op, s->part, n++, esme);
		}
		t = send_msgs(g, f, esme ? 0 : 1, n, t) + MIN_TURN_US;
		s->phase = P_OP_RESP;
		next = t + gen_rng_range(r, 3000, 40000);
		break;
	}
	case P_OP_RESP: {
		const struct smpp_op *op = &s->ops[s->cur];
		size_t n = 0;
		int dir;
		if (op->kind == OP_ENQUIRE) {
			dir = s->enquire_from_smsc ? 0 : 1;
			smpp_plain(g, n++, b_enquire_resp, s,
			           s->enquire_from_smsc ? s->seq_smsc - 1 : s->seq_esme - 1);
		} else {
			dir = op->kind == OP_DELIVER ? 0 : 1;
			if (op->burst) {
				for (unsigned p = 0; p < op->parts; p++)
					smpp_plain(g, n++, b_sm_resp, s, s->part_seq[p]);
			} else {
				smpp_plain(g, n++, b_sm_resp, s, s->part_seq[s->part]);
			}
		}
		t = send_msgs(g, f, dir, n, t) + MIN_TURN_US;
		if (op->kind != OP_ENQUIRE && !op->burst && s->part + 1 < op->parts) {
			s->part++;
			s->phase = P_OP;
			next = t + gen_rng_range(r, 500, 5000);
			break;
		}
		if (op->kind != OP_ENQUIRE) {
			const struct gen_text *tx = &g->corpus.t[op->text];
			g->sms_events++;
			g->smpp_sms++;
			g->dc_count[tx->dc == 0 ? 0 : tx->dc == 3 ? 1 : 2]++;
			if (op->parts > 1)
				g->concat_sms++;
			if (op->method == GEN_SMS_PAYLOAD)
				g->payload_sms++;
		}
		s->part = 0;
		s->cur++;
		s->phase = s->cur < s->nops ? P_OP : P_UNBIND;
		next = t + gen_rng_exp(r, s->gap_us);
		break;
	}
	case P_UNBIND:
		smpp_plain(g, 0, b_unbind, s, 0);
		t = send_msgs(g, f, 0, 1, t) + MIN_TURN_US;
		s->phase = P_UNBIND_RESP;
		next = t + gen_rng_range(r, 1000, 10000);
		break;
	case P_UNBIND_RESP:
		smpp_plain(g, 0, b_unbind_resp, s, s->seq_esme - 1);
		t = send_msgs(g, f, 1, 1, t) + MIN_TURN_US;
		s->phase = P_CLOSE;
		next = t + gen_rng_range(r, 1000, 50000);
		break;
	default:
		gen_tcp_close(g->net, &f->conn, 0, t);
		return false;
	}
	schedule(g, f, next);
	return true;
}

/* ---- the arrival process ------------------------------------------------ */

/* Start one unit of activity at t; returns the messages it reserved. */
static uint64_t spawn(struct gen *g, uint64_t t)
{
	struct gen_rng *r = &g->rng;
	const struct opts *o = &g->o;
	uint64_t left = o->n - g->reserved;
	uint64_t before = g->reserved;

	bool sms;
	if (o->sms <= 0)
		sms = false;
	else if (o->sms >= 1)
		sms = true;
	else
		sms = gen_rng_chance(
		    r, (double)g->sms_reserved < o->sms * (double)(g->reserved + 1) ? 0.9 : 0.1);

	if (left == 1) {
		/* a keep-alive nobody answers */
		start_simple(g, F_OPTIONS, t, 1, 0, GEN_PAT_NORMAL);
		g->reserved += 1;
		return 1;
	}
	if (sms) {
		bool sip = o->sip_sms >= 1 ||
		           (o->sip_sms > 0 &&
		            gen_rng_chance(r, (double)g->planned_sip_sms <
		                                      o->sip_sms * (double)(g->planned_sms + 1)
		                                  ? 0.9
		                                  : 0.1));
		if (left < 8 || sip) {
			uint32_t text = pick_text(g);
			uint8_t pat = gen_rng_chance(r, o->blacklisted) ? GEN_PAT_BLACKLISTED
			                                                : GEN_PAT_NORMAL;
			/* SMS over IP, or text/plain (also when the text is too long
			 * for it, or its parts do not fit in what is left of -n) */
			uint64_t used = 0;
			if (gen_rng_chance(r, o->sms_3gpp))
				used = start_sms3gpp(g, t, text, pat, left);
			if (used == 0) {
				start_simple(g, F_MESSAGE, t, 2, text, pat);
				used = 2;
			}
			g->reserved += used;
			g->sms_reserved += used;
			g->planned_sms++;
			g->planned_sip_sms++;
		} else {
			start_smpp(g, t, left);
		}
		return g->reserved - before;
	}

	unsigned pick = gen_rng_below(r, 100);
	if (left < 7 || pick < 8) {
		start_simple(g, F_OPTIONS, t, 2, 0, GEN_PAT_NORMAL);
		g->reserved += 2;
		return 2;
	}
	if (pick < 13 && left >= 4) {
		start_simple(g, F_REGISTER, t, 4, 0, GEN_PAT_NORMAL);
		g->reserved += 4;
		return 4;
	}

	struct gen_number caller, callee;
	double next_calls = (double)(g->calls + 1);
	if (o->wangiri > 0 && (double)g->wangiri_calls < o->wangiri * next_calls &&
	    gen_rng_chance(r, o->wangiri >= 1 ? 1 : 0.5) && left >= 14) {
		/* one caller rings many numbers once each and hangs up */
		unsigned m = (unsigned)gen_rng_range(r, 10, 30);
		if (m > left / 7)
			m = (unsigned)(left / 7);
		gen_num_wangiri(&caller, gen_rng_next(r));
		uint64_t at = t;
		for (unsigned i = 0; i < m; i++) {
			subscriber(g, &callee);
			start_call(g, at, &caller, &callee, CV_WANGIRI, true, GEN_PAT_WANGIRI);
			at += gen_rng_exp(r, 300000);
		}
		g->calls += m;
		g->wangiri_calls += m;
		g->reserved += 7ull * m;
		return 7ull * m;
	}
	if (o->mass_call > 0 && (double)g->mass_calls < o->mass_call * next_calls &&
	    gen_rng_chance(r, o->mass_call >= 1 ? 1 : 0.5) && left >= 14) {
		/* one caller, many distinct callees within a minute, ordinary calls */
		unsigned m = (unsigned)gen_rng_range(r, 20, 60);
		if (m > left / 7)
			m = (unsigned)(left / 7);
		if (gen_rng_chance(r, 0.6))
			gen_num_virtual(&caller, gen_rng_next(r));
		else
			gen_num_landline(&caller, gen_rng_next(r));
		for (unsigned i = 0; i < m; i++) {
			subscriber(g, &callee);
			start_call(g, t + gen_rng_below(r, 60000000), &caller, &callee, CV_ANSWERED,
			           true, GEN_PAT_MASS_CALL);
		}
		g->calls += m;
		g->mass_calls += m;
		g->reserved += 7ull * m;
		return 7ull * m;
	}

	uint8_t pattern = GEN_PAT_NORMAL;
	if (gen_rng_chance(r, o->blacklisted)) {
		blacklisted(g, &caller);
		pattern = GEN_PAT_BLACKLISTED;
	} else {
		unsigned k = gen_rng_below(r, 100);
		if (k < 80)
			subscriber(g, &caller);
		else if (k < 95)
			gen_num_landline(&caller, gen_rng_next(r));
		else
			gen_num_intl(&caller, gen_rng_next(r));
	}
	unsigned k = gen_rng_below(r, 100);
	if (k < 85)
		subscriber(g, &callee);
	else if (k < 93)
		gen_num_landline(&callee, gen_rng_next(r));
	else
		gen_num_service(&callee, gen_rng_next(r));

	unsigned vk = gen_rng_below(r, 100);
	enum call_variant v = vk < 75 ? CV_ANSWERED : vk < 85 ? CV_FAILED : CV_CANCELLED;
	bool ring = gen_rng_chance(r, 0.6);
	unsigned msgs = call_messages(v, ring);
	start_call(g, t, &caller, &callee, v, ring, pattern);
	g->calls++;
	g->reserved += msgs;
	return msgs;
}

/* The arrival process: start a unit, then come back after an exponential
 * gap sized to its messages, until -n messages are planned. */
static bool run_spawner(struct gen *g, uint64_t t)
{
	if (g->reserved >= g->o.n)
		return false;
	uint64_t m = spawn(g, t);
	schedule(g, &g->spawner, t + gen_rng_exp(&g->rng, (double)m * 1e6 / g->o.rate));
	return true;
}

/* ---- options --------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: afgw-gen -n N -o FILE.pcap [options]\n"
	      "\n"
	      "Writes N realistic SIP and SMPP messages (a message is one SIP request or\n"
	      "response, or one SMPP PDU) as a classic pcap, and optionally the ground\n"
	      "truth: one JSON line per decoded event the gateway should print.\n"
	      "Same seed and flags give byte-identical files.\n"
	      "\n"
	      "output\n"
	      "  -n, --messages N        messages to write (default 10000)\n"
	      "  -o, --output FILE       the pcap to write (required)\n"
	      "      --truth FILE        ground truth, JSON Lines, in write order\n"
	      "      --blacklist-out FILE  the blacklisted pool, one canonical number a line\n"
	      "  -s, --seed S            random seed (default 1)\n"
	      "      --corpus FILE       SMS texts, TSV: id label category lang text\n"
	      "                          (default " DEFAULT_CORPUS ")\n"
	      "\n"
	      "time\n"
	      "      --start TIME        first timestamp, RFC 3339 UTC or Unix seconds\n"
	      "                          (default " DEFAULT_START ")\n"
	      "      --rate R            mean messages per second (default 2000)\n"
	      "\n"
	      "mix (P is a share between 0 and 1)\n"
	      "      --sms P             share of messages that are SMS traffic (SMPP or SIP\n"
	      "                          MESSAGE) rather than calls (default 0.4)\n"
	      "      --sip-sms P         share of SMS sent as SIP MESSAGE, not SMPP (0.2)\n"
	      "      --sms-3gpp P        share of SIP MESSAGE SMS sent as SMS over IP (an\n"
	      "                          RP-DATA / TPDU body, TS 24.341), not text/plain (0.5)\n"
	      "      --fraud P           share of SMS texts that are fraud (0.2)\n"
	      "      --blacklisted P     share of calls / SMS from the blacklisted pool (0.02)\n"
	      "      --wangiri P         share of calls that are Wangiri one-ring bursts (0.02)\n"
	      "      --mass-call P       share of calls from mass-calling runs (0.02)\n"
	      "      --big-sdp P         share of INVITEs with an SDP over 1500 bytes (0.05)\n"
	      "\n"
	      "transport\n"
	      "      --tcp P             share of SIP flows over TCP (0.2; SMPP is always TCP)\n"
	      "      --ipv6 P            share of flows over IPv6 (0.2)\n"
	      "      --vlan P            share of flows with an 802.1Q tag, a fifth of them\n"
	      "                          QinQ (0.1)\n"
	      "      --mtu N             IP MTU; bigger UDP datagrams are fragmented (1500)\n"
	      "      --mss N             largest TCP segment payload (1460)\n"
	      "      --tcp-split P       share of TCP writes also cut at a random offset (0.15)\n"
	      "      --tcp-reorder P     share of TCP writes with two adjacent segments\n"
	      "                          swapped (0)\n"
	      "      --tcp-retrans P     share of TCP segments sent twice (0)\n"
	      "\n"
	      "damage\n"
	      "      --bad P             share of messages damaged: truncated capture, lying\n"
	      "                          IP / UDP / SMPP lengths, malformed SIP headers,\n"
	      "                          garbage TCP payload; the truth names the damage (0)\n"
	      "\n"
	      "  -q, --quiet             no summary on stderr\n"
	      "  -h, --help              this text\n"
	      "\n"
	      "Exit status: 0 success, 1 runtime failure, 2 usage or bad input.\n",
	      f);
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool parse_share(const char *s, double *out)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !(v >= 0 && v <= 1))
		return false;
	*out = v;
	return true;
}

/* "2026-11-21T08:00:00[.ffffff]Z" or Unix seconds, to microseconds. */
static bool parse_time(const char *s, uint64_t *us)
{
	struct tm tm;
	uint64_t secs;

	if (parse_u64(s, &secs)) {
		*us = secs * 1000000;
		return true;
	}
	memset(&tm, 0, sizeof(tm));
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return false;
	uint64_t frac = 0, scale = 100000;
	if (*rest == '.') {
		rest++;
		while (*rest >= '0' && *rest <= '9') {
			frac += (uint64_t)(*rest - '0') * scale;
			scale /= 10;
			rest++;
		}
	}
	if (strcmp(rest, "Z") != 0)
		return false;
	time_t tt = timegm(&tm);
	if (tt < 0)
		return false;
	*us = (uint64_t)tt * 1000000 + frac;
	return true;
}

enum {
	O_TRUTH = 256,
	O_BLACKLIST_OUT,
	O_CORPUS,
	O_START,
	O_RATE,
	O_SMS,
	O_SIP_SMS,
	O_SMS_3GPP,
	O_TCP,
	O_IPV6,
	O_VLAN,
	O_FRAUD,
	O_BLACKLISTED,
	O_WANGIRI,
	O_MASS_CALL,
	O_BAD,
	O_REORDER,
	O_RETRANS,
	O_MTU,
	O_MSS,
	O_BIG_SDP,
	O_TCP_SPLIT,
};

/* Defaults, then the command line; 0, or -EINVAL with a message on stderr. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"messages", required_argument, NULL, 'n'},
	    {"output", required_argument, NULL, 'o'},
	    {"seed", required_argument, NULL, 's'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"truth", required_argument, NULL, O_TRUTH},
	    {"blacklist-out", required_argument, NULL, O_BLACKLIST_OUT},
	    {"corpus", required_argument, NULL, O_CORPUS},
	    {"start", required_argument, NULL, O_START},
	    {"rate", required_argument, NULL, O_RATE},
	    {"sms", required_argument, NULL, O_SMS},
	    {"sip-sms", required_argument, NULL, O_SIP_SMS},
	    {"sms-3gpp", required_argument, NULL, O_SMS_3GPP},
	    {"tcp", required_argument, NULL, O_TCP},
	    {"ipv6", required_argument, NULL, O_IPV6},
	    {"vlan", required_argument, NULL, O_VLAN},
	    {"fraud", required_argument, NULL, O_FRAUD},
	    {"blacklisted", required_argument, NULL, O_BLACKLISTED},
	    {"wangiri", required_argument, NULL, O_WANGIRI},
	    {"mass-call", required_argument, NULL, O_MASS_CALL},
	    {"bad", required_argument, NULL, O_BAD},
	    {"tcp-reorder", required_argument, NULL, O_REORDER},
	    {"tcp-retrans", required_argument, NULL, O_RETRANS},
	    {"mtu", required_argument, NULL, O_MTU},
	    {"mss", required_argument, NULL, O_MSS},
	    {"big-sdp", required_argument, NULL, O_BIG_SDP},
	    {"tcp-split", required_argument, NULL, O_TCP_SPLIT},
	    {NULL, 0, NULL, 0},
	};
	struct {
		int id;
		double *p;
	} shares[] = {
	    {O_SMS, &o->sms},
	    {O_SIP_SMS, &o->sip_sms},
	    {O_SMS_3GPP, &o->sms_3gpp},
	    {O_TCP, &o->tcp},
	    {O_IPV6, &o->ipv6},
	    {O_VLAN, &o->vlan},
	    {O_FRAUD, &o->fraud},
	    {O_BLACKLISTED, &o->blacklisted},
	    {O_WANGIRI, &o->wangiri},
	    {O_MASS_CALL, &o->mass_call},
	    {O_BAD, &o->bad},
	    {O_REORDER, &o->reorder},
	    {O_RETRANS, &o->retrans},
	    {O_BIG_SDP, &o->big_sdp},
	    {O_TCP_SPLIT, &o->tcp_split},
	};
	uint64_t v;
	int c;

	o->n = 10000;
	o->seed = 1;
	o->rate = 2000;
	o->sms = 0.4;
	o->sip_sms = 0.2;
	o->sms_3gpp = 0.5;
	o->fraud = 0.2;
	o->blacklisted = 0.02;
	o->wangiri = 0.02;
	o->mass_call = 0.02;
	o->big_sdp = 0.05;
	o->tcp = 0.2;
	o->ipv6 = 0.2;
	o->vlan = 0.1;
	o->tcp_split = 0.15;
	o->mtu = 1500;
	o->mss = 1460;
	parse_time(DEFAULT_START, &o->start_us);

	while ((c = getopt_long(argc, argv, "n:o:s:qh", lo, NULL)) != -1) {
		const char *name = NULL;
		for (size_t i = 0; lo[i].name; i++)
			if (lo[i].val == c)
				name = lo[i].name;
		bool share = false;
		for (size_t i = 0; i < AFGW_GEN_N(shares); i++) {
			if (shares[i].id == c) {
				share = true;
				if (!parse_share(optarg, shares[i].p))
					goto bad_value;
			}
		}
		if (share)
			continue;
		switch (c) {
		case 'n':
			if (!parse_u64(optarg, &o->n) || o->n > 1000000000000ull)
				goto bad_value;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 's':
			if (!parse_u64(optarg, &o->seed))
				goto bad_value;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case O_TRUTH:
			o->truth = optarg;
			break;
		case O_BLACKLIST_OUT:
			o->blacklist_out = optarg;
			break;
		case O_CORPUS:
			o->corpus = optarg;
			break;
		case O_START:
			if (!parse_time(optarg, &o->start_us))
				goto bad_value;
			break;
		case O_RATE: {
			char *end;
			o->rate = strtod(optarg, &end);
			if (*end || !(o->rate >= 0.001 && o->rate <= 1e9))
				goto bad_value;
			break;
		}
		case O_MTU:
			if (!parse_u64(optarg, &v) || v < 576 || v > 9216)
				goto bad_value;
			o->mtu = (unsigned)v;
			break;
		case O_MSS:
			if (!parse_u64(optarg, &v) || v < 64 || v > 9176)
				goto bad_value;
			o->mss = (unsigned)v;
			break;
		default:
			usage(stderr);
			return -EINVAL;
		}
		continue;
	bad_value:
		fprintf(stderr, "afgw-gen: bad value for --%s: '%s'\n", name ? name : "?", optarg);
		return -EINVAL;
	}
	if (optind < argc) {
		fprintf(stderr, "afgw-gen: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->out) {
		fputs("afgw-gen: -o FILE.pcap is required (see --help)\n", stderr);
		return -EINVAL;
	}
	return 0;
}

static int write_blacklist(const struct gen *g, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "afgw-gen: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < g->nblack; i++)
		fprintf(f, "%s\n", g->blacklist[i].canon);
	if (fclose(f) != 0) {
		fprintf(stderr, "afgw-gen: %s: write error\n", path);
		return -EIO;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	static struct gen gs;
	struct gen *g = &gs;
	struct gen_net_stats st;
	int rc = 1;

	if (parse_opts(argc, argv, &g->o) != 0)
		return 2;
	double t_begin = now_s();

	if (g->o.corpus) {
		if (gen_corpus_load(&g->corpus, g->o.corpus) != 0)
			return 2;
	} else if (gen_corpus_load(&g->corpus, DEFAULT_CORPUS) != 0) {
		fputs("afgw-gen: using the built-in corpus\n", stderr);
		gen_corpus_builtin(&g->corpus);
	}
	if (g->corpus.skipped && !g->o.quiet)
		fprintf(stderr, "afgw-gen: %zu corpus lines skipped (bad fields, label or UTF-8)\n",
		        g->corpus.skipped);

	gen_rng_seed(&g->rng, g->o.seed);
	g->subs_key = gen_mix64(g->o.seed ^ 0x5b5c);
	make_blacklist(g);
	if (g->o.blacklist_out && write_blacklist(g, g->o.blacklist_out) != 0)
		goto out;

	struct gen_net_opts no = {
	    .mtu = g->o.mtu,
	    .mss = g->o.mss,
	    .reorder = g->o.reorder,
	    .retrans = g->o.retrans,
	    .tcp_split = g->o.tcp_split,
	};
	g->net = gen_net_open(g->o.out, g->o.truth, &no, &g->rng);
	if (!g->net)
		goto out;
	for (size_t i = 0; i < NBUF; i++) {
		gen_buf_init(&g->mb[i], 4096);
		gen_buf_init(&g->fb[i], 4096);
	}
	gen_buf_init(&g->body, 8192);

	g->spawner.kind = F_SPAWN;
	if (g->o.n)
		schedule(g, &g->spawner, g->o.start_us);
	while (g->nheap) {
		struct ev e = pop_event(g);
		g->now = e.t;
		gen_net_flush(g->net, e.t);
		bool alive;
		switch (e.f->kind) {
		case F_SPAWN:
			run_spawner(g, e.t);
			continue;
		case F_CALL:
			alive = run_call(g, e.f, e.t);
			break;
		case F_SMPP:
			alive = run_smpp(g, e.f, e.t);
			break;
		case F_SMS3GPP:
			alive = run_sms3gpp(g, e.f, e.t);
			break;
		default:
			alive = run_simple(g, e.f, e.t);
			break;
		}
		if (!alive)
			flow_free(g, e.f);
	}
	if (gen_net_close(g->net, &st) != 0)
		goto out;
	g->net = NULL;
	rc = 0;

	double took = now_s() - t_begin;
	if (st.messages != g->o.n)
		fprintf(stderr, "afgw-gen: internal error: wrote %llu messages, asked for %llu\n",
		        (unsigned long long)st.messages, (unsigned long long)g->o.n);
	if (!g->o.quiet) {
		fprintf(
		    stderr,
		    "afgw-gen: messages=%llu sip=%llu smpp_pdus=%llu sms=%llu "
		    "(smpp %llu, sip_message %llu of which sms_over_ip %llu, concatenated %llu, "
		    "payload %llu, dc0 %llu, dc3 %llu, dc8 %llu) calls=%llu smpp_sessions=%llu "
		    "truth_lines=%llu bad=%llu\n",
		    (unsigned long long)st.messages, (unsigned long long)st.sip,
		    (unsigned long long)(st.messages - st.sip), (unsigned long long)g->sms_events,
		    (unsigned long long)g->smpp_sms, (unsigned long long)g->sip_sms,
		    (unsigned long long)g->sip_3gpp, (unsigned long long)g->concat_sms,
		    (unsigned long long)g->payload_sms, (unsigned long long)g->dc_count[0],
		    (unsigned long long)g->dc_count[1], (unsigned long long)g->dc_count[2],
		    (unsigned long long)g->calls_started, (unsigned long long)g->smpp_sessions,
		    (unsigned long long)st.truth_lines, (unsigned long long)st.bad);
		fprintf(stderr,
		        "afgw-gen: packets=%llu bytes=%llu fragments=%llu retransmitted=%llu "
		        "reordered=%llu truncated=%llu\n",
		        (unsigned long long)st.packets, (unsigned long long)st.bytes,
		        (unsigned long long)st.fragments, (unsigned long long)st.retrans,
		        (unsigned long long)st.reordered, (unsigned long long)st.truncated);
		fprintf(stderr, "afgw-gen: %.2f s, %.0f messages/s, simulated %.1f s\n", took,
		        took > 0 ? (double)st.messages / took : 0.0,
		        (double)(g->now - g->o.start_us) / 1e6);
	}
out:
	if (g->net)
		gen_net_close(g->net, NULL);
	for (size_t i = 0; i < NBUF; i++) {
		gen_buf_fini(&g->mb[i]);
		gen_buf_fini(&g->fb[i]);
	}
	gen_buf_fini(&g->body);
	while (g->free_flows) {
		struct flow *f = g->free_flows;
		g->free_flows = f->next_free;
		free(f);
	}
	free(g->heap);
	gen_corpus_free(&g->corpus);
	return rc;
}
