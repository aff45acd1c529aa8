/*
 * decode_sip.c - the SIP message decoder (RFC 3261).
 *
 * Input: one UDP datagram, or the front of a reassembled TCP byte stream.
 * Output: a struct afgw_sip_msg whose fields are slices into the input:
 * the start line, the headers screening needs (From, To, P-Asserted-
 * Identity, Contact, Call-ID, CSeq, Via, User-Agent, Identity,
 * Content-Type, Content-Length) and the body.  Nothing is copied and
 * nothing is allocated; a worker calls it for every SIP packet.
 *
 * One pass over the header section: find_nl finds each line end (and the
 * folds after it), the colon of a usual "name:" line turns up in the same
 * first load, and name_id() / header_id() recognise the names we read
 * (any other name is only checked to be a token); only the headers we
 * keep are parsed further.  The long runs (URI users and hosts, Call-IDs,
 * branches) and the searches for one byte are done sixteen bytes at a
 * time with SSE2, which every x86-64 has; other machines take the
 * byte-at-a-time loops, which give the same answers.
 *
 * Most values have one shape (a SIP URI of letters, digits, '-' and '.'
 * with a few separators; a Via of one via-parm; a Call-ID of word@word).
 * Fast paths read that shape by looking only at its separators, found
 * sixteen bytes at a time, and hand anything else, untouched, to the
 * general rules below them: they only ever decide what the general rules
 * would, sooner.  The work is bounded by AFGW_SIP_MAX_HEADERS and
 * AFGW_SIP_MAX_HEADER_BYTES; nothing recurses on the input and no read
 * goes past len.
 *
 * Malformed traffic is data: the message is decoded as far as is safe and
 * every problem is a named anomaly bit.  Where two parsers could read the
 * same bytes differently (a second From, two Content-Lengths that differ,
 * junk between a header name and its colon) we keep the first reading and
 * flag AFGW_SIP_A_AMBIGUOUS instead of guessing: fraudsters use exactly
 * that disagreement to show a screening box one caller and the callee's
 * switch another.
 *
 * It deliberately does not: decode bodies (SDP, SIP MESSAGE text and
 * 3GPP RP-DATA are the SMS stage's), check transaction-layer rules
 * (branch cookies, tags), or unescape anything in place.
 * Thread: any; no state is kept between calls.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "afgw/sip.h"

/*
 * Character classes of RFC 3261 §25.1, one bit each:
 *   C_TOKEN  token             alphanum - . ! % * _ + ` ' ~
 *   C_WORD   word (Call-ID)    token and ( ) < > : \ " / [ ] ? { }
 *   C_USER   user              unreserved escaped & = + $ , ; ? /
 *   C_PASS   password          unreserved escaped & = + $ ,
 *   C_HOST   hostname / IPv4   alphanum - . (and _, seen in the wild)
 *   C_PARAM  paramchar         unreserved escaped [ ] / : & + $ (no /)
 *   C_HEX    HEXDIG
 *   C_HNV    hname / hvalue    unreserved escaped [ ] / ? : + $
 *   C_V6     IPv6 reference    HEXDIG : .
 *   C_SCHEME URI scheme        alphanum + - .
 *   C_VPARAM parameter value   token : [ ]
 *   C_DISP   display name      token and LWS (SP HT CR LF)
 *   C_LWS    SP HT CR LF
 * ("escaped" admits the '%'; escapes_ok() checks the two hex digits.)
 * Bytes >= 0x80 belong to no class.  One table lookup per byte is the
 * whole cost of every scanning loop in this file.
 */
enum {
	C_TOKEN = 0x01,
	C_WORD = 0x02,
	C_USER = 0x04,
	C_PASS = 0x08,
	C_HOST = 0x10,
	C_PARAM = 0x20,
	C_HEX = 0x40,
	C_HNV = 0x80,
	C_V6 = 0x100,
	C_SCHEME = 0x200,
	C_VPARAM = 0x400,
	C_DISP = 0x800,
	C_LWS = 0x1000,
};

/* clang-format off */
static const uint16_t cls[256] = {
	0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x1800, 0x1800, 0x0000, 0x0000, 0x1800, 0x0000, 0x0000, /* 00 ................ */
	0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 10 ................ */
	0x1800, 0x0caf, 0x0002, 0x0000, 0x00ac, 0x0caf, 0x002c, 0x0caf, 0x00ae, 0x00ae, 0x0caf, 0x0eaf, 0x000c, 0x0ebf, 0x0fbf, 0x0086, /* 20  !"#$%&'()*+,-./ */
	0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x05a2, 0x0004, 0x0002, 0x000c, 0x0002, 0x0086, /* 30 0123456789:;<=>? */
	0x0000, 0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, /* 40 @ABCDEFGHIJKLMNO */
	0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x04a2, 0x0002, 0x04a2, 0x0000, 0x0cbf, /* 50 PQRSTUVWXYZ[\]^_ */
	0x0c03, 0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x0fff, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, /* 60 `abcdefghijklmno */
	0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0ebf, 0x0002, 0x0000, 0x0002, 0x0caf, 0x0000, /* 70 pqrstuvwxyz{|}~. */
};
/* clang-format on */

/* Anomalies that leave a message usable: everything else makes it !valid. */
#define BENIGN_ANOMALIES ((uint32_t)AFGW_SIP_A_BODY_EXTRA)

/* Max-Forwards is 0..255 in practice (RFC 4475 §3.1.2.4); CSeq < 2**31 (RFC 3261 §8.1.1.5). */
#define MAX_FORWARDS_MAX   255L
#define CSEQ_MAX           0x7fffffffL
#define CONTENT_LENGTH_MAX 0x7fffffffL

static inline bool is(char c, unsigned k)
{
	return (cls[(unsigned char)c] & k) != 0;
}

static inline bool digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Inside a header value a CR or LF can only belong to a fold: all of it is LWS. */
static inline bool lws(char c)
{
	return (cls[(unsigned char)c] & C_LWS) != 0;
}

static inline unsigned char lower(char c)
{
	unsigned char u = (unsigned char)c;
	return u >= 'A' && u <= 'Z' ? (unsigned char)(u + 32) : u;
}

static inline size_t span(const char *p, const char *e)
{
	return (size_t)(e - p);
}

static inline struct afgw_str slice(const char *p, const char *e)
{
	return afgw_str_make(p, span(p, e));
}

#if defined(__SSE2__)
/* Bytes of x in [lo, hi], unsigned: subtract lo, then t <= hi - lo is min(t, hi - lo) == t. */
static inline __m128i in_range(__m128i x, char lo, char hi)
{
	__m128i t = _mm_sub_epi8(x, _mm_set1_epi8(lo));
	return _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8((char)(hi - lo))), t);
}

/*
 * The bytes of [q, q + 16) that are surely of class k, as a bit mask: the
 * letters, digits, '-' and '.' that make up nearly every URI user and
 * host, Call-ID and Via branch (all of them belong to every class
 * run_long() is asked about but C_V6, which gets hex digits, ':' and '.'),
 * plus '+' for users.  Bytes outside it are looked up in cls[] one by one.
 */
static inline unsigned common16(const char *q, unsigned k)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
	__m128i lc = _mm_or_si128(x, _mm_set1_epi8(0x20));
	__m128i m;
	if (k == C_V6) {
		m = _mm_or_si128(in_range(x, '0', '9'), in_range(lc, 'a', 'f'));
		m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
		m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('.')));
	} else {
		/* '-', '.' and the digits are [0x2d, 0x39] but for the '/' */
		m = _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('/')), in_range(x, '-', '9'));
		m = _mm_or_si128(m, in_range(lc, 'a', 'z'));
		if (k == C_USER)
			m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('+')));
	}
	return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* First byte at or after p that is not of class k (four at a time: a hot loop). */
static inline const char *run(const char *p, const char *e, unsigned k)
{
	while (e - p >= 4) {
		if (!is(p[0], k))
			return p;
		if (!is(p[1], k))
			return p + 1;
		if (!is(p[2], k))
			return p + 2;
		if (!is(p[3], k))
			return p + 3;
		p += 4;
	}
	while (p < e && is(*p, k))
		p++;
	return p;
}

/*
 * run() for the classes whose runs are long: URI users and hosts, Call-IDs,
 * Via branches.  With SSE2, sixteen bytes at a time are checked against
 * the common characters of the class (common16), and only the others go
 * to the table; the last sixteen overlap what was already checked.  For a
 * run of a few bytes (a header name, "tag") the vector set-up costs more
 * than it saves, which is why this is not run() itself.  Spans under
 * sixteen bytes, and machines without SSE2, take run().
 */
static inline const char *run_long(const char *p, const char *e, unsigned k)
{
#if defined(__SSE2__)
	if (e - p >= 16) {
		for (;;) {
			const char *q = e - p >= 16 ? p : e - 16;
			/* bit i: byte p + i is not surely of class k */
			unsigned m = (~common16(q, k) & 0xffffu) >> (p - q);
			for (; m; m &= m - 1) {
				const char *c = p + __builtin_ctz(m);
				if (!is(*c, k))
					return c;
			}
			p = q + 16;
			if (p == e)
				return e;
		}
	}
#endif
	return run(p, e, k);
}

