/*
 * fields: the one table of the verdict's fields; see fields.h.
 *
 * To add a field: a row in the table of its level (order = the order in
 * every output), its value by offset (AT) or a getter below, the outputs
 * it appears in, and per output how it is written. Nothing else changes:
 * the renderers (report.c, columns.c, metrics.c) only walk this table.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "authres.h"
#include "dns.h"
#include "domain.h"
#include "fields.h"
#include "sbuf.h"

/* How to read a member: the kind follows from its type. */
#define KIND(e) _Generic((e), char *: AT_CHARS, int: AT_INT, unsigned: AT_UINT, \
	long: AT_LONG, unsigned long: AT_ULONG)
#define AT(type, m) .kind = KIND(((type *)0)->m), .at = offsetof(type, m)
/* A group: the member m (a struct) of the record */
#define GROUP_AT(type, m) .at = offsetof(type, m), .size = sizeof(((type *)0)->m)
/* A list: the array arr of the record with cnt items in it */
#define ITEMS(type, arr, cnt) .at = offsetof(type, arr), .size = sizeof(((type *)0)->arr[0]), \
	.n_kind = KIND(((type *)0)->cnt), .n_at = offsetof(type, cnt)
/* A list: a pointer p of the record to cnt items */
#define ITEMS_PTR(type, p, cnt) .at = offsetof(type, p), .size = sizeof(*((type *)0)->p), .ptr = 1, \
	.n_kind = KIND(((type *)0)->cnt), .n_at = offsetof(type, cnt)
#define STR_(x) #x
#define STR(x) STR_(x)

#define REC(c, type) ((const type *)(c)->rec)

/* ---- presence ---- */

static int checked(const struct vctx *c) { return !c->v->skipped; }
static int was_skipped(const struct vctx *c) { return c->v->skipped; }
static int spf_done(const struct vctx *c) { return c->v->spf_done; }
static int dmarc_done(const struct vctx *c) { return !c->v->skipped && c->v->dmarc_done; }
static int iprev_done(const struct vctx *c) { return !c->v->skipped && c->v->iprev_done; }
static int arc_done(const struct vctx *c) { return !c->v->skipped && c->v->arc_done; }

/* ---- names ---- */

static const char *spf_name(int i) { return spf_result_str((enum spf_result)i); }
static const char *dkim_name(int i) { return dkim_res_str((enum dkim_res)i); }
static const char *dmarc_name(int i) { return dmarc_res_str((enum dmarc_res)i); }
static const char *arc_name(int i) { return arc_res_str((enum arc_result)i); }
static const char *arc_check_name(int i) { return arc_check_str((enum arc_check)i); }
static const char *policy_name(int i) { return dmarc_policy_str((enum dmarc_policy)i); }
static const char *iprev_name(int i) { return iprev_res_str((enum iprev_res)i); }
static const char *tls_name(int i) { return tls_state_str((enum tls_state)i); }
static const char *rule_id_name(int i) { return rule_name((enum rule_id)i); }
static const char *rule_state_name(int i) { return rule_state_str((enum rule_state)i); }
static const char *profile_key(int i) { return profile_name((enum profile_id)i); }
static const char *profile_title_of(int i) { return profile_title((enum profile_id)i); }
static const char *verdict_name(int i) { return profile_result_str((enum profile_result)i); }
static const char *action_name(int i) { return action_str((enum action)i); }
static const char *cause_name_of(int i) { return cause_name((enum cause)i); }

static const char *
level_name(int i)
{
	return i == FORMAT_FAIL ? "fail" : i == FORMAT_WARN ? "warning" : "?";
}

enum oneclick { ONECLICK_PASS = 0, ONECLICK_FAIL, ONECLICK_NONE, ONECLICK_COUNT };

static const char *
oneclick_name(int i)
{
	static const char *const n[ONECLICK_COUNT] = { "pass", "fail", "none" };

	return (unsigned)i < ONECLICK_COUNT ? n[i] : "?";
}

/* The report's words */
static const char *
tls_text(int i)
{
	static const char *const n[TLS_STATE_COUNT] = { "unknown (give --tls VERSION or --no-tls)",
		"yes", "no", "not applicable (outbound)" };

	return (unsigned)i < TLS_STATE_COUNT ? n[i] : "?";
}

static const char *
verdict_text(int i)
{
	static const char *const n[PROFILE_RESULT_COUNT] = { "compliant", "NOT compliant",
		"not decided (DNS trouble)" };

	return (unsigned)i < PROFILE_RESULT_COUNT ? n[i] : "?";
}

static const char *
oneclick_text(int i)
{
	static const char *const n[ONECLICK_COUNT] = { "one-click ok", "one-click not ok", "none" };

	return (unsigned)i < ONECLICK_COUNT ? n[i] : "?";
}

static const char *format_text(int i) { return i ? "ok" : "problems"; }
static const char *aligned_text(int i) { return i ? " (aligned with From)" : " (not aligned with From)"; }

/* ---- getters ---- */

static void
get_version(const struct vctx *c, struct vval *o)
{
	(void)c;
	o->n = VERDICT_JSON_VERSION;
}

/* RFC 3339 UTC with milliseconds: a JSON log record is often shipped
 * without syslog's own time stamp. */
static void
get_time(const struct vctx *c, struct vval *o)
{
	long long ms = c->v->time_ms;
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char day[32];

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL) {
		o->present = 0;
		return;
	}
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	str_format(o->buf, sizeof(o->buf), "%s.%03dZ", day, (int)(ms % 1000));
	o->s = o->buf;
}

static void
get_package(const struct vctx *c, struct vval *o)
{
	(void)c;
	o->s = PACKAGE_VERSION;
}

static void
get_from_domain(const struct vctx *c, struct vval *o)
{
	const struct verdict *v = c->v;

	if (v->dmarc_done && v->dmarc.from_domain[0])
		o->s = v->dmarc.from_domain;
	else if (v->format.has_from)
		o->s = v->format.from.domain;
	else
		o->present = 0;
}

static void
get_spf_result(const struct vctx *c, struct vval *o)
{
	o->present = c->v->spf_done;
	o->n = REC(c, struct spf_outcome)->result;
}

static void
get_spf_ip(const struct vctx *c, struct vval *o)
{
	o->s = c->v->spf_ip;
}

/* A-R reasons: for DNS trouble its cause, never a server's address (the
 * details stay in the log); the check's own reason when it did not pass. */
static void
ar_reason(struct vval *o, int temp, int pass, const char *why, const char *what)
{
	if (temp) {
		str_format(o->buf, sizeof(o->buf), "%s%s", dns_trouble_cause(why), what);
		o->s = o->buf;
	} else if (!pass && why[0]) {
		o->s = why;
	} else {
		o->present = 0;
	}
}

static void
get_spf_ar_reason(const struct vctx *c, struct vval *o)
{
	const struct spf_outcome *s = REC(c, struct spf_outcome);

	ar_reason(o, s->result == SPF_RES_TEMPERROR, s->result == SPF_RES_PASS, s->why, "");
}

static int
has_mailfrom(const struct vctx *c)
{
	return c->v->spf_done && !c->v->env.null_sender;
}

static int
has_helo_only(const struct vctx *c)
{
	return c->v->spf_done && c->v->env.null_sender;
}

/* The domain alone when the local part would need quoting: no reader
 * can then take an '@' inside it for the domain's. */
static void
get_ar_mail_from(const struct vctx *c, struct vval *o)
{
	const struct envelope *env = &c->v->env;

	o->s = authres_needs_quoting(env->mail_from) ? env->mail_from_domain : env->mail_from;
}

static void
get_helo(const struct vctx *c, struct vval *o)
{
	o->s = c->v->env.helo;
}

static int
spf_counted(const struct vctx *c)
{
	return REC(c, struct spf_outcome)->n_walk > 0;
}

static void
get_spf_max_terms(const struct vctx *c, struct vval *o)
{
	(void)c;
	o->n = SPF_MAX_DNS_TERMS;
}

static void
get_spf_max_void(const struct vctx *c, struct vval *o)
{
	(void)c;
	o->n = SPF_MAX_VOID;
}

/* The walk's indentation in the report. */
static void
get_walk_indent(const struct vctx *c, struct vval *o)
{
	unsigned depth = REC(c, struct spf_walk_step)->depth;
	size_t n = 2 + 2 * (depth < 32 ? depth : 32);

	memset(o->buf, ' ', n);
	o->buf[n] = '\0';
	o->s = o->buf;
}

/* The empty list of signatures: "none", unless DKIM could not run. */
static void
get_dkim_none(const struct vctx *c, struct vval *o)
{
	o->present = c->v->dkim_error[0] == '\0';
	o->n = DKIM_RES_NONE;
	o->s = dkim_res_str(DKIM_RES_NONE);
}

static void
get_dkim_ar_reason(const struct vctx *c, struct vval *o)
{
	const struct dkim_sig_result *d = REC(c, struct dkim_sig_result);

	ar_reason(o, d->result == DKIM_RES_TEMPERROR, d->result == DKIM_RES_PASS, d->why,
	    " fetching the key");
}

