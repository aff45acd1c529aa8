/*
 * test_rules.c - the rule-file loader: a good file read field by field,
 * every kind of error reported with its file:line, the whole file refused
 * on any error, duplicate ids across files, limits, directories.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "afgw/rules.h"
#include "check.h"

static const char good[] =
	"version: 1\n"                                 /* 1 */
	"rules:\n"                                     /* 2 */
	"  - id: zh.task.shuadan\n"                    /* 3 */
	"    kind: text\n"                             /* 4 */
	"    pattern: 刷单\n"                          /* 5 */
	"    weight: 30\n"                             /* 6 */
	"    category: task_rebate\n"                  /* 7 */
	"    desc_zh: 刷单\n"                          /* 8 */
	"    desc_en: paid fake orders\n"              /* 9 */
	"    match: [招聘刷单员]\n"                    /* 10 */
	"    nomatch:\n"                               /* 11 */
	"      - 今天天气好\n"                         /* 12 */
	"      - \"明天见\"\n"                         /* 13 */
	"  - id: en.bank.safe\n"                       /* 14 */
	"    kind: url\n"                              /* 15 */
	"    pattern: '(^|\\.)icbc-[a-z]+\\.top$'\n"   /* 16 */
	"    flags: [regex, case, word]\n"             /* 17 */
	"    weight: -20\n"                            /* 18 */
	"    category: en_bank\n"                      /* 19 */
	"    desc_zh: 仿冒\n"                          /* 20 */
	"    desc_en: look-alike\n";                   /* 21 */

/* Load text as a file called "t.yaml"; the first message (or "") in *first. */
static int load(const char *text, struct afgw_rules *rs, struct afgw_rules_diag *d)
{
	afgw_rules_init(rs);
	afgw_rules_diag_init(d);
	return afgw_rules_load_buffer(rs, "t.yaml", text, strlen(text), d);
}

/* A file that must fail with exactly one error, whose text is want. */
static void expect_error(const char *text, const char *want)
{
	struct afgw_rules rs;
	struct afgw_rules_diag d;
	int rc = load(text, &rs, &d);
	CHECK_INT(rc, -EINVAL);
	CHECK_INT(d.errors, 1);
	if (d.n >= 1) {
		CHECK_MEM(d.msg[0].text, strlen(d.msg[0].text), want);
		CHECK(d.msg[0].level == AFGW_DIAG_ERROR);
	} else {
		CHECK(!"no message");
	}
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rs);
}

/* A rule with the given lines replacing nothing: fields 4.. of a rule at line 2. */
#define HEAD "rules:\n  - id: r1\n"
#define BODY                                                                                       \
	"    kind: text\n    pattern: abc\n    weight: 10\n    category: c\n    desc_zh: 中\n"     \
	"    desc_en: en\n"

static void test_good(void)
{
	struct afgw_rules rs;
	struct afgw_rules_diag d;
	CHECK_INT(load(good, &rs, &d), 0);
	CHECK_INT(d.errors, 0);
	CHECK_INT(d.n, 0);
	CHECK_INT(rs.n, 2);
	if (rs.n == 2) {
		const struct afgw_rule *r = &rs.rule[0];
		CHECK(!strcmp(r->id, "zh.task.shuadan"));
		CHECK(r->kind == AFGW_RULE_TEXT);
		CHECK(!strcmp(r->pattern, "刷单"));
		CHECK_INT(r->flags, AFGW_RULE_F_NOCASE); /* the default */
		CHECK_INT(r->weight, 30);
		CHECK(!strcmp(r->category, "task_rebate"));
		CHECK(!strcmp(r->desc_en, "paid fake orders"));
		CHECK_INT(r->line, 3);
		CHECK_INT(r->pattern_line, 5);
		CHECK_INT(r->n_match, 1);
		CHECK_INT(r->n_nomatch, 2);
		CHECK(!strcmp(r->match[0].text, "招聘刷单员"));
		CHECK_INT(r->match[0].line, 10);
		CHECK(!strcmp(r->nomatch[1].text, "明天见"));
		CHECK_INT(r->nomatch[1].line, 13);
		CHECK(!strcmp(rs.files[r->file], "t.yaml"));

		r = &rs.rule[1];
		CHECK(r->kind == AFGW_RULE_URL);
		CHECK(!strcmp(r->pattern, "(^|\\.)icbc-[a-z]+\\.top$"));
		CHECK_INT(r->flags, AFGW_RULE_F_REGEX | AFGW_RULE_F_WORD); /* case: no nocase */
		CHECK_INT(r->weight, -20);
		CHECK_INT(r->line, 14);
		CHECK_INT(r->n_match, 0);
	}
	CHECK_INT(afgw_rules_find(&rs, "en.bank.safe"), 1);
	CHECK_INT(afgw_rules_find(&rs, "zh.task.shuadan"), 0);
	CHECK_INT(afgw_rules_find(&rs, "nope"), -1);
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rs);
}

