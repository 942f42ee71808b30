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

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "header.h"
#include "json.h"
#include "log.h"
#include "options.h"
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
	    "MESSAGE is a file in RFC 5322 form (LF or CRLF line ends), '-' for stdin.\n",
	    SYSCONFDIR "/sendercheck.conf");
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
		case 'r':
			if (a->n_rcpt < 64)
				a->rcpt[a->n_rcpt++] = optarg;
			break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
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

/* The builtin engine's walk, limits and lint, under the SPF line. */
static void
print_spf_walk(const struct spf_outcome *s)
{
	unsigned i;

	if (s->n_walk == 0)
		return;		/* libspf2, or no record looked at */
	printf("            engine %s: DNS lookups %u of %d, void lookups %u of %d\n",
	    s->engine, s->dns_lookups, SPF_MAX_DNS_TERMS, s->void_lookups, SPF_MAX_VOID);
	if (s->term[0])
		printf("            decided by '%s' in %s\n", s->term, s->term_domain);
	printf("            records walked:\n");
	for (i = 0; i < s->n_walk; i++) {
		const struct spf_walk_step *w = &s->walk[i];

		printf("            %*s%s%s%s: %s\n", (int)(2 + 2 * w->depth), "",
		    w->via, w->via[0] ? " " : "", w->domain,
		    w->record[0] ? w->record : "(no SPF record)");
		printf("            %*s  -> %s (%s)\n", (int)(2 + 2 * w->depth), "",
		    spf_result_str(w->result), w->why);
	}
	if (s->walk_truncated)
		printf("              (more records than shown)\n");
	for (i = 0; i < s->n_lint; i++)
		printf("            warning: %s\n", s->lint[i]);
}

