/*
 * iprev: forward-confirmed reverse DNS behind iprev.h.
 *
 * Invariants: the client address is parsed once with inet_pton into a
 * fixed buffer (4 or 16 bytes) and compared byte for byte with the A/AAAA
 * data of the answers; PTR names are copied into fixed fields with their
 * length checked; at most IPREV_MAX_NAMES forward lookups per check.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "iprev.h"
#include "sbuf.h"

const char *
iprev_res_str(enum iprev_res r)
{
	static const char *const names[IPREV_RES_COUNT] = {
		"pass", "fail", "temperror", "permerror",
	};

	return (unsigned)r < IPREV_RES_COUNT ? names[r] : "permerror";
}

struct client {
	int v6;
	unsigned char a[16];
	size_t alen;
	char text[64];
};

/* Parses ip; an IPv4-mapped IPv6 address becomes IPv4. 0 or -1. */
static int
parse_client(const char *ip, struct client *c)
{
	unsigned char a6[16];

	memset(c, 0, sizeof(*c));
	if (ip == NULL)
		return -1;
	if (inet_pton(AF_INET, ip, c->a) == 1) {
		c->alen = 4;
	} else if (inet_pton(AF_INET6, ip, a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a6)) {
			memcpy(c->a, a6 + 12, 4);
			c->alen = 4;
		} else {
			memcpy(c->a, a6, 16);
			c->alen = 16;
			c->v6 = 1;
		}
	} else
		return -1;
	inet_ntop(c->v6 ? AF_INET6 : AF_INET, c->a, c->text, sizeof(c->text));
	return 0;
}

static int
dns_trouble(enum dns_status st)
{
	return dns_status_temporary(st);
}

/* Whether name has an A/AAAA record equal to the client: 1, 0, or -1 on DNS trouble. */
static int
maps_back(struct dns_ctx *dns, const char *name, const struct client *c,
    char *why, size_t whylen)
{
	struct dns_result res;
	size_t i;
	int found = 0;

	dns_query(dns, name, c->v6 ? DNS_T_AAAA : DNS_T_A, &res);
	if (dns_trouble(res.status)) {
		str_format(why, whylen, "%s %s for %s: %s", c->v6 ? "AAAA" : "A",
		    dns_status_str(res.status), name, res.why);
		dns_result_free(&res);
		return -1;
	}
	for (i = 0; res.status == DNS_OK && i < res.n; i++)
		if (res.rr[i].len == c->alen && memcmp(res.rr[i].data, c->a, c->alen) == 0)
			found = 1;
	dns_result_free(&res);
	return found;
}

enum iprev_res
iprev_check(struct dns_ctx *dns, const char *ip, struct iprev_outcome *out)
{
	struct client c;
	struct dns_result ptr;
	char rev[128], twhy[200] = "";
	size_t i;
	int temp = 0, m;

	memset(out, 0, sizeof(*out));
	if (parse_client(ip, &c) < 0 || dns_reverse_name(c.text, rev, sizeof(rev)) < 0) {
		str_format(out->why, sizeof(out->why), "client address \"%.64s\" does not parse",
		    ip ? ip : "");
		return out->result = IPREV_RES_PERMERROR;
	}
	str_format(out->ip, sizeof(out->ip), "%s", c.text);
	dns_query(dns, rev, DNS_T_PTR, &ptr);
	switch (ptr.status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		str_format(out->why, sizeof(out->why), "no PTR record for %s (%s)", c.text,
		    dns_status_str(ptr.status));
		dns_result_free(&ptr);
		return out->result = IPREV_RES_PERMERROR;
	case DNS_SERVFAIL:
	case DNS_TIMEOUT:
	case DNS_ERROR:
		str_format(out->why, sizeof(out->why), "PTR lookup for %s: %s (%s)", c.text,
		    dns_status_str(ptr.status), ptr.why);
		dns_result_free(&ptr);
		return out->result = IPREV_RES_TEMPERROR;
	default:
		str_format(out->why, sizeof(out->why), "PTR lookup for %s: %s (%s)", c.text,
		    dns_status_str(ptr.status), ptr.why);
		dns_result_free(&ptr);
		return out->result = IPREV_RES_PERMERROR;
	}
	out->n_ptr = ptr.n;
	for (i = 0; i < ptr.n && out->n_names < IPREV_MAX_NAMES; i++) {
		const char *name = (const char *)ptr.rr[i].data;
		char *slot = out->names[out->n_names];

		if (ptr.rr[i].len >= sizeof(out->names[0]))
			continue;	/* cannot be a DNS name */
		memcpy(slot, name, ptr.rr[i].len);
		slot[ptr.rr[i].len] = '\0';
		out->n_names++;
		/* a name dns_query refuses (escapes, bad labels) gives
		 * DNS_BADNAME: it does not map back */
		m = maps_back(dns, slot, &c, twhy, sizeof(twhy));
		if (m > 0) {
			str_format(out->name, sizeof(out->name), "%s", slot);
			str_format(out->why, sizeof(out->why), "%s has PTR %s, which resolves back",
			    c.text, slot);
			dns_result_free(&ptr);
			return out->result = IPREV_RES_PASS;
		}
		if (m < 0)
			temp = 1;
	}
	dns_result_free(&ptr);
	if (temp) {
		str_format(out->why, sizeof(out->why), "no PTR name of %s confirmed; %s",
		    c.text, twhy);
		return out->result = IPREV_RES_TEMPERROR;
	}
	str_format(out->why, sizeof(out->why), "no PTR name of %s resolves back to it (", c.text);
	for (i = 0; i < out->n_names; i++) {
		size_t used = strlen(out->why);

		str_format(out->why + used, sizeof(out->why) - used, "%s%s", i ? ", " : "",
		    out->names[i]);
	}
	if (out->n_ptr > out->n_names) {
		size_t used = strlen(out->why);

		str_format(out->why + used, sizeof(out->why) - used, "; %zu of %zu PTR names tried",
		    out->n_names, out->n_ptr);
	}
	{
		size_t used = strlen(out->why);

		str_format(out->why + used, sizeof(out->why) - used, ")");
	}
	return out->result = IPREV_RES_FAIL;
}
