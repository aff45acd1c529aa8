/*
 * ctl_sub.c - afgwctl sub add|del|show: the app back end's writes to the
 * subscriber registry (subscriber.h has the schema).
 *
 * A registration ties a subscriber's MSISDN to an app account id and the
 * account's X25519 public key, which the gateways seal warnings to.  The
 * MSISDN is canonicalised exactly as the gateway does (number.h), and the
 * whole registration is checked before anything is written, so a typo is
 * a usage error, never a record the gateways cannot read.  The Redis
 * address comes from --redis, else from the config file of -c, else from
 * $AFGW_REDIS (as for afgwctl number).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "afgw/config.h"
#include "afgw/keys.h"
#include "afgw/number.h"
#include "afgw/subscriber.h"

static const char usage[] =
	"usage: afgwctl sub add MSISDN --account ID --pubkey FILE|BASE64 [OPTIONS]\n"
	"       afgwctl sub del MSISDN [OPTIONS]\n"
	"       afgwctl sub show MSISDN [OPTIONS]\n"
	"\n"
	"The subscriber registry in Redis: which subscribers have an anti-fraud app\n"
	"account, and the account's public key their warnings are sealed to.  Every\n"
	"gateway of the fleet keeps a replica of it (changes reach them within a second).\n"
	"MSISDN is written any way a number is written (13800138000, +86 138-0013-8000)\n"
	"and stored in canonical form.  add registers, or renews a registration (the new\n"
	"one replaces it); del removes it; show prints it.\n"
	"\n"
	"options:\n"
	"  --account ID       app account id, [A-Za-z0-9_.@-], 1..64 characters\n"
	"  --pubkey K         the account's X25519 public key: the app's .pub file\n"
	"                     (afgwctl keygen app) or its base64 text\n"
	"  --prefs P          what to warn about: c calls, s SMS, l look-back, any of\n"
	"                     them in any order, or - for nothing (default csl)\n"
	"  --days N           the registration lapses after N days unless renewed\n"
	"                     (default 365, at most 7300)\n"
	"  --redis URL        unix:///path/redis.sock or tcp://host:port\n"
	"  -c, --config FILE  take the Redis address and country code from a gateway config\n"
	"  --country-code N   default country code for MSISDN (default 86)\n";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fputs("afgwctl sub: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try 'afgwctl sub --help')\n", stderr);
	return 2;
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/*
 * --pubkey: a .pub file if one can be opened under that name, else the
 * key's text (the base64, or a .pub file's line).  Returns 0, or 2 with
 * one line on stderr.
 */
static int read_pubkey(const char *arg, uint8_t pk[AFGW_BOX_PUBLIC_BYTES])
{
	FILE *f = fopen(arg, "r");
	if (!f) {
		int e = errno;
		if (afgw_box_pub_parse(arg, strlen(arg), pk) == 0)
			return 0;
		fprintf(stderr,
			"afgwctl sub: --pubkey '%s' is neither a readable file (%s) nor a base64 "
			"X25519 public key\n",
			arg, strerror(e));
		return 2;
	}
	char text[4096];
	size_t n = fread(text, 1, sizeof(text), f);
	bool whole = feof(f) && !ferror(f);
	fclose(f);
	if (!whole || afgw_box_pub_parse(text, n, pk) != 0) {
		fprintf(stderr, "afgwctl sub: %s: not an app public key file "
				"(afgw-box-public-v1 BASE64)\n", arg);
		return 2;
	}
	return 0;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
}

static void print_entry(const char *msisdn, const struct afgw_sub_entry *e)
{
	char pk[64], prefs[4], reg[32], exp[32];
	afgw_base64(e->pk, sizeof(e->pk), pk, sizeof(pk));
	afgw_sub_prefs_format(e->prefs, prefs);
	fmt_time(e->registered, reg, sizeof(reg));
	fmt_time(e->expires, exp, sizeof(exp));
	printf("%s\taccount %s\tpubkey %s\tprefs %s\tregistered %s\texpires %s%s\n", msisdn,
	       e->account, pk, prefs, reg, exp, e->expires <= time(NULL) ? " (lapsed)" : "");
}

enum { O_ACCOUNT = 256, O_PUBKEY, O_PREFS, O_DAYS, O_REDIS, O_CC };

static const struct option opts[] = {
	{ "account", required_argument, NULL, O_ACCOUNT },
	{ "pubkey", required_argument, NULL, O_PUBKEY },
	{ "prefs", required_argument, NULL, O_PREFS },
	{ "days", required_argument, NULL, O_DAYS },
	{ "redis", required_argument, NULL, O_REDIS },
	{ "config", required_argument, NULL, 'c' },
	{ "country-code", required_argument, NULL, O_CC },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *msisdn, *account, *pubkey, *prefs, *days, *redis, *config;
	unsigned long country_code;
};

/* Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
	int ch;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "-c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 1:
			if (a->msisdn)
				return fail("unexpected argument '%s'", optarg);
			a->msisdn = optarg;
			break;
		case O_ACCOUNT: a->account = optarg; break;
		case O_PUBKEY: a->pubkey = optarg; break;
		case O_PREFS: a->prefs = optarg; break;
		case O_DAYS: a->days = optarg; break;
		case O_REDIS: a->redis = optarg; break;
		case 'c': a->config = optarg; break;
		case O_CC:
			if (!parse_ulong(optarg, 999, &a->country_code) || a->country_code == 0)
				return fail("bad --country-code '%s' (1..999)", optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return fail("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	return -1;
}

/* The registration add writes, from the options.  Returns 0 or 2. */
static int build_entry(const struct args *a, struct afgw_sub_entry *e)
{
	memset(e, 0, sizeof(*e));
	if (!a->account || !afgw_sub_account_ok(a->account))
		return fail("bad or missing --account '%s' ([A-Za-z0-9_.@-], 1..64 characters)",
			    a->account ? a->account : "");
	memcpy(e->account, a->account, strlen(a->account) + 1);
	if (!a->pubkey)
		return fail("--pubkey FILE|BASE64 is needed");
	if (read_pubkey(a->pubkey, e->pk) != 0)
		return 2;
	e->prefs = AFGW_SUB_CALLS | AFGW_SUB_SMS | AFGW_SUB_LOOKBACK;
	if (a->prefs && afgw_sub_prefs_parse(a->prefs, &e->prefs) != 0)
		return fail("bad --prefs '%s' (letters c, s, l, or -)", a->prefs);
	unsigned long days = 365;
	if (a->days && (!parse_ulong(a->days, 7300, &days) || days == 0))
		return fail("bad --days '%s' (1..7300)", a->days);
	e->registered = time(NULL);
	e->expires = e->registered + (int64_t)days * 86400;
	return 0;
}

/* add, del or show of one canonical MSISDN.  Returns the exit status. */
static int run(const char *sub, const struct args *a, const struct afgw_config *cfg,
	       const char *canon, struct afgw_sub_entry *e)
{
	struct afgw_redis *c = NULL;
	int rc = ctl_redis_connect("sub", a->redis, cfg, &c);
	if (rc)
		return rc;
	struct afgw_str msisdn = afgw_str_make(canon, strlen(canon));
	char err[AFGW_SUB_ERR];
	bool add = !strcmp(sub, "add"), del = !strcmp(sub, "del");
	if (add)
		rc = afgw_sub_put(c, msisdn, e, err, sizeof(err));
	else if (del)
		rc = afgw_sub_del(c, msisdn, err, sizeof(err));
	else
		rc = afgw_sub_get(c, msisdn, e, err, sizeof(err));
	afgw_redis_close(c);
	if (rc == -ENOENT) {
		fprintf(stderr, "afgwctl sub %s: %s: not registered\n", sub, canon);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "afgwctl sub %s: %s\n", sub, err);
		return rc == -EINVAL && add ? 2 : 1; /* show: a stored record that is bad */
	}
	if (del)
		printf("%s\tremoved\n", canon);
	else
		print_entry(canon, e);
	return 0;
}

int ctl_sub_main(int argc, char **argv)
{
	struct args a;
	memset(&a, 0, sizeof(a));
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	bool add = !strcmp(sub, "add");
	if (!add && strcmp(sub, "del") && strcmp(sub, "show"))
		return fail("unknown subcommand '%s' (add, del or show)", sub);
	int rc = parse_args(argc - 1, argv + 1, &a);
	if (rc >= 0)
		return rc;
	if (!a.msisdn)
		return fail("expected one MSISDN");
	if (!add && (a.account || a.pubkey || a.prefs || a.days))
		return fail("--account, --pubkey, --prefs and --days are for 'sub add' only");

	struct afgw_sub_entry e;
	if (add && (rc = build_entry(&a, &e)) != 0)
		return rc;
	struct afgw_config cfg;
	if ((rc = ctl_config_load("sub", a.config, &cfg)) != 0) {
		return rc;
	} else {
		struct afgw_number n;
		afgw_number_canon(afgw_str_make(a.msisdn, strlen(a.msisdn)), AFGW_TON_NONE,
				  a.country_code ? (unsigned)a.country_code : cfg.country_code, &n);
		if (n.kind == AFGW_NUMBER_EMPTY || n.kind == AFGW_NUMBER_INVALID ||
		    n.kind == AFGW_NUMBER_ALPHA) {
			fprintf(stderr, "afgwctl sub: '%s' is not a phone number\n", a.msisdn);
			rc = 2;
		} else {
			rc = run(sub, &a, &cfg, n.canon, &e);
		}
	}
	afgw_config_fini(&cfg);
	return rc;
}
