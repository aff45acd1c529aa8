/*
 * test_normalize.c - anti-evasion normalization (gateway/normalize.c).
 *
 * Each step on its own (one flag) and all together on the evasions the
 * police see, the offset map, invalid UTF-8, buffer growth and reuse,
 * idempotence over a list of varied strings, and the NFKC + case fold
 * part against utf8proc's own NFKC_Casefold.  Every result is checked to
 * be valid UTF-8 with a well-formed map.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <utf8proc.h>

#include "afgw/normalize.h"
#include "check.h"

static struct afgw_norm_buf nb;

/* Strict UTF-8 validity (no surrogates, no overlongs, <= U+10FFFF). */
static bool valid_utf8(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	for (size_t i = 0; i < n;) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &c);
		if (k <= 0)
			return false;
		i += (size_t)k;
	}
	return true;
}

/* The map: non-decreasing, inside the input, map[len] == n, and every
 * output byte of one code point maps to one offset. */
static bool good_map(const struct afgw_norm_buf *b, size_t n)
{
	if (b->map[b->len] != n || b->text[b->len] != '\0')
		return false;
	for (size_t i = 0; i < b->len; i++) {
		if (b->map[i] >= n)
			return false;
		if (i && b->map[i] < b->map[i - 1])
			return false;
		if (((unsigned char)b->text[i] & 0xC0) == 0x80 && b->map[i] != b->map[i - 1])
			return false;
	}
	return true;
}

static const char *norm_n(const char *in, size_t n, unsigned flags)
{
	int rc = afgw_normalize(in, n, flags, &nb);
	CHECK_INT(rc, 0);
	CHECK(valid_utf8(nb.text, nb.len));
	CHECK(strlen(nb.text) == nb.len);
	CHECK(good_map(&nb, n));
	return nb.text;
}

static const char *norm(const char *in, unsigned flags)
{
	return norm_n(in, strlen(in), flags);
}

#define CHECK_NORM(in, flags, want) CHECK_MEM(norm((in), (flags)), nb.len, (want))

static void test_nfkc_casefold(void)
{
	unsigned f = AFGW_NORM_NFKC_CASEFOLD;
	/* full-width Ａ Ｂ Ｃ １ ２ ３ -> abc123 */
	CHECK_NORM("\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93", f,
		   "abc123");
	/* ＱＱ１２３ -> qq123 */
	CHECK_NORM("\xEF\xBC\xB1\xEF\xBC\xB1\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93", f, "qq123");
	/* ①②③ -> 123, ⑩ -> 10, ⒈ -> "1." */
	CHECK_NORM("\xE2\x91\xA0\xE2\x91\xA1\xE2\x91\xA2", f, "123");
	CHECK_NORM("\xE2\x91\xA9", f, "10");
	CHECK_NORM("\xE2\x92\x88", f, "1.");
	CHECK_NORM("WeChat WECHAT wechat", f, "wechat wechat wechat");
	/* ß -> ss (full case folding), ﬁ -> fi, K (Kelvin) -> k */
	CHECK_NORM("Stra\xC3\x9F" "e \xEF\xAC\x81 \xE2\x84\xAA", f, "strasse fi k");
	/* e + combining acute composes: é */
	CHECK_NORM("e\xCC\x81", f, "\xC3\xA9");
	/* É (precomposed) folds to é */
	CHECK_NORM("\xC3\x89", f, "\xC3\xA9");
	/* marks out of canonical order: a + dot below (220) after a + acute
	 * (230) -> ạ + acute, i.e. U+1EA1 U+0301 */
	CHECK_NORM("a\xCC\x81\xCC\xA3", f, "\xE1\xBA\xA1\xCC\x81");
	/* Hangul jamo ᄒ ᅡ ᆫ compose to 한 */
	CHECK_NORM("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", f, "\xED\x95\x9C");
	/* ideographic space U+3000 becomes a space */
	CHECK_NORM("a\xE3\x80\x80" "b", f, "a b");
	/* Kangxi radical ⼈ U+2F08 -> 人 U+4EBA */
	CHECK_NORM("\xE2\xBC\x88", f, "\xE4\xBA\xBA");
	/* without the flag: nothing of this happens */
	CHECK_NORM("\xEF\xBC\xA1" "B\xE2\x91\xA0", 0, "\xEF\xBC\xA1" "B\xE2\x91\xA0");
}

