#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

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

void
sbuf_presize(struct sbuf *b, size_t n)
{
	int over = b->overflow;

	if (n > b->max - b->len)
		n = b->max - b->len;
	if (sbuf_reserve(b, n) < 0)
		b->overflow = over;	/* out of memory: the appends will say */
}

int
sbuf_add_grow(struct sbuf *b, const void *p, size_t n)
{
	if (sbuf_reserve(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

/*
 * The format subset written without vsnprintf (sbuf.h). One conversion:
 * '%' ['.' digits | ".*"] [l | ll | z] (s | c | d | i | u), or "%%".
 */
struct conv {
	int prec;	/* -1: none; -2: from the arguments */
	int size;	/* 0 int, 1 long, 2 long long, 3 size_t */
	char type;
	size_t len;	/* of the conversion in the format */
};

static inline int
conv_parse(const char *p, struct conv *c)
{
	const char *q = p + 1;

	c->prec = -1;
	c->size = 0;
	if (*q == '.') {
		q++;
		if (*q == '*') {
			c->prec = -2;
			q++;
		} else {
			c->prec = 0;
			for (; *q >= '0' && *q <= '9'; q++)
				if ((c->prec = c->prec * 10 + (*q - '0')) > 99999)
					return 0;	/* no such text here: libc's */
		}
	}
	if (q[0] == 'l' && q[1] == 'l') {
		c->size = 2;
		q += 2;
	} else if (*q == 'l') {
		c->size = 1;
		q++;
	} else if (*q == 'z') {
		c->size = 3;
		q++;
	}
	c->type = *q;
	c->len = (size_t)(q + 1 - p);
	switch (*q) {
	case 's':
		return c->size == 0;
	case 'c':
	case '%':
		return c->size == 0 && c->prec == -1;
	case 'd':
	case 'i':
	case 'u':
		return c->prec == -1;
	default:
		return 0;
	}
}

/* Where the pieces go: a fixed array (cut, counted on) or an sbuf. */
struct out {
	char *dst;		/* the array, NULL for the sbuf */
	size_t room;		/* octets of the array, its NUL included */
	size_t n;		/* written (or that would have been) */
	struct sbuf *b;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->b != NULL) {
		sbuf_add(o->b, s, n);
	} else if (o->n < o->room) {
		size_t k = o->room - 1 - o->n < n ? o->room - 1 - o->n : n;

		memcpy(o->dst + o->n, s, k);
	}
	o->n += n;
}

/* The digits of u (after a '-' when neg), at the end of d. */
static const char *
num_text(char d[24], unsigned long long u, int neg)
{
	char *p = d + 24;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	if (neg)
		*--p = '-';
	return p;
}

static void
put_num(struct out *o, unsigned long long u, int neg)
{
	char d[24];
	const char *p = num_text(d, u, neg);

	put(o, p, (size_t)(d + sizeof(d) - p));
}

/* fmt with va_list ap (by pointer: it is advanced); -1 at the first
 * conversion not of the subset (what was put is then to be dropped). */
static int
format_simple(struct out *o, const char *fmt, va_list *ap)
{
	struct conv c;

	for (const char *p = fmt; *p; p += c.len) {
		const char *pct = strchr(p, '%');

		if (pct != p) {
			size_t run = pct != NULL ? (size_t)(pct - p) : strlen(p);

			put(o, p, run);
			c.len = run;
			continue;
		}
		if (!conv_parse(p, &c))
			return -1;
		if (c.prec == -2) {
			c.prec = va_arg(*ap, int);
			if (c.prec < 0)
				c.prec = -1;
		}
		switch (c.type) {
		case 's': {
			const char *s = va_arg(*ap, const char *);

			if (s == NULL)	/* glibc's way */
				s = c.prec < 0 || c.prec >= 6 ? "(null)" : "";
			put(o, s, c.prec < 0 ? strlen(s) : strnlen(s, (size_t)c.prec));
			break;
		}
		case 'c': {
			char ch = (char)va_arg(*ap, int);

			put(o, &ch, 1);
			break;
		}
		case '%':
			put(o, "%", 1);
			break;
		case 'u':
			put_num(o, c.size == 0 ? va_arg(*ap, unsigned) :
			    c.size == 1 ? va_arg(*ap, unsigned long) :
			    c.size == 2 ? va_arg(*ap, unsigned long long) : va_arg(*ap, size_t), 0);
			break;
		default: {	/* d, i */
			long long n = c.size == 0 ? va_arg(*ap, int) :
			    c.size == 1 ? va_arg(*ap, long) :
			    c.size == 2 ? va_arg(*ap, long long) : (long long)va_arg(*ap, ssize_t);

			put_num(o, n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n, n < 0);
			break;
		}
		}
	}
	return 0;
}

static int sbuf_format_libc(struct sbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static int
sbuf_format_libc(struct sbuf *b, const char *fmt, va_list ap)
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

/* All of it or, when it does not fit, nothing (as sbuf_add); a format
 * not of the subset goes to libc. */
int
sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	struct out o = { NULL, 0, 0, b };
	size_t len = b->len;
	int over = b->overflow, simple;
	va_list cp;

	b->overflow = 0;
	va_copy(cp, ap);
	simple = format_simple(&o, fmt, &cp) == 0;
	va_end(cp);
	if (!simple || b->overflow) {
		b->len = len;
		if (b->cap > 0)
			b->s[len] = '\0';
	}
	if (!simple) {
		b->overflow = over;
		return sbuf_format_libc(b, fmt, ap);
	}
	if (b->overflow)
		return -1;
	b->overflow = over;
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

int
str_vformat(char *dst, size_t dstlen, const char *fmt, va_list ap)
{
	struct out o = { dst, dstlen, 0, NULL };
	va_list cp;
	int simple;

	va_copy(cp, ap);
	simple = format_simple(&o, fmt, &cp) == 0;
	va_end(cp);
	if (!simple)
		return vsnprintf(dst, dstlen, fmt, ap);
	if (dstlen > 0)
		dst[o.n < dstlen ? o.n : dstlen - 1] = '\0';
	return o.n > INT_MAX ? -1 : (int)o.n;
}

int
str_format(char *dst, size_t dstlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = str_vformat(dst, dstlen, fmt, ap);
	va_end(ap);
	return n;
}

int
sbuf_addnum(struct sbuf *b, long long n)
{
	char d[24];
	const char *p = num_text(d, n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n, n < 0);

	return sbuf_add(b, p, (size_t)(d + sizeof(d) - p));
}
