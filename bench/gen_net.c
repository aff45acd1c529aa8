/*
 * gen_net.c - frames, streams and the two output files of afgw-gen.
 *
 * Input: whole messages (a SIP request, an SMPP PDU) with the JSON members
 * of their truth line.  Output: Ethernet frames in a classic pcap
 * (microseconds, LINKTYPE_ETHERNET) and the truth lines (JSON Lines).
 *
 * Framing: optional 802.1Q tag or QinQ (0x88a8 outer), IPv4 or IPv6, UDP
 * or TCP, correct IP / UDP / TCP checksums, frames padded to 60 bytes as a
 * mirror port shows them.  UDP datagrams bigger than the MTU are
 * fragmented (IPv4 fragments, or an IPv6 Fragment header), now and then in
 * reverse order.  TCP connections get a handshake, a stream of writes cut
 * at the MSS and at random offsets (so messages share segments and span
 * them), an ACK per write, a FIN exchange; on request adjacent data
 * segments are swapped or resent with identical TCP bytes.
 *
 * Packets are not written when they are made: each lands in a queue ordered
 * by timestamp, and gen_net_flush() writes what is due.  That lets one step
 * of a flow stamp a retransmission or an ACK a little in the future while
 * the file stays in time order.  The truth line of a message rides on the
 * packet that completes it (the last fragment, or the segment after which
 * the receiver holds every byte of the message in order), so truth lines
 * come out in write order stamped with that packet's time.
 *
 * Damage (--bad) that lives below the message is applied here: truncated
 * captures, lying IP / UDP lengths, garbage in place of a TCP message.
 * Damage that makes a TCP byte stream unframeable (a truncated segment, a
 * lying SMPP command_length, garbage in place of a SIP message) marks every
 * later message of that connection "after_damage", since a decoder may lose
 * the rest of the stream.
 */
#include "gen.h"

#include <errno.h>
#include <stdlib.h>

#define PCAP_SNAPLEN 262144

struct slot {
	uint64_t ts, order;
	uint32_t len, caplen;
	uint8_t *frame;
	struct gen_buf truth; /* lines written right after this packet */
	struct slot *next_free;
};

/* One TCP segment of a write being planned. */
struct seg {
	size_t start, end; /* stream offsets */
	size_t cut;        /* truncated capture keeps [start, cut); == end: whole */
	struct slot *slot;
};

struct gen_net {
	FILE *pcap, *truth;
	const char *pcap_path, *truth_path;
	char *pcap_vbuf, *truth_vbuf;
	struct gen_net_opts o;
	struct gen_rng *rng;
	size_t frame_cap;

	struct slot **heap;
	size_t nheap, heap_cap;
	struct slot *free_slots;
	uint64_t order;
	uint32_t frag6_id;

	struct gen_buf stream, dgram;
	struct seg *segs;
	size_t segs_cap;
	size_t *moff, *mend, mcap;

	struct gen_net_stats st;
	bool io_error;
};

static void oom(void)
{
	fputs("afgw-gen: out of memory\n", stderr);
	exit(1);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* ---- checksums ------------------------------------------------------------ */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < n)
		sum += (uint32_t)(p[i] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Sum of the pseudo-header for an L4 checksum. */
static uint32_t pseudo(const struct gen_path *p, int dir, uint8_t proto, size_t len)
{
	uint32_t sum = 0;

	if (p->v6) {
		sum = csum_add(sum, p->ep[dir].ip, 16);
		sum = csum_add(sum, p->ep[!dir].ip, 16);
		sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
	} else {
		sum = csum_add(sum, p->ep[dir].ip, 4);
		sum = csum_add(sum, p->ep[!dir].ip, 4);
		sum += (uint32_t)len;
	}
	return sum + proto;
}

/* ---- the packet queue ----------------------------------------------------- */

static bool slot_before(const struct slot *a, const struct slot *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->order < b->order);
}

static struct slot *slot_new(struct gen_net *n, uint64_t ts)
{
	struct slot *s = n->free_slots;

