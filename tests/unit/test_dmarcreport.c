/* Unit tests of the DMARC aggregate report pieces: reportmsg.c (the
 * Subject of report mail), dmarcreport.c (days, the writer on stored
 * values through its sink, without a store). The end-to-end test is
 * tests/reports/test_reports_build.py. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zlib.h>

#include "dmarcreport.h"
#include "reportmsg.h"

static int
subject(const char *s, char *domain)
{
	return reportmsg_subject(s, strlen(s), domain, 254);
}

static void
test_report_subjects(void **state)
{
	char d[254];

	(void)state;
	assert_int_equal(subject("Report Domain: example.com Submitter: mx.example.net "
	    "Report-ID: <2026.12.01@mx.example.net>", d), 1);
	assert_string_equal(d, "example.com");
	/* any case, any blanks, folded, a bare Report-ID, no blank after its colon */
	assert_int_equal(subject(" report\r\n\tDOMAIN:  Example.COM\tsubmitter: google.com "
	    "REPORT-ID:123456789 ", d), 1);
	assert_string_equal(d, "example.com");
	assert_int_equal(subject("Report Domain: example.com Submitter: google.com Report-ID:<x>", d), 1);
	/* not a report: a part missing, a name that is none, words in between */
	const char *const no[] = {
		"", "Report Domain: example.com", "Report Domain: example.com Submitter: google.com",
		"Report Domain: example.com Submitter: google.com Report-ID:",
		"Report Domain: example.com Submitter: google.com Report-ID:   ",
		"Report Domain: exa mple.com Submitter: google.com Report-ID: 1",
		"Report Domain: ex\001ample.com Submitter: google.com Report-ID: 1",
		"Report Domain: example..com Submitter: google.com Report-ID: 1",
		"Report Domain: example.com Submitter: goo<gle.com Report-ID: 1",
		"Re: Report Domain: example.com Submitter: google.com Report-ID: 1",
		"ReportDomain: example.com Submitter: google.com Report-ID: 1",
		"Report Domain:example.com Submitter: google.com Report-ID: 1",
		"Report Domain: example.com Submitter: google.com Report-Id 1",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		strcpy(d, "stale");
		assert_int_equal(subject(no[i], d), 0);
		assert_string_equal(d, "");
	}
	/* a NUL inside the value is not skipped over */
	assert_int_equal(reportmsg_subject("Report Domain: ex\0mple.com Submitter: a.b Report-ID: 1",
	    55, d, sizeof(d)), 0);
}

static void
test_days(void **state)
{
	long long b, e;

	(void)state;
	assert_int_equal(dmarcreport_day("2026-12-01", &b, &e), 0);
	assert_int_equal(b, 1796083200);
	assert_int_equal(e, b + 86399);
	assert_int_equal(dmarcreport_day("2028-02-29", &b, &e), 0);
	const char *const bad[] = { "2026-02-29", "2026-02-30", "2026-13-01", "2026-00-10", "2026-1-01",
		"2026-01-1", "26-01-01", "2026/01/01", "2026-01-01x", "1969-12-31", "", "+026-01-01" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dmarcreport_day(bad[i], &b, &e), -1);
}

/* The XML of a report (malloc'd, NUL-terminated). */
static char *
unzip(const struct report_file *f)
{
	char *xml = malloc(f->xml_len + 1);
	z_stream z;

	assert_non_null(xml);
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)f->gz;
	z.avail_in = (uInt)f->gz_len;
	z.next_out = (Bytef *)xml;
	z.avail_out = (uInt)f->xml_len;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	inflateEnd(&z);
	xml[f->xml_len] = '\0';
	return xml;
}

