/*
 * metrics.c - the metrics and health endpoint (contract in metrics.h):
 * Prometheus text format 0.0.4 on GET /metrics, GET /healthz, served by
 * libmicrohttpd from its one internal polling thread.
 *
 * The listening socket is made here, not by microhttpd: that way a bad
 * or busy address comes back as the bind's own errno (-EADDRINUSE,
 * -EADDRNOTAVAIL, -EACCES) instead of a NULL daemon, and the address is
 * parsed strictly ("a.b.c.d:port" or "[v6]:port", numbers only, no
 * names to resolve).  microhttpd gets the socket with
 * MHD_OPTION_LISTEN_SOCKET and closes it when stopped.
 *
 * Nothing here takes uploads: a request that announces a body is
 * answered before any of it is read (a POST with a gigabyte of
 * Content-Length gets its 405 at once, and the connection is closed after
 * it); bodiless requests are answered when microhttpd has seen their end,
 * which keeps HTTP/1.1 connections alive between scrapes.  The 404, 405
 * and 500 responses are made once at open and shared.  A scrape renders
 * into a fresh malloc'd buffer (sized from the previous scrape) that
 * microhttpd frees once it has been sent; scrapes hold a mutex around the
 * callbacks, so the daemon's callbacks never run twice at once whatever
 * microhttpd's threading.
 *
 * Not here: what the numbers are (the daemon's render callback) and TLS
 * or authentication (bind to a management address instead).
 */
#include "afgw/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#define CONN_LIMIT   32u
#define CONN_TIMEOUT 10u /* seconds */
#define BUF_MIN      4096u
#define BUF_MAX      ((size_t)64 << 20) /* a bigger scrape is a bug: 500 */
#define WHY_MAX      256u

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct afgw_metrics {
	struct MHD_Daemon *d;
	struct afgw_metrics_ops ops;
	pthread_mutex_t lock; /* one scrape (render or health) at a time */
	size_t hint;          /* the last scrape's size, under lock */
	struct MHD_Response *r404, *r405, *r500;
};

/* ---------------------------------------------------------------------- */
/* The text buffer                                                        */

