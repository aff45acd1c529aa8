/*
 * test_config.c - the config file reader: the defaults, the shipped example
 * (deploy/afgw.yaml) giving exactly the defaults and naming every key,
 * every key read when set, sizes, ports, allow_numbers canonicalisation,
 * every class of error with its exact "file:line: message", and a failed
 * load leaving the defaults and nothing allocated (the ASan build checks
 * the "nothing allocated").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afgw/common.h"
#include "afgw/config.h"
#include "afgw/match.h"
#include "afgw_config.h"
#include "check.h"

#define EXAMPLE AFGW_SOURCE_DIR "/deploy/afgw.yaml"

static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Every field but path, one CHECK each, so a failure names the field. */
static void check_same(const struct afgw_config *a, const struct afgw_config *b)
{
	CHECK_INT(a->mode, b->mode);
	CHECK_INT(a->country_code, b->country_code);
	CHECK_INT(a->workers, b->workers);
	CHECK_INT(a->capture_share, b->capture_share);
	CHECK(str_same(a->rules, b->rules));
	CHECK(!memcmp(a->sip_ports, b->sip_ports, sizeof(a->sip_ports)));
	CHECK(!memcmp(a->smpp_ports, b->smpp_ports, sizeof(a->smpp_ports)));
	CHECK_INT(a->n_allow, b->n_allow);
	for (size_t i = 0; i < a->n_allow && i < b->n_allow; i++)
		CHECK(!strcmp(a->allow_numbers[i], b->allow_numbers[i]));
	CHECK(!a->allow_numbers == !b->allow_numbers);

	CHECK(str_same(a->redis.url, b->redis.url));
	CHECK(str_same(a->redis.password, b->redis.password));
	CHECK_INT(a->redis.db, b->redis.db);
	CHECK_INT(a->redis.connect_timeout_ms, b->redis.connect_timeout_ms);
	CHECK_INT(a->redis.command_timeout_ms, b->redis.command_timeout_ms);
	CHECK_INT(a->redis.retry_ms, b->redis.retry_ms);

	CHECK_INT(a->score.warn, b->score.warn);
	CHECK_INT(a->score.block, b->score.block);
	CHECK_INT(a->score.graylist, b->score.graylist);
	CHECK_INT(a->score.report_each, b->score.report_each);
	CHECK_INT(a->score.report_cap, b->score.report_cap);
	CHECK_INT(a->score.report_halflife_days, b->score.report_halflife_days);
	CHECK_INT(a->score.mass_calling, b->score.mass_calling);
	CHECK_INT(a->score.wangiri, b->score.wangiri);
	CHECK_INT(a->score.sms_fanout, b->score.sms_fanout);
	CHECK_INT(a->score.call_and_sms, b->score.call_and_sms);

	CHECK_INT(a->behaviour.mass_call_window_s, b->behaviour.mass_call_window_s);
	CHECK_INT(a->behaviour.mass_call_callees, b->behaviour.mass_call_callees);
	CHECK_INT(a->behaviour.wangiri_ring_max_s, b->behaviour.wangiri_ring_max_s);
	CHECK_INT(a->behaviour.wangiri_window_s, b->behaviour.wangiri_window_s);
	CHECK_INT(a->behaviour.wangiri_callees, b->behaviour.wangiri_callees);
	CHECK_INT(a->behaviour.fanout_window_s, b->behaviour.fanout_window_s);
	CHECK_INT(a->behaviour.fanout_recipients, b->behaviour.fanout_recipients);
	CHECK_INT(a->behaviour.call_sms_window_s, b->behaviour.call_sms_window_s);
	CHECK_INT(a->behaviour.flag_hold_s, b->behaviour.flag_hold_s);
	CHECK_INT(a->behaviour.fleet_sync_ms, b->behaviour.fleet_sync_ms);

	CHECK_INT(a->memcap.tcp_flows, b->memcap.tcp_flows);
	CHECK_INT(a->memcap.tcp_windows, b->memcap.tcp_windows);
	CHECK_INT(a->memcap.frag_datagrams, b->memcap.frag_datagrams);
	CHECK_INT(a->memcap.concat_messages, b->memcap.concat_messages);
	CHECK_INT(a->memcap.concat_bytes, b->memcap.concat_bytes);
	CHECK_INT(a->memcap.concat_timeout_s, b->memcap.concat_timeout_s);
	CHECK_INT(a->memcap.smpp_max_pdu, b->memcap.smpp_max_pdu);
	CHECK_INT(a->memcap.sip_stream_bytes, b->memcap.sip_stream_bytes);
	CHECK_INT(a->memcap.behaviour_numbers, b->memcap.behaviour_numbers);
	CHECK_INT(a->memcap.dialogs, b->memcap.dialogs);
	CHECK_INT(a->memcap.replica_numbers, b->memcap.replica_numbers);

	CHECK(str_same(a->notify.gateway_key, b->notify.gateway_key));
	CHECK(str_same(a->notify.spool_dir, b->notify.spool_dir));
	CHECK_INT(a->notify.spool_bytes, b->notify.spool_bytes);
	CHECK_INT(a->notify.queue, b->notify.queue);
	CHECK_INT(a->notify.dedupe_window_s, b->notify.dedupe_window_s);
	CHECK_INT(a->notify.hourly_cap, b->notify.hourly_cap);
	CHECK_INT(a->notify.lookback_days, b->notify.lookback_days);
	CHECK_INT(a->notify.contact_log_max, b->notify.contact_log_max);
	CHECK_INT(a->notify.stream_maxlen, b->notify.stream_maxlen);
	CHECK_INT(a->memcap.queue_bytes, b->memcap.queue_bytes);
	CHECK_INT(a->memcap.match_cache, b->memcap.match_cache);

	CHECK(str_same(a->output.events, b->output.events));
	CHECK_INT(a->output.evidence, b->output.evidence);
	CHECK(str_same(a->smpp.listen, b->smpp.listen));
	CHECK(str_same(a->smpp.upstream, b->smpp.upstream));
	CHECK(str_same(a->smpp.accounts, b->smpp.accounts));
	CHECK_INT(a->smpp.screening, b->smpp.screening);
	CHECK_INT(a->smpp.window, b->smpp.window);
	CHECK_INT(a->smpp.block_status, b->smpp.block_status);
	CHECK_INT(a->smpp.deliver_block_status, b->smpp.deliver_block_status);
	CHECK_INT(a->smpp.enquire_link_s, b->smpp.enquire_link_s);
	CHECK_INT(a->smpp.hold_bytes, b->smpp.hold_bytes);
	CHECK_INT(a->smpp.verdict_deadline_ms, b->smpp.verdict_deadline_ms);
}

static void check_defaults(const struct afgw_config *c)
{
	struct afgw_config d;
	afgw_config_default(&d);
	check_same(c, &d);
	CHECK(c->path == NULL);
}

static int load(struct afgw_config *c, const char *text, char *err)
{
	return afgw_config_load_buffer(c, "t.yaml", text, strlen(text), err, AFGW_CONFIG_ERR);
}

