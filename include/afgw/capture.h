/*
 * capture.h - where packets come from, gateway/capture.c (the only file
 * that includes pcap.h).
 *
 * Files (pcap and pcapng, opened by libpcap; plain pcap records are read
 * by capture.c itself, faster, with the same results) and live interfaces,
 * with an optional BPF filter.  afgw_capture_next() hands out one frame at
 * a time; the frame's bytes belong to the capture handle and stay valid
 * until the next call.
 * A damaged or truncated file ends the stream with an error that names the
 * file and the byte offset where reading stopped; every packet before the
 * damage has been delivered.
 * Thread: one capture handle belongs to one thread.
 */
#ifndef AFGW_CAPTURE_H
#define AFGW_CAPTURE_H

#include "afgw/common.h"

/* Link types we decode (values of the pcap LINKTYPE_ registry). */
enum {
	AFGW_LINK_NULL = 0,        /* BSD loopback, host-order AF_ word */
	AFGW_LINK_ETHERNET = 1,
	AFGW_LINK_RAW = 101,       /* raw IPv4/IPv6 */
	AFGW_LINK_LOOP = 108,      /* OpenBSD loopback, network-order AF_ word */
	AFGW_LINK_LINUX_SLL = 113,
	AFGW_LINK_IPV4 = 228,
	AFGW_LINK_IPV6 = 229,
	AFGW_LINK_LINUX_SLL2 = 276,
};

struct afgw_frame {
	uint64_t ts_us;            /* capture time, microseconds since the epoch */
	const uint8_t *data;
	uint32_t caplen;           /* bytes present */
	uint32_t len;              /* bytes on the wire */
	int linktype;              /* AFGW_LINK_* (a pcap LINKTYPE_ value) */
	uint64_t tag;              /* the pipeline's number for the frame (events name the
	                              frame of their first part by it); 0 from captures */
};

struct afgw_capture;

#define AFGW_CAPTURE_ERRLEN 512

/*
 * Open a capture file.  bpf may be NULL.  On failure returns -errno-like
 * code and writes a one-line message naming the file into err.
 */
int afgw_capture_open_file(struct afgw_capture **out, const char *path, const char *bpf,
			   char *err, size_t errlen);

struct afgw_capture_live_opts {
	const char *bpf;           /* NULL: everything */
	int snaplen;               /* 0: 65535 */
	int buffer_bytes;          /* 0: libpcap default */
	int timeout_ms;            /* read timeout, 0: 100 */
	bool promisc;
	bool inbound_only;         /* only frames received, not those sent (bridge mode: we
	                              must not read back what we inject) */
};

/* Open a live interface (needs CAP_NET_RAW). */
int afgw_capture_open_live(struct afgw_capture **out, const char *ifname,
			   const struct afgw_capture_live_opts *o, char *err, size_t errlen);

/*
 * Next frame.  Returns 1 with *f filled, 0 at the end of a file (or a live
 * read timeout with no packet), or -EIO when the file is damaged:
 * afgw_capture_error() then says where.
 */
int afgw_capture_next(struct afgw_capture *c, struct afgw_frame *f);

/*
 * Live capture only: make c non-blocking and return a descriptor to poll
 * for readability (afgw_capture_next then returns 0 at once when nothing
 * is waiting), so one thread can serve several interfaces.  Returns the
 * descriptor or -errno with one line in err.
 */
int afgw_capture_pollable(struct afgw_capture *c, char *err, size_t errlen);

/*
 * Live capture only: send frame[0..len) out of c's interface unchanged
 * (bridge mode).  Returns 0 or -errno with one line in err.
 */
int afgw_capture_inject(struct afgw_capture *c, const uint8_t *frame, size_t len, char *err,
			size_t errlen);

/* Last error as one line ("FILE: damaged at byte N: reason"), or "". */
const char *afgw_capture_error(const struct afgw_capture *c);

/* Kernel / interface drops of a live capture (0 for files). */
int afgw_capture_drops(struct afgw_capture *c, uint64_t *recv, uint64_t *drop, uint64_t *ifdrop);

void afgw_capture_close(struct afgw_capture *c);

#endif
