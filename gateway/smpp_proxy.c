/*
 * smpp_proxy.c - smpp-proxy mode (smpp_proxy.h): ESMEs bind here, every
 * session gets its own bind to the SMSC, PDUs are relayed between the two
 * legs and the SMS among them screened on the way.
 *
 * A session is two connections, c[ESME] and c[SMSC], and a state: waiting
 * for the ESME's bind, connecting and binding upstream, bound, closing.
 * Each connection frames its input into PDUs itself (the 16-byte header
 * is checked before a byte of the body is kept: a command_length below 16
 * or above memcap.smpp_max_pdu gets generic_nack ESME_RINVCMDLEN and the
 * pair is torn down, since the stream cannot be trusted after it).
 *
 * Sequence numbers.  Each leg has its own: a request relayed from one leg
 * to the other gets the next number of the leg it goes out on and an
 * entry in that leg's table of outstanding requests (at most smpp.window,
 * plus the proxy's own enquire_link and unbind), and its response is
 * relayed back with the original number.  A request that would make more
 * than smpp.window outstanding in its direction is answered
 * ESME_RTHROTTLED at once.
 *
 * Screening.  An SMS PDU (submit_sm, data_sm, submit_multi from the ESME;
 * deliver_sm, data_sm from the SMSC) is copied into a hold and handed to
 * the pipeline as a TCP segment of its leg's flow (a raw IP frame from the
 * peer's address to ours, the leg's own TCP sequence numbers; an RST ends
 * the flow at teardown), with the pipeline's frame number kept in the
 * hold.  A verdict note names the frames of every part of its message,
 * and each finds its hold: one verdict releases or refuses exactly the
 * parts the decoder joined.  Parts are also grouped here by the decoder's
 * own key, to refuse a second copy of a part (the decoder would ignore it,
 * so it would never get a verdict) and to notice a sender that waits for
 * its parts' answers (smpp.part_wait_ms: the decoder then lets those
 * messages go as they are).  A hold whose frame the pipeline has finished
 * without a note (afgw_pipeline_done_seq) made no message and is relayed;
 * one still waiting at its deadline is relayed unscreened (fail-open),
 * counted; a session's holds go with it.
 *
 * Threads: one, the caller's, which is also the pipeline's capture thread
 * and score stage; verdict notes arrive inside afgw_pipeline_frame/_poll
 * calls made from here, so a note only queues output and marks sessions
 * for teardown, which happens at the end of a step.
 *
 * Deliberately not done: SMPP over TLS, outbind, and replace_sm /
 * broadcast_sm (refused: they would change or fan out a message after it
 * was screened).
 */
#include "afgw/smpp_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "afgw/capture.h"
#include "afgw/log.h"
#include "afgw/number.h"
#include "afgw/sms.h"
#include "afgw/smpp.h"

enum { ESME = 0, SMSC = 1 };

enum state {
	S_FREE,
	S_AWAIT_BIND,  /* ESME connected, no bind yet */
	S_CONNECTING,  /* bind accepted here, connecting to the SMSC */
	S_BINDING,     /* bind sent to the SMSC, waiting for its resp */
	S_BOUND,
	S_CLOSING,     /* unbind under way, or flushing a last answer */
};

#define HDR 16
#define READ_CHUNK 65536
#define OUT_HIGH (256u * 1024)     /* stop reading what would add to a backlog */
#define OUT_MAX (4u * 1024 * 1024) /* a backlog beyond this: the peer does not read */
#define UNBIND_GRACE_MS 2000
#define SCAN_MS 100
#define TICK_MS 500
#define SEG_MAX 32768              /* payload of one synthetic TCP segment */
#define HOLD_BUCKETS 65536
#define GROUP_BUCKETS 4096
#define HOLD_CAP_MIN 512            /* a recycled hold fits every ordinary SMS PDU */
#define FREE_HOLDS_MAX 4096
#define ACCEPT_BATCH 256

struct buf {
	uint8_t *p;
	size_t len, cap;
};

struct pend {
	uint32_t my_seq;   /* on the leg it was sent on */
	uint32_t orig_seq; /* on the leg it came from */
	uint32_t cmd;
	uint64_t sent_ms;
};

struct sess;

struct conn {
	int fd;
	unsigned side;
	struct sess *s;
	struct buf in, out;
	uint64_t pdu_ms;          /* a PDU has been begun since (0: none) */
	uint64_t rx_ms;           /* last byte read */
	uint32_t next_seq;        /* for requests sent on this leg */
	uint32_t enq_seq;         /* our enquire_link outstanding (0: none) */
	uint64_t enq_ms;
	uint32_t unbind_seq;      /* our unbind outstanding */
	struct pend *pend;        /* requests relayed onto this leg */
	unsigned n_pend;
	uint32_t events;          /* registered with epoll */
	bool dirty;               /* on the flush list */
	struct conn *next_dirty;
	struct sockaddr_storage peer, self;
	uint32_t tcp_seq;         /* of the synthetic segments from the peer */
	bool fed;                 /* the pipeline has seen this leg's flow */
};

struct sess {
	uint32_t id, gen;
	enum state state;
	struct conn c[2];
	uint32_t bind_cmd, bind_seq;   /* the ESME's bind */
	bool tx, rx;                   /* bound to send / to receive */
	unsigned inflight[2];          /* requests from side i not answered back yet */
	unsigned held;                 /* holds of this session */
	uint64_t start_ms, activity_ms, close_ms;
	int reason;                    /* teardown counter once dying, -1: none */
	bool dying;
	struct sess *next_dying;
	struct hold *holds;            /* its PDUs held for a verdict */
	uint8_t *bind_pdu;             /* the bind for the SMSC, until sent */
	uint32_t bind_len;
	uint32_t up_bind_seq;          /* its sequence number on the SMSC leg */
	bool flush_close;              /* a last answer is queued: close once it is out */
};

/*
 * A concatenated SMS some of whose parts are held: keyed exactly as the
 * decoder's reassembly keys it (canonical numbers, reference, total), and
 * proxy-wide as the decoder's table is worker-wide, so that a second copy
 * of a part number is recognised here.  The decoder keeps the first copy
 * and ignores the others, so a second copy would never get a verdict of
 * its own: it is refused instead.
 */
struct group {
	char from[AFGW_NUMBER_MAX], to[AFGW_NUMBER_MAX];
	uint8_t from_len, to_len;
	uint16_t ref;
	bool ref16;
	uint8_t total;
	uint8_t have[32];              /* part numbers taken */
	unsigned held;                 /* holds pointing here */
	bool released;                 /* asked the decoder to let it go (part_wait_ms) */
	struct group *next;            /* hash chain */
};

struct hold {
	uint64_t seq;                  /* the pipeline's frame */
	struct sess *s;
	unsigned side;                 /* where it came from */
	uint32_t cmd, orig_seq;
	struct group *g;               /* a part's message, or NULL */
	uint64_t deadline_ms;
	bool part;                     /* in px->parts (else px->single) */
	struct hold *prev, *next;      /* deadline list */
	struct hold *sprev, *snext;    /* the session's holds */
	struct hold *hnext;            /* hash chain */
	uint32_t len, cap;             /* of pdu */
	struct hold *free_next;        /* on the free list */
	uint8_t pdu[];
};

struct hlist {
	struct hold *head, *tail;
};

struct afgw_smpp_proxy {
	const struct afgw_config *cfg;
	const struct afgw_smpp_accounts *acc;
	struct afgw_pipeline *p;
	int ep, lfd;
	struct sockaddr_storage up;
	socklen_t up_len;
	struct sess **sess;            /* by id */
	uint32_t n_sess_slots;
	uint32_t *free_ids;
	uint32_t n_free;
	uint32_t n_open, n_bound;
	uint32_t hi_id;                /* ids below have been used */
	uint32_t window;
	uint64_t now_ms;
	uint64_t next_scan_ms, next_tick_ms;
	struct hold *bucket[HOLD_BUCKETS];
	struct group *gbucket[GROUP_BUCKETS];
	struct hold *free_holds;       /* recycled: no malloc per SMS once warm */
	unsigned n_free_holds;
	uint32_t next_isn;             /* first synthetic TCP sequence number of a leg */
	struct hlist single, parts;    /* by deadline (= by insertion) */
	uint64_t held, held_bytes;
	struct conn *dirty;
	struct sess *dying;
	bool stopping;                 /* afgw_smpp_proxy_close: no more input */
	bool accept_paused;            /* out of descriptors: listening socket off epoll */
	int wake_fd;                   /* the pipeline's (several workers), or -1 */
	uint64_t seen_done;            /* afgw_pipeline_done_seq() last acted on */
	uint8_t *frame;                /* one synthetic segment */
	bool upstream_down;            /* logged once per outage */
	uint64_t c[AFGW_PX_C_COUNT];
};

