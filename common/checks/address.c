/*
 * address: RFC 5322 address-list parser; see address.h for what it
 * accepts, its bounds and its errors.
 *
 * A small lexer turns the value into tokens (atom, quoted string, domain
 * literal, special) with CFWS skipped between them; the parser works on
 * the tokens with one token of look-ahead (saving and restoring the
 * lexer position). No token ever contains a comment, so copying a
 * token's octets (without the CR and LF of folds) gives its text.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "address.h"

enum tok_type { T_END, T_ATOM, T_QSTRING, T_DLIT, T_SPECIAL };

struct tok {
	enum tok_type type;
	size_t start, end;	/* [start, end) in the value */
	char c;			/* the character of a T_SPECIAL */
};

struct lexer {
	const unsigned char *s;
	size_t len, pos;
	struct addr_list *out;
	int failed;
};

/* A bounded output string: cap includes the NUL. */
struct obuf {
	char *p;
	size_t cap, len;
};

static int
fail(struct lexer *lx, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(struct lexer *lx, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (lx->failed)
		return -1;
	lx->failed = 1;
	lx->out->error_pos = pos;
	va_start(ap, fmt);
	vsnprintf(lx->out->why, sizeof(lx->out->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* A printable excerpt of [start, end) for messages: at most 40 octets. */
static const char *
excerpt(const struct lexer *lx, size_t start, size_t end, char *buf, size_t cap)
{
	size_t o = 0;

	for (size_t i = start; i < end && o + 4 < cap && o < 40; i++) {
		unsigned char c = lx->s[i];

		if (c == '\r' || c == '\n')
			continue;
		buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (end - start > 40 && o + 4 < cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 5322 atext, plus UTF-8 octets (RFC 6532). */
static int
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
is_special_char(unsigned char c)
{
	return c != '\0' && strchr("<>:;@,.", c) != NULL;
}

/* Length of a line break at i (CRLF, lone CR or lone LF), 0 if none. */
static size_t
linebreak_len(const struct lexer *lx, size_t i)
{
	if (i >= lx->len)
		return 0;
	if (lx->s[i] == '\r')
		return (i + 1 < lx->len && lx->s[i + 1] == '\n') ? 2 : 1;
	return lx->s[i] == '\n' ? 1 : 0;
}

/* Skips FWS from *i. A line break must be followed by WSP (or end the value). */
static int
skip_fws(struct lexer *lx, size_t *i)
{
	for (;;) {
		size_t lb;

		if (*i < lx->len && is_wsp(lx->s[*i])) {
			(*i)++;
		} else if ((lb = linebreak_len(lx, *i)) > 0) {
			if (*i + lb < lx->len && !is_wsp(lx->s[*i + lb]))
				return fail(lx, *i, "line break not followed by white space (not a fold)");
			*i += lb;
		} else {
			return 0;
		}
	}
}

/* A quoted-pair at *i (the backslash); NUL, CR and LF may not be quoted. */
static int
skip_quoted_pair(struct lexer *lx, size_t *i)
{
	unsigned char c;

	if (*i + 1 >= lx->len)
		return fail(lx, *i, "backslash at the end of the value");
	c = lx->s[*i + 1];
	if (c == '\0' || c == '\r' || c == '\n')
		return fail(lx, *i, "backslash before a NUL or line break");
	*i += 2;
	return 0;
}

/* Skips a comment starting at *i ('('), nested comments included. */
static int
skip_comment(struct lexer *lx, size_t *i)
{
	size_t open = *i, depth = 1;

	(*i)++;
	while (depth > 0) {
		unsigned char c;

		if (*i >= lx->len)
			return fail(lx, open, "unterminated comment");
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
			return fail(lx, *i, "NUL in comment");
		} else {
			(*i)++;
		}
	}
	return 0;
}

static int
skip_cfws(struct lexer *lx)
{
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
scan_delimited(struct lexer *lx, unsigned char close, size_t *end)
{
	const char *what = close == '"' ? "quoted string" : "domain literal";
	size_t i = lx->pos + 1;

	for (;;) {
		unsigned char c;

		if (i >= lx->len)
			return fail(lx, lx->pos, "unterminated %s", what);
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
			return fail(lx, i, "NUL in quoted string");
		} else if (close == ']' && (c == '[' || c == '\0' || c >= 0x80)) {
			return fail(lx, i, "octet 0x%02x not allowed in a domain literal", c);
		} else {
			i++;
		}
	}
}

/* The next token after CFWS. */
static int
next_tok(struct lexer *lx, struct tok *t)
{
	unsigned char c;

	if (skip_cfws(lx) < 0)
		return -1;
	t->start = lx->pos;
	t->c = '\0';
	if (lx->pos >= lx->len) {
		t->type = T_END;
		t->end = lx->pos;
		return 0;
	}
	c = lx->s[lx->pos];
	if (is_atext(c)) {
		size_t i = lx->pos;

		while (i < lx->len && is_atext(lx->s[i]))
			i++;
		t->type = T_ATOM;
		t->end = i;
	} else if (c == '"') {
		t->type = T_QSTRING;
		if (scan_delimited(lx, '"', &t->end) < 0)
			return -1;
	} else if (c == '[') {
		t->type = T_DLIT;
		if (scan_delimited(lx, ']', &t->end) < 0)
			return -1;
	} else if (is_special_char(c)) {
		t->type = T_SPECIAL;
		t->c = (char)c;
		t->end = lx->pos + 1;
	} else if (c >= 0x21 && c < 0x7f) {
		return fail(lx, lx->pos, "unexpected '%c'", c);
	} else {
		return fail(lx, lx->pos, "unexpected octet 0x%02x", c);
	}
	lx->pos = t->end;
	return 0;
}

/* The next token without consuming it. */
static int
peek_tok(struct lexer *lx, struct tok *t)
{
	size_t save = lx->pos;
	int rc = next_tok(lx, t);

	lx->pos = save;
	return rc;
}

static int
is_sp(const struct tok *t, char c)
{
	return t->type == T_SPECIAL && t->c == c;
}

static int
is_word(const struct tok *t)
{
	return t->type == T_ATOM || t->type == T_QSTRING;
}

static const char *
tok_name(const struct tok *t, char *buf, size_t cap)
{
	switch (t->type) {
	case T_END:
		return "end of value";
	case T_ATOM:
		return "word";
	case T_QSTRING:
		return "quoted string";
	case T_DLIT:
		return "domain literal";
	case T_SPECIAL:
		snprintf(buf, cap, "'%c'", t->c);
		return buf;
	}
	return "token";
}

/*
 * Appends s[start, end) to b without the CR and LF of folds, lower-cased
 * if asked; drop_wsp also drops SP and HTAB. -1 if it does not fit.
 */
static int
put(struct obuf *b, const struct lexer *lx, size_t start, size_t end, int lower, int drop_wsp)
{
	for (size_t i = start; i < end; i++) {
		unsigned char c = lx->s[i];

		if (c == '\r' || c == '\n' || (drop_wsp && is_wsp(c)))
			continue;
		if (b->len + 1 >= b->cap)
			return -1;
		if (lower && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		b->p[b->len++] = (char)c;
	}
	b->p[b->len] = '\0';
	return 0;
}

/* Parses a domain after '@' into buf; *literal set for a domain literal. */
static int
parse_domain(struct lexer *lx, char *buf, size_t cap, int *literal)
{
	struct obuf b = { buf, cap, 0 };
	struct tok t;
	char tn[8];

	buf[0] = '\0';
	*literal = 0;
	if (next_tok(lx, &t) < 0)
		return -1;
	if (t.type == T_DLIT) {
		*literal = 1;
		if (put(&b, lx, t.start, t.end, 1, 1) < 0)
			return fail(lx, t.start, "domain literal longer than %d octets", ADDR_DOMAIN_MAX);
		return 0;
	}
	if (t.type == T_QSTRING)
		return fail(lx, t.start, "quoted string as a domain");
	if (t.type != T_ATOM)
		return fail(lx, t.start, "expected a domain after '@', found %s",
		    tok_name(&t, tn, sizeof(tn)));
	for (;;) {
		struct tok dot;

		if (put(&b, lx, t.start, t.end, 1, 0) < 0)
			return fail(lx, t.start, "domain longer than %d octets", ADDR_DOMAIN_MAX);
		if (peek_tok(lx, &dot) < 0)
			return -1;
		if (!is_sp(&dot, '.'))
			return 0;
		(void)next_tok(lx, &dot);
		if (next_tok(lx, &t) < 0)
			return -1;
		if (t.type != T_ATOM)
			return fail(lx, dot.start, "'.' not followed by a label in the domain");
		if (b.len + 1 >= b.cap)
			return fail(lx, t.start, "domain longer than %d octets", ADDR_DOMAIN_MAX);
		b.p[b.len++] = '.';
	}
}

/* Parses local-part "@" domain into m (lexer at the local part). */
static int
parse_addr_spec(struct lexer *lx, struct addr_mailbox *m)
{
	struct obuf b = { m->local, sizeof(m->local), 0 };
	struct tok t;
	int last = 0;	/* 0 nothing, 1 word, 2 dot */
	char tn[8];

	m->local[0] = '\0';
	for (;;) {
		if (next_tok(lx, &t) < 0)
			return -1;
		if (is_word(&t)) {
			if (last == 1)
				return fail(lx, t.start, "two words without a dot in the local part");
			if (t.type == T_QSTRING)
				m->local_quoted = 1;
			if (put(&b, lx, t.start, t.end, 0, 0) < 0)
				return fail(lx, t.start, "local part longer than %d octets", ADDR_LOCAL_MAX);
			last = 1;
		} else if (is_sp(&t, '.')) {
			if (last != 1)
				return fail(lx, t.start, last ? "'..' in the local part" :
				    "local part starts with '.'");
			if (put(&b, lx, t.start, t.end, 0, 0) < 0)
				return fail(lx, t.start, "local part longer than %d octets", ADDR_LOCAL_MAX);
			last = 2;
		} else if (is_sp(&t, '@')) {
			if (last == 0)
				return fail(lx, t.start, "empty local part before '@'");
			if (last == 2)
				return fail(lx, t.start, "local part ends with '.'");
			break;
		} else {
			return fail(lx, t.start, "expected '@' after the local part, found %s",
			    tok_name(&t, tn, sizeof(tn)));
		}
	}
	return parse_domain(lx, m->domain, sizeof(m->domain), &m->domain_literal);
}

/* Obsolete source route after '<': *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain]) ":" */
static int
parse_route(struct lexer *lx, struct addr_mailbox *m)
{
	char scratch[ADDR_DOMAIN_MAX + 1];
	struct tok t;
	int lit, need_at = 1;
	char tn[8];

	m->route = 1;
	for (;;) {
		if (next_tok(lx, &t) < 0)
			return -1;
		if (is_sp(&t, ',')) {
			need_at = 0;
			continue;
		}
		if (is_sp(&t, '@')) {
			if (parse_domain(lx, scratch, sizeof(scratch), &lit) < 0)
				return -1;
			need_at = 0;
			continue;
		}
		if (is_sp(&t, ':') && !need_at)
			return 0;
		return fail(lx, t.start, "bad source route in angle address at %s",
		    tok_name(&t, tn, sizeof(tn)));
	}
}

/* Parses the inside of an angle address ('<' consumed) through '>'. */
static int
parse_angle(struct lexer *lx, struct addr_mailbox *m, size_t open)
{
	struct tok t;
	char tn[8];

	m->angle = 1;
	if (peek_tok(lx, &t) < 0)
		return -1;
	if (is_sp(&t, '>'))
		return fail(lx, open, "empty address <>");
	if (is_sp(&t, '@') || is_sp(&t, ',')) {
		if (parse_route(lx, m) < 0)
			return -1;
	}
	if (parse_addr_spec(lx, m) < 0)
		return -1;
	if (next_tok(lx, &t) < 0)
		return -1;
	if (t.type == T_END)
		return fail(lx, t.start, "angle address not closed with '>'");
	if (!is_sp(&t, '>'))
		return fail(lx, t.start, "expected '>' after the address, found %s",
		    tok_name(&t, tn, sizeof(tn)));
	return 0;
}

/* Words and dots read ahead to decide what an address is. */
struct run {
	size_t n_words, n_dots;
	size_t start, stop;	/* first token start, last token end */
	int first_is_word;
};

/* Reads words and dots; *term is the token after them (consumed). */
static int
scan_run(struct lexer *lx, struct run *r, struct tok *term)
{
	memset(r, 0, sizeof(*r));
	for (;;) {
		struct tok t;

		if (next_tok(lx, &t) < 0)
			return -1;
		if (!is_word(&t) && !is_sp(&t, '.')) {
			*term = t;
			if (r->n_words + r->n_dots == 0)
				r->start = r->stop = t.start;
			return 0;
		}
		if (r->n_words + r->n_dots == 0) {
			r->start = t.start;
			r->first_is_word = is_word(&t);
		}
		r->stop = t.end;
		if (is_word(&t))
			r->n_words++;
		else
			r->n_dots++;
	}
}

static void
store(struct lexer *lx, const struct addr_mailbox *m)
{
	struct addr_list *out = lx->out;

	out->n_total++;
	if (out->n < ADDR_MAX_MAILBOXES)
		out->v[out->n++] = *m;
	else
		out->truncated = 1;
}

static void
set_display(struct lexer *lx, struct addr_mailbox *m, const struct run *r)
{
	struct obuf b = { m->display, sizeof(m->display), 0 };

	m->has_display = 1;
	for (size_t i = r->start; i < r->stop; i++) {
		if (put(&b, lx, i, i + 1, 0, 0) < 0) {
			m->display_truncated = 1;
			break;
		}
	}
}

static int parse_group(struct lexer *lx, size_t name_pos);

/* One address (a mailbox, or a group unless group_no says we are in one). */
static int
parse_address(struct lexer *lx, unsigned group_no)
{
	struct addr_mailbox m;
	struct run r;
	struct tok t;
	size_t begin = lx->pos;
	char ex[48], tn[8];

	memset(&m, 0, sizeof(m));
	m.in_group = (int)group_no;
	if (scan_run(lx, &r, &t) < 0)
		return -1;
	m.pos = r.start;
	if (is_sp(&t, '<')) {
		if (r.n_words + r.n_dots > 0) {
			if (!r.first_is_word)
				return fail(lx, r.start, "display name starts with '.'");
			set_display(lx, &m, &r);
		}
		if (parse_angle(lx, &m, t.start) < 0)
			return -1;
		store(lx, &m);
		return 0;
	}
	if (is_sp(&t, ':')) {
		if (r.n_words == 0 || !r.first_is_word)
			return fail(lx, t.start, "group without a name before ':'");
		if (group_no)
			return fail(lx, t.start, "group inside a group");
		return parse_group(lx, r.start);
	}
	if (is_sp(&t, '@')) {
		lx->pos = begin;
		if (parse_addr_spec(lx, &m) < 0)
			return -1;
		store(lx, &m);
		return 0;
	}
	if (r.n_words + r.n_dots == 0)
		return fail(lx, t.start, "expected an address, found %s", tok_name(&t, tn, sizeof(tn)));
	return fail(lx, r.start, "'%s' is not an address (no '@' or '<...>')",
	    excerpt(lx, r.start, r.stop, ex, sizeof(ex)));
}

/* The members of a group (name and ':' consumed) through ';'. */
static int
parse_group(struct lexer *lx, size_t name_pos)
{
	unsigned group_no = ++lx->out->n_groups;
	struct tok t;
	char tn[8];

	for (;;) {
		if (peek_tok(lx, &t) < 0)
			return -1;
		if (t.type == T_END)
			return fail(lx, name_pos, "group not closed with ';'");
		if (is_sp(&t, ';') || is_sp(&t, ',')) {
			(void)next_tok(lx, &t);
			if (t.c == ';')
				return 0;
			continue;
		}
		if (parse_address(lx, group_no) < 0)
			return -1;
		if (next_tok(lx, &t) < 0)
			return -1;
		if (is_sp(&t, ';'))
			return 0;
		if (t.type == T_END)
			return fail(lx, name_pos, "group not closed with ';'");
		if (!is_sp(&t, ','))
			return fail(lx, t.start, "expected ',' or ';' after an address in a group, found %s",
			    tok_name(&t, tn, sizeof(tn)));
	}
}

int
addr_parse(const char *value, size_t len, struct addr_list *out)
{
	struct lexer lx = { (const unsigned char *)value, len, 0, out, 0 };
	int seen = 0;
	char tn[8];

	memset(out, 0, sizeof(*out));
	for (;;) {
		struct tok t;

		if (peek_tok(&lx, &t) < 0)
			return -1;
		if (t.type == T_END) {
			lx.pos = t.start;
			break;
		}
		if (is_sp(&t, ',')) {		/* obs-addr-list: empty element */
			(void)next_tok(&lx, &t);
			continue;
		}
		if (parse_address(&lx, 0) < 0)
			return -1;
		seen = 1;
		if (next_tok(&lx, &t) < 0)
			return -1;
		if (t.type == T_END)
			break;
		if (!is_sp(&t, ','))
			return fail(&lx, t.start, "expected ',' between addresses, found %s",
			    tok_name(&t, tn, sizeof(tn)));
	}
	if (!seen)
		return fail(&lx, lx.pos, "no address");
	return 0;
}
