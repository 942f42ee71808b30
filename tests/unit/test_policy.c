/*
 * Unit tests of the policy (policy.c + rules.c) as the pure function it
 * is: check results in, compliance, action, cause and SMTP reply out.
 *
 * - every rule, failed alone (as far as the rules allow), for bulk and
 *   non-bulk mail: which profiles fail it, held to the scope table of the
 *   README written out here (not read from rules.c);
 * - every action for every cause with its reply code and text;
 * - the order in which causes win.
 * The expectations are literal: none is computed by the code under test.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy.h"

#define ALL_PROFILES ((1u << PROFILE_COUNT) - 1)

/* ---- a message that passes everything, and mutations of it ---- */

static struct dkim_sig_result sigs[2];

static void
sig(struct dkim_sig_result *d, enum dkim_res r, const char *domain, unsigned bits, int signs_from)
{
	memset(d, 0, sizeof(*d));
	d->result = r;
	snprintf(d->domain, sizeof(d->domain), "%s", domain);
	snprintf(d->selector, sizeof(d->selector), "s1");
	snprintf(d->algorithm, sizeof(d->algorithm), "rsa-sha256");
	d->key_bits = bits;
	if (signs_from)
		dkim_sig_set_hlist(d, "from:list-unsubscribe:list-unsubscribe-post", 43);
	else
		dkim_sig_set_hlist(d, "list-unsubscribe:list-unsubscribe-post", 38);
	if (r != DKIM_RES_PASS)
		snprintf(d->why, sizeof(d->why), "body hash mismatch");
}

static void
good(struct verdict *v, int bulk)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->env.client_ip, sizeof(v->env.client_ip), "192.0.2.1");
	snprintf(v->env.mail_from, sizeof(v->env.mail_from), "b@example.com");
	v->env.tls = TLS_YES;
	snprintf(v->env.tls_version, sizeof(v->env.tls_version), "TLSv1.3");
	v->spf_done = 1;
	v->spf.result = SPF_RES_PASS;
	snprintf(v->spf.domain, sizeof(v->spf.domain), "example.com");
	snprintf(v->spf_ip, sizeof(v->spf_ip), "192.0.2.1");
	sig(&sigs[0], DKIM_RES_PASS, "example.com", 2048, 1);
	v->dkim = sigs;
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
	v->dmarc.record.p = DMARC_POLICY_NONE;
	v->dmarc.policy = DMARC_POLICY_NONE;
	v->dmarc.pct = 100;
	v->dmarc.dkim_aligned = 1;
	snprintf(v->dmarc.dkim_domain, sizeof(v->dmarc.dkim_domain), "example.com");
	v->iprev_done = 1;
	v->iprev.result = IPREV_RES_PASS;
	snprintf(v->iprev.ip, sizeof(v->iprev.ip), "192.0.2.1");
	snprintf(v->iprev.name, sizeof(v->iprev.name), "mail.example.com");
	v->format.pass = 1;
	v->format.has_from = 1;
	snprintf(v->format.from.domain, sizeof(v->format.from.domain), "example.com");
	v->unsub.pass = 1;
	v->unsub.n_list_unsub = 1;
	v->unsub.n_post = 1;
	v->unsub.has_https = 1;
	v->unsub.post_ok = 1;
	snprintf(v->unsub.sig_domain, sizeof(v->unsub.sig_domain), "example.com");
	v->bulk = bulk;
}

static void
accept_all(struct policy *p, unsigned profiles)
{
	memset(p, 0, sizeof(*p));
	p->profiles = profiles;
	for (int c = 0; c < CAUSE_COUNT; c++)
		p->on[c] = ACT_ACCEPT;
	for (int i = 0; i < PROFILE_COUNT; i++)
		p->on_profile[i] = POLICY_INHERIT;
}

static void
fail_spf(struct verdict *v)
{
	v->spf.result = SPF_RES_FAIL;
	snprintf(v->spf.why, sizeof(v->spf.why), "matched -all");
}

static void
fail_dkim(struct verdict *v)
{
	sig(&sigs[0], DKIM_RES_PASS, "example.com", 2048, 0);	/* From not in h= */
	v->n_dkim = 1;
}

static void
fail_auth_any(struct verdict *v)
{
	fail_spf(v);
	v->n_dkim = 0;
}

static void
fail_dmarc_record(struct verdict *v)
{
	v->dmarc.result = DMARC_RES_NONE;
	v->dmarc.have_record = 0;
	v->dmarc.n_records = 0;
	v->dmarc.record_domain[0] = '\0';
	v->dmarc.policy = DMARC_POLICY_UNSET;
}

static void
fail_dmarc_align(struct verdict *v)
{
	v->dmarc.result = DMARC_RES_FAIL;
	v->dmarc.dkim_aligned = 0;
	v->dmarc.spf_aligned = 0;
}

static void
fail_dkim_key(struct verdict *v)
{
	sig(&sigs[0], DKIM_RES_POLICY, "example.com", 512, 1);
	snprintf(sigs[0].why, sizeof(sigs[0].why), "RSA key of 512 bits is below 1024 (RFC 8301)");
	v->n_dkim = 1;
}

static void
fail_iprev(struct verdict *v)
{
	v->iprev.result = IPREV_RES_FAIL;
	v->iprev.name[0] = '\0';
	snprintf(v->iprev.why, sizeof(v->iprev.why), "no PTR name resolves back");
}

static void
fail_tls(struct verdict *v)
{
	v->env.tls = TLS_NO;
	v->env.tls_version[0] = '\0';
}

static void
fail_format(struct verdict *v)
{
	v->format.pass = 0;
	v->format.n_fail = 1;
	v->format.n = 1;
	v->format.v[0].level = FORMAT_FAIL;
	snprintf(v->format.v[0].field, sizeof(v->format.v[0].field), "Date");
	snprintf(v->format.v[0].reason, sizeof(v->format.v[0].reason), "no Date field");
}

