/*
 * dkim_key: key lookup, key record rules, decoded-key cache and signature
 * checks; see dkim_key.h.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "dkim_key.h"
#include "dkim_tags.h"
#include "dnsname.h"
#include "htable.h"
#include "sbuf.h"

#define KEY_MAXTEXT	8192	/* longest p= text kept in the cache */
#define KEY_MAXDER	6144	/* decoded key bytes we accept */

static const char *const alg_names[] = {
	[DKIM_ALG_RSA_SHA1] = "rsa-sha1",
	[DKIM_ALG_RSA_SHA256] = "rsa-sha256",
	[DKIM_ALG_ED25519_SHA256] = "ed25519-sha256",
};

int
dkim_alg_parse(const char *s, size_t len, enum dkim_alg *out)
{
	for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
		if (strlen(alg_names[i]) == len && strncasecmp(s, alg_names[i], len) == 0) {
			*out = (enum dkim_alg)i;
			return 0;
		}
	return -1;
}

const char *
dkim_alg_name(enum dkim_alg a)
{
	return (unsigned)a < sizeof alg_names / sizeof alg_names[0] ? alg_names[a] : "unknown";
}

/* ---- the libraries, made ready once ---- */

static pthread_once_t libs_once = PTHREAD_ONCE_INIT;
static int sodium_ok;
static EVP_MD *md_sha1, *md_sha256;	/* fetched once: EVP_sha256() is looked up at every use */

static void
libs_start(void)
{
	sodium_ok = sodium_init() >= 0;
	md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	ERR_clear_error();
}

int
dkim_key_init(void)
{
	pthread_once(&libs_once, libs_start);
	return sodium_ok ? 0 : -1;
}

const EVP_MD *
dkim_alg_md(enum dkim_alg a)
{
	(void)dkim_key_init();
	if (a == DKIM_ALG_RSA_SHA1)
		return md_sha1 != NULL ? md_sha1 : EVP_sha1();
	return md_sha256 != NULL ? md_sha256 : EVP_sha256();
}

int
dkim_key_qname(const char *selector, const char *domain, char *out, size_t outlen)
{
	int n = str_format(out, outlen, "%s._domainkey.%s", selector, domain);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Bounded copy for reasons; control characters become '?'. */
static void
clean_copy(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < dstlen; i++)
		dst[i] = iscntrl((unsigned char)src[i]) ? '?' : src[i];
	dst[i] = '\0';
}

/* ---- decoded keys ---- */

/* A key as decoded from p=, owned by the cache (or by key_from_text). */
struct decoded {
	int ed25519;
	unsigned char raw[DKIM_ED25519_KEYLEN];	/* ed25519 */
	EVP_PKEY *pkey;			/* rsa */
	EVP_PKEY_CTX *verify256;	/* rsa: set up for rsa-sha256, copied per use; may be NULL */
	unsigned bits;
};

/*
 * An RSA verification context for md: PKCS#1 v1.5. Made once per key and
 * copied (EVP_PKEY_CTX_dup): making one costs a sixth of a verification
 * (method look-ups by name, parameter setting).
 */
static EVP_PKEY_CTX *
rsa_verify_ctx(EVP_PKEY *pkey, const EVP_MD *md)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);

	if (c != NULL && (EVP_PKEY_verify_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(c, md) != 1)) {
		EVP_PKEY_CTX_free(c);
		c = NULL;
	}
	return c;
}

static void
decoded_free(struct decoded *d)
{
	EVP_PKEY_CTX_free(d->verify256);
	EVP_PKEY_free(d->pkey);
	memset(d, 0, sizeof *d);
}

/*
 * Gives key its own references to d for alg: the raw ed25519 key, or the
 * RSA key with its own copy of the rsa-sha256 context (NULL when none could
 * be made: dkim_key_verify then makes one). -1: no memory.
 */
static int
key_take(const struct decoded *d, enum dkim_alg alg, struct dkim_key *key)
{
	if (!d->ed25519 && EVP_PKEY_up_ref(d->pkey) != 1)
		return -1;
	key->ed25519 = d->ed25519;
	key->bits = d->bits;
	if (d->ed25519) {
		memcpy(key->raw, d->raw, sizeof key->raw);
		return 0;
	}
	key->pkey = d->pkey;
	if (alg == DKIM_ALG_RSA_SHA256 && d->verify256 != NULL)
		key->verify256 = EVP_PKEY_CTX_dup(d->verify256);
	return 0;
}

