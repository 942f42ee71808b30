/*
 * Unit tests of common/dns/dns.c without network: replies built here are fed
 * to dns_parse_reply (good, negative, failing and hostile ones), plus
 * server specs, reverse names and name validation.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "dns.h"

/* --- a small DNS message builder --- */

struct pk {
	unsigned char b[70000];
	size_t n;
	size_t rdpos;		/* where the open record's rdlength is */
};

static void
u8(struct pk *p, unsigned v)
{
	assert_true(p->n < sizeof(p->b));
	p->b[p->n++] = (unsigned char)v;
}

static void
u16(struct pk *p, unsigned v)
{
	u8(p, v >> 8);
	u8(p, v & 0xff);
}

static void
u32(struct pk *p, uint32_t v)
{
	u16(p, v >> 16);
	u16(p, v & 0xffff);
}

static void
bytes(struct pk *p, const void *d, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

/* Name in wire form, uncompressed; "" is the root. */
static void
name(struct pk *p, const char *s)
{
	const char *dot;

	while (*s) {
		dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		u8(p, (unsigned)l);
		bytes(p, s, l);
		s += l + (dot ? 1 : 0);
	}
	u8(p, 0);
}

static void
ptr(struct pk *p, unsigned off)
{
	u16(p, 0xc000 | off);
}

static void
header(struct pk *p, unsigned flags, unsigned qd, unsigned an, unsigned ns,
    unsigned ar)
{
	p->n = 0;
	u16(p, 0x1234);
	u16(p, flags);
	u16(p, qd);
	u16(p, an);
	u16(p, ns);
	u16(p, ar);
}

#define QR_RD_RA	0x8180
#define RC(x)		(QR_RD_RA | (x))

static void
question(struct pk *p, const char *q, unsigned type)
{
	name(p, q);
	u16(p, type);
	u16(p, 1);
}

/* Starts a record whose owner was written by the caller. */
static void
rr_head(struct pk *p, unsigned type, uint32_t ttl)
{
	u16(p, type);
	u16(p, 1);
	u32(p, ttl);
	p->rdpos = p->n;
	u16(p, 0);
}

static void
rr_end(struct pk *p)
{
	size_t l = p->n - p->rdpos - 2;

	p->b[p->rdpos] = (unsigned char)(l >> 8);
	p->b[p->rdpos + 1] = (unsigned char)l;
}

static void
rr_a(struct pk *p, const char *owner, uint32_t ttl, const char *ip)
{
	unsigned char a[4];

	assert_int_equal(inet_pton(AF_INET, ip, a), 1);
	name(p, owner);
	rr_head(p, DNS_T_A, ttl);
	bytes(p, a, 4);
	rr_end(p);
}

static void
rr_cname(struct pk *p, const char *owner, const char *target)
{
	name(p, owner);
	rr_head(p, DNS_T_CNAME, 300);
	name(p, target);
	rr_end(p);
}

static enum dns_status
parse(struct pk *p, uint16_t qtype, struct dns_result *r)
{
	return dns_parse_reply(p->b, p->n, qtype, r);
}

static struct pk *
newpk(void **state)
{
	return *state;
}

static int
setup(void **state)
{
	*state = calloc(1, sizeof(struct pk));
	return *state ? 0 : -1;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

/* --- good answers --- */

static void
test_a(void **state)
{
	struct pk *p = newpk(state);
	struct dns_result r;
	static const unsigned char want[] = { 192, 0, 2, 1 };

	header(p, QR_RD_RA, 1, 2, 0, 0);
	question(p, "Example.COM", DNS_T_A);
	ptr(p, 12);
	rr_head(p, DNS_T_A, 300);
	bytes(p, want, 4);
	rr_end(p);
	rr_a(p, "example.com", 60, "192.0.2.2");
	assert_int_equal(parse(p, DNS_T_A, &r), DNS_OK);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.rr[0].type, DNS_T_A);
	assert_int_equal(r.rr[0].len, 4);
	assert_memory_equal(r.rr[0].data, want, 4);
	assert_int_equal(r.rr[0].ttl, 300);
	assert_int_equal(r.rr[1].ttl, 60);
	assert_int_equal(r.rr[1].data[3], 2);
	assert_int_equal(r.wirelen, p->n);
	assert_memory_equal(r.wire, p->b, p->n);
	assert_int_equal(r.from_cache, 0);
	dns_result_free(&r);
	assert_null(r.wire);
	assert_null(r.rr);
	dns_result_free(&r);		/* twice is harmless */
}

static void
test_aaaa(void **state)
{
	struct pk *p = newpk(state);
	struct dns_result r;
	unsigned char a[16];

	inet_pton(AF_INET6, "2001:db8::53", a);
	header(p, QR_RD_RA, 1, 1, 0, 0);
	question(p, "v6.example", DNS_T_AAAA);
	ptr(p, 12);
	rr_head(p, DNS_T_AAAA, 10);
	bytes(p, a, 16);
	rr_end(p);
	assert_int_equal(parse(p, DNS_T_AAAA, &r), DNS_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.rr[0].len, 16);
	assert_memory_equal(r.rr[0].data, a, 16);
	dns_result_free(&r);
	/* asked for A, got only AAAA: NODATA */
	assert_int_equal(parse(p, DNS_T_A, &r), DNS_NODATA);
	assert_int_equal(r.n, 0);
	assert_null(r.rr);
	assert_non_null(r.wire);
	dns_result_free(&r);
}

static void
test_txt_strings(void **state)
{
	struct pk *p = newpk(state);
	struct dns_result r;
	static const unsigned char bin[] = { 'a', 0, 0xff, '"', '\n' };

	header(p, QR_RD_RA, 1, 3, 0, 0);
	question(p, "example.org", DNS_T_TXT);
	ptr(p, 12);
	rr_head(p, DNS_T_TXT, 300);
	u8(p, 7); bytes(p, "v=spf1 ", 7);
	u8(p, 11); bytes(p, "ip4:1.2.3.4", 11);
	u8(p, 0);
	u8(p, 5); bytes(p, " -all", 5);
	rr_end(p);
	ptr(p, 12);
	rr_head(p, DNS_T_TXT, 300);
	u8(p, sizeof(bin)); bytes(p, bin, sizeof(bin));
	rr_end(p);
	ptr(p, 12);			/* rdlength 0: an empty text */
	rr_head(p, DNS_T_TXT, 300);
	rr_end(p);
	assert_int_equal(parse(p, DNS_T_TXT, &r), DNS_OK);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.rr[0].len, 23);
	assert_string_equal((char *)r.rr[0].data, "v=spf1 ip4:1.2.3.4 -all");
	assert_int_equal(r.rr[1].len, sizeof(bin));
	assert_memory_equal(r.rr[1].data, bin, sizeof(bin));
	assert_int_equal(r.rr[1].data[sizeof(bin)], 0);
	assert_int_equal(r.rr[2].len, 0);
	assert_int_equal(r.rr[2].data[0], 0);
	dns_result_free(&r);
}

