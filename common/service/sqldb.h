/*
 * sqldb: the few SQL operations the statistics store needs, over SQLite (a
 * file) or PostgreSQL (libpq: any postgresql:// or postgres:// URI), so
 * that the store's schema, writes and reports are written once.
 *
 * SQL is written in SQLite's dialect with ?N parameters. The PostgreSQL
 * driver translates what differs (sqldb_translate): $N parameters, BIGINT
 * for INTEGER, BIGSERIAL for INTEGER PRIMARY KEY, no WITHOUT ROWID,
 * COLLATE "C" for COLLATE BINARY (order text by bytes in both, whatever
 * the database's locale). Write SQL that means the same in both
 * otherwise: count(*) FILTER (WHERE ...) rather than sum() of a
 * comparison, table-qualified columns in ON CONFLICT ... DO UPDATE, no
 * PRAGMA (sqldb_meta_get/set, sqldb_has_column instead).
 *
 * Transactions: sqldb_begin(db, SQLDB_TX_WRITE) takes the store's write
 * lock (SQLite BEGIN IMMEDIATE; PostgreSQL BEGIN and a transaction-scoped
 * advisory lock: schema changes by several daemons at once are done by
 * one, the others wait and then see them); SQLDB_TX_BATCH is a plain
 * transaction whose statements PostgreSQL pipelines (sent without waiting
 * for each reply; their errors come at sqldb_commit, sqldb_changes is not
 * known). A statement's step returns SQLDB_ROW, SQLDB_DONE, SQLDB_BUSY
 * (try again later: the file is locked, a deadlock or serialization
 * failure, the server is unreachable; nothing was committed) or
 * SQLDB_ERROR (sqldb_errmsg says why).
 *
 * PostgreSQL: every wait for the server is bounded (SQLDB_PG_TIMEOUT_MS, a
 * hung server included); a lost connection is opened again at the next
 * sqldb_begin, at most once a second, and prepared statements are made
 * again on the new one. A password in the URI is refused
 * (sqldb_check_target): it belongs in a password file (passfile= or
 * PGPASSFILE). Messages name the URI as given, so never a password.
 */
#ifndef SC_SQLDB_H
#define SC_SQLDB_H

#include <stddef.h>

enum sqldb_kind { SQLDB_SQLITE, SQLDB_POSTGRESQL };

#define SQLDB_ROW 1
#define SQLDB_DONE 0
#define SQLDB_ERROR (-1)
#define SQLDB_BUSY (-2)

#define SQLDB_TX_WRITE 1	/* the store's write lock: schema changes, pruning */
#define SQLDB_TX_BATCH 2	/* pipelined inserts and upserts */

#define SQLDB_PG_TIMEOUT_MS 5000
/* At most this many parameters in one statement (SQLite's default limit;
 * PostgreSQL's is 65535). */
#define SQLDB_MAX_PARAMS 32766

struct sqldb;
struct sqldb_stmt;

/* Whether target is a PostgreSQL URI (else: an SQLite file path). */
int sqldb_is_uri(const char *target);
/* Checks a StatsDB value without connecting: 0, or -1 with a reason. */
int sqldb_check_target(const char *target, char *why, size_t whylen);
/* Whether this build has the driver target needs (configure found its
 * library): 0, or -1 with the reason opening it would give. */
int sqldb_driver_built(const char *target, char *why, size_t whylen);

/*
 * Opens target. NULL with a reason on failure; *unreachable (may be NULL)
 * is set when a PostgreSQL server could not be reached at all (down, not
 * listening, hung), as opposed to one that refused us (password, role,
 * database): the first is an outage, the second a configuration error.
 * With SQLDB_OPEN_LATER an unreachable server still gives a handle (and
 * *unreachable set, why filled): it connects at a later sqldb_begin.
 * Without SQLDB_OPEN_WRITE a PostgreSQL session is read-only.
 */
#define SQLDB_OPEN_WRITE 1
#define SQLDB_OPEN_LATER 2
struct sqldb *sqldb_open(const char *target, unsigned flags, int *unreachable,
    char *why, size_t whylen);
void sqldb_close(struct sqldb *db);
enum sqldb_kind sqldb_kind(const struct sqldb *db);
const char *sqldb_target(const struct sqldb *db);
const char *sqldb_errmsg(struct sqldb *db);
/* Whether there is a connection now (SQLite: always). */
int sqldb_connected(const struct sqldb *db);