static int
dkim_key_comment(const struct vctx *c)
{
	struct vval r = { .present = 1 };

	get_dkim_ar_reason(c, &r);
	return !r.present && REC(c, struct dkim_sig_result)->key_bits > 0;
}

static void
get_dkim_key_comment(const struct vctx *c, struct vval *o)
{
	str_format(o->buf, sizeof(o->buf), "%u-bit key", REC(c, struct dkim_sig_result)->key_bits);
	o->s = o->buf;
}

static int
has_key_bits(const struct vctx *c)
{
	return REC(c, struct dkim_sig_result)->key_bits > 0;
}

static int
has_length(const struct vctx *c)
{
	return REC(c, struct dkim_sig_result)->has_length;
}

/* The statistics store's "d:result" per signature */
/* A d= or s= as one token of the store's dkim column: ' ' separates
 * entries and ':' parts, so neither may occur in it; "-" when empty. */
static void
store_token(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; *src && i + 1 < len; src++)
		dst[i++] = *src == ' ' || *src == ':' || (unsigned char)*src < 0x20 ? '?' : *src;
	if (i == 0 && len > 1)
		dst[i++] = '-';
	dst[i] = '\0';
}

static void
get_dkim_entry(const struct vctx *c, struct vval *o)
{
	const struct dkim_sig_result *d = REC(c, struct dkim_sig_result);
	char name[300];

	char sel[200];	/* selectors are short */

	/* d= only as a valid name (a sender wrote it), else "-" */
	if (domain_name_or_literal(d->domain, name, sizeof(name)) < 0 || name[0] == '[')
		str_format(name, sizeof(name), "-");
	store_token(sel, sizeof(sel), d->selector);
	str_format(o->buf, sizeof(o->buf), "%s:%s:%s", name, sel, dkim_res_str(d->result));
	o->s = o->buf;
}

static void
get_dkim_pass(const struct vctx *c, struct vval *o)
{
	for (size_t i = 0; i < c->v->n_dkim; i++)
		if (c->v->dkim[i].result == DKIM_RES_PASS)
			o->n = 1;
}

static void
get_dmarc_ar_reason(const struct vctx *c, struct vval *o)
{
	const struct dmarc_outcome *d = REC(c, struct dmarc_outcome);
	const struct arc_vouch *t = &c->v->arc_trust;

	/* a temperror that no lookup of DMARC's own caused says what it waits for */
	if (d->result == DMARC_RES_TEMPERROR && strncmp(d->why, "no aligned pass yet", 19) == 0)
		o->s = "an aligned SPF or DKIM result is pending on DNS";
	else if (d->result == DMARC_RES_TEMPERROR && strstr(d->why, "whether np= applies") != NULL)
		o->s = "whether the From domain exists is unknown (DNS), so np= may apply";
	else
		ar_reason(o, d->result == DMARC_RES_TEMPERROR, d->result == DMARC_RES_PASS, d->why, "");
	if (o->present && t->vouched) {
		char reason[201];	/* o->s may be o->buf */

		str_format(reason, sizeof(reason), "%.200s", o->s);
		str_format(o->buf, sizeof(o->buf), "%s; policy not applied: trusted ARC sealer %.100s "
		    "(i=%u) says %.150s", reason, t->sealer, t->instance, t->claim);
		o->s = o->buf;
	}
}

/* The DMARC policy was not applied: a trusted ARC sealer vouched. */
static int
arc_vouched(const struct vctx *c)
{
	return c->v->arc_trust.vouched;
}

static void
get_arc_override(const struct vctx *c, struct vval *o)
{
	(void)c;
	o->s = "arc";
}

static void
get_trusted_sealer(const struct vctx *c, struct vval *o)
{
	o->s = c->v->arc_trust.sealer;
}

static void
get_trusted_instance(const struct vctx *c, struct vval *o)
{
	o->n = c->v->arc_trust.instance;
}

static void
get_trusted_claim(const struct vctx *c, struct vval *o)
{
	o->s = c->v->arc_trust.claim;
}

static int
dmarc_has_record(const struct vctx *c)
{
	return REC(c, struct dmarc_outcome)->have_record;
}

/*
 * A-R properties of dmarc that RFC 9989 registers (IANA's Email
 * Authentication Methods): polrec.p, the p= value of the record that
 * applied, and polrec.domain, where that record was found when it is not
 * the From domain. policy.dmarc is registered for no method of DMARC's,
 * and RFC 7489 registered neither: under it only header.from.
 */
static int
dmarc_polrec_registered(const struct vctx *c)
{
	const struct dmarc_outcome *d = REC(c, struct dmarc_outcome);

	return d->have_record && d->standard == DMARC_STD_RFC9989;
}

static int
dmarc_polrec_domain_differs(const struct vctx *c)
{
	const struct dmarc_outcome *d = REC(c, struct dmarc_outcome);

	return dmarc_polrec_registered(c) && d->record_domain[0] != '\0' &&
	    strcmp(d->record_domain, d->from_domain) != 0;
}

static const char *
policy_or_none(enum dmarc_policy p)
{
	return dmarc_policy_str(p != DMARC_POLICY_UNSET ? p : DMARC_POLICY_NONE);
}

/* ---- the record as published, defaults filled in (RFC 9990's policy_published) ---- */

static enum dmarc_policy
pub_p(const struct dmarc_record *r)
{
	return r->p_present && !(r->invalid & DMARC_TAG_P) ? r->p : DMARC_POLICY_NONE;
}

static enum dmarc_policy
pub_sp(const struct dmarc_record *r)
{
	return (r->present & DMARC_TAG_SP) && !(r->invalid & DMARC_TAG_SP) ? r->sp : pub_p(r);
}

static enum dmarc_policy
pub_np(const struct dmarc_record *r)
{
	return (r->present & DMARC_TAG_NP) && !(r->invalid & DMARC_TAG_NP) ? r->np : pub_sp(r);
}

/* A-R polrec.p: the p= read from the record (none for a record that acts
 * as p=none) */
static void
get_dmarc_polrec_p(const struct vctx *c, struct vval *o)
{
	o->s = policy_or_none(pub_p(&REC(c, struct dmarc_outcome)->record));
}

/* fields of the "published" group: its record is the dmarc_record, the
 * level above the dmarc_outcome */
#define PUB(c) REC(c, struct dmarc_record)

/* "psl:evil.blogspot.com": the other method and its organizational domain */
static void
get_org_other(const struct vctx *c, struct vval *o)
{
	const struct dmarc_outcome *d = REC(c, struct dmarc_outcome);

	if (d->org_other[0] == '\0') {
		o->s = "";
		return;
	}
	str_format(o->buf, sizeof(o->buf), "%s:%s",
	    dmarc_discovery_str(d->discovery == DMARC_DISCOVERY_PSL ? DMARC_DISCOVERY_TREEWALK :
	    DMARC_DISCOVERY_PSL), d->org_other);
	o->s = o->buf;
}

static void get_pub_p(const struct vctx *c, struct vval *o) { o->n = pub_p(PUB(c)); }
static void get_pub_sp(const struct vctx *c, struct vval *o) { o->n = pub_sp(PUB(c)); }
static void get_pub_np(const struct vctx *c, struct vval *o) { o->n = pub_np(PUB(c)); }

static void
get_pub_adkim(const struct vctx *c, struct vval *o)
{
	o->s = PUB(c)->adkim == DMARC_ALIGN_STRICT ? "s" : "r";
}

static void
get_pub_aspf(const struct vctx *c, struct vval *o)
{
	o->s = PUB(c)->aspf == DMARC_ALIGN_STRICT ? "s" : "r";
}

/* t= as RFC 9989 reads it; RFC 7489 knows no t=: "n" */
static void
get_pub_testing(const struct vctx *c, struct vval *o)
{
	const struct dmarc_outcome *d = (const struct dmarc_outcome *)c->up->rec;

	o->s = d->standard == DMARC_STD_RFC9989 && d->record.testing ? "y" : "n";
}

static void
get_discovery(const struct vctx *c, struct vval *o)
{
	o->s = dmarc_discovery_str(REC(c, struct dmarc_outcome)->discovery);
}

static void
get_standard(const struct vctx *c, struct vval *o)
{
	o->s = dmarc_standard_str(REC(c, struct dmarc_outcome)->standard);
}

/* "(p=REJECT sp=REJECT dis=NONE)" as Gmail comments its dmarc result */
static void
get_dmarc_ar_comment(const struct vctx *c, struct vval *o)
{
	const struct dmarc_outcome *d = REC(c, struct dmarc_outcome);
	char p[16], sp[16], dis[16];
	const char *src[3] = { policy_or_none(pub_p(&d->record)), policy_or_none(pub_sp(&d->record)),
		dmarc_disposition_str(dmarc_disposition(c->v)) };
	char *dst[3] = { p, sp, dis };

	for (int k = 0; k < 3; k++) {
		size_t i = 0;

		for (; src[k][i] && i + 1 < sizeof(p); i++)
			dst[k][i] = (char)(src[k][i] >= 'a' && src[k][i] <= 'z' ? src[k][i] - 32 : src[k][i]);
		dst[k][i] = '\0';
	}
	str_format(o->buf, sizeof(o->buf), "p=%s sp=%s dis=%s", p, sp, dis);
	o->s = o->buf;
}

