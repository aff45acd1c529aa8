/*
 * test_bundle.c - police bundles: the keyring file, building and signing,
 * verification and every reason for a refusal (unsigned, unknown key, bad
 * signature, threshold, expired, not yet valid, scope, part hash,
 * truncated, oversized, garbage, version), the acceptance state (newer,
 * same, rollback, equivocation, also after a restart; a damaged state
 * file), the audit log as JSON, the rules and numbers parts, dates, and a
 * mutation test: 100,000 mutated copies of a signed bundle, none accepted.
 *
 * Police keys are generated into a mkdtemp directory (removed at the end);
 * bundles are built from part files written there.  With
 * AFGW_BUNDLE_FUZZ_SEEDS=DIR set, valid bundles signed by the fuzz
 * target's fixed key are written to DIR (seeds for fuzz_bundle).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "afgw/bundle.h"
#include "afgw/common.h"
#include "afgw/keys.h"
#include "afgw/reputation.h"
#include "afgw/rules.h"
#include "check.h"

#define NOW INT64_C(1800000000) /* 2027-01-15T08:00:00Z */

static char dir[64];
static struct afgw_sign_key *k1, *k2, *k3;
static struct afgw_sign_pub p1, p2, p3;

static const char *path_in(const char *name)
{
	static char p[32][256];
	static int k;
	k = (k + 1) % 32;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static void spit(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static void spits(const char *path, const char *text)
{
	spit(path, text, strlen(text));
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static bool has(const char *s, const char *sub)
{
	if (!strstr(s, sub)) {
		fprintf(stderr, "  '%s' does not contain '%s'\n", s, sub);
		return false;
	}
	return true;
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char p[512];
			snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
			rm_rf(p);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---- fixtures ---------------------------------------------------------- */

static const char rules_yaml[] =
	"version: 1\n"
	"rules:\n"
	"  - id: bundle.test.refund\n"
	"    kind: text\n"
	"    pattern: 'refund-bundle-test'\n"
	"    weight: 60\n"
	"    category: fake_cs\n"
	"    desc_zh: 测试规则\n"
	"    desc_en: a test rule\n"
	"    match:\n"
	"      - 'your refund-bundle-test is ready'\n"
	"    nomatch:\n"
	"      - 'hello'\n";

static const char numbers_txt[] =
	"# police list, 2027-01\n"
	"13800138000 black 90 investment\n"
	"\n"
	"+86-138-0013-8001\tgray 50 loan 2030-01-01   # until 2030\n"
	"95588 allow 0 bank 1900000000\n";

/* A directory of part files: rules (10_test.yaml) and numbers (black.numbers). */
static const char *make_src(const char *name, bool rules, bool numbers)
{
	const char *d = path_in(name);
	mkdir(d, 0700);
	char p[512];
	if (rules) {
		snprintf(p, sizeof(p), "%s/10_test.yaml", d);
		spits(p, rules_yaml);
	}
	if (numbers) {
		snprintf(p, sizeof(p), "%s/black.numbers", d);
		spits(p, numbers_txt);
	}
	return d;
}

/* Build from src and sign with each key of ks (NULL-terminated). */
static uint8_t *make_bundle(const char *src, uint64_t serial, int64_t issued, int64_t expires,
			    const char *scope, struct afgw_sign_key *const *ks, size_t *len)
{
	struct afgw_bundle_build_opts o = { serial, issued, expires, scope, 86 };
	uint8_t *buf = NULL;
	char err[AFGW_BUNDLE_ERR] = "";
	int rc = afgw_bundle_build(src, &o, &buf, len, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "build %s: %s\n", src, err);
		exit(1);
	}
	for (; ks && *ks; ks++) {
		rc = afgw_bundle_sign(buf, *len, *ks, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "sign: %s\n", err);
			exit(1);
		}
	}
	return buf;
}

static void keyring(struct afgw_keyring *kr, const struct afgw_sign_pub *a,
		    const struct afgw_sign_pub *b, unsigned threshold)
{
	memset(kr, 0, sizeof(*kr));
	kr->key[kr->n++] = *a;
	if (b)
		kr->key[kr->n++] = *b;
	kr->threshold = threshold;
}

/* Verify at NOW with no scope restriction; returns the reason. */
static enum afgw_bundle_reason verify(const uint8_t *buf, size_t len,
				      const struct afgw_keyring *kr, struct afgw_bundle_report *rep)
{
	struct afgw_bundle_policy pol = { kr, NOW, NULL };
	struct afgw_bundle *b = NULL;
	int rc = afgw_bundle_verify(buf, len, &pol, &b, rep);
	CHECK((rc == 0) == (rep->reason == AFGW_BUNDLE_OK));
	CHECK((rc == 0) == (b != NULL));
	afgw_bundle_free(b);
	return rep->reason;
}

static void check_reason(const uint8_t *buf, size_t len, const struct afgw_keyring *kr,
			 enum afgw_bundle_reason want, const char *detail_has)
{
	struct afgw_bundle_report rep;
	enum afgw_bundle_reason got = verify(buf, len, kr, &rep);
	if (got != want)
		fprintf(stderr, "  got %s (%s), wanted %s\n", afgw_bundle_reason_name(got),
			rep.detail, afgw_bundle_reason_name(want));
	CHECK_INT(got, want);
	if (detail_has)
		CHECK(has(rep.detail, detail_has));
}

/* ---- tests --------------------------------------------------------------- */

static void test_keys_setup(void)
{
	char err[AFGW_KEY_ERR];
	CHECK_INT(afgw_keys_generate(AFGW_KEY_SIGN, path_in("police1"), err, sizeof(err)), 0);
	CHECK_INT(afgw_keys_generate(AFGW_KEY_SIGN, path_in("police2"), err, sizeof(err)), 0);
	CHECK_INT(afgw_keys_generate(AFGW_KEY_SIGN, path_in("other"), err, sizeof(err)), 0);
	if (afgw_sign_key_load(path_in("police1.key"), &k1, err, sizeof(err)) ||
	    afgw_sign_key_load(path_in("police2.key"), &k2, err, sizeof(err)) ||
	    afgw_sign_key_load(path_in("other.key"), &k3, err, sizeof(err)) ||
	    afgw_sign_pub_load(path_in("police1.pub"), &p1, err, sizeof(err)) ||
	    afgw_sign_pub_load(path_in("police2.pub"), &p2, err, sizeof(err)) ||
	    afgw_sign_pub_load(path_in("other.pub"), &p3, err, sizeof(err))) {
		fprintf(stderr, "keys: %s\n", err);
		exit(1);
	}
}

static void test_keyring(void)
{
	char err[AFGW_BUNDLE_ERR];
	struct afgw_keyring kr;
	size_t l1, l2;
	char *t1 = slurp(path_in("police1.pub"), &l1), *t2 = slurp(path_in("police2.pub"), &l2);
	char text[4096];

	/* the two .pub files concatenated, and a threshold */
	snprintf(text, sizeof(text), "# fleet keyring\n%s\n%sthreshold 2\n", t1, t2);
	spits(path_in("ring"), text);
	CHECK_INT(afgw_keyring_load(path_in("ring"), &kr, err, sizeof(err)), 0);
	CHECK_INT(kr.n, 2);
	CHECK_INT(kr.threshold, 2);
	CHECK_CSTR(kr.key[0].id, p1.id);
	CHECK_CSTR(kr.key[1].id, p2.id);
	CHECK(memcmp(kr.key[1].pk, p2.pk, 32) == 0);

	/* default threshold 1, CRLF line ends */
	snprintf(text, sizeof(text), "%s", t1);
	for (char *c = strchr(text, '\n'); c; c = strchr(c + 2, '\n')) {
		memmove(c + 1, c, strlen(c) + 1);
		*c = '\r';
	}
	CHECK_INT(afgw_keyring_parse("r", text, strlen(text), &kr, err, sizeof(err)), 0);
	CHECK_INT(kr.n, 1);
	CHECK_INT(kr.threshold, 1);

	/* threshold above the key count */
	snprintf(text, sizeof(text), "%sthreshold 2\n", t1);
	CHECK_INT(afgw_keyring_parse("r", text, strlen(text), &kr, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "r:3: threshold 2 but only 1 key"));
	/* threshold 0, twice, junk */
	snprintf(text, sizeof(text), "%sthreshold 0\n", t1);
	CHECK_INT(afgw_keyring_parse("r", text, strlen(text), &kr, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text), "%sthreshold 1\nthreshold 1\n", t1);
	CHECK_INT(afgw_keyring_parse("r", text, strlen(text), &kr, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "r:4: a second threshold"));
	snprintf(text, sizeof(text), "%sthreshold one\n", t1);
	CHECK_INT(afgw_keyring_parse("r", text, strlen(text), &kr, err, sizeof(err)), -EINVAL);
	/* the same key twice */
	snprintf(text, sizeof(text), "%s%s", t1, t1);
	CHECK_INT(afgw_keyring_parse("r", text, strlen(text), &kr, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "listed twice"));
	/* no keys */
	CHECK_INT(afgw_keyring_parse("r", "# nothing\n", 10, &kr, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "no keys"));
	/* a secret key line is not a public key */
	CHECK_INT(afgw_keyring_parse("r", "afgw-sign-secret-v1 AAAA\n", 25, &kr, err, sizeof(err)),
		  -EINVAL);
	CHECK(has(err, "r:1: expected"));

	/* a key id that does not match its key is refused, not trusted */
	char pk64[64];
	afgw_base64(p1.pk, 32, pk64, sizeof(pk64));
	snprintf(text, sizeof(text), "afgw-sign-public-v1 %s %s\n", p2.id, pk64);
	CHECK_INT(afgw_keyring_parse("r", text, strlen(text), &kr, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "r:1: key id does not match the key"));
	snprintf(text, sizeof(text), "afgw-sign-public-v1 %s %s\n", p1.id, pk64);
	CHECK_INT(afgw_keyring_parse("r", text, strlen(text), &kr, err, sizeof(err)), 0);
	/* bad base64, extra field */
	snprintf(text, sizeof(text), "afgw-sign-public-v1 %s %.40s\n", p1.id, pk64);
	CHECK_INT(afgw_keyring_parse("r", text, strlen(text), &kr, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text), "afgw-sign-public-v1 %s %s x\n", p1.id, pk64);
	CHECK_INT(afgw_keyring_parse("r", text, strlen(text), &kr, err, sizeof(err)), -EINVAL);

	CHECK_INT(afgw_keyring_load(path_in("no-such-ring"), &kr, err, sizeof(err)), -ENOENT);
	free(t1);
	free(t2);
}

static void test_time_parse(void)
{
	int64_t t = -1;
	CHECK_INT(afgw_bundle_time_parse("1970-01-01", 10, &t), 0);
	CHECK_INT(t, 0);
	CHECK_INT(afgw_bundle_time_parse("2000-03-01", 10, &t), 0);
	CHECK_INT(t, 951868800);
	CHECK_INT(afgw_bundle_time_parse("2027-01-15", 10, &t), 0);
	CHECK_INT(t, 1800000000 - 8 * 3600);
	CHECK_INT(afgw_bundle_time_parse("2024-02-29", 10, &t), 0);
	CHECK_INT(t, 1709164800);
	CHECK_INT(afgw_bundle_time_parse("2100-12-31", 10, &t), 0);
	CHECK_INT(t, 4133894400);
	/* every day from 1970 to 2199 against gmtime */
	bool all = true;
	for (int64_t d = 0; d < 230 * 366; d += 1) {
		time_t tt = (time_t)(d * 86400);
		struct tm tm;
		gmtime_r(&tt, &tm);
		char s[48];
		snprintf(s, sizeof(s), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		if (afgw_bundle_time_parse(s, 10, &t) != 0 || t != d * 86400)
			all = false;
	}
	CHECK(all);
	CHECK_INT(afgw_bundle_time_parse("1800000000", 10, &t), 0);
	CHECK_INT(t, 1800000000);
	CHECK_INT(afgw_bundle_time_parse("0", 1, &t), 0);
	CHECK_INT(t, 0);
	static const char *const bad[] = { "2023-02-29", "2100-02-29", "2027-13-01", "2027-00-10",
					   "2027-01-00", "2027-04-31", "1969-12-31", "2027-1-15",
					   "-1", "+5", "", "12a", "1234567890123456789",
					   "2027/01/15", "2027-01-15 " };
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(bad); i++) {
		int rc = afgw_bundle_time_parse(bad[i], strlen(bad[i]), &t);
		if (rc != -EINVAL)
			fprintf(stderr, "  accepted time '%s'\n", bad[i]);
		CHECK_INT(rc, -EINVAL);
	}
}

static void test_build_and_header(void)
{
	const char *src = make_src("src-both", true, true);
	size_t len;
	uint8_t *buf = make_bundle(src, 7, NOW - 60, NOW + 86400, "prov.gd", NULL, &len);
	CHECK_INT(len, AFGW_BUNDLE_PREFIX_BYTES + strlen(rules_yaml) + strlen(numbers_txt));
	CHECK(memcmp(buf, "AFGWBNDL", 8) == 0);

	struct afgw_bundle_header h;
	char err[AFGW_BUNDLE_ERR];
	CHECK_INT(afgw_bundle_header_parse(buf, len, &h, err, sizeof(err)), AFGW_BUNDLE_OK);
	CHECK_INT(h.version, 1);
	CHECK_INT(h.n_parts, 2);
	CHECK_INT(h.serial, 7);
	CHECK_INT(h.issued_at, NOW - 60);
	CHECK_INT(h.expires_at, NOW + 86400);
	CHECK_CSTR(h.scope, "prov.gd");
	CHECK_INT(h.n_sigs, 0);
	/* in name order: "10_test.yaml" < "black.numbers" */
	CHECK_CSTR(h.part[0].name, "10_test.yaml");
	CHECK_INT(h.part[0].type, AFGW_BUNDLE_PART_RULES);
	CHECK_INT(h.part[0].size, strlen(rules_yaml));
	CHECK_INT(h.part[0].offset, AFGW_BUNDLE_PREFIX_BYTES);
	CHECK_CSTR(h.part[1].name, "black.numbers");
	CHECK_INT(h.part[1].type, AFGW_BUNDLE_PART_NUMBERS);
	CHECK_INT(h.part[1].offset, AFGW_BUNDLE_PREFIX_BYTES + strlen(rules_yaml));
	CHECK(memcmp(buf + h.part[1].offset, numbers_txt, strlen(numbers_txt)) == 0);
	/* the hashes, computed here */
	uint8_t hh[32];
	crypto_generichash(hh, 32, (const uint8_t *)rules_yaml, strlen(rules_yaml), NULL, 0);
	CHECK(memcmp(hh, h.part[0].hash, 32) == 0);
	CHECK(memcmp(hh, buf + 128 + 32, 32) == 0);
	crypto_generichash(hh, 32, buf, 1152, NULL, 0);
	CHECK(memcmp(hh, h.hash, 32) == 0);
	char hex[65];
	sodium_bin2hex(hex, sizeof(hex), hh, 32);
	CHECK_CSTR(h.hash_hex, hex);
	/* byte for byte, the documented layout */
	CHECK_INT(get64(buf + 16), 7);
	CHECK_INT(get64(buf + 40), strlen(rules_yaml) + strlen(numbers_txt));
	CHECK_INT(buf[128], 1);
	CHECK_INT(buf[128 + 64], 2);
	CHECK_INT(get64(buf + 128 + 64 + 8), strlen(numbers_txt));
	CHECK(!memcmp(buf + 128 + 64 + 16, "black.numbers\0\0", 16));

	/* signing fills slots in order; the same key twice is refused */
	CHECK_INT(afgw_bundle_sign(buf, len, k1, err, sizeof(err)), 0);
	CHECK_INT(afgw_bundle_sign(buf, len, k1, err, sizeof(err)), -EEXIST);
	CHECK_INT(afgw_bundle_sign(buf, len, k2, err, sizeof(err)), 0);
	CHECK_INT(afgw_bundle_header_parse(buf, len, &h, err, sizeof(err)), AFGW_BUNDLE_OK);
	CHECK_INT(h.n_sigs, 2);
	char id[17];
	sodium_bin2hex(id, sizeof(id), buf + 1160, 8);
	CHECK_CSTR(id, k1->id);
	sodium_bin2hex(id, sizeof(id), buf + 1160 + 72, 8);
	CHECK_CSTR(id, k2->id);
	CHECK(crypto_sign_verify_detached(buf + 1160 + 8, buf, 1152, p1.pk) == 0);
	CHECK(crypto_sign_verify_detached(buf + 1160 + 72 + 8, buf, 1152, p2.pk) == 0);
	/* the signatures do not change the bundle hash */
	CHECK(memcmp(hh, h.hash, 32) == 0);
	/* a signer does not sign a header that does not match its parts */
	buf[len - 1] ^= 1;
	CHECK_INT(afgw_bundle_sign(buf, len, k3, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "black.numbers"));
	buf[len - 1] ^= 1;
	CHECK_INT(afgw_bundle_sign(buf, len - 1, k3, err, sizeof(err)), -EINVAL);
	free(buf);

	/* scope defaults to "*" */
	buf = make_bundle(src, 1, NOW, NOW + 1, NULL, NULL, &len);
	CHECK_INT(afgw_bundle_header_parse(buf, len, &h, err, sizeof(err)), AFGW_BUNDLE_OK);
	CHECK_CSTR(h.scope, "*");
	free(buf);
}

static void test_build_errors(void)
{
	char err[AFGW_BUNDLE_ERR];
	uint8_t *buf = (uint8_t *)"x";
	size_t len = 5;
	struct afgw_bundle_build_opts o = { 1, NOW, NOW + 100, NULL, 0 };
	const char *src = make_src("src-rules", true, false);

	/* options */
	o.serial = 0;
	CHECK_INT(afgw_bundle_build(src, &o, &buf, &len, err, sizeof(err)), -EINVAL);
	CHECK(buf == NULL && len == 0);
	o.serial = 1;
	o.expires_at = NOW;
	CHECK_INT(afgw_bundle_build(src, &o, &buf, &len, err, sizeof(err)), -EINVAL);
	o.expires_at = NOW + 100;
	o.scope = "Prov";
	CHECK_INT(afgw_bundle_build(src, &o, &buf, &len, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "bad scope"));
	o.scope = NULL;

	/* a stray file, a long name, bad rules, bad numbers, an empty part, nothing */
	const char *d = make_src("src-stray", true, false);
	char p[512];
	snprintf(p, sizeof(p), "%s/notes.md", d);
	spits(p, "hello");
	CHECK_INT(afgw_bundle_build(d, &o, &buf, &len, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "notes.md: not a part"));
	unlink(p);
	snprintf(p, sizeof(p), "%s/.hidden.swp", d);
	spits(p, "ignored");
	CHECK_INT(afgw_bundle_build(d, &o, &buf, &len, err, sizeof(err)), 0);
	free(buf);
	snprintf(p, sizeof(p), "%s/a-very-long-name.yaml", d);
	spits(p, rules_yaml);
	CHECK_INT(afgw_bundle_build(d, &o, &buf, &len, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "at most 15"));
	unlink(p);
	snprintf(p, sizeof(p), "%s/bad.yaml", d);
	spits(p, "rules:\n  - id: x\n    kind: nonsense\n");
	CHECK_INT(afgw_bundle_build(d, &o, &buf, &len, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "bad.yaml:"));
	unlink(p);
	snprintf(p, sizeof(p), "%s/dup.yaml", d); /* the same rule id in two parts */
	spits(p, rules_yaml);
	CHECK_INT(afgw_bundle_build(d, &o, &buf, &len, err, sizeof(err)), -EINVAL);
	unlink(p);
	snprintf(p, sizeof(p), "%s/n.txt", d);
	spits(p, "13800138000 black 90 investment\n13800138001 black 900 investment\n");
	CHECK_INT(afgw_bundle_build(d, &o, &buf, &len, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "n.txt:2: bad score"));
	spits(p, "");
	CHECK_INT(afgw_bundle_build(d, &o, &buf, &len, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "n.txt: empty"));
	unlink(p);
	const char *empty = path_in("src-empty");
	mkdir(empty, 0700);
	CHECK_INT(afgw_bundle_build(empty, &o, &buf, &len, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "no parts"));
	CHECK(afgw_bundle_build(path_in("no-such-dir"), &o, &buf, &len, err, sizeof(err)) ==
	      -ENOENT);
	/* 17 parts */
	const char *many = path_in("src-many");
	mkdir(many, 0700);
	for (int i = 0; i < 17; i++) {
		snprintf(p, sizeof(p), "%s/n%02d.txt", many, i);
		spits(p, "95588 allow 0 bank\n");
	}
	CHECK_INT(afgw_bundle_build(many, &o, &buf, &len, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "more than 16 parts"));
	snprintf(p, sizeof(p), "%s/n16.txt", many);
	unlink(p);
	CHECK_INT(afgw_bundle_build(many, &o, &buf, &len, err, sizeof(err)), 0);
	struct afgw_bundle_header h;
	CHECK_INT(afgw_bundle_header_parse(buf, len, &h, err, sizeof(err)), AFGW_BUNDLE_OK);
	CHECK_INT(h.n_parts, 16);
	free(buf);
}

static void test_verify(void)
{
	const char *src = make_src("src-v", true, true);
	struct afgw_keyring kr1, kr12, kr12t2, kr3;
	keyring(&kr1, &p1, NULL, 1);
	keyring(&kr12, &p1, &p2, 1);
	keyring(&kr12t2, &p1, &p2, 2);
	keyring(&kr3, &p3, NULL, 1);
	struct afgw_sign_key *s1[] = { k1, NULL }, *s12[] = { k1, k2, NULL },
			     *s3[] = { k3, NULL }, *s31[] = { k3, k1, NULL };
	size_t len;
	struct afgw_bundle_report rep;

	/* one signer, two signers */
	uint8_t *b1 = make_bundle(src, 3, NOW - 60, NOW + 3600, NULL, s1, &len);
	CHECK_INT(verify(b1, len, &kr1, &rep), AFGW_BUNDLE_OK);
	CHECK_INT(rep.serial, 3);
	CHECK_INT(rep.n_signers, 1);
	CHECK_CSTR(rep.signers[0], k1->id);
	CHECK_INT(strlen(rep.hash_hex), 64);
	CHECK_INT(verify(b1, len, &kr12, &rep), AFGW_BUNDLE_OK);
	check_reason(b1, len, &kr12t2, AFGW_BUNDLE_E_THRESHOLD, "1 trusted signature, 2 required");
	check_reason(b1, len, &kr3, AFGW_BUNDLE_E_UNKNOWN_KEY, k1->id);
	free(b1);

	uint8_t *b12 = make_bundle(src, 3, NOW - 60, NOW + 3600, NULL, s12, &len);
	CHECK_INT(verify(b12, len, &kr12t2, &rep), AFGW_BUNDLE_OK);
	CHECK_INT(rep.n_signers, 2);
	CHECK_CSTR(rep.signers[0], k1->id);
	CHECK_CSTR(rep.signers[1], k2->id);
	/* the verified copy is the caller's own */
	struct afgw_bundle_policy pol = { &kr12t2, NOW, NULL };
	struct afgw_bundle *b = NULL;
	CHECK_INT(afgw_bundle_verify(b12, len, &pol, &b, &rep), 0);
	CHECK(b && b->bytes != b12 && b->len == len && memcmp(b->bytes, b12, len) == 0);
	CHECK_INT(b->h.serial, 3);
	afgw_bundle_free(b);
	afgw_bundle_free(NULL);

	/* the same key in two slots counts once */
	uint8_t *dup = malloc(len);
	memcpy(dup, b12, len);
	memcpy(dup + 1160 + 72, dup + 1160, 72);
	check_reason(dup, len, &kr12t2, AFGW_BUNDLE_E_THRESHOLD, "1 trusted signature");
	CHECK_INT(verify(dup, len, &kr1, &rep), AFGW_BUNDLE_OK);
	CHECK_INT(rep.n_signers, 1);

	/* a bad signature by a trusted key refuses, even with enough others */
	memcpy(dup, b12, len);
	dup[1160 + 8 + 10] ^= 0x20;
	check_reason(dup, len, &kr12, AFGW_BUNDLE_E_BAD_SIGNATURE, k1->id);
	check_reason(dup, len, &kr12t2, AFGW_BUNDLE_E_BAD_SIGNATURE, "signature 0");
	/* ... but not when that key is not trusted here */
	CHECK_INT(verify(dup, len, &(struct afgw_keyring){ { p2 }, 1, 1 }, &rep), AFGW_BUNDLE_OK);
	/* the slot names the other trusted key: its signature does not verify */
	memcpy(dup, b12, len);
	memcpy(dup + 1160, dup + 1160 + 72, 8);
	check_reason(dup, len, &kr12, AFGW_BUNDLE_E_BAD_SIGNATURE, NULL);
	/* a changed header: every signature fails */
	memcpy(dup, b12, len);
	dup[16] ^= 1; /* serial 3 -> 2 */
	check_reason(dup, len, &kr12, AFGW_BUNDLE_E_BAD_SIGNATURE, NULL);
	/* a changed part byte: signatures verify, the part's hash does not */
	memcpy(dup, b12, len);
	dup[AFGW_BUNDLE_PREFIX_BYTES + 40] ^= 1;
	check_reason(dup, len, &kr12t2, AFGW_BUNDLE_E_PART_HASH, "part '10_test.yaml': hash mismatch");
	memcpy(dup, b12, len);
	dup[len - 2] ^= 0x40;
	check_reason(dup, len, &kr12t2, AFGW_BUNDLE_E_PART_HASH, "black.numbers");
	/* a changed hash in the table is a changed header */
	memcpy(dup, b12, len);
	dup[128 + 32] ^= 1;
	check_reason(dup, len, &kr12t2, AFGW_BUNDLE_E_BAD_SIGNATURE, NULL);
	free(dup);

	/* signed only by an unknown key; an unknown key beside a trusted one */
	uint8_t *b3 = make_bundle(src, 3, NOW - 60, NOW + 3600, NULL, s3, &len);
	check_reason(b3, len, &kr12, AFGW_BUNDLE_E_UNKNOWN_KEY, k3->id);
	CHECK_INT(verify(b3, len, &kr3, &rep), AFGW_BUNDLE_OK);
	free(b3);
	uint8_t *b31 = make_bundle(src, 3, NOW - 60, NOW + 3600, NULL, s31, &len);
	CHECK_INT(verify(b31, len, &kr1, &rep), AFGW_BUNDLE_OK);
	CHECK_INT(rep.n_signers, 1);
	CHECK_CSTR(rep.signers[0], k1->id);
	free(b31);

	/* unsigned */
	uint8_t *b0 = make_bundle(src, 3, NOW - 60, NOW + 3600, NULL, NULL, &len);
	check_reason(b0, len, &kr1, AFGW_BUNDLE_E_UNSIGNED, NULL);
	/* no keyring */
	pol.trust = NULL;
	CHECK_INT(afgw_bundle_verify(b0, len, &pol, &b, &rep), -EINVAL);
	CHECK(b == NULL);
	free(b0);

	/* expired: at expires_at exactly, and after */
	uint8_t *be = make_bundle(src, 3, NOW - 7200, NOW, NULL, s1, &len);
	check_reason(be, len, &kr1, AFGW_BUNDLE_E_EXPIRED, NULL);
	free(be);
	be = make_bundle(src, 3, NOW - 7200, NOW + 1, NULL, s1, &len);
	CHECK_INT(verify(be, len, &kr1, &rep), AFGW_BUNDLE_OK);
	free(be);
	/* issued in the future: up to the skew is tolerated */
	uint8_t *bf = make_bundle(src, 3, NOW + AFGW_BUNDLE_SKEW_S + 1, NOW + 86400, NULL, s1, &len);
	check_reason(bf, len, &kr1, AFGW_BUNDLE_E_NOT_YET_VALID, NULL);
	free(bf);
	bf = make_bundle(src, 3, NOW + AFGW_BUNDLE_SKEW_S, NOW + 86400, NULL, s1, &len);
	CHECK_INT(verify(bf, len, &kr1, &rep), AFGW_BUNDLE_OK);
	free(bf);

	/* scope */
	uint8_t *bs = make_bundle(src, 3, NOW - 60, NOW + 3600, "prov.gd", s1, &len);
	const char *const sh[] = { "prov.sh", NULL }, *const gd[] = { "fleet.x", "prov.gd", NULL },
			  *const none[] = { NULL };
	struct afgw_bundle_policy ps = { &kr1, NOW, sh };
	CHECK_INT(afgw_bundle_verify(bs, len, &ps, &b, &rep), -EINVAL);
	CHECK_INT(rep.reason, AFGW_BUNDLE_E_SCOPE);
	CHECK(has(rep.detail, "prov.gd"));
	ps.scopes = none;
	CHECK_INT(afgw_bundle_verify(bs, len, &ps, &b, &rep), -EINVAL);
	CHECK_INT(rep.reason, AFGW_BUNDLE_E_SCOPE);
	ps.scopes = gd;
	CHECK_INT(afgw_bundle_verify(bs, len, &ps, &b, &rep), 0);
	afgw_bundle_free(b);
	free(bs);
	bs = make_bundle(src, 3, NOW - 60, NOW + 3600, "*", s1, &len);
	ps.scopes = sh;
	CHECK_INT(afgw_bundle_verify(bs, len, &ps, &b, &rep), 0);
	afgw_bundle_free(b);
	free(bs);
	free(b12);
}

/* Refusals of the prefix: the reason, without reading a signature. */
/* A part name into a part entry (not inlined: gcc cannot see m's size). */
static __attribute__((noinline)) void put_name(uint8_t *at, const char *name)
{
	memset(at, 0, 16);
	memcpy(at, name, strlen(name));
}

static void test_prefix(void)
{
	const char *src = make_src("src-p", true, true);
	struct afgw_keyring kr;
	keyring(&kr, &p1, NULL, 1);
	struct afgw_sign_key *s1[] = { k1, NULL };
	size_t len;
	uint8_t *good = make_bundle(src, 9, NOW - 60, NOW + 3600, NULL, s1, &len);
	if (len < AFGW_BUNDLE_PREFIX_BYTES) /* and tells the compiler m is that big */
		abort();
	uint8_t *m = malloc(len + 1);

	/* truncated: at every length below the full one (a sample of them) */
	for (size_t l = 0; l < len; l += (l < 2400 ? 1 : 7)) {
		uint8_t *t = malloc(l ? l : 1);
		memcpy(t, good, l);
		struct afgw_bundle_report rep;
		enum afgw_bundle_reason r = verify(t, l, &kr, &rep);
		if (r != AFGW_BUNDLE_E_TRUNCATED)
			fprintf(stderr, "  length %zu: %s\n", l, afgw_bundle_reason_name(r));
		CHECK(r == AFGW_BUNDLE_E_TRUNCATED);
		CHECK_INT(rep.serial, 0); /* no serial from a header that did not decode */
		free(t);
	}
	check_reason(good, len - 1, &kr, AFGW_BUNDLE_E_TRUNCATED, "the header says");
	/* oversized: one byte appended; a header claiming more than the caps */
	memcpy(m, good, len);
	m[len] = '\n';
	check_reason(m, len + 1, &kr, AFGW_BUNDLE_E_OVERSIZED, NULL);
	put64(m + 40, AFGW_BUNDLE_PAYLOAD_MAX + 1ull);
	check_reason(m, len, &kr, AFGW_BUNDLE_E_OVERSIZED, "above the cap");
	put64(m + 40, UINT64_MAX);
	check_reason(m, len, &kr, AFGW_BUNDLE_E_OVERSIZED, NULL);
	memcpy(m, good, len);
	put64(m + 128 + 8, AFGW_BUNDLE_PART_MAX + 1ull);
	check_reason(m, len, &kr, AFGW_BUNDLE_E_OVERSIZED, "part 0");
	/* sizes within the caps that do not add up */
	memcpy(m, good, len);
	put64(m + 128 + 8, get64(m + 128 + 8) + 1);
	check_reason(m, len, &kr, AFGW_BUNDLE_E_GARBAGE, "add up");
	put64(m + 40, get64(m + 40) + 1);
	check_reason(m, len, &kr, AFGW_BUNDLE_E_TRUNCATED, NULL);

	struct {
		size_t off;
		uint8_t val;
		enum afgw_bundle_reason want;
		const char *what;
	} cases[] = {
		{ 0, 'X', AFGW_BUNDLE_E_GARBAGE, "magic" },
		{ 7, 'l', AFGW_BUNDLE_E_GARBAGE, "magic" },
		{ 8, 2, AFGW_BUNDLE_E_VERSION, "version 2" },
		{ 8, 0, AFGW_BUNDLE_E_VERSION, "version 0" },
		{ 11, 1, AFGW_BUNDLE_E_VERSION, NULL },
		{ 12, 0, AFGW_BUNDLE_E_GARBAGE, "part count 0" },
		{ 12, 17, AFGW_BUNDLE_E_GARBAGE, "part count 17" },
		{ 12, 1, AFGW_BUNDLE_E_GARBAGE, "unused part entry 1" },
		{ 12, 3, AFGW_BUNDLE_E_GARBAGE, "part 2: unknown type 0" },
		{ 15, 1, AFGW_BUNDLE_E_GARBAGE, "part count" },
		{ 16, 0, AFGW_BUNDLE_E_GARBAGE, "serial 0" },
		{ 39, 0x80, AFGW_BUNDLE_E_GARBAGE, "not after" },      /* expires < 0 */
		{ 48, 'P', AFGW_BUNDLE_E_GARBAGE, "scope" },           /* upper case */
		{ 48, 0, AFGW_BUNDLE_E_GARBAGE, "scope" },             /* empty */
		{ 49, '*', AFGW_BUNDLE_E_GARBAGE, "scope" },           /* "**" */
		{ 111, 'x', AFGW_BUNDLE_E_GARBAGE, "scope" },          /* the last byte */
		{ 60, 'x', AFGW_BUNDLE_E_GARBAGE, "scope" },           /* after the NUL */
		{ 112, 1, AFGW_BUNDLE_E_GARBAGE, "reserved" },
		{ 127, 0x80, AFGW_BUNDLE_E_GARBAGE, "reserved" },
		{ 128, 3, AFGW_BUNDLE_E_GARBAGE, "part 0: unknown type 3" },
		{ 128, 0, AFGW_BUNDLE_E_GARBAGE, "part 0: unknown type 0" },
		{ 129, 1, AFGW_BUNDLE_E_GARBAGE, "part 0: padding" },
		{ 128 + 16, '/', AFGW_BUNDLE_E_GARBAGE, "part 0: bad name" },
		{ 128 + 16, 0, AFGW_BUNDLE_E_GARBAGE, "part 0: bad name" },
		{ 128 + 31, 'x', AFGW_BUNDLE_E_GARBAGE, "part 0: bad name" },
		{ 128 + 16 + 13, 'x', AFGW_BUNDLE_E_GARBAGE, "part 0: bad name" },
		{ 128 + 2 * 64 + 5, 1, AFGW_BUNDLE_E_GARBAGE, "unused part entry 2" },
		{ 1152, 0, AFGW_BUNDLE_E_GARBAGE, "unused signature slot 0" },
		{ 1152, 2, AFGW_BUNDLE_E_GARBAGE, "slot 1 has no key id" },
		{ 1152, 17, AFGW_BUNDLE_E_GARBAGE, "signature count 17" },
		{ 1155, 1, AFGW_BUNDLE_E_GARBAGE, "signature count" },
		{ 1156, 1, AFGW_BUNDLE_E_GARBAGE, "padding" },
		{ 1160 + 72 + 3, 1, AFGW_BUNDLE_E_GARBAGE, "unused signature slot 1" },
		{ 2311, 1, AFGW_BUNDLE_E_GARBAGE, "unused signature slot 15" },
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(cases); i++) {
		memcpy(m, good, len);
		m[cases[i].off] = cases[i].val;
		struct afgw_bundle_report rep;
		enum afgw_bundle_reason r = verify(m, len, &kr, &rep);
		if (r != cases[i].want || (cases[i].what && !strstr(rep.detail, cases[i].what)))
			fprintf(stderr, "  case %zu (byte %zu = %u): %s: %s\n", i, cases[i].off,
				cases[i].val, afgw_bundle_reason_name(r), rep.detail);
		CHECK_INT(r, cases[i].want);
		CHECK(!cases[i].what || strstr(rep.detail, cases[i].what));
	}
	/* the same part name twice */
	memcpy(m, good, len);
	put_name(m + 128 + 64 + 16, "10_test.yaml");
	check_reason(m, len, &kr, AFGW_BUNDLE_E_GARBAGE, "used twice");
	/* a part of size 0 */
	memcpy(m, good, len);
	put64(m + 128 + 8, 0);
	check_reason(m, len, &kr, AFGW_BUNDLE_E_GARBAGE, "empty");
	/* expires == issued */
	memcpy(m, good, len);
	memcpy(m + 32, m + 24, 8);
	check_reason(m, len, &kr, AFGW_BUNDLE_E_GARBAGE, "not after");
	/* a version 2 bundle is refused as such, whatever follows */
	memcpy(m, good, len);
	put32(m + 8, 2);
	memset(m + 12, 0xff, 100);
	check_reason(m, len, &kr, AFGW_BUNDLE_E_VERSION, "version 2");
	check_reason(m, 12, &kr, AFGW_BUNDLE_E_VERSION, NULL);
	check_reason(m, 11, &kr, AFGW_BUNDLE_E_TRUNCATED, NULL);
	check_reason((const uint8_t *)"GIF89a\0\0\0\0\0\0", 12, &kr, AFGW_BUNDLE_E_GARBAGE, "magic");
	check_reason((const uint8_t *)"", 0, &kr, AFGW_BUNDLE_E_TRUNCATED, NULL);

	/* reason names */
	CHECK_CSTR(afgw_bundle_reason_name(AFGW_BUNDLE_OK), "ok");
	CHECK_CSTR(afgw_bundle_reason_name(AFGW_BUNDLE_E_BAD_SIGNATURE), "bad_signature");
	CHECK_CSTR(afgw_bundle_reason_name(AFGW_BUNDLE_E_NOT_YET_VALID), "not_yet_valid");
	CHECK_CSTR(afgw_bundle_reason_name(AFGW_BUNDLE_E_IO), "io");
	CHECK_CSTR(afgw_bundle_reason_name(AFGW_BUNDLE_REASONS), "unknown");
	for (int r = 0; r < AFGW_BUNDLE_REASONS; r++)
		CHECK(afgw_bundle_reason_name((enum afgw_bundle_reason)r) != NULL);
	free(m);
	free(good);
}

static struct afgw_bundle *verified(const uint8_t *buf, size_t len, const struct afgw_keyring *kr)
{
	struct afgw_bundle_policy pol = { kr, NOW, NULL };
	struct afgw_bundle *b = NULL;
	struct afgw_bundle_report rep;
	if (afgw_bundle_verify(buf, len, &pol, &b, &rep) != 0) {
		fprintf(stderr, "verify: %s: %s\n", afgw_bundle_reason_name(rep.reason), rep.detail);
		exit(1);
	}
	return b;
}

static void test_state(void)
{
	const char *src = make_src("src-s", true, true);
	const char *src2 = make_src("src-s2", true, false);
	struct afgw_keyring kr;
	keyring(&kr, &p1, NULL, 1);
	struct afgw_sign_key *s1[] = { k1, NULL };
	size_t l5, l6, l6b, l4;
	uint8_t *b5 = make_bundle(src, 5, NOW - 60, NOW + 3600, NULL, s1, &l5);
	uint8_t *b6 = make_bundle(src, 6, NOW - 60, NOW + 3600, NULL, s1, &l6);
	uint8_t *b6b = make_bundle(src2, 6, NOW - 60, NOW + 3600, NULL, s1, &l6b);
	uint8_t *b4 = make_bundle(src, 4, NOW - 60, NOW + 3600, NULL, s1, &l4);
	struct afgw_bundle *v5 = verified(b5, l5, &kr), *v6 = verified(b6, l6, &kr),
			   *v6b = verified(b6b, l6b, &kr), *v4 = verified(b4, l4, &kr);

	char err[AFGW_BUNDLE_ERR], hash[AFGW_BUNDLE_HASH_HEX], sd[256];
	snprintf(sd, sizeof(sd), "%s", path_in("state"));
	struct afgw_bundle_state *st = NULL;
	CHECK_INT(afgw_bundle_state_open(sd, &st, err, sizeof(err)), 0);
	struct stat sst;
	CHECK(stat(sd, &sst) == 0 && S_ISDIR(sst.st_mode) && (sst.st_mode & 0777) == 0700);
	CHECK_INT(afgw_bundle_state_serial(st, hash), 0);
	CHECK_CSTR(hash, "");
	uint8_t *cur = NULL;
	size_t cl = 0;
	CHECK_INT(afgw_bundle_state_current(st, &cur, &cl), -ENOENT);

	bool same = true;
	CHECK_INT(afgw_bundle_state_check(st, v5, &same), AFGW_BUNDLE_OK);
	CHECK(!same);
	CHECK_INT(afgw_bundle_state_commit(st, v5, err, sizeof(err)), 0);
	CHECK_INT(afgw_bundle_state_serial(st, hash), 5);
	CHECK_CSTR(hash, v5->h.hash_hex);
	/* the files */
	char *acc = slurp(path_in("state/accepted"), NULL);
	char want[128];
	snprintf(want, sizeof(want), "5 %s\n", v5->h.hash_hex);
	CHECK_CSTR(acc, want);
	free(acc);
	CHECK(stat(path_in("state/accepted.tmp"), &sst) != 0);
	CHECK(stat(path_in("state/current.bundle"), &sst) == 0 && (sst.st_mode & 0777) == 0600);
	CHECK_INT(afgw_bundle_state_current(st, &cur, &cl), 0);
	CHECK(cl == l5 && memcmp(cur, b5, l5) == 0);
	free(cur);

	/* same bundle again: OK, same; newer: OK; older: rollback; same serial, other hash */
	CHECK_INT(afgw_bundle_state_check(st, v5, &same), AFGW_BUNDLE_OK);
	CHECK(same);
	CHECK_INT(afgw_bundle_state_check(st, v4, &same), AFGW_BUNDLE_E_ROLLBACK);
	CHECK(!same);
	CHECK_INT(afgw_bundle_state_commit(st, v4, err, sizeof(err)), -EINVAL);
	CHECK_INT(afgw_bundle_state_check(st, v6, &same), AFGW_BUNDLE_OK);
	CHECK(!same);
	CHECK_INT(afgw_bundle_state_commit(st, v6, err, sizeof(err)), 0);
	CHECK_INT(afgw_bundle_state_check(st, v6b, &same), AFGW_BUNDLE_E_EQUIVOCATION);
	CHECK_INT(afgw_bundle_state_commit(st, v6b, err, sizeof(err)), -EINVAL);
	CHECK_INT(afgw_bundle_state_check(st, v5, &same), AFGW_BUNDLE_E_ROLLBACK);

	/* a restart: the serial and its hash survive */
	afgw_bundle_state_close(st);
	st = NULL;
	CHECK_INT(afgw_bundle_state_open(sd, &st, err, sizeof(err)), 0);
	CHECK_INT(afgw_bundle_state_serial(st, hash), 6);
	CHECK_CSTR(hash, v6->h.hash_hex);
	CHECK_INT(afgw_bundle_state_check(st, v5, &same), AFGW_BUNDLE_E_ROLLBACK);
	CHECK_INT(afgw_bundle_state_check(st, v4, &same), AFGW_BUNDLE_E_ROLLBACK);
	CHECK_INT(afgw_bundle_state_check(st, v6b, &same), AFGW_BUNDLE_E_EQUIVOCATION);
	CHECK_INT(afgw_bundle_state_check(st, v6, &same), AFGW_BUNDLE_OK);
	CHECK(same);
	CHECK_INT(afgw_bundle_state_current(st, &cur, &cl), 0);
	CHECK(cl == l6 && memcmp(cur, b6, l6) == 0);
	free(cur);

	/* the audit log */
	struct afgw_bundle_report rep;
	struct afgw_bundle_policy pol = { &kr, NOW, NULL };
	struct afgw_bundle *tmp = NULL;
	CHECK_INT(afgw_bundle_verify(b6, l6, &pol, &tmp, &rep), 0);
	afgw_bundle_free(tmp);
	CHECK_INT(afgw_bundle_audit(st, NOW, "redis", &rep), 0);
	b5[24] ^= 1; /* issued_at */
	CHECK_INT(afgw_bundle_verify(b5, l5, &pol, &tmp, &rep), -EINVAL);
	CHECK_INT(afgw_bundle_audit(st, NOW + 1, "file:/tmp/a \"b\"\n\x01\xff", &rep), 0);
	CHECK_INT(afgw_bundle_verify(b5, 10, &pol, &tmp, &rep), -EINVAL);
	CHECK_INT(afgw_bundle_audit(st, NOW + 2, NULL, &rep), 0);
	memset(&rep, 0, sizeof(rep));
	rep.reason = AFGW_BUNDLE_E_ROLLBACK;
	rep.serial = 4;
	CHECK_INT(afgw_bundle_audit(st, NOW + 3, "state", &rep), 0);
	CHECK(stat(path_in("state/audit.log"), &sst) == 0 && (sst.st_mode & 0777) == 0600);

	char *log = slurp(path_in("state/audit.log"), NULL);
	unsigned lines = 0;
	for (char *line = log, *nl; line && (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		CHECK(j != NULL);
		if (!j) {
			fprintf(stderr, "  not JSON: %s (%s)\n", line, je.text);
			continue;
		}
		CHECK(json_is_string(json_object_get(j, "ts")));
		CHECK(json_is_string(json_object_get(j, "result")));
		CHECK(json_is_string(json_object_get(j, "reason")));
		CHECK(json_is_integer(json_object_get(j, "serial")));
		CHECK(json_is_string(json_object_get(j, "hash")));
		CHECK(json_is_array(json_object_get(j, "keys")));
		CHECK(json_is_string(json_object_get(j, "source")));
		CHECK(json_is_string(json_object_get(j, "detail")));
		CHECK_INT(json_object_size(j), 8);
		const char *result = json_string_value(json_object_get(j, "result"));
		const char *reason = json_string_value(json_object_get(j, "reason"));
		json_int_t serial = json_integer_value(json_object_get(j, "serial"));
		const char *hh = json_string_value(json_object_get(j, "hash"));
		json_t *keys = json_object_get(j, "keys");
		const char *source = json_string_value(json_object_get(j, "source"));
		const char *ts = json_string_value(json_object_get(j, "ts"));
		if (lines == 0) {
			CHECK_CSTR(ts, "2027-01-15T08:00:00Z");
			CHECK_CSTR(result, "accept");
			CHECK_CSTR(reason, "ok");
			CHECK_INT(serial, 6);
			CHECK_CSTR(hh, v6->h.hash_hex);
			CHECK_INT(json_array_size(keys), 1);
			CHECK_CSTR(json_string_value(json_array_get(keys, 0)), k1->id);
			CHECK_CSTR(source, "redis");
		} else if (lines == 1) {
			CHECK_CSTR(ts, "2027-01-15T08:00:01Z");
			CHECK_CSTR(result, "reject");
			CHECK_CSTR(reason, "bad_signature");
			CHECK_INT(serial, 5);
			CHECK_INT(json_array_size(keys), 0);
			CHECK(!strncmp(source, "file:/tmp/a \"b\"\n\x01", 17));
		} else if (lines == 2) {
			CHECK_CSTR(reason, "truncated");
			CHECK_INT(serial, 0);
			CHECK_CSTR(hh, "");
			CHECK_CSTR(source, "");
		} else {
			CHECK_CSTR(reason, "rollback");
			CHECK_CSTR(source, "state");
		}
		json_decref(j);
		lines++;
	}
	CHECK_INT(lines, 4);
	free(log);
	afgw_bundle_state_close(st);
	afgw_bundle_state_close(NULL);

	/* a damaged 'accepted' is an error, never "nothing accepted yet" */
	/* "@" stands for the hash */
	static const char *const damaged[] = {
		"", "6\n", "6 abc\n", "0 @\n", "06 @\n", "6 @", "6  @\n", "-6 @\n",
		"6 @\nmore\n", "x6 @\n", "99999999999999999999 @\n",
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(damaged); i++) {
		char text[256];
		const char *at = strchr(damaged[i], '@');
		if (at)
			snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - damaged[i]), damaged[i],
				 v6->h.hash_hex, at + 1);
		else
			snprintf(text, sizeof(text), "%s", damaged[i]);
		spits(path_in("state/accepted"), text);
		st = NULL;
		int rc = afgw_bundle_state_open(sd, &st, err, sizeof(err));
		if (rc != -EINVAL)
			fprintf(stderr, "  accepted '%s': %d\n", text, rc);
		CHECK_INT(rc, -EINVAL);
		CHECK(st == NULL);
		CHECK(has(err, "accepted"));
	}
	/* upper-case hex is not what we write */
	char text[256];
	snprintf(text, sizeof(text), "6 %s\n", v6->h.hash_hex);
	for (char *c = text; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 32);
	spits(path_in("state/accepted"), text);
	CHECK_INT(afgw_bundle_state_open(sd, &st, err, sizeof(err)), -EINVAL);
	/* the largest serial is fine */
	snprintf(text, sizeof(text), "18446744073709551615 %s\n", v6->h.hash_hex);
	spits(path_in("state/accepted"), text);
	CHECK_INT(afgw_bundle_state_open(sd, &st, err, sizeof(err)), 0);
	CHECK(afgw_bundle_state_serial(st, NULL) == UINT64_MAX);
	CHECK_INT(afgw_bundle_state_check(st, v6, &same), AFGW_BUNDLE_E_ROLLBACK);
	afgw_bundle_state_close(st);
	/* a leftover temporary file from a crash is not state, and is removed */
	snprintf(text, sizeof(text), "7 %s\n", v6->h.hash_hex);
	spits(path_in("state/accepted"), text);
	spits(path_in("state/accepted.tmp"), "garbage");
	CHECK_INT(afgw_bundle_state_open(sd, &st, err, sizeof(err)), 0);
	CHECK_INT(afgw_bundle_state_serial(st, NULL), 7);
	CHECK(stat(path_in("state/accepted.tmp"), &sst) != 0);
	afgw_bundle_state_close(st);
	/* a state directory that cannot be made */
	CHECK(afgw_bundle_state_open(path_in("no/such/dir"), &st, err, sizeof(err)) == -ENOENT);

	afgw_bundle_free(v4);
	afgw_bundle_free(v5);
	afgw_bundle_free(v6);
	afgw_bundle_free(v6b);
	free(b4);
	free(b5);
	free(b6);
	free(b6b);
}

static void test_parts(void)
{
	const char *src = make_src("src-parts", true, true);
	struct afgw_keyring kr;
	keyring(&kr, &p1, NULL, 1);
	struct afgw_sign_key *s1[] = { k1, NULL };
	size_t len;
	uint8_t *buf = make_bundle(src, 12, NOW - 60, NOW + 86400, NULL, s1, &len);
	struct afgw_bundle *b = verified(buf, len, &kr);

	/* rules */
	struct afgw_rules rs;
	struct afgw_rules_diag d;
	afgw_rules_init(&rs);
	afgw_rules_diag_init(&d);
	CHECK_INT(afgw_bundle_rules(b, &rs, &d), 0);
	CHECK_INT(rs.n, 1);
	CHECK(afgw_rules_find(&rs, "bundle.test.refund") == 0);
	CHECK_INT(rs.n_files, 1);
	CHECK_CSTR(rs.files[0], "bundle-12/10_test.yaml");
	CHECK_INT(rs.rule[0].weight, 60);
	afgw_rules_fini(&rs);
	afgw_rules_diag_fini(&d);

	/* numbers */
	struct afgw_bundle_number *v = NULL;
	char err[AFGW_BUNDLE_ERR];
	long n = afgw_bundle_numbers(b, 86, &v, err, sizeof(err));
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_CSTR(v[0].number, "+8613800138000");
		CHECK_INT(v[0].list, AFGW_REP_BLACK);
		CHECK_INT(v[0].score, 90);
		CHECK_CSTR(v[0].category, "investment");
		CHECK_INT(v[0].expires, NOW + 86400); /* the bundle's own expiry */
		CHECK_CSTR(v[1].number, "+8613800138001");
		CHECK_INT(v[1].list, AFGW_REP_GRAY);
		CHECK_INT(v[1].score, 50);
		CHECK_CSTR(v[1].category, "loan");
		CHECK_INT(v[1].expires, 1893456000); /* 2030-01-01T00:00:00Z */
		CHECK_CSTR(v[2].number, "95588");
		CHECK_INT(v[2].list, AFGW_REP_ALLOW);
		CHECK_INT(v[2].score, 0);
		CHECK_INT(v[2].expires, 1900000000);
	}
	free(v);
	/* another country code: a Chinese mobile number is not placed as one */
	n = afgw_bundle_numbers(b, 852, &v, err, sizeof(err));
	CHECK_INT(n, 3);
	CHECK(n == 3 && !strcmp(v[0].number, "13800138000"));
	free(v);

	/* errors name the part and the line (the bytes changed after verification) */
	uint8_t *np = b->bytes + b->h.part[1].offset;
	size_t at = (size_t)(strstr((char *)np, "+86-138") - (char *)np);
	np[at + 1] = '!';
	n = afgw_bundle_numbers(b, 86, &v, err, sizeof(err));
	CHECK_INT(n, -EINVAL);
	CHECK(v == NULL);
	CHECK_CSTR(err, "black.numbers:4: bad number");
	afgw_bundle_free(b);
	free(buf);

	/* a bundle without rules or numbers */
	const char *src2 = make_src("src-rules-only", true, false);
	buf = make_bundle(src2, 1, NOW - 60, NOW + 60, NULL, s1, &len);
	b = verified(buf, len, &kr);
	CHECK_INT(afgw_bundle_numbers(b, 86, &v, err, sizeof(err)), 0);
	free(v);
	afgw_bundle_free(b);
	free(buf);
	const char *src3 = make_src("src-numbers-only", false, true);
	buf = make_bundle(src3, 1, NOW - 60, NOW + 60, NULL, s1, &len);
	b = verified(buf, len, &kr);
	afgw_rules_init(&rs);
	afgw_rules_diag_init(&d);
	CHECK_INT(afgw_bundle_rules(b, &rs, &d), 0);
	CHECK_INT(rs.n, 0);
	afgw_rules_fini(&rs);
	afgw_rules_diag_fini(&d);
	afgw_bundle_free(b);
	free(buf);
}

