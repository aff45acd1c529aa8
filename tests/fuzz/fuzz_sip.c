/*
 * fuzz_sip.c - libFuzzer target for the SIP decoder (gateway/decode_sip.c).
 *
 * Each input is parsed as one datagram, then as a TCP stream walked
 * message by message on msg_len (resynchronising after -EBADMSG, as the
 * stream reader does).  Every slice of every message is read byte by byte
 * so ASan checks its bounds, the user parts go through afgw_sip_unescape
 * into a small buffer, and the decoder's promises are checked: slices lie
 * inside the input, a user_plain user part has no ':', ';' or '%',
 * msg_len moves forward and stays inside it, valid means
 * no anomaly but body_extra, and a stream message cut one byte short asks
 * for more instead of giving a different answer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afgw/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lo, *hi;
static volatile unsigned sink;

static void touch(struct afgw_str s)
{
	unsigned sum = 0;
	if (s.len == 0)
		return;
	if (s.p < lo || s.p > hi || s.len > (size_t)(hi - s.p))
		abort();
	for (size_t i = 0; i < s.len; i++)
		sum += (unsigned char)s.p[i];
	sink += sum;
}

static void touch_uri(const struct afgw_sip_uri *u)
{
	char out[32];
	touch(u->scheme);
	touch(u->user);
	touch(u->host);
	touch(u->port);
	touch(u->params);
	/* user_plain promises a user part without ':', ';' or '%' */
	if (u->user_plain)
		for (size_t i = 0; i < u->user.len; i++)
			if (u->user.p[i] == ':' || u->user.p[i] == ';' || u->user.p[i] == '%')
				abort();
	int n = afgw_sip_unescape(u->user, out, sizeof(out));
	if (n > (int)sizeof(out))
		abort();
	if (n > 0)
		sink += (unsigned char)out[n - 1];
}

static void touch_na(const struct afgw_sip_nameaddr *na)
{
	touch(na->display);
	touch(na->uri);
	touch(na->tag);
	touch_uri(&na->parsed);
}

static void touch_msg(const struct afgw_sip_msg *m, size_t avail)
{
	if (m->valid != ((m->anomalies & ~(uint32_t)AFGW_SIP_A_BODY_EXTRA) == 0))
		abort();
	if (m->msg_len == 0 || m->msg_len > avail)
		abort();
	if (m->status != 0 && (m->status < 100 || m->status > 699))
		abort();
	touch(m->method);
	touch(m->ruri);
	touch_uri(&m->ruri_parsed);
	touch(m->reason);
	touch_na(&m->from);
	touch_na(&m->to);
	touch_na(&m->pai);
	touch_na(&m->contact);
	touch(m->call_id);
	touch(m->cseq_method);
	touch(m->user_agent);
	touch(m->identity);
	touch(m->content_type);
	touch(m->via);
	touch(m->body);
	for (uint32_t b = 1; b; b <<= 1)
		if ((m->anomalies & b) && !afgw_sip_anomaly_name(b))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct afgw_sip_msg m;

	lo = buf;
	hi = buf + size;

	if (afgw_sip_parse(buf, size, &m, 0) == 0)
		touch_msg(&m, size);

	size_t off = 0;
	while (off < size) {
		int rc = afgw_sip_parse(buf + off, size - off, &m, AFGW_SIP_STREAM);
		if (rc == 0) {
			touch_msg(&m, size - off);
			size_t got = m.msg_len;
			/* one byte short of a complete message is "feed me more" */
			if (!(m.anomalies & AFGW_SIP_A_TOO_MANY_HEADERS) && got > 0 &&
			    size - off < 4096 &&
			    afgw_sip_parse(buf + off, got - 1, &m, AFGW_SIP_STREAM) != -EAGAIN)
				abort();
			off += got;
		} else if (rc == -EBADMSG) {
			long r = afgw_sip_resync(buf + off + 1, size - off - 1);
			if (r < 0)
				break;
			if ((size_t)r >= size - off - 1)
				abort();
			off += 1 + (size_t)r;
		} else if (rc == -EAGAIN) {
			break;
		} else {
			abort();
		}
	}

	long r = afgw_sip_resync(buf, size);
	if (r >= (long)size || r < -1)
		abort();
	return 0;
}
