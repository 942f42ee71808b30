/*
 * sqldb_pg: the PostgreSQL driver of sqldb (libpq); see sqldb.h.
 *
 * The connection is non-blocking and every wait for the server goes
 * through poll() with a deadline (SQLDB_PG_TIMEOUT_MS): a server that hangs
 * costs a timeout, never a stuck writer. A connection that fails or times
 * out is closed; the next sqldb_begin opens a new one (at most once a
 * second) and statements are prepared again on it (each remembers the
 * connection generation it was prepared on). Statements are prepared with
 * parameter types left to the server; a parameter it cannot type (a bare
 * "$1 IS NULL") is typed text on a second try. In a SQLDB_TX_BATCH
 * transaction statements are pipelined: sent without waiting, their
 * results read at every PIPE_CHUNK statements and at commit. Bulk rows
 * (sqldb_copy) go as COPY ... FROM STDIN, outside the pipeline.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "histo.h"
#include "sqldb_impl.h"

#define PIPE_CHUNK 256
#define COPY_CHUNK 65536	/* octets of COPY rows handed to libpq at a time */
#define RECONNECT_MS 1000
#define CONNECT_TIMEOUT "5"
#define TEXT_OID 25
#define ADVISORY_KEY "1396919089"	/* 0x53434b31, "SCK1" */

static struct histo pg_rtt;

struct histo *
sqldb_pg_latency(void)
{
	return &pg_rtt;
}

struct pg_stmt;

struct item {			/* one statement sent in a pipeline, its result not read */
	struct pg_stmt *st;	/* NULL for COMMIT */
	int prepare;		/* the Parse of st, not its execution */
};

struct pg {
	struct sqldb base;
	PGconn *conn;
	int writable;
	unsigned gen;		/* connection generation */
	unsigned next_name;
	int batch;		/* in a pipelined transaction */
	struct item *queue;
	size_t nq, capq;
	int batch_rc;		/* the first error of the pipeline */
	long long changes;
	long long last_try_us;
	size_t id_block; /* ids a value of the id sequence stood for (0: not seen) */
};

struct pg_stmt {
	struct sqldb_stmt base;
	char *sql;		/* in PostgreSQL's dialect */
	char name[24];
	unsigned gen;		/* prepared on this connection generation; 0: not */
	int n;			/* parameters bound (highest index) */
	int cap;
	char **val;
	Oid *type;		/* at prepare: 0 (the server's choice) or text */
	PGresult *res;
	int row;
};

/* ---- the connection ---- */

static void
drop_conn(struct pg *p)
{
	if (p->conn != NULL)
		PQfinish(p->conn);
	p->conn = NULL;
	p->batch = 0;
	p->nq = 0;
	p->gen++;
}

/*
 * Why the server said no, and whether to try again later. Only an error
 * the server reported for the statement (it carries an SQLSTATE) can be a
 * hard error; one libpq made itself (nothing sent, the link broken or out
 * of step, whatever the connection's status says yet) is the server away:
 * the connection is dropped and the batch tried again on a new one.
 */
static int
result_code(struct pg *p, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorMessage(r) : NULL;

	sqldb_set_error(&p->base, "%s", msg && *msg ? msg : PQerrorMessage(p->conn));
	if (p->conn == NULL || PQstatus(p->conn) == CONNECTION_BAD || state == NULL) {
		drop_conn(p);
		return SQLDB_BUSY;
	}
	if (state != NULL && (strncmp(state, "08", 2) == 0 || strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 || strncmp(state, "57P", 3) == 0 ||
	    strcmp(state, "53300") == 0))
		return SQLDB_BUSY;
	return SQLDB_ERROR;
}

/* Waits until the socket is ready or the deadline passes. 0, or -1 (timeout, error). */
static int
wait_socket(struct pg *p, short events, long long deadline)
{
	struct pollfd pfd = { .fd = PQsocket(p->conn), .events = events };
	long long left = deadline - histo_now_us();
	int rc;

	if (pfd.fd < 0)
		return -1;
	if (left <= 0)
		return -1;
	do
		rc = poll(&pfd, 1, (int)((left + 999) / 1000));
	while (rc < 0 && errno == EINTR);
	return rc > 0 ? 0 : -1;
}

