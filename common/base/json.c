/*
 * json: JSON writer; see json.h.
 */
#include "config.h"

#include <string.h>

#include "json.h"

void
json_init(struct json *j, struct sbuf *b)
{
	memset(j, 0, sizeof(*j));
	j->b = b;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), 0 if none. */
static int
utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	int n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static void
escape(struct sbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	sbuf_addc(b, '"');
	while (*p) {
		const unsigned char *run = p;
		unsigned char c;
		int n;

		/* plain printable ASCII in one piece */
		while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			sbuf_add(b, run, (size_t)(p - run));
		if (*p == '\0')
			break;
		c = *p;
		n = utf8_len(p);

		if (n == 0) {
			sbuf_addstr(b, "\\ufffd");
			p++;
			continue;
		}
		if (n > 1) {
			sbuf_add(b, p, (size_t)n);
			p += n;
			continue;
		}
		if (c == '"' || c == '\\')
			sbuf_printf(b, "\\%c", c);
		else if (c == '\n')
			sbuf_addstr(b, "\\n");
		else if (c == '\r')
			sbuf_addstr(b, "\\r");
		else if (c == '\t')
			sbuf_addstr(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			sbuf_printf(b, "\\u%04x", c);
		else
			sbuf_addc(b, (char)c);
		p++;
	}
	sbuf_addc(b, '"');
}

static void
prefix(struct json *j, const char *key)
{
	if (j->depth > 0 && j->need_comma[j->depth])
		sbuf_addc(j->b, ',');
	if (j->depth > 0)
		j->need_comma[j->depth] = 1;
	if (key != NULL) {
		escape(j->b, key);
		sbuf_addc(j->b, ':');
	}
}

static void
begin_(struct json *j, const char *key, char c)
{
	prefix(j, key);
	sbuf_addc(j->b, c);
	if (j->depth < (int)sizeof(j->need_comma) - 1)
		j->depth++;
	j->need_comma[j->depth] = 0;
}

static void
close_(struct json *j, char c)
{
	sbuf_addc(j->b, c);
	if (j->depth > 0)
		j->depth--;
}

void json_obj_begin(struct json *j, const char *key) { begin_(j, key, '{'); }
void json_obj_end(struct json *j) { close_(j, '}'); }
void json_arr_begin(struct json *j, const char *key) { begin_(j, key, '['); }
void json_arr_end(struct json *j) { close_(j, ']'); }

void
json_str(struct json *j, const char *key, const char *v)
{
	prefix(j, key);
	if (v == NULL)
		sbuf_addstr(j->b, "null");
	else
		escape(j->b, v);
}

void
json_int(struct json *j, const char *key, long v)
{
	prefix(j, key);
	sbuf_addnum(j->b, v);
}

void
json_bool(struct json *j, const char *key, int v)
{
	prefix(j, key);
	sbuf_addstr(j->b, v ? "true" : "false");
}
