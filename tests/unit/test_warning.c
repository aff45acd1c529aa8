/*
 * test_warning.c - a resident's warning: the JSON byte for byte and back
 * through the parser, the advice texts, the deterministic id against a
 * BLAKE2b computed here, and the signed-and-sealed format from both
 * sides: round trips, the wrong account, every byte of a blob damaged,
 * blobs built by hand (the documented format, forged signatures, unknown
 * keys, bad magic, short and long inputs) and the seal's limits.
 *
 * Keys are made with afgw_keys_generate in a mkdtemp directory and
 * loaded as the gateway and the app would load them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "afgw/common.h"
#include "afgw/warning.h"
#include "check.h"

static char dir[64];
static struct afgw_sign_key *gw, *gw2;   /* two gateways */
static struct afgw_sign_pub gw_pub, gw2_pub;
static struct afgw_box_key *app, *app2;  /* two app accounts */

static const char *path_in(const char *name)
{
	static char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void make_keys(void)
{
	char err[AFGW_KEY_ERR], p[256];
	int rc = 0;
	rc |= afgw_keys_generate(AFGW_KEY_SIGN, path_in("gw"), err, sizeof(err));
	rc |= afgw_keys_generate(AFGW_KEY_SIGN, path_in("gw2"), err, sizeof(err));
	rc |= afgw_keys_generate(AFGW_KEY_BOX, path_in("app"), err, sizeof(err));
	rc |= afgw_keys_generate(AFGW_KEY_BOX, path_in("app2"), err, sizeof(err));
	rc |= afgw_sign_key_load(path_in("gw.key"), &gw, err, sizeof(err));
	rc |= afgw_sign_key_load(path_in("gw2.key"), &gw2, err, sizeof(err));
	rc |= afgw_sign_pub_load(path_in("gw.pub"), &gw_pub, err, sizeof(err));
	snprintf(p, sizeof(p), "%s", path_in("gw2.pub"));
	rc |= afgw_sign_pub_load(p, &gw2_pub, err, sizeof(err));
	rc |= afgw_box_key_load(path_in("app.key"), &app, err, sizeof(err));
	rc |= afgw_box_key_load(path_in("app2.key"), &app2, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "key set-up failed: %s\n", err);
		exit(1);
	}
}

static void set(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s);
}
#define SET(field, s) set((field), sizeof(field), (s))

static void add_reason(struct afgw_warning *w, const char *source, const char *id,
		       const char *category, int weight)
{
	struct afgw_warning_reason *r = &w->reason[w->n_reasons++];
	SET(r->source, source);
	SET(r->id, id);
	SET(r->category, category);
	r->weight = weight;
}

/* A call from a blacklisted impersonate-police number, 2026-11-21T10:00:00Z. */
static void call_warning(struct afgw_warning *w)
{
	memset(w, 0, sizeof(*w));
	w->ts = 1795255200;
	w->contacted_at = w->ts;
	w->channel = AFGW_WARNING_CALL;
	SET(w->other, "+8617012345678");
	SET(w->account, "app-0001");
	SET(w->category, "impersonate_police");
	w->score = 87;
	w->action = AFGW_BLOCK;
	w->ruleset = 42;
	add_reason(w, "rule", "zh.police.safe_account", "impersonate_police", 60);
	add_reason(w, "reputation", "blacklist", "impersonate_police", 90);
	add_reason(w, "behaviour", "mass_calling", "mass_calling", 30);
	SET(w->gateway, gw->id);
	afgw_warning_make_id(w, (uint64_t)w->ts * 1000000 + 123456);
}

static void same_warning(const struct afgw_warning *a, const struct afgw_warning *b)
{
	CHECK_CSTR(a->id, b->id);
	CHECK_INT(a->ts, b->ts);
	CHECK_INT(a->contacted_at, b->contacted_at);
	CHECK_INT(a->channel, b->channel);
	CHECK_CSTR(a->other, b->other);
	CHECK_CSTR(a->account, b->account);
	CHECK_CSTR(a->category, b->category);
	CHECK_INT(a->score, b->score);
	CHECK_INT(a->action, b->action);
	CHECK(a->ruleset == b->ruleset);
	CHECK_INT(a->n_reasons, b->n_reasons);
	for (unsigned i = 0; i < a->n_reasons && i < b->n_reasons; i++) {
		CHECK_CSTR(a->reason[i].source, b->reason[i].source);
		CHECK_CSTR(a->reason[i].id, b->reason[i].id);
		CHECK_CSTR(a->reason[i].category, b->reason[i].category);
		CHECK_INT(a->reason[i].weight, b->reason[i].weight);
	}
	CHECK_CSTR(a->gateway, b->gateway);
}

/* ---- advice --------------------------------------------------------- */

static const char *const categories[] = {
	"impersonate_police", "fake_cs", "investment", "loan", "task_rebate", "credit",
	"romance", "fake_boss", "fake_military", "prize", "game_trade", "sextortion",
	"phishing_gov", "money", "url", "contact", "number", "en_bank", "en_crypto", "en_tax",
	"en_prize", "en_new_number", "en_delivery", "en_toll", "en_job", "mass_calling",
	"wangiri", "sms_fanout", "call_and_sms", "blacklist",
};

