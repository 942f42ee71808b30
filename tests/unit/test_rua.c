/* Unit tests of rua.c (the report destinations of a rua= tag: !size,
 * percent escapes, what is refused and why) and of reportsend's message
 * (the RFC 9990 subject, headers and MIME shape). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "options.h"
#include "reportsend.h"
#include "rua.h"

static size_t
parse(const char *v, struct rua_list *l)
{
	return rua_parse(v, strlen(v), l);
}

static void
test_sizes(void **state)
{
	struct rua_list l;

	(void)state;
	assert_int_equal(parse("mailto:a@example.com!10m, mailto:b@example.net!50k,"
	    "mailto:c@example.org!2048,mailto:d@example.org", &l), 4);
	assert_string_equal(l.dest[0].addr, "a@example.com");
	assert_string_equal(l.dest[0].domain, "example.com");
	assert_true(l.dest[0].max_size == 10ULL << 20);
	assert_true(l.dest[1].max_size == 50ULL << 10);
	assert_true(l.dest[2].max_size == 2048);
	assert_true(l.dest[3].max_size == 0);
	assert_int_equal(l.n_skipped, 0);
	assert_int_equal(parse("mailto:a@example.com!1t", &l), 1);
	assert_true(l.dest[0].max_size == 1ULL << 40);
	/* a huge limit is no limit, never a wrapped small one */
	assert_int_equal(parse("mailto:a@example.com!999999999999999t", &l), 1);
	assert_true(l.dest[0].max_size == ~0ULL);
	/* malformed limits: the URI is skipped, not sent without its limit */
	assert_int_equal(parse("mailto:a@example.com!", &l), 0);
	assert_int_equal(parse("mailto:a@example.com!10x", &l), 0);
	assert_int_equal(parse("mailto:a@example.com!0", &l), 0);
	assert_int_equal(parse("mailto:a@example.com!-5", &l), 0);
	assert_int_equal(parse("mailto:a@example.com!1234567890123456", &l), 0);
	assert_non_null(strstr(l.why, "bad !size"));
}

static void
test_addresses(void **state)
{
	struct rua_list l;

	(void)state;
	/* escapes decoded, domain lower-cased, final dot dropped, ?hfields ignored */
	assert_int_equal(parse(" mailto:Rua%2Btag@EXAMPLE.Org.?subject=x ", &l), 1);
	assert_string_equal(l.dest[0].addr, "Rua+tag@example.org");
	assert_int_equal(parse("MAILTO:x@example.com", &l), 1);
	/* other schemes are not destinations */
	assert_int_equal(parse("https://example.com/r", &l), 0);
	assert_non_null(strstr(l.why, "not a mailto: URI"));
	/* what could break a command line, an SMTP command or a header field */
	const char *bad[] = {
		"mailto:-oQ/tmp@example.com", "mailto:a%0d%0aBcc:x@example.com",
		"mailto:a%20b@example.com", "mailto:a%00@example.com", "mailto:<a@example.com>",
		"mailto:a@example.com%0a", "mailto:a@b@example.com", "mailto:a%40b@example.com",
		"mailto:@example.com", "mailto:a@", "mailto:a@localhost", "mailto:a@exa_mple..com",
		"mailto:a@ex ample.com", "mailto:\"a b\"@example.com", "mailto:a@[127.0.0.1]",
		"mailto:a%zz@example.com", "mailto:a%4@example.com", "mailto:a@\xc3\xa9xample.com",
		"mailto:.a@example.com", "mailto:a.@example.com",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &l) != 0)
			fail_msg("accepted %s as %s", bad[i], l.dest[0].addr);
		assert_int_equal(l.n_skipped, 1);
		assert_true(l.why[0] != '\0');
		/* the reason shows the URI with nothing unprintable */
		for (const char *p = l.why; *p; p++)
			assert_true(*p >= ' ' && *p < 0x7f);
	}
	/* a local part of 65 octets, a domain label of 64 */
	char big[400];
	snprintf(big, sizeof(big), "mailto:%065d@example.com", 0);
	assert_int_equal(parse(big, &l), 0);
	snprintf(big, sizeof(big), "mailto:a@%064d.com", 0);
	assert_int_equal(parse(big, &l), 0);
}

