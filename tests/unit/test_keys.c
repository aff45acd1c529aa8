/*
 * test_keys.c - key pairs and key files: generating (modes, O_EXCL, no
 * half-written pair), loading back, the ssh-style permission check, every
 * way a key file can be wrong (kind, base64, id, damage, truncation at
 * every byte, size), the public-key parsers, key ids computed
 * independently, and base64 against RFC 4648 and at every length 0..70.
 *
 * Files live in a mkdtemp directory that is removed at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "afgw/common.h"
#include "afgw/keys.h"
#include "check.h"

static char dir[64];

static const char *path_in(const char *name)
{
	static char p[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return (size_t)-1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return (size_t)-1;
	buf[n] = '\0';
	return (size_t)n;
}

static void spit(const char *path, const char *text, size_t len, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		perror(path);
		exit(1);
	}
	fchmod(fd, mode);
	close(fd);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffff;
}

static bool has(const char *s, const char *sub)
{
	if (!strstr(s, sub)) {
		fprintf(stderr, "  '%s' does not contain '%s'\n", s, sub);
		return false;
	}
	return true;
}

/* err is "DIR/name: ..." */
static bool names_file(const char *err, const char *name)
{
	const char *p = path_in(name);
	size_t n = strlen(p);
	return strncmp(err, p, n) == 0 && err[n] == ':' && err[n + 1] == ' ' && err[n + 2];
}

/* The key id as keys.h defines it, computed here without keys.c. */
static void id_by_hand(const uint8_t pk[32], char out[17])
{
	uint8_t h[16];
	static const char hex[] = "0123456789abcdef";
	crypto_generichash(h, 16, pk, 32, NULL, 0);
	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[16] = '\0';
}

static void test_base64(void)
{
	/* RFC 4648 section 10 */
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
					   "Zm9vYmFy" };
	char out[128];
	uint8_t bin[128];
	for (size_t i = 0; i < 7; i++) {
		afgw_base64((const uint8_t *)plain[i], strlen(plain[i]), out, sizeof(out));
		CHECK_CSTR(out, enc[i]);
		long n = afgw_unbase64(enc[i], strlen(enc[i]), bin, sizeof(bin));
		CHECK_INT(n, strlen(plain[i]));
		CHECK(n >= 0 && memcmp(bin, plain[i], (size_t)n) == 0);
	}

	/* Every length 0..70, all byte values, into an exact buffer */
	for (size_t n = 0; n <= 70; n++) {
		uint8_t src[70];
		for (size_t i = 0; i < n; i++)
			src[i] = (uint8_t)(i * 37 + n * 11 + (i >> 1));
		size_t want = 4 * ((n + 2) / 3);
		memset(out, 'x', sizeof(out));
		afgw_base64(src, n, out, want + 1);
		CHECK_INT(strlen(out), want);
		memset(bin, 0, sizeof(bin));
		CHECK_INT(afgw_unbase64(out, want, bin, n), n);
		CHECK(memcmp(bin, src, n) == 0);
		if (n > 0) /* one byte too little room */
			CHECK_INT(afgw_unbase64(out, want, bin, n - 1), -EINVAL);
		/* the buffer is too small for the text: nothing but "" */
		afgw_base64(src, n, out, want);
		CHECK(want == 0 || out[0] == '\0');
	}

	/* Not base64 (of the strict, padded, standard form) */
	static const char *const bad[] = {
		"Zg=",       /* padding short */
		"Zg",        /* padding missing */
		"Zg===",     /* too much padding */
		"Zh==",      /* unused low bits not zero: not the canonical form of "f" */
		"Zm9=",      /* likewise, for two bytes */
		"Zm9v\n",    /* whitespace */
		" Zm9v",
		"Zm9v====",
		"Zm-v",      /* URL-safe alphabet */
		"Zm9_",
		"Z",
		"Zm9vY",
		"=",
		"====",
		"Zg==Zg==",  /* data after padding */
		"Zm9v!",
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(bad); i++) {
		long r = afgw_unbase64(bad[i], strlen(bad[i]), bin, sizeof(bin));
		if (r != -EINVAL)
			fprintf(stderr, "  accepted bad base64 '%s'\n", bad[i]);
		CHECK_INT(r, -EINVAL);
	}
	/* "Zm9v" with a NUL in it: lengths, not C strings */
	CHECK_INT(afgw_unbase64("Zm\0v", 4, bin, sizeof(bin)), -EINVAL);
	CHECK_INT(afgw_unbase64("Zm9vYmFy", 4, bin, sizeof(bin)), 3);
}

