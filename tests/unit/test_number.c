/*
 * test_number.c - canonical numbers (DESIGN.md §6): the China numbering
 * plan, international forms, other default country codes, SMPP TON,
 * tel: parameters, alphanumeric senders and what is invalid.
 */
#include <errno.h>

#include "afgw/number.h"

#include "check.h"

#define NONE AFGW_TON_NONE
#define E164 AFGW_NUMBER_E164
#define SERV AFGW_NUMBER_SERVICE
#define DIGS AFGW_NUMBER_DIGITS
#define ALPH AFGW_NUMBER_ALPHA
#define INVL AFGW_NUMBER_INVALID
#define EMPT AFGW_NUMBER_EMPTY

/* clang-format off */
static const struct {
	const char *raw;
	unsigned ton, cc;
	const char *canon;
	enum afgw_number_kind kind;
} cases[] = {
	/* China, the forms of one mobile number */
	{ "13800138000", NONE, 86, "+8613800138000", E164 },
	{ "008613800138000", NONE, 86, "+8613800138000", E164 },
	{ "8613800138000", NONE, 86, "+8613800138000", E164 },
	{ "+86 138-0013-8000", NONE, 86, "+8613800138000", E164 },
	{ "+86(138)0013.8000", NONE, 86, "+8613800138000", E164 },
	{ "  138 0013 8000 ", NONE, 86, "+8613800138000", E164 },
	{ "013800138000", NONE, 86, "+8613800138000", E164 },      /* trunk 0 + mobile */
	{ "19912345678", NONE, 86, "+8619912345678", E164 },
	/* China fixed lines: trunk 0 + area code + subscriber */
	{ "075512345678", NONE, 86, "+8675512345678", E164 },      /* Shenzhen */
	{ "010-12345678", NONE, 86, "+861012345678", E164 },       /* Beijing */
	{ "02112345678", NONE, 86, "+862112345678", E164 },        /* Shanghai */
	{ "0571-1234567", NONE, 86, "+865711234567", E164 },       /* 7-digit subscriber */
	{ "8675512345678", NONE, 86, "+8675512345678", E164 },
	{ "+86 (0)755 1234 5678", NONE, 86, "+8675512345678", E164 }, /* trunk after cc */
	/* China service and short codes, kept as dialled */
	{ "95588", NONE, 86, "95588", SERV },                      /* ICBC */
	{ "955880", NONE, 86, "955880", SERV },
	{ "10086", NONE, 86, "10086", SERV },
	{ "12381", NONE, 86, "12381", SERV },
	{ "110", NONE, 86, "110", SERV },
	{ "119", NONE, 86, "119", SERV },
	{ "120", NONE, 86, "120", SERV },
	{ "122", NONE, 86, "122", SERV },
	{ "12110", NONE, 86, "12110", SERV },
	{ "96110", NONE, 86, "96110", SERV },
	{ "118114", NONE, 86, "118114", SERV },
	{ "10690123456789", NONE, 86, "10690123456789", SERV },    /* SMS port */
	{ "1065502100123456789", NONE, 86, "1065502100123456789", SERV },
	{ "1252013800138000", NONE, 86, "1252013800138000", SERV }, /* 12520 + mobile */
	{ "4008123123", NONE, 86, "4008123123", SERV },
	{ "400-812-3123", NONE, 86, "4008123123", SERV },
	{ "8008101234", NONE, 86, "8008101234", SERV },
	{ "5678", NONE, 86, "5678", SERV },
	{ "*123#", NONE, 86, "*123#", SERV },
	/* digits we cannot place */
	{ "88888888", NONE, 86, "88888888", DIGS },                /* local, no area code */
	{ "1380013800", NONE, 86, "1380013800", DIGS },            /* a digit short */
	{ "0123", NONE, 86, "0123", DIGS },
	{ "12", NONE, 86, "12", DIGS },
	/* international */
	{ "+44 20 7946 0958", NONE, 86, "+442079460958", E164 },
	{ "0044 20 7946 0958", NONE, 86, "+442079460958", E164 },
	{ "+1 (212) 555-0123", NONE, 86, "+12125550123", E164 },
	{ "+8695588", NONE, 86, "+8695588", E164 },                /* as the trunk said */
	/* other default country codes, trunk prefix 0 */
	{ "02079460958", NONE, 44, "+442079460958", E164 },
	{ "+44 (0)20 7946 0958", NONE, 44, "+442079460958", E164 },
	{ "442079460958", NONE, 44, "+442079460958", E164 },
	{ "0612345678", NONE, 33, "+33612345678", E164 },
	{ "13800138000", NONE, 44, "13800138000", DIGS },
	{ "999", NONE, 44, "999", SERV },
	/* no default country */
	{ "13800138000", NONE, 0, "13800138000", DIGS },
	{ "+8613800138000", NONE, 0, "+8613800138000", E164 },
	{ "075512345678", NONE, 0, "075512345678", DIGS },
	/* SMPP TON */
	{ "8613800138000", AFGW_TON_INTERNATIONAL, 86, "+8613800138000", E164 },
	{ "442079460958", AFGW_TON_INTERNATIONAL, 86, "+442079460958", E164 },
	{ "0086 13800138000", AFGW_TON_INTERNATIONAL, 86, "+8613800138000", E164 },
	{ "13800138000", AFGW_TON_INTERNATIONAL, 86, "+13800138000", E164 }, /* as TON 1 says */
	{ "075512345678", AFGW_TON_INTERNATIONAL, 86, "+8675512345678", E164 }, /* can't be intl */
	{ "13800138000", AFGW_TON_NATIONAL, 86, "+8613800138000", E164 },
	{ "075512345678", AFGW_TON_NATIONAL, 86, "+8675512345678", E164 },
	{ "95588", AFGW_TON_NATIONAL, 86, "95588", SERV },
	{ "8613800138000", AFGW_TON_NATIONAL, 86, "+8613800138000", E164 }, /* mislabelled */
	{ "02079460958", AFGW_TON_NATIONAL, 44, "+442079460958", E164 },
	{ "ICBC", AFGW_TON_ALPHANUMERIC, 86, "ICBC", ALPH },
	{ "Bank of China", AFGW_TON_ALPHANUMERIC, 86, "Bank of China", ALPH },
	{ "!!!", AFGW_TON_ALPHANUMERIC, 86, "!!!", ALPH },
	{ "A;B tel:", AFGW_TON_ALPHANUMERIC, 86, "A;B tel:", ALPH },
	{ "A;B", NONE, 86, "A", ALPH },
	{ "13800138000", AFGW_TON_ALPHANUMERIC, 86, "+8613800138000", E164 }, /* no way round */
	{ "95588", AFGW_TON_ALPHANUMERIC, 86, "95588", SERV },
	{ "13800138000", AFGW_TON_ABBREVIATED, 86, "+8613800138000", E164 },
	{ "10086", AFGW_TON_ABBREVIATED, 86, "10086", SERV },
	{ "13800138000", AFGW_TON_UNKNOWN, 86, "+8613800138000", E164 },
	/* SIP user parts and tel: URIs */
	{ "tel:+86-138-0013-8000;phone-context=example.com", NONE, 86, "+8613800138000", E164 },
	{ "13800138000;phone-context=+86", NONE, 86, "+8613800138000", E164 },
	{ "TEL:95588", NONE, 86, "95588", SERV },
	{ "alice", NONE, 86, "alice", ALPH },
	{ "anonymous", NONE, 86, "anonymous", ALPH },
	{ "工商银行", NONE, 86, "工商银行", ALPH },
	{ "Bank 95588", NONE, 86, "Bank 95588", ALPH },
	/* empty */
	{ "", NONE, 86, "", EMPT },
	{ "   ", NONE, 86, "", EMPT },
	{ "()-", NONE, 86, "", EMPT },
	{ ";phone-context=x", NONE, 86, "", EMPT },
	/* invalid: the printable part is kept */
	{ "+", NONE, 86, "+", INVL },
	{ "1380013800\x01", NONE, 86, "1380013800", INVL },
	{ "138\t00138000", NONE, 86, "13800138000", INVL },
	{ "+1234567890123456", NONE, 86, "+1234567890123456", INVL }, /* 16 digits */
	{ "23456789012345678", NONE, 86, "23456789012345678", INVL },
	{ "123456789012345678901", NONE, 86, "123456789012345678901", INVL },
	{ "+0861380013800", NONE, 86, "+0861380013800", INVL },
	{ "138+00138000", NONE, 86, "138+00138000", INVL },
	{ "+*123#", NONE, 86, "+*123#", INVL },
	{ "123!45", NONE, 86, "123!45", INVL },
	{ "\x80" "abc", NONE, 86, "abc", INVL },                   /* broken UTF-8 */
	{ "ab\xC2\x85", NONE, 86, "ab", INVL },                    /* C1 control */
	{ "x123456789012345678901234567890123456789012345678", NONE, 86,
	  "x12345678901234567890123456789012345678901234567", INVL }, /* 49 > 48 */
};
/* clang-format on */

