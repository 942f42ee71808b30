/*
 * address: RFC 5322 address-list parser; see address.h for what it
 * accepts, its bounds and its errors.
 *
 * The RFC 5322 lexer (base/rfc5322.h, strict) turns the value into tokens
 * (atom, quoted string, domain literal, special) with CFWS skipped between
 * them; the parser works on the tokens with one token of look-ahead
 * (peeking). No token ever contains a comment, so copying a token's octets
 * (without the CR and LF of folds) gives its text.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "address.h"
#include "rfc5322.h"

/* The parser: the RFC 5322 lexer (rfc5322.h) and the list it fills. */
struct lexer {
	struct r5322_lexer r;
	struct addr_list *out;
};

/* A bounded output string: cap includes the NUL. */
struct obuf {
	char *p;
	size_t cap, len;
};

/* A printable excerpt of [start, end) for messages: at most 40 octets. */
static const char *
excerpt(const struct lexer *lx, size_t start, size_t end, char *buf, size_t cap)
{
	size_t o = 0;

	for (size_t i = start; i < end && o + 4 < cap && o < 40; i++) {
		unsigned char c = lx->r.s[i];

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
is_sp(const struct r5322_tok *t, char c)
{
	return t->type == R5322_SPECIAL && t->c == c;
}

static int
is_word(const struct r5322_tok *t)
{
	return t->type == R5322_ATOM || t->type == R5322_QSTRING;
}

static const char *
tok_name(const struct r5322_tok *t, char *buf, size_t cap)
{
	switch (t->type) {
	case R5322_END:
		return "end of value";
	case R5322_ATOM:
		return "word";
	case R5322_QSTRING:
		return "quoted string";
	case R5322_DLIT:
		return "domain literal";
	case R5322_SPECIAL:
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
		unsigned char c = lx->r.s[i];

		if (c == '\r' || c == '\n' || (drop_wsp && r5322_is_wsp(c)))
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
	struct r5322_tok t;
	char tn[8];

	buf[0] = '\0';
	*literal = 0;
	if (r5322_next(&lx->r, &t) < 0)
		return -1;
	if (t.type == R5322_DLIT) {
		*literal = 1;
		if (put(&b, lx, t.start, t.end, 1, 1) < 0)
			return r5322_fail(&lx->r, t.start, "domain literal longer than %d octets", ADDR_DOMAIN_MAX);
		return 0;
	}
	if (t.type == R5322_QSTRING)
		return r5322_fail(&lx->r, t.start, "quoted string as a domain");
	if (t.type != R5322_ATOM)
		return r5322_fail(&lx->r, t.start, "expected a domain after '@', found %s",
		    tok_name(&t, tn, sizeof(tn)));
	for (;;) {
		struct r5322_tok dot;

		if (put(&b, lx, t.start, t.end, 1, 0) < 0)
			return r5322_fail(&lx->r, t.start, "domain longer than %d octets", ADDR_DOMAIN_MAX);
		if (r5322_peek(&lx->r, &dot) < 0)
			return -1;
		if (!is_sp(&dot, '.'))
			return 0;
		(void)r5322_next(&lx->r, &dot);
		if (r5322_next(&lx->r, &t) < 0)
			return -1;
		if (t.type != R5322_ATOM)
			return r5322_fail(&lx->r, dot.start, "'.' not followed by a label in the domain");
		if (b.len + 1 >= b.cap)
			return r5322_fail(&lx->r, t.start, "domain longer than %d octets", ADDR_DOMAIN_MAX);
		b.p[b.len++] = '.';
	}
}

/* Parses local-part "@" domain into m (lexer at the local part). */
static int
parse_addr_spec(struct lexer *lx, struct addr_mailbox *m)
{
	struct obuf b = { m->local, sizeof(m->local), 0 };
	struct r5322_tok t;
	int last = 0;	/* 0 nothing, 1 word, 2 dot */
	char tn[8];

	m->local[0] = '\0';
	for (;;) {
		if (r5322_next(&lx->r, &t) < 0)
			return -1;
		if (is_word(&t)) {
			if (last == 1)
				return r5322_fail(&lx->r, t.start, "two words without a dot in the local part");
			if (t.type == R5322_QSTRING)
				m->local_quoted = 1;
			if (put(&b, lx, t.start, t.end, 0, 0) < 0)
				return r5322_fail(&lx->r, t.start, "local part longer than %d octets", ADDR_LOCAL_MAX);
			last = 1;
		} else if (is_sp(&t, '.')) {
			if (last != 1)
				return r5322_fail(&lx->r, t.start, last ? "'..' in the local part" :
				    "local part starts with '.'");
			if (put(&b, lx, t.start, t.end, 0, 0) < 0)
				return r5322_fail(&lx->r, t.start, "local part longer than %d octets", ADDR_LOCAL_MAX);
			last = 2;
		} else if (is_sp(&t, '@')) {
			if (last == 0)
				return r5322_fail(&lx->r, t.start, "empty local part before '@'");
			if (last == 2)
				return r5322_fail(&lx->r, t.start, "local part ends with '.'");
			break;
		} else {
			return r5322_fail(&lx->r, t.start, "expected '@' after the local part, found %s",
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
	struct r5322_tok t;
	int lit, need_at = 1;
	char tn[8];

	m->route = 1;
	for (;;) {
		if (r5322_next(&lx->r, &t) < 0)
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
		return r5322_fail(&lx->r, t.start, "bad source route in angle address at %s",
		    tok_name(&t, tn, sizeof(tn)));
	}
}

/* Parses the inside of an angle address ('<' consumed) through '>'. */
static int
parse_angle(struct lexer *lx, struct addr_mailbox *m, size_t open)
{
	struct r5322_tok t;
	char tn[8];

	m->angle = 1;
	if (r5322_peek(&lx->r, &t) < 0)
		return -1;
	if (is_sp(&t, '>'))
		return r5322_fail(&lx->r, open, "empty address <>");
	if (is_sp(&t, '@') || is_sp(&t, ',')) {
		if (parse_route(lx, m) < 0)
			return -1;
	}
	if (parse_addr_spec(lx, m) < 0)
		return -1;
	if (r5322_next(&lx->r, &t) < 0)
		return -1;
	if (t.type == R5322_END)
		return r5322_fail(&lx->r, t.start, "angle address not closed with '>'");
	if (!is_sp(&t, '>'))
		return r5322_fail(&lx->r, t.start, "expected '>' after the address, found %s",
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
scan_run(struct lexer *lx, struct run *r, struct r5322_tok *term)
{
	memset(r, 0, sizeof(*r));
	for (;;) {
		struct r5322_tok t;

		if (r5322_next(&lx->r, &t) < 0)
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
	struct r5322_tok t;
	size_t begin = lx->r.pos;
	char ex[48], tn[8];

	memset(&m, 0, sizeof(m));
	m.in_group = (int)group_no;
	if (scan_run(lx, &r, &t) < 0)
		return -1;
	m.pos = r.start;
	if (is_sp(&t, '<')) {
		if (r.n_words + r.n_dots > 0) {
			if (!r.first_is_word)
				return r5322_fail(&lx->r, r.start, "display name starts with '.'");
			set_display(lx, &m, &r);
		}
		if (parse_angle(lx, &m, t.start) < 0)
			return -1;
		store(lx, &m);
		return 0;
	}
	if (is_sp(&t, ':')) {
		if (r.n_words == 0 || !r.first_is_word)
			return r5322_fail(&lx->r, t.start, "group without a name before ':'");
		if (group_no)
			return r5322_fail(&lx->r, t.start, "group inside a group");
		return parse_group(lx, r.start);
	}
	if (is_sp(&t, '@')) {
		lx->r.pos = begin;
		if (parse_addr_spec(lx, &m) < 0)
			return -1;
		store(lx, &m);
		return 0;
	}
	if (r.n_words + r.n_dots == 0)
		return r5322_fail(&lx->r, t.start, "expected an address, found %s", tok_name(&t, tn, sizeof(tn)));
	return r5322_fail(&lx->r, r.start, "'%s' is not an address (no '@' or '<...>')",
	    excerpt(lx, r.start, r.stop, ex, sizeof(ex)));
}

/* The members of a group (name and ':' consumed) through ';'. */
static int
parse_group(struct lexer *lx, size_t name_pos)
{
	unsigned group_no = ++lx->out->n_groups;
	struct r5322_tok t;
	char tn[8];

	for (;;) {
		if (r5322_peek(&lx->r, &t) < 0)
			return -1;
		if (t.type == R5322_END)
			return r5322_fail(&lx->r, name_pos, "group not closed with ';'");
		if (is_sp(&t, ';') || is_sp(&t, ',')) {
			(void)r5322_next(&lx->r, &t);
			if (t.c == ';')
				return 0;
			continue;
		}
		if (parse_address(lx, group_no) < 0)
			return -1;
		if (r5322_next(&lx->r, &t) < 0)
			return -1;
		if (is_sp(&t, ';'))
			return 0;
		if (t.type == R5322_END)
			return r5322_fail(&lx->r, name_pos, "group not closed with ';'");
		if (!is_sp(&t, ','))
			return r5322_fail(&lx->r, t.start, "expected ',' or ';' after an address in a group, found %s",
			    tok_name(&t, tn, sizeof(tn)));
	}
}

/* The address-list of lx; -1 when the lexer or the parser failed. */
static int
parse_list(struct lexer *lx)
{
	int seen = 0;
	char tn[8];

	for (;;) {
		struct r5322_tok t;

		if (r5322_peek(&lx->r, &t) < 0)
			return -1;
		if (t.type == R5322_END) {
			lx->r.pos = t.start;
			break;
		}
		if (is_sp(&t, ',')) {		/* obs-addr-list: empty element */
			(void)r5322_next(&lx->r, &t);
			continue;
		}
		if (parse_address(lx, 0) < 0)
			return -1;
		seen = 1;
		if (r5322_next(&lx->r, &t) < 0)
			return -1;
		if (t.type == R5322_END)
			break;
		if (!is_sp(&t, ','))
			return r5322_fail(&lx->r, t.start, "expected ',' between addresses, found %s",
			    tok_name(&t, tn, sizeof(tn)));
	}
	if (!seen)
		return r5322_fail(&lx->r, lx->r.pos, "no address");
	return 0;
}

int
addr_parse(const char *value, size_t len, struct addr_list *out)
{
	struct lexer lx;

	/* v[] (13 KB) is written mailbox by mailbox and read up to n only */
	out->n = out->n_total = 0;
	out->truncated = 0;
	out->n_groups = 0;
	out->error_pos = 0;
	out->why[0] = '\0';
	r5322_init(&lx.r, value, len);
	lx.out = out;
	if (parse_list(&lx) == 0)
		return 0;
	out->error_pos = lx.r.err_pos;
	snprintf(out->why, sizeof(out->why), "%s", lx.r.why);
	return -1;
}
