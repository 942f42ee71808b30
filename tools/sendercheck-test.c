/*
 * sendercheck-test: runs the milter's engine on one message file, without
 * an MTA, and prints what the milter would decide: each check with its
 * result and reason, the action, and the exact header fields it would add
 * (or, with --json, one JSON object with the same content).
 * With --spf-only DOMAIN it checks only DOMAIN's SPF record for --ip,
 * without a message: for senders testing their record. The SPF part
 * shows the walk of records (builtin engine): lookups used of 10, void
 * lookups of 2, the deciding term, and lint warnings.
 * Exit status: 0 when the check ran (whatever the verdict), 2 on usage or
 * input errors.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "dnscheck.h"
#include "dnsname.h"
#include "engine.h"
#include "fields.h"
#include "header.h"
#include "json.h"
#include "log.h"
#include "options.h"
#include "report.h"
#include "sbuf.h"

#define MAX_MESSAGE (64 * 1024 * 1024)

struct args {
	const char *config;
	const char *ip;
	const char *helo;
	const char *mail_from;
	const char *tls;
	const char *message;
	const char *spf_only;	/* --spf-only DOMAIN */
	const char *dns_check;	/* --dns-check DOMAIN */
	const char *selectors[DNSCHECK_MAX_SELECTORS];	/* --selector S */
	size_t n_selectors;
	int no_tls;		/* --no-tls */
	unsigned profiles;	/* --profile NAME (repeatable); 0: all configured */
	int json;
	unsigned n_rcpt;
	const char *rcpt[64];
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sendercheck-test [-c FILE] --ip ADDR [--helo NAME] --mail-from ADDR\n"
	    "                        [--rcpt ADDR]... [--tls VERSION] [--json] MESSAGE|-\n"
	    "       sendercheck-test [-c FILE] --spf-only DOMAIN --ip ADDR [--helo NAME] [--json]\n"
	    "       sendercheck-test [-c FILE] --dns-check DOMAIN [--selector S]... [--ip ADDR]\n"
	    "  -c, --config FILE   configuration file (default %s if it exists)\n"
	    "  --ip ADDR           the connecting client's IP address\n"
	    "  --helo NAME         the HELO/EHLO name\n"
	    "  --mail-from ADDR    the MAIL FROM address; '<>' is the null sender\n"
	    "  --rcpt ADDR         a recipient (repeatable)\n"
	    "  --tls VERSION       the message came over TLS (e.g. TLSv1.3)\n"
	    "  --no-tls            it came without TLS (neither option: TLS unknown)\n"
	    "  --profile NAME      show only this profile's verdict: google, yahoo, microsoft\n"
	    "  --json              print one JSON object instead of the report\n"
	    "  --spf-only DOMAIN   check DOMAIN's SPF record for --ip (no message): the walk,\n"
	    "                      lookups used of the limits, and warnings for senders\n"
	    "  --dns-check DOMAIN  check what DOMAIN publishes (no message): SPF as --spf-only,\n"
	    "                      DKIM keys, the DMARC record, with records to publish as fixes\n"
	    "  --selector S        with --dns-check: the DKIM selector to check (repeatable;\n"
	    "                      none: common selectors are tried)\n"
	    "  --fields            list every field of the JSON record and where it appears\n"
	    "  -h, --help          print this summary and exit\n"
	    "MESSAGE is a file in RFC 5322 form (LF or CRLF line ends), '-' for stdin.\n",
	    SYSCONFDIR "/sendercheck.conf");
}

/* An address as the MTA gives it: IPv4 dotted quad or IPv6, nothing else
 * (no prefix, no brackets, no name). */
static int
is_ip_address(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}


