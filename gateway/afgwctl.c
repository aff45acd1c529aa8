/*
 * afgwctl.c - the tool for police, operators and app back ends.
 *
 * Its commands (keys, bundles, numbers, subscribers, reports, inbox,
 * rules) arrive with the stages they drive; --help lists only the ones
 * this build has.
 *
 *   afgwctl rules check [DIR|FILE...]   load, compile and lint rule files
 *   afgwctl rules test [DIR] [--text T | --file F] ...
 *                                       show what the rules make of messages
 *   afgwctl number add|del|show|list|import ...   the reputation table (ctl_number.c)
 *   afgwctl report NUMBER ...           a resident's report (ctl_number.c)
 *   afgwctl bundle build|sign|verify|show|push ...   police bundles (ctl_bundle.c)
 *
 * Exit status (DESIGN.md §8): 0 success, 1 runtime failure, 2 usage or bad
 * input, with errors as one line each on stderr naming file:line.
 */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "afgw_config.h"
#include "ctl.h"
#include "afgw/match.h"
#include "afgw/number.h"
#include "afgw/rules.h"

static const char usage[] =
	"usage: afgwctl [--version] [--help] COMMAND [ARGS]\n"
	"\n"
	"afgwctl manages an afgw fleet: rules and signed bundles (police), number lists\n"
	"(operators), subscribers and warnings (app back ends).\n"
	"\n"
	"commands:\n"
	"  rules check [DIR|FILE...]   load, compile and lint rule files\n"
	"  rules test [DIR] [--text T | --file F]\n"
	"                              show the normalized text, the URLs, contacts and\n"
	"                              numbers found, every rule hit and the score\n"
	"  number add|del|show|list|import ...\n"
	"                              the number reputation table (black / gray / allow)\n"
	"  report NUMBER --reporter ID --category C\n"
	"                              a resident's report of a fraudulent number\n"
	"  keygen gateway|police|app -o PREFIX\n"
	"                              a new key pair: PREFIX.key (secret) and PREFIX.pub\n"
	"  sub add|del|show ...        the subscriber registry (app accounts)\n"
	"  inbox --account ID --key FILE --gateway-key FILE [--follow]\n"
	"                              an app account's warnings: verified, decrypted\n"
	"  bundle build|sign|verify|show|push ...\n"
	"                              police bundles: signed rules and number lists\n"
	"\n"
	"'afgwctl COMMAND --help' describes a command.\n";

#define USAGE_RULES \
	"usage: afgwctl rules check [DIR|FILE...]\n" \
	"       afgwctl rules test [DIR|FILE...] [--text T | --file F] [OPTIONS]\n" \
	"\n" \
	"Rule files are YAML (rules/README.md).  DIR means every *.yaml / *.yml file in it;\n" \
	"without DIR or FILE the default rule set is used (%s).\n" \
	"\n" \
	"check   loads and compiles the rules, runs every rule's match / nomatch examples\n" \
	"        and prints each problem as FILE:LINE: message.  Exit 0 with a summary\n" \
	"        line when the set compiles (warnings do not fail it unless --strict),\n" \
	"        2 when it has errors.\n" \
	"test    scans messages and shows, for each: the normalized text, the URLs,\n" \
	"        contacts and phone numbers found, every rule hit (weight, rule id,\n" \
	"        category, the evidence in the original text) and the score.\n" \
	"\n" \
	"options for test:\n" \
	"  --text T             the message to scan\n" \
	"  --file F             one message per line ('-' for stdin; \\n \\t \\\\ are\n" \
	"                       unescaped); without --text or --file: stdin\n" \
	"  --caller N           calling number (raw; canonicalised)\n" \
	"  --callee N           called number\n" \
	"  --sender N           SMS sender address\n" \
	"  --country-code N     default country code for numbers (default 86)\n" \
	"  --brief              one line per message: score, action, categories, text\n" \
	"options for check:\n" \
	"  --strict             warnings fail the check too (exit 2)\n" \
	"\n" \
	"The score combines the weights of the rules that hit (rules/README.md):\n" \
	"score >= %d is 'warn', >= %d is 'block' with the default thresholds.\n"

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "afgwctl rules: %s%s%s (try 'afgwctl rules --help')\n", what,
		arg ? " " : "", arg ? arg : "");
	return 2;
}