/* text must fail with exactly message want, and leave the defaults. */
static void expect_error_at(int line, const char *text, const char *want)
{
	struct afgw_config c;
	char err[AFGW_CONFIG_ERR];
	int rc = load(&c, text, err);
	if (rc != -EINVAL || strcmp(err, want)) {
		fprintf(stderr, "test_config.c:%d: rc %d, message\n  got:  %s\n  want: %s\n", line,
			rc, err, want);
		check_failed++;
	} else {
		check_passed++;
	}
	check_defaults(&c);
	afgw_config_fini(&c);
}
#define expect_error(text, want) expect_error_at(__LINE__, text, want)

static void test_defaults(void)
{
	struct afgw_config c;
	afgw_config_default(&c);
	/* the values config.h documents */
	CHECK(c.path == NULL);
	CHECK_INT(c.mode, AFGW_MODE_TAP);
	CHECK_INT(c.country_code, 86);
	CHECK_INT(c.workers, 1);
	CHECK_INT(c.capture_share, -1);
	CHECK(c.rules == NULL);
	CHECK_INT(c.sip_ports[0], 5060);
	CHECK_INT(c.sip_ports[1], 5080);
	CHECK_INT(c.sip_ports[2], 0);
	CHECK_INT(c.smpp_ports[0], 2775);
	CHECK_INT(c.smpp_ports[1], 0);
	CHECK(c.allow_numbers == NULL);
	CHECK_INT(c.n_allow, 0);
	CHECK(c.redis.url == NULL);
	CHECK(c.redis.password == NULL);
	CHECK_INT(c.redis.db, 0);
	CHECK_INT(c.redis.connect_timeout_ms, 1000);
	CHECK_INT(c.redis.command_timeout_ms, 2000);
	CHECK_INT(c.redis.retry_ms, 1000);
	CHECK_INT(c.score.warn, 50);
	CHECK_INT(c.score.block, 80);
	CHECK_INT(c.score.graylist, 60);
	CHECK_INT(c.score.report_each, 20);
	CHECK_INT(c.score.report_cap, 60);
	CHECK_INT(c.score.report_halflife_days, 14);
	CHECK_INT(c.score.mass_calling, 60);
	CHECK_INT(c.score.wangiri, 70);
	CHECK_INT(c.score.sms_fanout, 30);
	CHECK_INT(c.score.call_and_sms, 20);
	CHECK_INT(c.behaviour.mass_call_window_s, 60);
	CHECK_INT(c.behaviour.mass_call_callees, 15);
	CHECK_INT(c.behaviour.wangiri_ring_max_s, 6);
	CHECK_INT(c.behaviour.wangiri_window_s, 600);
	CHECK_INT(c.behaviour.wangiri_callees, 5);
	CHECK_INT(c.behaviour.fanout_window_s, 600);
	CHECK_INT(c.behaviour.fanout_recipients, 20);
	CHECK_INT(c.behaviour.call_sms_window_s, 1800);
	CHECK_INT(c.behaviour.flag_hold_s, 3600);
	CHECK_INT(c.behaviour.fleet_sync_ms, 1000);
	CHECK_INT(c.memcap.tcp_flows, 65536);
	CHECK_INT(c.memcap.tcp_windows, 256);
	CHECK_INT(c.memcap.frag_datagrams, 256);
	CHECK_INT(c.memcap.concat_messages, 4096);
	CHECK_INT(c.memcap.concat_bytes, 4 << 20);
	CHECK_INT(c.memcap.concat_timeout_s, 60);
	CHECK_INT(c.memcap.smpp_max_pdu, 65536);
	CHECK_INT(c.memcap.sip_stream_bytes, 256 << 10);
	CHECK_INT(c.memcap.behaviour_numbers, 65536);
	CHECK_INT(c.memcap.dialogs, 65536);
	CHECK_INT(c.memcap.replica_numbers, 16 << 20);
	CHECK_INT(c.memcap.queue_bytes, 8 << 20);
	CHECK_INT(c.memcap.match_cache, 4096);
	CHECK(c.output.events == NULL); /* "-": standard output */
	CHECK_INT(c.output.evidence, true);

	CHECK(!strcmp(afgw_mode_name(AFGW_MODE_TAP), "tap"));
	CHECK(!strcmp(afgw_mode_name(AFGW_MODE_BRIDGE), "bridge"));
	CHECK(!strcmp(afgw_mode_name(AFGW_MODE_SMPP_PROXY), "smpp-proxy"));
}

/* Every key with a value that is not its default; line numbers on the right. */
static const char all_keys[] =
	"mode: smpp-proxy\n"                            /* 1 */
	"country_code: 852\n"                           /* 2 */
	"workers: 8\n"                                  /* 3 */
	"rules: /etc/afgw/rules\n"                      /* 4 */
	"sip_ports: [5060, 5062, 15060]\n"              /* 5 */
	"smpp_ports:\n"                                 /* 6 */
	"  - 2775\n"                                    /* 7 */
	"  - 2776\n"                                    /* 8 */
	"allow_numbers: ['95588', '+8613800138000']\n"  /* 9 */
	"redis:\n"                                      /* 10 */
	"  url: unix:///run/redis/redis.sock\n"         /* 11 */
	"  password: \"s3cret: yes\"\n"                 /* 12 */
	"  db: 3\n"                                     /* 13 */
	"  connect_timeout_ms: 250\n"                   /* 14 */
	"  command_timeout_ms: 600000\n"                /* 15 */
	"  retry_ms: 1\n"                               /* 16 */
	"score:\n"                                      /* 17 */
	"  warn: 40\n"                                  /* 18 */
	"  block: 90\n"                                 /* 19 */
	"  graylist: 55\n"                              /* 20 */
	"  report_each: 10\n"                           /* 21 */
	"  report_cap: 100\n"                           /* 22 */
	"  report_halflife_days: 0\n"                   /* 23 */
	"  mass_calling: 61\n"                          /* 24 */
	"  wangiri: 0\n"                                /* 25 */
	"  sms_fanout: 31\n"                            /* 26 */
	"  call_and_sms: 21\n"                          /* 27 */
	"behaviour:\n"                                  /* 28 */
	"  mass_call_window_s: 120\n"                   /* 29 */
	"  mass_call_callees: 30\n"                     /* 30 */
	"  wangiri_ring_max_s: 4\n"                     /* 31 */
	"  wangiri_window_s: 300\n"                     /* 32 */
	"  wangiri_callees: 8\n"                        /* 33 */
	"  fanout_window_s: 900\n"                      /* 34 */
	"  fanout_recipients: 50\n"                     /* 35 */
	"  call_sms_window_s: 86400\n"                  /* 36 */
	"  flag_hold_s: 604800\n"                       /* 37 */
	"  fleet_sync_ms: 0\n"                          /* 38 */
	"memcap:\n"                                     /* 39 */
	"  tcp_flows: 1000\n"                           /* 40 */
	"  tcp_windows: 512\n"                          /* 41 */
	"  frag_datagrams: 1024\n"                      /* 42 */
	"  concat_messages: 100\n"                      /* 43 */
	"  concat_bytes: 16MiB\n"                       /* 44 */
	"  concat_timeout_s: 30\n"                      /* 45 */
	"  smpp_max_pdu: 4096\n"                        /* 46 */
	"  sip_stream_bytes: 65536\n"                   /* 47 */
	"  behaviour_numbers: 2048\n"                   /* 48 */
	"  dialogs: 4096\n"                             /* 49 */
	"  replica_numbers: 1000000\n"                  /* 50 */
	"  queue_bytes: 1 GiB\n"                        /* 51 */
	"notify:\n"                                     /* 52 */
	"  gateway_key: /etc/afgw/gateway.key\n"        /* 53 */
	"  spool_dir: /var/lib/afgw/spool\n"            /* 54 */
	"  spool_bytes: 2 GiB\n"                        /* 55 */
	"  queue: 1024\n"                               /* 56 */
	"  dedupe_window_s: 0\n"                        /* 57 */
	"  hourly_cap: 3\n"                             /* 58 */
	"  lookback_days: 0\n"                          /* 59 */
	"  contact_log_max: 50\n"                       /* 60 */
	"  stream_maxlen: 5000\n"                       /* 61 */
	"output:\n"                                     /* 62 */
	"  events: /var/log/afgw/events.jsonl\n"        /* 63 */
	"  evidence: false\n"                           /* 64 */
	"smpp:\n"                                       /* 65 */
	"  listen: '[::]:2775'\n"                       /* 66 */
	"  upstream: 10.30.0.2:2776\n"                  /* 67 */
	"  accounts: /etc/afgw/esme.accounts\n"         /* 68 */
	"  screening: false\n"                          /* 69 */
	"  window: 64\n"                                /* 70 */
	"  max_sessions: 500\n"                         /* 71 */
	"  block_status: 0x0000000A\n"                  /* 72 */
	"  deliver_block_status: 100\n"                 /* 73 */
	"  enquire_link_s: 0\n"                         /* 74 */
	"  response_timeout_s: 3\n"                     /* 75 */
	"  bind_timeout_s: 4\n"                         /* 76 */
	"  pdu_timeout_s: 5\n"                          /* 77 */
	"  inactivity_s: 600\n"                         /* 78 */
	"  hold_bytes: 8 MiB\n"                         /* 79 */
	"  verdict_deadline_ms: 250\n"                  /* 80 */
	"  part_wait_ms: 0\n"                           /* 81 */
	"capture_share: 30\n";                          /* 82 */