/*
 * The first byte c in [p, e), or NULL: memchr() for the short distances
 * inside a header (a URI, a line), without the call.  Sixteen bytes at a
 * time with SSE2 (all of x86-64 has it), the last sixteen overlapping
 * what was already searched; shorter spans byte by byte.
 */
static inline const char *find_byte(const char *p, const char *e, char c)
{
#if defined(__SSE2__)
	if (e - p >= 16) {
		const __m128i cc = _mm_set1_epi8(c);
		const char *last = e - 16;
		for (;;) {
			/* two loads a round: [p, p + 16) and [q, q + 16), q at most last */
			const char *q = p + 16 < last ? p + 16 : last;
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
			__m128i y = _mm_loadu_si128((const __m128i *)(const void *)q);
			unsigned mx = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, cc));
			unsigned my = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(y, cc));
			if (mx | my)
				return mx ? p + __builtin_ctz(mx) : q + __builtin_ctz(my);
			if (q == last)
				return NULL;
			p = q + 16 < last ? q + 16 : last;
		}
	}
#endif
	for (; p < e; p++)
		if (*p == c)
			return p;
	return NULL;
}

/*
 * The next line end: find_byte() for '\n', in simpler loops: thirty-two
 * bytes a round (two loads, one test) while that many are left, then
 * sixteen.  Header lines are a few dozen bytes, so the search ends in the
 * first round or two, where find_byte()'s overlapping last round and its
 * bookkeeping cost more than they save.
 */
static inline const char *find_nl(const char *p, const char *e)
{
#if defined(__SSE2__)
	const __m128i nl = _mm_set1_epi8('\n');
	while (e - p >= 32) {
		/* thirty-two bytes a round while they last: one test for two loads */
		__m128i x = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), nl);
		__m128i y = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), nl);
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(x, y));
		if (m) {
			unsigned mx = (unsigned)_mm_movemask_epi8(x);
			return mx ? p + __builtin_ctz(mx) : p + 16 + __builtin_ctz(m);
		}
		p += 32;
	}
	while (e - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, nl));
		if (m)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	for (; p < e; p++)
		if (*p == '\n')
			return p;
	return NULL;
}

static const char *run_digits(const char *p, const char *e)
{
	while (p < e && digit(*p))
		p++;
	return p;
}

static const char *skip_lws(const char *p, const char *e)
{
	while (p < e && lws(*p))
		p++;
	return p;
}

static const char *trim_end(const char *p, const char *e)
{
	while (e > p && lws(e[-1]))
		e--;
	return e;
}

/*
 * The case bit (0x20) of every byte of w that is a lower-case ASCII letter,
 * bytewise without carries (all of w's bytes are below 0x80: w comes from
 * a literal).  With the literal a constant this folds away.
 */
static inline uint64_t case_bits64(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u;
	uint64_t ge_a = w + ones * (0x80 - 'a'), gt_z = w + ones * (0x80 - 'z' - 1);
	return (ge_a & ~gt_z & ones * 0x80) >> 2;
}

static inline uint32_t case_bits32(uint32_t w)
{
	const uint32_t ones = 0x01010101u;
	uint32_t ge_a = w + ones * (0x80 - 'a'), gt_z = w + ones * (0x80 - 'z' - 1);
	return (ge_a & ~gt_z & ones * 0x80) >> 2;
}

/* 8 (ci8), 4 (ci4) or 2 (ci2) bytes at p equal those of lit, letters in either case. */
static inline bool ci8(const char *p, const char *lit)
{
	uint64_t a, l;
	memcpy(&a, p, 8);
	memcpy(&l, lit, 8);
	return (a | case_bits64(l)) == l;
}

static inline uint16_t case_bits16(uint16_t w)
{
	const unsigned ones = 0x0101u;
	unsigned ge_a = w + ones * (0x80 - 'a'), gt_z = w + ones * (0x80 - 'z' - 1);
	return (uint16_t)((ge_a & ~gt_z & ones * 0x80) >> 2);
}

static inline bool ci2(const char *p, const char *lit)
{
	uint16_t a, l;
	memcpy(&a, p, 2);
	memcpy(&l, lit, 2);
	return (a | case_bits16(l)) == l;
}

static inline bool ci4(const char *p, const char *lit)
{
	uint32_t a, l;
	memcpy(&a, p, 4);
	memcpy(&l, lit, 4);
	return (a | case_bits32(l)) == l;
}

/*
 * ASCII case-insensitive: the n bytes at p equal lit (lower case, of
 * length ln).  A byte c matches a letter l of lit when (c | 0x20) == l,
 * which only l and its capital do; other bytes must match exactly.  From
 * two bytes on, whole words are compared (the last one overlapping), the
 * case bits OR-ed in at once: header names come in every case.
 */
static inline bool ci(const char *p, size_t n, const char *lit, size_t ln)
{
	if (n != ln)
		return false;
	if (n >= 8) {
		size_t i = 0;
		for (; i + 8 <= n; i += 8)
			if (!ci8(p + i, lit + i))
				return false;
		return i == n || ci8(p + n - 8, lit + n - 8);
	}
	if (n >= 4)
		return ci4(p, lit) && ci4(p + n - 4, lit + n - 4);
	if (n >= 2)
		return ci2(p, lit) && ci2(p + n - 2, lit + n - 2);
	for (size_t i = 0; i < ln; i++) { /* ln: a constant, so this unrolls */
		unsigned char c = (unsigned char)p[i], l = (unsigned char)lit[i];
		if (l >= 'a' && l <= 'z' ? (c | 0x20) != l : c != l)
			return false;
	}
	return true;
}

#define CI(p, n, lit) ci((p), (n), (lit), sizeof(lit) - 1)

/* Decimal 1*DIGIT filling [p, e) exactly, at most max; -1 otherwise. */
static long number(const char *p, const char *e, long max)
{
	long v = 0;
	if (p == e)
		return -1;
	for (; p < e; p++) {
		if (!digit(*p))
			return -1;
		v = v * 10 + (*p - '0');
		if (v > max)
			return -1;
	}
	return v;
}

/* Every '%' in [p, p+n) starts a %XX escape. */
static inline bool escapes_ok(const char *p, size_t n)
{
	const char *e = p + n;
	while (p < e && (p = find_byte(p, e, '%')) != NULL) {
		if (e - p < 3 || !is(p[1], C_HEX) || !is(p[2], C_HEX))
			return false;
		p += 3;
	}
	return true;
}

/*
 * A quoted-string starting at the '"' at p: returns the closing quote, or
 * NULL when it is not closed before e.  quoted-pair (backslash + any byte)
 * is skipped as a unit, so \" does not close the string.
 */
