/*
 * common.h - small types every stage shares.
 *
 * struct afgw_str is a borrowed slice: it points into a buffer owned by
 * someone else (usually the packet or a reassembly buffer) and is not
 * NUL-terminated.  It is valid until the owner of that buffer moves on
 * (for a worker: until it takes its next packet).  Anything that must live
 * longer is copied by whoever keeps it.
 */
#ifndef AFGW_COMMON_H
#define AFGW_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define AFGW_VERSION "0.1.0"

struct afgw_str {
	const char *p;
	size_t len;
};

/*
 * *t = now on clock plus ms: a deadline for pthread_cond_timedwait
 * (CLOCK_REALTIME) or a retry time (CLOCK_MONOTONIC).
 */
static inline void afgw_deadline(struct timespec *t, clockid_t clock, unsigned ms)
{
	clock_gettime(clock, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* The monotonic clock (durations, timers, deadlines) in ns, ms and seconds. */
static inline uint64_t afgw_mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline uint64_t afgw_mono_ms(void)
{
	return afgw_mono_ns() / 1000000u;
}

static inline double afgw_mono_s(void)
{
	return (double)afgw_mono_ns() / 1e9;
}

/* The wall clock in microseconds since the epoch (event times). */
static inline uint64_t afgw_wall_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

#define AFGW_STR_LIT(s) ((struct afgw_str){ (s), sizeof(s) - 1 })

/* Big-endian 32-bit fields of wire formats (SMPP, bundles). */
static inline uint32_t afgw_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void afgw_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline struct afgw_str afgw_str_make(const char *p, size_t len)
{
	struct afgw_str s = { p, len };
	return s;
}

static inline bool afgw_str_empty(struct afgw_str s)
{
	return s.p == NULL || s.len == 0;
}

/* Byte-exact comparison with a NUL-terminated string. */
static inline bool afgw_str_eq(struct afgw_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

/* ASCII case-insensitive comparison with a NUL-terminated string. */
static inline bool afgw_str_caseeq(struct afgw_str s, const char *lit)
{
	size_t n = strlen(lit);
	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char a = (unsigned char)s.p[i], b = (unsigned char)lit[i];
		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b + 32);
		if (a != b)
			return false;
	}
	return true;
}

#define AFGW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Make the pages of a fresh zeroed allocation (calloc's) now, by a write
 * to each.  A page of a fresh mapping that is read first is the shared
 * zero page, and the first write to it then faults and flushes the TLB of
 * every core the process runs on: for a table read before it is written
 * (a cache, a hash table), better once here than on the packet path.
 * (A memset of zeros after malloc would not do: GCC makes the pair a
 * calloc, which skips the writes.)
 */
static inline void afgw_touch_pages(void *p, size_t n)
{
	volatile char *b = p;
	for (size_t i = 0; i < n; i += 4096)
		b[i] = 0;
}

/*
 * memset(p, 0, n) for a struct cleared once per frame, message or PDU.
 * GCC inlines a memset of a hundred bytes or more as "rep stos", whose
 * start-up costs more than the stores (measured on the bench machine:
 * 22 ns for 128 bytes, 72 ns for 880, against a few ns of plain stores).
 * Sixteen bytes a store; the empty asm keeps GCC from recognising the
 * loop as a memset and making it one again.  The tail of under sixteen
 * bytes is a memset GCC writes as a few moves.
 */
static inline void afgw_zero(void *p, size_t n)
{
	char *b = p;
	size_t i = 0;
#if defined(__SSE2__)
	/* four stores a round: with one, the loop's own count, compare and
	 * branch were three of every four instructions */
	for (; i + 64 <= n; i += 64) {
		__m128i *w = (__m128i *)(void *)(b + i);
		_mm_storeu_si128(w, _mm_setzero_si128());
		_mm_storeu_si128(w + 1, _mm_setzero_si128());
		_mm_storeu_si128(w + 2, _mm_setzero_si128());
		_mm_storeu_si128(w + 3, _mm_setzero_si128());
		__asm__ volatile("" : : "r"(b) : "memory");
	}
	for (; i + 16 <= n; i += 16) {
		_mm_storeu_si128((__m128i *)(void *)(b + i), _mm_setzero_si128());
		__asm__ volatile("" : : "r"(b) : "memory");
	}
#endif
	memset(b + i, 0, n - i);
}

#endif
