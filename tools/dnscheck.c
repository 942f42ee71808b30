/*
 * dnscheck: DKIM keys and DMARC record of a domain; see dnscheck.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/nameser.h>

#include "dmarc.h"
#include "dns.h"
#include "dnscheck.h"
#include "keyrecord.h"

/* Tried when no --selector is given (what the common signers use). */
static const char *const common_selectors[] = { "default", "dkim", "mail", "s1", "s2",
	"selector1", "selector2", "google", "k1", "k2", NULL };

static void
print_notes(const char *label, char (*notes)[160], size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("            %s: %s\n", label, notes[i]);
}

/* The TXT records at name that start with prefix (case-insensitive). */
static enum dns_status
txt_records(struct dns_ctx *ctx, const char *name, const char *prefix, struct dns_result *res,
    size_t *match, size_t *first)
{
	enum dns_status st = dns_query(ctx, name, ns_t_txt, res);

	*match = 0;
	*first = 0;
	for (size_t i = 0; st == DNS_OK && i < res->n; i++)
		if (res->rr[i].len >= strlen(prefix) &&
		    strncasecmp((const char *)res->rr[i].data, prefix, strlen(prefix)) == 0 && (*match)++ == 0)
			*first = i;
	return st;
}

/* One selector; returns its problems, -1 when nothing is published there. */
static int
dkim_selector(struct dns_ctx *ctx, const char *domain, const char *sel, int asked)
{
	char name[600];
	struct dns_result res;
	struct keyrecord k;
	size_t n_keys = 0, first = 0;
	enum dns_status st;
	int problems;

	snprintf(name, sizeof(name), "%s._domainkey.%s", sel, domain);
	st = txt_records(ctx, name, "", &res, &n_keys, &first);
	if (st != DNS_OK || res.n == 0) {
		int temp = st != DNS_OK && st != DNS_NXDOMAIN && st != DNS_NODATA;

		if (asked || temp) {
			printf("DKIM %s:\n            %s\n", name, temp ? res.why : "no key record");
			if (!temp)
				printf("              fix: publish the key of selector %s: %s TXT "
				    "\"v=DKIM1; k=rsa; p=BASE64KEY\" (opendkim-genkey -b 2048 -d %s -s %s)\n",
				    sel, name, domain, sel);
		}
		dns_result_free(&res);
		return asked || temp ? 1 : -1;
	}
	printf("DKIM %s:\n            %.*s%s\n", name, (int)(res.rr[0].len > 300 ? 300 : res.rr[0].len),
	    (const char *)res.rr[0].data, res.rr[0].len > 300 ? "..." : "");
	if (res.n > 1) {
		printf("            problem: %zu TXT records: receivers take none of them\n", res.n);
		printf("              fix: keep exactly one TXT record at %s\n", name);
		dns_result_free(&res);
		return 1;
	}
	keyrecord_check((const char *)res.rr[0].data, res.rr[0].len, &k);
	if (k.bits)
		printf("            key: %s, %u bits\n", k.k, k.bits);
	else
		printf("            key: %s\n", k.k);
	print_notes("problem", k.problems, k.n_problems);
	print_notes("warning", k.warnings, k.n_warnings);
	if (k.n_problems || (k.bits && k.bits < 2048 && strcmp(k.k, "rsa") == 0))
		printf("              fix: publish a new 2048-bit RSA key: %s TXT \"v=DKIM1; k=rsa; "
		    "p=BASE64KEY\" (opendkim-genkey -b 2048 -d %s -s %s) and sign with it\n", name, domain, sel);
	problems = (int)k.n_problems;
	dns_result_free(&res);
	return problems;
}

static int
dkim_section(struct dns_ctx *ctx, const char *domain, const char *const *sels, size_t n)
{
	int problems = 0, found = 0;

	if (n > 0) {
		for (size_t i = 0; i < n; i++)
			problems += dkim_selector(ctx, domain, sels[i], 1);
		return problems;
	}
	for (size_t i = 0; common_selectors[i] != NULL; i++) {
		int r = dkim_selector(ctx, domain, common_selectors[i], 0);

		if (r >= 0) {
			found++;
			problems += r;
		}
	}
	if (found == 0)
		printf("DKIM:       no key at the common selectors (%s, ...); the selector is the s= of "
		    "your signatures: give it with --selector\n", common_selectors[0]);
	return problems;
}

static void
print_record_text(struct dns_ctx *ctx, const char *domain)
{
	char name[600];
	struct dns_result res;
	size_t n = 0, first = 0;

	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	if (txt_records(ctx, name, "v=DMARC1", &res, &n, &first) == DNS_OK && n > 0)
		printf("            %s TXT \"%.*s\"\n", name, (int)(res.rr[first].len > 400 ? 400 :
		    res.rr[first].len), (const char *)res.rr[first].data);
	dns_result_free(&res);
}

