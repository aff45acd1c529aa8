/*
 * test_spool.c - the warnings' local spool: the on-disk record format,
 * order across segments, release and unlink, reopen, torn tails cut at
 * every byte, damage in the middle, the size bound, and a process killed
 * with SIGKILL while appending.
 *
 * Records carry their sequence number: seq_record(i) is a payload of
 * seq_len(i) bytes whose first bytes are i and whose rest is derived from
 * i, so every record read back is checked byte for byte.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "afgw/spool.h"
#include "check.h"

#define HDR 12
#define BIG (60u * 1024) /* 68 records of 60 KiB + 12 fill a 4 MiB segment */

static uint8_t recbuf[AFGW_SPOOL_RECORD_MAX + 1];

/*
 * Record i of a sequence.  Sizes: mode 0 1 .. 3000 bytes, mode 1 always
 * BIG, mode 2 as mode 0 but every 7th record 20000 .. 59999 bytes.
 */
static size_t seq_len(uint64_t i, int mode)
{
	if (mode == 1)
		return BIG;
	if (mode == 2 && i % 7 == 0)
		return 20000 + (size_t)(i % 40000);
	return 1 + (size_t)((i * 2654435761u) % 3000);
}

static const uint8_t *seq_record(uint64_t i, int mode, size_t *len)
{
	size_t n = seq_len(i, mode);
	uint64_t x = i * 0x9E3779B97F4A7C15ull + 1;
	for (size_t k = 0; k < n; k++) {
		if (k < 8) {
			recbuf[k] = (uint8_t)(i >> (8 * k));
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			recbuf[k] = (uint8_t)x;
		}
	}
	*len = n;
	return recbuf;
}

static bool is_record(const void *p, size_t n, uint64_t i, int mode)
{
	size_t want;
	const uint8_t *r = seq_record(i, mode, &want);
	return n == want && memcmp(p, r, n) == 0;
}

static int append_seq(struct afgw_spool *s, uint64_t i, int mode)
{
	size_t n;
	const uint8_t *r = seq_record(i, mode, &n);
	return afgw_spool_append(s, r, n);
}

/* Read up to max records from the reader's position on; they must be
 * first, first+1, ...  Returns how many matched before the first
 * mismatch or the end. */
static uint64_t read_n(struct afgw_spool *s, uint64_t first, uint64_t max, int mode)
{
	const void *p;
	size_t n;
	uint64_t k = 0;
	while (k < max && afgw_spool_next(s, &p, &n) == 0) {
		if (!is_record(p, n, first + k, mode)) {
			fprintf(stderr, "record %" PRIu64 " differs\n", first + k);
			break;
		}
		k++;
	}
	return k;
}

/* The same up to the end of the spool, which must follow: the count read,
 * or UINT64_MAX if anything else came. */
static uint64_t read_seq(struct afgw_spool *s, uint64_t first, int mode)
{
	uint64_t k = read_n(s, first, UINT64_MAX, mode);
	const void *p;
	size_t n;
	return afgw_spool_next(s, &p, &n) == -ENOENT ? k : UINT64_MAX;
}

static uint64_t counter(struct afgw_spool *s, enum afgw_spool_counter c)
{
	uint64_t v[AFGW_SPOOL_C_COUNT];
	afgw_spool_counters(s, v);
	return v[c];
}

static char *make_dir(void)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/afgw-spool-XXXXXX");
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		exit(1);
	}
	return path;
}

/* Remove the plain files in dir. */
static void clear_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[512];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

/* Remove dir and the plain files in it. */
static void remove_dir(const char *dir)
{
	clear_dir(dir);
	rmdir(dir);
}

static void seg_path(char *out, size_t cap, const char *dir, uint64_t num)
{
	snprintf(out, cap, "%s/spool-%020" PRIu64 ".seg", dir, num);
}

static bool seg_exists(const char *dir, uint64_t num)
{
	char p[512];
	seg_path(p, sizeof(p), dir, num);
	return access(p, F_OK) == 0;
}

static long long seg_size(const char *dir, uint64_t num)
{
	char p[512];
	struct stat st;
	seg_path(p, sizeof(p), dir, num);
	return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static unsigned count_segments(const char *dir)
{
	DIR *d = opendir(dir);
	unsigned n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "spool-", 6) == 0)
			n++;
	if (d)
		closedir(d);
	return n;
}

