/*
 * redis_conn.h - for the files that talk to Redis themselves (reputation.c,
 * fleet.c, subscriber.c, notify.c): the hiredis context behind struct
 * afgw_redis, and how a config's Redis section becomes a connection.
 * Internal to gateway/: nothing outside the Redis files includes hiredis.
 */
#ifndef AFGW_REDIS_CONN_H
#define AFGW_REDIS_CONN_H

#include <hiredis/hiredis.h>
#include <stdbool.h>

#include "afgw/redis.h"

struct afgw_redis {
	redisContext *ctx;
};

/*
 * Parse "unix:///path", "tcp://host:port" or "redis://host:port" (port
 * defaults to 6379); host is copied into hostbuf.  Returns 0 or -EINVAL.
 */
int afgw_redis_url_parse(const char *url, bool *is_unix, char *hostbuf, size_t hostlen,
			 int *port);

/*
 * Connect, AUTH, SELECT, with the config's timeouts (commands get
 * extra_timeout_ms more, for blocking reads).  Returns a context, or NULL
 * with one line in err.
 */
redisContext *afgw_redis_ctx_open(const struct afgw_config_redis *rc, unsigned extra_timeout_ms,
				  char *err, size_t errlen);

/*
 * The connection a background thread keeps (fleet counters, notifier):
 * reconnect no more often than every retry_ms, and report an outage once.
 * rc's strings are borrowed.  One thread only.
 */
struct afgw_redis_link {
	struct afgw_config_redis rc;
	redisContext *ctx;             /* NULL: not connected */
	bool down;                     /* in an outage */
	struct timespec retry_at;      /* CLOCK_MONOTONIC: no attempt before */
	char why[256];                 /* the last failure, for the log line */
};

/*
 * Make sure l is connected: 1 it is, 2 it is again after an outage (log
 * that), 0 not connected and not yet time to retry (or no URL), -1 an
 * attempt failed (l->why; call afgw_redis_link_drop).
 */
int afgw_redis_link_up(struct afgw_redis_link *l);

/*
 * Forget the connection (why is copied first: it may be the context's own
 * errstr) and schedule the next attempt.  Returns true when this starts an
 * outage: the caller logs l->why and counts it once.
 */
bool afgw_redis_link_drop(struct afgw_redis_link *l, const char *why);

/*
 * For a thread that talks to Redis: block SIGPIPE in it, so that writing to
 * a server that went away fails with EPIPE (an outage, counted) instead of
 * killing the process.
 */
void afgw_redis_thread_init(void);

/* The reply has this type (and is not NULL). */
static inline bool afgw_redis_reply_is(const redisReply *rep, int type)
{
	return rep && rep->type == type;
}

#endif
