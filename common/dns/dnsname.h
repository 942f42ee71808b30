/*
 * dnsname: the one answer to "is this a DNS name?", for everything that
 * looks a name up or writes one: the resolver, SPF targets, DKIM key
 * names, DMARC's normalized domains, A-R values, sendercheck-test's
 * arguments.
 *
 * A name is labels of 1..63 octets separated by dots, 253 octets in all
 * (RFC 1035 2.3.4; a final dot, where allowed, is not counted). Which
 * octets a label may hold is the caller's kind:
 *   DNS_NAME_ANY        any octet but NUL (RFC 2181 section 11)
 *   DNS_NAME_PRINTABLE  no control octet, space, DEL or backslash (what
 *                       the resolver sends unescaped)
 *   DNS_NAME_HOST       letters, digits, '-' and '_' (host names and the
 *                       underscore names of SPF, DKIM and DMARC)
 *   DNS_NAME_HOST_LOWER the same in lower case only (normalized names)
 *   DNS_NAME_HOST_UTF8  host octets, or octets over 127 (U-labels before
 *                       IDNA conversion)
 * with flags: DNS_NAME_FINAL_DOT (a trailing dot is allowed),
 * DNS_NAME_MULTI_LABEL (at least two labels).
 *
 * Errors are values: -1 with a reason ("empty name", "empty label in
 * name", "label longer than 63 octets", "name longer than 253 octets",
 * "bad character 0xNN in name", "a single label").
 */
#ifndef SC_DNSNAME_H
#define SC_DNSNAME_H

#include <stddef.h>

#define DNS_NAME_MAX 253

enum dns_name_kind {
	DNS_NAME_ANY = 0, DNS_NAME_PRINTABLE, DNS_NAME_HOST, DNS_NAME_HOST_LOWER, DNS_NAME_HOST_UTF8
};
#define DNS_NAME_FINAL_DOT	0x100
#define DNS_NAME_MULTI_LABEL	0x200

/* Checks name (len octets); kind is an enum dns_name_kind ORed with flags.
 * 0, or -1 with why (why may be NULL). */
int dns_name_check(const char *name, size_t len, unsigned kind, char *why, size_t whylen);
/* The same for a NUL-terminated name; 1 if it is one, 0 if not. */
int dns_name_ok(const char *name, unsigned kind);

#endif
