/*
 * warning.c - a resident's warning: the JSON the app shows, the gateway's
 * signature, the seal to the app account's key, and the way back.
 *
 * Input: a struct afgw_warning filled by the notifier from a verdict (or
 * by look-back from a contact log entry).  Output: its JSON
 * (afgw_warning_json) and the sealed blob that goes into the warnings
 * stream (afgw_warning_seal).  The app side, and afgwctl inbox, go back
 * with afgw_warning_open (verify before parse) and afgw_warning_parse.
 * warning.h documents the byte format, which app back ends in other
 * languages implement.
 *
 * Pure: no I/O, no clock, no allocation except jansson's on the app
 * side's parse.  Any thread; the notifier calls json + seal once per
 * warning, never per packet.
 *
 * Order of checks on the way back is the point of the format: nothing in
 * a sealed blob is looked at before the seal opened, and the JSON is not
 * parsed (not even handed out) before the signature of a trusted gateway
 * key verified, so a parser bug is reachable only by a gateway's key.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "afgw/warning.h"

static const char magic[4] = { 'A', 'F', 'W', '1' };

/* The latest time RFC 3339's four-digit year can write: 9999-12-31T23:59:59Z. */
#define TIME_MAX 253402300799ll

static const char *const channel_names[] = { "call", "sms", "lookback" };

const char *afgw_warning_channel_name(enum afgw_warning_channel ch)
{
	return (unsigned)ch < AFGW_ARRAY_SIZE(channel_names) ? channel_names[ch] : "?";
}

const char *afgw_warning_open_error_name(enum afgw_warning_open_error e)
{
	static const char *const names[] = { "ok", "not_for_us", "malformed", "unknown_key",
					     "bad_signature" };
	return (unsigned)e < AFGW_ARRAY_SIZE(names) ? names[e] : "?";
}

/* ---- the deterministic id ------------------------------------------- */

static void hash_field(crypto_generichash_state *st, const char *s, size_t cap)
{
	static const unsigned char nul = 0;
	crypto_generichash_update(st, (const unsigned char *)s, strnlen(s, cap));
	crypto_generichash_update(st, &nul, 1);
}

void afgw_warning_make_id(struct afgw_warning *w, uint64_t event)
{
	static const char domain[] = "afgw-warning-id-v1"; /* hashed with its NUL */
	crypto_generichash_state st;
	uint8_t h[32];
	char ev[24];
	int n = snprintf(ev, sizeof(ev), "%" PRIu64, event);
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)domain, sizeof(domain));
	const char *ch = afgw_warning_channel_name(w->channel);
	hash_field(&st, ch, strlen(ch));
	hash_field(&st, w->other, sizeof(w->other));
	hash_field(&st, w->account, sizeof(w->account));
	hash_field(&st, w->category, sizeof(w->category));
	crypto_generichash_update(&st, (const unsigned char *)ev, (unsigned long long)n);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(w->id, sizeof(w->id), h, 16);
}

/* ---- advice --------------------------------------------------------- */

/*
 * One text per category and channel, in the words of the national
 * anti-fraud centre's warnings: what the fraud is, the one fact that
 * gives it away, what to do now.  Look-back texts speak of a number that
 * contacted the resident earlier and end with where to report (110, or
 * 96110, the anti-fraud hotline).  English categories (the en_* rules
 * and foreign-language scripts) get the Chinese text, since the app is
 * Chinese, followed by one English sentence.
 */
struct advice {
	const char *category;
	const char *text[3]; /* call, sms, lookback */
};

