/*
 * dmarc: RFC 7489 / RFC 9989 evaluation behind dmarc.h.
 *
 * Invariants:
 * - every name compared or looked up here went through
 *   domain_normalize() (lower-case A-labels, no trailing dot, valid
 *   label lengths), so string equality is name equality;
 * - records are parsed from the bytes of the answer with their length;
 *   values kept are copied into fixed fields with explicit bounds and
 *   truncation noted;
 * - the only shared state is struct dmarc, written in dmarc_new() and
 *   read-only afterwards (libpsl lookups on a loaded context do not
 *   modify it).
 *
 * Why libidn2 and not psl_str_to_utf8lower(): DMARC needs the A-label form
 * (it is what DNS is asked and what DKIM d= carries, RFC 6376 §3.5), while
 * psl_str_to_utf8lower() produces lower-case U-labels. Debian's libpsl is
 * built against libidn2 (psl_get_version() says "+libidn2"), and its
 * suffix list (public_suffix_list.dafsa) matches both forms, so one
 * conversion with idn2_to_ascii_8z() serves DNS, alignment and libpsl.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libpsl.h>

#include "dmarc.h"
#include "domain.h"

struct dmarc {
	enum dmarc_discovery discovery;
	psl_ctx_t *psl;		/* PSL mode only */
	int psl_is_builtin;	/* psl is psl_builtin(): do not free */
	char psl_source[256];
};

/* One name asked during discovery or a tree walk. */
struct level {
	char name[DMARC_DOMAIN_MAX];
	size_t n;		/* DMARC records there (valid or broken) */
	int broken;		/* n == 1 and it broke the grammar */
	struct dmarc_record rec;	/* when n == 1 and !broken */
	char note[200];		/* parse notes, or the syntax reason */
};

struct walk {
	size_t nlv;
	struct level lv[DMARC_WALK_MAX];
};

/* --- small helpers --- */

static void
addf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Appends to a NUL-terminated buffer; silently truncates. */
static void
addf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static void
copystr(char *dst, size_t dstlen, const char *src)
{
	snprintf(dst, dstlen, "%s", src);
}

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* Case-insensitive compare of [p, p+n) with a lower-case keyword. */
static int
word_is(const char *p, size_t n, const char *kw)
{
	size_t i;

	if (strlen(kw) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (tolower((unsigned char)p[i]) != kw[i])
			return 0;
	return 1;
}

static size_t
count_labels(const char *name)
{
	size_t n = 1;

	for (; *name != '\0'; name++)
		if (*name == '.')
			n++;
	return n;
}

static const char *
parent_of(const char *name)
{
	const char *dot = strchr(name, '.');

	return dot != NULL ? dot + 1 : NULL;
}

/* The suffix of name made of its last k labels (name itself if fewer). */
static const char *
last_labels(const char *name, size_t k)
{
	size_t n = count_labels(name);

	while (n > k && name != NULL) {
		name = parent_of(name);
		n--;
	}
	return name;
}

/* child equals parent or is below it */
static int
at_or_below(const char *child, const char *parent)
{
	size_t c = strlen(child), p = strlen(parent);

	if (c == p)
		return strcmp(child, parent) == 0;
	return c > p && child[c - p - 1] == '.' &&
	    strcmp(child + c - p, parent) == 0;
}

const char *
dmarc_res_str(enum dmarc_res r)
{
	static const char *const names[DMARC_RES_COUNT] = {
		"none", "pass", "fail", "temperror", "permerror",
	};

	return (unsigned)r < DMARC_RES_COUNT ? names[r] : "permerror";
}

const char *
dmarc_policy_str(enum dmarc_policy p)
{
	static const char *const names[DMARC_POLICY_COUNT] = {
		"unset", "none", "quarantine", "reject",
	};

	return (unsigned)p < DMARC_POLICY_COUNT ? names[p] : "unset";
}

/* --- domain names --- */

int
dmarc_domain_normalize(const char *in, char *out, size_t outlen,
    char *why, size_t whylen)
{
	return domain_normalize(in, out, outlen, why, whylen);
}

/* --- record parsing (RFC 7489 §6.3, §6.4; RFC 9989 tags) --- */

static int
parse_policy(const char *v, size_t n, enum dmarc_policy *out)
{
	if (word_is(v, n, "none"))
		*out = DMARC_POLICY_NONE;
	else if (word_is(v, n, "quarantine"))
		*out = DMARC_POLICY_QUARANTINE;
	else if (word_is(v, n, "reject"))
		*out = DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

static int
parse_align(const char *v, size_t n, enum dmarc_align *out)
{
	if (word_is(v, n, "r"))
		*out = DMARC_ALIGN_RELAXED;
	else if (word_is(v, n, "s"))
		*out = DMARC_ALIGN_STRICT;
	else
		return -1;
	return 0;
}

/* 1..maxdigits decimal digits, value <= max */
static int
parse_uint(const char *v, size_t n, size_t maxdigits, unsigned long max,
    unsigned long *out)
{
	unsigned long x = 0;
	size_t i;

	if (n == 0 || n > maxdigits)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -1;
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	if (x > max)
		return -1;
	*out = x;
	return 0;
}

/* One fo item: 0, 1, d or s; returns the index past it, or 0 if none. */
static size_t
fo_item(const char *v, size_t i, size_t n)
{
	return i < n && strchr("01dsDS", v[i]) != NULL ? i + 1 : 0;
}

/* One rf item: a keyword (ALPHA *ALNUMPUNC); the index past it, or 0. */
static size_t
rf_item(const char *v, size_t i, size_t n)
{
	if (i >= n || !isalpha((unsigned char)v[i]))
		return 0;
	while (i < n && (isalnum((unsigned char)v[i]) || v[i] == '-' || v[i] == '_'))
		i++;
	return i;
}

/* A colon-separated list of items, blanks around colons allowed (fo, rf). */
static int
valid_colon_list(const char *v, size_t n, size_t (*item)(const char *, size_t, size_t))
{
	size_t i = 0;

	for (;;) {
		while (i < n && is_wsp(v[i]))
			i++;
		if ((i = item(v, i, n)) == 0)
			return 0;
		while (i < n && is_wsp(v[i]))
			i++;
		if (i == n)
			return 1;
		if (v[i] != ':')
			return 0;
		i++;
	}
}

/* One URI of a rua/ruf list: scheme ":" something, optional "!size". */
static int
valid_uri(const char *u, size_t n)
{
	size_t i = 0, colon;

	while (n > 0 && is_wsp(u[n - 1]))
		n--;
	while (i < n && is_wsp(u[i]))
		i++;
	u += i;
	n -= i;
	if (n == 0 || !isalpha((unsigned char)u[0]))
		return 0;
	for (i = 1; i < n && u[i] != ':'; i++)
		if (!(isalnum((unsigned char)u[i]) || u[i] == '+' || u[i] == '-' || u[i] == '.'))
			return 0;
	if (i >= n)
		return 0;
	colon = i;
	for (i = colon + 1; i < n; i++)
		if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f)
			return 0;
	return n > colon + 1 && u[colon + 1] != '!';
}

static int
valid_uri_list(const char *v, size_t n)
{
	size_t s = 0, i;
	int any = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || v[i] == ',') {
			if (valid_uri(v + s, i - s))
				any = 1;
			s = i + 1;
		}
	}
	return any;
}

