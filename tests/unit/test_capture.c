/*
 * test_capture.c - files in: pcap and pcapng read through libpcap, a BPF
 * filter, and a damaged file reported with its offset after every packet
 * before the damage was delivered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "afgw/capture.h"
#include "check.h"
#include "pktbuild.h"

static void w32(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f); /* host order, as the pcap magic says */
}

static void w16(FILE *f, uint16_t v)
{
	fwrite(&v, 2, 1, f);
}

/* One Ethernet/IPv4/UDP frame to port dport carrying text. */
static size_t frame(struct pb *p, unsigned dport, const char *text)
{
	p->n = 0;
	pb_eth(p, 0, 0x0800);
	pb_ipv4(p, 0x0a000001, 0x0a000002, 17, 8 + strlen(text), 1, 0, 0);
	pb_udp(p, 5060, dport, text, strlen(text));
	return p->n;
}

static void write_pcap(const char *path, int npkts, bool damage)
{
	FILE *f = fopen(path, "wb");
	static struct pb p;
	w32(f, 0xa1b2c3d4);
	w16(f, 2);
	w16(f, 4);
	w32(f, 0);
	w32(f, 0);
	w32(f, 65535);
	w32(f, 1);
	for (int i = 0; i < npkts; i++) {
		size_t n = frame(&p, i % 2 ? 5060 : 9999, "OPTIONS sip:x SIP/2.0\r\n\r\n");
		w32(f, 1795248000u + (uint32_t)i);
		w32(f, 250000);
		w32(f, (uint32_t)n);
		w32(f, (uint32_t)n);
		fwrite(p.b, 1, n, f);
	}
	if (damage) {
		/* A record header that promises 1000 bytes, then only 10. */
		w32(f, 1795248100u);
		w32(f, 0);
		w32(f, 1000);
		w32(f, 1000);
		fwrite(p.b, 1, 10, f);
	}
	fclose(f);
}

static void write_pcapng(const char *path)
{
	FILE *f = fopen(path, "wb");
	static struct pb p;
	/* Section header block */
	w32(f, 0x0a0d0d0a);
	w32(f, 28);
	w32(f, 0x1a2b3c4d);
	w16(f, 1);
	w16(f, 0);
	w32(f, 0xffffffff);
	w32(f, 0xffffffff);
	w32(f, 28);
	/* Interface description block: Linux SLL2 */
	w32(f, 1);
	w32(f, 20);
	w16(f, 276);
	w16(f, 0);
	w32(f, 65535);
	w32(f, 20);
	/* Enhanced packet block with an SLL2 frame */
	p.n = 0;
	pb_u16(&p, 0x0800); pb_u16(&p, 0); pb_u32(&p, 2); pb_u16(&p, 1); pb_u8(&p, 0); pb_u8(&p, 6);
	pb_u32(&p, 0); pb_u32(&p, 0);
	const char *text = "SIP/2.0 200 OK\r\n\r\n";
	pb_ipv4(&p, 0x0a000001, 0x0a000002, 17, 8 + strlen(text), 1, 0, 0);
	pb_udp(&p, 5060, 5060, text, strlen(text));
	size_t pad = (4 - p.n % 4) % 4;
	uint32_t blen = (uint32_t)(32 + p.n + pad);
	uint64_t ts = 1795248000123456ull;
	w32(f, 6);
	w32(f, blen);
	w32(f, 0);
	w32(f, (uint32_t)(ts >> 32));
	w32(f, (uint32_t)ts);
	w32(f, (uint32_t)p.n);
	w32(f, (uint32_t)p.n);
	fwrite(p.b, 1, p.n, f);
	for (size_t i = 0; i < pad; i++)
		fputc(0, f);
	w32(f, blen);
	fclose(f);
}

int main(void)
{
	char path[] = "/tmp/afgw-test-capture-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct afgw_capture *c;
	struct afgw_frame fr;
	char err[AFGW_CAPTURE_ERRLEN];

	/* A good file: every frame, with its time and link type */
	write_pcap(path, 4, false);
	CHECK_INT(afgw_capture_open_file(&c, path, NULL, err, sizeof(err)), 0);
	int n = 0;
	while (afgw_capture_next(c, &fr) == 1) {
		CHECK_INT(fr.linktype, AFGW_LINK_ETHERNET);
		CHECK(fr.ts_us == (1795248000ull + (unsigned)n) * 1000000u + 250000u);
		n++;
	}
	CHECK_INT(n, 4);
	CHECK(afgw_capture_error(c)[0] == 0);
	afgw_capture_close(c);

	/* A BPF filter */
	CHECK_INT(afgw_capture_open_file(&c, path, "udp dst port 5060", err, sizeof(err)), 0);
	n = 0;
	while (afgw_capture_next(c, &fr) == 1)
		n++;
	CHECK_INT(n, 2);
	afgw_capture_close(c);
	CHECK(afgw_capture_open_file(&c, path, "udp port banana", err, sizeof(err)) < 0);
	CHECK(strstr(err, "bad filter") != NULL);

	/* A damaged file: the 3 good frames come out, then an error naming the offset */
	write_pcap(path, 3, true);
	CHECK_INT(afgw_capture_open_file(&c, path, NULL, err, sizeof(err)), 0);
	n = 0;
	int rc;
	while ((rc = afgw_capture_next(c, &fr)) == 1)
		n++;
	CHECK_INT(n, 3);
	CHECK_INT(rc, -EIO);
	/* 24-byte file header + 3 * (16-byte record header + frame) */
	static struct pb fp;
	char want[64];
	snprintf(want, sizeof(want), "damaged at byte %zu", 24 + 3 * (16 + frame(&fp, 1, "OPTIONS sip:x SIP/2.0\r\n\r\n")));
	CHECK(strstr(afgw_capture_error(c), want) != NULL);
	CHECK(strstr(afgw_capture_error(c), path) != NULL);
	afgw_capture_close(c);

	/* Not a capture at all, and a missing file: clear errors naming the file */
	FILE *f = fopen(path, "wb");
	fputs("this is not a capture file\n", f);
	fclose(f);
	CHECK(afgw_capture_open_file(&c, path, NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, path) != NULL);
	CHECK(afgw_capture_open_file(&c, "/nonexistent/x.pcap", NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "/nonexistent/x.pcap") != NULL);

	/* pcapng with a Linux SLL2 interface */
	write_pcapng(path);
	CHECK_INT(afgw_capture_open_file(&c, path, NULL, err, sizeof(err)), 0);
	CHECK_INT(afgw_capture_next(c, &fr), 1);
	CHECK_INT(fr.linktype, AFGW_LINK_LINUX_SLL2);
	CHECK(fr.ts_us == 1795248000123456ull);
	CHECK_INT(afgw_capture_next(c, &fr), 0);
	afgw_capture_close(c);

	if (getenv("KEEP")) printf("%s\n", path); else unlink(path);
	return check_report();
}
