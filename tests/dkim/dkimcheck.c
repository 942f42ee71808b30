/*
 * dkimcheck: runs common/checks/dkim on message files, for the DKIM test vectors
 * (tests/dkim/test_vectors.py) and the differential test of the two
 * engines (tests/dkim/diff_engines.py).
 *
 *   dkimcheck --ns IP:PORT [--engine builtin|libopendkim] [--max-sigs N]
 *             [--budget-ms N] [--threads N] [--raw] FILE
 *   dkimcheck --ns IP:PORT --diff [--max-sigs N] [--budget-ms N] [--raw] FILE...
 *
 * Reads FILE (LF or CRLF line ends; LF becomes CRLF unless --raw), splits the header
 * into fields (name + raw value, folds kept as CRLF + WSP), feeds header
 * and body to dkim_msg_*, with keys looked up through the dns module on the
 * given nameserver, and prints one JSON object per signature per line.
 * --threads N verifies the message N times at once on one shared verifier
 * and checks that every run printed the same (digits in why aside: DNS
 * reasons carry timings).
 * --diff verifies each FILE with both engines and prints one JSON object
 * per file: {"file": F, "builtin": [...], "libopendkim": [...]}.
 * Exit status: 0 done (whatever the results), 2 usage or internal error,
 * 3 the threads disagreed.
 */
#include "config.h"

#include <pthread.h>
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
	char **files;		/* --diff: all of them */
	int nfiles;
	unsigned max_sigs;
	unsigned budget_ms;
	unsigned threads;
	enum dkim_engine_kind engine;
	int diff;
	int raw;
};

/* One verification: its own dns_ctx, results rendered into out. */
struct job {
	struct dkim_verifier *v;
	struct dns_resolver *res;
	const struct sbuf *msg;
	unsigned budget_ms;
	struct sbuf out;
	struct sbuf cmp;	/* out with the digits of why left out */
	int rc;
	pthread_t tid;
};

/* The file with every bare LF turned into CRLF (raw: as it is). */
static int
read_crlf(const char *path, struct sbuf *out, int raw)
{
	FILE *f = fopen(path, "rb");
	int c, prev = 0;

	sbuf_init(out, MAX_MESSAGE);
	if (f == NULL)
		return -1;
	while ((c = getc(f)) != EOF) {
		if (c == '\n' && prev != '\r' && !raw)
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

/* nodigits: leave digits out (for comparing reasons that hold timings) */
static void
json_str(struct sbuf *o, const char *s, int nodigits)
{
	sbuf_addc(o, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (nodigits && c >= '0' && c <= '9')
			continue;
		if (c == '"' || c == '\\')
			sbuf_printf(o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			sbuf_printf(o, "\\u%04x", c);
		else
			sbuf_addc(o, (char)c);
	}
	sbuf_addc(o, '"');
}

static void
print_result(struct sbuf *o, const struct dkim_sig_result *r, int mask)
{
	size_t i;

	sbuf_addstr(o, "{\"result\":");
	json_str(o, dkim_res_str(r->result), 0);
	sbuf_addstr(o, ",\"d\":");
	json_str(o, r->domain, 0);
	sbuf_addstr(o, ",\"s\":");
	json_str(o, r->selector, 0);
	sbuf_addstr(o, ",\"i\":");
	json_str(o, r->identity, 0);
	sbuf_addstr(o, ",\"a\":");
	json_str(o, r->algorithm, 0);
	sbuf_printf(o, ",\"key_bits\":%u,\"b\":", r->key_bits);
	json_str(o, r->b_prefix, 0);
	sbuf_addstr(o, ",\"h\":[");
	for (i = 0; i < r->n_signed; i++) {
		if (i > 0)
			sbuf_addc(o, ',');
		json_str(o, r->signed_hdrs[i], 0);
	}
	sbuf_addstr(o, "],\"l\":");
	if (r->has_length)
		sbuf_printf(o, "%lu", r->length);
	else
		sbuf_addstr(o, "null");
	sbuf_printf(o, ",\"body_len\":%lu,\"why\":", r->body_len);
	if (mask && r->result == DKIM_RES_TEMPERROR) {
		/*
		 * Threads sharing one lookup time out with either the flight's
		 * reason or their own budget's (a later thread lengthens the
		 * flight): compare only the kind, "DNS error".
		 */
		char kind[64];

		str_format(kind, sizeof(kind), "%.*s", (int)strcspn(r->why, ":"), r->why);
		json_str(o, kind, mask);
	} else
		json_str(o, r->why, mask);
	sbuf_addstr(o, "}\n");
}

static int
usage(void)
{
	fprintf(stderr, "usage: dkimcheck --ns IP:PORT [--engine builtin|libopendkim] "
	    "[--max-sigs N] [--budget-ms N] [--threads N] [--raw] FILE\n"
	    "       dkimcheck --ns IP:PORT --diff [--max-sigs N] [--budget-ms N] "
	    "[--raw] FILE...\n");
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
	o->threads = 1;
	o->engine = DKIM_ENGINE_BUILTIN;
	o->diff = o->raw = 0;
	o->files = NULL;
	o->nfiles = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ns") == 0 && i + 1 < argc)
			o->ns = argv[++i];
		else if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "builtin") == 0)
				o->engine = DKIM_ENGINE_BUILTIN;
			else if (strcmp(argv[i], "libopendkim") == 0)
				o->engine = DKIM_ENGINE_LIBOPENDKIM;
			else
				return -1;
		} else if (strcmp(argv[i], "--diff") == 0)
			o->diff = 1;
		else if (strcmp(argv[i], "--raw") == 0)
			o->raw = 1;
		else if (strcmp(argv[i], "--max-sigs") == 0 && i + 1 < argc)
			o->max_sigs = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--budget-ms") == 0 && i + 1 < argc)
			o->budget_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			o->threads = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (argv[i][0] != '-' && o->file == NULL) {
			o->file = argv[i];
			o->files = argv + i;
			o->nfiles = argc - i;
			break;
		} else
			return -1;
	}
	if (!o->diff && o->nfiles != 1)
		return -1;
	return o->ns != NULL && o->file != NULL && o->threads >= 1 &&
	    o->threads <= 64 ? 0 : -1;
}

