/*
 * keys.h - the gateway's and the residents' keys, gateway/keys.c (one of
 * the crypto files: libsodium lives behind keys.c and warning.c).
 *
 * Two kinds of key pair:
 *   sign  Ed25519: the gateway's signing key (it signs warnings) and, for
 *         issue 7, the police's bundle keys.  A public key is named by its
 *         key id: the first 8 bytes of BLAKE2b-128 (crypto_generichash,
 *         16-byte output, no key) of the 32-byte public key, as 16
 *         lowercase hex digits.
 *   box   X25519: an app account's key pair; warnings are sealed to its
 *         public key (crypto_box_seal).
 *
 * Files are text, one key per file, lines starting with '#' ignored:
 *
 *   PREFIX.key  (mode 0600)  afgw-sign-secret-v1 <base64 of the 64-byte Ed25519 secret key>
 *                            afgw-box-secret-v1 <base64 of the 32-byte X25519 secret key>
 *   PREFIX.pub  (mode 0644)  afgw-sign-public-v1 <key id> <base64 of the 32-byte public key>
 *                            afgw-box-public-v1 <base64 of the 32-byte public key>
 *
 * base64 is the standard alphabet with padding (sodium_base64_VARIANT_ORIGINAL).
 * Secret keys are read straight into sodium_malloc memory (guarded pages,
 * no swap), made read-only, and wiped when freed; the file buffer that
 * held the text is wiped too.
 *
 * Thread: any; a loaded key is immutable and may be shared.
 */
#ifndef AFGW_KEYS_H
#define AFGW_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define AFGW_SIGN_PUBLIC_BYTES 32
#define AFGW_SIGN_SECRET_BYTES 64
#define AFGW_SIGN_BYTES 64
#define AFGW_BOX_PUBLIC_BYTES 32
#define AFGW_BOX_SECRET_BYTES 32
#define AFGW_KEY_ID_BYTES 8
#define AFGW_KEY_ID_HEX (2 * AFGW_KEY_ID_BYTES + 1)  /* with the NUL */
#define AFGW_KEY_ERR 256

enum afgw_key_kind { AFGW_KEY_SIGN, AFGW_KEY_BOX };

/* A signing key pair (secret): in sodium_malloc memory, read-only. */
struct afgw_sign_key {
	uint8_t sk[AFGW_SIGN_SECRET_BYTES];
	uint8_t pk[AFGW_SIGN_PUBLIC_BYTES];
	char id[AFGW_KEY_ID_HEX];
};

/* A public signing key: plain memory. */
struct afgw_sign_pub {
	uint8_t pk[AFGW_SIGN_PUBLIC_BYTES];
	char id[AFGW_KEY_ID_HEX];
};

/* An app account's key pair (secret): in sodium_malloc memory, read-only. */
struct afgw_box_key {
	uint8_t sk[AFGW_BOX_SECRET_BYTES];
	uint8_t pk[AFGW_BOX_PUBLIC_BYTES];
};

/* sodium_init, once; safe from any thread.  Returns 0 or -EIO. */
int afgw_keys_init(void);

/*
 * Make a new key pair and write PREFIX.key (0600) and PREFIX.pub (0644),
 * refusing to overwrite either (O_EXCL: -EEXIST, nothing written).  A
 * comment line names what the file is.  Returns 0 or -errno with one line
 * in err.
 */
int afgw_keys_generate(enum afgw_key_kind kind, const char *prefix, char *err, size_t errlen);

/*
 * Load a secret key file.  A file readable by group or others is refused
 * (-EPERM) like ssh does.  Returns 0 or -errno (-EINVAL: not such a key
 * file) with one line in err; *out is freed with the _free below.
 */
int afgw_sign_key_load(const char *path, struct afgw_sign_key **out, char *err, size_t errlen);
void afgw_sign_key_free(struct afgw_sign_key *k);  /* wipes; NULL-safe */
int afgw_box_key_load(const char *path, struct afgw_box_key **out, char *err, size_t errlen);
void afgw_box_key_free(struct afgw_box_key *k);    /* wipes; NULL-safe */

/* Load / parse a public key file (or its one line of text).  0 or -EINVAL / -errno. */
int afgw_sign_pub_load(const char *path, struct afgw_sign_pub *out, char *err, size_t errlen);
int afgw_sign_pub_parse(const char *text, size_t len, struct afgw_sign_pub *out);

/*
 * An app's public key as given to `afgwctl sub add --pubkey`: the content of
 * its .pub file ("afgw-box-public-v1 <base64>", comments allowed) or the
 * bare base64.  Returns 0 or -EINVAL.
 */
int afgw_box_pub_parse(const char *text, size_t len, uint8_t pk[AFGW_BOX_PUBLIC_BYTES]);

/* The key id of a signing public key (hex, NUL-terminated). */
void afgw_key_id(const uint8_t pk[AFGW_SIGN_PUBLIC_BYTES], char id[AFGW_KEY_ID_HEX]);

/*
 * Keyed pseudonym of a subscriber number for logs and events: SipHash-2-4
 * (crypto_shorthash) of s under a 16-byte key, as "p:" and 16 lowercase
 * hex digits (NUL-terminated).  The same number gives the same pseudonym
 * under the same key, so an operator can follow a caller through events
 * without seeing the number.
 */
#define AFGW_PSEUDONYM_KEY_BYTES 16
#define AFGW_PSEUDONYM_TEXT 19     /* "p:" + 16 hex + NUL */
void afgw_pseudonym(const uint8_t key[AFGW_PSEUDONYM_KEY_BYTES], const char *s, size_t n,
		    char out[AFGW_PSEUDONYM_TEXT]);
/* The key from a file of 32 hex digits (mode 0600, like a secret key).  0 or -errno + err. */
int afgw_pseudonym_key_load(const char *path, uint8_t key[AFGW_PSEUDONYM_KEY_BYTES], char *err,
			    size_t errlen);
/* A random key (afgw_keys_init first). */
void afgw_pseudonym_key_random(uint8_t key[AFGW_PSEUDONYM_KEY_BYTES]);

/* base64 (standard, padded) of n bytes into out (cap >= 4 * ((n + 2) / 3) + 1). */
void afgw_base64(const uint8_t *p, size_t n, char *out, size_t cap);
/* Decode; returns the number of bytes, or -EINVAL (bad text or more than cap). */
long afgw_unbase64(const char *s, size_t len, uint8_t *out, size_t cap);

#endif