/* Sends what libpq holds. 0, or -1 with the connection dropped. */
static int
flush_out(struct pg *p, long long deadline)
{
	int rc;

	while ((rc = PQflush(p->conn)) == 1) {
		if (wait_socket(p, POLLOUT | POLLIN, deadline) < 0) {
			sqldb_set_error(&p->base, "no answer from the server within %d ms", SQLDB_PG_TIMEOUT_MS);
			drop_conn(p);
			return -1;
		}
		if (!PQconsumeInput(p->conn))
			break;
	}
	if (rc != 0) {
		sqldb_set_error(&p->base, "%s", PQerrorMessage(p->conn));
		drop_conn(p);
		return -1;
	}
	return 0;
}

/*
 * The next result, waiting at most until deadline. NULL: the end of a
 * command's results, or (with *lost set) a timeout or a broken link.
 */
static PGresult *
next_result(struct pg *p, long long deadline, int *lost)
{
	*lost = 0;
	while (PQisBusy(p->conn)) {
		if (wait_socket(p, POLLIN, deadline) < 0) {
			sqldb_set_error(&p->base, "no answer from the server within %d ms", SQLDB_PG_TIMEOUT_MS);
			drop_conn(p);
			*lost = 1;
			return NULL;
		}
		if (!PQconsumeInput(p->conn)) {
			sqldb_set_error(&p->base, "%s", PQerrorMessage(p->conn));
			drop_conn(p);
			*lost = 1;
			return NULL;
		}
	}
	return PQgetResult(p->conn);
}

/* The first result of a COPY command: its COPY_IN state, or its error. */
static PGresult *
collect_copy_start(struct pg *p, long long deadline, int *lost)
{
	*lost = 0;
	if (flush_out(p, deadline) < 0) {
		*lost = 1;
		return NULL;
	}
	return next_result(p, deadline, lost);
}

/* The rows of a COPY and its end, sent within the deadline: 0 or an sqldb code. */
static int
copy_send(struct pg *p, const char *data, size_t len, long long deadline)
{
	size_t off = 0;
	int k;

	while (off < len) {
		size_t n = len - off < COPY_CHUNK ? len - off : COPY_CHUNK;

		if ((k = PQputCopyData(p->conn, data + off, (int)n)) == 1)
			off += n;
		else if (k < 0 || flush_out(p, deadline) < 0)
			return k < 0 ? result_code(p, NULL) : SQLDB_BUSY;
	}
	while ((k = PQputCopyEnd(p->conn, NULL)) == 0)
		if (flush_out(p, deadline) < 0)
			return SQLDB_BUSY;
	if (k < 0)
		return result_code(p, NULL);
	return flush_out(p, deadline) < 0 ? SQLDB_BUSY : 0;
}

/*
 * Reads one command's results (outside a pipeline): the last one, or NULL
 * with *lost set when the link broke or timed out.
 */
static PGresult *
collect(struct pg *p, long long t0, int *lost)
{
	PGresult *last = NULL, *r;
	long long deadline = t0 + SQLDB_PG_TIMEOUT_MS * 1000LL;

	if (flush_out(p, deadline) < 0) {
		*lost = 1;
		return NULL;
	}
	while ((r = next_result(p, deadline, lost)) != NULL) {
		PQclear(last);
		last = r;
	}
	if (*lost) {
		PQclear(last);
		return NULL;
	}
	histo_add_us(&pg_rtt, (unsigned long)(histo_now_us() - t0));
	return last;
}

static int
ok_status(const PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);

	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
}

