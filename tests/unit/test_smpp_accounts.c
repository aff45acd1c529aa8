/*
 * test_smpp_accounts.c - the smpp-proxy's accounts file: both line forms,
 * comments (and a '#' inside a field), CRLF, "-" passwords, the order of
 * the result and every lookup around it (a prefix of an id, an id one
 * byte longer, a slice without NUL, more than 15 bytes), the limits
 * (15-byte ids, 8-byte passwords, 65536 accounts), every error with its
 * exact "t.acc:LINE: message", which error wins when there are several,
 * passwords never showing in a message, a truncated message, _load on
 * real files in a mkdtemp directory (removed at the end) and fini of a
 * zeroed struct.  A failed parse must leave {NULL, 0} and nothing
 * allocated (the ASan build checks the "nothing allocated").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afgw/smpp_proxy.h"
#include "check.h"

#define ERRLEN 256

static char dir[64];

static int parse_n(struct afgw_smpp_accounts *acc, const char *text, size_t len, char *err)
{
	return afgw_smpp_accounts_parse(acc, "t.acc", text, len, err, ERRLEN);
}

static int parse(struct afgw_smpp_accounts *acc, const char *text, char *err)
{
	return parse_n(acc, text, strlen(text), err);
}

/* text (len bytes) must fail with exactly message want and leave {NULL, 0}. */
static void expect_error_at(int line, const char *text, size_t len, const char *want)
{
	/* garbage in acc: the parse must overwrite it */
	struct afgw_smpp_account junk;
	struct afgw_smpp_accounts acc = { &junk, 7 };
	char err[ERRLEN];
	int rc = parse_n(&acc, text, len, err);
	if (rc != -EINVAL || strcmp(err, want)) {
		fprintf(stderr, "test_smpp_accounts.c:%d: rc %d, message\n  got:  %s\n  want: %s\n",
			line, rc, err, want);
		check_failed++;
	} else {
		check_passed++;
	}
	CHECK(acc.a == NULL);
	CHECK_INT(acc.n, 0);
	if (acc.a != &junk)
		afgw_smpp_accounts_fini(&acc);
}
#define expect_error(text, want) expect_error_at(__LINE__, text, strlen(text), want)
/* For texts with a NUL byte: the length of the literal. */
#define expect_error_lit(lit, want) expect_error_at(__LINE__, lit, sizeof(lit) - 1, want)

static const struct afgw_smpp_account *find(const struct afgw_smpp_accounts *acc,
					    const char *id)
{
	return afgw_smpp_accounts_find(acc, id, strlen(id));
}

/* Strictly ascending (no repeats), as one check. */
static void check_sorted(const struct afgw_smpp_accounts *acc)
{
	size_t bad = 0;
	for (size_t i = 1; i < acc->n; i++)
		bad += strcmp(acc->a[i - 1].system_id, acc->a[i].system_id) >= 0;
	CHECK_INT(bad, 0);
}

