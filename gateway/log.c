/*
 * log.c - one-line diagnostics on stderr, prefixed with the program name.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "afgw/log.h"

static enum afgw_log_level level = AFGW_LOG_INFO;
static const char *prog = "afgw";

void afgw_log_set_level(enum afgw_log_level l)
{
	level = l;
}

void afgw_log_set_prog(const char *p)
{
	prog = p;
}

void afgw_log(enum afgw_log_level l, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	va_list ap;
	if (l > level)
		return;
	fprintf(stderr, "%s: %s: ", prog, names[l]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void afgw_fatal(int status, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

int afgw_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}
