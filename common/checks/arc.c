/*
 * arc: ARC chain verification (RFC 8617 5.2); see arc.h.
 *
 * Order of work, as RFC 8617 5.2 says: collect the sets and check their
 * structure (at the end of headers, so that the body hashes of the
 * message signatures can be computed while the body streams in); at the
 * end, if the newest seal says cv=fail the chain fails; the newest
 * ARC-Message-Signature must verify; the older ones are verified for
 * oldest-pass; every ARC-Seal must verify, newest first.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arc.h"
#include "dkim_canon.h"
#include "dkim_key.h"
#include "dkim_tags.h"
#include "dnsname.h"
#include "log.h"
#include "sbuf.h"

#define A_MAX_SIG	2048	/* decoded b= bytes (RSA 16384 bits) */

enum a_kind { K_AAR = 0, K_AMS, K_AS, K_COUNT };

static const char *const kind_name[K_COUNT] = {
	"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"
};

/* A message signature or seal, as far as it parsed. */
struct a_sig {
	int usable;		/* every tag rule held: it can be verified */
	char why[120];		/* else why not */
	enum dkim_alg alg;
	enum dkim_canon hc, bc;
	int limited;
	unsigned long long limit;
	char domain[DKIM_KEY_NAMELEN];
	char selector[DKIM_KEY_NAMELEN];
	unsigned char bh[EVP_MAX_MD_SIZE];
	size_t bhlen;
	struct dkim_body *body;
};

struct a_set {
	size_t field[K_COUNT];	/* index among the fields, valid when present */
	int present[K_COUNT];
	struct a_sig ams, as;
};

struct arc_msg {
	struct dns_ctx *dns;
	char id[64];
	struct dkim_field *fields;
	size_t nfields;
	unsigned n;		/* the newest instance */
	struct a_set *sets;	/* ARC_MAX_SETS, made with the first ARC field */
	int decided;		/* the status is known before any signature is checked */
	struct arc_set *out;	/* n of them */
	struct arc_outcome result;
	struct dkim_bodies own;		/* the body hashes, unless shared */
	struct dkim_bodies *bodies;	/* &own or the shared list (not fed here) */
	int eoh, finished;
	int broken;		/* the structure is broken (collect) */
};

static const char *const res_names[ARC_RES_COUNT] = { "none", "pass", "fail" };
static const char *const check_names[ARC_CHECK_COUNT] = { "not checked", "pass", "fail" };

const char *
arc_res_str(enum arc_result r)
{
	return (unsigned)r < ARC_RES_COUNT ? res_names[r] : "fail";
}

const char *
arc_check_str(enum arc_check c)
{
	return (unsigned)c < ARC_CHECK_COUNT ? check_names[c] : "fail";
}

static void decide(struct arc_msg *m, enum arc_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The chain's status is known (none, or a structural failure). */
static void
decide(struct arc_msg *m, enum arc_result r, const char *fmt, ...)
{
	va_list ap;

	if (m->decided)
		return;
	m->decided = 1;
	m->result.result = r;
	va_start(ap, fmt);
	str_vformat(m->result.why, sizeof m->result.why, fmt, ap);
	va_end(ap);
}

/* Bounded copy of untrusted text; control characters become '?'. */
static void
clean_copy(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && src[i] != '\0' && i + 1 < dstlen; i++)
		dst[i] = iscntrl((unsigned char)src[i]) ? '?' : src[i];
	dst[i] = '\0';
}

/*
 * Unfolded text with white-space runs as one space, trimmed, bounded: 1
 * when all of it fit, 0 when it was cut (dst then holds a prefix of the
 * unfolded text, never two words joined where a space did not fit).
 */
static int
unfold_copy(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t o = 0, i;
	int sp = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			sp = o > 0;
			continue;
		}
		if (o + (sp ? 2 : 1) >= dstlen)
			break;
		if (sp)
			dst[o++] = ' ';
		sp = 0;
		dst[o++] = iscntrl(c) ? '?' : (char)c;
	}
	dst[o] = '\0';
	return i == len;
}