static void test_valid(void)
{
	static const char text[] =
		"# system_id  password  [upstream_system_id  upstream_password]\n"
		"bank1   s3cret\n"
		"\n"
		"   \t  # an indented comment\n"
		"shop2\tpw2\tSHOP2-UP  uppw   # a comment after the fields\n"
		"crlf\tcr-pw\r\n"
		"nopw - \r\n"
		"\r\n"
		"both - UP -\n"
		"hash pa#ss # a '#' inside a field is part of it\n"
		"max15_xxxxxxxxx 12345678 UP_15xxxxxxxxxx 87654321\n"
		"last lastpw"; /* no final newline */
	struct afgw_smpp_accounts acc;
	char err[ERRLEN];
	const struct afgw_smpp_account *a;

	CHECK_INT(parse(&acc, text, err), 0);
	CHECK_CSTR(err, "");
	CHECK_INT(acc.n, 8);
	CHECK(acc.a != NULL);
	check_sorted(&acc);
	/* memcmp order: 'a' < 'o' in bank1 / both, then c h l m n s */
	static const char *const order[] = { "bank1", "both", "crlf", "hash",
					     "last",  "max15_xxxxxxxxx", "nopw", "shop2" };
	for (size_t i = 0; i < 8 && i < acc.n; i++) {
		CHECK_CSTR(acc.a[i].system_id, order[i]);
		CHECK(find(&acc, order[i]) == &acc.a[i]);
	}

	a = find(&acc, "bank1");
	CHECK(a && !strcmp(a->password, "s3cret") && !a->has_upstream && !a->up_system_id[0] &&
	      !a->up_password[0]);
	a = find(&acc, "shop2");
	CHECK(a && !strcmp(a->password, "pw2") && a->has_upstream &&
	      !strcmp(a->up_system_id, "SHOP2-UP") && !strcmp(a->up_password, "uppw"));
	a = find(&acc, "crlf"); /* the '\r' is not part of the password */
	CHECK(a && !strcmp(a->password, "cr-pw") && !a->has_upstream);
	a = find(&acc, "nopw");
	CHECK(a && !strcmp(a->password, "") && !a->has_upstream);
	a = find(&acc, "both"); /* "-" for both passwords */
	CHECK(a && !strcmp(a->password, "") && a->has_upstream && !strcmp(a->up_system_id, "UP") &&
	      !strcmp(a->up_password, ""));
	a = find(&acc, "hash");
	CHECK(a && !strcmp(a->password, "pa#ss"));
	a = find(&acc, "max15_xxxxxxxxx"); /* every field at its limit */
	CHECK(a && !strcmp(a->password, "12345678") && !strcmp(a->up_system_id, "UP_15xxxxxxxxxx") &&
	      !strcmp(a->up_password, "87654321"));
	a = find(&acc, "last");
	CHECK(a && !strcmp(a->password, "lastpw"));

	/* misses */
	CHECK(find(&acc, "bank") == NULL);   /* a prefix of an id */
	CHECK(find(&acc, "bank12") == NULL); /* an id plus one byte */
	CHECK(find(&acc, "BANK1") == NULL);  /* ids are case-sensitive */
	CHECK(find(&acc, "a") == NULL);      /* before the first */
	CHECK(find(&acc, "zzz") == NULL);    /* after the last */
	CHECK(find(&acc, "max15_xxxxxxxxxx") == NULL); /* 16 bytes */
	CHECK(find(&acc, "max15_xxxxxxxxx_and_then_some_more") == NULL);
	CHECK(afgw_smpp_accounts_find(&acc, "bank1", 0) == NULL);
	CHECK(afgw_smpp_accounts_find(&acc, NULL, 0) == NULL);
	CHECK(afgw_smpp_accounts_find(NULL, "bank1", 5) == NULL);
	/* a C-Octet String's NUL is not part of the id */
	CHECK(afgw_smpp_accounts_find(&acc, "bank1\0", 6) == NULL);
	/* a slice of a longer buffer, not NUL-terminated */
	CHECK(afgw_smpp_accounts_find(&acc, "bank1xyz", 5) == find(&acc, "bank1"));
	CHECK(afgw_smpp_accounts_find(&acc, "shop2", 4) == NULL);

	afgw_smpp_accounts_fini(&acc);
	CHECK(acc.a == NULL);
	CHECK_INT(acc.n, 0);
}

/* memcmp order, shorter first on a common prefix; uppercase before lower. */
static void test_order(void)
{
	static const char text[] = "ab 1\na 2\nabc 3\nB 4\na~ 5\nA 6\n!x 7\n~ 8\n";
	static const char *const order[] = { "!x", "A", "B", "a", "ab", "abc", "a~", "~" };
	static const char *const pw[] = { "7", "6", "4", "2", "1", "3", "5", "8" };
	struct afgw_smpp_accounts acc;
	char err[ERRLEN];

	CHECK_INT(parse(&acc, text, err), 0);
	CHECK_INT(acc.n, 8);
	for (size_t i = 0; i < 8 && i < acc.n; i++) {
		CHECK_CSTR(acc.a[i].system_id, order[i]);
		CHECK_CSTR(acc.a[i].password, pw[i]);
		CHECK(find(&acc, order[i]) == &acc.a[i]);
	}
	CHECK(find(&acc, "abcd") == NULL);
	CHECK(find(&acc, "aa") == NULL);
	afgw_smpp_accounts_fini(&acc);
}

