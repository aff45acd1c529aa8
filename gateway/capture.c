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
 * Called by the thread that owns the handle; no global state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <pcap/pcap.h>

#include "afgw/capture.h"

struct afgw_capture {
	pcap_t *p;
	char name[256];
	bool is_file;
	int linktype;
	long last_offset;          /* file offset of the record being read */
	char err[AFGW_CAPTURE_ERRLEN];
};

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
	pcap_close(c->p);
	free(c);
}
