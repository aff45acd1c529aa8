/*
 * bundle.c - police bundles: decoding and verifying the signed container,
 * the trusted keyring, the parts (rules, number lists), making and signing
 * bundles for afgwctl, and the gateway's acceptance state and audit log.
 * rules/README.md "Bundles" documents the format byte for byte.
 *
 * Input: a bundle's bytes from Redis, a file or the state directory, and a
 * keyring of police public keys.  Output: a verified struct afgw_bundle
 * whose parts the gateway may then parse and compile, or a reason why
 * not, which also goes to the audit log.
 *
 * The order of the checks is the security argument.  Only the fixed prefix
 * (header and signature block) is read before the signatures verify, and
 * its every field is range-checked first, so hostile bytes reach nothing
 * but fixed-size decoding and Ed25519; the header carries the hash of each
 * part, so once it is signed, comparing the hashes proves the parts.  No
 * memory is allocated for a bundle before its signatures verify.
 * Rollback protection lives in the state directory, which no bundle ever
 * writes into: the last accepted serial survives a restart, so an old but
 * validly signed bundle replayed from Redis is refused.
 *
 * Called by the gateway's bundle watcher (control thread) and by afgwctl;
 * nothing here is on the packet path and nothing keeps global state.  It
 * does not fetch, compile or apply anything (bundle_watch.c does).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "afgw/bundle.h"
#include "afgw/fileio.h"
#include "afgw/json.h"
#include "afgw/number.h"
#include "afgw/reputation.h"

/* Offsets in the header and the signature block (rules/README.md). */
enum {
	H_MAGIC = 0,
	H_VERSION = 8,
	H_NPARTS = 12,
	H_SERIAL = 16,
	H_ISSUED = 24,
	H_EXPIRES = 32,
	H_PAYLOAD = 40,
	H_SCOPE = 48,
	H_SCOPE_BYTES = 64,
	H_RESERVED = 112,
	H_RESERVED_BYTES = 16,
	H_PARTS = 128,
	PE_BYTES = 64,             /* one part entry: */
	PE_TYPE = 0,               /*   u8 type, 7 bytes zero */
	PE_SIZE = 8,               /*   u64 size */
	PE_NAME = 16,              /*   16 bytes name, NUL-padded */
	PE_HASH = 32,              /*   32 bytes BLAKE2b-256 */
	S_COUNT = AFGW_BUNDLE_HEADER_BYTES,
	S_PAD = S_COUNT + 4,
	S_SLOTS = S_COUNT + 8,
	SLOT_BYTES = AFGW_KEY_ID_BYTES + AFGW_SIGN_BYTES,
};

_Static_assert(H_PARTS + AFGW_BUNDLE_PARTS_MAX * PE_BYTES == AFGW_BUNDLE_HEADER_BYTES,
	       "header layout");
_Static_assert(8 + AFGW_BUNDLE_SIGS_MAX * SLOT_BYTES == AFGW_BUNDLE_SIGBLOCK_BYTES,
	       "signature block layout");
_Static_assert(crypto_sign_BYTES == AFGW_SIGN_BYTES, "Ed25519 signature size");

#define NUMBERS_LINE_MAX 1024
#define KEYRING_FILE_MAX (64u << 10)
#define ACCEPTED_MAX 128           /* "SERIAL HASHHEX\n" is at most 86 bytes */

static const char *const reason_names[AFGW_BUNDLE_REASONS] = {
	[AFGW_BUNDLE_OK] = "ok",
	[AFGW_BUNDLE_E_TRUNCATED] = "truncated",
	[AFGW_BUNDLE_E_OVERSIZED] = "oversized",
	[AFGW_BUNDLE_E_GARBAGE] = "garbage",
	[AFGW_BUNDLE_E_VERSION] = "version",
	[AFGW_BUNDLE_E_UNSIGNED] = "unsigned",
	[AFGW_BUNDLE_E_UNKNOWN_KEY] = "unknown_key",
	[AFGW_BUNDLE_E_BAD_SIGNATURE] = "bad_signature",
	[AFGW_BUNDLE_E_THRESHOLD] = "threshold",
	[AFGW_BUNDLE_E_EXPIRED] = "expired",
	[AFGW_BUNDLE_E_NOT_YET_VALID] = "not_yet_valid",
	[AFGW_BUNDLE_E_SCOPE] = "scope",
	[AFGW_BUNDLE_E_PART_HASH] = "part_hash",
	[AFGW_BUNDLE_E_PART_FORMAT] = "part_format",
	[AFGW_BUNDLE_E_ROLLBACK] = "rollback",
	[AFGW_BUNDLE_E_EQUIVOCATION] = "equivocation",
	[AFGW_BUNDLE_E_COMPILE] = "compile",
	[AFGW_BUNDLE_E_IO] = "io",
};

const char *afgw_bundle_reason_name(enum afgw_bundle_reason r)
{
	return (unsigned)r < AFGW_BUNDLE_REASONS ? reason_names[r] : "unknown";
}

static void say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- little-endian fields ------------------------------------------ */

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* ---- names, scopes, times ------------------------------------------ */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool scope_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > AFGW_BUNDLE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

static bool scope_ok(const char *s, size_t n)
{
	if (n == 1 && s[0] == '*')
		return true;
	if (n == 0 || n > AFGW_BUNDLE_SCOPE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!scope_char(s[i]))
			return false;
	return true;
}

/*
 * A NUL-padded text field of cap bytes: at least one NUL, nothing but NULs
 * after the first, and the text (its length in *n) well-formed by ok.
 */
static bool padded_field(const uint8_t *p, size_t cap, bool (*ok)(const char *, size_t),
			 size_t *n)
{
	const uint8_t *nul = memchr(p, 0, cap);
	if (!nul)
		return false;
	*n = (size_t)(nul - p);
	return all_zero(nul, cap - *n) && ok((const char *)p, *n);
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil): pure arithmetic, so the result does not depend on
 * the TZ variable or the C library's idea of time zones.
 */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static unsigned dec(const char *s, size_t n)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

int afgw_bundle_time_parse(const char *s, size_t len, int64_t *out)
{
	if (len == 10 && s[4] == '-' && s[7] == '-' && digits(s, 4) && digits(s + 5, 2) &&
	    digits(s + 8, 2)) {
		static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
		unsigned y = dec(s, 4), m = dec(s + 5, 2), d = dec(s + 8, 2);
		if (y < 1970 || m < 1 || m > 12 || d < 1)
			return -EINVAL;
		bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		if (d > mdays[m - 1] + (m == 2 && leap))
			return -EINVAL;
		*out = days_from_civil(y, m, d) * 86400;
		return 0;
	}
	/* Unix seconds: at most 18 digits, so no overflow and no sign games. */
	if (!digits(s, len) || len > 18)
		return -EINVAL;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (s[i] - '0');
	*out = v;
	return 0;
}

