/*
 * run.c - `afgw run -c CONFIG`: the long-running gateway.
 *
 * Tap mode: live capture on the configured mirror ports, the same
 * pipeline as `afgw replay` (gw.c: reputation replica, subscriber
 * registry, notifier, fleet counters, bundle watcher), Event JSON lines
 * for warn and block verdicts (allow too if output.allow_events), and the
 * metrics / health endpoint.  Bridge mode: the same, inline between two
 * interfaces (see "bridge mode" below).  SMPP-proxy mode: ESMEs bind to
 * smpp.listen and the SMSC is smpp.upstream (smpp_proxy.c); the loop
 * below runs the proxy's steps instead of polling captures.
 *
 * The main thread is the capture thread and the pipeline's score stage:
 * it polls every capture's descriptor, drains what is readable into the
 * pipeline, and between batches installs offered rule sets and scores
 * what the workers finished (afgw_pipeline_poll), so a quiet link still
 * gets its verdicts at once.  Once a second it flushes the events and
 * publishes a snapshot of the counters for the metrics thread.
 *
 * Signals: SIGTERM / SIGINT stop cleanly (the pipeline drained, warnings
 * flushed, exit 0); SIGHUP reads the config again and applies what can
 * change while running (reload_config), reopens the events file (for
 * logrotate) and reloads the rules (the local directory and the police
 * bundle in force) in a thread of its own: the workers change rule sets
 * between frames.
 * Privileges: captures are opened first, then, with run.user, the process
 * becomes that user and group for good (nothing else needs root).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <strings.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gw.h"
#include "afgw/capture.h"
#include "afgw/keys.h"
#include "afgw/log.h"
#include "afgw/match.h"
#include "afgw/metrics.h"
#include "afgw/packet.h"
#include "afgw/rules.h"
#include "afgw/sip_reply.h"
#include "afgw/smpp_proxy.h"

#define IFACES_MAX 16
#define DLT_EN10MB_LINKTYPE 1          /* Ethernet, the only link bridge mode takes */
#define BATCH 4096                 /* frames from one capture before looking at the others */

static const char usage_run[] =
	"usage: afgw run -c CONFIG\n"
	"\n"
	"The long-running gateway.  The config (deploy/afgw.yaml) chooses the mode; tap\n"
	"mode captures live on run.interfaces (mirror / SPAN ports), screens every SIP\n"
	"message and SMS like 'afgw replay', writes Event JSON lines for warn and block\n"
	"verdicts to output.events (allow ones too with output.allow_events), warns\n"
	"registered subscribers, follows police bundles, and serves Prometheus metrics\n"
	"and /healthz on run.metrics.  Bridge mode sits inline between the two\n"
	"run.interfaces: every frame is forwarded unchanged, except an INVITE over UDP\n"
	"whose verdict is block, which the caller gets 607 Unwanted for; an INVITE with\n"
	"no verdict within run.verdict_deadline_ms is forwarded unscanned (fail-open).\n"
	"SMPP-proxy mode: ESMEs bind to smpp.listen (accounts in smpp.accounts), afgw\n"
	"binds to the SMSC at smpp.upstream for each of them and relays every PDU; an\n"
	"SMS whose verdict is block is refused with smpp.block_status (submit side) or\n"
	"smpp.deliver_block_status (deliver side) and never relayed.\n"
	"\n"
	"signals: SIGTERM / SIGINT stop cleanly (warnings flushed); SIGHUP reads the\n"
	"config again (score thresholds and weights, output.events, output.allow_events,\n"
	"the smpp statuses, timers, hold bytes and deadlines, and the smpp.accounts file\n"
	"apply at once; the rest needs a restart), reopens the events file and reloads\n"
	"the rules (local directory + police bundle in force).\n"
	"\n"
	"exit status: 0 stopped by a signal, 1 runtime failure, 2 bad usage or config.\n";

static volatile sig_atomic_t stop_flag, hup_flag;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		hup_flag = 1;
	else
		stop_flag = 1;
}

/* ---- bridge mode ------------------------------------------------------ */

/*
 * Bridge mode forwards every frame read on one interface out of the other
 * at once, unchanged, and feeds it to the pipeline; only an initial SIP
 * INVITE over UDP waits for its verdict.  It is held (a copy, in a ring of
 * HOLD_MAX) under the sequence number the pipeline gives its frame; the
 * score stage's verdict note marks it, and the loop then forwards it
 * (allow, warn, unscanned) or answers the caller with 607 Unwanted
 * (block) and drops it.  Fail-open: an INVITE without a verdict after
 * run.verdict_deadline_ms, or arriving when the ring is full, is forwarded
 * unscanned and counted by reason.
 */
#define HOLD_MAX 1024
#define FRAME_MAX 9216             /* a jumbo frame: larger INVITEs are forwarded at once */

enum bridge_counter {
	BR_FORWARDED,                  /* frames passed on at once */
	BR_HELD,                       /* INVITEs held for a verdict */
	BR_RELEASED,                   /* ... forwarded after an allow / warn verdict */
	BR_BLOCKED,                    /* ... answered 607 and dropped */
	BR_DEADLINE,                   /* ... forwarded unscanned: no verdict in time */
	BR_UNSCANNED,                  /* ... forwarded: the message got no verdict */
	BR_OVERLOAD,                   /* INVITEs forwarded unscanned: the hold ring was full */
	BR_INJECT_ERRORS,
	BR_COUNT
};

