/*
 * test_reputation.c - reputation records, their evaluation, and the
 * replica against a real redis-server (started here on a private unix
 * socket, killed in the middle, restarted).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afgw/config.h"
#include "afgw/redis.h"
#include "afgw/reputation.h"
#include "check.h"
#include "redis_server.h"

#define S(lit) AFGW_STR_LIT(lit)

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static void test_records(void)
{
	struct afgw_rep_entry e;
	const char *good = "v1;black;90;investment;police;1763700000;1779300000;30;2;1763710000";
	CHECK_INT(afgw_rep_record_parse(good, strlen(good), &e), 0);
	CHECK_INT(e.list, AFGW_REP_BLACK);
	CHECK_INT(e.score, 90);
	CHECK_CSTR(e.category, "investment");
	CHECK_INT(e.source, AFGW_REP_SRC_POLICE);
	CHECK_INT(e.since, 1763700000);
	CHECK_INT(e.expires, 1779300000);
	CHECK_INT(e.halflife_days, 30);
	CHECK_INT(e.reports, 2);
	CHECK_INT(e.reported_at, 1763710000);
	char buf[AFGW_REP_RECORD_MAX];
	size_t n = afgw_rep_record_format(&e, buf);
	CHECK_MEM(buf, n, good);
	CHECK_INT(e.bundle, 0);

	/* an entry of police bundle 42 */
	const char *pb = "v1;black;95;impersonate_police;police@42;1763700000;1779300000;0;0;0";
	CHECK_INT(afgw_rep_record_parse(pb, strlen(pb), &e), 0);
	CHECK_INT(e.source, AFGW_REP_SRC_POLICE);
	CHECK_INT(e.bundle, 42);
	n = afgw_rep_record_format(&e, buf);
	CHECK_MEM(buf, n, pb);

	static const char *const bad[] = {
		"v1;black;90;investment;police@;1;2;0;0;0",     /* bundle serial */
		"v1;black;90;investment;police@0;1;2;0;0;0",
		"v1;black;90;investment;police@x1;1;2;0;0;0",
		"v1;black;90;investment;operator@3;1;2;0;0;0",  /* only police has one */
		"",
		"v1",
		"v2;black;90;investment;police;1;2;0;0;0",      /* version */
		"v1;blue;90;investment;police;1;2;0;0;0",       /* list */
		"v1;black;101;investment;police;1;2;0;0;0",     /* score */
		"v1;black;-1;investment;police;1;2;0;0;0",
		"v1;black;90;Investment;police;1;2;0;0;0",      /* category case */
		"v1;black;90;;police;1;2;0;0;0",                /* empty category */
		"v1;black;90;investment;army;1;2;0;0;0",        /* source */
		"v1;black;90;investment;police;1;2;0;0",        /* 9 fields */
		"v1;black;90;investment;police;1;2;0;0;0;0",    /* 11 fields */
		"v1;black;90;investment;police;99999999999999999999;2;0;0;0", /* overflow */
		"v1;black;90;investment;police;1;2;0;0;0x",
		"v1;black;90;investment;police; 1;2;0;0;0",
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(bad); i++) {
		if (afgw_rep_record_parse(bad[i], strlen(bad[i]), &e) != -EINVAL) {
			fprintf(stderr, "accepted bad record '%s'\n", bad[i]);
			CHECK(false);
		}
	}
	CHECK(afgw_rep_category_ok("fake_cs-2"));
	CHECK(!afgw_rep_category_ok("a b"));
	CHECK(afgw_rep_reporter_ok("app:user.123_x-y"));
	CHECK(!afgw_rep_reporter_ok("user 1"));
	CHECK(afgw_rep_is_emergency(S("110")));
	CHECK(afgw_rep_is_emergency(S("96110")));
	CHECK(!afgw_rep_is_emergency(S("1100")));
	CHECK(afgw_rep_bucket(S("+8613800138000")) < AFGW_REP_BUCKETS);
}

