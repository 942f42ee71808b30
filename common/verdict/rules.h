/*
 * rules: the Google / Yahoo / Microsoft bulk-sender rule set, applied to
 * the results of one message's checks.
 *
 * Each rule (ids as in the README's "Profiles and rules") gets a state with
 * a reason and a one-line fix; each enabled profile gets a verdict:
 * compliant, or the list of failed rule ids. A rule applies to a profile
 * for all senders or only for bulk senders (rules_applies). A rule whose
 * input is unknown (TLS when the MTA does not say) or that DNS trouble kept
 * from an answer never fails: a temporary problem must not turn into a
 * permanent rejection. Warnings (a 1024-bit key, an ed25519-only signature,
 * an unparseable Date) are reported apart and never among the failed ids.
 *
 * Not checkable by a filter and never faked: the spam rate and honouring
 * unsubscribes within two days.
 */
#ifndef SC_RULES_H
#define SC_RULES_H

#include <stddef.h>

#include "dkim.h"
#include "dmarc.h"
#include "format.h"
#include "iprev.h"
#include "spf.h"
#include "unsub.h"

enum rule_id {
	RULE_SPF = 0, RULE_DKIM, RULE_AUTH_ANY, RULE_DMARC_RECORD, RULE_DMARC_ALIGN,
	RULE_DMARC_PASS, RULE_DKIM_KEY, RULE_IPREV, RULE_TLS, RULE_FORMAT, RULE_ONECLICK,
	RULE_MAILTO_ONLY, RULE_COUNT
};

enum profile_id { PROFILE_GOOGLE = 0, PROFILE_YAHOO, PROFILE_MICROSOFT, PROFILE_COUNT };

#define PROFILES_ALL ((1u << PROFILE_COUNT) - 1)

enum rule_scope { SCOPE_NONE = 0, SCOPE_ALL, SCOPE_BULK };
/* RULE_TEMP: DNS trouble kept the rule from an answer; like UNKNOWN it never
 * fails a profile, but the profile's verdict becomes "temperror". */
enum rule_state { RULE_PASS = 0, RULE_FAIL, RULE_UNKNOWN, RULE_NA, RULE_TEMP, RULE_STATE_COUNT };

/* A profile's verdict: no binding rule failed (and none had DNS trouble). */
enum profile_result { PROFILE_PASS = 0, PROFILE_FAIL, PROFILE_TEMPERROR, PROFILE_RESULT_COUNT };

/* The rule ids of the README: "spf", "dkim", "auth-any", ... */
const char *rule_name(enum rule_id r);
/* The profile table: "google", "yahoo", "microsoft" (config, headers,
 * JSON, statistics columns); profile_names[] ends with NULL. */
extern const char *const profile_names[PROFILE_COUNT + 1];
const char *profile_name(enum profile_id p);
/* as people write it: "Google", "Yahoo", "Microsoft" */
const char *profile_title(enum profile_id p);
/* a short column title: "GOOGLE", "YAHOO", "MSFT" */
const char *profile_abbrev(enum profile_id p);
/* "pass", "fail", "unknown", "n/a", "temperror" */
const char *rule_state_str(enum rule_state s);
/* "pass", "fail", "temperror" */
const char *profile_result_str(enum profile_result r);
/* -1 if unknown */
int profile_parse(const char *name);
/* Which senders of profile p the rule r binds. */
enum rule_scope rules_applies(enum profile_id p, enum rule_id r);

/* TLS as the MTA reported it. */
enum tls_state { TLS_UNKNOWN = 0, TLS_YES, TLS_NO, TLS_NOT_APPLICABLE, TLS_STATE_COUNT };
/* "unknown", "yes", "no", "n/a" */
const char *tls_state_str(enum tls_state t);

struct rules_input {
	const struct spf_outcome *spf;	/* NULL if not checked */
	const char *spf_ip;		/* the address SPF was checked for */
	const struct dkim_sig_result *dkim;
	size_t n_dkim;
	const struct dmarc_outcome *dmarc;	/* NULL if not checked */
	const struct iprev_outcome *iprev;	/* NULL if not checked */
	enum tls_state tls;
	const char *tls_version;
	const struct format_result *format;
	const struct unsub_result *unsub;
	int bulk;
	/* a trusted ARC sealer vouches that DMARC passed before it forwarded
	 * the message: forwarded or list mail, which need not be aligned */
	const char *forwarded_by;
};

struct rule_result {
	enum rule_state state;
	char reason[600];
	char fix[1200];	/* copy-paste ready where a DNS record is the fix */
};

#define RULES_MAX_WARN 8

struct profile_verdict {
	int enabled;
	int pass;		/* no binding rule failed */
	int temperror;		/* pass, but a binding rule had DNS trouble */
	size_t n_failed;
	enum rule_id failed[RULE_COUNT];
	/* per-profile results of the rules whose meaning differs by profile */
	struct rule_result oneclick, mailto_only;
};

/* rules.c's compliance_clear() resets every field: a new one goes there too. */
struct compliance {
	struct rule_result rule[RULE_COUNT];
	struct profile_verdict profile[PROFILE_COUNT];
	size_t n_warn;
	char warn[RULES_MAX_WARN][200];
};

void rules_evaluate(const struct rules_input *in, unsigned profiles, struct compliance *out);

/* c as if zeroed (rules_evaluate starts with it); its texts only made empty. */
void compliance_clear(struct compliance *c);

/* The verdict of profile p (PROFILE_PASS for a profile not judged). */
enum profile_result rules_profile_result(const struct compliance *c, enum profile_id p);

/* The result of rule r as profile p sees it. */
const struct rule_result *rules_result(const struct compliance *c, enum profile_id p,
    enum rule_id r);

#endif
