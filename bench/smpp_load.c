/*
 * smpp_load.c - the SMPP 3.4 load generator of the smpp-proxy benchmark
 * (bench_smpp_proxy.sh): one program, two roles, one process per role.
 *
 *   smpp_load smsc --listen ADDR:PORT   a sink SMSC: every bind, submit_sm,
 *                                       data_sm, enquire_link and unbind is
 *                                       answered at once with status 0
 *   smpp_load esme --connect ADDR:PORT  S sessions of bind_transmitter, then
 *                                       N submit_sm over them (UCS-2 Chinese
 *                                       SMS, every K-th a fraud text), at
 *                                       most W outstanding per session
 *
 * The ESME times every submit_sm from the send() that carried it to the
 * recv() that brought its submit_sm_resp (CLOCK_MONOTONIC), counts the
 * responses by command_status and prints one machine-readable line on
 * stdout: messages, seconds, rate, p50 / p99 latency in microseconds,
 * ok / 0x45 / 0x58 / other and the fraud messages it sent.  The sink
 * prints what it received on stderr when it is stopped.
 *
 * Both roles are one thread around a level-triggered epoll with
 * non-blocking sockets.  Input is framed by command_length (16 .. 64 KiB,
 * else the connection is dropped) and every complete PDU of a read is
 * handled, however many came pipelined.  Output goes through one bounded
 * buffer per connection: the sink stops reading a connection whose answers
 * are not being read; the ESME never queues more than its window.
 *
 * Deliberately not an SMPP implementation to deploy: no TLVs interpreted,
 * no bind-state checks in the sink, no retries or throttling back-off in
 * the ESME (an ESME_RTHROTTLED answer is counted, not resent).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- SMPP 3.4 constants (§5.1.2 command_id, §5.1.3 command_status) ---- */

#define CMD_GENERIC_NACK     0x80000000u
#define CMD_BIND_RECEIVER    0x00000001u
#define CMD_BIND_TRANSMITTER 0x00000002u
#define CMD_SUBMIT_SM        0x00000004u
#define CMD_DELIVER_SM       0x00000005u
#define CMD_UNBIND           0x00000006u
#define CMD_BIND_TRANSCEIVER 0x00000009u
#define CMD_ENQUIRE_LINK     0x00000015u
#define CMD_DATA_SM          0x00000103u
#define CMD_RESP             0x80000000u /* the response bit of command_id */

#define ST_ROK         0x00000000u
#define ST_RINVCMDID   0x00000003u /* generic_nack: unknown command */
#define ST_RSUBMITFAIL 0x00000045u /* what afgw answers for a blocked SMS */
#define ST_RTHROTTLED  0x00000058u /* afgw's window is full */

#define HDR_LEN    16u               /* command_length .. sequence_number */
#define PDU_MAX    65536u            /* largest command_length accepted */
#define IN_CAP     (2u * PDU_MAX)    /* a whole PDU always fits after compaction */
#define REPLY_MAX  64u               /* largest PDU either role answers with */
#define SUBMIT_MAX 320u              /* largest submit_sm the ESME builds */
#define SEQ_MAX    0x7fffffffu       /* sequence_number range is 1 .. 0x7fffffff */

#define SMSC_OUT_CAP   (64u * 1024u)
#define SMSC_MAX_CONNS 1024u
#define ESME_MAX_SESS  1000u
#define ESME_MAX_WIN   1000u
#define ESME_MAX_MSGS  10000000ull   /* bounds the latency array: 80 MB */
#define UNBIND_WAIT_NS 2000000000ull /* unbind_resp waited for at most 2 s */

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

static volatile sig_atomic_t g_stop; /* SIGTERM / SIGINT seen */

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64: numbers, texts and digits are a function of the message index. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* ---- buffers and PDU bytes ------------------------------------------- */

/* Bytes [off, len) of p are pending: input not yet handled, or output not
 * yet sent. */
struct buf {
	uint8_t *p;
	size_t off, len, cap;
};

static int buf_init(struct buf *b, size_t cap)
{
	b->p = malloc(cap);
	b->off = b->len = 0;
	b->cap = cap;
	return b->p ? 0 : -ENOMEM;
}

static void buf_fini(struct buf *b)
{
	free(b->p);
	b->p = NULL;
}

/* Free space at the end, after moving the pending bytes to the front when
 * that is what it takes to get need bytes. */
static size_t buf_room(struct buf *b, size_t need)
{
	if (b->off == b->len) {
		b->off = b->len = 0;
	} else if (b->cap - b->len < need && b->off > 0) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	return b->cap - b->len;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *put_u8(uint8_t *w, uint8_t v)
{
	*w = v;
	return w + 1;
}

static uint8_t *put_u32(uint8_t *w, uint32_t v)
{
	w[0] = (uint8_t)(v >> 24);
	w[1] = (uint8_t)(v >> 16);
	w[2] = (uint8_t)(v >> 8);
	w[3] = (uint8_t)v;
	return w + 4;
}

/* A C-Octet String: the bytes and the terminating NUL. */
static uint8_t *put_cstr(uint8_t *w, const char *s)
{
	size_t n = strlen(s) + 1;
	memcpy(w, s, n);
	return w + n;
}

/*
 * Start a PDU at the end of b and return where its body goes; pdu_end()
 * patches command_length.  The caller has checked that b has room for the
 * whole PDU (REPLY_MAX or SUBMIT_MAX).
 */
static uint8_t *pdu_begin(struct buf *b, uint32_t cmd, uint32_t status, uint32_t seq)
{
	uint8_t *w = b->p + b->len;
	w = put_u32(w, 0); /* command_length, patched by pdu_end */
	w = put_u32(w, cmd);
	w = put_u32(w, status);
	return put_u32(w, seq);
}

static void pdu_end(struct buf *b, uint8_t *w)
{
	uint32_t len = (uint32_t)(w - (b->p + b->len));
	put_u32(b->p + b->len, len);
	b->len += len;
}

/* The length of the next complete PDU in b: 1 with *len set, 0 when it is
 * not all there yet, -EBADMSG for a command_length outside 16 .. PDU_MAX. */
static int pdu_next(const struct buf *b, uint32_t *len)
{
	size_t have = b->len - b->off;
	if (have < HDR_LEN)
		return 0;
	uint32_t n = get_u32(b->p + b->off);
	if (n < HDR_LEN || n > PDU_MAX)
		return -EBADMSG;
	if (have < n)
		return 0;
	*len = n;
	return 1;
}

/* Decimal digits of v and a NUL into out (21 bytes at least); returns the
 * number of digits. */
static size_t u64_dec(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = 0;
	return n;
}

/* ---- connections ------------------------------------------------------ */

/* One TCP connection in an epoll set; epoll's data.ptr points at it (it is
 * the first member of the role's own struct). */
struct conn {
	int fd;
	uint32_t ev;    /* events registered */
	bool dead;      /* closed; skipped for the rest of the epoll batch */
	bool closing;   /* close once out is sent (after an unbind_resp) */
	struct buf in, out;
	struct conn *prev, *next; /* the sink's open connections */
	struct conn *next_dead;
};

/* Register ev for c unless it already is; -errno from epoll_ctl. */
static int conn_want(int ep, struct conn *c, uint32_t ev)
{
	if (ev == c->ev)
		return 0;
	struct epoll_event e = { .events = ev, .data.ptr = c };
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) < 0)
		return -errno;
	c->ev = ev;
	return 0;
}

