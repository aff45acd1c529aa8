/*
 * match.h - compiled rule sets and the scan of one message, gateway/match.c.
 *
 * The control thread turns a loaded struct afgw_rules (rules.h) into an
 * immutable struct afgw_ruleset: rule literals normalized exactly as
 * traffic is (normalize.h), one Hyperscan block-mode database per rule
 * kind, and a scratch prototype.  Workers each own a struct
 * afgw_match_worker (scratch cloned from the prototype, normalization
 * buffer, extraction results, a per-rule "already hit" stamp), bound to
 * one ruleset; afgw_match_scan() then normalizes a message, extracts its
 * URLs / contacts / numbers, scans every kind and returns the hits with
 * their evidence in the original text and the combined score, without
 * allocating.
 *
 * Ownership: a ruleset belongs to whoever made it; nothing here keeps a
 * global.  A later stage publishes it by pointer swap and frees it with
 * afgw_ruleset_free() once no worker is bound to it any more; a worker
 * moves to a new ruleset with afgw_match_worker_bind() between messages.
 *
 * Scoring (rules/README.md "How weights combine"): P = sum of the positive
 * weights of the rules that hit (each rule counts once), N = sum of the
 * magnitudes of the negative ones, M = the largest positive weight;
 * score = clamp(max(min(P, 100) - min(N, 80), M - 30), 0, 100).  Negative
 * "genuine context" rules can take at most 80 points off, and never more
 * than 30 below the strongest single hit: a hit of weight 80 or more keeps
 * a message at the warn threshold (50) whatever else it says.
 */
#ifndef AFGW_MATCH_H
#define AFGW_MATCH_H

#include "afgw/common.h"
#include "afgw/extract.h"
#include "afgw/rules.h"

#define AFGW_MATCH_WARN 50             /* default warn threshold of the score */
#define AFGW_MATCH_BLOCK 80            /* default block threshold */
#define AFGW_MATCH_NEG_CAP 80          /* most that negative rules can subtract */
#define AFGW_MATCH_STRONG_MARGIN 30    /* floor: strongest positive hit minus this */
#define AFGW_MATCH_HITS_MAX 64         /* hits listed per message (all are scored) */
#define AFGW_MATCH_TEXT_MAX 65536      /* bytes of message text scanned */
#define AFGW_MATCH_CACHE_MAX 1048576   /* texts a worker's cache can keep */
#define AFGW_MATCH_CACHE_WAYS 4        /* slots a text may be kept in: a set's size */
#define AFGW_MATCH_CACHE_TEXT_MAX 1024 /* longest text kept (a 5-part Chinese SMS: 5 x 67 chars, 1005) */
#define AFGW_MATCH_CACHE_HITS_MAX 24   /* most text-side hits of a text kept */

struct afgw_ruleset;
struct afgw_match_worker;

/*
 * Compile rules into a ruleset with the given serial.  On success the
 * ruleset takes over the contents of *rules (left empty, still to be
 * fini'd by the caller) and *out is set.  Literals are normalized with
 * AFGW_NORM_ALL; a literal that normalizes to nothing is disabled with a
 * warning.  A regex Hyperscan refuses is an error reported in d as
 * "file:line: rule 'id': <Hyperscan's message>".  Returns 0, -EINVAL (see
 * d; *rules is untouched) or -ENOMEM.  Control thread; may take seconds
 * for very large sets.
 */
int afgw_ruleset_new(struct afgw_rules *rules, uint64_t serial, struct afgw_rules_diag *d,
		     struct afgw_ruleset **out);
void afgw_ruleset_free(struct afgw_ruleset *rs);

/* Limits on the process that compiles a ruleset from untrusted-size input. */
struct afgw_compile_limits {
	size_t mem_bytes;              /* its address space (RLIMIT_AS); 0: none (and none
	                                  under AddressSanitizer, which cannot run with one) */
	unsigned cpu_s;                /* its CPU time (RLIMIT_CPU); 0: none */
	unsigned wall_ms;              /* the parent stops waiting and kills it; 0: none */
};

/*
 * afgw_ruleset_new, with Hyperscan's compile in a forked child process
 * under the limits: a pathological rule set costs the child, never the
 * gateway.  The child returns the serialized databases; the parent
 * deserializes them.  A child that dies or overruns is one error in d
 * ("rule compiler: killed by signal 24 ...").  Same returns and ownership
 * as afgw_ruleset_new.  Control thread (fork from a threaded process: the
 * child only compiles and _exits).
 */
int afgw_ruleset_new_isolated(struct afgw_rules *rules, uint64_t serial,
			      const struct afgw_compile_limits *lim, struct afgw_rules_diag *d,
			      struct afgw_ruleset **out);

uint64_t afgw_ruleset_serial(const struct afgw_ruleset *rs);
size_t afgw_ruleset_count(const struct afgw_ruleset *rs);
const struct afgw_rule *afgw_ruleset_rule(const struct afgw_ruleset *rs, size_t i);
const char *afgw_ruleset_file(const struct afgw_ruleset *rs, unsigned file);
unsigned afgw_ruleset_files(const struct afgw_ruleset *rs);
double afgw_ruleset_compile_ms(const struct afgw_ruleset *rs);

/* What rule i was compiled into (for tools and the PCRE2 benchmark). */
struct afgw_match_expr {
	const char *expr;              /* Hyperscan expression; NULL if the rule is disabled */
	bool caseless, dotall, utf8, ucp;
};
void afgw_ruleset_expr(const struct afgw_ruleset *rs, size_t i, struct afgw_match_expr *out);

