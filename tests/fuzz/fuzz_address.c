/* libFuzzer target: the RFC 5322 address parser (address.c) and, on the
 * same input, the date-time parser (format.c) and the recovery of a
 * malformed From domain (domain_recover, domain.c). Checks the invariants
 * address.h promises: bounded output, error position inside the value,
 * lower-case domains; and domain.h's: a name found is normalized, one
 * recovered has several labels, a reason whenever it is not valid. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "domain.h"
#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct addr_list al;
	struct format_date d;
	char why[120];
	int rc = addr_parse((const char *)data, size, &al);

	if (al.n > ADDR_MAX_MAILBOXES || al.n > al.n_total)
		abort();
	if (rc < 0 && (al.error_pos > size || al.why[0] == '\0'))
		abort();
	if (rc == 0 && al.n_total == 0 && al.n_groups == 0)
		abort();
	for (size_t i = 0; i < al.n; i++) {
		const struct addr_mailbox *m = &al.v[i];

		if (strlen(m->local) > ADDR_LOCAL_MAX || strlen(m->domain) > ADDR_DOMAIN_MAX ||
		    strlen(m->display) > ADDR_DISPLAY_MAX || m->local[0] == '\0' || m->domain[0] == '\0')
			abort();
		for (const char *p = m->domain; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
	}
	{
		char name[DOMAIN_MAX + 1], rwhy[200], norm[300];
		enum domain_recovery r = domain_recover((const char *)data, size, name, sizeof(name),
		    rwhy, sizeof(rwhy));

		if (r == DOMAIN_NONE && (name[0] != '\0' || rwhy[0] == '\0'))
			abort();
		if (r != DOMAIN_NONE && (domain_normalize(name, norm, sizeof(norm), why, sizeof(why)) < 0 ||
		    strcmp(norm, name) != 0))
			abort();
		if (r == DOMAIN_RECOVERED && (strchr(name, '.') == NULL || rwhy[0] == '\0'))
			abort();
	}
	if (format_date_parse((const char *)data, size, &d, why, sizeof(why)) == 0 &&
	    (d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31 || d.hour > 23))
		abort();
	return 0;
}