/* Send what out holds until it is empty or the socket is full.  Returns 0,
 * or -errno when the peer is gone. */
static int conn_flush(struct conn *c)
{
	while (c->out.off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out.off, c->out.len - c->out.off,
				 MSG_NOSIGNAL);
		if (n > 0) {
			c->out.off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			return n < 0 ? -errno : -EPIPE;
		}
	}
	if (c->out.off == c->out.len)
		c->out.off = c->out.len = 0;
	return 0;
}

/* One recv() into in.  Returns the bytes read, 0 at end of stream,
 * -EAGAIN, -ENOBUFS when in is full (the caller stopped reading), or
 * -errno. */
static ssize_t conn_read(struct conn *c)
{
	size_t room = buf_room(&c->in, PDU_MAX);
	if (!room)
		return -ENOBUFS;
	ssize_t n = recv(c->fd, c->in.p + c->in.len, room, 0);
	if (n > 0)
		c->in.len += (size_t)n;
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

static void set_nodelay(int fd)
{
	int one = 1;
	/* Answers go out in batches of our own; Nagle would only add latency. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* "HOST:PORT" with a numeric IPv4 host, or "[IPv6]:PORT", into ss.
 * Returns 0 or -EINVAL. */
static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *sslen)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	if (!colon || colon == s || !colon[1])
		return -EINVAL;
	const char *h = s;
	size_t hl = (size_t)(colon - s);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = 0;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* An unsigned decimal in 1 .. max, or -EINVAL. */
static int parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < 1 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* SIGTERM and SIGINT set g_stop; they are blocked except inside
 * epoll_pwait (with *wait_mask), so none is missed between two waits. */
static void signals_setup(sigset_t *wait_mask)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, wait_mask);
	sigdelset(wait_mask, SIGTERM);
	sigdelset(wait_mask, SIGINT);
}

/* Milliseconds to wait for: until deadline, at most cap. */
static int wait_ms(uint64_t now, uint64_t deadline, int cap)
{
	if (now >= deadline)
		return 0;
	uint64_t ms = (deadline - now + 999999) / 1000000;
	return ms < (uint64_t)cap ? (int)ms : cap;
}

/* ---- the sink SMSC ---------------------------------------------------- */

struct smsc {
	int ep;
	int lfd;
	uint64_t submits, data_sms, binds, malformed, nacks;
	uint64_t connections; /* accepted over the run */
	uint64_t refused;     /* closed at once: SMSC_MAX_CONNS open */
	uint64_t msg_id;      /* the last message_id given */
	unsigned open;
	struct conn *live;    /* open connections */
	struct conn *dead;    /* closed, freed after the epoll batch */
};

static char g_listen_tag; /* epoll data.ptr of the listening socket */

/* Sticky-error reader for the submit_sm check. */
struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static void rd_skip(struct rd *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		r->p = r->end;
	} else {
		r->p += n;
	}
}

