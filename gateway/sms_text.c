/*
 * sms_text.c - SMS user data to UTF-8: alphabets, GSM 7-bit unpacking,
 * the user data header.
 *
 * Input: the short_message / message_payload bytes of an SMPP PDU (or the
 * TP-UD of a 3GPP TPDU) with its data_coding; output: UTF-8 text for the
 * matcher, with a count of the code units that had to become U+FFFD.
 * Called by worker threads; every function here is pure and allocates
 * nothing.
 *
 * The decoders work on "code units" (one septet per byte for GSM 7-bit,
 * bytes otherwise) so that sms_concat.c can join the parts of a long
 * message before anything is decoded: an escape (0x1B) or a UTF-16
 * surrogate pair split across two parts then decodes as one character.
 *
 * Deliberately not done: the national language shift tables of 23.038
 * §6.2.1.2.4 (a UDH IE 0x24 / 0x25 is parsed as an unknown IE and the
 * default tables are used), compressed text (23.042: flagged BINARY), the
 * SMPP national charsets (JIS, Cyrillic, Hebrew, KS C 5601: flagged
 * BINARY, see afgw_sms_alphabet_smpp) and any encoder.
 */
#include <errno.h>

#include "afgw/sms.h"

#define REPLACEMENT 0xFFFDu
#define GSM_ESC     0x1B

/*
 * The GSM 7-bit default alphabet, 3GPP TS 23.038 §6.2.1, by septet.
 * 0x1B is the escape to the extension table; its entry (NBSP, as the
 * Unicode consortium's GSM0338 mapping displays a stray escape) is only
 * used through ext_char() for "1B 1B", which we show as a space anyway.
 */
/* clang-format off */
static const uint16_t gsm_basic[128] = {
	0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, /* @ £ $ ¥ è é ù ì */
	0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5, /* ò Ç LF Ø ø CR Å å */
	0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, /* Δ _ Φ Γ Λ Ω Π Ψ */
	0x03A3, 0x0398, 0x039E, 0x00A0, 0x00C6, 0x00E6, 0x00DF, 0x00C9, /* Σ Θ Ξ ESC Æ æ ß É */
	0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027, /* SP ! " # ¤ % & ' */
	0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F, /* ( ) * + , - . / */
	0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037, /* 0-7 */
	0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F, /* 8 9 : ; < = > ? */
	0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, /* ¡ A-G */
	0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F, /* H-O */
	0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, /* P-W */
	0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, /* X Y Z Ä Ö Ñ Ü § */
	0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067, /* ¿ a-g */
	0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F, /* h-o */
	0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077, /* p-w */
	0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0, /* x y z ä ö ñ ü à */
};
/* clang-format on */

/*
 * The character of "1B v", 23.038 §6.2.1.1.  Codes the table leaves
 * empty are not errors: the spec tells a receiver to display the basic
 * table's character for v, and for "1B 1B" (reserved for a second
 * extension table) a space.  Both are defined behaviour, so neither is
 * counted as invalid.  After "1B 1B" decoding carries on with the next
 * septet as a basic-table character.
 */
static uint32_t ext_char(uint8_t v)
{
	switch (v) {
	case 0x0A:
		return 0x000C; /* form feed (page break) */
	case 0x14:
		return '^';
	case 0x1B:
		return ' ';
	case 0x28:
		return '{';
	case 0x29:
		return '}';
	case 0x2F:
		return '\\';
	case 0x3C:
		return '[';
	case 0x3D:
		return '~';
	case 0x3E:
		return ']';
	case 0x40:
		return '|';
	case 0x65:
		return 0x20AC; /* € */
	default:
		return gsm_basic[v & 0x7F];
	}
}