static void test_t2s(void)
{
	unsigned f = AFGW_NORM_T2S;
	CHECK_NORM("帳戶", f, "账户"); /* 帳 -> 帐 (OpenCC) -> 账 (our addition) */
	CHECK_NORM("轉賬", f, "转账");
	CHECK_NORM("詐騙", f, "诈骗");
	CHECK_NORM("銀行", f, "银行");
	CHECK_NORM("安全帳戶", f, "安全账户");
	CHECK_NORM("帐户", f, "账户");
	CHECK_NORM("驗證碼", f, "验证码");
	CHECK_NORM("優惠", f, "优惠");
	/* already simplified: unchanged */
	CHECK_NORM("中华人民共和国", f, "中华人民共和国");
	/* a non-BMP traditional character: 𩀨 U+29028 -> 𫕚 U+2B55A */
	CHECK_NORM("\xF0\xA9\x80\xA8", f, "\xF0\xAB\x95\x9A");
	CHECK_NORM("轉賬", 0, "轉賬");
}

static void test_invisible(void)
{
	unsigned f = AFGW_NORM_INVISIBLE;
	CHECK_NORM("安\xE2\x80\x8B全", f, "安全");          /* ZWSP */
	CHECK_NORM("安\xE2\x80\x8D\xE2\x80\x8C全", f, "安全"); /* ZWJ ZWNJ */
	CHECK_NORM("a\xEF\xBB\xBF" "b", f, "ab");           /* BOM */
	CHECK_NORM("a\xE2\x80\xAE" "b\xE2\x80\xAC", f, "ab"); /* RLO, PDF */
	CHECK_NORM("a\xE2\x81\xA6" "b\xE2\x81\xA9", f, "ab"); /* LRI, PDI */
	CHECK_NORM("a\xE2\x81\xA0" "b\xE2\x81\xA4", f, "ab"); /* WJ, invisible plus */
	CHECK_NORM("a\xC2\xAD" "b", f, "ab");               /* soft hyphen */
	CHECK_NORM("a\xEF\xB8\x8F" "b", f, "ab");           /* VS16 */
	CHECK_NORM("a\xF3\xA0\x84\x80" "b", f, "ab");       /* VS17 U+E0100 */
	CHECK_NORM("a\xF3\xA0\x80\x81" "b", f, "ab");       /* tag U+E0001 */
	CHECK_NORM("a\x01\x7F" "b\xC2\x80", f, "ab");       /* C0, DEL, C1 */
	CHECK_NORM("a\tb\r\nc", f, "a b c");                /* whitespace controls stay spaces */
	CHECK_NORM("a\xE2\x80\x8B" "b", 0, "a\xE2\x80\x8B" "b");
	/* removal happens before composition: e ZWSP acute -> é */
	CHECK_NORM("e\xE2\x80\x8B\xCC\x81", f | AFGW_NORM_NFKC_CASEFOLD, "\xC3\xA9");
}

static void test_cjk_noise(void)
{
	unsigned f = AFGW_NORM_CJK_NOISE;
	CHECK_NORM("安 全 账 户", f, "安全账户");
	CHECK_NORM("刷*单", f, "刷单");
	CHECK_NORM("刷-单", f, "刷单");
	CHECK_NORM("刷·单", f, "刷单");
	CHECK_NORM("安 ★ 全", f, "安全");
	CHECK_NORM("刷\xF0\x9F\x98\x80单", f, "刷单"); /* emoji 😀 */
	CHECK_NORM("刷\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBB单", f, "刷单"); /* 👍🏻 with skin tone */
	CHECK_NORM("刷，。！单", f, "刷单");
	CHECK_NORM("刷\n\n单", f, "刷单");
	CHECK_NORM("返\xE3\x80\x80利", f, "返利"); /* ideographic space */
	/* digits and letters between ideographs stay, so does the noise
	 * next to them */
	CHECK_NORM("第1名", f, "第1名");
	CHECK_NORM("第 1 名", f, "第 1 名");
	CHECK_NORM("加V信", f, "加V信");
	CHECK_NORM("安-a-全", f, "安-a-全");
	/* noise not between two ideographs stays */
	CHECK_NORM("安全!!", f, "安全!!");
	CHECK_NORM("**安全", f, "**安全");
	CHECK_NORM("Hello, World", f, "Hello, World");
	/* repeated characters are kept */
	CHECK_NORM("谢谢", f, "谢谢");
	CHECK_NORM("哈哈哈", f, "哈哈哈");
	CHECK_NORM("谢 谢", f, "谢谢");
	/* off: only whitespace collapsing */
	CHECK_NORM("安 全  账*户", 0, "安 全 账*户");
}

