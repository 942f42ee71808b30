/*
 * dkim: DKIM signature verification (RFC 6376, RFC 8463, RFC 8301) behind
 * one interface, with two engines: the project's own verifier ("builtin",
 * dkim_builtin.c, the default) and libopendkim (dkim_opendkim.c). Both look
 * keys up through the dns module and give the same results with the same
 * reasons (the differential test, tests/dkim/diff_engines.py, holds them
 * to it; the README lists where they differ and why).
 *
 * A dkim_verifier is created once and shared by all threads. A dkim_msg is
 * one message: feed it headers, then the end of headers, then body chunks
 * exactly as received, then finish it to get one result per signature (up
 * to max_signatures; further signatures are reported as not checked).
 * All DNS lookups of one dkim_msg are charged to the dns_ctx given to
 * dkim_msg_new.
 *
 * Policy (RFC 8301): rsa-sha1 and RSA keys under 1024 bits never pass.
 * A signature made so that was evaluated (it verified, or it failed) gets
 * DKIM_RES_POLICY with the rule in why (and the failure after it, if any);
 * key and DNS problems keep their permerror / temperror. A signature is
 * pass only if the header signature verifies and the body hash matches.
 *
 * Reasons (why) are fixed phrases callers may match on: "signature did not
 * verify", "body hash mismatch (body altered)", "no key for
 * S._domainkey.D", "key revoked (empty p=)", "key syntax: ...",
 * "DNS error: ...", "invalid key name ...", "signature expired",
 * "signature in the future", "signature syntax: ...",
 * "unsupported algorithm", "rsa-sha1 is not acceptable (RFC 8301)",
 * "RSA key of N bits is below 1024 (RFC 8301)", "not checked: over the
 * limit of N signatures", and libopendkim's names of tag errors ("domain
 * tag missing", "header list missing required entries", "length tag value
 * exceeds body size", ...). A pass with l= carries the note "l=N: ...";
 * a signature whose key is in testing mode (t=y) carries "key in testing
 * mode (t=y)" and has `testing` set: RFC 6376 3.6.1 says to treat its
 * failure as no signature, which the engine's actions do.
 *
 * Header fields of any length are verified (no limit below the header
 * size the MTA accepts).
 *
 * Threads: dkim_msg_* calls for one message may come from any thread, one
 * at a time; DNS lookups happen inside dkim_msg_eoh and dkim_msg_finish.
 */
#ifndef SC_DKIM_H
#define SC_DKIM_H

#include <stddef.h>

#include "dns.h"

enum dkim_res {
	DKIM_RES_NONE = 0,	/* no signature (message-level only) */
	DKIM_RES_PASS,
	DKIM_RES_FAIL,		/* signature or body hash does not verify */
	DKIM_RES_POLICY,	/* verifies, but not acceptable (sha1, short key) */
	DKIM_RES_NEUTRAL,	/* not checked (over the signature limit) */
	DKIM_RES_TEMPERROR,	/* DNS trouble fetching the key */
	DKIM_RES_PERMERROR,	/* unusable signature or key (syntax, no key, revoked, expired) */
	DKIM_RES_COUNT
};

/* RFC 8601 names: "none", "pass", "fail", "policy", "neutral", "temperror", "permerror" */
const char *dkim_res_str(enum dkim_res r);

enum dkim_engine_kind { DKIM_ENGINE_LIBOPENDKIM = 0, DKIM_ENGINE_BUILTIN };

/*
 * The names in h= are kept for reports up to DKIM_MAX_SIGNED_HDRS; the
 * fields the rules judge by are counted over the whole list (a legitimate
 * signer may list far more names, and From may come after the 64th).
 */
#define DKIM_MAX_SIGNED_HDRS 64
enum dkim_hfield { DKIM_H_FROM = 0, DKIM_H_LIST_UNSUB, DKIM_H_LIST_UNSUB_POST, DKIM_H_COUNT };

struct dkim_sig_result {
	enum dkim_res result;
	char domain[256];	/* d= */
	char selector[64];	/* s= */
	char identity[320];	/* i= (or @d when absent) */
	char algorithm[32];	/* a=, e.g. "rsa-sha256", "ed25519-sha256" */
	char b_prefix[16];	/* first 8 characters of b= */
	unsigned key_bits;	/* RSA key size; 0 for ed25519 or unknown */
	int has_length;		/* l= present */
	unsigned long length;	/* l= value */
	unsigned long body_len;	/* body bytes after canonicalisation (hashed) */
	int testing;		/* the key says t=y */
	/* header field names listed in h=, lower-case, in order: the first
	 * DKIM_MAX_SIGNED_HDRS of them, each cut at 63 octets */
	size_t n_signed;
	char signed_hdrs[DKIM_MAX_SIGNED_HDRS][64];
	/* how many times h= names each enum dkim_hfield, over the whole list */
	unsigned signs[DKIM_H_COUNT];
	char why[160];		/* reason when not pass; notes otherwise */
};

/*
 * Fills signed_hdrs, n_signed and signs from an h= value of len octets, read
 * as the verifiers read it for the header hash: split at ':', white space
 * around a name dropped, names compared without regard to case. A name with
 * white space or a control octet inside names no field (it is listed with
 * '?' there and counts for nothing).
 */
void dkim_sig_set_hlist(struct dkim_sig_result *r, const char *h, size_t len);

struct dkim_verifier;
struct dkim_msg;
struct dkim_bodies;

struct dkim_verifier *dkim_verifier_new(enum dkim_engine_kind kind,
    unsigned max_signatures, char *why, size_t whylen);
/* "builtin" or "libopendkim" */
const char *dkim_engine_name(const struct dkim_verifier *v);
void dkim_verifier_free(struct dkim_verifier *v);

/* id: a label for logs (queue id). */
struct dkim_msg *dkim_msg_new(struct dkim_verifier *v, struct dns_ctx *dns,
    const char *id);
/* name without colon; value as received, folds as CRLF + WSP, no trailing CRLF. */
void dkim_msg_header(struct dkim_msg *m, const char *name, const char *value);
void dkim_msg_eoh(struct dkim_msg *m);
/*
 * Before dkim_msg_eoh: the body hashes are taken from l (dkim_canon.h),
 * shared with others, and the caller feeds l the body (dkim_bodies_update)
 * instead of dkim_msg_body (which then feeds only an engine with its own
 * hashing: libopendkim's). l must outlive m's dkim_msg_finish.
 */
void dkim_msg_share_bodies(struct dkim_msg *m, struct dkim_bodies *l);
void dkim_msg_body(struct dkim_msg *m, const unsigned char *p, size_t n);
/*
 * Finishes verification. Points *res at *nres results owned by m, one per
 * signature in header order; signatures past max_signatures are listed as
 * DKIM_RES_NEUTRAL "not checked" (at most DKIM_MAX_LISTED in all). Returns
 * 0, or -1 on an internal error with a reason in *why (results then empty).
 */
#define DKIM_MAX_LISTED 32
int dkim_msg_finish(struct dkim_msg *m, const struct dkim_sig_result **res,
    size_t *nres, const char **why);
void dkim_msg_free(struct dkim_msg *m);

#endif