/* clang-format off */
static const struct advice advice_table[] = {
	{ "impersonate_police", {
	  "该号码涉嫌冒充公检法诈骗，公检法机关不会通过电话要求转账，请立即挂断。",
	  "该短信疑似冒充公检法诈骗，公检法机关不会通过短信要求转账或提供账户信息，请勿点击链接、勿回复。",
	  "近期联系过您的号码已被认定为诈骗号码（冒充公检法），如对方曾要求转账或提供验证码，请立即拨打110或96110。" } },
	{ "fake_cs", {
	  "该号码涉嫌冒充客服诈骗，正规电商、物流和金融机构的客服不会要求您退款到指定账户或关闭所谓的“百万保障”，请立即挂断，如有疑问请自行拨打官方客服电话核实。",
	  "该短信疑似冒充客服诈骗，正规客服不会通过短信链接办理退款、理赔或注销业务，请勿点击链接、勿回复，如有疑问请通过官方渠道核实。",
	  "近期联系过您的号码已被认定为诈骗号码（冒充客服），如您曾按对方要求退款、转账、下载软件或开启屏幕共享，请立即拨打110或96110。" } },
	{ "investment", {
	  "该号码涉嫌虚假投资理财诈骗，所谓“内幕消息”“稳赚不赔”“导师带单”都是骗局，请立即挂断，切勿下载陌生投资软件。",
	  "该短信疑似虚假投资理财诈骗，请勿相信“稳赚不赔”“高额回报”等说法，勿点击链接、勿加入陌生投资群。",
	  "近期联系过您的号码已被认定为诈骗号码（虚假投资理财），如您曾在对方推荐的平台投资或充值，请立即停止转账并拨打110或96110。" } },
	{ "loan", {
	  "该号码涉嫌虚假贷款诈骗，正规贷款在放款前不会收取手续费、保证金或“解冻费”，请立即挂断。",
	  "该短信疑似虚假贷款诈骗，正规贷款在放款前不会收取任何费用，请勿点击链接、勿下载陌生贷款软件。",
	  "近期联系过您的号码已被认定为诈骗号码（虚假贷款），如您曾向对方缴纳手续费、保证金或“解冻费”，请立即停止转账并拨打110或96110。" } },
	{ "task_rebate", {
	  "该号码涉嫌刷单返利诈骗，刷单本身就是违法行为，“垫资返利”“做任务赚佣金”都是骗局，请立即挂断。",
	  "该短信疑似刷单返利诈骗，所谓“点赞关注赚佣金”“垫资刷单返利”都是骗局，请勿添加对方联系方式、勿点击链接。",
	  "近期联系过您的号码已被认定为诈骗号码（刷单返利），如您曾按对方要求垫付资金或做任务，请立即停止转账并拨打110或96110。" } },
	{ "credit", {
	  "该号码涉嫌虚假征信诈骗，个人征信不能通过转账或“注销账户”修复，请立即挂断，如有疑问请向中国人民银行征信中心核实。",
	  "该短信疑似虚假征信诈骗，征信记录不会因未注销“校园贷”等账户受影响，更不需要转账修复，请勿点击链接、勿回复。",
	  "近期联系过您的号码已被认定为诈骗号码（虚假征信），如您曾按对方要求贷款、转账或提供验证码，请立即拨打110或96110。" } },
	{ "romance", {
	  "该号码涉嫌网络交友诈骗（“杀猪盘”），以恋爱交友为名诱导投资、博彩或借钱的都是骗局，请提高警惕，切勿转账。",
	  "该短信疑似网络交友诈骗（“杀猪盘”），请勿轻信网上结识的“恋人”推荐的投资或博彩平台，切勿转账。",
	  "近期联系过您的号码已被认定为诈骗号码（网络交友“杀猪盘”），如您曾按对方推荐投资、充值或借钱给对方，请立即停止并拨打110或96110。" } },
	{ "fake_boss", {
	  "该号码涉嫌冒充领导、熟人诈骗，凡是自称领导或熟人要求借钱、转账的，请先通过原有电话或当面核实，切勿直接转账。",
	  "该短信疑似冒充领导、熟人诈骗，对方要求添加新好友、借钱或转账时，请先通过原有电话或当面核实身份。",
	  "近期联系过您的号码已被认定为诈骗号码（冒充领导、熟人），如您曾按对方要求转账，请立即拨打110或96110。" } },
	{ "fake_military", {
	  "该号码涉嫌冒充军警诈骗，以部队采购、军人订餐等名义要求垫资、转账或缴纳保证金的都是骗局，请立即挂断。",
	  "该短信疑似冒充军警诈骗，以部队采购、军人身份要求垫资或转账的都是骗局，请勿回复、勿转账。",
	  "近期联系过您的号码已被认定为诈骗号码（冒充军警），如您曾按对方要求垫资或转账，请立即拨打110或96110。" } },
	{ "prize", {
	  "该号码涉嫌虚假中奖诈骗，领奖前要求先交税费、手续费或保证金的都是骗局，请立即挂断。",
	  "该短信疑似虚假中奖诈骗，凡是领奖需要先交费或填写银行卡信息的都是骗局，请勿点击链接、勿回复。",
	  "近期联系过您的号码已被认定为诈骗号码（虚假中奖），如您曾为领奖缴纳费用或提供银行卡信息，请立即拨打110或96110。" } },
	{ "game_trade", {
	  "该号码涉嫌网络游戏虚假交易诈骗，买卖游戏账号、装备请使用正规交易平台，切勿私下转账或缴纳“解冻费”，请立即挂断。",
	  "该短信疑似网络游戏虚假交易诈骗，请通过正规平台交易游戏账号和装备，勿点击陌生链接、勿私下转账；家中有未成年人的，请提醒孩子不要私下交易。",
	  "近期联系过您的号码已被认定为诈骗号码（网络游戏虚假交易），如您或家人曾私下交易、转账或缴纳费用，请立即拨打110或96110。" } },
	{ "sextortion", {
	  "该号码涉嫌敲诈勒索，对方以不雅视频、照片相威胁索要钱财的，请勿转账，付钱只会被继续勒索，请立即报警。",
	  "该短信疑似裸聊敲诈诈骗，请勿下载对方发来的软件、勿转账，付钱只会被继续勒索，请立即报警。",
	  "近期联系过您的号码已被认定为诈骗号码（裸聊敲诈），如对方以视频或照片威胁您，请勿转账，立即拨打110或96110。" } },
	{ "phishing_gov", {
	  "该号码涉嫌冒充政府部门诈骗，ETC、医保、社保、补贴等业务不会通过电话索要银行卡密码或验证码，请立即挂断。",
	  "该短信疑似钓鱼诈骗，ETC认证、医保社保、退税补贴等业务请通过官方App或窗口办理，请勿点击链接、勿扫码、勿填写银行卡信息。",
	  "近期联系过您的号码已被认定为诈骗号码（ETC、医保社保、补贴类钓鱼），如您曾按对方要求填写银行卡号、密码或验证码，请立即联系银行冻结账户并拨打110或96110。" } },
	{ "money", {
	  "该号码涉嫌诈骗，对方可能要求您转账汇款，凡是要求向陌生账户转账的，请一律拒绝并立即挂断。",
	  "该短信疑似诈骗，内容涉及转账汇款，请勿向陌生账户转账，勿提供银行卡号、密码或验证码。",
	  "近期联系过您的号码已被认定为诈骗号码，如您曾向对方转账或提供银行卡号、验证码，请立即联系银行并拨打110或96110。" } },
	{ "url", {
	  "该号码涉嫌诈骗，对方可能引导您访问网址或下载软件，切勿按对方要求操作，请立即挂断。",
	  "该短信含有可疑链接，疑似钓鱼诈骗，请勿点击链接、勿下载陌生软件、勿填写个人信息。",
	  "近期联系过您的号码已被认定为诈骗号码，如您曾按对方要求点击链接、下载软件或填写个人信息，请立即修改相关密码并拨打110或96110。" } },
	{ "contact", {
	  "该号码涉嫌诈骗，对方可能诱导您添加微信、QQ等联系方式，切勿添加陌生人为好友，请立即挂断。",
	  "该短信疑似诈骗引流，要求添加微信、QQ或进群的陌生信息请勿理会，勿添加对方为好友。",
	  "近期联系过您的号码已被认定为诈骗号码，如您曾按对方要求添加好友或进群，请勿在其中转账，如已被骗请立即拨打110或96110。" } },
	{ "number", {
	  "该来电号码可疑（虚拟运营商号段或疑似伪造的号码），请谨慎接听，切勿透露个人信息或转账。",
	  "该短信的发送号码或短信中的回拨号码可疑，请勿回拨短信中的号码，如需核实请拨打官方公布的电话。",
	  "近期联系过您的号码已被认定为可疑号码，如您曾按对方要求转账或提供验证码，请立即拨打110或96110。" } },
	{ "en_bank", {
	  "该号码涉嫌冒充银行诈骗，银行不会通过电话索要密码或验证码，请立即挂断。 Scam alert: a bank never asks for your PIN or codes by phone; hang up.",
	  "该短信疑似冒充银行的钓鱼诈骗，请勿点击链接、勿提供账户信息。 Scam alert: this text imitates a bank; do not click the link.",
	  "近期联系过您的号码已被认定为诈骗号码（冒充银行），如您曾提供账户信息或验证码，请立即联系银行并拨打110或96110。 A number that contacted you was reported for bank fraud." } },
	{ "en_crypto", {
	  "该号码涉嫌虚拟货币投资诈骗，请勿相信高收益承诺，切勿转账或购买虚拟货币。 Scam alert: crypto investment fraud; do not send money.",
	  "该短信疑似虚拟货币诈骗，请勿点击链接、勿连接钱包、勿转账。 Scam alert: crypto fraud; do not click or send coins.",
	  "近期联系过您的号码已被认定为诈骗号码（虚拟货币投资），如您曾向对方转账或充值，请立即拨打110或96110。 A number that contacted you was reported for crypto fraud." } },
	{ "en_tax", {
	  "该号码涉嫌冒充税务部门诈骗，税务部门不会通过电话要求立即缴款或索要银行卡信息，请立即挂断。 Scam alert: tax offices do not demand payment by phone.",
	  "该短信疑似冒充税务部门的退税或欠税诈骗，请勿点击链接、勿填写银行卡信息。 Scam alert: fake tax refund or tax debt message.",
	  "近期联系过您的号码已被认定为诈骗号码（冒充税务部门），如您曾按对方要求缴款或提供银行卡信息，请立即拨打110或96110。 A number that contacted you was reported for tax fraud." } },
	{ "en_prize", {
	  "该号码涉嫌虚假中奖诈骗，领奖前要求先交费的都是骗局，请立即挂断。 Scam alert: a prize that costs a fee is a scam.",
	  "该短信疑似虚假中奖诈骗，请勿点击链接、勿为领奖支付任何费用。 Scam alert: fake prize; do not pay to claim it.",
	  "近期联系过您的号码已被认定为诈骗号码（虚假中奖），如您曾为领奖缴纳费用或提供银行卡信息，请立即拨打110或96110。 A number that contacted you was reported for prize fraud." } },
	{ "en_new_number", {
	  "该号码涉嫌冒充亲友诈骗，对方自称“换了新号码”并要求借钱或转账时，请先用原号码与本人核实。 Scam alert: \"new number\" scam; call the old number first.",
	  "该短信疑似冒充亲友诈骗，自称“换了新号码”并要求转账的，请先用原号码与本人核实，切勿直接转账。 Scam alert: \"new number\" scam; check with the person first.",
	  "近期联系过您的号码已被认定为诈骗号码（冒充亲友“换新号码”），如您曾按对方要求转账，请立即拨打110或96110。 A number that contacted you was reported for a \"new number\" scam." } },
	{ "en_delivery", {
	  "该号码涉嫌冒充快递物流诈骗，快递员不会要求您支付“重新派送费”或提供银行卡信息，请立即挂断。 Scam alert: couriers do not charge redelivery fees by phone.",
	  "该短信疑似冒充快递的钓鱼诈骗，请勿点击链接支付“重新派送费”、勿填写银行卡信息。 Scam alert: fake parcel message; do not click.",
	  "近期联系过您的号码已被认定为诈骗号码（冒充快递物流），如您曾点击链接支付费用或填写银行卡信息，请立即联系银行并拨打110或96110。 A number that contacted you was reported for parcel fraud." } },
	{ "en_toll", {
	  "该号码涉嫌以“未缴通行费”为名实施诈骗，请立即挂断，如需缴费请通过官方渠道查询。 Scam alert: fake unpaid toll call; check only on the official site.",
	  "该短信疑似以“未缴通行费”为名的钓鱼诈骗，请勿点击链接付款、勿填写银行卡信息。 Scam alert: fake unpaid toll text; do not click.",
	  "近期联系过您的号码已被认定为诈骗号码（虚假通行费），如您曾点击链接付款或填写银行卡信息，请立即联系银行并拨打110或96110。 A number that contacted you was reported for toll fraud." } },
	{ "en_job", {
	  "该号码涉嫌虚假招聘兼职诈骗，正规工作不会要求先交钱或垫资做任务，请立即挂断。 Scam alert: a real job never asks you to pay first.",
	  "该短信疑似虚假招聘兼职诈骗，高薪轻松、先交费或垫资做任务的都是骗局，请勿回复、勿添加对方联系方式。 Scam alert: fake job offer; do not reply.",
	  "近期联系过您的号码已被认定为诈骗号码（虚假招聘兼职），如您曾按对方要求交费或垫资，请立即拨打110或96110。 A number that contacted you was reported for job fraud." } },
	{ "en_other", {
	  "该号码疑似诈骗电话，请提高警惕，切勿转账汇款或透露银行卡号、密码、验证码。 Scam alert: do not send money or share codes.",
	  "该短信疑似诈骗短信，请勿点击链接、勿回复，切勿转账汇款或透露银行卡号、密码、验证码。 Scam alert: do not click, reply or share codes.",
	  "近期联系过您的号码已被认定为诈骗号码，如对方曾要求转账或提供验证码，请立即拨打110或96110。 A number that contacted you was reported for fraud." } },
	{ "mass_calling", {
	  "该号码在短时间内大量拨打不同号码，疑似诈骗电话，请谨慎接听，切勿透露个人信息或转账。",
	  "该号码在短时间内大量联系不同用户，疑似诈骗，请勿回复、勿点击短信中的链接。",
	  "近期联系过您的号码因短时间内大量拨打陌生号码，已被认定为诈骗号码，如对方曾要求转账或提供验证码，请立即拨打110或96110。" } },
	{ "wangiri", {
	  "该号码疑似“响一声”诈骗电话，请勿回拨，回拨可能产生高额话费或被诱导诈骗。",
	  "该号码疑似“响一声”诈骗号码，请勿回拨、勿回复。",
	  "近期联系过您的号码已被认定为“响一声”诈骗号码，请勿回拨；如已回拨并被要求转账或提供信息，请立即拨打110或96110。" } },
	{ "sms_fanout", {
	  "该号码近期大量群发短信，疑似诈骗号码，请谨慎接听，切勿转账。",
	  "该短信由同一号码大量群发，疑似诈骗短信，请勿点击链接、勿回复。",
	  "近期联系过您的号码因大量群发诈骗短信，已被认定为诈骗号码，如您曾点击其中的链接或按要求转账，请立即拨打110或96110。" } },
	{ "call_and_sms", {
	  "该号码刚刚通过电话和短信轮番联系您，这是诈骗的常用手法，请提高警惕，切勿按对方要求转账或提供验证码。",
	  "该号码刚刚通过电话和短信轮番联系您，这是诈骗的常用手法，请勿点击链接、勿提供验证码。",
	  "近期通过电话和短信联系过您的号码已被认定为诈骗号码，如对方曾要求转账或提供验证码，请立即拨打110或96110。" } },
	{ "blacklist", {
	  "该号码已被列入诈骗号码黑名单，请勿接听或立即挂断，切勿转账或透露个人信息。",
	  "该短信来自已列入黑名单的诈骗号码，请勿点击链接、勿回复、勿转账。",
	  "近期联系过您的号码已被列入诈骗号码黑名单，如对方曾要求转账或提供验证码，请立即拨打110或96110。" } },
	{ "reports", {
	  "该号码已被多位用户举报为诈骗电话，请谨慎接听，切勿转账或透露个人信息。",
	  "该短信的发送号码已被多位用户举报为诈骗号码，请勿点击链接、勿回复、勿转账。",
	  "近期联系过您的号码已被多位用户举报为诈骗号码，如对方曾要求转账或提供验证码，请立即拨打110或96110。" } },
};

