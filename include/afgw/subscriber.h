/*
 * subscriber.h - the subscriber registry: which subscribers have an
 * anti-fraud app account and where their warnings go.  gateway/subscriber.c.
 *
 * Schema (deploy/README.md documents it beside the reputation keys):
 *
 *   afgw:sub:b:XXXX  hash, one of AFGW_REP_BUCKETS buckets (the same bucket
 *                    function as reputation: afgw_rep_bucket of the
 *                    canonical MSISDN); field = canonical MSISDN, value =
 *                    a record (below).  TTL: the latest expiry of its
 *                    records, only ever raised.
 *   afgw:sub:feed    stream, the change feed the gateways follow: n = MSISDN,
 *                    r = its new record (empty: deleted); or op = reload.
 *                    Trimmed to about 1,000,000 entries, TTL 30 days renewed
 *                    by every write.
 *
 *   record  v1;ACCOUNT;PUBKEY;PREFS;REGISTERED;EXPIRES
 *           ACCOUNT     app account id, [A-Za-z0-9_.@-]{1,64}
 *           PUBKEY      the account's X25519 public key, base64 (44 chars)
 *           PREFS       letters: c (warn about calls), s (about SMS),
 *                       l (look-back); "-" for none
 *           REGISTERED  Unix seconds
 *           EXPIRES     Unix seconds: the registration lapses unless the app
 *                       back end renews it (afgwctl sub add again)
 *
 * Writes are Lua scripts: a record and its feed entry change together.
 *
 * The replica: like reputation's, a full load at start (pipelined HGETALL
 * of every bucket) then XREAD on the feed in a background thread; the
 * owner thread (the score stage) takes changes in at afgw_sub_poll and
 * looks subscribers up with a local hash probe, no Redis round trip and no
 * lock.  Redis down: the replica keeps serving; the outage is counted and
 * logged once; reconnect every retry_ms; a full reload when the feed was
 * trimmed past the last entry read.  Bounded by memcap.replica_numbers.
 */
#ifndef AFGW_SUBSCRIBER_H
#define AFGW_SUBSCRIBER_H

#include "afgw/common.h"
#include "afgw/config.h"
#include "afgw/keys.h"
#include "afgw/redis.h"

#define AFGW_SUB_ACCOUNT_MAX 64
#define AFGW_SUB_RECORD_MAX 256
#define AFGW_SUB_ERR 256

enum {
	AFGW_SUB_CALLS = 1u << 0,      /* warn about calls */
	AFGW_SUB_SMS = 1u << 1,        /* warn about SMS */
	AFGW_SUB_LOOKBACK = 1u << 2,   /* look-back warnings */
};

struct afgw_sub_entry {
	char account[AFGW_SUB_ACCOUNT_MAX + 1];
	uint8_t pk[AFGW_BOX_PUBLIC_BYTES];
	unsigned prefs;                /* AFGW_SUB_* */
	int64_t registered, expires;
};

/* Record text <-> entry.  parse: 0 or -EINVAL; format: the length written
 * (buf of AFGW_SUB_RECORD_MAX). */
int afgw_sub_record_parse(const char *s, size_t len, struct afgw_sub_entry *e);
size_t afgw_sub_record_format(const struct afgw_sub_entry *e, char *buf);
bool afgw_sub_account_ok(const char *s);
/* "csl" style letters ("-": none) <-> AFGW_SUB_* bits; parse: 0 or -EINVAL. */
int afgw_sub_prefs_parse(const char *s, unsigned *prefs);
void afgw_sub_prefs_format(unsigned prefs, char out[4]);

/* ---- the replica (gateway) ------------------------------------------- */

enum afgw_sub_counter {
	AFGW_SUB_C_LOOKUPS,
	AFGW_SUB_C_HITS,
	AFGW_SUB_C_ENTRIES,            /* registered subscribers in the replica now */
	AFGW_SUB_C_LOADS,
	AFGW_SUB_C_LOAD_MS,            /* duration of the latest full load */
	AFGW_SUB_C_CHANGES,            /* feed entries applied */
	AFGW_SUB_C_BAD_RECORDS,
	AFGW_SUB_C_FULL,               /* entries dropped: memcap.replica_numbers reached */
	AFGW_SUB_C_REDIS_OUTAGES,
	AFGW_SUB_C_REDIS_UP,           /* 1 while connected */
	AFGW_SUB_C_COUNT
};

struct afgw_sub;

/*
 * Start the replica of cfg->redis (NULL url: an empty registry).  Returns
 * 0, -EINVAL (bad URL, with err) or -ENOMEM.  The thread connects
 * lazily; afgw_sub_wait_loaded waits for the first full load.
 */
int afgw_sub_open(const struct afgw_config *cfg, struct afgw_sub **out, char *err, size_t errlen);
void afgw_sub_close(struct afgw_sub *s);   /* NULL-safe */
/* 0 once loaded, -ETIMEDOUT. */
int afgw_sub_wait_loaded(struct afgw_sub *s, unsigned timeout_ms);
/* Owner thread: take in what the sync thread has loaded / read since. */
void afgw_sub_poll(struct afgw_sub *s);
/*
 * Owner thread: the registration of canonical MSISDN msisdn valid at now
 * (Unix seconds), copied into *out.  Returns false when not registered
 * (or lapsed).
 */
bool afgw_sub_lookup(struct afgw_sub *s, struct afgw_str msisdn, int64_t now,
		     struct afgw_sub_entry *out);
void afgw_sub_counters(const struct afgw_sub *s, uint64_t out[AFGW_SUB_C_COUNT]);
const char *afgw_sub_counter_name(enum afgw_sub_counter c);

/* ---- writes (afgwctl, tests) ---------------------------------------- */

/* Register or renew (replacing the previous record); announced on the feed. */
int afgw_sub_put(struct afgw_redis *c, struct afgw_str msisdn, const struct afgw_sub_entry *e,
		 char *err, size_t errlen);
/* 0, -ENOENT (not registered) or -errno with err. */
int afgw_sub_del(struct afgw_redis *c, struct afgw_str msisdn, char *err, size_t errlen);
int afgw_sub_get(struct afgw_redis *c, struct afgw_str msisdn, struct afgw_sub_entry *e,
		 char *err, size_t errlen);

#endif
