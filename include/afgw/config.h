/*
 * config.h - the gateway's configuration file, gateway/config.c.
 *
 * One YAML file (deploy/afgw.yaml is the annotated example) configures the
 * whole gateway: mode, Redis, numbers, workers, rules, score thresholds
 * and weights, behaviour windows, memcaps and output.  Every key is
 * optional and has the default given below (afgw_config_default); a key
 * the gateway does not know, a value of the wrong type or out of range, a
 * duplicate key or a YAML syntax error is refused at start with
 * "file:line: message" naming the key by its dotted path.
 *
 * Thread: the control thread, at start and on reload; the struct is plain
 * data afterwards, read by everyone.  Ownership: the strings inside belong
 * to the struct (afgw_config_fini frees them).
 */
#ifndef AFGW_CONFIG_H
#define AFGW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AFGW_CONFIG_FILE_MAX (1u << 20)  /* bytes in a config file */
#define AFGW_CONFIG_ALLOW_MAX 4096       /* numbers in allow_numbers */
#define AFGW_CONFIG_PORTS_MAX 3          /* sip_ports / smpp_ports entries */
#define AFGW_CONFIG_ERR 512              /* room for one error line */

enum afgw_mode { AFGW_MODE_TAP, AFGW_MODE_BRIDGE, AFGW_MODE_SMPP_PROXY };

struct afgw_config_redis {
	char *url;                     /* "unix:///path/redis.sock", "tcp://host:port" or
	                                  "redis://host:port"; NULL: no Redis (replica empty,
	                                  built-in allow list only) */
	char *user;                    /* ACL user for AUTH (Redis 6+); NULL: the default user */
	char *password;                /* AUTH; NULL: none */
	unsigned db;                   /* SELECT; default 0 */
	unsigned connect_timeout_ms;   /* default 1000 */
	unsigned command_timeout_ms;   /* default 2000 */
	unsigned retry_ms;             /* wait between reconnects, default 1000 */
};

struct afgw_config_score {
	int warn;                      /* score at or above: warn; default 50 */
	int block;                     /* score at or above: block; default 80; warn <= block */
	/* Weights (0..100) of the non-rule signals; rule weights live in the rules. */
	int graylist;                  /* cap on a graylist entry's score, default 60 */
	int report_each;               /* points per independent resident report, default 20 */
	int report_cap;                /* most that reports can reach, default 60 */
	unsigned report_halflife_days; /* decay of report points, default 14 */
	int mass_calling;              /* default 60 */
	int wangiri;                   /* default 70 */
	int sms_fanout;                /* default 30 */
	int call_and_sms;              /* default 20 */
};

struct afgw_config_behaviour {
	unsigned mass_call_window_s;   /* default 60 */
	unsigned mass_call_callees;    /* distinct callees per caller in the window; default 15 */
	unsigned wangiri_ring_max_s;   /* INVITE .. CANCEL at most this; default 6 */
	unsigned wangiri_window_s;     /* default 600 */
	unsigned wangiri_callees;      /* distinct callees rung short in the window; default 5 */
	unsigned fanout_window_s;      /* default 600 */
	unsigned fanout_recipients;    /* same text to this many distinct recipients; default 20 */
	unsigned call_sms_window_s;    /* call and SMS, same pair, within; default 1800 */
	unsigned flag_hold_s;          /* a flagged number stays flagged this long; default 3600 */
	unsigned fleet_sync_ms;        /* counters pushed to / read from Redis; default 1000,
	                                  0: never (one gateway sees everything) */
};

struct afgw_config_memcap {
	unsigned tcp_flows;            /* default 65536 */
	unsigned tcp_windows;          /* default 256 */
	unsigned frag_datagrams;       /* default 256 */
	unsigned concat_messages;      /* default 4096 */
	size_t concat_bytes;           /* default 4 MiB */
	unsigned concat_timeout_s;     /* default 60 */
	uint32_t smpp_max_pdu;         /* default 65536 */
	size_t sip_stream_bytes;       /* default 256 KiB */
	unsigned behaviour_numbers;    /* callers / texts / pairs tracked per table; default 65536 */
	unsigned dialogs;              /* calls waiting for CANCEL / answer; default 65536 */
	size_t replica_numbers;        /* reputation entries kept; default 16 Mi (16777216) */
	size_t queue_bytes;            /* per worker input queue; default 8 MiB */
	unsigned match_cache;          /* texts whose match results each worker keeps; default 4096 */
};

