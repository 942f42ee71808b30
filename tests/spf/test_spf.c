/* Unit tests of spf.c that need no DNS server: engine selection, input
 * guards, IPv4-mapped clients, and concurrent use from several threads;
 * and of the builtin engine's parser (spf_record.c) and macro expander
 * (spf_macro.c) with the RFC 7208 section 7.4 examples.
 * (The RFC 7208 suite, run_rfc7208.py, covers evaluation.) */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns.h"
#include "log.h"
#include "sbuf.h"
#include "spf.h"
#include "spf_macro.h"
#include "spf_record.h"

static struct spf_engine *eng;
static struct dns_resolver *res;

static int
setup(void **state)
{
	struct dns_server srv;
	char why[256];

	(void)state;
	log_open("test_spf", 0, 0, LOG_LVL_ERR);
	/* A server that is never asked: these checks end before DNS. */
	if (dns_parse_server("127.0.0.1:9", &srv, why, sizeof(why)) != 0)
		return -1;
	res = dns_resolver_new(&srv, 1, 0, why, sizeof(why));
	eng = spf_engine_new(SPF_ENGINE_LIBSPF2, "mx.example.net", why, sizeof(why));
	return res && eng ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	spf_engine_free(eng);
	dns_resolver_free(res);
	dns_thread_done();
	return 0;
}

static enum spf_result
check(const char *ip, const char *helo, const char *sender,
    enum spf_identity id, struct spf_outcome *out)
{
	struct dns_ctx ctx;
	struct spf_query q = { .client_ip = ip, .helo = helo, .sender = sender, .identity = id };

	dns_ctx_init(&ctx, res, 200);
	return spf_check(eng, &ctx, &q, out);
}

static void
test_builtin_available(void **state)
{
	char why[256] = "";
	struct spf_engine *b;

	(void)state;
	b = spf_engine_new(SPF_ENGINE_BUILTIN, "mx", why, sizeof(why));
	assert_non_null(b);
	spf_engine_free(b);
}

static void
test_result_names(void **state)
{
	(void)state;
	assert_string_equal(spf_result_str(SPF_RES_NONE), "none");
	assert_string_equal(spf_result_str(SPF_RES_SOFTFAIL), "softfail");
	assert_string_equal(spf_result_str(SPF_RES_PERMERROR), "permerror");
}

static void
test_input_guards(void **state)
{
	struct spf_outcome o;

	(void)state;
	assert_int_equal(check("", "h.example.com", "a@example.com", SPF_ID_MAILFROM, &o), SPF_RES_NONE);
	assert_non_null(strstr(o.why, "no client IP"));
	assert_int_equal(check(NULL, NULL, NULL, SPF_ID_MAILFROM, &o), SPF_RES_NONE);
	assert_int_equal(check("1.2.3.999", "h.example.com", "a@example.com", SPF_ID_MAILFROM, &o), SPF_RES_NONE);
	assert_non_null(strstr(o.why, "not an IPv4 or IPv6"));
	assert_int_equal(check("192.0.2.1", "", "", SPF_ID_MAILFROM, &o), SPF_RES_NONE);
	assert_string_equal(o.why, "null sender and no HELO name to check");
	assert_int_equal(check("192.0.2.1", "", "x", SPF_ID_HELO, &o), SPF_RES_NONE);
	assert_string_equal(o.why, "no HELO name to check");
	assert_int_equal(check("192.0.2.1", "h", "user@", SPF_ID_MAILFROM, &o), SPF_RES_NONE);
	assert_string_equal(o.why, "no domain in the sender address");
	assert_int_equal(check("192.0.2.1", "h", "user@localhost", SPF_ID_MAILFROM, &o), SPF_RES_NONE);
	assert_int_equal(check("192.0.2.1", "h", "u@a..example.com", SPF_ID_MAILFROM, &o), SPF_RES_NONE);
}