static void print_diag(const struct afgw_rules_diag *d)
{
	for (unsigned i = 0; i < d->n; i++)
		fprintf(stderr, "%s\n", d->msg[i].text);
	unsigned shown_e = 0, shown_w = 0;
	for (unsigned i = 0; i < d->n; i++) {
		if (d->msg[i].level == AFGW_DIAG_ERROR)
			shown_e++;
		else
			shown_w++;
	}
	if (d->errors + d->warnings > d->n)
		fprintf(stderr, "(%u more errors and %u more warnings not shown)\n",
			d->errors - shown_e, d->warnings - shown_w);
}

/* Load every path (directory or file) into one set; 0 or the first failure. */
static int load_paths(struct afgw_rules *rules, int n, char **paths, struct afgw_rules_diag *d)
{
	int rc = 0;
	char *def[1] = { (char *)afgw_rules_default_dir() };
	if (n == 0) {
		n = 1;
		paths = def;
	}
	for (int i = 0; i < n; i++) {
		struct stat st;
		int r;
		if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
			r = afgw_rules_load_dir(rules, paths[i], d);
		else
			r = afgw_rules_load_file(rules, paths[i], d);
		if (r == -ENOMEM)
			return r;
		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

/* Load, compile; on failure print why and return the exit status. */
static int build(int n, char **paths, struct afgw_ruleset **out, struct afgw_rules_diag *d)
{
	struct afgw_rules rules;
	afgw_rules_init(&rules);
	int rc = load_paths(&rules, n, paths, d);
	if (rc == 0)
		rc = afgw_ruleset_new(&rules, 0, d, out);
	afgw_rules_fini(&rules);
	if (rc == -ENOMEM) {
		print_diag(d);
		fprintf(stderr, "afgwctl rules: out of memory\n");
		return 1;
	}
	if (rc < 0) {
		print_diag(d);
		fprintf(stderr, "afgwctl rules: %u error%s; the rule set is refused\n", d->errors,
			d->errors == 1 ? "" : "s");
		return 2;
	}
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "strict", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool strict = false;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			strict = true;
			break;
		case 'h':
			printf(USAGE_RULES, afgw_rules_default_dir(), AFGW_MATCH_WARN, AFGW_MATCH_BLOCK);
			return 0;
		default:
			return usage_error("unknown option", argv[optind - 1]);
		}
	}
	struct afgw_rules_diag d;
	afgw_rules_diag_init(&d);
	struct afgw_ruleset *rs = NULL;
	int rc = build(argc - optind, argv + optind, &rs, &d);
	if (rc) {
		afgw_rules_diag_fini(&d);
		return rc;
	}
	int lint = afgw_ruleset_lint(rs, 86, &d);
	print_diag(&d);
	if (lint < 0) {
		fprintf(stderr, "afgwctl rules: out of memory\n");
		rc = 1;
	} else {
		printf("%zu rules in %u files, compiled in %.0f ms", afgw_ruleset_count(rs),
		       afgw_ruleset_files(rs), afgw_ruleset_compile_ms(rs));
		if (d.warnings)
			printf(", %u warning%s", d.warnings, d.warnings == 1 ? "" : "s");
		printf("\n");
		rc = strict && d.warnings ? 2 : 0;
	}
	afgw_ruleset_free(rs);
	afgw_rules_diag_fini(&d);
	return rc;
}

/* ---- rules test ---------------------------------------------------- */

struct test_opts {
	struct afgw_number caller, callee, sender;
	bool has_caller, has_callee, has_sender;
	unsigned cc;
	bool brief;
};

