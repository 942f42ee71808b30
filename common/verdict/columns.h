/*
 * columns: a verdict as one row of named columns, for statistics stores.
 *
 * The columns are the fields of the table (fields.h) marked VO_STATS,
 * under their .col names (a field of a map item once per key: "google",
 * "google_failed", ...; a list's items joined into one text column). Every
 * verdict has the same columns in the same order, so a store binds them by
 * position and creates a missing one by name: a field added to the table
 * with a column reaches every store without a line in the store.
 *
 * A row is a fixed-size value (it crosses to the stats writer thread by
 * copy): texts are printable ASCII, each at most VROW_TEXT_MAX octets, in
 * a bounded arena; a column without a value is NULL. verdict_row ends with
 * the walk's check: every value found its column, none came twice.
 */
#ifndef SC_COLUMNS_H
#define SC_COLUMNS_H

#include <stddef.h>

#include "verdict.h"

#define VROW_MAX_COLS 80
#define VROW_TEXT_MAX 600
#define VROW_ARENA 6144
#define VCOL_NAME_MAX 48

enum vcol_type { VCOL_TEXT = 0, VCOL_INT };

struct vcol {
	char name[VCOL_NAME_MAX];
	enum vcol_type type;
};

struct vcell {
	int null;		/* no value */
	long long n;		/* VCOL_INT */
	size_t off;		/* VCOL_TEXT: the text at arena + off */
};

struct vrow {
	long long time;		/* unix seconds of the verdict */
	struct vcell cell[VROW_MAX_COLS];
	size_t used;		/* of arena */
	char arena[VROW_ARENA];
};

/* The columns (the same for every verdict) and their number. */
size_t verdict_columns(const struct vcol **cols);
/* The index of a column, -1 if there is none of that name. */
int verdict_column(const char *name);

/* The row of verdict v at time now. 0, or -1 with a reason (the row is
 * still filled as far as it could be). */
int verdict_row(const struct verdict *v, long long now, struct vrow *row, char *why, size_t whylen);

/* A row of NULLs; setting columns by name (tests, imports). -1: no such column. */
void vrow_init(struct vrow *r, long long now);
int vrow_set_text(struct vrow *r, const char *col, const char *s);
int vrow_set_int(struct vrow *r, const char *col, long long n);
/* Whether column i is NULL, its text ("" when NULL or not text) and its
 * number (0 when NULL); inline: a store reads every cell of every row. */
static inline int
vrow_null(const struct vrow *r, int i)
{
	return i < 0 || i >= VROW_MAX_COLS || r->cell[i].null;
}

static inline const char *
vrow_text(const struct vrow *r, int i)
{
	return vrow_null(r, i) ? "" : r->arena + r->cell[i].off;
}

static inline long long
vrow_int(const struct vrow *r, int i)
{
	return vrow_null(r, i) ? 0 : r->cell[i].n;
}

#endif