static const struct advice advice_general = { "", {
	"该号码疑似诈骗电话，请提高警惕，切勿转账汇款或透露银行卡号、密码、验证码。",
	"该短信疑似诈骗短信，请勿点击链接、勿回复，切勿转账汇款或透露银行卡号、密码、验证码。",
	"近期联系过您的号码已被认定为诈骗号码，如对方曾要求转账或提供验证码，请立即拨打110或96110。" } };
/* clang-format on */

const char *afgw_warning_advice(const char *category, enum afgw_warning_channel ch)
{
	const struct advice *a = &advice_general;
	unsigned c = (unsigned)ch < 3 ? (unsigned)ch : 0;
	if (category)
		for (size_t i = 0; i < AFGW_ARRAY_SIZE(advice_table); i++)
			if (!strcmp(category, advice_table[i].category)) {
				a = &advice_table[i];
				break;
			}
	return a->text[c];
}

/* ---- JSON ----------------------------------------------------------- */

static int64_t clamp_time(int64_t t)
{
	return t < 0 ? 0 : t > TIME_MAX ? TIME_MAX : t;
}

/* "2026-11-21T10:00:00Z" (20 characters) for t clamped to 1970..9999. */
static size_t rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)clamp_time(t);
	struct tm tm;
	if (!gmtime_r(&tt, &tm))
		return 0;
	return strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * Exactly the form rfc3339() writes, nothing else: the digits are read,
 * the time computed, and the text written back must be the same (which
 * rejects February 30th, 24:00 and years before 1970 without a table).
 */
