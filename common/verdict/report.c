/*
 * report: header values and the log line of a verdict; see report.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authres.h"
#include "json.h"
#include "report.h"
#include "sbuf.h"

void
report_clean_text(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;

	for (; *src && i + 1 < dstlen; src++) {
		unsigned char ch = (unsigned char)*src;
		dst[i++] = ch < ' ' ? ' ' : ch >= 0x7f ? '?' : (char)ch;
	}
	dst[i] = '\0';
}

/*
 * A method's reason: a fixed text for DNS trouble (the details, with
 * server addresses, stay in the log), the check's own reason when it did
 * not pass. Returns whether a reason was written.
 */
static int
write_reason(struct authres *a, int temp, int pass, const char *why, const char *temp_text)
{
	if (temp)
		authres_reason(a, temp_text);
	else if (!pass && why[0])
		authres_reason(a, why);
	else
		return 0;
	return 1;
}

static void
write_spf(const struct verdict *v, struct authres *a)
{
	const struct spf_outcome *s = &v->spf;

	if (!v->spf_done)
		return;
	authres_method(a, "spf", spf_result_str(s->result));
	write_reason(a, s->result == SPF_RES_TEMPERROR, s->result == SPF_RES_PASS, s->why,
	    "temporary DNS failure");
	if (v->env.null_sender)
		authres_prop(a, "smtp.helo", v->env.helo);
	else
		/* the domain alone when the local part would need quoting: no
		 * reader can then take an '@' inside it for the domain's */
		authres_prop(a, "smtp.mailfrom", authres_needs_quoting(v->env.mail_from) ?
		    v->env.mail_from_domain : v->env.mail_from);
}

static void
write_dkim(const struct verdict *v, struct authres *a)
{
	for (size_t i = 0; i < v->n_dkim; i++) {
		const struct dkim_sig_result *d = &v->dkim[i];

		authres_method(a, "dkim", dkim_res_str(d->result));
		if (!write_reason(a, d->result == DKIM_RES_TEMPERROR, d->result == DKIM_RES_PASS, d->why,
		    "temporary DNS failure fetching the key") && d->key_bits > 0) {
			char note[32];
			snprintf(note, sizeof(note), "%u-bit key", d->key_bits);
			authres_comment(a, note);
		}
		if (d->domain[0])
			authres_prop(a, "header.d", d->domain);
		if (d->selector[0])
			authres_prop(a, "header.s", d->selector);
		if (d->algorithm[0])
			authres_prop(a, "header.a", d->algorithm);
		/* always quoted: a prefix may start with '/' */
		if (d->b_prefix[0])
			authres_prop_quoted(a, "header.b", d->b_prefix);
	}
	if (v->n_dkim == 0 && v->dkim_error[0] == '\0')
		authres_method(a, "dkim", "none");
}

static void
write_dmarc(const struct verdict *v, struct authres *a)
{
	const struct dmarc_outcome *d = &v->dmarc;

	if (!v->dmarc_done)
		return;
	authres_method(a, "dmarc", dmarc_res_str(d->result));
	write_reason(a, d->result == DMARC_RES_TEMPERROR, d->result == DMARC_RES_PASS, d->why,
	    "temporary DNS failure");
	if (d->have_record)
		authres_prop(a, "policy.dmarc", d->policy != DMARC_POLICY_UNSET ?
		    dmarc_policy_str(d->policy) : "none");
	if (d->from_domain[0])
		authres_prop(a, "header.from", d->from_domain);
}

static void
write_iprev(const struct verdict *v, struct authres *a)
{
	if (!v->iprev_done)
		return;
	authres_method(a, "iprev", iprev_res_str(v->iprev.result));
	if (!write_reason(a, v->iprev.result == IPREV_RES_TEMPERROR,
	    v->iprev.result == IPREV_RES_PASS, v->iprev.why, "temporary DNS failure") &&
	    v->iprev.name[0])
		authres_comment(a, v->iprev.name);
	authres_prop(a, "policy.iprev", v->iprev.ip);
}

char *
report_authres(const struct verdict *v, const char *authserv_id)
{
	struct authres a;

	authres_begin(&a, authserv_id);
	write_spf(v, &a);
	write_dkim(v, &a);
	write_dmarc(v, &a);
	write_iprev(v, &a);
	return authres_end(&a);
}

/*
 * "mx.example.net; google=fail policy.rules="oneclick,dmarc-record";
 * yahoo=pass; microsoft=pass; bulk=yes (list-unsubscribe)"
 */
char *
report_compliance(const struct verdict *v, const char *authserv_id)
{
	const struct compliance *c = &v->compliance;
	struct authres a;

	authres_begin(&a, authserv_id);
	for (int p = 0; p < PROFILE_COUNT; p++) {
		const struct profile_verdict *pv = &c->profile[p];
		char rules[256] = "";

		if (!pv->enabled)
			continue;
		authres_method(&a, profile_name((enum profile_id)p),
		    !pv->pass ? "fail" : pv->temperror ? "temperror" : "pass");
		for (size_t i = 0; i < pv->n_failed; i++)
			snprintf(rules + strlen(rules), sizeof(rules) - strlen(rules), "%s%s",
			    i ? "," : "", rule_name(pv->failed[i]));
		if (pv->n_failed)
			authres_prop_quoted(&a, "policy.rules", rules);
	}
	authres_method(&a, "bulk", v->bulk ? "yes" : "no");
	if (v->bulk_why[0])
		authres_comment(&a, v->bulk_why);
	return authres_end(&a);
}