/* Whole file into a malloc'd buffer. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void spit(const char *path, const uint8_t *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, b, len) == (ssize_t)len);
	close(fd);
}

/* The test's own bit-at-a-time CRC-32C, independent of spool.c's tables. */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
	}
	return c ^ 0xFFFFFFFFu;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

/* A record built by hand, as the format says: magic, LE length, LE CRC-32C
 * of the length bytes then the payload, payload.  Returns its size. */
static size_t put_record(uint8_t *h, const uint8_t *payload, size_t len)
{
	static uint8_t cov[4 + AFGW_SPOOL_RECORD_MAX];
	memcpy(h, "AFSR", 4);
	put_le32(h + 4, (uint32_t)len);
	memcpy(cov, h + 4, 4);
	memcpy(cov + 4, payload, len);
	put_le32(h + 8, crc32c_bitwise(cov, 4 + len));
	memcpy(h + HDR, payload, len);
	return HDR + len;
}

/* Bytes on disk are exactly the documented record format; modes 0700 / 0600. */
static void test_format(void)
{
	/* The reference check value of CRC-32C: "123456789" -> 0xE3069283 */
	CHECK_INT(crc32c_bitwise((const uint8_t *)"123456789", 9), 0xE3069283u);

	char *top = make_dir();
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/spool", top);
	struct afgw_spool *s;
	CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
	struct stat st;
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK_INT(afgw_spool_append(s, "abc", 3), 0);
	CHECK_INT(afgw_spool_sync(s), 0);
	CHECK_INT(afgw_spool_pending(s), 1);
	CHECK_INT(afgw_spool_pending_bytes(s), HDR + 3);

	char p[512];
	seg_path(p, sizeof(p), dir, 1);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
	size_t n;
	uint8_t *b = slurp(p, &n);
	/* The CRC covers the length bytes then the payload: 03 00 00 00 'a' 'b' 'c' */
	static const uint8_t covered[] = {0x03, 0x00, 0x00, 0x00, 'a', 'b', 'c'};
	uint32_t c = crc32c_bitwise(covered, sizeof(covered));
	/* clang-format off */
	const uint8_t want[HDR + 3] = {
		'A', 'F', 'S', 'R',                                     /* magic "AFSR" */
		0x03, 0x00, 0x00, 0x00,                                 /* length 3, LE */
		(uint8_t)c, (uint8_t)(c >> 8), (uint8_t)(c >> 16), (uint8_t)(c >> 24), /* CRC, LE */
		'a', 'b', 'c',                                          /* payload "abc" */
	};
	/* clang-format on */
	CHECK(b && n == sizeof(want) && memcmp(b, want, n) == 0);
	free(b);

	const void *r;
	size_t len;
	CHECK_INT(afgw_spool_next(s, &r, &len), 0);
	CHECK_MEM(r, len, "abc");
	CHECK_INT(afgw_spool_next(s, &r, &len), -ENOENT);

	/* The counter names */
	CHECK_CSTR(afgw_spool_counter_name(AFGW_SPOOL_C_APPENDED), "appended");
	CHECK_CSTR(afgw_spool_counter_name(AFGW_SPOOL_C_RELEASED), "released");
	CHECK_CSTR(afgw_spool_counter_name(AFGW_SPOOL_C_FULL), "full");
	CHECK_CSTR(afgw_spool_counter_name(AFGW_SPOOL_C_TORN_BYTES), "torn_bytes");
	CHECK_CSTR(afgw_spool_counter_name(AFGW_SPOOL_C_SKIPPED_BYTES), "skipped_bytes");
	CHECK_CSTR(afgw_spool_counter_name(AFGW_SPOOL_C_IO_ERRORS), "io_errors");
	afgw_spool_close(s);

	/* Files that are not segments are left alone and ignored */
	char junk[512];
	snprintf(junk, sizeof(junk), "%s/spool-1.seg", dir);
	spit(junk, (const uint8_t *)"AFSR junk", 9);
	snprintf(junk, sizeof(junk), "%s/notes.txt", dir);
	spit(junk, (const uint8_t *)"hello", 5);
	snprintf(junk, sizeof(junk), "%s/spool-99999999999999999999.seg", dir); /* > 2^64 */
	spit(junk, (const uint8_t *)"x", 1);
	CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
	CHECK_INT(afgw_spool_pending(s), 1);
	CHECK_INT(afgw_spool_next(s, &r, &len), 0);
	CHECK_MEM(r, len, "abc");
	CHECK_INT(counter(s, AFGW_SPOOL_C_TORN_BYTES), 0);
	afgw_spool_close(s);
	snprintf(junk, sizeof(junk), "%s/spool-1.seg", dir);
	CHECK_INT(seg_size(dir, 1), HDR + 3);
	CHECK(access(junk, F_OK) == 0);
	remove_dir(dir);
	remove_dir(top);
}