/* The key names of all_keys, dotted: the example must document each. */
static const char *const key_names[] = {
	"mode", "country_code", "workers", "rules", "sip_ports", "smpp_ports", "allow_numbers",
	"redis", "redis.url", "redis.password", "redis.db", "redis.connect_timeout_ms",
	"redis.command_timeout_ms", "redis.retry_ms",
	"score", "score.warn", "score.block", "score.graylist", "score.report_each",
	"score.report_cap", "score.report_halflife_days", "score.mass_calling", "score.wangiri",
	"score.sms_fanout", "score.call_and_sms",
	"behaviour", "behaviour.mass_call_window_s", "behaviour.mass_call_callees",
	"behaviour.wangiri_ring_max_s", "behaviour.wangiri_window_s", "behaviour.wangiri_callees",
	"behaviour.fanout_window_s", "behaviour.fanout_recipients", "behaviour.call_sms_window_s",
	"behaviour.flag_hold_s", "behaviour.fleet_sync_ms",
	"memcap", "memcap.tcp_flows", "memcap.tcp_windows", "memcap.frag_datagrams",
	"memcap.concat_messages", "memcap.concat_bytes", "memcap.concat_timeout_s",
	"memcap.smpp_max_pdu", "memcap.sip_stream_bytes", "memcap.behaviour_numbers",
	"memcap.dialogs", "memcap.replica_numbers", "memcap.queue_bytes", "memcap.match_cache",
	"notify", "notify.gateway_key", "notify.spool_dir", "notify.spool_bytes", "notify.queue",
	"notify.dedupe_window_s", "notify.hourly_cap", "notify.lookback_days",
	"notify.contact_log_max", "notify.stream_maxlen",
	"output", "output.events", "output.evidence",
	"smpp", "smpp.listen", "smpp.upstream", "smpp.accounts", "smpp.screening", "smpp.window",
	"smpp.max_sessions", "smpp.block_status", "smpp.deliver_block_status",
	"smpp.enquire_link_s", "smpp.response_timeout_s", "smpp.bind_timeout_s",
	"smpp.pdu_timeout_s", "smpp.inactivity_s", "smpp.hold_bytes", "smpp.verdict_deadline_ms",
	"smpp.part_wait_ms", "capture_share",
};

