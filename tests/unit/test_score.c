/*
 * test_score.c - the verdict function (score.c), exhaustively where it
 * can be: every content score against every reputation score and every
 * behaviour flag set, checked against the noisy-OR written out here a
 * second way (integer arithmetic on the complements), plus the allow
 * lists, thresholds, reason order and the verdict JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "afgw/config.h"
#include "afgw/score.h"
#include "check.h"

static void defaults(struct afgw_config_score *sc)
{
	struct afgw_config cfg;
	afgw_config_default(&cfg);
	*sc = cfg.score;
}

/* The combining rule computed independently: complements multiplied in
 * parts per 10^8, rounded half up. */
static int expected_score(int content, int rep, unsigned flags, const struct afgw_config_score *sc)
{
	long long keep = 100000000; /* 1.0 */
	int s[6] = { content, rep, 0, 0, 0, 0 };
	const int w[4] = { sc->mass_calling, sc->wangiri, sc->sms_fanout, sc->call_and_sms };
	for (int b = 0; b < 4; b++)
		if (flags & (1u << b))
			s[2 + b] = w[b];
	for (int i = 0; i < 6; i++)
		keep = keep * (100 - s[i]) / 100;
	long long score100 = 100000000 - keep; /* score * 10^6 */
	return (int)((score100 + 500000) / 1000000);
}

static void test_exhaustive(void)
{
	struct afgw_config_score sc;
	defaults(&sc);
	unsigned mismatches = 0, checked = 0;
	for (int content = 0; content <= 100; content++) {
		for (int rs = 0; rs <= 100; rs += 1) {
			for (unsigned flags = 0; flags < 16; flags++) {
				struct afgw_rep_result rep;
				memset(&rep, 0, sizeof(rep));
				rep.list = rs ? AFGW_REP_BLACK : AFGW_REP_NONE;
				rep.score = rs;
				memcpy(rep.category, "investment", 11);
				struct afgw_score_input in = { .content = content,
							       .rep = &rep,
							       .bh_flags = flags,
							       .ruleset = 7 };
				struct afgw_verdict v;
				afgw_score(&sc, &in, &v);
				int want = expected_score(content, rs, flags, &sc);
				/* floating point and the integer version may differ by one at .5 */
				if (v.score < want - 1 || v.score > want + 1)
					mismatches++;
				enum afgw_action a = v.score >= sc.block  ? AFGW_BLOCK
						     : v.score >= sc.warn ? AFGW_WARN
									  : AFGW_ALLOW;
				if (v.action != a || v.ruleset != 7)
					mismatches++;
				/* monotone: more evidence never lowers the score */
				if (v.score < content || v.score < rs)
					mismatches++;
				checked++;
			}
		}
	}
	CHECK_INT(mismatches, 0);
	CHECK(checked == 101u * 101u * 16u);
}

static void test_allow(void)
{
	struct afgw_config_score sc;
	defaults(&sc);
	struct afgw_score_hit hits[2] = { { "zh.police.safe_account", "police", 90 },
					  { "zh.common.transfer", "common", 30 } };
	struct afgw_rep_result rep;
	struct afgw_verdict v;

	/* emergency number with fraud text: allow, hits still listed */
	memset(&rep, 0, sizeof(rep));
	rep.emergency = true;
	struct afgw_score_input in = { .content = 95, .hits = hits, .n_hits = 2, .rep = &rep,
				       .bh_flags = AFGW_BH_WANGIRI };
	afgw_score(&sc, &in, &v);
	CHECK_INT(v.action, AFGW_ALLOW);
	CHECK_INT(v.score, 0);
	CHECK_CSTR(v.reason[0].source, "allowlist");
	CHECK_CSTR(v.reason[0].id, "emergency");
	CHECK_CSTR(v.reason[1].id, "zh.police.safe_account");
	CHECK_INT(v.n_reasons, 4);

	/* configured allow list */
	memset(&rep, 0, sizeof(rep));
	rep.allow_config = true;
	afgw_score(&sc, &in, &v);
	CHECK_INT(v.action, AFGW_ALLOW);
	CHECK_CSTR(v.reason[0].id, "config");

	/* allow entry in the reputation table */
	memset(&rep, 0, sizeof(rep));
	rep.list = AFGW_REP_ALLOW;
	afgw_score(&sc, &in, &v);
	CHECK_INT(v.action, AFGW_ALLOW);
	CHECK_CSTR(v.reason[0].id, "allowlist");

	/* without the allow list the same input blocks */
	in.rep = NULL;
	afgw_score(&sc, &in, &v);
	CHECK_INT(v.action, AFGW_BLOCK);
	CHECK_CSTR(v.reason[0].source, "rule");
}