static void test_advice(void)
{
	CHECK_CSTR(afgw_warning_advice("impersonate_police", AFGW_WARNING_CALL),
		   "该号码涉嫌冒充公检法诈骗，公检法机关不会通过电话要求转账，请立即挂断。");
	CHECK_CSTR(afgw_warning_advice("impersonate_police", AFGW_WARNING_SMS),
		   "该短信疑似冒充公检法诈骗，公检法机关不会通过短信要求转账或提供账户信息，"
		   "请勿点击链接、勿回复。");
	CHECK_CSTR(afgw_warning_advice("impersonate_police", AFGW_WARNING_LOOKBACK),
		   "近期联系过您的号码已被认定为诈骗号码（冒充公检法），如对方曾要求转账或提供"
		   "验证码，请立即拨打110或96110。");

	const char *general[3];
	for (int ch = 0; ch < 3; ch++)
		general[ch] = afgw_warning_advice("no_such_category", (enum afgw_warning_channel)ch);
	CHECK(general[0] == afgw_warning_advice(NULL, AFGW_WARNING_CALL));
	CHECK(general[1] == afgw_warning_advice("", AFGW_WARNING_SMS));
	CHECK(general[2] == afgw_warning_advice("IMPERSONATE_POLICE", AFGW_WARNING_LOOKBACK));
	CHECK(strstr(general[0], "诈骗") && strstr(general[1], "短信") && strstr(general[2], "110"));

	/* Every category: its own text per channel, Chinese first, in valid UTF-8 */
	size_t n = AFGW_ARRAY_SIZE(categories);
	for (size_t i = 0; i < n; i++) {
		const char *t[3];
		for (int ch = 0; ch < 3; ch++) {
			t[ch] = afgw_warning_advice(categories[i], (enum afgw_warning_channel)ch);
			CHECK(t[ch] != NULL && t[ch] != general[ch]);
			if (!t[ch])
				continue;
			CHECK(afgw_utf8_valid(t[ch], strlen(t[ch])));
			CHECK((unsigned char)t[ch][0] >= 0xe4); /* starts with a CJK character */
			CHECK(strstr(t[ch], "。") != NULL);
			CHECK(strlen(t[ch]) < 512);
			for (size_t j = 0; j < i; j++) /* no two categories share a text */
				CHECK(strcmp(t[ch], afgw_warning_advice(
							    categories[j],
							    (enum afgw_warning_channel)ch)) != 0);
		}
		CHECK(strcmp(t[0], t[1]) != 0 && strcmp(t[1], t[2]) != 0);
		CHECK(strstr(t[2], "110") != NULL); /* look-back says where to report */
		CHECK(strstr(t[1], "短信") != NULL || strstr(t[1], "号码") != NULL);
		if (!strncmp(categories[i], "en_", 3)) /* the English sentence after the Chinese */
			CHECK(strstr(t[0], "。 ") != NULL);
	}
	/* An unknown channel value falls back to the call text, never NULL */
	CHECK(afgw_warning_advice("loan", (enum afgw_warning_channel)7) ==
	      afgw_warning_advice("loan", AFGW_WARNING_CALL));
}

/* ---- JSON ----------------------------------------------------------- */

