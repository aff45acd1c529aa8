/*
 * rules.c - the rule-file loader: YAML in, struct afgw_rules out.
 *
 * Rule files are written by people (police analysts) and arrive inside
 * signed bundles, so the loader is strict and talkative: every field is
 * known, typed and bounded, and every problem is reported as
 * "file:line: message" so the author can fix them all in one go.  It reads
 * libyaml's event stream (not the document API) so that each event carries
 * its line and nothing is built that we do not keep; anchors and aliases
 * are refused, which also rules out "billion laughs" expansion.
 *
 * What it checks: the file layout (a mapping with `version: 1` and
 * `rules:`), per rule the fields id, kind, pattern, flags, weight,
 * category, desc_zh, desc_en, match, nomatch (unknown, duplicate, missing,
 * empty, too long, wrong type), id and category syntax, kind and flag
 * names, weight range, flags that need `regex`, bounded repeats in
 * regexes, and ids unique across the whole set.  What it does not check:
 * whether a regex compiles, or whether the examples match: that is the
 * compiler's job (match.c) and it reports into the same diagnostics.
 *
 * Thread: the control thread or a tool; allocates freely, never on the
 * packet path.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "afgw_config.h"
#include "afgw/rules.h"

/* ---- diagnostics ------------------------------------------------------- */

