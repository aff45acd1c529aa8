/*
 * bundle_watch.c - police bundles in a fleet (bundle_watch.h): the copy in
 * Redis, the push, and the watcher thread of a gateway.
 *
 * The watcher owns the gateway's keyring and acceptance state (bundle.h).
 * At start (the caller's thread) it takes the best bundle it can find —
 * the state directory's copy of the last accepted one, then Redis's
 * current one if that is another — and builds the rule set to start
 * with.  Then its thread follows Redis: it is subscribed to the notice
 * channel and, on a notice or every bundle.poll_ms, reads the first
 * header bytes of afgw:bundle:current; a header it has not considered
 * yet is fetched whole and considered once.
 *
 * Considering a bundle (consider()): verify against the keyring, the
 * clock and the scope; check the serial against the state (rollback,
 * equivocation); load its rule parts on top of the local rule set and its
 * number parts; compile in a child process under the configured limits
 * (match.h); commit the state (fsync); then hand the rule set to the
 * pipeline (afgw_pipeline_offer_ruleset: workers switch between frames)
 * and the numbers to the reputation replica (afgw_rep_inject: in force at
 * once, new blacklistings go to look-back) and to Redis (afgw_rep_put,
 * source police@SERIAL, so that operators see them and the fleet's
 * replicas get them even before their own watcher has verified the
 * bundle).  Any failure leaves the running rule set as it is.  Every
 * accept and reject goes to the audit log.
 *
 * Not here: the bundle format and its checks (bundle.c), the swap
 * (worker.c), the compiler (match.c).
 */
#include "afgw/bundle_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "afgw/bundle.h"
#include "afgw/common.h"
#include "afgw/config.h"
#include "afgw/log.h"
#include "afgw/match.h"
#include "afgw/reputation.h"
#include "afgw/worker.h"
#include "redis_conn.h"

/* ---- the copy in Redis ------------------------------------------------- */

/*
 * KEYS[1] bundle, KEYS[2] serial; ARGV[1] bytes, ARGV[2] serial,
 * ARGV[3] expires-at, ARGV[4] "1" to force, ARGV[5] channel, ARGV[6]
 * notice.  Serials compare as Lua numbers: exact below 2^53.
 */
static const char push_script[] =
	"local cur = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
	"if ARGV[4] ~= '1' and cur >= tonumber(ARGV[2]) then\n"
	"  return redis.error_reply('OLDER ' .. redis.call('GET', KEYS[2]))\n"
	"end\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[3])\n"
	"redis.call('SET', KEYS[2], ARGV[2], 'EXAT', ARGV[3])\n"
	"return redis.call('PUBLISH', ARGV[5], ARGV[6])\n";

int afgw_bundle_push(struct afgw_redis *c, const uint8_t *buf, size_t len, bool force,
		     long long *receivers, char *err, size_t errlen)
{
	struct afgw_bundle_header h;
	char why[AFGW_BUNDLE_ERR];
	enum afgw_bundle_reason r = afgw_bundle_header_parse(buf, len, &h, why, sizeof(why));
	if (r != AFGW_BUNDLE_OK) {
		snprintf(err, errlen, "not a bundle: %s: %s", afgw_bundle_reason_name(r), why);
		return -EINVAL;
	}
	if (h.expires_at <= (int64_t)time(NULL)) {
		snprintf(err, errlen, "the bundle has expired");
		return -EINVAL;
	}
	char serial[24], exat[24], notice[24 + AFGW_BUNDLE_HASH_HEX];
	snprintf(serial, sizeof(serial), "%" PRIu64, h.serial);
	snprintf(exat, sizeof(exat), "%" PRId64, h.expires_at);
	snprintf(notice, sizeof(notice), "%" PRIu64 " %s", h.serial, h.hash_hex);
	const char *argv[] = { "EVAL", push_script, "2", AFGW_BUNDLE_KEY, AFGW_BUNDLE_SERIAL_KEY,
			       (const char *)buf, serial, exat, force ? "1" : "0",
			       AFGW_BUNDLE_CHANNEL, notice };
	size_t argl[AFGW_ARRAY_SIZE(argv)];
	for (size_t i = 0; i < AFGW_ARRAY_SIZE(argv); i++)
		argl[i] = i == 5 ? len : strlen(argv[i]);
	redisReply *rep = redisCommandArgv(c->ctx, (int)AFGW_ARRAY_SIZE(argv), argv, argl);
	if (!rep) {
		snprintf(err, errlen, "Redis: %s", c->ctx->errstr);
		return -EIO;
	}
	int rc = 0;
	if (rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "OLDER ", 6)) {
		snprintf(err, errlen, "Redis already has serial %s, not older than %s (--force to "
				      "replace it)", rep->str + 6, serial);
		rc = -EEXIST;
	} else if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "Redis: %s", rep->str);
		rc = -EIO;
	} else if (receivers) {
		*receivers = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
	}
	freeReplyObject(rep);
	return rc;
}