static void
copy_value(char *dst, size_t dstlen, const char *v, size_t n,
    const char *tag, char *why, size_t whylen)
{
	if (n >= dstlen) {
		addf(why, whylen, "%s%s= truncated to %zu octets", *why ? "; " : "",
		    tag, dstlen - 1);
		n = dstlen - 1;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static void
note_bad(struct dmarc_record *r, unsigned bit, const char *tag,
    const char *v, size_t n, char *why, size_t whylen)
{
	r->invalid |= bit;
	addf(why, whylen, "%s%s=%.*s is not valid", *why ? "; " : "", tag,
	    (int)(n > 40 ? 40 : n), v);
}

static void
record_defaults(struct dmarc_record *r)
{
	memset(r, 0, sizeof(*r));
	r->adkim = DMARC_ALIGN_RELAXED;
	r->aspf = DMARC_ALIGN_RELAXED;
	r->pct = 100;
	r->ri = 86400;
	r->psd = DMARC_PSD_U;
	copystr(r->fo, sizeof(r->fo), "0");
}

static const struct {
	const char *name;
	unsigned bit;
} known_tags[] = {
	{ "p", DMARC_TAG_P }, { "sp", DMARC_TAG_SP }, { "np", DMARC_TAG_NP },
	{ "adkim", DMARC_TAG_ADKIM }, { "aspf", DMARC_TAG_ASPF },
	{ "pct", DMARC_TAG_PCT }, { "rua", DMARC_TAG_RUA },
	{ "ruf", DMARC_TAG_RUF }, { "fo", DMARC_TAG_FO }, { "t", DMARC_TAG_T },
	{ "psd", DMARC_TAG_PSD }, { "rf", DMARC_TAG_RF }, { "ri", DMARC_TAG_RI },
};

/* Applies one known tag's value. */
static void
apply_tag(struct dmarc_record *r, unsigned bit, const char *tag,
    const char *v, size_t n, char *why, size_t whylen)
{
	unsigned long x;

	switch (bit) {
	case DMARC_TAG_P:
		r->p_present = 1;
		if (parse_policy(v, n, &r->p) < 0)
			note_bad(r, bit, tag, v, n, why, whylen);
		break;
	case DMARC_TAG_SP:
		if (parse_policy(v, n, &r->sp) < 0)
			note_bad(r, bit, tag, v, n, why, whylen);
		break;
	case DMARC_TAG_NP:
		if (parse_policy(v, n, &r->np) < 0)
			note_bad(r, bit, tag, v, n, why, whylen);
		break;
	case DMARC_TAG_ADKIM:
		if (parse_align(v, n, &r->adkim) < 0)
			note_bad(r, bit, tag, v, n, why, whylen);
		break;
	case DMARC_TAG_ASPF:
		if (parse_align(v, n, &r->aspf) < 0)
			note_bad(r, bit, tag, v, n, why, whylen);
		break;
	case DMARC_TAG_PCT:
		if (parse_uint(v, n, 9, 100, &x) < 0)
			note_bad(r, bit, tag, v, n, why, whylen);
		else
			r->pct = (unsigned)x;
		break;
	case DMARC_TAG_RI:
		if (parse_uint(v, n, 10, 0xffffffffUL, &x) < 0)
			note_bad(r, bit, tag, v, n, why, whylen);
		else
			r->ri = x;
		break;
	case DMARC_TAG_T:
		if (word_is(v, n, "y"))
			r->testing = 1;
		else if (!word_is(v, n, "n"))
			note_bad(r, bit, tag, v, n, why, whylen);
		break;
	case DMARC_TAG_PSD:
		if (word_is(v, n, "y"))
			r->psd = DMARC_PSD_Y;
		else if (word_is(v, n, "n"))
			r->psd = DMARC_PSD_N;
		else if (!word_is(v, n, "u"))
			note_bad(r, bit, tag, v, n, why, whylen);
		break;
	case DMARC_TAG_FO:
		if (!valid_colon_list(v, n, fo_item) || n >= sizeof(r->fo))
			note_bad(r, bit, tag, v, n, why, whylen);
		else
			copy_value(r->fo, sizeof(r->fo), v, n, tag, why, whylen);
		break;
	case DMARC_TAG_RF:
		if (!valid_colon_list(v, n, rf_item))
			note_bad(r, bit, tag, v, n, why, whylen);
		break;
	case DMARC_TAG_RUA:
		copy_value(r->rua, sizeof(r->rua), v, n, tag, why, whylen);
		if (!(r->rua_valid = valid_uri_list(v, n)))
			note_bad(r, bit, tag, v, n, why, whylen);
		break;
	case DMARC_TAG_RUF:
		copy_value(r->ruf, sizeof(r->ruf), v, n, tag, why, whylen);
		if (!(r->ruf_valid = valid_uri_list(v, n)))
			note_bad(r, bit, tag, v, n, why, whylen);
		break;
	}
}

/* "v" *WSP "=" *WSP "DMARC1" followed by end, WSP or ";": returns the
 * offset after "DMARC1", or 0 when this is not a DMARC record. */
static size_t
version_end(const char *t, size_t len)
{
	size_t i = 0;

	if (len == 0 || (t[0] != 'v' && t[0] != 'V'))
		return 0;
	for (i = 1; i < len && is_wsp(t[i]); i++)
		;
	if (i >= len || t[i] != '=')
		return 0;
	for (i++; i < len && is_wsp(t[i]); i++)
		;
	if (len - i < 6 || memcmp(t + i, "DMARC1", 6) != 0)
		return 0;
	i += 6;
	if (i < len && !is_wsp(t[i]) && t[i] != ';')
		return 0;
	return i;
}

#define MAX_UNKNOWN_SEEN 16

int
dmarc_record_parse(const char *t, size_t len, struct dmarc_record *r,
    char *why, size_t whylen)
{
	char unknown[MAX_UNKNOWN_SEEN][33];
	size_t nunknown = 0, i, k, pos;

	record_defaults(r);
	if (whylen > 0)
		why[0] = '\0';
	if ((pos = version_end(t, len)) == 0)
		return DMARC_PARSE_NOT_DMARC;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(why, whylen, "DMARC record syntax: control byte 0x%02x", c);
			return DMARC_PARSE_SYNTAX;
		}
	}
	while (pos < len && is_wsp(t[pos]))
		pos++;
	if (pos < len && t[pos] != ';') {
		snprintf(why, whylen, "DMARC record syntax: no ';' after v=DMARC1");
		return DMARC_PARSE_SYNTAX;
	}
	while (pos < len) {
		size_t s, e, eq, ns, ne, vs, ve;
		unsigned bit = 0;
		const char *tagname = NULL;

		pos++;	/* past ';' */
		s = pos;
		while (pos < len && t[pos] != ';')
			pos++;
		e = pos;
		while (s < e && is_wsp(t[s]))
			s++;
		while (e > s && is_wsp(t[e - 1]))
			e--;
		if (s == e)
			continue;	/* empty term: ";;" or a trailing ";" */
		for (eq = s; eq < e && t[eq] != '='; eq++)
			;
		if (eq == e) {
			snprintf(why, whylen, "DMARC record syntax: term without '=': \"%.*s\"",
			    (int)(e - s > 40 ? 40 : e - s), t + s);
			return DMARC_PARSE_SYNTAX;
		}
		ns = s;
		ne = eq;
		while (ne > ns && is_wsp(t[ne - 1]))
			ne--;
		vs = eq + 1;
		ve = e;
		while (vs < ve && is_wsp(t[vs]))
			vs++;
		/* tag-name = ALPHA *ALNUMPUNC (RFC 6376 §3.2) */
		if (ne == ns || !isalpha((unsigned char)t[ns])) {
			snprintf(why, whylen, "DMARC record syntax: bad tag name \"%.*s\"",
			    (int)(ne - ns > 40 ? 40 : ne - ns), t + ns);
			return DMARC_PARSE_SYNTAX;
		}
		for (k = ns; k < ne; k++)
			if (!isalnum((unsigned char)t[k]) && t[k] != '_') {
				snprintf(why, whylen, "DMARC record syntax: bad tag name \"%.*s\"",
				    (int)(ne - ns > 40 ? 40 : ne - ns), t + ns);
				return DMARC_PARSE_SYNTAX;
			}
		if (word_is(t + ns, ne - ns, "v")) {
			snprintf(why, whylen, "DMARC record syntax: v= given twice");
			return DMARC_PARSE_SYNTAX;
		}
		for (k = 0; k < sizeof(known_tags) / sizeof(known_tags[0]); k++)
			if (word_is(t + ns, ne - ns, known_tags[k].name)) {
				bit = known_tags[k].bit;
				tagname = known_tags[k].name;
			}
		if (bit != 0) {
			if (r->present & bit) {
				snprintf(why, whylen, "DMARC record syntax: tag %s= given twice",
				    tagname);
				return DMARC_PARSE_SYNTAX;
			}
			r->present |= bit;
			apply_tag(r, bit, tagname, t + vs, ve - vs, why, whylen);
			continue;
		}
		/* unknown tag: ignored, but a duplicate still breaks the
		 * tag-list (checked for the first MAX_UNKNOWN_SEEN names of
		 * up to 32 octets) */
		for (k = 0; k < nunknown; k++)
			if (word_is(t + ns, ne - ns, unknown[k])) {
				snprintf(why, whylen, "DMARC record syntax: tag %s= given twice",
				    unknown[k]);
				return DMARC_PARSE_SYNTAX;
			}
		if (nunknown < MAX_UNKNOWN_SEEN && ne - ns < sizeof(unknown[0])) {
			for (k = 0; k < ne - ns; k++)
				unknown[nunknown][k] = (char)tolower((unsigned char)t[ns + k]);
			unknown[nunknown][ne - ns] = '\0';
			nunknown++;
		}
	}
	return DMARC_PARSE_OK;
}

