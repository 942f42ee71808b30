/*
 * Unit tests of the verdict's field table (fields.c) and the renderers
 * that walk it (report.c):
 * - the table: unique keys and columns per level, a value source, names
 *   and a doc line for every field, formats with known directives only;
 * - Authentication-Results and the compliance field, byte for byte as the
 *   hand-written writers before the table wrote them (the literals below
 *   were captured from that code), over verdicts of many shapes;
 * - the log line, word for word;
 * - the JSON record: version, null for what does not apply, summary vs
 *   full; the walk's final check (nothing left open or over);
 * - vfield_reach from several threads at once (libmilter's workers each
 *   render a verdict): every caller gets the row's reach; under
 *   ThreadSanitizer (tests/run-all.sh --tsan), no race on its cache.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "columns.h"
#include "fields.h"
#include "report.h"
#include "verdict_cases.h"

/* ---- the table ---- */

static void
check_format(const char *fmt, const char *where)
{
	for (const char *p = fmt; p && *p; p++)
		if (*p == '%') {
			p++;
			if (strchr("skKi%", *p) == NULL)
				fail_msg("%s: unknown directive %%%c in \"%s\"", where, *p, fmt);
		}
}

static void
check_level(const struct vfield *rows, const char *path, int depth)
{
	assert_true(depth < 6);
	for (const struct vfield *f = rows; f->type != VF_END; f++) {
		char where[200];

		snprintf(where, sizeof(where), "%s.%s", path, f->key ? f->key : "[]");
		for (const struct vfield *g = rows; g < f; g++)
			if (f->key && g->key && strcmp(f->key, g->key) == 0)
				fail_msg("%s: key twice", where);
		if (f->key != NULL && (f->doc == NULL || f->doc[0] == '\0'))
			fail_msg("%s: no doc line", where);
		if (vfield_reach(f) == 0)
			fail_msg("%s: appears nowhere", where);
		switch (f->type) {
		case VF_GROUP:
		case VF_LIST:
		case VF_MAP:
			if (f->sub == NULL || f->sub[0].type == VF_END)
				fail_msg("%s: no fields", where);
			if (f->type == VF_MAP && (f->name == NULL || f->count <= 0 || f->item == NULL))
				fail_msg("%s: a map needs names, a count and items", where);
			if (f->type == VF_LIST && f->len == NULL && f->item == NULL && f->size == 0)
				fail_msg("%s: a list needs items", where);
			check_level(f->sub, where, depth + 1);
			break;
		case VF_ENUM:
			if (f->name == NULL || f->count <= 0)
				fail_msg("%s: an enum needs names and a count", where);
			/* fall through */
		default:
			if (f->get == NULL && f->kind == AT_NONE)
				fail_msg("%s: no value", where);
			break;
		}
		if ((f->out & VO_STATS) && f->col == NULL && depth == 0)
			fail_msg("%s: a stats field needs a column", where);
		if ((f->out & (VO_AR | VO_COMPL)) && f->ar_role == AR_NONE)
			fail_msg("%s: a resinfo field needs a role", where);
		check_format(f->log, where);
		check_format(f->log_none, where);
		check_format(f->text, where);
		check_format(f->text_none, where);
		check_format(f->head, where);
	}
}

static void
test_table(void **state)
{
	(void)state;
	check_level(verdict_fields, "", 0);
	/* the version field leads every record */
	assert_string_equal(verdict_fields[0].key, "version");
}

/* ---- renderers over the cases ---- */