/* Read the value of KEY if it is at most cap bytes.  0, -ENOENT, -EFBIG, -EIO. */
static int fetch(redisContext *ctx, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	redisReply *rep = redisCommand(ctx, "STRLEN %s", AFGW_BUNDLE_KEY);
	if (!afgw_redis_reply_is(rep, REDIS_REPLY_INTEGER)) {
		snprintf(err, errlen, "Redis: %s", rep ? rep->str ? rep->str : "?" : ctx->errstr);
		if (rep)
			freeReplyObject(rep);
		return -EIO;
	}
	long long n = rep->integer;
	freeReplyObject(rep);
	if (n == 0)
		return -ENOENT;
	if (n > (long long)AFGW_BUNDLE_MAX) {
		snprintf(err, errlen, "%s holds %lld bytes, more than a bundle may have",
			 AFGW_BUNDLE_KEY, n);
		return -EFBIG;
	}
	rep = redisCommand(ctx, "GET %s", AFGW_BUNDLE_KEY);
	if (afgw_redis_reply_is(rep, REDIS_REPLY_NIL)) {
		freeReplyObject(rep);
		return -ENOENT;
	}
	if (!afgw_redis_reply_is(rep, REDIS_REPLY_STRING) || rep->len > AFGW_BUNDLE_MAX) {
		snprintf(err, errlen, "Redis: %s", rep ? "not a bundle" : ctx->errstr);
		if (rep)
			freeReplyObject(rep);
		return -EIO;
	}
	*buf = malloc(rep->len ? rep->len : 1);
	if (!*buf) {
		freeReplyObject(rep);
		return -ENOMEM;
	}
	memcpy(*buf, rep->str, rep->len);
	*len = rep->len;
	freeReplyObject(rep);
	return 0;
}

int afgw_bundle_fetch(struct afgw_redis *c, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	return fetch(c->ctx, buf, len, err, errlen);
}

/* ---- the watcher ------------------------------------------------------- */

struct afgw_bundle_watch {
	pthread_mutex_t mu;            /* one consider / rebuild at a time (thread and SIGHUP) */
	const struct afgw_config *cfg;
	char *base_dir;
	struct afgw_rep *rep;
	struct afgw_keyring kr;
	struct afgw_bundle_state *st;
	const char *scopes[2];
	struct afgw_compile_limits lim;

	uint64_t in_force;             /* serial of the bundle whose rules run (0: none) */
	uint8_t seen[AFGW_BUNDLE_HEADER_BYTES];  /* header of the last Redis bundle considered */
	bool have_seen;

	struct afgw_pipeline *p;
	pthread_t thread;
	bool started;
	int stop_pipe[2];
	struct afgw_redis_link cmd;
	redisContext *sub;             /* subscribed to the notice channel (NULL: not now) */
	struct timespec sub_retry;

	_Atomic uint64_t c[AFGW_BW_C_COUNT];
};

static const char *const counter_names[AFGW_BW_C_COUNT] = {
	"bundles_accepted", "bundles_rejected", "bundle_serial", "bundle_numbers",
	"bundle_compile_ms", "bundle_redis_errors",
};

const char *afgw_bundle_watch_counter_name(enum afgw_bw_counter c)
{
	return (unsigned)c < AFGW_BW_C_COUNT ? counter_names[c] : "?";
}

void afgw_bundle_watch_counters(const struct afgw_bundle_watch *w, uint64_t out[AFGW_BW_C_COUNT])
{
	for (int i = 0; i < AFGW_BW_C_COUNT; i++)
		out[i] = atomic_load(&((struct afgw_bundle_watch *)w)->c[i]);
}

