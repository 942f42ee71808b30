/* Unit tests of spf.c that need no DNS server: engine selection, input
 * guards, IPv4-mapped clients, and concurrent use from several threads.
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
#include "spf.h"

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
	struct spf_query q = { ip, helo, sender, id };

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
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
