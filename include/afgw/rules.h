/*
 * rules.h - rule files: the YAML loader, gateway/rules.c.
 *
 * A rule file is a YAML mapping with an optional `version: 1` and a list
 * `rules:`; every entry of the list is one rule (rules/README.md has the
 * format, the flags and the combining rule for weights).  The loader reads
 * files, directories or memory buffers into a struct afgw_rules, checks
 * every field it can check without Hyperscan (unknown or missing field,
 * bad kind / flag / weight, duplicate id, limits below) and reports every
 * problem as "file:line: message" in a struct afgw_rules_diag.  A set with
 * any error must be refused as a whole: the caller throws it away.
 * Regexes are checked by the compiler (match.h), which reports into the
 * same diagnostics with the rule's file:line.
 *
 * Thread: the control thread (or a tool); nothing here is on the packet
 * path.  A struct afgw_rules is plain data owned by its caller until it is
 * handed to afgw_ruleset_new() (match.h).
 */
#ifndef AFGW_RULES_H
#define AFGW_RULES_H

#include "afgw/common.h"

/* Limits: bound memory and Hyperscan compile time on hostile input. */
#define AFGW_RULES_MAX 100000            /* rules in one set */
#define AFGW_RULES_FILE_MAX (16u << 20)  /* bytes in one rule file */
#define AFGW_RULE_ID_MAX 128             /* id and category length */
#define AFGW_RULE_PATTERN_MAX 1024       /* pattern bytes */
#define AFGW_RULE_REPEAT_MAX 1000        /* largest {m,n} bound in a regex */
#define AFGW_RULE_TEXT_MAX 4096          /* a description or an example */
#define AFGW_RULE_EXAMPLES_MAX 64        /* match + nomatch examples each */
#define AFGW_RULE_WEIGHT_MIN (-100)
#define AFGW_RULE_WEIGHT_MAX 100
#define AFGW_RULES_DIAG_MAX 200          /* messages kept; the rest are counted */

/*
 * What a rule is matched against.  text: the normalized message text;
 * url: the host of every URL / domain found in it; contact: "TYPE:ID" for
 * every contact token found in it (TYPE is wechat, qq or other); number:
 * every phone number found in it (canonical); caller / callee / sender:
 * the message's own canonical numbers.
 */
enum afgw_rule_kind {
	AFGW_RULE_TEXT,
	AFGW_RULE_URL,
	AFGW_RULE_CONTACT,
	AFGW_RULE_NUMBER,
	AFGW_RULE_CALLER,
	AFGW_RULE_CALLEE,
	AFGW_RULE_SENDER,
	AFGW_RULE_KINDS,
};

enum {
	AFGW_RULE_F_REGEX = 1u << 0,   /* pattern is a Hyperscan regex, else a literal */
	AFGW_RULE_F_NOCASE = 1u << 1,  /* ASCII case-insensitive (the default) */
	AFGW_RULE_F_DOTALL = 1u << 2,  /* '.' also matches a newline (regex only) */
	AFGW_RULE_F_WORD = 1u << 3,    /* ASCII word boundary at each end */
	AFGW_RULE_F_UCP = 1u << 4,     /* Unicode classes for \w \d \s \b (text regex; implies UTF8) */
	AFGW_RULE_F_UTF8 = 1u << 5,    /* compile in Hyperscan's UTF-8 mode as written (text regex) */
};

struct afgw_rule_example {
	char *text;
	unsigned line;
};

struct afgw_rule {
	char *id;
	enum afgw_rule_kind kind;
	char *pattern;                 /* as written in the file */
	unsigned flags;                /* AFGW_RULE_F_* */
	int weight;                    /* AFGW_RULE_WEIGHT_MIN..MAX */
	char *category;
	char *desc_zh, *desc_en;
	struct afgw_rule_example *match, *nomatch;
	unsigned n_match, n_nomatch;
	unsigned file;                 /* index into afgw_rules.files */
	unsigned line;                 /* where the rule's entry starts */
	unsigned pattern_line;
};

struct afgw_rules {
	struct afgw_rule *rule;
	size_t n, cap;
	char **files;                  /* names as given to the loader */
	unsigned n_files;
	uint32_t *ids;                 /* open-addressed id index (rule + 1; 0 = empty) */
	size_t ids_cap;
};

enum afgw_diag_level { AFGW_DIAG_ERROR, AFGW_DIAG_WARNING };

struct afgw_diag_msg {
	enum afgw_diag_level level;
	char *text;                    /* "file:line: message" ("file:line: warning: message"), no newline */
};

struct afgw_rules_diag {
	struct afgw_diag_msg *msg;
	unsigned n, cap;
	unsigned errors, warnings;     /* all of them, also those not kept */
};

void afgw_rules_init(struct afgw_rules *rs);
void afgw_rules_fini(struct afgw_rules *rs);
void afgw_rules_diag_init(struct afgw_rules_diag *d);
void afgw_rules_diag_fini(struct afgw_rules_diag *d);

/*
 * Record "file:line: message" (line 0: "file: message"; a warning says
 * "file:line: warning: message"; file NULL and line 0: the message as
 * given, already in that form).  Used by the
 * loader and the compiler; keeps the first AFGW_RULES_DIAG_MAX messages.
 */
void afgw_rules_diag_add(struct afgw_rules_diag *d, enum afgw_diag_level level, const char *file,
			 unsigned line, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Parse one rule file held in buf[0..len) (it need not be NUL-terminated)
 * and append its rules to rs; name is what messages call the file.
 * Returns 0, -EINVAL when the file has errors (all of them are in d and
 * rs must be thrown away), or -ENOMEM.
 */
int afgw_rules_load_buffer(struct afgw_rules *rs, const char *name, const char *buf, size_t len,
			   struct afgw_rules_diag *d);

/* The same for a file on disk; -errno (with a message in d) if it cannot be read. */
int afgw_rules_load_file(struct afgw_rules *rs, const char *path, struct afgw_rules_diag *d);

/*
 * The default rule set's directory: $AFGW_RULES_DIR when set; the source
 * tree's rules/default when the running program is in the build tree;
 * else the installed copy (datadir/afgw/rules/default) when it exists;
 * else the source tree's.  Static storage.
 */
const char *afgw_rules_default_dir(void);

/*
 * Every *.yaml / *.yml file directly inside dir, in name order.  Reads
 * them all so that every error is reported, then returns 0, -EINVAL,
 * -ENOMEM or -errno as above; a directory without rule files is an error.
 */
int afgw_rules_load_dir(struct afgw_rules *rs, const char *dir, struct afgw_rules_diag *d);

/* Index of the rule with this id, or -1. */
long afgw_rules_find(const struct afgw_rules *rs, const char *id);

const char *afgw_rule_kind_name(enum afgw_rule_kind k);

#endif
