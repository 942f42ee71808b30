/* Unit tests of smtppath.c (the MAIL FROM path reader) and domain.c (name
 * normalization and recovery): the domain each reading returns is the one
 * the MTA routes to, whatever the quoting, routes and junk. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "domain.h"
#include "smtppath.h"

struct path_case {
	const char *in;
	int rc, strict;
	const char *local, *domain;
};

static const struct path_case paths[] = {
	/* RFC 5321 */
	{ "<user@example.com>", 0, 1, "user", "example.com" },
	{ "<User.Name+tag@Example.COM>", 0, 1, "User.Name+tag", "example.com" },
	{ "<\"john doe\"@example.com>", 0, 1, "\"john doe\"", "example.com" },
	/* issue 9: a '>' and an '@' inside the quoted local part */
	{ "<\"x@good.example>\"@victim.example>", 0, 1, "\"x@good.example>\"", "victim.example" },
	{ "<\"a\\\"b>c\"@victim.example>", 0, 1, "\"a\\\"b>c\"", "victim.example" },
	{ "<\"<good.example>\"@victim.example>", 0, 1, "\"<good.example>\"", "victim.example" },
	{ "<\"@good.example\"@victim.example>", 0, 1, "\"@good.example\"", "victim.example" },
	{ "<\"\"@victim.example>", 0, 1, "\"\"", "victim.example" },
	/* source routes are ignored */
	{ "<@good.example:user@victim.example>", 0, 1, "user", "victim.example" },
	{ "<@a.example,@[192.0.2.1],@b.example:u@victim.example>", 0, 1, "u", "victim.example" },
	{ "<user@[192.0.2.1]>", 0, 1, "user", "[192.0.2.1]" },
	{ "<user@[IPv6:2001:db8::1]>", 0, 1, "user", "[ipv6:2001:db8::1]" },
	/* RFC 6531: U-labels become A-labels */
	{ "<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", 0, 1, "j\xc3\xb6rg", "xn--bcher-kva.example" },
	/* null */
	{ "<>", 0, 1, "", "" },
	{ "", 0, 1, "", "" },
	{ "  <>  ", 0, 1, "", "" },
	/* what MTAs let through: read, not strict */
	{ "user@victim.example", 0, 0, "user", "victim.example" },
	{ "<user@victim.example.>", 0, 0, "user", "victim.example" },
	{ "<user(comment)@victim.example>", 0, 0, "user", "victim.example" },
	{ "<user @ victim.example>", 0, 0, "user", "victim.example" },
	{ "<user@under_score.example>", 0, 0, "user", "under_score.example" },
	{ "<a@b@victim.example>", 0, 0, "a@b", "victim.example" },
	{ "<\"a\"@b.example@victim.example>", 0, 0, "a@b.example", "victim.example" },
	{ "<x@good.example>@victim.example>", 0, 0, "x@good.example>", "victim.example" },
	{ "<@good.example:\"x@y\"z@victim.example>", 0, 0, "x@yz", "victim.example" },
	/* no domain */
	{ "<postmaster>", -1, 0, "", "" },
	{ "<\"a@b\">", 0, 0, "a", "b" },
};

static void
test_paths(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const struct path_case *t = &paths[i];
		struct smtp_path p;
		int rc = smtp_path_parse(t->in, &p);

		if (rc != t->rc || p.strict != t->strict || strcmp(p.domain, t->domain) != 0 ||
		    (rc == 0 && strcmp(p.local, t->local) != 0)) {
			print_error("path %s: rc %d strict %d local '%s' domain '%s' (why '%s')\n",
			    t->in, rc, p.strict, p.local, p.domain, p.why);
			fail();
		}
		if (!p.strict && p.why[0] == '\0') {
			print_error("path %s: not strict without a reason\n", t->in);
			fail();
		}
	}
}

