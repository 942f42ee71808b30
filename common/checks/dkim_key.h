/*
 * dkim_key: DKIM public keys (RFC 6376 3.6, RFC 8463) for the builtin
 * verifier and for ARC: the lookup of SELECTOR._domainkey.DOMAIN through
 * the dns module, the key record's rules, the decoded-key cache and the
 * signature check on OpenSSL's EVP interface.
 *
 * Key records: v= must be DKIM1 if present; h= must list the signature's
 * hash; s= must allow email ("*" or "email"); k= (default rsa) must be rsa
 * or ed25519 and match the signature's algorithm; t=y (testing) and t=s
 * (i= must be d= exactly) are reported to the caller; an empty p= is a
 * revoked key. RSA keys are SubjectPublicKeyInfo DER, ed25519 keys the
 * 32 raw bytes of RFC 8463.
 *
 * Reasons are the fixed phrases of dkim.h: "no key for NAME", "invalid
 * key name NAME", "DNS error: ...", "key revoked (empty p=)", "key syntax:
 * ..." (a missing key or a bad name is permerror, DNS trouble temperror).
 *
 * Cache: decoded keys are kept by their p= text (at most DKIM_KEY_CACHE,
 * least recently used out first), shared by all threads under a mutex; a
 * changed DNS record is a different text, so nothing goes stale. Keys are
 * shared read-only between threads, as OpenSSL allows for verification;
 * each RSA key keeps a context set up for rsa-sha256 that every lookup
 * copies (setting one up costs a sixth of a verification, natively).
 *
 * Signatures: RSA through OpenSSL's EVP interface, Ed25519 through
 * libsodium (2.2 times faster than OpenSSL 3.0's; it also refuses keys and
 * R points of small order and non-canonical encodings, which OpenSSL
 * accepts: such a signature fails, as no honest signer makes one).
 */
#ifndef SC_DKIM_KEY_H
#define SC_DKIM_KEY_H

#include <stddef.h>

#include <openssl/evp.h>

#include "dkim.h"
#include "dns.h"

#define DKIM_KEY_CACHE	256
#define DKIM_KEY_NAMELEN 256	/* SELECTOR._domainkey.DOMAIN + NUL */

enum dkim_alg { DKIM_ALG_RSA_SHA1 = 0, DKIM_ALG_RSA_SHA256, DKIM_ALG_ED25519_SHA256 };

/* a= text to algorithm; -1 when unknown. */
int dkim_alg_parse(const char *s, size_t len, enum dkim_alg *out);
const char *dkim_alg_name(enum dkim_alg a);
/*
 * Makes the libraries ready (libsodium, the fetched digests), once per
 * process; the functions here that need them call it, a call at start
 * moves the work (and a failure) there. -1: libsodium could not start.
 */
int dkim_key_init(void);

/* The hash of the algorithm: SHA-1 or SHA-256 (fetched once; shared). */
const EVP_MD *dkim_alg_md(enum dkim_alg a);

#define DKIM_ED25519_KEYLEN	32

/* A key that checks signatures; what dkim_key_release drops. */
struct dkim_key {
	int ed25519;		/* 1: raw holds the key, 0: pkey */
	unsigned char raw[DKIM_ED25519_KEYLEN];	/* ed25519 (RFC 8463) */
	EVP_PKEY *pkey;		/* rsa: one reference */
	EVP_PKEY_CTX *verify256;	/* rsa: own context for rsa-sha256, or NULL */
	unsigned bits;		/* RSA modulus bits; 0 for ed25519 */
	int testing;		/* t=y */
	int strict;		/* t=s */
};

/* "SELECTOR._domainkey.DOMAIN" into out; -1 if it does not fit. */
int dkim_key_qname(const char *selector, const char *domain, char *out, size_t outlen);

/*
 * Looks up and checks the key that signed with alg. Returns DKIM_RES_PASS
 * with *key filled, or DKIM_RES_PERMERROR / DKIM_RES_TEMPERROR with a
 * reason in why (*key then empty).
 */
enum dkim_res dkim_key_get(struct dns_ctx *dns, const char *selector,
    const char *domain, enum dkim_alg alg, struct dkim_key *key,
    char *why, size_t whylen);

/*
 * Checks one key record's text for alg (exposed for tests and fuzzing).
 * Return values as dkim_key_get.
 */
enum dkim_res dkim_key_parse(const char *rec, size_t len, enum dkim_alg alg,
    struct dkim_key *key, char *why, size_t whylen);

void dkim_key_release(struct dkim_key *key);

/*
 * Checks a signature over a header digest (RFC 6376: RSA PKCS#1 v1.5 of
 * the digest; RFC 8463: Ed25519 of the SHA-256 digest). Returns 1 when it
 * verifies, 0 when not (including keys of the wrong type).
 */
int dkim_key_verify(const struct dkim_key *key, enum dkim_alg alg,
    const unsigned char *digest, size_t dlen, const unsigned char *sig,
    size_t siglen);

/* Frees the cache (at exit, for leak checkers). */
void dkim_key_cache_clear(void);

#endif
