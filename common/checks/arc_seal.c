/*
 * arc_seal: this host's ARC set on a message; see arc_seal.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "arc_seal.h"
#include "authres.h"
#include "dkim_canon.h"
#include "dkim_key.h"
#include "sbuf.h"

#define SEAL_SIG_MAX	2048	/* signature bytes (RSA 16384 bits) */
#define SEAL_FIELD_MAX	65536	/* one field value we write */

struct arc_signer {
	EVP_PKEY *key;
	enum dkim_alg alg;
	char domain[256];
	char selector[64];
};

struct arc_seal_msg {
	const struct arc_signer *s;
	struct dkim_bodies own;		/* our body hash, unless shared */
	int shared;
	struct dkim_body *body;		/* relaxed, SHA-256, whole body; NULL: no memory */
};

/* Signed by the message signature, in this order, each as often as it occurs. */
static const char *const signed_names[] = { "from", "to", "cc", "subject", "date", "message-id",
	"reply-to", "in-reply-to", "references", "mime-version", "content-type",
	"content-transfer-encoding", "list-id", "list-post", "list-unsubscribe",
	"list-unsubscribe-post" };

struct arc_signer *
arc_signer_new(const char *keyfile, const char *domain, const char *selector, char *why,
    size_t whylen)
{
	struct arc_signer *s;
	struct stat st;
	FILE *f;

	if (keyfile == NULL || keyfile[0] == '\0' || domain == NULL || domain[0] == '\0' ||
	    selector == NULL || selector[0] == '\0') {
		snprintf(why, whylen, "ARCSign needs ARCKeyFile, ARCDomain and ARCSelector");
		return NULL;
	}
	if (strlen(domain) >= sizeof s->domain || strlen(selector) >= sizeof s->selector) {
		snprintf(why, whylen, "ARCDomain or ARCSelector too long");
		return NULL;
	}
	if ((f = fopen(keyfile, "r")) == NULL) {
		snprintf(why, whylen, "%s: %s", keyfile, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", keyfile);
		fclose(f);
		return NULL;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(why, whylen, "%s: the private key is readable or writable by other users "
		    "(mode %03o; chmod o= it)", keyfile, (unsigned)(st.st_mode & 0777));
		fclose(f);
		return NULL;
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		snprintf(why, whylen, "out of memory");
		fclose(f);
		return NULL;
	}
	s->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (s->key == NULL) {
		snprintf(why, whylen, "%s: not a PEM private key", keyfile);
		ERR_clear_error();
		free(s);
		return NULL;
	}
	switch (EVP_PKEY_get_base_id(s->key)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(s->key) < 1024) {
			snprintf(why, whylen, "%s: RSA key of %d bits; at least 1024 (RFC 8301), "
			    "2048 advised", keyfile, EVP_PKEY_get_bits(s->key));
			arc_signer_free(s);
			return NULL;
		}
		s->alg = DKIM_ALG_RSA_SHA256;
		break;
	case EVP_PKEY_ED25519:
		s->alg = DKIM_ALG_ED25519_SHA256;
		break;
	default:
		snprintf(why, whylen, "%s: neither an RSA nor an Ed25519 key", keyfile);
		arc_signer_free(s);
		return NULL;
	}
	snprintf(s->domain, sizeof s->domain, "%s", domain);
	snprintf(s->selector, sizeof s->selector, "%s", selector);
	return s;
}

void
arc_signer_free(struct arc_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->key);
	free(s);
}

const char *
arc_signer_algorithm(const struct arc_signer *s)
{
	return dkim_alg_name(s->alg);
}

struct arc_seal_msg *
arc_seal_msg_new(const struct arc_signer *s)
{
	struct arc_seal_msg *m = calloc(1, sizeof *m);

	if (m == NULL)
		return NULL;
	m->s = s;
	m->body = dkim_bodies_get(&m->own, CANON_RELAXED, EVP_sha256(), 0, 0);
	return m;
}

void
arc_seal_msg_share_bodies(struct arc_seal_msg *m, struct dkim_bodies *l)
{
	if (m == NULL || m->own.fed)
		return;
	dkim_bodies_free(&m->own);
	m->shared = 1;
	m->body = dkim_bodies_get(l, CANON_RELAXED, EVP_sha256(), 0, 0);
}