static void test_reasons(void)
{
	struct afgw_config_score sc;
	defaults(&sc);
	struct afgw_rep_result rep;
	memset(&rep, 0, sizeof(rep));
	rep.list = AFGW_REP_GRAY;
	rep.score = 60;
	rep.report_score = 40;
	rep.reports = 2;
	memcpy(rep.category, "loan", 5);
	struct afgw_score_hit hit = { "zh.loan.no_credit_check", "loan", 40 };
	struct afgw_score_input in = { .content = 40, .hits = &hit, .n_hits = 1, .rep = &rep,
				       .bh_flags = AFGW_BH_MASS_CALLING | AFGW_BH_CALL_AND_SMS };
	struct afgw_verdict v;
	afgw_score(&sc, &in, &v);
	CHECK_INT(v.n_reasons, 5);
	CHECK_CSTR(v.reason[0].source, "rule");
	CHECK_CSTR(v.reason[1].id, "graylist");
	CHECK_INT(v.reason[1].weight, 60);
	CHECK_CSTR(v.reason[2].id, "reports");
	CHECK_INT(v.reason[2].weight, 40);
	CHECK_CSTR(v.reason[3].id, "mass_calling");
	CHECK_CSTR(v.reason[4].id, "call_and_sms");
	CHECK_INT(v.action, AFGW_BLOCK);

	/* nothing at all: allow with no reasons */
	struct afgw_score_input none = { 0 };
	afgw_score(&sc, &none, &v);
	CHECK_INT(v.action, AFGW_ALLOW);
	CHECK_INT(v.score, 0);
	CHECK_INT(v.n_reasons, 0);

	/* thresholds are the config's */
	sc.warn = 30;
	sc.block = 35;
	struct afgw_score_input weak = { .content = 32 };
	afgw_score(&sc, &weak, &v);
	CHECK_INT(v.action, AFGW_WARN);
	weak.content = 35;
	afgw_score(&sc, &weak, &v);
	CHECK_INT(v.action, AFGW_BLOCK);

	/* too many hits: the rest are counted, not lost silently */
	struct afgw_score_hit many[40];
	for (int i = 0; i < 40; i++)
		many[i] = (struct afgw_score_hit){ "r", "c", 1 };
	struct afgw_score_input lots = { .content = 10, .hits = many, .n_hits = 40 };
	afgw_score(&sc, &lots, &v);
	CHECK_INT(v.n_reasons, AFGW_SCORE_REASONS_MAX);
	CHECK_INT(v.dropped, 40 - AFGW_SCORE_REASONS_MAX);

	/* ... and a full list keeps the weightiest: a blacklisting after 40
	 * light rule hits is still among the reasons, a lighter hit is not */
	struct afgw_rep_result bl;
	memset(&bl, 0, sizeof(bl));
	bl.list = AFGW_REP_BLACK;
	bl.score = 90;
	memcpy(bl.category, "police", 7);
	many[39] = (struct afgw_score_hit){ "heavy", "c", 30 };
	lots.rep = &bl;
	afgw_score(&sc, &lots, &v);
	CHECK_INT(v.n_reasons, AFGW_SCORE_REASONS_MAX);
	bool have_rep = false, have_heavy = false;
	unsigned light = 0;
	for (unsigned i = 0; i < v.n_reasons; i++) {
		have_rep |= !strcmp(v.reason[i].source, "reputation");
		have_heavy |= !strcmp(v.reason[i].id, "heavy");
		light += v.reason[i].weight == 1;
	}
	CHECK(have_rep);
	CHECK(have_heavy);
	CHECK_INT(light, AFGW_SCORE_REASONS_MAX - 2);
	CHECK_INT(v.dropped, 41 - AFGW_SCORE_REASONS_MAX);
}

