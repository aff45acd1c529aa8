/*
 * worker.c - the screening pipeline (worker.h): dispatch, workers, the
 * in-order score stage.
 *
 * Dispatch.  The capture thread decodes just enough of each frame (L2-L4,
 * afgw_packet_decode) to hash its flow symmetrically: both directions of
 * a TCP connection or UDP flow land on the same worker, and IP fragments
 * (which carry no ports after the first) are hashed by addresses and IP
 * id, so a datagram's fragments meet on one worker.  The frame is copied
 * into that worker's input ring together with its sequence number.
 *
 * Worker 0 has no thread of its own: the capture thread runs it, so N
 * workers are N threads on N cores, not N + 1 competing for them.  Its
 * frames are decoded where they are, with no copy, and its records go to
 * its output ring like any worker's, to be scored in order; when that
 * ring is full the capture thread scores instead of waiting.  It gets a
 * smaller share of the flows (route_init), the capture thread's other
 * work being most of a core.  It never runs in the middle of one of its
 * own records or of scoring (a callback of the score stage that gives
 * the pipeline work): what comes then waits in its input ring, which the
 * capture thread empties as soon as it is free again.
 *
 * Workers.  Each worker decodes its frames (dissect.c) and, for every
 * message that comes out, runs the match stage, renders the Event JSON
 * fields and writes a compact record into its output ring: the sequence
 * number of the frame that completed the message, what behaviour and
 * reputation need (numbers, Call-ID, text hash, SIP kind), the content
 * score and rule hits, and the JSON.  After a frame it publishes "done
 * up to seq".
 *
 * The score stage (the capture thread again) merges the output rings in
 * sequence order.  The record at the head of worker i with tag s can go
 * once no other worker can still produce a record tagged below s: each
 * other worker either has a record waiting (its records come in order, so
 * that one is later), or has finished every frame up to s, or has
 * finished every frame it was given.  Records are then scored one by one
 * exactly as the single-threaded path scores them: same order, same
 * answers, for any number of workers.  (Messages released by the end of
 * input flush all carry the same tag and go by worker order; only they
 * can be ordered differently with a different worker count.)
 *
 * Rings are single-producer single-consumer byte rings with records laid
 * end to end; a thread with nothing to do spins briefly, then sleeps on a
 * condition variable that the other side signals only when it sees the
 * sleeper's flag, so the steady state takes no lock.
 */
#include "afgw/worker.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/membarrier.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "afgw/event.h"
#include "afgw/log.h"
#include "afgw/packet.h"

/* ---- SPSC byte ring -------------------------------------------------- */

#define REC_ALIGN 8
#define REC_WRAP 0u          /* size field of a wrap marker */
#define SPIN 256            /* polls before sleeping; short: cores may be shared */

/*
 * Sleeping and waking.  A thread with nothing to do sets a flag and then
 * looks once more; a thread that publishes news (a record, room, a frame
 * done) then reads the flag and wakes the sleeper if it is set.  Each
 * side's store must be ordered before its load, or both can miss the
 * other.  A full fence on the publishing side costs the most where it
 * happens most: after a frame's bytes are copied into a ring, it waits
 * for every one of those stores to reach the other core's cache
 * (dispatch's commit was 80 % of its time).  So the sleeping side, which
 * is about to make a system call anyway, pays: membarrier(2) runs a full
 * barrier on every core running one of our threads, and the publishing
 * side publishes with a release store and only keeps the compiler from
 * moving its load of the flag (PUBLISH, read_flag, heavy_barrier: the
 * pairing of asymmetric Dekker, as in folly's asymmetricHeavyBarrier).
 * Where membarrier is missing (Linux < 4.14, a seccomp filter), both
 * sides' stores and loads are sequentially consistent, as they all were
 * before.  The timed wait stays a second line either way.
 */
static pthread_once_t barrier_once = PTHREAD_ONCE_INIT;
static bool barrier_asym;            /* membarrier registered */

