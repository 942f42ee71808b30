/*
 * spf_record: SPF record parser (RFC 7208 section 12); see spf_record.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbuf.h"
#include "spf_macro.h"
#include "spf_record.h"

static const char *const mech_names[] = {
	"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"
};

const char *
spf_mech_name(enum spf_mech m)
{
	if ((unsigned)m < sizeof(mech_names) / sizeof(mech_names[0]))
		return mech_names[m];
	return "?";
}

int
spf_record_is_spf(const char *txt, size_t len)
{
	if (len < 6 || strncasecmp(txt, "v=spf1", 6) != 0)
		return 0;
	return len == 6 || txt[6] == ' ';
}

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

/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ); its length or 0. */
static size_t
name_len(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || !is_alpha((unsigned char)s[0]))
		return 0;
	for (i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_' && c != '.')
			break;
	}
	return i;
}

/* The state of one term's parse: where it is and how to report. */
struct tparse {
	const char *rec;	/* the whole record */
	struct spf_term *t;
	size_t index;		/* 1-based term number */
	char *err;
	size_t errlen;
};

static int
fail(struct tparse *p, size_t at, const char *what)
{
	const struct spf_term *t = p->t;

	str_format(p->err, p->errlen, "syntax error in term %zu '%.*s' at offset %zu: %s",
	    p->index, (int)(t->len > 80 ? 80 : t->len), p->rec + t->pos, at, what);
	return -1;
}

/*
 * A CIDR length: "/" ( "0" / %x31-39 *DIGIT ), at most max. s[0] is the
 * first digit; returns the value or -1.
 */
