/*
 * smpp_accounts.c - the smpp-proxy's accounts file (smpp_proxy.h,
 * "accounts"): which ESMEs may bind to afgw, with which password, and as
 * whom afgw binds to the upstream SMSC on their behalf.
 *
 * Input: the whole file in memory (afgw_smpp_accounts_parse) or its path
 * (afgw_smpp_accounts_load, at most AFGW_SMPP_ACCOUNTS_FILE_MAX bytes).
 * Output: the accounts sorted by system_id in memcmp order (a prefix
 * before the ids it begins), so that the system_id of a bind PDU, a
 * counted slice, is found by binary search (afgw_smpp_accounts_find).
 *
 * The syntax, strictly.  Lines end in '\n'; one '\r' at the end of a line
 * is dropped (CRLF files).  Fields are separated by spaces and tabs.  A
 * '#' that begins a field begins a comment running to the end of the
 * line; a '#' inside a field is part of it ("pa#ss" is a password, "#pass"
 * is a comment).  A line has 0, 2 or 4 fields.  "-" is an empty password,
 * and is refused as a system_id: there it would read as "the ESME's own",
 * which is what the 2-field form means.  A NUL, a byte >= 0x80 or a
 * control character other than tab anywhere in a line, comments included,
 * is an error.  The first error in file order is reported as
 * "NAME:LINE: message" (a repeated system_id is reported on its second
 * line).  Messages quote system_ids, which are not secret, but never a
 * password, its length or any of its bytes.
 *
 * Called by the control thread at start-up and on reload; the proxy's
 * thread then only reads the result, through _find.  Passwords live in
 * ordinary heap memory (one calloc'd array) and every copy this file
 * drops is wiped with sodium_memzero first: the parse scratch, a failed
 * parse, _load's read buffer and, in _fini, the array itself.  It does
 * not look at the file's permissions, log anything, or compare passwords
 * (the proxy does that when an ESME binds).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "afgw/common.h"
#include "afgw/log.h"
#include "afgw/smpp_proxy.h"

/* A system_id too long to keep is quoted up to this many bytes. */
#define QUOTE_MAX 32

/* An account being parsed and its line, for the duplicate message. */
struct entry {
	struct afgw_smpp_account a;
	size_t line;
};


/* memcmp order over the common bytes; on a tie the shorter id first. */
static int cmp_id(const char *p, size_t plen, const char *q, size_t qlen)
{
	int c = memcmp(p, q, plen < qlen ? plen : qlen);
	if (c)
		return c;
	return plen < qlen ? -1 : plen > qlen;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	int c = cmp_id(a->a.system_id, strlen(a->a.system_id), b->a.system_id,
		       strlen(b->a.system_id));
	if (c)
		return c;
	return a->line < b->line ? -1 : a->line > b->line;
}

/*
 * Sort e[0..n) by system_id, then line.  If a system_id repeats, report
 * the repeat a reader going down the file meets first (the smallest
 * second line of any group) and return -EINVAL; else 0.
 */
static int sort_check_repeats(struct entry *e, size_t n, const char *name, char *err,
			      size_t errlen)
{
	size_t first = 0, second = 0;
	bool found = false;

	if (n > 1)
		qsort(e, n, sizeof(*e), cmp_entry);
	for (size_t i = 0; i + 1 < n;) {
		size_t j = i + 1;
		if (!strcmp(e[i].a.system_id, e[j].a.system_id) &&
		    (!found || e[j].line < e[second].line)) {
			found = true;
			first = i;
			second = j;
		}
		while (j < n && !strcmp(e[i].a.system_id, e[j].a.system_id))
			j++;
		i = j;
	}
	if (!found)
		return 0;
	return afgw_errf(err, errlen, -EINVAL, "%s:%zu: duplicate system_id '%s' (first on line %zu)",
		    name, e[second].line, e[second].a.system_id, e[first].line);
}

/* A system_id field (what: its name in messages) into dst. */
static int take_id(char dst[AFGW_SMPP_SYSTEM_ID_MAX + 1], struct afgw_str f, const char *what,
		   const char *name, size_t line, char *err, size_t errlen)
{
	if (f.len > AFGW_SMPP_SYSTEM_ID_MAX)
		return afgw_errf(err, errlen, -EINVAL, "%s:%zu: %s '%.*s%s' is longer than %d bytes",
			    name, line, what, (int)(f.len < QUOTE_MAX ? f.len : QUOTE_MAX), f.p,
			    f.len > QUOTE_MAX ? "..." : "", AFGW_SMPP_SYSTEM_ID_MAX);
	if (afgw_str_eq(f, "-"))
		return afgw_errf(err, errlen, -EINVAL, "%s:%zu: %s cannot be '-' (an empty password)",
			    name, line, what);
	memcpy(dst, f.p, f.len);
	dst[f.len] = '\0';
	return 0;
}