static void
test_mx_ptr(void **state)
{
	struct pk *p = newpk(state);
	struct dns_result r;

	header(p, QR_RD_RA, 1, 3, 0, 0);
	question(p, "example.net", DNS_T_MX);
	ptr(p, 12);
	rr_head(p, DNS_T_MX, 300);
	u16(p, 10);
	u8(p, 3); bytes(p, "MX1", 3); ptr(p, 12);	/* compressed */
	rr_end(p);
	ptr(p, 12);
	rr_head(p, DNS_T_MX, 300);
	u16(p, 20);
	name(p, "mx2.other.example");
	rr_end(p);
	ptr(p, 12);			/* null MX (RFC 7505) */
	rr_head(p, DNS_T_MX, 300);
	u16(p, 0);
	u8(p, 0);
	rr_end(p);
	assert_int_equal(parse(p, DNS_T_MX, &r), DNS_OK);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.rr[0].pref, 10);
	assert_string_equal((char *)r.rr[0].data, "MX1.example.net");
	assert_int_equal(r.rr[0].len, strlen("MX1.example.net"));
	assert_int_equal(r.rr[1].pref, 20);
	assert_string_equal((char *)r.rr[1].data, "mx2.other.example");
	assert_string_equal((char *)r.rr[2].data, "");
	dns_result_free(&r);

	header(p, QR_RD_RA, 1, 1, 0, 0);
	question(p, "10.2.0.192.in-addr.arpa", DNS_T_PTR);
	ptr(p, 12);
	rr_head(p, DNS_T_PTR, 3600);
	name(p, "Host.Example.com");
	rr_end(p);
	assert_int_equal(parse(p, DNS_T_PTR, &r), DNS_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal((char *)r.rr[0].data, "Host.Example.com");
	dns_result_free(&r);

	/* hostile bytes in a name come back escaped, never raw */
	header(p, QR_RD_RA, 1, 1, 0, 0);
	question(p, "10.2.0.192.in-addr.arpa", DNS_T_PTR);
	ptr(p, 12);
	rr_head(p, DNS_T_PTR, 3600);
	u8(p, 5); bytes(p, "a.b c", 5);
	u8(p, 2); bytes(p, "\n\\", 2);
	u8(p, 0);
	rr_end(p);
	assert_int_equal(parse(p, DNS_T_PTR, &r), DNS_OK);
	assert_string_equal((char *)r.rr[0].data, "a\\.b\\032c.\\010\\\\");
	dns_result_free(&r);
}

