/* Unit tests of address.c: RFC 5322 address-lists with obsolete forms,
 * groups, comments, literals, errors with positions, bounds. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "address.h"

struct good {
	const char *in;
	size_t n_total;
	unsigned n_groups;
	const char *local, *domain;	/* of the first mailbox */
	int literal;
	const char *display;		/* NULL: no display name */
};

static const struct good goods[] = {
	{ " user@example.com", 1, 0, "user", "example.com", 0, NULL },
	{ " User@EXAMPLE.Com", 1, 0, "User", "example.com", 0, NULL },
	{ " John Doe <john@example.com>", 1, 0, "john", "example.com", 0, "John Doe" },
	{ " \"Doe, John\" <john@example.com>", 1, 0, "john", "example.com", 0, "\"Doe, John\"" },
	{ " \"Doe \\\"JD\\\" John\" <j@e.example>", 1, 0, "j", "e.example", 0,
	  "\"Doe \\\"JD\\\" John\"" },
	{ " =?UTF-8?B?SsO2cmc=?= <j@e.example>", 1, 0, "j", "e.example", 0, "=?UTF-8?B?SsO2cmc=?=" },
	{ " john@example.com (John Doe)", 1, 0, "john", "example.com", 0, NULL },
	{ " (a (nested) comment) <a@b.example>", 1, 0, "a", "b.example", 0, NULL },
	{ " a(c)@(c)b.example(c)", 1, 0, "a", "b.example", 0, NULL },
	{ " undisclosed-recipients:;", 0, 1, NULL, NULL, 0, NULL },
	{ " Undisclosed recipients: (none) ;", 0, 1, NULL, NULL, 0, NULL },
	{ " team: a@x.example, b@y.example;, c@z.example", 3, 1, "a", "x.example", 0, NULL },
	{ " \"john doe\"@example.com", 1, 0, "\"john doe\"", "example.com", 0, NULL },
	{ " \"\"@example.com", 1, 0, "\"\"", "example.com", 0, NULL },
	{ " user@[192.0.2.1]", 1, 0, "user", "[192.0.2.1]", 1, NULL },
	{ " user@[IPv6:2001:DB8::1]", 1, 0, "user", "[ipv6:2001:db8::1]", 1, NULL },
	{ " user@[ 192.0.2.1 ]", 1, 0, "user", "[192.0.2.1]", 1, NULL },
	{ " John Q. Public <jqp@example.com>", 1, 0, "jqp", "example.com", 0, "John Q. Public" },
	{ " john . doe @ example . com", 1, 0, "john.doe", "example.com", 0, NULL },
	{ " \"john\".\"doe\"@example.com", 1, 0, "\"john\".\"doe\"", "example.com", 0, NULL },
	{ " <@relay.example,@r2.example:user@example.com>", 1, 0, "user", "example.com", 0, NULL },
	{ " a@b.example, , c@d.example,", 2, 0, "a", "b.example", 0, NULL },
	{ ",a@b.example", 1, 0, "a", "b.example", 0, NULL },
	{ " John Doe\r\n <john@example.com>", 1, 0, "john", "example.com", 0, "John Doe" },
	{ " \"folded\r\n quoted\"@example.com", 1, 0, "\"folded quoted\"", "example.com", 0, NULL },
	{ " J\xc3\xb6rg <j@e.example>", 1, 0, "j", "e.example", 0, "J\xc3\xb6rg" },
	{ " j\xc3\xb6rg@EX\xc3\x84mple.com", 1, 0, "j\xc3\xb6rg", "ex\xc3\x84mple.com", 0, NULL },
	{ "  user@example.com  ", 1, 0, "user", "example.com", 0, NULL },
	{ " a@b.example\r\n", 1, 0, "a", "b.example", 0, NULL },
	{ "a@b.example", 1, 0, "a", "b.example", 0, NULL },
	{ " \"quoted\\\\back\" <x@y.example>", 1, 0, "x", "y.example", 0, "\"quoted\\\\back\"" },
	{ " <first.last+tag@sub.example.co.uk>", 1, 0, "first.last+tag", "sub.example.co.uk", 0, NULL },
	{ " !#$%&'*+-/=?^_`{|}~@example.com", 1, 0, "!#$%&'*+-/=?^_`{|}~", "example.com", 0, NULL },
	{ " a@b.example, Jane <c@d.example>, e@f.example", 3, 0, "a", "b.example", 0, NULL },
	{ " \"x\" (c) \"y\" <a@b.example>", 1, 0, "a", "b.example", 0, "\"x\" (c) \"y\"" },
	{ " \"ctl\x01in quotes\"@example.com", 1, 0, "\"ctl\x01in quotes\"", "example.com", 0, NULL },
	{ " a@b.example (comment with \\) paren)", 1, 0, "a", "b.example", 0, NULL },
	{ " g1:;, g2: a@b.example;", 1, 2, "a", "b.example", 0, NULL },
};