static int parse_rfc3339(const char *s, size_t n, int64_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	int v[6] = { 0 };
	static const int at[6] = { 0, 5, 8, 11, 14, 17 }, len[6] = { 4, 2, 2, 2, 2, 2 };
	if (n != sizeof(shape) - 1)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return -EINVAL;
	for (int k = 0; k < 6; k++)
		for (int i = 0; i < len[k]; i++)
			v[k] = v[k] * 10 + (s[at[k] + i] - '0');
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31)
		return -EINVAL;
	int64_t t = days_from_civil(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
	char back[32];
	if (rfc3339(t, back) != n || memcmp(back, s, n) != 0)
		return -EINVAL;
	*out = t;
	return 0;
}

static void put_time(struct afgw_jbuf *b, const char *key, int64_t t)
{
	char s[32];
	size_t n = rfc3339(t, s);
	afgw_json_key(b, key);
	afgw_json_str(b, s, n);
}

static void put_field(struct afgw_jbuf *b, const char *key, const char *s, size_t cap)
{
	afgw_json_key(b, key);
	afgw_json_str(b, s, strnlen(s, cap));
}

static void write_json(const struct afgw_warning *w, unsigned n_reasons, struct afgw_jbuf *b)
{
	afgw_jbuf_reset(b);
	afgw_json_obj_begin(b);
	afgw_json_key(b, "v");
	afgw_json_int(b, 1);
	put_field(b, "id", w->id, sizeof(w->id));
	put_time(b, "ts", w->ts);
	afgw_json_key(b, "channel");
	afgw_json_cstr(b, afgw_warning_channel_name(w->channel));
	put_field(b, "account", w->account, sizeof(w->account));
	put_field(b, "other", w->other, sizeof(w->other));
	put_field(b, "category", w->category, sizeof(w->category));
	afgw_json_key(b, "score");
	afgw_json_int(b, w->score);
	afgw_json_key(b, "action");
	afgw_json_cstr(b, w->action == AFGW_BLOCK ? "block" : "warn");
	afgw_json_key(b, "reasons");
	afgw_json_arr_begin(b);
	for (unsigned i = 0; i < n_reasons; i++) {
		const struct afgw_warning_reason *r = &w->reason[i];
		afgw_json_obj_begin(b);
		put_field(b, "source", r->source, sizeof(r->source));
		put_field(b, "id", r->id, sizeof(r->id));
		put_field(b, "category", r->category, sizeof(r->category));
		afgw_json_key(b, "weight");
		afgw_json_int(b, r->weight);
		afgw_json_obj_end(b);
	}
	afgw_json_arr_end(b);
	afgw_json_key(b, "advice");
	afgw_json_cstr(b, afgw_warning_advice(w->category, w->channel));
	afgw_json_key(b, "ruleset");
	afgw_json_uint(b, w->ruleset);
	put_field(b, "gateway", w->gateway, sizeof(w->gateway));
	if (w->channel == AFGW_WARNING_LOOKBACK)
		put_time(b, "contacted_at", w->contacted_at);
	afgw_json_obj_end(b);
}

