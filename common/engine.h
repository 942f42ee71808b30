/*
 * engine: one message in, one verdict out. Shared by the milter and the
 * offline checker; knows nothing of libmilter.
 *
 * An engine holds what lives for the whole process (config, resolver,
 * SPF engine, DKIM verifier) and is shared by all threads. A check is one
 * message: the front end gives it the envelope and macros, the header
 * fields, the end of headers and the body chunks as they arrive, then
 * check_finish runs the checks and returns the verdict: per-method
 * results, the action with its SMTP reply, the header fields to add and
 * the forged ones to remove, and the log line. A check is used by one
 * thread at a time.
 */
#ifndef SC_ENGINE_H
#define SC_ENGINE_H

#include <stddef.h>

#include "dkim.h"
#include "dmarc.h"
#include "format.h"
#include "header.h"
#include "iprev.h"
#include "options.h"
#include "rules.h"
#include "spf.h"
#include "unsub.h"

struct engine;
struct check;

/* ENGINE_READ_ONLY: never write state files (the offline checker). */
#define ENGINE_READ_ONLY 1
struct engine *engine_new(const struct sc_config *cfg, unsigned flags, char *why, size_t whylen);
/* Starts background work (saving volume counts); after any fork. */
int engine_start(struct engine *e, char *why, size_t whylen);
/* Ends background work and saves state; checks may still run (shutdown). */
void engine_stop(struct engine *e);
void engine_free(struct engine *e);
const struct sc_config *engine_config(const struct engine *e);

struct header_edit {
	char *name;
	char *value;		/* folded with "\n\t" */
};

/* A field to delete: the index-th field named name (1-based, as received). */
struct header_removal {
	const char *name;
	unsigned index;
};

#define VERDICT_MAX_ADD 4

/* What the front end said about the transaction. */
struct envelope {
	char client_ip[64];		/* canonical text form */
	char client_name[256];		/* verified name, "" if none */
	char helo[256];
	char mail_from[512];		/* without <>; "" for the null sender */
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

	struct dmarc_outcome dmarc;
	int dmarc_done;
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
	char cause[32];			/* "spf-fail", "noncompliant", ... or "none" */
	char smtp_rcode[4];		/* "550", "451", "" for accept */
	char smtp_xcode[8];		/* "5.7.27" */
	char smtp_text[256];
	char quarantine_reason[300];

	struct header_edit add[VERDICT_MAX_ADD];	/* to prepend, in order */
	size_t n_add;
	const struct header_removal *remove;	/* forged copies of our fields */
	size_t n_remove;
	char error[256];		/* internal error of this check, "" if none */
	char input_error[160];		/* first problem with the input, "" if none */

	char *log_line;
	unsigned dns_queries, dns_cache_hits, dns_timeouts;
	long elapsed_ms;		/* time spent in check_finish */
};

struct check *check_new(struct engine *e);
void check_free(struct check *c);

/* Envelope and macros; each value is copied, over-long ones are cut and noted. */
void check_set_client(struct check *c, const char *ip, const char *hostname);
void check_set_helo(struct check *c, const char *helo);
/* The MAIL FROM argument with or without <>; "<>" or "" is the null sender. */
void check_set_mail_from(struct check *c, const char *mail_from);
void check_add_rcpt(struct check *c, const char *rcpt);
void check_set_queue_id(struct check *c, const char *qid);
/* TLS as the MTA reports it: a version (TLS used), or known not used
 * (check_set_no_tls changes nothing once a version was set). */
void check_set_tls(struct check *c, const char *tls_version, const char *cipher);
void check_set_no_tls(struct check *c);

/* Whether this client's mail is checked at all (InternalHosts). */
int check_is_internal(const struct check *c);
int engine_client_internal(const struct engine *e, const char *ip);

/* name without colon, value as received (leading space kept). */
void check_header(struct check *c, const char *name, const char *value, size_t len);
void check_eoh(struct check *c);
void check_body(struct check *c, const unsigned char *p, size_t n);
const struct verdict *check_finish(struct check *c);

/* The check's header list (for reports). */
const struct header_list *check_headers(const struct check *c);

#endif