static void test_invalid(void)
{
	char *dir = make_dir();
	struct afgw_spool *s = NULL;
	CHECK_INT(afgw_spool_open(dir, AFGW_SPOOL_RECORD_MAX + HDR - 1, &s), -EINVAL);
	CHECK(s == NULL);
	CHECK_INT(afgw_spool_open("/proc/self/no/such/dir", 1u << 20, &s), -ENOENT);
	CHECK_INT(afgw_spool_open(dir, AFGW_SPOOL_RECORD_MAX + HDR, &s), 0);
	const void *r;
	size_t len;
	CHECK_INT(afgw_spool_next(s, &r, &len), -ENOENT);
	CHECK_INT(afgw_spool_release(s, 1), -EINVAL);
	CHECK_INT(afgw_spool_release(s, 0), 0);
	static uint8_t big[AFGW_SPOOL_RECORD_MAX + 1];
	CHECK_INT(afgw_spool_append(s, big, 0), -EINVAL);
	CHECK_INT(afgw_spool_append(s, big, AFGW_SPOOL_RECORD_MAX + 1), -EINVAL);
	CHECK_INT(afgw_spool_pending(s), 0);
	CHECK_INT(count_segments(dir), 0);
	/* Exactly RECORD_MAX fits, and fills this smallest spool */
	big[0] = 1;
	big[AFGW_SPOOL_RECORD_MAX - 1] = 2;
	CHECK_INT(afgw_spool_append(s, big, AFGW_SPOOL_RECORD_MAX), 0);
	CHECK_INT(afgw_spool_append(s, big, 1), -ENOSPC);
	CHECK_INT(afgw_spool_next(s, &r, &len), 0);
	CHECK(len == AFGW_SPOOL_RECORD_MAX && memcmp(r, big, len) == 0);
	CHECK_INT(afgw_spool_release(s, 2), -EINVAL);
	CHECK_INT(counter(s, AFGW_SPOOL_C_FULL), 1);
	CHECK_INT(counter(s, AFGW_SPOOL_C_APPENDED), 1);
	CHECK_INT(counter(s, AFGW_SPOOL_C_IO_ERRORS), 0);
	afgw_spool_close(s);
	afgw_spool_close(NULL);
	remove_dir(dir);
}

