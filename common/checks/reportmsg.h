/*
 * reportmsg: whether a message is itself a DMARC aggregate report, by its
 * Subject (RFC 9990 section 3.2.3 / RFC 7489 7.2.1.1):
 *
 *     Report Domain: DOMAIN Submitter: DOMAIN Report-ID: ID
 *
 * The keywords are matched without regard to case, separated by any run
 * of blanks (the value unfolded first), the two domains must be valid
 * names, the Report-ID non-empty. The engine marks a report that also
 * passed DMARC, so that the aggregate reports sendercheck builds never
 * count report mail (no report loops); a sender can only exclude its own
 * authenticated mail that way.
 *
 * The value is a sender's text (any bytes, len octets); nothing is
 * allocated; domain gets the report domain (lower-case A-labels, "" when
 * not a report).
 */
#ifndef SC_REPORTMSG_H
#define SC_REPORTMSG_H

#include <stddef.h>

/* 1 when value is a report's Subject, else 0. */
int reportmsg_subject(const char *value, size_t len, char *domain, size_t domainlen);

#endif
