/* Unit tests of sbuf.c, the bounded string type: printf into an empty
 * buffer, into room that is left, past the room (the buffer grows), an
 * append past the maximum (nothing is added, overflow is set, what was
 * there stays), str_copy's cut, and the formatter's own conversions
 * (str_format, sbuf_printf, sbuf_addnum) against libc's snprintf: the
 * same text and length at every size, cut or not. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <limits.h>
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

/* the cuts (and the NULL string) are meant: no warnings of them */
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wformat-truncation"
#pragma GCC diagnostic ignored "-Wformat-overflow"

/* fmt with its arguments, by str_format at sizes 0..40 and by
 * sbuf_printf, is what snprintf makes of it. */
#define SAME_AS_LIBC(...) do { \
	char want[256], got[256]; \
	int wn = snprintf(want, sizeof(want), __VA_ARGS__); \
	struct sbuf sb; \
	for (size_t size = 0; size <= 40; size++) { \
		memset(got, '#', sizeof(got)); \
		memset(want, '#', sizeof(want)); \
		assert_int_equal(str_format(size ? got : NULL, size, __VA_ARGS__), \
		    snprintf(size ? want : NULL, size, __VA_ARGS__)); \
		assert_memory_equal(got, want, sizeof(got)); \
	} \
	snprintf(want, sizeof(want), __VA_ARGS__); \
	sbuf_init(&sb, 1000); \
	sbuf_addstr(&sb, "<"); \
	assert_int_equal(sbuf_printf(&sb, __VA_ARGS__), 0); \
	assert_int_equal(sb.len, (size_t)wn + 1); \
	assert_memory_equal(sb.s + 1, want, (size_t)wn + 1); \
	sbuf_free(&sb); \
} while (0)

static void
test_format_like_libc(void **state)
{
	const char *none = NULL;

	(void)state;
	SAME_AS_LIBC("plain text, no conversion");
	SAME_AS_LIBC("%s=%s; %s", "dkim", "pass", "");
	SAME_AS_LIBC("%.3s|%.0s|%.10s|", "abcdef", "xyz", "ab");
	SAME_AS_LIBC("%.*s|%.*s|%.*s", 2, "abcdef", -1, "abc", 0, "abc");
	SAME_AS_LIBC("%s|%.3s|%.6s", none, none, none);
	SAME_AS_LIBC("%d %d %i %d", 0, -1, INT_MAX, INT_MIN);
	SAME_AS_LIBC("%u %u", 0u, UINT_MAX);
	SAME_AS_LIBC("%ld %lu %lld %llu", LONG_MIN, ULONG_MAX, LLONG_MIN, ULLONG_MAX);
	SAME_AS_LIBC("%zu %zd %zi", (size_t)-1, (ssize_t)-5, (ssize_t)42);
	SAME_AS_LIBC("100%% %c%c", 'o', 'k');
	SAME_AS_LIBC("%c|", 0);		/* a NUL octet is counted */
	/* not of the subset: libc writes them */
	SAME_AS_LIBC("%5s|%-4d|%03d|%x|%#o", "ab", 7, 7, 255u, 8u);
	SAME_AS_LIBC("%s %5.2f", "pi", 3.14159);
}

static void
test_format_past_max(void **state)
{
	struct sbuf b;

	(void)state;
	sbuf_init(&b, 8);
	assert_int_equal(sbuf_printf(&b, "%s", "1234"), 0);
	/* the pieces are added one by one; one that does not fit takes
	 * back those before it: nothing of the call stays */
	assert_int_equal(sbuf_printf(&b, "%s%d%s", "ab", 5, "cdef"), -1);
	assert_int_equal(b.overflow, 1);
	assert_string_equal(b.s, "1234");
	assert_int_equal(b.len, 4);
	assert_int_equal(sbuf_addnum(&b, -123), 0);
	assert_string_equal(b.s, "1234-123");
	assert_int_equal(sbuf_addnum(&b, 0), -1);
	assert_string_equal(b.s, "1234-123");
	sbuf_reset(&b);
	assert_int_equal(sbuf_addnum(&b, LLONG_MIN), -1);	/* 20 octets */
	assert_int_equal(sbuf_addnum(&b, 1234567), 0);
	assert_string_equal(b.s, "1234567");
	sbuf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printf_grows),
		cmocka_unit_test(test_printf_past_max),
		cmocka_unit_test(test_str_copy),
		cmocka_unit_test(test_format_like_libc),
		cmocka_unit_test(test_format_past_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
