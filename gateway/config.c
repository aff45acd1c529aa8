/*
 * config.c - the gateway's configuration file: YAML in, struct afgw_config out.
 *
 * An operator edits this file by hand and the gateway refuses to start on
 * a mistake, so the reader is strict and says exactly where it stopped:
 * one line, "file:line: message", naming the key by its dotted path
 * (score.warn).  Every key is known, typed and bounded by the table
 * `keys` below; unknown and duplicate keys, wrong types, out-of-range
 * values, YAML syntax errors and cross-field contradictions (score.warn
 * above score.block, a port in both port lists) are all refused.  The
 * first problem ends the load: the message names it, nothing stays
 * allocated and the caller's struct holds the defaults.
 *
 * Like rules.c it reads libyaml's event stream, not the document API, so
 * that every value comes with its line and nothing is built that is not
 * kept.  allow_numbers are collected raw and canonicalised at the end,
 * with the file's country_code wherever in the file that key stands.
 *
 * What it does not check: that files, directories and Redis named here
 * exist or answer; the stages that open them report that.
 *
 * Thread: the control thread, at start and on reload; allocates freely.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "afgw/config.h"
#include "afgw/match.h"
#include "afgw/number.h"

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)

#define WORKERS_MAX    64   /* AFGW_PIPELINE_WORKERS_MAX in worker.h */
#define PATH_TEXT_MAX  4095 /* rules, output.events */
#define URL_MAX        1024
#define PASSWORD_MAX   512
#define UNIX_PATH_MAX  107 /* sizeof(sockaddr_un.sun_path) - 1 */
#define HOST_MAX       255
#define NUMBER_RAW_MAX 64 /* longer than any number with separators */
#define SHOWN_MAX      48 /* bytes of a bad value quoted back in a message */

_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned fields are stored as uint32_t");

void afgw_config_default(struct afgw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = AFGW_MODE_TAP;
	cfg->country_code = 86;
	cfg->workers = 1;
	cfg->capture_share = -1;
	cfg->sip_ports[0] = 5060;
	cfg->sip_ports[1] = 5080;
	cfg->smpp_ports[0] = 2775;

	cfg->redis.db = 0;
	cfg->redis.connect_timeout_ms = 1000;
	cfg->redis.command_timeout_ms = 2000;
	cfg->redis.retry_ms = 1000;

	cfg->score.warn = 50;
	cfg->score.block = 80;
	cfg->score.graylist = 60;
	cfg->score.report_each = 20;
	cfg->score.report_cap = 60;
	cfg->score.report_halflife_days = 14;
	cfg->score.mass_calling = 60;
	cfg->score.wangiri = 70;
	cfg->score.sms_fanout = 30;
	cfg->score.call_and_sms = 20;

	cfg->behaviour.mass_call_window_s = 60;
	cfg->behaviour.mass_call_callees = 15;
	cfg->behaviour.wangiri_ring_max_s = 6;
	cfg->behaviour.wangiri_window_s = 600;
	cfg->behaviour.wangiri_callees = 5;
	cfg->behaviour.fanout_window_s = 600;
	cfg->behaviour.fanout_recipients = 20;
	cfg->behaviour.call_sms_window_s = 1800;
	cfg->behaviour.flag_hold_s = 3600;
	cfg->behaviour.fleet_sync_ms = 1000;

	cfg->memcap.tcp_flows = 65536;
	cfg->memcap.tcp_windows = 256;
	cfg->memcap.frag_datagrams = 256;
	cfg->memcap.concat_messages = 4096;
	cfg->memcap.concat_bytes = 4 * MiB;
	cfg->memcap.concat_timeout_s = 60;
	cfg->memcap.smpp_max_pdu = 65536;
	cfg->memcap.sip_stream_bytes = 256 * KiB;
	cfg->memcap.behaviour_numbers = 65536;
	cfg->memcap.dialogs = 65536;
	cfg->memcap.replica_numbers = 16 * MiB;
	cfg->memcap.queue_bytes = 8 * MiB;
	cfg->memcap.match_cache = 4096;

	cfg->notify.gateway_key = NULL;
	cfg->notify.spool_dir = NULL;
	cfg->notify.spool_bytes = 256 * MiB;
	cfg->notify.queue = 4096;
	cfg->notify.dedupe_window_s = 3600;
	cfg->notify.hourly_cap = 10;
	cfg->notify.lookback_days = 30;
	cfg->notify.contact_log_max = 1000;
	cfg->notify.stream_maxlen = 1000000;
	cfg->bundle.trust = NULL;
	cfg->bundle.state_dir = NULL;
	cfg->bundle.scope = NULL;
	cfg->bundle.poll_ms = 2000;
	cfg->bundle.compile_cpu_s = 300;
	cfg->bundle.compile_memory = 4 * GiB;

	cfg->output.events = NULL; /* "-" */
	cfg->output.evidence = true;
	cfg->output.allow_events = false;
	cfg->output.clear_numbers = false;
	cfg->output.pseudonym_key = NULL;
	cfg->run.interfaces = NULL;
	cfg->run.filter = NULL;
	cfg->run.snaplen = 65535;
	cfg->run.buffer = 64 * MiB;
	cfg->run.promisc = true;
	cfg->run.user = NULL;
	cfg->run.metrics = NULL;
	cfg->run.verdict_deadline_ms = 50;
	cfg->smpp.listen = NULL;
	cfg->smpp.upstream = NULL;
	cfg->smpp.accounts = NULL;
	cfg->smpp.screening = true;
	cfg->smpp.window = 10;
	cfg->smpp.max_sessions = 10000;
	cfg->smpp.block_status = 0x45;
	cfg->smpp.deliver_block_status = 0x65;
	cfg->smpp.enquire_link_s = 30;
	cfg->smpp.response_timeout_s = 10;
	cfg->smpp.bind_timeout_s = 10;
	cfg->smpp.pdu_timeout_s = 10;
	cfg->smpp.inactivity_s = 0;
	cfg->smpp.hold_bytes = 64 * MiB;
	cfg->smpp.verdict_deadline_ms = 1000;
	cfg->smpp.part_wait_ms = 2000;
}

