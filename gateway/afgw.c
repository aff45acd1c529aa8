/*
 * afgw.c - the gateway program: subcommand dispatch.
 *
 *   afgw decode FILE...   decode only: Event JSON lines on stdout
 *   afgw replay FILE...   full pipeline on capture files: events with verdicts
 *   afgw run -c CONFIG    the daemon (run.c; tap mode)
 *
 * Exit status (a contract, DESIGN.md §8): 0 success, 1 runtime failure,
 * 2 usage or bad input, with one clear line on stderr.
 */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "afgw_config.h"
#include "afgw/capture.h"
#include "afgw/dissect.h"
#include "afgw/event.h"
#include "afgw/log.h"
#include "afgw/match.h"
#include "afgw/reputation.h"
#include "afgw/bundle.h"
#include "afgw/bundle_watch.h"
#include "afgw/rules.h"
#include "afgw/worker.h"
#include "gw.h"

static const char usage_top[] =
	"usage: afgw [--version] [--help] COMMAND [ARGS]\n"
	"\n"
	"afgw screens SIP calls and SMS (SMPP, SIP MESSAGE) for telecom fraud.\n"
	"\n"
	"commands:\n"
	"  decode FILE...   decode captures: one JSON line per SIP message and SMS\n"
	"  replay FILE...   the full screening pipeline on captures: events with verdicts\n"
	"  run -c CONFIG    the live gateway daemon (tap mode; bridge and smpp-proxy later)\n"
	"\n"
	"'afgw COMMAND --help' describes a command.\n";

static const char usage_decode[] =
	"usage: afgw decode [OPTIONS] FILE...\n"
	"\n"
	"Decode pcap / pcapng captures (Ethernet, VLAN, Linux SLL/SLL2, raw IP, loopback;\n"
	"IPv4 and IPv6 with fragment reassembly; UDP; TCP with stream reassembly) and print\n"
	"one Event JSON object per line on stdout for every SIP message and every SMS\n"
	"(SMPP submit_sm / deliver_sm / data_sm / submit_multi after concatenation, and\n"
	"SIP MESSAGE).  A summary of counters goes to stderr.  No Redis, no rules.\n"
	"\n"
	"options:\n"
	"  --country-code N   default country code for canonical numbers (default 86)\n"
	"  --filter BPF       only packets matching this libpcap filter\n"
	"  --sip-port P       treat TCP/UDP port P as SIP (repeatable; default 5060, 5080)\n"
	"  --smpp-port P      treat TCP port P as SMPP (repeatable; default 2775)\n"
	"  --max-pdu N        largest SMPP command_length accepted (default 65536)\n"
	"  -q, --quiet        no summary on stderr\n"
	"  -h, --help         this text\n"
	"\n"
	"exit status: 0 all files decoded, 2 bad usage or an unreadable / damaged file\n"
	"(everything before the damage is still decoded).\n";

static const char usage_replay[] =
	"usage: afgw replay [OPTIONS] FILE...\n"
	"\n"
	"The full screening pipeline on pcap / pcapng captures: decode, normalize, match\n"
	"the rule set, look numbers up in the reputation replica, behaviour detectors\n"
	"(shared with the fleet through Redis), score, and warnings to registered\n"
	"subscribers.  One Event JSON object per line on stdout for every SIP message and\n"
	"SMS, with its \"verdict\" (action allow / warn / block, score, reasons, ruleset);\n"
	"a summary on stderr (messages, verdicts by action and category, unscanned by\n"
	"reason, warnings); a progress line while stderr is a terminal.\n"
	"\n"
	"options:\n"
	"  -c, --config FILE  gateway config (deploy/afgw.yaml); default: built-in defaults\n"
	"  --redis URL        reputation from this Redis: unix:///path/redis.sock or\n"
	"                     tcp://host:port (overrides redis.url of the config)\n"
	"  --rules DIR        rule set directory (default: the config's, else the\n"
	"                     repository's rules/default)\n"
	"  --workers N        worker threads (default: the config's, 1)\n"
	"  --country-code N   default country code for canonical numbers (default 86)\n"
	"  --filter BPF       only packets matching this libpcap filter\n"
	"  -o, --output FILE  events to FILE instead of stdout ('none': no events)\n"
	"  --redis-wait MS    wait this long for the first reputation load (default 15000)\n"
	"  --gateway-key FILE sign warnings to registered subscribers with this key\n"
	"                     (afgwctl keygen gateway; overrides notify.gateway_key)\n"
	"  --spool DIR        warnings wait here while Redis is away (notify.spool_dir)\n"
	"  --bundle FILE      a police bundle to verify and apply at start (needs\n"
	"                     bundle.trust and bundle.state_dir in the config); with\n"
	"                     those set, bundles pushed to Redis are applied while the\n"
	"                     replay runs (afgwctl bundle push)\n"
	"  -q, --quiet        no summary, no progress line\n"
	"  -h, --help         this text\n"
	"\n"
	"exit status: 0 done, 1 runtime failure (output, memory), 2 bad usage, config,\n"
	"rules or an unreadable / damaged capture (what could be read is still screened).\n";

