/*
 * match.c - rule sets compiled into Hyperscan, and the scan of a message.
 *
 * The only file that includes hs.h.  Compile (control thread): every rule
 * becomes one Hyperscan expression whose id is the rule's index, in the
 * block-mode database of its kind.  Literals of the text, url and contact
 * kinds are first normalized exactly as traffic is (afgw_normalize with
 * AFGW_NORM_ALL), then escaped; regexes are taken as written, because
 * they are matched against normalized text and their authors write them
 * in normalized form (rules/README.md).  How each kind reads its pattern:
 *
 *   text     literal anywhere in the normalized text (`word`: ASCII word
 *            boundaries); regex in byte mode, rewritten to keep its
 *            meaning on characters (rewrite()), or as written in UTF-8
 *            mode with the flag utf8
 *   url      literal = the host or a parent domain of it: (^|\.)lit$
 *   contact  literal = the contact id (":lit$"), or "type:id" exactly
 *   number, caller, callee, sender
 *            literal = a prefix of the canonical number: ^lit
 *
 * One database per kind, literals and regexes together: splitting them
 * made the scan slower (measured at 1,000 synthetic rules, 80 % literals:
 * 837k messages/s in one database, 670k in two).
 *
 * Every expression is SINGLEMATCH: one hit per rule per message is all
 * scoring needs, and Hyperscan's start-of-match tracking (SOM) made the
 * default set's text database six times larger and four times slower to
 * compile (measured: 6.7 MB and 4.6 s against 1.1 MB and 1.3 s).  The
 * start of a literal hit is its end minus its length; the start of a
 * regex hit is found on request (afgw_match_evidence), by a binary search
 * for the latest start from which the rule still matches (find_start):
 * the evidence is the shortest match ending where Hyperscan reported it.
 * Url, contact and number kinds scan bytes and their evidence is the
 * whole item.
 *
 * Scan (worker thread): normalize into the worker's buffer, extract,
 * scan the text database once and the small databases once per item,
 * record hits and sum weights as they arrive.  A worker may keep a cache
 * of the text side of recent results (afgw_match_worker_cache): hits of
 * the text, url, contact and number kinds depend on the normalized text
 * alone, so a text seen before (same bytes after normalization: a
 * campaign sent to many people, with or without evasion noise) skips
 * extraction and those scans; the caller / callee / sender kinds are
 * scanned for every message.  Two-way set-associative, the least
 * recently used of a set replaced; keyed by a hash and confirmed by
 * comparing the bytes; emptied on rebinding.  In front of it, an
 * exact-text level keyed by the original bytes leads a text seen before
 * verbatim to its slot with its hits already placed in the original, so
 * that it is not even normalized (normalizing is most of what a cached
 * text costs); evidence normalizes such a text again when asked.  The evidence span is
 * mapped back to the original text through the normalizer's offset map.
 * No allocation and no lock on that path; the ruleset is never written
 * after afgw_ruleset_new() returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hs/hs.h>

#include "afgw/match.h"
#include "afgw/normalize.h"
#include "afgw/number.h"

struct cexpr {
	char *expr;                /* NULL: disabled */
	unsigned hsflags;
	uint32_t lit_len;          /* normalized literal length (text literals) */
	uint32_t max_width;        /* longest match of a regex (UINT32_MAX: unbounded) */
};

struct afgw_ruleset {
	uint64_t serial;
	struct afgw_rules rules;
	struct cexpr *cx;
	hs_database_t *db[AFGW_RULE_KINDS];
	hs_scratch_t *proto;
	double compile_ms;
};

/* The text side of one result (see the file-top comment). */
#define CACHE_TEXT_MAX AFGW_MATCH_CACHE_TEXT_MAX
#define CACHE_HITS_MAX AFGW_MATCH_CACHE_HITS_MAX
/* Slots a text may go to (both levels).  Hashed into sets of two, about
 * 9 % of 1,917 distinct texts in 4,096 slots find their set full and keep
 * pushing each other out (Poisson, and what the bench capture showed);
 * in sets of four about 3 %, for two more compares of a 64-bit hash on a
 * lookup. */
#define CACHE_WAYS AFGW_MATCH_CACHE_WAYS

struct cache_hit {
	uint32_t rule, item, norm_start, norm_end;
};

struct cache_slot {
	uint64_t hash;             /* 0: empty */
	uint32_t len;              /* of text */
	int32_t positive, negative, strongest;
	uint32_t n_hits;
	uint64_t used;             /* the worker's cache_clock when last used */
	uint64_t stamp;            /* the worker's cache_stamp when filled */
	struct cache_hit hit[CACHE_HITS_MAX];
	char text[CACHE_TEXT_MAX + 1]; /* NUL-terminated: the exact-text level lends it as res->norm */
};

/*
 * The exact-text level: an original text seen before, byte for byte,
 * leads straight to its normalized text's slot (if that still holds what
 * it held) and to where its hits lie in the original, so that it skips
 * normalization too.
 */
struct raw_pos {
	uint32_t norm_start, norm_end, start, end;
};

struct raw_slot {
	uint64_t hash;             /* of text; 0: empty */
	uint64_t used;             /* cache_clock when last used */
	uint64_t stamp;            /* the normalized slot's stamp when this was kept */
	uint32_t len;              /* of text */
	uint32_t slot;             /* index of the normalized text's slot */
	struct raw_pos pos[CACHE_HITS_MAX];
	char text[CACHE_TEXT_MAX];
};

struct afgw_match_worker {
	const struct afgw_ruleset *rs;
	hs_scratch_t *scratch;
	uint32_t *seen;            /* seen[rule] == epoch: already hit in this message */
	size_t n_seen;
	uint32_t epoch;
	unsigned cc;
	struct afgw_norm_buf nb;
	struct afgw_str orig;      /* text of the last scan (afgw_match_evidence) */
	struct afgw_extract ex;
	unsigned raw_hits;         /* afgw_match_scan_normalized() */
	struct cache_slot *cache;  /* NULL: no cache */
	struct raw_slot *raw;      /* as many, for the exact-text level */
	size_t cache_mask;
	uint64_t cache_hash;       /* of the text being scanned */
	uint64_t cache_clock;
	uint64_t cache_stamp;
	bool nb_stale;             /* nb is not the last text's: it came from the raw level */
	char tmp[AFGW_EXTRACT_VALUE_MAX + 16];
};

/* ---- small helpers ----------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_cstr(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_insert(struct sbuf *b, size_t at, const char *s, size_t n)
{
	size_t old = b->len;
	sb_put(b, s, n); /* grow */
	if (b->failed)
		return;
	memmove(b->p + at + n, b->p + at, old - at);
	memcpy(b->p + at, s, n);
}

static bool is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Bytes of a literal as a Hyperscan expression: letters, digits and UTF-8 as is. */
static void sb_escaped(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_word(c) || c >= 0x80) {
			sb_put(b, (const char *)&c, 1);
		} else {
			char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
			sb_put(b, e, 4);
		}
	}
}

static size_t utf8_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

static bool normalized_kind(enum afgw_rule_kind k)
{
	return k == AFGW_RULE_TEXT || k == AFGW_RULE_URL || k == AFGW_RULE_CONTACT;
}

/* Milliseconds on the monotonic clock, for compile times and deadlines. */
static double now_ms(void)
{
	return (double)afgw_mono_ns() / 1e6;
}

/* ---- compile ----------------------------------------------------------- */

/*
 * Text regexes are written on characters but compiled in Hyperscan's byte
 * mode: its UTF-8 mode compiles bounded gaps between Chinese words very
 * slowly (measured: (贷款|借款).{0,30}(保证金|会员费) with start-of-match
 * tracking takes 6 s in UTF-8 mode and 0.1 s in bytes).  The pattern and
 * the normalized text are both valid UTF-8, so a Chinese character in the
 * pattern can only ever match that whole character; rewrite() fixes the
 * three places where bytes and characters differ:
 *  - a quantifier after a multi-byte character applies to the character:
 *    号? becomes (?:号)?;
 *  - an "any character" atom (., [^...], \D \W \S \H \V \N) matches one
 *    character, not one byte: it becomes the alternation of its ASCII
 *    bytes and the UTF-8 sequences of 2, 3 and 4 bytes (any_char()), so
 *    刷.单 matches 刷好单 and .{0,10} spans at most 10 characters, Chinese
 *    or Latin.  Followed by * or + it stays a byte atom: the pattern's
 *    other atoms match whole characters, so any run of bytes between them
 *    is a run of whole characters, and the byte loop is the cheaper one;
 *  - a character class with a non-ASCII member has no byte equivalent: it
 *    is refused (write (薇|威) for [薇威]), and so are \p, \P, \X, \C, \Q and
 *    \x{..} above 7f, which need the `utf8` flag (Hyperscan's UTF-8 mode,
 *    the pattern taken as written).
 * dotall says whether a bare . also matches a newline.  Returns 0, or
 * -EINVAL with *why set.
 */