static const char *const bridge_names[BR_COUNT] = {
	"forwarded", "held", "released", "blocked", "deadline", "unscanned", "overload",
	"inject_errors",
};

struct held {
	uint64_t seq;
	double deadline;
	int decided;                   /* 0 waiting, 1 forward, 2 block, 3 unscanned */
	unsigned side;                 /* where it came from */
	size_t len;
	uint8_t *frame;                /* FRAME_MAX bytes, allocated once */
};

struct bridge {
	struct afgw_capture *cap[2];
	struct held ring[HOLD_MAX];
	unsigned head, n;
	double deadline_s;
	_Atomic uint64_t c[BR_COUNT];
	uint8_t reply[AFGW_SIP_REPLY_MAX];
	uint64_t tag_seq;
};

/* The pipeline's verdict note (score stage = this thread). */
static void bridge_verdict(void *ud, const struct afgw_verdict_note *n)
{
	struct bridge *br = ud;
	if (!n->invite)
		return;
	for (unsigned i = 0; i < br->n; i++) {
		struct held *h = &br->ring[(br->head + i) % HOLD_MAX];
		if (h->seq == n->seq && !h->decided) {
			h->decided = !n->scanned ? 3 : n->action == AFGW_BLOCK ? 2 : 1;
			return;
		}
	}
}

static void inject(struct bridge *br, unsigned side, const uint8_t *f, size_t len)
{
	char err[256];
	if (afgw_capture_inject(br->cap[side], f, len, err, sizeof(err)) != 0)
		atomic_fetch_add(&br->c[BR_INJECT_ERRORS], 1);
}

/* An initial INVITE over UDP, in one frame (what bridge mode holds). */
static bool is_udp_invite(const struct afgw_frame *f)
{
	struct afgw_pkt pkt;
	if (afgw_packet_decode(f->linktype, f->data, f->caplen, f->len, &pkt) != AFGW_PKT_OK ||
	    pkt.l4proto != 17 || pkt.payload_len < 8 || memcmp(pkt.payload, "INVITE ", 7) != 0)
		return false;
	/* a re-INVITE (To with a tag) belongs to a call already let through */
	const char *p = (const char *)pkt.payload, *end = p + pkt.payload_len;
	for (const char *l = p; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		size_t n = (size_t)((nl ? nl : end) - l);
		if (n <= 2)
			break; /* end of the headers */
		if ((n > 3 && !strncasecmp(l, "To:", 3)) || (n > 2 && !strncasecmp(l, "t:", 2))) {
			for (size_t i = 0; i + 4 < n; i++)
				if (!strncasecmp(l + i, ";tag=", 5))
					return false;
		}
		l = nl ? nl + 1 : end;
	}
	return true;
}

/* Forward or answer what is decided or overdue, oldest first. */
static void bridge_release(struct bridge *br, bool all)
{
	double now = afgw_mono_s();
	while (br->n) {
		struct held *h = &br->ring[br->head];
		if (!h->decided && !all && now < h->deadline)
			break;
		unsigned other = h->side ^ 1;
		if (h->decided == 2) {
			char tag[32];
			snprintf(tag, sizeof(tag), "afgw%llu", (unsigned long long)++br->tag_seq);
			int n = afgw_sip_reply_frame(h->frame, h->len, DLT_EN10MB_LINKTYPE, 607,
						     "Unwanted", tag, NULL, br->reply,
						     sizeof(br->reply));
			if (n > 0)
				inject(br, h->side, br->reply, (size_t)n);
			atomic_fetch_add(&br->c[BR_BLOCKED], 1);
		} else {
			inject(br, other, h->frame, h->len);
			atomic_fetch_add(&br->c[h->decided == 1 ? BR_RELEASED :
						h->decided == 3 ? BR_UNSCANNED : BR_DEADLINE], 1);
		}
		br->head = (br->head + 1) % HOLD_MAX;
		br->n--;
	}
}

/* One frame read on side. */
static void bridge_frame(struct bridge *br, struct afgw_pipeline *p, unsigned side,
			 const struct afgw_frame *f)
{
	if (f->caplen == f->len && f->caplen <= FRAME_MAX && f->linktype == DLT_EN10MB_LINKTYPE &&
	    is_udp_invite(f)) {
		if (br->n == HOLD_MAX) {
			atomic_fetch_add(&br->c[BR_OVERLOAD], 1);
		} else {
			struct held *h = &br->ring[(br->head + br->n) % HOLD_MAX];
			h->seq = afgw_pipeline_next_seq(p);
			h->deadline = afgw_mono_s() + br->deadline_s;
			h->decided = 0;
			h->side = side;
			h->len = f->caplen;
			memcpy(h->frame, f->data, f->caplen);
			br->n++;
			atomic_fetch_add(&br->c[BR_HELD], 1);
			afgw_pipeline_frame(p, f);
			return;
		}
	}
	inject(br, side ^ 1, f->data, f->caplen);
	atomic_fetch_add(&br->c[BR_FORWARDED], 1);
	afgw_pipeline_frame(p, f);
}

