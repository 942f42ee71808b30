/*
 * fields: every field of the verdict, described once, for every renderer.
 *
 * verdict_fields[] (fields.c) is the one table of what a verdict says:
 * per field its JSON key, its type, where it appears (VO_* bits) and how
 * each output writes it. Every renderer walks this table through
 * verdict_walk(): the JSON record (sendercheck-test --json, LogFormat json),
 * the text log line, sendercheck-test's report, Authentication-Results and
 * the compliance field, the statistics store's columns and the metrics.
 * A renderer knows output syntax, never a field: adding a field to the
 * verdict is a row here plus the check that fills it.
 *
 * The walk is like OpenSMTPD's mproc records: the fields are written in
 * one order, from one place, and verdict_walk() ends with a check that
 * every group it opened was closed and that nothing was left over.
 *
 * Values: a row reads its value from the record of its level (the
 * verdict, or one item of a group, list or map): by offset (.at with
 * .kind) or by a getter (.get). A field that does not apply (.when says
 * so) is null in JSON and NULL in the store, and left out of the log line
 * and the report. A value that is unknown (a getter says so; "" with
 * .empty_null) is null too, but the log line and the report write their
 * *_none form for it (as for ""). Strings are written as they are;
 * renderers escape for their syntax.
 *
 * Log and report formats (.log, .text, ...) are plain text with
 * directives: %s the value, %k the key of the enclosing map item, %K its
 * title, %i the 1-based index of the enclosing list item, %% a '%'. In
 * the report a TAB pads to the value column (12). A boolean's format
 * without %s is written only when the value is true.
 */
#ifndef SC_FIELDS_H
#define SC_FIELDS_H

#include <stddef.h>

#include "verdict.h"

/* The version of the JSON shape; raised when a field changes meaning or is removed. */
#define VERDICT_JSON_VERSION 1

enum vf_type {
	VF_END = 0,	/* ends a table */
	VF_STR,		/* text */
	VF_INT,		/* a whole number */
	VF_BOOL,	/* true or false */
	VF_ENUM,	/* one of .name(0 .. .count-1) */
	VF_GROUP,	/* an object: the .sub fields of one item */
	VF_LIST,	/* an array of items (a .sub row without key: of scalars) */
	VF_MAP,		/* an object keyed by .name(i): items as for VF_LIST */
};

/* Where a field appears. A group appears wherever one of its fields does. */
#define VO_JSON		0x001	/* every JSON record (LogFormat json, sendercheck-test --json) */
#define VO_FULL		0x002	/* only sendercheck-test's JSON record */
#define VO_LOG		0x004	/* the text log line (.log) */
#define VO_TEXT		0x008	/* sendercheck-test's report (.text) */
#define VO_STATS	0x010	/* a column of the statistics store (.col) */
#define VO_METRIC	0x020	/* a counter in /metrics (.metric) */
#define VO_AR		0x040	/* Authentication-Results (.ar, .ar_role) */
#define VO_COMPL	0x080	/* the compliance field (.ar, .ar_role) */

/* How a value is read from its record. */
enum vf_kind { AT_NONE = 0, AT_CHARS, AT_INT, AT_UINT, AT_LONG, AT_ULONG, AT_SIZE };

/* Its part in an RFC 8601 resinfo (A-R and the compliance field). */
enum vf_ar { AR_NONE = 0, AR_METHOD, AR_RESULT, AR_REASON, AR_COMMENT, AR_PROP, AR_PROP_QUOTED };

/* Where the walker is: the record of a level and how it was reached. */
struct vctx {
	const struct verdict *v;
	const void *rec;		/* the verdict, or the item */
	size_t index;			/* of the item in its list or map */
	const struct vfield *via;	/* the group, list or map row (NULL at the top) */
	const struct vctx *up;
};

/* A value of one verdict. */
struct vval {
	int present;		/* 0: absent */
	int na;			/* absent because .when said it does not apply */
	long long n;		/* VF_INT, VF_BOOL; VF_ENUM: the index */
	const char *s;		/* VF_STR; VF_ENUM: the name */
	char buf[1024];		/* for texts a getter makes */
};