static void test_empty(void)
{
	struct afgw_smpp_accounts acc;
	char err[ERRLEN];
	static const char *const texts[] = {
		"", "\n", "\n\n\r\n", "# only a comment", "  # indented\n\t\n#\n", " \t ",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		err[0] = 'x';
		err[1] = '\0';
		CHECK_INT(parse(&acc, texts[i], err), 0);
		CHECK_CSTR(err, "");
		CHECK(acc.a == NULL);
		CHECK_INT(acc.n, 0);
		CHECK(find(&acc, "a") == NULL);
		afgw_smpp_accounts_fini(&acc);
	}
	CHECK_INT(afgw_smpp_accounts_parse(&acc, "t.acc", NULL, 0, err, sizeof(err)), 0);
	CHECK(acc.a == NULL && acc.n == 0);
}

static void test_errors(void)
{
	/* fields */
	expect_error("bank1\n", "t.acc:1: expected 2 or 4 fields (system_id password "
				"[upstream_system_id upstream_password]), found 1");
	expect_error("a b\n# c\nbank1 pw extra\n",
		     "t.acc:3: expected 2 or 4 fields (system_id password "
		     "[upstream_system_id upstream_password]), found 3");
	expect_error("a b c d e", "t.acc:1: expected 2 or 4 fields (system_id password "
				  "[upstream_system_id upstream_password]), found 5");
	/* a '#' that begins a field begins a comment, even where a password goes */
	expect_error("bank1 #pw\n", "t.acc:1: expected 2 or 4 fields (system_id password "
				    "[upstream_system_id upstream_password]), found 1");
	expect_error("a b UP #x\n", "t.acc:1: expected 2 or 4 fields (system_id password "
				    "[upstream_system_id upstream_password]), found 3");

	/* lengths: 15 / 8 pass (test_valid), 16 / 9 do not */
	expect_error("ok pw\nabcdefghijklmnop pw\n",
		     "t.acc:2: system_id 'abcdefghijklmnop' is longer than 15 bytes");
	expect_error("abcdefghijklmnopqrstuvwxyz0123456789 pw\n",
		     "t.acc:1: system_id 'abcdefghijklmnopqrstuvwxyz012345...' is longer than "
		     "15 bytes");
	expect_error("a 123456789\n", "t.acc:1: password is longer than 8 bytes");
	expect_error("a - abcdefghijklmnop -\n",
		     "t.acc:1: upstream_system_id 'abcdefghijklmnop' is longer than 15 bytes");
	expect_error("a - UP 123456789\n", "t.acc:1: upstream_password is longer than 8 bytes");
	/* "-" is a password, not a system_id */
	expect_error("- pw\n", "t.acc:1: system_id cannot be '-' (an empty password)");
	expect_error("a pw - x\n", "t.acc:1: upstream_system_id cannot be '-' (an empty password)");
	/* the first bad field of a line is the one reported */
	expect_error("abcdefghijklmnop 123456789\n",
		     "t.acc:1: system_id 'abcdefghijklmnop' is longer than 15 bytes");

	/* bytes, anywhere in a line, comments included */
	expect_error_lit("a b\nc p\0w\n", "t.acc:2: NUL byte");
	expect_error_lit("a b # \0\n", "t.acc:1: NUL byte");
	expect_error_lit("\0", "t.acc:1: NUL byte");
	expect_error("a \xe5\xaf\x86\xe7\xa0\x81\n", "t.acc:1: non-ASCII byte"); /* 密码 */
	expect_error("a b\n# \xe6\xb3\xa8\xe9\x87\x8a\n", "t.acc:2: non-ASCII byte"); /* # 注释 */
	expect_error("a p\x80w\n", "t.acc:1: non-ASCII byte"); /* the bounds of the ranges */
	expect_error("a p\xffw\n", "t.acc:1: non-ASCII byte");
	expect_error("a p\x1fw\n", "t.acc:1: control character");
	expect_error("a p\x01w\n", "t.acc:1: control character");
	expect_error("a p\x7fw\n", "t.acc:1: control character");
	expect_error("a\vb\n", "t.acc:1: control character");   /* not a separator */
	expect_error("a\fb\n", "t.acc:1: control character");
	expect_error("a p\rw\n", "t.acc:1: control character"); /* '\r' only at the end */
	expect_error("a b\r\r\n", "t.acc:1: control character");
	expect_error("a b\n\x1b[0m\n", "t.acc:2: control character");

	/* repeats: on the second line, naming the first */
	expect_error("a x\nb y\n\na z\n", "t.acc:4: duplicate system_id 'a' (first on line 1)");
	expect_error("a 1\na 2\na 3\n", "t.acc:2: duplicate system_id 'a' (first on line 1)");
	/* two repeated ids: the repeat met first going down the file */
	expect_error("b 1\na 1\nc 1\nb 2\na 2\n",
		     "t.acc:4: duplicate system_id 'b' (first on line 1)");
	expect_error("b 1\na 1\nc 1\na 2\nb 2\n",
		     "t.acc:4: duplicate system_id 'a' (first on line 2)");
	/* the 2- and 4-field forms share the system_id namespace */
	expect_error("x - UP pw\nx pw\n", "t.acc:2: duplicate system_id 'x' (first on line 1)");
	/* a repeat before another error wins, one after it does not */
	expect_error("a 1\nb 1\na 2\nc\n", "t.acc:3: duplicate system_id 'a' (first on line 1)");
	expect_error("a 1\nc\na 2\n",
		     "t.acc:2: expected 2 or 4 fields (system_id password "
		     "[upstream_system_id upstream_password]), found 1");
}

