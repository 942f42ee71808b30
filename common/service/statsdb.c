/*
 * statsdb: the statistics store on SQLite or PostgreSQL; see statsdb.h.
 * Every statement goes through sqldb, in SQLite's dialect.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "htable.h"
#include "log.h"
#include "sbuf.h"
#include "sqldb.h"
#include "statsdb.h"

/* The daily totals, in the order of the daily table's count columns. */
enum total { T_MESSAGES, T_SPF, T_DKIM, T_DMARC, T_ALIGNED, T_BULK, T_BULK_ONECLICK,
	T_PROFILES, T_ACTIONS = T_PROFILES + 2 * PROFILE_COUNT, T_COUNT = T_ACTIONS + ACT_COUNT };

/* The daily table's column per action (enum action order). */
static const char *const action_cols[ACT_COUNT] = {
	[ACT_ACCEPT] = "accepted", [ACT_REJECT] = "rejected", [ACT_TEMPFAIL] = "tempfailed",
	[ACT_QUARANTINE] = "quarantined",
};

struct statsdb {
	struct sqldb *sql;
	int writable;
	int ready;		/* schema checked (a server down at open: not yet) */
	struct sqldb_stmt *ins_batch, *seen_batch;
	/* the batch's totals, many rows to a statement */
	struct multi *daily, *daily_rules;
	/* the batch's messages, in bulk */
	struct sqldb_copy *messages;
	/* the row's columns the totals read (-1: none) */
	int c_from, c_spf, c_dkim_pass, c_dmarc, c_aligned, c_bulk, c_oneclick, c_action, c_skipped;
	int c_profile[PROFILE_COUNT], c_failed[PROFILE_COUNT];
	/* the totals as SQL over messages and over daily, in enum total order */
	char counts_messages[2048], counts_daily[2048];
	char host[256];		/* written on each row */
	char *filter_host;	/* reports: only this host's rows (NULL: all) */
	uint32_t run;		/* batch ids: HOST:RUN:SEQ */
	unsigned long long seq;
	int retry;		/* the last batch may have been committed: look first */
};

/* Version 1: messages, failures, daily, daily_rules. */
static const char schema_v1[] =
	"CREATE TABLE messages ("
	" id INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" day TEXT NOT NULL,"
	" domain TEXT NOT NULL,"
	" queue_id TEXT, client_ip TEXT, client_name TEXT, helo TEXT,"
	" mail_from_domain TEXT, from_domain TEXT,"
	" dkim TEXT, dkim_pass INTEGER, spf TEXT, dmarc TEXT, aligned INTEGER, iprev TEXT,"
	" tls TEXT, oneclick TEXT, bulk INTEGER,"
	" google TEXT, google_failed TEXT, yahoo TEXT, yahoo_failed TEXT,"
	" microsoft TEXT, microsoft_failed TEXT,"
	" action TEXT, cause TEXT, skipped INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX messages_time ON messages(time);"
	"CREATE INDEX messages_domain_time ON messages(domain, time);"
	"CREATE TABLE failures ("
	" msg_id INTEGER NOT NULL, time INTEGER NOT NULL, domain TEXT NOT NULL,"
	" profile TEXT NOT NULL, rule TEXT NOT NULL);"
	"CREATE INDEX failures_time ON failures(time);"
	"CREATE INDEX failures_msg ON failures(msg_id);"
	"CREATE TABLE daily ("
	" day TEXT NOT NULL, domain TEXT NOT NULL,"
	" messages INTEGER NOT NULL DEFAULT 0, spf_pass INTEGER NOT NULL DEFAULT 0,"
	" dkim_pass INTEGER NOT NULL DEFAULT 0, dmarc_pass INTEGER NOT NULL DEFAULT 0,"
	" aligned INTEGER NOT NULL DEFAULT 0, bulk INTEGER NOT NULL DEFAULT 0,"
	" bulk_oneclick INTEGER NOT NULL DEFAULT 0,"
	" google_n INTEGER NOT NULL DEFAULT 0, google_pass INTEGER NOT NULL DEFAULT 0,"
	" yahoo_n INTEGER NOT NULL DEFAULT 0, yahoo_pass INTEGER NOT NULL DEFAULT 0,"
	" microsoft_n INTEGER NOT NULL DEFAULT 0, microsoft_pass INTEGER NOT NULL DEFAULT 0,"
	" accepted INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,"
	" tempfailed INTEGER NOT NULL DEFAULT 0, quarantined INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (day, domain)) WITHOUT ROWID;"
	"CREATE TABLE daily_rules ("
	" day TEXT NOT NULL, domain TEXT NOT NULL, profile TEXT NOT NULL, rule TEXT NOT NULL,"
	" failures INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (day, domain, profile, rule)) WITHOUT ROWID;";

/* Version 2: the DNS work and check time of each message. */
static const char upgrade_v2[] =
	"ALTER TABLE messages ADD COLUMN dns_queries INTEGER;"
	"ALTER TABLE messages ADD COLUMN dns_timeouts INTEGER;"
	"ALTER TABLE messages ADD COLUMN elapsed_ms INTEGER;";

/*
 * Version 3: several daemons in one store. The host (HostName) of each
 * message and failure (rows written before have none), and the batches
 * committed, so that a batch sent again after a lost connection is not
 * stored twice.
 */
static const char upgrade_v3[] =
	"ALTER TABLE messages ADD COLUMN host TEXT;"
	"ALTER TABLE failures ADD COLUMN host TEXT;"
	"CREATE INDEX messages_host_time ON messages(host, time);"
	"CREATE TABLE batches (id TEXT PRIMARY KEY, time INTEGER NOT NULL);";

/*
 * Version 4: no index of failures by message. Only pruning looked failures
 * up by msg_id, and it now deletes them by time (failures_time), as every
 * report reads them; each failure row (~2 a message) was one more index
 * entry to write, the most costly of the failures table's two.
 */
static const char upgrade_v4[] =
	"DROP INDEX IF EXISTS failures_msg;";

/*
 * Version 5: less to write a message. No index of messages by host: a site
 * has a few hosts, so one host's rows are a large share of any time range
 * and a report for one host reads them by time as well (messages_time),
 * while every message wrote an entry. On PostgreSQL the messages' ids are
 * drawn in blocks of STATSDB_ID_BLOCK (the id sequence's increment, see
 * sqldb_new_ids): one nextval a batch instead of one a message, ~0.2 of
 * the server's work for a batch.
 */
#define STATSDB_ID_BLOCK "1000"
static const char upgrade_v5[] = "DROP INDEX IF EXISTS messages_host_time;";
static const char upgrade_v5_pg[] =
    "DO $$ BEGIN EXECUTE format('ALTER SEQUENCE %s INCREMENT BY " STATSDB_ID_BLOCK "',"
    " pg_get_serial_sequence('messages', 'id')); END $$;";

/*
 * Version 6: no failure rows. A failure row (a rule a message failed for a
 * profile) said again what the message's row says in its profile's
 * "_failed" list, with its time, domain and host: the rules report reads
 * those lists (statsdb_rules), as the daily totals were always made from
 * them. The rows (~1.2-1.7 a message) and their index by time were ~0.28
 * of PostgreSQL's work for a batch after version 5. The table stays, no
 * longer read: daemons of an older version still running against the
 * store (a fleet upgraded host by host) go on writing their batches into
 * it, and pruning empties it. Nothing to change in the store: the version
 * tells older report tools that failures are no longer there.
 */
static const char upgrade_v6[] = "";

/*
 * upgrades[v] takes a store from version v to v + 1; pg_upgrades[v], where
 * set, comes before it on PostgreSQL. Before: every batch draws its ids
 * (the sequence) before it writes messages, so once the upgrade holds the
 * sequence no batch holds messages; the other order could deadlock with a
 * daemon of an older version between its nextval and its COPY.
 */
static const char *const upgrades[STATSDB_SCHEMA_VERSION] = { schema_v1, upgrade_v2, upgrade_v3,
	upgrade_v4, upgrade_v5, upgrade_v6 };
static const char *const pg_upgrades[STATSDB_SCHEMA_VERSION] = { [4] = upgrade_v5_pg };

/* The UTC day of t, in days since 1970 (before it: negative, rounded down). */
static long long
utc_day_number(long long t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

void
statsdb_day(long long t, char out[11])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 11, "%Y-%m-%d", &tm) != 10)
		snprintf(out, 11, "1970-01-01");
}

static int
fail(struct statsdb *db, const char *what, char *why, size_t whylen)
{
	snprintf(why, whylen, "%s: %s", what, sqldb_errmsg(db->sql));
	return -1;
}

