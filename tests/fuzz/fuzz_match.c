/*
 * fuzz_match.c - libFuzzer target for the whole match stage
 * (afgw_match_scan + afgw_match_evidence), differential against the
 * worker's cache of text results (afgw_match_worker_cache).
 *
 * Two rule sets are compiled once, on the first input: the default set
 * (rules/default of the source tree: 20 s under ASan, most of it in
 * the sanitizer's allocator under Hyperscan's compiler) and a small
 * hand-written one (SMALL_SET plus 80 generated literals k00..k79, so that
 * one message can hit more rules than a cache slot or a result keeps).
 * Each set has a worker without a cache ("plain") and one with a tiny
 * cache ("cached": one or two sets of AFGW_MATCH_CACHE_WAYS entries, reset
 * at every input, so that eviction and set sharing happen all the time).
 *
 * Input layout: byte 0 = flags: bit 0 a cache of two sets (else one), bit 1
 * the cached workers swap rule sets (afgw_match_worker_bind) between the
 * two passes, bit 2 the second pass runs in reverse order.  The rest is
 * split at 0xff bytes into up to MSG_MAX messages (the last one keeps any
 * further 0xff).  A message: byte h (bit 0 sender, bit 1 caller, bit 2
 * callee present; bits 4-5 the second pass's variant of the text: as is,
 * a zero-width space after every character, ASCII letters and digits full
 * width, ASCII upper case; bit 3 with bits 6-7 = 2 pads the text past
 * AFGW_MATCH_TEXT_MAX with zero-width spaces in both passes, with bits 6-7
 * = 3 in the second pass only), then one byte per present number (low 4
 * bits pick one of NUMS, high 4 bits, if not 0, cut it to that length),
 * then the text, any bytes.  Every message is scanned in two passes, each
 * time by both workers of both sets.
 *
 * Properties checked (a violation traps):
 *  - scan and evidence return 0;
 *  - a cached worker's result is exactly the plain worker's (score, P, N,
 *    hits, dropped, truncated, norm; every hit's rule, item, norm_start,
 *    norm_end, start, end), before and after afgw_match_evidence; a cached
 *    result has an empty extraction; a text comes from the cache only if
 *    an earlier scan since the last reset or rebind kept it (at most
 *    AFGW_MATCH_CACHE_TEXT_MAX normalized bytes and
 *    AFGW_MATCH_CACHE_HITS_MAX text-side hits), and with one set exactly
 *    when an LRU of AFGW_MATCH_CACHE_WAYS slots holds it;
 *  - every result: score in 0..100; n_hits <= AFGW_MATCH_HITS_MAX; rule
 *    index < afgw_ruleset_count() and hit.r is that rule; no rule twice;
 *    caller / callee / sender hits only for a number given, spanning it;
 *    text kinds: norm_start <= norm_end <= norm_len and start <= end <=
 *    the (truncated) text length, a non-empty normalized span gives a
 *    non-empty original one; a literal text hit spans exactly the
 *    normalized literal; url / contact / number hits of a full scan span
 *    their extracted item; a regex hit is a point until located, and its
 *    located span, scanned alone, hits the rule again (regexes that can
 *    see the text's ends excepted); locating twice changes nothing; without
 *    dropped hits P and N are the sums of the listed weights and the
 *    score is afgw_match_score(P, N, strongest listed), which follows
 *    match.h's formula.
 * Everything is freed at exit (LeakSanitizer runs on the replay).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "afgw_config.h"
#include "afgw/match.h"
#include "afgw/normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MSG_MAX 4
#define SEP 0xff
#define CACHE_TEXT_MAX AFGW_MATCH_CACHE_TEXT_MAX /* texts longer (normalized) are not kept */
#define CACHE_HITS_MAX AFGW_MATCH_CACHE_HITS_MAX /* nor texts with more text-side hits */
#define VARIANT_IN_MAX 8192 /* longer texts get no variant and no padding */
#define COUNTED_RULES 80

