/*
 * author: the From domains DMARC must judge (RFC 7489 §6.6.1: the
 * RFC5322.From domain), as a mail client shows them to its reader, so
 * that no way of writing From hides the domain whose policy applies.
 *
 * author_domains reads every From field of the header list, whether the
 * addresses come in one field or in several (one rule for both):
 * - a field the RFC 5322 parser reads gives its mailboxes' domains; a
 *   field it cannot read (or with more mailboxes than it keeps) gives the
 *   text after each '@', up to a delimiter, read leniently;
 * - each domain as written goes through domain_recover (domain.h): valid,
 *   or the name a reader takes it for ("victim.example\x01" is
 *   victim.example; "[victim.example]" too), noted in note;
 * - the distinct names are the domains to judge, each on its own, the
 *   worst result standing (the engine does that).
 * The From is unusable (why says what was wrong) when no name can stand
 * for one of the addresses ("[192.0.2.1]", "victim\x01.example", a single
 * label such as "victim", left when a NUL cut "victim\0.example"), when
 * there is no From field or no address in it, when a From field past the
 * header list's limits was not kept (header.h), when there are more than
 * AUTHOR_MAX_ADDRESSES addresses or more than AUTHOR_MAX_DOMAINS distinct
 * domains (past those bounds a domain could hide unjudged). The domains
 * that could be read are still listed, so that their policies apply too.
 *
 * Work is bounded: at most AUTHOR_MAX_ADDRESSES recoveries per message.
 * Nothing is allocated but the parser's stack record; no errors beyond
 * unusable.
 */
#ifndef SC_AUTHOR_H
#define SC_AUTHOR_H

#include <stddef.h>

#include "domain.h"
#include "header.h"

#define AUTHOR_MAX_DOMAINS	8
#define AUTHOR_MAX_ADDRESSES	64

struct author {
	size_t n;				/* distinct names in domain[] */
	char domain[AUTHOR_MAX_DOMAINS][DOMAIN_MAX + 1];	/* normalized (domain.h) */
	unsigned n_fields;			/* From fields */
	unsigned n_addresses;			/* addresses read in them */
	int unusable;
	char why[200];				/* when unusable */
	char note[200];				/* the first domain that had to be recovered */
};

void author_domains(const struct header_list *hl, struct author *out);

#endif
