/*
 * test_match_cache.c - a worker's cache of text results
 * (afgw_match_worker_cache) gives exactly what a full scan gives.
 *
 * Every text of tests/data/sms_corpus.tsv is scanned by a worker without
 * a cache and twice by one with a cache (the second time from it), with
 * a sender, and the results are compared field by field, evidence
 * included.  Then the cases a cache gets wrong when it is wrong: numbers
 * (caller / callee / sender kinds) are per message, two originals that
 * normalize alike keep their own evidence offsets, texts that only share
 * a hash bucket do not share results, a rebind to another rule set
 * empties it, texts too long or with too many hits are scanned in full.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afgw_config.h"
#include "afgw/match.h"
#include "check.h"
#include "corpus.h"

/* A rule set from YAML text, or from every file of dir when text is NULL; NULL on failure. */
static struct afgw_ruleset *compile(const char *text, const char *dir)
{
	struct afgw_rules rules;
	struct afgw_rules_diag d;
	struct afgw_ruleset *rs = NULL;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	int rc = text ? afgw_rules_load_buffer(&rules, "t.yaml", text, strlen(text), &d)
		      : afgw_rules_load_dir(&rules, dir, &d);
	if (rc != 0 || afgw_ruleset_new(&rules, 1, &d, &rs) != 0) {
		for (unsigned i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.msg[i].text);
		rs = NULL;
	}
	afgw_rules_fini(&rules);
	afgw_rules_diag_fini(&d);
	return rs;
}

static struct afgw_match_result a, b;

static int scan(struct afgw_match_worker *w, const char *text, size_t n, const char *sender,
		struct afgw_match_result *res)
{
	struct afgw_match_msg m;
	memset(&m, 0, sizeof(m));
	m.text = afgw_str_make(text, n);
	if (sender)
		m.sender = afgw_str_make(sender, strlen(sender));
	int rc = afgw_match_scan(w, &m, res);
	return rc ? rc : afgw_match_evidence(w, res);
}

/* Everything a scan reports, but ex and cached. */
static bool same(const struct afgw_match_result *x, const struct afgw_match_result *y)
{
	if (x->score != y->score || x->positive != y->positive || x->negative != y->negative ||
	    x->n_hits != y->n_hits || x->dropped != y->dropped || x->truncated != y->truncated ||
	    x->norm_len != y->norm_len || memcmp(x->norm, y->norm, x->norm_len) != 0 ||
	    x->norm[x->norm_len] != '\0' || y->norm[y->norm_len] != '\0')
		return false;
	for (unsigned i = 0; i < x->n_hits; i++) {
		const struct afgw_match_hit *h = &x->hit[i], *k = &y->hit[i];
		if (h->rule != k->rule || h->item != k->item || h->norm_start != k->norm_start ||
		    h->norm_end != k->norm_end || h->start != k->start || h->end != k->end)
			return false;
	}
	return true;
}

/* The whole corpus: uncached, first cached scan, second cached scan agree. */
static void corpus(const struct afgw_ruleset *rs)
{
	struct afgw_match_worker *plain = NULL, *cw = NULL;
	CHECK(afgw_match_worker_new(rs, 86, &plain) == 0);
	CHECK(afgw_match_worker_new(rs, 86, &cw) == 0);
	CHECK(afgw_match_worker_cache(cw, 4096) == 0);
	if (!plain || !cw)
		return;
	FILE *f = fopen(AFGW_SOURCE_DIR "/tests/data/sms_corpus.tsv", "r");
	CHECK(f != NULL);
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0, texts = 0, differ = 0, from_cache = 0, from_exact = 0, flagged = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) >= 0) {
		size_t len;
		char *t = corpus_text(line, &len);
		if (!t)
			continue;
		const char *sender = texts % 3 ? "+8613800138000" : "95588";
		texts++;
		if (scan(plain, t, len, sender, &a) != 0 || scan(cw, t, len, sender, &b) != 0 ||
		    !same(&a, &b)) {
			differ++;
			continue;
		}
		if (b.cached) /* a first sight cannot come from the cache */
			differ++;
		if (scan(cw, t, len, sender, &b) != 0 || !same(&a, &b))
			differ++;
		from_cache += b.cached;
		flagged += a.score >= AFGW_MATCH_WARN;
		/* once more without evidence, as the pipeline scans: the places the
		 * exact-text level keeps are those of a scan, not of evidence */
		struct afgw_match_msg m;
		memset(&m, 0, sizeof(m));
		m.text = afgw_str_make(t, len);
		m.sender = afgw_str_make(sender, strlen(sender));
		if (afgw_match_scan(plain, &m, &a) != 0 || afgw_match_scan(cw, &m, &b) != 0 ||
		    !same(&a, &b))
			differ++;
		from_exact += b.exact;
	}
	free(line);
	fclose(f);
	printf("corpus: %zu texts, %zu flagged, %zu differ, %zu second scans from the cache, "
	       "%zu third by the original text\n", texts, flagged, differ, from_cache, from_exact);
	CHECK(texts > 1000);
	CHECK(flagged > texts / 4); /* the comparison covers real hits */
	CHECK_INT(differ, 0);
	CHECK(from_cache > texts * 9 / 10); /* a few are long or hit many rules */
	CHECK(from_exact > texts * 9 / 10);
	afgw_match_worker_free(plain);
	afgw_match_worker_free(cw);
}