/*
 * Real fields are short identifiers and the JSON is well under 1 KiB.
 * Only hostile contents (control characters escape to six bytes each,
 * bad UTF-8 to three) could push it over AFGW_WARNING_JSON_MAX: then the
 * reasons are left off from the last, which always fits, since the rest
 * is bounded by the field sizes to about 2.5 KiB.
 */
void afgw_warning_json(const struct afgw_warning *w, struct afgw_jbuf *b)
{
	unsigned n = w->n_reasons < AFGW_WARNING_REASONS_MAX ? w->n_reasons
							     : AFGW_WARNING_REASONS_MAX;
	for (;;) {
		write_json(w, n, b);
		if (b->len <= AFGW_WARNING_JSON_MAX || n == 0 || afgw_jbuf_failed(b))
			break;
		n--;
	}
}

/* A string member of o into dst (cap bytes with the NUL): -EINVAL when it
 * is missing, not a string, or longer than cap - 1 bytes. */
static int get_str(json_t *o, const char *key, char *dst, size_t cap)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		return -EINVAL;
	size_t n = json_string_length(v);
	if (n >= cap)
		return -EINVAL;
	/* Without JSON_ALLOW_NUL jansson refuses \u0000, so n is the C length. */
	memcpy(dst, json_string_value(v), n);
	dst[n] = '\0';
	return 0;
}

