/*
 * bench_match.c - messages per second through the match stage.
 *
 * Texts: every SMS of tests/data/sms_corpus.tsv, repeated to N messages
 * (default 300,000).  Rule sets: none (what normalization and extraction
 * alone cost), the default set (rules/default) and
 * synthetic sets of 100, 1,000 and 10,000 text rules made by a seeded
 * generator from fraud-like and everyday Chinese and English words (80 %
 * literals, 20 % regexes with a short gap or an alternation).  For each
 * set it prints:
 *
 *   stage    afgw_match_scan(): normalize + extract + scan every kind + score
 *   raw      the bare hs_scan of the same database over the texts normalized
 *            beforehand (afgw_match_scan_normalized): the limit
 *   pcre2    the same expressions compiled with PCRE2 and JIT, one
 *            pcre2_jit_match per pattern per normalized text: the naive way
 *
 * and the ratios stage/raw and stage/pcre2.  PCRE2 runs over as many
 * messages as fit in about 3 seconds.  A benchmark prints, it never fails
 * on a figure.  Usage: bench_match [MESSAGES] [--sets 100,1000,...]
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcre2.h>

#include "afgw_config.h"
#include "afgw/match.h"
#include "afgw/normalize.h"
#include "../../tests/unit/corpus.h"

struct text {
	char *p;
	size_t n;
};

static struct text *texts, *norm;
static size_t n_texts;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "bench_match: out of memory\n");
		exit(1);
	}
	return p;
}

static void load_texts(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "bench_match: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	char *line = NULL;
	size_t cap = 0, tcap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) >= 0) {
		size_t len;
		char *t = corpus_text(line, &len);
		if (!t)
			continue;
		if (n_texts == tcap) {
			tcap = tcap ? tcap * 2 : 1024;
			texts = realloc(texts, tcap * sizeof(*texts));
			if (!texts)
				exit(1);
		}
		char *p = xmalloc(len + 1);
		memcpy(p, t, len + 1);
		texts[n_texts].n = len;
		texts[n_texts].p = p;
		n_texts++;
	}
	free(line);
	fclose(f);
	norm = xmalloc(n_texts * sizeof(*norm));
	struct afgw_norm_buf b;
	afgw_norm_buf_init(&b);
	for (size_t i = 0; i < n_texts; i++) {
		if (afgw_normalize(texts[i].p, texts[i].n, AFGW_NORM_ALL, &b) < 0)
			exit(1);
		norm[i].p = xmalloc(b.len + 1);
		memcpy(norm[i].p, b.text, b.len + 1);
		norm[i].n = b.len;
	}
	afgw_norm_buf_fini(&b);
}

/* ---- synthetic rules --------------------------------------------------- */

#include "../synth_rules.h"

/* ---- the three loops --------------------------------------------------- */

static double run_stage(struct afgw_match_worker *w, size_t msgs, uint64_t *hits)
{
	static struct afgw_match_result res;
	struct afgw_match_msg m;
	memset(&m, 0, sizeof(m));
	m.sender = AFGW_STR_LIT("+8613800138000");
	double t0 = now();
	for (size_t i = 0; i < msgs; i++) {
		const struct text *t = &texts[i % n_texts];
		m.text = afgw_str_make(t->p, t->n);
		if (afgw_match_scan(w, &m, &res) == 0)
			*hits += res.n_hits + res.dropped;
	}
	return now() - t0;
}

static double run_raw(struct afgw_match_worker *w, size_t msgs, uint64_t *hits)
{
	double t0 = now();
	for (size_t i = 0; i < msgs; i++) {
		const struct text *t = &norm[i % n_texts];
		int r = afgw_match_scan_normalized(w, t->p, t->n);
		if (r > 0)
			*hits += (uint64_t)r;
	}
	return now() - t0;
}

/* PCRE2-JIT over as many messages as fit in `budget` seconds; returns msg/s. */
static double run_pcre2(const struct afgw_ruleset *rs, double budget, size_t *done,
			double *compile_s)
{
	size_t n = afgw_ruleset_count(rs), k = 0;
	pcre2_code **code = xmalloc(n * sizeof(*code));
	double t0 = now();
	for (size_t i = 0; i < n; i++) {
		struct afgw_match_expr e;
		afgw_ruleset_expr(rs, i, &e);
		if (!e.expr || afgw_ruleset_rule(rs, i)->kind != AFGW_RULE_TEXT)
			continue;
		uint32_t opt = (e.caseless ? PCRE2_CASELESS : 0) | (e.dotall ? PCRE2_DOTALL : 0) |
			       (e.utf8 ? PCRE2_UTF : 0) | (e.ucp ? PCRE2_UCP : 0);
		int err;
		PCRE2_SIZE off;
		pcre2_code *c = pcre2_compile((PCRE2_SPTR)e.expr, PCRE2_ZERO_TERMINATED, opt, &err,
					      &off, NULL);
		if (!c)
			continue;
		pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
		code[k++] = c;
	}
	*compile_s = now() - t0;
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	pcre2_jit_stack *js = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	pcre2_jit_stack_assign(mc, NULL, js);
	size_t msgs = 0;
	uint64_t hits = 0;
	t0 = now();
	double el = 0;
	do {
		for (size_t j = 0; j < 64; j++, msgs++) {
			const struct text *t = &norm[msgs % n_texts];
			for (size_t i = 0; i < k; i++)
				if (pcre2_jit_match(code[i], (PCRE2_SPTR)t->p, t->n, 0, 0, md, mc) >= 0)
					hits++;
		}
		el = now() - t0;
	} while (el < budget);
	pcre2_jit_stack_free(js);
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	for (size_t i = 0; i < k; i++)
		pcre2_code_free(code[i]);
	free(code);
	*done = msgs;
	(void)hits;
	return (double)msgs / el;
}