/* Order across segments, release and unlink, reopen. */
static void test_segments(void)
{
	char *dir = make_dir();
	struct afgw_spool *s;
	CHECK_INT(afgw_spool_open(dir, 64u << 20, &s), 0);
	for (uint64_t i = 0; i < 200; i++)
		CHECK_INT(append_seq(s, i, 1), 0);
	CHECK_INT(afgw_spool_sync(s), 0);
	CHECK_INT(afgw_spool_pending(s), 200);
	CHECK_INT(afgw_spool_pending_bytes(s), 200ull * (BIG + HDR));
	/* 68 records per segment: 68 + 68 + 64 */
	CHECK_INT(count_segments(dir), 3);
	CHECK_INT(seg_size(dir, 1), 68ull * (BIG + HDR));
	CHECK(seg_size(dir, 1) <= AFGW_SPOOL_SEGMENT_BYTES);
	CHECK_INT(seg_size(dir, 2), 68ull * (BIG + HDR));
	CHECK_INT(seg_size(dir, 3), 64ull * (BIG + HDR));
	CHECK_INT(read_seq(s, 0, 1), 200);
	afgw_spool_rewind(s);
	CHECK_INT(read_seq(s, 0, 1), 200);
	afgw_spool_close(s);

	/* Reopen: everything still pending, in order */
	CHECK_INT(afgw_spool_open(dir, 64u << 20, &s), 0);
	CHECK_INT(afgw_spool_pending(s), 200);
	CHECK_INT(read_seq(s, 0, 1), 200);

	/* Read 5, release 3 (the reader walks again): the next is record 3 */
	afgw_spool_rewind(s);
	const void *r;
	size_t len;
	for (int i = 0; i < 5; i++)
		CHECK_INT(afgw_spool_next(s, &r, &len), 0);
	CHECK_INT(afgw_spool_release(s, 3), 0);
	CHECK_INT(afgw_spool_pending(s), 197);
	CHECK_INT(afgw_spool_next(s, &r, &len), 0);
	CHECK(is_record(r, len, 3, 1));

	/* Read 97 more (records 3..99), release exactly those: segment 1
	 * (records 0..67) is unlinked, segment 2 is partly released */
	afgw_spool_rewind(s);
	for (int i = 0; i < 97; i++)
		CHECK_INT(afgw_spool_next(s, &r, &len), 0);
	CHECK(is_record(r, len, 99, 1));
	CHECK_INT(afgw_spool_release(s, 97), 0);
	CHECK_INT(afgw_spool_pending(s), 100);
	CHECK(!seg_exists(dir, 1));
	CHECK(seg_exists(dir, 2));
	CHECK_INT(count_segments(dir), 2);
	CHECK_INT(afgw_spool_pending_bytes(s), 100ull * (BIG + HDR));
	CHECK_INT(read_seq(s, 100, 1), 100);
	CHECK_INT(counter(s, AFGW_SPOOL_C_RELEASED), 100);
	afgw_spool_close(s);

	/* Reopen: the released records 68..99 of segment 2 come again */
	CHECK_INT(afgw_spool_open(dir, 64u << 20, &s), 0);
	CHECK_INT(afgw_spool_pending(s), 132);
	CHECK_INT(read_seq(s, 68, 1), 132);

	/* Release records 68..135 exactly: segment 2 goes, 3 is untouched */
	CHECK_INT(afgw_spool_release(s, 68), 0);
	CHECK(!seg_exists(dir, 2));
	CHECK_INT(seg_size(dir, 3), 64ull * (BIG + HDR));
	CHECK_INT(read_seq(s, 136, 1), 64);

	/* Appends go on in segment 3 and are read after it */
	CHECK_INT(append_seq(s, 200, 1), 0);
	CHECK_INT(afgw_spool_next(s, &r, &len), 0);
	CHECK(is_record(r, len, 200, 1));
	CHECK_INT(afgw_spool_next(s, &r, &len), -ENOENT);

	/* Release all: no segment is left; new ones continue the numbering */
	CHECK_INT(afgw_spool_release(s, 65), 0);
	CHECK_INT(afgw_spool_pending(s), 0);
	CHECK_INT(afgw_spool_pending_bytes(s), 0);
	CHECK_INT(count_segments(dir), 0);
	CHECK_INT(afgw_spool_next(s, &r, &len), -ENOENT);
	CHECK_INT(append_seq(s, 7, 0), 0);
	CHECK(seg_exists(dir, 4));
	CHECK_INT(afgw_spool_next(s, &r, &len), 0);
	CHECK(is_record(r, len, 7, 0));
	CHECK_INT(afgw_spool_sync(s), 0);
	afgw_spool_close(s);
	CHECK_INT(afgw_spool_open(dir, 64u << 20, &s), 0);
	CHECK_INT(afgw_spool_pending(s), 1);
	CHECK_INT(afgw_spool_next(s, &r, &len), 0);
	CHECK(is_record(r, len, 7, 0));
	CHECK_INT(counter(s, AFGW_SPOOL_C_IO_ERRORS), 0);
	afgw_spool_close(s);
	remove_dir(dir);
}

/*
 * A torn tail cut at every byte of the last record: records 0..4 in one
 * segment, the file cut anywhere from the end of record 3 to the end of
 * record 4.
 */