static const struct {
	const char *authres, *compliance, *log;
} want[N_CASES] = {
	/* case 0: all pass */
	{ "mx.example.net;\n\t"
	    "spf=pass smtp.mailfrom=Bounce@Example.COM;\n\t"
	    "dkim=pass (2048-bit key) header.d=example.com header.s=s1 header.a=rsa-sha256 header.b=\"Ab12Cd34\";\n\t"
	    "dmarc=pass (p=NONE sp=NONE dis=NONE) polrec.p=none header.from=example.com;\n\t"
	    "iprev=pass (mail.example.com) policy.iprev=192.0.2.10",
	  "mx.example.net;\n\t"
	    "google=pass;\n\t"
	    "yahoo=pass;\n\t"
	    "microsoft=pass;\n\t"
	    "bulk=yes (List-Unsubscribe)",
	  "Q1A2B3: client=192.0.2.10 (mail.example.com) helo=mail.example.com "
	    "from=<Bounce@Example.COM> rcpts=2 spf=pass domain=example.com dkim=pass "
	    "d=example.com s=s1 a=rsa-sha256 dmarc=pass header.from=example.com iprev=pass "
	    "tls=yes oneclick=pass google=pass yahoo=pass microsoft=pass bulk=yes action=accept "
	    "dns=6/4/0 ms=3" },
	/* case 1: every method fails */
	{ "mx.example.net;\n\t"
	    "spf=softfail reason=\"matched ~all\" smtp.mailfrom=Bounce@Example.COM;\n\t"
	    "dkim=fail reason=\"body hash mismatch\" header.d=example.com header.s=s1 header.a=rsa-sha256 header.b=\"/x+y=\";\n\t"
	    "dkim=policy reason=\"rsa-sha1 is not acceptable (RFC 8301)\" header.d=other.example header.s=old header.a=rsa-sha1 header.b=\"Qq\";\n\t"
	    "dmarc=fail reason=\"no aligned pass\" (p=QUARANTINE sp=QUARANTINE dis=QUARANTINE) polrec.p=quarantine header.from=example.com;\n\t"
	    "iprev=fail reason=\"no PTR name resolves back\" policy.iprev=192.0.2.10",
	  "mx.example.net;\n\t"
	    "google=fail policy.rules=\"spf,dkim,auth-any,dmarc-align,dkim-key,iprev,tls,mailto-only\";\n\t"
	    "yahoo=fail policy.rules=\"spf,dkim,auth-any,dmarc-align,dmarc-pass,dkim-key,iprev\";\n\t"
	    "microsoft=fail policy.rules=\"spf,dkim,dmarc-align\";\n\t"
	    "bulk=yes (List-Unsubscribe)",
	  "Q1A2B3: client=192.0.2.10 (mail.example.com) helo=mail.example.com "
	    "from=<Bounce@Example.COM> rcpts=2 spf=softfail domain=example.com dkim=fail "
	    "d=example.com s=s1 a=rsa-sha256 dkim=policy d=other.example s=old a=rsa-sha1 "
	    "dmarc=fail header.from=example.com iprev=fail tls=no oneclick=fail "
	    "google=fail:spf,dkim,auth-any,dmarc-align,dkim-key,iprev,tls,mailto-only "
	    "yahoo=fail:spf,dkim,auth-any,dmarc-align,dmarc-pass,dkim-key,iprev "
	    "microsoft=fail:spf,dkim,dmarc-align bulk=yes action=quarantine "
	    "cause=dmarc-fail dns=6/4/0 ms=3" },
	/* case 2: DNS trouble */
	{ "mx.example.net;\n\t"
	    "spf=temperror reason=\"no DNS answer in time\" smtp.mailfrom=Bounce@Example.COM;\n\t"
	    "dkim=temperror reason=\"DNS time budget used up fetching the key\" header.d=example.com header.s=s1 header.a=ed25519-sha256 header.b=\"Zz\";\n\t"
	    "dmarc=temperror reason=\"DNS server failure (SERVFAIL)\" header.from=example.com;\n\t"
	    "iprev=temperror reason=\"unusable DNS reply\" policy.iprev=192.0.2.10",
	  "mx.example.net;\n\t"
	    "google=temperror;\n\t"
	    "yahoo=temperror;\n\t"
	    "microsoft=temperror;\n\t"
	    "bulk=yes (List-Unsubscribe)",
	  "Q1A2B3: client=192.0.2.10 (mail.example.com) helo=mail.example.com "
	    "from=<Bounce@Example.COM> rcpts=2 spf=temperror domain=example.com dkim=temperror "
	    "d=example.com s=s1 a=ed25519-sha256 dmarc=temperror header.from=example.com "
	    "iprev=temperror tls=unknown oneclick=pass google=temperror yahoo=temperror "
	    "microsoft=temperror bulk=yes action=accept cause=dns-error dns=6/4/0 ms=3" },
	/* case 3: null sender, IPv6 */
	{ "mx.example.net;\n\t"
	    "spf=none smtp.helo=\"[192.0.2.1]\";\n\t"
	    "dkim=none;\n\t"
	    "dmarc=none reason=\"aligned DKIM pass\" header.from=example.com;\n\t"
	    "iprev=permerror reason=\"no PTR for 2001:db8::25\" policy.iprev=\"2001:db8::25\"",
	  "mx.example.net;\n\t"
	    "google=fail policy.rules=\"auth-any,iprev\";\n\t"
	    "yahoo=fail policy.rules=\"auth-any,iprev\";\n\t"
	    "microsoft=pass;\n\t"
	    "bulk=no",
	  "NOQUEUE: client=2001:db8::25 helo=[192.0.2.1] from=<> rcpts=2 spf=none "
	    "domain=example.com dkim=none dmarc=none header.from=example.com iprev=permerror "
	    "tls=yes oneclick=none google=fail:auth-any,iprev yahoo=fail:auth-any,iprev "
	    "microsoft=pass bulk=no action=reject cause=noncompliant dns=6/4/0 ms=3" },
	/* case 4: skipped */
	{ NULL,
	  NULL,
	  "Q1A2B3: client=192.0.2.10 (mail.example.com) helo=mail.example.com "
	    "from=<Bounce@Example.COM> rcpts=2 skipped=\"client 192.0.2.10 is in InternalHosts\" "
	    "action=accept ms=3" },
	/* case 5: internal trouble */
	{ "mx.example.net;\n\t"
	    "spf=pass smtp.mailfrom=Bounce@Example.COM;\n\t"
	    "dmarc=pass (p=NONE sp=NONE dis=NONE) polrec.p=none header.from=example.com;\n\t"
	    "iprev=pass (mail.example.com) policy.iprev=192.0.2.10",
	  "mx.example.net;\n\t"
	    "google=fail policy.rules=\"dkim\";\n\t"
	    "yahoo=fail policy.rules=\"dkim\";\n\t"
	    "microsoft=fail policy.rules=\"dkim\";\n\t"
	    "bulk=yes (List-Unsubscribe)",
	  "Q1A2B3: client=192.0.2.10 (mail.example.com) helo=mail.example.com "
	    "from=<Bounce@Example.COM> rcpts=2 spf=pass domain=example.com dmarc=pass "
	    "header.from=example.com iprev=pass tls=yes oneclick=pass google=fail:dkim "
	    "yahoo=fail:dkim microsoft=fail:dkim bulk=yes action=accept cause=error "
	    "error=\"header section too large to check\" input=\"more than 1000 header fields\" "
	    "removed_forged=2 dns=6/4/1 ms=3" },
	/* case 6: SPF fail */
	{ "mx.example.net;\n\t"
	    "spf=fail reason=\"matched -all\" smtp.mailfrom=Bounce@Example.COM;\n\t"
	    "dkim=pass (2048-bit key) header.d=example.com header.s=s1 header.a=rsa-sha256 header.b=\"Ab12Cd34\";\n\t"
	    "dmarc=pass (p=REJECT sp=REJECT dis=REJECT) polrec.p=reject header.from=example.com;\n\t"
	    "iprev=pass (mail.example.com) policy.iprev=192.0.2.10",
	  "mx.example.net;\n\t"
	    "google=fail policy.rules=\"spf\";\n\t"
	    "yahoo=fail policy.rules=\"spf\";\n\t"
	    "microsoft=fail policy.rules=\"spf\";\n\t"
	    "bulk=yes (List-Unsubscribe)",
	  "Q1A2B3: client=192.0.2.10 helo=mail.example.com from=<Bounce@Example.COM> rcpts=2 "
	    "spf=fail domain=example.com dkim=pass d=example.com s=s1 a=rsa-sha256 dmarc=pass "
	    "header.from=example.com iprev=pass tls=yes oneclick=pass google=fail:spf "
	    "yahoo=fail:spf microsoft=fail:spf bulk=yes action=reject cause=spf-fail dns=6/4/0 "
	    "ms=3" },
	/* case 7: no client address */
	{ "mx.example.net;\n\t"
	    "dkim=pass (2048-bit key) header.d=example.com header.s=s1 header.a=rsa-sha256 header.b=\"Ab12Cd34\";\n\t"
	    "dkim=neutral reason=\"not checked: over the limit of 1 signatures\" header.d=b.example header.s=s2 header.a=rsa-sha256 header.b=\"Bb\";\n\t"
	    "dkim=permerror reason=\"signature syntax\";\n\t"
	    "dmarc=pass (p=NONE sp=NONE dis=NONE) polrec.p=none header.from=example.com",
	  "mx.example.net;\n\t"
	    "google=pass;\n\t"
	    "yahoo=pass;\n\t"
	    "microsoft=pass;\n\t"
	    "bulk=yes (List-Unsubscribe)",
	  "Q1A2B3: client=unknown (mail.example.com) helo=mail.example.com "
	    "from=<Bounce@Example.COM> rcpts=2 dkim=pass d=example.com s=s1 a=rsa-sha256 "
	    "dkim=neutral d=b.example s=s2 a=rsa-sha256 dkim=permerror d= s= a= dmarc=pass "
	    "header.from=example.com tls=yes oneclick=pass google=pass yahoo=pass microsoft=pass "
	    "bulk=yes action=accept dns=6/4/0 ms=3" },
};

