/*
 * log.h - one-line diagnostics on stderr, gateway/log.c.
 *
 * Never log per packet: malformed traffic is counted, not logged.  Never
 * log SMS text or subscriber numbers in clear.
 */
#ifndef AFGW_LOG_H
#define AFGW_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum afgw_log_level { AFGW_LOG_ERROR, AFGW_LOG_WARN, AFGW_LOG_INFO, AFGW_LOG_DEBUG };

void afgw_log_set_level(enum afgw_log_level l);
void afgw_log_set_prog(const char *prog);
void afgw_log(enum afgw_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write one error line into err (errlen bytes; NULL or 0: nothing) and
 * return rc: the "-errno with a message" pattern of parsers and loaders. */
int afgw_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Start-up only: print "prog: message" and exit with status. */
_Noreturn void afgw_fatal(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
