/* libFuzzer target: the builtin DKIM verifier (dkim_builtin.c with
 * dkim_tags, dkim_canon, dkim_key) on a whole message: header fields as
 * header.c splits them, then the body in two chunks cut where the first
 * byte says. Key lookups go to keyserver.h's DNS server on 127.0.0.1 (keys
 * made at the start, private halves thrown away), so the header hash and
 * the signature check run too. Checks that every signature gets one of the
 * results and a reason, and that nothing passes.
 * fuzz_dkim_opendkim.c includes this file with FUZZ_DKIM_OPENDKIM defined
 * to run the same through libopendkim (dkim_opendkim.c); without it
 * libopendkim is not linked and its engine table is defined empty here. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dkim_engine.h"
#include "dns.h"
#include "header.h"
#include "keyserver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_DKIM_OPENDKIM
#define FUZZ_ENGINE DKIM_ENGINE_LIBOPENDKIM
#else
#define FUZZ_ENGINE DKIM_ENGINE_BUILTIN
const struct dkim_engine_ops dkim_opendkim_ops;
#endif

static struct dns_resolver *res;
static struct dkim_verifier *ver;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct header_list hl;
	struct dns_ctx ctx;
	struct dkim_msg *m;
	const struct dkim_sig_result *r;
	const char *body, *why;
	char *storage = NULL, err[160];
	size_t bodylen, nres, cut;

	if (res == NULL) {
		res = ks_resolver();
		if ((ver = dkim_verifier_new(FUZZ_ENGINE, 5, err, sizeof err)) == NULL)
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
	dns_ctx_init(&ctx, res, 2000);
	m = dkim_msg_new(ver, &ctx, "fuzz");
	if (m == NULL)
		abort();
	for (size_t i = 0; i < hl.n; i++)
		dkim_msg_header(m, hl.v[i].name, hl.v[i].value);
	dkim_msg_eoh(m);
	cut = bodylen > 0 ? data[0] % (bodylen + 1) : 0;
	dkim_msg_body(m, (const unsigned char *)body, cut);
	dkim_msg_body(m, (const unsigned char *)body + cut, bodylen - cut);
	if (dkim_msg_finish(m, &r, &nres, &why) < 0 || nres > DKIM_MAX_LISTED)
		abort();
	for (size_t i = 0; i < nres; i++)
		if (r[i].result == DKIM_RES_PASS || r[i].result == DKIM_RES_NONE ||
		    r[i].why[0] == '\0')
			abort();
	dkim_msg_free(m);
	header_list_free(&hl);
	free(storage);
	return 0;
}
