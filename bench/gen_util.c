/*
 * gen_util.c - afgw-gen's small tools: buffers, the random stream, JSON
 * text, timestamps, numbers in all their written forms, and the corpus.
 *
 * Numbers are generated canonical first (DESIGN.md §6 with country code
 * 86) and then rendered into one of the forms traffic really carries, so
 * the truth always knows both the canonical and the raw text.  Every class
 * stays unambiguous under the canonical rules: mobiles 1[3-9] + 9 digits,
 * landlines with trunk 0, service numbers and 106 SMS ports as dialled,
 * foreign numbers with + or 00, alphanumeric SMS senders as text.
 *
 * The corpus is a TSV (`id label category lang text`, `#` comments, \n \t
 * \\ escapes in the text).  Each text is SMS-encoded once at load time.
 */
#include "gen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

static void oom(void)
{
	fputs("afgw-gen: out of memory\n", stderr);
	exit(1);
}

/* ---- buffers ----------------------------------------------------------- */

void gen_buf_init(struct gen_buf *b, size_t cap)
{
	b->p = malloc(cap ? cap : 1);
	if (!b->p)
		oom();
	b->len = 0;
	b->cap = cap ? cap : 1;
}

void gen_buf_fini(struct gen_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void gen_buf_grow(struct gen_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 64;

	while (cap - b->len < more)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		oom();
	b->p = p;
	b->cap = cap;
}

void gen_putu(struct gen_buf *b, uint64_t v, unsigned width)
{
	char tmp[24];
	unsigned n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < width && n < sizeof(tmp))
		tmp[n++] = '0';
	if (b->cap - b->len < n)
		gen_buf_grow(b, n);
	while (n)
		b->p[b->len++] = (uint8_t)tmp[--n];
}

void gen_putx(struct gen_buf *b, uint64_t v, unsigned ndigits)
{
	static const char hex[] = "0123456789abcdef";

	if (b->cap - b->len < ndigits)
		gen_buf_grow(b, ndigits);
	for (unsigned i = ndigits; i-- > 0;)
		b->p[b->len++] = (uint8_t)hex[(v >> (4 * i)) & 15];
}

void gen_put_json(struct gen_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	gen_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		/* skip eight plain bytes at a time: none below 0x20, no '"', no '\\' */
		while (n - i >= 8) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
			uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
			uint64_t hit =
			    ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs);
			if (hit & high)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		gen_put(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			gen_puts(b, "\\\"");
			break;
		case '\\':
			gen_puts(b, "\\\\");
			break;
		case '\n':
			gen_puts(b, "\\n");
			break;
		case '\r':
			gen_puts(b, "\\r");
			break;
		case '\t':
			gen_puts(b, "\\t");
			break;
		default:
			gen_puts(b, "\\u00");
			gen_putc(b, hex[c >> 4]);
			gen_putc(b, hex[c & 15]);
			break;
		}
	}
	gen_put(b, s + run, n - run);
	gen_putc(b, '"');
}

void gen_put_json_or_null(struct gen_buf *b, const char *s)
{
	if (s)
		gen_put_json(b, s, strlen(s));
	else
		gen_puts(b, "null");
}

/* Formatting the date is the slow part; lines come in time order, so the
 * "YYYY-MM-DDTHH:MM:SS." prefix is cached per second. */
void gen_put_time(struct gen_buf *b, uint64_t ts_us)
{
	static uint64_t cached_sec = UINT64_MAX;
	static char prefix[32];
	static size_t prefix_len;
	uint64_t sec = ts_us / 1000000;

	if (sec != cached_sec) {
		time_t tt = (time_t)sec;
		struct tm tm;
		gmtime_r(&tt, &tm);
		prefix_len = strftime(prefix, sizeof(prefix), "%Y-%m-%dT%H:%M:%S.", &tm);
		cached_sec = sec;
	}
	gen_put(b, prefix, prefix_len);
	gen_putu(b, ts_us % 1000000, 6);
	gen_putc(b, 'Z');
}

