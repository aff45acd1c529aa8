/*
 * test_eval.c - how well the default rule set does on labelled SMS.
 *
 * Loads rules/default, scans every text of tests/data/sms_corpus.tsv and
 * of the .tsv files in rules/samples, and prints per category the share caught
 * (score >= AFGW_MATCH_WARN): recall for fraud, false-positive rate for
 * legitimate texts.  Corpus figures are given for all rows and for the
 * rows with odd and with even numeric id separately (rules are tuned
 * looking only at even rows, so the odd column is the honest estimate of
 * generalization); rules/samples (written with the rules) on their own.
 * Then every fraud text is evaded automatically, with a fixed seed: spaces
 * or symbols between Chinese characters, full-width letters and digits,
 * traditional characters (opencc -c s2t.json, or a small built-in table
 * when opencc is missing), zero-width characters, and homophones (微 -> 薇
 * or 威, 信 -> 芯, 加 -> +, 元 -> 圆); each technique alone and a random mix
 * of them.  (Each rule's own examples are checked by test_match.)
 *
 * The floors asserted at the end sit a little below the figures reached,
 * so that a regression fails the test.  AFGW_EVAL_VERBOSE=1 lists the
 * misses and false positives of even rows (=all: every row).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afgw_config.h"
#include "afgw/match.h"
#include "check.h"
#include "corpus.h"

#ifndef AFGW_TESTS_DIR
#define AFGW_TESTS_DIR AFGW_SOURCE_DIR "/tests"
#endif

/*
 * Floors (percent), just below what the rule set reaches (corpus: recall
 * 92.5 %, odd rows 81.6 %, false positives 0.5 % (5 texts in 1093, all on
 * odd rows: 1.3 % of them), evaded 91.7 %; rules/samples: recall 97.1 %,
 * false positives 0 % of 679).  The corpus grew from 681 to 1431 texts with
 * five batches of hard texts, each scored before the rules were tuned on its
 * even rows, so these figures are lower than the 92.8 % / 85.5 % / 0.3 % of
 * the first 681 texts: the odd rows of the new batches are openers and new
 * wordings the rules never saw.  The eighth round (291 -> 309 rules) took the
 * corpus from 87.2 % / 75.7 % / 1.3 % to 88.1 % / 76.9 % / 1.1 %.  The ninth
 * (issue "Match", 309 -> 336 rules: scheme facets for romance and English
 * crypto openers, plain loan offers, fake bosses, call-back and job scams)
 * added batch 7 with even ids only (102 fraud, 112 legitimate; 64 % of its
 * first 58 fraud texts caught before tuning) and took the odd rows from
 * 76.9 % to 78.9 % (false positives on odd rows unchanged, 2.1 %); the
 * whole-corpus recall is flat because batch 7 keeps 19 openers the rules
 * still miss, and its false-positive rate fell by dilution, not by a fix.
 * The tenth (round 2 of issue "Match", 336 -> 348 rules: fake teachers'
 * fees into a personal account, "fee before the money is released", card
 * details "to receive", charge call-backs, mentor and exclusivity lures,
 * loans through a private WeChat; the double-counted "美女你好" and the
 * "各位家长" discount fixed) added batch 8, even ids only (45 fraud, 50
 * legitimate; 75.6 % / 0 % before tuning) and took the odd rows from 78.9 %
 * to 79.8 % (false positives on odd rows unchanged, 2.1 %).
 * The eleventh (round 3 of issue "Match", 348 -> 346 rules) merged rules
 * that scored one phrase many times ("先交手续费才能出金" hit seven rules:
 * fee_unlocks, frozen_release, activation_fee and small_fees folded into
 * pay_before_receive, upfront_fee and fee_before_loan; the relative with
 * inside knowledge counted once; the boss's and the police's money or
 * contact word no longer counted on top of the money facet), added batch
 * 9, even ids only (23 fraud, 24 legitimate; 82.6 % / 4.2 % before
 * tuning) and took the odd rows from 79.8 % / 2.1 % to 80.1 % / 1.8 %.
 * The twelfth (round 4 of issue "Match", 346 -> 351 rules) gave the legit
 * texts nearest the threshold, each carried by one rule, the concept they
 * lacked: "come to my office" counts fully only with a new number or a
 * self-introduction, "老板" only as your boss, "Hi Mum" only with an ask;
 * receipts ("payment received", "已原路退回，无需任何操作") became genuine
 * context; romance and fake-boss schemes (a lover or new acquaintance
 * pivoting to money, a stranger or a boss moving you to a private
 * channel).  Odd rows 80.1 % / 1.8 % -> 79.8 % / 1.3 % (one en_other text
 * lost, three false positives fewer), corpus 89.9 % / 0.5 %, evaded 89.2 %.
 * The thirteenth (round 5 of issue "Match", 351 rules before and after:
 * fast_bond and normal_process added, the double-counting
 * claim_private_channel and stranger_to_private deleted) added batch 10,
 * even ids only (47 fraud, 38 legitimate; 57.4 % / 0 % before tuning),
 * and rules/samples batch 8 (zh_eighth, en_fourth: 309 texts in eight
 * rounds, each scored before tuning: 139 of 203 fraud caught, 6 of 106
 * legitimate flagged on first sight), half of them siblings of even
 * rows that only just pass; it generalized the rules those texts missed
 * (who says "the boss told me to contact you", fees and top-ups "then it
 * all comes out", a stranger "in the group" or "who saw you at the gym",
 * a lover's short-acquaintance commitment, call-backs by "speak to an
 * agent" or "press 1") and took the odd rows from 79.8 % / 1.3 % to
 * 80.7 % / 1.3 %, the corpus to 90.9 % / 0.5 %, evaded 90.1 %; the
 * samples fall to 97.9 % because batch 8 keeps its openers without a
 * scheme element (a good-morning text, an old schoolmate) as misses.
 * ctx.en.payment_receipt went from -20 to -10: no legitimate text needs
 * more, and scams quote receipts too.
 * The fourteenth (round 6 of issue "Match", 351 -> 353 rules: en.loan.offer
 * for English loan texts, ctx.zh.reunion for an old classmate who invites
 * you to a party) added batch 11, even ids only (25 fraud, 20 legitimate;
 * 76.0 % / 0 % before tuning), and rules/samples batch 9 (zh_ninth,
 * en_fifth: 154 texts in five rounds, 68 of 97 fraud caught and 3 of 57
 * legitimate flagged on first sight), mostly rewordings of even rows that
 * only just pass; it widened the phrasing of the hooks those missed rather
 * than adding rules (a boss's "来趟我办公室" and "以后用这个号", a relative
 * who "borrowed a classmate's phone", "this fee is required first", "pay a
 * 15% security deposit", "is this X's number" counted once, not twice),
 * turned some bounded gaps into `.*` or `[^.]*`, and took the odd rows from
 * 80.7 % / 1.3 % to 81.3 % / 1.3 % (fake_boss 76.3 -> 78.9 %, en_new_number
 * 84.2 -> 89.5 %; romance openers and English crypto openers unchanged at
 * 50.0 % and 58.8 %), the corpus to 91.4 % / 0.5 %, evaded 90.6 %.
 * The fifteenth (round 7 of issue "Match", 353 -> 360 rules: a recovery
 * scam, an "inheritance" lure, compensation through a credit line
 * (备用金, 借呗), a platform boast, returning home from abroad, asking about
 * your city's house prices, probing for an interest in stocks) added batch
 * 12, even ids only (41 fraud, 30 legitimate, written from published
 * police and consumer warnings; 87.8 % / 0 % before tuning), and
 * rules/samples batch 10 (zh_tenth, en_sixth: 338 texts in eleven rounds,
 * 191 of 238 fraud caught and 2 of 100 legitimate flagged on first sight);
 * it widened hooks and actions (百万医疗保障 and "每个月扣" from the
 * platform's voice, an amount between 转 and 这张卡, new-payee, new-device,
 * sign-in and "you sent" call-backs, "contact our fraud team", 工资卡 and
 * 年终奖 registration, 额度失效 kept through 客服, refundable membership
 * fees, 包装费) and fixed ctx.zh.negated_request, which read "如不需要请
 * 配合我们在支付宝里关闭" as a warning.  Odd rows 81.3 % -> 81.6 %
 * (en_crypto 58.8 -> 64.7 %; romance openers unchanged at 50.0 %), no new
 * false positive, corpus 91.9 % / 0.5 %, evaded 91.3 %; the older samples
 * are unchanged at 98.1 %, the total falls to 97.2 % because batch 10
 * keeps its openers without a scheme element as misses.
 * The sixteenth (round 8 of issue "Match", 360 -> 367 rules: a lover's
 * "top up this platform, withdraw it with the interest", a streamer's
 * gifts, a PC "blocked by Windows Defender", files "will be deleted", a
 * page appeal against a deadline, a trader persona, a profit figure for a
 * week or a month) added batch 13, even ids only (46 fraud, 30
 * legitimate, from published warnings and weighted to the weak types;
 * 87.0 % / 0 % before tuning), and rules/samples batch 11 (zh_eleventh,
 * en_seventh: 108 texts in five rounds, 55 of 67 fraud caught and none of
 * 41 legitimate flagged on first sight); it widened hooks and actions
 * (达到借款标准, 合同修改费 and a wrong 身份证号 that "locks" the loan, a
 * game buyer who "already bought it" on a site he names, a toll "driven
 * through without paying", "scheduled for removal", "verify ownership",
 * rating products for pay, Bitcoin and futures groups, "add you to our
 * private group") and fixed ctx.zh.negated_request, which read a loan
 * ad's "无需抵押，当天到账，点击" as a warning (无需 / 不用 now reach 5
 * characters, not 8).  Odd rows unchanged at 81.6 % (what they miss
 * carries no scheme element), no new false positive, corpus 92.3 % /
 * 0.5 %, evaded 91.6 %, samples 97.3 %.
 * The seventeenth (round 9 of issue "Match", 367 -> 369 rules: a
 * platform's "credit score" that holds up a payout, a request to confirm
 * a Medicare / Social Security number or a date of birth) added batch 14,
 * even ids only (49 fraud, 31 legitimate, from the scripts of 2024-2026
 * that police anti-fraud centres and consumer warnings publish; 75.5 % /
 * 0 % before tuning), and rules/samples batch 12 (zh_twelfth, en_eighth:
 * 82 texts in two rounds, 45 of 52 fraud caught and none of 29
 * legitimate flagged on first sight); it widened hooks (出款, 已批准,
 * a gift held for a 保险费, 游戏里认识, 冒昧私信 and a 点赞 on a named
 * platform, "只认藏宝阁", "turn $500 into $5,000", "60-90 min a day",
 * a free gold-trading training, "students usually earn", exchange names,
 * student loan forgiveness, an outstanding traffic ticket).  Odd rows
 * unchanged at 81.6 %, no new false positive, corpus 92.5 % / 0.5 %,
 * evaded 91.7 %, samples 97.1 % (batch 12 keeps three misses).
 * The targets of the issue are 90 % / 1 % / 80 %; the odd rows, not the
 * whole corpus, are the estimate for unseen traffic (rules/README.md).
 */
