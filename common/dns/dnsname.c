/*
 * dnsname: DNS name syntax; see dnsname.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "dnsname.h"

static int
allowed(unsigned char c, unsigned kind)
{
	int host = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';

	switch ((enum dns_name_kind)(kind & 0xff)) {
	case DNS_NAME_ANY:		return c != '\0';
	case DNS_NAME_PRINTABLE:	return c > ' ' && c != 0x7f && c != '\\';
	case DNS_NAME_HOST_LOWER:	return host;
	case DNS_NAME_HOST:		return host || (c >= 'A' && c <= 'Z');
	case DNS_NAME_HOST_UTF8:	return host || (c >= 'A' && c <= 'Z') || c >= 0x80;
	}
	return 0;
}

static int
bad(char *why, size_t whylen, const char *text)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", text);
	return -1;
}

int
dns_name_check(const char *name, size_t len, unsigned kind, char *why, size_t whylen)
{
	size_t label = 0, labels = 0;

	if ((kind & DNS_NAME_FINAL_DOT) && len > 1 && name[len - 1] == '.')
		len--;
	if (len == 0 || (len == 1 && name[0] == '.' && (kind & DNS_NAME_FINAL_DOT)))
		return bad(why, whylen, "empty name");
	if (len > DNS_NAME_MAX)
		return bad(why, whylen, "name longer than 253 octets");
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)name[i] : '.';

		if (c == '.') {
			if (label == 0)
				return bad(why, whylen, "empty label in name");
			labels++;
			label = 0;
		} else if (!allowed(c, kind)) {
			if (why != NULL && whylen > 0)
				snprintf(why, whylen, "bad character 0x%02x in name", c);
			return -1;
		} else if (++label > 63) {
			return bad(why, whylen, "label longer than 63 octets");
		}
	}
	if ((kind & DNS_NAME_MULTI_LABEL) && labels < 2)
		return bad(why, whylen, "a single label");
	return 0;
}

int
dns_name_ok(const char *name, unsigned kind)
{
	return name != NULL && dns_name_check(name, strlen(name), kind, NULL, 0) == 0;
}
