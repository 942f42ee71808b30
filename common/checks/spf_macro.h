/*
 * spf_macro: SPF macro strings (RFC 7208 section 7): syntax check and
 * expansion, for the builtin SPF engine.
 *
 * Promises:
 * - spf_macro_check() accepts exactly the macro-string of the RFC 7208
 *   section 12 ABNF (explain-string when exp_text is set: spaces allowed,
 *   and the letters c, r, t, which are otherwise refused, section 7.1);
 *   a DIGIT transformer of zero is refused (section 7.3);
 * - spf_macro_expand() writes into a bounded sbuf only; input length,
 *   transformer values and the number of parts are bounded, so no input
 *   makes it use more than O(len) time and the sbuf's maximum of memory;
 *   uppercase macro letters are URL-escaped (section 7.3); %{i} of an
 *   IPv6 client is its 32 dotted nibbles;
 * - the %{p} value is asked for through a callback only when used, and
 *   at most once per expansion context (it costs DNS lookups);
 * - spf_domain_truncate() cuts a domain over 253 octets by dropping
 *   labels from the left (sections 4.8 and 7.3).
 *
 * Errors are values: -1 with the offset of the bad character, or an
 * overflowed sbuf. Nothing here aborts, exits or does DNS itself.
 */
#ifndef SC_SPF_MACRO_H
#define SC_SPF_MACRO_H

#include <stddef.h>

#include "sbuf.h"

struct spf_macro_vars {
	const char *sender;	/* s: local-part@domain */
	const char *local;	/* l */
	const char *sender_domain; /* o */
	const char *domain;	/* d: the current domain */
	const char *helo;	/* h */
	const char *receiver;	/* r */
	int v4;			/* client is IPv4 (mapped clients too) */
	unsigned char ip[16];	/* 4 or 16 bytes */
	long long now;		/* t: seconds since the epoch */
	/* p: fills buf with the validated domain name of the client (or
	 * "unknown"); called at most once, the result kept in p_buf. */
	void (*get_p)(void *arg, char *buf, size_t buflen);
	void *p_arg;
	char p_buf[256];
	int p_done;
};

/*
 * Checks s[0..len) as a macro-string (exp_text: an explain-string).
 * Returns 0, or -1 with *bad (if not NULL) set to the offset of the
 * first character in error.
 */
int spf_macro_check(const char *s, size_t len, int exp_text, size_t *bad);

/*
 * Checks s[0..len) as a domain-spec: a macro-string that ends in a macro
 * or in "." toplabel ["."] (RFC 7208 section 12). 0, or -1 with *bad.
 */
int spf_domain_spec_check(const char *s, size_t len, size_t *bad);

/*
 * Expands s[0..len) (already checked) into out, appended. Returns 0, or
 * -1 on a syntax error or when out overflowed.
 */
int spf_macro_expand(const char *s, size_t len, int exp_text,
    struct spf_macro_vars *v, struct sbuf *out);

/* Drops labels from the left of name (in place) until it is at most
 * 253 octets long (a trailing dot not counted). */
void spf_domain_truncate(char *name);

#endif
