/*
 * dmarcreport: DMARC aggregate reports (RFC 9990) from the statistics
 * store, for one UTC day: one report per policy domain that published
 * rua= and had mail that day (statsdb_dmarc_day: report messages
 * themselves are never counted, and a message tempfailed and retried is
 * counted once, by the attempt that ended its delivery).
 *
 * A report is XML in the urn:ietf:params:xml:ns:dmarc-2.0 namespace that
 * validates against RFC 9990's schema, written with libxml2's text writer
 * (markup characters escaped by it), gzip-compressed with zlib, named
 * RECEIVER!POLICY-DOMAIN!BEGIN!END!ID.xml.gz: RECEIVER the AuthservID,
 * BEGIN/END the date_range (the day's first and last second, unix time),
 * ID letters and digits, random, also the report_id. policy_published is
 * the record the day's newest message saw, with defaults filled in;
 * records are as statsdb.h groups them; policy_evaluated's reason carries
 * the override (local_policy, policy_test_mode, other) with its comment.
 *
 * Every stored text came from a sender (header_from, envelope_from, d=,
 * s=, the SPF domain) or from a store anyone with access may have
 * written: texts become valid XML characters (an octet that is not part
 * of valid UTF-8, a control character or one XML cannot carry becomes
 * '?'), values of the schema's enumerations that are not one of them are
 * replaced by a valid one and said in the report's error element, and a
 * policy domain that is not a plain domain name gets no report (its name
 * would be a file name): dmarcreport_build says so in its skipped list.
 * Nothing here sends anything (reportsend does) or exits; errors are
 * values with a reason.
 */
#ifndef SC_DMARCREPORT_H
#define SC_DMARCREPORT_H

#include <stddef.h>

#include "statsdb.h"

/* One built report (what reportsend sends). */
struct report_file {
	const char *policy_domain;	/* e.g. example.com */
	const char *rua;		/* the rua= value as published */
	const char *day;		/* YYYY-MM-DD */
	const char *report_id;
	const char *filename;		/* RECEIVER!DOMAIN!BEGIN!END!ID.xml.gz */
	const unsigned char *gz;	/* the gzip file */
	size_t gz_len;
	size_t xml_len;			/* the XML before compression */
	long messages;			/* the sum of the records' counts */
	size_t records;
};

struct dmarcreport_opts {
	const char *receiver;		/* AuthservID: a host name */
	const char *org_name;		/* ReportOrgName */
	const char *email;		/* ReportEmail */
	const char *generator;		/* e.g. "sendercheck 0.3" */
};

struct dmarcreport_set {
	struct report_file *v;
	size_t n;
	char skipped[1024];		/* domains with mail but no report, and why; "" if none */
	struct dmarcreport_priv *priv;
};

/*
 * The UTC day "YYYY-MM-DD" as [begin, end] (unix seconds, end the last
 * second). 0, or -1 when day is not a valid date.
 */
int dmarcreport_day(const char *day, long long *begin, long long *end);

/*
 * Builds the reports of day from db into out (free with
 * dmarcreport_free, also after an error). 0, or -1 with a reason.
 */
int dmarcreport_build(struct statsdb *db, const struct dmarcreport_opts *o, const char *day,
    struct dmarcreport_set *out, char *why, size_t whylen);
void dmarcreport_free(struct dmarcreport_set *s);

/* Writes each report as dir/filename (a new file; an existing one is an
 * error). 0, or -1 with a reason (files written before stay). */
int dmarcreport_write(const struct dmarcreport_set *s, const char *dir, char *why, size_t whylen);

/*
 * The builder's steps, for the fuzz target and tests: the sink that
 * dmarcreport_build hands statsdb_dmarc_day.
 */
int dmarcreport_begin(struct dmarcreport_set *s, const struct dmarcreport_opts *o,
    const char *day, char *why, size_t whylen);
extern const struct statsdb_dmarc_sink dmarcreport_sink;	/* arg: the set */
int dmarcreport_end(struct dmarcreport_set *s, char *why, size_t whylen);

#endif