static void
fail_oneclick(struct verdict *v)
{
	v->unsub.pass = 0;
	v->unsub.post_ok = 0;
	v->unsub.n_post = 0;
	v->unsub.n_reasons = 1;
	snprintf(v->unsub.reasons[0], sizeof(v->unsub.reasons[0]), "no List-Unsubscribe-Post");
}

static void
fail_mailto_only(struct verdict *v)
{
	v->unsub.pass = 0;
	v->unsub.has_https = 0;
	v->unsub.has_mailto = 1;
	v->unsub.mailto_only = 1;
}

static void
fail_dmarc_pass(struct verdict *v)
{
	/* a record, an identifier aligned, and still no pass (a pure-function
	 * view: the rule reads the result) */
	v->dmarc.result = DMARC_RES_FAIL;
	snprintf(v->dmarc.why, sizeof(v->dmarc.why), "no aligned pass (aspf=s, adkim=s)");
}

/* Which senders a rule binds per profile: the README's table, written out. */
enum { NO = 0, ALL, BULK };

/* A reply as the provider words it: the permanent code, the temporary one
 * and a part of each text. */
struct reply_want {
	const char *code, *xcode, *text, *tcode, *txcode, *ttext;
	int ours;			/* "; try again later" on a tempfail */
};

#define G_SPF { "550", "5.7.27", "This message was blocked because it didn't pass SPF authentication. " \
	"Gmail requires bulk email senders to authenticate their email with SPF. Authentication results: " \
	"SPF with 192.0.2.1 = did not pass. To set up SPF for your sending domains, visit " \
	"https://support.google.com/a/answer/33786. To learn more about Gmail requirements for bulk " \
	"email senders, visit https://support.google.com/a/answer/81126.", "421", "4.7.27", \
	"Your email has been rate limited because SPF authentication didn't pass for this message. " \
	"Gmail requires all bulk email senders to authenticate their email with SPF. Authentication " \
	"results: SPF example.com with IP address: 192.0.2.1 = Did not pass.", 0 }
#define G_DKIM { "550", "5.7.30", "This message was blocked because it didn't pass DKIM " \
	"authentication. Gmail requires bulk email senders to authenticate their email with DKIM. " \
	"Authentication results: DKIM = did not pass. To set up DKIM for your sending domains, visit " \
	"https://support.google.com/a/answer/174124.", "421", "4.7.30", "Your email has been rate " \
	"limited because DKIM authentication didn't pass for this message.", 0 }
#define G_AUTH { "550", "5.7.26", "This email has been blocked because the sender is " \
	"unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM. " \
	"Authentication results: DKIM = did not pass SPF [example.com] with ip: [192.0.2.1] = did not " \
	"pass. For instructions on setting up authentication, go to " \
	"https://support.google.com/mail/answer/81126#authentication.", "421", "4.7.26", "This email " \
	"has been rate limited because it is unauthenticated. Gmail requires all senders to " \
	"authenticate with either SPF or DKIM. Authentication results: DKIM = did not pass SPF " \
	"example.com with ip: 192.0.2.1 = did not pass.", 0 }
#define G_DMARC_RECORD { "550", "5.7.40", "Your message was blocked because the sending domain " \
	"doesn't have a DMARC record or the DMARC record doesn't specify a DMARC policy. Gmail requires " \
	"all bulk email senders to add a DMARC record to their sending domain. See Set up DMARC: " \
	"https://support.google.com/a/answer/2466580.", "421", "4.7.40", "Your email has been rate " \
	"limited because the sending domain doesn't have a DMARC record, or the DMARC record doesn't " \
	"specify a DMARC policy.", 0 }
#define G_ALIGN { "550", "5.7.32", "Your email was blocked because the From: header (RFC5322) in " \
	"this message isn't aligned with either the authenticated SPF or DKIM organizational domain. " \
	"Learn more about DMARC alignment: https://support.google.com/a/answer/2466580#dmarc-alignment.", \
	"421", "4.7.32", "Your email has been rate limited because the From: header (RFC5322) in this " \
	"message isn't aligned", 0 }
#define G_PTR { "550", "5.7.25", "This message was blocked because the sending IP address doesn't " \
	"have a PTR record, or the forwarding DNS entry doesn't reference the sending IP address. Gmail " \
	"requires that sending IP addresses have a PTR record. Learn more about requirements for " \
	"sending IP addresses: https://support.google.com/a?p=sender-guidelines-ip.", "451", "4.7.23", \
	"192.0.2.1 The sending IP address for this message doesn't have a PTR record, or the PTR " \
	"record's forward DNS entry doesn't match the sending IP address. To protect users from spam, " \
	"your email has been temporarily rate limited. To learn more about IP address requirements for " \
	"sending to Gmail, visit https://support.google.com/a/answer/81126#ip.", 0 }
#define G_TLS { "550", "5.7.29", "This message was blocked because it wasn't sent over a TLS " \
	"connection. Gmail requires all bulk email senders to use TLS/SSL for SMTP connections. To set " \
	"up TLS for email, visit https://support.google.com/a/answer/100181.", "421", "4.7.29", "Your " \
	"email has been rate limited because you're not using a TLS connection.", 0 }
#define G_MALFORMED { "554", "5.6.0", "Email message is malformed. Not accepted. For more " \
	"information, go to https://support.google.com/mail/?p=RfcMessageNonCompliant and review RFC " \
	"5322 specifications.", "451", "4.6.0", "Email message is malformed. Not accepted.", 0 }
