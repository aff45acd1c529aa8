/*
 * run.c - `afgw run -c CONFIG`: the long-running gateway.
 *
 * Tap mode (what this file does today): live capture on the configured
 * mirror ports, the same pipeline as `afgw replay` (gw.c: reputation
 * replica, subscriber registry, notifier, fleet counters, bundle
 * watcher), Event JSON lines for warn and block verdicts (allow too if
 * output.allow_events), and the metrics / health endpoint.  Bridge and
 * SMPP-proxy modes are refused with a clear message until they exist.
 *
 * The main thread is the capture thread and the pipeline's score stage:
 * it polls every capture's descriptor, drains what is readable into the
 * pipeline, and between batches installs offered rule sets and scores
 * what the workers finished (afgw_pipeline_poll), so a quiet link still
 * gets its verdicts at once.  Once a second it flushes the events and
 * publishes a snapshot of the counters for the metrics thread.
 *
 * Signals: SIGTERM / SIGINT stop cleanly (the pipeline drained, warnings
 * flushed, exit 0); SIGHUP reopens the events file (for logrotate).
 * Privileges: captures are opened first, then, with run.user, the process
 * becomes that user and group for good (nothing else needs root).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
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
#include "afgw/metrics.h"
#include "afgw/rules.h"

#define IFACES_MAX 16
#define BATCH 4096                 /* frames from one capture before looking at the others */

static const char usage_run[] =
	"usage: afgw run -c CONFIG\n"
	"\n"
	"The long-running gateway.  The config (deploy/afgw.yaml) chooses the mode; tap\n"
	"mode captures live on run.interfaces (mirror / SPAN ports), screens every SIP\n"
	"message and SMS like 'afgw replay', writes Event JSON lines for warn and block\n"
	"verdicts to output.events (allow ones too with output.allow_events), warns\n"
	"registered subscribers, follows police bundles, and serves Prometheus metrics\n"
	"and /healthz on run.metrics.  Bridge and smpp-proxy modes are not available yet.\n"
	"\n"
	"signals: SIGTERM / SIGINT stop cleanly (warnings flushed); SIGHUP reopens the\n"
	"events file.\n"
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
};

static double mono_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

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
			   mono_s() - s->ruleset_since);
	afgw_metrics_counter(b, "afgw_ruleset_reloads_total", "rule sets swapped in", NULL,
			     st->reloads);
	for (int k = 0; k < AFGW_BW_C_COUNT; k++) {
		char name[96];
		snprintf(name, sizeof(name), "afgw_%s",
			 afgw_bundle_watch_counter_name((enum afgw_bw_counter)k));
		afgw_metrics_gauge(b, name, "police bundle watcher", NULL, (double)s->bundle[k]);
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
			snprintf(name, sizeof(name), "afgw_warnings_%s",
				 afgw_notify_counter_name((enum afgw_notify_counter)k));
			afgw_metrics_gauge(b, name, "warnings to residents", NULL,
					   (double)s->notify[k]);
		}
	afgw_metrics_gauge(b, "afgw_workers", "worker threads", NULL, (double)st->workers);
	afgw_metrics_gauge(b, "afgw_uptime_seconds", "since start", NULL, mono_s() - s->started);
	pthread_mutex_unlock(&s->mu);
}

static bool healthy(void *ud, char *why, size_t whylen)
{
	struct snapshot *s = ud;
	pthread_mutex_lock(&s->mu);
	double age = mono_s() - s->heartbeat;
	pthread_mutex_unlock(&s->mu);
	if (age > 5) {
		snprintf(why, whylen, "the capture loop has not run for %.0f s", age);
		return false;
	}
	return true;
}

