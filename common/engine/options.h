/*
 * options: the one table of options and the parser of sendercheck.conf.
 *
 * The file is OpenDKIM-style: "Key value" per line, '#' starts a comment
 * (at line start or after white space), keys are case-insensitive. Every
 * option is declared once in config_options[] (name, type, default, doc);
 * defaults are parsed by the same code as the file, so they cannot drift.
 * Problems are reported as "FILE:LINE: why", all of them, not just the
 * first; an unknown key, a bad value or a repeated key is an error.
 */
#ifndef SC_OPTIONS_H
#define SC_OPTIONS_H

#include <stddef.h>

#include "dns.h"
#include "netaddr.h"
#include "sbuf.h"
#include "verdict.h"

enum opt_type {
	OPT_STRING, OPT_BOOL, OPT_UINT, OPT_SECONDS, OPT_ACTION, OPT_SERVERS,
	OPT_CIDRS, OPT_SOCKET, OPT_FACILITY, OPT_LOGLEVEL, OPT_SPFENGINE,
	OPT_ENUM,	/* one of names[]: the index */
	OPT_FLAGS,	/* a list of names[] (space or comma separated): a bit mask */
	OPT_DOMAINS	/* domain names, space or comma separated: a char *, lower-case,
			 * one space between names ("" for none) */
};

/* An OPT_STRING-like option: its value is a char * (NULL-terminated text). */
#define OPT_IS_TEXT(t) ((t) == OPT_STRING || (t) == OPT_SOCKET || (t) == OPT_DOMAINS)

/* Option values that are names, for OPT_ENUM / OPT_FLAGS rows. */
enum dmarc_action { DMARC_ACT_ACCEPT = 0, DMARC_ACT_REJECT, DMARC_ACT_TEMPFAIL,
	DMARC_ACT_QUARANTINE, DMARC_ACT_POLICY };
enum mode { MODE_INBOUND = 0, MODE_OUTBOUND };
#define ACT_INHERIT ACT_COUNT	/* per-profile action: use On-Noncompliant */
enum bulk_detect { BULK_HEADERS = 1, BULK_VOLUME = 2, BULK_ALWAYS = 4, BULK_NEVER = 8 };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

#define MAX_SENDING_IPS 8

struct sc_config {
	char *socket;
	char *authserv_id;
	struct dns_server nameservers[DNS_MAX_SERVERS];
	size_t n_nameservers;
	unsigned dns_timeout_ms;
	unsigned dns_cache_size;
	struct cidr_list internal_hosts;
	int add_received_spf;
	enum action on_spf_fail;
	enum action on_spf_softfail;
	enum action on_dkim_fail;
	enum action on_dns_error;
	enum action on_error;
	unsigned max_signatures;
	int spf_engine;			/* enum spf_engine_kind */
	int dkim_engine;		/* enum dkim_engine_kind */
	char *trusted_arc_sealers;	/* OPT_DOMAINS: sealers whose ARC results we believe */
	int arc_sign;			/* ARCSign: add our ARC set (arc_seal.h) */
	char *arc_domain;		/* its d= */
	char *arc_selector;		/* its s= */
	char *arc_key_file;		/* PEM private key, RSA or Ed25519 */
	int dmarc_standard;		/* enum dmarc_standard */
	int dmarc_discovery;		/* enum dmarc_discovery (after loading; "standard" resolved) */
	int on_dmarc_fail;		/* enum dmarc_action */
	int on_bad_from;		/* enum action, or ACT_INHERIT: as On-DMARCFail */
	unsigned profiles;		/* bit per enum profile_id */
	int on_noncompliant;		/* enum action */
	int on_noncompliant_profile[PROFILE_COUNT];	/* enum action or ACT_INHERIT, per profile */
	unsigned bulk_detection;	/* enum bulk_detect bits */
	unsigned bulk_threshold;
	unsigned bulk_sticky_days;
	char *volume_file;
	char *shared_state;		/* "" = each daemon counts alone */
	char *shared_state_password_file;
	unsigned shared_state_timeout_ms;
	char *host_name;		/* HostName; filled in from gethostname() */
	int mode;			/* enum mode */
	struct cidr_list sending_ips;
	char *stats_db;			/* "" = no statistics */
	unsigned stats_retention;	/* days */
	unsigned stats_queue_size;
	char *report_sender;		/* "" = ReportEmail */
	char *report_smtp;		/* HOST:PORT, "" = the sendmail command */
	char *report_sendmail;		/* ReportSendmail, an absolute path */
	unsigned report_max_size;	/* bytes */
	char *report_copy_to;		/* "" = none */
	unsigned report_max_per_run;
	char *metrics_socket;		/* "" = no metrics server */
	char *report_org_name;		/* ReportOrgName; "" = the AuthservID */
	char *report_email;		/* ReportEmail; "" = postmaster@AuthservID */
	int log_format;			/* enum log_format */
	unsigned milter_timeout;	/* seconds */
	unsigned milter_max_data;	/* bytes */
	unsigned milter_max_sessions;
	char *user_id;
	char *pid_file;
	int syslog;
	int syslog_facility;
	int log_level;
};

/* Option flags. */
#define OPTF_RESTART 1	/* read once at start: a reload keeps the running value */

struct config_option {
	const char *name;
	enum opt_type type;
	const char *def;	/* default, in file syntax */
	const char *doc;	/* one line */
	size_t offset;		/* of the field in struct sc_config */
	unsigned min, max;	/* OPT_UINT bounds */
	const char *const *names;	/* OPT_ENUM / OPT_FLAGS: NULL-terminated */
	unsigned flags;		/* OPTF_* */
};

extern const struct config_option config_options[];
extern const size_t config_n_options;

/* Defaults only (AuthservID = this host's name). */
void config_defaults(struct sc_config *c);
/*
 * Loads defaults, then the file. Returns the number of problems; each is a
 * line "FILE:LINE: why" appended to errs. Unusable files count as one.
 */
int config_load(struct sc_config *c, const char *path, struct sbuf *errs);
/* Parses a string as if it were the file (for tests and the offline tool). */
int config_load_string(struct sc_config *c, const char *name, const char *text,
    struct sbuf *errs);
void config_free(struct sc_config *c);

/* Whether option o has the same value in a and b. */
int config_option_equal(const struct config_option *o, const struct sc_config *a,
    const struct sc_config *b);
/* Gives dst src's value of option o (a reload keeps restart-only values).
 * Returns 0, or -1 when out of memory (dst unchanged). */
int config_option_copy(const struct config_option *o, struct sc_config *dst,
    const struct sc_config *src);

#endif
