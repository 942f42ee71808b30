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
	    "dkim=fail reason=\"body hash 'mismatch'\" (2048-bit \\(key\\)) header.d=example.com;\n\t"
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
	authres_reason(&a, "caf\xc3\xa9\r\n \"q\" \\");
	v = authres_end(&a);
	assert_string_equal(v, "mx;\n\tdkim=pass header.b=\"ab\\\"c\\\\d\" reason=\"caf?? 'q' \\\\\"");
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

/* Forged copies of our fields: any reading that finds our id removes the field. */
static void
test_claims_id(void **state)
{
	static const struct { const char *in; size_t len; int ours; } cases[] = {
		{ " mx.example.net; spf=pass", 0, 1 },
		{ "mx.example.net;spf=pass", 0, 1 },
		{ " (comment (nested)) mx.example.net 1; none", 0, 1 },
		{ "\r\n\tMX.Example.NET;\r\n\tdkim=pass", 0, 1 },
		{ " \"mx.example.net\"; none", 0, 1 },
		{ " \"mx.exam\\ple.net\"; none", 0, 1 },	/* quoted-pair */
		{ " \"mx.example.net; none", 0, 1 },	/* unterminated quote */
		{ " mx.example.net.; none", 0, 1 },	/* trailing dot */
		{ " mx.example.net", 0, 1 },		/* no ';' at all */
		/* issue 9: control bytes next to the id */
		{ " \x0bmx.example.net; dmarc=pass", 0, 1 },
		{ " mx.example.net\x0c; dmarc=pass", 0, 1 },
		{ " mx.exam\x01ple.net; dmarc=pass", 0, 1 },
		{ " mx.example.net\x7f; dmarc=pass", 0, 1 },
		{ " mx.example.net\xc2\xa0; dmarc=pass", 0, 1 },	/* no-break space */
		{ " \xe2\x80\x8bmx.example.net; dmarc=pass", 0, 1 },	/* zero width space */
		{ " mx.example.net\x00; dmarc=pass", 28, 1 },
		{ " mx.example.net/x; dmarc=pass", 0, 1 },
		{ " mx.example.net(;) ; dmarc=pass", 0, 1 },
		{ " (a;b) mx.example.net; dmarc=pass", 0, 1 },
		{ " \"mx.example.net;\"; dmarc=pass", 0, 1 },
		{ " x mx.example.net; dmarc=pass", 0, 1 },
		{ " mx .example.net; dmarc=pass", 0, 1 },
		{ " mx.example.net\r\n\t; dmarc=pass", 0, 1 },
		/* someone else's */
		{ " mx.example.org; spf=pass", 0, 0 },
		{ " mx.example.net.evil.example; spf=pass", 0, 0 },
		{ " other.example; spf=pass smtp.mailfrom=mx.example.net", 0, 0 },
		{ " ; spf=pass", 0, 0 },
		{ "", 0, 0 },
		{ " \"\"; none", 0, 0 },
		{ " example.net; none", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);

		if (authres_claims_id(cases[i].in, len, "mx.example.net") != cases[i].ours) {
			print_error("case %zu (%s): want %d\n", i, cases[i].in, cases[i].ours);
			fail();
		}
	}
	/* our id configured with a trailing dot or in capitals reads the same */
	assert_int_equal(authres_claims_id(" mx.example.net; none", 21, "MX.Example.Net."), 1);
}

/* Reading another host's results (an ARC sealer's): what can be read is
 * kept, reading stops at the first resinfo that does not parse. */
static void
test_read_results(void **state)
{
	struct authres_result r[8];
	const char *text = " arc=none;\r\n  SPF=Pass (sender ok) smtp.mailfrom=bounce@Origin.example;"
	    " dkim=pass (2048-bit key) header.d=origin.example header.s=s1 header.b=\"a/b+\\\"c\";"
	    " dmarc/1=pass reason=\"aligned; ok\" header.from=origin.example policy.dmarc=reject";
	size_t n;

	(void)state;
	n = authres_read_results(text, strlen(text), r, 8);
	assert_int_equal(n, 4);
	assert_string_equal(r[0].method, "arc");
	assert_string_equal(r[0].result, "none");
	assert_string_equal(r[1].method, "spf");
	assert_string_equal(r[1].result, "pass");
	assert_string_equal(authres_result_prop(&r[1], "smtp.mailfrom"), "bounce@Origin.example");
	assert_string_equal(authres_result_prop(&r[2], "header.b"), "a/b+\"c");
	assert_string_equal(authres_result_prop(&r[3], "header.from"), "origin.example");
	assert_string_equal(authres_result_prop(&r[3], "policy.dmarc"), "reject");
	assert_null(authres_result_prop(&r[3], "header.d"));
	/* "none", garbage that stops the reading, the bound */
	assert_int_equal(authres_read_results(" none", 5, r, 8), 0);
	text = "spf=pass smtp.mailfrom=a.example; dmarc pass; dkim=pass header.d=b.example";
	assert_int_equal(authres_read_results(text, strlen(text), r, 8), 1);
	text = "dkim=pass header=x.example";
	assert_int_equal(authres_read_results(text, strlen(text), r, 8), 0);
	text = "spf=pass; spf=pass; spf=pass";
	assert_int_equal(authres_read_results(text, strlen(text), r, 2), 2);
	text = "dmarc=pass (unclosed comment";
	assert_int_equal(authres_read_results(text, strlen(text), r, 8), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_results),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_quoted_values_escaped),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_claims_id),
	};

	return cmocka_run_group_tests_name("authres", tests, NULL, NULL);
}