/* Ids differing only in case are different ids. */
static void test_case(void)
{
	struct afgw_smpp_accounts acc;
	char err[ERRLEN];
	CHECK_INT(parse(&acc, "a 1\nA 2\n", err), 0);
	CHECK_INT(acc.n, 2);
	CHECK(find(&acc, "a") && !strcmp(find(&acc, "a")->password, "1"));
	CHECK(find(&acc, "A") && !strcmp(find(&acc, "A")->password, "2"));
	afgw_smpp_accounts_fini(&acc);
}

/* A message never carries a password, whatever is wrong with the line. */
static void test_no_secret(void)
{
	static const struct {
		const char *text;
		size_t len;
	} bad[] = {
#define T(lit) { lit, sizeof(lit) - 1 }
		T("bank1 Zq9Wzzzzz\n"),               /* too long */
		T("bank1 Zq9W extra\n"),              /* 3 fields */
		T("bank1 Zq9W UP Zq9Wy z\n"),         /* 5 fields */
		T("bank1 Zq9W\0\n"),                  /* NUL */
		T("bank1 Zq9W\xe9\n"),                /* non-ASCII */
		T("bank1 Zq9W\x01\n"),                /* control */
		T("bank1 Zq9W UP Zq9Wzzzzz\n"),       /* upstream too long */
		T("bank1 Zq9W abcdefghijklmnop Zq9W\n"), /* bad upstream id */
		T("bank1 Zq9W - Zq9W\n"),             /* "-" as upstream id */
		T("bank1 Zq9W\nbank1 Zq9W\n"),        /* repeat */
		T("- Zq9W\n"),                        /* "-" as id */
#undef T
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct afgw_smpp_accounts acc;
		char err[ERRLEN];
		err[0] = '\0';
		CHECK_INT(parse_n(&acc, bad[i].text, bad[i].len, err), -EINVAL);
		CHECK(!strncmp(err, "t.acc:", 6));
		if (strstr(err, "Zq9W")) {
			fprintf(stderr, "test_smpp_accounts.c: case %zu quotes a password: %s\n", i,
				err);
			check_failed++;
		} else {
			check_passed++;
		}
		CHECK(acc.a == NULL && acc.n == 0);
	}
}

