/*
 * worker.h - the screening pipeline: frames in, Event JSON lines with a
 * verdict out.  gateway/worker.c.
 *
 *   capture thread ──frames──► N workers ──scanned messages──► score stage ──► output
 *   (the caller)    symmetric  decode, normalize,  in capture   reputation, behaviour,
 *                   flow hash  match, render JSON  order        score, verdict, counters
 *
 * Workers own their dissector (flow tables, reassembly), match worker
 * (Hyperscan scratch) and JSON buffer; a frame goes to the worker its
 * symmetric flow hash names, so a TCP stream, an SMPP session and the
 * fragments of a datagram stay on one worker.  The score stage runs in the
 * caller's thread and takes the workers' messages back in capture order
 * (each message is tagged with the sequence number of the frame that
 * completed it), so behaviour windows, reputation and verdicts are the
 * same whatever the number of workers.  With one worker there are no
 * threads: each frame is decoded, scanned and scored in the caller's
 * thread.  With N, the caller's thread is worker 0 as well (for a smaller
 * share of the flows, config capture_share) and N - 1 threads are started.
 *
 * Thread: afgw_pipeline_* are called from one thread (the capture
 * thread); the pipeline starts and joins its workers itself.
 */
#ifndef AFGW_WORKER_H
#define AFGW_WORKER_H

#include <stdio.h>

#include "afgw/behaviour.h"
#include "afgw/capture.h"
#include "afgw/config.h"
#include "afgw/dissect.h"
#include "afgw/event.h"
#include "afgw/fleet.h"
#include "afgw/match.h"
#include "afgw/notify.h"
#include "afgw/reputation.h"
#include "afgw/score.h"

#define AFGW_PIPELINE_WORKERS_MAX 64
#define AFGW_PIPELINE_CATEGORIES 64

/* Why a decoded message got no verdict. */
enum afgw_unscanned {
	AFGW_UNSCANNED_MATCH_ERROR,    /* the scan failed (memory, Hyperscan) */
	AFGW_UNSCANNED_NO_RULESET,     /* no rule set loaded */
	AFGW_UNSCANNED_COUNT
};

/* What the score stage decided about a message (afgw_pipeline_opts.on_verdict). */
struct afgw_verdict_note {
	uint64_t seq;                   /* the frame that completed the message */
	uint64_t first_seq;             /* the frame that carried its first part (== seq but
	                                   for concatenated SMS) */
	const uint8_t *part_seqs;       /* SMS: the frame of each of its parts, n_parts
	                                   unaligned uint64_t (memcpy them), in part order;
	                                   valid during the call */
	unsigned n_parts;
	bool sms;
	bool invite;                    /* an initial INVITE */
	bool scanned;                   /* false: unscanned (action is allow) */
	enum afgw_action action;
};

struct afgw_pipeline_opts {
	const struct afgw_config *cfg;
	const struct afgw_ruleset *rs;  /* the first rule set, the caller's (it must outlive the
	                                   pipeline); NULL: none until one is offered (messages
	                                   before are unscanned, reason no_ruleset) */
	struct afgw_rep *rep;           /* NULL: no reputation; used only from this thread */
	struct afgw_fleet *fleet;       /* NULL: behaviour counts of this gateway only; ditto */
	struct afgw_sub *sub;           /* NULL: no subscriber registry; ditto */
	struct afgw_notify *notify;     /* NULL: no warnings written (counted); this thread
	                                   is its producer */
	FILE *out;                      /* Event JSON lines; NULL: none */
	bool skip_allow;                /* no lines for allow verdicts (afgw run's default) */
	const struct afgw_event_privacy *privacy; /* numbers as pseudonyms, no SMS text in the
	                                   events (afgw run's default); NULL: in clear */
	/* Called by the score stage (the capture thread) for every message, after
	 * its verdict: bridge mode holds INVITEs until it hears about them. */
	void (*on_verdict)(void *ud, const struct afgw_verdict_note *n);
	void *verdict_ud;
};

struct afgw_pipeline_stats {
	unsigned workers;
	uint64_t events;                /* decoded messages: sip_events + smpp_events */
	uint64_t sip_events;            /* SIP messages (SIP MESSAGE SMS included) */
	uint64_t smpp_events;           /* SMPP SMS (after concatenation) */
	uint64_t sms_events;            /* SMS, SMPP or SIP MESSAGE */
	uint64_t scanned;               /* with a verdict */
	uint64_t match_cached;          /* ... whose text results came from a worker's match cache */
	uint64_t action[3];             /* by enum afgw_action */
	uint64_t unscanned[AFGW_UNSCANNED_COUNT];
	uint64_t dissect[AFGW_C_COUNT]; /* summed over workers */
	uint64_t behaviour[AFGW_BH_C_COUNT];
	uint64_t bh_reasons[4];         /* verdicts carrying each behaviour reason */
	uint64_t fleet_reasons;         /* verdicts with a behaviour reason only the fleet's counts gave */
	uint64_t rep_reasons;           /* verdicts with a reputation reason */
	uint64_t to_subscribers;        /* calls / SMS to registered subscribers */
	uint64_t warn_subscribers;      /* ... of them warn or block */
	uint64_t warnings_unwanted;     /* ... of those the subscriber did not want (prefs) */
	uint64_t warnings_unsent;       /* ... wanted, but no notifier (no gateway key) */
	uint64_t lookbacks;             /* new blacklistings handed to look-back */
	uint64_t allowlisted;           /* verdicts forced to allow by an allow list */
	struct {
		char name[AFGW_RULE_ID_MAX + 1];
		uint64_t warn, block;
	} category[AFGW_PIPELINE_CATEGORIES]; /* warn / block verdicts by leading category */
	unsigned n_categories;
	uint64_t other_categories;      /* warn / block beyond the table */
	uint64_t reloads;               /* rule sets installed by afgw_pipeline_offer_ruleset */
	uint64_t reload_failures;       /* offers lost for want of memory */
	uint64_t ruleset;               /* serial of the current rule set (0: none) */
	uint64_t rebind_ns_max;         /* longest a worker stopped to change rule sets */
	uint64_t worker_frames[AFGW_PIPELINE_WORKERS_MAX]; /* frames given to each worker */
	/* CPU time since the pipeline started: of the thread that made it (capture, dispatch
	   and the score stage; with one worker, everything), and of each worker thread */
	uint64_t capture_cpu_ns;
	uint64_t worker_cpu_ns[AFGW_PIPELINE_WORKERS_MAX];
	bool write_failed;
};