#define G_OURS(rule, why) { "550", "5.7.1", "Message does not meet Google's sender requirements: " \
	rule ": " why ". To learn more about Gmail requirements for bulk email senders, visit " \
	"https://support.google.com/a/answer/81126.", "451", "4.7.1", "Message does not meet Google's " \
	"sender requirements: " rule ": " why, 1 }
#define Y_AUTH { "554", "5.7.9", "Message not accepted for policy reasons. See " \
	"https://senders.yahooinc.com/smtp-error-codes/#authentication-failures", "421", "4.7.9", \
	"Message temporarily deferred for policy reasons. See " \
	"https://senders.yahooinc.com/smtp-error-codes/#4xx", 0 }
#define Y_RFC { "554", "5.7.9", "Message not accepted for policy reasons. See " \
	"https://senders.yahooinc.com/smtp-error-codes/#rfc-compliance-failures", "421", "4.7.9", \
	"Message temporarily deferred for policy reasons.", 0 }
#define Y_OTHER { "554", "5.7.9", "Message not accepted for policy reasons. See " \
	"https://senders.yahooinc.com/smtp-error-codes/#5xx", "421", "4.7.9", \
	"Message temporarily deferred for policy reasons.", 0 }
#define M_515 { "550", "5.7.515", "Access denied, sending domain [EXAMPLE.COM] does not meet the " \
	"required authentication level.", "451", "4.7.515", "Access denied, sending domain " \
	"[EXAMPLE.COM] does not meet the required authentication level.", 0 }
#define NONE_ { NULL, NULL, NULL, NULL, NULL, NULL, 0 }

static const struct rule_case {
	const char *name;		/* the rule id */
	enum rule_id rule;
	void (*mutate)(struct verdict *);
	int scope[PROFILE_COUNT];	/* google, yahoo, microsoft */
	/* a rule the mutation cannot help failing too, or -1 */
	int also[2];
	struct reply_want reply[PROFILE_COUNT];	/* when it is the first failed rule */
} rules[] = {
	{ "spf", RULE_SPF, fail_spf, { BULK, BULK, BULK }, { -1, -1 }, { G_SPF, Y_AUTH, M_515 } },
	{ "dkim", RULE_DKIM, fail_dkim, { BULK, BULK, BULK }, { -1, -1 }, { G_DKIM, Y_AUTH, M_515 } },
	{ "auth-any", RULE_AUTH_ANY, fail_auth_any, { ALL, ALL, NO }, { RULE_SPF, RULE_DKIM },
	  { G_AUTH, Y_AUTH, NONE_ } },
	{ "dmarc-record", RULE_DMARC_RECORD, fail_dmarc_record, { BULK, BULK, BULK },
	  { RULE_DMARC_PASS, -1 }, { G_DMARC_RECORD, Y_AUTH, M_515 } },
	{ "dmarc-align", RULE_DMARC_ALIGN, fail_dmarc_align, { BULK, BULK, BULK },
	  { RULE_DMARC_PASS, -1 }, { G_ALIGN, Y_AUTH, M_515 } },
	{ "dmarc-pass", RULE_DMARC_PASS, fail_dmarc_pass, { NO, BULK, NO }, { -1, -1 },
	  { NONE_, Y_AUTH, NONE_ } },
	{ "dkim-key", RULE_DKIM_KEY, fail_dkim_key, { ALL, ALL, NO }, { RULE_DKIM, -1 },
	  { G_DKIM, Y_AUTH, NONE_ } },
	{ "iprev", RULE_IPREV, fail_iprev, { ALL, ALL, NO }, { -1, -1 }, { G_PTR, Y_OTHER, NONE_ } },
	{ "tls", RULE_TLS, fail_tls, { ALL, NO, NO }, { -1, -1 }, { G_TLS, NONE_, NONE_ } },
	{ "format", RULE_FORMAT, fail_format, { ALL, ALL, NO }, { -1, -1 },
	  { G_MALFORMED, Y_RFC, NONE_ } },
	{ "oneclick", RULE_ONECLICK, fail_oneclick, { BULK, BULK, NO }, { -1, -1 },
	  { G_OURS("oneclick", "no List-Unsubscribe-Post"), Y_OTHER, NONE_ } },
	{ "mailto-only", RULE_MAILTO_ONLY, fail_mailto_only, { BULK, NO, NO }, { -1, -1 },
	  { G_OURS("mailto-only", "List-Unsubscribe has only mailto: URIs"), NONE_, NONE_ } },
};
#define N_RULES (sizeof(rules) / sizeof(rules[0]))

static const char *const pnames[PROFILE_COUNT] = { "google", "yahoo", "microsoft" };

/* The failed rule ids of profile p as "a,b". */
static void
failed_ids(const struct verdict *v, int p, char *out, size_t len)
{
	const struct profile_verdict *pv = &v->compliance.profile[p];

	out[0] = '\0';
	for (size_t i = 0; i < pv->n_failed; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "",
		    rule_name(pv->failed[i]));
}

static int
binds(const struct rule_case *rc, int p, int bulk)
{
	return rc->scope[p] == ALL || (rc->scope[p] == BULK && bulk);
}

/* The ids a profile must fail: the rule and the ones the mutation fails
 * with it, each where it binds (the same table), in rule order. */
static void
expected_ids(const struct rule_case *rc, int p, int bulk, char *out, size_t len)
{
	int want[RULE_COUNT] = { 0 };

	out[0] = '\0';
	want[rc->rule] = binds(rc, p, bulk);
	for (size_t a = 0; a < 2; a++)
		for (size_t k = 0; k < N_RULES; k++)
			if ((int)rules[k].rule == rc->also[a])
				want[rules[k].rule] = binds(&rules[k], p, bulk);
	for (int r = 0; r < RULE_COUNT; r++)
		if (want[r])
			snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "," : "",
			    rule_name((enum rule_id)r));
}

