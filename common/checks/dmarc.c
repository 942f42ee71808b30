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
#include "sbuf.h"

struct dmarc {
	enum dmarc_standard standard;
	enum dmarc_discovery discovery;
	psl_ctx_t *psl;		/* NULL in tree-walk mode when no list could be loaded */
	int psl_is_builtin;	/* psl is psl_builtin(): do not free */
	char psl_source[256];
};

/* One name asked during discovery or a tree walk. */
struct level {
	char name[DMARC_DOMAIN_MAX];
	size_t n;		/* DMARC records there (valid or broken) */
	int broken;		/* n == 1 and it broke the grammar (rec holds its good terms) */
	struct dmarc_record rec;	/* when n == 1 */
	char note[200];		/* parse notes, or the syntax reason */
	char discarded[300];	/* a TXT record there that was discarded, and why */
};

struct walk {
	size_t nlv;
	struct level lv[DMARC_WALK_MAX];
};

/* A walk with no levels, or NULL. Only the count is set: lookup_level
 * zeroes and fills each level it is handed, and only counted levels are
 * read, so the levels (~16 KB; a walk or two per message) are not zeroed
 * here in vain. */
static struct walk *
walk_new(void)
{
	struct walk *w = malloc(sizeof(*w));

	if (w != NULL)
		w->nlv = 0;
	return w;
}

/*
 * Who asks: the DNS context, and the message's memo of the levels read
 * so far (NULL: none). A level read once (an answer, not DNS trouble)
 * is taken from the memo after that: dmarc_warm's walks at the end of
 * headers serve dmarc_check's at the end of the message, and the walks
 * within one check serve each other.
 */
#define MEMO_LEVELS 12

struct dmarc_memo {
	size_t n;
	struct level lv[MEMO_LEVELS];
};

struct asker {
	struct dns_ctx *dns;
	struct dmarc_memo *memo;
};

struct dmarc_memo *
dmarc_memo_new(void)
{
	struct dmarc_memo *m = malloc(sizeof(*m));

	if (m != NULL)
		m->n = 0;	/* levels are filled as they are kept */
	return m;
}

