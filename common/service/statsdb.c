/*
 * statsdb: the SQLite statistics file; see statsdb.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "htable.h"
#include "sbuf.h"
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
	sqlite3 *h;
	int writable;
	sqlite3_stmt *ins_msg, *ins_fail, *up_daily, *up_rule;
	/* the row's columns the totals read (-1: none) */
	int c_from, c_spf, c_dkim_pass, c_dmarc, c_aligned, c_bulk, c_oneclick, c_action, c_skipped;
	int c_profile[PROFILE_COUNT], c_failed[PROFILE_COUNT];
	/* the totals as SQL over messages and over daily, in enum total order */
	char counts_messages[2048], counts_daily[2048];
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

/* upgrades[v] takes a file from version v to v + 1 */
static const char *const upgrades[STATSDB_SCHEMA_VERSION] = { schema_v1, upgrade_v2 };

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
	snprintf(why, whylen, "%s: %s", what, db->h ? sqlite3_errmsg(db->h) : "out of memory");
	return -1;
}

static int
exec(struct statsdb *db, const char *sql, char *why, size_t whylen)
{
	char *err = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &err) != SQLITE_OK) {
		snprintf(why, whylen, "%s", err ? err : sqlite3_errmsg(db->h));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static long long
pragma_int(struct statsdb *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
statsdb_schema_version(struct statsdb *db)
{
	return (int)pragma_int(db, "PRAGMA user_version");
}

/* Checks the file is ours and brings it to the current version. */
static int
schema(struct statsdb *db, char *why, size_t whylen)
{
	long long version, app, tables;
	char sql[64], msg[300];

	if (db->writable && exec(db, "BEGIN IMMEDIATE", msg, sizeof(msg)) < 0) {
		snprintf(why, whylen, "cannot lock: %.200s", msg);
		return -1;
	}
	version = pragma_int(db, "PRAGMA user_version");
	app = pragma_int(db, "PRAGMA application_id");
	tables = pragma_int(db, "SELECT count(*) FROM sqlite_master");
	if (version < 0 || app < 0 || tables < 0) {
		fail(db, "cannot read the schema", why, whylen);
		goto rollback;
	}
	if (version == 0 && tables > 0) {
		snprintf(why, whylen, "not a sendercheck statistics file (it has other tables)");
		goto rollback;
	}
	if (version > 0 && app != STATSDB_APP_ID) {
		snprintf(why, whylen, "not a sendercheck statistics file (application_id %lld)", app);
		goto rollback;
	}
	if (version > STATSDB_SCHEMA_VERSION) {
		snprintf(why, whylen, "schema version %lld is newer than this sendercheck's (%d)",
		    version, STATSDB_SCHEMA_VERSION);
		goto rollback;
	}
	if (version == STATSDB_SCHEMA_VERSION)
		return db->writable ? exec(db, "COMMIT", why, whylen) : 0;
	if (!db->writable) {
		snprintf(why, whylen, version == 0 ? "empty file (no statistics written yet)" :
		    "schema version %lld is older than %d: open it for writing to upgrade", version,
		    STATSDB_SCHEMA_VERSION);
		return -1;
	}
	for (long long v = version; v < STATSDB_SCHEMA_VERSION; v++)
		if (exec(db, upgrades[v], msg, sizeof(msg)) < 0) {
			snprintf(why, whylen, "upgrading the schema to version %lld: %.200s", v + 1, msg);
			goto rollback;
		}
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STATSDB_APP_ID);
	if (exec(db, sql, why, whylen) < 0)
		goto rollback;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STATSDB_SCHEMA_VERSION);
	if (exec(db, sql, why, whylen) < 0 || exec(db, "COMMIT", why, whylen) < 0)
		goto rollback;
	return 0;
rollback:
	if (db->writable)
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static const char sql_ins_fail[] =
	"INSERT INTO failures (msg_id, time, domain, profile, rule) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_up_rule[] =
	"INSERT INTO daily_rules (day, domain, profile, rule, failures) VALUES (?1, ?2, ?3, ?4, ?5)"
	" ON CONFLICT (day, domain, profile, rule) DO UPDATE SET failures = failures + ?5";

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
	snprintf(a->key, sizeof(a->key), "%s", key);
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

/* The names of the daily count columns and their SQL over messages, in enum total order. */
static void
total_column(int t, char *col, size_t collen, char *expr, size_t exprlen)
{
	static const char *const base[T_PROFILES][2] = {
		[T_MESSAGES] = { "messages", "count(*)" },
		[T_SPF] = { "spf_pass", "sum(spf = 'pass')" },
		[T_DKIM] = { "dkim_pass", "sum(dkim_pass)" },
		[T_DMARC] = { "dmarc_pass", "sum(dmarc = 'pass')" },
		[T_ALIGNED] = { "aligned", "sum(aligned)" },
		[T_BULK] = { "bulk", "sum(bulk)" },
		[T_BULK_ONECLICK] = { "bulk_oneclick", "sum(bulk AND oneclick = 'pass')" },
	};

	if (t < T_PROFILES) {
		snprintf(col, collen, "%s", base[t][0]);
		snprintf(expr, exprlen, "%s", base[t][1]);
	} else if (t < T_ACTIONS) {
		const char *p = profile_name((enum profile_id)((t - T_PROFILES) / 2));
		int pass = (t - T_PROFILES) % 2;

		snprintf(col, collen, "%s_%s", p, pass ? "pass" : "n");
		snprintf(expr, exprlen, pass ? "sum(%s = 'pass')" : "sum(%s IS NOT NULL)", p);
	} else {
		enum action a = (enum action)(t - T_ACTIONS);

		snprintf(col, collen, "%s", action_cols[a]);
		snprintf(expr, exprlen, "sum(action = '%s')", action_str(a));
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

/* The names of table's columns, space separated with a space at each end. */
static void
column_names(struct statsdb *db, const char *table, struct sbuf *out)
{
	sqlite3_stmt *st;
	char sql[128];

	sbuf_addc(out, ' ');
	snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW)
		sbuf_printf(out, "%s ", (const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
}

static int
listed(const struct sbuf *names, const char *name)
{
	char word[80];

	snprintf(word, sizeof(word), " %s ", name);
	return strstr(names->s, word) != NULL;
}

/* Adds the columns the file lacks: every verdict column to messages, the
 * totals of every profile to daily (a field or profile added since the
 * file was made). Writes nothing when none is missing. */
static int
sync_columns(struct statsdb *db, char *why, size_t whylen)
{
	const struct vcol *cols;
	size_t n = verdict_columns(&cols);
	char sql[256], col[64], expr[128];
	struct sbuf msgs, daily, alter;
	int rc = 0;

	sbuf_init(&msgs, 1 << 16);
	sbuf_init(&daily, 1 << 16);
	sbuf_init(&alter, 1 << 16);
	column_names(db, "messages", &msgs);
	column_names(db, "daily", &daily);
	for (size_t i = 0; i < n; i++)
		if (!listed(&msgs, cols[i].name))
			sbuf_printf(&alter, "ALTER TABLE messages ADD COLUMN \"%s\" %s;", cols[i].name,
			    cols[i].type == VCOL_INT ? "INTEGER" : "TEXT");
	for (int t = 0; t < T_COUNT; t++) {
		total_column(t, col, sizeof(col), expr, sizeof(expr));
		if (!listed(&daily, col))
			sbuf_printf(&alter, "ALTER TABLE daily ADD COLUMN \"%s\" INTEGER NOT NULL DEFAULT 0;",
			    col);
	}
	if (alter.len > 0) {
		snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE");
		if ((rc = exec(db, sql, why, whylen)) == 0 && (rc = exec(db, alter.s, why, whylen)) == 0)
			rc = exec(db, "COMMIT", why, whylen);
		if (rc < 0)
			sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	}
	sbuf_free(&msgs);
	sbuf_free(&daily);
	sbuf_free(&alter);
	return rc;
}

/* The statements of the writer, made from the columns. */
static int
prepare_writes(struct statsdb *db)
{
	const struct vcol *cols;
	size_t n = verdict_columns(&cols);
	char sql[4096], col[64], expr[128];
	size_t o;
	int rc;

	o = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO messages (time, day, domain");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ", \"%s\"", cols[i].name);
	o += (size_t)snprintf(sql + o, sizeof(sql) - o, ") VALUES (?1, ?2, ?3");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ", ?%zu", i + 4);
	snprintf(sql + o, sizeof(sql) - o, ")");
	if (o >= sizeof(sql) - 2 ||
	    sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &db->ins_msg, NULL) != SQLITE_OK)
		return -1;

	/* daily totals: one upsert per day and domain of a batch, counts added */
	o = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO daily (day, domain");
	for (int t = 0; t < T_COUNT; t++) {
		total_column(t, col, sizeof(col), expr, sizeof(expr));
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ", %s", col);
	}
	o += (size_t)snprintf(sql + o, sizeof(sql) - o, ") VALUES (?1, ?2");
	for (int t = 0; t < T_COUNT; t++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ", ?%d", t + 3);
	o += (size_t)snprintf(sql + o, sizeof(sql) - o, ") ON CONFLICT (day, domain) DO UPDATE SET ");
	for (int t = 0; t < T_COUNT; t++) {
		total_column(t, col, sizeof(col), expr, sizeof(expr));
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s%s = %s + ?%d", t ? ", " : "", col, col,
		    t + 3);
	}
	if (o >= sizeof(sql) - 2 ||
	    sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &db->up_daily, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_prepare_v3(db->h, sql_ins_fail, -1, SQLITE_PREPARE_PERSISTENT, &db->ins_fail, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db->h, sql_up_rule, -1, SQLITE_PREPARE_PERSISTENT, &db->up_rule, NULL);
	return rc == SQLITE_OK ? 0 : -1;
}

struct statsdb *
statsdb_open(const char *path, unsigned flags, char *why, size_t whylen)
{
	struct statsdb *db = calloc(1, sizeof(*db));
	int oflags = (flags & STATSDB_WRITE) ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE :
	    SQLITE_OPEN_READONLY;
	char msg[300];

	if (db == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	db->writable = (flags & STATSDB_WRITE) != 0;
	if (sqlite3_open_v2(path, &db->h, oflags | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "out of memory");
		goto bad;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, 2000);
	if (db->writable) {
		/* WAL: readers never block the writer; NORMAL: a process crash
		 * loses no commit (only a power loss may lose the last ones) */
		if (exec(db, "PRAGMA journal_mode = WAL", msg, sizeof(msg)) < 0 ||
		    exec(db, "PRAGMA synchronous = NORMAL", msg, sizeof(msg)) < 0) {
			snprintf(why, whylen, "%s: %s", path, msg);
			goto bad;
		}
	}
	if (schema(db, msg, sizeof(msg)) < 0) {
		snprintf(why, whylen, "%s: %s", path, msg);
		goto bad;
	}
	prepare_totals(db);
	if (db->writable && sync_columns(db, msg, sizeof(msg)) < 0) {
		snprintf(why, whylen, "%s: adding columns: %s", path, msg);
		goto bad;
	}
	if (db->writable && prepare_writes(db) < 0) {
		snprintf(why, whylen, "%s: %s", path, sqlite3_errmsg(db->h));
		goto bad;
	}
	return db;
bad:
	statsdb_close(db);
	return NULL;
}

void
statsdb_close(struct statsdb *db)
{
	if (db == NULL)
		return;
	/* a clean stop leaves everything in the file itself (the WAL empty), so
	 * that a copy of the file alone is complete */
	if (db->writable)
		sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_finalize(db->ins_msg);
	sqlite3_finalize(db->ins_fail);
	sqlite3_finalize(db->up_daily);
	sqlite3_finalize(db->up_rule);
	sqlite3_close(db->h);
	free(db);
}

/* "" is stored as NULL: unknown */
static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL || s[0] == '\0')
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static int
step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : rc;
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

/* One message: its row, its failures, and what it adds to the day's totals. */
static int
insert_one(struct statsdb *db, const struct vrow *r, struct aggs *days, struct aggs *rules)
{
	const struct vcol *cols;
	size_t ncols = verdict_columns(&cols);
	sqlite3_stmt *st = db->ins_msg;
	char day[11];
	const char *dom = row_domain(db, r);
	sqlite3_int64 id;
	int rc;

	statsdb_day(r->time, day);
	sqlite3_bind_int64(st, 1, r->time);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, dom, -1, SQLITE_TRANSIENT);
	for (size_t i = 0; i < ncols; i++) {
		if (vrow_null(r, (int)i))
			sqlite3_bind_null(st, (int)i + 4);
		else if (cols[i].type == VCOL_INT)
			sqlite3_bind_int64(st, (int)i + 4, vrow_int(r, (int)i));
		else
			bind_text(st, (int)i + 4, vrow_text(r, (int)i));
	}
	if ((rc = step_done(st)) != 0)
		return rc;
	if (vrow_int(r, db->c_skipped))
		return 0;
	id = sqlite3_last_insert_rowid(db->h);

	for (int p = 0; p < PROFILE_COUNT; p++) {
		char list[VROW_TEXT_MAX + 1], *save = NULL, *tok;

		snprintf(list, sizeof(list), "%s", vrow_text(r, db->c_failed[p]));
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			const char *prof = profile_name((enum profile_id)p);

			st = db->ins_fail;
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, r->time);
			sqlite3_bind_text(st, 3, dom, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 4, prof, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, tok, -1, SQLITE_TRANSIENT);
			if ((rc = step_done(st)) != 0)
				return rc;
			char key[sizeof(((struct agg *)0)->key)];
			struct agg *g;

			snprintf(key, sizeof(key), "%s\1%s\1%s\1%s", day, dom, prof, tok);
			if ((g = agg_get(rules, key)) == NULL)
				return SQLITE_NOMEM;
			g->v[0]++;
		}
	}

	char key[sizeof(((struct agg *)0)->key)];
	struct agg *g;
	int bulk = vrow_int(r, db->c_bulk) != 0;

	snprintf(key, sizeof(key), "%s\1%s", day, dom);
	if ((g = agg_get(days, key)) == NULL)
		return SQLITE_NOMEM;
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

