/*
 * extract.h - URLs, domains, contact tokens and phone numbers in SMS text,
 * gateway/extract.c.
 *
 * Runs on normalized text (normalize.h).  Finds:
 *  - URLs with a scheme (http, https), "www." hosts, and bare domains whose
 *    top-level domain is a common or much-abused one (com, cn, top, xyz,
 *    vip, help, lat, ...) or, when the name looks made for a machine (a
 *    hyphen or digit, three labels, a path), any TLD of the root zone;
 *    including short link services (t.cn, dwz.cn, url.cn, bit.ly,
 *    tinyurl.com, ...); the host is reported lower-cased without port, and
 *    look-alike hosts of well-known brands (icbc-vip.top, ccb-etc.cn.com)
 *    are flagged;
 *  - contact tokens: 加V / +v / v信 / 薇 / 威信 / 微信 / vx / wx / QQ / 扣扣 /
 *    Q群 and their homophones, a lone V or Q with a separator, Telegram /
 *    飞机 / WhatsApp / Skype (no flag: type "other"), then filler (':' '@',
 *    spaces, symbols such as ❤, 号 / 是 / id) and an id (digits, letters,
 *    _ and -);
 *  - phone numbers inside text (5 to 15 digits, with the separators people
 *    use), canonicalised with number.h; not codes, amounts, or card,
 *    account, order and tracking numbers.
 * Items are reported as spans into the normalized text plus a normalized
 * value (host, contact id, canonical number).  Bounded: at most
 * AFGW_EXTRACT_MAX of each kind; the rest are counted.
 * Thread: any; no allocation.
 */
#ifndef AFGW_EXTRACT_H
#define AFGW_EXTRACT_H

#include "afgw/common.h"
#include "afgw/number.h"

#define AFGW_EXTRACT_MAX 16
#define AFGW_EXTRACT_VALUE_MAX 128

struct afgw_extract_item {
	size_t start, end;                    /* span in the normalized text */
	char value[AFGW_EXTRACT_VALUE_MAX + 1]; /* host / contact id / canonical number, NUL-terminated */
	size_t value_len;
	unsigned flags;                       /* AFGW_EXTRACT_F_* */
};

enum {
	AFGW_EXTRACT_F_SHORTLINK = 1u << 0,   /* a link-shortening service */
	AFGW_EXTRACT_F_LOOKALIKE = 1u << 1,   /* host imitates a well-known brand */
	AFGW_EXTRACT_F_IP_HOST = 1u << 2,     /* URL host is an IP literal */
	AFGW_EXTRACT_F_QQ = 1u << 3,          /* contact: QQ */
	AFGW_EXTRACT_F_WECHAT = 1u << 4,      /* contact: WeChat */
};

struct afgw_extract {
	struct afgw_extract_item urls[AFGW_EXTRACT_MAX];
	unsigned n_urls;
	struct afgw_extract_item contacts[AFGW_EXTRACT_MAX];
	unsigned n_contacts;
	struct afgw_extract_item numbers[AFGW_EXTRACT_MAX];
	unsigned n_numbers;
	unsigned dropped;                     /* items beyond AFGW_EXTRACT_MAX */
};

/* Extract from normalized text; country_code for phone numbers. */
void afgw_extract_all(const char *text, size_t n, unsigned country_code, struct afgw_extract *out);

#endif