/* Make room for n more bytes; false (and failed) past BUF_MAX or OOM. */
static bool reserve(struct afgw_metrics_buf *b, size_t n)
{
	if (b->failed)
		return false;
	if (n <= b->cap - b->len)
		return true;
	size_t cap = b->cap ? b->cap : BUF_MIN;
	while (cap - b->len < n) {
		if (cap > BUF_MAX / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void put(struct afgw_metrics_buf *b, const char *s, size_t n)
{
	if (n == 0 || !reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void puts_(struct afgw_metrics_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/*
 * Append s with backslash and newline escaped, and double quotes too when
 * quote (label values; HELP text keeps its quotes, as the format says).
 */
static void put_escaped(struct afgw_metrics_buf *b, const char *s, bool quote)
{
	const char *run = s;
	for (; *s; s++) {
		const char *esc;
		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (*s == '"' && quote)
			esc = "\\\"";
		else
			continue;
		put(b, run, (size_t)(s - run));
		put(b, esc, 2);
		run = s + 1;
	}
	put(b, run, (size_t)(s - run));
}

/*
 * [a-zA-Z_:][a-zA-Z0-9_:]* for metric names (colon), the same without
 * colons for label names.  A metric name must also fit buf->last.
 */
static bool valid_name(const char *s, bool colon, size_t max)
{
	if (!s || !*s)
		return false;
	size_t i = 0;
	for (; s[i]; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		          (c == ':' && colon) || (i > 0 && c >= '0' && c <= '9');
		if (!ok || i >= max)
			return false;
	}
	return true;
}

/*
 * Everything of a sample before its value: the HELP / TYPE lines when the
 * name changes, then "name{k=\"v\",...} ".  false (and failed) on a bad
 * name or label list: nothing is written then.
 */
static bool head(struct afgw_metrics_buf *b, const char *name, const char *help, const char *type,
                 const char *const *labels)
{
	if (b->failed)
		return false;
	if (!valid_name(name, true, sizeof(b->last) - 1))
		goto bad;
	if (labels)
		for (size_t i = 0; labels[i]; i += 2)
			if (!valid_name(labels[i], false, SIZE_MAX) || !labels[i + 1])
				goto bad;

	size_t nlen = strlen(name);
	if (strcmp(name, b->last) != 0) {
		if (help) {
			puts_(b, "# HELP ");
			put(b, name, nlen);
			put(b, " ", 1);
			put_escaped(b, help, false);
			put(b, "\n", 1);
		}
		puts_(b, "# TYPE ");
		put(b, name, nlen);
		put(b, " ", 1);
		puts_(b, type);
		put(b, "\n", 1);
		memcpy(b->last, name, nlen + 1);
	}
	put(b, name, nlen);
	if (labels && labels[0]) {
		put(b, "{", 1);
		for (size_t i = 0; labels[i]; i += 2) {
			if (i)
				put(b, ",", 1);
			puts_(b, labels[i]);
			put(b, "=\"", 2);
			put_escaped(b, labels[i + 1], true);
			put(b, "\"", 1);
		}
		put(b, "}", 1);
	}
	put(b, " ", 1);
	return !b->failed;
bad:
	b->failed = true;
	return false;
}

void afgw_metrics_counter(struct afgw_metrics_buf *b, const char *name, const char *help,
                          const char *const *labels, uint64_t value)
{
	if (!head(b, name, help, "counter", labels))
		return;
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64 "\n", value);
	put(b, num, (size_t)n);
}

static void put_double(struct afgw_metrics_buf *b, double value)
{
	if (isnan(value)) {
		puts_(b, "NaN\n");
	} else if (isinf(value)) {
		puts_(b, value > 0 ? "+Inf\n" : "-Inf\n");
	} else {
		char num[40];
		int n;
		/* Whole numbers (most gauges) print as %.17g would print them,
		 * without glibc's slow path for doubles (~6x the cost). */
		if (value >= -0x1p53 && value <= 0x1p53 && value == (double)(int64_t)value &&
		    !(value == 0 && signbit(value)))
			n = snprintf(num, sizeof(num), "%" PRId64 "\n", (int64_t)value);
		else
			n = snprintf(num, sizeof(num), "%.17g\n", value);
		put(b, num, (size_t)n);
	}
}

void afgw_metrics_gauge(struct afgw_metrics_buf *b, const char *name, const char *help,
                        const char *const *labels, double value)
{
	if (head(b, name, help, "gauge", labels))
		put_double(b, value);
}

void afgw_metrics_counter_f(struct afgw_metrics_buf *b, const char *name, const char *help,
                            const char *const *labels, double value)
{
	if (head(b, name, help, "counter", labels))
		put_double(b, value);
}

/* ---------------------------------------------------------------------- */
/* The server                                                             */

static enum MHD_Result queue_text(struct MHD_Connection *c, unsigned code, const char *text,
                                  size_t len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	enum MHD_Result ret = MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8"))
		ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve_metrics(struct afgw_metrics *m, struct MHD_Connection *c)
{
	struct afgw_metrics_buf b;
	memset(&b, 0, sizeof(b));

	pthread_mutex_lock(&m->lock);
	/* Room for the whole scrape in one allocation, most of the time. */
	reserve(&b, m->hint + m->hint / 8);
	if (m->ops.render)
		m->ops.render(m->ops.ud, &b);
	if (!b.failed)
		m->hint = b.len;
	pthread_mutex_unlock(&m->lock);

	if (b.failed) {
		free(b.p);
		return MHD_queue_response(c, MHD_HTTP_INTERNAL_SERVER_ERROR, m->r500);
	}
	/* From here microhttpd owns b.p (MUST_FREE: free() after sending). */
	struct MHD_Response *r = MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(b.p);
		return MHD_NO;
	}
	enum MHD_Result ret = MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE))
		ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve_health(struct afgw_metrics *m, struct MHD_Connection *c)
{
	char why[WHY_MAX];
	memset(why, 0, sizeof(why));
	bool ok = true;

	pthread_mutex_lock(&m->lock);
	if (m->ops.healthy)
		ok = m->ops.healthy(m->ops.ud, why, sizeof(why) - 1);
	pthread_mutex_unlock(&m->lock);

	if (ok)
		return queue_text(c, MHD_HTTP_OK, "ok\n", 3);
	/* One line: cut at the first line break, never empty. */
	why[sizeof(why) - 1] = '\0';
	size_t n = strcspn(why, "\r\n");
	if (n == 0) {
		memcpy(why, "unhealthy", 10);
		n = 9;
	}
	if (n > sizeof(why) - 2)
		n = sizeof(why) - 2;
	why[n++] = '\n';
	return queue_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, why, n);
}

/* Does the request announce a body (any length but 0, or chunks)? */
static bool has_body(struct MHD_Connection *c)
{
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return true;
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	return cl && cl[strspn(cl, "0")] != '\0';
}

static enum MHD_Result answer(struct afgw_metrics *m, struct MHD_Connection *c, const char *url,
                              const char *method)
{
	bool metrics = strcmp(url, "/metrics") == 0;
	bool health = strcmp(url, "/healthz") == 0;
	if (!metrics && !health)
		return MHD_queue_response(c, MHD_HTTP_NOT_FOUND, m->r404);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, m->r405);
	/* HEAD renders too: its Content-Length is the GET's. */
	return metrics ? serve_metrics(m, c) : serve_health(m, c);
}

/*
 * microhttpd's access handler, on its thread; *con_cls holds where the
 * request is.  microhttpd calls first when the headers are in, then with
 * the body, then once more when the body is done.  A response queued in
 * the first call means "do not read the body": microhttpd sends it and
 * closes the connection.  So a request that announces a body (nothing
 * here takes one) is answered at once and its body never read; the
 * others, bodiless, are answered in the last call, which keeps an
 * HTTP/1.1 connection open for the next scrape.  Calls after the answer
 * discard whatever they are given.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	static int waiting, answered;
	struct afgw_metrics *m = cls;

	if (*con_cls == &answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*con_cls == NULL && !has_body(c)) {
		*con_cls = &waiting;
		return MHD_YES;
	}
	if (*upload_size != 0) { /* a body after all: drop it, answer at the end */
		*upload_size = 0;
		return MHD_YES;
	}
	*con_cls = &answered;
	return answer(m, c, url, method);
}

