/*
 * report: a verdict written out for people and programs: the
 * Authentication-Results value (RFC 8601), the compliance field in the
 * same resinfo syntax, the Received-SPF field (RFC 7208 §9.1) and the
 * one-line log record of the message. All output is printable ASCII;
 * header values are folded with "\n\t" as libmilter wants.
 */
#ifndef SC_REPORT_H
#define SC_REPORT_H

#include <stddef.h>

#include "verdict.h"

#define COMPLIANCE_FIELD "X-Sender-Compliance"

/* malloc'd values; NULL only when out of memory */
char *report_authres(const struct verdict *v, const char *authserv_id);
char *report_compliance(const struct verdict *v, const char *authserv_id);
char *report_received_spf(const struct verdict *v, const char *authserv_id);
char *report_log_line(const struct verdict *v);
/*
 * The same record as one JSON object on one line (LogFormat json): the
 * fields of the statistics store (see statsdb.h) and of the text line,
 * after "time": when it was written, RFC 3339 UTC with milliseconds.
 */
char *report_log_json(const struct verdict *v);

/* The RFC5322.From domain (lower-case), "" if the message has not one. */
const char *report_from_domain(const struct verdict *v);
/* One-click unsubscribe: "pass", "fail" (List-Unsubscribe present but not
 * one-click per RFC 8058) or "none" (no List-Unsubscribe). */
const char *report_oneclick(const struct verdict *v);
/* "unknown", "yes", "no", "n/a" */
const char *report_tls_str(enum tls_state t);

/* Printable ASCII, single-line copy (control bytes become spaces, others '?'). */
void report_clean_text(char *dst, size_t dstlen, const char *src);

#endif