struct vfield {
	const char *key;	/* JSON key; NULL: the items of a list of scalars */
	enum vf_type type;
	unsigned out;		/* VO_*: scalars; groups get theirs from their fields */
	const char *doc;	/* one line: what it means */

	/* the value */
	enum vf_kind kind;	/* with .at: read it at this offset of the record */
	size_t at;
	void (*get)(const struct vctx *c, struct vval *out);	/* or compute it */
	int (*when)(const struct vctx *c);	/* NULL: present (strings: unless .empty_null and "") */
	int empty_null;		/* "" is absent */
	const char *(*name)(int i);	/* VF_ENUM, VF_MAP: the names */
	int count;			/* their number (a *_COUNT) */

	/* VF_GROUP, VF_LIST, VF_MAP: the fields of an item; items by offset or getter */
	const struct vfield *sub;
	size_t size;		/* item size (arrays at .at; .ptr: a pointer at .at) */
	int ptr;
	enum vf_kind n_kind;	/* the item count at .n_at */
	size_t n_at;
	size_t (*len)(const struct vctx *c);
	const void *(*item)(const struct vctx *c, size_t i);	/* NULL: this item is absent */
	const char *(*title)(int i);	/* VF_MAP: %K */
	const char *sep;	/* lists, in the log, report and store: between items */

	/* the log line; *_none is written when the value is absent or "" */
	const char *log, *log_none;
	/* sendercheck-test's report; .head opens a group or a non-empty list */
	const char *text, *text_none, *head;
	const char *(*tname)(int i);	/* the report's words for an enum or boolean */
	const char *blank;	/* a value that the log and the report leave out ("none") */
	/* resinfo */
	enum vf_ar ar_role;
	const char *ar;		/* method or property name */
	/* the statistics store: column name (%k: the map key) */
	const char *col;
	int col_domain;		/* a sender's name: stored only when valid (domain.h) */
	/* metrics: the counter family; .mlabels: fixed labels; .vlabel: the value's */
	const char *metric, *mlabels, *vlabel;
	int (*mfilter)(int map_index, int value);	/* 0: no series for this pair */
};

extern const struct vfield verdict_fields[];

/* A renderer: called in table order for the rows that reach its outputs. */
struct vsink {
	/* a group, list or map (or one of their items) opens and closes */
	void (*open)(void *arg, const struct vfield *f, const struct vctx *c);
	void (*close)(void *arg, const struct vfield *f, const struct vctx *c);
	/* a scalar, an absent group, or the value of an empty list (.get of the list row) */
	void (*value)(void *arg, const struct vfield *f, const struct vctx *c, const struct vval *val);
};

/* Item events: open/close get the row of the list or map and a ctx whose
 * rec is the item (c->via == f). */

/*
 * Walks the rows of table that reach outputs (VO_* bits) for verdict v.
 * Returns 0, or -1 with a reason when the walk did not end where it began
 * (a group left open, an item count over its bound).
 */
int verdict_walk(const struct vfield *table, const struct verdict *v, unsigned outputs,
    const struct vsink *sink, void *arg, char *why, size_t whylen);

/* The same for the one top-level row named key; inner: a group's fields
 * without the group itself (to write them into an object the caller opened). */
int verdict_walk_key(const struct vfield *table, const char *key, int inner, const struct verdict *v,
    unsigned outputs, const struct vsink *sink, void *arg, char *why, size_t whylen);

/* The outputs a row reaches (for a group: the union of its fields'). */
unsigned vfield_reach(const struct vfield *f);
/* The value of scalar row f at c. */
void vfield_value(const struct vfield *f, const struct vctx *c, struct vval *out);
/* The enclosing map item's key and title, "" outside a map; the enclosing list item's index. */
const char *vctx_key(const struct vctx *c);
const char *vctx_title(const struct vctx *c);
size_t vctx_list_index(const struct vctx *c);
size_t vctx_map_index(const struct vctx *c);

/*
 * Writes fmt with its directives (see above) to b; val may be NULL.
 * pad_col: the column a TAB pads to (0: a TAB is written as is).
 */
struct sbuf;
void vfield_format(struct sbuf *b, const char *fmt, const struct vctx *c, const char *val,
    size_t pad_col);

#endif