static void test_key_id(void)
{
	uint8_t pk[32];
	char a[AFGW_KEY_ID_HEX], b[17];
	for (int k = 0; k < 20; k++) {
		for (int i = 0; i < 32; i++)
			pk[i] = (uint8_t)(k * 31 + i);
		afgw_key_id(pk, a);
		id_by_hand(pk, b);
		CHECK_CSTR(a, b);
		CHECK_INT(strlen(a), 16);
	}
	/* the all-zero key: a fixed vector, so that an app in another language can check */
	memset(pk, 0, sizeof(pk));
	afgw_key_id(pk, a);
	id_by_hand(pk, b);
	CHECK_CSTR(a, b);
}

static void test_generate_sign(void)
{
	char err[AFGW_KEY_ERR] = "";
	const char *prefix = path_in("gw");
	const char *kpath = path_in("gw.key"), *ppath = path_in("gw.pub");
	CHECK_INT(afgw_keys_generate(AFGW_KEY_SIGN, prefix, err, sizeof(err)), 0);
	CHECK_INT(mode_of(kpath), 0600);
	CHECK_INT(mode_of(ppath), 0644);

	char ktext[1024], ptext[1024];
	CHECK(slurp(kpath, ktext, sizeof(ktext)) < sizeof(ktext));
	CHECK(slurp(ppath, ptext, sizeof(ptext)) < sizeof(ptext));
	CHECK(has(ktext, "\nafgw-sign-secret-v1 "));
	CHECK(has(ptext, "\nafgw-sign-public-v1 "));
	CHECK(ktext[0] == '#' && ptext[0] == '#'); /* the comment line says what it is */

	/* Load both back: they agree, and agree with an id computed by hand */
	struct afgw_sign_key *k = NULL;
	struct afgw_sign_pub pub;
	CHECK_INT(afgw_sign_key_load(kpath, &k, err, sizeof(err)), 0);
	CHECK_INT(afgw_sign_pub_load(ppath, &pub, err, sizeof(err)), 0);
	CHECK(k != NULL);
	if (!k)
		return;
	CHECK(memcmp(k->pk, pub.pk, 32) == 0);
	CHECK_CSTR(k->id, pub.id);
	char id[17];
	id_by_hand(pub.pk, id);
	CHECK_CSTR(pub.id, id);
	CHECK(has(ptext, id)); /* the id in the comment and on the key line */
	/* the secret signs what the public key verifies */
	uint8_t sig[64];
	static const uint8_t msg[] = "AFW1 test";
	CHECK_INT(crypto_sign_detached(sig, NULL, msg, sizeof(msg), k->sk), 0);
	CHECK_INT(crypto_sign_verify_detached(sig, msg, sizeof(msg), pub.pk), 0);
	CHECK(memcmp(k->sk + 32, k->pk, 32) == 0);

	/* The loaded key is read-only: a write faults (in a child) */
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2); /* the sanitizer's SEGV report is expected */
		((volatile uint8_t *)k->sk)[0] ^= 1;
		_exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(!(WIFEXITED(st) && WEXITSTATUS(st) == 0));
	afgw_sign_key_free(k);
	afgw_sign_key_free(NULL);

	/* Never overwrite: the pair stays byte for byte */
	err[0] = '\0';
	CHECK_INT(afgw_keys_generate(AFGW_KEY_SIGN, prefix, err, sizeof(err)), -EEXIST);
	CHECK(has(err, "gw.key exists; not overwriting"));
	char again[1024];
	slurp(kpath, again, sizeof(again));
	CHECK(strcmp(again, ktext) == 0);
	slurp(ppath, again, sizeof(again));
	CHECK(strcmp(again, ptext) == 0);
	/* also for a box key over a signing one */
	CHECK_INT(afgw_keys_generate(AFGW_KEY_BOX, prefix, err, sizeof(err)), -EEXIST);
	slurp(kpath, again, sizeof(again));
	CHECK(strcmp(again, ktext) == 0);

	/* Only the .pub is there: refused, and no .key is left behind */
	spit(path_in("half.pub"), "x\n", 2, 0644);
	CHECK_INT(afgw_keys_generate(AFGW_KEY_SIGN, path_in("half"), err, sizeof(err)), -EEXIST);
	CHECK(has(err, "half.pub exists; not overwriting"));
	CHECK(!exists(path_in("half.key")));
	slurp(path_in("half.pub"), again, sizeof(again));
	CHECK(strcmp(again, "x\n") == 0);
	/* Only the .key is there: refused, untouched, no .pub */
	spit(path_in("half2.key"), "y\n", 2, 0600);
	CHECK_INT(afgw_keys_generate(AFGW_KEY_BOX, path_in("half2"), err, sizeof(err)), -EEXIST);
	CHECK(!exists(path_in("half2.pub")));
	slurp(path_in("half2.key"), again, sizeof(again));
	CHECK(strcmp(again, "y\n") == 0);

	/* A directory that is not there: an error naming the file, nothing made */
	err[0] = '\0';
	CHECK_INT(afgw_keys_generate(AFGW_KEY_SIGN, path_in("nodir/k"), err, sizeof(err)),
		  -ENOENT);
	CHECK(has(err, "nodir/k.key"));
	/* A prefix too long for a path */
	static char longp[5000];
	memset(longp, 'a', sizeof(longp) - 1);
	CHECK_INT(afgw_keys_generate(AFGW_KEY_SIGN, longp, err, sizeof(err)), -ENAMETOOLONG);
	CHECK_INT(afgw_keys_generate(AFGW_KEY_SIGN, "", err, sizeof(err)), -EINVAL);

	/* Two keys are different keys */
	struct afgw_sign_pub pub2;
	CHECK_INT(afgw_keys_generate(AFGW_KEY_SIGN, path_in("gw2"), err, sizeof(err)), 0);
	CHECK_INT(afgw_sign_pub_load(path_in("gw2.pub"), &pub2, err, sizeof(err)), 0);
	CHECK(memcmp(pub.pk, pub2.pk, 32) != 0);
	CHECK(strcmp(pub.id, pub2.id) != 0);
}

