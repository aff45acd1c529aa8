/*
 * reputation.h - number reputation: the Redis schema, the local replica
 * every gateway keeps of it, and the writes afgwctl makes.
 * gateway/reputation.c, the only file on the packet side with hiredis.h.
 *
 * The schema (deploy/README.md "Redis keys" documents it for operators):
 *
 *   afgw:rep:b:XXXX   hash, one of AFGW_REP_BUCKETS buckets (XXXX: 4 hex
 *                     digits of a hash of the canonical number); field =
 *                     canonical number, value = a record (below).  TTL:
 *                     the latest expiry of its entries.
 *   afgw:rep:feed     stream, the change feed: fields n=<number>,
 *                     r=<record> (empty r: deleted), or op=reload after a
 *                     bulk import.  Trimmed to about AFGW_REP_FEED_MAX
 *                     entries; TTL 30 days, renewed by every write.
 *   afgw:rep:r:NUM    hash, resident reports of NUM: field = reporter
 *                     account id, value = "<unix time>;<category>".  TTL:
 *                     the report window.
 *
 * A record is one line of ';'-separated fields, readable with redis-cli:
 *   v1;LIST;SCORE;CATEGORY;SOURCE;SINCE;EXPIRES;HALFLIFE_DAYS;REPORTS;REPORTED_AT
 * e.g. "v1;black;90;investment;police;1763700000;1779300000;0;0;0".
 * LIST is black, gray, allow or none (reports only); SOURCE is police,
 * operator, reports or import, or police@SERIAL for an entry a police
 * bundle made (bundle.h); times are Unix seconds.
 *
 * Why buckets and not one key per number: a gateway loads the whole table
 * at start, and AFGW_REP_BUCKETS pipelined HGETALLs move ten million
 * entries in seconds, where SCAN plus a GET per key would take minutes;
 * small hashes are also stored compactly by Redis (listpack).
 *
 * The replica (struct afgw_rep) is a gateway's in-memory copy: a full
 * load at start, then the change feed read by a background thread with its
 * own connection.  The owner thread (the score stage) takes the changes in
 * with afgw_rep_poll() between messages and looks numbers up with a local
 * hash probe: no Redis round trip, no lock.  When Redis goes away the
 * replica keeps serving what it has; the outage is counted and logged
 * once, and the thread reconnects and catches up (a full reload if the
 * feed was trimmed past it).  Emergency and service numbers (110, 119,
 * 120, 122, 12110, 96110, 12381) and the configured allow list always
 * answer "allow".
 */
#ifndef AFGW_REPUTATION_H
#define AFGW_REPUTATION_H

#include "afgw/common.h"
#include "afgw/config.h"
#include "afgw/redis.h"

#define AFGW_REP_BUCKETS 65536
#define AFGW_REP_FEED_MAX 1000000
#define AFGW_REP_CATEGORY_MAX 32       /* [a-z0-9_-], 1..32 */
#define AFGW_REP_RECORD_MAX 160
#define AFGW_REP_REPORTER_MAX 64       /* [A-Za-z0-9_.:-], 1..64 */
#define AFGW_REP_ERR 256

enum afgw_rep_list { AFGW_REP_NONE, AFGW_REP_BLACK, AFGW_REP_GRAY, AFGW_REP_ALLOW };
enum afgw_rep_source {
	AFGW_REP_SRC_POLICE,
	AFGW_REP_SRC_OPERATOR,
	AFGW_REP_SRC_REPORTS,
	AFGW_REP_SRC_IMPORT,
};

/* One record, as stored. */
struct afgw_rep_entry {
	enum afgw_rep_list list;
	int score;                     /* 0..100 */
	char category[AFGW_REP_CATEGORY_MAX + 1];
	enum afgw_rep_source source;
	int64_t since;                 /* when the list entry was made */
	int64_t expires;               /* list entry ends (reports keep their own window) */
	unsigned halflife_days;        /* list score halves every this many days; 0: no decay */
	unsigned reports;              /* independent resident reports within the window */
	int64_t reported_at;           /* the latest report */
	uint64_t bundle;               /* police: serial of the bundle that listed it (0: none);
	                                  stored as SOURCE "police@SERIAL" */
};