/* ---- the fixed prefix ---------------------------------------------- */

enum afgw_bundle_reason afgw_bundle_header_parse(const uint8_t *buf, size_t len,
						 struct afgw_bundle_header *h, char *err,
						 size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (err && errlen)
		err[0] = '\0';
	if (len >= 8 && memcmp(buf + H_MAGIC, AFGW_BUNDLE_MAGIC, 8) != 0) {
		say(err, errlen, "bad magic: not an afgw bundle");
		return AFGW_BUNDLE_E_GARBAGE;
	}
	/* A newer format may lay out everything after the version differently. */
	if (len >= 12 && rd32(buf + H_VERSION) != AFGW_BUNDLE_VERSION) {
		say(err, errlen, "format version %" PRIu32 " (this gateway reads %d)",
		    rd32(buf + H_VERSION), AFGW_BUNDLE_VERSION);
		return AFGW_BUNDLE_E_VERSION;
	}
	if (len < AFGW_BUNDLE_PREFIX_BYTES) {
		say(err, errlen, "%zu bytes, shorter than the %d bytes of header and signatures", len,
		    AFGW_BUNDLE_PREFIX_BYTES);
		return AFGW_BUNDLE_E_TRUNCATED;
	}
	h->version = rd32(buf + H_VERSION);
	h->n_parts = rd32(buf + H_NPARTS);
	h->serial = rd64(buf + H_SERIAL);
	h->issued_at = (int64_t)rd64(buf + H_ISSUED);
	h->expires_at = (int64_t)rd64(buf + H_EXPIRES);
	h->payload_size = rd64(buf + H_PAYLOAD);
	h->n_sigs = rd32(buf + S_COUNT);

	if (h->n_parts < 1 || h->n_parts > AFGW_BUNDLE_PARTS_MAX) {
		say(err, errlen, "part count %" PRIu32 " (1..%d)", h->n_parts, AFGW_BUNDLE_PARTS_MAX);
		return AFGW_BUNDLE_E_GARBAGE;
	}
	if (h->serial == 0) {
		say(err, errlen, "serial 0 (serials start at 1)");
		return AFGW_BUNDLE_E_GARBAGE;
	}
	if (h->expires_at <= h->issued_at) {
		say(err, errlen, "expires_at %" PRId64 " is not after issued_at %" PRId64,
		    h->expires_at, h->issued_at);
		return AFGW_BUNDLE_E_GARBAGE;
	}
	if (h->payload_size > AFGW_BUNDLE_PAYLOAD_MAX) {
		say(err, errlen, "payload of %" PRIu64 " bytes, above the cap of %u", h->payload_size,
		    AFGW_BUNDLE_PAYLOAD_MAX);
		return AFGW_BUNDLE_E_OVERSIZED;
	}
	size_t n;
	if (!padded_field(buf + H_SCOPE, H_SCOPE_BYTES, scope_ok, &n)) {
		say(err, errlen, "bad scope (\"*\" or [a-z0-9._-], 1..%d, NUL-padded)",
		    AFGW_BUNDLE_SCOPE_MAX);
		return AFGW_BUNDLE_E_GARBAGE;
	}
	memcpy(h->scope, buf + H_SCOPE, n);
	if (!all_zero(buf + H_RESERVED, H_RESERVED_BYTES)) {
		say(err, errlen, "reserved header bytes are not zero");
		return AFGW_BUNDLE_E_GARBAGE;
	}

	uint64_t sum = 0;
	for (unsigned i = 0; i < AFGW_BUNDLE_PARTS_MAX; i++) {
		const uint8_t *e = buf + H_PARTS + i * PE_BYTES;
		if (i >= h->n_parts) {
			if (!all_zero(e, PE_BYTES)) {
				say(err, errlen, "unused part entry %u is not zero", i);
				return AFGW_BUNDLE_E_GARBAGE;
			}
			continue;
		}
		struct afgw_bundle_part *p = &h->part[i];
		unsigned type = e[PE_TYPE];
		if (type != AFGW_BUNDLE_PART_RULES && type != AFGW_BUNDLE_PART_NUMBERS) {
			say(err, errlen, "part %u: unknown type %u", i, type);
			return AFGW_BUNDLE_E_GARBAGE;
		}
		if (!all_zero(e + 1, 7)) {
			say(err, errlen, "part %u: padding bytes are not zero", i);
			return AFGW_BUNDLE_E_GARBAGE;
		}
		p->type = (enum afgw_bundle_part_type)type;
		p->size = rd64(e + PE_SIZE);
		if (p->size > AFGW_BUNDLE_PART_MAX) {
			say(err, errlen, "part %u: %" PRIu64 " bytes, above the cap of %u", i, p->size,
			    AFGW_BUNDLE_PART_MAX);
			return AFGW_BUNDLE_E_OVERSIZED;
		}
		if (p->size == 0) {
			say(err, errlen, "part %u: empty", i);
			return AFGW_BUNDLE_E_GARBAGE;
		}
		if (!padded_field(e + PE_NAME, AFGW_BUNDLE_NAME_MAX + 1, name_ok, &n)) {
			say(err, errlen, "part %u: bad name ([A-Za-z0-9._-], 1..%d, NUL-padded)", i,
			    AFGW_BUNDLE_NAME_MAX);
			return AFGW_BUNDLE_E_GARBAGE;
		}
		memcpy(p->name, e + PE_NAME, n);
		for (unsigned j = 0; j < i; j++) {
			if (!strcmp(h->part[j].name, p->name)) {
				say(err, errlen, "part %u: name '%s' used twice", i, p->name);
				return AFGW_BUNDLE_E_GARBAGE;
			}
		}
		memcpy(p->hash, e + PE_HASH, AFGW_BUNDLE_HASH_BYTES);
		p->offset = AFGW_BUNDLE_PREFIX_BYTES + sum;
		sum += p->size; /* at most 16 x 16 MiB: no overflow */
	}
	if (sum != h->payload_size) {
		say(err, errlen, "the parts add up to %" PRIu64 " bytes, the header says %" PRIu64,
		    sum, h->payload_size);
		return AFGW_BUNDLE_E_GARBAGE;
	}

	if (h->n_sigs > AFGW_BUNDLE_SIGS_MAX) {
		say(err, errlen, "signature count %" PRIu32 " (0..%d)", h->n_sigs,
		    AFGW_BUNDLE_SIGS_MAX);
		return AFGW_BUNDLE_E_GARBAGE;
	}
	if (!all_zero(buf + S_PAD, 4)) {
		say(err, errlen, "signature block padding is not zero");
		return AFGW_BUNDLE_E_GARBAGE;
	}
	for (unsigned i = 0; i < AFGW_BUNDLE_SIGS_MAX; i++) {
		const uint8_t *s = buf + S_SLOTS + i * SLOT_BYTES;
		if (i >= h->n_sigs) {
			if (!all_zero(s, SLOT_BYTES)) {
				say(err, errlen, "unused signature slot %u is not zero", i);
				return AFGW_BUNDLE_E_GARBAGE;
			}
			continue;
		}
		/* An empty slot counted as used is a damaged count, not a signer. */
		if (all_zero(s, AFGW_KEY_ID_BYTES)) {
			say(err, errlen, "signature slot %u has no key id", i);
			return AFGW_BUNDLE_E_GARBAGE;
		}
		memcpy(h->sig[i].key_id, s, AFGW_KEY_ID_BYTES);
		memcpy(h->sig[i].sig, s + AFGW_KEY_ID_BYTES, AFGW_SIGN_BYTES);
	}

	uint64_t want = AFGW_BUNDLE_PREFIX_BYTES + h->payload_size;
	if ((uint64_t)len < want) {
		say(err, errlen, "%zu bytes, the header says %" PRIu64, len, want);
		return AFGW_BUNDLE_E_TRUNCATED;
	}
	if ((uint64_t)len > want) {
		say(err, errlen, "%zu bytes, the header says %" PRIu64, len, want);
		return AFGW_BUNDLE_E_OVERSIZED;
	}
	crypto_generichash(h->hash, sizeof(h->hash), buf, AFGW_BUNDLE_HEADER_BYTES, NULL, 0);
	sodium_bin2hex(h->hash_hex, sizeof(h->hash_hex), h->hash, sizeof(h->hash));
	return AFGW_BUNDLE_OK;
}