static int get_int(json_t *o, const char *key, long long lo, long long hi, long long *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return -EINVAL;
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return -EINVAL;
	*out = x;
	return 0;
}

static bool is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int get_time(json_t *o, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		return -EINVAL;
	return parse_rfc3339(json_string_value(v), json_string_length(v), out);
}

/*
 * Everything checked, with a sticky error: a field missing, of the wrong
 * type or too long makes the whole warning invalid.  ruleset is read as
 * jansson's signed integer, so a serial above 2^63 - 1 does not parse
 * (serials count up from 1).
 */
int afgw_warning_parse(const char *json, size_t len, struct afgw_warning *out)
{
	if (!json || len == 0 || len > AFGW_WARNING_JSON_MAX)
		return -EINVAL;
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		return -EINVAL;
	}
	struct afgw_warning w;
	memset(&w, 0, sizeof(w));
	long long v = 0, score = 0, ruleset = 0;
	char channel[16], action[16];
	int err = 0;
	err |= get_int(root, "v", 1, 1, &v);
	err |= get_str(root, "id", w.id, sizeof(w.id));
	err |= get_time(root, "ts", &w.ts);
	err |= get_str(root, "channel", channel, sizeof(channel));
	err |= get_str(root, "account", w.account, sizeof(w.account));
	err |= get_str(root, "other", w.other, sizeof(w.other));
	err |= get_str(root, "category", w.category, sizeof(w.category));
	err |= get_int(root, "score", 0, 100, &score);
	err |= get_str(root, "action", action, sizeof(action));
	err |= get_int(root, "ruleset", 0, INT64_MAX, &ruleset);
	err |= get_str(root, "gateway", w.gateway, sizeof(w.gateway));
	/* advice is for display; the app may show its own text: only its type matters */
	err |= json_is_string(json_object_get(root, "advice")) ? 0 : -EINVAL;
	if (err)
		goto fail;
	if (!is_hex(w.id, AFGW_WARNING_ID_HEX - 1) || !is_hex(w.gateway, AFGW_KEY_ID_HEX - 1))
		goto fail;
	if (!strcmp(channel, "call"))
		w.channel = AFGW_WARNING_CALL;
	else if (!strcmp(channel, "sms"))
		w.channel = AFGW_WARNING_SMS;
	else if (!strcmp(channel, "lookback"))
		w.channel = AFGW_WARNING_LOOKBACK;
	else
		goto fail;
	if (!strcmp(action, "warn"))
		w.action = AFGW_WARN;
	else if (!strcmp(action, "block"))
		w.action = AFGW_BLOCK;
	else
		goto fail;
	w.score = (int)score;
	w.ruleset = (uint64_t)ruleset;
	if (w.channel == AFGW_WARNING_LOOKBACK) {
		if (get_time(root, "contacted_at", &w.contacted_at) != 0)
			goto fail;
	} else {
		w.contacted_at = w.ts;
	}

	json_t *reasons = json_object_get(root, "reasons");
	if (!json_is_array(reasons) || json_array_size(reasons) > AFGW_WARNING_REASONS_MAX)
		goto fail;
	w.n_reasons = (unsigned)json_array_size(reasons);
	for (unsigned i = 0; i < w.n_reasons; i++) {
		json_t *r = json_array_get(reasons, i);
		struct afgw_warning_reason *wr = &w.reason[i];
		long long weight = 0;
		if (!json_is_object(r))
			goto fail;
		err |= get_str(r, "source", wr->source, sizeof(wr->source));
		err |= get_str(r, "id", wr->id, sizeof(wr->id));
		err |= get_str(r, "category", wr->category, sizeof(wr->category));
		err |= get_int(r, "weight", INT32_MIN, INT32_MAX, &weight);
		wr->weight = (int)weight;
	}
	if (err)
		goto fail;
	json_decref(root);
	*out = w;
	return 0;
