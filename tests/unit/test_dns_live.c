/*
 * Live tests of common/dns/dns.c over loopback against tests/lib/rogue_dns.py
 * (run by tests/unit/run_dns_live.sh). Servers come from the environment:
 *   SC_TEST_DNS=127.0.0.1:PORT        rogue_dns.py
 *   SC_TEST_DNS6=[::1]:PORT           rogue_dns.py on ::1 (optional)
 *   SC_TEST_BLACKHOLE=127.0.0.1:PORT  a server that never answers
 * Without SC_TEST_DNS the program exits 77 (skipped).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <dirent.h>
#include <signal.h>
#include <unistd.h>
#include <cmocka.h>

#include "dns.h"
#include "histo.h"

static struct dns_server good, good6, hole;
static int have_good6, have_hole;

/* Milliseconds on the monotonic clock. */
static long long
ms_now(void)
{
	return histo_now_us() / 1000;
}

static int
env_server(const char *var, struct dns_server *s)
{
	const char *v = getenv(var);
	char why[160];

	if (v == NULL || *v == '\0')
		return 0;
	if (dns_parse_server(v, s, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: %s\n", var, why);
		exit(1);
	}
	return 1;
}

static struct dns_resolver *
resolver(const struct dns_server *s, size_t n, size_t cache_max)
{
	char why[160];
	struct dns_resolver *r = dns_resolver_new(s, n, cache_max, why,
	    sizeof(why));

	if (r == NULL)
		fail_msg("dns_resolver_new: %s", why);
	return r;
}

/* One query on a fresh resolver (no cache) to the rogue server. */
static enum dns_status
ask(const char *name, uint16_t type, unsigned budget, struct dns_result *out)
{
	struct dns_resolver *r = resolver(&good, 1, 0);
	struct dns_ctx c;
	enum dns_status st;

	dns_ctx_init(&c, r, budget);
	st = dns_query(&c, name, type, out);
	dns_resolver_free(r);
	return st;
}

static void
expect(const char *name, uint16_t type, enum dns_status want,
    const char *why)
{
	struct dns_result res;
	enum dns_status st = ask(name, type, 1500, &res);

	if (st != want)
		fail_msg("%s: %s, want %s (%s)", name, dns_status_str(st),
		    dns_status_str(want), res.why);
	if (why != NULL && strstr(res.why, why) == NULL)
		fail_msg("%s: why \"%s\" lacks \"%s\"", name, res.why, why);
	assert_int_equal(res.status, st);
	dns_result_free(&res);
}

static void
test_records(void **state)
{
	struct dns_result r;
	char rev[80];

	(void)state;
	assert_int_equal(ask("a.rogue.test", DNS_T_A, 2000, &r), DNS_OK);
	assert_int_equal(r.n, 2);
	assert_memory_equal(r.rr[0].data, "\xc0\x00\x02\x01", 4);
	assert_memory_equal(r.rr[1].data, "\xc0\x00\x02\x02", 4);
	assert_int_equal(r.rr[1].ttl, 60);
	assert_non_null(r.wire);
	assert_true(r.wirelen > 12);
	dns_result_free(&r);

	assert_int_equal(ask("A.Rogue.Test.", DNS_T_AAAA, 2000, &r), DNS_OK);
	assert_int_equal(r.n, 1);
	assert_memory_equal(r.rr[0].data,
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	dns_result_free(&r);

	assert_int_equal(ask("a.rogue.test", DNS_T_TXT, 2000, &r), DNS_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal((char *)r.rr[0].data,
	    "v=spf1 ip4:192.0.2.0/24 -all");
	dns_result_free(&r);

	assert_int_equal(ask("a.rogue.test", DNS_T_MX, 2000, &r), DNS_OK);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.rr[0].pref, 10);
	assert_string_equal((char *)r.rr[0].data, "mx1.rogue.test");
	assert_int_equal(r.rr[1].pref, 20);
	assert_string_equal((char *)r.rr[1].data, "Mx2.rogue.test");
	dns_result_free(&r);

	assert_int_equal(dns_reverse_name("192.0.2.1", rev, sizeof(rev)), 0);
	assert_int_equal(ask(rev, DNS_T_PTR, 2000, &r), DNS_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal((char *)r.rr[0].data, "a.rogue.test");
	dns_result_free(&r);

	assert_int_equal(ask("cname.rogue.test", DNS_T_A, 2000, &r), DNS_OK);
	assert_int_equal(r.n, 1);
	assert_memory_equal(r.rr[0].data, "\xc0\x00\x02\x01", 4);
	dns_result_free(&r);
}

static void
test_statuses(void **state)
{
	(void)state;
	expect("nx.rogue.test", DNS_T_TXT, DNS_NXDOMAIN, "NXDOMAIN from 127.");
	expect("nodata.rogue.test", DNS_T_TXT, DNS_NODATA, "NODATA");
	expect("servfail.rogue.test", DNS_T_A, DNS_SERVFAIL, "SERVFAIL");
	expect("refused.rogue.test", DNS_T_A, DNS_SERVFAIL, "REFUSED");
	expect("loop.rogue.test", DNS_T_A, DNS_ERROR, "CNAME loop");
	expect("malformed.rogue.test", DNS_T_A, DNS_ERROR, "malformed");
	expect("bad..name", DNS_T_A, DNS_BADNAME, "empty label");
}

static void
test_tcp(void **state)
{
	struct dns_resolver *r = resolver(&good, 1, 0);
	struct dns_resolver_stats st;
	struct dns_result res;
	struct dns_ctx c;
	size_t i;

	(void)state;
	dns_ctx_init(&c, r, 3000);
	assert_int_equal(dns_query(&c, "tc.rogue.test", DNS_T_TXT, &res),
	    DNS_OK);
	assert_string_equal((char *)res.rr[0].data, "over tcp");
	dns_result_free(&res);
	dns_resolver_stats(r, &st);
	assert_int_equal(st.tcp_retries, 1);

	/* larger than the EDNS size: TC over UDP, whole answer over TCP */
	assert_int_equal(dns_query(&c, "huge.rogue.test", DNS_T_TXT, &res),
	    DNS_OK);
	assert_int_equal(res.n, 1);
	assert_int_equal(res.rr[0].len, 3000);
	assert_true(res.wirelen > 1232);
	dns_result_free(&res);

	assert_int_equal(dns_query(&c, "huge64.rogue.test", DNS_T_TXT, &res),
	    DNS_OK);
	assert_int_equal(res.rr[0].len, 248 * 255);
	assert_true(res.wirelen > 63000 && res.wirelen <= 65535);
	for (i = 0; i < res.rr[0].len; i++)
		if (res.rr[0].data[i] != 'H')
			fail_msg("byte %zu of the 64 KB TXT is 0x%02x", i,
			    res.rr[0].data[i]);
	dns_result_free(&res);
	dns_resolver_stats(r, &st);
	assert_int_equal(st.tcp_retries, 3);
	assert_int_equal(st.queries, 3);
	dns_resolver_free(r);

	expect("tcpcut.rogue.test", DNS_T_A, DNS_ERROR, "TCP failed");
	expect("tcpshort.rogue.test", DNS_T_A, DNS_ERROR, "TCP failed");
	/* TC over TCP too: a reply that cannot be used, never "no records" */
	expect("tctcp.rogue.test", DNS_T_TXT, DNS_ERROR, "truncated reply over TCP");
	assert_true(dns_status_temporary(DNS_ERROR));
}

static void
test_spoofs(void **state)
{
	struct dns_result r;
	long long t0;

	(void)state;
	t0 = ms_now();
	assert_int_equal(ask("wrongid.rogue.test", DNS_T_A, 3000, &r),
	    DNS_OK);
	assert_true(ms_now() - t0 < 900);
	assert_int_equal(r.n, 1);
	assert_memory_equal(r.rr[0].data, "\xc0\x00\x02\x01", 4);
	dns_result_free(&r);

	assert_int_equal(ask("wrongq.rogue.test", DNS_T_A, 3000, &r), DNS_OK);
	assert_int_equal(r.n, 1);
	assert_memory_equal(r.rr[0].data, "\xc0\x00\x02\x01", 4);
	dns_result_free(&r);

	assert_int_equal(ask("wrongsrc.rogue.test", DNS_T_A, 3000, &r),
	    DNS_OK);
	assert_int_equal(r.n, 1);
	assert_memory_equal(r.rr[0].data, "\xc0\x00\x02\x63", 4);
	dns_result_free(&r);

	assert_int_equal(ask("upper.rogue.test", DNS_T_A, 3000, &r), DNS_OK);
	dns_result_free(&r);

	/* FORMERR to EDNS: asked again without it */
	assert_int_equal(ask("noedns.rogue.test", DNS_T_A, 3000, &r), DNS_OK);
	assert_memory_equal(r.rr[0].data, "\xc0\x00\x02\x35", 4);
	dns_result_free(&r);
}

static void
test_timeouts(void **state)
{
	struct dns_result r;
	long long t0, dt;

	(void)state;
	t0 = ms_now();
	assert_int_equal(ask("silent.rogue.test", DNS_T_TXT, 1200, &r),
	    DNS_TIMEOUT);
	dt = ms_now() - t0;
	assert_true(dt >= 1150 && dt < 1600);
	assert_non_null(strstr(r.why, "timed out after"));
	assert_non_null(strstr(r.why, "asking 127.0.0.1:"));
	assert_non_null(strstr(r.why, "for silent.rogue.test/TXT"));
	assert_int_equal(r.n, 0);
	assert_null(r.wire);
	dns_result_free(&r);

	/* garbage, one datagram even with the right ID: ignored */
	assert_int_equal(ask("garbage.rogue.test", DNS_T_A, 1200, &r),
	    DNS_TIMEOUT);
	dns_result_free(&r);

	assert_int_equal(ask("delay300.rogue.test", DNS_T_A, 2000, &r),
	    DNS_OK);
	dns_result_free(&r);
	/* with one server: sent at 0 and again at 1000 ms; 1500 is late */
	assert_int_equal(ask("delay1500.rogue.test", DNS_T_A, 1200, &r),
	    DNS_TIMEOUT);
	dns_result_free(&r);
	/* a late reply to the first send counts during the second wait */
	t0 = ms_now();
	assert_int_equal(ask("delay1200.rogue.test", DNS_T_A, 2000, &r),
	    DNS_OK);
	dt = ms_now() - t0;
	assert_true(dt >= 1150 && dt < 1600);
	dns_result_free(&r);
}

static void
test_ipv6(void **state)
{
	struct dns_resolver *r;
	struct dns_result res;
	struct dns_ctx c;
	char buf[64];

	(void)state;
	if (!have_good6) {
		printf("IPv6 case skipped: SC_TEST_DNS6 not set "
		    "(no usable ::1 here)\n");
		skip();
	}
	dns_server_str(&good6, buf, sizeof(buf));
	assert_true(strncmp(buf, "[::1]:", 6) == 0);
	assert_string_not_equal(buf, "[::1]:53");
	r = resolver(&good6, 1, 0);
	dns_ctx_init(&c, r, 2000);
	assert_int_equal(dns_query(&c, "a.rogue.test", DNS_T_TXT, &res),
	    DNS_OK);
	assert_string_equal((char *)res.rr[0].data,
	    "v=spf1 ip4:192.0.2.0/24 -all");
	dns_result_free(&res);
	assert_int_equal(dns_query(&c, "tc.rogue.test", DNS_T_TXT, &res),
	    DNS_OK);
	dns_result_free(&res);
	assert_int_equal(dns_query(&c, "wrongsrc.rogue.test", DNS_T_A, &res),
	    DNS_OK);
	assert_memory_equal(res.rr[0].data, "\xc0\x00\x02\x63", 4);
	dns_result_free(&res);
	dns_resolver_free(r);
}

static void
count_query(struct dns_ctx *c, const char *name, const char *want,
    int cached)
{
	struct dns_result res;

	assert_int_equal(dns_query(c, name, DNS_T_TXT, &res), DNS_OK);
	assert_int_equal(res.n, 1);
	if (strcmp((char *)res.rr[0].data, want) != 0 ||
	    res.from_cache != cached)
		fail_msg("%s: \"%s\" from_cache %d, want \"%s\" %d", name,
		    (char *)res.rr[0].data, res.from_cache, want, cached);
	assert_non_null(res.wire);
	dns_result_free(&res);
}

static void
test_cache(void **state)
{
	struct dns_resolver *r = resolver(&good, 1, 100);
	struct dns_resolver_stats st;
	struct dns_result res;
	struct dns_ctx c;
	int i;

	(void)state;
	dns_ctx_init(&c, r, 5000);
	count_query(&c, "count.rogue.test", "1", 0);
	count_query(&c, "COUNT.rogue.test.", "1", 1);	/* case, dot */
	assert_int_equal(c.queries, 2);
	assert_int_equal(c.cache_hits, 1);
	dns_resolver_stats(r, &st);
	assert_int_equal(st.queries, 1);
	assert_int_equal(st.cache_hits, 1);

	/* TTL 0: never cached */
	count_query(&c, "ttl0.rogue.test", "1", 0);
	count_query(&c, "ttl0.rogue.test", "2", 0);

	/* negative answers are cached, failures are not */
	for (i = 0; i < 2; i++) {
		assert_int_equal(dns_query(&c, "nx.rogue.test", DNS_T_A, &res),
		    DNS_NXDOMAIN);
		assert_int_equal(res.from_cache, i);
		assert_non_null(res.wire);
		if (i == 1)
			assert_string_equal(res.why, "NXDOMAIN (cached) for nx.rogue.test/A");
		dns_result_free(&res);
		assert_int_equal(dns_query(&c, "nodata.rogue.test", DNS_T_MX,
		    &res), DNS_NODATA);
		assert_int_equal(res.from_cache, i);
		dns_result_free(&res);
		assert_int_equal(dns_query(&c, "servfail.rogue.test", DNS_T_A,
		    &res), DNS_SERVFAIL);
		assert_int_equal(res.from_cache, 0);
		dns_result_free(&res);
	}
	/* the type is part of the key */
	assert_int_equal(dns_query(&c, "nodata.rogue.test", DNS_T_A, &res),
	    DNS_OK);
	assert_int_equal(res.from_cache, 0);
	dns_result_free(&res);
	dns_resolver_stats(r, &st);
	assert_int_equal(st.cache_hits, 3);
	assert_int_equal(c.cache_hits, 3);
	dns_resolver_free(r);
}

static void
test_cache_lru(void **state)
{
	struct dns_resolver *r = resolver(&good, 1, 2);
	struct dns_ctx c;

	(void)state;
	dns_ctx_init(&c, r, 5000);
	count_query(&c, "count-a.rogue.test", "1", 0);
	count_query(&c, "count-b.rogue.test", "1", 0);
	count_query(&c, "count-a.rogue.test", "1", 1);	/* a is newest */
	count_query(&c, "count-c.rogue.test", "1", 0);	/* evicts b */
	count_query(&c, "count-a.rogue.test", "1", 1);
	count_query(&c, "count-c.rogue.test", "1", 1);
	count_query(&c, "count-b.rogue.test", "2", 0);
	dns_resolver_free(r);

	r = resolver(&good, 1, 0);			/* cache off */
	dns_ctx_init(&c, r, 5000);
	count_query(&c, "count-d.rogue.test", "1", 0);
	count_query(&c, "count-d.rogue.test", "2", 0);
	dns_resolver_free(r);
}

static void
test_budget(void **state)
{
	struct dns_resolver *r;
	struct dns_resolver_stats st;
	struct dns_result res;
	struct dns_ctx c;
	long long t0, dt;

	(void)state;
	if (!have_hole) {
		printf("budget case skipped: SC_TEST_BLACKHOLE not set\n");
		skip();
	}
	r = resolver(&hole, 1, 10);
	dns_ctx_init(&c, r, 1500);
	t0 = ms_now();
	assert_int_equal(dns_query(&c, "_dmarc.example.com", DNS_T_TXT, &res),
	    DNS_TIMEOUT);
	dt = ms_now() - t0;
	if (dt < 1400 || dt > 2000)
		fail_msg("timeout after %lld ms, want 1400-2000", dt);
	assert_non_null(strstr(res.why, "for _dmarc.example.com/TXT"));
	dns_result_free(&res);
	assert_true(c.budget_ms <= 0);
	t0 = ms_now();
	assert_int_equal(dns_query(&c, "example.com", DNS_T_A, &res),
	    DNS_TIMEOUT);
	assert_true(ms_now() - t0 < 50);
	assert_string_equal(res.why, "DNS time budget used up");
	dns_result_free(&res);
	assert_int_equal(c.timeouts, 2);
	assert_int_equal(c.queries, 2);
	dns_resolver_stats(r, &st);
	assert_int_equal(st.timeouts, 2);
	assert_int_equal(st.queries, 1);
	dns_resolver_free(r);
}

static void
test_dead_then_good(void **state)
{
	struct dns_server two[2];
	struct dns_resolver *r;
	struct dns_result res;
	struct dns_ctx c;
	long long t0, dt;

	(void)state;
	if (!have_hole) {
		printf("failover case skipped: SC_TEST_BLACKHOLE not set\n");
		skip();
	}
	two[0] = hole;
	two[1] = good;
	r = resolver(two, 2, 0);
	dns_ctx_init(&c, r, 1500);
	t0 = ms_now();
	assert_int_equal(dns_query(&c, "a.rogue.test", DNS_T_A, &res), DNS_OK);
	dt = ms_now() - t0;
	assert_true(dt >= 950 && dt < 1400);	/* the dead one's 1000 ms */
	assert_true(c.budget_ms > 0 && c.budget_ms <= 550);
	dns_result_free(&res);
	dns_resolver_free(r);

	/* a failing server first: the next one is asked at once */
	two[0] = good;
	two[1] = good;
	r = resolver(two, 2, 0);
	dns_ctx_init(&c, r, 4000);
	t0 = ms_now();
	assert_int_equal(dns_query(&c, "servfail.rogue.test", DNS_T_A, &res),
	    DNS_SERVFAIL);
	assert_true(ms_now() - t0 < 500);
	dns_result_free(&res);
	dns_resolver_free(r);
}


/* The fault cases, all in flight at once (asked early, then used). */
struct fault {
	const char *name;
	uint16_t type;
	enum dns_status want;
	const char *why;
};

static const struct fault faults[] = {
	{ "a.rogue.test", DNS_T_A, DNS_OK, NULL },
	{ "nx.rogue.test", DNS_T_TXT, DNS_NXDOMAIN, "NXDOMAIN from 127." },
	{ "nodata.rogue.test", DNS_T_TXT, DNS_NODATA, "NODATA" },
	{ "servfail.rogue.test", DNS_T_A, DNS_SERVFAIL, "SERVFAIL" },
	{ "refused.rogue.test", DNS_T_A, DNS_SERVFAIL, "REFUSED" },
	{ "loop.rogue.test", DNS_T_A, DNS_ERROR, "CNAME loop" },
	{ "malformed.rogue.test", DNS_T_A, DNS_ERROR, "malformed" },
	{ "tc.rogue.test", DNS_T_TXT, DNS_OK, NULL },
	{ "huge.rogue.test", DNS_T_TXT, DNS_OK, NULL },
	{ "tcpcut.rogue.test", DNS_T_A, DNS_ERROR, "TCP failed" },
	{ "tcpshort.rogue.test", DNS_T_A, DNS_ERROR, "TCP failed" },
	{ "tctcp.rogue.test", DNS_T_TXT, DNS_ERROR, "truncated reply over TCP" },
	{ "wrongid.rogue.test", DNS_T_A, DNS_OK, NULL },
	{ "wrongq.rogue.test", DNS_T_A, DNS_OK, NULL },
	{ "wrongsrc.rogue.test", DNS_T_A, DNS_OK, NULL },
	{ "noedns.rogue.test", DNS_T_A, DNS_OK, NULL },
	{ "garbage.rogue.test", DNS_T_A, DNS_TIMEOUT, NULL },
	{ "silent.rogue.test", DNS_T_TXT, DNS_TIMEOUT, "timed out after" },
	{ "delay300.rogue.test", DNS_T_A, DNS_OK, NULL },
	{ "delay1200.rogue.test", DNS_T_A, DNS_OK, NULL },
};
#define N_FAULTS (sizeof(faults) / sizeof(faults[0]))

static void
check_fault(struct dns_ctx *c, const struct fault *f)
{
	struct dns_result res;
	enum dns_status st = dns_query(c, f->name, f->type, &res);

	if (st != f->want)
		fail_msg("%s: %s, want %s (%s)", f->name, dns_status_str(st),
		    dns_status_str(f->want), res.why);
	if (f->why != NULL && strstr(res.why, f->why) == NULL)
		fail_msg("%s: why \"%s\" lacks \"%s\"", f->name, res.why, f->why);
	dns_result_free(&res);
}

static void
test_faults_in_flight(void **state)
{
	struct dns_resolver *r = resolver(&good, 1, 0);
	struct dns_session *s = dns_session_new(r, 2500);
	struct dns_resolver_stats st;
	struct dns_ctx c;
	long long t0 = ms_now(), dt;
	size_t i;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < N_FAULTS; i++)
		dns_prefetch(s, faults[i].name, faults[i].type);
	dns_ctx_init(&c, r, 2500);
	dns_ctx_bind(&c, s);
	assert_int_equal(c.queries, 0);		/* a prefetch counts nothing */
	for (i = 0; i < N_FAULTS; i++)
		check_fault(&c, &faults[i]);
	dt = ms_now() - t0;
	/* all at once: about the slowest one (2.5 s), not the sum */
	if (dt > 4000)
		fail_msg("%zu faults in flight took %lld ms", N_FAULTS, dt);
	assert_int_equal(c.queries, N_FAULTS);
	dns_resolver_stats(r, &st);
	assert_int_equal(st.queries, N_FAULTS);	/* each asked once */
	dns_session_free(s);
	dns_resolver_free(r);
}

struct fault_worker {
	struct dns_resolver *r;
	struct dns_session *s;
	size_t first;
	int bad;
	char what[512];		/* the first wrong results, for the failure */
};

/*
 * A question that timed out for a thread: the flight's own timeout, or the
 * thread's budget running out first when a later thread joined the flight
 * and lengthened it (test_late_joiner).
 */
static int
timeout_why_ok(const struct fault *f, const char *why)
{
	return f->want == DNS_TIMEOUT && f->why != NULL &&
	    strstr(why, "no answer within the check's DNS time") != NULL;
}

static void *
fault_work(void *arg)
{
	struct fault_worker *w = arg;
	struct dns_ctx c;
	struct dns_result res;
	size_t i;

	for (i = 0; i < N_FAULTS; i++) {
		const struct fault *f = &faults[(i + w->first) % N_FAULTS];

		dns_ctx_init(&c, w->r, 2500);	/* each question its own budget */
		dns_ctx_bind(&c, w->s);
		if (dns_query(&c, f->name, f->type, &res) != f->want ||
		    (f->why != NULL && strstr(res.why, f->why) == NULL &&
		    !timeout_why_ok(f, res.why))) {
			size_t used = strlen(w->what);

			snprintf(w->what + used, sizeof(w->what) - used, "%s%s: %s (%s)",
			    used ? "; " : "", f->name, dns_status_str(res.status), res.why);
			w->bad++;
		}
		dns_result_free(&res);
	}
	return NULL;
}

/* Four threads ask every fault case at the same time: one flight each. */
static void
test_faults_threads(void **state)
{
	struct dns_resolver *r = resolver(&good, 1, 0);
	struct dns_session *s = dns_session_new(r, 2500);
	struct dns_resolver_stats st;
	struct fault_worker w[4];
	pthread_t t[4];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		w[i].r = r;
		w[i].s = i < 2 ? s : NULL;	/* two in a session, two without */
		w[i].first = (size_t)i * 5;
		w[i].bad = 0;
		w[i].what[0] = '\0';
		assert_int_equal(pthread_create(&t[i], NULL, fault_work, &w[i]), 0);
	}
	for (i = 0; i < 4; i++)		/* all joined before any failure */
		pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++)
		if (w[i].bad)
			fail_msg("worker %d: %d wrong results: %s", i, w[i].bad, w[i].what);
	dns_resolver_stats(r, &st);
	/* single flight: far fewer than 4 x N (a question finished before a
	 * later thread asks it may be asked again: the cache is off) */
	if (st.queries >= 4 * N_FAULTS)
		fail_msg("%lu flights for 4 x %zu questions", st.queries, N_FAULTS);
	dns_session_free(s);
	dns_resolver_free(r);
}

