/*
 * score.h - the verdict: rule hits, reputation and behaviour combined into
 * a score 0-100, an action and the reasons for it.  gateway/score.c, a
 * pure function of its inputs (no state, no clock, no I/O), so that it
 * can be tested exhaustively.
 *
 * Combining (the essay is next to afgw_score in score.c): allow-listed and
 * emergency numbers are always "allow"; otherwise the content score of the
 * match stage, the reputation of the caller / sender and each behaviour
 * flag are independent pieces of evidence, each a probability-like figure
 * s/100, joined by a noisy OR: score = 100 * (1 - prod(1 - s_i/100)).
 * The action is "block" at or above the block threshold, "warn" at or
 * above the warn threshold, else "allow".
 */
#ifndef AFGW_SCORE_H
#define AFGW_SCORE_H

#include "afgw/behaviour.h"
#include "afgw/config.h"
#include "afgw/json.h"
#include "afgw/reputation.h"

#define AFGW_SCORE_REASONS_MAX 24

enum afgw_action { AFGW_ALLOW, AFGW_WARN, AFGW_BLOCK };

/* One content rule that hit (the match stage's hits, reduced to what a
 * reason needs; strings borrowed from the ruleset). */
struct afgw_score_hit {
	const char *id;
	const char *category;
	int weight;
};

struct afgw_score_input {
	int content;                        /* the match stage's score, 0..100 */
	const struct afgw_score_hit *hits;  /* listed as reasons, in order */
	unsigned n_hits;
	const struct afgw_rep_result *rep;  /* caller / sender; NULL: not looked up */
	unsigned bh_flags;                  /* AFGW_BH_* */
	uint64_t ruleset;                   /* serial of the ruleset that scanned */
};

struct afgw_reason {
	const char *source;                 /* "rule", "reputation", "behaviour", "allowlist" */
	const char *id;                     /* rule id, "blacklist", "graylist", "reports",
	                                       "mass_calling", ..., "emergency", "allowlist" */
	const char *category;               /* borrowed from the inputs */
	int weight;
};

struct afgw_verdict {
	enum afgw_action action;
	int score;
	uint64_t ruleset;
	unsigned n_reasons;
	unsigned dropped;                   /* reasons beyond AFGW_SCORE_REASONS_MAX */
	struct afgw_reason reason[AFGW_SCORE_REASONS_MAX];
};

/*
 * The verdict for one message under the thresholds and weights of sc.
 * Reasons borrow strings from in (and from in->rep), so *out is valid as
 * long as they are.
 */
void afgw_score(const struct afgw_config_score *sc, const struct afgw_score_input *in,
		struct afgw_verdict *out);

const char *afgw_action_name(enum afgw_action a);

/* Write "verdict":{action, score, reasons[{source,id,category,weight}],
 * ruleset} as a key and value into an open JSON object. */
void afgw_verdict_json(struct afgw_jbuf *b, const struct afgw_verdict *v);

#endif