static uint8_t rd_u8(struct rd *r)
{
	if (r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

/* A C-Octet String of at most max bytes with its NUL. */
static void rd_cstr(struct rd *r, size_t max)
{
	size_t avail = (size_t)(r->end - r->p);
	const uint8_t *nul = memchr(r->p, 0, avail < max ? avail : max);
	if (!nul) {
		r->bad = true;
		r->p = r->end;
		return;
	}
	r->p = nul + 1;
}

/* Whether a submit_sm body has the SMPP 3.4 §4.4.1 mandatory fields, the
 * short_message inside the PDU.  Anything after it is TLVs, not checked. */
static bool submit_sm_ok(const uint8_t *body, size_t len)
{
	struct rd r = { body, body + len, false };
	rd_cstr(&r, 6);    /* service_type */
	rd_skip(&r, 2);    /* source_addr_ton, source_addr_npi */
	rd_cstr(&r, 21);   /* source_addr */
	rd_skip(&r, 2);    /* dest_addr_ton, dest_addr_npi */
	rd_cstr(&r, 21);   /* destination_addr */
	rd_skip(&r, 3);    /* esm_class, protocol_id, priority_flag */
	rd_cstr(&r, 17);   /* schedule_delivery_time */
	rd_cstr(&r, 17);   /* validity_period */
	rd_skip(&r, 4);    /* registered_delivery, replace_if_present_flag,
	                      data_coding, sm_default_msg_id */
	uint8_t sm_length = rd_u8(&r);
	rd_skip(&r, sm_length); /* short_message */
	return !r.bad;
}

/* Answer one request (the caller checked REPLY_MAX bytes of room in out).
 * Responses that come to the sink (enquire_link_resp, generic_nack ...)
 * get nothing: answering them could ping-pong. */
static void smsc_answer(struct smsc *m, struct conn *c, const uint8_t *pdu, uint32_t len)
{
	uint32_t cmd = get_u32(pdu + 4), seq = get_u32(pdu + 12);
	char id[24];
	uint8_t *w;

	if (cmd & CMD_RESP)
		return;
	switch (cmd) {
	case CMD_BIND_RECEIVER:
	case CMD_BIND_TRANSMITTER:
	case CMD_BIND_TRANSCEIVER:
		m->binds++;
		w = pdu_begin(&c->out, cmd | CMD_RESP, ST_ROK, seq);
		w = put_cstr(w, "SINK"); /* system_id of the SMSC */
		pdu_end(&c->out, w);
		break;
	case CMD_SUBMIT_SM:
	case CMD_DATA_SM:
		if (cmd == CMD_SUBMIT_SM) {
			m->submits++;
			if (!submit_sm_ok(pdu + HDR_LEN, len - HDR_LEN))
				m->malformed++;
		} else {
			m->data_sms++;
		}
		u64_dec(id, ++m->msg_id);
		w = pdu_begin(&c->out, cmd | CMD_RESP, ST_ROK, seq);
		w = put_cstr(w, id); /* message_id: a decimal counter */
		pdu_end(&c->out, w);
		break;
	case CMD_ENQUIRE_LINK:
		pdu_end(&c->out, pdu_begin(&c->out, CMD_ENQUIRE_LINK | CMD_RESP, ST_ROK, seq));
		break;
	case CMD_UNBIND:
		pdu_end(&c->out, pdu_begin(&c->out, CMD_UNBIND | CMD_RESP, ST_ROK, seq));
		c->closing = true;
		break;
	default:
		m->nacks++;
		pdu_end(&c->out, pdu_begin(&c->out, CMD_GENERIC_NACK, ST_RINVCMDID, seq));
		break;
	}
}

static void smsc_drop(struct smsc *m, struct conn *c)
{
	if (c->dead)
		return;
	close(c->fd); /* also leaves the epoll set */
	c->dead = true;
	if (c->prev)
		c->prev->next = c->next;
	else
		m->live = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next_dead = m->dead;
	m->dead = c;
	m->open--;
}

/* Free what smsc_drop closed. */
static void smsc_reap(struct smsc *m)
{
	while (m->dead) {
		struct conn *c = m->dead;
		m->dead = c->next_dead;
		buf_fini(&c->in);
		buf_fini(&c->out);
		free(c);
	}
}

/*
 * Answer every complete PDU in c's input while its output has room, send,
 * and register the events that fit: EPOLLIN only while answers can be
 * queued (a client that does not read its answers is not read either),
 * EPOLLOUT while answers wait.  Drops c on a bad command_length, a dead
 * peer, or once an unbind has been answered.
 */
static void smsc_serve(struct smsc *m, struct conn *c)
{
	uint32_t len;
	bool full, pending;
	/* Each round answers at least one PDU or stops: bounded by the input. */
	for (;;) {
		int r = 0;
		full = false;
		while (!c->closing && (r = pdu_next(&c->in, &len)) > 0) {
			if (buf_room(&c->out, REPLY_MAX) < REPLY_MAX) {
				full = true;
				break;
			}
			smsc_answer(m, c, c->in.p + c->in.off, len);
			c->in.off += len;
		}
		if (r < 0 || conn_flush(c) < 0) {
			smsc_drop(m, c);
			return;
		}
		pending = c->out.off < c->out.len;
		if (!full || pending)
			break;
		/* everything went out at once: room again for what is buffered */
	}
	if (c->closing && !pending) {
		smsc_drop(m, c);
		return;
	}
	uint32_t ev = (c->closing || full ? 0 : EPOLLIN) | (pending ? EPOLLOUT : 0);
	if (conn_want(m->ep, c, ev) < 0)
		smsc_drop(m, c);
}

static void smsc_accept(struct smsc *m)
{
	for (unsigned i = 0; i < 64; i++) { /* the rest at the next epoll_wait */
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a connection reset before we took it */
		if (m->open >= SMSC_MAX_CONNS) {
			m->refused++;
			close(fd);
			continue;
		}
		set_nodelay(fd);
		struct conn *c = calloc(1, sizeof(*c));
		if (!c || buf_init(&c->in, IN_CAP) < 0 || buf_init(&c->out, SMSC_OUT_CAP) < 0)
			goto fail;
		c->fd = fd;
		c->ev = EPOLLIN;
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &e) < 0)
			goto fail;
		c->next = m->live;
		if (m->live)
			m->live->prev = c;
		m->live = c;
		m->open++;
		m->connections++;
		continue;
	fail:
		close(fd);
		if (c) {
			buf_fini(&c->in);
			buf_fini(&c->out);
			free(c);
		}
	}
}

static void smsc_event(struct smsc *m, struct conn *c, uint32_t rev)
{
	if (rev & EPOLLOUT) {
		if (conn_flush(c) < 0) {
			smsc_drop(m, c);
			return;
		}
		smsc_serve(m, c); /* maybe room again for what input waits */
	}
	if (c->dead)
		return;
	if (rev & EPOLLIN) {
		ssize_t n = conn_read(c);
		if (n == -EAGAIN || n == -ENOBUFS)
			return;
		if (n > 0) {
			smsc_serve(m, c);
			return;
		}
		if (n == 0)
			smsc_serve(m, c); /* answer what came before the end, if it can go */
		smsc_drop(m, c);
		return;
	}
	if (rev & (EPOLLERR | EPOLLHUP))
		smsc_drop(m, c);
}

static const char usage_text[] =
	"usage: smpp_load smsc --listen ADDR:PORT [--max-seconds S]\n"
	"       smpp_load esme --connect ADDR:PORT --system-id ID --password PW\n"
	"                      [--sessions S] [--messages N] [--window W]\n"
	"                      [--fraud-every K] [--max-seconds T]\n"
	"\n"
	"smsc: a sink SMSC answering binds, submit_sm, data_sm, enquire_link and\n"
	"      unbind with status 0; prints what it received on stderr at SIGTERM,\n"
	"      SIGINT or after S seconds (default 3600).\n"
	"esme: S bind_transmitter sessions (default 1), N submit_sm in all (default\n"
	"      1000), at most W outstanding per session (default 10), every K-th\n"
	"      message a fraud text (default none), stopping after T seconds\n"
	"      (default 60).  One result line on stdout; exit 0 when every\n"
	"      submit_sm had its response, 1 otherwise, 2 on bad usage.\n";

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "smpp_load: %s\n", why);
	fputs(usage_text, stderr);
	return 2;
}