void gen_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (cap == 0)
		return;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- random numbers ---------------------------------------------------- */

uint64_t gen_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void gen_rng_seed(struct gen_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++) {
		x = gen_mix64(x);
		r->s[i] = x;
	}
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t gen_rng_next(struct gen_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Lemire's multiply-shift with rejection: unbiased and cheap. */
uint32_t gen_rng_below(struct gen_rng *r, uint32_t n)
{
	uint64_t m = (uint64_t)(uint32_t)(gen_rng_next(r) >> 32) * n;
	uint32_t lo = (uint32_t)m;

	if (lo < n) {
		uint32_t t = (uint32_t)(-n) % n;
		while (lo < t) {
			m = (uint64_t)(uint32_t)(gen_rng_next(r) >> 32) * n;
			lo = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

uint64_t gen_rng_range(struct gen_rng *r, uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo + 1;

	if (span == 0)
		return gen_rng_next(r);
	if (span <= UINT32_MAX)
		return lo + gen_rng_below(r, (uint32_t)span);
	return lo + gen_rng_next(r) % span;
}

double gen_rng_unit(struct gen_rng *r)
{
	return (double)(gen_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

bool gen_rng_chance(struct gen_rng *r, double p)
{
	if (p <= 0)
		return false;
	if (p >= 1)
		return true;
	return gen_rng_unit(r) < p;
}

uint64_t gen_rng_exp(struct gen_rng *r, double mean_us)
{
	double u = gen_rng_unit(r);
	double x = -mean_us * log1p(-u);

	if (x < 1)
		return 1;
	if (x > 1e15)
		return (uint64_t)1e15;
	return (uint64_t)x;
}

void gen_rng_token(struct gen_rng *r, char *out, size_t n, bool hex_only)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static const char hex[] = "0123456789abcdef";
	uint64_t bits = 0;
	unsigned left = 0;

	for (size_t i = 0; i < n; i++) {
		if (left == 0) {
			bits = gen_rng_next(r);
			left = 10;
		}
		unsigned v = (unsigned)(bits & 63);
		bits >>= 6;
		left--;
		out[i] = hex_only ? hex[v & 15] : alnum[v % 36];
	}
	out[n] = '\0';
}

/* ---- numbers ------------------------------------------------------------ */

/* Append digits of h (base 10, leading zeros allowed) to p. */
static char *digits(char *p, uint64_t h, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		p[i] = (char)('0' + h % 10);
		h /= 10;
	}
	return p + n;
}

static void set_e164(struct gen_number *n, const char *cc, const char *lead, uint64_t h,
                     unsigned rest, uint8_t cls)
{
	char *p = n->canon;

	*p++ = '+';
	size_t ccl = strlen(cc), ll = strlen(lead);
	memcpy(p, cc, ccl);
	p += ccl;
	memcpy(p, lead, ll);
	p = digits(p + ll, h, rest);
	*p = '\0';
	n->cls = cls;
	n->cc_len = (uint8_t)ccl;
	n->lead_len = (uint8_t)(ll < 4 ? ll : 4);
	if (n->lead_len == 0)
		n->lead_len = 3;
}

void gen_num_mobile(struct gen_number *n, uint64_t h)
{
	static const char *const pfx[] = {
	    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145",
	    "147", "150", "151", "152", "153", "155", "156", "157", "158", "159", "166",
	    "173", "175", "176", "177", "178", "180", "181", "182", "183", "184", "185",
	    "186", "187", "188", "189", "191", "195", "198", "199",
	};
	h = gen_mix64(h);
	set_e164(n, "86", pfx[h % AFGW_GEN_N(pfx)], h / 64, 8, GEN_NUM_MOBILE);
}

void gen_num_virtual(struct gen_number *n, uint64_t h)
{
	static const char *const pfx[] = {"170", "171", "162", "165", "167"};
	h = gen_mix64(h);
	set_e164(n, "86", pfx[h % AFGW_GEN_N(pfx)], h / 8, 8, GEN_NUM_MOBILE);
}

void gen_num_landline(struct gen_number *n, uint64_t h)
{
	static const char *const area[] = {
	    "10", "20",  "21",  "22",  "23",  "24",  "25",  "27",  "28",
	    "29", "755", "571", "532", "591", "731", "871", "512", "760",
	};
	char lead[8];

	h = gen_mix64(h);
	const char *a = area[h % AFGW_GEN_N(area)];
	h /= 32;
	size_t al = strlen(a);
	memcpy(lead, a, al);
	/* local numbers start with 2-8 */
	lead[al] = (char)('2' + h % 7);
	lead[al + 1] = '\0';
	set_e164(n, "86", lead, h / 8, 7, GEN_NUM_LANDLINE);
	n->lead_len = (uint8_t)al;
}

void gen_num_service(struct gen_number *n, uint64_t h)
{
	static const char *const common[] = {
	    "95588", "95533", "95599", "95566", "95555", "95559", "95528", "95508",
	    "95568", "95577", "95595", "95580", "95561", "10086", "10010", "10000",
	    "12306", "12345", "95518", "95511", "95500", "95519", "95598", "12315",
	};
	static const char *const special[] = {"110", "120", "119", "96110", "12381", "12110"};

	h = gen_mix64(h);
	n->cls = GEN_NUM_SERVICE;
	n->cc_len = 0;
	n->lead_len = 3;
	unsigned pick = (unsigned)(h % 100);
	h /= 100;
	if (pick < 70) {
		gen_copy(n->canon, sizeof(n->canon), common[h % AFGW_GEN_N(common)]);
	} else if (pick < 92) {
		memcpy(n->canon, pick < 84 ? "400" : "800", 3);
		char *p = digits(n->canon + 3, h / 32, 7);
		*p = '\0';
	} else {
		gen_copy(n->canon, sizeof(n->canon), special[h % AFGW_GEN_N(special)]);
	}
}

void gen_num_smsport(struct gen_number *n, uint64_t h)
{
	h = gen_mix64(h);
	n->cls = GEN_NUM_SERVICE;
	n->cc_len = 0;
	n->lead_len = 4;
	unsigned extra = 8 + (unsigned)(h % 4); /* 106 + 9..12 digits in all */
	memcpy(n->canon, "1069", 4);
	char *p = digits(n->canon + 4, h / 4, extra - 1);
	*p = '\0';
}

struct intl_plan {
	const char *cc, *lead;
	unsigned rest;
};

static void intl_from(struct gen_number *n, uint64_t h, const struct intl_plan *plan, size_t np)
{
	h = gen_mix64(h);
	const struct intl_plan *pl = &plan[h % np];
	set_e164(n, pl->cc, pl->lead, h / 64, pl->rest, GEN_NUM_INTL);
}

void gen_num_intl(struct gen_number *n, uint64_t h)
{
	static const struct intl_plan plan[] = {
	    {"44", "7700900", 3}, /* UK drama range */
	    {"1", "20255501", 2}, /* NANP fictional */
	    {"852", "9", 7},      {"852", "6", 7}, {"886", "9", 8}, {"63", "917", 7},
	    {"855", "12", 6},     {"95", "9", 8},  {"84", "90", 7}, {"60", "12", 7},
	    {"81", "90", 8},      {"65", "9", 7},  {"66", "81", 7},
	};
	intl_from(n, h, plan, AFGW_GEN_N(plan));
}

void gen_num_wangiri(struct gen_number *n, uint64_t h)
{
	static const struct intl_plan plan[] = {
	    {"882", "16", 8}, {"881", "6", 8}, {"225", "07", 8}, {"216", "9", 7},
	    {"269", "3", 6},  {"371", "2", 7}, {"232", "7", 7},  {"855", "97", 7},
	};
	intl_from(n, h, plan, AFGW_GEN_N(plan));
}

void gen_num_alpha(struct gen_number *n, uint64_t h)
{
	static const char *const names[] = {
	    "ICBC",       "JD.com",    "Taobao",  "CMBChina",  "Alipay",  "WeChat",
	    "SF-Express", "Meituan",   "CTRIP",   "BOC",       "ABChina", "CCB",
	    "DiDi",       "Pinduoduo", "12306cn", "ChinaPost", "Ele.me",
	};
	h = gen_mix64(h);
	n->cls = GEN_NUM_ALPHA;
	n->cc_len = 0;
	n->lead_len = 0;
	gen_copy(n->canon, sizeof(n->canon), names[h % AFGW_GEN_N(names)]);
}

/* National significant number: the canonical text after "+<cc>". */
static const char *nsn(const struct gen_number *n)
{
	return n->canon + 1 + n->cc_len;
}

static void join(char *out, size_t cap, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + lb + 1 > cap) {
		gen_copy(out, cap, a);
		return;
	}
	memcpy(out, a, la);
	memcpy(out + la, b, lb + 1);
}

void gen_num_sip_user(struct gen_rng *r, const struct gen_number *n, char *out, size_t cap)
{
	unsigned pick = gen_rng_below(r, 100);

	switch (n->cls) {
	case GEN_NUM_MOBILE:
		if (pick < 30)
			gen_copy(out, cap, nsn(n));
		else if (pick < 65)
			gen_copy(out, cap, n->canon);
		else if (pick < 80)
			gen_copy(out, cap, n->canon + 1);
		else
			join(out, cap, "00", n->canon + 1);
		break;
	case GEN_NUM_LANDLINE:
		if (pick < 45)
			join(out, cap, "0", nsn(n));
		else if (pick < 80)
			gen_copy(out, cap, n->canon);
		else
			join(out, cap, "00", n->canon + 1);
		break;
	case GEN_NUM_INTL:
		if (pick < 70)
			gen_copy(out, cap, n->canon);
		else
			join(out, cap, "00", n->canon + 1);
		break;
	default:
		gen_copy(out, cap, n->canon);
		break;
	}
}

/* "+86-138-0013-8000": country code, the lead group, then groups of four
 * (a tail of up to six digits stays whole). */
static void tel_global(const struct gen_number *n, char sep, char *out, size_t cap)
{
	char tmp[48];
	size_t o = 0;
	const char *s = n->canon;

	tmp[o++] = '+';
	memcpy(tmp + o, s + 1, n->cc_len);
	o += n->cc_len;
	const char *p = nsn(n);
	size_t left = strlen(p), take = n->lead_len < left ? n->lead_len : left;
	tmp[o++] = sep;
	memcpy(tmp + o, p, take);
	o += take;
	p += take;
	left -= take;
	while (left && o + 8 < sizeof(tmp)) { /* canon has at most 23 characters */
		take = left <= 6 ? left : 4;
		tmp[o++] = sep;
		memcpy(tmp + o, p, take);
		o += take;
		p += take;
		left -= take;
	}
	tmp[o] = '\0';
	gen_copy(out, cap, tmp);
}

void gen_num_tel(struct gen_rng *r, const struct gen_number *n, char *raw, size_t rawcap,
                 char *params, size_t pcap)
{
	unsigned pick = gen_rng_below(r, 100);

	gen_copy(params, pcap, "");
	bool domestic = n->cls == GEN_NUM_MOBILE || n->cls == GEN_NUM_LANDLINE;
	if (domestic && pick < 15) {
		/* a local number: as dialled nationally, in the +86 context */
		if (n->cls == GEN_NUM_MOBILE)
			gen_copy(raw, rawcap, nsn(n));
		else
			join(raw, rawcap, "0", nsn(n));
		gen_copy(params, pcap, ";phone-context=+86");
	} else if (domestic || n->cls == GEN_NUM_INTL) {
		if (pick < 45)
			gen_copy(raw, rawcap, n->canon);
		else
			tel_global(n, pick < 85 ? '-' : '.', raw, rawcap);
	} else {
		gen_copy(raw, rawcap, n->canon);
		gen_copy(params, pcap, ";phone-context=+86");
	}
}

void gen_num_smpp(struct gen_rng *r, const struct gen_number *n, uint8_t *ton, uint8_t *npi,
                  char *out, size_t cap)
{
	switch (n->cls) {
	case GEN_NUM_MOBILE:
		if (gen_rng_below(r, 2)) {
			*ton = 1;
			*npi = 1;
			gen_copy(out, cap, n->canon + 1);
		} else {
			*ton = 2;
			*npi = 1;
			gen_copy(out, cap, nsn(n));
		}
		break;
	case GEN_NUM_LANDLINE:
	case GEN_NUM_INTL:
		*ton = 1;
		*npi = 1;
		gen_copy(out, cap, n->canon + 1);
		break;
	case GEN_NUM_SERVICE:
		*ton = 0;
		*npi = 1;
		gen_copy(out, cap, n->canon);
		break;
	default:
		*ton = 5;
		*npi = 0;
		gen_copy(out, cap, n->canon);
		break;
	}
}

void gen_num_tp(struct gen_rng *r, const struct gen_number *n, bool alpha_ok, struct gen_tp_addr *a)
{
	switch (n->cls) {
	case GEN_NUM_MOBILE:
		if (gen_rng_below(r, 2)) {
			a->toa = GEN_TOA_INTL;
			gen_copy(a->text, sizeof(a->text), n->canon + 1);
		} else {
			a->toa = GEN_TOA_UNKNOWN;
			gen_copy(a->text, sizeof(a->text), nsn(n));
		}
		break;
	case GEN_NUM_LANDLINE:
		if (gen_rng_below(r, 2)) {
			a->toa = GEN_TOA_INTL;
			gen_copy(a->text, sizeof(a->text), n->canon + 1);
		} else {
			a->toa = GEN_TOA_UNKNOWN; /* with the trunk prefix, as dialled */
			join(a->text, sizeof(a->text), "0", nsn(n));
		}
		break;
	case GEN_NUM_INTL:
		if (gen_rng_chance(r, 0.8)) {
			a->toa = GEN_TOA_INTL;
			gen_copy(a->text, sizeof(a->text), n->canon + 1);
		} else {
			a->toa = GEN_TOA_UNKNOWN; /* with the international prefix */
			join(a->text, sizeof(a->text), "00", n->canon + 1);
		}
		break;
	case GEN_NUM_SERVICE:
		/* 11 septets is the most an alphanumeric TP address holds */
		a->toa = alpha_ok && strlen(n->canon) <= 11 && gen_rng_chance(r, 0.3)
		             ? GEN_TOA_ALNUM
		             : GEN_TOA_UNKNOWN;
		gen_copy(a->text, sizeof(a->text), n->canon);
		break;
	default:
		a->toa = GEN_TOA_ALNUM;
		gen_copy(a->text, sizeof(a->text), n->canon);
		break;
	}
}

/* ---- corpus ------------------------------------------------------------- */

/* Valid UTF-8 without NUL (overlongs, surrogates and > U+10FFFF refused). */
static bool utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		unsigned need;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0) {
			need = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= need)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

/* Resolve \n \t \\ in place; other backslashes stay.  Returns the new length. */
static size_t unescape(char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			char e = s[i + 1];
			if (e == 'n' || e == 't' || e == '\\') {
				s[o++] = e == 'n' ? '\n' : e == 't' ? '\t' : '\\';
				i++;
				continue;
			}
		}
		s[o++] = s[i];
	}
	return o;
}

