/*
 * test_match.c - compiling rules into Hyperscan and scanning messages:
 * literals (normalized like traffic), regexes, nocase, word boundaries,
 * UTF-8 Chinese, url / contact / number / caller / callee / sender kinds,
 * evidence offsets in the original text, one hit per rule, the combining
 * rule for weights, Hyperscan errors at file:line, lint of examples,
 * rebinding a worker to a new ruleset; and the default rule set: it loads,
 * compiles, and every rule has match and nomatch examples that behave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "afgw_config.h"
#include "afgw/match.h"
#include "check.h"

/* A rule in flow style, one per line. */
#define R(id, kind, pat, flags, w)                                                                 \
	"- {id: " id ", kind: " kind ", pattern: '" pat "', flags: [" flags "], weight: " #w        \
	", category: c_" id ", desc_zh: 中, desc_en: en}\n"

static const char rules_text[] =
	"rules:\n"                                               /* line 1 */
	R("safe", "text", "安全账户", "", 40)                     /* 2: literal, Chinese */
	R("bank", "text", "ICBC", "", 10)                        /* 3: literal, upper case */
	R("gap", "text", "(刷单|点赞).{0,10}(佣金|返利)", "regex", 30) /* 4: bounded gap */
	R("irs", "text", "irs", "word", 20)                      /* 5: word boundary */
	R("warn", "text", "12381", "", -50)                      /* 6: genuine context */
	R("fw", "text", "ＵＳＤＴ", "", 15)                      /* 7: full-width literal */
	R("host", "url", "icbc-vip.top", "", 35)                 /* 8: domain and its subdomains */
	R("tld", "url", "\\.(top|xyz)$", "regex", 5)             /* 9: regex on the host */
	R("qq", "contact", "^qq:", "regex", 25)                  /* 10: any QQ contact */
	R("qqid", "contact", "2938475610", "", 50)               /* 11: one id, any messenger */
	R("mob", "number", "+86170", "", 20)                     /* 12: virtual operator in text */
	R("caller", "caller", "+86170", "", 20)                  /* 13: prefix of the caller */
	R("callee", "callee", "^\\+861380013800[0-9]$", "regex", 7) /* 14 */
	R("sender", "sender", "95588", "", 9)                    /* 15 */
	R("dot", "text", "a.b", "", 3);                          /* 16: '.' in a literal is a dot */

static struct afgw_ruleset *compile(const char *text, struct afgw_rules_diag *d, int *rc)
{
	struct afgw_rules rules;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(d);
	struct afgw_ruleset *rs = NULL;
	*rc = afgw_rules_load_buffer(&rules, "t.yaml", text, strlen(text), d);
	if (*rc == 0)
		*rc = afgw_ruleset_new(&rules, 7, d, &rs);
	afgw_rules_fini(&rules);
	return rs;
}

static struct afgw_match_result res;

static int scan_text(struct afgw_match_worker *w, const char *text)
{
	struct afgw_match_msg m;
	memset(&m, 0, sizeof(m));
	m.text = afgw_str_make(text, strlen(text));
	int rc = afgw_match_scan(w, &m, &res);
	return rc ? rc : afgw_match_evidence(w, &res);
}

static const struct afgw_match_hit *find_hit(const char *id)
{
	for (unsigned i = 0; i < res.n_hits; i++)
		if (!strcmp(res.hit[i].r->id, id))
			return &res.hit[i];
	return NULL;
}

/* The evidence of hit id in text, as a string compare. */
static void check_evidence(const char *text, const char *id, const char *want)
{
	const struct afgw_match_hit *h = find_hit(id);
	CHECK(h != NULL);
	if (h)
		CHECK_MEM(text + h->start, h->end - h->start, want);
}

