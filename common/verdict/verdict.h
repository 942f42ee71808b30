/*
 * verdict: what the engine concluded about one message, as one record.
 * Data flows one way: the engine fills in the envelope and the checks'
 * results, policy.c adds the decision (compliance, action, cause, reply),
 * and the renderers (report.c: header fields, log line, report, JSON;
 * columns.c: statistics rows; metrics) read it through the field table
 * (fields.h) and never write it. Nothing here does I/O or DNS.
 */
#ifndef SC_VERDICT_H
#define SC_VERDICT_H

#include <stddef.h>

#include "arc.h"
#include "arc_trust.h"
#include "dkim.h"
#include "dmarc.h"
#include "format.h"
#include "iprev.h"
#include "rules.h"
#include "spf.h"
#include "unsub.h"

enum action { ACT_ACCEPT = 0, ACT_REJECT, ACT_TEMPFAIL, ACT_QUARANTINE, ACT_COUNT };
/* "accept", "reject", "tempfail", "quarantine" */
const char *action_str(enum action a);

/* Why the action was taken, in the order policy.c considers them. */
enum cause {
	CAUSE_NONE = 0, CAUSE_ERROR, CAUSE_DNS, CAUSE_SPF_FAIL, CAUSE_SPF_SOFTFAIL,
	CAUSE_DKIM_FAIL, CAUSE_DMARC_FAIL, CAUSE_BAD_FROM, CAUSE_NONCOMPLIANT, CAUSE_COUNT
};
/* "none", "error", "dns-error", "spf-fail", "spf-softfail", "dkim-fail",
 * "dmarc-fail", "bad-from", "noncompliant" */
const char *cause_name(enum cause c);

struct header_edit {
	char *name;
	char *value;		/* folded with "\n\t" */
};

/* A field to delete: the index-th field named name (1-based, as received). */
struct header_removal {
	const char *name;
	unsigned index;
};

#define VERDICT_MAX_ADD 7	/* A-R, compliance, Received-SPF, an ARC set */

/* What the front end said about the transaction. */
struct envelope {
	char client_ip[64];		/* canonical text form */
	char client_name[256];		/* verified name, "" if none */
	char helo[256];
	char mail_from[512];		/* local@domain as read (smtppath.h); "" for the null sender */
	char mail_from_domain[256];	/* the domain SPF checks; "" if none */
	int null_sender;
	unsigned n_rcpt;
	char queue_id[64];
	char tls_version[32];		/* "" if none or unknown */
	char cipher[64];
	enum tls_state tls;
};

struct verdict {
	struct envelope env;
	int skipped;			/* internal host: nothing checked */
	char skip_reason[128];

	struct spf_outcome spf;		/* MAIL FROM; the HELO identity for the null sender */
	int spf_done;
	char spf_ip[64];		/* the address SPF judged (a SendingIP when outbound) */

	const struct dkim_sig_result *dkim;
	size_t n_dkim;
	char dkim_error[256];		/* internal DKIM trouble, "" if none */

	struct arc_outcome arc;		/* the ARC chain (RFC 8617) */
	int arc_done;
	/* a trusted sealer of a passing chain says the message passed DMARC
	 * (TrustedARCSealers): the DMARC policy is not applied */
	struct arc_vouch arc_trust;

	struct dmarc_outcome dmarc;
	int dmarc_done;
	/* why no From domain can stand for the author (author.h), "" if one
	 * can: the message is judged at least as strictly as a DMARC fail */
	char bad_from[200];
	struct iprev_outcome iprev;
	int iprev_done;
	struct format_result format;
	struct unsub_result unsub;
	int unsub_aligned;		/* the covering signature's d= aligns with From */
	int bulk;
	char bulk_why[320];
	unsigned long volume;		/* From org domain's messages in 24 h (volume detection) */
	struct compliance compliance;

	enum action action;
	enum cause cause;
	char smtp_rcode[4];		/* "550", "451", "" for accept */
	char smtp_xcode[8];		/* "5.7.27" */
	char smtp_text[768];		/* one line; the milter folds it */
	char quarantine_reason[800];

	struct header_edit add[VERDICT_MAX_ADD];	/* to prepend, in order */
	size_t n_add;
	const struct header_removal *remove;	/* forged copies of our fields */
	size_t n_remove;
	char error[256];		/* internal error of this check, "" if none */
	char input_error[160];		/* first problem with the input, "" if none */

	char *log_line;
	unsigned dns_queries, dns_cache_hits, dns_timeouts;
	long elapsed_ms;		/* time spent in check_finish */
	long elapsed_us;		/* the same in microseconds (the metrics' histogram) */
	long long time_ms;		/* when it was judged: unix time in ms */
	/* an RFC 9990 aggregate report (its Subject) that passed DMARC: never
	 * counted in our own reports */
	int dmarc_report_msg;
};

/*
 * What was done to a message as RFC 9990 reports it (policy_evaluated):
 * reject or quarantine as the action; none when accepted (or tempfailed),
 * or pass when it passed DMARC under a quarantine/reject policy.
 */
enum dmarc_disposition { DISP_NONE = 0, DISP_PASS, DISP_QUARANTINE, DISP_REJECT, DISP_COUNT };
/*
 * Why that differs from what the domain asked (the policy that applies on
 * a DMARC fail; nothing on a pass): the domain tests its policy (t=y,
 * RFC 9989), pct < 100 (RFC 7489: "other"), a trusted ARC sealer's word
 * (trusted_forwarder: TrustedARCSealers), or our own choice (local_policy:
 * an On-* option, or a reject for another cause).
 */
enum dmarc_override { OVERRIDE_NONE = 0, OVERRIDE_LOCAL_POLICY, OVERRIDE_TEST_MODE,
	OVERRIDE_OTHER, OVERRIDE_TRUSTED_FORWARDER, OVERRIDE_COUNT };

/*
 * v as if zeroed, for a record used again: every field zero but the parts
 * read only up to a count (SPF's walk[] and lint[], the format problems,
 * the compliance's texts: compliance_clear), ~56 KB that are left as they
 * were.
 */
void verdict_clear(struct verdict *v);

enum dmarc_disposition dmarc_disposition(const struct verdict *v);
enum dmarc_override dmarc_override(const struct verdict *v);
/* "none", "pass", "quarantine", "reject" */
const char *dmarc_disposition_str(enum dmarc_disposition d);
/* "none", "local_policy", "policy_test_mode", "other", "trusted_forwarder"
 * (RFC 9990's PolicyOverrideType) */
const char *dmarc_override_str(enum dmarc_override o);

#endif
