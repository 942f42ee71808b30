/*
 * policy: rules, action, cause and SMTP reply of one message; see policy.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "policy.h"
#include "policy_reply.h"
#include "report.h"
#include "sbuf.h"

const char *
policy_rule_xcode(enum profile_id p, enum rule_id r)
{
	return policy_reply_rule_xcode(p, r);
}

static void
run_rules(const struct policy *p, struct verdict *v)
{
	struct rules_input in = {
		.spf = v->spf_done ? &v->spf : NULL,
		.spf_ip = v->spf_ip,
		.dkim = v->dkim,
		.n_dkim = v->n_dkim,
		.dmarc = v->dmarc_done ? &v->dmarc : NULL,
		.iprev = v->iprev_done ? &v->iprev : NULL,
		.tls = v->env.tls,
		.tls_version = v->env.tls_version,
		.format = &v->format,
		.unsub = &v->unsub,
		.bulk = v->bulk,
		.forwarded_by = v->arc_trust.vouched ? v->arc_trust.sealer : NULL,
	};

	rules_evaluate(&in, p->profiles, &v->compliance);
}

static int
dkim_any(const struct verdict *v, enum dkim_res r)
{
	for (size_t i = 0; i < v->n_dkim; i++)
		if (v->dkim[i].result == r)
			return 1;
	return 0;
}

/*
 * The first signature that failed verification or our key policy. A
 * permerror (no key, bad syntax, expired) counts as no signature, as
 * RFC 6376 §6.1 says, so it never triggers On-DKIMFail; so does any
 * signature whose key is in testing mode (t=y, RFC 6376 3.6.1).
 */
static const struct dkim_sig_result *
dkim_first(const struct verdict *v, enum dkim_res a, enum dkim_res b)
{
	for (size_t i = 0; i < v->n_dkim; i++)
		if ((v->dkim[i].result == a || v->dkim[i].result == b) && !v->dkim[i].testing)
			return &v->dkim[i];
	return NULL;
}

static int
severity(enum action a)
{
	static const int rank[ACT_COUNT] = { [ACT_ACCEPT] = 0, [ACT_QUARANTINE] = 1,
	    [ACT_TEMPFAIL] = 2, [ACT_REJECT] = 3 };

	return (unsigned)a < ACT_COUNT ? rank[a] : 0;
}

/* The action for a DMARC failure: On-DMARCFail, or with "policy" the
 * domain's policy after its options (dmarc.h: applied). */
static enum action
dmarc_action(const struct policy *p, const struct dmarc_outcome *d)
{
	if (!p->dmarc_follows_domain)
		return p->on[CAUSE_DMARC_FAIL];
	switch (d->applied) {
	case DMARC_POLICY_REJECT:	return ACT_REJECT;
	case DMARC_POLICY_QUARANTINE:	return ACT_QUARANTINE;
	default:			return ACT_ACCEPT;
	}
}

/* The harshest action among the profiles the message breaks, and which. */
static enum action
noncompliant_action(const struct policy *p, const struct compliance *co, int *which)
{
	enum action act = ACT_ACCEPT;

	*which = -1;
	for (int i = 0; i < PROFILE_COUNT; i++) {
		const struct profile_verdict *pv = &co->profile[i];
		enum action a = p->on_profile[i] == POLICY_INHERIT ? p->on[CAUSE_NONCOMPLIANT] :
		    (enum action)p->on_profile[i];

		if (!pv->enabled || pv->pass)
			continue;
		if (*which < 0 || severity(a) > severity(act)) {
			act = a;
			*which = i;
		}
	}
	return act;
}

