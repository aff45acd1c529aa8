/*
 * test_metrics.c - the metrics endpoint: the Prometheus text the helpers
 * write (byte for byte: HELP / TYPE once per name, escaping, numbers,
 * bad names), then the server over plain sockets written here (HTTP/1.0
 * and 1.1, keep-alive, HEAD, /healthz 200 / 503, 404, 405 with Allow, a
 * POST body that is never waited for, 500), scrapes from many threads
 * while another thread bumps a counter, the connection limit, closing
 * while idle / with an idle client / during a scrape, bad and busy listen
 * addresses, IPv6 ::1 when the machine has it, and a scrape rate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "afgw/common.h"
#include "afgw/metrics.h"
#include "check.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

static bool has(const char *s, const char *sub)
{
	if (!strstr(s, sub)) {
		fprintf(stderr, "  '%s' does not contain '%s'\n", s, sub);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------------- */
/* The render and health callbacks                                        */

enum mode { EXACT, BAD, MANY, SLOW };

struct state {
	enum mode mode;
	atomic_uint_fast64_t bumped; /* bumped by another thread (MANY) */
	atomic_int in_render, overlaps;
	atomic_int renders;
	atomic_int slow_started, slow_done;
	bool healthy;
	const char *why;
};

/*
 * EXACT: counters with and without labels, gauges of every kind of
 * number, label values and HELP text that need escaping.
 */
static const char exact_text[] =
    "# HELP afgw_messages_total Messages seen, by protocol.\n"
    "# TYPE afgw_messages_total counter\n"
    "afgw_messages_total{proto=\"sip\"} 12\n"
    "afgw_messages_total{proto=\"smpp\"} 0\n"
    "# HELP afgw_scrapes_total Scrapes \"served\" \\\\ so far.\\nSecond line.\n"
    "# TYPE afgw_scrapes_total counter\n"
    "afgw_scrapes_total 18446744073709551615\n"
    "# HELP afgw_verdicts_total Verdicts.\n"
    "# TYPE afgw_verdicts_total counter\n"
    "afgw_verdicts_total{action=\"block\",category=\"wangiri\"} 7\n"
    "afgw_verdicts_total{action=\"a\\\"b\\\\c\\nd\",category=\"\"} 1\n"
    "# HELP afgw_ruleset_age_seconds Age of the ruleset.\n"
    "# TYPE afgw_ruleset_age_seconds gauge\n"
    "afgw_ruleset_age_seconds 42\n"
    "# HELP afgw:lag Replica lag.\n"
    "# TYPE afgw:lag gauge\n"
    "afgw:lag{shard=\"0\"} 0.10000000000000001\n"
    "afgw:lag{shard=\"1\"} -1.5\n"
    "afgw:lag{shard=\"2\"} NaN\n"
    "afgw:lag{shard=\"3\"} +Inf\n"
    "afgw:lag{shard=\"4\"} -Inf\n"
    "afgw:lag{shard=\"5\"} 1.0000000000000001e+300\n"
    "afgw:lag{shard=\"6\"} 0\n"
    "afgw:lag{shard=\"7\"} -0\n"
    "afgw:lag{shard=\"8\"} 9007199254740992\n"
    "afgw:lag{shard=\"9\"} -9007199254740991\n"
    "afgw:lag{shard=\"10\"} 18014398509481984\n"
    "afgw:lag{shard=\"11\"} 1e+17\n"
    "afgw:lag{shard=\"12\"} 4.9406564584124654e-324\n"
    "afgw:lag{shard=\"13\"} -1.7976931348623157e+308\n"
    "afgw:lag{shard=\"14\"} 123456789012\n"
    "# TYPE afgw_no_help gauge\n"
    "afgw_no_help 3\n";

