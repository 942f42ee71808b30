/*
 * Unit tests of common/checks/dkimkey.c: which DKIM-Signature fields give
 * a key name to ask for early, and which give none.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dkimkey.h"

static const char *
name_of(const char *v)
{
	static char out[300];

	if (dkim_key_name(v, strlen(v), out, sizeof(out)) < 0)
		return NULL;
	return out;
}

static void
test_key_names(void **state)
{
	(void)state;
	assert_string_equal(name_of("v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=x; b=y"),
	    "sel._domainkey.example.com");
	/* folding white space around tags and inside values, any tag order */
	assert_string_equal(name_of(" b=y;\r\n\th=from:to ; s = 2026.a_b ;\r\n d=Ex-1.example.org ;"
	    " bh=x; a=ed25519-sha256; v = 1 ; q=dns/txt; c=relaxed"),
	    "2026.a_b._domainkey.Ex-1.example.org");
	assert_string_equal(name_of("v=1;a=x;d=e.com;s=s;h=f;bh=x;b=y;"), "s._domainkey.e.com");
}

static void
test_no_key_name(void **state)
{
	static const char *const bad[] = {
		"",
		"a=rsa-sha256; d=example.com; s=sel; h=from; bh=x; b=y",	/* no v= */
		"v=2; a=rsa-sha256; d=example.com; s=sel; h=from; bh=x; b=y",
		"v=1; a=rsa-sha256; d=example.com; h=from; bh=x; b=y",		/* no s= */
		"v=1; a=rsa-sha256; s=sel; h=from; bh=x; b=y",			/* no d= */
		"v=1; d=example.com; s=sel; h=from; bh=x; b=y",			/* no a= */
		"v=1; a=rsa-sha256; d=example.com; s=sel; h=from; b=y",		/* no bh= */
		"v=1; a=x; d=example.com; d=other.com; s=sel; h=from; bh=x; b=y",	/* twice */
		"v=1; a=x; d=example.com; s=sel; h=from; bh=x; b=y; q=http",
		"v=1; a=x; d=exa mple.com; s=sel; h=from; bh=x; b=y",		/* white space in d= */
		"v=1; a=x; d=example..com; s=sel; h=from; bh=x; b=y",
		"v=1; a=x; d=exam\\ple.com; s=sel; h=from; bh=x; b=y",
		"v=1; a=x; d=example.com; s=se/l; h=from; bh=x; b=y",
		"v=1; a=x; d=example.com; s=sel; h=from; bh=x; b=y; junk",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *n = name_of(bad[i]);

		if (n != NULL)
			fail_msg("\"%s\" gave %s", bad[i], n);
	}
}

static void
test_lengths(void **state)
{
	char v[600], d[300], out[300], small[16];
	size_t i;

	(void)state;
	/* 4 labels of 60: name over 253 octets with the selector */
	for (i = 0; i < 4 * 61 - 1; i++)
		d[i] = (i % 61 == 60) ? '.' : 'a';
	d[i] = '\0';
	snprintf(v, sizeof(v), "v=1; a=x; d=%s; s=s; h=f; bh=x; b=y", d);
	assert_int_equal(dkim_key_name(v, strlen(v), out, sizeof(out)), -1);
	snprintf(v, sizeof(v), "v=1; a=x; d=example.com; s=sel; h=f; bh=x; b=y");
	assert_int_equal(dkim_key_name(v, strlen(v), small, sizeof(small)), -1);
	assert_string_equal(small, "");
	/* not NUL-terminated: only len octets are read */
	assert_int_equal(dkim_key_name(v, strlen(v) - 5, out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_no_key_name),
		cmocka_unit_test(test_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
