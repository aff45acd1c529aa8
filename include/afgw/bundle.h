/*
 * bundle.h - police bundles: the signed container of rules and number
 * lists, its verification, and the gateway's acceptance state.
 * gateway/bundle.c (one of the crypto files: libsodium lives behind it).
 *
 * A bundle is one byte string (rules/README.md "Bundles" documents it
 * byte for byte; all integers little-endian):
 *
 *   header     AFGW_BUNDLE_HEADER_BYTES, fixed: magic "AFGWBNDL", format
 *              version, part count, serial, issued-at, expires-at, payload
 *              size, scope, and a table of AFGW_BUNDLE_PARTS_MAX part
 *              entries (type, size, name, BLAKE2b-256 of the part)
 *   signatures AFGW_BUNDLE_SIGBLOCK_BYTES, fixed: a count and
 *              AFGW_BUNDLE_SIGS_MAX slots of (key id, Ed25519 signature
 *              of the header bytes)
 *   parts      the parts' bytes, concatenated in table order
 *
 * The header commits to every part through its hash, so signing the
 * header signs the whole bundle, and more signers can add their slot
 * without changing what the others signed.  A verifier reads only the
 * fixed prefix (header + signature block) and checks the signatures
 * before it looks at any part; sizes are checked against the caps before
 * anything is allocated.  The bundle's identity is the BLAKE2b-256 of its
 * header ("the bundle hash"): two bundles with the same serial and a
 * different hash are an equivocation.
 *
 * Parts are of two types: rules (a YAML rule file, rules.h) and numbers
 * (a text list, one entry per line:
 *   NUMBER LIST SCORE CATEGORY [EXPIRES]
 * with LIST black|gray|allow, SCORE 0..100, CATEGORY as in reputation.h,
 * EXPIRES a date YYYY-MM-DD (00:00 UTC) or Unix seconds, default the
 * bundle's own expiry; '#' starts a comment).
 *
 * Acceptance (struct afgw_bundle_state): a state directory outside
 * anything a bundle writes holds the last accepted serial and hash
 * (written to a temporary file, fsynced, renamed, directory fsynced), a
 * copy of the last accepted bundle (for a restart without Redis), and the
 * append-only audit log (one JSON line per accept or reject, fsynced).
 *
 * Thread: any; nothing here keeps global state.  Verification is pure
 * apart from the clock value the caller passes in.
 */
#ifndef AFGW_BUNDLE_H
#define AFGW_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afgw/keys.h"
#include "afgw/rules.h"

#define AFGW_BUNDLE_MAGIC "AFGWBNDL"           /* 8 bytes, no NUL */
#define AFGW_BUNDLE_VERSION 1
#define AFGW_BUNDLE_HEADER_BYTES 1152
#define AFGW_BUNDLE_SIGBLOCK_BYTES 1160
#define AFGW_BUNDLE_PREFIX_BYTES (AFGW_BUNDLE_HEADER_BYTES + AFGW_BUNDLE_SIGBLOCK_BYTES)
#define AFGW_BUNDLE_PARTS_MAX 16
#define AFGW_BUNDLE_SIGS_MAX 16
#define AFGW_BUNDLE_PART_MAX (16u << 20)       /* bytes in one part */
#define AFGW_BUNDLE_PAYLOAD_MAX (64u << 20)    /* bytes in all parts */
#define AFGW_BUNDLE_MAX (AFGW_BUNDLE_PREFIX_BYTES + AFGW_BUNDLE_PAYLOAD_MAX)
#define AFGW_BUNDLE_HASH_BYTES 32
#define AFGW_BUNDLE_HASH_HEX (2 * AFGW_BUNDLE_HASH_BYTES + 1)
#define AFGW_BUNDLE_NAME_MAX 15                /* part name: [A-Za-z0-9._-], unique */
#define AFGW_BUNDLE_SCOPE_MAX 63               /* "*" (every gateway) or [a-z0-9._-] */
#define AFGW_BUNDLE_NUMBERS_MAX 1000000        /* number entries in one bundle */
#define AFGW_KEYRING_MAX 64
#define AFGW_BUNDLE_ERR 256

enum afgw_bundle_part_type {
	AFGW_BUNDLE_PART_RULES = 1,
	AFGW_BUNDLE_PART_NUMBERS = 2,
};