static void test_numbers_parse(void)
{
	struct afgw_bundle_number *v = NULL;
	char err[AFGW_BUNDLE_ERR];
	const int64_t def = 2000000000;
	static const char ok[] =
		"13800138000 black 90 investment\r\n"
		"   # an indented comment\n"
		"\t008613800138002 gray 0 loan 2027-01-15\n"
		"10086\tallow\t100\tcarrier\t1800000000#comment right after\n"
		"SENDER1 black 70 phishing\n"
		"8613800138003 black 1 a_b-c"; /* no final newline */
	long n = afgw_bundle_numbers_parse("t", ok, strlen(ok), 86, def, &v, err, sizeof(err));
	CHECK_INT(n, 5);
	if (n == 5) {
		CHECK_CSTR(v[0].number, "+8613800138000");
		CHECK_INT(v[0].expires, def);
		CHECK_CSTR(v[1].number, "+8613800138002");
		CHECK_INT(v[1].score, 0);
		CHECK_INT(v[1].expires, 1800000000 - 8 * 3600);
		CHECK_CSTR(v[2].number, "10086");
		CHECK_INT(v[2].score, 100);
		CHECK_CSTR(v[2].category, "carrier");
		CHECK_INT(v[2].expires, 1800000000);
		CHECK_CSTR(v[3].number, "SENDER1");
		CHECK_CSTR(v[4].number, "+8613800138003");
		CHECK_CSTR(v[4].category, "a_b-c");
	}
	free(v);
	/* country code 0 means 86 */
	n = afgw_bundle_numbers_parse("t", "13800138000 black 9 x", 21, 0, def, &v, err, sizeof(err));
	CHECK(n == 1 && !strcmp(v[0].number, "+8613800138000"));
	free(v);
	/* nothing but comments */
	v = (struct afgw_bundle_number *)1;
	CHECK_INT(afgw_bundle_numbers_parse("t", "# x\n\n", 5, 86, def, &v, err, sizeof(err)), 0);
	CHECK(v == NULL);
	CHECK_INT(afgw_bundle_numbers_parse("t", "", 0, 86, def, &v, err, sizeof(err)), 0);

	struct {
		const char *text, *err;
	} bad[] = {
		{ "13800138000 black 90\n", "t:1: expected NUMBER LIST SCORE CATEGORY [EXPIRES]" },
		{ "# one\n13800138000 black 90 x 2030-01-01 extra\n", "t:2: expected" },
		{ "\n\n^^^ black 90 x\n", "t:3: bad number" },
		{ "13800138000 none 90 x\n", "t:1: bad list" },
		{ "13800138000 Black 90 x\n", "t:1: bad list" },
		{ "13800138000 black 101 x\n", "t:1: bad score" },
		{ "13800138000 black -1 x\n", "t:1: bad score" },
		{ "13800138000 black 0x10 x\n", "t:1: bad score" },
		{ "13800138000 black 90 Fraud\n", "t:1: bad category" },
		{ "13800138000 black 90 abcdefghijabcdefghijabcdefghijabc\n", "t:1: bad category" },
		{ "13800138000 black 90 x 2030-02-30\n", "t:1: bad expiry" },
		{ "13800138000 black 90 x tomorrow\n", "t:1: bad expiry" },
		{ "13800138000 black 90 x\n\xff\xfe\n", "t:2: not UTF-8" },
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(bad); i++) {
		v = (struct afgw_bundle_number *)1;
		n = afgw_bundle_numbers_parse("t", bad[i].text, strlen(bad[i].text), 86, def, &v, err,
					      sizeof(err));
		CHECK_INT(n, -EINVAL);
		CHECK(v == NULL);
		CHECK(has(err, bad[i].err));
	}
	/* a NUL byte, an over-long line */
	CHECK_INT(afgw_bundle_numbers_parse("t", "95588 allow\0 0 x\n", 17, 86, def, &v, err,
					    sizeof(err)),
		  -EINVAL);
	CHECK(has(err, "t:1:"));
	char longline[1100];
	memset(longline, ' ', sizeof(longline));
	memcpy(longline, "95588 allow 0 x", 15);
	CHECK_INT(afgw_bundle_numbers_parse("t", longline, 1024, 86, def, &v, err, sizeof(err)), 1);
	free(v);
	CHECK_INT(afgw_bundle_numbers_parse("t", longline, 1025, 86, def, &v, err, sizeof(err)),
		  -EINVAL);
	CHECK(has(err, "t:1: line longer than 1024"));
}

