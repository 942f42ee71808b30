/*
 * columns: the statistics row of a verdict, from the field table; see columns.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "columns.h"
#include "domain.h"
#include "fields.h"
#include "report.h"

static struct vcol cols[VROW_MAX_COLS];
static size_t ncols;
/* which row (and map key) fills which column */
static struct {
	const struct vfield *row;
	int map_index;		/* -1: not under a map, or one column for all keys */
} filler[VROW_MAX_COLS];
static int overflow;		/* more columns than VROW_MAX_COLS */
/* a row's first column (its map's keys follow it), by the row's address;
 * a row met at two places of the table is searched for instead */
#define BY_ROW_SLOTS 256
static struct {
	const struct vfield *row;
	int first, twice;
} by_row[BY_ROW_SLOTS];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct vcell null_cells[VROW_MAX_COLS];	/* a row's cells before it is filled */

/* col with %k replaced by key */
static void
expand(const char *col, const char *key, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = col; *p && o + 1 < len; p++) {
		if (p[0] == '%' && p[1] == 'k') {
			for (const char *k = key; *k && o + 1 < len; k++)
				out[o++] = *k;
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

static void
add(const char *name, enum vcol_type t, const struct vfield *row, int map_index)
{
	if (ncols == VROW_MAX_COLS) {
		overflow = 1;
		return;
	}
	snprintf(cols[ncols].name, sizeof(cols[ncols].name), "%s", name);
	cols[ncols].type = t;
	filler[ncols].row = row;
	filler[ncols++].map_index = map_index;
}

static void
add_row(const struct vfield *f, const struct vfield *map)
{
	enum vcol_type t = f->type == VF_INT || f->type == VF_BOOL ? VCOL_INT : VCOL_TEXT;
	char name[VCOL_NAME_MAX];

	if (map == NULL || strstr(f->col, "%k") == NULL) {
		add(f->col, t, f, -1);
		return;
	}
	for (int i = 0; i < map->count; i++) {
		expand(f->col, map->name(i), name, sizeof(name));
		add(name, t, f, i);
	}
}

/* The columns of rows; map: the map row they are under, if any. */
static void
schema(const struct vfield *rows, const struct vfield *map)
{
	for (const struct vfield *f = rows; f->type != VF_END; f++) {
		if (!(vfield_reach(f) & VO_STATS))
			continue;
		if (f->type == VF_GROUP)
			schema(f->sub, map);
		else if (f->type == VF_MAP)
			schema(f->sub, f);
		else if (f->col != NULL)
			add_row(f, map);	/* a list: its items in one column */
	}
}

static size_t
by_row_slot(const struct vfield *f)
{
	size_t k = ((uintptr_t)f / sizeof(*f)) % BY_ROW_SLOTS;

	while (by_row[k].row != NULL && by_row[k].row != f)
		k = (k + 1) % BY_ROW_SLOTS;
	return k;
}

static void
init(void)
{
	for (size_t i = 0; i < VROW_MAX_COLS; i++)
		null_cells[i] = (struct vcell){ .null = 1, .n = 0, .off = 0 };	/* "" */
	schema(verdict_fields, NULL);
	for (size_t i = 0; i < ncols && i < BY_ROW_SLOTS / 2; i++) {
		size_t k = by_row_slot(filler[i].row);

		if (filler[i].map_index > 0)
			continue; /* a key after the first */
		if (by_row[k].row != NULL)
			by_row[k].twice = 1;
		by_row[k].row = filler[i].row;
		by_row[k].first = (int)i;
	}
}

size_t
verdict_columns(const struct vcol **out)
{
	pthread_once(&once, init);
	*out = cols;
	return ncols;
}

int
verdict_column(const char *name)
{
	pthread_once(&once, init);
	for (size_t i = 0; i < ncols; i++)
		if (strcmp(cols[i].name, name) == 0)
			return (int)i;
	return -1;
}

void
vrow_init(struct vrow *r, long long now)
{
	pthread_once(&once, init);
	r->time = now;
	r->arena[0] = '\0';
	memcpy(r->cell, null_cells, sizeof(r->cell));
	r->used = 1;			/* arena[0] stays the empty text */
}

/* Appends printable text to the arena for the cell being built: at most
 * max octets in the cell (s cut at VROW_TEXT_MAX first). Returns 0, or -1
 * when it did not fit (nothing added). */
static int
append(struct vrow *r, size_t start, const char *s, size_t max)
{
	size_t n = strnlen(s, VROW_TEXT_MAX);

	if ((r->used - start) + n > max || r->used + n + 1 > sizeof(r->arena))
		return -1;
	r->used += report_clean_text(r->arena + r->used, n + 1, s);
	return 0;
}

/* s cleaned, cut to VROW_TEXT_MAX octets and to what the arena holds. */
static int
set_text(struct vrow *r, int i, const char *s)
{
	size_t start = r->used, room, n;

	if (i < 0 || (size_t)i >= ncols || cols[i].type != VCOL_TEXT || start >= sizeof(r->arena))
		return -1;
	room = sizeof(r->arena) - start - 1;
	n = report_clean_text(r->arena + start, (room < VROW_TEXT_MAX ? room : VROW_TEXT_MAX) + 1,
	    s);
	r->used = start + n + 1;
	r->cell[i].null = 0;
	r->cell[i].off = start;
	return 0;
}

int
vrow_set_text(struct vrow *r, const char *col, const char *s)
{
	return set_text(r, verdict_column(col), s);
}

int
vrow_set_int(struct vrow *r, const char *col, long long n)
{
	int i = verdict_column(col);

	if (i < 0 || cols[i].type != VCOL_INT)
		return -1;
	r->cell[i].null = 0;
	r->cell[i].n = n;
	return 0;
}

/* ---- the walk ---- */

struct row_sink {
	struct vrow *r;
	unsigned char seen[VROW_MAX_COLS];
	int next;		/* where the search for a column starts */
	/* the list being gathered into one column */
	const struct vfield *list;
	int list_col;
	size_t list_start, list_items, last_index;
	int error;
	char *why;
	size_t whylen;
};

static void
row_fail(struct row_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
row_fail(struct row_sink *s, const char *fmt, ...)
{
	va_list ap;

	if (s->error++)
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, s->whylen, fmt, ap);
	va_end(ap);
}

/* The column of row f at c; -1 (and an error) when there is none or it came before.
 * The columns were made by a walk of the same table: the search starts
 * after the last column found, where the next one nearly always is. */
static int
column_of(struct row_sink *s, const struct vfield *f, const struct vctx *c)
{
	size_t k = by_row_slot(f);
	int m = -1, i = (int)ncols;

	if (by_row[k].row == f && !by_row[k].twice) {
		/* where the schema put it: the first column, or the map's key */
		i = by_row[k].first;
		if (filler[i].map_index >= 0) {
			m = (int)vctx_map_index(c);
			i = i + m < (int)ncols && filler[i + m].row == f &&
				filler[i + m].map_index == m
			    ? i + m
			    : (int)ncols;
		}
	} else {
		for (int n = 0, at = s->next; n < (int)ncols; n++, at++) {
			if (at >= (int)ncols)
				at = 0;
			if (filler[at].row != f)
				continue;
			if (filler[at].map_index >= 0) {
				if (m < 0)
					m = (int)vctx_map_index(c);
				if (filler[at].map_index != m)
					continue;
			}
			i = at;
			break;
		}
	}
	if (i == (int)ncols) {
		row_fail(s, "%s: no column", f->col);
		return -1;
	}
	if (s->seen[i]++) {
		row_fail(s, "%s: written twice", cols[i].name);
		return -1;
	}
	s->next = i + 1;
	return i;
}

static void
row_open(void *arg, const struct vfield *f, const struct vctx *c)
{
	struct row_sink *s = arg;

	if (f->type == VF_LIST && c->via != f && f->col != NULL) {
		s->list = f;
		s->list_col = column_of(s, f, c);
		s->list_start = s->r->used;
		s->list_items = 0;
	}
}

static void
row_close(void *arg, const struct vfield *f, const struct vctx *c)
{
	struct row_sink *s = arg;
	struct vrow *r = s->r;

	if (f != s->list || c->via == f)
		return;
	if (s->list_col >= 0 && s->list_items > 0) {
		r->arena[r->used++] = '\0';
		r->cell[s->list_col].null = 0;
		r->cell[s->list_col].off = s->list_start;
	} else {
		r->used = s->list_start;	/* an empty list is NULL */
	}
	s->list = NULL;
}

static void
row_value(void *arg, const struct vfield *f, const struct vctx *c, const struct vval *val)
{
	struct row_sink *s = arg;
	struct vrow *r = s->r;
	int i;

	if (f->type == VF_GROUP || f->type == VF_LIST || f->type == VF_MAP)
		return;
	if (s->list != NULL && f->col == NULL) {
		/* a part of the list's column: whole items only */
		size_t mark = r->used;
		const char *sep = s->list_items == 0 ? "" : c->index != s->last_index ?
		    (s->list->sep ? s->list->sep : " ") : ":";

		if (!val->present || s->list_col < 0)
			return;
		if (r->used + 1 >= sizeof(r->arena) || append(r, s->list_start, sep, VROW_TEXT_MAX) < 0 ||
		    append(r, s->list_start, val->s, VROW_TEXT_MAX) < 0) {
			r->used = mark;
			return;
		}
		s->list_items++;
		s->last_index = c->index;
		return;
	}
	if (f->col == NULL || (i = column_of(s, f, c)) < 0 || !val->present)
		return;
	if (vrow_null(r, i) == 0)
		return;
	if (cols[i].type == VCOL_INT) {
		r->cell[i].null = 0;
		r->cell[i].n = val->n;
	} else if (f->col_domain) {
		char name[300];

		/* what else a sender wrote would reach reports and spreadsheets */
		if (domain_name_or_literal(val->s, name, sizeof(name)) == 0 && set_text(r, i, name) < 0)
			row_fail(s, "%s: no room", cols[i].name);
	} else if (set_text(r, i, val->s) < 0) {
		row_fail(s, "%s: no room", cols[i].name);
	}
}

int
verdict_row(const struct verdict *v, long long now, struct vrow *row, char *why, size_t whylen)
{
	static const struct vsink sink = { row_open, row_close, row_value };
	struct row_sink s;

	vrow_init(row, now);
	memset(&s, 0, sizeof(s));
	s.r = row;
	s.list_col = -1;
	s.why = why;
	s.whylen = whylen;
	if (verdict_walk(verdict_fields, v, VO_STATS, &sink, &s, why, whylen) < 0)
		return -1;
	if (overflow)
		row_fail(&s, "more than %d columns", VROW_MAX_COLS);
	return s.error ? -1 : 0;
}