/* What the metrics thread shows: a copy made by the main thread each second. */
struct snapshot {
	pthread_mutex_t mu;
	struct afgw_pipeline_stats st;
	uint64_t rep[AFGW_REP_C_COUNT];
	uint64_t notify[AFGW_NOTIFY_C_COUNT];
	uint64_t bundle[AFGW_BW_C_COUNT];
	uint64_t recv[IFACES_MAX], drop[IFACES_MAX], ifdrop[IFACES_MAX];
	char ifname[IFACES_MAX][64];
	unsigned n_if;
	bool have_rep, have_notify;
	double ruleset_since;          /* monotonic seconds when the serial last changed */
	uint64_t last_serial;
	double heartbeat;              /* the main loop's last pass */
	double started;
	struct bridge *bridge;         /* bridge mode: its counters are atomics */
	bool have_px;                  /* smpp-proxy mode */
	struct afgw_smpp_proxy_stats px;
};

static void render(void *ud, struct afgw_metrics_buf *b)
{
	struct snapshot *s = ud;
	pthread_mutex_lock(&s->mu);
	const struct afgw_pipeline_stats *st = &s->st;
	const char *sip[] = { "proto", "sip", NULL }, *smpp[] = { "proto", "smpp", NULL };
	afgw_metrics_counter(b, "afgw_messages_total", "decoded messages by protocol", sip,
			     st->sip_events);
	afgw_metrics_counter(b, "afgw_messages_total", "decoded messages by protocol", smpp,
			     st->smpp_events);
	static const char *const act[] = { "allow", "warn", "block" };
	for (int a = 0; a < 3; a++) {
		const char *l[] = { "action", act[a], NULL };
		afgw_metrics_counter(b, "afgw_verdicts_total", "verdicts by action", l,
				     st->action[a]);
	}
	for (unsigned i = 0; i < st->n_categories; i++) {
		const char *lw[] = { "category", st->category[i].name, "action", "warn", NULL };
		const char *lb[] = { "category", st->category[i].name, "action", "block", NULL };
		afgw_metrics_counter(b, "afgw_verdicts_by_category_total",
				     "warn and block verdicts by leading category", lw,
				     st->category[i].warn);
		afgw_metrics_counter(b, "afgw_verdicts_by_category_total",
				     "warn and block verdicts by leading category", lb,
				     st->category[i].block);
	}
	afgw_metrics_counter(b, "afgw_match_cached_total",
			     "verdicts whose text results came from a worker's match cache", NULL,
			     st->match_cached);
	for (int u = 0; u < AFGW_UNSCANNED_COUNT; u++) {
		const char *l[] = { "reason", afgw_unscanned_name((enum afgw_unscanned)u), NULL };
		afgw_metrics_counter(b, "afgw_unscanned_total", "messages without a verdict, by reason",
				     l, st->unscanned[u]);
	}
	for (unsigned i = 0; i < s->n_if; i++) {
		const char *l[] = { "interface", s->ifname[i], NULL };
		afgw_metrics_counter(b, "afgw_capture_received_total", "frames the kernel delivered",
				     l, s->recv[i]);
	}
	for (unsigned i = 0; i < s->n_if; i++) {
		const char *l[] = { "interface", s->ifname[i], "where", "kernel", NULL };
		const char *li[] = { "interface", s->ifname[i], "where", "interface", NULL };
		afgw_metrics_counter(b, "afgw_capture_dropped_total",
				     "frames dropped before afgw saw them", l, s->drop[i]);
		afgw_metrics_counter(b, "afgw_capture_dropped_total",
				     "frames dropped before afgw saw them", li, s->ifdrop[i]);
	}
	for (int k = 0; k < AFGW_C_COUNT; k++) {
		const char *l[] = { "counter", afgw_dissect_counter_name((enum afgw_dissect_counter)k),
				    NULL };
		afgw_metrics_counter(b, "afgw_decode_total",
				     "decoder, reassembly and memcap counters", l, st->dissect[k]);
	}
	afgw_metrics_gauge(b, "afgw_ruleset_serial", "serial of the rule set in force", NULL,
			   (double)st->ruleset);
	afgw_metrics_gauge(b, "afgw_ruleset_age_seconds", "since the rule set last changed", NULL,
			   afgw_mono_s() - s->ruleset_since);
	afgw_metrics_counter(b, "afgw_ruleset_reloads_total", "rule sets swapped in", NULL,
			     st->reloads);
	for (int k = 0; k < AFGW_BW_C_COUNT; k++) {
		char name[96];
		snprintf(name, sizeof(name), "afgw_%s",
			 afgw_bundle_watch_counter_name((enum afgw_bw_counter)k));
		afgw_metrics_gauge(b, name, "police bundle watcher", NULL, (double)s->bundle[k]);
	}
	if (s->have_rep && s->rep[AFGW_REP_C_SYNCED_MS]) {
		double now = (double)afgw_wall_us() / 1e6;
		afgw_metrics_gauge(b, "afgw_reputation_lag_seconds",
				   "since the replica last read the change feed to its end", NULL,
				   now - (double)s->rep[AFGW_REP_C_SYNCED_MS] / 1000.0);
	}
	if (s->have_rep)
		for (int k = 0; k < AFGW_REP_C_COUNT; k++) {
			char name[96];
			snprintf(name, sizeof(name), "afgw_%s",
				 afgw_rep_counter_name((enum afgw_rep_counter)k));
			afgw_metrics_gauge(b, name, "reputation replica", NULL, (double)s->rep[k]);
		}
	if (s->have_notify)
		for (int k = 0; k < AFGW_NOTIFY_C_COUNT; k++) {
			char name[96];
			snprintf(name, sizeof(name), "afgw_%s",
				 afgw_notify_counter_name((enum afgw_notify_counter)k));
			afgw_metrics_gauge(b, name, "warnings to residents", NULL,
					   (double)s->notify[k]);
		}
	if (s->bridge)
		for (int k = 0; k < BR_COUNT; k++) {
			const char *l[] = { "what", bridge_names[k], NULL };
			afgw_metrics_counter(b, "afgw_bridge_frames_total",
					     "bridge mode: frames forwarded, INVITEs held, released, "
					     "blocked (607) and forwarded unscanned by reason",
					     l, atomic_load(&s->bridge->c[k]));
		}
	if (s->have_px) {
		for (int k = 0; k < AFGW_PX_C_COUNT; k++) {
			char name[96];
			snprintf(name, sizeof(name), "afgw_smpp_%s_total",
				 afgw_smpp_proxy_counter_name((enum afgw_px_counter)k));
			afgw_metrics_counter(b, name, "SMPP proxy", NULL, s->px.c[k]);
		}
		afgw_metrics_gauge(b, "afgw_smpp_sessions", "ESME connections open", NULL,
				   (double)s->px.sessions);
		afgw_metrics_gauge(b, "afgw_smpp_bound", "ESME sessions bound", NULL,
				   (double)s->px.bound);
		afgw_metrics_gauge(b, "afgw_smpp_held", "SMS PDUs waiting for a verdict", NULL,
				   (double)s->px.held);
		afgw_metrics_gauge(b, "afgw_smpp_held_bytes", "their bytes", NULL,
				   (double)s->px.held_bytes);
	}
	afgw_metrics_gauge(b, "afgw_workers", "worker threads", NULL, (double)st->workers);
	for (unsigned i = 0; i < st->workers; i++) {
		char idx[12];
		snprintf(idx, sizeof(idx), "%u", i);
		const char *l[] = { "worker", idx, NULL };
		afgw_metrics_counter(b, "afgw_worker_frames_total",
				     "frames given to each worker (its share of the load)", l,
				     st->worker_frames[i]);
	}
	{
		const char *l[] = { "thread", "capture", NULL };
		afgw_metrics_counter_f(b, "afgw_thread_cpu_seconds_total",
				       "CPU time of the capture / score thread and of each worker", l,
				       (double)st->capture_cpu_ns / 1e9);
	}
	for (unsigned i = 1; i < st->workers; i++) { /* worker 0 runs in the capture thread */
		char name[24];
		snprintf(name, sizeof(name), "worker%u", i);
		const char *l[] = { "thread", name, NULL };
		afgw_metrics_counter_f(b, "afgw_thread_cpu_seconds_total", NULL, l,
				       (double)st->worker_cpu_ns[i] / 1e9);
	}
	afgw_metrics_gauge(b, "afgw_uptime_seconds", "since start", NULL, afgw_mono_s() - s->started);
	pthread_mutex_unlock(&s->mu);
}

