/* libFuzzer target: the rua= destination list (rua.c), text a sender
 * publishes in its DNS and that becomes SMTP recipients, header fields
 * and a sendmail argument. Checks what rua.h promises of every kept
 * address: bounded, one '@', nothing a command line or a header field
 * could misread, a lower-case host name after the '@'. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rua.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rua_list l;
	size_t i, j;

	rua_parse((const char *)data, size, &l);
	if (l.n > RUA_MAX_DESTS)
		abort();
	if (l.n_skipped && l.why[0] == '\0')
		abort();
	for (i = 0; i < l.n; i++) {
		const struct rua_dest *d = &l.dest[i];
		const char *at = strchr(d->addr, '@');
		size_t len = strlen(d->addr);

		if (len == 0 || len > RUA_ADDR_MAX || at == NULL || strchr(at + 1, '@') ||
		    d->domain != at + 1 || d->addr[0] == '-' || (size_t)(at - d->addr) > RUA_LOCAL_MAX)
			abort();
		for (j = 0; j < len; j++) {
			unsigned char c = (unsigned char)d->addr[j];

			if (c <= ' ' || c >= 0x7f || strchr("\"<>(),;:[]\\", c))
				abort();
			if (d->addr + j > at && c >= 'A' && c <= 'Z')
				abort();
		}
		for (j = 0; j < i; j++)
			if (strcmp(l.dest[j].addr, d->addr) == 0)
				abort();
	}
	return 0;
}
