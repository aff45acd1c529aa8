/*
 * warning.h - a resident's warning: its JSON, the gateway's signature and
 * the seal to the app account's key, and the way back (verify + open) for
 * the app side.  gateway/warning.c (pure: no I/O, no clock, no Redis).
 *
 * The format is a contract with app back ends written in other languages;
 * README.md ("Warnings") documents it byte for byte:
 *
 *   json    = the warning as UTF-8 JSON (afgw_warning_json, below)
 *   signed  = "AFW1" | key id (8 bytes, raw) | Ed25519 signature (64) | json
 *             where the signature is crypto_sign_detached over
 *             "AFW1" | key id | json (everything but the signature itself)
 *   sealed  = crypto_box_seal(signed, app account's X25519 public key)
 *             (48 bytes longer than signed)
 *
 * and the Redis stream entry carries sealed as standard padded base64.
 * The app opens the seal with its key pair, checks the magic, finds the
 * gateway's public key by key id among the keys it trusts, verifies the
 * signature, and only then parses the JSON.
 *
 * The warning id is deterministic, so a warning sent twice (a retry, a
 * replay after a crash, two gateways of a fleet) carries the same id:
 * the first 16 bytes of BLAKE2b-256 (crypto_generichash, no key) over
 * "afgw-warning-id-v1" NUL channel NUL other NUL account NUL category NUL
 * event, as 32 lowercase hex digits, where event is the contact's time in
 * microseconds (decimal) for call / sms, and the blacklisting's time in
 * seconds (decimal) for lookback.
 */
#ifndef AFGW_WARNING_H
#define AFGW_WARNING_H

#include <stddef.h>
#include <stdint.h>

#include "afgw/json.h"
#include "afgw/keys.h"
#include "afgw/score.h"

#define AFGW_WARNING_ID_HEX 33           /* 32 hex + NUL */
#define AFGW_WARNING_FIELD_MAX 64        /* other, account, category, reason id */
#define AFGW_WARNING_REASONS_MAX 8
#define AFGW_WARNING_JSON_MAX 4096       /* a warning's JSON never exceeds this */
#define AFGW_WARNING_HEADER (4 + AFGW_KEY_ID_BYTES + AFGW_SIGN_BYTES)   /* 76 */
#define AFGW_WARNING_SEAL_OVERHEAD (AFGW_WARNING_HEADER + 48)           /* 124 */
#define AFGW_WARNING_SEALED_MAX (AFGW_WARNING_JSON_MAX + AFGW_WARNING_SEAL_OVERHEAD)

enum afgw_warning_channel { AFGW_WARNING_CALL, AFGW_WARNING_SMS, AFGW_WARNING_LOOKBACK };

struct afgw_warning_reason {
	char source[16];                      /* "rule", "reputation", "behaviour" */
	char id[AFGW_WARNING_FIELD_MAX + 1];
	char category[AFGW_WARNING_FIELD_MAX + 1];
	int weight;
};

/* A warning, as plain data (copies, not borrowed). */
struct afgw_warning {
	char id[AFGW_WARNING_ID_HEX];
	int64_t ts;                           /* Unix seconds: when the contact happened
	                                         (lookback: when the number was blacklisted) */
	int64_t contacted_at;                 /* lookback: when the number last contacted the
	                                         subscriber; else equal to ts */
	enum afgw_warning_channel channel;
	char other[AFGW_WARNING_FIELD_MAX + 1];    /* the other party, canonical */
	char account[AFGW_WARNING_FIELD_MAX + 1];  /* the app account warned */
	char category[AFGW_WARNING_FIELD_MAX + 1]; /* the leading category */
	int score;                            /* 0..100 */
	enum afgw_action action;              /* warn or block */
	uint64_t ruleset;                     /* serial of the ruleset that scored */
	unsigned n_reasons;
	struct afgw_warning_reason reason[AFGW_WARNING_REASONS_MAX];
	char gateway[AFGW_KEY_ID_HEX];        /* key id of the signing gateway */
};

/* Fill w->id from its channel, other, account, category and event (above). */
void afgw_warning_make_id(struct afgw_warning *w, uint64_t event);

/*
 * The Chinese advice shown to the resident, written from the category and
 * the channel, e.g. for impersonate_police on a call:
 * 「该号码涉嫌冒充公检法诈骗，公检法机关不会通过电话要求转账，请立即挂断。」
 * Every category of the default rule set and of reputation has its own
 * text; anything else gets a general one.  Static storage.
 */
const char *afgw_warning_advice(const char *category, enum afgw_warning_channel ch);

/*
 * The warning's JSON into b (reset first): one object, keys in this order:
 *   v (1), id, ts (RFC 3339 UTC), channel ("call" | "sms" | "lookback"),
 *   account, other, category, score, action ("warn" | "block"),
 *   reasons [{source, id, category, weight}], advice, ruleset (number),
 *   gateway (key id), and for lookback contacted_at (RFC 3339 UTC).
 * Never more than AFGW_WARNING_JSON_MAX bytes (fields are bounded).
 */
void afgw_warning_json(const struct afgw_warning *w, struct afgw_jbuf *b);

/*
 * Parse a warning's JSON (as the app does after verifying).  Unknown keys
 * are ignored, missing required ones are -EINVAL.  Returns 0 or -EINVAL.
 */
int afgw_warning_parse(const char *json, size_t len, struct afgw_warning *w);

/*
 * Sign json with the gateway key and seal it to app_pk: out gets
 * len + AFGW_WARNING_SEAL_OVERHEAD bytes.  Returns 0, -EINVAL (len 0 or
 * over AFGW_WARNING_JSON_MAX, or cap too small) or -EIO.
 */
int afgw_warning_seal(const struct afgw_sign_key *gk, const uint8_t app_pk[AFGW_BOX_PUBLIC_BYTES],
		      const char *json, size_t len, uint8_t *out, size_t cap, size_t *outlen);

enum afgw_warning_open_error {
	AFGW_WARNING_OK = 0,
	AFGW_WARNING_NOT_FOR_US,     /* cannot be opened with this key pair (or damaged) */
	AFGW_WARNING_MALFORMED,      /* opened, but too short / wrong magic; or longer
	                                than AFGW_WARNING_SEALED_MAX (not opened) */
	AFGW_WARNING_UNKNOWN_KEY,    /* signed by a key id we do not trust */
	AFGW_WARNING_BAD_SIGNATURE,  /* the signature does not verify */
};

/*
 * The app side: open sealed with the account's key pair, check the
 * signature against the trusted gateway keys (n_trusted of them), and
 * copy the JSON (NUL-terminated) into json (cap >= AFGW_WARNING_JSON_MAX
 * + 1 always suffices); *signer gets the signing key id.  Returns
 * AFGW_WARNING_OK or the first check that failed; json is only written
 * when everything verified.
 */
__attribute__((warn_unused_result))
enum afgw_warning_open_error afgw_warning_open(const struct afgw_box_key *app,
					       const struct afgw_sign_pub *trusted, size_t n_trusted,
					       const uint8_t *sealed, size_t len, char *json,
					       size_t cap, size_t *jlen,
					       char signer[AFGW_KEY_ID_HEX]);

const char *afgw_warning_open_error_name(enum afgw_warning_open_error e);
const char *afgw_warning_channel_name(enum afgw_warning_channel ch);

#endif