void afgw_rules_diag_init(struct afgw_rules_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void afgw_rules_diag_fini(struct afgw_rules_diag *d)
{
	for (unsigned i = 0; i < d->n; i++)
		free(d->msg[i].text);
	free(d->msg);
	memset(d, 0, sizeof(*d));
}

void afgw_rules_diag_add(struct afgw_rules_diag *d, enum afgw_diag_level level, const char *file,
			 unsigned line, const char *fmt, ...)
{
	if (level == AFGW_DIAG_ERROR)
		d->errors++;
	else
		d->warnings++;
	if (d->n >= AFGW_RULES_DIAG_MAX)
		return;
	if (d->n == d->cap) {
		unsigned cap = d->cap ? d->cap * 2 : 16;
		struct afgw_diag_msg *m = realloc(d->msg, cap * sizeof(*m));
		if (!m)
			return; /* the count above still says something went wrong */
		d->msg = m;
		d->cap = cap;
	}
	char head[620], body[1024];
	const char *lv = level == AFGW_DIAG_WARNING ? "warning: " : "";
	if (!file && !line) /* a message already "file:line: ..." (match.c's compiler child) */
		head[0] = '\0';
	else if (line)
		snprintf(head, sizeof(head), "%s:%u: %s", file ? file : "-", line, lv);
	else
		snprintf(head, sizeof(head), "%s: %s", file ? file : "-", lv);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	size_t hl = strlen(head), bl = strlen(body);
	char *t = malloc(hl + bl + 1);
	if (!t)
		return;
	memcpy(t, head, hl);
	memcpy(t + hl, body, bl + 1);
	d->msg[d->n].level = level;
	d->msg[d->n].text = t;
	d->n++;
}

/* ---- the rule set ------------------------------------------------------ */

void afgw_rules_init(struct afgw_rules *rs)
{
	memset(rs, 0, sizeof(*rs));
}

static void free_examples(struct afgw_rule_example *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(e[i].text);
	free(e);
}

static void rule_free(struct afgw_rule *r)
{
	free(r->id);
	free(r->pattern);
	free(r->category);
	free(r->desc_zh);
	free(r->desc_en);
	free_examples(r->match, r->n_match);
	free_examples(r->nomatch, r->n_nomatch);
	memset(r, 0, sizeof(*r));
}

void afgw_rules_fini(struct afgw_rules *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		rule_free(&rs->rule[i]);
	free(rs->rule);
	for (unsigned i = 0; i < rs->n_files; i++)
		free(rs->files[i]);
	free(rs->files);
	free(rs->ids);
	memset(rs, 0, sizeof(*rs));
}

static const char *const kind_names[AFGW_RULE_KINDS] = {
	[AFGW_RULE_TEXT] = "text",     [AFGW_RULE_URL] = "url",
	[AFGW_RULE_CONTACT] = "contact", [AFGW_RULE_NUMBER] = "number",
	[AFGW_RULE_CALLER] = "caller", [AFGW_RULE_CALLEE] = "callee",
	[AFGW_RULE_SENDER] = "sender",
};

const char *afgw_rule_kind_name(enum afgw_rule_kind k)
{
	return (unsigned)k < AFGW_RULE_KINDS ? kind_names[k] : "?";
}

/* FNV-1a: ids are short and few; this only has to spread them. */
static uint32_t hash_id(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

long afgw_rules_find(const struct afgw_rules *rs, const char *id)
{
	if (!rs->ids_cap)
		return -1;
	size_t mask = rs->ids_cap - 1;
	for (size_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
		uint32_t v = rs->ids[i];
		if (!v)
			return -1;
		if (!strcmp(rs->rule[v - 1].id, id))
			return (long)(v - 1);
	}
}

/* Keep the id index at most half full; rebuilt from scratch when it grows. */
static int index_rule(struct afgw_rules *rs, size_t idx)
{
	if ((rs->n + 1) * 2 > rs->ids_cap) {
		size_t cap = rs->ids_cap ? rs->ids_cap * 2 : 64;
		uint32_t *t = calloc(cap, sizeof(*t));
		if (!t)
			return -ENOMEM;
		free(rs->ids);
		rs->ids = t;
		rs->ids_cap = cap;
		for (size_t i = 0; i < rs->n; i++)
			if (i != idx)
				index_rule(rs, i);
	}
	size_t mask = rs->ids_cap - 1;
	size_t i = hash_id(rs->rule[idx].id) & mask;
	while (rs->ids[i])
		i = (i + 1) & mask;
	rs->ids[i] = (uint32_t)idx + 1;
	return 0;
}

/* ---- the YAML reader --------------------------------------------------- */

struct ld {
	yaml_parser_t y;
	yaml_event_t ev;
	bool have;                 /* ev holds an event to delete */
	bool broken;               /* syntax or structure error: stop this file */
	bool nomem;
	struct afgw_rules *rs;
	struct afgw_rules_diag *d;
	const char *name;
	unsigned file;
	unsigned errors;
};

#define LINE(l) ((unsigned)(l)->ev.start_mark.line + 1)

static void err(struct ld *l, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void err(struct ld *l, unsigned line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	afgw_rules_diag_add(l->d, AFGW_DIAG_ERROR, l->name, line, "%s", msg);
	l->errors++;
}

/* Advance to the next event; false once the file cannot be read further. */
static bool next(struct ld *l)
{
	if (l->have) {
		yaml_event_delete(&l->ev);
		l->have = false;
	}
	if (l->broken)
		return false;
	if (!yaml_parser_parse(&l->y, &l->ev)) {
		if (l->y.error == YAML_MEMORY_ERROR) {
			l->nomem = true;
		} else {
			unsigned line = (unsigned)l->y.problem_mark.line + 1;
			err(l, line, "YAML syntax: %s%s%s", l->y.problem ? l->y.problem : "error",
			    l->y.context ? " " : "", l->y.context ? l->y.context : "");
		}
		l->broken = true;
		return false;
	}
	l->have = true;
	const yaml_char_t *anchor = NULL;
	switch (l->ev.type) {
	case YAML_ALIAS_EVENT:
		err(l, LINE(l), "YAML aliases (*name) are not supported in rule files");
		l->broken = true;
		return false;
	case YAML_SCALAR_EVENT:
		anchor = l->ev.data.scalar.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = l->ev.data.sequence_start.anchor;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = l->ev.data.mapping_start.anchor;
		break;
	default:
		break;
	}
	if (anchor) {
		err(l, LINE(l), "YAML anchors (&name) are not supported in rule files");
		l->broken = true;
		return false;
	}
	return true;
}

/* Skip the node whose first event is current. */
static bool skip(struct ld *l)
{
	int depth = 0;
	do {
		switch (l->ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (depth == 0)
			return true;
	} while (next(l));
	return false;
}

static const char *node_name(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return "a single value";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	default:
		return "nothing";
	}
}

static bool is_null_scalar(const yaml_event_t *ev)
{
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)ev->data.scalar.value;
	return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

/*
 * The current event must be a non-empty scalar of at most max bytes with
 * no NUL in it; returns a copy, or NULL after reporting (the node is
 * skipped either way).
 */
static char *take_string(struct ld *l, const char *field, size_t max)
{
	unsigned line = LINE(l);
	if (l->ev.type != YAML_SCALAR_EVENT) {
		err(l, line, "%s: expected text, found %s", field, node_name(&l->ev));
		skip(l);
		return NULL;
	}
	const char *v = (const char *)l->ev.data.scalar.value;
	size_t n = l->ev.data.scalar.length;
	if (is_null_scalar(&l->ev) || n == 0) {
		err(l, line, "%s: empty value", field);
		return NULL;
	}
	if (memchr(v, '\0', n)) {
		err(l, line, "%s: contains a NUL character", field);
		return NULL;
	}
	if (n > max) {
		err(l, line, "%s: too long (%zu bytes, at most %zu)", field, n, max);
		return NULL;
	}
	char *s = malloc(n + 1);
	if (!s) {
		l->nomem = true;
		return NULL;
	}
	memcpy(s, v, n);
	s[n] = '\0';
	return s;
}

static bool name_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* A decimal integer in [-100, 100], nothing else (no 0x, no 1e2, no 40.0). */
static bool parse_weight(const char *s, int *out)
{
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return false;
	long v = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || v > 1000)
			return false;
		v = v * 10 + (*p - '0');
	}
	if (neg)
		v = -v;
	if (v < AFGW_RULE_WEIGHT_MIN || v > AFGW_RULE_WEIGHT_MAX)
		return false;
	*out = (int)v;
	return true;
}

/*
 * Bounded repeats {m}, {m,}, {m,n} in a regex: Hyperscan unrolls large
 * bounds into large automata and compiles them slowly, and no SMS rule
 * needs one above AFGW_RULE_REPEAT_MAX.  Escaped braces and braces inside
 * a character class are not repeats.  Returns the offending bound or 0.
 */
static unsigned long big_repeat(const char *p)
{
	bool in_class = false;
	for (size_t i = 0; p[i]; i++) {
		if (p[i] == '\\') {
			if (p[i + 1])
				i++;
			continue;
		}
		if (in_class) {
			if (p[i] == ']')
				in_class = false;
			continue;
		}
		if (p[i] == '[') {
			in_class = true;
			if (p[i + 1] == '^')
				i++;
			if (p[i + 1] == ']')
				i++;
			continue;
		}
		if (p[i] != '{')
			continue;
		size_t j = i + 1;
		unsigned long worst = 0, v = 0;
		bool digits = false;
		for (; p[j] >= '0' && p[j] <= '9'; j++, digits = true)
			v = v < 100000000ul ? v * 10 + (unsigned long)(p[j] - '0') : v;
		worst = v;
		if (p[j] == ',') {
			v = 0;
			for (j++; p[j] >= '0' && p[j] <= '9'; j++)
				v = v < 100000000ul ? v * 10 + (unsigned long)(p[j] - '0') : v;
			if (v > worst)
				worst = v;
		}
		if (digits && p[j] == '}' && worst > AFGW_RULE_REPEAT_MAX)
			return worst;
	}
	return 0;
}

static const struct {
	const char *name;
	unsigned flag;
} flag_names[] = {
	{ "regex", AFGW_RULE_F_REGEX }, { "nocase", AFGW_RULE_F_NOCASE },
	{ "case", 0 },                  { "dotall", AFGW_RULE_F_DOTALL },
	{ "word", AFGW_RULE_F_WORD },   { "ucp", AFGW_RULE_F_UCP },
	{ "utf8", AFGW_RULE_F_UTF8 },
};
#define FLAG_LIST "regex, nocase, case, dotall, word, ucp, utf8"

static void parse_flags(struct ld *l, struct afgw_rule *r, bool *set_case)
{
	if (l->ev.type != YAML_SEQUENCE_START_EVENT) {
		err(l, LINE(l), "flags: expected a list such as [regex, word], found %s",
		    node_name(&l->ev));
		skip(l);
		return;
	}
	while (next(l) && l->ev.type != YAML_SEQUENCE_END_EVENT) {
		if (l->ev.type != YAML_SCALAR_EVENT) {
			err(l, LINE(l), "flags: expected a flag name, found %s", node_name(&l->ev));
			skip(l);
			continue;
		}
		const char *v = (const char *)l->ev.data.scalar.value;
		size_t k;
		for (k = 0; k < AFGW_ARRAY_SIZE(flag_names); k++)
			if (!strcmp(v, flag_names[k].name))
				break;
		if (k == AFGW_ARRAY_SIZE(flag_names)) {
			err(l, LINE(l), "unknown flag '%.64s' (flags: " FLAG_LIST ")", v);
			continue;
		}
		if (!strcmp(v, "case"))
			*set_case = true;
		r->flags |= flag_names[k].flag;
	}
}

static void parse_examples(struct ld *l, const char *field, struct afgw_rule_example **out,
			   unsigned *n)
{
	if (l->ev.type != YAML_SEQUENCE_START_EVENT) {
		err(l, LINE(l), "%s: expected a list of example messages, found %s", field,
		    node_name(&l->ev));
		skip(l);
		return;
	}
	while (next(l) && l->ev.type != YAML_SEQUENCE_END_EVENT) {
		unsigned line = LINE(l);
		if (*n >= AFGW_RULE_EXAMPLES_MAX) {
			err(l, line, "%s: more than %d examples", field, AFGW_RULE_EXAMPLES_MAX);
			skip(l);
			continue;
		}
		char *t = take_string(l, field, AFGW_RULE_TEXT_MAX);
		if (!t)
			continue;
		if (*n == 0 || ((*n & (*n - 1)) == 0 && *n >= 4)) {
			/* grow at 1, 4, 8, 16, ... */
			unsigned cap = *n == 0 ? 4 : *n * 2;
			struct afgw_rule_example *e = realloc(*out, cap * sizeof(*e));
			if (!e) {
				free(t);
				l->nomem = true;
				return;
			}
			*out = e;
		}
		(*out)[*n].text = t;
		(*out)[*n].line = line;
		(*n)++;
	}
}

enum field {
	F_ID, F_KIND, F_PATTERN, F_FLAGS, F_WEIGHT, F_CATEGORY, F_DESC_ZH, F_DESC_EN, F_MATCH,
	F_NOMATCH, F_COUNT
};
static const char *const field_names[F_COUNT] = {
	"id", "kind", "pattern", "flags", "weight", "category", "desc_zh", "desc_en", "match", "nomatch",
};
#define FIELD_LIST "id, kind, pattern, flags, weight, category, desc_zh, desc_en, match, nomatch"

/* Checks that need the whole rule; returns false after reporting. */
static bool rule_checks(struct ld *l, struct afgw_rule *r, const bool *seen, unsigned line)
{
	bool ok = true;
	static const enum field required[] = { F_ID, F_KIND, F_PATTERN, F_WEIGHT, F_CATEGORY,
					       F_DESC_ZH, F_DESC_EN };
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(required); i++) {
		if (!seen[required[i]]) {
			err(l, line, "rule%s%s%s: missing field '%s'", r->id ? " '" : "",
			    r->id ? r->id : "", r->id ? "'" : "", field_names[required[i]]);
			ok = false;
		}
	}
	if (!r->id || !r->pattern || !r->category || !r->desc_zh || !r->desc_en)
		return false; /* present but bad: already reported */
	if (!(r->flags & AFGW_RULE_F_REGEX) &&
	    (r->flags & (AFGW_RULE_F_DOTALL | AFGW_RULE_F_UCP | AFGW_RULE_F_UTF8))) {
		err(l, r->pattern_line, "rule '%s': flags dotall, ucp and utf8 need 'regex'", r->id);
		ok = false;
	}
	if ((r->flags & (AFGW_RULE_F_UCP | AFGW_RULE_F_UTF8)) && r->kind != AFGW_RULE_TEXT) {
		err(l, r->pattern_line, "rule '%s': flags ucp and utf8 are only for text rules", r->id);
		ok = false;
	}
	if ((r->flags & AFGW_RULE_F_REGEX)) {
		unsigned long b = big_repeat(r->pattern);
		if (b) {
			err(l, r->pattern_line, "rule '%s': repeat bound %lu is too large (at most %d)",
			    r->id, b, AFGW_RULE_REPEAT_MAX);
			ok = false;
		}
	}
	return ok;
}

