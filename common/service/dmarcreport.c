/*
 * dmarcreport: RFC 9990 aggregate reports from the store; see dmarcreport.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <zlib.h>

#include "dmarcreport.h"
#include "sbuf.h"

#define DMARC_NS "urn:ietf:params:xml:ns:dmarc-2.0"
#define TEXT_MAX 1024		/* octets of one value in the XML */
#define ERRORS_MAX 900		/* octets of the error element */

/* A policy domain's published record, as the day's newest message saw it. */
struct policy {
	char *domain, *rua;
	char p[12], sp[12], np[12], adkim[2], aspf[2], testing[2], discovery[10];
	char error[300];	/* stored values that were not usable, "" if none */
	char other[600];	/* From domains the other discovery method judges differently */
};

/* What one report owns (its report_file points into it). */
struct owned {
	char *domain, *rua, *id, *filename;
	unsigned char *gz;
};

/* The report being built. */
struct building {
	const struct policy *pol;
	xmlDocPtr doc;
	xmlNsPtr ns;
	xmlNodePtr root, metadata;
	long messages;
	size_t records;
	struct sbuf errors;
};

struct dmarcreport_priv {
	char *receiver, *org_name, *email, *generator;
	char day[11];
	long long begin, end;
	struct policy *pols;
	size_t n_pols, cap_pols;
	int sorted;		/* pols sorted by domain (after the last policy) */
	struct owned *owned;
	size_t cap_reports;
	struct building cur;	/* cur.doc NULL: none */
	struct sbuf skipped;
};

/* ---- values ---- */

/* The length of the valid UTF-8 sequence at s (n octets left) that is an
 * XML character other than a control one, or 0. */
static size_t
xml_char(const unsigned char *s, size_t n)
{
	unsigned cp;
	size_t len;

	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] < 0x7f;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff || (cp >= 0x80 && cp < 0xa0))
		return 0;
	return len;
}

/* s (NULL: "") as text XML can carry, cut to fit out (outlen octets with
 * the NUL): an octet that starts no such character becomes '?'. */
static void
clean(const char *s, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), o = 0, len;

	while (*p && o + 1 < outlen) {
		len = xml_char(p, n);
		if (len == 0) {
			out[o++] = '?';
			p++, n--;
			continue;
		}
		if (o + len + 1 > outlen)
			break;
		memcpy(out + o, p, len);
		o += len;
		p += len, n -= len;
	}
	out[o] = '\0';
}

/* s when it is one of names (NULL-terminated), else NULL. */
static const char *
one_of(const char *s, const char *const *names)
{
	for (; s != NULL && *names; names++)
		if (strcmp(s, *names) == 0)
			return *names;
	return NULL;
}

static const char *const dispositions[] = { "none", "quarantine", "reject", NULL };
static const char *const actions[] = { "none", "pass", "quarantine", "reject", NULL };
static const char *const alignments[] = { "r", "s", NULL };
static const char *const yes_no[] = { "n", "y", NULL };
static const char *const discoveries[] = { "psl", "treewalk", NULL };
static const char *const overrides[] = { "local_policy", "mailing_list", "other", "policy_test_mode",
	"trusted_forwarder", NULL };
static const char *const dkim_results[] = { "none", "pass", "fail", "policy", "neutral", "temperror",
	"permerror", NULL };
static const char *const spf_results[] = { "none", "pass", "fail", "softfail", "policy", "neutral",
	"temperror", "permerror", NULL };

/* A policy domain that can be a file name's part: a lower-case domain name. */
static int
plain_domain(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
		    *s == '_'))
			return 0;
	return 1;
}

/* Notes a problem in the report's error element (each once, bounded). */
static void
add_error(struct building *b, const char *what, const char *value)
{
	char text[TEXT_MAX + 1];
	struct sbuf line;

	clean(value, text, sizeof(text));
	sbuf_init(&line, ERRORS_MAX);
	sbuf_printf(&line, "%s%s%.80s", what, value ? ": " : "", value ? text : "");
	if (strstr(b->errors.s, line.s) == NULL && b->errors.len + line.len < ERRORS_MAX)
		sbuf_printf(&b->errors, "%s%s", b->errors.len ? "; " : "", line.s);
	sbuf_free(&line);
}