/* A statement without parameters or rows. 0, SQLDB_BUSY or SQLDB_ERROR. */
int sqldb_exec(struct sqldb *db, const char *sql);
int sqldb_begin(struct sqldb *db, int tx);
int sqldb_commit(struct sqldb *db);
void sqldb_rollback(struct sqldb *db);

int sqldb_prepare(struct sqldb *db, const char *sql, struct sqldb_stmt **st);
/* Parameters are numbered from 1; a text is copied. NULL text binds NULL. */
void sqldb_bind_text(struct sqldb_stmt *st, int i, const char *s);
void sqldb_bind_int(struct sqldb_stmt *st, int i, long long v);
void sqldb_bind_null(struct sqldb_stmt *st, int i);
int sqldb_step(struct sqldb_stmt *st);
/* Columns of the current row, numbered from 0: NULL text for SQL NULL. */
const char *sqldb_col_text(struct sqldb_stmt *st, int i);
long long sqldb_col_int(struct sqldb_stmt *st, int i);
int sqldb_col_null(struct sqldb_stmt *st, int i);
/* Ready to run again (bindings cleared). */
void sqldb_reset(struct sqldb_stmt *st);
void sqldb_finalize(struct sqldb_stmt *st);
/* Rows changed by the last statement run outside a batch. */
long long sqldb_changes(struct sqldb *db);

/*
 * n new values of table's id (its INTEGER PRIMARY KEY) into ids, for rows
 * inserted with explicit ids (so that other rows of the same batch can
 * name them). The first statement of a SQLDB_TX_BATCH transaction:
 * PostgreSQL draws them from the column's sequence in blocks, a value per
 * block, in one round trip: a value v stands for the ids v up to v + the
 * sequence's increment - 1 (the store sets the increment; it may be raised,
 * never lowered, or a block given out would be drawn again); other
 * sessions draw theirs meanwhile: ascending, not always consecutive, never
 * given twice. SQLite counts on from the highest id (the transaction holds
 * the file's write lock). 0 or an sqldb code.
 */
int sqldb_new_ids(struct sqldb *db, const char *table, size_t n, long long *ids);

/*
 * Many rows into one table, the cheapest way the driver has: PostgreSQL
 * COPY ... FROM STDIN in its text form (the rows written into one buffer,
 * sent at sqldb_copy_flush as one command: no statement to parse or plan,
 * no parameter array to fill, and the server inserts them in bulk);
 * SQLite a prepared one-row INSERT run per row (in process, nothing to
 * parse either). Made once (sqldb_copy_new), used for batch after batch.
 * Fields go in the order of cols, each row ended by sqldb_copy_row; rows
 * go in a SQLDB_TX_BATCH transaction (PostgreSQL reads what its pipeline
 * holds, leaves it for the COPY and enters it again). sqldb_copy_flush
 * returns 0 or an sqldb code (the first error of the rows since the last
 * flush, or the command's) and makes the copy ready for the next rows.
 */
struct sqldb_copy;
int sqldb_copy_new(struct sqldb *db, const char *table, const char *const *cols, int ncols,
    struct sqldb_copy **out);
/* A text field (copied); NULL text is SQL NULL. */
void sqldb_copy_text(struct sqldb_copy *c, const char *s);
void sqldb_copy_int(struct sqldb_copy *c, long long v);
void sqldb_copy_null(struct sqldb_copy *c);
void sqldb_copy_row(struct sqldb_copy *c);
int sqldb_copy_flush(struct sqldb_copy *c);
void sqldb_copy_free(struct sqldb_copy *c);

/* A consistent copy of the whole store into the new file dest (SQLite's
 * online backup, safe while others write; an existing dest is refused).
 * PostgreSQL: -1, pg_dump is the tool. */
int sqldb_backup(struct sqldb *db, const char *dest, char *why, size_t whylen);

/* The store's own key/value facts (schema version, application id): SQLite
 * PRAGMA user_version / application_id, PostgreSQL a sendercheck_meta
 * table. get: the value, 0 when unset, -1 on error. */
long long sqldb_meta_get(struct sqldb *db, const char *key);
int sqldb_meta_set(struct sqldb *db, const char *key, long long value);
/* Tables in the store (the driver's own meta table not counted); -1 on error. */
long long sqldb_table_count(struct sqldb *db);
int sqldb_has_column(struct sqldb *db, const char *table, const char *column);

/* The PostgreSQL form of SQLite-dialect SQL (see above), malloc'd; NULL
 * when out of memory. Exposed for the unit tests. */
char *sqldb_translate(const char *sql);

/* Round trips of the PostgreSQL driver (all connections), for the metrics. */
struct histo *sqldb_pg_latency(void);

#endif
