/* Unit tests of htable.c, the one hash table: finding, order of use,
 * eviction of the oldest, deleting in the middle, growth, colliding
 * hashes, and the FNV-1a hash itself. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "htable.h"

struct rec {
	struct hlink link;
	char name[16];
};

static int
same(const struct hlink *l, const void *key)
{
	return strcmp(HTABLE_RECORD(l, struct rec, link)->name, key) == 0;
}

static struct rec *
find(struct htable *t, const char *name)
{
	struct hlink *l = htable_find(t, htable_hash_str(HTABLE_HASH_INIT, name), name);

	return l ? HTABLE_RECORD(l, struct rec, link) : NULL;
}

/* The names from newest to oldest, space separated. */
static const char *
order(const struct htable *t)
{
	static char out[256];
	size_t o = 0;

	out[0] = '\0';
	for (struct hlink *l = t->newest; l != NULL; l = l->older)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", o ? " " : "",
		    HTABLE_RECORD(l, struct rec, link)->name);
	return out;
}

static void
test_find_and_order(void **state)
{
	struct htable t;
	struct rec r[4] = { { .name = "a" }, { .name = "b" }, { .name = "c" }, { .name = "d" } };

	(void)state;
	assert_int_equal(htable_init(&t, 4, same), 0);
	for (int i = 0; i < 4; i++)
		htable_add(&t, &r[i].link, htable_hash_str(HTABLE_HASH_INIT, r[i].name));
	assert_int_equal(t.n, 4);
	assert_ptr_equal(find(&t, "c"), &r[2]);
	assert_null(find(&t, "e"));
	assert_string_equal(order(&t), "d c b a");
	htable_touch(&t, &r[0].link);
	assert_string_equal(order(&t), "a d c b");
	assert_ptr_equal(htable_oldest(&t), &r[1].link);
	htable_del(&t, &r[2].link);		/* in the middle */
	assert_string_equal(order(&t), "a d b");
	assert_null(find(&t, "c"));
	assert_int_equal(t.n, 3);
	htable_del(&t, &r[0].link);		/* the newest */
	htable_del(&t, &r[1].link);		/* the oldest */
	assert_string_equal(order(&t), "d");
	assert_ptr_equal(htable_oldest(&t), &r[3].link);
	htable_del(&t, &r[3].link);
	assert_null(htable_oldest(&t));
	assert_int_equal(t.n, 0);
	htable_free(&t);
}

/* Many entries: the buckets grow and everything is still found. */
static void
test_growth(void **state)
{
	enum { N = 5000 };
	static struct rec r[N];
	struct htable t;

	(void)state;
	assert_int_equal(htable_init(&t, 1, same), 0);
	for (int i = 0; i < N; i++) {
		snprintf(r[i].name, sizeof(r[i].name), "n%d", i);
		htable_add(&t, &r[i].link, htable_hash_str(HTABLE_HASH_INIT, r[i].name));
	}
	assert_true(t.nbuckets >= N);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(find(&t, r[i].name), &r[i]);
	/* an LRU bound: drop the oldest until 10 are left */
	while (t.n > 10)
		htable_del(&t, htable_oldest(&t));
	assert_ptr_equal(HTABLE_RECORD(htable_oldest(&t), struct rec, link), &r[N - 10]);
	assert_null(find(&t, "n0"));
	htable_free(&t);
}

/* Entries with the same hash are told apart by the key. */
static void
test_collisions(void **state)
{
	struct htable t;
	struct rec r[3] = { { .name = "x" }, { .name = "y" }, { .name = "z" } };

	(void)state;
	assert_int_equal(htable_init(&t, 16, same), 0);
	for (int i = 0; i < 3; i++)
		htable_add(&t, &r[i].link, 42);
	for (int i = 0; i < 3; i++)
		assert_ptr_equal(HTABLE_RECORD(htable_find(&t, 42, r[i].name), struct rec, link), &r[i]);
	assert_null(htable_find(&t, 42, "w"));
	htable_del(&t, &r[1].link);
	assert_null(htable_find(&t, 42, "y"));
	assert_non_null(htable_find(&t, 42, "z"));
	htable_free(&t);
}

/* FNV-1a 64 (test vectors of its authors) */
static void
test_hash(void **state)
{
	(void)state;
	assert_true(htable_hash_str(HTABLE_HASH_INIT, "") == 0xcbf29ce484222325ULL);
	assert_true(htable_hash_str(HTABLE_HASH_INIT, "a") == 0xaf63dc4c8601ec8cULL);
	assert_true(htable_hash_str(HTABLE_HASH_INIT, "foobar") == 0x85944171f73967e8ULL);
	/* in parts as in one */
	assert_true(htable_hash_str(htable_hash_str(HTABLE_HASH_INIT, "foo"), "bar") ==
	    htable_hash_str(HTABLE_HASH_INIT, "foobar"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_and_order),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
