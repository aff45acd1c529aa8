/*
 * fuzz_sip_reply.c - arbitrary bytes as the Ethernet frame (linktype 1)
 * of a request bridge mode blocks: afgw_sip_reply_frame must refuse it or
 * build an answer that decodes back.
 *
 * Each input is answered with "607 Unwanted", the default To tag and no
 * extra line, into an exact-size heap buffer of AFGW_SIP_REPLY_MAX bytes
 * (and the input is an exact-size copy), so ASan sees any access outside
 * either.  A refusal must be -EINVAL or -ENOSPC.  An answer must:
 *   - be at most the cap, and come out the same again with exactly its
 *     own length as cap, and be -ENOSPC with one byte less;
 *   - decode with afgw_packet_decode as UDP with the request's ports and
 *     addresses swapped, its IP version and VLAN ids;
 *   - carry a good IPv4 header checksum and a good UDP checksum (summed
 *     here independently of sip_reply.c);
 *   - parse with afgw_sip_parse as a response, 607 "Unwanted", with
 *     Content-Length 0 and no body, the request's CSeq number and, where
 *     the request's value had no fold, its Call-ID and top Via byte for
 *     byte; its To tag is the request's, or the added one when the
 *     request's well-formed To had none.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afgw/packet.h"
#include "afgw/sip.h"
#include "afgw/sip_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One's-complement sum of the pieces' concatenation, folded to 16 bits. */
static unsigned ones_sum(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	uint64_t s = 0;
	size_t i = 0;
	for (; i < an + bn; i++) {
		uint8_t c = i < an ? a[i] : b[i - an];
		s += i % 2 ? c : (uint64_t)c << 8;
	}
	while (s > 0xffff)
		s = (s >> 16) + (s & 0xffff);
	return (unsigned)s;
}

static bool has_break(struct afgw_str s)
{
	return s.len && (memchr(s.p, '\r', s.len) || memchr(s.p, '\n', s.len));
}

static bool same(struct afgw_str a, struct afgw_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int reply(const uint8_t *in, size_t size, uint8_t **out, size_t cap)
{
	*out = malloc(cap ? cap : 1);
	if (!*out)
		abort();
	return afgw_sip_reply_frame(in, size, 1, 607, "Unwanted", NULL, NULL, *out, cap);
}

static void check(const uint8_t *in, size_t size, const uint8_t *f, size_t n)
{
	struct afgw_pkt q, r;
	struct afgw_sip_msg qm, rm;

	/* the request decoded as sip_reply.c must have decoded it */
	if (afgw_packet_decode(1, in, size, size, &q) != AFGW_PKT_OK || q.l4proto != 17 ||
	    afgw_sip_parse((const char *)q.payload, q.payload_len, &qm, 0) != 0 || !qm.is_request)
		abort();
	if (afgw_packet_decode(1, f, n, n, &r) != AFGW_PKT_OK || r.l4proto != 17 ||
	    r.l4_truncated || r.ip_version != q.ip_version || r.sport != q.dport ||
	    r.dport != q.sport || memcmp(r.src.a, q.dst.a, 16) || memcmp(r.dst.a, q.src.a, 16) ||
	    r.n_vlan != q.n_vlan || memcmp(r.vlan, q.vlan, sizeof(r.vlan)))
		abort();
	if (memcmp(f, in + 6, 6) || memcmp(f + 6, in, 6))
		abort();

	/* checksums */
	size_t ip = (size_t)(r.payload - f) - 8 - (r.ip_version == 4 ? 20 : 40);
	size_t ulen = 8 + r.payload_len;
	uint8_t ph[40];
	size_t pl;
	if (r.ip_version == 4) {
		if (f[ip] != 0x45 || ones_sum(f + ip, 20, NULL, 0) != 0xffff)
			abort();
		memcpy(ph, f + ip + 12, 8);
		ph[8] = 0, ph[9] = 17, ph[10] = (uint8_t)(ulen >> 8), ph[11] = (uint8_t)ulen;
		pl = 12;
	} else {
		memcpy(ph, f + ip + 8, 32);
		ph[32] = 0, ph[33] = 0, ph[34] = (uint8_t)(ulen >> 8), ph[35] = (uint8_t)ulen;
		ph[36] = ph[37] = ph[38] = 0, ph[39] = 17;
		pl = 40;
	}
	if (ip + (r.ip_version == 4 ? 20 : 40) + ulen != n ||
	    ones_sum(ph, pl, r.payload - 8, ulen) != 0xffff)
		abort();

	/* the SIP response */
	if (afgw_sip_parse((const char *)r.payload, r.payload_len, &rm, 0) != 0 || rm.is_request ||
	    rm.status != 607 || !afgw_str_eq(rm.reason, "Unwanted") || rm.content_length != 0 ||
	    rm.body.len != 0 || rm.msg_len != r.payload_len || rm.cseq != qm.cseq)
		abort();
	if (!has_break(qm.call_id) && !same(rm.call_id, qm.call_id))
		abort();
	if (!has_break(qm.via) && !same(rm.via, qm.via))
		abort();
	if (qm.to.tag.len ? !same(rm.to.tag, qm.to.tag)
			  : !(qm.anomalies & AFGW_SIP_A_BAD_TO) && !afgw_str_eq(rm.to.tag, "afgw"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in = malloc(size ? size : 1), *out, *again;
	if (!in)
		abort();
	if (size)
		memcpy(in, data, size);
	int n = reply(in, size, &out, AFGW_SIP_REPLY_MAX);
	if (n < 0) {
		if (n != -EINVAL && n != -ENOSPC)
			abort();
		goto done;
	}
	if (n == 0 || n > AFGW_SIP_REPLY_MAX)
		abort();
	check(in, size, out, (size_t)n);
	if (reply(in, size, &again, (size_t)n) != n || memcmp(again, out, (size_t)n))
		abort();
	free(again);
	if (reply(in, size, &again, (size_t)n - 1) != -ENOSPC)
		abort();
	free(again);
done:
	free(out);
	free(in);
	return 0;
}
