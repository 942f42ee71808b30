/* Unit tests of dmarc.c without DNS: record parsing (every tag, bad
 * values, duplicates, whitespace, case), domain normalisation (IDN),
 * PSL organizational domains (one-character labels, co.uk, IDN suffixes),
 * relaxed/strict alignment, and the From-domain checks of dmarc_check. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dmarc.h"

static int
parse(const char *txt, struct dmarc_record *r, char *why, size_t whylen)
{
	return dmarc_record_parse(txt, strlen(txt), r, why, whylen);
}

static void
test_parse_every_tag(void **state)
{
	struct dmarc_record r;
	char why[200];

	(void)state;
	assert_int_equal(parse("v=DMARC1; p=reject; sp=quarantine; np=none; adkim=s;"
	    " aspf=s; pct=25; rua=mailto:agg@example.com,mailto:b@example.net!10m;"
	    " ruf=mailto:f@example.com; fo=1:d; t=y; psd=n; rf=afrf; ri=3600",
	    &r, why, sizeof(why)), DMARC_PARSE_OK);
	assert_string_equal(why, "");
	assert_int_equal(r.present, DMARC_TAG_P | DMARC_TAG_SP | DMARC_TAG_NP |
	    DMARC_TAG_ADKIM | DMARC_TAG_ASPF | DMARC_TAG_PCT | DMARC_TAG_RUA |
	    DMARC_TAG_RUF | DMARC_TAG_FO | DMARC_TAG_T | DMARC_TAG_PSD |
	    DMARC_TAG_RF | DMARC_TAG_RI);
	assert_int_equal(r.invalid, 0);
	assert_true(r.p_present);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_int_equal(r.sp, DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.np, DMARC_POLICY_NONE);
	assert_int_equal(r.adkim, DMARC_ALIGN_STRICT);
	assert_int_equal(r.aspf, DMARC_ALIGN_STRICT);
	assert_int_equal(r.pct, 25);
	assert_true(r.testing);
	assert_int_equal(r.psd, DMARC_PSD_N);
	assert_int_equal(r.ri, 3600);
	assert_string_equal(r.fo, "1:d");
	assert_string_equal(r.rua, "mailto:agg@example.com,mailto:b@example.net!10m");
	assert_true(r.rua_valid);
	assert_true(r.ruf_valid);
}

static void
test_parse_defaults(void **state)
{
	struct dmarc_record r;
	char why[200];

	(void)state;
	assert_int_equal(parse("v=DMARC1", &r, why, sizeof(why)), DMARC_PARSE_OK);
	assert_int_equal(r.present, 0);
	assert_false(r.p_present);
	assert_int_equal(r.p, DMARC_POLICY_UNSET);
	assert_int_equal(r.adkim, DMARC_ALIGN_RELAXED);
	assert_int_equal(r.aspf, DMARC_ALIGN_RELAXED);
	assert_int_equal(r.pct, 100);
	assert_int_equal(r.ri, 86400);
	assert_int_equal(r.psd, DMARC_PSD_U);
	assert_false(r.testing);
	assert_string_equal(r.fo, "0");
	/* no p=, only rua: parsed, p_present tells the rules layer */
	assert_int_equal(parse("v=DMARC1; rua=mailto:x@example.com", &r, why, sizeof(why)),
	    DMARC_PARSE_OK);
	assert_false(r.p_present);
	assert_true(r.rua_valid);
}