struct late_asker {
	struct dns_resolver *r;
	struct dns_result res;
	enum dns_status st;
	long long took;
};

static void *
late_ask(void *arg)
{
	struct late_asker *a = arg;
	struct dns_ctx c;
	long long t0 = ms_now();

	dns_ctx_init(&c, a->r, 1200);
	a->st = dns_query(&c, "silent.rogue.test", DNS_T_TXT, &a->res);
	a->took = ms_now() - t0;
	return NULL;
}

/*
 * A thread that joins a flight lengthens it to its own budget; the thread
 * that started it still stops at its own (plus the grace for the flight's
 * timeout), with a reason of its own, and the joiner gets the flight's.
 */
static void
test_late_joiner(void **state)
{
	struct dns_resolver *r = resolver(&good, 1, 0);
	struct late_asker first = { .r = r };
	struct dns_result res;
	struct dns_ctx c;
	pthread_t t;
	long long t0;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, late_ask, &first), 0);
	usleep(500 * 1000);
	t0 = ms_now();
	dns_ctx_init(&c, r, 1200);
	assert_int_equal(dns_query(&c, "silent.rogue.test", DNS_T_TXT, &res), DNS_TIMEOUT);
	pthread_join(t, NULL);
	assert_int_equal(first.st, DNS_TIMEOUT);
	if (first.took < 1150 || first.took > 1200 + 250 + 300)
		fail_msg("the first asker waited %lld ms on a 1200 ms budget", first.took);
	if (strstr(first.res.why, "no answer within the check's DNS time") == NULL)
		fail_msg("first asker: \"%s\"", first.res.why);
	if (strstr(res.why, "timed out after") == NULL)
		fail_msg("joiner: \"%s\"", res.why);
	if (ms_now() - t0 < 1150)
		fail_msg("the joiner stopped after %lld ms of its 1200", ms_now() - t0);
	dns_result_free(&first.res);
	dns_result_free(&res);
	dns_resolver_free(r);
}