/* Bytes of cp as UTF-8. */
static inline size_t utf8_len(uint32_t cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* cp as the n = utf8_len(cp) bytes of UTF-8 at o; returns o + n. */
static inline uint8_t *utf8_store(uint8_t *o, uint32_t cp, size_t n)
{
	/* byte by byte: a memcpy call per character costs more than the rest */
	switch (n) {
	case 1:
		o[0] = (uint8_t)cp;
		break;
	case 2:
		o[0] = (uint8_t)(0xC0 | (cp >> 6));
		o[1] = (uint8_t)(0x80 | (cp & 0x3F));
		break;
	case 3:
		o[0] = (uint8_t)(0xE0 | (cp >> 12));
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (uint8_t)(0x80 | (cp & 0x3F));
		break;
	default:
		o[0] = (uint8_t)(0xF0 | (cp >> 18));
		o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		o[3] = (uint8_t)(0x80 | (cp & 0x3F));
		break;
	}
	return o + n;
}

/* Append cp as UTF-8 if all of it fits; false (nothing written) if not. */
static bool put(char *out, size_t cap, size_t *len, uint32_t cp)
{
	size_t n = utf8_len(cp);
	if (cap - *len < n)
		return false;
	utf8_store((uint8_t *)out + *len, cp, n);
	*len += n;
	return true;
}

/*
 * Alphabet of a GSM TP-DCS, 23.038 §4.  Every reserved coding is read
 * as the GSM 7-bit default alphabet, as the spec tells a receiver to.
 *
 *   00xx xxxx, 01xx xxxx  general / automatic deletion: bit 5 set means
 *                         compressed (23.042) -> BINARY; else bits 3-2:
 *                         00 GSM7, 01 8-bit -> BINARY, 10 UCS2,
 *                         11 reserved -> GSM7
 *   1000 - 1011           reserved -> GSM7
 *   1100, 1101            message waiting, discard / store: GSM7
 *   1110                  message waiting, store: UCS2
 *   1111 xxxx             data coding / class: bit 2 0 GSM7, 1 8-bit
 */
enum afgw_sms_alphabet afgw_sms_alphabet_dcs(uint8_t dcs)
{
	switch (dcs >> 4) {
	case 0x0:
	case 0x1:
	case 0x2:
	case 0x3:
	case 0x4:
	case 0x5:
	case 0x6:
	case 0x7:
		if (dcs & 0x20)
			return AFGW_SMS_BINARY;
		switch ((dcs >> 2) & 3) {
		case 1:
			return AFGW_SMS_BINARY;
		case 2:
			return AFGW_SMS_UCS2;
		default:
			return AFGW_SMS_GSM7;
		}
	case 0xE:
		return AFGW_SMS_UCS2;
	case 0xF:
		return (dcs & 0x04) ? AFGW_SMS_BINARY : AFGW_SMS_GSM7;
	default: /* 1000-1011 reserved, 1100 and 1101 message waiting */
		return AFGW_SMS_GSM7;
	}
}

/*
 * Alphabet of an SMPP data_coding, SMPP 3.4 §5.2.19.
 *
 *   0 SMSC default       GSM7 (what every SMSC we meet means by it)
 *   1 IA5                ASCII
 *   2, 4 octet data      BINARY
 *   3 Latin-1            LATIN1
 *   8 UCS2               UCS2 (read as UTF-16BE: surrogates accepted)
 *   5 JIS, 6 Cyrillic, 7 Hebrew, 9 pictogram, 0x0A music codes,
 *   0x0D extended kanji, 0x0E KS C 5601, and the reserved 0x0B, 0x0C, 0x0F:
 *                        BINARY - flagged "not decoded" rather than
 *                        guessed at; none of them carries Chinese or
 *                        English fraud text we could match
 *   0x10 - 0xFF          the 23.038 coding groups (afgw_sms_alphabet_dcs).
 *                        SMPP 3.4 names only 0xC0 and up, but ESMEs put
 *                        GSM DCS values such as 0x10 (flash, GSM7) and
 *                        0x18 (flash, UCS2) in data_coding, and SMSCs
 *                        honour them.
 */
enum afgw_sms_alphabet afgw_sms_alphabet_smpp(uint8_t data_coding)
{
	switch (data_coding) {
	case 0x00:
		return AFGW_SMS_GSM7;
	case 0x01:
		return AFGW_SMS_ASCII;
	case 0x03:
		return AFGW_SMS_LATIN1;
	case 0x08:
		return AFGW_SMS_UCS2;
	default:
		if (data_coding >= 0x10)
			return afgw_sms_alphabet_dcs(data_coding);
		return AFGW_SMS_BINARY;
	}
}

/*
 * The UDH is UDHL followed by UDHL bytes of information elements, each
 * IEI, IEDL, IEDL bytes (23.040 §9.2.3.24).  A concatenation IE whose
 * length is wrong, or whose total is 0 or seq is 0 or above total, is
 * ignored as 23.040 §9.2.3.24.1 says, and flags the UDH bad.  When the
 * UDH holds more than one concatenation IE (0x00 or 0x08), the last one
 * is used - 23.040's rule for a repeated non-repeatable IE - and
 * udh->repeated is set.  On -EBADMSG, udh->len is clamped to len so a
 * caller that skips the header stays inside the data.
 */
int afgw_sms_udh_parse(const uint8_t *ud, size_t len, struct afgw_sms_udh *udh)
{
	memset(udh, 0, sizeof(*udh));
	udh->present = true;
	if (len == 0 || (size_t)ud[0] + 1 > len) {
		udh->len = len;
		udh->bad = true;
		return -EBADMSG;
	}
	udh->len = (size_t)ud[0] + 1;

	size_t i = 1;
	while (i < udh->len) {
		if (udh->len - i < 2) {
			udh->bad = true;
			break;
		}
		uint8_t iei = ud[i], iedl = ud[i + 1];
		const uint8_t *d = ud + i + 2;
		if ((size_t)iedl > udh->len - i - 2) {
			udh->bad = true;
			break;
		}
		i += 2 + (size_t)iedl;

		if (iei != 0x00 && iei != 0x08)
			continue;
		bool r16 = iei == 0x08;
		if (iedl != (r16 ? 4 : 3)) {
			udh->bad = true;
			continue;
		}
		uint16_t ref = r16 ? (uint16_t)(d[0] << 8 | d[1]) : d[0];
		uint8_t total = d[r16 ? 2 : 1], seq = d[r16 ? 3 : 2];
		if (total == 0 || seq == 0 || seq > total) {
			udh->bad = true;
			continue;
		}
		if (udh->concat)
			udh->repeated = true;
		udh->concat = true;
		udh->ref16 = r16;
		udh->ref = ref;
		udh->total = total;
		udh->seq = seq;
	}
	return 0;
}

/*
 * Septet k of packed user data starts at bit fill_bits + 7k, counting
 * from bit 0 (the least significant) of the first octet (23.038
 * §6.1.2.1.1).  After a UDH of udh_bytes octets (UDHL included) the text
 * starts on the next septet boundary of the whole TP-UD, so
 *
 *     fill_bits = (7 - (udh_bytes * 8) % 7) % 7
 *
 * with p pointing just past the UDH, and the UDH uses
 * (udh_bytes * 8 + fill_bits) / 7 of the TP-UDL septets.  The number of
 * septets is the caller's to give (TP-UDL minus those): a packed buffer
 * with 7 spare bits at the end cannot tell a final '@' from padding, and
 * 23.038's CR padding rule is for senders.
 */
size_t afgw_sms_unpack7(const uint8_t *p, size_t n, size_t nsept, unsigned fill_bits, uint8_t *out,
                        size_t cap)
{
	if (n > SIZE_MAX / 8)
		n = SIZE_MAX / 8;
	size_t bits = n * 8;
	if (fill_bits >= bits)
		return 0;
	size_t avail = (bits - fill_bits) / 7;
	size_t m = nsept < cap ? nsept : cap;
	if (m > avail)
		m = avail;

	for (size_t k = 0; k < m; k++) {
		size_t bit = fill_bits + 7 * k;
		size_t byte = bit >> 3;
		unsigned sh = bit & 7;
		unsigned v = p[byte] >> sh;
		if (sh > 1) /* the septet straddles into the next octet */
			v |= (unsigned)p[byte + 1] << (8 - sh);
		out[k] = (uint8_t)(v & 0x7F);
	}
	return m;
}

bool afgw_sms_looks_packed(const uint8_t *p, size_t n)
{
	/* eight bytes at a time: any high bit in the word is a high byte */
	size_t i = 0;
	for (; n - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w & 0x8080808080808080u)
			return true;
	}
	for (; i < n; i++)
		if (p[i] & 0x80)
			return true;
	return false;
}