/* The small set (load_small() adds category and descriptions). */
static const struct {
	const char *id, *kind, *pattern, *flags;
	int weight;
} SMALL_SET[] = {
	/* text literals */
	{ "t.safe", "text", "安全账户", "", 40 },
	{ "t.verify", "text", "verify", "word", 15 },
	{ "t.usdt", "text", "ＵＳＤＴ", "", 20 },
	{ "t.shuadan", "text", "刷单", "", 30 },
	{ "t.thanks", "text", "谢谢", "", -20 },
	{ "t.meeting", "text", "开会", "", -60 },
	{ "t.punct", "text", "a-b.c", "", 5 },
	{ "t.strong", "text", "冒充公检法", "", 85 },
	{ "t.max", "text", "zzz", "", 100 },
	{ "t.case", "text", "SenderX", "case", 7 },
	{ "t.trad", "text", "帳戶", "", 10 },
	{ "t.space", "text", "gift card", "", 12 },
	/* text regexes: bounded gaps, classes, anchors, the utf8 / ucp modes */
	{ "r.zhuan", "text", "转.{0,4}账", "regex", 10 },
	{ "r.loan", "text", "(贷款|借款).{0,6}(保证金|费)", "regex", 25 },
	{ "r.click", "text", "click.{0,3}here", "regex, word", 20 },
	{ "r.code", "text", "验证码\\D{0,2}\\d{4,6}", "regex", 15 },
	{ "r.neg", "text", "[^a-z0-9 ]{2}x", "regex", 5 },
	{ "r.opt", "text", "号?码.元", "regex", 3 },
	{ "r.nonword", "text", "a\\W+b", "regex", 5 },
	{ "r.start", "text", "^hello", "regex", 5 },
	{ "r.end", "text", "bye$", "regex", -5 },
	{ "r.utf8", "text", "\\p{Han}{2}银行", "regex, utf8", 20 },
	{ "r.ucp", "text", "\\w+@\\w+\\.com", "regex, ucp", 10 },
	{ "r.dot", "text", "q.c", "regex, dotall", 2 },
	{ "r.star", "text", "中.*奖", "regex", 30 },
	{ "r.lazy", "text", "x.+?y", "regex", 3 },
	{ "r.digits", "text", "[0-9]{11}", "regex", -8 },
	/* url, contact, number */
	{ "u.evil", "url", "evil.example", "", 30 },
	{ "u.tcn", "url", "t.cn", "", 20 },
	{ "u.top", "url", "ＴＯＰ", "", 6 },
	{ "u.ip", "url", "^[0-9.]+$", "regex", 15 },
	{ "c.id", "contact", "abc123", "", 25 },
	{ "c.qq", "contact", "qq:12345", "", 25 },
	{ "c.wx", "contact", "^wechat:.*8$", "regex", 10 },
	{ "n.virt", "number", "+86170", "", 15 },
	{ "n.mobile", "number", "^\\+8613[0-9]{9}$", "regex", -5 },
	{ "n.bank", "number", "95588", "", 5 },
	/* the message's own numbers */
	{ "s.virt", "sender", "+86170", "", 30 },
	{ "s.bank", "sender", "95588", "", -10 },
	{ "s.name", "sender", "^[a-z]+$", "regex, case", 10 },
	{ "a.us", "caller", "+1", "", 20 },
	{ "a.virt", "caller", "^\\+86(165|167)", "regex", 10 },
	{ "b.uk", "callee", "+4420", "", 15 },
};

/* Numbers a message can carry (canonical form, or a sender name). */
static const char *const NUMS[16] = {
	"+8613800138000", "+8617012345678", "+8616512345678", "95588",
	"+8695588",       "+12025550123",   "+442071234567",  "10086",
	"+86110",         "+0",             "+123",           "+86",
	"106900001234",   "+8616712345678", "",               "bank",
};

/* What the fuzzer knows about one rule set. */
struct set {
	struct afgw_ruleset *rs;
	size_t n;
	char **lit;                    /* text literal rules: the normalized literal */
	bool *recheck;                 /* text regexes without assertions (has_assertion()) */
	struct afgw_match_worker *plain;
};