/* 0, 1 (busy: try again) or -1, with a reason. */
static int
outcome(struct statsdb *db, int rc, const char *what, char *why, size_t whylen)
{
	if (rc == 0 || rc == SQLDB_ROW)
		return 0;
	fail(db, what, why, whylen);
	return rc == SQLDB_BUSY ? 1 : -1;
}

int
statsdb_schema_version(struct statsdb *db)
{
	return (int)sqldb_meta_get(db->sql, "version");
}

const char *
statsdb_backend(const struct statsdb *db)
{
	return sqldb_kind(db->sql) == SQLDB_POSTGRESQL ? "postgresql" : "sqlite";
}

int
statsdb_connected(const struct statsdb *db)
{
	return db->ready && sqldb_connected(db->sql);
}

void
statsdb_set_host(struct statsdb *db, const char *host)
{
	snprintf(db->host, sizeof(db->host), "%s", host ? host : "");
}

int
statsdb_filter_host(struct statsdb *db, const char *host)
{
	free(db->filter_host);
	db->filter_host = NULL;
	if (host != NULL && (db->filter_host = strdup(host)) == NULL)
		return -1;
	return 0;
}

/* The names of the daily count columns and their SQL over messages, in
 * enum total order (SQL both backends read alike: counts with FILTER). */
static void
total_column(int t, char *col, size_t collen, char *expr, size_t exprlen)
{
	static const char *const base[T_PROFILES][2] = {
		[T_MESSAGES] = { "messages", "count(*)" },
		[T_SPF] = { "spf_pass", "count(*) FILTER (WHERE spf = 'pass')" },
		[T_DKIM] = { "dkim_pass", "count(*) FILTER (WHERE dkim_pass <> 0)" },
		[T_DMARC] = { "dmarc_pass", "count(*) FILTER (WHERE dmarc = 'pass')" },
		[T_ALIGNED] = { "aligned", "count(*) FILTER (WHERE aligned <> 0)" },
		[T_BULK] = { "bulk", "count(*) FILTER (WHERE bulk <> 0)" },
		[T_BULK_ONECLICK] = { "bulk_oneclick", "count(*) FILTER (WHERE bulk <> 0 AND oneclick = 'pass')" },
	};

	if (t < T_PROFILES) {
		snprintf(col, collen, "%s", base[t][0]);
		snprintf(expr, exprlen, "%s", base[t][1]);
	} else if (t < T_ACTIONS) {
		const char *p = profile_name((enum profile_id)((t - T_PROFILES) / 2));
		int pass = (t - T_PROFILES) % 2;

		snprintf(col, collen, "%s_%s", p, pass ? "pass" : "n");
		snprintf(expr, exprlen, pass ? "count(*) FILTER (WHERE %s = 'pass')" : "count(%s)", p);
	} else {
		enum action a = (enum action)(t - T_ACTIONS);

		snprintf(col, collen, "%s", action_cols[a]);
		snprintf(expr, exprlen, "count(*) FILTER (WHERE action = '%s')", action_str(a));
	}
}

/* The totals' SQL, and the row columns they are made of. */
static void
prepare_totals(struct statsdb *db)
{
	char col[64], expr[128];
	size_t m = 0, d = 0;

	for (int t = 0; t < T_COUNT; t++) {
		total_column(t, col, sizeof(col), expr, sizeof(expr));
		m += (size_t)snprintf(db->counts_messages + m, sizeof(db->counts_messages) - m, "%s%s",
		    t ? ", " : "", expr);
		d += (size_t)snprintf(db->counts_daily + d, sizeof(db->counts_daily) - d, "%ssum(%s)",
		    t ? ", " : "", col);
	}
	db->c_from = verdict_column("from_domain");
	db->c_spf = verdict_column("spf");
	db->c_dkim_pass = verdict_column("dkim_pass");
	db->c_dmarc = verdict_column("dmarc");
	db->c_aligned = verdict_column("aligned");
	db->c_bulk = verdict_column("bulk");
	db->c_oneclick = verdict_column("oneclick");
	db->c_action = verdict_column("action");
	db->c_skipped = verdict_column("skipped");
	for (int p = 0; p < PROFILE_COUNT; p++) {
		snprintf(col, sizeof(col), "%s_failed", profile_name((enum profile_id)p));
		db->c_profile[p] = verdict_column(profile_name((enum profile_id)p));
		db->c_failed[p] = verdict_column(col);
	}
}

/* The columns the store lacks: every verdict column in messages, the
 * totals of every profile in daily (a field or profile added since the
 * store was made), as ALTER statements. */
static void
missing_columns(struct statsdb *db, struct sbuf *alter)
{
	const struct vcol *cols;
	size_t n = verdict_columns(&cols);
	char col[64], expr[128];

	for (size_t i = 0; i < n; i++)
		if (!sqldb_has_column(db->sql, "messages", cols[i].name))
			sbuf_printf(alter, "ALTER TABLE messages ADD COLUMN \"%s\" %s;", cols[i].name,
			    cols[i].type == VCOL_INT ? "INTEGER" : "TEXT");
	for (int t = 0; t < T_COUNT; t++) {
		total_column(t, col, sizeof(col), expr, sizeof(expr));
		if (!sqldb_has_column(db->sql, "daily", col))
			sbuf_printf(alter, "ALTER TABLE daily ADD COLUMN \"%s\" INTEGER NOT NULL DEFAULT 0;", col);
	}
}

/*
 * Checks the store is ours and brings it to the current version with the
 * columns of this sendercheck, all under the store's write lock (several
 * daemons starting at once: one does it, the others wait and see it done).
 * 0, 1 (busy: the server is away or the file locked) or -1, with a reason.
 */
static int
schema(struct statsdb *db, char *why, size_t whylen)
{
	long long version, app;
	struct sbuf alter;
	int rc, pg = sqldb_kind(db->sql) == SQLDB_POSTGRESQL, foreign;

	if (db->writable && (rc = sqldb_begin(db->sql, SQLDB_TX_WRITE)) != 0)
		return outcome(db, rc, "cannot lock", why, whylen);
	version = sqldb_meta_get(db->sql, "version");
	app = sqldb_meta_get(db->sql, "application_id");
	/* SQLite: a file with any table; PostgreSQL: a database may hold
	 * other applications' tables, but not one named like ours */
	foreign = version == 0 && (pg ? sqldb_has_column(db->sql, "messages", "id") :
	    sqldb_table_count(db->sql) > 0);
	if (version < 0 || app < 0) {
		rc = -1;
		fail(db, "cannot read the schema", why, whylen);
		goto rollback;
	}
	rc = -1;
	if (foreign) {
		snprintf(why, whylen, pg ? "not a sendercheck statistics database (it has a messages table)" :
		    "not a sendercheck statistics file (it has other tables)");
		goto rollback;
	}
	if (version > 0 && app != STATSDB_APP_ID) {
		snprintf(why, whylen, "not a sendercheck statistics store (application_id %lld)", app);
		goto rollback;
	}
	if (version > STATSDB_SCHEMA_VERSION) {
		long long min_writer = sqldb_meta_get(db->sql, "min_writer");

		if (min_writer <= 0 || min_writer > STATSDB_SCHEMA_VERSION) {
			snprintf(why, whylen, "schema version %lld is newer than this sendercheck's (%d)%s",
			    version, STATSDB_SCHEMA_VERSION,
			    min_writer > 0 ? ", and its writers must be of that version or later" : "");
			goto rollback;
		}
		/* a newer store that still takes our rows: used as it is */
		log_notice("statistics store %s: schema version %lld, newer than this sendercheck's (%d),"
		    " declares writers of version %lld and later right for it: used as it is",
		    sqldb_target(db->sql), version, STATSDB_SCHEMA_VERSION, min_writer);
	}
	if (!db->writable) {
		if (version >= STATSDB_SCHEMA_VERSION)
			return 0;
		snprintf(why, whylen, version == 0 ? "empty (no statistics written yet)" :
		    "schema version %lld is older than %d: open it for writing to upgrade", version,
		    STATSDB_SCHEMA_VERSION);
		return -1;
	}
	for (long long v = version; v < STATSDB_SCHEMA_VERSION; v++)
		if ((pg && pg_upgrades[v] != NULL && (rc = sqldb_exec(db->sql, pg_upgrades[v])) != 0) ||
		    (rc = sqldb_exec(db->sql, upgrades[v])) != 0) {
			char msg[200];

			snprintf(msg, sizeof(msg), "upgrading the schema to version %lld", v + 1);
			rc = outcome(db, rc, msg, why, whylen);
			goto rollback;
		}
	if (version < STATSDB_SCHEMA_VERSION &&
	    ((rc = sqldb_meta_set(db->sql, "application_id", STATSDB_APP_ID)) != 0 ||
	    (rc = sqldb_meta_set(db->sql, "version", STATSDB_SCHEMA_VERSION)) != 0 ||
	    (pg && (rc = sqldb_meta_set(db->sql, "min_writer", STATSDB_MIN_WRITER)) != 0))) {
		rc = outcome(db, rc, "setting the schema version", why, whylen);
		goto rollback;
	}
	sbuf_init(&alter, 1 << 16);
	missing_columns(db, &alter);
	rc = alter.len > 0 ? sqldb_exec(db->sql, alter.s) : 0;
	sbuf_free(&alter);
	if (rc != 0) {
		rc = outcome(db, rc, "adding columns", why, whylen);
		goto rollback;
	}
	return outcome(db, sqldb_commit(db->sql), "commit", why, whylen);
rollback:
	if (db->writable)
		sqldb_rollback(db->sql);
	return rc;
}

