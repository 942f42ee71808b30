/*
 * statshtml: the statistics report as one self-contained HTML page: the
 * domains, rules and per-day tables of sendercheck-stats, a line chart of
 * compliance per day (per profile, and DMARC pass) and a bar chart of
 * failures per rule, both inline SVG. No scripts, no external assets
 * (styles inline), so it opens offline and anywhere. Every text from the
 * file is HTML-escaped.
 */
#ifndef SC_STATSHTML_H
#define SC_STATSHTML_H

#include <stddef.h>

#include "statsdb.h"

struct statshtml_input {
	const char *title;		/* e.g. "sendercheck statistics" */
	const char *window;		/* e.g. "since 2026-11-01 (7d)" */
	const char *generated;		/* time of the report */
	const char *domain;		/* one domain, or NULL for all */
	unsigned profiles;		/* bit per enum profile_id shown */
	const struct statsdb_domain *domains;
	size_t n_domains;
	const struct statsdb_rule *rules;
	size_t n_rules;
	long rule_messages;		/* messages in the window */
	const struct statsdb_day *days;
	size_t n_days;
};

/* The page, malloc'd; NULL when out of memory. */
char *statshtml_render(const struct statshtml_input *in);

#endif
