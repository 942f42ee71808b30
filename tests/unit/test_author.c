/* Unit tests of author.c: the From domains DMARC judges, one rule for
 * addresses in one field or in several, malformed domains recovered or
 * refused, and the bounds. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "author.h"

/* fields: "From" values (NULL-terminated), each as received */
static void
judge(const char *const *froms, struct author *a)
{
	struct header_list hl;
	char why[160];

	header_list_init(&hl);
	header_list_add(&hl, "To", " x@example.net", 14, why, sizeof(why));
	for (size_t i = 0; froms[i] != NULL; i++)
		assert_int_equal(header_list_add(&hl, "From", froms[i], strlen(froms[i]), why,
		    sizeof(why)), 0);
	author_domains(&hl, a);
	header_list_free(&hl);
}

struct author_case {
	const char *froms[4];
	int unusable;
	const char *domains;	/* comma separated */
	int noted;		/* a domain was recovered */
};

static const struct author_case cases[] = {
	{ { " ceo@victim.example", NULL }, 0, "victim.example", 0 },
	{ { " \"Boss\" <CEO@Victim.Example>", NULL }, 0, "victim.example", 0 },
	{ { " \"ceo@other.example\" <ceo@victim.example>", NULL }, 0, "victim.example", 0 },
	/* issue 9, class 3: what follows the domain */
	{ { " ceo@victim.example\x01", NULL }, 0, "victim.example", 1 },
	{ { " ceo@victim.example/", NULL }, 0, "victim.example", 1 },
	{ { " ceo@victim.example\\", NULL }, 0, "victim.example", 1 },
	{ { " ceo@victim.example=", NULL }, 0, "victim.example", 1 },
	{ { " ceo@victim.example\xc2\xa0", NULL }, 0, "victim.example", 1 },
	{ { " ceo@victim.example\xff", NULL }, 0, "victim.example", 1 },
	{ { " Boss <ceo@victim.example\x0b>", NULL }, 0, "victim.example", 1 },
	{ { " ceo@[victim.example]", NULL }, 0, "victim.example", 1 },
	{ { " ceo@victim.example.", NULL }, 0, "victim.example", 1 },
	{ { " ceo@victim.example>", NULL }, 0, "victim.example", 0 },
	/* nothing to judge */
	{ { " ceo@[192.0.2.1]", NULL }, 1, "", 0 },
	{ { " ceo@victim\x01.example", NULL }, 1, "", 0 },
	{ { " ceo@\x01victim.example", NULL }, 1, "", 0 },
	{ { " ceo", NULL }, 1, "", 0 },
	{ { " ceo@victim", NULL }, 1, "", 0 },
	{ { " ceo@victim\x01", NULL }, 1, "", 0 },
	{ { " undisclosed-recipients:;", NULL }, 1, "", 0 },
	{ { NULL }, 1, "", 0 },
	/* several: the same rule in one field or in several */
	{ { " a@evil.example, ceo@victim.example", NULL }, 0, "evil.example,victim.example", 0 },
	{ { " a@evil.example", " ceo@victim.example", NULL }, 0, "evil.example,victim.example", 0 },
	{ { " a@evil.example, ceo@victim.example\x01", NULL }, 0, "evil.example,victim.example", 1 },
	{ { " a@evil.example", " ceo@victim.example\x01", NULL }, 0, "evil.example,victim.example", 1 },
	{ { " a@evil.example, ceo@[192.0.2.1]", NULL }, 1, "evil.example", 0 },
	{ { " a@evil.example", " ceo@[192.0.2.1]", NULL }, 1, "evil.example", 0 },
	{ { " ceo@victim.example", " CEO@VICTIM.EXAMPLE", NULL }, 0, "victim.example", 0 },
};

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct author_case *t = &cases[i];
		char got[600] = "";
		struct author a;

		judge(t->froms, &a);
		for (size_t k = 0; k < a.n; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", k ? "," : "", a.domain[k]);
		if (a.unusable != t->unusable || strcmp(got, t->domains) != 0 ||
		    (a.note[0] != '\0') != t->noted || (a.unusable && a.why[0] == '\0')) {
			print_error("case %zu: unusable %d (%s) domains '%s' note '%s'\n", i, a.unusable,
			    a.why, got, a.note);
			fail();
		}
	}
}

/* More addresses or domains than are judged: unusable, not truncated silently. */
static void
test_bounds(void **state)
{
	char many[8000] = " ";
	const char *froms[2] = { many, NULL };
	struct author a;

	(void)state;
	for (int i = 0; i < AUTHOR_MAX_DOMAINS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "a@d%d.example, ", i);
	snprintf(many + strlen(many), sizeof(many) - strlen(many), "ceo@victim.example");
	judge(froms, &a);
	assert_int_equal(a.unusable, 1);
	assert_int_equal(a.n, AUTHOR_MAX_DOMAINS);
	assert_non_null(strstr(a.why, "different From domains"));

	/* the same domain over and over: past AUTHOR_MAX_ADDRESSES */
	strcpy(many, " ");
	for (int i = 0; i <= AUTHOR_MAX_ADDRESSES; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "a%d@evil.example, ", i);
	snprintf(many + strlen(many), sizeof(many) - strlen(many), "ceo@victim.example");
	judge(froms, &a);
	assert_int_equal(a.unusable, 1);
	assert_non_null(strstr(a.why, "From addresses"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests_name("author", tests, NULL, NULL);
}