/* One line on stderr, exit status 2: "afgw CMD: what is wrong (try ...)". */
static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "afgw%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try 'afgw%s%s --help')\n", cmd ? " " : "", cmd ? cmd : "");
	return 2;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		return false;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* ---- decode ------------------------------------------------------- */

struct decode_out {
	struct afgw_jbuf jb;
	FILE *out;
	bool write_failed;
};

/* Lines collect in o->jb and go out in big writes: per-line stdio calls
 * cost as much as formatting the line. */
#define DECODE_FLUSH_BYTES (1u << 20)

static void decode_flush(struct decode_out *o)
{
	if (!afgw_jbuf_write(&o->jb, o->out))
		o->write_failed = true;
}

static void on_event(void *ud, const struct afgw_event *ev)
{
	struct decode_out *o = ud;
	o->jb.need_comma = false; /* each line is an object of its own */
	afgw_json_obj_begin(&o->jb);
	afgw_event_json_fields(&o->jb, ev);
	afgw_json_obj_end(&o->jb);
	afgw_json_raw(&o->jb, "\n", 1);
	if (o->jb.len >= DECODE_FLUSH_BYTES)
		decode_flush(o);
}

static void print_detail(void *ud, const char *name, uint64_t v)
{
	(void)ud;
	if (v)
		fprintf(stderr, "  %-24s %llu\n", name, (unsigned long long)v);
}