#define FLOOR_RECALL 92.3
#define FLOOR_RECALL_ODD 81.4
#define FLOOR_FP 0.6
#define FLOOR_EVADED 91.5
#define FLOOR_SAMPLES_RECALL 96.9
#define FLOOR_SAMPLES_FP 0.2

struct row {
	char id[32];
	bool fraud;
	char cat[40];
	char *text;
	size_t len;
	int parity;        /* 0 even, 1 odd (corpus); 3 rules/samples */
	bool caught;
	int score;
};

static struct row *rows;
static size_t n_rows, cap_rows;

/* ---- reading the TSV files -------------------------------------------- */

static int load_tsv(const char *path, bool sample)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	int rc = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		char *field[5];
		char *p = line;
		int k;
		for (k = 0; k < 5 && p; k++) {
			field[k] = p;
			p = k < 4 ? strchr(p, '\t') : NULL;
			if (p)
				*p++ = '\0';
		}
		if (k != 5) {
			fprintf(stderr, "%s:%u: not 5 fields\n", path, lineno);
			rc = -1;
			continue;
		}
		if (n_rows == cap_rows) {
			cap_rows = cap_rows ? cap_rows * 2 : 1024;
			rows = realloc(rows, cap_rows * sizeof(*rows));
			if (!rows)
				abort();
		}
		struct row *r = &rows[n_rows++];
		memset(r, 0, sizeof(*r));
		snprintf(r->id, sizeof(r->id), "%s", field[0]);
		r->fraud = !strcmp(field[1], "fraud");
		snprintf(r->cat, sizeof(r->cat), "%s", field[2]);
		r->text = strdup(field[4]);
		if (!r->text)
			abort();
		r->len = corpus_unescape(r->text, strlen(r->text));
		const char *d = r->id;
		while (*d && (*d < '0' || *d > '9'))
			d++;
		r->parity = sample ? 3 : (int)(strtoul(d, NULL, 10) & 1);
	}
	free(line);
	fclose(f);
	return rc;
}