static void test_all_keys(void)
{
	struct afgw_config c;
	char err[AFGW_CONFIG_ERR];
	int rc = load(&c, all_keys, err);
	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "  %s\n", err);
	CHECK(c.path && !strcmp(c.path, "t.yaml"));
	CHECK_INT(c.mode, AFGW_MODE_SMPP_PROXY);
	CHECK_INT(c.country_code, 852);
	CHECK_INT(c.workers, 8);
	CHECK_INT(c.capture_share, 30);
	CHECK(c.rules && !strcmp(c.rules, "/etc/afgw/rules"));
	CHECK_INT(c.sip_ports[0], 5060);
	CHECK_INT(c.sip_ports[1], 5062);
	CHECK_INT(c.sip_ports[2], 15060);
	CHECK_INT(c.sip_ports[3], 0);
	CHECK_INT(c.smpp_ports[0], 2775);
	CHECK_INT(c.smpp_ports[1], 2776);
	CHECK_INT(c.smpp_ports[2], 0);
	CHECK_INT(c.n_allow, 2);
	if (c.n_allow == 2) { /* sorted */
		CHECK(!strcmp(c.allow_numbers[0], "+8613800138000"));
		CHECK(!strcmp(c.allow_numbers[1], "95588"));
	}
	CHECK(c.redis.url && !strcmp(c.redis.url, "unix:///run/redis/redis.sock"));
	CHECK(c.redis.password && !strcmp(c.redis.password, "s3cret: yes"));
	CHECK_INT(c.redis.db, 3);
	CHECK_INT(c.redis.connect_timeout_ms, 250);
	CHECK_INT(c.redis.command_timeout_ms, 600000);
	CHECK_INT(c.redis.retry_ms, 1);
	CHECK_INT(c.score.warn, 40);
	CHECK_INT(c.score.block, 90);
	CHECK_INT(c.score.graylist, 55);
	CHECK_INT(c.score.report_each, 10);
	CHECK_INT(c.score.report_cap, 100);
	CHECK_INT(c.score.report_halflife_days, 0);
	CHECK_INT(c.score.mass_calling, 61);
	CHECK_INT(c.score.wangiri, 0);
	CHECK_INT(c.score.sms_fanout, 31);
	CHECK_INT(c.score.call_and_sms, 21);
	CHECK_INT(c.behaviour.mass_call_window_s, 120);
	CHECK_INT(c.behaviour.mass_call_callees, 30);
	CHECK_INT(c.behaviour.wangiri_ring_max_s, 4);
	CHECK_INT(c.behaviour.wangiri_window_s, 300);
	CHECK_INT(c.behaviour.wangiri_callees, 8);
	CHECK_INT(c.behaviour.fanout_window_s, 900);
	CHECK_INT(c.behaviour.fanout_recipients, 50);
	CHECK_INT(c.behaviour.call_sms_window_s, 86400);
	CHECK_INT(c.behaviour.flag_hold_s, 604800);
	CHECK_INT(c.behaviour.fleet_sync_ms, 0);
	CHECK_INT(c.memcap.tcp_flows, 1000);
	CHECK_INT(c.memcap.tcp_windows, 512);
	CHECK_INT(c.memcap.frag_datagrams, 1024);
	CHECK_INT(c.memcap.concat_messages, 100);
	CHECK_INT(c.memcap.concat_bytes, 16 << 20);
	CHECK_INT(c.memcap.concat_timeout_s, 30);
	CHECK_INT(c.memcap.smpp_max_pdu, 4096);
	CHECK_INT(c.memcap.sip_stream_bytes, 65536);
	CHECK_INT(c.memcap.behaviour_numbers, 2048);
	CHECK_INT(c.memcap.dialogs, 4096);
	CHECK_INT(c.memcap.replica_numbers, 1000000);
	CHECK_INT(c.memcap.queue_bytes, 1 << 30);
	CHECK(c.notify.gateway_key && !strcmp(c.notify.gateway_key, "/etc/afgw/gateway.key"));
	CHECK(c.notify.spool_dir && !strcmp(c.notify.spool_dir, "/var/lib/afgw/spool"));
	CHECK_INT(c.notify.spool_bytes, 2ull << 30);
	CHECK_INT(c.notify.queue, 1024);
	CHECK_INT(c.notify.dedupe_window_s, 0);
	CHECK_INT(c.notify.hourly_cap, 3);
	CHECK_INT(c.notify.lookback_days, 0);
	CHECK_INT(c.notify.contact_log_max, 50);
	CHECK_INT(c.notify.stream_maxlen, 5000);
	CHECK(c.output.events && !strcmp(c.output.events, "/var/log/afgw/events.jsonl"));
	CHECK_INT(c.output.evidence, false);
	CHECK(c.smpp.listen && !strcmp(c.smpp.listen, "[::]:2775"));
	CHECK(c.smpp.upstream && !strcmp(c.smpp.upstream, "10.30.0.2:2776"));
	CHECK(c.smpp.accounts && !strcmp(c.smpp.accounts, "/etc/afgw/esme.accounts"));
	CHECK_INT(c.smpp.screening, false);
	CHECK_INT(c.smpp.window, 64);
	CHECK_INT(c.smpp.max_sessions, 500);
	CHECK_INT(c.smpp.block_status, 10);
	CHECK_INT(c.smpp.deliver_block_status, 100);
	CHECK_INT(c.smpp.enquire_link_s, 0);
	CHECK_INT(c.smpp.response_timeout_s, 3);
	CHECK_INT(c.smpp.bind_timeout_s, 4);
	CHECK_INT(c.smpp.pdu_timeout_s, 5);
	CHECK_INT(c.smpp.inactivity_s, 600);
	CHECK_INT(c.smpp.hold_bytes, 8u << 20);
	CHECK_INT(c.smpp.verdict_deadline_ms, 250);
	CHECK_INT(c.smpp.part_wait_ms, 0);

	/* fini leaves the defaults, and twice (and NULL) is harmless */
	afgw_config_fini(&c);
	check_defaults(&c);
	afgw_config_fini(&c);
	check_defaults(&c);
	afgw_config_fini(NULL);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* deploy/afgw.yaml loads, gives exactly the defaults and shows every key. */
static void test_example(void)
{
	struct afgw_config c;
	char err[AFGW_CONFIG_ERR];
	int rc = afgw_config_load(&c, EXAMPLE, err, sizeof(err));
	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "  %s\n", err);
	CHECK(c.path && !strcmp(c.path, EXAMPLE));
	struct afgw_config d;
	afgw_config_default(&d);
	check_same(&c, &d);
	afgw_config_fini(&c);

	/* every key appears as "key:" at the start of a line, indented in its section */
	const char *text = read_file(EXAMPLE);
	CHECK(text != NULL);
	for (size_t i = 0; text && i < AFGW_ARRAY_SIZE(key_names); i++) {
		const char *dot = strchr(key_names[i], '.');
		char want[80];
		snprintf(want, sizeof(want), "\n%s%s:", dot ? "  " : "", dot ? dot + 1 : key_names[i]);
		if (!strstr(text, want)) {
			fprintf(stderr, "test_config.c: %s does not show key %s\n", EXAMPLE,
				key_names[i]);
			check_failed++;
		} else {
			check_passed++;
		}
	}
}

/* One key set by text; its value read back by get, expected want. */
static void size_is(const char *text, size_t want)
{
	struct afgw_config c;
	char err[AFGW_CONFIG_ERR];
	int rc = load(&c, text, err);
	if (rc != 0 || c.memcap.concat_bytes != want) {
		fprintf(stderr, "test_config.c: '%s': rc %d (%s), %zu, want %zu\n", text, rc,
			rc ? err : "", c.memcap.concat_bytes, want);
		check_failed++;
	} else {
		check_passed++;
	}
	afgw_config_fini(&c);
}

static void test_sizes(void)
{
	size_is("memcap:\n  concat_bytes: 4194304\n", 4u << 20);
	size_is("memcap:\n  concat_bytes: 4MiB\n", 4u << 20);
	size_is("memcap:\n  concat_bytes: 4 MiB\n", 4u << 20);
	size_is("memcap:\n  concat_bytes: \"4 MiB\"\n", 4u << 20);
	size_is("memcap:\n  concat_bytes: 64 KiB\n", 64u << 10);  /* the minimum */
	size_is("memcap:\n  concat_bytes: 65536\n", 64u << 10);
	size_is("memcap:\n  concat_bytes: 1GiB\n", 1u << 30);     /* the maximum */
	size_is("memcap:\n  concat_bytes: 1536 KiB\n", 1536u << 10);

	const char *msg = "t.yaml:2: memcap.concat_bytes: expected a size 64 KiB..1 GiB (bytes, or "
			  "a number with KiB, MiB or GiB), got ";
	static const struct {
		const char *value, *got;
	} bad[] = {
		{ "65535", "'65535'" }, { "63 KiB", "'63 KiB'" }, { "1025 MiB", "'1025 MiB'" },
		{ "2 GiB", "'2 GiB'" }, { "4 MB", "'4 MB'" },     { "4 mib", "'4 mib'" },
		{ "4M", "'4M'" },       { "MiB", "'MiB'" },       { "-4 MiB", "'-4 MiB'" },
		{ "4.5 MiB", "'4.5 MiB'" }, { "0x400000", "'0x400000'" },
		{ "99999999999999999999999", "'99999999999999999999999'" },
		{ "4 MiB x", "'4 MiB x'" }, { "", "nothing" }, { "[4]", "a list" },
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(bad); i++) {
		char text[128], want[AFGW_CONFIG_ERR];
		snprintf(text, sizeof(text), "memcap:\n  concat_bytes: %s\n", bad[i].value);
		snprintf(want, sizeof(want), "%s%s", msg, bad[i].got);
		expect_error(text, want);
	}
	/* the other two sizes take suffixes too; counts do not */
	struct afgw_config c;
	char err[AFGW_CONFIG_ERR];
	CHECK_INT(load(&c, "memcap:\n  sip_stream_bytes: 8KiB\n  queue_bytes: 64 MiB\n", err), 0);
	CHECK_INT(c.memcap.sip_stream_bytes, 8 << 10);
	CHECK_INT(c.memcap.queue_bytes, 64 << 20);
	afgw_config_fini(&c);
	expect_error("memcap:\n  sip_stream_bytes: 128 GiB\n",
		     "t.yaml:2: memcap.sip_stream_bytes: expected a size 8 KiB..64 MiB (bytes, or a "
		     "number with KiB, MiB or GiB), got '128 GiB'");
	expect_error("memcap:\n  tcp_flows: 64 KiB\n",
		     "t.yaml:2: memcap.tcp_flows: expected an integer 64..4194304, got '64 KiB'");
}