void afgw_config_fini(struct afgw_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->rules);
	for (size_t i = 0; i < cfg->n_allow; i++)
		free(cfg->allow_numbers[i]);
	free(cfg->allow_numbers);
	free(cfg->redis.url);
	free(cfg->redis.user);
	free(cfg->redis.password);
	free(cfg->output.events);
	free(cfg->notify.gateway_key);
	free(cfg->notify.spool_dir);
	free(cfg->bundle.trust);
	free(cfg->bundle.state_dir);
	free(cfg->bundle.scope);
	free(cfg->output.pseudonym_key);
	free(cfg->run.interfaces);
	free(cfg->run.filter);
	free(cfg->run.user);
	free(cfg->run.metrics);
	free(cfg->smpp.listen);
	free(cfg->smpp.upstream);
	free(cfg->smpp.accounts);
	afgw_config_default(cfg);
}

const char *afgw_mode_name(enum afgw_mode m)
{
	switch (m) {
	case AFGW_MODE_TAP:
		return "tap";
	case AFGW_MODE_BRIDGE:
		return "bridge";
	case AFGW_MODE_SMPP_PROXY:
		return "smpp-proxy";
	}
	return "?";
}

/* ---- the keys ----------------------------------------------------------- */

enum type {
	T_SECTION, /* a mapping of the keys named "<section>.<key>" */
	T_MODE,
	T_INT,     /* int field, lo..hi */
	T_UINT,    /* unsigned / uint32_t / size_t field, lo..hi (or 0 with Z) */
	T_SIZE,    /* size_t bytes, lo..hi, with an optional KiB / MiB / GiB */
	T_BOOL,
	T_STR,     /* char *, NULL when not set (a YAML null leaves it NULL) */
	T_EVENTS,  /* output.events: "-" is kept as NULL, the default */
	T_URL,     /* redis.url */
	T_SECRET,  /* redis.password: never quoted back in a message */
	T_PORTS,   /* uint16_t[AFGW_CONFIG_PORTS_MAX + 1], 0-terminated */
	T_NUMBERS, /* allow_numbers */
};

#define Z 1u /* T_UINT: 0 is allowed besides lo..hi (it means "off") */
#define X 2u /* T_UINT: also in hex, 0x45 (SMPP status codes are written so) */
#define N 4u /* T_INT: a YAML null (~) is -1, "automatic" */

struct key {
	const char *name; /* dotted path */
	enum type type;
	size_t off, size; /* of the field in struct afgw_config */
	uint64_t lo, hi;  /* the range; for text, hi is its most bytes */
	unsigned flags;
};

/* clang-format off */
#define AT(m) offsetof(struct afgw_config, m), sizeof(((struct afgw_config *)0)->m)
#define SEC(n) { n, T_SECTION, 0, 0, 0, 0, 0 }

/*
 * Ranges: wide enough for any real deployment, narrow enough that a typo
 * (a missing "KiB", an extra zero) is an error rather than a gateway that
 * allocates gigabytes or never times out.  Memcap minimums keep the stage
 * working: below them a single INVITE with SDP or one concatenated SMS
 * would not fit.
 */