static void test_table(void)
{
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(cases); i++) {
		struct afgw_number n;
		struct afgw_str raw = afgw_str_make(cases[i].raw, strlen(cases[i].raw));
		int rc = afgw_number_canon(raw, cases[i].ton, cases[i].cc, &n);
		if (strcmp(n.canon, cases[i].canon) != 0 || n.kind != cases[i].kind)
			fprintf(stderr, "case %zu \"%s\": got \"%s\" %s\n", i, cases[i].raw,
			        n.canon, afgw_number_kind_name(n.kind));
		CHECK_MEM(n.canon, n.len, cases[i].canon);
		CHECK_INT(n.kind, cases[i].kind);
		CHECK_INT(n.len, strlen(n.canon));
		CHECK_INT(rc, cases[i].kind == INVL ? -EINVAL : 0);

		/* Canonical is a fixed point: again with the same TON and cc. */
		if (n.kind != INVL && n.kind != EMPT) {
			struct afgw_number again;
			afgw_number_canon(afgw_str_make(n.canon, n.len), cases[i].ton, cases[i].cc,
			                  &again);
			CHECK_MEM(again.canon, again.len, n.canon);
			CHECK_INT(again.kind, n.kind);
		}
	}
}

static void test_misc(void)
{
	struct afgw_number n;

	CHECK_INT(afgw_number_canon(afgw_str_make(NULL, 0), NONE, 86, &n), 0);
	CHECK_INT(n.kind, EMPT);
	CHECK_INT(n.len, 0);
	/* Only the given length is read. */
	CHECK_INT(afgw_number_canon(afgw_str_make("1380013800099", 11), NONE, 86, &n), 0);
	CHECK_MEM(n.canon, n.len, "+8613800138000");
	/* An embedded NUL is a control character. */
	CHECK_INT(afgw_number_canon(afgw_str_make("95588\0"
	                                          "1",
	                                          7),
	                            NONE, 86, &n),
	          -EINVAL);
	CHECK_MEM(n.canon, n.len, "955881");

	CHECK(strcmp(afgw_number_kind_name(AFGW_NUMBER_EMPTY), "empty") == 0);
	CHECK(strcmp(afgw_number_kind_name(AFGW_NUMBER_E164), "e164") == 0);
	CHECK(strcmp(afgw_number_kind_name(AFGW_NUMBER_SERVICE), "service") == 0);
	CHECK(strcmp(afgw_number_kind_name(AFGW_NUMBER_DIGITS), "digits") == 0);
	CHECK(strcmp(afgw_number_kind_name(AFGW_NUMBER_ALPHA), "alpha") == 0);
	CHECK(strcmp(afgw_number_kind_name(AFGW_NUMBER_INVALID), "invalid") == 0);
}