/* "" is stored as NULL: unknown */
static void
bind_text(struct sqldb_stmt *st, int i, const char *s)
{
	if (s == NULL || s[0] == '\0')
		sqldb_bind_null(st, i);
	else
		sqldb_bind_text(st, i, s);
}

/* Runs a statement that returns no rows; 0 or an sqldb code. */
static int
step_done(struct sqldb_stmt *st)
{
	int rc = sqldb_step(st);

	sqldb_reset(st);
	return rc == SQLDB_DONE ? 0 : rc == SQLDB_ROW ? SQLDB_ERROR : rc;
}

/*
 * One table's rows written as multi-row INSERTs (the daily totals, which
 * are upserts: COPY cannot add to a row): "head (row), (row), ...
 * tail", params values a row. A run of rows goes out in statements of 2^k
 * rows, the largest that fits first (at most 2^(sizes-1) rows and
 * MULTI_PARAMS values each): n rows take at most n / 2^(sizes-1) + sizes
 * statements, and each of the sizes is prepared once, when first used.
 */
#define MULTI_SIZES 9		/* 1, 2, 4, ... 256 rows */
#define MULTI_PARAMS 4096	/* values in one statement, well below SQLDB_MAX_PARAMS */
struct multi {
	char *head, *tail;
	int params, sizes;
	struct sqldb_stmt *st[MULTI_SIZES];
};

/* Binds row (an index into ctx) to st's parameters from first on. */
typedef void multi_bind_fn(const struct statsdb *db, struct sqldb_stmt *st, int first, size_t row,
    const void *ctx);

static void
multi_free(struct multi *m)
{
	if (m == NULL)
		return;
	for (int k = 0; k < MULTI_SIZES; k++)
		sqldb_finalize(m->st[k]);
	free(m->head);
	free(m->tail);
	free(m);
}

static struct multi *
multi_new(const char *head, const char *tail, int params)
{
	struct multi *m = calloc(1, sizeof(*m));

	if (m == NULL || (m->head = strdup(head)) == NULL || (m->tail = strdup(tail)) == NULL) {
		multi_free(m);
		return NULL;
	}
	m->params = params;
	for (m->sizes = 1; m->sizes < MULTI_SIZES && (params << m->sizes) <= MULTI_PARAMS; m->sizes++)
		;
	return m;
}

/* The statement of 2^k rows, made when first needed: 0 or an sqldb code. */
static int
multi_stmt(struct statsdb *db, struct multi *m, int k)
{
	struct sbuf sql;
	int rc, v = 1;

	if (m->st[k] != NULL)
		return 0;
	sbuf_init(&sql, 1 << 20);
	sbuf_addstr(&sql, m->head);
	for (int r = 0; r < 1 << k; r++) {
		sbuf_addstr(&sql, r ? ", (" : "(");
		for (int c = 0; c < m->params; c++)
			sbuf_printf(&sql, c ? ", ?%d" : "?%d", v++);
		sbuf_addc(&sql, ')');
	}
	sbuf_addstr(&sql, m->tail);
	rc = sql.overflow || sql.s == NULL ? SQLDB_ERROR : sqldb_prepare(db->sql, sql.s, &m->st[k]);
	sbuf_free(&sql);
	return rc;
}

/* Inserts rows 0..n-1 of ctx: 0 or an sqldb code. */
static int
multi_write(struct statsdb *db, struct multi *m, size_t n, multi_bind_fn *bind, const void *ctx)
{
	int rc;

	for (size_t done = 0; done < n;) {
		int k = m->sizes - 1;

		while (((size_t)1 << k) > n - done)
			k--;
		if ((rc = multi_stmt(db, m, k)) != 0)
			return rc;
		for (int r = 0; r < 1 << k; r++)
			bind(db, m->st[k], r * m->params + 1, done + (size_t)r, ctx);
		if ((rc = step_done(m->st[k])) != 0)
			return rc;
		done += (size_t)1 << k;
	}
	return 0;
}

static const char sql_ins_batch[] = "INSERT INTO batches (id, time) VALUES (?1, ?2)";
static const char sql_seen_batch[] = "SELECT count(*) FROM batches WHERE id = ?1";

/* The statements of the writer, made from the columns. */
static int
prepare_writes(struct statsdb *db)
{
	const struct vcol *cols;
	size_t n = verdict_columns(&cols);
	char sql[4096], col[64], expr[128], set[4096];
	size_t o, so = 0;

	/* messages with the ids drawn for the batch */
	const char *msg_cols[5 + VROW_MAX_COLS] = { "id", "time", "day", "domain", "host" };
	int m = 5;

	for (size_t i = 0; i < n && i < VROW_MAX_COLS; i++)
		msg_cols[m++] = cols[i].name;
	if (sqldb_copy_new(db->sql, "messages", msg_cols, m, &db->messages) != 0)
		return -1;

	/* daily totals: one row per day and domain of a batch, counts added */
	o = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO daily (day, domain");
	for (int t = 0; t < T_COUNT; t++) {
		total_column(t, col, sizeof(col), expr, sizeof(expr));
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ", %s", col);
		so += (size_t)snprintf(set + so, sizeof(set) - so, "%s%s = daily.%s + excluded.%s",
		    t ? ", " : "", col, col, col);
	}
	snprintf(sql + o, sizeof(sql) - o, ") VALUES ");
	if (o >= sizeof(sql) - 10 || so >= sizeof(set) - 1)
		return -1;
	{
		char tail[sizeof(set) + 64];

		snprintf(tail, sizeof(tail), " ON CONFLICT (day, domain) DO UPDATE SET %s", set);
		if ((db->daily = multi_new(sql, tail, 2 + T_COUNT)) == NULL)
			return -1;
	}
	if ((db->daily_rules = multi_new("INSERT INTO daily_rules (day, domain, profile, rule, failures) VALUES ",
	    " ON CONFLICT (day, domain, profile, rule) DO UPDATE SET"
	    " failures = daily_rules.failures + excluded.failures", 5)) == NULL)
		return -1;
	if (sqldb_prepare(db->sql, sql_ins_batch, &db->ins_batch) != 0 ||
	    sqldb_prepare(db->sql, sql_seen_batch, &db->seen_batch) != 0)
		return -1;
	return 0;
}

/* The schema checked and the writer's statements made: 0, 1 (not yet:
 * the server is away) or -1, with a reason. */
static int
get_ready(struct statsdb *db, char *why, size_t whylen)
{
	int rc;

	if (db->ready)
		return 0;
	if ((rc = schema(db, why, whylen)) != 0)
		return rc;
	prepare_totals(db);
	if (db->writable && prepare_writes(db) < 0)
		return fail(db, "preparing statements", why, whylen);
	db->ready = 1;
	return 0;
}