/* --- DNS --- */

static int
dns_trouble(enum dns_status st)
{
	return dns_status_temporary(st);
}

/*
 * Asks _dmarc.NAME and fills lv. Returns 0, or -1 on DNS trouble with the
 * reason in why.
 */
static int
lookup_level(struct dns_ctx *dns, const char *name, struct level *lv,
    char *why, size_t whylen)
{
	char q[DMARC_DOMAIN_MAX + 8];
	struct dns_result res;
	size_t i;

	memset(lv, 0, sizeof(*lv));
	copystr(lv->name, sizeof(lv->name), name);
	if (strlen(name) + 7 > 253)
		return 0;	/* the _dmarc name cannot exist */
	snprintf(q, sizeof(q), "_dmarc.%s", name);
	dns_query(dns, q, DNS_T_TXT, &res);
	if (dns_trouble(res.status)) {
		snprintf(why, whylen, "DNS %s for _dmarc.%s: %s",
		    dns_status_str(res.status), name, res.why);
		dns_result_free(&res);
		return -1;
	}
	for (i = 0; res.status == DNS_OK && i < res.n; i++) {
		struct dmarc_record rec;
		char note[sizeof(lv->note)];
		int rc;

		rc = dmarc_record_parse((const char *)res.rr[i].data, res.rr[i].len,
		    &rec, note, sizeof(note));
		if (rc == DMARC_PARSE_NOT_DMARC)
			continue;
		if (++lv->n == 1) {
			lv->broken = rc == DMARC_PARSE_SYNTAX;
			lv->rec = rec;
			copystr(lv->note, sizeof(lv->note), note);
		}
	}
	dns_result_free(&res);
	return 0;
}