/* A password field into dst, "-" for the empty one.  Never quoted. */
static int take_password(char dst[AFGW_SMPP_PASSWORD_MAX + 1], struct afgw_str f,
			 const char *what, const char *name, size_t line, char *err, size_t errlen)
{
	if (afgw_str_eq(f, "-")) {
		dst[0] = '\0';
		return 0;
	}
	if (f.len > AFGW_SMPP_PASSWORD_MAX)
		return afgw_errf(err, errlen, -EINVAL, "%s:%zu: %s is longer than %d bytes", name, line,
			    what, AFGW_SMPP_PASSWORD_MAX);
	memcpy(dst, f.p, f.len);
	dst[f.len] = '\0';
	return 0;
}

/*
 * One line, [p, end) without its '\n'.  Returns 1 with the account in
 * *out, 0 for a blank or comment line, -EINVAL with the message in err.
 * *out may hold part of a password either way: the caller wipes it.
 */
static int parse_line(const char *p, const char *end, struct afgw_smpp_account *out,
		      const char *name, size_t line, char *err, size_t errlen)
{
	struct afgw_str f[4];
	size_t nf = 0;
	int rc;

	if (end > p && end[-1] == '\r')
		end--;
	/* Bytes first, over the whole line: a comment is no place for them
	 * either, and nothing below has to think about them. */
	for (const char *q = p; q < end; q++) {
		unsigned char c = (unsigned char)*q;
		if (c == 0)
			return afgw_errf(err, errlen, -EINVAL, "%s:%zu: NUL byte", name, line);
		if (c >= 0x80)
			return afgw_errf(err, errlen, -EINVAL, "%s:%zu: non-ASCII byte", name, line);
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return afgw_errf(err, errlen, -EINVAL, "%s:%zu: control character", name, line);
	}
	while (p < end) {
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		if (*p == '#')
			break;
		const char *s = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (nf < 4)
			f[nf] = afgw_str_make(s, (size_t)(p - s));
		nf++;
	}
	if (nf == 0)
		return 0;
	if (nf != 2 && nf != 4)
		return afgw_errf(err, errlen, -EINVAL,
			    "%s:%zu: expected 2 or 4 fields (system_id password "
			    "[upstream_system_id upstream_password]), found %zu",
			    name, line, nf);

	memset(out, 0, sizeof(*out));
	rc = take_id(out->system_id, f[0], "system_id", name, line, err, errlen);
	if (!rc)
		rc = take_password(out->password, f[1], "password", name, line, err, errlen);
	if (!rc && nf == 4) {
		out->has_upstream = true;
		rc = take_id(out->up_system_id, f[2], "upstream_system_id", name, line, err,
			     errlen);
		if (!rc)
			rc = take_password(out->up_password, f[3], "upstream_password", name,
					   line, err, errlen);
	}
	return rc ? rc : 1;
}

/*
 * Parse the accounts file in buf (len bytes, any content).  acc is output
 * only (not fini'd first): on success it owns a new array (NULL when the
 * file has no account), on failure it is {NULL, 0}.  Returns 0, -EINVAL
 * with the first error in file order, or -ENOMEM; err is "" on success.
 * Any thread; nothing shared.
 *
 * Entries go into one array of at most one entry per line (capped at
 * AFGW_SMPP_ACCOUNTS_MAX), so nothing is realloc'd and no copy of a
 * password is left behind in a freed block.  Repeats are found by sorting,
 * once, at the end or at the first other error: a repeat found then lies
 * on an earlier line than that error, and is the one reported.
 */