static int
dmarc_section(const struct sc_config *cfg, struct dns_ctx *ctx, const char *domain)
{
	struct dmarc *d;
	struct dmarc_outcome o;
	struct dmarc_input in = { 0 };
	const char *from[1] = { domain };
	char why[256];
	enum dmarc_discovery mine = (enum dmarc_discovery)cfg->dmarc_discovery;
	int problems = 0;

	if ((d = dmarc_new((enum dmarc_standard)cfg->dmarc_standard, mine, why, sizeof(why))) == NULL) {
		printf("DMARC:      cannot check: %s\n", why);
		return 1;
	}
	in.from_domains = from;
	in.n_from = 1;
	dmarc_check(d, ctx, &in, &o);
	printf("DMARC:      organizational domain %s (%s; %s)\n", o.org_domain[0] ? o.org_domain : "?",
	    mine == DMARC_DISCOVERY_PSL ? "public suffix list" : "DNS tree walk",
	    cfg->dmarc_standard == DMARC_STD_RFC7489 ? "RFC 7489" : "RFC 9989");
	/* the other method: receivers have not all moved to RFC 9989 */
	if (o.org_other[0] != '\0')
		printf("            warning: the %s finds %s instead: receivers using it look "
		    "for the record elsewhere\n", mine == DMARC_DISCOVERY_PSL ? "RFC 9989 tree walk" :
		    "public suffix list", o.org_other);
	if (strcmp(o.from_domain, o.org_domain) != 0)
		printf("            looked at _dmarc.%s%s\n", o.from_domain,
		    strcmp(o.record_domain, o.from_domain) == 0 ? ": found" : ": no record, then the "
		    "organizational domain");
	if (o.result == DMARC_RES_TEMPERROR) {
		printf("            DNS trouble: %s\n", o.why);
		problems++;
	} else if (o.n_records > 1) {
		printf("            problem: %zu DMARC records at _dmarc.%s: receivers apply none\n",
		    o.n_records, o.record_domain);
		printf("              fix: keep exactly one TXT record starting \"v=DMARC1\" at _dmarc.%s\n",
		    o.record_domain);
		problems++;
	} else if (!o.have_record && o.discarded[0] != '\0') {
		printf("            problem: %s\n", o.discarded);
		printf("              fix: keep exactly one TXT record, starting \"v=DMARC1;\", at _dmarc.%s\n",
		    o.org_domain[0] ? o.org_domain : domain);
		problems++;
	} else if (!o.have_record) {
		printf("            problem: no DMARC record (%s)\n", o.why);
		printf("              fix: publish _dmarc.%s TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\"\n",
		    o.org_domain[0] ? o.org_domain : domain, o.org_domain[0] ? o.org_domain : domain);
		problems++;
	} else {
		const struct dmarc_record *r = &o.record;

		printf("            record at _dmarc.%s:\n", o.record_domain);
		print_record_text(ctx, o.record_domain);
		if (!r->p_present) {
			printf("            problem: no p= tag (Google and Yahoo want p= written; RFC 9989 reads "
			    "it as none)\n");
			printf("              fix: add \"p=none;\" right after \"v=DMARC1;\" at _dmarc.%s\n",
			    o.record_domain);
			problems++;
		} else {
			printf("            policy: p=%s%s%s\n", dmarc_policy_str(r->p),
			    r->sp != DMARC_POLICY_UNSET ? ", sp=" : "",
			    r->sp != DMARC_POLICY_UNSET ? dmarc_policy_str(r->sp) : "");
		}
		if (r->invalid)
			printf("            warning: some tags have values that do not parse; receivers use "
			    "their defaults (%s)\n", o.why);
		if (!r->rua[0])
			printf("            warning: no rua=: you receive no aggregate reports; add "
			    "\"rua=mailto:dmarc-reports@%s\"\n", o.record_domain);
		else if (!r->rua_valid)
			printf("            warning: rua=%s holds no valid URI\n", r->rua);
		if (o.discarded[0] != '\0')
			printf("            warning: %s\n", o.discarded);
		if (r->present & DMARC_TAG_PCT)
			printf("            warning: pct=%u: RFC 9989 removed pct (receivers on it ignore it; "
			    "RFC 7489 ones apply the policy to part of the mail only); use t=y to test\n",
			    r->pct);
		if (r->testing)
			printf("            note: t=y: RFC 9989 receivers apply a policy one step milder\n");
	}
	dmarc_free(d);
	return problems;
}

int
dnscheck_print(const struct sc_config *cfg, const char *domain,
    const char *const *selectors, size_t n_selectors)
{
	struct dns_resolver *r;
	struct dns_ctx ctx;
	char why[256];
	int problems;

	r = dns_resolver_new(cfg->nameservers, cfg->n_nameservers, cfg->dns_cache_size, why, sizeof(why));
	if (r == NULL) {
		printf("DKIM/DMARC: cannot check: %s\n", why);
		return 1;
	}
	/* each section its own DNS budget, as a message's checks have */
	dns_ctx_init(&ctx, r, cfg->dns_timeout_ms);
	problems = dkim_section(&ctx, domain, selectors, n_selectors);
	dns_ctx_init(&ctx, r, cfg->dns_timeout_ms);
	problems += dmarc_section(cfg, &ctx, domain);
	dns_resolver_free(r);
	return problems;
}