#define TEXT_MAX 8000 /* a long SMS is a few hundred characters */

/* Parse a whole TSV held in buf (taken over; text fields point into it). */
static int corpus_parse(struct gen_corpus *c, char *buf, size_t len, const char *name)
{
	size_t cap = 256, lineno = 0;
	struct gen_buf units;
	size_t *unit_off = NULL;

	memset(c, 0, sizeof(*c));
	c->text_store = buf;
	c->t = calloc(cap, sizeof(*c->t));
	unit_off = calloc(cap, sizeof(*unit_off));
	if (!c->t || !unit_off)
		oom();
	gen_buf_init(&units, 1 << 16);

	char *p = buf, *end = buf + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *le = nl ? nl : end;
		char *next = nl ? nl + 1 : end;
		lineno++;
		if (le > p && le[-1] == '\r')
			le--;
		*le = '\0';
		if (p == le || *p == '#') {
			p = next;
			continue;
		}
		char *f[5];
		int nf = 0;
		f[nf++] = p;
		for (char *q = p; q < le && nf < 5; q++) {
			if (*q == '\t') {
				*q = '\0';
				f[nf++] = q + 1;
			}
		}
		p = next;
		if (nf < 5) {
			c->skipped++;
			continue;
		}
		size_t tl = unescape(f[4], strlen(f[4]));
		f[4][tl] = '\0';
		bool fraud = strcmp(f[1], "fraud") == 0;
		if ((!fraud && strcmp(f[1], "legit") != 0) || tl == 0 || tl > TEXT_MAX ||
		    !utf8_ok((const uint8_t *)f[4], tl)) {
			c->skipped++;
			continue;
		}
		if (c->n == cap) {
			cap *= 2;
			c->t = realloc(c->t, cap * sizeof(*c->t));
			unit_off = realloc(unit_off, cap * sizeof(*unit_off));
			if (!c->t || !unit_off)
				oom();
		}
		struct gen_text *t = &c->t[c->n];
		memset(t, 0, sizeof(*t));
		t->id = f[0];
		t->label = f[1];
		t->category = f[2];
		t->lang = f[3];
		t->text = f[4];
		t->len = tl;
		t->fraud = fraud;
		unit_off[c->n] = units.len;
		t->dc = gen_sms_encode(t->text, tl, &units, &t->nunits);
		t->unit = t->dc == GEN_DC_UCS2 ? 2 : 1;
		t->nbytes = units.len - unit_off[c->n];
		c->n++;
	}
	if (c->n == 0) {
		fprintf(stderr,
		        "afgw-gen: %s: no usable corpus line (id, label fraud|legit, "
		        "category, lang, text separated by tabs)\n",
		        name);
		gen_buf_fini(&units);
		free(unit_off);
		return -EINVAL;
	}
	c->unit_store = units.p; /* taken over */
	c->fraud = calloc(c->n, sizeof(*c->fraud));
	c->legit = calloc(c->n, sizeof(*c->legit));
	if (!c->fraud || !c->legit)
		oom();
	for (size_t i = 0; i < c->n; i++) {
		c->t[i].units = c->unit_store + unit_off[i];
		if (c->t[i].fraud)
			c->fraud[c->nfraud++] = (uint32_t)i;
		else
			c->legit[c->nlegit++] = (uint32_t)i;
	}
	free(unit_off);
	(void)lineno;
	return 0;
}

