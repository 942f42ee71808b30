/* libFuzzer target: the reader of incoming Authentication-Results and
 * compliance fields (authres_claims_id, authres.c) that decides which
 * forged copies of our fields are removed. Checks what authres.h promises:
 * any length and any octets read within bounds, the same answer twice, and
 * a value that starts with our id and ';' always claims it, whatever
 * follows. The same input is read as another host's results (what an ARC
 * sealer recorded: authres_read_results): bounded counts, NUL-terminated
 * fields, lower-case methods and results. */
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
	{
		static struct authres_result r[8];
		size_t n = authres_read_results((const char *)data, size, r, 8);

		if (n > 8)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (r[i].n_props > AUTHRES_MAX_PROPS || r[i].method[0] == '\0' ||
			    memchr(r[i].method, '\0', sizeof(r[i].method)) == NULL ||
			    memchr(r[i].result, '\0', sizeof(r[i].result)) == NULL)
				abort();
			for (const char *p = r[i].method; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					abort();
			for (size_t k = 0; k < r[i].n_props; k++)
				if (strchr(r[i].props[k].name, '.') == NULL ||
				    memchr(r[i].props[k].value, '\0', sizeof(r[i].props[k].value)) == NULL)
					abort();
		}
	}
	return 0;
}
