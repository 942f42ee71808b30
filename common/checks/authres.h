/*
 * authres: writes RFC 8601 Authentication-Results values (and fields in
 * the same resinfo syntax) and recognises incoming ones that claim to be
 * ours.
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
/* Adds reason="text" to the current resinfo ('"' in text become "'"). */
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
 * Whether an incoming Authentication-Results (or compliance) value could be
 * read, by any reasonable parser, as carrying authserv_id: the words
 * before the first ';' (outside and inside quotes and comments) are read
 * several ways - white space only separating; control bytes and octets
 * over 127 separating, or dropped; every non-token octet separating; all
 * but letters, digits, '.', '-' and '_' dropped - and each word, with
 * quotes, backslashes and trailing dots dropped, is compared case-
 * insensitively; "mx.example 1" (a version) matches too. When in doubt it
 * says yes: a removed foreign field loses a note, a kept forged one lets
 * a sender claim a pass. len octets of value are read (NUL included).
 */
int authres_claims_id(const char *value, size_t len, const char *authserv_id);

/*
 * Reading what another host wrote (an ARC-Authentication-Results' results,
 * RFC 8601 2.2 resinfo): "method[/version]=result [reason=...] [ptype.
 * property=value ...]", resinfos separated by ';', comments and folding
 * white space anywhere between tokens. Methods and results are tokens,
 * lower-cased; values are tokens, [local-part]@domain or quoted strings
 * (unquoted). A resinfo that does not parse ends the reading: what was read
 * before it is kept, nothing after it is believed. Bounded: at most max
 * results, AUTHRES_MAX_PROPS properties each, every text cut to its field
 * (a cut value is dropped, never kept truncated). Returns the number read.
 */
#define AUTHRES_MAX_PROPS 8

struct authres_prop {
	char name[48];		/* "ptype.property", lower-case */
	char value[256];
};

struct authres_result {
	char method[32];
	char result[32];
	size_t n_props;
	struct authres_prop props[AUTHRES_MAX_PROPS];
};

size_t authres_read_results(const char *text, size_t len, struct authres_result *out,
    size_t max);
/* The value of a property ("header.from"), NULL if the result has none. */
const char *authres_result_prop(const struct authres_result *r, const char *name);

#endif