/* One statement without parameters, outside a pipeline. */
static int
run_simple(struct pg *p, const char *sql)
{
	long long t0 = histo_now_us();
	PGresult *r;
	int lost, rc;

	if (p->conn == NULL) {
		sqldb_set_error(&p->base, "not connected");
		return SQLDB_BUSY;
	}
	if (!PQsendQuery(p->conn, sql))
		return result_code(p, NULL);
	if ((r = collect(p, t0, &lost)) == NULL)
		return lost ? SQLDB_BUSY : 0;
	rc = ok_status(r) ? 0 : result_code(p, r);
	if (rc == 0 && PQcmdTuples(r)[0])
		p->changes = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return rc;
}

static int
connect_now(struct pg *p, int *unreachable)
{
	const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *vals[] = { CONNECT_TIMEOUT, "sendercheck", p->base.target ? p->base.target : "", NULL };
	long long t0 = histo_now_us();

	if (unreachable != NULL)
		*unreachable = 0;
	p->last_try_us = t0;
	p->conn = PQconnectdbParams(keys, vals, 1);
	if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK) {
		/* a server that answers refused us; one that does not is down */
		if (unreachable != NULL)
			*unreachable = PQpingParams(keys, vals, 1) != PQPING_OK;
		sqldb_set_error(&p->base, "%s", p->conn ? PQerrorMessage(p->conn) : "out of memory");
		drop_conn(p);
		return -1;
	}
	histo_add_us(&pg_rtt, (unsigned long)(histo_now_us() - t0));
	if (PQsetnonblocking(p->conn, 1) != 0 ||
	    run_simple(p, "SET client_min_messages = warning") != 0 ||
	    (!p->writable && run_simple(p, "SET default_transaction_read_only = on") != 0)) {
		sqldb_set_error(&p->base, "%s", PQerrorMessage(p->conn));
		drop_conn(p);
		return -1;
	}
	return 0;
}

/* A connection for new work: the one there is, or a new one at most once a second. */
static int
ensure_conn(struct pg *p)
{
	if (p->conn != NULL)
		return 0;
	if (histo_now_us() - p->last_try_us < RECONNECT_MS * 1000LL) {
		if (p->base.err[0] == '\0')
			sqldb_set_error(&p->base, "not connected");
		return SQLDB_BUSY;
	}
	return connect_now(p, NULL) == 0 ? 0 : SQLDB_BUSY;
}

/* ---- statements ---- */

static int
prepare_sync(struct pg *p, struct pg_stmt *s)
{
	for (int attempt = 0; attempt <= s->n; attempt++) {
		long long t0 = histo_now_us();
		PGresult *r;
		int lost, pos;
		const char *state;

		if (!PQsendPrepare(p->conn, s->name, s->sql, s->n, s->type))
			return result_code(p, NULL);
		if ((r = collect(p, t0, &lost)) == NULL)
			return SQLDB_BUSY;
		if (ok_status(r)) {
			PQclear(r);
			s->gen = p->gen;
			return 0;
		}
		/* "could not determine data type of parameter $N": make it text */
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state == NULL || (strcmp(state, "42P08") != 0 && strcmp(state, "42P18") != 0) ||
		    sscanf(PQresultErrorMessage(r), "%*[^$]$%d", &pos) != 1 || pos < 1 || pos > s->n ||
		    s->type[pos - 1] == TEXT_OID) {
			int rc = result_code(p, r);

			PQclear(r);
			return rc;
		}
		PQclear(r);
		s->type[pos - 1] = TEXT_OID;
	}
	return SQLDB_ERROR;
}

static int
grow_queue(struct pg *p)
{
	if (p->nq < p->capq)
		return 0;
	size_t cap = p->capq ? p->capq * 2 : 64;
	struct item *q = realloc(p->queue, cap * sizeof(*q));

	if (q == NULL)
		return -1;
	p->queue = q;
	p->capq = cap;
	return 0;
}

/*
 * Reads the results of everything sent in the pipeline, up to and
 * including a sync point. Notes the first error; a statement whose Parse
 * failed (or was skipped after an error) counts as not prepared.
 */
