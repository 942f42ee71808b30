/*
 * authres: writes RFC 8601 Authentication-Results values (and fields in
 * the same resinfo syntax) and reads the authserv-id of incoming ones.
 *
 * A value is built as: authserv-id, then one resinfo per method, each on
 * its own folded line ("\n\t", as libmilter wants). Property values that
 * are neither RFC 2045 tokens nor a plain [local-part@]domain are quoted
 * (IPv6 addresses, user@[1.2.3.4], a header.b starting with '/'). Quoted
 * strings and comments escape '"', '\\' and parentheses and carry only
 * printable ASCII (other bytes become '?'). A value with no method gets
 * "; none" (RFC 8601 §2.2).
 */
#ifndef SC_AUTHRES_H
#define SC_AUTHRES_H

#include "sbuf.h"

struct authres {
	struct sbuf b;
	unsigned methods;
};

void authres_begin(struct authres *a, const char *authserv_id);
/* Starts a resinfo: "method=result". */
void authres_method(struct authres *a, const char *method, const char *result);
/* Adds reason="text" to the current resinfo. */
void authres_reason(struct authres *a, const char *text);
/* Adds " ptype.property=value", quoting value when needed. */
void authres_prop(struct authres *a, const char *ptype_property, const char *value);
/* Adds " ptype.property="value"", always quoted (e.g. header.b). */
void authres_prop_quoted(struct authres *a, const char *ptype_property, const char *value);
/* Adds " (text)", with parentheses and backslashes escaped. */
void authres_comment(struct authres *a, const char *text);
/* Finishes and hands over the value (malloc'd); a is reset. */
char *authres_end(struct authres *a);

/* Appends v as an RFC 5322 quoted-string ('"' and '\\' escaped, ASCII only). */
void authres_add_quoted(struct sbuf *b, const char *v);

/* 1 if v must be written as a quoted-string. */
int authres_needs_quoting(const char *v);

/*
 * The authserv-id of an incoming Authentication-Results value (comments and
 * white space skipped, surrounding quotes removed), malloc'd, or NULL if
 * there is none.
 */
char *authres_authserv_id(const char *value);

#endif