static const struct key keys[] = {
	{ "mode", T_MODE, AT(mode), 0, 0, 0 },
	{ "country_code", T_UINT, AT(country_code), 1, 999, 0 },
	{ "workers", T_UINT, AT(workers), 1, WORKERS_MAX, 0 },
	{ "capture_share", T_INT, AT(capture_share), 0, 100, N },
	{ "rules", T_STR, AT(rules), 0, PATH_TEXT_MAX, 0 },
	{ "sip_ports", T_PORTS, AT(sip_ports), 0, 0, 0 },
	{ "smpp_ports", T_PORTS, AT(smpp_ports), 0, 0, 0 },
	{ "allow_numbers", T_NUMBERS, AT(allow_numbers), 0, 0, 0 },

	SEC("redis"),
	{ "redis.url", T_URL, AT(redis.url), 0, URL_MAX, 0 },
	{ "redis.user", T_STR, AT(redis.user), 1, 128, 0 },
	{ "redis.password", T_SECRET, AT(redis.password), 0, PASSWORD_MAX, 0 },
	{ "redis.db", T_UINT, AT(redis.db), 0, 255, 0 },
	{ "redis.connect_timeout_ms", T_UINT, AT(redis.connect_timeout_ms), 1, 600000, 0 },
	{ "redis.command_timeout_ms", T_UINT, AT(redis.command_timeout_ms), 1, 600000, 0 },
	{ "redis.retry_ms", T_UINT, AT(redis.retry_ms), 1, 600000, 0 },

	SEC("score"),
	{ "score.warn", T_INT, AT(score.warn), 0, 100, 0 },
	{ "score.block", T_INT, AT(score.block), 0, 100, 0 },
	{ "score.graylist", T_INT, AT(score.graylist), 0, 100, 0 },
	{ "score.report_each", T_INT, AT(score.report_each), 0, 100, 0 },
	{ "score.report_cap", T_INT, AT(score.report_cap), 0, 100, 0 },
	{ "score.report_halflife_days", T_UINT, AT(score.report_halflife_days), 0, 3650, 0 },
	{ "score.mass_calling", T_INT, AT(score.mass_calling), 0, 100, 0 },
	{ "score.wangiri", T_INT, AT(score.wangiri), 0, 100, 0 },
	{ "score.sms_fanout", T_INT, AT(score.sms_fanout), 0, 100, 0 },
	{ "score.call_and_sms", T_INT, AT(score.call_and_sms), 0, 100, 0 },

	SEC("behaviour"),
	{ "behaviour.mass_call_window_s", T_UINT, AT(behaviour.mass_call_window_s), 1, 86400, 0 },
	{ "behaviour.mass_call_callees", T_UINT, AT(behaviour.mass_call_callees), 1, 100000, 0 },
	{ "behaviour.wangiri_ring_max_s", T_UINT, AT(behaviour.wangiri_ring_max_s), 1, 60, 0 },
	{ "behaviour.wangiri_window_s", T_UINT, AT(behaviour.wangiri_window_s), 1, 86400, 0 },
	{ "behaviour.wangiri_callees", T_UINT, AT(behaviour.wangiri_callees), 1, 100000, 0 },
	{ "behaviour.fanout_window_s", T_UINT, AT(behaviour.fanout_window_s), 1, 86400, 0 },
	{ "behaviour.fanout_recipients", T_UINT, AT(behaviour.fanout_recipients), 1, 100000, 0 },
	{ "behaviour.call_sms_window_s", T_UINT, AT(behaviour.call_sms_window_s), 1, 86400, 0 },
	{ "behaviour.flag_hold_s", T_UINT, AT(behaviour.flag_hold_s), 1, 604800, 0 },
	/* below 100 ms the fleet sync would hammer Redis for no gain */
	{ "behaviour.fleet_sync_ms", T_UINT, AT(behaviour.fleet_sync_ms), 100, 600000, Z },

	SEC("memcap"),
	{ "memcap.tcp_flows", T_UINT, AT(memcap.tcp_flows), 64, 4194304, 0 },
	{ "memcap.tcp_windows", T_UINT, AT(memcap.tcp_windows), 16, 1048576, 0 },
	{ "memcap.frag_datagrams", T_UINT, AT(memcap.frag_datagrams), 16, 1048576, 0 },
	{ "memcap.concat_messages", T_UINT, AT(memcap.concat_messages), 16, 1048576, 0 },
	{ "memcap.concat_bytes", T_SIZE, AT(memcap.concat_bytes), 64 * KiB, 1 * GiB, 0 },
	{ "memcap.concat_timeout_s", T_UINT, AT(memcap.concat_timeout_s), 1, 3600, 0 },
	{ "memcap.smpp_max_pdu", T_UINT, AT(memcap.smpp_max_pdu), 1024, 1048576, 0 },
	{ "memcap.sip_stream_bytes", T_SIZE, AT(memcap.sip_stream_bytes), 8 * KiB, 64 * MiB, 0 },
	{ "memcap.behaviour_numbers", T_UINT, AT(memcap.behaviour_numbers), 1024, 8388608, 0 },
	{ "memcap.dialogs", T_UINT, AT(memcap.dialogs), 1024, 8388608, 0 },
	{ "memcap.replica_numbers", T_UINT, AT(memcap.replica_numbers), 1024, 134217728, 0 },
	{ "memcap.queue_bytes", T_SIZE, AT(memcap.queue_bytes), 64 * KiB, 1 * GiB, 0 },
	{ "memcap.match_cache", T_UINT, AT(memcap.match_cache), 0, AFGW_MATCH_CACHE_MAX, 0 },

	SEC("notify"),
	{ "notify.gateway_key", T_STR, AT(notify.gateway_key), 0, PATH_TEXT_MAX, 0 },
	{ "notify.spool_dir", T_STR, AT(notify.spool_dir), 0, PATH_TEXT_MAX, 0 },
	{ "notify.spool_bytes", T_SIZE, AT(notify.spool_bytes), 1 * MiB, 64 * GiB, 0 },
	{ "notify.queue", T_UINT, AT(notify.queue), 16, 16777216, 0 },
	{ "notify.dedupe_window_s", T_UINT, AT(notify.dedupe_window_s), 0, 604800, 0 },
	{ "notify.hourly_cap", T_UINT, AT(notify.hourly_cap), 1, 1000, 0 },
	{ "notify.lookback_days", T_UINT, AT(notify.lookback_days), 0, 365, 0 },
	{ "notify.contact_log_max", T_UINT, AT(notify.contact_log_max), 1, 100000, 0 },
	{ "notify.stream_maxlen", T_UINT, AT(notify.stream_maxlen), 1000, 100000000, 0 },

	SEC("bundle"),
	{ "bundle.trust", T_STR, AT(bundle.trust), 0, PATH_TEXT_MAX, 0 },
	{ "bundle.state_dir", T_STR, AT(bundle.state_dir), 0, PATH_TEXT_MAX, 0 },
	{ "bundle.scope", T_STR, AT(bundle.scope), 1, 63, 0 },
	{ "bundle.poll_ms", T_UINT, AT(bundle.poll_ms), 100, 600000, 0 },
	{ "bundle.compile_cpu_s", T_UINT, AT(bundle.compile_cpu_s), 1, 86400, 0 },
	{ "bundle.compile_memory", T_SIZE, AT(bundle.compile_memory), 64 * MiB, 1024 * GiB, 0 },

	SEC("output"),
	{ "output.events", T_EVENTS, AT(output.events), 0, PATH_TEXT_MAX, 0 },
	{ "output.evidence", T_BOOL, AT(output.evidence), 0, 0, 0 },
	{ "output.allow_events", T_BOOL, AT(output.allow_events), 0, 0, 0 },
	{ "output.clear_numbers", T_BOOL, AT(output.clear_numbers), 0, 0, 0 },
	{ "output.pseudonym_key", T_STR, AT(output.pseudonym_key), 1, PATH_TEXT_MAX, 0 },

	SEC("run"),
	{ "run.interfaces", T_STR, AT(run.interfaces), 1, PATH_TEXT_MAX, 0 },
	{ "run.filter", T_STR, AT(run.filter), 1, PATH_TEXT_MAX, 0 },
	{ "run.snaplen", T_UINT, AT(run.snaplen), 256, 262144, 0 },
	{ "run.buffer", T_SIZE, AT(run.buffer), 1 * MiB, 4 * GiB, 0 },
	{ "run.promisc", T_BOOL, AT(run.promisc), 0, 0, 0 },
	{ "run.user", T_STR, AT(run.user), 1, 64, 0 },
	{ "run.metrics", T_STR, AT(run.metrics), 1, 128, 0 },
	{ "run.verdict_deadline_ms", T_UINT, AT(run.verdict_deadline_ms), 1, 10000, 0 },

	SEC("smpp"),
	{ "smpp.listen", T_STR, AT(smpp.listen), 1, 128, 0 },
	{ "smpp.upstream", T_STR, AT(smpp.upstream), 1, 128, 0 },
	{ "smpp.accounts", T_STR, AT(smpp.accounts), 1, PATH_TEXT_MAX, 0 },
	{ "smpp.screening", T_BOOL, AT(smpp.screening), 0, 0, 0 },
	{ "smpp.window", T_UINT, AT(smpp.window), 1, 10000, 0 },
	{ "smpp.max_sessions", T_UINT, AT(smpp.max_sessions), 1, 1000000, 0 },
	{ "smpp.block_status", T_UINT, AT(smpp.block_status), 1, 0xffffffffu, X },
	{ "smpp.deliver_block_status", T_UINT, AT(smpp.deliver_block_status), 1, 0xffffffffu, X },
	{ "smpp.enquire_link_s", T_UINT, AT(smpp.enquire_link_s), 1, 86400, Z },
	{ "smpp.response_timeout_s", T_UINT, AT(smpp.response_timeout_s), 1, 3600, 0 },
	{ "smpp.bind_timeout_s", T_UINT, AT(smpp.bind_timeout_s), 1, 3600, 0 },
	{ "smpp.pdu_timeout_s", T_UINT, AT(smpp.pdu_timeout_s), 1, 3600, 0 },
	{ "smpp.inactivity_s", T_UINT, AT(smpp.inactivity_s), 1, 604800, Z },
	{ "smpp.hold_bytes", T_SIZE, AT(smpp.hold_bytes), 1 * MiB, 16 * GiB, 0 },
	{ "smpp.verdict_deadline_ms", T_UINT, AT(smpp.verdict_deadline_ms), 1, 60000, 0 },
	{ "smpp.part_wait_ms", T_UINT, AT(smpp.part_wait_ms), 100, 600000, Z },
};
/* clang-format on */
#define N_KEYS AFGW_ARRAY_SIZE(keys)