static void
test_identity(void **state)
{
	struct spf_outcome o;

	(void)state;
	/* libspf2 lets loopback clients pass without DNS: handy here. */
	assert_int_equal(check("127.0.0.1", "mail.example.org", "", SPF_ID_MAILFROM, &o), SPF_RES_PASS);
	assert_string_equal(o.identity, "postmaster@mail.example.org");
	assert_string_equal(o.domain, "mail.example.org");
	check("127.0.0.1", "mail.example.org", "<bob@example.com>", SPF_ID_MAILFROM, &o);
	assert_string_equal(o.identity, "bob@example.com");
	assert_string_equal(o.domain, "example.com");
	check("127.0.0.1", "mail.example.org", "bob@example.com", SPF_ID_HELO, &o);
	assert_string_equal(o.identity, "mail.example.org");
	assert_string_equal(o.domain, "mail.example.org");
}

static void
test_v4_mapped(void **state)
{
	struct spf_outcome o;

	(void)state;
	/* ::ffff:127.0.0.1 is checked as 127.0.0.1 (loopback: pass). */
	assert_int_equal(check("::ffff:127.0.0.1", "h.example.com", "a@example.com",
	    SPF_ID_MAILFROM, &o), SPF_RES_PASS);
	assert_int_equal(check("::1", "h.example.com", "a@example.com",
	    SPF_ID_MAILFROM, &o), SPF_RES_PASS);
}