static void test_text(struct afgw_match_worker *w)
{
	/* 请转入安 全 账 户 : spaces between CJK are noise; the evidence keeps them */
	const char *t = "请转入安 全 账 户，谢谢";
	CHECK_INT(scan_text(w, t), 0);
	CHECK_INT(res.n_hits, 1);
	check_evidence(t, "safe", "安 全 账 户");
	CHECK_INT(res.score, 40);
	CHECK_INT(res.serial, 7);

	/* upper / lower case, full width: ＩＣＢＣ -> icbc */
	t = "您的ＩＣＢＣ账户";
	CHECK_INT(scan_text(w, t), 0);
	check_evidence(t, "bank", "ＩＣＢＣ");
	t = "icbc and usdt";
	CHECK_INT(scan_text(w, t), 0);
	check_evidence(t, "bank", "icbc");
	check_evidence(t, "fw", "usdt"); /* the rule was written full-width */

	/* regex with a bounded gap: its start is located on request */
	t = "招聘刷单员，每天佣金300";
	struct afgw_match_msg m;
	memset(&m, 0, sizeof(m));
	m.text = afgw_str_make(t, strlen(t));
	CHECK_INT(afgw_match_scan(w, &m, &res), 0);
	CHECK(!res.located && find_hit("gap") && find_hit("gap")->start == find_hit("gap")->end);
	CHECK_INT(afgw_match_evidence(w, &res), 0);
	CHECK(res.located);
	check_evidence(t, "gap", "刷单员，每天佣金");
	CHECK_INT(scan_text(w, "刷单这件事说来话长我们改天再聊吧，佣金"), 0);
	CHECK(find_hit("gap") == NULL); /* gap longer than 10 characters */

	/* word: "irs" alone, not inside "first" */
	CHECK_INT(scan_text(w, "the first time"), 0);
	CHECK(find_hit("irs") == NULL);
	t = "Your IRS refund";
	CHECK_INT(scan_text(w, t), 0);
	check_evidence(t, "irs", "IRS");
	t = "退税IRS通知";
	CHECK_INT(scan_text(w, t), 0);
	check_evidence(t, "irs", "IRS"); /* CJK next to it is not a word character */

	/* a '.' in a literal is a dot */
	CHECK_INT(scan_text(w, "axb"), 0);
	CHECK(find_hit("dot") == NULL);
	CHECK_INT(scan_text(w, "a.b"), 0);
	CHECK(find_hit("dot") != NULL);

	/* one hit per rule per message */
	CHECK_INT(scan_text(w, "安全账户 安全账户 安全账户"), 0);
	CHECK_INT(res.n_hits, 1);
	CHECK_INT(res.positive, 40);

	/* negative context */
	CHECK_INT(scan_text(w, "【12381】公检法不会要求转账到安全账户"), 0);
	CHECK_INT(res.n_hits, 2);
	CHECK_INT(res.positive, 40);
	CHECK_INT(res.negative, 50);
	CHECK_INT(res.score, 10); /* max(40 - 50, 40 - 30) */

	/* empty text */
	CHECK_INT(scan_text(w, ""), 0);
	CHECK_INT(res.n_hits, 0);
	CHECK_INT(res.score, 0);
}

