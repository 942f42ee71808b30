/*
 * sbuf: the one bounded string type for untrusted input.
 *
 * A growable byte buffer with a hard maximum. Appends never write past the
 * maximum: an append that would exceed it copies nothing, sets `overflow`
 * and returns -1, so callers check once at the edge. The content is always
 * NUL-terminated (the NUL is not counted in len and may also occur inside
 * the data). Allocation failure is treated like overflow.
 */
#ifndef SC_SBUF_H
#define SC_SBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct sbuf {
	char *s;	/* NUL-terminated content, never NULL after sbuf_init */
	size_t len;	/* bytes used, excluding the NUL */
	size_t cap;	/* bytes allocated */
	size_t max;	/* hard limit on len */
	int overflow;	/* set when an append was refused */
};

void sbuf_init(struct sbuf *b, size_t max);
void sbuf_free(struct sbuf *b);
void sbuf_reset(struct sbuf *b);
/* Room for n more octets allocated at once (up to the maximum): for a
 * caller that knows about how long its text gets. Nothing is added. */
void sbuf_presize(struct sbuf *b, size_t n);
int sbuf_add_grow(struct sbuf *b, const void *p, size_t n);

/* The appends copy in place while the text fits what is allocated (the
 * renderers' many short appends), else go through the bound and growth
 * of sbuf_add_grow. cap <= max + 1: what fits cap is within the bound. */
static inline int
sbuf_add(struct sbuf *b, const void *p, size_t n)
{
	if (n < b->cap - b->len) {
		if (n > 0)	/* p may be NULL then */
			memcpy(b->s + b->len, p, n);
		b->len += n;
		b->s[b->len] = '\0';
		return 0;
	}
	return sbuf_add_grow(b, p, n);
}

static inline int
sbuf_addstr(struct sbuf *b, const char *s)
{
	return sbuf_add(b, s, strlen(s));
}

static inline int
sbuf_addc(struct sbuf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->s[b->len++] = c;
		b->s[b->len] = '\0';
		return 0;
	}
	return sbuf_add_grow(b, &c, 1);
}

/* The decimal digits of n. */
int sbuf_addnum(struct sbuf *b, long long n);
/*
 * sbuf_printf and str_format write the conversions %s, %.Ns, %.*s, %c,
 * %d, %i and %u (with l, ll or z) and %% themselves, as printf would,
 * without its per-call cost (the renderers call them per field); any
 * other format goes to vsnprintf.
 */
int sbuf_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Hands the string to the caller (who frees it) and re-initialises b. */
char *sbuf_detach(struct sbuf *b);

/*
 * Copies the C string src (NULL: "") into the fixed array dst of dstlen
 * octets (> 0), cut to fit and always NUL-terminated: what
 * snprintf(dst, dstlen, "%s", src) does, without the formatter's cost on
 * the per-message paths. Returns the length copied.
 */
size_t str_copy(char *dst, size_t dstlen, const char *src);

/* snprintf(dst, dstlen, fmt, ...), the common conversions without the
 * formatter (see sbuf_printf). */
int str_format(char *dst, size_t dstlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int str_vformat(char *dst, size_t dstlen, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
