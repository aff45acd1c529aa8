/*
 * ctl_inbox.c - `afgwctl inbox`: the reference consumer a resident's app
 * (or its push back end) embeds.
 *
 * It reads the warnings stream (afgw:warn, notify.h) with a consumer group
 * of its own ("inbox:ACCOUNT" unless --group says otherwise), so each
 * warning is handed over at least once and acknowledged (XACK) after it
 * has been shown; entries for other accounts are acknowledged unread.
 * Each warning of the account is opened with the account's key pair,
 * its signature checked against the gateway keys given, and only then is
 * its JSON parsed and printed.  A warning that cannot be opened with this
 * key, is malformed, is signed by an unknown key or carries a bad
 * signature is reported (by id and reason) and never shown.
 *
 * Warnings are removable duplicates when their ids are equal: the inbox
 * remembers the ids it has shown in afgw:inbox:GROUP:seen (a set, TTL 30
 * days) and shows each id once, across runs, as an app would.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "afgw/config.h"
#include "afgw/keys.h"
#include "afgw/warning.h"
#include "ctl.h"
#include "redis_conn.h"

#define STREAM_KEY "afgw:warn"
#define TRUST_MAX 16
#define SEEN_TTL_S (30 * 86400)

static const char usage_inbox[] =
	"usage: afgwctl inbox --account ID --key APP.key --gateway-key GATEWAY.pub\n"
	"                     [--gateway-key ...] [--follow] [--json] [--group NAME]\n"
	"                     [--redis URL | -c CONFIG]\n"
	"\n"
	"Reads the account's warnings from the warnings stream with a consumer group,\n"
	"opens each with the account's key pair (APP.key, from afgwctl keygen app),\n"
	"checks the gateway's signature against the trusted gateway public keys, prints\n"
	"it, and acknowledges it.  A warning sealed to another key, unsigned, signed by\n"
	"an unknown key or tampered with is reported on stderr and not shown.\n"
	"\n"
	"  --account ID        the app account whose warnings to read\n"
	"  --key FILE          the account's secret key file (mode 0600)\n"
	"  --gateway-key FILE  a trusted gateway public key (afgwctl keygen gateway);\n"
	"                      repeat for a fleet of gateways\n"
	"  --follow            keep waiting for new warnings (Ctrl-C to stop)\n"
	"  --json              print each verified warning as its JSON line\n"
	"  --group NAME        consumer group (default inbox:ACCOUNT)\n"
	"  --redis URL         Redis (default: the config's, else $AFGW_REDIS)\n"
	"  -c, --config FILE   a gateway config: its Redis address, password and db\n"
	"\n"
	"exit status: 0 done (a summary line on stderr), 1 Redis failure, 2 bad usage or\n"
	"keys.\n";

struct inbox {
	const char *account;
	struct afgw_box_key *key;
	struct afgw_sign_pub trusted[TRUST_MAX];
	size_t n_trusted;
	bool json;
	char group[128];
	redisContext *ctx;
	uint64_t shown, rejected, duplicates;
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fputs("afgwctl inbox: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static const char *channel_zh(enum afgw_warning_channel ch)
{
	switch (ch) {
	case AFGW_WARNING_CALL:
		return "来电预警";
	case AFGW_WARNING_SMS:
		return "短信预警";
	default:
		return "回溯预警";
	}
}

static void show(const struct inbox *ib, const struct afgw_warning *w, const char *json,
		 const char *signer)
{
	if (ib->json) {
		printf("%s\n", json);
		return;
	}
	char when[64], contacted[64];
	fmt_time(w->ts, when, sizeof(when));
	printf("[%s] %s  %s  score %d  from %s\n", when, channel_zh(w->channel),
	       afgw_action_name(w->action), w->score, w->other);
	if (w->channel == AFGW_WARNING_LOOKBACK) {
		fmt_time(w->contacted_at, contacted, sizeof(contacted));
		printf("  contacted you at %s\n", contacted);
	}
	printf("  %s\n", afgw_warning_advice(w->category, w->channel));
	printf("  category %s; reasons:", w->category);
	for (unsigned i = 0; i < w->n_reasons; i++)
		printf("%s %s %s (%s, %d)", i ? ";" : "", w->reason[i].source, w->reason[i].id,
		       w->reason[i].category, w->reason[i].weight);
	printf("\n  warning %s, signed by gateway %s\n", w->id, signer);
}

/* Shown before (by any run of this group)?  Remembers id.  On a Redis error: no. */
static bool seen_before(struct inbox *ib, const char *id)
{
	redisReply *rep = redisCommand(ib->ctx, "SADD afgw:inbox:%s:seen %s", ib->group, id);
	bool seen = rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 0;
	freeReplyObject(rep);
	rep = redisCommand(ib->ctx, "EXPIRE afgw:inbox:%s:seen %d", ib->group, SEEN_TTL_S);
	freeReplyObject(rep);
	return seen;
}