/* ---- the mutation test -------------------------------------------------- */

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t pick(uint64_t n)
{
	return xorshift() % n;
}

/* Offsets of the 8-byte and 4-byte fields of the prefix, for splices. */
static size_t field_offset(void)
{
	static const size_t fixed[] = { 0, 8, 12, 16, 24, 32, 40, 48, 56, 104, 112, 120, 1152, 1156 };
	uint64_t k = pick(3);
	if (k == 0)
		return fixed[pick(AFGW_ARRAY_SIZE(fixed))];
	if (k == 1)
		return 128 + pick(16) * 64 + pick(8) * 8; /* within a part entry */
	return 1160 + pick(16) * 72 + pick(9) * 8;       /* within a signature slot */
}

/* One mutation of m[0..*len) (room for cap bytes). */
static void mutate_once(uint8_t *m, size_t *len, size_t cap, const uint8_t *other_id)
{
	static const uint64_t sizes[] = { 0, 1, 2, 1000, AFGW_BUNDLE_PART_MAX - 1,
					  AFGW_BUNDLE_PART_MAX, AFGW_BUNDLE_PART_MAX + 1,
					  AFGW_BUNDLE_PAYLOAD_MAX, AFGW_BUNDLE_PAYLOAD_MAX + 1,
					  1ull << 32, 1ull << 63, UINT64_MAX };
	static const uint32_t counts[] = { 0, 1, 2, 3, 15, 16, 17, 255, 0x7fffffff, 0xffffffff };
	static const uint64_t times[] = { 0, 1, (uint64_t)NOW, (uint64_t)NOW + 1, 1ull << 63,
					  UINT64_MAX, (uint64_t)INT64_MAX };
	size_t n = *len;
	switch (pick(11)) {
	case 0: /* flip bits */
		for (uint64_t i = 0, k = 1 + pick(8); i < k && n; i++)
			m[pick(n)] ^= (uint8_t)(1u << pick(8));
		break;
	case 1: /* overwrite bytes */
		for (uint64_t i = 0, k = 1 + pick(4); i < k && n; i++)
			m[pick(n)] = (uint8_t)xorshift();
		break;
	case 2: /* flip a bit of the prefix (where most of the checking is) */
		m[pick(n < AFGW_BUNDLE_PREFIX_BYTES ? (n ? n : 1) : AFGW_BUNDLE_PREFIX_BYTES)] ^=
			(uint8_t)(1u << pick(8));
		break;
	case 3: /* truncate */
		*len = n ? (size_t)pick(n) : 0;
		break;
	case 4: /* extend */
		for (uint64_t i = 0, k = 1 + pick(64); i < k && *len < cap; i++)
			m[(*len)++] = (uint8_t)xorshift();
		break;
	case 5: { /* splice one header field over another */
		size_t a = field_offset(), b = field_offset();
		size_t w = pick(2) ? 8 : 4;
		if (a + w <= n && b + w <= n)
			memmove(m + b, m + a, w);
		break;
	}
	case 6: /* signature and part counts */
		if (n >= 1156)
			put32(m + (pick(2) ? 1152 : 12), counts[pick(AFGW_ARRAY_SIZE(counts))]);
		break;
	case 7: { /* sizes: the payload or a part's */
		size_t off = pick(3) ? 128 + pick(3) * 64 + 8 : 40;
		if (off + 8 <= n) {
			uint64_t v = get64(m + off);
			uint64_t choice[] = { v - 1, v + 1, v * 2, v / 2 };
			put64(m + off, pick(2) ? sizes[pick(AFGW_ARRAY_SIZE(sizes))] : choice[pick(4)]);
		}
		break;
	}
	case 8: { /* times, serial, version */
		static const size_t offs[] = { 16, 24, 32, 8 };
		size_t off = offs[pick(4)];
		if (off + 8 <= n)
			put64(m + off, pick(2) ? times[pick(AFGW_ARRAY_SIZE(times))]
					       : get64(m + off) + pick(5) - 2);
		break;
	}
	case 9: /* signature slots: rename, duplicate, blank, swap halves */
		if (n >= 1160 + 2 * 72) {
			uint8_t *s0 = m + 1160, *s1 = m + 1160 + 72;
			switch (pick(4)) {
			case 0: memcpy(pick(2) ? s0 : s1, other_id, 8); break;
			case 1: memcpy(s1, s0, 72); break;
			case 2: memset(pick(2) ? s0 : s1, 0, 72); break;
			default: memcpy(s0 + 8 + pick(2) * 32, s1 + 8 + pick(2) * 32, 32); break;
			}
		}
		break;
	default: /* a part byte */
		if (n > AFGW_BUNDLE_PREFIX_BYTES)
			m[AFGW_BUNDLE_PREFIX_BYTES + pick(n - AFGW_BUNDLE_PREFIX_BYTES)] =
				(uint8_t)xorshift();
		break;
	}
}

