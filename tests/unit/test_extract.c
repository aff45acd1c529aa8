/*
 * test_extract.c - URLs, contacts and phone numbers (gateway/extract.c).
 *
 * Texts go through afgw_normalize first, as in the pipeline, so the
 * evasive spellings (full-width, traditional, spacing) are covered too.
 * Spans are checked against the normalized text.
 */
#include <stdio.h>

#include "afgw/extract.h"
#include "afgw/normalize.h"
#include "check.h"

static struct afgw_norm_buf nb;
static struct afgw_extract ex;

static const struct afgw_extract *run(const char *text)
{
	CHECK_INT(afgw_normalize(text, strlen(text), AFGW_NORM_ALL, &nb), 0);
	afgw_extract_all(nb.text, nb.len, 86, &ex);
	return &ex;
}

static bool span_ok(const struct afgw_extract_item *it)
{
	return it->start < it->end && it->end <= nb.len && strlen(it->value) == it->value_len;
}

/* One URL with this host and flags, spanning exactly `span`. */
static void check_url(const char *text, const char *host, unsigned flags, const char *span)
{
	run(text);
	CHECK_INT(ex.n_urls, 1);
	if (ex.n_urls != 1) {
		fprintf(stderr, "  in \"%s\"\n", text);
		return;
	}
	const struct afgw_extract_item *u = &ex.urls[0];
	CHECK(span_ok(u));
	CHECK_MEM(u->value, u->value_len, host);
	CHECK_INT(u->flags, flags);
	CHECK_MEM(nb.text + u->start, u->end - u->start, span);
}

static void check_no_url(const char *text)
{
	run(text);
	CHECK_INT(ex.n_urls, 0);
	if (ex.n_urls)
		fprintf(stderr, "  unexpected URL %s in \"%s\"\n", ex.urls[0].value, text);
}