/* ---- the XML ---- */

static xmlNodePtr
child(struct building *b, xmlNodePtr parent, const char *name, const char *text)
{
	char value[TEXT_MAX + 1];

	if (text == NULL)
		return xmlNewChild(parent, b->ns, (const xmlChar *)name, NULL);
	clean(text, value, sizeof(value));
	/* xmlNewTextChild escapes '<', '>', '&' (and '"', '\r') */
	return xmlNewTextChild(parent, b->ns, (const xmlChar *)name, (const xmlChar *)value);
}

static xmlNodePtr
child_num(struct building *b, xmlNodePtr parent, const char *name, long long n)
{
	char text[32];

	snprintf(text, sizeof(text), "%lld", n);
	return child(b, parent, name, text);
}

static int
nomem(char *why, size_t whylen)
{
	snprintf(why, whylen, "out of memory");
	return -1;
}

static int
open_report(struct dmarcreport_priv *d, const struct policy *pol, char *why, size_t whylen)
{
	struct building *b = &d->cur;
	xmlNodePtr range, pp;

	memset(b, 0, sizeof(*b));
	b->pol = pol;
	sbuf_init(&b->errors, ERRORS_MAX + 200);
	if ((b->doc = xmlNewDoc((const xmlChar *)"1.0")) == NULL ||
	    (b->root = xmlNewNode(NULL, (const xmlChar *)"feedback")) == NULL)
		return nomem(why, whylen);
	xmlDocSetRootElement(b->doc, b->root);
	if ((b->ns = xmlNewNs(b->root, (const xmlChar *)DMARC_NS, NULL)) == NULL)
		return nomem(why, whylen);
	xmlSetNs(b->root, b->ns);
	child(b, b->root, "version", "1.0");
	b->metadata = child(b, b->root, "report_metadata", NULL);
	child(b, b->metadata, "org_name", d->org_name);
	child(b, b->metadata, "email", d->email);
	/* report_id comes with the name, at the end (one id for both) */
	range = child(b, b->metadata, "date_range", NULL);
	child_num(b, range, "begin", d->begin);
	child_num(b, range, "end", d->end);
	child(b, b->metadata, "generator", d->generator);
	pp = child(b, b->root, "policy_published", NULL);
	child(b, pp, "domain", pol->domain);
	child(b, pp, "p", pol->p);
	child(b, pp, "sp", pol->sp);
	child(b, pp, "np", pol->np);
	child(b, pp, "adkim", pol->adkim);
	child(b, pp, "aspf", pol->aspf);
	if (pol->discovery[0] != '\0')
		child(b, pp, "discovery_method", pol->discovery);
	child(b, pp, "testing", pol->testing);
	if (pol->error[0] != '\0')
		add_error(b, pol->error, NULL);
	if (pol->other[0] != '\0')
		add_error(b, pol->other, NULL);
	return 0;
}

