/*
 * authres: RFC 8601 writer and authserv-id reader; see authres.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"

#define AUTHRES_MAX 16384

void
authres_begin(struct authres *a, const char *authserv_id)
{
	sbuf_init(&a->b, AUTHRES_MAX);
	a->methods = 0;
	sbuf_addstr(&a->b, authserv_id);
}

void
authres_method(struct authres *a, const char *method, const char *result)
{
	sbuf_printf(&a->b, ";\n\t%s=%s", method, result);
	a->methods++;
}

static int
is_token_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static int
is_domain(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

static int
is_simple_local_part(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr(".+-_", s[i]) == NULL)
			return 0;
	return 1;
}

int
authres_needs_quoting(const char *v)
{
	const char *at = strrchr(v, '@');
	size_t n = strlen(v), i;

	for (i = 0; i < n && is_token_char((unsigned char)v[i]); i++)
		;
	if (n > 0 && i == n)
		return 0;
	if (at == NULL)
		return 1;
	/* [local-part] "@" domain-name, RFC 8601 §2.2 pvalue */
	if (at != v && !is_simple_local_part(v, (size_t)(at - v)))
		return 1;
	return !is_domain(at + 1, strlen(at + 1));
}

void
authres_add_quoted(struct sbuf *b, const char *v)
{
	sbuf_addc(b, '"');
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch == '"' || ch == '\\')
			sbuf_addc(b, '\\');
		if (ch >= ' ')
			sbuf_addc(b, ch < 0x7f ? (char)ch : '?');
	}
	sbuf_addc(b, '"');
}

void
authres_reason(struct authres *a, const char *text)
{
	sbuf_addstr(&a->b, " reason=");
	authres_add_quoted(&a->b, text);
}

void
authres_prop(struct authres *a, const char *ptype_property, const char *value)
{
	sbuf_printf(&a->b, " %s=", ptype_property);
	if (authres_needs_quoting(value))
		authres_add_quoted(&a->b, value);
	else
		sbuf_addstr(&a->b, value);
}

void
authres_prop_quoted(struct authres *a, const char *ptype_property, const char *value)
{
	sbuf_printf(&a->b, " %s=", ptype_property);
	authres_add_quoted(&a->b, value);
}

void
authres_comment(struct authres *a, const char *text)
{
	sbuf_addstr(&a->b, " (");
	for (; *text; text++) {
		unsigned char ch = (unsigned char)*text;

		if (ch == '(' || ch == ')' || ch == '\\')
			sbuf_addc(&a->b, '\\');
		if (ch >= ' ')
			sbuf_addc(&a->b, ch < 0x7f ? (char)ch : '?');
	}
	sbuf_addc(&a->b, ')');
}

char *
authres_end(struct authres *a)
{
	if (a->methods == 0)
		sbuf_addstr(&a->b, "; none");
	return sbuf_detach(&a->b);
}

/* Skips white space and (nested) comments. */
static const char *
skip_cfws(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			return p;
		int depth = 0;
		for (; *p; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

char *
authres_authserv_id(const char *value)
{
	const char *p = skip_cfws(value), *start;


	char *id, *o;

	if (*p == '"') {
		/* a quoted-string: unescape quoted-pairs as a reader would */
		if ((id = o = malloc(strlen(p) + 1)) == NULL)
			return NULL;
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			*o++ = *p;
		}
		*o = '\0';
	} else {
		start = p;
		while (*p && *p != ';' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '(')
			p++;
		if ((id = strndup(start, (size_t)(p - start))) == NULL)
			return NULL;
		o = id + strlen(id);
	}
	/* "mx.example." names the same host as "mx.example" */
	while (o > id && o[-1] == '.')
		*--o = '\0';
	if (*id == '\0') {
		free(id);
		return NULL;
	}
	return id;
}
