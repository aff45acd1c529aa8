/*
 * fuzz_warning.c - arbitrary bytes as what the app receives: a sealed
 * warning from the stream, the signed plaintext inside a seal, and the
 * JSON inside that.
 *
 * The keys are fixed (derived from constant seeds): one gateway signing
 * key, one more trusted gateway key, one app account box key.
 *
 * Each input is used three ways:
 *   1. as a sealed blob: afgw_warning_open.  OK only with a valid
 *      signature; on failure the JSON buffer is untouched.
 *   2. as a signed plaintext, sealed here to the app's key (a valid seal
 *      around attacker-chosen contents): open never says NOT_FOR_US, says
 *      MALFORMED for a short input or a wrong magic, UNKNOWN_KEY for an
 *      untrusted key id, and OK only with the JSON of the input.
 *   3. as JSON: afgw_warning_parse.  A warning it accepts is within every
 *      bound, and survives json -> parse unchanged (reasons may be left
 *      off from the end only) and seal -> open byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "afgw/warning.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct afgw_sign_key gk; /* plain memory is fine for a fixed test key */
static struct afgw_box_key ak;
static struct afgw_sign_pub trusted[2];
static struct afgw_jbuf jb;

static void setup(void)
{
	uint8_t seed[32];
	if (afgw_keys_init() != 0)
		abort();
	memset(seed, 'G', sizeof(seed));
	crypto_sign_seed_keypair(gk.pk, gk.sk, seed);
	afgw_key_id(gk.pk, gk.id);
	memset(seed, 'O', sizeof(seed));
	uint8_t osk[64];
	crypto_sign_seed_keypair(trusted[0].pk, osk, seed);
	afgw_key_id(trusted[0].pk, trusted[0].id);
	memcpy(trusted[1].pk, gk.pk, 32);
	memcpy(trusted[1].id, gk.id, sizeof(gk.id));
	memset(seed, 'A', sizeof(seed));
	crypto_box_seed_keypair(ak.pk, ak.sk, seed);
	afgw_jbuf_init(&jb);
}

static char json[AFGW_WARNING_JSON_MAX + 1];
static uint8_t box[AFGW_WARNING_SEALED_MAX + 64];

static void sentinel(void)
{
	memset(json, 0x5a, sizeof(json));
}

static void untouched(void)
{
	for (size_t i = 0; i < sizeof(json); i++)
		if (json[i] != 0x5a)
			abort();
}

static bool bounded(const char *s, size_t cap)
{
	return strnlen(s, cap) < cap;
}

static void check_warning(const struct afgw_warning *w)
{
	if (w->score < 0 || w->score > 100 || w->n_reasons > AFGW_WARNING_REASONS_MAX ||
	    (w->action != AFGW_WARN && w->action != AFGW_BLOCK) ||
	    (unsigned)w->channel > AFGW_WARNING_LOOKBACK || strlen(w->id) != 32 ||
	    strlen(w->gateway) != 16 || !bounded(w->other, sizeof(w->other)) ||
	    !bounded(w->account, sizeof(w->account)) || !bounded(w->category, sizeof(w->category)))
		abort();
	if (w->channel != AFGW_WARNING_LOOKBACK && w->contacted_at != w->ts)
		abort();
	for (unsigned i = 0; i < w->n_reasons; i++)
		if (!bounded(w->reason[i].source, sizeof(w->reason[i].source)) ||
		    !bounded(w->reason[i].id, sizeof(w->reason[i].id)) ||
		    !bounded(w->reason[i].category, sizeof(w->reason[i].category)))
			abort();
}

static void same(const struct afgw_warning *a, const struct afgw_warning *b)
{
	if (strcmp(a->id, b->id) || a->ts != b->ts || a->contacted_at != b->contacted_at ||
	    a->channel != b->channel || strcmp(a->other, b->other) ||
	    strcmp(a->account, b->account) || strcmp(a->category, b->category) ||
	    a->score != b->score || a->action != b->action || a->ruleset != b->ruleset ||
	    strcmp(a->gateway, b->gateway) || b->n_reasons > a->n_reasons)
		abort();
	for (unsigned i = 0; i < b->n_reasons; i++)
		if (strcmp(a->reason[i].source, b->reason[i].source) ||
		    strcmp(a->reason[i].id, b->reason[i].id) ||
		    strcmp(a->reason[i].category, b->reason[i].category) ||
		    a->reason[i].weight != b->reason[i].weight)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	size_t jl = 0;
	char signer[AFGW_KEY_ID_HEX];
	enum afgw_warning_open_error e;

	/* 1. a sealed blob */
	sentinel();
	e = afgw_warning_open(&ak, trusted, 2, data, size, json, sizeof(json), &jl, signer);
	if ((unsigned)e > AFGW_WARNING_BAD_SIGNATURE)
		abort();
	if (e == AFGW_WARNING_OK) {
		if (jl > AFGW_WARNING_JSON_MAX || json[jl] != '\0' ||
		    (strcmp(signer, gk.id) && strcmp(signer, trusted[0].id)))
			abort();
		struct afgw_warning w;
		if (afgw_warning_parse(json, jl, &w) == 0)
			check_warning(&w);
	} else {
		untouched();
	}

	/* 2. attacker-chosen contents in a valid seal */
	if (size <= AFGW_WARNING_HEADER + AFGW_WARNING_JSON_MAX) {
		if (crypto_box_seal(box, data, size, ak.pk) != 0)
			abort();
		sentinel();
		e = afgw_warning_open(&ak, trusted, 2, box, size + crypto_box_SEALBYTES, json,
				      sizeof(json), &jl, signer);
		bool shape = size > AFGW_WARNING_HEADER && memcmp(data, "AFW1", 4) == 0;
		if (e == AFGW_WARNING_NOT_FOR_US || (e == AFGW_WARNING_MALFORMED) == shape)
			abort();
		if (shape) {
			char id[AFGW_KEY_ID_HEX];
			sodium_bin2hex(id, sizeof(id), data + 4, AFGW_KEY_ID_BYTES);
			bool known = !strcmp(id, gk.id) || !strcmp(id, trusted[0].id);
			if (strcmp(signer, id) || (e == AFGW_WARNING_UNKNOWN_KEY) == known)
				abort();
		}
		if (e == AFGW_WARNING_OK) {
			if (jl != size - AFGW_WARNING_HEADER ||
			    memcmp(json, data + AFGW_WARNING_HEADER, jl) != 0)
				abort();
		} else {
			untouched();
		}
	}

	/* 3. JSON */
	struct afgw_warning w, back;
	if (afgw_warning_parse((const char *)data, size, &w) != 0)
		return 0;
	check_warning(&w);
	afgw_warning_json(&w, &jb);
	if (afgw_jbuf_failed(&jb) || jb.len > AFGW_WARNING_JSON_MAX || !afgw_utf8_valid(jb.p, jb.len))
		abort();
	if (afgw_warning_parse(jb.p, jb.len, &back) != 0)
		abort();
	same(&w, &back);
	size_t n = 0;
	if (afgw_warning_seal(&gk, ak.pk, jb.p, jb.len, box, sizeof(box), &n) != 0 ||
	    n != jb.len + AFGW_WARNING_SEAL_OVERHEAD)
		abort();
	e = afgw_warning_open(&ak, trusted, 2, box, n, json, sizeof(json), &jl, signer);
	if (e != AFGW_WARNING_OK || jl != jb.len || memcmp(json, jb.p, jl) != 0 ||
	    strcmp(signer, gk.id))
		abort();
	return 0;
}