/* The DKIM signatures of a record: "d:s:result" items (an older row's "d:result"). */
static void
dkim_results_of(struct building *b, xmlNodePtr auth, const char *list)
{
	char item[TEXT_MAX + 1], *save = NULL;
	size_t n = 0;

	if (list == NULL)
		return;
	snprintf(item, sizeof(item), "%s", list);
	if (strlen(list) > TEXT_MAX) {
		/* whole items only */
		char *last = strrchr(item, ' ');

		if (last != NULL)
			*last = '\0';
		add_error(b, "a stored DKIM list longer than a report takes, cut", NULL);
	}
	for (char *tok = strtok_r(item, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		char *first = strchr(tok, ':'), *last = strrchr(tok, ':');
		const char *result;
		xmlNodePtr sig;

		if (first == NULL) {
			add_error(b, "a stored DKIM entry without a result", tok);
			continue;
		}
		*first = '\0';
		if ((result = one_of(last + 1, dkim_results)) == NULL) {
			add_error(b, "a stored DKIM result that RFC 8601 does not know", last + 1);
			continue;
		}
		*last = '\0';
		if (++n > 64)
			break;
		sig = child(b, auth, "dkim", NULL);
		child(b, sig, "domain", tok);
		child(b, sig, "selector", last > first ? first + 1 : "");
		child(b, sig, "result", result);
	}
}

static int
add_record(struct building *b, const struct statsdb_dmarc_record *r)
{
	xmlNodePtr rec = child(b, b->root, "record", NULL), row, pe, ids, auth, spf;
	const char *disp = one_of(r->disposition, actions), *over = one_of(r->override, overrides);

	row = child(b, rec, "row", NULL);
	child(b, row, "source_ip", r->source_ip);
	child_num(b, row, "count", r->count);
	pe = child(b, row, "policy_evaluated", NULL);
	if (disp == NULL) {
		add_error(b, "a stored disposition that RFC 9990 does not know",
		    r->disposition ? r->disposition : "(none)");
		disp = "none";
	}
	child(b, pe, "disposition", disp);
	child(b, pe, "dkim", r->dkim_aligned ? "pass" : "fail");
	child(b, pe, "spf", r->spf_aligned ? "pass" : "fail");
	if (over != NULL) {
		xmlNodePtr reason = child(b, pe, "reason", NULL);

		child(b, reason, "type", over);
		if (r->override_comment != NULL && r->override_comment[0] != '\0')
			child(b, reason, "comment", r->override_comment);
	}
	ids = child(b, rec, "identifiers", NULL);
	child(b, ids, "header_from", r->header_from ? r->header_from : "");
	if (r->envelope_from != NULL && r->envelope_from[0] != '\0')
		child(b, ids, "envelope_from", r->envelope_from);
	auth = child(b, rec, "auth_results", NULL);
	dkim_results_of(b, auth, r->dkim);
	if (r->spf_domain != NULL && r->spf_domain[0] != '\0' && r->spf != NULL) {
		const char *res = one_of(r->spf, spf_results);

		if (res == NULL) {
			add_error(b, "a stored SPF result that RFC 8601 does not know", r->spf);
		} else {
			spf = child(b, auth, "spf", NULL);
			child(b, spf, "domain", r->spf_domain);
			/* the MAIL FROM identity: postmaster@HELO for the null sender (RFC 7208 2.4) */
			child(b, spf, "scope", "mfrom");
			child(b, spf, "result", res);
		}
	}
	b->messages += r->count;
	b->records++;
	return 0;
}

static int
gzip_xml(const unsigned char *xml, size_t len, unsigned char **gz, size_t *gz_len)
{
	z_stream z;
	uLong bound;

	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip wrapper (RFC 1952) */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	bound = deflateBound(&z, (uLong)len) + 64;
	if ((*gz = malloc(bound)) == NULL) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)xml;
	z.avail_in = (uInt)len;
	z.next_out = *gz;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(*gz);
		*gz = NULL;
		return -1;
	}
	*gz_len = z.total_out;
	deflateEnd(&z);
	return 0;
}

/* A new report id: the day's digits and 20 random hex digits. */
static void
new_report_id(const char *day, char out[40])
{
	unsigned char r[10];
	size_t o;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)((unsigned long)ts.tv_nsec >> (i % 4 * 8) ^ (unsigned long)getpid() >> i);
	}
	o = (size_t)snprintf(out, 40, "%.4s%.2s%.2s", day, day + 5, day + 8);
	for (size_t i = 0; i < sizeof(r); i++)
		o += (size_t)snprintf(out + o, 40 - o, "%02x", r[i]);
}

static void
drop_current(struct dmarcreport_priv *d)
{
	if (d->cur.doc != NULL)
		xmlFreeDoc(d->cur.doc);
	sbuf_free(&d->cur.errors);
	memset(&d->cur, 0, sizeof(d->cur));
}