/*
 * From one valid bundle (2 parts, signed by both keys of a threshold-2
 * keyring, so that no slot can be dropped), at least 100,000 mutated
 * copies, each different from the original: none may verify.  The
 * signature block itself is not signed, so a copy whose slots were only
 * reordered would still be the same bundle; the mutations never do just
 * that (swapping halves of two signatures breaks both).
 */
static void test_mutation(void)
{
	const char *src = make_src("src-mut", true, true);
	struct afgw_keyring kr;
	keyring(&kr, &p1, &p2, 2);
	struct afgw_sign_key *s12[] = { k1, k2, NULL };
	size_t len;
	uint8_t *good = make_bundle(src, 42, NOW - 60, NOW + 86400, "*", s12, &len);
	struct afgw_bundle_report rep;
	CHECK_INT(verify(good, len, &kr, &rep), AFGW_BUNDLE_OK);

	uint8_t other_id[16];
	crypto_generichash(other_id, 16, p3.pk, 32, NULL, 0);
	size_t cap = len + 256;
	uint8_t *m = malloc(cap);
	unsigned long counts[AFGW_BUNDLE_REASONS] = { 0 };
	unsigned long done = 0, same = 0, accepted = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct afgw_bundle_policy pol = { &kr, NOW, NULL };
	while (done < 100000) {
		size_t ml = len;
		memcpy(m, good, len);
		mutate_once(m, &ml, cap, other_id);
		while (pick(4) == 0)
			mutate_once(m, &ml, cap, other_id);
		if (ml == len && memcmp(m, good, len) == 0) {
			same++;
			continue;
		}
		/* an exact-size copy, so that ASan sees any read past the end */
		uint8_t *x = malloc(ml ? ml : 1);
		memcpy(x, m, ml);
		struct afgw_bundle *b = NULL;
		int rc = afgw_bundle_verify(x, ml, &pol, &b, &rep);
		if (rc == 0 || rep.reason == AFGW_BUNDLE_OK || b) {
			accepted++;
			fprintf(stderr, "  mutation %lu accepted (%zu bytes)\n", done, ml);
		}
		afgw_bundle_free(b);
		free(x);
		counts[rep.reason < AFGW_BUNDLE_REASONS ? rep.reason : 0]++;
		done++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("mutation test: %lu mutated bundles in %.1f s (%lu no-op mutations redone), "
	       "%lu accepted\n",
	       done, secs, same, accepted);
	int printed = 0;
	unsigned long sum = 0;
	for (int r = 0; r < AFGW_BUNDLE_REASONS; r++) {
		if (!counts[r])
			continue;
		printed += printf("  %-14s %lu\n", afgw_bundle_reason_name((enum afgw_bundle_reason)r),
				  counts[r]) > 0;
		sum += counts[r];
	}
	CHECK_INT(accepted, 0);
	CHECK_INT(counts[AFGW_BUNDLE_OK], 0);
	CHECK(done >= 100000);
	CHECK(sum == done);
	CHECK(printed >= 5);
	/* the mutations reach every layer of the checks */
	CHECK(counts[AFGW_BUNDLE_E_GARBAGE] > 0);
	CHECK(counts[AFGW_BUNDLE_E_TRUNCATED] > 0);
	CHECK(counts[AFGW_BUNDLE_E_OVERSIZED] > 0);
	CHECK(counts[AFGW_BUNDLE_E_BAD_SIGNATURE] > 0);
	CHECK(counts[AFGW_BUNDLE_E_THRESHOLD] > 0);
	CHECK(counts[AFGW_BUNDLE_E_PART_HASH] > 0);
	free(m);
	free(good);
}

/* ---- fuzz seeds ------------------------------------------------------------ */

/* Bundles signed by fuzz_bundle.c's fixed key (seed 32 x 'P'), valid at its clock. */
static void write_fuzz_seeds(const char *out)
{
	struct afgw_sign_key *fk = sodium_malloc(sizeof(*fk));
	uint8_t seed[32];
	memset(seed, 'P', sizeof(seed));
	crypto_sign_seed_keypair(fk->pk, fk->sk, seed);
	afgw_key_id(fk->pk, fk->id);
	struct afgw_sign_key *ks[] = { fk, NULL };
	const char *srcs[] = { make_src("seed-a", true, true), make_src("seed-b", true, false),
			       make_src("seed-c", false, true) };
	mkdir(out, 0755);
	for (size_t i = 0; i < 3; i++) {
		size_t len;
		uint8_t *b = make_bundle(srcs[i], i + 1, NOW - 60, NOW + 365 * 86400,
					 i == 2 ? "prov.gd" : "*", ks, &len);
		char p[512];
		snprintf(p, sizeof(p), "%s/seed-%zu.bundle", out, i);
		spit(p, b, len);
		free(b);
	}
	char p[512];
	snprintf(p, sizeof(p), "%s/seed-numbers.txt", out);
	spits(p, numbers_txt);
	sodium_free(fk);
	printf("fuzz seeds written to %s\n", out);
}

int main(void)
{
	if (afgw_keys_init() != 0)
		return 1;
	snprintf(dir, sizeof(dir), "/tmp/afgw-test-bundle-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_keys_setup();
	test_keyring();
	test_time_parse();
	test_build_and_header();
	test_build_errors();
	test_verify();
	test_prefix();
	test_state();
	test_parts();
	test_numbers_parse();
	test_mutation();
	const char *seeds = getenv("AFGW_BUNDLE_FUZZ_SEEDS");
	if (seeds && *seeds)
		write_fuzz_seeds(seeds);
	afgw_sign_key_free(k1);
	afgw_sign_key_free(k2);
	afgw_sign_key_free(k3);
	rm_rf(dir);
	return check_report();
}