static void test_ports(void)
{
	struct afgw_config c;
	char err[AFGW_CONFIG_ERR];
	CHECK_INT(load(&c, "sip_ports: []\nsmpp_ports: [65535, 1, \"2775\"]\n", err), 0);
	CHECK_INT(c.sip_ports[0], 0);
	CHECK_INT(c.smpp_ports[0], 65535);
	CHECK_INT(c.smpp_ports[1], 1);
	CHECK_INT(c.smpp_ports[2], 2775);
	CHECK_INT(c.smpp_ports[3], 0);
	afgw_config_fini(&c);
	/* one entry replaces the whole default list */
	CHECK_INT(load(&c, "sip_ports: [5070]\n", err), 0);
	CHECK_INT(c.sip_ports[0], 5070);
	CHECK_INT(c.sip_ports[1], 0);
	afgw_config_fini(&c);

	expect_error("sip_ports: [5060, 0]\n",
		     "t.yaml:1: sip_ports: expected a port 1..65535, got '0'");
	expect_error("sip_ports:\n  - 5060\n  - 65536\n",
		     "t.yaml:3: sip_ports: expected a port 1..65535, got '65536'");
	expect_error("sip_ports: [sip]\n", "t.yaml:1: sip_ports: expected a port 1..65535, got 'sip'");
	expect_error("sip_ports: [[5060]]\n",
		     "t.yaml:1: sip_ports: expected a port 1..65535, got a list");
	expect_error("smpp_ports: 2775\n",
		     "t.yaml:1: smpp_ports: expected a list of ports such as [5060, 5080], got '2775'");
	expect_error("sip_ports:\n  - 1\n  - 2\n  - 3\n  - 4\n",
		     "t.yaml:5: sip_ports: more than 3 ports");
	expect_error("sip_ports: [5060, 5080, 5060]\n",
		     "t.yaml:1: sip_ports: port 5060 listed twice");
	/* a port in both lists: reported where the later of the two is written */
	expect_error("smpp_ports: [2775, 5080]\n",
		     "t.yaml:1: smpp_ports: port 5080 is also in sip_ports");
	expect_error("smpp_ports: [2775]\nsip_ports:\n  - 5060\n  - 2775\n",
		     "t.yaml:4: sip_ports: port 2775 is also in smpp_ports");
	expect_error("sip_ports: [2775]\n", "t.yaml:1: sip_ports: port 2775 is also in smpp_ports");
}

static void test_numbers(void)
{
	struct afgw_config c;
	char err[AFGW_CONFIG_ERR];
	/* forms of one mobile number, a service code, an emergency number, a landline */
	CHECK_INT(load(&c,
		       "allow_numbers:\n"
		       "  - 13800138000\n"
		       "  - 110\n"
		       "  - '+86 138-0013-8000'\n"
		       "  - '008613800138000'\n"
		       "  - \"95588\"\n"
		       "  - 075512345678\n"
		       "  - 110\n",
		       err),
		  0);
	CHECK_INT(c.n_allow, 4); /* canonical, sorted, repeats merged */
	if (c.n_allow == 4) {
		CHECK(!strcmp(c.allow_numbers[0], "+8613800138000"));
		CHECK(!strcmp(c.allow_numbers[1], "+8675512345678"));
		CHECK(!strcmp(c.allow_numbers[2], "110"));
		CHECK(!strcmp(c.allow_numbers[3], "95588"));
	}
	afgw_config_fini(&c);
	CHECK(c.allow_numbers == NULL);

	/* country_code after allow_numbers still applies to them */
	CHECK_INT(load(&c, "allow_numbers: ['0085212345678', '13800138000']\ncountry_code: 852\n",
		       err),
		  0);
	CHECK_INT(c.n_allow, 2);
	if (c.n_allow == 2) {
		CHECK(!strcmp(c.allow_numbers[0], "+85212345678"));
		CHECK(!strcmp(c.allow_numbers[1], "13800138000")); /* not a +852 number form */
	}
	afgw_config_fini(&c);

	CHECK_INT(load(&c, "allow_numbers: []\n", err), 0);
	CHECK_INT(c.n_allow, 0);
	CHECK(c.allow_numbers == NULL);
	afgw_config_fini(&c);

	expect_error("allow_numbers:\n  - 95588\n  - ICBC\n",
		     "t.yaml:3: allow_numbers: 'ICBC' is not a phone number");
	expect_error("allow_numbers: ['']\n", "t.yaml:1: allow_numbers: '' is not a phone number");
	expect_error("allow_numbers: ['1380013800012345678901234567890']\n",
		     "t.yaml:1: allow_numbers: '1380013800012345678901234567890' is not a phone number");
	expect_error("allow_numbers: [[110]]\n", "t.yaml:1: allow_numbers: expected a number, got a list");
	expect_error("allow_numbers: 110\n",
		     "t.yaml:1: allow_numbers: expected a list of numbers such as ['95588', "
		     "'+8613800138000'], got '110'");
	/* a bad number after good ones, and a later error after numbers: nothing leaks */
	expect_error("allow_numbers: ['110', '13800138000', 'x@y']\n",
		     "t.yaml:1: allow_numbers: 'x@y' is not a phone number");
	expect_error("allow_numbers: ['110', '13800138000']\nworkers: 0\n",
		     "t.yaml:2: workers: expected an integer 1..64, got '0'");
	expect_error("workers: 2\ncapture_share: 101\n",
		     "t.yaml:2: capture_share: expected ~ (automatic) or an integer 0..100, got '101'");
	expect_error("capture_share: -1\n",
		     "t.yaml:1: capture_share: expected ~ (automatic) or an integer 0..100, got '-1'");
	expect_error("capture_share: auto\n",
		     "t.yaml:1: capture_share: expected ~ (automatic) or an integer 0..100, got 'auto'");

	/* the limit counts entries as written */
	size_t cap = 32 + (AFGW_CONFIG_ALLOW_MAX + 1) * 24;
	char *big = malloc(cap);
	CHECK(big != NULL);
	if (!big)
		return;
	size_t n = (size_t)snprintf(big, cap, "allow_numbers:\n");
	for (unsigned i = 0; i < AFGW_CONFIG_ALLOW_MAX; i++)
		n += (size_t)snprintf(big + n, cap - n, "  - '1380000%04u'\n", i);
	CHECK_INT(load(&c, big, err), 0);
	CHECK_INT(c.n_allow, AFGW_CONFIG_ALLOW_MAX);
	afgw_config_fini(&c);
	snprintf(big + n, cap - n, "  - '13900000000'\n");
	char want[AFGW_CONFIG_ERR];
	snprintf(want, sizeof(want), "t.yaml:%d: allow_numbers: more than %d numbers",
		 AFGW_CONFIG_ALLOW_MAX + 2, AFGW_CONFIG_ALLOW_MAX);
	expect_error(big, want);
	free(big);
}

