/*
 * smtppath: RFC 5321 reverse-path reader; see smtppath.h.
 *
 * Three readings, the first that works wins: the strict RFC 5321 grammar;
 * the RFC 5322 address parser (for the RFC 822 forms MTAs let through);
 * the MTA's own routing rule (quotes, escapes and comments removed, the
 * domain after the last '@').
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "address.h"
#include "domain.h"
#include "sbuf.h"
#include "smtppath.h"

/* RFC 5321 §4.5.3.1 */
#define RFC_LOCAL_MAX	64
#define RFC_PATH_MAX	256

static int
is_atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Let-dig and '-' (U-labels: octets over 127 count as letters) */
static int
is_ldh(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || c == '-';
}

/*
 * Runs of octets ok() takes joined by single dots: a Dot-string, or with
 * ldh a Domain (sub-domain = Let-dig [Ldh-str]: no '-' at either end).
 * Its length, 0 if none.
 */
static size_t
scan_dotted(const char *p, size_t n, int (*ok)(unsigned char), int ldh)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;

		while (i < n && ok((unsigned char)p[i]))
			i++;
		if (i == start || (ldh && (p[start] == '-' || p[i - 1] == '-')))
			return 0;
		if (i + 1 < n && p[i] == '.') {
			i++;
			continue;
		}
		return i;
	}
}

static size_t
scan_domain(const char *p, size_t n)
{
	return scan_dotted(p, n, is_ldh, 1);
}

/* address-literal = "[" dcontent... "]" (dcontent: %d33-90 / %d94-126) */
static size_t
scan_literal(const char *p, size_t n)
{
	size_t i = 1;

	if (n == 0 || p[0] != '[')
		return 0;
	for (; i < n && p[i] != ']'; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 33 || c > 126 || c == '[' || c == '\\' || c == '@')
			return 0;
	}
	return i < n && i > 1 ? i + 1 : 0;
}

/* Local-part = Dot-string / Quoted-string; its length, 0 if none */
static size_t
scan_local(const char *p, size_t n)
{
	size_t i = 0;

	if (n > 0 && p[0] == '"') {
		for (i = 1; i < n && p[i] != '"'; i++) {
			unsigned char c = (unsigned char)p[i];

			if (c == '\\') {
				/* quoted-pairSMTP = %d92 %d32-126 */
				if (i + 1 >= n || (unsigned char)p[i + 1] < 32 || (unsigned char)p[i + 1] > 126)
					return 0;
				i++;
			} else if (c < 32 || c == 127) {
				return 0;	/* qtextSMTP: %d32-33 / %d35-91 / %d93-126, UTF-8 */
			}
		}
		return i < n ? i + 1 : 0;
	}
	return scan_dotted(p, n, is_atext, 0);
}

/* A-d-l ":" , the source route: skipped. Returns its length, 0 if none, -1 if broken. */
static long
scan_route(const char *p, size_t n)
{
	size_t i = 0;

	if (n == 0 || p[0] != '@')
		return 0;
	for (;;) {
		size_t d;

		if (i >= n || p[i] != '@')
			return -1;
		i++;
		d = p[i] == '[' ? scan_literal(p + i, n - i) : scan_domain(p + i, n - i);
		if (d == 0)
			return -1;
		i += d;
		if (i < n && p[i] == ',') {
			i++;
			continue;
		}
		return i < n && p[i] == ':' ? (long)(i + 1) : -1;
	}
}

static void
copy_part(char *dst, size_t cap, const char *src, size_t n, int lower)
{
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = lower ? (char)tolower((unsigned char)src[i]) : src[i];
	dst[n] = '\0';
}

/* Mailbox = Local-part "@" ( Domain / address-literal ), the whole of p. */
static int
parse_strict(const char *p, size_t n, struct smtp_path *out)
{
	long route = scan_route(p, n);
	size_t l, d, at;

	if (route < 0)
		return -1;
	p += route;
	n -= (size_t)route;
	if ((l = scan_local(p, n)) == 0 || l >= n || p[l] != '@')
		return -1;
	at = l + 1;
	if (at < n && p[at] == '[') {
		d = scan_literal(p + at, n - at);
		out->literal = 1;
	} else {
		d = scan_domain(p + at, n - at);
	}
	if (d == 0 || at + d != n)
		return -1;
	if (l > SMTP_LOCAL_MAX || d > SMTP_DOMAIN_MAX)
		return -1;
	copy_part(out->local, sizeof(out->local), p, l, 0);
	copy_part(out->domain, sizeof(out->domain), p + at, d, 1);
	if (l > RFC_LOCAL_MAX)
		str_format(out->why, sizeof(out->why), "local part longer than %d octets", RFC_LOCAL_MAX);
	return 0;
}