static void test_items(struct afgw_match_worker *w)
{
	const char *t = "点击 http://icbc-vip.top/x 领取";
	CHECK_INT(scan_text(w, t), 0);
	CHECK(res.ex->n_urls == 1);
	check_evidence(t, "host", "http://icbc-vip.top/x");
	CHECK(find_hit("tld") != NULL);
	CHECK(find_hit("bank") != NULL); /* the text rule sees the URL too */

	t = "点击 http://www.icbc-vip.top/x";
	CHECK_INT(scan_text(w, t), 0);
	CHECK(find_hit("host") != NULL); /* subdomain */
	CHECK_INT(scan_text(w, "点击 http://myicbc-vip.top/x"), 0);
	CHECK(find_hit("host") == NULL); /* not a parent domain */
	CHECK(find_hit("tld") != NULL);

	t = "加QQ 2938475610 咨询";
	CHECK_INT(scan_text(w, t), 0);
	CHECK(res.ex->n_contacts == 1);
	CHECK(find_hit("qq") != NULL);
	CHECK(find_hit("qqid") != NULL);
	if (find_hit("qqid"))
		CHECK(strstr(t + find_hit("qqid")->start, "2938475610") != NULL);
	CHECK_INT(scan_text(w, "加QQ 2938475611 咨询"), 0);
	CHECK(find_hit("qq") != NULL);
	CHECK(find_hit("qqid") == NULL);

	t = "请回电17012345678";
	CHECK_INT(scan_text(w, t), 0);
	check_evidence(t, "mob", "17012345678");
	CHECK_INT(scan_text(w, "请回电13812345678"), 0);
	CHECK(find_hit("mob") == NULL);

	struct afgw_match_msg m;
	memset(&m, 0, sizeof(m));
	m.caller = AFGW_STR_LIT("+8617012345678");
	m.callee = AFGW_STR_LIT("+8613800138005");
	m.sender = AFGW_STR_LIT("95588");
	CHECK_INT(afgw_match_scan(w, &m, &res), 0);
	CHECK_INT(res.n_hits, 3);
	CHECK(find_hit("caller") && find_hit("caller")->end == 14);
	CHECK(find_hit("callee") != NULL);
	CHECK(find_hit("sender") != NULL);
	CHECK(find_hit("mob") == NULL); /* number rules look at numbers in the text only */
	m.caller = AFGW_STR_LIT("+8613012345678");
	m.callee = AFGW_STR_LIT("+86138001380050");
	m.sender = AFGW_STR_LIT("1095588");
	CHECK_INT(afgw_match_scan(w, &m, &res), 0);
	CHECK_INT(res.n_hits, 0);
}

static void test_score(void)
{
	CHECK_INT(afgw_match_score(0, 0, 0), 0);
	CHECK_INT(afgw_match_score(30, 0, 30), 30);
	CHECK_INT(afgw_match_score(150, 0, 60), 100);   /* capped */
	CHECK_INT(afgw_match_score(70, 90, 30), 0);     /* negatives take at most 80 */
	CHECK_INT(afgw_match_score(100, 90, 40), 20);   /* 100 - 80 */
	CHECK_INT(afgw_match_score(100, 80, 85), 55);   /* a strong hit keeps >= warn */
	CHECK_INT(afgw_match_score(0, 40, 0), 0);
	CHECK_INT(afgw_match_score(45, 0, 45), 45);
	/* exhaustive: never out of range; a hit >= 80 always warns */
	int bad = 0;
	for (int p = 0; p <= 300; p += 5)
		for (int n = 0; n <= 300; n += 5)
			for (int m = 0; m <= 100 && m <= p; m += 5) {
				int s = afgw_match_score(p, n, m);
				if (s < 0 || s > 100 || (m >= 80 && s < AFGW_MATCH_WARN))
					bad++;
			}
	CHECK_INT(bad, 0);
}