static void test_evaluate(void)
{
	struct afgw_config cfg;
	afgw_config_default(&cfg);
	struct afgw_rep_entry e;
	memset(&e, 0, sizeof(e));
	e.list = AFGW_REP_BLACK;
	e.score = 90;
	memcpy(e.category, "police", 7);
	e.since = 1000000;
	e.expires = 1000000 + 365 * 86400;
	e.halflife_days = 30;
	struct afgw_rep_result r;

	afgw_rep_evaluate(&e, e.since, &cfg.score, &r);
	CHECK_INT(r.list, AFGW_REP_BLACK);
	CHECK_INT(r.score, 90);
	afgw_rep_evaluate(&e, e.since + 30 * 86400, &cfg.score, &r);
	CHECK_INT(r.score, 45); /* one half-life */
	afgw_rep_evaluate(&e, e.since + 60 * 86400, &cfg.score, &r);
	CHECK_INT(r.score, 23); /* 22.5 rounds to 23 */
	afgw_rep_evaluate(&e, e.expires, &cfg.score, &r);
	CHECK_INT(r.list, AFGW_REP_NONE); /* expired */
	CHECK_INT(r.score, 0);

	e.halflife_days = 0;
	e.list = AFGW_REP_GRAY;
	afgw_rep_evaluate(&e, e.since + 100 * 86400, &cfg.score, &r);
	CHECK_INT(r.score, cfg.score.graylist); /* capped */

	/* reports: each counts report_each, capped, halving */
	memset(&e, 0, sizeof(e));
	memcpy(e.category, "loan", 5);
	e.reports = 2;
	e.reported_at = 5000000;
	afgw_rep_evaluate(&e, e.reported_at, &cfg.score, &r);
	CHECK_INT(r.list, AFGW_REP_NONE);
	CHECK_INT(r.report_score, 2 * cfg.score.report_each);
	e.reports = 50;
	afgw_rep_evaluate(&e, e.reported_at, &cfg.score, &r);
	CHECK_INT(r.report_score, cfg.score.report_cap);
	afgw_rep_evaluate(&e, e.reported_at + (int64_t)cfg.score.report_halflife_days * 86400,
			  &cfg.score, &r);
	CHECK_INT(r.report_score, cfg.score.report_cap / 2);
	afgw_config_fini(&cfg);
}

/* Poll the replica until lookup(canon) says list (or time runs out). */
static bool wait_for(struct afgw_rep *rep, struct afgw_str canon, enum afgw_rep_list list,
		     unsigned reports)
{
	for (int i = 0; i < 300; i++) {
		struct afgw_rep_result r;
		afgw_rep_poll(rep);
		afgw_rep_lookup(rep, canon, time(NULL), &r);
		if (r.list == list && r.reports == reports)
			return true;
		sleep_ms(10);
	}
	return false;
}