static int
cidr_value(const char *s, size_t len, int max)
{
	size_t i;
	int v = 0;

	if (len == 0 || len > 3 || (s[0] == '0' && len > 1))
		return -1;
	for (i = 0; i < len; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* Length of a trailing "/" 1*DIGIT in s[0..len), or 0. */
static size_t
trailing_slash_digits(const char *s, size_t len)
{
	size_t i = len;

	while (i > 0 && is_digit((unsigned char)s[i - 1]))
		i--;
	if (i == len || i == 0 || s[i - 1] != '/')
		return 0;
	return len - i + 1;
}

/*
 * dual-cidr-length at the end of s[0..*len): sets cidr4/cidr6 and cuts
 * *len. 0, or -1 (bad length value).
 */
static int
dual_cidr(struct tparse *p, size_t off, size_t *len)
{
	const char *s = p->rec + off;
	size_t n = trailing_slash_digits(s, *len);

	if (n == 0)
		return 0;
	if (*len > n && s[*len - n - 1] == '/') {	/* "//" ip6-cidr */
		p->t->cidr6 = cidr_value(s + *len - n + 1, n - 1, 128);
		if (p->t->cidr6 < 0)
			return fail(p, off + *len - n, "bad IPv6 CIDR length");
		*len -= n + 1;
		n = trailing_slash_digits(s, *len);
		if (n == 0)
			return 0;
	}
	p->t->cidr4 = cidr_value(s + *len - n + 1, n - 1, 32);
	if (p->t->cidr4 < 0)
		return fail(p, off + *len - n, "bad IPv4 CIDR length");
	*len -= n;
	return 0;
}

static int
domain_spec(struct tparse *p, size_t off, size_t len)
{
	size_t bad = 0;

	if (spf_domain_spec_check(p->rec + off, len, &bad) < 0)
		return fail(p, off + bad, len == 0 ? "empty domain-spec" :
		    "bad domain-spec (bad macro, character, or top label)");
	p->t->spec = off;
	p->t->spec_len = len;
	return 0;
}

/* qnum "." qnum "." qnum "." qnum, no leading zeros. */
static int
ip4_network(const char *s, size_t len, unsigned char *out)
{
	size_t i = 0, k, start;
	int v;

	for (k = 0; k < 4; k++) {
		if (k > 0) {
			if (i >= len || s[i] != '.')
				return -1;
			i++;
		}
		start = i;
		v = 0;
		while (i < len && is_digit((unsigned char)s[i]) && i - start < 3)
			v = v * 10 + (s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return -1;
		out[k] = (unsigned char)v;
	}
	return i == len ? 0 : -1;
}

/* The argument of ip4/ip6: ':' network [ "/" length ]. */
static int
ip_arg(struct tparse *p, size_t off, size_t len, int v6)
{
	const char *s = p->rec + off;
	char buf[64];
	size_t slash;

	if (len == 0 || s[0] != ':')
		return fail(p, off, v6 ? "ip6 needs ':' and an address" :
		    "ip4 needs ':' and an address");
	s++;
	off++;
	len--;
	for (slash = 0; slash < len && s[slash] != '/'; slash++)
		;
	if (slash < len) {
		int *c = v6 ? &p->t->cidr6 : &p->t->cidr4;

		*c = cidr_value(s + slash + 1, len - slash - 1, v6 ? 128 : 32);
		if (*c < 0)
			return fail(p, off + slash, "bad CIDR length");
	}
	if (!v6) {
		if (ip4_network(s, slash, p->t->addr) < 0)
			return fail(p, off, "ip4 address is not a.b.c.d");
		return 0;
	}
	if (slash == 0 || slash >= sizeof(buf))
		return fail(p, off, "bad ip6 address");
	memcpy(buf, s, slash);
	buf[slash] = '\0';
	if (inet_pton(AF_INET6, buf, p->t->addr) != 1)
		return fail(p, off, "bad ip6 address");
	return 0;
}

/* The part after a mechanism's name: s[off..off+len). */
static int
mech_arg(struct tparse *p, size_t off, size_t len)
{
	const char *s = p->rec + off;
	size_t speclen;

	switch (p->t->mech) {
	case SPF_M_ALL:
		return len == 0 ? 0 : fail(p, off, "'all' takes no argument");
	case SPF_M_INCLUDE:
	case SPF_M_EXISTS:
		if (len == 0 || s[0] != ':')
			return fail(p, off, "needs ':' and a domain");
		return domain_spec(p, off + 1, len - 1);
	case SPF_M_PTR:
		if (len == 0)
			return 0;
		if (s[0] != ':')
			return fail(p, off, "expected ':' and a domain");
		return domain_spec(p, off + 1, len - 1);
	case SPF_M_A:
	case SPF_M_MX:
		speclen = len;
		if (dual_cidr(p, off, &speclen) < 0)
			return -1;
		if (speclen == 0)
			return 0;
		if (s[0] != ':')
			return fail(p, off, "expected ':' and a domain, or a CIDR length");
		return domain_spec(p, off + 1, speclen - 1);
	case SPF_M_IP4:
		return ip_arg(p, off, len, 0);
	case SPF_M_IP6:
		return ip_arg(p, off, len, 1);
	}
	return fail(p, off, "unknown mechanism");
}

static int
parse_directive(struct tparse *p)
{
	struct spf_term *t = p->t;
	const char *s = p->rec + t->pos;
	size_t i = 0, n, k;

	t->kind = SPF_T_MECH;
	t->qual = '+';
	if (s[0] == '+' || s[0] == '-' || s[0] == '~' || s[0] == '?') {
		t->qual = s[0];
		i = 1;
	}
	for (n = i; n < t->len && s[n] != ':' && s[n] != '/'; n++)
		;
	for (k = 0; k < sizeof(mech_names) / sizeof(mech_names[0]); k++) {
		if (strlen(mech_names[k]) == n - i &&
		    strncasecmp(s + i, mech_names[k], n - i) == 0) {
			t->mech = (enum spf_mech)k;
			return mech_arg(p, t->pos + n, t->len - n);
		}
	}
	return fail(p, t->pos + i, "unknown mechanism");
}

static int
parse_modifier(struct tparse *p, size_t nlen, struct spf_record *rec)
{
	struct spf_term *t = p->t;
	const char *s = p->rec + t->pos;
	size_t voff = t->pos + nlen + 1, vlen = t->len - nlen - 1, bad = 0;
	int idx = (int)(p->index - 1);

	if (nlen == 8 && strncasecmp(s, "redirect", 8) == 0) {
		t->kind = SPF_T_REDIRECT;
		if (rec->redirect >= 0)
			return fail(p, t->pos, "redirect= given twice");
		rec->redirect = idx;
		return domain_spec(p, voff, vlen);
	}
	if (nlen == 3 && strncasecmp(s, "exp", 3) == 0) {
		t->kind = SPF_T_EXP;
		if (rec->exp >= 0)
			return fail(p, t->pos, "exp= given twice");
		rec->exp = idx;
		return domain_spec(p, voff, vlen);
	}
	t->kind = SPF_T_UNKNOWN_MOD;
	t->spec = voff;
	t->spec_len = vlen;
	if (spf_macro_check(p->rec + voff, vlen, 1, &bad) < 0 ||
	    memchr(p->rec + voff, ' ', vlen) != NULL)
		return fail(p, voff + bad, "bad macro-string in a modifier value");
	return 0;
}

static int
parse_term(struct tparse *p, struct spf_record *rec)
{
	const char *s = p->rec + p->t->pos;
	size_t nlen = name_len(s, p->t->len);

	p->t->cidr4 = p->t->cidr6 = -1;
	if (nlen > 0 && nlen < p->t->len && s[nlen] == '=')
		return parse_modifier(p, nlen, rec);
	return parse_directive(p);
}

/* Counts terms (runs of non-SP after "v=spf1") and checks the octets. */
static int
count_terms(const char *txt, size_t len, size_t *n, char *err, size_t errlen)
{
	size_t i;

	*n = 0;
	for (i = 6; i < len; i++) {
		unsigned char c = (unsigned char)txt[i];

		if (c != ' ' && (c < 0x21 || c > 0x7e)) {
			str_format(err, errlen, "syntax error at offset %zu: octet 0x%02x "
			    "is not allowed in an SPF record", i, c);
			return -1;
		}
		if (c != ' ' && txt[i - 1] == ' ')
			(*n)++;
	}
	return 0;
}

int
spf_record_parse(const char *txt, size_t len, struct spf_record *rec,
    char *err, size_t errlen)
{
	struct tparse p;
	size_t n, i, k = 0;

	memset(rec, 0, sizeof(*rec));
	rec->redirect = rec->exp = -1;
	if (!spf_record_is_spf(txt, len)) {
		str_format(err, errlen, "not an SPF record (no v=spf1)");
		return -1;
	}
	if (count_terms(txt, len, &n, err, errlen) < 0)
		return -1;
	rec->text = malloc(len + 1);
	rec->terms = calloc(n ? n : 1, sizeof(*rec->terms));
	if (rec->text == NULL || rec->terms == NULL) {
		str_format(err, errlen, "out of memory");
		spf_record_free(rec);
		return -1;
	}
	memcpy(rec->text, txt, len);
	rec->text[len] = '\0';
	rec->len = len;
	p.rec = rec->text;
	p.err = err;
	p.errlen = errlen;
	for (i = 6; i < len && k < n; ) {
		if (rec->text[i] == ' ') {
			i++;
			continue;
		}
		p.t = &rec->terms[k];
		p.index = ++k;
		p.t->pos = i;
		while (i < len && rec->text[i] != ' ')
			i++;
		p.t->len = i - p.t->pos;
		rec->n = k;
		if (parse_term(&p, rec) < 0) {
			spf_record_free(rec);
			return -1;
		}
	}
	return 0;
}

void
spf_record_free(struct spf_record *rec)
{
	free(rec->text);
	free(rec->terms);
	memset(rec, 0, sizeof(*rec));
	rec->redirect = rec->exp = -1;
}

void
spf_term_text(const struct spf_record *rec, size_t i, char *buf,
    size_t buflen)
{
	if (i >= rec->n) {
		str_format(buf, buflen, "?");
		return;
	}
	str_format(buf, buflen, "%.*s", (int)rec->terms[i].len,
	    rec->text + rec->terms[i].pos);
}