static int
drain(struct pg *p)
{
	long long t0 = histo_now_us(), deadline = t0 + SQLDB_PG_TIMEOUT_MS * 1000LL;
	PGresult *r;
	int lost;

	if (!PQpipelineSync(p->conn) || flush_out(p, deadline) < 0) {
		drop_conn(p);
		return p->batch_rc = SQLDB_BUSY;
	}
	for (size_t i = 0; i < p->nq; i++) {
		struct item *it = &p->queue[i];

		while ((r = next_result(p, deadline, &lost)) != NULL) {
			ExecStatusType s = PQresultStatus(r);

			if (!ok_status(r)) {
				/* a Parse that failed or was skipped: prepare again next time */
				if (it->prepare)
					it->st->gen = 0;
				if (s != PGRES_PIPELINE_ABORTED && p->batch_rc == 0)
					p->batch_rc = result_code(p, r);
			}
			PQclear(r);
		}
		if (lost)
			return p->batch_rc = SQLDB_BUSY;
	}
	p->nq = 0;
	/* the sync point */
	if ((r = next_result(p, deadline, &lost)) == NULL || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
		PQclear(r);
		if (!lost)
			drop_conn(p);
		sqldb_set_error(&p->base, "pipeline out of step with the server");
		return p->batch_rc = SQLDB_BUSY;
	}
	PQclear(r);
	histo_add_us(&pg_rtt, (unsigned long)(histo_now_us() - t0));
	return p->batch_rc;
}

/* Queues st's execution (and its Parse when needed) in the pipeline. */
static int
pipe_step(struct pg *p, struct pg_stmt *s)
{
	if (p->batch_rc != 0)
		return SQLDB_DONE;	/* the transaction is lost; commit says so */
	if (s->gen != p->gen) {
		if (grow_queue(p) < 0 || !PQsendPrepare(p->conn, s->name, s->sql, s->n, s->type)) {
			p->batch_rc = result_code(p, NULL);
			return SQLDB_DONE;
		}
		p->queue[p->nq++] = (struct item){ s, 1 };
		s->gen = p->gen;	/* undone by drain if the Parse fails */
	}
	if (grow_queue(p) < 0 ||
	    !PQsendQueryPrepared(p->conn, s->name, s->n, (const char *const *)s->val, NULL, NULL, 0)) {
		p->batch_rc = result_code(p, NULL);
		return SQLDB_DONE;
	}
	p->queue[p->nq++] = (struct item){ s, 0 };
	if (p->nq >= PIPE_CHUNK)
		drain(p);
	return SQLDB_DONE;
}

static int
pg_step(struct sqldb_stmt *st)
{
	struct pg_stmt *s = (struct pg_stmt *)st;
	struct pg *p = (struct pg *)st->db;
	long long t0;
	int lost, rc;

	if (s->res != NULL) {	/* rows of a query already run */
		if (++s->row < PQntuples(s->res))
			return SQLDB_ROW;
		return SQLDB_DONE;
	}
	if (p->conn == NULL) {
		if (p->base.err[0] == '\0')
			sqldb_set_error(&p->base, "not connected");
		return SQLDB_BUSY;
	}
	if (p->batch)
		return pipe_step(p, s);
	if (s->gen != p->gen && (rc = prepare_sync(p, s)) != 0)
		return rc;
	t0 = histo_now_us();
	if (!PQsendQueryPrepared(p->conn, s->name, s->n, (const char *const *)s->val, NULL, NULL, 0))
		return result_code(p, NULL);
	if ((s->res = collect(p, t0, &lost)) == NULL)
		return lost ? SQLDB_BUSY : SQLDB_DONE;
	if (!ok_status(s->res)) {
		rc = result_code(p, s->res);
		PQclear(s->res);
		s->res = NULL;
		return rc;
	}
	if (PQcmdTuples(s->res)[0])
		p->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
	s->row = 0;
	return PQntuples(s->res) > 0 ? SQLDB_ROW : SQLDB_DONE;
}