/* Ends the report being built and adds it to the set. */
static int
close_report(struct dmarcreport_set *s, char *why, size_t whylen)
{
	struct dmarcreport_priv *d = s->priv;
	struct building *b = &d->cur;
	struct report_file *f;
	struct owned *own;
	xmlChar *xml = NULL;
	int xml_len = 0;
	char id[40];
	struct sbuf name;

	if (b->doc == NULL)
		return 0;
	new_report_id(d->day, id);
	child(b, b->metadata, "report_id", id);
	if (b->errors.len > 0)
		child(b, b->metadata, "error", b->errors.s);
	if (s->n == d->cap_reports) {
		size_t cap = d->cap_reports ? d->cap_reports * 2 : 16;
		void *v = realloc(s->v, cap * sizeof(*s->v)), *o;

		if (v == NULL)
			return drop_current(d), nomem(why, whylen);
		s->v = v;
		if ((o = realloc(d->owned, cap * sizeof(*d->owned))) == NULL)
			return drop_current(d), nomem(why, whylen);
		d->owned = o;
		d->cap_reports = cap;
	}
	f = &s->v[s->n];
	own = &d->owned[s->n];
	memset(f, 0, sizeof(*f));
	memset(own, 0, sizeof(*own));
	xmlDocDumpFormatMemoryEnc(b->doc, &xml, &xml_len, "UTF-8", 1);
	sbuf_init(&name, 1024);
	sbuf_printf(&name, "%s!%s!%lld!%lld!%s.xml.gz", d->receiver, b->pol->domain, d->begin, d->end, id);
	if (xml == NULL || xml_len <= 0 || name.overflow ||
	    (own->domain = strdup(b->pol->domain)) == NULL ||
	    (own->rua = strdup(b->pol->rua)) == NULL || (own->id = strdup(id)) == NULL ||
	    (own->filename = strdup(name.s)) == NULL ||
	    gzip_xml(xml, (size_t)xml_len, &own->gz, &f->gz_len) < 0) {
		free(own->domain);
		free(own->rua);
		free(own->id);
		free(own->filename);
		xmlFree(xml);
		sbuf_free(&name);
		drop_current(d);
		return nomem(why, whylen);
	}
	f->policy_domain = own->domain;
	f->rua = own->rua;
	f->day = d->day;
	f->report_id = own->id;
	f->filename = own->filename;
	f->gz = own->gz;
	f->xml_len = (size_t)xml_len;
	f->messages = b->messages;
	f->records = b->records;
	s->n++;
	xmlFree(xml);
	sbuf_free(&name);
	drop_current(d);
	return 0;
}

/* ---- the sink ---- */

static int
policy_order(const void *a, const void *b)
{
	return strcmp(((const struct policy *)a)->domain, ((const struct policy *)b)->domain);
}

/* One published value: one of names, else def (noted in error). */
static void
pick(char *dst, size_t len, const char *stored, const char *const *names, const char *def,
    const char *tag, struct policy *pol)
{
	const char *v = one_of(stored, names);

	if (v == NULL) {
		size_t o = strlen(pol->error);
		char text[64];

		clean(stored ? stored : "(none)", text, sizeof(text));
		snprintf(pol->error + o, sizeof(pol->error) - o, "%s%s=%.20s is not usable, %s written",
		    o ? "; " : "", tag, text, def);
		v = def;
	}
	snprintf(dst, len, "%s", v);
}

static int
on_policy(void *arg, const struct statsdb_dmarc_policy *p, char *why, size_t whylen)
{
	struct dmarcreport_set *s = arg;
	struct dmarcreport_priv *d = s->priv;
	struct policy *pol;

	if (p->domain == NULL || p->rua == NULL || p->rua[0] == '\0')
		return 0;		/* no rua=: the domain asks for no reports */
	if (!plain_domain(p->domain)) {
		char text[80];

		clean(p->domain, text, sizeof(text));
		sbuf_printf(&d->skipped, "%s%.60s: not a domain name", d->skipped.len ? "; " : "", text);
		return 0;
	}
	if (d->n_pols == d->cap_pols) {
		size_t cap = d->cap_pols ? d->cap_pols * 2 : 64;
		void *v = realloc(d->pols, cap * sizeof(*d->pols));

		if (v == NULL)
			return nomem(why, whylen);
		d->pols = v;
		d->cap_pols = cap;
	}
	pol = &d->pols[d->n_pols];
	memset(pol, 0, sizeof(*pol));
	if ((pol->domain = strdup(p->domain)) == NULL || (pol->rua = strdup(p->rua)) == NULL) {
		free(pol->domain);
		return nomem(why, whylen);
	}
	d->n_pols++;
	pick(pol->p, sizeof(pol->p), p->p, dispositions, "none", "p", pol);
	/* sp defaults to p, np to sp (the store has them filled in already) */
	pick(pol->sp, sizeof(pol->sp), p->sp ? p->sp : pol->p, dispositions, pol->p, "sp", pol);
	pick(pol->np, sizeof(pol->np), p->np ? p->np : pol->sp, dispositions, pol->sp, "np", pol);
	pick(pol->adkim, sizeof(pol->adkim), p->adkim, alignments, "r", "adkim", pol);
	pick(pol->aspf, sizeof(pol->aspf), p->aspf, alignments, "r", "aspf", pol);
	pick(pol->testing, sizeof(pol->testing), p->testing, yes_no, "n", "t", pol);
	snprintf(pol->discovery, sizeof(pol->discovery), "%s",
	    one_of(p->discovery, discoveries) ? p->discovery : "");
	return 0;
}

