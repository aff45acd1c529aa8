/*
 * keys.c - key pairs and key files: the gateway's Ed25519 signing key,
 * the police's bundle keys and the app accounts' X25519 box keys
 * (keys.h has the file format).
 *
 * Input: key files written by afgw_keys_generate (afgwctl keygen) or by a
 * police system or an app back end following the documented format.
 * Output: loaded keys, secret ones in sodium_malloc memory (guard pages,
 * locked against swap, read-only once loaded, wiped when freed).
 *
 * Called at start-up and on reload by the control thread, and by
 * afgwctl; nothing here is on the packet path.  Loading is strict: a
 * secret key that group or others could read is refused like ssh
 * refuses it, a file that is not exactly one key of the expected kind is
 * refused with a line saying what is wrong, and a key whose parts do not
 * agree (a signing key's embedded public half, a public key's id) is
 * refused rather than used.  The text of a secret key file is read into
 * locked memory too and wiped; no copy of a secret is left on the heap.
 *
 * What it deliberately does not do: passphrases (the key file's mode is
 * its protection, as for an ssh host key), key rotation policy, or
 * deciding which public keys to trust (the caller's configuration).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "afgw/common.h"
#include "afgw/fileio.h"
#include "afgw/keys.h"
#include "afgw/log.h"

/* A key file is a comment and one line of base64: anything larger is not one. */
#define KEYFILE_MAX 4096

static const char kind_sign_secret[] = "afgw-sign-secret-v1";
static const char kind_box_secret[] = "afgw-box-secret-v1";
static const char kind_sign_public[] = "afgw-sign-public-v1";
static const char kind_box_public[] = "afgw-box-public-v1";

int afgw_keys_init(void)
{
	/* sodium_init is itself thread-safe and idempotent (1: already done). */
	return sodium_init() < 0 ? -EIO : 0;
}


/* ---- base64 and key ids -------------------------------------------- */

void afgw_base64(const uint8_t *p, size_t n, char *out, size_t cap)
{
	/* sodium_bin2base64 aborts on a short buffer: refuse politely instead. */
	if (cap < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL)) {
		if (cap)
			out[0] = '\0';
		return;
	}
	sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
}

/*
 * Strict: the standard alphabet, exactly the padding due, no whitespace,
 * and unused low bits zero, so every byte string has exactly one text
 * form (libsodium checks all of that when no characters are to be
 * ignored and no end pointer is asked for).
 */
long afgw_unbase64(const char *s, size_t len, uint8_t *out, size_t cap)
{
	size_t n = 0;
	if (len == 0)
		return 0;
	if (sodium_base642bin(out, cap, s, len, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) !=
	    0)
		return -EINVAL;
	return (long)n;
}

void afgw_key_id(const uint8_t pk[AFGW_SIGN_PUBLIC_BYTES], char id[AFGW_KEY_ID_HEX])
{
	uint8_t h[16];
	crypto_generichash(h, sizeof(h), pk, AFGW_SIGN_PUBLIC_BYTES, NULL, 0);
	sodium_bin2hex(id, AFGW_KEY_ID_HEX, h, AFGW_KEY_ID_BYTES);
}

/* ---- the text of a key file ---------------------------------------- */

struct fields {
	const char *p[3];
	size_t n[3];
	unsigned count;
};

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool tok_is(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(p, lit, n) == 0;
}

/*
 * The one key line of a key file's text, split at blanks into at most
 * three fields (f gets the first line's fields whatever the result).
 * Blank lines and lines starting with '#' are skipped.  Returns 0,
 * -ENOENT (no key line), -EEXIST (a second key line) or -E2BIG (more
 * than three fields).
 */