static void
test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		const struct good *g = &goods[i];
		struct addr_list al;

		if (addr_parse(g->in, strlen(g->in), &al) != 0)
			fail_msg("case %zu \"%s\": error at %zu: %s", i, g->in, al.error_pos, al.why);
		if (al.n_total != g->n_total || al.n_groups != g->n_groups)
			fail_msg("case %zu: %zu mailboxes %u groups, expected %zu %u", i,
			    al.n_total, al.n_groups, g->n_total, g->n_groups);
		if (g->local == NULL)
			continue;
		if (strcmp(al.v[0].local, g->local) != 0 || strcmp(al.v[0].domain, g->domain) != 0)
			fail_msg("case %zu: got %s @ %s", i, al.v[0].local, al.v[0].domain);
		assert_int_equal(al.v[0].domain_literal, g->literal);
		assert_int_equal(al.v[0].has_display, g->display != NULL);
		if (g->display != NULL && strcmp(al.v[0].display, g->display) != 0)
			fail_msg("case %zu: display [%s]", i, al.v[0].display);
	}
}

struct bad {
	const char *in;
	size_t pos;
	const char *why;	/* substring of the reason */
};

static const struct bad bads[] = {
	{ "", 0, "no address" },
	{ "   ", 3, "no address" },
	{ " (only a comment)", 17, "no address" },
	{ " , ,", 4, "no address" },
	{ " Doe, John <j@example.com>", 1, "'Doe' is not an address" },
	{ " john doe@example.com", 6, "two words without a dot" },
	{ " john..doe@example.com", 6, "'..'" },
	{ " .john@example.com", 1, "starts with '.'" },
	{ " john.@example.com", 6, "ends with '.'" },
	{ " john@example..com", 13, "not followed by a label" },
	{ " john@example.com.", 17, "not followed by a label" },
	{ " john@\"example\".com", 6, "quoted string as a domain" },
	{ " <>", 1, "empty address <>" },
	{ " John <john@example.com", 23, "not closed with '>'" },
	{ " \"unterminated@example.com", 1, "unterminated quoted string" },
	{ " (unterminated (comment) a@b.example", 1, "unterminated comment" },
	{ " a@[192.0.2.1", 3, "unterminated domain literal" },
	{ " g1: g2: a@b.example;;", 7, "group inside a group" },
	{ " g1: a@b.example", 1, "group not closed" },
	{ " a@b.example d@e.example", 13, "expected ',' between addresses" },
	{ " a@b.example\r\nX-Injected: yes", 12, "not followed by white space" },
	{ " a@", 3, "expected a domain after '@'" },
	{ " @example.com", 1, "empty local part before" },
	{ " <@example.com>", 14, "bad source route" },
	{ " user@example.com <user@example.com>", 18, "expected ',' between addresses, found '<'" },
	{ " a@b.example)", 12, "unexpected ')'" },
	{ " a\\b@c.example", 2, "unexpected '\\'" },
	{ " a@b.example; d@e.example", 12, "found ';'" },
	{ ": a@b.example;", 0, "group without a name" },
	{ " a@b.example,\"x\"", 13, "'\"x\"' is not an address" },
	{ " . <a@b.example>", 1, "display name starts with '.'" },
	{ " <a@b.example", 13, "not closed with '>'" },
	{ " <a@b.example junk>", 14, "expected '>'" },
	{ " a@[1.2.3.4\x80]", 11, "octet 0x80" },
	{ " a@[1.2[3]", 7, "octet 0x5b" },
	{ " a\r\n@b.example", 2, "not followed by white space" },
	{ " a@b.example\rX", 12, "not followed by white space" },
	{ " \"a\\", 3, "backslash at the end" },
	{ " John <j@e.example> <k@e.example>", 20, "expected ','" },
	{ " a@b.example]", 12, "unexpected ']'" },
};

