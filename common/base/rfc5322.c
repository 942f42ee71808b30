/*
 * rfc5322: the RFC 5322 lexer; see rfc5322.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rfc5322.h"

void
r5322_init(struct r5322_lexer *lx, const char *value, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->s = (const unsigned char *)value;
	lx->len = len;
}

int
r5322_fail(struct r5322_lexer *lx, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (lx->failed)
		return -1;
	lx->failed = 1;
	lx->err_pos = pos;
	va_start(ap, fmt);
	vsnprintf(lx->why, sizeof(lx->why), fmt, ap);
	va_end(ap);
	return -1;
}

int
r5322_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

int
r5322_is_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
is_special(unsigned char c)
{
	return c != '\0' && strchr("<>:;@,.", c) != NULL;
}

/* Length of a line break at i (CRLF, lone CR or lone LF), 0 if none. */
static size_t
linebreak_len(const struct r5322_lexer *lx, size_t i)
{
	if (i >= lx->len)
		return 0;
	if (lx->s[i] == '\r')
		return (i + 1 < lx->len && lx->s[i + 1] == '\n') ? 2 : 1;
	return lx->s[i] == '\n' ? 1 : 0;
}

/* Skips FWS from *i. A line break must be followed by WSP (or end the value). */
static int
skip_fws(struct r5322_lexer *lx, size_t *i)
{
	for (;;) {
		size_t lb;

		if (*i < lx->len && r5322_is_wsp(lx->s[*i])) {
			(*i)++;
		} else if ((lb = linebreak_len(lx, *i)) > 0) {
			if (*i + lb < lx->len && !r5322_is_wsp(lx->s[*i + lb]))
				return r5322_fail(lx, *i, "line break not followed by white space (not a fold)");
			*i += lb;
		} else {
			return 0;
		}
	}
}

/* A quoted-pair at *i (the backslash); NUL, CR and LF may not be quoted. */
static int
skip_quoted_pair(struct r5322_lexer *lx, size_t *i)
{
	unsigned char c;

	if (*i + 1 >= lx->len)
		return r5322_fail(lx, *i, "backslash at the end of the value");
	c = lx->s[*i + 1];
	if (c == '\0' || c == '\r' || c == '\n')
		return r5322_fail(lx, *i, "backslash before a NUL or line break");
	*i += 2;
	return 0;
}

/* Skips a comment starting at *i ('('), nested comments included. */
static int
skip_comment(struct r5322_lexer *lx, size_t *i)
{
	size_t open = *i, depth = 1;

	(*i)++;
	while (depth > 0) {
		unsigned char c;

		if (*i >= lx->len)
			return r5322_fail(lx, open, "unterminated comment");
		c = lx->s[*i];
		if (c == '(') {
			depth++;
			(*i)++;
		} else if (c == ')') {
			depth--;
			(*i)++;
		} else if (c == '\\') {
			if (skip_quoted_pair(lx, i) < 0)
				return -1;
		} else if (c == '\r' || c == '\n') {
			if (skip_fws(lx, i) < 0)
				return -1;
		} else if (c == '\0') {
			return r5322_fail(lx, *i, "NUL in comment");
		} else {
			(*i)++;
		}
	}
	return 0;
}

int
r5322_skip_cfws(struct r5322_lexer *lx)
{
	if (lx->failed)
		return -1;
	for (;;) {
		if (skip_fws(lx, &lx->pos) < 0)
			return -1;
		if (lx->pos < lx->len && lx->s[lx->pos] == '(') {
			if (skip_comment(lx, &lx->pos) < 0)
				return -1;
		} else {
			return 0;
		}
	}
}

/*
 * Scans a quoted string (close '"') or a domain literal (close ']') whose
 * opening character is at lx->pos; *end is past the closing one. Both take
 * quoted-pairs and folding; a literal also refuses '[' and non-ASCII.
 */
static int
scan_delimited(struct r5322_lexer *lx, unsigned char close, size_t *end)
{
	const char *what = close == '"' ? "quoted string" : "domain literal";
	size_t i = lx->pos + 1;

	for (;;) {
		unsigned char c;

		if (i >= lx->len)
			return r5322_fail(lx, lx->pos, "unterminated %s", what);
		c = lx->s[i];
		if (c == close) {
			*end = i + 1;
			return 0;
		}
		if (c == '\\') {
			if (skip_quoted_pair(lx, &i) < 0)
				return -1;
		} else if (c == '\r' || c == '\n') {
			if (skip_fws(lx, &i) < 0)
				return -1;
		} else if (c == '\0' && close == '"') {
			return r5322_fail(lx, i, "NUL in quoted string");
		} else if (close == ']' && (c == '[' || c == '\0' || c >= 0x80)) {
			return r5322_fail(lx, i, "octet 0x%02x not allowed in a domain literal", c);
		} else {
			i++;
		}
	}
}

int
r5322_next(struct r5322_lexer *lx, struct r5322_tok *t)
{
	unsigned char c;

	if (r5322_skip_cfws(lx) < 0)
		return -1;
	t->start = lx->pos;
	t->c = '\0';
	if (lx->pos >= lx->len) {
		t->type = R5322_END;
		t->end = lx->pos;
		return 0;
	}
	c = lx->s[lx->pos];
	if (r5322_is_atext(c)) {
		size_t i = lx->pos;

		while (i < lx->len && r5322_is_atext(lx->s[i]))
			i++;
		t->type = R5322_ATOM;
		t->end = i;
	} else if (c == '"') {
		t->type = R5322_QSTRING;
		if (scan_delimited(lx, '"', &t->end) < 0)
			return -1;
	} else if (c == '[') {
		t->type = R5322_DLIT;
		if (scan_delimited(lx, ']', &t->end) < 0)
			return -1;
	} else if (is_special(c)) {
		t->type = R5322_SPECIAL;
		t->c = (char)c;
		t->end = lx->pos + 1;
	} else if (c >= 0x21 && c < 0x7f) {
		return r5322_fail(lx, lx->pos, "unexpected '%c'", c);
	} else {
		return r5322_fail(lx, lx->pos, "unexpected octet 0x%02x", c);
	}
	lx->pos = t->end;
	return 0;
}

int
r5322_peek(struct r5322_lexer *lx, struct r5322_tok *t)
{
	size_t save = lx->pos;
	int rc = r5322_next(lx, t);

	lx->pos = save;
	return rc;
}

int
r5322_skip_cfws_lenient(const char *s, size_t len, size_t *pos)
{
	while (*pos < len) {
		char c = s[*pos];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			(*pos)++;
		} else if (c == '(') {
			size_t depth = 0;

			do {
				if (*pos >= len)
					return -1;
				c = s[(*pos)++];
				if (c == '\\' && *pos < len)
					(*pos)++;
				else if (c == '(')
					depth++;
				else if (c == ')')
					depth--;
			} while (depth > 0);
		} else {
			break;
		}
	}
	return 0;
}