static const char *quoted_end(const char *p, const char *e)
{
	for (p++; p < e; p++) {
#if defined(__SSE2__)
		/* skip sixteen bytes at a time while they hold neither '"' nor '\\' */
		while (e - p >= 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
			unsigned m = (unsigned)_mm_movemask_epi8(
			    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
					 _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
			if (m) {
				p += __builtin_ctz(m);
				break;
			}
			p += 16;
		}
		if (p == e)
			break;
#endif
		if (*p == '\\') {
			if (++p == e)
				return NULL;
		} else if (*p == '"') {
			return p;
		}
	}
	return NULL;
}

/* ---- URIs -------------------------------------------------------------- */

/* URI problems; the caller turns them into the anomaly of its header. */
enum {
	U_BAD = 1,     /* not a URI of its scheme */
	U_ESCAPE = 2,  /* a '%' not followed by two hex digits */
	U_HEADERS = 4, /* a SIP URI with ?headers (not allowed in a Request-URI) */
};

/*
 * uri-parameters after a ';' of a SIP or tel URI: name[=value] pairs
 * separated by ';'.  Stops at the first byte that cannot continue them
 * (the caller decides whether that is the '?' of headers or an error).
 */
static inline unsigned uri_params(const char **pp, const char *e, struct afgw_sip_uri *u)
{
	const char *p = *pp;
	for (;;) {
		const char *n = p;
		p = run(p, e, C_PARAM);
		if (p == n)
			return U_BAD;
		const char *ne = p;
		if (p < e && *p == '=') {
			const char *v = ++p;
			p = run(p, e, C_PARAM);
			if (p == v)
				return U_BAD;
			if (CI(n, span(n, ne), "user") && CI(v, span(v, p), "phone"))
				u->user_phone = true;
		}
		if (p == e || *p != ';')
			break;
		p++;
	}
	*pp = p;
	return 0;
}

/* host [":" port]: a hostname, an IPv4 address or an IPv6 reference in [...]. */
static inline unsigned hostport(const char **pp, const char *e, struct afgw_sip_uri *u)
{
	const char *p = *pp, *q;
	if (p < e && *p == '[') {
		q = run_long(p + 1, e, C_V6);
		if (q == e || *q != ']' || !find_byte(p + 1, q, ':'))
			return U_BAD;
		q++;
	} else {
		q = run_long(p, e, C_HOST);
		if (q == p)
			return U_BAD;
	}
	u->host = slice(p, q);
	p = q;
	if (p < e && *p == ':') {
		q = run_digits(p + 1, e);
		if (q == p + 1 || q - p - 1 > 5)
			return U_BAD;
		u->port = slice(p + 1, q);
		p = q;
	}
	*pp = p;
	return 0;
}

/*
 * The part of a sip: / sips: URI after the scheme (RFC 3261 §19.1.1):
 * [user[:password]@]host[:port][;params][?headers].  The userinfo is only
 * known to be one when its '@' turns up; if it does not, the same bytes
 * are read again as the host.
 */
static unsigned sip_uri(const char *p, const char *e, struct afgw_sip_uri *u)
{
	const char *start = p, *ue = run_long(p, e, C_USER), *q = ue;
	unsigned r = 0;
	if (q < e && *q == ':')
		q = run(q + 1, e, C_PASS);
	if (q < e && *q == '@') {
		if (ue == p)
			return U_BAD;
		u->user = slice(p, ue);
		p = q + 1;
	}
	if (hostport(&p, e, u))
		return U_BAD;
	if (p < e && *p == ';') {
		const char *ps = ++p;
		r |= uri_params(&p, e, u);
		u->params = slice(ps, p);
	}
	if (!r && p < e && *p == '?') {
		r |= U_HEADERS;
		for (p++; p < e; p++)
			if (!is(*p, C_HNV) && *p != '=' && *p != '&')
				return r | U_BAD;
	}
	if (p != e)
		r |= U_BAD;
	if (!escapes_ok(start, span(start, e)))
		r |= U_ESCAPE;
	return r;
}

/* The part of a tel: URI after the scheme (RFC 3966): number, then params. */
static unsigned tel_uri(const char *p, const char *e, struct afgw_sip_uri *u)
{
	unsigned r = 0;
	const char *start = p, *semi = find_byte(p, e, ';');
	const char *ne = semi ? semi : e;
	if (ne == p || run(p, ne, C_PARAM) != ne)
		return U_BAD;
	u->user = slice(p, ne);
	if (semi) {
		p = semi + 1;
		u->params = slice(p, e);
		r |= uri_params(&p, e, u);
		if (p != e)
			r |= U_BAD;
	}
	if (!escapes_ok(start, span(start, e)))
		r |= U_ESCAPE;
	return r;
}

/*
 * The fast path for the shape nearly every SIP URI has:
 *   sip:[user@]host[:port][;name[=value]]...
 * with user, host, names and values made of letters, digits, '-' and '.'
 * (and '+' in the user, ':' and '+' in parameters).  Those "plain" bytes
 * belong to every class sip_uri() checks them against, so only the other
 * bytes (the separators) need looking at: they are found sixteen bytes at
 * a time (plain16) and walked in order (spec_next).  Anything else, or a
 * separator where sip_uri() would go another way (a ':' before an '@', a
 * ';' in a user part, a '%', a '?', an IPv6 reference, an empty part),
 * makes uri_fast() return false without touching *u, and sip_uri() reads
 * the URI as before; where it returns true, sip_uri() would have filled
 * *u the same way and returned 0.
 */
static inline unsigned plain16(const char *q)
{
#if defined(__SSE2__)
	return common16(q, C_HOST);
#else
	unsigned m = 0;
	for (unsigned i = 0; i < 16; i++) {
		char c = q[i];
		if (digit(c) || alpha(c) || c == '-' || c == '.')
			m |= 1u << i;
	}
	return m;
#endif
}

/* The separators of [p, e) (e - p >= 16), in order: spec_next() gives the next, or e. */
struct spec {
	const char *q, *e; /* the sixteen bytes at q are the ones m describes */
	unsigned m;        /* bit i: q[i] is a separator not yet given out */
};

static inline void spec_init(struct spec *s, const char *p, const char *e)
{
	s->q = p;
	s->e = e;
	s->m = ~plain16(p) & 0xffffu;
}

static inline const char *spec_next(struct spec *s)
{
	while (!s->m) {
		s->q += 16;
		if (s->q >= s->e)
			return s->e;
		/* the last sixteen bytes overlap what was already looked at */
		const char *c = s->e - s->q >= 16 ? s->q : s->e - 16;
		s->m = (~plain16(c) & 0xffffu) >> (s->q - c);
	}
	const char *r = s->q + __builtin_ctz(s->m);
	s->m &= s->m - 1;
	return r;
}

/* [p, e) is 1 to 5 digits (a port). */
static inline bool port_ok(const char *p, const char *e)
{
	return e > p && e - p <= 5 && run_digits(p, e) == e;
}

/*
 * The host of a fast path: h is where it starts, *cp the first separator
 * at or after h.  A name or IPv4 address of plain bytes, or an IPv6
 * reference: '[', hex digits, '.' and at least one ':', ']' (what
 * hostport() takes).  Returns the end of the host, with *cp the separator
 * after it (or e), or NULL.
 */
static inline const char *host_fast(struct spec *s, const char *h, const char *e, const char **cp)
{
	const char *c = *cp;
	bool colon = false;
	if (c != h)
		return c; /* plain bytes up to c */
	if (c == e || *c != '[')
		return NULL;
	while ((c = spec_next(s)) < e && *c == ':')
		colon = true;
	if (c == e || *c != ']' || !colon || run_long(h + 1, c, C_V6) != c)
		return NULL;
	*cp = spec_next(s);
	if (*cp != c + 1 && c + 1 != e)
		return NULL; /* bytes after the ']' that sip_uri() would not take */
	return c + 1;
}

/* Where uri_scan() found the parts of a URI. */
struct uri_parts {
	const char *user_end; /* the '@' after the user, NULL without a user */
	const char *host, *host_end, *port, *port_end, *params; /* port, params: NULL without */
	bool phone;           /* ";user=phone" */
};

/*
 * The state machine of the fast path over the separators of s, from p
 * (the byte after "sip:") to e: true with *up filled, or false.
 */
static inline bool uri_scan(struct spec *s, const char *p, const char *e, struct uri_parts *up)
{
	const char *c, *host = p, *n, *v;
	bool plus = false;
	c = spec_next(s);
	while (c < e && *c == '+') {
		plus = true;
		c = spec_next(s);
	}
	up->user_end = NULL;
	if (c < e && *c == '@') {
		if (c == p)
			return false;
		up->user_end = c;
		host = c + 1;
		c = spec_next(s);
	} else if (plus || (c < e && find_byte(c, e, '@'))) {
		/* no user: sip_uri() reads it all as the host, and '+' is no host byte;
		 * or a user with a ';' or a password in it */
		return false;
	}
	const char *he = host_fast(s, host, e, &c);
	if (!he || (c < e && *c != ':' && *c != ';'))
		return false;
	up->host = host;
	up->host_end = he;
	up->port = NULL;
	if (c < e && *c == ':') {
		up->port = c + 1;
		up->port_end = c = spec_next(s);
		if (!port_ok(up->port, c) || (c < e && *c != ';'))
			return false;
	}
	up->params = c < e ? c + 1 : NULL;
	up->phone = false;
	while (c < e) {
		/* at a ';': name [= value], both 1*paramchar */
		n = c + 1;
		c = spec_next(s);
		while (c < e && (*c == '+' || *c == ':'))
			c = spec_next(s);
		if (c == n)
			return false;
		if (c < e && *c == '=') {
			const char *ne = c;
			v = c + 1;
			c = spec_next(s);
			while (c < e && (*c == '+' || *c == ':'))
				c = spec_next(s);
			if (c == v)
				return false;
			up->phone |= CI(n, span(n, ne), "user") && CI(v, span(v, c), "phone");
		}
		if (c < e && *c != ';')
			return false;
	}
	return true;
}

/* Fill *u (zeroed) with the sip: URI [scheme, end) that uri_scan() read as *up. */
static inline void uri_fill(struct afgw_sip_uri *u, const char *scheme, const char *end,
			    const struct uri_parts *up)
{
	u->scheme = slice(scheme, scheme + 3);
	if (up->user_end) {
		u->user = slice(scheme + 4, up->user_end);
		u->user_plain = true; /* plain bytes and '+': uri_scan() refused the rest */
	}
	u->host = slice(up->host, up->host_end);
	if (up->port)
		u->port = slice(up->port, up->port_end);
	if (up->params)
		u->params = slice(up->params, end);
	u->user_phone = up->phone;
	u->parsed = true;
}

/* A sip: URI [p, e), e - p >= 4 + 16, by the fast path: true with *u (zeroed) filled, or false. */
static bool uri_fast(const char *p, const char *e, struct afgw_sip_uri *u)
{
	struct spec s;
	struct uri_parts up;
	spec_init(&s, p + 4, e);
	if (!uri_scan(&s, p + 4, e, &up))
		return false;
	uri_fill(u, p, e, &up);
	return true;
}

/*
 * Parse the URI text [p, p+n) into *u, which the caller has zeroed (it is
 * part of a message or name-addr cleared as a whole).  Other schemes than
 * sip, sips and tel are only checked to be an absoluteURI of printable
 * characters; they come back with parsed == false and the scheme set.  On
 * U_BAD everything but the scheme is cleared.  Returns U_* bits.
 */
static inline unsigned parse_uri(const char *p, size_t n, struct afgw_sip_uri *u)
{
	const char *e = p + n, *q = p;
	unsigned r;
	if (n >= 4 + 16 && ci4(p, "sip:") && uri_fast(p, e, u))
		return 0;
	if (q == e || !alpha(*q))
		return U_BAD;
	q = run(q, e, C_SCHEME);
	if (q == e || *q != ':')
		return U_BAD;
	u->scheme = slice(p, q);
	q++;
	if (CI(p, u->scheme.len, "sip") || CI(p, u->scheme.len, "sips")) {
		r = sip_uri(q, e, u);
	} else if (CI(p, u->scheme.len, "tel")) {
		r = tel_uri(q, e, u);
	} else {
		r = q == e ? U_BAD : 0;
		for (; q < e; q++) {
			unsigned char c = (unsigned char)*q;
			if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"')
				r = U_BAD;
		}
		return r;
	}
	if (r & U_BAD) {
		struct afgw_str scheme = u->scheme;
		memset(u, 0, sizeof(*u));
		u->scheme = scheme;
		return r;
	}
	u->parsed = true;
	return r;
}

/* ---- name-addr / addr-spec (From, To, Contact, P-Asserted-Identity) ---- */

enum {
	NA_BAD = 1,    /* not a name-addr / addr-spec */
	NA_UNTERM = 2, /* a quoted string runs to the end of the value */
	NA_ESCAPE = 4, /* a bad %-escape in the URI */
};

/*
 * Where the URI of an addr-spec ends: the first SP, HT, CR, LF, ';' or,
 * when multi, ',' in [p, e), or e.  Sixteen bytes at a time with SSE2,
 * the last sixteen overlapping, as in run_long().
 */
static const char *addr_end(const char *p, const char *e, bool multi)
{
#if defined(__SSE2__)
	if (e - p >= 16) {
		for (;;) {
			const char *q = e - p >= 16 ? p : e - 16;
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
			__m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')),
						 _mm_cmpeq_epi8(x, _mm_set1_epi8('\t')));
			m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('\r')));
			m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('\n')));
			m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8(';')));
			if (multi)
				m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8(',')));
			unsigned bits = (unsigned)_mm_movemask_epi8(m) >> (p - q);
			if (bits)
				return p + __builtin_ctz(bits);
			p = q + 16;
			if (p == e)
				return e;
		}
	}