static void test_urls(void)
{
	/* Chinese glued to a bare host */
	check_url("点击icbc-vip.top领取", "icbc-vip.top", AFGW_EXTRACT_F_LOOKALIKE, "icbc-vip.top");
	/* scheme, upper case, path, trailing 。 excluded */
	check_url("访问 HTTPS://WWW.ICBC.COM.CN/login?x=1。", "www.icbc.com.cn", 0,
		  "https://www.icbc.com.cn/login?x=1");
	/* trailing ， (full-width comma, normalized to ',') and ')' excluded */
	check_url("详见(https://example.com/a)，谢谢", "example.com", 0, "https://example.com/a");
	/* port dropped from the host */
	check_url("http://Example.COM:8443/x", "example.com", 0, "http://example.com:8443/x");
	/* the real host is after the userinfo; a brand there is deception */
	check_url("http://www.icbc.com.cn@evil.top/a", "evil.top", AFGW_EXTRACT_F_LOOKALIKE,
		  "http://www.icbc.com.cn@evil.top/a");
	/* full-width and traditional evasions around the URL */
	check_url("請點擊ｗｗｗ．ｃｃｂ－ｅｔｃ．ｃｎ．ｃｏｍ辦理", "www.ccb-etc.cn.com",
		  AFGW_EXTRACT_F_LOOKALIKE, "www.ccb-etc.cn.com");
	/* short links */
	check_url("详见 t.cn/A6xYz12，", "t.cn", AFGW_EXTRACT_F_SHORTLINK, "t.cn/a6xyz12");
	check_url("https://bit.ly/3abc", "bit.ly", AFGW_EXTRACT_F_SHORTLINK, "https://bit.ly/3abc");
	check_url("m.tb.cn/h.abc", "m.tb.cn", AFGW_EXTRACT_F_SHORTLINK, "m.tb.cn/h.abc");
	check_url("dwz.cn/xyz", "dwz.cn", AFGW_EXTRACT_F_SHORTLINK, "dwz.cn/xyz");
	/* IP hosts */
	check_url("http://192.168.1.10:8080/pay", "192.168.1.10", AFGW_EXTRACT_F_IP_HOST,
		  "http://192.168.1.10:8080/pay");
	check_url("http://[2001:db8::1]/x", "2001:db8::1", AFGW_EXTRACT_F_IP_HOST,
		  "http://[2001:db8::1]/x");
	/* www. with any alphabetic TLD; punycode kept as written */
	check_url("www.example.qwerty", "www.example.qwerty", 0, "www.example.qwerty");
	check_url("见xn--fiqs8s.cn/abc", "xn--fiqs8s.cn", 0, "xn--fiqs8s.cn/abc");
	/* cheap TLDs */
	check_url("领取补贴 subsidy.icu", "subsidy.icu", 0, "subsidy.icu");
	check_url("app下载 abc123.vip/d", "abc123.vip", 0, "abc123.vip/d");

	/* new gTLDs common in smishing: always hosts */
	check_url("Visit at bofa-restore.help/x", "bofa-restore.help", 0, "bofa-restore.help/x");
	check_url("claim: airdrop-usdt.claims", "airdrop-usdt.claims", 0, "airdrop-usdt.claims");
	check_url("sign up: ken-ref.cryptofx.trade", "ken-ref.cryptofx.trade", 0,
		  "ken-ref.cryptofx.trade");
	check_url("請至 sf-hk.express 更新", "sf-hk.express", 0, "sf-hk.express");
	check_url("pay: dhlclear.delivery", "dhlclear.delivery", 0, "dhlclear.delivery");
	check_url("toll.lat/pay", "toll.lat", 0, "toll.lat/pay");
	check_url("etc.sbs", "etc.sbs", AFGW_EXTRACT_F_LOOKALIKE, "etc.sbs");
	/* the rest of the root zone: a name made for a machine ... */
	check_url("go to parcel-help.community", "parcel-help.community", 0,
		  "parcel-help.community");
	check_url("parcel2.support", "parcel2.support", 0, "parcel2.support");
	check_url("my.parcel.report", "my.parcel.report", 0, "my.parcel.report");
	check_url("parcel.report/x1", "parcel.report", 0, "parcel.report/x1");
	/* both ends of the root-zone list (it is binary-searched) */
	check_url("a-1.aaa", "a-1.aaa", 0, "a-1.aaa");
	check_url("shop-1.zw", "shop-1.zw", 0, "shop-1.zw");
	check_url("pay-now.zone", "pay-now.zone", 0, "pay-now.zone");
	/* ... not two words run together with a word TLD */
	check_no_url("I am home.Call me later");
	check_no_url("see you soon.Love you");
	check_no_url("1.click the box");

	/* look-alikes and their real domains */
	check_url("www.ccb.com", "www.ccb.com", 0, "www.ccb.com");
	check_url("jd.com", "jd.com", 0, "jd.com");
	check_url("jd-refund.cc", "jd-refund.cc", AFGW_EXTRACT_F_LOOKALIKE, "jd-refund.cc");
	check_url("icbcvip.top", "icbcvip.top", AFGW_EXTRACT_F_LOOKALIKE, "icbcvip.top");
	check_url("myicbc.cc", "myicbc.cc", AFGW_EXTRACT_F_LOOKALIKE, "myicbc.cc");
	check_url("abcd.com", "abcd.com", 0, "abcd.com");
	check_url("abc.xyz", "abc.xyz", 0, "abc.xyz");
	check_url("paypal-secure.xyz", "paypal-secure.xyz", AFGW_EXTRACT_F_LOOKALIKE,
		  "paypal-secure.xyz");
	check_url("www.paypal.com", "www.paypal.com", 0, "www.paypal.com");
	check_url("12306-cn.top", "12306-cn.top", AFGW_EXTRACT_F_LOOKALIKE, "12306-cn.top");
	check_url("www.12306.cn", "www.12306.cn", 0, "www.12306.cn");
	check_url("gov-cn.top", "gov-cn.top", AFGW_EXTRACT_F_LOOKALIKE, "gov-cn.top");
	check_url("www.gov.cn", "www.gov.cn", 0, "www.gov.cn");
	check_url("etc.beijing.gov.cn", "etc.beijing.gov.cn", 0, "etc.beijing.gov.cn");
	check_url("royalmail-redelivery.com", "royalmail-redelivery.com",
		  AFGW_EXTRACT_F_LOOKALIKE, "royalmail-redelivery.com");
	check_url("www.royalmail.com", "www.royalmail.com", 0, "www.royalmail.com");
	/* a Cyrillic а in the brand is folded by normalization first */
	check_url("\xD0\xB0pple-id.info", "apple-id.info", AFGW_EXTRACT_F_LOOKALIKE,
		  "apple-id.info");

	/* not URLs */
	check_no_url("请发送邮件到 service@icbc-vip.top");
	check_no_url("file.txt 3.14 v1.2.3 a.b");
	check_no_url("example.qwerty");
	check_no_url("http://");
	check_no_url("see www.qwerty"); /* www + an unknown TLD only */
	check_no_url("");
}

