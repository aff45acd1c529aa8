/*
 * metrics.h - the gateway's metrics and health endpoint: Prometheus text
 * format on GET /metrics, GET /healthz, served by libmicrohttpd from its
 * own thread.  gateway/metrics.c, the only file with microhttpd.h.
 *
 * The daemon owns the numbers; on every scrape the server calls the
 * daemon's render callback, which appends samples with the helpers below
 * (they write the "# HELP" / "# TYPE" lines the first time a name appears
 * and escape label values).  Samples of one name must be appended one
 * after the other.  No subscriber data may ever be a label value: the
 * helpers are for counters by protocol, action, category, reason,
 * worker.
 *
 * Thread: the render and health callbacks run in the server's thread,
 * one scrape at a time; they must read the daemon's state with atomics
 * (or their own lock).
 */
#ifndef AFGW_METRICS_H
#define AFGW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AFGW_METRICS_ERR 256

/*
 * The text of one scrape, growing as samples are appended.  The server
 * makes one per scrape; a zeroed struct is an empty one, and p is
 * malloc'd (its holder frees it: tests).
 */
struct afgw_metrics_buf {
	char *p;
	size_t len, cap;
	bool failed;                   /* out of memory: the scrape answers 500 */
	char last[128];                /* the name whose HELP / TYPE was written last */
};

/*
 * Append one sample "name{labels} value".  labels is NULL or a
 * NULL-terminated list of key, value, key, value ...; values are escaped
 * (backslash, double quote, newline).  help is the metric's one-line
 * description (written once per name; NULL: no HELP line).  Names are
 * [a-zA-Z_:][a-zA-Z0-9_:]* of at most 127 bytes, label names the same
 * without ':' (a bad name is skipped and makes the scrape fail with 500:
 * a bug, not data).  Gauges print as %.17g, NaN and +Inf / -Inf as such.
 */
void afgw_metrics_counter(struct afgw_metrics_buf *b, const char *name, const char *help,
			  const char *const *labels, uint64_t value);
void afgw_metrics_gauge(struct afgw_metrics_buf *b, const char *name, const char *help,
			const char *const *labels, double value);
/* A counter whose value is not whole (seconds): printed as a gauge is. */
void afgw_metrics_counter_f(struct afgw_metrics_buf *b, const char *name, const char *help,
			    const char *const *labels, double value);

struct afgw_metrics_ops {
	void *ud;
	/* Append every sample (GET /metrics). */
	void (*render)(void *ud, struct afgw_metrics_buf *b);
	/* true when healthy; else one line in why (GET /healthz: 200 "ok" or 503 why). */
	bool (*healthy)(void *ud, char *why, size_t whylen);
};

struct afgw_metrics;

/*
 * Listen on "ADDRESS:PORT" ("127.0.0.1:9477", "[::1]:9477"; port 0 picks
 * one: see afgw_metrics_port) and serve until closed.  Anything but GET
 * (or HEAD) of /metrics and /healthz gets 404 / 405.  Connections are
 * bounded (at most 32, 10 s timeout).  Returns 0, or -errno with one line
 * in err (bad address, cannot bind).
 */
int afgw_metrics_open(const char *listen, const struct afgw_metrics_ops *ops,
		      struct afgw_metrics **out, char *err, size_t errlen);
/* The port actually bound. */
unsigned afgw_metrics_port(const struct afgw_metrics *m);
/* Stop serving (waits for a scrape in progress); NULL-safe. */
void afgw_metrics_close(struct afgw_metrics *m);

#endif
