/* Unit tests of sqldb: the dialect translation, the target check, and the
 * same SQL run through the SQLite driver (a temporary file) and, when
 * SC_TEST_PG_URI names a database (the fleet test group starts a real
 * PostgreSQL and sets it), through the PostgreSQL driver, whose server is
 * also made to go away at every point of a batch. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sqldb.h"

static void
test_translate(void **state)
{
	static const struct { const char *in, *out; } t[] = {
		{ "SELECT a FROM t WHERE b = ?1 AND c = ?12", "SELECT a FROM t WHERE b = $1 AND c = $12" },
		{ "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
		  "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, n BIGINT NOT NULL)" },
		{ "CREATE TABLE d (a TEXT, PRIMARY KEY (a)) WITHOUT ROWID;", "CREATE TABLE d (a TEXT, PRIMARY KEY (a));" },
		{ "SELECT a FROM t ORDER BY a COLLATE BINARY", "SELECT a FROM t ORDER BY a COLLATE \"C\"" },
		/* literals and quoted names stay as they are */
		{ "SELECT 'INTEGER ?1', \"INTEGER\" FROM t WHERE x = 'it''s ?2'",
		  "SELECT 'INTEGER ?1', \"INTEGER\" FROM t WHERE x = 'it''s ?2'" },
		/* only whole words */
		{ "SELECT INTEGERS, MYINTEGER FROM t", "SELECT INTEGERS, MYINTEGER FROM t" },
		{ "SELECT ? FROM t", "SELECT ? FROM t" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *out = sqldb_translate(t[i].in);

		assert_non_null(out);
		assert_string_equal(out, t[i].out);
		free(out);
	}
}

static void
test_check_target(void **state)
{
	char why[300];

	(void)state;
	assert_int_equal(sqldb_check_target("/var/lib/sendercheck/stats.db", why, sizeof(why)), 0);
	assert_int_equal(sqldb_check_target("postgresql://sc@db.example.net:5432/stats", why, sizeof(why)), 0);
	assert_int_equal(sqldb_check_target("postgres://sc@db/stats?passfile=/etc/sc/pgpass&sslmode=require",
	    why, sizeof(why)), 0);
	assert_int_equal(sqldb_check_target("postgresql://sc:secret@db/stats", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "password file"));
	assert_null(strstr(why, "secret"));
	assert_int_equal(sqldb_check_target("postgresql://sc@db/stats?password=secret", why, sizeof(why)), -1);
	assert_null(strstr(why, "secret"));
	assert_int_equal(sqldb_check_target("postgresql://db/stats?nosuchoption=1", why, sizeof(why)), -1);
	assert_int_equal(sqldb_check_target("mysql://db/stats", why, sizeof(why)), -1);
	assert_int_equal(sqldb_check_target("", why, sizeof(why)), -1);
}

/* 0 expected, or the driver's reason */
#define OK(db, call) do { int rc_ = (call); if (rc_ != 0) fail_msg("%s: %d %s", #call, rc_, sqldb_errmsg(db)); } while (0)

/* a step's result as expected, or the driver's reason */
#define STEP(db, st, want) do { int rc_ = sqldb_step(st); if (rc_ != (want)) \
	fail_msg("step: %d, want %d: %s", rc_, (want), sqldb_errmsg(db)); } while (0)