static void
test_parse_version(void **state)
{
	static const struct { const char *txt; int want; } cases[] = {
		{ "v=DMARC1; p=none", DMARC_PARSE_OK },
		{ "V=DMARC1; p=none", DMARC_PARSE_OK },		/* tag names: any case */
		{ "v = DMARC1 ; p = none", DMARC_PARSE_OK },	/* WSP around = */
		{ "v=DMARC1;", DMARC_PARSE_OK },
		{ "v=dmarc1; p=none", DMARC_PARSE_NOT_DMARC },	/* %x44.4d... exact */
		{ "v=DMARC10; p=none", DMARC_PARSE_NOT_DMARC },
		{ "v=DMARC2; p=none", DMARC_PARSE_NOT_DMARC },
		{ " v=DMARC1; p=none", DMARC_PARSE_NOT_DMARC },	/* must start with v */
		{ "p=none; v=DMARC1", DMARC_PARSE_NOT_DMARC },
		{ "v=spf1 -all", DMARC_PARSE_NOT_DMARC },
		{ "", DMARC_PARSE_NOT_DMARC },
		{ "v=DMARC1 p=none", DMARC_PARSE_SYNTAX },	/* no ';' */
	};
	struct dmarc_record r;
	char why[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = parse(cases[i].txt, &r, why, sizeof(why));

		if (got != cases[i].want)
			fail_msg("\"%s\": got %d, want %d (%s)", cases[i].txt, got,
			    cases[i].want, why);
	}
}

static void
test_parse_whitespace_and_case(void **state)
{
	struct dmarc_record r;
	char why[200];

	(void)state;
	assert_int_equal(parse("v=DMARC1;\tP = Quarantine ;  SP=NONE;; ADKIM=S ;aspf=R;",
	    &r, why, sizeof(why)), DMARC_PARSE_OK);
	assert_int_equal(r.p, DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.sp, DMARC_POLICY_NONE);
	assert_int_equal(r.adkim, DMARC_ALIGN_STRICT);
	assert_int_equal(r.aspf, DMARC_ALIGN_RELAXED);
	assert_int_equal(r.invalid, 0);
}

static void
test_parse_syntax_errors(void **state)
{
	static const char *bad[] = {
		"v=DMARC1; p=none; p=reject",		/* duplicate */
		"v=DMARC1; p=none; P=none",		/* duplicate, other case */
		"v=DMARC1; p=none; x=1; X=2",		/* duplicate unknown tag */
		"v=DMARC1; v=DMARC1; p=none",		/* v twice */
		"v=DMARC1; p=none; junk",		/* term without = */
		"v=DMARC1; 1p=none",			/* tag name starts with digit */
		"v=DMARC1; p-x=none",			/* bad tag name character */
		"v=DMARC1; =none",			/* empty tag name */
		"v=DMARC1; p=none\r\n; sp=none",	/* control bytes */
	};
	struct dmarc_record r;
	char why[200];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int got = parse(bad[i], &r, why, sizeof(why));

		if (got != DMARC_PARSE_SYNTAX)
			fail_msg("\"%s\": got %d, want syntax error", bad[i], got);
		assert_non_null(strstr(why, "DMARC record syntax"));
	}
	/* a NUL inside the record (TXT data may hold any byte) */
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=none\0; sp=reject", 28, &r,
	    why, sizeof(why)), DMARC_PARSE_SYNTAX);
	/* only the bad term is left out: RFC 9989 uses the rest */
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=none\0; sp=reject", 28, &r,
	    why, sizeof(why)), DMARC_PARSE_SYNTAX);
	assert_int_equal(r.p_present, 0);
	assert_int_equal(r.sp, DMARC_POLICY_REJECT);
	assert_false(r.version_broken);
	assert_int_equal(parse("v=DMARC1; p=reject; junk; sp=none; adkim=x", &r, why, sizeof(why)),
	    DMARC_PARSE_SYNTAX);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_int_equal(r.sp, DMARC_POLICY_NONE);
	assert_string_equal(r.syntax, "DMARC record syntax: term without '=': \"junk\"");
	assert_non_null(strstr(why, "adkim=x is not valid"));	/* value notes stay */
	/* a tag given twice keeps its first value */
	assert_int_equal(parse("v=DMARC1; p=none; p=reject", &r, why, sizeof(why)), DMARC_PARSE_SYNTAX);
	assert_int_equal(r.p, DMARC_POLICY_NONE);
	/* the version term itself broken: nothing of it can be trusted */
	assert_int_equal(parse("v=DMARC1 p=reject", &r, why, sizeof(why)), DMARC_PARSE_SYNTAX);
	assert_true(r.version_broken);
}

