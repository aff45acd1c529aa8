/*
 * bench_notify.c - warnings per second, end to end: the notifier signs,
 * seals and XADDs (pipelined) N warnings to a real Redis; beside it, in
 * the same process, the sign + seal work alone (the limit).
 *
 * usage: bench-notify --redis URL [--warnings N]   (bench_notify.sh starts a Redis)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "afgw/notify.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A warning as the score stage makes it: a call blocked by two reasons. */
static void make(struct afgw_warning *w, unsigned i)
{
	memset(w, 0, sizeof(*w));
	w->ts = w->contacted_at = 1800000000 + i / 1000;
	w->channel = i % 2 ? AFGW_WARNING_SMS : AFGW_WARNING_CALL;
	snprintf(w->other, sizeof(w->other), "+86170%08u", i);
	snprintf(w->category, sizeof(w->category), "impersonate_police");
	w->score = 92;
	w->action = AFGW_BLOCK;
	w->n_reasons = 2;
	snprintf(w->reason[0].source, sizeof(w->reason[0].source), "rule");
	snprintf(w->reason[0].id, sizeof(w->reason[0].id), "zh.police.safe_account");
	snprintf(w->reason[0].category, sizeof(w->reason[0].category), "impersonate_police");
	w->reason[0].weight = 70;
	snprintf(w->reason[1].source, sizeof(w->reason[1].source), "reputation");
	snprintf(w->reason[1].id, sizeof(w->reason[1].id), "blacklist");
	snprintf(w->reason[1].category, sizeof(w->reason[1].category), "impersonate_police");
	w->reason[1].weight = 90;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	unsigned n = 20000;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--redis"))
			url = argv[i + 1];
		else if (!strcmp(argv[i], "--warnings"))
			n = (unsigned)strtoul(argv[i + 1], NULL, 10);
	}
	if (!url || !n) {
		fprintf(stderr, "usage: bench-notify --redis URL [--warnings N]\n");
		return 2;
	}
	char dir[] = "/tmp/afgw-bench-notify-XXXXXX", prefix[64], path[80], err[256];
	if (!mkdtemp(dir) || afgw_keys_init() != 0)
		return 1;
	struct afgw_sign_key *gk = NULL;
	struct afgw_box_key *app = NULL;
	snprintf(prefix, sizeof(prefix), "%s/gw", dir);
	if (afgw_keys_generate(AFGW_KEY_SIGN, prefix, err, sizeof(err)) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s.key", prefix);
	if (afgw_sign_key_load(path, &gk, err, sizeof(err)) != 0)
		goto fail;
	snprintf(prefix, sizeof(prefix), "%s/app", dir);
	if (afgw_keys_generate(AFGW_KEY_BOX, prefix, err, sizeof(err)) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s.key", prefix);
	if (afgw_box_key_load(path, &app, err, sizeof(err)) != 0)
		goto fail;

	struct afgw_sub_entry sub = { .prefs = AFGW_SUB_CALLS | AFGW_SUB_SMS };
	memcpy(sub.pk, app->pk, sizeof(sub.pk));
	static struct afgw_warning w;
	static uint8_t sealed[AFGW_WARNING_SEALED_MAX];
	struct afgw_jbuf jb;
	afgw_jbuf_init(&jb);

	/* the limit: JSON + sign + seal in this thread */
	double t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		make(&w, i);
		snprintf(w.account, sizeof(w.account), "acct%u", i);
		afgw_warning_make_id(&w, (uint64_t)i);
		afgw_warning_json(&w, &jb);
		size_t sl;
		if (afgw_warning_seal(gk, sub.pk, jb.p, jb.len, sealed, sizeof(sealed), &sl) != 0)
			goto fail;
	}
	double t_seal = now_s() - t0;

	/* end to end through the notifier thread into Redis */
	struct afgw_config cfg;
	afgw_config_default(&cfg);
	cfg.redis.url = (char *)url;
	cfg.notify.queue = 65536;
	cfg.notify.hourly_cap = 1000;
	struct afgw_notify *nt = NULL;
	if (afgw_notify_open(&cfg, gk, &nt, err, sizeof(err)) != 0)
		goto fail;
	t0 = now_s();
	unsigned refused = 0;
	for (unsigned i = 0; i < n; i++) {
		make(&w, i);
		snprintf(sub.account, sizeof(sub.account), "acct%u", i % 5000);
		while (!afgw_notify_submit_warning(nt, &w, &sub, (uint64_t)i)) {
			refused++;  /* queue full: wait for the notifier */
			usleep(100);
		}
	}
	int frc = afgw_notify_flush(nt, 120000);
	double t_e2e = now_s() - t0;
	uint64_t c[AFGW_NOTIFY_C_COUNT];
	afgw_notify_counters(nt, c);
	afgw_notify_close(nt);
	printf("sign + seal only (one core):   %u warnings in %.3f s: %.0f warnings/s, %.1f us each\n",
	       n, t_seal, n / t_seal, t_seal * 1e6 / n);
	printf("end to end (notifier -> XADD): %llu delivered in %.3f s: %.0f warnings/s "
	       "(%.2f x sign + seal alone)%s\n",
	       (unsigned long long)c[AFGW_NOTIFY_C_DELIVERED], t_e2e,
	       (double)c[AFGW_NOTIFY_C_DELIVERED] / t_e2e,
	       ((double)c[AFGW_NOTIFY_C_DELIVERED] / t_e2e) / (n / t_seal),
	       frc ? " (flush timed out)" : "");
	printf("  queue full waits %u, deduped %llu, capped %llu, lost %llu\n", refused,
	       (unsigned long long)c[AFGW_NOTIFY_C_DEDUPED], (unsigned long long)c[AFGW_NOTIFY_C_CAPPED],
	       (unsigned long long)c[AFGW_NOTIFY_C_LOST]);
	afgw_jbuf_fini(&jb);
	afgw_sign_key_free(gk);
	afgw_box_key_free(app);
	static const char *const files[] = { "gw.key", "gw.pub", "app.key", "app.pub" };
	for (unsigned i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
fail:
	fprintf(stderr, "bench-notify: %s\n", err);
	return 1;
}
