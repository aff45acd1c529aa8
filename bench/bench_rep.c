/*
 * bench_rep.c - bench-rep: the reputation replica with a big blacklist.
 *
 *   bench-rep --redis URL [--numbers N] [--lookups M]
 *
 * Imports N numbers (default 10 million) into the Redis at URL with the
 * bulk import afgwctl uses, then starts a replica the way a gateway does
 * and reports how long the full load took and how much memory it added
 * (resident set size before and after), and the cost of a lookup of a
 * listed and of an unlisted number (ns per lookup, M lookups each, random
 * order).  bench/bench_reputation.sh starts a throwaway redis-server for it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afgw/config.h"
#include "afgw/reputation.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Resident set size in KiB, from /proc/self/status. */
static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* The i-th listed number: +8613 followed by 9 digits, spread out. */
static size_t number(char *buf, size_t len, uint64_t i, bool listed)
{
	int n = snprintf(buf, len, "+86%s%09" PRIu64, listed ? "13" : "15",
			 (uint64_t)((i * 7919) % 1000000000ull));
	return (size_t)n;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	uint64_t n = 10000000, lookups = 10000000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--redis") && i + 1 < argc)
			url = argv[++i];
		else if (!strcmp(argv[i], "--numbers") && i + 1 < argc)
			n = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--lookups") && i + 1 < argc)
			lookups = strtoull(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: bench-rep --redis URL [--numbers N] [--lookups M]\n");
			return 2;
		}
	}
	if (!url || n == 0 || lookups == 0) {
		fprintf(stderr, "usage: bench-rep --redis URL [--numbers N] [--lookups M]\n");
		return 2;
	}

	struct afgw_config cfg;
	afgw_config_default(&cfg);
	cfg.redis.url = strdup(url);
	cfg.redis.command_timeout_ms = 60000;
	char err[AFGW_REP_ERR];
	struct afgw_redis *c;
	if (afgw_redis_connect(&cfg.redis, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-rep: %s\n", err);
		return 1;
	}

	/* import */
	struct afgw_rep_entry e;
	memset(&e, 0, sizeof(e));
	e.list = AFGW_REP_BLACK;
	e.score = 90;
	memcpy(e.category, "investment", 11);
	e.source = AFGW_REP_SRC_POLICE;
	e.since = time(NULL);
	e.expires = e.since + 180 * 86400;
	double t0 = now_s();
	struct afgw_rep_import *im;
	if (afgw_rep_import_begin(c, &im) != 0)
		return 1;
	char num[32];
	for (uint64_t i = 0; i < n; i++) {
		size_t len = number(num, sizeof(num), i, true);
		if (afgw_rep_import_add(im, afgw_str_make(num, len), &e, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench-rep: %s\n", err);
			return 1;
		}
	}
	uint64_t count;
	if (afgw_rep_import_end(im, &count, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-rep: %s\n", err);
		return 1;
	}
	double t1 = now_s();
	printf("import (afgwctl number import path): %" PRIu64 " numbers in %.2f s (%.0f/s)\n",
	       count, t1 - t0, (double)count / (t1 - t0));
	afgw_redis_close(c);

	/* full load into a replica */
	long rss0 = rss_kib();
	t0 = now_s();
	struct afgw_rep *rep;
	if (afgw_rep_open(&cfg, &rep, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-rep: %s\n", err);
		return 1;
	}
	int rc = afgw_rep_wait_loaded(rep, 600000);
	t1 = now_s();
	long rss1 = rss_kib();
	uint64_t cnt[AFGW_REP_C_COUNT];
	afgw_rep_counters(rep, cnt);
	printf("replica full load: %" PRIu64 " numbers in %.2f s (rc %d), resident memory +%.0f MiB "
	       "(%.1f bytes per number)\n",
	       cnt[AFGW_REP_C_ENTRIES], t1 - t0, rc, (double)(rss1 - rss0) / 1024.0,
	       (double)(rss1 - rss0) * 1024.0 / (double)(cnt[AFGW_REP_C_ENTRIES] ? cnt[AFGW_REP_C_ENTRIES] : 1));

	/* lookups: a million random numbers, formatted before the clock starts */
	enum { SET = 1 << 20 };
	char (*set)[16] = malloc((size_t)SET * 16);
	if (!set)
		return 1;
	for (int listed = 1; listed >= 0; listed--) {
		uint64_t s = 88172645463325252ull, found = 0;
		for (uint64_t i = 0; i < SET; i++)
			number(set[i], sizeof(set[i]), xorshift(&s) % n, listed);
		t0 = now_s();
		for (uint64_t i = 0; i < lookups; i++) {
			const char *p = set[i & (SET - 1)];
			struct afgw_rep_result r;
			found += afgw_rep_lookup(rep, afgw_str_make(p, 14), e.since, &r);
		}
		t1 = now_s();
		printf("lookup, %s number: %.1f ns (%" PRIu64 " of %" PRIu64 " found)\n",
		       listed ? "listed" : "unlisted", (t1 - t0) * 1e9 / (double)lookups, found,
		       lookups);
	}
	free(set);
	afgw_rep_close(rep);
	afgw_config_fini(&cfg);
	return 0;
}