static const char *const counter_names[AFGW_PX_C_COUNT] = {
	[AFGW_PX_C_CONNECTIONS] = "connections",
	[AFGW_PX_C_REFUSED_SESSIONS] = "refused_sessions",
	[AFGW_PX_C_BINDS] = "binds",
	[AFGW_PX_C_BIND_BAD_CREDENTIALS] = "bind_bad_credentials",
	[AFGW_PX_C_BIND_REFUSED_UPSTREAM] = "bind_refused_upstream",
	[AFGW_PX_C_BIND_UPSTREAM_DOWN] = "bind_upstream_down",
	[AFGW_PX_C_PDUS_FROM_ESME] = "pdus_from_esme",
	[AFGW_PX_C_PDUS_FROM_SMSC] = "pdus_from_smsc",
	[AFGW_PX_C_SCREENED] = "screened",
	[AFGW_PX_C_RELAYED] = "relayed",
	[AFGW_PX_C_BLOCKED] = "blocked",
	[AFGW_PX_C_UNSCREENED_DEADLINE] = "unscreened_deadline",
	[AFGW_PX_C_UNSCREENED_MEMORY] = "unscreened_memory",
	[AFGW_PX_C_UNSCREENED_OFF] = "unscreened_off",
	[AFGW_PX_C_UNSCREENED_NO_VERDICT] = "unscreened_no_verdict",
	[AFGW_PX_C_ORPHAN_VERDICTS] = "orphan_verdicts",
	[AFGW_PX_C_UNKNOWN_RESPONSES] = "unknown_responses",
	[AFGW_PX_C_DROPPED_CLOSED] = "dropped_closed",
	[AFGW_PX_C_REFUSED_DUPLICATES] = "refused_duplicate_parts",
	[AFGW_PX_C_PARTS_RELEASED] = "parts_released",
	[AFGW_PX_C_THROTTLED] = "throttled",
	[AFGW_PX_C_GENERIC_NACKS] = "generic_nacks",
	[AFGW_PX_C_REFUSED_REQUESTS] = "refused_requests",
	[AFGW_PX_C_ENQUIRE_LINKS] = "enquire_links",
	[AFGW_PX_C_CLOSED_ESME] = "closed_esme",
	[AFGW_PX_C_CLOSED_SMSC] = "closed_smsc",
	[AFGW_PX_C_CLOSED_UNBIND] = "closed_unbind",
	[AFGW_PX_C_CLOSED_BIND_TIMEOUT] = "closed_bind_timeout",
	[AFGW_PX_C_CLOSED_PDU_TIMEOUT] = "closed_pdu_timeout",
	[AFGW_PX_C_CLOSED_RESPONSE_TIMEOUT] = "closed_response_timeout",
	[AFGW_PX_C_CLOSED_INACTIVITY] = "closed_inactivity",
	[AFGW_PX_C_CLOSED_BAD_LENGTH] = "closed_bad_length",
	[AFGW_PX_C_CLOSED_OVERFLOW] = "closed_overflow",
};

const char *afgw_smpp_proxy_counter_name(enum afgw_px_counter c)
{
	return (unsigned)c < AFGW_PX_C_COUNT ? counter_names[c] : "?";
}

/* ---- buffers ---------------------------------------------------------- */

static int buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->p, b->p + n, b->len - n);
		b->len -= n;
	}
}

/* An idle connection keeps no memory: thousands of quiet binds are cheap.
 * (A busy one keeps its buffers: freeing 64 KiB after every read cost
 * more than the screening.) */
static void buf_shrink(struct buf *b)
{
	if (b->len == 0 && b->cap) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}

static void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- accounts --------------------------------------------------------- */
/* (the parser lives in smpp_accounts.c) */

/* ---- sessions --------------------------------------------------------- */

static struct conn *peer_of(struct conn *c)
{
	return &c->s->c[!c->side];
}

static void kill_sess(struct afgw_smpp_proxy *px, struct sess *s, int reason)
{
	if (s->dying)
		return;
	s->dying = true;
	s->reason = reason;
	s->next_dying = px->dying;
	px->dying = s;
}

static void mark_dirty(struct afgw_smpp_proxy *px, struct conn *c)
{
	if (!c->dirty && c->fd >= 0) {
		c->dirty = true;
		c->next_dirty = px->dirty;
		px->dirty = c;
	}
}

/* Queue bytes for a connection; a backlog past OUT_MAX means the peer has
 * stopped reading, and the pair goes. */
static void send_bytes(struct afgw_smpp_proxy *px, struct conn *c, const uint8_t *p, size_t n)
{
	if (c->fd < 0 || c->s->dying)
		return;
	if (c->out.len + n > OUT_MAX) {
		kill_sess(px, c->s, AFGW_PX_C_CLOSED_OVERFLOW);
		return;
	}
	if (buf_reserve(&c->out, n) != 0) {
		kill_sess(px, c->s, AFGW_PX_C_CLOSED_OVERFLOW);
		return;
	}
	memcpy(c->out.p + c->out.len, p, n);
	c->out.len += n;
	mark_dirty(px, c);
}

/* A PDU with header fields and an optional body. */
static void send_pdu(struct afgw_smpp_proxy *px, struct conn *c, uint32_t cmd, uint32_t status,
		     uint32_t seq, const uint8_t *body, size_t blen)
{
	uint8_t h[HDR];
	afgw_put_be32(h, (uint32_t)(HDR + blen));
	afgw_put_be32(h + 4, cmd);
	afgw_put_be32(h + 8, status);
	afgw_put_be32(h + 12, seq);
	send_bytes(px, c, h, HDR);
	if (blen)
		send_bytes(px, c, body, blen);
}

/*
 * The response to request cmd with an error status.  SMPP 3.4 returns no
 * body with an error for the bind and submit responses; deliver_sm_resp
 * and data_sm_resp keep their (empty) message_id.
 */
static void send_error(struct afgw_smpp_proxy *px, struct conn *c, uint32_t cmd, uint32_t seq,
		       uint32_t status)
{
	static const uint8_t nul = 0;
	bool id = cmd == AFGW_SMPP_DELIVER_SM || cmd == AFGW_SMPP_DATA_SM;
	send_pdu(px, c, cmd | AFGW_SMPP_RESP_BIT, status, seq, &nul, id ? 1 : 0);
}

static void generic_nack(struct afgw_smpp_proxy *px, struct conn *c, uint32_t seq,
			 uint32_t status)
{
	px->c[AFGW_PX_C_GENERIC_NACKS]++;
	send_pdu(px, c, AFGW_SMPP_GENERIC_NACK, status, seq, NULL, 0);
}

static uint32_t next_seq(struct conn *c)
{
	/* 1 .. 0x7fffffff (SMPP 3.4 §5.1.4) */
	c->next_seq = c->next_seq >= 0x7fffffffu ? 1 : c->next_seq + 1;
	return c->next_seq;
}

/* Send a whole PDU (raw, its own header) as a request on leg c with a new
 * sequence number, remembering where its response goes. */
static int relay_request(struct afgw_smpp_proxy *px, struct conn *c, const uint8_t *pdu,
			 size_t len, uint32_t orig_seq)
{
	if (c->n_pend >= px->window)
		return -ENOBUFS;
	uint32_t seq = next_seq(c);
	struct pend *e = &c->pend[c->n_pend++];
	e->my_seq = seq;
	e->orig_seq = orig_seq;
	e->cmd = afgw_get_be32(pdu + 4);
	e->sent_ms = px->now_ms;
	uint8_t h[HDR];
	memcpy(h, pdu, 12);
	afgw_put_be32(h + 12, seq);
	send_bytes(px, c, h, HDR);
	send_bytes(px, c, pdu + HDR, len - HDR);
	return 0;
}

static int conn_events(struct afgw_smpp_proxy *px, struct conn *c, uint32_t ev)
{
	if (c->fd < 0 || ev == c->events)
		return 0;
	struct epoll_event e = { .events = ev, .data.ptr = c };
	if (epoll_ctl(px->ep, EPOLL_CTL_MOD, c->fd, &e) != 0)
		return -errno;
	c->events = ev;
	return 0;
}

/* What a connection waits for: output when it has a backlog (or is
 * connecting), input unless either leg's backlog is high. */
static void update_events(struct afgw_smpp_proxy *px, struct conn *c)
{
	if (c->fd < 0)
		return;
	struct conn *o = peer_of(c);
	uint32_t ev = 0;
	bool connecting = c->side == SMSC && c->s->state == S_CONNECTING;
	if (c->out.len || connecting)
		ev |= EPOLLOUT;
	if (!connecting && !c->s->flush_close && !px->stopping && c->out.len < OUT_HIGH &&
	    (o->fd < 0 || o->out.len < OUT_HIGH))
		ev |= EPOLLIN;
	conn_events(px, c, ev);
}