static void test_json(void)
{
	struct afgw_warning w, back;
	struct afgw_jbuf b;
	char want[4096];
	afgw_jbuf_init(&b);

	call_warning(&w);
	afgw_warning_json(&w, &b);
	snprintf(want, sizeof(want),
		 "{\"v\":1,\"id\":\"%s\",\"ts\":\"2026-11-21T10:00:00Z\",\"channel\":\"call\","
		 "\"account\":\"app-0001\",\"other\":\"+8617012345678\","
		 "\"category\":\"impersonate_police\",\"score\":87,\"action\":\"block\","
		 "\"reasons\":[{\"source\":\"rule\",\"id\":\"zh.police.safe_account\","
		 "\"category\":\"impersonate_police\",\"weight\":60},"
		 "{\"source\":\"reputation\",\"id\":\"blacklist\",\"category\":"
		 "\"impersonate_police\",\"weight\":90},"
		 "{\"source\":\"behaviour\",\"id\":\"mass_calling\",\"category\":\"mass_calling\","
		 "\"weight\":30}],"
		 "\"advice\":\"该号码涉嫌冒充公检法诈骗，公检法机关不会通过电话要求转账，请立即挂断。\","
		 "\"ruleset\":42,\"gateway\":\"%s\"}",
		 w.id, gw->id);
	CHECK_MEM(b.p, b.len, want);
	CHECK(afgw_utf8_valid(b.p, b.len));
	CHECK_INT(afgw_warning_parse(b.p, b.len, &back), 0);
	same_warning(&w, &back);

	/* SMS, warn, one reason */
	memset(&w, 0, sizeof(w));
	w.ts = 1795199405; /* 2026-11-20T18:30:05Z */
	w.contacted_at = w.ts;
	w.channel = AFGW_WARNING_SMS;
	SET(w.other, "95588");
	SET(w.account, "acct.7@example");
	SET(w.category, "phishing_gov");
	w.score = 55;
	w.action = AFGW_WARN;
	w.ruleset = 7;
	add_reason(&w, "rule", "zh.gov.etc_invalid", "phishing_gov", 30);
	SET(w.gateway, gw->id);
	afgw_warning_make_id(&w, 1795199405000001ull);
	afgw_warning_json(&w, &b);
	snprintf(want, sizeof(want),
		 "{\"v\":1,\"id\":\"%s\",\"ts\":\"2026-11-20T18:30:05Z\",\"channel\":\"sms\","
		 "\"account\":\"acct.7@example\",\"other\":\"95588\",\"category\":\"phishing_gov\","
		 "\"score\":55,\"action\":\"warn\",\"reasons\":[{\"source\":\"rule\","
		 "\"id\":\"zh.gov.etc_invalid\",\"category\":\"phishing_gov\",\"weight\":30}],"
		 "\"advice\":\"%s\",\"ruleset\":7,\"gateway\":\"%s\"}",
		 w.id, afgw_warning_advice("phishing_gov", AFGW_WARNING_SMS), gw->id);
	CHECK_MEM(b.p, b.len, want);
	CHECK(strstr(want, "短信") != NULL);
	CHECK_INT(afgw_warning_parse(b.p, b.len, &back), 0);
	same_warning(&w, &back);

	/* Look-back: contacted_at last; no reasons is an empty list */
	memset(&w, 0, sizeof(w));
	w.ts = 1795255200;
	w.contacted_at = 1709251199; /* 2024-02-29T23:59:59Z */
	w.channel = AFGW_WARNING_LOOKBACK;
	SET(w.other, "+8616512345678");
	SET(w.account, "app-0001");
	SET(w.category, "investment");
	w.score = 90;
	w.action = AFGW_WARN;
	w.ruleset = 0;
	SET(w.gateway, gw->id);
	afgw_warning_make_id(&w, 1795255200);
	afgw_warning_json(&w, &b);
	snprintf(want, sizeof(want),
		 "{\"v\":1,\"id\":\"%s\",\"ts\":\"2026-11-21T10:00:00Z\",\"channel\":\"lookback\","
		 "\"account\":\"app-0001\",\"other\":\"+8616512345678\",\"category\":\"investment\","
		 "\"score\":90,\"action\":\"warn\",\"reasons\":[],\"advice\":\"%s\",\"ruleset\":0,"
		 "\"gateway\":\"%s\",\"contacted_at\":\"2024-02-29T23:59:59Z\"}",
		 w.id, afgw_warning_advice("investment", AFGW_WARNING_LOOKBACK), gw->id);
	CHECK_MEM(b.p, b.len, want);
	CHECK(strstr(want, "虚假投资理财") != NULL);
	CHECK_INT(afgw_warning_parse(b.p, b.len, &back), 0);
	same_warning(&w, &back);

	/* Strings that need escaping, non-ASCII ones, all eight reasons, a big serial */
	call_warning(&w);
	SET(w.other, "客服\"小王\"\\");
	SET(w.account, "tab\there\nnl\x01");
	SET(w.category, "未知类别");
	w.ruleset = 9007199254740993ull; /* above 2^53: kept exactly as an integer */
	w.n_reasons = 0;
	for (int i = 0; i < AFGW_WARNING_REASONS_MAX; i++) {
		char id[32];
		snprintf(id, sizeof(id), "r.%d/\"x\"", i);
		add_reason(&w, i % 2 ? "rule" : "behaviour", id, "罗曼史", -i * 1000);
	}
	afgw_warning_json(&w, &b);
	CHECK(afgw_utf8_valid(b.p, b.len));
	CHECK(b.len <= AFGW_WARNING_JSON_MAX);
	CHECK(strstr(b.p, "\"other\":\"客服\\\"小王\\\"\\\\\"") != NULL);
	CHECK(strstr(b.p, "\"tab\\there\\nnl\\u0001\"") != NULL);
	CHECK(strstr(b.p, "\"ruleset\":9007199254740993,") != NULL);
	CHECK(strstr(b.p, afgw_warning_advice(NULL, AFGW_WARNING_CALL)) != NULL);
	CHECK_INT(afgw_warning_parse(b.p, b.len, &back), 0);
	same_warning(&w, &back);

	/* Hostile field contents cannot push the JSON past its bound: every
	 * field at its longest and all escapes (6 bytes per byte) or bad
	 * UTF-8 (3 bytes per byte).  Reasons are left off from the end. */
	for (int bad_utf8 = 0; bad_utf8 < 2; bad_utf8++) {
		char fill = bad_utf8 ? '\xff' : '\x01';
		call_warning(&w);
		memset(w.other, fill, sizeof(w.other) - 1);
		memset(w.account, fill, sizeof(w.account) - 1);
		memset(w.category, fill, sizeof(w.category) - 1);
		memset(w.id, fill, sizeof(w.id)); /* not even NUL-terminated */
		memset(w.gateway, fill, sizeof(w.gateway));
		w.n_reasons = 200; /* a bad count is clamped, not followed */
		for (int i = 0; i < AFGW_WARNING_REASONS_MAX; i++) {
			memset(w.reason[i].source, fill, sizeof(w.reason[i].source));
			memset(w.reason[i].id, fill, sizeof(w.reason[i].id) - 1);
			memset(w.reason[i].category, fill, sizeof(w.reason[i].category) - 1);
			w.reason[i].id[sizeof(w.reason[i].id) - 1] = '\0';
			w.reason[i].category[sizeof(w.reason[i].category) - 1] = '\0';
		}
		w.ts = -5;                /* clamped to 1970 */
		w.contacted_at = INT64_MAX; /* clamped to 9999 */
		w.channel = AFGW_WARNING_LOOKBACK;
		afgw_warning_json(&w, &b);
		CHECK(b.len <= AFGW_WARNING_JSON_MAX);
		CHECK(afgw_utf8_valid(b.p, b.len));
		CHECK(strstr(b.p, "\"ts\":\"1970-01-01T00:00:00Z\"") != NULL);
		CHECK(strstr(b.p, "\"contacted_at\":\"9999-12-31T23:59:59Z\"}") != NULL);
		json_error_t je;
		json_t *root = json_loadb(b.p, b.len, 0, &je);
		CHECK(json_is_object(root));
		size_t kept = json_array_size(json_object_get(root, "reasons"));
		CHECK(kept < AFGW_WARNING_REASONS_MAX); /* some had to go */
		CHECK(kept >= 1);
		json_decref(root);
	}
	afgw_jbuf_fini(&b);
}

/* The JSON of the call warning with one member changed by jansson. */
static int parse_with(const char *key, json_t *value)
{
	struct afgw_warning w, back;
	struct afgw_jbuf b;
	afgw_jbuf_init(&b);
	call_warning(&w);
	afgw_warning_json(&w, &b);
	json_error_t je;
	json_t *root = json_loadb(b.p, b.len, 0, &je);
	if (value)
		json_object_set_new(root, key, value);
	else
		json_object_del(root, key);
	char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc = afgw_warning_parse(s, strlen(s), &back);
	free(s);
	json_decref(root);
	afgw_jbuf_fini(&b);
	return rc;
}

static int parse_cstr(const char *s)
{
	struct afgw_warning w;
	return afgw_warning_parse(s, strlen(s), &w);
}

