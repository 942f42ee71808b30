/*
 * rua: the report destinations of a DMARC record's rua= tag (RFC 9989
 * section 4.7, RFC 9990 section 2), text a sender publishes in its own DNS.
 *
 * The value is a comma-separated list of URIs, each optionally followed by
 * "!" and a size limit (digits and one of k, m, g, t: powers of 1024).
 * Only mailto: URIs are destinations (RFC 9990 defines no other way to
 * deliver); other schemes are counted and skipped. A mailto: address is
 * percent-decoded and then accepted only as a plain local@domain: the
 * local part of printable ASCII without space, quotes, angle brackets,
 * commas, '@', '\\' or a leading '-'; the domain a valid DNS name, kept in
 * lower case. So an accepted address can go into an SMTP command, a header
 * field and a sendmail argument as it is. "?hfields" are ignored. A URI
 * that is not acceptable is skipped with a reason (the first one kept);
 * duplicates (same address) are kept once, with the smaller limit. At most
 * RUA_MAX_DESTS destinations are kept (RFC 9990 allows a receiver to
 * limit them to no fewer than two); the rest are counted.
 */
#ifndef SC_RUA_H
#define SC_RUA_H

#include <stddef.h>

#define RUA_MAX_DESTS	4
#define RUA_ADDR_MAX	254	/* local@domain, as in SMTP (RFC 5321 4.5.3.1.3) */
#define RUA_LOCAL_MAX	64

struct rua_dest {
	char addr[RUA_ADDR_MAX + 1];	/* local@domain, domain in lower case */
	const char *domain;		/* points into addr, after the '@' */
	unsigned long long max_size;	/* bytes; 0 = no limit given */
};

struct rua_list {
	struct rua_dest dest[RUA_MAX_DESTS];
	size_t n;
	unsigned n_skipped;	/* URIs not used (bad, other scheme, over the limit) */
	char why[200];		/* the first reason a URI was skipped, "" if none */
};

/* Checks one plain address (no percent escapes) by the same rules into
 * *out: NULL, or the reason it is not acceptable. For configured
 * addresses (ReportSender, ReportCopyTo). */
const char *rua_address(const char *addr, struct rua_dest *out);

/* Parses value (len bytes, any bytes) into out. Returns out->n. */
size_t rua_parse(const char *value, size_t len, struct rua_list *out);

#endif
