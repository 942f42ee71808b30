/*
 * walk: reading the field table for a renderer; see fields.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fields.h"
#include "sbuf.h"

#define MAX_DEPTH 8
#define MAX_ITEMS 4096		/* no list of a verdict is longer */

struct walk {
	const struct verdict *v;
	unsigned outputs;
	const struct vsink *sink;
	void *arg;
	int open;		/* opened minus closed */
	int error;
	char *why;
	size_t whylen;
};

static void
walk_fail(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
walk_fail(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	if (w->error++)
		return;
	va_start(ap, fmt);
	str_vformat(w->why, w->whylen, fmt, ap);
	va_end(ap);
}

static unsigned
reach_of(const struct vfield *f)
{
	unsigned out = f->out;

	if (f->sub != NULL)
		for (const struct vfield *s = f->sub; s->type != VF_END; s++)
			out |= reach_of(s);
	return out;
}

/* The reach of the containers, found once (a walk asks it of every
 * row): open addressing on the row's address. A slot is written once,
 * under the lock, and read without it after its row is seen: so its
 * reach is never written again. */
#define REACH_SLOTS 256
static struct {
	const struct vfield *row;
	unsigned reach;
} reach_cache[REACH_SLOTS];
static pthread_mutex_t reach_lock = PTHREAD_MUTEX_INITIALIZER;

unsigned
vfield_reach(const struct vfield *f)
{
	size_t i = ((uintptr_t)f / sizeof(*f)) % REACH_SLOTS;
	unsigned out;

	if (f->sub == NULL)
		return f->out;
	for (size_t k = 0; k < REACH_SLOTS; k++, i = (i + 1) % REACH_SLOTS) {
		const struct vfield *row = __atomic_load_n(&reach_cache[i].row, __ATOMIC_ACQUIRE);

		if (row == f)
			return reach_cache[i].reach;
		if (row == NULL)
			break;
	}
	out = reach_of(f);
	pthread_mutex_lock(&reach_lock);
	for (size_t k = 0; k < REACH_SLOTS; k++, i = (i + 1) % REACH_SLOTS) {
		if (reach_cache[i].row == f)
			break;		/* another thread stored it meanwhile */
		if (reach_cache[i].row == NULL) {
			reach_cache[i].reach = out;
			__atomic_store_n(&reach_cache[i].row, f, __ATOMIC_RELEASE);
			break;
		}
	}
	pthread_mutex_unlock(&reach_lock);
	return out;
}

static long long
read_at(enum vf_kind kind, const void *rec, size_t at)
{
	const char *p = (const char *)rec + at;

	switch (kind) {
	case AT_INT:	return *(const int *)(const void *)p;
	case AT_UINT:	return *(const unsigned *)(const void *)p;
	case AT_LONG:	return *(const long *)(const void *)p;
	case AT_ULONG:	return (long long)*(const unsigned long *)(const void *)p;
	case AT_SIZE:	return (long long)*(const size_t *)(const void *)p;
	case AT_CHARS:
	case AT_NONE:
		break;
	}
	return 0;
}

void
vfield_value(const struct vfield *f, const struct vctx *c, struct vval *out)
{
	out->present = 1;
	out->na = 0;
	out->n = 0;
	out->s = "";
	out->buf[0] = '\0';
	if (f->when != NULL && !f->when(c)) {
		out->present = 0;
		out->na = 1;
		return;
	}
	if (f->get != NULL)
		f->get(c, out);
	else if (f->kind == AT_CHARS)
		out->s = (const char *)c->rec + f->at;
	else if (f->kind != AT_NONE)
		out->n = read_at(f->kind, c->rec, f->at);
	if (!out->present)
		return;
	switch (f->type) {
	case VF_ENUM:
		out->s = out->n >= 0 && out->n < f->count ? f->name((int)out->n) : "?";
		break;
	case VF_BOOL:
		out->n = out->n != 0;
		break;
	case VF_STR:
		if (out->s == NULL || (f->empty_null && out->s[0] == '\0'))
			out->present = 0;
		break;
	default:
		break;
	}
}

/* Item i of a group (0), list or map row at c; NULL when absent. */
static const void *
item_of(const struct vfield *f, const struct vctx *c, size_t i)
{
	const char *base;

	if (f->item != NULL)
		return f->item(c, i);
	base = (const char *)c->rec + f->at;
	if (f->ptr)
		base = *(const char *const *)(const void *)base;
	return base == NULL ? NULL : base + i * f->size;
}

static size_t
count_of(const struct vfield *f, const struct vctx *c)
{
	if (f->type == VF_MAP)
		return (size_t)f->count;
	if (f->len != NULL)
		return f->len(c);
	return (size_t)read_at(f->n_kind, c->rec, f->n_at);
}

static void walk_rows(struct walk *w, const struct vfield *rows, const struct vctx *c, int depth);

static void
open_(struct walk *w, const struct vfield *f, const struct vctx *c)
{
	w->open++;
	if (w->sink->open)
		w->sink->open(w->arg, f, c);
}

static void
close_(struct walk *w, const struct vfield *f, const struct vctx *c)
{
	w->open--;
	if (w->sink->close)
		w->sink->close(w->arg, f, c);
}

static void
value(struct walk *w, const struct vfield *f, const struct vctx *c, const struct vval *val)
{
	if (w->sink->value)
		w->sink->value(w->arg, f, c, val);
}

static void
walk_items(struct walk *w, const struct vfield *f, const struct vctx *c, int depth)
{
	size_t n = count_of(f, c), shown = 0;
	int scalars = f->sub[0].key == NULL && f->sub[0].type != VF_END;
	struct vval val;

	if (n > MAX_ITEMS) {
		walk_fail(w, "%s: %zu items", f->key, n);
		n = 0;
	}
	open_(w, f, c);
	for (size_t i = 0; i < n; i++) {
		const void *it = item_of(f, c, i);
		struct vctx ic = { w->v, it, i, f, c };

		if (it == NULL)
			continue;
		shown++;
		if (scalars) {
			if (vfield_reach(&f->sub[0]) & w->outputs) {
				vfield_value(&f->sub[0], &ic, &val);
				value(w, &f->sub[0], &ic, &val);
			}
			continue;
		}
		open_(w, f, &ic);
		walk_rows(w, f->sub, &ic, depth + 1);
		close_(w, f, &ic);
	}
	if (shown == 0 && (f->out & w->outputs)) {
		/* what an empty list says (dkim: "none") */
		if (f->get != NULL) {
			vfield_value(f, c, &val);
		} else {
			memset(&val, 0, sizeof(val));
			val.s = "";
		}
		value(w, f, c, &val);
	}
	close_(w, f, c);
}

static void
walk_rows(struct walk *w, const struct vfield *rows, const struct vctx *c, int depth)
{
	struct vval val;

	if (depth > MAX_DEPTH) {
		walk_fail(w, "nested deeper than %d", MAX_DEPTH);
		return;
	}
	for (const struct vfield *f = rows; f->type != VF_END; f++) {
		int present;

		if (!((f->sub != NULL ? vfield_reach(f) : f->out) & w->outputs))
			continue;
		switch (f->type) {
		case VF_GROUP:
		case VF_LIST:
		case VF_MAP:
			present = f->when == NULL || f->when(c);
			if (present && f->type == VF_GROUP) {
				const void *it = item_of(f, c, 0);
				struct vctx gc = { w->v, it, 0, f, c };

				if (it != NULL) {
					open_(w, f, &gc);
					walk_rows(w, f->sub, &gc, depth + 1);
					close_(w, f, &gc);
					continue;
				}
			} else if (present) {
				walk_items(w, f, c, depth);
				continue;
			}
			memset(&val, 0, sizeof(val));
			val.s = "";
			val.na = 1;
			value(w, f, c, &val);
			break;
		default:
			vfield_value(f, c, &val);
			value(w, f, c, &val);
			break;
		}
	}
}

int
verdict_walk(const struct vfield *table, const struct verdict *v, unsigned outputs,
    const struct vsink *sink, void *arg, char *why, size_t whylen)
{
	struct walk w = { v, outputs, sink, arg, 0, 0, why, whylen };
	struct vctx top = { v, v, 0, NULL, NULL };

	if (whylen > 0)
		why[0] = '\0';
	walk_rows(&w, table, &top, 0);
	if (w.open != 0)
		walk_fail(&w, "%d groups left open", w.open);
	return w.error ? -1 : 0;
}

int
verdict_walk_key(const struct vfield *table, const char *key, int inner, const struct verdict *v,
    unsigned outputs, const struct vsink *sink, void *arg, char *why, size_t whylen)
{
	struct walk w = { v, outputs, sink, arg, 0, 0, why, whylen };
	struct vctx top = { v, v, 0, NULL, NULL };
	const struct vfield *f = table;

	if (whylen > 0)
		why[0] = '\0';
	while (f->type != VF_END && (f->key == NULL || strcmp(f->key, key) != 0))
		f++;
	if (f->type == VF_END) {
		walk_fail(&w, "no field %s", key);
	} else if (inner && f->type == VF_GROUP) {
		struct vctx gc = { v, item_of(f, &top, 0), 0, f, &top };

		if (gc.rec != NULL)
			walk_rows(&w, f->sub, &gc, 1);
	} else {
		struct vfield one[2] = { *f };

		memset(&one[1], 0, sizeof(one[1]));
		walk_rows(&w, one, &top, 0);
	}
	if (w.open != 0)
		walk_fail(&w, "%d groups left open", w.open);
	return w.error ? -1 : 0;
}

/* ---- context ---- */

static const struct vctx *
enclosing(const struct vctx *c, enum vf_type t)
{
	for (; c != NULL; c = c->up)
		if (c->via != NULL && c->via->type == t)
			return c;
	return NULL;
}

const char *
vctx_key(const struct vctx *c)
{
	const struct vctx *m = enclosing(c, VF_MAP);

	return m != NULL ? m->via->name((int)m->index) : "";
}

const char *
vctx_title(const struct vctx *c)
{
	const struct vctx *m = enclosing(c, VF_MAP);

	if (m == NULL)
		return "";
	return m->via->title != NULL ? m->via->title((int)m->index) : m->via->name((int)m->index);
}

size_t
vctx_map_index(const struct vctx *c)
{
	const struct vctx *m = enclosing(c, VF_MAP);

	return m != NULL ? m->index : 0;
}

size_t
vctx_list_index(const struct vctx *c)
{
	const struct vctx *l = enclosing(c, VF_LIST);

	return l != NULL ? l->index : 0;
}

/* Columns since the last newline of b. */
static size_t
column(const struct sbuf *b)
{
	size_t n = 0;

	while (n < b->len && b->s[b->len - 1 - n] != '\n')
		n++;
	return n;
}

void
vfield_format(struct sbuf *b, const char *fmt, const struct vctx *c, const char *val,
    size_t pad_col)
{
	for (const char *p = fmt; *p; p++) {
		size_t run = strcspn(p, "%\t");

		if (run > 0) {
			sbuf_add(b, p, run);
			p += run - 1;
			continue;
		}
		if (*p == '\t' && pad_col > 0) {
			size_t col = column(b);

			do
				sbuf_addc(b, ' ');
			while (++col < pad_col);
			continue;
		}
		if (*p != '%' || p[1] == '\0') {
			sbuf_addc(b, *p);
			continue;
		}
		switch (*++p) {
		case 's':
			sbuf_addstr(b, val ? val : "");
			break;
		case 'k':
			sbuf_addstr(b, vctx_key(c));
			break;
		case 'K':
			sbuf_addstr(b, vctx_title(c));
			break;
		case 'i':
			sbuf_addnum(b, (long long)(vctx_list_index(c) + 1));
			break;
		default:
			sbuf_addc(b, *p);
			break;
		}
	}
}