	if (s) {
		n->free_slots = s->next_free;
	} else {
		s = calloc(1, sizeof(*s));
		if (!s)
			oom();
		s->frame = malloc(n->frame_cap);
		if (!s->frame)
			oom();
		gen_buf_init(&s->truth, 1024);
	}
	s->ts = ts;
	s->order = n->order++;
	s->len = s->caplen = 0;
	s->truth.len = 0;

	if (n->nheap == n->heap_cap) {
		n->heap_cap = n->heap_cap ? n->heap_cap * 2 : 256;
		n->heap = realloc(n->heap, n->heap_cap * sizeof(*n->heap));
		if (!n->heap)
			oom();
	}
	size_t i = n->nheap++;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!slot_before(s, n->heap[up]))
			break;
		n->heap[i] = n->heap[up];
		i = up;
	}
	n->heap[i] = s;
	return s;
}

static struct slot *heap_pop(struct gen_net *n)
{
	struct slot *top = n->heap[0], *last = n->heap[--n->nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n->nheap)
			break;
		if (c + 1 < n->nheap && slot_before(n->heap[c + 1], n->heap[c]))
			c++;
		if (!slot_before(n->heap[c], last))
			break;
		n->heap[i] = n->heap[c];
		i = c;
	}
	if (n->nheap)
		n->heap[i] = last;
	return top;
}

static void write_slot(struct gen_net *n, struct slot *s)
{
	uint8_t rec[16];

	le32(rec, (uint32_t)(s->ts / 1000000));
	le32(rec + 4, (uint32_t)(s->ts % 1000000));
	le32(rec + 8, s->caplen);
	le32(rec + 12, s->len);
	if (fwrite_unlocked(rec, 1, 16, n->pcap) != 16 ||
	    fwrite_unlocked(s->frame, 1, s->caplen, n->pcap) != s->caplen)
		n->io_error = true;
	n->st.packets++;
	n->st.bytes += s->len;
	if (n->truth && s->truth.len &&
	    fwrite_unlocked(s->truth.p, 1, s->truth.len, n->truth) != s->truth.len)
		n->io_error = true;
}

void gen_net_flush(struct gen_net *n, uint64_t upto)
{
	while (n->nheap && n->heap[0]->ts <= upto) {
		struct slot *s = heap_pop(n);
		write_slot(n, s);
		s->next_free = n->free_slots;
		n->free_slots = s;
	}
}

/* ---- opening and closing --------------------------------------------------- */

struct gen_net *gen_net_open(const char *pcap_path, const char *truth_path,
                             const struct gen_net_opts *o, struct gen_rng *rng)
{
	struct gen_net *n = calloc(1, sizeof(*n));
	uint8_t hdr[24];

	if (!n)
		oom();
	n->o = *o;
	n->rng = rng;
	n->pcap_path = pcap_path;
	n->truth_path = truth_path;
	n->frame_cap = 64 + (o->mtu > 1280 ? o->mtu : 1280);
	n->frag6_id = 0x10000;
	gen_buf_init(&n->stream, 1 << 16);
	gen_buf_init(&n->dgram, 1 << 16);

	n->pcap = fopen(pcap_path, "wb");
	if (!n->pcap) {
		fprintf(stderr, "afgw-gen: %s: %s\n", pcap_path, strerror(errno));
		goto fail;
	}
	n->pcap_vbuf = malloc(8 << 20);
	if (!n->pcap_vbuf)
		oom();
	setvbuf(n->pcap, n->pcap_vbuf, _IOFBF, 8 << 20);
	if (truth_path) {
		n->truth = fopen(truth_path, "wb");
		if (!n->truth) {
			fprintf(stderr, "afgw-gen: %s: %s\n", truth_path, strerror(errno));
			goto fail;
		}
		n->truth_vbuf = malloc(8 << 20);
		if (!n->truth_vbuf)
			oom();
		setvbuf(n->truth, n->truth_vbuf, _IOFBF, 8 << 20);
	}

	/* libpcap file header: magic, 2.4, thiszone 0, sigfigs 0, snaplen,
	 * LINKTYPE_ETHERNET (1) - written little-endian */
	le32(hdr, 0xa1b2c3d4u);
	hdr[4] = 2;
	hdr[5] = 0;
	hdr[6] = 4;
	hdr[7] = 0;
	le32(hdr + 8, 0);
	le32(hdr + 12, 0);
	le32(hdr + 16, PCAP_SNAPLEN);
	le32(hdr + 20, 1);
	if (fwrite(hdr, 1, sizeof(hdr), n->pcap) != sizeof(hdr))
		n->io_error = true;
	return n;
fail:
	if (n->pcap)
		fclose(n->pcap);
	free(n->pcap_vbuf);
	gen_buf_fini(&n->stream);
	gen_buf_fini(&n->dgram);
	free(n);
	return NULL;
}