/* ---- the keyring ----------------------------------------------------- */

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Split line[0..n) at blanks into at most max fields; returns the count
 * (max + 1 when there are more). */
static unsigned split(const char *line, size_t n, const char **f, size_t *fl, unsigned max)
{
	unsigned c = 0;
	size_t i = 0;
	while (i < n) {
		while (i < n && blank(line[i]))
			i++;
		if (i == n)
			break;
		size_t s = i;
		while (i < n && !blank(line[i]))
			i++;
		if (c == max)
			return max + 1;
		f[c] = line + s;
		fl[c++] = i - s;
	}
	return c;
}

static bool tok_is(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(p, lit, n) == 0;
}

int afgw_keyring_parse(const char *name, const char *text, size_t len, struct afgw_keyring *kr,
		       char *err, size_t errlen)
{
	memset(kr, 0, sizeof(*kr));
	unsigned line = 0, threshold = 0, threshold_line = 0;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t a = i, b = nl ? (size_t)(nl - text) : len;
		i = b + 1;
		line++;
		const char *f[4];
		size_t fl[4];
		unsigned c = split(text + a, b - a, f, fl, 3);
		if (c == 0 || f[0][0] == '#')
			continue;
		if (memchr(text + a, '\0', b - a)) {
			say(err, errlen, "%s:%u: NUL byte", name, line);
			return -EINVAL;
		}
		if (tok_is(f[0], fl[0], "threshold")) {
			if (threshold_line) {
				say(err, errlen, "%s:%u: a second threshold line (the first is on line %u)",
				    name, line, threshold_line);
				return -EINVAL;
			}
			if (c != 2 || !digits(f[1], fl[1]) || fl[1] > 3 || dec(f[1], fl[1]) == 0) {
				say(err, errlen, "%s:%u: expected 'threshold M' with M >= 1", name, line);
				return -EINVAL;
			}
			threshold = dec(f[1], fl[1]);
			threshold_line = line;
			continue;
		}
		if (!tok_is(f[0], fl[0], "afgw-sign-public-v1")) {
			say(err, errlen,
			    "%s:%u: expected 'afgw-sign-public-v1 ID BASE64' (a police .pub line) or "
			    "'threshold M'",
			    name, line);
			return -EINVAL;
		}
		if (c != 3) {
			say(err, errlen, "%s:%u: the key line should read 'afgw-sign-public-v1 ID BASE64'",
			    name, line);
			return -EINVAL;
		}
		if (kr->n == AFGW_KEYRING_MAX) {
			say(err, errlen, "%s:%u: more than %d keys", name, line, AFGW_KEYRING_MAX);
			return -EINVAL;
		}
		struct afgw_sign_pub *k = &kr->key[kr->n];
		if (afgw_unbase64(f[2], fl[2], k->pk, sizeof(k->pk)) != (long)sizeof(k->pk)) {
			say(err, errlen, "%s:%u: the key is not base64 of %d bytes", name, line,
			    AFGW_SIGN_PUBLIC_BYTES);
			return -EINVAL;
		}
		/* The id is recomputed, never trusted: a wrong one is a damaged file. */
		afgw_key_id(k->pk, k->id);
		if (!tok_is(f[1], fl[1], k->id)) {
			say(err, errlen, "%s:%u: key id does not match the key (the key's id is %s)",
			    name, line, k->id);
			return -EINVAL;
		}
		for (unsigned j = 0; j < kr->n; j++) {
			if (!strcmp(kr->key[j].id, k->id)) {
				say(err, errlen, "%s:%u: key %s is listed twice", name, line, k->id);
				return -EINVAL;
			}
		}
		kr->n++;
	}
	if (kr->n == 0) {
		say(err, errlen, "%s: no keys (lines 'afgw-sign-public-v1 ID BASE64')", name);
		return -EINVAL;
	}
	if (threshold > kr->n) {
		say(err, errlen, "%s:%u: threshold %u but only %u key%s", name, threshold_line,
		    threshold, kr->n, kr->n == 1 ? "" : "s");
		return -EINVAL;
	}
	kr->threshold = threshold ? threshold : 1;
	return 0;
}

/*
 * Read a whole regular file of at most cap bytes into a malloc'd buffer
 * (one byte more, NUL-terminated, for text).  Returns 0, -EFBIG when it
 * is larger, or -errno.
 */
static int read_file_at(int dirfd, const char *path, size_t cap, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	int rc;
	uint8_t *buf = NULL;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto fail;
	}
	if ((uint64_t)st.st_size > cap) {
		rc = -EFBIG;
		goto fail;
	}
	/* The size may change under us: read to the end, never past cap + 1. */
	size_t room = (size_t)st.st_size + 1, n = 0;
	buf = malloc(room + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, room - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == room) {
			if (n > cap) {
				rc = -EFBIG;
				goto fail;
			}
			size_t nr = room * 2 > cap + 1 ? cap + 1 : room * 2;
			uint8_t *nb = realloc(buf, nr + 1);
			if (!nb) {
				rc = -ENOMEM;
				goto fail;
			}
			buf = nb;
			room = nr;
		}
	}
	close(fd);
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	close(fd);
	return rc;
}

