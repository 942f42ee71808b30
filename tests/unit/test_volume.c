/* Unit tests of volume.c (counts per domain over 24 h and the sticky bulk
 * mark, kept across restarts in the state file) and of the SharedState
 * URI syntax (sharedstate_check_uri). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sharedstate.h"
#include "volume.h"

#define DAY 86400

static char *
state_path(void)
{
	static char path[64];

	snprintf(path, sizeof(path), "/tmp/sc-volume-test-%ld.txt", (long)getpid());
	return path;
}

static void
test_counts_and_window(void **state)
{
	char why[256];
	struct volume *v = volume_new("", 100, 365, why, sizeof(why));
	time_t t = 1800000000;
	long long at = -1;

	(void)state;
	assert_non_null(v);
	assert_int_equal(volume_add(v, "example.com", 3, t, &at), 3);
	assert_int_equal(at, 0);
	assert_int_equal(volume_add(v, "EXAMPLE.com", 2, t + 3600, NULL), 5);
	/* 24 h after the first count, it has left the window */
	assert_int_equal(volume_count(v, "example.com", t + 24 * 3600), 2);
	assert_int_equal(volume_count(v, "example.com", t + 25 * 3600), 0);
	volume_free(v);
}

static void
test_sticky_mark(void **state)
{
	char why[256];
	struct volume *v = volume_new("", 100, 30, why, sizeof(why));
	time_t t = 1800000000;
	long long at = 0;

	(void)state;
	volume_add(v, "bulk.example", 1, t, &at);
	assert_int_equal(at, 0);
	volume_mark_bulk(v, "bulk.example", t);
	volume_add(v, "bulk.example", 1, t + 29 * DAY, &at);
	assert_int_equal(at, t);
	volume_add(v, "bulk.example", 1, t + 31 * DAY, &at);
	assert_int_equal(at, 0);	/* older than the 30 days */
	volume_free(v);

	/* BulkStickyDays 0: no marks kept */
	v = volume_new("", 100, 0, why, sizeof(why));
	volume_mark_bulk(v, "bulk.example", t);
	volume_add(v, "bulk.example", 1, t, &at);
	assert_int_equal(at, 0);
	volume_free(v);
}

static void
test_state_file_keeps_marks(void **state)
{
	char why[256];
	const char *path = state_path();
	time_t now = time(NULL);
	struct volume *v;
	long long at = 0;
	FILE *f;
	char text[4096] = "";

	(void)state;
	unlink(path);
	v = volume_new(path, 100, 365, why, sizeof(why));
	assert_non_null(v);
	volume_add(v, "counted.example", 4, now, NULL);
	volume_mark_bulk(v, "marked.example", now - 100 * DAY);	/* no count in 24 h */
	volume_mark_bulk(v, "expired.example", now - 400 * DAY);
	assert_int_equal(volume_save(v, why, sizeof(why)), 0);
	volume_free(v);

	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
	fclose(f);
	assert_non_null(strstr(text, "marked.example bulk:"));
	assert_null(strstr(text, "expired.example"));

	v = volume_new(path, 100, 365, why, sizeof(why));
	assert_int_equal(volume_add(v, "counted.example", 1, now, &at), 5);
	assert_int_equal(at, 0);
	volume_add(v, "marked.example", 1, now, &at);
	assert_int_equal(at, now - 100 * DAY);
	volume_free(v);
	unlink(path);
}

static void
test_shared_state_uris(void **state)
{
	static const char *const good[] = { "redis://127.0.0.1", "redis://127.0.0.1:6380/2",
		"redis://[::1]:6379/0", "redis://redis.example.net/", "unix:/run/redis/redis.sock",
		"unix:/run/redis.sock?db=7" };
	static const struct { const char *uri, *why; } bad[] = {
		{ "rediss://127.0.0.1", "no TLS" },
		{ "redis://user:pw@127.0.0.1", "SharedStatePasswordFile" },
		{ "redis://127.0.0.1:70000", "port" },
		{ "redis://127.0.0.1:", "port" },
		{ "redis://:6379", "no host" },
		{ "redis://[::1", "unclosed" },
		{ "redis://127.0.0.1/db", "database" },
		{ "redis://127.0.0.1/99999", "database" },
		{ "unix:run/redis.sock", "absolute" },
		{ "unix:/run/redis.sock?database=1", "?db=N" },
		{ "tcp://127.0.0.1", "expected redis://" },
	};
	char why[300];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (sharedstate_check_uri(good[i], why, sizeof(why)) != 0)
			fail_msg("%s refused: %s", good[i], why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (sharedstate_check_uri(bad[i].uri, why, sizeof(why)) == 0)
			fail_msg("%s accepted", bad[i].uri);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("%s: reason '%s' lacks '%s'", bad[i].uri, why, bad[i].why);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_window),
		cmocka_unit_test(test_sticky_mark),
		cmocka_unit_test(test_state_file_keeps_marks),
		cmocka_unit_test(test_shared_state_uris),
	};

	return cmocka_run_group_tests_name("volume", tests, NULL, NULL);
}
