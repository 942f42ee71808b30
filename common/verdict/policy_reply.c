/*
 * policy_reply: the reply table; see policy_reply.h.
 *
 * Sources, as the README's reply table cites them:
 * - Gmail: "SMTP errors and codes", support.google.com/a/answer/3726730
 *   (the 2026-02 revision): each code with its wording and the help URL it
 *   links. Two slips of that page are not copied: 5.7.32 is listed with
 *   reply code 421 (a permanent code: 550 here), and a few sentences lack
 *   their full stop.
 * - Outlook.com: "Strengthening Email Ecosystem: Outlook's New Requirements
 *   for High-Volume Senders", techcommunity.microsoft.com (2 April 2025,
 *   updated 29 April; enforced from 5 May 2025): "550; 5.7.515 Access
 *   denied, sending domain [SendingDomain] does not meet the required
 *   authentication level." Outlook.com publishes no temporary form; the
 *   4.7.515 twin is ours.
 * - Yahoo: "SMTP Error Codes", senders.yahooinc.com/smtp-error-codes
 *   (permanent failures are 553 or 554, temporary ones 421 or 451; its
 *   sections are the anchors below), and help.yahoo.com/kb/SLN7253 ("554
 *   5.7.9 Message not accepted for policy reasons" for mail failing
 *   authentication checks). Yahoo publishes no temporary wording; ours.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy_reply.h"
#include "report.h"
#include "sbuf.h"

struct reply {
	const char *code, *xcode, *text;	/* permanent */
	const char *tcode, *txcode, *ttext;	/* temporary; NULL: 451 or 421, 4.x.x, text */
	int ours;		/* our words: a tempfail adds "; try again later" */
};

#define G_GUIDE "To learn more about Gmail requirements for bulk email senders, visit " \
	"https://support.google.com/a/answer/81126."
#define G_RFC "For more information, go to https://support.google.com/mail/?p=RfcMessageNonCompliant " \
	"and review RFC 5322 specifications."
#define G_RFC_BLOCKED "To reduce the amount of spam sent to Gmail, this message has been blocked. " G_RFC

/* ---- Gmail: the causes that are not a profile's ---- */

#define G_SPF_TEMP "Your email has been rate limited because SPF authentication didn't pass for " \
	"this message. Gmail requires all bulk email senders to authenticate their email with SPF. " \
	"Authentication results: SPF %D with IP address: %I = Did not pass. To set up SPF for your " \
	"sending domains, visit https://support.google.com/a/answer/33786. " G_GUIDE

static const struct reply gmail_spf_perm_all = {
	"550", "5.7.26", "The (E)MAIL FROM domain [%D] has an SPF record with a hard fail policy (-all) "
	"but it fails to pass SPF checks with the ip: [%I]. To best protect our users from spam and "
	"phishing, the message has been blocked. For more information, go to "
	"https://support.google.com/mail/answer/81126#authentication.",
	"421", "4.7.27", G_SPF_TEMP, 0
};

static const struct reply gmail_rule_spf = {
	"550", "5.7.27", "This message was blocked because it didn't pass SPF authentication. Gmail "
	"requires bulk email senders to authenticate their email with SPF. Authentication results: "
	"SPF with %I = did not pass. To set up SPF for your sending domains, visit "
	"https://support.google.com/a/answer/33786. " G_GUIDE,
	"421", "4.7.27", G_SPF_TEMP, 0
};

static const struct reply gmail_rule_dkim = {
	"550", "5.7.30", "This message was blocked because it didn't pass DKIM authentication. Gmail "
	"requires bulk email senders to authenticate their email with DKIM. Authentication results: "
	"DKIM = did not pass. To set up DKIM for your sending domains, visit "
	"https://support.google.com/a/answer/174124. " G_GUIDE,
	"421", "4.7.30", "Your email has been rate limited because DKIM authentication didn't pass "
	"for this message. Gmail requires all email bulk senders to authenticate their email with "
	"DKIM. Authentication results: DKIM = Did not pass. To set up DKIM for your sending domains, "
	"visit https://support.google.com/a/answer/174124. " G_GUIDE, 0
};

static const struct reply gmail_dmarc_policy = {
	"550", "5.7.26", "Unauthenticated email from %D is not accepted due to domain's DMARC policy. "
	"Contact the administrator of %D domain if this was legitimate email. To learn about the "
	"DMARC initiative, go to https://support.google.com/mail/answer/2451690.",
	"421", "4.7.26", NULL, 0
};