/* The reply of the cause (the action is set): policy_reply.c's table. */
static void
explain(struct verdict *v, enum cause cause, int profile)
{
	const struct dkim_sig_result *d;
	struct reply_vars vars = { .ip = v->spf_ip[0] ? v->spf_ip : v->env.client_ip };
	enum cause_reply cr = CR_ERROR;

	switch (cause) {
	case CAUSE_ERROR:
		vars.reason = v->error[0] ? v->error : v->dkim_error;
		break;
	case CAUSE_DNS:
		if (v->spf_done && v->spf.result == SPF_RES_TEMPERROR) {
			cr = CR_DNS_SPF;
			vars.domain = v->spf.domain;
			vars.reason = dns_trouble_cause(v->spf.why);
		} else if ((d = dkim_first(v, DKIM_RES_TEMPERROR, DKIM_RES_TEMPERROR)) != NULL &&
		    !dkim_any(v, DKIM_RES_PASS)) {
			cr = CR_DNS_DKIM;
			vars.domain = d->domain;
			vars.reason = dns_trouble_cause(d->why);
		} else {
			cr = CR_DNS_DMARC;
			vars.domain = v->dmarc.from_domain;
		}
		break;
	case CAUSE_SPF_FAIL:
	case CAUSE_SPF_SOFTFAIL:
		cr = cause == CAUSE_SPF_FAIL ? CR_SPF_FAIL : CR_SPF_SOFTFAIL;
		vars.domain = v->spf.domain;
		break;
	case CAUSE_DKIM_FAIL:
		d = dkim_first(v, DKIM_RES_FAIL, DKIM_RES_POLICY);
		cr = d->result == DKIM_RES_POLICY ? CR_DKIM_POLICY : CR_DKIM_FAIL;
		vars.domain = d->domain;
		vars.reason = d->why;
		break;
	case CAUSE_DMARC_FAIL:
		cr = CR_DMARC_FAIL;
		vars.domain = v->dmarc.from_domain;
		break;
	case CAUSE_BAD_FROM:
		cr = CR_BAD_FROM;
		vars.reason = v->bad_from;
		break;
	case CAUSE_NONCOMPLIANT: {
		const struct profile_verdict *pv = &v->compliance.profile[profile];
		enum rule_id r = pv->failed[0];
		const char *field = "";

		vars.profile = profile_title((enum profile_id)profile);
		vars.rule = rule_name(r);
		vars.reason = rules_result(&v->compliance, (enum profile_id)profile, r)->reason;
		/* the domain a provider names: Gmail's SPF replies the SPF
		 * domain's, else the author's (Outlook.com's 5.7.515 always the
		 * 5322.From domain's, whichever requirement failed) */
		vars.domain = (r == RULE_SPF || r == RULE_AUTH_ANY) && profile != PROFILE_MICROSOFT ?
		    v->spf.domain : v->dmarc.from_domain[0] ? v->dmarc.from_domain :
		    v->format.has_from ? v->format.from.domain : "";
		format_first_failure(&v->format, &field);
		vars.field = field;
		policy_reply_rule(v, (enum profile_id)profile, r, &vars);
		return;
	}
	case CAUSE_NONE:
	case CAUSE_COUNT:
		return;
	}
	policy_reply_cause(v, cr, &vars);
	/* RFC 7208 6.2: the domain's explanation goes with an SPF rejection */
	if (cr == CR_SPF_FAIL && v->spf.explanation[0] != '\0') {
		size_t n = strlen(v->smtp_text);

		str_format(v->smtp_text + n, sizeof(v->smtp_text) - n, " Explanation from %s: %s",
		    v->spf.domain, v->spf.explanation);
		report_clean_text(v->smtp_text + n, sizeof(v->smtp_text) - n, v->smtp_text + n);
		str_format(v->quarantine_reason, sizeof(v->quarantine_reason), "sendercheck: %s",
		    v->smtp_text);
	}
}

static void
decide(const struct policy *p, struct verdict *v)
{
	int dkim_pass = dkim_any(v, DKIM_RES_PASS);
	int spf_pass = v->spf_done && v->spf.result == SPF_RES_PASS;
	/* DNS trouble matters only when it leaves the message unauthenticated */
	int spf_temp = v->spf_done && v->spf.result == SPF_RES_TEMPERROR && !dkim_pass;
	int dkim_temp = !dkim_pass && !spf_pass && dkim_any(v, DKIM_RES_TEMPERROR);
	int dmarc_temp = v->dmarc_done && v->dmarc.result == DMARC_RES_TEMPERROR;
	int profile;
	enum action nc = noncompliant_action(p, &v->compliance, &profile);
	struct { int hit; enum action act; } cand[CAUSE_COUNT] = {
		[CAUSE_ERROR] = { v->error[0] != '\0' || v->dkim_error[0] != '\0', p->on[CAUSE_ERROR] },
		[CAUSE_DNS] = { spf_temp || dkim_temp || dmarc_temp, p->on[CAUSE_DNS] },
		[CAUSE_SPF_FAIL] = { v->spf_done && v->spf.result == SPF_RES_FAIL, p->on[CAUSE_SPF_FAIL] },
		[CAUSE_SPF_SOFTFAIL] = { v->spf_done && v->spf.result == SPF_RES_SOFTFAIL,
		    p->on[CAUSE_SPF_SOFTFAIL] },
		[CAUSE_DKIM_FAIL] = { !dkim_pass && dkim_first(v, DKIM_RES_FAIL, DKIM_RES_POLICY) != NULL,
		    p->on[CAUSE_DKIM_FAIL] },
		/* a trusted ARC sealer vouches (TrustedARCSealers): no DMARC policy */
		[CAUSE_DMARC_FAIL] = { v->dmarc_done && v->dmarc.result == DMARC_RES_FAIL &&
		    !v->arc_trust.vouched,
		    dmarc_action(p, &v->dmarc) },
		[CAUSE_BAD_FROM] = { v->bad_from[0] != '\0', p->on[CAUSE_BAD_FROM] },
		[CAUSE_NONCOMPLIANT] = { profile >= 0, nc },
	};

	/* the first condition met, unless a later one asks for a harsher action */
	v->smtp_rcode[0] = v->smtp_xcode[0] = v->smtp_text[0] = v->quarantine_reason[0] = '\0';
	v->action = ACT_ACCEPT;
	v->cause = CAUSE_NONE;
	for (int i = CAUSE_NONE + 1; i < CAUSE_COUNT; i++) {
		if (!cand[i].hit)
			continue;
		if (v->cause == CAUSE_NONE || severity(cand[i].act) > severity(v->action)) {
			v->action = cand[i].act;
			v->cause = (enum cause)i;
		}
	}
	if (v->cause != CAUSE_NONE)
		explain(v, v->cause, profile);
}

void
policy_decide(const struct policy *p, struct verdict *v)
{
	run_rules(p, v);
	decide(p, v);
}
