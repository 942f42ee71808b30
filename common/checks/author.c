/*
 * author: the From domains DMARC judges; see author.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "author.h"

static void
unusable(struct author *a, const char *why)
{
	if (!a->unusable)
		snprintf(a->why, sizeof(a->why), "%s", why);
	a->unusable = 1;
}

/* One address's domain as written (len octets). */
static void
add(struct author *a, const char *text, size_t len)
{
	char name[DOMAIN_MAX + 1], why[160], msg[200];
	enum domain_recovery rc;
	size_t i;

	if (++a->n_addresses > AUTHOR_MAX_ADDRESSES) {
		snprintf(msg, sizeof(msg), "more than %d From addresses", AUTHOR_MAX_ADDRESSES);
		unusable(a, msg);
		return;
	}
	rc = domain_recover(text, len, name, sizeof(name), why, sizeof(why));
	if (rc == DOMAIN_NONE) {
		snprintf(msg, sizeof(msg), "From domain %s", why);
		unusable(a, msg);
		return;
	}
	if (strchr(name, '.') == NULL) {
		/* a top-level name: no organization's mail, no policy to apply */
		snprintf(msg, sizeof(msg), "From domain '%.80s' is a single label", name);
		unusable(a, msg);
		return;
	}
	if (rc == DOMAIN_RECOVERED && a->note[0] == '\0')
		snprintf(a->note, sizeof(a->note), "From domain %s", why);
	for (i = 0; i < a->n; i++)
		if (strcmp(a->domain[i], name) == 0)
			return;
	if (a->n == AUTHOR_MAX_DOMAINS) {
		snprintf(msg, sizeof(msg), "more than %d different From domains", AUTHOR_MAX_DOMAINS);
		unusable(a, msg);
		return;
	}
	memcpy(a->domain[a->n++], name, strlen(name) + 1);
}

/* A value the parser cannot read: the text after each '@', up to a delimiter. */
static void
add_lenient(struct author *a, const char *v, size_t len)
{
	const char *end = v + len;
	int any = 0;

	for (const char *p = v; p < end && a->n_addresses <= AUTHOR_MAX_ADDRESSES; p++) {
		const char *s, *e;

		if (*p != '@')
			continue;
		any = 1;
		for (s = p + 1; s < end && (*s == ' ' || *s == '\t'); s++)
			;
		for (e = s; e < end && strchr(" \t\r\n>,;:()<\"@", *e) == NULL; e++)
			;
		add(a, s, (size_t)(e - s));
	}
	if (!any)
		unusable(a, "a From field holds no address");
}

void
author_domains(const struct header_list *hl, struct author *out)
{
	struct addr_list l;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < hl->n && out->n_addresses <= AUTHOR_MAX_ADDRESSES; i++) {
		const struct header *h = &hl->v[i];

		if (strcasecmp(h->name, "From") != 0)
			continue;
		out->n_fields++;
		if (addr_parse(h->value, h->value_len, &l) == 0 && !l.truncated) {
			for (size_t k = 0; k < l.n; k++)
				add(out, l.v[k].domain, strlen(l.v[k].domain));
		} else {
			add_lenient(out, h->value, h->value_len);
		}
	}
	if (hl->dropped_essential > 0)
		unusable(out, "a From field past the header limits was not kept");
	else if (out->n_fields == 0)
		unusable(out, "no From field");
	else if (out->n_addresses == 0)
		unusable(out, "no address in the From field");
}
