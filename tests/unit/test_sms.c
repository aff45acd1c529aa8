/*
 * test_sms.c - SMS text decoding: the GSM 7-bit tables (23.038 §6.2.1),
 * packed septets with UDH fill bits, UCS-2 / UTF-16BE, Latin-1, IA5,
 * truncation, the data_coding tables and the user data header.
 */
#include <errno.h>

#include "afgw/sms.h"

#include "check.h"

#define U(...) ((const uint8_t[]){__VA_ARGS__})

/* The GSM 7-bit default alphabet, typed in from 23.038 §6.2.1 (by row). */
/* clang-format off */
static const char *const gsm_expect[128] = {
	"@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø", "\r", "Å", "å",
	"Δ", "_", "Φ", "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", NULL, "Æ", "æ", "ß", "É",
	" ", "!", "\"", "#", "¤", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/",
	"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?",
	"¡", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O",
	"P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "Ä", "Ö", "Ñ", "Ü", "§",
	"¿", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
	"p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "ä", "ö", "ñ", "ü", "à",
};
/* clang-format on */

/* The extension table, 23.038 §6.2.1.1: septet after 0x1B -> text. */
/* clang-format off */
static const struct {
	uint8_t code;
	const char *text;
} ext_expect[] = {
	{ 0x0A, "\f" }, { 0x14, "^" }, { 0x28, "{" }, { 0x29, "}" }, { 0x2F, "\\" },
	{ 0x3C, "[" },  { 0x3D, "~" }, { 0x3E, "]" }, { 0x40, "|" }, { 0x65, "€" },
};
/* clang-format on */

#define FFFD "\xEF\xBF\xBD"

static char out[4096];
static struct afgw_sms_decoded res;

static int dec(enum afgw_sms_alphabet a, const uint8_t *u, size_t n)
{
	return afgw_sms_decode(a, u, n, out, sizeof(out), &res);
}

/* Test-side packer, written bit by bit from 23.038 §6.1.2.1.1 so that it
 * shares nothing with the unpacker: septet bits LSB first, after
 * fill_bits zero bits. */
static size_t pack7(const uint8_t *sept, size_t n, unsigned fill, uint8_t *p)
{
	size_t nbits = fill + 7 * n, nbytes = (nbits + 7) / 8;
	memset(p, 0, nbytes);
	for (size_t i = 0; i < n; i++)
		for (unsigned b = 0; b < 7; b++)
			if (sept[i] >> b & 1) {
				size_t bit = fill + 7 * i + b;
				p[bit / 8] |= (uint8_t)(1u << (bit % 8));
			}
	return nbytes;
}

static void test_basic_table(void)
{
	char all[1024];
	size_t all_len = 0;
	uint8_t sept[128];
	size_t ns = 0;

	for (unsigned c = 0; c < 128; c++) {
		if (c == 0x1B)
			continue;
		uint8_t u = (uint8_t)c;
		CHECK_INT(dec(AFGW_SMS_GSM7, &u, 1), 0);
		CHECK_MEM(out, res.len, gsm_expect[c]);
		CHECK_INT(res.invalid, 0);
		memcpy(all + all_len, gsm_expect[c], strlen(gsm_expect[c]));
		all_len += strlen(gsm_expect[c]);
		sept[ns++] = u;
	}
	all[all_len] = '\0';

	/* Round trip of the whole table: pack (test side), unpack, decode. */
	for (unsigned fill = 0; fill < 7; fill++) {
		uint8_t packed[200], unpacked[200];
		size_t pn = pack7(sept, ns, fill, packed);
		CHECK_INT(afgw_sms_unpack7(packed, pn, ns, fill, unpacked, sizeof(unpacked)), ns);
		CHECK(memcmp(unpacked, sept, ns) == 0);
		CHECK_INT(dec(AFGW_SMS_GSM7, unpacked, ns), 0);
		CHECK_MEM(out, res.len, all);
	}
}