/* The next tree-walk target after cur, or NULL at the top (RFC 9989:
 * 8 or more labels jump to the last 7, else one label less). */
static const char *
walk_next(const char *cur)
{
	size_t n = count_labels(cur);

	if (n >= 8)
		return last_labels(cur, 7);
	return parent_of(cur);
}

static int
level_usable(const struct level *lv)
{
	return lv->n == 1 && !lv->broken;
}

/*
 * RFC 9989 DNS tree walk from dom: asks each target until a usable record
 * with psd=n, or psd=y at a name other than dom, or the top. Returns 0, or
 * -1 on DNS trouble (why set).
 */
static int
tree_walk(struct dns_ctx *dns, const char *dom, struct walk *w,
    char *why, size_t whylen)
{
	const char *cur = dom;

	w->nlv = 0;
	while (cur != NULL && w->nlv < DMARC_WALK_MAX) {
		struct level *lv = &w->lv[w->nlv++];

		if (lookup_level(dns, cur, lv, why, whylen) < 0)
			return -1;
		if (level_usable(lv) && (lv->rec.psd == DMARC_PSD_N ||
		    (lv->rec.psd == DMARC_PSD_Y && cur != dom)))
			break;
		cur = walk_next(cur);
	}
	return 0;
}

/* Org domain from a finished walk (RFC 9989 organizational domain rules). */
static void
walk_org(const struct walk *w, const char *dom, char *org, size_t orglen)
{
	const struct level *last = NULL;
	size_t i;

	for (i = 0; i < w->nlv; i++) {
		const struct level *lv = &w->lv[i];

		if (!level_usable(lv))
			continue;
		if (lv->rec.psd == DMARC_PSD_N) {
			copystr(org, orglen, lv->name);
			return;
		}
		if (lv->rec.psd == DMARC_PSD_Y && i > 0) {
			copystr(org, orglen,
			    last_labels(dom, count_labels(lv->name) + 1));
			return;
		}
		last = lv;
	}
	copystr(org, orglen, last != NULL ? last->name : dom);
}