#endif
	while (p < e && !lws(*p) && *p != ';' && !(multi && *p == ','))
		p++;
	return p;
}

/*
 * ;name[=value] header parameters; remembers tag=.  The usual end of a
 * From or To value, nothing or one ";tag=" with a token running to the
 * end, is taken without the loop (which reads it the same way).
 */
static unsigned header_params(const char **pp, const char *e, bool multi,
                              struct afgw_sip_nameaddr *na)
{
	const char *p = *pp;
	unsigned r = 0;
	if (p == e)
		return 0;
	if (e - p > 5 && *p == ';' && ci4(p + 1, "tag=")) {
		const char *v = p + 5, *q = run(v, e, C_VPARAM);
		if (q == e && q > v) {
			na->tag = slice(v, e);
			*pp = e;
			return 0;
		}
	}
	for (;;) {
		p = skip_lws(p, e);
		if (p == e || (multi && *p == ','))
			break;
		if (*p != ';') {
			r = NA_BAD;
			break;
		}
		p = skip_lws(p + 1, e);
		const char *n = p;
		p = run(p, e, C_TOKEN);
		if (p == n) {
			r = NA_BAD;
			break;
		}
		const char *ne = p;
		p = skip_lws(p, e);
		if (p == e || *p != '=')
			continue;
		p = skip_lws(p + 1, e);
		const char *v = p;
		if (p < e && *p == '"') {
			const char *q = quoted_end(p, e);
			if (!q) {
				r = NA_BAD | NA_UNTERM;
				p = e;
				break;
			}
			p = q + 1;
		} else {
			p = run(p, e, C_VPARAM);
			if (p == v) {
				r = NA_BAD;
				break;
			}
		}
		if (CI(n, span(n, ne), "tag"))
			na->tag = slice(v, p);
	}
	*pp = p;
	return r;
}

/*
 * One name-addr or addr-spec starting at *pp (RFC 3261 §20.10, §25.1):
 *   [display-name] <URI> *(;param)  or  URI *(;param)
 * For the addr-spec form the URI ends at the first ';' (what follows are
 * header parameters, not URI parameters), whitespace, or, in multi-valued
 * headers (Contact, P-Asserted-Identity), ','; it must not contain '?'.
 * Commas inside quoted strings and <...> do not end a value.
 * Fills *na, which the caller has zeroed (a message's From, To and Contact
 * are, being parsed only once), leaves *pp at the ',' ending the value or
 * at e, and returns NA_* bits (0: well-formed).
 */
static unsigned parse_nameaddr(const char **pp, const char *e, bool multi,
                               struct afgw_sip_nameaddr *na)
{
	const char *p = skip_lws(*pp, e), *q;
	unsigned r = 0, ur;
	na->present = true;
	if (p == e) {
		*pp = p;
		return NA_BAD;
	}
	if (*p == '"') {
		q = quoted_end(p, e);
		if (!q) {
			na->display = slice(p + 1, e);
			*pp = e;
			return NA_BAD | NA_UNTERM;
		}
		na->display = slice(p + 1, q);
		p = skip_lws(q + 1, e);
		if (p == e || *p != '<') {
			*pp = p;
			return NA_BAD;
		}
	} else if (*p != '<') {
		/* *(token LWS) then '<' is a display name; anything else an addr-spec. */
		q = run(p, e, C_DISP);
		if (q < e && *q == '<') {
			na->display = slice(p, trim_end(p, q));
			p = q;
		}
	}
	if (*p == '<') {
		q = find_byte(p, e, '>');
		if (!q) {
			*pp = e;
			return NA_BAD;
		}
		/* LWS inside <> (RFC 4475 §3.1.2.14) fails parse_uri() below */
		na->uri = slice(p + 1, q);
		p = q + 1;
	} else {
		q = addr_end(p, e, multi);
		na->uri = slice(p, q);
		if (find_byte(p, q, '?'))
			r |= NA_BAD;
		p = q;
	}
	ur = parse_uri(na->uri.p, na->uri.len, &na->parsed);
	if (ur & U_BAD)
		r |= NA_BAD;
	if (ur & U_ESCAPE)
		r |= NA_BAD | NA_ESCAPE;
	r |= header_params(&p, e, multi, na);
	*pp = p;
	return r;
}

/* ---- the rest of the headers we read ----------------------------------- */

/*
 * The Via value nearly every message has: one via-parm
 *   SIP/2.0/transport SP host[:port] *(;name[=value])
 * with a single SP, no other LWS, and host, names and values of plain
 * bytes (letters, digits, '-', '.'; ':' in values too).  True when [p, e)
 * is exactly that, which parse_via() would accept with all of it as the
 * first via-parm; false sends it to parse_via()'s loop.  Like uri_fast(),
 * only the separators are looked at one by one.
 */
static bool via_fast(const char *p, const char *e)
{
	struct spec s;
	const char *q, *c;
	if (e - p < 8 + 2 + 16 || !ci8(p, "sip/2.0/"))
		return false;
	q = run(p + 8, e, C_TOKEN);
	if (q == p + 8 || e - q < 1 + 16 || *q != ' ')
		return false;
	spec_init(&s, q + 1, e);
	c = spec_next(&s);
	if (!host_fast(&s, q + 1, e, &c) || (c < e && *c != ':' && *c != ';'))
		return false;
	if (c < e && *c == ':') {
		const char *port = c + 1;
		c = spec_next(&s);
		if (!port_ok(port, c) || (c < e && *c != ';'))
			return false;
	}
	while (c < e) {
		/* at a ';': name [= value] */
		const char *n = c + 1;
		c = spec_next(&s);
		if (c == n)
			return false;
		if (c < e && *c == '=') {
			const char *v = c + 1;
			c = spec_next(&s);
			while (c < e && *c == ':')
				c = spec_next(&s);
			if (c == v)
				return false;
		}
		if (c < e && *c != ';')
			return false;
	}
	return true;
}

/*
 * Via values (RFC 3261 §20.42): sent-protocol LWS sent-by *(;via-param),
 * comma-separated, with LWS allowed around '/', ':', ';', '=' and ','.
 * Returns false on a syntax error; *first gets the first via-parm.
 */