struct afgw_config_notify {
	char *gateway_key;             /* the gateway's signing key file (afgwctl keygen gateway);
	                                  NULL: no warnings are written (counted) */
	char *spool_dir;               /* where warnings wait while Redis is away;
	                                  NULL: none (they wait in memory only) */
	size_t spool_bytes;            /* bound of the spool on disk; default 256 MiB */
	unsigned queue;                /* items (warnings, contacts) waiting between the score
	                                  stage and the notifier; default 4096 */
	unsigned dedupe_window_s;      /* one warning per (other party, category, subscriber)
	                                  per window; default 3600 */
	unsigned hourly_cap;           /* warnings per subscriber per hour; default 10 */
	unsigned lookback_days;        /* contact log kept this long; default 30; 0: off */
	unsigned contact_log_max;      /* subscribers kept per contacting number; default 1000 */
	unsigned stream_maxlen;        /* afgw:warn trimmed to about this many; default 1000000 */
};

struct afgw_config_bundle {
	char *trust;                   /* keyring of trusted police keys (bundle.h);
	                                  NULL: no bundles are accepted */
	char *state_dir;               /* last accepted serial, current bundle, audit.log;
	                                  required with trust */
	char *scope;                   /* this gateway's scope; NULL: only bundles for "*" */
	unsigned poll_ms;              /* also look at Redis this often; default 2000 */
	unsigned compile_cpu_s;        /* CPU limit of the rule compiler process; default 300 */
	size_t compile_memory;         /* its address-space limit; default 4 GiB */
};

struct afgw_config_output {
	char *events;                  /* "-" (stdout, the default), a file path, or "none";
	                                  NULL means "-" (the file's "-" is stored as NULL) */
	bool evidence;                 /* locate regex evidence for reported hits; default true */
	bool allow_events;             /* afgw run: also write allow verdicts; default false
	                                  (afgw replay always writes every message) */
	bool clear_numbers;            /* afgw run: numbers in clear and SMS text in events;
	                                  default false (keyed pseudonyms, no text) */
	char *pseudonym_key;           /* file with the pseudonyms' key (32 hex digits);
	                                  NULL: a new random key at each start */
};

struct afgw_config_run {
	char *interfaces;              /* tap: the mirror ports, comma-separated ("eth1,eth2") */
	char *filter;                  /* BPF filter of the captures; NULL: everything */
	unsigned snaplen;              /* default 65535 */
	size_t buffer;                 /* kernel capture buffer per interface; default 64 MiB */
	bool promisc;                  /* default true */
	char *user;                    /* after opening the captures, run as this user (and its
	                                  group); NULL: stay as started */
	char *metrics;                 /* "ADDRESS:PORT" of the Prometheus / health endpoint;
	                                  NULL: none */
	unsigned verdict_deadline_ms;  /* bridge: an INVITE waits at most this long for its
	                                  verdict, then goes on unscanned; default 50 (SMS in
	                                  smpp-proxy mode: smpp.verdict_deadline_ms) */
};