static void test_parse_rejects(void)
{
	static const char *const required[] = { "v",     "id",     "ts",      "channel",
						"account", "other", "category", "score",
						"action", "reasons", "advice", "ruleset",
						"gateway" };
	CHECK_INT(parse_with("unknown_key", json_string("ignored")), 0);
	CHECK_INT(parse_with("contacted_at", json_string("x")), 0); /* a call's is ignored */
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(required); i++) {
		int rc = parse_with(required[i], NULL);
		if (rc != -EINVAL)
			fprintf(stderr, "  parsed without '%s'\n", required[i]);
		CHECK_INT(rc, -EINVAL);
		/* and of the wrong type: null */
		CHECK_INT(parse_with(required[i], json_null()), -EINVAL);
	}
	CHECK_INT(parse_with("v", json_integer(2)), -EINVAL);
	CHECK_INT(parse_with("v", json_string("1")), -EINVAL);
	CHECK_INT(parse_with("score", json_integer(101)), -EINVAL);
	CHECK_INT(parse_with("score", json_integer(-1)), -EINVAL);
	CHECK_INT(parse_with("score", json_real(87.0)), -EINVAL);
	CHECK_INT(parse_with("score", json_integer(100)), 0);
	CHECK_INT(parse_with("score", json_integer(0)), 0);
	CHECK_INT(parse_with("ruleset", json_integer(-1)), -EINVAL);
	CHECK_INT(parse_with("channel", json_string("fax")), -EINVAL);
	CHECK_INT(parse_with("channel", json_string("CALL")), -EINVAL);
	CHECK_INT(parse_with("action", json_string("allow")), -EINVAL);
	CHECK_INT(parse_with("action", json_string("warn")), 0);
	CHECK_INT(parse_with("advice", json_string("")), 0); /* shown, not checked */
	CHECK_INT(parse_with("advice", json_integer(1)), -EINVAL);
	CHECK_INT(parse_with("id", json_string("0123456789abcdef0123456789abcde")), -EINVAL);
	CHECK_INT(parse_with("id", json_string("0123456789abcdef0123456789abcdef0")), -EINVAL);
	CHECK_INT(parse_with("id", json_string("0123456789ABCDEF0123456789abcdef")), -EINVAL);
	CHECK_INT(parse_with("id", json_string("0123456789abcdef0123456789abcdef")), 0);
	CHECK_INT(parse_with("gateway", json_string("0123456789abcde")), -EINVAL);
	CHECK_INT(parse_with("gateway", json_string("0123456789abcdeg")), -EINVAL);
	CHECK_INT(parse_with("gateway", json_string("0123456789abcdef")), 0);
	/* times: exactly YYYY-MM-DDTHH:MM:SSZ, a real date */
	static const char *const bad_ts[] = {
		"2026-11-21T10:00:00+08:00", "2026-11-21T10:00:00.5Z", "2026-11-21 10:00:00Z",
		"2026-11-21t10:00:00z",      "2026-02-29T00:00:00Z",   "2026-04-31T00:00:00Z",
		"2026-13-01T00:00:00Z",      "2026-00-01T00:00:00Z",   "2026-11-00T00:00:00Z",
		"2026-11-21T24:00:00Z",      "2026-11-21T10:60:00Z",   "2026-11-21T10:00:60Z",
		"1969-12-31T23:59:59Z",      "2026-11-21T10:00:0Z",    "+026-11-21T10:00:00Z",
		"",                          "1795255200",
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(bad_ts); i++) {
		int rc = parse_with("ts", json_string(bad_ts[i]));
		if (rc != -EINVAL)
			fprintf(stderr, "  accepted ts '%s'\n", bad_ts[i]);
		CHECK_INT(rc, -EINVAL);
	}
	CHECK_INT(parse_with("ts", json_integer(1795255200)), -EINVAL);
	CHECK_INT(parse_with("ts", json_string("2024-02-29T00:00:00Z")), 0);
	CHECK_INT(parse_with("ts", json_string("1970-01-01T00:00:00Z")), 0);
	CHECK_INT(parse_with("ts", json_string("9999-12-31T23:59:59Z")), 0);
	CHECK_INT(parse_with("ts", json_string("2000-02-29T12:34:56Z")), 0);
	CHECK_INT(parse_with("ts", json_string("2100-02-29T12:34:56Z")), -EINVAL);

	/* field lengths: 64 bytes fit, 65 do not (counted in bytes, UTF-8) */
	char s[200];
	memset(s, 'a', 64);
	s[64] = '\0';
	CHECK_INT(parse_with("other", json_string(s)), 0);
	CHECK_INT(parse_with("account", json_string(s)), 0);
	s[64] = 'a';
	s[65] = '\0';
	CHECK_INT(parse_with("other", json_string(s)), -EINVAL);
	CHECK_INT(parse_with("account", json_string(s)), -EINVAL);
	CHECK_INT(parse_with("category", json_string(s)), -EINVAL);
	/* 22 CJK characters are 66 bytes */
	for (int i = 0; i < 22; i++)
		memcpy(s + 3 * i, "骗", 3);
	s[66] = '\0';
	CHECK_INT(parse_with("other", json_string(s)), -EINVAL);

	/* reasons: at most eight, each complete and typed */
	json_t *r = json_array();
	for (int i = 0; i < 9; i++)
		json_array_append_new(r, json_pack("{s:s,s:s,s:s,s:i}", "source", "rule", "id",
						   "x", "category", "loan", "weight", i));
	CHECK_INT(parse_with("reasons", json_deep_copy(r)), -EINVAL);
	json_array_remove(r, 8);
	CHECK_INT(parse_with("reasons", json_deep_copy(r)), 0);
	json_object_del(json_array_get(r, 3), "weight");
	CHECK_INT(parse_with("reasons", json_deep_copy(r)), -EINVAL);
	json_object_set_new(json_array_get(r, 3), "weight", json_string("5"));
	CHECK_INT(parse_with("reasons", json_deep_copy(r)), -EINVAL);
	json_object_set_new(json_array_get(r, 3), "weight", json_integer(5));
	json_object_set_new(json_array_get(r, 3), "source", json_string("0123456789abcdef"));
	CHECK_INT(parse_with("reasons", json_deep_copy(r)), -EINVAL); /* source: 15 at most */
	json_object_set_new(json_array_get(r, 3), "source", json_string("0123456789abcde"));
	CHECK_INT(parse_with("reasons", json_deep_copy(r)), 0);
	json_array_append_new(r, json_string("not an object"));
	CHECK_INT(parse_with("reasons", json_deep_copy(r)), -EINVAL);
	json_decref(r);
	CHECK_INT(parse_with("reasons", json_object()), -EINVAL);

	/* look-back needs contacted_at */
	struct afgw_warning w, back;
	struct afgw_jbuf b;
	afgw_jbuf_init(&b);
	call_warning(&w);
	w.channel = AFGW_WARNING_LOOKBACK;
	w.contacted_at = 1709251199;
	afgw_warning_json(&w, &b);
	CHECK_INT(afgw_warning_parse(b.p, b.len, &back), 0);
	CHECK_INT(back.contacted_at, 1709251199);
	char *cut = strstr(b.p, ",\"contacted_at\"");
	CHECK(cut != NULL);
	if (cut) {
		size_t n = (size_t)(cut - b.p);
		char tmp[4096];
		memcpy(tmp, b.p, n);
		tmp[n] = '}';
		CHECK_INT(afgw_warning_parse(tmp, n + 1, &back), -EINVAL);
	}

	/* whole-document faults */
	call_warning(&w);
	afgw_warning_json(&w, &b);
	char doc[8192];
	memcpy(doc, b.p, b.len);
	CHECK_INT(afgw_warning_parse(doc, b.len, &back), 0);
	CHECK_INT(afgw_warning_parse(doc, b.len - 1, &back), -EINVAL); /* cut */
	memcpy(doc + b.len, " \n", 2);
	CHECK_INT(afgw_warning_parse(doc, b.len + 2, &back), 0); /* trailing blanks */
	memcpy(doc + b.len, "{}", 2);
	CHECK_INT(afgw_warning_parse(doc, b.len + 2, &back), -EINVAL); /* trailing data */
	doc[b.len - 1] = ',';
	memcpy(doc + b.len, "\"v\":1}", 6); /* a duplicate key */
	CHECK_INT(afgw_warning_parse(doc, b.len + 6, &back), -EINVAL);
	CHECK_INT(afgw_warning_parse("", 0, &back), -EINVAL);
	CHECK_INT(afgw_warning_parse(NULL, 0, &back), -EINVAL);
	CHECK_INT(parse_cstr("[]"), -EINVAL);
	CHECK_INT(parse_cstr("null"), -EINVAL);
	CHECK_INT(parse_cstr("{"), -EINVAL);
	/* \u0000 inside a string is refused (it would cut the C string) */
	memcpy(doc, b.p, b.len);
	char *acct = strstr(doc, "app-0001");
	memmove(acct + 6, acct, b.len - (size_t)(acct - doc));
	memcpy(acct, "\\u0000", 6);
	CHECK_INT(afgw_warning_parse(doc, b.len + 6, &back), -EINVAL);
	/* over 4096 bytes, even if only blanks */
	memcpy(doc, b.p, b.len);
	memset(doc + b.len, ' ', sizeof(doc) - b.len);
	CHECK_INT(afgw_warning_parse(doc, AFGW_WARNING_JSON_MAX, &back), 0);
	CHECK_INT(afgw_warning_parse(doc, AFGW_WARNING_JSON_MAX + 1, &back), -EINVAL);
	/* a failed parse leaves *w alone */
	memset(&back, 0x5a, sizeof(back));
	CHECK_INT(afgw_warning_parse(doc, b.len - 1, &back), -EINVAL);
	CHECK(back.score == 0x5a5a5a5a);
	afgw_jbuf_fini(&b);
}

