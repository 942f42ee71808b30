/*
 * spf_builtin: the project's own RFC 7208 evaluator (check_host(),
 * section 4), the default SPF engine behind spf.h.
 *
 * Promises:
 * - every DNS lookup goes through dns_query() on the caller's dns_ctx,
 *   so the check obeys the configured nameservers, the shared cache and
 *   the DNSTimeout budget (a lookup that times out gives temperror);
 * - the processing limits of section 4.6.4 hold across the whole
 *   evaluation, include and redirect included: at most 10 DNS-querying
 *   terms (include, a, mx, ptr, exists, redirect; the 11th is a
 *   permerror), at most 10 MX names per mx (more is a permerror), at
 *   most 10 PTR names used per ptr or %{p} (the rest ignored), at most 2
 *   void lookups (the 3rd is a permerror); recursion depth is bounded by
 *   the term limit;
 * - redirect= is evaluated after all mechanisms, only if none matched;
 *   include maps pass -> match, fail/softfail/neutral -> no match,
 *   temperror/permerror propagate, none -> permerror;
 * - exp= is used only for fail, fetched after the result is known, with
 *   macros expanded; its failures leave the explanation empty; an exp=
 *   of an included record is never used, one of a redirect target is;
 * - the outcome carries the reason, the lookups and void lookups used,
 *   the term that decided, the walk of records and lint warnings.
 *
 * Errors are values (temperror/permerror with a reason); nothing here
 * aborts or exits; all record and answer data lives in bounded buffers.
 * One call is one check, on the calling thread; no state is shared.
 */
#ifndef SC_SPF_BUILTIN_H
#define SC_SPF_BUILTIN_H

#include "dns.h"
#include "spf.h"

/* The validated inputs of one check (spf.c prepares them). */
struct spf_builtin_in {
	int v4;			/* IPv4 client (IPv4-mapped IPv6 included) */
	unsigned char ip[16];	/* 4 or 16 bytes */
	const char *sender;	/* the identity: local-part@domain, or a bare domain */
	const char *helo;	/* "" if none */
	const char *domain;	/* the domain to evaluate (a valid DNS name) */
	const char *receiver;	/* our host name, for %{r} */
};

/*
 * What lookups of names the connecting client chooses (its PTR, the names
 * that PTR gives) may wait together in a check whose DNS budget is
 * budget_ms: half of it, so that names the client never answers cannot
 * use up the time the domain's own terms need. Both engines use it.
 */
static inline long
spf_client_share_ms(long budget_ms)
{
	return budget_ms / 2;
}

/* Fills *out (result, why, explanation, counts, walk, lint); returns
 * out->result. out's identity/domain are left as they are. */
enum spf_result spf_builtin_check(struct dns_ctx *dns,
    const struct spf_builtin_in *in, struct spf_outcome *out);

#endif