static bool healthy(void *ud, char *why, size_t whylen)
{
	struct snapshot *s = ud;
	pthread_mutex_lock(&s->mu);
	double age = afgw_mono_s() - s->heartbeat;
	pthread_mutex_unlock(&s->mu);
	if (age > 5) {
		snprintf(why, whylen, "the capture loop has not run for %.0f s", age);
		return false;
	}
	return true;
}

static void take_snapshot(struct snapshot *s, struct gw *g, struct afgw_capture **cap,
			  const struct afgw_smpp_proxy *px)
{
	struct afgw_pipeline_stats st;
	afgw_pipeline_stats(g->p, &st);
	pthread_mutex_lock(&s->mu);
	if (px) {
		afgw_smpp_proxy_stats(px, &s->px);
		s->have_px = true;
	}
	s->st = st;
	if (st.ruleset != s->last_serial) {
		s->last_serial = st.ruleset;
		s->ruleset_since = afgw_mono_s();
	}
	for (unsigned i = 0; i < s->n_if; i++)
		afgw_capture_drops(cap[i], &s->recv[i], &s->drop[i], &s->ifdrop[i]);
	if (g->rep)
		afgw_rep_counters(g->rep, s->rep);
	if (g->notify)
		afgw_notify_counters(g->notify, s->notify);
	gw_bundle_counters(g, s->bundle);
	s->have_rep = g->rep != NULL;
	s->have_notify = g->notify != NULL;
	s->heartbeat = afgw_mono_s();
	pthread_mutex_unlock(&s->mu);
}

