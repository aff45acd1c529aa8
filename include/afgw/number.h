/*
 * number.h - canonical numbers (DESIGN.md §6), gateway/number.c.
 *
 * Canonical form: E.164 with a leading '+' when it can be derived (default
 * country code 86): 13800138000, 008613800138000, 8613800138000 and
 * "+86 138-0013-8000" all become +8613800138000; 075512345678 becomes
 * +8675512345678.  Service and short codes stay as dialled digits (95588,
 * 10086, 12381, 110, 1069...).  Alphanumeric senders stay as text.
 * Visual separators (space - . ( ) and the tel: ones) are ignored.
 * Thread: any; pure functions.
 */
#ifndef AFGW_NUMBER_H
#define AFGW_NUMBER_H

#include "afgw/common.h"

#define AFGW_NUMBER_MAX 48

enum afgw_number_kind {
	AFGW_NUMBER_EMPTY,     /* nothing to canonicalise */
	AFGW_NUMBER_E164,      /* "+<cc><nsn>" */
	AFGW_NUMBER_SERVICE,   /* short / service code, digits as dialled */
	AFGW_NUMBER_DIGITS,    /* digits we could not place, kept as digits */
	AFGW_NUMBER_ALPHA,     /* alphanumeric sender, kept as text */
	AFGW_NUMBER_INVALID,   /* too long, or characters no number has */
};

/* SMPP type of number, or UNKNOWN for SIP and anything else. */
enum {
	AFGW_TON_UNKNOWN = 0,
	AFGW_TON_INTERNATIONAL = 1,
	AFGW_TON_NATIONAL = 2,
	AFGW_TON_NETWORK = 3,
	AFGW_TON_SUBSCRIBER = 4,
	AFGW_TON_ALPHANUMERIC = 5,
	AFGW_TON_ABBREVIATED = 6,
	AFGW_TON_NONE = 255,   /* no TON information (SIP) */
};

struct afgw_number {
	char canon[AFGW_NUMBER_MAX + 1]; /* NUL-terminated canonical text */
	size_t len;
	enum afgw_number_kind kind;
};

/*
 * Canonicalise raw (a SIP user part already %-unescaped, a tel: number,
 * or an SMPP address) given the SMPP TON (AFGW_TON_NONE for SIP) and the
 * default country code (e.g. 86).  Always fills *out (kind INVALID with
 * the printable part of the input truncated when nothing better is
 * possible).  Returns 0, or -EINVAL for kind INVALID.
 */
int afgw_number_canon(struct afgw_str raw, unsigned ton, unsigned country_code,
		      struct afgw_number *out);

const char *afgw_number_kind_name(enum afgw_number_kind k);

#endif