/* Upserts the batch's totals. */
static int
write_aggs(struct statsdb *db, const struct aggs *days, const struct aggs *rules)
{
	int rc;

	for (const struct agg *g = agg_first(days); g != NULL; g = agg_next(g)) {
		const char *sep = strchr(g->key, '\1');
		sqlite3_stmt *st = db->up_daily;

		sqlite3_bind_text(st, 1, g->key, (int)(sep - g->key), SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, sep + 1, -1, SQLITE_TRANSIENT);
		for (int k = 0; k < AGG_COUNTS; k++)
			sqlite3_bind_int64(st, 3 + k, g->v[k]);
		if ((rc = step_done(st)) != 0)
			return rc;
	}
	for (const struct agg *g = agg_first(rules); g != NULL; g = agg_next(g)) {
		char key[sizeof(g->key)], *f[4], *save = NULL;
		sqlite3_stmt *st = db->up_rule;

		snprintf(key, sizeof(key), "%s", g->key);
		f[0] = strtok_r(key, "\1", &save);
		for (int k = 1; k < 4; k++)
			f[k] = strtok_r(NULL, "\1", &save);
		if (f[3] == NULL)
			continue;
		for (int k = 0; k < 4; k++)
			sqlite3_bind_text(st, 1 + k, f[k], -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 5, g->v[0]);
		if ((rc = step_done(st)) != 0)
			return rc;
	}
	return 0;
}