int afgw_keyring_load(const char *path, struct afgw_keyring *kr, char *err, size_t errlen)
{
	memset(kr, 0, sizeof(*kr));
	uint8_t *text;
	size_t len;
	int rc = read_file_at(AT_FDCWD, path, KEYRING_FILE_MAX, &text, &len);
	if (rc == -EFBIG || rc == -EINVAL) {
		say(err, errlen, "%s: %s", path,
		    rc == -EFBIG ? "too large for a keyring" : "not a regular file");
		return -EINVAL;
	}
	if (rc) {
		say(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = afgw_keyring_parse(path, (const char *)text, len, kr, err, errlen);
	free(text);
	return rc;
}

/* ---- verification ---------------------------------------------------- */

static int refuse(struct afgw_bundle_report *rep, enum afgw_bundle_reason r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct afgw_bundle_report *rep, enum afgw_bundle_reason r, const char *fmt, ...)
{
	rep->reason = r;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rep->detail, sizeof(rep->detail), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const struct afgw_sign_pub *trusted_key(const struct afgw_keyring *kr, const char *id)
{
	for (unsigned i = 0; i < kr->n; i++)
		if (!strcmp(kr->key[i].id, id))
			return &kr->key[i];
	return NULL;
}

/*
 * Signatures.  Every slot by a trusted key must verify: a trusted key's
 * bad signature means the header was changed after signing (or the key
 * is misused), and is refused even when enough other signers remain.
 * Slots by unknown keys are ignored, so a bundle signed for several fleets
 * with different keyrings verifies in each.  A signer counts once however
 * many slots carry its id.
 */
static int check_signatures(const uint8_t *buf, const struct afgw_bundle_header *h,
			    const struct afgw_keyring *kr, struct afgw_bundle_report *rep)
{
	if (h->n_sigs == 0)
		return refuse(rep, AFGW_BUNDLE_E_UNSIGNED, "no signatures");
	char unknown[3 * AFGW_KEY_ID_HEX + 8] = ""; /* the first few, for the detail */
	unsigned n_unknown = 0;
	for (unsigned i = 0; i < h->n_sigs; i++) {
		char id[AFGW_KEY_ID_HEX];
		sodium_bin2hex(id, sizeof(id), h->sig[i].key_id, AFGW_KEY_ID_BYTES);
		const struct afgw_sign_pub *k = trusted_key(kr, id);
		if (!k) {
			size_t ul = strlen(unknown);
			if (n_unknown < 3)
				snprintf(unknown + ul, sizeof(unknown) - ul, "%s%s", ul ? "," : "", id);
			else if (n_unknown == 3)
				snprintf(unknown + ul, sizeof(unknown) - ul, ",...");
			n_unknown++;
			continue;
		}
		if (crypto_sign_verify_detached(h->sig[i].sig, buf, AFGW_BUNDLE_HEADER_BYTES,
						k->pk) != 0)
			return refuse(rep, AFGW_BUNDLE_E_BAD_SIGNATURE,
				      "signature %u by trusted key %s does not verify", i, id);
		bool seen = false;
		for (unsigned j = 0; j < rep->n_signers; j++)
			seen |= !strcmp(rep->signers[j], id);
		if (!seen)
			memcpy(rep->signers[rep->n_signers++], id, AFGW_KEY_ID_HEX);
	}
	if (rep->n_signers == 0)
		return refuse(rep, AFGW_BUNDLE_E_UNKNOWN_KEY, "signed only by keys not trusted here: %s",
			      unknown);
	unsigned need = kr->threshold ? kr->threshold : 1;
	if (rep->n_signers < need)
		return refuse(rep, AFGW_BUNDLE_E_THRESHOLD,
			      "%u trusted signature%s, %u required", rep->n_signers,
			      rep->n_signers == 1 ? "" : "s", need);
	return 0;
}

int afgw_bundle_verify(const uint8_t *buf, size_t len, const struct afgw_bundle_policy *pol,
		       struct afgw_bundle **out, struct afgw_bundle_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	*out = NULL;
	struct afgw_bundle_header h;
	enum afgw_bundle_reason r =
		afgw_bundle_header_parse(buf, len, &h, rep->detail, sizeof(rep->detail));
	if (r != AFGW_BUNDLE_OK) {
		rep->reason = r;
		return -EINVAL;
	}
	rep->serial = h.serial;
	memcpy(rep->hash_hex, h.hash_hex, sizeof(rep->hash_hex));
	if (!pol || !pol->trust || pol->trust->n == 0)
		return refuse(rep, AFGW_BUNDLE_E_UNKNOWN_KEY, "no trusted keys configured");

	int rc = check_signatures(buf, &h, pol->trust, rep);
	if (rc)
		return rc;

	if (pol->now >= h.expires_at)
		return refuse(rep, AFGW_BUNDLE_E_EXPIRED, "expired at %" PRId64 ", now %" PRId64,
			      h.expires_at, pol->now);
	if (pol->now <= INT64_MAX - AFGW_BUNDLE_SKEW_S && h.issued_at > pol->now + AFGW_BUNDLE_SKEW_S)
		return refuse(rep, AFGW_BUNDLE_E_NOT_YET_VALID,
			      "issued at %" PRId64 ", more than %d s after now %" PRId64, h.issued_at,
			      AFGW_BUNDLE_SKEW_S, pol->now);

	if (pol->scopes && strcmp(h.scope, "*") != 0) {
		bool ours = false;
		for (const char *const *s = pol->scopes; *s && !ours; s++)
			ours = !strcmp(*s, h.scope);
		if (!ours)
			return refuse(rep, AFGW_BUNDLE_E_SCOPE, "scope '%s' is not this gateway's",
				      h.scope);
	}

	/*
	 * Copy, then check the parts of the copy: what is handed out is
	 * exactly what was hashed, even if the caller's buffer changes.  The
	 * header of the copy is hashed again for the same reason.
	 */
	struct afgw_bundle *b = malloc(sizeof(*b));
	uint8_t *bytes = malloc(len);
	if (!b || !bytes) {
		free(b);
		free(bytes);
		rep->reason = AFGW_BUNDLE_E_IO;
		snprintf(rep->detail, sizeof(rep->detail), "out of memory for %zu bytes", len);
		return -ENOMEM;
	}
	memcpy(bytes, buf, len);
	b->h = h;
	b->bytes = bytes;
	b->len = len;
	uint8_t hh[AFGW_BUNDLE_HASH_BYTES];
	crypto_generichash(hh, sizeof(hh), bytes, AFGW_BUNDLE_HEADER_BYTES, NULL, 0);
	if (crypto_verify_32(hh, h.hash) != 0) {
		afgw_bundle_free(b);
		return refuse(rep, AFGW_BUNDLE_E_PART_HASH, "the header changed while being read");
	}
	for (unsigned i = 0; i < h.n_parts; i++) {
		const struct afgw_bundle_part *p = &h.part[i];
		crypto_generichash(hh, sizeof(hh), bytes + p->offset, (size_t)p->size, NULL, 0);
		if (crypto_verify_32(hh, p->hash) != 0) {
			afgw_bundle_free(b);
			return refuse(rep, AFGW_BUNDLE_E_PART_HASH, "part '%s': hash mismatch",
				      p->name);
		}
	}
	rep->reason = AFGW_BUNDLE_OK;
	snprintf(rep->detail, sizeof(rep->detail), "%u part%s, %" PRIu64 " bytes", h.n_parts,
		 h.n_parts == 1 ? "" : "s", h.payload_size);
	*out = b;
	return 0;
}

void afgw_bundle_free(struct afgw_bundle *b)
{
	if (!b)
		return;
	free(b->bytes);
	free(b);
}

/* ---- the parts -------------------------------------------------------- */

int afgw_bundle_rules(const struct afgw_bundle *b, struct afgw_rules *rs,
		      struct afgw_rules_diag *d)
{
	int rc = 0;
	for (unsigned i = 0; i < b->h.n_parts; i++) {
		const struct afgw_bundle_part *p = &b->h.part[i];
		if (p->type != AFGW_BUNDLE_PART_RULES)
			continue;
		char name[64];
		snprintf(name, sizeof(name), "bundle-%" PRIu64 "/%s", b->h.serial, p->name);
		int r = afgw_rules_load_buffer(rs, name, (const char *)b->bytes + p->offset,
					       (size_t)p->size, d);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			rc = -EINVAL;
	}
	return rc;
}

struct numvec {
	struct afgw_bundle_number *v;
	size_t n, cap;
};

static int numvec_push(struct numvec *nv, const struct afgw_bundle_number *e)
{
	if (nv->n == nv->cap) {
		size_t cap = nv->cap ? nv->cap * 2 : 64;
		struct afgw_bundle_number *v = realloc(nv->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		nv->v = v;
		nv->cap = cap;
	}
	nv->v[nv->n++] = *e;
	return 0;
}

/* One line's fields into e; NULL, or what is wrong with it. */
static const char *number_line(const char *const *f, const size_t *fl, unsigned c,
			       unsigned country_code, int64_t default_expires,
			       struct afgw_bundle_number *e)
{
	if (c < 4 || c > 5)
		return "expected NUMBER LIST SCORE CATEGORY [EXPIRES]";
	memset(e, 0, sizeof(*e));
	struct afgw_number num;
	afgw_number_canon(afgw_str_make(f[0], fl[0]), AFGW_TON_NONE, country_code, &num);
	if (num.kind == AFGW_NUMBER_EMPTY || num.kind == AFGW_NUMBER_INVALID ||
	    num.len >= sizeof(e->number))
		return "bad number";
	memcpy(e->number, num.canon, num.len);
	if (tok_is(f[1], fl[1], "black"))
		e->list = AFGW_REP_BLACK;
	else if (tok_is(f[1], fl[1], "gray"))
		e->list = AFGW_REP_GRAY;
	else if (tok_is(f[1], fl[1], "allow"))
		e->list = AFGW_REP_ALLOW;
	else
		return "bad list (black, gray or allow)";
	if (!digits(f[2], fl[2]) || fl[2] > 3 || dec(f[2], fl[2]) > 100)
		return "bad score (0..100)";
	e->score = (int)dec(f[2], fl[2]);
	if (fl[3] >= sizeof(e->category))
		return "bad category ([a-z0-9_-], 1..32)";
	memcpy(e->category, f[3], fl[3]);
	if (!afgw_rep_category_ok(e->category))
		return "bad category ([a-z0-9_-], 1..32)";
	e->expires = default_expires;
	if (c == 5 && afgw_bundle_time_parse(f[4], fl[4], &e->expires) != 0)
		return "bad expiry (YYYY-MM-DD or Unix seconds)";
	return NULL;
}

/* Append the entries of one numbers part to nv (cap: entries in all). */
static long numbers_into(struct numvec *nv, const char *name, const char *text, size_t len,
			 unsigned country_code, int64_t default_expires, char *err, size_t errlen)
{
	if (!country_code)
		country_code = 86;
	unsigned line = 0;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t a = i, b = nl ? (size_t)(nl - text) : len;
		i = b + 1;
		line++;
		if (b - a > NUMBERS_LINE_MAX) {
			say(err, errlen, "%s:%u: line longer than %d bytes", name, line,
			    NUMBERS_LINE_MAX);
			return -EINVAL;
		}
		if (memchr(text + a, '\0', b - a) || !afgw_utf8_valid(text + a, b - a)) {
			say(err, errlen, "%s:%u: not UTF-8 text", name, line);
			return -EINVAL;
		}
		const char *hash = memchr(text + a, '#', b - a);
		if (hash)
			b = (size_t)(hash - text);
		const char *f[6];
		size_t fl[6];
		unsigned c = split(text + a, b - a, f, fl, 5);
		if (c == 0)
			continue;
		struct afgw_bundle_number e;
		const char *why = number_line(f, fl, c, country_code, default_expires, &e);
		if (why) {
			say(err, errlen, "%s:%u: %s", name, line, why);
			return -EINVAL;
		}
		if (nv->n >= AFGW_BUNDLE_NUMBERS_MAX) {
			say(err, errlen, "%s:%u: more than %d numbers in the bundle", name, line,
			    AFGW_BUNDLE_NUMBERS_MAX);
			return -EINVAL;
		}
		if (numvec_push(nv, &e) != 0) {
			say(err, errlen, "%s:%u: out of memory", name, line);
			return -ENOMEM;
		}
	}
	return (long)nv->n;
}

long afgw_bundle_numbers_parse(const char *name, const char *text, size_t len,
			       unsigned country_code, int64_t default_expires,
			       struct afgw_bundle_number **out, char *err, size_t errlen)
{
	struct numvec nv = { NULL, 0, 0 };
	*out = NULL;
	long rc = numbers_into(&nv, name, text, len, country_code, default_expires, err, errlen);
	if (rc < 0) {
		free(nv.v);
		return rc;
	}
	*out = nv.v;
	return rc;
}

long afgw_bundle_numbers(const struct afgw_bundle *b, unsigned country_code,
			 struct afgw_bundle_number **out, char *err, size_t errlen)
{
	struct numvec nv = { NULL, 0, 0 };
	*out = NULL;
	for (unsigned i = 0; i < b->h.n_parts; i++) {
		const struct afgw_bundle_part *p = &b->h.part[i];
		if (p->type != AFGW_BUNDLE_PART_NUMBERS)
			continue;
		long rc = numbers_into(&nv, p->name, (const char *)b->bytes + p->offset,
				       (size_t)p->size, country_code, b->h.expires_at, err, errlen);
		if (rc < 0) {
			free(nv.v);
			return rc;
		}
	}
	*out = nv.v;
	return (long)nv.n;
}

/* ---- making bundles --------------------------------------------------- */

struct src_part {
	char name[AFGW_BUNDLE_NAME_MAX + 1];
	enum afgw_bundle_part_type type;
	uint8_t *bytes;
	size_t size;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && !strcmp(s + n - m, suffix);
}

static int cmp_part(const void *a, const void *b)
{
	return strcmp(((const struct src_part *)a)->name, ((const struct src_part *)b)->name);
}

/*
 * The part files of dir: names and types checked, sorted, read (caps
 * checked).  Dot files are skipped; anything else that is not a part file
 * is an error, so a stray file is noticed rather than left out.
 */
static int read_parts(const char *dir, struct src_part *parts, unsigned *n_out, char *err,
		      size_t errlen)
{
	unsigned n = 0;
	int rc = 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = -errno;
		say(err, errlen, "%s: %s", dir, strerror(errno));
		return rc;
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		rc = -errno;
		say(err, errlen, "%s: %s", dir, strerror(errno));
		close(dfd);
		return rc;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		if (nm[0] == '.')
			continue;
		enum afgw_bundle_part_type type;
		if (ends_with(nm, ".yaml") || ends_with(nm, ".yml")) {
			type = AFGW_BUNDLE_PART_RULES;
		} else if (ends_with(nm, ".numbers") || ends_with(nm, ".txt")) {
			type = AFGW_BUNDLE_PART_NUMBERS;
		} else {
			say(err, errlen,
			    "%s/%s: not a part (rules *.yaml / *.yml, numbers *.numbers / *.txt)", dir,
			    nm);
			rc = -EINVAL;
			goto out;
		}
		if (!name_ok(nm, strlen(nm))) {
			say(err, errlen, "%s/%s: a part's file name is [A-Za-z0-9._-], at most %d "
					 "characters",
			    dir, nm, AFGW_BUNDLE_NAME_MAX);
			rc = -EINVAL;
			goto out;
		}
		if (n == AFGW_BUNDLE_PARTS_MAX) {
			say(err, errlen, "%s: more than %d parts", dir, AFGW_BUNDLE_PARTS_MAX);
			rc = -EINVAL;
			goto out;
		}
		struct src_part *p = &parts[n];
		memcpy(p->name, nm, strlen(nm) + 1);
		p->type = type;
		size_t sz;
		rc = read_file_at(dfd, nm, AFGW_BUNDLE_PART_MAX, &p->bytes, &sz);
		if (rc) {
			say(err, errlen, "%s/%s: %s", dir, nm,
			    rc == -EFBIG ? "larger than a part may be (16 MiB)"
			    : rc == -EINVAL ? "not a regular file"
					    : strerror(-rc));
			if (rc == -EFBIG)
				rc = -EINVAL;
			goto out;
		}
		p->size = sz;
		n++;
		if (sz == 0) {
			say(err, errlen, "%s/%s: empty", dir, nm);
			rc = -EINVAL;
			goto out;
		}
	}
	if (n == 0) {
		say(err, errlen, "%s: no parts (rules *.yaml / *.yml, numbers *.numbers / *.txt)",
		    dir);
		rc = -EINVAL;
	}
out:
	closedir(d);
	*n_out = n;
	if (rc == 0)
		qsort(parts, n, sizeof(*parts), cmp_part);
	return rc;
}

/* Load the rules and numbers parts as the gateway will; 0 or -EINVAL / -ENOMEM. */
static int check_parts(const char *dir, const struct src_part *parts, unsigned n,
		       const struct afgw_bundle_build_opts *o, char *err, size_t errlen)
{
	struct afgw_rules rs;
	struct afgw_rules_diag d;
	afgw_rules_init(&rs);
	afgw_rules_diag_init(&d);
	int rc = 0;
	size_t numbers = 0;
	for (unsigned i = 0; i < n && rc == 0; i++) {
		char name[4096];
		snprintf(name, sizeof(name), "%s/%s", dir, parts[i].name);
		if (parts[i].type == AFGW_BUNDLE_PART_RULES) {
			int r = afgw_rules_load_buffer(&rs, name, (const char *)parts[i].bytes,
						       parts[i].size, &d);
			if (r == -ENOMEM) {
				say(err, errlen, "%s: out of memory", name);
				rc = r;
			} else if (r < 0 || d.errors) {
				rc = -EINVAL;
			}
			continue;
		}
		struct afgw_bundle_number *v;
		long c = afgw_bundle_numbers_parse(name, (const char *)parts[i].bytes, parts[i].size,
						   o->country_code, o->expires_at, &v, err, errlen);
		free(v);
		if (c < 0) {
			rc = (int)c;
		} else if ((numbers += (size_t)c) > AFGW_BUNDLE_NUMBERS_MAX) {
			say(err, errlen, "%s: more than %d numbers in the bundle", name,
			    AFGW_BUNDLE_NUMBERS_MAX);
			rc = -EINVAL;
		}
	}
	if (rc == -EINVAL && d.errors) {
		/* The first error in full; the tool's user runs 'rules check' for all. */
		const char *first = "rules do not load";
		for (unsigned i = 0; i < d.n; i++) {
			if (d.msg[i].level == AFGW_DIAG_ERROR) {
				first = d.msg[i].text;
				break;
			}
		}
		if (d.errors > 1)
			say(err, errlen, "%s (and %u more error%s)", first, d.errors - 1,
			    d.errors == 2 ? "" : "s");
		else
			say(err, errlen, "%s", first);
	}
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rs);
	return rc;
}

int afgw_bundle_build(const char *dir, const struct afgw_bundle_build_opts *o, uint8_t **out,
		      size_t *len, char *err, size_t errlen)
{
	*out = NULL;
	*len = 0;
	const char *scope = o->scope ? o->scope : "*";
	if (o->serial == 0) {
		say(err, errlen, "serial must be at least 1");
		return -EINVAL;
	}
	if (o->expires_at <= o->issued_at) {
		say(err, errlen, "expiry %" PRId64 " is not after issue time %" PRId64, o->expires_at,
		    o->issued_at);
		return -EINVAL;
	}
	if (!scope_ok(scope, strlen(scope))) {
		say(err, errlen, "bad scope '%s' (\"*\" or [a-z0-9._-], 1..%d)", scope,
		    AFGW_BUNDLE_SCOPE_MAX);
		return -EINVAL;
	}
	if (afgw_keys_init() != 0) {
		say(err, errlen, "libsodium failed to initialise");
		return -EIO;
	}
	struct afgw_bundle_build_opts opts = *o;
	if (!opts.country_code)
		opts.country_code = 86;

	struct src_part parts[AFGW_BUNDLE_PARTS_MAX];
	memset(parts, 0, sizeof(parts));
	unsigned n = 0;
	uint8_t *buf = NULL;
	int rc = read_parts(dir, parts, &n, err, errlen);
	if (rc)
		goto out;
	if ((rc = check_parts(dir, parts, n, &opts, err, errlen)) != 0)
		goto out;
	uint64_t payload = 0;
	for (unsigned i = 0; i < n; i++)
		payload += parts[i].size;
	if (payload > AFGW_BUNDLE_PAYLOAD_MAX) {
		say(err, errlen, "%s: %" PRIu64 " bytes of parts, above the cap of %u", dir, payload,
		    AFGW_BUNDLE_PAYLOAD_MAX);
		rc = -EINVAL;
		goto out;
	}
	size_t total = AFGW_BUNDLE_PREFIX_BYTES + (size_t)payload;
	buf = calloc(1, total);
	if (!buf) {
		say(err, errlen, "out of memory for %zu bytes", total);
		rc = -ENOMEM;
		goto out;
	}
	memcpy(buf + H_MAGIC, AFGW_BUNDLE_MAGIC, 8);
	wr32(buf + H_VERSION, AFGW_BUNDLE_VERSION);
	wr32(buf + H_NPARTS, n);
	wr64(buf + H_SERIAL, opts.serial);
	wr64(buf + H_ISSUED, (uint64_t)opts.issued_at);
	wr64(buf + H_EXPIRES, (uint64_t)opts.expires_at);
	wr64(buf + H_PAYLOAD, payload);
	memcpy(buf + H_SCOPE, scope, strlen(scope));
	size_t off = AFGW_BUNDLE_PREFIX_BYTES;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = buf + H_PARTS + i * PE_BYTES;
		e[PE_TYPE] = (uint8_t)parts[i].type;
		wr64(e + PE_SIZE, parts[i].size);
		memcpy(e + PE_NAME, parts[i].name, strlen(parts[i].name));
		crypto_generichash(e + PE_HASH, AFGW_BUNDLE_HASH_BYTES, parts[i].bytes,
				   parts[i].size, NULL, 0);
		memcpy(buf + off, parts[i].bytes, parts[i].size);
		off += parts[i].size;
	}
	/* What we made must be what a gateway reads. */
	struct afgw_bundle_header h;
	if (afgw_bundle_header_parse(buf, total, &h, err, errlen) != AFGW_BUNDLE_OK) {
		rc = -EINVAL;
		goto out;
	}
	*out = buf;
	*len = total;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	for (unsigned i = 0; i < AFGW_BUNDLE_PARTS_MAX; i++)
		free(parts[i].bytes);
	return rc;
}

