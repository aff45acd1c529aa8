/*
 * test_subscriber.c - subscriber records, the registry's writes, and the
 * replica against a real redis-server (started here on a private unix
 * socket): loading, following the feed, op=reload, a trimmed feed, Redis
 * killed and restarted, the memcap.
 *
 * Direct Redis commands (records and feed entries written by hand, the
 * way another system would) go through the hiredis context behind struct
 * afgw_redis.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afgw/config.h"
#include "afgw/keys.h"
#include "afgw/reputation.h"
#include "afgw/subscriber.h"
#include "gateway/redis_conn.h"
#include "check.h"
#include "redis_server.h"

#define S(lit) AFGW_STR_LIT(lit)

/* base64 of the bytes 0x00 .. 0x1f */
#define PK0 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static bool rejects(const char *rec)
{
	struct afgw_sub_entry e;
	if (afgw_sub_record_parse(rec, strlen(rec), &e) == -EINVAL)
		return true;
	fprintf(stderr, "accepted bad record '%s'\n", rec);
	return false;
}

static void test_records(void)
{
	struct afgw_sub_entry e;
	const char *good = "v1;app.user-1_x@example;" PK0 ";cs;1763700000;1795236000";
	CHECK_INT(afgw_sub_record_parse(good, strlen(good), &e), 0);
	CHECK_CSTR(e.account, "app.user-1_x@example");
	for (int i = 0; i < AFGW_BOX_PUBLIC_BYTES; i++)
		CHECK_INT(e.pk[i], i);
	CHECK_INT(e.prefs, AFGW_SUB_CALLS | AFGW_SUB_SMS);
	CHECK_INT(e.registered, 1763700000);
	CHECK_INT(e.expires, 1795236000);
	char buf[AFGW_SUB_RECORD_MAX];
	size_t n = afgw_sub_record_format(&e, buf);
	CHECK_MEM(buf, n, good);

	/* prefs in any order; formatted in c, s, l order; "-" for none */
	const char *lsc = "v1;a;" PK0 ";lsc;1;2";
	CHECK_INT(afgw_sub_record_parse(lsc, strlen(lsc), &e), 0);
	CHECK_INT(e.prefs, AFGW_SUB_CALLS | AFGW_SUB_SMS | AFGW_SUB_LOOKBACK);
	n = afgw_sub_record_format(&e, buf);
	CHECK_MEM(buf, n, "v1;a;" PK0 ";csl;1;2");
	const char *none = "v1;a;" PK0 ";-;0;4294967295";
	CHECK_INT(afgw_sub_record_parse(none, strlen(none), &e), 0);
	CHECK_INT(e.prefs, 0);
	CHECK_INT(e.expires, 4294967295ll);
	n = afgw_sub_record_format(&e, buf);
	CHECK_MEM(buf, n, none);
	/* the longest record: a 64-character account id */
	char longest[AFGW_SUB_RECORD_MAX];
	snprintf(longest, sizeof(longest), "v1;%s;%s;csl;4294967294;4294967295",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", PK0);
	CHECK_INT(afgw_sub_record_parse(longest, strlen(longest), &e), 0);
	CHECK_INT(strlen(e.account), 64);
	n = afgw_sub_record_format(&e, buf);
	CHECK_MEM(buf, n, longest);

	/* every field wrong in turn */
	CHECK(rejects(""));
	CHECK(rejects("v1"));
	CHECK(rejects("v1;a;" PK0 ";cs;1"));                  /* 5 fields */
	CHECK(rejects("v1;a;" PK0 ";cs;1;2;3"));              /* 7 fields */
	CHECK(rejects("v1;a;" PK0 ";cs;1;2;"));               /* trailing ';' */
	CHECK(rejects("v2;a;" PK0 ";cs;1;2"));                /* version */
	CHECK(rejects("V1;a;" PK0 ";cs;1;2"));
	CHECK(rejects(" v1;a;" PK0 ";cs;1;2"));
	CHECK(rejects("v1;;" PK0 ";cs;1;2"));                 /* account: empty */
	CHECK(rejects("v1;a b;" PK0 ";cs;1;2"));              /* space */
	CHECK(rejects("v1;a:b;" PK0 ";cs;1;2"));              /* ':' */
	CHECK(rejects("v1;\xe5\xbc\xa0;" PK0 ";cs;1;2"));     /* non-ASCII */
	CHECK(rejects("v1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;" PK0
		      ";cs;1;2"));                            /* 65 characters */
	CHECK(rejects("v1;a;AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8;cs;1;2"));   /* 43 */
	CHECK(rejects("v1;a;AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==;cs;1;2")); /* 45 */
	CHECK(rejects("v1;a;AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==;cs;1;2")); /* 31 bytes */
	CHECK(rejects("v1;a;AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=;cs;1;2")); /* stray bits */
	CHECK(rejects("v1;a;AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-=;cs;1;2")); /* url alphabet */
	CHECK(rejects("v1;a;AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd Hh8;cs;1;2")); /* space */
	CHECK(rejects("v1;a;" PK0 ";;1;2"));                  /* prefs: empty */
	CHECK(rejects("v1;a;" PK0 ";x;1;2"));
	CHECK(rejects("v1;a;" PK0 ";C;1;2"));
	CHECK(rejects("v1;a;" PK0 ";cc;1;2"));                /* repeat */
	CHECK(rejects("v1;a;" PK0 ";csls;1;2"));
	CHECK(rejects("v1;a;" PK0 ";--;1;2"));
	CHECK(rejects("v1;a;" PK0 ";-c;1;2"));
	CHECK(rejects("v1;a;" PK0 ";cs;;2"));                 /* registered */
	CHECK(rejects("v1;a;" PK0 ";cs;-1;2"));
	CHECK(rejects("v1;a;" PK0 ";cs;+1;2"));
	CHECK(rejects("v1;a;" PK0 ";cs;1.5;2"));
	CHECK(rejects("v1;a;" PK0 ";cs;0x1;2"));
	CHECK(rejects("v1;a;" PK0 ";cs;1;"));                 /* expires */
	CHECK(rejects("v1;a;" PK0 ";cs;1;4294967296"));       /* past 32 bits */
	CHECK(rejects("v1;a;" PK0 ";cs;1;10000000000"));
	CHECK(rejects("v1;a;" PK0 ";cs;1;2 "));
	CHECK(rejects("v1;a;" PK0 ";cs;5;5"));                /* not after registered */
	CHECK(rejects("v1;a;" PK0 ";cs;6;5"));
	char huge[400];
	memset(huge, 'a', sizeof(huge));
	CHECK_INT(afgw_sub_record_parse(huge, sizeof(huge), &e), -EINVAL);
	/* a NUL inside is not the end of the record */
	const char nul[] = "v1;a;" PK0 ";cs;1;2\0";
	CHECK_INT(afgw_sub_record_parse(nul, sizeof(nul) - 1, &e), -EINVAL);

	CHECK(afgw_sub_account_ok("user@app.example_1-2"));
	CHECK(!afgw_sub_account_ok(""));
	CHECK(!afgw_sub_account_ok("a;b"));
	unsigned p = 99;
	CHECK_INT(afgw_sub_prefs_parse("sl", &p), 0);
	CHECK_INT(p, AFGW_SUB_SMS | AFGW_SUB_LOOKBACK);
	CHECK_INT(afgw_sub_prefs_parse("-", &p), 0);
	CHECK_INT(p, 0);
	CHECK_INT(afgw_sub_prefs_parse("cx", &p), -EINVAL);
	CHECK_INT(afgw_sub_prefs_parse("", &p), -EINVAL);
	char pf[4];
	afgw_sub_prefs_format(AFGW_SUB_LOOKBACK | AFGW_SUB_CALLS, pf);
	CHECK_CSTR(pf, "cl");
	afgw_sub_prefs_format(0, pf);
	CHECK_CSTR(pf, "-");
	CHECK_CSTR(afgw_sub_counter_name(AFGW_SUB_C_REDIS_OUTAGES), "subscriber_redis_outages");
	CHECK_CSTR(afgw_sub_counter_name(AFGW_SUB_C_COUNT), "?");
}

/* ---- with Redis ------------------------------------------------------- */

static redisReply *cmd(struct afgw_redis *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c->ctx, fmt, ap);
	va_end(ap);
	return r;
}