int gen_net_close(struct gen_net *n, struct gen_net_stats *st)
{
	int err = 0;

	gen_net_flush(n, UINT64_MAX);
	if (fclose(n->pcap) != 0 || n->io_error) {
		fprintf(stderr, "afgw-gen: %s: write error\n", n->pcap_path);
		err = -EIO;
	}
	if (n->truth && fclose(n->truth) != 0) {
		fprintf(stderr, "afgw-gen: %s: write error\n", n->truth_path);
		err = -EIO;
	}
	if (st)
		*st = n->st;
	while (n->free_slots) {
		struct slot *s = n->free_slots;
		n->free_slots = s->next_free;
		free(s->frame);
		gen_buf_fini(&s->truth);
		free(s);
	}
	free(n->heap);
	free(n->pcap_vbuf);
	free(n->truth_vbuf);
	free(n->segs);
	free(n->moff);
	free(n->mend);
	gen_buf_fini(&n->stream);
	gen_buf_fini(&n->dgram);
	free(n);
	return err;
}

/* ---- truth lines -------------------------------------------------------- */

const char *gen_bad_name(unsigned kind)
{
	static const char *const names[GEN_BAD_COUNT] = {
	    [GEN_BAD_NONE] = NULL,
	    [GEN_BAD_TRUNCATED] = "truncated",
	    [GEN_BAD_IP_LENGTH] = "ip_length",
	    [GEN_BAD_UDP_LENGTH] = "udp_length",
	    [GEN_BAD_SMPP_LENGTH] = "smpp_length",
	    [GEN_BAD_SIP_NO_COLON] = "sip_no_colon",
	    [GEN_BAD_SIP_DUP_FROM] = "sip_duplicate_from",
	    [GEN_BAD_SIP_CONFLICT_CL] = "sip_conflicting_content_length",
	    [GEN_BAD_SIP_JUNK_COLON] = "sip_junk_before_colon",
	    [GEN_BAD_SIP_NUL] = "sip_nul_byte",
	    [GEN_BAD_TCP_GARBAGE] = "tcp_garbage",
	    [GEN_BAD_AFTER_DAMAGE] = "after_damage",
	};
	return kind < GEN_BAD_COUNT ? names[kind] : NULL;
}

static const char *const pattern_names[] = {"normal", "wangiri", "mass_call", "blacklisted"};

/* Note a damaged message; SMS parts report their first damage on the line. */
static void note_bad(struct gen_net *n, struct gen_msg *m)
{
	if (!m->bad)
		return;
	n->st.bad++;
	if (m->group_bad && !*m->group_bad)
		*m->group_bad = m->bad;
}