/* Parse / format a record.  Parse returns 0 or -EINVAL for anything not
 * exactly the format above (any thread; pure). */
int afgw_rep_record_parse(const char *s, size_t len, struct afgw_rep_entry *e);
/* Returns the length written (< AFGW_REP_RECORD_MAX, NUL-terminated). */
size_t afgw_rep_record_format(const struct afgw_rep_entry *e, char out[AFGW_REP_RECORD_MAX]);

const char *afgw_rep_list_name(enum afgw_rep_list l);
const char *afgw_rep_source_name(enum afgw_rep_source s);
int afgw_rep_list_parse(const char *s, enum afgw_rep_list *out);     /* 0 or -EINVAL */
int afgw_rep_source_parse(const char *s, enum afgw_rep_source *out); /* 0 or -EINVAL */
bool afgw_rep_category_ok(const char *s);
bool afgw_rep_reporter_ok(const char *s);

/* The bucket of a canonical number (0 .. AFGW_REP_BUCKETS-1). */
unsigned afgw_rep_bucket(struct afgw_str canon);

/* True for the built-in emergency and service numbers. */
bool afgw_rep_is_emergency(struct afgw_str canon);

/* ---- what a lookup answers ----------------------------------------- */

struct afgw_rep_result {
	enum afgw_rep_list list;       /* NONE when unknown or expired */
	bool emergency;                /* built-in emergency / service number */
	bool allow_config;             /* in the configured allow list */
	int score;                     /* list score after decay (0..100) */
	int report_score;              /* min(cap, each * reports) after decay */
	unsigned reports;
	enum afgw_rep_source source;
	char category[AFGW_REP_CATEGORY_MAX + 1];
};

/*
 * The reputation of entry e at Unix time now, with the report weights of
 * sc (pure; the replica's lookup uses it, tests check it).
 */
void afgw_rep_evaluate(const struct afgw_rep_entry *e, int64_t now,
		       const struct afgw_config_score *sc, struct afgw_rep_result *out);

/* ---- the replica ---------------------------------------------------- */

struct afgw_rep;

enum afgw_rep_counter {
	AFGW_REP_C_ENTRIES,            /* entries in the replica now (gauge) */
	AFGW_REP_C_LOOKUPS,
	AFGW_REP_C_HITS,
	AFGW_REP_C_LOADS,              /* full loads done */
	AFGW_REP_C_LOAD_MS,            /* duration of the last full load */
	AFGW_REP_C_CHANGES,            /* feed entries applied */
	AFGW_REP_C_BAD_RECORDS,        /* records or feed entries that did not parse */
	AFGW_REP_C_FULL,               /* entries dropped: replica_numbers reached */
	AFGW_REP_C_OUTAGES,            /* times Redis became unreachable */
	AFGW_REP_C_REDIS_UP,           /* 1 while connected (gauge) */
	AFGW_REP_C_NEWLY_DROPPED,      /* new blacklistings not taken in time (look-back lost) */
	AFGW_REP_C_SYNCED_MS,          /* Unix ms when the feed was last read to its end (gauge;
	                                  now minus this is the replica's lag) */
	AFGW_REP_C_COUNT
};

/*
 * Start a replica of the Redis at cfg->redis (cfg is copied): connects,
 * loads, follows the feed in a background thread.  Never fails because
 * Redis is down (the thread keeps trying; lookups answer from what is
 * loaded, at first only the allow lists).  Without cfg->redis.url there is
 * no thread and only the allow lists answer.  Returns 0, -EINVAL (bad URL,
 * message in err) or -ENOMEM.
 */
int afgw_rep_open(const struct afgw_config *cfg, struct afgw_rep **out, char *err, size_t errlen);
void afgw_rep_close(struct afgw_rep *r);

/*
 * Wait up to timeout_ms for the first full load (replay waits so that a
 * capture is judged against the whole table).  Returns 0 when loaded,
 * -ETIMEDOUT, or -ENOTCONN when Redis could not be reached at all.
 */