/* v's verdict JSON in an object, after a "ts" key when after_key; NUL-terminated in b. */
static void render(struct afgw_jbuf *b, const struct afgw_verdict *v, bool after_key)
{
	afgw_jbuf_reset(b);
	afgw_json_obj_begin(b);
	if (after_key) {
		afgw_json_key(b, "ts");
		afgw_json_int(b, 1);
	}
	afgw_verdict_json(b, v);
	afgw_json_obj_end(b);
	afgw_json_raw(b, "", 1);
}

static void test_json(void)
{
	struct afgw_config_score sc;
	defaults(&sc);
	struct afgw_rep_result rep;
	memset(&rep, 0, sizeof(rep));
	rep.list = AFGW_REP_BLACK;
	rep.score = 90;
	memcpy(rep.category, "police", 7);
	struct afgw_score_input in = { .content = 0, .rep = &rep, .ruleset = 3 };
	struct afgw_verdict v;
	afgw_score(&sc, &in, &v);
	struct afgw_jbuf b;
	afgw_jbuf_init(&b);
	render(&b, &v, false);
	CHECK_CSTR(b.p, "{\"verdict\":{\"action\":\"block\",\"score\":90,\"reasons\":[{\"source\":"
		       "\"reputation\",\"id\":\"blacklist\",\"category\":\"police\",\"weight\":90}],"
		       "\"ruleset\":3}}");

	/* After another key; reasons of every kind, a quote in a category, no category,
	 * a negative weight, the largest serial */
	struct afgw_verdict w = { .action = AFGW_WARN, .score = 55, .ruleset = UINT64_MAX };
	w.reason[w.n_reasons++] = (struct afgw_reason){ "rule", "zh.police.safe_account",
							"impersonate_\"police", 40 };
	w.reason[w.n_reasons++] = (struct afgw_reason){ "rule", "ctx.zh.bank_code", NULL, -20 };
	w.reason[w.n_reasons++] = (struct afgw_reason){ "behaviour", "wangiri", "", 35 };
	render(&b, &w, true);
	CHECK_CSTR(b.p, "{\"ts\":1,\"verdict\":{\"action\":\"warn\",\"score\":55,\"reasons\":["
		       "{\"source\":\"rule\",\"id\":\"zh.police.safe_account\",\"category\":"
		       "\"impersonate_\\\"police\",\"weight\":40},"
		       "{\"source\":\"rule\",\"id\":\"ctx.zh.bank_code\",\"category\":\"\",\"weight\":-20},"
		       "{\"source\":\"behaviour\",\"id\":\"wangiri\",\"category\":\"\",\"weight\":35}],"
		       "\"ruleset\":18446744073709551615}}");

	/* allow, no reasons */
	struct afgw_verdict a = { .action = AFGW_ALLOW, .score = 0, .ruleset = 0 };
	render(&b, &a, false);
	CHECK_CSTR(b.p, "{\"verdict\":{\"action\":\"allow\",\"score\":0,\"reasons\":[],"
		       "\"ruleset\":0}}");
	afgw_jbuf_fini(&b);
}

int main(void)
{
	test_exhaustive();
	test_allow();
	test_reasons();
	test_json();
	return check_report();
}
