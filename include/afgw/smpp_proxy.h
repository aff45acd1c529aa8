/*
 * smpp_proxy.h - `afgw run` in smpp-proxy mode: afgw is the SMSC for the
 * ESMEs that bind to it and an ESME for the upstream SMSC, and screens
 * every SMS in between.  gateway/smpp_proxy.c.
 *
 *   ESME ──bind/submit_sm──► afgw (smpp.listen) ──bind/submit_sm──► SMSC (smpp.upstream)
 *        ◄──resp/deliver_sm──                   ◄──resp/deliver_sm──
 *
 * A session is a pair of TCP connections: the ESME's, accepted on
 * smpp.listen, and the one afgw opens to the SMSC when the ESME binds
 * (bind_transmitter / _receiver / _transceiver, checked against the
 * accounts file first; the SMSC's bind_*_resp is relayed as it came).
 * Requests are relayed with their sequence numbers mapped between the two
 * legs (afgw sends enquire_links of its own on both), responses mapped
 * back.  submit_sm, data_sm and submit_multi from the ESME and deliver_sm
 * and data_sm from the SMSC are screened: the PDU is handed to the
 * screening pipeline (worker.h) as a TCP segment of the session's flow,
 * exactly as a capture would show it, and held until its verdict.  allow
 * and warn: relayed byte for byte (only sequence_number rewritten); block:
 * not relayed, answered with command_status smpp.block_status (submit
 * side) or smpp.deliver_block_status (deliver side).  Parts of a
 * concatenated SMS are held until the whole message has a verdict, which
 * applies to every part.  Fail-open: what has no verdict after
 * smpp.verdict_deadline_ms (a part: memcap.concat_timeout_s plus that) is
 * relayed unscreened and counted; so is everything when smpp.hold_bytes of
 * PDUs are already held.
 *
 * Everything runs in one thread, the caller's (the pipeline's capture
 * thread): afgw_smpp_proxy_step() waits on its epoll descriptor, does the
 * I/O, feeds the pipeline and fires the timers; the pipeline's verdicts
 * come back through afgw_smpp_proxy_verdict(), called by the score stage
 * in the same thread.  Nothing here blocks: connects are non-blocking and
 * a peer that does not read is not waited for (its output is bounded).
 */
#ifndef AFGW_SMPP_PROXY_H
#define AFGW_SMPP_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "afgw/config.h"
#include "afgw/worker.h"

/* SMPP command_status values the proxy sends (SMPP 3.4 §5.1.3). */
#define AFGW_SMPP_ESME_ROK 0x00000000u
#define AFGW_SMPP_ESME_RINVMSGLEN 0x00000001u
#define AFGW_SMPP_ESME_RINVCMDLEN 0x00000002u
#define AFGW_SMPP_ESME_RINVCMDID 0x00000003u
#define AFGW_SMPP_ESME_RINVBNDSTS 0x00000004u
#define AFGW_SMPP_ESME_RALYBND 0x00000005u
#define AFGW_SMPP_ESME_RSYSERR 0x00000008u
#define AFGW_SMPP_ESME_RBINDFAIL 0x0000000du
#define AFGW_SMPP_ESME_RINVPASWD 0x0000000eu
#define AFGW_SMPP_ESME_RINVSYSID 0x0000000fu
#define AFGW_SMPP_ESME_RREPLACEFAIL 0x00000013u
#define AFGW_SMPP_ESME_RSUBMITFAIL 0x00000045u
#define AFGW_SMPP_ESME_RTHROTTLED 0x00000058u
#define AFGW_SMPP_ESME_RX_P_APPN 0x00000065u

/* ---- accounts -------------------------------------------------------- */

#define AFGW_SMPP_SYSTEM_ID_MAX 15
#define AFGW_SMPP_PASSWORD_MAX 8
#define AFGW_SMPP_ACCOUNTS_MAX 65536
#define AFGW_SMPP_ACCOUNTS_FILE_MAX (4u << 20)

/*
 * The accounts file (smpp.accounts): one ESME per line,
 *
 *     # system_id  password  [upstream_system_id  upstream_password]
 *     bank1        s3cret
 *     shop2        pw2       SHOP2-UP             uppw
 *
 * fields separated by spaces or tabs, '#' starts a comment, "-" is an
 * empty password.  system_id 1..15 and passwords 0..8 printable ASCII
 * bytes without spaces (the SMPP 3.4 limits).  Without the upstream pair
 * the ESME's own system_id and password are relayed to the SMSC.
 */