int afgw_bundle_sign(uint8_t *buf, size_t len, const struct afgw_sign_key *k, char *err,
		     size_t errlen)
{
	struct afgw_bundle_header h;
	char why[AFGW_BUNDLE_ERR];
	enum afgw_bundle_reason r = afgw_bundle_header_parse(buf, len, &h, why, sizeof(why));
	if (r != AFGW_BUNDLE_OK) {
		say(err, errlen, "not a bundle (%s: %s)", afgw_bundle_reason_name(r), why);
		return -EINVAL;
	}
	/* A signer vouches for the parts too: refuse to sign a header that
	 * does not match them. */
	for (unsigned i = 0; i < h.n_parts; i++) {
		uint8_t hh[AFGW_BUNDLE_HASH_BYTES];
		crypto_generichash(hh, sizeof(hh), buf + h.part[i].offset, (size_t)h.part[i].size,
				   NULL, 0);
		if (crypto_verify_32(hh, h.part[i].hash) != 0) {
			say(err, errlen, "part '%s' does not match its hash; not signing",
			    h.part[i].name);
			return -EINVAL;
		}
	}
	uint8_t id[16];
	crypto_generichash(id, sizeof(id), k->pk, AFGW_SIGN_PUBLIC_BYTES, NULL, 0);
	for (unsigned i = 0; i < h.n_sigs; i++) {
		if (memcmp(h.sig[i].key_id, id, AFGW_KEY_ID_BYTES) == 0) {
			say(err, errlen, "already signed by key %s", k->id);
			return -EEXIST;
		}
	}
	if (h.n_sigs == AFGW_BUNDLE_SIGS_MAX) {
		say(err, errlen, "all %d signature slots are used", AFGW_BUNDLE_SIGS_MAX);
		return -ENOSPC;
	}
	uint8_t *slot = buf + S_SLOTS + h.n_sigs * SLOT_BYTES;
	if (crypto_sign_detached(slot + AFGW_KEY_ID_BYTES, NULL, buf, AFGW_BUNDLE_HEADER_BYTES,
				 k->sk) != 0) {
		say(err, errlen, "signing failed");
		return -EIO;
	}
	memcpy(slot, id, AFGW_KEY_ID_BYTES);
	wr32(buf + S_COUNT, h.n_sigs + 1);
	return 0;
}