static int tsv_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return n > 4 && !strcmp(e->d_name + n - 4, ".tsv");
}

/* ---- evasion ------------------------------------------------------------ */

static uint64_t rng = 0x5eed2024afc0ffeeull;

static uint32_t rnd(void)
{
	/* xorshift64*: fixed seed, same evasions on every run */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

static bool chance(unsigned percent)
{
	return rnd() % 100 < percent;
}

static size_t u8len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

static uint32_t decode(const char *s, size_t *l)
{
	const unsigned char *u = (const unsigned char *)s;
	*l = u8len(u[0]);
	switch (*l) {
	case 1:
		return u[0];
	case 2:
		return ((u[0] & 0x1fu) << 6) | (u[1] & 0x3fu);
	case 3:
		return ((u[0] & 0x0fu) << 12) | ((u[1] & 0x3fu) << 6) | (u[2] & 0x3fu);
	default:
		return ((u[0] & 0x07u) << 18) | ((u[1] & 0x3fu) << 12) | ((u[2] & 0x3fu) << 6) |
		       (u[3] & 0x3fu);
	}
}

static void put_cp(char *out, size_t *o, uint32_t c)
{
	if (c < 0x80) {
		out[(*o)++] = (char)c;
	} else if (c < 0x800) {
		out[(*o)++] = (char)(0xc0 | (c >> 6));
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		out[(*o)++] = (char)(0xe0 | (c >> 12));
		out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | (c >> 18));
		out[(*o)++] = (char)(0x80 | ((c >> 12) & 0x3f));
		out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	}
}

