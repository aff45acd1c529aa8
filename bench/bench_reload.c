/*
 * bench_reload.c - what a police bundle's reload costs.
 *
 *   1. Compile time of synthetic rule sets of 1,000 and 10,000 rules
 *      (synth_rules.h): in the process (afgw_ruleset_new) and in a child
 *      under limits, databases passed back serialized
 *      (afgw_ruleset_new_isolated, what the gateway does for bundles).
 *   2. The swap under load: a pipeline of N workers screening SIP
 *      MESSAGE frames while another thread offers a new 10,000-rule set
 *      every 200 ms; reported: the longest time a worker stopped to change
 *      rule sets, and messages/s with and without the reloads (same
 *      frames, same process).
 *
 * usage: bench-reload [WORKERS] [FRAMES]   (defaults 2, 400000)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "synth_rules.h"
#include "afgw/config.h"
#include "afgw/match.h"
#include "afgw/rules.h"
#include "afgw/worker.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct afgw_ruleset *compile(const char *yaml, size_t len, uint64_t serial, bool isolated,
				    double *secs)
{
	struct afgw_rules rules;
	struct afgw_rules_diag d;
	struct afgw_ruleset *rs = NULL;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	double t0 = now();
	int rc = afgw_rules_load_buffer(&rules, "synth.yaml", yaml, len, &d);
	if (rc == 0) {
		struct afgw_compile_limits lim = { (size_t)8 << 30, 600, 1200000 };
		rc = isolated ? afgw_ruleset_new_isolated(&rules, serial, &lim, &d, &rs)
			      : afgw_ruleset_new(&rules, serial, &d, &rs);
	}
	*secs = now() - t0;
	if (rc != 0) {
		fprintf(stderr, "bench-reload: compile failed: %s\n", d.n ? d.msg[0].text : "?");
		exit(1);
	}
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rules);
	return rs;
}

/* ---- frames ------------------------------------------------------------ */

struct frame {
	uint8_t b[1400];
	uint32_t n;
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet / IPv4 / UDP carrying a SIP MESSAGE with a text from the synthetic words. */
static void make_frame(struct frame *f, unsigned i)
{
	char msg[1200];
	/* the body: a few words, so that some rules hit */
	char body[256];
	int bl = snprintf(body, sizeof(body), "%s %s %s %s", word(), word(), word(), word());
	int n = snprintf(msg, sizeof(msg),
		     "MESSAGE sip:+8613900%06u@ims.example SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 10.0.0.1:%u;branch=z9hG4bK%u\r\n"
		     "From: <sip:+8617000%06u@ims.example>;tag=%u\r\n"
		     "To: <sip:+8613900%06u@ims.example>\r\n"
		     "Call-ID: c%u@10.0.0.1\r\n"
		     "CSeq: 1 MESSAGE\r\n"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: %d\r\n\r\n%s",
		     i % 99991, 10000 + i % 1000, i, i % 99989, i, i % 99991, i, bl, body);
	uint8_t *p = f->b;
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0 };
	memcpy(p, eth, 14);
	uint8_t *ip = p + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + (unsigned)n);
	put16(ip + 4, i & 0xffff);
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[15] = 1;
	ip[16] = 10, ip[19] = 2;
	uint8_t *udp = ip + 20;
	put16(udp, 10000 + i % 1000);
	put16(udp + 2, 5060);
	put16(udp + 4, 8 + (unsigned)n);
	put16(udp + 6, 0);
	memcpy(udp + 8, msg, (size_t)n);
	f->n = 14 + 20 + 8 + (uint32_t)n;
}

struct offerer {
	struct afgw_pipeline *p;
	struct afgw_ruleset **sets;
	unsigned n_sets;
	atomic_bool stop;
	unsigned offered;
};

static void *offer_main(void *arg)
{
	struct offerer *o = arg;
	for (unsigned k = 0; k < o->n_sets && !atomic_load(&o->stop); k++) {
		afgw_pipeline_offer_ruleset(o->p, o->sets[k]);
		o->sets[k] = NULL;
		o->offered++;
		nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
	}
	return NULL;
}