static int
parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "ip", required_argument, NULL, 'i' },
		{ "helo", required_argument, NULL, 'H' },
		{ "mail-from", required_argument, NULL, 'm' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ "tls", required_argument, NULL, 't' },
		{ "no-tls", no_argument, NULL, 'T' },
		{ "profile", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "spf-only", required_argument, NULL, 's' },
		{ "dns-check", required_argument, NULL, 'D' },
		{ "selector", required_argument, NULL, 'S' },
		{ "fields", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(a, 0, sizeof(*a));
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': a->config = optarg; break;
		case 'i': a->ip = optarg; break;
		case 'H': a->helo = optarg; break;
		case 'm': a->mail_from = optarg; break;
		case 't': a->tls = optarg; break;
		case 'T': a->no_tls = 1; break;
		case 'p':
			if (profile_parse(optarg) < 0) {
				fprintf(stderr, "sendercheck-test: --profile: '%s' is not google, yahoo or microsoft\n",
				    optarg);
				return -1;
			}
			a->profiles |= 1u << profile_parse(optarg);
			break;
		case 'j': a->json = 1; break;
		case 's': a->spf_only = optarg; break;
		case 'D': a->dns_check = optarg; break;
		case 'S':
			if (a->n_selectors == DNSCHECK_MAX_SELECTORS) {
				fprintf(stderr, "sendercheck-test: at most %d --selector\n", DNSCHECK_MAX_SELECTORS);
				return -1;
			}
			a->selectors[a->n_selectors++] = optarg;
			break;
		case 'r':
			if (a->n_rcpt < 64)
				a->rcpt[a->n_rcpt++] = optarg;
			break;
		case 'h': usage(stdout); exit(0);
		case 'F': {
			char *t = report_fields();

			fputs(t ? t : "", stdout);
			free(t);
			exit(0);
		}
		default: return -1;
		}
	}
	if (a->ip != NULL && !is_ip_address(a->ip)) {
		fprintf(stderr, "sendercheck-test: --ip '%s' is not an IPv4 or IPv6 address\n", a->ip);
		return -1;
	}
	if (a->n_selectors > 0 && a->dns_check == NULL) {
		fprintf(stderr, "sendercheck-test: --selector goes with --dns-check\n");
		return -1;
	}
	if (a->dns_check != NULL) {
		if (optind != argc || a->spf_only != NULL || a->json) {
			fprintf(stderr, "sendercheck-test: --dns-check takes no MESSAGE, --spf-only or --json\n");
			return -1;
		}
		if (!dns_name_ok(a->dns_check, DNS_NAME_HOST_UTF8 | DNS_NAME_FINAL_DOT)) {
			fprintf(stderr, "sendercheck-test: --dns-check '%s' is not a domain name\n", a->dns_check);
			return -1;
		}
		return 0;
	}
	if (a->spf_only != NULL) {
		if (optind != argc) {
			fprintf(stderr, "sendercheck-test: --spf-only takes no MESSAGE\n");
			return -1;
		}
		if (a->ip == NULL) {
			fprintf(stderr, "sendercheck-test: --ip is required (the client address SPF checks)\n");
			return -1;
		}
		return 0;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "sendercheck-test: give exactly one MESSAGE file (or '-')\n");
		return -1;
	}
	a->message = argv[optind];
	if (a->ip == NULL) {
		fprintf(stderr, "sendercheck-test: --ip is required (the client address SPF checks)\n");
		return -1;
	}
	if (a->mail_from == NULL) {
		fprintf(stderr, "sendercheck-test: --mail-from is required ('<>' for the null sender)\n");
		return -1;
	}
	return 0;
}

static int
read_message(const char *path, struct sbuf *out)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char buf[65536];
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "sendercheck-test: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (sbuf_add(out, buf, n) < 0)
			break;
	if (f != stdin)
		fclose(f);
	if (out->overflow) {
		fprintf(stderr, "sendercheck-test: %s is larger than %d MiB\n", path, MAX_MESSAGE >> 20);
		return -1;
	}
	return 0;
}

/*
 * The verdict as the report and the JSON record show it: only the
 * profiles asked for with --profile (the header fields keep them all).
 */
static const struct verdict *
shown(const struct args *a, const struct verdict *v, struct verdict *copy)
{
	if (a->profiles == 0)
		return v;
	*copy = *v;
	for (int p = 0; p < PROFILE_COUNT; p++)
		if (!(a->profiles & (1u << p)))
			copy->compliance.profile[p].enabled = 0;
	return copy;
}

/*
 * The worst case for the lookup limits: the same record evaluated for a
 * client that matches none of its address terms (0.0.0.1, or ::1 for an
 * IPv6 --ip), so every term up to the final "all" is evaluated. A record
 * can pass for the sender's own IP early in the walk and still be over
 * the limit for its other senders. Builtin engine only (it counts).
 */
