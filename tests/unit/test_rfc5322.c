/* Unit tests of rfc5322.c, the one RFC 5322 lexer: tokens, folds,
 * comments, quoted pairs, each error with its offset, and the lenient
 * CFWS skipper the date and List-Unsubscribe parsers use. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "rfc5322.h"

/* The tokens of v as "A(text) S(c) Q(text) D(text) E", or "ERR@pos: why". */
static const char *
tokens(const char *v, size_t len)
{
	static char out[512];
	struct r5322_lexer lx;
	struct r5322_tok t;
	size_t o = 0;

	r5322_init(&lx, v, len);
	out[0] = '\0';
	for (;;) {
		if (r5322_next(&lx, &t) < 0) {
			snprintf(out + o, sizeof(out) - o, "ERR@%zu: %s", lx.err_pos, lx.why);
			return out;
		}
		switch (t.type) {
		case R5322_END:
			snprintf(out + o, sizeof(out) - o, "E");
			return out;
		case R5322_SPECIAL:
			o += (size_t)snprintf(out + o, sizeof(out) - o, "S(%c) ", t.c);
			break;
		default:
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%c(%.*s) ",
			    t.type == R5322_ATOM ? 'A' : t.type == R5322_QSTRING ? 'Q' : 'D',
			    (int)(t.end - t.start), v + t.start);
			break;
		}
	}
}

#define TOK(v) tokens(v, sizeof(v) - 1)

static void
test_tokens(void **state)
{
	(void)state;
	assert_string_equal(TOK(" John <j.doe@example.com>"),
	    "A(John) S(<) A(j) S(.) A(doe) S(@) A(example) S(.) A(com) S(>) E");
	assert_string_equal(TOK("\"a b\\\"c\"@[192.0.2.1]"), "Q(\"a b\\\"c\") S(@) D([192.0.2.1]) E");
	assert_string_equal(TOK("a\r\n\tb"), "A(a) A(b) E");			/* a fold */
	assert_string_equal(TOK("a (c (nested \\) ) c) b"), "A(a) A(b) E");	/* comments */
	assert_string_equal(TOK("caf\xc3\xa9"), "A(caf\xc3\xa9) E");		/* RFC 6532 */
	assert_string_equal(TOK(""), "E");
	assert_string_equal(TOK("a\r\n"), "A(a) E");			/* a break at the end */
}

static void
test_errors(void **state)
{
	(void)state;
	assert_string_equal(TOK("a\r\nb"), "A(a) ERR@1: line break not followed by white space (not a fold)");
	assert_string_equal(TOK("a (open"), "A(a) ERR@2: unterminated comment");
	assert_string_equal(TOK("\"open"), "ERR@0: unterminated quoted string");
	assert_string_equal(TOK("[1.2"), "ERR@0: unterminated domain literal");
	assert_string_equal(TOK("[a[b]"), "ERR@2: octet 0x5b not allowed in a domain literal");
	assert_string_equal(TOK("\"a\\"), "ERR@2: backslash at the end of the value");
	assert_string_equal(TOK("(a\\\rb)"), "ERR@2: backslash before a NUL or line break");
	assert_string_equal(tokens("(a\0)", 4), "ERR@2: NUL in comment");
	assert_string_equal(tokens("\"a\0\"", 4), "ERR@2: NUL in quoted string");
	assert_string_equal(TOK("a ]"), "A(a) ERR@2: unexpected ']'");
	assert_string_equal(TOK("\x01"), "ERR@0: unexpected octet 0x01");
}

/* The first failure stays; a failed lexer stays failed. */
static void
test_fail_sticks(void **state)
{
	struct r5322_lexer lx;
	struct r5322_tok t;

	(void)state;
	r5322_init(&lx, "(x", 2);
	assert_int_equal(r5322_next(&lx, &t), -1);
	assert_int_equal(r5322_fail(&lx, 9, "later"), -1);
	assert_int_equal(lx.err_pos, 0);
	assert_string_equal(lx.why, "unterminated comment");
	assert_int_equal(r5322_skip_cfws(&lx), -1);
	/* peeking does not move */
	r5322_init(&lx, " a b", 4);
	assert_int_equal(r5322_peek(&lx, &t), 0);
	assert_int_equal(lx.pos, 0);
	assert_int_equal(t.start, 1);
}

static void
test_lenient(void **state)
{
	size_t pos;

	(void)state;
	pos = 0;
	assert_int_equal(r5322_skip_cfws_lenient(" \t\r\n(c (n) \\) c)x", 17, &pos), 0);
	assert_int_equal(pos, 16);
	pos = 0;
	assert_int_equal(r5322_skip_cfws_lenient("\nx", 2, &pos), 0);	/* no fold needed */
	assert_int_equal(pos, 1);
	pos = 0;
	assert_int_equal(r5322_skip_cfws_lenient(" (open", 6, &pos), -1);
	assert_int_equal(pos, 6);
	pos = 3;
	assert_int_equal(r5322_skip_cfws_lenient("abc", 3, &pos), 0);
	assert_int_equal(pos, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_fail_sticks),
		cmocka_unit_test(test_lenient),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