/* One pass over the frames; returns messages/s, fills st. */
static double screen(unsigned workers, const struct afgw_ruleset *first, struct frame *fr,
		     unsigned n, struct offerer *o, struct afgw_pipeline_stats *st)
{
	struct afgw_config cfg;
	afgw_config_default(&cfg);
	cfg.workers = workers;
	struct afgw_pipeline_opts po = { .cfg = &cfg, .rs = first, .out = NULL };
	struct afgw_pipeline *p;
	if (afgw_pipeline_new(&po, &p) != 0)
		exit(1);
	pthread_t t;
	if (o) {
		o->p = p;
		pthread_create(&t, NULL, offer_main, o);
	}
	double t0 = now();
	for (unsigned i = 0; i < n; i++) {
		struct afgw_frame f = { .ts_us = 1763700000000000ull + i * 100ull,
					.data = fr[i].b, .caplen = fr[i].n, .len = fr[i].n,
					.linktype = 1 };
		afgw_pipeline_frame(p, &f);
	}
	afgw_pipeline_finish(p);
	double secs = now() - t0;
	if (o) {
		atomic_store(&o->stop, true);
		pthread_join(t, NULL);
	}
	afgw_pipeline_stats(p, st);
	afgw_pipeline_free(p);
	return (double)n / secs;
}

int main(int argc, char **argv)
{
	unsigned workers = argc > 1 ? (unsigned)atoi(argv[1]) : 2;
	unsigned frames = argc > 2 ? (unsigned)atoi(argv[2]) : 400000;
	if (workers < 1 || workers > 64 || frames < 1000) {
		fprintf(stderr, "usage: bench-reload [WORKERS 1..64] [FRAMES >= 1000]\n");
		return 2;
	}

	printf("compile time (synthetic rules, 80 %% literals; seconds)\n");
	printf("%8s %12s %12s\n", "rules", "in process", "in a child");
	size_t len10k = 0;
	char *yaml10k = NULL;
	for (size_t n = 1000; n <= 10000; n *= 10) {
		rng = 0x6a09e667f3bcc908ull;
		size_t len;
		char *yaml = synth_rules(n, &len);
		double a, b;
		afgw_ruleset_free(compile(yaml, len, 1, false, &a));
		afgw_ruleset_free(compile(yaml, len, 1, true, &b));
		printf("%8zu %12.2f %12.2f\n", n, a, b);
		if (n == 10000) {
			yaml10k = yaml;
			len10k = len;
		} else {
			free(yaml);
		}
	}

	enum { SETS = 24 };
	struct afgw_ruleset *sets[SETS];
	double secs;
	struct afgw_ruleset *first = compile(yaml10k, len10k, 1, false, &secs);
	/* the offers are the same rules under new serials: compiled ahead, so the
	 * offering thread only does what the watcher does after its compile */
	for (unsigned k = 0; k < SETS; k++)
		sets[k] = compile(yaml10k, len10k, 2 + k, false, &secs);
	struct frame *fr = malloc((size_t)frames * sizeof(*fr));
	if (!fr)
		return 1;
	for (unsigned i = 0; i < frames; i++)
		make_frame(&fr[i], i);

	struct afgw_pipeline_stats st;
	double base = screen(workers, first, fr, frames, NULL, &st);
	struct offerer o = { .sets = sets, .n_sets = SETS };
	double with = screen(workers, first, fr, frames, &o, &st);
	printf("\nswap under load: %u workers, %u SIP MESSAGE frames, 10,000 rules\n", workers,
	       frames);
	printf("  without reloads      %10.0f messages/s\n", base);
	printf("  reload every 200 ms  %10.0f messages/s (%.2fx), %llu reloads installed\n", with,
	       with / base, (unsigned long long)st.reloads);
	printf("  longest worker stop  %10.1f us\n", (double)st.rebind_ns_max / 1e3);
	printf("  unscanned            %10llu\n",
	       (unsigned long long)(st.unscanned[0] + st.unscanned[1]));
	for (unsigned k = 0; k < SETS; k++)
		afgw_ruleset_free(sets[k]);
	afgw_ruleset_free(first);
	free(fr);
	free(yaml10k);
	return 0;
}
