/*
 * sendercheck-reports: the DMARC aggregate reports (RFC 9990) of one UTC
 * day, from the statistics store the daemons write (StatsDB): one gzip'd
 * XML report per policy domain that published rua= and had mail that day
 * (dmarcreport.h). With --out DIR the files are written into DIR;
 * without, they are sent to the rua= destinations (reportsend).
 *
 *   sendercheck-reports -c CONF [--db PATH|URI] --day YYYY-MM-DD [--out DIR]
 *                       [--dry-run] [--force]
 *
 * The report names the organization ReportOrgName and the contact
 * ReportEmail of CONF, the receiver its AuthservID. --day yesterday is
 * the UTC day before today (the timer's run). Exit status (what a timer
 * or cron job acts on): 0 done (also when no domain asked for reports; a
 * destination skipped by a rule or that refused report mail is done), 1
 * the store or DIR could not be used, a report message could not be
 * made or ReportSendmail cannot be executed, 2 usage or configuration errors, 75 (EX_TEMPFAIL) nothing failed
 * but some reports were postponed, or another run was sending: run the
 * same day again later.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmarcreport.h"
#include "log.h"
#include "options.h"
#include "reportsend.h"
#include "sbuf.h"
#include "sqldb.h"
#include "statsdb.h"

#define PROG "sendercheck-reports"

struct args {
	const char *config;
	const char *db;
	const char *day;
	const char *out;
	int dry_run;
	int force;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-c FILE] [--db PATH|URI] --day YYYY-MM-DD [--out DIR] [--dry-run] [--force]\n"
	    "  -c, --config FILE  the daemon's configuration (default %s): StatsDB, AuthservID,\n"
	    "                     ReportOrgName, ReportEmail and, for sending, ReportSender,\n"
	    "                     ReportSMTP, ReportSendmail, ReportMaxSize, ReportMaxPerRun,\n"
	    "                     ReportCopyTo\n"
	    "  --db PATH|URI      the statistics file or postgresql:// URI (default: StatsDB)\n"
	    "  --day YYYY-MM-DD   the UTC day to report (today: what is stored so far;\n"
	    "                     \"yesterday\": the UTC day before today)\n"
	    "  --out DIR          write the reports into the existing directory DIR instead of\n"
	    "                     sending them\n"
	    "  --dry-run          say which reports would be written or sent; write and send nothing\n"
	    "  --force            send again what was sent before (a destination that refused\n"
	    "                     report mail stays skipped for a day)\n"
	    "  -h, --help         print this summary and exit\n"
	    "exit status: 0 done (sent, or not sent by a rule, or refused by the destination);\n"
	    "  1 the store or DIR could not be used, a report message could not be made, or\n"
	    "  ReportSendmail cannot be executed;\n"
	    "  2 usage or configuration error; 75 nothing failed, but some reports were\n"
	    "  postponed (DNS failure, a 4xx, ReportMaxPerRun, another run sending): run the\n"
	    "  same --day again later\n",
	    SYSCONFDIR "/sendercheck.conf");
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "day", required_argument, NULL, 'D' },
		{ "out", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long long begin, end;
	int opt;

	memset(a, 0, sizeof(*a));
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': a->config = optarg; break;
		case 'd': a->db = optarg; break;
		case 'D': a->day = optarg; break;
		case 'o': a->out = optarg; break;
		case 'n': a->dry_run = 1; break;
		case 'f': a->force = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (a->day == NULL) {
		fprintf(stderr, PROG ": --day YYYY-MM-DD is required\n");
		return -1;
	}
	if (strcmp(a->day, "yesterday") == 0) {
		static char buf[16];
		time_t t = time(NULL) - 86400;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
		a->day = buf;
	}
	if (dmarcreport_day(a->day, &begin, &end) < 0) {
		fprintf(stderr, PROG ": --day '%s' is not a date (YYYY-MM-DD)\n", a->day);
		return -1;
	}
	return 0;
}

static int
load_config(const char *path, struct sc_config *cfg)
{
	struct sbuf errs;
	int problems;

	if (path == NULL)
		path = SYSCONFDIR "/sendercheck.conf";
	sbuf_init(&errs, 1 << 16);
	problems = config_load(cfg, path, &errs);
	if (problems > 0)
		fprintf(stderr, "%s", errs.s);
	sbuf_free(&errs);
	return problems > 0 ? -1 : 0;
}

static struct statsdb *
open_db(const char *target)
{
	char why[600];
	struct statsdb *db;

	if (!sqldb_is_uri(target) && access(target, F_OK) != 0) {
		fprintf(stderr, PROG ": no statistics file %s (is StatsDB set?)\n", target);
		return NULL;
	}
	if ((db = statsdb_open(target, 0, why, sizeof(why))) == NULL)
		fprintf(stderr, PROG ": %s: %s%s\n", target, why, strstr(why, "is older") ?
		    " (a daemon upgrades it when it starts)" : "");
	return db;
}

static void
say(const struct report_file *f, const char *verb, const char *dir)
{
	printf("%s %s%s%s (%s: %ld message%s in %zu record%s, rua=%s)\n", verb, dir ? dir : "",
	    dir ? "/" : "", f->filename, f->policy_domain, f->messages, f->messages == 1 ? "" : "s",
	    f->records, f->records == 1 ? "" : "s", f->rua);
}

/* Without --out: the reports go to their rua= destinations (reportsend.h),
 * with the state kept in the store (a handle of its own that writes).
 * Returns the exit status (reportsend_exit_status, or 1). */
