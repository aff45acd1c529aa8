/*
 * bench_decode.c - decode throughput on a capture held in memory.
 *
 * usage: bench-decode FILE [--repeat N] [--json]
 *
 * Loads every frame of FILE into memory first (so disk and libpcap's file
 * reading are not measured), then runs the dissector over them N times
 * (default 3) and prints the best run: messages (SIP messages + SMPP PDUs),
 * events, seconds, messages/s and ns/message, by wall time and by the
 * thread's CPU time (the two differ when other work shares the cores).  With --json every event is
 * also formatted as its JSON line (into memory), as `afgw decode` does.
 * One core: the dissector runs on the calling thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afgw/capture.h"
#include "afgw/dissect.h"
#include "afgw/event.h"

struct ctx {
	bool json;
	struct afgw_jbuf jb;
	uint64_t bytes_out;
};

static void on_event(void *ud, const struct afgw_event *ev)
{
	struct ctx *c = ud;
	if (!c->json)
		return;
	afgw_jbuf_reset(&c->jb);
	afgw_json_obj_begin(&c->jb);
	afgw_event_json_fields(&c->jb, ev);
	afgw_json_obj_end(&c->jb);
	c->bytes_out += c->jb.len + 1;
}

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int repeat = 3;
	struct ctx c = { 0 };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--json"))
			c.json = true;
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else {
			fprintf(stderr, "usage: bench-decode FILE [--repeat N] [--json]\n");
			return 2;
		}
	}
	if (!path || repeat < 1) {
		fprintf(stderr, "usage: bench-decode FILE [--repeat N] [--json]\n");
		return 2;
	}

	char err[AFGW_CAPTURE_ERRLEN];
	struct afgw_capture *cap;
	if (afgw_capture_open_file(&cap, path, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-decode: %s\n", err);
		return 2;
	}
	/* Frames go back to back into one arena, as they lie in a capture
	 * buffer; offsets first, pointers once the arena has stopped moving. */
	size_t nf = 0, capf = 1 << 16, arena_len = 0, arena_cap = 64u << 20;
	struct afgw_frame *frames = malloc(capf * sizeof(*frames));
	size_t *offs = malloc(capf * sizeof(*offs));
	uint8_t *arena = malloc(arena_cap);
	struct afgw_frame f;
	uint64_t total_bytes = 0;
	if (!frames || !offs || !arena) {
		fprintf(stderr, "bench-decode: out of memory\n");
		return 1;
	}
	while (afgw_capture_next(cap, &f) == 1) {
		if (nf == capf) {
			capf *= 2;
			frames = realloc(frames, capf * sizeof(*frames));
			offs = realloc(offs, capf * sizeof(*offs));
		}
		while (arena_len + f.caplen > arena_cap) {
			arena_cap *= 2;
			arena = realloc(arena, arena_cap);
		}
		if (!frames || !offs || !arena) {
			fprintf(stderr, "bench-decode: out of memory\n");
			return 1;
		}
		memcpy(arena + arena_len, f.data, f.caplen);
		frames[nf] = f;
		offs[nf] = arena_len;
		arena_len += f.caplen;
		total_bytes += f.caplen;
		nf++;
	}
	afgw_capture_close(cap);
	for (size_t i = 0; i < nf; i++)
		frames[i].data = arena + offs[i];
	free(offs);

	struct afgw_dissect_config cfg;
	afgw_dissect_config_default(&cfg);
	afgw_jbuf_init(&c.jb);
	double best = 1e30, best_cpu = 1e30;
	uint64_t cnt[AFGW_C_COUNT];
	for (int r = 0; r < repeat; r++) {
		struct afgw_dissect *d = afgw_dissect_new(&cfg, on_event, &c);
		double t0 = now(), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
		for (size_t i = 0; i < nf; i++)
			afgw_dissect_frame(d, &frames[i]);
		afgw_dissect_flush(d);
		double t = now() - t0, tc = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
		afgw_dissect_counters(d, cnt);
		afgw_dissect_free(d);
		if (t < best)
			best = t;
		if (tc < best_cpu)
			best_cpu = tc;
	}
	uint64_t msgs = cnt[AFGW_C_SIP_MESSAGES] + cnt[AFGW_C_SMPP_PDUS];
	printf("decode%s: %zu frames, %.1f MB, %llu messages (%llu SIP + %llu SMPP PDUs), %llu events\n",
	       c.json ? "+json" : "", nf, (double)total_bytes / 1e6, (unsigned long long)msgs,
	       (unsigned long long)cnt[AFGW_C_SIP_MESSAGES], (unsigned long long)cnt[AFGW_C_SMPP_PDUS],
	       (unsigned long long)cnt[AFGW_C_EVENTS]);
	printf("decode%s: best of %d: %.3f s, %.0f messages/s, %.0f ns/message, %.0f MB/s\n",
	       c.json ? "+json" : "", repeat, best, (double)msgs / best, best * 1e9 / (double)msgs,
	       (double)total_bytes / 1e6 / best);
	/* On a shared machine the wall time includes waiting for a core; the
	 * thread's CPU time does not. */
	printf("decode%s: best CPU time: %.3f s, %.0f messages/s, %.0f ns/message\n",
	       c.json ? "+json" : "", best_cpu, (double)msgs / best_cpu,
	       best_cpu * 1e9 / (double)msgs);
	free(arena);
	free(frames);
	afgw_jbuf_fini(&c.jb);
	return 0;
}