static void audit(struct afgw_bundle_watch *w, const char *source,
		  const struct afgw_bundle_report *rep)
{
	bool ok = rep->reason == AFGW_BUNDLE_OK;
	atomic_fetch_add(&w->c[ok ? AFGW_BW_C_ACCEPTED : AFGW_BW_C_REJECTED], 1);
	if (afgw_bundle_audit(w->st, (int64_t)time(NULL), source, rep) != 0)
		afgw_log(AFGW_LOG_ERROR, "bundle: cannot write the audit log in %s",
			 w->cfg->bundle.state_dir);
	if (ok)
		afgw_log(AFGW_LOG_INFO, "bundle %" PRIu64 " (%.16s) from %s accepted: %s",
			 rep->serial, rep->hash_hex, source, rep->detail);
	else
		afgw_log(AFGW_LOG_WARN, "bundle %" PRIu64 " (%.16s) from %s refused: %s: %s",
			 rep->serial, rep->hash_hex, source, afgw_bundle_reason_name(rep->reason),
			 rep->detail);
}

/* The local rule set plus b's rules (b may be NULL), compiled in a child. */
static int build(struct afgw_bundle_watch *w, const struct afgw_bundle *b,
		 struct afgw_ruleset **out, enum afgw_bundle_reason *why, char *detail,
		 size_t dlen)
{
	struct afgw_rules rules;
	struct afgw_rules_diag d;
	afgw_rules_init(&rules);
	afgw_rules_diag_init(&d);
	/* "none": no local rules, the police bundle's only */
	int rc = strcmp(w->base_dir, "none") ? afgw_rules_load_dir(&rules, w->base_dir, &d) : 0;
	*why = AFGW_BUNDLE_E_PART_FORMAT;
	if (rc == 0 && b)
		rc = afgw_bundle_rules(b, &rules, &d);
	if (rc == 0) {
		*why = AFGW_BUNDLE_E_COMPILE;
		rc = afgw_ruleset_new_isolated(&rules, b ? b->h.serial : 0, &w->lim, &d, out);
	}
	if (rc != 0) {
		const char *first = NULL;
		for (unsigned i = 0; i < d.n && !first; i++)
			if (d.msg[i].level == AFGW_DIAG_ERROR)
				first = d.msg[i].text;
		snprintf(detail, dlen, "%s%s", first ? first : strerror(-rc),
			 d.errors > 1 ? " (and more)" : "");
	}
	afgw_rules_diag_fini(&d);
	afgw_rules_fini(&rules);
	return rc;
}

/* Put b's numbers into the replica now, and into Redis when connected. */
static void apply_numbers(struct afgw_bundle_watch *w, const struct afgw_bundle *b,
			  const struct afgw_bundle_number *nums, long n)
{
	redisContext *ctx = w->cmd.ctx;
	struct afgw_redis conn = { ctx };
	unsigned errors = 0;
	for (long i = 0; i < n; i++) {
		struct afgw_rep_entry e = {
			.list = (enum afgw_rep_list)nums[i].list,
			.score = nums[i].score,
			.source = AFGW_REP_SRC_POLICE,
			.since = b->h.issued_at,
			.expires = nums[i].expires,
			.bundle = b->h.serial,
		};
		memcpy(e.category, nums[i].category, sizeof(e.category));
		struct afgw_str canon = afgw_str_make(nums[i].number, strlen(nums[i].number));
		if (w->rep)
			afgw_rep_inject(w->rep, canon, &e);
		char err[AFGW_REP_ERR];
		if (ctx && errors < 3 && afgw_rep_put(&conn, canon, &e, err, sizeof(err)) != 0) {
			if (++errors == 1)
				afgw_log(AFGW_LOG_WARN, "bundle %" PRIu64 ": writing its numbers to "
							"Redis: %s",
					 b->h.serial, err);
			atomic_fetch_add(&w->c[AFGW_BW_C_REDIS_ERRORS], 1);
		}
	}
	atomic_store(&w->c[AFGW_BW_C_NUMBERS], (uint64_t)n);
}

/*
 * Consider one bundle (see the file-top comment).  Returns 1 and *out
 * (the rule set to run, the caller's) when it is to be applied, 0 when it
 * is refused or already in force.
 */
