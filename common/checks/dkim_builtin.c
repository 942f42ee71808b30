/*
 * dkim_builtin: the project's own DKIM verifier (DKIMEngine builtin, the
 * default), RFC 6376 with RFC 8463 (ed25519-sha256) and RFC 8301, on
 * OpenSSL's EVP interface.
 *
 * What this file promises (see dkim.h for the interface):
 * - Each DKIM-Signature field is parsed when it arrives (dkim_tags.c), so
 *   its key name is known before the end of the header; every tag rule of
 *   RFC 6376 3.5 is checked, in libopendkim's order and with its names
 *   for tag errors, so both engines give the same reasons.
 * - Header fields are kept as given, without a length limit per field
 *   (bounded in all by B_MAX_BYTES / B_MAX_FIELDS; past that, signatures
 *   are permerror "header too large to verify", never a pass). Fields
 *   named in h= are taken from the bottom up, each instance once; the
 *   signature's own field never counts as one of them.
 * - Bodies are hashed while they stream in (dkim_canon.c), once per
 *   (canonicalisation, hash, l=) in use, shared by signatures.
 * - Keys come from dkim_key.c (DNS, record rules, decoded-key cache).
 * - A signature passes only if its header signature verifies with the key
 *   AND its body hash matches; l= larger than the body, t=s with an i=
 *   in a subdomain, and expired or future signatures (300 s of clock
 *   drift, as libopendkim) never pass.
 * - Nothing here aborts on hostile input; every error is a result with a
 *   reason; memory per message is bounded by the header limits above plus
 *   fixed buffers per signature.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dkim.h"
#include "dkim_canon.h"
#include "dkim_engine.h"
#include "dkim_key.h"
#include "dkim_tags.h"
#include "dnsname.h"
#include "log.h"
#include "sbuf.h"

#define B_MAX_FIELDS	10000		/* header fields kept */
#define B_MAX_BYTES	(4UL << 20)	/* header bytes kept */
#define B_CLOCK_DRIFT	300		/* seconds, as libopendkim */
#define B_MAX_SIG	2048		/* decoded b= bytes (RSA 16384 bits) */

struct b_verifier {
	unsigned max_signatures;
};


struct b_sig {
	size_t field;		/* its index among the fields */
	int checked;		/* within max_signatures */
	int bad;		/* unusable: result and reason already set */
	struct dkim_tags tags;
	enum dkim_alg alg;
	enum dkim_canon hc, bc;
	int limited;
	unsigned long long limit;
	char domain[DKIM_KEY_NAMELEN];
	char selector[DKIM_KEY_NAMELEN];
	char idomain[DKIM_KEY_NAMELEN];	/* the domain of i= (or d=) */
	unsigned char bh[EVP_MAX_MD_SIZE];
	size_t bhlen;
	unsigned char *sig;	/* b=, decoded */
	size_t siglen;
	struct dkim_body *body;
};

struct b_msg {
	struct b_verifier *v;
	struct dns_ctx *dns;
	char id[64];
	struct dkim_field *fields;
	size_t nfields, capfields, bytes;
	int overflow;		/* fields over the limits were dropped */
	size_t nsigs, capsigs;
	struct b_sig *sigs;	/* one per DKIM-Signature, up to DKIM_MAX_LISTED */
	struct dkim_sig_result *res;	/* the result of each */
	struct dkim_bodies own;		/* the body hashes, unless shared */
	struct dkim_bodies *bodies;	/* &own or the shared list (not fed here) */
	int eoh, finished;
};

/* ---- header fields ---- */

/* A field name without the white space that may precede its colon. */
static size_t
name_len(const char *name)
{
	size_t n = strlen(name);

	while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
		n--;
	return n;
}

static int
keep_field(struct b_msg *m, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	struct dkim_field *f;
	char *copy;

	if (m->nfields == B_MAX_FIELDS || m->bytes + nl + vl > B_MAX_BYTES) {
		m->overflow = 1;
		return -1;
	}
	if (m->nfields == m->capfields) {
		size_t cap = m->capfields ? m->capfields * 2 : 32;
		struct dkim_field *nf = realloc(m->fields, cap * sizeof *nf);

		if (nf == NULL) {
			m->overflow = 1;
			return -1;
		}
		m->fields = nf;
		m->capfields = cap;
	}
	f = &m->fields[m->nfields];
	copy = malloc(nl + 1 + vl + 1);
	if (copy == NULL) {
		m->overflow = 1;
		return -1;
	}
	memcpy(copy, name, nl + 1);
	memcpy(copy + nl + 1, value, vl + 1);
	dkim_field_set(f, copy, copy + nl + 1, vl);
	m->bytes += nl + vl;
	m->nfields++;
	return 0;
}