static void
test_hostile_values(void **state)
{
	struct dmarcreport_opts o = { "mx.example", "A & B <Reports>", "r@mx.example", "unit" };
	struct statsdb_dmarc_policy pol = { "example.com", "mailto:d@example.com", "reject", NULL,
		"bogus", "s", "x", "y", "treewalk" };
	struct statsdb_dmarc_record rec = {
		.domain = "example.com", .source_ip = "192.0.2.1\x0b",
		.header_from = "a\x01<b>&\"c\"\xff\xfe.example", .envelope_from = "\xc3\x28.example",
		.spf_domain = "]]><x>", .spf = "pass",
		.dkim = "example.com:s<1>:pass other.example:a&b:fail broken", .dkim_aligned = 1,
		.disposition = "pass", .override = "local_policy", .override_comment = "why <not>",
		.count = 5,
	};
	struct dmarcreport_set s;
	char why[200], *xml;
	xmlDocPtr doc;

	(void)state;
	assert_int_equal(dmarcreport_begin(&s, &o, "2026-12-01", why, sizeof(why)), 0);
	assert_int_equal(dmarcreport_sink.policy(&s, &pol, why, sizeof(why)), 0);
	assert_int_equal(dmarcreport_sink.other(&s, "example.com", "news.example.com",
	    "psl:news.example.com", 2, why, sizeof(why)), 0);
	assert_int_equal(dmarcreport_sink.record(&s, &rec, why, sizeof(why)), 0);
	/* a domain without rua=, one that is no name: no report */
	pol.domain = "other.example";
	pol.rua = NULL;
	assert_int_equal(dmarcreport_sink.policy(&s, &pol, why, sizeof(why)), 0);
	pol.domain = "../x";
	pol.rua = "mailto:a@b.c";
	assert_int_equal(dmarcreport_sink.policy(&s, &pol, why, sizeof(why)), 0);
	rec.domain = "other.example";
	assert_int_equal(dmarcreport_sink.record(&s, &rec, why, sizeof(why)), 0);
	assert_int_equal(dmarcreport_end(&s, why, sizeof(why)), 0);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(s.skipped, "../x: not a domain name"));
	assert_int_equal(s.v[0].messages, 5);
	assert_int_equal(s.v[0].records, 1);
	assert_string_equal(s.v[0].policy_domain, "example.com");
	assert_string_equal(s.v[0].rua, "mailto:d@example.com");
	const char *prefix = "mx.example!example.com!1796083200!1796169599!";
	assert_int_equal(strncmp(s.v[0].filename, prefix, strlen(prefix)), 0);
	assert_string_equal(s.v[0].filename + strlen(prefix) + strlen(s.v[0].report_id), ".xml.gz");
	xml = unzip(&s.v[0]);
	doc = xmlReadMemory(xml, (int)s.v[0].xml_len, "r.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
	assert_non_null(doc);
	xmlFreeDoc(doc);
	assert_non_null(strstr(xml, "<org_name>A &amp; B &lt;Reports&gt;</org_name>"));
	assert_non_null(strstr(xml, "<header_from>a?&lt;b&gt;&amp;\"c\"??.example</header_from>"));
	assert_non_null(strstr(xml, "<envelope_from>?(.example</envelope_from>"));
	assert_non_null(strstr(xml, "<source_ip>192.0.2.1?</source_ip>"));
	assert_non_null(strstr(xml, "<domain>]]&gt;&lt;x&gt;</domain>"));
	assert_non_null(strstr(xml, "<selector>s&lt;1&gt;</selector>"));
	assert_non_null(strstr(xml, "<selector>a&amp;b</selector>"));
	assert_non_null(strstr(xml, "<disposition>pass</disposition>"));
	assert_non_null(strstr(xml, "<type>local_policy</type>"));
	assert_non_null(strstr(xml, "<comment>why &lt;not&gt;</comment>"));
	/* sp absent: p; np and aspf unusable: defaults, said in error */
	assert_non_null(strstr(xml, "<sp>reject</sp>"));
	assert_non_null(strstr(xml, "<np>reject</np>"));
	assert_non_null(strstr(xml, "<aspf>r</aspf>"));
	assert_non_null(strstr(xml, "<testing>y</testing>"));
	assert_non_null(strstr(xml, "np=bogus is not usable"));
	assert_non_null(strstr(xml, "aspf=x is not usable"));
	assert_non_null(strstr(xml, "a stored DKIM entry without a result: broken"));
	assert_non_null(strstr(xml, "2 messages from news.example.com: the organizational domain "
	    "under psl would be news.example.com"));
	free(xml);
	dmarcreport_free(&s);
}

/* A DKIM list longer than a report takes: the first whole items, said. */
static void
test_long_dkim_list(void **state)
{
	struct dmarcreport_opts o = { "mx.example", "Org", "r@mx.example", "unit" };
	struct statsdb_dmarc_policy pol = { "example.com", "mailto:d@example.com", "none", NULL, NULL,
		"r", "r", "n", "psl" };
	struct statsdb_dmarc_record rec = { .domain = "example.com", .source_ip = "192.0.2.1",
		.header_from = "example.com", .disposition = "none", .count = 1 };
	struct dmarcreport_set s;
	char why[200], list[3000] = "", *xml;

	(void)state;
	for (size_t i = 0, len = 0; len + 40 < sizeof(list); i++, len = strlen(list))
		snprintf(list + len, sizeof(list) - len, "%sd%zu.example:s:pass", i ? " " : "", i);
	rec.dkim = list;
	assert_int_equal(dmarcreport_begin(&s, &o, "2026-12-01", why, sizeof(why)), 0);
	assert_int_equal(dmarcreport_sink.policy(&s, &pol, why, sizeof(why)), 0);
	assert_int_equal(dmarcreport_sink.record(&s, &rec, why, sizeof(why)), 0);
	assert_int_equal(dmarcreport_end(&s, why, sizeof(why)), 0);
	assert_int_equal(s.n, 1);
	xml = unzip(&s.v[0]);
	assert_non_null(strstr(xml, "<domain>d0.example</domain>"));
	assert_non_null(strstr(xml, "a stored DKIM list longer than a report takes, cut"));
	/* no item was cut in the middle (it would be an entry without a result) */
	assert_null(strstr(xml, "without a result"));
	assert_null(strstr(xml, "does not know"));
	free(xml);
	dmarcreport_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_subjects),
		cmocka_unit_test(test_days),
		cmocka_unit_test(test_hostile_values),
		cmocka_unit_test(test_long_dkim_list),
	};

	return cmocka_run_group_tests_name("dmarcreport", tests, NULL, NULL);
}
