/*
 * statsdb: the store of compliance statistics, shared by the daemon's stats
 * writer (common/service/stats.c) and the report tools (sendercheck-stats): an
 * SQLite file, or a PostgreSQL database (StatsDB postgresql://...) that
 * several daemons write into, through sqldb (one SQL for both). Callers
 * never see which: the same schema, writes and reports on either.
 *
 * One row per message in `messages` (its rule failures in its profiles'
 * "_failed" lists; the `failures` table of older versions is only pruned),
 * and per-day per-domain totals in `daily` / `daily_rules`,
 * written in the same transaction as the rows they count, so that the
 * totals always agree with the rows. A message row holds the verdict's
 * columns (columns.h: the fields of the table marked for the store, by
 * name); a column the file lacks is added when it is opened for writing.
 * The totals read the columns spf, dkim_pass, dmarc, aligned, bulk,
 * oneclick, action, skipped, from_domain and one per profile with its
 * "_failed" list. Days are UTC dates "YYYY-MM-DD". The "domain" of a
 * message is its RFC5322.From domain (what the bulk-sender rules judge),
 * or "(none)" when the message has no single From domain.
 *
 * Each message row names the daemon's host (statsdb_set_host,
 * from HostName; NULL in rows written before schema 3); reports can be
 * limited to one host (statsdb_filter_host). Each batch is stored with an
 * id (HOST:RUN:SEQ): a batch sent again after a connection lost at commit
 * is found there and not stored twice.
 *
 * The store is identified by an application id and versioned
 * (STATSDB_SCHEMA_VERSION; SQLite PRAGMAs, a sendercheck_meta table in
 * PostgreSQL); opening it for writing upgrades an older schema in place, in
 * one transaction under the store's write lock (daemons starting together
 * against an empty database: one creates it, the others wait and see it).
 * A store from a newer sendercheck, or not ours, is refused with a reason,
 * unless (PostgreSQL) the newer version declared this one's writer still
 * right for it (min_writer in sendercheck_meta: the oldest schema version
 * whose daemons may go on writing), so that a fleet upgraded host by host
 * keeps its statistics while older daemons restart.
 * SQLite runs in WAL mode with synchronous=NORMAL: a crash of the process
 * (kill -9) loses no committed transaction and never leaves a damaged file.
 *
 * Errors are return values with a reason; nothing here exits.
 */
#ifndef SC_STATSDB_H
#define SC_STATSDB_H

#include <stddef.h>

#include "columns.h"

#define STATSDB_SCHEMA_VERSION 6
/* The oldest version whose writer is right for this schema: 4 (versions 5
 * and 6 dropped an index, draw ids in blocks and keep the failures table). */
#define STATSDB_MIN_WRITER 4
#define STATSDB_APP_ID 0x53434b31	/* "SCK1" */
#define STATSDB_NO_DOMAIN "(none)"

struct statsdb;

/*
 * target: an SQLite file path or a postgresql:// URI (no password in it:
 * a password file, see sqldb.h). NULL with a reason when it cannot be
 * used: refused by the server (password, role, database), not ours, newer.
 * With STATSDB_LATER a server that cannot be reached (or a file locked)
 * still gives a handle, not ready, with the reason in why: each
 * statsdb_insert tries again (and returns 1 until it can).
 */
#define STATSDB_WRITE 1		/* open for writing: create and upgrade */
#define STATSDB_LATER 2
struct statsdb *statsdb_open(const char *target, unsigned flags, char *why, size_t whylen);
void statsdb_close(struct statsdb *db);
int statsdb_schema_version(struct statsdb *db);
/* Schema checked (a handle opened with STATSDB_LATER may not be yet). */
int statsdb_ready(const struct statsdb *db);
/* Ready and connected now (SQLite: ready). */
int statsdb_connected(const struct statsdb *db);
/* "sqlite" or "postgresql", for logs and metrics. */
const char *statsdb_backend(const struct statsdb *db);
/* The host written on each row from now on ("" none). */
void statsdb_set_host(struct statsdb *db, const char *host);
/* Reports from now on count only rows of host (NULL: all hosts). -1: no memory. */
int statsdb_filter_host(struct statsdb *db, const char *host);

/*
 * Stores n records in one transaction (rows and daily totals).
 * Returns 0; 1 when the store cannot take them now (a file locked by
 * another writer, a server away, a deadlock: try again with the same
 * records, which are never stored twice); -1 on another error (nothing
 * written) with a reason.
 */
int statsdb_insert(struct statsdb *db, struct vrow *const *recs, size_t n,
    char *why, size_t whylen);

/*
 * Deletes at most limit messages older than before (unix seconds), the
 * daily totals of days before before's day and the batch ids older than
 * before (all hosts' rows: a site has one retention). Returns the number of messages
 * deleted (call again while it equals limit), 1..; 0; or -1 with a reason.
 */
long statsdb_prune(struct statsdb *db, long long before, long limit, char *why, size_t whylen);