enum atom { A_NONE, A_ASCII, A_MB, A_ANY };

/* Length of a bound {m}, {m,} or {m,n} at p, or 0 if p is not one. */
static size_t bound_len(const char *p)
{
	size_t j = 1;
	bool digits = false;
	for (; p[j] >= '0' && p[j] <= '9'; j++)
		digits = true;
	if (p[j] == ',')
		for (j++; p[j] >= '0' && p[j] <= '9'; j++)
			;
	return digits && p[j] == '}' ? j + 1 : 0;
}

/*
 * One character that is not one of the ASCII bytes in the class body
 * `ex` (as written between [^ and ]): an ASCII byte outside ex, or any 2,
 * 3 or 4 byte UTF-8 sequence.  The text is valid UTF-8, so the lead byte
 * says the length.
 */
static void any_char(struct sbuf *out, const char *ex, size_t n)
{
	sb_cstr(out, "(?:[^\\x80-\\xff");
	if (n && (ex[0] == ']' || ex[0] == '-'))
		sb_put(out, "\\", 1); /* first in [^] it was a literal; now it follows a range */
	sb_put(out, ex, n);
	sb_cstr(out, "]|[\\xc0-\\xdf][\\x80-\\xbf]|[\\xe0-\\xef][\\x80-\\xbf]{2}|"
		     "[\\xf0-\\xf7][\\x80-\\xbf]{3})");
}

static int rewrite(const char *re, bool dotall, struct sbuf *out, const char **why)
{
	size_t n = strlen(re), i = 0, atom_at = 0;
	size_t any_src = 0, any_len = 0; /* the last A_ANY atom as written */
	enum atom last = A_NONE;
	while (i < n && !out->failed) {
		unsigned char c = (unsigned char)re[i];
		size_t at = out->len;
		if (c == '\\' && i + 1 < n) {
			unsigned char e = (unsigned char)re[i + 1];
			if (strchr("pPXCQ", e)) {
				*why = "\\p, \\P, \\X, \\C and \\Q need the flag utf8";
				return -EINVAL;
			}
			if (e >= 0x80) { /* an escaped character is that character */
				size_t l = utf8_len(e);
				l = i + 1 + l <= n ? l : n - i - 1;
				sb_put(out, re + i + 1, l);
				i += 1 + l;
				last = A_MB;
			} else if (e == 'x' && re[i + 2] == '{') {
				const char *end = strchr(re + i, '}');
				unsigned long v = strtoul(re + i + 3, NULL, 16);
				if (!end || v > 0x7f) {
					*why = "\\x{..} above 7f needs the flag utf8";
					return -EINVAL;
				}
				sb_put(out, re + i, (size_t)(end - (re + i)) + 1);
				i = (size_t)(end - re) + 1;
				last = A_ASCII;
			} else if (e && strchr("DWSHVN", e)) {
				/* \D is a character that is not \d: [^\d] */
				char ex[2] = { '\\', (char)(e == 'N' ? 'n' : e + ('a' - 'A')) };
				any_char(out, ex, 2);
				any_src = i;
				any_len = 2;
				i += 2;
				last = A_ANY;
			} else {
				sb_put(out, re + i, 2);
				i += 2;
				last = A_ASCII;
			}
			atom_at = at;
			continue;
		}
		if (c == '[') {
			size_t j = i + 1;
			bool neg = re[j] == '^';
			if (neg)
				j++;
			if (re[j] == ']')
				j++;
			for (; j < n && re[j] != ']'; j++) {
				if (re[j] == '\\' && j + 1 < n) {
					j++;
				} else if (re[j] == '[' && re[j + 1] == ':') {
					const char *e = strstr(re + j + 2, ":]");
					if (e)
						j = (size_t)(e - re) + 1;
				}
				if ((unsigned char)re[j] >= 0x80) {
					*why = "a [...] class cannot hold a non-ASCII character: write (a|b)";
					return -EINVAL;
				}
			}
			if (j >= n) { /* unterminated: let Hyperscan say so */
				sb_put(out, re + i, n - i);
				break;
			}
			if (neg) {
				any_char(out, re + i + 2, j - i - 2);
				any_src = i;
				any_len = j + 1 - i;
			} else {
				sb_put(out, re + i, j + 1 - i);
			}
			i = j + 1;
			last = neg ? A_ANY : A_ASCII;
			atom_at = at;
			continue;
		}
		size_t qlen = 0;
		if (c == '?' || c == '*' || c == '+')
			qlen = 1;
		else if (c == '{')
			qlen = bound_len(re + i);
		if (qlen && last != A_NONE) {
			if (last == A_MB) {
				sb_insert(out, atom_at, "(?:", 3);
				sb_cstr(out, ")");
			} else if (last == A_ANY && (c == '*' || c == '+')) {
				/* a run of characters is a run of bytes: the byte atom */
				out->len = atom_at;
				sb_put(out, re + any_src, any_len);
			}
			sb_put(out, re + i, qlen);
			i += qlen;
			if (i < n && re[i] == '?') /* lazy */
				sb_put(out, re + i++, 1);
			last = A_NONE;
			continue;
		}
		if (c >= 0x80) {
			size_t l = utf8_len(c);
			l = i + l <= n ? l : n - i;
			sb_put(out, re + i, l);
			i += l;
			last = A_MB;
			atom_at = at;
			continue;
		}
		if (c == '.') {
			any_char(out, "\\n", dotall ? 0 : 2);
			any_src = i;
			any_len = 1;
			last = A_ANY;
		} else {
			sb_put(out, re + i, 1);
			last = c == '(' || c == '|' || c == '^' || c == '$' ? A_NONE : A_ASCII;
		}
		i++;
		atom_at = at;
	}
	return 0;
}

/*
 * Rule r as an expression in cx.  Returns 0, 1 when the rule is disabled
 * (its literal normalizes to nothing, warned), 2 when it cannot be
 * compiled (reported as an error), or -ENOMEM.
 */
static int build_expr(const struct afgw_rules *rules, const struct afgw_rule *r,
		      struct afgw_norm_buf *nb, struct cexpr *cx, struct afgw_rules_diag *d)
{
	const char *file = rules->files[r->file];
	struct sbuf b = { 0 };
	bool nocase = r->flags & AFGW_RULE_F_NOCASE;
	bool word = r->flags & AFGW_RULE_F_WORD;

	if (r->flags & AFGW_RULE_F_REGEX) {
		bool utf8 = r->flags & (AFGW_RULE_F_UTF8 | AFGW_RULE_F_UCP);
		if (word)
			sb_cstr(&b, "\\b(?:");
		if (r->kind == AFGW_RULE_TEXT && !utf8) {
			const char *why = NULL;
			if (rewrite(r->pattern, r->flags & AFGW_RULE_F_DOTALL, &b, &why) < 0) {
				afgw_rules_diag_add(d, AFGW_DIAG_ERROR, file, r->pattern_line,
						    "rule '%s': bad regex: %s", r->id, why);
				free(b.p);
				return 2;
			}
		} else {
			sb_cstr(&b, r->pattern);
		}
		if (word)
			sb_cstr(&b, ")\\b");
		cx->hsflags = HS_FLAG_SINGLEMATCH | (nocase ? HS_FLAG_CASELESS : 0) |
			      ((r->flags & AFGW_RULE_F_DOTALL) ? HS_FLAG_DOTALL : 0) |
			      (utf8 ? HS_FLAG_UTF8 : 0) |
			      ((r->flags & AFGW_RULE_F_UCP) ? HS_FLAG_UCP : 0);
		goto done;
	}

	const char *lit = r->pattern;
	size_t n = strlen(lit);
	if (normalized_kind(r->kind)) {
		if (afgw_normalize(lit, n, AFGW_NORM_ALL, nb) < 0)
			return -ENOMEM;
		lit = nb->text;
		n = nb->len;
	}
	if (n == 0) {
		afgw_rules_diag_add(d, AFGW_DIAG_WARNING, file, r->pattern_line,
				    "rule '%s': the literal normalizes to nothing; rule disabled",
				    r->id);
		return 1;
	}
	cx->hsflags = HS_FLAG_SINGLEMATCH | (nocase ? HS_FLAG_CASELESS : 0);
	switch (r->kind) {
	case AFGW_RULE_TEXT:
		if (word && is_word((unsigned char)lit[0]))
			sb_cstr(&b, "\\b");
		sb_escaped(&b, lit, n);
		if (word && is_word((unsigned char)lit[n - 1]))
			sb_cstr(&b, "\\b");
		cx->lit_len = (uint32_t)n;
		break;
	case AFGW_RULE_URL:
		sb_cstr(&b, "(?:^|\\.)");
		sb_escaped(&b, lit, n);
		sb_cstr(&b, "$");
		break;
	case AFGW_RULE_CONTACT:
		sb_cstr(&b, memchr(lit, ':', n) ? "^" : ":");
		sb_escaped(&b, lit, n);
		sb_cstr(&b, "$");
		break;
	default:
		sb_cstr(&b, "^");
		sb_escaped(&b, lit, n);
		break;
	}
done:
	if (b.failed) {
		free(b.p);
		return -ENOMEM;
	}
	cx->expr = b.p;
	return 0;
}

