/*
 * policy_reply: the words of every SMTP reply the policy gives, in one
 * table, so that a sender sees what the receiver it tests for would say.
 *
 * - A message that breaks a profile's rules gets that provider's reply for
 *   the first failed rule: Gmail's SMTP error reference for Google (code,
 *   enhanced code, wording and help URL, per rule; RFC 5322 problems by
 *   kind), Outlook.com's 5.7.515 for Microsoft, Yahoo's published codes for
 *   Yahoo (see policy_reply.c for each source).
 * - The other causes (SPF fail, DKIM fail, DMARC fail, DNS trouble) get
 *   Gmail's reply for the same cause where Gmail publishes one, our own
 *   words where it does not (DNS trouble of SPF or DKIM, internal errors).
 * - A tempfail gets the provider's temporary twin (Gmail's 421/451 4.7.x
 *   texts) or, where none is published, the permanent words with a 4xx
 *   code; only our own words get "; try again later".
 *
 * Texts are filled in from struct reply_vars; the result is one line of
 * printable ASCII (the milter folds it into reply lines).
 */
#ifndef SC_POLICY_REPLY_H
#define SC_POLICY_REPLY_H

#include <stddef.h>

#include "verdict.h"

/* Causes other than noncompliance, with their own replies. */
enum cause_reply {
	CR_ERROR = 0, CR_DNS_SPF, CR_DNS_DKIM, CR_DNS_DMARC, CR_SPF_FAIL, CR_SPF_SOFTFAIL,
	CR_DKIM_FAIL, CR_DKIM_POLICY, CR_DMARC_FAIL, CR_BAD_FROM, CR_COUNT
};

/* What a text may name. NULL or "" where unknown. */
struct reply_vars {
	const char *domain;	/* %D (upper-cased: %U): the domain the reply is about */
	const char *ip;		/* %I: the sending address */
	const char *reason;	/* %R: our reason */
	const char *field;	/* %F: a header field name */
	const char *rule;	/* %N: a rule id */
	const char *profile;	/* %P: a profile's title */
};

/* Writes the reply of cause c into v (rcode, xcode, text, quarantine reason)
 * for v->action (the reply is empty for accept; quarantine keeps the text). */
void policy_reply_cause(struct verdict *v, enum cause_reply c, const struct reply_vars *vars);
/* The same for rule r failed under profile p (format: by the first problem's kind). */
void policy_reply_rule(struct verdict *v, enum profile_id p, enum rule_id r,
    const struct reply_vars *vars);

/* The permanent enhanced status code of rule r under profile p ("5.7.26"). */
const char *policy_reply_rule_xcode(enum profile_id p, enum rule_id r);

#endif