static const char *small_set =
	"rules:\n"
	"  - {id: t.safe, kind: text, pattern: '安全账户', weight: 40, category: police,\n"
	"     desc_zh: a, desc_en: a}\n"
	"  - {id: t.url, kind: url, pattern: 'evil.example', weight: 30, category: phishing,\n"
	"     desc_zh: b, desc_en: b}\n"
	"  - {id: t.rx, kind: text, pattern: '转.{0,4}账', flags: [regex], weight: 10,\n"
	"     category: police, desc_zh: c, desc_en: c}\n"
	"  - {id: s.bad, kind: sender, pattern: '+86170', weight: 30, category: bad_sender,\n"
	"     desc_zh: d, desc_en: d}\n";

static const struct afgw_match_hit *hit_of(const struct afgw_match_result *r, const char *id)
{
	for (unsigned i = 0; i < r->n_hits; i++)
		if (!strcmp(r->hit[i].r->id, id))
			return &r->hit[i];
	return NULL;
}

static void cases(void)
{
	struct afgw_ruleset *rs = compile(small_set, NULL);
	CHECK(rs != NULL);
	if (!rs)
		return;
	struct afgw_match_worker *w = NULL;
	CHECK(afgw_match_worker_new(rs, 86, &w) == 0);
	if (!w)
		return;
	CHECK_INT(afgw_match_worker_cache(w, AFGW_MATCH_CACHE_MAX + 1), -EINVAL);
	CHECK(afgw_match_worker_cache(w, 1) == 0); /* one set: every text shares it */

	/* numbers are per message: same text, another sender */
	const char *t = "请把钱转到安全账户 http://evil.example/x";
	CHECK(scan(w, t, strlen(t), "+8613800138000", &a) == 0);
	CHECK(!a.cached && hit_of(&a, "t.safe") && hit_of(&a, "t.url") && !hit_of(&a, "s.bad"));
	int score_plain_sender = a.score;
	CHECK(scan(w, t, strlen(t), "+8617012345678", &b) == 0);
	CHECK(b.cached && hit_of(&b, "t.safe") && hit_of(&b, "t.url") && hit_of(&b, "s.bad"));
	CHECK(b.score > score_plain_sender);
	CHECK(scan(w, t, strlen(t), NULL, &b) == 0);
	CHECK(b.cached && !hit_of(&b, "s.bad"));
	CHECK_INT(b.score, score_plain_sender);

	/* evaded the same way: same normalized text, evidence in its own original */
	const char *e = "请把钱转到安\xe2\x80\x8b全\xe2\x80\x8b账户 http://EVIL.example/x"; /* ZWSP */
	CHECK(scan(w, e, strlen(e), NULL, &b) == 0);
	CHECK(b.cached);
	const struct afgw_match_hit *h = hit_of(&b, "t.safe");
	CHECK(h && h->end - h->start == strlen("安\xe2\x80\x8b全\xe2\x80\x8b账户"));
	CHECK(h && !memcmp(e + h->start, "安", 3));
	h = hit_of(&b, "t.url");
	CHECK(h && !memcmp(e + h->start, "http://EVIL", 11));
	h = hit_of(&b, "t.rx"); /* regex evidence located in the original too */
	CHECK(h && !memcmp(e + h->start, "转", 3) && !memcmp(e + h->end - 3, "账", 3));

	/* other texts in the same (only) set: scanned, not confused */
	const char *o = "今天下午三点开会", *o2 = "明天上午转一下账";
	CHECK(scan(w, o, strlen(o), NULL, &b) == 0);
	CHECK(!b.cached && b.n_hits == 0 && b.score == 0);
	CHECK(scan(w, t, strlen(t), NULL, &b) == 0);
	CHECK(b.cached && hit_of(&b, "t.safe")); /* t and o share the set */
	CHECK(scan(w, o, strlen(o), NULL, &b) == 0 && b.cached && b.n_hits == 0);
	/* o2 and then others fill the set's other slots; the last one
	 * replaces t, the least recently used */
	CHECK(scan(w, o2, strlen(o2), NULL, &b) == 0);
	CHECK(!b.cached && b.n_hits == 1 && hit_of(&b, "t.rx"));
	for (int i = 0; i < AFGW_MATCH_CACHE_WAYS - 2; i++) {
		char other[64];
		int k = snprintf(other, sizeof(other), "第%d个会议在下午", i);
		CHECK(scan(w, other, (size_t)k, NULL, &b) == 0 && !b.cached);
	}
	CHECK(scan(w, o, strlen(o), NULL, &b) == 0 && b.cached && b.n_hits == 0);
	CHECK(scan(w, t, strlen(t), NULL, &b) == 0);
	CHECK(!b.cached && hit_of(&b, "t.safe")); /* evicted, scanned again */

	/* too long to keep: scanned every time */
	char longt[AFGW_MATCH_CACHE_TEXT_MAX + 220];
	memset(longt, 'a', sizeof(longt));
	memcpy(longt + 300, "安全账户", strlen("安全账户"));
	CHECK(scan(w, longt, sizeof(longt), NULL, &a) == 0);
	CHECK(scan(w, longt, sizeof(longt), NULL, &b) == 0);
	CHECK(!b.cached && hit_of(&b, "t.safe") && same(&a, &b));

	/* over AFGW_MATCH_TEXT_MAX: cut before a split character, not further back */
	size_t big = AFGW_MATCH_TEXT_MAX + 4000;
	char *bt = malloc(big);
	CHECK(bt != NULL);
	if (bt) {
		const char *head = "请转到安全账户";
		memset(bt, 0x80, big); /* stray continuation bytes around the limit */
		memcpy(bt, head, strlen(head));
		CHECK(scan(w, bt, big, NULL, &a) == 0);
		CHECK(a.truncated && hit_of(&a, "t.safe"));
		memset(bt, 'a', big); /* a character the limit splits is left out whole */
		memcpy(bt + AFGW_MATCH_TEXT_MAX - 7, "安全账户", strlen("安全账户"));
		CHECK(scan(w, bt, big, NULL, &a) == 0);
		CHECK(a.truncated && !hit_of(&a, "t.safe") && a.norm_len == AFGW_MATCH_TEXT_MAX - 1);
		memcpy(bt + AFGW_MATCH_TEXT_MAX - 12, "安全账户", strlen("安全账户"));
		CHECK(scan(w, bt, big, NULL, &a) == 0);
		CHECK(a.truncated && hit_of(&a, "t.safe"));
		free(bt);
	}

	/* a rebind empties it: the same text under a set where it scores differently */
	const char *other =
		"rules:\n"
		"  - {id: t.safe2, kind: text, pattern: '安全账户', weight: 90, category: police,\n"
		"     desc_zh: a, desc_en: a}\n";
	struct afgw_ruleset *rs2 = compile(other, NULL);
	CHECK(rs2 != NULL);
	CHECK(scan(w, t, strlen(t), NULL, &a) == 0);
	CHECK(scan(w, t, strlen(t), NULL, &a) == 0 && a.cached);
	if (rs2 && afgw_match_worker_bind(w, rs2) == 0) {
		CHECK(scan(w, t, strlen(t), NULL, &b) == 0);
		CHECK(!b.cached && b.n_hits == 1 && hit_of(&b, "t.safe2") && b.score == 90);
		CHECK(scan(w, t, strlen(t), NULL, &b) == 0);
		CHECK(b.cached && b.n_hits == 1 && hit_of(&b, "t.safe2"));
	}
	/* switched off: never from a cache */
	CHECK(afgw_match_worker_cache(w, 0) == 0);
	CHECK(scan(w, t, strlen(t), NULL, &b) == 0);
	CHECK(scan(w, t, strlen(t), NULL, &b) == 0);
	CHECK(!b.cached);
	afgw_match_worker_free(w);
	afgw_ruleset_free(rs2);
	afgw_ruleset_free(rs);
}