/*
 * The resolver's I/O thread takes no signals, even when the thread that
 * asked first takes them all: SIGTERM and SIGHUP belong to the daemon's
 * signal thread.
 */
static void
test_io_thread_quiet(void **state)
{
	struct dns_resolver *r = resolver(&good, 1, 0);
	struct dns_result res;
	struct dns_ctx c;
	sigset_t none, old;
	char path[300], line[128];
	struct dirent *d;
	int found = 0;
	DIR *dir;

	(void)state;
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, &old);
	dns_ctx_init(&c, r, 2000);
	assert_int_equal(dns_query(&c, "a.rogue.test", DNS_T_A, &res), DNS_OK);
	dns_result_free(&res);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	assert_non_null(dir = opendir("/proc/self/task"));
	while ((d = readdir(dir)) != NULL) {
		unsigned long long blocked = 0;
		int named = 0;
		FILE *fp;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", d->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (strcmp(line, "Name:\tsc-dns\n") == 0)
				named = 1;
			sscanf(line, "SigBlk: %llx", &blocked);
		}
		fclose(fp);
		if (!named)
			continue;
		found++;
		if (!(blocked & (1ULL << (SIGTERM - 1))) || !(blocked & (1ULL << (SIGHUP - 1))))
			fail_msg("the resolver's thread takes signals (SigBlk %llx)", blocked);
	}
	closedir(dir);
	assert_int_equal(found, 1);
	dns_resolver_free(r);
}