/* A TXT record that looks like a DMARC record and is not one says why. */
static void
test_parse_not_dmarc_why(void **state)
{
	static const struct { const char *txt, *why; } cases[] = {
		{ "v=dmarc1; p=reject", "must be v=DMARC1, in capitals" },
		{ "V = Dmarc1; p=reject", "must be v=DMARC1, in capitals" },
		{ "p=reject; v=DMARC1", "v=DMARC1 is not its first tag" },
		{ "p=reject; rua=mailto:a@b; v=dmarc1", "v=DMARC1 is not its first tag" },
		{ " v=DMARC1; p=reject", "starts with white space" },
		{ "v=DMARC2; p=reject", "version \"DMARC2" },
		{ "v=spf1 -all", "" },
		{ "hello", "" },
	};
	struct dmarc_record r;
	char why[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].txt, &r, why, sizeof(why)), DMARC_PARSE_NOT_DMARC);
		if (cases[i].why[0] == '\0' ? why[0] != '\0' : strstr(why, cases[i].why) == NULL)
			fail_msg("\"%s\": why \"%s\", want \"%s\"", cases[i].txt, why, cases[i].why);
	}
}

static void
test_parse_bad_values(void **state)
{
	static const struct { const char *txt; unsigned bit; } cases[] = {
		{ "v=DMARC1; p=bogus", DMARC_TAG_P },
		{ "v=DMARC1; p=", DMARC_TAG_P },
		{ "v=DMARC1; p=none; sp=maybe", DMARC_TAG_SP },
		{ "v=DMARC1; p=none; np=1", DMARC_TAG_NP },
		{ "v=DMARC1; p=none; adkim=x", DMARC_TAG_ADKIM },
		{ "v=DMARC1; p=none; aspf=strict", DMARC_TAG_ASPF },
		{ "v=DMARC1; p=none; pct=101", DMARC_TAG_PCT },
		{ "v=DMARC1; p=none; pct=-1", DMARC_TAG_PCT },
		{ "v=DMARC1; p=none; pct=5x", DMARC_TAG_PCT },
		{ "v=DMARC1; p=none; fo=2", DMARC_TAG_FO },
		{ "v=DMARC1; p=none; fo=1:", DMARC_TAG_FO },
		{ "v=DMARC1; p=none; t=maybe", DMARC_TAG_T },
		{ "v=DMARC1; p=none; psd=x", DMARC_TAG_PSD },
		{ "v=DMARC1; p=none; ri=abc", DMARC_TAG_RI },
		{ "v=DMARC1; p=none; rf=:", DMARC_TAG_RF },
		{ "v=DMARC1; p=none; rua=not a uri", DMARC_TAG_RUA },
		{ "v=DMARC1; p=none; rua=mailto:", DMARC_TAG_RUA },
		{ "v=DMARC1; p=none; ruf=", DMARC_TAG_RUF },
	};
	struct dmarc_record r;
	char why[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = parse(cases[i].txt, &r, why, sizeof(why));

		if (got != DMARC_PARSE_OK || r.invalid != cases[i].bit)
			fail_msg("\"%s\": got %d invalid=%#x, want OK invalid=%#x",
			    cases[i].txt, got, r.invalid, cases[i].bit);
		assert_non_null(strstr(why, "is not valid"));
	}
	/* defaults stay when a value is bad */
	assert_int_equal(parse("v=DMARC1; p=bogus; pct=200; adkim=q", &r, why, sizeof(why)),
	    DMARC_PARSE_OK);
	assert_true(r.p_present);
	assert_int_equal(r.p, DMARC_POLICY_UNSET);
	assert_int_equal(r.pct, 100);
	assert_int_equal(r.adkim, DMARC_ALIGN_RELAXED);
	/* boundaries that are fine */
	assert_int_equal(parse("v=DMARC1; p=none; pct=0; fo=0:1:d:s; psd=u; t=n", &r,
	    why, sizeof(why)), DMARC_PARSE_OK);
	assert_int_equal(r.invalid, 0);
	assert_int_equal(r.pct, 0);
	assert_int_equal(r.psd, DMARC_PSD_U);
}

