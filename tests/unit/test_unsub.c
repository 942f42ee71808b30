/* Unit tests of unsub.c: List-Unsubscribe parsing (RFC 2369), the
 * List-Unsubscribe-Post value, DKIM coverage (RFC 8058) with signature
 * results built here, and the bulk hints. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "header.h"
#include "unsub.h"

#define GOOD_LU		" <mailto:unsub@example.com?subject=unsub>, <https://example.com/u/abc>"
#define GOOD_POST	" List-Unsubscribe=One-Click"
#define H_BOTH		"from:to:subject:list-unsubscribe:list-unsubscribe-post"

static void
add(struct header_list *hl, const char *name, const char *value)
{
	char why[128];

	if (header_list_add(hl, name, value, strlen(value), why, sizeof(why)) != 0)
		fail_msg("header_list_add: %s", why);
}

/* A signature result with h= given as "a:b:c". */
static void
sig(struct dkim_sig_result *s, enum dkim_res res, const char *d, const char *h)
{
	memset(s, 0, sizeof(*s));
	s->result = res;
	snprintf(s->domain, sizeof(s->domain), "%s", d);
	snprintf(s->selector, sizeof(s->selector), "s1");
	snprintf(s->algorithm, sizeof(s->algorithm), "rsa-sha256");
	dkim_sig_set_hlist(s, h, strlen(h));
}

/* A message with From and the given List-Unsubscribe / -Post values (NULL: none). */
static void
msg(struct header_list *hl, const char *lu, const char *post)
{
	header_list_init(hl);
	add(hl, "From", " News <news@example.com>");
	add(hl, "To", " reader@example.net");
	add(hl, "Subject", " Offers");
	if (lu)
		add(hl, "List-Unsubscribe", lu);
	if (post)
		add(hl, "List-Unsubscribe-Post", post);
}

static int
has_reason(const struct unsub_result *r, const char *text)
{
	for (size_t i = 0; i < r->n_reasons; i++)
		if (strstr(r->reasons[i], text) != NULL)
			return 1;
	return 0;
}

static int
has_note(const struct unsub_result *r, const char *text)
{
	for (size_t i = 0; i < r->n_notes; i++)
		if (strstr(r->notes[i], text) != NULL)
			return 1;
	return 0;
}

static void
expect_reason(const struct unsub_result *r, const char *text)
{
	if (!has_reason(r, text))
		fail_msg("no reason containing \"%s\" (first: \"%s\")", text,
		    r->n_reasons ? r->reasons[0] : "");
}

/* ---- List-Unsubscribe parsing ---- */