static void
test_good_passes(void **state)
{
	struct verdict v;
	struct policy p;

	(void)state;
	accept_all(&p, ALL_PROFILES);
	for (int bulk = 0; bulk <= 1; bulk++) {
		good(&v, bulk);
		policy_decide(&p, &v);
		for (int i = 0; i < PROFILE_COUNT; i++) {
			assert_true(v.compliance.profile[i].enabled);
			assert_true(v.compliance.profile[i].pass);
			assert_false(v.compliance.profile[i].temperror);
			assert_int_equal(v.compliance.profile[i].n_failed, 0);
		}
		for (int r = 0; r < RULE_COUNT; r++)
			for (int i = 0; i < PROFILE_COUNT; i++)
				assert_int_not_equal(rules_result(&v.compliance, (enum profile_id)i,
				    (enum rule_id)r)->state, RULE_FAIL);
		assert_int_equal(v.action, ACT_ACCEPT);
		assert_int_equal(v.cause, CAUSE_NONE);
		assert_string_equal(v.smtp_rcode, "");
		assert_int_equal(v.compliance.n_warn, 0);
	}
}

/* One rule failed: who fails it, bulk and not, with a reason and a fix. */
static void
test_rule_scope(void **state)
{
	const struct rule_case *rc = *state;
	struct verdict v;
	struct policy p;
	char got[256], want[256];

	accept_all(&p, ALL_PROFILES);
	for (int bulk = 0; bulk <= 1; bulk++) {
		good(&v, bulk);
		rc->mutate(&v);
		policy_decide(&p, &v);
		for (int i = 0; i < PROFILE_COUNT; i++) {
			const struct rule_result *r = rules_result(&v.compliance, (enum profile_id)i, rc->rule);

			failed_ids(&v, i, got, sizeof(got));
			expected_ids(rc, i, bulk, want, sizeof(want));
			if (strcmp(got, want) != 0)
				fail_msg("rule %s, %s, %s: failed \"%s\", want \"%s\"", rc->name, pnames[i],
				    bulk ? "bulk" : "not bulk", got, want);
			assert_int_equal(v.compliance.profile[i].pass, want[0] == '\0');
			/* where the rule is in force its state says fail, with a fix */
			if (strstr(want, rc->name) != NULL) {
				assert_int_equal(r->state, RULE_FAIL);
				assert_true(r->reason[0] != '\0');
				assert_true(r->fix[0] != '\0');
			}
		}
	}
}

/* A profile that is not enabled is never judged. */
static void
test_profiles_enabled(void **state)
{
	struct verdict v;
	struct policy p;

	(void)state;
	accept_all(&p, 1u << PROFILE_YAHOO);
	good(&v, 1);
	fail_tls(&v);
	fail_iprev(&v);
	policy_decide(&p, &v);
	assert_false(v.compliance.profile[PROFILE_GOOGLE].enabled);
	assert_int_equal(v.compliance.profile[PROFILE_GOOGLE].n_failed, 0);
	assert_false(v.compliance.profile[PROFILE_MICROSOFT].enabled);
	assert_true(v.compliance.profile[PROFILE_YAHOO].enabled);
	assert_int_equal(v.compliance.profile[PROFILE_YAHOO].n_failed, 1);
	assert_int_equal(v.compliance.profile[PROFILE_YAHOO].failed[0], RULE_IPREV);
}

/* DNS trouble and unknown input never fail a rule; DNS trouble makes temperror. */
static void
test_temperror_never_fails(void **state)
{
	struct verdict v;
	struct policy p;

	(void)state;
	accept_all(&p, ALL_PROFILES);
	good(&v, 1);
	v.iprev.result = IPREV_RES_TEMPERROR;
	policy_decide(&p, &v);
	assert_int_equal(v.compliance.rule[RULE_IPREV].state, RULE_TEMP);
	for (int i = 0; i < PROFILE_COUNT; i++) {
		int binds = rules_applies((enum profile_id)i, RULE_IPREV) != SCOPE_NONE;

		assert_true(v.compliance.profile[i].pass);
		assert_int_equal(v.compliance.profile[i].temperror, binds);
		assert_int_equal(rules_profile_result(&v.compliance, (enum profile_id)i),
		    binds ? PROFILE_TEMPERROR : PROFILE_PASS);
	}
	/* iprev is not among Microsoft's requirements (a general recommendation) */
	assert_int_equal(rules_applies(PROFILE_MICROSOFT, RULE_IPREV), SCOPE_NONE);

	good(&v, 1);
	v.dmarc.result = DMARC_RES_TEMPERROR;
	v.dmarc.have_record = 0;
	v.dmarc.dkim_aligned = 0;
	policy_decide(&p, &v);
	assert_int_equal(v.compliance.rule[RULE_DMARC_RECORD].state, RULE_TEMP);
	assert_int_equal(v.compliance.rule[RULE_DMARC_ALIGN].state, RULE_TEMP);
	assert_int_equal(rules_profile_result(&v.compliance, PROFILE_GOOGLE), PROFILE_TEMPERROR);

	good(&v, 1);
	v.env.tls = TLS_UNKNOWN;
	policy_decide(&p, &v);
	assert_int_equal(v.compliance.rule[RULE_TLS].state, RULE_UNKNOWN);
	assert_int_equal(rules_profile_result(&v.compliance, PROFILE_GOOGLE), PROFILE_PASS);

	good(&v, 1);
	v.env.tls = TLS_NOT_APPLICABLE;
	policy_decide(&p, &v);
	assert_int_equal(v.compliance.rule[RULE_TLS].state, RULE_NA);
	assert_int_equal(rules_profile_result(&v.compliance, PROFILE_GOOGLE), PROFILE_PASS);

	/* an SPF temperror with DKIM failing: auth-any is temperror, not fail */
	good(&v, 0);
	v.spf.result = SPF_RES_TEMPERROR;
	v.n_dkim = 0;
	policy_decide(&p, &v);
	assert_int_equal(v.compliance.rule[RULE_AUTH_ANY].state, RULE_TEMP);
	assert_true(v.compliance.profile[PROFILE_GOOGLE].pass);
}

