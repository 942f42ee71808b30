/* reportsend_drive: runs reportsend_run on report files given on the
 * command line, for tests/reports/test_reports_send.py (the sending rules
 * with rua= values chosen by the test; the whole chain from the store is
 * sendercheck-reports).
 *   reportsend_drive CONF STORE EMAIL [--force] [--dry-run] DOMAIN DAY RUA FILE...
 * FILE is a RECEIVER!DOMAIN!BEGIN!END!ID.xml.gz file; its ID is the
 * report id. Exit status: reportsend_exit_status's (0, 1, 75), 75 when
 * another run holds the lock, 2 when reportsend_run returned -1. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "reportsend.h"
#include "sbuf.h"
#include "sqldb.h"

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "reportsend_drive: %s: cannot read\n", path);
		exit(2);
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

int
main(int argc, char **argv)
{
	struct sc_config cfg;
	struct sbuf errs;
	struct report_file r[16];
	struct dmarcreport_opts from = { .org_name = "Test Receiver" };
	struct reportsend_counts c;
	struct sqldb *db;
	unsigned flags = 0;
	char why[512];
	size_t n = 0;
	int i = 4, rc;

	if (argc < 4) {
		fprintf(stderr, "usage: reportsend_drive CONF STORE EMAIL [--force] [--dry-run] "
		    "DOMAIN DAY RUA FILE...\n");
		return 2;
	}
	from.email = argv[3];
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++)
		flags |= strcmp(argv[i], "--force") == 0 ? REPORTSEND_FORCE : REPORTSEND_DRY_RUN;
	for (; i + 3 < argc && n < 16; i += 4, n++) {
		const char *base = strrchr(argv[i + 3], '/');
		char *id = strdup(base ? base + 1 : argv[i + 3]), *p;

		r[n].filename = base ? base + 1 : argv[i + 3];
		if ((p = strrchr(id, '!')) == NULL) {
			fprintf(stderr, "reportsend_drive: %s: not a report file name\n", argv[i + 3]);
			return 2;
		}
		memmove(id, p + 1, strlen(p + 1) + 1);
		if ((p = strchr(id, '.')) != NULL)
			*p = '\0';
		r[n].report_id = id;
		r[n].policy_domain = argv[i];
		r[n].day = argv[i + 1];
		r[n].rua = argv[i + 2];
		r[n].gz = slurp(argv[i + 3], &r[n].gz_len);
	}
	log_open("reportsend_drive", 0, 0, LOG_LVL_INFO);
	sbuf_init(&errs, 8192);
	if (config_load(&cfg, argv[1], &errs) != 0) {
		fprintf(stderr, "%s", errs.s);
		return 2;
	}
	if ((db = sqldb_open(argv[2], SQLDB_OPEN_WRITE, NULL, why, sizeof(why))) == NULL) {
		fprintf(stderr, "reportsend_drive: %s\n", why);
		return 2;
	}
	sbuf_reset(&errs);
	rc = reportsend_run(&cfg, &from, db, r, n, flags, &c, &errs);
	if (rc != 0)
		fprintf(stderr, "reportsend_drive: %s\n", errs.s);
	printf("counts sent=%u queued=%u skipped=%u postponed=%u refused=%u failed=%u\n", c.sent,
	    c.queued, c.skipped, c.postponed, c.refused, c.failed);
	sqldb_close(db);
	for (size_t k = 0; k < n; k++) {
		free((void *)r[k].gz);
		free((void *)r[k].report_id);
	}
	config_free(&cfg);
	sbuf_free(&errs);
	if (rc != 0)
		return rc < 0 ? 2 : REPORTSEND_EXIT_LATER;
	return reportsend_exit_status(&c);
}