void
arc_seal_msg_body(struct arc_seal_msg *m, const unsigned char *p, size_t n)
{
	if (m != NULL && !m->shared)
		dkim_bodies_update(&m->own, p, n);
}

void
arc_seal_msg_free(struct arc_seal_msg *m)
{
	if (m == NULL)
		return;
	dkim_bodies_free(&m->own);
	free(m);
}

void
arc_new_set_free(struct arc_new_set *s)
{
	free(s->aar);
	free(s->ams);
	free(s->as);
	memset(s, 0, sizeof *s);
}

/* The string of b (the caller frees it); NULL when it overflowed. */
static char *
take(struct sbuf *b)
{
	if (b->overflow) {
		sbuf_free(b);
		return NULL;
	}
	return sbuf_detach(b);
}

/* A value folded with "\n\t" as the signature sees it: CRLF folds. */
static char *
crlf_copy(const char *v)
{
	struct sbuf b;
	char prev = '\0';

	sbuf_init(&b, 2 * strlen(v) + 1);
	for (; *v; prev = *v++) {
		if (*v == '\n' && prev != '\r')
			sbuf_addc(&b, '\r');
		sbuf_addc(&b, *v);
	}
	return take(&b);
}

/* Signs a digest with the signer's key; the signature in base64, malloc'd. */
static char *
sign_digest(const struct arc_signer *s, const unsigned char *digest, size_t dlen)
{
	unsigned char sig[SEAL_SIG_MAX];
	size_t siglen = sizeof sig;
	int ok;
	char *b64;

	if (s->alg == DKIM_ALG_ED25519_SHA256) {
		EVP_MD_CTX *m = EVP_MD_CTX_new();

		ok = m != NULL && EVP_DigestSignInit(m, NULL, NULL, NULL, s->key) == 1 &&
		    EVP_DigestSign(m, sig, &siglen, digest, dlen) == 1;
		EVP_MD_CTX_free(m);
	} else {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(s->key, NULL);

		ok = c != NULL && EVP_PKEY_sign_init(c) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(c, sig, &siglen, digest, dlen) == 1;
		EVP_PKEY_CTX_free(c);
	}
	ERR_clear_error();
	if (!ok || (b64 = malloc(4 * ((siglen + 2) / 3) + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	return b64;
}

/* Appends base64 text folded every 72 characters. */
static void
add_folded(struct sbuf *b, const char *b64)
{
	for (size_t i = 0, n = strlen(b64); i < n; i += 72) {
		if (i > 0)
			sbuf_addstr(b, "\n\t  ");
		sbuf_add(b, b64 + i, n - i < 72 ? n - i : 72);
	}
}

/* The h= list: each name as often as its fields occur, From once more. */
static void
signed_list(const struct dkim_field *fields, size_t n, struct sbuf *h)
{
	for (size_t k = 0; k < sizeof signed_names / sizeof signed_names[0]; k++) {
		size_t len = strlen(signed_names[k]);
		unsigned count = strcmp(signed_names[k], "from") == 0;

		for (size_t i = 0; i < n; i++)
			count += dkim_field_is(&fields[i], signed_names[k], len) != 0;
		for (unsigned j = 0; j < count; j++) {
			if (h->len > 0)
				sbuf_addc(h, ':');
			sbuf_addstr(h, signed_names[k]);
		}
	}
}

/* Adds one field to a seal digest (relaxed, CRLF folds). */
static int
seal_field(EVP_MD_CTX *ctx, const char *name, const char *value, int last)
{
	return dkim_canon_header(ctx, CANON_RELAXED, name, value, strlen(value), 0, 0, !last);
}

/* The chain validation status the results state (arc=...), or -1. */
static int
stated_cv(const char *results)
{
	struct authres_result r[16];
	const char *semi = strchr(results, ';');
	size_t n;

	if (semi == NULL)
		return -1;
	n = authres_read_results(semi + 1, strlen(semi + 1), r, 16);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(r[i].method, "arc") != 0)
			continue;
		if (strcmp(r[i].result, "pass") == 0)
			return ARC_RES_PASS;
		if (strcmp(r[i].result, "none") == 0)
			return ARC_RES_NONE;
		return ARC_RES_FAIL;
	}
	return -1;
}

/* The message signature's value (CRLF folds) for set inst; NULL on error. */
static char *
make_ams(struct arc_seal_msg *m, const struct arc_msg *chain, unsigned inst, long long now,
    char *why, size_t whylen)
{
	const struct arc_signer *s = m->s;
	size_t nf;
	const struct dkim_field *fields = arc_msg_fields(chain, &nf);
	struct sbuf v, h;
	struct dkim_field own;
	unsigned char digest[EVP_MAX_MD_SIZE], bh64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned dlen = 0;
	char *crlf, *sig = NULL;

	if (m->body == NULL || dkim_body_final(m->body) < 0) {
		snprintf(why, whylen, "body hash failed");
		return NULL;
	}
	EVP_EncodeBlock(bh64, m->body->digest, (int)m->body->dlen);
	sbuf_init(&h, SEAL_FIELD_MAX);
	signed_list(fields, nf, &h);
	sbuf_init(&v, SEAL_FIELD_MAX);
	sbuf_printf(&v, " i=%u; a=%s; c=relaxed/relaxed; d=%s; s=%s; t=%lld;\n\th=%s;\n\tbh=%s;\n\tb=",
	    inst, dkim_alg_name(s->alg), s->domain, s->selector, now, h.s, bh64);
	crlf = crlf_copy(v.s);
	if (crlf != NULL) {
		dkim_field_set(&own, "ARC-Message-Signature", crlf, strlen(crlf));
		if (dkim_header_digest(fields, nf, &own, h.s, h.len, 0, 0, CANON_RELAXED,
		    EVP_sha256(), digest, &dlen) == 0)
			sig = sign_digest(s, digest, dlen);
	}
	free(crlf);
	sbuf_free(&h);
	if (sig == NULL) {
		snprintf(why, whylen, "signing the message signature failed");
		sbuf_free(&v);
		return NULL;
	}
	add_folded(&v, sig);
	free(sig);
	return take(&v);
}

/* The seal's value for the new set (aar, ams as they will be written). */
static char *
make_as(struct arc_seal_msg *m, const struct arc_msg *chain, unsigned inst, enum arc_result cv,
    const char *aar, const char *ams, long long now, char *why, size_t whylen)
{
	const struct arc_signer *s = m->s;
	static const char *const kinds[3] = { "ARC-Authentication-Results",
		"ARC-Message-Signature", "ARC-Seal" };
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	struct sbuf v;
	char *aar_c = crlf_copy(aar), *ams_c = crlf_copy(ams), *as_c, *sig = NULL;
	int ok = ctx != NULL && aar_c != NULL && ams_c != NULL &&
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	sbuf_init(&v, SEAL_FIELD_MAX);
	sbuf_printf(&v, " i=%u; a=%s; cv=%s; d=%s; s=%s; t=%lld;\n\tb=", inst,
	    dkim_alg_name(s->alg), arc_res_str(cv), s->domain, s->selector, now);
	as_c = crlf_copy(v.s);
	/* with cv=fail only the new set (RFC 8617 5.1.2) */
	for (unsigned i = 1; ok && cv != ARC_RES_FAIL && i < inst; i++)
		for (int k = 0; ok && k < 3; k++) {
			const struct dkim_field *f = arc_msg_set_field(chain, i, k);

			ok = f != NULL && dkim_canon_header(ctx, CANON_RELAXED, kinds[k], f->value,
			    f->vlen, 0, 0, 1) == 0;
		}
	ok = ok && as_c != NULL && seal_field(ctx, kinds[0], aar_c, 0) == 0 &&
	    seal_field(ctx, kinds[1], ams_c, 0) == 0 && seal_field(ctx, kinds[2], as_c, 1) == 0 &&
	    EVP_DigestFinal_ex(ctx, digest, &dlen) == 1;
	if (ok)
		sig = sign_digest(s, digest, dlen);
	EVP_MD_CTX_free(ctx);
	free(aar_c);
	free(ams_c);
	free(as_c);
	if (sig == NULL) {
		snprintf(why, whylen, "signing the seal failed");
		sbuf_free(&v);
		return NULL;
	}
	add_folded(&v, sig);
	free(sig);
	return take(&v);
}

int
arc_seal_msg_finish(struct arc_seal_msg *m, const struct header_list *hl,
    const struct arc_msg *chain, const char *results, enum arc_result cv, long long now,
    struct arc_new_set *out, char *why, size_t whylen)
{
	unsigned n;
	enum arc_result newest;
	const char *r = results;
	struct sbuf aar;

	(void)hl;
	memset(out, 0, sizeof *out);
	if (m == NULL || chain == NULL || results == NULL) {
		snprintf(why, whylen, "nothing to seal");
		return -1;
	}
	if (arc_msg_chain(chain, &n, &newest) < 0) {
		snprintf(why, whylen, "the ARC chain is broken in structure");
		return -1;
	}
	if (n > 0 && newest == ARC_RES_FAIL) {
		snprintf(why, whylen, "the newest seal (i=%u) says the chain failed", n);
		return -1;
	}
	if (n >= ARC_MAX_SETS) {
		snprintf(why, whylen, "the chain has %u sets already", n);
		return -1;
	}
	if (cv == ARC_RES_COUNT) {
		int stated = stated_cv(results);

		if (stated < 0 && n > 0) {
			snprintf(why, whylen, "the results say nothing of the chain of %u sets", n);
			return -1;
		}
		cv = stated < 0 ? ARC_RES_NONE : (enum arc_result)stated;
	}
	/* a status that contradicts the chain as it is: a failed one */
	if ((n == 0) != (cv == ARC_RES_NONE))
		cv = ARC_RES_FAIL;
	while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
		r++;
	sbuf_init(&aar, SEAL_FIELD_MAX);
	sbuf_printf(&aar, " i=%u; %s", n + 1, r);
	out->instance = n + 1;
	out->cv = cv;
	out->aar = take(&aar);
	out->ams = out->aar ? make_ams(m, chain, n + 1, now, why, whylen) : NULL;
	out->as = out->ams ? make_as(m, chain, n + 1, cv, out->aar, out->ams, now, why,
	    whylen) : NULL;
	if (out->as == NULL) {
		if (out->aar == NULL)
			snprintf(why, whylen, "out of memory");
		arc_new_set_free(out);
		return -1;
	}
	return 0;
}

/* The authserv-id of an A-R value: its first word, as [start, end). */
static int
authserv_id_is(const char *v, size_t len, const char *id)
{
	const char *end = v + len, *w;

	while (v < end && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
		v++;
	for (w = v; w < end && *w != ';' && *w != ' ' && *w != '\t' && *w != '\r' &&
	    *w != '\n' && *w != '('; w++)
		;
	return (size_t)(w - v) == strlen(id) && strncasecmp(v, id, (size_t)(w - v)) == 0;
}

char *
arc_seal_own_results(const struct header_list *hl, const char *authserv_id)
{
	struct sbuf b;
	int found = 0;

	if (authserv_id == NULL || authserv_id[0] == '\0')
		return NULL;
	sbuf_init(&b, SEAL_FIELD_MAX);
	sbuf_addstr(&b, authserv_id);
	for (size_t i = 0; i < hl->n; i++) {
		const struct header *h = &hl->v[i];
		const char *semi, *end = h->value + h->value_len;
		size_t len;

		if (strcasecmp(h->name, "Authentication-Results") != 0 ||
		    !authserv_id_is(h->value, h->value_len, authserv_id))
			continue;
		found = 1;
		if ((semi = memchr(h->value, ';', h->value_len)) == NULL)
			continue;
		semi++;
		while (semi < end && (*semi == ' ' || *semi == '\t' || *semi == '\r' ||
		    *semi == '\n'))
			semi++;
		len = (size_t)(end - semi);
		while (len > 0 && (semi[len - 1] == ' ' || semi[len - 1] == '\t' ||
		    semi[len - 1] == '\r' || semi[len - 1] == '\n'))
			len--;
		if (len == 0)
			continue;
		sbuf_addstr(&b, ";\n\t");
		for (size_t j = 0; j < len; j++)	/* folds as libmilter wants them */
			if (semi[j] != '\r')
				sbuf_addc(&b, semi[j]);
	}
	if (!found) {
		sbuf_free(&b);
		return NULL;
	}
	return take(&b);
}
