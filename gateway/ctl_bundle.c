/*
 * ctl_bundle.c - afgwctl bundle build|sign|verify|show|push: the police
 * side of bundles (bundle.h; rules/README.md "Bundles" has the format).
 *
 * build packs a directory of rule files and number lists into an
 * unsigned bundle, checking every part as a gateway will load it; sign
 * adds one police key's signature (run it once per signer, on the signing
 * host: the secret key never leaves it); verify checks a bundle exactly as
 * a gateway does against a keyring; show prints what a bundle holds
 * without a keyring; push hands a signed bundle to the fleet through
 * Redis (bundle_watch.h), where every gateway verifies it itself.
 *
 * Files are never half-written: build creates its output with O_EXCL and
 * sign replaces the bundle through a temporary file and a rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "afgw/bundle.h"
#include "afgw/bundle_watch.h"
#include "afgw/fileio.h"
#include "afgw/config.h"
#include "afgw/keys.h"
#include "afgw/redis.h"

#define SCOPES_MAX 16

static const char usage[] =
	"usage: afgwctl bundle build DIR --serial N [--expires WHEN] [--issued WHEN]\n"
	"                            [--scope S] [--country-code N] -o FILE\n"
	"       afgwctl bundle sign FILE --key POLICE.key\n"
	"       afgwctl bundle verify FILE --trust KEYRING [--scope S]... [--now UNIX]\n"
	"       afgwctl bundle show FILE\n"
	"       afgwctl bundle push FILE [--redis URL | -c CONFIG] [--force]\n"
	"\n"
	"A bundle is what the police sign and push to every gateway: rule files and\n"
	"number lists with a serial, a validity period and a scope, signed with one or\n"
	"more police keys (afgwctl keygen police).  rules/README.md \"Bundles\" has the\n"
	"format byte for byte.\n"
	"\n"
	"build   pack the files directly inside DIR, in name order: *.yaml / *.yml are\n"
	"        rule files, *.numbers / *.txt number lists (lines 'NUMBER LIST SCORE\n"
	"        CATEGORY [EXPIRES]'); every part is loaded as a gateway will (rules\n"
	"        are not compiled here: 'afgwctl rules check DIR' does that).  FILE is\n"
	"        created, never overwritten, and is unsigned.\n"
	"sign    add the signature of POLICE.key (run once per signer)\n"
	"verify  check FILE as a gateway does: signatures against KEYRING (police .pub\n"
	"        lines and an optional 'threshold M'), expiry, scope, part hashes.\n"
	"        Prints 'ok serial N hash H signed by IDS' (exit 0) or\n"
	"        'refused: REASON: detail' (exit 1).\n"
	"show    print the header, the parts and the signers' key ids (signatures not\n"
	"        verified)\n"
	"push    store FILE in Redis as the fleet's current bundle and notify the\n"
	"        gateways; a serial not above the stored one is refused unless --force\n"
	"\n"
	"options:\n"
	"  --serial N          the bundle's serial, above every earlier one (>= 1)\n"
	"  --expires WHEN      end of validity (default +30d)\n"
	"  --issued WHEN       start of validity (default now)\n"
	"                      WHEN is YYYY-MM-DD (00:00 UTC), Unix seconds, +Nd or +Nh\n"
	"  --scope S           build: the gateways it is for, \"*\" (default) or a name of\n"
	"                      [a-z0-9._-]; verify: the gateway's scope (repeatable;\n"
	"                      without it a bundle of any scope passes)\n"
	"  --country-code N    default country code for the number lists (default 86)\n"
	"  -o, --out FILE      where build writes the bundle\n"
	"  --key FILE          a police secret key (mode 0600)\n"
	"  --trust FILE        a keyring of trusted police public keys\n"
	"  --now UNIX          verify as of this time (default: now)\n"
	"  --redis URL         unix:///path/redis.sock or tcp://host:port (default\n"
	"                      $AFGW_REDIS)\n"
	"  -c, --config FILE   take the Redis address from a gateway config\n"
	"  --force             push even if Redis holds a bundle with a serial not below\n"
	"                      FILE's\n"
	"\n"
	"exit status: 0 done, 1 refused or runtime failure, 2 bad usage or input.\n";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fputs("afgwctl bundle: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try 'afgwctl bundle --help')\n", stderr);
	return 2;
}

/* A runtime error (or bad input with status): one line, the status returned. */
static int error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int error(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("afgwctl bundle: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

enum {
	O_SERIAL = 256,
	O_EXPIRES,
	O_ISSUED,
	O_SCOPE,
	O_CC,
	O_KEY,
	O_TRUST,
	O_NOW,
	O_REDIS,
	O_FORCE,
	O_OUT = 'o',
	O_CONFIG = 'c',
};

static const struct option opts[] = {
	{ "serial", required_argument, NULL, O_SERIAL },
	{ "expires", required_argument, NULL, O_EXPIRES },
	{ "issued", required_argument, NULL, O_ISSUED },
	{ "scope", required_argument, NULL, O_SCOPE },
	{ "country-code", required_argument, NULL, O_CC },
	{ "out", required_argument, NULL, O_OUT },
	{ "key", required_argument, NULL, O_KEY },
	{ "trust", required_argument, NULL, O_TRUST },
	{ "now", required_argument, NULL, O_NOW },
	{ "redis", required_argument, NULL, O_REDIS },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "force", no_argument, NULL, O_FORCE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *what;              /* DIR or FILE */
	const char *serial, *expires, *issued, *cc, *out, *key, *trust, *now, *redis, *config;
	const char *scope[SCOPES_MAX + 1];
	unsigned n_scopes;
	bool force;
	const char *given[8];          /* options given, for "not for this subcommand" */
	unsigned n_given;
};

static void given(struct args *a, const char *name)
{
	if (a->n_given < AFGW_ARRAY_SIZE(a->given))
		a->given[a->n_given++] = name;
}

/* Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
	int ch, idx;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "-o:c:h", opts, &idx)) != -1) {
		const char **slot = NULL;
		switch (ch) {
		case 1:
			if (a->what)
				return fail("unexpected argument '%s'", optarg);
			a->what = optarg;
			continue;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case O_SERIAL: slot = &a->serial; break;
		case O_EXPIRES: slot = &a->expires; break;
		case O_ISSUED: slot = &a->issued; break;
		case O_CC: slot = &a->cc; break;
		case O_OUT: slot = &a->out; break;
		case O_KEY: slot = &a->key; break;
		case O_TRUST: slot = &a->trust; break;
		case O_NOW: slot = &a->now; break;
		case O_REDIS: slot = &a->redis; break;
		case O_CONFIG: slot = &a->config; break;
		case O_FORCE:
			a->force = true;
			given(a, "force");
			continue;
		case O_SCOPE:
			if (a->n_scopes == SCOPES_MAX)
				return fail("more than %d --scope options", SCOPES_MAX);
			a->scope[a->n_scopes++] = optarg;
			given(a, "scope");
			continue;
		default:
			return fail("unknown or incomplete option '%s'", argv[optind - 1]);
		}
		if (*slot)
			return fail("option '%s' given twice", argv[optind - 1]);
		*slot = optarg;
		for (const struct option *o = opts; o->name; o++)
			if (o->val == ch)
				given(a, o->name);
	}
	return -1;
}

/* Refuse options the subcommand does not take; allowed is a space-separated list. */
static int only(const struct args *a, const char *sub, const char *allowed)
{
	for (unsigned i = 0; i < a->n_given; i++) {
		const char *p = strstr(allowed, a->given[i]);
		size_t n = strlen(a->given[i]), at = p ? (size_t)(p - allowed) : 0;
		if (!p || (at && allowed[at - 1] != ' ') || (allowed[at + n] != ' ' && allowed[at + n] != '\0'))
			return fail("--%s is not an option of 'bundle %s'", a->given[i], sub);
	}
	return -1;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* WHEN: YYYY-MM-DD, Unix seconds, or +Nd / +Nh from now. */
static bool parse_when(const char *s, int64_t now, int64_t *out)
{
	if (s[0] == '+') {
		size_t n = strlen(s);
		uint64_t v;
		char unit = n > 2 ? s[n - 1] : 0;
		char num[16];
		if ((unit != 'd' && unit != 'h') || n - 2 >= sizeof(num))
			return false;
		memcpy(num, s + 1, n - 2);
		num[n - 2] = '\0';
		if (!parse_u64(num, unit == 'd' ? 36500 : 36500 * 24, &v))
			return false;
		*out = now + (int64_t)v * (unit == 'd' ? 86400 : 3600);
		return true;
	}
	return afgw_bundle_time_parse(s, strlen(s), out) == 0;
}

/* n bytes as 2n lowercase hex digits and a NUL. */
static void to_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
}

/*
 * Read a bundle file (at most AFGW_BUNDLE_MAX bytes).  Returns 0, or an
 * exit status with the line printed.
 */
static int read_bundle(const char *path, uint8_t **buf, size_t *len, struct stat *st_out)
{
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return error(errno == ENOENT ? 2 : 1, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return error(2, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > AFGW_BUNDLE_MAX) {
		close(fd);
		return error(2, "%s: %lld bytes, larger than any bundle may be", path,
			     (long long)st.st_size);
	}
	size_t cap = (size_t)st.st_size, n = 0;
	uint8_t *b = malloc(cap ? cap : 1);
	if (!b) {
		close(fd);
		return error(1, "out of memory");
	}
	while (n < cap) {
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;
			free(b);
			close(fd);
			return error(1, "%s: %s", path, r < 0 ? strerror(e) : "changed while read");
		}
		n += (size_t)r;
	}
	close(fd);
	if (st_out)
		*st_out = st;
	*buf = b;
	*len = n;
	return 0;
}

/* fsync the directory of path, so that a new name survives a crash. */
static void sync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= sizeof(dir))
		return;
	if (n == 0) {
		memcpy(dir, slash ? "/" : ".", 2);
	} else {
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* ---- build ------------------------------------------------------------ */

static int cmd_build(const struct args *a)
{
	int rc = only(a, "build", "serial expires issued scope country-code out");
	if (rc >= 0)
		return rc;
	if (!a->what)
		return fail("build: which directory?");
	if (!a->serial)
		return fail("build: --serial N is needed");
	if (!a->out)
		return fail("build: -o FILE is needed");
	if (a->n_scopes > 1)
		return fail("build: a bundle has one --scope");
	struct afgw_bundle_build_opts o;
	memset(&o, 0, sizeof(o));
	if (!parse_u64(a->serial, UINT64_MAX, &o.serial) || o.serial == 0)
		return fail("bad --serial '%s' (1..%" PRIu64 ")", a->serial, UINT64_MAX);
	int64_t now = (int64_t)time(NULL);
	o.issued_at = now;
	o.expires_at = now + 30 * 86400;
	if (a->issued && !parse_when(a->issued, now, &o.issued_at))
		return fail("bad --issued '%s' (YYYY-MM-DD, Unix seconds, +Nd or +Nh)", a->issued);
	if (a->expires && !parse_when(a->expires, now, &o.expires_at))
		return fail("bad --expires '%s' (YYYY-MM-DD, Unix seconds, +Nd or +Nh)", a->expires);
	if (o.expires_at <= o.issued_at)
		return fail("--expires must be after --issued");
	o.scope = a->n_scopes ? a->scope[0] : "*";
	uint64_t cc = 86;
	if (a->cc && (!parse_u64(a->cc, 999, &cc) || cc == 0))
		return fail("bad --country-code '%s' (1..999)", a->cc);
	o.country_code = (unsigned)cc;

	uint8_t *buf = NULL;
	size_t len = 0;
	char err[AFGW_BUNDLE_ERR];
	rc = afgw_bundle_build(a->what, &o, &buf, &len, err, sizeof(err));
	if (rc)
		return error(rc == -EINVAL ? 2 : 1, "%s", err);
	struct afgw_bundle_header h;
	if (afgw_bundle_header_parse(buf, len, &h, err, sizeof(err)) != AFGW_BUNDLE_OK) {
		free(buf);
		return error(1, "internal error: %s", err);
	}
	int fd = open(a->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0) {
		int e = errno;
		free(buf);
		if (e == EEXIST)
			return error(1, "%s exists; not overwriting", a->out);
		return error(1, "%s: %s", a->out, strerror(e));
	}
	rc = afgw_write_all(fd, buf, len);
	if (!rc && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && !rc)
		rc = -errno;
	free(buf);
	if (rc) {
		unlink(a->out);
		return error(1, "%s: %s", a->out, strerror(-rc));
	}
	sync_dir_of(a->out);
	char exp[32];
	fmt_time(h.expires_at, exp, sizeof(exp));
	printf("%s: serial %" PRIu64 ", %u part%s, %zu bytes, scope %s, expires %s\n", a->out,
	       h.serial, h.n_parts, h.n_parts == 1 ? "" : "s", len, h.scope, exp);
	for (unsigned i = 0; i < h.n_parts; i++)
		printf("  %-7s %s\n", h.part[i].type == AFGW_BUNDLE_PART_RULES ? "rules" : "numbers",
		       h.part[i].name);
	printf("hash %s\nunsigned: sign it with 'afgwctl bundle sign %s --key POLICE.key'\n",
	       h.hash_hex, a->out);
	return 0;
}

/* ---- sign --------------------------------------------------------------- */

/* Replace path with buf: a temporary file beside it, fsync, rename. */
static int replace(const char *path, const uint8_t *buf, size_t len, mode_t mode)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (fchmod(fd, mode & 07777) != 0)
		rc = -errno;
	if (!rc)
		rc = afgw_write_all(fd, buf, len);
	if (!rc && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) != 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	sync_dir_of(path);
	return 0;
}

static int cmd_sign(const struct args *a)
{
	int rc = only(a, "sign", "key");
	if (rc >= 0)
		return rc;
	if (!a->what)
		return fail("sign: which bundle file?");
	if (!a->key)
		return fail("sign: --key POLICE.key is needed");
	char err[AFGW_BUNDLE_ERR];
	struct afgw_sign_key *k = NULL;
	if (afgw_keys_init() != 0)
		return error(1, "libsodium failed to initialise");
	rc = afgw_sign_key_load(a->key, &k, err, sizeof(err));
	if (rc)
		return error(rc == -ENOMEM || rc == -EIO ? 1 : 2, "%s", err);
	uint8_t *buf;
	size_t len;
	struct stat st;
	rc = read_bundle(a->what, &buf, &len, &st);
	if (rc) {
		afgw_sign_key_free(k);
		return rc;
	}
	rc = afgw_bundle_sign(buf, len, k, err, sizeof(err));
	char id[AFGW_KEY_ID_HEX];
	memcpy(id, k->id, sizeof(id));
	afgw_sign_key_free(k);
	if (rc) {
		free(buf);
		return error(rc == -EINVAL ? 2 : 1, "%s: %s", a->what, err);
	}
	struct afgw_bundle_header h;
	if (afgw_bundle_header_parse(buf, len, &h, err, sizeof(err)) != AFGW_BUNDLE_OK) {
		free(buf);
		return error(1, "internal error: %s", err);
	}
	rc = replace(a->what, buf, len, st.st_mode);
	free(buf);
	if (rc)
		return error(1, "%s: %s", a->what, strerror(-rc));
	printf("%s: signed by %s; signatures by", a->what, id);
	for (unsigned i = 0; i < h.n_sigs; i++) {
		char sid[AFGW_KEY_ID_HEX];
		to_hex(h.sig[i].key_id, AFGW_KEY_ID_BYTES, sid);
		printf("%s%s", i ? "," : " ", sid);
	}
	printf("\n");
	return 0;
}

/* ---- verify ------------------------------------------------------------- */

static int cmd_verify(struct args *a)
{
	int rc = only(a, "verify", "trust scope now");
	if (rc >= 0)
		return rc;
	if (!a->what)
		return fail("verify: which bundle file?");
	if (!a->trust)
		return fail("verify: --trust KEYRING is needed");
	int64_t now = (int64_t)time(NULL);
	uint64_t n;
	if (a->now) {
		if (!parse_u64(a->now, INT64_MAX, &n))
			return fail("bad --now '%s' (Unix seconds)", a->now);
		now = (int64_t)n;
	}
	if (afgw_keys_init() != 0)
		return error(1, "libsodium failed to initialise");
	struct afgw_keyring kr;
	char err[AFGW_BUNDLE_ERR];
	rc = afgw_keyring_load(a->trust, &kr, err, sizeof(err));
	if (rc)
		return error(rc == -EINVAL || rc == -ENOENT ? 2 : 1, "%s", err);
	uint8_t *buf;
	size_t len;
	if ((rc = read_bundle(a->what, &buf, &len, NULL)) != 0)
		return rc;
	a->scope[a->n_scopes] = NULL;
	struct afgw_bundle_policy pol = { &kr, now, a->n_scopes ? a->scope : NULL };
	struct afgw_bundle *b = NULL;
	struct afgw_bundle_report rep;
	rc = afgw_bundle_verify(buf, len, &pol, &b, &rep);
	free(buf);
	afgw_bundle_free(b);
	if (rc == -ENOMEM)
		return error(1, "out of memory");
	if (rc) {
		printf("refused: %s: %s\n", afgw_bundle_reason_name(rep.reason), rep.detail);
		return 1;
	}
	printf("ok serial %" PRIu64 " hash %s signed by", rep.serial, rep.hash_hex);
	for (unsigned i = 0; i < rep.n_signers; i++)
		printf("%s%s", i ? "," : " ", rep.signers[i]);
	printf("\n");
	return 0;
}

/*
 * Read the bundle at path and decode its fixed prefix (no signature
 * checked).  Returns 0 with *buf (malloc'd) and *h, or the exit status
 * after one line on stderr.
 */
static int read_header(const char *path, uint8_t **buf, size_t *len,
		       struct afgw_bundle_header *h)
{
	int rc = read_bundle(path, buf, len, NULL);
	if (rc)
		return rc;
	char err[AFGW_BUNDLE_ERR];
	enum afgw_bundle_reason r = afgw_bundle_header_parse(*buf, *len, h, err, sizeof(err));
	if (r != AFGW_BUNDLE_OK) {
		free(*buf);
		*buf = NULL;
		return error(2, "%s: not a readable bundle: %s: %s", path,
			     afgw_bundle_reason_name(r), err);
	}
	return 0;
}

/* ---- show ---------------------------------------------------------------- */

static int cmd_show(const struct args *a)
{
	int rc = only(a, "show", "");
	if (rc >= 0)
		return rc;
	if (!a->what)
		return fail("show: which bundle file?");
	if (afgw_keys_init() != 0)
		return error(1, "libsodium failed to initialise");
	uint8_t *buf;
	size_t len;
	struct afgw_bundle_header h;
	if ((rc = read_header(a->what, &buf, &len, &h)) != 0)
		return rc;
	char iss[32], exp[32];
	fmt_time(h.issued_at, iss, sizeof(iss));
	fmt_time(h.expires_at, exp, sizeof(exp));
	printf("%s: afgw bundle, format %" PRIu32 ", %zu bytes\n", a->what, h.version, len);
	printf("serial     %" PRIu64 "\n", h.serial);
	printf("hash       %s\n", h.hash_hex);
	printf("issued     %s (%" PRId64 ")\n", iss, h.issued_at);
	printf("expires    %s (%" PRId64 ")\n", exp, h.expires_at);
	printf("scope      %s\n", h.scope);
	printf("parts      %" PRIu32 ", %" PRIu64 " bytes\n", h.n_parts, h.payload_size);
	for (unsigned i = 0; i < h.n_parts; i++) {
		const struct afgw_bundle_part *p = &h.part[i];
		char hex[AFGW_BUNDLE_HASH_HEX];
		to_hex(p->hash, AFGW_BUNDLE_HASH_BYTES, hex);
		printf("  %-2u %-7s %9" PRIu64 " bytes  %-15s blake2b %s\n", i,
		       p->type == AFGW_BUNDLE_PART_RULES ? "rules" : "numbers", p->size, p->name,
		       hex);
	}
	printf("signatures %" PRIu32 "\n", h.n_sigs);
	for (unsigned i = 0; i < h.n_sigs; i++) {
		char sid[AFGW_KEY_ID_HEX];
		to_hex(h.sig[i].key_id, AFGW_KEY_ID_BYTES, sid);
		printf("  %-2u key id %s\n", i, sid);
	}
	printf("signatures not verified: 'afgwctl bundle verify %s --trust KEYRING' checks them\n",
	       a->what);
	free(buf);
	return 0;
}

/* ---- push ----------------------------------------------------------------- */

static int cmd_push(const struct args *a)
{
	int rc = only(a, "push", "redis config force");
	if (rc >= 0)
		return rc;
	if (!a->what)
		return fail("push: which bundle file?");
	uint8_t *buf;
	size_t len;
	struct afgw_bundle_header h;
	if ((rc = read_header(a->what, &buf, &len, &h)) != 0)
		return rc;
	if (h.n_sigs == 0) {
		free(buf);
		return error(2, "%s is not signed; no gateway would accept it (afgwctl bundle sign)",
			     a->what);
	}

	struct afgw_config cfg;
	struct afgw_redis *c = NULL;
	if ((rc = ctl_config_load("bundle", a->config, &cfg)) != 0) {
		free(buf);
		return rc;
	}
	if ((rc = ctl_redis_connect("bundle", a->redis, &cfg, &c)) != 0)
		goto out;
	long long receivers = 0;
	char err[AFGW_BUNDLE_ERR];
	rc = afgw_bundle_push(c, buf, len, a->force, &receivers, err, sizeof(err));
	if (rc) {
		rc = error(rc == -EINVAL ? 2 : 1, "%s: %s", a->what, err);
		goto out;
	}
	printf("pushed serial %" PRIu64 " hash %s: %lld gateway%s notified\n", h.serial, h.hash_hex,
	       receivers, receivers == 1 ? "" : "s");
	rc = 0;
out:
	afgw_redis_close(c);
	afgw_config_fini(&cfg);
	free(buf);
	return rc;
}

int ctl_bundle_main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	struct args a;
	memset(&a, 0, sizeof(a));
	bool known = !strcmp(sub, "build") || !strcmp(sub, "sign") || !strcmp(sub, "verify") ||
		     !strcmp(sub, "show") || !strcmp(sub, "push");
	if (!known)
		return fail("unknown subcommand '%s' (build, sign, verify, show or push)", sub);
	int rc = parse_args(argc - 1, argv + 1, &a);
	if (rc >= 0)
		return rc;
	if (!strcmp(sub, "build"))
		return cmd_build(&a);
	if (!strcmp(sub, "sign"))
		return cmd_sign(&a);
	if (!strcmp(sub, "verify"))
		return cmd_verify(&a);
	if (!strcmp(sub, "show"))
		return cmd_show(&a);
	return cmd_push(&a);
}
