/*
 * fuzz_smpp_accounts.c - arbitrary bytes as the smpp-proxy's accounts file.
 *
 * The input goes to afgw_smpp_accounts_parse.  Besides crashes, leaks and
 * undefined behaviour, it checks the contract.  A failure returns -EINVAL
 * or -ENOMEM, leaves {NULL, 0} and one message line "fuzz.acc:LINE: ..."
 * whose LINE is a line of the input.  A success gives accounts within the
 * limits (ids 1..15 and passwords 0..8 printable ASCII bytes, no "-" id,
 * no upstream pair without has_upstream), strictly sorted in memcmp order,
 * each found by _find at its own address and not by a one-byte-shorter or
 * one-byte-longer slice; and the accounts written back as a file parse to
 * exactly the same array.  fini is safe twice.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afgw/smpp_proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* len bytes at p, all printable ASCII without space, NUL-terminated at len. */
static bool printable(const char *p, size_t cap, size_t min, size_t max)
{
	size_t len = strnlen(p, cap);
	if (len == cap || len < min || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return false;
	return true;
}

static void check_account(const struct afgw_smpp_accounts *acc, size_t i)
{
	const struct afgw_smpp_account *a = &acc->a[i];
	if (!printable(a->system_id, sizeof(a->system_id), 1, AFGW_SMPP_SYSTEM_ID_MAX) ||
	    !strcmp(a->system_id, "-") ||
	    !printable(a->password, sizeof(a->password), 0, AFGW_SMPP_PASSWORD_MAX))
		abort();
	if (a->has_upstream) {
		if (!printable(a->up_system_id, sizeof(a->up_system_id), 1,
			       AFGW_SMPP_SYSTEM_ID_MAX) ||
		    !strcmp(a->up_system_id, "-") ||
		    !printable(a->up_password, sizeof(a->up_password), 0, AFGW_SMPP_PASSWORD_MAX))
			abort();
	} else if (a->up_system_id[0] || a->up_password[0]) {
		abort();
	}
	/* strictly ascending, memcmp order, shorter first on a common prefix */
	if (i) {
		const char *p = acc->a[i - 1].system_id, *q = a->system_id;
		size_t pl = strlen(p), ql = strlen(q);
		int c = memcmp(p, q, pl < ql ? pl : ql);
		if (c > 0 || (c == 0 && pl >= ql))
			abort();
	}
	size_t len = strlen(a->system_id);
	char id[AFGW_SMPP_SYSTEM_ID_MAX + 2];
	memcpy(id, a->system_id, len);
	id[len] = '!';
	id[len + 1] = '\0';
	if (afgw_smpp_accounts_find(acc, id, len) != a)
		abort();
	/* an id plus one byte is either absent or another account */
	const struct afgw_smpp_account *b = afgw_smpp_accounts_find(acc, id, len + 1);
	if (b == a || (b && strcmp(b->system_id, id)))
		abort();
	b = afgw_smpp_accounts_find(acc, id, len - 1);
	if (b == a || (b && (strlen(b->system_id) != len - 1 || memcmp(b->system_id, id, len - 1))))
		abort();
}

/* Write acc back in the file syntax ("-" for an empty password). */
static size_t unparse(const struct afgw_smpp_accounts *acc, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < acc->n; i++) {
		const struct afgw_smpp_account *a = &acc->a[i];
		int w;
		if (a->has_upstream)
			w = snprintf(out + n, cap - n, "%s\t%s %s %s\r\n", a->system_id,
				     a->password[0] ? a->password : "-", a->up_system_id,
				     a->up_password[0] ? a->up_password : "-");
		else
			w = snprintf(out + n, cap - n, " %s %s # %zu\n", a->system_id,
				     a->password[0] ? a->password : "-", i);
		if (w < 0 || (size_t)w >= cap - n)
			abort();
		n += (size_t)w;
	}
	return n;
}

static void check_roundtrip(const struct afgw_smpp_accounts *acc)
{
	/* at most 15 + 8 + 15 + 8 + 6 bytes a line */
	size_t cap = acc->n * 64 + 1;
	char *text = malloc(cap);
	if (!text)
		abort();
	size_t len = unparse(acc, text, cap);
	struct afgw_smpp_accounts again;
	char err[256];
	if (afgw_smpp_accounts_parse(&again, "again.acc", text, len, err, sizeof(err)) != 0 ||
	    again.n != acc->n ||
	    (acc->n && memcmp(again.a, acc->a, acc->n * sizeof(*acc->a))))
		abort();
	afgw_smpp_accounts_fini(&again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct afgw_smpp_accounts acc;
	char err[256];
	int rc = afgw_smpp_accounts_parse(&acc, "fuzz.acc", (const char *)data, size, err,
					  sizeof(err));
	if (rc == 0) {
		if (err[0] || acc.n > AFGW_SMPP_ACCOUNTS_MAX || !acc.n != !acc.a)
			abort();
		for (size_t i = 0; i < acc.n; i++)
			check_account(&acc, i);
		check_roundtrip(&acc);
	} else {
		if (rc != -EINVAL && rc != -ENOMEM)
			abort();
		if (acc.a || acc.n || strchr(err, '\n'))
			abort();
		if (rc == -EINVAL) {
			/* "fuzz.acc:LINE: " with 1 <= LINE <= the lines of the input */
			size_t lines = 1;
			for (size_t i = 0; i + 1 < size; i++)
				lines += data[i] == '\n';
			char *end;
			if (strncmp(err, "fuzz.acc:", 9))
				abort();
			unsigned long long line = strtoull(err + 9, &end, 10);
			if (end == err + 9 || strncmp(end, ": ", 2) || line < 1 || line > lines)
				abort();
		}
	}
	afgw_smpp_accounts_fini(&acc);
	afgw_smpp_accounts_fini(&acc);
	return 0;
}