static void test_whitespace(void)
{
	CHECK_NORM("Hello   World", AFGW_NORM_ALL, "hello world");
	CHECK_NORM("  lead and trail  ", 0, "lead and trail");
	CHECK_NORM(" \t\n ", AFGW_NORM_ALL, "");
	CHECK_NORM("", AFGW_NORM_ALL, "");
	CHECK_NORM("a \xE2\x80\x83\xC2\xA0 b", AFGW_NORM_ALL, "a b"); /* em space, nbsp */
}

static void test_homoglyph(void)
{
	unsigned f = AFGW_NORM_HOMOGLYPH;
	/* аpple with Cyrillic а U+0430 */
	CHECK_NORM("\xD0\xB0pple", f, "apple");
	/* Ρaypal with Greek Ρ U+03A1 */
	CHECK_NORM("\xCE\xA1" "aypal", f, "Paypal");
	CHECK_NORM("\xCE\xA1" "aypal", f | AFGW_NORM_NFKC_CASEFOLD, "paypal");
	/* Cyrillic а е о р с у х і ј ԁ һ ѕ */
	CHECK_NORM("\xD0\xB0\xD0\xB5\xD0\xBE\xD1\x80\xD1\x81\xD1\x83\xD1\x85\xD1\x96\xD1\x98"
		   "\xD4\x81\xD2\xBB\xD1\x95",
		   f, "aeopcyxijdhs");
	/* Greek ο ρ α ν κ ι τ */
	CHECK_NORM("\xCE\xBF\xCF\x81\xCE\xB1\xCE\xBD\xCE\xBA\xCE\xB9\xCF\x84", f, "opavkit");
	/* capitals fold as capitals: Cyrillic НЅВС -> HSBC -> hsbc, Greek Ν -> n */
	CHECK_NORM("\xD0\x9D\xD0\x85\xD0\x92\xD0\xA1", f | AFGW_NORM_NFKC_CASEFOLD, "hsbc");
	CHECK_NORM("\xCE\x9D" "etflix", f | AFGW_NORM_NFKC_CASEFOLD, "netflix");
	/* full-width Cyrillic-free: ＡＰＰＬＥ stays letters -> apple */
	CHECK_NORM("\xEF\xBC\xA1\xD1\x80\xD1\x80le", AFGW_NORM_ALL, "apple");
	/* letters that only look like digits, or like nothing, stay */
	CHECK_NORM("\xD0\xB7\xD0\xB1\xD0\xB4", f, "\xD0\xB7\xD0\xB1\xD0\xB4"); /* з б д */
	/* folding happens before composing: Cyrillic с + cedilla -> ç */
	CHECK_NORM("\xD1\x81\xCC\xA7", AFGW_NORM_ALL, "\xC3\xA7");
	/* Cyrillic ӧ (о + diaeresis) -> ö */
	CHECK_NORM("\xD3\xA7", AFGW_NORM_ALL, "\xC3\xB6");
	CHECK_NORM("\xD0\xB0pple", 0, "\xD0\xB0pple");
}

static void test_all(void)
{
	unsigned f = AFGW_NORM_ALL;
	CHECK_NORM("安\xE2\x80\x8B全 帳 戶", f, "安全账户");
	CHECK_NORM("轉*賬到安-全帳戶", f, "转账到安全账户");
	/* 加ＶＸ：ａｂｃ１２３ -> 加vx:abc123 */
	CHECK_NORM("加\xEF\xBC\xB6\xEF\xBC\xB8\xEF\xBC\x9A\xEF\xBD\x81\xEF\xBD\x82\xEF\xBD\x83"
		   "\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93",
		   f, "加vx:abc123");
	/* spaces between digits are not between two ideographs: kept */
	CHECK_NORM("刷 单 返 利 ， 日 赚 ① ⓪ ⓪ 元", f, "刷单返利日赚 1 0 0 元");
	CHECK_NORM("點擊 ICBC-VIP.TOP 領取", f, "点击 icbc-vip.top 领取");
	/* the leading 【 is not between two ideographs: kept */
	CHECK_NORM("【工商銀行】您的帳戶存在風險", f, "【工商银行您的账户存在风险");
	CHECK_NORM("谢谢，哈哈哈", f, "谢谢哈哈哈");
	CHECK_NORM("第1名", f, "第1名");
	/* circled ideographs ㊙ -> 秘, parenthesized ㈱ -> (株) */
	CHECK_NORM("\xE3\x8A\x99", f, "秘");
}