static void test_extension(void)
{
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(ext_expect); i++) {
		uint8_t u[2] = {0x1B, ext_expect[i].code};
		CHECK_INT(dec(AFGW_SMS_GSM7, u, 2), 0);
		CHECK_MEM(out, res.len, ext_expect[i].text);
		CHECK_INT(res.invalid, 0);
	}
	/* "Pay €5 {now}" */
	CHECK_INT(
	    dec(AFGW_SMS_GSM7,
	        U('P', 'a', 'y', ' ', 0x1B, 0x65, '5', ' ', 0x1B, 0x28, 'n', 'o', 'w', 0x1B, 0x29),
	        15),
	    0);
	CHECK_MEM(out, res.len, "Pay €5 {now}");

	/* Unknown extension code: the basic table's character, not invalid. */
	CHECK_INT(dec(AFGW_SMS_GSM7, U(0x1B, 0x41), 2), 0); /* ESC 'A' */
	CHECK_MEM(out, res.len, "A");
	CHECK_INT(res.invalid, 0);
	CHECK_INT(dec(AFGW_SMS_GSM7, U(0x1B, 0x00), 2), 0); /* ESC '@' */
	CHECK_MEM(out, res.len, "@");
	/* ESC ESC: reserved for another table, shown as a space; the next
	 * septet is read from the basic table. */
	CHECK_INT(dec(AFGW_SMS_GSM7, U(0x1B, 0x1B, 0x65), 3), 0); /* ESC ESC 'e' */
	CHECK_MEM(out, res.len, " e");
	CHECK_INT(res.invalid, 0);
	/* A lone escape at the end is invalid. */
	CHECK_INT(dec(AFGW_SMS_GSM7, U('A', 0x1B), 2), 0);
	CHECK_MEM(out, res.len, "A" FFFD);
	CHECK_INT(res.invalid, 1);
	CHECK_INT(dec(AFGW_SMS_GSM7, U(0x1B), 1), 0);
	CHECK_MEM(out, res.len, FFFD);
	CHECK_INT(res.invalid, 1);
	/* Units >= 0x80 are not septets. */
	CHECK_INT(dec(AFGW_SMS_GSM7, U('A', 0x80, 0xFF, 'B'), 4), 0);
	CHECK_MEM(out, res.len, "A" FFFD FFFD "B");
	CHECK_INT(res.invalid, 2);
	/* ESC followed by a non-septet: both replaced, counted apart. */
	CHECK_INT(dec(AFGW_SMS_GSM7, U(0x1B, 0xC1, 'x'), 3), 0);
	CHECK_MEM(out, res.len, FFFD FFFD "x");
	CHECK_INT(res.invalid, 2);
}