/* Run a command, expect an integer; -999 otherwise. */
static long long cmd_int(struct afgw_redis *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c->ctx, fmt, ap);
	va_end(ap);
	long long v = afgw_redis_reply_is(r, REDIS_REPLY_INTEGER) ? r->integer : -999;
	freeReplyObject(r);
	return v;
}

static void entry(struct afgw_sub_entry *e, const char *account, uint8_t pk_seed, unsigned prefs,
		  int64_t registered, int64_t expires)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->account, sizeof(e->account), "%s", account);
	for (int i = 0; i < AFGW_BOX_PUBLIC_BYTES; i++)
		e->pk[i] = (uint8_t)(pk_seed + i);
	e->prefs = prefs;
	e->registered = registered;
	e->expires = expires;
}

static bool same(const struct afgw_sub_entry *a, const struct afgw_sub_entry *b)
{
	return !strcmp(a->account, b->account) && !memcmp(a->pk, b->pk, sizeof(a->pk)) &&
	       a->prefs == b->prefs && a->registered == b->registered && a->expires == b->expires;
}

/* Poll the replica until msisdn's registration is want (NULL: none), for
 * up to 5 s. */
static bool wait_for(struct afgw_sub *s, const char *msisdn, const struct afgw_sub_entry *want)
{
	for (int i = 0; i < 500; i++) {
		struct afgw_sub_entry got;
		afgw_sub_poll(s);
		bool found = afgw_sub_lookup(s, afgw_str_make(msisdn, strlen(msisdn)), time(NULL), &got);
		if (want ? found && same(&got, want) : !found)
			return true;
		sleep_ms(10);
	}
	fprintf(stderr, "%s did not reach the replica\n", msisdn);
	return false;
}