/* ---- the cache ---- */

struct cached_key {
	struct hlink link;	/* in cache_table, newest used first */
	size_t len;
	char *text;		/* p= without white space (KEY_MAXTEXT at most) */
	struct decoded key;
};

struct key_text {
	int ed25519;
	const char *text;
	size_t len;
};

static struct cached_key *cache;	/* DKIM_KEY_CACHE slots, ncache used */
static size_t ncache;
static struct htable cache_table;
static int cache_ready;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int
key_same(const struct hlink *l, const void *key)
{
	const struct cached_key *k = HTABLE_RECORD(l, struct cached_key, link);
	const struct key_text *t = key;

	return k->key.ed25519 == t->ed25519 && k->len == t->len && memcmp(k->text, t->text, t->len) == 0;
}

/* Under cache_lock: the table and slots exist (made on first use). */
static int
cache_init(void)
{
	if (cache_ready)
		return 0;
	if ((cache = calloc(DKIM_KEY_CACHE, sizeof *cache)) == NULL)
		return -1;
	if (htable_init(&cache_table, DKIM_KEY_CACHE, key_same) < 0) {
		free(cache);
		cache = NULL;
		return -1;
	}
	cache_ready = 1;
	return 0;
}

/* Under cache_lock: the cached entry for this text, made the newest. */
static struct cached_key *
cache_find(const struct key_text *t, uint64_t h)
{
	struct hlink *l;

	if (cache_init() < 0 || (l = htable_find(&cache_table, h, t)) == NULL)
		return NULL;
	htable_touch(&cache_table, l);
	return HTABLE_RECORD(l, struct cached_key, link);
}

/* Under cache_lock: keeps d (taken over: *d is empty after) if it can. */
static void
cache_keep(const struct key_text *t, uint64_t h, struct decoded *d)
{
	struct cached_key *k;
	char *text;

	if (cache_init() < 0 || (text = malloc(t->len + 1)) == NULL)
		return;
	if (ncache < DKIM_KEY_CACHE) {
		k = &cache[ncache++];
	} else {
		/* the least recently used key makes room */
		k = HTABLE_RECORD(htable_oldest(&cache_table), struct cached_key, link);
		htable_del(&cache_table, &k->link);
		decoded_free(&k->key);
		free(k->text);
	}
	memcpy(text, t->text, t->len);
	k->len = t->len;
	k->text = text;
	k->key = *d;
	memset(d, 0, sizeof *d);
	htable_add(&cache_table, &k->link, h);
}

void
dkim_key_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < ncache; i++) {
		decoded_free(&cache[i].key);
		free(cache[i].text);
	}
	if (cache_ready)
		htable_free(&cache_table);
	free(cache);
	cache = NULL;
	ncache = 0;
	cache_ready = 0;
	pthread_mutex_unlock(&cache_lock);
}

/*
 * Whether an RSA key's public exponent has more than KEY_MAX_EXP_BITS
 * bits. A verification costs about one multiplication per exponent bit:
 * with 65537 (17 bits) it is cheap, with an exponent as long as the
 * modulus it costs as much as signing (7.7 ms against 0.08 ms at 3,072
 * bits), and a sender's own keys verify up to MaxSignatures DKIM
 * signatures and 100 ARC signatures per message. OpenSSL itself refuses
 * exponents over 64 bits for moduli over 3,072 bits; real keys use 3 or
 * 65537. A key whose exponent cannot be read counts as too large.
 */
#define KEY_MAX_EXP_BITS 64

static int
exponent_too_large(const EVP_PKEY *pkey)
{
	BIGNUM *e = NULL;
	int too = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1 || e == NULL ||
	    BN_num_bits(e) > KEY_MAX_EXP_BITS;

	BN_free(e);
	return too;
}

/* Decodes p= (base64 already checked) into d; -1: not a key of that type,
 * -3: an RSA key whose public exponent is too large (exponent_too_large). */