static void
test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		struct addr_list al;

		if (addr_parse(b->in, strlen(b->in), &al) != -1)
			fail_msg("case %zu \"%s\" parsed", i, b->in);
		if (strstr(al.why, b->why) == NULL || al.error_pos != b->pos)
			fail_msg("case %zu \"%s\": at %zu: %s (expected at %zu: %s)", i, b->in,
			    al.error_pos, al.why, b->pos, b->why);
	}
}

static void
test_nul_is_an_error(void **state)
{
	static const char in[] = " a\0b@c.example";
	static const char lit[] = " a@[1.2\0.3.4]";
	static const char qs[] = " \"a\0\"@c.example";
	static const char cm[] = " a@c.example (x\0)";
	struct addr_list al;

	(void)state;
	assert_int_equal(addr_parse(in, sizeof(in) - 1, &al), -1);
	assert_int_equal(al.error_pos, 2);
	assert_int_equal(addr_parse(lit, sizeof(lit) - 1, &al), -1);
	assert_int_equal(al.error_pos, 7);
	assert_int_equal(addr_parse(qs, sizeof(qs) - 1, &al), -1);
	assert_non_null(strstr(al.why, "NUL"));
	assert_int_equal(addr_parse(cm, sizeof(cm) - 1, &al), -1);
	assert_non_null(strstr(al.why, "NUL"));
	/* not NUL-terminated: the length is what counts */
	assert_int_equal(addr_parse("a@b.examplexyz", 11, &al), 0);
	assert_string_equal(al.v[0].domain, "b.example");
}

static void
test_fields_of_mailboxes(void **state)
{
	const char *in = " Team: a@x.example, \"B\" <b@y.example>;, <@r.example:c@z.example>";
	struct addr_list al;

	(void)state;
	assert_int_equal(addr_parse(in, strlen(in), &al), 0);
	assert_int_equal(al.n, 3);
	assert_int_equal(al.v[0].in_group, 1);
	assert_int_equal(al.v[0].angle, 0);
	assert_int_equal(al.v[0].pos, 7);
	assert_int_equal(al.v[1].in_group, 1);
	assert_int_equal(al.v[1].angle, 1);
	assert_string_equal(al.v[1].display, "\"B\"");
	assert_int_equal(al.v[1].pos, 20);
	assert_int_equal(al.v[2].in_group, 0);
	assert_int_equal(al.v[2].route, 1);
	assert_int_equal(al.v[2].angle, 1);
	assert_int_equal(al.v[2].has_display, 0);
	assert_int_equal(al.v[2].local_quoted, 0);
	assert_int_equal(addr_parse(" \"q\"@x.example", 14, &al), 0);
	assert_int_equal(al.v[0].local_quoted, 1);
}

static void
test_many_mailboxes(void **state)
{
	char in[2000];
	size_t o = 0;
	struct addr_list al;

	(void)state;
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(in + o, sizeof(in) - o, "%su%d@d%d.example", i ? ", " : "", i, i);
	assert_int_equal(addr_parse(in, o, &al), 0);
	assert_int_equal(al.n, ADDR_MAX_MAILBOXES);
	assert_int_equal(al.n_total, 40);
	assert_true(al.truncated);
	assert_string_equal(al.v[ADDR_MAX_MAILBOXES - 1].local, "u15");
	/* an error past the stored ones is still found */
	memcpy(in + o, ", x", 4);
	assert_int_equal(addr_parse(in, o + 3, &al), -1);
	assert_int_equal(al.error_pos, o + 2);
}

static void
test_length_limits(void **state)
{
	char in[4096];
	struct addr_list al;
	size_t n;

	(void)state;
	/* local part: 256 octets fit, 257 do not */
	memset(in, 'l', ADDR_LOCAL_MAX);
	memcpy(in + ADDR_LOCAL_MAX, "@example.com", 12);
	assert_int_equal(addr_parse(in, ADDR_LOCAL_MAX + 12, &al), 0);
	assert_int_equal(strlen(al.v[0].local), ADDR_LOCAL_MAX);
	memset(in, 'l', ADDR_LOCAL_MAX + 1);
	memcpy(in + ADDR_LOCAL_MAX + 1, "@example.com", 12);
	assert_int_equal(addr_parse(in, ADDR_LOCAL_MAX + 13, &al), -1);
	assert_non_null(strstr(al.why, "local part longer"));
	/* domain: 255 octets fit (labels of 63), 256 do not */
	memcpy(in, "u@", 2);
	n = 2;
	for (int i = 0; i < 4; i++) {
		memset(in + n, 'a' + i, 63);
		n += 63;
		in[n++] = '.';
	}
	n--;			/* 4*63+3 = 255 */
	assert_int_equal(addr_parse(in, n, &al), 0);
	assert_int_equal(strlen(al.v[0].domain), ADDR_DOMAIN_MAX);
	memcpy(in + n, "x", 1);
	assert_int_equal(addr_parse(in, n + 1, &al), -1);
	assert_non_null(strstr(al.why, "domain longer"));
	in[n] = '.';
	in[n + 1] = 'x';
	assert_int_equal(addr_parse(in, n + 2, &al), -1);
	assert_non_null(strstr(al.why, "domain longer"));
	/* a literal too */
	memcpy(in, "u@[", 3);
	memset(in + 3, '1', 300);
	in[303] = ']';
	assert_int_equal(addr_parse(in, 304, &al), -1);
	assert_non_null(strstr(al.why, "domain literal longer"));
}

