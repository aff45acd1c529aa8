/*
 * bundle_watch.h - police bundles in a fleet: the copy in Redis, the
 * notice that announces it, and the gateway's watcher that fetches,
 * verifies, compiles and hands new rule sets to the pipeline.
 * gateway/bundle_watch.c.
 *
 * Redis keys (deploy/README.md "Redis keys"):
 *   afgw:bundle:current  string, the bundle's bytes (bundle.h); expires
 *                        when the bundle does (EXPIREAT expires_at)
 *   afgw:bundle:serial   string, its serial in decimal; same expiry
 *   afgw:bundle:notice   Pub/Sub channel: "SERIAL HASHHEX" after a push
 *
 * Redis is only the carrier: every gateway verifies a bundle itself
 * against its own keyring and acceptance state (bundle.h), so whoever can
 * write Redis can delay a bundle but never make a gateway accept one.
 */
#ifndef AFGW_BUNDLE_WATCH_H
#define AFGW_BUNDLE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afgw/redis.h"

#define AFGW_BUNDLE_KEY "afgw:bundle:current"
#define AFGW_BUNDLE_SERIAL_KEY "afgw:bundle:serial"
#define AFGW_BUNDLE_CHANNEL "afgw:bundle:notice"

/*
 * Store buf (a bundle; its prefix must decode) as the fleet's current
 * bundle and publish the notice.  Refuses (-EEXIST, err says which serial
 * is there) a serial not above the stored one unless force.  On success
 * *receivers is how many subscribers the notice reached (running
 * gateways).  Returns 0 or -errno with one line in err.
 */
int afgw_bundle_push(struct afgw_redis *c, const uint8_t *buf, size_t len, bool force,
		     long long *receivers, char *err, size_t errlen);

/*
 * Read the fleet's current bundle into *buf (malloc'd, at most
 * AFGW_BUNDLE_MAX bytes: a larger value is refused with -EFBIG).
 * Returns 0, -ENOENT if there is none, or -errno with err.
 */
int afgw_bundle_fetch(struct afgw_redis *c, uint8_t **buf, size_t *len, char *err,
		      size_t errlen);

/* ---- the gateway's watcher ------------------------------------------ */

struct afgw_bundle_watch;
struct afgw_config;
struct afgw_pipeline;
struct afgw_rep;
struct afgw_ruleset;

enum afgw_bw_counter {
	AFGW_BW_C_ACCEPTED,            /* bundles accepted (also re-applied at start) */
	AFGW_BW_C_REJECTED,            /* bundles refused (each audited with its reason) */
	AFGW_BW_C_SERIAL,              /* serial of the bundle in force (gauge; 0: none) */
	AFGW_BW_C_NUMBERS,             /* numbers it listed (gauge) */
	AFGW_BW_C_COMPILE_MS,          /* the last compile (gauge) */
	AFGW_BW_C_REDIS_ERRORS,
	AFGW_BW_C_COUNT
};

/*
 * Start-up, for a config with bundle.trust: load the keyring and the
 * acceptance state, then find the bundle to start with — the state's copy
 * of the last accepted one, then `file` if given (afgw replay --bundle),
 * then Redis's current one — and build the rule set to start with: the
 * local rule set in base_dir plus the bundle's rules (serial = the
 * bundle's), or the local rules alone (serial 0) when no bundle is
 * acceptable.  base_dir "none" means no local rules: then *start may be
 * NULL (no acceptable bundle yet), and the pipeline runs without rules,
 * every message unscanned (reason no_ruleset), until a bundle arrives.  Refused bundles are audited, not fatal.  rep (may be NULL)
 * receives the bundle's numbers (afgw_rep_inject); it must outlive the
 * watcher.  *start is the caller's.  Returns 0, or -errno with one line
 * in err (bad keyring, unusable state directory, local rules that do not
 * load).
 */
int afgw_bundle_watch_open(const struct afgw_config *cfg, const char *base_dir,
			   struct afgw_rep *rep, const char *file, struct afgw_ruleset **start,
			   struct afgw_bundle_watch **out, char *err, size_t errlen);

/*
 * Follow Redis from now on (a thread): every bundle pushed and accepted is
 * offered to p (afgw_pipeline_offer_ruleset).  Without a Redis URL there
 * is nothing to follow: 0, no thread.  Returns 0 or -errno.
 */
int afgw_bundle_watch_start(struct afgw_bundle_watch *w, struct afgw_pipeline *p);

/*
 * Build the rule set again, now, in the caller's thread (afgw run on
 * SIGHUP: the local rule directory may have changed): the local rules plus
 * the last accepted bundle (verified again), or the local rules alone.
 * *out is the caller's.  Returns 0, -ENOENT (nothing to build: no local
 * rules and no bundle) or -EINVAL (refused or does not compile: logged,
 * and for a bundle audited).
 */
int afgw_bundle_watch_rebuild(struct afgw_bundle_watch *w, struct afgw_ruleset **out);

/* Stop the thread; NULL-safe.  Call before freeing the pipeline. */
void afgw_bundle_watch_close(struct afgw_bundle_watch *w);

void afgw_bundle_watch_counters(const struct afgw_bundle_watch *w, uint64_t out[AFGW_BW_C_COUNT]);
const char *afgw_bundle_watch_counter_name(enum afgw_bw_counter c);

#endif
