/* libFuzzer target: the DKIM tag-list parser, base64 and
 * dkim-quoted-printable decoders (dkim_tags.c), the key record rules
 * (dkim_key.c, keys decoded by OpenSSL) and header and body
 * canonicalisation (dkim_canon.c). The first byte picks the signature
 * algorithm the key record is checked for and where the text is cut (the
 * b= hole of a header, the chunks of a body); the rest is the text.
 * Checks the bounds dkim_tags.h promises, and that dkim_tags_shape (the
 * libopendkim engine's bounds) counts at least what the parser keeps. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_canon.h"
#include "dkim_key.h"
#include "dkim_tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dkim_tags t;
	static unsigned char out[8192];
	static char qp[512];
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	struct dkim_key key;
	struct dkim_tags_shape shape;
	char why[160];
	long k;

	if (size == 0)
		return 0;
	dkim_tags_shape(s, n, &shape);
	if (shape.tags > n / 2 + 1 || shape.h_names > n)
		abort();
	if (dkim_tags_parse(s, n, &t, why, sizeof why) == 0) {
		const struct dkim_tag *h = dkim_tags_get(&t, "h");

		if (t.n > DKIM_TAGS_MAX || shape.tags < t.n)
			abort();
		if (h != NULL) {
			const char *p = h->value, *item;
			size_t names = 0, len;

			while (dkim_list_item(&p, h->value + h->value_len, &item, &len))
				names++;
			if (shape.h_names < names)
				abort();
		}
		for (size_t i = 0; i < t.n; i++) {
			const struct dkim_tag *g = &t.t[i];

			if (g->name < s || g->name + g->name_len > s + n || g->name_len == 0 ||
			    g->value < s || g->value + g->value_len > s + n ||
			    g->raw_start > g->raw_end || g->raw_end > n ||
			    (size_t)(g->value - s) < g->raw_start ||
			    (size_t)(g->value - s) + g->value_len > g->raw_end)
				abort();
			if (dkim_tags_get(&t, "p") == NULL && g->name_len == 1 && g->name[0] == 'p')
				abort();
		}
	} else if (strlen(why) == 0) {
		abort();
	}
	k = dkim_b64_decode(s, n, out, sizeof out);
	if (k > (long)sizeof out || k > (long)(n * 3 / 4 + 3))
		abort();
	k = dkim_qp_decode_str(s, n, qp, sizeof qp);
	if (k >= (long)sizeof qp || (k >= 0 && strlen(qp) > (size_t)k))
		abort();
	for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		struct dkim_body *b = malloc(sizeof *b);
		size_t cut = n > 0 ? data[0] % (n + 1) : 0;

		if (ctx == NULL || b == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
		    dkim_canon_header(ctx, (enum dkim_canon)c, "Subject ", s, n, cut / 2, cut, 0) < 0 ||
		    dkim_body_init(b, (enum dkim_canon)c, EVP_sha256(), data[0] & 1, n / 2) < 0)
			abort();
		dkim_body_update(b, (const unsigned char *)s, cut);
		dkim_body_update(b, (const unsigned char *)s + cut, n - cut);
		if (dkim_body_final(b) < 0 || b->dlen != 32 || (b->limited && b->hashed > b->limit))
			abort();
		dkim_body_free(b);
		free(b);
		EVP_MD_CTX_free(ctx);
	}
	if (dkim_key_parse(s, n, (enum dkim_alg)(data[0] % 3), &key, why, sizeof why) ==
	    DKIM_RES_PASS) {
		if (key.ed25519 ? key.pkey != NULL : key.pkey == NULL)
			abort();
		dkim_key_release(&key);
	} else if (key.pkey != NULL || key.ed25519 || key.verify256 != NULL || why[0] == '\0') {
		abort();
	}
	return 0;
}
