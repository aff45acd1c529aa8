/*
 * test_reload.c - rule sets swapped under a running pipeline (worker.h
 * afgw_pipeline_offer_ruleset) and compiled in a child process (match.h
 * afgw_ruleset_new_isolated).
 *
 * The pipeline is fed SIP MESSAGE frames over many UDP flows (so they
 * spread over the workers) whose texts say "alpha-scam" or "beta-scam";
 * rule set A flags the first, B the second.  Checked: every message has a
 * verdict tagged with a serial, none is unscanned, a swap made between two
 * frames applies to every message after that point with one worker and
 * with three (the outputs are identical), a storm of offers from another
 * thread while frames flow loses nothing, and old rule sets are freed
 * (AddressSanitizer's leak check at exit).
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "pktbuild.h"
#include "afgw/config.h"
#include "afgw/match.h"
#include "afgw/rules.h"
#include "afgw/worker.h"

static const char rules_a[] = "version: 1\n"
			      "rules:\n"
			      "  - id: t.alpha\n"
			      "    kind: text\n"
			      "    pattern: alpha-scam\n"
			      "    weight: 90\n"
			      "    category: test\n"
			      "    desc_zh: 测试\n"
			      "    desc_en: test\n";

static const char rules_b[] = "version: 1\n"
			      "rules:\n"
			      "  - id: t.beta\n"
			      "    kind: text\n"
			      "    pattern: beta-scam\n"
			      "    weight: 90\n"
			      "    category: test\n"
			      "    desc_zh: 测试\n"
			      "    desc_en: test\n";

static struct afgw_ruleset *compile(const char *yaml, uint64_t serial, bool isolated)
{
	struct afgw_rules rules;
	struct afgw_rules_diag d;
	struct afgw_ruleset *rs = NULL;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	int rc = afgw_rules_load_buffer(&rules, "t.yaml", yaml, strlen(yaml), &d);
	if (rc == 0) {
		struct afgw_compile_limits lim = { 0, 60, 120000 };
		rc = isolated ? afgw_ruleset_new_isolated(&rules, serial, &lim, &d, &rs)
			      : afgw_ruleset_new(&rules, serial, &d, &rs);
	}
	for (unsigned i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msg[i].text);
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rules);
	CHECK_INT(rc, 0);
	return rc == 0 ? rs : NULL;
}

/* Frame i: a SIP MESSAGE on flow i % 64 whose text names alpha or beta. */
static void make_frame(struct pb *p, unsigned i)
{
	char msg[1024], body[128];
	int bl = snprintf(body, sizeof(body), "%s-scam test %u", (i / 3) % 2 ? "beta" : "alpha", i);
	int n = snprintf(msg, sizeof(msg),
			 "MESSAGE sip:+8613900000%03u@ims.example SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.0.0.1:%u;branch=z9hG4bK%u\r\n"
			 "From: <sip:+8617000000%03u@ims.example>;tag=%u\r\n"
			 "To: <sip:+8613900000%03u@ims.example>\r\n"
			 "Call-ID: c%u@10.0.0.1\r\n"
			 "CSeq: 1 MESSAGE\r\n"
			 "Content-Type: text/plain\r\n"
			 "Content-Length: %d\r\n\r\n%s",
			 i % 997, 10000 + i % 64, i, i % 991, i, i % 997, i, bl, body);
	p->n = 0;
	pb_eth(p, 0, 0x0800);
	pb_ipv4(p, 0x0a000001, 0x0a000002, 17, 8 + (size_t)n, i & 0xffff, 0, 0);
	pb_udp(p, 10000 + i % 64, 5060, msg, (size_t)n);
}

static void feed(struct afgw_pipeline *pl, unsigned i)
{
	static struct pb p;
	make_frame(&p, i);
	struct afgw_frame f = {
		.ts_us = 1763700000000000ull + i * 1000ull,
		.data = p.b,
		.caplen = (uint32_t)p.n,
		.len = (uint32_t)p.n,
		.linktype = 1,
	};
	afgw_pipeline_frame(pl, &f);
}

struct verdicts {
	unsigned n, unscanned, untagged, out_of_order;
	unsigned wrong;                /* a hit that the serial's rules cannot give */
	uint64_t last_serial;
};

/*
 * Read the Event JSON lines: every one scanned and tagged, serials never
 * going back (the swap point is the same for every worker), and the hit
 * the one the serial's rule set gives (odd serials: A, even: B).
 */
static void read_verdicts(const char *buf, struct verdicts *v)
{
	memset(v, 0, sizeof(*v));
	const char *line = buf;
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		json_error_t e;
		json_t *o = json_loadb(line, len, 0, &e);
		CHECK(o != NULL);
		json_t *verdict = o ? json_object_get(o, "verdict") : NULL;
		v->n++;
		if (!verdict) {
			v->unscanned++;
		} else {
			json_t *rs = json_object_get(verdict, "ruleset");
			uint64_t serial = json_is_integer(rs) ? (uint64_t)json_integer_value(rs) : 0;
			if (!serial)
				v->untagged++;
			if (serial < v->last_serial)
				v->out_of_order++;
			v->last_serial = serial;
			const char *text = json_string_value(json_object_get(o, "text"));
			const char *action = json_string_value(json_object_get(verdict, "action"));
			bool alpha = text && !strncmp(text, "alpha", 5);
			bool flagged = action && strcmp(action, "allow") != 0;
			if (serial && flagged != (alpha == (serial % 2 == 1)))
				v->wrong++;
		}
		json_decref(o);
		line = nl ? nl + 1 : line + len;
	}
}

