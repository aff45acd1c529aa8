/*
 * test_holdout.c - the default rule set on the held-out SMS set.
 *
 * tests/data/sms_holdout.tsv was written by someone who saw neither the
 * rules nor the tuning corpus (tests/data/README.md), so its figures are
 * the honest estimate of how the rules do on texts they were not written
 * against.  Prints recall and false-positive rate per category (score >=
 * AFGW_MATCH_WARN counts as caught / flagged).  Nobody tunes rules on
 * these texts; the floors below only stop a regression.
 * AFGW_EVAL_VERBOSE=1 lists nothing here on purpose: looking at the
 * misses would make the set less held out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afgw_config.h"
#include "afgw/match.h"
#include "check.h"
#include "corpus.h"

#ifndef AFGW_TESTS_DIR
#define AFGW_TESTS_DIR AFGW_SOURCE_DIR "/tests"
#endif

/* Reached when written (256 rules): recall 80.5 %, false positives 2.9 %;
 * with 291 rules (session 3): 82.2 % and 1.8 %.  Floors a little under the
 * latter, to catch regressions only.  Targets of the issue: 90 % and 1 %. */
#define FLOOR_RECALL 81.0
#define CEIL_FP 2.4

#define CATS 40

struct cat {
	char name[40];
	bool fraud;
	unsigned n, hit;
};

static struct cat cats[CATS];
static unsigned n_cats;

static struct cat *cat_of(const char *name, bool fraud)
{
	for (unsigned i = 0; i < n_cats; i++)
		if (!strcmp(cats[i].name, name))
			return &cats[i];
	if (n_cats == CATS)
		return NULL;
	struct cat *c = &cats[n_cats++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->fraud = fraud;
	return c;
}

int main(void)
{
	struct afgw_rules rules;
	struct afgw_rules_diag d;
	struct afgw_ruleset *rs = NULL;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	int rc = afgw_rules_load_dir(&rules, AFGW_SOURCE_DIR "/rules/default", &d);
	if (rc == 0)
		rc = afgw_ruleset_new(&rules, 1, &d, &rs);
	afgw_rules_fini(&rules);
	afgw_rules_diag_fini(&d);
	CHECK_INT(rc, 0);
	if (rc)
		return check_report();
	struct afgw_match_worker *w = NULL;
	CHECK_INT(afgw_match_worker_new(rs, 86, &w), 0);
	FILE *f = fopen(AFGW_TESTS_DIR "/data/sms_holdout.tsv", "r");
	CHECK(f != NULL);
	if (!f || !w) {
		afgw_match_worker_free(w);
		afgw_ruleset_free(rs);
		return check_report();
	}

	static struct afgw_match_result res;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned n[2] = { 0, 0 }, hit[2] = { 0, 0 }, bad = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		char *field[5];
		char *p = line;
		int k;
		for (k = 0; k < 5 && p; k++) {
			field[k] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = '\0';
		}
		if (k != 5 || p) {
			bad++;
			continue;
		}
		bool fraud = !strcmp(field[1], "fraud");
		size_t tl = corpus_unescape(field[4], strlen(field[4]));
		struct afgw_match_msg m = { { field[4], tl }, { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
		if (afgw_match_scan(w, &m, &res) != 0) {
			bad++;
			continue;
		}
		bool flagged = res.score >= AFGW_MATCH_WARN;
		struct cat *c = cat_of(field[2], fraud);
		if (c) {
			c->n++;
			c->hit += flagged;
		}
		n[fraud]++;
		hit[fraud] += flagged;
	}
	free(line);
	fclose(f);

	printf("held-out set: %u fraud, %u legitimate texts\n", n[1], n[0]);
	printf("  %-20s %4s  %s\n", "category", "n", "caught / flagged");
	for (unsigned i = 0; i < n_cats; i++)
		printf("  %-20s %4u  %5.1f%%  %s\n", cats[i].name, cats[i].n,
		       100.0 * cats[i].hit / (cats[i].n ? cats[i].n : 1),
		       cats[i].fraud ? "caught" : "flagged (false positives)");
	double recall = 100.0 * hit[1] / (n[1] ? n[1] : 1);
	double fp = 100.0 * hit[0] / (n[0] ? n[0] : 1);
	printf("held-out: recall %.1f%% (%u/%u), false positives %.1f%% (%u/%u)\n", recall, hit[1],
	       n[1], fp, hit[0], n[0]);
	CHECK_INT(bad, 0);
	CHECK(n[1] > 300 && n[0] > 300);
	CHECK(recall >= FLOOR_RECALL);
	CHECK(fp <= CEIL_FP);

	afgw_match_worker_free(w);
	afgw_ruleset_free(rs);
	return check_report();
}
