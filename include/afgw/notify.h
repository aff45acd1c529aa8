/*
 * notify.h - the notifier: warnings to residents, the contact log and
 * look-back, delivered through Redis.  gateway/notify.c.
 *
 *   score stage ──items──► notifier thread ──pipelined──► Redis
 *   (never blocks:         dedupe, hourly cap,            afgw:warn (stream)
 *    a full queue is       sign + seal, contact log,      afgw:cl:NUMBER
 *    counted)              look-back                       afgw:lb:NUMBER:SINCE
 *                               │ Redis away
 *                               ▼
 *                          spool (spool.h): sealed warnings only, replayed
 *                          oldest first when Redis is back
 *
 * The score stage submits three kinds of item: a warning for a registered
 * subscriber (built by the caller from the verdict and the subscriber's
 * registration), a contact (a message reached a registered subscriber who
 * wants look-back: who, whom, when), and a look-back request (a number has
 * just been blacklisted).  Everything slow happens in the notifier thread.
 *
 * Redis keys (deploy/README.md):
 *   afgw:warn            stream; fields a = account id, id = warning id,
 *                        w = the sealed warning (warning.h) in base64;
 *                        MAXLEN ~ notify.stream_maxlen, TTL 7 days renewed
 *   afgw:cl:NUMBER       sorted set: member = a registered subscriber's
 *                        canonical MSISDN, score = Unix time of NUMBER's
 *                        latest contact; TTL notify.lookback_days, at most
 *                        notify.contact_log_max members (the latest)
 *   afgw:lb:NUMBER:SINCE string, set NX by the one gateway of the fleet that
 *                        sends the look-back for that blacklisting; TTL 7 days
 *
 * Thread: afgw_notify_submit_* from one producer thread (the score stage);
 * _open/_flush/_close from the thread that owns the pipeline.
 */
#ifndef AFGW_NOTIFY_H
#define AFGW_NOTIFY_H

#include "afgw/config.h"
#include "afgw/keys.h"
#include "afgw/subscriber.h"
#include "afgw/warning.h"

enum afgw_notify_counter {
	AFGW_NOTIFY_C_SUBMITTED,        /* warnings submitted by the score stage */
	AFGW_NOTIFY_C_QUEUE_FULL,       /* items refused: queue full (warnings among them lost) */
	AFGW_NOTIFY_C_DEDUPED,          /* suppressed: same (other, category, subscriber) in window */
	AFGW_NOTIFY_C_CAPPED,           /* suppressed: subscriber's hourly cap reached */
	AFGW_NOTIFY_C_SEALED,           /* signed and sealed */
	AFGW_NOTIFY_C_DELIVERED,        /* XADDed to the stream (spooled ones included) */
	AFGW_NOTIFY_C_SPOOLED,          /* written to the spool */
	AFGW_NOTIFY_C_UNSPOOLED,        /* taken back from the spool and delivered */
	AFGW_NOTIFY_C_LOST,             /* could be neither delivered nor spooled */
	AFGW_NOTIFY_C_CONTACTS,         /* contact log entries written */
	AFGW_NOTIFY_C_LOOKBACKS,        /* look-back requests handled by this gateway */
	AFGW_NOTIFY_C_LOOKBACK_WARNINGS,/* warnings made by look-back */
	AFGW_NOTIFY_C_REDIS_OUTAGES,
	AFGW_NOTIFY_C_ERRORS,           /* failed rounds with Redis */
	AFGW_NOTIFY_C_COUNT
};

struct afgw_notify;

/*
 * Start the notifier for cfg (notify.*, redis.*), signing with gk (which
 * must outlive it).  With notify.spool_dir set, the spool is opened first
 * and what it holds from an earlier run is delivered once Redis answers.
 * Returns 0, -EINVAL / -errno (spool, with err) or -ENOMEM.
 */
int afgw_notify_open(const struct afgw_config *cfg, const struct afgw_sign_key *gk,
		     struct afgw_notify **out, char *err, size_t errlen);

/*
 * Producer: a warning to the registered subscriber sub, about w (all of w
 * but id, account and gateway filled by the caller; event is the message
 * time in µs, for the deterministic id).  Never blocks; false when the
 * queue is full (counted).
 */
bool afgw_notify_submit_warning(struct afgw_notify *n, const struct afgw_warning *w,
				const struct afgw_sub_entry *sub, uint64_t event);

/* Producer: NUMBER contacted the registered subscriber MSISDN at ts (Unix s). */
bool afgw_notify_submit_contact(struct afgw_notify *n, struct afgw_str number,
				struct afgw_str msisdn, int64_t ts);

/*
 * Producer: NUMBER was blacklisted at since (Unix s) for category with
 * score: warn the subscribers it contacted within notify.lookback_days.
 */
bool afgw_notify_submit_lookback(struct afgw_notify *n, struct afgw_str number, int64_t since,
				 const char *category, int score);

/*
 * Wait until everything submitted so far is delivered — or, while Redis
 * is away, spooled (or held in memory without a spool) after one more
 * connection attempt has failed — or timeout_ms passes.  Returns 0 or
 * -ETIMEDOUT.
 */
int afgw_notify_flush(struct afgw_notify *n, unsigned timeout_ms);

/* Stop: what is still queued goes to the spool (or is counted lost). NULL-safe. */
void afgw_notify_close(struct afgw_notify *n);

void afgw_notify_counters(const struct afgw_notify *n, uint64_t out[AFGW_NOTIFY_C_COUNT]);
const char *afgw_notify_counter_name(enum afgw_notify_counter c);

#endif