static void test_invalid(void)
{
	/* lone continuation, truncated 3-byte, overlong, surrogate, > U+10FFFF */
	CHECK_NORM("a\x80" "b", 0, "a\xEF\xBF\xBD" "b");
	CHECK_NORM("a\xE4\xB8", 0, "a\xEF\xBF\xBD");
	CHECK_NORM("\xC0\xAF", 0, "\xEF\xBF\xBD\xEF\xBF\xBD");
	CHECK_NORM("\xED\xA0\x80", 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	CHECK_NORM("\xF4\x90\x80\x80", 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	/* F0 9F 98 followed by a non-continuation: one U+FFFD then 'x' */
	CHECK_NORM("\xF0\x9F\x98x", 0, "\xEF\xBF\xBDx");
	CHECK_NORM("\xFF\xFE", AFGW_NORM_ALL, "\xEF\xBF\xBD\xEF\xBF\xBD");
	/* an invalid byte between ideographs is noise */
	CHECK_NORM("安\xFF全", AFGW_NORM_ALL, "安全");
	/* a NUL byte is a control character: removed */
	CHECK_MEM(norm_n("a\0b", 3, AFGW_NORM_ALL), nb.len, "ab");
	CHECK_INT(afgw_normalize("a\0b", 3, 0, &nb), 0);
	CHECK(nb.len == 3 && memcmp(nb.text, "a\0b", 4) == 0);
}

static void test_map(void)
{
	/* input:  Ａ(0..2) 安(3..5) ZWSP(6..8) 全(9..11) ' '(12) ' '(13) x(14)
	 *         e(15) U+0301(16..17) 帳(18..20)
	 * output: a 安 全 ' ' x é 账 */
	const char *in = "\xEF\xBC\xA1安\xE2\x80\x8B全  xe\xCC\x81帳";
	norm(in, AFGW_NORM_ALL);
	CHECK_MEM(nb.text, nb.len, "a安全 x\xC3\xA9账");
	static const uint32_t want[] = { 0, 3, 3, 3, 9, 9, 9, 12, 14, 15, 15, 18, 18, 18, 21 };
	CHECK_INT(nb.len + 1, AFGW_ARRAY_SIZE(want));
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(want) && i <= nb.len; i++)
		CHECK_INT(nb.map[i], want[i]);

	/* removed noise leaves no trace: 刷(0..2) *(3) 单(4..6) */
	norm("刷*单", AFGW_NORM_ALL);
	CHECK_INT(nb.len, 6);
	CHECK_INT(nb.map[2], 0);
	CHECK_INT(nb.map[3], 4);
	CHECK_INT(nb.map[6], 7);

	/* ① (0..2) -> "1" maps to 0; ⑩ (3..5) -> "10", both bytes map to 3 */
	norm("\xE2\x91\xA0\xE2\x91\xA9", AFGW_NORM_ALL);
	CHECK_MEM(nb.text, nb.len, "110");
	CHECK_INT(nb.map[0], 0);
	CHECK_INT(nb.map[1], 3);
	CHECK_INT(nb.map[2], 3);
}

static const char *const varied[] = {
	"",
	"Hello   World",
	"  安 全 账 户  ",
	"刷*单 刷-单 刷·单 安 ★ 全",
	"帳戶 轉賬 詐騙 銀行",
	"ＱＱ１２３４５６ 加ＶＸ：ａｂｃ",
	"①②③④⑤ ⑩⑳ ⒈⒉",
	"\xD0\xB0pple \xCE\xA1" "aypal НЅВС",
	"安\xE2\x80\x8B全\xE2\x80\x8D账\xEF\xBB\xBF户",
	"谢谢 哈哈哈 第1名 第 1 名",
	"e\xCC\x81 a\xCC\x81\xCC\xA3 \xD1\x81\xCC\xA7 \xD3\xA7",
	"\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB\xE1\x84\x92\xE1\x85\xA1",
	"\xEF\xB7\xBA\xEF\xB7\xBB",                     /* ﷺ ﷻ: long NFKC expansions */
	"\xE1\xBE\x88\xE1\xBE\xB3\xCE\x90\xE1\xBF\xA2", /* Greek with ypogegrammeni */
	"\xCD\x85\xCD\x85 \xCE\xB1\xCD\x85",            /* lone ypogegrammeni */
	"\xE2\x84\xAB\xE2\x84\xA6\xE2\x84\xAA",         /* Å Ω K signs */
	"\xC7\x84\xC7\x85\xC7\x86 \xEF\xAC\x80\xEF\xAC\x83",
	"\xE3\x8D\xBF\xE3\x8E\x8F\xE3\x8F\x88",         /* ㍿ ㎏ ㏈ */
	"\xE3\x8A\x99\xE3\x88\xB1\xE3\x89\x91",         /* ㊙ ㈱ ㉑ */
	"\xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBB\xF0\x9F\x87\xA8\xF0\x9F\x87\xB3",
	"刷\xF0\x9F\x98\x80单 a\xF0\x9F\x98\x80" "b",
	"\x80\xFF\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80",
	"安\xFF全 a\xFE" "b",
	"http://ICBC-VIP.top/Login?ID=12345。",
	"【中國工商銀行】您的帳戶於2024-01-15存在異常，請點擊 www.icbc-vip.top 驗證",
	"加V信：abc_12345，扣扣：123456789",
	"a\tb\nc\rd\x0b" "e\x0c" "f",
	"a\x01" "b\x7F" "c\xC2\x85" "d\xC2\x9F" "e",
	"\xE2\x80\xA8\xE2\x80\xA9 \xE1\x9A\x80",        /* LS PS ogham space */
	"安\xCC\x81全 安\xE2\x83\x9D全",                 /* marks on ideographs */
	"安 \xCC\x81 全 a \xCC\x81 b",
	"\xCC\x81\xCC\x81\xCC\x81" "abc",                /* leading marks */
	" \xCC\x81",
	"\xE0\xA6\x95\xE0\xA7\x87\xE0\xA6\xBE",          /* Bengali ো from parts */
	"\xE0\xAD\x87\xE0\xAC\xBE \xE0\xAD\x87\xE2\x80\x8B\xE0\xAC\xBE",
	"\xE2\xBC\x88\xE2\xBC\x9D\xEF\xA4\x80\xEF\xA8\x8E",/* Kangxi, compat ideographs */
	"\xF0\xA9\x80\xA8\xF0\xA0\x80\x80\xF0\xAF\xA0\x80",
	"ＡＢＣ　ＤＥＦ",
	"\xC2\xA0\xC2\xA0x\xC2\xA0\xC2\xA0",
	"a---b ...  ,,, !!!",
	"安---全 ... 账,,,户 !!!",
	"\xE2\x80\x8B\xE2\x80\x8B",
	"İstanbul ΣΊΣΥΦΟΣ ς",
	"\xE1\xBA\x9E\xC5\xBF\xEF\xAC\x85",              /* ẞ ſ ﬅ */
	"\xE3\x82\xAB\xE3\x82\x99 \xEF\xBD\xB6\xEF\xBE\x9E", /* カ + voiced mark, half-width ｶﾞ */
	"\xE2\x91\xB4\xE2\x92\x9C\xE2\x93\x90\xE2\x92\xB6",/* ⑴ ⒜ ⓐ Ⓐ */
	"\xF0\x9D\x90\x80\xF0\x9D\x90\x9A\xF0\x9D\x9F\x8E", /* math bold A a 0 */
	"\xEF\xBC\x8A\xEF\xBC\x8D\xEF\xBD\x9E",          /* ＊ － ～ */
	"1\xE2\x81\x84" "2 \xC2\xBD \xC2\xB2",           /* fraction slash, ½, ² */
	"\xE1\x85\x9F\xE1\x85\xA0\xE3\x85\xA4\xEF\xBE\xA0", /* Hangul fillers */
};

static void test_idempotence(void)
{
	static const unsigned flag_sets[] = {
		AFGW_NORM_ALL,
		AFGW_NORM_NFKC_CASEFOLD,
		AFGW_NORM_NFKC_CASEFOLD | AFGW_NORM_INVISIBLE,
		AFGW_NORM_T2S | AFGW_NORM_CJK_NOISE,
		AFGW_NORM_HOMOGLYPH | AFGW_NORM_CJK_NOISE,
		AFGW_NORM_ALL & ~AFGW_NORM_INVISIBLE,
		0,
	};
	struct afgw_norm_buf second;
	afgw_norm_buf_init(&second);
	for (size_t f = 0; f < AFGW_ARRAY_SIZE(flag_sets); f++) {
		for (size_t i = 0; i < AFGW_ARRAY_SIZE(varied); i++) {
			norm(varied[i], flag_sets[f]);
			CHECK_INT(afgw_normalize(nb.text, nb.len, flag_sets[f], &second), 0);
			bool same = second.len == nb.len && memcmp(second.text, nb.text, nb.len) == 0;
			if (!same)
				fprintf(stderr, "not idempotent (flags %#x): \"%s\" -> \"%s\" -> \"%s\"\n",
					flag_sets[f], varied[i], nb.text, second.text);
			CHECK(same);
		}
	}
	afgw_norm_buf_fini(&second);
}

/* NFKC + case folding + invisibles against utf8proc's NFKC_Casefold, on
 * strings without whitespace or controls (which we collapse / remove). */
static void test_against_utf8proc(void)
{
	unsigned f = AFGW_NORM_NFKC_CASEFOLD | AFGW_NORM_INVISIBLE;
	unsigned tried = 0;
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(varied); i++) {
		const char *s = varied[i];
		if (!valid_utf8(s, strlen(s)))
			continue;
		norm(s, f);
		if (strpbrk(nb.text, " \t\n\r\v\f") || strpbrk(s, " \t\n\r\v\f\x01\x7f"))
			continue;
		utf8proc_uint8_t *ref = utf8proc_NFKC_Casefold((const utf8proc_uint8_t *)s);
		CHECK(ref != NULL);
		if (!ref)
			continue;
		if (strchr((const char *)ref, ' ')) {
			free(ref);
			continue;
		}
		if (strcmp((const char *)ref, nb.text) != 0)
			fprintf(stderr, "differs from NFKC_Casefold: \"%s\" -> \"%s\" (want \"%s\")\n",
				s, nb.text, ref);
		CHECK(strcmp((const char *)ref, nb.text) == 0);
		free(ref);
		tried++;
	}
	CHECK(tried >= 15);
}

