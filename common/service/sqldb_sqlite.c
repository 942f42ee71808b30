/*
 * sqldb_sqlite: the SQLite driver of sqldb (a file; WAL with
 * synchronous=NORMAL when writable: a crash of the process loses no
 * committed transaction). A locked file is SQLDB_BUSY.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sqldb_impl.h"

struct lite {
	struct sqldb base;
	sqlite3 *h;
	int writable;
	int tx_rc;		/* the first failed step of the transaction */
};

struct lite_stmt {
	struct sqldb_stmt base;
	sqlite3_stmt *st;
};

static int
code(struct lite *l, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
		return SQLDB_DONE;
	case SQLITE_ROW:
		return SQLDB_ROW;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		sqldb_set_error(&l->base, "%s", sqlite3_errmsg(l->h));
		return SQLDB_BUSY;
	default:
		sqldb_set_error(&l->base, "%s", sqlite3_errmsg(l->h));
		return SQLDB_ERROR;
	}
}

static int
lite_exec(struct sqldb *db, const char *sql)
{
	struct lite *l = (struct lite *)db;
	char *err = NULL;
	int rc = sqlite3_exec(l->h, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK && err != NULL) {
		int c = code(l, rc);

		sqldb_set_error(db, "%s", err);
		sqlite3_free(err);
		return c;
	}
	return code(l, rc);
}

static int
lite_begin(struct sqldb *db, int tx)
{
	(void)tx;	/* a writer always takes the file's write lock at once */
	((struct lite *)db)->tx_rc = 0;
	return lite_exec(db, "BEGIN IMMEDIATE");
}

/* A transaction with a failed statement is rolled back, as PostgreSQL does. */
static int
lite_commit(struct sqldb *db)
{
	struct lite *l = (struct lite *)db;
	int rc = l->tx_rc ? l->tx_rc : lite_exec(db, "COMMIT");

	if (rc != 0)
		sqlite3_exec(l->h, "ROLLBACK", NULL, NULL, NULL);
	l->tx_rc = 0;
	return rc;
}

static void
lite_rollback(struct sqldb *db)
{
	sqlite3_exec(((struct lite *)db)->h, "ROLLBACK", NULL, NULL, NULL);
	((struct lite *)db)->tx_rc = 0;
}

static int
lite_prepare(struct sqldb *db, const char *sql, struct sqldb_stmt **out)
{
	struct lite *l = (struct lite *)db;
	struct lite_stmt *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL) {
		sqldb_set_error(db, "out of memory");
		return SQLDB_ERROR;
	}
	s->base.db = db;
	rc = sqlite3_prepare_v3(l->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL);
	if (rc != SQLITE_OK) {
		free(s);
		return code(l, rc) == SQLDB_BUSY ? SQLDB_BUSY : SQLDB_ERROR;
	}
	*out = &s->base;
	return 0;
}

static void
lite_bind(struct sqldb_stmt *st, int i, const char *text, long long v, int kind)
{
	sqlite3_stmt *s = ((struct lite_stmt *)st)->st;

	if (kind == SQLDB_BIND_TEXT)
		sqlite3_bind_text(s, i, text, -1, SQLITE_TRANSIENT);
	else if (kind == SQLDB_BIND_INT)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

static int
lite_step(struct sqldb_stmt *st)
{
	struct lite *l = (struct lite *)st->db;
	int rc = code(l, sqlite3_step(((struct lite_stmt *)st)->st));

	if (rc < 0 && l->tx_rc == 0 && !sqlite3_get_autocommit(l->h))
		l->tx_rc = rc;
	return rc;
}

static const char *
lite_col_text(struct sqldb_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(((struct lite_stmt *)st)->st, i);
}

static void
lite_reset(struct sqldb_stmt *st)
{
	sqlite3_reset(((struct lite_stmt *)st)->st);
	sqlite3_clear_bindings(((struct lite_stmt *)st)->st);
}

static void
lite_finalize(struct sqldb_stmt *st)
{
	sqlite3_finalize(((struct lite_stmt *)st)->st);
	free(st);
}

static long long
lite_changes(struct sqldb *db)
{
	return sqlite3_changes(((struct lite *)db)->h);
}

static long long
query_int(struct lite *l, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(l->h, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Counts on from the highest id: the batch holds the write lock (BEGIN
 * IMMEDIATE), so no other writer can take the same ones. */
static int
lite_new_ids(struct sqldb *db, const char *table, size_t n, long long *ids)
{
	struct lite *l = (struct lite *)db;
	sqlite3_stmt *st;
	char sql[128];
	long long top;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT coalesce(max(id), 0) FROM \"%s\"", table);
	if ((rc = sqlite3_prepare_v2(l->h, sql, -1, &st, NULL)) != SQLITE_OK)
		return code(l, rc);
	rc = sqlite3_step(st);
	top = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return code(l, rc);
	for (size_t i = 0; i < n; i++)
		ids[i] = top + 1 + (long long)i;
	return 0;
}

/* "version" is PRAGMA user_version, "application_id" PRAGMA application_id. */
static long long
lite_meta_get(struct sqldb *db, const char *key)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA %s", strcmp(key, "version") == 0 ? "user_version" : key);
	return query_int((struct lite *)db, sql);
}

static int
lite_meta_set(struct sqldb *db, const char *key, long long value)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "PRAGMA %s = %lld", strcmp(key, "version") == 0 ? "user_version" : key,
	    value);
	return lite_exec(db, sql);
}

