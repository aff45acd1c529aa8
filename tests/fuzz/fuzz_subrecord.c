/*
 * fuzz_subrecord.c - arbitrary bytes as a subscriber record (the value of
 * a field of afgw:sub:b:XXXX, or the r= of a feed entry: what a gateway
 * reads from Redis).
 *
 * A record that parses must hold a valid entry (account id, prefs, times
 * in order), and must format back to a record that parses to the same
 * entry; the prefs letters must round-trip on their own too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afgw/subscriber.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct afgw_sub_entry e, e2;
	if (afgw_sub_record_parse((const char *)data, size, &e) != 0)
		return 0;
	if (!afgw_sub_account_ok(e.account) || e.prefs > 7 || e.registered < 0 ||
	    e.expires <= e.registered || e.expires > UINT32_MAX)
		abort();
	char buf[AFGW_SUB_RECORD_MAX];
	size_t n = afgw_sub_record_format(&e, buf);
	if (n >= AFGW_SUB_RECORD_MAX || afgw_sub_record_parse(buf, n, &e2) != 0 ||
	    memcmp(&e, &e2, sizeof(e)) != 0)
		abort();
	char prefs[4];
	unsigned p;
	afgw_sub_prefs_format(e.prefs, prefs);
	if (afgw_sub_prefs_parse(prefs, &p) != 0 || p != e.prefs)
		abort();
	return 0;
}
