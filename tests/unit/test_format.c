/* Unit tests of format.c: the RFC 5322 format rule (one From with one
 * mailbox, Date, Message-ID, single fields, 998-octet lines) and the
 * date-time parser. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format.h"
#include "header.h"

static void
add(struct header_list *hl, const char *name, const char *value)
{
	char why[128];

	if (header_list_add(hl, name, value, strlen(value), why, sizeof(why)) != 0)
		fail_msg("header_list_add: %s", why);
}

/* A good message's fields, minus the one named skip. */
static void
base(struct header_list *hl, const char *skip)
{
	static const char *const f[][2] = {
		{ "Received", " from a by b; Mon, 1 Jan 2024 10:00:01 +0000" },
		{ "From", " Sender Name <news@example.com>" },
		{ "To", " reader@example.net" },
		{ "Subject", " Hello" },
		{ "Date", " Mon, 1 Jan 2024 10:00:00 +0000" },
		{ "Message-ID", " <abc.123@mail.example.com>" },
		{ "Received", " from c by d; Mon, 1 Jan 2024 10:00:00 +0000" },
		{ "Keywords", " a" },
		{ "Keywords", " b" },
		{ "Comments", " c" },
		{ "Comments", " d" },
	};

	header_list_init(hl);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (skip == NULL || strcmp(f[i][0], skip) != 0)
			add(hl, f[i][0], f[i][1]);
}

/* The stored problem for field, or NULL. */
static const struct format_problem *
find(const struct format_result *r, const char *field)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].field, field) == 0)
			return &r->v[i];
	return NULL;
}

static void
expect(const struct format_result *r, const char *field, enum format_level level, const char *why)
{
	const struct format_problem *p = find(r, field);

	if (p == NULL)
		fail_msg("no problem for %s", field);
	if (p->level != level || strstr(p->reason, why) == NULL)
		fail_msg("%s: level %d \"%s\", expected %d \"%s\"", field, p->level, p->reason, level, why);
}

static void
test_good_message(void **state)
{
	struct header_list hl;
	struct format_result r;

	(void)state;
	base(&hl, NULL);
	format_check(&hl, &r);
	if (r.n)
		fail_msg("unexpected: %s: %s", r.v[0].field, r.v[0].reason);
	assert_true(r.pass);
	assert_int_equal(r.n_fail + r.n_warn, 0);
	assert_true(r.has_from);
	assert_string_equal(r.from.local, "news");
	assert_string_equal(r.from.domain, "example.com");
	assert_string_equal(r.from.display, "Sender Name");
	assert_true(r.date_ok);
	assert_int_equal(r.date.epoch, 1704103200);
	header_list_free(&hl);
}

static void
test_missing_fields(void **state)
{
	static const struct { const char *field, *why; } cases[] = {
		{ "From", "no From field (RFC 5322 section 3.6 requires one)" },
		{ "Date", "no Date field (RFC 5322 section 3.6 requires one)" },
		{ "Message-ID", "no Message-ID field" },
	};
	struct header_list hl;
	struct format_result r;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		base(&hl, cases[i].field);
		format_check(&hl, &r);
		assert_false(r.pass);
		assert_int_equal(r.n_fail, 1);
		expect(&r, cases[i].field, FORMAT_FAIL, cases[i].why);
		assert_int_equal(r.has_from, i != 0);
		header_list_free(&hl);
	}
	header_list_init(&hl);
	format_check(&hl, &r);
	assert_int_equal(r.n_fail, 3);
	assert_int_equal(r.n, 3);
	header_list_free(&hl);
}

static void
test_duplicated_single_fields(void **state)
{
	static const char *const names[] = {
		"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID",
		"In-Reply-To", "References", "Subject",
	};
	struct header_list hl;
	struct format_result r;
	char want[200];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		base(&hl, NULL);
		/* values that are fine on their own, in another case */
		add(&hl, names[i], strcmp(names[i], "Date") == 0 ? " Mon, 1 Jan 2024 10:00:00 +0000" :
		    strcmp(names[i], "Message-ID") == 0 ? " <x@y.example>" : " a@example.org");
		add(&hl, names[i], strcmp(names[i], "Date") == 0 ? " Mon, 1 Jan 2024 10:00:00 +0000" :
		    strcmp(names[i], "Message-ID") == 0 ? " <x@y.example>" : " a@example.org");
		format_check(&hl, &r);
		assert_false(r.pass);
		if (strcmp(names[i], "From") == 0)
			snprintf(want, sizeof(want), "%u From fields: one author address is needed "
			    "(DMARC judges one From domain; RFC 5322 section 3.6 allows one From "
			    "field)", header_count(&hl, "From"));
		else
			snprintf(want, sizeof(want), "%u %s fields (RFC 5322 section 3.6 allows one)",
			    header_count(&hl, names[i]), names[i]);
		expect(&r, names[i], FORMAT_FAIL, want);
		assert_int_equal(r.n_fail, 1);
		if (strcmp(names[i], "From") == 0)
			assert_false(r.has_from);
		header_list_free(&hl);
	}
	/* the name's case does not matter */
	base(&hl, NULL);
	add(&hl, "FROM", " other@example.org");
	format_check(&hl, &r);
	expect(&r, "From", FORMAT_FAIL, "2 From fields");
	header_list_free(&hl);
}

