/*
 * verdict: names of the verdict's enumerations; see verdict.h.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "verdict.h"

/* The spans verdict_clear leaves, in the order they lie in the record. */
#define V_WALK		offsetof(struct verdict, spf.walk)
#define V_WALK_END	(V_WALK + sizeof(((struct verdict *)0)->spf.walk))
#define V_LINT		offsetof(struct verdict, spf.lint)
#define V_LINT_END	(V_LINT + sizeof(((struct verdict *)0)->spf.lint))
#define V_FORMAT	offsetof(struct verdict, format.v)
#define V_FORMAT_END	(V_FORMAT + sizeof(((struct verdict *)0)->format.v))
#define V_COMP		offsetof(struct verdict, compliance)
#define V_COMP_END	(V_COMP + sizeof(((struct verdict *)0)->compliance))

_Static_assert(V_WALK < V_WALK_END && V_WALK_END <= V_LINT && V_LINT_END <= V_FORMAT &&
    V_FORMAT_END <= V_COMP && V_COMP_END <= sizeof(struct verdict),
    "verdict_clear's spans are out of order");

static void
zero_span(struct verdict *v, size_t from, size_t to)
{
	memset((char *)v + from, 0, to - from);
}

void
verdict_clear(struct verdict *v)
{
	zero_span(v, 0, V_WALK);
	zero_span(v, V_WALK_END, V_LINT);	/* n_lint */
	zero_span(v, V_LINT_END, V_FORMAT);
	zero_span(v, V_FORMAT_END, V_COMP);
	compliance_clear(&v->compliance);
	zero_span(v, V_COMP_END, sizeof(*v));
}

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
		"spf-softfail", "dkim-fail", "dmarc-fail", "bad-from", "noncompliant" };

	return (unsigned)c < CAUSE_COUNT ? names[c] : "none";
}

const char *
dmarc_disposition_str(enum dmarc_disposition d)
{
	static const char *const names[DISP_COUNT] = { "none", "pass", "quarantine", "reject" };

	return (unsigned)d < DISP_COUNT ? names[d] : "none";
}

const char *
dmarc_override_str(enum dmarc_override o)
{
	static const char *const names[OVERRIDE_COUNT] = { "none", "local_policy", "policy_test_mode",
		"other", "trusted_forwarder" };

	return (unsigned)o < OVERRIDE_COUNT ? names[o] : "none";
}

enum dmarc_disposition
dmarc_disposition(const struct verdict *v)
{
	if (v->action == ACT_REJECT)
		return DISP_REJECT;
	if (v->action == ACT_QUARANTINE)
		return DISP_QUARANTINE;
	if (v->dmarc_done && v->dmarc.result == DMARC_RES_PASS && v->dmarc.policy > DMARC_POLICY_NONE)
		return DISP_PASS;
	return DISP_NONE;
}

/* The disposition that carries out policy p. */
static enum dmarc_disposition
carries_out(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? DISP_REJECT : p == DMARC_POLICY_QUARANTINE ?
	    DISP_QUARANTINE : DISP_NONE;
}

enum dmarc_override
dmarc_override(const struct verdict *v)
{
	const struct dmarc_outcome *d = &v->dmarc;
	enum dmarc_disposition got = dmarc_disposition(v), want;

	if (!v->dmarc_done || !d->have_record)
		return OVERRIDE_NONE;
	if (got == DISP_PASS)
		got = DISP_NONE;
	want = d->result == DMARC_RES_FAIL ? carries_out(d->policy) : DISP_NONE;
	if (got == want)
		return OVERRIDE_NONE;
	if (d->result == DMARC_RES_FAIL && v->arc_trust.vouched && got == DISP_NONE)
		return OVERRIDE_TRUSTED_FORWARDER;
	if (d->result == DMARC_RES_FAIL && d->applied != d->policy && got == carries_out(d->applied))
		return d->testing ? OVERRIDE_TEST_MODE : OVERRIDE_OTHER;
	return OVERRIDE_LOCAL_POLICY;
}
