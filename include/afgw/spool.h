/*
 * spool.h - the warnings' local spool, gateway/spool.c.
 *
 * When Redis is unreachable or slow, the notifier writes each sealed
 * warning (opaque bytes: ciphertext and routing fields only, never clear
 * text) here, and replays the spool, oldest first, once Redis is back.
 * Nothing is lost across a crash of the process: every record is in the
 * kernel (write(2)) before afgw_spool_append returns, and afgw_spool_sync
 * makes it durable across power loss (fsync, called by the notifier once
 * per batch).  A record that was delivered but not yet released when the
 * process died is delivered again after the restart; the warning ids make
 * such duplicates removable downstream.
 *
 * On disk: a directory of segment files, "spool-<20-digit number>.seg",
 * replayed in number order.  A segment is a sequence of records:
 *
 *   offset size  field
 *   0      4     magic 0x41 0x46 0x53 0x52 ("AFSR")
 *   4      4     payload length, little-endian, 1 .. AFGW_SPOOL_RECORD_MAX
 *   8      4     CRC-32C (Castagnoli) of the 4 length bytes then the payload,
 *                little-endian
 *   12     len   payload
 *
 * A torn tail (the process or machine died inside a write) is a last record
 * that runs past the end of the file or fails its checksum: opening the
 * spool detects it, truncates the segment there and counts the bytes.  A
 * damaged record elsewhere is skipped by searching forward for the next
 * magic whose record checks out; the skipped bytes are counted.  (The
 * failed candidates of one segment may claim its size plus 4 MiB in all;
 * past that, which only a crafted file reaches, the rest of the segment
 * counts as skipped, so reading stays linear in the spool's size.)
 *
 * Bounded: at most max_bytes of segment files (records of released whole
 * segments are unlinked); an append that would pass the bound fails with
 * -ENOSPC and the caller counts the loss.  Memory is one record's read
 * buffer (AFGW_SPOOL_RECORD_MAX + 12 bytes) and a few words per segment
 * file, whatever the spool's size.
 *
 * Thread: one owner (the notifier thread); no locks inside.
 */
#ifndef AFGW_SPOOL_H
#define AFGW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define AFGW_SPOOL_RECORD_MAX (64u * 1024)      /* payload bytes in one record */
#define AFGW_SPOOL_SEGMENT_BYTES (4u << 20)     /* a segment is closed past this size */

enum afgw_spool_counter {
	AFGW_SPOOL_C_APPENDED,       /* records written */
	AFGW_SPOOL_C_RELEASED,       /* records released (delivered) */
	AFGW_SPOOL_C_FULL,           /* appends refused: max_bytes reached */
	AFGW_SPOOL_C_TORN_BYTES,     /* bytes of torn tails truncated at open */
	AFGW_SPOOL_C_SKIPPED_BYTES,  /* bytes of damaged records skipped while reading */
	AFGW_SPOOL_C_IO_ERRORS,      /* failed write / read / fsync / unlink */
	AFGW_SPOOL_C_COUNT
};

struct afgw_spool;

/*
 * Open (creating it with mode 0700 if missing) the spool directory dir,
 * holding at most max_bytes (>= 2 segments' worth is sensible; at least
 * AFGW_SPOOL_RECORD_MAX + 12).  Existing segments are checked: torn tails
 * truncated, pending records counted.  Files in dir that are not segments
 * are left alone.  Returns 0, -EINVAL, -ENOMEM or -errno (cannot create or
 * read dir).
 */
int afgw_spool_open(const char *dir, uint64_t max_bytes, struct afgw_spool **out);

/* Release memory and close files; what is pending stays on disk.  NULL-safe. */
void afgw_spool_close(struct afgw_spool *s);

/*
 * Append one record (1 .. AFGW_SPOOL_RECORD_MAX bytes, copied).  Returns 0,
 * -EINVAL (size), -ENOSPC (the spool is full: counted) or -errno (write
 * failed: counted, the partial record is cut off again).
 */
int afgw_spool_append(struct afgw_spool *s, const void *rec, size_t len);

/* fsync the segment being written (and the directory after a new segment). */
int afgw_spool_sync(struct afgw_spool *s);

/*
 * Read pending records oldest first without releasing them: the i-th call
 * after afgw_spool_rewind (or after open, or after a release) gives the
 * i-th oldest pending record.  *rec points into the spool's buffer and is
 * valid until the next call on s.  Returns 0, -ENOENT when there is no
 * further record, or -errno.
 */
void afgw_spool_rewind(struct afgw_spool *s);
int afgw_spool_next(struct afgw_spool *s, const void **rec, size_t *len);

/*
 * Release the n oldest pending records (they were delivered): a segment
 * all of whose records are released is unlinked.  The position of the
 * oldest pending record is kept in memory only, so after a restart the
 * records of a partly released segment come again.  Rewinds the reader.
 * Returns 0, -EINVAL (n > pending) or -errno.
 */
int afgw_spool_release(struct afgw_spool *s, uint64_t n);

uint64_t afgw_spool_pending(const struct afgw_spool *s);        /* records */
uint64_t afgw_spool_pending_bytes(const struct afgw_spool *s);  /* on disk */

void afgw_spool_counters(const struct afgw_spool *s, uint64_t out[AFGW_SPOOL_C_COUNT]);
const char *afgw_spool_counter_name(enum afgw_spool_counter c);

#endif