/* ---- DKIM-Signature tags (RFC 6376 3.5) ---- */

/* Marks the signature unusable with a reason; returns -1. */
static int bad(struct b_sig *s, struct dkim_sig_result *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
bad(struct b_sig *s, struct dkim_sig_result *r, const char *fmt, ...)
{
	va_list ap;

	s->bad = 1;
	r->result = DKIM_RES_PERMERROR;
	va_start(ap, fmt);
	str_vformat(r->why, sizeof r->why, fmt, ap);
	va_end(ap);
	return -1;
}

static const struct dkim_tag *
tag(const struct b_sig *s, const char *name)
{
	return dkim_tags_get(&s->tags, name);
}

/* Copies a tag value into a buffer; -1 if it does not fit. */
static int
tag_copy(const struct dkim_tag *t, char *out, size_t outlen)
{
	if (t->value_len >= outlen)
		return -1;
	memcpy(out, t->value, t->value_len);
	out[t->value_len] = '\0';
	return 0;
}

/* The identity and, for the coverage rule, its domain. */
static int
fill_identity(struct b_sig *s, struct dkim_sig_result *r)
{
	const struct dkim_tag *i = tag(s, "i"), *d = tag(s, "d");
	char dec[sizeof r->identity];
	const char *at;

	if (i == NULL) {
		if (d != NULL)
			str_format(r->identity, sizeof r->identity, "@%.*s",
			    (int)(d->value_len < 255 ? d->value_len : 255), d->value);
		str_format(s->idomain, sizeof s->idomain, "%s", s->domain);
		return 0;
	}
	if (dkim_qp_decode_str(i->value, i->value_len, dec, sizeof dec) < 0) {
		dkim_copy(r->identity, sizeof r->identity, i->value, i->value_len);
		return -1;
	}
	dkim_copy(r->identity, sizeof r->identity, dec, (size_t)-1);
	at = strrchr(dec, '@');
	if (at == NULL || strlen(at + 1) >= sizeof s->idomain)
		return -1;
	str_format(s->idomain, sizeof s->idomain, "%s", at + 1);
	return 0;
}

/* i= in d= or a subdomain of it (RFC 6376 3.5, i=). */
static int
domain_covers(const char *d, const char *idom)
{
	size_t dl = strlen(d), il = strlen(idom);

	if (dl == 0)
		return 0;
	if (il == dl)
		return strcasecmp(d, idom) == 0;
	return il > dl && idom[il - dl - 1] == '.' && strcasecmp(idom + il - dl, d) == 0;
}

/* Checks the time tags; returns -1 after setting the reason. */
static int
check_times(struct b_sig *s, struct dkim_sig_result *r)
{
	const struct dkim_tag *t = tag(s, "t"), *x = tag(s, "x");
	unsigned long long tv = 0, xv = 0;
	unsigned long long now = (unsigned long long)time(NULL);

	if (t != NULL && dkim_tag_number(t, &tv) < 0)
		return bad(s, r, "signature syntax: invalid t= value");
	if (x != NULL && dkim_tag_number(x, &xv) < 0)
		return bad(s, r, "signature syntax: invalid x= value");
	if (x != NULL && now >= xv && now - xv >= B_CLOCK_DRIFT)
		return bad(s, r, "signature expired");
	if (t != NULL && tv > now && tv - now > B_CLOCK_DRIFT)
		return bad(s, r, "signature in the future");
	if (t != NULL && x != NULL && xv <= tv)
		return bad(s, r, "signature timestamp order error");
	return 0;
}

/* Tags that must be present and not empty; -1 after setting the reason. */
static int
need(struct b_sig *s, struct dkim_sig_result *r, const char *name,
    const char *missing, const char *empty)
{
	const struct dkim_tag *t = tag(s, name);

	if (t == NULL)
		return bad(s, r, "%s", missing);
	if (t->value_len == 0)
		return bad(s, r, "%s", empty);
	return 0;
}

/* RFC 6376 3.5, in libopendkim's order; -1 after setting the reason. */
static int
check_tags(struct b_sig *s, struct dkim_sig_result *r)
{
	const struct dkim_tag *t;
	int bad_body;
	long n;

	if (need(s, r, "d", "domain tag missing", "domain tag empty") < 0 ||
	    need(s, r, "s", "selector tag missing", "selector tag empty") < 0 ||
	    need(s, r, "v", "version missing", "version empty") < 0)
		return -1;
	if (!dkim_tag_is(tag(s, "v"), "1", 0))
		return bad(s, r, "unsupported signature version");
	if (tag_copy(tag(s, "d"), s->domain, sizeof s->domain) < 0 ||
	    tag_copy(tag(s, "s"), s->selector, sizeof s->selector) < 0)
		return bad(s, r, "invalid key name (too long)");
	if (!dns_name_ok(s->domain, DNS_NAME_HOST_UTF8))
		return bad(s, r, "signature syntax: d= is not a domain name");
	if (fill_identity(s, r) < 0 || !domain_covers(s->domain, s->idomain))
		return bad(s, r, "invalid domain coverage");
	if (check_times(s, r) < 0)
		return -1;
	s->hc = s->bc = CANON_SIMPLE;
	if ((t = tag(s, "c")) != NULL &&
	    dkim_canon_parse(t->value, t->value_len, &s->hc, &s->bc, &bad_body) < 0)
		return bad(s, r, bad_body ? "invalid body canonicalization" :
		    "invalid header canonicalization");
	if ((t = tag(s, "a")) == NULL || dkim_alg_parse(t->value, t->value_len, &s->alg) < 0)
		return bad(s, r, "unsupported algorithm");
	if (need(s, r, "h", "header list missing", "header list tag empty") < 0)
		return -1;
	if (!dkim_tag_list_has(tag(s, "h"), "from", 0))
		return bad(s, r, "header list missing required entries");
	if ((t = tag(s, "l")) != NULL) {
		if (dkim_tag_number(t, &s->limit) < 0 || t->value_len > 76)
			return bad(s, r, "body length value invalid");
		s->limited = 1;
	}
	if ((t = tag(s, "q")) != NULL && !dkim_tag_list_has(t, "dns/txt", 0))
		return bad(s, r, dkim_tag_list_has(t, "dns/", 1) ? "query option invalid" :
		    "query method invalid");
	if (need(s, r, "bh", "body hash missing", "body hash empty") < 0 ||
	    need(s, r, "b", "signature data missing", "signature data empty") < 0)
		return -1;
	t = tag(s, "b");
	s->sig = malloc(B_MAX_SIG);
	if (s->sig == NULL)
		return bad(s, r, "signature not evaluated (out of memory)");
	n = dkim_b64_decode(t->value, t->value_len, s->sig, B_MAX_SIG);
	if (n <= 0)
		return bad(s, r, "signature data corrupt");
	s->siglen = (size_t)n;
	t = tag(s, "bh");
	n = dkim_b64_decode(t->value, t->value_len, s->bh, sizeof s->bh);
	if (n != EVP_MD_get_size(dkim_alg_md(s->alg)))
		return bad(s, r, "body hash corrupt");
	s->bhlen = (size_t)n;
	return 0;
}

static void
parse_signature(struct b_msg *m, struct b_sig *s, struct dkim_sig_result *r)
{
	const struct dkim_field *f = &m->fields[s->field];
	char why[120];

	if (dkim_tags_parse(f->value, f->vlen, &s->tags, why, sizeof why) < 0) {
		s->tags.n = 0;
		(void)bad(s, r, "signature syntax: %s",
		    strncmp(why, "tag syntax: ", 12) == 0 ? why + 12 : why);
		return;
	}
	dkim_result_tags(r, &s->tags);
	(void)check_tags(s, r);
	/*
	 * Here the key name is known: the place for an early (prefetched)
	 * key lookup; the lookup itself happens in dkim_key_get at the end.
	 */
}

/* ---- the engine ---- */

static void *
b_verifier_new(unsigned max_signatures, char *why, size_t whylen)
{
	struct b_verifier *v = calloc(1, sizeof *v);

	if (v == NULL) {
		str_format(why, whylen, "out of memory");
		return NULL;
	}
	v->max_signatures = max_signatures;
	return v;
}

static void
b_verifier_free(void *v)
{
	free(v);
}

static void *
b_msg_new(void *vv, struct dns_ctx *dns, const char *id)
{
	struct b_msg *m = calloc(1, sizeof *m);

	if (m == NULL)
		return NULL;
	m->v = vv;
	m->dns = dns;
	m->bodies = &m->own;
	dkim_copy(m->id, sizeof m->id, id != NULL && id[0] != '\0' ? id : "-", (size_t)-1);
	return m;
}

static int
is_signature_field(const char *name)
{
	return name_len(name) == 14 && strncasecmp(name, "DKIM-Signature", 14) == 0;
}

/*
 * Room for one more signature and its result (a result is ~5 KB: room is
 * made as signatures come, not for DKIM_MAX_LISTED at once).
 */
static int
grow_signatures(struct b_msg *m)
{
	size_t cap = m->capsigs ? m->capsigs * 2 : 2;
	struct b_sig *ns;
	struct dkim_sig_result *nr;

	if (cap > DKIM_MAX_LISTED)
		cap = DKIM_MAX_LISTED;
	if ((ns = realloc(m->sigs, cap * sizeof *ns)) == NULL)
		return -1;
	m->sigs = ns;
	if ((nr = realloc(m->res, cap * sizeof *nr)) == NULL)
		return -1;
	m->res = nr;
	m->capsigs = cap;	/* entries are zeroed as b_header takes them */
	return 0;
}

static void
b_header(void *vm, const char *name, const char *value)
{
	struct b_msg *m = vm;
	struct b_sig *s;
	struct dkim_sig_result *r;

	if (m->eoh || m->finished || keep_field(m, name, value) < 0)
		return;
	if (!is_signature_field(name) || m->nsigs == DKIM_MAX_LISTED)
		return;
	if (m->nsigs == m->capsigs && grow_signatures(m) < 0) {
		m->overflow = 1;
		return;
	}
	s = &m->sigs[m->nsigs];
	r = &m->res[m->nsigs];
	memset(s, 0, sizeof *s);
	memset(r, 0, sizeof *r);
	m->nsigs++;
	s->field = m->nfields - 1;
	s->checked = m->nsigs <= m->v->max_signatures;
	if (!s->checked) {
		/* listed with what its tags say, never looked at further */
		if (dkim_tags_parse(m->fields[s->field].value, m->fields[s->field].vlen,
		    &s->tags, r->why, sizeof r->why) == 0)
			dkim_result_tags(r, &s->tags);
		s->tags.n = 0;
		return;
	}
	parse_signature(m, s, r);
}

/* The body hash a signature needs: shared with those that need the same. */
static struct dkim_body *
body_for(struct b_msg *m, const struct b_sig *s)
{
	return dkim_bodies_get(m->bodies, s->bc, dkim_alg_md(s->alg), s->limited, s->limit);
}

static void
b_share_bodies(void *vm, struct dkim_bodies *l)
{
	struct b_msg *m = vm;

	if (!m->eoh)
		m->bodies = l;
}

static void
b_eoh(void *vm)
{
	struct b_msg *m = vm;

	if (m->eoh || m->finished)
		return;
	m->eoh = 1;
	for (size_t i = 0; i < m->nsigs; i++) {
		struct b_sig *s = &m->sigs[i];

		if (s->checked && !s->bad && (s->body = body_for(m, s)) == NULL)
			(void)bad(s, &m->res[i], "signature not evaluated (out of memory)");
	}
}

static void
b_body(void *vm, const unsigned char *p, size_t n)
{
	struct b_msg *m = vm;

	if (!m->eoh || m->finished || m->bodies != &m->own)
		return;
	dkim_bodies_update(&m->own, p, n);
}

/* The header hash of RFC 6376 3.7 for one signature. */
static int
header_digest(const struct b_msg *m, const struct b_sig *s, unsigned char *out,
    unsigned *outlen)
{
	const struct dkim_tag *h = tag(s, "h"), *b = tag(s, "b");

	return dkim_header_digest(m->fields, m->nfields, &m->fields[s->field], h->value,
	    h->value_len, b->raw_start, b->raw_end, s->hc, dkim_alg_md(s->alg), out, outlen);
}

static void
verify(struct b_msg *m, struct b_sig *s, struct dkim_sig_result *r)
{
	struct dkim_key key;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	enum dkim_res kr;
	char why[sizeof r->why];

	if (m->overflow) {
		r->result = DKIM_RES_PERMERROR;
		dkim_why(r, "header too large to verify");
		return;
	}
	if (s->body == NULL || s->body->out.failed) {
		r->result = DKIM_RES_TEMPERROR;
		dkim_why(r, "signature not evaluated (internal error)");
		return;
	}
	r->body_len = (unsigned long)s->body->hashed;
	if (s->limited && s->body->total < s->limit) {
		r->result = DKIM_RES_PERMERROR;
		dkim_why(r, "length tag value exceeds body size");
		return;
	}
	kr = dkim_key_get(m->dns, s->selector, s->domain, s->alg, &key, why, sizeof why);
	if (kr != DKIM_RES_PASS) {
		r->result = kr;
		dkim_why(r, "%s", why);
		return;
	}
	r->key_bits = key.bits;
	r->testing = key.testing;
	if (key.strict && strcasecmp(s->idomain, s->domain) != 0) {
		/* t=s: i= must be d= itself (named first, as libopendkim does) */
		r->result = DKIM_RES_PERMERROR;
		dkim_why(r, "unauthorized subdomain");
	} else if (header_digest(m, s, digest, &dlen) < 0) {
		r->result = DKIM_RES_TEMPERROR;
		dkim_why(r, "signature not evaluated (internal error)");
	} else if (!dkim_key_verify(&key, s->alg, digest, dlen, s->sig, s->siglen)) {
		r->result = DKIM_RES_FAIL;
		dkim_why(r, "signature did not verify");
	} else if (s->body->dlen != s->bhlen ||
	    memcmp(s->body->digest, s->bh, s->bhlen) != 0) {
		/* a body hash is compared only for a verified signature */
		r->result = DKIM_RES_FAIL;
		dkim_why(r, "body hash mismatch (body altered)");
	} else {
		r->result = DKIM_RES_PASS;
		r->why[0] = '\0';
	}
	dkim_key_release(&key);
}

static int
b_finish(void *vm, const struct dkim_sig_result **res, size_t *nres,
    const char **why)
{
	struct b_msg *m = vm;

	(void)why;
	if (!m->finished) {
		m->finished = 1;
		if (!m->eoh)
			b_eoh(m);
		dkim_bodies_final(m->bodies);
		for (size_t i = 0; i < m->nsigs; i++) {
			struct b_sig *s = &m->sigs[i];
			struct dkim_sig_result *r = &m->res[i];

			if (!s->checked) {
				dkim_result_not_checked(r, m->v->max_signatures);
				continue;
			}
			if (!s->bad)
				verify(m, s, r);
			dkim_result_rules(r);
			if (r->result != DKIM_RES_PASS)
				log_debug("dkim %s: d=%s s=%s: %s: %s", m->id, r->domain,
				    r->selector, dkim_res_str(r->result), r->why);
		}
	}
	*res = m->res;
	*nres = m->nsigs;
	return 0;
}

static void
b_msg_free(void *vm)
{
	struct b_msg *m = vm;

	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nfields; i++)
		free((char *)m->fields[i].name);	/* the copy keep_field made */
	free(m->fields);
	for (size_t i = 0; i < m->nsigs; i++)
		free(m->sigs[i].sig);
	free(m->sigs);
	free(m->res);
	dkim_bodies_free(&m->own);
	free(m);
}

const struct dkim_engine_ops dkim_builtin_ops = {
	.name = "builtin",
	.verifier_new = b_verifier_new,
	.verifier_free = b_verifier_free,
	.msg_new = b_msg_new,
	.header = b_header,
	.eoh = b_eoh,
	.body = b_body,
	.share_bodies = b_share_bodies,
	.finish = b_finish,
	.msg_free = b_msg_free,
};
