/*
 * dkim_canon: header and body canonicalisation; see dkim_canon.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/* Pieces this long are hashed where they lie: copying costs more than a
 * digest update. */
#define HB_IN_PLACE 256

static void
hb_put(struct dkim_hashbuf *h, const void *p, size_t n)
{
	if (n >= HB_IN_PLACE) {
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

/* Field names in one order (hash, then the name without case), 0 when
 * they are the same name. */
static int
name_cmp(uint32_t ha, const char *a, size_t alen, uint32_t hb, const char *b, size_t blen)
{
	int r;

	if (ha != hb)
		return ha < hb ? -1 : 1;
	if ((r = strncasecmp(a, b, alen < blen ? alen : blen)) != 0)
		return r;
	return alen < blen ? -1 : alen > blen;
}

int
dkim_field_is(const struct dkim_field *f, const char *name, size_t len)
{
	return name_cmp(f->hash, f->name, name_len(f->name, strlen(f->name)),
	    name_hash(name, len), name, len) == 0;
}

/*
 * The fields of a header sorted by name (hash, then the name itself), the
 * bottom one first among those of a name: each name of h= is then a binary
 * search and the next step in its run, so a digest costs O((n + h) log n)
 * whatever a sender puts in h= or the header. (Scanning every field for
 * every name of h= was O(n * h): a signature naming an absent field 30,000
 * times over 9,000 fields cost seconds of CPU.)
 */
struct by_name {
	const struct dkim_field *f;
	size_t len;		/* of the name without the white space before ':' */
	size_t k;		/* its place in the header */
	size_t taken;		/* on the first of a run: how many are taken */
};

static int
by_name_cmp(const void *va, const void *vb)
{
	const struct by_name *a = va, *b = vb;
	int r = name_cmp(a->f->hash, a->f->name, a->len, b->f->hash, b->f->name, b->len);

	return r != 0 ? r : a->k < b->k ? 1 : -1;	/* the bottom one first */
}

/* The first of the run named name in v[0..n), or n. */
static size_t
run_of(const struct by_name *v, size_t n, const char *name, size_t len, uint32_t h)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (name_cmp(v[mid].f->hash, v[mid].f->name, v[mid].len, h, name, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && name_cmp(v[lo].f->hash, v[lo].f->name, v[lo].len, h, name, len) == 0 ?
	    lo : n;
}

int
dkim_header_digest(const struct dkim_field *fields, size_t n, const struct dkim_field *own,
    const char *h_value, size_t h_len, size_t hole_start, size_t hole_end,
    enum dkim_canon c, const EVP_MD *md, unsigned char *out, unsigned *outlen)
{
	const char *p = h_value, *name;
	size_t nlen, m = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct by_name *v = malloc((n > 0 ? n : 1) * sizeof *v);
	int ok = ctx != NULL && v != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1;

	for (size_t k = 0; ok && k < n; k++) {
		if (&fields[k] == own)
			continue;
		v[m].f = &fields[k];
		v[m].len = name_len(fields[k].name, strlen(fields[k].name));
		v[m].k = k;
		v[m].taken = 0;
		m++;
	}
	if (ok && m > 1)
		qsort(v, m, sizeof *v, by_name_cmp);
	while (ok && dkim_list_item(&p, h_value + h_len, &name, &nlen)) {
		uint32_t h = name_hash(name, nlen);
		size_t r = nlen > 0 ? run_of(v, m, name, nlen, h) : m, i;
		const struct dkim_field *f;

		if (r == m || (i = r + v[r].taken) >= m ||
		    name_cmp(v[i].f->hash, v[i].f->name, v[i].len, h, name, nlen) != 0)
			continue;	/* no such field, or none left */
		v[r].taken++;
		f = v[i].f;
		ok = dkim_canon_header(ctx, c, f->name, f->value, f->vlen, 0, 0, 1) == 0;
	}
	ok = ok && dkim_canon_header(ctx, c, own->name, own->value, own->vlen, hole_start,
	    hole_end, 0) == 0 && EVP_DigestFinal_ex(ctx, out, outlen) == 1;
	EVP_MD_CTX_free(ctx);
	free(v);
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
dkim_bodies_get(struct dkim_bodies *l, enum dkim_canon c, const EVP_MD *md, int limited,
    unsigned long long limit)
{
	struct dkim_body *b;

	for (size_t i = 0; i < l->n; i++) {
		b = l->v[i];
		if (b->canon == c && b->limited == limited && (!limited || b->limit == limit) &&
		    b->md_type == EVP_MD_get_type(md))
			return b;
	}
	if (l->fed || l->n == DKIM_BODIES_MAX || (b = malloc(sizeof *b)) == NULL)
		return NULL;
	if (dkim_body_init(b, c, md, limited, limit) < 0) {
		dkim_body_free(b);
		free(b);
		return NULL;
	}
	l->v[l->n++] = b;
	return b;
}

void
dkim_bodies_update(struct dkim_bodies *l, const unsigned char *p, size_t n)
{
	l->fed = 1;
	for (size_t i = 0; i < l->n; i++)
		dkim_body_update(l->v[i], p, n);
}

void
dkim_bodies_final(struct dkim_bodies *l)
{
	l->fed = 1;
	for (size_t i = 0; i < l->n; i++)
		(void)dkim_body_final(l->v[i]);
}

void
dkim_bodies_free(struct dkim_bodies *l)
{
	for (size_t i = 0; i < l->n; i++) {
		dkim_body_free(l->v[i]);
		free(l->v[i]);
	}
	l->n = 0;
}

/* n canonical bytes: counted, and hashed up to the limit. */
static void
emit(struct dkim_body *b, const void *p, size_t n)
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

/*
 * The canonical bytes of one dkim_body_update. Most of a body is canonical
 * as it stands: such bytes of the chunk are gathered as a run and hashed
 * where they lie, one digest update for the whole run. Only what the
 * canonicalization makes itself (the SP of a white-space run, a CR or the
 * empty lines held back from an earlier chunk) goes through the hash
 * buffer; a run ends there, or at the end of the chunk.
 */
struct sink {
	struct dkim_body *b;
	const unsigned char *run, *run_end;	/* canonical input not hashed yet */
	const unsigned char *held, *held_end;	/* the CRLFs of the empty lines held
						   back, when all are in this chunk */
	const unsigned char *wsp_sp;		/* relaxed: the white space held back
						   starts with this SP of the chunk */
};

static void
sink_flush(struct sink *s)
{
	if (s->run_end != s->run)
		emit(s->b, s->run, (size_t)(s->run_end - s->run));
	s->run = s->run_end = NULL;
}

/* Input bytes [p, q) are canonical output. */
static void
sink_in(struct sink *s, const unsigned char *p, const unsigned char *q)
{
	if (p != s->run_end) {
		sink_flush(s);
		s->run = p;
	}
	s->run_end = q;
}

/* Bytes the canonicalization makes. */
static void
sink_made(struct sink *s, const char *p, size_t n)
{
	sink_flush(s);
	emit(s->b, p, n);
}

/* The empty lines held back were not the end: out with them. */
static void
blanks_out(struct sink *s)
{
	static const char crlfs[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
	struct dkim_body *b = s->b;

	if (s->held != NULL) {
		sink_in(s, s->held, s->held_end);
	} else {
		while (b->blanks > 0) {
			size_t k = b->blanks < 16 ? (size_t)b->blanks : 16;

			sink_made(s, crlfs, 2 * k);
			b->blanks -= k;
		}
	}
	b->blanks = 0;
	s->held = s->held_end = NULL;
}

/* Content starts on this line. */
static inline void
line_content(struct sink *s)
{
	if (s->b->line_has)
		return;
	if (s->b->blanks > 0)
		blanks_out(s);
	s->b->line_has = 1;
}

/* A line ends: at the CRLF at p in this chunk, or (p NULL) one cut by a chunk's end. */
static inline void
line_end(struct sink *s, const unsigned char *p)
{
	struct dkim_body *b = s->b;

	if (b->line_has) {
		if (p != NULL)
			sink_in(s, p, p + 2);
		else
			sink_made(s, "\r\n", 2);
	} else {
		if (p != NULL && s->held_end == p)
			s->held_end = p + 2;
		else if (p != NULL && b->blanks == 0)
			s->held = p, s->held_end = p + 2;
		else
			s->held = s->held_end = NULL;
		b->blanks++;
	}
	b->line_has = 0;
	b->wsp = 0;
}

/* simple: every byte stays; only empty lines at the end go. */
static void
body_simple(struct sink *s, const unsigned char *p, const unsigned char *end)
{
	struct dkim_body *b = s->b;

	while (p < end) {
		const unsigned char *q;

		if (b->cr) {
			b->cr = 0;
			if (*p == '\n') {
				line_end(s, NULL);
				p++;
				continue;
			}
			line_content(s);	/* a CR on its own is content */
			sink_made(s, "\r", 1);
		}
		q = memchr(p, '\r', (size_t)(end - p));
		if (q == NULL)
			q = end;
		if (q > p) {
			line_content(s);
			sink_in(s, p, q);
		}
		if (q == end)
			break;
		if (q + 1 == end) {
			b->cr = 1;	/* the next chunk tells what it is */
			break;
		}
		if (q[1] == '\n') {
			line_end(s, q);
			p = q + 2;
		} else {
			line_content(s);
			sink_in(s, q, q + 1);
			p = q + 1;
		}
	}
}

/* relaxed: the white space at p is a run to make one SP or drop (HTAB,
 * SP before SP, HTAB or CR, SP at the end of the chunk), or p is a CR. */
static int
relaxed_stop(const unsigned char *p, const unsigned char *end)
{
	return *p == '\t' || *p == '\r' ||
	    (*p == ' ' && (p + 1 == end || p[1] == ' ' || p[1] == '\t' || p[1] == '\r'));
}

typedef unsigned char v16u __attribute__((vector_size(16)));
typedef signed char v16s __attribute__((vector_size(16)));

/* Bit i set: byte i of p is below SP, or SP before a byte at most SP (a
 * superset of the stops, 16 bytes at a time; p[16] is read). */
static unsigned
relaxed_maybe(const unsigned char *p)
{
	v16u a, n;
	v16s m;
	unsigned bits = 0;

	memcpy(&a, p, sizeof a);
	memcpy(&n, p + 1, sizeof n);
	m = (a < ' ') | ((a == ' ') & (n <= ' '));
#ifdef __SSE2__
	bits = (unsigned)_mm_movemask_epi8((__m128i)m);
#else
	for (int i = 0; i < 16; i++)
		bits |= (unsigned)(m[i] != 0) << i;
#endif
	return bits;
}

/* The first stop in [p, end), or end. */
static const unsigned char *
relaxed_scan(const unsigned char *p, const unsigned char *end)
{
	for (; end - p > 16; p += 16) {
		for (unsigned bits = relaxed_maybe(p); bits != 0; bits &= bits - 1) {
			const unsigned char *q = p + __builtin_ctz(bits);

			if (relaxed_stop(q, end))
				return q;
		}
	}
	for (; p < end; p++)
		if (relaxed_stop(p, end))
			return p;
	return end;
}

/* Content follows: the empty lines and the white space held back are out. */
static inline void
relaxed_start(struct sink *s)
{
	line_content(s);
	if (s->b->wsp) {
		if (s->wsp_sp != NULL)
			sink_in(s, s->wsp_sp, s->wsp_sp + 1);
		else
			sink_made(s, " ", 1);
		s->b->wsp = 0;
	}
}

static void
body_relaxed(struct sink *s, const unsigned char *p, const unsigned char *end)
{
	struct dkim_body *b = s->b;

	while (p < end) {
		const unsigned char *q;

		if (b->cr) {
			b->cr = 0;
			if (*p == '\n') {
				line_end(s, NULL);
				p++;
				continue;
			}
			relaxed_start(s);	/* a CR on its own is content */
			sink_made(s, "\r", 1);
		}
		if (*p == ' ' || *p == '\t') {
			if (!b->wsp)
				s->wsp_sp = *p == ' ' ? p : NULL;
			b->wsp = 1;
			do
				p++;
			while (p < end && (*p == ' ' || *p == '\t'));
			continue;
		}
		if (*p == '\r') {
			if (p + 1 == end) {
				b->cr = 1;	/* the next chunk tells what it is */
				break;
			}
			if (p[1] == '\n') {
				line_end(s, p);
				p += 2;
				continue;
			}
		}
		/* content at p (a CR on its own too), then up to the next stop */
		relaxed_start(s);
		q = relaxed_scan(p + 1, end);
		sink_in(s, p, q);
		p = q;
	}
}

void
dkim_body_update(struct dkim_body *b, const unsigned char *p, size_t n)
{
	struct sink s = { .b = b };

	if (b->done || b->out.ctx == NULL || n == 0)
		return;
	if (b->canon == CANON_SIMPLE)
		body_simple(&s, p, p + n);
	else
		body_relaxed(&s, p, p + n);
	sink_flush(&s);
}

int
dkim_body_final(struct dkim_body *b)
{
	struct sink s = { .b = b };

	if (b->done)
		return b->out.failed ? -1 : 0;
	b->done = 1;
	if (b->out.ctx == NULL)
		return -1;
	if (b->cr) {
		b->cr = 0;
		if (b->canon == CANON_SIMPLE)
			line_content(&s);
		else
			relaxed_start(&s);
		emit(b, "\r", 1);
	}
	if (b->line_has)
		emit(b, "\r\n", 2);
	else if (b->canon == CANON_SIMPLE && b->total == 0)
		emit(b, "\r\n", 2);
	hb_flush(&b->out);
	if (!b->out.failed && EVP_DigestFinal_ex(b->out.ctx, b->digest, &b->dlen) != 1)
		b->out.failed = 1;
	return b->out.failed ? -1 : 0;
}