/* ---- what was done, as RFC 9990 reports it ---- */

static void
get_disposition(const struct vctx *c, struct vval *o)
{
	o->n = dmarc_disposition(c->v);
}

static void
get_override(const struct vctx *c, struct vval *o)
{
	o->n = dmarc_override(c->v);
	o->present = o->n != OVERRIDE_NONE;
}

static void
get_override_comment(const struct vctx *c, struct vval *o)
{
	const struct verdict *v = c->v;

	enum dmarc_override ov = dmarc_override(v);

	if (ov == OVERRIDE_NONE) {
		o->present = 0;
		return;
	}
	if (ov == OVERRIDE_TRUSTED_FORWARDER)
		str_format(o->buf, sizeof(o->buf), "arc=pass; the trusted sealer %.150s (i=%u) says %.250s",
		    v->arc_trust.sealer, v->arc_trust.instance, v->arc_trust.claim);
	else
		str_format(o->buf, sizeof(o->buf), "%s by local policy (cause %s)",
		    action_str(v->action), cause_name(v->cause));
	o->s = o->buf;
}

static const char *disposition_name(int i) { return dmarc_disposition_str((enum dmarc_disposition)i); }
static const char *override_name(int i) { return dmarc_override_str((enum dmarc_override)i); }

static void
get_p_present(const struct vctx *c, struct vval *o)
{
	const struct dmarc_outcome *d = REC(c, struct dmarc_outcome);

	o->n = d->have_record && d->record.p_present;
}

static void
get_aligned(const struct vctx *c, struct vval *o)
{
	o->n = c->v->compliance.rule[RULE_DMARC_ALIGN].state == RULE_PASS;
}

static void
get_iprev_ar_reason(const struct vctx *c, struct vval *o)
{
	const struct iprev_outcome *r = REC(c, struct iprev_outcome);

	ar_reason(o, r->result == IPREV_RES_TEMPERROR, r->result == IPREV_RES_PASS, r->why, "");
}

static int
iprev_name_comment(const struct vctx *c)
{
	struct vval r = { .present = 1 };

	get_iprev_ar_reason(c, &r);
	return !r.present && REC(c, struct iprev_outcome)->name[0];
}

static void
get_oneclick(const struct vctx *c, struct vval *o)
{
	const struct unsub_result *u = REC(c, struct unsub_result);

	o->n = u->pass ? ONECLICK_PASS : u->n_list_unsub > 0 ? ONECLICK_FAIL : ONECLICK_NONE;
}

static int
oneclick_passed(const struct vctx *c)
{
	return REC(c, struct unsub_result)->pass;
}

static void
get_unsub_aligned(const struct vctx *c, struct vval *o)
{
	o->n = c->v->unsub_aligned;
}

/* Rules judged for every profile alike (the unsubscribe ones are per profile). */
static const void *
common_rule(const struct vctx *c, size_t i)
{
	if (i == RULE_ONECLICK || i == RULE_MAILTO_ONLY)
		return NULL;
	return &c->v->compliance.rule[i];
}

static const void *
enabled_profile(const struct vctx *c, size_t i)
{
	const struct profile_verdict *pv = &c->v->compliance.profile[i];

	return pv->enabled ? pv : NULL;
}

static void
get_profile_verdict(const struct vctx *c, struct vval *o)
{
	const struct profile_verdict *pv = REC(c, struct profile_verdict);

	o->n = !pv->pass ? PROFILE_FAIL : pv->temperror ? PROFILE_TEMPERROR : PROFILE_PASS;
}

/* The profile index of a failed rule's item: the map item above. */
static const struct rule_result *
failed_result(const struct vctx *c)
{
	enum rule_id r = *(const enum rule_id *)c->rec;

	return rules_result(&c->v->compliance, (enum profile_id)c->up->index, r);
}

static void
get_failed_reason(const struct vctx *c, struct vval *o)
{
	o->s = failed_result(c)->reason;
}

static void
get_failed_fix(const struct vctx *c, struct vval *o)
{
	o->s = failed_result(c)->fix;
}

static int
rule_binds(int profile, int rule)
{
	return rules_applies((enum profile_id)profile, (enum rule_id)rule) != SCOPE_NONE;
}

/* "oneclick,dmarc-record" */
static void
get_failed_rules(const struct vctx *c, struct vval *o)
{
	const struct profile_verdict *pv = REC(c, struct profile_verdict);
	size_t used = 0;

	for (size_t i = 0; i < pv->n_failed; i++) {
		const char *name = rule_name(pv->failed[i]);
		size_t n = strlen(name);

		if (used + n + 2 > sizeof(o->buf))
			break;
		if (i > 0)
			o->buf[used++] = ',';
		memcpy(o->buf + used, name, n);
		used += n;
	}
	o->buf[used] = '\0';
	o->s = o->buf;
	o->present = used > 0;
}

/* "dkim, oneclick": the binding rules DNS trouble kept from an answer */
static void
get_unknown_rules(const struct vctx *c, struct vval *o)
{
	const struct compliance *cp = &c->v->compliance;
	enum profile_id p = (enum profile_id)c->index;
	size_t used = 0;

	o->buf[0] = '\0';
	for (int r = 0; r < RULE_COUNT; r++) {
		enum rule_scope sc = rules_applies(p, (enum rule_id)r);
		int k;

		if (sc == SCOPE_NONE || (sc == SCOPE_BULK && !c->v->bulk) ||
		    rules_result(cp, p, (enum rule_id)r)->state != RULE_TEMP)
			continue;
		k = str_format(o->buf + used, sizeof(o->buf) - used, "%s%s", used ? ", " : "",
		    rule_name((enum rule_id)r));
		if (k < 0 || (size_t)k >= sizeof(o->buf) - used)
			break;
		used += (size_t)k;
	}
	o->s = o->buf;
	o->present = used > 0;
}

/* The first DNS trouble of the checks, said once above them. */
static void
get_dns_trouble(const struct vctx *c, struct vval *o)
{
	const struct verdict *v = c->v;

	o->s = NULL;
	if (v->spf_done && v->spf.result == SPF_RES_TEMPERROR)
		o->s = v->spf.why;
	for (size_t i = 0; o->s == NULL && i < v->n_dkim; i++)
		if (v->dkim[i].result == DKIM_RES_TEMPERROR)
			o->s = v->dkim[i].why;
	if (o->s == NULL && v->dmarc_done && v->dmarc.result == DMARC_RES_TEMPERROR)
		o->s = v->dmarc.why;
	if (o->s == NULL && v->iprev_done && v->iprev.result == IPREV_RES_TEMPERROR)
		o->s = v->iprev.why;
	o->present = o->s != NULL;
}

static void
get_not_checkable(const struct vctx *c, struct vval *o)
{
	(void)c;
	o->s = "spam rate under 0.3%, unsubscribes honoured within 2 days";
}

static void
get_reply(const struct vctx *c, struct vval *o)
{
	const struct verdict *v = c->v;

	str_format(o->buf, sizeof(o->buf), "%s %s %s", v->smtp_rcode, v->smtp_xcode, v->smtp_text);
	o->s = o->buf;
	o->present = v->smtp_rcode[0] != '\0';
}

static void
get_removal_name(const struct vctx *c, struct vval *o)
{
	o->s = REC(c, struct header_removal)->name;
}

static void
get_removed_forged(const struct vctx *c, struct vval *o)
{
	o->n = (long long)c->v->n_remove;
	o->present = c->v->n_remove > 0;
}

static void
get_edit_name(const struct vctx *c, struct vval *o)
{
	o->s = REC(c, struct header_edit)->name;
}

static void
get_edit_value(const struct vctx *c, struct vval *o)
{
	o->s = REC(c, struct header_edit)->value;
}

static void
get_log_line(const struct vctx *c, struct vval *o)
{
	o->s = c->v->log_line;
}

/* ---- the tables, from the innermost level out ---- */

#define RESULTS "sendercheck_results_total"

/* ARC: the chain's A-R reason (fail), the client address (RFC 8617
 * 10.1), oldest-pass on a pass, one "i:d:s:cv:seal" per set for the store */
static void
get_arc_ar_reason(const struct vctx *c, struct vval *o)
{
	const struct arc_outcome *a = REC(c, struct arc_outcome);

	ar_reason(o, 0, a->result != ARC_RES_FAIL, a->why, "");
}

static int
arc_has_chain(const struct vctx *c)
{
	return REC(c, struct arc_outcome)->result != ARC_RES_NONE;
}

static int
arc_passed(const struct vctx *c)
{
	return REC(c, struct arc_outcome)->result == ARC_RES_PASS;
}

static void
get_arc_remote_ip(const struct vctx *c, struct vval *o)
{
	o->s = c->v->env.client_ip;
	o->present = c->v->env.client_ip[0] != '\0';
}