static const struct reply cause_replies[CR_COUNT] = {
	[CR_ERROR] = { "550", "5.3.0", "Internal error while checking the sender (%R)",
	    "451", "4.3.0", NULL, 1 },
	[CR_DNS_SPF] = { "550", "5.7.27", "DNS failure checking the SPF record of %D (%R)",
	    "451", "4.7.27", NULL, 1 },
	[CR_DNS_DKIM] = { "550", "5.7.30", "DNS failure fetching the DKIM key of %D (%R)",
	    "451", "4.7.30", NULL, 1 },
	/* Gmail's words are temporary; a reject for it keeps them */
	[CR_DNS_DMARC] = { "550", "5.7.26", "Unauthenticated email from %D is not accepted due to "
	    "domain's DMARC policy, but temporary DNS failures prevent authentication. Please contact "
	    "the administrator of %D domain if this was a legitimate email. To learn about the DMARC "
	    "initiative, go to https://support.google.com/mail/?p=DmarcRejection.",
	    "451", "4.7.26", NULL, 0 },
	[CR_SPF_FAIL] = { NULL },		/* gmail_spf_perm_all, below */
	[CR_SPF_SOFTFAIL] = { NULL },		/* gmail_rule_spf */
	[CR_DKIM_FAIL] = { NULL },		/* gmail_rule_dkim */
	[CR_DKIM_POLICY] = { NULL },		/* gmail_rule_dkim */
	[CR_DMARC_FAIL] = { NULL },		/* gmail_dmarc_policy */
	/* a From with no domain to judge (author.h): Gmail's words, our reason */
	[CR_BAD_FROM] = { "550", "5.7.1", "Messages missing a valid address in the From: header, or "
	    "having no From: header, are not accepted: %R. " G_RFC, "451", "4.7.1", NULL, 0 },
};

static const struct reply *
cause_reply(enum cause_reply c)
{
	switch (c) {
	case CR_SPF_FAIL:	return &gmail_spf_perm_all;
	case CR_SPF_SOFTFAIL:	return &gmail_rule_spf;
	case CR_DKIM_FAIL:
	case CR_DKIM_POLICY:	return &gmail_rule_dkim;
	case CR_DMARC_FAIL:	return &gmail_dmarc_policy;
	default:		return &cause_replies[(unsigned)c < CR_COUNT ? c : CR_ERROR];
	}
}

/* ---- Google: the rules ---- */

static const struct reply google_rules[RULE_COUNT] = {
	[RULE_SPF] = { NULL },		/* gmail_rule_spf */
	[RULE_DKIM] = { NULL },		/* gmail_rule_dkim */
	[RULE_AUTH_ANY] = { "550", "5.7.26", "This email has been blocked because the sender is "
	    "unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM. "
	    "Authentication results: DKIM = did not pass SPF [%D] with ip: [%I] = did not pass. For "
	    "instructions on setting up authentication, go to "
	    "https://support.google.com/mail/answer/81126#authentication.",
	    "421", "4.7.26", "This email has been rate limited because it is unauthenticated. Gmail "
	    "requires all senders to authenticate with either SPF or DKIM. Authentication results: "
	    "DKIM = did not pass SPF %D with ip: %I = did not pass. To resolve this issue, go to "
	    "https://support.google.com/mail/answer/81126#authentication.", 0 },
	[RULE_DMARC_RECORD] = { "550", "5.7.40", "Your message was blocked because the sending "
	    "domain doesn't have a DMARC record or the DMARC record doesn't specify a DMARC policy. "
	    "Gmail requires all bulk email senders to add a DMARC record to their sending domain. See "
	    "Set up DMARC: https://support.google.com/a/answer/2466580. " G_GUIDE,
	    "421", "4.7.40", "Your email has been rate limited because the sending domain doesn't have "
	    "a DMARC record, or the DMARC record doesn't specify a DMARC policy. Gmail requires all "
	    "bulk email senders to add a DMARC record to their sending domain. See Set up DMARC: "
	    "https://support.google.com/a/answer/2466580. " G_GUIDE, 0 },
	[RULE_DMARC_ALIGN] = { "550", "5.7.32", "Your email was blocked because the From: header "
	    "(RFC5322) in this message isn't aligned with either the authenticated SPF or DKIM "
	    "organizational domain. Learn more about DMARC alignment: "
	    "https://support.google.com/a/answer/2466580#dmarc-alignment. " G_GUIDE,
	    "421", "4.7.32", "Your email has been rate limited because the From: header (RFC5322) in "
	    "this message isn't aligned with either the authenticated SPF or DKIM organizational "
	    "domain. Learn more about DMARC alignment: "
	    "https://support.google.com/a/answer/2466580#dmarc-alignment. " G_GUIDE, 0 },
	[RULE_DMARC_PASS] = { NULL },	/* not Google's rule; as dmarc-align */
	[RULE_DKIM_KEY] = { NULL },	/* gmail_rule_dkim */
	[RULE_IPREV] = { "550", "5.7.25", "This message was blocked because the sending IP address "
	    "doesn't have a PTR record, or the forwarding DNS entry doesn't reference the sending IP "
	    "address. Gmail requires that sending IP addresses have a PTR record. Learn more about "
	    "requirements for sending IP addresses: https://support.google.com/a?p=sender-guidelines-ip. "
	    G_GUIDE,
	    "451", "4.7.23", "%I The sending IP address for this message doesn't have a PTR record, or "
	    "the PTR record's forward DNS entry doesn't match the sending IP address. To protect users "
	    "from spam, your email has been temporarily rate limited. To learn more about IP address "
	    "requirements for sending to Gmail, visit https://support.google.com/a/answer/81126#ip. "
	    G_GUIDE, 0 },
	[RULE_TLS] = { "550", "5.7.29", "This message was blocked because it wasn't sent over a TLS "
	    "connection. Gmail requires all bulk email senders to use TLS/SSL for SMTP connections. To "
	    "set up TLS for email, visit https://support.google.com/a/answer/100181. " G_GUIDE,
	    "421", "4.7.29", "Your email has been rate limited because you're not using a TLS "
	    "connection. Gmail requires all bulk email senders to use TLS/SSL for SMTP connections. To "
	    "set up TLS for email, visit https://support.google.com/a/answer/100181. " G_GUIDE, 0 },
	[RULE_FORMAT] = { NULL },	/* google_format, by kind */
	/* Gmail publishes no reply for these: ours, with its guidelines */
	[RULE_ONECLICK] = { "550", "5.7.1", "Message does not meet Google's sender requirements: "
	    "%N: %R. " G_GUIDE, "451", "4.7.1", NULL, 1 },
	[RULE_MAILTO_ONLY] = { "550", "5.7.1", "Message does not meet Google's sender requirements: "
	    "%N: %R. " G_GUIDE, "451", "4.7.1", NULL, 1 },
};

