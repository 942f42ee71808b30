/*
 * domain: name normalization and recovery; see domain.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>

#include "dnsname.h"
#include "domain.h"
#include "netaddr.h"


int
domain_normalize(const char *in, char *out, size_t outlen, char *why, size_t whylen)
{
	char buf[DOMAIN_MAX + 5];
	size_t n, i;
	unsigned char seen = 0;	/* the octets or'ed: >= 0x80 when one is not ASCII */

	if (outlen > 0)
		out[0] = '\0';
	if (in == NULL || *in == '\0') {
		snprintf(why, whylen, "empty domain name");
		return -1;
	}
	n = strnlen(in, 1024);
	if (n >= 1024) {
		snprintf(why, whylen, "domain name too long");
		return -1;
	}
	if (in[n - 1] == '.')
		n--;
	/* lower-cased as it is read (tolower's C locale, what an ASCII name
	 * needs); a name with another octet is converted over it below */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		seen |= c;
		if (i < sizeof(buf))
			buf[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	if (seen >= 0x80) {
		char *tmp, *a = NULL;
		int rc;

		if ((tmp = strndup(in, n)) == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		rc = idn2_to_ascii_8z(tmp, &a, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
		free(tmp);
		if (rc != IDN2_OK) {
			snprintf(why, whylen, "IDN conversion failed: %s", idn2_strerror(rc));
			return -1;
		}
		n = strlen(a);
		if (n >= sizeof(buf)) {
			idn2_free(a);
			snprintf(why, whylen, "domain name longer than %d octets", DOMAIN_MAX);
			return -1;
		}
		memcpy(buf, a, n + 1);
		idn2_free(a);
	} else {
		if (n >= sizeof(buf)) {
			snprintf(why, whylen, "domain name longer than %d octets", DOMAIN_MAX);
			return -1;
		}
		buf[n] = '\0';
	}
	if (dns_name_check(buf, n, DNS_NAME_HOST_LOWER, why, whylen) < 0)
		return -1;
	if (n >= outlen) {
		snprintf(why, whylen, "domain name too long for the buffer");
		return -1;
	}
	memcpy(out, buf, n + 1);
	return 0;
}

int
domain_name_or_literal(const char *in, char *out, size_t outlen)
{
	char inner[64], why[120];
	size_t n = in ? strlen(in) : 0;
	struct netaddr a;

	if (outlen > 0)
		out[0] = '\0';
	if (n >= 2 && in[0] == '[' && in[n - 1] == ']') {
		if (n - 2 >= sizeof(inner) || n >= outlen)
			return -1;
		memcpy(inner, in + 1, n - 2);
		inner[n - 2] = '\0';
		if (netaddr_parse(strncasecmp(inner, "ipv6:", 5) == 0 ? inner + 5 : inner, &a) < 0)
			return -1;
		memcpy(out, in, n + 1);
		return 0;
	}
	return n > 0 && domain_normalize(in, out, outlen, why, sizeof(why)) == 0 ? 0 : -1;
}

/* text as a person can read it in a reason: other octets as \xNN, at most ~60 shown */
static void
printable(const char *text, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < outlen; i++) {
		unsigned char c = (unsigned char)text[i];

		if (o >= 60) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\'' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	if (outlen > 0)
		out[o < outlen ? o : outlen - 1] = '\0';
}

/* Octets that can be part of a written name: LDH, '_', '.', and non-ASCII (U-labels). */
static int
name_octet(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c >= 0x80;
}

/* The longest prefix of s (at most n octets) that normalizes; its length, 0 if none. */
static size_t
longest_valid_prefix(const char *s, size_t n, char *out, size_t outlen)
{
	char cand[DOMAIN_RECOVER_SCAN + 1], why[120];

	for (size_t end = n; end > 0; end--) {
		size_t k = end;

		while (k > 0 && s[k - 1] == '.')
			k--;
		if (k == 0)
			return 0;
		memcpy(cand, s, k);
		cand[k] = '\0';
		if (domain_normalize(cand, out, outlen, why, sizeof(why)) == 0)
			return end;
	}
	return 0;
}

/* No name: out emptied, why is "'SHOWN' WHAT". */
static enum domain_recovery
none(char *out, size_t outlen, char *why, size_t whylen, const char *shown, const char *what)
{
	if (outlen > 0)
		out[0] = '\0';
	snprintf(why, whylen, "'%s' %s", shown, what);
	return DOMAIN_NONE;
}

enum domain_recovery
domain_recover(const char *text, size_t len, char *out, size_t outlen, char *why, size_t whylen)
{
	char shown[80], tmp[DOMAIN_RECOVER_SCAN + 1], nwhy[120];
	size_t run, used;

	if (outlen > 0)
		out[0] = '\0';
	why[0] = '\0';
	printable(text, len, shown, sizeof(shown));
	if (len > 0 && text[0] == '[') {
		const char *close = memchr(text, ']', len);
		size_t inner = close ? (size_t)(close - text) - 1 : 0;

		if (close == NULL || inner == 0 || inner > DOMAIN_MAX ||
		    memchr(text + 1, '\0', inner) != NULL)
			return none(out, outlen, why, whylen, shown, "is a domain literal that names no domain");
		memcpy(tmp, text + 1, inner);
		tmp[inner] = '\0';
		/* "[192.0.2.1]" or "[IPv6:...]" names an address, not a domain with a policy */
		if (strspn(tmp, "0123456789.") == inner || strchr(tmp, ':') != NULL ||
		    domain_normalize(tmp, out, outlen, nwhy, sizeof(nwhy)) < 0 || strchr(out, '.') == NULL)
			return none(out, outlen, why, whylen, shown, "is a domain literal that names no domain");
		snprintf(why, whylen, "'%s' is a domain literal; it names %s", shown, out);
		return DOMAIN_RECOVERED;
	}
	if (len > 0 && len <= DOMAIN_RECOVER_SCAN && memchr(text, '\0', len) == NULL) {
		memcpy(tmp, text, len);
		tmp[len] = '\0';
		if (tmp[len - 1] != '.' && domain_normalize(tmp, out, outlen, nwhy, sizeof(nwhy)) == 0)
			return DOMAIN_VALID;
	}
	for (run = 0; run < len && run < DOMAIN_RECOVER_SCAN && name_octet((unsigned char)text[run]); run++)
		;
	used = longest_valid_prefix(text, run, out, outlen);
	if (used == 0)
		return none(out, outlen, why, whylen, shown, "is not a domain name");
	/* what follows the name must not be able to continue it */
	for (size_t i = used; i < len; i++)
		if (isalnum((unsigned char)text[i]))
			return none(out, outlen, why, whylen, shown,
			    "is not a domain name, and no part of it is the one a reader sees");
	if (strchr(out, '.') == NULL)
		return none(out, outlen, why, whylen, shown, "is not a domain name (one label)");
	snprintf(why, whylen, "'%s' is not a domain name; read as %s", shown, out);
	return DOMAIN_RECOVERED;
}
