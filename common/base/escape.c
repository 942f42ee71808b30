/*
 * escape: values for the log line, the report and CSV; see escape.h.
 */
#include "config.h"

#include <string.h>

#include "escape.h"

/* Whether c is written as it is under flags. */
static int
kept(unsigned char c, unsigned flags)
{
	return (c > ' ' && c < 0x7f && c != '"' && c != '\\') ||
	    (c == ' ' && (flags & ESCAPE_KEEP_SPACE)) ||
	    ((c == '"' || c == '\\') && (flags & ESCAPE_KEEP_QUOTES)) ||
	    ((c == '\t' || c == '\n') && (flags & ESCAPE_KEEP_LAYOUT));
}

void
escape_text(struct sbuf *b, const char *v, unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)v;

	while (*p) {
		const unsigned char *run = p;

		while (*p && kept(*p, flags))
			p++;
		if (p > run)	/* what is kept, in one append */
			sbuf_add(b, run, (size_t)(p - run));
		if (*p) {
			char e[4] = { '\\', 'x', hex[*p >> 4], hex[*p & 15] };

			sbuf_add(b, e, sizeof(e));
			p++;
		}
	}
}

void
escape_csv_cell(struct sbuf *b, const char *v)
{
	int formula = v[0] != '\0' && strchr("=+-@\t\r", v[0]) != NULL;

	if (!formula && strpbrk(v, ",\"\r\n") == NULL) {
		sbuf_addstr(b, v);
		return;
	}
	sbuf_addc(b, '"');
	if (formula)
		sbuf_addc(b, '\'');
	for (; *v; v++) {
		if (*v == '"')
			sbuf_addc(b, '"');
		sbuf_addc(b, *v);
	}
	sbuf_addc(b, '"');
}