static void
get_arc_entry(const struct vctx *c, struct vval *o)
{
	const struct arc_set *a = REC(c, struct arc_set);
	char name[300], sel[200];

	/* as for DKIM: the domain only as a valid name, else "-" */
	if (domain_name_or_literal(a->seal_domain, name, sizeof(name)) < 0 || name[0] == '[')
		str_format(name, sizeof(name), "-");
	store_token(sel, sizeof(sel), a->seal_selector);
	str_format(o->buf, sizeof(o->buf), "%u:%s:%s:%s:%s", a->instance, name, sel,
	    arc_res_str(a->cv), a->seal == ARC_CHECK_PASS ? "ok" : a->seal == ARC_CHECK_FAIL ?
	    "bad" : "-");
	o->s = o->buf;
}

static const struct vfield client_fields[] = {
	{ "ip", VF_STR, VO_JSON | VO_LOG | VO_TEXT | VO_STATS, "the client's address",
	  AT(struct envelope, client_ip), .log = " client=%s", .log_none = " client=unknown",
	  .text = "Client:\t%s", .col = "client_ip" },
	{ "name", VF_STR, VO_JSON | VO_LOG | VO_STATS, "its verified host name",
	  AT(struct envelope, client_name), .empty_null = 1, .log = " (%s)", .col = "client_name",
	  .col_domain = 1 },
	{ "helo", VF_STR, VO_JSON | VO_LOG | VO_TEXT | VO_STATS, "the HELO/EHLO name",
	  AT(struct envelope, helo), .log = " helo=%s", .log_none = " helo=-",
	  .text = "  HELO %s", .text_none = "  HELO -", .col = "helo", .col_domain = 1 },
	{ 0 }
};

static const struct vfield spf_walk_fields[] = {
	{ "indent", VF_STR, VO_TEXT, "(the report's indentation)", .get = get_walk_indent,
	  .text = "\n\t%s" },
	{ "depth", VF_INT, VO_FULL, "0: the checked domain; +1 per include or redirect",
	  AT(struct spf_walk_step, depth) },
	{ "via", VF_STR, VO_FULL | VO_TEXT, "\"\", \"include\" or \"redirect\"",
	  AT(struct spf_walk_step, via), .text = "%s " },
	{ "domain", VF_STR, VO_FULL | VO_TEXT, "whose record", AT(struct spf_walk_step, domain),
	  .text = "%s: " },
	{ "record", VF_STR, VO_FULL | VO_TEXT, "the record text, \"\" if none",
	  AT(struct spf_walk_step, record), .text = "%s", .text_none = "(no SPF record)" },
	{ "indent2", VF_STR, VO_TEXT, "(the report's indentation)", .get = get_walk_indent,
	  .text = "\n\t%s  -> " },
	{ "result", VF_ENUM, VO_FULL | VO_TEXT, "what this record evaluated to",
	  AT(struct spf_walk_step, result), .name = spf_name, .count = SPF_RES_COUNT, .text = "%s" },
	{ "reason", VF_STR, VO_FULL | VO_TEXT, "how: the matching term, no match, an error",
	  AT(struct spf_walk_step, why), .text = " (%s)" },
	{ 0 }
};

static const struct vfield string_item[] = {
	{ NULL, VF_STR, VO_FULL | VO_TEXT, NULL, .kind = AT_CHARS, .at = 0, .text = "%s" },
	{ 0 }
};

static const struct vfield spf_lint_item[] = {
	{ NULL, VF_STR, VO_FULL | VO_TEXT, NULL, .kind = AT_CHARS, .at = 0, .text = "\n\twarning: %s" },
	{ 0 }
};

static const struct vfield spf_fields[] = {
	{ "result", VF_ENUM, VO_JSON | VO_LOG | VO_TEXT | VO_STATS | VO_METRIC | VO_AR,
	  "RFC 7208 result; null: not checked (no client address)",
	  .get = get_spf_result, .name = spf_name, .count = SPF_RES_COUNT,
	  .log = " spf=%s", .text = "\nSPF:\t%s", .text_none = "\nSPF:\tnot checked",
	  .ar_role = AR_RESULT, .col = "spf", .metric = RESULTS, .mlabels = "method=\"spf\"",
	  .vlabel = "result" },
	{ "ar_reason", VF_STR, VO_AR, "A-R reason", .get = get_spf_ar_reason, .when = spf_done,
	  .ar_role = AR_REASON },
	{ "smtp.mailfrom", VF_STR, VO_AR, "A-R property", .get = get_ar_mail_from, .when = has_mailfrom,
	  .ar_role = AR_PROP, .ar = "smtp.mailfrom" },
	{ "smtp.helo", VF_STR, VO_AR, "A-R property", .get = get_helo, .when = has_helo_only,
	  .ar_role = AR_PROP, .ar = "smtp.helo" },
	{ "domain", VF_STR, VO_JSON | VO_LOG | VO_TEXT | VO_STATS, "the domain whose policy was evaluated",
	  AT(struct spf_outcome, domain), .when = spf_done, .log = " domain=%s", .log_none = " domain=-",
	  .text = " for %s", .text_none = " for -", .col = "spf_domain" },
	{ "identity", VF_STR, VO_JSON, "the identity checked (postmaster@HELO for <>)",
	  AT(struct spf_outcome, identity), .when = spf_done },
	{ "ip", VF_STR, VO_JSON, "the address judged (a SendingIP when outbound)",
	  .get = get_spf_ip, .when = spf_done },
	{ "reason", VF_STR, VO_JSON | VO_TEXT, "why", AT(struct spf_outcome, why),
	  .text = " (%s)", .text_none = " (no reason given)" },
	{ "explanation", VF_STR, VO_FULL | VO_TEXT, "the domain's exp= text on fail",
	  AT(struct spf_outcome, explanation), .text = "\n\texplanation: %s" },
	{ "engine", VF_STR, VO_FULL | VO_TEXT, "builtin or libspf2", AT(struct spf_outcome, engine),
	  .when = spf_done, .empty_null = 1, .text = "\n\tengine %s" },
	{ "dns_lookups", VF_INT, VO_FULL | VO_TEXT, "DNS-querying terms used (builtin engine)",
	  AT(struct spf_outcome, dns_lookups), .when = spf_counted,
	  .text = ": DNS lookups %s of " STR(SPF_MAX_DNS_TERMS) },
	{ "dns_lookups_limit", VF_INT, VO_FULL, "RFC 7208 4.6.4", .get = get_spf_max_terms },
	{ "void_lookups", VF_INT, VO_FULL | VO_TEXT, "lookups with no answer (builtin engine)",
	  AT(struct spf_outcome, void_lookups), .when = spf_counted,
	  .text = ", void lookups %s of " STR(SPF_MAX_VOID) },
	{ "void_lookups_limit", VF_INT, VO_FULL, "RFC 7208 4.6.4", .get = get_spf_max_void },
	{ "term", VF_STR, VO_FULL | VO_TEXT, "the term that decided", AT(struct spf_outcome, term),
	  .text = "\n\tdecided by '%s'" },
	{ "term_domain", VF_STR, VO_FULL | VO_TEXT, "whose record holds it",
	  AT(struct spf_outcome, term_domain), .text = " in %s" },
	{ "walk", VF_LIST, 0, "every record evaluated", .sub = spf_walk_fields,
	  ITEMS(struct spf_outcome, walk, n_walk), .head = "\n\trecords walked:" },
	{ "walk_truncated", VF_BOOL, VO_FULL | VO_TEXT, "more records than the walk keeps",
	  AT(struct spf_outcome, walk_truncated), .text = "\n\t  (more records than shown)" },
	{ "lint", VF_LIST, 0, "warnings for the sender", .sub = spf_lint_item,
	  ITEMS(struct spf_outcome, lint, n_lint) },
	{ 0 }
};

