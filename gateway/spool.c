/*
 * spool.c - the warnings' local spool: a bounded directory of append-only
 * segment files of checksummed records (format in include/afgw/spool.h).
 *
 * The notifier thread appends sealed warnings here while Redis is away and
 * replays them, oldest first, when it is back.  Each record goes to the
 * kernel with one positioned write of header and payload; a write that
 * fails half way is cut off again with ftruncate, so the file never holds
 * a partial record written by a live process.  A process or machine that
 * dies inside a write leaves a torn tail, which the next open truncates.
 *
 * In memory: one entry per segment file (number, valid bytes, records),
 * the position of the oldest pending record (in the oldest segment only,
 * never persisted: after a restart a partly released segment is delivered
 * again from its start), the reader's position, and one read window of
 * AFGW_SPOOL_RECORD_MAX + 12 bytes that every read goes through.  Nothing
 * is allocated per record.
 *
 * What it does not do: it never rewrites a segment in the middle (damage
 * stays on disk and is skipped again on every read; it is counted once,
 * when the spool is opened), and it takes no locks: one owner thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "afgw/spool.h"

#define HDR       12u                           /* magic, length, CRC */
#define BUF_BYTES (AFGW_SPOOL_RECORD_MAX + HDR) /* the read window */
#define NAME_LEN  30                            /* "spool-" 20 digits ".seg" */

/*
 * The search past damage checks every offset holding the magic, and a
 * candidate claiming a long record costs a read and a CRC of that length:
 * a crafted segment with a magic every few bytes would cost size x
 * RECORD_MAX to read.  So the scan at open gives a segment a budget: its
 * failed candidates may claim the segment's size (real damaged records do
 * not overlap, so their claims add up to less) plus SEARCH_SLACK (false
 * magics).  Past it the scan gives up at that candidate: the segment's
 * limit.  Readers consider no candidate at or past the limit; they follow
 * the same chain of records as the scan, so they find the same records at
 * no more cost.  The bytes from the last record on are counted as
 * skipped, kept on disk, never appended to, and unlinked with the segment
 * once its records are released.
 */
#define SEARCH_SLACK (64u * BUF_BYTES)
#define NO_LIMIT     UINT64_MAX

enum { NONE, FOUND, GAVE_UP }; /* find_record's results */

static const uint8_t magic[4] = {0x41, 0x46, 0x53, 0x52}; /* "AFSR" */

struct seg {
	uint64_t num;
	/* Bytes on disk: after open, the end of the last good record, or the
	 * file's size if the scan gave up. */
	uint64_t size;
	/* Records found at open plus records appended. */
	uint64_t nrec;
	/* Candidates start before this: NO_LIMIT, or where the scan gave up
	 * (and then nothing is appended to the segment). */
	uint64_t limit;
};

struct afgw_spool {
	int dirfd;
	uint64_t max_bytes;
	struct seg *segs; /* oldest first */
	size_t nsegs, cap;
	uint64_t next_num;
	uint64_t total_bytes; /* sum of segs[].size */
	uint64_t pending;

	/* The oldest pending record: offset and records released before it,
	 * both in segs[0]. */
	uint64_t head_off, head_done;

	int wfd;     /* the newest segment opened for appends, or -1 */
	bool wdirty; /* appended to wfd since its last fsync */
	bool ddirty; /* a segment was created since the directory's fsync */

	/* Reader: segment index, offset of the next record to look at,
	 * records of that segment behind it, records returned since rewind. */
	size_t ri;
	uint64_t roff, rdone, rcount;

	/* buf holds bytes [wbase, wbase + wlen) of segment rnum, open as rfd. */
	int rfd;
	uint64_t rnum;
	uint64_t wbase;
	size_t wlen;

	uint64_t ctr[AFGW_SPOOL_C_COUNT];
	uint8_t buf[BUF_BYTES];
};