static const char *
pg_col_text(struct sqldb_stmt *st, int i)
{
	struct pg_stmt *s = (struct pg_stmt *)st;

	if (s->res == NULL || s->row >= PQntuples(s->res) || i >= PQnfields(s->res) ||
	    PQgetisnull(s->res, s->row, i))
		return NULL;
	return PQgetvalue(s->res, s->row, i);
}

static int
pg_prepare(struct sqldb *db, const char *sql, struct sqldb_stmt **out)
{
	struct pg *p = (struct pg *)db;
	struct pg_stmt *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->sql = sqldb_translate(sql)) == NULL) {
		free(s);
		sqldb_set_error(db, "out of memory");
		return SQLDB_ERROR;
	}
	s->base.db = db;
	snprintf(s->name, sizeof(s->name), "sc%u", ++p->next_name);
	*out = &s->base;
	return 0;
}

static void
pg_bind(struct sqldb_stmt *st, int i, const char *text, long long v, int kind)
{
	struct pg_stmt *s = (struct pg_stmt *)st;
	char num[24];

	if (i < 1 || i > SQLDB_MAX_PARAMS)
		return;
	if (i > s->cap) {
		int cap = i < 16 ? 16 : i * 2;
		char **val = realloc(s->val, (size_t)cap * sizeof(*val));
		Oid *type;

		if (val == NULL)
			return;
		s->val = val;
		if ((type = realloc(s->type, (size_t)cap * sizeof(*type))) == NULL)
			return;
		s->type = type;
		for (int k = s->cap; k < cap; k++) {
			s->val[k] = NULL;
			s->type[k] = 0;
		}
		s->cap = cap;
	}
	if (i > s->n)
		s->n = i;
	free(s->val[i - 1]);
	s->val[i - 1] = NULL;
	if (kind == SQLDB_BIND_TEXT)
		s->val[i - 1] = strdup(text);
	else if (kind == SQLDB_BIND_INT) {
		snprintf(num, sizeof(num), "%lld", v);
		s->val[i - 1] = strdup(num);
	}
}

static void
pg_reset(struct sqldb_stmt *st)
{
	struct pg_stmt *s = (struct pg_stmt *)st;

	PQclear(s->res);
	s->res = NULL;
	s->row = 0;
	for (int k = 0; k < s->n; k++) {
		free(s->val[k]);
		s->val[k] = NULL;
	}
}

static void
pg_finalize(struct sqldb_stmt *st)
{
	struct pg_stmt *s = (struct pg_stmt *)st;

	pg_reset(st);
	free(s->val);
	free(s->type);
	free(s->sql);
	free(s);
}

/* ---- transactions ---- */

static int
pg_exec(struct sqldb *db, const char *sql)
{
	struct pg *p = (struct pg *)db;
	char *t = sqldb_translate(sql);
	int rc;

	if (t == NULL) {
		sqldb_set_error(db, "out of memory");
		return SQLDB_ERROR;
	}
	rc = run_simple(p, t);
	free(t);
	return rc;
}

static int
pg_begin(struct sqldb *db, int tx)
{
	struct pg *p = (struct pg *)db;
	int rc;

	if ((rc = ensure_conn(p)) != 0)
		return rc;
	/*
	 * A batch of statistics does not wait for its WAL to reach the disk
	 * at commit: a server crash (not a clean stop, not a lost connection)
	 * may lose the batches of its last moments (at most three times
	 * wal_writer_delay, 0.6 s by default), never corrupt the store. Schema
	 * changes and pruning commit as the server is configured.
	 */
	if ((rc = run_simple(p, tx == SQLDB_TX_BATCH ? "BEGIN; SET LOCAL synchronous_commit = off" :
	    "BEGIN")) != 0)
		return rc;
	/* schema changes and pruning: one daemon at a time */
	if (tx == SQLDB_TX_WRITE && (rc = run_simple(p, "SELECT pg_advisory_xact_lock(" ADVISORY_KEY ")")) != 0) {
		run_simple(p, "ROLLBACK");
		return rc;
	}
	if (tx == SQLDB_TX_BATCH) {
		if (!PQenterPipelineMode(p->conn)) {
			rc = result_code(p, NULL);
			run_simple(p, "ROLLBACK");
			return rc;
		}
		p->batch = 1;
		p->batch_rc = 0;
		p->nq = 0;
	}
	return 0;
}