struct afgw_smpp_account {
	char system_id[AFGW_SMPP_SYSTEM_ID_MAX + 1];
	char password[AFGW_SMPP_PASSWORD_MAX + 1];
	char up_system_id[AFGW_SMPP_SYSTEM_ID_MAX + 1]; /* "" : the ESME's own */
	char up_password[AFGW_SMPP_PASSWORD_MAX + 1];
	bool has_upstream;
};

struct afgw_smpp_accounts {
	struct afgw_smpp_account *a;  /* sorted by system_id */
	size_t n;
};

/*
 * Parse an accounts file held in memory (name is used in messages).
 * Returns 0, -EINVAL with "NAME:LINE: message" in err (bad field, duplicate
 * system_id, too many), or -ENOMEM.  Passwords are never quoted back.
 */
int afgw_smpp_accounts_parse(struct afgw_smpp_accounts *acc, const char *name, const char *buf,
			     size_t len, char *err, size_t errlen);

/* Read and parse a file; as above, and -errno with "PATH: reason" when
 * it cannot be read (or is larger than AFGW_SMPP_ACCOUNTS_FILE_MAX). */
int afgw_smpp_accounts_load(struct afgw_smpp_accounts *acc, const char *path, char *err,
			    size_t errlen);

/* The account of system_id (len bytes, not NUL-terminated), or NULL. */
const struct afgw_smpp_account *afgw_smpp_accounts_find(const struct afgw_smpp_accounts *acc,
							 const char *system_id, size_t len);

/* Wipes the passwords and frees; a zeroed struct is fine. */
void afgw_smpp_accounts_fini(struct afgw_smpp_accounts *acc);

/* ---- the proxy ------------------------------------------------------- */

/* Counters; afgw_smpp_proxy_counter_name() gives the name used in metrics
 * (afgw_smpp_<name>_total) and in the summary. */
enum afgw_px_counter {
	AFGW_PX_C_CONNECTIONS,        /* ESME connections accepted */
	AFGW_PX_C_REFUSED_SESSIONS,   /* ... closed at once: smpp.max_sessions reached */
	AFGW_PX_C_BINDS,              /* binds relayed and accepted by the SMSC */
	AFGW_PX_C_BIND_BAD_CREDENTIALS, /* refused here: unknown system_id or wrong password */
	AFGW_PX_C_BIND_REFUSED_UPSTREAM, /* the SMSC's bind_*_resp had an error status */
	AFGW_PX_C_BIND_UPSTREAM_DOWN, /* the SMSC could not be reached (ESME_RBINDFAIL) */
	AFGW_PX_C_PDUS_FROM_ESME,
	AFGW_PX_C_PDUS_FROM_SMSC,
	AFGW_PX_C_SCREENED,           /* SMS PDUs given a verdict */
	AFGW_PX_C_RELAYED,            /* SMS PDUs relayed after an allow / warn verdict */
	AFGW_PX_C_BLOCKED,            /* SMS PDUs refused after a block verdict */
	AFGW_PX_C_UNSCREENED_DEADLINE, /* relayed without a verdict: deadline passed */
	AFGW_PX_C_UNSCREENED_MEMORY,  /* relayed without screening: smpp.hold_bytes full */
	AFGW_PX_C_UNSCREENED_OFF,     /* relayed without screening: smpp.screening false */
	AFGW_PX_C_UNSCREENED_NO_VERDICT, /* relayed: the pipeline made no message of it */
	AFGW_PX_C_ORPHAN_VERDICTS,    /* verdicts for PDUs already gone (deadline, teardown) */
	AFGW_PX_C_UNKNOWN_RESPONSES,  /* responses matching no request (dropped) */
	AFGW_PX_C_DROPPED_CLOSED,     /* held PDUs dropped: their session closed */
	AFGW_PX_C_REFUSED_DUPLICATES, /* a second copy of a part of a message still held,
	                                 refused (the decoder keeps the first copy only) */
	AFGW_PX_C_PARTS_RELEASED,     /* long messages screened as they were: the sender
	                                 waited for its parts' answers (smpp.part_wait_ms) */
	AFGW_PX_C_THROTTLED,          /* requests answered ESME_RTHROTTLED (window full) */
	AFGW_PX_C_GENERIC_NACKS,      /* generic_nack sent for an invalid PDU */
	AFGW_PX_C_REFUSED_REQUESTS,   /* requests refused otherwise (wrong bind state,
	                                 replace_sm, broadcast_sm) */
	AFGW_PX_C_ENQUIRE_LINKS,      /* enquire_link answered here */
	AFGW_PX_C_CLOSED_ESME,        /* pairs torn down: the ESME closed or reset */
	AFGW_PX_C_CLOSED_SMSC,        /* ... the SMSC closed or reset */
	AFGW_PX_C_CLOSED_UNBIND,      /* ... after an unbind from either side */
	AFGW_PX_C_CLOSED_BIND_TIMEOUT, /* ... no bind within smpp.bind_timeout_s */
	AFGW_PX_C_CLOSED_PDU_TIMEOUT, /* ... a PDU begun and not finished in smpp.pdu_timeout_s */
	AFGW_PX_C_CLOSED_RESPONSE_TIMEOUT, /* ... a request unanswered for smpp.response_timeout_s */
	AFGW_PX_C_CLOSED_INACTIVITY,  /* ... nothing but enquire_links for smpp.inactivity_s */
	AFGW_PX_C_CLOSED_BAD_LENGTH,  /* ... a command_length < 16 or > memcap.smpp_max_pdu */
	AFGW_PX_C_CLOSED_OVERFLOW,    /* ... a peer that does not read its output */
	AFGW_PX_C_COUNT
};