static void truth_line(struct gen_net *n, struct slot *s, const struct gen_msg *m, bool tcp,
                       const struct gen_ep *src, const struct gen_ep *dst)
{
	struct gen_buf *b = &s->truth;

	if (!m->fields)
		return;
	n->st.truth_lines++;
	if (!n->truth)
		return;
	gen_puts(b, "{\"ts\":\"");
	gen_put_time(b, s->ts);
	gen_puts(b, m->proto == GEN_PROTO_SIP ? "\",\"proto\":\"sip\"" : "\",\"proto\":\"smpp\"");
	gen_puts(b,
	         tcp ? ",\"transport\":\"tcp\",\"src\":\"" : ",\"transport\":\"udp\",\"src\":\"");
	gen_puts(b, src->text);
	gen_puts(b, "\",\"dst\":\"");
	gen_puts(b, dst->text);
	gen_puts(b, "\",\"valid\":true,\"anomalies\":[]");
	gen_put(b, m->fields, m->fields_len);

	const struct gen_text *t = m->label ? m->label->text : NULL;
	unsigned bad = m->group_bad && *m->group_bad ? *m->group_bad : m->bad;
	gen_puts(b, ",\"truth\":{\"label\":");
	gen_put_json_or_null(b, t ? t->label : NULL);
	gen_puts(b, ",\"category\":");
	gen_put_json_or_null(b, t ? t->category : NULL);
	gen_puts(b, ",\"corpus_id\":");
	gen_put_json_or_null(b, t ? t->id : NULL);
	gen_puts(b, ",\"pattern\":\"");
	gen_puts(b, pattern_names[m->label ? m->label->pattern : GEN_PAT_NORMAL]);
	gen_puts(b, "\",\"bad\":");
	gen_put_json_or_null(b, gen_bad_name(bad));
	gen_puts(b, "}}\n");
}

/* ---- frames --------------------------------------------------------------- */

/* Ethernet (+ VLAN tags) header for a frame from ep[dir]; returns its length. */
static size_t put_l2(uint8_t *f, const struct gen_path *p, int dir)
{
	size_t o = 12;

	memcpy(f, p->ep[!dir].mac, 6);
	memcpy(f + 6, p->ep[dir].mac, 6);
	if (p->nvlan == 2) {
		put16(f + o, 0x88a8);
		put16(f + o + 2, p->vlan[0]);
		o += 4;
	}
	if (p->nvlan >= 1) {
		put16(f + o, 0x8100);
		put16(f + o + 2, p->vlan[p->nvlan - 1]);
		o += 4;
	}
	put16(f + o, p->v6 ? 0x86dd : 0x0800);
	return o + 2;
}

static void put_ipv4(uint8_t *h, const struct gen_path *p, int dir, uint8_t proto, size_t total,
                     uint16_t id, uint16_t frag)
{
	h[0] = 0x45;
	h[1] = p->tos;
	put16(h + 2, (uint16_t)total);
	put16(h + 4, id);
	put16(h + 6, frag);
	h[8] = p->ttl[dir];
	h[9] = proto;
	h[10] = h[11] = 0;
	memcpy(h + 12, p->ep[dir].ip, 4);
	memcpy(h + 16, p->ep[!dir].ip, 4);
	put16(h + 10, csum_fold(csum_add(0, h, 20)));
}

static void put_ipv6(uint8_t *h, const struct gen_path *p, int dir, uint8_t next, size_t plen)
{
	uint32_t fl = p->flow_label & 0xfffff;

	h[0] = (uint8_t)(0x60 | (p->tos >> 4));
	h[1] = (uint8_t)((p->tos << 4) | (fl >> 16));
	h[2] = (uint8_t)(fl >> 8);
	h[3] = (uint8_t)fl;
	put16(h + 4, (uint16_t)plen);
	h[6] = next;
	h[7] = p->ttl[dir];
	memcpy(h + 8, p->ep[dir].ip, 16);
	memcpy(h + 24, p->ep[!dir].ip, 16);
}

/* Finish a frame of len bytes: pad to the Ethernet minimum. */
static void frame_done(struct slot *s, size_t len)
{
	if (len < 60) {
		memset(s->frame + len, 0, 60 - len);
		len = 60;
	}
	s->len = s->caplen = (uint32_t)len;
}

/* Cut the capture of s somewhere after byte `from` (and before its end). */
static void truncate_slot(struct gen_net *n, struct slot *s, size_t from)
{
	if (s->len < from + 2)
		from = s->len > 2 ? s->len - 2 : 0;
	s->caplen = (uint32_t)(from + 1 + gen_rng_below(n->rng, (uint32_t)(s->len - from - 1)));
	n->st.truncated++;
}

/* Make the IP length field of a built frame lie (header checksum stays
 * right for the lying header). */