static void
test_resinfo_and_log(void **state)
{
	struct verdict v;

	(void)state;
	for (int i = 0; i < N_CASES; i++) {
		const char *name = verdict_case(i, &v);
		char *a = report_authres(&v, "mx.example.net");
		char *c = report_compliance(&v, "mx.example.net");
		char *l = report_log_line(&v);

		/* A-R and the compliance field are not written for a skipped client */
		if (want[i].authres != NULL && strcmp(a, want[i].authres) != 0)
			fail_msg("%s: A-R\n got: %s\nwant: %s", name, a, want[i].authres);
		if (want[i].compliance != NULL && strcmp(c, want[i].compliance) != 0)
			fail_msg("%s: compliance\n got: %s\nwant: %s", name, c, want[i].compliance);
		if (strcmp(l, want[i].log) != 0)
			fail_msg("%s: log line\n got: %s\nwant: %s", name, l, want[i].log);
		free(a);
		free(c);
		free(l);
	}
}

/* What a JSON record holds, as text (no parser here: the Python groups
 * parse every record they read). */
static void
test_json(void **state)
{
	struct verdict v;
	char *sum, *full;

	(void)state;
	verdict_case(0, &v);
	sum = report_json(&v, 0);
	full = report_json(&v, 1);
	assert_non_null(strstr(sum, "{\"version\":1,"));
	assert_non_null(strstr(full, "{\"version\":1,"));
	assert_non_null(strstr(sum, "\"client\":{\"ip\":\"192.0.2.10\",\"name\":\"mail.example.com\","));
	assert_non_null(strstr(sum, "\"spf\":{\"result\":\"pass\",\"domain\":\"example.com\""));
	assert_non_null(strstr(sum, "\"profiles\":{\"google\":{\"verdict\":\"pass\",\"failed\":[]},"));
	assert_non_null(strstr(sum, "\"bulk\":{\"bulk\":true,\"why\":\"List-Unsubscribe\"}"));
	/* the summary leaves out what only the full record has */
	assert_null(strstr(sum, "\"walk\""));
	assert_null(strstr(sum, "\"fix\""));
	assert_null(strstr(sum, "\"add_headers\""));
	assert_non_null(strstr(full, "\"walk\":[]"));
	assert_non_null(strstr(full, "\"signed_headers\":[\"from\",\"list-unsubscribe\","));
	assert_non_null(strstr(full, "\"fix\":\"\""));
	assert_non_null(strstr(full, "\"sendercheck\":\"" PACKAGE_VERSION "\""));
	/* every field of the summary is in the full record, in the same place */
	assert_true(strlen(full) > strlen(sum));
	free(sum);
	free(full);

	/* a skipped client: null for every check, the same keys */
	verdict_case(4, &v);
	sum = report_json(&v, 0);
	assert_non_null(strstr(sum, "\"skipped\":true,\"skip_reason\":\"client 192.0.2.10 is in InternalHosts\""));
	assert_non_null(strstr(sum, "\"spf\":null,\"dkim\":null,\"dkim_error\":null,\"arc\":null,"
	    "\"dmarc\":null"));
	assert_non_null(strstr(sum, "\"profiles\":null"));
	assert_non_null(strstr(sum, "\"action\":{\"action\":\"accept\",\"cause\":\"none\""));
	free(sum);

	/* SPF not checked: result null, the reason kept */
	verdict_case(7, &v);
	sum = report_json(&v, 0);
	assert_non_null(strstr(sum, "\"spf\":{\"result\":null,\"domain\":null,\"identity\":null,\"ip\":null,"
	    "\"reason\":\"no client address known\"}"));
	assert_non_null(strstr(sum, "\"dkim\":[{\"result\":\"pass\""));
	assert_non_null(strstr(sum, "{\"result\":\"permerror\",\"domain\":null,"));
	free(sum);
}