static void test_errors(void)
{
	struct afgw_rules_diag d;
	int rc;
	/* Hyperscan's own message, at the rule's pattern line; every bad regex */
	struct afgw_ruleset *rs = compile("rules:\n" R("ok", "text", "fine", "", 1)
					  R("bad1", "text", "(abc", "regex", 1)
					  R("bad2", "text", "a{2,1}", "regex", 1),
					  &d, &rc);
	CHECK(rs == NULL);
	CHECK_INT(rc, -EINVAL);
	CHECK_INT(d.errors, 2);
	if (d.n == 2) {
		CHECK(!strcmp(d.msg[0].text, "t.yaml:3: rule 'bad1': bad regex: Missing close "
					    "parenthesis for group started at index 0."));
		CHECK(!strncmp(d.msg[1].text, "t.yaml:4: rule 'bad2': bad regex: ", 34));
	}
	afgw_rules_diag_fini(&d);

	/* an expression that matches the empty string is refused with its reason */
	rs = compile("rules:\n" R("empty", "text", "x*", "regex", 1), &d, &rc);
	CHECK(rs == NULL && d.errors == 1);
	if (d.n == 1)
		CHECK(!strncmp(d.msg[0].text, "t.yaml:2: rule 'empty': bad regex: ", 35));
	afgw_rules_diag_fini(&d);

	/* a literal that normalizes to nothing: a warning, the rule is disabled */
	rs = compile("rules:\n- {id: zw, kind: text, pattern: \"\\u200b\", weight: 1, category: c, "
		     "desc_zh: z, desc_en: e}\n",
		     &d, &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(d.warnings, 1);
	if (d.n == 1)
		CHECK(!strcmp(d.msg[0].text,
			      "t.yaml:2: warning: rule 'zw': the literal normalizes to nothing; rule disabled"));
	if (rs) {
		struct afgw_match_expr e;
		afgw_ruleset_expr(rs, 0, &e);
		CHECK(e.expr == NULL);
		struct afgw_match_worker *w = NULL;
		CHECK_INT(afgw_match_worker_new(rs, 86, &w), 0);
		CHECK_INT(scan_text(w, "anything"), 0);
		CHECK_INT(res.n_hits, 0);
		afgw_match_worker_free(w);
		afgw_ruleset_free(rs);
	}
	afgw_rules_diag_fini(&d);

	/* regexes that Hyperscan's UTF-8 mode would need: refused with a reason */
	rs = compile("rules:\n" R("cls", "text", "[薇威]信", "regex", 1)
		     R("prop", "text", "\\p{Han}+", "regex", 1), &d, &rc);
	CHECK(rs == NULL && d.errors == 2);
	if (d.n == 2) {
		CHECK(!strcmp(d.msg[0].text, "t.yaml:2: rule 'cls': bad regex: a [...] class cannot "
					    "hold a non-ASCII character: write (a|b)"));
		CHECK(!strcmp(d.msg[1].text, "t.yaml:3: rule 'prop': bad regex: \\p, \\P, \\X, \\C "
					    "and \\Q need the flag utf8"));
	}
	afgw_rules_diag_fini(&d);
	/* ... and accepted with it */
	rs = compile("rules:\n" R("cls", "text", "[薇威]信", "regex, utf8", 1)
		     R("prop", "text", "\\p{Han}{3}", "regex, ucp", 1), &d, &rc);
	CHECK_INT(rc, 0);
	afgw_rules_diag_fini(&d);
	if (rs) {
		struct afgw_match_expr e;
		afgw_ruleset_expr(rs, 0, &e);
		CHECK(e.utf8 && !e.ucp);
		afgw_ruleset_expr(rs, 1, &e);
		CHECK(e.utf8 && e.ucp);
		struct afgw_match_worker *w = NULL;
		CHECK_INT(afgw_match_worker_new(rs, 86, &w), 0);
		const char *t = "加薇信 abc 你好吗";
		CHECK_INT(scan_text(w, t), 0);
		check_evidence(t, "cls", "薇信");
		check_evidence(t, "prop", "加薇信"); /* the first three Han characters */
		afgw_match_worker_free(w);
		afgw_ruleset_free(rs);
	}
}

/*
 * Byte-mode rewriting keeps character meaning: quantified CJK, and "any
 * character" atoms (., [^...], \D) that match one character of one to four
 * bytes, bare or counted, and stay byte loops under * and +.
 */
static void test_rewrite(void)
{
	struct afgw_rules_diag d;
	int rc;
	struct afgw_ruleset *rs = compile("rules:\n"
					  R("opt", "text", "银行卡号?有误", "regex", 1)
					  R("gap", "text", "^刷.{2}单$", "regex", 1)
					  R("neg", "text", "转[^0-9]{0,2}万", "regex", 1)
					  R("star", "text", "(加|\\+)(微|薇)+信", "regex", 1)
					  R("dot", "text", "刷.单", "regex", 1)
					  R("apos", "text", "^(it|that).s me$", "regex", 1)
					  R("qdot", "text", "^ab.?cd$", "regex", 1)
					  R("ndig", "text", "^第\\D期$", "regex", 1)
					  R("nset", "text", "^x[^-a]y$", "regex", 1)
					  R("run", "text", "^老.*总$", "regex", 1),
					  &d, &rc);
	CHECK_INT(rc, 0);
	for (unsigned i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msg[i].text);
	afgw_rules_diag_fini(&d);
	if (!rs)
		return;
	static const char any[] = "[\\xc0-\\xdf][\\x80-\\xbf]|[\\xe0-\\xef][\\x80-\\xbf]{2}|"
				  "[\\xf0-\\xf7][\\x80-\\xbf]{3})";
	char want[512];
	struct afgw_match_expr e;
	afgw_ruleset_expr(rs, 0, &e);
	CHECK(e.expr && !strcmp(e.expr, "银行卡(?:号)?有误") && !e.utf8);
	afgw_ruleset_expr(rs, 1, &e);
	snprintf(want, sizeof(want), "^刷(?:[^\\x80-\\xff\\n]|%s{2}单$", any);
	CHECK(e.expr && !strcmp(e.expr, want));
	afgw_ruleset_expr(rs, 2, &e);
	snprintf(want, sizeof(want), "转(?:[^\\x80-\\xff0-9]|%s{0,2}万", any);
	CHECK(e.expr && !strcmp(e.expr, want));
	afgw_ruleset_expr(rs, 9, &e);
	CHECK(e.expr && !strcmp(e.expr, "^老.*总$")); /* a run of characters: the byte loop */

	struct afgw_match_worker *w = NULL;
	CHECK_INT(afgw_match_worker_new(rs, 86, &w), 0);
	CHECK_INT(scan_text(w, "银行卡有误"), 0);
	CHECK(find_hit("opt") != NULL);
	CHECK_INT(scan_text(w, "银行卡号号有误"), 0);
	CHECK(find_hit("opt") == NULL); /* ? applies to the whole character */
	CHECK_INT(scan_text(w, "刷好多单"), 0);
	CHECK(find_hit("gap") != NULL);
	CHECK_INT(scan_text(w, "刷好多多单"), 0);
	CHECK(find_hit("gap") == NULL); /* three characters are more than {2} */
	CHECK_INT(scan_text(w, "刷多单"), 0);
	CHECK(find_hit("gap") == NULL); /* one Chinese character is fewer than {2} */
	CHECK_INT(scan_text(w, "刷ab单"), 0);
	CHECK(find_hit("gap") != NULL);
	const char *t = "请先转账三万";
	CHECK_INT(scan_text(w, t), 0);
	check_evidence(t, "neg", "转账三万");
	CHECK_INT(scan_text(w, "转给他们三万"), 0);
	CHECK(find_hit("neg") == NULL);
	t = "请加薇薇信";
	CHECK_INT(scan_text(w, t), 0);
	check_evidence(t, "star", "加薇薇信");

	/* a bare . is one character, whatever its length in bytes */
	t = "在家刷个单";
	CHECK_INT(scan_text(w, t), 0);
	check_evidence(t, "dot", "刷个单");
	CHECK_INT(scan_text(w, "刷x单"), 0);
	CHECK(find_hit("dot") != NULL);
	CHECK_INT(scan_text(w, "刷两个单"), 0);
	CHECK(find_hit("dot") == NULL);
	CHECK_INT(scan_text(w, "it\xe2\x80\x99s me"), 0); /* it’s me: U+2019 is 3 bytes */
	CHECK(find_hit("apos") != NULL);
	CHECK_INT(scan_text(w, "that's me"), 0);
	CHECK(find_hit("apos") != NULL);
	CHECK_INT(scan_text(w, "it is me"), 0);
	CHECK(find_hit("apos") == NULL);
	CHECK_INT(scan_text(w, "ab\xf0\x9f\x98\x80" "cd"), 0); /* ab😀cd: 4 bytes */
	CHECK(find_hit("qdot") != NULL);
	CHECK_INT(scan_text(w, "abcd"), 0);
	CHECK(find_hit("qdot") != NULL);
	CHECK_INT(scan_text(w, "abxxcd"), 0);
	CHECK(find_hit("qdot") == NULL); /* ? is at most one character */
	CHECK_INT(scan_text(w, "第三期"), 0);
	CHECK(find_hit("ndig") != NULL);
	CHECK_INT(scan_text(w, "第3期"), 0);
	CHECK(find_hit("ndig") == NULL);
	CHECK_INT(scan_text(w, "x好y"), 0);
	CHECK(find_hit("nset") != NULL);
	CHECK_INT(scan_text(w, "x-y"), 0);
	CHECK(find_hit("nset") == NULL); /* the leading - stays a member */
	CHECK_INT(scan_text(w, "xay"), 0);
	CHECK(find_hit("nset") == NULL);
	CHECK_INT(scan_text(w, "老王啊王总"), 0);
	CHECK(find_hit("run") != NULL);
	afgw_match_worker_free(w);
	afgw_ruleset_free(rs);
}

static void test_many_hits(void)
{
	/* 100 rules that all hit: 64 listed, all scored, one counted as dropped each */
	size_t cap = 100 * 200, off = 0;
	char *buf = malloc(cap);
	CHECK(buf != NULL);
	if (!buf)
		return;
	off += (size_t)snprintf(buf, cap, "rules:\n");
	for (int i = 0; i < 100; i++)
		off += (size_t)snprintf(buf + off, cap - off,
					"- {id: r%d, kind: text, pattern: 'a%s', weight: %d, "
					"category: c, desc_zh: z, desc_en: e}\n",
					i, i % 2 ? "b" : "", i % 2 ? 1 : -1);
	struct afgw_rules_diag d;
	int rc;
	struct afgw_ruleset *rs = compile(buf, &d, &rc);
	free(buf);
	CHECK_INT(rc, 0);
	afgw_rules_diag_fini(&d);
	if (!rs)
		return;
	CHECK_INT(afgw_ruleset_count(rs), 100);
	struct afgw_match_worker *w = NULL;
	CHECK_INT(afgw_match_worker_new(rs, 86, &w), 0);
	CHECK_INT(scan_text(w, "ab"), 0);
	CHECK_INT(res.n_hits, AFGW_MATCH_HITS_MAX);
	CHECK_INT(res.dropped, 100 - AFGW_MATCH_HITS_MAX);
	CHECK_INT(res.positive, 50);
	CHECK_INT(res.negative, 50);
	CHECK_INT(afgw_match_scan_normalized(w, "ab", 2), 100);
	CHECK_INT(afgw_match_scan_normalized(w, "a", 1), 50);
	afgw_match_worker_free(w);
	afgw_ruleset_free(rs);
}

static void test_lint_and_rebind(void)
{
	static const char text[] =
		"rules:\n"
		"- id: r1\n"                                   /* 2 */
		"  kind: text\n"
		"  pattern: '(刷单|點讚)'\n"                   /* 4: traditional 點讚 */
		"  flags: [regex]\n"
		"  weight: 30\n"
		"  category: c\n"
		"  desc_zh: z\n"
		"  desc_en: e\n"
		"  match: [招聘刷单员, 在家点赞]\n"             /* 10 */
		"  nomatch: [刷 单是诈骗]\n"                   /* 11 */
		"- id: r2\n"                                   /* 12 */
		"  kind: caller\n"
		"  pattern: '+86170'\n"
		"  weight: 30\n"
		"  category: c\n"
		"  desc_zh: z\n"
		"  desc_en: e\n"
		"  match: ['17012345678']\n"
		"  nomatch: ['008617012345678']\n";            /* 20 */
	struct afgw_rules_diag d;
	int rc;
	struct afgw_ruleset *rs = compile(text, &d, &rc);
	CHECK_INT(rc, 0);
	if (!rs)
		return;
	CHECK_INT(afgw_ruleset_lint(rs, 86, &d), 4);
	CHECK_INT(d.warnings, 4);
	if (d.n == 4) {
		CHECK(!strcmp(d.msg[0].text, "t.yaml:4: warning: rule 'r1': regex has '點', which normalized "
					    "text never contains (write '点')"));
		CHECK(!strcmp(d.msg[1].text, "t.yaml:10: warning: rule 'r1': match example does not match"));
		CHECK(!strcmp(d.msg[2].text, "t.yaml:11: warning: rule 'r1': nomatch example matches"));
		CHECK(!strcmp(d.msg[3].text, "t.yaml:20: warning: rule 'r2': nomatch example matches"));
	}
	afgw_rules_diag_fini(&d);

	/* rebind a worker: the new ruleset's rules and serial */
	struct afgw_match_worker *w = NULL;
	CHECK_INT(afgw_match_worker_new(rs, 86, &w), 0);
	CHECK_INT(scan_text(w, "刷单"), 0);
	CHECK_INT(res.serial, 7);
	CHECK_INT(res.n_hits, 1);
	struct afgw_ruleset *rs2 = compile("rules:\n" R("other", "text", "xyz", "", 5), &d, &rc);
	afgw_rules_diag_fini(&d);
	CHECK(rs2 != NULL);
	if (rs2) {
		CHECK_INT(afgw_match_worker_bind(w, rs2), 0);
		afgw_ruleset_free(rs); /* no worker uses it any more */
		rs = NULL;
		CHECK_INT(scan_text(w, "刷单 xyz"), 0);
		CHECK_INT(res.n_hits, 1);
		CHECK(find_hit("other") != NULL);
	}
	afgw_match_worker_free(w);
	afgw_ruleset_free(rs);
	afgw_ruleset_free(rs2);
}

/* rules/default: every rule's own match / nomatch examples, no lint warning. */
static void test_default_rules(void)
{
	struct afgw_rules rules;
	struct afgw_rules_diag d;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	struct afgw_ruleset *rs = NULL;
	int rc = afgw_rules_load_dir(&rules, AFGW_SOURCE_DIR "/rules/default", &d);
	if (rc == 0)
		rc = afgw_ruleset_new(&rules, 1, &d, &rs);
	afgw_rules_fini(&rules);
	CHECK_INT(rc, 0);
	if (rs) {
		CHECK(afgw_ruleset_count(rs) >= 150);
		CHECK_INT(afgw_ruleset_lint(rs, 86, &d), 0);
		unsigned examples = 0;
		for (size_t i = 0; i < afgw_ruleset_count(rs); i++) {
			const struct afgw_rule *r = afgw_ruleset_rule(rs, i);
			CHECK(r->n_match >= 1 && r->n_nomatch >= 1);
			examples += r->n_match + r->n_nomatch;
		}
		printf("rules/default: %zu rules, %u examples checked\n", afgw_ruleset_count(rs),
		       examples);
	}
	for (unsigned i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msg[i].text);
	afgw_rules_diag_fini(&d);
	afgw_ruleset_free(rs);
}

int main(void)
{
	struct afgw_rules_diag d;
	int rc;
	struct afgw_ruleset *rs = compile(rules_text, &d, &rc);
	CHECK_INT(rc, 0);
	for (unsigned i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msg[i].text);
	afgw_rules_diag_fini(&d);
	if (rs) {
		CHECK_INT(afgw_ruleset_count(rs), 15);
		struct afgw_match_worker *w = NULL;
		CHECK_INT(afgw_match_worker_new(rs, 86, &w), 0);
		if (w) {
			test_text(w);
			test_items(w);
		}
		afgw_match_worker_free(w);
		afgw_ruleset_free(rs);
	}
	test_score();
	test_errors();
	test_rewrite();
	test_many_hits();
	test_lint_and_rebind();
	test_default_rules();
	return check_report();
}