static void
test_parse_list(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		int https, http, mailto, mailto_only, stopped;
		const char *uri;
	} cases[] = {
		{ " <https://e.example/u?x=1>", 1, 1, 0, 0, 0, 0, "https://e.example/u?x=1" },
		{ " <mailto:u@e.example>, <https://e.example/u>", 2, 1, 0, 1, 0, 0, "https://e.example/u" },
		{ " <mailto:u@e.example>", 1, 0, 0, 1, 1, 0, "" },
		{ " <http://e.example/u>", 1, 0, 1, 0, 0, 0, "" },
		{ " <https://e.example/a,b>", 1, 1, 0, 0, 0, 0, "https://e.example/a,b" },
		{ " <https://e.example/very\r\n long>", 1, 1, 0, 0, 0, 0, "https://e.example/verylong" },
		{ " <mailto:a@b.example>,\r\n <https://x.example/>", 2, 1, 0, 1, 0, 0, "https://x.example/" },
		{ " (comment (nested)) <https://x.example/> (c)", 1, 1, 0, 0, 0, 0, "https://x.example/" },
		{ " https://e.example/u", 0, 0, 0, 0, 0, 1, "" },
		{ " <mailto:a@b.example>, https://e.example/u", 1, 0, 0, 1, 1, 1, "" },
		{ " <mailto:a@b.example> junk, <https://x.example/>", 1, 0, 0, 1, 1, 1, "" },
		{ " <https://x.example/", 0, 0, 0, 0, 0, 1, "" },
		{ " <HTTPS://X.example/u>", 1, 1, 0, 0, 0, 0, "HTTPS://X.example/u" },
		{ " <https:/x.example>", 1, 0, 0, 0, 0, 0, "" },
		{ " <https://>", 1, 0, 0, 0, 0, 0, "" },
		{ " <https:///path>", 1, 0, 0, 0, 0, 0, "" },
		{ " <ftp://x.example/>", 1, 0, 0, 0, 0, 0, "" },
		{ " <>", 1, 0, 0, 0, 0, 0, "" },
		{ "", 0, 0, 0, 0, 0, 1, "" },
		{ " <mailto:a@b.example>,", 1, 0, 0, 1, 1, 0, "" },
		{ " <https://a.example/1>, <https://b.example/2>", 2, 1, 0, 0, 0, 0, "https://a.example/1" },
		{ " <<https://x.example/>>", 1, 0, 0, 0, 0, 1, "" },
		{ " <mailto:a@b.example>, <http://h.example/>", 2, 0, 1, 1, 0, 0, "" },
		{ " (unclosed <https://x.example/>", 0, 0, 0, 0, 0, 1, "" },
		{ " <https://x.example/> (unclosed", 1, 1, 0, 0, 0, 1, "https://x.example/" },
		{ " <mailto:a@b.example>, , <https://x.example/>", 1, 0, 0, 1, 1, 1, "" },
		{ " <1https://x.example/>", 1, 0, 0, 0, 0, 0, "" },
		{ " <httpsx://x.example/>", 1, 0, 0, 0, 0, 0, "" },
	};
	struct unsub_list l;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = unsub_parse_list(cases[i].in, strlen(cases[i].in), &l);

		if (n != cases[i].n || l.n_uris != n || l.has_https != cases[i].https ||
		    l.has_http != cases[i].http || l.has_mailto != cases[i].mailto ||
		    l.mailto_only != cases[i].mailto_only || l.stopped != cases[i].stopped)
			fail_msg("case %zu \"%s\": n=%zu https=%d http=%d mailto=%d only=%d stopped=%d (%s)",
			    i, cases[i].in, n, l.has_https, l.has_http, l.has_mailto, l.mailto_only,
			    l.stopped, l.stop_why);
		if (strcmp(l.https, cases[i].uri) != 0)
			fail_msg("case %zu: https \"%s\"", i, l.https);
	}
}

static void
test_parse_list_stop_reasons(void **state)
{
	struct unsub_list l;
	const char *v;

	(void)state;
	v = " https://e.example/u";
	unsub_parse_list(v, strlen(v), &l);
	assert_non_null(strstr(l.stop_why, "does not start with '<'"));
	assert_int_equal(l.stop_pos, 1);
	v = " <mailto:a@b.example>, https://e.example/u";
	unsub_parse_list(v, strlen(v), &l);
	assert_non_null(strstr(l.stop_why, "item 2 is not in angle brackets"));
	assert_int_equal(l.stop_pos, 23);
	v = " <mailto:a@b.example> x";
	unsub_parse_list(v, strlen(v), &l);
	assert_non_null(strstr(l.stop_why, "text after item 1 is not a comma"));
	v = " <mailto:a@b.example>, <https://x";
	unsub_parse_list(v, strlen(v), &l);
	assert_non_null(strstr(l.stop_why, "item 2 has no closing '>'"));
}

static void
test_parse_list_long(void **state)
{
	size_t n = 5000, items = 20000;
	char *v = malloc(items * 20 + n + 32);
	struct unsub_list l;
	size_t o;

	(void)state;
	assert_non_null(v);
	/* a https URI longer than the limit is cut and flagged */
	memcpy(v, "<https://e.example/", 19);
	memset(v + 19, 'a', n);
	memcpy(v + 19 + n, ">", 2);
	assert_int_equal(unsub_parse_list(v, strlen(v), &l), 1);
	assert_true(l.has_https);
	assert_true(l.https_truncated);
	assert_int_equal(strlen(l.https), UNSUB_URI_MAX);
	/* many items: all counted, linear */
	o = 0;
	for (size_t i = 0; i < items; i++) {
		memcpy(v + o, "<mailto:a@b.ex>, ", 17);
		o += 17;
	}
	assert_int_equal(unsub_parse_list(v, o, &l), items);
	assert_true(l.mailto_only);
	assert_false(l.stopped);
	free(v);
}

