/*
 * authres: RFC 8601 writer and authserv-id reader; see authres.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "dnsname.h"
#include "rfc5322.h"

#define AUTHRES_MAX 16384

void
authres_begin(struct authres *a, const char *authserv_id)
{
	sbuf_init(&a->b, AUTHRES_MAX);
	sbuf_presize(&a->b, 1024);	/* a usual field: one allocation */
	a->methods = 0;
	sbuf_addstr(&a->b, authserv_id);
}

void
authres_method(struct authres *a, const char *method, const char *result)
{
	sbuf_addstr(&a->b, ";\n\t");
	sbuf_addstr(&a->b, method);
	sbuf_addc(&a->b, '=');
	sbuf_addstr(&a->b, result);
	a->methods++;
}

/* RFC 2045 token octets: printable ASCII but tspecials (a switch, not a
 * strchr per octet: every property value of every A-R field comes here) */
static int
is_token_char(unsigned char c)
{
	if (c <= ' ' || c >= 0x7f)
		return 0;
	switch (c) {
	case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
	case '\\': case '"': case '/': case '[': case ']': case '?': case '=':
		return 0;
	default:
		return 1;
	}
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
	return dns_name_check(at + 1, strlen(at + 1), DNS_NAME_HOST, NULL, 0) < 0;
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

/* A reason is for people: its '"' become "'", which every reader takes
 * (Mail::AuthenticationResults refuses a quoted-pair '\"' in a value). */
void
authres_reason(struct authres *a, const char *text)
{
	char *t = strdup(text);

	sbuf_addstr(&a->b, " reason=");
	if (t == NULL) {
		authres_add_quoted(&a->b, "");
		return;
	}
	for (char *p = t; *p; p++)
		if (*p == '"')
			*p = '\'';
	authres_add_quoted(&a->b, t);
	free(t);
}

/* " ptype.property=" */
static void
prop_name(struct authres *a, const char *ptype_property)
{
	sbuf_addc(&a->b, ' ');
	sbuf_addstr(&a->b, ptype_property);
	sbuf_addc(&a->b, '=');
}

void
authres_prop(struct authres *a, const char *ptype_property, const char *value)
{
	prop_name(a, ptype_property);
	if (authres_needs_quoting(value))
		authres_add_quoted(&a->b, value);
	else
		sbuf_addstr(&a->b, value);
}

void
authres_prop_quoted(struct authres *a, const char *ptype_property, const char *value)
{
	prop_name(a, ptype_property);
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

/* How a reading treats one octet of the authserv-id part. */
enum octet_use { KEEP, DROP, SEP };
typedef enum octet_use (*octet_reading)(unsigned char c);

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_id_char(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_';
}

/* RFC 8601: white space separates; a quoted-string's quotes and escapes go */
static enum octet_use
read_rfc(unsigned char c)
{
	return is_space(c) ? SEP : (c == '"' || c == '\\') ? DROP : KEEP;
}

/* control bytes and 8-bit octets (a no-break space) taken for white space */
static enum octet_use
read_ctl_as_space(unsigned char c)
{
	return (c < 0x20 || c >= 0x7f) ? SEP : read_rfc(c);
}

/* control bytes and 8-bit octets ignored */
static enum octet_use
read_ctl_dropped(unsigned char c)
{
	return is_space(c) ? SEP : (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? DROP : KEEP;
}

/* a token ends at any octet that is not a token octet */
static enum octet_use
read_tokens(unsigned char c)
{
	return is_token_char(c) ? KEEP : SEP;
}

/* everything but the octets of a host name ignored: one word */
static enum octet_use
read_squashed(unsigned char c)
{
	return is_id_char(c) ? KEEP : DROP;
}

/* word (trailing dots dropped) is id, or id followed by a version number */
static int
word_is(const char *w, size_t n, const char *id, size_t idn)
{
	while (n > 0 && w[n - 1] == '.')
		n--;
	if (n < idn || idn == 0 || strncasecmp(w, id, idn) != 0)
		return 0;
	for (size_t i = idn; i < n; i++)
		if (!isdigit((unsigned char)w[i]))
			return 0;
	return 1;
}

/* Whether a word of s (n octets), read by how, is id. */
static int
has_word(const char *s, size_t n, octet_reading how, const char *id, size_t idn)
{
	char w[300];
	size_t wl = 0;
	int too_long = 0;

	for (size_t i = 0; i <= n; i++) {
		enum octet_use u = i < n ? how((unsigned char)s[i]) : SEP;

		if (u == KEEP) {
			if (wl < sizeof(w))
				w[wl++] = s[i];
			else
				too_long = 1;
		} else if (u == SEP) {
			if (!too_long && word_is(w, wl, id, idn))
				return 1;
			wl = 0;
			too_long = 0;
		}
	}
	return 0;
}

/* s without comments (nested, with quoted-pairs), as RFC parsers read it */
static size_t
strip_comments(const char *s, size_t n, char *out)
{
	size_t o = 0, depth = 0;
	int quoted = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (depth == 0 && c == '"')
			quoted = !quoted;
		if (!quoted && c == '(') {
			depth++;
			out[o++] = ' ';
		} else if (!quoted && depth > 0 && c == ')') {
			depth--;
		} else if (depth > 0) {
			if (c == '\\' && i + 1 < n)
				i++;
		} else {
			if (quoted && c == '\\' && i + 1 < n)
				out[o++] = s[i++];
			out[o++] = s[i];
		}
	}
	return o;
}

/* The end of the authserv-id part: the first ';' outside quotes and comments. */
static size_t
rfc_id_end(const char *s, size_t n)
{
	size_t depth = 0;
	int quoted = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && (quoted || depth > 0))
			i++;
		else if (depth == 0 && s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == '(')
			depth++;
		else if (!quoted && depth > 0 && s[i] == ')')
			depth--;
		else if (!quoted && depth == 0 && s[i] == ';')
			return i;
	}
	return n;
}

