/* libFuzzer target: the reader of incoming Authentication-Results and
 * compliance fields (authres_claims_id, authres.c) that decides which
 * forged copies of our fields are removed. Checks what authres.h promises:
 * any length and any octets read within bounds, the same answer twice, and
 * a value that starts with our id and ';' always claims it, whatever
 * follows. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID "mx.example.net"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = malloc(size + sizeof(ID) + 2);
	int a, b;

	if (v == NULL)
		return 0;
	a = authres_claims_id((const char *)data, size, ID);
	b = authres_claims_id((const char *)data, size, ID);
	if (a != b || (a != 0 && a != 1))
		abort();
	memcpy(v, " " ID ";", sizeof(ID) + 1);
	memcpy(v + sizeof(ID) + 1, data, size);
	if (authres_claims_id(v, size + sizeof(ID) + 1, ID) != 1)
		abort();
	free(v);
	return 0;
}