int afgw_rep_wait_loaded(struct afgw_rep *r, unsigned timeout_ms);

/*
 * Owner thread: take in the changes and reloads the background thread has
 * prepared.  Cheap when there are none (one atomic load).
 */
void afgw_rep_poll(struct afgw_rep *r);

#define AFGW_REP_NUMBER_MAX 64
#define AFGW_REP_NEWLY_MAX 4096

/* A number the change feed has just blacklisted (for look-back). */
struct afgw_rep_blacklisted {
	char number[AFGW_REP_NUMBER_MAX + 1];     /* canonical */
	char category[AFGW_REP_CATEGORY_MAX + 1];
	int64_t since;
	int score;
};

/*
 * Owner thread, after afgw_rep_poll: up to max numbers that feed changes
 * newly blacklisted (black now, and not black since the same time before;
 * bulk imports are not announced one by one).  Returns how many.
 */
size_t afgw_rep_take_blacklisted(struct afgw_rep *r, struct afgw_rep_blacklisted *out,
				 size_t max);

/*
 * Any thread: put e as canon's record into this replica now, as if the
 * feed had brought it (a police bundle's numbers apply even while Redis is
 * away; the same record arriving later by the feed changes nothing).  A new
 * blacklisting is announced for look-back like a feed change.  Returns 0 or
 * -EINVAL (not a number).
 */
int afgw_rep_inject(struct afgw_rep *r, struct afgw_str canon, const struct afgw_rep_entry *e);

/* Owner thread: the reputation of canon at Unix time now.  Returns true if
 * the number is known (any list, reports or allow list). */
bool afgw_rep_lookup(struct afgw_rep *r, struct afgw_str canon, int64_t now,
		     struct afgw_rep_result *out);

void afgw_rep_counters(const struct afgw_rep *r, uint64_t out[AFGW_REP_C_COUNT]);
const char *afgw_rep_counter_name(enum afgw_rep_counter c);

/* ---- writes (afgwctl, tests) ----------------------------------------- */


/*
 * Set the list part of canon's record (keeping its reports), announce it
 * on the feed.  e->reports / reported_at are ignored.  Returns 0 or
 * -errno with a message in err.
 */
int afgw_rep_put(struct afgw_redis *c, struct afgw_str canon, const struct afgw_rep_entry *e,
		 char *err, size_t errlen);
/* Remove canon's list entry (reports stay); -ENOENT if it had none. */
int afgw_rep_del(struct afgw_redis *c, struct afgw_str canon, char *err, size_t errlen);
/* Read canon's record; -ENOENT if none. */
int afgw_rep_get(struct afgw_redis *c, struct afgw_str canon, struct afgw_rep_entry *e,
		 char *err, size_t errlen);
/* Every record, bucket by bucket; fn returns non-zero to stop. */
int afgw_rep_list(struct afgw_redis *c,
		  int (*fn)(void *ud, const char *canon, const struct afgw_rep_entry *e), void *ud,
		  char *err, size_t errlen);
/*
 * A resident report of canon by reporter (an app account id) in category
 * at Unix time now: the same reporter counts once per window_days; the
 * record's report count becomes the number of distinct reporters within
 * the window.  *reports_out gets that count.  Returns 0 or -errno.
 */
int afgw_rep_report(struct afgw_redis *c, struct afgw_str canon, const char *reporter,
		    const char *category, int64_t now, unsigned window_days, unsigned *reports_out,
		    char *err, size_t errlen);
/*
 * Bulk import: many list entries in pipelined batches, then one
 * op=reload on the feed so replicas reload once instead of reading a
 * million feed entries.  Returns 0 or -errno.
 */
struct afgw_rep_import;
int afgw_rep_import_begin(struct afgw_redis *c, struct afgw_rep_import **out);
int afgw_rep_import_add(struct afgw_rep_import *im, struct afgw_str canon,
			const struct afgw_rep_entry *e, char *err, size_t errlen);
int afgw_rep_import_end(struct afgw_rep_import *im, uint64_t *count, char *err, size_t errlen);

#endif