static int run_smsc(int argc, char **argv)
{
	const char *listen_at = NULL;
	unsigned long long max_s = 3600;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			listen_at = argv[++i];
		} else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc) {
			if (parse_num(argv[++i], 864000, &max_s) < 0)
				return usage("--max-seconds: 1 .. 864000");
		} else {
			return usage(argv[i]);
		}
	}
	if (!listen_at)
		return usage("smsc needs --listen ADDR:PORT");

	struct sockaddr_storage ss;
	socklen_t sslen;
	if (parse_addr(listen_at, &ss, &sslen) < 0)
		return usage("--listen: expected a numeric ADDR:PORT");

	sigset_t wait_mask;
	signals_setup(&wait_mask);

	struct smsc m = { .ep = -1, .lfd = -1 };
	int one = 1, rc = 1;
	m.lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m.lfd < 0 || setsockopt(m.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(m.lfd, (struct sockaddr *)&ss, sslen) < 0 || listen(m.lfd, 1024) < 0) {
		fprintf(stderr, "smsc: %s: %s\n", listen_at, strerror(errno));
		goto out;
	}
	m.ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event le = { .events = EPOLLIN, .data.ptr = &g_listen_tag };
	if (m.ep < 0 || epoll_ctl(m.ep, EPOLL_CTL_ADD, m.lfd, &le) < 0) {
		fprintf(stderr, "smsc: epoll: %s\n", strerror(errno));
		goto out;
	}

	uint64_t deadline = mono_ns() + max_s * 1000000000ull;
	struct epoll_event evs[64];
	rc = 0;
	while (!g_stop) {
		uint64_t now = mono_ns();
		if (now >= deadline)
			break;
		int n = epoll_pwait(m.ep, evs, (int)N_ELEM(evs), wait_ms(now, deadline, 1000),
				    &wait_mask);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "smsc: epoll_wait: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &g_listen_tag) {
				smsc_accept(&m);
				continue;
			}
			struct conn *c = evs[i].data.ptr;
			if (!c->dead)
				smsc_event(&m, c, evs[i].events);
		}
		smsc_reap(&m);
	}
	fprintf(stderr, "smsc: %" PRIu64 " submit_sm from %" PRIu64 " connections\n", m.submits,
		m.connections);
	if (m.malformed || m.data_sms || m.nacks || m.refused)
		fprintf(stderr,
			"smsc: also %" PRIu64 " malformed submit_sm, %" PRIu64 " data_sm, %" PRIu64
			" generic_nack sent, %" PRIu64 " connections refused\n",
			m.malformed, m.data_sms, m.nacks, m.refused);
out:
	while (m.live)
		smsc_drop(&m, m.live);
	smsc_reap(&m);
	if (m.ep >= 0)
		close(m.ep);
	if (m.lfd >= 0)
		close(m.lfd);
	return rc;
}

/* ---- the ESME ----------------------------------------------------------- */

/*
 * The texts, UTF-8 here and UCS-2 (UTF-16BE) on the wire, each at most 70
 * characters so that it is one SMS of 140 octets.  '#' stands for a digit
 * drawn per message (codes, parcel numbers), so that a run does not send
 * one text a hundred thousand times.
 */
static const char *const plain_texts[] = {
	"【顺丰速运】您的快件已放入小区南门丰巢柜，取件码######，请于今晚20点前取件。",
	"【美团】您的验证码是######，5分钟内有效。如非本人操作，请忽略本短信。",
	"妈，我周六中午回家吃饭，帮我留点排骨，不用到车站接我，我自己打车。",
	"今晚七点老地方吃火锅，记得叫上小李，我先过去排号，到了给我打电话。",
	"【京东】您的订单已由快递员签收，感谢您的购买，欢迎对商品进行评价。",
	"明天上午的部门例会改到十点，地点在三楼第二会议室，请大家准时参加。",
	"【物业通知】本周六上午九点至十二点小区停水检修，请提前储水，谢谢配合。",
	"到家了吗？外面雨下得很大，路上慢点开，到了给我回个消息报平安。",
	"【菜鸟驿站】您的包裹已到学校东门驿站，凭取件码#-#-####领取，请尽快取件。",
	"生日快乐！祝你新的一岁工作顺利身体健康，周末一起去吃蛋糕看电影吧。",
	"【滴滴出行】您的验证码为####，用于登录，请勿转发。司机已接单，请稍候。",
	"老王，下午三点的球赛还去吗？我多买了一张票，你要的话下班来拿。",
};

static const char *const fraud_texts[] = {
	"您好，您的账户涉嫌洗钱，请立即将资金转入安全账户，联系王警官",
	"【兼职招聘】手机刷单日结300-800元，先垫付后返利，佣金秒到，加QQ#########详聊",
	"【快易贷】您已获批20万无抵押贷款额度，无需征信，先交888元解冻费即可放款，速回电",
	"【淘宝客服】您购买的商品有质量问题，我们将为您办理退款，请点击链接填写银行卡号和验证码",
	"这里是市公安局刑侦支队，您的银行卡涉嫌洗钱案件，请勿告诉家人，配合调查需将存款转入安全账户",
	"恭喜您被抽中二等奖现金58000元，需先缴纳个人所得税和手续费，请汇款至指定账户领取",
};

#define TEXT_UNITS_MAX 70u /* UTF-16 units in one single-part UCS-2 SMS */

struct text {
	uint8_t ucs2[2 * TEXT_UNITS_MAX];
	uint8_t len;               /* octets */
	uint8_t digit[16];         /* units holding a '#' */
	uint8_t n_digits;
};

/* utf8 into t (UTF-16BE, '#' positions noted).  Returns 0, or -EINVAL for
 * bad UTF-8 or a text longer than one SMS. */
