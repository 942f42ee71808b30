/*
 * verdict_cases.h: verdicts of many shapes for the renderer tests
 * (test_fields.c): passes, failures of every method, DNS trouble, the null
 * sender, IPv6, a skipped client, internal errors, forged fields removed.
 * Included by one test file; each case fills a verdict from scratch.
 */
#ifndef TEST_VERDICT_CASES_H
#define TEST_VERDICT_CASES_H

#include <stdio.h>
#include <string.h>

#include "policy.h"

static struct dkim_sig_result case_sigs[3];
static const struct header_removal case_removed[2] = { { "Authentication-Results", 1 },
	{ "X-Sender-Compliance", 2 } };

static void
case_sig(struct dkim_sig_result *d, enum dkim_res r, const char *domain, const char *sel,
    const char *alg, unsigned bits, const char *b, const char *why)
{
	memset(d, 0, sizeof(*d));
	d->result = r;
	snprintf(d->domain, sizeof(d->domain), "%s", domain);
	snprintf(d->selector, sizeof(d->selector), "%s", sel);
	snprintf(d->algorithm, sizeof(d->algorithm), "%s", alg);
	snprintf(d->identity, sizeof(d->identity), "@%s", domain);
	snprintf(d->b_prefix, sizeof(d->b_prefix), "%s", b);
	d->key_bits = bits;
	dkim_sig_set_hlist(d, "from:list-unsubscribe:list-unsubscribe-post", 43);
	snprintf(d->why, sizeof(d->why), "%s", why);
}

/* Everything passes, bulk, TLS. */
static void
case_base(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->env.client_ip, sizeof(v->env.client_ip), "192.0.2.10");
	snprintf(v->env.client_name, sizeof(v->env.client_name), "mail.example.com");
	snprintf(v->env.helo, sizeof(v->env.helo), "mail.example.com");
	snprintf(v->env.mail_from, sizeof(v->env.mail_from), "Bounce@Example.COM");
	snprintf(v->env.queue_id, sizeof(v->env.queue_id), "Q1A2B3");
	v->env.n_rcpt = 2;
	v->env.tls = TLS_YES;
	snprintf(v->env.tls_version, sizeof(v->env.tls_version), "TLSv1.3");
	v->spf_done = 1;
	v->spf.result = SPF_RES_PASS;
	snprintf(v->spf.domain, sizeof(v->spf.domain), "example.com");
	snprintf(v->spf.identity, sizeof(v->spf.identity), "Bounce@Example.COM");
	snprintf(v->spf.why, sizeof(v->spf.why), "matched ip4:192.0.2.0/24");
	snprintf(v->spf_ip, sizeof(v->spf_ip), "192.0.2.10");
	case_sig(&case_sigs[0], DKIM_RES_PASS, "example.com", "s1", "rsa-sha256", 2048, "Ab12Cd34", "");
	v->dkim = case_sigs;
	v->n_dkim = 1;
	v->dmarc_done = 1;
	v->dmarc.result = DMARC_RES_PASS;
	v->dmarc.n_from = 1;
	snprintf(v->dmarc.from_domain, sizeof(v->dmarc.from_domain), "example.com");
	snprintf(v->dmarc.org_domain, sizeof(v->dmarc.org_domain), "example.com");
	snprintf(v->dmarc.record_domain, sizeof(v->dmarc.record_domain), "example.com");
	v->dmarc.n_records = 1;
	v->dmarc.have_record = 1;
	v->dmarc.record.p_present = 1;
	v->dmarc.policy = DMARC_POLICY_NONE;
	v->dmarc.applied = DMARC_POLICY_NONE;
	v->dmarc.record.p = DMARC_POLICY_NONE;
	v->dmarc.pct = 100;
	v->dmarc.dkim_aligned = 1;
	snprintf(v->dmarc.why, sizeof(v->dmarc.why), "aligned DKIM pass");
	v->iprev_done = 1;
	v->iprev.result = IPREV_RES_PASS;
	snprintf(v->iprev.ip, sizeof(v->iprev.ip), "192.0.2.10");
	snprintf(v->iprev.name, sizeof(v->iprev.name), "mail.example.com");
	snprintf(v->iprev.why, sizeof(v->iprev.why), "192.0.2.10 has PTR mail.example.com");
	v->format.pass = 1;
	v->format.has_from = 1;
	snprintf(v->format.from.domain, sizeof(v->format.from.domain), "example.com");
	v->unsub.pass = 1;
	v->unsub.n_list_unsub = 1;
	v->unsub.has_https = 1;
	snprintf(v->unsub.sig_domain, sizeof(v->unsub.sig_domain), "example.com");
	v->unsub_aligned = 1;
	v->bulk = 1;
	snprintf(v->bulk_why, sizeof(v->bulk_why), "List-Unsubscribe");
	v->dns_queries = 6;
	v->dns_cache_hits = 4;
	v->elapsed_ms = 3;
}

