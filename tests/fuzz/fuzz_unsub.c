/* libFuzzer target: the List-Unsubscribe parser and the one-click check
 * (unsub.c). The input is split at the first NUL into a List-Unsubscribe
 * value and a List-Unsubscribe-Post value; a passing signature over both
 * names is assumed. Checks the bounds unsub.h promises.
 * dkim.c is not linked (it needs libopendkim): dkim_res_str, the one
 * function unsub.c uses from it, is defined here. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "header.h"
#include "unsub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const char *
dkim_res_str(enum dkim_res r)
{
	return r == DKIM_RES_PASS ? "pass" : "fail";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct unsub_list l;
	static struct unsub_result r;
	static struct dkim_sig_result sig;
	const char *v = (const char *)data;
	const char *nul = memchr(v, '\0', size);
	size_t lu_len = nul ? (size_t)(nul - v) : size;
	struct header_list hl;
	char why[128];
	size_t n = unsub_parse_list(v, size, &l);

	if (n != l.n_uris || l.n_https + l.n_http + l.n_mailto + l.n_other != n ||
	    strlen(l.https) > UNSUB_URI_MAX || (l.has_https && l.https[0] == '\0') ||
	    (l.stopped && l.stop_pos > size))
		abort();
	(void)unsub_post_value_ok(v, size);

	memset(&sig, 0, sizeof(sig));
	sig.result = DKIM_RES_PASS;
	strcpy(sig.domain, "example.com");
	sig.signs[DKIM_H_LIST_UNSUB] = sig.signs[DKIM_H_LIST_UNSUB_POST] = 1;
	header_list_init(&hl);
	if (header_list_add(&hl, "List-Unsubscribe", v, lu_len, why, sizeof(why)) == 0 &&
	    header_list_add(&hl, "List-Unsubscribe-Post", nul ? nul + 1 : "", nul ? size - lu_len - 1 : 0,
	    why, sizeof(why)) == 0) {
		unsub_check(&hl, &sig, 1, &r);
		if (r.pass != (r.problems == 0) || r.n_reasons > UNSUB_MAX_REASONS ||
		    (r.problems && r.n_reasons == 0) || (r.pass && (!r.has_https || !r.post_ok)))
			abort();
	}
	header_list_free(&hl);
	return 0;
}