struct pending {
	struct afgw_rule r;
	bool seen[F_COUNT];
	bool set_case, bad;
	unsigned errors0;
};

/* Read the fields of one rule: the current event is its MAPPING-START. */
static void parse_rule(struct ld *l, struct pending *p)
{
	struct afgw_rule *r = &p->r;
	memset(p, 0, sizeof(*p));
	r->flags = AFGW_RULE_F_NOCASE;
	r->file = l->file;
	r->line = LINE(l);
	p->errors0 = l->errors;

	while (next(l) && l->ev.type != YAML_MAPPING_END_EVENT) {
		if (l->ev.type != YAML_SCALAR_EVENT) {
			err(l, LINE(l), "expected a field name, found %s", node_name(&l->ev));
			l->broken = true;
			break;
		}
		const char *key = (const char *)l->ev.data.scalar.value;
		unsigned kline = LINE(l);
		int f;
		for (f = 0; f < F_COUNT; f++)
			if (!strcmp(key, field_names[f]))
				break;
		if (f == F_COUNT) {
			err(l, kline, "unknown field '%.64s' (fields: " FIELD_LIST ")", key);
		} else if (p->seen[f]) {
			err(l, kline, "field '%s' given twice", field_names[f]);
			f = F_COUNT;
		}
		if (!next(l))
			break;
		if (f == F_COUNT) {
			skip(l);
			continue;
		}
		p->seen[f] = true;
		unsigned vline = LINE(l);
		char *s;
		switch ((enum field)f) {
		case F_ID:
			r->id = take_string(l, "id", AFGW_RULE_ID_MAX);
			if (r->id && !name_ok(r->id)) {
				err(l, vline, "id '%s': use only letters, digits, '.', '_' and '-'",
				    r->id);
				p->bad = true;
			}
			break;
		case F_CATEGORY:
			r->category = take_string(l, "category", AFGW_RULE_ID_MAX);
			if (r->category && !name_ok(r->category)) {
				err(l, vline,
				    "category '%s': use only letters, digits, '.', '_' and '-'",
				    r->category);
				p->bad = true;
			}
			break;
		case F_KIND:
			s = take_string(l, "kind", 32);
			if (s) {
				unsigned k;
				for (k = 0; k < AFGW_RULE_KINDS; k++)
					if (!strcmp(s, kind_names[k]))
						break;
				if (k == AFGW_RULE_KINDS)
					err(l, vline,
					    "unknown kind '%s' (kinds: text, url, contact, number, caller, callee, sender)",
					    s);
				else
					r->kind = (enum afgw_rule_kind)k;
				free(s);
			}
			break;
		case F_PATTERN:
			r->pattern_line = vline;
			r->pattern = take_string(l, "pattern", AFGW_RULE_PATTERN_MAX);
			break;
		case F_FLAGS:
			parse_flags(l, r, &p->set_case);
			break;
		case F_WEIGHT:
			s = take_string(l, "weight", 32);
			if (s && !parse_weight(s, &r->weight))
				err(l, vline, "weight '%s': expected a whole number from %d to %d", s,
				    AFGW_RULE_WEIGHT_MIN, AFGW_RULE_WEIGHT_MAX);
			free(s);
			break;
		case F_DESC_ZH:
			r->desc_zh = take_string(l, "desc_zh", AFGW_RULE_TEXT_MAX);
			break;
		case F_DESC_EN:
			r->desc_en = take_string(l, "desc_en", AFGW_RULE_TEXT_MAX);
			break;
		case F_MATCH:
			parse_examples(l, "match", &r->match, &r->n_match);
			break;
		case F_NOMATCH:
			parse_examples(l, "nomatch", &r->nomatch, &r->n_nomatch);
			break;
		case F_COUNT:
			break;
		}
		if (l->nomem)
			break;
	}
}

