/* Unit tests of authres.c: quoting, the writer, authserv-id reading. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "authres.h"

static void
test_quoting(void **state)
{
	(void)state;
	assert_false(authres_needs_quoting("example.com"));
	assert_false(authres_needs_quoting("user@example.com"));
	assert_false(authres_needs_quoting("@example.com"));
	assert_false(authres_needs_quoting("192.0.2.1"));
	assert_false(authres_needs_quoting("rsa-sha256"));
	assert_true(authres_needs_quoting("2001:db8::1"));
	assert_true(authres_needs_quoting("user@[192.0.2.1]"));
	assert_true(authres_needs_quoting("/abc+def"));
	assert_true(authres_needs_quoting("a b"));
	assert_true(authres_needs_quoting(""));
	assert_true(authres_needs_quoting("\"quoted\"@example.com"));
	assert_true(authres_needs_quoting("user@exa(mple).com"));
}

static void
test_writer(void **state)
{
	struct authres a;
	char *v;

	(void)state;
	authres_begin(&a, "mx.example.net");
	authres_method(&a, "spf", "pass");
	authres_prop(&a, "smtp.mailfrom", "bounce@example.com");
	authres_method(&a, "dkim", "fail");
	authres_reason(&a, "body hash \"mismatch\"");
	authres_comment(&a, "2048-bit (key)");
	authres_prop(&a, "header.d", "example.com");
	authres_method(&a, "iprev", "pass");
	authres_prop(&a, "policy.iprev", "2001:db8::25");
	v = authres_end(&a);
	assert_string_equal(v,
	    "mx.example.net;\n\tspf=pass smtp.mailfrom=bounce@example.com;\n\t"
	    "dkim=fail reason=\"body hash \\\"mismatch\\\"\" (2048-bit \\(key\\)) header.d=example.com;\n\t"
	    "iprev=pass policy.iprev=\"2001:db8::25\"");
	free(v);
}

static void
test_quoted_values_escaped(void **state)
{
	struct authres a;
	char *v;

	(void)state;
	authres_begin(&a, "mx");
	authres_method(&a, "dkim", "pass");
	authres_prop_quoted(&a, "header.b", "ab\"c\\d");
	authres_reason(&a, "caf\xc3\xa9\r\n");
	v = authres_end(&a);
	assert_string_equal(v, "mx;\n\tdkim=pass header.b=\"ab\\\"c\\\\d\" reason=\"caf??\"");
	free(v);
}

static void
test_none(void **state)
{
	struct authres a;
	char *v;

	(void)state;
	authres_begin(&a, "mx");
	v = authres_end(&a);
	assert_string_equal(v, "mx; none");
	free(v);
}

static void
test_authserv_id(void **state)
{
	static const struct { const char *in, *id; } cases[] = {
		{ " mx.example.net; spf=pass", "mx.example.net" },
		{ "mx.example.net;spf=pass", "mx.example.net" },
		{ " (comment (nested)) mx.example.net 1; none", "mx.example.net" },
		{ "\r\n\tMX.Example.NET;\r\n\tdkim=pass", "MX.Example.NET" },
		{ " \"mx.example.net\"; none", "mx.example.net" },
		{ " ; spf=pass", NULL },
		{ "", NULL },
		{ " (unterminated", NULL },
		{ " \"mx.te\\st\"; none", "mx.test" },	/* quoted-pair read as a reader would */
		{ " \"mx.test; none", "mx.test; none" },	/* unterminated quote: still ours-ish */
		{ " mx.test.; none", "mx.test" },		/* trailing dot */
		{ " \"\"; none", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *id = authres_authserv_id(cases[i].in);

		if (cases[i].id == NULL)
			assert_null(id);
		else {
			assert_non_null(id);
			assert_string_equal(id, cases[i].id);
		}
		free(id);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_quoted_values_escaped),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_authserv_id),
	};

	return cmocka_run_group_tests_name("authres", tests, NULL, NULL);
}
