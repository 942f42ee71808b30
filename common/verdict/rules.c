/*
 * rules: rule states, fixes and per-profile verdicts; see rules.h.
 * Sources (the README's table cites each):
 * - Google: Email sender guidelines, support.google.com/mail/answer/81126,
 *   and its FAQ, support.google.com/a/answer/14229414;
 * - Yahoo: Sender Requirements & Recommendations,
 *   senders.yahooinc.com/best-practices ("Publish a valid DMARC policy with
 *   at least p=none - DMARC must pass"; "The mail-to: method is
 *   acceptable" for one-click unsubscribe);
 * - Microsoft: "Strengthening Email Ecosystem: Outlook's New Requirements
 *   for High-Volume Senders" (techcommunity.microsoft.com, 2 April 2025,
 *   enforced from 5 May 2025): SPF pass, DKIM pass, DMARC at least p=none
 *   aligned with SPF or DKIM. Its other points (a valid From/Reply-To,
 *   unsubscribe links, list hygiene) are "Additional Email Hygiene
 *   Recommendations", not part of the 5.7.515 rejection; reverse DNS and
 *   RFC 5322 are not among its requirements at all.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "rules.h"
#include "sbuf.h"

static const char *const rule_names[RULE_COUNT] = {
	"spf", "dkim", "auth-any", "dmarc-record", "dmarc-align", "dmarc-pass", "dkim-key", "iprev",
	"tls", "format", "oneclick", "mailto-only",
};

/* The one table of profiles: name (config, headers, JSON, columns), title, column title. */
const char *const profile_names[PROFILE_COUNT + 1] = {
	[PROFILE_GOOGLE] = "google", [PROFILE_YAHOO] = "yahoo", [PROFILE_MICROSOFT] = "microsoft", NULL
};
static const char *const profile_titles[PROFILE_COUNT] = {
	[PROFILE_GOOGLE] = "Google", [PROFILE_YAHOO] = "Yahoo", [PROFILE_MICROSOFT] = "Microsoft"
};
static const char *const profile_abbrevs[PROFILE_COUNT] = {
	[PROFILE_GOOGLE] = "GOOGLE", [PROFILE_YAHOO] = "YAHOO", [PROFILE_MICROSOFT] = "MSFT"
};

/*
 * Who each rule binds (the README's table, "Profiles and rules").
 * Microsoft's requirements are for high-volume senders only, so its rules
 * bind bulk mail; they are the three of its 5.7.515 rejection (SPF, DKIM,
 * DMARC p=none or stronger, aligned). Yahoo wants bulk mail to pass DMARC,
 * not only to have a record with an aligned identifier.
 */
static const unsigned char scope[PROFILE_COUNT][RULE_COUNT] = {
	[PROFILE_GOOGLE] = {
		[RULE_SPF] = SCOPE_BULK, [RULE_DKIM] = SCOPE_BULK, [RULE_AUTH_ANY] = SCOPE_ALL,
		[RULE_DMARC_RECORD] = SCOPE_BULK, [RULE_DMARC_ALIGN] = SCOPE_BULK,
		[RULE_DKIM_KEY] = SCOPE_ALL, [RULE_IPREV] = SCOPE_ALL, [RULE_TLS] = SCOPE_ALL,
		[RULE_FORMAT] = SCOPE_ALL, [RULE_ONECLICK] = SCOPE_BULK,
		[RULE_MAILTO_ONLY] = SCOPE_BULK,
	},
	[PROFILE_YAHOO] = {
		[RULE_SPF] = SCOPE_BULK, [RULE_DKIM] = SCOPE_BULK, [RULE_AUTH_ANY] = SCOPE_ALL,
		[RULE_DMARC_RECORD] = SCOPE_BULK, [RULE_DMARC_ALIGN] = SCOPE_BULK,
		[RULE_DMARC_PASS] = SCOPE_BULK, [RULE_DKIM_KEY] = SCOPE_ALL, [RULE_IPREV] = SCOPE_ALL,
		[RULE_FORMAT] = SCOPE_ALL, [RULE_ONECLICK] = SCOPE_BULK,
	},
	[PROFILE_MICROSOFT] = {
		[RULE_SPF] = SCOPE_BULK, [RULE_DKIM] = SCOPE_BULK,
		[RULE_DMARC_RECORD] = SCOPE_BULK, [RULE_DMARC_ALIGN] = SCOPE_BULK,
	},
};