/* The same statements on either driver. */
static void
exercise(struct sqldb *db)
{
	struct sqldb_stmt *ins, *fail, *up, *q;
	int rc;

	assert_int_equal(sqldb_meta_get(db, "version"), 0);
	assert_int_equal(sqldb_table_count(db), 0);
	OK(db, sqldb_begin(db, SQLDB_TX_WRITE));
	assert_int_equal(sqldb_exec(db, "CREATE TABLE m (id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
	    " domain TEXT NOT NULL, note TEXT);"
	    "CREATE TABLE f (msg_id INTEGER NOT NULL, rule TEXT NOT NULL);"
	    "CREATE TABLE d (day TEXT NOT NULL, domain TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0,"
	    " PRIMARY KEY (day, domain)) WITHOUT ROWID"), 0);
	OK(db, sqldb_meta_set(db, "version", 7));
	OK(db, sqldb_commit(db));
	assert_int_equal(sqldb_meta_get(db, "version"), 7);
	assert_int_equal(sqldb_table_count(db), 3);
	assert_true(sqldb_has_column(db, "m", "note"));
	assert_false(sqldb_has_column(db, "m", "nothere"));

	/* a batch: rows, rows that point at them, upserts adding up */
	OK(db, sqldb_prepare(db, "INSERT INTO m (time, domain, note) VALUES (?1, ?2, ?3)", &ins));
	OK(db, sqldb_prepare(db, sqldb_kind(db) == SQLDB_POSTGRESQL ?
	    "INSERT INTO f (msg_id, rule) VALUES (currval(pg_get_serial_sequence('m', 'id')), ?1)" :
	    "INSERT INTO f (msg_id, rule) VALUES ((SELECT max(id) FROM m), ?1)", &fail));
	OK(db, sqldb_prepare(db, "INSERT INTO d (day, domain, n) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (day, domain) DO UPDATE SET n = d.n + ?3", &up));
	for (int round = 0; round < 2; round++) {
		OK(db, sqldb_begin(db, SQLDB_TX_BATCH));
		for (int i = 0; i < 300; i++) {
			sqldb_bind_int(ins, 1, 1000 + i);
			sqldb_bind_text(ins, 2, i % 3 ? "a.example" : "b.example");
			if (i % 2)
				sqldb_bind_text(ins, 3, "it's \"quoted\"");
			else
				sqldb_bind_null(ins, 3);
			STEP(db, ins, SQLDB_DONE);
			sqldb_reset(ins);
			if (i % 10 == 0) {
				sqldb_bind_text(fail, 1, "spf");
				STEP(db, fail, SQLDB_DONE);
				sqldb_reset(fail);
			}
		}
		sqldb_bind_text(up, 1, "2026-12-01");
		sqldb_bind_text(up, 2, "a.example");
		sqldb_bind_int(up, 3, 200);
		STEP(db, up, SQLDB_DONE);
		sqldb_reset(up);
		OK(db, sqldb_commit(db));
	}

	/* a failing batch commits nothing */
	OK(db, sqldb_begin(db, SQLDB_TX_BATCH));
	sqldb_bind_int(ins, 1, 5);
	sqldb_bind_text(ins, 2, "c.example");
	sqldb_step(ins);
	sqldb_reset(ins);
	sqldb_bind_int(ins, 1, 6);
	sqldb_bind_null(ins, 2);	/* NOT NULL */
	sqldb_step(ins);
	sqldb_reset(ins);
	rc = sqldb_commit(db);
	assert_int_equal(rc, SQLDB_ERROR);
	assert_true(sqldb_errmsg(db)[0] != '\0');

	/* reports: a NULL filter means all */
	OK(db, sqldb_prepare(db, "SELECT domain, count(*), count(*) FILTER (WHERE note IS NOT NULL),"
	    " min(time) FROM m WHERE time >= ?1 AND (?2 IS NULL OR domain = ?2) GROUP BY domain ORDER BY domain",
	    &q));
	sqldb_bind_int(q, 1, 0);
	sqldb_bind_null(q, 2);
	STEP(db, q, SQLDB_ROW);
	assert_string_equal(sqldb_col_text(q, 0), "a.example");
	assert_int_equal(sqldb_col_int(q, 1), 400);
	assert_int_equal(sqldb_col_int(q, 2), 200);
	STEP(db, q, SQLDB_ROW);
	assert_string_equal(sqldb_col_text(q, 0), "b.example");
	assert_int_equal(sqldb_col_int(q, 1), 200);
	STEP(db, q, SQLDB_DONE);
	sqldb_reset(q);
	sqldb_bind_int(q, 1, 0);
	sqldb_bind_text(q, 2, "c.example");
	STEP(db, q, SQLDB_DONE);
	sqldb_finalize(q);

	OK(db, sqldb_prepare(db, "SELECT count(*), count(DISTINCT msg_id), min(msg_id) FROM f", &q));
	STEP(db, q, SQLDB_ROW);
	assert_int_equal(sqldb_col_int(q, 0), 60);
	assert_int_equal(sqldb_col_int(q, 1), 60);
	assert_int_equal(sqldb_col_int(q, 2), 1);	/* the first row's id */
	sqldb_finalize(q);
	OK(db, sqldb_prepare(db, "SELECT n, note FROM d JOIN m ON m.id = 2", &q));
	STEP(db, q, SQLDB_ROW);
	assert_int_equal(sqldb_col_int(q, 0), 400);
	assert_string_equal(sqldb_col_text(q, 1), "it's \"quoted\"");
	sqldb_finalize(q);

	/* bulk rows (COPY on PostgreSQL), after a pipelined statement and
	 * before another; texts COPY must escape, NULLs, "", negative
	 * numbers, more rows than one chunk of the COPY data */
	{
		static const char *const cols[] = { "id", "t", "n", "x" };
		static const char *const texts[] = { "back\\slash \\N", "\ttab\there\\", "new\nline\r\n",
			"it's \"quoted\"", "", "plain" };
		struct sqldb_copy *c;

		OK(db, sqldb_exec(db, "CREATE TABLE c (id INTEGER NOT NULL, t TEXT, n INTEGER, x TEXT NOT NULL)"));
		OK(db, sqldb_copy_new(db, "c", cols, 4, &c));
		for (int round = 0; round < 2; round++) {
			OK(db, sqldb_begin(db, SQLDB_TX_BATCH));
			sqldb_bind_text(up, 1, "2026-12-02");
			sqldb_bind_text(up, 2, "c.example");
			sqldb_bind_int(up, 3, 1);
			STEP(db, up, SQLDB_DONE);
			sqldb_reset(up);
			for (int i = 0; i < 3000; i++) {
				sqldb_copy_int(c, round * 3000 + i);
				if (i % 7 == 0)
					sqldb_copy_null(c);
				else
					sqldb_copy_text(c, texts[i % 6]);
				sqldb_copy_int(c, i % 2 ? -(long long)i : 1LL << 40);
				sqldb_copy_text(c, "a fairly long text so that the rows pass one chunk of 64 KB");
				sqldb_copy_row(c);
			}
			OK(db, sqldb_copy_flush(c));
			sqldb_bind_text(up, 1, "2026-12-02");
			sqldb_bind_text(up, 2, "c.example");
			sqldb_bind_int(up, 3, 1);
			STEP(db, up, SQLDB_DONE);
			sqldb_reset(up);
			OK(db, sqldb_commit(db));
		}
		/* a row the table refuses: the batch commits nothing, the copy works on */
		OK(db, sqldb_begin(db, SQLDB_TX_BATCH));
		sqldb_copy_int(c, -1);
		sqldb_copy_text(c, "refused");
		sqldb_copy_int(c, 0);
		sqldb_copy_null(c);	/* NOT NULL */
		sqldb_copy_row(c);
		if (sqldb_copy_flush(c) == 0)
			assert_int_equal(sqldb_commit(db), SQLDB_ERROR);
		else
			sqldb_rollback(db);
		assert_true(sqldb_errmsg(db)[0] != '\0');
		OK(db, sqldb_begin(db, SQLDB_TX_BATCH));
		sqldb_copy_int(c, 6000);
		sqldb_copy_text(c, "after");
		sqldb_copy_int(c, 0);
		sqldb_copy_text(c, "");
		sqldb_copy_row(c);
		OK(db, sqldb_copy_flush(c));
		OK(db, sqldb_commit(db));
		sqldb_copy_free(c);

		OK(db, sqldb_prepare(db, "SELECT count(*), count(t), sum(n), min(id), max(id),"
		    " count(*) FILTER (WHERE t = ''), count(*) FILTER (WHERE x = '') FROM c", &q));
		STEP(db, q, SQLDB_ROW);
		assert_int_equal(sqldb_col_int(q, 0), 6001);
		assert_int_equal(sqldb_col_int(q, 1), 6001 - 2 * 429);
		/* per round: 1500 rows of 2^40, minus 1 + 3 + ... + 2999 */
		assert_int_equal(sqldb_col_int(q, 2), 2 * (1500 * (1LL << 40) - 1500LL * 1500));
		assert_int_equal(sqldb_col_int(q, 3), 0);
		assert_int_equal(sqldb_col_int(q, 4), 6000);
		assert_int_equal(sqldb_col_int(q, 5), 2 * 429);	/* "" stays "", not NULL */
		assert_int_equal(sqldb_col_int(q, 6), 1);
		sqldb_finalize(q);
		for (int k = 1; k <= 6; k++) {
			OK(db, sqldb_prepare(db, "SELECT t FROM c WHERE id = ?1", &q));
			sqldb_bind_int(q, 1, k + 3000);
			STEP(db, q, SQLDB_ROW);
			assert_string_equal(sqldb_col_text(q, 0), texts[k % 6]);
			sqldb_finalize(q);
		}
		OK(db, sqldb_prepare(db, "SELECT n FROM d WHERE day = '2026-12-02'", &q));
		STEP(db, q, SQLDB_ROW);
		assert_int_equal(sqldb_col_int(q, 0), 4);
		sqldb_finalize(q);
	}

	/* outside a batch: rows changed */
	OK(db, sqldb_begin(db, SQLDB_TX_WRITE));
	OK(db, sqldb_prepare(db, "DELETE FROM m WHERE time < ?1", &q));
	sqldb_bind_int(q, 1, 1010);
	STEP(db, q, SQLDB_DONE);
	assert_int_equal(sqldb_changes(db), 20);
	sqldb_finalize(q);
	OK(db, sqldb_commit(db));

	sqldb_finalize(ins);
	sqldb_finalize(fail);
	sqldb_finalize(up);
}