/* A prefetched answer is used even with the cache off, and counted once used. */
static void
test_prefetch(void **state)
{
	struct dns_resolver *r = resolver(&good, 1, 0);
	struct dns_session *s = dns_session_new(r, 3000), *s2 = dns_session_new(r, 3000);
	struct dns_resolver_stats st;
	struct dns_result res;
	struct dns_ctx c, c2;
	long long t0;

	(void)state;
	dns_prefetch(s, "count-p.rogue.test", DNS_T_TXT);
	dns_prefetch(s, "count-p.rogue.test", DNS_T_TXT);	/* asked once */
	dns_prefetch(s, "bad..name", DNS_T_TXT);		/* ignored */
	dns_ctx_init(&c, r, 3000);
	dns_ctx_bind(&c, s);
	count_query(&c, "count-p.rogue.test", "1", 0);
	count_query(&c, "COUNT-P.rogue.test.", "1", 0);	/* the session keeps it */
	assert_int_equal(c.queries, 2);
	assert_int_equal(c.cache_hits, 0);
	dns_resolver_stats(r, &st);
	assert_int_equal(st.queries, 1);

	/* two sessions ask the same slow name: one question on the wire */
	dns_prefetch(s, "delay300.rogue.test", DNS_T_A);
	dns_prefetch(s2, "delay300.rogue.test", DNS_T_A);
	dns_resolver_stats(r, &st);
	assert_int_equal(st.queries, 2);
	dns_ctx_init(&c2, r, 3000);
	dns_ctx_bind(&c2, s2);
	t0 = ms_now();
	assert_int_equal(dns_query(&c2, "delay300.rogue.test", DNS_T_A, &res), DNS_OK);
	assert_true(ms_now() - t0 < 400);
	dns_result_free(&res);
	dns_session_free(s2);
	dns_session_free(s);
	dns_resolver_free(r);
}