/* The cache as match.h describes it, for the cached worker of one slot. */
struct model {
	char text[AFGW_MATCH_CACHE_WAYS][CACHE_TEXT_MAX];
	size_t len[AFGW_MATCH_CACHE_WAYS];
	uint64_t used[AFGW_MATCH_CACHE_WAYS]; /* 0: empty */
	uint64_t clock;
	unsigned kept;                 /* texts ever kept since the reset (ever[]) */
	char ever[2 * MSG_MAX][CACHE_TEXT_MAX];
	size_t ever_len[2 * MSG_MAX];
};

static struct {
	bool ready;
	struct set set[2];
	struct afgw_match_worker *cw[2]; /* cached workers */
	unsigned bound[2];             /* the set cw[k] is bound to */
	struct model model[2];
	struct afgw_norm_buf nb;
	struct afgw_match_result a, b; /* plain, cached */
	struct afgw_match_result c;    /* rescan of located evidence */
	char sub[AFGW_MATCH_TEXT_MAX * 4 + 16];
	char var[VARIANT_IN_MAX * 4 + 16];
	char pad[AFGW_MATCH_TEXT_MAX + VARIANT_IN_MAX * 4 + 16];
	bool verbose;                  /* FZ_VERBOSE set: a summary at exit */
	struct {
		unsigned long scans, cached, hits, over_cap, dropped, truncated, located, rechecked;
		unsigned long rebinds;
	} st;
} g;

static void must(bool cond)
{
	if (!cond)
		__builtin_trap();
}

/* At start-up only: no ruleset means nothing to fuzz. */
static _Noreturn void fatal(const char *what, const struct afgw_rules_diag *d)
{
	fprintf(stderr, "fuzz_match: %s\n", what);
	for (unsigned i = 0; d && i < d->n; i++)
		fprintf(stderr, "  %s\n", d->msg[i].text);
	abort();
}

static void cleanup(void)
{
	if (g.verbose)
		fprintf(stderr,
			"fuzz_match: %lu scan pairs, %lu from the cache, %lu with hits, %lu over %d "
			"hits, %lu with dropped hits, %lu truncated, %lu regex hits located "
			"(%lu rescanned), %lu rebinds\n",
			g.st.scans, g.st.cached, g.st.hits, g.st.over_cap, CACHE_HITS_MAX, g.st.dropped,
			g.st.truncated, g.st.located, g.st.rechecked, g.st.rebinds);
	for (int k = 0; k < 2; k++) {
		afgw_match_worker_free(g.cw[k]);
		g.cw[k] = NULL;
	}
	for (int k = 0; k < 2; k++) {
		struct set *s = &g.set[k];
		afgw_match_worker_free(s->plain);
		if (s->lit)
			for (size_t i = 0; i < s->n; i++)
				free(s->lit[i]);
		free(s->lit);
		free(s->recheck);
		afgw_ruleset_free(s->rs);
		memset(s, 0, sizeof(*s));
	}
	afgw_norm_buf_fini(&g.nb);
}

/* The small set: SMALL_SET and the counted literals k00..k79, one file. */
static int load_small(struct afgw_rules *rules, struct afgw_rules_diag *d)
{
	static char y[16384];
	size_t o = (size_t)snprintf(y, sizeof(y), "rules:\n");
	for (size_t i = 0; i < sizeof(SMALL_SET) / sizeof(SMALL_SET[0]) && o < sizeof(y); i++)
		o += (size_t)snprintf(y + o, sizeof(y) - o,
				      "  - {id: %s, kind: %s, pattern: '%s', flags: [%s], weight: %d, "
				      "category: c, desc_zh: a, desc_en: a}\n",
				      SMALL_SET[i].id, SMALL_SET[i].kind, SMALL_SET[i].pattern,
				      SMALL_SET[i].flags, SMALL_SET[i].weight);
	for (int i = 0; i < COUNTED_RULES && o < sizeof(y); i++)
		o += (size_t)snprintf(y + o, sizeof(y) - o,
				      "  - {id: k%02d, kind: text, pattern: 'k%02d', weight: %d, "
				      "category: c, desc_zh: a, desc_en: a}\n",
				      i, i, i % 10 == 9 ? -3 : i % 5 + 1);
	must(o < sizeof(y));
	return afgw_rules_load_buffer(rules, "small.yaml", y, o, d);
}