/* The policy of domain (NULL: none with rua=); the first call sorts them. */
static struct policy *
policy_of(struct dmarcreport_priv *d, const char *domain)
{
	struct policy key;

	if (!d->sorted) {
		if (d->n_pols > 0)
			qsort(d->pols, d->n_pols, sizeof(*d->pols), policy_order);
		d->sorted = 1;
	}
	if (domain == NULL || d->n_pols == 0)
		return NULL;
	key.domain = (char *)(uintptr_t)domain;
	return bsearch(&key, d->pols, d->n_pols, sizeof(*d->pols), policy_order);
}

/* RFC 9989 asks receivers to say where the public suffix list and the
 * tree walk choose different organizational domains: the report's error
 * element does. */
static int
on_other(void *arg, const char *domain, const char *header_from, const char *org_other, long count,
    char *why, size_t whylen)
{
	struct dmarcreport_set *s = arg;
	struct policy *pol = policy_of(s->priv, domain);
	char from[TEXT_MAX + 1], method[16], other[TEXT_MAX + 1];
	const char *colon = org_other ? strchr(org_other, ':') : NULL;
	size_t o;

	(void)why, (void)whylen;
	if (pol == NULL || colon == NULL)
		return 0;
	clean(header_from, from, sizeof(from));
	clean(colon + 1, other, sizeof(other));
	snprintf(method, sizeof(method), "%.*s", (int)(colon - org_other), org_other);
	if (one_of(method, discoveries) == NULL)
		return 0;
	o = strlen(pol->other);
	if (o + 200 < sizeof(pol->other))
		snprintf(pol->other + o, sizeof(pol->other) - o, "%s%ld message%s from %.80s: the "
		    "organizational domain under %s would be %.80s", o ? "; " : "", count,
		    count == 1 ? "" : "s", from, method, other);
	return 0;
}

static int
on_record(void *arg, const struct statsdb_dmarc_record *r, char *why, size_t whylen)
{
	struct dmarcreport_set *s = arg;
	struct dmarcreport_priv *d = s->priv;
	struct policy *pol;

	if (r->domain == NULL || r->count <= 0)
		return 0;
	if (d->cur.doc == NULL || strcmp(d->cur.pol->domain, r->domain) != 0) {
		if (close_report(s, why, whylen) < 0)
			return -1;
		if ((pol = policy_of(d, r->domain)) == NULL)
			return 0;	/* no report for it */
		if (open_report(d, pol, why, whylen) < 0) {
			drop_current(d);
			return -1;
		}
	}
	return add_record(&d->cur, r);
}

const struct statsdb_dmarc_sink dmarcreport_sink = { on_policy, on_other, on_record };

/* ---- the set ---- */

