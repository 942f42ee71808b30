/*
 * dnscheck: sendercheck-test --dns-check DOMAIN: the DKIM keys and the
 * DMARC record a sender publishes, checked without a message, as
 * opendkim-testkey and online checkers do, with the fixes as records to
 * publish. (The SPF part is --spf-only's, run by the caller.) Lookups go
 * through the configured nameservers within DNSTimeout.
 */
#ifndef SC_DNSCHECK_H
#define SC_DNSCHECK_H

#include <stddef.h>

#include "options.h"

#define DNSCHECK_MAX_SELECTORS 16

/*
 * Prints the DKIM and DMARC sections for domain (an A-label or U-label
 * name). selectors: the ones to check; none: a short list of common ones
 * is tried and those found are shown. Returns the number of problems.
 */
int dnscheck_print(const struct sc_config *cfg, const char *domain,
    const char *const *selectors, size_t n_selectors);

#endif