/* Yahoo accepts a mailto: unsubscribe; Google does not. */
static void
test_mailto_per_profile(void **state)
{
	struct verdict v;
	struct policy p;

	(void)state;
	accept_all(&p, ALL_PROFILES);
	good(&v, 1);
	fail_mailto_only(&v);
	policy_decide(&p, &v);
	assert_int_equal(rules_result(&v.compliance, PROFILE_YAHOO, RULE_ONECLICK)->state, RULE_PASS);
	assert_int_equal(rules_result(&v.compliance, PROFILE_GOOGLE, RULE_MAILTO_ONLY)->state, RULE_FAIL);
	assert_int_equal(rules_result(&v.compliance, PROFILE_GOOGLE, RULE_ONECLICK)->state, RULE_NA);
}

/* Weak keys beside an acceptable signature are warnings, not failures. */
static void
test_warnings(void **state)
{
	struct verdict v;
	struct policy p;

	(void)state;
	accept_all(&p, ALL_PROFILES);
	good(&v, 1);
	sig(&sigs[0], DKIM_RES_PASS, "example.com", 1024, 1);
	sig(&sigs[1], DKIM_RES_POLICY, "example.com", 512, 1);
	v.n_dkim = 2;
	policy_decide(&p, &v);
	assert_int_equal(v.compliance.rule[RULE_DKIM_KEY].state, RULE_PASS);
	assert_int_equal(v.compliance.n_warn, 2);
	assert_non_null(strstr(v.compliance.warn[0], "1024-bit RSA key"));
	assert_non_null(strstr(v.compliance.warn[1], "not acceptable"));
	assert_true(v.compliance.profile[PROFILE_GOOGLE].pass);
}

/* ---- actions and replies ---- */

struct action_case {
	const char *name;
	enum cause cause;
	void (*make)(struct verdict *);
	struct reply_want reply;
};

static void
make_error(struct verdict *v)
{
	snprintf(v->error, sizeof(v->error), "out of memory");
}

static void
make_dns_spf(struct verdict *v)
{
	v->spf.result = SPF_RES_TEMPERROR;
	v->n_dkim = 0;
}

static void
make_dns_dkim(struct verdict *v)
{
	v->spf.result = SPF_RES_NEUTRAL;
	sig(&sigs[0], DKIM_RES_TEMPERROR, "keys.example", 0, 1);
}

static void
make_dns_dmarc(struct verdict *v)
{
	v->dmarc.result = DMARC_RES_TEMPERROR;
}

static void
make_spf_soft(struct verdict *v)
{
	v->spf.result = SPF_RES_SOFTFAIL;
}

static void
make_dkim_fail(struct verdict *v)
{
	sig(&sigs[0], DKIM_RES_FAIL, "example.com", 2048, 1);
	v->n_dkim = 1;
}

static void
make_dmarc_fail(struct verdict *v)
{
	fail_dmarc_align(v);
}

static void
make_bad_from(struct verdict *v)
{
	snprintf(v->bad_from, sizeof(v->bad_from),
	    "From domain '[192.0.2.1]' is a domain literal that names no domain");
}

static const struct action_case actions[] = {
	{ "error", CAUSE_ERROR, make_error, { "550", "5.3.0",
	  "Internal error while checking the sender (out of memory)", "451", "4.3.0",
	  "Internal error while checking the sender (out of memory)", 1 } },
	{ "dns-spf", CAUSE_DNS, make_dns_spf, { "550", "5.7.27",
	  "DNS failure checking the SPF record of example.com", "451", "4.7.27",
	  "DNS failure checking the SPF record of example.com", 1 } },
	{ "dns-dkim", CAUSE_DNS, make_dns_dkim, { "550", "5.7.30",
	  "DNS failure fetching the DKIM key of keys.example", "451", "4.7.30",
	  "DNS failure fetching the DKIM key of keys.example", 1 } },
	{ "dns-dmarc", CAUSE_DNS, make_dns_dmarc, { "550", "5.7.26",
	  "Unauthenticated email from example.com is not accepted due to domain's DMARC policy, but "
	  "temporary DNS failures prevent authentication. Please contact the administrator of "
	  "example.com domain if this was a legitimate email. To learn about the DMARC initiative, go "
	  "to https://support.google.com/mail/?p=DmarcRejection.", "451", "4.7.26",
	  "but temporary DNS failures prevent authentication", 0 } },
	{ "spf-fail", CAUSE_SPF_FAIL, fail_spf, { "550", "5.7.26",
	  "The (E)MAIL FROM domain [example.com] has an SPF record with a hard fail policy (-all) but "
	  "it fails to pass SPF checks with the ip: [192.0.2.1]. To best protect our users from spam "
	  "and phishing, the message has been blocked. For more information, go to "
	  "https://support.google.com/mail/answer/81126#authentication.", "421", "4.7.27",
	  "Your email has been rate limited because SPF authentication didn't pass", 0 } },
	{ "spf-softfail", CAUSE_SPF_SOFTFAIL, make_spf_soft, G_SPF },
	{ "dkim-fail", CAUSE_DKIM_FAIL, make_dkim_fail, G_DKIM },
	{ "dkim-policy", CAUSE_DKIM_FAIL, fail_dkim_key, G_DKIM },
	{ "dmarc-fail", CAUSE_DMARC_FAIL, make_dmarc_fail, { "550", "5.7.26",
	  "Unauthenticated email from example.com is not accepted due to domain's DMARC policy. "
	  "Contact the administrator of example.com domain if this was legitimate email. To learn "
	  "about the DMARC initiative, go to https://support.google.com/mail/answer/2451690.", "421",
	  "4.7.26", "Unauthenticated email from example.com is not accepted due to domain's DMARC "
	  "policy.", 0 } },
	{ "bad-from", CAUSE_BAD_FROM, make_bad_from, { "550", "5.7.1", "Messages missing a valid "
	  "address in the From: header, or having no From: header, are not accepted: From domain "
	  "'[192.0.2.1]' is a domain literal that names no domain. For more information, go to "
	  "https://support.google.com/mail/?p=RfcMessageNonCompliant and review RFC 5322 "
	  "specifications.", "451", "4.7.1", "Messages missing a valid address in the From: header, "
	  "or having no From: header, are not accepted: From domain '[192.0.2.1]'", 0 } },
};
#define N_ACTIONS (sizeof(actions) / sizeof(actions[0]))

