/*
 * The engine's early checks against a DNS server that never answers
 * (tests/lib/rogue_dns.py's blackhole, started by run_dns_live.sh). SPF
 * and iprev begin as soon as their input is known and run as tasks; the
 * end of the message waits for them or runs them again. Whatever order
 * the envelope comes in, a task and the message's own thread never write
 * what the other reads (the ThreadSanitizer build tells), and each check
 * gives its DNS error within DNSTimeout.
 *   SC_TEST_BLACKHOLE=127.0.0.1:PORT  a server that never answers
 * Without it the program exits 77 (skipped).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns.h"
#include "engine.h"
#include "histo.h"
#include "sbuf.h"

#define TIMEOUT_MS 300

static struct engine *eng;
static struct sc_config cfg;

/* Milliseconds on the monotonic clock. */
static long long
ms_now(void)
{
	return histo_now_us() / 1000;
}

/* A message with one From field, given to c, then its verdict. */
static const struct verdict *
finish(struct check *c)
{
	static const char from[] = "someone@example.org";

	check_header(c, "From", from, sizeof(from) - 1);
	check_eoh(c);
	check_body(c, (const unsigned char *)"hi\r\n", 4);
	return check_finish(c);
}

/* iprev's DNS error for the client, and no longer than DNSTimeout allows. */
static void
expect_iprev_timeout(const struct verdict *v, long long took)
{
	assert_true(v->iprev_done);
	if (v->iprev.result != IPREV_RES_TEMPERROR)
		fail_msg("iprev %d (%s), want temperror", (int)v->iprev.result, v->iprev.why);
	assert_string_equal(v->iprev.ip, "192.0.2.10");
	if (took > 3 * TIMEOUT_MS + 500)
		fail_msg("the message took %lld ms, DNSTimeout is %d ms", took, TIMEOUT_MS);
}

/*
 * No MAIL FROM and no message: iprev's task still runs (its PTR question
 * is never answered) when the end of the message runs SPF, which never
 * began. Nothing between them asks DNS, whose locks would order the two
 * threads' steps for ThreadSanitizer.
 */
static void
test_no_mail_from(void **state)
{
	struct check *c = check_new(eng);
	long long t0 = ms_now();
	const struct verdict *v;

	(void)state;
	assert_non_null(c);
	check_set_client(c, "192.0.2.10", "");
	v = check_finish(c);
	expect_iprev_timeout(v, ms_now() - t0);
	assert_true(v->spf_done);
	check_free(c);
}

/*
 * HELO after MAIL FROM: SPF's task is joined and run again at the end,
 * with iprev's task begun at the client address.
 */
static void
test_helo_after_mail_from(void **state)
{
	struct check *c = check_new(eng);
	long long t0 = ms_now();
	const struct verdict *v;

	(void)state;
	assert_non_null(c);
	check_set_client(c, "192.0.2.10", "");
	check_set_mail_from(c, "<a@example.org>");
	check_set_helo(c, "mail.example.org");
	v = finish(c);
	expect_iprev_timeout(v, ms_now() - t0);
	if (v->spf.result != SPF_RES_TEMPERROR)
		fail_msg("spf %d (%s), want temperror", (int)v->spf.result, v->spf.why);
	assert_string_equal(v->env.helo, "mail.example.org");
	check_free(c);
}

/* The client changes after MAIL FROM: both checks run again for the new one. */
static void
test_client_changes(void **state)
{
	struct check *c = check_new(eng);
	const struct verdict *v;

	(void)state;
	assert_non_null(c);
	check_set_client(c, "192.0.2.99", "");
	check_set_mail_from(c, "<a@example.org>");
	check_set_client(c, "192.0.2.10", "");
	v = finish(c);
	expect_iprev_timeout(v, 0);
	assert_string_equal(v->spf_ip, "192.0.2.10");
	check_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_mail_from),
		cmocka_unit_test(test_helo_after_mail_from),
		cmocka_unit_test(test_client_changes),
	};
	const char *hole = getenv("SC_TEST_BLACKHOLE");
	char text[256], why[256];
	struct sbuf errs;
	int rc;

	if (hole == NULL || *hole == '\0') {
		printf("skipped: SC_TEST_BLACKHOLE not set (run tests/unit/run_dns_live.sh)\n");
		return 77;
	}
	snprintf(text, sizeof(text), "Nameservers %s\nDNSTimeout %g\nVolumeFile\n",
	    hole, TIMEOUT_MS / 1000.0);
	sbuf_init(&errs, 4096);
	if (config_load_string(&cfg, "test", text, &errs) != 0) {
		fprintf(stderr, "config: %.*s\n", (int)errs.len, errs.s);
		return 1;
	}
	sbuf_free(&errs);
	if ((eng = engine_new(&cfg, ENGINE_READ_ONLY, why, sizeof(why))) == NULL) {
		fprintf(stderr, "engine_new: %s\n", why);
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	engine_free(eng);
	config_free(&cfg);
	dns_thread_done();
	return rc;
}