/*
 * Check a rule whose fields are all read and add it to the set.  Called
 * only once the event after the rule has been read: when that is a syntax
 * error (a mis-indented field ends the mapping early), "missing field"
 * reports would only hide the real problem.
 */
static void finish_rule(struct ld *l, struct pending *p)
{
	struct afgw_rule r = p->r;
	if (p->set_case)
		r.flags &= ~(unsigned)AFGW_RULE_F_NOCASE;
	bool clean = !p->bad && l->errors == p->errors0;
	if (l->nomem || l->broken || !rule_checks(l, &r, p->seen, r.line) || !clean) {
		rule_free(&r);
		return;
	}
	long dup = afgw_rules_find(l->rs, r.id);
	if (dup >= 0) {
		const struct afgw_rule *o = &l->rs->rule[dup];
		err(l, r.line, "duplicate rule id '%s' (first defined at %s:%u)", r.id,
		    l->rs->files[o->file], o->line);
		rule_free(&r);
		return;
	}
	if (l->rs->n >= AFGW_RULES_MAX) {
		err(l, r.line, "more than %d rules in the set", AFGW_RULES_MAX);
		rule_free(&r);
		l->broken = true;
		return;
	}
	if (l->rs->n == l->rs->cap) {
		size_t cap = l->rs->cap ? l->rs->cap * 2 : 64;
		struct afgw_rule *v = realloc(l->rs->rule, cap * sizeof(*v));
		if (!v) {
			rule_free(&r);
			l->nomem = true;
			return;
		}
		l->rs->rule = v;
		l->rs->cap = cap;
	}
	l->rs->rule[l->rs->n] = r;
	if (index_rule(l->rs, l->rs->n) < 0) {
		rule_free(&l->rs->rule[l->rs->n]);
		l->nomem = true;
		return;
	}
	l->rs->n++;
}