static void
test_parse_unknown_and_long(void **state)
{
	struct dmarc_record r;
	char why[200], txt[2000];

	(void)state;
	assert_int_equal(parse("v=DMARC1; p=none; foo=bar; x_y=1; z=", &r, why, sizeof(why)),
	    DMARC_PARSE_OK);
	assert_int_equal(r.present, DMARC_TAG_P);
	assert_string_equal(why, "");
	/* tag names have no length limit in the grammar */
	snprintf(txt, sizeof(txt), "v=DMARC1; p=reject; %0100d=1", 0);
	txt[20] = 'k';
	assert_int_equal(parse(txt, &r, why, sizeof(why)), DMARC_PARSE_OK);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	/* an over-long rua is kept truncated, and still valid */
	snprintf(txt, sizeof(txt), "v=DMARC1; p=none; rua=mailto:%01200d@example.com", 0);
	assert_int_equal(parse(txt, &r, why, sizeof(why)), DMARC_PARSE_OK);
	assert_int_equal(strlen(r.rua), DMARC_URI_MAX - 1);
	assert_true(r.rua_valid);
	assert_non_null(strstr(why, "truncated"));
}

static void
test_normalize(void **state)
{
	static const struct { const char *in, *out; } good[] = {
		{ "Example.COM", "example.com" },
		{ "example.com.", "example.com" },
		{ "x.com", "x.com" },
		{ "B\xc3\xbc" "cher.Example", "xn--bcher-kva.example" },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
		{ "XN--BCHER-KVA.example", "xn--bcher-kva.example" },
		{ "foo.\xe5\x85\xac\xe5\x8f\xb8.cn", "foo.xn--55qx5d.cn" },
		{ "_under.example", "_under.example" },
	};
	static const char *bad[] = { "", ".", "a..b", "a b.example", "a\\.b", ".example",
	    "x@example.com", "\xff\xfe.example" };
	char out[DMARC_DOMAIN_MAX], why[200], longl[80];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (dmarc_domain_normalize(good[i].in, out, sizeof(out), why, sizeof(why)) != 0)
			fail_msg("\"%s\": %s", good[i].in, why);
		assert_string_equal(out, good[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dmarc_domain_normalize(bad[i], out, sizeof(out), why, sizeof(why)) == 0)
			fail_msg("\"%s\" accepted as \"%s\"", bad[i], out);
	memset(longl, 'a', 64);
	memcpy(longl + 64, ".com", 5);
	assert_int_equal(dmarc_domain_normalize(longl, out, sizeof(out), why, sizeof(why)), -1);
	assert_int_equal(dmarc_domain_normalize(NULL, out, sizeof(out), why, sizeof(why)), -1);
}

static void
test_org_domain_psl(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "x.com", "x.com" },			/* one-character label */
		{ "mail.x.com", "x.com" },
		{ "t.co", "t.co" },
		{ "a.b.t.co", "t.co" },
		{ "a.b.example.co.uk", "example.co.uk" },
		{ "x.co.uk", "x.co.uk" },
		{ "co.uk", "co.uk" },			/* a suffix is its own org domain */
		{ "com", "com" },
		{ "WWW.Example.COM.", "example.com" },
		{ "mail.b\xc3\xbc" "cher.de", "xn--bcher-kva.de" },	/* U-labels in */
		{ "mail.xn--bcher-kva.de", "xn--bcher-kva.de" },
		{ "www.foo.\xe5\x85\xac\xe5\x8f\xb8.cn", "foo.xn--55qx5d.cn" },	/* IDN suffix */
		{ "www.foo.xn--55qx5d.cn", "foo.xn--55qx5d.cn" },
		{ "a.b.c.blogspot.com", "c.blogspot.com" },	/* private suffix */
	};
	struct dmarc *d;
	char out[DMARC_DOMAIN_MAX], why[200];

	(void)state;
	d = dmarc_new(DMARC_STD_RFC7489, DMARC_DISCOVERY_PSL, why, sizeof(why));
	assert_non_null(d);
	assert_non_null(strstr(dmarc_psl_source(d), "public_suffix_list"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (dmarc_org_domain(d, NULL, cases[i].in, out, sizeof(out)) != 0)
			fail_msg("\"%s\": error", cases[i].in);
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("\"%s\": got %s, want %s", cases[i].in, out, cases[i].out);
	}
	assert_int_equal(dmarc_org_domain(d, NULL, "a..b", out, sizeof(out)), DMARC_ORG_EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(dmarc_org_domain(d, NULL, "example.com", out, 5), DMARC_ORG_EINVAL);
	dmarc_free(d);
	/* the tree walk cannot work without DNS */
	d = dmarc_new(DMARC_STD_RFC9989, DMARC_DISCOVERY_TREEWALK, why, sizeof(why));
	assert_non_null(d);
	assert_int_equal(dmarc_org_domain(d, NULL, "example.com", out, sizeof(out)),
	    DMARC_ORG_ETEMP);
	dmarc_free(d);
}

static void
test_alignment_psl(void **state)
{
	static const struct {
		const char *from, *other;
		enum dmarc_align mode;
		int want;
	} cases[] = {
		{ "example.com", "example.com", DMARC_ALIGN_STRICT, 1 },
		{ "example.com", "EXAMPLE.com.", DMARC_ALIGN_STRICT, 1 },
		{ "example.com", "mail.example.com", DMARC_ALIGN_STRICT, 0 },
		{ "example.com", "mail.example.com", DMARC_ALIGN_RELAXED, 1 },
		{ "news.example.com", "example.com", DMARC_ALIGN_RELAXED, 1 },
		{ "news.example.com", "bounce.example.com", DMARC_ALIGN_RELAXED, 1 },
		{ "news.example.com", "example.com", DMARC_ALIGN_STRICT, 0 },
		{ "example.com", "example.net", DMARC_ALIGN_RELAXED, 0 },
		{ "example.com", "notexample.com", DMARC_ALIGN_RELAXED, 0 },
		{ "x.com", "attacker.com", DMARC_ALIGN_RELAXED, 0 },	/* libopendmarc's bug */
		{ "x.com", "com", DMARC_ALIGN_RELAXED, 0 },
		{ "x.com", "mail.x.com", DMARC_ALIGN_RELAXED, 1 },
		{ "t.co", "evil.co", DMARC_ALIGN_RELAXED, 0 },
		{ "t.co", "s.t.co", DMARC_ALIGN_RELAXED, 1 },
		{ "a.example.co.uk", "b.example.co.uk", DMARC_ALIGN_RELAXED, 1 },
		{ "example.co.uk", "other.co.uk", DMARC_ALIGN_RELAXED, 0 },
		{ "example.co.uk", "co.uk", DMARC_ALIGN_RELAXED, 0 },
		{ "a.blogspot.com", "b.blogspot.com", DMARC_ALIGN_RELAXED, 0 },
		/* below the From org domain, but under a suffix of its own */
		{ "blogspot.com", "x.blogspot.com", DMARC_ALIGN_RELAXED, 0 },
		{ "amazonaws.com", "bucket.us-east-1.amazonaws.com", DMARC_ALIGN_RELAXED, 0 },
		{ "amazonaws.com", "www.amazonaws.com", DMARC_ALIGN_RELAXED, 1 },
		{ "b\xc3\xbc" "cher.de", "mail.xn--bcher-kva.de", DMARC_ALIGN_RELAXED, 1 },
		{ "b\xc3\xbc" "cher.de", "xn--bcher-kva.de", DMARC_ALIGN_STRICT, 1 },
	};
	struct dmarc *d;
	char why[200];

	(void)state;
	d = dmarc_new(DMARC_STD_RFC7489, DMARC_DISCOVERY_PSL, why, sizeof(why));
	assert_non_null(d);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = dmarc_aligned(d, NULL, cases[i].from, cases[i].other, cases[i].mode);

		if (got != cases[i].want)
			fail_msg("%s / %s (%s): got %d, want %d", cases[i].from, cases[i].other,
			    cases[i].mode == DMARC_ALIGN_STRICT ? "strict" : "relaxed", got,
			    cases[i].want);
	}
	assert_int_equal(dmarc_aligned(d, NULL, "a..b", "example.com", DMARC_ALIGN_RELAXED), -1);
	dmarc_free(d);
}