static void test_packed(void)
{
	uint8_t s[64];

	/* "hellohello", the classic SMS PDU example */
	const uint8_t *hh = U(0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37);
	CHECK_INT(afgw_sms_unpack7(hh, 9, 10, 0, s, sizeof(s)), 10);
	CHECK_MEM(s, 10, "hellohello");

	/* "12345678": 8 septets in 7 octets (23.038 §6.1.2.1.1 figure) */
	const uint8_t *d8 = U(0x31, 0xD9, 0x8C, 0x56, 0xB3, 0xDD, 0x70);
	CHECK_INT(afgw_sms_unpack7(d8, 7, 8, 0, s, sizeof(s)), 8);
	CHECK_MEM(s, 8, "12345678");

	/* "1234567": 7 septets in 7 octets leave 7 spare zero bits - a
	 * sender should pad with CR, this one did not; only nsept tells
	 * the text from an '@' (0x00). */
	const uint8_t *d7 = U(0x31, 0xD9, 0x8C, 0x56, 0xB3, 0xDD, 0x00);
	CHECK_INT(afgw_sms_unpack7(d7, 7, 7, 0, s, sizeof(s)), 7);
	CHECK_MEM(s, 7, "1234567");
	CHECK_INT(afgw_sms_unpack7(d7, 7, 8, 0, s, sizeof(s)), 8);
	CHECK_INT(s[7], 0x00);

	/* Stops where the data ends, and at cap. */
	CHECK_INT(afgw_sms_unpack7(hh, 9, 100, 0, s, sizeof(s)), 10);
	CHECK_INT(afgw_sms_unpack7(hh, 8, 100, 0, s, sizeof(s)), 9);
	CHECK_INT(afgw_sms_unpack7(hh, 9, 10, 0, s, 4), 4);
	CHECK_MEM(s, 4, "hell");
	CHECK_INT(afgw_sms_unpack7(hh, 0, 10, 0, s, sizeof(s)), 0);
	CHECK_INT(afgw_sms_unpack7(hh, 1, 10, 6, s, sizeof(s)), 0);
	CHECK_INT(afgw_sms_unpack7(hh, 1, 10, 1, s, sizeof(s)), 1);

	CHECK(afgw_sms_looks_packed(hh, 9));
	CHECK(!afgw_sms_looks_packed((const uint8_t *)"hello", 5));
	CHECK(!afgw_sms_looks_packed(hh, 0));
	/* a high byte at every place of the word loop and its tail */
	for (size_t len = 1; len <= 19; len++)
		for (size_t at = 0; at <= len; at++) {
			uint8_t b[19];
			memset(b, 0x41, sizeof(b));
			if (at < len)
				b[at] = 0x80;
			CHECK(afgw_sms_looks_packed(b, len) == (at < len));
		}
}

/*
 * "Pay €5 {now}" (15 septets with escapes) packed after UDHs of several
 * lengths; fill = (7 - (udh_bytes * 8) % 7) % 7.  Vectors made by an
 * independent bit-string packer (Python), not by this code.
 */
static void test_packed_udh(void)
{
	static const struct {
		unsigned udh_bytes, fill, udl;
		uint8_t ud[40];
		size_t n;
	} v[] = {
	    /* UDHL 0: empty header */
	    {1,
	     6,
	     17,
	     {0x00, 0x00, 0x34, 0x9c, 0x07, 0x6d, 0xca, 0x35, 0xd0, 0x06, 0xe5, 0x7e, 0xdf, 0x37,
	      0x29},
	     15},
	    /* UDHL 8: 8-bit concat ref CC 2/1 + single shift (24 01 0D) */
	    {9,
	     5,
	     26,
	     {0x08, 0x00, 0x03, 0xcc, 0x02, 0x01, 0x24, 0x01, 0x0d, 0x00, 0x1a, 0xce,
	      0x83, 0x36, 0xe5, 0x1a, 0x68, 0x83, 0x72, 0xbf, 0xef, 0x9b, 0x14},
	     23},
	    /* UDHL 2: IE 70, length 0 */
	    {3,
	     4,
	     19,
	     {0x02, 0x70, 0x00, 0x00, 0x0d, 0xe7, 0x41, 0x9b, 0x72, 0x0d, 0xb4, 0x41, 0xb9, 0xdf,
	      0xf7, 0x4d, 0x0a},
	     17},
	    /* UDHL 3: single shift table 0x0D */
	    {4,
	     3,
	     20,
	     {0x03, 0x24, 0x01, 0x0d, 0x80, 0x86, 0xf3, 0xa0, 0x4d, 0xb9, 0x06, 0xda, 0xa0, 0xdc,
	      0xef, 0xfb, 0x26, 0x05},
	     18},
	    /* UDHL 4: two empty IEs 70 */
	    {5,
	     2,
	     21,
	     {0x04, 0x70, 0x00, 0x70, 0x00, 0x40, 0xc3, 0x79, 0xd0, 0xa6, 0x5c, 0x03, 0x6d, 0x50,
	      0xee, 0xf7, 0x7d, 0x93, 0x02},
	     19},
	    /* UDHL 5: 8-bit concat ref CC 2/1 */
	    {6,
	     1,
	     22,
	     {0x05, 0x00, 0x03, 0xcc, 0x02, 0x01, 0xa0, 0xe1, 0x3c, 0x68,
	      0x53, 0xae, 0x81, 0x36, 0x28, 0xf7, 0xfb, 0xbe, 0x49, 0x01},
	     20},
	    /* UDHL 6: 16-bit concat ref 1234 2/1; 7 spare bits at the end */
	    {7,
	     0,
	     23,
	     {0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01, 0xd0, 0x70, 0x1e, 0xb4,
	      0x29, 0xd7, 0x40, 0x1b, 0x94, 0xfb, 0x7d, 0xdf, 0xa4, 0x00},
	     21},
	};

	for (size_t i = 0; i < AFGW_ARRAY_SIZE(v); i++) {
		struct afgw_sms_udh udh;
		uint8_t s[64];

		CHECK_INT(afgw_sms_udh_parse(v[i].ud, v[i].n, &udh), 0);
		CHECK(!udh.bad);
		CHECK_INT(udh.len, v[i].udh_bytes);
		unsigned fill = (7 - (unsigned)(udh.len * 8) % 7) % 7;
		CHECK_INT(fill, v[i].fill);
		size_t udh_septs = (udh.len * 8 + fill) / 7;
		size_t ns = afgw_sms_unpack7(v[i].ud + udh.len, v[i].n - udh.len,
		                             v[i].udl - udh_septs, fill, s, sizeof(s));
		CHECK_INT(ns, 15);
		CHECK_INT(dec(AFGW_SMS_GSM7, s, ns), 0);
		CHECK_MEM(out, res.len, "Pay €5 {now}");
	}
}