static void
test_cname_chain(void **state)
{
	struct pk *p = newpk(state);
	struct dns_result r;

	header(p, QR_RD_RA, 1, 5, 0, 0);
	question(p, "www.example.com", DNS_T_A);
	rr_a(p, "www.example.com.evil", 300, "6.6.6.6");	/* not ours */
	rr_cname(p, "www.example.com", "a.example.net");
	rr_a(p, "b.EXAMPLE.org", 30, "192.0.2.7");
	rr_cname(p, "A.example.net", "b.example.org");
	rr_a(p, "evil.example", 300, "6.6.6.6");
	assert_int_equal(parse(p, DNS_T_A, &r), DNS_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.rr[0].data[3], 7);
	dns_result_free(&r);

	/* asking for the CNAME itself does not follow it */
	assert_int_equal(parse(p, DNS_T_CNAME, &r), DNS_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal((char *)r.rr[0].data, "a.example.net");
	dns_result_free(&r);

	/* chain that ends without data: NODATA */
	assert_int_equal(parse(p, DNS_T_TXT, &r), DNS_NODATA);
	dns_result_free(&r);
}

static void
test_cname_loop(void **state)
{
	struct pk *p = newpk(state);
	struct dns_result r;

	header(p, QR_RD_RA, 1, 2, 0, 0);
	question(p, "a.example", DNS_T_A);
	rr_cname(p, "a.example", "b.example");
	rr_cname(p, "b.example", "A.EXAMPLE");
	assert_int_equal(parse(p, DNS_T_A, &r), DNS_ERROR);
	assert_non_null(strstr(r.why, "CNAME loop"));
	assert_int_equal(r.n, 0);
	dns_result_free(&r);

	/* a name pointing at itself */
	header(p, QR_RD_RA, 1, 1, 0, 0);
	question(p, "self.example", DNS_T_A);
	rr_cname(p, "self.example", "self.example");
	assert_int_equal(parse(p, DNS_T_A, &r), DNS_ERROR);
	assert_non_null(strstr(r.why, "CNAME loop"));
	dns_result_free(&r);
}

static void
test_cname_too_long(void **state)
{
	struct pk *p = newpk(state);
	struct dns_result r;
	char a[32], b[32];
	int i, hops;

	for (hops = 8; hops <= 9; hops++) {
		header(p, QR_RD_RA, 1, (unsigned)hops + 1, 0, 0);
		question(p, "c0.example", DNS_T_A);
		for (i = 0; i < hops; i++) {
			snprintf(a, sizeof(a), "c%d.example", i);
			snprintf(b, sizeof(b), "c%d.example", i + 1);
			rr_cname(p, a, b);
		}
		rr_a(p, b, 300, "192.0.2.9");
		if (hops == 8) {
			assert_int_equal(parse(p, DNS_T_A, &r), DNS_OK);
			assert_int_equal(r.n, 1);
		} else {
			assert_int_equal(parse(p, DNS_T_A, &r), DNS_ERROR);
			assert_non_null(strstr(r.why, "CNAME chain longer"));
		}
		dns_result_free(&r);
	}
}

/* --- negative and failing answers --- */

static void
test_nxdomain_nodata(void **state)
{
	struct pk *p = newpk(state);
	struct dns_result r;

	header(p, RC(3), 1, 0, 1, 0);
	question(p, "nx.example", DNS_T_TXT);
	name(p, "example");
	rr_head(p, 6, 3600);		/* SOA */
	name(p, "ns.example");
	name(p, "hostmaster.example");
	u32(p, 1); u32(p, 2); u32(p, 3); u32(p, 4); u32(p, 120);
	rr_end(p);
	assert_int_equal(parse(p, DNS_T_TXT, &r), DNS_NXDOMAIN);
	assert_int_equal(r.n, 0);
	assert_string_equal(r.why, "NXDOMAIN");
	dns_result_free(&r);

	header(p, QR_RD_RA, 1, 1, 0, 0);
	question(p, "mx.example", DNS_T_TXT);
	rr_a(p, "mx.example", 300, "192.0.2.25");
	assert_int_equal(parse(p, DNS_T_TXT, &r), DNS_NODATA);
	assert_int_equal(r.n, 0);
	assert_non_null(strstr(r.why, "NODATA"));
	dns_result_free(&r);

	header(p, QR_RD_RA, 1, 0, 0, 0);	/* empty answer */
	question(p, "mx.example", DNS_T_MX);
	assert_int_equal(parse(p, DNS_T_MX, &r), DNS_NODATA);
	dns_result_free(&r);
}

static void
test_rcodes(void **state)
{
	struct pk *p = newpk(state);
	struct dns_result r;
	static const struct { unsigned rc; const char *why; } t[] = {
		{ 2, "SERVFAIL" }, { 5, "REFUSED" }, { 4, "NOTIMP" },
		{ 1, "FORMERR" }, { 9, "rcode 9" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		header(p, RC(t[i].rc), 1, 0, 0, 0);
		question(p, "x.example", DNS_T_A);
		assert_int_equal(parse(p, DNS_T_A, &r), DNS_SERVFAIL);
		assert_string_equal(r.why, t[i].why);
		dns_result_free(&r);
	}
}

/* --- hostile replies --- */

static void
expect_error(struct pk *p, uint16_t qtype, const char *what)
{
	struct dns_result r;

	assert_int_equal(parse(p, qtype, &r), DNS_ERROR);
	assert_int_equal(r.n, 0);
	assert_null(r.rr);
	if (what != NULL && strstr(r.why, what) == NULL)
		fail_msg("why \"%s\" lacks \"%s\"", r.why, what);
	dns_result_free(&r);
}

static void
test_hostile_header(void **state)
{
	struct pk *p = newpk(state);

	p->n = 0;
	expect_error(p, DNS_T_A, "shorter than a DNS header");
	header(p, QR_RD_RA, 1, 0, 0, 0);
	p->n = 11;
	expect_error(p, DNS_T_A, "shorter than a DNS header");
	header(p, 0x0100, 1, 0, 0, 0);		/* a query, not a reply */
	question(p, "x.example", DNS_T_A);
	expect_error(p, DNS_T_A, "QR");
	header(p, QR_RD_RA, 0, 0, 0, 0);	/* no question */
	expect_error(p, DNS_T_A, "0 questions");
	header(p, QR_RD_RA, 2, 0, 0, 0);
	question(p, "x.example", DNS_T_A);
	question(p, "y.example", DNS_T_A);
	expect_error(p, DNS_T_A, "2 questions");
}

static void
test_hostile_counts(void **state)
{
	struct pk *p = newpk(state);

	header(p, QR_RD_RA, 1, 5, 0, 0);	/* 5 answers, 1 present */
	question(p, "x.example", DNS_T_A);
	rr_a(p, "x.example", 300, "192.0.2.1");
	expect_error(p, DNS_T_A, "run past the end");
	header(p, QR_RD_RA, 1, 0xffff, 0xffff, 0xffff);
	question(p, "x.example", DNS_T_A);
	expect_error(p, DNS_T_A, NULL);
	header(p, QR_RD_RA, 0xffff, 0, 0, 0);
	expect_error(p, DNS_T_A, NULL);
}

static void
test_hostile_rdlength(void **state)
{
	struct pk *p = newpk(state);

	header(p, QR_RD_RA, 1, 1, 0, 0);	/* rdlength past the end */
	question(p, "x.example", DNS_T_A);
	ptr(p, 12);
	rr_head(p, DNS_T_A, 300);
	bytes(p, "\1\2\3\4", 4);
	rr_end(p);
	p->b[p->n - 6] = 0x01;			/* 4 -> 260 */
	expect_error(p, DNS_T_A, NULL);

	header(p, QR_RD_RA, 1, 1, 0, 0);	/* A with 5 bytes */
	question(p, "x.example", DNS_T_A);
	ptr(p, 12);
	rr_head(p, DNS_T_A, 300);
	bytes(p, "\1\2\3\4\5", 5);
	rr_end(p);
	expect_error(p, DNS_T_A, "bad rdata");

	header(p, QR_RD_RA, 1, 1, 0, 0);	/* record cut inside the header */
	question(p, "x.example", DNS_T_A);
	ptr(p, 12);
	u16(p, DNS_T_A);
	u16(p, 1);
	expect_error(p, DNS_T_A, NULL);
}

static void
test_hostile_txt(void **state)
{
	struct pk *p = newpk(state);

	header(p, QR_RD_RA, 1, 1, 0, 0);	/* string length past rdlength */
	question(p, "t.example", DNS_T_TXT);
	ptr(p, 12);
	rr_head(p, DNS_T_TXT, 300);
	u8(p, 3); bytes(p, "abc", 3);
	u8(p, 200); bytes(p, "def", 3);
	rr_end(p);
	u8(p, 0);	/* bytes after the record that a sloppy parser would eat */
	u8(p, 0);
	expect_error(p, DNS_T_TXT, NULL);
	header(p, QR_RD_RA, 1, 1, 0, 0);
	question(p, "t.example", DNS_T_TXT);
	ptr(p, 12);
	rr_head(p, DNS_T_TXT, 300);
	u8(p, 255);
	rr_end(p);
	expect_error(p, DNS_T_TXT, "bad rdata");
}

static void
test_hostile_compression(void **state)
{
	struct pk *p = newpk(state);
	size_t at;

	header(p, QR_RD_RA, 1, 1, 0, 0);	/* owner points at itself */
	question(p, "x.example", DNS_T_A);
	at = p->n;
	ptr(p, (unsigned)at);
	rr_head(p, DNS_T_A, 300);
	bytes(p, "\1\2\3\4", 4);
	rr_end(p);
	expect_error(p, DNS_T_A, NULL);

	header(p, QR_RD_RA, 1, 1, 0, 0);	/* pointer beyond the packet */
	question(p, "x.example", DNS_T_A);
	ptr(p, 0x3000);
	rr_head(p, DNS_T_A, 300);
	bytes(p, "\1\2\3\4", 4);
	rr_end(p);
	expect_error(p, DNS_T_A, NULL);

	header(p, QR_RD_RA, 1, 1, 0, 0);	/* two pointers in a ring */
	question(p, "x.example", DNS_T_MX);
	ptr(p, 12);
	rr_head(p, DNS_T_MX, 300);
	u16(p, 10);
	at = p->n;
	u8(p, 1); bytes(p, "a", 1); ptr(p, (unsigned)at + 5);
	u8(p, 1); bytes(p, "b", 1); ptr(p, (unsigned)at);
	rr_end(p);
	expect_error(p, DNS_T_MX, NULL);

	header(p, QR_RD_RA, 1, 1, 0, 0);	/* PTR name past rdlength */
	question(p, "x.example", DNS_T_PTR);
	ptr(p, 12);
	rr_head(p, DNS_T_PTR, 300);
	u8(p, 3); bytes(p, "abc", 3);
	rr_end(p);
	u8(p, 0);
	expect_error(p, DNS_T_PTR, NULL);

	header(p, QR_RD_RA, 1, 1, 0, 0);	/* MX with trailing junk */
	question(p, "x.example", DNS_T_MX);
	ptr(p, 12);
	rr_head(p, DNS_T_MX, 300);
	u16(p, 10);
	ptr(p, 12);
	u8(p, 7);
	rr_end(p);
	expect_error(p, DNS_T_MX, "bad rdata");

	header(p, QR_RD_RA, 1, 1, 0, 0);	/* MX too short */
	question(p, "x.example", DNS_T_MX);
	ptr(p, 12);
	rr_head(p, DNS_T_MX, 300);
	u16(p, 10);
	rr_end(p);
	expect_error(p, DNS_T_MX, "bad rdata");

	header(p, QR_RD_RA, 1, 1, 0, 0);	/* CNAME with a looping name */
	question(p, "x.example", DNS_T_A);
	ptr(p, 12);
	rr_head(p, DNS_T_CNAME, 300);
	at = p->n;
	ptr(p, (unsigned)at);
	rr_end(p);
	expect_error(p, DNS_T_A, "bad CNAME");
}

static void
test_big_reply(void **state)
{
	struct pk *p = newpk(state);
	struct dns_result r;
	unsigned char chunk[255];
	size_t total = 0;
	int i, k, rrs = 0;

	memset(chunk, 'x', sizeof(chunk));
	header(p, QR_RD_RA, 1, 0, 0, 0);
	question(p, "big.example", DNS_T_TXT);
	/* records of ~16 KB until the 64 KB message is nearly full */
	while (p->n + 12 + 64 * 256 <= 65535) {
		ptr(p, 12);
		rr_head(p, DNS_T_TXT, 300);
		for (k = 0; k < 63; k++) {
			u8(p, 255);
			bytes(p, chunk, 255);
			total += 255;
		}
		rr_end(p);
		rrs++;
	}
	p->b[7] = (unsigned char)rrs;
	assert_true(p->n > 60000 && p->n <= 65535);
	assert_int_equal(parse(p, DNS_T_TXT, &r), DNS_OK);
	assert_int_equal(r.n, (size_t)rrs);
	for (i = 0; i < rrs; i++)
		assert_int_equal(r.rr[i].len, 63 * 255);
	dns_result_free(&r);
	(void)total;
}

/* Random damage to a good reply must never crash, leak or lie. */
static void
test_fuzz(void **state)
{
	struct pk *p = newpk(state);
	struct pk good;
	struct dns_result r;
	unsigned seed = 12345;
	int i, k, changes;
	size_t j;

	header(p, QR_RD_RA, 1, 3, 1, 0);
	question(p, "www.example.com", DNS_T_MX);
	rr_cname(p, "www.example.com", "mail.example.com");
	name(p, "mail.example.com");
	rr_head(p, DNS_T_MX, 300);
	u16(p, 5);
	u8(p, 2); bytes(p, "mx", 2); ptr(p, 12 + 4);
	rr_end(p);
	name(p, "mail.example.com");
	rr_head(p, DNS_T_TXT, 300);
	u8(p, 3); bytes(p, "abc", 3);
	rr_end(p);
	ptr(p, 12 + 4);
	rr_head(p, 6, 300);
	ptr(p, 12);
	ptr(p, 12);
	for (k = 0; k < 5; k++)
		u32(p, 60);
	rr_end(p);
	memcpy(&good, p, sizeof(good));
	assert_int_equal(parse(p, DNS_T_MX, &r), DNS_OK);
	dns_result_free(&r);
	for (i = 0; i < 20000; i++) {
		memcpy(p->b, good.b, good.n);
		p->n = good.n;
		changes = 1 + (int)(rand_r(&seed) % 4);
		for (k = 0; k < changes; k++) {
			j = (size_t)rand_r(&seed) % p->n;
			p->b[j] = (unsigned char)rand_r(&seed);
		}
		if (rand_r(&seed) % 4 == 0)
			p->n = (size_t)rand_r(&seed) % p->n;
		parse(p, (uint16_t)(rand_r(&seed) % 2 ? DNS_T_MX : DNS_T_TXT),
		    &r);
		assert_true(r.status <= DNS_ERROR);
		if (r.status != DNS_OK)
			assert_int_equal(r.n, 0);
		for (j = 0; j < r.n; j++)
			assert_int_equal(r.rr[j].data[r.rr[j].len], 0);
		assert_int_equal(r.wirelen, p->n);
		dns_result_free(&r);
	}
}

/* --- servers, reverse names, names --- */

static void
test_parse_server_ok(void **state)
{
	static const struct { const char *in, *out; int fam; } t[] = {
		{ "192.0.2.1", "192.0.2.1:53", 4 },
		{ "127.0.0.1:5353", "127.0.0.1:5353", 4 },
		{ "[::1]:5353", "[::1]:5353", 6 },
		{ "::1", "[::1]:53", 6 },
		{ "[::1]", "[::1]:53", 6 },
		{ "2001:DB8::1", "[2001:db8::1]:53", 6 },
		{ "[::ffff:192.0.2.1]:65535", "[::ffff:192.0.2.1]:65535", 6 },
	};
	struct dns_server s;
	char why[200], buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why[0] = '\0';
		if (dns_parse_server(t[i].in, &s, why, sizeof(why)) != 0)
			fail_msg("%s: %s", t[i].in, why);
		assert_int_equal(s.addr.ss_family,
		    t[i].fam == 4 ? AF_INET : AF_INET6);
		assert_int_equal(s.addrlen, t[i].fam == 4 ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		dns_server_str(&s, buf, sizeof(buf));
		assert_string_equal(buf, t[i].out);
	}
	dns_server_str(&s, buf, 5);		/* truncated, terminated */
	assert_int_equal(strlen(buf), 4);
}

static void
test_parse_server_bad(void **state)
{
	static const struct { const char *in, *why; } t[] = {
		{ "", "empty" },
		{ "localhost", "not an IPv4 or IPv6" },
		{ "127.1", "not an IPv4 or IPv6" },
		{ "1.2.3.4:0", "bad port \"0\"" },
		{ "1.2.3.4:65536", "bad port" },
		{ "1.2.3.4:", "bad port \"\"" },
		{ "1.2.3.4:53a", "bad port" },
		{ "1.2.3.4:-1", "bad port" },
		{ "[::1", "missing ']'" },
		{ "[::1]x", "junk after ']'" },
		{ "[::1]:", "bad port" },
		{ "[1.2.3.4]:53", "not an IPv4 or IPv6" },
		{ "[]:53", "bad nameserver address" },
		{ ":53", "bad nameserver address" },
		{ "1.2.3.4 ", "not an IPv4" },
		{ "[0123456789012345678901234567890123456789012345678]:53",
		    "bad nameserver address" },
	};
	struct dns_server s;
	char why[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why[0] = '\0';
		assert_int_equal(dns_parse_server(t[i].in, &s, why,
		    sizeof(why)), -1);
		if (strstr(why, t[i].why) == NULL)
			fail_msg("\"%s\": why \"%s\" lacks \"%s\"", t[i].in,
			    why, t[i].why);
	}
	assert_int_equal(dns_parse_server(NULL, &s, why, sizeof(why)), -1);
	assert_int_equal(dns_parse_server("x", &s, NULL, 0), -1);
}

static void
test_reverse(void **state)
{
	char b[128];

	(void)state;
	assert_int_equal(dns_reverse_name("192.0.2.10", b, sizeof(b)), 0);
	assert_string_equal(b, "10.2.0.192.in-addr.arpa");
	assert_int_equal(dns_reverse_name("::ffff:1.2.3.4", b, sizeof(b)), 0);
	assert_string_equal(b, "4.3.2.1.in-addr.arpa");
	assert_int_equal(dns_reverse_name("2001:db8::567:89ab", b,
	    sizeof(b)), 0);
	assert_string_equal(b, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_int_equal(dns_reverse_name("::1", b, sizeof(b)), 0);
	assert_int_equal(strlen(b), 72);
	assert_int_equal(dns_reverse_name("192.0.2", b, sizeof(b)), -1);
	assert_int_equal(dns_reverse_name("example.com", b, sizeof(b)), -1);
	assert_int_equal(dns_reverse_name("", b, sizeof(b)), -1);
	assert_int_equal(dns_reverse_name("192.0.2.10", b, 23), -1);
	assert_int_equal(dns_reverse_name("192.0.2.10", b, 24), 0);
	assert_int_equal(dns_reverse_name("::1", b, 72), -1);
	assert_int_equal(dns_reverse_name("::1", b, 73), 0);
}

/* Names are checked before anything is sent (budget 0: nothing is). */
static void
test_names(void **state)
{
	struct dns_server s;
	struct dns_resolver *r;
	struct dns_resolver_stats st;
	struct dns_result res;
	struct dns_ctx c;
	char why[160], n[300];
	static const struct { const char *name, *why; } badn[] = {
		{ "", "empty name" }, { ".", "empty name" },
		{ "a..b", "empty label" }, { ".a", "empty label" },
		{ "a..", "empty label" }, { "a b.example", "bad character" },
		{ "a\\.b", "bad character 0x5c" }, { "a\tb", "0x09" },
	};
	size_t i;

	(void)state;
	assert_int_equal(dns_parse_server("127.0.0.1:9", &s, why,
	    sizeof(why)), 0);
	r = dns_resolver_new(&s, 1, 10, why, sizeof(why));
	assert_non_null(r);
	dns_ctx_init(&c, r, 0);
	for (i = 0; i < sizeof(badn) / sizeof(badn[0]); i++) {
		assert_int_equal(dns_query(&c, badn[i].name, DNS_T_A, &res),
		    DNS_BADNAME);
		if (strstr(res.why, badn[i].why) == NULL)
			fail_msg("\"%s\": why \"%s\"", badn[i].name, res.why);
		dns_result_free(&res);
	}
	assert_int_equal(dns_query(&c, NULL, DNS_T_A, &res), DNS_BADNAME);
	dns_result_free(&res);
	memset(n, 'a', 64);
	strcpy(n + 64, ".example");
	assert_int_equal(dns_query(&c, n, DNS_T_A, &res), DNS_BADNAME);
	assert_non_null(strstr(res.why, "label longer than 63"));
	dns_result_free(&res);
	/* 4 labels of 63 + 3 dots = 255 > 253; 63+63+63+61+3 = 253 ok */
	memset(n, 'b', 255);
	n[63] = n[127] = n[191] = '.';
	n[255] = '\0';
	assert_int_equal(dns_query(&c, n, DNS_T_A, &res), DNS_BADNAME);
	assert_non_null(strstr(res.why, "longer than 253"));
	dns_result_free(&res);
	assert_int_equal(c.queries, 0);
	n[253] = '\0';
	assert_int_equal(dns_query(&c, n, DNS_T_A, &res), DNS_TIMEOUT);
	assert_string_equal(res.why, "DNS time budget used up");
	dns_result_free(&res);
	n[253] = '.';			/* trailing dot accepted */
	n[254] = '\0';
	assert_int_equal(dns_query(&c, n, DNS_T_A, &res), DNS_TIMEOUT);
	dns_result_free(&res);
	assert_int_equal(dns_query(&c, "Example.COM.", DNS_T_TXT, &res),
	    DNS_TIMEOUT);
	dns_result_free(&res);
	assert_int_equal(c.queries, 3);
	assert_int_equal(c.timeouts, 3);
	dns_resolver_stats(r, &st);
	assert_int_equal(st.queries, 0);	/* nothing sent */
	assert_int_equal(st.timeouts, 3);
	dns_resolver_free(r);
	dns_thread_done();
}

static void
test_resolver_new(void **state)
{
	struct dns_server s[DNS_MAX_SERVERS + 1];
	struct dns_resolver *r;
	char why[160];

	(void)state;
	memset(s, 0, sizeof(s));
	why[0] = '\0';
	r = dns_resolver_new(s, 1, 0, why, sizeof(why));
	assert_null(r);
	assert_non_null(strstr(why, "no IPv4 or IPv6"));
	r = dns_resolver_new(s, DNS_MAX_SERVERS + 1, 0, why, sizeof(why));
	assert_null(r);
	assert_non_null(strstr(why, "too many"));
	/* nservers 0: the system's resolv.conf (it has a nameserver here) */
	r = dns_resolver_new(NULL, 0, 0, why, sizeof(why));
	if (r == NULL)
		fail_msg("system resolver: %s", why);
	dns_resolver_free(r);
	dns_resolver_free(NULL);
}

static void
test_status_str(void **state)
{
	(void)state;
	assert_string_equal(dns_status_str(DNS_OK), "OK");
	assert_string_equal(dns_status_str(DNS_NXDOMAIN), "NXDOMAIN");
	assert_string_equal(dns_status_str(DNS_NODATA), "NODATA");
	assert_string_equal(dns_status_str(DNS_SERVFAIL), "SERVFAIL");
	assert_string_equal(dns_status_str(DNS_TIMEOUT), "TIMEOUT");
	assert_string_equal(dns_status_str(DNS_ERROR), "ERROR");
}

/* The cause of DNS trouble read from the reasons this module writes: what
 * A-R and SMTP replies say, never a server's address. */
static void
test_trouble_cause(void **state)
{
	static const struct { const char *why, *cause; } cases[] = {
		{ "DNS time budget used up", "DNS time budget used up" },
		{ "no answer within the check's DNS time (2000 ms) for a.example/TXT",
		  "no DNS answer in time" },
		{ "timed out after 996 ms asking 127.0.0.1:5353 for a.example/TXT",
		  "no DNS answer in time" },
		{ "DNS TIMEOUT for _dmarc.a.example: timed out", "no DNS answer in time" },
		{ "SERVFAIL from 127.0.0.1:5353 for a.example/TXT", "DNS server failure (SERVFAIL)" },
		{ "REFUSED from [::1]:53 for a.example/MX", "DNS query refused (REFUSED)" },
		{ "malformed reply: QR bit not set from 127.0.0.1:53 for a.example/A",
		  "unusable DNS reply" },
		{ "lookup cancelled for a.example/TXT", "DNS lookup cancelled" },
		{ "out of memory", "temporary DNS failure" },
		{ "", "temporary DNS failure" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = dns_trouble_cause(cases[i].why);

		if (strcmp(got, cases[i].cause) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].why, got, cases[i].cause);
		assert_null(strstr(got, "127.0.0.1"));
	}
	assert_string_equal(dns_trouble_cause(NULL), "temporary DNS failure");
}

/* A share of a ctx's budget: what is waited inside is taken from both; the
 * wait allowed is the share, never past the budget, never negative. */
static void
test_budget_share(void **state)
{
	struct dns_ctx c;
	long share = 1500, saved;

	(void)state;
	dns_ctx_init(&c, NULL, 3000);
	saved = dns_share_enter(&c, share);
	assert_int_equal(c.budget_ms, 1500);
	c.budget_ms -= 1500;		/* a lookup waited its whole share */
	dns_share_leave(&c, saved, &share);
	assert_int_equal(c.budget_ms, 1500);
	assert_int_equal(share, 0);
	saved = dns_share_enter(&c, share);	/* nothing left: no wait at all */
	assert_int_equal(c.budget_ms, 0);
	dns_share_leave(&c, saved, &share);
	assert_int_equal(c.budget_ms, 1500);
	assert_int_equal(share, 0);
	share = 5000;			/* a share larger than the budget */
	saved = dns_share_enter(&c, share);
	assert_int_equal(c.budget_ms, 1500);
	c.budget_ms -= 200;
	dns_share_leave(&c, saved, &share);
	assert_int_equal(c.budget_ms, 1300);
	assert_int_equal(share, 4800);
	c.budget_ms = -5;		/* a budget overspent by a late wake-up */
	share = 100;
	saved = dns_share_enter(&c, share);
	assert_int_equal(c.budget_ms, 0);
	dns_share_leave(&c, saved, &share);
	assert_int_equal(c.budget_ms, -5);
	assert_int_equal(share, 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aaaa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txt_strings, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mx_ptr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname_chain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cname_loop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cname_too_long, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nxdomain_nodata, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rcodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_header, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hostile_counts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hostile_rdlength, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hostile_txt, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hostile_compression,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_reply, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
		cmocka_unit_test(test_parse_server_ok),
		cmocka_unit_test(test_parse_server_bad),
		cmocka_unit_test(test_reverse),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_resolver_new),
		cmocka_unit_test(test_status_str),
		cmocka_unit_test(test_trouble_cause),
		cmocka_unit_test(test_budget_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
