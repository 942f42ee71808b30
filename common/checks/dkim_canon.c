/*
 * dkim_canon: header and body canonicalisation; see dkim_canon.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim_canon.h"
#include "dkim_tags.h"

static int
canon_name(const char *s, size_t len, enum dkim_canon *out)
{
	if (len == 6 && strncasecmp(s, "simple", 6) == 0)
		*out = CANON_SIMPLE;
	else if (len == 7 && strncasecmp(s, "relaxed", 7) == 0)
		*out = CANON_RELAXED;
	else
		return -1;
	return 0;
}

int
dkim_canon_parse(const char *s, size_t len, enum dkim_canon *hdr,
    enum dkim_canon *body, int *bad_body)
{
	const char *slash = memchr(s, '/', len);
	size_t hlen = slash != NULL ? (size_t)(slash - s) : len;

	*bad_body = 0;
	*body = CANON_SIMPLE;
	if (canon_name(s, hlen, hdr) < 0)
		return -1;
	if (slash != NULL && canon_name(slash + 1, len - hlen - 1, body) < 0) {
		*bad_body = 1;
		return -1;
	}
	return 0;
}

/* ---- bytes to a digest, in blocks ---- */

static void
hb_flush(struct dkim_hashbuf *h)
{
	if (h->n > 0 && !h->failed && EVP_DigestUpdate(h->ctx, h->b, h->n) != 1)
		h->failed = 1;
	h->n = 0;
}

static void
hb_put(struct dkim_hashbuf *h, const void *p, size_t n)
{
	if (n >= sizeof h->b) {
		hb_flush(h);
		if (!h->failed && EVP_DigestUpdate(h->ctx, p, n) != 1)
			h->failed = 1;
		return;
	}
	if (h->n + n > sizeof h->b)
		hb_flush(h);
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

static void
hb_putc(struct dkim_hashbuf *h, char c)
{
	if (h->n == sizeof h->b)
		hb_flush(h);
	h->b[h->n++] = (unsigned char)c;
}

/* ---- header fields ---- */

/* Relaxed value bytes: unfolded, WSP runs one SP, none at either end. */
static void
relaxed_value(struct dkim_hashbuf *h, const char *v, size_t len, int *started, int *wsp)
{
	for (size_t i = 0; i < len; i++) {
		char c = v[i];

		if (c == '\r' && i + 1 < len && v[i + 1] == '\n') {
			i++;		/* unfold: CRLF dropped */
			continue;
		}
		if (c == ' ' || c == '\t') {
			*wsp = 1;
			continue;
		}
		if (*wsp && *started)
			hb_putc(h, ' ');
		*wsp = 0;
		*started = 1;
		hb_putc(h, c);
	}
}

int
dkim_canon_header(EVP_MD_CTX *ctx, enum dkim_canon c, const char *name,
    const char *value, size_t value_len, size_t hole_start, size_t hole_end,
    int crlf)
{
	struct dkim_hashbuf h = { .ctx = ctx };

	if (hole_end > value_len || hole_start > hole_end)
		hole_start = hole_end = 0;
	if (c == CANON_SIMPLE) {
		hb_put(&h, name, strlen(name));
		hb_putc(&h, ':');
		hb_put(&h, value, hole_start);
		hb_put(&h, value + hole_end, value_len - hole_end);
	} else {
		size_t nlen = strlen(name);
		int started = 0, wsp = 0;

		while (nlen > 0 && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
			nlen--;
		for (size_t i = 0; i < nlen; i++)
			hb_putc(&h, (char)tolower((unsigned char)name[i]));
		hb_putc(&h, ':');
		relaxed_value(&h, value, hole_start, &started, &wsp);
		relaxed_value(&h, value + hole_end, value_len - hole_end, &started, &wsp);
	}
	if (crlf)
		hb_put(&h, "\r\n", 2);
	hb_flush(&h);
	return h.failed ? -1 : 0;
}

/* ---- the fields a signature covers ---- */

/* A field name without the white space that may precede its colon. */
static size_t
name_len(const char *name, size_t n)
{
	while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
		n--;
	return n;
}

static uint32_t
name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint32_t)tolower((unsigned char)s[i])) * 16777619u;
	return h;
}

void
dkim_field_set(struct dkim_field *f, const char *name, const char *value, size_t vlen)
{
	f->name = name;
	f->value = value;
	f->vlen = vlen;
	f->hash = name_hash(name, name_len(name, strlen(name)));
}

