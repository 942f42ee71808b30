/*
 * dkim_tags: RFC 6376 3.2 tag lists, base64 and dkim-quoted-printable;
 * see dkim_tags.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dkim_tags.h"

static int
is_fws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


/* A value byte: VALCHAR (printable but ';'), or 8-bit (RFC 8616). */
static int
is_valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e && c != ';') || c >= 0x80;
}

static int
tag_error(char *why, size_t whylen, const char *what, size_t off)
{
	snprintf(why, whylen, "tag syntax: %s at offset %zu", what, off);
	return -1;
}

int
dkim_tags_parse(const char *text, size_t len, struct dkim_tags *out,
    char *why, size_t whylen)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	out->n = 0;
	for (;;) {
		struct dkim_tag *t;
		size_t v0, v1;

		while (i < len && is_fws(s[i]))
			i++;
		if (i == len)
			return 0;
		if (!isalpha(s[i]))
			return tag_error(why, whylen, s[i] == ';' ? "empty tag" :
			    "tag name expected", i);
		if (out->n == DKIM_TAGS_MAX)
			return tag_error(why, whylen, "too many tags", i);
		t = &out->t[out->n];
		t->name = text + i;
		while (i < len && (isalnum(s[i]) || s[i] == '_'))
			i++;
		t->name_len = (size_t)(text + i - t->name);
		while (i < len && is_fws(s[i]))
			i++;
		if (i == len || s[i] != '=')
			return tag_error(why, whylen, "'=' expected", i);
		i++;
		t->raw_start = i;
		while (i < len && is_fws(s[i]))
			i++;
		v0 = v1 = i;
		for (; i < len && s[i] != ';'; i++) {
			if (is_valchar(s[i]))
				v1 = i + 1;
			else if (!is_fws(s[i]))
				return tag_error(why, whylen, "bad character in value", i);
		}
		t->raw_end = i;
		t->value = text + v0;
		t->value_len = v1 > v0 ? v1 - v0 : 0;
		for (size_t k = 0; k < out->n; k++)
			if (out->t[k].name_len == t->name_len &&
			    memcmp(out->t[k].name, t->name, t->name_len) == 0) {
				snprintf(why, whylen, "tag syntax: tag %.*s appears twice",
				    (int)(t->name_len > 16 ? 16 : t->name_len), t->name);
				return -1;
			}
		out->n++;
		if (i == len)
			return 0;
		i++;		/* the ';' */
	}
}

const struct dkim_tag *
dkim_tags_get(const struct dkim_tags *t, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < t->n; i++)
		if (t->t[i].name_len == n && memcmp(t->t[i].name, name, n) == 0)
			return &t->t[i];
	return NULL;
}

int
dkim_tag_is(const struct dkim_tag *t, const char *s, int nocase)
{
	size_t n = strlen(s);

	if (t == NULL || t->value_len != n)
		return 0;
	return nocase ? strncasecmp(t->value, s, n) == 0 : memcmp(t->value, s, n) == 0;
}

int
dkim_tag_number(const struct dkim_tag *t, unsigned long long *out)
{
	unsigned long long v = 0;

	if (t->value_len == 0 || t->value_len > 20)
		return -1;
	for (size_t i = 0; i < t->value_len; i++) {
		unsigned d;

		if (!isdigit((unsigned char)t->value[i]))
			return -1;
		d = (unsigned)(t->value[i] - '0');
		if (v > (~0ULL - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
dkim_list_item(const char **p, const char *end, const char **item, size_t *len)
{
	const char *s = *p, *colon, *e;

	if (s == NULL || s >= end)
		return 0;
	colon = memchr(s, ':', (size_t)(end - s));
	e = colon != NULL ? colon : end;
	while (s < e && is_fws((unsigned char)*s))
		s++;
	while (e > s && is_fws((unsigned char)e[-1]))
		e--;
	*item = s;
	*len = (size_t)(e - s);
	*p = colon != NULL ? colon + 1 : end;
	return 1;
}

int
dkim_tag_list_has(const struct dkim_tag *t, const char *want, int prefix)
{
	const char *p = t->value, *item;
	size_t wl = strlen(want), n;

	while (dkim_list_item(&p, t->value + t->value_len, &item, &n))
		if ((n == wl || (prefix && n > wl)) && strncasecmp(item, want, wl) == 0)
			return 1;
	return 0;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
dkim_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outlen)
{
	unsigned long acc = 0;
	unsigned nbits = 0, nchars = 0, npad = 0;
	size_t o = 0;

	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (is_fws(c))
			continue;
		if (c == '=') {
			npad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || npad > 0)
			return -1;	/* bad character, or data after padding */
		acc = (acc << 6) | (unsigned long)v;
		nbits += 6;
		nchars++;
		if (nbits >= 8) {
			nbits -= 8;
			if (o == outlen)
				return -1;
			out[o++] = (unsigned char)(acc >> nbits);
			acc &= (1UL << nbits) - 1;
		}
	}
	/*
	 * 4n chars and no padding, 4n+2 with "==", 4n+3 with "=". Padding
	 * that is missing or short is accepted (the bytes are all there; a
	 * relay that drops a final '=' is harmless), as libopendkim does.
	 */
	if (nchars % 4 == 1 || (nchars % 4 == 0 && npad != 0) || npad > 2)
		return -1;
	if (acc != 0)
		return -1;	/* leftover bits must be zero */
	return (long)o;
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

long
dkim_qp_decode_str(const char *in, size_t inlen, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return -1;
	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (is_fws(c))
			continue;
		if (c == '=') {
			int hi, lo;

			if (inlen - i < 3)
				return -1;	/* "=X" or "=" at the end */
			hi = hex_value((unsigned char)in[i + 1]);
			lo = hex_value((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (long)o;
}

/* C's isspace in the C locale, whatever the locale is */
static int
is_cspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

void
dkim_tags_shape(const char *text, size_t len, struct dkim_tags_shape *out)
{
	const char *p = text, *end = text + len;

	out->tags = 0;
	out->h_names = 0;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *e = semi != NULL ? semi : end;
		const char *q, *eq = NULL;
		size_t name = 0, colons = 0;
		int solid = 0, is_h = 0;

		for (q = p; q < e; q++) {
			unsigned char c = (unsigned char)*q;

			if (is_cspace(c))
				continue;
			solid = 1;
			if (eq != NULL) {
				colons += c == ':';
			} else if (c == '=') {
				eq = q;
			} else {
				is_h = name == 0 && (c == 'h' || c == 'H');
				name++;
			}
		}
		out->tags += solid;
		if (eq != NULL && name == 1 && is_h && colons + 1 > out->h_names)
			out->h_names = colons + 1;
		p = semi != NULL ? semi + 1 : end;
	}
}