/* listen, quoted for an error line: at most 64 bytes, controls as '?'. */
static const char *quoted(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	for (; s && *s && n + 1 < cap && n < 64; s++)
		out[n++] = (*s >= 0x20 && *s != 0x7f) ? *s : '?';
	out[n] = '\0';
	return out;
}

/*
 * "a.b.c.d:port" or "[v6]:port" into sa; port is decimal 0..65535.
 * -EINVAL with the reason in *why.
 */
static int parse_listen(const char *s, struct sockaddr_storage *sa, socklen_t *salen,
                        const char **why)
{
	char host[INET6_ADDRSTRLEN];
	const char *h, *he, *p;
	bool v6 = s[0] == '[';

	if (v6) {
		h = s + 1;
		he = strchr(h, ']');
		if (!he || he[1] != ':') {
			*why = "expected [IPV6]:PORT";
			return -EINVAL;
		}
		p = he + 2;
	} else {
		h = s;
		he = strchr(s, ':');
		if (!he) {
			*why = "no :PORT";
			return -EINVAL;
		}
		if (strchr(he + 1, ':')) {
			*why = "an IPv6 address goes in brackets: [IPV6]:PORT";
			return -EINVAL;
		}
		p = he + 1;
	}

	size_t hl = (size_t)(he - h);
	if (hl == 0 || hl >= sizeof(host)) {
		*why = "expected IPV4:PORT or [IPV6]:PORT";
		return -EINVAL;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';

	unsigned long port = 0;
	size_t pl = 0;
	for (; p[pl]; pl++) {
		if (p[pl] < '0' || p[pl] > '9' || pl >= 5) {
			*why = "the port is not a number 0..65535";
			return -EINVAL;
		}
		port = port * 10 + (unsigned long)(p[pl] - '0');
	}
	if (pl == 0 || port > 65535) {
		*why = "the port is not a number 0..65535";
		return -EINVAL;
	}

	memset(sa, 0, sizeof(*sa));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
			*why = "not an IPv6 address";
			return -EINVAL;
		}
		*salen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)sa;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
			*why = "not an IPv4 address (names are not resolved)";
			return -EINVAL;
		}
		*salen = sizeof(*a);
	}
	return 0;
}

