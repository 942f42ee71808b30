/*
 * report: a verdict written out for people and programs: the
 * Authentication-Results value (RFC 8601), the compliance field in the
 * same resinfo syntax, the Received-SPF field (RFC 7208 §9.1), the
 * one-line log record of the message, sendercheck-test's report and the
 * JSON record. Every one but Received-SPF walks the field table
 * (fields.h): which fields appear, and how, is said there. Header values
 * are printable ASCII folded with "\n\t" as libmilter wants.
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
/* sendercheck-test's report: each check, the verdicts, the action, the
 * fields; key: only the field of that name (NULL: all). */
char *report_text(const struct verdict *v, const char *key);
/*
 * The JSON record, one object on one line, in the one shape of
 * VERDICT_JSON_VERSION (README: "The JSON record"): full is
 * sendercheck-test's (every field), else the summary that LogFormat json
 * logs (the VO_JSON fields).
 */
char *report_json(const struct verdict *v, int full);
/* Every field of the JSON record, one line each: path, type, where, meaning. */
char *report_fields(void);
/* The field named key into the object j has open (inner: a group's fields only). */
struct json;
void report_json_key(struct json *j, const struct verdict *v, const char *key, int inner, int full);

/* Printable ASCII, single-line copy (control bytes become spaces, others '?');
 * returns its length. */
size_t report_clean_text(char *dst, size_t dstlen, const char *src);

#endif
