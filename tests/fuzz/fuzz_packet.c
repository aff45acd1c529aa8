/*
 * fuzz_packet.c - whole-packet fuzz target: the dissector end to end.
 *
 * Input: one byte choosing the link type, then frames, each a 2-byte
 * big-endian length and that many bytes.  All frames go through one
 * dissector (so IP fragments, TCP streams, SMPP readers and concatenated
 * SMS state carry across them), every event is written as JSON, and the
 * dissector is flushed and freed at the end.  Small limits make the
 * eviction and memcap paths reachable.
 */
#include <stdint.h>
#include <stdlib.h>

#include "afgw/dissect.h"
#include "afgw/event.h"

static void on_event(void *ud, const struct afgw_event *ev)
{
	struct afgw_jbuf *b = ud;
	afgw_jbuf_reset(b);
	afgw_json_obj_begin(b);
	afgw_event_json_fields(b, ev);
	afgw_json_obj_end(b);
	if (!afgw_jbuf_failed(b) && !afgw_utf8_valid(b->p, b->len))
		abort(); /* the output must always be valid UTF-8 */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int links[] = { AFGW_LINK_ETHERNET, AFGW_LINK_RAW, AFGW_LINK_LINUX_SLL,
				     AFGW_LINK_LINUX_SLL2, AFGW_LINK_NULL, AFGW_LINK_IPV6 };
	if (size < 1)
		return 0;
	struct afgw_dissect_config cfg;
	afgw_dissect_config_default(&cfg);
	cfg.max_flows = 16;
	cfg.tcp_windows = 2;
	cfg.frag_datagrams = 4;
	cfg.concat_messages = 4;
	cfg.concat_bytes = 2048;
	cfg.smpp_max_pdu = 4096;
	cfg.sip_stream_max = 8192;

	struct afgw_jbuf b;
	afgw_jbuf_init(&b);
	struct afgw_dissect *d = afgw_dissect_new(&cfg, on_event, &b);
	if (!d)
		return 0;
	int link = links[data[0] % (sizeof(links) / sizeof(links[0]))];
	size_t off = 1;
	uint64_t ts = 1795248000000000ull;
	while (off + 2 <= size) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (n > size - off)
			n = size - off;
		/* Copy to an exact-size block so ASan sees reads past the frame. */
		uint8_t *frame = malloc(n ? n : 1);
		if (!frame)
			break;
		memcpy(frame, data + off, n);
		struct afgw_frame f = { .ts_us = ts, .data = frame, .caplen = (uint32_t)n,
					.len = (uint32_t)n, .linktype = link };
		afgw_dissect_frame(d, &f);
		free(frame);
		off += n;
		ts += 1000000; /* a second per frame: timeouts fire in long inputs */
	}
	afgw_dissect_free(d);
	afgw_jbuf_fini(&b);
	return 0;
}