static void test_ucs2(void)
{
	/* "您好" U+60A8 U+597D */
	CHECK_INT(dec(AFGW_SMS_UCS2, U(0x60, 0xA8, 0x59, 0x7D), 4), 0);
	CHECK_MEM(out, res.len, "您好");
	CHECK_INT(res.invalid, 0);
	/* U+1F600 as the surrogate pair D83D DE00 -> F0 9F 98 80 */
	CHECK_INT(dec(AFGW_SMS_UCS2, U(0xD8, 0x3D, 0xDE, 0x00), 4), 0);
	CHECK_MEM(out, res.len, "\xF0\x9F\x98\x80");
	CHECK_INT(res.invalid, 0);
	/* U+10FFFF (DBFF DFFF) and U+10000 (D800 DC00), the pair limits */
	CHECK_INT(dec(AFGW_SMS_UCS2, U(0xDB, 0xFF, 0xDF, 0xFF, 0xD8, 0x00, 0xDC, 0x00), 8), 0);
	CHECK_MEM(out, res.len, "\xF4\x8F\xBF\xBF\xF0\x90\x80\x80");
	/* "A" U+0041, "é" U+00E9, "€" U+20AC: 1-, 2-, 3-byte UTF-8 */
	CHECK_INT(dec(AFGW_SMS_UCS2, U(0x00, 0x41, 0x00, 0xE9, 0x20, 0xAC), 6), 0);
	CHECK_MEM(out, res.len, "Aé€");

	/* Broken UTF-16 */
	CHECK_INT(dec(AFGW_SMS_UCS2, U(0xD8, 0x3D, 0x00, 0x41), 4), 0); /* high, 'A' */
	CHECK_MEM(out, res.len, FFFD "A");
	CHECK_INT(res.invalid, 1);
	CHECK_INT(dec(AFGW_SMS_UCS2, U(0x00, 0x41, 0xD8, 0x3D), 4), 0); /* 'A', high at end */
	CHECK_MEM(out, res.len, "A" FFFD);
	CHECK_INT(res.invalid, 1);
	CHECK_INT(dec(AFGW_SMS_UCS2, U(0xDE, 0x00), 2), 0); /* lone low */
	CHECK_MEM(out, res.len, FFFD);
	CHECK_INT(res.invalid, 1);
	CHECK_INT(dec(AFGW_SMS_UCS2, U(0xDE, 0x00, 0xD8, 0x3D), 4), 0); /* reversed pair */
	CHECK_MEM(out, res.len, FFFD FFFD);
	CHECK_INT(res.invalid, 2);
	CHECK_INT(dec(AFGW_SMS_UCS2, U(0xD8, 0x3D, 0xD8, 0x3D, 0xDE, 0x00), 6),
	          0); /* high high low */
	CHECK_MEM(out, res.len, FFFD "\xF0\x9F\x98\x80");
	CHECK_INT(res.invalid, 1);
	CHECK_INT(dec(AFGW_SMS_UCS2, U(0x00, 0x41, 0x00), 3), 0); /* 'A', odd byte */
	CHECK_MEM(out, res.len, "A" FFFD);
	CHECK_INT(res.invalid, 1);
	CHECK_INT(dec(AFGW_SMS_UCS2, U(0xD8, 0x3D, 0xDE), 3), 0); /* high, odd byte */
	CHECK_MEM(out, res.len, FFFD FFFD);
	CHECK_INT(res.invalid, 2);
}

