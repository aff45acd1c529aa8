/*
 * afgw.c - the gateway program: subcommand dispatch.
 *
 *   afgw decode FILE...   decode only: Event JSON lines on stdout
 *   afgw replay ...       full pipeline on capture files (not in this build yet)
 *   afgw run -c CONFIG    the daemon (not in this build yet)
 *
 * Exit status (a contract, DESIGN.md §8): 0 success, 1 runtime failure,
 * 2 usage or bad input, with one clear line on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afgw_config.h"
#include "afgw/capture.h"
#include "afgw/dissect.h"
#include "afgw/event.h"
#include "afgw/log.h"

static const char usage_top[] =
	"usage: afgw [--version] [--help] COMMAND [ARGS]\n"
	"\n"
	"afgw screens SIP calls and SMS (SMPP, SIP MESSAGE) for telecom fraud.\n"
	"\n"
	"commands:\n"
	"  decode FILE...   decode captures: one JSON line per SIP message and SMS\n"
	"  replay FILE...   the full screening pipeline on captures (not yet available)\n"
	"  run -c CONFIG    the live gateway daemon (not yet available)\n"
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
	"usage: afgw replay FILE... [-c CONFIG] [--redis URL]\n"
	"\n"
	"The full pipeline (decode, match, score) on capture files.  Not available in\n"
	"this build yet: it arrives with the Match and Score stages.  Use 'afgw decode'.\n";

static const char usage_run[] =
	"usage: afgw run -c CONFIG\n"
	"\n"
	"The long-running gateway (tap, bridge or smpp-proxy mode).  Not available in\n"
	"this build yet.\n";

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

static void on_event(void *ud, const struct afgw_event *ev)
{
	struct decode_out *o = ud;
	afgw_jbuf_reset(&o->jb);
	afgw_json_obj_begin(&o->jb);
	afgw_event_json_fields(&o->jb, ev);
	afgw_json_obj_end(&o->jb);
	afgw_json_raw(&o->jb, "\n", 1);
	if (afgw_jbuf_failed(&o->jb) || fwrite(o->jb.p, 1, o->jb.len, o->out) != o->jb.len)
		o->write_failed = true;
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

	struct decode_out o = { .out = stdout };
	afgw_jbuf_init(&o.jb);
	static char obuf[1 << 20];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));

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

/* ---- not yet ------------------------------------------------------ */

static int cmd_later(int argc, char **argv, const char *name, const char *usage)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 0;
		}
	}
	fprintf(stderr, "afgw %s: not available in this build yet (see 'afgw %s --help')\n", name,
		name);
	return 1;
}

int main(int argc, char **argv)
{
	afgw_log_set_prog("afgw");
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
		return cmd_later(argc - 1, argv + 1, "replay", usage_replay);
	if (!strcmp(cmd, "run"))
		return cmd_later(argc - 1, argv + 1, "run", usage_run);
	if (cmd[0] == '-')
		return usage_error(NULL, "unknown option '%s'", cmd);
	return usage_error(NULL, "unknown command '%s'", cmd);
}