static int key_fields(const char *text, size_t len, struct fields *f)
{
	bool found = false, too_many = false;
	size_t i = 0;
	f->count = 0;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t a = i, b = nl ? (size_t)(nl - text) : len;
		i = b + 1;
		while (a < b && blank(text[a]))
			a++;
		while (b > a && blank(text[b - 1]))
			b--;
		if (a == b || text[a] == '#')
			continue;
		if (found)
			return -EEXIST;
		found = true;
		while (a < b) {
			size_t s = a;
			while (a < b && !blank(text[a]))
				a++;
			if (f->count < AFGW_ARRAY_SIZE(f->p)) {
				f->p[f->count] = text + s;
				f->n[f->count++] = a - s;
			} else {
				too_many = true;
			}
			while (a < b && blank(text[a]))
				a++;
		}
	}
	return !found ? -ENOENT : too_many ? -E2BIG : 0;
}

/* The kind name of a key line when it is one of ours (to say "this is a
 * box key, not a signing key"), else NULL.  Never echoes file bytes. */
static const char *known_kind(const struct fields *f)
{
	static const char *const kinds[] = { kind_sign_secret, kind_box_secret, kind_sign_public,
					     kind_box_public };
	if (f->count == 0)
		return NULL;
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(kinds); i++)
		if (tok_is(f->p[0], f->n[0], kinds[i]))
			return kinds[i];
	return NULL;
}

/* "not an afgw signing public key (expected '...')", naming the kind found
 * when it is another of ours. */
static int wrong_kind(char *err, size_t errlen, const char *path, const struct fields *f,
		      const char *what, const char *expected)
{
	const char *k = known_kind(f);
	if (k)
		return afgw_errf(err, errlen, -EINVAL, "%s: not an afgw %s (found '%s', expected '%s')",
			    path, what, k, expected);
	return afgw_errf(err, errlen, -EINVAL, "%s: not an afgw %s (expected '%s')", path, what,
		    expected);
}