/*
 * Whether a regex can see where the text starts or ends (^ $ \b \B \A \z
 * \Z \G): cut out of its text, its evidence may no longer match.  A
 * '^' right after '[' negates a class and does not count.
 */
static bool has_assertion(const struct afgw_rule *r)
{
	const char *p = r->pattern;
	if (r->flags & AFGW_RULE_F_WORD)
		return true;
	for (size_t i = 0; p[i]; i++) {
		if (p[i] == '\\') {
			if (!p[i + 1])
				break;
			if (strchr("bBAzZG", p[i + 1]))
				return true;
			i++;
		} else if (p[i] == '$' || (p[i] == '^' && (i == 0 || p[i - 1] != '['))) {
			return true;
		}
	}
	return false;
}

/*
 * Compile set k (0: the default set, 1: the small one), its literals
 * normalized as the compiler does, and its plain worker.  Fatal on error.
 */
static void make_set(unsigned k)
{
	struct set *s = &g.set[k];
	struct afgw_rules rules;
	struct afgw_rules_diag d;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	int rc = k == 0 ? afgw_rules_load_dir(&rules, AFGW_SOURCE_DIR "/rules/default", &d)
			: load_small(&rules, &d);
	if (rc != 0 || afgw_ruleset_new(&rules, k + 1, &d, &s->rs) != 0)
		fatal(k == 0 ? "default rules do not compile" : "small rules do not compile", &d);
	afgw_rules_fini(&rules);
	afgw_rules_diag_fini(&d);
	if (g.verbose)
		fprintf(stderr, "fuzz_match: set %u: %zu rules compiled in %.0f ms\n", k,
			afgw_ruleset_count(s->rs), afgw_ruleset_compile_ms(s->rs));

	s->n = afgw_ruleset_count(s->rs);
	s->lit = calloc(s->n ? s->n : 1, sizeof(*s->lit));
	s->recheck = calloc(s->n ? s->n : 1, sizeof(*s->recheck));
	if (!s->lit || !s->recheck)
		fatal("out of memory", NULL);
	for (size_t i = 0; i < s->n; i++) {
		const struct afgw_rule *r = afgw_ruleset_rule(s->rs, i);
		if (r->kind != AFGW_RULE_TEXT)
			continue;
		if (r->flags & AFGW_RULE_F_REGEX) {
			s->recheck[i] = !has_assertion(r);
			continue;
		}
		if (afgw_normalize(r->pattern, strlen(r->pattern), AFGW_NORM_ALL, &g.nb) != 0)
			fatal("out of memory", NULL);
		s->lit[i] = strdup(g.nb.text);
		if (!s->lit[i])
			fatal("out of memory", NULL);
	}
	if (afgw_match_worker_new(s->rs, 86, &s->plain) != 0 ||
	    afgw_match_worker_new(s->rs, 86, &g.cw[k]) != 0)
		fatal("worker", NULL);
	g.bound[k] = k;
}

static void setup(void)
{
	afgw_norm_buf_init(&g.nb);
	g.verbose = getenv("FZ_VERBOSE") != NULL;
	atexit(cleanup);
	make_set(0);
	make_set(1);
	g.ready = true;
}

/* One message of the input. */
struct msg {
	const char *text;
	size_t len;
	unsigned head;
	const char *num[3];            /* sender, caller, callee; NULL: absent */
	size_t num_len[3];
};

static void parse_msg(const uint8_t *p, size_t n, struct msg *m)
{
	memset(m, 0, sizeof(*m));
	if (n == 0)
		return;
	m->head = p[0];
	p++;
	n--;
	for (unsigned k = 0; k < 3; k++) {
		if (!(m->head & (1u << k)) || n == 0)
			continue;
		const char *v = NUMS[p[0] & 15];
		size_t cut = p[0] >> 4, len = strlen(v);
		m->num[k] = v;
		m->num_len[k] = cut && cut < len ? cut : len;
		p++;
		n--;
	}
	m->text = (const char *)p;
	m->len = n;
}