static void conn_close(struct afgw_smpp_proxy *px, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(px->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	buf_free(&c->in);
	buf_free(&c->out);
	c->n_pend = 0;
	c->enq_seq = c->unbind_seq = 0;
	c->pdu_ms = 0;
	c->events = 0;
}

static void hold_drop(struct afgw_smpp_proxy *px, struct hold *h);
static void feed_rst(struct afgw_smpp_proxy *px, struct conn *c);

/*
 * The session's held PDUs go with it (counted): nobody is left to answer,
 * and the ESME resends after it reconnects.  The decoder hears an RST on
 * each leg it has seen, so that a later connection with the same
 * addresses and ports starts a flow of its own (one still open would take
 * the new bytes for old ones).
 */
static void teardown(struct afgw_smpp_proxy *px, struct sess *s)
{
	if (s->reason >= 0)
		px->c[s->reason]++;
	if (s->state == S_BOUND || s->state == S_CLOSING) {
		if (s->tx || s->rx)
			px->n_bound--;
	}
	while (s->holds) {
		px->c[AFGW_PX_C_DROPPED_CLOSED]++;
		hold_drop(px, s->holds);
	}
	feed_rst(px, &s->c[ESME]);
	feed_rst(px, &s->c[SMSC]);
	conn_close(px, &s->c[ESME]);
	conn_close(px, &s->c[SMSC]);
	free(s->c[ESME].pend);
	free(s->c[SMSC].pend);
	s->c[ESME].pend = s->c[SMSC].pend = NULL;
	free(s->bind_pdu);
	s->bind_pdu = NULL;
	s->state = S_FREE;
	s->gen++;
	px->free_ids[px->n_free++] = s->id;
	px->n_open--;
}

static struct sess *sess_new(struct afgw_smpp_proxy *px, int fd)
{
	if (!px->n_free)
		return NULL;
	uint32_t id = px->free_ids[--px->n_free];
	struct sess *s = px->sess[id];
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			px->n_free++;
			return NULL;
		}
		s->id = id;
		px->sess[id] = s;
	}
	uint32_t gen = s->gen;
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->gen = gen;
	s->reason = -1;
	s->state = S_AWAIT_BIND;
	s->start_ms = s->activity_ms = px->now_ms;
	for (unsigned i = 0; i < 2; i++) {
		s->c[i].fd = -1;
		s->c[i].side = i;
		s->c[i].s = s;
		s->c[i].rx_ms = px->now_ms;
		s->c[i].tcp_seq = px->next_isn;
		px->next_isn += 0x01000193u; /* apart, whatever the id */
		s->c[i].pend = calloc(px->window, sizeof(struct pend));
	}
	if (!s->c[ESME].pend || !s->c[SMSC].pend) {
		free(s->c[ESME].pend);
		free(s->c[SMSC].pend);
		s->state = S_FREE;
		px->free_ids[px->n_free++] = id;
		return NULL;
	}
	s->c[ESME].fd = fd;
	px->n_open++;
	return s;
}

/* ---- holds ------------------------------------------------------------- */

static unsigned bucket_of(uint64_t seq)
{
	return (unsigned)(seq * 0x9e3779b97f4a7c15ull >> 48) & (HOLD_BUCKETS - 1);
}

static struct hold *hold_find(struct afgw_smpp_proxy *px, uint64_t seq)
{
	for (struct hold *h = px->bucket[bucket_of(seq)]; h; h = h->hnext)
		if (h->seq == seq)
			return h;
	return NULL;
}

static void list_remove(struct hlist *l, struct hold *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		l->head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		l->tail = h->prev;
	h->prev = h->next = NULL;
}

static void list_append(struct hlist *l, struct hold *h)
{
	h->next = NULL;
	h->prev = l->tail;
	if (l->tail)
		l->tail->next = h;
	else
		l->head = h;
	l->tail = h;
}

/* A hold for len bytes of PDU: a recycled one if it fits. */
static struct hold *hold_get(struct afgw_smpp_proxy *px, uint32_t len)
{
	struct hold *h = px->free_holds;
	if (h && h->cap >= len) {
		px->free_holds = h->free_next;
		px->n_free_holds--;
		return h;
	}
	uint32_t cap = len > HOLD_CAP_MIN ? len : HOLD_CAP_MIN;
	h = malloc(sizeof(*h) + cap);
	if (h)
		h->cap = cap;
	return h;
}

static void hold_put(struct afgw_smpp_proxy *px, struct hold *h)
{
	if (h->cap == HOLD_CAP_MIN && px->n_free_holds < FREE_HOLDS_MAX) {
		h->free_next = px->free_holds;
		px->free_holds = h;
		px->n_free_holds++;
	} else {
		free(h);
	}
}

static unsigned group_bucket(const struct group *g)
{
	uint32_t h = 2166136261u;
	for (unsigned i = 0; i < g->from_len; i++)
		h = (h ^ (uint8_t)g->from[i]) * 16777619u;
	for (unsigned i = 0; i < g->to_len; i++)
		h = (h ^ (uint8_t)g->to[i]) * 16777619u;
	h = (h ^ g->ref) * 16777619u;
	h = (h ^ g->total) * 16777619u;
	return h & (GROUP_BUCKETS - 1);
}

/* Unlink and free a hold (its group loses it; an empty group goes). */
static void hold_drop(struct afgw_smpp_proxy *px, struct hold *h)
{
	struct hold **pp = &px->bucket[bucket_of(h->seq)];
	while (*pp != h)
		pp = &(*pp)->hnext;
	*pp = h->hnext;
	list_remove(h->part ? &px->parts : &px->single, h);
	if (h->sprev)
		h->sprev->snext = h->snext;
	else
		h->s->holds = h->snext;
	if (h->snext)
		h->snext->sprev = h->sprev;
	px->held--;
	px->held_bytes -= h->len;
	h->s->held--;
	struct group *g = h->g;
	if (g && --g->held == 0) {
		struct group **q = &px->gbucket[group_bucket(g)];
		while (*q != g)
			q = &(*q)->next;
		*q = g->next;
		free(g);
	}
	hold_put(px, h);
}

/*
 * One held PDU gets its answer: relayed to the other leg (allow, warn, or
 * fail-open) or refused with the configured status (block).  counter
 * says which.  A hold whose session has gone is only dropped.
 */
static void hold_apply(struct afgw_smpp_proxy *px, struct hold *h, bool block, int counter)
{
	struct sess *s = h->s;
	if (s->dying || (s->state != S_BOUND && s->state != S_CLOSING)) {
		px->c[AFGW_PX_C_ORPHAN_VERDICTS]++;
		hold_drop(px, h);
		return;
	}
	struct conn *from = &s->c[h->side], *to = &s->c[!h->side];
	px->c[counter]++;
	if (block) {
		send_error(px, from, h->cmd, h->orig_seq,
			   h->side == ESME ? px->cfg->smpp.block_status
					   : px->cfg->smpp.deliver_block_status);
		s->inflight[h->side]--;
	} else if (relay_request(px, to, h->pdu, h->len, h->orig_seq) != 0) {
		/* cannot happen: a direction's requests on a leg are bounded by
		 * its inflight count, which the window bounds */
		send_error(px, from, h->cmd, h->orig_seq, AFGW_SMPP_ESME_RTHROTTLED);
		s->inflight[h->side]--;
	}
	hold_drop(px, h);
}

/*
 * The verdict of a message names the frames of all its parts (a
 * concatenated SMS) or its one frame, and each of them finds its hold.
 */
void afgw_smpp_proxy_verdict(void *ud, const struct afgw_verdict_note *n)
{
	struct afgw_smpp_proxy *px = ud;
	if (!n->sms)
		return;
	bool block = n->scanned && n->action == AFGW_BLOCK;
	int counter = !n->scanned ? AFGW_PX_C_UNSCREENED_NO_VERDICT
		      : block	  ? AFGW_PX_C_BLOCKED
				  : AFGW_PX_C_RELAYED;
	unsigned k = n->n_parts ? n->n_parts : 1;
	for (unsigned i = 0; i < k; i++) {
		uint64_t seq = n->first_seq;
		if (n->n_parts)
			memcpy(&seq, n->part_seqs + i * sizeof(uint64_t), sizeof(seq));
		struct hold *h = hold_find(px, seq);
		if (!h) {
			px->c[AFGW_PX_C_ORPHAN_VERDICTS]++;
			continue;
		}
		if (n->scanned)
			px->c[AFGW_PX_C_SCREENED]++;
		hold_apply(px, h, block, counter);
	}
}

/* ---- screening -------------------------------------------------------- */

/*
 * Is pdu a part of a concatenated SMS, and of which?  The same test and
 * the same key as the decoder's (dissect.c): a well-formed UDH concat IE
 * with more than one part, else the sar_* TLVs; canonical numbers.
 */
static bool part_of(const struct afgw_smpp_proxy *px, const struct afgw_smpp_pdu *pdu,
		    struct group *key, uint8_t *partno)
{
	struct afgw_str ud = pdu->has_message_payload && pdu->short_message.len == 0
				     ? pdu->message_payload
				     : pdu->short_message;
	uint8_t seq;
	struct afgw_sms_udh udh;
	memset(&udh, 0, sizeof(udh));
	memset(key, 0, sizeof(*key));
	if ((pdu->esm_class & 0x40) && ud.len &&
	    afgw_sms_udh_parse((const uint8_t *)ud.p, ud.len, &udh) == 0 && udh.concat &&
	    !udh.bad) {
		key->ref = udh.ref;
		key->ref16 = udh.ref16;
		key->total = udh.total;
		seq = udh.seq;
	} else if (pdu->has_sar) {
		key->ref = pdu->sar_msg_ref_num;
		key->ref16 = true;
		key->total = pdu->sar_total_segments;
		seq = pdu->sar_segment_seqnum;
	} else {
		return false;
	}
	if (key->total < 2 || seq < 1 || seq > key->total)
		return false;
	struct afgw_number f, t;
	afgw_number_canon(pdu->src.addr, pdu->src.ton, px->cfg->country_code, &f);
	afgw_number_canon(pdu->dst.addr, pdu->dst.ton, px->cfg->country_code, &t);
	if (f.len > sizeof(key->from) || t.len > sizeof(key->to))
		return false; /* the decoder screens such a part alone */
	memcpy(key->from, f.canon, f.len);
	key->from_len = (uint8_t)f.len;
	memcpy(key->to, t.canon, t.len);
	key->to_len = (uint8_t)t.len;
	*partno = seq;
	return true;
}

