/*
 * gw.c - the afgw program's gateway wiring (gw.h).
 *
 * Order matters at start: the reputation replica is loaded before the
 * bundle watcher applies the current bundle (so that the bundle's new
 * blacklistings are new to the replica, which starts look-back), and the
 * pipeline exists before the watcher's thread can offer it rule sets.
 * At the end the watcher goes first, the pipeline next, then the
 * notifier (after its flush, which the caller does), the replicas last.
 */
#include "gw.h"

#include <errno.h>
#include <string.h>

#include "afgw/bundle.h"
#include "afgw/log.h"
#include "afgw/rules.h"

/* The local rule directory alone, compiled in this process (trusted files). */
static int load_ruleset(const char *cmd, const char *dir, struct afgw_ruleset **out)
{
	struct afgw_rules rules;
	struct afgw_rules_diag d;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	int rc = afgw_rules_load_dir(&rules, dir, &d);
	if (rc == 0)
		rc = afgw_ruleset_new(&rules, 0, &d, out);
	for (unsigned i = 0; i < d.n; i++)
		if (rc != 0 || d.msg[i].level == AFGW_DIAG_ERROR)
			fprintf(stderr, "afgw %s: %s\n", cmd, d.msg[i].text);
	if (rc != 0 && d.n == 0)
		fprintf(stderr, "afgw %s: %s: %s\n", cmd, dir, strerror(-rc));
	afgw_rules_fini(&rules);
	afgw_rules_diag_fini(&d);
	return rc;
}

static int fail(struct gw *g, int status, const char *what, const char *why)
{
	fprintf(stderr, "afgw %s: %s%s%s\n", g->cmd, what, why ? ": " : "", why ? why : "");
	gw_stop(g);
	return status;
}

int gw_start(struct gw *g, const struct gw_opts *o)
{
	struct afgw_config *cfg = g->cfg;
	int rc;
	if (o->bundle && !cfg->bundle.trust)
		return fail(g, 2, "--bundle needs bundle.trust and bundle.state_dir in the config",
			    NULL);
	bool no_rules = !strcmp(o->rules_dir, "none");
	if (!cfg->bundle.trust && !no_rules && load_ruleset(g->cmd, o->rules_dir, &g->rs) != 0) {
		gw_stop(g);
		return 2;
	}
	char rerr[AFGW_REP_ERR];
	rc = afgw_rep_open(cfg, &g->rep, rerr, sizeof(rerr));
	if (rc != 0)
		return fail(g, rc == -EINVAL ? 2 : 1, rc == -EINVAL ? rerr : strerror(-rc), NULL);
	if (cfg->redis.url && afgw_rep_wait_loaded(g->rep, o->redis_wait_ms) == -ETIMEDOUT)
		afgw_log(AFGW_LOG_WARN, "reputation not loaded after %u ms; going on with what "
					"there is",
			 o->redis_wait_ms);
	if (cfg->bundle.trust) {
		/* the rule set to start with: the local rules plus the current bundle's */
		char berr[AFGW_BUNDLE_ERR];
		rc = afgw_bundle_watch_open(cfg, o->rules_dir, g->rep, o->bundle, &g->rs, &g->bw,
					    berr, sizeof(berr));
		if (rc != 0)
			return fail(g, rc == -ENOMEM || rc == -EIO ? 1 : 2, berr, NULL);
	}
	if (cfg->redis.url) {
		char serr[AFGW_SUB_ERR];
		rc = afgw_sub_open(cfg, &g->sub, serr, sizeof(serr));
		if (rc != 0)
			return fail(g, 1, rc == -EINVAL ? serr : strerror(-rc), NULL);
		if (afgw_sub_wait_loaded(g->sub, o->redis_wait_ms) == -ETIMEDOUT)
			afgw_log(AFGW_LOG_WARN, "subscriber registry not loaded after %u ms; going "
						"on with what there is",
				 o->redis_wait_ms);
	}
	if (cfg->notify.gateway_key) {
		char kerr[AFGW_KEY_ERR] = "cannot initialise libsodium";
		if (afgw_keys_init() != 0 ||
		    afgw_sign_key_load(cfg->notify.gateway_key, &g->gk, kerr, sizeof(kerr)) != 0)
			return fail(g, 2, kerr, NULL);
		rc = afgw_notify_open(cfg, g->gk, &g->notify, kerr, sizeof(kerr));
		if (rc != 0)
			return fail(g, 1, rc == -ENOMEM ? strerror(-rc) : kerr, NULL);
	}
	if (cfg->redis.url && cfg->behaviour.fleet_sync_ms) {
		struct afgw_fleet_opts fo = { .cfg = cfg, .wait = o->fleet_wait };
		rc = afgw_fleet_open(&fo, &g->fleet);
		if (rc != 0)
			return fail(g, 1, "cannot start the fleet counters", strerror(-rc));
	}
	struct afgw_pipeline_opts po = {
		.cfg = cfg, .rs = g->rs, .rep = g->rep, .fleet = g->fleet, .sub = g->sub,
		.notify = g->notify, .out = o->out, .skip_allow = !o->allow_events,
		.privacy = o->privacy, .on_verdict = o->on_verdict, .verdict_ud = o->verdict_ud,
	};
	rc = afgw_pipeline_new(&po, &g->p);
	if (rc != 0)
		return fail(g, 1, "cannot start the pipeline", strerror(-rc));
	if (g->bw && (rc = afgw_bundle_watch_start(g->bw, g->p)) != 0)
		return fail(g, 1, "cannot start the bundle watcher", strerror(-rc));
	return 0;
}

void gw_bundle_counters(const struct gw *g, uint64_t c[AFGW_BW_C_COUNT])
{
	memset(c, 0, AFGW_BW_C_COUNT * sizeof(c[0]));
	if (g->bw)
		afgw_bundle_watch_counters(g->bw, c);
}

void gw_stop(struct gw *g)
{
	afgw_bundle_watch_close(g->bw);
	g->bw = NULL;
	afgw_pipeline_free(g->p);
	g->p = NULL;
	afgw_notify_close(g->notify);
	g->notify = NULL;
	afgw_sign_key_free(g->gk);
	g->gk = NULL;
	afgw_sub_close(g->sub);
	g->sub = NULL;
	afgw_fleet_close(g->fleet);
	g->fleet = NULL;
	afgw_rep_close(g->rep);
	g->rep = NULL;
	afgw_ruleset_free(g->rs);
	g->rs = NULL;
}