/* Runs one message through dkim_msg_*; renders the results. */
static void *
check(void *arg)
{
	struct job *j = arg;
	struct dns_ctx ctx;
	struct dkim_msg *m;
	const struct dkim_sig_result *res;
	const char *why;
	size_t n, i, body;

	dns_ctx_init(&ctx, j->res, j->budget_ms);
	m = dkim_msg_new(j->v, &ctx, "dkimcheck");
	if (m == NULL) {
		sbuf_addstr(&j->out, "dkim_msg_new failed");
		return NULL;
	}
	body = feed_header(m, j->msg->s, j->msg->len);
	dkim_msg_eoh(m);
	dkim_msg_body(m, (const unsigned char *)j->msg->s + body,
	    j->msg->len - body);
	if (dkim_msg_finish(m, &res, &n, &why) < 0) {
		sbuf_addstr(&j->out, why);
	} else {
		for (i = 0; i < n; i++) {
			print_result(&j->out, &res[i], 0);
			print_result(&j->cmp, &res[i], 1);
		}
		j->rc = 0;
	}
	dkim_msg_free(m);
	dns_thread_done();
	return NULL;
}

/*
 * With --threads N the message is verified N times at once on the shared
 * verifier; every run must give the same output as the first (digits in
 * why aside).
 */