static int
field_is(const struct dkim_field *f, const char *name, size_t len, uint32_t h)
{
	return f->hash == h && name_len(f->name, strlen(f->name)) == len &&
	    strncasecmp(f->name, name, len) == 0;
}

int
dkim_field_is(const struct dkim_field *f, const char *name, size_t len)
{
	return field_is(f, name, len, name_hash(name, len));
}

int
dkim_header_digest(const struct dkim_field *fields, size_t n, const struct dkim_field *own,
    const char *h_value, size_t h_len, size_t hole_start, size_t hole_end,
    enum dkim_canon c, const EVP_MD *md, unsigned char *out, unsigned *outlen)
{
	const char *p = h_value, *name;
	size_t nlen;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *used = calloc(n > 0 ? n : 1, 1);
	int ok = ctx != NULL && used != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1;

	while (ok && dkim_list_item(&p, h_value + h_len, &name, &nlen)) {
		uint32_t h = name_hash(name, nlen);

		for (size_t k = n; k > 0 && nlen > 0; k--) {
			const struct dkim_field *f = &fields[k - 1];

			if (used[k - 1] || f == own || !field_is(f, name, nlen, h))
				continue;
			used[k - 1] = 1;
			ok = dkim_canon_header(ctx, c, f->name, f->value, f->vlen, 0, 0, 1) == 0;
			break;
		}
	}
	ok = ok && dkim_canon_header(ctx, c, own->name, own->value, own->vlen, hole_start,
	    hole_end, 0) == 0 && EVP_DigestFinal_ex(ctx, out, outlen) == 1;
	EVP_MD_CTX_free(ctx);
	free(used);
	return ok ? 0 : -1;
}

/* ---- bodies ---- */

int
dkim_body_init(struct dkim_body *b, enum dkim_canon c, const EVP_MD *md,
    int limited, unsigned long long limit)
{
	memset(b, 0, sizeof *b);
	b->canon = c;
	b->md_type = EVP_MD_get_type(md);
	b->limited = limited;
	b->limit = limit;
	b->out.ctx = EVP_MD_CTX_new();
	if (b->out.ctx == NULL || EVP_DigestInit_ex(b->out.ctx, md, NULL) != 1) {
		EVP_MD_CTX_free(b->out.ctx);
		b->out.ctx = NULL;
		b->out.failed = 1;
		return -1;
	}
	return 0;
}

void
dkim_body_free(struct dkim_body *b)
{
	EVP_MD_CTX_free(b->out.ctx);
	b->out.ctx = NULL;
}

struct dkim_body *
dkim_body_shared(struct dkim_body **list, size_t *n, size_t max, enum dkim_canon c,
    const EVP_MD *md, int limited, unsigned long long limit)
{
	struct dkim_body *b;

	for (size_t i = 0; i < *n; i++) {
		b = list[i];
		if (b->canon == c && b->limited == limited && (!limited || b->limit == limit) &&
		    b->md_type == EVP_MD_get_type(md))
			return b;
	}
	if (*n == max || (b = malloc(sizeof *b)) == NULL)
		return NULL;
	if (dkim_body_init(b, c, md, limited, limit) < 0) {
		dkim_body_free(b);
		free(b);
		return NULL;
	}
	list[(*n)++] = b;
	return b;
}

/* n canonical bytes: counted, and hashed up to the limit. */
static void
emit(struct dkim_body *b, const unsigned char *p, size_t n)
{
	b->total += n;
	if (b->limited) {
		if (b->hashed >= b->limit)
			return;
		if (n > b->limit - b->hashed)
			n = (size_t)(b->limit - b->hashed);
	}
	b->hashed += n;
	hb_put(&b->out, p, n);
}

/* Content starts on this line: the empty lines before it were not the end. */
static void
line_content(struct dkim_body *b)
{
	if (b->line_has)
		return;
	for (; b->blanks > 0; b->blanks--)
		emit(b, (const unsigned char *)"\r\n", 2);
	b->line_has = 1;
}

static void
line_end(struct dkim_body *b)
{
	if (b->line_has)
		emit(b, (const unsigned char *)"\r\n", 2);
	else
		b->blanks++;
	b->line_has = 0;
	b->wsp = 0;
}

