/*
 * score.c - the verdict for one message (score.h): a pure function.
 *
 * Inputs: the content score and hits of the match stage (rule weights are
 * already combined there, rules/README.md "How weights combine"), the
 * reputation of the calling / sending number, and the behaviour flags.
 * Output: action, score and the reasons, in the order rule hits,
 * reputation, behaviour, so that a resident's warning can be written from
 * the first reason and an analyst can see everything.
 *
 * Nothing here allocates, reads a clock or keeps state.
 */
#include "afgw/score.h"

#include <math.h>
#include <string.h>

static const char *const action_names[] = { "allow", "warn", "block" };

const char *afgw_action_name(enum afgw_action a)
{
	return (unsigned)a < AFGW_ARRAY_SIZE(action_names) ? action_names[a] : "?";
}

static int iabs(int x)
{
	return x < 0 ? -x : x;
}

/*
 * A full list keeps the weightiest reasons: a new one takes the place of
 * the lightest (by absolute weight) when it weighs more, so that a text
 * hitting dozens of rules cannot push a blacklisting or a behaviour
 * reason (which come after the rules) out of the evidence.
 */
static void add_reason(struct afgw_verdict *v, const char *source, const char *id,
		       const char *category, int weight)
{
	struct afgw_reason *r;
	if (v->n_reasons == AFGW_SCORE_REASONS_MAX) {
		v->dropped++;
		unsigned light = 0;
		for (unsigned i = 1; i < v->n_reasons; i++)
			if (iabs(v->reason[i].weight) < iabs(v->reason[light].weight))
				light = i;
		if (iabs(v->reason[light].weight) >= iabs(weight))
			return;
		r = &v->reason[light];
	} else {
		r = &v->reason[v->n_reasons++];
	}
	r->source = source;
	r->id = id;
	r->category = category;
	r->weight = weight;
}

static int clamp100(int v)
{
	return v < 0 ? 0 : v > 100 ? 100 : v;
}

/*
 * Why a noisy OR.  The signals are different kinds of evidence about the
 * same question (is this contact fraud?): what the text says, what is
 * known about the number, how the number behaves.  Read each one as "the
 * chance it is fraud, on this evidence alone"; if they are independent,
 * the chance that all of them are wrong is the product of (1 - s_i), and
 * the score is its complement.  So one strong signal decides on its own
 * (a police blacklist entry of 90 blocks), two middling ones add up to
 * more than either (graylist 60 and Wangiri 70 make 88: block), and weak
 * signals never reach a threshold by repetition alone: each source counts
 * once.  Negative (genuine-context) rule weights are already inside the
 * content score.
 *
 * Allow-listed numbers (the built-in emergency and service numbers, the
 * configured list, and "allow" entries of the reputation table) are
 * never warned about or blocked, whatever the other signals say: DESIGN.md
 * §2, fail open.  Their rule hits are still listed, because a fraudster
 * spoofing 95588 with a phishing text is worth an analyst's attention.
 */
void afgw_score(const struct afgw_config_score *sc, const struct afgw_score_input *in,
		struct afgw_verdict *out)
{
	double keep = 1.0; /* product of (1 - s_i / 100) */
	const struct afgw_rep_result *rep = in->rep;

	memset(out, 0, sizeof(*out));
	out->ruleset = in->ruleset;

	bool allowed = rep && (rep->emergency || rep->allow_config || rep->list == AFGW_REP_ALLOW);
	if (allowed)
		add_reason(out, "allowlist",
			   rep->emergency ? "emergency" : rep->allow_config ? "config" : "allowlist",
			   rep->emergency ? "emergency" : "allow", 0);

	for (unsigned i = 0; i < in->n_hits; i++)
		add_reason(out, "rule", in->hits[i].id, in->hits[i].category, in->hits[i].weight);
	keep *= 1.0 - clamp100(in->content) / 100.0;

