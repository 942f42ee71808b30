/*
 * sqldb_impl: what a sqldb driver provides; only sqldb.c and the drivers
 * (sqldb_sqlite.c, sqldb_pg.c) include this. A driver's connection and
 * statement structs begin with struct sqldb / struct sqldb_stmt.
 */
#ifndef SC_SQLDB_IMPL_H
#define SC_SQLDB_IMPL_H

#include "sqldb.h"

struct sqldb_ops {
	void (*close)(struct sqldb *db);
	int (*exec)(struct sqldb *db, const char *sql);
	int (*begin)(struct sqldb *db, int tx);
	int (*commit)(struct sqldb *db);
	void (*rollback)(struct sqldb *db);
	int (*prepare)(struct sqldb *db, const char *sql, struct sqldb_stmt **st);
	void (*bind)(struct sqldb_stmt *st, int i, const char *text, long long v, int kind);
	int (*step)(struct sqldb_stmt *st);
	const char *(*col_text)(struct sqldb_stmt *st, int i);
	void (*reset)(struct sqldb_stmt *st);
	void (*finalize)(struct sqldb_stmt *st);
	long long (*changes)(struct sqldb *db);
	int (*new_ids)(struct sqldb *db, const char *table, size_t n, long long *ids);
	long long (*meta_get)(struct sqldb *db, const char *key);
	int (*meta_set)(struct sqldb *db, const char *key, long long value);
	long long (*table_count)(struct sqldb *db);
	int (*has_column)(struct sqldb *db, const char *table, const char *column);
	int (*connected)(const struct sqldb *db);
	int (*backup)(struct sqldb *db, const char *dest, char *why, size_t whylen);
	/* COPY sql (... FROM STDIN) with len octets of rows in COPY's text
	 * form; NULL: the driver has none (rows go as one-row INSERTs) */
	int (*copy)(struct sqldb *db, const char *sql, const char *data, size_t len);
};

/* bind kinds */
#define SQLDB_BIND_NULL 0
#define SQLDB_BIND_TEXT 1
#define SQLDB_BIND_INT 2

struct sqldb {
	const struct sqldb_ops *ops;
	enum sqldb_kind kind;
	char *target;
	char err[512];
};

struct sqldb_stmt {
	struct sqldb *db;
};

/* The error text of db (printf-style, truncated). */
void sqldb_set_error(struct sqldb *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct sqldb *sqldb_sqlite_open(const char *path, unsigned flags, char *why, size_t whylen);
struct sqldb *sqldb_pg_open(const char *uri, unsigned flags, int *unreachable, char *why, size_t whylen);

#endif