static const char *action_name(int score)
{
	return score >= AFGW_MATCH_BLOCK ? "block" : score >= AFGW_MATCH_WARN ? "warn" : "allow";
}

/* Printable form of text: control characters as \n, \t or \xHH. */
static void put_text(const char *p, size_t n, size_t max)
{
	size_t i = 0;
	for (; i < n && i < max; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	if (i < n) {
		/* finish the UTF-8 character, then say it was cut */
		while (i < n && ((unsigned char)p[i] & 0xc0) == 0x80)
			putchar(p[i++]);
		if (i < n)
			fputs("...", stdout);
	}
}

static void print_items(const char *label, const struct afgw_extract_item *it, unsigned n)
{
	printf("  %-11s", label);
	if (!n)
		printf(" -");
	for (unsigned i = 0; i < n; i++) {
		printf("%s%s", i ? ", " : " ", it[i].value);
		const char *tags[5] = { 0 };
		unsigned t = 0;
		if (it[i].flags & AFGW_EXTRACT_F_SHORTLINK)
			tags[t++] = "short link";
		if (it[i].flags & AFGW_EXTRACT_F_LOOKALIKE)
			tags[t++] = "look-alike";
		if (it[i].flags & AFGW_EXTRACT_F_IP_HOST)
			tags[t++] = "IP host";
		if (it[i].flags & AFGW_EXTRACT_F_QQ)
			tags[t++] = "QQ";
		if (it[i].flags & AFGW_EXTRACT_F_WECHAT)
			tags[t++] = "WeChat";
		for (unsigned k = 0; k < t; k++)
			printf("%s%s%s", k ? ", " : " (", tags[k], k + 1 == t ? ")" : "");
	}
	printf("\n");
}

static const char *top_category(const struct afgw_match_result *res)
{
	/* the category with the largest positive weight among the listed hits */
	const char *best = NULL;
	int best_w = 0;
	for (unsigned i = 0; i < res->n_hits; i++) {
		const char *c = res->hit[i].r->category;
		int sum = 0;
		for (unsigned j = 0; j < res->n_hits; j++)
			if (!strcmp(res->hit[j].r->category, c) && res->hit[j].r->weight > 0)
				sum += res->hit[j].r->weight;
		if (sum > best_w) {
			best_w = sum;
			best = c;
		}
	}
	return best;
}

static int test_one(struct afgw_match_worker *w, const struct test_opts *o, const char *text,
		    size_t len, unsigned no, struct afgw_match_result *res, unsigned *counts)
{
	struct afgw_match_msg m;
	memset(&m, 0, sizeof(m));
	m.text = afgw_str_make(text, len);
	if (o->has_caller)
		m.caller = afgw_str_make(o->caller.canon, o->caller.len);
	if (o->has_callee)
		m.callee = afgw_str_make(o->callee.canon, o->callee.len);
	if (o->has_sender)
		m.sender = afgw_str_make(o->sender.canon, o->sender.len);
	int rc = afgw_match_scan(w, &m, res);
	if (rc == 0 && !o->brief)
		rc = afgw_match_evidence(w, res);
	if (rc < 0) {
		fprintf(stderr, "afgwctl rules: scan failed: %s\n", strerror(-rc));
		return 1;
	}
	const char *act = action_name(res->score);
	counts[res->score >= AFGW_MATCH_BLOCK ? 2 : res->score >= AFGW_MATCH_WARN ? 1 : 0]++;
	if (o->brief) {
		printf("%d\t%s\t", res->score, act);
		unsigned shown = 0;
		for (unsigned i = 0; i < res->n_hits; i++) {
			const struct afgw_rule *r = res->hit[i].r;
			bool dup = false;
			for (unsigned j = 0; j < i && !dup; j++)
				dup = res->hit[j].r->weight > 0 &&
				      !strcmp(res->hit[j].r->category, r->category);
			if (r->weight > 0 && !dup)
				printf("%s%s", shown++ ? "," : "", r->category);
		}
		printf("%s\t", shown ? "" : "-");
		put_text(text, len, 4096);
		printf("\n");
		return 0;
	}
	printf("message %u: ", no);
	put_text(text, len, 4096);
	printf("\n  normalized: ");
	put_text(res->norm, res->norm_len, 4096);
	printf("\n");
	print_items("urls:", res->ex->urls, res->ex->n_urls);
	print_items("contacts:", res->ex->contacts, res->ex->n_contacts);
	print_items("numbers:", res->ex->numbers, res->ex->n_numbers);
	if (o->has_caller || o->has_callee || o->has_sender)
		printf("  parties:    caller %s, callee %s, sender %s\n",
		       o->has_caller ? o->caller.canon : "-", o->has_callee ? o->callee.canon : "-",
		       o->has_sender ? o->sender.canon : "-");
	printf("  hits:%s\n", res->n_hits ? "" : "       none");
	for (unsigned i = 0; i < res->n_hits; i++) {
		const struct afgw_match_hit *h = &res->hit[i];
		const struct afgw_rule *r = h->r;
		printf("    %+4d  %-32s %-18s %-7s \"", r->weight, r->id, r->category,
		       afgw_rule_kind_name(r->kind));
		switch (r->kind) {
		case AFGW_RULE_CALLER:
			put_text(o->caller.canon, o->caller.len, 80);
			break;
		case AFGW_RULE_CALLEE:
			put_text(o->callee.canon, o->callee.len, 80);
			break;
		case AFGW_RULE_SENDER:
			put_text(o->sender.canon, o->sender.len, 80);
			break;
		default:
			put_text(text + h->start, h->end - h->start, 120);
			break;
		}
		printf("\"  %s\n", r->desc_en);
	}
	if (res->dropped)
		printf("    ... and %u more hits (scored, not listed)\n", res->dropped);
	const char *top = top_category(res);
	printf("  score:      %d -> %s  (positive %d, negative %d%s%s)\n\n", res->score, act,
	       res->positive, res->negative, top ? ", category " : "", top ? top : "");
	return 0;
}

/* Undo the \n \t \\ escapes of a --file line in place; returns the new length. */
static size_t unescape(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 'n' || s[i + 1] == 't' || s[i + 1] == '\\')) {
			char c = s[++i];
			s[o++] = c == 'n' ? '\n' : c == 't' ? '\t' : '\\';
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

static bool parse_party(const char *arg, unsigned cc, struct afgw_number *out)
{
	afgw_number_canon(afgw_str_make(arg, strlen(arg)), AFGW_TON_NONE, cc, out);
	return out->kind != AFGW_NUMBER_INVALID && out->kind != AFGW_NUMBER_EMPTY;
}

static int cmd_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "text", required_argument, NULL, 't' },
		{ "file", required_argument, NULL, 'f' },
		{ "caller", required_argument, NULL, 'a' },
		{ "callee", required_argument, NULL, 'b' },
		{ "sender", required_argument, NULL, 's' },
		{ "country-code", required_argument, NULL, 'C' },
		{ "brief", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct test_opts o;
	memset(&o, 0, sizeof(o));
	o.cc = 86;
	const char *text = NULL, *file = NULL, *caller = NULL, *callee = NULL, *sender = NULL;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			text = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'a':
			caller = optarg;
			break;
		case 'b':
			callee = optarg;
			break;
		case 's':
			sender = optarg;
			break;
		case 'C': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || v == 0 || v > 999)
				return usage_error("bad --country-code", optarg);
			o.cc = (unsigned)v;
			break;
		}
		case 'q':
			o.brief = true;
			break;
		case 'h':
			printf(USAGE_RULES, afgw_rules_default_dir(), AFGW_MATCH_WARN, AFGW_MATCH_BLOCK);
			return 0;
		case '?':
			if (optopt)
				return usage_error("option needs a value:", argv[optind - 1]);
			return usage_error("unknown option", argv[optind - 1]);
		default:
			return usage_error("unknown option", argv[optind - 1]);
		}
	}
	if (text && file)
		return usage_error("give --text or --file, not both", NULL);
	if (caller && !(o.has_caller = parse_party(caller, o.cc, &o.caller)))
		return usage_error("bad --caller number", caller);
	if (callee && !(o.has_callee = parse_party(callee, o.cc, &o.callee)))
		return usage_error("bad --callee number", callee);
	if (sender && !(o.has_sender = parse_party(sender, o.cc, &o.sender)))
		return usage_error("bad --sender address", sender);

	FILE *in = NULL;
	if (!text) {
		if (!file || !strcmp(file, "-")) {
			in = stdin;
		} else if (!(in = fopen(file, "r"))) {
			fprintf(stderr, "afgwctl rules: %s: %s\n", file, strerror(errno));
			return 2;
		}
	}

	struct afgw_rules_diag d;
	afgw_rules_diag_init(&d);
	struct afgw_ruleset *rs = NULL;
	struct afgw_match_worker *w = NULL;
	struct afgw_match_result *res = malloc(sizeof(*res));
	char *line = NULL;
	size_t cap = 0;
	unsigned counts[3] = { 0 }, no = 0;
	int rc = build(argc - optind, argv + optind, &rs, &d);
	if (rc)
		goto out;
	if (!res || afgw_match_worker_new(rs, o.cc, &w) < 0) {
		fprintf(stderr, "afgwctl rules: out of memory\n");
		rc = 1;
		goto out;
	}
	if (!o.brief)
		printf("%zu rules, warn at %d, block at %d\n\n", afgw_ruleset_count(rs),
		       AFGW_MATCH_WARN, AFGW_MATCH_BLOCK);
	if (text) {
		rc = test_one(w, &o, text, strlen(text), 1, res, counts);
		goto out;
	}
	ssize_t n;
	while ((n = getline(&line, &cap, in)) >= 0) {
		size_t len = (size_t)n;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (!len)
			continue;
		len = unescape(line, len);
		rc = test_one(w, &o, line, len, ++no, res, counts);
		if (rc)
			goto out;
	}
	if (ferror(in)) {
		fprintf(stderr, "afgwctl rules: read error on %s\n", file ? file : "stdin");
		rc = 1;
		goto out;
	}
	if (!o.brief || no > 1)
		fprintf(o.brief ? stderr : stdout, "%u messages: %u allow, %u warn, %u block\n", no,
			counts[0], counts[1], counts[2]);