/* ---- the reader --------------------------------------------------------- */

struct raw_number {
	char *text;
	unsigned line;
};

struct ld {
	yaml_parser_t y;
	yaml_event_t ev;
	bool have; /* ev holds an event to delete */
	int rc;    /* 0, or the first failure: -EINVAL, -ENOMEM */
	const char *name;
	const char *buf; /* the input, to place reader errors */
	size_t len;
	char *err;
	size_t errlen;
	struct afgw_config *cfg; /* being filled: the caller's only on success */
	unsigned seen[N_KEYS];   /* line of each key given, 0: not given */
	unsigned port_line[2][AFGW_CONFIG_PORTS_MAX]; /* sip, smpp entries */
	struct raw_number *raw;  /* allow_numbers as written */
	size_t n_raw, cap_raw;
};

#define LINE(l) ((unsigned)(l)->ev.start_mark.line + 1)

/* Record the first failure; line 0 for one that belongs to no line. */
static void fail(struct ld *l, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct ld *l, unsigned line, const char *fmt, ...)
{
	if (l->rc)
		return;
	l->rc = -EINVAL;
	char msg[AFGW_CONFIG_ERR];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!l->err || !l->errlen)
		return;
	if (line)
		snprintf(l->err, l->errlen, "%s:%u: %s", l->name, line, msg);
	else
		snprintf(l->err, l->errlen, "%s: %s", l->name, msg);
}

static void nomem(struct ld *l)
{
	if (l->rc)
		return;
	l->rc = -ENOMEM;
	if (l->err && l->errlen)
		snprintf(l->err, l->errlen, "%s: out of memory", l->name);
}

/*
 * The line holding byte off of the input: reader errors (bad UTF-8,
 * control characters) carry an offset, not a mark.  Breaks as libyaml
 * counts them: LF, CR LF, lone CR.
 */
static unsigned line_at(const struct ld *l, size_t off)
{
	unsigned line = 1;
	for (size_t i = 0; i < off && i < l->len; i++) {
		bool lf = l->buf[i] == '\n';
		bool cr = l->buf[i] == '\r' && (i + 1 == l->len || l->buf[i + 1] != '\n');
		line += lf || cr;
	}
	return line;
}

/*
 * Advance to the next event; false on a failure (already recorded).
 * Anchors and aliases are refused: an alias re-reads a node wherever it
 * is named, so a few lines of nested aliases ("billion laughs") expand to
 * gigabytes in any consumer that follows them, and a config file has no
 * use for them.
 */
static bool next(struct ld *l)
{
	if (l->have) {
		yaml_event_delete(&l->ev);
		l->have = false;
	}
	if (l->rc)
		return false;
	if (!yaml_parser_parse(&l->y, &l->ev)) {
		const char *problem = l->y.problem ? l->y.problem : "error";
		switch (l->y.error) {
		case YAML_MEMORY_ERROR:
			nomem(l);
			break;
		case YAML_READER_ERROR:
			fail(l, line_at(l, l->y.problem_offset), "not valid text: %s", problem);
			break;
		default:
			fail(l, (unsigned)l->y.problem_mark.line + 1, "YAML syntax: %s%s%s",
			     problem, l->y.context ? " " : "", l->y.context ? l->y.context : "");
			break;
		}
		return false;
	}
	l->have = true;
	const yaml_char_t *anchor = NULL;
	switch (l->ev.type) {
	case YAML_ALIAS_EVENT:
		fail(l, LINE(l), "YAML aliases (*name) are not allowed in a config file");
		return false;
	case YAML_SCALAR_EVENT:
		anchor = l->ev.data.scalar.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = l->ev.data.sequence_start.anchor;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = l->ev.data.mapping_start.anchor;
		break;
	default:
		break;
	}
	if (anchor) {
		fail(l, LINE(l), "YAML anchors (&name) are not allowed in a config file");
		return false;
	}
	return true;
}

static const char *scalar(const struct ld *l)
{
	return (const char *)l->ev.data.scalar.value;
}

static size_t scalar_len(const struct ld *l)
{
	return l->ev.data.scalar.length;
}