/* Leaves the pipeline after its last sync point. */
static void
end_pipeline(struct pg *p)
{
	if (p->conn != NULL && p->batch && !PQexitPipelineMode(p->conn))
		drop_conn(p);
	p->batch = 0;
	p->nq = 0;
}

static int
pg_commit(struct sqldb *db)
{
	struct pg *p = (struct pg *)db;
	int rc;

	if (!p->batch)
		return run_simple(p, "COMMIT");
	if (p->batch_rc == 0 && p->conn != NULL) {
		if (grow_queue(p) < 0 || !PQsendQueryParams(p->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
			p->batch_rc = result_code(p, NULL);
		else
			p->queue[p->nq++] = (struct item){ NULL, 0 };
	}
	if (p->conn != NULL && p->nq > 0)
		drain(p);
	rc = p->batch_rc;
	end_pipeline(p);
	if (rc != 0 && p->conn != NULL)
		run_simple(p, "ROLLBACK");
	return rc;
}

static void
pg_rollback(struct sqldb *db)
{
	struct pg *p = (struct pg *)db;

	if (p->batch && p->conn != NULL)
		drain(p);
	end_pipeline(p);
	if (p->conn != NULL)
		run_simple(p, "ROLLBACK");
}

static long long
pg_changes(struct sqldb *db)
{
	return ((struct pg *)db)->changes;
}

/*
 * The ids come in blocks: each value drawn from the id sequence is the
 * first of a block of as many ids as the sequence's increment (the store's
 * schema sets it, statsdb), which no other draw overlaps. A batch draws
 * one value per block it needs, in one round trip before its first
 * statement (the pipeline is left for it, nothing being queued yet, and
 * entered again); the increment comes with each value, so a block size
 * remembered from an earlier batch only guesses how many to draw (an
 * increment of 1 draws a value a row, as before blocks).
 */
static const char sql_draw_ids[] =
    "SELECT nextval(q.s), (SELECT seqincrement FROM pg_sequence WHERE seqrelid = q.s)"
    " FROM (SELECT pg_get_serial_sequence($1::text, 'id')::regclass AS s) q,"
    " generate_series(1, $2::integer)";

static int
draw_ids(struct pg *p, const char *table, size_t n, long long *ids, size_t *got)
{
	char num[24];
	const char *params[2] = { table, num };
	size_t block = p->id_block > 0 ? p->id_block : n;
	long long t0 = histo_now_us();
	PGresult *r;
	int lost, rc = 0;

	snprintf(num, sizeof(num), "%zu", (n - *got + block - 1) / block);
	if (!PQsendQueryParams(p->conn, sql_draw_ids, 2, NULL, params, NULL, NULL, 0))
		return result_code(p, NULL);
	if ((r = collect(p, t0, &lost)) == NULL)
		return SQLDB_BUSY;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = result_code(p, r);
	else if (PQntuples(r) < 1) {
		sqldb_set_error(&p->base, "no id drawn");
		rc = SQLDB_ERROR;
	}
	for (int i = 0; rc == 0 && i < PQntuples(r) && *got < n; i++) {
		long long v = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		long long inc = strtoll(PQgetvalue(r, i, 1), NULL, 10);

		if (inc < 1) {
			sqldb_set_error(&p->base, "the id sequence of %s steps by %lld", table,
			    inc);
			rc = SQLDB_ERROR;
			break;
		}
		p->id_block = (size_t)inc;
		for (long long k = 0; k < inc && *got < n; k++)
			ids[(*got)++] = v + k;
	}
	PQclear(r);
	return rc;
}

static int
pg_new_ids(struct sqldb *db, const char *table, size_t n, long long *ids)
{
	struct pg *p = (struct pg *)db;
	int rc = 0, pipe = p->batch;
	size_t got = 0;

	if (p->conn == NULL) {
		sqldb_set_error(db, "not connected");
		return SQLDB_BUSY;
	}
	if (pipe && p->nq > 0) {
		sqldb_set_error(db, "ids drawn after the batch's first statement");
		return SQLDB_ERROR;
	}
	if (pipe && !PQexitPipelineMode(p->conn))	/* a result came that nobody asked for */
		return result_code(p, NULL);
	while (rc == 0 && got < n && p->conn != NULL)
		rc = draw_ids(p, table, n, ids, &got);
	if (rc == 0 && got < n)
		rc = SQLDB_BUSY; /* the connection went */
	if (pipe && p->conn != NULL && !PQenterPipelineMode(p->conn)) {
		p->batch = 0;
		rc = rc ? rc : result_code(p, NULL);
	}
	return rc;
}

/*
 * COPY ... FROM STDIN with rows in its text form. COPY cannot run in a
 * pipeline: what was queued is read first (a sync point inside the
 * transaction), the pipeline is left for the COPY and entered again.
 */
static int
pg_copy(struct sqldb *db, const char *sql, const char *data, size_t len)
{
	struct pg *p = (struct pg *)db;
	long long t0 = histo_now_us(), deadline = t0 + SQLDB_PG_TIMEOUT_MS * 1000LL;
	PGresult *r;
	int lost = 0, rc = 0, pipe = p->batch;

	if (p->conn == NULL) {
		sqldb_set_error(db, "not connected");
		return SQLDB_BUSY;
	}
	if (pipe) {
		if (p->batch_rc == 0 && p->nq > 0)
			drain(p);
		if (p->batch_rc != 0)
			return p->batch_rc;
		if (!PQexitPipelineMode(p->conn))
			return p->batch_rc = result_code(p, NULL);
	}
	if (!PQsendQuery(p->conn, sql))
		rc = result_code(p, NULL);
	else if ((r = collect_copy_start(p, deadline, &lost)) == NULL)
		rc = lost ? SQLDB_BUSY : result_code(p, NULL);
	else if (PQresultStatus(r) != PGRES_COPY_IN) {
		rc = result_code(p, r);
		PQclear(r);
		while (!lost && (r = next_result(p, deadline, &lost)) != NULL)
			PQclear(r);
	} else {
		PQclear(r);
		rc = copy_send(p, data, len, deadline);
		while (p->conn != NULL && (r = next_result(p, deadline, &lost)) != NULL) {
			if (PQresultStatus(r) == PGRES_COPY_IN) {
				/* the end was not sent: libpq would answer COPY_IN for ever */
				PQclear(r);
				sqldb_set_error(db, "COPY out of step with the server");
				drop_conn(p);
				rc = SQLDB_BUSY;
				break;
			}
			if (!ok_status(r) && rc == 0)
				rc = result_code(p, r);
			PQclear(r);
		}
		if (lost)
			rc = SQLDB_BUSY;
		else if (rc == 0)
			histo_add_us(&pg_rtt, (unsigned long)(histo_now_us() - t0));
	}
	if (pipe && p->conn != NULL && !PQenterPipelineMode(p->conn)) {
		p->batch = 0;
		rc = rc ? rc : result_code(p, NULL);
	}
	if (pipe && rc != 0 && p->batch)
		p->batch_rc = rc;
	return rc;
}

/* ---- the store's facts ---- */

static long long
query_int(struct pg *p, const char *sql, const char *a, const char *b)
{
	const char *params[2] = { a, b };
	long long t0 = histo_now_us(), v = -1;
	PGresult *r;
	int lost;

	if (p->conn == NULL && ensure_conn(p) != 0)
		return -1;
	if (!PQsendQueryParams(p->conn, sql, b ? 2 : a ? 1 : 0, NULL, params, NULL, NULL, 0))
		return result_code(p, NULL), -1;
	if ((r = collect(p, t0, &lost)) == NULL)
		return -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		v = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	else
		result_code(p, r);
	PQclear(r);
	return v;
}

static long long
pg_meta_get(struct sqldb *db, const char *key)
{
	struct pg *p = (struct pg *)db;
	long long exists = query_int(p, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
	    " AND tablename = 'sendercheck_meta'", NULL, NULL);

	if (exists <= 0)
		return exists;
	return query_int(p, "SELECT value FROM sendercheck_meta WHERE key = $1", key, NULL);
}

static int
pg_meta_set(struct sqldb *db, const char *key, long long value)
{
	struct pg *p = (struct pg *)db;
	char num[24];
	const char *params[2] = { key, num };
	long long t0;
	PGresult *r;
	int lost, rc;

	if ((rc = run_simple(p, "CREATE TABLE IF NOT EXISTS sendercheck_meta"
	    " (key TEXT PRIMARY KEY, value BIGINT NOT NULL)")) != 0)
		return rc;
	snprintf(num, sizeof(num), "%lld", value);
	t0 = histo_now_us();
	if (!PQsendQueryParams(p->conn, "INSERT INTO sendercheck_meta (key, value) VALUES ($1, $2)"
	    " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", 2, NULL, params, NULL, NULL, 0))
		return result_code(p, NULL);
	if ((r = collect(p, t0, &lost)) == NULL)
		return SQLDB_BUSY;
	rc = ok_status(r) ? 0 : result_code(p, r);
	PQclear(r);
	return rc;
}

static long long
pg_table_count(struct sqldb *db)
{
	return query_int((struct pg *)db, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
	    " AND tablename <> 'sendercheck_meta'", NULL, NULL);
}

static int
pg_has_column(struct sqldb *db, const char *table, const char *column)
{
	return query_int((struct pg *)db, "SELECT count(*) FROM information_schema.columns"
	    " WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
	    table, column) > 0;
}

static int
pg_connected(const struct sqldb *db)
{
	return ((const struct pg *)db)->conn != NULL;
}

static int
pg_backup(struct sqldb *db, const char *dest, char *why, size_t whylen)
{
	(void)dest;
	snprintf(why, whylen, "%s: a PostgreSQL store is copied with pg_dump, not here", db->target);
	return -1;
}

static void
pg_close(struct sqldb *db)
{
	struct pg *p = (struct pg *)db;

	drop_conn(p);
	free(p->queue);
	free(p);
}

static const struct sqldb_ops pg_ops = {
	.close = pg_close, .exec = pg_exec, .begin = pg_begin, .commit = pg_commit,
	.rollback = pg_rollback, .prepare = pg_prepare, .bind = pg_bind, .step = pg_step,
	.col_text = pg_col_text, .reset = pg_reset, .finalize = pg_finalize,
	.changes = pg_changes, .new_ids = pg_new_ids, .meta_get = pg_meta_get, .meta_set = pg_meta_set,
	.table_count = pg_table_count, .has_column = pg_has_column, .connected = pg_connected,
	.backup = pg_backup, .copy = pg_copy,
};

struct sqldb *
sqldb_pg_open(const char *uri, unsigned flags, int *unreachable, char *why, size_t whylen)
{
	struct pg *p = calloc(1, sizeof(*p));
	int down = 0;

	if (p == NULL)
		return snprintf(why, whylen, "out of memory"), NULL;
	p->base.ops = &pg_ops;
	p->base.kind = SQLDB_POSTGRESQL;
	p->base.target = (char *)uri;	/* until sqldb_open sets its own copy */
	p->writable = (flags & SQLDB_OPEN_WRITE) != 0;
	p->gen = 1;
	if (connect_now(p, &down) < 0) {
		snprintf(why, whylen, "%s: %s", uri, p->base.err);
		if (unreachable != NULL)
			*unreachable = down;
		if (!down || !(flags & SQLDB_OPEN_LATER)) {
			p->base.target = NULL;
			pg_close(&p->base);
			return NULL;
		}
	}
	p->base.target = NULL;
	return &p->base;
}
