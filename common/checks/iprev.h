/*
 * iprev: the "iprev" check of RFC 8601 §3 (forward-confirmed reverse DNS,
 * FCrDNS) for the SMTP client address.
 *
 * What it promises: the PTR records of the client address are looked up
 * (dns_reverse_name), then the address records of each PTR name, A for an
 * IPv4 client and AAAA for an IPv6 one (an IPv4-mapped IPv6 client,
 * ::ffff:a.b.c.d, is an IPv4 client), for at most IPREV_MAX_NAMES names in
 * answer order. Results (RFC 8601 §2.7.3):
 *   pass       one PTR name resolves back to the client address
 *              (even if another name met DNS trouble);
 *   fail       the lookups completed, no name maps back;
 *   temperror  no name maps back and a lookup met DNS trouble (SERVFAIL,
 *              refused, timeout), for the PTR or a forward name;
 *   permerror  no PTR (NXDOMAIN or NODATA), a malformed PTR answer
 *              (DNS_ERROR), or a client address that does not parse.
 * A PTR name that is not a usable DNS name (escaped bytes, too long) is
 * tried and counts as not mapping back.
 *
 * Threads: no shared state; every lookup goes through the caller's
 * dns_ctx. Errors are values with a reason; nothing here exits or aborts.
 */
#ifndef SC_IPREV_H
#define SC_IPREV_H

#include <stddef.h>

#include "dns.h"

#define IPREV_MAX_NAMES	10

enum iprev_res {
	IPREV_RES_PASS = 0,
	IPREV_RES_FAIL,
	IPREV_RES_TEMPERROR,
	IPREV_RES_PERMERROR,
	IPREV_RES_COUNT
};

/* "pass", "fail", "temperror", "permerror" */
const char *iprev_res_str(enum iprev_res r);

struct iprev_outcome {
	enum iprev_res result;
	char ip[64];		/* the client address checked (IPv4 for mapped) */
	char name[256];		/* the verified name on pass, else "" */
	size_t n_ptr;		/* PTR records in the answer */
	size_t n_names;		/* names tried (<= IPREV_MAX_NAMES) */
	char names[IPREV_MAX_NAMES][256];	/* the names tried, in order */
	char why[256];
};

/* Fills *out and returns out->result. ip: IPv4, IPv6 or IPv4-mapped IPv6 text. */
enum iprev_res iprev_check(struct dns_ctx *dns, const char *ip,
    struct iprev_outcome *out);

#endif