static bool is_null(const struct ld *l)
{
	if (l->ev.type != YAML_SCALAR_EVENT || l->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = scalar(l);
	return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static bool scalar_is(const struct ld *l, const char *lit)
{
	return scalar_len(l) == strlen(lit) && !memcmp(scalar(l), lit, scalar_len(l));
}

/*
 * Text of n bytes made safe to quote in a one-line message: at most
 * SHOWN_MAX bytes, cut on a UTF-8 boundary (libyaml has checked the
 * encoding), control characters as '?', "..." when cut.
 */
static const char *shown_text(const char *v, size_t n, char out[SHOWN_MAX + 4])
{
	size_t k = n;
	if (k > SHOWN_MAX) {
		k = SHOWN_MAX;
		while (k > 0 && ((unsigned char)v[k] & 0xc0) == 0x80)
			k--;
	}
	for (size_t i = 0; i < k; i++) {
		unsigned char c = (unsigned char)v[i];
		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (k < n) {
		memcpy(out + k, "...", 4);
	} else {
		out[k] = '\0';
	}
	return out;
}

/* What the current node is, for "got ...": 'text', nothing, a list, a mapping. */
static const char *got(const struct ld *l, char out[SHOWN_MAX + 6])
{
	switch (l->ev.type) {
	case YAML_SCALAR_EVENT: {
		if (is_null(l))
			return "nothing";
		out[0] = '\'';
		shown_text(scalar(l), scalar_len(l), out + 1);
		size_t n = strlen(out);
		out[n] = '\'';
		out[n + 1] = '\0';
		return out;
	}
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* A decimal integer, digits only (no sign, 0x, 1e3, 1_000); *used: digits read. */
static bool parse_digits(const char *s, size_t n, uint64_t *v, size_t *used)
{
	uint64_t x = 0;
	size_t i = 0;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (x > (UINT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	*used = i;
	return i > 0;
}

/* "64 KiB", "1 GiB", "12345" for a message. */
/* 1..8 hex digits, all of s. */
static bool parse_hex(const char *s, size_t n, uint64_t *v)
{
	if (n == 0 || n > 8)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16u;
		if (d == 16)
			return false;
		x = x * 16 + d;
	}
	*v = x;
	return true;
}

static const char *size_text(uint64_t v, char out[32])
{
	if (v >= GiB && v % GiB == 0)
		snprintf(out, 32, "%llu GiB", (unsigned long long)(v / GiB));
	else if (v >= MiB && v % MiB == 0)
		snprintf(out, 32, "%llu MiB", (unsigned long long)(v / MiB));
	else if (v >= KiB && v % KiB == 0)
		snprintf(out, 32, "%llu KiB", (unsigned long long)(v / KiB));
	else
		snprintf(out, 32, "%llu", (unsigned long long)v);
	return out;
}

/* A byte count: digits, then optionally (spaces and) KiB, MiB or GiB. */
static bool parse_size(const char *s, size_t n, uint64_t *v)
{
	size_t used;
	if (!parse_digits(s, n, v, &used) || *v > ((uint64_t)1 << 40))
		return false;
	s += used;
	n -= used;
	while (n && *s == ' ') {
		s++;
		n--;
	}
	static const struct {
		const char *name;
		uint64_t mul;
	} units[] = { { "", 1 }, { "KiB", KiB }, { "MiB", MiB }, { "GiB", GiB } };
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(units); i++) {
		if (n == strlen(units[i].name) && !memcmp(s, units[i].name, n)) {
			*v *= units[i].mul;
			return true;
		}
	}
	return false;
}

static void store_uint(struct ld *l, const struct key *k, uint64_t v)
{
	char *p = (char *)l->cfg + k->off;
	if (k->type == T_INT) {
		int i = (int)v;
		memcpy(p, &i, sizeof(i));
	} else if (k->size == sizeof(uint32_t)) {
		uint32_t u = (uint32_t)v;
		memcpy(p, &u, sizeof(u));
	} else {
		uint64_t u = v;
		memcpy(p, &u, sizeof(u));
	}
}

static void read_number(struct ld *l, const struct key *k, unsigned line)
{
	char g[SHOWN_MAX + 6], a[32], b[32];
	uint64_t v = 0;
	size_t used = 0;
	bool ok = l->ev.type == YAML_SCALAR_EVENT;
	if (ok && (k->flags & N) && is_null(l)) {
		int auto_ = -1;
		memcpy((char *)l->cfg + k->off, &auto_, sizeof(auto_));
		return;
	}
	if (ok && k->type == T_SIZE)
		ok = parse_size(scalar(l), scalar_len(l), &v);
	else if (ok && (k->flags & X) && scalar_len(l) > 1 && scalar(l)[0] == '0' &&
		 (scalar(l)[1] | 0x20) == 'x')
		ok = parse_hex(scalar(l) + 2, scalar_len(l) - 2, &v);
	else if (ok)
		ok = parse_digits(scalar(l), scalar_len(l), &v, &used) && used == scalar_len(l);
	if (ok)
		ok = (v >= k->lo && v <= k->hi) || (v == 0 && (k->flags & Z));
	if (ok) {
		store_uint(l, k, v);
		return;
	}
	if (k->type == T_SIZE)
		fail(l, line,
		     "%s: expected a size %s..%s (bytes, or a number with KiB, MiB or GiB), got %s",
		     k->name, size_text(k->lo, a), size_text(k->hi, b), got(l, g));
	else if (k->flags & Z)
		fail(l, line, "%s: expected 0 (off) or an integer %llu..%llu, got %s", k->name,
		     (unsigned long long)k->lo, (unsigned long long)k->hi, got(l, g));
	else if (k->flags & N)
		fail(l, line, "%s: expected ~ (automatic) or an integer %llu..%llu, got %s", k->name,
		     (unsigned long long)k->lo, (unsigned long long)k->hi, got(l, g));
	else
		fail(l, line, "%s: expected an integer %llu..%llu, got %s", k->name,
		     (unsigned long long)k->lo, (unsigned long long)k->hi, got(l, g));
}

/*
 * A text value: NULL in *out for a YAML null (the key's default), else a
 * copy of 1..k->hi bytes without NUL.  Returns false after reporting.
 * Secrets are never quoted back.
 */
static bool read_text(struct ld *l, const struct key *k, unsigned line, char **out)
{
	char g[SHOWN_MAX + 6];
	*out = NULL;
	if (l->ev.type != YAML_SCALAR_EVENT) {
		fail(l, line, "%s: expected text, got %s", k->name, got(l, g));
		return false;
	}
	if (is_null(l))
		return true;
	size_t n = scalar_len(l);
	if (n == 0) {
		fail(l, line, "%s: empty value (leave the key out, or write ~, for the default)",
		     k->name);
		return false;
	}
	if (memchr(scalar(l), '\0', n)) {
		fail(l, line, "%s: contains a NUL character", k->name);
		return false;
	}
	if (n > k->hi) {
		fail(l, line, "%s: too long (%zu bytes, at most %llu)", k->name, n,
		     (unsigned long long)k->hi);
		return false;
	}
	char *s = malloc(n + 1);
	if (!s) {
		nomem(l);
		return false;
	}
	memcpy(s, scalar(l), n);
	s[n] = '\0';
	*out = s;
	return true;
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/*
 * Check a Redis URL as reputation.c will read it: unix:///absolute/path,
 * or tcp:// or redis:// with host[:port] (port 1..65535, 6379 when left
 * out).  Returns false after reporting.  A URL with '@' most likely holds
 * a password, so it is not quoted back.
 */
static bool check_url(struct ld *l, unsigned line, const char *u)
{
	char g[SHOWN_MAX + 4];
	shown_text(u, strlen(u), g);
	if (strchr(u, '@')) {
		fail(l, line, "redis.url: no user or password in the URL; use redis.password");
		return false;
	}
	if (!strncmp(u, "unix://", 7)) {
		const char *path = u + 7;
		size_t n = strlen(path);
		if (path[0] != '/' || n < 2 || n > UNIX_PATH_MAX) {
			fail(l, line,
			     "redis.url: expected an absolute socket path of at most %d bytes, as in "
			     "unix:///run/redis/redis.sock, got '%s'",
			     UNIX_PATH_MAX, g);
			return false;
		}
		return true;
	}
	const char *rest;
	if (!strncmp(u, "tcp://", 6))
		rest = u + 6;
	else if (!strncmp(u, "redis://", 8))
		rest = u + 8;
	else {
		fail(l, line,
		     "redis.url: expected unix:///path, tcp://host:port or redis://host:port, "
		     "got '%s'",
		     g);
		return false;
	}
	size_t h = 0;
	while (rest[h] && host_char(rest[h]))
		h++;
	if (h == 0 || h > HOST_MAX || (rest[h] && rest[h] != ':')) {
		fail(l, line,
		     "redis.url: expected a host name or IPv4 address after '//', got '%s'", g);
		return false;
	}
	if (rest[h] == ':') {
		const char *p = rest + h + 1;
		uint64_t port;
		size_t used;
		if (!parse_digits(p, strlen(p), &port, &used) || p[used] || port < 1 ||
		    port > 65535) {
			fail(l, line,
			     "redis.url: expected a port 1..65535 after the host, got '%s'", g);
			return false;
		}
	}
	return true;
}

static void read_string(struct ld *l, const struct key *k, unsigned line)
{
	char *s;
	if (!read_text(l, k, line, &s))
		return;
	if (s && k->type == T_URL && !check_url(l, line, s)) {
		free(s);
		return;
	}
	if (s && k->type == T_EVENTS && !strcmp(s, "-")) {
		free(s); /* stdout is the default, kept as NULL */
		s = NULL;
	}
	char **slot = (char **)(void *)((char *)l->cfg + k->off);
	*slot = s;
}

static void read_scalar_choice(struct ld *l, const struct key *k, unsigned line)
{
	char g[SHOWN_MAX + 6];
	bool sc = l->ev.type == YAML_SCALAR_EVENT;
	if (k->type == T_BOOL) {
		bool *b = (bool *)((char *)l->cfg + k->off);
		if (sc && scalar_is(l, "true"))
			*b = true;
		else if (sc && scalar_is(l, "false"))
			*b = false;
		else
			fail(l, line, "%s: expected true or false, got %s", k->name, got(l, g));
		return;
	}
	for (int m = AFGW_MODE_TAP; sc && m <= AFGW_MODE_SMPP_PROXY; m++) {
		if (scalar_is(l, afgw_mode_name((enum afgw_mode)m))) {
			l->cfg->mode = (enum afgw_mode)m;
			return;
		}
	}
	fail(l, line, "%s: expected tap, bridge or smpp-proxy, got %s", k->name, got(l, g));
}

/* sip_ports / smpp_ports: a list of 0..AFGW_CONFIG_PORTS_MAX distinct ports. */
static void read_ports(struct ld *l, const struct key *k, unsigned line)
{
	char g[SHOWN_MAX + 6];
	unsigned which = k->off == offsetof(struct afgw_config, sip_ports) ? 0 : 1;
	uint16_t ports[AFGW_CONFIG_PORTS_MAX + 1] = { 0 };
	unsigned n = 0;
	if (l->ev.type != YAML_SEQUENCE_START_EVENT) {
		fail(l, line, "%s: expected a list of ports such as [5060, 5080], got %s", k->name,
		     got(l, g));
		return;
	}
	while (next(l) && l->ev.type != YAML_SEQUENCE_END_EVENT) {
		unsigned pline = LINE(l);
		uint64_t v = 0;
		size_t used = 0;
		if (l->ev.type != YAML_SCALAR_EVENT ||
		    !parse_digits(scalar(l), scalar_len(l), &v, &used) || used != scalar_len(l) ||
		    v < 1 || v > 65535) {
			fail(l, pline, "%s: expected a port 1..65535, got %s", k->name, got(l, g));
			return;
		}
		if (n == AFGW_CONFIG_PORTS_MAX) {
			fail(l, pline, "%s: more than %d ports", k->name, AFGW_CONFIG_PORTS_MAX);
			return;
		}
		for (unsigned i = 0; i < n; i++) {
			if (ports[i] == v) {
				fail(l, pline, "%s: port %u listed twice", k->name, (unsigned)v);
				return;
			}
		}
		l->port_line[which][n] = pline;
		ports[n++] = (uint16_t)v;
	}
	if (l->rc)
		return;
	for (unsigned i = n; i < AFGW_CONFIG_PORTS_MAX; i++)
		l->port_line[which][i] = 0;
	memcpy((char *)l->cfg + k->off, ports, sizeof(ports));
}

/* allow_numbers: kept as written until country_code is known (finish). */
static void read_numbers(struct ld *l, const struct key *k, unsigned line)
{
	char g[SHOWN_MAX + 6];
	if (l->ev.type != YAML_SEQUENCE_START_EVENT) {
		fail(l, line,
		     "%s: expected a list of numbers such as ['95588', '+8613800138000'], got %s",
		     k->name, got(l, g));
		return;
	}
	while (next(l) && l->ev.type != YAML_SEQUENCE_END_EVENT) {
		unsigned nline = LINE(l);
		if (l->ev.type != YAML_SCALAR_EVENT) {
			fail(l, nline, "%s: expected a number, got %s", k->name, got(l, g));
			return;
		}
		size_t n = scalar_len(l);
		if (n > NUMBER_RAW_MAX || memchr(scalar(l), '\0', n)) {
			fail(l, nline, "%s: %s is not a phone number", k->name, got(l, g));
			return;
		}
		if (l->n_raw == AFGW_CONFIG_ALLOW_MAX) {
			fail(l, nline, "%s: more than %d numbers", k->name, AFGW_CONFIG_ALLOW_MAX);
			return;
		}
		if (l->n_raw == l->cap_raw) {
			size_t cap = l->cap_raw ? l->cap_raw * 2 : 16;
			struct raw_number *r = realloc(l->raw, cap * sizeof(*r));
			if (!r) {
				nomem(l);
				return;
			}
			l->raw = r;
			l->cap_raw = cap;
		}
		char *s = malloc(n + 1);
		if (!s) {
			nomem(l);
			return;
		}
		memcpy(s, scalar(l), n);
		s[n] = '\0';
		l->raw[l->n_raw].text = s;
		l->raw[l->n_raw].line = nline;
		l->n_raw++;
	}
}

/* Index of the key `text` inside section sec (-1: top level), or -1. */
static int lookup(const struct ld *l, int sec)
{
	const char *t = scalar(l);
	size_t n = scalar_len(l);
	if (memchr(t, '.', n) || memchr(t, '\0', n))
		return -1; /* "redis.url: x" at the top is not the key redis.url */
	size_t pl = sec >= 0 ? strlen(keys[sec].name) : 0;
	for (size_t i = 0; i < N_KEYS; i++) {
		const char *name = keys[i].name;
		if (sec >= 0) {
			if (strncmp(name, keys[sec].name, pl) || name[pl] != '.')
				continue;
			name += pl + 1;
		} else if (strchr(name, '.')) {
			continue;
		}
		if (strlen(name) == n && !memcmp(name, t, n))
			return (int)i;
	}
	return -1;
}

static void read_map(struct ld *l, int sec);

static void read_value(struct ld *l, int ki, unsigned line)
{
	const struct key *k = &keys[ki];
	char g[SHOWN_MAX + 6];
	switch (k->type) {
	case T_SECTION:
		if (l->ev.type == YAML_MAPPING_START_EVENT)
			read_map(l, ki);
		else if (!is_null(l)) /* "redis:" with every key commented out */
			fail(l, line, "%s: expected a mapping of keys, got %s", k->name, got(l, g));
		break;
	case T_MODE:
	case T_BOOL:
		read_scalar_choice(l, k, line);
		break;
	case T_INT:
	case T_UINT:
	case T_SIZE:
		read_number(l, k, line);
		break;
	case T_STR:
	case T_EVENTS:
	case T_URL:
	case T_SECRET:
		read_string(l, k, line);
		break;
	case T_PORTS:
		read_ports(l, k, line);
		break;
	case T_NUMBERS:
		read_numbers(l, k, line);
		break;
	}
}

/* The keys of one mapping: the current event is its MAPPING-START. */
static void read_map(struct ld *l, int sec)
{
	char g[SHOWN_MAX + 4];
	while (next(l) && l->ev.type != YAML_MAPPING_END_EVENT) {
		unsigned kline = LINE(l);
		if (l->ev.type != YAML_SCALAR_EVENT) {
			char gg[SHOWN_MAX + 6];
			fail(l, kline, "%s%sexpected a key, got %s", sec >= 0 ? keys[sec].name : "",
			     sec >= 0 ? ": " : "", got(l, gg));
			return;
		}
		int ki = lookup(l, sec);
		if (ki < 0) {
			fail(l, kline, "unknown key '%s%s%s'", sec >= 0 ? keys[sec].name : "",
			     sec >= 0 ? "." : "", shown_text(scalar(l), scalar_len(l), g));
			return;
		}
		if (l->seen[ki]) {
			fail(l, kline, "duplicate key '%s'", keys[ki].name);
			return;
		}
		l->seen[ki] = kline;
		if (!next(l))
			return;
		read_value(l, ki, LINE(l));
		if (l->rc)
			return;
	}
}

static int key_index(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (!strcmp(keys[i].name, name))
			return (int)i;
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Canonicalise allow_numbers with the final country_code; sort, drop repeats. */
static void finish_numbers(struct ld *l)
{
	char g[SHOWN_MAX + 4];
	if (!l->n_raw)
		return;
	char **v = calloc(l->n_raw, sizeof(*v));
	if (!v) {
		nomem(l);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < l->n_raw; i++) {
		const char *t = l->raw[i].text;
		struct afgw_number num;
		afgw_number_canon(afgw_str_make(t, strlen(t)), AFGW_TON_NONE, l->cfg->country_code,
				  &num);
		if (num.kind == AFGW_NUMBER_INVALID || num.kind == AFGW_NUMBER_EMPTY ||
		    num.kind == AFGW_NUMBER_ALPHA) {
			fail(l, l->raw[i].line, "allow_numbers: '%s' is not a phone number",
			     shown_text(t, strlen(t), g));
			goto fail;
		}
		v[n] = malloc(num.len + 1);
		if (!v[n]) {
			nomem(l);
			goto fail;
		}
		memcpy(v[n], num.canon, num.len);
		v[n][num.len] = '\0';
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		if (u && !strcmp(v[u - 1], v[i]))
			free(v[i]);
		else
			v[u++] = v[i];
	}
	l->cfg->allow_numbers = v;
	l->cfg->n_allow = u;
	return;
fail:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Rules that tie keys together, reported at the line of a key the file set. */
static void cross_checks(struct ld *l)
{
	const struct afgw_config *c = l->cfg;
	unsigned wl = l->seen[key_index("score.warn")], bl = l->seen[key_index("score.block")];
	if (c->score.warn > c->score.block) {
		if (wl >= bl)
			fail(l, wl, "score.warn: %d is above score.block (%d)", c->score.warn,
			     c->score.block);
		else
			fail(l, bl, "score.block: %d is below score.warn (%d)", c->score.block,
			     c->score.warn);
		return;
	}
	unsigned tl = l->seen[key_index("bundle.trust")];
	if (c->bundle.trust && !c->bundle.state_dir) {
		fail(l, tl, "bundle.trust: needs bundle.state_dir (where accepted serials and the "
			    "audit log are kept)");
		return;
	}
	if (c->mode == AFGW_MODE_SMPP_PROXY) {
		static const char *const need[] = { "smpp.listen", "smpp.upstream", "smpp.accounts" };
		char *const have[] = { c->smpp.listen, c->smpp.upstream, c->smpp.accounts };
		for (unsigned i = 0; i < AFGW_ARRAY_SIZE(need); i++) {
			if (!have[i]) {
				fail(l, l->seen[key_index("mode")], "mode smpp-proxy needs %s", need[i]);
				return;
			}
		}
	}
	for (unsigned i = 0; c->sip_ports[i]; i++) {
		for (unsigned j = 0; c->smpp_ports[j]; j++) {
			if (c->sip_ports[i] != c->smpp_ports[j])
				continue;
			unsigned ls = l->port_line[0][i], lm = l->port_line[1][j];
			if (lm >= ls)
				fail(l, lm, "smpp_ports: port %u is also in sip_ports",
				     (unsigned)c->smpp_ports[j]);
			else
				fail(l, ls, "sip_ports: port %u is also in smpp_ports",
				     (unsigned)c->sip_ports[i]);
			return;
		}
	}
}

/* The stream: nothing (all defaults), or one document holding a mapping. */
static void read_stream(struct ld *l)
{
	char g[SHOWN_MAX + 6];
	if (!next(l) || l->ev.type != YAML_STREAM_START_EVENT)
		return;
	if (!next(l) || l->ev.type == YAML_STREAM_END_EVENT)
		return; /* an empty file, or only comments: the defaults */
	if (!next(l)) /* past DOCUMENT-START */
		return;
	if (l->ev.type == YAML_MAPPING_START_EVENT)
		read_map(l, -1);
	else if (!is_null(l))
		fail(l, LINE(l), "expected a mapping of keys at the top, got %s", got(l, g));
	if (!next(l) || !next(l)) /* DOCUMENT-END, then the end or another document */
		return;
	if (l->ev.type != YAML_STREAM_END_EVENT)
		fail(l, LINE(l), "only one YAML document in a config file");
}

int afgw_config_load_buffer(struct afgw_config *cfg, const char *name, const char *buf,
			    size_t len, char *err, size_t errlen)
{
	struct afgw_config tmp;
	struct ld l;
	afgw_config_default(cfg);
	afgw_config_default(&tmp);
	memset(&l, 0, sizeof(l));
	l.name = name ? name : "-";
	l.buf = buf;
	l.len = len;
	l.err = err;
	l.errlen = errlen;
	l.cfg = &tmp;
	if (err && errlen)
		err[0] = '\0';
	if (len > AFGW_CONFIG_FILE_MAX) {
		fail(&l, 0, "file too large (%zu bytes, at most %u)", len, AFGW_CONFIG_FILE_MAX);
		return l.rc;
	}
	if (!yaml_parser_initialize(&l.y)) {
		nomem(&l);
		return l.rc;
	}
	yaml_parser_set_input_string(&l.y, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&l.y, YAML_UTF8_ENCODING);
	read_stream(&l);
	if (l.have)
		yaml_event_delete(&l.ev);
	yaml_parser_delete(&l.y);
	if (!l.rc)
		cross_checks(&l);
	if (!l.rc)
		finish_numbers(&l);
	if (!l.rc && name) {
		tmp.path = strdup(name);
		if (!tmp.path)
			nomem(&l);
	}
	for (size_t i = 0; i < l.n_raw; i++)
		free(l.raw[i].text);
	free(l.raw);
	if (l.rc) {
		afgw_config_fini(&tmp);
		return l.rc;
	}
	*cfg = tmp;
	return 0;
}

/* Read a whole file of at most AFGW_CONFIG_FILE_MAX bytes, then parse it. */
int afgw_config_load(struct afgw_config *cfg, const char *path, char *err, size_t errlen)
{
	afgw_config_default(cfg);
	if (err && errlen)
		err[0] = '\0';
	int rc, fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = -errno;
		goto fail_errno;
	}
	if (S_ISREG(st.st_mode) && st.st_size > (off_t)AFGW_CONFIG_FILE_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "%s: file too large (%lld bytes, at most %u)", path,
				 (long long)st.st_size, AFGW_CONFIG_FILE_MAX);
		rc = -EINVAL;
		goto out;
	}
	for (;;) {
		if (len == cap) {
			/* a pipe or a file that grew: one byte past the limit tells */
			if (cap == AFGW_CONFIG_FILE_MAX + 1) {
				if (err && errlen)
					snprintf(err, errlen,
						 "%s: file too large (more than %u bytes)", path,
						 AFGW_CONFIG_FILE_MAX);
				rc = -EINVAL;
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			if (cap > AFGW_CONFIG_FILE_MAX + 1)
				cap = AFGW_CONFIG_FILE_MAX + 1;
			char *nb = realloc(buf, cap);
			if (!nb) {
				rc = -ENOMEM;
				goto fail_errno;
			}
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno; /* EISDIR for a directory */
			goto fail_errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	rc = afgw_config_load_buffer(cfg, path, buf, len, err, errlen);
	goto out;
fail_errno:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}