static uint64_t counter(struct afgw_sub *s, enum afgw_sub_counter c)
{
	uint64_t v[AFGW_SUB_C_COUNT];
	afgw_sub_counters(s, v);
	return v[c];
}

static void test_writes(struct afgw_redis *c, int64_t now)
{
	char err[AFGW_SUB_ERR];
	struct afgw_sub_entry e, g;
	entry(&e, "acct1", 1, AFGW_SUB_CALLS | AFGW_SUB_SMS, now, now + 86400);
	CHECK_INT(afgw_sub_put(c, S("+8613800138000"), &e, err, sizeof(err)), 0);
	CHECK_INT(afgw_sub_get(c, S("+8613800138000"), &g, err, sizeof(err)), 0);
	CHECK(same(&e, &g));

	/* the schema: the bucket of reputation's function, the feed entry */
	char rec[AFGW_SUB_RECORD_MAX];
	size_t n = afgw_sub_record_format(&e, rec);
	rec[n] = '\0';
	unsigned b = afgw_rep_bucket(S("+8613800138000"));
	redisReply *r = cmd(c, "HGET afgw:sub:b:%04x +8613800138000", b);
	CHECK(afgw_redis_reply_is(r, REDIS_REPLY_STRING) && !strcmp(r->str, rec));
	freeReplyObject(r);
	CHECK_INT(cmd_int(c, "EXPIRETIME afgw:sub:b:%04x", b), now + 86400);
	r = cmd(c, "XREVRANGE afgw:sub:feed + - COUNT 1");
	CHECK(afgw_redis_reply_is(r, REDIS_REPLY_ARRAY) && r->elements == 1 &&
	      r->element[0]->element[1]->elements == 4 &&
	      !strcmp(r->element[0]->element[1]->element[1]->str, "+8613800138000") &&
	      !strcmp(r->element[0]->element[1]->element[3]->str, rec));
	freeReplyObject(r);
	long long ttl = cmd_int(c, "TTL afgw:sub:feed");
	CHECK(ttl > 2592000 - 10 && ttl <= 2592000);

	/* the bucket's TTL grows with a later expiry, never shrinks */
	entry(&e, "acct1", 1, AFGW_SUB_CALLS, now, now + 2 * 86400);
	CHECK_INT(afgw_sub_put(c, S("+8613800138000"), &e, err, sizeof(err)), 0);
	CHECK_INT(cmd_int(c, "EXPIRETIME afgw:sub:b:%04x", b), now + 2 * 86400);
	entry(&e, "acct1", 1, AFGW_SUB_CALLS, now, now + 3600);
	CHECK_INT(afgw_sub_put(c, S("+8613800138000"), &e, err, sizeof(err)), 0);
	CHECK_INT(cmd_int(c, "EXPIRETIME afgw:sub:b:%04x", b), now + 2 * 86400);
	CHECK_INT(afgw_sub_get(c, S("+8613800138000"), &g, err, sizeof(err)), 0);
	CHECK_INT(g.expires, now + 3600); /* the record itself is replaced */

	/* del: the record goes, the feed says so with an empty r */
	CHECK_INT(afgw_sub_del(c, S("+8613800138000"), err, sizeof(err)), 0);
	CHECK_INT(afgw_sub_get(c, S("+8613800138000"), &g, err, sizeof(err)), -ENOENT);
	CHECK_INT(afgw_sub_del(c, S("+8613800138000"), err, sizeof(err)), -ENOENT);
	r = cmd(c, "XREVRANGE afgw:sub:feed + - COUNT 1");
	CHECK(afgw_redis_reply_is(r, REDIS_REPLY_ARRAY) && r->elements == 1 &&
	      !strcmp(r->element[0]->element[1]->element[1]->str, "+8613800138000") &&
	      r->element[0]->element[1]->element[3]->len == 0);
	freeReplyObject(r);
	CHECK_INT(cmd_int(c, "XLEN afgw:sub:feed"), 4); /* the failed del wrote nothing */

	/* refused before anything is written */
	entry(&e, "bad account", 1, 0, now, now + 60);
	CHECK_INT(afgw_sub_put(c, S("+8613800138001"), &e, err, sizeof(err)), -EINVAL);
	entry(&e, "a", 1, 0, now, now);
	CHECK_INT(afgw_sub_put(c, S("+8613800138001"), &e, err, sizeof(err)), -EINVAL);
	entry(&e, "a", 1, 8, now, now + 60);
	CHECK_INT(afgw_sub_put(c, S("+8613800138001"), &e, err, sizeof(err)), -EINVAL);
	entry(&e, "a", 1, 0, now, 4294967296ll);
	CHECK_INT(afgw_sub_put(c, S("+8613800138001"), &e, err, sizeof(err)), -EINVAL);
	entry(&e, "a", 1, 0, now, now + 60);
	CHECK_INT(afgw_sub_put(c, S("+86 138"), &e, err, sizeof(err)), -EINVAL);
	CHECK_INT(afgw_sub_put(c, S(""), &e, err, sizeof(err)), -EINVAL);
	CHECK_INT(afgw_sub_get(c, S("+8613800138001"), &g, err, sizeof(err)), -ENOENT);
	CHECK_INT(cmd_int(c, "XLEN afgw:sub:feed"), 4);
}

