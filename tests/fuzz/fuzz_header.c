/* libFuzzer target: the message splitter (message_split, header.c) on a
 * whole message, then the From domains DMARC judges (author_domains,
 * author.c with address.c and domain.c). Checks what header.h and author.h
 * promise: the list within its limits, every name valid, and every From
 * domain a normalized multi-label name; a From that is not unusable has a
 * domain. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "author.h"
#include "header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct header_list hl;
	struct author a;
	char *storage = NULL, why[160], norm[300];
	const char *body;
	size_t bodylen;

	header_list_init(&hl);
	if (message_split((const char *)data, size, &hl, &storage, &body, &bodylen, why, sizeof(why)) == 0 &&
	    (body < storage || bodylen > 2 * size + 1))
		abort();
	if (hl.n > HEADER_MAX_FIELDS + HEADER_MAX_KEPT_PAST || hl.bytes > HEADER_MAX_BYTES)
		abort();
	for (size_t i = 0; i < hl.n; i++)
		if (!header_name_valid(hl.v[i].name) || hl.v[i].value[hl.v[i].value_len] != '\0')
			abort();
	author_domains(&hl, &a);
	if (a.n > AUTHOR_MAX_DOMAINS || (!a.unusable && a.n == 0) || (a.unusable && a.why[0] == '\0'))
		abort();
	for (size_t i = 0; i < a.n; i++)
		if (strchr(a.domain[i], '.') == NULL ||
		    domain_normalize(a.domain[i], norm, sizeof(norm), why, sizeof(why)) < 0 ||
		    strcmp(norm, a.domain[i]) != 0)
			abort();
	header_list_free(&hl);
	free(storage);
	return 0;
}
