/*
 * reportsend: sends built DMARC aggregate reports (RFC 9990) to the
 * destinations their domains published in rua=, safely.
 *
 * For each report and each mailto: destination of its rua= (rua.h: only
 * plain local@domain addresses, at most RUA_MAX_DESTS):
 * - a destination outside the policy domain's organizational domain is
 *   used only when it published the authorization record
 *   POLICY-DOMAIN._report._dmarc.DEST-DOMAIN (a TXT starting "v=DMARC1";
 *   RFC 9990 section 4); a DNS failure postpones it to a later run;
 * - the state table (report_sends, in the statistics store, SQLite or
 *   PostgreSQL) makes runs idempotent: a (day, policy domain, destination)
 *   sent once is not sent again unless REPORTSEND_FORCE;
 * - a destination that refused report mail with a 5xx reply, or whose
 *   recipient sendmail refused with EX_NOUSER or EX_NOHOST, is skipped
 *   for a day (report_refusals), --force or not;
 * - a message larger than the destination's !size (or ReportMaxSize) is
 *   not sent, and noted;
 * - at most ReportMaxPerRun messages per run; the rest wait;
 * - one sending run at a time (report_run_lock; a lock older than 12 hours,
 *   left by a run that died, is taken over);
 * - the message: From ReportEmail, To the destination, the RFC 9990
 *   subject, Auto-Submitted: auto-generated (RFC 3834: no auto-replies),
 *   multipart/mixed with a text part and the .xml.gz as application/gzip,
 *   base64; envelope sender ReportSender (else ReportEmail);
 * - transport: ReportSMTP HOST:PORT (libcurl; the reply code decides
 *   sent, refused or try again), else ReportSendmail (/usr/sbin/sendmail)
 *   -i -f SENDER -- RCPT, which only queues: the state says "queued", and
 *   a refusal by the destination comes back later as a bounce to the
 *   envelope sender, which nothing here reads (said in the log, the output
 *   and the state row). Its exit status, read as sysexits.h names it:
 *   EX_NOUSER, EX_NOHOST refused; a status about the local mail system
 *   (EX_USAGE, EX_NOPERM, EX_CONFIG, ...) postponed and logged as an error
 *   once per run; any other status postponed; a sendmail that cannot be
 *   executed failed, said once per run, not run again in the run. Over
 *   ReportSMTP too, a server that relays (the local MTA) accepts first and
 *   bounces later: only a refusal in its reply is recorded;
 * - ReportCopyTo gets a copy of every message sent (failures only logged).
 * Every decision is logged with its reason. Nothing here reads the
 * statistics rows: which messages are reported (never report messages
 * themselves) is decided when the reports are built.
 */
#ifndef SC_REPORTSEND_H
#define SC_REPORTSEND_H

#include <stddef.h>

#include "dmarcreport.h"
#include "options.h"
#include "sbuf.h"
#include "sqldb.h"

#define REPORTSEND_FORCE	1	/* send again what was sent for the day */
#define REPORTSEND_DRY_RUN	2	/* say what would be sent, send nothing */

/*
 * What became of each (report, destination): sent (the SMTP server of
 * ReportSMTP accepted it); queued (sendmail took it: the destination's
 * answer is not known, see above); skipped by a rule or
 * sent before (done); postponed (a DNS failure, a 4xx or an MTA that could
 * not take it, ReportMaxPerRun reached: a later run of the same day sends
 * it); refused by the destination with a 5xx, or by sendmail's EX_NOUSER
 * or EX_NOHOST (recorded, skipped for a day: done); failed (the message
 * could not be made, or ReportSendmail cannot be executed: a fault here).
 */
struct reportsend_counts {
	unsigned sent, queued, skipped, postponed, refused, failed;
};

/*
 * Sends reports[0..n) (dmarcreport's) as above, as from->org_name and
 * from->email (ReportOrgName, ReportEmail); db is the store opened for
 * writing (the state tables are created when missing). What was done
 * goes to the log and, one line per message, to stdout, and is counted
 * in counts. Returns 0 when the run went through (whatever counts say),
 * 1 with a reason in err when another run holds the lock (nothing done:
 * try again later), -1 with a reason in err when nothing could be done
 * (no ReportEmail, the store failed).
 */
int reportsend_run(const struct sc_config *cfg, const struct dmarcreport_opts *from,
    struct sqldb *db, const struct report_file *reports, size_t n, unsigned flags,
    struct reportsend_counts *counts, struct sbuf *err);

/*
 * The exit status a sending run's counts call for, what a timer or cron
 * job acts on: REPORTSEND_EXIT_FAILED when a message failed (a fault to
 * look at), else REPORTSEND_EXIT_LATER when some were postponed (not an
 * error: run the same day again later, which sends only what is missing),
 * else 0 (everything sent or queued, or not sent by a rule, or refused by
 * its destination and recorded).
 */
#define REPORTSEND_EXIT_FAILED	1
#define REPORTSEND_EXIT_LATER	75	/* EX_TEMPFAIL of sysexits.h */
int reportsend_exit_status(const struct reportsend_counts *c);

/*
 * The report message for one destination, CRLF line ends (exposed for
 * the unit tests). 0, or -1 when out of memory or too large for out.
 */
int reportsend_message(const struct sc_config *cfg, const struct dmarcreport_opts *from,
    const struct report_file *r, const char *to, struct sbuf *out);

#endif
