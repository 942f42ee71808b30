/* libFuzzer target: ARC chain verification (arc.c, on dkim_tags,
 * dkim_canon and dkim_key) on a whole message: header fields as header.c
 * splits them, the body in two chunks cut where the first byte says. Key
 * lookups go to a resolver whose time budget is 0, so they fail at once
 * without traffic. Checks that the outcome is one of the results, with a
 * reason on a failure, that nothing passes (no key can be had) and that
 * the sets it lists are within bounds. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"
#include "dns.h"
#include "header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns_resolver *res;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct header_list hl;
	struct dns_ctx ctx;
	struct arc_msg *m;
	struct arc_outcome o;
	const char *body;
	char *storage = NULL, err[160];
	size_t bodylen, cut;

	if (res == NULL) {
		struct dns_server srv;

		if (dns_parse_server("127.0.0.1:9", &srv, err, sizeof err) < 0 ||
		    (res = dns_resolver_new(&srv, 1, 0, err, sizeof err)) == NULL)
			abort();
	}
	if (size < 1)
		return 0;
	header_list_init(&hl);
	if (message_split((const char *)data + 1, size - 1, &hl, &storage, &body, &bodylen,
	    err, sizeof err) < 0) {
		header_list_free(&hl);
		free(storage);
		return 0;
	}
	dns_ctx_init(&ctx, res, 0);
	m = arc_msg_new(&ctx, "fuzz");
	if (m == NULL)
		abort();
	arc_msg_eoh(m, &hl);
	cut = bodylen > 0 ? data[0] % (bodylen + 1) : 0;
	arc_msg_body(m, (const unsigned char *)body, cut);
	arc_msg_body(m, (const unsigned char *)body + cut, bodylen - cut);
	arc_msg_finish(m, &o);
	if (o.result >= ARC_RES_COUNT || o.result == ARC_RES_PASS || o.n_sets > ARC_MAX_SETS ||
	    (o.result == ARC_RES_FAIL && o.why[0] == '\0') ||
	    (o.n_sets > 0 && o.sets == NULL))
		abort();
	for (size_t i = 0; i < o.n_sets; i++)
		if (o.sets[i].instance != i + 1 || o.sets[i].seal >= ARC_CHECK_COUNT)
			abort();
	arc_msg_free(m);
	header_list_free(&hl);
	free(storage);
	return 0;
}