/* ---- acceptance state and audit --------------------------------------- */

/*
 * The state directory:
 *   accepted       "SERIAL HASHHEX\n": the last accepted bundle
 *   current.bundle that bundle's bytes
 *   audit.log      one JSON line per accept or reject
 * Both files are replaced whole (temporary file, fsync, rename, directory
 * fsync).  current.bundle is written first and 'accepted' last, so the
 * rename of 'accepted' is the commit: a crash between the two leaves a
 * copy newer than 'accepted', which is verified again at start and
 * accepted (it is newer), never an 'accepted' newer than the copy, which
 * would leave a restarted gateway without its rules until Redis answers.
 */
struct afgw_bundle_state {
	int dirfd;
	char *dir;
	uint64_t serial;
	char hash_hex[AFGW_BUNDLE_HASH_HEX];
};

/* Replace dir/name with data: name.tmp, fsync, rename, fsync dir. */
static int replace_file(int dirfd, const char *name, const uint8_t *data, size_t len)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	int rc = afgw_write_all(fd, data, len);
	if (!rc && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (!rc && renameat(dirfd, tmp, dirfd, name) != 0)
		rc = -errno;
	if (rc) {
		unlinkat(dirfd, tmp, 0);
		return rc;
	}
	return fsync(dirfd) != 0 ? -errno : 0;
}