static void test_8bit(void)
{
	/* Latin-1 "café ÿ" */
	CHECK_INT(dec(AFGW_SMS_LATIN1, U('c', 'a', 'f', 0xE9, ' ', 0xFF), 6), 0);
	CHECK_MEM(out, res.len, "café ÿ");
	CHECK_INT(res.invalid, 0);
	/* IA5: the top bit is not ASCII */
	CHECK_INT(dec(AFGW_SMS_ASCII, U('o', 'k', 0xE9, '!'), 4), 0);
	CHECK_MEM(out, res.len, "ok" FFFD "!");
	CHECK_INT(res.invalid, 1);
	/* BINARY writes nothing */
	CHECK_INT(dec(AFGW_SMS_BINARY, U('a', 'b', 'c'), 3), 0);
	CHECK_INT(res.len, 0);
	CHECK(!res.truncated);
	/* NULL res is allowed, empty input writes nothing */
	CHECK_INT(afgw_sms_decode(AFGW_SMS_GSM7, U('a'), 1, out, sizeof(out), NULL), 0);
	CHECK_INT(dec(AFGW_SMS_UCS2, NULL, 0), 0);
	CHECK_INT(res.len, 0);
}

/* For every cap from 0 to the full length: what fits is a whole-character
 * prefix of the full output, and the next character really did not fit. */
static void trunc_case(enum afgw_sms_alphabet a, const uint8_t *u, size_t n)
{
	char full[256], part[256];
	struct afgw_sms_decoded fr, pr;

	CHECK_INT(afgw_sms_decode(a, u, n, full, sizeof(full), &fr), 0);
	for (size_t cap = 0; cap <= fr.len; cap++) {
		int rc = afgw_sms_decode(a, u, n, cap ? part : NULL, cap, &pr);
		bool whole = cap == fr.len;
		CHECK_INT(rc, whole ? 0 : -ENOSPC);
		CHECK(pr.truncated == !whole);
		CHECK(pr.len <= cap);
		CHECK(memcmp(part, full, pr.len) == 0);
		/* ends on a character boundary */
		CHECK(pr.len == fr.len || ((unsigned char)full[pr.len] & 0xC0) != 0x80);
		if (!whole) {
			size_t next = 1;
			while (pr.len + next < fr.len &&
			       ((unsigned char)full[pr.len + next] & 0xC0) == 0x80)
				next++;
			CHECK(pr.len + next > cap);
		}
	}
}

