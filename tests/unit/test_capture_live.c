/*
 * test_capture_live.c - a live capture on the loopback interface: a UDP
 * datagram sent to 127.0.0.1 is seen through libpcap with the BPF filter
 * applied, and decodes to the payload that was sent.  Needs CAP_NET_RAW:
 * without it the test reports SKIP (exit 77) with the reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "afgw/capture.h"
#include "afgw/packet.h"
#include "check.h"

int main(void)
{
	struct afgw_capture *c;
	char err[AFGW_CAPTURE_ERRLEN];
	/* A port of our own, so other loopback traffic does not match. */
	unsigned port = 20000 + (unsigned)(getpid() % 20000);
	char filter[64];
	snprintf(filter, sizeof(filter), "udp dst port %u", port);
	struct afgw_capture_live_opts o = { .bpf = filter, .timeout_ms = 50 };
	if (afgw_capture_open_live(&c, "lo", &o, err, sizeof(err)) != 0) {
		printf("SKIP: %s\n", err);
		return 77;
	}

	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	static const char msg[] = "OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\n\r\n";
	/* the noise datagram goes to another port: the filter must drop it */
	struct sockaddr_in other = to;
	other.sin_port = htons((uint16_t)(port + 1));
	sendto(s, "noise", 5, 0, (struct sockaddr *)&other, sizeof(other));
	sendto(s, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&to, sizeof(to));

	/*
	 * Bounded for real: a blocking read on a TPACKET_V3 ring waits for a
	 * packet however long it takes (the kernel's block timeout only runs
	 * once a block has one), so the capture is polled, 40 times 50 ms at
	 * most, and the datagram sent again every 10 rounds in case a busy
	 * machine lost it.
	 */
	int fd = afgw_capture_pollable(c, err, sizeof(err));
	CHECK(fd >= 0);
	struct afgw_frame f;
	int got = 0, rounds = 0;
	while (fd >= 0 && rounds++ < 40 && !got) {
		if (rounds % 10 == 0)
			sendto(s, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&to, sizeof(to));
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		poll(&pfd, 1, 50);
		int rc = afgw_capture_next(c, &f);
		CHECK(rc >= 0);
		if (rc != 1)
			continue;
		struct afgw_pkt k;
		CHECK_INT(afgw_packet_decode(f.linktype, f.data, f.caplen, f.len, &k), AFGW_PKT_OK);
		CHECK_INT(k.dport, port);
		CHECK_MEM(k.payload, k.payload_len, msg);
		got = 1;
	}
	CHECK(got);
	uint64_t recv, drop, ifdrop;
	CHECK_INT(afgw_capture_drops(c, &recv, &drop, &ifdrop), 0);
	CHECK(recv >= 1);
	close(s);
	afgw_capture_close(c);
	return check_report();
}
