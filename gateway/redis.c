/*
 * redis.c - Redis connections: URL parsing, connect with timeouts, AUTH and
 * SELECT, for the Redis files of the gateway (redis_conn.h) and for tools
 * (redis.h).  Nothing here runs per packet.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afgw/common.h"
#include "redis_conn.h"

static struct timeval tv_ms(unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	return tv;
}

int afgw_redis_url_parse(const char *url, bool *is_unix, char *hostbuf, size_t hostlen, int *port)
{
	const char *rest;
	if (!strncmp(url, "unix://", 7)) {
		rest = url + 7;
		if (rest[0] != '/' || strlen(rest) >= hostlen)
			return -EINVAL;
		*is_unix = true;
		memcpy(hostbuf, rest, strlen(rest) + 1);
		*port = 0;
		return 0;
	}
	if (!strncmp(url, "tcp://", 6))
		rest = url + 6;
	else if (!strncmp(url, "redis://", 8))
		rest = url + 8;
	else
		return -EINVAL;
	const char *colon = strrchr(rest, ':');
	size_t hl = colon ? (size_t)(colon - rest) : strlen(rest);
	if (hl == 0 || hl >= hostlen)
		return -EINVAL;
	memcpy(hostbuf, rest, hl);
	hostbuf[hl] = '\0';
	*port = 6379;
	if (colon) {
		char *end;
		long v = strtol(colon + 1, &end, 10);
		if (*end || end == colon + 1 || v < 1 || v > 65535)
			return -EINVAL;
		*port = (int)v;
	}
	*is_unix = false;
	return 0;
}

redisContext *afgw_redis_ctx_open(const struct afgw_config_redis *rc, unsigned extra_timeout_ms,
				   char *err, size_t errlen)
{
	char host[256];
	bool is_unix;
	int port;
	redisContext *ctx;
	redisReply *rep;

	if (!rc->url || afgw_redis_url_parse(rc->url, &is_unix, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "bad Redis URL '%s' (unix:///path, tcp://host:port)",
			 rc->url ? rc->url : "");
		return NULL;
	}
	ctx = is_unix ? redisConnectUnixWithTimeout(host, tv_ms(rc->connect_timeout_ms))
		      : redisConnectWithTimeout(host, port, tv_ms(rc->connect_timeout_ms));
	if (!ctx || ctx->err) {
		snprintf(err, errlen, "cannot connect to Redis at %s: %s", rc->url,
			 ctx ? ctx->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(ctx, tv_ms(rc->command_timeout_ms + extra_timeout_ms)) != REDIS_OK) {
		snprintf(err, errlen, "Redis at %s: cannot set timeout", rc->url);
		goto fail;
	}
	if (rc->password) {
		rep = rc->user ? redisCommand(ctx, "AUTH %s %s", rc->user, rc->password)
			       : redisCommand(ctx, "AUTH %s", rc->password);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "Redis at %s: AUTH failed: %s", rc->url,
				 rep ? rep->str : ctx->errstr);
			freeReplyObject(rep);
			goto fail;
		}
		freeReplyObject(rep);
	}
	if (rc->db) {
		rep = redisCommand(ctx, "SELECT %u", rc->db);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "Redis at %s: SELECT %u failed: %s", rc->url, rc->db,
				 rep ? rep->str : ctx->errstr);
			freeReplyObject(rep);
			goto fail;
		}
		freeReplyObject(rep);
	}
	return ctx;
fail:
	if (ctx)
		redisFree(ctx);
	return NULL;
}

int afgw_redis_link_up(struct afgw_redis_link *l)
{
	if (l->ctx)
		return 1;
	if (!l->rc.url)
		return 0;
	if (l->down) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec < l->retry_at.tv_sec ||
		    (now.tv_sec == l->retry_at.tv_sec && now.tv_nsec < l->retry_at.tv_nsec))
			return 0;
	}
	l->ctx = afgw_redis_ctx_open(&l->rc, 0, l->why, sizeof(l->why));
	if (!l->ctx)
		return -1;
	if (!l->down)
		return 1;
	l->down = false;
	return 2;
}

bool afgw_redis_link_drop(struct afgw_redis_link *l, const char *why)
{
	if (why != l->why)
		snprintf(l->why, sizeof(l->why), "%s", why);
	if (l->ctx) {
		redisFree(l->ctx);
		l->ctx = NULL;
	}
	afgw_deadline(&l->retry_at, CLOCK_MONOTONIC, l->rc.retry_ms);
	bool starts = !l->down;
	l->down = true;
	return starts;
}

void afgw_redis_thread_init(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int afgw_redis_connect(const struct afgw_config_redis *rc, struct afgw_redis **out, char *err,
		       size_t errlen)
{
	struct afgw_redis *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ctx = afgw_redis_ctx_open(rc, 0, err, errlen);
	if (!c->ctx) {
		free(c);
		return -ECONNREFUSED;
	}
	*out = c;
	return 0;
}

void afgw_redis_close(struct afgw_redis *c)
{
	if (!c)
		return;
	redisFree(c->ctx);
	free(c);
}