static struct group *group_find(struct afgw_smpp_proxy *px, const struct group *k)
{
	for (struct group *g = px->gbucket[group_bucket(k)]; g; g = g->next)
		if (g->ref == k->ref && g->ref16 == k->ref16 && g->total == k->total &&
		    g->from_len == k->from_len && g->to_len == k->to_len &&
		    !memcmp(g->from, k->from, k->from_len) && !memcmp(g->to, k->to, k->to_len))
			return g;
	return NULL;
}

/* IPv4 address of a v4 or v4-mapped v6 socket address, else NULL. */
static const uint8_t *v4_of(const struct sockaddr_storage *a, uint16_t *port)
{
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)a;
		*port = ntohs(s->sin_port);
		return (const uint8_t *)&s->sin_addr;
	}
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;
	*port = ntohs(s6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return (const uint8_t *)&s6->sin6_addr + 12;
	return NULL;
}

/*
 * One TCP segment of leg c's flow as a capture would show it (from the
 * peer to us, in a raw IP frame), given to the pipeline.  flags: TCP
 * flags (PSH ACK for data, RST to end the flow).
 */
static void feed_segment(struct afgw_smpp_proxy *px, struct conn *c, const uint8_t *data,
			 size_t n, uint8_t flags)
{
	uint16_t sport, dport;
	const uint8_t *s4 = v4_of(&c->peer, &sport), *d4 = v4_of(&c->self, &dport);
	uint8_t *f = px->frame, *t;
	size_t total;
	if (s4 && d4) {
		total = 20 + 20 + n;
		memset(f, 0, 20);
		f[0] = 0x45;
		f[2] = (uint8_t)(total >> 8);
		f[3] = (uint8_t)total;
		f[6] = 0x40; /* DF */
		f[8] = 64;
		f[9] = 6;
		memcpy(f + 12, s4, 4);
		memcpy(f + 16, d4, 4);
		t = f + 20;
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&c->peer;
		const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&c->self;
		total = 40 + 20 + n;
		memset(f, 0, 40);
		f[0] = 0x60;
		f[4] = (uint8_t)((20 + n) >> 8);
		f[5] = (uint8_t)(20 + n);
		f[6] = 6;
		f[7] = 64;
		memcpy(f + 8, &a->sin6_addr, 16);
		memcpy(f + 24, &b->sin6_addr, 16);
		t = f + 40;
	}
	memset(t, 0, 20);
	t[0] = (uint8_t)(sport >> 8);
	t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8);
	t[3] = (uint8_t)dport;
	afgw_put_be32(t + 4, c->tcp_seq);
	t[12] = 5 << 4;
	t[13] = flags;
	t[14] = 0xff;
	t[15] = 0xff;
	if (n)
		memcpy(t + 20, data, n);
	struct afgw_frame fr = {
		.ts_us = afgw_wall_us(),
		.data = f,
		.caplen = (uint32_t)total,
		.len = (uint32_t)total,
		.linktype = AFGW_LINK_RAW,
	};
	c->fed = true;
	c->tcp_seq += (uint32_t)n;
	afgw_pipeline_frame(px->p, &fr);
}

/* A PDU as the segments of at most SEG_MAX bytes that carry it (the
 * last one completes it: the frame its hold is filed under). */
static void feed(struct afgw_smpp_proxy *px, struct conn *c, const uint8_t *pdu, size_t len)
{
	for (size_t off = 0; off < len;) {
		size_t n = len - off < SEG_MAX ? len - off : SEG_MAX;
		feed_segment(px, c, pdu + off, n, 0x18 /* PSH ACK */);
		off += n;
	}
}

/* The leg's flow ends (teardown): an RST, so the decoder forgets it. */
static void feed_rst(struct afgw_smpp_proxy *px, struct conn *c)
{
	if (!c->fed || !px->p)
		return;
	c->fed = false;
	feed_segment(px, c, NULL, 0, 0x04);
}

/* An SMS PDU from leg c: throttle, hold and screen, or relay. */
static void screen(struct afgw_smpp_proxy *px, struct conn *c, const uint8_t *pdu, uint32_t len,
		   uint32_t cmd, uint32_t seq)
{
	struct sess *s = c->s;
	struct conn *to = peer_of(c);
	unsigned side = c->side;
	if (s->inflight[side] >= px->window) {
		px->c[AFGW_PX_C_THROTTLED]++;
		send_error(px, c, cmd, seq, AFGW_SMPP_ESME_RTHROTTLED);
		return;
	}
	s->inflight[side]++;
	if (!px->p || !px->cfg->smpp.screening) {
		px->c[AFGW_PX_C_UNSCREENED_OFF]++;
		relay_request(px, to, pdu, len, seq);
		return;
	}
	struct hold *h = NULL;
	if (px->held_bytes + len <= px->cfg->smpp.hold_bytes)
		h = hold_get(px, len);
	if (!h) {
		px->c[AFGW_PX_C_UNSCREENED_MEMORY]++;
		relay_request(px, to, pdu, len, seq);
		return;
	}
	uint32_t cap = h->cap;
	memset(h, 0, sizeof(*h));
	h->cap = cap;
	memcpy(h->pdu, pdu, len);
	h->len = len;
	h->s = s;
	h->side = side;
	h->cmd = cmd;
	h->orig_seq = seq;

	struct afgw_smpp_pdu d;
	struct group key;
	uint8_t partno = 0;
	bool part = afgw_smpp_parse(pdu, len, &d) == 0 && part_of(px, &d, &key, &partno);
	uint64_t wait = px->cfg->smpp.verdict_deadline_ms;
	if (part) {
		struct group *g = group_find(px, &key);
		unsigned bit = partno - 1u;
		if (g && (g->have[bit >> 3] & (1u << (bit & 7)))) {
			/* a second copy of a part still held: it would pass unscanned */
			hold_put(px, h);
			s->inflight[side]--;
			px->c[AFGW_PX_C_REFUSED_DUPLICATES]++;
			send_error(px, c, cmd, seq,
				   side == ESME ? px->cfg->smpp.block_status
						: px->cfg->smpp.deliver_block_status);
			return;
		}
		if (!g && (g = malloc(sizeof(*g)))) {
			*g = key;
			unsigned b = group_bucket(g);
			g->next = px->gbucket[b];
			px->gbucket[b] = g;
		}
		if (g) {
			g->have[bit >> 3] |= (uint8_t)(1u << (bit & 7));
			g->held++;
			h->g = g;
			h->part = true;
			wait += px->cfg->memcap.concat_timeout_s * 1000u + 1000u;
		}
	}
	h->deadline_ms = px->now_ms + wait;
	size_t nseg = (len + SEG_MAX - 1) / SEG_MAX;
	h->seq = afgw_pipeline_next_seq(px->p) + nseg - 1;
	unsigned b = bucket_of(h->seq);
	h->hnext = px->bucket[b];
	px->bucket[b] = h;
	list_append(h->part ? &px->parts : &px->single, h);
	h->snext = s->holds;
	if (s->holds)
		s->holds->sprev = h;
	s->holds = h;
	px->held++;
	px->held_bytes += len;
	s->held++;
	/* with one worker the verdict comes inside this call, and h may be gone */
	feed(px, c, pdu, len);
}

/* ---- the protocol ------------------------------------------------------ */

static bool is_bind(uint32_t cmd)
{
	return cmd == AFGW_SMPP_BIND_TRANSMITTER || cmd == AFGW_SMPP_BIND_RECEIVER ||
	       cmd == AFGW_SMPP_BIND_TRANSCEIVER;
}

/* Answer with status and close the pair once the answer is out. */
static void refuse_and_close(struct afgw_smpp_proxy *px, struct sess *s, struct conn *c,
			     uint32_t cmd, uint32_t seq, uint32_t status, int reason)
{
	send_error(px, c, cmd, seq, status);
	s->flush_close = true;
	s->reason = reason;
	s->close_ms = px->now_ms + UNBIND_GRACE_MS;
}

/* Same length and bytes, in time independent of where they differ. */
static bool same_secret(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned diff = la != lb;
	for (size_t i = 0; i < AFGW_SMPP_PASSWORD_MAX + 1; i++) {
		uint8_t x = i < la ? (uint8_t)a[i] : 0, y = i < lb ? (uint8_t)b[i] : 0;
		diff |= x ^ y;
	}
	return diff == 0;
}

static size_t put_cstr(uint8_t *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	p[n] = 0;
	return n + 1;
}