/* More hits than a slot keeps: scanned in full every time. */
static void many_hits(void)
{
	enum { N = AFGW_MATCH_CACHE_HITS_MAX + 5 };
	char y[16384];
	size_t o = (size_t)snprintf(y, sizeof(y), "rules:\n");
	for (int i = 0; i < N; i++)
		o += (size_t)snprintf(y + o, sizeof(y) - o,
				      "  - {id: r%d, kind: text, pattern: 'w%02d', weight: 1, category: c,\n"
				      "     desc_zh: a, desc_en: a}\n",
				      i, i);
	struct afgw_ruleset *rs = compile(y, NULL);
	CHECK(rs != NULL);
	struct afgw_match_worker *w = NULL;
	if (!rs || afgw_match_worker_new(rs, 86, &w) != 0)
		return;
	CHECK(afgw_match_worker_cache(w, 16) == 0);
	char t[512];
	size_t n = 0;
	for (int i = 0; i < N; i++)
		n += (size_t)snprintf(t + n, sizeof(t) - n, "w%02d ", i);
	CHECK(scan(w, t, n, NULL, &a) == 0 && a.n_hits == N);
	CHECK(scan(w, t, n, NULL, &b) == 0 && !b.cached && same(&a, &b));
	afgw_match_worker_free(w);
	afgw_ruleset_free(rs);
}

int main(void)
{
	struct afgw_ruleset *rs = compile(NULL, AFGW_SOURCE_DIR "/rules/default");
	CHECK(rs != NULL);
	if (rs)
		corpus(rs);
	afgw_ruleset_free(rs);
	cases();
	many_hits();
	return check_report();
}