static void lie_ip_length(struct gen_net *n, struct slot *s, size_t l2, bool v6)
{
	uint8_t *h = s->frame + l2;
	size_t hl = v6 ? 40 : 20, off = v6 ? 4 : 2;
	uint32_t real = (uint32_t)(h[off] << 8 | h[off + 1]);
	uint32_t floor = v6 ? 0 : 20, v;

	if (gen_rng_below(n->rng, 2) || real <= floor + 1)
		v = real + 1 + gen_rng_below(n->rng, 400);
	else
		v = floor + gen_rng_below(n->rng, real - floor);
	if (v > 0xffff)
		v = 0xffff;
	put16(h + off, (uint16_t)v);
	if (!v6) {
		h[10] = h[11] = 0;
		put16(h + 10, csum_fold(csum_add(0, h, hl)));
	}
}

/* ---- UDP -------------------------------------------------------------------- */

void gen_udp_send(struct gen_net *n, struct gen_path *p, int dir, struct gen_msg *m, uint64_t t)
{
	struct gen_buf *d = &n->dgram;
	size_t ulen = 8 + m->len;
	unsigned mtu = p->v6 && n->o.mtu < 1280 ? 1280 : n->o.mtu;
	size_t iph = p->v6 ? 40 : 20;
	struct slot *last = NULL;
	size_t last_l2 = 0;

	n->st.messages++;
	if (m->proto == GEN_PROTO_SIP)
		n->st.sip++;

	d->len = 0;
	gen_put16(d, p->ep[dir].port);
	gen_put16(d, p->ep[!dir].port);
	gen_put16(d, (uint16_t)ulen);
	gen_put16(d, 0);
	gen_put(d, m->data, m->len);
	uint16_t ck = csum_fold(csum_add(pseudo(p, dir, 17, ulen), d->p, ulen));
	put16(d->p + 6, ck ? ck : 0xffff);
	if (m->bad == GEN_BAD_UDP_LENGTH) {
		uint32_t v;
		if (gen_rng_below(n->rng, 2) || ulen <= 9)
			v = (uint32_t)ulen + 1 + gen_rng_below(n->rng, 300);
		else
			v = 8 + gen_rng_below(n->rng, (uint32_t)(ulen - 8));
		put16(d->p + 4, (uint16_t)(v > 0xffff ? 0xffff : v));
	}

	if (iph + ulen <= mtu) {
		struct slot *s = slot_new(n, t);
		size_t l2 = put_l2(s->frame, p, dir);
		if (p->v6)
			put_ipv6(s->frame + l2, p, dir, 17, ulen);
		else
			put_ipv4(s->frame + l2, p, dir, 17, iph + ulen, p->ipid[dir]++, 0);
		memcpy(s->frame + l2 + iph, d->p, ulen);
		frame_done(s, l2 + iph + ulen);
		last = s;
		last_l2 = l2;
	} else {
		/* Fragment: every piece but the last carries a multiple of 8. */
		size_t chunk = p->v6 ? (mtu - 48) & ~(size_t)7 : (mtu - 20) & ~(size_t)7;
		size_t nfrag = (ulen + chunk - 1) / chunk;
		bool reverse = !p->v6 && gen_rng_chance(n->rng, 0.1);
		uint16_t id4 = p->ipid[dir]++;
		uint32_t id6 = n->frag6_id++;

		for (size_t k = 0; k < nfrag; k++) {
			size_t i = reverse ? nfrag - 1 - k : k;
			size_t off = i * chunk, len = ulen - off < chunk ? ulen - off : chunk;
			bool more = i + 1 < nfrag;
			struct slot *s = slot_new(n, t + 3 * k);
			size_t l2 = put_l2(s->frame, p, dir), o = l2;
			if (p->v6) {
				put_ipv6(s->frame + o, p, dir, 44, 8 + len);
				o += 40;
				uint8_t *fh = s->frame + o;
				fh[0] = 17;
				fh[1] = 0;
				put16(fh + 2, (uint16_t)(off | (more ? 1 : 0)));
				put32(fh + 4, id6);
				o += 8;
			} else {
				put_ipv4(s->frame + o, p, dir, 17, 20 + len, id4,
				         (uint16_t)((more ? 0x2000 : 0) | (off / 8)));
				o += 20;
			}
			memcpy(s->frame + o, d->p + off, len);
			frame_done(s, o + len);
			n->st.fragments++;
			last = s;
			last_l2 = l2;
		}
	}

	if (m->bad == GEN_BAD_TRUNCATED)
		truncate_slot(n, last, last_l2 + iph);
	else if (m->bad == GEN_BAD_IP_LENGTH)
		lie_ip_length(n, last, last_l2, p->v6);
	note_bad(n, m);
	truth_line(n, last, m, false, &p->ep[dir], &p->ep[!dir]);
}