static void bench_set(const char *name, struct afgw_rules *rules, size_t msgs)
{
	struct afgw_rules_diag d;
	afgw_rules_diag_init(&d);
	struct afgw_ruleset *rs = NULL;
	if (afgw_ruleset_new(rules, 1, &d, &rs) != 0) {
		for (unsigned i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.msg[i].text);
		fprintf(stderr, "bench_match: %s: compile failed\n", name);
		exit(1);
	}
	afgw_rules_diag_fini(&d);
	struct afgw_match_worker *w = NULL;
	if (afgw_match_worker_new(rs, 86, &w) != 0)
		exit(1);
	uint64_t h1 = 0, h2 = 0;
	run_stage(w, n_texts, &h1); /* warm up: buffers reach their size */
	h1 = 0;
	double ts = run_stage(w, msgs, &h1);
	double tr = run_raw(w, msgs, &h2);
	size_t pdone = 0;
	double pcomp = 0;
	double stage = (double)msgs / ts, raw = (double)msgs / tr;
	if (!afgw_ruleset_count(rs)) {
		printf("%-16s %6zu %9s %11.0f %11s %11s   (normalize + extract only)\n", name,
		       (size_t)0, "-", stage, "-", "-");
		afgw_match_worker_free(w);
		afgw_ruleset_free(rs);
		return;
	}
	double prate = run_pcre2(rs, 3.0, &pdone, &pcomp);
	printf("%-16s %6zu %9.0f %11.0f %11.0f %11.0f %9.2f %9.1f\n", name, afgw_ruleset_count(rs),
	       afgw_ruleset_compile_ms(rs), stage, raw, prate, stage / raw, stage / prate);
	printf("%-16s %6s %9s %11s %11s %11s   (hits %llu / %llu; pcre2 %zu msgs, "
	       "compile %.0f ms)\n",
	       "", "", "", "", "", "", (unsigned long long)h1, (unsigned long long)h2, pdone,
	       pcomp * 1e3);
	afgw_match_worker_free(w);
	afgw_ruleset_free(rs);
}

int main(int argc, char **argv)
{
	size_t msgs = 300000;
	const char *sets = "100,1000,10000";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sets") && i + 1 < argc)
			sets = argv[++i];
		else
			msgs = strtoul(argv[i], NULL, 10);
	}
	load_texts(AFGW_SOURCE_DIR "/tests/data/sms_corpus.tsv");
	size_t bytes = 0;
	for (size_t i = 0; i < n_texts; i++)
		bytes += texts[i].n;
	printf("%zu texts (%zu bytes, mean %.0f), repeated to %zu messages per run\n\n", n_texts,
	       bytes, (double)bytes / (double)n_texts, msgs);
	printf("%-16s %6s %9s %11s %11s %11s %9s %9s\n", "rule set", "rules", "compile",
	       "stage msg/s", "raw msg/s", "pcre2 msg/s", "stage/raw", "vs pcre2");

	struct afgw_rules rules;
	struct afgw_rules_diag d;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	/* no rules: what normalization and extraction alone cost */
	if (afgw_rules_load_buffer(&rules, "none", "rules: []\n", 10, &d) == 0)
		bench_set("none", &rules, msgs);
	afgw_rules_fini(&rules);
	afgw_rules_init(&rules);
	if (afgw_rules_load_dir(&rules, AFGW_SOURCE_DIR "/rules/default", &d) == 0)
		bench_set("default", &rules, msgs);
	afgw_rules_fini(&rules);
	afgw_rules_diag_fini(&d);

	for (const char *p = sets; *p;) {
		size_t n = strtoul(p, NULL, 10);
		p += strcspn(p, ",");
		if (*p)
			p++;
		if (!n)
			continue;
		size_t len;
		char *y = synth_rules(n, &len);
		afgw_rules_init(&rules);
		afgw_rules_diag_init(&d);
		if (afgw_rules_load_buffer(&rules, "synthetic", y, len, &d) != 0) {
			for (unsigned i = 0; i < d.n; i++)
				fprintf(stderr, "%s\n", d.msg[i].text);
			return 1;
		}
		char name[32];
		snprintf(name, sizeof(name), "synthetic-%zu", n);
		bench_set(name, &rules, msgs);
		afgw_rules_fini(&rules);
		afgw_rules_diag_fini(&d);
		free(y);
	}
	return 0;
}
