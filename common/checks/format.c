/*
 * format: RFC 5322 format checks (rule "format"); see format.h.
 *
 * Reasons are plain ASCII ("RFC 5322 section 3.6", not the section sign)
 * because they may end up in SMTP replies and header comments.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "format.h"
#include "rfc5322.h"

static void
vadd(struct format_result *out, enum format_kind kind, enum format_level level, const char *field,
    const char *fmt, va_list ap)
{
	struct format_problem *p;

	if (level == FORMAT_FAIL) {
		out->n_fail++;
		out->pass = 0;
	} else {
		out->n_warn++;
	}
	if (out->n >= FORMAT_MAX_PROBLEMS)
		return;
	p = &out->v[out->n++];
	p->level = level;
	p->kind = kind;
	snprintf(p->field, sizeof(p->field), "%s", field);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
}

void
format_add_problem(struct format_result *out, enum format_level level, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(out, FORMAT_K_OTHER, level, field, fmt, ap);
	va_end(ap);
}

void
format_add_kind(struct format_result *out, enum format_kind kind, enum format_level level,
    const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(out, kind, level, field, fmt, ap);
	va_end(ap);
}

enum format_kind
format_first_failure(const struct format_result *r, const char **field)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].level == FORMAT_FAIL) {
			*field = r->v[i].field;
			return r->v[i].kind;
		}
	*field = "";
	return FORMAT_K_OTHER;
}

/* ---- date-time (RFC 5322 section 3.3, obsolete forms of 4.3) ---- */

enum dtok_type { D_END, D_NUM, D_WORD, D_CHAR };

struct dtok {
	enum dtok_type type;
	const char *p;
	size_t n;
};

struct dlex {
	const char *s;
	size_t len, pos;
};

static int
date_next(struct dlex *dl, struct dtok *t)
{
	const char *s = dl->s;
	size_t i;

	if (r5322_skip_cfws_lenient(dl->s, dl->len, &dl->pos) < 0)
		return -1;
	i = dl->pos;
	t->p = s + i;
	if (i >= dl->len) {
		t->type = D_END;
		t->n = 0;
		return 0;
	}
	if (s[i] >= '0' && s[i] <= '9') {
		while (i < dl->len && s[i] >= '0' && s[i] <= '9')
			i++;
		t->type = D_NUM;
	} else if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')) {
		while (i < dl->len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			i++;
		t->type = D_WORD;
	} else {
		i++;
		t->type = D_CHAR;
	}
	t->n = i - dl->pos;
	dl->pos = i;
	return 0;
}

static int
tok_is(const struct dtok *t, const char *w)
{
	return t->n == strlen(w) && strncasecmp(t->p, w, t->n) == 0;
}

static int
tok_num(const struct dtok *t)
{
	int v = 0;

	for (size_t i = 0; i < t->n; i++)
		v = v * 10 + (t->p[i] - '0');
	return v;
}