static void test_generate_box(void)
{
	char err[AFGW_KEY_ERR] = "";
	/* The umask does not make a public key private (nor a secret one public) */
	mode_t old = umask(077);
	CHECK_INT(afgw_keys_generate(AFGW_KEY_BOX, path_in("app"), err, sizeof(err)), 0);
	umask(old);
	CHECK_INT(mode_of(path_in("app.key")), 0600);
	CHECK_INT(mode_of(path_in("app.pub")), 0644);

	struct afgw_box_key *k = NULL;
	CHECK_INT(afgw_box_key_load(path_in("app.key"), &k, err, sizeof(err)), 0);
	if (!k)
		return;
	char text[1024];
	size_t n = slurp(path_in("app.pub"), text, sizeof(text));
	CHECK(has(text, "\nafgw-box-public-v1 "));
	uint8_t pk[32];
	CHECK_INT(afgw_box_pub_parse(text, n, pk), 0);
	CHECK(memcmp(pk, k->pk, 32) == 0);
	uint8_t pk2[32];
	CHECK_INT(crypto_scalarmult_base(pk2, k->sk), 0);
	CHECK(memcmp(pk2, k->pk, 32) == 0);

	/* The bare base64, as an app back end may hand it over */
	const char *b64 = strstr(text, "afgw-box-public-v1 ") + strlen("afgw-box-public-v1 ");
	memset(pk2, 0, 32);
	CHECK_INT(afgw_box_pub_parse(b64, strlen(b64), pk2), 0); /* with its "\n" */
	CHECK(memcmp(pk2, k->pk, 32) == 0);
	CHECK_INT(afgw_box_pub_parse(b64, 44, pk2), 0);
	CHECK_INT(afgw_box_pub_parse(b64, 43, pk2), -EINVAL); /* cut */
	CHECK_INT(afgw_box_pub_parse("", 0, pk2), -EINVAL);
	CHECK_INT(afgw_box_pub_parse("# only a comment\n", 17, pk2), -EINVAL);
	/* 31 bytes: "AAAA...AA=" of 31 zero bytes */
	char b31[64];
	uint8_t z[31] = { 0 };
	afgw_base64(z, 31, b31, sizeof(b31));
	CHECK_INT(afgw_box_pub_parse(b31, strlen(b31), pk2), -EINVAL);
	/* a signing public key is not a box key */
	char wrong[128];
	snprintf(wrong, sizeof(wrong), "afgw-sign-public-v1 %.*s", 44, b64);
	CHECK_INT(afgw_box_pub_parse(wrong, strlen(wrong), pk2), -EINVAL);

	/* sealed to the .pub, opened with the .key */
	uint8_t c[16 + crypto_box_SEALBYTES], m[16];
	CHECK_INT(crypto_box_seal(c, (const uint8_t *)"0123456789abcdef", 16, pk), 0);
	CHECK_INT(crypto_box_seal_open(m, c, sizeof(c), k->pk, k->sk), 0);
	CHECK(memcmp(m, "0123456789abcdef", 16) == 0);
	afgw_box_key_free(k);
	afgw_box_key_free(NULL);
}