/* A bound, listening, non-blocking socket for sa, or -errno. */
static int listen_on(const struct sockaddr_storage *sa, socklen_t salen)
{
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int one = 1, zero = 0;
	/* Restart while old connections sit in TIME_WAIT (Linux still
	 * refuses a second listener). */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	/* "[::]:port" takes IPv4 too, whatever net.ipv6.bindv6only says. */
	if (sa->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)sa, salen) != 0 || listen(fd, (int)CONN_LIMIT) != 0)
		goto fail;
	return fd;
fail:;
	int rc = -errno;
	close(fd);
	return rc;
}

int afgw_metrics_open(const char *listen, const struct afgw_metrics_ops *ops,
                      struct afgw_metrics **out, char *err, size_t errlen)
{
	struct afgw_metrics *m = NULL;
	struct sockaddr_storage sa;
	socklen_t salen = 0;
	const char *why = NULL;
	char q[80];
	int fd = -1, rc;

	*out = NULL;
	if (!listen || !ops) {
		snprintf(err, errlen, "no listen address");
		return -EINVAL;
	}
	rc = parse_listen(listen, &sa, &salen, &why);
	if (rc < 0) {
		snprintf(err, errlen, "listen address \"%s\": %s", quoted(listen, q, sizeof(q)),
		         why);
		return rc;
	}

	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->ops = *ops;
	rc = pthread_mutex_init(&m->lock, NULL);
	if (rc != 0) {
		free(m);
		snprintf(err, errlen, "%s", strerror(rc));
		return -rc;
	}

	static const char nf[] = "not found\n", na[] = "method not allowed\n",
	                  ie[] = "rendering the metrics failed\n";
	m->r404 =
	    MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
	m->r405 =
	    MHD_create_response_from_buffer(sizeof(na) - 1, (void *)na, MHD_RESPMEM_PERSISTENT);
	m->r500 =
	    MHD_create_response_from_buffer(sizeof(ie) - 1, (void *)ie, MHD_RESPMEM_PERSISTENT);
	if (!m->r404 || !m->r405 || !m->r500 ||
	    !MHD_add_response_header(m->r405, MHD_HTTP_HEADER_ALLOW, "GET, HEAD")) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	fd = listen_on(&sa, salen);
	if (fd < 0) {
		rc = fd;
		snprintf(err, errlen, "cannot listen on %s: %s", quoted(listen, q, sizeof(q)),
		         strerror(-rc));
		goto fail;
	}
	/* The socket's identity, to tell below whether a failed start
	 * closed it (microhttpd 0.9.x does on some paths, not all). */
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		close(fd);
		snprintf(err, errlen, "%s", strerror(-rc));
		goto fail;
	}

	/* No MHD_USE_ERROR_LOG: microhttpd stays silent; errors are ours. */
	errno = 0;
	m->d = MHD_start_daemon(
	    MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, m, MHD_OPTION_LISTEN_SOCKET,
	    (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT, MHD_OPTION_END);
	if (!m->d) {
		rc = errno > 0 ? -errno : -EIO;
		struct stat now;
		if (fstat(fd, &now) == 0 && now.st_ino == st.st_ino && now.st_dev == st.st_dev)
			close(fd);
		snprintf(err, errlen, "cannot start the HTTP server on %s: %s",
		         quoted(listen, q, sizeof(q)), strerror(-rc));
		goto fail;
	}
	*out = m;
	return 0;

fail:
	if (m->r500)
		MHD_destroy_response(m->r500);
	if (m->r405)
		MHD_destroy_response(m->r405);
	if (m->r404)
		MHD_destroy_response(m->r404);
	pthread_mutex_destroy(&m->lock);
	free(m);
	return rc;
}

unsigned afgw_metrics_port(const struct afgw_metrics *m)
{
	if (!m)
		return 0;
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	return i ? i->port : 0;
}

void afgw_metrics_close(struct afgw_metrics *m)
{
	if (!m)
		return;
	/* Joins microhttpd's thread, so a scrape in progress ends first;
	 * closes the connections and the listening socket. */
	MHD_stop_daemon(m->d);
	MHD_destroy_response(m->r500);
	MHD_destroy_response(m->r405);
	MHD_destroy_response(m->r404);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