/* A short err buffer gets a truncated, terminated message; none at all is fine. */
static void test_errlen(void)
{
	struct afgw_smpp_accounts acc;
	char err[8];
	memset(err, 'x', sizeof(err));
	CHECK_INT(afgw_smpp_accounts_parse(&acc, "t.acc", "a b\nc\n", 6, err, sizeof(err)),
		  -EINVAL);
	CHECK_CSTR(err, "t.acc:2");
	err[0] = 'x';
	CHECK_INT(afgw_smpp_accounts_parse(&acc, "t.acc", "c\n", 2, err, 1), -EINVAL);
	CHECK_INT(err[0], '\0');
	CHECK_INT(afgw_smpp_accounts_parse(&acc, "t.acc", "c\n", 2, NULL, 0), -EINVAL);
	CHECK_INT(afgw_smpp_accounts_parse(&acc, "t.acc", "c 1\n", 4, NULL, 0), 0);
	CHECK_INT(acc.n, 1);
	afgw_smpp_accounts_fini(&acc);
}

/*
 * AFGW_SMPP_ACCOUNTS_MAX accounts, given in a scrambled order, all found;
 * one more is an error on its line.  Comment lines in between make the
 * line numbers differ from the account count.
 */
static void test_max(void)
{
	const size_t max = AFGW_SMPP_ACCOUNTS_MAX;
	/* "u12345 p12345\n" plus "#\n" after every 1000th: 14 + 2 bytes a line */
	size_t cap = (max + 1) * 16 + 64, len = 0, lines = 0;
	char *text = malloc(cap);
	struct afgw_smpp_accounts acc;
	char err[ERRLEN], want[ERRLEN], id[16];

	if (!text) {
		CHECK(!"malloc");
		return;
	}
	for (size_t i = 0; i < max; i++) {
		/* 7919 is odd, so i * 7919 mod 65536 is a permutation */
		unsigned k = (unsigned)((i * 7919u) % max);
		len += (size_t)snprintf(text + len, cap - len, "u%05u p%05u\n", k, k);
		lines++;
		if (i % 1000 == 999) {
			len += (size_t)snprintf(text + len, cap - len, "#\n");
			lines++;
		}
	}
	CHECK_INT(parse_n(&acc, text, len, err), 0);
	CHECK_CSTR(err, "");
	CHECK_INT(acc.n, max);
	check_sorted(&acc);
	size_t found = 0;
	for (unsigned k = 0; k < max; k++) {
		snprintf(id, sizeof(id), "u%05u", k);
		const struct afgw_smpp_account *a = find(&acc, id);
		if (a && !strcmp(a->system_id, id) && a->password[0] == 'p' &&
		    !strcmp(a->password + 1, id + 1))
			found++;
	}
	CHECK_INT(found, max);
	CHECK(find(&acc, "u65536") == NULL);
	afgw_smpp_accounts_fini(&acc);

	len += (size_t)snprintf(text + len, cap - len, "one more\n");
	lines++;
	snprintf(want, sizeof(want), "t.acc:%zu: more than %d accounts", lines,
		 AFGW_SMPP_ACCOUNTS_MAX);
	expect_error_at(__LINE__, text, len, want);
	/* a repeat among the first ones is on an earlier line: it wins */
	CHECK(!memcmp(text, "u00000 ", 7)); /* line 1; line 2 becomes its repeat */
	memcpy(text + 14, "u00000", 6);
	expect_error_at(__LINE__, text, len, "t.acc:2: duplicate system_id 'u00000' (first on line 1)");
	free(text);
}