/* RFC 5322 problems as Gmail words them (temporary: the same with 451) */
static const struct reply google_format[FORMAT_K_COUNT] = {
	[FORMAT_K_OTHER] = { "554", "5.6.0", "Email message is malformed. Not accepted. " G_RFC,
	    "451", "4.6.0", NULL, 0 },
	[FORMAT_K_NO_FROM] = { "550", "5.7.1", "This message is not RFC 5322 compliant because the "
	    "From: header is missing. " G_RFC_BLOCKED, "451", "4.7.1", NULL, 0 },
	[FORMAT_K_MULTI_FROM] = { "550", "5.7.1", "This message is not RFC 5322 compliant because it "
	    "has multiple From: headers. " G_RFC_BLOCKED, "451", "4.7.1", NULL, 0 },
	[FORMAT_K_FROM_MANY] = { "550", "5.7.1", "Messages with multiple addresses in the From: "
	    "header are not accepted. " G_RFC, "451", "4.7.1", NULL, 0 },
	[FORMAT_K_FROM_INVALID] = { "550", "5.7.1", "Messages missing a valid address in the From: "
	    "header, or having no From: header, are not accepted. " G_RFC, "451", "4.7.1", NULL, 0 },
	[FORMAT_K_NO_MSGID] = { "550", "5.7.1", "Messages missing a valid Message-ID: header are not "
	    "accepted. " G_RFC, "451", "4.7.1", NULL, 0 },
	[FORMAT_K_DUPLICATE] = { "550", "5.7.1", "This message is not RFC 5322 compliant. There are "
	    "multiple %F headers. " G_RFC_BLOCKED, "451", "4.7.1", NULL, 0 },
	[FORMAT_K_LONG_LINE] = { "554", "5.6.0", "Email message is malformed. Not accepted. " G_RFC,
	    "451", "4.6.0", NULL, 0 },
	[FORMAT_K_NO_DATE] = { "554", "5.6.0", "Email message is malformed. Not accepted. " G_RFC,
	    "451", "4.6.0", NULL, 0 },
};

/* ---- Outlook.com: one reply for the high-volume rules ---- */

static const struct reply microsoft_515 = {
	"550", "5.7.515", "Access denied, sending domain [%U] does not meet the required "
	"authentication level.", "451", "4.7.515", NULL, 0
};

/* ---- Yahoo: its codes, the page's section for the cause ---- */

#define Y_PERM(anchor) { "554", "5.7.9", "Message not accepted for policy reasons. See " \
	"https://senders.yahooinc.com/smtp-error-codes/#" anchor, "421", "4.7.9", \
	"Message temporarily deferred for policy reasons. See " \
	"https://senders.yahooinc.com/smtp-error-codes/#4xx", 0 }

