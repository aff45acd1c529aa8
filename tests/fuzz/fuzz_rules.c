/*
 * fuzz_rules.c - arbitrary bytes as a rule file.
 *
 * The input goes to the loader (afgw_rules_load_buffer); if it loads, the
 * rules are compiled into Hyperscan databases, a fixed message with a URL,
 * a contact and numbers is scanned with every kind, and small sets are
 * linted (which scans every rule's examples).  Loader limits bound what
 * Hyperscan is asked to compile (rules.h); run with -timeout=10 or more,
 * since a legal but unlucky regex can take a second or two to compile.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afgw/match.h"

/* 刷单返利，加V：abc123 点击 http://icbc-vip.top/x 回电17012345678 */
static const char text[] =
	"\xe5\x88\xb7 \xe5\x8d\x95\xe8\xbf\x94\xe5\x88\xa9\xef\xbc\x8c\xe5\x8a\xa0V\xef\xbc\x9a"
	"abc123 \xe7\x82\xb9\xe5\x87\xbb http://icbc-vip.top/x \xe5\x9b\x9e\xe7\x94\xb5"
	"17012345678 Your P@rcel";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct afgw_rules rules;
	struct afgw_rules_diag d;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	struct afgw_ruleset *rs = NULL;
	struct afgw_match_worker *w = NULL;
	static struct afgw_match_result res;

	if (afgw_rules_load_buffer(&rules, "fuzz.yaml", (const char *)data, size, &d) != 0)
		goto out;
	if (afgw_ruleset_new(&rules, 1, &d, &rs) != 0)
		goto out;
	if (afgw_match_worker_new(rs, 86, &w) != 0)
		goto out;
	struct afgw_match_msg m;
	memset(&m, 0, sizeof(m));
	m.text = afgw_str_make(text, sizeof(text) - 1);
	m.caller = AFGW_STR_LIT("+8617012345678");
	m.callee = AFGW_STR_LIT("+8613800138000");
	m.sender = AFGW_STR_LIT("95588");
	if (afgw_match_scan(w, &m, &res) == 0 && afgw_match_evidence(w, &res) == 0) {
		/* every listed hit points into the text it came from */
		for (unsigned i = 0; i < res.n_hits; i++) {
			const struct afgw_match_hit *h = &res.hit[i];
			if (h->start > h->end || h->end > sizeof(text) - 1 + 14)
				abort();
		}
		if (res.score < 0 || res.score > 100)
			abort();
	}
	if (afgw_ruleset_count(rs) <= 16)
		afgw_ruleset_lint(rs, 86, &d);
out:
	afgw_match_worker_free(w);
	afgw_ruleset_free(rs);
	afgw_rules_fini(&rules);
	afgw_rules_diag_fini(&d);
	return 0;
}