struct statsdb *
statsdb_open(const char *target, unsigned flags, char *why, size_t whylen)
{
	struct statsdb *db = calloc(1, sizeof(*db));
	char msg[600];
	int unreachable = 0, rc;

	if (db == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	db->writable = (flags & STATSDB_WRITE) != 0;
	if (getrandom(&db->run, sizeof(db->run), 0) != (ssize_t)sizeof(db->run))
		db->run = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	statsdb_set_host(db, "");
	db->sql = sqldb_open(target, (db->writable ? SQLDB_OPEN_WRITE : 0) |
	    ((flags & STATSDB_LATER) ? SQLDB_OPEN_LATER : 0), &unreachable, msg, sizeof(msg));
	if (db->sql == NULL) {
		snprintf(why, whylen, "%s", msg);
		goto bad;
	}
	if (unreachable) {	/* STATSDB_LATER: the first insert tries again */
		snprintf(why, whylen, "%s", msg);
		return db;
	}
	if ((rc = get_ready(db, msg, sizeof(msg))) < 0 || (rc > 0 && !(flags & STATSDB_LATER))) {
		snprintf(why, whylen, "%s: %s", target, msg);
		goto bad;
	}
	if (rc > 0)
		snprintf(why, whylen, "%s: %s", target, msg);
	return db;
bad:
	statsdb_close(db);
	return NULL;
}

int
statsdb_ready(const struct statsdb *db)
{
	return db->ready;
}

void
statsdb_close(struct statsdb *db)
{
	if (db == NULL)
		return;
	sqldb_copy_free(db->messages);
	multi_free(db->daily);
	multi_free(db->daily_rules);
	sqldb_finalize(db->ins_batch);
	sqldb_finalize(db->seen_batch);
	sqldb_close(db->sql);
	free(db->filter_host);
	free(db);
}

static const char *
row_domain(const struct statsdb *db, const struct vrow *r)
{
	const char *d = vrow_text(r, db->c_from);

	return d[0] ? d : STATSDB_NO_DOMAIN;
}

static int
is(const struct vrow *r, int col, const char *value)
{
	return strcmp(vrow_text(r, col), value) == 0;
}

/*
 * The daily totals of one batch, summed in memory first: one upsert per
 * (day, domain) and per (day, domain, profile, rule) instead of per message.
 */
#define AGG_COUNTS T_COUNT	/* the daily columns after day, domain */
struct agg {
	struct hlink link;
	char key[11 + 256 + 8 + 32 + 4];	/* day \1 domain [\1 profile \1 rule] */
	long v[AGG_COUNTS];
};

/* The totals of one batch, by key, in the order they were first met. */
struct aggs {
	struct htable t;
};

static int
agg_same(const struct hlink *l, const void *key)
{
	return strcmp(HTABLE_RECORD(l, struct agg, link)->key, key) == 0;
}

static int
agg_init(struct aggs *g, size_t expect)
{
	return htable_init(&g->t, expect, agg_same);
}

static void
agg_free(struct aggs *g)
{
	for (struct hlink *l; (l = htable_oldest(&g->t)) != NULL;) {
		htable_del(&g->t, l);
		free(HTABLE_RECORD(l, struct agg, link));
	}
	htable_free(&g->t);
}

/* The entry for key, made with zeros if new; NULL when out of memory. */
static struct agg *
agg_get(struct aggs *g, const char *key)
{
	uint64_t h = htable_hash_str(HTABLE_HASH_INIT, key);
	struct hlink *l = htable_find(&g->t, h, key);
	struct agg *a;

	if (l != NULL)
		return HTABLE_RECORD(l, struct agg, link);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	str_copy(a->key, sizeof(a->key), key);
	htable_add(&g->t, &a->link, h);
	return a;
}

/* The first entry met, then the next ones (NULL at the end). */
static const struct agg *
agg_first(const struct aggs *g)
{
	struct hlink *l = htable_oldest(&g->t);

	return l != NULL ? HTABLE_RECORD(l, struct agg, link) : NULL;
}

static const struct agg *
agg_next(const struct agg *a)
{
	return a->link.newer != NULL ? HTABLE_RECORD(a->link.newer, struct agg, link) : NULL;
}

static int
agg_order(const void *a, const void *b)
{
	return strcmp((*(const struct agg *const *)a)->key, (*(const struct agg *const *)b)->key);
}

/* What one batch writes. */
struct batch {
	struct vrow *const *recs;
	long long *ids;			/* the messages' ids, drawn for the batch */
	const struct agg **sorted;	/* daily or daily_rules rows, in key order */
	long long day_num;	/* the UTC day (days since 1970) day[] holds */
	char day[11];
};

/* The UTC day of t, "YYYY-MM-DD": a batch's messages mostly share one,
 * made again only when it changes. */
static const char *
batch_day(struct batch *b, long long t)
{
	long long d = utc_day_number(t);

	if (b->day[0] == '\0' || d != b->day_num) {
		statsdb_day(t, b->day);
		b->day_num = d;
	}
	return b->day;
}

static int
grow(void **arr, size_t *cap, size_t n, size_t elem);

/* What one message adds to the day's totals and rule counts (a message
 * the checks skipped: nothing). */
static int
tally_one(struct statsdb *db, struct batch *b, size_t i, struct aggs *days, struct aggs *rules)
{
	const struct vrow *r = b->recs[i];
	char key[sizeof(((struct agg *)0)->key)];
	const char *dom = row_domain(db, r), *day;
	struct agg *g;
	int bulk = vrow_int(r, db->c_bulk) != 0;

	if (vrow_int(r, db->c_skipped))
		return 0;	/* stored, neither judged nor counted */
	day = batch_day(b, r->time);
	for (int p = 0; p < PROFILE_COUNT; p++) {
		const char *list = vrow_text(r, db->c_failed[p]);

		for (const char *tok = list; *tok; tok += *tok == ',') {
			size_t len = strcspn(tok, ",");

			if (len == 0)
				continue;
			str_format(key, sizeof(key), "%s\1%s\1%s\1%.*s", day, dom,
			    profile_name((enum profile_id)p), (int)len, tok);
			if ((g = agg_get(rules, key)) == NULL)
				return SQLDB_ERROR;
			g->v[0]++;
			tok += len;
		}
	}

	str_format(key, sizeof(key), "%s\1%s", day, dom);
	if ((g = agg_get(days, key)) == NULL)
		return SQLDB_ERROR;
	g->v[T_MESSAGES]++;
	g->v[T_SPF] += is(r, db->c_spf, "pass");
	g->v[T_DKIM] += vrow_int(r, db->c_dkim_pass) != 0;
	g->v[T_DMARC] += is(r, db->c_dmarc, "pass");
	g->v[T_ALIGNED] += vrow_int(r, db->c_aligned) != 0;
	g->v[T_BULK] += bulk;
	g->v[T_BULK_ONECLICK] += bulk && is(r, db->c_oneclick, "pass");
	for (int p = 0; p < PROFILE_COUNT; p++) {
		g->v[T_PROFILES + 2 * p] += !vrow_null(r, db->c_profile[p]);
		g->v[T_PROFILES + 2 * p + 1] += is(r, db->c_profile[p], "pass");
	}
	for (int a = 0; a < ACT_COUNT; a++)
		g->v[T_ACTIONS + a] += is(r, db->c_action, action_str((enum action)a));
	return 0;
}

/* "" is stored as NULL: unknown */
static void
copy_text_or_null(struct sqldb_copy *c, const char *s)
{
	sqldb_copy_text(c, s != NULL && s[0] != '\0' ? s : NULL);
}

/* The batch's messages, with the ids drawn for them: 0 or an sqldb code. */
static int
copy_messages(struct statsdb *db, struct batch *b, size_t n)
{
	const struct vcol *cols;
	size_t ncols = verdict_columns(&cols);
	struct sqldb_copy *c = db->messages;

	for (size_t row = 0; row < n; row++) {
		const struct vrow *r = b->recs[row];

		sqldb_copy_int(c, b->ids[row]);
		sqldb_copy_int(c, r->time);
		sqldb_copy_text(c, batch_day(b, r->time));
		sqldb_copy_text(c, row_domain(db, r));
		copy_text_or_null(c, db->host);
		for (size_t i = 0; i < ncols && i < VROW_MAX_COLS; i++) {
			if (vrow_null(r, (int)i))
				sqldb_copy_null(c);
			else if (cols[i].type == VCOL_INT)
				sqldb_copy_int(c, vrow_int(r, (int)i));
			else
				copy_text_or_null(c, vrow_text(r, (int)i));
		}
		sqldb_copy_row(c);
	}
	return sqldb_copy_flush(c);
}

/* A daily row: the key "day \1 domain" and the counts. */
static void
bind_day(const struct statsdb *db, struct sqldb_stmt *st, int first, size_t row, const void *ctx)
{
	const struct agg *g = ((const struct batch *)ctx)->sorted[row];
	const char *sep = strchr(g->key, '\1');
	char day[11];

	(void)db;
	snprintf(day, sizeof(day), "%.*s", (int)(sep - g->key), g->key);
	sqldb_bind_text(st, first, day);
	sqldb_bind_text(st, first + 1, sep + 1);
	for (int k = 0; k < AGG_COUNTS; k++)
		sqldb_bind_int(st, first + 2 + k, g->v[k]);
}

/* The four fields of a daily_rules key; 0, or -1 when it has fewer. */
static int
rule_fields(const struct agg *g, char *buf, size_t len, char *f[4])
{
	char *save = NULL;

	snprintf(buf, len, "%s", g->key);
	f[0] = strtok_r(buf, "\1", &save);
	for (int k = 1; k < 4; k++)
		f[k] = strtok_r(NULL, "\1", &save);
	return f[3] != NULL ? 0 : -1;
}

static void
bind_rule(const struct statsdb *db, struct sqldb_stmt *st, int first, size_t row, const void *ctx)
{
	const struct agg *g = ((const struct batch *)ctx)->sorted[row];
	char key[sizeof(g->key)], *f[4];

	(void)db;
	rule_fields(g, key, sizeof(key), f);
	for (int k = 0; k < 4; k++)
		sqldb_bind_text(st, first + k, f[k]);
	sqldb_bind_int(st, first + 4, g->v[0]);
}

/* The entries of a table in key order (malloc'd; NULL when out of memory or empty). */
static const struct agg **
agg_sorted(const struct aggs *g, size_t *n)
{
	const struct agg **v;
	size_t k = 0;

	*n = g->t.n;
	if (*n == 0 || (v = malloc(*n * sizeof(*v))) == NULL)
		return NULL;
	for (const struct agg *a = agg_first(g); a != NULL && k < *n; a = agg_next(a))
		v[k++] = a;
	qsort(v, k, sizeof(*v), agg_order);
	*n = k;
	return v;
}

/* Upserts the batch's totals, in key order: daemons writing the same days
 * and domains at once lock them in the same order, never in a cycle. */
static int
write_aggs(struct statsdb *db, struct batch *b, const struct aggs *days, const struct aggs *rules)
{
	size_t n, kept = 0;
	int rc;

	if ((b->sorted = agg_sorted(days, &n)) == NULL && n > 0)
		return SQLDB_ERROR;
	rc = multi_write(db, db->daily, n, bind_day, b);
	free(b->sorted);
	if (rc != 0)
		return rc;
	if ((b->sorted = agg_sorted(rules, &n)) == NULL && n > 0)
		return SQLDB_ERROR;
	for (size_t i = 0; i < n; i++) {
		char key[sizeof(b->sorted[i]->key)], *f[4];

		if (rule_fields(b->sorted[i], key, sizeof(key), f) == 0)
			b->sorted[kept++] = b->sorted[i];
	}
	rc = multi_write(db, db->daily_rules, kept, bind_rule, b);
	free(b->sorted);
	return rc;
}

/*
 * The batch's rows: the messages with ids drawn first (in bulk: COPY on
 * PostgreSQL), its id in batches (a
 * batch sent again after a lost connection is refused there), then the
 * totals (multi-row upserts). 0 or an sqldb code.
 */
static int
write_batch(struct statsdb *db, const char *id, struct vrow *const *recs, size_t n)
{
	struct batch b = { .recs = recs };
	struct aggs days, rules;
	int rc = 0;

	if ((b.ids = calloc(n ? n : 1, sizeof(*b.ids))) == NULL)
		return SQLDB_ERROR;
	if (agg_init(&days, n) < 0) {
		free(b.ids);
		return SQLDB_ERROR;
	}
	if (agg_init(&rules, n) < 0) {
		agg_free(&days);
		free(b.ids);
		return SQLDB_ERROR;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = tally_one(db, &b, i, &days, &rules);
	if (rc == 0)
		rc = sqldb_new_ids(db->sql, "messages", n, b.ids);
	/* the bulk rows first: PostgreSQL's COPY then finds the pipeline empty */
	if (rc == 0)
		rc = copy_messages(db, &b, n);
	if (rc == 0) {
		sqldb_bind_text(db->ins_batch, 1, id);
		sqldb_bind_int(db->ins_batch, 2, (long long)time(NULL));
		rc = step_done(db->ins_batch);
	}
	if (rc == 0)
		rc = write_aggs(db, &b, &days, &rules);
	agg_free(&days);
	agg_free(&rules);
	free(b.ids);
	return rc;
}

/* Whether the batch id was committed already (after a connection lost at
 * commit): 1 yes, 0 no, or an sqldb code. */
static int
batch_seen(struct statsdb *db, const char *id)
{
	int rc;

	sqldb_bind_text(db->seen_batch, 1, id);
	rc = sqldb_step(db->seen_batch);
	if (rc == SQLDB_ROW)
		rc = sqldb_col_int(db->seen_batch, 0) > 0;
	sqldb_reset(db->seen_batch);
	return rc;
}

int
statsdb_insert(struct statsdb *db, struct vrow *const *recs, size_t n,
    char *why, size_t whylen)
{
	char id[320];
	int rc;

	if (!db->writable)
		return snprintf(why, whylen, "opened read-only"), -1;
	if ((rc = get_ready(db, why, whylen)) != 0)
		return rc;
	snprintf(id, sizeof(id), "%s:%08x:%llu", db->host, db->run, db->seq);
	if (db->retry) {
		if ((rc = sqldb_begin(db->sql, SQLDB_TX_WRITE)) != 0)
			return outcome(db, rc, "begin", why, whylen);
		rc = batch_seen(db, id);
		sqldb_rollback(db->sql);
		if (rc < 0)
			return outcome(db, rc, "looking for the last batch", why, whylen);
		if (rc == 1) {	/* it was committed before the link broke */
			db->retry = 0;
			db->seq++;
			return 0;
		}
	}
	if ((rc = sqldb_begin(db->sql, SQLDB_TX_BATCH)) != 0)
		return outcome(db, rc, "begin", why, whylen);
	if ((rc = write_batch(db, id, recs, n)) != 0) {
		rc = outcome(db, rc, "insert", why, whylen);
		sqldb_rollback(db->sql);
		db->retry = rc > 0;
		if (rc < 0)
			db->seq++;
		return rc;
	}
	rc = outcome(db, sqldb_commit(db->sql), "commit", why, whylen);
	/* busy at commit: it may have been committed all the same */
	db->retry = rc > 0;
	if (rc <= 0)
		db->seq++;
	return rc;
}

long
statsdb_prune(struct statsdb *db, long long before, long limit, char *why, size_t whylen)
{
	/* what each statement binds: ?1 the cut and ?2 the limit, or ?1 the cut's day */
	enum { CUT_LIMIT, DAY, CUT };
	static const struct {
		const char *sql;
		int binds;
		const char *optional;	/* a table a store may lack (none to prune) */
	} steps[] = {
		/*
		 * Failure rows (written by daemons before schema 6), by time:
		 * those up to the newest of the oldest limit messages before
		 * the cut (ids grow with time); none left there: all before it.
		 * A store may have dropped the table by hand.
		 */
		{ "DELETE FROM failures WHERE time < ?1 AND time <= COALESCE((SELECT max(time) FROM"
		  " (SELECT time FROM messages WHERE time < ?1 ORDER BY id LIMIT ?2) AS chunk), "
		  "?1)",
		    CUT_LIMIT, "failures" },
		/* ids grow with time: the oldest limit messages before the cut */
		{ "DELETE FROM messages WHERE id IN (SELECT id FROM messages"
		  " WHERE time < ?1 ORDER BY id LIMIT ?2)",
		    CUT_LIMIT, NULL },
		{ "DELETE FROM daily WHERE day < ?1", DAY, NULL },
		{ "DELETE FROM daily_rules WHERE day < ?1", DAY, NULL },
		{ "DELETE FROM batches WHERE time < ?1", CUT, NULL },
	};
	struct sqldb_stmt *st = NULL;
	char day[11];
	long deleted = 0;

	if (get_ready(db, why, whylen) != 0)
		return -1;
	if (sqldb_begin(db->sql, SQLDB_TX_WRITE) != 0)
		return fail(db, "prune", why, whylen);
	statsdb_day(before, day);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].optional != NULL && !sqldb_has_column(db->sql, steps[i].optional, "time"))
			continue;
		if (sqldb_prepare(db->sql, steps[i].sql, &st) != 0)
			goto bad;
		if (steps[i].binds == DAY) {
			sqldb_bind_text(st, 1, day);
		} else {
			sqldb_bind_int(st, 1, before);
			if (steps[i].binds == CUT_LIMIT)
				sqldb_bind_int(st, 2, limit);
		}
		if (sqldb_step(st) != SQLDB_DONE)
			goto bad;
		if (i == 1)
			deleted = (long)sqldb_changes(db->sql);
		sqldb_finalize(st);
		st = NULL;
	}
	if (sqldb_commit(db->sql) != 0)
		return fail(db, "prune", why, whylen);
	return deleted;
