/*
 * redis.h - a blocking Redis connection for tools and tests (afgwctl's
 * writes), gateway/redis.c.  The gateway's own threads (replica, fleet
 * counters, notifier) open theirs inside their modules; only the Redis
 * files include hiredis.
 */
#ifndef AFGW_REDIS_H
#define AFGW_REDIS_H

#include <stddef.h>

#include "afgw/config.h"

struct afgw_redis;

/*
 * Connect to rc->url (config.h), AUTH and SELECT as configured.  Returns 0,
 * -ENOMEM or -ECONNREFUSED with one line in err.
 */
int afgw_redis_connect(const struct afgw_config_redis *rc, struct afgw_redis **out, char *err,
		       size_t errlen);
void afgw_redis_close(struct afgw_redis *c);

#endif
