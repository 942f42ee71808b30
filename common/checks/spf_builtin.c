/*
 * spf_builtin: the project's own RFC 7208 evaluator; see spf_builtin.h.
 *
 * Shape: check_host() fetches and parses one record (one "frame"), then
 * eval_term() runs its mechanisms in order; include and redirect call
 * check_host() again with depth + 1. The counters of section 4.6.4 live
 * in struct eval and are shared by every frame of the check, which is
 * what makes the limits hold across includes and redirects.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dns.h"
#include "sbuf.h"
#include "dnsname.h"
#include "spf_builtin.h"
#include "spf_macro.h"
#include "spf_record.h"

#define MAX_DEPTH	(SPF_MAX_DNS_TERMS + 2)
#define MAX_MX_NAMES	10
#define MAX_PTR_NAMES	10
#define EXPAND_MAX	4096	/* a domain-spec's expansion before truncation */
#define EXPLAIN_MAX	4096

/* What one whole check shares. */
struct eval {
	struct dns_ctx *dns;
	const struct spf_builtin_in *in;
	struct spf_outcome *out;
	char sender[512];	/* s: local-part@domain */
	char local[256];
	const char *sender_domain;
	long long now;
	unsigned lookups;	/* DNS-querying terms evaluated */
	unsigned voids;
	long client_ms;		/* wait left for names the client chooses (lookup_client) */
};

/* One record being evaluated. */
struct frame {
	struct eval *ev;
	const char *domain;	/* <domain> of check_host() */
	struct spf_record rec;
	unsigned depth;
	int want_exp;		/* its exp= may explain a fail */
	int redirected;		/* the result came from redirect= */
	int step;		/* index in out->walk, or -1 */
	char why[256];		/* how this record came to its result */
};

static enum spf_result check_host(struct eval *ev, const char *domain,
    unsigned depth, const char *via, int want_exp, char *why, size_t whylen);

/* ---- small helpers ---- */