static void
test_sqlite(void **state)
{
	char path[64], why[300];
	struct sqldb *db;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/sc-sqldb-test-%ld.db", (long)getpid());
	unlink(path);
	db = sqldb_open(path, SQLDB_OPEN_WRITE, NULL, why, sizeof(why));
	assert_non_null(db);
	assert_int_equal(sqldb_kind(db), SQLDB_SQLITE);
	exercise(db);
	sqldb_close(db);
	unlink(path);
	snprintf(why, sizeof(why), "%s-wal", path);
	unlink(why);
	snprintf(why, sizeof(why), "%s-shm", path);
	unlink(why);
}

static void
test_postgresql(void **state)
{
	const char *uri = getenv("SC_TEST_PG_URI");
	char why[400];
	struct sqldb *db;
	int down = -1;

	(void)state;
	if (uri == NULL || uri[0] == '\0')
		skip();
	db = sqldb_open(uri, SQLDB_OPEN_WRITE, &down, why, sizeof(why));
	if (db == NULL)
		fail_msg("%s", why);
	assert_int_equal(down, 0);
	assert_int_equal(sqldb_kind(db), SQLDB_POSTGRESQL);
	exercise(db);
	sqldb_close(db);
}

/* The points of a batch at which the server goes away (its backend is
 * terminated from another session, as a fast shutdown or an admin does). */