/*
 * Read the next character at units[*i]: its code point, how many units
 * it took, and whether it was a replacement.  Kept apart from the output
 * so a character that does not fit leaves *i where it was.
 */
struct ch {
	uint32_t cp;
	size_t used;
	bool bad;
};

static struct ch next_gsm7(const uint8_t *u, size_t n, size_t i)
{
	struct ch c = {REPLACEMENT, 1, true};

	if (u[i] >= 0x80)
		return c;
	if (u[i] != GSM_ESC) {
		c.cp = gsm_basic[u[i]];
		c.bad = false;
		return c;
	}
	/* A lone escape at the end, or one followed by a non-septet, is
	 * broken; the unit after it is then read on its own. */
	if (i + 1 >= n || u[i + 1] >= 0x80)
		return c;
	c.cp = ext_char(u[i + 1]);
	c.used = 2;
	c.bad = false;
	return c;
}

static struct ch next_ucs2(const uint8_t *u, size_t n, size_t i)
{
	struct ch c = {REPLACEMENT, n - i, true};

	if (n - i < 2) /* odd trailing byte */
		return c;
	uint32_t w = (uint32_t)u[i] << 8 | u[i + 1];
	c.used = 2;
	if (w >= 0xDC00 && w <= 0xDFFF) /* low surrogate first */
		return c;
	if (w >= 0xD800 && w <= 0xDBFF) {
		if (n - i < 4)
			return c;
		uint32_t lo = (uint32_t)u[i + 2] << 8 | u[i + 3];
		if (lo < 0xDC00 || lo > 0xDFFF)
			return c; /* lone high surrogate; lo is read next */
		c.cp = 0x10000 + ((w - 0xD800) << 10) + (lo - 0xDC00);
		c.used = 4;
		c.bad = false;
		return c;
	}
	c.cp = w;
	c.bad = false;
	return c;
}