static void take_snapshot(struct snapshot *s, struct gw *g, struct afgw_capture **cap)
{
	struct afgw_pipeline_stats st;
	afgw_pipeline_stats(g->p, &st);
	pthread_mutex_lock(&s->mu);
	s->st = st;
	if (st.ruleset != s->last_serial) {
		s->last_serial = st.ruleset;
		s->ruleset_since = mono_s();
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
	s->heartbeat = mono_s();
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

static FILE *open_events(const char *path)
{
	if (!path || !strcmp(path, "-"))
		return stdout;
	if (!strcmp(path, "none"))
		return NULL;
	return fopen(path, "a");
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

	if (cfg.mode != AFGW_MODE_TAP) {
		fprintf(stderr, "afgw run: %s: mode %s is not available yet; tap is\n", config,
			afgw_mode_name(cfg.mode));
		status = 2;
		goto out;
	}
	if (!cfg.run.interfaces) {
		fprintf(stderr, "afgw run: %s: run.interfaces is required in tap mode\n", config);
		status = 2;
		goto out;
	}
	/* captures first, while we may still have the privileges they need */
	for (const char *p = cfg.run.interfaces; *p;) {
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
			.promisc = cfg.run.promisc,
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
	};
	status = gw_start(&g, &go);
	if (status)
		goto out;

	snap.started = snap.ruleset_since = snap.heartbeat = mono_s();
	take_snapshot(&snap, &g, cap);
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
	afgw_log(AFGW_LOG_INFO, "tap mode on %s, %u worker%s, rule set %llu%s%s", cfg.run.interfaces,
		 cfg.workers, cfg.workers == 1 ? "" : "s",
		 (unsigned long long)snap.st.ruleset, metrics ? ", metrics on " : "",
		 metrics ? cfg.run.metrics : "");

	double next_tick = mono_s() + 1;
	while (!stop_flag) {
		int n = poll(pfd, n_if, 200);
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
			for (unsigned k = 0; k < BATCH && (rc = afgw_capture_next(cap[i], &f)) == 1; k++)
				afgw_pipeline_frame(g.p, &f);
			if (rc < 0) { /* the interface went away */
				fprintf(stderr, "afgw run: %s\n", afgw_capture_error(cap[i]));
				status = 1;
				stop_flag = 1;
			}
		}
		afgw_pipeline_poll(g.p);
		if (hup_flag) {
			hup_flag = 0;
			if (out && out != stdout) {
				fflush(out);
				if (!freopen(cfg.output.events, "a", out)) {
					afgw_log(AFGW_LOG_ERROR, "cannot reopen %s: %s; events stop",
						 cfg.output.events, strerror(errno));
					out = NULL;
				}
			}
			afgw_log(AFGW_LOG_INFO, "SIGHUP: events file reopened");
		}
		double t = mono_s();
		if (t >= next_tick) {
			next_tick = t + 1;
			take_snapshot(&snap, &g, cap);
			if (out)
				fflush(out);
		}
	}

	afgw_log(AFGW_LOG_INFO, "stopping");
	afgw_bundle_watch_close(g.bw); /* no more offers */
	g.bw = NULL;
	afgw_pipeline_finish(g.p);
	afgw_fleet_flush(g.fleet);
	if (g.notify && afgw_notify_flush(g.notify, 10000) != 0)
		afgw_log(AFGW_LOG_WARN, "warnings still waiting after 10 s; the spool keeps them");
	take_snapshot(&snap, &g, cap);
	afgw_log(AFGW_LOG_INFO, "stopped: %llu messages, %llu warn, %llu block, %llu unscanned",
		 (unsigned long long)snap.st.events,
		 (unsigned long long)snap.st.action[AFGW_WARN],
		 (unsigned long long)snap.st.action[AFGW_BLOCK],
		 (unsigned long long)(snap.st.unscanned[0] + snap.st.unscanned[1]));
	if (out && fflush(out) != 0)
		status = 1;
out:
	afgw_metrics_close(metrics);
	gw_stop(&g);
	for (unsigned i = 0; i < n_if; i++)
		afgw_capture_close(cap[i]);
	if (out && out != stdout)
		fclose(out);
	afgw_config_fini(&cfg);
	return status;
}
