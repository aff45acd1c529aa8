/*
 * fuzz_smpp.c - libFuzzer target for the SMPP decoder and stream reader.
 *
 * Input layout: byte 0 = number of chunk-size bytes that follow (low 3
 * bits, + 1); then those bytes; then the stream.  The stream is fed to a
 * reader (max_pdu 4096, so the length bound is reachable) in chunks of the
 * listed sizes, cycling; a size byte 0 means "the stream lost bytes here"
 * (afgw_smpp_gap) and 0xff "an oversized chunk" (-ENOBUFS), each followed
 * by a 1-byte feed.
 * _next is drained after every feed and every slice of every PDU is read.
 *
 * Properties checked (a violation traps):
 *  - every slice lies inside its PDU's command_length bytes;
 *  - every byte fed is returned in a PDU, skipped, or still buffered;
 *  - the buffer never grows past max_pdu + AFGW_SMPP_FEED_MAX;
 *  - without gaps or overflows, the PDUs do not depend on the chunking:
 *    the same stream fed in one piece gives the same sequence.
 * The whole input is also given to afgw_smpp_parse directly.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afgw/smpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PDU 4096u

static volatile uint64_t sink;
static uint8_t oversized[AFGW_SMPP_FEED_MAX + MAX_PDU + 1];

static void must(bool cond)
{
	if (!cond)
		__builtin_trap();
}

/* Read every byte of a slice and check that it lies inside the PDU. */
static uint64_t touch(const struct afgw_smpp_pdu *p, struct afgw_str s)
{
	uint64_t sum = 0;
	if (!s.p) {
		must(s.len == 0);
		return 0;
	}
	const uint8_t *b = (const uint8_t *)s.p;
	must(b >= p->raw && b <= p->raw + p->command_length);
	must(s.len <= (size_t)(p->raw + p->command_length - b));
	for (size_t i = 0; i < s.len; i++)
		sum += b[i];
	return sum;
}

static uint64_t touch_addr(const struct afgw_smpp_pdu *p, const struct afgw_smpp_addr *a)
{
	return a->ton + a->npi + touch(p, a->addr);
}

/* A digest of one PDU: its bytes and everything decoded from them. */
static uint64_t digest(const struct afgw_smpp_pdu *p)
{
	uint64_t h = p->command_length * 31u + p->command_id;
	h = h * 31u + p->command_status;
	h = h * 31u + p->sequence_number;
	h = h * 31u + p->anomalies + p->valid;
	for (uint32_t i = 0; i < p->command_length; i++)
		h = h * 31u + p->raw[i];
	h += touch(p, p->system_id) + touch(p, p->password) + touch(p, p->system_type) +
	     touch(p, p->address_range) + touch(p, p->service_type) +
	     touch(p, p->schedule_delivery_time) + touch(p, p->validity_period) +
	     touch(p, p->short_message) + touch(p, p->message_payload) + touch(p, p->message_id);
	h += touch_addr(p, &p->src) + touch_addr(p, &p->dst);
	must(p->n_dests <= AFGW_SMPP_MAX_DESTS && p->n_dests <= p->number_of_dests);
	for (unsigned i = 0; i < p->n_dests; i++)
		h += touch_addr(p, &p->dests[i]) + p->dests[i].is_dl;
	h += p->interface_version + p->addr_ton + p->addr_npi + p->esm_class + p->protocol_id +
	     p->priority_flag + p->registered_delivery + p->replace_if_present_flag +
	     p->data_coding + p->sm_default_msg_id + p->has_message_payload + p->has_sar +
	     p->sar_msg_ref_num + p->sar_total_segments + p->sar_segment_seqnum;
	if (p->has_sar)
		must(p->sar_segment_seqnum >= 1 && p->sar_segment_seqnum <= p->sar_total_segments);
	for (unsigned b = 0; b < AFGW_SMPP_ANOMALY_COUNT; b++)
		if (p->anomalies & (1u << b))
			must(afgw_smpp_anomaly_name(1u << b) != NULL);
	must((p->anomalies >> AFGW_SMPP_ANOMALY_COUNT) == 0);
	return h;
}

struct tally {
	uint64_t n, hash, fed, returned;
};

static void drain(struct afgw_smpp_reader *r, struct tally *t)
{
	struct afgw_smpp_pdu pdu;
	int rc;

	while ((rc = afgw_smpp_next(r, &pdu)) == 0) {
		must(pdu.raw >= r->buf && pdu.raw + pdu.command_length <= r->buf + r->len);
		must(pdu.command_length >= 16 && pdu.command_length <= r->max_pdu);
		must(afgw_smpp_command_name(pdu.command_id) != NULL);
		t->n++;
		t->hash = t->hash * 1000003u ^ digest(&pdu);
		t->returned += pdu.command_length;
	}
	must(rc == -EAGAIN);
	must(t->fed == t->returned + r->skipped_bytes + (r->len - r->off));
	must(r->cap <= (size_t)r->max_pdu + AFGW_SMPP_FEED_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct afgw_smpp_pdu pdu;
	struct afgw_smpp_reader r, whole;
	struct tally a = {0, 0, 0, 0}, b = {0, 0, 0, 0};

	if (afgw_smpp_parse(data, size, &pdu) == 0)
		sink += digest(&pdu);
	if (size < 1)
		return 0;
	size_t nsizes = (size_t)(data[0] & 7) + 1;
	if (size < 1 + nsizes)
		return 0;
	const uint8_t *sizes = data + 1;
	const uint8_t *s = data + 1 + nsizes;
	size_t n = size - 1 - nsizes;

	if (afgw_smpp_reader_init(&r, MAX_PDU) != 0)
		return 0;
	bool disturbed = false;
	for (size_t i = 0, k = 0; i < n; k++) {
		size_t m = sizes[k % nsizes];
		if (m == 0) {
			afgw_smpp_gap(&r);
			disturbed = true;
			m = 1;
		} else if (m == 0xff) {
			must(afgw_smpp_feed(&r, oversized, sizeof(oversized)) == -ENOBUFS);
			must(r.len == r.off && r.desync);
			disturbed = true;
			m = 1;
		}
		if (m > n - i)
			m = n - i;
		must(afgw_smpp_feed(&r, s + i, m) == 0);
		a.fed += m;
		i += m;
		drain(&r, &a);
	}
	uint64_t skipped = r.skipped_bytes;
	uint64_t reasons[AFGW_SMPP_R_COUNT];
	memcpy(reasons, r.reasons, sizeof(reasons));
	afgw_smpp_reader_fini(&r);
	sink += a.hash;
	if (disturbed)
		return 0;

	/* The same stream in pieces as large as allowed. */
	if (afgw_smpp_reader_init(&whole, MAX_PDU) != 0)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t m = n - i < AFGW_SMPP_FEED_MAX ? n - i : AFGW_SMPP_FEED_MAX;
		must(afgw_smpp_feed(&whole, s + i, m) == 0);
		b.fed += m;
		i += m;
		drain(&whole, &b);
	}
	must(a.n == b.n && a.hash == b.hash && a.returned == b.returned);
	must(skipped == whole.skipped_bytes);
	must(memcmp(reasons, whole.reasons, sizeof(reasons)) == 0);
	afgw_smpp_reader_fini(&whole);
	return 0;
}