fail:
	json_decref(root);
	return -EINVAL;
}

/* ---- seal and open -------------------------------------------------- */

/* The signed form, laid out so that the JSON never moves:
 *
 *     0    4    12                    76
 *     AFW1 | id | signature (64)      | json      what is sealed
 *                    64   68   76
 *                    AFW1 | id | json           what is signed
 *
 * The signed message is built at offset 64, signed, and its 12-byte head
 * then copied to the front with the signature between.  The app side
 * does the same backwards.
 */
#define SIGNED_AT (AFGW_WARNING_HEADER - 4 - AFGW_KEY_ID_BYTES) /* 64 */

int afgw_warning_seal(const struct afgw_sign_key *gk, const uint8_t app_pk[AFGW_BOX_PUBLIC_BYTES],
		      const char *json, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
	uint8_t buf[AFGW_WARNING_HEADER + AFGW_WARNING_JSON_MAX];
	uint8_t id[AFGW_KEY_ID_BYTES], sig[AFGW_SIGN_BYTES];
	if (len == 0 || len > AFGW_WARNING_JSON_MAX || cap < len + AFGW_WARNING_SEAL_OVERHEAD)
		return -EINVAL;
	size_t idlen = 0;
	if (sodium_hex2bin(id, sizeof(id), gk->id, strnlen(gk->id, sizeof(gk->id)), NULL, &idlen,
			   NULL) != 0 ||
	    idlen != sizeof(id))
		return -EINVAL;

	uint8_t *m = buf + SIGNED_AT;
	memcpy(m, magic, 4);
	memcpy(m + 4, id, sizeof(id));
	memcpy(m + 12, json, len);
	int rc = -EIO;
	if (crypto_sign_detached(sig, NULL, m, 12 + len, gk->sk) != 0)
		goto out;
	memcpy(buf, magic, 4);
	memcpy(buf + 4, id, sizeof(id));
	memcpy(buf + 12, sig, sizeof(sig));
	if (crypto_box_seal(out, buf, AFGW_WARNING_HEADER + len, app_pk) != 0)
		goto out; /* app_pk is a low-order point */
	*outlen = len + AFGW_WARNING_SEAL_OVERHEAD;
	rc = 0;
out:
	/* the warning in clear: SMS text or not, it leaves only sealed */
	sodium_memzero(buf, AFGW_WARNING_HEADER + len);
	return rc;
}