int
authres_claims_id(const char *value, size_t len, const char *authserv_id)
{
	static const octet_reading readings[] = { read_rfc, read_ctl_as_space, read_ctl_dropped,
	    read_tokens, read_squashed };
	const char *semi = memchr(value, ';', len);
	size_t idn = strlen(authserv_id), parts_n[3];
	const char *parts[3];
	char *stripped;
	int found = 0;

	while (idn > 0 && authserv_id[idn - 1] == '.')
		idn--;
	if (idn == 0)
		return 0;
	/* the id part as a naive reader cuts it, as RFC 8601 does, and without comments */
	parts[0] = value;
	parts_n[0] = semi ? (size_t)(semi - value) : len;
	parts[1] = value;
	parts_n[1] = rfc_id_end(value, len);
	if ((stripped = malloc(parts_n[1] + 1)) == NULL)
		return 1;	/* when in doubt: ours */
	parts[2] = stripped;
	parts_n[2] = strip_comments(value, parts_n[1], stripped);
	for (size_t p = 0; p < 3 && !found; p++)
		for (size_t r = 0; r < sizeof(readings) / sizeof(readings[0]) && !found; r++)
			found = has_word(parts[p], parts_n[p], readings[r], authserv_id, idn);
	free(stripped);
	return found;
}

/* ---- reading results ---- */

struct reader {
	const char *s;
	size_t len, pos;
};

static int
skip_cfws(struct reader *r)
{
	return r5322_skip_cfws_lenient(r->s, r->len, &r->pos);
}