/* One contact with this id and flag. */
static void check_contact(const char *text, const char *id, unsigned flag)
{
	run(text);
	CHECK_INT(ex.n_contacts, 1);
	if (ex.n_contacts != 1) {
		fprintf(stderr, "  in \"%s\" -> \"%s\"\n", text, nb.text);
		return;
	}
	CHECK(span_ok(&ex.contacts[0]));
	CHECK_MEM(ex.contacts[0].value, ex.contacts[0].value_len, id);
	CHECK_INT(ex.contacts[0].flags, flag);
	CHECK_INT(ex.n_numbers, 0); /* the id is not also a phone number */
}

static void check_no_contact(const char *text)
{
	run(text);
	CHECK_INT(ex.n_contacts, 0);
	if (ex.n_contacts)
		fprintf(stderr, "  unexpected contact %s in \"%s\"\n", ex.contacts[0].value, text);
}

static void test_contacts(void)
{
	unsigned w = AFGW_EXTRACT_F_WECHAT, q = AFGW_EXTRACT_F_QQ;
	check_contact("加V：abc_12345", "abc_12345", w);
	check_contact("加v abc_12345", "abc_12345", w);
	check_contact("+V abc12345", "abc12345", w);
	check_contact("＋Ｖ：ａｂｃ１２３４５", "abc12345", w); /* full-width */
	check_contact("V信 wxid_abc123", "wxid_abc123", w);
	check_contact("搜索wxid_k2x9abc加好友", "wxid_k2x9abc", w);
	check_contact("加v信:abc-12345", "abc-12345", w);
	check_contact("薇 abc12345", "abc12345", w);
	check_contact("薇信：Abc12345", "abc12345", w);
	check_contact("威信abc12345", "abc12345", w);
	check_contact("微信号：abc-123456", "abc-123456", w);
	check_contact("加微信abc12345", "abc12345", w);
	check_contact("VX：abc12345", "abc12345", w);
	check_contact("wx abc12345", "abc12345", w);
	check_contact("WeChat: Service_888", "service_888", w);
	check_contact("微信13800138000", "13800138000", w);
	check_contact("詳情加微 a1b2c3d4", "a1b2c3d4", w);
	check_contact("QQ：123456789", "123456789", q);
	check_contact("ＱＱ号 12345", "12345", q);
	check_contact("扣扣 12345678", "12345678", q);
	check_contact("Q群 987654321", "987654321", q);
	check_contact("QQ群:987654321", "987654321", q);
	check_contact("企鹅号:10001000", "10001000", q);
	/* the noise between 微 and 信 is removed by normalization */
	check_contact("微 * 信：abc12345", "abc12345", w);
	/* symbols and words between the token and the id */
	check_contact("详情+v❤ jd-hr0717", "jd-hr0717", w);
	check_contact("加V❤️：abc12345", "abc12345", w);
	check_contact("我的微信是 jason-1988", "jason-1988", w);
	check_contact("微信号是abc12345", "abc12345", w);
	check_contact("微信号码：abc12345", "abc12345", w);
	check_contact("微信同号13800138000", "13800138000", w);
	check_contact("微信搜索 abc12345", "abc12345", w);
	check_contact("WeChat ID: Service_888", "service_888", w);
	check_contact("QQ号为 123456789", "123456789", q);
	/* homophones and a lone V or Q with a separator */
	check_contact("加薇芯 abc12345", "abc12345", w);
	check_contact("徽信：abc12345", "abc12345", w);
	check_contact("私聊我 V：shop-dz33", "shop-dz33", w);
	check_contact("加我v❤ mm-520ok", "mm-520ok", w);
	check_contact("Q：123456789", "123456789", q);
	check_contact("加Q 123456789", "123456789", q);
	/* other messengers */
	check_contact("飞机：kefu888", "kefu888", 0);
	check_contact("纸飞机@kefu_888", "kefu_888", 0);
	check_contact("Telegram: @btc_signals", "btc_signals", 0);
	check_contact("TG @kefu888", "kefu888", 0);
	check_contact("WhatsApp: lisa_hk88", "lisa_hk88", 0);

	check_no_contact("qq:abc12345");          /* QQ ids are numeric */
	check_no_contact("qq:1234567890123");     /* 13 digits */
	check_no_contact("微信:abc");             /* too short */
	check_no_contact("vx:abcdefghijklmnopqrstuvwxyz0123456"); /* 35 chars */
	check_no_contact("vxworks 12345");        /* vx runs into a word */
	check_no_contact("qqmusic 12345");
	check_no_contact("微信支付");
	check_no_contact("service@qq.com");
	check_no_contact("v 12345678");           /* a lone v needs a separator */
	check_no_contact("TV: 8pm tonight");
	check_no_contact("Q: where is it");       /* QQ ids are numeric */
	check_no_contact("join our telegram group"); /* needs ':' or '@' */
	check_no_contact("坐飞机去北京");
	check_no_contact("微信：abc.com");        /* a domain, not an id */
	check_no_contact("wechat@company.com");
	check_no_contact("威海市12345号");
}