int
dmarcreport_day(const char *day, long long *begin, long long *end)
{
	struct tm tm, back;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (day == NULL || strlen(day) != 10 || day[4] != '-' || day[7] != '-' ||
	    strspn(day, "0123456789-") != 10 ||
	    sscanf(day, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3 ||
	    tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	if ((t = timegm(&tm)) == (time_t)-1 || tm.tm_mday != back.tm_mday || tm.tm_mon != back.tm_mon)
		return -1;	/* 2026-02-30 */
	*begin = (long long)t;
	*end = (long long)t + 86399;
	return 0;
}

static char *
dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

int
dmarcreport_begin(struct dmarcreport_set *s, const struct dmarcreport_opts *o, const char *day,
    char *why, size_t whylen)
{
	struct dmarcreport_priv *d;

	memset(s, 0, sizeof(*s));
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return nomem(why, whylen);
	s->priv = d;
	sbuf_init(&d->skipped, sizeof(s->skipped));
	if ((d->receiver = dup_or_empty(o->receiver)) == NULL ||
	    (d->org_name = dup_or_empty(o->org_name)) == NULL ||
	    (d->email = dup_or_empty(o->email)) == NULL ||
	    (d->generator = dup_or_empty(o->generator)) == NULL)
		return nomem(why, whylen);
	/* a part of file names: the host name AuthservID is (options.c) */
	if (d->receiver[0] == '\0' || d->receiver[0] == '.' || strlen(d->receiver) > 253 ||
	    strspn(d->receiver, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_") !=
	    strlen(d->receiver)) {
		snprintf(why, whylen, "the receiver (AuthservID) must be a host name");
		return -1;
	}
	if (dmarcreport_day(day, &d->begin, &d->end) < 0) {
		snprintf(why, whylen, "'%.20s' is not a day (YYYY-MM-DD)", day ? day : "");
		return -1;
	}
	snprintf(d->day, sizeof(d->day), "%s", day);
	return 0;
}

int
dmarcreport_end(struct dmarcreport_set *s, char *why, size_t whylen)
{
	struct dmarcreport_priv *d = s->priv;

	if (close_report(s, why, whylen) < 0)
		return -1;
	snprintf(s->skipped, sizeof(s->skipped), "%s", d->skipped.len ? d->skipped.s : "");
	return 0;
}

int
dmarcreport_build(struct statsdb *db, const struct dmarcreport_opts *o, const char *day,
    struct dmarcreport_set *out, char *why, size_t whylen)
{
	if (dmarcreport_begin(out, o, day, why, whylen) < 0)
		return -1;
	if (statsdb_dmarc_day(db, out->priv->begin, out->priv->end + 1, &dmarcreport_sink, out, why,
	    whylen) < 0)
		return -1;
	return dmarcreport_end(out, why, whylen);
}

void
dmarcreport_free(struct dmarcreport_set *s)
{
	struct dmarcreport_priv *d = s->priv;

	if (d != NULL) {
		drop_current(d);
		for (size_t i = 0; i < s->n; i++) {
			free(d->owned[i].domain);
			free(d->owned[i].rua);
			free(d->owned[i].id);
			free(d->owned[i].filename);
			free(d->owned[i].gz);
		}
		for (size_t i = 0; i < d->n_pols; i++) {
			free(d->pols[i].domain);
			free(d->pols[i].rua);
		}
		free(d->pols);
		free(d->owned);
		free(d->receiver);
		free(d->org_name);
		free(d->email);
		free(d->generator);
		sbuf_free(&d->skipped);
		free(d);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int
dmarcreport_write(const struct dmarcreport_set *s, const char *dir, char *why, size_t whylen)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct report_file *f = &s->v[i];
		struct sbuf path;
		size_t done = 0;
		int fd;

		sbuf_init(&path, 4096);
		sbuf_printf(&path, "%s/%s", dir, f->filename);
		if (path.overflow || (fd = open(path.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
			snprintf(why, whylen, "%s: %s", path.s, path.overflow ? "name too long" : strerror(errno));
			sbuf_free(&path);
			return -1;
		}
		while (done < f->gz_len) {
			ssize_t n = write(fd, f->gz + done, f->gz_len - done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			done += (size_t)n;
		}
		if (done < f->gz_len || close(fd) != 0) {
			snprintf(why, whylen, "%s: %s", path.s, strerror(errno ? errno : EIO));
			if (done < f->gz_len)
				close(fd);
			unlink(path.s);
			sbuf_free(&path);
			return -1;
		}
		sbuf_free(&path);
	}
	return 0;
}
