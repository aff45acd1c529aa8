/*
 * ctl_number.c - afgwctl number add|del|show|list|import and afgwctl
 * report: the operator's and the app back end's writes to the reputation
 * table (reputation.h has the schema).
 *
 * Every number is canonicalised exactly as the gateway does (number.h)
 * before it becomes a key, and every field is checked before anything is
 * written, so a typo is a usage error and never a record the gateways
 * cannot read.  The Redis address comes from --redis, else from the
 * config file of -c, else from $AFGW_REDIS.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "afgw/config.h"
#include "afgw/number.h"
#include "afgw/reputation.h"

static const char usage_number[] =
	"usage: afgwctl number add NUMBER --list black|gray|allow [OPTIONS]\n"
	"       afgwctl number del NUMBER [OPTIONS]\n"
	"       afgwctl number show NUMBER [OPTIONS]\n"
	"       afgwctl number list [--list L] [OPTIONS]\n"
	"       afgwctl number import FILE --list black|gray|allow [OPTIONS]\n"
	"\n"
	"The number reputation table in Redis, which every gateway of the fleet keeps a\n"
	"replica of (changes reach them within a second).  NUMBER is written any way a\n"
	"number is written (13800138000, +86 138-0013-8000, 95588) and stored in canonical\n"
	"form.  import reads one number per line ('#' comments), optionally followed by\n"
	"',SCORE' and ',CATEGORY', and asks the gateways to reload once at the end.\n"
	"\n"
	"options:\n"
	"  --list L           black, gray or allow\n"
	"  --score N          0..100 (default: black 90, gray 50, allow 0)\n"
	"  --category C       fraud category, [a-z0-9_-] (default 'other')\n"
	"  --source S         police, operator or import (default operator)\n"
	"  --expires D        lifetime: Nd, Nh or Nm (default: black 180d, gray 30d,\n"
	"                     allow 365d; at most 7300d)\n"
	"  --halflife D       the score halves every D days (default 0: no decay)\n"
	"  --redis URL        unix:///path/redis.sock or tcp://host:port\n"
	"  -c, --config FILE  take the Redis address and country code from a gateway config\n"
	"  --country-code N   default country code for NUMBER (default 86)\n";

static const char usage_report[] =
	"usage: afgwctl report NUMBER --reporter ACCOUNT --category C [OPTIONS]\n"
	"\n"
	"A resident's report of a fraudulent call or SMS from NUMBER, made through the\n"
	"anti-fraud app (ACCOUNT is the app account id).  Each account counts once per\n"
	"window; the number of distinct reporters raises the number's score on every\n"
	"gateway (score.report_each points each, up to score.report_cap, halving every\n"
	"score.report_halflife_days).  Prints the number of distinct reporters.\n"
	"\n"
	"options:\n"
	"  --reporter ID      app account id, [A-Za-z0-9_.:-], 1..64 characters\n"
	"  --category C       what the resident says it was, [a-z0-9_-]\n"
	"  --window-days N    how long a report counts (default 90)\n"
	"  --redis URL, -c FILE, --country-code N   as for 'afgwctl number'\n";

struct common {
	const char *redis, *config;
	unsigned country_code;
	struct afgw_config cfg;
	struct afgw_redis *conn;
};

static int fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "afgwctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try 'afgwctl %s --help')\n", cmd);
	return 2;
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* "180d", "12h", "30m" -> seconds; 0 on error. */
static int64_t parse_duration(const char *s)
{
	char *end;
	if (!s || !*s || *s == '-')
		return 0;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || end[0] == '\0' || end[1] != '\0')
		return 0;
	int64_t mul = end[0] == 'd' ? 86400 : end[0] == 'h' ? 3600 : end[0] == 'm' ? 60 : 0;
	if (!mul || v == 0 || v > 7300ull * 86400 / (unsigned long long)mul)
		return 0;
	return (int64_t)v * mul;
}

/* Canonical form of a number as the gateway writes it, or an error. */
static int canon_of(const char *cmd, const char *raw, unsigned cc, struct afgw_number *n)
{
	afgw_number_canon(afgw_str_make(raw, strlen(raw)), AFGW_TON_NONE, cc, n);
	if (n->kind == AFGW_NUMBER_EMPTY || n->kind == AFGW_NUMBER_INVALID) {
		fprintf(stderr, "afgwctl %s: '%s' is not a phone number or sender id\n", cmd, raw);
		return 2;
	}
	return 0;
}

static int connect_common(const char *cmd, struct common *c)
{
	if (ctl_config_load(cmd, c->config, &c->cfg) != 0)
		return 2;
	if (!c->country_code)
		c->country_code = c->cfg.country_code;
	return ctl_redis_connect(cmd, c->redis, &c->cfg, &c->conn);
}