static void test_truncation(void)
{
	/* "A€Δ" + escape {, "ü" and an invalid unit */
	trunc_case(AFGW_SMS_GSM7, U('A', 0x1B, 0x65, 0x10, 0x1B, 0x28, 0x7E, 0x80, 'z'), 9);
	/* "a您" U+1F600 "é" and a lone surrogate */
	trunc_case(AFGW_SMS_UCS2,
	           U(0x00, 0x61, 0x60, 0xA8, 0xD8, 0x3D, 0xDE, 0x00, 0x00, 0xE9, 0xDC, 0x00), 12);
	/* Latin-1 "aéÿb" */
	trunc_case(AFGW_SMS_LATIN1, U('a', 0xE9, 0xFF, 'b'), 4);
	/* IA5 with a replacement */
	trunc_case(AFGW_SMS_ASCII, U('a', 0x80, 'b'), 3);

	/* Runs long enough for the unchecked loops (taken while all that is
	 * left fits at the widest: 3 bytes a UCS-2 unit pair, 2 a septet),
	 * then a character they hand back to the general step, then more of
	 * the run: every cap in between puts the switch to the checked loop
	 * somewhere else. */
	uint8_t u[96];
	size_t n = 0;
	for (int k = 0; k < 12; k++) { /* "您é a" */
		u[n++] = 0x60, u[n++] = 0xA8;
		u[n++] = 0x00, u[n++] = 0xE9;
		u[n++] = 0x00, u[n++] = 0x61;
		if (k == 5) /* U+1F600, a surrogate pair */
			u[n++] = 0xD8, u[n++] = 0x3D, u[n++] = 0xDE, u[n++] = 0x00;
	}
	trunc_case(AFGW_SMS_UCS2, u, n);
	CHECK_INT(dec(AFGW_SMS_UCS2, u, n), 0);
	CHECK_INT(res.len, 12 * 6 + 4);
	CHECK_INT(res.invalid, 0);
	n = 0;
	for (int k = 0; k < 30; k++) { /* "ΔA" ... with an escape "{" in the middle */
		u[n++] = 0x10, u[n++] = 'A';
		if (k == 14)
			u[n++] = 0x1B, u[n++] = 0x28;
	}
	trunc_case(AFGW_SMS_GSM7, u, n);
	CHECK_INT(dec(AFGW_SMS_GSM7, u, n), 0);
	CHECK_INT(res.len, 30 * 3 + 1);
	CHECK(memcmp(out, "\xCE\x94" "A" "\xCE\x94", 5) == 0);
}

