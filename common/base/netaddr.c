#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "netaddr.h"

static const unsigned char v4mapped[12] = { 0,0,0,0, 0,0,0,0, 0,0,0xff,0xff };

int
netaddr_parse(const char *s, struct netaddr *out)
{
	char buf[64];
	size_t n;

	if (strncasecmp(s, "IPv6:", 5) == 0)
		s += 5;
	n = strlen(s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->a) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, out->a) != 1)
		return -1;
	out->family = AF_INET6;
	if (memcmp(out->a, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(out->a, out->a + 12, 4);
		memset(out->a + 4, 0, 12);
		out->family = AF_INET;
	}
	return 0;
}

void
netaddr_str(const struct netaddr *a, char *buf, size_t buflen)
{
	if (inet_ntop(a->family, a->a, buf, (socklen_t)buflen) == NULL && buflen > 0)
		buf[0] = '\0';
}

static int
bits_match(const unsigned char *x, const unsigned char *y, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(x, y, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (x[full] & mask) == (y[full] & mask);
}

int
cidr_parse(const char *s, struct cidr *out, char *why, size_t whylen)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned maxp;

	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(why, whylen, "'%s' is not an IP address or CIDR block", s);
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (netaddr_parse(addr, &out->net) < 0) {
		snprintf(why, whylen, "'%s' is not an IP address", addr);
		return -1;
	}
	maxp = out->net.family == AF_INET ? 32 : 128;
	out->prefix = maxp;
	if (slash != NULL) {
		char *end;
		unsigned long p = strtoul(slash + 1, &end, 10);

		if (slash[1] == '\0' || *end != '\0' || p > maxp) {
			snprintf(why, whylen, "'%s': prefix length must be 0..%u", s, maxp);
			return -1;
		}
		out->prefix = (unsigned)p;
		/* a mapped IPv6 prefix counts the 96 mapping bits */
		if (strchr(addr, ':') != NULL && out->net.family == AF_INET) {
			if (p < 96) {
				snprintf(why, whylen, "'%s': prefix too short for an IPv4-mapped address", s);
				return -1;
			}
			out->prefix = (unsigned)p - 96;
		}
	}
	struct netaddr masked = out->net;
	size_t nbytes = out->net.family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < nbytes; i++) {
		unsigned bit0 = (unsigned)i * 8;
		if (bit0 >= out->prefix)
			masked.a[i] = 0;
		else if (out->prefix - bit0 < 8)
			masked.a[i] &= (unsigned char)(0xff << (8 - (out->prefix - bit0)));
	}
	if (memcmp(&masked, &out->net, sizeof(masked)) != 0) {
		snprintf(why, whylen, "'%s' has host bits set past /%u", s, out->prefix);
		return -1;
	}
	return 0;
}

int
cidr_match(const struct cidr *c, const struct netaddr *a)
{
	return c->net.family == a->family && bits_match(c->net.a, a->a, c->prefix);
}

int
cidr_list_parse(const char *s, struct cidr_list *out, char *why, size_t whylen)
{
	char *copy = strdup(s), *save = NULL, *tok;
	struct cidr_list l = { 0, NULL };

	if (copy == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL; tok = strtok_r(NULL, " \t,", &save)) {
		struct cidr c, *nv;

		if (strcasecmp(tok, "none") == 0 && l.n == 0)
			continue;
		if (cidr_parse(tok, &c, why, whylen) < 0)
			goto fail;
		nv = realloc(l.v, (l.n + 1) * sizeof(*nv));
		if (nv == NULL) {
			snprintf(why, whylen, "out of memory");
			goto fail;
		}
		l.v = nv;
		l.v[l.n++] = c;
	}
	free(copy);
	*out = l;
	return 0;
fail:
	free(copy);
	free(l.v);
	return -1;
}

int
cidr_list_match(const struct cidr_list *l, const struct netaddr *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (cidr_match(&l->v[i], a))
			return 1;
	return 0;
}

void
cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
inet_spec_parse(const char *spec, struct inet_spec *out, char *why, size_t whylen)
{
	const char *p, *at;
	size_t digits, hostlen;
	unsigned long port = 0;

	memset(out, 0, sizeof(*out));
	if (strncmp(spec, "inet:", 5) == 0)
		p = spec + 5;
	else if (strncmp(spec, "inet6:", 6) == 0) {
		p = spec + 6;
		out->six = 1;
	} else
		return snprintf(why, whylen, "'%s': expected inet:PORT@HOST or inet6:PORT@HOST", spec), -1;
	for (digits = 0; p[digits] >= '0' && p[digits] <= '9' && digits < 6; digits++)
		port = port * 10 + (unsigned long)(p[digits] - '0');
	at = p + digits;
	if (digits == 0 || digits > 5 || port == 0 || port > 65535 || (*at != '\0' && *at != '@'))
		return snprintf(why, whylen, "'%s': expected inet:PORT@HOST with PORT 1..65535", spec), -1;
	memcpy(out->port, p, digits);
	if (*at == '\0')
		return 0;
	p = at + 1;
	hostlen = strlen(p);
	if (hostlen >= 2 && p[0] == '[' && p[hostlen - 1] == ']') {
		p++;
		hostlen -= 2;
	}
	if (hostlen == 0)
		return snprintf(why, whylen, "'%s': empty host after '@'", spec), -1;
	if (hostlen >= sizeof(out->host))
		return snprintf(why, whylen, "'%s': host longer than %zu characters", spec, sizeof(out->host) - 1), -1;
	memcpy(out->host, p, hostlen);
	return 0;
}