static void parse_rules(struct ld *l)
{
	bool more = next(l);
	while (more && l->ev.type != YAML_SEQUENCE_END_EVENT) {
		if (l->ev.type != YAML_MAPPING_START_EVENT) {
			err(l, LINE(l), "expected a rule (a mapping of fields), found %s",
			    node_name(&l->ev));
			skip(l);
			more = next(l);
			continue;
		}
		struct pending p;
		parse_rule(l, &p);
		more = !l->broken && !l->nomem && next(l);
		finish_rule(l, &p);
		if (l->nomem)
			return;
	}
}

/* stream: one document holding { version: 1, rules: [ ... ] } */
static void parse_stream(struct ld *l)
{
	if (!next(l) || l->ev.type != YAML_STREAM_START_EVENT)
		return;
	if (!next(l))
		return;
	if (l->ev.type == YAML_STREAM_END_EVENT) {
		err(l, 0, "empty file: expected a mapping with 'rules:'");
		return;
	}
	if (!next(l)) /* past DOCUMENT-START */
		return;
	if (l->ev.type != YAML_MAPPING_START_EVENT) {
		err(l, LINE(l), "expected a mapping with 'rules:' at the top, found %s",
		    node_name(&l->ev));
		return;
	}
	bool have_rules = false, have_version = false;
	unsigned top_line = LINE(l);
	while (next(l) && l->ev.type != YAML_MAPPING_END_EVENT) {
		if (l->ev.type != YAML_SCALAR_EVENT) {
			err(l, LINE(l), "expected a key, found %s", node_name(&l->ev));
			return;
		}
		const char *key = (const char *)l->ev.data.scalar.value;
		unsigned kline = LINE(l);
		int which = !strcmp(key, "version") ? 1 : !strcmp(key, "rules") ? 2 : 0;
		if (!which)
			err(l, kline, "unknown top-level key '%.64s' (keys: version, rules)", key);
		else if ((which == 1 && have_version) || (which == 2 && have_rules)) {
			err(l, kline, "key '%s' given twice", key);
			which = 0;
		}
		if (!next(l))
			return;
		if (which == 1) {
			have_version = true;
			if (l->ev.type != YAML_SCALAR_EVENT ||
			    strcmp((const char *)l->ev.data.scalar.value, "1")) {
				err(l, LINE(l), "version: only version 1 is known");
				skip(l);
			}
		} else if (which == 2) {
			have_rules = true;
			if (l->ev.type != YAML_SEQUENCE_START_EVENT) {
				err(l, LINE(l), "rules: expected a list of rules, found %s",
				    node_name(&l->ev));
				skip(l);
			} else {
				parse_rules(l);
			}
		} else {
			skip(l);
		}
		if (l->nomem)
			return;
	}
	if (l->broken)
		return;
	if (!have_rules)
		err(l, top_line, "no 'rules:' list in this file");
	if (!next(l)) /* DOCUMENT-END */
		return;
	if (!next(l))
		return;
	if (l->ev.type != YAML_STREAM_END_EVENT)
		err(l, LINE(l), "only one YAML document per rule file");
}