static void
copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
fwhy(struct frame *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fwhy(struct frame *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vformat(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
}

static void
lint(struct eval *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adds a warning for the sender, once. */
static void
lint(struct eval *ev, const char *fmt, ...)
{
	struct spf_outcome *o = ev->out;
	char buf[sizeof(o->lint[0])];
	va_list ap;
	unsigned i;

	va_start(ap, fmt);
	str_vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (i = 0; i < o->n_lint; i++)
		if (strcmp(o->lint[i], buf) == 0)
			return;
	if (o->n_lint < SPF_LINT_MAX)
		memcpy(o->lint[o->n_lint++], buf, sizeof(buf));
}

/* The term i of f's record as text. */
static void
term_str(const struct frame *f, size_t i, char *buf, size_t buflen)
{
	spf_term_text(&f->rec, i, buf, buflen);
}

/* Records the term that decided the result (kept if a deeper one did). */
static void
decided(struct frame *f, size_t i)
{
	struct spf_outcome *o = f->ev->out;

	if (o->term[0] != '\0')
		return;
	term_str(f, i, o->term, sizeof(o->term));
	copy_str(o->term_domain, sizeof(o->term_domain), f->domain);
}

/* A name the dns module may be asked for: any octet but NUL (RFC 2181
 * section 11), in labels and lengths as dnsname.h says. */
static int
lookupable(const char *name)
{
	return dns_name_ok(name, DNS_NAME_ANY | DNS_NAME_FINAL_DOT);
}

static int
same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* name is dom or a subdomain of it. */
static int
name_under(const char *name, const char *dom)
{
	size_t ln = strlen(name), ld = strlen(dom);

	if (ln > 0 && name[ln - 1] == '.')
		ln--;
	if (ld > 0 && dom[ld - 1] == '.')
		ld--;
	if (ln == ld)
		return strncasecmp(name, dom, ld) == 0;
	return ln > ld && name[ln - ld - 1] == '.' &&
	    strncasecmp(name + ln - ld, dom, ld) == 0;
}

static int
prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/* Whether an A/AAAA record holds the client's address within cidr. */
static int
rr_matches(const struct eval *ev, const struct dns_rr *rr, int cidr4, int cidr6)
{
	if (ev->in->v4)
		return rr->len == 4 && prefix_match(rr->data, ev->in->ip,
		    cidr4 < 0 ? 32 : cidr4);
	return rr->len == 16 && prefix_match(rr->data, ev->in->ip,
	    cidr6 < 0 ? 128 : cidr6);
}

static uint16_t
addr_type(const struct eval *ev)
{
	return ev->in->v4 ? DNS_T_A : DNS_T_AAAA;
}

/* ---- DNS ---- */

enum lk { LK_OK, LK_VOID, LK_TEMP };

/*
 * One lookup. LK_VOID: NXDOMAIN, no records of the type, or a name that
 * cannot exist (not asked); LK_TEMP: server failure, timeout (the
 * DNSTimeout budget included), a reply that cannot be used (malformed,
 * truncated over TCP, a CNAME loop: never read as "no records") or a
 * local failure. res must be freed in every case.
 */
static enum lk
lookup(struct eval *ev, const char *name, uint16_t type, struct dns_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!lookupable(name)) {
		res->status = DNS_NXDOMAIN;
		str_format(res->why, sizeof(res->why), "not a valid DNS name");
		return LK_VOID;
	}
	switch (dns_query_octets(ev->dns, name, type, res)) {
	case DNS_OK:
		return res->n > 0 ? LK_OK : LK_VOID;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		return LK_VOID;
	case DNS_BADNAME:
		return LK_VOID;
	case DNS_ERROR:
	case DNS_SERVFAIL:
	case DNS_TIMEOUT:
		break;
	}
	return LK_TEMP;
}

/*
 * A lookup of a name the connecting client chooses: its PTR (the client
 * runs its reverse zone) and the address records of the names that PTR
 * gives, for the ptr mechanism and the %{p} macro. RFC 7208 (5.5, 7.3)
 * makes their DNS errors "no match" / "unknown", never temperror, so a
 * client whose names never answer must not use up the time the domain's
 * own terms need either: else the next include, a or mx of the domain
 * gets "budget used up", SPF temperror for the domain's own MAIL FROM, and
 * DMARC temperror instead of the domain's p=reject. Together these
 * lookups wait at most client_ms (half the budget the evaluation began
 * with); an answer already there is still read when that share is gone.
 */
static enum lk
lookup_client(struct eval *ev, const char *name, uint16_t type, struct dns_result *res)
{
	long saved;
	enum lk k;

	if (ev->dns == NULL)
		return lookup(ev, name, type, res);
	saved = dns_share_enter(ev->dns, ev->client_ms);
	k = lookup(ev, name, type, res);
	dns_share_leave(ev->dns, saved, &ev->client_ms);
	return k;
}

/* Counts a void lookup; -1 (and why) when it is one too many. */
static int
count_void(struct frame *f, const char *what)
{
	struct eval *ev = f->ev;

	if (++ev->voids <= SPF_MAX_VOID)
		return 0;
	fwhy(f, "%s: more than %d void DNS lookups (RFC 7208 section 4.6.4)",
	    what, SPF_MAX_VOID);
	lint(ev, "over the limit of %d void lookups (names with no records): "
	    "receivers return permerror", SPF_MAX_VOID);
	return -1;
}

/* Counts a DNS-querying term; -1 (and why) when it is the 11th. */
static int
count_lookup(struct frame *f, const char *what)
{
	struct eval *ev = f->ev;

	if (++ev->lookups <= SPF_MAX_DNS_TERMS)
		return 0;
	fwhy(f, "%s: more than %d DNS-querying terms (RFC 7208 section 4.6.4)",
	    what, SPF_MAX_DNS_TERMS);
	lint(ev, "over the limit of %d DNS lookups: receivers such as Gmail "
	    "return permerror", SPF_MAX_DNS_TERMS);
	return -1;
}

/* The reverse-lookup name of the client. */
static void
reverse_name(const struct eval *ev, char *buf, size_t buflen)
{
	const unsigned char *ip = ev->in->ip;
	size_t n = 0;
	int i;

	if (ev->in->v4) {
		str_format(buf, buflen, "%u.%u.%u.%u.in-addr.arpa", ip[3], ip[2], ip[1], ip[0]);
		return;
	}
	for (i = 31; i >= 0 && n + 2 < buflen; i--) {
		buf[n++] = "0123456789abcdef"[(ip[i / 2] >> (i % 2 ? 0 : 4)) & 15];
		buf[n++] = '.';
	}
	str_format(buf + n, buflen - n, "ip6.arpa");
}

/* Whether name has an address record equal to the client's (errors: no). */
static int
name_validates(struct eval *ev, const char *name)
{
	struct dns_result res;
	size_t i;
	int ok = 0;

	if (lookup_client(ev, name, addr_type(ev), &res) == LK_OK)
		for (i = 0; i < res.n && !ok; i++)
			ok = rr_matches(ev, &res.rr[i], -1, -1);
	dns_result_free(&res);
	return ok;
}

/* ---- macros ---- */

/* %{p}: the validated domain name of the client (RFC 7208 section 7.3). */
static void
get_p(void *arg, char *buf, size_t buflen)
{
	struct frame *f = arg;
	struct eval *ev = f->ev;
	struct dns_result res;
	char rev[80];
	const char *best = NULL;
	int rank = 0, r;
	size_t i;

	reverse_name(ev, rev, sizeof(rev));
	if (lookup_client(ev, rev, DNS_T_PTR, &res) == LK_OK) {
		for (i = 0; i < res.n && i < MAX_PTR_NAMES && rank < 3; i++) {
			const char *name = (const char *)res.rr[i].data;

			r = same_name(name, f->domain) ? 3 : name_under(name, f->domain) ? 2 : 1;
			if (r > rank && name_validates(ev, name)) {
				best = name;
				rank = r;
			}
		}
	}
	if (best != NULL)
		copy_str(buf, buflen, best);
	dns_result_free(&res);
}

static void
vars_init(struct frame *f, struct spf_macro_vars *v)
{
	struct eval *ev = f->ev;

	memset(v, 0, sizeof(*v));
	v->sender = ev->sender;
	v->local = ev->local;
	v->sender_domain = ev->sender_domain;
	v->domain = f->domain;
	v->helo = ev->in->helo;
	v->receiver = ev->in->receiver;
	v->v4 = ev->in->v4;
	memcpy(v->ip, ev->in->ip, sizeof(v->ip));
	v->now = ev->now;
	v->get_p = get_p;
	v->p_arg = f;
}

/*
 * The target name of term i: its domain-spec expanded and cut to 253
 * octets, or the current domain. 0, or -1 (why set).
 */
static int
target_name(struct frame *f, size_t i, char *buf, size_t buflen)
{
	const struct spf_term *t = &f->rec.terms[i];
	struct spf_macro_vars v;
	struct sbuf b;
	int rc = 0;

	if (t->spec_len == 0) {
		copy_str(buf, buflen, f->domain);
		return 0;
	}
	vars_init(f, &v);
	sbuf_init(&b, EXPAND_MAX);
	if (spf_macro_expand(f->rec.text + t->spec, t->spec_len, 0, &v, &b) < 0) {
		fwhy(f, "macro expansion of '%.*s' failed", (int)(t->spec_len > 80 ?
		    80 : t->spec_len), f->rec.text + t->spec);
		rc = -1;
	} else {
		spf_domain_truncate(b.s);
		copy_str(buf, buflen, b.s);
	}
	sbuf_free(&b);
	return rc;
}

/* ---- mechanisms ---- */

/* Results of one mechanism: match, no match, or an error result. */
enum mres { M_NOMATCH = 0, M_MATCH, M_TEMP, M_PERM };

static enum mres
temp(struct frame *f, const char *term, const char *name, const struct dns_result *res)
{
	fwhy(f, "%s: DNS failure looking up %s: %s", term, name, res->why);
	return M_TEMP;
}

/* M_MATCH if one address record of res matches the client (with the CIDR lengths). */
static enum mres
any_addr_matches(struct frame *f, const struct spf_term *t, const struct dns_result *res)
{
	for (size_t k = 0; k < res->n; k++)
		if (rr_matches(f->ev, &res->rr[k], t->cidr4, t->cidr6))
			return M_MATCH;
	return M_NOMATCH;
}

/* A lookup that found nothing: no match, or permerror past the void limit. */
static enum mres
void_lookup(struct frame *f, const char *term)
{
	return count_void(f, term) < 0 ? M_PERM : M_NOMATCH;
}

static enum mres
mech_a(struct frame *f, size_t i, const char *term, const char *name)
{
	const struct spf_term *t = &f->rec.terms[i];
	struct dns_result res;
	enum mres m = M_NOMATCH;

	switch (lookup(f->ev, name, addr_type(f->ev), &res)) {
	case LK_OK:
		m = any_addr_matches(f, t, &res);
		break;
	case LK_VOID:
		m = void_lookup(f, term);
		break;
	case LK_TEMP:
		m = temp(f, term, name, &res);
		break;
	}
	dns_result_free(&res);
	return m;
}

/* The address records of one MX name, compared with the client. */
static enum mres
mx_host(struct frame *f, const struct spf_term *t, const char *term,
    const char *host)
{
	struct dns_result res;
	enum mres m = M_NOMATCH;

	if (host[0] == '\0')
		return M_NOMATCH;	/* null MX (RFC 7505) */
	switch (lookup(f->ev, host, addr_type(f->ev), &res)) {
	case LK_OK:
		m = any_addr_matches(f, t, &res);
		break;
	case LK_VOID:
		break;
	case LK_TEMP:
		m = temp(f, term, host, &res);
		break;
	}
	dns_result_free(&res);
	return m;
}

static enum mres
mech_mx(struct frame *f, size_t i, const char *term, const char *name)
{
	const struct spf_term *t = &f->rec.terms[i];
	struct dns_result res;
	enum mres m = M_NOMATCH;
	size_t k;

	switch (lookup(f->ev, name, DNS_T_MX, &res)) {
	case LK_OK:
		if (res.n > MAX_MX_NAMES) {
			fwhy(f, "%s: %s has %zu MX names, more than %d (RFC 7208 "
			    "section 4.6.4)", term, name, res.n, MAX_MX_NAMES);
			lint(f->ev, "%s: more than %d MX names for %s", term,
			    MAX_MX_NAMES, name);
			m = M_PERM;
			break;
		}
		for (k = 0; k < res.n && m == M_NOMATCH; k++)
			m = mx_host(f, t, term, (const char *)res.rr[k].data);
		break;
	case LK_VOID:
		m = void_lookup(f, term);
		break;
	case LK_TEMP:
		m = temp(f, term, name, &res);
		break;
	}
	dns_result_free(&res);
	return m;
}

static enum mres
mech_ptr(struct frame *f, const char *term, const char *name)
{
	struct dns_result res;
	char rev[80];
	enum mres m = M_NOMATCH;
	size_t k;

	reverse_name(f->ev, rev, sizeof(rev));
	switch (lookup_client(f->ev, rev, DNS_T_PTR, &res)) {
	case LK_OK:
		/* Only the first 10 names; each checked to resolve back. */
		for (k = 0; k < res.n && k < MAX_PTR_NAMES && m == M_NOMATCH; k++) {
			const char *host = (const char *)res.rr[k].data;

			if (name_under(host, name) && name_validates(f->ev, host))
				m = M_MATCH;
		}
		break;
	case LK_VOID:
		m = void_lookup(f, term);
		break;
	case LK_TEMP:
		break;		/* section 5.5: a DNS error is no match */
	}
	dns_result_free(&res);
	return m;
}

static enum mres
mech_exists(struct frame *f, const char *term, const char *name)
{
	struct dns_result res;
	enum mres m = M_NOMATCH;

	switch (lookup(f->ev, name, DNS_T_A, &res)) {
	case LK_OK:
		m = M_MATCH;
		break;
	case LK_VOID:
		m = void_lookup(f, term);
		break;
	case LK_TEMP:
		m = temp(f, term, name, &res);
		break;
	}
	dns_result_free(&res);
	return m;
}

static enum mres
mech_include(struct frame *f, const char *term, const char *name)
{
	char why[256];
	enum spf_result r;

	r = check_host(f->ev, name, f->depth + 1, "include", 0, why, sizeof(why));
	switch (r) {
	case SPF_RES_PASS:
		fwhy(f, "matched %s (%s)", term, why);
		return M_MATCH;
	case SPF_RES_FAIL:
	case SPF_RES_SOFTFAIL:
	case SPF_RES_NEUTRAL:
		f->ev->out->term[0] = '\0';	/* not the decision */
		return M_NOMATCH;
	case SPF_RES_TEMPERROR:
		fwhy(f, "%s: %s", term, why);
		return M_TEMP;
	case SPF_RES_NONE:
		fwhy(f, "%s: %s has no SPF record", term, name);
		return M_PERM;
	case SPF_RES_PERMERROR:
	case SPF_RES_COUNT:
		break;
	}
	fwhy(f, "%s: %s", term, why);
	return M_PERM;
}

static int
ip_matches(const struct frame *f, const struct spf_term *t)
{
	const struct eval *ev = f->ev;

	if (t->mech == SPF_M_IP4)
		return ev->in->v4 && prefix_match(t->addr, ev->in->ip,
		    t->cidr4 < 0 ? 32 : t->cidr4);
	return !ev->in->v4 && prefix_match(t->addr, ev->in->ip,
	    t->cidr6 < 0 ? 128 : t->cidr6);
}

/* Evaluates mechanism i. */
static enum mres
eval_mech(struct frame *f, size_t i)
{
	const struct spf_term *t = &f->rec.terms[i];
	char term[128], name[256];

	term_str(f, i, term, sizeof(term));
	switch (t->mech) {
	case SPF_M_ALL:
		return M_MATCH;
	case SPF_M_IP4:
	case SPF_M_IP6:
		return ip_matches(f, t) ? M_MATCH : M_NOMATCH;
	default:
		break;
	}
	if (count_lookup(f, term) < 0)
		return M_PERM;
	if (target_name(f, i, name, sizeof(name)) < 0)
		return M_PERM;
	switch (t->mech) {
	case SPF_M_INCLUDE:	return mech_include(f, term, name);
	case SPF_M_A:		return mech_a(f, i, term, name);
	case SPF_M_MX:		return mech_mx(f, i, term, name);
	case SPF_M_PTR:		return mech_ptr(f, term, name);
	case SPF_M_EXISTS:	return mech_exists(f, term, name);
	default:		break;
	}
	return M_NOMATCH;
}

static enum spf_result
qual_result(char q)
{
	switch (q) {
	case '-':	return SPF_RES_FAIL;
	case '~':	return SPF_RES_SOFTFAIL;
	case '?':	return SPF_RES_NEUTRAL;
	default:	return SPF_RES_PASS;
	}
}

/* ---- exp= ---- */

/* The explanation of f's fail, into out->explanation; failures: none. */
static void
explain(struct frame *f)
{
	struct spf_outcome *o = f->ev->out;
	struct spf_macro_vars v;
	struct dns_result res;
	struct sbuf b;
	char name[256];
	const char *txt;
	size_t len;

	if (target_name(f, (size_t)f->rec.exp, name, sizeof(name)) < 0)
		return;
	if (lookup(f->ev, name, DNS_T_TXT, &res) == LK_OK && res.n == 1) {
		txt = (const char *)res.rr[0].data;
		len = res.rr[0].len;
		vars_init(f, &v);
		sbuf_init(&b, EXPLAIN_MAX);
		if (spf_macro_check(txt, len, 1, NULL) == 0 &&
		    spf_macro_expand(txt, len, 1, &v, &b) == 0)
			copy_str(o->explanation, sizeof(o->explanation), b.s);
		sbuf_free(&b);
	}
	dns_result_free(&res);
}

/* ---- one record ---- */

/*
 * Warnings for the sender about f's record. ?all is flagged only outside
 * includes (want_exp): inside one it only means "no match".
 */
static void
lint_record(struct frame *f)
{
	size_t i;
	char term[128];

	for (i = 0; i < f->rec.n; i++) {
		const struct spf_term *t = &f->rec.terms[i];

		if (t->kind != SPF_T_MECH)
			continue;
		term_str(f, i, term, sizeof(term));
		if (t->mech == SPF_M_PTR)
			lint(f->ev, "%s: '%s' is deprecated (RFC 7208 section 5.5): slow, "
			    "and some receivers ignore it", f->domain, term);
		else if (t->mech == SPF_M_ALL && t->qual == '+')
			lint(f->ev, "%s: '%s' lets every host on the Internet pass",
			    f->domain, term);
		else if (t->mech == SPF_M_ALL && t->qual == '?' && f->want_exp)
			lint(f->ev, "%s: '%s' gives neutral for every other host: "
			    "the record protects nothing", f->domain, term);
	}
}

/*
 * Fetches and parses f->domain's record. 0, or -1 with *r and why set
 * (none, temperror or permerror).
 */
static int
fetch(struct frame *f, enum spf_result *r)
{
	struct spf_outcome *o = f->ev->out;
	struct dns_result res;
	const struct dns_rr *found = NULL;
	size_t i, n = 0;
	char err[256];
	int rc = -1;

	switch (lookup(f->ev, f->domain, DNS_T_TXT, &res)) {
	case LK_TEMP:
		fwhy(f, "DNS failure looking up the SPF record of %s: %s", f->domain, res.why);
		*r = SPF_RES_TEMPERROR;
		goto out;
	case LK_VOID:
		fwhy(f, "no SPF record at %s (%s)", f->domain,
		    res.status == DNS_NXDOMAIN ? "no such domain" : "no TXT records");
		*r = SPF_RES_NONE;
		goto out;
	case LK_OK:
		break;
	}
	for (i = 0; i < res.n; i++) {
		if (spf_record_is_spf((const char *)res.rr[i].data, res.rr[i].len)) {
			found = &res.rr[i];
			n++;
		}
	}
	if (n != 1) {
		*r = n == 0 ? SPF_RES_NONE : SPF_RES_PERMERROR;
		if (n == 0)
			fwhy(f, "no SPF record at %s (no TXT record starts with v=spf1)", f->domain);
		else
			fwhy(f, "%s has %zu SPF records; RFC 7208 section 4.5 allows one", f->domain, n);
		if (n > 1)
			lint(f->ev, "%s publishes %zu SPF records: receivers return permerror",
			    f->domain, n);
		goto out;
	}
	if (f->step >= 0) {
		struct spf_walk_step *w = &o->walk[f->step];

		str_format(w->record, sizeof(w->record), "%.*s",
		    (int)found->len, (const char *)found->data);
		if (found->len >= sizeof(w->record))
			memcpy(w->record + sizeof(w->record) - 4, "...", 4);
	}
	if (spf_record_parse((const char *)found->data, found->len, &f->rec, err, sizeof(err)) < 0) {
		fwhy(f, "%s: %s", f->domain, err);
		*r = SPF_RES_PERMERROR;
		goto out;
	}
	lint_record(f);
	rc = 0;
out:
	dns_result_free(&res);
	return rc;
}

/* Runs f's mechanisms, then its redirect=; the record's result. */
static enum spf_result
run_record(struct frame *f)
{
	char term[128], name[256], why[256];
	enum spf_result r;
	size_t i;

	for (i = 0; i < f->rec.n; i++) {
		if (f->rec.terms[i].kind != SPF_T_MECH)
			continue;
		switch (eval_mech(f, i)) {
		case M_NOMATCH:
			continue;
		case M_MATCH:
			decided(f, i);
			if (f->rec.terms[i].mech != SPF_M_INCLUDE) {
				term_str(f, i, term, sizeof(term));
				fwhy(f, "matched %s", term);
			}
			return qual_result(f->rec.terms[i].qual);
		case M_TEMP:
			decided(f, i);
			return SPF_RES_TEMPERROR;
		case M_PERM:
			decided(f, i);
			return SPF_RES_PERMERROR;
		}
	}
	if (f->rec.redirect < 0) {
		fwhy(f, "no mechanism matched (default neutral)");
		return SPF_RES_NEUTRAL;
	}
	i = (size_t)f->rec.redirect;
	term_str(f, i, term, sizeof(term));
	if (count_lookup(f, term) < 0 || target_name(f, i, name, sizeof(name)) < 0) {
		decided(f, i);
		return SPF_RES_PERMERROR;
	}
	f->redirected = 1;	/* this record's exp= is not used (section 6.2) */
	r = check_host(f->ev, name, f->depth + 1, "redirect", f->want_exp, why, sizeof(why));
	if (r == SPF_RES_NONE) {
		decided(f, i);
		fwhy(f, "%s: %s has no SPF record", term, name);
		return SPF_RES_PERMERROR;
	}
	fwhy(f, "%s: %s", term, why);
	return r;
}

static int
walk_add(struct eval *ev, unsigned depth, const char *via, const char *domain)
{
	struct spf_outcome *o = ev->out;
	struct spf_walk_step *w;

	if (o->n_walk >= SPF_WALK_MAX) {
		o->walk_truncated = 1;
		return -1;
	}
	w = &o->walk[o->n_walk];
	memset(w, 0, sizeof(*w));
	w->depth = depth;
	copy_str(w->via, sizeof(w->via), via);
	copy_str(w->domain, sizeof(w->domain), domain);
	return (int)o->n_walk++;
}

/* check_host() of RFC 7208 section 4 for one domain. */
static enum spf_result
check_host(struct eval *ev, const char *domain, unsigned depth,
    const char *via, int want_exp, char *why, size_t whylen)
{
	struct frame f;
	enum spf_result r;

	memset(&f, 0, sizeof(f));
	f.ev = ev;
	f.domain = domain;
	f.depth = depth;
	f.want_exp = want_exp;
	f.rec.redirect = f.rec.exp = -1;
	f.step = walk_add(ev, depth, via, domain);
	if (depth > MAX_DEPTH) {	/* not reached: the term limit comes first */
		fwhy(&f, "include/redirect nested too deep");
		r = SPF_RES_PERMERROR;
	} else if (fetch(&f, &r) == 0) {
		r = run_record(&f);
		if (r == SPF_RES_FAIL && want_exp && f.rec.exp >= 0 && !f.redirected)
			explain(&f);
	}
	if (f.step >= 0) {
		ev->out->walk[f.step].result = r;
		copy_str(ev->out->walk[f.step].why, sizeof(ev->out->walk[0].why), f.why);
	}
	copy_str(why, whylen, f.why);
	spf_record_free(&f.rec);
	return r;
}

enum spf_result
spf_builtin_check(struct dns_ctx *dns, const struct spf_builtin_in *in,
    struct spf_outcome *out)
{
	struct eval ev;
	const char *at;
	size_t n;

	memset(&ev, 0, sizeof(ev));
	ev.dns = dns;
	ev.in = in;
	ev.out = out;
	ev.now = (long long)time(NULL);
	ev.client_ms = dns != NULL ? spf_client_share_ms(dns->budget_ms) : 0;
	/* Section 4.3: no local-part means "postmaster". */
	at = strrchr(in->sender, '@');
	n = at != NULL ? (size_t)(at - in->sender) : 0;
	ev.sender_domain = at != NULL ? at + 1 : in->sender;
	if (n == 0 || n >= sizeof(ev.local))
		copy_str(ev.local, sizeof(ev.local), "postmaster");
	else
		str_format(ev.local, sizeof(ev.local), "%.*s", (int)n, in->sender);
	str_format(ev.sender, sizeof(ev.sender), "%s@%s", ev.local, ev.sender_domain);
	copy_str(out->engine, sizeof(out->engine), "builtin");
	out->explanation[0] = '\0';
	out->result = check_host(&ev, in->domain, 0, "", 1, out->why, sizeof(out->why));
	out->dns_lookups = ev.lookups;
	out->void_lookups = ev.voids;
	if (out->result != SPF_RES_FAIL)
		out->explanation[0] = '\0';
	return out->result;
}
