/*
 * dkim_engine: what a DKIM engine provides to dkim.c (the interface of
 * dkim.h), and the result rules every engine applies the same way, so that
 * the builtin verifier (dkim_builtin.c) and libopendkim (dkim_opendkim.c)
 * report the same results with the same reasons. Internal to checks/.
 */
#ifndef SC_DKIM_ENGINE_H
#define SC_DKIM_ENGINE_H

#include <stddef.h>

#include "dkim.h"
#include "dkim_canon.h"
#include "dns.h"

struct dkim_engine_ops {
	const char *name;
	void *(*verifier_new)(unsigned max_signatures, char *why, size_t whylen);
	void (*verifier_free)(void *v);
	void *(*msg_new)(void *v, struct dns_ctx *dns, const char *id);
	void (*header)(void *m, const char *name, const char *value);
	void (*eoh)(void *m);
	void (*body)(void *m, const unsigned char *p, size_t n);
	/* NULL: the engine hashes bodies its own way */
	void (*share_bodies)(void *m, struct dkim_bodies *l);
	int (*finish)(void *m, const struct dkim_sig_result **res, size_t *nres,
	    const char **why);
	void (*msg_free)(void *m);
};

extern const struct dkim_engine_ops dkim_builtin_ops;
extern const struct dkim_engine_ops dkim_opendkim_ops;

/* Bounded copy of untrusted text (len bytes, or up to NUL with len
 * (size_t)-1); control characters become '?'. */
void dkim_copy(char *dst, size_t dstlen, const char *src, size_t len);

/* r->why from a format. */
void dkim_why(struct dkim_sig_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The rules applied after an engine's own verdict, in this order: RFC 8301
 * (rsa-sha1 and RSA keys under 1024 bits are DKIM_RES_POLICY, with the
 * failure kept after "; "), the l= note on a pass, and the t=y note.
 */
void dkim_result_rules(struct dkim_sig_result *r);

/* d=, s=, a=, the start of b=, h= and l= of a parsed tag list into r
 * (what a signature not verified is listed with). */
struct dkim_tags;
void dkim_result_tags(struct dkim_sig_result *r, const struct dkim_tags *tags);

/* The reason of a signature past max_signatures. */
void dkim_result_not_checked(struct dkim_sig_result *r, unsigned max_signatures);

#endif
