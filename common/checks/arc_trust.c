/*
 * arc_trust: a trusted sealer's word on a passing chain; see arc_trust.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "arc_trust.h"
#include "authres.h"

#define CLAIMS_MAX 16	/* results read from one ARC-Authentication-Results */

int
arc_trust_listed(const char *trusted, const char *domain)
{
	size_t dl = strlen(domain);

	if (trusted == NULL || dl == 0)
		return 0;
	for (const char *p = trusted; *p;) {
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		n = strcspn(p, " \t,");
		if (n == dl && strncasecmp(p, domain, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

/* The domain of an address or identity ("user@d", "@d" or "d"). */
static const char *
domain_of(const char *v)
{
	const char *at = strrchr(v, '@');

	return at != NULL ? at + 1 : v;
}

/* The claim of one sealer that vouches for from_domain, or -1. */
static int
vouching_claim(const struct arc_set *s, const char *from_domain, const struct dmarc *d,
    struct dns_ctx *dns, enum dmarc_align aspf, enum dmarc_align adkim, char *claim,
    size_t claimlen)
{
	struct authres_result r[CLAIMS_MAX];
	size_t n = authres_read_results(s->claims, strlen(s->claims), r, CLAIMS_MAX);
	const char *v;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(r[i].result, "pass") != 0)
			continue;
		if (strcmp(r[i].method, "dmarc") == 0 &&
		    (v = authres_result_prop(&r[i], "header.from")) != NULL &&
		    strcasecmp(domain_of(v), from_domain) == 0) {
			snprintf(claim, claimlen, "dmarc=pass header.from=%s", v);
			return 0;
		}
		if (strcmp(r[i].method, "spf") == 0 &&
		    ((v = authres_result_prop(&r[i], "smtp.mailfrom")) != NULL ||
		    (v = authres_result_prop(&r[i], "smtp.mfrom")) != NULL) &&
		    dmarc_aligned(d, dns, from_domain, domain_of(v), aspf) == 1) {
			snprintf(claim, claimlen, "spf=pass smtp.mailfrom=%s (aligned)", v);
			return 0;
		}
		if (strcmp(r[i].method, "dkim") == 0 &&
		    ((v = authres_result_prop(&r[i], "header.d")) != NULL ||
		    (v = authres_result_prop(&r[i], "header.i")) != NULL) &&
		    dmarc_aligned(d, dns, from_domain, domain_of(v), adkim) == 1) {
			snprintf(claim, claimlen, "dkim=pass header.d=%s (aligned)", domain_of(v));
			return 0;
		}
	}
	return -1;
}

/*
 * Whether set i's claims still speak of this message: its own message
 * signature verifies (nothing it signed changed since), or every newer set
 * is sealed by a trusted sealer too. Otherwise an untrusted newer sealer
 * could graft a trusted set onto a changed message and claim cv=pass (only
 * the newest message signature must verify for the chain to pass).
 */
static int
unchanged_since(const struct arc_outcome *arc, const char *trusted, size_t i)
{
	if (arc->sets[i - 1].ams == ARC_CHECK_PASS)
		return 1;
	for (size_t j = i; j < arc->n_sets; j++)
		if (!arc_trust_listed(trusted, arc->sets[j].seal_domain))
			return 0;
	return 1;
}

void
arc_trust_judge(const struct arc_outcome *arc, const char *trusted, const char *from_domain,
    const struct dmarc *d, struct dns_ctx *dns, enum dmarc_align aspf, enum dmarc_align adkim,
    struct arc_vouch *out)
{
	memset(out, 0, sizeof(*out));
	if (arc == NULL || arc->result != ARC_RES_PASS || from_domain == NULL ||
	    from_domain[0] == '\0')
		return;
	for (size_t i = arc->n_sets; i > 0; i--) {
		const struct arc_set *s = &arc->sets[i - 1];

		if (s->seal != ARC_CHECK_PASS || !arc_trust_listed(trusted, s->seal_domain))
			continue;
		if (!unchanged_since(arc, trusted, i))
			continue;
		if (vouching_claim(s, from_domain, d, dns, aspf, adkim, out->claim,
		    sizeof(out->claim)) < 0)
			continue;
		out->vouched = 1;
		out->instance = s->instance;
		snprintf(out->sealer, sizeof(out->sealer), "%s", s->seal_domain);
		return;
	}
}