static bool parse_via(const char *p, const char *e, struct afgw_str *first)
{
	const char *start = p, *q;
	if (via_fast(p, e)) {
		*first = slice(p, e);
		return true;
	}
	first->p = NULL;
	for (;;) {
		p = skip_lws(p, e);
		const char *parm = p;
		/* protocol-name / version / transport; "SIP/2.0/" as the tokens
		 * and slashes would be read, without reading them one by one */
		int i = 0;
		if (e - p >= 8 && ci8(p, "sip/2.0/")) {
			p += 7; /* at the second '/' */
			i = 2;
		}
		for (; i < 3; i++) {
			if (i > 0) {
				if (p == e || *p != '/')
					return false;
				p = skip_lws(p + 1, e);
			}
			q = run(p, e, C_TOKEN);
			if (q == p)
				return false;
			p = skip_lws(q, e);
		}
		if (p == q)
			return false; /* sent-protocol and sent-by need LWS between them */
		struct afgw_sip_uri hp;
		hp.port = afgw_str_make(NULL, 0); /* hostport() sets host, and port when there is one */
		if (hostport(&p, e, &hp))
			return false;
		/* sent-by allows LWS around the port's colon */
		q = skip_lws(p, e);
		if (hp.port.len == 0 && q < e && *q == ':') {
			p = skip_lws(q + 1, e);
			q = run_digits(p, e);
			if (q == p || q - p > 5)
				return false;
			p = q;
		}
		for (;;) {
			q = skip_lws(p, e);
			if (q == e || *q != ';')
				break;
			p = skip_lws(q + 1, e);
			q = run(p, e, C_TOKEN);
			if (q == p)
				return false;
			p = q;
			q = skip_lws(p, e);
			if (q == e || *q != '=')
				continue;
			p = skip_lws(q + 1, e);
			if (p < e && *p == '"') {
				q = quoted_end(p, e);
				if (!q)
					return false;
				p = q + 1;
				continue;
			}
			q = p;
			p = run_long(p, e, C_VPARAM);
			if (p == q)
				return false;
		}
		if (!first->p)
			*first = slice(parm, p);
		p = skip_lws(p, e);
		if (p == e)
			return p > start;
		if (*p != ',')
			return false;
		p++;
	}
}

/* CSeq: 1*DIGIT LWS Method, the number below 2**31. */
static bool parse_cseq(const char *p, const char *e, struct afgw_sip_msg *m)
{
	/* number() of the digits, in the loop that finds them: the value only
	 * grows, so it passes CSEQ_MAX at some digit iff it ends above it */
	const char *d = p;
	long n = 0;
	for (; d < e && digit(*d); d++)
		if (n <= CSEQ_MAX)
			n = n * 10 + (*d - '0');
	if (d == p || n > CSEQ_MAX)
		n = -1;
	const char *t = skip_lws(d, e);
	const char *te = run(t, e, C_TOKEN);
	if (n < 0 || t == d || te == t || te != e)
		return false;
	m->cseq = (uint32_t)n;
	m->cseq_method = slice(t, te);
	return true;
}

/* Call-ID: word ["@" word] (RFC 3261 §25.1). */
static bool callid_ok(const char *p, const char *e)
{
	if (e - p >= 16) {
		/* the usual Call-ID: plain bytes (all of them word bytes), with
		 * or without one '@' between two of them */
		struct spec s;
		const char *c;
		spec_init(&s, p, e);
		c = spec_next(&s);
		if (c == e || (*c == '@' && c > p && c + 1 < e && spec_next(&s) == e))
			return true;
	}
	const char *q = run_long(p, e, C_WORD);
	if (q == p)
		return false;
	if (q < e && *q == '@') {
		const char *w = q + 1;
		q = run_long(w, e, C_WORD);
		if (q == w)
			return false;
	}
	return q == e;
}

/* Date: rfc1123-date, which in SIP is always GMT (RFC 3261 §20.17). */
static bool date_ok(const char *p, const char *e)
{
	static const char days[] = "MonTueWedThuFriSatSun";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	/* Www, DD Mmm YYYY HH:MM:SS GMT */
	static const char shape[] = "aaa, dd aaa dddd dd:dd:dd GMT";
	size_t n = span(p, e);
	bool day = false, mon = false;
	if (n != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		char s = shape[i];
		if ((s == 'd' && !digit(p[i])) || (s == 'a' && !alpha(p[i])) ||
		    (s != 'd' && s != 'a' && s != p[i]))
			return false;
	}
	for (size_t i = 0; i + 3 <= sizeof(days) - 1; i += 3)
		day |= memcmp(p, days + i, 3) == 0;
	for (size_t i = 0; i + 3 <= sizeof(months) - 1; i += 3)
		mon |= memcmp(p + 8, months + i, 3) == 0;
	return day && mon;
}

/* ---- the message --------------------------------------------------------- */

/* What one parse has seen so far, beyond what *m holds. */
struct ctx {
	struct afgw_sip_msg *m;
	unsigned seen; /* S_* */
	bool pai_sip;  /* m->pai holds a sip:/sips:/tel: identity */
};

enum {
	S_FROM = 1u << 0,
	S_TO = 1u << 1,
	S_CALL_ID = 1u << 2,
	S_CSEQ = 1u << 3,
	S_CL = 1u << 4,
	S_VIA = 1u << 5,
	S_CONTACT = 1u << 6,
	S_CTYPE = 1u << 7,
	S_UA = 1u << 8,
	S_IDENTITY = 1u << 9,
};

/* First time: true.  Again: flag dup + ambiguous when dup is set, false. */
static bool first_time(struct ctx *c, unsigned s, uint32_t dup)
{
	if (!(c->seen & s)) {
		c->seen |= s;
		return true;
	}
	if (dup)
		c->m->anomalies |= dup | AFGW_SIP_A_AMBIGUOUS;
	return false;
}

static void hdr_nameaddr(struct ctx *c, const char *v, const char *e, struct afgw_sip_nameaddr *na,
                         uint32_t bad)
{
	unsigned r = parse_nameaddr(&v, e, false, na);
	if (v != e)
		r |= NA_BAD;
	if (r & NA_BAD)
		c->m->anomalies |= bad;
	if (r & NA_UNTERM)
		c->m->anomalies |= AFGW_SIP_A_UNTERMINATED_QUOTE;
	if (r & NA_ESCAPE)
		c->m->anomalies |= AFGW_SIP_A_BAD_ESCAPE;
}

/*
 * P-Asserted-Identity (RFC 3325): one or more identities.  The screening
 * wants a number: keep the first sip:/sips:/tel: identity in the order
 * written (across PAI headers too), else the very first one.
 */
static void hdr_pai(struct ctx *c, const char *v, const char *e)
{
	struct afgw_sip_msg *m = c->m;
	struct afgw_sip_nameaddr na;
	if (c->pai_sip)
		return;
	for (;;) {
		afgw_zero(&na, sizeof(na));
		unsigned r = parse_nameaddr(&v, e, true, &na);
		if (r & NA_UNTERM)
			m->anomalies |= AFGW_SIP_A_UNTERMINATED_QUOTE;
		if (r & NA_ESCAPE)
			m->anomalies |= AFGW_SIP_A_BAD_ESCAPE;
		if (r & NA_BAD) {
			m->anomalies |= AFGW_SIP_A_BAD_PAI;
			return;
		}
		struct afgw_str s = na.parsed.scheme;
		bool sip = na.parsed.parsed && (CI(s.p, s.len, "sip") || CI(s.p, s.len, "sips") ||
		                                CI(s.p, s.len, "tel"));
		if (!m->pai.present || (sip && !c->pai_sip)) {
			m->pai = na;
			c->pai_sip = sip;
		}
		if (c->pai_sip || v == e)
			return;
		v++; /* the ',' */
	}
}

static void hdr_contact(struct ctx *c, const char *v, const char *e)
{
	struct afgw_sip_msg *m = c->m;
	if (!first_time(c, S_CONTACT, 0))
		return;
	if (e - v == 1 && *v == '*') { /* REGISTER's "remove all bindings" */
		m->contact.present = true;
		m->contact.uri = slice(v, e);
		return;
	}
	unsigned r = parse_nameaddr(&v, e, true, &m->contact);
	if (r & NA_BAD)
		m->anomalies |= AFGW_SIP_A_BAD_HEADER;
	if (r & NA_UNTERM)
		m->anomalies |= AFGW_SIP_A_UNTERMINATED_QUOTE;
	if (r & NA_ESCAPE)
		m->anomalies |= AFGW_SIP_A_BAD_ESCAPE;
}

static void hdr_call_id(struct ctx *c, const char *v, const char *e)
{
	if (!first_time(c, S_CALL_ID, AFGW_SIP_A_DUPLICATE_CALL_ID))
		return;
	c->m->call_id = slice(v, e);
	if (v != e && !callid_ok(v, e))
		c->m->anomalies |= AFGW_SIP_A_BAD_HEADER;
}

static void hdr_identity(struct ctx *c, const char *v, const char *e)
{
	if (first_time(c, S_IDENTITY, 0))
		c->m->identity = slice(v, e);
}