static void
case_decide(struct verdict *v, enum action on_noncompliant)
{
	struct policy p;

	memset(&p, 0, sizeof(p));
	p.profiles = (1u << PROFILE_COUNT) - 1;
	p.on[CAUSE_NONCOMPLIANT] = on_noncompliant;
	p.on[CAUSE_SPF_FAIL] = ACT_REJECT;
	p.dmarc_follows_domain = 1;
	for (int i = 0; i < PROFILE_COUNT; i++)
		p.on_profile[i] = POLICY_INHERIT;
	policy_decide(&p, v);
}

#define N_CASES 8

/* Case i; returns its name. */
static const char *
verdict_case(int i, struct verdict *v)
{
	case_base(v);
	switch (i) {
	case 0:
		case_decide(v, ACT_ACCEPT);
		return "all pass";
	case 1:		/* failures of every method, two signatures, quarantine */
		v->spf.result = SPF_RES_SOFTFAIL;
		snprintf(v->spf.why, sizeof(v->spf.why), "matched ~all");
		case_sig(&case_sigs[0], DKIM_RES_FAIL, "example.com", "s1", "rsa-sha256", 2048,
		    "/x+y=", "body hash mismatch");
		case_sig(&case_sigs[1], DKIM_RES_POLICY, "other.example", "old", "rsa-sha1", 1024, "Qq",
		    "rsa-sha1 is not acceptable (RFC 8301)");
		v->n_dkim = 2;
		v->dmarc.result = DMARC_RES_FAIL;
		v->dmarc.dkim_aligned = 0;
		v->dmarc.policy = DMARC_POLICY_QUARANTINE;
		v->dmarc.applied = DMARC_POLICY_QUARANTINE;
		v->dmarc.record.p = DMARC_POLICY_QUARANTINE;
		snprintf(v->dmarc.why, sizeof(v->dmarc.why), "no aligned pass");
		v->iprev.result = IPREV_RES_FAIL;
		v->iprev.name[0] = '\0';
		snprintf(v->iprev.why, sizeof(v->iprev.why), "no PTR name resolves back");
		v->env.tls = TLS_NO;
		v->env.tls_version[0] = '\0';
		v->unsub.pass = 0;
		v->unsub.mailto_only = 1;
		v->unsub.has_https = 0;
		v->unsub.has_mailto = 1;
		v->unsub.sig_domain[0] = '\0';
		case_decide(v, ACT_QUARANTINE);
		return "every method fails";
	case 2:		/* DNS trouble everywhere */
		v->spf.result = SPF_RES_TEMPERROR;
		/* the reasons as the checks write them from the DNS module's */
		snprintf(v->spf.why, sizeof(v->spf.why), "DNS failure looking up the SPF record of "
		    "example.com: timed out after 996 ms asking 127.0.0.1:5353 for example.com/TXT");
		case_sig(&case_sigs[0], DKIM_RES_TEMPERROR, "example.com", "s1", "ed25519-sha256", 0,
		    "Zz", "key s1._domainkey.example.com: DNS time budget used up");
		v->dmarc.result = DMARC_RES_TEMPERROR;
		v->dmarc.have_record = 0;
		v->dmarc.dkim_aligned = 0;
		snprintf(v->dmarc.why, sizeof(v->dmarc.why), "DMARC record lookup: DNS SERVFAIL for "
		    "_dmarc.example.com: SERVFAIL from 127.0.0.1:5353 for _dmarc.example.com/TXT");
		v->iprev.result = IPREV_RES_TEMPERROR;
		v->iprev.name[0] = '\0';
		snprintf(v->iprev.why, sizeof(v->iprev.why), "PTR lookup for 192.0.2.10: ERROR (malformed "
		    "reply: QR bit not set from 127.0.0.1:5353 for 10.2.0.192.in-addr.arpa/PTR)");
		v->env.tls = TLS_UNKNOWN;
		case_decide(v, ACT_REJECT);
		return "DNS trouble";
	case 3:		/* the null sender, IPv6, unsigned, no DMARC record */
		v->env.null_sender = 1;
		v->env.mail_from[0] = '\0';
		snprintf(v->env.client_ip, sizeof(v->env.client_ip), "2001:db8::25");
		v->env.client_name[0] = '\0';
		snprintf(v->env.helo, sizeof(v->env.helo), "[192.0.2.1]");
		v->env.queue_id[0] = '\0';
		snprintf(v->spf.identity, sizeof(v->spf.identity), "postmaster@[192.0.2.1]");
		v->spf.result = SPF_RES_NONE;
		v->spf.why[0] = '\0';
		v->n_dkim = 0;
		v->dmarc.result = DMARC_RES_NONE;
		v->dmarc.have_record = 0;
		v->dmarc.n_records = 0;
		v->dmarc.dkim_aligned = 0;
		v->iprev.result = IPREV_RES_PERMERROR;
		snprintf(v->iprev.ip, sizeof(v->iprev.ip), "2001:db8::25");
		v->iprev.name[0] = '\0';
		snprintf(v->iprev.why, sizeof(v->iprev.why), "no PTR for 2001:db8::25");
		v->unsub.pass = 0;
		v->unsub.n_list_unsub = 0;
		v->bulk = 0;
		v->bulk_why[0] = '\0';
		case_decide(v, ACT_REJECT);
		return "null sender, IPv6";
	case 4:		/* an InternalHosts client */
		memset(&v->spf, 0, sizeof(v->spf));
		v->spf_done = v->dmarc_done = v->iprev_done = 0;
		v->n_dkim = 0;
		v->skipped = 1;
		snprintf(v->skip_reason, sizeof(v->skip_reason), "client 192.0.2.10 is in InternalHosts");
		v->dns_queries = v->dns_cache_hits = 0;
		return "skipped";
	case 5:		/* internal trouble: no DKIM, errors, forged fields removed */
		v->n_dkim = 0;
		snprintf(v->dkim_error, sizeof(v->dkim_error), "not checked: too many header fields");
		snprintf(v->error, sizeof(v->error), "header section too large to check");
		snprintf(v->input_error, sizeof(v->input_error), "more than 1000 header fields");
		v->remove = case_removed;
		v->n_remove = 2;
		v->dns_timeouts = 1;
		case_decide(v, ACT_ACCEPT);
		return "internal trouble";
	case 6:		/* SPF fail rejected; no client name; a TLS version */
		v->spf.result = SPF_RES_FAIL;
		snprintf(v->spf.why, sizeof(v->spf.why), "matched -all");
		snprintf(v->spf.explanation, sizeof(v->spf.explanation), "see https://example.com/spf");
		v->env.client_name[0] = '\0';
		v->dmarc.policy = DMARC_POLICY_REJECT;
		v->dmarc.applied = DMARC_POLICY_REJECT;
		v->dmarc.record.p = DMARC_POLICY_REJECT;
		case_decide(v, ACT_ACCEPT);
		return "SPF fail";
	default:	/* SPF not checked (no client address), three signatures */
		v->spf_done = 0;
		memset(&v->spf, 0, sizeof(v->spf));
		snprintf(v->spf.why, sizeof(v->spf.why), "no client address known");
		v->env.client_ip[0] = '\0';
		v->iprev_done = 0;
		case_sig(&case_sigs[1], DKIM_RES_NEUTRAL, "b.example", "s2", "rsa-sha256", 2048, "Bb",
		    "not checked: over the limit of 1 signatures");
		case_sig(&case_sigs[2], DKIM_RES_PERMERROR, "", "", "", 0, "", "signature syntax");
		v->n_dkim = 3;
		case_decide(v, ACT_TEMPFAIL);
		return "no client address";
	}
}

#endif