static void render_exact(struct afgw_metrics_buf *b)
{
	static const char *const sip[] = {"proto", "sip", NULL};
	static const char *const smpp[] = {"proto", "smpp", NULL};
	static const char *const v1[] = {"action", "block", "category", "wangiri", NULL};
	static const char *const v2[] = {"action", "a\"b\\c\nd", "category", "", NULL};
	static const char *const none[] = {NULL};
	afgw_metrics_counter(b, "afgw_messages_total", "Messages seen, by protocol.", sip, 12);
	afgw_metrics_counter(b, "afgw_messages_total", "Messages seen, by protocol.", smpp, 0);
	afgw_metrics_counter(b, "afgw_scrapes_total", "Scrapes \"served\" \\ so far.\nSecond line.",
	                     NULL, UINT64_MAX);
	afgw_metrics_counter(b, "afgw_verdicts_total", "Verdicts.", v1, 7);
	afgw_metrics_counter(b, "afgw_verdicts_total", "Verdicts.", v2, 1);
	afgw_metrics_gauge(b, "afgw_ruleset_age_seconds", "Age of the ruleset.", none, 42.0);
	static const double lag[] = {0.1,
	                             -1.5,
	                             NAN,
	                             INFINITY,
	                             -INFINITY,
	                             1e300,
	                             0.0,
	                             -0.0,
	                             0x1p53,
	                             -0x1p53 + 1,
	                             0x1p54,
	                             1e17,
	                             4.9406564584124654e-324,
	                             -DBL_MAX,
	                             123456789012.0};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(lag); i++) {
		char shard[4];
		snprintf(shard, sizeof(shard), "%zu", i);
		const char *const l[] = {"shard", shard, NULL};
		afgw_metrics_gauge(b, "afgw:lag", "Replica lag.", l, lag[i]);
	}
	afgw_metrics_gauge(b, "afgw_no_help", NULL, NULL, 3.0);
}

/* MANY: 200 samples, the first one the bumped counter. */
static void render_many(struct state *s, struct afgw_metrics_buf *b)
{
	afgw_metrics_counter(b, "afgw_bumps_total", "Bumps.", NULL, atomic_load(&s->bumped));
	for (unsigned i = 0; i < 199; i++) {
		char w[8];
		snprintf(w, sizeof(w), "%u", i);
		const char *const l[] = {"worker", w, NULL};
		afgw_metrics_gauge(b, "afgw_worker_load", "Load per worker.", l, i / 199.0);
	}
}

static void render(void *ud, struct afgw_metrics_buf *b)
{
	struct state *s = ud;
	if (atomic_fetch_add(&s->in_render, 1) != 0)
		atomic_fetch_add(&s->overlaps, 1);
	atomic_fetch_add(&s->renders, 1);
	switch (s->mode) {
	case EXACT:
		render_exact(b);
		break;
	case BAD:
		afgw_metrics_counter(b, "afgw_ok_total", "Fine.", NULL, 1);
		afgw_metrics_counter(b, "afgw-bad", "Not a name.", NULL, 1);
		break;
	case MANY:
		render_many(s, b);
		break;
	case SLOW:
		atomic_store(&s->slow_started, 1);
		sleep_ms(300);
		afgw_metrics_counter(b, "afgw_slow_total", "Slow.", NULL, 1);
		atomic_store(&s->slow_done, 1);
		break;
	}
	atomic_fetch_sub(&s->in_render, 1);
}

static bool healthy(void *ud, char *why, size_t whylen)
{
	struct state *s = ud;
	if (s->healthy)
		return true;
	snprintf(why, whylen, "%s", s->why);
	return false;
}

/* ---------------------------------------------------------------------- */
/* A small HTTP client                                                    */

struct resp {
	int status;      /* -1: no response */
	char head[2048]; /* status line and headers, NUL-terminated */
	char *body;      /* malloc'd */
	size_t body_len;
	long clen; /* Content-Length, -1 if none */
	bool eof;  /* the server closed right after the response */
};

static int dial(int family, unsigned port)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_storage sa;
	socklen_t len;
	memset(&sa, 0, sizeof(sa));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&sa;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	}
	if (connect(fd, (struct sockaddr *)&sa, len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
		if (k <= 0)
			return false;
		s += k;
		n -= (size_t)k;
	}
	return true;
}

/* Header value of name (case-insensitive) in r->head, or NULL. */
static const char *header(const struct resp *r, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *h = p + 2;
		if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
			h += n + 1;
			while (*h == ' ')
				h++;
			size_t l = strcspn(h, "\r\n");
			if (l >= cap)
				l = cap - 1;
			memcpy(out, h, l);
			out[l] = '\0';
			return out;
		}
	}
	return NULL;
}