/* A Received-SPF key=value value: a dot-atom as is, else a quoted-string. */
static void
rspf_value(struct sbuf *b, const char *v)
{
	int atom = v[0] != '\0' && v[0] != '.';

	for (const char *p = v; *p && atom; p++)
		atom = isalnum((unsigned char)*p) || strchr("!#$%&'*+-/=?^_`{|}~.", *p) != NULL;
	if (atom)
		sbuf_addstr(b, v);
	else
		authres_add_quoted(b, v);
}

char *
report_received_spf(const struct verdict *v, const char *authserv_id)
{
	char comment[300];
	struct sbuf b;

	sbuf_init(&b, 4096);
	report_clean_text(comment, sizeof(comment), v->spf.why);
	for (char *p = comment; *p; p++)
		if (*p == '(' || *p == ')' || *p == '\\')
			*p = ' ';
	sbuf_printf(&b, "%s (%s: %s)\n\tclient-ip=", spf_result_str(v->spf.result), authserv_id,
	    comment);
	rspf_value(&b, v->spf_ip[0] ? v->spf_ip : v->env.client_ip);
	sbuf_addstr(&b, "; envelope-from=");
	rspf_value(&b, v->env.mail_from);
	sbuf_addstr(&b, "; helo=");
	rspf_value(&b, v->env.helo[0] ? v->env.helo : "unknown");
	sbuf_addstr(&b, ";\n\treceiver=");
	rspf_value(&b, authserv_id);
	sbuf_printf(&b, "; identity=%s", v->env.null_sender ? "helo" : "mailfrom");
	return sbuf_detach(&b);
}

const char *
report_tls_str(enum tls_state t)
{
	static const char *const n[] = { "unknown", "yes", "no", "n/a" };

	return (unsigned)t < 4 ? n[t] : "?";
}

const char *
report_from_domain(const struct verdict *v)
{
	if (v->dmarc_done && v->dmarc.from_domain[0])
		return v->dmarc.from_domain;
	if (v->format.has_from)
		return v->format.from.domain;
	return "";
}

const char *
report_oneclick(const struct verdict *v)
{
	if (v->unsub.pass)
		return "pass";
	return v->unsub.n_list_unsub > 0 ? "fail" : "none";
}

char *
report_log_line(const struct verdict *v)
{
	const struct envelope *env = &v->env;
	struct sbuf b;

	sbuf_init(&b, 8192);
	sbuf_printf(&b, "%s: client=%s", env->queue_id[0] ? env->queue_id : "NOQUEUE",
	    env->client_ip[0] ? env->client_ip : "unknown");
	if (env->client_name[0])
		sbuf_printf(&b, " (%s)", env->client_name);
	sbuf_printf(&b, " helo=%s from=<%s> rcpts=%u", env->helo[0] ? env->helo : "-",
	    env->mail_from, env->n_rcpt);
	if (v->skipped) {
		sbuf_printf(&b, " skipped=\"%s\"", v->skip_reason);
		goto out;
	}
	if (v->spf_done)
		sbuf_printf(&b, " spf=%s domain=%s", spf_result_str(v->spf.result),
		    v->spf.domain[0] ? v->spf.domain : "-");
	if (v->n_dkim == 0)
		sbuf_addstr(&b, " dkim=none");
	for (size_t i = 0; i < v->n_dkim; i++)
		sbuf_printf(&b, " dkim=%s d=%s s=%s a=%s", dkim_res_str(v->dkim[i].result),
		    v->dkim[i].domain, v->dkim[i].selector, v->dkim[i].algorithm);
	if (v->dmarc_done)
		sbuf_printf(&b, " dmarc=%s header.from=%s", dmarc_res_str(v->dmarc.result),
		    v->dmarc.from_domain[0] ? v->dmarc.from_domain : "-");
	if (v->iprev_done)
		sbuf_printf(&b, " iprev=%s", iprev_res_str(v->iprev.result));
	sbuf_printf(&b, " tls=%s bulk=%s oneclick=%s", report_tls_str(env->tls), v->bulk ? "yes" : "no",
	    report_oneclick(v));
	for (int p = 0; p < PROFILE_COUNT; p++) {
		const struct profile_verdict *pv = &v->compliance.profile[p];

		if (!pv->enabled)
			continue;
		sbuf_printf(&b, " %s=%s", profile_name((enum profile_id)p),
		    !pv->pass ? "fail" : pv->temperror ? "temperror" : "pass");
		for (size_t i = 0; i < pv->n_failed; i++)
			sbuf_printf(&b, "%c%s", i ? ',' : ':', rule_name(pv->failed[i]));
	}
	sbuf_printf(&b, " action=%s", action_str(v->action));
	if (v->cause != CAUSE_NONE)
		sbuf_printf(&b, " cause=%s", cause_name(v->cause));
	if (v->error[0])
		sbuf_printf(&b, " error=\"%s\"", v->error);
	if (v->input_error[0])
		sbuf_printf(&b, " input=\"%s\"", v->input_error);
	if (v->n_remove)
		sbuf_printf(&b, " removed_forged=%zu", v->n_remove);
	sbuf_printf(&b, " dns=%u/%u/%u", v->dns_queries, v->dns_cache_hits, v->dns_timeouts);
out:
	sbuf_printf(&b, " ms=%ld", v->elapsed_ms);
	return sbuf_detach(&b);
}

