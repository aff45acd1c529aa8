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

/*
 * The text field of one line (id, label, category, lang, text; TAB
 * separated) decoded in place, its length in *len; NULL for a comment, a
 * blank line or a line with fewer fields.
 */
static inline char *corpus_text(char *line, size_t *len);

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

static inline char *corpus_text(char *line, size_t *len)
{
	if (line[0] == '#' || line[0] == '\n' || line[0] == '\0')
		return NULL;
	char *t = line;
	for (int k = 0; k < 4 && t; k++) {
		t = strchr(t, '\t');
		if (t)
			t++;
	}
	if (t)
		*len = corpus_unescape(t, strcspn(t, "\r\n"));
	return t;
}

#endif