struct afgw_pipeline;

/*
 * Start a pipeline with cfg->workers workers.  The options' objects must
 * outlive it.  Returns 0, -EINVAL or -ENOMEM.
 */
int afgw_pipeline_new(const struct afgw_pipeline_opts *o, struct afgw_pipeline **out);

/*
 * Any thread (a bundle watcher): hand a new rule set to the pipeline.
 * Ownership of rs moves to the pipeline, also on failure.  One match
 * worker per worker is prepared here, in the caller's thread, so a worker
 * switching stops only to swap pointers.  The capture thread installs the
 * offer before its next frame (or afgw_pipeline_poll); workers move to it
 * between frames, at the same point of the capture, and the old rule set
 * retired once every worker and every message still in flight is done
 * with it, and freed by the next offer (in its caller's thread) or by
 * afgw_pipeline_free.  An offer not yet installed is replaced by a newer one.
 * Returns 0 or -ENOMEM.
 */
int afgw_pipeline_offer_ruleset(struct afgw_pipeline *p, struct afgw_ruleset *rs);

/* Capture thread, when it has no frame to give (live capture idle): install
 * an offered rule set and score what is ready. */
void afgw_pipeline_poll(struct afgw_pipeline *p);

/* Capture thread: write Event JSON lines to out from now on (NULL: none),
 * with or without allow verdicts (afgw run on SIGHUP). */
void afgw_pipeline_set_output(struct afgw_pipeline *p, FILE *out, bool skip_allow);

/* Capture thread: the Event JSON lines scored so far out to the output
 * (they collect in a buffer of the pipeline's), then fflush() it.  Done by
 * afgw_pipeline_finish and afgw_pipeline_set_output; an event loop calls it
 * where it would flush the output. */
void afgw_pipeline_flush_output(struct afgw_pipeline *p);

/* The sequence number the next frame will get (verdict notes name it). */
uint64_t afgw_pipeline_next_seq(const struct afgw_pipeline *p);

/* One captured frame (copied; f's bytes may go after the call). */
void afgw_pipeline_frame(struct afgw_pipeline *p, const struct afgw_frame *f);

/*
 * Capture thread, when there is no frame (a quiet live source): time goes
 * on to now_us, so concatenated SMS whose parts stopped coming are
 * released (scanned as they are) by their timeout.  Takes a sequence
 * number like a frame.
 */
void afgw_pipeline_tick(struct afgw_pipeline *p, uint64_t now_us);

/*
 * Capture thread: release the concatenated SMS of key (canonical numbers)
 * now, incomplete, wherever a worker holds it: it is scanned as it is and
 * its verdict note comes as usual (the SMPP proxy, for a sender that
 * waits for each part's answer before sending the next).  Takes a
 * sequence number like a frame.
 */
void afgw_pipeline_release_sms(struct afgw_pipeline *p, const struct afgw_concat_key *key);

/* Every frame up to this sequence number is decoded and every message it
 * completed has had its verdict (on_verdict called): a frame at or below
 * it that produced no note produced no message. */
uint64_t afgw_pipeline_done_seq(struct afgw_pipeline *p);

/*
 * For an event loop that is the capture thread (the SMPP proxy): a
 * descriptor that becomes readable when, while armed, a worker finishes
 * a frame or has a message for the score stage; -1 with one worker
 * (everything happens inside afgw_pipeline_frame).  Before sleeping:
 * afgw_pipeline_arm(p, done) with the afgw_pipeline_done_seq() the loop
 * last acted on; false means there is news already (do not sleep).
 * After waking, and whenever the descriptor is readable:
 * afgw_pipeline_disarm (it also empties the descriptor), then
 * afgw_pipeline_poll.
 */
int afgw_pipeline_wake_fd(const struct afgw_pipeline *p);
bool afgw_pipeline_arm(struct afgw_pipeline *p, uint64_t seen_done);
void afgw_pipeline_disarm(struct afgw_pipeline *p);

/* End of input: flush reassembly, drain the workers, score everything. */
void afgw_pipeline_finish(struct afgw_pipeline *p);

/* Messages scored so far (for a progress line). */
uint64_t afgw_pipeline_scored(const struct afgw_pipeline *p);

/* Counters; complete after afgw_pipeline_finish. */
void afgw_pipeline_stats(const struct afgw_pipeline *p, struct afgw_pipeline_stats *s);

/* Stops the workers if still running; NULL is a no-op. */
void afgw_pipeline_free(struct afgw_pipeline *p);

const char *afgw_unscanned_name(enum afgw_unscanned u);

#endif