static int
send_reports(const struct sc_config *cfg, const struct dmarcreport_opts *o, const char *target,
    const struct dmarcreport_set *set, const struct args *a)
{
	struct reportsend_counts c;
	struct sqldb *sql;
	struct sbuf err;
	char why[600];
	int rc;

	for (size_t i = 0; a->dry_run && i < set->n; i++)
		say(&set->v[i], "would send", NULL);
	if (set->n == 0)
		return 0;
	if ((sql = sqldb_open(target, SQLDB_OPEN_WRITE, NULL, why, sizeof(why))) == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", target, why);
		return 1;
	}
	log_open(PROG, cfg->syslog, cfg->syslog_facility, (enum log_level)cfg->log_level);
	sbuf_init(&err, 4096);
	rc = reportsend_run(cfg, o, sql, set->v, set->n, (a->force ? REPORTSEND_FORCE : 0) |
	    (a->dry_run ? REPORTSEND_DRY_RUN : 0), &c, &err);
	if (rc != 0)
		fprintf(stderr, PROG ": %s\n", err.s);
	else
		printf("%u sent, %u queued, %u skipped, %u postponed, %u refused, %u failed\n", c.sent,
		    c.queued, c.skipped, c.postponed, c.refused, c.failed);
	if (rc == 0 && c.postponed && !c.failed)
		printf("postponed reports are sent by a later run of --day %s (exit status %d)\n",
		    a->day, REPORTSEND_EXIT_LATER);
	sbuf_free(&err);
	sqldb_close(sql);
	if (rc != 0)
		return rc < 0 ? 1 : REPORTSEND_EXIT_LATER;
	return reportsend_exit_status(&c);
}

int
main(int argc, char **argv)
{
	struct args a;
	struct sc_config cfg;
	struct dmarcreport_set set;
	struct dmarcreport_opts o;
	struct statsdb *db;
	struct stat st;
	char why[600], email[300];
	const char *target;
	int rc = 1;

	if (parse_args(argc, argv, &a) < 0)
		return 2;
	memset(&cfg, 0, sizeof(cfg));
	if (load_config(a.config, &cfg) < 0) {
		config_free(&cfg);
		return 2;
	}
	if (a.out != NULL && (stat(a.out, &st) != 0 || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, PROG ": --out %s: not an existing directory\n", a.out);
		config_free(&cfg);
		return 2;
	}
	target = a.db ? a.db : cfg.stats_db;
	if (target[0] == '\0') {
		fprintf(stderr, PROG ": no statistics store: set StatsDB in the configuration or give --db\n");
		config_free(&cfg);
		return 2;
	}
	if ((db = open_db(target)) == NULL) {
		config_free(&cfg);
		return 1;
	}
	snprintf(email, sizeof(email), "postmaster@%s", cfg.authserv_id);
	o.receiver = cfg.authserv_id;
	o.org_name = cfg.report_org_name[0] ? cfg.report_org_name : cfg.authserv_id;
	o.email = cfg.report_email[0] ? cfg.report_email : email;
	o.generator = "sendercheck " PACKAGE_VERSION;
	if (dmarcreport_build(db, &o, a.day, &set, why, sizeof(why)) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", target, why);
		goto out;
	}
	if (set.skipped[0] != '\0')
		fprintf(stderr, PROG ": no report for %s\n", set.skipped);
	if (a.out == NULL) {
		rc = send_reports(&cfg, &o, target, &set, &a);
		goto out;
	}
	for (size_t i = 0; a.dry_run && i < set.n; i++)
		say(&set.v[i], "would write", a.out);
	if (!a.dry_run) {
		if (dmarcreport_write(&set, a.out, why, sizeof(why)) < 0) {
			fprintf(stderr, PROG ": %s\n", why);
			goto out;
		}
		for (size_t i = 0; i < set.n; i++)
			say(&set.v[i], "wrote", a.out);
	}
	rc = 0;
out:
	dmarcreport_free(&set);
	statsdb_close(db);
	config_free(&cfg);
	return rc;
}