/* Become run.user for good.  Returns 0 or -1 after a message. */
static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "afgw run: run.user '%s': no such user\n", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		fprintf(stderr, "afgw run: cannot become %s: %s\n", user, strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) { /* must not be able to come back */
		fprintf(stderr, "afgw run: could regain root after dropping it\n");
		return -1;
	}
	return 0;
}

/*
 * SIGHUP's rule reload, in a thread of its own so that the capture loop
 * never waits for a compile: the local rule directory again (plus the
 * police bundle in force, through the watcher), compiled in the limited
 * child process, then offered to the pipeline like a new bundle.
 */
struct reloader {
	pthread_t thread;
	atomic_bool running, started;
	struct gw *g;
	const char *rules_dir;
	struct afgw_compile_limits lim;
};

static void *reload_main(void *arg)
{
	struct reloader *r = arg;
	struct afgw_ruleset *rs = NULL;
	int rc;
	if (r->g->bw) {
		rc = afgw_bundle_watch_rebuild(r->g->bw, &rs);
	} else {
		struct afgw_rules rules;
		struct afgw_rules_diag d;
		afgw_rules_init(&rules);
		afgw_rules_diag_init(&d);
		rc = afgw_rules_load_dir(&rules, r->rules_dir, &d);
		if (rc == 0)
			rc = afgw_ruleset_new_isolated(&rules, 0, &r->lim, &d, &rs);
		for (unsigned i = 0; i < d.n && rc; i++)
			afgw_log(AFGW_LOG_ERROR, "reload: %s", d.msg[i].text);
		afgw_rules_diag_fini(&d);
		afgw_rules_fini(&rules);
	}
	if (rc == 0 && rs) {
		size_t n = afgw_ruleset_count(rs);
		if (afgw_pipeline_offer_ruleset(r->g->p, rs) == 0)
			afgw_log(AFGW_LOG_INFO, "reload: %zu rules offered to the workers", n);
	} else {
		afgw_log(AFGW_LOG_WARN, "reload: the rules in force stay");
	}
	atomic_store(&r->running, false);
	return NULL;
}

static void reload_start(struct reloader *r)
{
	if (atomic_load(&r->running)) {
		afgw_log(AFGW_LOG_WARN, "SIGHUP: a reload is still running; this one is skipped");
		return;
	}
	if (atomic_load(&r->started))
		pthread_join(r->thread, NULL);
	atomic_store(&r->running, true);
	if (pthread_create(&r->thread, NULL, reload_main, r) != 0) {
		atomic_store(&r->running, false);
		atomic_store(&r->started, false);
		afgw_log(AFGW_LOG_ERROR, "SIGHUP: cannot start the reload");
		return;
	}
	atomic_store(&r->started, true);
}

