/* libFuzzer target: the Subject reader that tells a DMARC aggregate report
 * from other mail (reportmsg.c). Checks what reportmsg.h promises: a
 * report has a valid, normalized report domain; anything else leaves the
 * domain empty; nothing is read past the value. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "reportmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char domain[DOMAIN_MAX + 1], again[DOMAIN_MAX + 1], why[128];
	/* an exact-size copy: ASan sees any read past the value */
	char *v = malloc(size ? size : 1);
	int is;

	if (v == NULL)
		return 0;
	memcpy(v, data, size);
	is = reportmsg_subject(v, size, domain, sizeof(domain));
	if (is != 0 && is != 1)
		abort();
	if (!is && domain[0] != '\0')
		abort();
	if (is && (domain_normalize(domain, again, sizeof(again), why, sizeof(why)) < 0 ||
	    strcmp(domain, again) != 0))
		abort();
	/* a small output buffer never overflows */
	(void)reportmsg_subject(v, size, domain, 4);
	if (strlen(domain) > 3)
		abort();
	free(v);
	return 0;
}