/* The numbers found, as canonical values separated by spaces. */
static const char *numbers(const char *text)
{
	static char buf[1024];
	size_t k = 0;
	run(text);
	buf[0] = '\0';
	for (unsigned i = 0; i < ex.n_numbers; i++) {
		CHECK(span_ok(&ex.numbers[i]));
		int w = snprintf(buf + k, sizeof(buf) - k, "%s%s", i ? " " : "", ex.numbers[i].value);
		if (w > 0 && (size_t)w < sizeof(buf) - k)
			k += (size_t)w;
	}
	return buf;
}

static void test_numbers(void)
{
	const char *got;
#define NUMS(text, want)                                                          \
	do {                                                                      \
		got = numbers(text);                                              \
		CHECK_MEM(got, strlen(got), want);                                \
	} while (0)
	NUMS("致电13800138000咨询", "+8613800138000");
	NUMS("call +86 138-0013-8000 now", "+8613800138000");
	NUMS("请拨 138 0013 8000", "+8613800138000");
	NUMS("电话：0755-12345678", "+8675512345678");
	NUMS("电话(0755)12345678", "+8675512345678");
	NUMS("客服95588", "95588");
	NUMS("热线400-820-8820", "4008208820");
	NUMS("拨打95588客服号码", "95588");
	NUMS("ＴＥＬ：１３８００１３８０００", "+8613800138000"); /* full-width */
	NUMS("95588 13800138000", "95588 +8613800138000");
	NUMS("+86 10 1234 5678", "+861012345678");
	/* one-time codes */
	NUMS("验证码：123456，5分钟内有效", "");
	NUMS("您的验证码是 12345", "");
	NUMS("123456是您的验证码", "");
	NUMS("123456（动态码），请勿泄露", "");
	NUMS("Your code is 654321.", "");
	NUMS("verification code: 778899", "");
	/* ... but a 7+ digit number next to the word is still a number */
	NUMS("验证码请联系13800138000", "+8613800138000");
	/* amounts, dates, counts, tokens, decimals */
	NUMS("日赚10000元", "");
	NUMS("日赚 10000 元", "");
	NUMS("¥50000", "");
	NUMS("2024-01-15 2024年", "");
	NUMS("abc12345 12345abc order_123456", "");
	NUMS("12345.67", "");
	NUMS("1234", "");
	NUMS("1234567890123456", ""); /* 16 digits */
	/* card, account and tracking numbers in blocks, whatever follows */
	NUMS("转到这个卡上：6217 0000 1234 5678", "");
	NUMS("卡号 6228 4800 1234 5678 910，户名张三", "");
	NUMS("Your package 9400 1112 0200 8364 2901 42 was delivered", "");
	NUMS("6217-0000-1234-5678 或致电13800138000", "+8613800138000");
	/* ... but two numbers side by side are still two */
	NUMS("95588 13800138000", "95588 +8613800138000");
	/* a label that makes the digits an account, order or case number */
	NUMS("账号：62220202113", "");
	NUMS("运单号 773123456789012", "");
	NUMS("订单编号36728190452支付异常", "");
	NUMS("account 12345678", "");
	NUMS("Order #48213577", "");
	NUMS("discount 13800138000", "+8613800138000"); /* not "count" */
	NUMS("手机号13800138000", "+8613800138000");
	/* digits inside a URL or a contact id */
	NUMS("http://x.com/13800138000", "");
	NUMS("QQ:123456789", "");
#undef NUMS
}