static void
test_from_forms(void **state)
{
	static const struct { const char *value; int pass; const char *why; } cases[] = {
		{ " a@example.com, b@example.com", 0, "2 addresses in the From field: one author "
		  "address is needed (DMARC judges one From domain; RFC 5322 section 3.6.2 allows "
		  "several only beside a Sender field)" },
		{ " Authors: a@example.com;", 0, "group syntax" },
		{ " undisclosed-recipients:;", 0, "group syntax" },
		{ " Doe, John <j@example.com>", 0, "From does not parse at octet 1: 'Doe' is not an address" },
		{ " ", 0, "no address" },
		{ " <>", 0, "empty address" },
		{ " user@[192.0.2.1]", 1, "address literal: DMARC cannot apply" },
		{ " \"Doe, John\" (x) <John.Doe@Example.COM> (y)", 1, NULL },
		{ " john.doe@example.com (John Doe)", 1, NULL },
	};
	struct header_list hl;
	struct format_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		base(&hl, "From");
		add(&hl, "From", cases[i].value);
		format_check(&hl, &r);
		if (r.pass != cases[i].pass)
			fail_msg("case %zu: pass %d", i, r.pass);
		assert_int_equal(r.has_from, cases[i].pass);
		if (cases[i].why)
			expect(&r, "From", cases[i].pass ? FORMAT_WARN : FORMAT_FAIL, cases[i].why);
		else
			assert_int_equal(r.n, 0);
		header_list_free(&hl);
	}
	base(&hl, "From");
	add(&hl, "From", " \"Doe, John\" (x) <John.Doe@Example.COM> (y)");
	format_check(&hl, &r);
	assert_string_equal(r.from.local, "John.Doe");
	assert_string_equal(r.from.domain, "example.com");
	header_list_free(&hl);
}

static void
test_bad_date_is_a_warning(void **state)
{
	struct header_list hl;
	struct format_result r;

	(void)state;
	base(&hl, "Date");
	add(&hl, "Date", " 2024-01-01T10:00:00Z");
	format_check(&hl, &r);
	assert_true(r.pass);
	assert_false(r.date_ok);
	assert_int_equal(r.n_warn, 1);
	expect(&r, "Date", FORMAT_WARN, "Date is not an RFC 5322 date-time");
	header_list_free(&hl);
}