static int
decode_key(int ed, const unsigned char *der, size_t len, struct decoded *d)
{
	const unsigned char *p = der;

	memset(d, 0, sizeof *d);
	d->ed25519 = ed;
	if (ed) {
		/* the point itself is checked by every verification */
		if (len != sizeof d->raw)
			return -1;
		memcpy(d->raw, der, len);
		return 0;
	}
	d->pkey = d2i_PUBKEY(NULL, &p, (long)len);
	if (d->pkey == NULL || EVP_PKEY_get_base_id(d->pkey) != EVP_PKEY_RSA) {
		decoded_free(d);
		return -1;
	}
	if (exponent_too_large(d->pkey)) {
		decoded_free(d);
		return -3;
	}
	d->bits = (unsigned)EVP_PKEY_get_bits(d->pkey);
	d->verify256 = rsa_verify_ctx(d->pkey, dkim_alg_md(DKIM_ALG_RSA_SHA256));
	return 0;
}

/*
 * The key for p= text (white space allowed) to check alg: from the cache or
 * decoded. Returns 0 with key filled (key_take), -2 when p= is not base64,
 * -3 when its RSA public exponent is too large (exponent_too_large),
 * or -1 (not a key of that type, or no memory).
 */
static int
key_from_text(enum dkim_alg alg, const char *p, size_t plen, struct dkim_key *key)
{
	int ed = alg == DKIM_ALG_ED25519_SHA256;
	char *text;
	unsigned char *der;
	size_t len = 0;
	long dlen;
	uint64_t h;
	struct cached_key *c;
	struct key_text t;
	struct decoded d;
	int rc = -1;

	text = malloc(plen + 1);
	der = malloc(plen + 1);
	if (text == NULL || der == NULL)
		goto out;
	for (size_t i = 0; i < plen; i++)
		if (!isspace((unsigned char)p[i]))
			text[len++] = p[i];
	t = (struct key_text){ ed, text, len };
	h = htable_hash(htable_hash(HTABLE_HASH_INIT, &ed, sizeof ed), text, len);
	if (len <= KEY_MAXTEXT) {
		pthread_mutex_lock(&cache_lock);
		c = cache_find(&t, h);
		if (c != NULL)
			rc = key_take(&c->key, alg, key);
		pthread_mutex_unlock(&cache_lock);
		if (c != NULL)
			goto out;
	}
	dlen = dkim_b64_decode(text, len, der, plen + 1);
	if (dlen < 0)
		rc = -2;
	if (dlen <= 0 || dlen > KEY_MAXDER)
		goto out;
	rc = decode_key(ed, der, (size_t)dlen, &d);
	ERR_clear_error();
	if (rc < 0)
		goto out;
	rc = key_take(&d, alg, key);
	if (rc == 0 && len <= KEY_MAXTEXT) {
		pthread_mutex_lock(&cache_lock);
		if (cache_find(&t, h) == NULL)
			cache_keep(&t, h, &d);
		pthread_mutex_unlock(&cache_lock);
	}
	decoded_free(&d);
out:
	free(text);
	free(der);
	return rc;
}

/* ---- key records ---- */

static enum dkim_res
key_syntax(char *why, size_t whylen, const char *what)
{
	str_format(why, whylen, "key syntax: %s", what);
	return DKIM_RES_PERMERROR;
}

enum dkim_res
dkim_key_parse(const char *rec, size_t len, enum dkim_alg alg,
    struct dkim_key *key, char *why, size_t whylen)
{
	struct dkim_tags tags;
	const struct dkim_tag *t, *p;
	char reason[120];
	int ed = 0;

