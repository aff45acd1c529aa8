/*
 * fleet.h - behaviour counters shared by a fleet of gateways through
 * Redis, gateway/fleet.c.
 *
 * One gateway sees only the traffic that passes it: a caller who spreads
 * a mass-calling run over ten gateways shows each of them a tenth of it.
 * So the score stage also notes every observation that feeds a distinct
 * count (behaviour.h) here, and the fleet module keeps the same counts
 * fleet-wide:
 *
 *   mass calling  key = caller,            member = callee
 *   Wangiri       key = caller,            member = callee rung short
 *   SMS fan-out   key = normalized text,   member = recipient
 *   call + SMS    key = (caller, callee),  member = "call" or "SMS"
 *                 (flags at 2 members: both kinds within the window)
 *
 * in Redis HyperLogLogs, one per key and aligned window (window index =
 * message time / window length), "afgw:bh:<mc|wg|fo|cs>:<key hash as 16
 * hex>:<window index>", with a TTL of the window plus a minute.  Keys and
 * members are 64-bit hashes of the canonical numbers and the normalized
 * text, never the numbers or the text themselves.
 *
 * Nothing happens in Redis per message.  The owner (score stage) appends
 * notes to a bounded batch; every fleet_sync_ms of message time it hands
 * the batch to a background thread, which sends one pipelined round of
 * PFADD / EXPIRE / PFCOUNT per distinct key and hands back the fleet-wide
 * counts, which the owner applies at its next tick.  A key whose fleet
 * count reaches the detector's threshold in its window is flagged for
 * flag_hold_s, like a local flag.  When the thread is still busy with the
 * last batch, notes keep accumulating; a full batch drops further notes
 * (counted).  Redis down: the batch is dropped (counted), the outage is
 * logged once, and the gateway goes on with its local counts.
 *
 * In replay (opts.wait) a round's answers are taken in at the next round
 * boundary (fleet_sync_ms of message time later), waiting for them there
 * if need be, so a replay's verdicts do not depend on how fast Redis
 * answers while Redis works in parallel; the live daemon never waits.
 *
 * Thread: afgw_fleet_* from one owner thread; the module runs its own.
 */
#ifndef AFGW_FLEET_H
#define AFGW_FLEET_H

#include "afgw/config.h"
#include "afgw/common.h"

enum afgw_fleet_kind {
	AFGW_FLEET_MASS_CALLING,
	AFGW_FLEET_WANGIRI,
	AFGW_FLEET_SMS_FANOUT,
	AFGW_FLEET_CALL_AND_SMS,
	AFGW_FLEET_KINDS
};

/* call + SMS members */
#define AFGW_FLEET_MEMBER_CALL 1u
#define AFGW_FLEET_MEMBER_SMS 2u

enum afgw_fleet_counter {
	AFGW_FLEET_C_NOTES,          /* observations noted */
	AFGW_FLEET_C_DROPPED,        /* notes lost: batch full, or its round failed */
	AFGW_FLEET_C_ROUNDS,         /* rounds completed with Redis */
	AFGW_FLEET_C_KEYS,           /* keys sent, summed over rounds */
	AFGW_FLEET_C_FLAGGED,        /* keys newly flagged by a fleet-wide count */
	AFGW_FLEET_C_ERRORS,         /* failed rounds */
	AFGW_FLEET_C_OUTAGES,        /* Redis became unreachable */
	AFGW_FLEET_C_COUNT
};

struct afgw_fleet_opts {
	const struct afgw_config *cfg; /* redis, behaviour windows / thresholds / fleet_sync_ms */
	unsigned batch;                /* notes per round; 0: memcap.behaviour_numbers */
	unsigned keys;                 /* fleet counts remembered; 0: memcap.behaviour_numbers */
	bool wait;                     /* replay: wait for each round's answer */
};

struct afgw_fleet;

/*
 * Start the fleet counters (cfg->redis.url set and fleet_sync_ms > 0,
 * else -EINVAL: the caller simply runs without).  Connects lazily, in the
 * thread.  Returns 0, -EINVAL or -ENOMEM.
 */
int afgw_fleet_open(const struct afgw_fleet_opts *o, struct afgw_fleet **out);

/* Finish the round in flight (not the batch being filled), stop. NULL-safe. */
void afgw_fleet_close(struct afgw_fleet *f);

/* Note that key got member at ts_us.  Never blocks, never allocates. */
void afgw_fleet_note(struct afgw_fleet *f, enum afgw_fleet_kind kind, uint64_t key,
		     uint64_t member, uint64_t ts_us);

/*
 * Once per message, before its lookups: applies answers that have come
 * back (with opts.wait: those of the last round, at the next round
 * boundary) and, when fleet_sync_ms of message time have passed since the
 * last round, hands the batch over.
 */
void afgw_fleet_tick(struct afgw_fleet *f, uint64_t ts_us);

/* Hand over what is noted now and wait for the answer (end of a replay). */
void afgw_fleet_flush(struct afgw_fleet *f);

/*
 * Whether key is flagged fleet-wide at ts_us; *count gets the latest
 * fleet-wide count of its window (0 if unknown, and for a key that has
 * never been flagged: afgw_fleet_count tells those).
 */
bool afgw_fleet_flagged(const struct afgw_fleet *f, enum afgw_fleet_kind kind, uint64_t key,
			uint64_t ts_us, unsigned *count);

/* The latest fleet-wide count of key's window, flagged or not (0 if unknown). */
unsigned afgw_fleet_count(const struct afgw_fleet *f, enum afgw_fleet_kind kind, uint64_t key);

void afgw_fleet_counters(const struct afgw_fleet *f, uint64_t out[AFGW_FLEET_C_COUNT]);
const char *afgw_fleet_counter_name(enum afgw_fleet_counter c);

/*
 * 64-bit FNV-1a, the fleet's hash of numbers and texts (the same on every
 * gateway): start with AFGW_FLEET_HASH_INIT, continue over several pieces.
 */
#define AFGW_FLEET_HASH_INIT 14695981039346656037ull
static inline uint64_t afgw_fleet_hash(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 1099511628211ull;
	}
	return h;
}

#endif