static void test_alphabets(void)
{
	/* SMPP 3.4 §5.2.19 */
	CHECK_INT(afgw_sms_alphabet_smpp(0x00), AFGW_SMS_GSM7);
	CHECK_INT(afgw_sms_alphabet_smpp(0x01), AFGW_SMS_ASCII);
	CHECK_INT(afgw_sms_alphabet_smpp(0x02), AFGW_SMS_BINARY);
	CHECK_INT(afgw_sms_alphabet_smpp(0x03), AFGW_SMS_LATIN1);
	CHECK_INT(afgw_sms_alphabet_smpp(0x04), AFGW_SMS_BINARY);
	for (unsigned dc = 0x05; dc <= 0x0F; dc++)
		if (dc != 0x08)
			CHECK_INT(afgw_sms_alphabet_smpp((uint8_t)dc), AFGW_SMS_BINARY);
	CHECK_INT(afgw_sms_alphabet_smpp(0x08), AFGW_SMS_UCS2);
	CHECK_INT(afgw_sms_alphabet_smpp(0x10), AFGW_SMS_GSM7);   /* flash GSM7 */
	CHECK_INT(afgw_sms_alphabet_smpp(0x18), AFGW_SMS_UCS2);   /* flash UCS2 */
	CHECK_INT(afgw_sms_alphabet_smpp(0xC0), AFGW_SMS_GSM7);   /* MWI discard */
	CHECK_INT(afgw_sms_alphabet_smpp(0xD8), AFGW_SMS_GSM7);   /* MWI store */
	CHECK_INT(afgw_sms_alphabet_smpp(0xE0), AFGW_SMS_UCS2);   /* MWI store UCS2 */
	CHECK_INT(afgw_sms_alphabet_smpp(0xF0), AFGW_SMS_GSM7);   /* class 0 GSM7 */
	CHECK_INT(afgw_sms_alphabet_smpp(0xF4), AFGW_SMS_BINARY); /* class 0 8-bit */
	CHECK_INT(afgw_sms_alphabet_smpp(0xF6), AFGW_SMS_BINARY);

	/* 23.038 §4 coding groups */
	CHECK_INT(afgw_sms_alphabet_dcs(0x00), AFGW_SMS_GSM7);
	CHECK_INT(afgw_sms_alphabet_dcs(0x04), AFGW_SMS_BINARY);
	CHECK_INT(afgw_sms_alphabet_dcs(0x08), AFGW_SMS_UCS2);
	CHECK_INT(afgw_sms_alphabet_dcs(0x0C), AFGW_SMS_GSM7); /* reserved alphabet */
	CHECK_INT(afgw_sms_alphabet_dcs(0x11), AFGW_SMS_GSM7); /* class 1 */
	CHECK_INT(afgw_sms_alphabet_dcs(0x19), AFGW_SMS_UCS2);
	CHECK_INT(afgw_sms_alphabet_dcs(0x20), AFGW_SMS_BINARY); /* compressed */
	CHECK_INT(afgw_sms_alphabet_dcs(0x48), AFGW_SMS_UCS2);   /* auto-deletion group */
	CHECK_INT(afgw_sms_alphabet_dcs(0x44), AFGW_SMS_BINARY);
	CHECK_INT(afgw_sms_alphabet_dcs(0x40), AFGW_SMS_GSM7);
	for (unsigned g = 0x80; g < 0xC0; g += 5)
		CHECK_INT(afgw_sms_alphabet_dcs((uint8_t)g), AFGW_SMS_GSM7); /* reserved */
	CHECK_INT(afgw_sms_alphabet_dcs(0xC8), AFGW_SMS_GSM7);
	CHECK_INT(afgw_sms_alphabet_dcs(0xD3), AFGW_SMS_GSM7);
	CHECK_INT(afgw_sms_alphabet_dcs(0xEB), AFGW_SMS_UCS2);
	CHECK_INT(afgw_sms_alphabet_dcs(0xF1), AFGW_SMS_GSM7);
	CHECK_INT(afgw_sms_alphabet_dcs(0xF5), AFGW_SMS_BINARY);
	CHECK_INT(afgw_sms_alphabet_dcs(0xF9), AFGW_SMS_GSM7); /* bit 3 reserved */
}