static void
test_list(void **state)
{
	struct rua_list l;

	(void)state;
	/* duplicates kept once with the smaller limit; empty items ignored */
	assert_int_equal(parse("mailto:a@example.com!5m,,mailto:a@EXAMPLE.com!1m,", &l), 1);
	assert_true(l.dest[0].max_size == 1ULL << 20);
	assert_int_equal(l.n_skipped, 0);
	/* at most RUA_MAX_DESTS, the rest counted */
	assert_int_equal(parse("mailto:a@e.com,mailto:b@e.com,mailto:c@e.com,mailto:d@e.com,"
	    "mailto:e@e.com,mailto:f@e.com", &l), RUA_MAX_DESTS);
	assert_int_equal(l.n_skipped, 2);
	assert_non_null(strstr(l.why, "more destinations"));
	/* a bad URI does not spoil the good ones */
	assert_int_equal(parse("mailto:bad address@e.com, mailto:good@e.com", &l), 1);
	assert_string_equal(l.dest[0].addr, "good@e.com");
	assert_int_equal(parse("", &l), 0);
	assert_int_equal(l.n_skipped, 0);
	/* configured addresses go through the same rules */
	struct rua_dest d;
	assert_null(rua_address("reports@example.net", &d));
	assert_non_null(rua_address("a%40b@example.net", &d));
	assert_non_null(rua_address("-f@example.net", &d));
	assert_non_null(rua_address("a b@example.net", &d));
}

static void
test_message(void **state)
{
	struct sc_config cfg;
	struct sbuf errs, msg;
	struct dmarcreport_opts from = { .org_name = "Example \r\nBcc: x@y Org", .email = "dmarc@receiver.example" };
	const unsigned char gz[] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct report_file r = { .policy_domain = "example.com", .rua = "mailto:a@example.com",
		.day = "2026-12-01", .report_id = "r1a2b3",
		.filename = "mx.receiver.example!example.com!1764547200!1764633599!r1a2b3.xml.gz",
		.gz = gz, .gz_len = sizeof(gz) };

	(void)state;
	sbuf_init(&errs, 4096);
	assert_int_equal(config_load_string(&cfg, "t", "AuthservID mx.receiver.example\n", &errs), 0);
	sbuf_init(&msg, 1 << 20);
	assert_int_equal(reportsend_message(&cfg, &from, &r, "a@example.com", &msg), 0);
	assert_non_null(strstr(msg.s, "\r\nSubject: Report Domain: example.com Submitter: "
	    "mx.receiver.example Report-ID: <r1a2b3>\r\n"));
	assert_true(strncmp(msg.s, "From: dmarc@receiver.example\r\nTo: a@example.com\r\n", 48) == 0);
	assert_non_null(strstr(msg.s, "\r\nAuto-Submitted: auto-generated\r\n"));
	assert_non_null(strstr(msg.s, "Content-Type: multipart/mixed;"));
	assert_non_null(strstr(msg.s, "Content-Type: application/gzip; name=\"mx.receiver.example!"
	    "example.com!1764547200!1764633599!r1a2b3.xml.gz\""));
	assert_non_null(strstr(msg.s, "Content-Transfer-Encoding: base64\r\n\r\nH4sIAAAAAAAAAwMAAAAAAAAAAAA=\r\n"));
	/* the org name is text in the body: its line break cannot add a header field */
	assert_null(strstr(msg.s, "\nBcc:"));
	/* every line ends in CRLF, none is longer than 998 octets */
	for (size_t i = 0, col = 0; i < msg.len; i++, col++) {
		if (msg.s[i] == '\n') {
			assert_true(i > 0 && msg.s[i - 1] == '\r');
			col = 0;
		}
		assert_true(col < 998);
	}
	sbuf_free(&msg);
	sbuf_free(&errs);
	config_free(&cfg);
}

static void
test_config(void **state)
{
	struct sc_config cfg;
	struct sbuf errs;
	const char *bad[] = {
		"ReportSender -oQ@example.com\n", "ReportCopyTo a b@example.com\n",
		"ReportSMTP 127.0.0.1\n", "ReportSMTP 127.0.0.1:0\n", "ReportSMTP :25\n",
		"ReportSMTP 127.0.0.1:99999\n", "ReportSMTP 127.0.0.1:25x\n", "ReportMaxPerRun 0\n",
		"ReportMaxSize 10\n", "ReportSendmail sendmail\n", "ReportSendmail\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sbuf_init(&errs, 4096);
		if (config_load_string(&cfg, "t", bad[i], &errs) == 0)
			fail_msg("accepted %s", bad[i]);
		config_free(&cfg);
		sbuf_free(&errs);
	}
	sbuf_init(&errs, 4096);
	assert_int_equal(config_load_string(&cfg, "t", "ReportSender bounces@example.net\n"
	    "ReportSMTP [::1]:2525\nReportCopyTo archive@example.net\nReportMaxSize 4294967295\n",
	    &errs), 0);
	assert_string_equal(cfg.report_smtp, "[::1]:2525");
	assert_true(cfg.report_max_size == 4294967295u);
	assert_int_equal(cfg.report_max_per_run, 1000);
	assert_string_equal(cfg.report_sendmail, "/usr/sbin/sendmail");
	config_free(&cfg);
	sbuf_free(&errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
