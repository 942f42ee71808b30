/* Unit tests of header.c and netaddr.c: unfolding, message splitting,
 * limits, addresses and CIDR lists. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "header.h"
#include "netaddr.h"

static void
test_unfold(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ " simple", "simple" },
		{ " folded\r\n\tvalue", "folded\tvalue" },
		{ " a\r\n b\r\n  c ", "a b  c" },
		{ "", "" },
		{ "\r\n\t", "" },
		{ " lf only\n more", "lf only more" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *u = header_unfold(cases[i].in, strlen(cases[i].in));
		assert_string_equal(u, cases[i].out);
		free(u);
	}
}

static void
test_split_lf_message(void **state)
{
	const char *msg = "From: a@example.com\nSubject: hello\n  world\nTo: b@example.net\n\nbody line\n";
	struct header_list hl;
	char *storage, why[160];
	const char *body;
	size_t bodylen;

	(void)state;
	header_list_init(&hl);
	assert_int_equal(message_split(msg, strlen(msg), &hl, &storage, &body, &bodylen, why, sizeof(why)), 0);
	assert_int_equal(hl.n, 3);
	assert_string_equal(hl.v[1].name, "Subject");
	assert_string_equal(hl.v[1].value, " hello\r\n  world");
	assert_int_equal(bodylen, strlen("body line\r\n"));
	assert_memory_equal(body, "body line\r\n", bodylen);
	assert_ptr_equal(header_get(&hl, "to", 1), &hl.v[2]);
	header_list_free(&hl);
	free(storage);
}

static void
test_split_mbox_and_counts(void **state)
{
	const char *msg = "From someone Mon Jan  1 00:00:00 2024\r\nReceived: x\r\nReceived: y\r\n"
	    "Authentication-Results: mx; none\r\n\r\n";
	struct header_list hl;
	char *storage, why[160];
	const char *body;
	size_t bodylen;

	(void)state;
	header_list_init(&hl);
	assert_int_equal(message_split(msg, strlen(msg), &hl, &storage, &body, &bodylen, why, sizeof(why)), 0);
	assert_int_equal(hl.n, 3);
	assert_int_equal(header_count(&hl, "RECEIVED"), 2);
	assert_ptr_equal(header_get(&hl, "received", 2), &hl.v[1]);
	/* header_next walks the fields of a name in order, then NULL */
	assert_ptr_equal(header_next(&hl, "RECEIVED", NULL), &hl.v[0]);
	assert_ptr_equal(header_next(&hl, "received", &hl.v[0]), &hl.v[1]);
	assert_null(header_next(&hl, "received", &hl.v[1]));
	assert_ptr_equal(header_next(&hl, "authentication-results", &hl.v[0]), &hl.v[2]);
	assert_null(header_next(&hl, "Subject", NULL));
	assert_int_equal(bodylen, 0);
	header_list_free(&hl);
	free(storage);
}