void
dmarc_memo_free(struct dmarc_memo *m)
{
	free(m);
}

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
	str_vformat(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static void
copystr(char *dst, size_t dstlen, const char *src)
{
	str_copy(dst, dstlen, src);
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
dmarc_standard_str(enum dmarc_standard s)
{
	return s == DMARC_STD_RFC7489 ? "rfc7489" : "rfc9989";
}

const char *
dmarc_discovery_str(enum dmarc_discovery d)
{
	return d == DMARC_DISCOVERY_PSL ? "psl" : "treewalk";
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

/* Notes the first grammar problem of a record (the term is left out). */
static void
syntax_problem(struct dmarc_record *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
syntax_problem(struct dmarc_record *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->syntax[0] != '\0')
		return;
	n = str_format(r->syntax, sizeof(r->syntax), "DMARC record syntax: ");
	va_start(ap, fmt);
	str_vformat(r->syntax + n, sizeof(r->syntax) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Why a TXT record that is not a DMARC record is not one, when it looks
 * like an attempt at one; "" otherwise. */
static void
not_dmarc_why(const char *t, size_t len, char *why, size_t whylen)
{
	size_t i = 0;

	if (whylen == 0)
		return;
	why[0] = '\0';
	while (i < len && (is_wsp(t[i]) || t[i] == '\r' || t[i] == '\n'))
		i++;
	if (i > 0 && version_end(t + i, len - i) > 0) {
		str_format(why, whylen, "it starts with white space, not with v=DMARC1");
		return;
	}
	if (len - i >= 1 && (t[i] == 'v' || t[i] == 'V')) {
		size_t k = i + 1;

		while (k < len && is_wsp(t[k]))
			k++;
		if (k < len && t[k] == '=') {
			for (k++; k < len && is_wsp(t[k]); k++)
				;
			if (len - k >= 6 && word_is(t + k, 6, "dmarc1") && memcmp(t + k, "DMARC1", 6) != 0)
				str_format(why, whylen, "its version is \"%.6s\": it must be v=DMARC1,"
				    " in capitals (RFC 9989 4.7)", t + k);
			else if (len - k >= 5 && word_is(t + k, 5, "dmarc"))
				str_format(why, whylen, "its version \"%.*s\" is not DMARC1",
				    (int)(len - k > 12 ? 12 : len - k), t + k);
			return;
		}
	}
	for (size_t k = i; k + 6 <= len; k++)
		if (memcmp(t + k, "DMARC1", 6) == 0 || word_is(t + k, 6, "dmarc1")) {
			str_format(why, whylen, "v=DMARC1 is not its first tag (RFC 9989 4.7:"
			    " a record must start with it)");
			return;
		}
}

int
dmarc_record_parse(const char *t, size_t len, struct dmarc_record *r,
    char *why, size_t whylen)
{
	char unknown[MAX_UNKNOWN_SEEN][33];
	size_t nunknown = 0, k, pos;

	record_defaults(r);
	if (whylen > 0)
		why[0] = '\0';
	if ((pos = version_end(t, len)) == 0) {
		not_dmarc_why(t, len, why, whylen);
		return DMARC_PARSE_NOT_DMARC;
	}
	while (pos < len && is_wsp(t[pos]))
		pos++;
	if (pos < len && t[pos] != ';') {
		/* "v=DMARC1 p=none": the version term itself is broken */
		r->version_broken = 1;
		syntax_problem(r, "no ';' after v=DMARC1");
		while (pos < len && t[pos] != ';')
			pos++;
	}
	while (pos < len) {
		size_t s, e, eq, ns, ne, vs, ve, c;
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
		for (c = s; c < e; c++)
			if (((unsigned char)t[c] < 0x20 && t[c] != '\t') || t[c] == 0x7f)
				break;
		if (c < e) {
			syntax_problem(r, "control byte 0x%02x", (unsigned char)t[c]);
			continue;
		}
		for (eq = s; eq < e && t[eq] != '='; eq++)
			;
		if (eq == e) {
			syntax_problem(r, "term without '=': \"%.*s\"",
			    (int)(e - s > 40 ? 40 : e - s), t + s);
			continue;
		}
		ns = s;
		ne = eq;
		while (ne > ns && is_wsp(t[ne - 1]))
			ne--;
		vs = eq + 1;
		ve = e;
		while (vs < ve && is_wsp(t[vs]))
			vs++;
		/* tag-name = ALPHA *ALNUMPUNC (RFC 6376 section 3.2) */
		for (k = ns; k < ne; k++)
			if (!isalnum((unsigned char)t[k]) && t[k] != '_')
				break;
		if (ne == ns || !isalpha((unsigned char)t[ns]) || k < ne) {
			syntax_problem(r, "bad tag name \"%.*s\"",
			    (int)(ne - ns > 40 ? 40 : ne - ns), t + ns);
			continue;
		}
		if (word_is(t + ns, ne - ns, "v")) {
			syntax_problem(r, "v= given twice");
			continue;
		}
		for (k = 0; k < sizeof(known_tags) / sizeof(known_tags[0]); k++)
			if (word_is(t + ns, ne - ns, known_tags[k].name)) {
				bit = known_tags[k].bit;
				tagname = known_tags[k].name;
			}
		if (bit != 0) {
			if (r->present & bit) {
				syntax_problem(r, "tag %s= given twice", tagname);
				continue;
			}
			r->present |= bit;
			apply_tag(r, bit, tagname, t + vs, ve - vs, why, whylen);
			continue;
		}
		/* unknown tag: ignored, but a duplicate still breaks the
		 * tag-list (checked for the first MAX_UNKNOWN_SEEN names of
		 * up to 32 octets) */
		for (k = 0; k < nunknown; k++)
			if (word_is(t + ns, ne - ns, unknown[k]))
				break;
		if (k < nunknown) {
			syntax_problem(r, "tag %s= given twice", unknown[k]);
			continue;
		}
		if (nunknown < MAX_UNKNOWN_SEEN && ne - ns < sizeof(unknown[0])) {
			for (k = 0; k < ne - ns; k++)
				unknown[nunknown][k] = (char)tolower((unsigned char)t[ns + k]);
			unknown[nunknown][ne - ns] = '\0';
			nunknown++;
		}
	}
	if (r->syntax[0] != '\0') {
		char notes[256];

		str_format(notes, sizeof(notes), "%s", whylen > 0 ? why : "");
		str_format(why, whylen, "%s%s%s", r->syntax, notes[0] ? "; " : "", notes);
		return DMARC_PARSE_SYNTAX;
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
lookup_level(const struct asker *a, const char *name, struct level *lv,
    char *why, size_t whylen)
{
	struct dmarc_memo *memo = a->memo;
	char q[DMARC_DOMAIN_MAX + 8];
	struct dns_result res;
	size_t i;

	for (i = 0; memo != NULL && i < memo->n; i++)
		if (strcmp(memo->lv[i].name, name) == 0) {
			*lv = memo->lv[i];
			return 0;
		}
	memset(lv, 0, sizeof(*lv));
	copystr(lv->name, sizeof(lv->name), name);
	if (strlen(name) + 7 > 253)
		return 0;	/* the _dmarc name cannot exist */
	memcpy(q, "_dmarc.", 7);
	str_copy(q + 7, sizeof(q) - 7, name);
	dns_query(a->dns, q, DNS_T_TXT, &res);
	if (dns_trouble(res.status)) {
		str_format(why, whylen, "DNS %s for _dmarc.%s: %s",
		    dns_status_str(res.status), name, res.why);
		dns_result_free(&res);
		return -1;
	}
	for (i = 0; res.status == DNS_OK && i < res.n; i++) {
		const char *txt = (const char *)res.rr[i].data;
		struct dmarc_record rec;
		char note[sizeof(lv->note)];
		int rc;

		rc = dmarc_record_parse(txt, res.rr[i].len, &rec, note, sizeof(note));
		if (rc == DMARC_PARSE_NOT_DMARC) {
			if (note[0] != '\0' && lv->discarded[0] == '\0') {
				char shown[64];
				size_t k, m = res.rr[i].len < 60 ? res.rr[i].len : 60;

				/* the sender's text, printable only */
				for (k = 0; k < m; k++)
					shown[k] = (unsigned char)txt[k] < 0x20 || (unsigned char)txt[k] >= 0x7f ||
					    txt[k] == '"' ? '?' : txt[k];
				shown[m] = '\0';
				addf(lv->discarded, sizeof(lv->discarded),
				    "\"%s%s\" at _dmarc.%.80s is not a DMARC record: %s", shown,
				    res.rr[i].len > 60 ? "..." : "", name, note);
			}
			continue;
		}
		if (++lv->n == 1) {
			lv->broken = rc == DMARC_PARSE_SYNTAX;
			lv->rec = rec;
			copystr(lv->note, sizeof(lv->note), note);
		}
	}
	dns_result_free(&res);
	if (memo != NULL && memo->n < MEMO_LEVELS)
		memo->lv[memo->n++] = *lv;
	return 0;
}

/*
 * What a name's records mean under std: 0 nothing to use (none, or all
 * discarded), 1 the one usable record, -1 an error that stops discovery
 * (RFC 7489: several records, or a broken one). RFC 9989 discards
 * several records and a record whose version term is broken, and uses a
 * record with other grammar problems (its good terms).
 */
static int
level_state(enum dmarc_standard std, const struct level *lv)
{
	if (lv->n == 0)
		return 0;
	if (std == DMARC_STD_RFC7489)
		return lv->n == 1 && !lv->broken ? 1 : -1;
	return lv->n == 1 && !lv->rec.version_broken ? 1 : 0;
}

/* The walk's notion of a valid record: one usable record at the name (a
 * name with several, or a broken one under 7489, is passed over). */
static int
level_valid(enum dmarc_standard std, const struct level *lv)
{
	return level_state(std, lv) == 1;
}

/* Says why a name's records were discarded (RFC 9989), into out's
 * discarded fields unless one is there. */
static void
note_discarded(enum dmarc_standard std, const struct level *lv, struct dmarc_outcome *out)
{
	char *s = out->discarded;
	size_t len = sizeof(out->discarded);

	if (s[0] != '\0')
		return;
	if (std == DMARC_STD_RFC9989 && lv->n > 1) {
		str_format(s, len, "%zu DMARC records at _dmarc.%s were all discarded"
		    " (RFC 9989 4.10: a name must publish exactly one)", lv->n, lv->name);
		out->discarded_records = lv->n;
	} else if (std == DMARC_STD_RFC9989 && lv->n == 1 && lv->rec.version_broken) {
		addf(s, len, "the record at _dmarc.%s was discarded: %s", lv->name, lv->rec.syntax);
	} else if (lv->discarded[0] != '\0') {
		addf(s, len, "%s", lv->discarded);
	} else {
		return;
	}
	copystr(out->discarded_domain, sizeof(out->discarded_domain), lv->name);
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

/*
 * RFC 9989 DNS tree walk from dom: asks each target until a valid record
 * with psd=n or psd=y (at any name, the starting one included: steps 2
 * and 6 of section 4.10), or the top. Returns 0, or -1 on DNS trouble
 * (why set).
 */
static int
tree_walk(enum dmarc_standard std, const struct asker *a, const char *dom, struct walk *w,
    char *why, size_t whylen)
{
	const char *cur = dom;

	w->nlv = 0;
	while (cur != NULL && w->nlv < DMARC_WALK_MAX) {
		struct level *lv = &w->lv[w->nlv++];

		if (lookup_level(a, cur, lv, why, whylen) < 0)
			return -1;
		if (level_valid(std, lv) && lv->rec.psd != DMARC_PSD_U)
			break;
		cur = walk_next(cur);
	}
	return 0;
}

/*
 * Org domain from a finished walk (RFC 9989 4.10.2): the name with psd=n;
 * one label below a psd=y name other than the start; else the name with
 * the fewest labels that has a valid record; else the start. *psd (may be
 * NULL) gets the index of the psd=y level, or -1.
 */
static void
walk_org(enum dmarc_standard std, const struct walk *w, const char *dom, char *org,
    size_t orglen, int *psd)
{
	const struct level *last = NULL;
	size_t i;

	if (psd != NULL)
		*psd = -1;
	for (i = 0; i < w->nlv; i++) {
		const struct level *lv = &w->lv[i];

		if (!level_valid(std, lv))
			continue;
		if (lv->rec.psd == DMARC_PSD_N) {
			copystr(org, orglen, lv->name);
			return;
		}
		if (lv->rec.psd == DMARC_PSD_Y && i > 0) {
			copystr(org, orglen,
			    last_labels(dom, count_labels(lv->name) + 1));
			if (psd != NULL)
				*psd = (int)i;
			return;
		}
		last = lv;
	}
	copystr(org, orglen, last != NULL ? last->name : dom);
}

static void
psl_org(const struct dmarc *d, const char *dom, char *org, size_t orglen)
{
	const char *r = d->psl != NULL ? psl_registrable_domain(d->psl, dom) : dom;

	/* NULL: dom is itself a public suffix; it is its own org domain */
	copystr(org, orglen, r != NULL ? r : dom);
}

/* Org domain of a normalized name: 0, or DMARC_ORG_ETEMP. */
static int
org_of(const struct dmarc *d, const struct asker *a, const char *dom,
    char *org, size_t orglen, char *why, size_t whylen)
{
	struct walk w;

	if (d->discovery == DMARC_DISCOVERY_PSL) {
		psl_org(d, dom, org, orglen);
		return 0;
	}
	if (a->dns == NULL) {
		str_format(why, whylen, "tree walk without DNS");
		return DMARC_ORG_ETEMP;
	}
	if (tree_walk(d->standard, a, dom, &w, why, whylen) < 0)
		return DMARC_ORG_ETEMP;
	walk_org(d->standard, &w, dom, org, orglen, NULL);
	return 0;
}

/* --- public: context --- */

struct dmarc *
dmarc_new(enum dmarc_standard std, enum dmarc_discovery disc, char *why, size_t whylen)
{
	struct dmarc *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		str_format(why, whylen, "out of memory");
		return NULL;
	}
	d->standard = std;
	d->discovery = disc;
	if ((d->psl = psl_latest(NULL)) == NULL) {
		if (disc == DMARC_DISCOVERY_TREEWALK) {
			copystr(d->psl_source, sizeof(d->psl_source),
			    "none (tree walk; no public suffix list to compare with)");
			return d;
		}
		str_format(why, whylen, "libpsl: no public suffix list (neither %s nor a built-in list)",
		    psl_dist_filename() ? psl_dist_filename() : "a distribution file");
		free(d);
		return NULL;
	}
	/* psl_latest() hands back psl_builtin()'s static context when it
	 * found no newer file: that one must not be freed. */
	if (d->psl == psl_builtin()) {
		d->psl_is_builtin = 1;
		str_format(d->psl_source, sizeof(d->psl_source),
		    "libpsl builtin (%s, from %s)", psl_get_version(),
		    psl_builtin_filename() ? psl_builtin_filename() : "?");
	} else {
		str_format(d->psl_source, sizeof(d->psl_source), "file %s",
		    psl_dist_filename() ? psl_dist_filename() : "(libpsl distribution file)");
	}
	if (disc == DMARC_DISCOVERY_TREEWALK) {
		char src[sizeof(d->psl_source)];

		copystr(src, sizeof(src), d->psl_source);
		d->psl_source[0] = '\0';
		addf(d->psl_source, sizeof(d->psl_source),
		    "none (tree walk; compared with the public suffix list, %s)", src);
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
	const struct asker a = { dns, NULL };
	char dom[DMARC_DOMAIN_MAX], org[DMARC_DOMAIN_MAX], why[200];
	int rc;

	if (outlen > 0)
		out[0] = '\0';
	if (dmarc_domain_normalize(domain, dom, sizeof(dom), why, sizeof(why)) < 0)
		return DMARC_ORG_EINVAL;
	if ((rc = org_of(d, &a, dom, org, sizeof(org), why, sizeof(why))) < 0)
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
aligned_norm(const struct dmarc *d, const struct asker *a, const char *from,
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
	if (org_of(d, a, cand, org, sizeof(org), why, whylen) < 0)
		return -1;
	return strcmp(org, from_org) == 0;
}

int
dmarc_aligned(const struct dmarc *d, struct dns_ctx *dns,
    const char *from_domain, const char *other, enum dmarc_align mode)
{
	const struct asker a = { dns, NULL };
	char from[DMARC_DOMAIN_MAX], cand[DMARC_DOMAIN_MAX];
	char org[DMARC_DOMAIN_MAX], why[200];

	if (dmarc_domain_normalize(from_domain, from, sizeof(from), why, sizeof(why)) < 0 ||
	    dmarc_domain_normalize(other, cand, sizeof(cand), why, sizeof(why)) < 0)
		return -1;
	if (org_of(d, &a, from, org, sizeof(org), why, sizeof(why)) < 0)
		return -1;
	return aligned_norm(d, &a, from, org, cand, mode, why, sizeof(why));
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
		str_format(out->why, sizeof(out->why),
		    "message has %zu From addresses (over %d)", in->n_from, DMARC_MAX_FROM);
		out->n_from = in->n_from;
		return -1;
	}
	for (i = 0; i < in->n_from; i++) {
		const char *raw = in->from_domains[i];

		if (dmarc_domain_normalize(raw, doms[n], sizeof(doms[n]), why, sizeof(why)) < 0) {
			str_format(out->why, sizeof(out->why),
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
		str_format(out->why, sizeof(out->why), "message has no From domain");
		return -1;
	}
	if (n > 1) {
		str_format(out->why, sizeof(out->why), "message has %zu From addresses (", n);
		for (k = 0; k < n; k++)
			addf(out->why, sizeof(out->why), "%s%s", k ? ", " : "", doms[k]);
		addf(out->why, sizeof(out->why), "); DMARC needs exactly one From domain (RFC 7489 section 6.6.1)");
		return -1;
	}
	copystr(out->from_domain, sizeof(out->from_domain), doms[0]);
	return 0;
}

/*
 * Whether dom exists, for np=: 1 exists, 0 does not, -1 DNS trouble.
 * RFC 9989 (3.2.13, RFC 8020): NXDOMAIN for a query of the name means it
 * does not exist; any other answer, NODATA too, means it does. RFC 7489
 * with RFC 9091's np=: NXDOMAIN or NODATA for A, AAAA and MX.
 */
static int
domain_exists(enum dmarc_standard std, struct dns_ctx *dns, const char *dom)
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
		if (std == DMARC_STD_RFC9989)
			return 1;	/* NODATA: the name exists */
	}
	return 0;
}

/* The index of the level named name in w, or -1. */
static int
level_named(const struct walk *w, const char *name)
{
	for (size_t i = 0; i < w->nlv; i++)
		if (strcmp(w->lv[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Whether a walk met any valid record. */
static int
walk_has_record(enum dmarc_standard std, const struct walk *w)
{
	for (size_t i = 0; i < w->nlv; i++)
		if (level_valid(std, &w->lv[i]))
			return 1;
	return 0;
}

/*
 * Finds the policy record. Fills out->record_domain, n_records, org_domain,
 * discarded and *found. *seen: whether the names looked at held any valid
 * record. Returns 0 (maybe no record), or -1 with out->result set.
 */
static int
discover(const struct dmarc *d, const struct asker *a, struct dmarc_outcome *out,
    struct level *found, int *seen)
{
	enum dmarc_standard std = d->standard;
	struct walk *w = walk_new();
	const char *from = out->from_domain;
	const struct level *pick = NULL;
	char why[200];
	int psd = -1, k;
	size_t i;

	memset(found, 0, sizeof(*found));
	*seen = 0;
	if (w == NULL) {
		out->result = DMARC_RES_TEMPERROR;
		str_format(out->why, sizeof(out->why), "DMARC record lookup: out of memory");
		return -1;
	}
	if (d->discovery == DMARC_DISCOVERY_PSL) {
		/* RFC 7489 6.6.3: the From domain, then its org domain */
		psl_org(d, from, out->org_domain, sizeof(out->org_domain));
		if (lookup_level(a, from, &w->lv[w->nlv++], why, sizeof(why)) < 0)
			goto temp;
		if (level_state(std, &w->lv[0]) == 0 && strcmp(out->org_domain, from) != 0 &&
		    lookup_level(a, out->org_domain, &w->lv[w->nlv++], why, sizeof(why)) < 0)
			goto temp;
		for (i = 0; i < w->nlv && pick == NULL; i++)
			if (level_state(std, &w->lv[i]) != 0)
				pick = &w->lv[i];
	} else {
		/* RFC 9989 4.10.1: the From domain, its org domain, its PSD */
		if (tree_walk(std, a, from, w, why, sizeof(why)) < 0)
			goto temp;
		walk_org(std, w, from, out->org_domain, sizeof(out->org_domain), &psd);
		if (level_state(std, &w->lv[0]) != 0)
			pick = &w->lv[0];
		else if ((k = level_named(w, out->org_domain)) >= 0 &&
		    level_state(std, &w->lv[k]) != 0)
			pick = &w->lv[k];
		else if (psd >= 0)
			pick = &w->lv[psd];
	}
	*seen = walk_has_record(std, w);
	/* say what was discarded, the From domain's first */
	for (i = 0; i < w->nlv; i++)
		if (&w->lv[i] != pick)
			note_discarded(std, &w->lv[i], out);
	if (pick != NULL) {
		*found = *pick;
		copystr(out->record_domain, sizeof(out->record_domain), found->name);
		out->n_records = found->n;
		free(w);
		return 0;
	}
	str_format(out->why, sizeof(out->why), "no DMARC record at _dmarc.%s", from);
	for (i = 1; i < w->nlv; i++)
		addf(out->why, sizeof(out->why), "%s_dmarc.%s",
		    i + 1 == w->nlv ? " or " : ", ", w->lv[i].name);
	if (out->discarded[0] != '\0')
		addf(out->why, sizeof(out->why), "; %s", out->discarded);
	free(w);
	return 0;
temp:
	free(w);
	out->result = DMARC_RES_TEMPERROR;
	str_format(out->why, sizeof(out->why), "DMARC record lookup: %s", why);
	return -1;
}

/* One level milder: reject -> quarantine -> none. */
static enum dmarc_policy
milder(enum dmarc_policy p)
{
	return p > DMARC_POLICY_NONE ? (enum dmarc_policy)(p - 1) : p;
}

/*
 * Picks the policy that applies. Returns 0, 1 when the np existence check
 * met DNS trouble (policy falls back to sp/p), or -1 for no usable policy
 * (out->result/why set).
 */
static int
pick_policy(enum dmarc_standard std, struct dns_ctx *dns, struct dmarc_outcome *out,
    char *notes, size_t noteslen)
{
	const struct dmarc_record *r = &out->record;
	unsigned bad = r->invalid & (DMARC_TAG_P | DMARC_TAG_SP | DMARC_TAG_NP);
	const char *sec = std == DMARC_STD_RFC7489 ? "RFC 7489 section 6.6.3" : "RFC 9989 4.10.1";
	int ex;

	if (bad || !r->p_present) {
		const char *t = !r->p_present ? "no p=" : (bad & DMARC_TAG_P) ? "invalid p=" :
		    (bad & DMARC_TAG_SP) ? "invalid sp=" : "invalid np=";

		if (!r->rua_valid) {
			out->result = DMARC_RES_PERMERROR;
			str_format(out->why, sizeof(out->why),
			    "%s in the DMARC record at _dmarc.%s and no valid rua=:"
			    " no policy applies (%s)", t, out->record_domain, sec);
			return -1;
		}
		addf(notes, noteslen, "%s%s with a valid rua=: acts as p=none (%s)",
		    *notes ? "; " : "", t, sec);
		out->policy = DMARC_POLICY_NONE;
		out->policy_tag = "p";
		return 0;
	}
	if (strcmp(out->record_domain, out->from_domain) == 0) {
		out->policy = r->p;
		out->policy_tag = "p";
		return 0;
	}
	ex = 1;
	if (r->present & DMARC_TAG_NP) {
		ex = out->from_exists = domain_exists(std, dns, out->from_domain);
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
		out->policy = r->p;
		out->policy_tag = "p";
	}
	return ex < 0 ? 1 : 0;
}

/* The policy after the record's options, and the notes on them. */
static void
apply_options(enum dmarc_standard std, struct dmarc_outcome *out, char *notes, size_t noteslen)
{
	const struct dmarc_record *r = &out->record;

	out->applied = out->policy;
	out->pct = 100;
	out->testing = 0;
	if (std == DMARC_STD_RFC9989) {
		if (r->present & DMARC_TAG_PCT)
			addf(notes, noteslen, "%spct=%u ignored (not part of RFC 9989)",
			    *notes ? "; " : "", r->pct);
		if (r->testing) {
			out->testing = 1;
			out->applied = milder(out->policy);
			if (out->policy > DMARC_POLICY_NONE)
				addf(notes, noteslen, "%st=y: the domain tests its policy, %s applied"
				    " instead of %s (RFC 9989 4.7)", *notes ? "; " : "",
				    dmarc_policy_str(out->applied), dmarc_policy_str(out->policy));
		}
	} else {
		out->pct = r->pct;
		if (r->pct < 100) {
			out->applied = milder(out->policy);
			if (out->policy > DMARC_POLICY_NONE)
				addf(notes, noteslen, "%spct=%u: %s applied instead of %s (RFC 7489"
				    " section 6.6.4, as for the messages sampled out)", *notes ? "; " : "",
				    r->pct, dmarc_policy_str(out->applied), dmarc_policy_str(out->policy));
		}
		if (r->present & DMARC_TAG_T)
			addf(notes, noteslen, "%st= ignored (not part of RFC 7489)", *notes ? "; " : "");
	}
}

/*
 * The org domain of out->from_domain under the other discovery method,
 * into out->org_other when it differs and some record was seen (else the
 * difference changes nothing: DMARC applies under neither method).
 */
static void
compare_methods(const struct dmarc *d, const struct asker *a, struct dmarc_outcome *out, int seen)
{
	char other[DMARC_DOMAIN_MAX], why[200];
	struct walk *w;

	out->org_other[0] = '\0';
	if (d->discovery == DMARC_DISCOVERY_TREEWALK) {
		if (d->psl == NULL || !seen)
			return;
		psl_org(d, out->from_domain, other, sizeof(other));
	} else {
		if (a->dns == NULL || (w = walk_new()) == NULL)
			return;
		if (tree_walk(d->standard, a, out->from_domain, w, why, sizeof(why)) < 0 ||
		    (!seen && !walk_has_record(d->standard, w))) {
			free(w);
			return;
		}
		walk_org(d->standard, w, out->from_domain, other, sizeof(other), NULL);
		free(w);
	}
	if (strcmp(other, out->org_domain) != 0)
		copystr(out->org_other, sizeof(out->org_other), other);
}

/*
 * Runs the SPF and DKIM alignment checks. Returns 1 when no aligned pass
 * was found but one may still come: an identifier whose result is
 * temperror (pending on DNS) is aligned, or its alignment could not be
 * told (DNS trouble in a tree walk); twhy says which. Identifiers that
 * are not aligned never matter, whatever their result.
 */
static int
align_all(const struct dmarc *d, const struct asker *as, const struct dmarc_input *in,
    struct dmarc_outcome *out, char *twhy, size_t twhylen)
{
	char cand[DMARC_DOMAIN_MAX], why[200], awhy[200];
	int temp = 0, a;
	size_t i;

	if ((in->spf_result == SPF_RES_PASS || in->spf_result == SPF_RES_TEMPERROR) &&
	    in->spf_domain != NULL &&
	    dmarc_domain_normalize(in->spf_domain, cand, sizeof(cand), why, sizeof(why)) == 0) {
		awhy[0] = '\0';
		a = aligned_norm(d, as, out->from_domain, out->org_domain, cand,
		    out->record.aspf, awhy, sizeof(awhy));
		if (a > 0 && in->spf_result == SPF_RES_PASS) {
			out->spf_aligned = 1;
			copystr(out->spf_domain, sizeof(out->spf_domain), cand);
		} else if (a != 0 && !temp) {
			temp = 1;
			if (in->spf_result == SPF_RES_TEMPERROR)
				str_format(twhy, twhylen, "SPF temperror for aligned %.120s", cand);
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
		a = aligned_norm(d, as, out->from_domain, out->org_domain, cand,
		    out->record.adkim, awhy, sizeof(awhy));
		if (a > 0 && r == DKIM_RES_PASS) {
			out->dkim_aligned = 1;
			copystr(out->dkim_domain, sizeof(out->dkim_domain), cand);
		} else if (a != 0 && !temp) {
			temp = 1;
			if (r == DKIM_RES_TEMPERROR)
				str_format(twhy, twhylen, "DKIM temperror for aligned d=%.120s", cand);
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

	str_format(out->why, sizeof(out->why), "no aligned pass (aspf=%s, adkim=%s): SPF %s",
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
dmarc_warm(const struct dmarc *d, struct dns_ctx *dns, struct dmarc_memo *memo,
    const char *from_domain, const char *const *ids, size_t n_ids)
{
	const struct asker a = { dns, memo };
	struct dmarc_outcome *out = calloc(1, sizeof(*out));
	struct level found;
	char notes[512] = "", cand[DMARC_DOMAIN_MAX], org[DMARC_DOMAIN_MAX], why[200];
	int seen;
	size_t i;

	if (out == NULL || dns == NULL ||
	    dmarc_domain_normalize(from_domain, out->from_domain, sizeof(out->from_domain),
	    why, sizeof(why)) < 0) {
		free(out);
		return;
	}
	if (discover(d, &a, out, &found, &seen) == 0 &&
	    level_state(d->standard, &found) == 1) {
		out->record = found.rec;
		pick_policy(d->standard, dns, out, notes, sizeof(notes));	/* np='s check */
	}
	if (out->org_domain[0] != '\0')
		compare_methods(d, &a, out, 1);	/* PSL mode: the tree walk */
	for (i = 0; d->discovery == DMARC_DISCOVERY_TREEWALK && out->org_domain[0] && i < n_ids; i++)
		if (ids[i] != NULL &&
		    dmarc_domain_normalize(ids[i], cand, sizeof(cand), why, sizeof(why)) == 0 &&
		    strcmp(cand, out->from_domain) != 0 && at_or_below(cand, out->org_domain))
			org_of(d, &a, cand, org, sizeof(org), why, sizeof(why));
	free(out);
}

enum dmarc_res
dmarc_check(const struct dmarc *d, struct dns_ctx *dns,
    const struct dmarc_input *in, struct dmarc_outcome *out)
{
	const struct asker a = { dns, in->memo };
	enum dmarc_standard std = d->standard;
	struct level found;
	char notes[512] = "", twhy[200] = "";
	int np_unknown, temp, seen;

	memset(out, 0, sizeof(*out));
	out->standard = std;
	out->discovery = d->discovery;
	out->from_exists = -1;
	out->policy_tag = "";
	out->pct = 100;
	if (one_from_domain(in, out) < 0 || dns == NULL) {
		if (dns == NULL && out->why[0] == '\0')
			str_format(out->why, sizeof(out->why), "no DNS context");
		return out->result = DMARC_RES_PERMERROR;
	}
	if (discover(d, &a, out, &found, &seen) < 0)
		return out->result;
	compare_methods(d, &a, out, seen);
	if (out->n_records == 0)
		return out->result = DMARC_RES_NONE;
	if (out->n_records > 1) {	/* RFC 7489 only: 9989 discarded them */
		str_format(out->why, sizeof(out->why), "%zu DMARC records at _dmarc.%s"
		    " (exactly one is allowed; RFC 7489 section 6.6.3)", out->n_records,
		    out->record_domain);
		return out->result = DMARC_RES_PERMERROR;
	}
	if (found.broken && std == DMARC_STD_RFC7489) {
		str_format(out->why, sizeof(out->why), "%s (at _dmarc.%s)", found.note,
		    out->record_domain);
		return out->result = DMARC_RES_PERMERROR;
	}
	out->have_record = 1;
	out->record = found.rec;
	if (found.broken)
		str_format(notes, sizeof(notes), "bad terms of the record were ignored (RFC 9989 4.8): %s",
		    found.note);
	else
		copystr(notes, sizeof(notes), found.note);
	if (out->discarded[0] != '\0')
		addf(notes, sizeof(notes), "%s%s", notes[0] ? "; " : "", out->discarded);
	if ((np_unknown = pick_policy(std, dns, out, notes, sizeof(notes))) < 0)
		return out->result;
	apply_options(std, out, notes, sizeof(notes));
	temp = align_all(d, &a, in, out, twhy, sizeof(twhy));
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_RES_PASS;
		if (out->dkim_aligned)
			str_format(out->why, sizeof(out->why), "aligned DKIM pass for d=%s",
			    out->dkim_domain);
		else
			str_format(out->why, sizeof(out->why), "aligned SPF pass for %s",
			    out->spf_domain);
		if (out->dkim_aligned && out->spf_aligned)
			addf(out->why, sizeof(out->why), " and SPF pass for %s", out->spf_domain);
	} else if (temp) {
		out->result = DMARC_RES_TEMPERROR;
		str_format(out->why, sizeof(out->why), "no aligned pass yet, but one may come: %s", twhy);
	} else if (np_unknown) {
		out->result = DMARC_RES_TEMPERROR;
		str_format(out->why, sizeof(out->why), "fails, but whether np= applies is"
		    " unknown: DNS trouble checking that %s exists", out->from_domain);
	} else {
		out->result = DMARC_RES_FAIL;
		describe_fail(in, out);
	}
	if (notes[0] != '\0')
		addf(out->why, sizeof(out->why), "; note: %s", notes);
	return out->result;
}