const char *rule_name(enum rule_id r) { return (unsigned)r < RULE_COUNT ? rule_names[r] : "?"; }
const char *profile_name(enum profile_id p) { return (unsigned)p < PROFILE_COUNT ? profile_names[p] : "?"; }
const char *profile_title(enum profile_id p) { return (unsigned)p < PROFILE_COUNT ? profile_titles[p] : "?"; }
const char *profile_abbrev(enum profile_id p) { return (unsigned)p < PROFILE_COUNT ? profile_abbrevs[p] : "?"; }

const char *
rule_state_str(enum rule_state s)
{
	static const char *const n[RULE_STATE_COUNT] = { "pass", "fail", "unknown", "n/a", "temperror" };

	return (unsigned)s < RULE_STATE_COUNT ? n[s] : "?";
}

const char *
profile_result_str(enum profile_result r)
{
	static const char *const n[PROFILE_RESULT_COUNT] = { "pass", "fail", "temperror" };

	return (unsigned)r < PROFILE_RESULT_COUNT ? n[r] : "?";
}

const char *
tls_state_str(enum tls_state t)
{
	static const char *const n[TLS_STATE_COUNT] = { "unknown", "yes", "no", "n/a" };

	return (unsigned)t < TLS_STATE_COUNT ? n[t] : "?";
}

int
profile_parse(const char *name)
{
	for (int i = 0; i < PROFILE_COUNT; i++)
		if (strcasecmp(name, profile_names[i]) == 0)
			return i;
	return -1;
}

enum profile_result
rules_profile_result(const struct compliance *c, enum profile_id p)
{
	const struct profile_verdict *pv = &c->profile[p];

	return !pv->pass ? PROFILE_FAIL : pv->temperror ? PROFILE_TEMPERROR : PROFILE_PASS;
}

enum rule_scope
rules_applies(enum profile_id p, enum rule_id r)
{
	return (unsigned)p < PROFILE_COUNT && (unsigned)r < RULE_COUNT ?
	    (enum rule_scope)scope[p][r] : SCOPE_NONE;
}