static void
test_long_display_name_is_cut(void **state)
{
	size_t n = 100000;
	char *in = malloc(n + 32);
	struct addr_list al;

	(void)state;
	assert_non_null(in);
	memset(in, 'x', n);
	memcpy(in + n, " <a@b.example>", 14);
	assert_int_equal(addr_parse(in, n + 14, &al), 0);
	assert_true(al.v[0].display_truncated);
	assert_int_equal(strlen(al.v[0].display), ADDR_DISPLAY_MAX);
	assert_string_equal(al.v[0].domain, "b.example");
	free(in);
}

static void
test_deep_comments(void **state)
{
	size_t depth = 200000;
	char *in = malloc(2 * depth + 32);
	struct addr_list al;

	(void)state;
	assert_non_null(in);
	/* deeply nested but closed: no recursion, so no stack trouble */
	memset(in, '(', depth);
	memset(in + depth, ')', depth);
	memcpy(in + 2 * depth, "a@b.example", 11);
	assert_int_equal(addr_parse(in, 2 * depth + 11, &al), 0);
	assert_string_equal(al.v[0].domain, "b.example");
	/* one ')' short: unterminated, reported at the first '(' */
	assert_int_equal(addr_parse(in, 2 * depth - 1, &al), -1);
	assert_int_equal(al.error_pos, 0);
	assert_non_null(strstr(al.why, "unterminated comment"));
	free(in);
}

static void
test_many_commas_and_groups(void **state)
{
	size_t n = 50000;
	char *in = malloc(n * 3 + 32);
	struct addr_list al;

	(void)state;
	assert_non_null(in);
	memset(in, ',', n);
	assert_int_equal(addr_parse(in, n, &al), -1);
	assert_non_null(strstr(al.why, "no address"));
	for (size_t i = 0; i < n; i++)
		memcpy(in + 3 * i, "g:;", 3);
	assert_int_equal(addr_parse(in, 3 * n, &al), -1);	/* "g:;g:;" lacks commas */
	assert_int_equal(al.error_pos, 3);
	for (size_t i = 0; i < n; i++)
		memcpy(in + 3 * i, "g:,", 3);
	memcpy(in + 3 * n, ";", 1);		/* one group of n-1 empty elements */
	assert_int_equal(addr_parse(in, 3 * n + 1, &al), -1);
	assert_non_null(strstr(al.why, "group inside a group"));
	for (size_t i = 0; i < n / 2; i++)
		memcpy(in + 5 * i, "g:;, ", 5);
	assert_int_equal(addr_parse(in, 5 * (n / 2), &al), 0);
	assert_int_equal(al.n_groups, n / 2);
	assert_int_equal(al.n_total, 0);
	free(in);
}

static void
test_error_reason_is_printable(void **state)
{
	const char *in = " J\x01\xff\xfe long bad word list here\r\n more words and more";
	struct addr_list al;

	(void)state;
	assert_int_equal(addr_parse(in, strlen(in), &al), -1);
	for (const char *p = al.why; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_nul_is_an_error),
		cmocka_unit_test(test_fields_of_mailboxes),
		cmocka_unit_test(test_many_mailboxes),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_long_display_name_is_cut),
		cmocka_unit_test(test_deep_comments),
		cmocka_unit_test(test_many_commas_and_groups),
		cmocka_unit_test(test_error_reason_is_printable),
	};

	return cmocka_run_group_tests_name("address", tests, NULL, NULL);
}