static void
test_date_parser(void **state)
{
	static const struct { const char *in; long long epoch; int obsolete; } good[] = {
		{ " Mon, 1 Jan 2024 10:00:00 +0000", 1704103200, 0 },
		{ "Mon, 01 Jan 2024 11:00:00 +0100", 1704103200, 0 },
		{ " mon, 1 JAN 2024 10:00:00 +0000", 1704103200, 0 },
		{ " 1 Jan 2024 10:00 +0000", 1704103200, 0 },
		{ " 1 Jan 24 10:00:00 GMT", 1704103200, 1 },
		{ " 1 Jan 2024 05:00:00 EST", 1704103200, 1 },
		{ " Sat, 29 Feb 2020 12:00:00 -0500 (EST)", 1582995600, 0 },
		{ " Sat, 29 Feb 2020\r\n 12:00:00 -0500", 1582995600, 0 },
		{ " Thu, 1 Jan 1970 00:00:00 +0000", 0, 0 },
		{ " Fri, 31 Dec 1999 23:59:60 +0000", 946684800, 0 },
		{ " (c) Mon (c) , (c) 1 (c) Jan (c) 2024 (c) 10 : 00 : 00 (c) +0000 (c)", 1704103200, 0 },
		{ " 1 Jan 2024 10:00:00 Z", 1704103200, 1 },
		{ " 1 Jan 99 10:00:00 +0000", 915184800, 1 },
		{ " Tue, 29 Feb 2000 00:00:00 +0000", 951782400, 0 },
	};
	static const struct { const char *in, *why; } bad[] = {
		{ "", "day of month" },
		{ " 2024-01-01T10:00:00Z", "day of month" },
		{ " 1-Jan-2024 10:00:00 +0000", "month name" },
		{ " Fri, 1 Jan 2024 10:00:00 +0000", "Fri is not the day of week of 1 Jan 2024 (Mon)" },
		{ " 30 Feb 2024 10:00:00 +0000", "day 30 does not exist in Feb 2024" },
		{ " 29 Feb 1900 10:00:00 +0000", "day 29 does not exist" },
		{ " 0 Jan 2024 10:00:00 +0000", "day 0 does not exist" },
		{ " 1 Jan 2024 24:00:00 +0000", "out of range" },
		{ " 1 Jan 2024 10:60:00 +0000", "out of range" },
		{ " 1 Jan 2024 10:00:00", "missing or unknown time zone" },
		{ " 1 Jan 2024 10:00:00 +01", "zone is not +hhmm" },
		{ " 1 Jan 2024 10:00:00 +0160", "zone minutes" },
		{ " 1 Jan 2024 10:00:00 CEST", "unknown time zone" },
		{ " 1 Jan 2024 10:00:00 J", "unknown time zone" },
		{ " 1 Jan 2024 10:00:00 +0000 extra", "text after the time zone" },
		{ " Mo, 1 Jan 2024 10:00:00 +0000", "unknown day name" },
		{ " Mon 1 Jan 2024 10:00:00 +0000", "expected ','" },
		{ " 1 Janvier 2024 10:00:00 +0000", "unknown month" },
		{ " 1 Jan 1899 10:00:00 +0000", "year 1899" },
		{ " 1 Jan 2024 1:00:00 +0000", "2-digit hour" },
		{ " 1 Jan 2024 10:00:00 +0000 (unclosed", "text after" },
		{ " 1 Jan 123456789012 10:00:00 +0000", "expected a year" },
		{ " 123 Jan 2024 10:00:00 +0000", "day of month" },
	};
	struct format_date d;
	char why[120];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (format_date_parse(good[i].in, strlen(good[i].in), &d, why, sizeof(why)) != 0)
			fail_msg("good %zu \"%s\": %s", i, good[i].in, why);
		if (d.epoch != good[i].epoch || d.obsolete != good[i].obsolete)
			fail_msg("good %zu: epoch %lld obsolete %d", i, d.epoch, d.obsolete);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (format_date_parse(bad[i].in, strlen(bad[i].in), &d, why, sizeof(why)) == 0)
			fail_msg("bad %zu \"%s\" parsed", i, bad[i].in);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("bad %zu \"%s\": \"%s\", expected \"%s\"", i, bad[i].in, why, bad[i].why);
	}
}

static void
test_message_id_syntax(void **state)
{
	static const struct { const char *value; int ok; } cases[] = {
		{ " <abc@example.com>", 1 },
		{ " <a.b.c-1$2@[192.0.2.1]>", 1 },
		{ " (comment) <abc@example.com> (another)", 1 },
		{ " <\"quoted left\"@example.com>", 1 },
		{ " abc@example.com", 0 },
		{ " <abc>", 0 },
		{ " <abc@>", 0 },
		{ " <@example.com>", 0 },
		{ " Name <abc@example.com>", 0 },
		{ " <abc@example.com> <def@example.com>", 0 },
		{ " <abc@example.com", 0 },
		{ " ", 0 },
	};
	struct header_list hl;
	struct format_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		base(&hl, "Message-ID");
		add(&hl, "Message-ID", cases[i].value);
		format_check(&hl, &r);
		assert_true(r.pass);
		if ((r.n_warn == 0) != cases[i].ok)
			fail_msg("case %zu \"%s\": %u warnings", i, cases[i].value, r.n_warn);
		if (!cases[i].ok)
			expect(&r, "Message-ID", FORMAT_WARN, "Message-ID is not <left@right>");
		header_list_free(&hl);
	}
}

static void
test_sender_reply_to(void **state)
{
	struct header_list hl;
	struct format_result r;

	(void)state;
	base(&hl, NULL);
	add(&hl, "Sender", " a@example.com, b@example.com");
	add(&hl, "Reply-To", " Doe, John <j@example.com>");
	format_check(&hl, &r);
	assert_true(r.pass);
	assert_int_equal(r.n_warn, 2);
	expect(&r, "Sender", FORMAT_WARN, "Sender is not one mailbox");
	expect(&r, "Reply-To", FORMAT_WARN, "Reply-To does not parse at octet 1");
	header_list_free(&hl);

	base(&hl, NULL);
	add(&hl, "Sender", " <list-bounces@example.com>");
	add(&hl, "Reply-To", " a@example.com, Team: b@example.com, c@example.com;");
	format_check(&hl, &r);
	assert_int_equal(r.n, 0);
	header_list_free(&hl);
}