static void
test_report_text(void **state)
{
	struct verdict v;
	char *t;

	(void)state;
	verdict_case(1, &v);
	t = report_text(&v, NULL);
	assert_non_null(strstr(t, "Client:     192.0.2.10  HELO mail.example.com  MAIL FROM <Bounce@Example.COM>\n"));
	assert_non_null(strstr(t, "\nSPF:        softfail for example.com (matched ~all)\n"));
	assert_non_null(strstr(t, "\nDKIM #1:    fail d=example.com s=s1 a=rsa-sha256 key=2048 bits\n"
	    "            signed headers: from:list-unsubscribe:list-unsubscribe-post\n"
	    "            body hash mismatch\n"));
	assert_non_null(strstr(t, "\nDKIM #2:    policy d=other.example s=old a=rsa-sha1 key=1024 bits\n"));
	assert_non_null(strstr(t, "\nDMARC:      fail for example.com (record at _dmarc.example.com, "
	    "policy quarantine)\n"));
	assert_non_null(strstr(t, "\niprev:      fail for 192.0.2.10 (no PTR name resolves back)\n"));
	assert_non_null(strstr(t, "\nTLS:        no\n"));
	assert_non_null(strstr(t, "\nGoogle:     NOT compliant\n            spf: "));
	assert_non_null(strstr(t, "\n              fix: "));
	assert_non_null(strstr(t, "\nAction:     quarantine (cause: dmarc-fail)\n"));
	assert_null(strstr(t, "reply:"));	/* no SMTP reply for a quarantine */
	free(t);

	verdict_case(6, &v);
	t = report_text(&v, NULL);
	assert_non_null(strstr(t, "\nSPF:        fail for example.com (matched -all)\n"
	    "            explanation: see https://example.com/spf\n"));
	assert_non_null(strstr(t, "\nAction:     reject (cause: spf-fail)\n            reply: 550 5.7.26 The "
	    "(E)MAIL FROM domain [example.com] has an SPF record with a hard fail policy (-all) but it "
	    "fails to pass SPF checks with the ip: [192.0.2.10]. "));
	/* RFC 7208 6.2: the domain's explanation goes with the rejection */
	assert_non_null(strstr(t, " Explanation from example.com: see https://example.com/spf\n"));
	free(t);

	verdict_case(7, &v);
	t = report_text(&v, NULL);
	assert_non_null(strstr(t, "\nSPF:        not checked (no client address known)\n"));
	assert_non_null(strstr(t, "\nDKIM #3:    permerror d= s= a=\n"));
	free(t);

	verdict_case(5, &v);
	t = report_text(&v, NULL);
	assert_non_null(strstr(t, "\nDKIM:       not checked: too many header fields\n"));
	assert_null(strstr(t, "no signature"));
	assert_non_null(strstr(t, "\nRemoves:    Authentication-Results #1 (carries our authserv-id: forged)\n"
	    "Removes:    X-Sender-Compliance #2 (carries our authserv-id: forged)\n"));
	free(t);

	verdict_case(3, &v);
	t = report_text(&v, NULL);
	assert_non_null(strstr(t, "  MAIL FROM <>\n"));
	assert_non_null(strstr(t, "\nDKIM:       none (no signature)\n"));
	free(t);
}