	if (rep && !allowed) {
		if ((rep->list == AFGW_REP_BLACK || rep->list == AFGW_REP_GRAY) && rep->score > 0) {
			add_reason(out, "reputation",
				   rep->list == AFGW_REP_BLACK ? "blacklist" : "graylist",
				   rep->category, rep->score);
			keep *= 1.0 - clamp100(rep->score) / 100.0;
		}
		if (rep->report_score > 0) {
			add_reason(out, "reputation", "reports", rep->category, rep->report_score);
			keep *= 1.0 - clamp100(rep->report_score) / 100.0;
		}
	}

	static const unsigned flags[] = { AFGW_BH_MASS_CALLING, AFGW_BH_WANGIRI,
					  AFGW_BH_SMS_FANOUT, AFGW_BH_CALL_AND_SMS };
	const int weights[] = { sc->mass_calling, sc->wangiri, sc->sms_fanout, sc->call_and_sms };
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(flags); i++) {
		if (!(in->bh_flags & flags[i]))
			continue;
		const char *name = afgw_behaviour_name(flags[i]);
		add_reason(out, "behaviour", name, name, weights[i]);
		if (!allowed)
			keep *= 1.0 - clamp100(weights[i]) / 100.0;
	}

	if (allowed) {
		out->score = 0;
		out->action = AFGW_ALLOW;
		return;
	}
	out->score = clamp100((int)lround(100.0 * (1.0 - keep)));
	out->action = out->score >= sc->block ? AFGW_BLOCK
		      : out->score >= sc->warn ? AFGW_WARN
					       : AFGW_ALLOW;
}

/* Appends the literal s at o; returns the end. */
#define PUT_LIT(o, s) (memcpy((o), (s), sizeof(s) - 1), (o) + sizeof(s) - 1)

/*
 * Written into one reservation of the buffer rather than value by value:
 * every message gets a verdict, so this runs a million times a second.
 */
void afgw_verdict_json(struct afgw_jbuf *b, const struct afgw_verdict *v)
{
	const char *action = afgw_action_name(v->action);
	size_t action_len = strlen(action);
	size_t need = 64 + action_len + 2 * AFGW_JSON_INT_MAX;
	for (unsigned i = 0; i < v->n_reasons; i++) {
		const struct afgw_reason *r = &v->reason[i];
		need += 48 + AFGW_JSON_INT_MAX + AFGW_JSON_STR_MAX(strlen(r->source)) +
			AFGW_JSON_STR_MAX(strlen(r->id)) +
			AFGW_JSON_STR_MAX(r->category ? strlen(r->category) : 0);
	}
	char *o = afgw_jbuf_room(b, need);
	if (!o)
		return;
	if (b->need_comma)
		*o++ = ',';
	o = PUT_LIT(o, "\"verdict\":{\"action\":\"");
	memcpy(o, action, action_len);
	o += action_len;
	o = PUT_LIT(o, "\",\"score\":");
	o = afgw_json_put_int(o, v->score);
	o = PUT_LIT(o, ",\"reasons\":[");
	for (unsigned i = 0; i < v->n_reasons; i++) {
		const struct afgw_reason *r = &v->reason[i];
		const char *cat = r->category ? r->category : "";
		if (i)
			*o++ = ',';
		o = PUT_LIT(o, "{\"source\":");
		o = afgw_json_put_str(o, r->source, strlen(r->source), false);
		o = PUT_LIT(o, ",\"id\":");
		o = afgw_json_put_str(o, r->id, strlen(r->id), false);
		o = PUT_LIT(o, ",\"category\":");
		o = afgw_json_put_str(o, cat, strlen(cat), false);
		o = PUT_LIT(o, ",\"weight\":");
		o = afgw_json_put_int(o, r->weight);
		*o++ = '}';
	}
	o = PUT_LIT(o, "],\"ruleset\":");
	o = afgw_json_put_uint(o, v->ruleset);
	*o++ = '}';
	b->len = (size_t)(o - b->p);
	b->need_comma = true;
}