static int text_encode(struct text *t, const char *utf8)
{
	const uint8_t *s = (const uint8_t *)utf8;
	size_t units = 0;
	memset(t, 0, sizeof(*t));
	while (*s) {
		uint32_t cp;
		unsigned more;
		if (*s < 0x80) {
			cp = *s;
			more = 0;
		} else if ((*s & 0xe0) == 0xc0) {
			cp = *s & 0x1fu;
			more = 1;
		} else if ((*s & 0xf0) == 0xe0) {
			cp = *s & 0x0fu;
			more = 2;
		} else if ((*s & 0xf8) == 0xf0) {
			cp = *s & 0x07u;
			more = 3;
		} else {
			return -EINVAL;
		}
		s++;
		for (unsigned i = 0; i < more; i++, s++) {
			if ((*s & 0xc0) != 0x80)
				return -EINVAL;
			cp = cp << 6 | (*s & 0x3fu);
		}
		uint16_t u[2];
		unsigned nu = 1;
		if (cp >= 0x10000) { /* a surrogate pair */
			cp -= 0x10000;
			u[0] = (uint16_t)(0xd800 + (cp >> 10));
			u[1] = (uint16_t)(0xdc00 + (cp & 0x3ff));
			nu = 2;
		} else {
			u[0] = (uint16_t)cp;
		}
		if (units + nu > TEXT_UNITS_MAX)
			return -EINVAL;
		if (cp == '#') {
			if (t->n_digits >= sizeof(t->digit))
				return -EINVAL;
			t->digit[t->n_digits++] = (uint8_t)units;
		}
		for (unsigned i = 0; i < nu; i++, units++) {
			t->ucs2[2 * units] = (uint8_t)(u[i] >> 8);
			t->ucs2[2 * units + 1] = (uint8_t)u[i];
		}
	}
	t->len = (uint8_t)(2 * units);
	return 0;
}

/* One outstanding submit_sm; slot[seq & mask] while used. */
struct slot {
	uint64_t t0;      /* send() time, CLOCK_MONOTONIC ns */
	uint32_t seq;
	bool used;
	bool fraud;
};

enum sess_state { S_CONNECTING, S_BINDING, S_BOUND, S_UNBINDING, S_CLOSED };

struct sess {
	struct conn c;    /* first: epoll's data.ptr */
	unsigned id;
	enum sess_state st;
	uint32_t next_seq, bind_seq, unbind_seq;
	unsigned outstanding;
	struct slot *slot;  /* mask + 1 entries, a power of two >= 2 * window */
	uint32_t mask;
	uint32_t *fresh;    /* slots queued since the last send, stamped by it */
	unsigned n_fresh;
};

struct esme {
	const char *connect_to, *system_id, *password;
	unsigned sessions, window;
	uint64_t n, fraud_every, max_s;
	struct sockaddr_storage ss;
	socklen_t sslen;

	int ep;
	struct sess *s;
	unsigned alive;    /* sessions not closed */
	struct text plain[N_ELEM(plain_texts)], fraud[N_ELEM(fraud_texts)];

	uint64_t next_msg;  /* index of the next message to send */
	uint64_t responses, ok, s45, s58, other, lost, unknown;
	uint64_t fraud_sent, fraud_45;
	uint64_t *lat;      /* ns, one per response */
	size_t n_lat;
	uint64_t t_start, t_first, t_last;
	char why[160];      /* the first thing that went wrong */
};

static void esme_note(struct esme *e, const struct sess *s, const char *what, uint32_t status)
{
	if (e->why[0])
		return;
	if (status)
		snprintf(e->why, sizeof(e->why), "session %u: %s 0x%02" PRIx32, s->id, what,
			 status);
	else
		snprintf(e->why, sizeof(e->why), "session %u: %s", s->id, what);
}

/* Close s; its outstanding messages will never be answered. */
static void sess_close(struct esme *e, struct sess *s)
{
	if (s->st == S_CLOSED)
		return;
	close(s->c.fd);
	s->c.dead = true;
	s->st = S_CLOSED;
	e->alive--;
	e->lost += s->outstanding;
	s->outstanding = 0;
	for (uint32_t i = 0; i <= s->mask; i++)
		s->slot[i].used = false;
}

static void sess_fail(struct esme *e, struct sess *s, const char *what, uint32_t v)
{
	esme_note(e, s, what, v);
	sess_close(e, s);
}

static uint32_t sess_seq(struct sess *s)
{
	uint32_t seq = s->next_seq;
	s->next_seq = seq == SEQ_MAX ? 1 : seq + 1;
	return seq;
}

/* Send what is queued, stamping the submit_sm queued since the last send
 * with this send's time.  Returns 0 or -errno. */
static int sess_flush(struct esme *e, struct sess *s)
{
	if (s->n_fresh) {
		uint64_t now = mono_ns();
		for (unsigned i = 0; i < s->n_fresh; i++)
			s->slot[s->fresh[i]].t0 = now;
		if (!e->t_first)
			e->t_first = now;
		s->n_fresh = 0;
	}
	return conn_flush(&s->c);
}

/* "86" + a mobile prefix + 8 digits, a function of k (14 bytes with NUL). */
static void mobile_number(char out[14], uint64_t k)
{
	static const char prefixes[][4] = { "138", "139", "135", "150",
					    "158", "186", "177", "132" };
	uint64_t h = mix64(k);
	const char *p = prefixes[h % N_ELEM(prefixes)];
	uint64_t rest = (h >> 16) % 100000000u;
	out[0] = '8';
	out[1] = '6';
	memcpy(out + 2, p, 3);
	for (int i = 12; i >= 5; i--) {
		out[i] = (char)('0' + rest % 10);
		rest /= 10;
	}
	out[13] = 0;
}

/* Queue message i as a submit_sm on s (room checked by the caller); the
 * slot is stamped when it is sent. */