/* The longest valid domain name: 253 octets, labels of 63 "a"s. */
static void
longest_name(char *dst, size_t len)
{
	size_t i;

	assert_true(len > 253);
	for (i = 0; i < 253; i++)
		dst[i] = i % 64 == 63 ? '.' : 'a';
	dst[i] = '\0';
}

/* The statistics row: the columns of the store's schema, and their values. */
static void
test_columns(void **state)
{
	static const char *const schema[] = { "queue_id", "client_ip", "client_name", "helo",
		"mail_from_domain", "from_domain", "spf", "dkim", "dkim_pass", "arc", "arc_trusted",
		"arc_chain",
		"dmarc", "aligned",
		"iprev", "tls", "oneclick", "google", "yahoo", "microsoft", "google_failed",
		"yahoo_failed", "microsoft_failed", "bulk", "action", "cause", "skipped", "dns_queries",
		"dns_timeouts", "elapsed_ms",
		/* schema 3 (issue 13): what an RFC 9990 aggregate report needs */
		"spf_domain", "dmarc_standard", "dmarc_discovery", "dmarc_org_other", "dmarc_domain",
		"dmarc_policy", "dmarc_applied", "dmarc_p", "dmarc_sp", "dmarc_np", "dmarc_adkim",
		"dmarc_aspf", "dmarc_testing", "dmarc_fo", "dmarc_rua", "dmarc_spf_aligned",
		"dmarc_dkim_aligned", "dmarc_disposition", "dmarc_override", "dmarc_override_comment",
		"dmarc_discarded", "dmarc_report_msg" };
	const size_t n_schema = sizeof(schema) / sizeof(schema[0]);
	const struct vcol *cols;
	size_t n = verdict_columns(&cols);
	static struct vrow r;
	struct verdict v;
	char why[160];

	(void)state;
	/* exactly the columns of the messages table (arc and arc_chain added
	 * by name, as a store adds new columns) */
	assert_int_equal(n, n_schema);
	for (size_t i = 0; i < n_schema; i++)
		if (verdict_column(schema[i]) < 0)
			fail_msg("no column %s", schema[i]);
	assert_int_equal(cols[verdict_column("bulk")].type, VCOL_INT);
	assert_int_equal(cols[verdict_column("spf")].type, VCOL_TEXT);

	for (int i = 0; i < N_CASES; i++) {
		verdict_case(i, &v);
		if (verdict_row(&v, 1795000000, &r, why, sizeof(why)) < 0)
			fail_msg("case %d: %s", i, why);
	}
	verdict_case(1, &v);
	assert_int_equal(verdict_row(&v, 1795000000, &r, why, sizeof(why)), 0);
	assert_int_equal(r.time, 1795000000);
	assert_string_equal(vrow_text(&r, verdict_column("spf")), "softfail");
	assert_string_equal(vrow_text(&r, verdict_column("dkim")), "example.com:s1:fail other.example:old:policy");
	assert_int_equal(vrow_int(&r, verdict_column("dkim_pass")), 0);
	assert_string_equal(vrow_text(&r, verdict_column("google")), "fail");
	assert_string_equal(vrow_text(&r, verdict_column("microsoft_failed")), "spf,dkim,dmarc-align");
	assert_string_equal(vrow_text(&r, verdict_column("tls")), "no");
	assert_string_equal(vrow_text(&r, verdict_column("oneclick")), "fail");
	assert_string_equal(vrow_text(&r, verdict_column("action")), "quarantine");
	assert_string_equal(vrow_text(&r, verdict_column("cause")), "dmarc-fail");
	assert_int_equal(vrow_int(&r, verdict_column("bulk")), 1);
	assert_int_equal(vrow_int(&r, verdict_column("elapsed_ms")), 3);
	assert_true(vrow_null(&r, verdict_column("mail_from_domain")));
	/* what an aggregate report needs: the policy as published, defaults
	 * filled in, the alignment per method and what was done */
	assert_string_equal(vrow_text(&r, verdict_column("spf_domain")), "example.com");
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_domain")), "example.com");
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_p")), "quarantine");
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_sp")), "quarantine");
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_np")), "quarantine");
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_adkim")), "r");
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_testing")), "n");
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_standard")), "rfc9989");
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_discovery")), "psl");
	assert_int_equal(vrow_int(&r, verdict_column("dmarc_dkim_aligned")), 0);
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_disposition")), "quarantine");
	assert_true(vrow_null(&r, verdict_column("dmarc_override")));	/* as the domain asked */
	assert_int_equal(vrow_int(&r, verdict_column("dmarc_report_msg")), 0);
	/* accepted though the domain says quarantine: local_policy */
	v.action = ACT_ACCEPT;
	assert_int_equal(verdict_row(&v, 1795000000, &r, why, sizeof(why)), 0);
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_disposition")), "none");
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_override")), "local_policy");
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_override_comment")),
	    "accept by local policy (cause dmarc-fail)");
	/* the domain tests its policy (t=y): the milder one is its own wish */
	v.dmarc.record.testing = 1;
	v.dmarc.testing = 1;
	v.dmarc.applied = DMARC_POLICY_NONE;
	assert_int_equal(verdict_row(&v, 1795000000, &r, why, sizeof(why)), 0);
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_override")), "policy_test_mode");
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_testing")), "y");
	/* a pass under an enforcing policy */
	verdict_case(6, &v);
	v.action = ACT_ACCEPT;
	assert_int_equal(verdict_row(&v, 1795000000, &r, why, sizeof(why)), 0);
	assert_string_equal(vrow_text(&r, verdict_column("dmarc_disposition")), "pass");
	assert_true(vrow_null(&r, verdict_column("dmarc_override")));

	verdict_case(7, &v);
	assert_int_equal(verdict_row(&v, 0, &r, why, sizeof(why)), 0);
	assert_string_equal(vrow_text(&r, verdict_column("dkim")),
	    "example.com:s1:pass b.example:s2:neutral -:-:permerror");
	assert_true(vrow_null(&r, verdict_column("spf")));	/* not checked */
	assert_true(vrow_null(&r, verdict_column("google_failed")));

	/* a skipped client: what was not checked is NULL */
	verdict_case(4, &v);
	assert_int_equal(verdict_row(&v, 0, &r, why, sizeof(why)), 0);
	assert_int_equal(vrow_int(&r, verdict_column("skipped")), 1);
	assert_true(vrow_null(&r, verdict_column("spf")));
	assert_true(vrow_null(&r, verdict_column("dkim")));
	assert_true(vrow_null(&r, verdict_column("google")));
	assert_string_equal(vrow_text(&r, verdict_column("action")), "accept");

	/* texts are cut to fit, whole list items only: d= of the longest
	 * valid name (253 octets, labels of 63) */
	verdict_case(0, &v);
	for (size_t i = 0; i < sizeof(case_sigs) / sizeof(case_sigs[0]); i++)
		longest_name(case_sigs[i].domain, sizeof(case_sigs[i].domain));
	case_sigs[1].result = DKIM_RES_NEUTRAL;
	case_sigs[2].result = DKIM_RES_PERMERROR;
	v.n_dkim = 3;
	assert_int_equal(verdict_row(&v, 0, &r, why, sizeof(why)), 0);
	/* 253 + ":s1:pass", " ", 253 + ":s2:neutral"; the third would pass VROW_TEXT_MAX */
	assert_int_equal(strlen(vrow_text(&r, verdict_column("dkim"))), 261 + 1 + 264);
	assert_non_null(strstr(vrow_text(&r, verdict_column("dkim")), "a:s1:pass aaa"));
	assert_null(strstr(vrow_text(&r, verdict_column("dkim")), "permerror"));

	/* a sender's names are stored only when valid: no formula, no junk */
	verdict_case(0, &v);
	snprintf(v.env.helo, sizeof(v.env.helo), "=cmd|' /C calc'!A0");
	snprintf(v.env.client_name, sizeof(v.env.client_name), "[192.0.2.1]");
	snprintf(case_sigs[0].domain, sizeof(case_sigs[0].domain), "-2+3 x");
	assert_int_equal(verdict_row(&v, 0, &r, why, sizeof(why)), 0);
	assert_true(vrow_null(&r, verdict_column("helo")));
	assert_string_equal(vrow_text(&r, verdict_column("client_name")), "[192.0.2.1]");
	assert_true(strncmp(vrow_text(&r, verdict_column("dkim")), "-:", 2) == 0);

	/* a d= that is no valid name (a label past 63 octets, a name past
	 * 253, ' ' or ':' inside, a literal) is stored as "-" */
	{
		static const char *const bad[] = { "a.b c.example", "a:b.example", "[192.0.2.1]",
			"a..example", "" };

		verdict_case(0, &v);
		memset(case_sigs[0].domain, 'a', sizeof(case_sigs[0].domain) - 1);
		case_sigs[0].domain[sizeof(case_sigs[0].domain) - 1] = '\0';
		v.n_dkim = 1;
		assert_int_equal(verdict_row(&v, 0, &r, why, sizeof(why)), 0);
		assert_string_equal(vrow_text(&r, verdict_column("dkim")), "-:s1:pass");
		longest_name(case_sigs[0].domain, sizeof(case_sigs[0].domain));
		strcat(case_sigs[0].domain, "a");	/* 254 octets */
		assert_int_equal(verdict_row(&v, 0, &r, why, sizeof(why)), 0);
		assert_string_equal(vrow_text(&r, verdict_column("dkim")), "-:s1:pass");
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(case_sigs[0].domain, sizeof(case_sigs[0].domain), "%s", bad[i]);
			assert_int_equal(verdict_row(&v, 0, &r, why, sizeof(why)), 0);
			if (strcmp(vrow_text(&r, verdict_column("dkim")), "-:s1:pass") != 0)
				fail_msg("d=%s stored as %s", bad[i], vrow_text(&r, verdict_column("dkim")));
		}
	}
}