struct afgw_smpp_proxy_stats {
	uint64_t c[AFGW_PX_C_COUNT];
	uint64_t sessions;            /* ESME connections open now */
	uint64_t bound;               /* ... of them bound */
	uint64_t held;                /* PDUs held for a verdict now */
	uint64_t held_bytes;
};

struct afgw_smpp_proxy;

/*
 * Bind the listening socket (cfg->smpp.listen: before privileges are
 * dropped) and check the rest of the smpp section.  acc must outlive the
 * proxy.  The pipeline comes later (afgw_smpp_proxy_set_pipeline): it
 * needs the proxy's verdict callback.  Returns 0, or -errno with one line
 * in err.
 */
int afgw_smpp_proxy_open(const struct afgw_config *cfg, const struct afgw_smpp_accounts *acc,
			 struct afgw_smpp_proxy **out, char *err, size_t errlen);

/* Start accepting ESMEs, once the pipeline is ready (its rule set
 * compiled: until then a connecting ESME is refused, not left hanging).
 * Returns 0 or -errno with one line in err. */
int afgw_smpp_proxy_listen(struct afgw_smpp_proxy *px, char *err, size_t errlen);

/* Screen through p from now on (NULL, or smpp.screening false: relay
 * without screening). */
void afgw_smpp_proxy_set_pipeline(struct afgw_smpp_proxy *px, struct afgw_pipeline *p);

/* The pipeline's on_verdict (ud is the proxy). */
void afgw_smpp_proxy_verdict(void *ud, const struct afgw_verdict_note *n);

/*
 * Wait at most timeout_ms for I/O (less when a timer is due), then do
 * the I/O, feed the pipeline, collect verdicts (afgw_pipeline_poll) and
 * fire timers.  Returns 0, or -errno when epoll itself failed.
 */
int afgw_smpp_proxy_step(struct afgw_smpp_proxy *px, int timeout_ms);

/* Replace the accounts (SIGHUP); sessions already bound stay. */
void afgw_smpp_proxy_set_accounts(struct afgw_smpp_proxy *px,
				  const struct afgw_smpp_accounts *acc);

void afgw_smpp_proxy_stats(const struct afgw_smpp_proxy *px, struct afgw_smpp_proxy_stats *s);
const char *afgw_smpp_proxy_counter_name(enum afgw_px_counter c);

/* Stop: relay or refuse what is still held (with its verdict if the
 * pipeline gives one on afgw_pipeline_finish, else unscreened), unbind
 * and close every session.  NULL is a no-op. */
void afgw_smpp_proxy_close(struct afgw_smpp_proxy *px);

#endif