/* One stream entry of this account: open, verify, show. */
static void handle(struct inbox *ib, const char *id, const char *b64, size_t b64_len)
{
	static uint8_t sealed[AFGW_WARNING_SEALED_MAX];
	static char json[AFGW_WARNING_JSON_MAX + 1];
	long n = afgw_unbase64(b64, b64_len, sealed, sizeof(sealed));
	if (n <= 0) {
		fprintf(stderr, "rejected %s: not base64\n", id);
		ib->rejected++;
		return;
	}
	size_t jlen;
	char signer[AFGW_KEY_ID_HEX];
	enum afgw_warning_open_error e = afgw_warning_open(ib->key, ib->trusted, ib->n_trusted,
							   sealed, (size_t)n, json, sizeof(json),
							   &jlen, signer);
	if (e != AFGW_WARNING_OK) {
		fprintf(stderr, "rejected %s: %s\n", id, afgw_warning_open_error_name(e));
		ib->rejected++;
		return;
	}
	struct afgw_warning w;
	if (afgw_warning_parse(json, jlen, &w) != 0 || strcmp(w.account, ib->account) != 0 ||
	    strcmp(w.id, id) != 0) {
		/* signed by a trusted gateway, but not a warning for this account under this id */
		fprintf(stderr, "rejected %s: content does not match its entry\n", id);
		ib->rejected++;
		return;
	}
	if (seen_before(ib, w.id)) {
		ib->duplicates++;
		return;
	}
	show(ib, &w, json, signer);
	ib->shown++;
}

static const redisReply *field(const redisReply *fields, const char *name)
{
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		if (fields->element[i]->type == REDIS_REPLY_STRING &&
		    !strcmp(fields->element[i]->str, name) &&
		    fields->element[i + 1]->type == REDIS_REPLY_STRING)
			return fields->element[i + 1];
	return NULL;
}

/*
 * One XREADGROUP: returns the number of entries read (0: none within the
 * block time), or -1 on a Redis error.  pending: read this consumer's
 * unacknowledged entries (id 0) rather than new ones (>).
 */
static long read_once(struct inbox *ib, bool pending, unsigned block_ms)
{
	redisReply *rep;
	if (block_ms)
		rep = redisCommand(ib->ctx, "XREADGROUP GROUP %s afgwctl COUNT 256 BLOCK %u "
				   "STREAMS " STREAM_KEY " %s", ib->group, block_ms,
				   pending ? "0" : ">");
	else
		rep = redisCommand(ib->ctx, "XREADGROUP GROUP %s afgwctl COUNT 256 STREAMS "
				   STREAM_KEY " %s", ib->group, pending ? "0" : ">");
	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "afgwctl inbox: XREADGROUP: %s\n", rep ? rep->str : ib->ctx->errstr);
		freeReplyObject(rep);
		return -1;
	}
	long got = 0;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
	    rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2) {
		const redisReply *entries = rep->element[0]->element[1];
		for (size_t i = 0; i < entries->elements; i++) {
			const redisReply *en = entries->element[i];
			if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
			    en->element[0]->type != REDIS_REPLY_STRING)
				continue;
			got++;
			const redisReply *fields = en->element[1];
			if (fields->type == REDIS_REPLY_ARRAY) {
				const redisReply *a = field(fields, "a"), *id = field(fields, "id"),
						 *w = field(fields, "w");
				if (a && id && w && !strcmp(a->str, ib->account))
					handle(ib, id->str, w->str, w->len);
			}
			/* shown (or not ours, or rejected): acknowledged */
			redisReply *ack = redisCommand(ib->ctx, "XACK " STREAM_KEY " %s %s",
						       ib->group, en->element[0]->str);
			freeReplyObject(ack);
		}
	}
	freeReplyObject(rep);
	fflush(stdout);
	return got;
}

