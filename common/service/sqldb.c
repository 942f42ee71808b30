/*
 * sqldb: one SQL interface over SQLite and PostgreSQL; see sqldb.h. This
 * file dispatches to the drivers and holds the dialect translation.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include "sbuf.h"
#include "sqldb_impl.h"

int
sqldb_is_uri(const char *target)
{
	return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

int
sqldb_check_target(const char *target, char *why, size_t whylen)
{
	if (target[0] == '\0')
		return snprintf(why, whylen, "empty"), -1;
	if (!sqldb_is_uri(target)) {
		if (strchr(target, ':') != NULL && strstr(target, "://") != NULL)
			return snprintf(why, whylen, "'%s': a file path or postgresql://...", target), -1;
		return 0;
	}
#ifndef HAVE_LIBPQ
	return snprintf(why, whylen, "'%s': this sendercheck was built without PostgreSQL (libpq-dev)",
	    target), -1;
#else
	PQconninfoOption *opts;
	char *err = NULL;
	int rc = 0;

	if ((opts = PQconninfoParse(target, &err)) == NULL) {
		snprintf(why, whylen, "'%s': %s", target, err ? err : "out of memory");
		if (err)
			PQfreemem(err);
		/* strip libpq's line end */
		why[strcspn(why, "\n")] = '\0';
		return -1;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL) {
			snprintf(why, whylen, "no password in the URI: put it in a password file "
			    "(?passfile=/path or PGPASSFILE, lines host:port:database:user:password)");
			rc = -1;
		}
	PQconninfoFree(opts);
	return rc;
#endif
}

int
sqldb_driver_built(const char *target, char *why, size_t whylen)
{
	/* the opening's own error, without opening anything */
#ifndef HAVE_SQLITE3
	if (!sqldb_is_uri(target))
		return sqldb_sqlite_open(target, 0, why, whylen) == NULL ? -1 : 0;
#endif
#ifndef HAVE_LIBPQ
	if (sqldb_is_uri(target))
		return sqldb_pg_open(target, 0, NULL, why, whylen) == NULL ? -1 : 0;
#endif
	(void)target;
	(void)why;
	(void)whylen;
	return 0;
}

void
sqldb_set_error(struct sqldb *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->err, sizeof(db->err), fmt, ap);
	va_end(ap);
	/* libpq ends its messages with a line end, some with two lines */
	for (char *p = db->err; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ' ' : '\0';
}