static void
body_simple(struct dkim_body *b, const unsigned char *p, const unsigned char *end)
{
	while (p < end) {
		const unsigned char *q;

		if (b->cr) {
			b->cr = 0;
			if (*p == '\n') {
				line_end(b);
				p++;
				continue;
			}
			line_content(b);	/* a CR on its own is content */
			emit(b, (const unsigned char *)"\r", 1);
		}
		q = memchr(p, '\r', (size_t)(end - p));
		if (q == NULL)
			q = end;
		if (q > p) {
			line_content(b);
			emit(b, p, (size_t)(q - p));
		}
		if (q == end)
			break;
		b->cr = 1;
		p = q + 1;
	}
}

/* Bytes that end a run of ordinary content in relaxed: SP, HTAB, CR. */
static const unsigned char relaxed_stop[256] = { ['\t'] = 1, [' '] = 1, ['\r'] = 1 };

/* Content follows: the empty lines and the white space held back are out. */
static void
relaxed_start(struct dkim_body *b)
{
	line_content(b);
	if (b->wsp) {
		emit(b, (const unsigned char *)" ", 1);
		b->wsp = 0;
	}
}

static void
relaxed_content(struct dkim_body *b, const unsigned char *p, size_t n)
{
	relaxed_start(b);
	emit(b, p, n);
}

/*
 * The rest of a line with no l= limit, from ordinary content at p up to a
 * CR or the end of the chunk: copied into the hash buffer as it is
 * scanned, a run of white space between words made one SP on the way (a
 * call chain and a memcpy per word cost more than its bytes). White space
 * at the stop is left held in b->wsp. Returns where it stopped.
 */
static const unsigned char *
relaxed_run(struct dkim_body *b, const unsigned char *p, const unsigned char *end)
{
	struct dkim_hashbuf *h = &b->out;

	for (;;) {
		size_t room = sizeof h->b - h->n;
		const unsigned char *lim = (size_t)(end - p) < room ? end : p + room;
		const unsigned char *start = p;
		unsigned char *o = h->b + h->n;

		while (p < lim && !relaxed_stop[*p])
			*o++ = *p++;
		h->n += (size_t)(p - start);
		b->total += (size_t)(p - start);
		b->hashed += (size_t)(p - start);
		if (p == lim && p < end) {
			hb_flush(h);	/* the buffer is full, the line goes on */
			continue;
		}
		if (p == end || *p == '\r')
			return p;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end || *p == '\r') {
			b->wsp = 1;	/* at the end of a line it is dropped */
			return p;
		}
		if (h->n == sizeof h->b)
			hb_flush(h);
		h->b[h->n++] = ' ';
		b->total++;
		b->hashed++;
	}
}

static void
body_relaxed(struct dkim_body *b, const unsigned char *p, const unsigned char *end)
{
	while (p < end) {
		const unsigned char *q;

		if (b->cr) {
			b->cr = 0;
			if (*p == '\n') {
				line_end(b);
				p++;
				continue;
			}
			relaxed_content(b, (const unsigned char *)"\r", 1);
		}
		if (*p == ' ' || *p == '\t') {
			b->wsp = 1;
			p++;
			continue;
		}
		if (*p == '\r') {
			b->cr = 1;
			p++;
			continue;
		}
		if (b->limited) {
			for (q = p + 1; q < end && !relaxed_stop[*q]; q++)
				;
			relaxed_content(b, p, (size_t)(q - p));
			p = q;
			continue;
		}
		relaxed_start(b);
		p = relaxed_run(b, p, end);
	}
}

void
dkim_body_update(struct dkim_body *b, const unsigned char *p, size_t n)
{
	if (b->done || b->out.ctx == NULL || n == 0)
		return;
	if (b->canon == CANON_SIMPLE)
		body_simple(b, p, p + n);
	else
		body_relaxed(b, p, p + n);
}

int
dkim_body_final(struct dkim_body *b)
{
	if (b->done)
		return b->out.failed ? -1 : 0;
	b->done = 1;
	if (b->out.ctx == NULL)
		return -1;
	if (b->cr) {
		b->cr = 0;
		if (b->canon == CANON_SIMPLE) {
			line_content(b);
			emit(b, (const unsigned char *)"\r", 1);
		} else {
			relaxed_content(b, (const unsigned char *)"\r", 1);
		}
	}
	if (b->line_has)
		emit(b, (const unsigned char *)"\r\n", 2);
	else if (b->canon == CANON_SIMPLE && b->total == 0)
		emit(b, (const unsigned char *)"\r\n", 2);
	hb_flush(&b->out);
	if (!b->out.failed && EVP_DigestFinal_ex(b->out.ctx, b->digest, &b->dlen) != 1)
		b->out.failed = 1;
	return b->out.failed ? -1 : 0;
}