/*
 * Lint: run every rule's own examples through a scan (caller / callee /
 * sender examples are numbers, canonicalised with country_code; every
 * other kind's examples are messages) and warn in d, with the example's
 * file:line, when a `match` example does not hit its rule or a `nomatch`
 * example does; also warn about rules without examples and regexes that
 * contain characters normalization would change.  Returns the number of
 * warnings added, or -ENOMEM.
 */
int afgw_ruleset_lint(const struct afgw_ruleset *rs, unsigned country_code,
		      struct afgw_rules_diag *d);

/* One message as the pipeline sees it. */
struct afgw_match_msg {
	struct afgw_str text;          /* SMS / SIP MESSAGE text, UTF-8 (may be empty) */
	struct afgw_str caller;        /* canonical numbers (number.h); empty if unknown */
	struct afgw_str callee;
	struct afgw_str sender;
};

struct afgw_match_hit {
	uint32_t rule;                 /* index: afgw_ruleset_rule(rs, rule) */
	const struct afgw_rule *r;     /* id, kind, category, weight, descriptions */
	uint32_t item;                 /* url / contact / number index in the extraction */
	uint32_t norm_start, norm_end; /* span in the normalized text (not for caller/callee/sender) */
	uint32_t start, end;           /* evidence in the original text, or in the number;
	                                  a text regex hit has start == end (its end) until
	                                  afgw_match_evidence() */
};

struct afgw_match_result {
	uint64_t serial;               /* of the ruleset that scanned */
	int score;                     /* 0..100, see above */
	int positive, negative;        /* P and N before capping */
	unsigned n_hits, dropped;      /* hits listed; hits beyond AFGW_MATCH_HITS_MAX */
	bool truncated;                /* text longer than AFGW_MATCH_TEXT_MAX */
	bool located;                  /* regex evidence located (afgw_match_evidence) */
	bool cached;                   /* text side from the worker's cache: ex is empty */
	bool exact;                    /* ... found by the original text: not even normalized */
	struct afgw_match_hit hit[AFGW_MATCH_HITS_MAX];
	/* Borrowed from the worker, valid until its next scan: */
	const char *norm;              /* normalized text, NUL-terminated */
	size_t norm_len;
	const struct afgw_extract *ex; /* URLs, contacts, numbers found */
};

/*
 * A worker bound to rs; country_code is for phone numbers in text.
 * Allocates (start-up or reload, never per message).  Returns 0 or
 * -ENOMEM.
 */
int afgw_match_worker_new(const struct afgw_ruleset *rs, unsigned country_code,
			  struct afgw_match_worker **out);
/*
 * Keep the text side of the results of up to `entries` distinct texts
 * (rounded up to a power of two, at least AFGW_MATCH_CACHE_WAYS; about
 * 3 KB each; 0: no cache; AFGW_MATCH_CACHE_WAYS-way set-associative,
 * least recently used replaced).
 * The hits of the text, url, contact and number kinds depend on the
 * normalized text alone: a text normalized to the same bytes as one in
 * the cache (a campaign sent to many, evaded or not) skips extraction
 * and those scans, and its result is the one a full scan gives, except
 * that res->ex is empty (res->cached).  A text whose original bytes were
 * seen too skips normalization as well (res->exact; evidence then
 * normalizes it on demand).  Texts over AFGW_MATCH_CACHE_TEXT_MAX bytes
 * (original or normalized) or with more than AFGW_MATCH_CACHE_HITS_MAX
 * such hits are not kept.  Emptied by a rebind.
 * Returns 0, -EINVAL (over AFGW_MATCH_CACHE_MAX) or -ENOMEM.
 */
int afgw_match_worker_cache(struct afgw_match_worker *w, size_t entries);
/* Rebind to another ruleset (after a reload); on failure still bound to the old one. */
int afgw_match_worker_bind(struct afgw_match_worker *w, const struct afgw_ruleset *rs);
void afgw_match_worker_free(struct afgw_match_worker *w);

/*
 * Scan one message with the worker's ruleset: normalize, extract, scan
 * every kind, score.  Fills *res (hits in the order found).  Returns 0,
 * -ENOMEM (the normalization buffer could not grow) or -EIO (Hyperscan
 * failed); res is then empty with score 0.  Worker thread; no allocation
 * once the buffers have reached the size of the longest message.
 */
int afgw_match_scan(struct afgw_match_worker *w, const struct afgw_match_msg *m,
		    struct afgw_match_result *res);

/*
 * Locate the start of every listed text regex hit of res, the last result
 * of this worker (before its next scan): the shortest match ending where
 * Hyperscan reported it, mapped to the original text.  Costs about log2 of
 * the match window in scans per hit, so the pipeline asks only for the
 * messages it reports (tools always do).  Returns 0 or -EIO.
 */
int afgw_match_evidence(struct afgw_match_worker *w, struct afgw_match_result *res);

/*
 * The bare Hyperscan scan of already-normalized text against the text
 * database, counting the rules that hit: the upper limit of the scan
 * stage, for the benchmark.  Returns the count, or -EIO.
 */
int afgw_match_scan_normalized(struct afgw_match_worker *w, const char *norm, size_t len);

/* The combining rule on its own (pure): P, N and M as above. */
int afgw_match_score(int positive, int negative, int strongest);

#endif
