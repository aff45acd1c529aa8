/*
 * sip_reply.h - a SIP response to a captured request, as a frame ready to
 * inject: what bridge mode sends back to the caller of a blocked INVITE
 * (RFC 8197 "607 Unwanted").  gateway/sip_reply.c.
 *
 * The request frame is decoded again (packet.h, sip.h); the response
 * goes back the way the request came: Ethernet addresses swapped (802.1Q
 * tags kept), IPv4 or IPv6 addresses swapped, UDP ports swapped, IPv4
 * header checksum and the UDP checksum computed.  The SIP message follows
 * RFC 3261 section 8.2.6: every Via of the request in order, From, To
 * with a tag added when it has none, Call-ID, CSeq, then the optional
 * extra header line and Content-Length: 0.
 *
 * Thread: any; pure apart from writing out.
 */
#ifndef AFGW_SIP_REPLY_H
#define AFGW_SIP_REPLY_H

#include <stddef.h>
#include <stdint.h>

#define AFGW_SIP_REPLY_MAX 4096        /* room for any reply to a request of ordinary size
                                          (huge Via headers give -ENOSPC: forwarded) */

/*
 * Build into out[0..cap) the frame answering the UDP SIP request in
 * frame[0..len) (link type linktype: Ethernet, with or without 802.1Q /
 * QinQ tags) with `status reason` (e.g. 607, "Unwanted").  to_tag is the
 * tag added to To when the request's To has none (NULL: a fixed one);
 * extra is one more header line without CRLF (e.g. a Reason header) or
 * NULL.  Returns the frame's length, -EINVAL when frame is not a whole,
 * unfragmented UDP SIP request over Ethernet (responses, TCP, fragments,
 * a request without Via / From / To / Call-ID / CSeq, or with one empty,
 * an ACK, a request sent to a multicast / broadcast address or from port
 * 0, header values with a bare CR / LF / NUL, bad arguments), or -ENOSPC.
 */
int afgw_sip_reply_frame(const uint8_t *frame, size_t len, int linktype, unsigned status,
			 const char *reason, const char *to_tag, const char *extra, uint8_t *out,
			 size_t cap);

#endif