static const struct vfield dkim_fields[] = {
	{ "result", VF_ENUM, VO_JSON | VO_LOG | VO_TEXT | VO_METRIC | VO_AR, "RFC 8601 result",
	  AT(struct dkim_sig_result, result), .name = dkim_name, .count = DKIM_RES_COUNT,
	  .log = " dkim=%s", .text = "\nDKIM #%i:\t%s", .ar_role = AR_RESULT,
	  .metric = RESULTS, .mlabels = "method=\"dkim\"", .vlabel = "result" },
	{ "ar_reason", VF_STR, VO_AR, "A-R reason", .get = get_dkim_ar_reason, .ar_role = AR_REASON },
	{ "ar_key", VF_STR, VO_AR, "A-R comment", .get = get_dkim_key_comment, .when = dkim_key_comment,
	  .ar_role = AR_COMMENT },
	{ "domain", VF_STR, VO_JSON | VO_LOG | VO_TEXT | VO_AR, "d=", AT(struct dkim_sig_result, domain),
	  .empty_null = 1, .log = " d=%s", .log_none = " d=", .text = " d=%s", .text_none = " d=",
	  .ar_role = AR_PROP, .ar = "header.d" },
	{ "selector", VF_STR, VO_JSON | VO_LOG | VO_TEXT | VO_AR, "s=",
	  AT(struct dkim_sig_result, selector), .empty_null = 1, .log = " s=%s", .log_none = " s=",
	  .text = " s=%s", .text_none = " s=", .ar_role = AR_PROP, .ar = "header.s" },
	{ "algorithm", VF_STR, VO_JSON | VO_LOG | VO_TEXT | VO_AR, "a=",
	  AT(struct dkim_sig_result, algorithm), .empty_null = 1, .log = " a=%s", .log_none = " a=",
	  .text = " a=%s", .text_none = " a=", .ar_role = AR_PROP, .ar = "header.a" },
	{ "identity", VF_STR, VO_FULL, "i= (or @d)", AT(struct dkim_sig_result, identity) },
	{ "key_bits", VF_INT, VO_FULL | VO_TEXT, "RSA key size; null for ed25519 or unknown",
	  AT(struct dkim_sig_result, key_bits), .when = has_key_bits, .text = " key=%s bits" },
	{ "b", VF_STR, VO_FULL | VO_AR, "the first characters of b=",
	  AT(struct dkim_sig_result, b_prefix), .empty_null = 1, .ar_role = AR_PROP_QUOTED,
	  .ar = "header.b" },
	{ "length", VF_INT, VO_FULL | VO_TEXT, "l=, null if absent", AT(struct dkim_sig_result, length),
	  .when = has_length, .text = " l=%s" },
	{ "signed_headers", VF_LIST, 0, "the names in h=, lower-case (the first 64)", .sub = string_item,
	  ITEMS(struct dkim_sig_result, signed_hdrs, n_signed), .head = "\n\tsigned headers: ",
	  .sep = ":" },
	{ "reason", VF_STR, VO_FULL | VO_TEXT, "why, or a note on a pass", AT(struct dkim_sig_result, why),
	  .text = "\n\t%s" },
	{ "entry", VF_STR, VO_STATS, "\"d:s:result\" in the store's dkim column (items joined by spaces; before 0.2: \"d:result\")",
	  .get = get_dkim_entry },
	{ 0 }
};

static const struct vfield arc_set_fields[] = {
	{ "instance", VF_INT, VO_FULL | VO_TEXT, "i=", AT(struct arc_set, instance),
	  .text = "\n\ti=%s" },
	{ "seal_domain", VF_STR, VO_FULL | VO_TEXT, "the ARC-Seal's d=", AT(struct arc_set, seal_domain),
	  .empty_null = 1, .text = " sealed by %s", .text_none = " sealed by -" },
	{ "seal_selector", VF_STR, VO_FULL | VO_TEXT, "its s=", AT(struct arc_set, seal_selector),
	  .empty_null = 1, .text = " s=%s" },
	{ "seal_algorithm", VF_STR, VO_FULL, "its a=", AT(struct arc_set, seal_algorithm),
	  .empty_null = 1 },
	{ "cv", VF_ENUM, VO_FULL | VO_TEXT, "what the seal says of the chain before it",
	  AT(struct arc_set, cv), .name = arc_name, .count = ARC_RES_COUNT, .text = " cv=%s" },
	{ "seal", VF_ENUM, VO_FULL | VO_TEXT, "the seal's signature", AT(struct arc_set, seal),
	  .name = arc_check_name, .count = ARC_CHECK_COUNT, .text = ": seal %s" },
	{ "ams_domain", VF_STR, VO_FULL, "the ARC-Message-Signature's d=",
	  AT(struct arc_set, ams_domain), .empty_null = 1 },
	{ "ams_selector", VF_STR, VO_FULL, "its s=", AT(struct arc_set, ams_selector),
	  .empty_null = 1 },
	{ "message_signature", VF_ENUM, VO_FULL | VO_TEXT, "the ARC-Message-Signature",
	  AT(struct arc_set, ams), .name = arc_check_name, .count = ARC_CHECK_COUNT,
	  .text = ", message signature %s" },
	{ "reason", VF_STR, VO_FULL | VO_TEXT, "why a signature of the set failed",
	  AT(struct arc_set, why), .empty_null = 1, .text = " (%s)" },
	{ "authserv_id", VF_STR, VO_FULL | VO_TEXT, "the ARC-Authentication-Results' authserv-id",
	  AT(struct arc_set, authserv_id), .empty_null = 1, .text = "\n\t  %s said:" },
	{ "claims", VF_STR, VO_FULL | VO_TEXT, "the results it recorded, as written",
	  AT(struct arc_set, claims), .empty_null = 1, .text = " %s" },
	{ "entry", VF_STR, VO_STATS, "\"i:d:s:cv:seal\" in the store's arc_chain column",
	  .get = get_arc_entry },
	{ 0 }
};

static const struct vfield arc_fields[] = {
	{ "result", VF_ENUM, VO_JSON | VO_LOG | VO_TEXT | VO_STATS | VO_METRIC | VO_AR,
	  "RFC 8617 chain validation status", AT(struct arc_outcome, result), .name = arc_name,
	  .count = ARC_RES_COUNT, .log = " arc=%s", .text = "\nARC:\t%s", .ar_role = AR_RESULT,
	  .col = "arc", .metric = RESULTS, .mlabels = "method=\"arc\"", .vlabel = "result" },
	{ "ar_reason", VF_STR, VO_AR, "A-R reason", .get = get_arc_ar_reason, .ar_role = AR_REASON },
	{ "ar_remote_ip", VF_STR, VO_AR, "smtp.remote-ip (RFC 8617 10.1)", .get = get_arc_remote_ip,
	  .when = arc_has_chain, .ar_role = AR_PROP, .ar = "smtp.remote-ip" },
	{ "sets", VF_INT, VO_JSON | VO_LOG | VO_TEXT, "ARC sets in the chain",
	  AT(struct arc_outcome, n_sets), .when = arc_has_chain, .log = "(i=%s)",
	  .text = ", %s set(s)" },
	{ "oldest_pass", VF_INT, VO_FULL | VO_TEXT | VO_AR,
	  "the oldest instance from which every message signature verifies, 0: all (on a pass)",
	  AT(struct arc_outcome, oldest_pass), .when = arc_passed, .text = ", oldest-pass %s",
	  .ar_role = AR_PROP, .ar = "header.oldest-pass" },
	{ "dns_trouble", VF_BOOL, VO_FULL, "a key could not be fetched (DNS)",
	  AT(struct arc_outcome, dns_trouble) },
	{ "trusted_sealer", VF_STR, VO_JSON | VO_LOG | VO_TEXT | VO_STATS,
	  "the TrustedARCSealers domain whose word lifted a DMARC failure's policy, null if none",
	  .get = get_trusted_sealer, .when = arc_vouched, .log = " arc_trusted=%s",
	  .text = "\n\tDMARC policy not applied: trusted sealer %s", .col = "arc_trusted" },
	{ "trusted_instance", VF_INT, VO_FULL | VO_TEXT, "the set it sealed",
	  .get = get_trusted_instance, .when = arc_vouched, .text = " (i=%s)" },
	{ "trusted_claim", VF_STR, VO_FULL | VO_TEXT, "what it said when it received the message",
	  .get = get_trusted_claim, .when = arc_vouched, .text = " says %s" },
	{ "reason", VF_STR, VO_JSON | VO_TEXT, "why it failed, null otherwise",
	  AT(struct arc_outcome, why), .empty_null = 1, .text = "\n\t%s" },
	{ "chain", VF_LIST, 0, "each set, oldest first", .sub = arc_set_fields,
	  ITEMS_PTR(struct arc_outcome, sets, n_sets), .col = "arc_chain", .sep = " " },
	{ 0 }
};

static const struct vfield dmarc_published_fields[] = {
	{ "p", VF_ENUM, VO_FULL | VO_STATS, "p=, none when absent with a valid rua=", .get = get_pub_p,
	  .name = policy_name, .count = DMARC_POLICY_COUNT, .col = "dmarc_p" },
	{ "sp", VF_ENUM, VO_FULL | VO_STATS, "sp=, p when absent", .get = get_pub_sp,
	  .name = policy_name, .count = DMARC_POLICY_COUNT, .col = "dmarc_sp" },
	{ "np", VF_ENUM, VO_FULL | VO_STATS, "np=, sp when absent", .get = get_pub_np,
	  .name = policy_name, .count = DMARC_POLICY_COUNT, .col = "dmarc_np" },
	{ "adkim", VF_STR, VO_FULL | VO_STATS, "r or s", .get = get_pub_adkim, .col = "dmarc_adkim" },
	{ "aspf", VF_STR, VO_FULL | VO_STATS, "r or s", .get = get_pub_aspf, .col = "dmarc_aspf" },
	{ "testing", VF_STR, VO_FULL | VO_STATS, "t= (RFC 9989): y or n; n under RFC 7489",
	  .get = get_pub_testing, .col = "dmarc_testing" },
	{ "fo", VF_STR, VO_FULL | VO_STATS, "fo=, 0 when absent", AT(struct dmarc_record, fo),
	  .col = "dmarc_fo" },
	{ "pct", VF_INT, VO_FULL, "pct= as written (RFC 7489; RFC 9989 ignores it), 100 when absent",
	  AT(struct dmarc_record, pct) },
	{ "rua", VF_STR, VO_FULL | VO_STATS, "rua= as written, null if absent",
	  AT(struct dmarc_record, rua), .empty_null = 1, .col = "dmarc_rua" },
	{ 0 }
};