static void test_bounds(void)
{
	char text[2048];
	size_t k = 0;
	for (int i = 0; i < 20; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k, "1380013%04d ", 8000 + i);
	for (int i = 0; i < 18; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k, "site%d.top ", i);
	for (int i = 0; i < 17; i++)
		k += (size_t)snprintf(text + k, sizeof(text) - k, "vx:abcde%d ", i);
	run(text);
	CHECK_INT(ex.n_numbers, AFGW_EXTRACT_MAX);
	CHECK_INT(ex.n_urls, AFGW_EXTRACT_MAX);
	CHECK_INT(ex.n_contacts, AFGW_EXTRACT_MAX);
	CHECK_INT(ex.dropped, 4 + 2 + 1);
	CHECK_MEM(ex.numbers[15].value, ex.numbers[15].value_len, "+8613800138015");
	CHECK_MEM(ex.urls[15].value, ex.urls[15].value_len, "site15.top");

	/* a host longer than the value buffer is truncated, still checked */
	char host[300];
	memset(host, 'a', 200);
	memcpy(host + 200, "-icbc.top", 10);
	run(host);
	CHECK_INT(ex.n_urls, 1);
	CHECK_INT(ex.urls[0].value_len, AFGW_EXTRACT_VALUE_MAX);
	CHECK_INT(ex.urls[0].flags, AFGW_EXTRACT_F_LOOKALIKE);

	/* reuse: counts are reset */
	run("nothing here");
	CHECK_INT(ex.n_urls + ex.n_contacts + ex.n_numbers + ex.dropped, 0);
	afgw_extract_all(NULL, 0, 86, &ex);
	CHECK_INT(ex.n_urls, 0);
}

static void test_mixed(void)
{
	run("【中國工商銀行】您的帳戶存在異常，請點擊 http://icbc-vip.top/verify 處理，"
	    "或加ＶＸ：ｓｅｒｖｉｃｅ９５５８８，客服熱線 400-820-8820，驗證碼 382910");
	CHECK_INT(ex.n_urls, 1);
	CHECK_MEM(ex.urls[0].value, ex.urls[0].value_len, "icbc-vip.top");
	CHECK_INT(ex.urls[0].flags, AFGW_EXTRACT_F_LOOKALIKE);
	CHECK_INT(ex.n_contacts, 1);
	CHECK_MEM(ex.contacts[0].value, ex.contacts[0].value_len, "service95588");
	CHECK_INT(ex.n_numbers, 1);
	CHECK_MEM(ex.numbers[0].value, ex.numbers[0].value_len, "4008208820");
	CHECK_MEM(nb.text + ex.numbers[0].start, ex.numbers[0].end - ex.numbers[0].start,
		  "400-820-8820");
}

int main(void)
{
	afgw_norm_buf_init(&nb);
	test_urls();
	test_contacts();
	test_numbers();
	test_bounds();
	test_mixed();
	afgw_norm_buf_fini(&nb);
	return check_report();
}