static void test_redis(void)
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
	cfg.allow_numbers = calloc(1, sizeof(char *));
	cfg.allow_numbers[0] = strdup("+8613900000001");
	cfg.n_allow = 1;

	char err[AFGW_REP_ERR];
	struct afgw_redis *c = NULL;
	CHECK_INT(afgw_redis_connect(&cfg.redis, &c, err, sizeof(err)), 0);
	if (!c) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}

	/* put, get */
	struct afgw_rep_entry e, g;
	memset(&e, 0, sizeof(e));
	e.list = AFGW_REP_BLACK;
	e.score = 95;
	memcpy(e.category, "police", 7);
	e.source = AFGW_REP_SRC_POLICE;
	e.since = time(NULL);
	e.expires = e.since + 86400;
	CHECK_INT(afgw_rep_put(c, S("+8617100000001"), &e, err, sizeof(err)), 0);
	CHECK_INT(afgw_rep_get(c, S("+8617100000001"), &g, err, sizeof(err)), 0);
	CHECK_INT(g.list, AFGW_REP_BLACK);
	CHECK_INT(g.score, 95);
	CHECK_CSTR(g.category, "police");
	CHECK_INT(afgw_rep_get(c, S("+8617100000002"), &g, err, sizeof(err)), -ENOENT);
	e.expires = e.since; /* expiry not after start */
	CHECK_INT(afgw_rep_put(c, S("+8617100000002"), &e, err, sizeof(err)), -EINVAL);
	e.expires = e.since + 86400;
	CHECK_INT(afgw_rep_put(c, S("bad number"), &e, err, sizeof(err)), -EINVAL);

	/* the replica loads what is there */
	struct afgw_rep *rep = NULL;
	CHECK_INT(afgw_rep_open(&cfg, &rep, err, sizeof(err)), 0);
	CHECK_INT(afgw_rep_wait_loaded(rep, 5000), 0);
	struct afgw_rep_result r;
	CHECK(afgw_rep_lookup(rep, S("+8617100000001"), time(NULL), &r));
	CHECK_INT(r.list, AFGW_REP_BLACK);
	CHECK_INT(r.score, 95);
	CHECK_CSTR(r.category, "police");
	CHECK(!afgw_rep_lookup(rep, S("+8617100000009"), time(NULL), &r));
	CHECK(afgw_rep_lookup(rep, S("110"), time(NULL), &r));
	CHECK(r.emergency);
	CHECK(afgw_rep_lookup(rep, S("+8613900000001"), time(NULL), &r));
	CHECK(r.allow_config);

	/* changes reach it through the feed */
	e.list = AFGW_REP_GRAY;
	e.score = 40;
	memcpy(e.category, "loan", 5);
	CHECK_INT(afgw_rep_put(c, S("95588"), &e, err, sizeof(err)), 0);
	CHECK(wait_for(rep, S("95588"), AFGW_REP_GRAY, 0));
	CHECK_INT(afgw_rep_del(c, S("+8617100000001"), err, sizeof(err)), 0);
	CHECK(wait_for(rep, S("+8617100000001"), AFGW_REP_NONE, 0));
	CHECK_INT(afgw_rep_del(c, S("+8617100000001"), err, sizeof(err)), -ENOENT);

	/* resident reports: distinct reporters count, the same one once */
	unsigned n = 0;
	int64_t now = time(NULL);
	CHECK_INT(afgw_rep_report(c, S("+8618800000001"), "acct1", "loan", now, 90, &n, err,
				  sizeof(err)), 0);
	CHECK_INT(n, 1);
	CHECK_INT(afgw_rep_report(c, S("+8618800000001"), "acct1", "loan", now, 90, &n, err,
				  sizeof(err)), 0);
	CHECK_INT(n, 1);
	CHECK_INT(afgw_rep_report(c, S("+8618800000001"), "acct2", "loan", now, 90, &n, err,
				  sizeof(err)), 0);
	CHECK_INT(afgw_rep_report(c, S("+8618800000001"), "acct3", "loan", now, 90, &n, err,
				  sizeof(err)), 0);
	CHECK_INT(n, 3);
	CHECK(wait_for(rep, S("+8618800000001"), AFGW_REP_NONE, 3));
	afgw_rep_lookup(rep, S("+8618800000001"), now, &r);
	CHECK_INT(r.report_score, 3 * cfg.score.report_each);
	CHECK_INT(afgw_rep_report(c, S("+8618800000001"), "bad id!", "loan", now, 90, &n, err,
				  sizeof(err)), -EINVAL);
	/* a report keeps a list entry, a put keeps the reports */
	CHECK_INT(afgw_rep_report(c, S("95588"), "acct9", "fake_cs", now, 90, &n, err,
				  sizeof(err)), 0);
	CHECK(wait_for(rep, S("95588"), AFGW_REP_GRAY, 1));
	e.score = 45;
	CHECK_INT(afgw_rep_put(c, S("95588"), &e, err, sizeof(err)), 0);
	CHECK_INT(afgw_rep_get(c, S("95588"), &g, err, sizeof(err)), 0);
	CHECK_INT(g.reports, 1);
	CHECK_INT(g.score, 45);

	/* bulk import: one reload at the end */
	struct afgw_rep_import *im = NULL;
	CHECK_INT(afgw_rep_import_begin(c, &im), 0);
	e.list = AFGW_REP_BLACK;
	e.score = 80;
	for (int i = 0; i < 20000; i++) {
		char num[32];
		snprintf(num, sizeof(num), "+86170%08d", i);
		afgw_rep_import_add(im, afgw_str_make(num, strlen(num)), &e, err, sizeof(err));
	}
	uint64_t count = 0;
	CHECK_INT(afgw_rep_import_end(im, &count, err, sizeof(err)), 0);
	CHECK_INT(count, 20000);
	CHECK(wait_for(rep, S("+8617000019999"), AFGW_REP_BLACK, 0));
	uint64_t cnt[AFGW_REP_C_COUNT];
	afgw_rep_counters(rep, cnt);
	CHECK(cnt[AFGW_REP_C_LOADS] >= 2);
	CHECK(cnt[AFGW_REP_C_ENTRIES] >= 20002);
	CHECK_INT(cnt[AFGW_REP_C_OUTAGES], 0);
	CHECK_INT(cnt[AFGW_REP_C_REDIS_UP], 1);

	/* Redis dies: the replica keeps answering, the outage is counted once */
	afgw_redis_close(c);
	c = NULL;
	test_redis_kill(&srv);
	sleep_ms(400);
	CHECK(afgw_rep_lookup(rep, S("+8617000012345"), time(NULL), &r));
	CHECK_INT(r.list, AFGW_REP_BLACK);
	afgw_rep_counters(rep, cnt);
	CHECK_INT(cnt[AFGW_REP_C_OUTAGES], 1);
	CHECK_INT(cnt[AFGW_REP_C_REDIS_UP], 0);

	/* ... and comes back (empty: a new server); new writes reach the replica */
	CHECK_INT(test_redis_start(&srv), 0);
	CHECK_INT(afgw_redis_connect(&cfg.redis, &c, err, sizeof(err)), 0);
	if (c) {
		e.list = AFGW_REP_BLACK;
		e.since = time(NULL);
		e.expires = e.since + 3600;
		CHECK_INT(afgw_rep_put(c, S("+8617700000077"), &e, err, sizeof(err)), 0);
		CHECK(wait_for(rep, S("+8617700000077"), AFGW_REP_BLACK, 0));
	}
	afgw_rep_counters(rep, cnt);
	CHECK_INT(cnt[AFGW_REP_C_OUTAGES], 1);
	CHECK_INT(cnt[AFGW_REP_C_REDIS_UP], 1);
	afgw_rep_close(rep);

	/* a replica started while Redis is down still answers the allow lists */
	test_redis_kill(&srv);
	CHECK_INT(afgw_rep_open(&cfg, &rep, err, sizeof(err)), 0);
	CHECK_INT(afgw_rep_wait_loaded(rep, 3000), -ENOTCONN);
	CHECK(afgw_rep_lookup(rep, S("12381"), time(NULL), &r));
	CHECK(r.emergency);
	afgw_rep_close(rep);

	/* a bad URL is refused at open */
	free(cfg.redis.url);
	cfg.redis.url = strdup("http://example.org");
	CHECK_INT(afgw_rep_open(&cfg, &rep, err, sizeof(err)), -EINVAL);