static FILE *open_events(const char *path)
{
	if (!path || !strcmp(path, "-"))
		return stdout;
	if (!strcmp(path, "none"))
		return NULL;
	return fopen(path, "a");
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/*
 * SIGHUP: read the config file again.  What can change while running
 * does: the score thresholds and weights (read by the score stage, this
 * thread), output.allow_events and output.events (the file is reopened
 * under its, maybe new, name: logrotate).  What the running gateway was
 * built from (mode, interfaces, workers, Redis, keys, bundle trust,
 * memcaps, the rules directory's path) waits for a restart, and the log
 * says so.  A config that does not load changes nothing (one error line);
 * the events file is reopened all the same.
 */
static void reload_config(const char *path, struct afgw_config *cfg, struct gw *g, FILE **out)
{
	struct afgw_config next;
	char err[AFGW_CONFIG_ERR];
	if (afgw_config_load(&next, path, err, sizeof(err)) != 0) {
		afgw_log(AFGW_LOG_ERROR, "SIGHUP: %s; the running config stays", err);
	} else {
		bool restart = next.mode != cfg->mode || next.workers != cfg->workers ||
			       next.capture_share != cfg->capture_share ||
			       next.country_code != cfg->country_code ||
			       !same_str(next.run.interfaces, cfg->run.interfaces) ||
			       !same_str(next.run.filter, cfg->run.filter) ||
			       !same_str(next.redis.url, cfg->redis.url) ||
			       !same_str(next.rules, cfg->rules) ||
			       !same_str(next.bundle.trust, cfg->bundle.trust) ||
			       !same_str(next.notify.gateway_key, cfg->notify.gateway_key) ||
			       !same_str(next.run.metrics, cfg->run.metrics) ||
			       !same_str(next.smpp.listen, cfg->smpp.listen) ||
			       !same_str(next.smpp.upstream, cfg->smpp.upstream) ||
			       !same_str(next.smpp.accounts, cfg->smpp.accounts) ||
			       next.smpp.screening != cfg->smpp.screening ||
			       next.smpp.window != cfg->smpp.window ||
			       next.smpp.max_sessions != cfg->smpp.max_sessions;
		cfg->score = next.score;
		/* what the SMPP proxy reads as it goes (this thread runs it) */
		cfg->smpp.block_status = next.smpp.block_status;
		cfg->smpp.deliver_block_status = next.smpp.deliver_block_status;
		cfg->smpp.enquire_link_s = next.smpp.enquire_link_s;
		cfg->smpp.response_timeout_s = next.smpp.response_timeout_s;
		cfg->smpp.bind_timeout_s = next.smpp.bind_timeout_s;
		cfg->smpp.pdu_timeout_s = next.smpp.pdu_timeout_s;
		cfg->smpp.inactivity_s = next.smpp.inactivity_s;
		cfg->smpp.hold_bytes = next.smpp.hold_bytes;
		cfg->smpp.verdict_deadline_ms = next.smpp.verdict_deadline_ms;
		cfg->smpp.part_wait_ms = next.smpp.part_wait_ms;
		cfg->output.allow_events = next.output.allow_events;
		char *events = next.output.events;
		next.output.events = cfg->output.events;
		cfg->output.events = events;
		afgw_config_fini(&next);
		afgw_log(AFGW_LOG_INFO, "SIGHUP: config read again: score thresholds and weights, "
					"output.allow_events and output.events, the smpp statuses, "
					"timers, hold bytes and deadlines applied%s",
			 restart ? "; other changes (mode, interfaces, workers, Redis, keys, "
				   "rules directory, metrics address, smpp addresses, accounts "
				   "path, window, sessions, screening) need a restart" : "");
	}
	afgw_pipeline_flush_output(g->p);
	FILE *nf = open_events(cfg->output.events);
	if (!nf && cfg->output.events && strcmp(cfg->output.events, "none") != 0) {
		afgw_log(AFGW_LOG_ERROR, "SIGHUP: cannot open %s: %s; events go on to the old file",
			 cfg->output.events, strerror(errno));
		return;
	}
	afgw_pipeline_set_output(g->p, nf, !cfg->output.allow_events);
	if (*out && *out != stdout && *out != nf)
		fclose(*out);
	*out = nf;
}

/* The port of "ADDRESS:PORT" (0 if none). */
static uint16_t port_of(const char *a)
{
	const char *c = a ? strrchr(a, ':') : NULL;
	unsigned long v = c ? strtoul(c + 1, NULL, 10) : 0;
	return v <= 65535 ? (uint16_t)v : 0;
}

/*
 * smpp-proxy mode: the accounts, the listening socket, and the decoder
 * told that the two legs' ports are SMPP (the screened PDUs are handed
 * to it as segments between those ports).  Returns 0 or an exit status.
 */
static int proxy_open(struct afgw_config *cfg, struct afgw_smpp_accounts *acc,
		      struct afgw_smpp_proxy **px)
{
	char err[512];
	if (afgw_smpp_accounts_load(acc, cfg->smpp.accounts, err, sizeof(err)) != 0) {
		fprintf(stderr, "afgw run: smpp.accounts: %s\n", err);
		return 2;
	}
	memset(cfg->smpp_ports, 0, sizeof(cfg->smpp_ports));
	cfg->smpp_ports[0] = port_of(cfg->smpp.listen);
	cfg->smpp_ports[1] = port_of(cfg->smpp.upstream);
	memset(cfg->sip_ports, 0, sizeof(cfg->sip_ports)); /* the proxy feeds no SIP */
	int rc = afgw_smpp_proxy_open(cfg, acc, px, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "afgw run: %s\n", err);
		return rc == -EINVAL ? 2 : 1;
	}
	return 0;
}

/* SIGHUP: the accounts file again; a file that does not load changes nothing. */
static void reload_accounts(const struct afgw_config *cfg, struct afgw_smpp_proxy *px,
			    struct afgw_smpp_accounts *acc)
{
	struct afgw_smpp_accounts next = { NULL, 0 };
	char err[512];
	if (afgw_smpp_accounts_load(&next, cfg->smpp.accounts, err, sizeof(err)) != 0) {
		afgw_log(AFGW_LOG_ERROR, "SIGHUP: smpp.accounts: %s; the accounts in use stay", err);
		return;
	}
	afgw_smpp_accounts_fini(acc); /* read only by this thread, during a bind */
	*acc = next;
	afgw_smpp_proxy_set_accounts(px, acc);
	afgw_log(AFGW_LOG_INFO, "SIGHUP: %zu SMPP account%s", acc->n, acc->n == 1 ? "" : "s");
}