static void test_torn(void)
{
	char *dir = make_dir();
	struct afgw_spool *s;
	char p[512];
	CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
	uint64_t prev_end = 0;
	for (uint64_t i = 0; i < 5; i++) {
		if (i == 4)
			prev_end = afgw_spool_pending_bytes(s);
		CHECK_INT(append_seq(s, i, 0), 0);
	}
	afgw_spool_close(s);
	seg_path(p, sizeof(p), dir, 1);
	size_t full;
	uint8_t *pristine = slurp(p, &full);
	CHECK(pristine && full == prev_end + HDR + seq_len(4, 0));
	remove_dir(dir);

	unsigned bad = 0;
	dir = make_dir();
	for (size_t cut = prev_end; cut <= full && pristine; cut++) {
		clear_dir(dir);
		seg_path(p, sizeof(p), dir, 1);
		spit(p, pristine, cut);
		bool whole = cut == full;
		if (afgw_spool_open(dir, 1u << 20, &s) != 0) {
			bad++;
			continue;
		}
		uint64_t want = whole ? 5 : 4;
		bool ok = afgw_spool_pending(s) == want && read_seq(s, 0, 0) == want &&
		          counter(s, AFGW_SPOOL_C_TORN_BYTES) == (whole ? 0 : cut - prev_end) &&
		          counter(s, AFGW_SPOOL_C_SKIPPED_BYTES) == 0 &&
		          seg_size(dir, 1) == (long long)(whole ? full : prev_end);
		/* Appending after the cut works and is read back after the others */
		ok = ok && append_seq(s, 10, 0) == 0;
		afgw_spool_rewind(s);
		ok = ok && read_n(s, 0, want, 0) == want;
		afgw_spool_close(s);
		/* ... and after a reopen, record 10 follows the earlier ones */
		ok = ok && afgw_spool_open(dir, 1u << 20, &s) == 0;
		if (ok) {
			const void *r;
			size_t len;
			for (uint64_t i = 0; i < want; i++)
				ok = ok && afgw_spool_next(s, &r, &len) == 0 &&
				     is_record(r, len, i, 0);
			ok = ok && afgw_spool_next(s, &r, &len) == 0 && is_record(r, len, 10, 0);
			ok = ok && afgw_spool_next(s, &r, &len) == -ENOENT;
			ok = ok && counter(s, AFGW_SPOOL_C_TORN_BYTES) == 0;
			afgw_spool_close(s);
		}
		if (!ok) {
			fprintf(stderr, "torn tail: cut at %zu of %zu fails\n", cut, full);
			bad++;
		}
	}
	remove_dir(dir);
	CHECK_INT(bad, 0);

	/* A last record of full length whose checksum fails is torn too */
	dir = make_dir();
	seg_path(p, sizeof(p), dir, 1);
	pristine[full - 1] ^= 0x01;
	spit(p, pristine, full);
	CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
	CHECK_INT(read_seq(s, 0, 0), 4);
	CHECK_INT(counter(s, AFGW_SPOOL_C_TORN_BYTES), full - prev_end);
	CHECK_INT(seg_size(dir, 1), prev_end);
	afgw_spool_close(s);
	remove_dir(dir);

	/* A torn tail in an older segment is cut as well; the newer one reads on */
	dir = make_dir();
	seg_path(p, sizeof(p), dir, 7);
	pristine[full - 1] ^= 0x01;
	spit(p, pristine, full - 5);
	CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
	CHECK_INT(afgw_spool_pending(s), 4);
	afgw_spool_close(s);
	/* segment 8 is written by hand: records 4 and 5 */
	uint8_t seg8[2 * (HDR + 3000)];
	size_t n8 = 0;
	for (uint64_t i = 4; i < 6; i++) {
		size_t len;
		const uint8_t *r = seq_record(i, 0, &len);
		n8 += put_record(seg8 + n8, r, len);
	}
	/* re-tear segment 7 (the first open cut it) */
	seg_path(p, sizeof(p), dir, 7);
	spit(p, pristine, full - 5);
	seg_path(p, sizeof(p), dir, 8);
	spit(p, seg8, n8);
	CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
	CHECK_INT(afgw_spool_pending(s), 6);
	CHECK_INT(read_seq(s, 0, 0), 6);
	CHECK_INT(counter(s, AFGW_SPOOL_C_TORN_BYTES), full - 5 - prev_end);
	CHECK_INT(seg_size(dir, 7), prev_end);
	/* Appends go to the newest segment, 8 */
	CHECK_INT(append_seq(s, 6, 0), 0);
	CHECK_INT(seg_size(dir, 8), n8 + HDR + seq_len(6, 0));
	afgw_spool_rewind(s);
	CHECK_INT(read_seq(s, 0, 0), 7);
	afgw_spool_close(s);
	remove_dir(dir);

	/* A segment holding nothing but a torn record: older ones are
	 * unlinked, the newest is kept empty and appended to */
	dir = make_dir();
	seg_path(p, sizeof(p), dir, 1);
	spit(p, pristine, 9);
	seg_path(p, sizeof(p), dir, 2);
	spit(p, pristine, 9);
	CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
	CHECK_INT(afgw_spool_pending(s), 0);
	CHECK_INT(counter(s, AFGW_SPOOL_C_TORN_BYTES), 18);
	CHECK(!seg_exists(dir, 1));
	CHECK_INT(seg_size(dir, 2), 0);
	CHECK_INT(append_seq(s, 0, 0), 0);
	CHECK_INT(seg_size(dir, 2), HDR + seq_len(0, 0));
	CHECK_INT(read_seq(s, 0, 0), 1);
	afgw_spool_close(s);
	remove_dir(dir);
	free(pristine);
}