static bool is_cjk(uint32_t c)
{
	return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf);
}

enum { EV_SPACE = 1, EV_FULLWIDTH = 2, EV_TRAD = 4, EV_ZEROWIDTH = 8, EV_HOMOPHONE = 16 };
static const char *const ev_names[] = { "spacing", "full-width", "traditional", "zero-width",
					"homophones" };

/* A few traditional forms for when opencc is not installed. */
static const struct {
	const char *s, *t;
} trad_small[] = {
	{ "账", "賬" }, { "户", "戶" }, { "诈", "詐" }, { "骗", "騙" }, { "单", "單" },
	{ "点", "點" }, { "赞", "讚" }, { "关", "關" }, { "资", "資" }, { "金", "金" },
	{ "转", "轉" }, { "银", "銀" }, { "卡", "卡" }, { "贷", "貸" }, { "款", "款" },
	{ "还", "還" }, { "费", "費" }, { "务", "務" }, { "码", "碼" }, { "验", "驗" },
	{ "证", "證" }, { "认", "認" }, { "联", "聯" }, { "系", "係" }, { "们", "們" },
	{ "奖", "獎" }, { "领", "領" }, { "钱", "錢" }, { "冻", "凍" }, { "结", "結" },
	{ "会", "會" }, { "员", "員" }, { "务", "務" }, { "导", "導" }, { "师", "師" },
};