/* An instance number: 1..ARC_MAX_SETS written as digits alone. */
static int
instance_value(const char *v, size_t len, unsigned *out)
{
	unsigned n = 0;

	if (len == 0 || len > 3)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -1;
		n = n * 10 + (unsigned)(v[i] - '0');
	}
	if (n < 1 || n > ARC_MAX_SETS)
		return -1;
	*out = n;
	return 0;
}

static int
is_fws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * An ARC-Authentication-Results value: "i=N;" first (white space around
 * its parts allowed), then the authserv-id and the results. Returns the
 * offset after the ';', or -1.
 */
static long
aar_instance(const char *v, size_t len, unsigned *inst)
{
	size_t i = 0, d0;

	while (i < len && is_fws(v[i]))
		i++;
	if (i == len || v[i] != 'i')
		return -1;
	for (i++; i < len && is_fws(v[i]); i++)
		;
	if (i == len || v[i] != '=')
		return -1;
	for (i++; i < len && is_fws(v[i]); i++)
		;
	for (d0 = i; i < len && isdigit((unsigned char)v[i]); i++)
		;
	if (instance_value(v + d0, i - d0, inst) < 0)
		return -1;
	while (i < len && is_fws(v[i]))
		i++;
	if (i == len || v[i] != ';')
		return -1;
	return (long)(i + 1);
}

/* The instance of an ARC field; -1 with a reason. */
static int
field_instance(const struct dkim_field *f, enum a_kind k, unsigned *inst, char *why,
    size_t whylen)
{
	struct dkim_tags tags;
	const struct dkim_tag *t;
	char reason[120];

	if (k == K_AAR) {
		if (aar_instance(f->value, f->vlen, inst) < 0) {
			str_format(why, whylen, "%s does not begin with i=N; (N 1..%d)",
			    kind_name[k], ARC_MAX_SETS);
			return -1;
		}
		return 0;
	}
	if (dkim_tags_parse(f->value, f->vlen, &tags, reason, sizeof reason) < 0) {
		str_format(why, whylen, "%s: %s", kind_name[k], reason);
		return -1;
	}
	t = dkim_tags_get(&tags, "i");
	if (t == NULL || instance_value(t->value, t->value_len, inst) < 0) {
		str_format(why, whylen, "%s without a valid i= (1..%d)", kind_name[k], ARC_MAX_SETS);
		return -1;
	}
	return 0;
}

static int
kind_of(const struct dkim_field *f)
{
	for (int k = 0; k < K_COUNT; k++)
		if (dkim_field_is(f, kind_name[k], strlen(kind_name[k])))
			return k;
	return -1;
}

/* ---- tag rules of the two signatures ---- */