/*
 * Read one response from fd: headers, then Content-Length bytes of body
 * (none for HEAD).  With want_eof, also read on and note whether the
 * server closed with nothing more.
 */
static void read_resp(int fd, struct resp *r, bool head_req, bool want_eof)
{
	char buf[8192];
	size_t have = 0;
	memset(r, 0, sizeof(*r));
	r->status = -1;
	r->clen = -1;
	char *end = NULL;
	while (!end) {
		if (have == sizeof(buf) - 1)
			return;
		ssize_t k = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (k <= 0)
			return;
		have += (size_t)k;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	size_t hl = (size_t)(end - buf) + 4;
	if (hl >= sizeof(r->head))
		return;
	memcpy(r->head, buf, hl);
	r->head[hl] = '\0';
	if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
		r->status = -1;
	char v[64];
	if (header(r, "Content-Length", v, sizeof(v)))
		r->clen = strtol(v, NULL, 10);

	size_t want = head_req || r->clen < 0 ? 0 : (size_t)r->clen;
	r->body = malloc(want + 1);
	size_t got = have - hl < want ? have - hl : want;
	memcpy(r->body, buf + hl, got);
	size_t extra = have - hl - got;
	while (got < want) {
		ssize_t k = recv(fd, r->body + got, want - got, 0);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	r->body[got] = '\0';
	r->body_len = got;
	if (want_eof && extra == 0) {
		char c;
		r->eof = recv(fd, &c, 1, 0) == 0;
	}
}

/* One request on a fresh connection; the server is expected to close. */
static void request(int family, unsigned port, const char *req, struct resp *r)
{
	memset(r, 0, sizeof(*r));
	r->status = -1;
	int fd = dial(family, port);
	if (fd < 0 || !send_all(fd, req)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	read_resp(fd, r, strncmp(req, "HEAD ", 5) == 0, true);
	close(fd);
}

/* ---------------------------------------------------------------------- */

static void test_text(void)
{
	struct afgw_metrics_buf b;
	memset(&b, 0, sizeof(b));
	render_exact(&b);
	CHECK(!b.failed);
	CHECK_MEM(b.p, b.len, exact_text);
	free(b.p);

	/* Bad metric names: the sample is skipped and the scrape fails. */
	char long_name[129];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[128] = '\0';
	static const char *const bad_names[] = {"", "1abc", "a-b", "a b", "a\n", "é"};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(bad_names) + 2; i++) {
		const char *n = i < AFGW_ARRAY_SIZE(bad_names)    ? bad_names[i]
		                : i == AFGW_ARRAY_SIZE(bad_names) ? long_name
		                                                  : NULL;
		memset(&b, 0, sizeof(b));
		afgw_metrics_counter(&b, n, "x", NULL, 1);
		CHECK(b.failed);
		CHECK_INT(b.len, 0);
		free(b.p);
		memset(&b, 0, sizeof(b));
		afgw_metrics_gauge(&b, n, "x", NULL, 1);
		CHECK(b.failed);
		free(b.p);
	}
	/* 127 bytes is the longest name buf->last holds. */
	long_name[127] = '\0';
	memset(&b, 0, sizeof(b));
	afgw_metrics_counter(&b, long_name, NULL, NULL, 1);
	CHECK(!b.failed);
	CHECK_INT(b.len, 2 * 127 + 19); /* "# TYPE " " counter\n" " 1\n" */
	free(b.p);
	/* Leading underscore and colon, digits after the first byte. */
	memset(&b, 0, sizeof(b));
	afgw_metrics_counter(&b, "_a:1", NULL, NULL, 1);
	afgw_metrics_counter(&b, ":b_2", NULL, NULL, 2);
	CHECK(!b.failed);
	CHECK_MEM(b.p, b.len, "# TYPE _a:1 counter\n_a:1 1\n# TYPE :b_2 counter\n:b_2 2\n");
	free(b.p);

	/* Bad label names (no colon), a key without a value. */
	static const char *const l1[] = {"a:b", "v", NULL};
	static const char *const l2[] = {"1x", "v", NULL};
	static const char *const l3[] = {"", "v", NULL};
	static const char *const l4[] = {"ok", "v", "odd", NULL};
	static const char *const l5[] = {"ok", "v", "x-y", "v", NULL};
	const char *const *bad_labels[] = {l1, l2, l3, l4, l5};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(bad_labels); i++) {
		memset(&b, 0, sizeof(b));
		afgw_metrics_gauge(&b, "afgw_x", "x", bad_labels[i], 1);
		CHECK(b.failed);
		CHECK_INT(b.len, 0);
		free(b.p);
	}

	/* Once failed, nothing more is appended. */
	memset(&b, 0, sizeof(b));
	afgw_metrics_counter(&b, "afgw_a_total", "A.", NULL, 1);
	size_t len = b.len;
	afgw_metrics_counter(&b, "bad name", "B.", NULL, 1);
	afgw_metrics_counter(&b, "afgw_c_total", "C.", NULL, 1);
	CHECK(b.failed);
	CHECK_INT(b.len, len);
	free(b.p);

	/* Growth far past the first allocation: every sample intact. */
	memset(&b, 0, sizeof(b));
	for (unsigned i = 0; i < 20000; i++) {
		char w[12];
		snprintf(w, sizeof(w), "%u", i);
		const char *const l[] = {"worker", w, NULL};
		afgw_metrics_counter(&b, "afgw_load_total", "Load.", l, i);
	}
	CHECK(!b.failed);
	CHECK(b.len > 4096 * 64);
	CHECK(b.len <= b.cap);
	const char tail[] = "afgw_load_total{worker=\"19999\"} 19999\n";
	CHECK(b.len >= sizeof(tail) - 1 &&
	      memcmp(b.p + b.len - (sizeof(tail) - 1), tail, sizeof(tail) - 1) == 0);
	free(b.p);
}

static struct afgw_metrics *start(struct state *st, const char *listen, unsigned *port)
{
	struct afgw_metrics_ops ops = {st, render, healthy};
	struct afgw_metrics *m = NULL;
	char err[AFGW_METRICS_ERR] = "";
	int rc = afgw_metrics_open(listen, &ops, &m, err, sizeof(err));
	CHECK_INT(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "  afgw_metrics_open(%s): %s\n", listen, err);
		return NULL;
	}
	*port = afgw_metrics_port(m);
	CHECK(*port > 0 && *port < 65536);
	return m;
}

