/* libFuzzer target: the DKIM key record check of sendercheck-test
 * --dns-check (tools/keyrecord.c), on any bytes as a TXT record's text.
 * Checks the bounds keyrecord.h promises. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyrecord.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct keyrecord k;
	/* an unterminated copy: the check must stay within size */
	char *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	keyrecord_check(copy, size, &k);
	if (k.n_problems > KEYREC_MAX_NOTES || k.n_warnings > KEYREC_MAX_NOTES ||
	    memchr(k.k, '\0', sizeof(k.k)) == NULL)
		abort();
	for (size_t i = 0; i < k.n_problems; i++)
		if (memchr(k.problems[i], '\0', sizeof(k.problems[i])) == NULL)
			abort();
	free(copy);
	return 0;
}