/*
 * The text a pass scans: pass 0 the text as given, pass 1 its variant
 * (bits 4-5 of the header), either padded past AFGW_MATCH_TEXT_MAX with
 * zero-width spaces (bits 3, 6 and 7).  Returns a slice of m's text or of
 * g.var / g.pad.
 */
static struct afgw_str pass_text(const struct msg *m, unsigned pass)
{
	struct afgw_str t = afgw_str_make(m->text, m->len);
	if (m->len > VARIANT_IN_MAX)
		return t;
	unsigned variant = pass ? (m->head >> 4) & 3 : 0;
	if (variant) {
		size_t o = 0;
		for (size_t i = 0; i < m->len; i++) {
			unsigned char c = (unsigned char)m->text[i];
			bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				     (c >= '0' && c <= '9');
			if (variant == 2 && alnum) { /* U+FF10.. / U+FF21.. / U+FF41.. */
				unsigned cp = c + 0xfee0u;
				g.var[o++] = (char)(0xe0 | (cp >> 12));
				g.var[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				g.var[o++] = (char)(0x80 | (cp & 0x3f));
				continue;
			}
			g.var[o++] = variant == 3 && c >= 'a' && c <= 'z' ? (char)(c - 32) : (char)c;
			bool ends = i + 1 == m->len || ((unsigned char)m->text[i + 1] & 0xc0) != 0x80;
			if (variant == 1 && ends) {
				memcpy(g.var + o, "\xe2\x80\x8b", 3); /* U+200B */
				o += 3;
			}
		}
		t = afgw_str_make(g.var, o);
	}
	/* padding costs a 64 KiB normalization per scan: one message in four */
	unsigned pad = (m->head >> 6) & 3;
	if ((m->head & 8) && (pad == 2 || (pad == 3 && pass == 1))) {
		memcpy(g.pad, t.p, t.len);
		size_t o = t.len;
		while (o <= AFGW_MATCH_TEXT_MAX + 2) {
			memcpy(g.pad + o, "\xe2\x80\x8b", 3);
			o += 3;
		}
		t = afgw_str_make(g.pad, o);
	}
	return t;
}

static bool text_kind(enum afgw_rule_kind k)
{
	return k == AFGW_RULE_TEXT || k == AFGW_RULE_URL || k == AFGW_RULE_CONTACT ||
	       k == AFGW_RULE_NUMBER;
}

/* match.h: clamp(max(min(P, 100) - min(N, 80), M - 30), 0, 100). */
static int formula(int p, int n, int m)
{
	int s = (p < 100 ? p : 100) - (n < AFGW_MATCH_NEG_CAP ? n : AFGW_MATCH_NEG_CAP);
	if (m - AFGW_MATCH_STRONG_MARGIN > s)
		s = m - AFGW_MATCH_STRONG_MARGIN;
	return s < 0 ? 0 : s > 100 ? 100 : s;
}

static bool char_start(const char *t, size_t len, size_t i)
{
	return i >= len || ((unsigned char)t[i] & 0xc0) != 0x80;
}

/* The span of item i of the kind's extraction, or false if there is none. */
static bool item_span(const struct afgw_extract *ex, enum afgw_rule_kind k, uint32_t i,
		      size_t *s, size_t *e)
{
	const struct afgw_extract_item *it = NULL;
	if (k == AFGW_RULE_URL && i < ex->n_urls)
		it = &ex->urls[i];
	else if (k == AFGW_RULE_CONTACT && i < ex->n_contacts)
		it = &ex->contacts[i];
	else if (k == AFGW_RULE_NUMBER && i < ex->n_numbers)
		it = &ex->numbers[i];
	if (!it)
		return false;
	*s = it->start;
	*e = it->end;
	return true;
}

/*
 * The invariants of one result of set s for message text t and numbers
 * num[] (see the file-top comment); located: after afgw_match_evidence.
 */
static void check_result(const struct set *s, const struct afgw_match_result *r,
			 struct afgw_str t, const struct msg *m, bool located)
{
	static uint32_t stamp[AFGW_RULES_MAX];
	static uint32_t epoch;
	if (++epoch == 0) {
		memset(stamp, 0, sizeof(stamp));
		epoch = 1;
	}
	size_t tlen = t.len > AFGW_MATCH_TEXT_MAX ? AFGW_MATCH_TEXT_MAX : t.len;
	must(r->serial == afgw_ruleset_serial(s->rs));
	must(r->score >= 0 && r->score <= 100);
	must(r->n_hits <= AFGW_MATCH_HITS_MAX);
	must(r->dropped == 0 || r->n_hits == AFGW_MATCH_HITS_MAX);
	must(r->truncated == (t.len > AFGW_MATCH_TEXT_MAX));
	must(r->located == located);
	must(r->norm && r->norm[r->norm_len] == '\0');
	must(r->ex != NULL);
	if (r->cached)
		must(r->ex->n_urls == 0 && r->ex->n_contacts == 0 && r->ex->n_numbers == 0);

