/* Unit tests of escape.c: log/report values and CSV cells a sender cannot
 * break out of. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "escape.h"

static void
check_text(const char *in, unsigned flags, const char *want)
{
	struct sbuf b;

	sbuf_init(&b, 4096);
	escape_text(&b, in, flags);
	assert_string_equal(b.s, want);
	sbuf_free(&b);
}

static void
test_text(void **state)
{
	(void)state;
	check_text("mail.example.com", 0, "mail.example.com");
	check_text("<a=b@x.example>", 0, "<a=b@x.example>");
	/* a forged pair, a new line, a terminal escape, quotes and backslashes */
	check_text("x spf=pass", 0, "x\\x20spf=pass");
	check_text("x\r\nQ1: action=accept", 0, "x\\x0d\\x0aQ1:\\x20action=accept");
	check_text("\x1b[2J\x1b]0;owned\x07", 0, "\\x1b[2J\\x1b]0;owned\\x07");
	check_text("a\"b\\c", 0, "a\\x22b\\x5cc");
	check_text("caf\xc3\xa9 \x7f", 0, "caf\\xc3\\xa9\\x20\\x7f");
	check_text("\xc2\x9b" "31m", 0, "\\xc2\\x9b31m");	/* C1 CSI */
	/* inside quotes the caller writes, a space stays */
	check_text("more than 10000 header fields", ESCAPE_KEEP_SPACE, "more than 10000 header fields");
	check_text("a \"b\"\n", ESCAPE_KEEP_SPACE, "a \\x22b\\x22\\x0a");
	check_text("", 0, "");
	/* the report: text for people, folded fields */
	check_text("fix: TXT \"v=spf1 -all\"\n\t\\ \x1b[0m\r", ESCAPE_KEEP_SPACE | ESCAPE_KEEP_QUOTES |
	    ESCAPE_KEEP_LAYOUT, "fix: TXT \"v=spf1 -all\"\n\t\\ \\x1b[0m\\x0d");
}

static void
check_csv(const char *in, const char *want)
{
	struct sbuf b;

	sbuf_init(&b, 4096);
	escape_csv_cell(&b, in);
	assert_string_equal(b.s, want);
	sbuf_free(&b);
}

static void
test_csv(void **state)
{
	(void)state;
	check_csv("example.com", "example.com");
	check_csv("a,b", "\"a,b\"");
	check_csv("say \"hi\"", "\"say \"\"hi\"\"\"");
	/* cells a spreadsheet would run as a formula */
	check_csv("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"");
	check_csv("+1+1", "\"'+1+1\"");
	check_csv("-2+3", "\"'-2+3\"");
	check_csv("@SUM(A1)", "\"'@SUM(A1)\"");
	check_csv("\t=1", "\"'\t=1\"");
	check_csv("\r=1", "\"'\r=1\"");
	check_csv("a=1", "a=1");
	check_csv("", "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_csv),
	};

	return cmocka_run_group_tests_name("escape", tests, NULL, NULL);
}