static void
psl_org(const struct dmarc *d, const char *dom, char *org, size_t orglen)
{
	const char *r = psl_registrable_domain(d->psl, dom);

	/* NULL: dom is itself a public suffix; it is its own org domain */
	copystr(org, orglen, r != NULL ? r : dom);
}

/* Org domain of a normalized name: 0, or DMARC_ORG_ETEMP. */
static int
org_of(const struct dmarc *d, struct dns_ctx *dns, const char *dom,
    char *org, size_t orglen, char *why, size_t whylen)
{
	struct walk w;

	if (d->discovery == DMARC_DISCOVERY_PSL) {
		psl_org(d, dom, org, orglen);
		return 0;
	}
	if (dns == NULL) {
		snprintf(why, whylen, "tree walk without DNS");
		return DMARC_ORG_ETEMP;
	}
	if (tree_walk(dns, dom, &w, why, whylen) < 0)
		return DMARC_ORG_ETEMP;
	walk_org(&w, dom, org, orglen);
	return 0;
}

/* --- public: context --- */

struct dmarc *
dmarc_new(enum dmarc_discovery disc, char *why, size_t whylen)
{
	struct dmarc *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	d->discovery = disc;
	if (disc == DMARC_DISCOVERY_TREEWALK) {
		copystr(d->psl_source, sizeof(d->psl_source), "none (tree walk)");
		return d;
	}
	if ((d->psl = psl_latest(NULL)) == NULL) {
		snprintf(why, whylen, "libpsl: no public suffix list (neither %s nor a built-in list)",
		    psl_dist_filename() ? psl_dist_filename() : "a distribution file");
		free(d);
		return NULL;
	}
	/* psl_latest() hands back psl_builtin()'s static context when it
	 * found no newer file: that one must not be freed. */
	if (d->psl == psl_builtin()) {
		d->psl_is_builtin = 1;
		snprintf(d->psl_source, sizeof(d->psl_source),
		    "libpsl builtin (%s, from %s)", psl_get_version(),
		    psl_builtin_filename() ? psl_builtin_filename() : "?");
	} else {
		snprintf(d->psl_source, sizeof(d->psl_source), "file %s",
		    psl_dist_filename() ? psl_dist_filename() : "(libpsl distribution file)");
	}
	return d;
}

void
dmarc_free(struct dmarc *d)
{
	if (d == NULL)
		return;
	if (d->psl != NULL && !d->psl_is_builtin)
		psl_free(d->psl);
	free(d);
}

const char *
dmarc_psl_source(const struct dmarc *d)
{
	return d->psl_source;
}

int
dmarc_org_domain(const struct dmarc *d, struct dns_ctx *dns,
    const char *domain, char *out, size_t outlen)
{
	char dom[DMARC_DOMAIN_MAX], org[DMARC_DOMAIN_MAX], why[200];
	int rc;

	if (outlen > 0)
		out[0] = '\0';
	if (dmarc_domain_normalize(domain, dom, sizeof(dom), why, sizeof(why)) < 0)
		return DMARC_ORG_EINVAL;
	if ((rc = org_of(d, dns, dom, org, sizeof(org), why, sizeof(why))) < 0)
		return rc;
	if (strlen(org) >= outlen)
		return DMARC_ORG_EINVAL;
	copystr(out, outlen, org);
	return 0;
}

/*
 * Whether cand (normalized) aligns with from (normalized, org domain
 * from_org) in mode: 1, 0, or -1 on DNS trouble (why set).
 */
static int
aligned_norm(const struct dmarc *d, struct dns_ctx *dns, const char *from,
    const char *from_org, const char *cand, enum dmarc_align mode,
    char *why, size_t whylen)
{
	char org[DMARC_DOMAIN_MAX];

	if (strcmp(cand, from) == 0)
		return 1;
	if (mode == DMARC_ALIGN_STRICT)
		return 0;
	/* the org domain of a name is the name or one of its ancestors, so
	 * only names at or below from_org can share it */
	if (!at_or_below(cand, from_org))
		return 0;
	if (org_of(d, dns, cand, org, sizeof(org), why, whylen) < 0)
		return -1;
	return strcmp(org, from_org) == 0;
}