static void test_values(void)
{
	struct afgw_config c;
	char err[AFGW_CONFIG_ERR];

	/* null sections and null strings mean "the default" */
	CHECK_INT(load(&c, "redis:\nscore: ~\nrules: ~\noutput:\n  events: '-'\n", err), 0);
	struct afgw_config d;
	afgw_config_default(&d);
	check_same(&c, &d);
	afgw_config_fini(&c);
	CHECK_INT(load(&c, "output:\n  events: none\n", err), 0);
	CHECK(c.output.events && !strcmp(c.output.events, "none"));
	afgw_config_fini(&c);
	CHECK_INT(load(&c, "mode: bridge\n", err), 0);
	CHECK_INT(c.mode, AFGW_MODE_BRIDGE);
	afgw_config_fini(&c);
	CHECK_INT(load(&c, "mode: \"tap\"\nworkers: 64\ncountry_code: 1\n", err), 0);
	CHECK_INT(c.mode, AFGW_MODE_TAP);
	CHECK_INT(c.workers, 64);
	CHECK_INT(c.country_code, 1);
	afgw_config_fini(&c);
	/* capture_share: 0 and 100 are values, ~ is automatic (-1) */
	CHECK_INT(load(&c, "capture_share: 0\n", err), 0);
	CHECK_INT(c.capture_share, 0);
	afgw_config_fini(&c);
	CHECK_INT(load(&c, "capture_share: 100\n", err), 0);
	CHECK_INT(c.capture_share, 100);
	afgw_config_fini(&c);
	CHECK(load(&c, "capture_share: 40\ncapture_share: ~\n", err) != 0); /* duplicate */
	CHECK_INT(load(&c, "capture_share: null\n", err), 0);
	CHECK_INT(c.capture_share, -1);
	afgw_config_fini(&c);
	/* warn may equal block */
	CHECK_INT(load(&c, "score: {warn: 70, block: 70}\n", err), 0);
	CHECK_INT(c.score.warn, 70);
	CHECK_INT(c.score.block, 70);
	afgw_config_fini(&c);

	/* Redis URLs */
	static const char *const good_urls[] = {
		"unix:///run/redis/redis.sock", "tcp://127.0.0.1:6379", "redis://redis-1.example:6380",
		"redis://localhost", "tcp://h:1", "tcp://h:65535",
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(good_urls); i++) {
		char text[128];
		snprintf(text, sizeof(text), "redis:\n  url: '%s'\n", good_urls[i]);
		int rc = load(&c, text, err);
		CHECK_INT(rc, 0);
		if (rc)
			fprintf(stderr, "  %s\n", err);
		CHECK(c.redis.url && !strcmp(c.redis.url, good_urls[i]));
		afgw_config_fini(&c);
	}

	/* empty file, comments only, an empty document, "..." end marker: the defaults */
	static const char *const empty[] = { "", "# nothing\n", "---\n", "workers: 1\n...\n",
					     "{}\n" };
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(empty); i++) {
		CHECK_INT(load(&c, empty[i], err), 0);
		check_same(&c, &d);
		CHECK(c.path && !strcmp(c.path, "t.yaml"));
		afgw_config_fini(&c);
	}

	/* no room for a message is not a crash */
	CHECK_INT(afgw_config_load_buffer(&c, "t.yaml", "workers: x\n", 11, NULL, 0), -EINVAL);
	afgw_config_fini(&c);
	char tiny[8];
	CHECK_INT(afgw_config_load_buffer(&c, "t.yaml", "workers: x\n", 11, tiny, sizeof(tiny)),
		  -EINVAL);
	CHECK(!strcmp(tiny, "t.yaml:"));
	afgw_config_fini(&c);
}