/* ---- TCP -------------------------------------------------------------------- */

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_PSH = 0x08, TH_ACK = 0x10 };

static unsigned seg_max(const struct gen_net *n, const struct gen_tcp *c)
{
	unsigned mtu = c->path.v6 && n->o.mtu < 1280 ? 1280 : n->o.mtu;
	unsigned room = mtu - (c->path.v6 ? 40 : 20) - 20;

	return n->o.mss < room ? n->o.mss : room;
}

/* Build and queue one TCP segment from ep[dir]. */
static struct slot *tcp_segment(struct gen_net *n, struct gen_tcp *c, int dir, uint32_t seq,
                                uint32_t ack, uint8_t flags, const uint8_t *data, size_t len,
                                uint64_t ts)
{
	struct gen_path *p = &c->path;
	struct slot *s = slot_new(n, ts);
	size_t l2 = put_l2(s->frame, p, dir);
	size_t iph = p->v6 ? 40 : 20;
	size_t thl = (flags & TH_SYN) ? 32 : 20;
	uint8_t *th = s->frame + l2 + iph;

	put16(th, p->ep[dir].port);
	put16(th + 2, p->ep[!dir].port);
	put32(th + 4, seq);
	put32(th + 8, (flags & TH_ACK) ? ack : 0);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = flags;
	put16(th + 14, c->win[dir]);
	th[16] = th[17] = 0;
	th[18] = th[19] = 0;
	if (flags & TH_SYN) {
		uint8_t *o = th + 20;
		unsigned mss = seg_max(n, c);
		/* MSS, NOP, window scale 7, NOP, NOP, SACK permitted */
		o[0] = 2;
		o[1] = 4;
		put16(o + 2, (uint16_t)mss);
		o[4] = 1;
		o[5] = 3;
		o[6] = 3;
		o[7] = 7;
		o[8] = 1;
		o[9] = 1;
		o[10] = 4;
		o[11] = 2;
	}
	if (len)
		memcpy(th + thl, data, len);
	put16(th + 16, csum_fold(csum_add(pseudo(p, dir, 6, thl + len), th, thl + len)));
	if (p->v6)
		put_ipv6(s->frame + l2, p, dir, 6, thl + len);
	else
		put_ipv4(s->frame + l2, p, dir, 6, iph + thl + len, p->ipid[dir]++, 0x4000);
	frame_done(s, l2 + iph + thl + len);
	return s;
}

uint64_t gen_tcp_open(struct gen_net *n, struct gen_tcp *c, uint64_t t)
{
	uint64_t rtt = gen_rng_range(n->rng, 150, 3000);

	c->seq[0] = (uint32_t)gen_rng_next(n->rng);
	c->seq[1] = (uint32_t)gen_rng_next(n->rng);
	c->broken = false;
	tcp_segment(n, c, 0, c->seq[0], 0, TH_SYN, NULL, 0, t);
	c->seq[0]++;
	tcp_segment(n, c, 1, c->seq[1], c->seq[0], TH_SYN | TH_ACK, NULL, 0, t + rtt);
	c->seq[1]++;
	tcp_segment(n, c, 0, c->seq[0], c->seq[1], TH_ACK, NULL, 0, t + rtt + 20);
	return t + rtt + 40;
}

