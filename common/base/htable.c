/*
 * htable: intrusive hash table with an order of use; see htable.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "htable.h"

uint64_t
htable_hash(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t
htable_hash_str(uint64_t h, const char *s)
{
	return htable_hash(h, s, strlen(s));
}

int
htable_init(struct htable *t, size_t expect, int (*same)(const struct hlink *, const void *))
{
	memset(t, 0, sizeof(*t));
	t->same = same;
	t->nbuckets = 16;
	while (t->nbuckets < expect && t->nbuckets < ((size_t)1 << 24))
		t->nbuckets <<= 1;
	t->bucket = calloc(t->nbuckets, sizeof(*t->bucket));
	return t->bucket != NULL ? 0 : -1;
}

void
htable_free(struct htable *t)
{
	free(t->bucket);
	t->bucket = NULL;
	t->nbuckets = t->n = 0;
	t->newest = t->oldest = NULL;
}

/* Twice the buckets; the table stays as it was when out of memory. */
static void
grow(struct htable *t)
{
	size_t n = t->nbuckets * 2;
	struct hlink **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return;
	for (struct hlink *e = t->newest; e != NULL; e = e->older) {
		e->chain = b[e->hash & (n - 1)];
		b[e->hash & (n - 1)] = e;
	}
	free(t->bucket);
	t->bucket = b;
	t->nbuckets = n;
}

struct hlink *
htable_find(const struct htable *t, uint64_t hash, const void *key)
{
	for (struct hlink *e = t->bucket[hash & (t->nbuckets - 1)]; e != NULL; e = e->chain)
		if (e->hash == hash && t->same(e, key))
			return e;
	return NULL;
}

static void
link_newest(struct htable *t, struct hlink *e)
{
	e->newer = NULL;
	e->older = t->newest;
	if (t->newest != NULL)
		t->newest->newer = e;
	t->newest = e;
	if (t->oldest == NULL)
		t->oldest = e;
}

static void
unlink_use(struct htable *t, struct hlink *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	e->newer = e->older = NULL;
}

void
htable_add(struct htable *t, struct hlink *e, uint64_t hash)
{
	struct hlink **b;

	if (t->n >= t->nbuckets)
		grow(t);
	b = &t->bucket[hash & (t->nbuckets - 1)];
	e->hash = hash;
	e->chain = *b;
	*b = e;
	link_newest(t, e);
	t->n++;
}

void
htable_del(struct htable *t, struct hlink *e)
{
	for (struct hlink **pp = &t->bucket[e->hash & (t->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->chain)
		if (*pp == e) {
			*pp = e->chain;
			unlink_use(t, e);
			e->chain = NULL;
			t->n--;
			return;
		}
}

void
htable_touch(struct htable *t, struct hlink *e)
{
	if (t->newest == e)
		return;
	unlink_use(t, e);
	link_newest(t, e);
}

struct hlink *
htable_oldest(const struct htable *t)
{
	return t->oldest;
}