/* ---- the id --------------------------------------------------------- */

/* The id as warning.h defines it, hashed here over one buffer. */
static void id_by_hand(const char *channel, const char *other, const char *account,
		       const char *category, const char *event, char out[33])
{
	uint8_t buf[512], h[32];
	size_t n = 0;
	const char *parts[] = { "afgw-warning-id-v1", channel, other, account, category };
	for (size_t i = 0; i < 5; i++) {
		size_t l = strlen(parts[i]) + 1; /* with its NUL */
		memcpy(buf + n, parts[i], l);
		n += l;
	}
	memcpy(buf + n, event, strlen(event));
	n += strlen(event);
	crypto_generichash(h, sizeof(h), buf, n, NULL, 0);
	sodium_bin2hex(out, 33, h, 16);
}

static void test_id(void)
{
	struct afgw_warning w, v;
	char want[33];
	call_warning(&w);
	afgw_warning_make_id(&w, 1795255200123456ull);
	id_by_hand("call", "+8617012345678", "app-0001", "impersonate_police", "1795255200123456",
		   want);
	CHECK_CSTR(w.id, want);
	CHECK_INT(strlen(w.id), 32);

	/* the same inputs, the same id; other fields do not count */
	v = w;
	v.score = 3;
	v.ts = 0;
	v.ruleset = 99;
	v.n_reasons = 0;
	v.action = AFGW_WARN;
	SET(v.gateway, gw2->id);
	afgw_warning_make_id(&v, 1795255200123456ull);
	CHECK_CSTR(v.id, w.id);

	/* any field that counts changed: another id */
	char ids[8][33];
	int k = 0;
	v = w;
	v.channel = AFGW_WARNING_SMS;
	afgw_warning_make_id(&v, 1795255200123456ull);
	memcpy(ids[k++], v.id, 33);
	id_by_hand("sms", "+8617012345678", "app-0001", "impersonate_police", "1795255200123456",
		   want);
	CHECK_CSTR(v.id, want);
	v = w;
	SET(v.other, "+8617012345679");
	afgw_warning_make_id(&v, 1795255200123456ull);
	memcpy(ids[k++], v.id, 33);
	v = w;
	SET(v.account, "app-0002");
	afgw_warning_make_id(&v, 1795255200123456ull);
	memcpy(ids[k++], v.id, 33);
	v = w;
	SET(v.category, "fake_cs");
	afgw_warning_make_id(&v, 1795255200123456ull);
	memcpy(ids[k++], v.id, 33);
	v = w;
	afgw_warning_make_id(&v, 1795255200123457ull);
	memcpy(ids[k++], v.id, 33);
	/* the separators matter: "+86170123456" "78app-0001" is not the same */
	v = w;
	SET(v.other, "+8617012345678app");
	SET(v.account, "-0001");
	afgw_warning_make_id(&v, 1795255200123456ull);
	memcpy(ids[k++], v.id, 33);
	/* look-back: the event is the blacklisting's time in seconds */
	v = w;
	v.channel = AFGW_WARNING_LOOKBACK;
	afgw_warning_make_id(&v, 1795255200);
	memcpy(ids[k++], v.id, 33);
	id_by_hand("lookback", "+8617012345678", "app-0001", "impersonate_police", "1795255200",
		   want);
	CHECK_CSTR(v.id, want);
	v = w;
	afgw_warning_make_id(&v, 0);
	memcpy(ids[k++], v.id, 33);
	id_by_hand("call", "+8617012345678", "app-0001", "impersonate_police", "0", want);
	CHECK_CSTR(v.id, want);
	for (int i = 0; i < k; i++) {
		CHECK(strcmp(ids[i], w.id) != 0);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(ids[i], ids[j]) != 0);
	}
	/* the largest event */
	afgw_warning_make_id(&v, UINT64_MAX);
	id_by_hand("call", "+8617012345678", "app-0001", "impersonate_police",
		   "18446744073709551615", want);
	CHECK_CSTR(v.id, want);
}

