/*
 * fuzz_reprecord.c - arbitrary bytes as a reputation record (the value of
 * a field of afgw:rep:b:XXXX, or the r= of a feed entry: what a gateway
 * reads from Redis).
 *
 * A record that parses must format back to a record that parses to the
 * same entry, and evaluating it at a few times must give scores in 0..100.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afgw/config.h"
#include "afgw/reputation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct afgw_rep_entry e, e2;
	if (afgw_rep_record_parse((const char *)data, size, &e) != 0)
		return 0;
	char buf[AFGW_REP_RECORD_MAX];
	size_t n = afgw_rep_record_format(&e, buf);
	if (afgw_rep_record_parse(buf, n, &e2) != 0 || memcmp(&e, &e2, sizeof(e)) != 0)
		abort();
	struct afgw_config cfg;
	afgw_config_default(&cfg);
	static const int64_t when[] = { 0, 1763700000, INT64_MAX / 4 };
	for (size_t i = 0; i < sizeof(when) / sizeof(when[0]); i++) {
		struct afgw_rep_result r;
		afgw_rep_evaluate(&e, when[i], &cfg.score, &r);
		if (r.score < 0 || r.score > 100 || r.report_score < 0 || r.report_score > 100)
			abort();
	}
	return 0;
}