/*
 * Why a bundle was refused (or OK).  Names (afgw_bundle_reason_name) are
 * the audit log's and the tools' words: "ok", "truncated", "oversized",
 * "garbage", "version", "unsigned", "unknown_key", "bad_signature",
 * "threshold", "expired", "not_yet_valid", "scope", "part_hash",
 * "part_format", "rollback", "equivocation", "compile", "io".
 */
enum afgw_bundle_reason {
	AFGW_BUNDLE_OK,
	AFGW_BUNDLE_E_TRUNCATED,       /* shorter than its header says */
	AFGW_BUNDLE_E_OVERSIZED,       /* a size above the caps, or longer than it says */
	AFGW_BUNDLE_E_GARBAGE,         /* bad magic, non-zero reserved bytes, bad field */
	AFGW_BUNDLE_E_VERSION,         /* a format version this gateway does not read */
	AFGW_BUNDLE_E_UNSIGNED,        /* no signature at all */
	AFGW_BUNDLE_E_UNKNOWN_KEY,     /* signatures only by keys not in the keyring */
	AFGW_BUNDLE_E_BAD_SIGNATURE,   /* a trusted key's signature does not verify */
	AFGW_BUNDLE_E_THRESHOLD,       /* fewer distinct trusted signers than required */
	AFGW_BUNDLE_E_EXPIRED,
	AFGW_BUNDLE_E_NOT_YET_VALID,   /* issued more than AFGW_BUNDLE_SKEW_S in the future */
	AFGW_BUNDLE_E_SCOPE,           /* for other gateways */
	AFGW_BUNDLE_E_PART_HASH,       /* a part does not match its hash */
	AFGW_BUNDLE_E_PART_FORMAT,     /* a part does not parse (rules or numbers) */
	AFGW_BUNDLE_E_ROLLBACK,        /* serial below the last accepted */
	AFGW_BUNDLE_E_EQUIVOCATION,    /* serial equal to the last accepted, other hash */
	AFGW_BUNDLE_E_COMPILE,         /* rules refused by the compiler (set by the gateway) */
	AFGW_BUNDLE_E_IO,              /* state or audit could not be written */
	AFGW_BUNDLE_REASONS
};

#define AFGW_BUNDLE_SKEW_S 3600        /* issued-at may be this far ahead of our clock */

struct afgw_bundle_part {
	enum afgw_bundle_part_type type;
	char name[AFGW_BUNDLE_NAME_MAX + 1];
	uint64_t size;
	uint64_t offset;               /* of its bytes, from the start of the bundle */
	uint8_t hash[AFGW_BUNDLE_HASH_BYTES];
};

struct afgw_bundle_sig {
	uint8_t key_id[AFGW_KEY_ID_BYTES];
	uint8_t sig[AFGW_SIGN_BYTES];
};

/* The fixed prefix, decoded. */
struct afgw_bundle_header {
	uint32_t version;
	uint32_t n_parts;
	uint64_t serial;               /* >= 1 */
	int64_t issued_at, expires_at; /* Unix seconds, issued_at < expires_at */
	uint64_t payload_size;         /* sum of the part sizes */
	char scope[AFGW_BUNDLE_SCOPE_MAX + 1];
	struct afgw_bundle_part part[AFGW_BUNDLE_PARTS_MAX];
	uint32_t n_sigs;
	struct afgw_bundle_sig sig[AFGW_BUNDLE_SIGS_MAX];
	uint8_t hash[AFGW_BUNDLE_HASH_BYTES];     /* BLAKE2b-256 of the header bytes */
	char hash_hex[AFGW_BUNDLE_HASH_HEX];
};

/*
 * Decode and check the fixed prefix of buf[0..len): magic, version,
 * reserved bytes zero, counts and sizes within the caps, names and scope
 * well-formed, and len == AFGW_BUNDLE_PREFIX_BYTES + payload_size (a
 * shorter buf is TRUNCATED, a longer one OVERSIZED).  Does not verify
 * signatures or part hashes.  Returns the reason (OK or an error) with one
 * line in err.
 */
enum afgw_bundle_reason afgw_bundle_header_parse(const uint8_t *buf, size_t len,
						 struct afgw_bundle_header *h, char *err,
						 size_t errlen);