static int consider(struct afgw_bundle_watch *w, const uint8_t *buf, size_t len,
		    const char *source, struct afgw_ruleset **out)
{
	struct afgw_bundle_policy pol = { &w->kr, (int64_t)time(NULL),
					  w->scopes[0] ? w->scopes : NULL };
	const char *const star[] = { "*", NULL };
	if (!w->scopes[0])
		pol.scopes = star;
	struct afgw_bundle_report rep;
	struct afgw_bundle *b = NULL;
	struct afgw_bundle_number *nums = NULL;
	struct afgw_ruleset *rs = NULL;
	int applied = 0;
	memset(&rep, 0, sizeof(rep));
	if (afgw_bundle_verify(buf, len, &pol, &b, &rep) != 0) {
		audit(w, source, &rep);
		return 0;
	}
	bool same = false;
	rep.reason = afgw_bundle_state_check(w->st, b, &same);
	if (rep.reason != AFGW_BUNDLE_OK) {
		char last[AFGW_BUNDLE_HASH_HEX];
		uint64_t ls = afgw_bundle_state_serial(w->st, last);
		snprintf(rep.detail, sizeof(rep.detail), "last accepted: serial %" PRIu64 " (%.16s)",
			 ls, last);
		audit(w, source, &rep);
		goto out;
	}
	if (same && w->in_force == b->h.serial)
		goto out; /* what runs already */
	char err[AFGW_BUNDLE_ERR];
	long n = afgw_bundle_numbers(b, w->cfg->country_code, &nums, err, sizeof(err));
	if (n < 0) {
		rep.reason = AFGW_BUNDLE_E_PART_FORMAT;
		snprintf(rep.detail, sizeof(rep.detail), "%s", n == -ENOMEM ? "out of memory" : err);
		audit(w, source, &rep);
		goto out;
	}
	uint64_t t0 = afgw_mono_ms();
	if (build(w, b, &rs, &rep.reason, rep.detail, sizeof(rep.detail)) != 0) {
		audit(w, source, &rep);
		goto out;
	}
	uint64_t ms = afgw_mono_ms() - t0;
	atomic_store(&w->c[AFGW_BW_C_COMPILE_MS], ms);
	if (!same && afgw_bundle_state_commit(w->st, b, err, sizeof(err)) != 0) {
		rep.reason = AFGW_BUNDLE_E_IO;
		snprintf(rep.detail, sizeof(rep.detail), "%s", err);
		audit(w, source, &rep);
		afgw_ruleset_free(rs);
		rs = NULL;
		goto out;
	}
	apply_numbers(w, b, nums, n);
	snprintf(rep.detail, sizeof(rep.detail), "%zu rules, %ld numbers, compiled in %" PRIu64
						 " ms%s",
		 afgw_ruleset_count(rs), n, ms, same ? "; the last accepted bundle, again" : "");
	rep.reason = AFGW_BUNDLE_OK;
	audit(w, source, &rep);
	w->in_force = b->h.serial;
	atomic_store(&w->c[AFGW_BW_C_SERIAL], b->h.serial);
	*out = rs;
	applied = 1;
out:
	free(nums);
	afgw_bundle_free(b);
	return applied;
}

/* Consider Redis's current bundle if its header is new to us. */
static int consider_redis(struct afgw_bundle_watch *w, struct afgw_ruleset **out)
{
	redisContext *ctx = w->cmd.ctx;
	redisReply *rep = redisCommand(ctx, "GETRANGE %s 0 %d", AFGW_BUNDLE_KEY,
				       AFGW_BUNDLE_HEADER_BYTES - 1);
	if (!rep)
		return -EIO; /* the connection: reconnect */
	if (!afgw_redis_reply_is(rep, REDIS_REPLY_STRING)) {
		/* not a string (someone wrote another type there): nothing to
		 * consider, and no reason to drop the connection */
		freeReplyObject(rep);
		return 0;
	}
	bool fresh = rep->len == AFGW_BUNDLE_HEADER_BYTES &&
		     (!w->have_seen || memcmp(w->seen, rep->str, AFGW_BUNDLE_HEADER_BYTES) != 0);
	if (fresh)
		memcpy(w->seen, rep->str, AFGW_BUNDLE_HEADER_BYTES);
	freeReplyObject(rep);
	if (!fresh)
		return 0;
	w->have_seen = true;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256];
	int rc = fetch(ctx, &buf, &len, err, sizeof(err));
	if (rc == -ENOENT)
		return 0;
	if (rc == -EFBIG) {
		struct afgw_bundle_report r = { .reason = AFGW_BUNDLE_E_OVERSIZED };
		snprintf(r.detail, sizeof(r.detail), "%s", err);
		audit(w, "redis", &r);
		return 0;
	}
	if (rc != 0) {
		w->have_seen = false; /* try again */
		return rc;
	}
	rc = consider(w, buf, len, "redis", out);
	free(buf);
	return rc;
}