/* smpp-proxy mode (smpp_proxy.h). */
struct afgw_config_smpp {
	char *listen;                  /* "ADDRESS:PORT" the ESMEs bind to ("[::]:2775" for
	                                  IPv6); required in smpp-proxy mode */
	char *upstream;                /* "ADDRESS:PORT" of the SMSC; required */
	char *accounts;                /* the ESMEs' accounts file; required */
	bool screening;                /* false: relay everything unscreened; default true */
	unsigned window;               /* requests outstanding per session and direction,
	                                  beyond which ESME_RTHROTTLED; default 10 */
	unsigned max_sessions;         /* ESME connections; default 10000 */
	uint32_t block_status;         /* submit_sm / data_sm / submit_multi _resp status of
	                                  a blocked SMS; default 0x45 ESME_RSUBMITFAIL */
	uint32_t deliver_block_status; /* deliver_sm / data_sm _resp status to the SMSC for a
	                                  blocked SMS; default 0x65 ESME_RX_P_APPN (permanent:
	                                  the SMSC does not retry) */
	unsigned enquire_link_s;       /* a leg quiet this long gets an enquire_link; default
	                                  30, 0: never */
	unsigned response_timeout_s;   /* a request unanswered this long tears the pair
	                                  down; default 10 */
	unsigned bind_timeout_s;       /* a connection not bound within; default 10 */
	unsigned pdu_timeout_s;        /* a PDU begun must be complete within; default 10 */
	unsigned inactivity_s;         /* no traffic but enquire_links this long: unbind;
	                                  default 0 (never) */
	size_t hold_bytes;             /* PDUs held for a verdict, all sessions; default 64 MiB */
	unsigned verdict_deadline_ms;  /* an SMS PDU waits at most this long for its verdict,
	                                  then is relayed unscreened; default 1000 */
	unsigned part_wait_ms;         /* a sender with nothing outstanding but parts of a
	                                  long message, quiet this long, is waiting for their
	                                  answers: they are screened as they are; default
	                                  2000, 0: wait for the concat timeout */
};

struct afgw_config {
	char *path;                    /* the file it came from; NULL for defaults */
	enum afgw_mode mode;           /* default tap */
	unsigned country_code;         /* 1..999, default 86 */
	unsigned workers;              /* 1..64, default 1 */
	int capture_share;             /* percent of the flows the capture thread decodes
	                                  itself with two or more workers; -1 (default):
	                                  20 with two, 0 with more */
	char *rules;                   /* rule set directory; NULL: the repository's default set */
	uint16_t sip_ports[AFGW_CONFIG_PORTS_MAX + 1];  /* 0-terminated; default 5060, 5080 */
	uint16_t smpp_ports[AFGW_CONFIG_PORTS_MAX + 1]; /* default 2775 */
	char **allow_numbers;          /* canonical numbers always allowed, besides the built-in
	                                  emergency and service numbers; sorted, no repeats */
	size_t n_allow;
	struct afgw_config_redis redis;
	struct afgw_config_score score;
	struct afgw_config_behaviour behaviour;
	struct afgw_config_memcap memcap;
	struct afgw_config_notify notify;
	struct afgw_config_bundle bundle;
	struct afgw_config_output output;
	struct afgw_config_run run;
	struct afgw_config_smpp smpp;
};

/* Fill cfg with the defaults above (no allocation). */
void afgw_config_default(struct afgw_config *cfg);

/*
 * Fill cfg with the defaults, then read a YAML config file over them.
 * Keys are the struct fields' names with the sections as YAML mappings
 * (redis.url, score.warn, behaviour.mass_call_window_s, memcap.tcp_flows,
 * output.events ...; mode is "tap", "bridge" or "smpp-proxy").  On error returns -EINVAL
 * (bad content), -ENOMEM or -errno (cannot read) and writes one line,
 * "file:line: message" (no newline), into err; cfg is then left with
 * defaults and nothing allocated.  Numbers in allow_numbers are
 * canonicalised with the file's country_code (number.h); one that is not a
 * number is an error.  A YAML null (~) for rules, redis.url,
 * redis.password or output.events, or for a whole section, keeps the
 * default.  cfg's previous contents are overwritten, not freed: fini a
 * loaded config before loading into it again.  err may be NULL.
 */
int afgw_config_load(struct afgw_config *cfg, const char *path, char *err, size_t errlen);

/* The same from memory; name is what messages call the file. */
int afgw_config_load_buffer(struct afgw_config *cfg, const char *name, const char *buf,
			    size_t len, char *err, size_t errlen);

/* Free the strings; cfg is left with defaults.  NULL-safe. */
void afgw_config_fini(struct afgw_config *cfg);

const char *afgw_mode_name(enum afgw_mode m);

#endif
