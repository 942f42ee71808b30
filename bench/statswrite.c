/*
 * statswrite: the daemon's statistics writer (statsdb_insert) alone, batch
 * after batch into one store, and what the store's server spent on it:
 * bench/statswrite.py runs it against a private PostgreSQL cluster.
 *
 *     statswrite TARGET ROWS BATCHES SIZE
 *
 * ROWS: messages in COPY's text form with a header line of column names
 * (statswrite.py exports them from an SQLite store a benchmark filled), so
 * that the rows are the verdicts of a real corpus; they are written again
 * and again, with the time of writing. One batch of SIZE first (schema,
 * statements, connection), then BATCHES batches of SIZE counted. Prints
 * the PostgreSQL backend's CPU per message (/proc/PID/schedstat of the
 * writer's backend, found in pg_stat_activity), this process's CPU per
 * message (building the batches, encoding them) and the wall time. Figures,
 * never pass/fail.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "columns.h"
#include "statsdb.h"

#define MAX_ROWS   100000
#define MAX_FIELDS 256

/* Seconds a process has run (its scheduler's count), -1 if unknown. */
static double
proc_cpu(int pid)
{
	char path[64];
	unsigned long long ns;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	ok = fscanf(f, "%llu", &ns) == 1;
	fclose(f);
	return ok ? (double)ns / 1e9 : -1;
}

static double
self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* COPY text escapes, in place */
static void
unescape(char *s)
{
	char *o = s;

	for (; *s; s++)
		if (*s == '\\' && s[1] != '\0') {
			s++;
			*o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s;
		} else
			*o++ = *s;
	*o = '\0';
}

/* The rows of file into rows; their number, or -1. The store's own
 * columns (id, time, day, domain, host) are made by the writer. */
static long
read_rows(const char *file, struct vrow *rows)
{
	static char line[1 << 16];
	char *names[MAX_FIELDS];
	int nf = 0;
	long n = 0;
	const struct vcol *cols;
	FILE *f = fopen(file, "r");

	verdict_columns(&cols);
	if (f == NULL || fgets(line, sizeof(line), f) == NULL)
		return -1;
	line[strcspn(line, "\n")] = '\0';
	for (char *t = strtok(line, "\t"); t != NULL && nf < MAX_FIELDS; t = strtok(NULL, "\t"))
		names[nf++] = strdup(t);
	while (n < MAX_ROWS && fgets(line, sizeof(line), f) != NULL) {
		char *rest = line;

		line[strcspn(line, "\n")] = '\0';
		vrow_init(&rows[n], 0);
		for (int c = 0; c < nf; c++) {
			char *v = strsep(&rest, "\t");
			int i;

			if (v == NULL)
				break;
			if (strcmp(v, "\\N") == 0 || (i = verdict_column(names[c])) < 0)
				continue;
			unescape(v);
			if (cols[i].type == VCOL_INT)
				vrow_set_int(&rows[n], names[c], atoll(v));
			else
				vrow_set_text(&rows[n], names[c], v);
		}
		n++;
	}
	fclose(f);
	for (int c = 0; c < nf; c++)
		free(names[c]);
	return n;
}

int
main(int argc, char **argv)
{
	struct vrow *rows, **batch;
	struct statsdb *db;
	char why[600];
	long nrows, k = 0;
	int batches, size, backend = -1;
	double b0 = 0, c0 = 0, t0 = 0;

	if (argc != 5 || (batches = atoi(argv[3])) < 0 || (size = atoi(argv[4])) < 1) {
		fprintf(stderr, "usage: statswrite TARGET ROWS BATCHES SIZE\n");
		return 2;
	}
	if ((rows = calloc(MAX_ROWS, sizeof(*rows))) == NULL ||
	    (batch = calloc((size_t)size, sizeof(*batch))) == NULL)
		return 1;
	if ((nrows = read_rows(argv[2], rows)) <= 0) {
		fprintf(stderr, "statswrite: no rows in %s\n", argv[2]);
		return 1;
	}
	if ((db = statsdb_open(argv[1], STATSDB_WRITE, why, sizeof(why))) == NULL) {
		fprintf(stderr, "statswrite: %s\n", why);
		return 1;
	}
	statsdb_set_host(db, "bench1");
	for (int b = 0; b <= batches; b++) {
		if (b == 1) { /* the first batch made the schema and the connection */
			PGconn *side = PQconnectdb(argv[1]);
			PGresult *r = PQexec(side,
			    "SELECT pid FROM pg_stat_activity"
			    " WHERE application_name = 'sendercheck' AND pid <> pg_backend_pid()");

			if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
				backend = atoi(PQgetvalue(r, 0, 0));
			PQclear(r);
			PQfinish(side);
			b0 = proc_cpu(backend);
			c0 = self_cpu();
			t0 = now();
		}
		for (int i = 0; i < size; i++) {
			batch[i] = &rows[k++ % nrows];
			batch[i]->time = (long long)time(NULL);
		}
		if (statsdb_insert(db, batch, (size_t)size, why, sizeof(why)) != 0) {
			fprintf(stderr, "statswrite: %s\n", why);
			return 1;
		}
	}
	if (batches > 0) {
		double msgs = (double)batches * size, b1 = proc_cpu(backend);

		printf("messages %.0f backend_ms %.5f writer_ms %.5f wall_ms %.5f\n", msgs,
		    backend > 0 && b0 >= 0 && b1 >= 0 ? (b1 - b0) * 1000 / msgs : -1.0,
		    (self_cpu() - c0) * 1000 / msgs, (now() - t0) * 1000 / msgs);
	}
	statsdb_close(db);
	free(batch);
	free(rows);
	return 0;
}