bad:
	fail(db, "prune", why, whylen);
	sqldb_finalize(st);
	sqldb_rollback(db->sql);
	return -1;
}

/* ---- reports ---- */

static void
read_counts(struct sqldb_stmt *st, int col, struct statsdb_counts *c)
{
	c->messages = sqldb_col_int(st, col++);
	c->spf_pass = sqldb_col_int(st, col++);
	c->dkim_pass = sqldb_col_int(st, col++);
	c->dmarc_pass = sqldb_col_int(st, col++);
	c->aligned = sqldb_col_int(st, col++);
	c->bulk = sqldb_col_int(st, col++);
	c->bulk_oneclick = sqldb_col_int(st, col++);
	for (int p = 0; p < PROFILE_COUNT; p++) {
		c->judged[p] = sqldb_col_int(st, col++);
		c->compliant[p] = sqldb_col_int(st, col++);
	}
	for (int a = 0; a < ACT_COUNT; a++)
		c->action[a] = sqldb_col_int(st, col++);
}

/*
 * A report's statement: sql with HOST_COND where the host condition goes
 * (the host is parameter ?3). Binds since (?1, an integer or a day),
 * domain (?2) and the host.
 */
#define HOST_COND "@HOST@"
static int
query(struct statsdb *db, const char *sql, long long since, const char *since_day, const char *domain,
    struct sqldb_stmt **st, char *why, size_t whylen)
{
	const char *at = strstr(sql, HOST_COND);
	struct sbuf text;
	int rc;