/* Damage inside a segment: the record is skipped, its neighbours read. */
static void test_damage(void)
{
	char *dir = make_dir();
	struct afgw_spool *s;
	char p[512];
	uint64_t off[6];
	CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
	for (uint64_t i = 0; i < 5; i++) {
		off[i] = afgw_spool_pending_bytes(s);
		CHECK_INT(append_seq(s, i, 0), 0);
	}
	off[5] = afgw_spool_pending_bytes(s);
	afgw_spool_close(s);
	seg_path(p, sizeof(p), dir, 1);
	size_t full;
	uint8_t *pristine = slurp(p, &full);
	CHECK(pristine != NULL);
	remove_dir(dir);
	if (!pristine)
		return;
	uint64_t rec2 = off[3] - off[2];

	/* Each way of damaging record 2 (bytes at its offset) */
	/* clang-format off */
	static const struct {
		size_t at; /* offset inside record 2 */
		uint8_t x; /* xor */
		const char *what;
	} dmg[] = {
		{0, 0x20, "magic 'A' -> 'a'"},
		{3, 0x01, "magic 'R' -> 'S'"},
		{5, 0x40, "length + 0x4000"},
		{6, 0x01, "length + 0x10000"},
		{7, 0x80, "length > RECORD_MAX"},
		{9, 0x10, "CRC byte"},
		{HDR + 17, 0x04, "payload byte"},
	};
	/* clang-format on */
	for (size_t k = 0; k < sizeof(dmg) / sizeof(dmg[0]); k++) {
		dir = make_dir();
		seg_path(p, sizeof(p), dir, 1);
		pristine[off[2] + dmg[k].at] ^= dmg[k].x;
		spit(p, pristine, full);
		pristine[off[2] + dmg[k].at] ^= dmg[k].x;
		CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
		CHECK_INT(afgw_spool_pending(s), 4);
		const void *r;
		size_t len;
		bool ok = true;
		static const uint64_t want[] = {0, 1, 3, 4};
		for (int i = 0; i < 4; i++)
			ok = ok && afgw_spool_next(s, &r, &len) == 0 &&
			     is_record(r, len, want[i], 0);
		ok = ok && afgw_spool_next(s, &r, &len) == -ENOENT;
		ok = ok && counter(s, AFGW_SPOOL_C_SKIPPED_BYTES) == rec2;
		ok = ok && counter(s, AFGW_SPOOL_C_TORN_BYTES) == 0;
		ok = ok && seg_size(dir, 1) == (long long)full;
		/* Release across the damage (a fresh walk): record 4 is next */
		ok = ok && afgw_spool_release(s, 3) == 0 && afgw_spool_pending(s) == 1;
		ok = ok && afgw_spool_next(s, &r, &len) == 0 && is_record(r, len, 4, 0);
		afgw_spool_close(s);
		if (!ok)
			fprintf(stderr, "damage: %s\n", dmg[k].what);
		CHECK(ok);
		remove_dir(dir);
	}

	/* Junk between records (a stray magic among it) is skipped too */
	dir = make_dir();
	seg_path(p, sizeof(p), dir, 1);
	size_t jn = full + 40;
	uint8_t *j = malloc(jn);
	memcpy(j, pristine, off[1]);
	memset(j + off[1], 0xEE, 40);
	memcpy(j + off[1] + 10, "AFSR\x05\x00\x00\x00", 8);
	memcpy(j + off[1] + 40, pristine + off[1], full - off[1]);
	spit(p, j, jn);
	CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
	CHECK_INT(read_seq(s, 0, 0), 5);
	CHECK_INT(counter(s, AFGW_SPOOL_C_SKIPPED_BYTES), 40);
	afgw_spool_close(s);
	free(j);
	remove_dir(dir);
	free(pristine);
}

/*
 * A run of magics each claiming a 60000-byte record, none of which checks
 * out, between records 0, 1 and records 2 (BIG), 3.  A few such claims are
 * searched through; past the search budget (the segment's size plus 64
 * records of RECORD_MAX: some 71 claims of 60012 bytes here) the rest of
 * the segment is skipped and kept, and appends go to a new segment.
 */