static void hdr_content_length(struct ctx *c, const char *v, const char *e)
{
	struct afgw_sip_msg *m = c->m;
	long n = number(v, e, CONTENT_LENGTH_MAX);
	if (n < 0) {
		m->anomalies |= AFGW_SIP_A_BAD_CONTENT_LENGTH;
		c->seen |= S_CL;
		return;
	}
	if (first_time(c, S_CL, 0)) {
		m->content_length = n;
	} else if (m->content_length != n) {
		/* the same value twice is redundant, not ambiguous */
		m->anomalies |= AFGW_SIP_A_CONFLICTING_CL | AFGW_SIP_A_AMBIGUOUS;
	}
}

/* The headers we read; every other one is skipped.  H_NONE: not a header name. */
enum {
	H_NONE = -1,
	H_OTHER,
	H_CALL_ID,
	H_CONTENT_LENGTH,
	H_CONTACT,
	H_CSEQ,
	H_CONTENT_TYPE,
	H_DATE,
	H_FROM,
	H_IDENTITY,
	H_MAX_FORWARDS,
	H_PAI,
	H_TO,
	H_USER_AGENT,
	H_VIA,
};

/* What may follow a header name: the colon, or LWS before it. */
static inline bool name_end(char c)
{
	return c == ':' || c == ' ' || c == '\t';
}

/*
 * Which header the line at p names: one we read, long or compact form, in
 * any case, followed by what ends a header name (H_OTHER otherwise).  *n
 * gets the name's length.  This is what run(p, le, C_TOKEN) and a
 * comparison of the token with each name would find, in one step: every
 * byte of these names is a token byte, and ':', SP and HT are not.
 */
static inline int header_id(const char *p, const char *le, size_t *n)
{
	size_t avail = span(p, le);
#define IS(lit, id)                                                                   \
	do {                                                                          \
		if (avail > sizeof(lit) - 1 && CI(p, sizeof(lit) - 1, lit) &&         \
		    name_end(p[sizeof(lit) - 1])) {                                   \
			*n = sizeof(lit) - 1;                                         \
			return id;                                                    \
		}                                                                     \
	} while (0)
	switch (p[0] | 0x20) { /* a letter in lower case; nothing else becomes one */
	case 'c':
		IS("call-id", H_CALL_ID);
		IS("cseq", H_CSEQ);
		IS("contact", H_CONTACT);
		IS("content-type", H_CONTENT_TYPE);
		IS("content-length", H_CONTENT_LENGTH);
		IS("c", H_CONTENT_TYPE);
		break;
	case 'd':
		IS("date", H_DATE);
		break;
	case 'f':
		IS("from", H_FROM);
		IS("f", H_FROM);
		break;
	case 'i':
		IS("identity", H_IDENTITY);
		IS("i", H_CALL_ID);
		break;
	case 'l':
		IS("l", H_CONTENT_LENGTH);
		break;
	case 'm':
		IS("max-forwards", H_MAX_FORWARDS);
		IS("m", H_CONTACT);
		break;
	case 'p':
		IS("p-asserted-identity", H_PAI);
		break;
	case 't':
		IS("to", H_TO);
		IS("t", H_TO);
		break;
	case 'u':
		IS("user-agent", H_USER_AGENT);
		break;
	case 'v':
		IS("via", H_VIA);
		IS("v", H_VIA);
		break;
	case 'y':
		IS("y", H_IDENTITY);
		break;
	default:
		break;
	}
#undef IS
	return H_OTHER;
}

/*
 * The first line end at or after p, as find_nl(); and, when the sixteen
 * bytes at p hold a ':' before any '\n', *nlen = its offset (the length of
 * the header name if the line is "name:..."), else 0.  One load serves
 * both: most header names end within sixteen bytes.
 */
static inline const char *line_start(const char *p, const char *e, size_t *nlen)
{
#if defined(__SSE2__)
	if (e - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned nlm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')));
		unsigned colm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
		if (nlm)
			colm &= (nlm & (0u - nlm)) - 1; /* the colons before the '\n' */
		*nlen = colm ? (size_t)__builtin_ctz(colm) : 0;
		return nlm ? p + __builtin_ctz(nlm) : find_nl(p + 16, e);
	}
#endif
	*nlen = 0;
	return find_nl(p, e);
}

/*
 * The header a line "name:..." names, n (> 0) the name's length and
 * e - p >= 16 (line_start() found the colon): the H_ id of a header we
 * read, H_OTHER for another name that is a token, H_NONE when the name
 * is no token (the general path then says what is wrong).  This is what
 * header_id() and run(C_TOKEN) decide for such a line, the length
 * picking the one name to compare with.
 */
static inline int name_id(const char *p, size_t n)
{
#define NAME(lit, id)                                                                 \
	do {                                                                          \
		if (CI(p, sizeof(lit) - 1, lit))                                      \
			return id;                                                    \
	} while (0)
	switch (n) {
	case 1:
		switch (p[0] | 0x20) {
		case 'c':
			return H_CONTENT_TYPE;
		case 'f':
			return H_FROM;
		case 'i':
			return H_CALL_ID;
		case 'l':
			return H_CONTENT_LENGTH;
		case 'm':
			return H_CONTACT;
		case 't':
			return H_TO;
		case 'v':
			return H_VIA;
		case 'y':
			return H_IDENTITY;
		default:
			break;
		}
		break;
	case 2:
		NAME("to", H_TO);
		break;
	case 3:
		NAME("via", H_VIA);
		break;
	case 4:
		NAME("from", H_FROM);
		NAME("cseq", H_CSEQ);
		NAME("date", H_DATE);
		break;
	case 7:
		NAME("call-id", H_CALL_ID);
		NAME("contact", H_CONTACT);
		break;
	case 8:
		NAME("identity", H_IDENTITY);
		break;
	case 10:
		NAME("user-agent", H_USER_AGENT);
		break;
	case 12:
		NAME("content-type", H_CONTENT_TYPE);
		NAME("max-forwards", H_MAX_FORWARDS);
		break;
	case 14:
		NAME("content-length", H_CONTENT_LENGTH);
		break;
	default:
		break;
	}
#undef NAME
	/* another name: a token (the plain bytes are; the rest by the table) */
	unsigned all = (1u << n) - 1;
	if ((plain16(p) & all) == all || run(p, p + n, C_TOKEN) == p + n)
		return H_OTHER;
	return H_NONE;
}

/* One header line we read (header_id()): value [v, e) with the LWS around it trimmed. */
static void header(struct ctx *c, int id, const char *v, const char *e)
{
	struct afgw_sip_msg *m = c->m;
	switch (id) {
	case H_CONTENT_TYPE:
		if (first_time(c, S_CTYPE, 0))
			m->content_type = slice(v, e);
		return;
	case H_CALL_ID:
		hdr_call_id(c, v, e);
		return;
	case H_CSEQ:
		if (first_time(c, S_CSEQ, AFGW_SIP_A_DUPLICATE_CSEQ) && !parse_cseq(v, e, m))
			m->anomalies |= AFGW_SIP_A_BAD_CSEQ;
		return;
	case H_CONTACT:
		hdr_contact(c, v, e);
		return;
	case H_CONTENT_LENGTH:
		hdr_content_length(c, v, e);
		return;
	case H_DATE:
		if (!date_ok(v, e))
			m->anomalies |= AFGW_SIP_A_BAD_HEADER;
		return;
	case H_FROM:
		if (first_time(c, S_FROM, AFGW_SIP_A_DUPLICATE_FROM))
			hdr_nameaddr(c, v, e, &m->from, AFGW_SIP_A_BAD_FROM);
		return;
	case H_IDENTITY:
		hdr_identity(c, v, e);
		return;
	case H_MAX_FORWARDS:
		if (number(v, e, MAX_FORWARDS_MAX) < 0)
			m->anomalies |= AFGW_SIP_A_BAD_MAX_FORWARDS;
		return;
	case H_PAI:
		hdr_pai(c, v, e);
		return;
	case H_TO:
		if (first_time(c, S_TO, AFGW_SIP_A_DUPLICATE_TO))
			hdr_nameaddr(c, v, e, &m->to, AFGW_SIP_A_BAD_TO);
		return;
	case H_USER_AGENT:
		if (first_time(c, S_UA, 0))
			m->user_agent = slice(v, e);
		return;
	case H_VIA: {
		struct afgw_str first;
		bool ok = parse_via(v, e, &first);
		if (!ok)
			m->anomalies |= AFGW_SIP_A_BAD_VIA;
		if (first_time(c, S_VIA, 0))
			m->via = ok ? first : slice(v, e);
		return;
	}
	default:
		return;
	}
}

/* "SIP/2.0" in any case (RFC 3261 §7.1: the version is case-insensitive). */
static uint32_t version(const char *p, const char *e)
{
	if (CI(p, span(p, e), "sip/2.0"))
		return 0;
	/* SIP/1*DIGIT.1*DIGIT is a version we do not speak; anything else no version */
	if (e - p >= 4 && CI(p, 4, "sip/")) {
		const char *d = run_digits(p + 4, e);
		if (d > p + 4 && d < e && *d == '.') {
			const char *d2 = run_digits(d + 1, e);
			if (d2 > d + 1 && d2 == e)
				return AFGW_SIP_A_BAD_VERSION;
		}
	}
	return AFGW_SIP_A_BAD_START_LINE;
}