static void test_errors(void)
{
	/* the brief's examples */
	expect_error("workers: 1\n"
		     "score:\n"
		     "  wran: 40\n",
		     "t.yaml:3: unknown key 'score.wran'");
	expect_error("score:\n  warn: high\n", "t.yaml:2: score.warn: expected an integer 0..100, got 'high'");
	expect_error("mode: tap\n"
		     "workers: 2\n"
		     "workers: 3\n",
		     "t.yaml:3: duplicate key 'workers'");
	{
		struct afgw_config c;
		char err[AFGW_CONFIG_ERR];
		const char *text = "\n\n\n\n\n\nscore:\n  warn: 50\n  wran: 1\n";
		CHECK_INT(afgw_config_load_buffer(&c, "afgw.yaml", text, strlen(text), err, sizeof(err)),
			  -EINVAL);
		CHECK(!strcmp(err, "afgw.yaml:9: unknown key 'score.wran'"));
		afgw_config_fini(&c);
	}

	/* smpp-proxy: its three addresses are required; status codes in hex */
	expect_error("mode: smpp-proxy\n", "t.yaml:1: mode smpp-proxy needs smpp.listen");
	expect_error("smpp:\n  listen: 0.0.0.0:2775\n  upstream: 10.0.0.1:2775\nmode: smpp-proxy\n",
		     "t.yaml:4: mode smpp-proxy needs smpp.accounts");
	expect_error("smpp:\n  block_status: 0x\n",
		     "t.yaml:2: smpp.block_status: expected an integer 1..4294967295, got '0x'");
	expect_error("smpp:\n  block_status: 0x1G\n",
		     "t.yaml:2: smpp.block_status: expected an integer 1..4294967295, got '0x1G'");
	expect_error("smpp:\n  block_status: 0x100000000\n",
		     "t.yaml:2: smpp.block_status: expected an integer 1..4294967295, got "
		     "'0x100000000'");
	expect_error("smpp:\n  block_status: 0x0\n",
		     "t.yaml:2: smpp.block_status: expected an integer 1..4294967295, got '0x0'");
	expect_error("smpp:\n  window: 0\n",
		     "t.yaml:2: smpp.window: expected an integer 1..10000, got '0'");

	/* keys */
	expect_error("wokers: 2\n", "t.yaml:1: unknown key 'wokers'");
	expect_error("redis.url: tcp://h:1\n", "t.yaml:1: unknown key 'redis.url'");
	expect_error("redis:\n  warn: 1\n", "t.yaml:2: unknown key 'redis.warn'");
	expect_error("score:\n  redis: {}\n", "t.yaml:2: unknown key 'score.redis'");
	expect_error("Workers: 2\n", "t.yaml:1: unknown key 'Workers'");
	expect_error("\"work\\0ers\": 2\n", "t.yaml:1: unknown key 'work?ers'");
	expect_error("score:\n  warn: 40\nscore:\n  block: 90\n", "t.yaml:3: duplicate key 'score'");
	expect_error("score:\n  warn: 40\n  block: 90\n  warn: 41\n",
		     "t.yaml:4: duplicate key 'score.warn'");
	expect_error("[a]: 1\n", "t.yaml:1: expected a key, got a list");
	expect_error("score:\n  {a: 1}: 2\n", "t.yaml:2: score: expected a key, got a mapping");
	expect_error("a_very_long_key_that_nobody_would_write_in_a_config_file_on_purpose: 1\n",
		     "t.yaml:1: unknown key 'a_very_long_key_that_nobody_would_write_in_a_con...'");

	/* types and ranges */
	expect_error("workers: 65\n", "t.yaml:1: workers: expected an integer 1..64, got '65'");
	expect_error("workers: -1\n", "t.yaml:1: workers: expected an integer 1..64, got '-1'");
	expect_error("workers: 1.5\n", "t.yaml:1: workers: expected an integer 1..64, got '1.5'");
	expect_error("workers: 0x10\n", "t.yaml:1: workers: expected an integer 1..64, got '0x10'");
	expect_error("workers:\n", "t.yaml:1: workers: expected an integer 1..64, got nothing");
	expect_error("workers: [1]\n", "t.yaml:1: workers: expected an integer 1..64, got a list");
	expect_error("country_code: 1000\n",
		     "t.yaml:1: country_code: expected an integer 1..999, got '1000'");
	expect_error("redis:\n  command_timeout_ms: 0\n",
		     "t.yaml:2: redis.command_timeout_ms: expected an integer 1..600000, got '0'");
	expect_error("redis:\n  db: 256\n", "t.yaml:2: redis.db: expected an integer 0..255, got '256'");
	expect_error("behaviour:\n  mass_call_window_s: 86401\n",
		     "t.yaml:2: behaviour.mass_call_window_s: expected an integer 1..86400, got '86401'");
	expect_error("behaviour:\n  fleet_sync_ms: 50\n",
		     "t.yaml:2: behaviour.fleet_sync_ms: expected 0 (off) or an integer 100..600000, got '50'");
	expect_error("memcap:\n  tcp_flows: 10000000000\n",
		     "t.yaml:2: memcap.tcp_flows: expected an integer 64..4194304, got '10000000000'");
	expect_error("score:\n  wangiri: 101\n",
		     "t.yaml:2: score.wangiri: expected an integer 0..100, got '101'");
	expect_error("mode: inline\n", "t.yaml:1: mode: expected tap, bridge or smpp-proxy, got 'inline'");
	expect_error("mode: TAP\n", "t.yaml:1: mode: expected tap, bridge or smpp-proxy, got 'TAP'");
	expect_error("output:\n  evidence: yes\n",
		     "t.yaml:2: output.evidence: expected true or false, got 'yes'");
	expect_error("output:\n  evidence: 1\n",
		     "t.yaml:2: output.evidence: expected true or false, got '1'");
	expect_error("output: stdout\n", "t.yaml:1: output: expected a mapping of keys, got 'stdout'");
	expect_error("redis: [a]\n", "t.yaml:1: redis: expected a mapping of keys, got a list");
	expect_error("rules: [a, b]\n", "t.yaml:1: rules: expected text, got a list");
	expect_error("rules: ''\n",
		     "t.yaml:1: rules: empty value (leave the key out, or write ~, for the default)");
	expect_error("rules: \"a\\0b\"\n", "t.yaml:1: rules: contains a NUL character");
	expect_error("workers: \"1\\n\\t2\"\n",
		     "t.yaml:1: workers: expected an integer 1..64, got '1??2'");

	/* cross-field: reported at the key the file set */
	expect_error("score:\n  warn: 90\n", "t.yaml:2: score.warn: 90 is above score.block (80)");
	expect_error("score:\n  block: 40\n", "t.yaml:2: score.block: 40 is below score.warn (50)");
	expect_error("score:\n  block: 60\n  warn: 70\n",
		     "t.yaml:3: score.warn: 70 is above score.block (60)");
	expect_error("score:\n  warn: 70\n  block: 60\n",
		     "t.yaml:3: score.block: 60 is below score.warn (70)");

	/* Redis URLs */
	expect_error("redis:\n  url: http://localhost:6379\n",
		     "t.yaml:2: redis.url: expected unix:///path, tcp://host:port or redis://host:port, got 'http://localhost:6379'");
	expect_error("redis:\n  url: localhost:6379\n",
		     "t.yaml:2: redis.url: expected unix:///path, tcp://host:port or redis://host:port, got 'localhost:6379'");
	expect_error("redis:\n  url: unix://run/redis.sock\n",
		     "t.yaml:2: redis.url: expected an absolute socket path of at most 107 bytes, as in unix:///run/redis/redis.sock, got 'unix://run/redis.sock'");
	expect_error("redis:\n  url: tcp://:6379\n",
		     "t.yaml:2: redis.url: expected a host name or IPv4 address after '//', got 'tcp://:6379'");
	expect_error("redis:\n  url: tcp://h/0\n",
		     "t.yaml:2: redis.url: expected a host name or IPv4 address after '//', got 'tcp://h/0'");
	expect_error("redis:\n  url: tcp://h:0\n",
		     "t.yaml:2: redis.url: expected a port 1..65535 after the host, got 'tcp://h:0'");
	expect_error("redis:\n  url: tcp://h:65536\n",
		     "t.yaml:2: redis.url: expected a port 1..65535 after the host, got 'tcp://h:65536'");
	expect_error("redis:\n  url: 'redis://h:'\n",
		     "t.yaml:2: redis.url: expected a port 1..65535 after the host, got 'redis://h:'");
	/* a password in the URL is not echoed */
	expect_error("redis:\n  url: redis://:hunter2@h:6379\n",
		     "t.yaml:2: redis.url: no user or password in the URL; use redis.password");
	expect_error("redis:\n  password: [hunter2]\n",
		     "t.yaml:2: redis.password: expected text, got a list");

	/* YAML itself: libyaml's reason at its line */
	expect_error("workers: 1\nscore:\n  warn: \"abc\n",
		     "t.yaml:4: YAML syntax: found unexpected end of stream while scanning a quoted scalar");
	expect_error("score:\n  warn: 40\n\tblock: 90\n",
		     "t.yaml:3: YAML syntax: found a tab character that violates indentation while scanning a plain scalar");
	expect_error("score:\n  warn: 40\n block: 90\n",
		     "t.yaml:3: YAML syntax: did not find expected key while parsing a block mapping");
	expect_error("workers: 1\nmode: \xff\n", "t.yaml:2: not valid text: invalid leading UTF-8 octet");
	expect_error("workers: 1\n\nmode: t\x01\n",
		     "t.yaml:3: not valid text: control characters are not allowed");
	/* Windows and old Mac line ends count as libyaml counts them */
	expect_error("workers: 1\r\nmode: \xff\r\n", "t.yaml:2: not valid text: invalid leading UTF-8 octet");
	expect_error("workers: 1\rmode: \xff\r", "t.yaml:2: not valid text: invalid leading UTF-8 octet");
	expect_error("workers: 1\r\nscore:\r\n  wran: 1\r\n", "t.yaml:3: unknown key 'score.wran'");

	/* the top of the file */
	expect_error("- workers: 1\n", "t.yaml:1: expected a mapping of keys at the top, got a list");
	expect_error("# comment\nworkers\n",
		     "t.yaml:2: expected a mapping of keys at the top, got 'workers'");
	expect_error("workers: 1\n---\nworkers: 2\n", "t.yaml:2: only one YAML document in a config file");

	/*
	 * Anchors and aliases: refused at the first one, so "billion laughs"
	 * (each line nine aliases of the one before) never expands.
	 */
	expect_error("score:\n  warn: &w 40\n  block: *w\n",
		     "t.yaml:2: YAML anchors (&name) are not allowed in a config file");
	expect_error("workers: *w\n", "t.yaml:1: YAML aliases (*name) are not allowed in a config file");
	expect_error("allow_numbers: &a [\"110\",\"110\",\"110\",\"110\",\"110\",\"110\"]\n"
		     "sip_ports: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		     "smpp_ports: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
		     "t.yaml:1: YAML anchors (&name) are not allowed in a config file");
	expect_error("score: &s\n  warn: 40\n",
		     "t.yaml:1: YAML anchors (&name) are not allowed in a config file");

	/* too large: refused before parsing */
	size_t big = AFGW_CONFIG_FILE_MAX + 1;
	char *text = malloc(big + 1);
	CHECK(text != NULL);
	if (text) {
		memset(text, '#', big);
		text[big] = '\0';
		char want[AFGW_CONFIG_ERR];
		snprintf(want, sizeof(want), "t.yaml: file too large (%zu bytes, at most %u)", big,
			 AFGW_CONFIG_FILE_MAX);
		expect_error(text, want);
		/* exactly the limit is fine: a file of comments */
		text[0] = '\n';
		struct afgw_config c;
		char err[AFGW_CONFIG_ERR];
		CHECK_INT(afgw_config_load_buffer(&c, "t.yaml", text, AFGW_CONFIG_FILE_MAX, err,
						  sizeof(err)),
			  0);
		afgw_config_fini(&c);
		free(text);
	}
}