enum away_point {
	AWAY_IDLE,		/* between batches: at the next BEGIN */
	AWAY_AFTER_BEGIN,	/* before the ids are drawn */
	AWAY_AFTER_IDS,		/* before the first statement */
	AWAY_IN_PIPELINE,	/* statements sent, their results not read */
	AWAY_AFTER_DRAIN,	/* after a pipeline chunk was read, more to come */
	AWAY_BEFORE_COPY,	/* statements queued, then a COPY */
	AWAY_AT_COMMIT,		/* everything sent, just before COMMIT */
	AWAY_POINTS
};

static void
terminate(struct sqldb *killer, long long pid)
{
	struct sqldb_stmt *st;

	OK(killer, sqldb_prepare(killer, "SELECT pg_terminate_backend(?1, 5000)", &st));
	sqldb_bind_int(st, 1, pid);
	STEP(killer, st, SQLDB_ROW);
	assert_string_equal(sqldb_col_text(st, 0), "t");
	sqldb_finalize(st);
}

/* One batch of n rows into table a (and two by COPY); the backend
 * terminated at point. Returns what the first failing call (or the
 * commit) said. */
static int
batch_away(struct sqldb *db, struct sqldb *killer, struct sqldb_stmt *ins, struct sqldb_copy *copy,
    int n, int point)
{
	struct sqldb_stmt *who;
	long long pid, ids[1];
	int rc;

	/* which backend serves db (a begin connects again if it must) */
	if ((rc = sqldb_begin(db, SQLDB_TX_WRITE)) != 0)
		return rc;
	OK(db, sqldb_prepare(db, "SELECT pg_backend_pid()", &who));
	STEP(db, who, SQLDB_ROW);
	pid = sqldb_col_int(who, 0);
	sqldb_finalize(who);
	OK(db, sqldb_commit(db));
	if (point == AWAY_IDLE)
		terminate(killer, pid);
	if ((rc = sqldb_begin(db, SQLDB_TX_BATCH)) != 0)
		return rc;
	if (point == AWAY_AFTER_BEGIN)
		terminate(killer, pid);
	if ((rc = sqldb_new_ids(db, "a", 1, ids)) != 0) {
		sqldb_rollback(db);
		return rc;
	}
	if (point == AWAY_AFTER_IDS)
		terminate(killer, pid);
	for (int i = 0; i < n; i++) {
		if ((point == AWAY_IN_PIPELINE && i == 3) || (point == AWAY_AFTER_DRAIN && i == n - 3))
			terminate(killer, pid);
		sqldb_bind_int(ins, 1, i);
		rc = sqldb_step(ins);
		sqldb_reset(ins);
		if (rc != SQLDB_DONE) {
			sqldb_rollback(db);
			return rc;
		}
	}
	if (point == AWAY_BEFORE_COPY)
		terminate(killer, pid);
	for (int i = 0; i < 2; i++) {
		sqldb_copy_int(copy, i);
		sqldb_copy_row(copy);
	}
	if ((rc = sqldb_copy_flush(copy)) != 0) {
		sqldb_rollback(db);
		return rc;
	}
	if (point == AWAY_AT_COMMIT)
		terminate(killer, pid);
	return sqldb_commit(db);
}