out:
	afgw_redis_close(c);
	afgw_config_fini(&cfg);
	test_redis_stop(&srv);
}

/* redis.user: AUTH as an ACL user; a wrong password or user is a clear error. */
static void test_acl_user(void)
{
	struct test_redis r = { 0 };
	CHECK_INT(test_redis_start(&r), 0);
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "redis-cli -s %s ACL SETUSER afgw-gw on '>s3cret' '~afgw:*' '+@all' >/dev/null",
		 r.sock);
	CHECK_INT(system(cmd), 0);
	struct afgw_config cfg;
	afgw_config_default(&cfg);
	struct afgw_config_redis rc = cfg.redis;
	rc.url = r.url;
	rc.user = "afgw-gw";
	rc.password = "s3cret";
	struct afgw_redis *c = NULL;
	char err[256] = "";
	CHECK_INT(afgw_redis_connect(&rc, &c, err, sizeof(err)), 0);
	afgw_redis_close(c);
	c = NULL;
	rc.password = "wrong";
	CHECK(afgw_redis_connect(&rc, &c, err, sizeof(err)) != 0);
	CHECK(strstr(err, "AUTH failed") != NULL);
	rc.user = NULL; /* the default user has no password here: AUTH with one fails */
	rc.password = "s3cret";
	CHECK(afgw_redis_connect(&rc, &c, err, sizeof(err)) != 0);
	test_redis_stop(&r);
}

int main(void)
{
	test_records();
	test_evaluate();
	if (!test_redis_installed()) {
		printf("redis-server not installed: Redis part skipped\n");
		check_report();
		return 77;
	}
	test_redis();
	test_acl_user();
	return check_report();
}