/* Apply the evasions in mask to in (traditional: trad, the opencc output, or NULL). */
static size_t evade(const char *in, size_t n, const char *trad, unsigned mask, char *out)
{
	char tmp[16384];
	size_t o = 0;
	const char *src = in;
	size_t sn = n;
	if ((mask & EV_TRAD) && trad) {
		src = trad;
		sn = strlen(trad);
	}
	bool prev_cjk = false;
	for (size_t i = 0; i < sn && o + 64 < sizeof(tmp);) {
		size_t l;
		uint32_t c = decode(src + i, &l);
		if (i + l > sn)
			break;
		bool cjk = is_cjk(c);
		if (cjk && prev_cjk) {
			if ((mask & EV_SPACE) && chance(40)) {
				static const char *const seps[] = { " ", "  ", "*", "·", "-", "|" };
				const char *sp = seps[rnd() % 6];
				memcpy(tmp + o, sp, strlen(sp));
				o += strlen(sp);
			}
			if ((mask & EV_ZEROWIDTH) && chance(50))
				put_cp(tmp, &o, chance(70) ? 0x200b : 0x200d);
		}
		const char *rep = NULL;
		if ((mask & EV_TRAD) && !trad)
			for (size_t k = 0; k < AFGW_ARRAY_SIZE(trad_small); k++)
				if (!strncmp(src + i, trad_small[k].s, l) && strlen(trad_small[k].s) == l)
					rep = trad_small[k].t;
		if ((mask & EV_HOMOPHONE) && chance(60)) {
			if (!strncmp(src + i, "微", l) && l == 3)
				rep = chance(50) ? "薇" : "威";
			else if (!strncmp(src + i, "信", l) && l == 3)
				rep = "芯";
			else if (!strncmp(src + i, "加", l) && l == 3)
				rep = "+";
			else if (!strncmp(src + i, "元", l) && l == 3)
				rep = "圆";
		}
		if (rep) {
			memcpy(tmp + o, rep, strlen(rep));
			o += strlen(rep);
		} else if ((mask & EV_FULLWIDTH) && c > 0x20 && c < 0x7f && c != '\\') {
			put_cp(tmp, &o, c - 0x21 + 0xff01);
		} else {
			memcpy(tmp + o, src + i, l);
			o += l;
		}
		prev_cjk = cjk;
		i += l;
	}
	memcpy(out, tmp, o);
	out[o] = '\0';
	return o;
}

/* Traditional versions of every fraud text through opencc; NULL entries if unavailable. */
static char **opencc_all(void)
{
	char **t = calloc(n_rows, sizeof(*t));
	if (!t)
		abort();
	char in[] = "/tmp/afgw_eval_s_XXXXXX";
	int fd = mkstemp(in);
	if (fd < 0)
		return t;
	FILE *f = fdopen(fd, "w");
	for (size_t i = 0; i < n_rows; i++) {
		/* one line each: newlines as \n, backslashes as \\ */
		for (size_t k = 0; k < rows[i].len; k++) {
			char c = rows[i].text[k];
			if (c == '\n')
				fputs("\\n", f);
			else if (c == '\\')
				fputs("\\\\", f);
			else if (c == '\t')
				fputs("\\t", f);
			else
				fputc(c, f);
		}
		fputc('\n', f);
	}
	fclose(f);
	char cmd[256], outp[64];
	snprintf(outp, sizeof(outp), "%s.t", in);
	snprintf(cmd, sizeof(cmd), "opencc -c s2t.json -i %s -o %s 2>/dev/null", in, outp);
	if (system(cmd) == 0 && (f = fopen(outp, "r")) != NULL) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		for (size_t i = 0; i < n_rows && (n = getline(&line, &cap, f)) >= 0; i++) {
			while (n > 0 && line[n - 1] == '\n')
				line[--n] = '\0';
			corpus_unescape(line, (size_t)n);
			t[i] = strdup(line);
		}
		free(line);
		fclose(f);
	} else {
		printf("(opencc not found: traditional characters from a small built-in table)\n");
	}
	unlink(in);
	unlink(outp);
	return t;
}

/* ---- the table ------------------------------------------------------------ */

struct tally {
	unsigned n[4], hit[4]; /* [0] even, [1] odd, [2] corpus, [3] rules/samples */
	unsigned ev_n, ev_hit; /* corpus, evaded */
};

static double pct(unsigned a, unsigned b)
{
	return b ? 100.0 * a / b : 0.0;
}

static void print_line(const char *name, const struct tally *t, bool fraud)
{
	printf("  %-20s %4u  %6.1f%%  %6.1f%%  %6.1f%%", name, t->n[2], pct(t->hit[2], t->n[2]),
	       pct(t->hit[1], t->n[1]), pct(t->hit[0], t->n[0]));
	if (fraud)
		printf("  %6.1f%%", pct(t->ev_hit, t->ev_n));
	else
		printf("  %7s", "");
	if (t->n[3])
		printf("  %4u %6.1f%%", t->n[3], pct(t->hit[3], t->n[3]));
	printf("\n");
}

