/*
 * dnsname: DNS name syntax; see dnsname.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "dnsname.h"

/*
 * The kinds each octet may stand in, one bit per kind (kind_bit): HOST_LOWER
 * 1 (a-z 0-9 - _), HOST 2 (and A-Z), HOST_UTF8 4 (and 0x80-0xff),
 * PRINTABLE 8 (0x21-0xff but DEL and backslash), ANY 16 (all but NUL).
 */
static const unsigned char octet_kinds[256] = {
	 0, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
	16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
	16, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 31, 24, 24,
	31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 24, 24, 24, 24, 24, 24,
	24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
	30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 24, 16, 24, 24, 31,
	24, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31,
	31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 24, 24, 24, 24, 16,
	28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
	28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
	28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
	28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
	28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
	28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
	28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
	28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
};

static unsigned
kind_bit(unsigned kind)
{
	switch ((enum dns_name_kind)(kind & 0xff)) {
	case DNS_NAME_ANY:		return 16;
	case DNS_NAME_PRINTABLE:	return 8;
	case DNS_NAME_HOST_LOWER:	return 1;
	case DNS_NAME_HOST:		return 2;
	case DNS_NAME_HOST_UTF8:	return 4;
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
	unsigned bit = kind_bit(kind);

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
		} else if (!(octet_kinds[c] & bit)) {
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