static int add_file_name(struct afgw_rules *rs, const char *name)
{
	char **v = realloc(rs->files, (rs->n_files + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	rs->files = v;
	size_t n = strlen(name);
	char *s = malloc(n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, name, n + 1);
	rs->files[rs->n_files++] = s;
	return 0;
}

int afgw_rules_load_buffer(struct afgw_rules *rs, const char *name, const char *buf, size_t len,
			   struct afgw_rules_diag *d)
{
	if (len > AFGW_RULES_FILE_MAX) {
		afgw_rules_diag_add(d, AFGW_DIAG_ERROR, name, 0,
				    "file too large (%zu bytes, at most %u)", len,
				    AFGW_RULES_FILE_MAX);
		return -EINVAL;
	}
	if (add_file_name(rs, name) < 0)
		return -ENOMEM;
	struct ld l;
	memset(&l, 0, sizeof(l));
	l.rs = rs;
	l.d = d;
	l.file = rs->n_files - 1;
	l.name = rs->files[l.file];
	if (!yaml_parser_initialize(&l.y))
		return -ENOMEM;
	yaml_parser_set_input_string(&l.y, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&l.y, YAML_UTF8_ENCODING);
	parse_stream(&l);
	if (l.have)
		yaml_event_delete(&l.ev);
	yaml_parser_delete(&l.y);
	if (l.nomem)
		return -ENOMEM;
	return l.errors ? -EINVAL : 0;
}

int afgw_rules_load_file(struct afgw_rules *rs, const char *path, struct afgw_rules_diag *d)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		afgw_rules_diag_add(d, AFGW_DIAG_ERROR, path, 0, "cannot open: %s", strerror(e));
		return -e;
	}
	int rc = 0;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			if (cap > AFGW_RULES_FILE_MAX) {
				afgw_rules_diag_add(d, AFGW_DIAG_ERROR, path, 0,
						    "file too large (at most %u bytes)",
						    AFGW_RULES_FILE_MAX);
				rc = -EINVAL;
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, cap);
			if (!nb) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		afgw_rules_diag_add(d, AFGW_DIAG_ERROR, path, 0, "read error");
		rc = -EIO;
		goto out;
	}
	rc = afgw_rules_load_buffer(rs, path, buf, len, d);
