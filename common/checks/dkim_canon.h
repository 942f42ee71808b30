/*
 * dkim_canon: RFC 6376 3.4 canonicalisation ("simple" and "relaxed") of
 * header fields and of a streamed body, straight into an OpenSSL digest,
 * and the header hash of a signature (3.7: the h= fields from the bottom
 * up, then the signature field without its b= value).
 * Used by the builtin DKIM verifier, ARC verification and ARC sealing, so
 * that what is signed and what is verified are the same bytes.
 *
 * Bodies: lines end in CRLF; a CR not followed by LF and an LF not after a
 * CR are ordinary bytes (RFC 6376 does not define them; Postfix hands
 * milters CRLF lines). Empty lines at the end are dropped; simple adds a
 * CRLF to a body that lacks one and makes an empty body "CRLF"; relaxed
 * makes white-space runs one SP, drops white space at line ends, and keeps
 * an empty body empty. A body is fed in chunks of any size and cut
 * anywhere; memory is fixed (no copy of the body: what is canonical as it
 * stands is hashed where it lies, in long runs). With a limit (l=), only
 * the first `limit` canonical bytes are hashed; `total` counts them all.
 *
 * Errors: an OpenSSL failure sets out.failed; the digest is then unusable
 * and dkim_body_final returns -1.
 */
#ifndef SC_DKIM_CANON_H
#define SC_DKIM_CANON_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

enum dkim_canon { CANON_SIMPLE = 0, CANON_RELAXED };

/*
 * Parses c= ("simple", "relaxed", "simple/relaxed", ...): a missing body
 * part is simple. Returns 0, or -1 when the header part is unknown (*bad_body
 * 0) or the body part is (*bad_body 1).
 */
int dkim_canon_parse(const char *s, size_t len, enum dkim_canon *hdr,
    enum dkim_canon *body, int *bad_body);

/*
 * Hashes one header field: name as received, value as received (after the
 * colon, folds as CRLF WSP). Bytes [hole_start, hole_end) of the value are
 * left out (the b= value of the signature being checked; 0,0 for none).
 * crlf: end with CRLF (every field but the signature's own). Returns 0, or
 * -1 when the digest failed.
 */
int dkim_canon_header(EVP_MD_CTX *ctx, enum dkim_canon c, const char *name,
    const char *value, size_t value_len, size_t hole_start, size_t hole_end,
    int crlf);

/*
 * A header field as signatures see it: name as received, value after the
 * colon as received; hash identifies the name (lower-cased, without the
 * white space before its colon) for quick h= lookups.
 */
struct dkim_field {
	const char *name;
	const char *value;
	size_t vlen;
	uint32_t hash;
};

/* Fills f (the strings must outlive it). */
void dkim_field_set(struct dkim_field *f, const char *name, const char *value, size_t vlen);
/* The field's name is this one (case-insensitive, RFC 5322). */
int dkim_field_is(const struct dkim_field *f, const char *name, size_t len);

/*
 * The header hash of RFC 6376 3.7 (and of RFC 8617's ARC-Message-
 * Signature): for each name in the h= list (h_value, h_len), the last field
 * of that name not taken yet, from the bottom up ("own" never counts); a
 * name with no field left adds nothing. Then own itself, its bytes
 * [hole_start, hole_end) (the b= value) left out, without a final CRLF.
 * own need not be one of fields (a signature being made). Returns 0 with
 * the digest in out/outlen, or -1 (no memory, OpenSSL failed).
 */
int dkim_header_digest(const struct dkim_field *fields, size_t n, const struct dkim_field *own,
    const char *h_value, size_t h_len, size_t hole_start, size_t hole_end,
    enum dkim_canon c, const EVP_MD *md, unsigned char *out, unsigned *outlen);

/* Bytes gathered for one digest update; failed once OpenSSL failed. */
struct dkim_hashbuf {
	EVP_MD_CTX *ctx;
	size_t n;
	int failed;
	unsigned char b[2048];
};

struct dkim_body {
	enum dkim_canon canon;
	int md_type;			/* EVP_MD_get_type() of the hash */
	struct dkim_hashbuf out;
	int limited;			/* l= given */
	unsigned long long limit;
	unsigned long long total;	/* canonical bytes, past the limit too */
	unsigned long long hashed;	/* canonical bytes hashed */
	int cr;				/* a CR held back */
	int line_has;			/* this line has content (relaxed: not WSP) */
	int wsp;			/* relaxed: white space waiting in the line */
	unsigned long long blanks;	/* empty lines held back */
	int done;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen;
};

/* md: EVP_sha256() or EVP_sha1(). Returns 0, or -1 (no memory). */
int dkim_body_init(struct dkim_body *b, enum dkim_canon c, const EVP_MD *md,
    int limited, unsigned long long limit);
void dkim_body_update(struct dkim_body *b, const unsigned char *p, size_t n);
/* Ends the body and computes digest/dlen. Returns 0, or -1 if failed. */
int dkim_body_final(struct dkim_body *b);
void dkim_body_free(struct dkim_body *b);
/*
 * The body hashes of one message, each (c, hash, l=) computed once for
 * every signature that needs it: the DKIM verifier's, ARC's and ARCSign's
 * when they share one list (the engine's), each one's own otherwise. A
 * hash is taken before the body begins; whoever owns the list feeds it.
 * At most DKIM_BODIES_MAX (DKIM's 32 signatures, ARC's 50 sets, our seal).
 */
#define DKIM_BODIES_MAX 83

struct dkim_bodies {
	struct dkim_body *v[DKIM_BODIES_MAX];
	size_t n;
	int fed;			/* the body has begun */
};

/* The hash of (c, md, limited, limit): the one there or a new one. NULL
 * when the list is full, memory ran out or the body has begun. */
struct dkim_body *dkim_bodies_get(struct dkim_bodies *l, enum dkim_canon c, const EVP_MD *md,
    int limited, unsigned long long limit);
/* Feeds a chunk of the body to every hash of l. */
void dkim_bodies_update(struct dkim_bodies *l, const unsigned char *p, size_t n);
/* Ends the body for every hash of l (dkim_body_final; again is harmless). */
void dkim_bodies_final(struct dkim_bodies *l);
void dkim_bodies_free(struct dkim_bodies *l);

#endif
