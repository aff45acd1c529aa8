/*
 * json.h - a small JSON writer into a growable buffer, gateway/json.c.
 *
 * Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become
 * U+FFFD, so the output is always valid JSON whatever the input.  The
 * buffer grows by doubling and is reused between lines, so steady-state
 * writing does not allocate.  Errors are sticky: after an allocation
 * failure every call is a no-op and afgw_jbuf_failed() says so.
 */
#ifndef AFGW_JSON_H
#define AFGW_JSON_H

#include <stdio.h>

#include "afgw/common.h"

struct afgw_jbuf {
	char *p;
	size_t len, cap;
	bool failed;
	bool need_comma;           /* a value was written at this nesting level */
};

void afgw_jbuf_init(struct afgw_jbuf *b);
void afgw_jbuf_fini(struct afgw_jbuf *b);
void afgw_jbuf_reset(struct afgw_jbuf *b);
/* Write b's bytes to out and empty b (afgw_jbuf_reset); false if b had
 * failed or the write fell short. */
bool afgw_jbuf_write(struct afgw_jbuf *b, FILE *out);
static inline bool afgw_jbuf_failed(const struct afgw_jbuf *b)
{
	return b->failed;
}

void afgw_json_raw(struct afgw_jbuf *b, const char *s, size_t n);
void afgw_json_obj_begin(struct afgw_jbuf *b);
void afgw_json_obj_end(struct afgw_jbuf *b);
void afgw_json_arr_begin(struct afgw_jbuf *b);
void afgw_json_arr_end(struct afgw_jbuf *b);
/* key: a NUL-terminated ASCII name that needs no escaping. */
void afgw_json_key(struct afgw_jbuf *b, const char *key);
/* An escaped string value; p NULL writes null. */
void afgw_json_str(struct afgw_jbuf *b, const char *p, size_t n);
void afgw_json_cstr(struct afgw_jbuf *b, const char *s);
void afgw_json_int(struct afgw_jbuf *b, long long v);
void afgw_json_uint(struct afgw_jbuf *b, unsigned long long v);
void afgw_json_bool(struct afgw_jbuf *b, bool v);
void afgw_json_null(struct afgw_jbuf *b);
/* Write string value with every CRLF/LF + WSP fold collapsed to one space. */
void afgw_json_str_unfold(struct afgw_jbuf *b, const char *p, size_t n);

/*
 * For writers that put out a whole object at once (event.c): room for n
 * more bytes at the end of the buffer.  Returns where they go, or NULL
 * once the buffer has failed; the caller writes at most n bytes there and
 * then sets b->len to the end of what it wrote (and need_comma as due).
 */
char *afgw_jbuf_room(struct afgw_jbuf *b, size_t n);

/* Most bytes afgw_json_put_str() writes for n bytes of input. */
#define AFGW_JSON_STR_MAX(n) (6 * (size_t)(n) + 2)

/*
 * p[0..n) as a JSON string, quotes included, escaped exactly as
 * afgw_json_str() (unfold: afgw_json_str_unfold()) writes it, at o, which
 * has room for AFGW_JSON_STR_MAX(n) bytes.  Returns the end of the output.
 */
char *afgw_json_put_str(char *o, const char *p, size_t n, bool unfold);

/* Most bytes afgw_json_put_int() writes. */
#define AFGW_JSON_INT_MAX 20

/* v in decimal at o, which has room for AFGW_JSON_INT_MAX bytes.  Returns the end. */
char *afgw_json_put_int(char *o, long long v);
char *afgw_json_put_uint(char *o, unsigned long long v);

/* "2026-11-21T08:00:00.123456Z" into out (at least 28 bytes). */
size_t afgw_rfc3339_us(uint64_t ts_us, char *out, size_t cap);

/* Whether p[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool afgw_utf8_valid(const char *p, size_t n);

#endif