static const struct vfield dmarc_fields[] = {
	{ "result", VF_ENUM, VO_JSON | VO_LOG | VO_TEXT | VO_STATS | VO_METRIC | VO_AR,
	  "DMARC result (RFC 9989, or RFC 7489 with DMARCStandard rfc7489)",
	  AT(struct dmarc_outcome, result), .name = dmarc_name,
	  .count = DMARC_RES_COUNT, .log = " dmarc=%s", .text = "\nDMARC:\t%s", .ar_role = AR_RESULT,
	  .col = "dmarc", .metric = RESULTS, .mlabels = "method=\"dmarc\"", .vlabel = "result" },
	{ "ar_reason", VF_STR, VO_AR, "A-R reason", .get = get_dmarc_ar_reason, .ar_role = AR_REASON },
	{ "ar_comment", VF_STR, VO_AR, "A-R comment: the published p and sp and the disposition, as Gmail writes them",
	  .get = get_dmarc_ar_comment, .when = dmarc_has_record, .ar_role = AR_COMMENT },
	{ "ar_polrec_p", VF_STR, VO_AR, "A-R property polrec.p: the record's p= (registered by RFC 9989)",
	  .get = get_dmarc_polrec_p, .when = dmarc_polrec_registered, .ar_role = AR_PROP,
	  .ar = "polrec.p" },
	{ "ar_polrec_domain", VF_STR, VO_AR, "A-R property polrec.domain: where the record was found, "
	  "when not at the From domain (registered by RFC 9989)",
	  AT(struct dmarc_outcome, record_domain), .when = dmarc_polrec_domain_differs,
	  .ar_role = AR_PROP, .ar = "polrec.domain" },
	{ "ar_override", VF_STR, VO_AR, "A-R property policy.override=arc: the policy was not "
	  "applied for a trusted ARC sealer's word", .get = get_arc_override, .when = arc_vouched,
	  .ar_role = AR_PROP, .ar = "policy.override" },
	{ "from_domain", VF_STR, VO_JSON | VO_LOG | VO_TEXT | VO_AR, "the RFC5322.From domain judged",
	  AT(struct dmarc_outcome, from_domain), .empty_null = 1, .log = " header.from=%s",
	  .log_none = " header.from=-", .text = " for %s", .text_none = " for -", .ar_role = AR_PROP,
	  .ar = "header.from" },
	{ "standard", VF_STR, VO_FULL | VO_STATS, "rfc9989 or rfc7489 (DMARCStandard)",
	  .get = get_standard, .col = "dmarc_standard" },
	{ "discovery", VF_STR, VO_JSON | VO_STATS, "psl or treewalk: how the organizational domain was found",
	  .get = get_discovery, .col = "dmarc_discovery" },
	{ "org_domain", VF_STR, VO_FULL, "its organizational domain",
	  AT(struct dmarc_outcome, org_domain), .empty_null = 1 },
	{ "org_other", VF_STR, VO_JSON | VO_LOG | VO_TEXT | VO_STATS,
	  "the other discovery method's organizational domain where it differs (receivers on that method judge the message differently), null if the same",
	  .get = get_org_other, .empty_null = 1, .log = " org_other=%s",
	  .text = "\n\tthe other method's organizational domain differs: %s", .col = "dmarc_org_other" },
	{ "record_domain", VF_STR, VO_FULL | VO_TEXT | VO_STATS,
	  "the policy domain: where the record was found (without _dmarc.)",
	  AT(struct dmarc_outcome, record_domain), .empty_null = 1, .when = dmarc_has_record,
	  .text = " (record at _dmarc.%s", .col = "dmarc_domain" },
	{ "policy", VF_ENUM, VO_FULL | VO_TEXT | VO_STATS, "the policy that applies (p, sp or np)",
	  AT(struct dmarc_outcome, policy), .when = dmarc_has_record, .name = policy_name,
	  .count = DMARC_POLICY_COUNT, .text = ", policy %s)", .col = "dmarc_policy" },
	{ "applied", VF_ENUM, VO_FULL | VO_STATS,
	  "that policy after t=y (RFC 9989) or pct (RFC 7489): one level milder",
	  AT(struct dmarc_outcome, applied), .when = dmarc_has_record, .name = policy_name,
	  .count = DMARC_POLICY_COUNT, .col = "dmarc_applied" },
	{ "published", VF_GROUP, 0, "the record as published, defaults filled in (RFC 9990 policy_published)",
	  .sub = dmarc_published_fields, GROUP_AT(struct dmarc_outcome, record),
	  .when = dmarc_has_record },
	{ "p_present", VF_BOOL, VO_FULL, "the record has a p= tag", .get = get_p_present },
	{ "records", VF_INT, VO_FULL, "DMARC records at the record domain",
	  AT(struct dmarc_outcome, n_records) },
	{ "spf_aligned", VF_BOOL, VO_FULL | VO_STATS, "From aligned with a passing SPF domain",
	  AT(struct dmarc_outcome, spf_aligned), .col = "dmarc_spf_aligned" },
	{ "dkim_aligned", VF_BOOL, VO_FULL | VO_STATS, "From aligned with a passing DKIM d=",
	  AT(struct dmarc_outcome, dkim_aligned), .col = "dmarc_dkim_aligned" },
	{ "disposition", VF_ENUM, VO_JSON | VO_STATS,
	  "what was done, as RFC 9990 reports it: none, pass (passed under an enforcing policy), quarantine, reject",
	  .get = get_disposition, .when = dmarc_has_record, .name = disposition_name,
	  .count = DISP_COUNT, .col = "dmarc_disposition" },
	{ "override", VF_ENUM, VO_JSON | VO_STATS,
	  "why the disposition is not what the domain asked: local_policy, policy_test_mode (t=y), other (pct), trusted_forwarder (TrustedARCSealers); null if it is",
	  .get = get_override, .when = dmarc_has_record, .name = override_name,
	  .count = OVERRIDE_COUNT, .col = "dmarc_override" },
	{ "override_comment", VF_STR, VO_FULL | VO_STATS, "what we did instead, null if nothing",
	  .get = get_override_comment, .when = dmarc_has_record, .col = "dmarc_override_comment" },
	{ "discarded", VF_STR, VO_FULL | VO_TEXT | VO_STATS,
	  "a TXT record at a _dmarc name that was discarded, and why; null if none",
	  AT(struct dmarc_outcome, discarded), .empty_null = 1, .text = "\n\tdiscarded: %s",
	  .col = "dmarc_discarded" },
	{ "reason", VF_STR, VO_FULL | VO_TEXT, "why", AT(struct dmarc_outcome, why), .text = "\n\t%s" },
	{ 0 }
};

static const struct vfield iprev_fields[] = {
	{ "result", VF_ENUM, VO_JSON | VO_LOG | VO_TEXT | VO_STATS | VO_METRIC | VO_AR,
	  "RFC 8601 iprev result", AT(struct iprev_outcome, result), .name = iprev_name,
	  .count = IPREV_RES_COUNT, .log = " iprev=%s", .text = "\niprev:\t%s", .ar_role = AR_RESULT,
	  .col = "iprev", .metric = RESULTS, .mlabels = "method=\"iprev\"", .vlabel = "result" },
	{ "ar_reason", VF_STR, VO_AR, "A-R reason", .get = get_iprev_ar_reason, .ar_role = AR_REASON },
	{ "ar_name", VF_STR, VO_AR, "A-R comment", AT(struct iprev_outcome, name),
	  .when = iprev_name_comment, .ar_role = AR_COMMENT },
	{ "ip", VF_STR, VO_JSON | VO_TEXT | VO_AR, "the address checked", AT(struct iprev_outcome, ip),
	  .text = " for %s", .ar_role = AR_PROP, .ar = "policy.iprev" },
	{ "name", VF_STR, VO_JSON | VO_TEXT, "the verified name on pass", AT(struct iprev_outcome, name),
	  .empty_null = 1, .text = " -> %s" },
	{ "reason", VF_STR, VO_FULL | VO_TEXT, "why", AT(struct iprev_outcome, why), .text = " (%s)" },
	{ 0 }
};

static const struct vfield tls_fields[] = {
	{ "result", VF_ENUM, VO_JSON | VO_LOG | VO_TEXT | VO_STATS, "unknown: the MTA did not say; n/a: outbound", AT(struct envelope, tls), .name = tls_name, .count = TLS_STATE_COUNT,
	  .log = " tls=%s", .text = "\nTLS:\t%s", .tname = tls_text, .col = "tls" },
	{ "version", VF_STR, VO_JSON | VO_TEXT, "e.g. TLSv1.3", AT(struct envelope, tls_version),
	  .empty_null = 1, .text = ", %s" },
	{ "cipher", VF_STR, VO_FULL, "as the MTA said", AT(struct envelope, cipher), .empty_null = 1 },
	{ 0 }
};

