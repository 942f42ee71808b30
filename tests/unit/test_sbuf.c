/* Unit tests of sbuf.c, the bounded string type: printf into an empty
 * buffer, into room that is left, past the room (the buffer grows), an
 * append past the maximum (nothing is added, overflow is set, what was
 * there stays), and str_copy's cut. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sbuf.h"

static void
test_printf_grows(void **state)
{
	struct sbuf b;
	char big[300];

	(void)state;
	sbuf_init(&b, 1000);
	assert_int_equal(sbuf_printf(&b, "%s=%d", "a", 1), 0);	/* first allocation */
	assert_string_equal(b.s, "a=1");
	assert_int_equal(b.len, 3);
	assert_int_equal(sbuf_printf(&b, ";%s", "b"), 0);	/* fits the room left */
	assert_string_equal(b.s, "a=1;b");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sbuf_printf(&b, "[%s]", big), 0);	/* past the room: grows */
	assert_int_equal(b.len, 5 + 301);
	assert_int_equal(strncmp(b.s, "a=1;b[xxx", 9), 0);
	assert_int_equal(b.s[b.len - 1], ']');
	assert_int_equal(strlen(b.s), b.len);
	assert_int_equal(b.overflow, 0);
	sbuf_free(&b);
}

static void
test_printf_past_max(void **state)
{
	struct sbuf b;

	(void)state;
	sbuf_init(&b, 10);
	assert_int_equal(sbuf_printf(&b, "%s", "12345"), 0);
	/* 6 more would make 11: nothing of it is added */
	assert_int_equal(sbuf_printf(&b, "%s%d", "abcde", 6), -1);
	assert_int_equal(b.overflow, 1);
	assert_string_equal(b.s, "12345");
	assert_int_equal(b.len, 5);
	/* exactly to the maximum still fits */
	b.overflow = 0;
	assert_int_equal(sbuf_printf(&b, "%d", 67890), 0);
	assert_string_equal(b.s, "1234567890");
	assert_int_equal(sbuf_printf(&b, "%s", ""), 0);
	assert_int_equal(sbuf_printf(&b, "%c", 'x'), -1);
	assert_string_equal(b.s, "1234567890");
	sbuf_free(&b);
}

static void
test_str_copy(void **state)
{
	char d[6];

	(void)state;
	assert_int_equal(str_copy(d, sizeof(d), "abc"), 3);
	assert_string_equal(d, "abc");
	assert_int_equal(str_copy(d, sizeof(d), "abcdefgh"), 5);	/* cut to fit */
	assert_string_equal(d, "abcde");
	assert_int_equal(str_copy(d, sizeof(d), NULL), 0);
	assert_string_equal(d, "");
	assert_int_equal(str_copy(d, 1, "abc"), 0);
	assert_string_equal(d, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printf_grows),
		cmocka_unit_test(test_printf_past_max),
		cmocka_unit_test(test_str_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
