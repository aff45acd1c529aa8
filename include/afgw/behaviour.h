/*
 * behaviour.h - who calls and texts how much: the behaviour detectors of
 * DESIGN.md §4, gateway/behaviour.c.
 *
 * The score stage feeds every decoded call-signalling message and SMS, in
 * capture order, to afgw_behaviour_observe(), which updates bounded tables
 * and says which detectors currently flag the message's caller / sender:
 *
 *   mass calling   one caller, at least mass_call_callees distinct callees
 *                  (INVITEs) within mass_call_window_s;
 *   Wangiri        one caller whose INVITEs are cancelled (CANCEL, or a 487
 *                  final response) within wangiri_ring_max_s of the INVITE
 *                  and before any answer, to at least wangiri_callees
 *                  distinct callees within wangiri_window_s;
 *   SMS fan-out    the same normalized text (its hash) to at least
 *                  fanout_recipients distinct recipients within
 *                  fanout_window_s; flags the text, so every sender of it;
 *   call + SMS     the same number both calls and texts the same subscriber
 *                  within call_sms_window_s (either order).
 *
 * Once a detector flags a caller (or a text), it stays flagged for
 * flag_hold_s after the last time the condition held, so the messages that
 * follow a burst carry the reason too.  Time is the messages' own
 * timestamps (ts_us), never the wall clock: a replay gives the same
 * answers at any speed and with any number of workers.
 *
 * Memory is fixed at creation: each table holds at most `numbers` keys
 * (dialogs: `dialogs` calls); when full, the least recently seen key of a
 * probe window is evicted and counted (afgw_behaviour_counters).  Distinct
 * counts are approximate above a few hundred (a per-key bitmap), exact
 * enough for thresholds in the tens.
 *
 * Thread: one owner (the score stage); no locks, no allocation after
 * afgw_behaviour_new.
 */
#ifndef AFGW_BEHAVIOUR_H
#define AFGW_BEHAVIOUR_H

#include "afgw/common.h"
#include "afgw/config.h"

enum afgw_bh_kind {
	AFGW_BH_INVITE,     /* an initial INVITE request (no To tag) */
	AFGW_BH_CANCEL,     /* a CANCEL request */
	AFGW_BH_ANSWER,     /* a 2xx response to an INVITE */
	AFGW_BH_REJECT,     /* a 487 (Request Terminated) response to an INVITE */
	AFGW_BH_OTHER_SIP,  /* any other SIP message: observed for nothing, flags still reported */
	AFGW_BH_SMS,        /* an SMS (SMPP or SIP MESSAGE) */
};

/* Detectors, as bits of afgw_bh_result.flags. */
enum {
	AFGW_BH_MASS_CALLING = 1u << 0,
	AFGW_BH_WANGIRI = 1u << 1,
	AFGW_BH_SMS_FANOUT = 1u << 2,
	AFGW_BH_CALL_AND_SMS = 1u << 3,
};

/*
 * The hashes afgw_behaviour_observe() keys its tables by: a pure function
 * of the message's caller, callee and Call-ID, so that a worker thread
 * can compute them ahead of the score stage (afgw_behaviour_keys).
 * h 0: that field is empty.
 */
struct afgw_bh_key {
	uint64_t h;
	uint32_t chk;
};

struct afgw_bh_keys {
	struct afgw_bh_key caller, callee, call_id;
};

struct afgw_bh_msg {
	uint64_t ts_us;
	enum afgw_bh_kind kind;
	struct afgw_str caller;     /* canonical caller / SMS sender; may be empty */
	struct afgw_str callee;     /* canonical callee / SMS recipient; may be empty */
	struct afgw_str call_id;    /* SIP Call-ID (pairs INVITE, CANCEL and responses) */
	uint64_t text_hash;         /* SMS: hash of the normalized text; 0 if none */
	const struct afgw_bh_keys *keys; /* afgw_behaviour_keys() of this message, or NULL */
};

struct afgw_bh_result {
	unsigned flags;             /* AFGW_BH_* that hold for this message */
	/* The figure behind each flag, for the reason text: */
	unsigned mass_callees;      /* distinct callees in the caller's window */
	unsigned wangiri_callees;   /* distinct callees rung short */
	unsigned fanout_recipients; /* distinct recipients of this text */
	bool rung_short;            /* this CANCEL / 487 ended a call rung short (Wangiri) */
};

enum afgw_bh_counter {
	AFGW_BH_C_OBSERVED,
	AFGW_BH_C_CALLERS_EVICTED,
	AFGW_BH_C_DIALOGS_EVICTED,
	AFGW_BH_C_TEXTS_EVICTED,
	AFGW_BH_C_PAIRS_EVICTED,
	AFGW_BH_C_FLAGGED_MASS_CALLING,  /* callers newly flagged */
	AFGW_BH_C_FLAGGED_WANGIRI,
	AFGW_BH_C_FLAGGED_SMS_FANOUT,    /* texts newly flagged */
	AFGW_BH_C_FLAGGED_CALL_AND_SMS,  /* pairs newly flagged */
	AFGW_BH_C_COUNT
};

struct afgw_behaviour;

/*
 * Allocate tables for `numbers` keys each (callers, texts, caller/callee
 * pairs; rounded up to a power of two) and `dialogs` pending calls.
 * Returns 0, -EINVAL (a zero size or window) or -ENOMEM.
 */
int afgw_behaviour_new(const struct afgw_config_behaviour *cfg, unsigned numbers,
		       unsigned dialogs, struct afgw_behaviour **out);
void afgw_behaviour_free(struct afgw_behaviour *b);

/*
 * Record m and report in *res which detectors flag m's caller (and, for
 * an SMS, its text; for call + SMS, the caller/callee pair).  Messages
 * must come in non-decreasing ts_us order per caller; an older timestamp
 * is treated as "now".  Never fails: a full table evicts.
 */
void afgw_behaviour_observe(struct afgw_behaviour *b, const struct afgw_bh_msg *m,
			    struct afgw_bh_result *res);

/*
 * Ask the memory system for the table lines afgw_behaviour_observe(b, m)
 * will read first, without changing anything: a caller that knows the
 * message a microsecond or more ahead of observing it (the pipeline, while
 * it renders the message's JSON) hides the cache misses of tables far
 * larger than the cache.  Needs m->kind, m->text_hash and the keys (m->keys,
 * or the numbers to hash).  Any thread, but it only helps the one that
 * observes.
 */
void afgw_behaviour_prefetch(const struct afgw_behaviour *b, const struct afgw_bh_msg *m);

/* m's keys (m->keys is not read).  Pure: any thread. */
void afgw_behaviour_keys(const struct afgw_bh_msg *m, struct afgw_bh_keys *k);


void afgw_behaviour_counters(const struct afgw_behaviour *b, uint64_t out[AFGW_BH_C_COUNT]);
const char *afgw_behaviour_counter_name(enum afgw_bh_counter c);
/* "mass_calling", "wangiri", "sms_fanout", "call_and_sms" for one AFGW_BH_* bit. */
const char *afgw_behaviour_name(unsigned flag);

#endif