/* Swaps between frames at fixed points: the same answers with 1 or 3 workers. */
static char *run_fixed(unsigned workers, unsigned frames, unsigned every)
{
	struct afgw_config cfg;
	afgw_config_default(&cfg);
	cfg.workers = workers;
	struct afgw_ruleset *first = compile(rules_a, 1, false);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct afgw_pipeline_opts o = { .cfg = &cfg, .rs = first, .out = out };
	struct afgw_pipeline *pl = NULL;
	CHECK_INT(afgw_pipeline_new(&o, &pl), 0);
	uint64_t serial = 1;
	for (unsigned i = 0; i < frames; i++) {
		if (i && i % every == 0) {
			serial++;
			CHECK_INT(afgw_pipeline_offer_ruleset(
					  pl, compile(serial % 2 ? rules_a : rules_b, serial, false)),
				  0);
		}
		feed(pl, i);
	}
	afgw_pipeline_finish(pl);
	struct afgw_pipeline_stats st;
	afgw_pipeline_stats(pl, &st);
	CHECK_INT(st.reloads, serial - 1);
	CHECK_INT(st.ruleset, serial);
	CHECK_INT(st.events, frames);
	CHECK_INT(st.scanned, frames);
	afgw_pipeline_free(pl);
	afgw_ruleset_free(first);
	fclose(out);
	return buf;
}

struct storm {
	struct afgw_pipeline *pl;
	unsigned offers;
	uint64_t serial;
};

static void *storm_main(void *arg)
{
	struct storm *s = arg;
	for (unsigned k = 0; k < s->offers; k++) {
		uint64_t serial = s->serial + 1 + k;
		struct afgw_ruleset *rs = compile(serial % 2 ? rules_a : rules_b, serial, k % 4 == 0);
		if (rs)
			CHECK_INT(afgw_pipeline_offer_ruleset(s->pl, rs), 0);
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
	return NULL;
}

/* Offers from another thread while frames flow: nothing lost, all tagged. */
static void test_storm(unsigned workers)
{
	struct afgw_config cfg;
	afgw_config_default(&cfg);
	cfg.workers = workers;
	struct afgw_ruleset *first = compile(rules_a, 1, false);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct afgw_pipeline_opts o = { .cfg = &cfg, .rs = first, .out = out };
	struct afgw_pipeline *pl = NULL;
	CHECK_INT(afgw_pipeline_new(&o, &pl), 0);
	struct storm s = { pl, 40, 1 };
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, storm_main, &s), 0);
	unsigned frames = 0;
	struct afgw_pipeline_stats st;
	/* keep frames flowing until the storm is over (bounded: 2 M frames) */
	for (;;) {
		for (unsigned k = 0; k < 500; k++)
			feed(pl, frames++);
		afgw_pipeline_stats(pl, &st);
		if (st.ruleset == s.serial + s.offers || frames >= 2000000)
			break;
	}
	pthread_join(t, NULL);
	afgw_pipeline_finish(pl);
	afgw_pipeline_stats(pl, &st);
	CHECK_INT(st.ruleset, s.serial + s.offers);
	CHECK(st.reloads >= 2 && st.reloads <= s.offers);
	CHECK_INT(st.events, frames);
	CHECK_INT(st.scanned, frames);
	printf("storm, %u workers: %u frames, %llu of %u offers installed, "
	       "longest worker stop %.1f us\n",
	       workers, frames, (unsigned long long)st.reloads, s.offers,
	       (double)st.rebind_ns_max / 1e3);
	afgw_pipeline_free(pl);
	afgw_ruleset_free(first);
	fclose(out);

	struct verdicts v;
	read_verdicts(buf, &v);
	CHECK_INT(v.n, frames);
	CHECK_INT(v.unscanned, 0);
	CHECK_INT(v.untagged, 0);
	CHECK_INT(v.out_of_order, 0);
	CHECK_INT(v.wrong, 0);
	free(buf);
}

static void test_fixed(void)
{
	char *one = run_fixed(1, 3000, 250);
	char *three = run_fixed(3, 3000, 250);
	struct verdicts v;
	read_verdicts(one, &v);
	CHECK_INT(v.n, 3000);
	CHECK_INT(v.unscanned, 0);
	CHECK_INT(v.untagged, 0);
	CHECK_INT(v.out_of_order, 0);
	CHECK_INT(v.wrong, 0);
	CHECK_INT(v.last_serial, 12);
	CHECK(strcmp(one, three) == 0);
	free(one);
	free(three);
}