static void
spf_worst_case(struct spf_engine *e, struct dns_resolver *r,
    const struct sc_config *cfg, const struct args *a, struct spf_outcome *w)
{
	struct dns_ctx ctx;
	struct spf_query q = { 0 };

	dns_ctx_init(&ctx, r, cfg->dns_timeout_ms);
	q.client_ip = strchr(a->ip, ':') && !strstr(a->ip, "::ffff:") ? "::1" : "0.0.0.1";
	q.helo = a->helo ? a->helo : "";
	q.sender = a->spf_only;
	q.identity = SPF_ID_MAILFROM;
	spf_check(e, &ctx, &q, w);
}

static void
print_worst_case(const struct spf_outcome *w)
{
	printf("            worst case (a client no term matches): %s, DNS lookups %u of %d, "
	    "void lookups %u of %d\n", spf_result_str(w->result), w->dns_lookups,
	    SPF_MAX_DNS_TERMS, w->void_lookups, SPF_MAX_VOID);
	if (w->dns_lookups > SPF_MAX_DNS_TERMS || w->void_lookups > SPF_MAX_VOID)
		printf("            warning: over the limits for senders matched late or not at all: "
		    "receivers return permerror (%s)\n", w->why);
}

/*
 * --spf-only: DOMAIN's record for --ip, with the configured nameservers,
 * DNSTimeout and SPFEngine. Returns the exit status.
 */
static int
spf_only(const struct args *a, const struct sc_config *cfg)
{
	struct dns_resolver *r;
	struct spf_engine *e;
	struct dns_ctx ctx;
	struct spf_query q = { 0 };
	static struct spf_outcome out, worst;
	static struct verdict v;
	struct sbuf b;
	struct json j;
	char why[256];

	r = dns_resolver_new(cfg->nameservers, cfg->n_nameservers, cfg->dns_cache_size,
	    why, sizeof(why));
	if (r == NULL) {
		fprintf(stderr, "sendercheck-test: %s\n", why);
		return 2;
	}
	e = spf_engine_new((enum spf_engine_kind)cfg->spf_engine,
	    cfg->authserv_id, why, sizeof(why));
	if (e == NULL) {
		fprintf(stderr, "sendercheck-test: %s\n", why);
		dns_resolver_free(r);
		return 2;
	}
	dns_ctx_init(&ctx, r, cfg->dns_timeout_ms);
	q.client_ip = a->ip;
	q.helo = a->helo ? a->helo : "";
	q.sender = a->spf_only;
	q.identity = SPF_ID_MAILFROM;
	spf_check(e, &ctx, &q, &out);
	if (out.n_walk > 0)
		spf_worst_case(e, r, cfg, a, &worst);
	/* rendered as the spf field of a verdict */
	v.spf = out;
	v.spf_done = 1;
	snprintf(v.spf_ip, sizeof(v.spf_ip), "%s", a->ip);
	if (a->json) {
		sbuf_init(&b, 1 << 20);
		json_init(&j, &b);
		json_obj_begin(&j, NULL);
		json_int(&j, "version", VERDICT_JSON_VERSION);
		json_obj_begin(&j, "client");
		json_str(&j, "ip", a->ip);
		json_str(&j, "helo", a->helo ? a->helo : "");
		json_obj_end(&j);
		json_obj_begin(&j, "spf");
		report_json_key(&j, &v, "spf", 1, 1);
		if (out.n_walk > 0) {
			json_obj_begin(&j, "worst_case");
			json_str(&j, "client_ip", strchr(a->ip, ':') && !strstr(a->ip, "::ffff:") ?
			    "::1" : "0.0.0.1");
			json_str(&j, "result", spf_result_str(worst.result));
			json_str(&j, "reason", worst.why);
			json_int(&j, "dns_lookups", worst.dns_lookups);
			json_int(&j, "void_lookups", worst.void_lookups);
			json_bool(&j, "over_limits", worst.dns_lookups > SPF_MAX_DNS_TERMS ||
			    worst.void_lookups > SPF_MAX_VOID);
			json_obj_end(&j);
		}
		json_obj_end(&j);
		json_obj_end(&j);
		puts(b.s);
		sbuf_free(&b);
	} else {
		char *t = report_text(&v, "spf");

		printf("Client:     %s  HELO %s%s", a->ip, a->helo ? a->helo : "-", t ? t : "\n");
		free(t);
		if (out.n_walk > 0)
			print_worst_case(&worst);
	}
	spf_engine_free(e);
	dns_resolver_free(r);
	return 0;
}