static bool scan_caught(struct afgw_match_worker *w, const char *text, size_t len, int *score)
{
	static struct afgw_match_result res;
	struct afgw_match_msg m;
	memset(&m, 0, sizeof(m));
	m.text = afgw_str_make(text, len);
	if (afgw_match_scan(w, &m, &res) != 0)
		return false;
	if (score)
		*score = res.score;
	return res.score >= AFGW_MATCH_WARN;
}

static void show(struct afgw_match_worker *w, const struct row *r, const char *what)
{
	static struct afgw_match_result res;
	struct afgw_match_msg m;
	memset(&m, 0, sizeof(m));
	m.text = afgw_str_make(r->text, r->len);
	afgw_match_scan(w, &m, &res);
	afgw_match_evidence(w, &res);
	printf("  %s %s %-18s score %3d:", what, r->id, r->cat, res.score);
	for (unsigned i = 0; i < res.n_hits; i++)
		printf(" %s(%+d)", res.hit[i].r->id, res.hit[i].r->weight);
	printf("\n      %s\n", r->text);
}

int main(void)
{
	const char *rules_dir = AFGW_SOURCE_DIR "/rules/default";
	const char *samples_dir = AFGW_SOURCE_DIR "/rules/samples";
	struct afgw_rules rules;
	struct afgw_rules_diag d;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	struct afgw_ruleset *rs = NULL;
	int rc = afgw_rules_load_dir(&rules, rules_dir, &d);
	if (rc == 0)
		rc = afgw_ruleset_new(&rules, 1, &d, &rs);
	afgw_rules_fini(&rules);
	for (unsigned i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msg[i].text);
	afgw_rules_diag_fini(&d);
	CHECK_INT(rc, 0);
	if (rc)
		return check_report();

	CHECK_INT(load_tsv(AFGW_TESTS_DIR "/data/sms_corpus.tsv", false), 0);
	size_t corpus_rows = n_rows;
	struct dirent **list = NULL;
	int ns = scandir(samples_dir, &list, tsv_filter, alphasort);
	for (int i = 0; i < ns; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", samples_dir, list[i]->d_name);
		CHECK_INT(load_tsv(path, true), 0);
		free(list[i]);
	}
	free(list);
	CHECK(corpus_rows > 600);
	printf("%zu rules; %zu texts (%zu from the corpus, %zu from rules/samples)\n",
	       afgw_ruleset_count(rs), n_rows, corpus_rows, n_rows - corpus_rows);

	struct afgw_match_worker *w = NULL;
	CHECK_INT(afgw_match_worker_new(rs, 86, &w), 0);
	if (!w)
		return check_report();
	const char *verbose = getenv("AFGW_EVAL_VERBOSE");
	char **trad = opencc_all();
	static char buf[16384];

	/* categories in order of first appearance */
	const char *cats[64];
	struct tally tal[64];
	size_t ncat = 0;
	memset(tal, 0, sizeof(tal));
	struct tally total[2], tech[5];
	memset(total, 0, sizeof(total));
	memset(tech, 0, sizeof(tech));
	for (size_t i = 0; i < n_rows; i++) {
		struct row *r = &rows[i];
		size_t c;
		for (c = 0; c < ncat; c++)
			if (!strcmp(cats[c], r->cat))
				break;
		if (c == ncat && ncat < 64)
			cats[ncat++] = r->cat;
		r->caught = scan_caught(w, r->text, r->len, &r->score);
		struct tally *ts[2] = { &tal[c], &total[r->fraud] };
		for (int k = 0; k < 2; k++) {
			ts[k]->n[r->parity]++;
			ts[k]->hit[r->parity] += r->caught;
			if (r->parity < 2) {
				ts[k]->n[2]++;
				ts[k]->hit[2] += r->caught;
			}
		}
		if (!r->fraud || r->parity > 1)
			continue;
		/* a random mix of evasions, at least one */
		unsigned mask = 0;
		while (!mask)
			for (unsigned b = 0; b < 5; b++)
				mask |= chance(50) ? 1u << b : 0;
		size_t n = evade(r->text, r->len, trad[i], mask, buf);
		bool ev = scan_caught(w, buf, n, NULL);
		for (int k = 0; k < 2; k++) {
			ts[k]->ev_n++;
			ts[k]->ev_hit += ev;
		}
		if (verbose && r->caught && !ev && (r->parity == 0 || !strcmp(verbose, "all")))
			printf("  EVADED %s: %s\n", r->id, buf);
		for (unsigned b = 0; b < 5; b++) {
			n = evade(r->text, r->len, trad[i], 1u << b, buf);
			tech[b].ev_n++;
			tech[b].ev_hit += scan_caught(w, buf, n, NULL);
		}
	}

	printf("\nfraud: share caught (recall), score >= %d\n", AFGW_MATCH_WARN);
	printf("  %-20s %4s  %7s  %7s  %7s  %7s  %11s\n", "category", "n", "corpus", "odd", "even",
	       "evaded", "rules/samples");
	for (size_t c = 0; c < ncat; c++) {
		bool fraud = false;
		for (size_t i = 0; i < n_rows; i++)
			if (!strcmp(rows[i].cat, cats[c])) {
				fraud = rows[i].fraud;
				break;
			}
		if (fraud)
			print_line(cats[c], &tal[c], true);
	}
	print_line("FRAUD TOTAL", &total[1], true);
	printf("\nlegitimate: share flagged (false positives)\n");
	printf("  %-20s %4s  %7s  %7s  %7s  %7s  %11s\n", "category", "n", "corpus", "odd", "even",
	       "", "rules/samples");
	for (size_t c = 0; c < ncat; c++) {
		bool fraud = true;
		for (size_t i = 0; i < n_rows; i++)
			if (!strcmp(rows[i].cat, cats[c])) {
				fraud = rows[i].fraud;
				break;
			}
		if (!fraud)
			print_line(cats[c], &tal[c], false);
	}
	print_line("LEGIT TOTAL", &total[0], false);
	printf("\nevasion, each technique alone on every fraud text:\n");
	for (unsigned b = 0; b < 5; b++)
		printf("  %-20s %6.1f%%\n", ev_names[b], pct(tech[b].ev_hit, tech[b].ev_n));

	if (verbose) {
		printf("\nmisses and false positives (%s rows):\n",
		       strcmp(verbose, "all") ? "even" : "all");
		for (size_t i = 0; i < n_rows; i++) {
			const struct row *r = &rows[i];
			if (r->parity == 1 && strcmp(verbose, "all"))
				continue;
			if (r->fraud != r->caught)
				show(w, r, r->fraud ? "MISS" : "FP  ");
		}
	}

	double recall = pct(total[1].hit[2], total[1].n[2]);
	double recall_odd = pct(total[1].hit[1], total[1].n[1]);
	double fp = pct(total[0].hit[2], total[0].n[2]);
	double evaded = pct(total[1].ev_hit, total[1].ev_n);
	printf("\ncorpus: recall %.1f%% (odd rows %.1f%%), false positives %.1f%%, recall after "
	       "evasion %.1f%%\n",
	       recall, recall_odd, fp, evaded);
	double s_recall = pct(total[1].hit[3], total[1].n[3]);
	double s_fp = pct(total[0].hit[3], total[0].n[3]);
	printf("rules/samples: recall %.1f%%, false positives %.1f%%\n", s_recall, s_fp);
	CHECK(recall >= FLOOR_RECALL);
	CHECK(total[1].n[3] == 0 || s_recall >= FLOOR_SAMPLES_RECALL);
	CHECK(total[0].n[3] == 0 || s_fp <= FLOOR_SAMPLES_FP);
	CHECK(recall_odd >= FLOOR_RECALL_ODD);
	CHECK(fp <= FLOOR_FP);
	CHECK(evaded >= FLOOR_EVADED);

	for (size_t i = 0; i < n_rows; i++) {
		free(trad[i]);
		free(rows[i].text);
	}
	free(trad);
	free(rows);
	afgw_match_worker_free(w);
	afgw_ruleset_free(rs);
	return check_report();
}