static void check_exact(const struct resp *r)
{
	char v[128];
	CHECK_INT(r->status, 200);
	CHECK_CSTR(header(r, "Content-Type", v, sizeof(v)),
	           "text/plain; version=0.0.4; charset=utf-8");
	CHECK_INT(r->clen, sizeof(exact_text) - 1);
	CHECK_MEM(r->body, r->body_len, exact_text);
}

static void test_http(void)
{
	struct state st = {.mode = EXACT, .healthy = true};
	unsigned port;
	struct afgw_metrics *m = start(&st, "127.0.0.1:0", &port);
	if (!m)
		return;
	struct resp r;
	char v[128];

	/* HTTP/1.0: one response, then the server closes. */
	request(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
	check_exact(&r);
	CHECK(strncmp(r.head, "HTTP/1.0 200 ", 13) == 0 ||
	      strncmp(r.head, "HTTP/1.1 200 ", 13) == 0);
	CHECK(r.eof);
	free(r.body);

	/* HTTP/1.1 keep-alive: two requests on one connection. */
	int fd = dial(AF_INET, port);
	CHECK(fd >= 0);
	CHECK(send_all(fd, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"));
	read_resp(fd, &r, false, false);
	check_exact(&r);
	CHECK(strncmp(r.head, "HTTP/1.1 200 ", 13) == 0);
	free(r.body);
	CHECK(
	    send_all(fd, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
	read_resp(fd, &r, false, true);
	CHECK_INT(r.status, 200);
	CHECK_MEM(r.body, r.body_len, "ok\n");
	CHECK(r.eof);
	free(r.body);
	close(fd);

	/* HEAD: the GET's headers and length, no body. */
	request(AF_INET, port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	        &r);
	CHECK_INT(r.status, 200);
	CHECK_INT(r.clen, sizeof(exact_text) - 1);
	CHECK_INT(r.body_len, 0);
	CHECK(r.eof);
	CHECK_CSTR(header(&r, "Content-Type", v, sizeof(v)),
	           "text/plain; version=0.0.4; charset=utf-8");
	free(r.body);
	request(AF_INET, port, "HEAD /healthz HTTP/1.0\r\n\r\n", &r);
	CHECK_INT(r.status, 200);
	CHECK_INT(r.clen, 3);
	CHECK_INT(r.body_len, 0);
	CHECK(r.eof);
	free(r.body);

	/* The query string is not part of the path. */
	request(AF_INET, port, "GET /metrics?name[]=x HTTP/1.0\r\n\r\n", &r);
	check_exact(&r);
	free(r.body);

	/* /healthz: 503 with the first line of the reason. */
	st.healthy = false;
	st.why = "redis unreachable\nsecond line";
	request(AF_INET, port, "GET /healthz HTTP/1.0\r\n\r\n", &r);
	CHECK_INT(r.status, 503);
	CHECK_MEM(r.body, r.body_len, "redis unreachable\n");
	free(r.body);
	st.why = "";
	request(AF_INET, port, "GET /healthz HTTP/1.0\r\n\r\n", &r);
	CHECK_INT(r.status, 503);
	CHECK_MEM(r.body, r.body_len, "unhealthy\n");
	free(r.body);
	st.healthy = true;
	request(AF_INET, port, "GET /healthz HTTP/1.0\r\n\r\n", &r);
	CHECK_INT(r.status, 200);
	free(r.body);

	/* Other paths: 404, whatever the method. */
	static const char *const nf[] = {
	    "GET / HTTP/1.0\r\n\r\n",          "GET /nope HTTP/1.0\r\n\r\n",
	    "GET /metrics/ HTTP/1.0\r\n\r\n",  "GET /metricsx HTTP/1.0\r\n\r\n",
	    "GET /healthz/x HTTP/1.0\r\n\r\n", "POST /nope HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
	    "GET /METRICS HTTP/1.0\r\n\r\n",
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(nf); i++) {
		request(AF_INET, port, nf[i], &r);
		CHECK_INT(r.status, 404);
		free(r.body);
	}

	/* Other methods: 405 with Allow, and nothing rendered. */
	int renders = atomic_load(&st.renders);
	static const char *const na[] = {
	    "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\na=b",
	    "PUT /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
	    "DELETE /metrics HTTP/1.0\r\n\r\n",
	    "OPTIONS /metrics HTTP/1.0\r\n\r\n",
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(na); i++) {
		request(AF_INET, port, na[i], &r);
		CHECK_INT(r.status, 405);
		CHECK_CSTR(header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
		free(r.body);
	}
	CHECK_INT(atomic_load(&st.renders), renders);

	/* A gigabyte announced and never sent (plain, 100-continue,
	 * chunked): the 405 comes at once and the server hangs up. */
	static const char *const big[] = {
	    "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n",
	    "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n"
	    "Expect: 100-continue\r\n\r\n",
	    "POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "10\r\n0123456789abcdef\r\n",
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(big); i++) {
		double t0 = now_s();
		request(AF_INET, port, big[i], &r);
		CHECK(now_s() - t0 < 2.0);
		CHECK_INT(r.status, 405);
		CHECK(strncmp(r.head, "HTTP/1.1 405 ", 13) == 0);
		CHECK(r.eof);
		free(r.body);
	}

	/* Garbage is microhttpd's to refuse; the server carries on. */
	request(AF_INET, port, "NONSENSE\r\n\r\n", &r);
	CHECK(r.status == 400 || r.status == -1);
	free(r.body);
	request(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
	check_exact(&r);
	free(r.body);

	/* A bad name in the render: 500, and the next scrape is fine. */
	st.mode = BAD;
	request(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
	CHECK_INT(r.status, 500);
	CHECK_MEM(r.body, r.body_len, "rendering the metrics failed\n");
	free(r.body);
	st.mode = EXACT;
	request(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
	check_exact(&r);
	free(r.body);

	CHECK_INT(atomic_load(&st.overlaps), 0);
	afgw_metrics_close(m);
}

/* ---------------------------------------------------------------------- */
/* Many scrapes at once while the numbers move                            */

#define SCRAPERS 8
#define SCRAPES  25

struct scraper {
	unsigned port;
	unsigned ok, bad, backwards;
};

static atomic_bool stop_bumping;

static void *bumper(void *arg)
{
	struct state *s = arg;
	while (!atomic_load(&stop_bumping)) {
		for (int i = 0; i < 1000; i++)
			atomic_fetch_add(&s->bumped, 1);
		sched_yield();
	}
	return NULL;
}

/* A MANY scrape complete and well formed: 204 lines, the counter's value in *bumps. */
static bool many_ok(const struct resp *r, uint64_t *bumps)
{
	static const char start[] = "# HELP afgw_bumps_total Bumps.\n"
	                            "# TYPE afgw_bumps_total counter\n"
	                            "afgw_bumps_total ";
	if (r->status != 200 || r->clen < 0 || (size_t)r->clen != r->body_len || r->body_len == 0 ||
	    r->body[r->body_len - 1] != '\n' || strncmp(r->body, start, sizeof(start) - 1) != 0)
		return false;
	size_t lines = 0;
	for (size_t i = 0; i < r->body_len; i++)
		lines += r->body[i] == '\n';
	*bumps = strtoull(r->body + sizeof(start) - 1, NULL, 10);
	return lines == 204 && strstr(r->body, "\nafgw_worker_load{worker=\"198\"} ") != NULL;
}

static void *scrape(void *arg)
{
	struct scraper *sc = arg;
	uint64_t last = 0;
	for (int i = 0; i < SCRAPES; i++) {
		struct resp r;
		request(AF_INET, sc->port,
		        i % 2 ? "GET /metrics HTTP/1.0\r\n\r\n"
		              : "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		        &r);
		uint64_t bumps = 0;
		if (many_ok(&r, &bumps) && r.eof)
			sc->ok++;
		else
			sc->bad++;
		/* Scrapes are serialised, and each thread's follow each other. */
		if (bumps < last)
			sc->backwards++;
		last = bumps;
		free(r.body);
	}
	return NULL;
}

static void test_concurrent(void)
{
	struct state st = {.mode = MANY, .healthy = true};
	unsigned port;
	struct afgw_metrics *m = start(&st, "127.0.0.1:0", &port);
	if (!m)
		return;

	pthread_t b, t[SCRAPERS];
	struct scraper sc[SCRAPERS];
	atomic_store(&stop_bumping, false);
	CHECK_INT(pthread_create(&b, NULL, bumper, &st), 0);
	for (int i = 0; i < SCRAPERS; i++) {
		sc[i] = (struct scraper){.port = port};
		CHECK_INT(pthread_create(&t[i], NULL, scrape, &sc[i]), 0);
	}
	unsigned ok = 0, bad = 0, backwards = 0;
	for (int i = 0; i < SCRAPERS; i++) {
		pthread_join(t[i], NULL);
		ok += sc[i].ok;
		bad += sc[i].bad;
		backwards += sc[i].backwards;
	}
	atomic_store(&stop_bumping, true);
	pthread_join(b, NULL);
	CHECK_INT(ok, SCRAPERS * SCRAPES);
	CHECK_INT(bad, 0);
	CHECK_INT(backwards, 0);
	CHECK_INT(atomic_load(&st.overlaps), 0);
	CHECK(atomic_load(&st.bumped) > 0);

	/*
	 * The connection limit: 32 idle connections fill it, a 33rd gets
	 * no answer (microhttpd closes it or leaves it queued); once they
	 * go, scrapes are answered again.
	 */
	int idle[32];
	for (int i = 0; i < 32; i++) {
		idle[i] = dial(AF_INET, port);
		CHECK(idle[i] >= 0);
	}
	sleep_ms(100);
	int fd = dial(AF_INET, port);
	if (fd >= 0) {
		struct timeval tv = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		struct resp r;
		send_all(fd, "GET /metrics HTTP/1.0\r\n\r\n");
		read_resp(fd, &r, false, false);
		CHECK_INT(r.status, -1);
		free(r.body);
		close(fd);
	}
	for (int i = 0; i < 32; i++)
		if (idle[i] >= 0)
			close(idle[i]);
	struct resp r;
	uint64_t bumps;
	request(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
	CHECK(many_ok(&r, &bumps));
	free(r.body);

	afgw_metrics_close(m);
}

/* ---------------------------------------------------------------------- */
/* Closing                                                                */

struct slow_client {
	unsigned port;
	struct resp r;
};

static void *slow_client(void *arg)
{
	struct slow_client *c = arg;
	request(AF_INET, c->port, "GET /metrics HTTP/1.0\r\n\r\n", &c->r);
	return NULL;
}

static void test_close(void)
{
	struct state st = {.mode = EXACT, .healthy = true};
	unsigned port;

	afgw_metrics_close(NULL);

	/* Idle, never scraped. */
	struct afgw_metrics *m = start(&st, "127.0.0.1:0", &port);
	if (!m)
		return;
	double t0 = now_s();
	afgw_metrics_close(m);
	CHECK(now_s() - t0 < 1.0);
	/* The port is free again. */
	int fd = dial(AF_INET, port);
	CHECK(fd < 0);
	if (fd >= 0)
		close(fd);

	/* With a client connected that has sent nothing. */
	m = start(&st, "127.0.0.1:0", &port);
	if (!m)
		return;
	fd = dial(AF_INET, port);
	CHECK(fd >= 0);
	sleep_ms(50);
	t0 = now_s();
	afgw_metrics_close(m);
	CHECK(now_s() - t0 < 2.0);
	if (fd >= 0) {
		char c;
		CHECK(recv(fd, &c, 1, 0) <= 0);
		close(fd);
	}

	/* During a scrape: close waits for the render to end. */
	st.mode = SLOW;
	m = start(&st, "127.0.0.1:0", &port);
	if (!m)
		return;
	struct slow_client c = {.port = port};
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, slow_client, &c), 0);
	for (int i = 0; i < 200 && !atomic_load(&st.slow_started); i++)
		sleep_ms(10);
	CHECK(atomic_load(&st.slow_started));
	afgw_metrics_close(m);
	CHECK(atomic_load(&st.slow_done));
	pthread_join(t, NULL);
	CHECK(c.r.status == 200 || c.r.status == -1);
	free(c.r.body);
}

/* ---------------------------------------------------------------------- */
/* Listen addresses                                                       */

static void open_fails(const char *listen, int want, const char *what)
{
	struct state st = {.mode = EXACT, .healthy = true};
	struct afgw_metrics_ops ops = {&st, render, healthy};
	struct afgw_metrics *m = (struct afgw_metrics *)&st;
	char err[AFGW_METRICS_ERR] = "";
	int rc = afgw_metrics_open(listen, &ops, &m, err, sizeof(err));
	if (rc != want)
		fprintf(stderr, "  listen \"%s\": %d (%s)\n", listen ? listen : "(null)", rc, err);
	CHECK_INT(rc, want);
	CHECK(m == NULL);
	CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
	if (what && what[0] == '=')
		CHECK_CSTR(err, what + 1);
	else if (what)
		CHECK(has(err, what));
	if (rc == 0)
		afgw_metrics_close(m);
}

static void test_listen(void)
{
	static const char *const bad[] = {
	    "",
	    "127.0.0.1",
	    "127.0.0.1:",
	    ":9477",
	    "127.0.0.1:65536",
	    "127.0.0.1:999999",
	    "127.0.0.1:-1",
	    "127.0.0.1:+80",
	    "127.0.0.1:80x",
	    "127.0.0.1:0x50",
	    "127.0.0.1: 80",
	    " 127.0.0.1:80",
	    "localhost:9477",
	    "256.0.0.1:80",
	    "1.2.3:80",
	    "1.2.3.4.5:80",
	    "01.2.3.4:80",
	    "::1:9477",
	    "::1",
	    "[::1]",
	    "[::1]9477",
	    "[::1:9477",
	    "[]:80",
	    "[127.0.0.1]:80",
	    "[::1]:",
	    "[::1]:65536",
	    "[fe80::1%lo]:80",
	    "127.0.0.1:80\nX",
	};
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(bad); i++)
		open_fails(bad[i], -EINVAL, "listen address");
	open_fails(NULL, -EINVAL, "=no listen address");
	open_fails(
	    "localhost:9477", -EINVAL,
	    "=listen address \"localhost:9477\": not an IPv4 address (names are not resolved)");
	open_fails("127.0.0.1:80\nX", -EINVAL,
	           "=listen address \"127.0.0.1:80?X\": the port is not a number 0..65535");
	open_fails("::1:9477", -EINVAL,
	           "=listen address \"::1:9477\": an IPv6 address goes in brackets: [IPV6]:PORT");

	/* A port someone else listens on. */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 1) == 0 &&
	      getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
	char busy[32], want[96];
	snprintf(busy, sizeof(busy), "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
	snprintf(want, sizeof(want), "=cannot listen on %s: Address already in use", busy);
	open_fails(busy, -EADDRINUSE, want);
	close(fd);

	/* ... and a running endpoint's own port. */
	struct state st = {.mode = EXACT, .healthy = true};
	unsigned port;
	struct afgw_metrics *m = start(&st, "127.0.0.1:0", &port);
	if (m) {
		snprintf(busy, sizeof(busy), "127.0.0.1:%u", port);
		open_fails(busy, -EADDRINUSE, "in use");
		afgw_metrics_close(m);
	}

	/* IPv6 loopback, if the machine has it. */
	struct afgw_metrics_ops ops = {&st, render, healthy};
	char err[AFGW_METRICS_ERR] = "";
	int rc = afgw_metrics_open("[::1]:0", &ops, &m, err, sizeof(err));
	if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT) {
		printf("note: no IPv6 loopback here (%s): [::1] checks skipped\n", err);
	} else {
		CHECK_INT(rc, 0);
		if (rc == 0) {
			port = afgw_metrics_port(m);
			CHECK(port > 0);
			struct resp r;
			request(AF_INET6, port,
			        "GET /metrics HTTP/1.1\r\nHost: [::1]\r\n"
			        "Connection: close\r\n\r\n",
			        &r);
			check_exact(&r);
			free(r.body);
			/* The same port on 127.0.0.1 is not ours. */
			fd = dial(AF_INET, port);
			CHECK(fd < 0);
			if (fd >= 0)
				close(fd);
			afgw_metrics_close(m);
		}
	}
}

/* ---------------------------------------------------------------------- */
/* How fast: a 200-sample scrape, keep-alive and a connection per scrape  */

static void bench(void)
{
	struct state st = {.mode = MANY, .healthy = true};
	unsigned port;
	struct afgw_metrics *m = start(&st, "127.0.0.1:0", &port);
	if (!m)
		return;
	unsigned n = 0, bad = 0;
	size_t bytes = 0;
	int fd = dial(AF_INET, port);
	double t0 = now_s(), t1 = t0;
	while (fd >= 0 && t1 - t0 < 0.5) {
		struct resp r;
		uint64_t bumps;
		if (!send_all(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
			break;
		read_resp(fd, &r, false, false);
		bad += !many_ok(&r, &bumps);
		bytes = r.body_len;
		free(r.body);
		n++;
		t1 = now_s();
	}
	if (fd >= 0)
		close(fd);
	CHECK_INT(bad, 0);
	printf("bench: 200-sample scrape (%zu bytes), keep-alive: %u scrapes in %.2f s = %.0f/s\n",
	       bytes, n, t1 - t0, n / (t1 - t0));

	n = bad = 0;
	t0 = t1 = now_s();
	while (t1 - t0 < 0.5) {
		struct resp r;
		uint64_t bumps;
		request(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
		bad += !many_ok(&r, &bumps);
		free(r.body);
		n++;
		t1 = now_s();
	}
	CHECK_INT(bad, 0);
	printf("bench: 200-sample scrape, a connection each: %u scrapes in %.2f s = %.0f/s\n", n,
	       t1 - t0, n / (t1 - t0));
	afgw_metrics_close(m);
}

int main(void)
{
	test_text();
	test_http();
	test_concurrent();
	test_close();
	test_listen();
	bench();
	return check_report();
}
