/*
 * policy: the decision about one message as a pure function of its check
 * results. policy_decide reads the results in a verdict (SPF, DKIM, DMARC,
 * iprev, TLS, format, unsubscribe, bulk, internal errors), applies each
 * enabled profile's rules (rules.c), and writes the decision into the same
 * verdict: the compliance per profile, the action, its cause and the SMTP
 * reply. No DNS, no I/O, no clock, no global state: the same results under
 * the same policy always give the same decision, so every branch is unit
 * tested (tests/unit/test_policy.c).
 *
 * Causes, in the order they are considered: internal error, DNS trouble
 * that leaves the message unauthenticated, SPF fail, SPF softfail, DKIM
 * fail, DMARC fail, a From with no domain to judge (bad_from),
 * noncompliance. The first cause met wins unless a later
 * one asks for a harsher action (accept < quarantine < tempfail < reject).
 * A reject or tempfail gets the reply of policy_reply.c's table: the
 * provider's own (code, enhanced code, words, help URL) for a profile's
 * rule, Gmail's for the other causes where it publishes one.
 */
#ifndef SC_POLICY_H
#define SC_POLICY_H

#include "verdict.h"

/* A per-profile action that defers to on[CAUSE_NONCOMPLIANT]. */
#define POLICY_INHERIT (-1)

struct policy {
	unsigned profiles;		/* bit per enum profile_id: the profiles judged */
	enum action on[CAUSE_COUNT];	/* the action per cause (on[CAUSE_NONE] unused) */
	/* On-DMARCFail "policy": the domain's policy as applied (dmarc.h:
	 * one step milder for t=y under RFC 9989, pct < 100 under RFC 7489);
	 * on[CAUSE_DMARC_FAIL] is then unused */
	int dmarc_follows_domain;
	int on_profile[PROFILE_COUNT];	/* an enum action, or POLICY_INHERIT */
};

/* Judges v: fills v->compliance, v->action, v->cause and the reply fields. */
void policy_decide(const struct policy *p, struct verdict *v);

/* The permanent enhanced status code profile p gives for failed rule r ("5.7.26"). */
const char *policy_rule_xcode(enum profile_id p, enum rule_id r);

#endif
