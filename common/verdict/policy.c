/*
 * policy: rules, action, cause and SMTP reply of one message; see policy.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "report.h"

/*
 * The one table of reply codes: Gmail's enhanced status codes (its SMTP
 * error reference) for the same causes, permanent form; a tempfail
 * answers with the 4.x.x twin.
 */
enum reply {
	REPLY_ERROR, REPLY_DNS_SPF, REPLY_DNS_DKIM, REPLY_DNS_DMARC, REPLY_SPF, REPLY_DKIM,
	REPLY_DMARC, REPLY_BAD_FROM, REPLY_RULE,	/* + enum rule_id */
	REPLY_COUNT = REPLY_RULE + RULE_COUNT
};

static const char *const xcodes[REPLY_COUNT] = {
	[REPLY_ERROR] = "5.3.0",
	[REPLY_DNS_SPF] = "5.7.27",
	[REPLY_DNS_DKIM] = "5.7.30",
	[REPLY_DNS_DMARC] = "5.7.26",
	[REPLY_SPF] = "5.7.27",
	[REPLY_DKIM] = "5.7.30",
	[REPLY_DMARC] = "5.7.26",
	[REPLY_BAD_FROM] = "5.7.1",
	[REPLY_RULE + RULE_SPF] = "5.7.27",
	[REPLY_RULE + RULE_DKIM] = "5.7.30",
	[REPLY_RULE + RULE_AUTH_ANY] = "5.7.26",
	[REPLY_RULE + RULE_DMARC_RECORD] = "5.7.26",
	[REPLY_RULE + RULE_DMARC_ALIGN] = "5.7.26",
	[REPLY_RULE + RULE_DKIM_KEY] = "5.7.30",
	[REPLY_RULE + RULE_IPREV] = "5.7.25",
	[REPLY_RULE + RULE_TLS] = "5.7.29",
	[REPLY_RULE + RULE_FORMAT] = "5.7.1",
	[REPLY_RULE + RULE_ONECLICK] = "5.7.1",
	[REPLY_RULE + RULE_MAILTO_ONLY] = "5.7.1",
};
#define RCODE_REJECT "550"
#define RCODE_TEMPFAIL "451"

const char *
policy_rule_xcode(enum rule_id r)
{
	return (unsigned)r < RULE_COUNT ? xcodes[REPLY_RULE + r] : "5.7.1";
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

static void
set_reply(struct verdict *v, enum reply why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_reply(struct verdict *v, enum reply why, const char *fmt, ...)
{
	const char *xcode = xcodes[why];
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (v->action == ACT_TEMPFAIL)
		strncat(text, "; try again later", sizeof(text) - strlen(text) - 1);
	report_clean_text(v->smtp_text, sizeof(v->smtp_text), text);
	snprintf(v->quarantine_reason, sizeof(v->quarantine_reason), "sendercheck: %s", v->smtp_text);
	if (v->action == ACT_REJECT) {
		snprintf(v->smtp_rcode, sizeof(v->smtp_rcode), RCODE_REJECT);
		snprintf(v->smtp_xcode, sizeof(v->smtp_xcode), "%s", xcode);
	} else if (v->action == ACT_TEMPFAIL) {
		snprintf(v->smtp_rcode, sizeof(v->smtp_rcode), RCODE_TEMPFAIL);
		snprintf(v->smtp_xcode, sizeof(v->smtp_xcode), "4%s", xcode + 1);
	}
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

/* The reply text of the cause (the action is set). */
static void
explain(struct verdict *v, enum cause cause, int profile)
{
	const struct dkim_sig_result *d;

	switch (cause) {
	case CAUSE_ERROR:
		set_reply(v, REPLY_ERROR, "Internal error while checking the sender (%s)",
		    v->error[0] ? v->error : v->dkim_error);
		break;
	case CAUSE_DNS:
		if (v->spf_done && v->spf.result == SPF_RES_TEMPERROR)
			set_reply(v, REPLY_DNS_SPF, "DNS failure checking the SPF record of %s",
			    v->spf.domain[0] ? v->spf.domain : "the sender");
		else if ((d = dkim_first(v, DKIM_RES_TEMPERROR, DKIM_RES_TEMPERROR)) != NULL &&
		    !dkim_any(v, DKIM_RES_PASS))
			set_reply(v, REPLY_DNS_DKIM, "DNS failure fetching the DKIM key of %s", d->domain);
		else
			set_reply(v, REPLY_DNS_DMARC, "DNS failure looking up the DMARC policy of %s",
			    v->dmarc.from_domain[0] ? v->dmarc.from_domain : "the From domain");
		break;
	case CAUSE_SPF_FAIL:
	case CAUSE_SPF_SOFTFAIL:
		set_reply(v, REPLY_SPF, "SPF %s: %s is not authorized to send mail for %s%s%s",
		    spf_result_str(v->spf.result), v->spf_ip,
		    v->spf.domain[0] ? v->spf.domain : "the sender",
		    v->spf.explanation[0] ? ": " : "", v->spf.explanation);
		break;
	case CAUSE_DKIM_FAIL:
		d = dkim_first(v, DKIM_RES_FAIL, DKIM_RES_POLICY);
		if (d->result == DKIM_RES_POLICY)
			set_reply(v, REPLY_DKIM, "DKIM signature of %s is not acceptable: %s", d->domain,
			    d->why);
		else
			set_reply(v, REPLY_DKIM, "DKIM signature of %s did not verify: %s", d->domain, d->why);
		break;
	case CAUSE_DMARC_FAIL:
		set_reply(v, REPLY_DMARC, "Unauthenticated email from %s is not accepted due to the "
		    "domain's DMARC policy", v->dmarc.from_domain);
		break;
	case CAUSE_BAD_FROM:
		set_reply(v, REPLY_BAD_FROM, "Messages missing a valid address in the From header are "
		    "not accepted: %s", v->bad_from);
		break;
	case CAUSE_NONCOMPLIANT: {
		const struct profile_verdict *pv = &v->compliance.profile[profile];
		enum rule_id r = pv->failed[0];

		set_reply(v, (enum reply)(REPLY_RULE + r),
		    "Message does not meet %s's sender requirements: %s: %s",
		    profile_title((enum profile_id)profile), rule_name(r),
		    rules_result(&v->compliance, (enum profile_id)profile, r)->reason);
		break;
	}
	case CAUSE_NONE:
	case CAUSE_COUNT:
		break;
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
		[CAUSE_DMARC_FAIL] = { v->dmarc_done && v->dmarc.result == DMARC_RES_FAIL,
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