int afgw_smpp_accounts_parse(struct afgw_smpp_accounts *acc, const char *name, const char *buf,
			     size_t len, char *err, size_t errlen)
{
	struct afgw_smpp_account tmp;
	struct afgw_smpp_account *a = NULL;
	struct entry *e = NULL;
	size_t cap = 1, n = 0, line = 0;
	int rc = 0;

	acc->a = NULL;
	acc->n = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!name)
		name = "accounts";
	if (!buf || len == 0)
		return 0;

	const char *p = buf, *end = buf + len;
	for (const char *q = buf; cap < AFGW_SMPP_ACCOUNTS_MAX;) {
		q = memchr(q, '\n', (size_t)(end - q));
		if (!q)
			break;
		cap++;
		q++;
	}
	e = calloc(cap, sizeof(*e));
	if (!e)
		return afgw_errf(err, errlen, -ENOMEM, "%s: out of memory", name);

	memset(&tmp, 0, sizeof(tmp));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		line++;
		rc = parse_line(p, le, &tmp, name, line, err, errlen);
		if (rc < 0)
			break;
		if (rc == 1) {
			/* n < cap holds unless n reached the maximum: there are
			 * at least as many lines as accounts. */
			if (n >= AFGW_SMPP_ACCOUNTS_MAX || n >= cap) {
				rc = afgw_errf(err, errlen, -EINVAL, "%s:%zu: more than %d accounts",
					  name, line, AFGW_SMPP_ACCOUNTS_MAX);
				break;
			}
			e[n].a = tmp;
			e[n].line = line;
			n++;
		}
		rc = 0;
		p = nl ? nl + 1 : end;
	}
	sodium_memzero(&tmp, sizeof(tmp));

	/* On success the sort is the one the result needs; on an error it
	 * finds a repeat on an earlier line, which replaces the message. */
	if (sort_check_repeats(e, n, name, err, errlen) < 0)
		rc = -EINVAL;
	if (rc < 0)
		goto fail;
	if (n) {
		a = calloc(n, sizeof(*a));
		if (!a) {
			rc = afgw_errf(err, errlen, -ENOMEM, "%s: out of memory", name);
			goto fail;
		}
		for (size_t i = 0; i < n; i++)
			a[i] = e[i].a;
	}
	sodium_memzero(e, cap * sizeof(*e));
	free(e);
	acc->a = a;
	acc->n = n;
	return 0;
fail:
	sodium_memzero(e, cap * sizeof(*e));
	free(e);
	return rc;
}

/*
 * Read path whole (open / fstat / read, at most AFGW_SMPP_ACCOUNTS_FILE_MAX
 * bytes, checked on the size and again while reading, for a pipe or a file
 * that grows) and parse it, with path as the name in messages.  Returns as
 * _parse, or -errno with "PATH: strerror" when the file cannot be read and
 * -EFBIG with "PATH: larger than 4 MiB".  The read buffer is wiped.
 */
int afgw_smpp_accounts_load(struct afgw_smpp_accounts *acc, const char *path, char *err,
			    size_t errlen)
{
	const size_t max = AFGW_SMPP_ACCOUNTS_FILE_MAX;
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int rc;

	acc->a = NULL;
	acc->n = 0;
	if (err && errlen)
		err[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = -errno;
		goto fail_errno;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max)
		goto too_large;
	/* Room for one byte past the limit: reading it tells too large. */
	buf = malloc(max + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto fail_errno;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, max + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno; /* EISDIR for a directory */
			goto fail_errno;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max)
			goto too_large;
	}
	rc = afgw_smpp_accounts_parse(acc, path, buf, len, err, errlen);
	goto out;
too_large:
	rc = afgw_errf(err, errlen, -EFBIG, "%s: larger than %zu MiB", path, max >> 20);
	goto out;
fail_errno:
	afgw_errf(err, errlen, rc, "%s: %s", path, strerror(-rc));
out:
	if (buf) {
		sodium_memzero(buf, len);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Binary search; ids are at most 15 bytes, so a longer len finds nothing. */
const struct afgw_smpp_account *afgw_smpp_accounts_find(const struct afgw_smpp_accounts *acc,
							 const char *system_id, size_t len)
{
	if (!acc || !acc->a || !system_id || len == 0 || len > AFGW_SMPP_SYSTEM_ID_MAX)
		return NULL;
	size_t lo = 0, hi = acc->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *id = acc->a[mid].system_id;
		int c = cmp_id(system_id, len, id, strlen(id));
		if (c == 0)
			return &acc->a[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void afgw_smpp_accounts_fini(struct afgw_smpp_accounts *acc)
{
	if (!acc)
		return;
	if (acc->a) {
		sodium_memzero(acc->a, acc->n * sizeof(*acc->a));
		free(acc->a);
	}
	acc->a = NULL;
	acc->n = 0;
}
