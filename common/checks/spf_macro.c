/*
 * spf_macro: SPF macro strings (RFC 7208 section 7); see spf_macro.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "spf_macro.h"

/* Longest macro value used; longer values (none from spf.c) are cut. */
#define VALUE_MAX	1024
/* A DIGIT transformer above this keeps every part anyway. */
#define DIGITS_MAX	999

static const char delim_chars[] = ".-+,/_=";

/* One macro-expand: "%{" letter digits ["r"] *delimiter "}". */
struct mtok {
	char letter;		/* lower case */
	int upper;		/* URL-escape the value */
	unsigned digits;	/* 0: keep all parts */
	int reverse;
	char delims[sizeof(delim_chars)];	/* "" means "." */
};

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
letter_ok(int c, int exp_text)
{
	c = lower(c);
	if (strchr("slodiphv", c) != NULL && c != '\0')
		return 1;
	return exp_text && c != '\0' && strchr("crt", c) != NULL;
}

/* macro-literal = %x21-24 / %x26-7E (and SP in an explain-string) */
static int
literal_ok(unsigned char c, int exp_text)
{
	if (c == ' ')
		return exp_text;
	return c >= 0x21 && c <= 0x7e && c != '%';
}

/*
 * Parses the "%{...}" at s[i] (s[i] == '%', s[i+1] == '{'). Returns the
 * offset just past '}', or 0 with *bad set.
 */
static size_t
parse_expand(const char *s, size_t len, size_t i, int exp_text,
    struct mtok *t, size_t *bad)
{
	size_t j = i + 2, nd = 0;
	unsigned long val = 0;
	int have_digits = 0;

	memset(t, 0, sizeof(*t));
	if (j >= len || !letter_ok((unsigned char)s[j], exp_text)) {
		*bad = j < len ? j : len;
		return 0;
	}
	t->letter = (char)lower((unsigned char)s[j]);
	t->upper = s[j] >= 'A' && s[j] <= 'Z';
	j++;
	while (j < len && is_digit((unsigned char)s[j])) {
		have_digits = 1;
		if (val <= DIGITS_MAX)
			val = val * 10 + (unsigned long)(s[j] - '0');
		j++;
	}
	if (have_digits && val == 0) {
		*bad = j - 1;	/* section 7.3: the DIGIT must be nonzero */
		return 0;
	}
	t->digits = val > DIGITS_MAX ? DIGITS_MAX : (unsigned)val;
	if (j < len && lower((unsigned char)s[j]) == 'r') {
		t->reverse = 1;
		j++;
	}
	while (j < len && s[j] != '}') {
		const char *d = strchr(delim_chars, s[j]);

		if (s[j] == '\0' || d == NULL) {
			*bad = j;
			return 0;
		}
		if (strchr(t->delims, s[j]) == NULL && nd < sizeof(t->delims) - 1)
			t->delims[nd++] = s[j];
		j++;
	}
	if (j >= len) {
		*bad = len;
		return 0;
	}
	return j + 1;
}

/*
 * Walks the macro-string: calls nothing, only checks. *last_macro_end
 * gets the offset just past the last macro-expand (0 if none).
 */
static int
scan(const char *s, size_t len, int exp_text, size_t *bad,
    size_t *last_macro_end)
{
	size_t i = 0, next, dummy;
	struct mtok t;

	if (bad == NULL)
		bad = &dummy;
	*last_macro_end = 0;
	while (i < len) {
		if (s[i] != '%') {
			if (!literal_ok((unsigned char)s[i], exp_text)) {
				*bad = i;
				return -1;
			}
			i++;
			continue;
		}
		if (i + 1 >= len) {
			*bad = i;
			return -1;
		}
		if (s[i + 1] == '%' || s[i + 1] == '_' || s[i + 1] == '-') {
			i += 2;
		} else if (s[i + 1] == '{') {
			next = parse_expand(s, len, i, exp_text, &t, bad);
			if (next == 0)
				return -1;
			i = next;
		} else {
			*bad = i + 1;
			return -1;
		}
		*last_macro_end = i;
	}
	return 0;
}

int
spf_macro_check(const char *s, size_t len, int exp_text, size_t *bad)
{
	size_t last;

	return scan(s, len, exp_text, bad, &last);
}

/*
 * toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
 */
static int
toplabel_ok(const char *s, size_t len)
{
	size_t i;
	int alpha = 0, hyphen = 0;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (is_alpha((unsigned char)s[i]))
			alpha = 1;
		else if (s[i] == '-')
			hyphen = 1;
		else if (!is_digit((unsigned char)s[i]))
			return 0;
	}
	if (!hyphen)
		return alpha;
	return s[0] != '-' && s[len - 1] != '-';
}

int
spf_domain_spec_check(const char *s, size_t len, size_t *bad)
{
	size_t last, end, dot, dummy;

	if (bad == NULL)
		bad = &dummy;
	if (len == 0) {
		*bad = 0;
		return -1;
	}
	if (scan(s, len, 0, bad, &last) < 0)
		return -1;
	if (last == len)
		return 0;		/* domain-end = macro-expand */
	/* domain-end = "." toplabel [ "." ], all literal characters */
	end = len;
	if (s[end - 1] == '.')
		end--;
	for (dot = end; dot > last && s[dot - 1] != '.'; dot--)
		;
	if (dot == last || !toplabel_ok(s + dot, end - dot)) {
		*bad = dot > last ? dot : last;
		return -1;
	}
	return 0;
}