static void queue_submit(struct esme *e, struct sess *s, uint64_t i)
{
	bool fraud = e->fraud_every && (i + 1) % e->fraud_every == 0;
	const struct text *t = fraud ? &e->fraud[(i / e->fraud_every) % N_ELEM(e->fraud)]
				     : &e->plain[mix64(i ^ 0x7e57) % N_ELEM(e->plain)];
	char src[14], dst[14];
	mobile_number(src, 0x5eed0000ull + i % 5003);   /* 5,003 senders */
	mobile_number(dst, 0xd0570000ull + i % 100003); /* 100,003 recipients */

	/* A free slot: the one of the next sequence number, unless a message
	 * that many sequence numbers older is still outstanding (at most
	 * window of them are, so this ends). */
	uint32_t seq;
	do
		seq = sess_seq(s);
	while (s->slot[seq & s->mask].used);
	struct slot *sl = &s->slot[seq & s->mask];
	sl->used = true;
	sl->seq = seq;
	sl->fraud = fraud;
	sl->t0 = 0;
	s->fresh[s->n_fresh++] = seq & s->mask;
	s->outstanding++;
	if (fraud)
		e->fraud_sent++;

	/* SMPP 3.4 §4.4.1 submit_sm */
	uint8_t *w = pdu_begin(&s->c.out, CMD_SUBMIT_SM, 0, seq);
	w = put_cstr(w, "");       /* service_type: SMSC default */
	w = put_u8(w, 0x01);       /* source_addr_ton: international */
	w = put_u8(w, 0x01);       /* source_addr_npi: ISDN (E.164) */
	w = put_cstr(w, src);      /* source_addr "86138........" */
	w = put_u8(w, 0x01);       /* dest_addr_ton: international */
	w = put_u8(w, 0x01);       /* dest_addr_npi: ISDN (E.164) */
	w = put_cstr(w, dst);      /* destination_addr */
	w = put_u8(w, 0x00);       /* esm_class: default mode, no UDH */
	w = put_u8(w, 0x00);       /* protocol_id */
	w = put_u8(w, 0x00);       /* priority_flag: normal */
	w = put_cstr(w, "");       /* schedule_delivery_time: now */
	w = put_cstr(w, "");       /* validity_period: SMSC default */
	w = put_u8(w, 0x01);       /* registered_delivery: receipt wanted, as A2P
	                              senders ask (the sink sends none) */
	w = put_u8(w, 0x00);       /* replace_if_present_flag */
	w = put_u8(w, 0x08);       /* data_coding: UCS-2 (UTF-16BE) */
	w = put_u8(w, 0x00);       /* sm_default_msg_id */
	w = put_u8(w, t->len);     /* sm_length */
	memcpy(w, t->ucs2, t->len); /* short_message */
	uint64_t h = mix64(i);
	for (unsigned d = 0; d < t->n_digits; d++, h /= 10) {
		w[2 * t->digit[d]] = 0x00;
		w[2 * t->digit[d] + 1] = (uint8_t)('0' + h % 10);
	}
	w += t->len;
	pdu_end(&s->c.out, w);
}

static void queue_bind(struct esme *e, struct sess *s)
{
	s->bind_seq = sess_seq(s);
	/* SMPP 3.4 §4.1.1 bind_transmitter */
	uint8_t *w = pdu_begin(&s->c.out, CMD_BIND_TRANSMITTER, 0, s->bind_seq);
	w = put_cstr(w, e->system_id); /* system_id (<= 15) */
	w = put_cstr(w, e->password);  /* password (<= 8) */
	w = put_cstr(w, "");           /* system_type */
	w = put_u8(w, 0x34);           /* interface_version: 3.4 */
	w = put_u8(w, 0x00);           /* addr_ton: unknown */
	w = put_u8(w, 0x00);           /* addr_npi: unknown */
	w = put_cstr(w, "");           /* address_range */
	pdu_end(&s->c.out, w);
	s->st = S_BINDING;
}

static void queue_unbind(struct sess *s)
{
	s->unbind_seq = sess_seq(s);
	pdu_end(&s->c.out, pdu_begin(&s->c.out, CMD_UNBIND, 0, s->unbind_seq));
	s->st = S_UNBINDING;
}

/* A response to submit_sm seq (a submit_sm_resp, or a generic_nack). */
static void complete(struct esme *e, struct sess *s, uint32_t seq, uint32_t status,
		     uint64_t now)
{
	struct slot *sl = &s->slot[seq & s->mask];
	if (!sl->used || sl->seq != seq) {
		e->unknown++;
		return;
	}
	sl->used = false;
	s->outstanding--;
	if (e->n_lat < e->n)
		e->lat[e->n_lat++] = now - sl->t0;
	e->responses++;
	e->t_last = now;
	if (status == ST_ROK) {
		e->ok++;
	} else if (status == ST_RSUBMITFAIL) {
		e->s45++;
		e->fraud_45 += sl->fraud;
	} else if (status == ST_RTHROTTLED) {
		e->s58++;
	} else {
		e->other++;
	}
}

/* Handle every complete PDU s has read (now: when the read returned). */
static void sess_input(struct esme *e, struct sess *s, uint64_t now)
{
	uint32_t len;
	int r = 0;
	while (s->st != S_CLOSED && (r = pdu_next(&s->c.in, &len)) > 0) {
		const uint8_t *p = s->c.in.p + s->c.in.off;
		uint32_t cmd = get_u32(p + 4), status = get_u32(p + 8), seq = get_u32(p + 12);
		if (!(cmd & CMD_RESP) && buf_room(&s->c.out, REPLY_MAX) < REPLY_MAX)
			return; /* an answer to queue and no room: after the next send */
		s->c.in.off += len;
		switch (cmd) {
		case CMD_BIND_TRANSMITTER | CMD_RESP:
			if (s->st != S_BINDING || seq != s->bind_seq)
				e->unknown++;
			else if (status != ST_ROK)
				sess_fail(e, s, "bind_transmitter refused, status", status);
			else
				s->st = S_BOUND;
			break;
		case CMD_SUBMIT_SM | CMD_RESP:
			complete(e, s, seq, status, now);
			break;
		case CMD_GENERIC_NACK:
			if (s->st == S_BINDING && seq == s->bind_seq)
				sess_fail(e, s, "bind_transmitter answered by generic_nack", status);
			else
				complete(e, s, seq, status ? status : ST_RINVCMDID, now);
			break;
		case CMD_UNBIND | CMD_RESP:
			if (s->st == S_UNBINDING && seq == s->unbind_seq)
				sess_close(e, s);
			else
				e->unknown++;
			break;
		case CMD_ENQUIRE_LINK:
			pdu_end(&s->c.out, pdu_begin(&s->c.out, cmd | CMD_RESP, ST_ROK, seq));
			break;
		case CMD_DELIVER_SM: {
			/* not for a transmitter, but answered: message_id is empty */
			uint8_t *w = pdu_begin(&s->c.out, cmd | CMD_RESP, ST_ROK, seq);
			pdu_end(&s->c.out, put_u8(w, 0));
			break;
		}
		case CMD_UNBIND:
			pdu_end(&s->c.out, pdu_begin(&s->c.out, cmd | CMD_RESP, ST_ROK, seq));
			(void)sess_flush(e, s);
			if (s->st != S_UNBINDING)
				esme_note(e, s, "unbound by the peer", 0);
			sess_close(e, s);
			break;
		default:
			if (cmd & CMD_RESP)
				e->unknown++;
			else
				pdu_end(&s->c.out,
					pdu_begin(&s->c.out, CMD_GENERIC_NACK, ST_RINVCMDID, seq));
			break;
		}
	}
	if (r < 0)
		sess_fail(e, s, "bad command_length", 0);
}