static const struct action_case *
action_named(const char *name)
{
	for (size_t i = 0; i < N_ACTIONS; i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	fail_msg("no action case %s", name);
	return NULL;
}

static const char *const cause_names[CAUSE_COUNT] = { "none", "error", "dns-error", "spf-fail",
	"spf-softfail", "dkim-fail", "dmarc-fail", "bad-from", "noncompliant" };

/* The reply for action a on a verdict whose cause is set: the provider's
 * code and words for a reject, its temporary twin for a tempfail, nothing
 * (but the quarantine reason) for the others. */
static void
assert_reply(const struct verdict *v, enum action a, const struct reply_want *w)
{
	const char *text = a == ACT_TEMPFAIL ? w->ttext : w->text;

	assert_int_equal(v->action, a);
	if (strstr(v->smtp_text, text) == NULL)
		fail_msg("reply text \"%s\" lacks \"%s\"", v->smtp_text, text);
	assert_non_null(strstr(v->quarantine_reason, "sendercheck: "));
	assert_non_null(strstr(v->quarantine_reason, text));
	switch (a) {
	case ACT_REJECT:
		assert_string_equal(v->smtp_rcode, w->code);
		assert_string_equal(v->smtp_xcode, w->xcode);
		assert_null(strstr(v->smtp_text, "try again later"));
		break;
	case ACT_TEMPFAIL:
		assert_string_equal(v->smtp_rcode, w->tcode);
		assert_string_equal(v->smtp_xcode, w->txcode);
		assert_int_equal(strstr(v->smtp_text, "; try again later") != NULL, w->ours);
		break;
	default:
		assert_string_equal(v->smtp_rcode, "");
		assert_string_equal(v->smtp_xcode, "");
		break;
	}
}

/* Each cause under each action: the action, the cause and the reply. */
static void
test_cause_actions(void **state)
{
	const struct action_case *ac = *state;
	struct verdict v;
	struct policy p;

	for (int a = 0; a < ACT_COUNT; a++) {
		accept_all(&p, 0);	/* no profiles: only this cause */
		p.on[ac->cause] = (enum action)a;
		good(&v, 0);
		ac->make(&v);
		policy_decide(&p, &v);
		assert_int_equal(v.cause, ac->cause);
		assert_string_equal(cause_name(v.cause), cause_names[ac->cause]);
		assert_reply(&v, (enum action)a, &ac->reply);
	}
}

/* The rule case of rule r. */
static const struct rule_case *
case_of(enum rule_id r)
{
	for (size_t k = 0; k < N_RULES; k++)
		if (rules[k].rule == r)
			return &rules[k];
	fail_msg("no case for rule %d", r);
	return NULL;
}

/* Noncompliance: the profile's own reply for its first failed rule, under
 * reject and tempfail alike. */
static void
test_noncompliant_codes(void **state)
{
	const struct rule_case *rc = *state;
	struct verdict v;
	struct policy p;

	for (int i = 0; i < PROFILE_COUNT; i++) {
		int bulk = rc->scope[i] == BULK;

		if (rc->scope[i] == NO)
			continue;
		for (int a = ACT_REJECT; a <= ACT_TEMPFAIL; a++) {
			const struct rule_case *first;

			accept_all(&p, 1u << i);
			p.on[CAUSE_NONCOMPLIANT] = (enum action)a;
			good(&v, bulk);
			rc->mutate(&v);
			/* only noncompliance may act */
			for (int c = 0; c < CAUSE_COUNT; c++)
				if (c != CAUSE_NONCOMPLIANT)
					p.on[c] = ACT_ACCEPT;
			p.dmarc_follows_domain = 0;
			policy_decide(&p, &v);
			assert_int_equal(v.cause, CAUSE_NONCOMPLIANT);
			first = case_of(v.compliance.profile[i].failed[0]);
			if (first->reply[i].code == NULL)
				fail_msg("%s: no reply written out for %s", pnames[i], first->name);
			assert_reply(&v, (enum action)a, &first->reply[i]);
			if (a == ACT_REJECT)
				assert_string_equal(policy_rule_xcode((enum profile_id)i, first->rule),
				    first->reply[i].xcode);
		}
	}
}

/* Gmail words each RFC 5322 problem its own way; the others have one reply. */
static void
test_format_replies(void **state)
{
	static const struct {
		enum format_kind kind;
		const char *field, *code, *xcode, *text;
	} cases[] = {
		{ FORMAT_K_NO_FROM, "From", "550", "5.7.1", "This message is not RFC 5322 compliant "
		  "because the From: header is missing. To reduce the amount of spam sent to Gmail, this "
		  "message has been blocked. For more information, go to "
		  "https://support.google.com/mail/?p=RfcMessageNonCompliant and review RFC 5322 "
		  "specifications." },
		{ FORMAT_K_MULTI_FROM, "From", "550", "5.7.1", "because it has multiple From: headers." },
		{ FORMAT_K_FROM_MANY, "From", "550", "5.7.1", "Messages with multiple addresses in the "
		  "From: header are not accepted. For more information, go to" },
		{ FORMAT_K_FROM_INVALID, "From", "550", "5.7.1", "Messages missing a valid address in the "
		  "From: header, or having no From: header, are not accepted." },
		{ FORMAT_K_NO_MSGID, "Message-ID", "550", "5.7.1", "Messages missing a valid Message-ID: "
		  "header are not accepted." },
		{ FORMAT_K_DUPLICATE, "Subject", "550", "5.7.1", "This message is not RFC 5322 compliant. "
		  "There are multiple Subject headers. To reduce the amount of spam sent to Gmail" },
		{ FORMAT_K_LONG_LINE, "body", "554", "5.6.0", "Email message is malformed. Not accepted." },
		{ FORMAT_K_NO_DATE, "Date", "554", "5.6.0", "Email message is malformed. Not accepted." },
	};
	struct verdict v;
	struct policy p;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		accept_all(&p, 1u << PROFILE_GOOGLE);
		p.on[CAUSE_NONCOMPLIANT] = ACT_REJECT;
		good(&v, 0);
		fail_format(&v);
		v.format.v[0].kind = cases[i].kind;
		snprintf(v.format.v[0].field, sizeof(v.format.v[0].field), "%s", cases[i].field);
		policy_decide(&p, &v);
		assert_string_equal(v.smtp_rcode, cases[i].code);
		assert_string_equal(v.smtp_xcode, cases[i].xcode);
		if (strstr(v.smtp_text, cases[i].text) == NULL)
			fail_msg("kind %d: \"%s\" lacks \"%s\"", cases[i].kind, v.smtp_text, cases[i].text);
	}
}