static void
test_check_from_domains(void **state)
{
	const char *two[] = { "Example.com", "other.ORG" };
	const char *same[] = { "example.com", "EXAMPLE.COM." };
	const char *badname[] = { "exa mple.com" };
	struct dmarc_input in;
	struct dmarc_outcome out;
	struct dmarc *d;
	char why[200];

	(void)state;
	d = dmarc_new(DMARC_STD_RFC7489, DMARC_DISCOVERY_PSL, why, sizeof(why));
	assert_non_null(d);
	memset(&in, 0, sizeof(in));
	/* no From domain */
	assert_int_equal(dmarc_check(d, NULL, &in, &out), DMARC_RES_PERMERROR);
	assert_string_equal(out.why, "message has no From domain");
	/* two different From domains */
	in.from_domains = two;
	in.n_from = 2;
	assert_int_equal(dmarc_check(d, NULL, &in, &out), DMARC_RES_PERMERROR);
	assert_int_equal(out.n_from, 2);
	assert_non_null(strstr(out.why, "message has 2 From addresses (example.com, other.org)"));
	/* the same domain twice is one domain; without DNS the check stops */
	in.from_domains = same;
	assert_int_equal(dmarc_check(d, NULL, &in, &out), DMARC_RES_PERMERROR);
	assert_int_equal(out.n_from, 1);
	assert_string_equal(out.from_domain, "example.com");
	assert_string_equal(out.why, "no DNS context");
	/* not a domain name */
	in.from_domains = badname;
	in.n_from = 1;
	assert_int_equal(dmarc_check(d, NULL, &in, &out), DMARC_RES_PERMERROR);
	assert_non_null(strstr(out.why, "is not a valid domain name"));
	dmarc_free(d);
}