static void
test_split_rejects_non_message(void **state)
{
	const char *msg = "this is not a header\r\n\r\nbody";
	struct header_list hl;
	char *storage, why[160];
	const char *body;
	size_t bodylen;

	(void)state;
	header_list_init(&hl);
	assert_int_equal(message_split(msg, strlen(msg), &hl, &storage, &body, &bodylen, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a header field"));
	header_list_free(&hl);
	free(storage);
}

static void
test_limits(void **state)
{
	struct header_list hl;
	char why[160];
	int rc = 0;

	(void)state;
	header_list_init(&hl);
	for (int i = 0; i <= HEADER_MAX_FIELDS && rc == 0; i++)
		rc = header_list_add(&hl, "X-Many", " v", 2, why, sizeof(why));
	assert_int_equal(rc, -1);
	assert_int_equal(hl.n, HEADER_MAX_FIELDS);
	assert_non_null(strstr(why, "more than"));
	header_list_free(&hl);
	assert_false(header_name_valid(""));
	assert_false(header_name_valid("Bad Name"));
	assert_false(header_name_valid("Bad:Name"));
	assert_true(header_name_valid("X-Good"));
}

/* inet:PORT@HOST / inet6:PORT@HOST, the one parser of the milter socket,
 * the MetricsSocket and the option check. */
static void
test_inet_spec(void **state)
{
	static const struct { const char *spec; int ok, six; const char *port, *host; } cases[] = {
		{ "inet:8125@127.0.0.1", 1, 0, "8125", "127.0.0.1" },
		{ "inet:1@localhost", 1, 0, "1", "localhost" },
		{ "inet:65535", 1, 0, "65535", "" },
		{ "inet6:9100@[::1]", 1, 1, "9100", "::1" },
		{ "inet6:9100@::1", 1, 1, "9100", "::1" },
		{ "inet6:25@[2001:db8::1]", 1, 1, "25", "2001:db8::1" },
		{ "inet:0@127.0.0.1", 0, 0, NULL, NULL },
		{ "inet:65536@127.0.0.1", 0, 0, NULL, NULL },
		{ "inet:123456@127.0.0.1", 0, 0, NULL, NULL },
		{ "inet:@127.0.0.1", 0, 0, NULL, NULL },
		{ "inet:+25@127.0.0.1", 0, 0, NULL, NULL },
		{ "inet: 25@127.0.0.1", 0, 0, NULL, NULL },
		{ "inet:25x@127.0.0.1", 0, 0, NULL, NULL },
		{ "inet:smtp@127.0.0.1", 0, 0, NULL, NULL },
		{ "inet:25@", 0, 0, NULL, NULL },
		{ "inet6:25@[]", 0, 0, NULL, NULL },
		{ "inet:", 0, 0, NULL, NULL },
		{ "unix:/run/x.sock", 0, 0, NULL, NULL },
		{ "25@127.0.0.1", 0, 0, NULL, NULL },
	};
	struct inet_spec is;
	char why[400], longhost[300];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		if (inet_spec_parse(cases[i].spec, &is, why, sizeof(why)) != (cases[i].ok ? 0 : -1))
			fail_msg("%s: %s", cases[i].spec, why);
		if (!cases[i].ok) {
			assert_non_null(strstr(why, cases[i].spec));	/* the reason quotes it */
			continue;
		}
		assert_int_equal(is.six, cases[i].six);
		assert_string_equal(is.port, cases[i].port);
		assert_string_equal(is.host, cases[i].host);
	}
	/* a host too long for the buffer is refused, not cut */
	snprintf(longhost, sizeof(longhost), "inet:25@%0290d", 7);
	assert_int_equal(inet_spec_parse(longhost, &is, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "longer than 255"));
}

static void
test_netaddr(void **state)
{
	struct netaddr a;
	struct cidr_list l;
	char buf[64], why[160];

	(void)state;
	assert_int_equal(netaddr_parse("::ffff:192.0.2.7", &a), 0);
	netaddr_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.7");
	assert_int_equal(netaddr_parse("[2001:db8::1]", &a), 0);
	assert_int_equal(netaddr_parse("IPv6:2001:db8::1", &a), 0);
	assert_int_equal(netaddr_parse("300.1.2.3", &a), -1);
	assert_int_equal(netaddr_parse("", &a), -1);

	assert_int_equal(cidr_list_parse("10.0.0.0/8, 2001:db8::/32 192.0.2.1", &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 3);
	netaddr_parse("10.1.2.3", &a);
	assert_true(cidr_list_match(&l, &a));
	netaddr_parse("::ffff:10.1.2.3", &a);
	assert_true(cidr_list_match(&l, &a));
	netaddr_parse("11.1.2.3", &a);
	assert_false(cidr_list_match(&l, &a));
	netaddr_parse("2001:db8:ffff::1", &a);
	assert_true(cidr_list_match(&l, &a));
	netaddr_parse("192.0.2.2", &a);
	assert_false(cidr_list_match(&l, &a));
	cidr_list_free(&l);

	assert_int_equal(cidr_list_parse("0.0.0.0/0", &l, why, sizeof(why)), 0);
	netaddr_parse("203.0.113.9", &a);
	assert_true(cidr_list_match(&l, &a));
	cidr_list_free(&l);
	assert_int_equal(cidr_list_parse("10.0.0.1/8", &l, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "host bits"));
	assert_int_equal(cidr_list_parse("10.0.0.0/33", &l, why, sizeof(why)), -1);
	assert_int_equal(cidr_list_parse("none", &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unfold),
		cmocka_unit_test(test_split_lf_message),
		cmocka_unit_test(test_split_mbox_and_counts),
		cmocka_unit_test(test_split_rejects_non_message),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_netaddr),
		cmocka_unit_test(test_inet_spec),
	};

	return cmocka_run_group_tests_name("header", tests, NULL, NULL);
}