static int
run_jobs(struct dkim_verifier *v, struct dns_resolver *res,
    const struct sbuf *msg, const struct opts *o)
{
	struct job jobs[64];
	unsigned i, started;
	int rc = 0;

	for (i = 0; i < o->threads; i++) {
		jobs[i].v = v;
		jobs[i].res = res;
		jobs[i].msg = msg;
		jobs[i].budget_ms = o->budget_ms;
		jobs[i].rc = 2;
		sbuf_init(&jobs[i].out, 1024 * 1024);
		sbuf_init(&jobs[i].cmp, 1024 * 1024);
	}
	for (started = 0; started < o->threads; started++)
		if (pthread_create(&jobs[started].tid, NULL, check,
		    &jobs[started]) != 0)
			break;
	for (i = 0; i < started; i++)
		pthread_join(jobs[i].tid, NULL);
	if (started < o->threads || jobs[0].rc != 0) {
		fprintf(stderr, "dkimcheck: %s\n", started < o->threads ?
		    "pthread_create failed" : jobs[0].out.s);
		rc = 2;
	}
	for (i = 1; rc == 0 && i < started; i++)
		if (jobs[i].rc != 0 || strcmp(jobs[i].cmp.s, jobs[0].cmp.s) != 0) {
			fprintf(stderr, "dkimcheck: thread %u differs:\n%s", i,
			    jobs[i].out.s);
			rc = 3;
		}
	if (rc == 0)
		fputs(jobs[0].out.s, stdout);
	for (i = 0; i < o->threads; i++) {
		sbuf_free(&jobs[i].out);
		sbuf_free(&jobs[i].cmp);
	}
	return rc;
}

/* --diff: each file through both engines, one JSON line per file. */
static int
run_diff(struct dkim_verifier *v[2], struct dns_resolver *res, const struct opts *o)
{
	static const char *const names[2] = { "builtin", "libopendkim" };
	struct sbuf line;

	sbuf_init(&line, 8 * 1024 * 1024);
	for (int f = 0; f < o->nfiles; f++) {
		struct sbuf msg;

		sbuf_reset(&line);
		if (read_crlf(o->files[f], &msg, o->raw) < 0) {
			fprintf(stderr, "dkimcheck: cannot read %s\n", o->files[f]);
			sbuf_free(&msg);
			sbuf_free(&line);
			return 2;
		}
		sbuf_addstr(&line, "{\"file\":");
		json_str(&line, o->files[f], 0);
		for (int e = 0; e < 2; e++) {
			struct job j = { .v = v[e], .res = res, .msg = &msg,
			    .budget_ms = o->budget_ms, .rc = 2 };

			sbuf_init(&j.out, 1024 * 1024);
			sbuf_init(&j.cmp, 1024 * 1024);
			check(&j);
			sbuf_printf(&line, ",\"%s\":[", names[e]);
			/* one object per line in out: join them with commas */
			for (size_t k = 0; k < j.out.len; k++) {
				char c = j.out.s[k];

				if (c == '\n')
					c = k + 1 < j.out.len ? ',' : '\0';
				if (c != '\0')
					sbuf_addc(&line, c);
			}
			sbuf_addc(&line, ']');
			if (j.rc != 0)
				sbuf_printf(&line, ",\"%s_error\":true", names[e]);
			sbuf_free(&j.out);
			sbuf_free(&j.cmp);
		}
		sbuf_addstr(&line, "}\n");
		fputs(line.s, stdout);
		sbuf_free(&msg);
	}
	sbuf_free(&line);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct dns_server srv;
	struct dns_resolver *res;
	struct dkim_verifier *v[2] = { NULL, NULL };
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
	res = dns_resolver_new(&srv, 1, 64, why, sizeof why);
	if (res != NULL)
		v[0] = dkim_verifier_new(o.diff ? DKIM_ENGINE_BUILTIN : o.engine,
		    o.max_sigs, why, sizeof why);
	if (v[0] != NULL && o.diff)
		v[1] = dkim_verifier_new(DKIM_ENGINE_LIBOPENDKIM, o.max_sigs, why, sizeof why);
	if (v[0] == NULL || (o.diff && v[1] == NULL)) {
		fprintf(stderr, "dkimcheck: %s\n", why);
		dkim_verifier_free(v[0]);
		dns_resolver_free(res);
		return 2;
	}
	if (o.diff) {
		rc = run_diff(v, res, &o);
	} else if (read_crlf(o.file, &msg, o.raw) < 0) {
		fprintf(stderr, "dkimcheck: cannot read %s\n", o.file);
		rc = 2;
		sbuf_free(&msg);
	} else {
		rc = run_jobs(v[0], res, &msg, &o);
		sbuf_free(&msg);
	}
	dkim_verifier_free(v[0]);
	dkim_verifier_free(v[1]);
	dns_resolver_free(res);
	dns_thread_done();
	return rc;
}