int afgw_bundle_watch_open(const struct afgw_config *cfg, const char *base_dir,
			   struct afgw_rep *rep, const char *file, struct afgw_ruleset **start,
			   struct afgw_bundle_watch **out, char *err, size_t errlen)
{
	struct afgw_bundle_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->mu, NULL);
	w->cfg = cfg;
	w->rep = rep;
	w->stop_pipe[0] = w->stop_pipe[1] = -1;
	w->scopes[0] = cfg->bundle.scope;
	w->lim.cpu_s = cfg->bundle.compile_cpu_s;
	w->lim.mem_bytes = cfg->bundle.compile_memory;
	w->lim.wall_ms = cfg->bundle.compile_cpu_s * 2000u + 10000u;
	w->cmd.rc = cfg->redis;
	int rc = -ENOMEM;
	w->base_dir = strdup(base_dir);
	if (!w->base_dir)
		goto fail;
	if (afgw_keys_init() != 0) {
		snprintf(err, errlen, "cannot initialise libsodium");
		rc = -EIO;
		goto fail;
	}
	rc = afgw_keyring_load(cfg->bundle.trust, &w->kr, err, errlen);
	if (rc)
		goto fail;
	rc = afgw_bundle_state_open(cfg->bundle.state_dir, &w->st, err, errlen);
	if (rc)
		goto fail;

	/* The best start: the state's copy (what was in force before a
	 * restart), then a file given on the command line, then Redis's. */
	struct afgw_ruleset *rs = NULL, *next = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (afgw_bundle_state_current(w->st, &buf, &len) == 0) {
		consider(w, buf, len, "state", &rs);
		free(buf);
	}
	if (file) {
		FILE *f = fopen(file, "rb");
		if (!f) {
			snprintf(err, errlen, "%s: %s", file, strerror(errno));
			rc = -errno;
			afgw_ruleset_free(rs);
			goto fail;
		}
		buf = malloc(AFGW_BUNDLE_MAX + 1);
		len = buf ? fread(buf, 1, AFGW_BUNDLE_MAX + 1, f) : 0;
		fclose(f);
		char source[300];
		snprintf(source, sizeof(source), "file:%s", file);
		if (buf && consider(w, buf, len, source, &next)) {
			afgw_ruleset_free(rs);
			rs = next;
		}
		free(buf);
	}
	if (cfg->redis.url && afgw_redis_link_up(&w->cmd) > 0) {
		next = NULL;
		if (consider_redis(w, &next) == 1) {
			afgw_ruleset_free(rs);
			rs = next;
		}
	}
	if (!rs && !strcmp(base_dir, "none")) {
		/* no local rules and no acceptable bundle: the gateway runs without
		 * a rule set (messages unscanned, counted) until one arrives */
		afgw_log(AFGW_LOG_WARN, "no local rules and no acceptable police bundle: "
					"messages stay unscanned until a bundle is accepted");
	} else if (!rs) { /* no bundle to run: the local rules alone */
		enum afgw_bundle_reason why;
		char detail[AFGW_BUNDLE_ERR];
		if (build(w, NULL, &rs, &why, detail, sizeof(detail)) != 0) {
			snprintf(err, errlen, "%s", detail);
			rc = -EINVAL;
			goto fail;
		}
	}
	*start = rs;
	*out = w;
	return 0;
fail:
	afgw_bundle_watch_close(w);
	return rc;
}

static bool stopping(struct afgw_bundle_watch *w, int wait_ms, int sub_fd)
{
	struct pollfd pfd[2] = { { .fd = w->stop_pipe[0], .events = POLLIN },
				 { .fd = sub_fd, .events = POLLIN } };
	int n = poll(pfd, sub_fd >= 0 ? 2 : 1, wait_ms);
	if (n > 0 && pfd[0].revents)
		return true;
	return false;
}

/* Subscribe (again) to the notice channel; a failure is retried later. */
static void subscribe(struct afgw_bundle_watch *w)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (w->sub || now.tv_sec < w->sub_retry.tv_sec)
		return;
	char err[256];
	redisContext *c = afgw_redis_ctx_open(&w->cfg->redis, 0, err, sizeof(err));
	redisReply *rep = c ? redisCommand(c, "SUBSCRIBE %s", AFGW_BUNDLE_CHANNEL) : NULL;
	if (!afgw_redis_reply_is(rep, REDIS_REPLY_ARRAY)) {
		if (rep)
			freeReplyObject(rep);
		if (c)
			redisFree(c);
		w->sub_retry = now;
		w->sub_retry.tv_sec += 1 + w->cfg->redis.retry_ms / 1000;
		return;
	}
	freeReplyObject(rep);
	w->sub = c;
}