static void *
worker(void *arg)
{
	struct spf_outcome o;
	int i, *bad = arg;

	for (i = 0; i < 200; i++) {
		if (check("127.0.0.1", "h.example.com", "a@example.com",
		    SPF_ID_MAILFROM, &o) != SPF_RES_PASS)
			(*bad)++;
		if (check("", "h.example.com", "a@example.com",
		    SPF_ID_MAILFROM, &o) != SPF_RES_NONE)
			(*bad)++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t t[4];
	int bad[4] = { 0 }, i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, &bad[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(bad[i], 0);
	}
}

/* ---- builtin engine: parser ---- */

static void
test_record_parse(void **state)
{
	static const char rec[] = "v=spf1  +a/24//64 mx:mx.%{d2} -ip4:192.0.2.0/0 "
	    "ip6:2001:DB8::/32 ~include:_spf.example.com ?exists:%{ir}.x.example "
	    "ptr redirect=r.example exp=why.%{d} moo.cow-far_out=man:dog/cat ";
	struct spf_record r;
	char err[256];

	(void)state;
	assert_true(spf_record_is_spf(rec, strlen(rec)));
	assert_false(spf_record_is_spf("v=spf10", 7));
	assert_true(spf_record_is_spf("V=SPF1", 6));
	assert_int_equal(spf_record_parse(rec, strlen(rec), &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 10);
	assert_int_equal(r.terms[0].mech, SPF_M_A);
	assert_int_equal(r.terms[0].cidr4, 24);
	assert_int_equal(r.terms[0].cidr6, 64);
	assert_int_equal(r.terms[1].mech, SPF_M_MX);
	assert_int_equal(r.terms[1].spec_len, 8);
	assert_int_equal(r.terms[2].qual, '-');
	assert_int_equal(r.terms[2].cidr4, 0);
	assert_int_equal(r.terms[3].mech, SPF_M_IP6);
	assert_int_equal(r.terms[4].qual, '~');
	assert_int_equal(r.redirect, 7);
	assert_int_equal(r.exp, 8);
	assert_int_equal(r.terms[9].kind, SPF_T_UNKNOWN_MOD);
	spf_record_free(&r);
}

static void
test_record_errors(void **state)
{
	static const struct { const char *rec, *why; } bad[] = {
		{ "v=spf1 ip4:1.2.3.4/032", "term 1 'ip4:1.2.3.4/032'" },
		{ "v=spf1 a:museum", "bad domain-spec" },
		{ "v=spf1 a:foo.example.com:25", "bad domain-spec" },
		{ "v=spf1 a//129", "bad IPv6 CIDR length" },
		{ "v=spf1 exists:x.example/24", "bad domain-spec" },
		{ "v=spf1 -all redirect=a.example redirect=b.example", "redirect= given twice" },
		{ "v=spf1 redirect:a.example", "unknown mechanism" },
		{ "v=spf1 ip4:1.2.3", "not a.b.c.d" },
		{ "v=spf1 a:%{r}.example", "bad domain-spec" },
		{ "v=spf1 exists:%{d0}.example", "bad domain-spec" },
		{ "v=spf1 foo=%abc", "bad macro-string" },
		{ "v=spf1 =all", "unknown mechanism" },
		{ "v=spf1 a\tmx", "octet 0x09" },
		{ "v=spf1 -all/8", "takes no argument" },
	};
	struct spf_record r;
	char err[256], rec[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(rec, sizeof(rec), "%s", bad[i].rec);
		assert_int_equal(spf_record_parse(rec, strlen(rec), &r, err, sizeof(err)), -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("\"%s\": error \"%s\"", bad[i].rec, err);
		spf_record_free(&r);
	}
	/* a NUL inside the record is an error, not the end */
	assert_int_equal(spf_record_parse("v=spf1 a\0 -all", 14, &r, err, sizeof(err)), -1);
	spf_record_free(&r);
}

/* ---- builtin engine: macros (RFC 7208 section 7.4) ---- */

static void
expand_is(const char *in, int v4, const char *want)
{
	static const unsigned char ip4[4] = { 192, 0, 2, 3 };
	static const unsigned char ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0xcb, 0x01 };
	struct spf_macro_vars v;
	struct sbuf b;

	memset(&v, 0, sizeof(v));
	v.sender = "strong-bad@email.example.com";
	v.local = "strong-bad";
	v.sender_domain = "email.example.com";
	v.domain = "email.example.com";
	v.helo = "mx.example.org";
	v.v4 = v4;
	memcpy(v.ip, v4 ? ip4 : ip6, v4 ? 4 : 16);
	assert_int_equal(spf_macro_check(in, strlen(in), 1, NULL), 0);
	sbuf_init(&b, 1024);
	assert_int_equal(spf_macro_expand(in, strlen(in), 1, &v, &b), 0);
	if (strcmp(b.s, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", in, b.s, want);
	sbuf_free(&b);
}

static void
test_macro_examples(void **state)
{
	(void)state;
	expand_is("%{s}", 1, "strong-bad@email.example.com");
	expand_is("%{o}", 1, "email.example.com");
	expand_is("%{d}", 1, "email.example.com");
	expand_is("%{d4}", 1, "email.example.com");
	expand_is("%{d3}", 1, "email.example.com");
	expand_is("%{d2}", 1, "example.com");
	expand_is("%{d1}", 1, "com");
	expand_is("%{dr}", 1, "com.example.email");
	expand_is("%{d2r}", 1, "example.email");
	expand_is("%{l}", 1, "strong-bad");
	expand_is("%{l-}", 1, "strong.bad");
	expand_is("%{lr}", 1, "strong-bad");
	expand_is("%{lr-}", 1, "bad.strong");
	expand_is("%{l1r-}", 1, "strong");
	expand_is("%{ir}.%{v}._spf.%{d2}", 1, "3.2.0.192.in-addr._spf.example.com");
	expand_is("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", 1,
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	expand_is("%{d2}.trusted-domains.example.net", 1,
	    "example.com.trusted-domains.example.net");
	expand_is("%{ir}.%{v}._spf.%{d2}", 0, "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
	expand_is("%{S} %{c} %{r}%%%_%-", 1, "strong-bad%40email.example.com 192.0.2.3 unknown% %20");
	expand_is("%{c}", 0, "2001:db8::cb01");
}

static void
test_domain_truncate(void **state)
{
	char name[400];

	(void)state;
	/* 5 labels of 60 + "example": over 253, cut from the left */
	snprintf(name, sizeof(name), "%060d.%060d.%060d.%060d.%060d.example", 1, 2, 3, 4, 5);
	spf_domain_truncate(name);
	assert_true(strlen(name) <= 253);
	assert_string_equal(name + strlen(name) - 8, ".example");
	assert_int_equal(name[59], '2');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_available),
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_input_guards),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_v4_mapped),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_record_parse),
		cmocka_unit_test(test_record_errors),
		cmocka_unit_test(test_macro_examples),
		cmocka_unit_test(test_domain_truncate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
