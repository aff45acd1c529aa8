/*
 * gw.h - the afgw program's gateway wiring, shared by `afgw replay` and
 * `afgw run` (gateway/gw.c): from a loaded config to a running pipeline
 * with its reputation replica, subscriber registry, notifier, fleet
 * counters and bundle watcher, and back down in the right order.
 */
#ifndef AFGW_GW_H
#define AFGW_GW_H

#include <stdbool.h>
#include <stdio.h>

#include "afgw/bundle_watch.h"
#include "afgw/config.h"
#include "afgw/fleet.h"
#include "afgw/keys.h"
#include "afgw/notify.h"
#include "afgw/reputation.h"
#include "afgw/subscriber.h"
#include "afgw/worker.h"

struct gw {
	const char *cmd;               /* "replay" or "run", for messages */
	struct afgw_config *cfg;       /* the caller's, loaded */
	struct afgw_ruleset *rs;       /* the first rule set */
	struct afgw_rep *rep;
	struct afgw_sub *sub;
	struct afgw_sign_key *gk;
	struct afgw_notify *notify;
	struct afgw_fleet *fleet;
	struct afgw_bundle_watch *bw;
	struct afgw_pipeline *p;
};

struct gw_opts {
	const char *rules_dir;         /* the local rule set */
	const char *bundle;            /* a bundle file to apply at start, or NULL */
	unsigned redis_wait_ms;        /* for the first loads of the replicas */
	bool fleet_wait;               /* replay: fleet answers at round boundaries */
	FILE *out;                     /* Event JSON lines, or NULL */
	bool allow_events;             /* also write the events of allow verdicts */
	const struct afgw_event_privacy *privacy; /* NULL: numbers and text in clear */
	void (*on_verdict)(void *ud, const struct afgw_verdict_note *n);
	void *verdict_ud;
};

/*
 * Start everything for g->cfg.  Returns 0, or the exit status (1 runtime,
 * 2 bad config / keys / rules) after one line on stderr; g is then
 * stopped already.
 */
int gw_start(struct gw *g, const struct gw_opts *o);

/* Counters of the bundle watcher (zeros without one). */
void gw_bundle_counters(const struct gw *g, uint64_t c[AFGW_BW_C_COUNT]);

/* `afgw run` (run.c). */
int afgw_cmd_run(int argc, char **argv);

/* Stop and free in reverse order (the watcher first: no more offers).  Idempotent. */
void gw_stop(struct gw *g);

#endif