enum afgw_warning_open_error afgw_warning_open(const struct afgw_box_key *app,
					       const struct afgw_sign_pub *trusted, size_t n_trusted,
					       const uint8_t *sealed, size_t len, char *json,
					       size_t cap, size_t *jlen,
					       char signer[AFGW_KEY_ID_HEX])
{
	uint8_t m[AFGW_WARNING_HEADER + AFGW_WARNING_JSON_MAX];
	enum afgw_warning_open_error e;
	if (len < crypto_box_SEALBYTES)
		return AFGW_WARNING_NOT_FOR_US;
	/* Too long to be a warning: not worth a decryption. */
	if (len > AFGW_WARNING_SEALED_MAX)
		return AFGW_WARNING_MALFORMED;
	size_t mlen = len - crypto_box_SEALBYTES;
	if (crypto_box_seal_open(m, sealed, len, app->pk, app->sk) != 0)
		return AFGW_WARNING_NOT_FOR_US;
	e = AFGW_WARNING_MALFORMED;
	if (mlen <= AFGW_WARNING_HEADER || memcmp(m, magic, 4) != 0)
		goto out;
	size_t jl = mlen - AFGW_WARNING_HEADER;

	char id[AFGW_KEY_ID_HEX];
	sodium_bin2hex(id, sizeof(id), m + 4, AFGW_KEY_ID_BYTES);
	if (signer)
		memcpy(signer, id, sizeof(id));
	const struct afgw_sign_pub *k = NULL;
	for (size_t i = 0; i < n_trusted && !k; i++)
		if (memcmp(trusted[i].id, id, sizeof(id)) == 0)
			k = &trusted[i];
	e = AFGW_WARNING_UNKNOWN_KEY;
	if (!k)
		goto out;

	/* Back to the signed layout: AFW1 | id next to the json, at 64. */
	uint8_t sig[AFGW_SIGN_BYTES];
	memcpy(sig, m + 12, sizeof(sig));
	memmove(m + SIGNED_AT, m, 12);
	e = AFGW_WARNING_BAD_SIGNATURE;
	if (crypto_sign_verify_detached(sig, m + SIGNED_AT, 12 + jl, k->pk) != 0)
		goto out;
	e = AFGW_WARNING_MALFORMED;
	if (cap < jl + 1)
		goto out; /* the caller's buffer; JSON_MAX + 1 always fits */
	memcpy(json, m + AFGW_WARNING_HEADER, jl);
	json[jl] = '\0';
	if (jlen)
		*jlen = jl;
	e = AFGW_WARNING_OK;
out:
	sodium_memzero(m, mlen);
	return e;
}