static void test_errors(void)
{
	/* YAML syntax: libyaml's reason, at its line */
	/* a mis-indented field: the syntax error alone, not "missing field" noise */
	expect_error("rules:\n  - id: a\n    kind: text\n  pattern: x\n",
		     "t.yaml:4: YAML syntax: did not find expected '-' indicator while parsing a block collection");
	expect_error("rules:\n  - id: \"abc\n    kind: text\n",
		     "t.yaml:4: YAML syntax: found unexpected end of stream while scanning a quoted scalar");
	expect_error("", "t.yaml: empty file: expected a mapping with 'rules:'");
	expect_error("- a\n- b\n", "t.yaml:1: expected a mapping with 'rules:' at the top, found a list");
	expect_error("version: 1\n", "t.yaml:1: no 'rules:' list in this file");
	expect_error("version: 2\nrules: []\n", "t.yaml:1: version: only version 1 is known");
	expect_error("rulez: []\nrules: []\n", "t.yaml:1: unknown top-level key 'rulez' (keys: version, rules)");
	expect_error("rules: 3\n", "t.yaml:1: rules: expected a list of rules, found a single value");
	expect_error("rules:\n  - just text\n", "t.yaml:2: expected a rule (a mapping of fields), found a single value");
	expect_error("rules: []\n---\nrules: []\n", "t.yaml:2: only one YAML document per rule file");

	/* anchors and aliases */
	expect_error("rules:\n  - &a {id: x}\n", "t.yaml:2: YAML anchors (&name) are not supported in rule files");

	/* fields */
	expect_error(HEAD BODY "    wieght: 3\n",
		     "t.yaml:9: unknown field 'wieght' (fields: id, kind, pattern, flags, weight, category, desc_zh, desc_en, match, nomatch)");
	expect_error(HEAD BODY "    kind: url\n", "t.yaml:9: field 'kind' given twice");
	expect_error("rules:\n  - id: r1\n    kind: text\n    weight: 10\n    category: c\n"
		     "    desc_zh: 中\n    desc_en: en\n",
		     "t.yaml:2: rule 'r1': missing field 'pattern'");
	expect_error(HEAD "    kind: sms\n    pattern: abc\n    weight: 10\n    category: c\n"
		     "    desc_zh: 中\n    desc_en: en\n",
		     "t.yaml:3: unknown kind 'sms' (kinds: text, url, contact, number, caller, callee, sender)");
	expect_error(HEAD "    kind: text\n    pattern: abc\n    weight: 101\n    category: c\n"
		     "    desc_zh: 中\n    desc_en: en\n",
		     "t.yaml:5: weight '101': expected a whole number from -100 to 100");
	expect_error(HEAD "    kind: text\n    pattern: abc\n    weight: 4.5\n    category: c\n"
		     "    desc_zh: 中\n    desc_en: en\n",
		     "t.yaml:5: weight '4.5': expected a whole number from -100 to 100");
	expect_error(HEAD "    kind: text\n    pattern: ''\n    weight: 4\n    category: c\n"
		     "    desc_zh: 中\n    desc_en: en\n",
		     "t.yaml:4: pattern: empty value");
	expect_error(HEAD "    kind: text\n    pattern: [a, b]\n    weight: 4\n    category: c\n"
		     "    desc_zh: 中\n    desc_en: en\n",
		     "t.yaml:4: pattern: expected text, found a list");
	expect_error(HEAD BODY "    flags: [regex, fast]\n",
		     "t.yaml:9: unknown flag 'fast' (flags: regex, nocase, case, dotall, word, ucp, utf8)");
	expect_error(HEAD BODY "    flags: regex\n",
		     "t.yaml:9: flags: expected a list such as [regex, word], found a single value");
	expect_error(HEAD BODY "    flags: [dotall]\n", "t.yaml:4: rule 'r1': flags dotall, ucp and utf8 need 'regex'");
	expect_error(HEAD "    kind: url\n    pattern: abc\n    weight: 1\n    category: c\n"
		     "    desc_zh: 中\n    desc_en: en\n    flags: [regex, ucp]\n",
		     "t.yaml:4: rule 'r1': flags ucp and utf8 are only for text rules");
	expect_error(HEAD "    kind: text\n    pattern: 'a.{0,5000}b'\n    weight: 1\n    category: c\n"
		     "    desc_zh: 中\n    desc_en: en\n    flags: [regex]\n",
		     "t.yaml:4: rule 'r1': repeat bound 5000 is too large (at most 1000)");
	expect_error("rules:\n  - id: 'bad id'\n" BODY, "t.yaml:2: id 'bad id': use only letters, digits, '.', '_' and '-'");
	expect_error(HEAD BODY "    match: yes\n",
		     "t.yaml:9: match: expected a list of example messages, found a single value");
	expect_error(HEAD BODY "    match: [\"a\\0b\"]\n", "t.yaml:9: match: contains a NUL character");
	expect_error(HEAD BODY "    nomatch: [~]\n", "t.yaml:9: nomatch: empty value");

	/* a duplicate id within one file names the first definition */
	expect_error(HEAD BODY "  - id: r1\n" BODY,
		     "t.yaml:9: duplicate rule id 'r1' (first defined at t.yaml:2)");

	/* escaped braces and classes are not repeats */
	struct afgw_rules rs;
	struct afgw_rules_diag d;
	CHECK_INT(load(HEAD "    kind: text\n    pattern: 'a\\{5000}[{9999}]b{3,40}'\n    weight: 1\n"
		       "    category: c\n    desc_zh: 中\n    desc_en: en\n    flags: [regex]\n",
		       &rs, &d), 0);
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rs);

	/* every error of a file is reported, and nothing of it is kept */
	CHECK_INT(load(HEAD BODY "    wieght: 3\n  - id: r2\n" BODY "  - id: r3\n" BODY
		       "    weight: 9\n",
		       &rs, &d), -EINVAL);
	CHECK_INT(d.errors, 2);
	CHECK_INT(rs.n, 1); /* r2 parsed fine, but the caller must throw the set away */
	if (d.n == 2) {
		CHECK(!strncmp(d.msg[0].text, "t.yaml:9: unknown field", 23));
		CHECK(!strcmp(d.msg[1].text, "t.yaml:24: field 'weight' given twice"));
	}
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rs);

	/* limits: a pattern longer than AFGW_RULE_PATTERN_MAX */
	char big[2048];
	size_t off = (size_t)snprintf(big, sizeof(big), HEAD "    kind: text\n    pattern: ");
	memset(big + off, 'a', AFGW_RULE_PATTERN_MAX + 1);
	off += AFGW_RULE_PATTERN_MAX + 1;
	snprintf(big + off, sizeof(big) - off,
		 "\n    weight: 1\n    category: c\n    desc_zh: 中\n    desc_en: en\n");
	expect_error(big, "t.yaml:4: pattern: too long (1025 bytes, at most 1024)");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static void test_dir(void)
{
	char dir[] = "/tmp/afgw_test_rules_XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char a[256], b[256], c[256];
	snprintf(a, sizeof(a), "%s/a.yaml", dir);
	snprintf(b, sizeof(b), "%s/b.yml", dir);
	snprintf(c, sizeof(c), "%s/notes.txt", dir);

	struct afgw_rules rs;
	struct afgw_rules_diag d;
	afgw_rules_init(&rs);
	afgw_rules_diag_init(&d);
	CHECK_INT(afgw_rules_load_dir(&rs, dir, &d), -EINVAL);
	CHECK(d.n == 1 && strstr(d.msg[0].text, "no rule files"));
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rs);

	write_file(a, HEAD BODY);
	write_file(b, "rules:\n  - id: r2\n" BODY "  - id: r1\n" BODY);
	write_file(c, "not rules");
	afgw_rules_init(&rs);
	afgw_rules_diag_init(&d);
	CHECK_INT(afgw_rules_load_dir(&rs, dir, &d), -EINVAL);
	CHECK_INT(d.errors, 1);
	if (d.n == 1) {
		char want[600];
		snprintf(want, sizeof(want), "%s:9: duplicate rule id 'r1' (first defined at %s:2)", b, a);
		CHECK(!strcmp(d.msg[0].text, want));
	}
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rs);

	write_file(b, "rules:\n  - id: r2\n" BODY);
	afgw_rules_init(&rs);
	afgw_rules_diag_init(&d);
	CHECK_INT(afgw_rules_load_dir(&rs, dir, &d), 0);
	CHECK_INT(rs.n, 2);
	CHECK_INT(rs.n_files, 2);
	CHECK(rs.n == 2 && !strcmp(rs.rule[1].id, "r2") && rs.rule[1].file == 1);
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rs);

	afgw_rules_init(&rs);
	afgw_rules_diag_init(&d);
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/none.yaml", dir);
	CHECK_INT(afgw_rules_load_file(&rs, missing, &d), -ENOENT);
	CHECK(d.n == 1 && strstr(d.msg[0].text, "cannot open"));
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rs);

	unlink(a);
	unlink(b);
	unlink(c);
	rmdir(dir);
}

/* Many rules: the id index grows and still finds every one. */
static void test_many(void)
{
	size_t cap = 3000 * 160, off = 0;
	char *buf = malloc(cap);
	CHECK(buf != NULL);
	if (!buf)
		return;
	off += (size_t)snprintf(buf, cap, "rules:\n");
	for (int i = 0; i < 3000; i++)
		off += (size_t)snprintf(buf + off, cap - off,
					"- {id: r%d, kind: text, pattern: p%d, weight: 1, category: c, "
					"desc_zh: z, desc_en: e}\n",
					i, i);
	struct afgw_rules rs;
	struct afgw_rules_diag d;
	afgw_rules_init(&rs);
	afgw_rules_diag_init(&d);
	CHECK_INT(afgw_rules_load_buffer(&rs, "many", buf, off, &d), 0);
	CHECK_INT(rs.n, 3000);
	CHECK_INT(afgw_rules_find(&rs, "r2999"), 2999);
	CHECK_INT(afgw_rules_find(&rs, "r0"), 0);
	CHECK_INT(afgw_rules_find(&rs, "r1500"), 1500);
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rs);
	free(buf);
}

int main(void)
{
	test_good();
	test_errors();
	test_dir();
	test_many();
	return check_report();
}
