/*
 * corpus.h - the text field of the labelled SMS files (the .tsv files of
 * tests/data and rules/samples) for the unit tests that read them.
 *
 * A text is one line; newline, tab and backslash are written \n, \t and
 * \\ (tests/data/README.md), and no other backslash sequence occurs.
 */
#ifndef AFGW_TEST_CORPUS_H
#define AFGW_TEST_CORPUS_H

#include <stddef.h>
#include <string.h>

/* Decode the escapes of s[0..n) in place and NUL-terminate; returns the new length. */
static inline size_t corpus_unescape(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && strchr("nt\\", s[i + 1])) {
			char c = s[++i];
			s[o++] = c == 'n' ? '\n' : c == 't' ? '\t' : '\\';
		} else {
			s[o++] = s[i];
		}
	}
	s[o] = '\0';
	return o;
}

#endif