/* A value that makes "Name:" + value exactly total octets long. */
static char *
value_for(const char *name, size_t total)
{
	size_t n = total - strlen(name) - 1;
	char *v = malloc(n + 1);

	assert_non_null(v);
	memset(v, 'x', n);
	v[0] = ' ';
	v[n] = '\0';
	return v;
}

static void
test_line_length_boundary(void **state)
{
	struct header_list hl;
	struct format_result r;
	char *v;

	(void)state;
	base(&hl, "Subject");
	v = value_for("Subject", 998);
	add(&hl, "Subject", v);
	free(v);
	format_check(&hl, &r);
	assert_true(r.pass);
	assert_int_equal(r.n, 0);
	header_list_free(&hl);

	base(&hl, "Subject");
	v = value_for("Subject", 999);
	add(&hl, "Subject", v);
	free(v);
	format_check(&hl, &r);
	assert_false(r.pass);
	expect(&r, "Subject", FORMAT_FAIL,
	    "Subject: line 1 is 999 octets (RFC 5322 section 2.1.1 allows 998)");
	header_list_free(&hl);

	/* the name counts: a long field name on the first line */
	base(&hl, NULL);
	v = value_for("X-Some-Very-Long-Header-Name", 999);
	add(&hl, "X-Some-Very-Long-Header-Name", v);
	free(v);
	format_check(&hl, &r);
	expect(&r, "X-Some-Very-Long-Header-Name", FORMAT_FAIL, "line 1 is 999 octets");
	header_list_free(&hl);
}

static void
test_folded_long_fields(void **state)
{
	struct header_list hl;
	struct format_result r;
	char *v = malloc(4000);
	size_t o;

	(void)state;
	assert_non_null(v);
	/* 3000 octets in all, folded into lines under 998: fine */
	o = 0;
	for (int l = 0; l < 4; l++) {
		memcpy(v + o, l ? "\r\n " : " ", l ? 3 : 1);
		o += l ? 3 : 1;
		memset(v + o, 'a' + l, 700);
		o += 700;
	}
	v[o] = '\0';
	base(&hl, NULL);
	add(&hl, "References", v);
	format_check(&hl, &r);
	assert_true(r.pass);
	header_list_free(&hl);

	/* a continuation line of exactly 998 (the WSP counts), then 999 */
	for (size_t len = 998; len <= 999; len++) {
		memcpy(v, " short\r\n", 8);
		memset(v + 8, ' ', 1);
		memset(v + 9, 'y', len - 1);
		memcpy(v + 8 + len, "\r\n end", 7);
		base(&hl, NULL);
		add(&hl, "X-Folded", v);
		format_check(&hl, &r);
		if (len == 998) {
			assert_true(r.pass);
		} else {
			assert_false(r.pass);
			expect(&r, "X-Folded", FORMAT_FAIL, "X-Folded: line 2 is 999 octets");
		}
		header_list_free(&hl);
	}
	/* LF-only folds are normalised by the header list and count the same */
	memcpy(v, " short\n", 7);
	memset(v + 7, 'z', 999);
	v[1006] = '\0';
	base(&hl, NULL);
	add(&hl, "X-Lf", v);
	format_check(&hl, &r);
	expect(&r, "X-Lf", FORMAT_FAIL, "line 2 is 999 octets");
	header_list_free(&hl);
	free(v);
}

static void
test_many_problems_are_counted(void **state)
{
	struct header_list hl;
	struct format_result r;
	char *v = value_for("X-Long", 1500);
	char name[32];

	(void)state;
	header_list_init(&hl);
	for (int i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "X-Long-%d", i);
		add(&hl, name, v);
		add(&hl, "Subject", " s");
	}
	free(v);
	format_check(&hl, &r);
	assert_false(r.pass);
	/* no From, Date, Message-ID; 60 Subjects; 60 long lines */
	assert_int_equal(r.n_fail, 3 + 1 + 60);
	assert_int_equal(r.n, FORMAT_MAX_PROBLEMS);
	expect(&r, "Subject", FORMAT_FAIL, "60 Subject fields");
	header_list_free(&hl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_message),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_duplicated_single_fields),
		cmocka_unit_test(test_from_forms),
		cmocka_unit_test(test_bad_date_is_a_warning),
		cmocka_unit_test(test_date_parser),
		cmocka_unit_test(test_message_id_syntax),
		cmocka_unit_test(test_sender_reply_to),
		cmocka_unit_test(test_line_length_boundary),
		cmocka_unit_test(test_folded_long_fields),
		cmocka_unit_test(test_many_problems_are_counted),
	};

	return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