void gen_tcp_close(struct gen_net *n, struct gen_tcp *c, int dir, uint64_t t)
{
	uint64_t rtt = gen_rng_range(n->rng, 150, 3000);

	tcp_segment(n, c, dir, c->seq[dir], c->seq[!dir], TH_FIN | TH_ACK, NULL, 0, t);
	c->seq[dir]++;
	tcp_segment(n, c, !dir, c->seq[!dir], c->seq[dir], TH_FIN | TH_ACK, NULL, 0, t + rtt);
	c->seq[!dir]++;
	tcp_segment(n, c, dir, c->seq[dir], c->seq[!dir], TH_ACK, NULL, 0, t + rtt + 30);
}

static void ensure_plan(struct gen_net *n, size_t nseg, size_t nm)
{
	if (nseg > n->segs_cap) {
		n->segs_cap = nseg * 2;
		n->segs = realloc(n->segs, n->segs_cap * sizeof(*n->segs));
		if (!n->segs)
			oom();
	}
	if (nm > n->mcap) {
		n->mcap = nm * 2;
		n->moff = realloc(n->moff, n->mcap * sizeof(*n->moff));
		n->mend = realloc(n->mend, n->mcap * sizeof(*n->mend));
		if (!n->moff || !n->mend)
			oom();
	}
}

