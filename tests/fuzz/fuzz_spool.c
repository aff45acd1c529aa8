/*
 * fuzz_spool.c - arbitrary bytes as the spool's segment files: what a
 * gateway finds in its spool directory after a crash, a full disk or
 * damage.
 *
 * Input: two control bytes, then the file bytes.  c0 bit 7 splits the
 * bytes into two segment files (at a point given by c0's low six bits),
 * else they are one segment; c1 says how many records to release and
 * whether the caller has read them first (the reader's fast path) or not.
 *
 * Checked: every record read is 1 .. RECORD_MAX bytes; the records read
 * are as many as afgw_spool_pending says; every input byte is a record,
 * skipped damage or a cut torn tail; after a release the next record is
 * the right one; an appended record is read back last, also after a
 * reopen, which finds no torn tail.  No fd or memory is leaked.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "afgw/spool.h"

#define HDR       12u
#define MAX_BYTES (256u * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec_id {
	uint64_t hash;
	size_t len;
};

static struct rec_id id_of(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return (struct rec_id){h, n};
}

static int same(struct rec_id a, struct rec_id b)
{
	return a.hash == b.hash && a.len == b.len;
}

static void spit(const char *dir, uint64_t num, const uint8_t *b, size_t n)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/spool-%020" PRIu64 ".seg", dir, num);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (n && write(fd, b, n) != (ssize_t)n)
		abort();
	close(fd);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[512];
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static uint64_t counter(struct afgw_spool *s, enum afgw_spool_counter c)
{
	uint64_t v[AFGW_SPOOL_C_COUNT];
	afgw_spool_counters(s, v);
	return v[c];
}

/* Read to the end; every record must be well sized. */
static uint64_t read_all(struct afgw_spool *s, struct rec_id *ids, size_t cap, uint64_t *bytes)
{
	const void *p;
	size_t n;
	uint64_t k = 0;
	int r;
	*bytes = 0;
	while ((r = afgw_spool_next(s, &p, &n)) == 0) {
		if (n < 1 || n > AFGW_SPOOL_RECORD_MAX)
			abort();
		if (ids) {
			if (k >= cap)
				abort(); /* more records than bytes allow */
			ids[k] = id_of(p, n);
		}
		*bytes += HDR + n;
		k++;
	}
	if (r != -ENOENT)
		abort();
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t c0 = data[0], c1 = data[1];
	data += 2;
	size -= 2;

	int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(probe);

	/* tmpfs when there is one: fsync is free there, and disks are spared */
	char dir[] = "/dev/shm/afgw-fuzz-spool-XXXXXX";
	if (!mkdtemp(dir)) {
		memcpy(dir, "/tmp/afgw-fuzz-spool-XXXXXX", sizeof("/tmp/afgw-fuzz-spool-XXXXXX"));
		if (!mkdtemp(dir))
			abort();
	}
	if (c0 & 0x80) {
		size_t at = size * (c0 & 0x3f) / 63;
		spit(dir, 1, data, at);
		spit(dir, 2, data + at, size - at);
	} else {
		spit(dir, 7, data, size);
	}
	char junk[128];
	snprintf(junk, sizeof(junk), "%s/spool-7.seg.tmp", dir);
	int jfd = open(junk, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (jfd >= 0)
		close(jfd);

	size_t cap = size / (HDR + 1) + 1;
	struct rec_id *ids = malloc(cap * sizeof(*ids));
	struct afgw_spool *s;
	if (!ids || afgw_spool_open(dir, MAX_BYTES, &s) != 0)
		abort();

	/* Every byte is a record, skipped or torn */
	uint64_t bytes;
	uint64_t k = read_all(s, ids, cap, &bytes);
	uint64_t torn = counter(s, AFGW_SPOOL_C_TORN_BYTES);
	if (k != afgw_spool_pending(s) ||
	    bytes + counter(s, AFGW_SPOOL_C_SKIPPED_BYTES) + torn != size ||
	    afgw_spool_pending_bytes(s) != size - torn)
		abort();

	/* Release n, having read m of them first (m == n: no walk) */
	uint64_t n = k ? (c1 & 0x3f) % (k + 1) : 0;
	uint64_t m = (c1 & 0x40) ? n : (c1 & 0x80) ? k : 0;
	const void *p;
	size_t len;
	afgw_spool_rewind(s);
	for (uint64_t i = 0; i < m; i++)
		if (afgw_spool_next(s, &p, &len) != 0)
			abort();
	if (afgw_spool_release(s, n) != 0 || afgw_spool_pending(s) != k - n)
		abort();
	if (afgw_spool_release(s, k - n + 1) != -EINVAL)
		abort();
	if (n < k && (afgw_spool_next(s, &p, &len) != 0 || !same(id_of(p, len), ids[n])))
		abort();

	/* Append one record, read back after the rest */
	uint8_t rec[300];
	size_t rl = 1 + (size_t)(c1 * 37u + c0) % sizeof(rec);
	for (size_t i = 0; i < rl; i++)
		rec[i] = size ? data[i % size] : (uint8_t)i;
	int ar = afgw_spool_append(s, rec, rl);
	if (ar != 0 && ar != -ENOSPC)
		abort();
	struct rec_id want = id_of(rec, rl);
	afgw_spool_rewind(s);
	for (uint64_t i = n; i < k; i++)
		if (afgw_spool_next(s, &p, &len) != 0 || !same(id_of(p, len), ids[i]))
			abort();
	if (ar == 0 && (afgw_spool_next(s, &p, &len) != 0 || !same(id_of(p, len), want)))
		abort();
	if (afgw_spool_next(s, &p, &len) != -ENOENT)
		abort();
	if (afgw_spool_sync(s) != 0)
		abort();
	afgw_spool_close(s);

	/* Reopen: nothing torn now, the appended record still last */
	if (afgw_spool_open(dir, MAX_BYTES, &s) != 0)
		abort();
	uint64_t k2 = 0;
	struct rec_id last = {0, 0};
	while (afgw_spool_next(s, &p, &len) == 0) {
		last = id_of(p, len);
		k2++;
	}
	if (k2 != afgw_spool_pending(s) || counter(s, AFGW_SPOOL_C_TORN_BYTES) != 0 ||
	    (ar == 0 && !same(last, want)))
		abort();
	if (afgw_spool_release(s, k2) != 0 || afgw_spool_pending(s) != 0)
		abort();
	afgw_spool_close(s);

	free(ids);
	remove_dir(dir);
	int probe2 = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(probe2);
	if (probe2 != probe)
		abort(); /* an fd leaked */
	return 0;
}
