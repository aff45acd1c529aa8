/*
 * fuzz_bundle.c - arbitrary bytes as a police bundle and as a numbers part.
 *
 * The keyring is fixed: one police key derived from a constant seed (32 x
 * 'P'; tests/unit/test_bundle.c writes seed bundles signed by it when run
 * with AFGW_BUNDLE_FUZZ_SEEDS=DIR), threshold 1, clock 1800000000.
 *
 * Each input is used three ways:
 *   1. as a bundle: afgw_bundle_verify.  Refused with a reason and no
 *      bundle, or OK only with a trusted signer and a copy equal to the
 *      input, whose numbers and rules parts then load (or are refused).
 *      The reason agrees with afgw_bundle_header_parse for a bad prefix.
 *   2. when its prefix decodes: the same bytes with the part hashes made
 *      right and signed here by the trusted key (a valid signature around
 *      attacker-chosen parts), which must verify at its issue time, and
 *      whose parts go through the numbers and rules loaders.
 *   3. as the text of a numbers part: afgw_bundle_numbers_parse, every
 *      entry within its bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "afgw/bundle.h"
#include "afgw/reputation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW INT64_C(1800000000)

static struct afgw_sign_key fk; /* plain memory is fine for a fixed test key */
static struct afgw_keyring kr;

static void setup(void)
{
	uint8_t seed[32];
	if (afgw_keys_init() != 0)
		abort();
	memset(seed, 'P', sizeof(seed));
	crypto_sign_seed_keypair(fk.pk, fk.sk, seed);
	afgw_key_id(fk.pk, fk.id);
	memset(&kr, 0, sizeof(kr));
	memcpy(kr.key[0].pk, fk.pk, sizeof(fk.pk));
	memcpy(kr.key[0].id, fk.id, sizeof(fk.id));
	kr.n = 1;
	kr.threshold = 1;
}

static void check_numbers(const struct afgw_bundle_number *v, long n)
{
	for (long i = 0; i < n; i++) {
		const struct afgw_bundle_number *e = &v[i];
		if (strnlen(e->number, sizeof(e->number)) == 0 ||
		    strnlen(e->number, sizeof(e->number)) >= sizeof(e->number) ||
		    strnlen(e->category, sizeof(e->category)) >= sizeof(e->category) ||
		    !afgw_rep_category_ok(e->category) || e->score < 0 || e->score > 100 ||
		    (e->list != AFGW_REP_BLACK && e->list != AFGW_REP_GRAY &&
		     e->list != AFGW_REP_ALLOW))
			abort();
	}
}

/* The parts of a verified bundle through their loaders. */
static void load_parts(const struct afgw_bundle *b)
{
	char err[AFGW_BUNDLE_ERR];
	struct afgw_bundle_number *v = NULL;
	long n = afgw_bundle_numbers(b, 86, &v, err, sizeof(err));
	if (n < 0 ? v != NULL || n != -EINVAL : n > AFGW_BUNDLE_NUMBERS_MAX)
		abort();
	check_numbers(v, n);
	free(v);
	struct afgw_rules rs;
	struct afgw_rules_diag d;
	afgw_rules_init(&rs);
	afgw_rules_diag_init(&d);
	int rc = afgw_bundle_rules(b, &rs, &d);
	if (rc != 0 && rc != -EINVAL)
		abort();
	afgw_rules_fini(&rs);
	afgw_rules_diag_fini(&d);
}

static void check_report(const struct afgw_bundle_report *rep)
{
	if ((unsigned)rep->reason >= AFGW_BUNDLE_REASONS ||
	    strnlen(rep->detail, sizeof(rep->detail)) >= sizeof(rep->detail) ||
	    rep->n_signers > AFGW_BUNDLE_SIGS_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}

	/* 1. as it is */
	struct afgw_bundle_policy pol = { &kr, FUZZ_NOW, NULL };
	struct afgw_bundle *b = NULL;
	struct afgw_bundle_report rep;
	int rc = afgw_bundle_verify(data, size, &pol, &b, &rep);
	check_report(&rep);
	struct afgw_bundle_header h;
	char err[AFGW_BUNDLE_ERR];
	enum afgw_bundle_reason hr = afgw_bundle_header_parse(data, size, &h, err, sizeof(err));
	if (hr != AFGW_BUNDLE_OK && (rep.reason != hr || rc != -EINVAL || rep.serial != 0))
		abort();
	if (rc == 0) {
		if (!b || rep.reason != AFGW_BUNDLE_OK || rep.n_signers != 1 ||
		    strcmp(rep.signers[0], fk.id) || b->len != size ||
		    memcmp(b->bytes, data, size) != 0 || rep.serial != h.serial)
			abort();
		load_parts(b);
		afgw_bundle_free(b);
	} else if (b || rep.reason == AFGW_BUNDLE_OK) {
		abort();
	}

	/* 2. its parts inside a valid signature */
	if (hr == AFGW_BUNDLE_OK) {
		uint8_t *m = malloc(size);
		if (!m)
			return 0;
		memcpy(m, data, size);
		for (unsigned i = 0; i < h.n_parts; i++)
			crypto_generichash(m + 128 + i * 64 + 32, 32, m + h.part[i].offset,
					   (size_t)h.part[i].size, NULL, 0);
		memset(m + AFGW_BUNDLE_HEADER_BYTES, 0, AFGW_BUNDLE_SIGBLOCK_BYTES);
		if (afgw_bundle_sign(m, size, &fk, err, sizeof(err)) != 0)
			abort();
		pol.now = h.issued_at;
		rc = afgw_bundle_verify(m, size, &pol, &b, &rep);
		if (rc != 0 || !b || rep.n_signers != 1)
			abort();
		load_parts(b);
		afgw_bundle_free(b);
		free(m);
	}

	/* 3. as a numbers part */
	struct afgw_bundle_number *v = NULL;
	long n = afgw_bundle_numbers_parse("fuzz", (const char *)data, size, 86, FUZZ_NOW, &v, err,
					   sizeof(err));
	if (n < 0 ? v != NULL || (n != -EINVAL && n != -ENOMEM) : n > AFGW_BUNDLE_NUMBERS_MAX)
		abort();
	check_numbers(v, n);
	free(v);
	return 0;
}