/* ---- seal and open -------------------------------------------------- */

static uint8_t sealed[AFGW_WARNING_SEALED_MAX + 64];
static char opened[AFGW_WARNING_JSON_MAX + 1];

/* Open with app's key, trusting gw2 and gw; json untouched on failure. */
static enum afgw_warning_open_error open_as(const struct afgw_box_key *k, const uint8_t *p,
					    size_t n, size_t *jlen, char signer[AFGW_KEY_ID_HEX])
{
	const struct afgw_sign_pub trusted[2] = { gw2_pub, gw_pub };
	memset(opened, '#', sizeof(opened));
	enum afgw_warning_open_error e =
		afgw_warning_open(k, trusted, 2, p, n, opened, sizeof(opened), jlen, signer);
	if (e != AFGW_WARNING_OK) {
		for (size_t i = 0; i < sizeof(opened); i++)
			if (opened[i] != '#')
				return (enum afgw_warning_open_error)99; /* wrote json on failure */
	}
	return e;
}

/*
 * The signed form built by hand as warning.h documents it, sealed to
 * app's key: "AFW1" | raw id | signature by signer over
 * "AFW1" | raw id | signed_json | json.
 */
static size_t forge(const char *magic, const char *id_hex, const uint8_t *signer_sk,
		    const char *signed_json, size_t signed_len, const char *json, size_t len,
		    uint8_t *out)
{
	static uint8_t tbs[AFGW_WARNING_HEADER + AFGW_WARNING_JSON_MAX + 16];
	static uint8_t m[AFGW_WARNING_HEADER + AFGW_WARNING_JSON_MAX + 16];
	uint8_t id[8], sig[64];
	size_t idl;
	sodium_hex2bin(id, 8, id_hex, 16, NULL, &idl, NULL);
	memcpy(tbs, magic, 4);
	memcpy(tbs + 4, id, 8);
	memcpy(tbs + 12, signed_json, signed_len);
	crypto_sign_detached(sig, NULL, tbs, 12 + signed_len, signer_sk);
	memcpy(m, magic, 4);
	memcpy(m + 4, id, 8);
	memcpy(m + 12, sig, 64);
	memcpy(m + 76, json, len);
	crypto_box_seal(out, m, 76 + len, app->pk);
	return 76 + len + crypto_box_SEALBYTES;
}

