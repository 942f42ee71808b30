/*
 * arc_trust: whether a passing ARC chain carries a trusted sealer's word
 * that the message was authentic when that sealer received it
 * (TrustedARCSealers; RFC 8617 7.2, the local policy override of RFC 7489
 * 6.7 / RFC 9989).
 *
 * A seal proves who sealed and that nothing changed the sealed sets since;
 * it does not prove that what the sealer wrote is true. So a chain's word
 * counts only when: the chain passes (arc.h), the set's ARC-Seal d= is one
 * of the trusted domains (exactly; a listed domain does not cover its
 * subdomains), and that set's ARC-Authentication-Results say that DMARC
 * passed for the message's own From domain (dmarc=pass header.from=D), or
 * that SPF or DKIM passed for a domain aligned with it under the From
 * domain's DMARC record (spf=pass smtp.mailfrom=..., dkim=pass header.d=
 * or header.i=), and that set's own ARC-Message-Signature still verifies
 * or every newer set is sealed by a trusted sealer too (else an untrusted
 * newer hop could graft the trusted set onto a changed message: only the
 * newest message signature decides whether a chain passes). The newest
 * such set is the one named. Anything else (no
 * chain, a failing chain, an untrusted sealer, claims about another
 * domain, claims that cannot be read) vouches for nothing.
 */
#ifndef SC_ARC_TRUST_H
#define SC_ARC_TRUST_H

#include "arc.h"
#include "dmarc.h"
#include "dns.h"

struct arc_vouch {
	int vouched;
	unsigned instance;	/* the set whose sealer vouched */
	char sealer[256];	/* its ARC-Seal d= */
	char claim[300];	/* what it said, e.g. "dmarc=pass header.from=example.com" */
};

/*
 * trusted: the domains, lower-case, separated by white space ("" or NULL:
 * nobody). from_domain: the From domain DMARC judged (lower-case A-labels).
 * aspf/adkim: the alignment modes of its DMARC record. DNS is used only
 * for the organizational domains of alignment (tree walk). Fills *out.
 */
void arc_trust_judge(const struct arc_outcome *arc, const char *trusted,
    const char *from_domain, const struct dmarc *d, struct dns_ctx *dns,
    enum dmarc_align aspf, enum dmarc_align adkim, struct arc_vouch *out);

/* Whether domain is one of trusted (as above). */
int arc_trust_listed(const char *trusted, const char *domain);

#endif
