/*
 * test_fleet.c - the fleet behaviour counters against a real redis-server
 * (started here on a private unix socket): rounds with keys of more
 * members than one PFADD takes and more commands than one write buffer
 * holds, counts that add up over rounds, the keys' names and TTLs as
 * Redis sees them, an outage (counted once, notes dropped) and the way
 * back.  Replay mode (opts.wait), so that every answer is in at a flush.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afgw/config.h"
#include "afgw/fleet.h"
#include "afgw/log.h"
#include "check.h"
#include "redis_server.h"

#define US 1000000ull
#define T0 1800000000ull /* a multiple of every window below */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* One redis-cli command's reply as an integer (-1000 if none). */
static long long cli(const struct test_redis *srv, const char *cmd, const char *key)
{
	char line[512], out[64] = "";
	snprintf(line, sizeof(line), "redis-cli -s %s %s %s", srv->sock, cmd, key);
	FILE *p = popen(line, "r");
	if (!p)
		return -1000;
	if (!fgets(out, sizeof(out), p))
		out[0] = '\0';
	pclose(p);
	char *end;
	long long v = strtoll(out, &end, 10);
	return end == out ? -1000 : v;
}

static void key_of(char *buf, size_t len, const char *kind, uint64_t key, uint64_t window_s)
{
	snprintf(buf, len, "afgw:bh:%s:%016" PRIx64 ":%" PRIu64, kind, key, (uint64_t)(T0 / window_s));
}

static uint64_t counter(const struct afgw_fleet *f, enum afgw_fleet_counter c)
{
	uint64_t v[AFGW_FLEET_C_COUNT];
	afgw_fleet_counters(f, v);
	return v[c];
}