int
dmarc_aligned(const struct dmarc *d, struct dns_ctx *dns,
    const char *from_domain, const char *other, enum dmarc_align mode)
{
	char from[DMARC_DOMAIN_MAX], cand[DMARC_DOMAIN_MAX];
	char org[DMARC_DOMAIN_MAX], why[200];

	if (dmarc_domain_normalize(from_domain, from, sizeof(from), why, sizeof(why)) < 0 ||
	    dmarc_domain_normalize(other, cand, sizeof(cand), why, sizeof(why)) < 0)
		return -1;
	if (org_of(d, dns, from, org, sizeof(org), why, sizeof(why)) < 0)
		return -1;
	return aligned_norm(d, dns, from, org, cand, mode, why, sizeof(why));
}

/* --- the check --- */

/* Collects the distinct, normalized From domains; 0 or -1 (permerror). */
static int
one_from_domain(const struct dmarc_input *in, struct dmarc_outcome *out)
{
	char doms[DMARC_MAX_FROM][DMARC_DOMAIN_MAX];
	char why[160];
	size_t n = 0, i, k;

	if (in->n_from > DMARC_MAX_FROM) {
		snprintf(out->why, sizeof(out->why),
		    "message has %zu From addresses (over %d)", in->n_from, DMARC_MAX_FROM);
		out->n_from = in->n_from;
		return -1;
	}
	for (i = 0; i < in->n_from; i++) {
		const char *raw = in->from_domains[i];

		if (dmarc_domain_normalize(raw, doms[n], sizeof(doms[n]), why, sizeof(why)) < 0) {
			snprintf(out->why, sizeof(out->why),
			    "From domain \"%.*s\" is not a valid domain name: %s",
			    raw ? (int)strnlen(raw, 80) : 0, raw ? raw : "", why);
			return -1;
		}
		for (k = 0; k < n; k++)
			if (strcmp(doms[k], doms[n]) == 0)
				break;
		if (k == n)
			n++;
	}
	out->n_from = n;
	if (n == 0) {
		snprintf(out->why, sizeof(out->why), "message has no From domain");
		return -1;
	}
	if (n > 1) {
		snprintf(out->why, sizeof(out->why), "message has %zu From addresses (", n);
		for (k = 0; k < n; k++)
			addf(out->why, sizeof(out->why), "%s%s", k ? ", " : "", doms[k]);
		addf(out->why, sizeof(out->why), "); DMARC needs exactly one From domain (RFC 7489 section 6.6.1)");
		return -1;
	}
	copystr(out->from_domain, sizeof(out->from_domain), doms[0]);
	return 0;
}

/* 1 exists, 0 does not (RFC 9989: NXDOMAIN/NODATA for A, AAAA, MX), -1 DNS trouble */
static int
domain_exists(struct dns_ctx *dns, const char *dom)
{
	static const uint16_t types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX };
	struct dns_result res;
	enum dns_status st;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		st = dns_query(dns, dom, types[i], &res);
		dns_result_free(&res);
		if (st == DNS_OK)
			return 1;
		if (st == DNS_NXDOMAIN || st == DNS_BADNAME)
			return 0;	/* the name holds no records of any type */
		if (st != DNS_NODATA)
			return -1;
	}
	return 0;
}

/*
 * Finds the policy record. Fills out->record_domain, n_records, record,
 * org_domain. Returns 0 (maybe no record), or -1 with out->result set.
 */
static int
discover(const struct dmarc *d, struct dns_ctx *dns, struct dmarc_outcome *out,
    struct level *found)
{
	struct walk w;
	size_t i;
	const char *from = out->from_domain;
	char why[200];

	memset(found, 0, sizeof(*found));
	if (d->discovery == DMARC_DISCOVERY_PSL) {
		psl_org(d, from, out->org_domain, sizeof(out->org_domain));
		w.nlv = 0;
		if (lookup_level(dns, from, &w.lv[w.nlv++], why, sizeof(why)) < 0)
			goto temp;
		if (w.lv[0].n == 0 && strcmp(out->org_domain, from) != 0 &&
		    lookup_level(dns, out->org_domain, &w.lv[w.nlv++], why, sizeof(why)) < 0)
			goto temp;
	} else {
		if (tree_walk(dns, from, &w, why, sizeof(why)) < 0)
			goto temp;
		walk_org(&w, from, out->org_domain, sizeof(out->org_domain));
	}
	for (i = 0; i < w.nlv; i++)
		if (w.lv[i].n > 0) {
			*found = w.lv[i];
			copystr(out->record_domain, sizeof(out->record_domain), found->name);
			out->n_records = found->n;
			return 0;
		}
	snprintf(out->why, sizeof(out->why), "no DMARC record at _dmarc.%s", from);
	for (i = 1; i < w.nlv; i++)
		addf(out->why, sizeof(out->why), "%s_dmarc.%s",
		    i + 1 == w.nlv ? " or " : ", ", w.lv[i].name);
	return 0;
temp:
	out->result = DMARC_RES_TEMPERROR;
	snprintf(out->why, sizeof(out->why), "DMARC record lookup: %s", why);
	return -1;
}

/*
 * Picks the policy that applies. Returns 0, 1 when the np existence check
 * met DNS trouble (policy falls back to sp/p), or -1 for no usable policy
 * (out->result/why set).
 */