static const struct vfield format_problem_fields[] = {
	{ "level", VF_ENUM, VO_FULL | VO_TEXT, "a failure or a warning", AT(struct format_problem, level),
	  .name = level_name, .count = FORMAT_WARN + 1, .text = "\n\t%s" },
	{ "field", VF_STR, VO_FULL | VO_TEXT, "the header field", AT(struct format_problem, field),
	  .text = " %s" },
	{ "reason", VF_STR, VO_FULL | VO_TEXT, "what is wrong", AT(struct format_problem, reason),
	  .text = ": %s" },
	{ 0 }
};

static const struct vfield format_fields[] = {
	{ "pass", VF_BOOL, VO_JSON | VO_TEXT, "no RFC 5322 problem that fails the rule",
	  AT(struct format_result, pass), .text = "\nFormat:\t%s", .tname = format_text },
	{ "problems", VF_LIST, 0, "each problem found", .sub = format_problem_fields,
	  ITEMS(struct format_result, v, n) },
	{ 0 }
};

static const struct vfield bulk_fields[] = {
	{ "bulk", VF_BOOL, VO_JSON | VO_LOG | VO_TEXT | VO_STATS | VO_METRIC | VO_COMPL,
	  "classified as bulk mail", AT(struct verdict, bulk), .log = " bulk=%s", .text = "\nBulk:\t%s",
	  .ar_role = AR_RESULT, .col = "bulk", .metric = "sendercheck_bulk_messages_total" },
	{ "why", VF_STR, VO_JSON | VO_TEXT | VO_COMPL, "the headers or the volume that made it bulk",
	  AT(struct verdict, bulk_why), .empty_null = 1, .text = " (%s)", .ar_role = AR_COMMENT },
	{ "volume", VF_INT, VO_FULL, "the From organizational domain's messages in 24 h",
	  AT(struct verdict, volume) },
	{ 0 }
};

static const struct vfield unsub_reason_item[] = {
	{ NULL, VF_STR, VO_FULL | VO_TEXT, NULL, .kind = AT_CHARS, .at = 0, .text = "\n\t%s" },
	{ 0 }
};

static const struct vfield unsub_fields[] = {
	{ "oneclick", VF_ENUM, VO_JSON | VO_LOG | VO_TEXT | VO_STATS | VO_METRIC,
	  "fail: List-Unsubscribe present but not one-click (RFC 8058)",
	  .get = get_oneclick, .name = oneclick_name, .count = ONECLICK_COUNT, .log = " oneclick=%s",
	  .text = "\nUnsubscribe:\t%s", .tname = oneclick_text, .col = "oneclick",
	  .metric = "sendercheck_oneclick_total", .vlabel = "result" },
	{ "list_unsubscribe_fields", VF_INT, VO_FULL, "List-Unsubscribe fields in the message",
	  AT(struct unsub_result, n_list_unsub) },
	{ "https", VF_BOOL, VO_FULL, "an https URI", AT(struct unsub_result, has_https) },
	{ "mailto", VF_BOOL, VO_FULL, "a mailto URI", AT(struct unsub_result, has_mailto) },
	{ "mailto_only", VF_BOOL, VO_FULL, "only mailto URIs", AT(struct unsub_result, mailto_only) },
	{ "signed_by", VF_STR, VO_FULL | VO_TEXT, "d= of the signature the verdict rests on",
	  AT(struct unsub_result, sig_domain), .empty_null = 1, .text = ", signed by d=%s" },
	{ "aligned", VF_BOOL, VO_FULL | VO_TEXT, "that d= aligns with From (on a pass)",
	  .get = get_unsub_aligned, .when = oneclick_passed, .text = "%s", .tname = aligned_text },
	{ "reasons", VF_LIST, 0, "why not one-click", .sub = unsub_reason_item,
	  ITEMS(struct unsub_result, reasons, n_reasons) },
	{ 0 }
};

static const struct vfield rule_fields[] = {
	{ "state", VF_ENUM, VO_JSON, "the rule's state",
	  AT(struct rule_result, state), .name = rule_state_name, .count = RULE_STATE_COUNT },
	{ "reason", VF_STR, VO_FULL, "why", AT(struct rule_result, reason) },
	{ "fix", VF_STR, VO_FULL, "what the sender can do, \"\" if nothing", AT(struct rule_result, fix) },
	{ 0 }
};

static const struct vfield failed_fields[] = {
	{ "rule", VF_ENUM, VO_JSON | VO_TEXT | VO_METRIC, "the rule id", .kind = AT_UINT, .at = 0,
	  .name = rule_id_name, .count = RULE_COUNT, .text = "\n\t%s",
	  .metric = "sendercheck_rule_failures_total", .vlabel = "rule", .mfilter = rule_binds },
	{ "reason", VF_STR, VO_FULL | VO_TEXT, "why", .get = get_failed_reason, .text = ": %s" },
	{ "fix", VF_STR, VO_FULL | VO_TEXT, "what the sender can do", .get = get_failed_fix,
	  .text = "\n\t  fix: %s" },
	{ 0 }
};

static const struct vfield profile_fields[] = {
	{ "verdict", VF_ENUM, VO_JSON | VO_LOG | VO_TEXT | VO_STATS | VO_METRIC | VO_COMPL,
	  "temperror: no rule failed, DNS trouble kept one from an answer",
	  .get = get_profile_verdict, .name = verdict_name, .count = PROFILE_RESULT_COUNT,
	  .log = " %k=%s", .text = "\n%K:\t%s", .tname = verdict_text, .ar_role = AR_RESULT,
	  .col = "%k", .metric = "sendercheck_verdicts_total", .vlabel = "verdict" },
	{ "failed", VF_LIST, 0, "the binding rules it fails, in rule order", .sub = failed_fields,
	  ITEMS(struct profile_verdict, failed, n_failed) },
	{ "unknown_rules", VF_STR, VO_FULL | VO_TEXT,
	  "binding rules DNS trouble kept from an answer (neither failed nor passed), null if none",
	  .get = get_unknown_rules, .empty_null = 1,
	  .text = "\n\tunknown for lack of DNS answers (neither failed nor passed): %s" },
	{ "failed_rules", VF_STR, VO_LOG | VO_STATS | VO_COMPL, "the failed rule ids, comma separated",
	  .get = get_failed_rules, .log = ":%s", .ar_role = AR_PROP_QUOTED, .ar = "policy.rules",
	  .col = "%k_failed" },
	{ 0 }
};

static const struct vfield warning_item[] = {
	{ NULL, VF_STR, VO_FULL | VO_TEXT, NULL, .kind = AT_CHARS, .at = 0, .text = "\nWarning:\t%s" },
	{ 0 }
};

static const struct vfield action_fields[] = {
	{ "action", VF_ENUM, VO_JSON | VO_LOG | VO_TEXT | VO_STATS | VO_METRIC,
	  "the action", AT(struct verdict, action), .name = action_name,
	  .count = ACT_COUNT, .log = " action=%s", .text = "\nAction:\t%s", .col = "action",
	  .metric = "sendercheck_messages_total", .vlabel = "action" },
	{ "cause", VF_ENUM, VO_JSON | VO_LOG | VO_TEXT | VO_STATS, "what chose the action", AT(struct verdict, cause), .name = cause_name_of, .count = CAUSE_COUNT,
	  .blank = "none", .log = " cause=%s", .text = " (cause: %s)", .col = "cause" },
	{ "smtp_code", VF_STR, VO_JSON, "550 or 451; null on accept and quarantine",
	  AT(struct verdict, smtp_rcode), .empty_null = 1 },
	{ "enhanced_code", VF_STR, VO_JSON, "e.g. 5.7.26", AT(struct verdict, smtp_xcode),
	  .empty_null = 1 },
	{ "text", VF_STR, VO_FULL, "the reply text (the quarantine reason too)",
	  AT(struct verdict, smtp_text), .empty_null = 1 },
	{ "reply", VF_STR, VO_TEXT, "the SMTP reply", .get = get_reply, .text = "\n\treply: %s" },
	{ 0 }
};

static const struct vfield removal_fields[] = {
	{ "name", VF_STR, VO_JSON | VO_TEXT, "the field name", .get = get_removal_name,
	  .text = "\nRemoves:\t%s" },
	{ "index", VF_INT, VO_JSON | VO_TEXT, "its 1-based index among fields of that name",
	  AT(struct header_removal, index), .text = " #%s (carries our authserv-id: forged)" },
	{ 0 }
};

static const struct vfield dns_fields[] = {
	{ "queries", VF_INT, VO_JSON | VO_LOG | VO_STATS | VO_METRIC, "DNS lookups (cache hits included)",
	  AT(struct verdict, dns_queries), .log = " dns=%s", .col = "dns_queries",
	  .metric = "sendercheck_dns_queries_total" },
	{ "cache_hits", VF_INT, VO_JSON | VO_LOG | VO_METRIC, "answered from the cache",
	  AT(struct verdict, dns_cache_hits), .log = "/%s", .metric = "sendercheck_dns_cache_hits_total" },
	{ "timeouts", VF_INT, VO_JSON | VO_LOG | VO_STATS | VO_METRIC, "lookups that timed out",
	  AT(struct verdict, dns_timeouts), .log = "/%s", .col = "dns_timeouts",
	  .metric = "sendercheck_dns_timeouts_total" },
	{ 0 }
};