/* Counts behind the percentages of the reports. */
struct statsdb_counts {
	long messages, spf_pass, dkim_pass, dmarc_pass, aligned, bulk, bulk_oneclick;
	long judged[PROFILE_COUNT];	/* messages judged by the profile */
	long compliant[PROFILE_COUNT];
	long action[ACT_COUNT];
};

struct statsdb_domain {
	char domain[256];
	struct statsdb_counts c;
};

struct statsdb_rule {
	char rule[32];
	long messages;			/* failing it for at least one profile */
	long per_profile[PROFILE_COUNT];
	size_t n_top;
	struct { char domain[256]; long n; } top[5];	/* the domains failing it most */
};

struct statsdb_day {
	char day[11];
	struct statsdb_counts c;
};

/* domain NULL: all. Arrays are malloc'd (free them); -1 with a reason. */
int statsdb_domains(struct statsdb *db, long long since, const char *domain,
    struct statsdb_domain **out, size_t *n, char *why, size_t whylen);
/* The same counts per client IP address (rows' domain field holds the address). */
int statsdb_ips(struct statsdb *db, long long since, const char *domain,
    struct statsdb_domain **out, size_t *n, char *why, size_t whylen);

/* DKIM signatures per signing domain and selector, most first. */
struct statsdb_selector {
	char domain[254];
	char selector[200];	/* "(not recorded)" for rows of older versions */
	long signatures, pass;
};
int statsdb_selectors(struct statsdb *db, long long since, const char *domain,
    struct statsdb_selector **out, size_t *n, char *why, size_t whylen);

/*
 * A consistent copy of the whole store into a new file dest (SQLite's
 * online backup: safe while the daemon writes). Refuses an existing dest;
 * a PostgreSQL store (pg_dump is the tool for it).
 */
int statsdb_backup(struct statsdb *db, const char *dest, char *why, size_t whylen);

/* Rules failed, the most messages first, from the messages' failed lists;
 * *messages: the messages judged. */
int statsdb_rules(struct statsdb *db, long long since, const char *domain,
    struct statsdb_rule **out, size_t *n, long *messages, char *why, size_t whylen);
/* From the daily totals: days on or after since's day, gaps filled with zeros. */
int statsdb_trend(struct statsdb *db, long long since, const char *domain,
    struct statsdb_day **out, size_t *n, char *why, size_t whylen);

/*
 * The DMARC data of the messages stored in [begin, end) for aggregate
 * reports (RFC 9990; dmarcreport.h), from the verdict's dmarc_* columns:
 * only messages with a DMARC policy record (dmarc_domain), never those
 * marked as reports themselves (dmarc_report_msg) nor those a daemon in
 * Mode outbound judged (the site's own mail: tls n/a), nor attempts the
 * daemon tempfailed (the sender still holds the message and retries it:
 * only the attempt that ends its delivery is counted), from all hosts.
 * policy is called once per policy domain, in byte order of the domain,
 * with the record as the newest of its messages saw it; then other once
 * per From domain whose organizational domain the other discovery method
 * (PSL or tree walk) would choose differently (org_other as stored,
 * "psl:NAME" or "treewalk:NAME", with its message count); then record once
 * per distinct (domain, source IP, From domain, envelope domain, SPF
 * domain and result, DKIM signatures, alignment, disposition, override)
 * with its message count, by domain in the same order. Texts are as
 * stored (NULL for SQL NULL) and valid during the call only. A callback
 * that returns -1 stops the walk (its reason in why). 0, or -1 with a
 * reason (a store written before the dmarc_* columns: say so).
 */
struct statsdb_dmarc_policy {
	const char *domain, *rua, *p, *sp, *np, *adkim, *aspf, *testing, *discovery;
};
struct statsdb_dmarc_record {
	const char *domain;
	const char *source_ip, *header_from, *envelope_from;
	const char *spf_domain, *spf;	/* SPF's domain and result; NULL: not checked */
	const char *dkim;		/* "d:s:result d:s:result" (columns.h), NULL: none */
	int dkim_aligned, spf_aligned;	/* passed aligned */
	const char *disposition, *override;	/* dmarc_disposition_str / dmarc_override_str names */
	const char *override_comment;	/* what was done instead, NULL: nothing */
	long count;
};
struct statsdb_dmarc_sink {
	int (*policy)(void *arg, const struct statsdb_dmarc_policy *p, char *why, size_t whylen);
	int (*other)(void *arg, const char *domain, const char *header_from, const char *org_other,
	    long count, char *why, size_t whylen);
	int (*record)(void *arg, const struct statsdb_dmarc_record *r, char *why, size_t whylen);
};
int statsdb_dmarc_day(struct statsdb *db, long long begin, long long end,
    const struct statsdb_dmarc_sink *sink, void *arg, char *why, size_t whylen);

/* "YYYY-MM-DD" (UTC) of t. */
void statsdb_day(long long t, char out[11]);

#endif