static int
pick_policy(struct dns_ctx *dns, struct dmarc_outcome *out, char *notes, size_t noteslen)
{
	const struct dmarc_record *r = &out->record;
	unsigned bad = r->invalid & (DMARC_TAG_P | DMARC_TAG_SP | DMARC_TAG_NP);
	int ex;

	if (bad) {
		const char *t = (bad & DMARC_TAG_P) ? "p" : (bad & DMARC_TAG_SP) ? "sp" : "np";

		if (!r->rua_valid) {
			out->result = DMARC_RES_PERMERROR;
			snprintf(out->why, sizeof(out->why),
			    "invalid %s= in the DMARC record at _dmarc.%s and no valid rua=:"
			    " no policy applies (RFC 7489 section 6.6.3)", t, out->record_domain);
			return -1;
		}
		addf(notes, noteslen, "%sinvalid %s= with a valid rua=: acts as p=none"
		    " (RFC 7489 section 6.6.3)", *notes ? "; " : "", t);
		out->policy = DMARC_POLICY_NONE;
		out->policy_tag = "p";
		return 0;
	}
	if (!r->p_present)
		addf(notes, noteslen, "%sno p= tag: read as p=none (RFC 9989; RFC 7489"
		    " requires p=)", *notes ? "; " : "");
	if (strcmp(out->record_domain, out->from_domain) == 0) {
		out->policy = r->p_present ? r->p : DMARC_POLICY_NONE;
		out->policy_tag = "p";
		return 0;
	}
	ex = 1;
	if (r->present & DMARC_TAG_NP) {
		ex = out->from_exists = domain_exists(dns, out->from_domain);
		if (ex == 0) {
			out->policy = r->np;
			out->policy_tag = "np";
			return 0;
		}
		if (ex < 0)
			addf(notes, noteslen, "%scould not tell whether %s exists (DNS):"
			    " np= not applied", *notes ? "; " : "", out->from_domain);
	}
	if (r->present & DMARC_TAG_SP) {
		out->policy = r->sp;
		out->policy_tag = "sp";
	} else {
		out->policy = r->p_present ? r->p : DMARC_POLICY_NONE;
		out->policy_tag = "p";
	}
	return ex < 0 ? 1 : 0;
}

/*
 * Runs the SPF and DKIM alignment checks. Returns 1 when no aligned pass
 * was found but one may still come: an identifier whose result is
 * temperror (pending on DNS) is aligned, or its alignment could not be
 * told (DNS trouble in a tree walk); twhy says which. Identifiers that
 * are not aligned never matter, whatever their result.
 */
static int
align_all(const struct dmarc *d, struct dns_ctx *dns, const struct dmarc_input *in,
    struct dmarc_outcome *out, char *twhy, size_t twhylen)
{
	char cand[DMARC_DOMAIN_MAX], why[200], awhy[200];
	int temp = 0, a;
	size_t i;

	if ((in->spf_result == SPF_RES_PASS || in->spf_result == SPF_RES_TEMPERROR) &&
	    in->spf_domain != NULL &&
	    dmarc_domain_normalize(in->spf_domain, cand, sizeof(cand), why, sizeof(why)) == 0) {
		awhy[0] = '\0';
		a = aligned_norm(d, dns, out->from_domain, out->org_domain, cand,
		    out->record.aspf, awhy, sizeof(awhy));
		if (a > 0 && in->spf_result == SPF_RES_PASS) {
			out->spf_aligned = 1;
			copystr(out->spf_domain, sizeof(out->spf_domain), cand);
		} else if (a != 0 && !temp) {
			temp = 1;
			if (in->spf_result == SPF_RES_TEMPERROR)
				snprintf(twhy, twhylen, "SPF temperror for aligned %.120s", cand);
			else
				copystr(twhy, twhylen, awhy);
		}
	}
	for (i = 0; in->dkim != NULL && i < in->n_dkim && !out->dkim_aligned; i++) {
		enum dkim_res r = in->dkim[i].result;

		if ((r != DKIM_RES_PASS && r != DKIM_RES_TEMPERROR) ||
		    dmarc_domain_normalize(in->dkim[i].domain, cand, sizeof(cand),
		    why, sizeof(why)) < 0)
			continue;
		awhy[0] = '\0';
		a = aligned_norm(d, dns, out->from_domain, out->org_domain, cand,
		    out->record.adkim, awhy, sizeof(awhy));
		if (a > 0 && r == DKIM_RES_PASS) {
			out->dkim_aligned = 1;
			copystr(out->dkim_domain, sizeof(out->dkim_domain), cand);
		} else if (a != 0 && !temp) {
			temp = 1;
			if (r == DKIM_RES_TEMPERROR)
				snprintf(twhy, twhylen, "DKIM temperror for aligned d=%.120s", cand);
			else
				copystr(twhy, twhylen, awhy);
		}
	}
	return temp;
}