static void test_seal_open(void)
{
	CHECK_INT(AFGW_WARNING_HEADER, 76);
	CHECK_INT(AFGW_WARNING_SEAL_OVERHEAD, 124);
	CHECK_INT(crypto_box_SEALBYTES, 48);

	struct afgw_warning w, back;
	struct afgw_jbuf b;
	afgw_jbuf_init(&b);
	call_warning(&w);
	afgw_warning_json(&w, &b);
	size_t n = 0, jl = 0;
	char signer[AFGW_KEY_ID_HEX];
	CHECK_INT(afgw_warning_seal(gw, app->pk, b.p, b.len, sealed, sizeof(sealed), &n), 0);
	CHECK_INT(n, b.len + AFGW_WARNING_SEAL_OVERHEAD);
	CHECK_INT(open_as(app, sealed, n, &jl, signer), AFGW_WARNING_OK);
	CHECK_INT(jl, b.len);
	CHECK(jl == b.len && memcmp(opened, b.p, jl) == 0 && opened[jl] == '\0');
	CHECK_CSTR(signer, gw->id);
	CHECK_INT(afgw_warning_parse(opened, jl, &back), 0);
	same_warning(&w, &back);
	/* NULL jlen / signer are fine; trusting only gw is enough */
	CHECK_INT(afgw_warning_open(app, &gw_pub, 1, sealed, n, opened, sizeof(opened), NULL, NULL),
		  AFGW_WARNING_OK);

	/* the JSON is not in the blob in clear */
	CHECK(memmem(sealed, n, "impersonate_police", 18) == NULL);

	/* sealing twice: two different blobs, one warning */
	static uint8_t again[AFGW_WARNING_SEALED_MAX];
	size_t n2 = 0;
	CHECK_INT(afgw_warning_seal(gw, app->pk, b.p, b.len, again, sizeof(again), &n2), 0);
	CHECK(n2 == n && memcmp(again, sealed, n) != 0);
	CHECK_INT(open_as(app, again, n2, &jl, signer), AFGW_WARNING_OK);
	CHECK(jl == b.len && memcmp(opened, b.p, jl) == 0);

	/* another account's key cannot open it */
	CHECK_INT(open_as(app2, sealed, n, &jl, signer), AFGW_WARNING_NOT_FOR_US);
	/* gateway 2's warning is trusted too, and says so */
	CHECK_INT(afgw_warning_seal(gw2, app->pk, b.p, b.len, again, sizeof(again), &n2), 0);
	CHECK_INT(open_as(app, again, n2, &jl, signer), AFGW_WARNING_OK);
	CHECK_CSTR(signer, gw2->id);
	/* ... but not by an app that trusts only gateway 1 */
	CHECK_INT(afgw_warning_open(app, &gw_pub, 1, again, n2, opened, sizeof(opened), &jl, signer),
		  AFGW_WARNING_UNKNOWN_KEY);
	CHECK_CSTR(signer, gw2->id); /* the key it was signed with, for the message */
	CHECK_INT(afgw_warning_open(app, NULL, 0, again, n2, opened, sizeof(opened), &jl, signer),
		  AFGW_WARNING_UNKNOWN_KEY);

	/* A small warning damaged at every byte, two ways: never opens */
	static const char small[] = "{\"v\":1}";
	CHECK_INT(afgw_warning_seal(gw, app->pk, small, 7, again, sizeof(again), &n2), 0);
	CHECK_INT(n2, 7 + 124);
	unsigned opened_ok = 0, wrong = 0;
	for (size_t i = 0; i < n2; i++) {
		for (int f = 0; f < 2; f++) {
			uint8_t x = f ? 0x80 : 0x01;
			again[i] ^= x;
			enum afgw_warning_open_error e = open_as(app, again, n2, &jl, signer);
			again[i] ^= x;
			if (e == AFGW_WARNING_OK)
				opened_ok++;
			if (e != AFGW_WARNING_NOT_FOR_US)
				wrong++;
		}
	}
	CHECK_INT(opened_ok, 0);
	CHECK_INT(wrong, 0);
	CHECK_INT(open_as(app, again, n2, &jl, signer), AFGW_WARNING_OK); /* undamaged */
	/* ... and cut at every length */
	for (size_t cut = 0; cut < n2; cut++)
		CHECK_INT(open_as(app, again, cut, &jl, signer), AFGW_WARNING_NOT_FOR_US);

	/* Built by hand to the documented format: opens (the format is the contract) */
	size_t fn = forge("AFW1", gw->id, gw->sk, b.p, b.len, b.p, b.len, again);
	CHECK_INT(open_as(app, again, fn, &jl, signer), AFGW_WARNING_OK);
	CHECK(jl == b.len && memcmp(opened, b.p, jl) == 0);

	/* An attacker's valid seal around a signature of another key under
	 * the gateway's key id: bad signature */
	uint8_t evil_pk[32], evil_sk[64];
	crypto_sign_keypair(evil_pk, evil_sk);
	fn = forge("AFW1", gw->id, evil_sk, b.p, b.len, b.p, b.len, again);
	CHECK_INT(open_as(app, again, fn, &jl, signer), AFGW_WARNING_BAD_SIGNATURE);
	CHECK_CSTR(signer, gw->id);
	/* ... of gateway 2 under gateway 1's id */
	fn = forge("AFW1", gw->id, gw2->sk, b.p, b.len, b.p, b.len, again);
	CHECK_INT(open_as(app, again, fn, &jl, signer), AFGW_WARNING_BAD_SIGNATURE);
	/* the right key, but the JSON changed after signing (score 87 -> 17) */
	char changed[4096];
	memcpy(changed, b.p, b.len);
	char *sc = strstr(changed, "\"score\":87");
	CHECK(sc != NULL);
	if (sc)
		sc[8] = '1';
	fn = forge("AFW1", gw->id, gw->sk, b.p, b.len, changed, b.len, again);
	CHECK_INT(open_as(app, again, fn, &jl, signer), AFGW_WARNING_BAD_SIGNATURE);
	/* the right key over the JSON alone, without the magic and id: the
	 * signature binds the header too */
	{
		static uint8_t m[AFGW_WARNING_HEADER + AFGW_WARNING_JSON_MAX];
		uint8_t id[8], sig[64];
		size_t idl;
		sodium_hex2bin(id, 8, gw->id, 16, NULL, &idl, NULL);
		crypto_sign_detached(sig, NULL, (const uint8_t *)b.p, b.len, gw->sk);
		memcpy(m, "AFW1", 4);
		memcpy(m + 4, id, 8);
		memcpy(m + 12, sig, 64);
		memcpy(m + 76, b.p, b.len);
		crypto_box_seal(again, m, 76 + b.len, app->pk);
		CHECK_INT(open_as(app, again, 76 + b.len + 48, &jl, signer),
			  AFGW_WARNING_BAD_SIGNATURE);
	}
	/* a signature made under another magic, presented as AFW1 */
	{
		static uint8_t m[AFGW_WARNING_HEADER + AFGW_WARNING_JSON_MAX];
		static uint8_t tbs[AFGW_WARNING_HEADER + AFGW_WARNING_JSON_MAX];
		uint8_t id[8], sig[64];
		size_t idl;
		sodium_hex2bin(id, 8, gw->id, 16, NULL, &idl, NULL);
		memcpy(tbs, "AFW0", 4);
		memcpy(tbs + 4, id, 8);
		memcpy(tbs + 12, b.p, b.len);
		crypto_sign_detached(sig, NULL, tbs, 12 + b.len, gw->sk);
		memcpy(m, "AFW1", 4);
		memcpy(m + 4, id, 8);
		memcpy(m + 12, sig, 64);
		memcpy(m + 76, b.p, b.len);
		crypto_box_seal(again, m, 76 + b.len, app->pk);
		CHECK_INT(open_as(app, again, 76 + b.len + 48, &jl, signer),
			  AFGW_WARNING_BAD_SIGNATURE);
	}
	/* an id nobody trusts, well signed by its key */
	fn = forge("AFW1", "00112233445566ff", evil_sk, b.p, b.len, b.p, b.len, again);
	CHECK_INT(open_as(app, again, fn, &jl, signer), AFGW_WARNING_UNKNOWN_KEY);
	CHECK_CSTR(signer, "00112233445566ff");
	/* gateway 1's key under gateway 2's id: the id picks gw2's key, which fails */
	fn = forge("AFW1", gw2->id, gw->sk, b.p, b.len, b.p, b.len, again);
	CHECK_INT(open_as(app, again, fn, &jl, signer), AFGW_WARNING_BAD_SIGNATURE);
	/* wrong magic, correctly signed under it */
	fn = forge("AFW2", gw->id, gw->sk, b.p, b.len, b.p, b.len, again);
	CHECK_INT(open_as(app, again, fn, &jl, signer), AFGW_WARNING_MALFORMED);
	fn = forge("afw1", gw->id, gw->sk, b.p, b.len, b.p, b.len, again);
	CHECK_INT(open_as(app, again, fn, &jl, signer), AFGW_WARNING_MALFORMED);

	/* Opened but too short: nothing after the header, or not even a header */
	fn = forge("AFW1", gw->id, gw->sk, "", 0, "", 0, again);
	CHECK_INT(fn, 124);
	CHECK_INT(open_as(app, again, fn, &jl, signer), AFGW_WARNING_MALFORMED);
	/* one byte of JSON is the least */
	fn = forge("AFW1", gw->id, gw->sk, "x", 1, "x", 1, again);
	CHECK_INT(open_as(app, again, fn, &jl, signer), AFGW_WARNING_OK);
	CHECK_INT(jl, 1);
	for (size_t plain = 0; plain < AFGW_WARNING_HEADER; plain += 5) {
		uint8_t m[AFGW_WARNING_HEADER];
		memset(m, 0, sizeof(m));
		memcpy(m, "AFW1", plain < 4 ? plain : 4);
		crypto_box_seal(again, m, plain, app->pk);
		CHECK_INT(open_as(app, again, plain + 48, &jl, signer), AFGW_WARNING_MALFORMED);
	}
	/* Not even a seal: NOT_FOR_US */
	uint8_t zeros[200] = { 0 };
	for (size_t k = 0; k < 200; k += 7)
		CHECK_INT(open_as(app, zeros, k, &jl, signer), AFGW_WARNING_NOT_FOR_US);
	CHECK_INT(open_as(app, NULL, 0, &jl, signer), AFGW_WARNING_NOT_FOR_US);

	/* The largest warning: JSON_MAX bytes seal and open; one more does not seal */
	static char big[AFGW_WARNING_JSON_MAX + 2];
	memset(big, ' ', sizeof(big));
	memcpy(big, b.p, b.len);
	CHECK_INT(afgw_warning_seal(gw, app->pk, big, AFGW_WARNING_JSON_MAX, sealed, sizeof(sealed),
				    &n),
		  0);
	CHECK_INT(n, AFGW_WARNING_SEALED_MAX);
	CHECK_INT(open_as(app, sealed, n, &jl, signer), AFGW_WARNING_OK);
	CHECK_INT(jl, AFGW_WARNING_JSON_MAX);
	/* the caller's buffer one byte short: refused, untouched */
	memset(opened, '#', sizeof(opened));
	CHECK_INT(afgw_warning_open(app, &gw_pub, 1, sealed, n, opened, AFGW_WARNING_JSON_MAX, &jl,
				    signer),
		  AFGW_WARNING_MALFORMED);
	CHECK(opened[0] == '#' && opened[AFGW_WARNING_JSON_MAX - 1] == '#');
	/* over the limit by hand: refused without opening */
	fn = forge("AFW1", gw->id, gw->sk, big, AFGW_WARNING_JSON_MAX + 1, big,
		   AFGW_WARNING_JSON_MAX + 1, sealed);
	CHECK_INT(fn, AFGW_WARNING_SEALED_MAX + 1);
	CHECK_INT(open_as(app, sealed, fn, &jl, signer), AFGW_WARNING_MALFORMED);

	/* Seal's limits: nothing written when refused */
	memset(sealed, 0xa5, sizeof(sealed));
	n = 12345;
	CHECK_INT(afgw_warning_seal(gw, app->pk, big, AFGW_WARNING_JSON_MAX + 1, sealed,
				    sizeof(sealed), &n),
		  -EINVAL);
	CHECK_INT(afgw_warning_seal(gw, app->pk, big, 0, sealed, sizeof(sealed), &n), -EINVAL);
	CHECK_INT(afgw_warning_seal(gw, app->pk, b.p, b.len, sealed, b.len + 123, &n), -EINVAL);
	CHECK(sealed[0] == 0xa5 && sealed[b.len] == 0xa5 && n == 12345);
	CHECK_INT(afgw_warning_seal(gw, app->pk, b.p, b.len, sealed, b.len + 124, &n), 0);
	/* a public key that is a low-order point cannot be sealed to */
	uint8_t zero_pk[32] = { 0 };
	CHECK_INT(afgw_warning_seal(gw, zero_pk, b.p, b.len, sealed, sizeof(sealed), &n), -EIO);

	CHECK_CSTR(afgw_warning_open_error_name(AFGW_WARNING_OK), "ok");
	CHECK_CSTR(afgw_warning_open_error_name(AFGW_WARNING_NOT_FOR_US), "not_for_us");
	CHECK_CSTR(afgw_warning_open_error_name(AFGW_WARNING_MALFORMED), "malformed");
	CHECK_CSTR(afgw_warning_open_error_name(AFGW_WARNING_UNKNOWN_KEY), "unknown_key");
	CHECK_CSTR(afgw_warning_open_error_name(AFGW_WARNING_BAD_SIGNATURE), "bad_signature");
	CHECK_CSTR(afgw_warning_channel_name(AFGW_WARNING_CALL), "call");
	CHECK_CSTR(afgw_warning_channel_name(AFGW_WARNING_SMS), "sms");
	CHECK_CSTR(afgw_warning_channel_name(AFGW_WARNING_LOOKBACK), "lookback");
	afgw_jbuf_fini(&b);
}

static void remove_dir(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	char p[512];
	while (dp && (e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		unlink(p);
	}
	if (dp)
		closedir(dp);
	rmdir(d);
}

int main(void)
{
	if (afgw_keys_init() != 0)
		return 1;
	snprintf(dir, sizeof(dir), "/tmp/afgw-warning-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	make_keys();
	test_advice();
	test_json();
	test_parse_rejects();
	test_id();
	test_seal_open();
	afgw_sign_key_free(gw);
	afgw_sign_key_free(gw2);
	afgw_box_key_free(app);
	afgw_box_key_free(app2);
	remove_dir(dir);
	return check_report();
}