static int cmd_decode(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "country-code", required_argument, NULL, 'C' },
		{ "filter", required_argument, NULL, 'f' },
		{ "sip-port", required_argument, NULL, 'S' },
		{ "smpp-port", required_argument, NULL, 'M' },
		{ "max-pdu", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct afgw_dissect_config cfg;
	const char *filter = NULL;
	bool quiet = false;
	unsigned nsip = 0, nsmpp = 0;
	unsigned long v;
	int c;

	afgw_dissect_config_default(&cfg);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			if (!parse_uint(optarg, 999, &v) || v == 0)
				return usage_error("decode", "bad --country-code '%s'", optarg);
			cfg.country_code = (unsigned)v;
			break;
		case 'f':
			filter = optarg;
			break;
		case 'S':
		case 'M': {
			if (!parse_uint(optarg, 65535, &v) || v == 0)
				return usage_error("decode", "bad port '%s'", optarg);
			uint16_t *ports = c == 'S' ? cfg.sip_ports : cfg.smpp_ports;
			unsigned *n = c == 'S' ? &nsip : &nsmpp;
			if (*n >= 3)
				return usage_error("decode", "too many ports (at most 3 of each), at '%s'",
						   optarg);
			ports[(*n)++] = (uint16_t)v;
			ports[*n] = 0;
			break;
		}
		case 'P':
			if (!parse_uint(optarg, 16u << 20, &v) || v < 16)
				return usage_error("decode", "bad --max-pdu '%s' (16 to 16777216)", optarg);
			cfg.smpp_max_pdu = (uint32_t)v;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(usage_decode, stdout);
			return 0;
		default:
			return usage_error("decode", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("decode", "%s", "no capture file given");

	/* Lines reach stdout in DECODE_FLUSH_BYTES writes (decode_flush), which
	 * stdio passes straight to write(2); a big stdio buffer would only add a
	 * copy. */
	struct decode_out o = { .out = stdout };
	afgw_jbuf_init(&o.jb);

	struct afgw_dissect *d = afgw_dissect_new(&cfg, on_event, &o);
	if (!d) {
		fprintf(stderr, "afgw decode: out of memory\n");
		return 1;
	}
	int status = 0;
	int opened = 0;
	for (int i = optind; i < argc; i++) {
		char err[AFGW_CAPTURE_ERRLEN];
		struct afgw_capture *cap;
		if (afgw_capture_open_file(&cap, argv[i], filter, err, sizeof(err)) != 0) {
			fprintf(stderr, "afgw decode: %s\n", err);
			status = 2;
			continue;
		}
		opened++;
		struct afgw_frame f;
		int rc;
		while ((rc = afgw_capture_next(cap, &f)) == 1)
			afgw_dissect_frame(d, &f);
		if (rc < 0) {
			fprintf(stderr, "afgw decode: %s\n", afgw_capture_error(cap));
			status = 2;
		}
		afgw_capture_close(cap);
	}
	afgw_dissect_flush(d);
	decode_flush(&o);
	if (fflush(stdout) != 0 || o.write_failed) {
		fprintf(stderr, "afgw decode: cannot write output: %s\n", strerror(errno));
		status = 1;
	}
	if (!quiet && opened) {
		uint64_t cnt[AFGW_C_COUNT];
		afgw_dissect_counters(d, cnt);
		fprintf(stderr, "afgw decode: %llu frames, %llu events (%llu SIP messages, %llu SMS)\n",
			(unsigned long long)cnt[AFGW_C_FRAMES], (unsigned long long)cnt[AFGW_C_EVENTS],
			(unsigned long long)cnt[AFGW_C_SIP_MESSAGES],
			(unsigned long long)cnt[AFGW_C_SMS_MESSAGES]);
		for (int k = 0; k < AFGW_C_COUNT; k++)
			print_detail(NULL, afgw_dissect_counter_name((enum afgw_dissect_counter)k),
				     cnt[k]);
		afgw_dissect_foreach_detail(d, print_detail, NULL);
	}
	afgw_dissect_free(d);
	afgw_jbuf_fini(&o.jb);
	return status;
}

/* ---- replay ------------------------------------------------------- */

struct progress {
	bool on;
	uint64_t total_bytes, done_bytes;
	double start, last;
};

/* "[=====>     ]  45%  123,456 msgs  310,000/s  ETA 0:03" on stderr. */
static void progress_show(struct progress *pg, uint64_t msgs, bool final)
{
	double t = afgw_mono_s();
	if (!pg->on || (!final && t - pg->last < 0.2))
		return;
	pg->last = t;
	double frac = pg->total_bytes ? (double)pg->done_bytes / (double)pg->total_bytes : 0;
	if (frac > 1)
		frac = 1;
	if (final)
		frac = 1;
	double rate = t > pg->start ? (double)msgs / (t - pg->start) : 0;
	double eta = frac > 0 ? (t - pg->start) * (1 - frac) / frac : 0;
	char bar[31];
	int filled = (int)(frac * 30);
	for (int i = 0; i < 30; i++)
		bar[i] = i < filled ? '=' : i == filled ? '>' : ' ';
	bar[30] = '\0';
	fprintf(stderr, "\r[%s] %3d%%  %llu msgs  %.0f/s  ETA %d:%02d ", bar, (int)(frac * 100),
		(unsigned long long)msgs, rate, (int)eta / 60, (int)eta % 60);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static void print_counter(const char *name, uint64_t v)
{
	if (v)
		fprintf(stderr, "  %-30s %llu\n", name, (unsigned long long)v);
}

static void replay_summary(const struct afgw_pipeline_stats *st, struct afgw_rep *rep,
			   const struct afgw_fleet *fleet, const struct afgw_sub *sub,
			   const struct afgw_notify *notify, const uint64_t *bundles, unsigned files,
			   double secs)
{
	uint64_t unscanned = 0;
	for (int i = 0; i < AFGW_UNSCANNED_COUNT; i++)
		unscanned += st->unscanned[i];
	fprintf(stderr,
		"afgw replay: %llu messages from %u file%s in %.2f s (%.0f messages/s), %u worker%s, "
		"ruleset %llu\n",
		(unsigned long long)st->events, files, files == 1 ? "" : "s", secs,
		secs > 0 ? (double)st->events / secs : 0.0, st->workers, st->workers == 1 ? "" : "s",
		(unsigned long long)st->ruleset);
	fprintf(stderr, "  messages: %llu SIP, %llu SMPP SMS (%llu SMS in all)\n",
		(unsigned long long)st->sip_events, (unsigned long long)st->smpp_events,
		(unsigned long long)st->sms_events);
	fprintf(stderr,
		"  verdicts: %llu scanned (allow %llu, warn %llu, block %llu), %llu unscanned\n",
		(unsigned long long)st->scanned, (unsigned long long)st->action[AFGW_ALLOW],
		(unsigned long long)st->action[AFGW_WARN], (unsigned long long)st->action[AFGW_BLOCK],
		(unsigned long long)unscanned);
	fprintf(stderr, "  match cache: %llu of %llu scanned messages matched from it\n",
		(unsigned long long)st->match_cached, (unsigned long long)st->scanned);
	if (st->workers == 1) {
		fprintf(stderr, "  CPU: %.2f s (capture, decode, match and score on one thread)\n",
			(double)st->capture_cpu_ns / 1e9);
	} else {
		fprintf(stderr, "  CPU: capture thread %.2f s (reading, the first worker, the score stage), "
			"worker threads", (double)st->capture_cpu_ns / 1e9);
		for (unsigned i = 1; i < st->workers; i++)
			fprintf(stderr, " %.2f", (double)st->worker_cpu_ns[i] / 1e9);
		fprintf(stderr, " s\n");
	}
	for (int i = 0; i < AFGW_UNSCANNED_COUNT; i++)
		if (st->unscanned[i])
			fprintf(stderr, "  unscanned %-20s %llu\n",
				afgw_unscanned_name((enum afgw_unscanned)i),
				(unsigned long long)st->unscanned[i]);
	if (st->n_categories) {
		fprintf(stderr, "  warn / block by category:\n");
		for (unsigned i = 0; i < st->n_categories; i++)
			fprintf(stderr, "    %-28s %llu / %llu\n", st->category[i].name,
				(unsigned long long)st->category[i].warn,
				(unsigned long long)st->category[i].block);
		if (st->other_categories)
			fprintf(stderr, "    %-28s %llu\n", "(other categories)",
				(unsigned long long)st->other_categories);
	}
	fprintf(stderr, "  verdicts with a reason from:\n");
	print_counter("reputation", st->rep_reasons);
	print_counter("allowlist", st->allowlisted);
	static const unsigned bits[] = { AFGW_BH_MASS_CALLING, AFGW_BH_WANGIRI, AFGW_BH_SMS_FANOUT,
					 AFGW_BH_CALL_AND_SMS };
	for (unsigned b = 0; b < 4; b++)
		print_counter(afgw_behaviour_name(bits[b]), st->bh_reasons[b]);
	if (fleet)
		print_counter("fleet_counts_only", st->fleet_reasons);
	fprintf(stderr, "  decode:\n");
	for (int k = 0; k < AFGW_C_COUNT; k++)
		print_counter(afgw_dissect_counter_name((enum afgw_dissect_counter)k),
			      st->dissect[k]);
	fprintf(stderr, "  behaviour:\n");
	for (int k = 0; k < AFGW_BH_C_COUNT; k++)
		print_counter(afgw_behaviour_counter_name((enum afgw_bh_counter)k), st->behaviour[k]);
	if (rep) {
		uint64_t c[AFGW_REP_C_COUNT];
		afgw_rep_counters(rep, c);
		fprintf(stderr, "  reputation:\n");
		for (int k = 0; k < AFGW_REP_C_COUNT; k++)
			if (k != AFGW_REP_C_SYNCED_MS) /* a time, for the metrics' lag */
				print_counter(afgw_rep_counter_name((enum afgw_rep_counter)k), c[k]);
	}
	if (sub) {
		uint64_t c[AFGW_SUB_C_COUNT];
		afgw_sub_counters(sub, c);
		fprintf(stderr, "  subscribers:\n");
		for (int k = 0; k < AFGW_SUB_C_COUNT; k++)
			print_counter(afgw_sub_counter_name((enum afgw_sub_counter)k), c[k]);
		print_counter("to_subscribers", st->to_subscribers);
		print_counter("warn_subscribers", st->warn_subscribers);
		print_counter("warnings_unwanted", st->warnings_unwanted);
		print_counter("warnings_unsent", st->warnings_unsent);
		print_counter("lookbacks_started", st->lookbacks);
	}
	if (notify) {
		uint64_t c[AFGW_NOTIFY_C_COUNT];
		afgw_notify_counters(notify, c);
		fprintf(stderr, "  warnings:\n");
		for (int k = 0; k < AFGW_NOTIFY_C_COUNT; k++)
			print_counter(afgw_notify_counter_name((enum afgw_notify_counter)k), c[k]);
	}
	if (bundles) {
		fprintf(stderr, "  bundles:\n");
		for (int k = 0; k < AFGW_BW_C_COUNT; k++)
			print_counter(afgw_bundle_watch_counter_name((enum afgw_bw_counter)k),
				      bundles[k]);
		print_counter("ruleset_reloads", st->reloads);
		print_counter("rebind_max_ns", st->rebind_ns_max);
	}
	if (fleet) {
		uint64_t c[AFGW_FLEET_C_COUNT];
		afgw_fleet_counters(fleet, c);
		fprintf(stderr, "  fleet:\n");
		for (int k = 0; k < AFGW_FLEET_C_COUNT; k++)
			print_counter(afgw_fleet_counter_name((enum afgw_fleet_counter)k), c[k]);
	}
}

static int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "redis", required_argument, NULL, 'R' },
		{ "rules", required_argument, NULL, 'r' },
		{ "workers", required_argument, NULL, 'w' },
		{ "country-code", required_argument, NULL, 'C' },
		{ "filter", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "redis-wait", required_argument, NULL, 'W' },
		{ "gateway-key", required_argument, NULL, 'K' },
		{ "spool", required_argument, NULL, 'S' },
		{ "bundle", required_argument, NULL, 'B' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *redis = NULL, *rules_dir = NULL, *filter = NULL,
		   *output = NULL, *gateway_key = NULL, *spool = NULL, *bundle = NULL;
	unsigned long workers = 0, cc = 0, redis_wait = 15000, v;
	bool quiet = false;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'R':
			redis = optarg;
			break;
		case 'r':
			rules_dir = optarg;
			break;
		case 'w':
			if (!parse_uint(optarg, AFGW_PIPELINE_WORKERS_MAX, &v) || v == 0)
				return usage_error("replay", "bad --workers '%s' (1 to %d)", optarg,
						   AFGW_PIPELINE_WORKERS_MAX);
			workers = v;
			break;
		case 'C':
			if (!parse_uint(optarg, 999, &v) || v == 0)
				return usage_error("replay", "bad --country-code '%s'", optarg);
			cc = v;
			break;
		case 'f':
			filter = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'W':
			if (!parse_uint(optarg, 3600000, &v))
				return usage_error("replay", "bad --redis-wait '%s'", optarg);
			redis_wait = v;
			break;
		case 'K':
			gateway_key = optarg;
			break;
		case 'S':
			spool = optarg;
			break;
		case 'B':
			bundle = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(usage_replay, stdout);
			return 0;
		case '?':
			if (optopt)
				return usage_error("replay", "option '%s' needs a value",
						   argv[optind - 1]);
			return usage_error("replay", "unknown option '%s'", argv[optind - 1]);
		default:
			return usage_error("replay", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("replay", "%s", "no capture file given");

	struct afgw_config cfg;
	char err[AFGW_CONFIG_ERR];
	afgw_config_default(&cfg);
	if (config && afgw_config_load(&cfg, config, err, sizeof(err)) != 0) {
		fprintf(stderr, "afgw replay: %s\n", err);
		return 2;
	}
	int status = 0;
	uint64_t bw_c[AFGW_BW_C_COUNT] = { 0 };
	struct gw g = { .cmd = "replay", .cfg = &cfg };
	FILE *out = stdout;
	static char obuf[1 << 20];

	/* command-line options win over the file */
	if (redis) {
		free(cfg.redis.url);
		cfg.redis.url = strdup(redis);
	}
	if (gateway_key) {
		free(cfg.notify.gateway_key);
		cfg.notify.gateway_key = strdup(gateway_key);
	}
	if (spool) {
		free(cfg.notify.spool_dir);
		cfg.notify.spool_dir = strdup(spool);
	}
	if (workers)
		cfg.workers = (unsigned)workers;
	if (cc)
		cfg.country_code = (unsigned)cc;
	if (!output)
		output = cfg.output.events ? cfg.output.events : "-";
	if (!rules_dir)
		rules_dir = cfg.rules ? cfg.rules : afgw_rules_default_dir();

	if (!strcmp(output, "none")) {
		out = NULL;
	} else if (strcmp(output, "-") != 0) {
		out = fopen(output, "w");
		if (!out) {
			fprintf(stderr, "afgw replay: %s: %s\n", output, strerror(errno));
			afgw_config_fini(&cfg);
			return 2;
		}
	} else {
		setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	}
	/* A replay takes each round of fleet counts in at the next round: same
	 * input and fleet state, same verdicts, whatever Redis's speed. */
	struct gw_opts go = { .rules_dir = rules_dir, .bundle = bundle,
			      .redis_wait_ms = (unsigned)redis_wait, .fleet_wait = true,
			      .out = out, .allow_events = true };
	status = gw_start(&g, &go);
	if (status)
		goto out;
	struct afgw_pipeline *p = g.p;
	int rc;

	struct progress pg = { .on = !quiet && isatty(2) };
	for (int i = optind; i < argc; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) == 0)
			pg.total_bytes += (uint64_t)sb.st_size;
	}
	pg.start = pg.last = afgw_mono_s();
	unsigned opened = 0;
	for (int i = optind; i < argc; i++) {
		struct afgw_capture *cap;
		char cerr[AFGW_CAPTURE_ERRLEN];
		if (afgw_capture_open_file(&cap, argv[i], filter, cerr, sizeof(cerr)) != 0) {
			fprintf(stderr, "afgw replay: %s\n", cerr);
			status = 2;
			continue;
		}
		opened++;
		struct afgw_frame f;
		uint64_t n = 0;
		while ((rc = afgw_capture_next(cap, &f)) == 1) {
			afgw_pipeline_frame(p, &f);
			pg.done_bytes += f.caplen + 16;
			if ((++n & 4095) == 0)
				progress_show(&pg, afgw_pipeline_scored(p), false);
		}
		if (rc < 0) {
			fprintf(stderr, "afgw replay: %s\n", afgw_capture_error(cap));
			status = 2;
		}
		afgw_capture_close(cap);
	}
	gw_bundle_counters(&g, bw_c);
	afgw_bundle_watch_close(g.bw); /* no more offers */
	g.bw = NULL;
	afgw_pipeline_finish(p);
	afgw_fleet_flush(g.fleet);  /* the last notes, for the gateways that come next */
	if (g.notify && afgw_notify_flush(g.notify, 60000) != 0)
		afgw_log(AFGW_LOG_WARN, "warnings still waiting after 60 s; the spool keeps them");
	double secs = afgw_mono_s() - pg.start;
	progress_show(&pg, afgw_pipeline_scored(p), true);

	struct afgw_pipeline_stats st;
	afgw_pipeline_stats(p, &st);
	if (out && (fflush(out) != 0 || ferror(out) || st.write_failed)) {
		fprintf(stderr, "afgw replay: cannot write output: %s\n", strerror(errno));
		status = 1;
	}
	if (!quiet && opened)
		replay_summary(&st, g.rep, g.fleet, g.sub, g.notify, cfg.bundle.trust ? bw_c : NULL,
			       opened, secs);
out:
	gw_stop(&g);
	if (out && out != stdout)
		fclose(out);
	afgw_config_fini(&cfg);
	return status;
}

int main(int argc, char **argv)
{
	afgw_log_set_prog("afgw");
	/* A closed pipe or a Redis that went away is an error return, not death. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		fputs(usage_top, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage_top, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("afgw %s\n", AFGW_VERSION_STRING);
		return 0;
	}
	if (!strcmp(cmd, "decode"))
		return cmd_decode(argc - 1, argv + 1);
	if (!strcmp(cmd, "replay"))
		return cmd_replay(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return afgw_cmd_run(argc - 1, argv + 1);
	if (cmd[0] == '-')
		return usage_error(NULL, "unknown option '%s'", cmd);
	return usage_error(NULL, "unknown command '%s'", cmd);
}