/*
 * Every code point, in contexts where composition, noise removal and
 * invisibles interact: the output is valid UTF-8 with a good map, and a
 * second pass changes nothing.
 */
static void test_every_code_point(void)
{
	static const char *const pre[] = { "a", "安" };
	static const char *const post[] = { "\xCC\x81", "安" };
	struct afgw_norm_buf second;
	unsigned long bad = 0, tried = 0;

	afgw_norm_buf_init(&second);
	for (int32_t c = 0; c < 0x110000; c++) {
		if (c >= 0xD800 && c < 0xE000)
			continue;
		for (size_t x = 0; x < AFGW_ARRAY_SIZE(pre); x++) {
			char in[16];
			size_t k = strlen(pre[x]);
			memcpy(in, pre[x], k);
			k += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)in + k);
			memcpy(in + k, post[x], strlen(post[x]));
			k += strlen(post[x]);
			bool ok = afgw_normalize(in, k, AFGW_NORM_ALL, &nb) == 0 &&
				  valid_utf8(nb.text, nb.len) && good_map(&nb, k) &&
				  afgw_normalize(nb.text, nb.len, AFGW_NORM_ALL, &second) == 0 &&
				  second.len == nb.len && memcmp(second.text, nb.text, nb.len) == 0;
			if (!ok && bad++ < 10)
				fprintf(stderr, "U+%04X in context %zu: not stable\n", (unsigned)c, x);
			tried++;
		}
	}
	CHECK_INT(bad, 0);
	CHECK(tried > 2000000);
	afgw_norm_buf_fini(&second);
}