/* RFC 822 forms (comments, CFWS, no brackets) through the RFC 5322 parser. */
static int
parse_rfc822(const char *p, size_t n, struct smtp_path *out)
{
	struct addr_list l;
	const struct addr_mailbox *m;

	if (addr_parse(p, n, &l) < 0 || l.n != 1 || l.n_total != 1 || l.n_groups != 0)
		return -1;
	m = &l.v[0];
	if (m->has_display || strlen(m->local) > SMTP_LOCAL_MAX)
		return -1;
	copy_part(out->local, sizeof(out->local), m->local, strlen(m->local), 0);
	copy_part(out->domain, sizeof(out->domain), m->domain, strlen(m->domain), 1);
	out->literal = m->domain_literal;
	return 0;
}

/*
 * Postfix's internal form of p[0..n): comments, quotes and backslashes
 * removed. Copies at most cap - 1 octets of it into out (NUL-terminated);
 * returns its full length. *last_at gets the offset in p of the last '@'
 * that the internal form keeps, or n when there is none.
 */
static size_t
internal_form(const char *p, size_t n, char *out, size_t cap, size_t *last_at)
{
	size_t o = 0, depth = 0;
	int quoted = 0;

	*last_at = n;
	for (size_t i = 0; i < n; i++) {
		size_t at = i;
		char c = p[i];

		if (c == '\\' && i + 1 < n) {
			c = p[++i];
			if (depth > 0)
				continue;
		} else if (c == '"' && depth == 0) {
			quoted = !quoted;
			continue;
		} else if (c == '(' && !quoted) {
			depth++;
			continue;
		} else if (c == ')' && !quoted && depth > 0) {
			depth--;
			continue;
		} else if (depth > 0) {
			continue;
		}
		if (c == '@')
			*last_at = at + (p[at] == '\\');
		if (o + 1 < cap)
			out[o] = c;
		o++;
	}
	if (cap > 0)
		out[o < cap ? o : cap - 1] = '\0';
	return o;
}

/*
 * The MTA's reading, whatever the length: the domain is what follows the
 * last '@' of the internal form. -1 if there is no '@'.
 */
static int
parse_routing(const char *p, size_t n, struct smtp_path *out)
{
	char domain[SMTP_DOMAIN_MAX + 1];
	size_t at, len, start, end;

	(void)internal_form(p, n, NULL, 0, &at);
	if (at == n)
		return -1;
	len = internal_form(p, at, out->local, sizeof(out->local), &start);
	if (len >= sizeof(out->local))
		out->local[0] = '\0';		/* too long to keep: "postmaster" for SPF */
	/* white space around the domain is not part of it */
	for (start = at + 1; start < n && (p[start] == ' ' || p[start] == '\t'); start++)
		;
	for (end = n; end > start && (p[end - 1] == ' ' || p[end - 1] == '\t'); end--)
		;
	internal_form(p + start, end - start, domain, sizeof(domain), &len);
	copy_part(out->domain, sizeof(out->domain), domain, strlen(domain), 1);
	out->literal = domain[0] == '[';
	return 0;
}

int
smtp_path_parse(const char *arg, struct smtp_path *out)
{
	const char *p = arg ? arg : "";
	size_t n = strlen(p), inner_n;
	const char *inner;
	char norm[SMTP_DOMAIN_MAX + 1], why[120];

	memset(out, 0, sizeof(*out));
	while (n > 0 && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0 || (n == 2 && p[0] == '<' && p[1] == '>')) {
		out->null = out->strict = 1;
		return 0;
	}
	if (n >= 2 && p[0] == '<' && p[n - 1] == '>') {
		inner = p + 1;
		inner_n = n - 2;
	} else {
		inner = p;
		inner_n = n;
	}
	if (inner != p && parse_strict(inner, inner_n, out) == 0) {
		out->strict = out->why[0] == '\0' && n <= RFC_PATH_MAX;
		if (!out->strict && out->why[0] == '\0')
			str_format(out->why, sizeof(out->why), "path longer than %d octets", RFC_PATH_MAX);
	} else {
		long route = scan_route(inner, inner_n);
		const char *text = inner;
		size_t text_n = inner_n;

		/* a route the strict grammar did not take: cut it as Postfix does */
		if (route != 0 && text_n > 0 && text[0] == '@' && memchr(text, ':', text_n) != NULL) {
			size_t cut = (size_t)((const char *)memchr(text, ':', text_n) - text) + 1;
			text += cut;
			text_n -= cut;
		}
		memset(out, 0, sizeof(*out));
		if (parse_rfc822(text, text_n, out) == 0) {
			str_format(out->why, sizeof(out->why), "not RFC 5321 path syntax%s",
			    inner == p ? " (no angle brackets)" : "");
		} else if (parse_routing(text, text_n, out) == 0) {
			str_format(out->why, sizeof(out->why), "not an address; read as the MTA routes it,"
			    " the domain after the last '@'");
		} else {
			str_format(out->why, sizeof(out->why), "no domain in the envelope sender");
			return -1;
		}
	}
	if (!out->literal) {
		if (domain_normalize(out->domain, norm, sizeof(norm), why, sizeof(why)) == 0) {
			str_format(out->domain, sizeof(out->domain), "%s", norm);
		} else {
			out->strict = 0;
			if (out->why[0] == '\0')
				str_format(out->why, sizeof(out->why), "domain: %s", why);
		}
	}
	return 0;
}