/* A token (RFC 2045) into out, lower-cased when lower; -1 if none or too long. */
static int
read_token(struct reader *r, char *out, size_t outlen, int lower)
{
	size_t n = 0;

	while (r->pos < r->len && is_token_char((unsigned char)r->s[r->pos])) {
		if (n + 1 >= outlen)
			return -1;
		out[n++] = lower ? (char)tolower((unsigned char)r->s[r->pos]) : r->s[r->pos];
		r->pos++;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* A property value: a quoted string (unquoted), or token and '@' / '.' runs. */
static int
read_value(struct reader *r, char *out, size_t outlen)
{
	size_t n = 0;

	if (r->pos < r->len && r->s[r->pos] == '"') {
		for (r->pos++; r->pos < r->len && r->s[r->pos] != '"'; r->pos++) {
			if (r->s[r->pos] == '\\' && r->pos + 1 < r->len)
				r->pos++;
			if (n + 1 >= outlen)
				return -1;
			out[n++] = r->s[r->pos];
		}
		if (r->pos == r->len)
			return -1;
		r->pos++;
		out[n] = '\0';
		return 0;
	}
	while (r->pos < r->len && (is_token_char((unsigned char)r->s[r->pos]) ||
	    r->s[r->pos] == '@' || r->s[r->pos] == '/')) {
		if (n + 1 >= outlen)
			return -1;
		out[n++] = r->s[r->pos++];
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

static int
expect(struct reader *r, char c)
{
	if (skip_cfws(r) < 0 || r->pos >= r->len || r->s[r->pos] != c)
		return -1;
	r->pos++;
	return skip_cfws(r);
}

/* One resinfo; 0, or -1 when it does not parse. */
static int
read_result(struct reader *r, struct authres_result *res)
{
	char ver[16];

	memset(res, 0, sizeof(*res));
	if (skip_cfws(r) < 0 || read_token(r, res->method, sizeof(res->method), 1) < 0)
		return -1;
	if (skip_cfws(r) < 0)
		return -1;
	if (r->pos < r->len && r->s[r->pos] == '/' &&
	    (expect(r, '/') < 0 || read_token(r, ver, sizeof(ver), 0) < 0))
		return -1;
	if (expect(r, '=') < 0 || read_token(r, res->result, sizeof(res->result), 1) < 0)
		return -1;
	for (;;) {
		char name[48], value[256];

		if (skip_cfws(r) < 0)
			return -1;
		if (r->pos >= r->len || r->s[r->pos] == ';')
			return 0;
		if (read_token(r, name, sizeof(name), 1) < 0)
			return -1;
		if (skip_cfws(r) < 0)
			return -1;
		if (strcmp(name, "reason") == 0 || strcmp(name, "action") == 0) {
			if (expect(r, '=') < 0 || read_value(r, value, sizeof(value)) < 0)
				return -1;
			continue;
		}
		/* ptype "." property "=" pvalue ('.' is a token character) */
		if (strchr(name, '.') == NULL || name[0] == '.' || name[strlen(name) - 1] == '.')
			return -1;
		if (expect(r, '=') < 0 || read_value(r, value, sizeof(value)) < 0)
			return -1;
		if (res->n_props < AUTHRES_MAX_PROPS) {
			snprintf(res->props[res->n_props].name, sizeof(res->props[0].name), "%s", name);
			snprintf(res->props[res->n_props].value, sizeof(res->props[0].value), "%s", value);
			res->n_props++;
		}
	}
}

size_t
authres_read_results(const char *text, size_t len, struct authres_result *out, size_t max)
{
	struct reader r = { text, len, 0 };
	size_t n = 0;

	while (n < max) {
		if (skip_cfws(&r) < 0 || r.pos >= r.len)
			break;
		if (r.s[r.pos] == ';') {
			r.pos++;
			continue;
		}
		if (read_result(&r, &out[n]) < 0)
			break;
		if (strcmp(out[n].method, "none") != 0)
			n++;
	}
	return n;
}

const char *
authres_result_prop(const struct authres_result *r, const char *name)
{
	for (size_t i = 0; i < r->n_props; i++)
		if (strcmp(r->props[i].name, name) == 0)
			return r->props[i].value;
	return NULL;
}