static void test_search_budget(void)
{
	static uint8_t seg[2 * (HDR + 3000) + 100 * 8 + HDR + BIG + HDR + 3000];
	for (int claims = 40; claims <= 100; claims += 60) {
		char *dir = make_dir();
		char p[512];
		size_t n = 0, len;
		const uint8_t *r;
		for (uint64_t i = 0; i < 2; i++) {
			r = seq_record(i, 0, &len);
			n += put_record(seg + n, r, len);
		}
		size_t junk_at = n;
		for (int k = 0; k < claims; k++) {
			memcpy(seg + n, "AFSR", 4);   /* magic */
			put_le32(seg + n + 4, 60000); /* length 60000, then no CRC */
			n += 8;
		}
		r = seq_record(2, 1, &len);
		n += put_record(seg + n, r, len);
		r = seq_record(3, 0, &len);
		n += put_record(seg + n, r, len);
		seg_path(p, sizeof(p), dir, 1);
		spit(p, seg, n);

		struct afgw_spool *s;
		CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
		const void *q;
		size_t ql;
		CHECK_INT(afgw_spool_next(s, &q, &ql), 0);
		CHECK(is_record(q, ql, 0, 0));
		CHECK_INT(afgw_spool_next(s, &q, &ql), 0);
		CHECK(is_record(q, ql, 1, 0));
		CHECK_INT(counter(s, AFGW_SPOOL_C_TORN_BYTES), 0);
		CHECK_INT(seg_size(dir, 1), n);
		if (claims == 40) {
			CHECK_INT(afgw_spool_pending(s), 4);
			CHECK_INT(afgw_spool_next(s, &q, &ql), 0);
			CHECK(is_record(q, ql, 2, 1));
			CHECK_INT(afgw_spool_next(s, &q, &ql), 0);
			CHECK(is_record(q, ql, 3, 0));
			CHECK_INT(counter(s, AFGW_SPOOL_C_SKIPPED_BYTES), claims * 8);
			CHECK_INT(afgw_spool_next(s, &q, &ql), -ENOENT);
			afgw_spool_close(s);
			remove_dir(dir);
			continue;
		}
		CHECK_INT(afgw_spool_pending(s), 2);
		CHECK_INT(afgw_spool_next(s, &q, &ql), -ENOENT);
		CHECK_INT(counter(s, AFGW_SPOOL_C_SKIPPED_BYTES), n - junk_at);
		/* Not appended behind the damage, where no read would find it */
		CHECK_INT(afgw_spool_append(s, "after", 5), 0);
		CHECK(seg_exists(dir, 2));
		CHECK_INT(seg_size(dir, 1), n);
		CHECK_INT(afgw_spool_next(s, &q, &ql), 0);
		CHECK_MEM(q, ql, "after");
		afgw_spool_close(s);
		/* Reopen: the same records, the same skip */
		CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
		CHECK_INT(afgw_spool_pending(s), 3);
		CHECK_INT(counter(s, AFGW_SPOOL_C_SKIPPED_BYTES), n - junk_at);
		/* Releasing records 0 and 1 unlinks segment 1, damage and all */
		CHECK_INT(afgw_spool_release(s, 2), 0);
		CHECK(!seg_exists(dir, 1));
		CHECK_INT(afgw_spool_next(s, &q, &ql), 0);
		CHECK_MEM(q, ql, "after");
		afgw_spool_close(s);
		remove_dir(dir);
	}
}

