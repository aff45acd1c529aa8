/* test_ipfrag.c - fragment reassembly: order, duplicates, overlaps, limits, timeouts. */
#include <errno.h>

#include "afgw/ipfrag.h"
#include "check.h"

static uint8_t data[3000];

/* A fragment of datagram id covering [off, off+len) of data. */
static struct afgw_pkt frag(unsigned id, unsigned off, unsigned len, bool more)
{
	struct afgw_pkt k;
	memset(&k, 0, sizeof(k));
	k.src.family = k.dst.family = 4;
	k.src.a[3] = 1;
	k.dst.a[3] = 2;
	k.l4proto = 17;
	k.frag_id = id;
	k.frag_offset = off;
	k.frag_more = more;
	k.frag_data = data + off;
	k.frag_len = len;
	return k;
}

int main(void)
{
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	struct afgw_ipfrag_limits lim = { .max_datagrams = 4, .max_fragments = 8,
					  .timeout_us = 1000000 };
	struct afgw_ipfrag *f = afgw_ipfrag_new(&lim);
	struct afgw_ipfrag_stats st;
	const uint8_t *out;
	size_t n;
	struct afgw_pkt k;

	/* In order: 1480 + 1480 + 40 */
	k = frag(1, 0, 1480, true);
	CHECK_INT(afgw_ipfrag_add(f, &k, 10, &out, &n), 0);
	k = frag(1, 1480, 1480, true);
	CHECK_INT(afgw_ipfrag_add(f, &k, 11, &out, &n), 0);
	k = frag(1, 2960, 40, false);
	CHECK_INT(afgw_ipfrag_add(f, &k, 12, &out, &n), 1);
	CHECK_INT(n, 3000);
	CHECK(memcmp(out, data, 3000) == 0);

	/* Reverse order, with an exact duplicate in the middle (ignored) */
	k = frag(2, 2960, 40, false);
	CHECK_INT(afgw_ipfrag_add(f, &k, 20, &out, &n), 0);
	k = frag(2, 1480, 1480, true);
	CHECK_INT(afgw_ipfrag_add(f, &k, 21, &out, &n), 0);
	CHECK_INT(afgw_ipfrag_add(f, &k, 21, &out, &n), 0);
	k = frag(2, 0, 1480, true);
	CHECK_INT(afgw_ipfrag_add(f, &k, 22, &out, &n), 1);
	CHECK_INT(n, 3000);
	CHECK(memcmp(out, data, 3000) == 0);
	afgw_ipfrag_get_stats(f, &st);
	CHECK_INT(st.duplicates, 1);
	CHECK_INT(st.reassembled, 2);

	/* Overlap (not an exact duplicate) discards the datagram, as Linux does */
	k = frag(3, 0, 1480, true);
	afgw_ipfrag_add(f, &k, 30, &out, &n);
	k = frag(3, 1472, 1000, true);
	CHECK_INT(afgw_ipfrag_add(f, &k, 31, &out, &n), -EINVAL);
	k = frag(3, 2472, 528, false);
	CHECK_INT(afgw_ipfrag_add(f, &k, 32, &out, &n), 0); /* starts a new, incomplete datagram */
	afgw_ipfrag_get_stats(f, &st);
	CHECK_INT(st.overlaps, 1);

	/* A non-last fragment whose length is not a multiple of 8 is bad */
	k = frag(4, 0, 1001, true);
	CHECK_INT(afgw_ipfrag_add(f, &k, 40, &out, &n), -EINVAL);
	/* Past 64 KiB (ping of death) is bad */
	k = frag(5, 65528, 16, false);
	k.frag_data = data;
	CHECK_INT(afgw_ipfrag_add(f, &k, 41, &out, &n), -EINVAL);
	/* Two different ends are bad */
	k = frag(6, 800, 800, false);
	CHECK_INT(afgw_ipfrag_add(f, &k, 42, &out, &n), 0);
	k = frag(6, 1600, 800, false);
	CHECK_INT(afgw_ipfrag_add(f, &k, 43, &out, &n), -EINVAL);
	afgw_ipfrag_get_stats(f, &st);
	CHECK_INT(st.bad, 3);

	/* Too many fragments */
	for (unsigned i = 0; i < 8; i++) {
		k = frag(7, i * 8, 8, true);
		CHECK_INT(afgw_ipfrag_add(f, &k, 50, &out, &n), 0);
	}
	k = frag(7, 64, 8, true);
	CHECK_INT(afgw_ipfrag_add(f, &k, 50, &out, &n), -EINVAL);
	afgw_ipfrag_get_stats(f, &st);
	CHECK_INT(st.too_many, 1);

	/* Timeout: an incomplete datagram is gone after timeout_us */
	k = frag(8, 0, 8, true);
	afgw_ipfrag_add(f, &k, 100, &out, &n);
	afgw_ipfrag_expire(f, 100 + 2000000);
	afgw_ipfrag_get_stats(f, &st);
	CHECK(st.timeouts >= 1);
	CHECK_INT(st.held, 0);
	k = frag(8, 8, 8, false);
	CHECK_INT(afgw_ipfrag_add(f, &k, 2000200, &out, &n), 0); /* the first half is gone */

	/* Eviction: more datagrams than slots evicts the oldest, bounded memory */
	for (unsigned id = 100; id < 110; id++) {
		k = frag(id, 0, 8, true);
		afgw_ipfrag_add(f, &k, 3000000, &out, &n);
	}
	afgw_ipfrag_get_stats(f, &st);
	CHECK(st.evicted >= 6);
	CHECK(st.held <= 4);
	/* The newest still completes */
	k = frag(109, 8, 8, false);
	CHECK_INT(afgw_ipfrag_add(f, &k, 3000001, &out, &n), 1);
	CHECK_INT(n, 16);

	afgw_ipfrag_free(f);
	afgw_ipfrag_free(NULL);
	return check_report();
}