static void barrier_init(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	barrier_asym = cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
		       syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

/* Publish news: a ring index or a done mark, read by the other side. */
#define PUBLISH(obj, v)                                                                      \
	(barrier_asym ? atomic_store_explicit((obj), (v), memory_order_release)              \
		      : atomic_store((obj), (v)))

/* After publishing: is the other side asleep (or about to be)? */
static int read_flag(atomic_int *flag)
{
	if (!barrier_asym)
		return atomic_load(flag);
	atomic_signal_fence(memory_order_seq_cst);
	return atomic_load_explicit(flag, memory_order_relaxed);
}

/* After setting a flag that says "asleep", before the last look for news. */
static void heavy_barrier(void)
{
	if (barrier_asym)
		(void)syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

/*
 * The flag is read by the other thread after every publish: on a line of
 * its own, away from anything written as often (the struct's size rounds
 * up to the line, so what follows starts a line too).
 */
struct waiter {
	_Alignas(64) atomic_int waiting;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void waiter_init(struct waiter *w)
{
	atomic_init(&w->waiting, 0);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
}

static void waiter_fini(struct waiter *w)
{
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

/* After publishing news (a release store): wake a sleeper, if any. */
static void waiter_wake(struct waiter *w)
{
	if (read_flag(&w->waiting)) {
		pthread_mutex_lock(&w->mu);
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
}

/*
 * Sleep until ready(arg) holds.  The flag is set before the final check
 * (heavy_barrier between them), so a waker that changed the state after
 * that check sees the flag and signals; the timed wait is a second line.
 */
static void waiter_wait(struct waiter *w, bool (*ready)(void *), void *arg)
{
	for (int i = 0; i < SPIN; i++) {
		if (ready(arg))
			return;
		if (i > SPIN / 4)
			sched_yield();
	}
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->waiting, 1);
	heavy_barrier();
	while (!ready(arg)) {
		struct timespec t;
		afgw_deadline(&t, CLOCK_REALTIME, 2);
		pthread_cond_timedwait(&w->cv, &w->mu, &t);
	}
	atomic_store(&w->waiting, 0);
	pthread_mutex_unlock(&w->mu);
}

/*
 * Each side keeps its own copy of the other side's index and reads the
 * shared one only when its copy says full (producer) or empty (consumer).
 * A copy is always a bound that is safe to act on (the real head or tail
 * only moves on), and in the steady state neither side then touches the
 * other's cache line for every record: two cores passing one line back
 * and forth per frame cost more than the copying.
 */
struct ring {
	uint8_t *buf;
	size_t cap;                          /* power of two */
	_Alignas(64) atomic_size_t head;     /* consumer, monotonic */
	size_t tail_seen;                    /* consumer: tail when last read */
	_Alignas(64) atomic_size_t tail;     /* producer, monotonic */
	size_t head_seen;                    /* producer: head when last read */
	size_t reserved;                     /* producer: bytes of the open reservation */
};

static int ring_init(struct ring *r, size_t cap)
{
	size_t c = 1 << 16;
	while (c < cap)
		c <<= 1;
	r->buf = aligned_alloc(64, c);
	if (!r->buf)
		return -ENOMEM;
	r->cap = c;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	r->tail_seen = r->head_seen = 0;
	return 0;
}

static void ring_fini(struct ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

static size_t rec_round(size_t n)
{
	return (n + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1);
}

/* Room for a record of n bytes (n <= cap / 2), contiguous; NULL if the
 * ring is too full now.  A record that would cross the end is placed at
 * the start after a wrap marker. */
static void *ring_reserve(struct ring *r, size_t n)
{
	n = rec_round(n);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t pos = tail & (r->cap - 1);
	size_t need = n + (pos + n > r->cap ? r->cap - pos : 0);
	if (r->cap - (tail - r->head_seen) < need) {
		r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
		if (r->cap - (tail - r->head_seen) < need)
			return NULL;
	}
	if (pos + n > r->cap) {
		memset(r->buf + pos, 0, sizeof(uint32_t)); /* REC_WRAP */
		atomic_store_explicit(&r->tail, tail + (r->cap - pos), memory_order_release);
		pos = 0;
	}
	r->reserved = n;
	return r->buf + pos;
}

static void ring_commit(struct ring *r)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	PUBLISH(&r->tail, tail + r->reserved);
}

/* The next record, or NULL when empty. */
static void *ring_peek(struct ring *r)
{
	for (;;) {
		size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
		if (head == r->tail_seen) {
			r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
			if (head == r->tail_seen)
				return NULL;
		}
		size_t pos = head & (r->cap - 1);
		uint32_t size;
		memcpy(&size, r->buf + pos, sizeof(size));
		if (size != REC_WRAP)
			return r->buf + pos;
		PUBLISH(&r->head, head + (r->cap - pos));
	}
}

/* The record after rec, the one ring_peek() returned, if it is there already; or NULL. */
static void *ring_after(struct ring *r, const void *rec)
{
	uint32_t size;
	memcpy(&size, rec, sizeof(size));
	size_t next = atomic_load_explicit(&r->head, memory_order_relaxed) + rec_round(size);
	for (int i = 0; i < 2 && next != r->tail_seen; i++) {
		size_t pos = next & (r->cap - 1);
		memcpy(&size, r->buf + pos, sizeof(size));
		if (size != REC_WRAP)
			return r->buf + pos;
		next += r->cap - pos;
	}
	return NULL;
}

static void ring_release(struct ring *r, size_t n)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	PUBLISH(&r->head, head + rec_round(n));
}

struct space_arg {
	struct ring *r;
	size_t n;
};

/* Would ring_reserve(r, n) succeed now? */
static bool has_space(void *arg)
{
	struct space_arg *a = arg;
	size_t n = rec_round(a->n);
	size_t tail = atomic_load(&a->r->tail), head = atomic_load(&a->r->head);
	size_t pos = tail & (a->r->cap - 1);
	size_t need = n + (pos + n > a->r->cap ? a->r->cap - pos : 0);
	return a->r->cap - (tail - head) >= need;
}

static bool ring_empty(struct ring *r)
{
	return atomic_load(&r->head) == atomic_load(&r->tail);
}

/* ---- records ---------------------------------------------------------- */

enum in_type { IN_FRAME = 1, IN_FLUSH, IN_STOP, IN_REBIND, IN_TICK, IN_RELEASE };

/* The payload of an IN_RELEASE record: a concat key, flattened. */
struct release_key {
	uint16_t ref;
	uint8_t ref16, total, from_len, to_len;
	char from[AFGW_CONCAT_KEY_MAX], to[AFGW_CONCAT_KEY_MAX];
};

static struct afgw_concat_key unflatten(const struct release_key *k)
{
	struct afgw_concat_key key = {
		.from = afgw_str_make(k->from, k->from_len),
		.to = afgw_str_make(k->to, k->to_len),
		.ref = k->ref,
		.ref16 = k->ref16,
		.total = k->total,
	};
	return key;
}

struct in_rec {
	uint32_t size;                 /* whole record */
	uint32_t type;
	uint64_t seq;
	uint64_t ts_us;
	uint32_t caplen, len;
	int32_t linktype;
	uint32_t pad;
	/* frame bytes follow; IN_REBIND: a struct rebind */
};

#define CALLID_MAX 255
#define PARTS_MAX 255              /* parts of one SMS: an 8-bit count on the wire */

enum { OUT_SCANNED = 1, OUT_SMS = 2, OUT_SIP = 4, OUT_MARKER = 8, OUT_CACHED = 16 };

/*
 * Rulesets in use.  Hot reload (afgw_pipeline_offer_ruleset): every
 * ruleset the pipeline has used has a slot counting its users, the
 * pipeline's "current" pointer and each worker bound to it.  Only the
 * score stage's thread touches the counts.  A worker moves to the new
 * ruleset between two frames, when its input brings a rebind record with
 * a match worker prepared for it by the offering thread (so the worker
 * itself only swaps two pointers); its records say which slot scanned
 * them, and after its last record with the old slot it sends a marker
 * record that hands the old match worker back.  Records of one worker
 * arrive in order, so when the score stage takes the marker nothing of
 * that worker needs the old ruleset any more: the marker drops one
 * count, and the last one retires the ruleset to a lock-free list that
 * the next offer, in the offering thread, frees (freeing a large set takes
 * milliseconds, which the score stage should not spend).  The rebind records go into
 * every worker's input at the same point of the capture, so whatever the
 * number of workers, every message completed by a frame after that point
 * is scanned with the new rules.
 */
struct rs_slot {
	struct afgw_ruleset *rs;
	bool owned;                    /* freed with the slot (not the caller's initial one) */
	unsigned refs;
	struct rs_slot *next;          /* every slot not yet freed */
};

struct reload {
	struct afgw_ruleset *rs;
	struct afgw_match_worker *mw[];  /* one per worker, bound to rs */
};

/* The payload of an IN_REBIND record and of an OUT_MARKER record. */
struct rebind {
	struct rs_slot *slot;
	struct afgw_match_worker *mw;
};

struct out_rec {
	uint32_t size;
	uint32_t json_len;
	uint64_t seq;
	uint64_t first_seq;            /* the frame of the message's first part */
	uint64_t ts_us;
	uint64_t text_hash;
	struct afgw_bh_keys keys;      /* behaviour's hashes of caller, callee and Call-ID */
	uint64_t fleet_caller, fleet_callee, fleet_pair; /* the fleet's (0: none, or no fleet) */
	struct rs_slot *slot;          /* the ruleset that scanned it (NULL: none) */
	int16_t content;
	uint8_t bh_kind;
	uint8_t flags;                 /* OUT_* */
	uint8_t unscanned;             /* enum afgw_unscanned, if !OUT_SCANNED */
	uint8_t caller_len, callee_len, callid_len;
	uint16_t n_hits;
	uint16_t n_tags;               /* SMS: frames of its parts (0: seq's alone) */
	uint32_t pad2;
	/* uint32_t hits[n_hits]; uint64_t tags[n_tags]; caller; callee; call-id; JSON (without
	   the closing brace);
	   OUT_MARKER: a struct rebind (the slot and match worker given up) */
};

/* The largest record without its JSON: what the inline mode's scratch holds. */
#define SCRATCH_MAX                                                                            \
	(sizeof(struct out_rec) + AFGW_MATCH_HITS_MAX * sizeof(uint32_t) +                   \
	 PARTS_MAX * sizeof(uint64_t) + 2 * 255 + CALLID_MAX + REC_ALIGN)

/* ---- the pipeline ------------------------------------------------------ */

#define ROUTE_BUCKETS 1024

struct worker {
	struct afgw_pipeline *p;
	unsigned index;
	struct afgw_dissect *d;
	struct afgw_match_worker *mw;
	struct rs_slot *slot;          /* mw's ruleset */
	struct afgw_jbuf jb;
	struct afgw_match_result res;
	uint64_t cur_seq;              /* tag of the frame being processed */

	/* threaded mode */
	bool runs_inline;              /* worker 0: run by the capture thread itself */
	bool busy;                     /* ... which is in the middle of one of its records */
	pthread_t thread;
	bool started;
	struct ring in, out;
	struct waiter in_wait;         /* worker sleeps: input empty */
	struct waiter out_wait;        /* worker sleeps: output full */
	_Alignas(64) atomic_uint_fast64_t done;   /* last frame seq fully processed */
	_Atomic uint64_t rebind_ns_max; /* longest stop for a rebind */
	/* the capture thread's, written for every frame: not on done's line,
	 * which the worker writes for every record */
	_Alignas(64) uint64_t sent;    /* last frame seq given */
	uint64_t done_seen;            /* done when the capture thread last read it */
	uint64_t frames;               /* frames given */
	uint8_t *scratch;              /* inline mode: one output record (SCRATCH_MAX) */
};

struct afgw_pipeline {
	const struct afgw_config *cfg;
	struct rs_slot *cur;           /* the ruleset new work is bound to (NULL: none) */
	struct rs_slot *slots;         /* every live slot */
	_Atomic(struct rs_slot *) graveyard; /* retired, for the next offer to free */
	_Atomic(struct reload *) offered;
	struct afgw_rep *rep;
	struct afgw_fleet *fleet;
	struct afgw_sub *sub;
	struct afgw_notify *notify;
	FILE *out;
	bool skip_allow;
	const struct afgw_event_privacy *privacy;
	void (*on_verdict)(void *ud, const struct afgw_verdict_note *n);
	void *verdict_ud;
	unsigned n;
	bool threaded;
	struct worker *w;
	uint8_t route[ROUTE_BUCKETS];  /* flow hash bucket -> worker */
	unsigned merging;              /* merge() is on the stack */
	uint64_t seq;
	struct waiter main_wait;       /* capture thread sleeps: nothing to merge, input full */
	int wake_fd;                   /* eventfd for an event loop's sleep (-1: none) */
	_Alignas(64) atomic_int armed; /* ... which is armed: a worker with news writes it */

	/* the score stage's, written for every record: not on armed's line,
	 * which every worker reads for every record */
	_Alignas(64) struct afgw_behaviour *bh;
	struct afgw_jbuf ob;           /* Event JSON lines not yet written to out */
	struct afgw_score_hit hits[AFGW_MATCH_HITS_MAX];
	struct afgw_pipeline_stats st;
	atomic_uint_fast64_t scored;
	bool finished;
	clockid_t capture_clock;       /* CPU clock of the thread that made the pipeline */
	uint64_t capture_cpu0;         /* ... and its reading then */
};

/* Texts (SMS fan-out) are keyed by the fleet's hash, the same on every gateway. */
static uint64_t hash64(const char *p, size_t len)
{
	uint64_t h = afgw_fleet_hash(AFGW_FLEET_HASH_INIT, p, len);
	return h ? h : 1;
}

/* The fleet's keys of a message: caller, callee and the pair (0 where it has none). */
static void fleet_hashes(struct afgw_str caller, struct afgw_str callee, uint64_t h[3])
{
	bool has_caller = !afgw_str_empty(caller), has_callee = !afgw_str_empty(callee);
	h[0] = h[1] = h[2] = 0;
	if (has_caller)
		h[0] = afgw_fleet_hash(AFGW_FLEET_HASH_INIT, caller.p, caller.len);
	if (has_callee)
		h[1] = afgw_fleet_hash(AFGW_FLEET_HASH_INIT, callee.p, callee.len);
	if (has_caller && has_callee)
		h[2] = afgw_fleet_hash(afgw_fleet_hash(h[0], "", 1), callee.p, callee.len);
}

static enum afgw_bh_kind sip_kind(const struct afgw_sip_msg *m)
{
	if (m->is_request) {
		if (afgw_str_eq(m->method, "INVITE"))
			return m->to.tag.len ? AFGW_BH_OTHER_SIP : AFGW_BH_INVITE;
		if (afgw_str_eq(m->method, "CANCEL"))
			return AFGW_BH_CANCEL;
		return AFGW_BH_OTHER_SIP;
	}
	if (!afgw_str_eq(m->cseq_method, "INVITE"))
		return AFGW_BH_OTHER_SIP;
	if (m->status >= 200 && m->status < 300)
		return AFGW_BH_ANSWER;
	if (m->status == 487)
		return AFGW_BH_REJECT;
	return AFGW_BH_OTHER_SIP;
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

static void score_record(struct afgw_pipeline *p, const struct out_rec *r, const char *json);
static uint8_t *out_reserve(struct worker *w, size_t size);

/*
 * A worker has news for the score stage (a record, or a frame done):
 * wake an event loop sleeping on the wake descriptor.  The flag is read
 * after the news is published and set by the sleeper before it looks
 * for news (read_flag and heavy_barrier), so one of
 * the two sees the other; the write happens at most once per sleep.
 */
static void kick(struct afgw_pipeline *p)
{
	if (read_flag(&p->armed) && atomic_exchange(&p->armed, 0)) {
		uint64_t one = 1;
		ssize_t n = write(p->wake_fd, &one, sizeof(one));
		(void)n; /* a full counter is readable already */
	}
}

/*
 * A worker's event callback: scan, render, and hand the record on (to
 * the output ring, or straight to the score stage in inline mode).
 */
static void on_event(void *ud, const struct afgw_event *ev)
{
	struct worker *w = ud;
	struct afgw_pipeline *p = w->p;
	struct afgw_match_msg mm = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
	const struct afgw_number *caller = NULL, *callee = ev->has_to ? &ev->to : NULL;
	uint8_t flags = 0, unscanned = 0, kind;

	if (ev->proto == AFGW_PROTO_SIP)
		flags |= OUT_SIP;
	if (ev->is_sms) {
		kind = AFGW_BH_SMS;
		flags |= OUT_SMS;
		caller = ev->has_from ? &ev->from : NULL;
		if (ev->text)
			mm.text = afgw_str_make(ev->text, ev->text_len);
		if (caller)
			mm.sender = afgw_str_make(caller->canon, caller->len);
	} else {
		kind = ev->sip ? (uint8_t)sip_kind(ev->sip) : AFGW_BH_OTHER_SIP;
		caller = ev->has_pai ? &ev->pai : ev->has_from ? &ev->from : NULL;
		if (caller)
			mm.caller = afgw_str_make(caller->canon, caller->len);
	}
	if (callee)
		mm.callee = afgw_str_make(callee->canon, callee->len);

	size_t caller_len = caller ? min_sz(caller->len, 255) : 0;
	size_t callee_len = callee ? min_sz(callee->len, 255) : 0;
	size_t callid_len = ev->sip ? min_sz(ev->sip->call_id.len, CALLID_MAX) : 0;

	/*
	 * The score stage's hashing, done here, where there are several of us:
	 * the keys of behaviour's tables and of the fleet's counts.
	 */
	struct afgw_bh_msg bm = {
		.caller = afgw_str_make(caller ? caller->canon : NULL, caller_len),
		.callee = afgw_str_make(callee ? callee->canon : NULL, callee_len),
		.call_id = afgw_str_make(ev->sip ? ev->sip->call_id.p : NULL, callid_len),
	};
	struct afgw_bh_keys keys;
	afgw_behaviour_keys(&bm, &keys);
	uint64_t fleet_h[3] = { 0, 0, 0 };
	if (p->fleet)
		fleet_hashes(bm.caller, bm.callee, fleet_h);

	/*
	 * Rules are about texts and about who calls whom: an SMS and a call
	 * set-up (an INVITE) are scanned; responses and in-dialog requests
	 * only carry the verdict of reputation and behaviour (content 0).
	 */
	bool scan = ev->is_sms || kind == AFGW_BH_INVITE;
	int content = 0;
	unsigned n_hits = 0;
	uint64_t text_hash = 0;
	if (!scan && w->mw) {
		flags |= OUT_SCANNED;
	} else if (!w->mw) {
		unscanned = AFGW_UNSCANNED_NO_RULESET;
	} else if (afgw_match_scan(w->mw, &mm, &w->res) != 0) {
		unscanned = AFGW_UNSCANNED_MATCH_ERROR;
	} else {
		flags |= OUT_SCANNED | (w->res.cached ? OUT_CACHED : 0);
		content = w->res.score;
		n_hits = w->res.n_hits;
		if (ev->is_sms && w->res.norm_len)
			text_hash = hash64(w->res.norm, w->res.norm_len);
	}
	if (!(flags & OUT_SCANNED) && ev->is_sms && ev->text)
		text_hash = hash64(ev->text, ev->text_len);
	if (!p->threaded && p->bh) /* the score stage comes after the JSON: its misses, now */
		afgw_behaviour_prefetch(p->bh, &(struct afgw_bh_msg){
			.kind = (enum afgw_bh_kind)kind, .text_hash = text_hash, .keys = &keys });

	afgw_jbuf_reset(&w->jb);
	if (p->out) {
		afgw_json_obj_begin(&w->jb);
		afgw_event_json_fields_private(&w->jb, ev, p->privacy);
	}

	/* the proxy needs every part's frame only when someone listens for notes */
	size_t n_tags = p->on_verdict && ev->part_tags ? min_sz(ev->n_part_tags, PARTS_MAX) : 0;
	size_t fixed = sizeof(struct out_rec) + n_hits * sizeof(uint32_t) + n_tags * sizeof(uint64_t);
	size_t size = fixed + caller_len + callee_len + callid_len + w->jb.len;
	size = rec_round(size);

	uint8_t *buf;
	if (p->threaded) {
		if (size > w->out.cap / 2) { /* an absurd event: keep the verdict, drop its JSON */
			w->jb.len = 0;
			size = rec_round(fixed + caller_len + callee_len + callid_len);
		}
		buf = out_reserve(w, size);
	} else {
		/* the score stage reads the JSON from w->jb: not copied, and
		 * the rest always fits (SCRATCH_MAX) */
		buf = w->scratch;
	}

	struct out_rec *r = (struct out_rec *)buf;
	memset(r, 0, sizeof(*r));
	r->size = (uint32_t)size;
	r->json_len = (uint32_t)w->jb.len;
	r->seq = w->cur_seq;
	r->first_seq = ev->first_tag ? ev->first_tag : w->cur_seq;
	r->ts_us = ev->ts_us;
	r->text_hash = text_hash;
	r->keys = keys;
	r->fleet_caller = fleet_h[0];
	r->fleet_callee = fleet_h[1];
	r->fleet_pair = fleet_h[2];
	r->slot = w->slot;
	r->content = (int16_t)content;
	r->bh_kind = kind;
	r->flags = flags;
	r->unscanned = unscanned;
	r->caller_len = (uint8_t)caller_len;
	r->callee_len = (uint8_t)callee_len;
	r->callid_len = (uint8_t)callid_len;
	r->n_hits = (uint16_t)n_hits;
	r->n_tags = (uint16_t)n_tags;
	uint8_t *q = buf + sizeof(*r);
	for (unsigned i = 0; i < n_hits; i++) {
		memcpy(q, &w->res.hit[i].rule, sizeof(uint32_t));
		q += sizeof(uint32_t);
	}
	if (n_tags)
		memcpy(q, ev->part_tags, n_tags * sizeof(uint64_t));
	q += n_tags * sizeof(uint64_t);
	if (caller_len)
		memcpy(q, caller->canon, caller_len);
	q += caller_len;
	if (callee_len)
		memcpy(q, callee->canon, callee_len);
	q += callee_len;
	if (callid_len)
		memcpy(q, ev->sip->call_id.p, callid_len);
	q += callid_len;
	if (r->json_len && p->threaded)
		memcpy(q, w->jb.p, r->json_len);

	if (!p->threaded) {
		score_record(p, r, w->jb.p);
	} else if (w->runs_inline) {
		ring_commit(&w->out); /* scored by the next merge, in order */
	} else {
		ring_commit(&w->out);
		waiter_wake(&p->main_wait);
		kick(p);
	}
}

/* ---- the score stage --------------------------------------------------- */

static void count_category(struct afgw_pipeline *p, const char *cat, enum afgw_action a)
{
	struct afgw_pipeline_stats *st = &p->st;
	unsigned i;
	for (i = 0; i < st->n_categories; i++)
		if (!strcmp(st->category[i].name, cat))
			break;
	if (i == st->n_categories) {
		if (i == AFGW_PIPELINE_CATEGORIES) {
			st->other_categories++;
			return;
		}
		size_t n = min_sz(strlen(cat), AFGW_RULE_ID_MAX);
		memcpy(st->category[i].name, cat, n);
		st->category[i].name[n] = '\0';
		st->n_categories++;
	}
	if (a == AFGW_BLOCK)
		st->category[i].block++;
	else
		st->category[i].warn++;
}

/* The category a warn / block verdict is filed under: that of its
 * heaviest positive reason. */
/*
 * The category a verdict is about, for the summary and for a resident's
 * warning: the one whose reasons add up to most, where a fraud type
 * (impersonate_police, investment ...) wins over the generic facets
 * (url, contact, money, number) that many scripts share, so that the
 * advice names the scheme.  "unknown" when no reason has a category.
 */
static bool generic_category(const char *c)
{
	static const char *const generic[] = { "url", "contact", "money", "number", "context",
					       "other" };
	for (unsigned i = 0; i < AFGW_ARRAY_SIZE(generic); i++)
		if (!strcmp(c, generic[i]))
			return true;
	return false;
}

static const char *lead_category(const struct afgw_verdict *v)
{
	const char *cat = "unknown";
	int best = 0;
	bool best_generic = true;
	for (unsigned i = 0; i < v->n_reasons; i++) {
		const char *c = v->reason[i].category;
		if (!c || !c[0] || v->reason[i].weight <= 0)
			continue;
		int sum = 0;
		for (unsigned j = 0; j < v->n_reasons; j++)
			if (v->reason[j].category && !strcmp(v->reason[j].category, c) &&
			    v->reason[j].weight > 0)
				sum += v->reason[j].weight;
		bool g = generic_category(c);
		if ((best_generic && !g) || (g == best_generic && sum > best)) {
			best = sum;
			best_generic = g;
			cat = c;
		}
	}
	return cat;
}

/*
 * The fleet-wide side of behaviour (fleet.h): note what this message adds
 * to the shared counts, then add the flags the fleet-wide counts raise.
 * Returns the AFGW_BH_* bits that only the fleet gave.
 */
static unsigned fleet_observe(struct afgw_pipeline *p, const struct afgw_bh_msg *m,
			      const struct out_rec *r, struct afgw_bh_result *res)
{
	struct afgw_fleet *f = p->fleet;
	afgw_fleet_tick(f, m->ts_us);
	bool has_caller = !afgw_str_empty(m->caller), has_callee = !afgw_str_empty(m->callee);
	uint64_t hc = r->fleet_caller, he = r->fleet_callee, hp = r->fleet_pair;

	if (m->kind == AFGW_BH_INVITE && has_caller && has_callee) {
		afgw_fleet_note(f, AFGW_FLEET_MASS_CALLING, hc, he, m->ts_us);
		afgw_fleet_note(f, AFGW_FLEET_CALL_AND_SMS, hp, AFGW_FLEET_MEMBER_CALL, m->ts_us);
	} else if (m->kind == AFGW_BH_SMS && has_callee) {
		if (m->text_hash)
			afgw_fleet_note(f, AFGW_FLEET_SMS_FANOUT, m->text_hash, he, m->ts_us);
		if (has_caller)
			afgw_fleet_note(f, AFGW_FLEET_CALL_AND_SMS, hp, AFGW_FLEET_MEMBER_SMS,
					m->ts_us);
	}
	if (res->rung_short && has_caller && has_callee)
		afgw_fleet_note(f, AFGW_FLEET_WANGIRI, hc, he, m->ts_us);

	unsigned before = res->flags, n;
	if (has_caller) {
		if (afgw_fleet_flagged(f, AFGW_FLEET_MASS_CALLING, hc, m->ts_us, &n)) {
			res->flags |= AFGW_BH_MASS_CALLING;
			if (n > res->mass_callees)
				res->mass_callees = n;
		}
		if (afgw_fleet_flagged(f, AFGW_FLEET_WANGIRI, hc, m->ts_us, &n)) {
			res->flags |= AFGW_BH_WANGIRI;
			if (n > res->wangiri_callees)
				res->wangiri_callees = n;
		}
	}
	if (m->kind == AFGW_BH_SMS && m->text_hash &&
	    afgw_fleet_flagged(f, AFGW_FLEET_SMS_FANOUT, m->text_hash, m->ts_us, &n)) {
		res->flags |= AFGW_BH_SMS_FANOUT;
		if (n > res->fanout_recipients)
			res->fanout_recipients = n;
	}
	if (hp && afgw_fleet_flagged(f, AFGW_FLEET_CALL_AND_SMS, hp, m->ts_us, &n))
		res->flags |= AFGW_BH_CALL_AND_SMS;
	return res->flags & ~before;
}

/* New blacklistings from the reputation feed go to look-back. */
static void lookbacks(struct afgw_pipeline *p)
{
	struct afgw_rep_blacklisted b[16];
	size_t k;
	while ((k = afgw_rep_take_blacklisted(p->rep, b, AFGW_ARRAY_SIZE(b))) > 0) {
		for (size_t i = 0; i < k; i++)
			if (afgw_notify_submit_lookback(p->notify,
							afgw_str_make(b[i].number, strlen(b[i].number)),
							b[i].since, b[i].category, b[i].score))
				p->st.lookbacks++;
	}
}

static void copy_field(char *dst, size_t cap, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s ? s : "", n);
	dst[n] = '\0';
}

/*
 * A call or SMS reached callee: if it is a registered subscriber, log the
 * contact for look-back, and on warn / block hand a warning to the
 * notifier (never blocking: a full queue is the notifier's count).
 */
static void warn_subscriber(struct afgw_pipeline *p, const struct out_rec *r,
			    struct afgw_str caller, struct afgw_str callee,
			    const struct afgw_verdict *v)
{
	int64_t ts = (int64_t)(r->ts_us / 1000000);
	struct afgw_sub_entry se;
	if (!afgw_sub_lookup(p->sub, callee, ts, &se))
		return;
	struct afgw_pipeline_stats *st = &p->st;
	st->to_subscribers++;
	if (p->notify && (se.prefs & AFGW_SUB_LOOKBACK) && caller.len)
		afgw_notify_submit_contact(p->notify, caller, callee, ts);
	if (v->action == AFGW_ALLOW)
		return;
	st->warn_subscribers++;
	bool sms = r->flags & OUT_SMS;
	if (!(se.prefs & (sms ? AFGW_SUB_SMS : AFGW_SUB_CALLS))) {
		st->warnings_unwanted++;
		return;
	}
	if (!p->notify) {
		st->warnings_unsent++;
		return;
	}
	struct afgw_warning w;
	memset(&w, 0, sizeof(w));
	w.ts = w.contacted_at = ts;
	w.channel = sms ? AFGW_WARNING_SMS : AFGW_WARNING_CALL;
	if (caller.len && caller.len < sizeof(w.other)) {
		memcpy(w.other, caller.p, caller.len);
	} else {
		copy_field(w.other, sizeof(w.other), "unknown");
	}
	const char *cat = lead_category(v);
	copy_field(w.category, sizeof(w.category), cat ? cat : "other");
	w.score = v->score;
	w.action = v->action;
	w.ruleset = v->ruleset;
	for (unsigned i = 0; i < v->n_reasons && w.n_reasons < AFGW_WARNING_REASONS_MAX; i++) {
		struct afgw_warning_reason *wr = &w.reason[w.n_reasons++];
		copy_field(wr->source, sizeof(wr->source), v->reason[i].source);
		copy_field(wr->id, sizeof(wr->id), v->reason[i].id);
		copy_field(wr->category, sizeof(wr->category), v->reason[i].category);
		wr->weight = v->reason[i].weight;
	}
	afgw_notify_submit_warning(p->notify, &w, &se, r->ts_us);
}

static void slot_unref(struct afgw_pipeline *p, struct rs_slot *s)
{
	if (!s || --s->refs)
		return;
	for (struct rs_slot **pp = &p->slots; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	/* Freeing a big rule set takes milliseconds: not on this thread, which
	 * scores messages.  The next offer (the watcher's thread) frees it. */
	struct rs_slot *head = atomic_load(&p->graveyard);
	do
		s->next = head;
	while (!atomic_compare_exchange_weak(&p->graveyard, &head, s));
}

static void free_slots(struct rs_slot *s)
{
	while (s) {
		struct rs_slot *next = s->next;
		if (s->owned)
			afgw_ruleset_free(s->rs);
		free(s);
		s = next;
	}
}

/* A worker gave up a match worker and its ruleset (see struct rs_slot). */
static void take_marker(struct afgw_pipeline *p, const struct out_rec *r)
{
	struct rebind rb;
	memcpy(&rb, r + 1, sizeof(rb));
	afgw_match_worker_free(rb.mw);
	slot_unref(p, rb.slot);
}

/*
 * Lines collect in p->ob and go out in big writes: two stdio calls per
 * line (its event and its verdict) cost more than formatting the verdict.
 */
#define OUT_FLUSH_BYTES (256u << 10)

static void write_lines(struct afgw_pipeline *p)
{
	if (!afgw_jbuf_write(&p->ob, p->out))
		p->st.write_failed = true;
}

void afgw_pipeline_flush_output(struct afgw_pipeline *p)
{
	if (!p->out)
		return;
	write_lines(p);
	if (fflush(p->out) != 0)
		p->st.write_failed = true;
}

/* Score r; its JSON is json, or (NULL) follows it in the record. */
static void score_record(struct afgw_pipeline *p, const struct out_rec *r, const char *json)
{
	if (r->flags & OUT_MARKER) {
		take_marker(p, r);
		return;
	}
	const uint8_t *q = (const uint8_t *)(r + 1);
	const uint32_t *hit_idx = (const uint32_t *)q;
	q += r->n_hits * sizeof(uint32_t);
	const uint8_t *tags = q;
	q += r->n_tags * sizeof(uint64_t);
	struct afgw_str caller = afgw_str_make((const char *)q, r->caller_len);
	q += r->caller_len;
	struct afgw_str callee = afgw_str_make((const char *)q, r->callee_len);
	q += r->callee_len;
	struct afgw_str call_id = afgw_str_make((const char *)q, r->callid_len);
	q += r->callid_len;
	if (!json)
		json = (const char *)q;
	struct afgw_pipeline_stats *st = &p->st;

	st->events++;
	if (r->flags & OUT_SIP)
		st->sip_events++;
	else
		st->smpp_events++;
	if (r->flags & OUT_SMS)
		st->sms_events++;
	if (p->rep) {
		afgw_rep_poll(p->rep);
		if (p->notify)
			lookbacks(p);
	}
	if (p->sub)
		afgw_sub_poll(p->sub);

	struct afgw_bh_msg bm = {
		.ts_us = r->ts_us,
		.kind = (enum afgw_bh_kind)r->bh_kind,
		.caller = caller,
		.callee = callee,
		.call_id = call_id,
		.text_hash = r->text_hash,
		.keys = &r->keys,
	};
	struct afgw_bh_result bres = { 0 };
	if (p->bh)
		afgw_behaviour_observe(p->bh, &bm, &bres);
	unsigned fleet_only = 0;
	if (p->fleet)
		fleet_only = fleet_observe(p, &bm, r, &bres);

	bool scanned = r->flags & OUT_SCANNED;
	if (!scanned)
		st->unscanned[r->unscanned]++;
	if (r->flags & OUT_CACHED)
		st->match_cached++;

	struct afgw_verdict v;
	struct afgw_rep_result rep; /* v's reasons borrow its category */
	if (scanned) {
		bool have_rep = p->rep && caller.len &&
				afgw_rep_lookup(p->rep, caller, (int64_t)(r->ts_us / 1000000), &rep);
		unsigned n = 0;
		for (unsigned i = 0; i < r->n_hits; i++) {
			uint32_t idx;
			memcpy(&idx, &hit_idx[i], sizeof(idx));
			const struct afgw_rule *rule = afgw_ruleset_rule(r->slot->rs, idx);
			p->hits[n].id = rule->id;
			p->hits[n].category = rule->category;
			p->hits[n].weight = rule->weight;
			n++;
		}
		struct afgw_score_input in = {
			.content = r->content,
			.hits = p->hits,
			.n_hits = n,
			.rep = have_rep ? &rep : NULL,
			.bh_flags = bres.flags,
			.ruleset = r->slot ? afgw_ruleset_serial(r->slot->rs) : 0,
		};
		afgw_score(&p->cfg->score, &in, &v);
		st->scanned++;
		st->action[v.action]++;
		if (v.action != AFGW_ALLOW)
			count_category(p, lead_category(&v), v.action);
		for (unsigned i = 0; i < v.n_reasons; i++) {
			const char *src = v.reason[i].source;
			if (!strcmp(src, "allowlist"))
				st->allowlisted++;
			else if (!strcmp(src, "reputation"))
				st->rep_reasons++;
		}
		for (unsigned b = 0; b < 4; b++)
			if (bres.flags & (1u << b))
				st->bh_reasons[b]++;
		if (fleet_only)
			st->fleet_reasons++;
	}

	if (p->on_verdict) {
		struct afgw_verdict_note note = {
			.seq = r->seq, .first_seq = r->first_seq, .sms = (r->flags & OUT_SMS) != 0,
			.part_seqs = tags, .n_parts = r->n_tags,
			.invite = r->bh_kind == AFGW_BH_INVITE, .scanned = scanned,
			.action = scanned ? v.action : AFGW_ALLOW,
		};
		p->on_verdict(p->verdict_ud, &note);
	}
	bool to_person = (r->flags & OUT_SMS) || r->bh_kind == AFGW_BH_INVITE;
	if (p->sub && scanned && to_person && callee.len)
		warn_subscriber(p, r, caller, callee, &v);

	if (p->out && r->json_len && !(p->skip_allow && scanned && v.action == AFGW_ALLOW)) {
		/* the event's fields, then the verdict closes its object */
		afgw_json_raw(&p->ob, json, r->json_len);
		p->ob.need_comma = true;
		if (scanned) {
			afgw_verdict_json(&p->ob, &v);
		} else {
			afgw_json_key(&p->ob, "unscanned");
			afgw_json_cstr(&p->ob, afgw_unscanned_name((enum afgw_unscanned)r->unscanned));
		}
		afgw_json_raw(&p->ob, "}\n", 2);
		if (p->ob.len >= OUT_FLUSH_BYTES)
			write_lines(p);
	}
	atomic_store_explicit(&p->scored, st->events, memory_order_relaxed);
}

/*
 * The worker whose head record can be scored next (see the file-top
 * comment), or -1.
 */
static int merge_next(struct afgw_pipeline *p)
{
	bool has[AFGW_PIPELINE_WORKERS_MAX];
	bool fresh = false;
again:;
	int best = -1;
	uint64_t best_seq = UINT64_MAX;
	for (unsigned j = 0; j < p->n; j++) {
		struct out_rec *h = ring_peek(&p->w[j].out);
		has[j] = h != NULL;
		if (h && h->seq < best_seq) {
			best_seq = h->seq;
			best = (int)j;
		}
	}
	if (best < 0)
		return -1;
	/*
	 * done_seen, each worker's done mark as last read, was read before the
	 * heads above (a worker publishes its records before its done mark, so
	 * every record up to done_seen is visible there).  It only lags, so
	 * when it says a worker cannot produce anything earlier, that holds;
	 * when it does not, read the marks again and then the heads again.
	 */
	for (unsigned j = 0; j < p->n; j++) {
		const struct worker *w = &p->w[j];
		if ((int)j == best || has[j] || w->done_seen >= best_seq || w->done_seen == w->sent)
			continue;
		if (fresh)
			return -1; /* worker j may still produce something earlier */
		for (unsigned k = 0; k < p->n; k++)
			p->w[k].done_seen = atomic_load(&p->w[k].done);
		fresh = true;
		goto again;
	}
	return best;
}

/* Score every record that can go now.  Returns how many. */
static unsigned merge(struct afgw_pipeline *p)
{
	unsigned n = 0;
	int j;
	p->merging++;
	while ((j = merge_next(p)) >= 0) {
		struct worker *w = &p->w[j];
		struct out_rec *r = ring_peek(&w->out);
		/* Scoring this one gives the behaviour tables' misses of the
		 * worker's next record time to arrive. */
		const struct out_rec *next = ring_after(&w->out, r);
		if (next && p->bh && !(next->flags & OUT_MARKER))
			afgw_behaviour_prefetch(p->bh, &(struct afgw_bh_msg){
				.kind = (enum afgw_bh_kind)next->bh_kind, .text_hash = next->text_hash,
				.keys = &next->keys });
		score_record(p, r, NULL);
		ring_release(&w->out, r->size);
		waiter_wake(&w->out_wait);
		n++;
	}
	p->merging--;
	return n;
}

/*
 * Worker thread: move to the match worker the rebind record brings, and
 * send the old one back to the score stage behind this worker's records.
 */
static void rebind(struct worker *w, const struct in_rec *r)
{
	uint64_t t0 = afgw_mono_ns();
	struct rebind rb, old = { w->slot, w->mw };
	memcpy(&rb, r + 1, sizeof(rb));
	w->mw = rb.mw;
	w->slot = rb.slot;
	size_t size = rec_round(sizeof(struct out_rec) + sizeof(old));
	uint8_t *buf = out_reserve(w, size);
	struct out_rec *o = (struct out_rec *)buf;
	memset(o, 0, sizeof(*o));
	o->size = (uint32_t)size;
	o->seq = r->seq;
	o->flags = OUT_MARKER;
	memcpy(o + 1, &old, sizeof(old));
	ring_commit(&w->out);
	uint64_t dt = afgw_mono_ns() - t0;
	if (dt > atomic_load_explicit(&w->rebind_ns_max, memory_order_relaxed))
		atomic_store_explicit(&w->rebind_ns_max, dt, memory_order_relaxed);
}

static bool in_ready(void *arg)
{
	struct worker *w = arg;
	return !ring_empty(&w->in);
}

/* Do what input record r says, in worker w's thread (or, run inline, the capture thread). */
static void worker_step(struct worker *w, const struct in_rec *r)
{
	uint32_t type = r->type;
	uint64_t seq = r->seq;
	w->cur_seq = seq;
	if (type == IN_FRAME) {
		struct afgw_frame f = {
			.ts_us = r->ts_us,
			.data = (const uint8_t *)(r + 1),
			.caplen = r->caplen,
			.len = r->len,
			.linktype = r->linktype,
			.tag = seq,
		};
		afgw_dissect_frame(w->d, &f);
	} else if (type == IN_TICK) {
		afgw_dissect_tick(w->d, r->ts_us, seq);
	} else if (type == IN_RELEASE) {
		struct release_key k;
		memcpy(&k, r + 1, sizeof(k));
		struct afgw_concat_key key = unflatten(&k);
		afgw_dissect_release_sms(w->d, &key, seq);
	} else if (type == IN_FLUSH) {
		afgw_dissect_flush(w->d);
	} else if (type == IN_REBIND) {
		rebind(w, r);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		struct in_rec *r = ring_peek(&w->in);
		if (!r) {
			waiter_wait(&w->in_wait, in_ready, w);
			continue;
		}
		uint32_t type = r->type;
		uint64_t seq = r->seq;
		worker_step(w, r);
		ring_release(&w->in, r->size);
		PUBLISH(&w->done, seq);
		waiter_wake(&w->p->main_wait);
		kick(w->p);
		if (type == IN_STOP)
			return NULL;
	}
}

/* A thread's CPU time so far (0 if its clock cannot be read). */
static uint64_t cpu_ns(clockid_t c)
{
	struct timespec t;
	if (clock_gettime(c, &t) != 0)
		return 0;
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* A match worker for rs with the configured cache of text results. */
static int new_match_worker(const struct afgw_pipeline *p, const struct afgw_ruleset *rs,
			    struct afgw_match_worker **out)
{
	struct afgw_match_worker *mw = NULL;
	int rc = afgw_match_worker_new(rs, p->cfg->country_code, &mw);
	if (rc == 0 && (rc = afgw_match_worker_cache(mw, p->cfg->memcap.match_cache)) != 0) {
		afgw_match_worker_free(mw);
		mw = NULL;
	}
	*out = mw;
	return rc;
}

/*
 * Which flows each worker gets: the hash's top bits pick one of
 * ROUTE_BUCKETS buckets.  Worker 0 runs in the capture thread, which also
 * reads the capture and runs the score stage, so it gets a smaller share
 * of the buckets than the threads, which only decode and match
 * (config capture_share).  The default: the capture thread's own work
 * (reading, hashing and handing frames over, the score stage) costs about
 * 0.6 times what decoding and matching all the traffic costs (mixed
 * traffic, bench/bench_replay.sh), so two threads are even when it takes
 * (1 - 0.6) / 2 = 20 % of the flows; with three or more workers its own
 * work is a core's worth already, and it takes none.
 */
#define CAPTURE_SHARE_TWO 20
static void route_init(struct afgw_pipeline *p)
{
	int pct = p->cfg->capture_share;
	if (pct < 0)
		pct = p->n == 2 ? CAPTURE_SHARE_TWO : 0;
	unsigned b0 = (unsigned)pct * ROUTE_BUCKETS / 100;
	for (unsigned b = 0; b < ROUTE_BUCKETS; b++) {
		if (b < b0 || b0 == ROUTE_BUCKETS)
			p->route[b] = 0;
		else
			p->route[b] = (uint8_t)(1 + (b - b0) * (p->n - 1) / (ROUTE_BUCKETS - b0));
	}
}

/*
 * Zeroed memory that starts a cache line, for the structs whose fields are
 * laid out on lines by who writes them (calloc gives 16 bytes).  Their
 * sizes are multiples of the line already: they contain _Alignas(64)
 * members.
 */
static void *calloc_lines(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = aligned_alloc(64, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

int afgw_pipeline_new(const struct afgw_pipeline_opts *o, struct afgw_pipeline **out)
{
	const struct afgw_config *cfg = o->cfg;
	if (cfg->workers < 1 || cfg->workers > AFGW_PIPELINE_WORKERS_MAX)
		return -EINVAL;
	struct afgw_pipeline *p = calloc_lines(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = cfg;
	p->wake_fd = -1;
	atomic_init(&p->offered, NULL);
	atomic_init(&p->graveyard, NULL);
	p->rep = o->rep;
	p->fleet = o->fleet;
	p->sub = o->sub;
	p->notify = o->notify;
	p->out = o->out;
	p->skip_allow = o->skip_allow;
	p->privacy = o->privacy;
	p->on_verdict = o->on_verdict;
	p->verdict_ud = o->verdict_ud;
	p->n = cfg->workers;
	p->threaded = p->n > 1;
	if (p->threaded)
		pthread_once(&barrier_once, barrier_init);
	if (pthread_getcpuclockid(pthread_self(), &p->capture_clock) != 0)
		p->capture_clock = CLOCK_THREAD_CPUTIME_ID;
	p->capture_cpu0 = cpu_ns(p->capture_clock);
	p->st.workers = p->n;
	waiter_init(&p->main_wait);
	atomic_init(&p->armed, 0);
	p->wake_fd = p->threaded ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
	if (p->threaded && p->wake_fd < 0)
		goto nomem;
	afgw_jbuf_init(&p->ob);
	p->w = calloc_lines(p->n, sizeof(*p->w));
	if (!p->w)
		goto nomem;
	if (o->rs) {
		p->cur = calloc(1, sizeof(*p->cur));
		if (!p->cur)
			goto nomem;
		p->cur->rs = (struct afgw_ruleset *)o->rs; /* the caller's: never freed here */
		p->cur->refs = 1 + p->n;
		p->slots = p->cur;
	}
	int rc = afgw_behaviour_new(&cfg->behaviour, cfg->memcap.behaviour_numbers,
				    cfg->memcap.dialogs, &p->bh);
	if (rc)
		goto fail;

	struct afgw_dissect_config dc;
	afgw_dissect_config_default(&dc);
	dc.country_code = cfg->country_code;
	memcpy(dc.sip_ports, cfg->sip_ports, sizeof(dc.sip_ports));
	memcpy(dc.smpp_ports, cfg->smpp_ports, sizeof(dc.smpp_ports));
	dc.smpp_max_pdu = cfg->memcap.smpp_max_pdu;
	dc.max_flows = cfg->memcap.tcp_flows;
	dc.tcp_windows = cfg->memcap.tcp_windows;
	dc.frag_datagrams = cfg->memcap.frag_datagrams;
	dc.concat_messages = cfg->memcap.concat_messages;
	dc.concat_bytes = cfg->memcap.concat_bytes;
	dc.concat_timeout_ms = cfg->memcap.concat_timeout_s * 1000u;
	dc.sip_stream_max = cfg->memcap.sip_stream_bytes;

	for (unsigned i = 0; i < p->n; i++) {
		struct worker *w = &p->w[i];
		w->p = p;
		w->index = i;
		afgw_jbuf_init(&w->jb);
		waiter_init(&w->in_wait);
		waiter_init(&w->out_wait);
		atomic_init(&w->done, 0);
		w->d = afgw_dissect_new(&dc, on_event, w);
		if (!w->d)
			goto nomem;
		if (p->cur && new_match_worker(p, p->cur->rs, &w->mw) != 0)
			goto nomem;
		w->slot = p->cur;
		if (p->threaded) {
			if (ring_init(&w->in, cfg->memcap.queue_bytes) != 0 ||
			    ring_init(&w->out, cfg->memcap.queue_bytes) != 0)
				goto nomem;
		} else if (!(w->scratch = malloc(SCRATCH_MAX))) {
			goto nomem;
		}
	}
	if (p->threaded) {
		p->w[0].runs_inline = true;
		route_init(p);
		for (unsigned i = 1; i < p->n; i++) {
			if (pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i]) != 0)
				goto nomem;
			p->w[i].started = true;
		}
	}
	*out = p;
	return 0;
nomem:
	rc = -ENOMEM;
fail:
	afgw_pipeline_free(p);
	return rc;
}

/* Worker for a frame: a symmetric hash of the flow. */
static unsigned flow_worker(const struct afgw_pipeline *p, const struct afgw_frame *f)
{
	struct afgw_pkt pkt;
	enum afgw_pkt_status s = afgw_packet_decode(f->linktype, f->data, f->caplen, f->len, &pkt);
	uint64_t a = 0, b = 0, x = 0;
	if (s == AFGW_PKT_OK || s == AFGW_PKT_FRAGMENT) {
		const uint8_t *sa = pkt.src.a, *da = pkt.dst.a;
		size_t alen = pkt.ip_version == 4 ? 4 : 16;
		uint64_t ha = hash64((const char *)sa, alen);
		uint64_t hb = hash64((const char *)da, alen);
		if (s == AFGW_PKT_OK) {
			ha ^= (uint64_t)pkt.sport * 0x9e3779b97f4a7c15ull;
			hb ^= (uint64_t)pkt.dport * 0x9e3779b97f4a7c15ull;
		} else {
			x = pkt.frag_id;
		}
		a = ha < hb ? ha : hb;
		b = ha < hb ? hb : ha;
	}
	uint64_t h = (a * 0xff51afd7ed558ccdull) ^ (b + 0x9e3779b97f4a7c15ull) ^ (x << 17);
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 32;
	return p->route[h >> (64 - 10)]; /* ROUTE_BUCKETS: 2^10 */
}

struct dispatch_arg {
	struct afgw_pipeline *p;
	struct space_arg space;
};

/* The capture thread can go on: room in the input, or something to score. */
static bool main_ready(void *arg)
{
	struct dispatch_arg *a = arg;
	return has_space(&a->space) || merge_next(a->p) >= 0;
}

/*
 * The capture thread runs worker 0's input, unless it is in the middle of
 * one of its records already or of scoring (a callback of the score stage
 * that gives the pipeline work: the record waits in the input until then).
 */
static bool inline_free(const struct afgw_pipeline *p)
{
	return !p->w[0].busy && !p->merging;
}

static void run_inline(struct afgw_pipeline *p)
{
	struct worker *w = &p->w[0];
	if (!w->runs_inline || !inline_free(p))
		return;
	w->busy = true;
	struct in_rec *r;
	while ((r = ring_peek(&w->in))) {
		uint64_t seq = r->seq;
		worker_step(w, r);
		ring_release(&w->in, r->size);
		atomic_store_explicit(&w->done, seq, memory_order_relaxed);
	}
	w->busy = false;
}

/*
 * Room for a record in w's output.  A worker thread waits while it is
 * full; the capture thread, running worker 0, scores records instead,
 * waiting only for another worker's record that must go first.
 */
static uint8_t *out_reserve(struct worker *w, size_t size)
{
	struct afgw_pipeline *p = w->p;
	struct dispatch_arg arg = { p, { &w->out, size } };
	uint8_t *buf;
	while (!(buf = ring_reserve(&w->out, size))) {
		if (w->runs_inline) {
			if (merge(p) == 0)
				waiter_wait(&p->main_wait, main_ready, &arg);
		} else {
			waiter_wake(&p->main_wait);
			waiter_wait(&w->out_wait, has_space, &arg.space);
		}
	}
	return buf;
}

/*
 * *f, read field by field as the capture or afgw_pipeline_frame has just
 * stored it.  A load wider than the stores it reads (GCC joins caplen and
 * len into one, or copies the struct sixteen bytes at a time) is not
 * forwarded from the store buffer: it waits until those stores, and every
 * one before them, have reached the cache, and before them are the stores
 * of the last frame copied into a ring, whose lines come from the other
 * core.  0.13 s of the capture thread's 1.2 s on the 1M capture with 2
 * workers (perf, cpu-clock).  The compiler fence keeps the loads apart.
 */
static struct afgw_frame frame_copy(const struct afgw_frame *f)
{
	struct afgw_frame c;
	c.ts_us = f->ts_us;
	c.data = f->data;
	c.caplen = f->caplen;
	atomic_signal_fence(memory_order_seq_cst);
	c.len = f->len;
	c.linktype = f->linktype;
	c.tag = f->tag;
	return c;
}

/* Put a record into worker w's input, merging while it is full. */
static void dispatch(struct afgw_pipeline *p, struct worker *w, uint32_t type, uint64_t seq,
		     const struct afgw_frame *frame)
{
	struct afgw_frame copy = frame ? frame_copy(frame) : (struct afgw_frame){ 0 };
	const struct afgw_frame *f = frame ? &copy : NULL;
	if (w->runs_inline && type == IN_FRAME && inline_free(p) && ring_empty(&w->in)) {
		/* the usual case: no copy */
		w->busy = true;
		w->sent = seq;
		w->cur_seq = seq;
		afgw_dissect_frame(w->d, f);
		atomic_store_explicit(&w->done, seq, memory_order_relaxed);
		w->busy = false;
		run_inline(p); /* what a callback queued meanwhile */
		return;
	}
	size_t size = sizeof(struct in_rec) + (f ? f->caplen : 0);
	struct in_rec *r;
	struct dispatch_arg arg = { p, { &w->in, size } };
	while (!(r = ring_reserve(&w->in, size))) {
		if (w->runs_inline && inline_free(p)) {
			run_inline(p);
			continue;
		}
		if (merge(p) == 0)
			waiter_wait(&p->main_wait, main_ready, &arg);
	}
	r->size = (uint32_t)rec_round(size);
	r->type = type;
	r->seq = seq;
	r->ts_us = f ? f->ts_us : 0;
	r->caplen = f ? f->caplen : 0;
	r->len = f ? f->len : 0;
	r->linktype = f ? f->linktype : 0;
	if (f && f->caplen)
		memcpy(r + 1, f->data, f->caplen);
	ring_commit(&w->in);
	w->sent = seq;
	if (w->runs_inline)
		run_inline(p);
	else
		waiter_wake(&w->in_wait);
}

static void reload_free(struct reload *rl, unsigned n)
{
	if (!rl)
		return;
	for (unsigned i = 0; i < n; i++)
		afgw_match_worker_free(rl->mw[i]);
	afgw_ruleset_free(rl->rs);
	free(rl);
}

int afgw_pipeline_offer_ruleset(struct afgw_pipeline *p, struct afgw_ruleset *rs)
{
	if (!rs)
		return -EINVAL;
	free_slots(atomic_exchange(&p->graveyard, NULL));
	struct reload *rl = calloc(1, sizeof(*rl) + p->n * sizeof(rl->mw[0]));
	if (!rl) {
		afgw_ruleset_free(rs);
		return -ENOMEM;
	}
	rl->rs = rs;
	for (unsigned i = 0; i < p->n; i++) {
		if (new_match_worker(p, rs, &rl->mw[i]) != 0) {
			reload_free(rl, p->n);
			return -ENOMEM;
		}
	}
	/* an offer the capture thread has not taken yet is superseded */
	reload_free(atomic_exchange(&p->offered, rl), p->n);
	return 0;
}

/*
 * Capture thread: make the offered ruleset current and send every worker
 * its rebind (see struct rs_slot).  With one worker there is no other
 * thread and nothing in flight: the swap is immediate.
 */
static void install(struct afgw_pipeline *p)
{
	struct reload *rl = atomic_exchange(&p->offered, NULL);
	if (!rl)
		return;
	struct rs_slot *slot = calloc(1, sizeof(*slot));
	if (!slot) { /* keep the old rules; the offer is lost (counted) */
		p->st.reload_failures++;
		reload_free(rl, p->n);
		return;
	}
	slot->rs = rl->rs;
	slot->owned = true;
	slot->refs = 1 + p->n;
	slot->next = p->slots;
	p->slots = slot;
	struct rs_slot *old = p->cur;
	p->cur = slot;
	p->st.reloads++;
	for (unsigned i = 0; i < p->n; i++) {
		struct worker *w = &p->w[i];
		if (!p->threaded) {
			uint64_t t0 = afgw_mono_ns();
			afgw_match_worker_free(w->mw);
			slot_unref(p, w->slot);
			w->mw = rl->mw[i];
			w->slot = slot;
			uint64_t dt = afgw_mono_ns() - t0;
			if (dt > w->rebind_ns_max)
				w->rebind_ns_max = dt;
			continue;
		}
		struct rebind rb = { slot, rl->mw[i] };
		struct afgw_frame f = { .data = (const uint8_t *)&rb, .caplen = sizeof(rb) };
		dispatch(p, w, IN_REBIND, p->seq, &f);
	}
	slot_unref(p, old);
	free(rl);
}

void afgw_pipeline_poll(struct afgw_pipeline *p)
{
	if (atomic_load_explicit(&p->offered, memory_order_relaxed))
		install(p);
	if (p->threaded) {
		run_inline(p);
		merge(p);
	}
}

void afgw_pipeline_set_output(struct afgw_pipeline *p, FILE *out, bool skip_allow)
{
	/* the score stage writes in this thread: nothing is in the middle of a line */
	afgw_pipeline_flush_output(p);
	p->out = out;
	p->skip_allow = skip_allow;
}

uint64_t afgw_pipeline_next_seq(const struct afgw_pipeline *p)
{
	return p->seq + 1;
}

void afgw_pipeline_frame(struct afgw_pipeline *p, const struct afgw_frame *f)
{
	if (atomic_load_explicit(&p->offered, memory_order_relaxed))
		install(p);
	p->seq++;
	struct afgw_frame fr = frame_copy(f);
	fr.tag = p->seq;
	if (!p->threaded) {
		p->w[0].cur_seq = p->seq;
		p->w[0].frames++;
		afgw_dissect_frame(p->w[0].d, &fr);
		return;
	}
	if (fr.caplen > (1u << 18)) /* larger than any snaplen: keep the head */
		fr.caplen = 1u << 18;
	struct worker *w = &p->w[flow_worker(p, &fr)];
	w->frames++;
	dispatch(p, w, IN_FRAME, p->seq, &fr);
	if ((p->seq & 63) == 0)
		merge(p);
}

void afgw_pipeline_tick(struct afgw_pipeline *p, uint64_t now_us)
{
	if (p->finished)
		return;
	p->seq++;
	if (!p->threaded) {
		p->w[0].cur_seq = p->seq;
		afgw_dissect_tick(p->w[0].d, now_us, p->seq);
		return;
	}
	struct afgw_frame f = { .ts_us = now_us };
	for (unsigned j = 0; j < p->n; j++)
		dispatch(p, &p->w[j], IN_TICK, p->seq, &f);
}

void afgw_pipeline_release_sms(struct afgw_pipeline *p, const struct afgw_concat_key *key)
{
	if (p->finished || key->from.len > AFGW_CONCAT_KEY_MAX || key->to.len > AFGW_CONCAT_KEY_MAX)
		return;
	p->seq++;
	if (!p->threaded) {
		p->w[0].cur_seq = p->seq;
		afgw_dissect_release_sms(p->w[0].d, key, p->seq);
		return;
	}
	struct release_key k;
	memset(&k, 0, sizeof(k));
	k.ref = key->ref;
	k.ref16 = key->ref16;
	k.total = key->total;
	k.from_len = (uint8_t)key->from.len;
	k.to_len = (uint8_t)key->to.len;
	if (key->from.len)
		memcpy(k.from, key->from.p, key->from.len);
	if (key->to.len)
		memcpy(k.to, key->to.p, key->to.len);
	/* the message is in the worker of the flow of its first part: each
	 * worker looks in its own table */
	struct afgw_frame f = { .data = (const uint8_t *)&k, .caplen = sizeof(k) };
	for (unsigned j = 0; j < p->n; j++)
		dispatch(p, &p->w[j], IN_RELEASE, p->seq, &f);
}

/*
 * Every frame up to the answer has been decoded and every message it
 * completed scored: a worker's records come in order and it publishes
 * "done" after them, so a worker limits the answer by its first record
 * not yet scored, and by its last finished frame if it has not finished
 * all it was given.
 */
int afgw_pipeline_wake_fd(const struct afgw_pipeline *p)
{
	return p->wake_fd;
}

bool afgw_pipeline_arm(struct afgw_pipeline *p, uint64_t seen_done)
{
	if (!p->threaded)
		return true;
	uint64_t v;
	while (read(p->wake_fd, &v, sizeof(v)) > 0)
		;
	atomic_store(&p->armed, 1);
	heavy_barrier();
	if (merge_next(p) >= 0 || afgw_pipeline_done_seq(p) > seen_done) {
		atomic_store(&p->armed, 0);
		return false;
	}
	return true;
}

void afgw_pipeline_disarm(struct afgw_pipeline *p)
{
	if (!p->threaded)
		return;
	atomic_store(&p->armed, 0);
	/* a kick that raced with the wake-up may have written: level-triggered
	 * pollers would spin on it */
	uint64_t v;
	while (read(p->wake_fd, &v, sizeof(v)) > 0)
		;
}

uint64_t afgw_pipeline_done_seq(struct afgw_pipeline *p)
{
	uint64_t wm = p->seq;
	if (!p->threaded)
		return wm;
	uint64_t done[AFGW_PIPELINE_WORKERS_MAX];
	for (unsigned j = 0; j < p->n; j++)
		done[j] = atomic_load(&p->w[j].done);
	for (unsigned j = 0; j < p->n; j++) {
		struct worker *w = &p->w[j];
		const struct out_rec *h = ring_peek(&w->out); /* the consumer's own look */
		if (h && h->seq - 1 < wm)
			wm = h->seq - 1;
		if (done[j] != w->sent && done[j] < wm)
			wm = done[j];
	}
	return wm;
}

static bool all_done(struct afgw_pipeline *p, uint64_t seq)
{
	for (unsigned j = 0; j < p->n; j++)
		if (atomic_load(&p->w[j].done) < seq || !ring_empty(&p->w[j].out))
			return false;
	return true;
}

struct finish_arg {
	struct afgw_pipeline *p;
	uint64_t seq;
};

static bool finish_ready(void *arg)
{
	struct finish_arg *a = arg;
	return all_done(a->p, a->seq) || merge_next(a->p) >= 0;
}

void afgw_pipeline_finish(struct afgw_pipeline *p)
{
	if (p->finished)
		return;
	p->finished = true;
	p->seq++;
	if (!p->threaded) {
		p->w[0].cur_seq = p->seq;
		afgw_dissect_flush(p->w[0].d);
		afgw_pipeline_flush_output(p);
		return;
	}
	uint64_t flush_seq = p->seq;
	for (unsigned j = 0; j < p->n; j++)
		dispatch(p, &p->w[j], IN_FLUSH, flush_seq, NULL);
	struct finish_arg a = { p, flush_seq };
	while (!all_done(p, flush_seq)) {
		if (merge(p) == 0)
			waiter_wait(&p->main_wait, finish_ready, &a);
	}
	merge(p);
	afgw_pipeline_flush_output(p);
}

uint64_t afgw_pipeline_scored(const struct afgw_pipeline *p)
{
	return atomic_load_explicit(&((struct afgw_pipeline *)p)->scored, memory_order_relaxed);
}

void afgw_pipeline_stats(const struct afgw_pipeline *p, struct afgw_pipeline_stats *s)
{
	*s = p->st;
	memset(s->dissect, 0, sizeof(s->dissect));
	for (unsigned i = 0; i < p->n; i++) {
		uint64_t c[AFGW_C_COUNT];
		if (!p->w[i].d)
			continue;
		afgw_dissect_counters(p->w[i].d, c);
		for (int k = 0; k < AFGW_C_COUNT; k++)
			s->dissect[k] += c[k];
	}
	if (p->bh)
		afgw_behaviour_counters(p->bh, s->behaviour);
	s->ruleset = p->cur ? afgw_ruleset_serial(p->cur->rs) : 0;
	for (unsigned i = 0; i < p->n; i++)
		s->worker_frames[i] = p->w[i].frames;
	s->capture_cpu_ns = cpu_ns(p->capture_clock) - p->capture_cpu0;
	for (unsigned i = 0; i < p->n; i++) {
		clockid_t c;
		s->worker_cpu_ns[i] = 0;
		if (p->w[i].started && pthread_getcpuclockid(p->w[i].thread, &c) == 0)
			s->worker_cpu_ns[i] = cpu_ns(c);
	}
	s->rebind_ns_max = 0;
	for (unsigned i = 0; i < p->n; i++) {
		uint64_t v = atomic_load(&p->w[i].rebind_ns_max);
		if (v > s->rebind_ns_max)
			s->rebind_ns_max = v;
	}
}

/* Empty w's output without scoring (stopping): only markers matter. */
static void drop_output(struct afgw_pipeline *p, struct worker *w)
{
	struct out_rec *o;
	while ((o = ring_peek(&w->out))) {
		if (o->flags & OUT_MARKER)
			take_marker(p, o);
		ring_release(&w->out, o->size);
	}
}

void afgw_pipeline_free(struct afgw_pipeline *p)
{
	if (!p)
		return;
	if (p->threaded && p->w) {
		for (unsigned j = 0; j < p->n; j++) {
			struct worker *w = &p->w[j];
			if (!w->started)
				continue;
			/* drain its output so that it can take the stop */
			struct in_rec *r;
			while (!(r = ring_reserve(&w->in, sizeof(*r)))) {
				drop_output(p, w);
				sched_yield();
			}
			r->size = sizeof(*r);
			r->type = IN_STOP;
			r->seq = ++p->seq;
			ring_commit(&w->in);
			waiter_wake(&w->in_wait);
			while (atomic_load(&w->done) != p->seq) {
				drop_output(p, w);
				sched_yield();
			}
			pthread_join(w->thread, NULL);
			drop_output(p, w);
		}
		/* worker 0, run inline: what it was still given is dropped, but
		 * a rebind's match worker is freed */
		struct worker *w = &p->w[0];
		struct in_rec *r;
		while (w->runs_inline && (r = ring_peek(&w->in))) {
			if (r->type == IN_REBIND) {
				struct rebind rb;
				memcpy(&rb, r + 1, sizeof(rb));
				afgw_match_worker_free(rb.mw);
			}
			ring_release(&w->in, r->size);
		}
		drop_output(p, w);
	}
	for (unsigned i = 0; p->w && i < p->n; i++) {
		struct worker *w = &p->w[i];
		afgw_dissect_free(w->d);
		afgw_match_worker_free(w->mw);
		afgw_jbuf_fini(&w->jb);
		ring_fini(&w->in);
		ring_fini(&w->out);
		waiter_fini(&w->in_wait);
		waiter_fini(&w->out_wait);
		free(w->scratch);
	}
	free(p->w);
	reload_free(atomic_exchange(&p->offered, NULL), p->n);
	free_slots(p->slots);
	free_slots(atomic_exchange(&p->graveyard, NULL));
	afgw_behaviour_free(p->bh);
	afgw_jbuf_fini(&p->ob);
	waiter_fini(&p->main_wait);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	free(p);
}

const char *afgw_unscanned_name(enum afgw_unscanned u)
{
	static const char *const names[AFGW_UNSCANNED_COUNT] = { "match_error", "no_ruleset" };
	return (unsigned)u < AFGW_UNSCANNED_COUNT ? names[u] : "?";
}