/* ---- trust ---------------------------------------------------------- */

/*
 * A keyring: the police public keys this gateway trusts, and how many of
 * them must have signed (threshold, 1 by default).  File format, '#'
 * comments allowed: lines "afgw-sign-public-v1 <key id> <base64>" (the
 * content of the police's .pub files, concatenated) and at most one line
 * "threshold M" with 1 <= M <= the number of keys.
 */
struct afgw_keyring {
	struct afgw_sign_pub key[AFGW_KEYRING_MAX];
	unsigned n;
	unsigned threshold;
};

/* Returns 0 or -EINVAL / -errno with "file:line: message" in err. */
int afgw_keyring_load(const char *path, struct afgw_keyring *kr, char *err, size_t errlen);
int afgw_keyring_parse(const char *name, const char *text, size_t len, struct afgw_keyring *kr,
		       char *err, size_t errlen);

/* What verification found out; also what the audit log records. */
struct afgw_bundle_report {
	enum afgw_bundle_reason reason;
	uint64_t serial;               /* 0 if the header did not decode */
	char hash_hex[AFGW_BUNDLE_HASH_HEX];       /* "" if the header did not decode */
	char signers[AFGW_BUNDLE_SIGS_MAX][AFGW_KEY_ID_HEX];  /* trusted keys whose signature verified */
	unsigned n_signers;
	char detail[AFGW_BUNDLE_ERR];  /* one line: what exactly, e.g. "part 'x.yaml': hash mismatch" */
};

/* When and for whom a bundle is checked. */
struct afgw_bundle_policy {
	const struct afgw_keyring *trust;
	int64_t now;                   /* Unix seconds */
	const char *const *scopes;     /* this gateway's scopes, NULL-terminated; a bundle's
	                                  scope must be "*" or one of them; NULL: any scope */
};

/*
 * A verified bundle: its own copy of the bytes and the decoded header.
 * Parts are slices of bytes.
 */
struct afgw_bundle {
	struct afgw_bundle_header h;
	uint8_t *bytes;
	size_t len;
};

/*
 * Verify buf[0..len) against the policy, in this order, stopping at the
 * first failure: prefix (afgw_bundle_header_parse), signatures (every
 * slot by a trusted key must verify — one bad signature by a trusted key
 * refuses the bundle; slots by unknown keys are ignored; distinct trusted
 * signers >= threshold), expiry and issued-at, scope, then each part's
 * hash.  Reads no part before the signatures verify.  On success *out
 * owns a copy of the bytes (afgw_bundle_free).  Returns 0 or -EINVAL
 * (refused) / -ENOMEM; rep says why in every case.  Any thread.
 */
int afgw_bundle_verify(const uint8_t *buf, size_t len, const struct afgw_bundle_policy *pol,
		       struct afgw_bundle **out, struct afgw_bundle_report *rep)
	__attribute__((warn_unused_result));
void afgw_bundle_free(struct afgw_bundle *b);  /* NULL-safe */

const char *afgw_bundle_reason_name(enum afgw_bundle_reason r);

/* ---- the parts ------------------------------------------------------ */

/*
 * Append every rules part of b to rs (afgw_rules_load_buffer, each named
 * "bundle-SERIAL/NAME" in messages).  Returns 0, -EINVAL (errors in d) or
 * -ENOMEM.
 */
int afgw_bundle_rules(const struct afgw_bundle *b, struct afgw_rules *rs,
		      struct afgw_rules_diag *d);

struct afgw_bundle_number {
	char number[65];               /* canonical (number.h) */
	int list;                      /* enum afgw_rep_list: black, gray or allow */
	int score;                     /* 0..100 */
	char category[33];             /* reputation.h's category syntax */
	int64_t expires;               /* Unix seconds */
};

/*
 * Every entry of b's numbers parts, numbers canonicalised with
 * country_code, into a malloc'd array (*out, free()).  Returns the count
 * (0 when there are none) or -EINVAL with "NAME:line: message" in err,
 * or -ENOMEM.
 */
long afgw_bundle_numbers(const struct afgw_bundle *b, unsigned country_code,
			 struct afgw_bundle_number **out, char *err, size_t errlen);

