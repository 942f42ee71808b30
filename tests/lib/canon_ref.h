/*
 * canon_ref.h: DKIM body canonicalization (RFC 6376 3.4.3, 3.4.4) written
 * the plain way, one whole body at a time, for comparing with the streaming
 * one (common/checks/dkim_canon.c): the unit test (tests/unit/test_dkim.c)
 * and the fuzz target (tests/fuzz/fuzz_dkim_body.c) include it.
 *
 * The body is cut into lines at CRLF (a bare CR or LF is an ordinary
 * byte), the last piece a line of its own when not empty; relaxed makes
 * each WSP run one SP and drops it at a line's end; empty lines at the end
 * go; each line then ends in CRLF, and an empty simple body is one CRLF.
 * out has room for 2 * len + 2 bytes. Returns the length.
 */
#ifndef SC_CANON_REF_H
#define SC_CANON_REF_H

#include <stddef.h>
#include <string.h>

#include "dkim_canon.h"

static inline size_t
canon_reference(enum dkim_canon c, const char *in, size_t len, char *out)
{
	size_t n = 0, kept = 0, i = 0;

	while (i < len) {
		size_t start = n, eol = i;
		int crlf;

		while (eol < len && !(in[eol] == '\r' && eol + 1 < len && in[eol + 1] == '\n'))
			eol++;
		crlf = eol < len;
		for (size_t k = i; k < eol; k++) {
			int wsp = in[k] == ' ' || in[k] == '\t';

			if (c == CANON_SIMPLE || !wsp) {
				out[n++] = in[k];
				continue;
			}
			while (k + 1 < eol && (in[k + 1] == ' ' || in[k + 1] == '\t'))
				k++;
			if (k + 1 < eol)
				out[n++] = ' ';		/* not at the line's end */
		}
		out[n++] = '\r';
		out[n++] = '\n';
		if (n - start > 2)
			kept = n;	/* a line with content: the lines up to here stay */
		i = crlf ? eol + 2 : eol;
	}
	if (kept == 0 && c == CANON_SIMPLE) {
		memcpy(out, "\r\n", 2);
		return 2;
	}
	return kept;
}

#endif