static void
set(struct rule_result *r, enum rule_state st, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
set(struct rule_result *r, enum rule_state st, const char *fix, const char *fmt, ...)
{
	va_list ap;

	r->state = st;
	va_start(ap, fmt);
	/* most reasons are a fixed text or one string: no formatter needed */
	if (strchr(fmt, '%') == NULL)
		str_copy(r->reason, sizeof(r->reason), fmt);
	else if (strcmp(fmt, "%s") == 0)
		str_copy(r->reason, sizeof(r->reason), va_arg(ap, const char *));
	else
		str_vformat(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	str_copy(r->fix, sizeof(r->fix), fix);
}

static void
warn(struct compliance *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
warn(struct compliance *c, const char *fmt, ...)
{
	va_list ap;

	if (c->n_warn == RULES_MAX_WARN)
		return;
	va_start(ap, fmt);
	str_vformat(c->warn[c->n_warn++], sizeof(c->warn[0]), fmt, ap);
	va_end(ap);
}

static const char *
from_domain(const struct rules_input *in)
{
	if (in->dmarc && in->dmarc->from_domain[0])
		return in->dmarc->from_domain;
	if (in->format && in->format->has_from)
		return in->format->from.domain;
	return "the From domain";
}

/* "ip4:IP" or "ip6:IP": the SPF term that lists one address. */
static const char *
spf_term(const char *ip, char *buf, size_t len)
{
	str_format(buf, len, "%s:%s", strchr(ip, ':') ? "ip6" : "ip4", ip);
	return buf;
}

/*
 * The checked domain's own record with term added after "v=spf1", ready
 * to publish; "" when there is no whole record text to start from.
 */
static const char *
spf_record_with(const struct spf_outcome *s, const char *term, char *buf, size_t len)
{
	const char *rec = s->n_walk > 0 && s->walk[0].depth == 0 ? s->walk[0].record : "";
	size_t n = strlen(rec);

	buf[0] = '\0';
	if (strncasecmp(rec, "v=spf1", 6) != 0 || (rec[6] != ' ' && rec[6] != '\0') ||
	    (n >= 3 && strcmp(rec + n - 3, "...") == 0))
		return buf;
	str_format(buf, len, "v=spf1 %s%s", term, rec + 6);
	return buf;
}

static void
eval_spf(const struct rules_input *in, struct rule_result *r)
{
	const struct spf_outcome *s = in->spf;
	const char *d, *ip = in->spf_ip ? in->spf_ip : "the sending IP";
	char fix[1200], term[80], rec[540];

	if (s == NULL) {
		set(r, RULE_UNKNOWN, NULL, "SPF was not checked (no client address)");
		return;
	}
	d = s->domain[0] ? s->domain : "the MAIL FROM domain";
	spf_term(ip, term, sizeof(term));
	switch (s->result) {
	case SPF_RES_PASS:
		set(r, RULE_PASS, NULL, "SPF pass for %s", d);
		return;
	case SPF_RES_NONE:
		str_format(fix, sizeof(fix), "publish an SPF record at %s that lists %s: "
		    "%s TXT \"v=spf1 %s ~all\"", d, ip, d, term);
		break;
	case SPF_RES_PERMERROR:
		str_format(fix, sizeof(fix), "fix the SPF record of %s (%s)", d, s->why);
		break;
	case SPF_RES_TEMPERROR:
		str_format(fix, sizeof(fix), "make sure the DNS servers of %s answer", d);
		set(r, RULE_TEMP, fix, "SPF temperror for %s: %s", d, s->why);
		return;
	default:
		if (spf_record_with(s, term, rec, sizeof(rec))[0])
			str_format(fix, sizeof(fix), "add %s to the SPF record of %s: %s TXT \"%s\"",
			    ip, d, d, rec);
		else
			str_format(fix, sizeof(fix), "add %s to the SPF record of %s: put \"%s\" after "
			    "\"v=spf1\" in its TXT record", ip, d, term);
		break;
	}
	set(r, RULE_FAIL, fix, "SPF %s for %s: %s", spf_result_str(s->result), d, s->why);
}

static void
eval_dkim(const struct rules_input *in, struct compliance *c)
{
	struct rule_result *r = &c->rule[RULE_DKIM], *k = &c->rule[RULE_DKIM_KEY];
	const struct dkim_sig_result *bad = NULL, *weak = NULL;
	char fix[1200];
	int pass = 0, rsa_pass = 0, ed_pass = 0;

	for (size_t i = 0; i < in->n_dkim; i++) {
		const struct dkim_sig_result *d = &in->dkim[i];

		if (d->result == DKIM_RES_PASS && d->signs[DKIM_H_FROM] > 0) {
			if (!pass)
				set(r, RULE_PASS, NULL, "DKIM pass for d=%s s=%s", d->domain, d->selector);
			pass = 1;
			if (d->key_bits > 0) {
				rsa_pass = 1;
				if (d->key_bits < 2048)
					warn(c, "d=%s s=%s uses a %u-bit RSA key; 2048 bits are advised",
					    d->domain, d->selector, d->key_bits);
			} else {
				ed_pass = 1;
			}
		} else if (d->result == DKIM_RES_POLICY && weak == NULL) {
			weak = d;
		} else if (bad == NULL && d->result != DKIM_RES_NEUTRAL) {
			bad = d;
		}
	}
	if (ed_pass && !rsa_pass)
		warn(c, "only an ed25519 signature passes; some receivers ignore ed25519: add an "
		    "RSA-2048 signature too");
	if (!pass) {
		str_format(fix, sizeof(fix), "sign with DKIM as %s (rsa-sha256, 2048-bit key, From in h=) "
		    "and publish the public key: SELECTOR._domainkey.%s TXT \"v=DKIM1; k=rsa; p=BASE64KEY\" "
		    "(opendkim-genkey -b 2048 -d %s -s SELECTOR writes both)",
		    from_domain(in), from_domain(in), from_domain(in));
		if (bad != NULL && bad->result == DKIM_RES_TEMPERROR)
			set(r, RULE_TEMP, NULL, "DKIM key of d=%s could not be fetched: %s", bad->domain,
			    bad->why);
		else if (in->n_dkim == 0)
			set(r, RULE_FAIL, fix, "no DKIM signature");
		else if (bad != NULL && bad->result == DKIM_RES_PASS)
			set(r, RULE_FAIL, fix, "the signature of d=%s does not cover From", bad->domain);
		else if (bad != NULL)
			set(r, RULE_FAIL, fix, "DKIM %s for d=%s: %s", dkim_res_str(bad->result),
			    bad->domain, bad->why);
		else
			set(r, RULE_FAIL, fix, "no acceptable DKIM signature");
	}
	/* a weak signature beside an acceptable one is only a warning */
	if (weak != NULL && pass) {
		warn(c, "d=%s s=%s is not acceptable (%s); receivers ignore it", weak->domain,
		    weak->selector, weak->why);
		set(k, RULE_PASS, NULL, "an acceptable signature passes");
	} else if (weak != NULL) {
		str_format(fix, sizeof(fix), "sign d=%s with rsa-sha256 and an RSA key of 2048 bits",
		    weak->domain);
		set(k, RULE_FAIL, fix, "d=%s s=%s: %s", weak->domain, weak->selector, weak->why);
	} else if (in->n_dkim == 0) {
		set(k, RULE_NA, NULL, "no DKIM signature");
	} else {
		set(k, RULE_PASS, NULL, "no rsa-sha1 and no RSA key under 1024 bits");
	}
}

/* dmarc-pass: the DMARC result itself (Yahoo: "DMARC must pass"). */
static void
eval_dmarc_pass(const struct dmarc_outcome *d, struct compliance *c)
{
	struct rule_result *r = &c->rule[RULE_DMARC_PASS];
	const struct rule_result *rec = &c->rule[RULE_DMARC_RECORD], *al = &c->rule[RULE_DMARC_ALIGN];

	switch (d->result) {
	case DMARC_RES_PASS:
		set(r, RULE_PASS, NULL, "DMARC pass: %s", d->why);
		break;
	case DMARC_RES_TEMPERROR:
		set(r, RULE_TEMP, NULL, "DMARC temperror: %s", d->why);
		break;
	case DMARC_RES_FAIL:
		/* a record and no aligned pass under its alignment modes */
		set(r, RULE_FAIL, al->state == RULE_FAIL ? al->fix :
		    "sign with DKIM as the From domain itself, or send with it as the MAIL FROM domain "
		    "(the record asks for strict alignment)", "DMARC fail: %s", d->why);
		break;
	default:
		/* none or permerror: the record is what is missing */
		set(r, RULE_FAIL, rec->fix, "DMARC %s: %s", dmarc_res_str(d->result), d->why);
		break;
	}
}

static void
eval_dmarc(const struct rules_input *in, struct compliance *c)
{
	struct rule_result *rec = &c->rule[RULE_DMARC_RECORD], *al = &c->rule[RULE_DMARC_ALIGN];
	const struct dmarc_outcome *d = in->dmarc;
	char fix[1200];

	if (d == NULL) {
		set(rec, RULE_UNKNOWN, NULL, "DMARC was not checked");
		set(al, RULE_UNKNOWN, NULL, "DMARC was not checked");
		set(&c->rule[RULE_DMARC_PASS], RULE_UNKNOWN, NULL, "DMARC was not checked");
		return;
	}
	if (d->n_from != 1) {
		const char *from_fix = d->n_from == 0 ?
		    "write a From field with one address in RFC 5322 form (name@domain)" :
		    "send with exactly one From address";

		set(rec, RULE_FAIL, from_fix, "%s", d->why);
		set(al, RULE_FAIL, from_fix, "%s", d->why);
		set(&c->rule[RULE_DMARC_PASS], RULE_FAIL, from_fix, "%s", d->why);
		return;
	}
	if (d->result == DMARC_RES_TEMPERROR) {
		str_format(fix, sizeof(fix), "make sure the DNS servers of %s answer", d->org_domain);
		set(rec, RULE_TEMP, fix, "DMARC lookup failed: %s", d->why);
	} else if (d->n_records > 1) {
		str_format(fix, sizeof(fix), "keep one DMARC record at _dmarc.%s", d->record_domain);
		set(rec, RULE_FAIL, fix, "%zu DMARC records at _dmarc.%s", d->n_records, d->record_domain);
	} else if (!d->have_record && d->discarded_records > 1) {
		/* RFC 9989 discards them all */
		str_format(fix, sizeof(fix), "keep one DMARC record at _dmarc.%s", d->discarded_domain);
		set(rec, RULE_FAIL, fix, "no usable DMARC record for %s: %s", d->from_domain, d->discarded);
	} else if (!d->have_record && d->discarded[0] != '\0' && d->result != DMARC_RES_PERMERROR) {
		str_format(fix, sizeof(fix), "publish the record as one TXT record that starts with "
		    "\"v=DMARC1;\" (exactly so): _dmarc.%s TXT \"v=DMARC1; p=none; "
		    "rua=mailto:dmarc-reports@%s\"", d->discarded_domain, d->discarded_domain);
		set(rec, RULE_FAIL, fix, "no DMARC record for %s: %s", d->from_domain, d->discarded);
	} else if (!d->have_record) {
		const char *od = d->org_domain[0] ? d->org_domain : d->from_domain;

		str_format(fix, sizeof(fix), "publish a DMARC record with p=none at _dmarc.%s: "
		    "_dmarc.%s TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\"", od, od, od);
		set(rec, RULE_FAIL, fix, "no DMARC record for %s%s%s", d->from_domain,
		    d->result == DMARC_RES_PERMERROR ? ": " : "",
		    d->result == DMARC_RES_PERMERROR ? d->why : "");
	} else if (!d->record.p_present) {
		str_format(fix, sizeof(fix), "add p=none (or quarantine/reject) to the DMARC record at "
		    "_dmarc.%s, right after \"v=DMARC1;\": _dmarc.%s TXT \"v=DMARC1; p=none; ...\"",
		    d->record_domain, d->record_domain);
		set(rec, RULE_FAIL, fix, "the DMARC record at _dmarc.%s has no p= tag", d->record_domain);
	} else {
		set(rec, RULE_PASS, NULL, "DMARC record at _dmarc.%s, p=%s", d->record_domain,
		    dmarc_policy_str(d->record.p));
		if (d->discarded[0] != '\0')
			warn(c, "%s; the record at _dmarc.%s applies", d->discarded, d->record_domain);
	}
	if (d->spf_aligned || d->dkim_aligned) {
		set(al, RULE_PASS, NULL, "From %s aligned with %s %s", d->from_domain,
		    d->dkim_aligned ? "DKIM" : "SPF", d->dkim_aligned ? d->dkim_domain : d->spf_domain);
	} else if (in->forwarded_by != NULL) {
		/* Google: alignment is not required of forwarded and list mail */
		set(al, RULE_NA, NULL, "forwarded: the trusted ARC sealer %s says DMARC passed "
		    "before it forwarded the message", in->forwarded_by);
	} else if (d->result == DMARC_RES_TEMPERROR) {
		set(al, RULE_TEMP, NULL, "alignment unknown: %s", d->why);
	} else {
		str_format(fix, sizeof(fix), "send with a MAIL FROM domain or DKIM d= under %s "
		    "(the From domain's organizational domain)", d->org_domain[0] ? d->org_domain : "it");
		set(al, RULE_FAIL, fix, "From %s is aligned with no passing SPF or DKIM domain",
		    d->from_domain);
	}
	eval_dmarc_pass(d, c);
}

static void
eval_iprev(const struct rules_input *in, struct rule_result *r)
{
	const struct iprev_outcome *o = in->iprev;
	char fix[1200], rev[80];

	if (o == NULL) {
		set(r, RULE_UNKNOWN, NULL, "iprev was not checked");
		return;
	}
	switch (o->result) {
	case IPREV_RES_PASS:
		set(r, RULE_PASS, NULL, "%s has PTR %s, which resolves back", o->ip, o->name);
		return;
	case IPREV_RES_PERMERROR:
		if (dns_reverse_name(o->ip, rev, sizeof(rev)) < 0)
			str_format(rev, sizeof(rev), "%s", o->ip);
		str_format(fix, sizeof(fix), "publish a PTR record for %s naming a host whose "
		    "A/AAAA record is %s: \"%s. PTR mail.%s.\" and \"mail.%s. %s %s\" (mail: your "
		    "host's name)", o->ip, o->ip, rev, from_domain(in), from_domain(in),
		    strchr(o->ip, ':') ? "AAAA" : "A", o->ip);
		break;
	case IPREV_RES_TEMPERROR:
		str_format(fix, sizeof(fix), "make sure the reverse DNS of %s answers", o->ip);
		set(r, RULE_TEMP, fix, "iprev temperror: %s", o->why);
		return;
	default:
		if (o->n_names > 0)
			str_format(fix, sizeof(fix), "make the PTR name of %s resolve back to %s: "
			    "\"%s. %s %s\"", o->ip, o->ip, o->names[0], strchr(o->ip, ':') ? "AAAA" : "A", o->ip);
		else
			str_format(fix, sizeof(fix), "make the PTR name of %s resolve back to %s", o->ip, o->ip);
		break;
	}
	set(r, RULE_FAIL, fix, "iprev %s: %s", iprev_res_str(o->result), o->why);
}

static void
eval_tls(const struct rules_input *in, struct rule_result *r)
{
	switch (in->tls) {
	case TLS_YES:
		set(r, RULE_PASS, NULL, "received over %s", in->tls_version ? in->tls_version : "TLS");
		break;
	case TLS_NO:
		set(r, RULE_FAIL, "send over TLS (STARTTLS)", "received without TLS");
		break;
	case TLS_NOT_APPLICABLE:
		set(r, RULE_NA, NULL, "not applicable to outbound mail");
		break;
	default:
		set(r, RULE_UNKNOWN, NULL, "the MTA did not say whether TLS was used");
		break;
	}
}

static void
eval_format(const struct rules_input *in, struct compliance *c)
{
	const struct format_result *f = in->format;
	struct rule_result *r = &c->rule[RULE_FORMAT];

	if (f == NULL) {
		set(r, RULE_UNKNOWN, NULL, "format was not checked");
		return;
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].level != FORMAT_FAIL)
			warn(c, "%s: %s", f->v[i].field, f->v[i].reason);
	if (f->pass) {
		set(r, RULE_PASS, NULL, "RFC 5322 header fields as required");
		return;
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].level == FORMAT_FAIL) {
			char fix[1200];

			if (strcmp(f->v[i].field, "Message-ID") == 0)
				str_format(fix, sizeof(fix), "add a Message-ID field, e.g. \"Message-ID: "
				    "<unique-id@%s>\" (RFC 5322 section 3.6.4)", from_domain(in));
			else if (strstr(f->v[i].reason, "no ") == f->v[i].reason)
				str_format(fix, sizeof(fix), "add a %s field (RFC 5322 section 3.6)", f->v[i].field);
			else
				str_format(fix, sizeof(fix), "fix the %s field (RFC 5322 section 3.6)", f->v[i].field);
			set(r, RULE_FAIL, fix, "%s%s", f->v[i].reason,
			    f->n_fail > 1 ? " (and more)" : "");
			return;
		}
	set(r, RULE_FAIL, "fix the header fields (RFC 5322 section 3.6)", "format problems");
}

/* The one-click rules as profile p sees them. */
static void
eval_unsub(const struct rules_input *in, enum profile_id p, struct profile_verdict *pv)
{
	const struct unsub_result *u = in->unsub;
	const char *fix = "add \"List-Unsubscribe: <https://...>\" and \"List-Unsubscribe-Post: "
	    "List-Unsubscribe=One-Click\", both in the DKIM h= list (RFC 8058)";

	set(&pv->mailto_only, RULE_PASS, NULL, "not mailto-only");
	if (u == NULL) {
		set(&pv->oneclick, RULE_UNKNOWN, NULL, "unsubscribe was not checked");
		return;
	}
	if (u->pass) {
		set(&pv->oneclick, RULE_PASS, NULL, "one-click unsubscribe signed by d=%s", u->sig_domain);
		return;
	}
	if (u->mailto_only && u->n_list_unsub == 1) {
		if (p == PROFILE_YAHOO) {
			set(&pv->oneclick, RULE_PASS, NULL, "mailto: unsubscribe (accepted by Yahoo)");
			return;
		}
		set(&pv->mailto_only, RULE_FAIL, "add an https: one-click URI (RFC 8058) next to "
		    "the mailto: one", "List-Unsubscribe has only mailto: URIs");
		set(&pv->oneclick, RULE_NA, NULL, "see mailto-only");
		return;
	}
	if (p == PROFILE_YAHOO && u->has_mailto && u->n_list_unsub == 1) {
		set(&pv->oneclick, RULE_PASS, NULL, "mailto: unsubscribe (accepted by Yahoo)");
		return;
	}
	/* the fields are right and only the signature over them is unknown
	 * (its key could not be fetched): no verdict, not a failure */
	if ((u->problems & ~(unsigned)(UNSUB_P_NOT_SIGNED | UNSUB_P_SIG_FAILED)) == 0 &&
	    u->sig_index >= 0 && u->sig_result == DKIM_RES_TEMPERROR) {
		set(&pv->oneclick, RULE_TEMP, NULL, "one-click unknown: the DKIM key of d=%s, whose "
		    "signature covers both fields, could not be fetched", u->sig_domain);
		return;
	}
	set(&pv->oneclick, RULE_FAIL, fix, "%s", u->n_reasons ? u->reasons[0] : "no one-click unsubscribe");
}

static int
failing(const struct rule_result *r)
{
	return r->state == RULE_FAIL;
}

const struct rule_result *
rules_result(const struct compliance *c, enum profile_id p, enum rule_id r)
{
	if (r == RULE_ONECLICK)
		return &c->profile[p].oneclick;
	if (r == RULE_MAILTO_ONLY)
		return &c->profile[p].mailto_only;
	return &c->rule[r];
}

static void
clear_result(struct rule_result *r)
{
	r->state = RULE_PASS;
	r->reason[0] = r->fix[0] = '\0';
}

/*
 * A compliance as if zeroed, but its texts (30 KB of reasons, fixes and
 * warnings, read as strings or up to n_warn) are only made empty.
 */
void
compliance_clear(struct compliance *c)
{
	for (int r = 0; r < RULE_COUNT; r++)
		clear_result(&c->rule[r]);
	for (int p = 0; p < PROFILE_COUNT; p++) {
		struct profile_verdict *pv = &c->profile[p];

		pv->enabled = pv->pass = pv->temperror = 0;
		pv->n_failed = 0;
		memset(pv->failed, 0, sizeof(pv->failed));
		clear_result(&pv->oneclick);
		clear_result(&pv->mailto_only);
	}
	c->n_warn = 0;
}

void
rules_evaluate(const struct rules_input *in, unsigned profiles, struct compliance *out)
{
	compliance_clear(out);
	eval_spf(in, &out->rule[RULE_SPF]);
	eval_dkim(in, out);
	if (out->rule[RULE_SPF].state == RULE_PASS || out->rule[RULE_DKIM].state == RULE_PASS)
		set(&out->rule[RULE_AUTH_ANY], RULE_PASS, NULL, "%s passes",
		    out->rule[RULE_SPF].state == RULE_PASS ? "SPF" : "DKIM");
	else if (out->rule[RULE_SPF].state == RULE_TEMP || out->rule[RULE_DKIM].state == RULE_TEMP)
		set(&out->rule[RULE_AUTH_ANY], RULE_TEMP, NULL, "SPF or DKIM could not be checked (DNS)");
	else
		set(&out->rule[RULE_AUTH_ANY], RULE_FAIL,
		    "publish SPF for the MAIL FROM domain or sign with DKIM",
		    "neither SPF nor DKIM passes");
	eval_dmarc(in, out);
	eval_iprev(in, &out->rule[RULE_IPREV]);
	eval_tls(in, &out->rule[RULE_TLS]);
	eval_format(in, out);
	set(&out->rule[RULE_ONECLICK], RULE_NA, NULL, "per profile");
	set(&out->rule[RULE_MAILTO_ONLY], RULE_NA, NULL, "per profile");

	for (int p = 0; p < PROFILE_COUNT; p++) {
		struct profile_verdict *pv = &out->profile[p];

		if (!(profiles & (1u << p)))
			continue;
		pv->enabled = 1;
		eval_unsub(in, (enum profile_id)p, pv);
		for (int r = 0; r < RULE_COUNT; r++) {
			enum rule_scope sc = rules_applies((enum profile_id)p, (enum rule_id)r);

			if (sc == SCOPE_NONE || (sc == SCOPE_BULK && !in->bulk))
				continue;
			const struct rule_result *rr = rules_result(out, (enum profile_id)p, (enum rule_id)r);

			if (failing(rr))
				pv->failed[pv->n_failed++] = (enum rule_id)r;
			else if (rr->state == RULE_TEMP)
				pv->temperror = 1;
		}
		pv->pass = pv->n_failed == 0;
		pv->temperror = pv->pass && pv->temperror;
	}
}