/* The size bound: -ENOSPC when full; released segments free space. */
static void test_full(void)
{
	char *dir = make_dir();
	struct afgw_spool *s;
	/* Room for two segments' worth of 60 KiB records and a bit */
	uint64_t max = 2ull * 68 * (BIG + HDR) + 1000;
	CHECK_INT(afgw_spool_open(dir, max, &s), 0);
	uint64_t i = 0;
	while (i < 1000 && append_seq(s, i, 1) == 0)
		i++;
	CHECK_INT(i, 136);
	CHECK_INT(append_seq(s, i, 1), -ENOSPC);
	CHECK_INT(counter(s, AFGW_SPOOL_C_FULL), 2);
	CHECK_INT(count_segments(dir), 2);
	/* A small record still fits in the last 1000 bytes */
	CHECK_INT(afgw_spool_append(s, "small", 5), 0);
	CHECK_INT(afgw_spool_append(s, recbuf, 1000), -ENOSPC);
	CHECK_INT(counter(s, AFGW_SPOOL_C_FULL), 3);

	/* Releasing part of segment 1 frees nothing on disk */
	CHECK_INT(afgw_spool_release(s, 10), 0);
	CHECK_INT(append_seq(s, i, 1), -ENOSPC);
	/* Releasing the rest of it unlinks it: room for 68 records again */
	CHECK_INT(afgw_spool_release(s, 58), 0);
	CHECK(!seg_exists(dir, 1));
	uint64_t j = 0;
	while (j < 1000 && append_seq(s, i + j, 1) == 0)
		j++;
	CHECK_INT(j, 68);
	CHECK_INT(counter(s, AFGW_SPOOL_C_FULL), 5);
	/* What is pending: records 68..135, "small", 136..203 */
	CHECK_INT(afgw_spool_pending(s), 68 + 1 + 68);
	CHECK_INT(read_n(s, 68, 68, 1), 68);
	const void *r;
	size_t len;
	CHECK_INT(afgw_spool_next(s, &r, &len), 0);
	CHECK_MEM(r, len, "small");
	CHECK_INT(read_seq(s, 136, 1), 68);
	afgw_spool_close(s);

	/* Reopened with a lower bound than what is on disk: appends wait */
	CHECK_INT(afgw_spool_open(dir, 1u << 20, &s), 0);
	CHECK_INT(afgw_spool_append(s, "x", 1), -ENOSPC);
	CHECK_INT(afgw_spool_release(s, afgw_spool_pending(s)), 0);
	CHECK_INT(count_segments(dir), 0);
	CHECK_INT(afgw_spool_append(s, "x", 1), 0);
	afgw_spool_close(s);
	remove_dir(dir);
}

/*
 * A process killed with SIGKILL while appending (every other round also
 * syncing every 64 records, so the kill lands in appends and in fsyncs):
 * after each of several rounds, the spool holds a prefix of the sequence,
 * every record intact, no gaps, no reordering.  Each round's child goes on
 * from the number of records it finds.
 */
#define CRASH_MAX (256ull << 20)

static void crash_child(const char *dir, bool sync)
{
	struct afgw_spool *s;
	if (afgw_spool_open(dir, CRASH_MAX, &s) != 0)
		_exit(3);
	uint64_t i = afgw_spool_pending(s);
	for (;;) {
		int e = append_seq(s, i, 2);
		if (e == -ENOSPC) {
			pause(); /* full: wait for the kill */
			continue;
		}
		if (e != 0)
			_exit(4);
		if (++i % 64 == 0 && sync)
			afgw_spool_sync(s);
	}
}

static void test_crash(void)
{
	char *dir = make_dir();
	uint64_t have = 0, torn = 0;
	for (int round = 0; round < 6; round++) {
		pid_t pid = fork();
		if (pid == 0)
			crash_child(dir, round % 2 == 0);
		CHECK(pid > 0);
		if (pid <= 0)
			break;
		struct timespec ts = {0, 60000000L + round * 37000000L};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

		struct afgw_spool *s;
		CHECK_INT(afgw_spool_open(dir, CRASH_MAX, &s), 0);
		uint64_t k = 0;
		const void *p;
		size_t n;
		bool ok = true;
		while (afgw_spool_next(s, &p, &n) == 0) {
			if (!is_record(p, n, k, 2)) {
				fprintf(stderr, "crash round %d: record %" PRIu64 " wrong\n", round,
				        k);
				ok = false;
				break;
			}
			k++;
		}
		CHECK(ok);
		CHECK_INT(afgw_spool_pending(s), k);
		CHECK(k >= have); /* nothing written before is lost */
		CHECK_INT(counter(s, AFGW_SPOOL_C_SKIPPED_BYTES), 0);
		torn += counter(s, AFGW_SPOOL_C_TORN_BYTES);
		have = k;
		afgw_spool_close(s);
	}
	CHECK(have > 0);
	printf("crash: %" PRIu64 " records survived 6 kills, %" PRIu64 " torn bytes cut\n", have,
	       torn);
	remove_dir(dir);
}

int main(void)
{
	test_format();
	test_invalid();
	test_segments();
	test_torn();
	test_damage();
	test_search_budget();
	test_full();
	test_crash();
	return check_report();
}