/*
 * Every code point alone and before a combining mark against utf8proc's
 * NFKC_Casefold, with only our NFKC + case fold + invisibles steps on.
 * Skipped: controls and whitespace (we remove / collapse them, NFKC keeps
 * them).
 */
static void test_every_code_point_nfkc(void)
{
	unsigned f = AFGW_NORM_NFKC_CASEFOLD | AFGW_NORM_INVISIBLE;
	unsigned long bad = 0, compared = 0;

	for (int32_t c = 0x20; c < 0x110000; c++) {
		if ((c >= 0xD800 && c < 0xE000) || (c >= 0x7F && c < 0xA0))
			continue;
		for (int mark = 0; mark < 2; mark++) {
			char in[16];
			size_t k = (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)in);
			if (mark) {
				memcpy(in + k, "\xCC\xA3\xCC\x81", 4); /* dot below, acute */
				k += 4;
			}
			in[k] = '\0';
			if (afgw_normalize(in, k, f, &nb) != 0) {
				bad++;
				continue;
			}
			utf8proc_uint8_t *ref = utf8proc_NFKC_Casefold((const utf8proc_uint8_t *)in);
			if (!ref)
				continue;
			const char *r = (const char *)ref;
			bool spacey = strpbrk(r, " \t\n\v\f\r") != NULL ||
				      utf8proc_category(c) == UTF8PROC_CATEGORY_ZS ||
				      utf8proc_category(c) == UTF8PROC_CATEGORY_ZL ||
				      utf8proc_category(c) == UTF8PROC_CATEGORY_ZP;
			if (!spacey) {
				compared++;
				if (strcmp(r, nb.text) != 0 && bad++ < 10)
					fprintf(stderr, "U+%04X%s: \"%s\", NFKC_Casefold \"%s\"\n",
						(unsigned)c, mark ? " + marks" : "", nb.text, r);
			}
			free(ref);
		}
	}
	CHECK_INT(bad, 0);
	CHECK(compared > 2000000);
}