static void
describe_fail(const struct dmarc_input *in, struct dmarc_outcome *out)
{
	size_t i, npass = 0;

	snprintf(out->why, sizeof(out->why), "no aligned pass (aspf=%s, adkim=%s): SPF %s",
	    out->record.aspf == DMARC_ALIGN_STRICT ? "s" : "r",
	    out->record.adkim == DMARC_ALIGN_STRICT ? "s" : "r",
	    spf_result_str(in->spf_result));
	if (in->spf_domain != NULL && *in->spf_domain != '\0')
		addf(out->why, sizeof(out->why), " for %.80s", in->spf_domain);
	for (i = 0; in->dkim != NULL && i < in->n_dkim; i++)
		if (in->dkim[i].result == DKIM_RES_PASS)
			addf(out->why, sizeof(out->why), "%s%.80s", npass++ ? ", " : ", DKIM pass for d=",
			    in->dkim[i].domain);
	if (npass == 0)
		addf(out->why, sizeof(out->why), ", no passing DKIM signature");
	addf(out->why, sizeof(out->why), "; From domain %s", out->from_domain);
}

void
dmarc_warm(const struct dmarc *d, struct dns_ctx *dns, const char *from_domain,
    const char *const *ids, size_t n_ids)
{
	struct dmarc_outcome *out = calloc(1, sizeof(*out));
	struct level found;
	char notes[256] = "", cand[DMARC_DOMAIN_MAX], org[DMARC_DOMAIN_MAX], why[200];
	size_t i;

	if (out == NULL || dns == NULL ||
	    dmarc_domain_normalize(from_domain, out->from_domain, sizeof(out->from_domain),
	    why, sizeof(why)) < 0) {
		free(out);
		return;
	}
	if (discover(d, dns, out, &found) == 0 && out->n_records == 1 && !found.broken) {
		out->record = found.rec;
		pick_policy(dns, out, notes, sizeof(notes));	/* the np= existence check */
	}
	for (i = 0; d->discovery == DMARC_DISCOVERY_TREEWALK && out->org_domain[0] && i < n_ids; i++)
		if (ids[i] != NULL &&
		    dmarc_domain_normalize(ids[i], cand, sizeof(cand), why, sizeof(why)) == 0 &&
		    strcmp(cand, out->from_domain) != 0 && at_or_below(cand, out->org_domain))
			org_of(d, dns, cand, org, sizeof(org), why, sizeof(why));
	free(out);
}

enum dmarc_res
dmarc_check(const struct dmarc *d, struct dns_ctx *dns,
    const struct dmarc_input *in, struct dmarc_outcome *out)
{
	struct level found;
	char notes[256] = "", twhy[200] = "";
	int np_unknown, temp;

	memset(out, 0, sizeof(*out));
	out->discovery = d->discovery;
	out->from_exists = -1;
	out->policy_tag = "";
	out->pct = 100;
	if (one_from_domain(in, out) < 0 || dns == NULL) {
		if (dns == NULL && out->why[0] == '\0')
			snprintf(out->why, sizeof(out->why), "no DNS context");
		return out->result = DMARC_RES_PERMERROR;
	}
	if (discover(d, dns, out, &found) < 0)
		return out->result;
	if (out->n_records == 0)
		return out->result = DMARC_RES_NONE;
	if (out->n_records > 1) {
		snprintf(out->why, sizeof(out->why), "%zu DMARC records at _dmarc.%s"
		    " (exactly one is allowed; RFC 7489 section 6.6.3)", out->n_records,
		    out->record_domain);
		return out->result = DMARC_RES_PERMERROR;
	}
	if (found.broken) {
		snprintf(out->why, sizeof(out->why), "%s (at _dmarc.%s)", found.note,
		    out->record_domain);
		return out->result = DMARC_RES_PERMERROR;
	}
	out->have_record = 1;
	out->record = found.rec;
	out->pct = found.rec.pct;
	out->testing = found.rec.testing;
	copystr(notes, sizeof(notes), found.note);
	if ((np_unknown = pick_policy(dns, out, notes, sizeof(notes))) < 0)
		return out->result;
	temp = align_all(d, dns, in, out, twhy, sizeof(twhy));
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_RES_PASS;
		if (out->dkim_aligned)
			snprintf(out->why, sizeof(out->why), "aligned DKIM pass for d=%s",
			    out->dkim_domain);
		else
			snprintf(out->why, sizeof(out->why), "aligned SPF pass for %s",
			    out->spf_domain);
		if (out->dkim_aligned && out->spf_aligned)
			addf(out->why, sizeof(out->why), " and SPF pass for %s", out->spf_domain);
	} else if (temp) {
		out->result = DMARC_RES_TEMPERROR;
		snprintf(out->why, sizeof(out->why), "no aligned pass yet, but one may come: %s", twhy);
	} else if (np_unknown) {
		out->result = DMARC_RES_TEMPERROR;
		snprintf(out->why, sizeof(out->why), "fails, but whether np= applies is"
		    " unknown: DNS trouble checking that %s exists", out->from_domain);
	} else {
		out->result = DMARC_RES_FAIL;
		describe_fail(in, out);
	}
	if (notes[0] != '\0')
		addf(out->why, sizeof(out->why), "; note: %s", notes);
	return out->result;
}