/*
 * Decode n units of alphabet a into out.  Returns 0, or -ENOSPC when a
 * character did not fit: decoding stops there (res->truncated), out holds
 * every whole character before it, and res->invalid counts the
 * replacements written so far.  res may be NULL; out may be NULL when
 * cap is 0.
 */
int afgw_sms_decode(enum afgw_sms_alphabet a, const uint8_t *units, size_t n, char *out, size_t cap,
                    struct afgw_sms_decoded *res)
{
	struct afgw_sms_decoded local;
	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (a == AFGW_SMS_BINARY)
		return 0;

	/* The length and the count live in locals until the end: out is a
	 * char *, so each byte stored through it could change *res, and the
	 * compiler would reload and store res->len once per character. */
	size_t i = 0, len = 0;
	unsigned invalid = 0;
	int rc = 0;
	while (i < n) {
		struct ch c;
		if (a == AFGW_SMS_UCS2) {
			/* BMP characters outside the surrogates (all Chinese text) in a
			 * tight loop; anything else takes the general step below.
			 * While what is left fits even if every unit pair became three
			 * bytes (the most a BMP character takes), the loop checks
			 * nothing but the surrogates; near the end of out, the
			 * checked loop after it takes over. */
			if (n - i >= 2 && (n - i) / 2 <= (cap - len) / 3) {
				uint8_t *o = (uint8_t *)out + len;
				for (; n - i >= 2; i += 2) {
					uint32_t w = (uint32_t)units[i] << 8 | units[i + 1];
					if (w - 0xD800u < 0x800u)
						break;
					o = utf8_store(o, w, w < 0x80 ? 1 : w < 0x800 ? 2 : 3); /* BMP */
				}
				len = (size_t)((char *)o - out);
			}
			while (n - i >= 2) {
				uint32_t w = (uint32_t)units[i] << 8 | units[i + 1];
				if (w - 0xD800u < 0x800u)
					break;
				if (!put(out, cap, &len, w))
					goto full;
				i += 2;
			}
			if (i == n)
				break;
		} else if (a == AFGW_SMS_GSM7) {
			/* the same for septets of the basic table (all but the escape),
			 * which take at most two bytes of UTF-8: unchecked while all
			 * that is left fits at two bytes a septet */
			if (n - i <= (cap - len) / 2) {
				uint8_t *o = (uint8_t *)out + len;
				for (; i < n && units[i] < 0x80 && units[i] != GSM_ESC; i++) {
					uint32_t cp = gsm_basic[units[i]];
					o = utf8_store(o, cp, cp < 0x80 ? 1 : 2); /* < U+0800 */
				}
				len = (size_t)((char *)o - out);
			}
			while (i < n && units[i] < 0x80 && units[i] != GSM_ESC) {
				if (!put(out, cap, &len, gsm_basic[units[i]]))
					goto full;
				i++;
			}
			if (i == n)
				break;
		}
		switch (a) {
		case AFGW_SMS_GSM7:
			c = next_gsm7(units, n, i);
			break;
		case AFGW_SMS_UCS2:
			c = next_ucs2(units, n, i);
			break;
		case AFGW_SMS_ASCII:
			c.cp = units[i] < 0x80 ? units[i] : REPLACEMENT;
			c.bad = units[i] >= 0x80;
			c.used = 1;
			break;
		default: /* LATIN1: the byte is the code point */
			c.cp = units[i];
			c.bad = false;
			c.used = 1;
			break;
		}
		if (!put(out, cap, &len, c.cp))
			goto full;
		invalid += c.bad;
		i += c.used;
	}
	goto done;
full:
	res->truncated = true;
	rc = -ENOSPC;
done:
	res->len = len;
	res->invalid = invalid;
	return rc;
}
