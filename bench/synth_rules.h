/*
 * synth_rules.h - synthetic rule sets for the benchmarks (bench-match,
 * bench-reload): n text rules, 80 % literals of two or three fraud and
 * everyday words (Chinese three times in four), 20 % regexes with gaps,
 * from a seeded xorshift generator, so every run compiles the same set.
 */
#ifndef AFGW_BENCH_SYNTH_RULES_H
#define AFGW_BENCH_SYNTH_RULES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng = 0x6a09e667f3bcc908ull;

static uint32_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

static const char *const zh[] = {
	"刷单", "返利", "佣金", "兼职", "点赞", "关注", "垫付", "任务", "导师", "投资", "理财",
	"收益", "股票", "涨停", "内部", "贷款", "额度", "征信", "解冻", "保证金", "会员", "客服",
	"退款", "理赔", "快递", "包裹", "账户", "安全", "冻结", "洗钱", "公安", "检察", "法院",
	"逮捕", "通缉", "注销", "校园", "游戏", "皮肤", "账号", "交易", "相亲", "交友", "领导",
	"老板", "转账", "汇款", "部队", "采购", "医保", "社保", "补贴", "退税", "积分", "兑换",
	"中奖", "奖金", "视频", "聊天", "通讯录", "红包", "链接", "验证码", "银行", "支付",
	"订单", "商品", "平台", "下载", "认证", "失效", "过期", "立即", "今天", "明天", "通知",
	"活动", "优惠", "天气", "吃饭", "回家", "开会", "孩子", "学校", "医院", "停电", "小区",
};
static const char *const en[] = {
	"parcel", "delivery", "customs", "fee", "account", "suspended", "verify", "payee",
	"refund", "tax", "prize", "winner", "voucher", "wallet", "crypto", "bitcoin", "mum",
	"number", "toll", "unpaid", "penalty", "bank", "code", "login", "click", "link",
	"urgent", "today", "claim", "reward", "gift", "card", "locked", "secure", "update",
	"meeting", "dinner", "school", "weather", "train", "ticket", "order", "shop",
};
#define NZH (sizeof(zh) / sizeof(zh[0]))
#define NEN (sizeof(en) / sizeof(en[0]))

static const char *word(void)
{
	return rnd() % 4 ? zh[rnd() % NZH] : en[rnd() % NEN];
}

/* A YAML rule file with n text rules. */
static char *synth_rules(size_t n, size_t *len)
{
	size_t cap = n * 256 + 64, o = 0;
	char *buf = malloc(cap);
	if (!buf)
		abort();
	o += (size_t)snprintf(buf + o, cap - o, "rules:\n");
	for (size_t i = 0; i < n; i++) {
		char pat[160];
		bool regex = rnd() % 5 == 0;
		if (!regex) {
			if (rnd() % 3)
				snprintf(pat, sizeof(pat), "%s%s", word(), word());
			else
				snprintf(pat, sizeof(pat), "%s%s%s", word(), word(), word());
		} else if (rnd() % 2) {
			snprintf(pat, sizeof(pat), "(%s|%s|%s).{0,%u}(%s|%s)", word(), word(), word(),
				 2 + rnd() % 5, word(), word());
		} else {
			snprintf(pat, sizeof(pat), "%s.*%s", word(), word());
		}
		o += (size_t)snprintf(buf + o, cap - o,
				      "- {id: s%zu, kind: text, pattern: '%s', %sweight: %d, "
				      "category: c%u, desc_zh: z, desc_en: e}\n",
				      i, pat, regex ? "flags: [regex], " : "",
				      (int)(rnd() % 60) - 10, rnd() % 20);
	}
	*len = o;
	return buf;
}

#endif