static void test_rounds(void)
{
	struct test_redis srv;
	memset(&srv, 0, sizeof(srv));
	if (test_redis_start(&srv) != 0) {
		fprintf(stderr, "cannot start redis-server\n");
		CHECK(false);
		return;
	}
	struct afgw_config cfg;
	afgw_config_default(&cfg);
	cfg.redis.url = strdup(srv.url);
	cfg.redis.retry_ms = 50;
	const struct afgw_config_behaviour *b = &cfg.behaviour;
	struct afgw_fleet_opts o = { .cfg = &cfg, .wait = true };
	struct afgw_fleet *f = NULL;
	CHECK_INT(afgw_fleet_open(&o, &f), 0);
	if (!f)
		goto out;

	const uint64_t text = 0x0123456789abcdefull, pair = 0xfedcba9876543210ull;
	const uint64_t mass = 77, quiet = 1000;
	const unsigned n_quiet = 6000;
	uint64_t ts = T0 * US;
	unsigned cnt;

	/*
	 * Round 1: a text to 1000 recipients, each noted twice (4 PFADDs of at
	 * most 256, duplicates across their borders); 6000 callers with one
	 * callee each (far more protocol than one 64 KiB buffer); a caller
	 * with 10 callees; a pair with a call and an SMS.
	 */
	afgw_fleet_tick(f, ts);
	for (unsigned i = 0; i < 2000; i++)
		afgw_fleet_note(f, AFGW_FLEET_SMS_FANOUT, text, 0x9e3779b97f4a7c15ull * (i % 1000 + 1),
				ts);
	for (unsigned i = 0; i < n_quiet; i++)
		afgw_fleet_note(f, AFGW_FLEET_MASS_CALLING, quiet + i, 5, ts);
	for (unsigned i = 0; i < 10; i++)
		afgw_fleet_note(f, AFGW_FLEET_MASS_CALLING, mass, 100 + i, ts);
	afgw_fleet_note(f, AFGW_FLEET_CALL_AND_SMS, pair, AFGW_FLEET_MEMBER_CALL, ts);
	afgw_fleet_note(f, AFGW_FLEET_CALL_AND_SMS, pair, AFGW_FLEET_MEMBER_SMS, ts);
	afgw_fleet_flush(f);

	CHECK(afgw_fleet_flagged(f, AFGW_FLEET_SMS_FANOUT, text, ts, &cnt));
	CHECK(cnt >= 970 && cnt <= 1030); /* HyperLogLog: 0.81 % standard error */
	CHECK(!afgw_fleet_flagged(f, AFGW_FLEET_MASS_CALLING, quiet, ts, &cnt));
	CHECK_INT(afgw_fleet_count(f, AFGW_FLEET_MASS_CALLING, quiet), 1);
	CHECK(!afgw_fleet_flagged(f, AFGW_FLEET_MASS_CALLING, quiet + n_quiet - 1, ts, &cnt));
	CHECK_INT(afgw_fleet_count(f, AFGW_FLEET_MASS_CALLING, quiet + n_quiet - 1), 1);
	CHECK(!afgw_fleet_flagged(f, AFGW_FLEET_MASS_CALLING, mass, ts, &cnt));
	CHECK_INT(cnt, 0); /* never flagged: not looked up */
	CHECK_INT(afgw_fleet_count(f, AFGW_FLEET_MASS_CALLING, mass), 10);
	CHECK_INT(afgw_fleet_count(f, AFGW_FLEET_SMS_FANOUT, mass), 0); /* another kind */
	CHECK(afgw_fleet_flagged(f, AFGW_FLEET_CALL_AND_SMS, pair, ts, &cnt));
	CHECK_INT(cnt, 2);
	CHECK_INT(counter(f, AFGW_FLEET_C_ROUNDS), 1);
	CHECK_INT(counter(f, AFGW_FLEET_C_KEYS), 1 + n_quiet + 1 + 1);
	CHECK_INT(counter(f, AFGW_FLEET_C_NOTES), 2000 + n_quiet + 10 + 2);
	CHECK_INT(counter(f, AFGW_FLEET_C_FLAGGED), 2);
	CHECK_INT(counter(f, AFGW_FLEET_C_ERRORS), 0);
	CHECK_INT(counter(f, AFGW_FLEET_C_DROPPED), 0);

	/* what Redis holds: the names, the counts, the TTLs */
	char k[96];
	key_of(k, sizeof(k), "fo", text, b->fanout_window_s);
	CHECK_INT(cli(&srv, "PFCOUNT", k), afgw_fleet_flagged(f, AFGW_FLEET_SMS_FANOUT, text, ts,
							       &cnt) ? cnt : 0);
	long long ttl = cli(&srv, "TTL", k);
	CHECK(ttl > 0 && ttl <= (long long)b->fanout_window_s + 60);
	key_of(k, sizeof(k), "mc", quiet + 4321, b->mass_call_window_s);
	CHECK_INT(cli(&srv, "PFCOUNT", k), 1);
	ttl = cli(&srv, "TTL", k);
	CHECK(ttl > 0 && ttl <= (long long)b->mass_call_window_s + 60);
	key_of(k, sizeof(k), "cs", pair, b->call_sms_window_s);
	CHECK_INT(cli(&srv, "PFCOUNT", k), 2);

	/* Round 2: 5 more callees (and 2 already counted) reach the threshold, 15 */
	ts += 2 * US;
	afgw_fleet_tick(f, ts);
	for (unsigned i = 0; i < 7; i++)
		afgw_fleet_note(f, AFGW_FLEET_MASS_CALLING, mass, 108 + i, ts);
	afgw_fleet_flush(f);
	CHECK(afgw_fleet_flagged(f, AFGW_FLEET_MASS_CALLING, mass, ts, &cnt));
	CHECK_INT(cnt, b->mass_call_callees);
	CHECK_INT(counter(f, AFGW_FLEET_C_ROUNDS), 2);
	CHECK_INT(counter(f, AFGW_FLEET_C_FLAGGED), 3);

	/* Round 3, Redis gone: the notes are dropped, the outage counted, flags kept */
	test_redis_kill(&srv);
	ts += 2 * US;
	afgw_fleet_tick(f, ts);
	for (unsigned i = 0; i < 3; i++)
		afgw_fleet_note(f, AFGW_FLEET_MASS_CALLING, mass, 200 + i, ts);
	afgw_fleet_flush(f);
	CHECK_INT(counter(f, AFGW_FLEET_C_ERRORS), 1);
	CHECK_INT(counter(f, AFGW_FLEET_C_OUTAGES), 1);
	CHECK_INT(counter(f, AFGW_FLEET_C_DROPPED), 3);
	CHECK_INT(counter(f, AFGW_FLEET_C_ROUNDS), 2);
	CHECK(afgw_fleet_flagged(f, AFGW_FLEET_MASS_CALLING, mass, ts, &cnt));

	/* Round 4, Redis back (empty): the next round reconnects and counts afresh */
	CHECK_INT(test_redis_start(&srv), 0);
	sleep_ms(3 * cfg.redis.retry_ms);
	ts += 2 * US;
	afgw_fleet_tick(f, ts);
	afgw_fleet_note(f, AFGW_FLEET_SMS_FANOUT, text, 42, ts);
	afgw_fleet_flush(f);
	CHECK_INT(counter(f, AFGW_FLEET_C_ROUNDS), 3);
	CHECK_INT(counter(f, AFGW_FLEET_C_OUTAGES), 1);
	CHECK(afgw_fleet_flagged(f, AFGW_FLEET_SMS_FANOUT, text, ts, &cnt)); /* still held */
	CHECK_INT(cnt, 1);
	key_of(k, sizeof(k), "fo", text, b->fanout_window_s);
	ttl = cli(&srv, "TTL", k);
	CHECK(ttl > 0 && ttl <= (long long)b->fanout_window_s + 60);
out:
	afgw_fleet_close(f);
	afgw_config_fini(&cfg);
	test_redis_stop(&srv);
}

