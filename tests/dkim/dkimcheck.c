/*
 * dkimcheck: runs common/dkim on one message file, for the DKIM test
 * vectors (tests/dkim/test_vectors.py).
 *
 *   dkimcheck --ns IP:PORT [--max-sigs N] [--budget-ms N] FILE
 *
 * Reads FILE (LF or CRLF line ends; LF becomes CRLF), splits the header
 * into fields (name + raw value, folds kept as CRLF + WSP), feeds header
 * and body to dkim_msg_*, with keys looked up through the dns module on the
 * given nameserver, and prints one JSON object per signature per line.
 * Exit status: 0 done (whatever the results), 2 usage or internal error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dns.h"
#include "log.h"
#include "sbuf.h"

#define MAX_MESSAGE	(64UL * 1024 * 1024)

struct opts {
	const char *ns;
	const char *file;
	unsigned max_sigs;
	unsigned budget_ms;
};

/* The file with every bare LF turned into CRLF. */
static int
read_crlf(const char *path, struct sbuf *out)
{
	FILE *f = fopen(path, "rb");
	int c, prev = 0;

	if (f == NULL)
		return -1;
	sbuf_init(out, MAX_MESSAGE);
	while ((c = getc(f)) != EOF) {
		if (c == '\n' && prev != '\r')
			sbuf_addc(out, '\r');
		sbuf_addc(out, (char)c);
		prev = c;
	}
	fclose(f);
	return out->overflow ? -1 : 0;
}

/* Length of the field starting at p: up to a CRLF not followed by WSP. */
static size_t
field_len(const char *p, const char *end)
{
	const char *q = p;

	while (q + 1 < end) {
		if (q[0] == '\r' && q[1] == '\n' &&
		    !(q + 2 < end && (q[2] == ' ' || q[2] == '\t')))
			return (size_t)(q - p);
		q++;
	}
	return (size_t)(end - p);
}

/* Feeds one "name:value" field; lines without a colon are skipped. */
static void
feed_field(struct dkim_msg *m, const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);
	char *name, *value;

	if (colon == NULL || colon == p)
		return;
	name = strndup(p, (size_t)(colon - p));
	value = strndup(colon + 1, n - (size_t)(colon - p) - 1);
	if (name != NULL && value != NULL)
		dkim_msg_header(m, name, value);
	free(name);
	free(value);
}

/* Feeds the header; returns the offset of the body. */
static size_t
feed_header(struct dkim_msg *m, const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	size_t n;

	while (p < end) {
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p + 2 - s);
		n = field_len(p, end);
		feed_field(m, p, n);
		p += n + 2;
	}
	return len;
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
print_result(const struct dkim_sig_result *r)
{
	size_t i;

	printf("{\"result\":");
	json_str(dkim_res_str(r->result));
	printf(",\"d\":");
	json_str(r->domain);
	printf(",\"s\":");
	json_str(r->selector);
	printf(",\"i\":");
	json_str(r->identity);
	printf(",\"a\":");
	json_str(r->algorithm);
	printf(",\"key_bits\":%u,\"b\":", r->key_bits);
	json_str(r->b_prefix);
	printf(",\"h\":[");
	for (i = 0; i < r->n_signed; i++) {
		if (i > 0)
			putchar(',');
		json_str(r->signed_hdrs[i]);
	}
	printf("],\"l\":");
	if (r->has_length)
		printf("%lu", r->length);
	else
		printf("null");
	printf(",\"body_len\":%lu,\"why\":", r->body_len);
	json_str(r->why);
	printf("}\n");
}

static int
usage(void)
{
	fprintf(stderr, "usage: dkimcheck --ns IP:PORT [--max-sigs N] "
	    "[--budget-ms N] FILE\n");
	return 2;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	o->ns = NULL;
	o->file = NULL;
	o->max_sigs = 10;
	o->budget_ms = 5000;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ns") == 0 && i + 1 < argc)
			o->ns = argv[++i];
		else if (strcmp(argv[i], "--max-sigs") == 0 && i + 1 < argc)
			o->max_sigs = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--budget-ms") == 0 && i + 1 < argc)
			o->budget_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (argv[i][0] != '-' && o->file == NULL)
			o->file = argv[i];
		else
			return -1;
	}
	return o->ns != NULL && o->file != NULL ? 0 : -1;
}

/* Runs one message through dkim_msg_*; prints the results. */
static int
check(struct dkim_verifier *v, struct dns_ctx *ctx, const struct sbuf *msg)
{
	struct dkim_msg *m = dkim_msg_new(v, ctx, "dkimcheck");
	const struct dkim_sig_result *res;
	const char *why;
	size_t n, i, body;
	int rc = 0;

	if (m == NULL) {
		fprintf(stderr, "dkimcheck: dkim_msg_new failed\n");
		return 2;
	}
	body = feed_header(m, msg->s, msg->len);
	dkim_msg_eoh(m);
	dkim_msg_body(m, (const unsigned char *)msg->s + body, msg->len - body);
	if (dkim_msg_finish(m, &res, &n, &why) < 0) {
		fprintf(stderr, "dkimcheck: %s\n", why);
		rc = 2;
	}
	for (i = 0; rc == 0 && i < n; i++)
		print_result(&res[i]);
	dkim_msg_free(m);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct dns_server srv;
	struct dns_resolver *res;
	struct dkim_verifier *v;
	struct dns_ctx ctx;
	struct sbuf msg;
	char why[256];
	int rc;

	if (parse_opts(argc, argv, &o) < 0)
		return usage();
	log_open("dkimcheck", 0, 0, getenv("DKIMCHECK_DEBUG") ? LOG_LVL_DEBUG :
	    LOG_LVL_WARN);
	if (dns_parse_server(o.ns, &srv, why, sizeof why) < 0) {
		fprintf(stderr, "dkimcheck: %s: %s\n", o.ns, why);
		return 2;
	}
	if (read_crlf(o.file, &msg) < 0) {
		fprintf(stderr, "dkimcheck: cannot read %s\n", o.file);
		sbuf_free(&msg);
		return 2;
	}
	res = dns_resolver_new(&srv, 1, 64, why, sizeof why);
	v = res != NULL ? dkim_verifier_new(o.max_sigs, why, sizeof why) : NULL;
	if (v == NULL) {
		fprintf(stderr, "dkimcheck: %s\n", why);
		dns_resolver_free(res);
		sbuf_free(&msg);
		return 2;
	}
	dns_ctx_init(&ctx, res, o.budget_ms);
	rc = check(v, &ctx, &msg);
	dkim_verifier_free(v);
	dns_resolver_free(res);
	sbuf_free(&msg);
	return rc;
}