/* The same in JSON, inside the "spf" object. */
static void
json_spf_walk(struct json *j, const struct spf_outcome *s)
{
	unsigned i;

	json_str(j, "engine", s->engine);
	json_int(j, "dns_lookups", s->dns_lookups);
	json_int(j, "dns_lookups_limit", SPF_MAX_DNS_TERMS);
	json_int(j, "void_lookups", s->void_lookups);
	json_int(j, "void_lookups_limit", SPF_MAX_VOID);
	json_str(j, "term", s->term);
	json_str(j, "term_domain", s->term_domain);
	json_arr_begin(j, "walk");
	for (i = 0; i < s->n_walk; i++) {
		const struct spf_walk_step *w = &s->walk[i];

		json_obj_begin(j, NULL);
		json_int(j, "depth", w->depth);
		json_str(j, "via", w->via);
		json_str(j, "domain", w->domain);
		json_str(j, "record", w->record);
		json_str(j, "result", spf_result_str(w->result));
		json_str(j, "reason", w->why);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_bool(j, "walk_truncated", s->walk_truncated);
	json_arr_begin(j, "lint");
	for (i = 0; i < s->n_lint; i++)
		json_str(j, NULL, s->lint[i]);
	json_arr_end(j);
}

static const char *
tls_text(enum tls_state t)
{
	switch (t) {
	case TLS_YES:			return "yes";
	case TLS_NO:			return "no";
	case TLS_NOT_APPLICABLE:	return "not applicable (outbound)";
	default:			return "unknown (give --tls VERSION or --no-tls)";
	}
}

/* DMARC, iprev, TLS, format, unsubscribe and bulk, one line or two each. */
static void
print_more(const struct verdict *v)
{
	const struct dmarc_outcome *d = &v->dmarc;

	if (v->dmarc_done) {
		printf("DMARC:      %s for %s", dmarc_res_str(d->result),
		    d->from_domain[0] ? d->from_domain : "-");
		if (d->have_record)
			printf(" (record at _dmarc.%s, policy %s)", d->record_domain,
			    dmarc_policy_str(d->policy));
		printf("\n            %s\n", d->why);
	}
	if (v->iprev_done)
		printf("iprev:      %s for %s%s%s (%s)\n", iprev_res_str(v->iprev.result), v->iprev.ip,
		    v->iprev.name[0] ? " -> " : "", v->iprev.name, v->iprev.why);
	printf("TLS:        %s%s%s\n", tls_text(v->env.tls), v->env.tls_version[0] ? ", " : "",
	    v->env.tls_version);
	printf("Format:     %s\n", v->format.pass ? "ok" : "problems");
	for (size_t i = 0; i < v->format.n; i++)
		printf("            %s %s: %s\n", v->format.v[i].level == FORMAT_FAIL ? "fail" : "warning",
		    v->format.v[i].field, v->format.v[i].reason);
	if (v->unsub.n_list_unsub == 0)
		printf("Unsubscribe: none\n");
	else
		printf("Unsubscribe: one-click %s%s%s%s\n", v->unsub.pass ? "ok" : "not ok",
		    v->unsub.sig_domain[0] ? ", signed by d=" : "", v->unsub.sig_domain,
		    v->unsub.pass ? (v->unsub_aligned ? " (aligned with From)" : " (not aligned with From)") : "");
	for (size_t i = 0; i < v->unsub.n_reasons; i++)
		printf("            %s\n", v->unsub.reasons[i]);
	printf("Bulk:       %s%s%s%s\n", v->bulk ? "yes" : "no", v->bulk_why[0] ? " (" : "",
	    v->bulk_why, v->bulk_why[0] ? ")" : "");
}

static int
shown(const struct args *a, int p, const struct verdict *v)
{
	return v->compliance.profile[p].enabled && (a->profiles == 0 || (a->profiles & (1u << p)));
}

/* Per profile: compliant, or each failed rule with its reason and fix. */
static void
print_compliance(const struct args *a, const struct verdict *v)
{
	const struct compliance *c = &v->compliance;

	for (int p = 0; p < PROFILE_COUNT; p++) {
		const struct profile_verdict *pv = &c->profile[p];

		if (!shown(a, p, v))
			continue;
		printf("%-11s %s\n", p == PROFILE_GOOGLE ? "Google:" : p == PROFILE_YAHOO ? "Yahoo:" :
		    "Microsoft:", !pv->pass ? "NOT compliant" :
		    pv->temperror ? "compliant so far (DNS trouble kept a rule from an answer)" : "compliant");
		for (size_t i = 0; i < pv->n_failed; i++) {
			const struct rule_result *r = rules_result(c, (enum profile_id)p, pv->failed[i]);

			printf("            %s: %s\n", rule_name(pv->failed[i]), r->reason);
			if (r->fix[0])
				printf("              fix: %s\n", r->fix);
		}
	}
	for (size_t i = 0; i < c->n_warn; i++)
		printf("Warning:    %s\n", c->warn[i]);
	printf("Not checkable here: spam rate under 0.3%%, unsubscribes honoured within 2 days\n");
}

static void
json_compliance(struct json *j, const struct args *a, const struct verdict *v)
{
	const struct compliance *c = &v->compliance;

	json_obj_begin(j, "dmarc");
	json_str(j, "result", v->dmarc_done ? dmarc_res_str(v->dmarc.result) : "none");
	json_str(j, "from_domain", v->dmarc.from_domain);
	json_str(j, "org_domain", v->dmarc.org_domain);
	json_str(j, "record_domain", v->dmarc.record_domain);
	json_str(j, "policy", dmarc_policy_str(v->dmarc.policy));
	json_bool(j, "p_present", v->dmarc.have_record && v->dmarc.record.p_present);
	json_int(j, "records", (long)v->dmarc.n_records);
	json_bool(j, "spf_aligned", v->dmarc.spf_aligned);
	json_bool(j, "dkim_aligned", v->dmarc.dkim_aligned);
	json_str(j, "reason", v->dmarc.why);
	json_obj_end(j);
	json_obj_begin(j, "iprev");
	json_str(j, "result", v->iprev_done ? iprev_res_str(v->iprev.result) : "none");
	json_str(j, "ip", v->iprev.ip);
	json_str(j, "name", v->iprev.name);
	json_str(j, "reason", v->iprev.why);
	json_obj_end(j);
	json_str(j, "tls", v->env.tls == TLS_YES ? "yes" : v->env.tls == TLS_NO ? "no" :
	    v->env.tls == TLS_NOT_APPLICABLE ? "n/a" : "unknown");
	json_obj_begin(j, "unsubscribe");
	json_bool(j, "oneclick", v->unsub.pass);
	json_int(j, "list_unsubscribe_fields", v->unsub.n_list_unsub);
	json_bool(j, "https", v->unsub.has_https);
	json_bool(j, "mailto", v->unsub.has_mailto);
	json_bool(j, "mailto_only", v->unsub.mailto_only);
	json_str(j, "signed_by", v->unsub.sig_domain);
	json_bool(j, "aligned", v->unsub_aligned);
	json_arr_begin(j, "reasons");
	for (size_t i = 0; i < v->unsub.n_reasons; i++)
		json_str(j, NULL, v->unsub.reasons[i]);
	json_arr_end(j);
	json_obj_end(j);
	json_arr_begin(j, "format");
	for (size_t i = 0; i < v->format.n; i++) {
		json_obj_begin(j, NULL);
		json_str(j, "level", v->format.v[i].level == FORMAT_FAIL ? "fail" : "warning");
		json_str(j, "field", v->format.v[i].field);
		json_str(j, "reason", v->format.v[i].reason);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_begin(j, "bulk");
	json_bool(j, "bulk", v->bulk);
	json_str(j, "why", v->bulk_why);
	json_obj_end(j);
	json_obj_begin(j, "rules");
	for (int r = 0; r < RULE_COUNT; r++) {
		if (r == RULE_ONECLICK || r == RULE_MAILTO_ONLY)
			continue;	/* per profile */
		json_obj_begin(j, rule_name((enum rule_id)r));
		json_str(j, "state", rule_state_str(c->rule[r].state));
		json_str(j, "reason", c->rule[r].reason);
		json_str(j, "fix", c->rule[r].fix);
		json_obj_end(j);
	}
	json_obj_end(j);
	json_obj_begin(j, "profiles");
	for (int p = 0; p < PROFILE_COUNT; p++) {
		const struct profile_verdict *pv = &c->profile[p];

		if (!shown(a, p, v))
			continue;
		json_obj_begin(j, profile_name((enum profile_id)p));
		json_bool(j, "compliant", pv->pass);
		json_bool(j, "temperror", pv->temperror);
		json_arr_begin(j, "failed");
		for (size_t i = 0; i < pv->n_failed; i++) {
			const struct rule_result *r = rules_result(c, (enum profile_id)p, pv->failed[i]);

			json_obj_begin(j, NULL);
			json_str(j, "rule", rule_name(pv->failed[i]));
			json_str(j, "reason", r->reason);
			json_str(j, "fix", r->fix);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_obj_end(j);
	}
	json_obj_end(j);
	json_arr_begin(j, "warnings");
	for (size_t i = 0; i < c->n_warn; i++)
		json_str(j, NULL, c->warn[i]);
	json_arr_end(j);
}

static void
print_report(const struct args *a, const struct verdict *v)
{
	printf("Client:     %s  HELO %s  MAIL FROM <%s>\n", a->ip, a->helo ? a->helo : "-",
	    strcmp(a->mail_from, "<>") == 0 ? "" : a->mail_from);
	if (v->skipped) {
		printf("Not checked: %s\n", v->skip_reason);
		return;
	}
	if (v->spf_done)
		printf("SPF:        %s for %s (%s)%s%s\n", spf_result_str(v->spf.result),
		    v->spf.identity[0] ? v->spf.identity : "-", v->spf.why[0] ? v->spf.why : "no reason given",
		    v->spf.explanation[0] ? "\n            explanation: " : "", v->spf.explanation);
	if (v->spf_done)
		print_spf_walk(&v->spf);
	else
		printf("SPF:        not checked (%s)\n", v->spf.why);
	if (v->n_dkim == 0)
		printf("DKIM:       %s\n", v->dkim_error[0] ? v->dkim_error : "none (no signature)");
	for (size_t i = 0; i < v->n_dkim; i++) {
		const struct dkim_sig_result *d = &v->dkim[i];

		printf("DKIM #%zu:    %s d=%s s=%s a=%s", i + 1, dkim_res_str(d->result),
		    d->domain, d->selector, d->algorithm);
		if (d->key_bits)
			printf(" key=%u bits", d->key_bits);
		if (d->has_length)
			printf(" l=%lu", d->length);
		printf("\n            signed headers: ");
		for (size_t k = 0; k < d->n_signed; k++)
			printf("%s%s", k ? ":" : "", d->signed_hdrs[k]);
		printf("\n");
		if (d->why[0])
			printf("            %s\n", d->why);
	}
	print_more(v);
	print_compliance(a, v);
	printf("Action:     %s", action_str(v->action));
	if (v->cause != CAUSE_NONE)
		printf(" (cause: %s)", cause_name(v->cause));
	if (v->smtp_rcode[0])
		printf("\n            reply: %s %s %s", v->smtp_rcode, v->smtp_xcode, v->smtp_text);
	printf("\n");
	for (size_t i = 0; i < v->n_remove; i++)
		printf("Removes:    %s #%u (carries our authserv-id: forged)\n", v->remove[i].name,
		    v->remove[i].index);
	printf("\nHeader fields the milter would add:\n");
	for (size_t i = 0; i < v->n_add; i++)
		printf("%s: %s\n", v->add[i].name, v->add[i].value);
}

static void
print_json(const struct args *a, const struct verdict *v)
{
	struct sbuf b;
	struct json j;

	sbuf_init(&b, 1 << 24);
	json_init(&j, &b);
	json_obj_begin(&j, NULL);
	json_str(&j, "version", PACKAGE_VERSION);
	json_obj_begin(&j, "client");
	json_str(&j, "ip", a->ip);
	json_str(&j, "helo", a->helo ? a->helo : "");
	json_str(&j, "mail_from", strcmp(a->mail_from, "<>") == 0 ? "" : a->mail_from);
	json_str(&j, "tls", a->tls);
	json_obj_end(&j);
	json_bool(&j, "skipped", v->skipped);
	if (v->skipped)
		json_str(&j, "skip_reason", v->skip_reason);
	json_obj_begin(&j, "spf");
	json_str(&j, "result", v->spf_done ? spf_result_str(v->spf.result) : "none");
	json_str(&j, "identity", v->spf.identity);
	json_str(&j, "domain", v->spf.domain);
	json_str(&j, "reason", v->spf.why);
	json_str(&j, "explanation", v->spf.explanation);
	json_spf_walk(&j, &v->spf);
	json_obj_end(&j);
	json_arr_begin(&j, "dkim");
	for (size_t i = 0; i < v->n_dkim; i++) {
		const struct dkim_sig_result *d = &v->dkim[i];

		json_obj_begin(&j, NULL);
		json_str(&j, "result", dkim_res_str(d->result));
		json_str(&j, "domain", d->domain);
		json_str(&j, "selector", d->selector);
		json_str(&j, "identity", d->identity);
		json_str(&j, "algorithm", d->algorithm);
		json_int(&j, "key_bits", d->key_bits);
		json_str(&j, "b", d->b_prefix);
		if (d->has_length)
			json_int(&j, "length", (long)d->length);
		json_arr_begin(&j, "signed_headers");
		for (size_t k = 0; k < d->n_signed; k++)
			json_str(&j, NULL, d->signed_hdrs[k]);
		json_arr_end(&j);
		json_str(&j, "reason", d->why);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	if (v->dkim_error[0])
		json_str(&j, "dkim_error", v->dkim_error);
	if (!v->skipped)
		json_compliance(&j, a, v);
	json_obj_begin(&j, "action");
	json_str(&j, "action", action_str(v->action));
	json_str(&j, "cause", cause_name(v->cause));
	json_str(&j, "smtp_code", v->smtp_rcode);
	json_str(&j, "enhanced_code", v->smtp_xcode);
	json_str(&j, "text", v->smtp_text);
	json_obj_end(&j);
	json_arr_begin(&j, "add_headers");
	for (size_t i = 0; i < v->n_add; i++) {
		json_obj_begin(&j, NULL);
		json_str(&j, "name", v->add[i].name);
		json_str(&j, "value", v->add[i].value);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_arr_begin(&j, "remove_headers");
	for (size_t i = 0; i < v->n_remove; i++) {
		json_obj_begin(&j, NULL);
		json_str(&j, "name", v->remove[i].name);
		json_int(&j, "index", v->remove[i].index);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_begin(&j, "dns");
	json_int(&j, "queries", v->dns_queries);
	json_int(&j, "cache_hits", v->dns_cache_hits);
	json_int(&j, "timeouts", v->dns_timeouts);
	json_obj_end(&j);
	json_str(&j, "log", v->log_line);
	json_obj_end(&j);
	puts(b.s);
	sbuf_free(&b);
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
	if (a->json) {
		sbuf_init(&b, 1 << 20);
		json_init(&j, &b);
		json_obj_begin(&j, NULL);
		json_str(&j, "version", PACKAGE_VERSION);
		json_obj_begin(&j, "client");
		json_str(&j, "ip", a->ip);
		json_str(&j, "helo", a->helo ? a->helo : "");
		json_obj_end(&j);
		json_obj_begin(&j, "spf");
		json_str(&j, "result", spf_result_str(out.result));
		json_str(&j, "identity", out.identity);
		json_str(&j, "domain", out.domain);
		json_str(&j, "reason", out.why);
		json_str(&j, "explanation", out.explanation);
		json_spf_walk(&j, &out);
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
		printf("Client:     %s  HELO %s\n", a->ip, a->helo ? a->helo : "-");
		printf("SPF:        %s for %s (%s)%s%s\n", spf_result_str(out.result),
		    out.domain[0] ? out.domain : "-", out.why[0] ? out.why : "no reason given",
		    out.explanation[0] ? "\n            explanation: " : "", out.explanation);
		print_spf_walk(&out);
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
	char *storage = NULL, why[512] = "";
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
	if (a.json)
		print_json(&a, v);
	else
		print_report(&a, v);
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