static void
test_post_value(void **state)
{
	static const struct { const char *v; int ok; } cases[] = {
		{ "List-Unsubscribe=One-Click", 1 },
		{ " List-Unsubscribe=One-Click", 1 },
		{ " List-Unsubscribe=One-Click  ", 1 },
		{ " List-Unsubscribe=One-Click\t", 1 },
		{ "\tList-Unsubscribe=One-Click", 0 },
		{ "  List-Unsubscribe=One-Click", 0 },
		{ " list-unsubscribe=one-click", 0 },
		{ " List-Unsubscribe=One-Click, x", 0 },
		{ " List-Unsubscribe=One-Click\r\n ", 0 },
		{ " List-Unsubscribe=One-Click\r\n\tx", 0 },
		{ " List-Unsubscribe = One-Click", 0 },
		{ " \"List-Unsubscribe=One-Click\"", 0 },
		{ " List-Unsubscribe=One-Clic", 0 },
		{ " List-Unsubscribe=One-Click;", 0 },
		{ " List-Unsubscribe=Yes", 0 },
		{ "", 0 },
		{ " ", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (unsub_post_value_ok(cases[i].v, strlen(cases[i].v)) != cases[i].ok)
			fail_msg("case %zu \"%s\"", i, cases[i].v);
	/* the length counts, not a NUL */
	assert_false(unsub_post_value_ok(" List-Unsubscribe=One-Click", 20));
	assert_false(unsub_post_value_ok(" List-Unsubscribe=One-Click\0x", 29));
}

/* ---- the check ---- */

static void
test_good(void **state)
{
	struct header_list hl;
	struct dkim_sig_result s[1];
	struct unsub_result r;

	(void)state;
	msg(&hl, GOOD_LU, GOOD_POST);
	sig(&s[0], DKIM_RES_PASS, "example.com", H_BOTH);
	unsub_check(&hl, s, 1, &r);
	if (!r.pass)
		fail_msg("%s", r.reasons[0]);
	assert_int_equal(r.problems, 0);
	assert_int_equal(r.n_reasons, 0);
	assert_int_equal(r.sig_index, 0);
	assert_int_equal(r.sig_result, DKIM_RES_PASS);
	assert_string_equal(r.sig_domain, "example.com");
	assert_int_equal(r.n_covering, 1);
	assert_true(r.post_ok);
	assert_true(r.has_https && r.has_mailto && !r.has_http && !r.mailto_only);
	assert_string_equal(r.list.https, "https://example.com/u/abc");
	header_list_free(&hl);
}

/* Runs one case: LU, Post, one signature (res, h=); checks problems exactly. */
static void
one(const char *lu, const char *post, enum dkim_res res, const char *h, unsigned problems,
    const char *reason, struct unsub_result *r)
{
	struct header_list hl;
	struct dkim_sig_result s[1];

	msg(&hl, lu, post);
	sig(&s[0], res, "example.com", h);
	unsub_check(&hl, s, 1, r);
	if (r->problems != problems)
		fail_msg("problems 0x%x, expected 0x%x (%s)", r->problems, problems,
		    r->n_reasons ? r->reasons[0] : "no reason");
	assert_int_equal(r->pass, problems == 0);
	if (reason)
		expect_reason(r, reason);
	header_list_free(&hl);
}

static void
test_list_unsub_variants(void **state)
{
	struct unsub_result r;

	(void)state;
	one(NULL, GOOD_POST, DKIM_RES_PASS, H_BOTH, UNSUB_P_NO_LIST_UNSUB,
	    "no List-Unsubscribe field", &r);
	one(" <mailto:u@example.com>", GOOD_POST, DKIM_RES_PASS, H_BOTH,
	    UNSUB_P_NO_HTTPS | UNSUB_P_MAILTO_ONLY, "only mailto: URIs", &r);
	assert_true(r.mailto_only && r.has_mailto && !r.has_https);
	one(" <http://example.com/u>", GOOD_POST, DKIM_RES_PASS, H_BOTH,
	    UNSUB_P_NO_HTTPS | UNSUB_P_HTTP_NOT_HTTPS, "http: URI but no https: URI", &r);
	assert_true(r.has_http && !r.mailto_only);
	one(" <mailto:u@example.com>, <http://example.com/u>", GOOD_POST, DKIM_RES_PASS, H_BOTH,
	    UNSUB_P_NO_HTTPS | UNSUB_P_HTTP_NOT_HTTPS, NULL, &r);
	assert_false(r.mailto_only);
	one(" <ftp://example.com/u>", GOOD_POST, DKIM_RES_PASS, H_BOTH,
	    UNSUB_P_NO_HTTPS, "no https: URI", &r);
	one(" https://example.com/u", GOOD_POST, DKIM_RES_PASS, H_BOTH,
	    UNSUB_P_NO_URI | UNSUB_P_NO_HTTPS, "no URI in angle brackets", &r);
	one(" <mailto:u@example.com>, https://example.com/u", GOOD_POST, DKIM_RES_PASS, H_BOTH,
	    UNSUB_P_NO_HTTPS | UNSUB_P_MAILTO_ONLY, NULL, &r);
	assert_true(has_note(&r, "item 2 is not in angle brackets"));
	one(" <mailto:u@example.com>,\r\n <https://example.com/a\r\n /b>", GOOD_POST, DKIM_RES_PASS,
	    H_BOTH, 0, NULL, &r);
	assert_string_equal(r.list.https, "https://example.com/a/b");
	one(" <https://example.com/u>, <http://example.com/u>", GOOD_POST, DKIM_RES_PASS, H_BOTH,
	    0, NULL, &r);
	assert_true(has_note(&r, "http: URI besides the https: one"));
	one(" <https://a.example/u>, <https://b.example/u>", GOOD_POST, DKIM_RES_PASS, H_BOTH,
	    0, NULL, &r);
	assert_true(has_note(&r, "2 https: URIs"));
	assert_string_equal(r.list.https, "https://a.example/u");
}

static void
test_post_variants(void **state)
{
	struct unsub_result r;

	(void)state;
	one(GOOD_LU, NULL, DKIM_RES_PASS, H_BOTH, UNSUB_P_NO_POST,
	    "no List-Unsubscribe-Post field", &r);
	one(GOOD_LU, " List-Unsubscribe=Yes", DKIM_RES_PASS, H_BOTH, UNSUB_P_POST_VALUE,
	    "List-Unsubscribe-Post is \"List-Unsubscribe=Yes\", not exactly", &r);
	assert_false(r.post_ok);
	one(GOOD_LU, "  List-Unsubscribe=One-Click", DKIM_RES_PASS, H_BOTH, UNSUB_P_POST_VALUE,
	    NULL, &r);
	one(GOOD_LU, " List-Unsubscribe=One-Click ", DKIM_RES_PASS, H_BOTH, 0, NULL, &r);
	one(NULL, NULL, DKIM_RES_PASS, H_BOTH, UNSUB_P_NO_LIST_UNSUB | UNSUB_P_NO_POST, NULL, &r);
	assert_int_equal(r.sig_index, -1);
}

static void
test_duplicates(void **state)
{
	struct header_list hl;
	struct dkim_sig_result s[1];
	struct unsub_result r;

	(void)state;
	/* two List-Unsubscribe, signed once: duplicated and a copy unsigned */
	msg(&hl, GOOD_LU, GOOD_POST);
	add(&hl, "List-Unsubscribe", " <https://evil.example/u>");
	sig(&s[0], DKIM_RES_PASS, "example.com", H_BOTH);
	unsub_check(&hl, s, 1, &r);
	assert_int_equal(r.problems, UNSUB_P_DUP_LIST_UNSUB | UNSUB_P_UNSIGNED_COPY);
	expect_reason(&r, "2 List-Unsubscribe fields");
	expect_reason(&r, "signature 1 (d=example.com) signs List-Unsubscribe 1");
	assert_int_equal(r.sig_index, 0);
	assert_int_equal(r.n_covering, 0);
	assert_string_equal(r.list.https, "https://example.com/u/abc");

	/* the same, oversigned (h= lists it twice): only the duplicate fails */
	sig(&s[0], DKIM_RES_PASS, "example.com", H_BOTH ":list-unsubscribe");
	unsub_check(&hl, s, 1, &r);
	assert_int_equal(r.problems, UNSUB_P_DUP_LIST_UNSUB);
	assert_int_equal(r.n_covering, 1);
	header_list_free(&hl);

	/* two Post fields (both right), signed once */
	msg(&hl, GOOD_LU, GOOD_POST);
	add(&hl, "List-Unsubscribe-Post", GOOD_POST);
	sig(&s[0], DKIM_RES_PASS, "example.com", H_BOTH);
	unsub_check(&hl, s, 1, &r);
	assert_int_equal(r.problems, UNSUB_P_DUP_POST | UNSUB_P_UNSIGNED_COPY);
	expect_reason(&r, "2 List-Unsubscribe-Post fields");
	assert_false(r.post_ok);
	header_list_free(&hl);

	/* a second Post with another value: that is found too */
	msg(&hl, GOOD_LU, GOOD_POST);
	add(&hl, "list-unsubscribe-post", " List-Unsubscribe=No");
	sig(&s[0], DKIM_RES_PASS, "example.com", H_BOTH ":list-unsubscribe-post");
	unsub_check(&hl, s, 1, &r);
	assert_int_equal(r.problems, UNSUB_P_DUP_POST | UNSUB_P_POST_VALUE);
	assert_int_equal(r.n_post, 2);
	header_list_free(&hl);
}

static void
test_oversigned_single(void **state)
{
	struct unsub_result r;

	(void)state;
	/* h= naming each twice with one copy each: good (oversigning) */
	one(GOOD_LU, GOOD_POST, DKIM_RES_PASS,
	    "from:list-unsubscribe:list-unsubscribe:list-unsubscribe-post:list-unsubscribe-post",
	    0, NULL, &r);
	assert_int_equal(r.n_covering, 1);
}

static void
test_signing(void **state)
{
	struct unsub_result r;

	(void)state;
	one(GOOD_LU, GOOD_POST, DKIM_RES_PASS, "from:to:list-unsubscribe", UNSUB_P_NOT_SIGNED,
	    "List-Unsubscribe-Post is not in h= of a passing DKIM signature", &r);
	assert_int_equal(r.sig_index, -1);
	one(GOOD_LU, GOOD_POST, DKIM_RES_PASS, "from:to:list-unsubscribe-post", UNSUB_P_NOT_SIGNED,
	    "List-Unsubscribe is not in h=", &r);
	one(GOOD_LU, GOOD_POST, DKIM_RES_PASS, "from:to:subject", UNSUB_P_NOT_SIGNED,
	    "List-Unsubscribe and List-Unsubscribe-Post are not in h=", &r);
	one(GOOD_LU, GOOD_POST, DKIM_RES_FAIL, H_BOTH, UNSUB_P_SIG_FAILED,
	    "signed only by signature 1 (d=example.com), which did not pass (fail)", &r);
	assert_int_equal(r.sig_index, 0);
	assert_int_equal(r.sig_result, DKIM_RES_FAIL);
	assert_int_equal(r.n_covering, 0);
	one(GOOD_LU, GOOD_POST, DKIM_RES_POLICY, H_BOTH, UNSUB_P_SIG_FAILED, "(policy)", &r);
	one(GOOD_LU, GOOD_POST, DKIM_RES_TEMPERROR, H_BOTH, UNSUB_P_SIG_FAILED, "(temperror)", &r);
	/* names in h= compared without regard to case */
	one(GOOD_LU, GOOD_POST, DKIM_RES_PASS, "From:List-Unsubscribe:LIST-UNSUBSCRIBE-POST", 0,
	    NULL, &r);
}

static void
test_no_signature(void **state)
{
	struct header_list hl;
	struct unsub_result r;

	(void)state;
	msg(&hl, GOOD_LU, GOOD_POST);
	unsub_check(&hl, NULL, 0, &r);
	assert_int_equal(r.problems, UNSUB_P_NOT_SIGNED);
	expect_reason(&r, "no DKIM signature covers");
	assert_int_equal(r.sig_index, -1);
	/* a NULL array with a count is treated as none */
	unsub_check(&hl, NULL, 3, &r);
	assert_int_equal(r.problems, UNSUB_P_NOT_SIGNED);
	header_list_free(&hl);
}

static void
test_several_signatures(void **state)
{
	struct header_list hl;
	struct dkim_sig_result s[4];
	struct unsub_result r;

	(void)state;
	msg(&hl, GOOD_LU, GOOD_POST);

	/* a failed signature first, then a passing one from the ESP: pass, d= reported */
	sig(&s[0], DKIM_RES_FAIL, "example.com", H_BOTH);
	sig(&s[1], DKIM_RES_PASS, "esp.example.net", H_BOTH);
	unsub_check(&hl, s, 2, &r);
	assert_true(r.pass);
	assert_int_equal(r.sig_index, 1);
	assert_string_equal(r.sig_domain, "esp.example.net");
	assert_int_equal(r.n_covering, 1);
	assert_int_equal(r.covering[0], 1);

	/* two covering passes: the first is reported, both listed for alignment */
	sig(&s[0], DKIM_RES_PASS, "esp.example.net", H_BOTH);
	sig(&s[1], DKIM_RES_PASS, "example.com", H_BOTH);
	unsub_check(&hl, s, 2, &r);
	assert_int_equal(r.sig_index, 0);
	assert_int_equal(r.n_covering, 2);
	assert_int_equal(r.covering[1], 1);

	/* each header signed by a different passing signature: not together */
	sig(&s[0], DKIM_RES_PASS, "a.example", "from:list-unsubscribe");
	sig(&s[1], DKIM_RES_PASS, "b.example", "from:list-unsubscribe-post");
	unsub_check(&hl, s, 2, &r);
	assert_int_equal(r.problems, UNSUB_P_NOT_SIGNED);
	expect_reason(&r, "not in h= of the same passing DKIM signature");

	/* passing signature covering fully wins over an earlier partial one */
	header_list_free(&hl);
	msg(&hl, GOOD_LU, GOOD_POST);
	add(&hl, "List-Unsubscribe-Post", GOOD_POST);
	sig(&s[0], DKIM_RES_PASS, "partial.example", H_BOTH);
	sig(&s[1], DKIM_RES_PASS, "full.example", H_BOTH ":list-unsubscribe-post");
	sig(&s[2], DKIM_RES_FAIL, "failed.example", H_BOTH ":list-unsubscribe-post");
	unsub_check(&hl, s, 3, &r);
	assert_int_equal(r.problems, UNSUB_P_DUP_POST);
	assert_string_equal(r.sig_domain, "full.example");
	/* without it, the partial one is reported, not the failed one */
	unsub_check(&hl, s, 1, &r);
	assert_int_equal(r.problems, UNSUB_P_DUP_POST | UNSUB_P_UNSIGNED_COPY);
	assert_string_equal(r.sig_domain, "partial.example");
	s[1] = s[2];
	unsub_check(&hl, s, 2, &r);
	assert_string_equal(r.sig_domain, "partial.example");
	header_list_free(&hl);
}

static void
test_many_signatures_bounded(void **state)
{
	struct header_list hl;
	struct dkim_sig_result *s = calloc(DKIM_MAX_LISTED + 8, sizeof(*s));
	struct unsub_result r;

	(void)state;
	assert_non_null(s);
	msg(&hl, GOOD_LU, GOOD_POST);
	for (size_t i = 0; i < DKIM_MAX_LISTED + 8; i++)
		sig(&s[i], DKIM_RES_PASS, "example.com", H_BOTH);
	unsub_check(&hl, s, DKIM_MAX_LISTED + 8, &r);
	assert_true(r.pass);
	assert_int_equal(r.n_covering, DKIM_MAX_LISTED);
	/* h= is counted whole: the fields named after the 64th name are signed */
	{
		char h[2048] = "";

		for (int i = 0; i < 80; i++)
			strcat(h, "received:");
		strcat(h, "from:list-unsubscribe:list-unsubscribe-post");
		sig(&s[0], DKIM_RES_PASS, "example.com", h);
		assert_int_equal(s[0].n_signed, DKIM_MAX_SIGNED_HDRS);
		unsub_check(&hl, s, 1, &r);
		assert_true(r.pass);
	}
	/* a name with white space inside names no field, whatever it spells */
	sig(&s[0], DKIM_RES_PASS, "example.com", "from:list-unsub scribe:list-unsubscribe-\r\n post");
	unsub_check(&hl, s, 1, &r);
	assert_false(r.pass);
	assert_true(r.problems & UNSUB_P_NOT_SIGNED);
	header_list_free(&hl);
	free(s);
}

static void
test_bulk_hints(void **state)
{
	struct header_list hl;
	char names[100];
	unsigned h;

	(void)state;
	header_list_init(&hl);
	add(&hl, "From", " a@example.com");
	h = unsub_bulk_hints(&hl, names, sizeof(names));
	assert_int_equal(h, 0);
	assert_string_equal(names, "");
	add(&hl, "Precedence", " junk");
	assert_int_equal(unsub_bulk_hints(&hl, NULL, 0), 0);
	add(&hl, "precedence", " \r\n  BULK  ");
	assert_int_equal(unsub_bulk_hints(&hl, names, sizeof(names)), BULK_HINT_PRECEDENCE);
	assert_string_equal(names, "Precedence");
	add(&hl, "Feedback-ID", " a:b:c:esp");
	h = unsub_bulk_hints(&hl, names, sizeof(names));
	assert_int_equal(h, BULK_HINT_PRECEDENCE | BULK_HINT_FEEDBACK_ID);
	assert_string_equal(names, "Precedence, Feedback-ID");
	add(&hl, "List-Id", " <news.example.com>");
	add(&hl, "LIST-UNSUBSCRIBE", " <mailto:u@example.com>");
	h = unsub_bulk_hints(&hl, names, sizeof(names));
	assert_int_equal(h, BULK_HINT_LIST_UNSUB | BULK_HINT_LIST_ID | BULK_HINT_PRECEDENCE |
	    BULK_HINT_FEEDBACK_ID);
	assert_string_equal(names, "List-Unsubscribe, List-Id, Precedence, Feedback-ID");
	/* a small buffer is cut, still terminated */
	memset(names, 'X', sizeof(names));
	unsub_bulk_hints(&hl, names, 10);
	assert_true(strlen(names) < 10);
	header_list_free(&hl);

	header_list_init(&hl);
	add(&hl, "Precedence", " list");
	assert_int_equal(unsub_bulk_hints(&hl, NULL, 0), BULK_HINT_PRECEDENCE);
	header_list_free(&hl);
	header_list_init(&hl);
	add(&hl, "Precedence", " bulk-ish");
	add(&hl, "Precedence", " first-class");
	assert_int_equal(unsub_bulk_hints(&hl, NULL, 0), 0);
	header_list_free(&hl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_list),
		cmocka_unit_test(test_parse_list_stop_reasons),
		cmocka_unit_test(test_parse_list_long),
		cmocka_unit_test(test_post_value),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_list_unsub_variants),
		cmocka_unit_test(test_post_variants),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_oversigned_single),
		cmocka_unit_test(test_signing),
		cmocka_unit_test(test_no_signature),
		cmocka_unit_test(test_several_signatures),
		cmocka_unit_test(test_many_signatures_bounded),
		cmocka_unit_test(test_bulk_hints),
	};

	return cmocka_run_group_tests_name("unsub", tests, NULL, NULL);
}