/*
 * A table of 16 slots (two buckets of 8) and 40 callers flagged in one
 * round: every slot ends up holding one of them and the rest are lost
 * (their flags only); in a later round a new flagged caller replaces the
 * slot whose flag ends first, and the replaced caller is no longer found.
 */
static void test_small_table(void)
{
	struct test_redis srv;
	memset(&srv, 0, sizeof(srv));
	if (test_redis_start(&srv) != 0) {
		CHECK(false);
		return;
	}
	struct afgw_config cfg;
	afgw_config_default(&cfg);
	cfg.redis.url = strdup(srv.url);
	struct afgw_fleet_opts o = { .cfg = &cfg, .wait = true, .keys = 16 };
	struct afgw_fleet *f = NULL;
	CHECK_INT(afgw_fleet_open(&o, &f), 0);
	if (!f)
		goto out;
	const unsigned callees = cfg.behaviour.mass_call_callees;
	uint64_t ts = T0 * US;
	unsigned cnt, found = 0;
	afgw_fleet_tick(f, ts);
	for (uint64_t c = 1; c <= 40; c++)
		for (unsigned i = 0; i < callees; i++)
			afgw_fleet_note(f, AFGW_FLEET_MASS_CALLING, c * 0x9e3779b97f4a7c15ull, i + 1, ts);
	afgw_fleet_flush(f);
	CHECK_INT(counter(f, AFGW_FLEET_C_FLAGGED), 40);
	for (uint64_t c = 1; c <= 40; c++)
		found += afgw_fleet_flagged(f, AFGW_FLEET_MASS_CALLING, c * 0x9e3779b97f4a7c15ull, ts,
					    &cnt);
	CHECK_INT(found, 16);

	/* a later round's flag ends later: it takes the place of an earlier one */
	ts += 2 * cfg.behaviour.fleet_sync_ms * 1000ull;
	afgw_fleet_tick(f, ts);
	const uint64_t late = 41 * 0x9e3779b97f4a7c15ull;
	for (unsigned i = 0; i < callees; i++)
		afgw_fleet_note(f, AFGW_FLEET_MASS_CALLING, late, i + 1, ts);
	afgw_fleet_flush(f);
	CHECK(afgw_fleet_flagged(f, AFGW_FLEET_MASS_CALLING, late, ts, &cnt));
	CHECK_INT(cnt, callees);
	found = 0;
	for (uint64_t c = 1; c <= 40; c++)
		found += afgw_fleet_flagged(f, AFGW_FLEET_MASS_CALLING, c * 0x9e3779b97f4a7c15ull, ts,
					    &cnt);
	CHECK_INT(found, 15);
out:
	afgw_fleet_close(f);
	afgw_config_fini(&cfg);
	test_redis_stop(&srv);
}

int main(void)
{
	afgw_log_set_level(AFGW_LOG_ERROR);
	if (!test_redis_installed()) {
		printf("redis-server not installed: skipped\n");
		return 77;
	}
	test_rounds();
	test_small_table();
	return check_report();
}