static const char *path_in(const char *name)
{
	static char p[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static int spit(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int ok = write(fd, text, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

static void test_load(void)
{
	struct afgw_smpp_accounts acc;
	char err[ERRLEN], want[ERRLEN];
	const char *p;
	int rc;

	/* missing */
	p = path_in("missing.acc");
	CHECK_INT(afgw_smpp_accounts_load(&acc, p, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: %s", p, strerror(ENOENT));
	CHECK_CSTR(err, want);
	CHECK(acc.a == NULL && acc.n == 0);

	/* a good file */
	static const char good[] = "# ESMEs\r\nbank1 s3cret\r\nshop2 pw2 SHOP2-UP uppw\r\n";
	p = path_in("good.acc");
	CHECK_INT(spit(p, good, sizeof(good) - 1), 0);
	CHECK_INT(afgw_smpp_accounts_load(&acc, p, err, sizeof(err)), 0);
	CHECK_CSTR(err, "");
	CHECK_INT(acc.n, 2);
	const struct afgw_smpp_account *a = find(&acc, "shop2");
	CHECK(a && !strcmp(a->password, "pw2") && a->has_upstream &&
	      !strcmp(a->up_system_id, "SHOP2-UP") && !strcmp(a->up_password, "uppw"));
	a = find(&acc, "bank1");
	CHECK(a && !strcmp(a->password, "s3cret") && !a->has_upstream);
	afgw_smpp_accounts_fini(&acc);

	/* a bad one: the message is named by the path */
	p = path_in("bad.acc");
	CHECK_INT(spit(p, "a 1\nb\n", 6), 0);
	CHECK_INT(afgw_smpp_accounts_load(&acc, p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:2: expected 2 or 4 fields (system_id password "
		 "[upstream_system_id upstream_password]), found 1",
		 p);
	CHECK_CSTR(err, want);
	CHECK(acc.a == NULL && acc.n == 0);

	/* an empty one */
	p = path_in("empty.acc");
	CHECK_INT(spit(p, "", 0), 0);
	CHECK_INT(afgw_smpp_accounts_load(&acc, p, err, sizeof(err)), 0);
	CHECK(acc.a == NULL && acc.n == 0);

	/* a directory */
	CHECK_INT(afgw_smpp_accounts_load(&acc, dir, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: %s", dir, strerror(EISDIR));
	CHECK_CSTR(err, want);

	/* exactly the limit is read (4 MiB of newlines: no account) ... */
	size_t max = AFGW_SMPP_ACCOUNTS_FILE_MAX;
	char *big = malloc(max);
	if (big) {
		memset(big, '\n', max);
		p = path_in("limit.acc");
		CHECK_INT(spit(p, big, max), 0);
		rc = afgw_smpp_accounts_load(&acc, p, err, sizeof(err));
		CHECK_INT(rc, 0);
		CHECK_CSTR(err, "");
		CHECK(acc.a == NULL && acc.n == 0);
		unlink(p);
		free(big);
	} else {
		CHECK(!"malloc");
	}
	/* ... one byte more is refused before reading (a sparse file) */
	p = path_in("large.acc");
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)max + 1) == 0);
	if (fd >= 0)
		close(fd);
	CHECK_INT(afgw_smpp_accounts_load(&acc, p, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 4 MiB", p);
	CHECK_CSTR(err, want);
	CHECK(acc.a == NULL && acc.n == 0);
	/* ... and so is a stream without a size, once it passes the limit */
	if (access("/dev/zero", R_OK) == 0) {
		CHECK_INT(afgw_smpp_accounts_load(&acc, "/dev/zero", err, sizeof(err)), -EFBIG);
		CHECK_CSTR(err, "/dev/zero: larger than 4 MiB");
	}

	unlink(path_in("good.acc"));
	unlink(path_in("bad.acc"));
	unlink(path_in("empty.acc"));
	unlink(path_in("large.acc"));
}

static void test_fini(void)
{
	struct afgw_smpp_accounts acc = { NULL, 0 };
	afgw_smpp_accounts_fini(&acc);
	afgw_smpp_accounts_fini(&acc);
	CHECK(acc.a == NULL && acc.n == 0);
	afgw_smpp_accounts_fini(NULL);
	CHECK(afgw_smpp_accounts_find(&acc, "a", 1) == NULL);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/afgw-test-acc-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_valid();
	test_order();
	test_empty();
	test_errors();
	test_case();
	test_no_secret();
	test_errlen();
	test_max();
	test_load();
	test_fini();
	rmdir(dir);
	return check_report();
}