/* Per-profile actions: the harshest profile broken decides, with its name. */
static void
test_profile_actions(void **state)
{
	struct verdict v;
	struct policy p;

	(void)state;
	accept_all(&p, ALL_PROFILES);
	p.on_profile[PROFILE_YAHOO] = ACT_REJECT;
	p.on_profile[PROFILE_GOOGLE] = ACT_QUARANTINE;
	/* TLS binds Google only: Google's quarantine */
	good(&v, 0);
	fail_tls(&v);
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_NONCOMPLIANT);
	assert_reply(&v, ACT_QUARANTINE, &case_of(RULE_TLS)->reply[PROFILE_GOOGLE]);
	/* iprev binds Google and Yahoo: Yahoo's reject is harsher */
	good(&v, 0);
	fail_iprev(&v);
	policy_decide(&p, &v);
	assert_reply(&v, ACT_REJECT, &case_of(RULE_IPREV)->reply[PROFILE_YAHOO]);
	/* inherit: On-Noncompliant */
	p.on_profile[PROFILE_YAHOO] = POLICY_INHERIT;
	p.on_profile[PROFILE_GOOGLE] = POLICY_INHERIT;
	p.on[CAUSE_NONCOMPLIANT] = ACT_TEMPFAIL;
	good(&v, 1);
	fail_format(&v);
	policy_decide(&p, &v);
	assert_reply(&v, ACT_TEMPFAIL, &case_of(RULE_FORMAT)->reply[PROFILE_GOOGLE]);
}

/* On-DMARCFail policy: the domain's policy as applied (the dmarc module
 * makes it one step milder for t=y or pct; tests/dmarc checks that). */
static void
test_dmarc_follows_domain(void **state)
{
	static const struct {
		enum dmarc_policy p;	/* as applied */
		enum action want;
	} cases[] = {
		{ DMARC_POLICY_REJECT, ACT_REJECT },
		{ DMARC_POLICY_QUARANTINE, ACT_QUARANTINE },
		{ DMARC_POLICY_NONE, ACT_ACCEPT },
		{ DMARC_POLICY_UNSET, ACT_ACCEPT },
	};
	struct verdict v;
	struct policy p;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		accept_all(&p, 0);
		p.dmarc_follows_domain = 1;
		p.on[CAUSE_DMARC_FAIL] = ACT_REJECT;	/* unused when following the domain */
		good(&v, 0);
		make_dmarc_fail(&v);
		v.dmarc.policy = DMARC_POLICY_REJECT;	/* as published: not what counts */
		v.dmarc.applied = cases[i].p;
		policy_decide(&p, &v);
		assert_int_equal(v.cause, CAUSE_DMARC_FAIL);
		assert_int_equal(v.action, cases[i].want);
	}
}

/* ---- the order of causes ---- */

