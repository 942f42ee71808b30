/* Unit tests of the statistics modules: statsdb (schema, insert, reports,
 * prune (in chunks), rules from the messages' failed lists, refusing foreign or newer files, batches of many statements
 * stored once, on PostgreSQL too when SC_TEST_PG_URI names a database), stats (bounded queue: drops
 * when full, writes everything queued at stop), metrics (exposition text)
 * and statshtml (escaping, SVG). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "metrics.h"
#include "sqldb.h"
#include "stats.h"
#include "statsdb.h"
#include "statshtml.h"

static char dir[] = "/tmp/sc-test-stats-XXXXXX";

static const char *
path(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	unlink(buf);
	return buf;
}

static void
rec(struct vrow *r, long long t, const char *from, const char *spf, const char *google_failed)
{
	vrow_init(r, t);
	if (from[0])
		assert_int_equal(vrow_set_text(r, "from_domain", from), 0);
	assert_int_equal(vrow_set_text(r, "spf", spf), 0);
	assert_int_equal(vrow_set_text(r, "dmarc", "pass"), 0);
	assert_int_equal(vrow_set_int(r, "aligned", 1), 0);
	assert_int_equal(vrow_set_int(r, "dkim_pass", 1), 0);
	assert_int_equal(vrow_set_int(r, "skipped", 0), 0);
	assert_int_equal(vrow_set_text(r, "action", "accept"), 0);
	assert_int_equal(vrow_set_text(r, "google", google_failed[0] ? "fail" : "pass"), 0);
	if (google_failed[0])
		assert_int_equal(vrow_set_text(r, "google_failed", google_failed), 0);
	assert_int_equal(vrow_set_text(r, "yahoo", "pass"), 0);
}

static void
test_db_reports(void **state)
{
	char why[300];
	struct statsdb *db;
	static struct vrow r[4];
	struct vrow *p[4] = { &r[0], &r[1], &r[2], &r[3] };
	struct statsdb_domain *d;
	struct statsdb_rule *ru;
	struct statsdb_day *days;
	size_t n;
	long msgs;
	long long now = 1795000000;	/* 2026-11-18 */

	(void)state;
	db = statsdb_open(path("a.db"), STATSDB_WRITE, why, sizeof(why));
	assert_non_null(db);
	assert_int_equal(statsdb_schema_version(db), STATSDB_SCHEMA_VERSION);
	rec(&r[0], now, "a.test", "pass", "");
	rec(&r[1], now, "a.test", "fail", "spf,dkim");
	rec(&r[2], now - 86400 * 2, "b.test", "pass", "spf");
	rec(&r[3], now, "", "none", "");
	assert_int_equal(vrow_set_int(&r[1], "bulk", 1), 0);
	assert_int_equal(vrow_set_text(&r[1], "oneclick", "pass"), 0);
	assert_int_equal(statsdb_insert(db, p, 4, why, sizeof(why)), 0);

	assert_int_equal(statsdb_domains(db, now - 86400 * 7, NULL, &d, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].domain, "a.test") == 0) {
			assert_int_equal(d[i].c.messages, 2);
			assert_int_equal(d[i].c.spf_pass, 1);
			assert_int_equal(d[i].c.judged[PROFILE_GOOGLE], 2);
			assert_int_equal(d[i].c.compliant[PROFILE_GOOGLE], 1);
			assert_int_equal(d[i].c.judged[PROFILE_MICROSOFT], 0);
			assert_int_equal(d[i].c.bulk, 1);
			assert_int_equal(d[i].c.bulk_oneclick, 1);
		} else if (strcmp(d[i].domain, STATSDB_NO_DOMAIN) != 0) {
			assert_string_equal(d[i].domain, "b.test");
		}
	free(d);
	assert_int_equal(statsdb_domains(db, now - 86400, "b.test", &d, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 0);
	free(d);

	assert_int_equal(statsdb_rules(db, 0, NULL, &ru, &n, &msgs, why, sizeof(why)), 0);
	assert_int_equal(msgs, 4);
	assert_int_equal(n, 2);
	assert_string_equal(ru[0].rule, "spf");		/* most failures first */
	assert_int_equal(ru[0].messages, 2);
	assert_int_equal(ru[0].n_top, 2);
	assert_string_equal(ru[1].rule, "dkim");
	assert_string_equal(ru[1].top[0].domain, "a.test");
	free(ru);

	assert_int_equal(statsdb_trend(db, now - 86400 * 3, NULL, &days, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 3);			/* the empty day between is filled */
	assert_int_equal(days[0].c.messages, 1);
	assert_int_equal(days[1].c.messages, 0);
	assert_int_equal(days[2].c.messages, 3);
	free(days);

	assert_int_equal(statsdb_prune(db, now - 86400, 1000, why, sizeof(why)), 1);
	assert_int_equal(statsdb_rules(db, 0, NULL, &ru, &n, &msgs, why, sizeof(why)), 0);
	assert_int_equal(msgs, 3);
	free(ru);
	statsdb_close(db);

	/* read-only opening sees the same */
	db = statsdb_open(path("a.db") , 0, why, sizeof(why));
	assert_null(db);		/* path() unlinked it: gone */
}

/* The failures a rules report counts: each profile's, of each rule. */
static long
failures_reported(const struct statsdb_rule *ru, size_t n)
{
	long sum = 0;

	for (size_t i = 0; i < n; i++)
		for (int p = 0; p < PROFILE_COUNT; p++)
			sum += ru[i].per_profile[p];
	return sum;
}

/* Many domains and failures in one batch: the in-memory totals grow. */
static void
test_db_batch_totals(void **state)
{
	char why[300];
	struct statsdb *db;
	enum { N = 300 };
	struct vrow *r = calloc(N, sizeof(*r)), *p[N];
	struct statsdb_rule *ru;
	struct statsdb_domain *d;
	size_t n;
	long msgs;

	(void)state;
	assert_non_null(r);
	db = statsdb_open(path("b.db"), STATSDB_WRITE, why, sizeof(why));
	assert_non_null(db);
	for (int i = 0; i < N; i++) {
		char dom[32];

		snprintf(dom, sizeof(dom), "d%d.test", i % 150);
		rec(&r[i], 1795000000 + i, dom, "pass", "spf,dkim,tls");
		assert_int_equal(vrow_set_text(&r[i], "yahoo", "fail"), 0);
		assert_int_equal(vrow_set_text(&r[i], "yahoo_failed", "spf,iprev"), 0);
		p[i] = &r[i];
	}
	assert_int_equal(statsdb_insert(db, p, N, why, sizeof(why)), 0);
	assert_int_equal(statsdb_domains(db, 0, NULL, &d, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 150);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(d[i].c.messages, 2);
	free(d);
	assert_int_equal(statsdb_rules(db, 0, NULL, &ru, &n, &msgs, why, sizeof(why)), 0);
	assert_int_equal(n, 4);
	assert_string_equal(ru[0].rule, "dkim");	/* a tie: by name */
	assert_string_equal(ru[2].rule, "spf");
	assert_int_equal(ru[2].messages, N);
	assert_int_equal(ru[2].per_profile[PROFILE_GOOGLE], N);
	assert_int_equal(ru[2].per_profile[PROFILE_YAHOO], N);
	assert_int_equal(failures_reported(ru, n), N * 5);
	free(ru);
	statsdb_close(db);

	/* the per-day rule totals agree with the messages' failed lists; no
	 * failure rows since schema 6 (the table stays for older daemons) */
	char file[256];
	sqlite3 *h;
	sqlite3_stmt *st;

	snprintf(file, sizeof(file), "%s/b.db", dir);
	assert_int_equal(sqlite3_open(file, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
			     "SELECT (SELECT sum(failures) FROM daily_rules),"
			     " (SELECT count(*) FROM failures), "
			     "(SELECT count(*) FROM daily_rules)",
			     -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), N * 5);
	assert_int_equal(sqlite3_column_int(st, 1), 0);
	assert_int_equal(sqlite3_column_int(st, 2), 150 * 5);
	sqlite3_finalize(st);
	sqlite3_close(h);
	free(r);
}

/* The failures the rules report counts in the whole store. */
static long
failures_in(const char *target)
{
	struct statsdb_rule *ru = NULL;
	size_t n;
	long msgs, sum;
	char why[300];
	struct statsdb *db = statsdb_open(target, 0, why, sizeof(why));

	if (db == NULL)
		fail_msg("%s", why);
	if (statsdb_rules(db, 0, NULL, &ru, &n, &msgs, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	sum = failures_reported(ru, n);
	free(ru);
	statsdb_close(db);
	return sum;
}

/* One count from the store (SQLite or PostgreSQL alike). */
static long long
count(struct sqldb *h, const char *sql)
{
	struct sqldb_stmt *st;
	long long v;

	assert_int_equal(sqldb_prepare(h, sql, &st), 0);
	assert_int_equal(sqldb_step(st), SQLDB_ROW);
	v = sqldb_col_int(st, 0);
	sqldb_finalize(st);
	return v;
}

enum {
	STORED_MSGS,
	STORED_IDS,
	STORED_DAILY,
	STORED_RULES,
	STORED_BATCHES,
	STORED_DOM5,
	STORED_DOM10,
	STORED_FAILS,
	STORED_COUNT
};

static void
stored(const char *target, long long out[STORED_COUNT])
{
	static const char *const sql[STORED_COUNT] = {
		"SELECT count(*) FROM messages",
		"SELECT count(DISTINCT id) FROM messages",
		"SELECT coalesce(sum(messages), 0) FROM daily",
		"SELECT coalesce(sum(failures), 0) FROM daily_rules",
		"SELECT count(*) FROM batches",
		"SELECT coalesce(sum(messages), 0) FROM daily WHERE domain = 'batch5.test'",
		"SELECT coalesce(sum(messages), 0) FROM daily WHERE domain = 'batch10.test'",
	};
	char why[400];
	struct sqldb *h = sqldb_open(target, 0, NULL, why, sizeof(why));

	if (h == NULL)
		fail_msg("%s", why);
	for (int i = 0; i < STORED_FAILS; i++)
		out[i] = count(h, sql[i]);
	sqldb_close(h);
	out[STORED_FAILS] = failures_in(target);
}

/*
 * Batches far larger than one statement's rows (the writer's full batch of
 * 1000, then an odd one of 77 for the same days and domains): every
 * message stored once with its own id, its failures in the rules report,
 * the daily totals and rule counts added up, one batch id each; a message
 * the checks skipped is stored but neither judged nor counted.
 */
static void
batch_stored_once(const char *target)
{
	enum { N = 1000, M = 77, DOMAINS = 300, SKIPPED = 7 };
	char why[400];
	struct statsdb *db;
	struct vrow *r = calloc(N, sizeof(*r)), *p[N];
	long long before[STORED_COUNT], after[STORED_COUNT], t0 = 1795000000;

	assert_non_null(r);
	db = statsdb_open(target, STATSDB_WRITE, why, sizeof(why));
	if (db == NULL)
		fail_msg("%s", why);
	statsdb_set_host(db, "mx-batch");
	stored(target, before);
	for (int i = 0; i < N; i++) {
		char dom[32];

		snprintf(dom, sizeof(dom), "batch%d.test", i % DOMAINS);
		/* five failures each, over two profiles; one message per second */
		rec(&r[i], t0 + i, dom, "pass", i % 2 ? "spf,dkim,tls" : "dkim,,iprev,tls");
		assert_int_equal(vrow_set_text(&r[i], "yahoo", "fail"), 0);
		assert_int_equal(vrow_set_text(&r[i], "yahoo_failed", i % 2 ? "spf,iprev" : "unsub"), 0);
		assert_int_equal(vrow_set_int(&r[i], "skipped", i < SKIPPED), 0);
		p[i] = &r[i];
	}
	assert_int_equal(statsdb_insert(db, p, N, why, sizeof(why)), 0);
	for (int i = 0; i < M; i++)
		r[i].time = t0 + N + i;
	assert_int_equal(statsdb_insert(db, p, M, why, sizeof(why)), 0);
	statsdb_close(db);

	stored(target, after);
	long long judged = N + M - 2 * SKIPPED;
	long long fails = 0;

	for (int i = 0; i < N + M; i++)	/* 5 for an odd i, 4 for an even one */
		if (i % N >= SKIPPED)
			fails += (i % N) % 2 ? 5 : 4;
	assert_int_equal(after[STORED_MSGS] - before[STORED_MSGS], N + M);
	assert_int_equal(after[STORED_IDS] - before[STORED_IDS], N + M);
	assert_int_equal(after[STORED_FAILS] - before[STORED_FAILS], fails);
	assert_int_equal(after[STORED_DAILY] - before[STORED_DAILY], judged);
	assert_int_equal(after[STORED_RULES] - before[STORED_RULES], fails);
	assert_int_equal(after[STORED_BATCHES] - before[STORED_BATCHES], 2);

	/* the days' totals of a domain add both batches: the upserts added,
	 * not replaced (i = 5 is skipped; 305, 605, 905; 10, 310, 610, 910, 10) */
	assert_int_equal(after[STORED_DOM5] - before[STORED_DOM5], 3);
	assert_int_equal(after[STORED_DOM10] - before[STORED_DOM10], 5);
	free(r);
}

static void
test_db_batch_stored_once_sqlite(void **state)
{
	(void)state;
	batch_stored_once(path("once.db"));
}

/* SC_TEST_PG_URI: a database of the fleet test group's PostgreSQL (the
 * test is skipped without it). */
static const char *
test_pg_uri(void)
{
	const char *uri = getenv("SC_TEST_PG_URI");

	if (uri == NULL || uri[0] == '\0')
		skip();
	return uri;
}

static void
test_db_batch_stored_once_postgresql(void **state)
{
	(void)state;
	batch_stored_once(test_pg_uri());
}

static const struct statsdb_rule *
find_rule(const struct statsdb_rule *ru, size_t n, const char *rule)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ru[i].rule, rule) == 0)
			return &ru[i];
	fail_msg("no rule %s in the report", rule);
	return NULL;
}

/*
 * The rules report from the messages' failed lists: a rule counts once a
 * message however many profiles it failed it for, once a profile list in
 * per_profile; empty items and skipped messages are not counted; the top
 * domains by messages, then by name; --host and --domain narrow it. (The
 * same figures as the failures table gave before schema 6.)
 */
static void
rules_report(const char *target)
{
	static const struct {
		const char *host, *dom, *google, *yahoo;
		int skipped;
	} m[] = {
		{ "mx1", "ra.test", "tls,spf", "spf", 0 },
		{ "mx1", "rb.test", "spf", "", 0 },
		{ "mx1", "rb.test", "spf,,tls", "", 0 },
		{ "mx1", "rc.test", "spf", "", 1 },
		{ "mx2", "ra.test", "spf", "", 0 },
		/* alike: the server counts them as one row of two */
		{ "mx1", "rd.test", "dkim,spf", "", 0 },
		{ "mx1", "rd.test", "dkim,spf", "", 0 },
	};
	enum { M = sizeof(m) / sizeof(m[0]) };
	static struct vrow r[M];
	long long t = 2000000000;
	const struct statsdb_rule *x;
	struct statsdb_rule *ru;
	struct statsdb *db;
	char why[300];
	size_t n;
	long msgs;

	if ((db = statsdb_open(target, STATSDB_WRITE, why, sizeof(why))) == NULL)
		fail_msg("%s", why);
	for (int i = 0; i < M; i++) {
		struct vrow *p[1] = { &r[i] };

		rec(&r[i], t + i, m[i].dom, "pass", m[i].google);
		assert_int_equal(vrow_set_text(&r[i], "yahoo", m[i].yahoo[0] ? "fail" : "pass"), 0);
		if (m[i].yahoo[0])
			assert_int_equal(vrow_set_text(&r[i], "yahoo_failed", m[i].yahoo), 0);
		assert_int_equal(vrow_set_int(&r[i], "skipped", m[i].skipped), 0);
		statsdb_set_host(db, m[i].host);
		assert_int_equal(statsdb_insert(db, p, 1, why, sizeof(why)), 0);
	}

	assert_int_equal(statsdb_rules(db, t, NULL, &ru, &n, &msgs, why, sizeof(why)), 0);
	assert_int_equal(msgs, 6);
	assert_int_equal(n, 3);
	assert_string_equal(ru[0].rule, "spf");
	assert_int_equal(ru[0].messages, 6);
	assert_int_equal(ru[0].per_profile[PROFILE_GOOGLE], 6);
	assert_int_equal(ru[0].per_profile[PROFILE_YAHOO], 1);
	assert_int_equal(ru[0].n_top, 3);
	assert_string_equal(ru[0].top[0].domain, "ra.test"); /* a tie: by name */
	assert_int_equal(ru[0].top[0].n, 2);
	assert_string_equal(ru[0].top[1].domain, "rb.test");
	assert_int_equal(ru[0].top[1].n, 2);
	assert_string_equal(ru[0].top[2].domain, "rd.test");
	assert_int_equal(ru[0].top[2].n, 2);
	x = find_rule(ru, n, "dkim");
	assert_int_equal(x->messages, 2);
	assert_int_equal(x->per_profile[PROFILE_GOOGLE], 2);
	assert_int_equal(x->n_top, 1);
	assert_string_equal(x->top[0].domain, "rd.test");
	assert_int_equal(x->top[0].n, 2);
	x = find_rule(ru, n, "tls");
	assert_int_equal(x->messages, 2);
	assert_int_equal(x->per_profile[PROFILE_GOOGLE], 2);
	assert_int_equal(x->n_top, 2);
	free(ru);

	assert_int_equal(statsdb_filter_host(db, "mx2"), 0);
	assert_int_equal(statsdb_rules(db, t, NULL, &ru, &n, &msgs, why, sizeof(why)), 0);
	assert_int_equal(msgs, 1);
	assert_int_equal(n, 1);
	assert_string_equal(ru[0].rule, "spf");
	assert_int_equal(ru[0].messages, 1);
	free(ru);
	assert_int_equal(statsdb_filter_host(db, NULL), 0);

	assert_int_equal(statsdb_rules(db, t, "rb.test", &ru, &n, &msgs, why, sizeof(why)), 0);
	assert_int_equal(msgs, 2);
	assert_int_equal(n, 2);
	assert_int_equal(find_rule(ru, n, "spf")->messages, 2);
	x = find_rule(ru, n, "tls");
	assert_int_equal(x->messages, 1);
	assert_int_equal(x->n_top, 1);
	assert_string_equal(x->top[0].domain, "rb.test");
	free(ru);
	statsdb_close(db);
}

static void
test_db_rules_report_sqlite(void **state)
{
	(void)state;
	rules_report(path("rules.db"));
}

static void
test_db_rules_report_postgresql(void **state)
{
	(void)state;
	rules_report(test_pg_uri());
}

/* Writes n messages of domain dom through db. */
static void
write_ids_batch(struct statsdb *db, const char *dom, int n)
{
	struct vrow *r = calloc((size_t)n, sizeof(*r));
	struct vrow **p = calloc((size_t)n, sizeof(*p));
	char why[400];

	assert_non_null(r);
	assert_non_null(p);
	for (int i = 0; i < n; i++) {
		rec(&r[i], 1795000000 + i, dom, "pass", "");
		p[i] = &r[i];
	}
	if (statsdb_insert(db, p, (size_t)n, why, sizeof(why)) != 0)
		fail_msg("%s: %s", dom, why);
	free(p);
	free(r);
}

/*
 * Two daemons writing into one database by turns: the ids of a batch are
 * drawn in blocks of the id sequence's increment (1000 since schema 5), a
 * value per block, no id given twice, each batch's above the one before
 * it (pruning and the DMARC report take ids for time order). A sequence
 * that counts by one (set so by hand, past the ids given) gives a row an
 * id a value.
 */
static void
test_db_ids_in_blocks_postgresql(void **state)
{
	static const struct {
		int writer, n;
	} batch[] = { { 0, 3 }, { 1, 1500 }, { 0, 1 }, { 1, 3 } };
	const char *uri = test_pg_uri();
	char why[400], sql[256];
	struct statsdb *db[2];
	struct sqldb *h;
	long long last0, draws = 0, rows = 0;

	(void)state;
	for (int w = 0; w < 2; w++) {
		if ((db[w] = statsdb_open(uri, STATSDB_WRITE, why, sizeof(why))) == NULL)
			fail_msg("%s", why);
		statsdb_set_host(db[w], w ? "ids-b" : "ids-a");
	}
	if ((h = sqldb_open(uri, SQLDB_OPEN_WRITE, NULL, why, sizeof(why))) == NULL)
		fail_msg("%s", why);
	assert_int_equal(count(h,
			     "SELECT seqincrement FROM pg_sequence"
			     " WHERE seqrelid = pg_get_serial_sequence('messages', "
			     "'id')::regclass"),
	    1000);
	last0 = count(h,
	    "SELECT coalesce(last_value, 0) FROM pg_sequences WHERE sequencename = "
	    "'messages_id_seq'");
	for (size_t k = 0; k < sizeof(batch) / sizeof(batch[0]); k++) {
		char dom[32];

		snprintf(dom, sizeof(dom), "ids%zu.test", k);
		write_ids_batch(db[batch[k].writer], dom, batch[k].n);
		draws += (batch[k].n + 999) / 1000;
		rows += batch[k].n;
		snprintf(sql, sizeof(sql),
		    "SELECT count(DISTINCT id) FROM messages WHERE domain = '%s'", dom);
		assert_int_equal(count(h, sql), batch[k].n);
		if (k > 0) {
			snprintf(sql, sizeof(sql),
			    "SELECT CASE WHEN (SELECT min(id) FROM messages WHERE domain ="
			    " 'ids%zu.test') > (SELECT max(id) FROM messages WHERE domain = "
			    "'ids%zu.test') THEN 1 END",
			    k, k - 1);
			assert_int_equal(count(h, sql), 1);
		}
	}
	/* one value of the sequence per block (a new sequence starts at 1) */
	assert_int_equal(
	    count(h, "SELECT last_value FROM pg_sequences WHERE sequencename = 'messages_id_seq'"),
	    last0 > 0 ? last0 + draws * 1000 : 1 + (draws - 1) * 1000);
	assert_int_equal(count(h,
			     "SELECT count(DISTINCT id) FROM messages WHERE domain LIKE 'ids%'"),
	    rows);

	/* counting by one from the last id given: a value a row */
	assert_int_equal(sqldb_exec(h, "ALTER SEQUENCE messages_id_seq INCREMENT BY 1"), 0);
	last0 = count(h, "SELECT setval('messages_id_seq', (SELECT max(id) FROM messages))");
	write_ids_batch(db[0], "ids-by-one.test", 5);
	write_ids_batch(db[1], "ids-by-one.test", 4);
	assert_int_equal(count(h,
			     "SELECT count(DISTINCT id) FROM messages WHERE domain LIKE 'ids%'"),
	    rows + 9);
	assert_int_equal(
	    count(h, "SELECT last_value FROM pg_sequences WHERE sequencename = 'messages_id_seq'"),
	    last0 + 9);
	assert_int_equal(sqldb_exec(h, "ALTER SEQUENCE messages_id_seq INCREMENT BY 1000"), 0);
	sqldb_close(h);
	statsdb_close(db[0]);
	statsdb_close(db[1]);
}

/* Messages of domain dom that have failures in the store (any time). */
static long
failed_messages(struct statsdb *db, const char *dom)
{
	struct statsdb_rule *ru = NULL;
	size_t n;
	long msgs = -1;
	char why[300];

	if (statsdb_rules(db, 0, dom, &ru, &n, &msgs, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	free(ru);
	return msgs;
}

/*
 * Pruning in chunks: each chunk takes the oldest messages before the cut
 * (and with them their failures in the rules report); at the end every
 * message before the cut is gone and those after it are kept.
 */
static void
prune_in_chunks(const char *target)
{
	enum { OLD = 25, NEW = 5, CHUNK = 10 };
	static struct vrow r[OLD + NEW];
	struct vrow *p[OLD + NEW];
	long long t_old = 1000000000, t_new = 1795000000, cut = 1100000000;
	char why[400];
	struct statsdb *db = statsdb_open(target, STATSDB_WRITE, why, sizeof(why));

	if (db == NULL)
		fail_msg("%s", why);
	for (int i = 0; i < OLD + NEW; i++) {
		/* one message a second; the old ones with two failures each */
		rec(&r[i], i < OLD ? t_old + i : t_new + i, i < OLD ? "prune-old.test" : "prune-new.test",
		    "pass", i < OLD ? "spf,tls" : "tls");
		p[i] = &r[i];
	}
	assert_int_equal(statsdb_insert(db, p, OLD + NEW, why, sizeof(why)), 0);
	assert_int_equal(failed_messages(db, "prune-old.test"), OLD);
	assert_int_equal(statsdb_prune(db, cut, CHUNK, why, sizeof(why)), CHUNK);
	assert_int_equal(failed_messages(db, "prune-old.test"), OLD - CHUNK);
	assert_int_equal(statsdb_prune(db, cut, CHUNK, why, sizeof(why)), CHUNK);
	assert_int_equal(statsdb_prune(db, cut, CHUNK, why, sizeof(why)), OLD - 2 * CHUNK);
	assert_int_equal(statsdb_prune(db, cut, CHUNK, why, sizeof(why)), 0);
	assert_int_equal(failed_messages(db, "prune-old.test"), 0);
	assert_int_equal(failed_messages(db, "prune-new.test"), NEW);
	statsdb_close(db);
}

static void
test_db_prune_in_chunks_sqlite(void **state)
{
	(void)state;
	prune_in_chunks(path("prune.db"));
}

static void
test_db_prune_in_chunks_postgresql(void **state)
{
	(void)state;
	prune_in_chunks(test_pg_uri());
}

/* A store whose failures table was dropped (by hand, or by a sendercheck
 * of 2026-12-02 14:27-14:39 that dropped it at schema 6) still prunes. */
static void
test_db_prune_without_failures_table(void **state)
{
	static struct vrow r[3];
	struct vrow *p[3] = { &r[0], &r[1], &r[2] };
	const char *f = path("nofail.db");
	char why[300];
	struct statsdb *db;
	sqlite3 *h;

	(void)state;
	assert_non_null(db = statsdb_open(f, STATSDB_WRITE, why, sizeof(why)));
	rec(&r[0], 1000000000, "old.test", "pass", "tls");
	rec(&r[1], 1000000001, "old.test", "pass", "");
	rec(&r[2], 1795000000, "new.test", "pass", "tls");
	assert_int_equal(statsdb_insert(db, p, 3, why, sizeof(why)), 0);
	statsdb_close(db);
	assert_int_equal(sqlite3_open(f, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "DROP TABLE failures", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_non_null(db = statsdb_open(f, STATSDB_WRITE, why, sizeof(why)));
	assert_int_equal(statsdb_prune(db, 1100000000, 1000, why, sizeof(why)), 2);
	assert_int_equal(failed_messages(db, "new.test"), 1);
	statsdb_close(db);
}

static void
test_db_refuses(void **state)
{
	char why[300];
	sqlite3 *h;
	const char *p = path("foreign.db");

	(void)state;
	assert_int_equal(sqlite3_open(p, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_null(statsdb_open(p, STATSDB_WRITE, why, sizeof(why)));
	assert_non_null(strstr(why, "not a sendercheck statistics file"));

	p = path("newer.db");
	assert_int_equal(sqlite3_open(p, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA application_id = 1396919089; PRAGMA user_version = 99;"
	    " CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_null(statsdb_open(p, STATSDB_WRITE, why, sizeof(why)));
	assert_non_null(strstr(why, "newer"));
}

/* A column the file lacks (a field added to the verdict since the file
 * was made) is added when it is opened for writing, and filled. */
static void
test_db_adds_missing_columns(void **state)
{
	char why[300];
	struct statsdb *db;
	static struct vrow r;
	struct vrow *p[1] = { &r };
	sqlite3 *h;
	sqlite3_stmt *st;
	const char *f = path("cols.db");

	(void)state;
	db = statsdb_open(f, STATSDB_WRITE, why, sizeof(why));
	assert_non_null(db);
	statsdb_close(db);
	assert_int_equal(sqlite3_open(f, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "ALTER TABLE messages DROP COLUMN oneclick;"
	    " ALTER TABLE daily DROP COLUMN yahoo_pass", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	/* read-only: not changed, still readable */
	db = statsdb_open(f, 0, why, sizeof(why));
	assert_non_null(db);
	statsdb_close(db);
	db = statsdb_open(f, STATSDB_WRITE, why, sizeof(why));
	assert_non_null(db);
	rec(&r, 1795000000, "c.test", "pass", "");
	assert_int_equal(vrow_set_text(&r, "oneclick", "pass"), 0);
	assert_int_equal(statsdb_insert(db, p, 1, why, sizeof(why)), 0);
	statsdb_close(db);
	assert_int_equal(sqlite3_open(f, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT (SELECT oneclick FROM messages),"
	    " (SELECT yahoo_pass FROM daily)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "pass");
	assert_int_equal(sqlite3_column_int(st, 1), 1);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static void
verdict_init(struct verdict *v, const char *from)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->env.client_ip, sizeof(v->env.client_ip), "192.0.2.10");
	snprintf(v->env.mail_from, sizeof(v->env.mail_from), "b@%s", from);
	snprintf(v->dmarc.from_domain, sizeof(v->dmarc.from_domain), "%s", from);
	v->dmarc_done = 1;
	v->spf_done = 1;
	v->spf.result = SPF_RES_PASS;
	v->compliance.profile[PROFILE_GOOGLE].enabled = 1;
	v->compliance.profile[PROFILE_GOOGLE].pass = 1;
}

static void
test_queue_drops_when_full(void **state)
{
	char why[300];
	struct stats *s;
	struct stats_counters c;
	struct verdict v;

	(void)state;
	verdict_init(&v, "q.test");
	s = stats_open(path("q.db"), "mx1", 2, 90, why, sizeof(why));
	assert_non_null(s);
	/* writer not started: the queue fills */
	assert_int_equal(stats_record(s, &v), 0);
	assert_int_equal(stats_record(s, &v), 0);
	assert_int_equal(stats_record(s, &v), -1);
	stats_get_counters(s, &c);
	assert_int_equal(c.queued, 2);
	assert_int_equal(c.dropped, 1);
	assert_int_equal(c.queue_length, 2);
	stats_free(s);
}

/* Polls the counters until written reaches want (5 s at most). */
static void
wait_written(struct stats *s, unsigned long want)
{
	struct stats_counters c;

	for (int i = 0; i < 5000; i++) {
		stats_get_counters(s, &c);
		if (c.written >= want)
			return;
		usleep(1000);
	}
	fail_msg("written: %lu, want %lu", c.written, want);
}

/* A queue smaller than a batch, filled within the linger time after a
 * commit: the writer takes it when it is full (it does not sleep out the
 * linger while verdicts are dropped). */
static void
test_writer_takes_a_full_queue_at_once(void **state)
{
	char why[300];
	struct stats *s;
	struct stats_counters c;
	struct verdict v;
	int taken = 0;

	(void)state;
	verdict_init(&v, "f.test");
	s = stats_open(path("f.db"), "mx1", 3, 90, why, sizeof(why));
	assert_non_null(s);
	assert_int_equal(stats_start(s, why, sizeof(why)), 0);
	assert_int_equal(stats_record(s, &v), 0);
	wait_written(s, 1);
	/* within the linger after that commit: the queue fills */
	for (int i = 0; i < 3; i++)
		assert_int_equal(stats_record(s, &v), 0);
	for (int ms = 0; ms < STATS_LINGER_MS / 2 && !taken; ms++) {
		usleep(1000);
		stats_get_counters(s, &c);
		taken = c.queue_length < 3;
	}
	assert_true(taken);
	assert_int_equal(stats_record(s, &v), 0);
	stats_stop(s);
	stats_get_counters(s, &c);
	assert_int_equal(c.dropped, 0);
	assert_int_equal(c.written, 5);
	stats_free(s);
}

static void
test_writer_writes_all_at_stop(void **state)
{
	char why[300];
	struct stats *s;
	struct stats_counters c;
	struct verdict v;
	struct statsdb *db;
	struct statsdb_domain *d;
	size_t n;
	const char *p = path("w.db");

	(void)state;
	verdict_init(&v, "w.test");
	s = stats_open(p, "mx1", 5000, 90, why, sizeof(why));
	assert_non_null(s);
	assert_int_equal(stats_start(s, why, sizeof(why)), 0);
	for (int i = 0; i < 2500; i++)
		assert_int_equal(stats_record(s, &v), 0);
	stats_stop(s);
	stats_get_counters(s, &c);
	assert_int_equal(c.written, 2500);
	assert_int_equal(c.dropped, 0);
	assert_true(c.batches >= 3);		/* at most STATS_BATCH per transaction */
	stats_free(s);
	db = statsdb_open(p, 0, why, sizeof(why));
	assert_non_null(db);
	assert_int_equal(statsdb_domains(db, 0, NULL, &d, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].domain, "w.test");
	assert_int_equal(d[0].c.messages, 2500);
	assert_int_equal(d[0].c.spf_pass, 2500);
	free(d);
	statsdb_close(db);
}

static void
test_metrics_text(void **state)
{
	struct verdict v;
	char *t;

	(void)state;
	verdict_init(&v, "m.test");
	v.elapsed_ms = 3;
	v.elapsed_us = 3217;	/* the histogram counts microseconds */
	metrics_count(&v);
	t = metrics_render();
	assert_non_null(t);
	assert_non_null(strstr(t, "# TYPE sendercheck_messages_total counter\n"));
	assert_non_null(strstr(t, "sendercheck_messages_total{action=\"accept\"} 1\n"));
	assert_non_null(strstr(t, "sendercheck_results_total{method=\"spf\",result=\"pass\"} 1\n"));
	assert_non_null(strstr(t, "sendercheck_verdicts_total{profile=\"google\",verdict=\"pass\"} 1\n"));
	assert_non_null(strstr(t, "sendercheck_check_duration_seconds_bucket{le=\"0.0025\"} 0\n"));
	assert_non_null(strstr(t, "sendercheck_check_duration_seconds_bucket{le=\"0.005\"} 1\n"));
	assert_non_null(strstr(t, "sendercheck_check_duration_seconds_count 1\n"));
	assert_non_null(strstr(t, "sendercheck_check_duration_seconds_sum 0.003217\n"));
	free(t);
}

static void
test_html_escapes(void **state)
{
	struct statsdb_domain d;
	struct statshtml_input in;
	char *page;

	(void)state;
	memset(&d, 0, sizeof(d));
	snprintf(d.domain, sizeof(d.domain), "<script>x</script>");
	d.c.messages = 1;
	memset(&in, 0, sizeof(in));
	in.title = "t & t";
	in.window = "w";
	in.generated = "g";
	in.profiles = 7;
	in.domains = &d;
	in.n_domains = 1;
	page = statshtml_render(&in);
	assert_non_null(page);
	assert_null(strstr(page, "<script>"));
	assert_non_null(strstr(page, "&lt;script&gt;"));
	assert_non_null(strstr(page, "<svg id=chart-days"));
	assert_non_null(strstr(page, "<svg id=chart-rules"));
	assert_non_null(strstr(page, "t &amp; t"));
	free(page);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_db_reports),
		cmocka_unit_test(test_db_batch_totals),
		cmocka_unit_test(test_db_batch_stored_once_sqlite),
		cmocka_unit_test(test_db_batch_stored_once_postgresql),
		cmocka_unit_test(test_db_prune_in_chunks_sqlite),
		cmocka_unit_test(test_db_prune_in_chunks_postgresql),
		cmocka_unit_test(test_db_ids_in_blocks_postgresql),
		cmocka_unit_test(test_db_rules_report_sqlite),
		cmocka_unit_test(test_db_rules_report_postgresql),
		cmocka_unit_test(test_db_prune_without_failures_table),
		cmocka_unit_test(test_db_refuses),
		cmocka_unit_test(test_db_adds_missing_columns),
		cmocka_unit_test(test_queue_drops_when_full),
		cmocka_unit_test(test_writer_writes_all_at_stop),
		cmocka_unit_test(test_writer_takes_a_full_queue_at_once),
		cmocka_unit_test(test_metrics_text),
		cmocka_unit_test(test_html_escapes),
	};
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