/* The walk's final check: a list whose count is beyond any verdict is an
 * error (and is not read), as is a walk that leaves a group open. */
static void
test_walk_checks(void **state)
{
	static const struct vsink nothing = { NULL, NULL, NULL };
	struct verdict v;
	char why[160];

	(void)state;
	for (int i = 0; i < N_CASES; i++) {
		verdict_case(i, &v);
		assert_int_equal(verdict_walk(verdict_fields, &v, ~0u, &nothing, NULL, why, sizeof(why)), 0);
	}
	verdict_case(0, &v);
	v.n_dkim = 1000000;
	assert_int_equal(verdict_walk(verdict_fields, &v, VO_JSON, &nothing, NULL, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "dkim: 1000000 items"));
}

/* Rows the cache has never seen, asked by four threads that start
 * together: the first to miss stores a row's reach while the others read
 * or miss it too. */
#define REACH_ROWS 200
#define REACH_THREADS 4
static struct vfield reach_rows[REACH_ROWS];
static struct vfield reach_leaves[REACH_ROWS][2];
static pthread_barrier_t reach_start;

static void *
reach_worker(void *arg)
{
	size_t t = (size_t)(uintptr_t)arg, wrong = 0;

	pthread_barrier_wait(&reach_start);
	for (int pass = 0; pass < 3; pass++)
		for (size_t k = 0; k < REACH_ROWS; k++) {
			size_t i = (k + t * (REACH_ROWS / REACH_THREADS)) % REACH_ROWS;

			if (vfield_reach(&reach_rows[i]) != (reach_rows[i].out | reach_leaves[i][0].out))
				wrong++;
		}
	return (void *)(uintptr_t)wrong;
}

static void
test_reach_threads(void **state)
{
	pthread_t th[REACH_THREADS];

	(void)state;
	for (size_t i = 0; i < REACH_ROWS; i++) {
		reach_leaves[i][0].type = VF_STR;
		reach_leaves[i][0].out = 1u << (i % 5);
		reach_rows[i].type = VF_GROUP;
		reach_rows[i].out = 1u << (5 + i % 3);
		reach_rows[i].sub = reach_leaves[i];
	}
	assert_int_equal(pthread_barrier_init(&reach_start, NULL, REACH_THREADS), 0);
	for (size_t t = 0; t < REACH_THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, reach_worker, (void *)(uintptr_t)t), 0);
	for (size_t t = 0; t < REACH_THREADS; t++) {
		void *wrong;

		assert_int_equal(pthread_join(th[t], &wrong), 0);
		assert_int_equal((uintptr_t)wrong, 0);
	}
	pthread_barrier_destroy(&reach_start);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_resinfo_and_log),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_report_text),
		cmocka_unit_test(test_columns),
		cmocka_unit_test(test_walk_checks),
		cmocka_unit_test(test_reach_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