/*
 * Compile the expressions of one kind into rs->db[kind].  A failure is
 * reported against the rule Hyperscan names.  Returns 0, -EINVAL or
 * -ENOMEM.
 */
static int compile_kind(struct afgw_ruleset *rs, enum afgw_rule_kind kind,
			struct afgw_rules_diag *d)
{
	const struct afgw_rules *rules = &rs->rules;
	size_t n = 0;
	for (size_t i = 0; i < rules->n; i++)
		if (rules->rule[i].kind == kind && rs->cx[i].expr)
			n++;
	if (!n)
		return 0;

	int rc = -ENOMEM;
	const char **exprs = calloc(n, sizeof(*exprs));
	unsigned *flags = calloc(n, sizeof(*flags));
	unsigned *ids = calloc(n, sizeof(*ids));
	if (!exprs || !flags || !ids)
		goto out;
	size_t k = 0;
	for (size_t i = 0; i < rules->n; i++) {
		if (rules->rule[i].kind != kind || !rs->cx[i].expr)
			continue;
		exprs[k] = rs->cx[i].expr;
		flags[k] = rs->cx[i].hsflags;
		ids[k] = (unsigned)i;
		k++;
	}
	hs_compile_error_t *ce = NULL;
	hs_error_t e = hs_compile_multi(exprs, flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL,
					&rs->db[kind], &ce);
	if (e == HS_SUCCESS) {
		rc = 0;
	} else if (e == HS_COMPILER_ERROR && ce && ce->expression >= 0 &&
		   (size_t)ce->expression < n) {
		const struct afgw_rule *r = &rules->rule[ids[ce->expression]];
		afgw_rules_diag_add(d, AFGW_DIAG_ERROR, rules->files[r->file], r->pattern_line,
				    "rule '%s': %s: %s", r->id,
				    (r->flags & AFGW_RULE_F_REGEX) ? "bad regex" : "bad literal",
				    ce->message);
		rc = -EINVAL;
	} else if (e == HS_NOMEM) {
		rc = -ENOMEM;
	} else {
		afgw_rules_diag_add(d, AFGW_DIAG_ERROR, rules->n_files ? rules->files[0] : "-", 0,
				    "%s rules: Hyperscan: %s", afgw_rule_kind_name(kind),
				    ce ? ce->message : "compile failed");
		rc = -EINVAL;
	}
	hs_free_compile_error(ce);
out:
	free(exprs);
	free(flags);
	free(ids);
	return rc;
}

/*
 * Check every regex on its own first (hs_expression_info parses and
 * analyses without building a database: about 0.5 ms a rule), so that all
 * bad regexes are reported at once, each with its file:line.
 */
static int check_regexes(struct afgw_ruleset *rs, struct afgw_rules_diag *d)
{
	int rc = 0;
	for (size_t i = 0; i < rs->rules.n; i++) {
		const struct afgw_rule *r = &rs->rules.rule[i];
		struct cexpr *cx = &rs->cx[i];
		if (!(r->flags & AFGW_RULE_F_REGEX) || !cx->expr)
			continue;
		hs_expr_info_t *info = NULL;
		hs_compile_error_t *ce = NULL;
		if (hs_expression_info(cx->expr, cx->hsflags, &info, &ce) != HS_SUCCESS) {
			afgw_rules_diag_add(d, AFGW_DIAG_ERROR, rs->rules.files[r->file],
					    r->pattern_line, "rule '%s': bad regex: %s", r->id,
					    ce ? ce->message : "rejected by Hyperscan");
			hs_free_compile_error(ce);
			rc = -EINVAL;
			continue;
		}
		cx->max_width = info->max_width;
		free(info);
	}
	return rc;
}

static void free_compiled(struct afgw_ruleset *rs)
{
	for (int k = 0; k < AFGW_RULE_KINDS; k++) {
		hs_free_database(rs->db[k]);
		rs->db[k] = NULL;
	}
	hs_free_scratch(rs->proto);
	rs->proto = NULL;
	if (rs->cx)
		for (size_t i = 0; i < rs->rules.n; i++)
			free(rs->cx[i].expr);
	free(rs->cx);
	rs->cx = NULL;
}

/*
 * The first half of a build: rs with every rule's expression (literals
 * normalized), borrowing *rules.  Returns 0, -EINVAL (errors in d) or
 * -ENOMEM; on failure *out is NULL and rules untouched.
 */
static int prepare(struct afgw_rules *rules, uint64_t serial, struct afgw_rules_diag *d,
		   struct afgw_ruleset **out)
{
	struct afgw_norm_buf nb;
	afgw_norm_buf_init(&nb);
	int rc = -ENOMEM;
	*out = NULL;
	struct afgw_ruleset *rs = calloc(1, sizeof(*rs));
	if (!rs)
		goto fail;
	rs->serial = serial;
	rs->rules = *rules; /* borrowed until success */
	rs->cx = calloc(rules->n ? rules->n : 1, sizeof(*rs->cx));
	if (!rs->cx)
		goto fail;
	bool bad = false;
	for (size_t i = 0; i < rules->n; i++) {
		int r = build_expr(rules, &rules->rule[i], &nb, &rs->cx[i], d);
		if (r < 0)
			goto fail;
		bad |= r == 2;
	}
	afgw_norm_buf_fini(&nb);
	*out = rs;
	return bad ? -EINVAL : 0;
fail:
	afgw_norm_buf_fini(&nb);
	if (rs) {
		free_compiled(rs);
		free(rs);
	}
	return rc;
}

/* The second half: Hyperscan's databases from the expressions. */
static int compile_all(struct afgw_ruleset *rs, struct afgw_rules_diag *d)
{
	int rc = check_regexes(rs, d);
	for (int k = 0; k < AFGW_RULE_KINDS && rc == 0; k++)
		rc = compile_kind(rs, (enum afgw_rule_kind)k, d);
	return rc;
}

/* Scratch prototype for every database; the ruleset then owns *rules. */
static int finish(struct afgw_ruleset *rs, struct afgw_rules *rules, double t0)
{
	for (int k = 0; k < AFGW_RULE_KINDS; k++)
		if (rs->db[k] && hs_alloc_scratch(rs->db[k], &rs->proto) != HS_SUCCESS)
			return -ENOMEM;
	memset(rules, 0, sizeof(*rules)); /* the ruleset owns the contents now */
	rs->compile_ms = now_ms() - t0;
	return 0;
}

/* Undo prepare() after a failure: rules go back to the caller untouched. */
static void discard(struct afgw_ruleset *rs)
{
	if (rs) {
		free_compiled(rs);
		free(rs); /* rs->rules still belongs to the caller */
	}
}