int
statsdb_insert(struct statsdb *db, struct vrow *const *recs, size_t n,
    char *why, size_t whylen)
{
	int rc;

	if (!db->writable)
		return snprintf(why, whylen, "opened read-only"), -1;
	struct aggs days, rules;

	if (agg_init(&days, n) < 0)
		return snprintf(why, whylen, "out of memory"), -1;
	if (agg_init(&rules, n) < 0) {
		agg_free(&days);
		return snprintf(why, whylen, "out of memory"), -1;
	}
	rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
		agg_free(&days);
		agg_free(&rules);
		return 1;
	}
	if (rc != SQLITE_OK) {
		agg_free(&days);
		agg_free(&rules);
		return fail(db, "begin", why, whylen);
	}
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = insert_one(db, recs[i], &days, &rules);
	if (rc == 0)
		rc = write_aggs(db, &days, &rules);
	agg_free(&days);
	agg_free(&rules);
	if (rc != 0) {
		if (rc == SQLITE_NOMEM)
			snprintf(why, whylen, "insert: out of memory");
		else
			fail(db, "insert", why, whylen);
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
		return ((rc & 0xff) == SQLITE_BUSY) ? 1 : -1;
	}
	rc = sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		fail(db, "commit", why, whylen);
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
		return ((rc & 0xff) == SQLITE_BUSY) ? 1 : -1;
	}
	return 0;
}