/* No rule set at first: unscanned (no_ruleset) until one is offered. */
static void test_late_first(void)
{
	struct afgw_config cfg;
	afgw_config_default(&cfg);
	cfg.workers = 2;
	struct afgw_pipeline_opts o = { .cfg = &cfg, .rs = NULL, .out = NULL };
	struct afgw_pipeline *pl = NULL;
	CHECK_INT(afgw_pipeline_new(&o, &pl), 0);
	for (unsigned i = 0; i < 100; i++)
		feed(pl, i);
	CHECK_INT(afgw_pipeline_offer_ruleset(pl, compile(rules_a, 7, true)), 0);
	for (unsigned i = 100; i < 200; i++)
		feed(pl, i);
	afgw_pipeline_finish(pl);
	struct afgw_pipeline_stats st;
	afgw_pipeline_stats(pl, &st);
	CHECK_INT(st.unscanned[AFGW_UNSCANNED_NO_RULESET], 100);
	CHECK_INT(st.scanned, 100);
	CHECK_INT(st.ruleset, 7);
	afgw_pipeline_free(pl);
}

/* The child compiler gives the same rules, and reports what it refuses. */
static void test_isolated(void)
{
	struct afgw_ruleset *a = compile(rules_a, 3, true);
	CHECK(a != NULL);
	if (a) {
		CHECK_INT(afgw_ruleset_serial(a), 3);
		CHECK_INT(afgw_ruleset_count(a), 1);
		struct afgw_match_worker *w;
		CHECK_INT(afgw_match_worker_new(a, 86, &w), 0);
		static struct afgw_match_result res;
		struct afgw_match_msg m = { .text = afgw_str_make("an ALPHA-scam here", 18) };
		CHECK_INT(afgw_match_scan(w, &m, &res), 0);
		CHECK_INT(res.n_hits, 1);
		CHECK_INT(res.score, 90);
		CHECK_INT(afgw_match_evidence(w, &res), 0);
		afgw_match_worker_free(w);
		afgw_ruleset_free(a);
	}

	/* a regex Hyperscan refuses only when compiling the whole database:
	 * the child's message comes back with the rule's file:line */
	static const char bad[] = "version: 1\n"
				  "rules:\n"
				  "  - id: t.bad\n"
				  "    kind: text\n"
				  "    pattern: 'a(?=b)'\n"
				  "    flags: [regex]\n"
				  "    weight: 10\n"
				  "    category: test\n"
			      "    desc_zh: 测试\n"
			      "    desc_en: test\n";
	struct afgw_rules rules;
	struct afgw_rules_diag d;
	struct afgw_ruleset *rs = NULL;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	CHECK_INT(afgw_rules_load_buffer(&rules, "bad.yaml", bad, strlen(bad), &d), 0);
	struct afgw_compile_limits lim = { 0, 60, 120000 };
	CHECK_INT(afgw_ruleset_new_isolated(&rules, 1, &lim, &d, &rs), -EINVAL);
	CHECK(d.errors >= 1 && d.n >= 1 && strstr(d.msg[0].text, "bad.yaml:5:") != NULL);
	CHECK_INT(rules.n, 1); /* still the caller's */
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rules);
}

/*
 * A rule set too costly to compile within the CPU limit: the child is
 * killed, the error says so, and nothing is returned.
 */
static void test_cpu_limit(void)
{
	size_t cap = 1u << 21, len = 0;
	char *yaml = malloc(cap);
	len += (size_t)snprintf(yaml + len, cap - len, "version: 1\nrules:\n");
	for (unsigned i = 0; i < 4000 && len + 400 < cap; i++)
		len += (size_t)snprintf(yaml + len, cap - len,
					"  - id: t.heavy%u\n"
					"    kind: text\n"
					"    pattern: '(x%u|y%u)[a-f0-9]{3,40}z[^q]{0,60}(w%u|v%u)\\d{2,30}k%u'\n"
					"    flags: [regex]\n"
					"    weight: 10\n"
					"    category: test\n"
					"    desc_zh: 测试\n"
					"    desc_en: test\n",
					i, i, i * 7, i, i * 3, i);
	struct afgw_rules rules;
	struct afgw_rules_diag d;
	struct afgw_ruleset *rs = NULL;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	CHECK_INT(afgw_rules_load_buffer(&rules, "heavy.yaml", yaml, len, &d), 0);
	struct afgw_compile_limits lim = { 0, 1, 60000 };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = afgw_ruleset_new_isolated(&rules, 1, &lim, &d, &rs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_INT(rc, -EINVAL);
	CHECK(rs == NULL);
	CHECK(d.n >= 1 && strstr(d.msg[d.n - 1].text, "rule compiler: killed by signal") != NULL);
	if (d.n)
		printf("cpu limit 1 s: %s (after %.1f s)\n", d.msg[d.n - 1].text,
		       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	afgw_ruleset_free(rs);
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rules);
	free(yaml);
}

int main(void)
{
	test_isolated();
	test_cpu_limit();
	test_fixed();
	test_late_first();
	test_storm(1);
	test_storm(2);
	return check_report();
}