int afgw_ruleset_new(struct afgw_rules *rules, uint64_t serial, struct afgw_rules_diag *d,
		     struct afgw_ruleset **out)
{
	double t0 = now_ms();
	struct afgw_ruleset *rs;
	int rc = prepare(rules, serial, d, &rs);
	if (rc == -EINVAL)
		check_regexes(rs, d); /* report bad regexes too, all at once */
	if (rc == 0)
		rc = compile_all(rs, d);
	if (rc == 0)
		rc = finish(rs, rules, t0);
	if (rc < 0) {
		discard(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

/* ---- compiling in a child process -------------------------------------- */

/*
 * Hyperscan's compiler is the one part of a reload whose time and memory
 * depend on what the rules say: a pathological regex can take minutes or
 * gigabytes.  afgw_ruleset_new_isolated() therefore compiles in another
 * process under RLIMIT_CPU and RLIMIT_AS.  That process is a fresh copy
 * of the running program (fork, then execve of /proc/self/exe with
 * AFGW_RULE_COMPILER=1 in its environment), not a bare fork: the gateway
 * has threads, and a forked child of a threaded process inherits every
 * lock another thread held at that moment (the allocator's among them —
 * a bare fork deadlocked under AddressSanitizer in testing).  Between fork
 * and execve the child makes only async-signal-safe calls (setrlimit,
 * dup2, execve).  In the new process, compiler_main() (a constructor of
 * this file, so every program linked with the core library can serve)
 * reads the request from fd 0 and writes the answer to fd 1, one
 * AF_UNIX stream socket:
 *
 *   request: u32 n_rules, then per rule: u8 kind, u32 rule flags,
 *            u32 Hyperscan flags, u32 pattern line, and four strings
 *            (u32 length + bytes): id, file name, pattern, expression
 *            (length 0: the rule is disabled)
 *   answer:  u8 status (0 ok, 1 refused: diagnostics follow, 2 out of memory)
 *            ok:      u32 n_rules, u32 max_width[n_rules], then per kind:
 *                     u64 size + hs_serialize_database bytes (size 0: none)
 *            refused: u32 n, then per message: u8 level, u32 length, text
 *
 * The parent built the same expressions itself (prepare() only
 * normalizes literals: cheap and bounded), deserializes the databases and
 * allocates their scratch.  If the child dies (SIGXCPU, SIGKILL, a
 * refused allocation) or overruns the wall-clock deadline, the build
 * fails with one diagnostic and the caller keeps its old rule set.
 * Address-space limits cannot work under AddressSanitizer (its shadow
 * memory reserves terabytes of address space), so a sanitized build
 * enforces the CPU limit only.
 */
#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif

#define BLOB_MAX ((size_t)2 << 30)

struct blob {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

static void blob_put(struct blob *b, const void *p, size_t n)
{
	if (b->failed || n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *q = realloc(b->p, cap);
		if (!q) {
			b->failed = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* fd is a socket: a peer that died gives EPIPE, not SIGPIPE. */
static bool write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* In the compiler process: compile rs, write the answer to fd, leave. */
static _Noreturn void compile_and_answer(struct afgw_ruleset *rs, int fd)
{
	struct afgw_rules_diag d;
	afgw_rules_diag_init(&d);
	struct blob b = { 0 };
	int rc = compile_all(rs, &d);
	uint8_t status = rc == 0 ? 0 : rc == -ENOMEM ? 2 : 1;
	blob_put(&b, &status, 1);
	if (rc == 0) {
		uint32_t n = (uint32_t)rs->rules.n;
		blob_put(&b, &n, sizeof(n));
		for (size_t i = 0; i < rs->rules.n; i++)
			blob_put(&b, &rs->cx[i].max_width, sizeof(uint32_t));
		for (int k = 0; k < AFGW_RULE_KINDS; k++) {
			char *ser = NULL;
			size_t len = 0;
			if (rs->db[k] && hs_serialize_database(rs->db[k], &ser, &len) != HS_SUCCESS)
				_exit(3);
			uint64_t len64 = len;
			blob_put(&b, &len64, sizeof(len64));
			blob_put(&b, ser, len);
			free(ser);
		}
	} else if (status == 1) {
		uint32_t n = d.n;
		blob_put(&b, &n, sizeof(n));
		for (unsigned i = 0; i < d.n; i++) {
			uint8_t level = (uint8_t)d.msg[i].level;
			uint32_t len = (uint32_t)strlen(d.msg[i].text);
			blob_put(&b, &level, 1);
			blob_put(&b, &len, sizeof(len));
			blob_put(&b, d.msg[i].text, len);
		}
	}
	if (b.failed || !write_all(fd, b.p, b.len))
		_exit(3);
	_exit(0);
}

static void put_str(struct blob *b, const char *s)
{
	uint32_t n = s ? (uint32_t)strlen(s) : 0;
	blob_put(b, &n, sizeof(n));
	blob_put(b, s, n);
}

/* The request for rs's expressions (see above). */
static void encode_request(const struct afgw_ruleset *rs, struct blob *b)
{
	uint32_t n = (uint32_t)rs->rules.n;
	blob_put(b, &n, sizeof(n));
	for (size_t i = 0; i < rs->rules.n; i++) {
		const struct afgw_rule *r = &rs->rules.rule[i];
		uint8_t kind = (uint8_t)r->kind;
		uint32_t v[3] = { r->flags, rs->cx[i].hsflags, r->pattern_line };
		blob_put(b, &kind, 1);
		blob_put(b, v, sizeof(v));
		put_str(b, r->id);
		put_str(b, rs->rules.files[r->file]);
		put_str(b, r->pattern);
		put_str(b, rs->cx[i].expr);
	}
}

struct reader {
	const uint8_t *p, *end;
	bool bad;
};

static const uint8_t *take(struct reader *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *q = r->p;
	r->p += n;
	return q;
}

static uint32_t take_u32(struct reader *r)
{
	uint32_t v = 0;
	const uint8_t *q = take(r, sizeof(v));
	if (q)
		memcpy(&v, q, sizeof(v));
	return v;
}

/* A string of the request, NUL-terminated (NULL when empty). */
static char *take_str(struct reader *r)
{
	uint32_t n = take_u32(r);
	const uint8_t *q = take(r, n);
	if (!q || !n)
		return NULL;
	char *s = malloc(n + 1);
	if (!s) {
		r->bad = true;
		return NULL;
	}
	memcpy(s, q, n);
	s[n] = '\0';
	return s;
}

/* The compiler process: the rule set the request describes. */
static struct afgw_ruleset *decode_request(struct reader *r)
{
	uint32_t n = take_u32(r);
	if (r->bad || n > AFGW_RULES_MAX)
		return NULL;
	struct afgw_ruleset *rs = calloc(1, sizeof(*rs));
	size_t m = n ? n : 1;
	if (!rs || !(rs->rules.rule = calloc(m, sizeof(struct afgw_rule))) ||
	    !(rs->rules.files = calloc(m, sizeof(char *))) || !(rs->cx = calloc(m, sizeof(*rs->cx))))
		return NULL;
	rs->rules.n = n;
	rs->rules.n_files = n;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		struct afgw_rule *x = &rs->rules.rule[i];
		const uint8_t *kind = take(r, 1);
		uint32_t flags = take_u32(r), hsflags = take_u32(r), line = take_u32(r);
		x->kind = kind && *kind < AFGW_RULE_KINDS ? (enum afgw_rule_kind)*kind : AFGW_RULE_TEXT;
		x->flags = flags;
		x->pattern_line = line;
		x->file = i;
		x->id = take_str(r);
		rs->rules.files[i] = take_str(r);
		x->pattern = take_str(r);
		rs->cx[i].expr = take_str(r);
		rs->cx[i].hsflags = hsflags;
		if (!x->id || !rs->rules.files[i] || !x->pattern)
			r->bad = true;
	}
	return r->bad ? NULL : rs;
}

/*
 * A program started as the rule compiler (AFGW_RULE_COMPILER=1 in its
 * environment, see above) serves one request before main() and leaves.
 */
__attribute__((constructor)) static void compiler_main(void)
{
	const char *e = getenv("AFGW_RULE_COMPILER");
	if (!e || strcmp(e, "1") != 0)
		return;
	struct blob req = { 0 };
	uint8_t buf[65536];
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(4);
		if (n == 0)
			break;
		if (req.len + (size_t)n > BLOB_MAX)
			_exit(4);
		blob_put(&req, buf, (size_t)n);
		if (req.failed)
			_exit(4);
	}
	struct reader r = { req.p, req.p + req.len, false };
	struct afgw_ruleset *rs = decode_request(&r);
	if (!rs)
		_exit(4);
	compile_and_answer(rs, 1);
}

/*
 * Start the compiler process on socket fd, under the limits.  envp and
 * argv are built by the caller: after fork only async-signal-safe calls.
 */
static pid_t spawn_compiler(int fd, const struct afgw_compile_limits *lim, char *const envp[])
{
	char *const argv[] = { (char *)"afgw-rule-compiler", NULL };
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	struct rlimit rl;
	if (lim->cpu_s) {
		rl.rlim_cur = lim->cpu_s;
		rl.rlim_max = lim->cpu_s + 1; /* SIGXCPU first, SIGKILL a second later */
		setrlimit(RLIMIT_CPU, &rl);
	}
#ifndef ASAN_BUILD
	if (lim->mem_bytes) {
		rl.rlim_cur = rl.rlim_max = lim->mem_bytes;
		setrlimit(RLIMIT_AS, &rl);
	}
#endif
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0)
		_exit(5);
	execve("/proc/self/exe", argv, envp);
	_exit(5);
}

/* environ plus AFGW_RULE_COMPILER=1 (malloc'd array, borrowed strings). */
static char **compiler_env(void)
{
	extern char **environ;
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof(char *));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "AFGW_RULE_COMPILER=", 19) != 0)
			env[k++] = environ[i];
	env[k++] = (char *)"AFGW_RULE_COMPILER=1";
	env[k] = NULL;
	return env;
}

/* Read the child's whole answer, until EOF or the deadline.  0, -ETIMEDOUT, -EFBIG, -ENOMEM, -EIO. */
static int read_answer(int fd, unsigned deadline_ms, struct blob *b)
{
	double end = now_ms() + deadline_ms;
	for (;;) {
		double left = end - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = poll(&pfd, 1, (int)left + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -EIO;
		if (n == 0)
			continue;
		uint8_t buf[65536];
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -EIO;
		if (r == 0)
			return 0;
		if (b->len + (size_t)r > BLOB_MAX)
			return -EFBIG;
		blob_put(b, buf, (size_t)r);
		if (b->failed)
			return -ENOMEM;
	}
}

/* Rebuild rs's databases from an "ok" answer.  0, -EIO (malformed), -ENOMEM. */
static int load_answer(struct afgw_ruleset *rs, struct reader *r)
{
	if (take_u32(r) != rs->rules.n || r->bad)
		return -EIO;
	for (size_t i = 0; i < rs->rules.n; i++)
		rs->cx[i].max_width = take_u32(r);
	for (int k = 0; k < AFGW_RULE_KINDS; k++) {
		uint64_t len = 0;
		const uint8_t *q = take(r, sizeof(len));
		if (!q)
			return -EIO;
		memcpy(&len, q, sizeof(len));
		if (!len)
			continue;
		q = take(r, (size_t)len);
		if (!q)
			return -EIO;
		hs_error_t e = hs_deserialize_database((const char *)q, (size_t)len, &rs->db[k]);
		if (e == HS_NOMEM)
			return -ENOMEM;
		if (e != HS_SUCCESS)
			return -EIO;
	}
	return r->bad || r->p != r->end ? -EIO : 0;
}

/* Replay a "refused" answer's diagnostics into d. */
static void load_diag(struct reader *r, struct afgw_rules_diag *d)
{
	uint32_t n = take_u32(r);
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		const uint8_t *lv = take(r, 1);
		uint32_t len = take_u32(r);
		const uint8_t *t = take(r, len);
		if (!lv || !t)
			break;
		/* the text is already "file:line: message": add it as it is */
		afgw_rules_diag_add(d, *lv ? AFGW_DIAG_WARNING : AFGW_DIAG_ERROR, NULL, 0, "%.*s",
				    (int)len, (const char *)t);
	}
}

int afgw_ruleset_new_isolated(struct afgw_rules *rules, uint64_t serial,
			      const struct afgw_compile_limits *lim, struct afgw_rules_diag *d,
			      struct afgw_ruleset **out)
{
	double t0 = now_ms();
	const char *where = rules->n_files ? rules->files[0] : "-";
	struct afgw_ruleset *rs;
	int rc = prepare(rules, serial, d, &rs);
	if (rc == -EINVAL)
		check_regexes(rs, d);
	if (rc < 0) {
		discard(rs);
		return rc;
	}