/* Read what the subscription has (notices): 0, or -1 when it broke. */
static int drain_notices(struct afgw_bundle_watch *w)
{
	if (redisBufferRead(w->sub) != REDIS_OK)
		return -1;
	void *r;
	for (;;) {
		if (redisGetReplyFromReader(w->sub, &r) != REDIS_OK)
			return -1;
		if (!r)
			return 0;
		freeReplyObject(r);
	}
}

static void *watch_main(void *arg)
{
	struct afgw_bundle_watch *w = arg;
	afgw_redis_thread_init();
	for (;;) {
		int up = afgw_redis_link_up(&w->cmd);
		if (up == -1 && afgw_redis_link_drop(&w->cmd, w->cmd.why))
			afgw_log(AFGW_LOG_WARN, "bundle watcher: Redis at %s unavailable (%s)",
				 w->cfg->redis.url, w->cmd.why);
		if (up == 2)
			afgw_log(AFGW_LOG_INFO, "bundle watcher: Redis at %s is back",
				 w->cfg->redis.url);
		if (up > 0) {
			subscribe(w);
			struct afgw_ruleset *rs = NULL;
			pthread_mutex_lock(&w->mu);
			int rc = consider_redis(w, &rs);
			pthread_mutex_unlock(&w->mu);
			if (rc == 1 && afgw_pipeline_offer_ruleset(w->p, rs) != 0)
				afgw_log(AFGW_LOG_ERROR, "bundle watcher: no memory to install the "
							 "new rule set; the old one runs on");
			if (rc < 0) {
				atomic_fetch_add(&w->c[AFGW_BW_C_REDIS_ERRORS], 1);
				if (afgw_redis_link_drop(&w->cmd, w->cmd.ctx->errstr))
					afgw_log(AFGW_LOG_WARN, "bundle watcher: Redis at %s "
								"unavailable (%s)",
						 w->cfg->redis.url, w->cmd.why);
			}
		}
		int fd = w->sub ? w->sub->fd : -1;
		if (stopping(w, (int)w->cfg->bundle.poll_ms, fd))
			return NULL;
		if (w->sub && drain_notices(w) != 0) {
			redisFree(w->sub);
			w->sub = NULL;
		}
	}
}

int afgw_bundle_watch_start(struct afgw_bundle_watch *w, struct afgw_pipeline *p)
{
	if (!w->cfg->redis.url)
		return 0;
	w->p = p;
	if (pipe2(w->stop_pipe, O_CLOEXEC) != 0)
		return -errno;
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0)
		return -EAGAIN;
	w->started = true;
	return 0;
}

void afgw_bundle_watch_close(struct afgw_bundle_watch *w)
{
	if (!w)
		return;
	if (w->started) {
		ssize_t n = write(w->stop_pipe[1], "x", 1);
		(void)n;
		pthread_join(w->thread, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (w->stop_pipe[i] >= 0)
			close(w->stop_pipe[i]);
	if (w->sub)
		redisFree(w->sub);
	if (w->cmd.ctx)
		redisFree(w->cmd.ctx);
	afgw_bundle_state_close(w->st);
	free(w->base_dir);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int afgw_bundle_watch_rebuild(struct afgw_bundle_watch *w, struct afgw_ruleset **out)
{
	*out = NULL;
	pthread_mutex_lock(&w->mu);
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = -ENOENT;
	if (afgw_bundle_state_current(w->st, &buf, &len) == 0) {
		uint64_t in_force = w->in_force;
		w->in_force = 0; /* consider() skips the bundle in force: here it is wanted */
		rc = consider(w, buf, len, "reload", out) == 1 ? 0 : -EINVAL;
		if (rc)
			w->in_force = in_force;
		free(buf);
	}
	if (rc == -ENOENT) { /* no bundle accepted yet: the local rules alone */
		enum afgw_bundle_reason why;
		char detail[AFGW_BUNDLE_ERR];
		if (strcmp(w->base_dir, "none") == 0) {
			rc = -ENOENT;
		} else if (build(w, NULL, out, &why, detail, sizeof(detail)) != 0) {
			afgw_log(AFGW_LOG_ERROR, "reload: %s; the old rules run on", detail);
			rc = -EINVAL;
		} else {
			rc = 0;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}