/* Status-Line = SIP-Version SP 3DIGIT SP Reason-Phrase (the SP may go when the reason is empty). */
static void status_line(const char *p, const char *e, struct afgw_sip_msg *m)
{
	const char *sp = find_byte(p, e, ' ');
	m->is_request = false;
	m->anomalies |= version(p, sp ? sp : e);
	if (!sp) {
		m->anomalies |= AFGW_SIP_A_BAD_START_LINE | AFGW_SIP_A_BAD_STATUS;
		return;
	}
	const char *s = sp + 1, *d = run_digits(s, e);
	long code = d - s == 3 ? number(s, d, 999) : -1;
	if (code < 100 || code > 699 || (d < e && *d != ' ')) {
		m->anomalies |= AFGW_SIP_A_BAD_STATUS;
		return;
	}
	m->status = (int)code;
	m->reason = d < e ? slice(d + 1, e) : slice(d, d);
}

/*
 * Request-Line = Method SP Request-URI SP SIP-Version, single spaces only
 * (RFC 4475 §3.1.2.8-10).  The version is the text after the last SP, so
 * a Request-URI with a space in it shows up as a space between the method
 * and the version.
 */
static void request_line(const char *p, const char *e, struct afgw_sip_msg *m)
{
	const char *t = run(p, e, C_TOKEN); /* the caller made sure *t == ' ' */
	const char *r = t + 1;
	const char *last = memrchr(r, ' ', span(r, e));
	const char *re = last ? last : e;
	m->is_request = true;
	m->method = slice(p, t);
	if (!last)
		m->anomalies |= AFGW_SIP_A_BAD_START_LINE;
	else
		m->anomalies |= version(last + 1, e);
	/* [r, re) should be exactly the Request-URI */
	if (r == re || *r == ' ' || re[-1] == ' ')
		m->anomalies |= AFGW_SIP_A_BAD_START_LINE;
	r = skip_lws(r, re);
	re = trim_end(r, re);
	m->ruri = slice(r, re);
	/* parse_uri() fails on whitespace, controls, '<' and '>' in any scheme */
	unsigned ur = parse_uri(r, span(r, re), &m->ruri_parsed);
	if (ur & (U_BAD | U_HEADERS | U_ESCAPE))
		m->anomalies |= AFGW_SIP_A_BAD_REQUEST_URI;
	if (ur & U_ESCAPE)
		m->anomalies |= AFGW_SIP_A_BAD_ESCAPE;
	if (ur & U_BAD) {
		/* report the Request-URI as far as the first blank */
		const char *u = r;
		while (u < re && !lws(*u))
			u++;
		m->ruri = slice(r, u);
	}
}

enum { START_NO, START_REQUEST, START_RESPONSE, START_MORE };

/*
 * What the first line [p, e) looks like.  complete: the line end was seen.
 * An incomplete line that may still become a start line is START_MORE.
 */
static int start_kind(const char *p, const char *e, bool complete)
{
	static const char sip[] = "sip/";
	size_t n = span(p, e);
	if (n >= 4 && CI(p, 4, sip))
		return START_RESPONSE;
	if (!complete && n < 4 && ci(p, n, sip, n))
		return START_MORE;
	const char *t = run(p, e, C_TOKEN);
	if (t > p && t < e && *t == ' ')
		return START_REQUEST;
	if (!complete && t == e)
		return START_MORE;
	return START_NO;
}

/*
 * A NUL in the header section is an anomaly, except as a quoted-pair
 * inside a quoted string (RFC 4475 §3.1.1.2 has one in a display name).
 * Only called when memchr found a NUL, so it may be slow.
 */
static bool nul_ok(const char *p, const char *e)
{
	bool quoted = false;
	for (; p < e; p++) {
		if (*p == '\0')
			return false;
		if (*p == '\n' && !(p + 1 < e && wsp(p[1])))
			quoted = false; /* a new header line */
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == '\\' && quoted && p + 1 < e)
			p++;
	}
	return true;
}

/*
 * Clear *m: afgw_zero() without its loop around every store.  The
 * message is 54 sixteen-byte words, cleared for every SIP packet, and a
 * store a round made the clearing cost four instructions a word; eight
 * stores a round (the empty asm again keeps GCC from turning the loop
 * into a memset, which it writes as "rep stos") make it about one.
 */
static inline void zero_msg(struct afgw_sip_msg *m)
{
#if defined(__SSE2__)
	char *b = (char *)m;
	const __m128i z = _mm_setzero_si128();
	size_t i = 0;
	for (; i + 128 <= sizeof(*m); i += 128) {
		__m128i *w = (__m128i *)(void *)(b + i);
		_mm_storeu_si128(w, z);
		_mm_storeu_si128(w + 1, z);
		_mm_storeu_si128(w + 2, z);
		_mm_storeu_si128(w + 3, z);
		_mm_storeu_si128(w + 4, z);
		_mm_storeu_si128(w + 5, z);
		_mm_storeu_si128(w + 6, z);
		_mm_storeu_si128(w + 7, z);
		__asm__ volatile("" : : "r"(b) : "memory");
	}
	/* the rest, under 128 bytes, in at most three steps (the sizes are constants) */
	if (sizeof(*m) - i >= 64) {
		__m128i *w = (__m128i *)(void *)(b + i);
		_mm_storeu_si128(w, z);
		_mm_storeu_si128(w + 1, z);
		_mm_storeu_si128(w + 2, z);
		_mm_storeu_si128(w + 3, z);
		i += 64;
	}
	if (sizeof(*m) - i >= 32) {
		__m128i *w = (__m128i *)(void *)(b + i);
		_mm_storeu_si128(w, z);
		_mm_storeu_si128(w + 1, z);
		i += 32;
	}
	if (sizeof(*m) - i >= 16) {
		_mm_storeu_si128((__m128i *)(void *)(b + i), z);
		i += 16;
	}
	__asm__ volatile("" : : "r"(b) : "memory");
	memset(b + i, 0, sizeof(*m) - i);
#else
	memset(m, 0, sizeof(*m));
#endif
}

/*
 * The contract is in sip.h.  The order of work: skip keep-alive CRLFs,
 * classify and parse the start line, then one pass over the header lines
 * (each header parsed when its whole extent, folds included, is known),
 * then framing by Content-Length, then the checks that need the whole
 * message (missing headers, CSeq method, NUL bytes).  -EAGAIN is decided
 * before anything is reported, so a caller feeding a stream piecemeal
 * sees the same message whatever the segment boundaries were.
 */