out:
	free(line);
	if (in && in != stdin)
		fclose(in);
	free(res);
	afgw_match_worker_free(w);
	afgw_ruleset_free(rs);
	afgw_rules_diag_fini(&d);
	return rc;
}

static int cmd_rules(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, USAGE_RULES, afgw_rules_default_dir(), AFGW_MATCH_WARN, AFGW_MATCH_BLOCK);
		return 2;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		printf(USAGE_RULES, afgw_rules_default_dir(), AFGW_MATCH_WARN, AFGW_MATCH_BLOCK);
		return 0;
	}
	if (!strcmp(sub, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(sub, "test"))
		return cmd_test(argc - 1, argv + 1);
	return usage_error("unknown subcommand", sub);
}

int main(int argc, char **argv)
{
	/* A closed pipe or a Redis that went away is an error return, not death. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("afgwctl %s\n", AFGW_VERSION_STRING);
		return 0;
	}
	if (!strcmp(cmd, "rules"))
		return cmd_rules(argc - 1, argv + 1);
	if (!strcmp(cmd, "number"))
		return ctl_number_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return ctl_report_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "keygen"))
		return ctl_keygen_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "sub"))
		return ctl_sub_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "inbox"))
		return ctl_inbox_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "bundle"))
		return ctl_bundle_main(argc - 1, argv + 1);
	fprintf(stderr, "afgwctl: unknown %s '%s' (try 'afgwctl --help')\n",
		cmd[0] == '-' ? "option" : "command", cmd);
	return 2;
}