out:
	free(buf);
	fclose(f);
	return rc;
}

static int rule_file_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	if (e->d_name[0] == '.')
		return 0;
	return (n > 5 && !strcmp(e->d_name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(e->d_name + n - 4, ".yml"));
}

int afgw_rules_load_dir(struct afgw_rules *rs, const char *dir, struct afgw_rules_diag *d)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, rule_file_filter, alphasort);
	if (n < 0) {
		int e = errno;
		afgw_rules_diag_add(d, AFGW_DIAG_ERROR, dir, 0, "cannot read directory: %s",
				    strerror(e));
		return -e;
	}
	int rc = 0, files = 0;
	for (int i = 0; i < n; i++) {
		char path[4096];
		int pn = snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		struct stat st;
		if (rc != -ENOMEM && pn > 0 && (size_t)pn < sizeof(path) && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			files++;
			int r = afgw_rules_load_file(rs, path, d);
			if (r == -ENOMEM || (r < 0 && rc == 0))
				rc = r;
		}
		free(list[i]);
	}
	free(list);
	if (!files && rc == 0) {
		afgw_rules_diag_add(d, AFGW_DIAG_ERROR, dir, 0, "no rule files (*.yaml) here");
		rc = -EINVAL;
	}
	return rc;
}

const char *afgw_rules_default_dir(void)
{
	const char *env = getenv("AFGW_RULES_DIR");
	if (env && *env)
		return env;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		size_t bl = strlen(AFGW_BUILD_DIR);
		if (!strncmp(exe, AFGW_BUILD_DIR, bl) && exe[bl] == '/')
			return AFGW_SOURCE_DIR "/rules/default";
	}
	struct stat st;
	if (stat(AFGW_RULES_INSTALL_DIR, &st) == 0 && S_ISDIR(st.st_mode))
		return AFGW_RULES_INSTALL_DIR;
	return AFGW_SOURCE_DIR "/rules/default";
}