	struct blob req = { 0 };
	encode_request(rs, &req);
	char **env = compiler_env();
	int fds[2] = { -1, -1 };
	pid_t pid = -1;
	if (req.failed || !env) {
		rc = -ENOMEM;
	} else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
		rc = -errno;
	} else if ((pid = spawn_compiler(fds[1], lim, env)) < 0) {
		rc = -errno;
	}
	free(env);
	if (fds[1] >= 0)
		close(fds[1]);
	if (pid < 0) {
		free(req.p);
		if (fds[0] >= 0)
			close(fds[0]);
		afgw_rules_diag_add(d, AFGW_DIAG_ERROR, where, 0, "rule compiler: cannot start: %s",
				    strerror(-rc));
		discard(rs);
		return rc;
	}
	/* the request fits the socket's buffer or the child reads it as it
	 * comes: it reads everything before it answers */
	bool sent = write_all(fds[0], req.p, req.len);
	free(req.p);
	shutdown(fds[0], SHUT_WR);
	struct blob b = { 0 };
	unsigned deadline = lim->wall_ms ? lim->wall_ms : UINT32_MAX / 2;
	int rd = sent ? read_answer(fds[0], deadline, &b) : -EIO;
	close(fds[0]);
	if (rd != 0)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;

	rc = -EINVAL;
	if (rd == -ETIMEDOUT) {
		afgw_rules_diag_add(d, AFGW_DIAG_ERROR, where, 0,
				    "rule compiler: no answer within %u ms; killed", deadline);
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		const char *why = sig == SIGXCPU ? ": over its CPU limit" :
				  sig == SIGKILL ? ": over its CPU limit, or out of memory" :
				  sig == SIGSEGV || sig == SIGABRT ? ": out of memory?" : "";
		afgw_rules_diag_add(d, AFGW_DIAG_ERROR, where, 0,
				    "rule compiler: killed by signal %d (%s)%s", sig, strsignal(sig),
				    why);
	} else if (rd != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || b.len < 1) {
		afgw_rules_diag_add(d, AFGW_DIAG_ERROR, where, 0,
				    "rule compiler: failed (exit %d, %zu bytes)",
				    WIFEXITED(status) ? WEXITSTATUS(status) : -1, b.len);
		rc = rd == -ENOMEM ? -ENOMEM : -EIO;
	} else {
		struct reader r = { b.p + 1, b.p + b.len, false };
		if (b.p[0] == 0) {
			rc = load_answer(rs, &r);
			if (rc == -EIO)
				afgw_rules_diag_add(d, AFGW_DIAG_ERROR, where, 0,
						    "rule compiler: malformed answer");
		} else if (b.p[0] == 1) {
			load_diag(&r, d);
			if (!d->errors)
				afgw_rules_diag_add(d, AFGW_DIAG_ERROR, where, 0,
						    "rule compiler: refused the rules");
		} else {
			rc = -ENOMEM;
		}
	}
	free(b.p);
	if (rc == 0)
		rc = finish(rs, rules, t0);
	if (rc < 0) {
		discard(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

void afgw_ruleset_free(struct afgw_ruleset *rs)
{
	if (!rs)
		return;
	free_compiled(rs);
	afgw_rules_fini(&rs->rules);
	free(rs);
}

uint64_t afgw_ruleset_serial(const struct afgw_ruleset *rs)
{
	return rs->serial;
}

size_t afgw_ruleset_count(const struct afgw_ruleset *rs)
{
	return rs->rules.n;
}

const struct afgw_rule *afgw_ruleset_rule(const struct afgw_ruleset *rs, size_t i)
{
	return i < rs->rules.n ? &rs->rules.rule[i] : NULL;
}

const char *afgw_ruleset_file(const struct afgw_ruleset *rs, unsigned file)
{
	return file < rs->rules.n_files ? rs->rules.files[file] : "?";
}

unsigned afgw_ruleset_files(const struct afgw_ruleset *rs)
{
	return rs->rules.n_files;
}

double afgw_ruleset_compile_ms(const struct afgw_ruleset *rs)
{
	return rs->compile_ms;
}

void afgw_ruleset_expr(const struct afgw_ruleset *rs, size_t i, struct afgw_match_expr *out)
{
	memset(out, 0, sizeof(*out));
	if (i >= rs->rules.n)
		return;
	const struct cexpr *cx = &rs->cx[i];
	out->expr = cx->expr;
	out->caseless = cx->hsflags & HS_FLAG_CASELESS;
	out->dotall = cx->hsflags & HS_FLAG_DOTALL;
	out->utf8 = cx->hsflags & HS_FLAG_UTF8;
	out->ucp = cx->hsflags & HS_FLAG_UCP;
}

/* ---- workers ----------------------------------------------------------- */

int afgw_match_worker_new(const struct afgw_ruleset *rs, unsigned country_code,
			  struct afgw_match_worker **out)
{
	struct afgw_match_worker *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cc = country_code;
	afgw_norm_buf_init(&w->nb);
	int rc = afgw_match_worker_bind(w, rs);
	if (rc < 0) {
		afgw_match_worker_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int afgw_match_worker_bind(struct afgw_match_worker *w, const struct afgw_ruleset *rs)
{
	hs_scratch_t *s = NULL;
	if (rs->proto && hs_clone_scratch(rs->proto, &s) != HS_SUCCESS)
		return -ENOMEM;
	size_t n = rs->rules.n ? rs->rules.n : 1;
	uint32_t *seen = calloc(n, sizeof(*seen));
	if (!seen) {
		hs_free_scratch(s);
		return -ENOMEM;
	}
	hs_free_scratch(w->scratch);
	free(w->seen);
	w->scratch = s;
	w->seen = seen;
	w->n_seen = n;
	w->epoch = 0;
	w->rs = rs;
	if (w->cache) { /* rule indexes of the old set mean nothing now */
		memset(w->cache, 0, (w->cache_mask + 1) * sizeof(*w->cache));
		memset(w->raw, 0, (w->cache_mask + 1) * sizeof(*w->raw));
	}
	return 0;
}

static void cache_free(struct afgw_match_worker *w)
{
	free(w->cache);
	free(w->raw);
}

int afgw_match_worker_cache(struct afgw_match_worker *w, size_t entries)
{
	struct cache_slot *c = NULL;
	struct raw_slot *r = NULL;
	size_t n = 0;
	if (entries) {
		if (entries > AFGW_MATCH_CACHE_MAX)
			return -EINVAL;
		n = CACHE_WAYS;
		while (n < entries)
			n *= 2;
		c = calloc(n, sizeof(*c));
		r = calloc(n, sizeof(*r));
		if (!c || !r) {
			free(c);
			free(r);
			return -ENOMEM;
		}
		/* a lookup reads a slot before a fill writes it: its pages now,
		 * in the thread that prepares the match worker */
		afgw_touch_pages(c, n * sizeof(*c));
		afgw_touch_pages(r, n * sizeof(*r));
	}
	cache_free(w);
	w->cache = c;
	w->raw = r;
	w->cache_mask = n ? n - 1 : 0;
	return 0;
}

void afgw_match_worker_free(struct afgw_match_worker *w)
{
	if (!w)
		return;
	hs_free_scratch(w->scratch);
	free(w->seen);
	cache_free(w);
	afgw_norm_buf_fini(&w->nb);
	free(w);
}

/* ---- scan -------------------------------------------------------------- */

int afgw_match_score(int positive, int negative, int strongest)
{
	int p = positive < 100 ? positive : 100;
	int n = negative < AFGW_MATCH_NEG_CAP ? negative : AFGW_MATCH_NEG_CAP;
	int s = p - n;
	if (strongest > 0 && s < strongest - AFGW_MATCH_STRONG_MARGIN)
		s = strongest - AFGW_MATCH_STRONG_MARGIN;
	return s < 0 ? 0 : s > 100 ? 100 : s;
}

struct scan_ctx {
	struct afgw_match_worker *w;
	struct afgw_match_result *res;
	enum afgw_rule_kind kind;
	uint32_t item;
	size_t item_start, item_end; /* url / contact / number: span in normalized text */
	size_t input_len;          /* caller / callee / sender: the number's length */
	int strongest;
};

/* Normalized span -> original span, through the offset map. */
static void to_orig(const struct afgw_match_worker *w, struct afgw_str orig, size_t ns, size_t ne,
		    uint32_t *os, uint32_t *oe)
{
	const uint32_t *map = w->nb.map;
	size_t s = map[ns], e = s;
	if (ne > ns) {
		e = map[ne - 1];
		if (e < orig.len)
			e += utf8_len((unsigned char)orig.p[e]);
	}
	if (e > orig.len)
		e = orig.len;
	if (s > e)
		s = e;
	*os = (uint32_t)s;
	*oe = (uint32_t)e;
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
		    unsigned int flags, void *ctx)
{
	(void)from;
	(void)flags;
	struct scan_ctx *c = ctx;
	struct afgw_match_worker *w = c->w;
	if (w->seen[id] == w->epoch)
		return 0;
	w->seen[id] = w->epoch;
	const struct afgw_rule *r = &w->rs->rules.rule[id];
	struct afgw_match_result *res = c->res;
	if (r->weight > 0) {
		res->positive += r->weight;
		if (r->weight > c->strongest)
			c->strongest = r->weight;
	} else {
		res->negative -= r->weight;
	}
	if (res->n_hits >= AFGW_MATCH_HITS_MAX) {
		res->dropped++;
		return 0;
	}
	struct afgw_match_hit *h = &res->hit[res->n_hits++];
	h->rule = id;
	h->r = r;
	h->item = c->item;
	switch (c->kind) {
	case AFGW_RULE_TEXT: {
		/* a regex's start is found after the scan (find_start) */
		size_t e = (size_t)to, s = e;
		if (!(r->flags & AFGW_RULE_F_REGEX))
			s = e >= w->rs->cx[id].lit_len ? e - w->rs->cx[id].lit_len : 0;
		h->norm_start = (uint32_t)s;
		h->norm_end = (uint32_t)e;
		break;
	}
	case AFGW_RULE_URL:
	case AFGW_RULE_CONTACT:
	case AFGW_RULE_NUMBER:
		h->norm_start = (uint32_t)c->item_start;
		h->norm_end = (uint32_t)c->item_end;
		to_orig(w, w->orig, c->item_start, c->item_end, &h->start, &h->end);
		break;
	default:
		h->norm_start = h->norm_end = 0;
		h->start = 0;
		h->end = (uint32_t)c->input_len;
		break;
	}
	return 0;
}

static int scan_one(struct scan_ctx *c, enum afgw_rule_kind kind, const char *p, size_t n)
{
	hs_database_t *db = c->w->rs->db[kind];
	if (!db || !n)
		return 0;
	c->kind = kind;
	c->input_len = n;
	hs_error_t e = hs_scan(db, p, (unsigned)n, 0, c->w->scratch, on_match, c);
	return e == HS_SUCCESS ? 0 : -EIO;
}

static void scan_items(struct scan_ctx *c, enum afgw_rule_kind kind,
		       const struct afgw_extract_item *items, unsigned n, int *rc)
{
	for (unsigned i = 0; i < n && *rc == 0; i++) {
		const struct afgw_extract_item *it = &items[i];
		const char *p = it->value;
		size_t len = it->value_len;
		if (kind == AFGW_RULE_CONTACT) {
			/* "type:id" lets a rule name the messenger, or not. */
			const char *type = (it->flags & AFGW_EXTRACT_F_WECHAT) ? "wechat:"
					   : (it->flags & AFGW_EXTRACT_F_QQ)   ? "qq:"
									       : "other:";
			size_t tl = strlen(type);
			memcpy(c->w->tmp, type, tl);
			memcpy(c->w->tmp + tl, it->value, len);
			p = c->w->tmp;
			len += tl;
		}
		c->item = i;
		c->item_start = it->start;
		c->item_end = it->end;
		*rc = scan_one(c, kind, p, len);
	}
	c->item = 0;
}

static void reset_result(struct afgw_match_result *res, const struct afgw_match_worker *w)
{
	res->serial = w->rs->serial;
	res->score = 0;
	res->positive = res->negative = 0;
	res->n_hits = res->dropped = 0;
	res->truncated = false;
	res->norm = "";
	res->norm_len = 0;
	res->ex = &w->ex;
	res->located = false;
	res->cached = false;
	res->exact = false;
}

struct find_ctx {
	unsigned id;
	bool hit;
};

static int on_find(unsigned int id, unsigned long long from, unsigned long long to,
		   unsigned int flags, void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	struct find_ctx *f = ctx;
	if (id != f->id)
		return 0;
	f->hit = true;
	return 1; /* stop the scan */
}

static bool cont_byte(const char *t, size_t i)
{
	return ((unsigned char)t[i] & 0xc0) == 0x80;
}

/*
 * The latest start s such that rule id still matches inside text[s..end),
 * by binary search over character boundaries: "matches inside
 * text[s..end)" only gets harder as s grows, and it holds at end minus
 * the regex's longest match (or 0).  About log2 of that window scans of
 * the text database, run only on request (afgw_match_evidence).  Assertions (^, \b) see the cut as the start of the text, which
 * can make the evidence of such a regex a little shorter than its match.
 */
static int find_start(struct afgw_match_worker *w, unsigned id, size_t end, size_t *start)
{
	hs_database_t *db = w->rs->db[AFGW_RULE_TEXT];
	const char *t = w->nb.text;
	uint32_t maxw = w->rs->cx[id].max_width;
	/* no match is longer than max_width: start the search there */
	size_t lo = maxw < end ? end - maxw : 0, hi = end ? end - 1 : 0;
	while (lo > 0 && cont_byte(t, lo))
		lo--;
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		while (mid > lo && cont_byte(t, mid))
			mid--;
		if (mid == lo) { /* the next boundary after lo */
			mid = lo + 1;
			while (mid <= hi && cont_byte(t, mid))
				mid++;
			if (mid > hi)
				break;
		}
		struct find_ctx f = { id, false };
		hs_error_t e = hs_scan(db, t + mid, (unsigned)(end - mid), 0, w->scratch, on_find, &f);
		if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED)
			return -EIO;
		if (f.hit)
			lo = mid;
		else
			hi = mid - 1;
	}
	*start = lo;
	return 0;
}

/*
 * Text hits mapped to the original text.  Literal hits know their start;
 * a regex hit gets start = end until afgw_match_evidence() locates it
 * (locate = true), because finding it costs scans.
 */
static int map_text_hits(struct afgw_match_worker *w, struct afgw_match_result *res, bool locate)
{
	for (unsigned i = 0; i < res->n_hits; i++) {
		struct afgw_match_hit *h = &res->hit[i];
		if (h->r->kind != AFGW_RULE_TEXT)
			continue;
		bool regex = h->r->flags & AFGW_RULE_F_REGEX;
		if (locate && !regex)
			continue;
		size_t s = h->norm_start, e = h->norm_end;
		/* byte-mode regexes may end inside a character */
		while (e < w->nb.len && cont_byte(w->nb.text, e))
			e++;
		if (regex && !locate) { /* start = end until located */
			h->norm_start = h->norm_end = (uint32_t)e;
			to_orig(w, w->orig, e ? e - 1 : 0, e, &h->start, &h->end);
			h->start = h->end;
			continue;
		}
		if (regex && find_start(w, h->rule, e, &s) < 0)
			return -EIO;
		h->norm_start = (uint32_t)s;
		h->norm_end = (uint32_t)e;
		to_orig(w, w->orig, s, e, &h->start, &h->end);
	}
	return 0;
}

int afgw_match_evidence(struct afgw_match_worker *w, struct afgw_match_result *res)
{
	if (res->located)
		return 0;
	if (w->nb_stale) { /* the raw level skipped normalization: the map is needed now */
		if (afgw_normalize(w->orig.p ? w->orig.p : "", w->orig.len, AFGW_NORM_ALL, &w->nb) < 0)
			return -ENOMEM;
		w->nb_stale = false;
		res->norm = w->nb.text;
	}
	int rc = map_text_hits(w, res, true);
	res->located = rc == 0;
	return rc;
}

static uint64_t cache_hash(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15u ^ n, v;
	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&v, p, 8);
		h = (h ^ v) * 0xff51afd7ed558ccdu;
		h ^= h >> 32;
	}
	v = 0;
	memcpy(&v, p, n);
	h = (h ^ v) * 0xc4ceb9fe1a85ec53u;
	h ^= h >> 29;
	return h | 1; /* 0 marks an empty slot */
}

/*
 * The set of CACHE_WAYS slots normalized text t maps to (its results, if
 * cache_restore() finds them there; else where cache_store() will put
 * them), or NULL when there is no cache or t is too long to keep.
 */
static struct cache_slot *cache_find(struct afgw_match_worker *w, const char *t, size_t n)
{
	if (!w->cache || n == 0 || n > CACHE_TEXT_MAX)
		return NULL; /* an empty text costs nothing to scan */
	w->cache_hash = cache_hash(t, n);
	return &w->cache[w->cache_hash & w->cache_mask & ~(size_t)(CACHE_WAYS - 1)];
}

static bool holds(const struct cache_slot *s, const struct afgw_match_worker *w)
{
	return s->hash == w->cache_hash && s->len == w->nb.len &&
	       memcmp(s->text, w->nb.text, s->len) == 0;
}

/*
 * The text side of c->res from slot: its hits, and P, N and the strongest
 * weight.  pos: where the exact-text level placed each hit, or NULL to
 * place them as a scan does (text kinds by map_text_hits() later, the
 * others through the offset map now).
 */
static void restore_hits(struct scan_ctx *c, const struct cache_slot *slot,
			 const struct raw_pos *pos)
{
	struct afgw_match_worker *w = c->w;
	struct afgw_match_result *res = c->res;
	for (uint32_t i = 0; i < slot->n_hits; i++) {
		const struct cache_hit *ch = &slot->hit[i];
		const struct afgw_rule *r = &w->rs->rules.rule[ch->rule];
		struct afgw_match_hit *h = &res->hit[res->n_hits++];
		w->seen[ch->rule] = w->epoch;
		h->rule = ch->rule;
		h->r = r;
		h->item = ch->item;
		if (pos) {
			h->norm_start = pos[i].norm_start;
			h->norm_end = pos[i].norm_end;
			h->start = pos[i].start;
			h->end = pos[i].end;
			continue;
		}
		h->norm_start = ch->norm_start;
		h->norm_end = ch->norm_end;
		h->start = h->end = 0; /* text kinds: map_text_hits() */
		if (r->kind != AFGW_RULE_TEXT)
			to_orig(w, w->orig, ch->norm_start, ch->norm_end, &h->start, &h->end);
	}
	res->positive = slot->positive;
	res->negative = slot->negative;
	c->strongest = slot->strongest;
}

/* The text side of c->res from the set, if one of its slots holds this very text. */
static struct cache_slot *cache_restore(struct scan_ctx *c, struct cache_slot *set)
{
	struct afgw_match_worker *w = c->w;
	struct cache_slot *slot = NULL;
	for (int i = 0; i < CACHE_WAYS && !slot; i++)
		if (holds(&set[i], w))
			slot = &set[i];
	if (!slot)
		return NULL;
	slot->used = ++w->cache_clock;
	restore_hits(c, slot, NULL);
	return slot;
}

/*
 * The exact-text level (struct raw_slot): the set of CACHE_WAYS raw slots text
 * t maps to, or NULL when there is no cache or t is not kept there.
 */
static struct raw_slot *raw_find(struct afgw_match_worker *w, struct afgw_str t, uint64_t *hash)
{
	if (!w->raw || t.len == 0 || t.len > CACHE_TEXT_MAX)
		return NULL;
	*hash = cache_hash(t.p, t.len);
	return &w->raw[*hash & w->cache_mask & ~(size_t)(CACHE_WAYS - 1)];
}

/*
 * The text side of c->res from the raw set, if one of its slots holds
 * this very text and the normalized slot it leads to still holds what it
 * held: hits as cache_restore() gives them, already placed as
 * map_text_hits() places them.
 */
static bool raw_restore(struct scan_ctx *c, struct raw_slot *set, uint64_t hash,
			struct afgw_str t)
{
	struct afgw_match_worker *w = c->w;
	struct afgw_match_result *res = c->res;
	struct raw_slot *rs = NULL;
	for (int i = 0; i < CACHE_WAYS && !rs; i++)
		if (set[i].hash == hash && set[i].len == t.len && memcmp(set[i].text, t.p, t.len) == 0)
			rs = &set[i];
	if (!rs)
		return false;
	struct cache_slot *slot = &w->cache[rs->slot];
	if (slot->stamp != rs->stamp)
		return false; /* the normalized text's slot was refilled */
	rs->used = slot->used = ++w->cache_clock;
	restore_hits(c, slot, rs->pos);
	res->norm = slot->text;
	res->norm_len = slot->len;
	return true;
}

/* Keep text's way to its normalized slot, and its hits' places (the first n_text hits). */
static void raw_store(struct afgw_match_worker *w, struct raw_slot *set, uint64_t hash,
		      struct afgw_str t, const struct cache_slot *slot,
		      const struct afgw_match_result *res)
{
	struct raw_slot *rs = &set[0];
	for (int i = 1; i < CACHE_WAYS; i++)
		if (set[i].used < rs->used)
			rs = &set[i];
	for (uint32_t i = 0; i < slot->n_hits; i++) {
		const struct afgw_match_hit *h = &res->hit[i];
		rs->pos[i] = (struct raw_pos){ h->norm_start, h->norm_end, h->start, h->end };
	}
	rs->hash = hash;
	rs->len = (uint32_t)t.len;
	memcpy(rs->text, t.p, t.len);
	rs->slot = (uint32_t)(slot - w->cache);
	rs->stamp = slot->stamp;
	rs->used = ++w->cache_clock;
}

/*
 * Keep the text side of c->res (all of it so far) in the set's empty or
 * least recently used slot, if it fits whole.
 */
static struct cache_slot *cache_store(struct scan_ctx *c, struct cache_slot *set)
{
	struct afgw_match_worker *w = c->w;
	const struct afgw_match_result *res = c->res;
	if (res->dropped || res->n_hits > CACHE_HITS_MAX)
		return NULL; /* the set keeps what it had */
	struct cache_slot *slot = &set[0];
	for (int i = 1; i < CACHE_WAYS; i++)
		if (set[i].used < slot->used)
			slot = &set[i];
	for (unsigned i = 0; i < res->n_hits; i++) {
		const struct afgw_match_hit *h = &res->hit[i];
		slot->hit[i] = (struct cache_hit){ h->rule, h->item, h->norm_start, h->norm_end };
	}
	slot->n_hits = res->n_hits;
	slot->positive = res->positive;
	slot->negative = res->negative;
	slot->strongest = c->strongest;
	slot->len = (uint32_t)w->nb.len;
	memcpy(slot->text, w->nb.text, w->nb.len);
	slot->text[w->nb.len] = '\0';
	slot->hash = w->cache_hash;
	slot->used = ++w->cache_clock;
	slot->stamp = ++w->cache_stamp;
	return slot;
}

int afgw_match_scan(struct afgw_match_worker *w, const struct afgw_match_msg *m,
		    struct afgw_match_result *res)
{
	reset_result(res, w);
	if (++w->epoch == 0) {
		memset(w->seen, 0, w->n_seen * sizeof(*w->seen));
		w->epoch = 1;
	}
	struct afgw_str text = m->text;
	if (!text.p)
		text.len = 0;
	if (text.len > AFGW_MATCH_TEXT_MAX) {
		/* Cut before the character the limit splits (its lead byte is at
		 * most 3 bytes back); stray continuation bytes are the normalizer's
		 * to replace, not a reason to cut further back. */
		size_t n = AFGW_MATCH_TEXT_MAX;
		if (((unsigned char)text.p[n] & 0xc0) == 0x80) {
			for (size_t j = 1; j <= 3; j++) {
				unsigned char c = (unsigned char)text.p[n - j];
				if ((c & 0xc0) != 0x80) {
					size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
					if (c >= 0xc0 && len > j)
						n -= j; /* its last bytes lie past the limit */
					break;
				}
			}
		}
		text.len = n;
		res->truncated = true;
	}
	w->ex.n_urls = w->ex.n_contacts = w->ex.n_numbers = w->ex.dropped = 0;
	w->orig = text;
	struct scan_ctx c = { .w = w, .res = res };
	int rc = 0;