int afgw_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	int ch;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (ch == 'c') {
			config = optarg;
		} else if (ch == 'h') {
			fputs(usage_run, stdout);
			return 0;
		} else {
			fprintf(stderr, "afgw run: bad option '%s' (try 'afgw run --help')\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (!config || optind < argc) {
		fprintf(stderr, "afgw run: %s (try 'afgw run --help')\n",
			config ? "unexpected argument" : "-c CONFIG is required");
		return 2;
	}
	struct afgw_config cfg;
	char err[AFGW_CONFIG_ERR];
	afgw_config_default(&cfg);
	if (afgw_config_load(&cfg, config, err, sizeof(err)) != 0) {
		fprintf(stderr, "afgw run: %s\n", err);
		return 2;
	}
	int status = 0;
	struct afgw_capture *cap[IFACES_MAX] = { 0 };
	struct pollfd pfd[IFACES_MAX];
	unsigned n_if = 0;
	struct gw g = { .cmd = "run", .cfg = &cfg };
	struct afgw_metrics *metrics = NULL;
	FILE *out = NULL;
	static struct snapshot snap = { .mu = PTHREAD_MUTEX_INITIALIZER };

	bool bridge = cfg.mode == AFGW_MODE_BRIDGE;
	static struct bridge br;
	static struct afgw_smpp_accounts acc;
	struct afgw_smpp_proxy *px = NULL;
	if (cfg.mode == AFGW_MODE_SMPP_PROXY) {
		status = proxy_open(&cfg, &acc, &px);
		if (status)
			goto out;
	} else if (!cfg.run.interfaces) {
		fprintf(stderr, "afgw run: %s: run.interfaces is required\n", config);
		status = 2;
		goto out;
	}
	/* captures first, while we may still have the privileges they need */
	for (const char *p = px ? "" : cfg.run.interfaces; *p;) {
		size_t len = strcspn(p, ", ");
		char name[64];
		if (len == 0) {
			p++;
			continue;
		}
		if (len >= sizeof(name)) {
			fprintf(stderr, "afgw run: run.interfaces: a name longer than 63 bytes\n");
			status = 2;
			goto out;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		if (n_if == IFACES_MAX) {
			fprintf(stderr, "afgw run: more than %d interfaces\n", IFACES_MAX);
			status = 2;
			goto out;
		}
		struct afgw_capture_live_opts lo = {
			.bpf = cfg.run.filter,
			.snaplen = (int)cfg.run.snaplen,
			.buffer_bytes = cfg.run.buffer > (1u << 30) ? 1 << 30 : (int)cfg.run.buffer,
			.timeout_ms = 100,
			.promisc = cfg.run.promisc || bridge,
			.inbound_only = bridge,
		};
		char cerr[AFGW_CAPTURE_ERRLEN];
		int fd;
		if (afgw_capture_open_live(&cap[n_if], name, &lo, cerr, sizeof(cerr)) != 0 ||
		    (fd = afgw_capture_pollable(cap[n_if], cerr, sizeof(cerr))) < 0) {
			fprintf(stderr, "afgw run: %s\n", cerr);
			status = 1;
			goto out;
		}
		pfd[n_if] = (struct pollfd){ .fd = fd, .events = POLLIN };
		snprintf(snap.ifname[n_if], sizeof(snap.ifname[n_if]), "%s", name);
		n_if++;
	}
	snap.n_if = n_if;
	if (bridge) {
		if (n_if != 2) {
			fprintf(stderr, "afgw run: %s: bridge mode needs exactly two run.interfaces, "
					"got %u\n", config, n_if);
			status = 2;
			goto out;
		}
		br.cap[0] = cap[0];
		br.cap[1] = cap[1];
		br.deadline_s = cfg.run.verdict_deadline_ms / 1000.0;
		for (unsigned i = 0; i < HOLD_MAX; i++)
			if (!(br.ring[i].frame = malloc(FRAME_MAX))) {
				fprintf(stderr, "afgw run: out of memory\n");
				status = 1;
				goto out;
			}
		snap.bridge = &br;
	}
	if (cfg.run.user && drop_privileges(cfg.run.user) != 0) {
		status = 1;
		goto out;
	}

	out = open_events(cfg.output.events);
	if (!out && cfg.output.events && strcmp(cfg.output.events, "none") != 0) {
		fprintf(stderr, "afgw run: %s: %s\n", cfg.output.events, strerror(errno));
		status = 1;
		goto out;
	}
	static struct afgw_event_privacy priv;
	if (!cfg.output.clear_numbers) {
		char kerr[AFGW_KEY_ERR] = "cannot initialise libsodium";
		if (afgw_keys_init() != 0 ||
		    (cfg.output.pseudonym_key &&
		     afgw_pseudonym_key_load(cfg.output.pseudonym_key, priv.key, kerr,
					     sizeof(kerr)) != 0)) {
			fprintf(stderr, "afgw run: output.pseudonym_key: %s\n", kerr);
			status = 2;
			goto out;
		}
		if (!cfg.output.pseudonym_key) {
			afgw_pseudonym_key_random(priv.key);
			afgw_log(AFGW_LOG_INFO, "numbers in events are pseudonyms under a new "
						"random key (output.pseudonym_key keeps them across "
						"restarts)");
		}
	}
	struct gw_opts go = {
		.rules_dir = cfg.rules ? cfg.rules : afgw_rules_default_dir(),
		.redis_wait_ms = 15000,
		.out = out,
		.allow_events = cfg.output.allow_events,
		.privacy = cfg.output.clear_numbers ? NULL : &priv,
		.on_verdict = bridge ? bridge_verdict : px ? afgw_smpp_proxy_verdict : NULL,
		.verdict_ud = bridge ? (void *)&br : (void *)px,
	};
	status = gw_start(&g, &go);
	if (status)
		goto out;
	if (px) {
		char perr[512];
		afgw_smpp_proxy_set_pipeline(px, g.p);
		if (afgw_smpp_proxy_listen(px, perr, sizeof(perr)) != 0) {
			fprintf(stderr, "afgw run: %s\n", perr);
			status = 1;
			goto out;
		}
	}

	snap.started = snap.ruleset_since = snap.heartbeat = afgw_mono_s();
	take_snapshot(&snap, &g, cap, px);
	if (cfg.run.metrics) {
		struct afgw_metrics_ops ops = { &snap, render, healthy };
		char merr[AFGW_METRICS_ERR];
		if (afgw_metrics_open(cfg.run.metrics, &ops, &metrics, merr, sizeof(merr)) != 0) {
			fprintf(stderr, "afgw run: run.metrics: %s\n", merr);
			status = 2;
			goto out;
		}
	}

	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: poll wakes up */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	afgw_log(AFGW_LOG_INFO, "%s mode on %s, %u worker%s, rule set %llu%s%s",
		 afgw_mode_name(cfg.mode), px ? cfg.smpp.listen : cfg.run.interfaces,
		 cfg.workers, cfg.workers == 1 ? "" : "s",
		 (unsigned long long)snap.st.ruleset, metrics ? ", metrics on " : "",
		 metrics ? cfg.run.metrics : "");

	static struct reloader rl;
	rl.g = &g;
	rl.rules_dir = go.rules_dir;
	rl.lim = (struct afgw_compile_limits){ cfg.bundle.compile_memory, cfg.bundle.compile_cpu_s,
					       cfg.bundle.compile_cpu_s * 2000u + 10000u };
	double next_tick = afgw_mono_s() + 1;
	while (!stop_flag) {
		if (px) {
			int rc = afgw_smpp_proxy_step(px, 200);
			if (rc != 0) {
				fprintf(stderr, "afgw run: epoll: %s\n", strerror(-rc));
				status = 1;
				break;
			}
			goto tick;
		}
		int n = poll(pfd, n_if, br.n ? 2 : 200); /* held INVITEs have deadlines */
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "afgw run: poll: %s\n", strerror(errno));
			status = 1;
			break;
		}
		for (unsigned i = 0; n > 0 && i < n_if; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			struct afgw_frame f;
			int rc = 0;
			for (unsigned k = 0; k < BATCH && (rc = afgw_capture_next(cap[i], &f)) == 1;
			     k++) {
				if (bridge)
					bridge_frame(&br, g.p, i, &f);
				else
					afgw_pipeline_frame(g.p, &f);
			}
			if (rc < 0) { /* the interface went away */
				fprintf(stderr, "afgw run: %s\n", afgw_capture_error(cap[i]));
				status = 1;
				stop_flag = 1;
			}
		}
		afgw_pipeline_poll(g.p);
		if (bridge)
			bridge_release(&br, false);
	tick:
		if (hup_flag) {
			hup_flag = 0;
			reload_config(config, &cfg, &g, &out);
			if (px)
				reload_accounts(&cfg, px, &acc);
			reload_start(&rl);
		}
		double t = afgw_mono_s();
		if (t >= next_tick) {
			next_tick = t + 1;
			take_snapshot(&snap, &g, cap, px);
			afgw_pipeline_flush_output(g.p);
		}
	}

	afgw_log(AFGW_LOG_INFO, "stopping");
	if (atomic_load(&rl.started))
		pthread_join(rl.thread, NULL); /* its offer, if any, is freed with the pipeline */
	afgw_bundle_watch_close(g.bw); /* no more offers */
	g.bw = NULL;
	afgw_pipeline_finish(g.p); /* the proxy's held SMS get their verdicts */
	if (bridge)
		bridge_release(&br, true); /* nothing held is lost */
	if (px) {
		take_snapshot(&snap, &g, cap, px);
		afgw_smpp_proxy_close(px); /* answers out, sessions unbound */
		px = NULL;
	}
	afgw_fleet_flush(g.fleet);
	if (g.notify && afgw_notify_flush(g.notify, 10000) != 0)
		afgw_log(AFGW_LOG_WARN, "warnings still waiting after 10 s; the spool keeps them");
	take_snapshot(&snap, &g, cap, px);
	afgw_log(AFGW_LOG_INFO, "stopped: %llu messages, %llu warn, %llu block, %llu unscanned",
		 (unsigned long long)snap.st.events,
		 (unsigned long long)snap.st.action[AFGW_WARN],
		 (unsigned long long)snap.st.action[AFGW_BLOCK],
		 (unsigned long long)(snap.st.unscanned[0] + snap.st.unscanned[1]));
	if (out && fflush(out) != 0)
		status = 1;
out:
	afgw_metrics_close(metrics);
	afgw_smpp_proxy_close(px);
	gw_stop(&g);
	afgw_smpp_accounts_fini(&acc);
	for (unsigned i = 0; i < n_if; i++)
		afgw_capture_close(cap[i]);
	for (unsigned i = 0; i < HOLD_MAX; i++)
		free(br.ring[i].frame);
	if (out && out != stdout)
		fclose(out);
	afgw_config_fini(&cfg);
	return status;
}
