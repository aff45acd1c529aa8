/*
 * capture.c - packets in: pcap / pcapng files and live interfaces.
 *
 * The only file that includes pcap.h.  It hands frames to the caller one
 * at a time, with the link type translated to the LINKTYPE_ registry value
 * (libpcap's DLT_ numbers differ for a few types).  Reading a damaged file
 * stops at the damage with an error naming the file and the byte offset of
 * the record that could not be read; everything before it has been handed
 * out.  Live capture uses a read timeout so the caller's loop can look at
 * timers and signals between packets.
 *
 * Speed: libpcap reads a file with two fread()s per record through a 4 KiB
 * stdio buffer, and learning each record's offset (for the damage report)
 * costs an lseek(): together about half of what decoding costs.  So a
 * plain classic pcap file (this host's byte order, version 2.4,
 * microsecond stamps, a regular file, no filter) is read here instead, in
 * big pread() chunks, with records handed out in place and their offsets
 * known for free.  The first record that is not plainly well formed (cut
 * short, longer than the snapshot length) goes back to libpcap, with its
 * stream positioned at that record, so a damaged file fails exactly as
 * libpcap says, at the same offset.  Everything else (pcapng, the other
 * byte order, nanosecond files, filters, pipes) is libpcap's throughout.
 *
 * Called by the thread that owns the handle; no global state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "afgw/capture.h"

struct afgw_capture {
	pcap_t *p;
	char name[256];
	bool is_file;
	int linktype;
	long last_offset;          /* file offset of the record being read */
	char err[AFGW_CAPTURE_ERRLEN];
	/* the fast reader (see the top of the file); fd < 0 when unused */
	int fd;
	uint8_t *buf;
	size_t pos, end;           /* unread bytes are buf[pos..end) */
	off_t buf_off;             /* file offset of buf[0] */
	uint32_t max_caplen;       /* larger records go to libpcap */
};

/* Small enough that what pread() just wrote is still in the L2 cache when
 * the decoders read it; records of more than FAST_MAX_CAPLEN (which no
 * real link has) go to libpcap. */
#define FAST_BUF (256u << 10)
#define FAST_MAX_CAPLEN (FAST_BUF - 16)
#define PCAP_MAGIC_USEC 0xa1b2c3d4u

static int linktype_of(pcap_t *p)
{
	/* pcap_datalink_ext would be simpler but is deprecated; translate. */
	int dlt = pcap_datalink(p);
	switch (dlt) {
	case DLT_NULL:
		return AFGW_LINK_NULL;
	case DLT_EN10MB:
		return AFGW_LINK_ETHERNET;
	case 12: /* DLT_RAW on Linux and most systems */
	case 14: /* DLT_RAW on BSD/OS */
	case AFGW_LINK_RAW:
		return AFGW_LINK_RAW;
	case DLT_LOOP:
		return AFGW_LINK_LOOP;
	case DLT_LINUX_SLL:
		return AFGW_LINK_LINUX_SLL;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		return AFGW_LINK_LINUX_SLL2;
#endif
#ifdef DLT_IPV4
	case DLT_IPV4:
		return AFGW_LINK_IPV4;
#endif
#ifdef DLT_IPV6
	case DLT_IPV6:
		return AFGW_LINK_IPV6;
#endif
	default:
		return dlt;
	}
}

static int set_filter(struct afgw_capture *c, const char *bpf, bpf_u_int32 netmask)
{
	struct bpf_program prog;
	if (!bpf || !*bpf)
		return 0;
	if (pcap_compile(c->p, &prog, bpf, 1, netmask) != 0) {
		snprintf(c->err, sizeof(c->err), "%s: bad filter \"%s\": %s", c->name, bpf,
			 pcap_geterr(c->p));
		return -EINVAL;
	}
	int rc = pcap_setfilter(c->p, &prog);
	pcap_freecode(&prog);
	if (rc != 0) {
		snprintf(c->err, sizeof(c->err), "%s: cannot set filter: %s", c->name,
			 pcap_geterr(c->p));
		return -EINVAL;
	}
	return 0;
}

/*
 * Take over reading when the file is one the fast reader handles exactly
 * as libpcap would (see the top of the file).  libpcap has read the
 * 24-byte file header and nothing more; its stream stays there until
 * fast_handover().  Failing to set up simply leaves libpcap in charge.
 */