/*
 * number.c answers the common Chinese mobile forms on a fast path, and
 * other numbers written as bare digits (with at most a leading '+') on a
 * second one; the same numbers written with separators take the general
 * path.  For every TON both must agree.
 */
static void check_fast_path_agrees(void)
{
	static const char *const prefixes[] = { "", "86", "+86", "0086", "+", "00", "0" };
	static const unsigned tons[] = { AFGW_TON_NONE, AFGW_TON_UNKNOWN, AFGW_TON_INTERNATIONAL,
					 AFGW_TON_NATIONAL, AFGW_TON_NETWORK, AFGW_TON_SUBSCRIBER,
					 AFGW_TON_ALPHANUMERIC, AFGW_TON_ABBREVIATED };
	uint32_t x = 2463534242u;
	for (int i = 0; i < 300; i++) {
		char nsn[12], plain[32], spaced[40];
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		/* 1[0-9] then 9 digits: mobile (13-19) and not (10-12) */
		snprintf(nsn, sizeof(nsn), "1%u%09u", x % 10, (x / 10) % 1000000000u);
		for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
			snprintf(plain, sizeof(plain), "%s%s", prefixes[p], nsn);
			snprintf(spaced, sizeof(spaced), "%s%s%.3s %.4s %.4s", prefixes[p],
				 p ? " " : "", nsn, nsn + 3, nsn + 7);
			for (size_t t = 0; t < sizeof(tons) / sizeof(tons[0]); t++) {
				struct afgw_number a, b;
				int ra = afgw_number_canon(afgw_str_make(plain, strlen(plain)), tons[t], 86, &a);
				int rb = afgw_number_canon(afgw_str_make(spaced, strlen(spaced)), tons[t], 86, &b);
				CHECK_INT(ra, rb);
				CHECK_INT(a.kind, b.kind);
				CHECK(strcmp(a.canon, b.canon) == 0);
			}
		}
	}
}

int main(void)
{
	test_table();
	test_misc();
	check_fast_path_agrees();
	return check_report();
}