	uint64_t raw_hash = 0;
	struct raw_slot *raw = res->truncated ? NULL : raw_find(w, text, &raw_hash);
	bool exact = raw && raw_restore(&c, raw, raw_hash, text);
	struct cache_slot *held = NULL; /* the normalized slot that holds this text */
	if (exact) {
		res->cached = res->exact = true;
		w->nb_stale = true;
	} else {
		w->nb_stale = false;
		if (afgw_normalize(text.p ? text.p : "", text.len, AFGW_NORM_ALL, &w->nb) < 0)
			return -ENOMEM;
		res->norm = w->nb.text;
		res->norm_len = w->nb.len;
		struct cache_slot *slot = cache_find(w, w->nb.text, w->nb.len);
		if (slot && (held = cache_restore(&c, slot)) != NULL) {
			res->cached = true;
		} else {
			afgw_extract_all(w->nb.text, w->nb.len, w->cc, &w->ex);
			rc = scan_one(&c, AFGW_RULE_TEXT, w->nb.text, w->nb.len);
			if (rc == 0)
				scan_items(&c, AFGW_RULE_URL, w->ex.urls, w->ex.n_urls, &rc);
			if (rc == 0)
				scan_items(&c, AFGW_RULE_CONTACT, w->ex.contacts, w->ex.n_contacts, &rc);
			if (rc == 0)
				scan_items(&c, AFGW_RULE_NUMBER, w->ex.numbers, w->ex.n_numbers, &rc);
			if (rc == 0 && slot)
				held = cache_store(&c, slot);
		}
	}
	unsigned n_text = res->n_hits;
	if (rc == 0 && m->caller.p)
		rc = scan_one(&c, AFGW_RULE_CALLER, m->caller.p, m->caller.len);
	if (rc == 0 && m->callee.p)
		rc = scan_one(&c, AFGW_RULE_CALLEE, m->callee.p, m->callee.len);
	if (rc == 0 && m->sender.p)
		rc = scan_one(&c, AFGW_RULE_SENDER, m->sender.p, m->sender.len);
	if (rc == 0 && !exact) /* the raw level's hits are placed already; numbers need no map */
		rc = map_text_hits(w, res, false);
	if (rc < 0) {
		reset_result(res, w);
		return rc;
	}
	if (raw && held && n_text == held->n_hits)
		raw_store(w, raw, raw_hash, text, held, res);
	res->score = afgw_match_score(res->positive, res->negative, c.strongest);
	return 0;
}

static int count_match(unsigned int id, unsigned long long from, unsigned long long to,
		       unsigned int flags, void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	struct afgw_match_worker *w = ctx;
	if (w->seen[id] != w->epoch) {
		w->seen[id] = w->epoch;
		w->raw_hits++;
	}
	return 0;
}

int afgw_match_scan_normalized(struct afgw_match_worker *w, const char *norm, size_t len)
{
	hs_database_t *db = w->rs->db[AFGW_RULE_TEXT];
	if (!db || !len)
		return 0;
	if (++w->epoch == 0) {
		memset(w->seen, 0, w->n_seen * sizeof(*w->seen));
		w->epoch = 1;
	}
	w->raw_hits = 0;
	if (hs_scan(db, norm, (unsigned)len, 0, w->scratch, count_match, w) != HS_SUCCESS)
		return -EIO;
	return (int)w->raw_hits;
}

/* ---- lint -------------------------------------------------------------- */

static bool rule_hit(const struct afgw_match_worker *w, size_t i)
{
	return w->seen[i] == w->epoch;
}

/*
 * Characters in a regex that normalized text never holds (upper case
 * under `case`, full-width forms, traditional characters, ...): each code
 * point outside escapes is normalized alone and compared.
 */
static int lint_regex_chars(const struct afgw_ruleset *rs, const struct afgw_rule *r,
			    struct afgw_norm_buf *nb, struct afgw_rules_diag *d)
{
	const char *p = r->pattern;
	size_t n = strlen(p);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)p[i];
		size_t cl = utf8_len(c);
		if (c == '\\') {
			i += 1 + (i + 1 < n ? utf8_len((unsigned char)p[i + 1]) : 0);
			continue;
		}
		if (i + cl > n)
			break;
		bool check = c >= 0x80 || ((c >= 'A' && c <= 'Z') && !(r->flags & AFGW_RULE_F_NOCASE));
		if (check) {
			if (afgw_normalize(p + i, cl, AFGW_NORM_ALL, nb) < 0)
				return -ENOMEM;
			if (nb->len && (nb->len != cl || memcmp(nb->text, p + i, cl))) {
				afgw_rules_diag_add(d, AFGW_DIAG_WARNING,
						    rs->rules.files[r->file], r->pattern_line,
						    "rule '%s': regex has '%.*s', which normalized text never contains (write '%s')",
						    r->id, (int)cl, p + i, nb->text);
				return 1;
			}
		}
		i += cl;
	}
	return 0;
}

