/*
 * iprevcheck: runs iprev checks read from stdin through the iprev module,
 * for tests/dmarc/test_dmarc.py.
 *
 *   iprevcheck --ns IP:PORT [--timeout-ms N]
 *
 * Input, one check per line: id TAB client-ip
 * Output, one JSON object per line: id, result, ip, name, names, n_ptr, why.
 * Exit 0, or 2 on a usage or set-up error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "iprev.h"
#include "json.h"
#include "log.h"
#include "sbuf.h"

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: iprevcheck --ns IP:PORT [--timeout-ms N]\n");
	exit(2);
}

static void
print_outcome(const char *id, const struct iprev_outcome *o)
{
	struct sbuf b;
	struct json j;
	size_t i;

	sbuf_init(&b, 1 << 14);
	json_init(&j, &b);
	json_obj_begin(&j, NULL);
	json_str(&j, "id", id);
	json_str(&j, "result", iprev_res_str(o->result));
	json_str(&j, "ip", o->ip);
	json_str(&j, "name", o->name);
	json_int(&j, "n_ptr", (long)o->n_ptr);
	json_arr_begin(&j, "names");
	for (i = 0; i < o->n_names; i++)
		json_str(&j, NULL, o->names[i]);
	json_arr_end(&j);
	json_str(&j, "why", o->why);
	json_obj_end(&j);
	printf("%s\n", b.s);
	fflush(stdout);
	sbuf_free(&b);
}

int
main(int argc, char **argv)
{
	const char *ns = NULL;
	unsigned timeout_ms = 1500;
	struct dns_server srv;
	struct dns_resolver *r;
	struct dns_ctx ctx;
	struct iprev_outcome out;
	char line[1024], why[256], *tab;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ns") == 0 && i + 1 < argc)
			ns = argv[++i];
		else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
			timeout_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else
			usage();
	}
	if (ns == NULL)
		usage();
	log_open("iprevcheck", 0, 0, LOG_LVL_WARN);
	if (dns_parse_server(ns, &srv, why, sizeof(why)) != 0) {
		fprintf(stderr, "iprevcheck: --ns %s: %s\n", ns, why);
		return 2;
	}
	if ((r = dns_resolver_new(&srv, 1, 1000, why, sizeof(why))) == NULL) {
		fprintf(stderr, "iprevcheck: resolver: %s\n", why);
		return 2;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((tab = strchr(line, '\t')) == NULL) {
			fprintf(stderr, "iprevcheck: skipping a line without TAB\n");
			continue;
		}
		*tab++ = '\0';
		dns_ctx_init(&ctx, r, timeout_ms);
		iprev_check(&ctx, tab, &out);
		print_outcome(line, &out);
	}
	dns_resolver_free(r);
	dns_thread_done();
	return 0;
}