static void test_permissions(void)
{
	char err[AFGW_KEY_ERR] = "";
	struct afgw_sign_key *k = NULL;
	struct afgw_box_key *b = NULL;
	const char *kpath = path_in("gw.key");
	CHECK_INT(chmod(kpath, 0644), 0);
	CHECK_INT(afgw_sign_key_load(kpath, &k, err, sizeof(err)), -EPERM);
	CHECK(k == NULL);
	CHECK(has(err, "permissions 0644 for '"));
	CHECK(has(err, "gw.key' are too open"));
	static const mode_t open_modes[] = { 0640, 0604, 0610, 0601, 0660, 0700 | 04 };
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(open_modes); i++) {
		chmod(kpath, open_modes[i]);
		CHECK_INT(afgw_sign_key_load(kpath, &k, err, sizeof(err)), -EPERM);
	}
	chmod(kpath, 0400);
	CHECK_INT(afgw_sign_key_load(kpath, &k, err, sizeof(err)), 0);
	afgw_sign_key_free(k);
	chmod(kpath, 0600);

	chmod(path_in("app.key"), 0640);
	CHECK_INT(afgw_box_key_load(path_in("app.key"), &b, err, sizeof(err)), -EPERM);
	CHECK(has(err, "permissions 0640"));
	chmod(path_in("app.key"), 0600);

	/* missing, or a directory */
	CHECK_INT(afgw_sign_key_load(path_in("nope.key"), &k, err, sizeof(err)), -ENOENT);
	CHECK(has(err, "nope.key"));
	CHECK_INT(afgw_sign_pub_load(path_in("nope.pub"), &(struct afgw_sign_pub){ 0 }, err,
				     sizeof(err)),
		  -ENOENT);
	mkdir(path_in("adir"), 0700);
	CHECK_INT(afgw_sign_key_load(path_in("adir"), &k, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "not a regular file"));
	rmdir(path_in("adir"));
}

/* Load text as a secret signing key: the rc, err in err. */
static int load_sign_text(const char *text, size_t len, char *err, size_t errlen)
{
	const char *p = path_in("t.key");
	struct afgw_sign_key *k = NULL;
	spit(p, text, len, 0600);
	err[0] = '\0';
	int rc = afgw_sign_key_load(p, &k, err, errlen);
	if ((rc == 0) != (k != NULL))
		return -1000;
	afgw_sign_key_free(k);
	return rc;
}

static int load_pub_text(const char *text, size_t len, char *err, size_t errlen,
			 struct afgw_sign_pub *pub)
{
	const char *p = path_in("t.pub");
	spit(p, text, len, 0644);
	err[0] = '\0';
	int rc = afgw_sign_pub_load(p, pub, err, errlen);
	/* the text parser says the same */
	if ((afgw_sign_pub_parse(text, len, &(struct afgw_sign_pub){ 0 }) == 0) != (rc == 0))
		return -1000;
	return rc;
}

