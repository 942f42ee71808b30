/*
 * format: the RFC 5322 format checks that Gmail enforces (rule "format"),
 * for the rules layer and the reports.
 *
 * format_check looks at a message's header list and reports problems,
 * each naming a field and giving a one-line reason:
 *
 *   fail  no From field; more than one From; a From that does not parse
 *         (RFC 5322 §3.4 with the obsolete forms of §4.4, see address.h);
 *         a From with zero or several mailboxes, or with group syntax;
 *         no Date field; no Message-ID field; more than one of a field
 *         RFC 5322 §3.6 allows once (Date, From, Sender, Reply-To, To,
 *         Cc, Bcc, Message-ID, In-Reply-To, References, Subject); a
 *         physical line of a field longer than 998 octets (RFC 5322
 *         §2.1.1), counting "Name:" on the first line, without the CRLF.
 *   warn  a Date that is not an RFC 5322 date-time (§3.3, obsolete
 *         forms of §4.3 accepted: 2-digit years, named zones, CFWS);
 *         a Message-ID that is not "<left@right>" (§3.6.4); a Sender
 *         that is not one mailbox; a Reply-To that does not parse; a
 *         From domain that is an address literal (DMARC cannot use it).
 *
 * Line lengths are measured on the value as the front end stored it: the
 * milter must negotiate SMFIP_HDR_LEADSPC for the space after the colon
 * to be counted (without it, lines are one octet shorter than sent).
 *
 * Invariants: fixed-size result, no allocation; at most
 * FORMAT_MAX_PROBLEMS problems are stored, n_fail and n_warn count all of
 * them, and pass is 1 exactly when n_fail is 0. At most one line-length
 * problem is reported per field (its first over-long line).
 */
#ifndef SC_FORMAT_H
#define SC_FORMAT_H

#include <stddef.h>

#include "address.h"
#include "header.h"

#define FORMAT_RULE_ID		"format"
#define FORMAT_MAX_PROBLEMS	24
#define FORMAT_MAX_LINE		998

enum format_level { FORMAT_FAIL = 1, FORMAT_WARN = 2 };

/* What kind of failure, for replies that name it as a provider does. */
enum format_kind {
	FORMAT_K_OTHER = 0,
	FORMAT_K_NO_FROM,	/* no From field */
	FORMAT_K_MULTI_FROM,	/* several From fields */
	FORMAT_K_FROM_MANY,	/* one From, several mailboxes */
	FORMAT_K_FROM_INVALID,	/* one From without one valid mailbox (parse, group, none) */
	FORMAT_K_NO_MSGID,	/* no Message-ID */
	FORMAT_K_DUPLICATE,	/* a single-instance field more than once (field names it) */
	FORMAT_K_LONG_LINE,	/* a line over 998 octets */
	FORMAT_K_NO_DATE,	/* no Date */
	FORMAT_K_COUNT
};

struct format_problem {
	enum format_level level;
	enum format_kind kind;
	char field[64];		/* field name, e.g. "From" */
	char reason[200];	/* e.g. "2 From fields (RFC 5322 §3.6 allows one)" */
};

/* A parsed RFC 5322 date-time. */
struct format_date {
	int year, month, day;		/* month 1..12 */
	int hour, minute, second;
	int zone_minutes;		/* offset east of UTC; -0000 and unknown zones give 0 */
	int obsolete;			/* used an obsolete form (§4.3) */
	long long epoch;		/* seconds since 1970-01-01 UTC */
};

struct format_result {
	int pass;			/* no FORMAT_FAIL problem */
	unsigned n_fail, n_warn;	/* problems found, stored or not */
	size_t n;			/* problems stored in v */
	/* only v[0..n-1] are read: entries past n are left as they were */
	struct format_problem v[FORMAT_MAX_PROBLEMS];

	int has_from;			/* exactly one From with exactly one mailbox */
	struct addr_mailbox from;	/* valid when has_from; from.domain lower-cased */

	int date_ok;			/* exactly one Date and it parses */
	struct format_date date;	/* valid when date_ok */
};

void format_check(const struct header_list *hl, struct format_result *out);
/* Adds a problem found elsewhere (e.g. a body line over 998 octets). */
void format_add_problem(struct format_result *out, enum format_level level, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same with its kind. */
void format_add_kind(struct format_result *out, enum format_kind kind, enum format_level level,
    const char *field, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The kind of the first failure (FORMAT_K_OTHER if none is stored) and its field. */
enum format_kind format_first_failure(const struct format_result *r, const char **field);

/*
 * Parses an RFC 5322 date-time (value as received). Returns 0, or -1
 * with a one-line reason in why.
 */
int format_date_parse(const char *value, size_t len, struct format_date *d,
    char *why, size_t whylen);

#endif