	*st = NULL;
	if (get_ready(db, why, whylen) != 0)
		return -1;
	sbuf_init(&text, 1 << 16);
	if (at != NULL) {
		sbuf_add(&text, sql, (size_t)(at - sql));
		if (db->filter_host)
			sbuf_addstr(&text, " AND host = ?3");
		sbuf_addstr(&text, at + strlen(HOST_COND));
	} else {
		sbuf_addstr(&text, sql);
	}
	rc = text.overflow ? SQLDB_ERROR : sqldb_prepare(db->sql, text.s, st);
	sbuf_free(&text);
	if (rc != 0)
		return fail(db, "query", why, whylen);
	if (since_day != NULL)
		sqldb_bind_text(*st, 1, since_day);
	else
		sqldb_bind_int(*st, 1, since);
	bind_text(*st, 2, domain);
	if (db->filter_host && at != NULL)
		sqldb_bind_text(*st, 3, db->filter_host);
	return 0;
}

static int
grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	void *p;

	if (n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 64;
	if ((p = realloc(*arr, *cap * elem)) == NULL)
		return -1;
	*arr = p;
	return 0;
}

/* Counts per value of column key ("domain" or "client_ip"). */
static int
grouped(struct statsdb *db, const char *key, long long since, const char *domain,
    struct statsdb_domain **out, size_t *n, char *why, size_t whylen)
{
	struct sqldb_stmt *st;
	size_t cap = 0;
	char sql[4096];
	int rc;

	*out = NULL;
	*n = 0;
	snprintf(sql, sizeof(sql), "SELECT COALESCE(%s, '(none)') AS k, %s FROM messages"
	    " WHERE skipped = 0 AND time >= ?1 AND (?2 IS NULL OR domain = ?2)" HOST_COND " GROUP BY k",
	    key, db->counts_messages);
	if (query(db, sql, since, NULL, domain, &st, why, whylen) < 0)
		return -1;
	while ((rc = sqldb_step(st)) == SQLDB_ROW) {
		if (grow((void **)out, &cap, *n, sizeof(**out)) < 0) {
			rc = SQLDB_ERROR;
			break;
		}
		struct statsdb_domain *d = &(*out)[(*n)++];
		memset(d, 0, sizeof(*d));
		snprintf(d->domain, sizeof(d->domain), "%s", sqldb_col_text(st, 0));
		read_counts(st, 1, &d->c);
	}
	if (rc != SQLDB_DONE) {
		fail(db, "query", why, whylen);
		sqldb_finalize(st);
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	sqldb_finalize(st);
	return 0;
}

int
statsdb_domains(struct statsdb *db, long long since, const char *domain,
    struct statsdb_domain **out, size_t *n, char *why, size_t whylen)
{
	return grouped(db, "domain", since, domain, out, n, why, whylen);
}

int
statsdb_ips(struct statsdb *db, long long since, const char *domain,
    struct statsdb_domain **out, size_t *n, char *why, size_t whylen)
{
	return grouped(db, "client_ip", since, domain, out, n, why, whylen);
}

static struct statsdb_selector *
selector_row(struct statsdb_selector **arr, size_t *n, size_t *cap, const char *d, size_t dlen,
    const char *s, size_t slen)
{
	for (size_t i = 0; i < *n; i++)
		if (strlen((*arr)[i].domain) == dlen && strncmp((*arr)[i].domain, d, dlen) == 0 &&
		    strlen((*arr)[i].selector) == slen && strncmp((*arr)[i].selector, s, slen) == 0)
			return &(*arr)[i];
	if (grow((void **)arr, cap, *n, sizeof(**arr)) < 0)
		return NULL;
	struct statsdb_selector *r = &(*arr)[(*n)++];
	memset(r, 0, sizeof(*r));
	snprintf(r->domain, sizeof(r->domain), "%.*s", (int)dlen, d);
	snprintf(r->selector, sizeof(r->selector), "%.*s", (int)slen, s);
	return r;
}

/* One "d:s:result" entry (or "d:result", written before selectors were
 * kept) of the dkim column into its row. */
static int
count_signature(struct statsdb_selector **arr, size_t *n, size_t *cap, const char *e, size_t len)
{
	const char *c1 = memchr(e, ':', len), *c2, *res;
	struct statsdb_selector *r;

	if (c1 == NULL)
		return 0;
	c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - e));
	res = c2 ? c2 + 1 : c1 + 1;
	r = c2 ? selector_row(arr, n, cap, e, (size_t)(c1 - e), c1 + 1, (size_t)(c2 - c1 - 1)) :
	    selector_row(arr, n, cap, e, (size_t)(c1 - e), "(not recorded)", 14);
	if (r == NULL)
		return -1;
	r->signatures++;
	if ((size_t)(e + len - res) == 4 && strncmp(res, "pass", 4) == 0)
		r->pass++;
	return 0;
}

static int
selector_order(const void *a, const void *b)
{
	const struct statsdb_selector *x = a, *y = b;
	int k;

	if (x->signatures != y->signatures)
		return x->signatures < y->signatures ? 1 : -1;
	return (k = strcmp(x->domain, y->domain)) != 0 ? k : strcmp(x->selector, y->selector);
}

int
statsdb_selectors(struct statsdb *db, long long since, const char *domain,
    struct statsdb_selector **out, size_t *n, char *why, size_t whylen)
{
	struct sqldb_stmt *st;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	/* split in C: SQL that splits a list differs between database engines */
	if (query(db, "SELECT dkim FROM messages WHERE skipped = 0 AND time >= ?1"
	    " AND (?2 IS NULL OR domain = ?2)" HOST_COND " AND dkim IS NOT NULL", since, NULL, domain,
	    &st, why, whylen) < 0)
		return -1;
	while ((rc = sqldb_step(st)) == SQLDB_ROW) {
		const char *t = sqldb_col_text(st, 0);
		size_t len = t ? strlen(t) : 0, i = 0;

		while (i < len) {
			size_t start = i;

			while (i < len && t[i] != ' ')
				i++;
			if (i > start && count_signature(out, n, &cap, t + start, i - start) < 0) {
				rc = SQLDB_ERROR;
				break;
			}
			i++;
		}
		if (rc == SQLDB_ERROR)
			break;
	}
	if (rc != SQLDB_DONE) {
		fail(db, "query", why, whylen);
		sqldb_finalize(st);
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	sqldb_finalize(st);
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), selector_order);
	return 0;
}

int
statsdb_backup(struct statsdb *db, const char *dest, char *why, size_t whylen)
{
	return sqldb_backup(db->sql, dest, why, whylen);
}

static struct statsdb_rule *
rule_row(struct statsdb_rule **arr, size_t *n, size_t *cap, const char *rule)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*arr)[i].rule, rule) == 0)
			return &(*arr)[i];
	if (grow((void **)arr, cap, *n, sizeof(**arr)) < 0)
		return NULL;
	struct statsdb_rule *r = &(*arr)[(*n)++];
	memset(r, 0, sizeof(*r));
	snprintf(r->rule, sizeof(r->rule), "%s", rule);
	return r;
}

static int
rule_order(const void *a, const void *b)
{
	const struct statsdb_rule *x = a, *y = b;

	if (x->messages != y->messages)
		return x->messages < y->messages ? 1 : -1;
	return strcmp(x->rule, y->rule);
}

