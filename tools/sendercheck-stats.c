/*
 * sendercheck-stats: reports from the statistics store the daemons write
 * (StatsDB: an SQLite file or a postgresql:// URI): per sending domain, per
 * rule, per day, per client IP, per DKIM selector, for the site or one
 * host (--host), as an aligned text table (at most 100 columns), JSON or
 * CSV (the same rows from either backend), or as one self-contained HTML
 * page with SVG charts (--html FILE).
 *
 * The store is opened read-only; a file of an older schema is upgraded
 * first when it is writable (a PostgreSQL database: by the daemons). Exit
 * status: 0 on success, 1 when the store cannot be read, 2 on usage errors.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "options.h"
#include "sbuf.h"
#include "sqldb.h"
#include "statsdb.h"
#include "statshtml.h"

#define DEFAULT_DB "/var/lib/sendercheck/stats.db"

enum cmd { CMD_DOMAINS, CMD_RULES, CMD_TREND, CMD_IPS, CMD_SELECTORS, CMD_BACKUP };
enum fmt { FMT_TEXT, FMT_JSON, FMT_CSV };
/* then one per profile: S_PROFILE + enum profile_id, named by the profile */
enum sort_key { S_DOMAIN, S_MESSAGES, S_SPF, S_DKIM, S_DMARC, S_ALIGNED, S_ONECLICK, S_PROFILE };
static const char *const sort_names[S_PROFILE] = { "domain", "messages", "spf", "dkim", "dmarc",
	"aligned", "oneclick" };

struct args {
	const char *config;
	const char *db;
	enum cmd cmd;
	enum fmt fmt;
	const char *since_text;
	long long since;
	const char *domain;
	const char *host;		/* --host: one daemon's rows (HostName) */
	long top;
	enum sort_key sort;
	int reverse;
	const char *html;
	const char *backup;	/* backup FILE */
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sendercheck-stats [-c FILE] [--db PATH|URI] [domains|rules|trend|ips|selectors] [options]\n"
	    "       sendercheck-stats [-c FILE] [--db PATH] backup FILE\n"
	    "  domains            one row per sending (From) domain (the default)\n"
	    "  rules              failures per rule id, with the domains failing it most\n"
	    "  trend              one row per day (UTC), for --domain or all\n"
	    "  ips                one row per client IP address\n"
	    "  selectors          DKIM signatures per signing domain and selector\n"
	    "  backup FILE        a consistent copy of the whole file into FILE (a new file),\n"
	    "                     safe while the daemon writes\n"
	    "  -c, --config FILE  read StatsDB from FILE (default %s if it exists)\n"
	    "  --db PATH|URI      the statistics file or postgresql:// URI (default: StatsDB, else %s)\n"
	    "  --since WHEN       24h, 7d, 2w, 2026-11-01 or all (default 7d; trend 30d)\n"
	    "  --domain D         only this domain\n"
	    "  --host H           only the messages of the daemon with HostName H (default: the site)\n"
	    "  --top N            only the first N rows\n"
	    "  --sort COL         domain, messages (default, most first), spf, dkim, dmarc, aligned,\n"
	    "                     oneclick, google, yahoo, microsoft (percentages: worst first)\n"
	    "  --reverse          reverse the order\n"
	    "  --format FMT       text (default), json or csv\n"
	    "  --html FILE        write one self-contained HTML page with all three reports\n"
	    "  -h, --help         print this summary and exit\n",
	    SYSCONFDIR "/sendercheck.conf", DEFAULT_DB);
}