/* Parse one numbers part on its own (for `bundle build` and the fuzzer). */
long afgw_bundle_numbers_parse(const char *name, const char *text, size_t len,
			       unsigned country_code, int64_t default_expires,
			       struct afgw_bundle_number **out, char *err, size_t errlen);

/*
 * A time as numbers parts (and afgwctl bundle) write it: a date
 * YYYY-MM-DD (00:00 UTC, year >= 1970, computed without the C library's
 * time zone) or Unix seconds (at most 18 digits).  Returns 0 or -EINVAL.
 */
int afgw_bundle_time_parse(const char *s, size_t len, int64_t *out);

/* ---- making bundles (afgwctl) --------------------------------------- */

struct afgw_bundle_build_opts {
	uint64_t serial;               /* >= 1 */
	int64_t issued_at;             /* Unix seconds */
	int64_t expires_at;            /* > issued_at */
	const char *scope;             /* NULL: "*" */
	unsigned country_code;         /* to check numbers parts (default 86 when 0) */
};

/*
 * An unsigned bundle of the files directly inside dir, in name order:
 * *.yaml / *.yml are rules parts, *.numbers / *.txt numbers parts; other
 * files are an error, as is a part that does not load (rules are checked
 * by the loader, not compiled; numbers by afgw_bundle_numbers_parse).
 * Returns 0 with *out (malloc'd) and *len, or -errno with one line in err.
 */
int afgw_bundle_build(const char *dir, const struct afgw_bundle_build_opts *o, uint8_t **out,
		      size_t *len, char *err, size_t errlen);

/*
 * Add k's signature of the header to the bundle in buf (in place: the
 * next free slot).  Refuses a key that already signed it (-EEXIST) and a
 * full signature block (-ENOSPC); -EINVAL if buf is not a bundle.
 */
int afgw_bundle_sign(uint8_t *buf, size_t len, const struct afgw_sign_key *k, char *err,
		     size_t errlen);

/* ---- acceptance state and audit ------------------------------------- */

struct afgw_bundle_state;

/*
 * Open (creating it 0700 if missing) the state directory: reads the last
 * accepted serial and hash if any.  Returns 0 or -errno with err.
 */
int afgw_bundle_state_open(const char *dir, struct afgw_bundle_state **out, char *err,
			   size_t errlen);
void afgw_bundle_state_close(struct afgw_bundle_state *st);  /* NULL-safe */

/* The last accepted serial (0: none) and its hash ("" if none). */
uint64_t afgw_bundle_state_serial(const struct afgw_bundle_state *st, char hash_hex[AFGW_BUNDLE_HASH_HEX]);

/*
 * Whether b may be applied given what was accepted before: OK when its
 * serial is newer, OK with *same set when it is the last accepted bundle
 * itself (same serial and hash: re-applied after a restart), ROLLBACK
 * when older, EQUIVOCATION when the same serial has another hash.
 */
enum afgw_bundle_reason afgw_bundle_state_check(const struct afgw_bundle_state *st,
						const struct afgw_bundle *b, bool *same);

/*
 * Record b as accepted: its serial and hash (temporary file, fsync,
 * rename, directory fsync) and a copy of its bytes as the current bundle.
 * Returns 0 or -errno with err (the gateway must then not apply it).
 */
int afgw_bundle_state_commit(struct afgw_bundle_state *st, const struct afgw_bundle *b,
			     char *err, size_t errlen);

/*
 * The copy of the last accepted bundle (malloc'd into *buf), to verify
 * and apply again at start.  Returns 0, -ENOENT if none, or -errno.
 */
int afgw_bundle_state_current(const struct afgw_bundle_state *st, uint8_t **buf, size_t *len);

/*
 * Append one JSON line to DIR/audit.log and fsync it:
 *   {"ts":"2026-11-21T08:00:00Z","result":"accept"|"reject","reason":"...",
 *    "serial":N,"hash":"hex","keys":["id",...],"source":"...","detail":"..."}
 * source says where the bundle came from ("redis", "file:PATH", "state").
 * Returns 0 or -errno.
 */
int afgw_bundle_audit(struct afgw_bundle_state *st, int64_t now, const char *source,
		      const struct afgw_bundle_report *rep);

#endif
