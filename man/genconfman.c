/*
 * genconfman: writes sendercheck.conf(5) from the option table.
 *
 * Copies a roff template from stdin to stdout and replaces the line
 * "@OPTIONS@" with one entry per row of config_options[] (name, value
 * syntax, doc line, default), so the manual page is built from the same
 * table as the parser and the sample file and cannot drift from them.
 * Run by make at build time; not installed.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "options.h"

/* Writes s so that roff prints it as is: backslashes doubled, a leading
 * '.' or '\'' guarded, '-' as a hyphen-minus. */
static void
roff(const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

static void
names(const char *const *v, const char *sep)
{
	for (size_t i = 0; v[i] != NULL; i++) {
		if (i > 0)
			fputs(sep, stdout);
		roff(v[i]);
	}
}

/* The value syntax after the option name, in \fI...\fR. */
static void
syntax(const struct config_option *o)
{
	static const char *const actions[] = { "accept", "reject", "tempfail", "quarantine", NULL };
	static const char *const levels[] = { "error", "warning", "notice", "info", "debug", NULL };
	static const char *const engines[] = { "builtin", "libspf2", NULL };

	fputs("\\fI", stdout);
	switch (o->type) {
	case OPT_STRING:	fputs("TEXT", stdout); break;
	case OPT_BOOL:		fputs("yes\\fR|\\fIno", stdout); break;
	case OPT_UINT:		printf("N\\fR (%u to %u)\\fI", o->min, o->max); break;
	case OPT_SECONDS:	fputs("SECONDS", stdout); break;
	case OPT_ACTION:	names(actions, "\\fR|\\fI"); break;
	case OPT_SERVERS:	fputs("IP\\fR[\\fI:PORT\\fR] ...\\fI", stdout); break;
	case OPT_CIDRS:		fputs("NETWORK\\fR ...\\fI", stdout); break;
	case OPT_SOCKET:	fputs("SOCKET", stdout); break;
	case OPT_FACILITY:	fputs("FACILITY", stdout); break;
	case OPT_LOGLEVEL:	names(levels, "\\fR|\\fI"); break;
	case OPT_SPFENGINE:	names(engines, "\\fR|\\fI"); break;
	case OPT_ENUM:		names(o->names, "\\fR|\\fI"); break;
	case OPT_FLAGS:		fputs("NAME\\fR ...\\fI", stdout); break;
	default:		fputs("VALUE", stdout); break;
	}
	fputs("\\fR", stdout);
}

static void
options(void)
{
	for (size_t i = 0; i < config_n_options; i++) {
		const struct config_option *o = &config_options[i];

		printf(".TP\n\\fB");
		roff(o->name);
		fputs("\\fR ", stdout);
		syntax(o);
		putchar('\n');
		/* the doc line is a sentence here: capital first letter */
		if (*o->doc != '\0') {
			putchar(toupper((unsigned char)*o->doc));
			roff(o->doc + 1);
		}
		fputs(".\n", stdout);
		if (o->type == OPT_FLAGS) {
			fputs("Names: ", stdout);
			names(o->names, ", ");
			fputs(".\n", stdout);
		}
		fputs("Default: ", stdout);
		if (o->def[0] != '\0') {
			fputs("\\fB", stdout);
			roff(o->def);
			fputs("\\fR", stdout);
		} else {
			fputs("empty", stdout);
		}
		fputs(".\n", stdout);
		if (o->flags & OPTF_RESTART)
			fputs("Changes take effect at restart, not at reload.\n", stdout);
	}
}

int
main(void)
{
	char line[4096];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strcmp(line, "@OPTIONS@\n") == 0)
			options();
		else
			fputs(line, stdout);
	}
	return ferror(stdin) || fflush(stdout) != 0 ? 1 : 0;
}