static void test_files(void)
{
	struct afgw_config c;
	char err[AFGW_CONFIG_ERR];

	CHECK_INT(afgw_config_load(&c, "/nonexistent/afgw.yaml", err, sizeof(err)), -ENOENT);
	CHECK(!strcmp(err, "/nonexistent/afgw.yaml: No such file or directory"));
	check_defaults(&c);

	CHECK_INT(afgw_config_load(&c, AFGW_SOURCE_DIR "/deploy", err, sizeof(err)), -EISDIR);
	CHECK(!strcmp(err, AFGW_SOURCE_DIR "/deploy: Is a directory"));
	check_defaults(&c);

	/* a file: its name in messages and in path */
	char path[] = "/tmp/test_config_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	FILE *f = fdopen(fd, "w");
	fputs("workers: 4\nscore:\n  warn: 60\n  bogus: 1\n", f);
	fclose(f);
	char want[AFGW_CONFIG_ERR];
	snprintf(want, sizeof(want), "%s:4: unknown key 'score.bogus'", path);
	CHECK_INT(afgw_config_load(&c, path, err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, want));
	check_defaults(&c);

	f = fopen(path, "w");
	fputs("workers: 4\nscore:\n  warn: 60\n", f);
	fclose(f);
	CHECK_INT(afgw_config_load(&c, path, err, sizeof(err)), 0);
	CHECK(c.path && !strcmp(c.path, path));
	CHECK_INT(c.workers, 4);
	CHECK_INT(c.score.warn, 60);
	afgw_config_fini(&c);

	/* too large on disk */
	f = fopen(path, "w");
	for (unsigned i = 0; i <= AFGW_CONFIG_FILE_MAX / 8; i++)
		fputs("#######\n", f);
	fclose(f);
	snprintf(want, sizeof(want), "%s: file too large (%u bytes, at most %u)", path,
		 (AFGW_CONFIG_FILE_MAX / 8 + 1) * 8, AFGW_CONFIG_FILE_MAX);
	CHECK_INT(afgw_config_load(&c, path, err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, want));
	check_defaults(&c);
	unlink(path);
}

/* The per-mode examples an operator starts from load, in the mode they name. */
static void test_mode_examples(void)
{
	static const struct {
		const char *file;
		enum afgw_mode mode;
	} ex[] = {
		{ "/deploy/tap.yaml", AFGW_MODE_TAP },
		{ "/deploy/bridge.yaml", AFGW_MODE_BRIDGE },
		{ "/deploy/smpp-proxy.yaml", AFGW_MODE_SMPP_PROXY },
	};
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		char path[512], err[AFGW_CONFIG_ERR] = "";
		struct afgw_config c;
		snprintf(path, sizeof(path), "%s%s", AFGW_SOURCE_DIR, ex[i].file);
		int rc = afgw_config_load(&c, path, err, sizeof(err));
		if (rc)
			fprintf(stderr, "%s\n", err);
		CHECK_INT(rc, 0);
		CHECK_INT(c.mode, ex[i].mode);
		afgw_config_fini(&c);
	}
}

/* memcap.match_cache: 0 turns the cache off; its range is the match worker's. */
static void test_match_cache(void)
{
	struct afgw_config c;
	char err[AFGW_CONFIG_ERR];
	CHECK_INT(load(&c, "memcap:\n  match_cache: 0\n", err), 0);
	CHECK_INT(c.memcap.match_cache, 0);
	afgw_config_fini(&c);
	CHECK_INT(load(&c, "memcap:\n  match_cache: 1048576\n", err), 0);
	CHECK_INT(c.memcap.match_cache, AFGW_MATCH_CACHE_MAX);
	afgw_config_fini(&c);
	CHECK(load(&c, "memcap:\n  match_cache: 1048577\n", err) != 0);
	CHECK(!strncmp(err, "t.yaml:2:", 9) && strstr(err, "match_cache"));
	CHECK(load(&c, "memcap:\n  match_cache: -1\n", err) != 0);
}

int main(void)
{
	test_defaults();
	test_match_cache();
	test_all_keys();
	test_example();
	test_sizes();
	test_ports();
	test_numbers();
	test_values();
	test_errors();
	test_files();
	test_mode_examples();
	return check_report();
}
