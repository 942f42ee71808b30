/* Unit tests of dnsname.c, the one DNS name check: every kind and flag,
 * the limits at their edges, and each reason. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dnsname.h"

/* "" when name is one of kind, else the reason */
static const char *
check(const char *name, unsigned kind)
{
	static char why[120];

	why[0] = '\0';
	if (dns_name_check(name, strlen(name), kind, why, sizeof(why)) == 0)
		return "";
	assert_false(dns_name_ok(name, kind));
	return why;
}

static void
test_structure(void **state)
{
	char label64[80], long254[300];

	(void)state;
	memset(label64, 'a', 64);
	label64[64] = '\0';
	assert_string_equal(check(label64, DNS_NAME_ANY), "label longer than 63 octets");
	label64[63] = '\0';
	assert_string_equal(check(label64, DNS_NAME_HOST), "");
	/* 253 octets in all; a final dot is not counted */
	for (int i = 0; i < 254; i++)
		long254[i] = i % 2 ? '.' : 'a';
	long254[253] = '\0';
	assert_string_equal(check(long254, DNS_NAME_HOST), "");
	long254[253] = 'a';
	long254[254] = '\0';
	assert_string_equal(check(long254, DNS_NAME_HOST), "name longer than 253 octets");
	long254[253] = '.';
	assert_string_equal(check(long254, DNS_NAME_HOST | DNS_NAME_FINAL_DOT), "");
	assert_string_equal(check("", DNS_NAME_ANY), "empty name");
	assert_string_equal(check(".", DNS_NAME_ANY | DNS_NAME_FINAL_DOT), "empty name");
	assert_string_equal(check("a..b", DNS_NAME_ANY), "empty label in name");
	assert_string_equal(check(".a", DNS_NAME_ANY), "empty label in name");
	assert_string_equal(check("a.", DNS_NAME_ANY), "empty label in name");
	assert_string_equal(check("a.", DNS_NAME_ANY | DNS_NAME_FINAL_DOT), "");
	assert_string_equal(check("a..", DNS_NAME_ANY | DNS_NAME_FINAL_DOT), "empty label in name");
	assert_string_equal(check("a", DNS_NAME_ANY | DNS_NAME_MULTI_LABEL), "a single label");
	assert_string_equal(check("a.", DNS_NAME_ANY | DNS_NAME_FINAL_DOT | DNS_NAME_MULTI_LABEL),
	    "a single label");
	assert_string_equal(check("a.b", DNS_NAME_ANY | DNS_NAME_MULTI_LABEL), "");
	assert_false(dns_name_ok(NULL, DNS_NAME_ANY));
}

static void
test_kinds(void **state)
{
	(void)state;
	/* any octet but NUL */
	assert_string_equal(check("a b\\c\x01.\xff", DNS_NAME_ANY), "");
	/* what the resolver sends unescaped */
	assert_string_equal(check("_dmarc.ex-ample.com", DNS_NAME_PRINTABLE), "");
	assert_string_equal(check("a*b!.c", DNS_NAME_PRINTABLE), "");
	assert_string_equal(check("a b", DNS_NAME_PRINTABLE), "bad character 0x20 in name");
	assert_string_equal(check("a\\.b", DNS_NAME_PRINTABLE), "bad character 0x5c in name");
	assert_string_equal(check("a\tb", DNS_NAME_PRINTABLE), "bad character 0x09 in name");
	assert_string_equal(check("a\x7f", DNS_NAME_PRINTABLE), "bad character 0x7f in name");
	assert_string_equal(check("caf\xc3\xa9", DNS_NAME_PRINTABLE), "");
	/* host names */
	assert_string_equal(check("S1._domainkey.Ex-Ample_1.com", DNS_NAME_HOST), "");
	assert_string_equal(check("a*b", DNS_NAME_HOST), "bad character 0x2a in name");
	assert_string_equal(check("caf\xc3\xa9", DNS_NAME_HOST), "bad character 0xc3 in name");
	assert_string_equal(check("ex-ample_1.com", DNS_NAME_HOST_LOWER), "");
	assert_string_equal(check("Example.com", DNS_NAME_HOST_LOWER), "bad character 0x45 in name");
	assert_string_equal(check("caf\xc3\xa9.Example", DNS_NAME_HOST_UTF8), "");
	assert_string_equal(check("caf\xc3\xa9 x", DNS_NAME_HOST_UTF8), "bad character 0x20 in name");
}

/* Every octet in the middle of a label, for every kind, as dnsname.h
 * describes the kinds (the table behind them is checked whole). */
static void
test_every_octet(void **state)
{
	(void)state;
	for (unsigned c = 1; c < 256; c++) {
		char name[4] = { 'a', (char)c, 'b', '\0' };
		int lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
		int host = lower || (c >= 'A' && c <= 'Z');
		int want[] = {
			[DNS_NAME_ANY] = 1,
			[DNS_NAME_PRINTABLE] = c > ' ' && c != 0x7f && c != '\\',
			[DNS_NAME_HOST] = host,
			[DNS_NAME_HOST_LOWER] = lower,
			[DNS_NAME_HOST_UTF8] = host || c >= 0x80,
		};

		if (c == '.')
			continue;	/* a label separator, tested above */
		for (unsigned k = DNS_NAME_ANY; k <= DNS_NAME_HOST_UTF8; k++)
			if ((dns_name_check(name, 3, k, NULL, 0) == 0) != want[k])
				fail_msg("octet 0x%02x, kind %u: %s", c, k, want[k] ? "refused" : "allowed");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_every_octet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