/* "24h", "7d", "2w", "90m", "YYYY-MM-DD", "all" -> unix time; -1 if bad. */
static long long
parse_since(const char *s, time_t now)
{
	char *end;
	long long n;
	struct tm tm;

	if (strcmp(s, "all") == 0)
		return 0;
	if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
		memset(&tm, 0, sizeof(tm));
		if (sscanf(s, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3 ||
		    tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31)
			return -1;
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		return (long long)timegm(&tm);
	}
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || n < 0 || n > 100000 || end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (end[0]) {
	case 'm': return (long long)now - n * 60;
	case 'h': return (long long)now - n * 3600;
	case 'd': return (long long)now - n * 86400;
	case 'w': return (long long)now - n * 7 * 86400;
	default: return -1;
	}
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "since", required_argument, NULL, 's' },
		{ "domain", required_argument, NULL, 'D' },
		{ "host", required_argument, NULL, 'O' },
		{ "top", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 'S' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' },
		{ "html", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, i;
	char *end;

	memset(a, 0, sizeof(*a));
	a->sort = S_MESSAGES;
	a->top = -1;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': a->config = optarg; break;
		case 'd': a->db = optarg; break;
		case 's': a->since_text = optarg; break;
		case 'D': a->domain = optarg; break;
		case 'O': a->host = optarg; break;
		case 'n':
			a->top = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || a->top < 0) {
				fprintf(stderr, "sendercheck-stats: --top wants a number, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'S':
			for (i = 0; i < S_PROFILE && strcasecmp(sort_names[i], optarg) != 0; i++)
				;
			if (i == S_PROFILE && profile_parse(optarg) >= 0)
				i = S_PROFILE + profile_parse(optarg);
			else if (i == S_PROFILE) {
				fprintf(stderr, "sendercheck-stats: unknown --sort column '%s'\n", optarg);
				return 2;
			}
			a->sort = (enum sort_key)i;
			break;
		case 'r': a->reverse = 1; break;
		case 'f':
			if (strcmp(optarg, "text") == 0)
				a->fmt = FMT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				a->fmt = FMT_JSON;
			else if (strcmp(optarg, "csv") == 0)
				a->fmt = FMT_CSV;
			else {
				fprintf(stderr, "sendercheck-stats: --format is text, json or csv, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'H': a->html = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		const char *c = argv[optind++];

		if (strcmp(c, "domains") == 0)
			a->cmd = CMD_DOMAINS;
		else if (strcmp(c, "rules") == 0)
			a->cmd = CMD_RULES;
		else if (strcmp(c, "trend") == 0)
			a->cmd = CMD_TREND;
		else if (strcmp(c, "ips") == 0)
			a->cmd = CMD_IPS;
		else if (strcmp(c, "selectors") == 0)
			a->cmd = CMD_SELECTORS;
		else if (strcmp(c, "backup") == 0) {
			a->cmd = CMD_BACKUP;
			if (optind == argc) {
				fprintf(stderr, "sendercheck-stats: backup needs the FILE to write\n");
				return 2;
			}
			a->backup = argv[optind++];
		} else {
			fprintf(stderr, "sendercheck-stats: unknown report '%s' (domains, rules, trend, ips, "
			    "selectors, backup)\n", c);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (a->since_text == NULL)
		a->since_text = a->cmd == CMD_TREND ? "30d" : "7d";
	if ((a->since = parse_since(a->since_text, time(NULL))) < 0) {
		fprintf(stderr, "sendercheck-stats: --since '%s': expected 24h, 7d, 2w, YYYY-MM-DD or all\n",
		    a->since_text);
		return 2;
	}
	return 0;
}

/* ---- numbers ---- */

static double
pct(long num, long den)
{
	return den > 0 ? 100.0 * (double)num / (double)den : -1;
}

static void
pct_text(char *buf, size_t len, long num, long den)
{
	if (den <= 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f", pct(num, den));
}

static double
sort_value(const struct statsdb_domain *d, enum sort_key k)
{
	const struct statsdb_counts *c = &d->c;

	switch (k) {
	case S_MESSAGES: return (double)c->messages;
	case S_SPF: return pct(c->spf_pass, c->messages);
	case S_DKIM: return pct(c->dkim_pass, c->messages);
	case S_DMARC: return pct(c->dmarc_pass, c->messages);
	case S_ALIGNED: return pct(c->aligned, c->messages);
	case S_ONECLICK: return c->bulk ? pct(c->bulk_oneclick, c->bulk) : 1000;
	case S_DOMAIN: break;
	case S_PROFILE:
	default: {
		int p = (int)k - S_PROFILE;

		if (p >= 0 && p < PROFILE_COUNT)
			return c->judged[p] ? pct(c->compliant[p], c->judged[p]) : 1000;
		break;
	}
	}
	return 0;
}

static enum sort_key g_sort;
static int g_reverse;

static int
domain_order(const void *x, const void *y)
{
	const struct statsdb_domain *a = x, *b = y;
	int r;

	if (g_sort == S_DOMAIN)
		r = strcmp(a->domain, b->domain);
	else {
		double va = sort_value(a, g_sort), vb = sort_value(b, g_sort);
		/* messages: most first; percentages: worst first */
		r = va < vb ? -1 : va > vb ? 1 : 0;
		if (g_sort == S_MESSAGES)
			r = -r;
		if (r == 0)
			r = (a->c.messages > b->c.messages) ? -1 : (a->c.messages < b->c.messages);
		if (r == 0)
			r = strcmp(a->domain, b->domain);
	}
	return g_reverse ? -r : r;
}

/* ---- JSON and CSV bits ---- */

static void
jstr(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c < 0x20 ? c : 0xfffd);
		else
			putchar(c);
	}
	putchar('"');
}

static void
jpct(const char *key, long num, long den)
{
	if (den > 0)
		printf(", \"%s\": %.2f", key, pct(num, den));
	else
		printf(", \"%s\": null", key);
}

/* One cell, quoted as RFC 4180 says and never a formula (escape.h). */
static void
csv_field(const char *s)
{
	struct sbuf b;

	sbuf_init(&b, 2 * strlen(s) + 4);
	escape_csv_cell(&b, s);
	fputs(b.s, stdout);
	sbuf_free(&b);
}

static void
counts_json(const struct statsdb_counts *c)
{
	printf("\"messages\": %ld, \"spf_pass\": %ld", c->messages, c->spf_pass);
	jpct("spf_pass_pct", c->spf_pass, c->messages);
	printf(", \"dkim_pass\": %ld", c->dkim_pass);
	jpct("dkim_pass_pct", c->dkim_pass, c->messages);
	printf(", \"dmarc_pass\": %ld", c->dmarc_pass);
	jpct("dmarc_pass_pct", c->dmarc_pass, c->messages);
	printf(", \"aligned\": %ld", c->aligned);
	jpct("aligned_pct", c->aligned, c->messages);
	printf(", \"bulk_messages\": %ld, \"bulk\": %s, \"oneclick_ok\": %ld", c->bulk,
	    c->bulk > 0 ? "true" : "false", c->bulk_oneclick);
	jpct("oneclick_ok_pct", c->bulk_oneclick, c->bulk);
	printf(", \"profiles\": {");
	for (int p = 0; p < PROFILE_COUNT; p++) {
		printf("%s\"%s\": {\"judged\": %ld, \"compliant\": %ld", p ? ", " : "",
		    profile_name((enum profile_id)p), c->judged[p], c->compliant[p]);
		jpct("compliant_pct", c->compliant[p], c->judged[p]);
		putchar('}');
	}
	printf("}, \"actions\": {");
	for (int x = 0; x < ACT_COUNT; x++)
		printf("%s\"%s\": %ld", x ? ", " : "", action_str((enum action)x), c->action[x]);
	putchar('}');
}

static void
counts_csv_head(void)
{
	printf("messages,spf_pass,spf_pass_pct,dkim_pass,dkim_pass_pct,dmarc_pass,dmarc_pass_pct,"
	    "aligned,aligned_pct,bulk_messages,oneclick_ok,oneclick_ok_pct");
	for (int p = 0; p < PROFILE_COUNT; p++)
		printf(",%s_judged,%s_compliant,%s_pct", profile_name((enum profile_id)p),
		    profile_name((enum profile_id)p), profile_name((enum profile_id)p));
	for (int x = 0; x < ACT_COUNT; x++)
		printf(",%s", action_str((enum action)x));
}

static void
counts_csv(const struct statsdb_counts *c)
{
	char b[5][16];

	pct_text(b[0], sizeof(b[0]), c->spf_pass, c->messages);
	pct_text(b[1], sizeof(b[1]), c->dkim_pass, c->messages);
	pct_text(b[2], sizeof(b[2]), c->dmarc_pass, c->messages);
	pct_text(b[3], sizeof(b[3]), c->aligned, c->messages);
	pct_text(b[4], sizeof(b[4]), c->bulk_oneclick, c->bulk);
	for (int i = 0; i < 5; i++)
		if (strcmp(b[i], "-") == 0)
			b[i][0] = '\0';
	printf("%ld,%ld,%s,%ld,%s,%ld,%s,%ld,%s,%ld,%ld,%s", c->messages, c->spf_pass, b[0], c->dkim_pass,
	    b[1], c->dmarc_pass, b[2], c->aligned, b[3], c->bulk, c->bulk_oneclick, b[4]);
	for (int p = 0; p < PROFILE_COUNT; p++) {
		char q[16];

		pct_text(q, sizeof(q), c->compliant[p], c->judged[p]);
		printf(",%ld,%ld,%s", c->judged[p], c->compliant[p], strcmp(q, "-") ? q : "");
	}
	for (int x = 0; x < ACT_COUNT; x++)
		printf(",%ld", c->action[x]);
}

/* The percentage columns shared by the domains and trend tables (63 columns). */
static void
counts_text_head(void)
{
	printf(" %6s %6s %6s %6s %7s", "SPF%", "DKIM%", "DMARC%", "ALIGN%", "1CLICK%");
	for (int p = 0; p < PROFILE_COUNT; p++)
		printf(" %*s%%", p == 0 ? 6 : 5, profile_abbrev((enum profile_id)p));
}

static void
counts_text(const struct statsdb_counts *c)
{
	char b[5][16], q[16];

	pct_text(b[0], sizeof(b[0]), c->spf_pass, c->messages);
	pct_text(b[1], sizeof(b[1]), c->dkim_pass, c->messages);
	pct_text(b[2], sizeof(b[2]), c->dmarc_pass, c->messages);
	pct_text(b[3], sizeof(b[3]), c->aligned, c->messages);
	pct_text(b[4], sizeof(b[4]), c->bulk_oneclick, c->bulk);
	printf(" %6s %6s %6s %6s %7s", b[0], b[1], b[2], b[3], b[4]);
	for (int p = 0; p < PROFILE_COUNT; p++) {
		pct_text(q, sizeof(q), c->compliant[p], c->judged[p]);
		printf(" %*s", p == 0 ? 7 : 6, q);
	}
}

/* s cut to width columns with "..." at the end when longer. */
static void
cut(char *dst, size_t len, const char *s, size_t width)
{
	if (strlen(s) <= width || width < 4)
		snprintf(dst, len, "%.*s", (int)width, s);
	else
		snprintf(dst, len, "%.*s...", (int)(width - 3), s);
}

/* ---- the three reports ---- */

/* "host": H, in a JSON report limited to one host */
static void
json_host(const struct args *a)
{
	if (a->host == NULL)
		return;
	printf("\"host\": ");
	jstr(a->host);
	printf(", ");
}

/* The per-domain table, or the same per client IP (ips). */
static void
print_domains(const struct args *a, struct statsdb_domain *d, size_t n)
{
	int ips = a->cmd == CMD_IPS;
	const char *key = ips ? "ip" : "domain";
	char dom[40];

	if (a->fmt == FMT_JSON) {
		printf("{\"report\": \"%s\", ", ips ? "ips" : "domains");
		json_host(a);
		printf("\"since\": ");
		jstr(a->since_text);
		printf(", \"since_unix\": %lld, \"%s\": [", a->since, ips ? "ips" : "domains");
		for (size_t i = 0; i < n; i++) {
			printf("%s\n  {\"%s\": ", i ? "," : "", key);
			jstr(d[i].domain);
			printf(", ");
			counts_json(&d[i].c);
			putchar('}');
		}
		printf("\n]}\n");
	} else if (a->fmt == FMT_CSV) {
		printf("%s,", key);
		counts_csv_head();
		printf(",bulk\n");
		for (size_t i = 0; i < n; i++) {
			csv_field(d[i].domain);
			putchar(',');
			counts_csv(&d[i].c);
			printf(",%s\n", d[i].c.bulk > 0 ? "yes" : "no");
		}
	} else {
		long total = 0;

		printf("%-28s %7s", ips ? "CLIENT IP" : "DOMAIN", "MSGS");
		counts_text_head();
		printf(" %4s\n", "BULK");
		for (size_t i = 0; i < n; i++) {
			cut(dom, sizeof(dom), d[i].domain, 28);
			printf("%-28s %7ld", dom, d[i].c.messages);
			counts_text(&d[i].c);
			printf(" %4s\n", d[i].c.bulk > 0 ? "yes" : "no");
			total += d[i].c.messages;
		}
		printf("%zu %s%s, %ld message%s since %s%s%s\n", n, ips ? "address" : "domain",
		    n == 1 ? "" : ips ? "es" : "s", total, total == 1 ? "" : "s", a->since_text,
		    a->host ? " on " : "", a->host ? a->host : "");
	}
}

static void
print_selectors(const struct args *a, const struct statsdb_selector *r, size_t n)
{
	char dom[40], sel[24], p[16];

	if (a->fmt == FMT_JSON) {
		printf("{\"report\": \"selectors\", ");
		json_host(a);
		printf("\"since\": ");
		jstr(a->since_text);
		printf(", \"since_unix\": %lld, \"selectors\": [", a->since);
		for (size_t i = 0; i < n; i++) {
			printf("%s\n  {\"domain\": ", i ? "," : "");
			jstr(r[i].domain);
			printf(", \"selector\": ");
			jstr(r[i].selector);
			printf(", \"signatures\": %ld, \"pass\": %ld}", r[i].signatures, r[i].pass);
		}
		printf("\n]}\n");
	} else if (a->fmt == FMT_CSV) {
		printf("domain,selector,signatures,pass\n");
		for (size_t i = 0; i < n; i++) {
			csv_field(r[i].domain);
			putchar(',');
			csv_field(r[i].selector);
			printf(",%ld,%ld\n", r[i].signatures, r[i].pass);
		}
	} else {
		printf("%-28s %-16s %7s %6s\n", "SIGNING DOMAIN", "SELECTOR", "SIGS", "PASS%");
		for (size_t i = 0; i < n; i++) {
			cut(dom, sizeof(dom), r[i].domain, 28);
			cut(sel, sizeof(sel), r[i].selector, 16);
			pct_text(p, sizeof(p), r[i].pass, r[i].signatures);
			printf("%-28s %-16s %7ld %6s\n", dom, sel, r[i].signatures, p);
		}
		printf("%zu selector%s since %s\n", n, n == 1 ? "" : "s", a->since_text);
	}
}

static void
print_rules(const struct args *a, const struct statsdb_rule *r, size_t n, long messages)
{
	if (a->fmt == FMT_JSON) {
		printf("{\"report\": \"rules\", ");
		json_host(a);
		printf("\"since\": ");
		jstr(a->since_text);
		printf(", \"since_unix\": %lld, \"messages\": %ld, \"rules\": [", a->since, messages);
		for (size_t i = 0; i < n; i++) {
			printf("%s\n  {\"rule\": ", i ? "," : "");
			jstr(r[i].rule);
			printf(", \"messages\": %ld", r[i].messages);
			jpct("messages_pct", r[i].messages, messages);
			printf(", \"profiles\": {");
			for (int p = 0; p < PROFILE_COUNT; p++)
				printf("%s\"%s\": %ld", p ? ", " : "", profile_name((enum profile_id)p),
				    r[i].per_profile[p]);
			printf("}, \"top_domains\": [");
			for (size_t k = 0; k < r[i].n_top; k++) {
				printf("%s{\"domain\": ", k ? ", " : "");
				jstr(r[i].top[k].domain);
				printf(", \"messages\": %ld}", r[i].top[k].n);
			}
			printf("]}");
		}
		printf("\n]}\n");
	} else if (a->fmt == FMT_CSV) {
		printf("rule,messages,messages_pct");
		for (int q = 0; q < PROFILE_COUNT; q++)
			printf(",%s", profile_name((enum profile_id)q));
		printf(",top_domains\n");
		for (size_t i = 0; i < n; i++) {
			char p[16];
			struct sbuf top;

			pct_text(p, sizeof(p), r[i].messages, messages);
			printf("%s,%ld,%s,", r[i].rule, r[i].messages, strcmp(p, "-") ? p : "");
			for (int q = 0; q < PROFILE_COUNT; q++)
				printf("%ld,", r[i].per_profile[q]);
			sbuf_init(&top, 8192);
			for (size_t k = 0; k < r[i].n_top; k++)
				sbuf_printf(&top, "%s%s:%ld", k ? " " : "", r[i].top[k].domain, r[i].top[k].n);
			csv_field(top.s);
			sbuf_free(&top);
			putchar('\n');
		}
	} else {
		printf("%-14s %7s %6s", "RULE", "MSGS", "%MSGS");
		for (int q = 0; q < PROFILE_COUNT; q++)
			printf(" %7s", profile_abbrev((enum profile_id)q));
		printf("  %s\n", "DOMAINS FAILING IT MOST");
		for (size_t i = 0; i < n; i++) {
			char p[16], top[256] = "", part[300];
			size_t room = 100 - 59;

			pct_text(p, sizeof(p), r[i].messages, messages);
			for (size_t k = 0; k < r[i].n_top; k++) {
				snprintf(part, sizeof(part), "%s%s (%ld)", k ? ", " : "", r[i].top[k].domain,
				    r[i].top[k].n);
				if (strlen(top) + strlen(part) > room) {
					if (strlen(top) + 4 <= room)
						strcat(top, ", ...");
					else if (k == 0)
						cut(top, sizeof(top), part, room);
					break;
				}
				strcat(top, part);
			}
			printf("%-14s %7ld %6s", r[i].rule, r[i].messages, p);
			for (int q = 0; q < PROFILE_COUNT; q++)
				printf(" %7ld", r[i].per_profile[q]);
			printf("  %s\n", top);
		}
		printf("%zu rule%s failed, of %ld message%s since %s\n", n, n == 1 ? "" : "s", messages,
		    messages == 1 ? "" : "s", a->since_text);
	}
}

static void
print_trend(const struct args *a, const struct statsdb_day *d, size_t n)
{
	if (a->fmt == FMT_JSON) {
		printf("{\"report\": \"trend\", ");
		json_host(a);
		printf("\"domain\": ");
		if (a->domain)
			jstr(a->domain);
		else
			printf("null");
		printf(", \"since\": ");
		jstr(a->since_text);
		printf(", \"days\": [");
		for (size_t i = 0; i < n; i++) {
			printf("%s\n  {\"day\": \"%s\", ", i ? "," : "", d[i].day);
			counts_json(&d[i].c);
			putchar('}');
		}
		printf("\n]}\n");
	} else if (a->fmt == FMT_CSV) {
		printf("day,");
		counts_csv_head();
		putchar('\n');
		for (size_t i = 0; i < n; i++) {
			printf("%s,", d[i].day);
			counts_csv(&d[i].c);
			putchar('\n');
		}
	} else {
		printf("%-10s %7s", "DAY", "MSGS");
		counts_text_head();
		putchar('\n');
		for (size_t i = 0; i < n; i++) {
			printf("%-10s %7ld", d[i].day, d[i].c.messages);
			counts_text(&d[i].c);
			putchar('\n');
		}
		printf("%zu day%s, %s, since %s\n", n, n == 1 ? "" : "s", a->domain ? a->domain : "all domains",
		    a->since_text);
	}
}

/* ---- the file ---- */

static const char *
db_path(const struct args *a, struct sc_config *cfg, int *have_cfg)
{
	const char *path = a->config;
	struct sbuf errs;
	int problems;

	*have_cfg = 0;
	if (a->db != NULL)
		return a->db;
	if (path == NULL) {
		path = SYSCONFDIR "/sendercheck.conf";
		if (access(path, R_OK) != 0)
			return DEFAULT_DB;
	}
	sbuf_init(&errs, 1 << 16);
	problems = config_load(cfg, path, &errs);
	if (problems > 0) {
		fputs(errs.s, stderr);
		sbuf_free(&errs);
		config_free(cfg);
		return NULL;
	}
	sbuf_free(&errs);
	*have_cfg = 1;
	if (cfg->stats_db[0] == '\0') {
		fprintf(stderr, "sendercheck-stats: %s sets no StatsDB; using %s\n", path, DEFAULT_DB);
		return DEFAULT_DB;
	}
	return cfg->stats_db;
}

static struct statsdb *
open_db(const char *path)
{
	char why[600], why2[600];
	struct statsdb *db;

	if (sqldb_is_uri(path)) {
		if ((db = statsdb_open(path, 0, why, sizeof(why))) == NULL)
			fprintf(stderr, "sendercheck-stats: %s%s\n", why, strstr(why, "is older") ?
			    " (a daemon upgrades it when it starts)" : "");
		return db;
	}
	if (access(path, F_OK) != 0) {
		fprintf(stderr, "sendercheck-stats: no statistics file %s (is StatsDB set?)\n", path);
		return NULL;
	}
	if ((db = statsdb_open(path, 0, why, sizeof(why))) != NULL)
		return db;
	/* an older schema: upgrade it if we may write */
	if (access(path, W_OK) == 0 && strstr(why, "is older") != NULL &&
	    (db = statsdb_open(path, STATSDB_WRITE, why2, sizeof(why2))) != NULL) {
		fprintf(stderr, "sendercheck-stats: upgraded %s to schema version %d\n", path,
		    STATSDB_SCHEMA_VERSION);
		return db;
	}
	fprintf(stderr, "sendercheck-stats: %s\n", why);
	return NULL;
}

static int
write_html(const struct args *a, struct statsdb *db, const char *dbpath)
{
	struct statshtml_input in;
	struct statsdb_domain *doms = NULL;
	struct statsdb_rule *rules = NULL;
	struct statsdb_day *days = NULL;
	size_t nd = 0, nr = 0, ny = 0;
	long msgs = 0;
	char why[300], window[128], gen[64];
	time_t now = time(NULL);
	struct tm tm;
	char *page;
	FILE *f;
	int rc = 1;

	if (statsdb_domains(db, a->since, a->domain, &doms, &nd, why, sizeof(why)) < 0 ||
	    statsdb_rules(db, a->since, a->domain, &rules, &nr, &msgs, why, sizeof(why)) < 0 ||
	    statsdb_trend(db, a->since, a->domain, &days, &ny, why, sizeof(why)) < 0) {
		fprintf(stderr, "sendercheck-stats: %s: %s\n", dbpath, why);
		goto out;
	}
	g_sort = a->sort;
	g_reverse = a->reverse;
	if (nd > 1)
		qsort(doms, nd, sizeof(*doms), domain_order);
	if (a->top >= 0 && (size_t)a->top < nd)
		nd = (size_t)a->top;
	if (a->top >= 0 && (size_t)a->top < nr)
		nr = (size_t)a->top;
	gmtime_r(&now, &tm);
	strftime(gen, sizeof(gen), "%Y-%m-%d %H:%M UTC", &tm);
	char sday[11];
	statsdb_day(a->since, sday);
	snprintf(window, sizeof(window), "since %s (%s)", a->since ? sday : "the first message", a->since_text);
	memset(&in, 0, sizeof(in));
	in.title = "sendercheck compliance statistics";
	in.window = window;
	in.generated = gen;
	in.domain = a->domain;
	in.profiles = (1u << PROFILE_COUNT) - 1;
	in.domains = doms;
	in.n_domains = nd;
	in.rules = rules;
	in.n_rules = nr;
	in.rule_messages = msgs;
	in.days = days;
	in.n_days = ny;
	if ((page = statshtml_render(&in)) == NULL) {
		fprintf(stderr, "sendercheck-stats: out of memory\n");
		goto out;
	}
	if ((f = fopen(a->html, "w")) == NULL || fputs(page, f) == EOF || fclose(f) != 0) {
		fprintf(stderr, "sendercheck-stats: cannot write %s: %s\n", a->html, strerror(errno));
		free(page);
		goto out;
	}
	free(page);
	rc = 0;
out:
	free(doms);
	free(rules);
	free(days);
	return rc;
}

int
main(int argc, char **argv)
{
	struct args a;
	struct sc_config cfg;
	struct statsdb *db;
	const char *path;
	char why[300];
	int have_cfg, rc;

	if ((rc = parse_args(argc, argv, &a)) != 0)
		return rc;
	if ((path = db_path(&a, &cfg, &have_cfg)) == NULL)
		return 2;
	if ((db = open_db(path)) == NULL || statsdb_filter_host(db, a.host) < 0) {
		statsdb_close(db);
		if (have_cfg)
			config_free(&cfg);
		return 1;
	}
	rc = 0;
	if (a.html != NULL) {
		rc = write_html(&a, db, path);
	} else if (a.cmd == CMD_BACKUP) {
		if (statsdb_backup(db, a.backup, why, sizeof(why)) < 0) {
			fprintf(stderr, "sendercheck-stats: %s\n", why);
			rc = 1;
		} else {
			printf("%s: copied to %s\n", path, a.backup);
		}
	} else if (a.cmd == CMD_SELECTORS) {
		struct statsdb_selector *r;
		size_t n;

		if (statsdb_selectors(db, a.since, a.domain, &r, &n, why, sizeof(why)) < 0) {
			fprintf(stderr, "sendercheck-stats: %s: %s\n", path, why);
			rc = 1;
		} else {
			if (a.top >= 0 && (size_t)a.top < n)
				n = (size_t)a.top;
			print_selectors(&a, r, n);
			free(r);
		}
	} else if (a.cmd == CMD_DOMAINS || a.cmd == CMD_IPS) {
		struct statsdb_domain *d;
		size_t n;

		if ((a.cmd == CMD_IPS ? statsdb_ips : statsdb_domains)(db, a.since, a.domain, &d, &n,
		    why, sizeof(why)) < 0) {
			fprintf(stderr, "sendercheck-stats: %s: %s\n", path, why);
			rc = 1;
		} else {
			g_sort = a.sort;
			g_reverse = a.reverse;
			if (n > 1)
				qsort(d, n, sizeof(*d), domain_order);
			if (a.top >= 0 && (size_t)a.top < n)
				n = (size_t)a.top;
			print_domains(&a, d, n);
			free(d);
		}
	} else if (a.cmd == CMD_RULES) {
		struct statsdb_rule *r;
		size_t n;
		long msgs;

		if (statsdb_rules(db, a.since, a.domain, &r, &n, &msgs, why, sizeof(why)) < 0) {
			fprintf(stderr, "sendercheck-stats: %s: %s\n", path, why);
			rc = 1;
		} else {
			if (a.top >= 0 && (size_t)a.top < n)
				n = (size_t)a.top;
			print_rules(&a, r, n, msgs);
			free(r);
		}
	} else {
		struct statsdb_day *d;
		size_t n;

		if (statsdb_trend(db, a.since, a.domain, &d, &n, why, sizeof(why)) < 0) {
			fprintf(stderr, "sendercheck-stats: %s: %s\n", path, why);
			rc = 1;
		} else {
			print_trend(&a, d, n);
			free(d);
		}
	}
	statsdb_close(db);
	if (have_cfg)
		config_free(&cfg);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}