int gen_corpus_load(struct gen_corpus *c, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 1 << 16;
	int err;

	if (!f) {
		err = -errno;
		fprintf(stderr, "afgw-gen: %s: %s\n", path, strerror(errno));
		return err;
	}
	buf = malloc(cap);
	if (!buf)
		oom();
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				oom();
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "afgw-gen: %s: read error\n", path);
		err = -EIO;
		goto fail;
	}
	fclose(f);
	f = NULL;
	err = corpus_parse(c, buf, len, path);
	if (err)
		goto fail;
	return 0;
fail:
	if (f)
		fclose(f);
	free(buf);
	memset(c, 0, sizeof(*c));
	return err;
}

/* Used only when tests/data/sms_corpus.tsv is missing: a few texts of each
 * kind the encoders must handle (GSM with escapes, Latin-1, Chinese, emoji
 * and a CJK extension B character outside the BMP, long texts). */
static const char builtin_tsv[] =
    "# afgw-gen built-in corpus\n"
    "b001\tlegit\tverification\ten\tYour verification code is 482913. Valid for 5 "
    "minutes. Do not share it with anyone.\n"
    "b002\tlegit\tparcel\tzh\t【顺丰速运】您的快递已到达小区驿站，取件码 6-2-3015，请于今日 20:00 "
    "前取件。\n"
    "b003\tlegit\tbank\tzh\t【工商银行】您尾号8821的账户于11月21日08:02支出人民币128.00元，余额"
    "3,402.17元。\n"
    "b004\tlegit\tgreeting\ten\tHappy birthday! Dinner at 7 {usual place} ~ bring the "
    "[photos] & 20€ for the cake ^_^\n"
    "b005\tlegit\tgreeting\tfr\tBonne fête ! Rendez-vous au café à côté, naïve idée : "
    "crêpes © maison.\n"
    "b006\tlegit\tfamily\tzh\t妈，我到学校了，一切都好😀 周末视频。\n"
    "b007\tlegit\tnotice\tzh\t【国家反诈中心】提醒您：公检法机关不会通过电话办案，不存在\"安全账户"
    "\"，凡是要求转账到安全账户的都是诈骗！如有疑问请拨打96110咨询。\n"
    "b008\tlegit\tnotice\ten\tDear customer, your monthly statement for November is "
    "ready. Log in to online banking to view it. Minimum payment due on 12/10. This is "
    "an automated message, please do not reply. Call 95588 for help.\n"
    "b009\tlegit\tfamily\tzh\t𠀀字怎么读？查了半天字典😂\n"
    "b010\tlegit\tparcel\ten\tParcel 7731 out for delivery today between 2pm and 5pm.\n"
    "f001\tfraud\t刷单返利\tzh\t【兼职】在家动动手指日赚300-800元，刷单返利当天结算，加V：kk88"
    "99 咨询，名额有限！\n"
    "f002\tfraud\t冒充公检法\tzh\t您好，这里是市公安局，您的身份证涉嫌一起洗钱案件，请立即将资金转"
    "入"
    "安全账户配合调查，否则将冻结您名下所有银行卡。\n"
    "f003\tfraud\t虚假贷款\tzh\t【惠民贷】无抵押无担保，最高可贷50万，秒批秒到账，点击 "
    "http://hmd-loan.top/a8 立即申请💰\n"
    "f004\tfraud\t虚假投资理财\tzh\t老师带你炒币，稳赚不赔，月收益30%以上，进群领取内部消息：QQ "
    "2389012345。已有数千人跟单获利，机会难得，错过再等一年！限时免费，仅剩最后8个名额，"
    "先到先得。\n"
    "f005\tfraud\tETC\tzh\t【ETC服务】您的ETC已失效，请于24小时内登录 etc-renew.cc "
    "重新认证，逾期将影响通行。\n"
    "f006\tfraud\tphishing\ten\tURGENT: your account has been suspended. Verify at "
    "http://secure-bank-login.xyz/v within 24h or lose access.\n"
    "f007\tfraud\t中奖\tzh\t恭喜您被抽中为幸运用户，获得iPhone 15一台🎁 请登录 "
    "zj-gift.vip 填写地址并支付运费9.9元领取。\n"
    "f008\tfraud\t冒充客服\tzh\t【淘宝客服】您购买的商品存在质量问题，我们将为您办理双倍赔偿退款，"
    "请添加客服微信 tb-kf0921 办理，退款需先开通百万保障服务，逾期将自动扣费每月800元。"
    "如非本人操作请及时联系取消。\n";

void gen_corpus_builtin(struct gen_corpus *c)
{
	size_t n = sizeof(builtin_tsv) - 1;
	char *buf = malloc(n + 1);

	if (!buf)
		oom();
	memcpy(buf, builtin_tsv, n + 1);
	if (corpus_parse(c, buf, n, "built-in corpus") != 0)
		abort(); /* the built-in text is part of the program */
}

void gen_corpus_free(struct gen_corpus *c)
{
	free(c->t);
	free(c->fraud);
	free(c->legit);
	free(c->text_store);
	free(c->unit_store);
	memset(c, 0, sizeof(*c));
}