static void test_buffer(void)
{
	struct afgw_norm_buf b;
	afgw_norm_buf_init(&b);
	CHECK(b.text == NULL && b.cap == 0);
	/* large expansion: 200 x ﷺ (3 bytes -> 33 bytes each) */
	static char big[600 + 1];
	for (int i = 0; i < 200; i++)
		memcpy(big + 3 * i, "\xEF\xB7\xBA", 3);
	CHECK_INT(afgw_normalize(big, 600, AFGW_NORM_ALL, &b), 0);
	CHECK(b.len > 3 * 600);
	CHECK(valid_utf8(b.text, b.len));
	CHECK(good_map(&b, 600));
	/* reuse: a smaller message leaves the buffer where it is */
	char *text = b.text;
	size_t cap = b.cap;
	CHECK_INT(afgw_normalize("安 全", strlen("安 全"), AFGW_NORM_ALL, &b), 0);
	CHECK_MEM(b.text, b.len, "安全");
	CHECK(b.text == text && b.cap == cap);
	afgw_norm_buf_fini(&b);
	CHECK(b.text == NULL && b.map == NULL && b.cap == 0);
	afgw_norm_buf_fini(&b); /* twice is fine */
}

/* Not an assertion (tests never assert timings): printed for the record. */
static void report_speed(void)
{
	const char *sms = "【中國工商銀行】尊敬的客戶，您的帳戶存在異常風險，請立即點擊 "
			  "www.icbc-vip.top 完成安 全 驗 證，或加ＶＸ：ｓｅｒｖｉｃｅ９５５８８。";
	size_t n = strlen(sms);
	struct timespec t0, t1;
	int iters = 20000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < iters; i++)
		afgw_normalize(sms, n, AFGW_NORM_ALL, &nb);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / iters;
	printf("normalize: %zu-byte SMS in %.0f ns (this build)\n", n, ns);
}

int main(void)
{
	afgw_norm_buf_init(&nb);
	test_nfkc_casefold();
	test_t2s();
	test_invisible();
	test_cjk_noise();
	test_whitespace();
	test_homoglyph();
	test_all();
	test_invalid();
	test_map();
	test_idempotence();
	test_against_utf8proc();
	test_every_code_point();
	test_every_code_point_nfkc();
	test_buffer();
	report_speed();
	afgw_norm_buf_fini(&nb);
	return check_report();
}