/* Connect to the SMSC, non-blocking.  Returns 0 or -errno. */
static int connect_upstream(struct afgw_smpp_proxy *px, struct sess *s)
{
	int fd = socket(px->up.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&px->up, px->up_len) != 0 && errno != EINPROGRESS) {
		int e = -errno;
		close(fd);
		return e;
	}
	struct conn *c = &s->c[SMSC];
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	if (epoll_ctl(px->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	c->fd = fd;
	c->events = EPOLLOUT;
	c->rx_ms = px->now_ms;
	return 0;
}

static void upstream_failed(struct afgw_smpp_proxy *px, struct sess *s, int err)
{
	if (!px->upstream_down)
		afgw_log(AFGW_LOG_WARN, "SMSC %s unreachable: %s (binds refused with "
					"ESME_RBINDFAIL until it answers)",
			 px->cfg->smpp.upstream, strerror(-err));
	px->upstream_down = true;
	px->c[AFGW_PX_C_BIND_UPSTREAM_DOWN]++;
	conn_close(px, &s->c[SMSC]);
	s->state = S_AWAIT_BIND;
	refuse_and_close(px, s, &s->c[ESME], s->bind_cmd, s->bind_seq, AFGW_SMPP_ESME_RBINDFAIL, -1);
}

/* The ESME's bind: credentials checked here, then the SMSC's bind. */
static void esme_bind(struct afgw_smpp_proxy *px, struct sess *s, struct conn *c,
		      const uint8_t *pdu, uint32_t len, uint32_t cmd, uint32_t seq)
{
	struct afgw_smpp_pdu b;
	if (afgw_smpp_parse(pdu, len, &b) != 0 || !b.valid) {
		px->c[AFGW_PX_C_BIND_BAD_CREDENTIALS]++;
		refuse_and_close(px, s, c, cmd, seq, AFGW_SMPP_ESME_RINVSYSID, -1);
		return;
	}
	const struct afgw_smpp_account *a =
		afgw_smpp_accounts_find(px->acc, b.system_id.p, b.system_id.len);
	uint32_t status = !a ? AFGW_SMPP_ESME_RINVSYSID
		       : !same_secret(b.password.p, b.password.len, a->password, strlen(a->password))
			       ? AFGW_SMPP_ESME_RINVPASWD
			       : 0;
	if (status) {
		px->c[AFGW_PX_C_BIND_BAD_CREDENTIALS]++;
		refuse_and_close(px, s, c, cmd, seq, status, -1);
		return;
	}
	/* The SMSC gets the ESME's bind as it came, or with the account's
	 * upstream credentials put in. */
	size_t n = len;
	if (a->has_upstream)
		n = HDR + b.system_type.len + b.address_range.len + 2 * 16 + 8;
	uint8_t *out = malloc(n);
	if (!out) {
		refuse_and_close(px, s, c, cmd, seq, AFGW_SMPP_ESME_RSYSERR, -1);
		return;
	}
	if (a->has_upstream) {
		size_t k = HDR;
		k += put_cstr(out + k, a->up_system_id, strlen(a->up_system_id));
		k += put_cstr(out + k, a->up_password, strlen(a->up_password));
		k += put_cstr(out + k, b.system_type.p, b.system_type.len);
		out[k++] = b.interface_version;
		out[k++] = b.addr_ton;
		out[k++] = b.addr_npi;
		k += put_cstr(out + k, b.address_range.p, b.address_range.len);
		afgw_put_be32(out, (uint32_t)k);
		afgw_put_be32(out + 4, cmd);
		afgw_put_be32(out + 8, 0);
		n = k;
	} else {
		memcpy(out, pdu, len);
	}
	s->bind_pdu = out;
	s->bind_len = (uint32_t)n;
	s->bind_cmd = cmd;
	s->bind_seq = seq;
	s->tx = cmd != AFGW_SMPP_BIND_RECEIVER;
	s->rx = cmd != AFGW_SMPP_BIND_TRANSMITTER;
	s->state = S_CONNECTING;
	s->start_ms = px->now_ms;
	int rc = connect_upstream(px, s);
	if (rc != 0)
		upstream_failed(px, s, rc);
	update_events(px, c);
}

/* The SMSC connection is up: send it the bind. */
static void upstream_connected(struct afgw_smpp_proxy *px, struct sess *s)
{
	struct conn *c = &s->c[SMSC];
	int err = 0;
	socklen_t el = sizeof(err);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
		err = errno;
	if (err) {
		upstream_failed(px, s, -err);
		return;
	}
	if (px->upstream_down)
		afgw_log(AFGW_LOG_INFO, "SMSC %s answers again", px->cfg->smpp.upstream);
	px->upstream_down = false;
	socklen_t l = sizeof(c->peer);
	getpeername(c->fd, (struct sockaddr *)&c->peer, &l);
	l = sizeof(c->self);
	getsockname(c->fd, (struct sockaddr *)&c->self, &l);
	s->state = S_BINDING;
	s->start_ms = px->now_ms;
	s->up_bind_seq = next_seq(c);
	afgw_put_be32(s->bind_pdu + 12, s->up_bind_seq);
	send_bytes(px, c, s->bind_pdu, s->bind_len);
	free(s->bind_pdu);
	s->bind_pdu = NULL;
	update_events(px, c);
}

static void start_unbind(struct afgw_smpp_proxy *px, struct sess *s, int reason)
{
	for (unsigned i = 0; i < 2; i++) {
		struct conn *c = &s->c[i];
		if (c->fd >= 0 && !c->unbind_seq) {
			c->unbind_seq = next_seq(c);
			send_pdu(px, c, AFGW_SMPP_UNBIND, 0, c->unbind_seq, NULL, 0);
		}
	}
	s->state = S_CLOSING;
	s->reason = reason;
	s->close_ms = px->now_ms + UNBIND_GRACE_MS;
}

/* A relayed request other than an SMS (query_sm, cancel_sm ...). */
static void relay_other(struct afgw_smpp_proxy *px, struct conn *c, const uint8_t *pdu,
			uint32_t len, uint32_t cmd, uint32_t seq)
{
	struct sess *s = c->s;
	if (s->inflight[c->side] >= px->window) {
		px->c[AFGW_PX_C_THROTTLED]++;
		send_error(px, c, cmd, seq, AFGW_SMPP_ESME_RTHROTTLED);
		return;
	}
	s->inflight[c->side]++;
	relay_request(px, peer_of(c), pdu, len, seq);
}

static void on_request(struct afgw_smpp_proxy *px, struct conn *c, const uint8_t *pdu,
		       uint32_t len, uint32_t cmd, uint32_t seq)
{
	struct sess *s = c->s;
	bool esme = c->side == ESME;
	if (s->state != S_BOUND) {
		if (esme && s->state == S_AWAIT_BIND && is_bind(cmd)) {
			esme_bind(px, s, c, pdu, len, cmd, seq);
		} else if (cmd == AFGW_SMPP_UNBIND && s->state == S_CLOSING) {
			send_pdu(px, c, AFGW_SMPP_UNBIND | AFGW_SMPP_RESP_BIT, 0, seq, NULL, 0);
		} else if (cmd == AFGW_SMPP_ALERT_NOTIFICATION || cmd == AFGW_SMPP_OUTBIND) {
			px->c[AFGW_PX_C_REFUSED_REQUESTS]++; /* no response exists */
		} else {
			px->c[AFGW_PX_C_REFUSED_REQUESTS]++;
			send_error(px, c, cmd, seq,
				   is_bind(cmd) ? AFGW_SMPP_ESME_RALYBND : AFGW_SMPP_ESME_RINVBNDSTS);
		}
		return;
	}
	if (cmd != AFGW_SMPP_ENQUIRE_LINK)
		s->activity_ms = px->now_ms;
	switch (cmd) {
	case AFGW_SMPP_UNBIND:
		send_pdu(px, c, AFGW_SMPP_UNBIND | AFGW_SMPP_RESP_BIT, 0, seq, NULL, 0);
		c->unbind_seq = UINT32_MAX; /* this side is done; nothing to wait for */
		start_unbind(px, s, AFGW_PX_C_CLOSED_UNBIND);
		c->unbind_seq = 0;
		return;
	case AFGW_SMPP_BIND_TRANSMITTER:
	case AFGW_SMPP_BIND_RECEIVER:
	case AFGW_SMPP_BIND_TRANSCEIVER:
		px->c[AFGW_PX_C_REFUSED_REQUESTS]++;
		send_error(px, c, cmd, seq, AFGW_SMPP_ESME_RALYBND);
		return;
	case AFGW_SMPP_SUBMIT_SM:
	case AFGW_SMPP_SUBMIT_MULTI:
		if (!esme) {
			generic_nack(px, c, seq, AFGW_SMPP_ESME_RINVCMDID);
			return;
		}
		if (!s->tx) {
			px->c[AFGW_PX_C_REFUSED_REQUESTS]++;
			send_error(px, c, cmd, seq, AFGW_SMPP_ESME_RINVBNDSTS);
			return;
		}
		screen(px, c, pdu, len, cmd, seq);
		return;
	case AFGW_SMPP_DELIVER_SM:
		if (esme) {
			generic_nack(px, c, seq, AFGW_SMPP_ESME_RINVCMDID);
			return;
		}
		screen(px, c, pdu, len, cmd, seq);
		return;
	case AFGW_SMPP_DATA_SM:
		if (esme ? !s->tx : !s->rx) {
			px->c[AFGW_PX_C_REFUSED_REQUESTS]++;
			send_error(px, c, cmd, seq, AFGW_SMPP_ESME_RINVBNDSTS);
			return;
		}
		screen(px, c, pdu, len, cmd, seq);
		return;
	case AFGW_SMPP_REPLACE_SM:
		px->c[AFGW_PX_C_REFUSED_REQUESTS]++;
		send_error(px, c, cmd, seq, AFGW_SMPP_ESME_RREPLACEFAIL);
		return;
	case AFGW_SMPP_BROADCAST_SM:
		px->c[AFGW_PX_C_REFUSED_REQUESTS]++;
		send_error(px, c, cmd, seq, 0x00000113u); /* ESME_RBCASTFAIL (SMPP 5.0) */
		return;
	case AFGW_SMPP_ALERT_NOTIFICATION:
		if (esme) {
			generic_nack(px, c, seq, AFGW_SMPP_ESME_RINVCMDID);
			return;
		}
		/* no response: relayed without an entry */
		{
			struct conn *to = peer_of(c);
			uint8_t h[HDR];
			memcpy(h, pdu, 12);
			afgw_put_be32(h + 12, next_seq(to));
			send_bytes(px, to, h, HDR);
			send_bytes(px, to, pdu + HDR, len - HDR);
		}
		return;
	case AFGW_SMPP_OUTBIND:
		generic_nack(px, c, seq, AFGW_SMPP_ESME_RINVCMDID);
		return;
	default: /* query_sm, cancel_sm, query / cancel_broadcast_sm */
		relay_other(px, c, pdu, len, cmd, seq);
		return;
	}
}

static void on_response(struct afgw_smpp_proxy *px, struct conn *c, const uint8_t *pdu,
			uint32_t len, uint32_t cmd, uint32_t status, uint32_t seq)
{
	struct sess *s = c->s;
	if (c->enq_seq && seq == c->enq_seq) {
		c->enq_seq = 0;
		return;
	}
	if (c->unbind_seq && seq == c->unbind_seq) {
		c->unbind_seq = 0;
		return;
	}
	if (c->side == SMSC && s->state == S_BINDING && seq == s->up_bind_seq) {
		/* the SMSC's answer goes to the ESME as it came */
		struct conn *e = &s->c[ESME];
		uint8_t h[HDR];
		memcpy(h, pdu, 12);
		afgw_put_be32(h + 12, s->bind_seq);
		send_bytes(px, e, h, HDR);
		send_bytes(px, e, pdu + HDR, len - HDR);
		if (status == 0 && cmd == (s->bind_cmd | AFGW_SMPP_RESP_BIT)) {
			s->state = S_BOUND;
			s->activity_ms = px->now_ms;
			px->n_bound++;
			px->c[AFGW_PX_C_BINDS]++;
		} else {
			px->c[AFGW_PX_C_BIND_REFUSED_UPSTREAM]++;
			s->flush_close = true;
			s->close_ms = px->now_ms + UNBIND_GRACE_MS;
		}
		return;
	}
	unsigned i;
	for (i = 0; i < c->n_pend && c->pend[i].my_seq != seq; i++)
		;
	if (i == c->n_pend) {
		px->c[AFGW_PX_C_UNKNOWN_RESPONSES]++;
		return;
	}
	struct pend e = c->pend[i];
	c->pend[i] = c->pend[--c->n_pend];
	struct conn *to = peer_of(c);
	s->inflight[to->side]--;
	uint8_t h[HDR];
	memcpy(h, pdu, 12);
	afgw_put_be32(h + 12, e.orig_seq);
	send_bytes(px, to, h, HDR);
	send_bytes(px, to, pdu + HDR, len - HDR);
}

static void on_pdu(struct afgw_smpp_proxy *px, struct conn *c, const uint8_t *pdu, uint32_t len)
{
	uint32_t cmd = afgw_get_be32(pdu + 4), status = afgw_get_be32(pdu + 8);
	uint32_t seq = afgw_get_be32(pdu + 12);
	px->c[c->side == ESME ? AFGW_PX_C_PDUS_FROM_ESME : AFGW_PX_C_PDUS_FROM_SMSC]++;
	if (cmd & AFGW_SMPP_RESP_BIT) {
		on_response(px, c, pdu, len, cmd, status, seq);
		return;
	}
	if (cmd == AFGW_SMPP_ENQUIRE_LINK) {
		px->c[AFGW_PX_C_ENQUIRE_LINKS]++;
		send_pdu(px, c, AFGW_SMPP_ENQUIRE_LINK | AFGW_SMPP_RESP_BIT, 0, seq, NULL, 0);
		return;
	}
	if (!afgw_smpp_command_name(cmd)) {
		generic_nack(px, c, seq, AFGW_SMPP_ESME_RINVCMDID);
		return;
	}
	on_request(px, c, pdu, len, cmd, seq);
}

/* ---- I/O --------------------------------------------------------------- */

static void check_close(struct afgw_smpp_proxy *px, struct sess *s);

static int closed_reason(const struct conn *c)
{
	return c->side == ESME ? AFGW_PX_C_CLOSED_ESME : AFGW_PX_C_CLOSED_SMSC;
}

/* Frame what has come in: PDUs out, a bad length ends the stream. */
static void frame_input(struct afgw_smpp_proxy *px, struct conn *c)
{
	struct sess *s = c->s;
	size_t off = 0;
	uint32_t max = px->cfg->memcap.smpp_max_pdu;
	while (c->in.len - off >= HDR && !s->dying && !s->flush_close) {
		const uint8_t *p = c->in.p + off;
		uint32_t len = afgw_get_be32(p);
		if (len < HDR || len > max) {
			generic_nack(px, c, afgw_get_be32(p + 12), AFGW_SMPP_ESME_RINVCMDLEN);
			s->flush_close = true;
			s->reason = AFGW_PX_C_CLOSED_BAD_LENGTH;
			s->close_ms = px->now_ms + UNBIND_GRACE_MS;
			off = c->in.len;
			break;
		}
		if (c->in.len - off < len)
			break;
		on_pdu(px, c, p, len);
		off += len;
	}
	if (off) {
		buf_consume(&c->in, off);
		c->pdu_ms = c->in.len ? px->now_ms : 0;
	} else if (c->in.len && !c->pdu_ms) {
		c->pdu_ms = px->now_ms;
	}
}

/*
 * A leg closed or failed.  During an unbind (or with a last answer on its
 * way) that is the expected end of that leg only: the other one still
 * gets its unbind_resp or its answer, within the grace period
 * (check_close).  Otherwise the pair goes.
 */
static void leg_gone(struct afgw_smpp_proxy *px, struct conn *c)
{
	struct sess *s = c->s;
	if (s->state == S_CLOSING || s->flush_close) {
		conn_close(px, c);
		if (c->side == ESME && s->flush_close)
			kill_sess(px, s, s->reason); /* its answer has nowhere to go */
		else
			check_close(px, s);
		return;
	}
	kill_sess(px, s, closed_reason(c));
}

static void on_readable(struct afgw_smpp_proxy *px, struct conn *c)
{
	struct sess *s = c->s;
	for (unsigned round = 0; round < 4 && !s->dying && !s->flush_close; round++) {
		if (buf_reserve(&c->in, READ_CHUNK) != 0) {
			kill_sess(px, s, AFGW_PX_C_CLOSED_OVERFLOW);
			return;
		}
		ssize_t n = recv(c->fd, c->in.p + c->in.len, READ_CHUNK, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			leg_gone(px, c);
			return;
		}
		if (n < 0)
			break;
		c->in.len += (size_t)n;
		c->rx_ms = px->now_ms;
		frame_input(px, c);
		if ((size_t)n < READ_CHUNK)
			break;
		if (c->out.len >= OUT_HIGH || (peer_of(c)->fd >= 0 && peer_of(c)->out.len >= OUT_HIGH))
			break;
	}
}

static void flush_conn(struct afgw_smpp_proxy *px, struct conn *c)
{
	while (c->out.len && c->fd >= 0) {
		ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			kill_sess(px, c->s, closed_reason(c));
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
}

static void accept_all(struct afgw_smpp_proxy *px)
{
	for (unsigned k = 0; k < ACCEPT_BATCH; k++) {
		struct sockaddr_storage a;
		socklen_t al = sizeof(a);
		int fd = accept4(px->lfd, (struct sockaddr *)&a, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: the pending connection stays in the
				 * backlog; look again at the next scan, not in a loop */
				if (!px->accept_paused)
					afgw_log(AFGW_LOG_WARN, "smpp.listen: accept: %s; paused",
						 strerror(errno));
				px->accept_paused = true;
				epoll_ctl(px->ep, EPOLL_CTL_DEL, px->lfd, NULL);
			}
			return;
		}
		px->c[AFGW_PX_C_CONNECTIONS]++;
		struct sess *s = px->n_open < px->cfg->smpp.max_sessions ? sess_new(px, fd) : NULL;
		if (!s) {
			px->c[AFGW_PX_C_REFUSED_SESSIONS]++;
			close(fd);
			continue;
		}
		if (s->id + 1 > px->hi_id)
			px->hi_id = s->id + 1;
		struct conn *c = &s->c[ESME];
		c->peer = a;
		socklen_t l = sizeof(c->self);
		getsockname(fd, (struct sockaddr *)&c->self, &l);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(px->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			s->reason = -1;
			teardown(px, s);
			continue;
		}
		c->events = EPOLLIN;
	}
}

/* ---- timers ------------------------------------------------------------ */

/* A closing session whose last words are out (or whose grace is over) goes. */
static void check_close(struct afgw_smpp_proxy *px, struct sess *s)
{
	if (s->dying)
		return;
	bool flushed = s->c[ESME].out.len == 0 && (s->c[SMSC].fd < 0 || s->c[SMSC].out.len == 0);
	if (s->flush_close && (flushed || px->now_ms >= s->close_ms))
		kill_sess(px, s, s->reason);
	else if (s->state == S_CLOSING &&
		 ((flushed && !s->c[ESME].unbind_seq && !s->c[SMSC].unbind_seq) ||
		  px->now_ms >= s->close_ms))
		kill_sess(px, s, s->reason);
}

static void scan_conn(struct afgw_smpp_proxy *px, struct conn *c)
{
	const struct afgw_config_smpp *k = &px->cfg->smpp;
	uint64_t resp_ms = (uint64_t)k->response_timeout_s * 1000u;
	if (c->fd < 0)
		return;
	if (px->now_ms - c->rx_ms > 1000) {
		buf_shrink(&c->in);
		buf_shrink(&c->out);
	}
	if (c->pdu_ms && px->now_ms - c->pdu_ms > (uint64_t)k->pdu_timeout_s * 1000u) {
		kill_sess(px, c->s, AFGW_PX_C_CLOSED_PDU_TIMEOUT);
		return;
	}
	if (c->s->state != S_BOUND)
		return;
	for (unsigned i = 0; i < c->n_pend; i++) {
		if (px->now_ms - c->pend[i].sent_ms > resp_ms) {
			kill_sess(px, c->s, AFGW_PX_C_CLOSED_RESPONSE_TIMEOUT);
			return;
		}
	}
	if (c->enq_seq && px->now_ms - c->enq_ms > resp_ms) {
		kill_sess(px, c->s, AFGW_PX_C_CLOSED_RESPONSE_TIMEOUT);
		return;
	}
	uint64_t el = (uint64_t)k->enquire_link_s * 1000u;
	if (el && !c->enq_seq && px->now_ms - c->rx_ms >= el && px->now_ms - c->enq_ms >= el) {
		c->enq_seq = next_seq(c);
		c->enq_ms = px->now_ms;
		send_pdu(px, c, AFGW_SMPP_ENQUIRE_LINK, 0, c->enq_seq, NULL, 0);
	}
}

/*
 * A sender whose only outstanding requests are held parts, and which has
 * been quiet for smpp.part_wait_ms, is waiting for their answers before
 * it sends the next part (a synchronous ESME): the decoder releases those
 * messages as they are, rather than after memcap.concat_timeout_s.
 */
static void release_waiting_parts(struct afgw_smpp_proxy *px, struct sess *s)
{
	uint64_t wait = px->cfg->smpp.part_wait_ms;
	if (!wait || !px->p || !s->holds)
		return;
	for (unsigned side = 0; side < 2; side++) {
		unsigned parts = 0, others = 0;
		for (struct hold *h = s->holds; h; h = h->snext)
			if (h->side == side)
				h->g ? parts++ : others++;
		if (!parts || others || s->inflight[side] != parts ||
		    px->now_ms - s->c[side].rx_ms < wait)
			continue;
		for (struct hold *h = s->holds; h; h = h->snext) {
			struct group *g = h->g;
			if (h->side != side || !g || g->released)
				continue;
			g->released = true;
			struct afgw_concat_key key = {
				.from = afgw_str_make(g->from, g->from_len),
				.to = afgw_str_make(g->to, g->to_len),
				.ref = g->ref,
				.ref16 = g->ref16,
				.total = g->total,
			};
			px->c[AFGW_PX_C_PARTS_RELEASED]++;
			afgw_pipeline_release_sms(px->p, &key);
			return; /* the verdict may have changed s->holds: next scan */
		}
	}
}

static void scan_sessions(struct afgw_smpp_proxy *px)
{
	const struct afgw_config_smpp *k = &px->cfg->smpp;
	for (uint32_t id = 0; id < px->hi_id; id++) {
		struct sess *s = px->sess[id];
		if (!s || s->state == S_FREE || s->dying)
			continue;
		uint64_t age = px->now_ms - s->start_ms;
		switch (s->state) {
		case S_AWAIT_BIND:
			if (!s->flush_close && age > (uint64_t)k->bind_timeout_s * 1000u)
				kill_sess(px, s, AFGW_PX_C_CLOSED_BIND_TIMEOUT);
			break;
		case S_CONNECTING:
		case S_BINDING:
			if (age > (uint64_t)k->response_timeout_s * 1000u)
				upstream_failed(px, s, -ETIMEDOUT);
			break;
		case S_BOUND:
			if (k->inactivity_s &&
			    px->now_ms - s->activity_ms > (uint64_t)k->inactivity_s * 1000u)
				start_unbind(px, s, AFGW_PX_C_CLOSED_INACTIVITY);
			break;
		default:
			break;
		}
		scan_conn(px, &s->c[ESME]);
		scan_conn(px, &s->c[SMSC]);
		if (s->state == S_BOUND && !s->dying)
			release_waiting_parts(px, s);
		check_close(px, s);
	}
}

/*
 * Holds past their deadline are relayed unscreened (fail-open); single
 * PDUs whose frame the pipeline has finished without a verdict made no
 * message, and are relayed too.
 */
static void expire_holds(struct afgw_smpp_proxy *px)
{
	uint64_t done = px->p ? afgw_pipeline_done_seq(px->p) : 0;
	px->seen_done = done;
	struct hold *h;
	while ((h = px->single.head) && (h->deadline_ms <= px->now_ms || h->seq <= done))
		hold_apply(px, h, false,
			   h->seq <= done ? AFGW_PX_C_UNSCREENED_NO_VERDICT
					  : AFGW_PX_C_UNSCREENED_DEADLINE);
	while ((h = px->parts.head) && h->deadline_ms <= px->now_ms)
		hold_apply(px, h, false, AFGW_PX_C_UNSCREENED_DEADLINE);
}

static void flush_all(struct afgw_smpp_proxy *px)
{
	while (px->dirty) {
		struct conn *c = px->dirty;
		px->dirty = c->next_dirty;
		c->dirty = false;
		if (c->s->dying)
			continue;
		flush_conn(px, c);
		if (c->s->dying)
			continue;
		update_events(px, c);
		update_events(px, peer_of(c));
		check_close(px, c->s);
	}
}

/* Tear down the sessions marked in this step; a leg still up hears an
 * unbind first (best effort: it is not waited for). */
static void reap(struct afgw_smpp_proxy *px)
{
	while (px->dying) {
		struct sess *s = px->dying;
		px->dying = s->next_dying;
		if (s->state == S_BOUND) {
			for (unsigned i = 0; i < 2; i++) {
				struct conn *c = &s->c[i];
				if (c->fd < 0 || s->reason == closed_reason(c) || c->out.len)
					continue;
				uint8_t u[HDR];
				afgw_put_be32(u, HDR);
				afgw_put_be32(u + 4, AFGW_SMPP_UNBIND);
				afgw_put_be32(u + 8, 0);
				afgw_put_be32(u + 12, next_seq(c));
				ssize_t n = send(c->fd, u, HDR, MSG_NOSIGNAL | MSG_DONTWAIT);
				(void)n;
			}
		}
		s->dying = false;
		teardown(px, s);
	}
}

/* ---- the loop ---------------------------------------------------------- */

int afgw_smpp_proxy_step(struct afgw_smpp_proxy *px, int timeout_ms)
{
	px->now_ms = afgw_mono_ms();
	uint64_t t = timeout_ms > 0 ? (uint64_t)timeout_ms : 0;
	uint64_t due = px->next_scan_ms;
	bool armed = false;
	if (px->held && px->p && t > 0) {
		/* verdicts come from the workers' threads: sleep on the pipeline's
		 * wake descriptor too, or not at all if it has news already */
		if (px->wake_fd < 0)
			t = 1;
		else if (!(armed = afgw_pipeline_arm(px->p, px->seen_done)))
			t = 0;
	}
	if (px->single.head && px->single.head->deadline_ms < due)
		due = px->single.head->deadline_ms;
	if (px->parts.head) {
		if (px->next_tick_ms < due)
			due = px->next_tick_ms;
		if (px->parts.head->deadline_ms < due)
			due = px->parts.head->deadline_ms;
	}
	uint64_t until = due > px->now_ms ? due - px->now_ms : 0;
	if (t > until)
		t = until;
	struct epoll_event ev[256];
	int n = epoll_wait(px->ep, ev, 256, (int)t);
	if (armed)
		afgw_pipeline_disarm(px->p);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	px->now_ms = afgw_mono_ms();
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == px) {
			accept_all(px);
			continue;
		}
		if (ev[i].data.ptr == &px->wake_fd) {
			afgw_pipeline_disarm(px->p); /* emptied; the poll below takes the news */
			continue;
		}
		struct conn *c = ev[i].data.ptr;
		if (c->fd < 0 || c->s->dying)
			continue;
		if (c->side == SMSC && c->s->state == S_CONNECTING) {
			if (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
				upstream_connected(px, c->s);
			continue;
		}
		if ((ev[i].events & (EPOLLHUP | EPOLLERR)) && c->s->flush_close) {
			kill_sess(px, c->s, c->s->reason); /* nobody left to answer */
			continue;
		}
		if (ev[i].events & EPOLLOUT)
			flush_conn(px, c);
		if (c->fd >= 0 && !c->s->dying && !px->stopping &&
		    (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			on_readable(px, c);
		if (!c->s->dying) {
			update_events(px, c);
			check_close(px, c->s);
		}
	}
	if (px->p) {
		afgw_pipeline_poll(px->p);
		if (px->parts.head && px->now_ms >= px->next_tick_ms) {
			/* parts whose message stops coming: the decoder's concat
			 * timeout needs the clock to move on a quiet link */
			px->next_tick_ms = px->now_ms + TICK_MS;
			afgw_pipeline_tick(px->p, afgw_wall_us());
			afgw_pipeline_poll(px->p);
		}
	}
	expire_holds(px);
	if (px->now_ms >= px->next_scan_ms) {
		px->next_scan_ms = px->now_ms + SCAN_MS;
		scan_sessions(px);
		if (px->accept_paused && !px->stopping) {
			struct epoll_event e = { .events = EPOLLIN, .data.ptr = px };
			if (epoll_ctl(px->ep, EPOLL_CTL_ADD, px->lfd, &e) == 0)
				px->accept_paused = false;
		}
	}
	flush_all(px);
	reap(px);
	return 0;
}

/* ---- set-up ------------------------------------------------------------ */

/* "ADDRESS:PORT" or "[V6ADDRESS]:PORT" into a socket address. */
static int parse_addr(const char *text, bool passive, struct sockaddr_storage *out,
		      socklen_t *outlen, char *err, size_t errlen, const char *what)
{
	char host[128];
	const char *colon = strrchr(text, ':');
	size_t hl = colon ? (size_t)(colon - text) : 0;
	if (!colon || !colon[1] || hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "%s: expected ADDRESS:PORT, got '%s'", what, text);
		return -EINVAL;
	}
	memcpy(host, text, hl);
	host[hl] = '\0';
	char *h = host;
	if (h[0] == '[' && hl > 2 && h[hl - 1] == ']') {
		h[hl - 1] = '\0';
		h++;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0) };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(h, colon + 1, &hints, &ai);
	if (rc != 0 || !ai) {
		snprintf(err, errlen, "%s: %s: %s", what, text, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(out, ai->ai_addr, ai->ai_addrlen);
	*outlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

int afgw_smpp_proxy_open(const struct afgw_config *cfg, const struct afgw_smpp_accounts *acc,
			 struct afgw_smpp_proxy **out, char *err, size_t errlen)
{
	const struct afgw_config_smpp *k = &cfg->smpp;
	if (!k->listen || !k->upstream) {
		snprintf(err, errlen, "smpp.listen and smpp.upstream are required");
		return -EINVAL;
	}
	struct afgw_smpp_proxy *px = calloc(1, sizeof(*px));
	if (!px) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	px->cfg = cfg;
	px->acc = acc;
	px->lfd = px->ep = px->wake_fd = -1;
	px->window = k->window;
	int rc = -ENOMEM;
	struct sockaddr_storage la;
	socklen_t ll;
	if ((rc = parse_addr(k->listen, true, &la, &ll, err, errlen, "smpp.listen")) != 0 ||
	    (rc = parse_addr(k->upstream, false, &px->up, &px->up_len, err, errlen,
			     "smpp.upstream")) != 0)
		goto fail;
	rc = -ENOMEM;
	px->sess = calloc(k->max_sessions, sizeof(*px->sess));
	px->free_ids = malloc(k->max_sessions * sizeof(*px->free_ids));
	px->frame = malloc(SEG_MAX + 64);
	if (!px->sess || !px->free_ids || !px->frame) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (uint32_t i = 0; i < k->max_sessions; i++) /* popped lowest first */
		px->free_ids[i] = k->max_sessions - 1 - i;
	px->n_free = k->max_sessions;

	px->lfd = socket(la.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (px->lfd < 0 || setsockopt(px->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(px->lfd, (struct sockaddr *)&la, ll) != 0) {
		rc = -errno;
		snprintf(err, errlen, "smpp.listen: %s: %s", k->listen, strerror(errno));
		goto fail;
	}
	px->ep = epoll_create1(EPOLL_CLOEXEC);
	if (px->ep < 0) {
		rc = -errno;
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	/* two descriptors a session: raise the soft limit as far as allowed */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 2 * (rlim_t)k->max_sessions + 256)
		afgw_log(AFGW_LOG_WARN,
			 "open files limited to %llu: fewer than smpp.max_sessions (%u) sessions "
			 "fit (each takes two; raise LimitNOFILE)",
			 (unsigned long long)rl.rlim_cur, k->max_sessions);
	px->now_ms = afgw_mono_ms();
	*out = px;
	return 0;
fail:
	if (px->lfd >= 0)
		close(px->lfd);
	if (px->ep >= 0)
		close(px->ep);
	free(px->sess);
	free(px->free_ids);
	free(px->frame);
	free(px);
	return rc;
}

int afgw_smpp_proxy_listen(struct afgw_smpp_proxy *px, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = px };
	if (listen(px->lfd, 1024) != 0 || epoll_ctl(px->ep, EPOLL_CTL_ADD, px->lfd, &ev) != 0) {
		int e = errno;
		snprintf(err, errlen, "smpp.listen: %s: %s", px->cfg->smpp.listen, strerror(e));
		return -e;
	}
	return 0;
}

void afgw_smpp_proxy_set_pipeline(struct afgw_smpp_proxy *px, struct afgw_pipeline *p)
{
	px->p = px->cfg->smpp.screening ? p : NULL;
	px->wake_fd = px->p ? afgw_pipeline_wake_fd(px->p) : -1;
	if (px->wake_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &px->wake_fd };
		if (epoll_ctl(px->ep, EPOLL_CTL_ADD, px->wake_fd, &ev) != 0)
			px->wake_fd = -1; /* then it naps 1 ms while verdicts are due */
	}
}

void afgw_smpp_proxy_set_accounts(struct afgw_smpp_proxy *px,
				  const struct afgw_smpp_accounts *acc)
{
	px->acc = acc; /* read only while a bind is handled: nothing keeps the old one */
}

void afgw_smpp_proxy_stats(const struct afgw_smpp_proxy *px, struct afgw_smpp_proxy_stats *s)
{
	memcpy(s->c, px->c, sizeof(s->c));
	s->sessions = px->n_open;
	s->bound = px->n_bound;
	s->held = px->held;
	s->held_bytes = px->held_bytes;
}

void afgw_smpp_proxy_close(struct afgw_smpp_proxy *px)
{
	if (!px)
		return;
	px->now_ms = afgw_mono_ms();
	px->stopping = true;
	px->p = NULL; /* finished by now (afgw run): nothing more is fed */
	if (px->wake_fd >= 0)
		epoll_ctl(px->ep, EPOLL_CTL_DEL, px->wake_fd, NULL);
	px->wake_fd = -1;
	epoll_ctl(px->ep, EPOLL_CTL_DEL, px->lfd, NULL);
	close(px->lfd);
	px->lfd = -1;
	/* what the pipeline has not decided goes on unscreened: fail-open */
	while (px->single.head)
		hold_apply(px, px->single.head, false, AFGW_PX_C_UNSCREENED_DEADLINE);
	while (px->parts.head)
		hold_apply(px, px->parts.head, false, AFGW_PX_C_UNSCREENED_DEADLINE);
	/* then a second at most for the answers and relays to go out */
	for (uint32_t id = 0; id < px->hi_id; id++) {
		struct sess *s = px->sess[id];
		if (s && s->state == S_BOUND && !s->dying)
			start_unbind(px, s, AFGW_PX_C_CLOSED_UNBIND);
	}
	uint64_t end = afgw_mono_ms() + 1000;
	flush_all(px);
	while (afgw_mono_ms() < end) {
		bool pending = false;
		for (uint32_t id = 0; id < px->hi_id && !pending; id++) {
			struct sess *s = px->sess[id];
			pending = s && s->state != S_FREE && !s->dying &&
				  (s->c[ESME].out.len || s->c[SMSC].out.len);
		}
		if (!pending)
			break;
		afgw_smpp_proxy_step(px, 10);
	}
	reap(px);
	for (uint32_t id = 0; id < px->hi_id; id++) {
		struct sess *s = px->sess[id];
		if (s && s->state != S_FREE) {
			s->reason = -1;
			teardown(px, s);
		}
	}
	for (uint32_t id = 0; id < px->hi_id; id++)
		free(px->sess[id]);
	while (px->free_holds) {
		struct hold *h = px->free_holds;
		px->free_holds = h->free_next;
		free(h);
	}
	close(px->ep);
	free(px->sess);
	free(px->free_ids);
	free(px->frame);
	free(px);
}