static void test_bad_files(void)
{
	char err[AFGW_KEY_ERR], ktext[1024], ptext[1024], t[8192];
	size_t kn = slurp(path_in("gw.key"), ktext, sizeof(ktext));
	size_t pn = slurp(path_in("gw.pub"), ptext, sizeof(ptext));
	struct afgw_sign_pub pub;

	/* The files as written load */
	CHECK_INT(load_sign_text(ktext, kn, err, sizeof(err)), 0);
	CHECK_INT(load_pub_text(ptext, pn, err, sizeof(err), &pub), 0);

	/* Where the key line's base64 starts and ends */
	const char *kb = strstr(ktext, "afgw-sign-secret-v1 ") + strlen("afgw-sign-secret-v1 ");
	size_t kb_at = (size_t)(kb - ktext), kb_end = kb_at + 88; /* 64 bytes: 88 chars */
	CHECK(ktext[kb_end] == '\n');
	const char *pl = strstr(ptext, "afgw-sign-public-v1 ");
	size_t pb_end = (size_t)(pl - ptext) + strlen("afgw-sign-public-v1 ") + 16 + 1 + 44;
	CHECK(ptext[pb_end] == '\n');

	/* Corrupted base64: a character that is not base64 */
	memcpy(t, ktext, kn);
	t[kb_at + 10] = '!';
	CHECK_INT(load_sign_text(t, kn, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "t.key: the key is not base64 of 64 bytes"));
	/* ... and a valid character changed: the halves no longer match */
	memcpy(t, ktext, kn);
	t[kb_end - 10] = t[kb_end - 10] == 'A' ? 'B' : 'A';
	CHECK_INT(load_sign_text(t, kn, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "t.key: damaged key: its public half does not match its secret half"));
	/* ... or in the seed half: the same */
	memcpy(t, ktext, kn);
	t[kb_at + 3] = t[kb_at + 3] == 'A' ? 'B' : 'A';
	CHECK_INT(load_sign_text(t, kn, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "does not match"));

	/* Wrong kind: a box secret key, a public key, something else */
	CHECK_INT(load_sign_text(ptext, pn, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "t.key: not an afgw signing secret key (found 'afgw-sign-public-v1', "
		       "expected 'afgw-sign-secret-v1 BASE64')"));
	char atext[1024];
	size_t an = slurp(path_in("app.key"), atext, sizeof(atext));
	CHECK_INT(load_sign_text(atext, an, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "found 'afgw-box-secret-v1'"));
	{
		struct afgw_box_key *b = NULL;
		spit(path_in("t.key"), ktext, kn, 0600);
		CHECK_INT(afgw_box_key_load(path_in("t.key"), &b, err, sizeof(err)), -EINVAL);
		CHECK(has(err, "t.key: not an afgw app (box) secret key (found 'afgw-sign-secret-v1'"));
		CHECK(b == NULL);
	}
	static const char ssh[] = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n";
	CHECK_INT(load_sign_text(ssh, sizeof(ssh) - 1, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "t.key: not an afgw signing secret key (expected 'afgw-sign-secret-v1 "
		       "BASE64')"));
	CHECK(!strstr(err, "b3Bl")); /* never echoes the file */
	CHECK_INT(load_sign_text("", 0, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "t.key: not an afgw signing secret key"));
	/* A kind line in capitals, an extra field, the kind alone */
	int n = snprintf(t, sizeof(t), "AFGW-SIGN-SECRET-V1 %.88s\n", kb);
	CHECK_INT(load_sign_text(t, (size_t)n, err, sizeof(err)), -EINVAL);
	n = snprintf(t, sizeof(t), "afgw-sign-secret-v1 %.88s extra\n", kb);
	CHECK_INT(load_sign_text(t, (size_t)n, err, sizeof(err)), -EINVAL);
	CHECK_INT(load_sign_text("afgw-sign-secret-v1\n", 20, err, sizeof(err)), -EINVAL);
	/* Two keys in one file */
	n = snprintf(t, sizeof(t), "%safgw-sign-secret-v1 %.88s\n", ktext, kb);
	CHECK_INT(load_sign_text(t, (size_t)n, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "t.key: more than one key in the file"));
	/* Comments, blank lines, CRLF and blanks around are fine */
	n = snprintf(t, sizeof(t), "\r\n# a comment\n  \n\t afgw-sign-secret-v1 \t%.88s \r\n# end",
		     kb);
	CHECK_INT(load_sign_text(t, (size_t)n, err, sizeof(err)), 0);
	/* A comment sign after the key is not a comment */
	n = snprintf(t, sizeof(t), "afgw-sign-secret-v1 %.88s # mine\n", kb);
	CHECK_INT(load_sign_text(t, (size_t)n, err, sizeof(err)), -EINVAL);
	/* Over 4 KiB: refused before parsing */
	memset(t, '#', 5000);
	memcpy(t + 4999 - kn, ktext, kn);
	t[4999 - kn - 1] = '\n';
	CHECK_INT(load_sign_text(t, 4999, err, sizeof(err)), -EINVAL);
	CHECK(has(err, "t.key: too large for a key file"));
	/* exactly 4096 bytes is still a key file */
	memset(t, '#', 4096);
	memcpy(t + 4096 - kn, ktext, kn);
	t[4096 - kn - 1] = '\n';
	CHECK_INT(load_sign_text(t, 4096, err, sizeof(err)), 0);

	/* Truncated at every byte: fine only once the key line is whole */
	for (size_t cut = 0; cut < kn; cut++) {
		int rc = load_sign_text(ktext, cut, err, sizeof(err));
		if (cut >= kb_end) {
			CHECK_INT(rc, 0);
		} else {
			CHECK_INT(rc, -EINVAL);
			CHECK(names_file(err, "t.key"));
		}
	}
	for (size_t cut = 0; cut < pn; cut++) {
		int rc = load_pub_text(ptext, cut, err, sizeof(err), &pub);
		if (cut >= pb_end) {
			CHECK_INT(rc, 0);
		} else {
			CHECK_INT(rc, -EINVAL);
			CHECK(names_file(err, "t.pub"));
		}
	}

	/* Public keys: a mismatching id, a bad id, bad base64, the wrong kind */
	size_t id_at = (size_t)(pl - ptext) + strlen("afgw-sign-public-v1 ");
	memcpy(t, ptext, pn);
	t[id_at + 15] = t[id_at + 15] == '0' ? '1' : '0';
	CHECK_INT(load_pub_text(t, pn, err, sizeof(err), &pub), -EINVAL);
	CHECK(has(err, "t.pub: key id does not match the key"));
	memcpy(t, ptext, pn);
	t[id_at + 3] = 'G';
	CHECK_INT(load_pub_text(t, pn, err, sizeof(err), &pub), -EINVAL);
	CHECK(has(err, "t.pub: bad key id"));
	memcpy(t, ptext, pn);
	for (size_t i = 0; i < 16; i++)
		if (t[id_at + i] >= 'a' && t[id_at + i] <= 'f')
			t[id_at + i] = (char)(t[id_at + i] - 32);
	if (memcmp(t, ptext, pn) != 0) { /* an id with letters, in upper case */
		CHECK_INT(load_pub_text(t, pn, err, sizeof(err), &pub), -EINVAL);
		CHECK(has(err, "bad key id"));
	}
	memcpy(t, ptext, pn);
	t[pb_end - 5] = '.';
	CHECK_INT(load_pub_text(t, pn, err, sizeof(err), &pub), -EINVAL);
	CHECK(has(err, "t.pub: the key is not base64 of 32 bytes"));
	CHECK_INT(load_pub_text(ktext, kn, err, sizeof(err), &pub), -EINVAL);
	CHECK(has(err, "t.pub: not an afgw signing public key (found 'afgw-sign-secret-v1', "
		       "expected 'afgw-sign-public-v1 ID BASE64')"));
	char aptext[1024];
	size_t apn = slurp(path_in("app.pub"), aptext, sizeof(aptext));
	CHECK_INT(load_pub_text(aptext, apn, err, sizeof(err), &pub), -EINVAL);
	CHECK(has(err, "found 'afgw-box-public-v1'"));
	CHECK_INT(load_pub_text("hello\n", 6, err, sizeof(err), &pub), -EINVAL);
	CHECK(has(err, "t.pub: not an afgw signing public key (expected 'afgw-sign-public-v1 ID "
		       "BASE64')"));
	/* Two keys in a .pub */
	n = snprintf(t, sizeof(t), "%s%s", ptext, pl);
	CHECK_INT(load_pub_text(t, (size_t)n, err, sizeof(err), &pub), -EINVAL);
	CHECK(has(err, "more than one key"));
	/* The key line alone, without comment or newline, parses */
	CHECK_INT(afgw_sign_pub_parse(pl, pb_end - (size_t)(pl - ptext), &pub), 0);
	/* A key line with an id of another key: each part valid, together not */
	char other[1024];
	size_t on = slurp(path_in("gw2.pub"), other, sizeof(other));
	const char *ol = strstr(other, "afgw-sign-public-v1 ");
	n = snprintf(t, sizeof(t), "afgw-sign-public-v1 %.16s %.44s\n",
		     ol + strlen("afgw-sign-public-v1 "), pl + strlen("afgw-sign-public-v1 ") + 17);
	(void)on;
	CHECK_INT(load_pub_text(t, (size_t)n, err, sizeof(err), &pub), -EINVAL);
	CHECK(has(err, "key id does not match the key"));

	/* A box secret key file cut short or with bad base64 */
	const char *ab = strstr(atext, "afgw-box-secret-v1 ") + strlen("afgw-box-secret-v1 ");
	size_t ab_end = (size_t)(ab - atext) + 44;
	for (size_t cut = 0; cut < an; cut++) {
		struct afgw_box_key *b = NULL;
		spit(path_in("t.key"), atext, cut, 0600);
		int rc = afgw_box_key_load(path_in("t.key"), &b, err, sizeof(err));
		CHECK_INT(rc, cut >= ab_end ? 0 : -EINVAL);
		afgw_box_key_free(b);
	}
}