static void test_replica(struct test_redis *srv, struct afgw_config *cfg, struct afgw_redis *c,
			 int64_t now)
{
	char err[AFGW_SUB_ERR];
	struct afgw_sub_entry e[4], g;
	entry(&e[0], "alice", 10, AFGW_SUB_CALLS | AFGW_SUB_SMS | AFGW_SUB_LOOKBACK, now - 100,
	      now + 86400);
	entry(&e[1], "bob.b@app", 20, AFGW_SUB_SMS, now - 50, now + 7 * 86400);
	entry(&e[2], "carol", 30, 0, now, now + 3600);
	CHECK_INT(afgw_sub_put(c, S("+8613900000001"), &e[0], err, sizeof(err)), 0);
	CHECK_INT(afgw_sub_put(c, S("+8613900000002"), &e[1], err, sizeof(err)), 0);
	CHECK_INT(afgw_sub_put(c, S("+447700900123"), &e[2], err, sizeof(err)), 0);
	/* a lapsed registration and a record nobody can read, written by hand */
	entry(&e[3], "dave", 40, AFGW_SUB_CALLS, now - 7200, now - 3600);
	char rec[AFGW_SUB_RECORD_MAX];
	size_t n = afgw_sub_record_format(&e[3], rec);
	freeReplyObject(cmd(c, "HSET afgw:sub:b:%04x +8613900000004 %b",
			    afgw_rep_bucket(S("+8613900000004")), rec, n));
	freeReplyObject(cmd(c, "HSET afgw:sub:b:%04x +8613900000005 v1;junk",
			    afgw_rep_bucket(S("+8613900000005"))));

	struct afgw_sub *s = NULL;
	CHECK_INT(afgw_sub_open(cfg, &s, err, sizeof(err)), 0);
	if (!s)
		return;
	CHECK_INT(afgw_sub_wait_loaded(s, 5000), 0);
	CHECK_INT(counter(s, AFGW_SUB_C_LOADS), 1);
	CHECK_INT(counter(s, AFGW_SUB_C_ENTRIES), 3);
	CHECK_INT(counter(s, AFGW_SUB_C_BAD_RECORDS), 1);
	CHECK_INT(counter(s, AFGW_SUB_C_REDIS_UP), 1);
	CHECK(afgw_sub_lookup(s, S("+8613900000001"), now, &g) && same(&g, &e[0]));
	CHECK(afgw_sub_lookup(s, S("+8613900000002"), now, &g) && same(&g, &e[1]));
	CHECK(afgw_sub_lookup(s, S("+447700900123"), now, &g) && same(&g, &e[2]));
	CHECK(!afgw_sub_lookup(s, S("+8613900000004"), now, &g)); /* lapsed */
	CHECK(!afgw_sub_lookup(s, S("+8613900000005"), now, &g)); /* bad record */
	CHECK(!afgw_sub_lookup(s, S("+8613900000003"), now, &g)); /* never registered */
	CHECK(!afgw_sub_lookup(s, S("8613900000001"), now, &g));  /* not the canonical form */
	CHECK(!afgw_sub_lookup(s, S(""), now, &g));
	CHECK_INT(g.account[0], 0);
	/* a registration lapses at its expiry */
	CHECK(afgw_sub_lookup(s, S("+447700900123"), now + 3599, &g));
	CHECK(!afgw_sub_lookup(s, S("+447700900123"), now + 3600, &g));
	CHECK_INT(counter(s, AFGW_SUB_C_HITS), 4);
	CHECK_INT(counter(s, AFGW_SUB_C_LOOKUPS), 10);

	/* changes through the feed: a new one, a renewal, a delete, an
	 * alphanumeric key (hashed, not encoded) */
	entry(&e[3], "erin", 50, AFGW_SUB_SMS, now, now + 86400);
	CHECK_INT(afgw_sub_put(c, S("+8613900000006"), &e[3], err, sizeof(err)), 0);
	CHECK(wait_for(s, "+8613900000006", &e[3]));
	entry(&e[0], "alice-renamed-with-a-much-longer-account-id", 11, AFGW_SUB_CALLS, now,
	      now + 30 * 86400);
	CHECK_INT(afgw_sub_put(c, S("+8613900000001"), &e[0], err, sizeof(err)), 0);
	CHECK(wait_for(s, "+8613900000001", &e[0]));
	entry(&e[0], "al", 12, AFGW_SUB_CALLS, now, now + 30 * 86400);
	CHECK_INT(afgw_sub_put(c, S("+8613900000001"), &e[0], err, sizeof(err)), 0);
	CHECK(wait_for(s, "+8613900000001", &e[0]));
	CHECK_INT(afgw_sub_del(c, S("+8613900000002"), err, sizeof(err)), 0);
	CHECK(wait_for(s, "+8613900000002", NULL));
	CHECK_INT(afgw_sub_put(c, S("SomeName"), &e[3], err, sizeof(err)), 0);
	CHECK(wait_for(s, "SomeName", &e[3]));
	CHECK(!afgw_sub_lookup(s, S("Somename"), now, &g));
	CHECK(afgw_sub_lookup(s, S("+447700900123"), now, &g) && same(&g, &e[2]));
	CHECK_INT(counter(s, AFGW_SUB_C_ENTRIES), 4);
	CHECK_INT(counter(s, AFGW_SUB_C_LOADS), 1);
	CHECK(counter(s, AFGW_SUB_C_CHANGES) >= 5);
	/* a feed entry nobody can read is counted and skipped */
	freeReplyObject(cmd(c, "XADD afgw:sub:feed * n +8613900000007 r v1;junk"));
	freeReplyObject(cmd(c, "XADD afgw:sub:feed * x y"));
	entry(&e[3], "frank", 60, AFGW_SUB_SMS, now, now + 86400);
	CHECK_INT(afgw_sub_put(c, S("+8613900000008"), &e[3], err, sizeof(err)), 0);
	CHECK(wait_for(s, "+8613900000008", &e[3]));
	CHECK_INT(counter(s, AFGW_SUB_C_BAD_RECORDS), 3);

	/* churn: thousands of puts and deletes move entries and index slots
	 * around (growth, backward-shift deletion, the account arena's
	 * compaction); every survivor must still be found, exactly */
	char acct[AFGW_SUB_ACCOUNT_MAX + 1], num[32];
	struct afgw_sub_entry ce;
	for (int i = 0; i < 6000; i++) {
		snprintf(acct, sizeof(acct), "churn-%05d-%.50s", i,
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		snprintf(num, sizeof(num), "+86150%08d", i);
		entry(&ce, acct, (uint8_t)i, (unsigned)i % 8, now, now + 86400 + i);
		afgw_sub_put(c, afgw_str_make(num, strlen(num)), &ce, err, sizeof(err));
	}
	for (int i = 0; i < 6000; i += 3) {
		snprintf(num, sizeof(num), "+86150%08d", i);
		afgw_sub_del(c, afgw_str_make(num, strlen(num)), err, sizeof(err));
		snprintf(num, sizeof(num), "+86150%08d", i + 1);
		afgw_sub_del(c, afgw_str_make(num, strlen(num)), err, sizeof(err));
	}
	/* the feed is in order: once the last put is in, so is the rest */
	entry(&e[3], "sentinel", 65, AFGW_SUB_SMS, now, now + 86400);
	CHECK_INT(afgw_sub_put(c, S("+8615099999999"), &e[3], err, sizeof(err)), 0);
	CHECK(wait_for(s, "+8615099999999", &e[3]));
	CHECK_INT(counter(s, AFGW_SUB_C_ENTRIES), 5 + 2000 + 1);
	int good = 0;
	for (int i = 0; i < 6000; i++) {
		snprintf(acct, sizeof(acct), "churn-%05d-%.50s", i,
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		snprintf(num, sizeof(num), "+86150%08d", i);
		entry(&ce, acct, (uint8_t)i, (unsigned)i % 8, now, now + 86400 + i);
		bool found = afgw_sub_lookup(s, afgw_str_make(num, strlen(num)), now, &g);
		good += i % 3 == 2 ? found && same(&g, &ce) : !found;
	}
	CHECK_INT(good, 6000);
	CHECK(afgw_sub_lookup(s, S("+8613900000001"), now, &g) && same(&g, &e[0]));

	/* op=reload, written by hand as a bulk import would: a full load
	 * finds what was written without a feed entry */
	entry(&e[3], "grace", 70, AFGW_SUB_LOOKBACK, now, now + 86400);
	n = afgw_sub_record_format(&e[3], rec);
	freeReplyObject(cmd(c, "HSET afgw:sub:b:%04x +8613900000009 %b",
			    afgw_rep_bucket(S("+8613900000009")), rec, n));
	freeReplyObject(cmd(c, "XADD afgw:sub:feed * op reload"));
	CHECK(wait_for(s, "+8613900000009", &e[3]));
	CHECK_INT(counter(s, AFGW_SUB_C_LOADS), 2);
	CHECK_INT(counter(s, AFGW_SUB_C_ENTRIES), 5 + 2000 + 2);

	/* Redis dies: the replica keeps answering, the outage counts once */
	freeReplyObject(cmd(c, "SAVE")); /* so that the restarted server has the feed */
	test_redis_kill(srv);
	sleep_ms(600);
	CHECK(afgw_sub_lookup(s, S("+8613900000009"), now, &g) && same(&g, &e[3]));
	CHECK(afgw_sub_lookup(s, S("+447700900123"), now, &g) && same(&g, &e[2]));
	CHECK_INT(counter(s, AFGW_SUB_C_REDIS_OUTAGES), 1);
	CHECK_INT(counter(s, AFGW_SUB_C_REDIS_UP), 0);

	/* ... and comes back: a change made while the replica was still
	 * away arrives through the feed, which still covers where it was:
	 * no full reload */
	CHECK_INT(test_redis_start(srv), 0);
	afgw_redis_close(c);
	c = NULL;
	CHECK_INT(afgw_redis_connect(&cfg->redis, &c, err, sizeof(err)), 0);
	if (!c)
		goto out;
	entry(&e[3], "heidi", 80, AFGW_SUB_CALLS, now, now + 86400);
	CHECK_INT(afgw_sub_put(c, S("+8613900000010"), &e[3], err, sizeof(err)), 0);
	CHECK(wait_for(s, "+8613900000010", &e[3]));
	CHECK_INT(afgw_sub_del(c, S("+8613900000009"), err, sizeof(err)), 0);
	CHECK(wait_for(s, "+8613900000009", NULL));
	CHECK_INT(counter(s, AFGW_SUB_C_LOADS), 2);
	CHECK_INT(counter(s, AFGW_SUB_C_REDIS_OUTAGES), 1);
	CHECK_INT(counter(s, AFGW_SUB_C_REDIS_UP), 1);

	/* the feed trimmed past the replica while it was cut off: a put it
	 * never read is gone from the feed, so it must load fully on
	 * reconnecting to find it */
	entry(&e[3], "ivan", 90, AFGW_SUB_SMS, now, now + 86400);
	n = afgw_sub_record_format(&e[3], rec);
	freeReplyObject(cmd(c, "MULTI"));
	freeReplyObject(cmd(c, "CLIENT KILL TYPE normal SKIPME yes"));
	freeReplyObject(cmd(c, "HSET afgw:sub:b:%04x +8613900000011 %b",
			    afgw_rep_bucket(S("+8613900000011")), rec, n));
	freeReplyObject(cmd(c, "XADD afgw:sub:feed * n +8613900000011 r %b", rec, n));
	freeReplyObject(cmd(c, "XADD afgw:sub:feed * n +8613900000012 r %s", ""));
	freeReplyObject(cmd(c, "XTRIM afgw:sub:feed MAXLEN 1"));
	freeReplyObject(cmd(c, "EXEC"));
	CHECK(wait_for(s, "+8613900000011", &e[3]));
	CHECK_INT(counter(s, AFGW_SUB_C_LOADS), 3);
	CHECK_INT(counter(s, AFGW_SUB_C_REDIS_OUTAGES), 2);

	/* the memcap: a replica of at most 4 registrations counts the rest */
	uint64_t total = counter(s, AFGW_SUB_C_ENTRIES);
	struct afgw_config small = *cfg;
	small.memcap.replica_numbers = 4;
	struct afgw_sub *s2 = NULL;
	CHECK_INT(afgw_sub_open(&small, &s2, err, sizeof(err)), 0);
	if (s2) {
		CHECK_INT(afgw_sub_wait_loaded(s2, 5000), 0);
		CHECK_INT(counter(s2, AFGW_SUB_C_ENTRIES), 4);
		CHECK_INT(counter(s2, AFGW_SUB_C_FULL), total - 4);
		entry(&e[3], "judy", 91, AFGW_SUB_SMS, now, now + 86400);
		CHECK_INT(afgw_sub_put(c, S("+8613900000013"), &e[3], err, sizeof(err)), 0);
		CHECK(wait_for(s, "+8613900000013", &e[3]));
		for (int i = 0; i < 300 && counter(s2, AFGW_SUB_C_FULL) == total - 4; i++) {
			afgw_sub_poll(s2);
			sleep_ms(10);
		}
		CHECK_INT(counter(s2, AFGW_SUB_C_FULL), total - 3);
		CHECK(!afgw_sub_lookup(s2, S("+8613900000013"), now, &g));
		CHECK_INT(counter(s2, AFGW_SUB_C_ENTRIES), 4);
		afgw_sub_close(s2);
	}
out:
	afgw_sub_close(s);
	afgw_redis_close(c);
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
	cfg.redis.retry_ms = 200;
	char err[AFGW_SUB_ERR];
	struct afgw_redis *c = NULL;
	CHECK_INT(afgw_redis_connect(&cfg.redis, &c, err, sizeof(err)), 0);
	if (!c) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	int64_t now = time(NULL);
	test_writes(c, now);
	test_replica(&srv, &cfg, c, now); /* closes c */

	/* Redis down at start: not loaded, nothing found, no waiting it out */
	test_redis_kill(&srv);
	struct afgw_sub *s = NULL;
	struct afgw_sub_entry g;
	CHECK_INT(afgw_sub_open(&cfg, &s, err, sizeof(err)), 0);
	time_t t0 = time(NULL);
	CHECK_INT(afgw_sub_wait_loaded(s, 10000), -ETIMEDOUT);
	CHECK(time(NULL) - t0 < 5);
	CHECK(!afgw_sub_lookup(s, S("+447700900123"), now, &g));
	CHECK_INT(counter(s, AFGW_SUB_C_REDIS_OUTAGES), 1);
	afgw_sub_close(s);

	/* no Redis configured: an empty registry, loaded at once */
	char *url = cfg.redis.url;
	cfg.redis.url = NULL;
	CHECK_INT(afgw_sub_open(&cfg, &s, err, sizeof(err)), 0);
	CHECK_INT(afgw_sub_wait_loaded(s, 0), 0);
	CHECK(!afgw_sub_lookup(s, S("+447700900123"), now, &g));
	afgw_sub_close(s);
	afgw_sub_close(NULL);

	/* a bad URL is refused at open */
	cfg.redis.url = (char *)"http://example.org";
	CHECK_INT(afgw_sub_open(&cfg, &s, err, sizeof(err)), -EINVAL);
	cfg.redis.url = url;
out:
	afgw_config_fini(&cfg);
	char dump[160];
	snprintf(dump, sizeof(dump), "%s/dump.rdb", srv.dir);
	unlink(dump);
	test_redis_stop(&srv);
}

int main(void)
{
	test_records();
	if (!test_redis_installed()) {
		printf("redis-server not installed: Redis part skipped\n");
		check_report();
		return 77;
	}
	test_redis();
	return check_report();
}