static bool is_key_id(const char *p, size_t n)
{
	if (n != AFGW_KEY_ID_HEX - 1)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

/*
 * Read a key file (at most KEYFILE_MAX bytes) into buf (cap KEYFILE_MAX).
 * secret: refuse a file group or others may access.  Returns 0 or -errno
 * with a line in err.
 */
static int read_keyfile(const char *path, bool secret, char *buf, size_t *len, char *err,
			size_t errlen)
{
	/* O_NONBLOCK: a FIFO given as a key file must not hang us (regular
	 * files ignore the flag). */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return afgw_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	int rc;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = afgw_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = afgw_errf(err, errlen, -EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if (secret && (st.st_mode & 077)) {
		rc = afgw_errf(err, errlen, -EPERM,
			  "permissions %04o for '%s' are too open: a secret key must not be "
			  "accessible by others (chmod 600 it)",
			  (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	size_t n = 0;
	for (;;) {
		/* One byte more than a key file may hold tells a too large one. */
		char one;
		ssize_t r = n < KEYFILE_MAX ? read(fd, buf + n, KEYFILE_MAX - n) : read(fd, &one, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = afgw_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (n == KEYFILE_MAX) {
			rc = afgw_errf(err, errlen, -EINVAL, "%s: too large for a key file (over %d bytes)",
				  path, KEYFILE_MAX);
			goto out;
		}
		n += (size_t)r;
	}
	*len = n;
	rc = 0;
out:
	close(fd);
	return rc;
}

/* ---- secret keys ---------------------------------------------------- */

/*
 * Decode the secret key file at path, of kind, into sk (n bytes, locked
 * memory).  The file's text lives in locked memory and is wiped.
 */
static int load_secret(const char *path, const char *kind, const char *what, uint8_t *sk,
		       size_t n, char *err, size_t errlen)
{
	char *text = sodium_malloc(KEYFILE_MAX);
	if (!text)
		return afgw_errf(err, errlen, -ENOMEM, "%s: cannot allocate locked memory", path);
	size_t len = 0;
	struct fields f;
	int rc = read_keyfile(path, true, text, &len, err, errlen);
	if (rc)
		goto out;
	char expected[64];
	snprintf(expected, sizeof(expected), "%s BASE64", kind);
	rc = key_fields(text, len, &f);
	if (rc == -ENOENT || !tok_is(f.p[0], f.n[0], kind)) {
		rc = wrong_kind(err, errlen, path, &f, what, expected);
		goto out;
	}
	if (rc == -EEXIST) {
		rc = afgw_errf(err, errlen, -EINVAL, "%s: more than one key in the file", path);
		goto out;
	}
	if (rc || f.count != 2) {
		rc = afgw_errf(err, errlen, -EINVAL, "%s: the key line should read '%s'", path, expected);
		goto out;
	}
	if (afgw_unbase64(f.p[1], f.n[1], sk, n) != (long)n) {
		rc = afgw_errf(err, errlen, -EINVAL, "%s: the key is not base64 of %zu bytes", path, n);
		goto out;
	}
	rc = 0;
out:
	sodium_free(text); /* wipes */
	return rc;
}

int afgw_sign_key_load(const char *path, struct afgw_sign_key **out, char *err, size_t errlen)
{
	*out = NULL;
	struct afgw_sign_key *k = sodium_malloc(sizeof(*k));
	if (!k)
		return afgw_errf(err, errlen, -ENOMEM, "%s: cannot allocate locked memory", path);
	int rc = load_secret(path, kind_sign_secret, "signing secret key", k->sk, sizeof(k->sk),
			     err, errlen);
	if (rc)
		goto fail;
	/*
	 * An Ed25519 secret key is seed | public key.  Derive the public key
	 * from the seed again: a file whose halves disagree would sign with
	 * a key nobody can verify, and should be found now, not by the app.
	 */
	uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES],
		sk[crypto_sign_SECRETKEYBYTES];
	crypto_sign_ed25519_sk_to_seed(seed, k->sk);
	crypto_sign_seed_keypair(pk, sk, seed);
	bool same = sodium_memcmp(pk, k->sk + crypto_sign_SEEDBYTES, sizeof(pk)) == 0;
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	if (!same) {
		rc = afgw_errf(err, errlen, -EINVAL,
			  "%s: damaged key: its public half does not match its secret half", path);
		goto fail;
	}
	memcpy(k->pk, pk, sizeof(k->pk));
	afgw_key_id(k->pk, k->id);
	sodium_mprotect_readonly(k);
	*out = k;
	return 0;
fail:
	sodium_free(k);
	return rc;
}

void afgw_sign_key_free(struct afgw_sign_key *k)
{
	if (k)
		sodium_free(k); /* makes it writable, wipes, unmaps */
}

int afgw_box_key_load(const char *path, struct afgw_box_key **out, char *err, size_t errlen)
{
	*out = NULL;
	struct afgw_box_key *k = sodium_malloc(sizeof(*k));
	if (!k)
		return afgw_errf(err, errlen, -ENOMEM, "%s: cannot allocate locked memory", path);
	int rc = load_secret(path, kind_box_secret, "app (box) secret key", k->sk, sizeof(k->sk),
			     err, errlen);
	if (rc)
		goto fail;
	if (crypto_scalarmult_base(k->pk, k->sk) != 0) {
		rc = afgw_errf(err, errlen, -EINVAL, "%s: not a usable X25519 secret key", path);
		goto fail;
	}
	sodium_mprotect_readonly(k);
	*out = k;
	return 0;
fail:
	sodium_free(k);
	return rc;
}

void afgw_box_key_free(struct afgw_box_key *k)
{
	if (k)
		sodium_free(k);
}

/* ---- public keys ---------------------------------------------------- */

static const char WRONG_KIND[] = "not an afgw signing public key";

/* Parse a signing public key's text; NULL on success, else what is wrong
 * (WRONG_KIND: the line is not one, f says what it is). */
static const char *parse_sign_pub(const char *text, size_t len, struct afgw_sign_pub *out,
				  struct fields *f)
{
	int rc = key_fields(text, len, f);
	if (rc == -ENOENT || !tok_is(f->p[0], f->n[0], kind_sign_public))
		return WRONG_KIND;
	if (rc == -EEXIST)
		return "more than one key in the file";
	if (rc || f->count != 3)
		return "the key line should read 'afgw-sign-public-v1 ID BASE64'";
	if (!is_key_id(f->p[1], f->n[1]))
		return "bad key id (expected 16 lowercase hex digits)";
	uint8_t pk[AFGW_SIGN_PUBLIC_BYTES];
	if (afgw_unbase64(f->p[2], f->n[2], pk, sizeof(pk)) != (long)sizeof(pk))
		return "the key is not base64 of 32 bytes";
	char id[AFGW_KEY_ID_HEX];
	afgw_key_id(pk, id);
	if (memcmp(id, f->p[1], AFGW_KEY_ID_HEX - 1) != 0)
		return "key id does not match the key";
	memcpy(out->pk, pk, sizeof(pk));
	memcpy(out->id, id, sizeof(id));
	return NULL;
}

int afgw_sign_pub_parse(const char *text, size_t len, struct afgw_sign_pub *out)
{
	struct fields f;
	return parse_sign_pub(text, len, out, &f) ? -EINVAL : 0;
}

int afgw_sign_pub_load(const char *path, struct afgw_sign_pub *out, char *err, size_t errlen)
{
	char text[KEYFILE_MAX];
	size_t len = 0;
	int rc = read_keyfile(path, false, text, &len, err, errlen);
	if (rc)
		return rc;
	struct fields f;
	const char *why = parse_sign_pub(text, len, out, &f);
	if (!why)
		return 0;
	if (why == WRONG_KIND)
		return wrong_kind(err, errlen, path, &f, "signing public key",
				  "afgw-sign-public-v1 ID BASE64");
	return afgw_errf(err, errlen, -EINVAL, "%s: %s", path, why);
}

int afgw_box_pub_parse(const char *text, size_t len, uint8_t pk[AFGW_BOX_PUBLIC_BYTES])
{
	struct fields f;
	if (key_fields(text, len, &f) != 0)
		return -EINVAL;
	const char *p;
	size_t n;
	if (f.count == 2 && tok_is(f.p[0], f.n[0], kind_box_public)) {
		p = f.p[1];
		n = f.n[1];
	} else if (f.count == 1) {
		p = f.p[0];
		n = f.n[0];
	} else {
		return -EINVAL;
	}
	uint8_t tmp[AFGW_BOX_PUBLIC_BYTES];
	if (afgw_unbase64(p, n, tmp, sizeof(tmp)) != (long)sizeof(tmp))
		return -EINVAL;
	memcpy(pk, tmp, sizeof(tmp));
	return 0;
}

/* ---- generating ----------------------------------------------------- */

/* Append s[0..n) to buf[*len..cap); false if it does not fit. */
static bool append(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	if (cap - *len < n)
		return false;
	memcpy(buf + *len, s, n);
	*len += n;
	return true;
}

static bool append_str(char *buf, size_t cap, size_t *len, const char *s)
{
	return append(buf, cap, len, s, strlen(s));
}

/* Write text to the freshly created fd (mode set exactly, not by the
 * umask), fsync and close it.  Returns 0 or -errno; fd is closed either way. */
static int finish_file(int fd, mode_t mode, const char *text, size_t len)
{
	int rc = 0;
	if (fchmod(fd, mode) != 0 || (rc = afgw_write_all(fd, text, len)) != 0 || fsync(fd) != 0) {
		if (!rc)
			rc = -errno;
		close(fd);
		return rc;
	}
	return close(fd) != 0 ? -errno : 0;
}

/* fsync the directory holding path, so that the new names survive a crash. */
static void sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
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

/* The secret half and the text of both files, all in locked memory. */
struct keygen {
	uint8_t sk[AFGW_SIGN_SECRET_BYTES];
	uint8_t pk[AFGW_SIGN_PUBLIC_BYTES];
	char sk64[sodium_base64_ENCODED_LEN(AFGW_SIGN_SECRET_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	char secret_text[512];
	char public_text[512];
	size_t secret_len, public_len;
};

/* Make the key pair and both files' text into g.  false: did not fit. */
static bool compose(enum afgw_key_kind kind, struct keygen *g)
{
	char pk64[sodium_base64_ENCODED_LEN(AFGW_SIGN_PUBLIC_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	char id[AFGW_KEY_ID_HEX];
	const size_t sc = sizeof(g->secret_text), pc = sizeof(g->public_text);
	size_t *sl = &g->secret_len, *pl = &g->public_len;
	bool ok = true;
	*sl = *pl = 0;
	if (kind == AFGW_KEY_SIGN) {
		crypto_sign_keypair(g->pk, g->sk);
		afgw_key_id(g->pk, id);
		afgw_base64(g->sk, AFGW_SIGN_SECRET_BYTES, g->sk64, sizeof(g->sk64));
		afgw_base64(g->pk, AFGW_SIGN_PUBLIC_BYTES, pk64, sizeof(pk64));
		ok = append_str(g->secret_text, sc, sl, "# afgw signing secret key (Ed25519), key id ") &&
		     append_str(g->secret_text, sc, sl, id) &&
		     append_str(g->secret_text, sc, sl,
				". Keep it private: whoever holds it signs as this key.\n") &&
		     append_str(g->secret_text, sc, sl, kind_sign_secret) &&
		     append_str(g->secret_text, sc, sl, " ") &&
		     append_str(g->secret_text, sc, sl, g->sk64) &&
		     append_str(g->secret_text, sc, sl, "\n") &&
		     append_str(g->public_text, pc, pl, "# afgw signing public key (Ed25519), key id ") &&
		     append_str(g->public_text, pc, pl, id) &&
		     append_str(g->public_text, pc, pl, "\n") &&
		     append_str(g->public_text, pc, pl, kind_sign_public) &&
		     append_str(g->public_text, pc, pl, " ") &&
		     append_str(g->public_text, pc, pl, id) &&
		     append_str(g->public_text, pc, pl, " ") &&
		     append_str(g->public_text, pc, pl, pk64) &&
		     append_str(g->public_text, pc, pl, "\n");
	} else {
		crypto_box_keypair(g->pk, g->sk);
		afgw_base64(g->sk, AFGW_BOX_SECRET_BYTES, g->sk64, sizeof(g->sk64));
		afgw_base64(g->pk, AFGW_BOX_PUBLIC_BYTES, pk64, sizeof(pk64));
		ok = append_str(g->secret_text, sc, sl,
				"# afgw app account secret key (X25519). Keep it on the device: it "
				"opens the account's warnings.\n") &&
		     append_str(g->secret_text, sc, sl, kind_box_secret) &&
		     append_str(g->secret_text, sc, sl, " ") &&
		     append_str(g->secret_text, sc, sl, g->sk64) &&
		     append_str(g->secret_text, sc, sl, "\n") &&
		     append_str(g->public_text, pc, pl,
				"# afgw app account public key (X25519), for "
				"'afgwctl sub add --pubkey'\n") &&
		     append_str(g->public_text, pc, pl, kind_box_public) &&
		     append_str(g->public_text, pc, pl, " ") &&
		     append_str(g->public_text, pc, pl, pk64) &&
		     append_str(g->public_text, pc, pl, "\n");
	}
	return ok;
}

/*
 * Both files are created with O_EXCL before either is written, so an
 * existing file is never touched; a file this call created is removed
 * again if anything after it fails, so a failure leaves nothing behind.
 */
int afgw_keys_generate(enum afgw_key_kind kind, const char *prefix, char *err, size_t errlen)
{
	char kpath[PATH_MAX], ppath[PATH_MAX];
	if (kind != AFGW_KEY_SIGN && kind != AFGW_KEY_BOX)
		return afgw_errf(err, errlen, -EINVAL, "unknown key kind");
	if (!prefix || !*prefix)
		return afgw_errf(err, errlen, -EINVAL, "empty file name prefix");
	if ((size_t)snprintf(kpath, sizeof(kpath), "%s.key", prefix) >= sizeof(kpath) ||
	    (size_t)snprintf(ppath, sizeof(ppath), "%s.pub", prefix) >= sizeof(ppath))
		return afgw_errf(err, errlen, -ENAMETOOLONG, "%s: file name too long", prefix);
	if (afgw_keys_init() != 0)
		return afgw_errf(err, errlen, -EIO, "libsodium failed to initialise");

	int rc, kfd = -1, pfd = -1;
	bool made_k = false, made_p = false;
	struct keygen *g = sodium_malloc(sizeof(*g));
	if (!g)
		return afgw_errf(err, errlen, -ENOMEM, "cannot allocate locked memory");
	if (!compose(kind, g)) {
		rc = afgw_errf(err, errlen, -EINVAL, "internal error: key text too long");
		goto fail;
	}
	kfd = open(kpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (kfd < 0) {
		rc = errno == EEXIST ? afgw_errf(err, errlen, -EEXIST, "%s exists; not overwriting", kpath)
				     : afgw_errf(err, errlen, -errno, "%s: %s", kpath, strerror(errno));
		goto fail;
	}
	made_k = true;
	pfd = open(ppath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
	if (pfd < 0) {
		rc = errno == EEXIST ? afgw_errf(err, errlen, -EEXIST, "%s exists; not overwriting", ppath)
				     : afgw_errf(err, errlen, -errno, "%s: %s", ppath, strerror(errno));
		goto fail;
	}
	made_p = true;
	rc = finish_file(kfd, 0600, g->secret_text, g->secret_len);
	kfd = -1;
	if (rc) {
		rc = afgw_errf(err, errlen, rc, "%s: %s", kpath, strerror(-rc));
		goto fail;
	}
	rc = finish_file(pfd, 0644, g->public_text, g->public_len);
	pfd = -1;
	if (rc) {
		rc = afgw_errf(err, errlen, rc, "%s: %s", ppath, strerror(-rc));
		goto fail;
	}
	sync_dir(kpath);
	sodium_free(g);
	return 0;
fail:
	if (pfd >= 0)
		close(pfd);
	if (kfd >= 0)
		close(kfd);
	if (made_p)
		unlink(ppath);
	if (made_k)
		unlink(kpath);
	sodium_free(g);
	return rc;
}

void afgw_pseudonym(const uint8_t key[AFGW_PSEUDONYM_KEY_BYTES], const char *s, size_t n,
		    char out[AFGW_PSEUDONYM_TEXT])
{
	uint8_t h[crypto_shorthash_BYTES];
	static const char hex[] = "0123456789abcdef";
	crypto_shorthash(h, (const uint8_t *)s, n, key);
	out[0] = 'p';
	out[1] = ':';
	for (size_t i = 0; i < sizeof(h); i++) {
		out[2 + 2 * i] = hex[h[i] >> 4];
		out[3 + 2 * i] = hex[h[i] & 15];
	}
	out[2 + 2 * sizeof(h)] = '\0';
}

int afgw_pseudonym_key_load(const char *path, uint8_t key[AFGW_PSEUDONYM_KEY_BYTES], char *err,
			    size_t errlen)
{
	char buf[KEYFILE_MAX];
	size_t len;
	int rc = read_keyfile(path, true, buf, &len, err, errlen);
	if (rc)
		return rc;
	size_t n = 0;
	unsigned char v[2 * AFGW_PSEUDONYM_KEY_BYTES];
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0 || n == sizeof(v)) {
			n = 0;
			break;
		}
		v[n++] = (unsigned char)d;
	}
	sodium_memzero(buf, sizeof(buf));
	if (n != sizeof(v)) {
		sodium_memzero(v, sizeof(v));
		return afgw_errf(err, errlen, -EINVAL, "%s: not a pseudonym key (32 hex digits)", path);
	}
	for (size_t i = 0; i < AFGW_PSEUDONYM_KEY_BYTES; i++)
		key[i] = (uint8_t)(v[2 * i] << 4 | v[2 * i + 1]);
	sodium_memzero(v, sizeof(v));
	return 0;
}

void afgw_pseudonym_key_random(uint8_t key[AFGW_PSEUDONYM_KEY_BYTES])
{
	randombytes_buf(key, AFGW_PSEUDONYM_KEY_BYTES);
}
