#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

static char sbuf_empty[1];

void
sbuf_init(struct sbuf *b, size_t max)
{
	b->s = sbuf_empty;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->overflow = 0;
}

void
sbuf_free(struct sbuf *b)
{
	if (b->cap > 0)
		free(b->s);
	sbuf_init(b, b->max);
}

void
sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	b->overflow = 0;
	if (b->cap > 0)
		b->s[0] = '\0';
}

static int
sbuf_reserve(struct sbuf *b, size_t n)
{
	size_t need, ncap;
	char *p;

	if (n > b->max - b->len) {
		b->overflow = 1;
		return -1;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	p = b->cap > 0 ? realloc(b->s, ncap) : malloc(ncap);
	if (p == NULL) {
		b->overflow = 1;
		return -1;
	}
	if (b->cap == 0)
		p[0] = '\0';
	b->s = p;
	b->cap = ncap;
	return 0;
}

int
sbuf_add(struct sbuf *b, const void *p, size_t n)
{
	if (sbuf_reserve(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int
sbuf_addstr(struct sbuf *b, const char *s)
{
	return sbuf_add(b, s, strlen(s));
}

int
sbuf_addc(struct sbuf *b, char c)
{
	return sbuf_add(b, &c, 1);
}

int
sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	/* room after the content, its NUL included (none before the first
	 * allocation: b->s is then the shared empty string) */
	size_t room = b->cap - b->len;
	va_list cp;
	int n;

	/* formatted once where it fits (the usual case), else measured by
	 * that same call and formatted again into the grown buffer; a text
	 * that fits the room fits the maximum too (cap <= max + 1) */
	va_copy(cp, ap);
	n = vsnprintf(b->cap > 0 ? b->s + b->len : NULL, b->cap > 0 ? room : 0, fmt, cp);
	va_end(cp);
	if (b->cap > 0 && n >= 0 && (size_t)n < room) {
		b->len += (size_t)n;
		return 0;
	}
	if (b->cap > 0)
		b->s[b->len] = '\0';	/* what did not fit is not content */
	if (n < 0 || sbuf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sbuf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *
sbuf_detach(struct sbuf *b)
{
	char *s = b->cap > 0 ? b->s : strdup("");

	sbuf_init(b, b->max);
	return s;
}

size_t
str_copy(char *dst, size_t dstlen, const char *src)
{
	size_t n = src != NULL ? strnlen(src, dstlen - 1) : 0;

	memcpy(dst, src != NULL ? src : "", n);
	dst[n] = '\0';
	return n;
}