/* "rule \1 domain" entries: by rule, the most messages first, then by domain */
static int
top_order(const void *a, const void *b)
{
	const struct agg *x = *(const struct agg *const *)a, *y = *(const struct agg *const *)b;
	size_t lx = strcspn(x->key, "\1"), ly = strcspn(y->key, "\1");
	int k = strncmp(x->key, y->key, lx < ly ? lx : ly);

	if (k != 0 || lx != ly)
		return k != 0 ? k : lx < ly ? -1 : 1;
	if (x->v[0] != y->v[0])
		return x->v[0] < y->v[0] ? 1 : -1;
	return strcmp(x->key + lx, y->key + ly);
}

/*
 * The failed lists (cols[k]: the profile of column 1 + k) of the messages
 * of one domain that have these lists (their count: column 1 + ncols) into
 * the rules: for each message a rule counts once per profile list it is
 * in (per_profile), and once for the message (messages, and its domain's
 * count in tops).
 */
static int
count_failures(struct sqldb_stmt *st, const int *cols, int ncols, struct statsdb_rule **out,
    size_t *n, size_t *cap, struct aggs *tops)
{
	char seen[64][sizeof(((struct statsdb_rule *)0)->rule)], rule[sizeof(seen[0])];
	char key[sizeof(((struct agg *)0)->key)];
	const char *dom = sqldb_col_text(st, 0);
	long w = (long)sqldb_col_int(st, 1 + ncols);	/* messages with these lists */
	size_t nseen = 0;

	for (int k = 0; k < ncols; k++) {
		const char *list = sqldb_col_text(st, 1 + k);

		for (const char *tok = list ? list : ""; *tok; tok += *tok == ',') {
			size_t len = strcspn(tok, ","), i;
			struct statsdb_rule *r;
			struct agg *g;

			if (len == 0)
				continue;
			snprintf(rule, sizeof(rule), "%.*s", (int)len, tok);
			tok += len;
			if ((r = rule_row(out, n, cap, rule)) == NULL)
				return -1;
			r->per_profile[cols[k]] += w;
			for (i = 0; i < nseen && strcmp(seen[i], rule) != 0; i++)
				;
			if (i < nseen)
				continue;
			if (nseen < sizeof(seen) / sizeof(seen[0]))
				memcpy(seen[nseen++], rule, sizeof(rule));
			r->messages += w;
			snprintf(key, sizeof(key), "%s\1%s", rule, dom ? dom : "");
			if ((g = agg_get(tops, key)) == NULL)
				return -1;
			g->v[0] += w;
		}
	}
	return 0;
}

/* Each rule's domains, the most messages first, into its top. */
static int
fill_tops(struct statsdb_rule *out, size_t n, const struct aggs *tops)
{
	const struct agg **v;
	size_t k = 0;

	if (tops->t.n == 0)
		return 0;
	if ((v = malloc(tops->t.n * sizeof(*v))) == NULL)
		return -1;
	for (const struct agg *a = agg_first(tops); a != NULL && k < tops->t.n; a = agg_next(a))
		v[k++] = a;
	qsort(v, k, sizeof(*v), top_order);
	for (size_t i = 0; i < k; i++) {
		const char *sep = strchr(v[i]->key, '\1');

		for (size_t j = 0; j < n; j++)
			if (strlen(out[j].rule) == (size_t)(sep - v[i]->key) &&
			    strncmp(out[j].rule, v[i]->key, (size_t)(sep - v[i]->key)) == 0) {
				if (out[j].n_top < sizeof(out[j].top) / sizeof(out[j].top[0])) {
					snprintf(out[j].top[out[j].n_top].domain,
					    sizeof(out[j].top[0].domain), "%s", sep + 1);
					out[j].top[out[j].n_top++].n = v[i]->v[0];
				}
				break;
			}
	}
	free(v);
	return 0;
}

/* From the messages' failed lists, one per profile ("google_failed", ...). */
int
statsdb_rules(struct statsdb *db, long long since, const char *domain,
    struct statsdb_rule **out, size_t *n, long *messages, char *why, size_t whylen)
{
	struct sqldb_stmt *st;
	struct aggs tops;
	struct sbuf sql;
	size_t cap = 0;
	int cols[PROFILE_COUNT], ncols = 0, rc, nomem = 0;
	char col[64];

	*out = NULL;
	*n = 0;
	*messages = 0;
	if (query(db, "SELECT count(*) FROM messages WHERE skipped = 0 AND time >= ?1"
	    " AND (?2 IS NULL OR domain = ?2)" HOST_COND, since, NULL, domain, &st, why, whylen) < 0)
		return -1;
	if ((rc = sqldb_step(st)) == SQLDB_ROW)
		*messages = (long)sqldb_col_int(st, 0);
	sqldb_finalize(st);
	if (rc != SQLDB_ROW)
		return fail(db, "query", why, whylen);

	/* the profiles' lists the store has (one not opened for writing since
	 * a profile came may lack its column) */
	for (int p = 0; p < PROFILE_COUNT; p++) {
		snprintf(col, sizeof(col), "%s_failed", profile_name((enum profile_id)p));
		if (sqldb_has_column(db->sql, "messages", col))
			cols[ncols++] = p;
	}
	if (ncols == 0)
		return 0;
	sbuf_init(&sql, 1 << 14);
	sbuf_addstr(&sql, "SELECT domain");
	for (int k = 0; k < ncols; k++)
		sbuf_printf(&sql, ", \"%s_failed\"", profile_name((enum profile_id)cols[k]));
	sbuf_addstr(&sql, ", count(*)");
	sbuf_addstr(&sql,
	    " FROM messages WHERE skipped = 0 AND time >= ?1 AND (?2 IS NULL OR domain = "
	    "?2)" HOST_COND " AND (");
	for (int k = 0; k < ncols; k++)
		sbuf_printf(&sql, "%s\"%s_failed\" IS NOT NULL", k ? " OR " : "",
		    profile_name((enum profile_id)cols[k]));
	/* the server counts alike messages: one row per domain and lists */
	sbuf_addstr(&sql, ") GROUP BY domain");
	for (int k = 0; k < ncols; k++)
		sbuf_printf(&sql, ", \"%s_failed\"", profile_name((enum profile_id)cols[k]));
	if (sql.overflow) {
		sbuf_free(&sql);
		return 0;
	}
	rc = query(db, sql.s, since, NULL, domain, &st, why, whylen);
	sbuf_free(&sql);
	if (rc < 0)
		return -1;
	if (agg_init(&tops, 64) < 0) {
		sqldb_finalize(st);
		return snprintf(why, whylen, "out of memory"), -1;
	}
	while ((rc = sqldb_step(st)) == SQLDB_ROW && !nomem)
		nomem = count_failures(st, cols, ncols, out, n, &cap, &tops) < 0;
	nomem = nomem || (rc == SQLDB_DONE && fill_tops(*out, *n, &tops) < 0);
	if (nomem)
		snprintf(why, whylen, "out of memory");
	else if (rc != SQLDB_DONE)
		fail(db, "query", why, whylen);
	agg_free(&tops);
	sqldb_finalize(st);
	if (nomem || rc != SQLDB_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), rule_order);
	return 0;
}