static void
test_strings(void **state)
{
	(void)state;
	assert_string_equal(dmarc_res_str(DMARC_RES_NONE), "none");
	assert_string_equal(dmarc_res_str(DMARC_RES_PASS), "pass");
	assert_string_equal(dmarc_res_str(DMARC_RES_FAIL), "fail");
	assert_string_equal(dmarc_res_str(DMARC_RES_TEMPERROR), "temperror");
	assert_string_equal(dmarc_res_str(DMARC_RES_PERMERROR), "permerror");
	assert_string_equal(dmarc_policy_str(DMARC_POLICY_UNSET), "unset");
	assert_string_equal(dmarc_policy_str(DMARC_POLICY_NONE), "none");
	assert_string_equal(dmarc_policy_str(DMARC_POLICY_QUARANTINE), "quarantine");
	assert_string_equal(dmarc_policy_str(DMARC_POLICY_REJECT), "reject");
	assert_string_equal(dmarc_standard_str(DMARC_STD_RFC9989), "rfc9989");
	assert_string_equal(dmarc_standard_str(DMARC_STD_RFC7489), "rfc7489");
	assert_string_equal(dmarc_discovery_str(DMARC_DISCOVERY_PSL), "psl");
	assert_string_equal(dmarc_discovery_str(DMARC_DISCOVERY_TREEWALK), "treewalk");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_every_tag),
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_version),
		cmocka_unit_test(test_parse_whitespace_and_case),
		cmocka_unit_test(test_parse_syntax_errors),
		cmocka_unit_test(test_parse_not_dmarc_why),
		cmocka_unit_test(test_parse_bad_values),
		cmocka_unit_test(test_parse_unknown_and_long),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_org_domain_psl),
		cmocka_unit_test(test_alignment_psl),
		cmocka_unit_test(test_check_from_domains),
		cmocka_unit_test(test_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