static long long
lite_table_count(struct sqldb *db)
{
	return query_int((struct lite *)db, "SELECT count(*) FROM sqlite_master");
}

static int
lite_has_column(struct sqldb *db, const char *table, const char *column)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(((struct lite *)db)->h,
	    "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, column, -1, SQLITE_TRANSIENT);
	found = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	return found;
}

static int
lite_connected(const struct sqldb *db)
{
	(void)db;
	return 1;
}

static int
lite_backup(struct sqldb *db, const char *dest, char *why, size_t whylen)
{
	sqlite3 *to = NULL;
	sqlite3_backup *b;
	int fd, rc;

	/* never over an existing file: a backup must not destroy another */
	if ((fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0) {
		snprintf(why, whylen, "%s: %s", dest, strerror(errno));
		return -1;
	}
	close(fd);
	if (sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s: %s", dest, to ? sqlite3_errmsg(to) : "out of memory");
		sqlite3_close(to);
		return -1;
	}
	if ((b = sqlite3_backup_init(to, "main", ((struct lite *)db)->h, "main")) == NULL) {
		snprintf(why, whylen, "backup to %s: %s", dest, sqlite3_errmsg(to));
		sqlite3_close(to);
		return -1;
	}
	/* the whole file in one step: a consistent copy even while the daemon writes */
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(50);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(why, whylen, "backup to %s: %s", dest, sqlite3_errstr(rc));
		sqlite3_close(to);
		return -1;
	}
	rc = sqlite3_close(to);
	return rc == SQLITE_OK ? 0 : (snprintf(why, whylen, "closing %s: %s", dest, sqlite3_errstr(rc)), -1);
}

static void
lite_close(struct sqldb *db)
{
	struct lite *l = (struct lite *)db;

	/* a clean stop leaves everything in the file itself (the WAL empty), so
	 * that a copy of the file alone is complete */
	if (l->writable && l->h != NULL)
		sqlite3_wal_checkpoint_v2(l->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(l->h);
	free(db);
}

static const struct sqldb_ops lite_ops = {
	.close = lite_close, .exec = lite_exec, .begin = lite_begin, .commit = lite_commit,
	.rollback = lite_rollback, .prepare = lite_prepare, .bind = lite_bind, .step = lite_step,
	.col_text = lite_col_text, .reset = lite_reset, .finalize = lite_finalize,
	.changes = lite_changes, .new_ids = lite_new_ids, .meta_get = lite_meta_get, .meta_set = lite_meta_set,
	.table_count = lite_table_count, .has_column = lite_has_column, .connected = lite_connected,
	.backup = lite_backup,
};

struct sqldb *
sqldb_sqlite_open(const char *path, unsigned flags, char *why, size_t whylen)
{
	struct lite *l = calloc(1, sizeof(*l));
	int writable = (flags & SQLDB_OPEN_WRITE) != 0;

	if (l == NULL)
		return snprintf(why, whylen, "out of memory"), NULL;
	l->base.ops = &lite_ops;
	l->base.kind = SQLDB_SQLITE;
	l->writable = writable;
	if (sqlite3_open_v2(path, &l->h, (writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE :
	    SQLITE_OPEN_READONLY) | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s: %s", path, l->h ? sqlite3_errmsg(l->h) : "out of memory");
		lite_close(&l->base);
		return NULL;
	}
	sqlite3_extended_result_codes(l->h, 1);
	sqlite3_busy_timeout(l->h, 2000);
	/* WAL: readers never block the writer; NORMAL: a process crash loses
	 * no commit (only a power loss may lose the last ones) */
	if (writable && (lite_exec(&l->base, "PRAGMA journal_mode = WAL") != 0 ||
	    lite_exec(&l->base, "PRAGMA synchronous = NORMAL") != 0)) {
		snprintf(why, whylen, "%s: %s", path, l->base.err);
		lite_close(&l->base);
		return NULL;
	}
	return &l->base;
}