static void test_udh(void)
{
	struct afgw_sms_udh u;

	/* 05 | 00 03 CC 02 01: 8-bit ref 0xCC, part 1 of 2, then text */
	CHECK_INT(afgw_sms_udh_parse(U(0x05, 0x00, 0x03, 0xCC, 0x02, 0x01, 'h', 'i'), 8, &u), 0);
	CHECK(u.present && u.concat && !u.ref16 && !u.bad && !u.repeated);
	CHECK_INT(u.len, 6);
	CHECK_INT(u.ref, 0xCC);
	CHECK_INT(u.total, 2);
	CHECK_INT(u.seq, 1);

	/* 06 | 08 04 12 34 03 02: 16-bit ref 0x1234, part 2 of 3 */
	CHECK_INT(afgw_sms_udh_parse(U(0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x02), 7, &u), 0);
	CHECK(u.concat && u.ref16 && !u.bad);
	CHECK_INT(u.len, 7);
	CHECK_INT(u.ref, 0x1234);
	CHECK_INT(u.total, 3);
	CHECK_INT(u.seq, 2);

	/* 0A | 24 01 0D (single shift) | 70 00 | 00 03 07 04 04: unknown
	 * IEs skipped around the concat IE */
	CHECK_INT(afgw_sms_udh_parse(
	              U(0x0A, 0x24, 0x01, 0x0D, 0x70, 0x00, 0x00, 0x03, 0x07, 0x04, 0x04), 11, &u),
	          0);
	CHECK(u.concat && !u.bad && !u.repeated);
	CHECK_INT(u.ref, 7);
	CHECK_INT(u.seq, 4);

	/* 0B | 08 04 12 34 03 02 | 00 03 AB 03 03: two concat IEs, the last wins */
	CHECK_INT(
	    afgw_sms_udh_parse(
	        U(0x0B, 0x08, 0x04, 0x12, 0x34, 0x03, 0x02, 0x00, 0x03, 0xAB, 0x03, 0x03), 12, &u),
	    0);
	CHECK(u.concat && u.repeated && !u.ref16 && !u.bad);
	CHECK_INT(u.ref, 0xAB);
	CHECK_INT(u.seq, 3);

	/* 00: empty UDH */
	CHECK_INT(afgw_sms_udh_parse(U(0x00, 'x'), 2, &u), 0);
	CHECK(u.present && !u.concat && !u.bad);
	CHECK_INT(u.len, 1);

	/* Malformed: UDHL past the data */
	CHECK_INT(afgw_sms_udh_parse(U(0x05, 0x00, 0x03, 0xCC), 4, &u), -EBADMSG);
	CHECK(u.bad && !u.concat);
	CHECK_INT(u.len, 4);
	CHECK_INT(afgw_sms_udh_parse(NULL, 0, &u), -EBADMSG);
	CHECK(u.bad);
	CHECK_INT(u.len, 0);
	/* IE length runs past the UDH: 04 | 00 05 CC 02 */
	CHECK_INT(afgw_sms_udh_parse(U(0x04, 0x00, 0x05, 0xCC, 0x02, 0x01, 0x00), 7, &u), 0);
	CHECK(u.bad && !u.concat);
	CHECK_INT(u.len, 5);
	/* IE header cut: 01 | 00 */
	CHECK_INT(afgw_sms_udh_parse(U(0x01, 0x00, 'x'), 3, &u), 0);
	CHECK(u.bad && !u.concat);
	/* 8-bit concat with IEDL 4 */
	CHECK_INT(afgw_sms_udh_parse(U(0x06, 0x00, 0x04, 0xCC, 0x02, 0x01, 0x00), 7, &u), 0);
	CHECK(u.bad && !u.concat);
	/* 16-bit concat with IEDL 3 */
	CHECK_INT(afgw_sms_udh_parse(U(0x05, 0x08, 0x03, 0x12, 0x02, 0x01), 6, &u), 0);
	CHECK(u.bad && !u.concat);
	/* total 0, seq 0, seq > total: the IE is ignored */
	CHECK_INT(afgw_sms_udh_parse(U(0x05, 0x00, 0x03, 0xCC, 0x00, 0x01), 6, &u), 0);
	CHECK(u.bad && !u.concat);
	CHECK_INT(afgw_sms_udh_parse(U(0x05, 0x00, 0x03, 0xCC, 0x02, 0x00), 6, &u), 0);
	CHECK(u.bad && !u.concat);
	CHECK_INT(afgw_sms_udh_parse(U(0x05, 0x00, 0x03, 0xCC, 0x02, 0x03), 6, &u), 0);
	CHECK(u.bad && !u.concat);
	/* a good IE then a broken one: the good one stands, bad is set */
	CHECK_INT(afgw_sms_udh_parse(
	              U(0x0A, 0x00, 0x03, 0xCC, 0x02, 0x01, 0x00, 0x03, 0xCD, 0x02, 0x05), 11, &u),
	          0);
	CHECK(u.bad && u.concat && !u.repeated);
	CHECK_INT(u.ref, 0xCC);
}

int main(void)
{
	test_basic_table();
	test_extension();
	test_packed();
	test_packed_udh();
	test_ucs2();
	test_8bit();
	test_truncation();
	test_alphabets();
	test_udh();
	return check_report();
}