static const struct vfield add_fields[] = {
	{ "name", VF_STR, VO_FULL | VO_TEXT, "the field name", .get = get_edit_name, .text = "\n%s" },
	{ "value", VF_STR, VO_FULL | VO_TEXT, "its value, folded", .get = get_edit_value, .text = ": %s" },
	{ 0 }
};

const struct vfield verdict_fields[] = {
	{ "version", VF_INT, VO_JSON, "the version of this shape (" STR(VERDICT_JSON_VERSION) ")",
	  .get = get_version },
	{ "time", VF_STR, VO_JSON, "when it was judged, RFC 3339 UTC with ms", .get = get_time },
	{ "sendercheck", VF_STR, VO_FULL, "the program's version", .get = get_package },
	{ "queue_id", VF_STR, VO_JSON | VO_LOG | VO_STATS, "the MTA's queue id",
	  AT(struct verdict, env.queue_id), .empty_null = 1, .log = "%s:", .log_none = "NOQUEUE:",
	  .col = "queue_id" },
	{ "client", VF_GROUP, 0, "the SMTP client", .sub = client_fields, GROUP_AT(struct verdict, env) },
	{ "mail_from", VF_STR, VO_JSON | VO_LOG | VO_TEXT, "MAIL FROM without <>, \"\" for the null sender",
	  AT(struct verdict, env.mail_from), .log = " from=<%s>", .log_none = " from=<>",
	  .text = "  MAIL FROM <%s>", .text_none = "  MAIL FROM <>" },
	{ "mail_from_domain", VF_STR, VO_JSON | VO_STATS, "its domain as SPF checks it (smtppath.h)",
	  AT(struct verdict, env.mail_from_domain), .empty_null = 1, .col = "mail_from_domain",
	  .col_domain = 1 },
	{ "from_domain", VF_STR, VO_JSON | VO_STATS, "the RFC5322.From domain, null unless one",
	  .get = get_from_domain, .col = "from_domain", .col_domain = 1 },
	{ "rcpts", VF_INT, VO_JSON | VO_LOG, "RCPT TO commands", AT(struct verdict, env.n_rcpt),
	  .log = " rcpts=%s" },
	{ "skipped", VF_BOOL, VO_JSON | VO_STATS | VO_METRIC, "not checked (InternalHosts)",
	  AT(struct verdict, skipped), .col = "skipped", .metric = "sendercheck_skipped_total" },
	{ "skip_reason", VF_STR, VO_JSON | VO_LOG | VO_TEXT, "why not", AT(struct verdict, skip_reason),
	  .when = was_skipped, .log = " skipped=\"%s\"", .text = "\nNot checked: %s" },
	{ "dns_trouble", VF_STR, VO_FULL | VO_TEXT, "the first DNS failure of the checks, null if none: "
	  "what needed it is unknown, never failed or passed", .get = get_dns_trouble, .when = checked,
	  .empty_null = 1, .text = "\nDNS:\ttrouble: %s\n\tevery result that needed that answer is "
	  "unknown: no rule below failed\n\tor passed because of it" },
	{ "spf", VF_GROUP, 0, "SPF (RFC 7208) of MAIL FROM (HELO for <>)", .sub = spf_fields,
	  GROUP_AT(struct verdict, spf), .when = checked, .ar_role = AR_METHOD, .ar = "spf" },
	{ "dkim", VF_LIST, VO_LOG | VO_TEXT | VO_METRIC | VO_AR, "each DKIM signature (RFC 6376)",
	  .sub = dkim_fields, ITEMS_PTR(struct verdict, dkim, n_dkim), .when = checked,
	  .get = get_dkim_none, .name = dkim_name, .count = DKIM_RES_COUNT, .log = " dkim=%s",
	  .text = "\nDKIM:\t%s (no signature)", .ar_role = AR_METHOD, .ar = "dkim", .col = "dkim",
	  .metric = RESULTS, .mlabels = "method=\"dkim\"", .vlabel = "result" },
	{ "dkim_pass", VF_BOOL, VO_STATS, "a signature passed", .get = get_dkim_pass, .when = checked,
	  .col = "dkim_pass" },
	{ "dkim_error", VF_STR, VO_JSON | VO_TEXT, "why DKIM could not run, null if it did",
	  AT(struct verdict, dkim_error), .empty_null = 1, .text = "\nDKIM:\t%s" },
	{ "arc", VF_GROUP, 0, "the ARC chain (RFC 8617)", .sub = arc_fields,
	  GROUP_AT(struct verdict, arc), .when = arc_done, .ar_role = AR_METHOD, .ar = "arc" },
	{ "dmarc", VF_GROUP, 0, "DMARC (RFC 7489)", .sub = dmarc_fields, GROUP_AT(struct verdict, dmarc),
	  .when = dmarc_done, .ar_role = AR_METHOD, .ar = "dmarc" },
	{ "aligned", VF_BOOL, VO_STATS, "rule dmarc-align passed", .get = get_aligned, .when = checked,
	  .col = "aligned" },
	{ "dmarc_report", VF_BOOL, VO_FULL | VO_STATS,
	  "an RFC 9990 aggregate report that passed DMARC (left out of our own reports)",
	  AT(struct verdict, dmarc_report_msg), .when = checked, .col = "dmarc_report_msg" },
	{ "iprev", VF_GROUP, 0, "FCrDNS of the client (RFC 8601 3)", .sub = iprev_fields,
	  GROUP_AT(struct verdict, iprev), .when = iprev_done, .ar_role = AR_METHOD, .ar = "iprev" },
	{ "tls", VF_GROUP, 0, "TLS as the MTA reported it", .sub = tls_fields,
	  GROUP_AT(struct verdict, env), .when = checked },
	{ "format", VF_GROUP, 0, "RFC 5322 header fields", .sub = format_fields,
	  GROUP_AT(struct verdict, format), .when = checked },
	{ "unsubscribe", VF_GROUP, 0, "one-click unsubscribe (RFC 8058)", .sub = unsub_fields,
	  GROUP_AT(struct verdict, unsub), .when = checked },
	{ "rules", VF_MAP, 0, "each rule judged alike for all profiles (unsubscribe: per profile)",
	  .sub = rule_fields, .when = checked, .name = rule_id_name, .count = RULE_COUNT,
	  .item = common_rule },
	{ "profiles", VF_MAP, 0, "each enabled profile's verdict", .sub = profile_fields,
	  .when = checked, .name = profile_key, .count = PROFILE_COUNT, .title = profile_title_of,
	  .item = enabled_profile, .ar_role = AR_METHOD, .vlabel = "profile" },
	{ "bulk", VF_GROUP, 0, "bulk classification", .sub = bulk_fields, .at = 0, .size = 0,
	  .when = checked, .ar_role = AR_METHOD, .ar = "bulk" },
	{ "warnings", VF_LIST, 0, "advice that fails no rule", .sub = warning_item, .when = checked,
	  ITEMS(struct verdict, compliance.warn, compliance.n_warn) },
	{ "not_checkable", VF_STR, VO_FULL | VO_TEXT, "rules no filter can check", .when = checked,
	  .get = get_not_checkable, .text = "\nNot checkable here: %s" },
	{ "action", VF_GROUP, 0, "what the milter does", .sub = action_fields, .at = 0, .size = 0 },
	{ "error", VF_STR, VO_JSON | VO_LOG | VO_TEXT, "an internal error, null if none",
	  AT(struct verdict, error), .empty_null = 1, .log = " error=\"%s\"", .text = "\nError:\t%s" },
	{ "input_error", VF_STR, VO_JSON | VO_LOG | VO_TEXT, "the first problem with the input",
	  AT(struct verdict, input_error), .empty_null = 1, .log = " input=\"%s\"",
	  .text = "\nInput:\t%s" },
	{ "remove_headers", VF_LIST, 0, "forged copies of our fields, removed", .sub = removal_fields,
	  ITEMS_PTR(struct verdict, remove, n_remove) },
	{ "removed_forged", VF_INT, VO_LOG, "how many", .get = get_removed_forged,
	  .log = " removed_forged=%s" },
	{ "dns", VF_GROUP, 0, "DNS work of the checks", .sub = dns_fields, .at = 0, .size = 0,
	  .when = checked },
	{ "ms", VF_INT, VO_JSON | VO_LOG | VO_STATS, "milliseconds spent judging",
	  AT(struct verdict, elapsed_ms), .log = " ms=%s", .col = "elapsed_ms" },
	{ "us", VF_INT, VO_JSON | VO_METRIC, "microseconds spent judging (ms rounds most checks to 0)",
	  AT(struct verdict, elapsed_us), .metric = "sendercheck_check_duration_seconds" },
	{ "add_headers", VF_LIST, 0, "header fields the milter adds, in order", .sub = add_fields,
	  ITEMS(struct verdict, add, n_add), .head = "\n\nHeader fields the milter would add:" },
	{ "log", VF_STR, VO_FULL, "the text log line", .get = get_log_line, .empty_null = 1 },
	{ 0 }
};