static int sig_bad(struct a_sig *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
sig_bad(struct a_sig *s, const char *fmt, ...)
{
	va_list ap;

	s->usable = 0;
	va_start(ap, fmt);
	str_vformat(s->why, sizeof s->why, fmt, ap);
	va_end(ap);
	return -1;
}

static int
need(struct a_sig *s, const struct dkim_tags *tags, const char *name)
{
	const struct dkim_tag *t = dkim_tags_get(tags, name);

	if (t == NULL)
		return sig_bad(s, "%s= missing", name);
	if (t->value_len == 0)
		return sig_bad(s, "%s= empty", name);
	return 0;
}

static int
name_tag(struct a_sig *s, const struct dkim_tags *tags, const char *name, char *out,
    size_t outlen)
{
	const struct dkim_tag *t = dkim_tags_get(tags, name);

	if (need(s, tags, name) < 0)
		return -1;
	if (t->value_len >= outlen ||
	    dns_name_check(t->value, t->value_len, DNS_NAME_HOST, NULL, 0) < 0)
		return sig_bad(s, "%s= is not a domain name", name);
	memcpy(out, t->value, t->value_len);
	out[t->value_len] = '\0';
	return 0;
}

static int
digits_only(const struct dkim_tag *t, size_t max)
{
	if (t->value_len == 0 || t->value_len > max)
		return 0;
	for (size_t i = 0; i < t->value_len; i++)
		if (!isdigit((unsigned char)t->value[i]))
			return 0;
	return 1;
}

/* The rules both share: a=, b=, d=, s=, t=. */
static int
common_tags(struct a_sig *s, const struct dkim_tags *tags)
{
	const struct dkim_tag *t;
	unsigned char sig[A_MAX_SIG];

	if (need(s, tags, "a") < 0)
		return -1;
	t = dkim_tags_get(tags, "a");
	if (dkim_alg_parse(t->value, t->value_len, &s->alg) < 0 ||
	    !dkim_tag_is(t, dkim_alg_name(s->alg), 0))
		return sig_bad(s, "unsupported algorithm");
	if (s->alg == DKIM_ALG_RSA_SHA1)
		return sig_bad(s, "rsa-sha1 is not acceptable (RFC 8301)");
	if (need(s, tags, "b") < 0)
		return -1;
	t = dkim_tags_get(tags, "b");
	if (dkim_b64_decode(t->value, t->value_len, sig, sizeof sig) <= 0)
		return sig_bad(s, "b= is not base64");
	if (name_tag(s, tags, "d", s->domain, sizeof s->domain) < 0 ||
	    name_tag(s, tags, "s", s->selector, sizeof s->selector) < 0)
		return -1;
	if ((t = dkim_tags_get(tags, "t")) != NULL && !digits_only(t, 20))
		return sig_bad(s, "t= is not a number");
	return 0;
}

/* ARC-Message-Signature: DKIM-Signature's rules, i= being the instance. */
static void
ams_tags(struct a_sig *s, const struct dkim_field *f)
{
	struct dkim_tags tags;
	const struct dkim_tag *t;
	char reason[120];
	int bad_body;
	long n;

	s->usable = 1;
	if (dkim_tags_parse(f->value, f->vlen, &tags, reason, sizeof reason) < 0) {
		sig_bad(s, "%s", reason);
		return;
	}
	if (common_tags(s, &tags) < 0)
		return;
	/* no c=: relaxed/relaxed, as the open ARC test suite and dkimpy read it
	 * (ARC signers all write c=; DKIM's default would be simple/simple) */
	s->hc = s->bc = CANON_RELAXED;
	if ((t = dkim_tags_get(&tags, "c")) != NULL &&
	    dkim_canon_parse(t->value, t->value_len, &s->hc, &s->bc, &bad_body) < 0) {
		sig_bad(s, "invalid canonicalization");
		return;
	}
	if ((t = dkim_tags_get(&tags, "h")) == NULL) {
		sig_bad(s, "h= missing");
		return;
	}
	if (dkim_tag_list_has(t, "arc-seal", 0)) {
		sig_bad(s, "h= names ARC-Seal (RFC 8617 4.1.2)");
		return;
	}
	if ((t = dkim_tags_get(&tags, "l")) != NULL) {
		if (!digits_only(t, 20)) {
			sig_bad(s, "l= is not a number");
			return;
		}
		s->limited = 1;
		s->limit = strtoull(t->value, NULL, 10);
	}
	if (need(s, &tags, "bh") < 0)
		return;
	t = dkim_tags_get(&tags, "bh");
	n = dkim_b64_decode(t->value, t->value_len, s->bh, sizeof s->bh);
	if (n != EVP_MD_get_size(dkim_alg_md(s->alg))) {
		sig_bad(s, "body hash corrupt");
		return;
	}
	s->bhlen = (size_t)n;
}

/* ARC-Seal: a=, b=, cv=, d=, s=, i=, t=; no h= (RFC 8617 4.1.3). */
static void
as_tags(struct a_sig *s, const struct dkim_field *f, enum arc_result *cv)
{
	struct dkim_tags tags;
	const struct dkim_tag *t;
	char reason[120];

	s->usable = 1;
	if (dkim_tags_parse(f->value, f->vlen, &tags, reason, sizeof reason) < 0) {
		sig_bad(s, "%s", reason);
		return;
	}
	*cv = ARC_RES_FAIL;
	t = dkim_tags_get(&tags, "cv");
	if (t == NULL || (!dkim_tag_is(t, "none", 0) && !dkim_tag_is(t, "pass", 0) &&
	    !dkim_tag_is(t, "fail", 0))) {
		sig_bad(s, "cv= is not none, pass or fail");
		return;
	}
	*cv = dkim_tag_is(t, "none", 0) ? ARC_RES_NONE : dkim_tag_is(t, "pass", 0) ?
	    ARC_RES_PASS : ARC_RES_FAIL;
	if (dkim_tags_get(&tags, "h") != NULL) {
		sig_bad(s, "h= in an ARC-Seal (RFC 8617 4.1.3)");
		return;
	}
	(void)common_tags(s, &tags);
}

/* ---- the set up, at the end of headers ---- */

struct arc_msg *
arc_msg_new(struct dns_ctx *dns, const char *id)
{
	struct arc_msg *m = calloc(1, sizeof *m);

	if (m == NULL)
		return NULL;
	m->dns = dns;
	m->bodies = &m->own;
	clean_copy(m->id, sizeof m->id, id != NULL && id[0] ? id : "-", (size_t)-1);
	return m;
}

void
arc_msg_share_bodies(struct arc_msg *m, struct dkim_bodies *l)
{
	if (m != NULL && !m->eoh)
		m->bodies = l;
}

static struct dkim_body *
body_for(struct arc_msg *m, const struct a_sig *s)
{
	return dkim_bodies_get(m->bodies, s->bc, dkim_alg_md(s->alg), s->limited, s->limit);
}

/* Puts each ARC field in its set; -1 when the structure is broken. */
static int
collect(struct arc_msg *m)
{
	char why[200];

	for (size_t i = 0; i < m->nfields; i++) {
		int k = kind_of(&m->fields[i]);
		unsigned inst;
		struct a_set *s;

		if (k < 0)
			continue;
		if (m->sets == NULL && (m->sets = calloc(ARC_MAX_SETS, sizeof *m->sets)) == NULL) {
			decide(m, ARC_RES_FAIL, "out of memory");
			return -1;
		}
		if (field_instance(&m->fields[i], (enum a_kind)k, &inst, why, sizeof why) < 0) {
			decide(m, ARC_RES_FAIL, "%s", why);
			return -1;
		}
		s = &m->sets[inst - 1];
		if (s->present[k]) {
			decide(m, ARC_RES_FAIL, "two %s fields with i=%u", kind_name[k], inst);
			return -1;
		}
		s->present[k] = 1;
		s->field[k] = i;
		if (inst > m->n)
			m->n = inst;
	}
	if (m->n == 0) {
		decide(m, ARC_RES_NONE, "no ARC sets");
		return -1;
	}
	for (unsigned i = 1; i <= m->n; i++)
		for (int k = 0; k < K_COUNT; k++)
			if (!m->sets[i - 1].present[k]) {
				decide(m, ARC_RES_FAIL, "ARC set i=%u has no %s", i, kind_name[k]);
				return -1;
			}
	return 0;
}

/* The parts of the outcome that come from the fields as they are. */
static void
describe(struct arc_msg *m)
{
	for (unsigned i = 0; i < m->n; i++) {
		struct arc_set *o = &m->out[i];
		const struct a_set *s = &m->sets[i];
		const struct dkim_field *aar = &m->fields[s->field[K_AAR]];
		long off;
		unsigned inst;
		const char *p, *end = aar->value + aar->vlen, *semi;

		o->instance = i + 1;
		clean_copy(o->seal_domain, sizeof o->seal_domain, s->as.domain, (size_t)-1);
		clean_copy(o->seal_selector, sizeof o->seal_selector, s->as.selector, (size_t)-1);
		if (s->as.usable || s->as.domain[0])
			clean_copy(o->seal_algorithm, sizeof o->seal_algorithm,
			    dkim_alg_name(s->as.alg), (size_t)-1);
		clean_copy(o->ams_domain, sizeof o->ams_domain, s->ams.domain, (size_t)-1);
		clean_copy(o->ams_selector, sizeof o->ams_selector, s->ams.selector, (size_t)-1);
		off = aar_instance(aar->value, aar->vlen, &inst);
		p = aar->value + (off > 0 ? off : 0);
		semi = memchr(p, ';', (size_t)(end - p));
		unfold_copy(o->authserv_id, sizeof o->authserv_id, p,
		    (size_t)((semi != NULL ? semi : end) - p));
		/* results that do not all fit are kept whole up to the last
		 * ';' that fit: a result cut at the end would be read as if
		 * whole ("header.from=victim.test" of "...victim.test.evil.test"),
		 * and arc_trust believes what a trusted sealer's results say */
		if (semi != NULL &&
		    !unfold_copy(o->claims, sizeof o->claims, semi + 1, (size_t)(end - semi - 1))) {
			char *last = strrchr(o->claims, ';');

			*(last != NULL ? last : o->claims) = '\0';
		}
	}
}

void
arc_msg_eoh(struct arc_msg *m, const struct header_list *hl)
{
	if (m == NULL || m->eoh)
		return;
	m->eoh = 1;
	m->fields = calloc(hl->n > 0 ? hl->n : 1, sizeof *m->fields);
	if (m->fields == NULL) {
		decide(m, ARC_RES_FAIL, "out of memory");
		return;
	}
	m->nfields = hl->n;
	for (size_t i = 0; i < hl->n; i++)
		dkim_field_set(&m->fields[i], hl->v[i].name, hl->v[i].value, hl->v[i].value_len);
	if (collect(m) < 0) {
		m->broken = m->result.result == ARC_RES_FAIL;
		return;
	}
	m->out = calloc(m->n, sizeof *m->out);
	if (m->out == NULL) {
		m->broken = 1;
		decide(m, ARC_RES_FAIL, "out of memory");
		return;
	}
	for (unsigned i = 0; i < m->n; i++) {
		struct a_set *s = &m->sets[i];

		ams_tags(&s->ams, &m->fields[s->field[K_AMS]]);
		as_tags(&s->as, &m->fields[s->field[K_AS]], &m->out[i].cv);
	}
	describe(m);
	/* RFC 8617 5.2 steps 2 and 3: what the seals say of the chain */
	if (m->out[m->n - 1].cv == ARC_RES_FAIL && m->sets[m->n - 1].as.usable) {
		decide(m, ARC_RES_FAIL, "the newest seal (i=%u) says the chain failed (cv=fail)", m->n);
		return;
	}
	for (unsigned i = 0; i < m->n; i++) {
		const struct a_sig *as = &m->sets[i].as;
		enum arc_result want = i == 0 ? ARC_RES_NONE : ARC_RES_PASS;

		if (!as->usable) {
			decide(m, ARC_RES_FAIL, "ARC-Seal i=%u: %s", i + 1, as->why);
			m->out[i].seal = ARC_CHECK_FAIL;
			str_format(m->out[i].why, sizeof m->out[i].why, "seal: %s", as->why);
			return;
		}
		if (m->out[i].cv != want) {
			decide(m, ARC_RES_FAIL, "ARC-Seal i=%u says cv=%s (must be %s)", i + 1,
			    arc_res_str(m->out[i].cv), arc_res_str(want));
			return;
		}
	}
	/* still open: the message signatures need their body hashes (a chain
	 * decided already needs none: none is taken, in a shared list too) */
	for (unsigned i = 0; i < m->n; i++) {
		struct a_sig *ams = &m->sets[i].ams;

		if (ams->usable && (ams->body = body_for(m, ams)) == NULL)
			sig_bad(ams, "out of memory");
	}
}

void
arc_msg_body(struct arc_msg *m, const unsigned char *p, size_t n)
{
	if (m == NULL || !m->eoh || m->finished || m->decided || m->bodies != &m->own)
		return;
	dkim_bodies_update(&m->own, p, n);
}

/* ---- verification, at the end ---- */

/* The key of a signature; -1 with the reason in why (and dns_trouble). */
static int
get_key(struct arc_msg *m, const struct a_sig *s, struct dkim_key *key, char *why,
    size_t whylen)
{
	enum dkim_res r = dkim_key_get(m->dns, s->selector, s->domain, s->alg, key, why, whylen);

	if (r == DKIM_RES_TEMPERROR)
		m->result.dns_trouble = 1;
	if (r != DKIM_RES_PASS)
		return -1;
	if (key->bits > 0 && key->bits < 1024) {
		str_format(why, whylen, "RSA key of %u bits is below 1024 (RFC 8301)", key->bits);
		dkim_key_release(key);
		return -1;
	}
	return 0;
}

/* The b= of a field, decoded, and where its value stands (for the hole). */
static int
sig_value(const struct dkim_field *f, unsigned char *sig, size_t *siglen, size_t *hole_start,
    size_t *hole_end, const struct dkim_tag **h, struct dkim_tags *tags)
{
	char reason[120];
	const struct dkim_tag *b;
	long n;

	if (dkim_tags_parse(f->value, f->vlen, tags, reason, sizeof reason) < 0 ||
	    (b = dkim_tags_get(tags, "b")) == NULL)
		return -1;
	n = dkim_b64_decode(b->value, b->value_len, sig, A_MAX_SIG);
	if (n <= 0)
		return -1;
	*siglen = (size_t)n;
	*hole_start = b->raw_start;
	*hole_end = b->raw_end;
	if (h != NULL)
		*h = dkim_tags_get(tags, "h");
	return 0;
}

/* One ARC-Message-Signature: 0 verified, -1 not (reason in why). */
static int
verify_ams(struct arc_msg *m, unsigned inst, char *why, size_t whylen)
{
	const struct a_sig *s = &m->sets[inst - 1].ams;
	const struct dkim_field *f = &m->fields[m->sets[inst - 1].field[K_AMS]];
	struct dkim_tags tags;
	const struct dkim_tag *h = NULL;
	struct dkim_key key;
	unsigned char sig[A_MAX_SIG], digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	size_t siglen = 0, hs = 0, he = 0;
	int ok;

	if (!s->usable) {
		str_format(why, whylen, "%s", s->why);
		return -1;
	}
	if (s->body == NULL || dkim_body_final(s->body) < 0) {
		str_format(why, whylen, "internal error");
		return -1;
	}
	if (s->limited && s->body->total < s->limit) {
		str_format(why, whylen, "length tag value exceeds body size");
		return -1;
	}
	if (sig_value(f, sig, &siglen, &hs, &he, &h, &tags) < 0 || h == NULL) {
		str_format(why, whylen, "signature syntax");
		return -1;
	}
	if (get_key(m, s, &key, why, whylen) < 0)
		return -1;
	ok = dkim_header_digest(m->fields, m->nfields, f, h->value, h->value_len, hs, he, s->hc,
	    dkim_alg_md(s->alg), digest, &dlen) == 0 &&
	    dkim_key_verify(&key, s->alg, digest, dlen, sig, siglen);
	dkim_key_release(&key);
	if (!ok) {
		str_format(why, whylen, "signature did not verify");
		return -1;
	}
	if (s->body->dlen != s->bhlen || memcmp(s->body->digest, s->bh, s->bhlen) != 0) {
		str_format(why, whylen, "body hash mismatch (body altered)");
		return -1;
	}
	return 0;
}

/*
 * The hash an ARC-Seal signs (RFC 8617 4.1.3): the sets 1..inst in order,
 * each as AAR, AMS, AS, relaxed; the last seal without its b= value and
 * without a final CRLF.
 */
static int
seal_digest(const struct arc_msg *m, unsigned inst, size_t hole_start, size_t hole_end,
    const EVP_MD *md, unsigned char *out, unsigned *outlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1;

	for (unsigned i = 1; ok && i <= inst; i++)
		for (int k = 0; ok && k < K_COUNT; k++) {
			const struct dkim_field *f = &m->fields[m->sets[i - 1].field[k]];
			int last = i == inst && k == K_AS;

			ok = dkim_canon_header(ctx, CANON_RELAXED, f->name, f->value, f->vlen,
			    last ? hole_start : 0, last ? hole_end : 0, !last) == 0;
		}
	ok = ok && EVP_DigestFinal_ex(ctx, out, outlen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int
verify_seal(struct arc_msg *m, unsigned inst, char *why, size_t whylen)
{
	const struct a_sig *s = &m->sets[inst - 1].as;
	const struct dkim_field *f = &m->fields[m->sets[inst - 1].field[K_AS]];
	struct dkim_tags tags;
	struct dkim_key key;
	unsigned char sig[A_MAX_SIG], digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	size_t siglen = 0, hs = 0, he = 0;
	int ok;

	if (sig_value(f, sig, &siglen, &hs, &he, NULL, &tags) < 0) {
		str_format(why, whylen, "signature syntax");
		return -1;
	}
	if (get_key(m, s, &key, why, whylen) < 0)
		return -1;
	ok = seal_digest(m, inst, hs, he, dkim_alg_md(s->alg), digest, &dlen) == 0 &&
	    dkim_key_verify(&key, s->alg, digest, dlen, sig, siglen);
	dkim_key_release(&key);
	if (!ok) {
		str_format(why, whylen, "signature did not verify");
		return -1;
	}
	return 0;
}

static void
note(struct arc_set *o, const char *what, const char *why)
{
	size_t n = strlen(o->why);

	str_format(o->why + n, sizeof o->why - n, "%s%s: %s", n ? "; " : "", what, why);
}

/* RFC 8617 5.2 steps 4 to 7. */
static void
verify_chain(struct arc_msg *m)
{
	char why[160];
	unsigned n = m->n;

	dkim_bodies_final(m->bodies);
	if (verify_ams(m, n, why, sizeof why) < 0) {
		m->out[n - 1].ams = ARC_CHECK_FAIL;
		note(&m->out[n - 1], "message signature", why);
		decide(m, ARC_RES_FAIL, "the newest ARC-Message-Signature (i=%u) did not verify: %s",
		    n, why);
		return;
	}
	m->out[n - 1].ams = ARC_CHECK_PASS;
	/* oldest-pass: back from the newest while the message signatures verify */
	m->result.oldest_pass = 0;
	for (unsigned i = n - 1; i >= 1; i--) {
		if (verify_ams(m, i, why, sizeof why) < 0) {
			m->out[i - 1].ams = ARC_CHECK_FAIL;
			note(&m->out[i - 1], "message signature", why);
			m->result.oldest_pass = i + 1;
			break;
		}
		m->out[i - 1].ams = ARC_CHECK_PASS;
	}
	for (unsigned i = n; i >= 1; i--) {
		if (verify_seal(m, i, why, sizeof why) < 0) {
			m->out[i - 1].seal = ARC_CHECK_FAIL;
			note(&m->out[i - 1], "seal", why);
			decide(m, ARC_RES_FAIL, "ARC-Seal i=%u did not verify: %s", i, why);
			return;
		}
		m->out[i - 1].seal = ARC_CHECK_PASS;
	}
	decide(m, ARC_RES_PASS, "%s", "");
}

void
arc_msg_finish(struct arc_msg *m, struct arc_outcome *out)
{
	memset(out, 0, sizeof *out);
	if (m == NULL) {
		out->result = ARC_RES_FAIL;
		str_format(out->why, sizeof out->why, "ARC verifier unavailable");
		return;
	}
	if (!m->finished) {
		m->finished = 1;
		if (!m->eoh)
			decide(m, ARC_RES_NONE, "no header");
		if (!m->decided)
			verify_chain(m);
		if (m->result.result == ARC_RES_FAIL)
			log_debug("arc %s: fail: %s", m->id, m->result.why);
	}
	*out = m->result;
	if (m->out != NULL) {
		out->n_sets = m->n;
		out->sets = m->out;
	}
	if (out->result == ARC_RES_NONE)
		out->why[0] = '\0';
}

void
arc_msg_free(struct arc_msg *m)
{
	if (m == NULL)
		return;
	dkim_bodies_free(&m->own);
	free(m->fields);
	free(m->sets);
	free(m->out);
	free(m);
}

/* ---- for a sealer (arc_seal.h) ---- */

int
arc_msg_chain(const struct arc_msg *m, unsigned *n, enum arc_result *newest_cv)
{
	*n = 0;
	*newest_cv = ARC_RES_NONE;
	if (m == NULL || !m->eoh || m->fields == NULL || m->broken)
		return -1;
	if (m->n == 0)
		return 0;
	for (unsigned i = 0; i < m->n; i++)
		if (!m->sets[i].as.usable)
			return -1;
	*n = m->n;
	*newest_cv = m->out[m->n - 1].cv;
	return 0;
}

const struct dkim_field *
arc_msg_fields(const struct arc_msg *m, size_t *n)
{
	*n = m->nfields;
	return m->fields;
}

const struct dkim_field *
arc_msg_set_field(const struct arc_msg *m, unsigned inst, int kind)
{
	if (inst == 0 || inst > m->n || kind < 0 || kind >= K_COUNT)
		return NULL;
	return &m->fields[m->sets[inst - 1].field[kind]];
}