static const struct reply yahoo_auth = Y_PERM("authentication-failures");
static const struct reply yahoo_rfc = Y_PERM("rfc-compliance-failures");
static const struct reply yahoo_other = Y_PERM("5xx");

static const struct reply *
rule_reply(const struct verdict *v, enum profile_id p, enum rule_id r)
{
	const char *field;

	switch (p) {
	case PROFILE_MICROSOFT:
		return &microsoft_515;
	case PROFILE_YAHOO:
		switch (r) {
		case RULE_SPF: case RULE_DKIM: case RULE_AUTH_ANY: case RULE_DMARC_RECORD:
		case RULE_DMARC_ALIGN: case RULE_DMARC_PASS: case RULE_DKIM_KEY:
			return &yahoo_auth;
		case RULE_FORMAT:
			return &yahoo_rfc;
		default:
			return &yahoo_other;
		}
	default:
		switch (r) {
		case RULE_SPF:
			return &gmail_rule_spf;
		case RULE_DKIM:
		case RULE_DKIM_KEY:
			return &gmail_rule_dkim;
		case RULE_DMARC_PASS:
			return &google_rules[RULE_DMARC_ALIGN];
		case RULE_FORMAT:
			return &google_format[format_first_failure(&v->format, &field)];
		default:
			return &google_rules[(unsigned)r < RULE_COUNT ? r : RULE_ONECLICK];
		}
	}
}

const char *
policy_reply_rule_xcode(enum profile_id p, enum rule_id r)
{
	static struct verdict none;	/* format: the kind of no problem */

	return rule_reply(&none, p, r)->xcode;
}

/* ---- filling in ---- */

static void
upper_copy(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < len; i++)
		dst[i] = (char)(src[i] >= 'a' && src[i] <= 'z' ? src[i] - 32 : src[i]);
	dst[i] = '\0';
}

/* fmt with %D %U %I %R %F %N %P %% filled in from vars, into out */
static void
fill(char *out, size_t len, const char *fmt, const struct reply_vars *vars)
{
	size_t o = 0;
	char up[256];

	for (const char *p = fmt; *p && o + 1 < len; p++) {
		const char *s = NULL;
		size_t run = strcspn(p, "%");

		if (run > 0 || p[1] == '\0') {	/* text up to the next '%', at once */
			if (run == 0)
				run = 1;
			if (run > len - 1 - o)
				run = len - 1 - o;
			memcpy(out + o, p, run);
			o += run;
			p += run - 1;
			continue;
		}
		switch (*++p) {
		case 'D': s = vars->domain; break;
		case 'U': upper_copy(up, sizeof(up), vars->domain ? vars->domain : ""); s = up; break;
		case 'I': s = vars->ip; break;
		case 'R': s = vars->reason; break;
		case 'F': s = vars->field; break;
		case 'N': s = vars->rule; break;
		case 'P': s = vars->profile; break;
		default: s = "%"; break;
		}
		if (s == NULL || *s == '\0')
			s = "unknown";
		run = strnlen(s, len - 1 - o);
		memcpy(out + o, s, run);
		o += run;
	}
	out[o] = '\0';
}

static void
set(struct verdict *v, const struct reply *r, const struct reply_vars *vars)
{
	int temp = v->action == ACT_TEMPFAIL;
	const char *text = temp && r->ttext ? r->ttext : r->text;
	char buf[1024];

	fill(buf, sizeof(buf), text, vars);
	if (temp && r->ours)
		strncat(buf, "; try again later", sizeof(buf) - strlen(buf) - 1);
	report_clean_text(v->smtp_text, sizeof(v->smtp_text), buf);
	str_format(v->quarantine_reason, sizeof(v->quarantine_reason), "sendercheck: %s", v->smtp_text);
	if (v->action == ACT_REJECT) {
		str_format(v->smtp_rcode, sizeof(v->smtp_rcode), "%s", r->code);
		str_format(v->smtp_xcode, sizeof(v->smtp_xcode), "%s", r->xcode);
	} else if (temp) {
		str_format(v->smtp_rcode, sizeof(v->smtp_rcode), "%s", r->tcode ? r->tcode : "451");
		if (r->txcode)
			str_format(v->smtp_xcode, sizeof(v->smtp_xcode), "%s", r->txcode);
		else
			str_format(v->smtp_xcode, sizeof(v->smtp_xcode), "4%s", r->xcode + 1);
	}
}

void
policy_reply_cause(struct verdict *v, enum cause_reply c, const struct reply_vars *vars)
{
	set(v, cause_reply(c), vars);
}

void
policy_reply_rule(struct verdict *v, enum profile_id p, enum rule_id r,
    const struct reply_vars *vars)
{
	set(v, rule_reply(v, p, r), vars);
}
