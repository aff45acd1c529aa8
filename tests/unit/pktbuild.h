/*
 * pktbuild.h - build test frames by hand: Ethernet (optionally VLAN
 * tagged), IPv4 / IPv6, UDP / TCP.  Checksums are left zero: the decoder
 * does not verify them (captures from offloading NICs have bad ones).
 */
#ifndef AFGW_PKTBUILD_H
#define AFGW_PKTBUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pb {
	uint8_t b[70000];
	size_t n;
};

static inline void pb_u8(struct pb *p, unsigned v)
{
	p->b[p->n++] = (uint8_t)v;
}

static inline void pb_u16(struct pb *p, unsigned v)
{
	pb_u8(p, v >> 8);
	pb_u8(p, v);
}

static inline void pb_u32(struct pb *p, uint32_t v)
{
	pb_u16(p, v >> 16);
	pb_u16(p, v & 0xffff);
}

static inline void pb_mem(struct pb *p, const void *m, size_t n)
{
	memcpy(p->b + p->n, m, n);
	p->n += n;
}

/* Ethernet header with optional 802.1Q tag (vlan 0: none). */
static inline void pb_eth(struct pb *p, unsigned vlan, unsigned ethertype)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	pb_mem(p, macs, 12);
	if (vlan) {
		pb_u16(p, 0x8100);
		pb_u16(p, vlan);
	}
	pb_u16(p, ethertype);
}

/* IPv4 header: total = 20 + l4len; fragment offset in bytes. */
static inline void pb_ipv4(struct pb *p, uint32_t src, uint32_t dst, unsigned proto, size_t l4len,
			   unsigned id, unsigned frag_off, int more)
{
	pb_u8(p, 0x45);
	pb_u8(p, 0);
	pb_u16(p, (unsigned)(20 + l4len));
	pb_u16(p, id);
	pb_u16(p, (more ? 0x2000u : 0) | (frag_off / 8));
	pb_u8(p, 64);
	pb_u8(p, proto);
	pb_u16(p, 0);
	pb_u32(p, src);
	pb_u32(p, dst);
}

static inline void pb_ipv6(struct pb *p, const uint8_t src[16], const uint8_t dst[16],
			   unsigned nh, size_t plen)
{
	pb_u32(p, 0x60000000u);
	pb_u16(p, (unsigned)plen);
	pb_u8(p, nh);
	pb_u8(p, 64);
	pb_mem(p, src, 16);
	pb_mem(p, dst, 16);
}

static inline void pb_udp(struct pb *p, unsigned sport, unsigned dport, const void *data, size_t n)
{
	pb_u16(p, sport);
	pb_u16(p, dport);
	pb_u16(p, (unsigned)(8 + n));
	pb_u16(p, 0);
	pb_mem(p, data, n);
}

static inline void pb_tcp(struct pb *p, unsigned sport, unsigned dport, uint32_t seq, uint32_t ack,
			  unsigned flags, const void *data, size_t n)
{
	pb_u16(p, sport);
	pb_u16(p, dport);
	pb_u32(p, seq);
	pb_u32(p, ack);
	pb_u8(p, 5 << 4);
	pb_u8(p, flags);
	pb_u16(p, 65535);
	pb_u16(p, 0);
	pb_u16(p, 0);
	if (n)
		pb_mem(p, data, n);
}

#endif
