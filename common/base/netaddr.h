/*
 * netaddr: IP addresses and CIDR lists from text (config, milter macros).
 *
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are normalised to IPv4 so
 * that one rule matches a client however the MTA wrote it.
 */
#ifndef SC_NETADDR_H
#define SC_NETADDR_H

#include <stddef.h>

struct netaddr {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char a[16];		/* 4 or 16 bytes used */
};

struct cidr {
	struct netaddr net;
	unsigned prefix;
};

struct cidr_list {
	size_t n;
	struct cidr *v;
};

/* Accepts "1.2.3.4", "2001:db8::1", "::ffff:1.2.3.4", "[2001:db8::1]", "IPv6:..." */
int netaddr_parse(const char *s, struct netaddr *out);
/* Canonical text form (IPv4 for mapped addresses). */
void netaddr_str(const struct netaddr *a, char *buf, size_t buflen);

/* "ADDR" or "ADDR/LEN"; the address part must have no bits past LEN. */
int cidr_parse(const char *s, struct cidr *out, char *why, size_t whylen);
int cidr_match(const struct cidr *c, const struct netaddr *a);

/* Space- or comma-separated list; "none" or "" gives an empty list. */
int cidr_list_parse(const char *s, struct cidr_list *out, char *why, size_t whylen);
int cidr_list_match(const struct cidr_list *l, const struct netaddr *a);
void cidr_list_free(struct cidr_list *l);

/*
 * A TCP socket as libmilter and Postfix write it: "inet:PORT@HOST" or
 * "inet6:PORT@HOST", PORT 1..65535, HOST a name or an address ("[::1]" as
 * well as "::1"); without "@HOST" the host is "" (any address). 0, or -1
 * with a reason that quotes spec.
 */
struct inet_spec {
	int six;		/* inet6: */
	char port[6];		/* decimal, no leading sign or space */
	char host[256];		/* without the brackets */
};
int inet_spec_parse(const char *spec, struct inet_spec *out, char *why, size_t whylen);

#endif
