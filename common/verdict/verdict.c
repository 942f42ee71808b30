/*
 * verdict: names of the verdict's enumerations; see verdict.h.
 */
#include "config.h"

#include "verdict.h"

const char *
action_str(enum action a)
{
	static const char *const names[ACT_COUNT] = { "accept", "reject", "tempfail", "quarantine" };

	return (unsigned)a < ACT_COUNT ? names[a] : "accept";
}

const char *
cause_name(enum cause c)
{
	static const char *const names[CAUSE_COUNT] = { "none", "error", "dns-error", "spf-fail",
		"spf-softfail", "dkim-fail", "dmarc-fail", "noncompliant" };

	return (unsigned)c < CAUSE_COUNT ? names[c] : "none";
}