static bool hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Parse 'accepted': exactly "SERIAL HASHHEX\n", SERIAL >= 1 without
 * leading zeros. */
static bool parse_accepted(const char *s, size_t n, uint64_t *serial, char *hash_hex)
{
	const char *sp = memchr(s, ' ', n);
	if (!sp || n == 0 || s[n - 1] != '\n')
		return false;
	size_t dl = (size_t)(sp - s), hl = n - dl - 2;
	if (!digits(s, dl) || dl > 20 || s[0] == '0' || hl != AFGW_BUNDLE_HASH_HEX - 1 ||
	    !hex_lower(sp + 1, hl))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < dl; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*serial = v;
	memcpy(hash_hex, sp + 1, hl);
	hash_hex[hl] = '\0';
	return true;
}

int afgw_bundle_state_open(const char *dir, struct afgw_bundle_state **out, char *err,
			   size_t errlen)
{
	*out = NULL;
	struct afgw_bundle_state *st = calloc(1, sizeof(*st));
	if (!st || !(st->dir = strdup(dir))) {
		free(st);
		say(err, errlen, "out of memory");
		return -ENOMEM;
	}
	st->dirfd = -1;
	int rc;
	uint8_t *text = NULL;
	size_t len = 0;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
		say(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0) {
		rc = -errno;
		say(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	rc = read_file_at(st->dirfd, "accepted", ACCEPTED_MAX, &text, &len);
	if (rc == -ENOENT) {
		rc = 0;
	} else if (rc == 0 && !parse_accepted((const char *)text, len, &st->serial, st->hash_hex)) {
		/* Never read as "nothing accepted yet": that would let any old
		 * bundle back in.  An operator must look at it. */
		rc = -EINVAL;
		say(err, errlen,
		    "%s/accepted: damaged (expected 'SERIAL HASH'); refusing to guess the last "
		    "accepted bundle",
		    dir);
		goto fail;
	} else if (rc) {
		say(err, errlen, "%s/accepted: %s", dir,
		    rc == -EFBIG ? "damaged (too large)" : strerror(-rc));
		if (rc == -EFBIG)
			rc = -EINVAL;
		goto fail;
	}
	free(text);
	/* Leftovers of a crash during a commit are not state. */
	unlinkat(st->dirfd, "accepted.tmp", 0);
	unlinkat(st->dirfd, "current.bundle.tmp", 0);
	*out = st;
	return 0;
fail:
	free(text);
	afgw_bundle_state_close(st);
	return rc;
}

void afgw_bundle_state_close(struct afgw_bundle_state *st)
{
	if (!st)
		return;
	if (st->dirfd >= 0)
		close(st->dirfd);
	free(st->dir);
	free(st);
}

uint64_t afgw_bundle_state_serial(const struct afgw_bundle_state *st,
				  char hash_hex[AFGW_BUNDLE_HASH_HEX])
{
	if (hash_hex)
		memcpy(hash_hex, st->hash_hex, AFGW_BUNDLE_HASH_HEX);
	return st->serial;
}

enum afgw_bundle_reason afgw_bundle_state_check(const struct afgw_bundle_state *st,
						const struct afgw_bundle *b, bool *same)
{
	if (same)
		*same = false;
	if (b->h.serial > st->serial)
		return AFGW_BUNDLE_OK;
	if (b->h.serial < st->serial)
		return AFGW_BUNDLE_E_ROLLBACK;
	if (strcmp(b->h.hash_hex, st->hash_hex) != 0)
		return AFGW_BUNDLE_E_EQUIVOCATION;
	if (same)
		*same = true;
	return AFGW_BUNDLE_OK;
}

int afgw_bundle_state_commit(struct afgw_bundle_state *st, const struct afgw_bundle *b,
			     char *err, size_t errlen)
{
	enum afgw_bundle_reason r = afgw_bundle_state_check(st, b, NULL);
	if (r != AFGW_BUNDLE_OK) {
		say(err, errlen, "serial %" PRIu64 " cannot follow the accepted %" PRIu64 " (%s)",
		    b->h.serial, st->serial, afgw_bundle_reason_name(r));
		return -EINVAL;
	}
	int rc = replace_file(st->dirfd, "current.bundle", b->bytes, b->len);
	if (rc) {
		say(err, errlen, "%s/current.bundle: %s", st->dir, strerror(-rc));
		return rc;
	}
	char line[ACCEPTED_MAX];
	int n = snprintf(line, sizeof(line), "%" PRIu64 " %s\n", b->h.serial, b->h.hash_hex);
	rc = replace_file(st->dirfd, "accepted", (const uint8_t *)line, (size_t)n);
	if (rc) {
		say(err, errlen, "%s/accepted: %s", st->dir, strerror(-rc));
		return rc;
	}
	st->serial = b->h.serial;
	memcpy(st->hash_hex, b->h.hash_hex, sizeof(st->hash_hex));
	return 0;
}

int afgw_bundle_state_current(const struct afgw_bundle_state *st, uint8_t **buf, size_t *len)
{
	int rc = read_file_at(st->dirfd, "current.bundle", AFGW_BUNDLE_MAX, buf, len);
	return rc == -EINVAL ? -EIO : rc;
}

int afgw_bundle_audit(struct afgw_bundle_state *st, int64_t now, const char *source,
		      const struct afgw_bundle_report *rep)
{
	char ts[32];
	time_t t = (time_t)now;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(ts, sizeof(ts), "%" PRId64, now);

	struct afgw_jbuf jb;
	afgw_jbuf_init(&jb);
	afgw_json_obj_begin(&jb);
	afgw_json_key(&jb, "ts");
	afgw_json_cstr(&jb, ts);
	afgw_json_key(&jb, "result");
	afgw_json_cstr(&jb, rep->reason == AFGW_BUNDLE_OK ? "accept" : "reject");
	afgw_json_key(&jb, "reason");
	afgw_json_cstr(&jb, afgw_bundle_reason_name(rep->reason));
	afgw_json_key(&jb, "serial");
	afgw_json_uint(&jb, rep->serial);
	afgw_json_key(&jb, "hash");
	afgw_json_str(&jb, rep->hash_hex, strnlen(rep->hash_hex, sizeof(rep->hash_hex)));
	afgw_json_key(&jb, "keys");
	afgw_json_arr_begin(&jb);
	for (unsigned i = 0; i < rep->n_signers && i < AFGW_BUNDLE_SIGS_MAX; i++)
		afgw_json_str(&jb, rep->signers[i], strnlen(rep->signers[i], AFGW_KEY_ID_HEX));
	afgw_json_arr_end(&jb);
	afgw_json_key(&jb, "source");
	afgw_json_cstr(&jb, source ? source : "");
	afgw_json_key(&jb, "detail");
	afgw_json_str(&jb, rep->detail, strnlen(rep->detail, sizeof(rep->detail)));
	afgw_json_obj_end(&jb);
	afgw_json_raw(&jb, "\n", 1);
	if (afgw_jbuf_failed(&jb)) {
		afgw_jbuf_fini(&jb);
		return -ENOMEM;
	}
	int rc = 0;
	int fd = openat(st->dirfd, "audit.log",
			O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
	} else {
		/* One write: O_APPEND keeps concurrent lines whole. */
		rc = afgw_write_all(fd, (const uint8_t *)jb.p, jb.len);
		if (!rc && fsync(fd) != 0)
			rc = -errno;
		if (close(fd) != 0 && !rc)
			rc = -errno;
	}
	afgw_jbuf_fini(&jb);
	return rc;
}