/* One JSON object: envelope, each method's result, the verdicts and the action. */
/* The wall clock as RFC 3339 UTC with milliseconds: a JSON log record is
 * often shipped without syslog's own time stamp. */
static const char *
now_rfc3339(char *buf, size_t len)
{
	struct timespec t;
	struct tm tm;
	char day[32];

	clock_gettime(CLOCK_REALTIME, &t);
	gmtime_r(&t.tv_sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", day, (int)(t.tv_nsec / 1000000 % 1000));
	return buf;
}

char *
report_log_json(const struct verdict *v)
{
	char ts[64];
	const struct envelope *env = &v->env;
	struct sbuf b;
	struct json j;

	sbuf_init(&b, 32768);
	json_init(&j, &b);
	json_obj_begin(&j, NULL);
	json_str(&j, "time", now_rfc3339(ts, sizeof(ts)));
	json_str(&j, "queue_id", env->queue_id[0] ? env->queue_id : NULL);
	json_str(&j, "client_ip", env->client_ip);
	json_str(&j, "client_name", env->client_name[0] ? env->client_name : NULL);
	json_str(&j, "helo", env->helo);
	json_str(&j, "mail_from", env->mail_from);
	json_str(&j, "mail_from_domain", env->mail_from_domain[0] ? env->mail_from_domain : NULL);
	json_str(&j, "from_domain", report_from_domain(v)[0] ? report_from_domain(v) : NULL);
	json_int(&j, "rcpts", (long)env->n_rcpt);
	if (v->skipped) {
		json_bool(&j, "skipped", 1);
		json_str(&j, "skip_reason", v->skip_reason);
		goto out;
	}
	json_str(&j, "spf", v->spf_done ? spf_result_str(v->spf.result) : NULL);
	json_str(&j, "spf_domain", v->spf_done && v->spf.domain[0] ? v->spf.domain : NULL);
	json_arr_begin(&j, "dkim");
	for (size_t i = 0; i < v->n_dkim; i++) {
		json_obj_begin(&j, NULL);
		json_str(&j, "domain", v->dkim[i].domain);
		json_str(&j, "selector", v->dkim[i].selector);
		json_str(&j, "algorithm", v->dkim[i].algorithm);
		json_str(&j, "result", dkim_res_str(v->dkim[i].result));
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_str(&j, "dmarc", v->dmarc_done ? dmarc_res_str(v->dmarc.result) : NULL);
	json_bool(&j, "aligned", v->compliance.rule[RULE_DMARC_ALIGN].state == RULE_PASS);
	json_str(&j, "iprev", v->iprev_done ? iprev_res_str(v->iprev.result) : NULL);
	json_str(&j, "tls", report_tls_str(env->tls));
	json_str(&j, "tls_version", env->tls_version[0] ? env->tls_version : NULL);
	json_str(&j, "oneclick", report_oneclick(v));
	json_bool(&j, "bulk", v->bulk);
	json_obj_begin(&j, "profiles");
	for (int p = 0; p < PROFILE_COUNT; p++) {
		const struct profile_verdict *pv = &v->compliance.profile[p];

		if (!pv->enabled)
			continue;
		json_obj_begin(&j, profile_name((enum profile_id)p));
		json_str(&j, "verdict", pv->pass ? "pass" : "fail");
		json_arr_begin(&j, "failed");
		for (size_t i = 0; i < pv->n_failed; i++)
			json_str(&j, NULL, rule_name(pv->failed[i]));
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_obj_end(&j);
	json_str(&j, "action", action_str(v->action));
	json_str(&j, "cause", cause_name(v->cause));
	if (v->error[0])
		json_str(&j, "error", v->error);
	if (v->input_error[0])
		json_str(&j, "input_error", v->input_error);
	json_int(&j, "removed_forged", (long)v->n_remove);
	json_int(&j, "dns_queries", (long)v->dns_queries);
	json_int(&j, "dns_cache_hits", (long)v->dns_cache_hits);
	json_int(&j, "dns_timeouts", (long)v->dns_timeouts);
out:
	json_int(&j, "ms", v->elapsed_ms);
	json_obj_end(&j);
	return sbuf_detach(&b);
}