int afgw_ruleset_lint(const struct afgw_ruleset *rs, unsigned country_code,
		      struct afgw_rules_diag *d)
{
	struct afgw_match_worker *w = NULL;
	struct afgw_match_result *res = malloc(sizeof(*res));
	struct afgw_norm_buf nb;
	afgw_norm_buf_init(&nb);
	int warnings = 0, rc;
	if (!res || (rc = afgw_match_worker_new(rs, country_code, &w)) < 0) {
		warnings = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < rs->rules.n; i++) {
		const struct afgw_rule *r = &rs->rules.rule[i];
		const char *file = rs->rules.files[r->file];
		if (!r->n_match || !r->n_nomatch) {
			afgw_rules_diag_add(d, AFGW_DIAG_WARNING, file, r->line,
					    "rule '%s': no %s examples", r->id,
					    !r->n_match ? "match" : "nomatch");
			warnings++;
		}
		if ((r->flags & AFGW_RULE_F_REGEX) && normalized_kind(r->kind)) {
			rc = lint_regex_chars(rs, r, &nb, d);
			if (rc < 0) {
				warnings = rc;
				goto out;
			}
			warnings += rc;
		}
		if (!rs->cx[i].expr)
			continue;
		for (int want = 1; want >= 0; want--) {
			const struct afgw_rule_example *ex = want ? r->match : r->nomatch;
			unsigned nex = want ? r->n_match : r->n_nomatch;
			for (unsigned j = 0; j < nex; j++) {
				struct afgw_match_msg m;
				memset(&m, 0, sizeof(m));
				struct afgw_number num;
				struct afgw_str raw = afgw_str_make(ex[j].text, strlen(ex[j].text));
				if (normalized_kind(r->kind) || r->kind == AFGW_RULE_NUMBER) {
					m.text = raw;
				} else {
					afgw_number_canon(raw, AFGW_TON_NONE, country_code, &num);
					struct afgw_str s = afgw_str_make(num.canon, num.len);
					if (r->kind == AFGW_RULE_CALLER)
						m.caller = s;
					else if (r->kind == AFGW_RULE_CALLEE)
						m.callee = s;
					else
						m.sender = s;
				}
				rc = afgw_match_scan(w, &m, res);
				if (rc < 0) {
					warnings = rc;
					goto out;
				}
				if (rule_hit(w, i) != (bool)want) {
					afgw_rules_diag_add(d, AFGW_DIAG_WARNING, file, ex[j].line,
							    "rule '%s': %s example %s", r->id,
							    want ? "match" : "nomatch",
							    want ? "does not match" : "matches");
					warnings++;
				}
			}
		}
	}
out:
	afgw_norm_buf_fini(&nb);
	afgw_match_worker_free(w);
	free(res);
	return warnings;
}