	int p = 0, n = 0, strongest = 0;
	for (unsigned i = 0; i < r->n_hits; i++) {
		const struct afgw_match_hit *h = &r->hit[i];
		must(h->rule < s->n);
		must(stamp[h->rule] != epoch); /* each rule once */
		stamp[h->rule] = epoch;
		const struct afgw_rule *rule = afgw_ruleset_rule(s->rs, h->rule);
		must(h->r == rule);
		if (rule->weight > 0) {
			p += rule->weight;
			strongest = rule->weight > strongest ? rule->weight : strongest;
		} else {
			n -= rule->weight;
		}
		if (!text_kind(rule->kind)) {
			unsigned k = rule->kind == AFGW_RULE_SENDER ? 0
				     : rule->kind == AFGW_RULE_CALLER ? 1 : 2;
			must(m->num[k] != NULL && m->num_len[k] > 0);
			must(h->start == 0 && h->end == m->num_len[k]);
			continue;
		}
		must(h->norm_start <= h->norm_end && h->norm_end <= r->norm_len);
		must(h->start <= h->end && h->end <= tlen);
		if (h->norm_start < h->norm_end)
			must(h->start < h->end);
		if (rule->kind != AFGW_RULE_TEXT) {
			size_t is, ie;
			must(h->item < AFGW_EXTRACT_MAX);
			if (!r->cached) {
				must(item_span(r->ex, rule->kind, h->item, &is, &ie));
				must(h->norm_start == is && h->norm_end == ie);
			}
			continue;
		}
		must(char_start(r->norm, r->norm_len, h->norm_end));
		if (rule->flags & AFGW_RULE_F_REGEX) {
			if (located)
				must(char_start(r->norm, r->norm_len, h->norm_start));
			else
				must(h->norm_start == h->norm_end && h->start == h->end);
			continue;
		}
		const char *lit = s->lit[h->rule];
		must(lit != NULL);
		size_t ll = strlen(lit);
		must(ll == h->norm_end - h->norm_start);
		if (rule->flags & AFGW_RULE_F_NOCASE)
			must(strncasecmp(r->norm + h->norm_start, lit, ll) == 0);
		else
			must(memcmp(r->norm + h->norm_start, lit, ll) == 0);
	}
	/* the pure function against the header's formula, whatever M is */
	must(afgw_match_score(r->positive, r->negative, strongest) ==
	     formula(r->positive, r->negative, strongest));
	if (r->dropped == 0) {
		must(r->positive == p && r->negative == n);
		must(r->score == afgw_match_score(p, n, strongest));
		must(r->score == formula(p, n, strongest));
	} else {
		must(r->positive >= p && r->negative >= n);
	}
}

/* Everything a scan reports but ex and cached (test_match_cache's same()). */
static void must_same(const struct afgw_match_result *x, const struct afgw_match_result *y)
{
	must(x->serial == y->serial && x->score == y->score && x->positive == y->positive &&
	     x->negative == y->negative && x->n_hits == y->n_hits && x->dropped == y->dropped &&
	     x->truncated == y->truncated && x->located == y->located &&
	     x->norm_len == y->norm_len && memcmp(x->norm, y->norm, x->norm_len) == 0);
	for (unsigned i = 0; i < x->n_hits; i++) {
		const struct afgw_match_hit *h = &x->hit[i], *k = &y->hit[i];
		must(h->rule == k->rule && h->r == k->r && h->item == k->item &&
		     h->norm_start == k->norm_start && h->norm_end == k->norm_end &&
		     h->start == k->start && h->end == k->end);
	}
}

static void model_reset(struct model *mo)
{
	memset(mo->used, 0, sizeof(mo->used));
	mo->clock = 0;
	mo->kept = 0;
}

static bool model_ever(const struct model *mo, const char *t, size_t n)
{
	for (unsigned i = 0; i < mo->kept; i++)
		if (mo->ever_len[i] == n && memcmp(mo->ever[i], t, n) == 0)
			return true;
	return false;
}

/*
 * Check the cached worker's answer against the model, then update it.
 * full: the plain worker's result for the same message (keepable or not);
 * lru: the cache is one set of AFGW_MATCH_CACHE_WAYS slots, so the model is exact.
 */
static void model_step(struct model *mo, const struct afgw_match_result *full, bool cached,
		       bool lru)
{
	const char *t = full->norm;
	size_t n = full->norm_len;
	if (n == 0 || n > CACHE_TEXT_MAX) {
		must(!cached);
		return;
	}
	int slot = -1;
	for (int i = 0; i < AFGW_MATCH_CACHE_WAYS; i++)
		if (mo->used[i] && mo->len[i] == n && memcmp(mo->text[i], t, n) == 0)
			slot = i;
	if (cached)
		must(model_ever(mo, t, n));
	if (lru)
		must(cached == (slot >= 0));
	if (slot >= 0) {
		mo->used[slot] = ++mo->clock;
		return;
	}
	unsigned side = 0;
	for (unsigned i = 0; i < full->n_hits; i++)
		side += text_kind(full->hit[i].r->kind);
	if (full->dropped || side > CACHE_HITS_MAX)
		return;
	slot = 0;
	for (int i = 1; i < AFGW_MATCH_CACHE_WAYS; i++)
		if (mo->used[i] < mo->used[slot])
			slot = i;
	memcpy(mo->text[slot], t, n);
	mo->len[slot] = n;
	mo->used[slot] = ++mo->clock;
	if (!model_ever(mo, t, n) && mo->kept < 2 * MSG_MAX) {
		memcpy(mo->ever[mo->kept], t, n);
		mo->ever_len[mo->kept++] = n;
	}
}

/*
 * The located evidence of every text regex hit of r (a result of set s)
 * that cannot see the text's ends holds a match of its rule: scanned on
 * its own with s's plain worker (clobbering its last result), the rule
 * hits.  Skipped when the span would not normalize to itself.
 */
static void check_evidence(struct set *s, const struct afgw_match_result *r)
{
	for (unsigned i = 0; i < r->n_hits; i++) {
		const struct afgw_match_hit *h = &r->hit[i];
		if (!s->recheck[h->rule])
			continue;
		size_t n = h->norm_end - h->norm_start;
		if (n > sizeof(g.sub))
			continue;
		memcpy(g.sub, r->norm + h->norm_start, n);
		if (afgw_normalize(g.sub, n, AFGW_NORM_ALL, &g.nb) != 0 || g.nb.len != n ||
		    memcmp(g.nb.text, g.sub, n) != 0)
			continue;
		struct afgw_match_msg mm;
		memset(&mm, 0, sizeof(mm));
		mm.text = afgw_str_make(g.sub, n);
		must(afgw_match_scan(s->plain, &mm, &g.c) == 0);
		bool found = g.c.dropped > 0;
		for (unsigned j = 0; j < g.c.n_hits && !found; j++)
			found = g.c.hit[j].rule == h->rule;
		must(found);
		g.st.rechecked++;
	}
}

/* Scan m (as text t) with set si's plain worker and cached worker k, compare. */
static void scan_both(unsigned si, unsigned k, const struct msg *m, struct afgw_str t, bool lru)
{
	struct set *s = &g.set[si];
	struct afgw_match_msg mm;
	memset(&mm, 0, sizeof(mm));
	mm.text = t.len ? t : (struct afgw_str){ NULL, 0 }; /* "no text" as a decoder gives it */
	struct afgw_str *nums[3] = { &mm.sender, &mm.caller, &mm.callee };
	for (unsigned i = 0; i < 3; i++)
		if (m->num[i])
			*nums[i] = afgw_str_make(m->num[i], m->num_len[i]);

	must(afgw_match_scan(s->plain, &mm, &g.a) == 0);
	must(!g.a.cached);
	check_result(s, &g.a, t, m, false);
	must(afgw_match_scan(g.cw[k], &mm, &g.b) == 0);
	check_result(s, &g.b, t, m, false);
	must_same(&g.a, &g.b);
	model_step(&g.model[k], &g.a, g.b.cached, lru);

	must(afgw_match_evidence(s->plain, &g.a) == 0);
	must(afgw_match_evidence(g.cw[k], &g.b) == 0);
	check_result(s, &g.a, t, m, true);
	check_result(s, &g.b, t, m, true);
	must_same(&g.a, &g.b);
	must(afgw_match_evidence(g.cw[k], &g.b) == 0); /* located once: no change */
	must_same(&g.a, &g.b);
	check_evidence(s, &g.b);

	g.st.scans++;
	g.st.cached += g.b.cached;
	g.st.hits += g.a.n_hits > 0;
	g.st.over_cap += g.a.n_hits > CACHE_HITS_MAX;
	g.st.dropped += g.a.dropped > 0;
	g.st.truncated += g.a.truncated;
	for (unsigned i = 0; i < g.a.n_hits; i++)
		g.st.located += g.a.hit[i].r->kind == AFGW_RULE_TEXT &&
				(g.a.hit[i].r->flags & AFGW_RULE_F_REGEX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g.ready)
		setup();
	if (size < 1)
		return 0;
	unsigned flags = data[0];
	size_t entries = flags & 1 ? 2 * AFGW_MATCH_CACHE_WAYS : AFGW_MATCH_CACHE_WAYS;

	struct msg msgs[MSG_MAX];
	unsigned n = 0;
	const uint8_t *p = data + 1, *end = data + size;
	while (p < end && n < MSG_MAX) {
		const uint8_t *q = n + 1 < MSG_MAX ? memchr(p, SEP, (size_t)(end - p)) : NULL;
		if (!q)
			q = end;
		parse_msg(p, (size_t)(q - p), &msgs[n++]);
		p = q < end ? q + 1 : end;
	}

	/* every input starts from cached workers bound to their own set, caches empty */
	for (unsigned k = 0; k < 2; k++) {
		if (g.bound[k] != k) {
			must(afgw_match_worker_bind(g.cw[k], g.set[k].rs) == 0);
			g.bound[k] = k;
		}
		must(afgw_match_worker_cache(g.cw[k], entries) == 0);
		model_reset(&g.model[k]);
	}
	for (unsigned pass = 0; pass < 2; pass++) {
		if (pass == 1 && (flags & 2)) { /* a rebind must forget the old set's texts */
			for (unsigned k = 0; k < 2; k++) {
				must(afgw_match_worker_bind(g.cw[k], g.set[1 - k].rs) == 0);
				g.bound[k] = 1 - k;
				g.st.rebinds++;
				model_reset(&g.model[k]);
			}
		}
		for (unsigned j = 0; j < n; j++) {
			unsigned i = pass == 1 && (flags & 4) ? n - 1 - j : j;
			struct afgw_str t = pass_text(&msgs[i], pass);
			for (unsigned k = 0; k < 2; k++)
				scan_both(g.bound[k], k, &msgs[i], t,
					  entries <= AFGW_MATCH_CACHE_WAYS);
		}
	}
	return 0;
}
