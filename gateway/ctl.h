/*
 * ctl.h - afgwctl's command groups, one file each (afgwctl.c dispatches).
 */
#ifndef AFGW_CTL_H
#define AFGW_CTL_H

#include "afgw/config.h"

struct afgw_redis;

/* afgwctl number ... (ctl_number.c); argv[0] is "number". */
int ctl_number_main(int argc, char **argv);
/* afgwctl report ... (ctl_number.c); argv[0] is "report". */
int ctl_report_main(int argc, char **argv);

/* afgwctl keygen ... (ctl_keys.c); argv[0] is "keygen". */
int ctl_keygen_main(int argc, char **argv);
/* afgwctl sub add|del|show ... (ctl_sub.c); argv[0] is "sub". */
int ctl_sub_main(int argc, char **argv);
/* afgwctl inbox ... (ctl_inbox.c); argv[0] is "inbox". */
int ctl_inbox_main(int argc, char **argv);
/* afgwctl bundle build|sign|verify|show|push ... (ctl_bundle.c); argv[0] is "bundle". */
int ctl_bundle_main(int argc, char **argv);

/* ---- shared (ctl_common.c); messages start "afgwctl CMD: " ---- */

/* *cfg = the defaults, then the gateway config at path (-c; NULL: none).
 * Returns 0, or 2 with the file:line error printed (*cfg then needs no fini). */
int ctl_config_load(const char *cmd, const char *path, struct afgw_config *cfg);
/* *rc = cfg's Redis settings with the address of --redis (redis; NULL:
 * none), else cfg's, else $AFGW_REDIS; rc->url is borrowed, not owned.
 * Returns 0, or 2 with "no Redis address" printed. */
int ctl_redis_settings(const char *cmd, const char *redis, const struct afgw_config *cfg,
		       struct afgw_config_redis *rc);
/* Connect with those settings.  Returns 0, 1 (cannot connect, printed) or 2. */
int ctl_redis_connect(const char *cmd, const char *redis, const struct afgw_config *cfg,
		      struct afgw_redis **out);

#endif