struct canceller {
	struct dns_session *s;
	int ms;
};

static void *
cancel_later(void *arg)
{
	struct canceller *k = arg;
	struct timespec ts = { 0, (long)k->ms * 1000000L };

	nanosleep(&ts, NULL);
	dns_session_cancel(k->s);
	return NULL;
}

/* An abort wakes a waiter at once; an unused prefetch is cancelled. */
static void
test_cancel(void **state)
{
	struct dns_resolver *r = resolver(&good, 1, 0);
	struct dns_session *s = dns_session_new(r, 5000);
	struct canceller k = { s, 200 };
	struct dns_result res;
	struct dns_ctx c;
	pthread_t t;
	long long t0;

	(void)state;
	dns_prefetch(s, "silent.rogue.test", DNS_T_TXT);
	dns_prefetch(s, "silent.rogue.test", DNS_T_A);
	dns_ctx_init(&c, r, 5000);
	dns_ctx_bind(&c, s);
	assert_int_equal(pthread_create(&t, NULL, cancel_later, &k), 0);
	t0 = ms_now();
	assert_int_equal(dns_query(&c, "silent.rogue.test", DNS_T_TXT, &res), DNS_TIMEOUT);
	assert_true(ms_now() - t0 < 1000);
	assert_non_null(strstr(res.why, "cancelled"));
	dns_result_free(&res);
	pthread_join(t, NULL);
	dns_session_free(s);		/* the A question is dropped too */
	t0 = ms_now();
	dns_resolver_free(r);		/* nothing left to wait for */
	assert_true(ms_now() - t0 < 500);
}