/* ---- expansion ---- */

static int
is_unreserved(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' ||
	    c == '_' || c == '~';
}

static int
put_value_char(struct sbuf *out, unsigned char c, int url)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[3];

	if (!url || is_unreserved(c))
		return sbuf_addc(out, (char)c);
	esc[0] = '%';
	esc[1] = hex[c >> 4];
	esc[2] = hex[c & 15];
	return sbuf_add(out, esc, 3);
}

/* The text of one macro letter's value into buf (size VALUE_MAX + 1). */
static void
letter_value(const struct mtok *t, struct spf_macro_vars *v, char *buf,
    size_t buflen)
{
	const char *s = NULL;
	size_t n = 0;
	int i;

	buf[0] = '\0';
	switch (t->letter) {
	case 's': s = v->sender; break;
	case 'l': s = v->local; break;
	case 'o': s = v->sender_domain; break;
	case 'd': s = v->domain; break;
	case 'h': s = v->helo; break;
	case 'r': s = v->receiver && v->receiver[0] ? v->receiver : "unknown"; break;
	case 'v': s = v->v4 ? "in-addr" : "ip6"; break;
	case 't':
		snprintf(buf, buflen, "%lld", v->now);
		return;
	case 'p':
		if (!v->p_done) {
			v->p_done = 1;
			snprintf(v->p_buf, sizeof(v->p_buf), "unknown");
			if (v->get_p != NULL)
				v->get_p(v->p_arg, v->p_buf, sizeof(v->p_buf));
		}
		s = v->p_buf;
		break;
	case 'c':
		if (v->v4)
			snprintf(buf, buflen, "%u.%u.%u.%u", v->ip[0], v->ip[1], v->ip[2], v->ip[3]);
		else if (inet_ntop(AF_INET6, v->ip, buf, (socklen_t)buflen) == NULL)
			buf[0] = '\0';
		return;
	case 'i':
		if (v->v4) {
			snprintf(buf, buflen, "%u.%u.%u.%u", v->ip[0], v->ip[1], v->ip[2], v->ip[3]);
			return;
		}
		for (i = 0; i < 32 && n + 2 < buflen; i++) {
			unsigned nib = (v->ip[i / 2] >> (i % 2 ? 0 : 4)) & 15;

			if (i > 0)
				buf[n++] = '.';
			buf[n++] = "0123456789abcdef"[nib];
		}
		buf[n] = '\0';
		return;
	default:
		return;
	}
	snprintf(buf, buflen, "%s", s ? s : "");
}

/*
 * Appends the transformed value: split on the delimiters, reverse if
 * asked, keep the rightmost `digits` parts, join with '.'.
 */
static int
put_transformed(const struct mtok *t, const char *val, struct sbuf *out)
{
	size_t starts[VALUE_MAX + 2], ends[VALUE_MAX + 2];
	size_t nparts = 0, i, len = strlen(val), k, first, idx;
	const char *delims = t->delims[0] ? t->delims : ".";

	starts[0] = 0;
	for (i = 0; i <= len; i++) {
		if (i == len || strchr(delims, val[i]) != NULL) {
			ends[nparts++] = i;
			starts[nparts] = i + 1;
		}
	}
	first = t->digits > 0 && t->digits < nparts ? nparts - t->digits : 0;
	for (k = first; k < nparts; k++) {
		idx = t->reverse ? nparts - 1 - k : k;
		if (k > first && put_value_char(out, '.', t->upper) < 0)
			return -1;
		for (i = starts[idx]; i < ends[idx]; i++)
			if (put_value_char(out, (unsigned char)val[i], t->upper) < 0)
				return -1;
	}
	return 0;
}

int
spf_macro_expand(const char *s, size_t len, int exp_text,
    struct spf_macro_vars *v, struct sbuf *out)
{
	char val[VALUE_MAX + 1];
	size_t i = 0, next, bad;
	struct mtok t;

	while (i < len) {
		if (s[i] != '%') {
			if (!literal_ok((unsigned char)s[i], exp_text) ||
			    sbuf_addc(out, s[i]) < 0)
				return -1;
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -1;
		switch (s[i + 1]) {
		case '%':
			if (sbuf_addc(out, '%') < 0)
				return -1;
			i += 2;
			continue;
		case '_':
			if (sbuf_addc(out, ' ') < 0)
				return -1;
			i += 2;
			continue;
		case '-':
			if (sbuf_addstr(out, "%20") < 0)
				return -1;
			i += 2;
			continue;
		case '{':
			break;
		default:
			return -1;
		}
		next = parse_expand(s, len, i, exp_text, &t, &bad);
		if (next == 0)
			return -1;
		letter_value(&t, v, val, sizeof(val));
		if (put_transformed(&t, val, out) < 0)
			return -1;
		i = next;
	}
	return out->overflow ? -1 : 0;
}

void
spf_domain_truncate(char *name)
{
	size_t len = strlen(name), n;
	char *dot;

	n = len > 0 && name[len - 1] == '.' ? len - 1 : len;
	while (n > 253 && (dot = strchr(name, '.')) != NULL && dot[1] != '\0') {
		size_t drop = (size_t)(dot - name) + 1;

		memmove(name, dot + 1, len - drop + 1);
		len -= drop;
		n -= drop;
	}
}