struct fields {
	struct check *c;
	size_t n;
};

static int
give_field(const char *name, const char *value, size_t len, void *arg, char *why, size_t whylen)
{
	struct fields *f = arg;

	(void)why;
	(void)whylen;
	check_header(f->c, name, value, len);
	f->n++;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct sc_config cfg;
	struct args a;
	struct sbuf msg, errs;
	struct fields fields;
	struct engine *e;
	struct check *c;
	const struct verdict *v;
	static struct verdict copy;
	char *storage = NULL, why[512] = "", *text;
	const char *body;
	size_t bodylen;
	int problems;

	if (parse_args(argc, argv, &a) < 0) {
		usage(stderr);
		return 2;
	}
	sbuf_init(&errs, 1 << 16);
	if (a.config == NULL && access(SYSCONFDIR "/sendercheck.conf", R_OK) == 0)
		a.config = SYSCONFDIR "/sendercheck.conf";
	problems = a.config ? config_load(&cfg, a.config, &errs) :
	    config_load_string(&cfg, "(defaults)", "", &errs);
	if (problems > 0) {
		fputs(errs.s, stderr);
		sbuf_free(&errs);
		config_free(&cfg);
		return 2;
	}
	sbuf_free(&errs);
	log_open("sendercheck-test", 0, 0, cfg.log_level < LOG_LVL_WARN ? cfg.log_level : LOG_LVL_WARN);
	if (a.dns_check != NULL) {
		struct args spf = a;
		int found;

		/* SPF as --spf-only does it: for --ip, else a client no term matches */
		spf.spf_only = a.dns_check;
		if (spf.ip == NULL)
			spf.ip = "0.0.0.1";
		printf("Domain:     %s%s\n", a.dns_check, a.ip ? "" :
		    " (SPF for 0.0.0.1, a client no term matches; --ip checks yours)");
		spf_only(&spf, &cfg);
		found = dnscheck_print(&cfg, a.dns_check, a.selectors, a.n_selectors);
		printf("%d problem%s found\n", found, found == 1 ? "" : "s");
		config_free(&cfg);
		dns_thread_done();
		return 0;
	}
	if (a.spf_only != NULL) {
		int rc = spf_only(&a, &cfg);

		config_free(&cfg);
		dns_thread_done();
		return rc;
	}

	sbuf_init(&msg, MAX_MESSAGE);
	if (read_message(a.message, &msg) < 0)
		goto input_error;
	if ((e = engine_new(&cfg, ENGINE_READ_ONLY, why, sizeof(why))) == NULL) {
		fprintf(stderr, "sendercheck-test: %s\n", why);
		goto input_error;
	}
	if ((c = check_new(e)) == NULL) {
		fprintf(stderr, "sendercheck-test: out of memory\n");
		engine_free(e);
		goto input_error;
	}
	check_set_client(c, a.ip, "");
	check_set_helo(c, a.helo ? a.helo : "");
	check_set_mail_from(c, a.mail_from);
	for (unsigned i = 0; i < a.n_rcpt; i++)
		check_add_rcpt(c, a.rcpt[i]);
	if (a.tls != NULL)
		check_set_tls(c, a.tls, "");
	else if (a.no_tls)
		check_set_no_tls(c);
	/* fields go to the check as the milter gives them, one by one */
	fields.c = c;
	fields.n = 0;
	if (message_parse(msg.s, msg.len, give_field, &fields, &storage, &body, &bodylen,
	    why, sizeof(why)) < 0 || fields.n == 0) {
		fprintf(stderr, "sendercheck-test: %s: %s\n", a.message,
		    fields.n == 0 && why[0] == '\0' ? "no header fields: not a message" : why);
		check_free(c);
		engine_free(e);
		goto input_error;
	}
	check_eoh(c);
	check_body(c, (const unsigned char *)body, bodylen);
	v = check_finish(c);
	text = a.json ? report_json(shown(&a, v, &copy), 1) : report_text(shown(&a, v, &copy), NULL);
	fputs(text ? text : "", stdout);
	if (a.json)
		putchar('\n');
	free(text);
	check_free(c);
	engine_free(e);
	free(storage);
	sbuf_free(&msg);
	config_free(&cfg);
	dns_thread_done();
	return 0;

input_error:
	free(storage);
	sbuf_free(&msg);
	config_free(&cfg);
	dns_thread_done();
	return 2;
}