static void fast_open(struct afgw_capture *c)
{
	FILE *fp = pcap_file(c->p);
	struct stat st;
	uint32_t magic;
	c->fd = -1;
	if (!fp || pcap_is_swapped(c->p) || pcap_major_version(c->p) != 2 ||
	    pcap_minor_version(c->p) != 4 || pcap_snapshot(c->p) <= 0 || ftell(fp) != 24)
		return;
	int fd = dup(fileno(fp));
	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    pread(fd, &magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
	    magic != PCAP_MAGIC_USEC || !(c->buf = malloc(FAST_BUF))) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->buf_off = 24;
	c->pos = c->end = 0;
	c->max_caplen = (uint32_t)pcap_snapshot(c->p);
	if (c->max_caplen > FAST_MAX_CAPLEN)
		c->max_caplen = FAST_MAX_CAPLEN; /* also within libpcap's 262144 */
}

static void fast_close(struct afgw_capture *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

/* Give the rest of the file, from the record at buf[pos], back to libpcap. */
static void fast_handover(struct afgw_capture *c)
{
	off_t off = c->buf_off + (off_t)c->pos;
	/* a regular file: the seek cannot fail short of an I/O error libpcap then reports */
	(void)fseeko(pcap_file(c->p), off, SEEK_SET);
	fast_close(c);
}

/*
 * Make at least want bytes available at buf[pos] (want <= FAST_BUF);
 * returns false at the end of the file or on a read error, with whatever
 * is there left in place.
 */
static bool fast_fill(struct afgw_capture *c, size_t want)
{
	if (c->end - c->pos >= want)
		return true;
	size_t have = c->end - c->pos;
	memmove(c->buf, c->buf + c->pos, have);
	c->buf_off += (off_t)c->pos;
	c->pos = 0;
	c->end = have;
	while (c->end < want) {
		ssize_t r = pread(c->fd, c->buf + c->end, FAST_BUF - c->end, c->buf_off + (off_t)c->end);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		c->end += (size_t)r;
	}
	return true;
}

/* A record header field: the file is in this host's byte order (not swapped). */
static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* One record by the fast reader: 1 frame, 0 end of file, -1 not mine (hand over). */
static int fast_next(struct afgw_capture *c, struct afgw_frame *f)
{
	if (!fast_fill(c, 16))
		return c->end == c->pos ? 0 : -1; /* a cut header is libpcap's to report */
	const uint8_t *h = c->buf + c->pos;
	uint32_t caplen = rd32(h + 8);
	if (caplen > c->max_caplen || !fast_fill(c, 16 + (size_t)caplen))
		return -1;
	h = c->buf + c->pos;
	/* libpcap widens the 32-bit fields of the record header as signed */
	int64_t sec = (int32_t)rd32(h), usec = (int32_t)rd32(h + 4);
	f->ts_us = (uint64_t)sec * 1000000u + (uint64_t)usec;
	f->data = h + 16;
	f->caplen = caplen;
	f->len = rd32(h + 12);
	f->linktype = c->linktype;
	c->pos += 16 + (size_t)caplen;
	return 1;
}

int afgw_capture_open_file(struct afgw_capture **out, const char *path, const char *bpf,
			   char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct afgw_capture *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (!c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	snprintf(c->name, sizeof(c->name), "%s", path);
	c->is_file = true;
	c->fd = -1;
	c->p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (!c->p) {
		/* libpcap says "truncated dump file", "unknown file format", ENOENT... */
		snprintf(err, errlen, "%s: cannot read capture: %s", path, ebuf);
		rc = -EINVAL;
		goto fail;
	}
	c->linktype = linktype_of(c->p);
	rc = set_filter(c, bpf, PCAP_NETMASK_UNKNOWN);
	if (rc) {
		snprintf(err, errlen, "%s", c->err);
		goto fail;
	}
	if (!bpf || !*bpf)
		fast_open(c);
	*out = c;
	return 0;
fail:
	if (c->p)
		pcap_close(c->p);
	free(c);
	return rc;
}

int afgw_capture_open_live(struct afgw_capture **out, const char *ifname,
			   const struct afgw_capture_live_opts *o, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct afgw_capture *c = calloc(1, sizeof(*c));
	int rc = -EINVAL;

	*out = NULL;
	if (!c) {
		snprintf(err, errlen, "%s: out of memory", ifname);
		return -ENOMEM;
	}
	snprintf(c->name, sizeof(c->name), "%s", ifname);
	c->fd = -1;
	c->p = pcap_create(ifname, ebuf);
	if (!c->p) {
		snprintf(err, errlen, "%s: cannot open interface: %s", ifname, ebuf);
		goto fail;
	}
	pcap_set_snaplen(c->p, o->snaplen > 0 ? o->snaplen : 65535);
	pcap_set_promisc(c->p, o->promisc);
	pcap_set_timeout(c->p, o->timeout_ms > 0 ? o->timeout_ms : 100);
	pcap_set_immediate_mode(c->p, 1);
	if (o->buffer_bytes > 0)
		pcap_set_buffer_size(c->p, o->buffer_bytes);
	int act = pcap_activate(c->p);
	if (act < 0) {
		snprintf(err, errlen, "%s: cannot start capture: %s", ifname, pcap_geterr(c->p));
		goto fail;
	}
	c->linktype = linktype_of(c->p);
	if (o->inbound_only && pcap_setdirection(c->p, PCAP_D_IN) != 0) {
		snprintf(err, errlen, "%s: cannot capture inbound frames only: %s", ifname,
			 pcap_geterr(c->p));
		goto fail;
	}
	rc = set_filter(c, o->bpf, PCAP_NETMASK_UNKNOWN);
	if (rc) {
		snprintf(err, errlen, "%s", c->err);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (c->p)
		pcap_close(c->p);
	free(c);
	return rc;
}

int afgw_capture_next(struct afgw_capture *c, struct afgw_frame *f)
{
	struct pcap_pkthdr *h;
	const u_char *data;

	if (c->fd >= 0) {
		int r = fast_next(c, f);
		if (r >= 0)
			return r;
		fast_handover(c);
	}
	if (c->is_file) {
		FILE *fp = pcap_file(c->p);
		if (fp)
			c->last_offset = ftell(fp);
	}
	int rc = pcap_next_ex(c->p, &h, &data);
	if (rc == 1) {
		f->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		f->data = data;
		f->caplen = h->caplen;
		f->len = h->len;
		f->linktype = c->linktype;
		return 1;
	}
	if (rc == 0 || rc == PCAP_ERROR_BREAK)
		return 0;
	snprintf(c->err, sizeof(c->err), "%s: damaged at byte %ld: %s", c->name, c->last_offset,
		 pcap_geterr(c->p));
	return -EIO;
}

int afgw_capture_pollable(struct afgw_capture *c, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	if (c->is_file) {
		snprintf(err, errlen, "%s: a file cannot be polled", c->name);
		return -EINVAL;
	}
	if (pcap_setnonblock(c->p, 1, ebuf) != 0) {
		snprintf(err, errlen, "%s: cannot make the capture non-blocking: %s", c->name, ebuf);
		return -EIO;
	}
	int fd = pcap_get_selectable_fd(c->p);
	if (fd < 0) {
		snprintf(err, errlen, "%s: the capture has no file descriptor to poll", c->name);
		return -EIO;
	}
	return fd;
}

int afgw_capture_inject(struct afgw_capture *c, const uint8_t *frame, size_t len, char *err,
			size_t errlen)
{
	if (c->is_file) {
		snprintf(err, errlen, "%s: cannot send on a file", c->name);
		return -EINVAL;
	}
	if (pcap_inject(c->p, frame, len) != (int)len) {
		snprintf(err, errlen, "%s: cannot send a frame of %zu bytes: %s", c->name, len,
			 pcap_geterr(c->p));
		return -EIO;
	}
	return 0;
}

const char *afgw_capture_error(const struct afgw_capture *c)
{
	return c->err;
}

int afgw_capture_drops(struct afgw_capture *c, uint64_t *recv, uint64_t *drop, uint64_t *ifdrop)
{
	struct pcap_stat st;
	*recv = *drop = *ifdrop = 0;
	if (c->is_file)
		return 0;
	if (pcap_stats(c->p, &st) != 0)
		return -EIO;
	*recv = st.ps_recv;
	*drop = st.ps_drop;
	*ifdrop = st.ps_ifdrop;
	return 0;
}

void afgw_capture_close(struct afgw_capture *c)
{
	if (!c)
		return;
	fast_close(c);
	pcap_close(c->p);
	free(c);
}
