/*
 * ctl_common.c - what afgwctl's command groups share: where Redis is.
 *
 * Every command that talks to Redis takes the address from --redis, else
 * from the gateway config of -c, else from $AFGW_REDIS, and the password,
 * database and timeouts from that config (the defaults without -c), so an
 * operator points afgwctl at a fleet's Redis with the file the gateways
 * use.
 */
#include <stdio.h>
#include <stdlib.h>

#include "afgw/redis.h"
#include "ctl.h"

int ctl_config_load(const char *cmd, const char *path, struct afgw_config *cfg)
{
	char err[AFGW_CONFIG_ERR];
	afgw_config_default(cfg);
	if (path && afgw_config_load(cfg, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "afgwctl %s: %s\n", cmd, err);
		return 2;
	}
	return 0;
}

int ctl_redis_settings(const char *cmd, const char *redis, const struct afgw_config *cfg,
		       struct afgw_config_redis *rc)
{
	const char *url = redis ? redis : cfg->redis.url ? cfg->redis.url : getenv("AFGW_REDIS");
	if (!url || !*url) {
		fprintf(stderr, "afgwctl %s: no Redis address (--redis URL, -c CONFIG or $AFGW_REDIS)\n",
			cmd);
		return 2;
	}
	*rc = cfg->redis;
	rc->url = (char *)url; /* borrowed: rc is never freed as a config */
	return 0;
}

int ctl_redis_connect(const char *cmd, const char *redis, const struct afgw_config *cfg,
		      struct afgw_redis **out)
{
	struct afgw_config_redis rc;
	int r = ctl_redis_settings(cmd, redis, cfg, &rc);
	if (r)
		return r;
	char err[AFGW_CONFIG_ERR];
	if (afgw_redis_connect(&rc, out, err, sizeof(err)) != 0) {
		fprintf(stderr, "afgwctl %s: %s\n", cmd, err);
		return 1;
	}
	return 0;
}