struct worker {
	struct dns_resolver *r;
	int id;
	int bad;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct dns_result res;
	struct dns_ctx c;
	char name[64];
	int i;

	dns_ctx_init(&c, w->r, 10000);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "count-t%d.rogue.test",
		    (i + w->id) % 12);
		if (dns_query(&c, name, DNS_T_TXT, &res) != DNS_OK ||
		    res.n != 1)
			w->bad++;
		dns_result_free(&res);
	}
	dns_thread_done();
	return NULL;
}

static void
test_threads(void **state)
{
	struct dns_resolver *r = resolver(&good, 1, 8);
	struct worker w[4];
	pthread_t t[4];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		w[i].r = r;
		w[i].id = i * 3;
		w[i].bad = 0;
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	dns_resolver_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_spoofs),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_cache_lru),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_dead_then_good),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_faults_in_flight),
		cmocka_unit_test(test_faults_threads),
		cmocka_unit_test(test_late_joiner),
		cmocka_unit_test(test_io_thread_quiet),
		cmocka_unit_test(test_prefetch),
		cmocka_unit_test(test_cancel),
	};
	int rc;

	if (!env_server("SC_TEST_DNS", &good)) {
		printf("skipped: SC_TEST_DNS not set "
		    "(run tests/unit/run_dns_live.sh)\n");
		return 77;
	}
	have_good6 = env_server("SC_TEST_DNS6", &good6);
	have_hole = env_server("SC_TEST_BLACKHOLE", &hole);
	if (getenv("DNS_LIVE_ONLY") != NULL)	/* one test by name, e.g. when chasing a flake */
		cmocka_set_test_filter(getenv("DNS_LIVE_ONLY"));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	dns_thread_done();
	return rc;
}
