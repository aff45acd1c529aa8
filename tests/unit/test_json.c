/* test_json.c - the JSON writer: escaping, invalid UTF-8, structure. */
#include <stdint.h>

#include "afgw/json.h"
#include "check.h"

static void check_out(struct afgw_jbuf *b, const char *want)
{
	CHECK_MEM(b->p, b->len, want);
}

int main(void)
{
	struct afgw_jbuf b;
	afgw_jbuf_init(&b);

	/* {"a":"x\"y\\z\n\t\u0001","n":-5,"t":true,"l":[1,null]} */
	afgw_json_obj_begin(&b);
	afgw_json_key(&b, "a");
	afgw_json_cstr(&b, "x\"y\\z\n\t\x01");
	afgw_json_key(&b, "n");
	afgw_json_int(&b, -5);
	afgw_json_key(&b, "t");
	afgw_json_bool(&b, true);
	afgw_json_key(&b, "l");
	afgw_json_arr_begin(&b);
	afgw_json_uint(&b, 1);
	afgw_json_null(&b);
	afgw_json_arr_end(&b);
	afgw_json_obj_end(&b);
	check_out(&b, "{\"a\":\"x\\\"y\\\\z\\n\\t\\u0001\",\"n\":-5,\"t\":true,\"l\":[1,null]}");

	/* Valid UTF-8 passes through: 您好 + U+1F600 */
	afgw_jbuf_reset(&b);
	afgw_json_cstr(&b, "\xe6\x82\xa8\xe5\xa5\xbd\xf0\x9f\x98\x80");
	check_out(&b, "\"\xe6\x82\xa8\xe5\xa5\xbd\xf0\x9f\x98\x80\"");

	/* Invalid bytes become U+FFFD each: lone continuation, overlong, surrogate, truncated */
	afgw_jbuf_reset(&b);
	afgw_json_str(&b, "a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe6\x82", 12);
	check_out(&b, "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		      "d\xef\xbf\xbd\xef\xbf\xbd\"");

	/* Folded header values collapse to one space; plain newlines stay escaped */
	afgw_jbuf_reset(&b);
	afgw_json_str_unfold(&b, "a\r\n  b\nc", 8);
	check_out(&b, "\"a b\\nc\"");

	/* NULL writes null */
	afgw_jbuf_reset(&b);
	afgw_json_str(&b, NULL, 3);
	check_out(&b, "null");

	/* Numbers written in place: the extremes */
	char num[AFGW_JSON_INT_MAX + 1];
	*afgw_json_put_int(num, INT64_MIN) = '\0';
	CHECK_CSTR(num, "-9223372036854775808");
	*afgw_json_put_int(num, 0) = '\0';
	CHECK_CSTR(num, "0");
	*afgw_json_put_int(num, -7) = '\0';
	CHECK_CSTR(num, "-7");
	*afgw_json_put_uint(num, UINT64_MAX) = '\0';
	CHECK_CSTR(num, "18446744073709551615");

	CHECK(afgw_utf8_valid("\xe6\x82\xa8", 3));
	CHECK(!afgw_utf8_valid("\xe6\x82", 2));
	CHECK(!afgw_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	CHECK(!afgw_utf8_valid("\xed\xb0\x80", 3));     /* surrogate */

	char ts[40];
	afgw_rfc3339_us(1795248000123456ull, ts, sizeof(ts));
	CHECK(strcmp(ts, "2026-11-21T08:00:00.123456Z") == 0);

	afgw_jbuf_fini(&b);
	return check_report();
}