int afgw_sip_parse(const char *buf, size_t len, struct afgw_sip_msg *m, unsigned flags)
{
	const bool stream = (flags & AFGW_SIP_STREAM) != 0;
	const char *e = buf + len, *p = buf, *nl, *le;
	struct ctx c = {m, 0, false};
	int kind, id;

	zero_msg(m);
	m->content_length = -1;

	/* RFC 3261 §7.5: CRLFs before the start line are ignored (keep-alives). */
	while (p < e && (*p == '\r' || *p == '\n'))
		p++;
	const char *msg = p;
	if (p == e)
		return stream ? -EAGAIN : -EBADMSG;

	nl = find_nl(p, e);
	if (!nl && stream) {
		if (span(p, e) >= AFGW_SIP_MAX_HEADER_BYTES)
			return -EBADMSG;
		return start_kind(p, e, false) == START_NO ? -EBADMSG : -EAGAIN;
	}
	le = nl ? nl : e;
	if (le > p && le[-1] == '\r')
		le--;
	kind = start_kind(p, le, true);
	if (kind == START_NO || span(p, le) >= AFGW_SIP_MAX_HEADER_BYTES)
		return -EBADMSG;
	if (kind == START_RESPONSE)
		status_line(p, le, m);
	else
		request_line(p, le, m);
	p = nl ? nl + 1 : e;

	/*
	 * The header section.  A header's extent is its line plus every line
	 * that starts with SP / HT (a fold).  In stream mode a line is only
	 * taken once the byte after it is here, as that byte decides whether
	 * the header goes on.
	 */
	const char *lim =
	    span(msg, e) > AFGW_SIP_MAX_HEADER_BYTES ? msg + AFGW_SIP_MAX_HEADER_BYTES : e;
	unsigned nhdr = 0;
	bool eoh = false, oversize = false;
	while (p < e) {
		/* a name's first byte is above SP: one test rules out both an
		 * empty line and a stray fold */
		const bool low = (unsigned char)*p <= ' ';
		if (low && (*p == '\n' || (*p == '\r' && p + 1 < e && p[1] == '\n'))) {
			p += *p == '\n' ? 1 : 2;
			eoh = true;
			break;
		}
		size_t nlen;
		nl = line_start(p, e, &nlen);
		while (nl && nl + 1 < e && wsp(nl[1]))
			nl = find_nl(nl + 1, e);
		if (stream && (!nl || nl + 1 == e))
			break; /* the header may go on */
		const char *next = nl ? nl + 1 : e;
		if (next > lim) {
			oversize = true;
			break;
		}
		le = nl ? nl : e;
		if (le > p && le[-1] == '\r')
			le--;
		if (++nhdr > AFGW_SIP_MAX_HEADERS) {
			m->anomalies |= AFGW_SIP_A_TOO_MANY_HEADERS;
		} else if (low && (wsp(*p) || *p == '\r')) {
			/* a fold with nothing to fold onto */
			m->anomalies |= AFGW_SIP_A_BAD_HEADER;
		} else {
			const char *colon = NULL;
			if (nlen && (id = name_id(p, nlen)) != H_NONE) {
				colon = p + nlen; /* "name:", the usual line */
			} else {
				size_t n = 0;
				id = header_id(p, le, &n);
				const char *ne = id != H_OTHER ? p + n : run(p, le, C_TOKEN);
				colon = ne;
				while (colon < le && wsp(*colon))
					colon++;
				if (ne > p && colon < le && *colon == ':') {
					/* a header line */
				} else if (ne > p && memchr(colon, ':', span(colon, le))) {
					m->anomalies |= AFGW_SIP_A_JUNK_BEFORE_COLON | AFGW_SIP_A_AMBIGUOUS;
					colon = NULL;
				} else {
					m->anomalies |= AFGW_SIP_A_BAD_HEADER;
					colon = NULL;
				}
			}
			if (colon && id != H_OTHER) {
				const char *v = skip_lws(colon + 1, le);
				header(&c, id, v, trim_end(v, le));
			}
		}
		p = next;
	}
	if (!eoh && !oversize && stream) {
		if (e <= lim)
			return -EAGAIN;
		oversize = true;
	}
	if (oversize)
		m->anomalies |= AFGW_SIP_A_TOO_MANY_HEADERS;
	else if (!eoh)
		m->anomalies |= AFGW_SIP_A_NO_END_OF_HEADERS;

	/* Framing and the body. */
	size_t avail = span(p, e), blen = 0;
	if (!eoh) {
		blen = 0;
		if (!stream)
			p = e;
	} else if (m->content_length >= 0) {
		blen = (size_t)m->content_length;
		if (blen > avail) {
			if (stream) {
				m->msg_len = span(buf, p) + blen; /* what it will take */
				return -EAGAIN;
			}
			m->anomalies |= AFGW_SIP_A_BODY_TRUNCATED;
			blen = avail;
		} else if (blen < avail && !stream) {
			m->anomalies |= AFGW_SIP_A_BODY_EXTRA;
		}
	} else if (!stream) {
		blen = avail; /* no Content-Length: a datagram's body is the rest */
	}
	m->body = afgw_str_make(p, blen);
	m->msg_len = span(buf, p) + blen;

	/* What the message lacks or contradicts. */
	if (!m->from.present)
		m->anomalies |= AFGW_SIP_A_MISSING_FROM;
	if (!m->to.present)
		m->anomalies |= AFGW_SIP_A_MISSING_TO;
	if (m->call_id.len == 0)
		m->anomalies |= AFGW_SIP_A_MISSING_CALL_ID;
	if (!(c.seen & S_CSEQ))
		m->anomalies |= AFGW_SIP_A_MISSING_CSEQ;
	if (m->is_request && !(c.seen & S_VIA))
		m->anomalies |= AFGW_SIP_A_MISSING_VIA;
	if (m->is_request && m->cseq_method.len &&
	    !(m->method.len == m->cseq_method.len &&
	      memcmp(m->method.p, m->cseq_method.p, m->method.len) == 0))
		m->anomalies |= AFGW_SIP_A_CSEQ_METHOD_MISMATCH;
	if (memchr(buf, '\0', span(buf, p)) && !nul_ok(buf, p))
		m->anomalies |= AFGW_SIP_A_NUL_BYTE;

	m->valid = (m->anomalies & ~BENIGN_ANOMALIES) == 0;
	return 0;
}

const char *afgw_sip_anomaly_name(uint32_t bit)
{
	static const char *const names[AFGW_SIP_ANOMALY_COUNT] = {
	    "ambiguous",
	    "bad_start_line",
	    "bad_version",
	    "bad_request_uri",
	    "bad_header",
	    "junk_before_colon",
	    "missing_from",
	    "missing_to",
	    "missing_call_id",
	    "missing_cseq",
	    "missing_via",
	    "duplicate_from",
	    "duplicate_to",
	    "duplicate_call_id",
	    "duplicate_cseq",
	    "conflicting_content_length",
	    "bad_content_length",
	    "body_truncated",
	    "body_extra",
	    "bad_cseq",
	    "cseq_method_mismatch",
	    "bad_from",
	    "bad_to",
	    "bad_escape",
	    "nul_byte",
	    "unterminated_quote",
	    "too_many_headers",
	    "no_end_of_headers",
	    "bad_max_forwards",
	    "bad_via",
	    "bad_status",
	    "bad_pai",
	};
	if (bit == 0 || (bit & (bit - 1)) != 0)
		return NULL;
	for (unsigned i = 0; i < AFGW_SIP_ANOMALY_COUNT; i++)
		if (bit == 1u << i)
			return names[i];
	return NULL;
}

static int hexval(char c)
{
	if (digit(c))
		return c - '0';
	return lower(c) - 'a' + 10;
}

/* Contract in sip.h: validate every escape first, so a bad one copies verbatim. */
int afgw_sip_unescape(struct afgw_str in, char *out, size_t cap)
{
	size_t n = 0;
	if (in.len > INT_MAX)
		return -ENOSPC;
	if (in.len == 0 || !find_byte(in.p, in.p + in.len, '%')) {
		/* nothing to decode (most user parts): a plain copy */
		size_t k = in.len < cap ? in.len : cap;
		if (k)
			memcpy(out, in.p, k);
		return in.len > cap ? -ENOSPC : (int)in.len;
	}
	if (!escapes_ok(in.p, in.len)) {
		size_t k = in.len < cap ? in.len : cap;
		if (k)
			memcpy(out, in.p, k);
		return in.len > cap ? -ENOSPC : -EINVAL;
	}
	for (size_t i = 0; i < in.len; n++) {
		if (n == cap)
			return -ENOSPC;
		if (in.p[i] == '%') {
			out[n] = (char)(hexval(in.p[i + 1]) << 4 | hexval(in.p[i + 2]));
			i += 3;
		} else {
			out[n] = in.p[i++];
		}
	}
	return (int)n;
}

enum { RS_NO, RS_YES, RS_MORE };

/* Match lit (lower case) at *pp, case-insensitively, as far as the bytes go. */
static int rs_lit(const char **pp, const char *e, const char *lit)
{
	const char *p = *pp;
	for (; *lit; lit++, p++) {
		if (p == e)
			return RS_MORE;
		if (lower(*p) != (unsigned char)*lit)
			return RS_NO;
	}
	*pp = p;
	return RS_YES;
}

/*
 * Does a start line begin at p?  RS_MORE: it might, the buffer ends first.
 * A line already as long as afgw_sip_parse() accepts is never RS_MORE, so
 * the two agree: where this says RS_YES or RS_MORE, the parser does not
 * answer -EBADMSG.
 */
static int rs_line(const char *p, const char *e)
{
	static const char *const schemes[] = {"sip:", "sips:", "tel:"};
	const int more = span(p, e) < AFGW_SIP_MAX_HEADER_BYTES ? RS_MORE : RS_NO;
	const char *q = p, *u = p;
	int r = rs_lit(&q, e, "sip/2.0 ");
	if (r == RS_MORE)
		return more;
	if (r == RS_YES) {
		for (int i = 0; i < 4; i++, q++) {
			if (q == e)
				return more;
			if (i < 3 ? !digit(*q) : (*q != ' ' && *q != '\r' && *q != '\n'))
				return RS_NO;
		}
		return RS_YES;
	}
	q = run(p, e, C_TOKEN);
	if (q == p)
		return RS_NO;
	if (q == e)
		return more;
	if (*q != ' ')
		return RS_NO;
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(schemes); i++) {
		u = q + 1;
		r = rs_lit(&u, e, schemes[i]);
		if (r != RS_NO)
			break;
	}
	if (r != RS_YES)
		return r == RS_MORE ? more : RS_NO;
	while (u < e && (unsigned char)*u > 0x20 && *u != 0x7f)
		u++;
	r = rs_lit(&u, e, " sip/2.0");
	if (r == RS_YES) {
		if (u == e)
			r = RS_MORE;
		else if (*u != '\r' && *u != '\n')
			r = RS_NO;
	}
	return r == RS_MORE ? more : r;
}

/* Contract in sip.h: line starts only, the first one rs_line() does not rule out. */
long afgw_sip_resync(const char *buf, size_t len)
{
	const char *p = buf, *e = buf + len;
	while (p < e) {
		if (rs_line(p, e) != RS_NO)
			return (long)span(buf, p);
		const char *nl = memchr(p, '\n', span(p, e));
		if (!nl)
			break;
		p = nl + 1;
	}
	return -1;
}