struct sqldb *
sqldb_open(const char *target, unsigned flags, int *unreachable, char *why, size_t whylen)
{
	struct sqldb *db;

	if (unreachable != NULL)
		*unreachable = 0;
	if (sqldb_check_target(target, why, whylen) < 0)
		return NULL;
	db = sqldb_is_uri(target) ? sqldb_pg_open(target, flags, unreachable, why, whylen) :
	    sqldb_sqlite_open(target, flags, why, whylen);
	if (db != NULL && (db->target = strdup(target)) == NULL) {
		db->ops->close(db);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	return db;
}

void
sqldb_close(struct sqldb *db)
{
	if (db == NULL)
		return;
	free(db->target);
	db->target = NULL;
	db->ops->close(db);
}

enum sqldb_kind
sqldb_kind(const struct sqldb *db)
{
	return db->kind;
}

const char *
sqldb_target(const struct sqldb *db)
{
	return db->target;
}

const char *
sqldb_errmsg(struct sqldb *db)
{
	return db->err;
}

int
sqldb_connected(const struct sqldb *db)
{
	return db->ops->connected(db);
}

int
sqldb_backup(struct sqldb *db, const char *dest, char *why, size_t whylen)
{
	return db->ops->backup(db, dest, why, whylen);
}

int
sqldb_exec(struct sqldb *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

int
sqldb_begin(struct sqldb *db, int tx)
{
	return db->ops->begin(db, tx);
}

int
sqldb_commit(struct sqldb *db)
{
	return db->ops->commit(db);
}

void
sqldb_rollback(struct sqldb *db)
{
	db->ops->rollback(db);
}

int
sqldb_prepare(struct sqldb *db, const char *sql, struct sqldb_stmt **st)
{
	*st = NULL;
	return db->ops->prepare(db, sql, st);
}

void
sqldb_bind_text(struct sqldb_stmt *st, int i, const char *s)
{
	st->db->ops->bind(st, i, s, 0, s ? SQLDB_BIND_TEXT : SQLDB_BIND_NULL);
}

void
sqldb_bind_int(struct sqldb_stmt *st, int i, long long v)
{
	st->db->ops->bind(st, i, NULL, v, SQLDB_BIND_INT);
}

void
sqldb_bind_null(struct sqldb_stmt *st, int i)
{
	st->db->ops->bind(st, i, NULL, 0, SQLDB_BIND_NULL);
}

int
sqldb_step(struct sqldb_stmt *st)
{
	return st->db->ops->step(st);
}

const char *
sqldb_col_text(struct sqldb_stmt *st, int i)
{
	return st->db->ops->col_text(st, i);
}

long long
sqldb_col_int(struct sqldb_stmt *st, int i)
{
	const char *s = st->db->ops->col_text(st, i);

	return s ? strtoll(s, NULL, 10) : 0;
}

int
sqldb_col_null(struct sqldb_stmt *st, int i)
{
	return st->db->ops->col_text(st, i) == NULL;
}

void
sqldb_reset(struct sqldb_stmt *st)
{
	st->db->ops->reset(st);
}

void
sqldb_finalize(struct sqldb_stmt *st)
{
	if (st != NULL)
		st->db->ops->finalize(st);
}

long long
sqldb_changes(struct sqldb *db)
{
	return db->ops->changes(db);
}

int
sqldb_new_ids(struct sqldb *db, const char *table, size_t n, long long *ids)
{
	return n == 0 ? 0 : db->ops->new_ids(db, table, n, ids);
}

/* ---- bulk rows (COPY, or one-row INSERTs) ---- */

struct sqldb_copy {
	struct sqldb *db;
	int ncols, col;		/* fields a row, fields of this row so far */
	int rc;			/* the first error */
	struct sqldb_stmt *ins;	/* a driver without COPY: the one-row INSERT */
	char *sql;		/* COPY table (cols) FROM STDIN */
	char *buf;		/* the rows, in COPY's text form */
	size_t len, cap;
};

void
sqldb_copy_free(struct sqldb_copy *c)
{
	if (c == NULL)
		return;
	sqldb_finalize(c->ins);
	free(c->sql);
	free(c->buf);
	free(c);
}

int
sqldb_copy_new(struct sqldb *db, const char *table, const char *const *cols, int ncols,
    struct sqldb_copy **out)
{
	struct sqldb_copy *c = calloc(1, sizeof(*c));
	struct sbuf sql;
	int rc = 0;

	*out = NULL;
	if (c == NULL) {
		sqldb_set_error(db, "out of memory");
		return SQLDB_ERROR;
	}
	c->db = db;
	c->ncols = ncols;
	sbuf_init(&sql, 1 << 16);
	sbuf_printf(&sql, "%s %s (", db->ops->copy ? "COPY" : "INSERT INTO", table);
	for (int i = 0; i < ncols; i++)
		sbuf_printf(&sql, "%s\"%s\"", i ? ", " : "", cols[i]);
	if (db->ops->copy)
		sbuf_addstr(&sql, ") FROM STDIN");
	else {
		sbuf_addstr(&sql, ") VALUES (");
		for (int i = 0; i < ncols; i++)
			sbuf_printf(&sql, i ? ", ?%d" : "?%d", i + 1);
		sbuf_addc(&sql, ')');
	}
	if (sql.overflow || sql.s == NULL) {
		sqldb_set_error(db, "out of memory");
		rc = SQLDB_ERROR;
	} else if (db->ops->copy)
		c->sql = sbuf_detach(&sql);
	else
		rc = sqldb_prepare(db, sql.s, &c->ins);
	sbuf_free(&sql);
	if (rc != 0) {
		sqldb_copy_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* Room for n more octets of rows; 0 or -1 (noted in rc). */
static int
copy_room(struct sqldb_copy *c, size_t n)
{
	char *p;
	size_t cap;

	if (c->len + n <= c->cap)
		return 0;
	for (cap = c->cap ? c->cap : 1 << 16; cap < c->len + n; cap *= 2)
		;
	if ((p = realloc(c->buf, cap)) == NULL) {
		sqldb_set_error(c->db, "out of memory");
		c->rc = SQLDB_ERROR;
		return -1;
	}
	c->buf = p;
	c->cap = cap;
	return 0;
}

/* The next field's place: after a tab, unless it is the row's first. */
static int
copy_field(struct sqldb_copy *c, size_t n)
{
	if (c->rc != 0 || copy_room(c, n + 1) < 0)
		return -1;
	if (c->col++ > 0)
		c->buf[c->len++] = '\t';
	return 0;
}

#define COPY_ESCAPED "\\\t\n\r"	/* what COPY's text form escapes */

void
sqldb_copy_text(struct sqldb_copy *c, const char *s)
{
	size_t run, n;
	char ch;

	if (c->ins != NULL) {
		sqldb_bind_text(c->ins, ++c->col, s);
		return;
	}
	if (s == NULL) {
		sqldb_copy_null(c);
		return;
	}
	/* runs without an octet to escape copied whole; most texts are one,
	 * measured by the same scan */
	n = run = strcspn(s, COPY_ESCAPED);
	if (s[run] != '\0')
		n += strlen(s + run);
	/* each octet escaped at most as two */
	if (copy_field(c, 2 * n) < 0)
		return;
	for (;;) {
		memcpy(c->buf + c->len, s, run);
		c->len += run;
		s += run;
		if ((ch = *s++) == '\0')
			break;
		c->buf[c->len++] = '\\';
		c->buf[c->len++] = ch == '\\' ? '\\' : ch == '\t' ? 't' : ch == '\n' ? 'n' : 'r';
		run = strcspn(s, COPY_ESCAPED);
	}
}

void
sqldb_copy_int(struct sqldb_copy *c, long long v)
{
	char digits[24];
	int k = 0;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	if (c->ins != NULL) {
		sqldb_bind_int(c->ins, ++c->col, v);
		return;
	}
	do
		digits[k++] = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	if (v < 0)
		digits[k++] = '-';
	if (copy_field(c, (size_t)k) < 0)
		return;
	while (k > 0)
		c->buf[c->len++] = digits[--k];
}

void
sqldb_copy_null(struct sqldb_copy *c)
{
	if (c->ins != NULL) {
		sqldb_bind_null(c->ins, ++c->col);
		return;
	}
	if (copy_field(c, 2) < 0)
		return;
	c->buf[c->len++] = '\\';
	c->buf[c->len++] = 'N';
}

void
sqldb_copy_row(struct sqldb_copy *c)
{
	if (c->col != c->ncols && c->rc == 0) {
		sqldb_set_error(c->db, "a row of %d fields for %d columns", c->col, c->ncols);
		c->rc = SQLDB_ERROR;
	}
	c->col = 0;
	if (c->ins != NULL) {
		int rc = sqldb_step(c->ins);

		sqldb_reset(c->ins);
		if (c->rc == 0 && rc != SQLDB_DONE)
			c->rc = rc == SQLDB_ROW ? SQLDB_ERROR : rc;
		return;
	}
	if (c->rc == 0 && copy_room(c, 1) == 0)
		c->buf[c->len++] = '\n';
}

int
sqldb_copy_flush(struct sqldb_copy *c)
{
	int rc = c->rc;

	if (rc == 0 && c->ins == NULL && c->len > 0)
		rc = c->db->ops->copy(c->db, c->sql, c->buf, c->len);
	c->rc = 0;
	c->col = 0;
	c->len = 0;
	return rc;
}

long long
sqldb_meta_get(struct sqldb *db, const char *key)
{
	return db->ops->meta_get(db, key);
}

int
sqldb_meta_set(struct sqldb *db, const char *key, long long value)
{
	return db->ops->meta_set(db, key, value);
}

long long
sqldb_table_count(struct sqldb *db)
{
	return db->ops->table_count(db);
}

int
sqldb_has_column(struct sqldb *db, const char *table, const char *column)
{
	return db->ops->has_column(db, table, column);
}

/* ---- the PostgreSQL dialect ---- */

/* Whether word starts at p as a whole word (not inside a longer name). */
static int
word_at(const char *sql, const char *p, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(p, word, n) != 0)
		return 0;
	if (p > sql && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
		return 0;
	return !(isalnum((unsigned char)p[n]) || p[n] == '_');
}

char *
sqldb_translate(const char *sql)
{
	static const struct { const char *from, *to; } words[] = {
		{ "INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY" },
		{ "INTEGER", "BIGINT" },
		{ " WITHOUT ROWID", "" },
		{ "COLLATE BINARY", "COLLATE \"C\"" },
	};
	struct sbuf b;
	const char *p = sql;

	sbuf_init(&b, strlen(sql) * 2 + 64);
	while (*p) {
		size_t k;

		if (*p == '\'' || *p == '"') {
			/* a literal or a quoted name, as it is ('' and "" escape) */
			char q = *p;
			const char *e = p + 1;

			while (*e && !(*e == q && e[1] != q))
				e += (*e == q) ? 2 : 1;
			if (*e)
				e++;
			sbuf_add(&b, p, (size_t)(e - p));
			p = e;
			continue;
		}
		if (*p == '?' && isdigit((unsigned char)p[1])) {
			sbuf_addc(&b, '$');
			p++;
			continue;
		}
		for (k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
			const char *w = words[k].from + (words[k].from[0] == ' ');

			if (word_at(sql, p, w)) {
				/* " WITHOUT ROWID": drop the space before it too */
				if (words[k].from[0] == ' ' && b.len > 0 && b.s[b.len - 1] == ' ')
					b.s[--b.len] = '\0';
				sbuf_addstr(&b, words[k].to);
				p += strlen(w);
				break;
			}
		}
		if (k == sizeof(words) / sizeof(words[0]))
			sbuf_addc(&b, *p++);
	}
	if (b.overflow) {
		sbuf_free(&b);
		return NULL;
	}
	return sbuf_detach(&b);
}