int
statsdb_trend(struct statsdb *db, long long since, const char *domain,
    struct statsdb_day **out, size_t *n, char *why, size_t whylen)
{
	struct sqldb_stmt *st;
	char day[11], sql[4096];
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	statsdb_day(since, day);
	/*
	 * The daily totals are the site's: one host's days come from its rows,
	 * found by time (messages_time; the same rows as day >= the first day).
	 */
	if (db->filter_host)
		snprintf(sql, sizeof(sql), "SELECT day, %s FROM messages WHERE skipped = 0 AND day >= ?1"
		    " AND time >= %lld AND (?2 IS NULL OR domain = ?2)" HOST_COND
		    " GROUP BY day ORDER BY day COLLATE BINARY", db->counts_messages,
		    utc_day_number(since) * 86400);
	else
		snprintf(sql, sizeof(sql), "SELECT day, %s FROM daily WHERE day >= ?1"
		    " AND (?2 IS NULL OR domain = ?2) GROUP BY day ORDER BY day COLLATE BINARY",
		    db->counts_daily);
	if (query(db, sql, 0, day, domain, &st, why, whylen) < 0)
		return -1;
	while ((rc = sqldb_step(st)) == SQLDB_ROW) {
		const char *d = sqldb_col_text(st, 0);
		struct tm tm;

		/* fill the days without mail between two rows with zeros */
		while (*n > 0 && d != NULL) {
			time_t next;
			char nd[11];

			memset(&tm, 0, sizeof(tm));
			if (sscanf((*out)[*n - 1].day, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
				break;
			tm.tm_year -= 1900;
			tm.tm_mon -= 1;
			next = timegm(&tm) + 86400;
			statsdb_day(next, nd);
			if (strcmp(nd, d) >= 0 || *n > 10000)
				break;
			if (grow((void **)out, &cap, *n, sizeof(**out)) < 0)
				goto nomem;
			memset(&(*out)[*n], 0, sizeof(**out));
			memcpy((*out)[(*n)++].day, nd, sizeof(nd));
		}
		if (grow((void **)out, &cap, *n, sizeof(**out)) < 0)
			goto nomem;
		struct statsdb_day *r = &(*out)[(*n)++];
		memset(r, 0, sizeof(*r));
		snprintf(r->day, sizeof(r->day), "%s", d ? d : "");
		read_counts(st, 1, &r->c);
	}
	if (rc != SQLDB_DONE) {
		fail(db, "query", why, whylen);
		sqldb_finalize(st);
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	sqldb_finalize(st);
	return 0;
nomem:
	sqldb_finalize(st);
	free(*out);
	*out = NULL;
	*n = 0;
	return snprintf(why, whylen, "out of memory"), -1;
}

/* ---- DMARC aggregate reports ---- */

/* the columns statsdb_dmarc_day reads (written by the verdict's field table) */
static const char *const dmarc_columns[] = { "dmarc_domain", "dmarc_rua", "dmarc_p", "dmarc_sp",
	"dmarc_np", "dmarc_adkim", "dmarc_aspf", "dmarc_testing", "dmarc_discovery", "client_ip",
	"from_domain", "mail_from_domain", "helo", "spf_domain", "spf", "dkim",
	"dmarc_dkim_aligned", "dmarc_spf_aligned", "dmarc_disposition", "dmarc_override",
	"dmarc_override_comment", "dmarc_report_msg", "dmarc_org_other", "tls", "action" };

/*
 * A day's messages with a DMARC policy, but report mail, the mail of
 * daemons in Mode outbound (a sender's own mail: tls 'n/a') and attempts
 * whose action did not end the delivery (?3, the action that leaves the
 * message with its sender: a tempfail). A tempfailed message was not
 * received: its sender keeps it and tries again, and the attempt that ends
 * it (accepted, quarantined or rejected) is the one a report counts, as a
 * receiver counts the messages it judged (RFC 9990, RFC 7489), once.
 */
#define DMARC_ROWS " FROM messages WHERE time >= ?1 AND time < ?2 AND dmarc_domain IS NOT NULL" \
	" AND COALESCE(dmarc_report_msg, 0) = 0 AND COALESCE(tls, '') <> 'n/a'" \
	" AND COALESCE(action, '') <> ?3"

static const char sql_dmarc_policies[] =
	"SELECT m.dmarc_domain, m.dmarc_rua, m.dmarc_p, m.dmarc_sp, m.dmarc_np, m.dmarc_adkim,"
	" m.dmarc_aspf, m.dmarc_testing, m.dmarc_discovery FROM messages m JOIN"
	" (SELECT max(id) AS newest" DMARC_ROWS " GROUP BY dmarc_domain) n ON m.id = n.newest"
	" ORDER BY m.dmarc_domain COLLATE BINARY";

static const char sql_dmarc_other[] =
	"SELECT dmarc_domain, from_domain, dmarc_org_other, count(*)" DMARC_ROWS
	" AND dmarc_org_other IS NOT NULL GROUP BY dmarc_domain, from_domain, dmarc_org_other"
	" ORDER BY dmarc_domain COLLATE BINARY, from_domain COLLATE BINARY";

/* envelope_from: the MAIL FROM domain, the HELO name for the null sender */
static const char sql_dmarc_records[] =
	"SELECT dmarc_domain, client_ip, from_domain, COALESCE(mail_from_domain, helo), spf_domain,"
	" spf, dkim, COALESCE(dmarc_dkim_aligned, 0), COALESCE(dmarc_spf_aligned, 0),"
	" dmarc_disposition, dmarc_override, dmarc_override_comment, count(*)" DMARC_ROWS
	" GROUP BY dmarc_domain, client_ip, from_domain, COALESCE(mail_from_domain, helo), spf_domain,"
	" spf, dkim, COALESCE(dmarc_dkim_aligned, 0), COALESCE(dmarc_spf_aligned, 0),"
	" dmarc_disposition, dmarc_override, dmarc_override_comment"
	" ORDER BY dmarc_domain COLLATE BINARY, count(*) DESC, client_ip COLLATE BINARY";

static int
dmarc_statement(struct statsdb *db, const char *sql, long long begin, long long end,
    struct sqldb_stmt **st, char *why, size_t whylen)
{
	if (sqldb_prepare(db->sql, sql, st) != 0)
		return fail(db, "reading the DMARC data", why, whylen);
	sqldb_bind_int(*st, 1, begin);
	sqldb_bind_int(*st, 2, end);
	sqldb_bind_text(*st, 3, action_str(ACT_TEMPFAIL));
	return 0;
}

int
statsdb_dmarc_day(struct statsdb *db, long long begin, long long end,
    const struct statsdb_dmarc_sink *sink, void *arg, char *why, size_t whylen)
{
	struct sqldb_stmt *st;
	int rc = SQLDB_DONE, stopped = 0;

	if (get_ready(db, why, whylen) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(dmarc_columns) / sizeof(dmarc_columns[0]); i++)
		if (!sqldb_has_column(db->sql, "messages", dmarc_columns[i])) {
			snprintf(why, whylen, "the store has no %s column: it was written by a sendercheck "
			    "that kept no DMARC report data (start this version's daemon on it once)",
			    dmarc_columns[i]);
			return -1;
		}
	if (dmarc_statement(db, sql_dmarc_policies, begin, end, &st, why, whylen) < 0)
		return -1;
	while (!stopped && (rc = sqldb_step(st)) == SQLDB_ROW) {
		struct statsdb_dmarc_policy p = {
			sqldb_col_text(st, 0), sqldb_col_text(st, 1), sqldb_col_text(st, 2),
			sqldb_col_text(st, 3), sqldb_col_text(st, 4), sqldb_col_text(st, 5),
			sqldb_col_text(st, 6), sqldb_col_text(st, 7), sqldb_col_text(st, 8),
		};
		stopped = sink->policy(arg, &p, why, whylen) < 0;
	}
	if (!stopped && rc != SQLDB_DONE)
		fail(db, "reading the DMARC policies", why, whylen);
	sqldb_finalize(st);
	if (stopped || rc != SQLDB_DONE)
		return -1;
	if (dmarc_statement(db, sql_dmarc_other, begin, end, &st, why, whylen) < 0)
		return -1;
	while (!stopped && (rc = sqldb_step(st)) == SQLDB_ROW)
		stopped = sink->other(arg, sqldb_col_text(st, 0), sqldb_col_text(st, 1),
		    sqldb_col_text(st, 2), (long)sqldb_col_int(st, 3), why, whylen) < 0;
	if (!stopped && rc != SQLDB_DONE)
		fail(db, "reading the discovery differences", why, whylen);
	sqldb_finalize(st);
	if (stopped || rc != SQLDB_DONE)
		return -1;
	if (dmarc_statement(db, sql_dmarc_records, begin, end, &st, why, whylen) < 0)
		return -1;
	while (!stopped && (rc = sqldb_step(st)) == SQLDB_ROW) {
		struct statsdb_dmarc_record r = {
			.domain = sqldb_col_text(st, 0), .source_ip = sqldb_col_text(st, 1),
			.header_from = sqldb_col_text(st, 2), .envelope_from = sqldb_col_text(st, 3),
			.spf_domain = sqldb_col_text(st, 4), .spf = sqldb_col_text(st, 5),
			.dkim = sqldb_col_text(st, 6), .dkim_aligned = sqldb_col_int(st, 7) != 0,
			.spf_aligned = sqldb_col_int(st, 8) != 0, .disposition = sqldb_col_text(st, 9),
			.override = sqldb_col_text(st, 10), .override_comment = sqldb_col_text(st, 11),
			.count = (long)sqldb_col_int(st, 12),
		};
		stopped = sink->record(arg, &r, why, whylen) < 0;
	}
	if (!stopped && rc != SQLDB_DONE)
		fail(db, "reading the DMARC records", why, whylen);
	sqldb_finalize(st);
	return stopped || rc != SQLDB_DONE ? -1 : 0;
}