static void close_common(struct common *c)
{
	afgw_redis_close(c->conn);
	afgw_config_fini(&c->cfg);
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_entry(const char *canon, const struct afgw_rep_entry *e,
			const struct afgw_config_score *sc)
{
	char since[32], exp[32], rep[32];
	struct afgw_rep_result r;
	afgw_rep_evaluate(e, time(NULL), sc, &r);
	fmt_time(e->since, since, sizeof(since));
	fmt_time(e->expires, exp, sizeof(exp));
	fmt_time(e->reported_at, rep, sizeof(rep));
	printf("%s\t%s\tscore %d (now %d)\tcategory %s\tsource %s\tsince %s\texpires %s\t"
	       "halflife %ud\treports %u (now %d points%s%s)\n",
	       canon, afgw_rep_list_name(e->list), e->score, r.score, e->category,
	       afgw_rep_source_name(e->source), since, exp, e->halflife_days, e->reports,
	       r.report_score, e->reports ? ", last " : "", e->reports ? rep : "");
}

struct list_filter {
	int list; /* -1: all */
	const struct afgw_config_score *sc;
	uint64_t n;
};

static int list_one(void *ud, const char *canon, const struct afgw_rep_entry *e)
{
	struct list_filter *f = ud;
	if (f->list >= 0 && (int)e->list != f->list)
		return 0;
	print_entry(canon, e, f->sc);
	f->n++;
	return 0;
}

/* Options shared by the number subcommands. */
struct entry_opts {
	const char *list, *category, *source, *expires, *halflife, *score;
};

static int build_entry(const char *cmd, const struct entry_opts *o, struct afgw_rep_entry *e)
{
	memset(e, 0, sizeof(*e));
	if (!o->list)
		return fail(cmd, "--list black|gray|allow is needed");
	if (afgw_rep_list_parse(o->list, &e->list) != 0 || e->list == AFGW_REP_NONE)
		return fail(cmd, "bad --list '%s' (black, gray or allow)", o->list);
	e->score = e->list == AFGW_REP_BLACK ? 90 : e->list == AFGW_REP_GRAY ? 50 : 0;
	unsigned long v;
	if (o->score) {
		if (!parse_ulong(o->score, 100, &v))
			return fail(cmd, "bad --score '%s' (0..100)", o->score);
		e->score = (int)v;
	}
	const char *cat = o->category ? o->category : "other";
	if (!afgw_rep_category_ok(cat))
		return fail(cmd, "bad --category '%s' ([a-z0-9_-], 1..32 characters)", cat);
	memcpy(e->category, cat, strlen(cat) + 1);
	e->source = AFGW_REP_SRC_OPERATOR;
	if (o->source && (afgw_rep_source_parse(o->source, &e->source) != 0 ||
			  e->source == AFGW_REP_SRC_REPORTS))
		return fail(cmd, "bad --source '%s' (police, operator or import)", o->source);
	int64_t life = e->list == AFGW_REP_BLACK ? 180 * 86400 : e->list == AFGW_REP_GRAY ? 30 * 86400
											 : 365 * 86400;
	if (o->expires && !(life = parse_duration(o->expires)))
		return fail(cmd, "bad --expires '%s' (Nd, Nh or Nm, at most 7300d)", o->expires);
	if (o->halflife) {
		if (!parse_ulong(o->halflife, 3650, &v))
			return fail(cmd, "bad --halflife '%s' (days, 0..3650)", o->halflife);
		e->halflife_days = (unsigned)v;
	}
	e->since = time(NULL);
	e->expires = e->since + life;
	return 0;
}

enum {
	O_LIST = 256, O_SCORE, O_CATEGORY, O_SOURCE, O_EXPIRES, O_HALFLIFE, O_REDIS, O_CC,
	O_REPORTER, O_WINDOW,
};

static const struct option number_opts[] = {
	{ "list", required_argument, NULL, O_LIST },
	{ "score", required_argument, NULL, O_SCORE },
	{ "category", required_argument, NULL, O_CATEGORY },
	{ "source", required_argument, NULL, O_SOURCE },
	{ "expires", required_argument, NULL, O_EXPIRES },
	{ "halflife", required_argument, NULL, O_HALFLIFE },
	{ "redis", required_argument, NULL, O_REDIS },
	{ "config", required_argument, NULL, 'c' },
	{ "country-code", required_argument, NULL, O_CC },
	{ "reporter", required_argument, NULL, O_REPORTER },
	{ "window-days", required_argument, NULL, O_WINDOW },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct parsed {
	struct common c;
	struct entry_opts e;
	const char *reporter, *window;
	char *args[2];
	int n_args;
};

/* Parse options and up to two positional arguments.  Returns -1 to go on,
 * else an exit status. */
static int parse_args(const char *cmd, const char *usage, int argc, char **argv, struct parsed *p)
{
	int ch;
	unsigned long v;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "-c:h", number_opts, NULL)) != -1) {
		switch (ch) {
		case 1:
			if (p->n_args == 2)
				return fail(cmd, "unexpected argument '%s'", optarg);
			p->args[p->n_args++] = optarg;
			break;
		case O_LIST: p->e.list = optarg; break;
		case O_SCORE: p->e.score = optarg; break;
		case O_CATEGORY: p->e.category = optarg; break;
		case O_SOURCE: p->e.source = optarg; break;
		case O_EXPIRES: p->e.expires = optarg; break;
		case O_HALFLIFE: p->e.halflife = optarg; break;
		case O_REDIS: p->c.redis = optarg; break;
		case 'c': p->c.config = optarg; break;
		case O_REPORTER: p->reporter = optarg; break;
		case O_WINDOW: p->window = optarg; break;
		case O_CC:
			if (!parse_ulong(optarg, 999, &v) || v == 0)
				return fail(cmd, "bad --country-code '%s'", optarg);
			p->c.country_code = (unsigned)v;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return fail(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	return -1;
}

static int number_import(struct parsed *p, const char *file)
{
	struct afgw_rep_entry base;
	int rc = build_entry("number import", &p->e, &base);
	if (rc)
		return rc;
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!f) {
		fprintf(stderr, "afgwctl number import: %s: %s\n", file, strerror(errno));
		return 2;
	}
	rc = connect_common("number import", &p->c);
	if (rc) {
		if (f != stdin)
			fclose(f);
		return rc;
	}
	struct afgw_rep_import *im = NULL;
	char err[AFGW_REP_ERR], line[512];
	unsigned long lineno = 0;
	if (afgw_rep_import_begin(p->c.conn, &im) != 0) {
		rc = 1;
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		struct afgw_rep_entry e = base;
		char *fields[3] = { line, NULL, NULL };
		for (int k = 1; k < 3; k++) {
			char *comma = fields[k - 1] ? strchr(fields[k - 1], ',') : NULL;
			if (comma) {
				*comma = '\0';
				fields[k] = comma + 1;
			}
		}
		unsigned long v;
		if (fields[1] && *fields[1]) {
			if (!parse_ulong(fields[1], 100, &v)) {
				fprintf(stderr, "afgwctl number import: %s:%lu: bad score '%s'\n", file,
					lineno, fields[1]);
				rc = 2;
				break;
			}
			e.score = (int)v;
		}
		if (fields[2] && *fields[2]) {
			if (!afgw_rep_category_ok(fields[2])) {
				fprintf(stderr, "afgwctl number import: %s:%lu: bad category '%s'\n",
					file, lineno, fields[2]);
				rc = 2;
				break;
			}
			memcpy(e.category, fields[2], strlen(fields[2]) + 1);
		}
		struct afgw_number n;
		afgw_number_canon(afgw_str_make(fields[0], strlen(fields[0])), AFGW_TON_NONE,
				  p->c.country_code, &n);
		if (n.kind == AFGW_NUMBER_EMPTY || n.kind == AFGW_NUMBER_INVALID) {
			fprintf(stderr, "afgwctl number import: %s:%lu: not a number\n", file, lineno);
			rc = 2;
			break;
		}
		if (afgw_rep_import_add(im, afgw_str_make(n.canon, n.len), &e, err, sizeof(err)) !=
		    0) {
			fprintf(stderr, "afgwctl number import: %s:%lu: %s\n", file, lineno, err);
			rc = 1;
			break;
		}
	}
	uint64_t count = 0;
	int erc = afgw_rep_import_end(im, &count, err, sizeof(err));
	if (erc && !rc) {
		fprintf(stderr, "afgwctl number import: %s\n", err);
		rc = 1;
	}
	if (!rc)
		printf("imported %" PRIu64 " numbers into the %s list\n", count,
		       afgw_rep_list_name(base.list));
out:
	if (f != stdin)
		fclose(f);
	close_common(&p->c);
	return rc;
}

int ctl_number_main(int argc, char **argv)
{
	struct parsed p;
	memset(&p, 0, sizeof(p));
	if (argc < 2) {
		fputs(usage_number, stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		fputs(usage_number, stdout);
		return 0;
	}
	int rc = parse_args("number", usage_number, argc - 1, argv + 1, &p);
	if (rc >= 0)
		return rc;
	bool needs_number = !strcmp(sub, "add") || !strcmp(sub, "del") || !strcmp(sub, "show");
	if (!needs_number && strcmp(sub, "list") && strcmp(sub, "import"))
		return fail("number", "unknown subcommand '%s'", sub);
	if ((needs_number || !strcmp(sub, "import")) && p.n_args != 1)
		return fail("number", "expected one NUMBER (or FILE for import)");
	if (!strcmp(sub, "list") && p.n_args)
		return fail("number", "unexpected argument '%s'", p.args[0]);
	if (!strcmp(sub, "import"))
		return number_import(&p, p.args[0]);

	struct afgw_rep_entry e;
	if (!strcmp(sub, "add") && (rc = build_entry("number add", &p.e, &e)) != 0)
		return rc;
	int list = -1;
	if (!strcmp(sub, "list") && p.e.list) {
		enum afgw_rep_list l;
		if (afgw_rep_list_parse(p.e.list, &l) != 0)
			return fail("number", "bad --list '%s' (black, gray, allow or none)", p.e.list);
		list = (int)l;
	}
	if ((rc = connect_common("number", &p.c)) != 0)
		return rc;
	struct afgw_number n;
	if (needs_number && (rc = canon_of("number", p.args[0], p.c.country_code, &n)) != 0)
		goto out;
	struct afgw_str canon = afgw_str_make(n.canon, needs_number ? n.len : 0);
	char err[AFGW_REP_ERR];
	if (!strcmp(sub, "add")) {
		rc = afgw_rep_put(p.c.conn, canon, &e, err, sizeof(err));
		if (rc == 0)
			print_entry(n.canon, &e, &p.c.cfg.score);
	} else if (!strcmp(sub, "del")) {
		rc = afgw_rep_del(p.c.conn, canon, err, sizeof(err));
		if (rc == 0)
			printf("%s\tremoved\n", n.canon);
	} else if (!strcmp(sub, "show")) {
		rc = afgw_rep_get(p.c.conn, canon, &e, err, sizeof(err));
		if (rc == 0)
			print_entry(n.canon, &e, &p.c.cfg.score);
	} else {
		struct list_filter f = { list, &p.c.cfg.score, 0 };
		rc = afgw_rep_list(p.c.conn, list_one, &f, err, sizeof(err));
		if (rc == 0)
			fprintf(stderr, "%" PRIu64 " numbers\n", f.n);
	}
	if (rc == -ENOENT) {
		fprintf(stderr, "afgwctl number %s: %s: %s\n", sub, n.canon, err);
		rc = 1;
	} else if (rc) {
		fprintf(stderr, "afgwctl number %s: %s\n", sub, err);
		rc = rc == -EINVAL ? 2 : 1;
	}
out:
	close_common(&p.c);
	return rc;
}

int ctl_report_main(int argc, char **argv)
{
	struct parsed p;
	memset(&p, 0, sizeof(p));
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_report, stdout);
		return 0;
	}
	int rc = parse_args("report", usage_report, argc, argv, &p);
	if (rc >= 0)
		return rc;
	if (p.n_args != 1)
		return fail("report", "expected one NUMBER");
	if (!p.reporter || !afgw_rep_reporter_ok(p.reporter))
		return fail("report", "bad or missing --reporter '%s' ([A-Za-z0-9_.:-], 1..64)",
			    p.reporter ? p.reporter : "");
	if (!p.e.category || !afgw_rep_category_ok(p.e.category))
		return fail("report", "bad or missing --category '%s' ([a-z0-9_-], 1..32)",
			    p.e.category ? p.e.category : "");
	unsigned long window = 90;
	if (p.window && (!parse_ulong(p.window, 3650, &window) || window == 0))
		return fail("report", "bad --window-days '%s' (1..3650)", p.window);
	if ((rc = connect_common("report", &p.c)) != 0)
		return rc;
	struct afgw_number n;
	if ((rc = canon_of("report", p.args[0], p.c.country_code, &n)) != 0)
		goto out;
	char err[AFGW_REP_ERR];
	unsigned reports = 0;
	rc = afgw_rep_report(p.c.conn, afgw_str_make(n.canon, n.len), p.reporter, p.e.category,
			     time(NULL), (unsigned)window, &reports, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "afgwctl report: %s\n", err);
		rc = rc == -EINVAL ? 2 : 1;
	} else {
		printf("%s\t%u distinct reporters\n", n.canon, reports);
	}
out:
	close_common(&p.c);
	return rc;
}
