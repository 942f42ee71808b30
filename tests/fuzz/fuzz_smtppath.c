/* libFuzzer target: the MAIL FROM path reader (smtp_path_parse,
 * smtppath.c; with address.c and domain.c under it). Checks what
 * smtppath.h promises: parts within their bounds, a strict path has a
 * domain that is a literal or a normalized name, a reason whenever the
 * path is not strict or names no domain. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "smtppath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *arg = malloc(size + 1), norm[300], why[160];
	struct smtp_path p;
	int rc;

	if (arg == NULL)
		return 0;
	memcpy(arg, data, size);
	arg[size] = '\0';
	rc = smtp_path_parse(arg, &p);
	if (strlen(p.local) > SMTP_LOCAL_MAX || strlen(p.domain) > SMTP_DOMAIN_MAX ||
	    strlen(p.why) >= sizeof(p.why))
		abort();
	if (rc < 0 && (p.domain[0] != '\0' || p.null || strchr(arg, '@') == NULL) && p.why[0] == '\0')
		abort();
	if (rc < 0 && strchr(arg, '@') == NULL && p.domain[0] != '\0')
		abort();
	if (!p.strict && p.why[0] == '\0')
		abort();
	if (p.null && (p.local[0] != '\0' || p.domain[0] != '\0'))
		abort();
	if (rc == 0 && p.strict && !p.null && !p.literal &&
	    (domain_normalize(p.domain, norm, sizeof(norm), why, sizeof(why)) < 0 ||
	    strcmp(norm, p.domain) != 0))
		abort();
	free(arg);
	return 0;
}