int ctl_inbox_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "account", required_argument, NULL, 'a' },
		{ "key", required_argument, NULL, 'k' },
		{ "gateway-key", required_argument, NULL, 'g' },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "group", required_argument, NULL, 'G' },
		{ "redis", required_argument, NULL, 'R' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct inbox ib = { 0 };
	const char *key = NULL, *redis = NULL, *group = NULL, *config = NULL;
	const char *gw[TRUST_MAX];
	size_t n_gw = 0;
	bool follow = false;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			ib.account = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'g':
			if (n_gw == TRUST_MAX)
				return fail("more than %d --gateway-key", TRUST_MAX);
			gw[n_gw++] = optarg;
			break;
		case 'f':
			follow = true;
			break;
		case 'j':
			ib.json = true;
			break;
		case 'G':
			group = optarg;
			break;
		case 'R':
			redis = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(usage_inbox, stdout);
			return 0;
		default:
			return fail("unknown option or missing value '%s' (try --help)",
				    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail("unexpected argument '%s'", argv[optind]);
	if (!ib.account || !key || !n_gw)
		return fail("%s", "--account, --key and --gateway-key are needed (try --help)");
	snprintf(ib.group, sizeof(ib.group), "%s%s", group ? "" : "inbox:",
		 group ? group : ib.account);
	struct afgw_config cfg;
	struct afgw_config_redis rc;
	if (ctl_config_load("inbox", config, &cfg) != 0)
		return 2;
	if (ctl_redis_settings("inbox", redis, &cfg, &rc) != 0) {
		afgw_config_fini(&cfg);
		return 2;
	}

	char err[AFGW_KEY_ERR];
	int status = 2;
	if (afgw_keys_init() != 0 || afgw_box_key_load(key, &ib.key, err, sizeof(err)) != 0) {
		fprintf(stderr, "afgwctl inbox: %s\n", err);
		goto out;
	}
	for (size_t i = 0; i < n_gw; i++) {
		if (afgw_sign_pub_load(gw[i], &ib.trusted[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "afgwctl inbox: %s\n", err);
			goto out;
		}
	}
	ib.n_trusted = n_gw;

	ib.ctx = afgw_redis_ctx_open(&rc, follow ? 1000 : 0, err, sizeof(err));
	status = 1;
	if (!ib.ctx) {
		fprintf(stderr, "afgwctl inbox: %s\n", err);
		goto out;
	}
	redisReply *rep = redisCommand(ib.ctx, "XGROUP CREATE " STREAM_KEY " %s 0 MKSTREAM",
				       ib.group);
	bool ok = rep && (rep->type == REDIS_REPLY_STATUS ||
			  (rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "BUSYGROUP", 9)));
	if (!ok)
		fprintf(stderr, "afgwctl inbox: XGROUP CREATE: %s\n", rep ? rep->str : ib.ctx->errstr);
	freeReplyObject(rep);
	if (!ok)
		goto out;
	/* what an earlier run read but did not acknowledge, then what is new */
	long got;
	while ((got = read_once(&ib, true, 0)) > 0)
		;
	if (got < 0)
		goto out;
	do {
		got = read_once(&ib, false, follow ? 1000 : 0);
	} while (got > 0 || (follow && got == 0));
	if (got < 0)
		goto out;
	fprintf(stderr, "inbox %s: %" PRIu64 " warnings shown, %" PRIu64 " rejected, %" PRIu64
			" duplicates\n",
		ib.account, ib.shown, ib.rejected, ib.duplicates);
	status = 0;
out:
	if (ib.ctx)
		redisFree(ib.ctx);
	afgw_box_key_free(ib.key);
	afgw_config_fini(&cfg);
	return status;
}