static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int
days_in_month(int year, int month)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : dim[month - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static long long
days_from_civil(int y, int m, int d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* Named zones of RFC 5322 section 4.3; military letters count as -0000. */
static int
named_zone(const struct dtok *t, int *minutes)
{
	static const struct { const char *name; int hours; } zones[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "EST", -5 }, { "EDT", -4 }, { "CST", -6 },
		{ "CDT", -5 }, { "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
	};

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (tok_is(t, zones[i].name)) {
			*minutes = zones[i].hours * 60;
			return 0;
		}
	if (t->n == 1 && *t->p != 'J' && *t->p != 'j') {
		*minutes = 0;
		return 0;
	}
	return -1;
}

#define DATE_FAIL(...) do { snprintf(why, whylen, __VA_ARGS__); return -1; } while (0)

static int
parse_time_zone(struct dlex *dl, struct format_date *d, char *why, size_t whylen)
{
	struct dtok t;

	if (date_next(dl, &t) < 0 || t.type != D_NUM || t.n != 2)
		DATE_FAIL("expected a 2-digit hour");
	d->hour = tok_num(&t);
	if (date_next(dl, &t) < 0 || t.type != D_CHAR || *t.p != ':')
		DATE_FAIL("expected ':' after the hour");
	if (date_next(dl, &t) < 0 || t.type != D_NUM || t.n != 2)
		DATE_FAIL("expected 2-digit minutes");
	d->minute = tok_num(&t);
	if (date_next(dl, &t) < 0)
		DATE_FAIL("unclosed comment");
	if (t.type == D_CHAR && *t.p == ':') {
		if (date_next(dl, &t) < 0 || t.type != D_NUM || t.n != 2)
			DATE_FAIL("expected 2-digit seconds");
		d->second = tok_num(&t);
		if (date_next(dl, &t) < 0)
			DATE_FAIL("unclosed comment");
	}
	if (d->hour > 23 || d->minute > 59 || d->second > 60)
		DATE_FAIL("time %02d:%02d:%02d out of range", d->hour, d->minute, d->second);
	if (t.type == D_CHAR && (*t.p == '+' || *t.p == '-')) {
		int sign = *t.p == '-' ? -1 : 1;

		if (date_next(dl, &t) < 0 || t.type != D_NUM || t.n != 4)
			DATE_FAIL("zone is not +hhmm or -hhmm");
		if (tok_num(&t) % 100 > 59)
			DATE_FAIL("zone minutes out of range");
		d->zone_minutes = sign * (tok_num(&t) / 100 * 60 + tok_num(&t) % 100);
	} else if (t.type == D_WORD && named_zone(&t, &d->zone_minutes) == 0) {
		d->obsolete = 1;
	} else {
		DATE_FAIL("missing or unknown time zone");
	}
	if (date_next(dl, &t) < 0 || t.type != D_END)
		DATE_FAIL("text after the time zone");
	return 0;
}

int
format_date_parse(const char *value, size_t len, struct format_date *d, char *why, size_t whylen)
{
	struct dlex dl = { value, len, 0 };
	struct dtok t;
	int wday = -1;
	long long days;

	memset(d, 0, sizeof(*d));
	if (date_next(&dl, &t) < 0)
		DATE_FAIL("unclosed comment");
	if (t.type == D_WORD) {
		for (int i = 0; i < 7; i++)
			if (tok_is(&t, day_names[i]))
				wday = i;
		if (wday < 0)
			DATE_FAIL("unknown day name '%.*s'", (int)(t.n > 20 ? 20 : t.n), t.p);
		if (date_next(&dl, &t) < 0 || t.type != D_CHAR || *t.p != ',')
			DATE_FAIL("expected ',' after the day name");
		if (date_next(&dl, &t) < 0)
			DATE_FAIL("unclosed comment");
	}
	if (t.type != D_NUM || t.n > 2)
		DATE_FAIL("expected a day of month (1 or 2 digits)");
	d->day = tok_num(&t);
	if (date_next(&dl, &t) < 0 || t.type != D_WORD)
		DATE_FAIL("expected a month name");
	for (int i = 0; i < 12; i++)
		if (tok_is(&t, month_names[i]))
			d->month = i + 1;
	if (d->month == 0)
		DATE_FAIL("unknown month '%.*s'", (int)(t.n > 20 ? 20 : t.n), t.p);
	if (date_next(&dl, &t) < 0 || t.type != D_NUM || t.n < 2 || t.n > 9)
		DATE_FAIL("expected a year");
	d->year = tok_num(&t);
	if (t.n == 2) {
		d->year += d->year < 50 ? 2000 : 1900;
		d->obsolete = 1;
	} else if (t.n == 3) {
		d->year += 1900;
		d->obsolete = 1;
	}
	if (d->year < 1900 || d->year > 9999)
		DATE_FAIL("year %d out of range", d->year);
	if (d->day < 1 || d->day > days_in_month(d->year, d->month))
		DATE_FAIL("day %d does not exist in %s %d", d->day, month_names[d->month - 1], d->year);
	if (parse_time_zone(&dl, d, why, whylen) < 0)
		return -1;
	days = days_from_civil(d->year, d->month, d->day);
	if (wday >= 0 && (int)(((days % 7) + 11) % 7) != wday)
		DATE_FAIL("%s is not the day of week of %d %s %d (%s)", day_names[wday], d->day,
		    month_names[d->month - 1], d->year, day_names[((days % 7) + 11) % 7]);
	d->epoch = days * 86400 + d->hour * 3600 + d->minute * 60 + d->second -
	    (long long)d->zone_minutes * 60;
	return 0;
}

/* ---- the checks ---- */

/* Fields RFC 5322 section 3.6 allows at most once. */
/* one wording for two From fields and for two addresses in one: what both
 * break, then the rule each breaks */
#define ONE_AUTHOR "one author address is needed (DMARC judges one From domain; "

static const char *const single_fields[] = {
	"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID",
	"In-Reply-To", "References", "Subject",
};

static void
check_duplicates(const struct header_list *hl, struct format_result *out)
{
	for (size_t i = 0; i < sizeof(single_fields) / sizeof(single_fields[0]); i++) {
		unsigned n = header_count(hl, single_fields[i]);

		if (n > 1 && strcmp(single_fields[i], "From") == 0)
			format_add_kind(out, FORMAT_K_MULTI_FROM, FORMAT_FAIL, "From",
			    "%u From fields: " ONE_AUTHOR "RFC 5322 section 3.6 allows one "
			    "From field)", n);
		else if (n > 1)
			format_add_kind(out, FORMAT_K_DUPLICATE, FORMAT_FAIL, single_fields[i],
			    "%u %s fields (RFC 5322 section 3.6 allows one)", n, single_fields[i]);
	}
}

static void
check_from(const struct header_list *hl, struct format_result *out, struct addr_list *al)
{
	unsigned n = header_count(hl, "From");
	const struct header *h;

	if (n == 0) {
		format_add_kind(out, FORMAT_K_NO_FROM, FORMAT_FAIL, "From",
		    "no From field (RFC 5322 section 3.6 requires one)");
		return;
	}
	if (n > 1)
		return;		/* reported by check_duplicates */
	h = header_get(hl, "From", 1);
	if (addr_parse(h->value, h->value_len, al) < 0) {
		format_add_kind(out, FORMAT_K_FROM_INVALID, FORMAT_FAIL, "From",
		    "From does not parse at octet %zu: %s", al->error_pos, al->why);
		return;
	}
	if (al->n_groups > 0) {
		format_add_kind(out, FORMAT_K_FROM_INVALID, FORMAT_FAIL, "From",
		    "From uses group syntax (name:...;), not one author mailbox");
		return;
	}
	if (al->n_total > 1) {
		format_add_kind(out, FORMAT_K_FROM_MANY, FORMAT_FAIL, "From",
		    "%zu addresses in the From field: " ONE_AUTHOR "RFC 5322 section 3.6.2 "
		    "allows several only beside a Sender field)", al->n_total);
		return;
	}
	if (al->n_total != 1) {
		format_add_kind(out, FORMAT_K_FROM_INVALID, FORMAT_FAIL, "From",
		    "From has %zu mailboxes (exactly one is required)", al->n_total);
		return;
	}
	out->has_from = 1;
	out->from = al->v[0];
	if (out->from.domain_literal)
		format_add_problem(out, FORMAT_WARN, "From",
		    "From domain %s is an address literal: DMARC cannot apply", out->from.domain);
}

static void
check_date(const struct header_list *hl, struct format_result *out)
{
	unsigned n = header_count(hl, "Date");
	const struct header *h;
	char why[120];

	if (n == 0) {
		format_add_kind(out, FORMAT_K_NO_DATE, FORMAT_FAIL, "Date",
		    "no Date field (RFC 5322 section 3.6 requires one)");
		return;
	}
	if (n > 1)
		return;
	h = header_get(hl, "Date", 1);
	if (format_date_parse(h->value, h->value_len, &out->date, why, sizeof(why)) < 0) {
		format_add_problem(out, FORMAT_WARN, "Date",
		    "Date is not an RFC 5322 date-time: %s", why);
		return;
	}
	out->date_ok = 1;
}

static void
check_message_id(const struct header_list *hl, struct format_result *out, struct addr_list *al)
{
	unsigned n = header_count(hl, "Message-ID");
	const struct header *h;

	if (n == 0) {
		format_add_kind(out, FORMAT_K_NO_MSGID, FORMAT_FAIL, "Message-ID",
		    "no Message-ID field (RFC 5322 section 3.6.4 asks for one)");
		return;
	}
	if (n > 1)
		return;
	h = header_get(hl, "Message-ID", 1);
	/*
	 * msg-id is "<" id-left "@" id-right ">", whose obsolete form is
	 * "<" local-part "@" domain ">": an angle-addr without display name
	 * or route, which the address parser reads exactly.
	 */
	if (addr_parse(h->value, h->value_len, al) < 0 || al->n_total != 1 ||
	    al->n_groups != 0 || !al->v[0].angle || al->v[0].has_display || al->v[0].route)
		format_add_problem(out, FORMAT_WARN, "Message-ID",
		    "Message-ID is not <left@right> (RFC 5322 section 3.6.4)");
}

static void
check_sender_reply_to(const struct header_list *hl, struct format_result *out, struct addr_list *al)
{
	const struct header *h;

	if (header_count(hl, "Sender") == 1) {
		h = header_get(hl, "Sender", 1);
		if (addr_parse(h->value, h->value_len, al) < 0)
			format_add_problem(out, FORMAT_WARN, "Sender", "Sender does not parse at octet %zu: %s",
			    al->error_pos, al->why);
		else if (al->n_total != 1 || al->n_groups != 0)
			format_add_problem(out, FORMAT_WARN, "Sender",
			    "Sender is not one mailbox (RFC 5322 section 3.6.2)");
	}
	if (header_count(hl, "Reply-To") == 1) {
		h = header_get(hl, "Reply-To", 1);
		if (addr_parse(h->value, h->value_len, al) < 0)
			format_add_problem(out, FORMAT_WARN, "Reply-To", "Reply-To does not parse at octet %zu: %s",
			    al->error_pos, al->why);
	}
}

/* The first physical line of h longer than FORMAT_MAX_LINE octets, if any. */
static void
check_lines(const struct header *h, struct format_result *out)
{
	size_t line = 1, cur = strlen(h->name) + 1;

	for (size_t i = 0;; i++) {
		int eol = i == h->value_len || h->value[i] == '\n';

		if (!eol) {
			if (!(h->value[i] == '\r' && i + 1 < h->value_len && h->value[i + 1] == '\n'))
				cur++;
			continue;
		}
		if (cur > FORMAT_MAX_LINE) {
			format_add_kind(out, FORMAT_K_LONG_LINE, FORMAT_FAIL, h->name,
			    "%s: line %zu is %zu octets (RFC 5322 section 2.1.1 allows %d)",
			    h->name, line, cur, FORMAT_MAX_LINE);
			return;
		}
		if (i == h->value_len)
			return;
		line++;
		cur = 0;
	}
}

void
format_check(const struct header_list *hl, struct format_result *out)
{
	struct addr_list al;

	/* v[] (6 KB) is filled entry by entry and read only up to n: not zeroed */
	memset(out, 0, offsetof(struct format_result, v));
	memset(&out->v[FORMAT_MAX_PROBLEMS], 0,
	    sizeof(*out) - offsetof(struct format_result, v[FORMAT_MAX_PROBLEMS]));
	out->pass = 1;
	check_from(hl, out, &al);
	check_date(hl, out);
	check_message_id(hl, out, &al);
	check_duplicates(hl, out);
	check_sender_reply_to(hl, out, &al);
	for (size_t i = 0; i < hl->n; i++)
		check_lines(&hl->v[i], out);
}