static void
test_path_limits(void **state)
{
	char in[2048], local[300];
	struct smtp_path p;

	(void)state;
	/* 64 octets: strict; 65: read, not strict; over SMTP_LOCAL_MAX: no local part kept */
	memset(local, 'a', 64);
	local[64] = '\0';
	snprintf(in, sizeof(in), "<%s@victim.example>", local);
	assert_int_equal(smtp_path_parse(in, &p), 0);
	assert_int_equal(p.strict, 1);
	snprintf(in, sizeof(in), "<%sa@victim.example>", local);
	assert_int_equal(smtp_path_parse(in, &p), 0);
	assert_int_equal(p.strict, 0);
	assert_string_equal(p.domain, "victim.example");
	memset(local, 'a', 299);
	local[299] = '\0';
	snprintf(in, sizeof(in), "<%s@victim.example>", local);
	assert_int_equal(smtp_path_parse(in, &p), 0);
	assert_int_equal(p.strict, 0);
	assert_string_equal(p.local, "");
	assert_string_equal(p.domain, "victim.example");
	/* a domain over 255 octets is not a name */
	memset(local, 'b', 299);
	snprintf(in, sizeof(in), "<u@%s.example>", local);
	assert_int_equal(smtp_path_parse(in, &p), 0);
	assert_int_equal(p.strict, 0);
	assert_true(strlen(p.domain) <= SMTP_DOMAIN_MAX);
	/* however long the local part, the domain is the one after the last '@' */
	memset(in, 0, sizeof(in));
	in[0] = '<';
	in[1] = '"';
	memset(in + 2, 'q', 1500);
	strcpy(in + 1502, "\"@victim.example>");
	assert_int_equal(smtp_path_parse(in, &p), 0);
	assert_string_equal(p.domain, "victim.example");
	assert_string_equal(p.local, "");
	in[700] = '@';
	assert_int_equal(smtp_path_parse(in, &p), 0);
	assert_string_equal(p.domain, "victim.example");
	/* a long argument of junk is read in bounds */
	memset(in, '"', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	in[700] = '@';
	assert_int_equal(smtp_path_parse(in, &p), 0);
	assert_true(strlen(p.local) <= SMTP_LOCAL_MAX);
}

struct recover_case {
	const char *in;
	enum domain_recovery rc;
	const char *out;
};

static const struct recover_case recovers[] = {
	{ "victim.example", DOMAIN_VALID, "victim.example" },
	{ "Victim.EXAMPLE", DOMAIN_VALID, "victim.example" },
	{ "b\xc3\xbc" "cher.example", DOMAIN_VALID, "xn--bcher-kva.example" },
	{ "victim.example\x01", DOMAIN_RECOVERED, "victim.example" },
	{ "victim.example\x0b", DOMAIN_RECOVERED, "victim.example" },
	{ "victim.example\x7f", DOMAIN_RECOVERED, "victim.example" },
	{ "victim.example/", DOMAIN_RECOVERED, "victim.example" },
	{ "victim.example\\", DOMAIN_RECOVERED, "victim.example" },
	{ "victim.example=", DOMAIN_RECOVERED, "victim.example" },
	{ "victim.example.", DOMAIN_RECOVERED, "victim.example" },
	{ "victim.example..", DOMAIN_RECOVERED, "victim.example" },
	{ "victim.example\xc2\xa0", DOMAIN_RECOVERED, "victim.example" },	/* no-break space */
	/* UTS#46 maps a zero width space or a soft hyphen to nothing, as readers show it */
	{ "victim.example\xe2\x80\x8b", DOMAIN_VALID, "victim.example" },
	{ "vic\xc2\xadtim.example", DOMAIN_VALID, "victim.example" },
	{ "victim.example\xff", DOMAIN_RECOVERED, "victim.example" },
	{ "victim.example\xa0", DOMAIN_RECOVERED, "victim.example" },
	{ "VICTIM.example\x01\x02!", DOMAIN_RECOVERED, "victim.example" },
	{ "[victim.example]", DOMAIN_RECOVERED, "victim.example" },
	{ "[Victim.Example.]", DOMAIN_RECOVERED, "victim.example" },
	/* nothing a reader would take for one name */
	{ "[192.0.2.1]", DOMAIN_NONE, "" },
	{ "[IPv6:2001:db8::1]", DOMAIN_NONE, "" },
	{ "[]", DOMAIN_NONE, "" },
	{ "[victim.example", DOMAIN_NONE, "" },
	{ "victim\x01.example", DOMAIN_NONE, "" },
	{ "mail.victim\x01.example", DOMAIN_NONE, "" },
	{ "victim.example/other.example", DOMAIN_NONE, "" },
	{ "victim..example", DOMAIN_NONE, "" },
	{ "\x01victim.example", DOMAIN_NONE, "" },
	{ ".victim.example", DOMAIN_NONE, "" },
	{ "-victim.example", DOMAIN_VALID, "-victim.example" },	/* odd, but a name */
	{ "victim", DOMAIN_VALID, "victim" },
	{ "victim\x01", DOMAIN_NONE, "" },
	{ "", DOMAIN_NONE, "" },
	{ "\xc2\xa0", DOMAIN_NONE, "" },
};

static void
test_recover(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(recovers) / sizeof(recovers[0]); i++) {
		const struct recover_case *t = &recovers[i];
		char out[256], why[200];
		enum domain_recovery rc = domain_recover(t->in, strlen(t->in), out, sizeof(out),
		    why, sizeof(why));

		if (rc != t->rc || strcmp(out, t->out) != 0) {
			print_error("recover case %zu: rc %d out '%s' (why '%s')\n", i, rc, out, why);
			fail();
		}
		if (rc != DOMAIN_VALID && why[0] == '\0') {
			print_error("recover case %zu: no reason\n", i);
			fail();
		}
		for (const char *p = why; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
				print_error("recover case %zu: reason not printable\n", i);
				fail();
			}
	}
}

static void
test_recover_bounds(void **state)
{
	char in[1000], out[256], why[200];

	(void)state;
	memset(in, 'a', sizeof(in));
	in[500] = '.';
	assert_int_equal(domain_recover(in, sizeof(in), out, sizeof(out), why, sizeof(why)), DOMAIN_NONE);
	/* a valid name followed by a lot of junk */
	memcpy(in, "victim.example", 14);
	memset(in + 14, '\x01', sizeof(in) - 14);
	assert_int_equal(domain_recover(in, sizeof(in), out, sizeof(out), why, sizeof(why)),
	    DOMAIN_RECOVERED);
	assert_string_equal(out, "victim.example");
	/* NUL inside */
	assert_int_equal(domain_recover("victim.example\0x", 16, out, sizeof(out), why, sizeof(why)),
	    DOMAIN_NONE);
	assert_int_equal(domain_recover("victim.example\0", 15, out, sizeof(out), why, sizeof(why)),
	    DOMAIN_RECOVERED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_path_limits),
		cmocka_unit_test(test_recover),
		cmocka_unit_test(test_recover_bounds),
	};

	return cmocka_run_group_tests_name("smtppath", tests, NULL, NULL);
}