/* Fill s's window from the messages left, send, and register the events
 * s needs now. */
static void sess_pump(struct esme *e, struct sess *s)
{
	if (s->st == S_CLOSED)
		return;
	while (s->st == S_BOUND && !g_stop && s->outstanding < e->window && e->next_msg < e->n &&
	       buf_room(&s->c.out, SUBMIT_MAX) >= SUBMIT_MAX)
		queue_submit(e, s, e->next_msg++);
	int r = sess_flush(e, s);
	if (r < 0) {
		sess_fail(e, s, "connection lost while sending", 0);
		return;
	}
	bool pending = s->c.out.off < s->c.out.len;
	if (conn_want(e->ep, &s->c, EPOLLIN | (pending ? EPOLLOUT : 0)) < 0)
		sess_fail(e, s, "epoll_ctl failed", 0);
}

static void sess_event(struct esme *e, struct sess *s, uint32_t rev)
{
	if (s->st == S_CONNECTING) {
		if (!(rev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		int err = 0;
		socklen_t l = sizeof(err);
		if (getsockopt(s->c.fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (err) {
			esme_note(e, s, strerror(err), 0);
			sess_close(e, s);
			return;
		}
		queue_bind(e, s);
		sess_pump(e, s);
		return;
	}
	uint64_t now = 0;
	bool gone = false;
	if (rev & EPOLLIN) {
		ssize_t n = conn_read(&s->c);
		now = mono_ns(); /* the responses of this read arrived now */
		gone = n == 0 || (n < 0 && n != -EAGAIN && n != -ENOBUFS);
	} else if (rev & (EPOLLERR | EPOLLHUP)) {
		gone = true;
	}
	/* Also after a mere EPOLLOUT: a request may wait for room to answer. */
	if (s->c.in.off < s->c.in.len)
		sess_input(e, s, now ? now : mono_ns());
	if (s->st == S_CLOSED)
		return;
	if (gone) {
		sess_fail(e, s, "connection closed by the peer", 0);
		return;
	}
	sess_pump(e, s);
}

static int sess_open(struct esme *e, struct sess *s, unsigned id)
{
	uint32_t cap = 1;
	while (cap < 2 * e->window)
		cap <<= 1;
	s->id = id;
	s->c.fd = -1;
	s->next_seq = 1;
	s->mask = cap - 1;
	s->slot = calloc(cap, sizeof(*s->slot));
	s->fresh = calloc(e->window, sizeof(*s->fresh));
	if (!s->slot || !s->fresh || buf_init(&s->c.in, IN_CAP) < 0 ||
	    buf_init(&s->c.out, (size_t)e->window * SUBMIT_MAX + 4096) < 0)
		return -ENOMEM;
	s->c.fd = socket(e->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->c.fd < 0)
		return -errno;
	set_nodelay(s->c.fd);
	s->st = S_CONNECTING;
	e->alive++;
	if (connect(s->c.fd, (struct sockaddr *)&e->ss, e->sslen) < 0 && errno != EINPROGRESS) {
		int err = errno;
		esme_note(e, s, strerror(err), 0);
		sess_close(e, s);
		return 0;
	}
	s->c.ev = EPOLLIN | EPOLLOUT; /* EPOLLOUT: the connect is done */
	struct epoll_event ev = { .events = s->c.ev, .data.ptr = &s->c };
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, s->c.fd, &ev) < 0)
		return -errno;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The p-quantile (nearest rank) of the sorted v in microseconds. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t rank = (size_t)(p * (double)n + 0.999999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1000.0;
}

/* epoll until done() says so, the deadline passes or a signal comes. */
static void esme_loop(struct esme *e, const sigset_t *wait_mask, uint64_t deadline,
		      bool (*done)(const struct esme *))
{
	struct epoll_event evs[64];
	while (!g_stop && !done(e)) {
		uint64_t now = mono_ns();
		if (now >= deadline)
			return;
		int n = epoll_pwait(e->ep, evs, (int)N_ELEM(evs), wait_ms(now, deadline, 100),
				    wait_mask);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(e->why, sizeof(e->why), "epoll_wait: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			struct sess *s = evs[i].data.ptr; /* its conn is its first member */
			if (!s->c.dead)
				sess_event(e, s, evs[i].events);
		}
	}
}

static bool all_answered(const struct esme *e)
{
	return e->alive == 0 || e->responses + e->lost >= e->n;
}

static bool all_closed(const struct esme *e)
{
	return e->alive == 0;
}

static int run_esme(int argc, char **argv)
{
	struct esme e = { .sessions = 1, .window = 10, .n = 1000, .max_s = 60, .ep = -1 };
	unsigned long long v;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val)
			return usage(a);
		i++;
		if (!strcmp(a, "--connect")) {
			e.connect_to = val;
		} else if (!strcmp(a, "--system-id")) {
			e.system_id = val;
		} else if (!strcmp(a, "--password")) {
			e.password = val;
		} else if (!strcmp(a, "--sessions")) {
			if (parse_num(val, ESME_MAX_SESS, &v) < 0)
				return usage("--sessions: 1 .. 1000");
			e.sessions = (unsigned)v;
		} else if (!strcmp(a, "--messages")) {
			if (parse_num(val, ESME_MAX_MSGS, &v) < 0)
				return usage("--messages: 1 .. 10000000");
			e.n = v;
		} else if (!strcmp(a, "--window")) {
			if (parse_num(val, ESME_MAX_WIN, &v) < 0)
				return usage("--window: 1 .. 1000");
			e.window = (unsigned)v;
		} else if (!strcmp(a, "--fraud-every")) {
			if (parse_num(val, ESME_MAX_MSGS, &v) < 0)
				return usage("--fraud-every: 1 .. 10000000");
			e.fraud_every = v;
		} else if (!strcmp(a, "--max-seconds")) {
			if (parse_num(val, 864000, &v) < 0)
				return usage("--max-seconds: 1 .. 864000");
			e.max_s = v;
		} else {
			return usage(a);
		}
	}
	if (!e.connect_to || !e.system_id || !e.password)
		return usage("esme needs --connect, --system-id and --password");
	if (!*e.system_id || strlen(e.system_id) > 15 || strlen(e.password) > 8)
		return usage("system_id is 1 .. 15 bytes, password at most 8 (SMPP 3.4)");
	if (parse_addr(e.connect_to, &e.ss, &e.sslen) < 0)
		return usage("--connect: expected a numeric ADDR:PORT");
	for (size_t i = 0; i < N_ELEM(plain_texts); i++)
		if (text_encode(&e.plain[i], plain_texts[i]) < 0)
			return usage("a built-in text is not one UCS-2 SMS (a bug)");
	for (size_t i = 0; i < N_ELEM(fraud_texts); i++)
		if (text_encode(&e.fraud[i], fraud_texts[i]) < 0)
			return usage("a built-in fraud text is not one UCS-2 SMS (a bug)");

	sigset_t wait_mask;
	signals_setup(&wait_mask);
	int rc = 1;
	e.lat = malloc(e.n * sizeof(*e.lat));
	e.s = calloc(e.sessions, sizeof(*e.s));
	e.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!e.lat || !e.s || e.ep < 0) {
		fprintf(stderr, "smpp_load: out of memory or descriptors\n");
		goto out;
	}
	for (unsigned i = 0; i < e.sessions; i++) {
		e.s[i].st = S_CLOSED; /* until sess_open */
		e.s[i].c.fd = -1;
	}
	e.t_start = mono_ns();
	uint64_t deadline = e.t_start + e.max_s * 1000000000ull;
	for (unsigned i = 0; i < e.sessions; i++) {
		int r = sess_open(&e, &e.s[i], i);
		if (r < 0) {
			fprintf(stderr, "smpp_load: session %u: %s\n", i, strerror(-r));
			goto out;
		}
	}

	esme_loop(&e, &wait_mask, deadline, all_answered);
	uint64_t t_end = mono_ns();

	/* Unbind what is bound, close the rest; unbind_resp waited for briefly. */
	for (unsigned i = 0; i < e.sessions; i++) {
		struct sess *s = &e.s[i];
		if (s->st == S_BOUND && !g_stop && t_end < deadline &&
		    buf_room(&s->c.out, REPLY_MAX) >= REPLY_MAX) {
			queue_unbind(s);
			sess_pump(&e, s);
		} else {
			sess_close(&e, s);
		}
	}
	uint64_t ub = t_end + UNBIND_WAIT_NS;
	esme_loop(&e, &wait_mask, ub < deadline ? ub : deadline, all_closed);
	for (unsigned i = 0; i < e.sessions; i++)
		sess_close(&e, &e.s[i]);

	qsort(e.lat, e.n_lat, sizeof(*e.lat), cmp_u64);
	uint64_t span = e.t_first && e.t_last > e.t_first ? e.t_last - e.t_first
							  : t_end - e.t_start;
	double secs = (double)span / 1e9;
	uint64_t errors = e.n - e.responses;
	printf("messages=%" PRIu64 " seconds=%.3f rate=%.0f p50_us=%.0f p99_us=%.0f ok=%" PRIu64
	       " status_45=%" PRIu64 " status_58=%" PRIu64 " other=%" PRIu64 " errors=%" PRIu64
	       " fraud=%" PRIu64 " fraud_45=%" PRIu64 "\n",
	       e.next_msg, secs, secs > 0 ? (double)e.responses / secs : 0.0,
	       pct_us(e.lat, e.n_lat, 0.50), pct_us(e.lat, e.n_lat, 0.99), e.ok, e.s45, e.s58,
	       e.other, errors, e.fraud_sent, e.fraud_45);
	fflush(stdout);
	if (e.unknown)
		fprintf(stderr, "smpp_load: %" PRIu64 " responses matched no request\n", e.unknown);
	if (e.responses == e.n) {
		rc = 0;
	} else {
		fprintf(stderr, "smpp_load: %" PRIu64 " of %" PRIu64 " submit_sm unanswered: %s\n",
			errors, e.n,
			e.why[0]     ? e.why
			: g_stop     ? "stopped by a signal"
			: t_end >= deadline ? "--max-seconds reached"
					    : "sessions closed");
	}
out:
	if (e.s) {
		for (unsigned i = 0; i < e.sessions; i++) {
			if (e.s[i].st != S_CLOSED && e.s[i].c.fd >= 0)
				close(e.s[i].c.fd);
			buf_fini(&e.s[i].c.in);
			buf_fini(&e.s[i].c.out);
			free(e.s[i].slot);
			free(e.s[i].fresh);
		}
		free(e.s);
	}
	free(e.lat);
	if (e.ep >= 0)
		close(e.ep);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(NULL);
	if (!strcmp(argv[1], "smsc"))
		return run_smsc(argc, argv);
	if (!strcmp(argv[1], "esme"))
		return run_esme(argc, argv);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	return usage(argv[1]);
}