static void
test_cause_order(void **state)
{
	struct verdict v;
	struct policy p;

	(void)state;
	/* all causes at once, same action: the first (error) wins */
	accept_all(&p, ALL_PROFILES);
	for (int c = 0; c < CAUSE_COUNT; c++)
		p.on[c] = ACT_REJECT;
	good(&v, 1);
	make_error(&v);
	fail_spf(&v);
	make_dkim_fail(&v);
	make_dmarc_fail(&v);
	fail_tls(&v);
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_ERROR);
	assert_reply(&v, ACT_REJECT, &actions[0].reply);

	/* SPF fail before DKIM fail before DMARC fail before a bad From before noncompliance */
	v.error[0] = '\0';
	make_bad_from(&v);
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_SPF_FAIL);
	p.on[CAUSE_SPF_FAIL] = ACT_ACCEPT;
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_DKIM_FAIL);
	p.on[CAUSE_DKIM_FAIL] = ACT_ACCEPT;
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_DMARC_FAIL);
	p.on[CAUSE_DMARC_FAIL] = ACT_ACCEPT;
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_BAD_FROM);
	assert_reply(&v, ACT_REJECT, &action_named("bad-from")->reply);
	p.on[CAUSE_BAD_FROM] = ACT_ACCEPT;
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_NONCOMPLIANT);
	assert_int_equal(v.action, ACT_REJECT);

	/* a later cause with a harsher action wins; a milder one does not */
	accept_all(&p, ALL_PROFILES);
	p.on[CAUSE_SPF_FAIL] = ACT_QUARANTINE;
	p.on[CAUSE_DMARC_FAIL] = ACT_REJECT;
	good(&v, 1);
	fail_spf(&v);
	make_dmarc_fail(&v);
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_DMARC_FAIL);
	assert_reply(&v, ACT_REJECT, &action_named("dmarc-fail")->reply);
	p.on[CAUSE_DMARC_FAIL] = ACT_QUARANTINE;
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_SPF_FAIL);
	assert_int_equal(v.action, ACT_QUARANTINE);
	p.on[CAUSE_SPF_FAIL] = ACT_TEMPFAIL;
	p.on[CAUSE_NONCOMPLIANT] = ACT_QUARANTINE;
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_SPF_FAIL);
	assert_reply(&v, ACT_TEMPFAIL, &action_named("spf-fail")->reply);

	/* every cause accepted: the first one met is still named */
	accept_all(&p, ALL_PROFILES);
	policy_decide(&p, &v);
	assert_int_equal(v.action, ACT_ACCEPT);
	assert_int_equal(v.cause, CAUSE_SPF_FAIL);
	assert_string_equal(v.smtp_rcode, "");
}

/* DNS trouble is a cause only when it leaves the message unauthenticated;
 * a failed or unacceptable signature only when no signature passes; a
 * permerror signature never. */
static void
test_cause_conditions(void **state)
{
	struct verdict v;
	struct policy p;

	(void)state;
	accept_all(&p, 0);
	for (int c = 0; c < CAUSE_COUNT; c++)
		p.on[c] = ACT_REJECT;

	good(&v, 0);
	v.spf.result = SPF_RES_TEMPERROR;	/* DKIM passes */
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_NONE);
	assert_int_equal(v.action, ACT_ACCEPT);

	good(&v, 0);
	sig(&sigs[1], DKIM_RES_TEMPERROR, "other.example", 0, 1);
	v.n_dkim = 2;				/* one passes, one temperror */
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_NONE);

	good(&v, 0);
	sig(&sigs[0], DKIM_RES_TEMPERROR, "example.com", 0, 1);	/* SPF passes */
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_NONE);

	good(&v, 0);
	sig(&sigs[1], DKIM_RES_FAIL, "other.example", 2048, 1);
	v.n_dkim = 2;				/* one passes, one fails */
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_NONE);

	good(&v, 0);
	sig(&sigs[0], DKIM_RES_PERMERROR, "example.com", 0, 1);
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_NONE);	/* as if unsigned (RFC 6376 6.1) */

	good(&v, 0);
	snprintf(v.dkim_error, sizeof(v.dkim_error), "DKIM verifier unavailable");
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_ERROR);
	assert_int_equal(v.action, ACT_REJECT);
	assert_non_null(strstr(v.smtp_text, "(DKIM verifier unavailable)"));

	/* DMARC none or permerror is no DMARC failure */
	good(&v, 0);
	v.dmarc.result = DMARC_RES_PERMERROR;
	policy_decide(&p, &v);
	assert_int_equal(v.cause, CAUSE_NONE);
}

#define CASE(name, fn, st) { name, fn, NULL, NULL, (void *)(st) }

int
main(void)
{
	struct CMUnitTest tests[4 * N_RULES + N_ACTIONS + 16];
	char names[2 * N_RULES + N_ACTIONS][64];
	size_t n = 0, k = 0;

	tests[n++] = (struct CMUnitTest)CASE("good_passes", test_good_passes, NULL);
	for (size_t i = 0; i < N_RULES; i++) {
		snprintf(names[k], sizeof(names[k]), "rule_scope_%s", rules[i].name);
		tests[n++] = (struct CMUnitTest)CASE(names[k++], test_rule_scope, &rules[i]);
	}
	tests[n++] = (struct CMUnitTest)CASE("profiles_enabled", test_profiles_enabled, NULL);
	tests[n++] = (struct CMUnitTest)CASE("temperror_never_fails", test_temperror_never_fails, NULL);
	tests[n++] = (struct CMUnitTest)CASE("mailto_per_profile", test_mailto_per_profile, NULL);
	tests[n++] = (struct CMUnitTest)CASE("warnings", test_warnings, NULL);
	for (size_t i = 0; i < N_ACTIONS; i++) {
		snprintf(names[k], sizeof(names[k]), "actions_%s", actions[i].name);
		tests[n++] = (struct CMUnitTest)CASE(names[k++], test_cause_actions, &actions[i]);
	}
	for (size_t i = 0; i < N_RULES; i++) {
		snprintf(names[k], sizeof(names[k]), "noncompliant_code_%s", rules[i].name);
		tests[n++] = (struct CMUnitTest)CASE(names[k++], test_noncompliant_codes, &rules[i]);
	}
	tests[n++] = (struct CMUnitTest)CASE("format_replies", test_format_replies, NULL);
	tests[n++] = (struct CMUnitTest)CASE("profile_actions", test_profile_actions, NULL);
	tests[n++] = (struct CMUnitTest)CASE("dmarc_follows_domain", test_dmarc_follows_domain, NULL);
	tests[n++] = (struct CMUnitTest)CASE("cause_order", test_cause_order, NULL);
	tests[n++] = (struct CMUnitTest)CASE("cause_conditions", test_cause_conditions, NULL);
	return _cmocka_run_group_tests("policy", tests, n, NULL, NULL);
}
