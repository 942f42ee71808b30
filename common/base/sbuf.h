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
int sbuf_add(struct sbuf *b, const void *p, size_t n);
int sbuf_addstr(struct sbuf *b, const char *s);
int sbuf_addc(struct sbuf *b, char c);
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

#endif
