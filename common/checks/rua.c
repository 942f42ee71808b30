/* rua: report destinations of a DMARC record's rua= tag (see rua.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dnsname.h"
#include "rua.h"

static void
skip(struct rua_list *out, const char *reason, const char *u, size_t n)
{
	char shown[64];
	size_t i, k = 0;

	out->n_skipped++;
	if (out->why[0])
		return;
	/* the URI as a person can read it: printable bytes only, bounded */
	for (i = 0; i < n && k + 4 < sizeof(shown); i++)
		shown[k++] = (u[i] > ' ' && u[i] < 0x7f) ? u[i] : '?';
	if (i < n) {
		memcpy(shown + k, "...", 3);
		k += 3;
	}
	shown[k] = '\0';
	snprintf(out->why, sizeof(out->why), "%s: %s", shown, reason);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "!size": digits and an optional unit; 0 when malformed or too large. */
static unsigned long long
parse_size(const char *s, size_t n, int *ok)
{
	unsigned long long v = 0, mult = 1;
	size_t i;

	*ok = 0;
	if (n > 0) {
		switch (s[n - 1]) {
		case 'k': case 'K': mult = 1ULL << 10; n--; break;
		case 'm': case 'M': mult = 1ULL << 20; n--; break;
		case 'g': case 'G': mult = 1ULL << 30; n--; break;
		case 't': case 'T': mult = 1ULL << 40; n--; break;
		default: break;
		}
	}
	if (n == 0 || n > 15)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0)
		return 0;
	*ok = 1;
	/* 15 digits times 2^40 overflows: such a limit means "no limit" */
	return v > (~0ULL) / mult ? ~0ULL : v * mult;
}

static int
local_char_ok(unsigned char c)
{
	return c > ' ' && c < 0x7f && !strchr("\"<>(),;:@[]\\", c);
}

/* Decodes and checks "local@domain" of a mailto: URI into d. */
static const char *
take_address(const char *s, size_t n, struct rua_dest *d)
{
	char buf[RUA_ADDR_MAX + 1];
	size_t i, k = 0, at = 0;
	int n_at = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '?')
			break;	/* hfields: not used */
		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
				return "a bad percent escape";
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '@') {
			n_at++;
			at = k;
		} else if (!local_char_ok(c)) {
			return "a character not allowed in a report address";
		}
		if (k >= RUA_ADDR_MAX)
			return "the address is too long";
		buf[k++] = (char)c;
	}
	buf[k] = '\0';
	if (n_at != 1 || at == 0 || at + 1 >= k)
		return "not one local@domain address";
	if (at > RUA_LOCAL_MAX)
		return "the local part is too long";
	if (buf[0] == '-' || buf[0] == '.' || buf[at - 1] == '.')
		return "the local part begins or ends badly";
	for (i = at + 1; i < k; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
	if (buf[k - 1] == '.')
		buf[--k] = '\0';
	if (dns_name_check(buf + at + 1, k - at - 1, DNS_NAME_HOST_LOWER | DNS_NAME_MULTI_LABEL,
	    NULL, 0) != 0)
		return "the domain is not a valid host name";
	memcpy(d->addr, buf, k + 1);
	d->domain = d->addr + at + 1;
	return NULL;
}

const char *
rua_address(const char *addr, struct rua_dest *out)
{
	memset(out, 0, sizeof(*out));
	if (strchr(addr, '%') || strchr(addr, '?'))
		return "a character not allowed in a report address";
	return take_address(addr, strlen(addr), out);
}

static void
add_uri(const char *u, size_t n, struct rua_list *out)
{
	struct rua_dest d;
	const char *bang, *why;
	unsigned long long size = 0;
	size_t i, addr_len;

	while (n > 0 && (u[n - 1] == ' ' || u[n - 1] == '\t'))
		n--;
	while (n > 0 && (u[0] == ' ' || u[0] == '\t')) {
		u++;
		n--;
	}
	if (n == 0)
		return;		/* "a,,b" or a trailing comma: nothing there */
	if (n < 7 || strncasecmp(u, "mailto:", 7) != 0) {
		skip(out, "not a mailto: URI", u, n);
		return;
	}
	bang = memchr(u, '!', n);
	addr_len = bang ? (size_t)(bang - u) : n;
	if (bang) {
		int ok;

		size = parse_size(bang + 1, n - addr_len - 1, &ok);
		if (!ok) {
			skip(out, "a bad !size", u, n);
			return;
		}
	}
	memset(&d, 0, sizeof(d));
	if ((why = take_address(u + 7, addr_len - 7, &d)) != NULL) {
		skip(out, why, u, n);
		return;
	}
	d.max_size = size;
	for (i = 0; i < out->n; i++) {
		struct rua_dest *o = &out->dest[i];

		if (strcmp(o->addr, d.addr) == 0) {
			if (d.max_size && (!o->max_size || d.max_size < o->max_size))
				o->max_size = d.max_size;
			return;
		}
	}
	if (out->n == RUA_MAX_DESTS) {
		skip(out, "more destinations than are served", u, n);
		return;
	}
	out->dest[out->n] = d;
	out->dest[out->n].domain = out->dest[out->n].addr + (d.domain - d.addr);
	out->n++;
}

size_t
rua_parse(const char *value, size_t len, struct rua_list *out)
{
	size_t s = 0, i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i <= len; i++) {
		if (i == len || value[i] == ',') {
			add_uri(value + s, i - s, out);
			s = i + 1;
		}
	}
	return out->n;
}
