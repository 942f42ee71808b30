/*
 * rfc5322: the one lexer of RFC 5322 header values (section 3.2), for
 * every parser of structured fields (address lists, dates, List-Unsubscribe).
 *
 * A value is read as received: leading white space and CRLF folds
 * included, not NUL-terminated (a length is given). Two ways to pass
 * over comments and white space (CFWS):
 *
 * - strict (r5322_next and r5322_skip_cfws on a lexer), for the address
 *   parser: a line break must be a fold (followed by WSP, or end the
 *   value), NUL is refused, a backslash may not quote NUL, CR or LF, and
 *   comments nest. Tokens: atoms (RFC 5322 atext plus UTF-8 octets, RFC
 *   6532), quoted strings, domain literals, and the specials
 *   < > : ; @ , . as single characters. The first problem stops the lexer
 *   with its offset and a reason a person can read (r5322_fail).
 * - lenient (r5322_skip_cfws_lenient), for fields read as their readers
 *   read them: SP, HTAB, CR and LF anywhere, nested comments with
 *   quoted-pairs; only an unclosed comment is an error.
 *
 * Invariants: linear in the value, no recursion (comment nesting is a
 * counter), no allocation; token offsets are into the value as given.
 */
#ifndef SC_RFC5322_H
#define SC_RFC5322_H

#include <stddef.h>

enum r5322_type { R5322_END, R5322_ATOM, R5322_QSTRING, R5322_DLIT, R5322_SPECIAL };

struct r5322_tok {
	enum r5322_type type;
	size_t start, end;	/* [start, end) in the value; quotes and brackets included */
	char c;			/* the character of an R5322_SPECIAL */
};

struct r5322_lexer {
	const unsigned char *s;
	size_t len, pos;
	int failed;
	size_t err_pos;		/* when failed: the offset of the problem */
	char why[160];		/* and the reason */
};

void r5322_init(struct r5322_lexer *lx, const char *value, size_t len);

/* The next token after CFWS (R5322_END at the end); -1 when failed. */
int r5322_next(struct r5322_lexer *lx, struct r5322_tok *t);
/* The same without consuming it. */
int r5322_peek(struct r5322_lexer *lx, struct r5322_tok *t);
/* Skips CFWS at lx->pos; -1 when failed. */
int r5322_skip_cfws(struct r5322_lexer *lx);
/* Stops the lexer with a reason (the first one stays); returns -1. */
int r5322_fail(struct r5322_lexer *lx, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Skips white space (SP, HTAB, CR, LF) and comments from *pos; -1 on an
 * unclosed comment (*pos is then at the end). */
int r5322_skip_cfws_lenient(const char *s, size_t len, size_t *pos);

int r5322_is_wsp(unsigned char c);
/* RFC 5322 atext, plus octets over 127 (RFC 6532) */
int r5322_is_atext(unsigned char c);

#endif
