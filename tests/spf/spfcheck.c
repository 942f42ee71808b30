/*
 * spfcheck: runs SPF checks read from stdin through the spf module, for
 * the RFC 7208 suite runner (run_rfc7208.py).
 *
 *   spfcheck --ns IP:PORT [--engine libspf2|builtin] [--timeout-ms N]
 *            [--helo-identity] [--receiver NAME]
 *
 * Input, one check per line:  id TAB ip TAB helo TAB mailfrom
 * Output, one line per check: id TAB result TAB why
 * An empty mailfrom is the null sender (postmaster@helo is checked).
 * With --helo-identity the HELO name is checked instead.
 *
 * One resolver serves the whole run; each check gets a fresh dns_ctx
 * (its own budget). The resolver's cache lives as long as the process,
 * so run one process per zone. Exit status: 0, or 2 on a usage or
 * set-up error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "spf.h"

struct opts {
	const char *ns;
	const char *engine;
	const char *receiver;
	unsigned timeout_ms;
	int helo_identity;
};

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: spfcheck --ns IP:PORT [--engine libspf2|builtin]"
	    " [--timeout-ms N] [--helo-identity] [--receiver NAME]\n");
	exit(2);
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	int i;

	o->ns = NULL;
	o->engine = "libspf2";
	o->receiver = "spfcheck.invalid";
	o->timeout_ms = 1500;
	o->helo_identity = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ns") == 0 && i + 1 < argc)
			o->ns = argv[++i];
		else if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc)
			o->engine = argv[++i];
		else if (strcmp(argv[i], "--receiver") == 0 && i + 1 < argc)
			o->receiver = argv[++i];
		else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
			o->timeout_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--helo-identity") == 0)
			o->helo_identity = 1;
		else
			usage();
	}
	if (o->ns == NULL)
		usage();
}

/* Splits line into at most n TAB-separated fields; returns the count. */
static int
split_tabs(char *line, char **f, int n)
{
	int k = 0;

	line[strcspn(line, "\r\n")] = '\0';
	f[k++] = line;
	while (k < n && (line = strchr(line, '\t')) != NULL) {
		*line++ = '\0';
		f[k++] = line;
	}
	return k;
}

/* Prints why on one line: TABs and line breaks become spaces. */
static void
print_line(const char *id, const struct spf_outcome *out)
{
	char why[sizeof(out->why)];
	size_t i;

	snprintf(why, sizeof(why), "%s", out->why);
	for (i = 0; why[i] != '\0'; i++)
		if (why[i] == '\t' || why[i] == '\n' || why[i] == '\r')
			why[i] = ' ';
	printf("%s\t%s\t%s\n", id, spf_result_str(out->result), why);
	fflush(stdout);
}

static void
run(struct spf_engine *e, struct dns_resolver *r, const struct opts *o)
{
	char line[4096];
	char *f[4];
	struct dns_ctx ctx;
	struct spf_query q = { 0 };
	struct spf_outcome out;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (split_tabs(line, f, 4) != 4) {
			fprintf(stderr, "spfcheck: skipping a line without 4 fields\n");
			continue;
		}
		dns_ctx_init(&ctx, r, o->timeout_ms);
		q.client_ip = f[1];
		q.helo = f[2];
		q.sender = f[3];
		q.identity = o->helo_identity ? SPF_ID_HELO : SPF_ID_MAILFROM;
		spf_check(e, &ctx, &q, &out);
		print_line(f[0], &out);
	}
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct dns_server srv;
	struct dns_resolver *r;
	struct spf_engine *e;
	enum spf_engine_kind kind;
	char why[256];

	parse_args(argc, argv, &o);
	log_open("spfcheck", 0, 0, getenv("SPFCHECK_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	if (strcmp(o.engine, "libspf2") == 0)
		kind = SPF_ENGINE_LIBSPF2;
	else if (strcmp(o.engine, "builtin") == 0)
		kind = SPF_ENGINE_BUILTIN;
	else
		usage();
	if (dns_parse_server(o.ns, &srv, why, sizeof(why)) != 0) {
		fprintf(stderr, "spfcheck: --ns %s: %s\n", o.ns, why);
		return 2;
	}
	r = dns_resolver_new(&srv, 1, 10000, why, sizeof(why));
	if (r == NULL) {
		fprintf(stderr, "spfcheck: resolver: %s\n", why);
		return 2;
	}
	e = spf_engine_new(kind, o.receiver, why, sizeof(why));
	if (e == NULL) {
		fprintf(stderr, "spfcheck: engine %s: %s\n", o.engine, why);
		dns_resolver_free(r);
		return 2;
	}
	run(e, r, &o);
	spf_engine_free(e);
	dns_resolver_free(r);
	dns_thread_done();
	return 0;
}