	memset(key, 0, sizeof *key);
	if (len == 0)
		return key_syntax(why, whylen, "empty key record");
	if (dkim_tags_parse(rec, len, &tags, reason, sizeof reason) < 0)
		return key_syntax(why, whylen, reason + (strncmp(reason, "tag syntax: ", 12) == 0 ? 12 : 0));
	t = dkim_tags_get(&tags, "v");
	if (t != NULL && !dkim_tag_is(t, "DKIM1", 0))
		return key_syntax(why, whylen, "unknown key version");
	t = dkim_tags_get(&tags, "h");
	if (t != NULL) {
		if (!dkim_tag_list_has(t, "sha1", 0) && !dkim_tag_list_has(t, "sha256", 0))
			return key_syntax(why, whylen, "unknown key hash");
		if (!dkim_tag_list_has(t, alg == DKIM_ALG_RSA_SHA1 ? "sha1" : "sha256", 0))
			return key_syntax(why, whylen, "signature-key hash mismatch");
	}
	t = dkim_tags_get(&tags, "s");
	if (t != NULL && !dkim_tag_list_has(t, "*", 0) && !dkim_tag_list_has(t, "email", 0))
		return key_syntax(why, whylen, "not an e-mail key");
	t = dkim_tags_get(&tags, "k");
	if (t == NULL || dkim_tag_is(t, "rsa", 1))
		ed = 0;
	else if (dkim_tag_is(t, "ed25519", 1))
		ed = 1;
	else
		return key_syntax(why, whylen, "unknown key type");
	if (ed != (alg == DKIM_ALG_ED25519_SHA256))
		return key_syntax(why, whylen, "inappropriate key algorithm (k= does not match a=)");
	p = dkim_tags_get(&tags, "p");
	if (p == NULL)
		return key_syntax(why, whylen, "no p= tag");
	if (p->value_len == 0) {
		str_format(why, whylen, "key revoked (empty p=)");
		return DKIM_RES_PERMERROR;
	}
	switch (key_from_text(alg, p->value, p->value_len, key)) {
	case 0:
		break;
	case -2:
		return key_syntax(why, whylen, "p= is not base64");
	case -3:
		return key_syntax(why, whylen, "RSA public exponent over 64 bits (real keys use 65537)");
	default:
		return key_syntax(why, whylen, "unable to apply public key");
	}
	t = dkim_tags_get(&tags, "t");
	if (t != NULL) {
		key->testing = dkim_tag_list_has(t, "y", 0);
		key->strict = dkim_tag_list_has(t, "s", 0);
	}
	return DKIM_RES_PASS;
}

void
dkim_key_release(struct dkim_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_CTX_free(key->verify256);
	EVP_PKEY_free(key->pkey);
	memset(key, 0, sizeof *key);
}

enum dkim_res
dkim_key_get(struct dns_ctx *dns, const char *selector, const char *domain,
    enum dkim_alg alg, struct dkim_key *key, char *why, size_t whylen)
{
	char name[DKIM_KEY_NAMELEN], shown[DKIM_KEY_NAMELEN];
	struct dns_result r;
	enum dkim_res res;

	memset(key, 0, sizeof *key);
	if (dkim_key_qname(selector, domain, name, sizeof name) < 0) {
		str_format(why, whylen, "invalid key name (too long)");
		return DKIM_RES_PERMERROR;
	}
	clean_copy(shown, sizeof shown, name);
	if (!dns_name_ok(name, DNS_NAME_HOST)) {
		str_format(why, whylen, "invalid key name %s", shown);
		return DKIM_RES_PERMERROR;
	}
	dns_query(dns, name, DNS_T_TXT, &r);
	switch (r.status) {
	case DNS_OK:
		if (r.n > 1) {
			res = key_syntax(why, whylen, "more than one key record");
		} else {
			res = dkim_key_parse((const char *)r.rr[0].data, r.rr[0].len, alg,
			    key, why, whylen);
		}
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		str_format(why, whylen, "no key for %s", shown);
		res = DKIM_RES_PERMERROR;
		break;
	case DNS_BADNAME:
		str_format(why, whylen, "invalid key name %s", shown);
		res = DKIM_RES_PERMERROR;
		break;
	default:
		str_format(why, whylen, "DNS error: %s",
		    r.why[0] != '\0' ? r.why : dns_status_str(r.status));
		res = DKIM_RES_TEMPERROR;
		break;
	}
	dns_result_free(&r);
	return res;
}

int
dkim_key_verify(const struct dkim_key *key, enum dkim_alg alg,
    const unsigned char *digest, size_t dlen, const unsigned char *sig,
    size_t siglen)
{
	EVP_PKEY_CTX *c;
	int ok;

	if (key == NULL)
		return 0;
	if (alg == DKIM_ALG_ED25519_SHA256) {
		/* libsodium reads exactly crypto_sign_BYTES of sig */
		return key->ed25519 && siglen == crypto_sign_BYTES && dkim_key_init() == 0 &&
		    crypto_sign_verify_detached(sig, digest, dlen, key->raw) == 0;
	}
	if (key->ed25519 || key->pkey == NULL)
		return 0;
	c = alg == DKIM_ALG_RSA_SHA256 ? key->verify256 : NULL;
	if (c != NULL) {
		ok = EVP_PKEY_verify(c, sig, siglen, digest, dlen) == 1;
	} else {
		c = rsa_verify_ctx(key->pkey, dkim_alg_md(alg));
		ok = c != NULL && EVP_PKEY_verify(c, sig, siglen, digest, dlen) == 1;
		EVP_PKEY_CTX_free(c);
	}
	ERR_clear_error();
	return ok;
}