/* The server going away at any point of a batch is SQLDB_BUSY (try again:
 * nothing committed), never SQLDB_ERROR; the next batch on a new
 * connection is stored whole. */
static void
test_postgresql_server_away(void **state)
{
	const char *uri = getenv("SC_TEST_PG_URI");
	char why[400];
	struct sqldb *db, *killer;
	struct sqldb_stmt *ins, *count;
	struct sqldb_copy *copy;
	static const char *const cols[] = { "v" };
	const int n = 600;	/* more than one pipeline chunk */
	int rc;

	(void)state;
	if (uri == NULL || uri[0] == '\0')
		skip();
	db = sqldb_open(uri, SQLDB_OPEN_WRITE, NULL, why, sizeof(why));
	if (db == NULL)
		fail_msg("%s", why);
	killer = sqldb_open(uri, SQLDB_OPEN_WRITE, NULL, why, sizeof(why));
	if (killer == NULL)
		fail_msg("%s", why);
	OK(db, sqldb_exec(db, "CREATE TABLE a (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"));
	OK(db, sqldb_prepare(db, "INSERT INTO a (v) VALUES (?1)", &ins));
	OK(db, sqldb_prepare(db, "SELECT count(*) FROM a", &count));
	OK(db, sqldb_copy_new(db, "a", cols, 1, &copy));
	for (int point = 0; point < AWAY_POINTS; point++) {
		rc = batch_away(db, killer, ins, copy, n, point);
		if (rc != SQLDB_BUSY)
			fail_msg("the server away at point %d: %d (%s), want SQLDB_BUSY", point, rc,
			    sqldb_errmsg(db));
		/* a new connection (at most one try a second), the batch again */
		for (int tries = 0; (rc = batch_away(db, killer, ins, copy, n, AWAY_POINTS)) == SQLDB_BUSY &&
		    tries < 30; tries++)
			usleep(100 * 1000);
		if (rc != 0)
			fail_msg("after point %d: %d (%s)", point, rc, sqldb_errmsg(db));
		STEP(db, count, SQLDB_ROW);
		assert_int_equal(sqldb_col_int(count, 0), (long long)(n + 2) * (point + 1));
		sqldb_reset(count);
	}
	sqldb_finalize(ins);
	sqldb_finalize(count);
	sqldb_copy_free(copy);
	OK(db, sqldb_exec(db, "DROP TABLE a"));
	sqldb_close(killer);
	sqldb_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_translate),
		cmocka_unit_test(test_check_target),
		cmocka_unit_test(test_sqlite),
		cmocka_unit_test(test_postgresql),
		cmocka_unit_test(test_postgresql_server_away),
	};

	return cmocka_run_group_tests_name("sqldb", tests, NULL, NULL);
}