long
statsdb_prune(struct statsdb *db, long long before, long limit, char *why, size_t whylen)
{
	sqlite3_stmt *st = NULL;
	char day[11];
	long deleted;

	if (exec(db, "BEGIN IMMEDIATE", why, whylen) < 0)
		return -1;
	/* ids grow with time: the oldest limit messages before the cut */
	if (sqlite3_prepare_v2(db->h, "DELETE FROM failures WHERE msg_id IN (SELECT id FROM messages"
	    " WHERE time < ?1 ORDER BY id LIMIT ?2)", -1, &st, NULL) != SQLITE_OK)
		goto bad;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, limit);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto bad;
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db->h, "DELETE FROM messages WHERE id IN (SELECT id FROM messages"
	    " WHERE time < ?1 ORDER BY id LIMIT ?2)", -1, &st, NULL) != SQLITE_OK)
		goto bad;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, limit);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto bad;
	sqlite3_finalize(st);
	st = NULL;
	deleted = sqlite3_changes(db->h);
	statsdb_day(before, day);
	for (int i = 0; i < 2; i++) {
		if (sqlite3_prepare_v2(db->h, i == 0 ? "DELETE FROM daily WHERE day < ?1" :
		    "DELETE FROM daily_rules WHERE day < ?1", -1, &st, NULL) != SQLITE_OK)
			goto bad;
		sqlite3_bind_text(st, 1, day, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto bad;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (exec(db, "COMMIT", why, whylen) < 0) {
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return deleted;
bad:
	fail(db, "prune", why, whylen);
	sqlite3_finalize(st);
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* ---- reports ---- */

static void
read_counts(sqlite3_stmt *st, int col, struct statsdb_counts *c)
{
	c->messages = sqlite3_column_int64(st, col++);
	c->spf_pass = sqlite3_column_int64(st, col++);
	c->dkim_pass = sqlite3_column_int64(st, col++);
	c->dmarc_pass = sqlite3_column_int64(st, col++);
	c->aligned = sqlite3_column_int64(st, col++);
	c->bulk = sqlite3_column_int64(st, col++);
	c->bulk_oneclick = sqlite3_column_int64(st, col++);
	for (int p = 0; p < PROFILE_COUNT; p++) {
		c->judged[p] = sqlite3_column_int64(st, col++);
		c->compliant[p] = sqlite3_column_int64(st, col++);
	}
	for (int a = 0; a < ACT_COUNT; a++)
		c->action[a] = sqlite3_column_int64(st, col++);
}

static int
prepare(struct statsdb *db, const char *sql, sqlite3_stmt **st, char *why, size_t whylen)
{
	if (sqlite3_prepare_v2(db->h, sql, -1, st, NULL) != SQLITE_OK)
		return fail(db, "query", why, whylen);
	return 0;
}

/* Grows *arr (of elem-byte items) to hold one more; -1 when out of memory. */
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
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;
	char sql[4096];

	*out = NULL;
	*n = 0;
	snprintf(sql, sizeof(sql), "SELECT COALESCE(%s, '(none)') AS k, %s FROM messages"
	    " WHERE skipped = 0 AND time >= ?1 AND (?2 IS NULL OR domain = ?2) GROUP BY k",
	    key, db->counts_messages);
	if (prepare(db, sql, &st, why, whylen) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	bind_text(st, 2, domain);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (grow((void **)out, &cap, *n, sizeof(**out)) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
		struct statsdb_domain *d = &(*out)[(*n)++];
		memset(d, 0, sizeof(*d));
		snprintf(d->domain, sizeof(d->domain), "%s", (const char *)sqlite3_column_text(st, 0));
		read_counts(st, 1, &d->c);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return snprintf(why, whylen, "query: %s", sqlite3_errstr(rc)), -1;
	}
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
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	/* split in C: SQL that splits a list differs between database engines */
	if (prepare(db, "SELECT dkim FROM messages WHERE skipped = 0 AND time >= ?1"
	    " AND (?2 IS NULL OR domain = ?2) AND dkim IS NOT NULL", &st, why, whylen) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	bind_text(st, 2, domain);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0), i = 0;

		while (t != NULL && i < len) {
			size_t start = i;

			while (i < len && t[i] != ' ')
				i++;
			if (i > start && count_signature(out, n, &cap, t + start, i - start) < 0) {
				rc = SQLITE_NOMEM;
				break;
			}
			i++;
		}
		if (rc == SQLITE_NOMEM)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return snprintf(why, whylen, "query: %s", sqlite3_errstr(rc)), -1;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), selector_order);
	return 0;
}

int
statsdb_backup(struct statsdb *db, const char *dest, char *why, size_t whylen)
{
	sqlite3 *to = NULL;
	sqlite3_backup *b;
	int rc;

	int fd;

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
	if ((b = sqlite3_backup_init(to, "main", db->h, "main")) == NULL) {
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

int
statsdb_rules(struct statsdb *db, long long since, const char *domain,
    struct statsdb_rule **out, size_t *n, long *messages, char *why, size_t whylen)
{
	static const char *const q[3] = {
		"SELECT rule, count(DISTINCT msg_id) FROM failures"
		" WHERE time >= ?1 AND (?2 IS NULL OR domain = ?2) GROUP BY rule",
		"SELECT rule, profile, count(*) FROM failures"
		" WHERE time >= ?1 AND (?2 IS NULL OR domain = ?2) GROUP BY rule, profile",
		"SELECT rule, domain, count(DISTINCT msg_id) AS k FROM failures"
		" WHERE time >= ?1 AND (?2 IS NULL OR domain = ?2) GROUP BY rule, domain"
		" ORDER BY rule, k DESC, domain",
	};
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc = SQLITE_DONE;

	*out = NULL;
	*n = 0;
	*messages = 0;
	if (prepare(db, "SELECT count(*) FROM messages WHERE skipped = 0 AND time >= ?1"
	    " AND (?2 IS NULL OR domain = ?2)", &st, why, whylen) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	bind_text(st, 2, domain);
	if (sqlite3_step(st) == SQLITE_ROW)
		*messages = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	for (int k = 0; k < 3 && rc == SQLITE_DONE; k++) {
		if (prepare(db, q[k], &st, why, whylen) < 0)
			goto bad;
		sqlite3_bind_int64(st, 1, since);
		bind_text(st, 2, domain);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct statsdb_rule *r = rule_row(out, n, &cap, (const char *)sqlite3_column_text(st, 0));
			const char *s1 = (const char *)sqlite3_column_text(st, 1);
			int p;

			if (r == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			if (k == 0)
				r->messages = (long)sqlite3_column_int64(st, 1);
			else if (k == 1 && (p = profile_parse(s1)) >= 0)
				r->per_profile[p] = (long)sqlite3_column_int64(st, 2);
			else if (k == 2 && r->n_top < sizeof(r->top) / sizeof(r->top[0])) {
				snprintf(r->top[r->n_top].domain, sizeof(r->top[0].domain), "%s", s1);
				r->top[r->n_top++].n = (long)sqlite3_column_int64(st, 2);
			}
		}
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_DONE) {
		snprintf(why, whylen, "query: %s", sqlite3_errstr(rc));
		goto bad;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), rule_order);
	return 0;
bad:
	free(*out);
	*out = NULL;
	*n = 0;
	return -1;
}

int
statsdb_trend(struct statsdb *db, long long since, const char *domain,
    struct statsdb_day **out, size_t *n, char *why, size_t whylen)
{
	sqlite3_stmt *st;
	char day[11];
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	statsdb_day(since, day);
	char sql[4096];

	snprintf(sql, sizeof(sql), "SELECT day, %s FROM daily WHERE day >= ?1"
	    " AND (?2 IS NULL OR domain = ?2) GROUP BY day ORDER BY day", db->counts_daily);
	if (prepare(db, sql, &st, why, whylen) < 0)
		return -1;
	sqlite3_bind_text(st, 1, day, -1, SQLITE_TRANSIENT);
	bind_text(st, 2, domain);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(st, 0);
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
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return snprintf(why, whylen, "query: %s", sqlite3_errstr(rc)), -1;
	}
	return 0;
nomem:
	sqlite3_finalize(st);
	free(*out);
	*out = NULL;
	*n = 0;
	return snprintf(why, whylen, "out of memory"), -1;
}