static void remove_dir(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	char p[512];
	while (dp && (e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		unlink(p);
	}
	if (dp)
		closedir(dp);
	rmdir(d);
}

/* Pseudonyms: deterministic per key, different across keys; the key file. */
static void test_pseudonym(void)
{
	uint8_t k1[AFGW_PSEUDONYM_KEY_BYTES], k2[AFGW_PSEUDONYM_KEY_BYTES];
	char a[AFGW_PSEUDONYM_TEXT], b[AFGW_PSEUDONYM_TEXT], c[AFGW_PSEUDONYM_TEXT];
	char path[128];
	snprintf(path, sizeof(path), "%s/pseudonym.key", dir);
	FILE *f = fopen(path, "w");
	fputs("000102030405060708090a0b0c0d0e0F\n", f);
	fclose(f);
	chmod(path, 0600);
	char err[AFGW_KEY_ERR];
	CHECK_INT(afgw_pseudonym_key_load(path, k1, err, sizeof(err)), 0);
	CHECK_INT(k1[0], 0);
	CHECK_INT(k1[15], 15);
	afgw_pseudonym(k1, "+8613800138000", 14, a);
	afgw_pseudonym(k1, "+8613800138000", 14, b);
	CHECK(strcmp(a, b) == 0);
	CHECK_INT(strlen(a), 18);
	CHECK(!strncmp(a, "p:", 2));
	afgw_pseudonym(k1, "+8613800138001", 14, c);
	CHECK(strcmp(a, c) != 0);
	afgw_pseudonym_key_random(k2);
	afgw_pseudonym(k2, "+8613800138000", 14, c);
	CHECK(strcmp(a, c) != 0);
	/* refused: too open, too short, not hex */
	chmod(path, 0644);
	CHECK_INT(afgw_pseudonym_key_load(path, k1, err, sizeof(err)), -EPERM);
	f = fopen(path, "w");
	fputs("0001020304\n", f);
	fclose(f);
	chmod(path, 0600);
	CHECK_INT(afgw_pseudonym_key_load(path, k1, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "32 hex digits") != NULL);
	f = fopen(path, "w");
	fputs("zz0102030405060708090a0b0c0d0e0f\n", f);
	fclose(f);
	CHECK_INT(afgw_pseudonym_key_load(path, k1, err, sizeof(err)), -EINVAL);
	unlink(path);
}

int main(void)
{
	CHECK_INT(afgw_keys_init(), 0);
	CHECK_INT(afgw_keys_init(), 0); /* twice is fine */
	snprintf(dir, sizeof(dir), "/tmp/afgw-keys-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	umask(022);
	test_base64();
	test_key_id();
	test_generate_sign();
	test_generate_box();
	test_permissions();
	test_bad_files();
	test_pseudonym();
	remove_dir(dir);
	return check_report();
}
