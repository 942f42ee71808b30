/* libFuzzer target: the DKIM-Signature key-name reader (dkimkey.c) the
 * engine uses to ask for a key early. Checks what dkimkey.h promises: a
 * name only as "s._domainkey.d" of LDH/underscore labels, at most 253
 * octets, within the buffer, whatever the field holds. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkimkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[300], small[20];
	size_t n, i;

	memset(out, 'X', sizeof(out));
	if (dkim_key_name((const char *)data, size, out, sizeof(out)) == 0) {
		n = strnlen(out, sizeof(out));
		if (n == sizeof(out) || n > 253 || strstr(out, "._domainkey.") == NULL)
			abort();
		for (i = 0; i < n; i++)
			if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
			    out[i]) == NULL)
				abort();
	} else if (out[0] != '\0')
		abort();
	/* a buffer too small for the name is never overrun */
	if (dkim_key_name((const char *)data, size, small, sizeof(small)) == 0 &&
	    strnlen(small, sizeof(small)) == sizeof(small))
		abort();
	return 0;
}