/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slicing by 8:
 * table[k][b] is the CRC of byte b followed by k zero bytes, so eight
 * input bytes are folded with eight lookups.  Built once, at the first
 * open, under pthread_once (spools of different threads may race there).
 */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
		crc_table[0][i] = c;
	}
	for (int k = 1; k < 8; k++)
		for (int i = 0; i < 256; i++)
			crc_table[k][i] =
			    (crc_table[k - 1][i] >> 8) ^ crc_table[0][crc_table[k - 1][i] & 0xff];
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Fold n bytes into c (pre- and post-inversion are the caller's). */
static uint32_t crc_update(uint32_t c, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint32_t lo = c ^ le32(p), hi = le32(p + 4);
		c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		    crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		    crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		    crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
	return c;
}

/* The record's checksum: the 4 length bytes, then the payload. */
static uint32_t record_crc(const uint8_t len_le[4], const uint8_t *payload, size_t n)
{
	uint32_t c = crc_update(0xFFFFFFFFu, len_le, 4);
	return crc_update(c, payload, n) ^ 0xFFFFFFFFu;
}

static void seg_name(char out[NAME_LEN + 1], uint64_t num)
{
	snprintf(out, NAME_LEN + 1, "spool-%020" PRIu64 ".seg", num);
}

/* Is name exactly "spool-<20 digits>.seg" with a number that fits? */
static bool parse_name(const char *name, uint64_t *num)
{
	if (strlen(name) != NAME_LEN || memcmp(name, "spool-", 6) != 0 ||
	    memcmp(name + 26, ".seg", 4) != 0)
		return false;
	uint64_t v = 0;
	for (int i = 6; i < 26; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		unsigned d = (unsigned)(name[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*num = v;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void io_error(struct afgw_spool *s)
{
	s->ctr[AFGW_SPOOL_C_IO_ERRORS]++;
}

/* Forget the read window and its file. */
static void drop_reader_fd(struct afgw_spool *s)
{
	if (s->rfd >= 0)
		close(s->rfd);
	s->rfd = -1;
	s->wlen = 0;
}

/*
 * Make the window hold [p, p + n) of the segment open as rfd, whose good
 * bytes end at size (p + n <= size, n <= BUF_BYTES).  A refill reads as
 * much as fits from p on, so records that follow come without another
 * read.  Returns 0 or -errno; a file shorter than size (changed under us)
 * is -EIO.
 */
static int cover(struct afgw_spool *s, uint64_t p, size_t n, uint64_t size)
{
	if (p >= s->wbase && p + n <= s->wbase + s->wlen)
		return 0;
	size_t want = size - p < BUF_BYTES ? (size_t)(size - p) : BUF_BYTES;
	size_t got = 0;
	s->wlen = 0;
	while (got < want) {
		ssize_t r = pread(s->rfd, s->buf + got, want - got, (off_t)(p + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			io_error(s);
			return r < 0 ? -errno : -EIO;
		}
		got += (size_t)r;
	}
	s->wbase = p;
	s->wlen = got;
	return 0;
}

/*
 * Find the first good record at or after pos, starting before limit, in
 * the segment open as rfd whose good bytes end at size: a magic, a length
 * 1 .. RECORD_MAX that stays inside size, and a matching CRC.  Anything
 * else at a candidate offset is damage and the search goes on one byte
 * later; a failed candidate's claimed bytes are taken from *budget (NULL:
 * unbounded).  Returns FOUND with *at and *len (the record is then in the
 * window), NONE if there is none, GAVE_UP with *at the candidate that
 * overdrew the budget, or -errno.
 */
static int find_record(struct afgw_spool *s, uint64_t size, uint64_t limit, uint64_t pos,
                       uint64_t *budget, uint64_t *at, uint32_t *len)
{
	uint64_t p = pos;
	while (size >= HDR && p <= size - HDR && p < limit) {
		int r = cover(s, p, HDR, size);
		if (r < 0)
			return r;
		const uint8_t *w = s->buf + (p - s->wbase);
		size_t avail = (size_t)(s->wbase + s->wlen - p);
		const uint8_t *m = memmem(w, avail, magic, sizeof(magic));
		if (!m) {
			/* A magic may straddle the window's end. */
			p += avail - (sizeof(magic) - 1);
			continue;
		}
		p += (uint64_t)(m - w);
		if (p > size - HDR || p >= limit)
			break;
		if ((r = cover(s, p, HDR, size)) < 0)
			return r;
		w = s->buf + (p - s->wbase);
		uint32_t n = le32(w + 4);
		if (n == 0 || n > AFGW_SPOOL_RECORD_MAX || n > size - p - HDR) {
			p++;
			continue;
		}
		if ((r = cover(s, p, HDR + n, size)) < 0)
			return r;
		w = s->buf + (p - s->wbase);
		if (record_crc(w + 4, w + HDR, n) == le32(w + 8)) {
			*at = p;
			*len = n;
			return FOUND;
		}
		if (budget) {
			if (*budget < HDR + n) {
				*at = p;
				return GAVE_UP;
			}
			*budget -= HDR + n;
		}
		p++;
	}
	return NONE;
}

/* Point rfd (and the window) at segment g, for reading. */
static int use_segment(struct afgw_spool *s, const struct seg *g)
{
	if (s->rfd >= 0 && s->rnum == g->num)
		return 0;
	drop_reader_fd(s);
	char name[NAME_LEN + 1];
	seg_name(name, g->num);
	int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		io_error(s);
		/* -ENOENT means "no further record" to the caller. */
		return errno == ENOENT ? -EIO : -errno;
	}
	s->rfd = fd;
	s->rnum = g->num;
	return 0;
}

static int grow_segs(struct afgw_spool *s)
{
	if (s->nsegs < s->cap)
		return 0;
	size_t cap = s->cap ? s->cap * 2 : 8;
	struct seg *n = realloc(s->segs, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->segs = n;
	s->cap = cap;
	return 0;
}

/*
 * Check segment num at open: count its records and the damage skipped
 * between them, truncate a torn tail (everything after the last good
 * record; not when the search gave up, see SEARCH_SLACK), and add it to
 * the list.  A segment left without records is unlinked unless it is the
 * newest (which appends will use).  A segment that cannot be read is
 * counted as an I/O error and left out: the spool goes on without it.
 * Returns 0 or -ENOMEM.
 */
static int scan_segment(struct afgw_spool *s, uint64_t num, bool newest)
{
	char name[NAME_LEN + 1];
	seg_name(name, num);
	struct stat st;
	if (fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return 0; /* gone, or not a file: not a segment */
	int fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		io_error(s);
		return 0;
	}
	drop_reader_fd(s);
	s->rfd = fd;
	s->rnum = num;

	uint64_t size = (uint64_t)st.st_size, pos = 0, nrec = 0, skipped = 0;
	uint64_t limit = NO_LIMIT, budget = size + SEARCH_SLACK;
	for (;;) {
		uint64_t at;
		uint32_t len;
		int r = find_record(s, size, NO_LIMIT, pos, &budget, &at, &len);
		if (r < 0) {
			drop_reader_fd(s);
			return 0; /* counted by cover() */
		}
		if (r == GAVE_UP) {
			skipped += size - pos;
			pos = size;
			limit = at;
		}
		if (r != FOUND)
			break;
		skipped += at - pos;
		nrec++;
		pos = at + HDR + len;
	}
	if (pos < size) {
		s->ctr[AFGW_SPOOL_C_TORN_BYTES] += size - pos;
		/* If the cut fails, appends still write at pos and the next
		 * open cuts whatever is left behind them. */
		if (ftruncate(fd, (off_t)pos) != 0)
			io_error(s);
	}
	s->ctr[AFGW_SPOOL_C_SKIPPED_BYTES] += skipped;
	drop_reader_fd(s);

	if (nrec == 0 && !newest) {
		if (unlinkat(s->dirfd, name, 0) != 0)
			io_error(s);
		return 0;
	}
	if (grow_segs(s) != 0)
		return -ENOMEM;
	s->segs[s->nsegs++] = (struct seg){.num = num, .size = pos, .nrec = nrec, .limit = limit};
	s->total_bytes += pos;
	s->pending += nrec;
	return 0;
}

/*
 * The numbers of the segment files in the directory, sorted.  *nums is
 * malloc'd (NULL when there are none).  Returns 0, -ENOMEM or -errno.
 */
static int list_segments(struct afgw_spool *s, uint64_t **nums, size_t *count)
{
	*nums = NULL;
	*count = 0;
	int fd = fcntl(s->dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return e;
	}
	rewinddir(d);
	uint64_t *v = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e) {
			ret = -errno;
			break;
		}
		uint64_t num;
		if (!parse_name(e->d_name, &num))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			uint64_t *nv = realloc(v, nc * sizeof(*nv));
			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = num;
	}
	closedir(d);
	if (ret < 0) {
		free(v);
		return ret;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_u64);
	*nums = v;
	*count = n;
	return 0;
}

int afgw_spool_open(const char *dir, uint64_t max_bytes, struct afgw_spool **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!dir || !*dir || max_bytes < BUF_BYTES)
		return -EINVAL;
	pthread_once(&crc_once, crc_init);

	struct afgw_spool *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dirfd = s->wfd = s->rfd = -1;
	s->max_bytes = max_bytes;
	uint64_t *nums = NULL;
	size_t count = 0;
	int ret;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		ret = -errno;
		goto fail;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		ret = -errno;
		goto fail;
	}
	if ((ret = list_segments(s, &nums, &count)) < 0)
		goto fail;
	for (size_t i = 0; i < count; i++)
		if ((ret = scan_segment(s, nums[i], i + 1 == count)) < 0)
			goto fail;
	s->next_num = count ? nums[count - 1] + 1 : 1;
	free(nums);
	afgw_spool_rewind(s);
	*out = s;
	return 0;
fail:
	free(nums);
	afgw_spool_close(s);
	return ret;
}

void afgw_spool_close(struct afgw_spool *s)
{
	if (!s)
		return;
	drop_reader_fd(s);
	if (s->wfd >= 0)
		close(s->wfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->segs);
	free(s);
}

/*
 * Start segment next_num as the one appends go to.  The segment it
 * replaces is fsynced first if it has unsynced records: afgw_spool_sync
 * only reaches the newest segment.  Returns 0 or -errno (counted).
 */
static int new_segment(struct afgw_spool *s)
{
	if (s->next_num == 0)
		return -EOVERFLOW; /* wrapped: 2^64 segments */
	if (grow_segs(s) != 0)
		return -ENOMEM;
	if (s->wfd >= 0) {
		if (s->wdirty && fsync(s->wfd) != 0) {
			io_error(s);
			return -errno;
		}
		close(s->wfd);
		s->wfd = -1;
		s->wdirty = false;
	}
	char name[NAME_LEN + 1];
	seg_name(name, s->next_num);
	int fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		io_error(s);
		return -errno;
	}
	s->wfd = fd;
	s->ddirty = true;
	s->segs[s->nsegs++] = (struct seg){.num = s->next_num, .limit = NO_LIMIT};
	s->next_num++;
	return 0;
}

/* Write all of iov at off, going on after short writes. */
static int write_all_at(int fd, struct iovec *iov, int cnt, uint64_t off)
{
	while (cnt > 0) {
		ssize_t r = pwritev(fd, iov, cnt, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		size_t left = (size_t)r;
		while (cnt > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

int afgw_spool_append(struct afgw_spool *s, const void *rec, size_t len)
{
	if (!rec || len == 0 || len > AFGW_SPOOL_RECORD_MAX)
		return -EINVAL;
	uint64_t need = HDR + len;
	if (s->total_bytes + need > s->max_bytes) {
		s->ctr[AFGW_SPOOL_C_FULL]++;
		return -ENOSPC;
	}
	int ret;
	struct seg *g = s->nsegs ? &s->segs[s->nsegs - 1] : NULL;
	if (!g || g->limit != NO_LIMIT ||
	    (g->size > 0 && g->size + need > AFGW_SPOOL_SEGMENT_BYTES)) {
		if ((ret = new_segment(s)) < 0)
			return ret;
		g = &s->segs[s->nsegs - 1];
	} else if (s->wfd < 0) {
		char name[NAME_LEN + 1];
		seg_name(name, g->num);
		s->wfd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (s->wfd < 0) {
			io_error(s);
			return -errno;
		}
	}

	uint8_t hdr[HDR];
	memcpy(hdr, magic, sizeof(magic));
	put_le32(hdr + 4, (uint32_t)len);
	put_le32(hdr + 8, record_crc(hdr + 4, rec, len));
	struct iovec iov[2] = {
	    {.iov_base = hdr, .iov_len = HDR},
	    {.iov_base = (void *)(uintptr_t)rec, .iov_len = len},
	};
	if ((ret = write_all_at(s->wfd, iov, 2, g->size)) < 0) {
		io_error(s);
		/* No partial record stays behind.  Should the cut fail too,
		 * the next append overwrites from g->size anyway. */
		if (ftruncate(s->wfd, (off_t)g->size) != 0)
			io_error(s);
		return ret;
	}
	g->size += need;
	g->nrec++;
	s->total_bytes += need;
	s->pending++;
	s->wdirty = true;
	s->ctr[AFGW_SPOOL_C_APPENDED]++;
	return 0;
}

int afgw_spool_sync(struct afgw_spool *s)
{
	int ret = 0;
	if (s->wfd >= 0 && s->wdirty) {
		if (fsync(s->wfd) != 0) {
			ret = -errno;
			io_error(s);
		} else {
			s->wdirty = false;
		}
	}
	if (s->ddirty) {
		if (fsync(s->dirfd) != 0) {
			if (!ret)
				ret = -errno;
			io_error(s);
		} else {
			s->ddirty = false;
		}
	}
	return ret;
}

void afgw_spool_rewind(struct afgw_spool *s)
{
	s->ri = 0;
	s->roff = s->head_off;
	s->rdone = s->head_done;
	s->rcount = 0;
}

/*
 * The reader's step: the next good record from (ri, roff) on.  The reader
 * never moves past the newest segment, so records appended after an
 * -ENOENT are found by the next call.
 */
static int step(struct afgw_spool *s, const uint8_t **rec, uint32_t *len)
{
	while (s->ri < s->nsegs) {
		const struct seg *g = &s->segs[s->ri];
		if (g->size >= HDR && s->roff <= g->size - HDR) {
			int r = use_segment(s, g);
			if (r < 0)
				return r;
			uint64_t at;
			r = find_record(s, g->size, g->limit, s->roff, NULL, &at, len);
			if (r < 0)
				return r;
			if (r == FOUND) {
				*rec = s->buf + (at - s->wbase) + HDR;
				s->roff = at + HDR + *len;
				s->rdone++;
				s->rcount++;
				return 0;
			}
		}
		if (s->ri + 1 >= s->nsegs)
			break;
		s->ri++;
		s->roff = 0;
		s->rdone = 0;
	}
	return -ENOENT;
}

int afgw_spool_next(struct afgw_spool *s, const void **rec, size_t *len)
{
	const uint8_t *p;
	uint32_t n;
	int r = step(s, &p, &n);
	if (r < 0)
		return r;
	*rec = p;
	*len = n;
	return 0;
}

/* Unlink the k oldest segments and take them off the list. */
static void drop_segments(struct afgw_spool *s, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		const struct seg *g = &s->segs[i];
		char name[NAME_LEN + 1];
		seg_name(name, g->num);
		if (s->rfd >= 0 && s->rnum == g->num)
			drop_reader_fd(s);
		if (i + 1 == s->nsegs && s->wfd >= 0) {
			close(s->wfd);
			s->wfd = -1;
			s->wdirty = false;
		}
		if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT)
			io_error(s);
		s->total_bytes -= g->size;
	}
	if (k) {
		memmove(s->segs, s->segs + k, (s->nsegs - k) * sizeof(*s->segs));
		s->nsegs -= k;
	}
}

/*
 * Release: walk the reader to just past the n-th oldest pending record
 * (no walk when the caller has just read exactly n records, the usual
 * deliver-then-release pattern); everything before the reader is then
 * released.  Segments the reader has left, and its own segment once all
 * its records are behind it, are unlinked; otherwise the reader's
 * position becomes the head, in memory only.
 */
int afgw_spool_release(struct afgw_spool *s, uint64_t n)
{
	if (n > s->pending)
		return -EINVAL;
	if (s->rcount != n) {
		afgw_spool_rewind(s);
		while (s->rcount < n) {
			const uint8_t *p;
			uint32_t len;
			int r = step(s, &p, &len);
			if (r == -ENOENT)
				break; /* fewer records than counted: release them all */
			if (r < 0) {
				afgw_spool_rewind(s);
				return r;
			}
		}
	}
	uint64_t done = s->rcount;
	size_t k = s->ri < s->nsegs ? s->ri : s->nsegs;
	bool whole = k < s->nsegs && s->segs[k].nrec > 0 && s->rdone >= s->segs[k].nrec;
	if (whole) {
		drop_segments(s, k + 1);
		s->head_off = s->head_done = 0;
	} else {
		drop_segments(s, k);
		s->head_off = s->nsegs ? s->roff : 0;
		s->head_done = s->nsegs ? s->rdone : 0;
	}
	s->pending = done < s->pending ? s->pending - done : 0;
	if (done < n)
		s->pending = 0;
	s->ctr[AFGW_SPOOL_C_RELEASED] += done;
	afgw_spool_rewind(s);
	return 0;
}

uint64_t afgw_spool_pending(const struct afgw_spool *s)
{
	return s->pending;
}

/*
 * Bytes of segment files from the oldest pending record on: what replay
 * still has to read, framing and any damage included.
 */
uint64_t afgw_spool_pending_bytes(const struct afgw_spool *s)
{
	return s->total_bytes - (s->nsegs ? s->head_off : 0);
}

void afgw_spool_counters(const struct afgw_spool *s, uint64_t out[AFGW_SPOOL_C_COUNT])
{
	memcpy(out, s->ctr, sizeof(s->ctr));
}

const char *afgw_spool_counter_name(enum afgw_spool_counter c)
{
	static const char *const names[AFGW_SPOOL_C_COUNT] = {
	    [AFGW_SPOOL_C_APPENDED] = "appended",
	    [AFGW_SPOOL_C_RELEASED] = "released",
	    [AFGW_SPOOL_C_FULL] = "full",
	    [AFGW_SPOOL_C_TORN_BYTES] = "torn_bytes",
	    [AFGW_SPOOL_C_SKIPPED_BYTES] = "skipped_bytes",
	    [AFGW_SPOOL_C_IO_ERRORS] = "io_errors",
	};
	return (unsigned)c < AFGW_SPOOL_C_COUNT ? names[c] : "?";
}
