/* libFuzzer target: DKIM body canonicalization (dkim_canon.c) on any
 * bytes, cut into chunks anywhere, against the plain reference
 * (tests/lib/canon_ref.h). Input: a flags byte (bit 0 relaxed, bit 1 l=
 * given), two bytes of l=, a byte that seeds the chunk sizes, then the
 * body. Each chunk is copied into an allocation of its own size, so that
 * ASan sees any read past a chunk. Aborts when the digest, the canonical
 * length or the hashed length differs from the reference's. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_canon.h"

#include "../lib/canon_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum dkim_canon c;
	int limited;
	unsigned long long limit;
	unsigned seed;
	const char *body;
	char *ref;
	size_t len, rlen, hashed, off = 0;
	unsigned char want[EVP_MAX_MD_SIZE];
	unsigned wlen = 0;
	struct dkim_body b;

	if (size < 4)
		return 0;
	c = data[0] & 1 ? CANON_RELAXED : CANON_SIMPLE;
	limited = (data[0] & 2) != 0;
	limit = (unsigned long long)data[1] << 8 | data[2];
	seed = data[3];
	body = (const char *)data + 4;
	len = size - 4;
	if ((ref = malloc(2 * len + 2)) == NULL)
		abort();
	rlen = canon_reference(c, body, len, ref);
	hashed = limited && limit < rlen ? (size_t)limit : rlen;
	if (EVP_Digest(ref, hashed, want, &wlen, EVP_sha256(), NULL) != 1 ||
	    dkim_body_init(&b, c, EVP_sha256(), limited, limit) < 0)
		abort();
	while (off < len) {
		size_t n;
		unsigned char *chunk;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % 4 == 0 ? (seed >> 8) % 3 : (seed >> 8) % 64;
		if (n > len - off)
			n = len - off;
		if ((chunk = malloc(n > 0 ? n : 1)) == NULL)
			abort();
		memcpy(chunk, body + off, n);
		dkim_body_update(&b, chunk, n);
		free(chunk);
		off += n;
	}
	if (dkim_body_final(&b) < 0 || b.dlen != wlen || memcmp(b.digest, want, wlen) != 0 ||
	    b.total != rlen || b.hashed != hashed)
		abort();
	dkim_body_free(&b);
	free(ref);
	return 0;
}