uint64_t gen_tcp_send(struct gen_net *n, struct gen_tcp *c, int dir, struct gen_msg *m, size_t nm,
                      uint64_t t)
{
	struct gen_buf *st = &n->stream;
	size_t mss = seg_max(n, c);

	/* 1. the bytes of this write, garbage where asked for */
	st->len = 0;
	ensure_plan(n, 1, nm);
	for (size_t i = 0; i < nm; i++) {
		n->moff[i] = st->len;
		gen_put(st, m[i].data, m[i].len);
		n->mend[i] = st->len;
		if (m[i].bad == GEN_BAD_TCP_GARBAGE) {
			/* SMPP keeps its command_length so the stream stays framed */
			size_t from = n->moff[i] + (m[i].proto == GEN_PROTO_SMPP ? 4 : 0);
			for (size_t k = from; k < n->mend[i]; k++)
				st->p[k] = (uint8_t)gen_rng_next(n->rng);
		}
		n->st.messages++;
		if (m[i].proto == GEN_PROTO_SIP)
			n->st.sip++;
	}
	size_t total = st->len;
	if (total == 0)
		return t;

	/* 2. segment boundaries: the MSS, plus now and then a split at a
	 * random offset (a partial write), which also gives --tcp-reorder
	 * something to swap */
	size_t extra = SIZE_MAX;
	bool reorder = gen_rng_chance(n->rng, n->o.reorder);
	if (total >= 2 && (gen_rng_chance(n->rng, n->o.tcp_split) || (reorder && total <= mss)))
		extra = 1 + gen_rng_below(n->rng, (uint32_t)(total - 1));
	size_t nseg = 0, pos = 0;
	ensure_plan(n, total / mss + 3, nm);
	while (pos < total) {
		size_t end = pos + mss < total ? pos + mss : total;
		if (extra > pos && extra < end)
			end = extra;
		n->segs[nseg].start = pos;
		n->segs[nseg].end = end;
		n->segs[nseg].cut = end;
		n->segs[nseg].slot = NULL;
		nseg++;
		pos = end;
	}

	/* 3. truncated captures: cut the segment holding the message's last
	 * byte somewhere inside the message */
	for (size_t i = 0; i < nm; i++) {
		if (m[i].bad != GEN_BAD_TRUNCATED)
			continue;
		for (size_t k = 0; k < nseg; k++) {
			struct seg *sg = &n->segs[k];
			if (n->mend[i] - 1 < sg->start || n->mend[i] - 1 >= sg->end)
				continue;
			size_t lo = n->moff[i] > sg->start ? n->moff[i] : sg->start;
			size_t cut = lo + gen_rng_below(n->rng, (uint32_t)(n->mend[i] - lo));
			if (cut < sg->cut)
				sg->cut = cut;
		}
	}

	/* 4. labels: bytes lost to a cut damage their message; anything after
	 * stream-breaking damage on this connection is "after_damage" */
	bool broken = c->broken;
	for (size_t i = 0; i < nm; i++) {
		for (size_t k = 0; k < nseg; k++) {
			const struct seg *sg = &n->segs[k];
			if (sg->cut < sg->end && n->moff[i] < sg->end && n->mend[i] > sg->cut &&
			    (m[i].bad == GEN_BAD_NONE || m[i].bad == GEN_BAD_AFTER_DAMAGE))
				m[i].bad = GEN_BAD_TRUNCATED;
		}
		if (broken && m[i].bad == GEN_BAD_NONE)
			m[i].bad = GEN_BAD_AFTER_DAMAGE;
		/* a lost or lying length leaves no way to find the next message
		 * boundary for sure; neither does SIP garbage, which has no
		 * length at all (SMPP garbage keeps its command_length) */
		if (m[i].bad == GEN_BAD_TRUNCATED || m[i].bad == GEN_BAD_SMPP_LENGTH ||
		    (m[i].bad == GEN_BAD_TCP_GARBAGE && m[i].proto == GEN_PROTO_SIP))
			broken = true;
		note_bad(n, &m[i]);
	}
	c->broken = broken;

	/* 5. wire order, times, and which packet completes which message */
	size_t swap = SIZE_MAX;
	if (reorder && nseg >= 2) {
		swap = gen_rng_below(n->rng, (uint32_t)(nseg - 1));
		n->st.reordered++;
	}
	uint32_t seq0 = c->seq[dir], ack = c->seq[!dir];
	size_t contiguous = 0, next_msg = 0, have = 0;
	bool got_next_too = false;
	uint64_t ts = t;
	for (size_t w = 0; w < nseg; w++) {
		size_t k = w == swap ? w + 1 : (swap != SIZE_MAX && w == swap + 1) ? swap : w;
		struct seg *sg = &n->segs[k];
		uint8_t flags = TH_ACK | (k == nseg - 1 ? TH_PSH : 0);
		ts = t + 12 * w;
		sg->slot = tcp_segment(n, c, dir, seq0 + (uint32_t)sg->start, ack, flags,
		                       st->p + sg->start, sg->end - sg->start, ts);
		if (sg->cut < sg->end) {
			size_t l2 = put_l2(sg->slot->frame, &c->path, dir);
			size_t hdr = l2 + (c->path.v6 ? 40 : 20) + 20;
			sg->slot->caplen = (uint32_t)(hdr + (sg->cut - sg->start));
			n->st.truncated++;
		}
		/* the receiver's in-order high-water mark after this packet */
		if (k == have) {
			have++;
			contiguous = sg->end;
			if (got_next_too) {
				have++;
				contiguous = n->segs[have - 1].end;
				got_next_too = false;
			}
		} else {
			got_next_too = true;
		}
		while (next_msg < nm && n->mend[next_msg] <= contiguous) {
			truth_line(n, sg->slot, &m[next_msg], true, &c->path.ep[dir],
			           &c->path.ep[!dir]);
			next_msg++;
		}
	}

	/* 6. resent segments: identical TCP bytes a little later */
	for (size_t k = 0; k < nseg; k++) {
		if (!gen_rng_chance(n->rng, n->o.retrans))
			continue;
		const struct seg *sg = &n->segs[k];
		uint64_t later = sg->slot->ts + gen_rng_range(n->rng, 5000, 40000);
		tcp_segment(n, c, dir, seq0 + (uint32_t)sg->start, ack,
		            TH_ACK | (k == nseg - 1 ? TH_PSH : 0), st->p + sg->start,
		            sg->end - sg->start, later);
		n->st.retrans++;
	}

	/* 7. the peer acknowledges the write */
	c->seq[dir] = seq0 + (uint32_t)total;
	tcp_segment(n, c, !dir, c->seq[!dir], c->seq[dir], TH_ACK, NULL, 0,
	            ts + gen_rng_range(n->rng, 40, 400));
	return ts;
}
