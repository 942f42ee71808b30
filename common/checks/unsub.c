/*
 * unsub: RFC 2369 / RFC 8058 one-click unsubscribe checks and bulk hints;
 * see unsub.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rfc5322.h"
#include "sbuf.h"
#include "unsub.h"

/* ---- List-Unsubscribe (RFC 2369 section 2) ---- */

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
static enum unsub_scheme
classify(const char *uri)
{
	size_t n = 0;

	if (!((uri[0] >= 'a' && uri[0] <= 'z') || (uri[0] >= 'A' && uri[0] <= 'Z')))
		return UNSUB_OTHER;
	while ((uri[n] >= 'a' && uri[n] <= 'z') || (uri[n] >= 'A' && uri[n] <= 'Z') ||
	    (uri[n] >= '0' && uri[n] <= '9') || uri[n] == '+' || uri[n] == '-' || uri[n] == '.')
		n++;
	if (uri[n] != ':')
		return UNSUB_OTHER;
	if (n == 6 && strncasecmp(uri, "mailto", 6) == 0)
		return UNSUB_MAILTO;
	if ((n == 5 && strncasecmp(uri, "https", 5) == 0) || (n == 4 && strncasecmp(uri, "http", 4) == 0)) {
		const char *rest = uri + n + 1;

		/* an authority is needed: "//" and a host */
		if (strncmp(rest, "//", 2) != 0 || rest[2] == '\0' || strchr("/?#", rest[2]) != NULL)
			return UNSUB_OTHER;
		return n == 5 ? UNSUB_HTTPS : UNSUB_HTTP;
	}
	return UNSUB_OTHER;
}

static void
stop(struct unsub_list *out, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
stop(struct unsub_list *out, size_t pos, const char *fmt, ...)
{
	va_list ap;

	out->stopped = 1;
	out->stop_pos = pos;
	va_start(ap, fmt);
	str_vformat(out->stop_why, sizeof(out->stop_why), fmt, ap);
	va_end(ap);
}

static void
add_uri(struct unsub_list *out, const char *uri, int truncated)
{
	out->n_uris++;
	switch (classify(uri)) {
	case UNSUB_HTTPS:
		if (out->n_https++ == 0) {
			memcpy(out->https, uri, strlen(uri) + 1);
			out->https_truncated = truncated;
		}
		out->has_https = 1;
		break;
	case UNSUB_HTTP:
		out->n_http++;
		out->has_http = 1;
		break;
	case UNSUB_MAILTO:
		out->n_mailto++;
		out->has_mailto = 1;
		break;
	case UNSUB_OTHER:
		out->n_other++;
		break;
	}
}

/*
 * Reads "<...>" at *pos: the URI without white space into uri (cut at
 * UNSUB_URI_MAX, *truncated set). -1 if there is no closing '>'.
 */
static int
read_bracketed(const char *s, size_t len, size_t *pos, char *uri, int *truncated)
{
	size_t o = 0;

	*truncated = 0;
	for (size_t i = *pos + 1; i < len; i++) {
		if (s[i] == '>') {
			uri[o] = '\0';
			*pos = i + 1;
			return 0;
		}
		if (is_blank(s[i]))
			continue;
		if (o < UNSUB_URI_MAX)
			uri[o++] = s[i];
		else
			*truncated = 1;
	}
	return -1;
}

size_t
unsub_parse_list(const char *value, size_t len, struct unsub_list *out)
{
	char uri[UNSUB_URI_MAX + 1];
	size_t pos = 0, item = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		int truncated;

		if (r5322_skip_cfws_lenient(value, len, &pos) < 0) {
			stop(out, pos, "unclosed comment: the rest is ignored");
			break;
		}
		if (pos >= len) {
			if (item == 0)
				stop(out, pos, "empty value");
			break;
		}
		if (value[pos] != '<') {
			if (item == 0)
				stop(out, pos, "value does not start with '<': ignored (RFC 2369 section 2)");
			else
				stop(out, pos, "item %zu is not in angle brackets: it and the rest are "
				    "ignored (RFC 2369 section 2)", item + 1);
			break;
		}
		if (read_bracketed(value, len, &pos, uri, &truncated) < 0) {
			stop(out, pos, "item %zu has no closing '>': it is ignored", item + 1);
			break;
		}
		add_uri(out, uri, truncated);
		item++;
		if (r5322_skip_cfws_lenient(value, len, &pos) < 0) {
			stop(out, pos, "unclosed comment: the rest is ignored");
			break;
		}
		if (pos >= len)
			break;
		if (value[pos] != ',') {
			stop(out, pos, "text after item %zu is not a comma: the rest is ignored "
			    "(RFC 2369 section 2)", item);
			break;
		}
		pos++;
	}
	out->mailto_only = out->n_uris > 0 && out->n_mailto == out->n_uris;
	return out->n_uris;
}

int
unsub_post_value_ok(const char *value, size_t len)
{
	size_t i = 0, n = strlen(UNSUB_POST_VALUE);

	if (i < len && value[i] == ' ')
		i++;
	if (len - i < n || memcmp(value + i, UNSUB_POST_VALUE, n) != 0)
		return 0;
	for (i += n; i < len; i++)
		if (value[i] != ' ' && value[i] != '\t')
			return 0;
	return 1;
}

/* ---- the check ---- */

static void
problem(struct unsub_result *out, unsigned bit, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
problem(struct unsub_result *out, unsigned bit, const char *fmt, ...)
{
	va_list ap;

	out->problems |= bit;
	if (out->n_reasons >= UNSUB_MAX_REASONS)
		return;
	va_start(ap, fmt);
	str_vformat(out->reasons[out->n_reasons++], sizeof(out->reasons[0]), fmt, ap);
	va_end(ap);
}

static void
note(struct unsub_result *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
note(struct unsub_result *out, const char *fmt, ...)
{
	va_list ap;

	if (out->n_notes >= UNSUB_MAX_NOTES)
		return;
	va_start(ap, fmt);
	str_vformat(out->notes[out->n_notes++], sizeof(out->notes[0]), fmt, ap);
	va_end(ap);
}

/* A printable excerpt of a value: folds and blanks at the ends dropped. */
static void
excerpt(const char *v, size_t len, char *buf, size_t cap)
{
	size_t o = 0, i = 0;

	while (i < len && is_blank(v[i]))
		i++;
	while (len > i && is_blank(v[len - 1]))
		len--;
	for (; i < len && o + 4 < cap; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\r' || c == '\n')
			continue;
		buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (i < len && o + 4 <= cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

static void
check_list_unsub(const struct header_list *hl, struct unsub_result *out)
{
	const struct header *h;
	struct unsub_list *l = &out->list;

	if (out->n_list_unsub == 0) {
		problem(out, UNSUB_P_NO_LIST_UNSUB, "no List-Unsubscribe field");
		return;
	}
	if (out->n_list_unsub > 1)
		problem(out, UNSUB_P_DUP_LIST_UNSUB,
		    "%u List-Unsubscribe fields (one-click needs exactly one)", out->n_list_unsub);
	h = header_get(hl, "List-Unsubscribe", 1);
	unsub_parse_list(h->value, h->value_len, l);
	out->has_https = l->has_https;
	out->has_http = l->has_http;
	out->has_mailto = l->has_mailto;
	out->mailto_only = l->mailto_only;
	if (l->n_uris == 0)
		problem(out, UNSUB_P_NO_URI | UNSUB_P_NO_HTTPS,
		    "List-Unsubscribe has no URI in angle brackets (%s)", l->stop_why);
	else if (l->mailto_only)
		problem(out, UNSUB_P_NO_HTTPS | UNSUB_P_MAILTO_ONLY,
		    "List-Unsubscribe has only mailto: URIs (Google needs an https one-click URI; "
		    "Yahoo accepts mailto)");
	else if (!l->has_https && l->has_http)
		problem(out, UNSUB_P_NO_HTTPS | UNSUB_P_HTTP_NOT_HTTPS,
		    "List-Unsubscribe has an http: URI but no https: URI (RFC 8058 needs HTTPS)");
	else if (!l->has_https)
		problem(out, UNSUB_P_NO_HTTPS, "List-Unsubscribe has no https: URI");
	if (l->n_uris > 0 && l->stopped)
		note(out, "List-Unsubscribe: %s", l->stop_why);
	if (l->n_https > 1)
		note(out, "List-Unsubscribe has %zu https: URIs; the first is used", l->n_https);
	if (l->has_https && l->has_http)
		note(out, "List-Unsubscribe has an http: URI besides the https: one "
		    "(RFC 8058 section 3.1 allows only non-HTTP others)");
	if (l->https_truncated)
		note(out, "the https: URI is longer than %d octets; it is cut", UNSUB_URI_MAX);
}

static void
check_post(const struct header_list *hl, struct unsub_result *out)
{
	const struct header *h;
	char ex[64];

	if (out->n_post == 0) {
		problem(out, UNSUB_P_NO_POST, "no List-Unsubscribe-Post field (RFC 8058 section 3.1)");
		return;
	}
	if (out->n_post > 1)
		problem(out, UNSUB_P_DUP_POST,
		    "%u List-Unsubscribe-Post fields (one-click needs exactly one)", out->n_post);
	for (h = header_next(hl, "List-Unsubscribe-Post", NULL); h != NULL;
	    h = header_next(hl, "List-Unsubscribe-Post", h)) {
		if (!unsub_post_value_ok(h->value, h->value_len)) {
			excerpt(h->value, h->value_len, ex, sizeof(ex));
			problem(out, UNSUB_P_POST_VALUE,
			    "List-Unsubscribe-Post is \"%s\", not exactly \"" UNSUB_POST_VALUE "\"", ex);
			return;
		}
	}
	out->post_ok = out->n_post == 1;
}

static void
set_sig(struct unsub_result *out, const struct dkim_sig_result *sigs, size_t i)
{
	out->sig_index = (int)i;
	out->sig_result = sigs[i].result;
	str_format(out->sig_domain, sizeof(out->sig_domain), "%.*s",
	    (int)strnlen(sigs[i].domain, sizeof(sigs[i].domain)), sigs[i].domain);
}

static void
check_signed(struct unsub_result *out, const struct dkim_sig_result *sigs, size_t nsigs)
{
	int rank = 0;		/* 3 full pass, 2 partial pass, 1 not pass */
	int lu_signed = 0, post_signed = 0;
	unsigned best_lu = 0, best_post = 0;

	for (size_t i = 0; i < nsigs; i++) {
		unsigned c_lu = sigs[i].signs[DKIM_H_LIST_UNSUB];
		unsigned c_post = sigs[i].signs[DKIM_H_LIST_UNSUB_POST];
		int pass = sigs[i].result == DKIM_RES_PASS;
		int full = c_lu >= out->n_list_unsub && c_post >= out->n_post;

		if (pass) {
			lu_signed |= c_lu > 0;
			post_signed |= c_post > 0;
		}
		if (c_lu == 0 || c_post == 0)
			continue;
		if (pass && full && out->n_covering < DKIM_MAX_LISTED)
			out->covering[out->n_covering++] = i;
		if (pass && full && rank < 3) {
			rank = 3;
			set_sig(out, sigs, i);
		} else if (pass && rank < 2) {
			rank = 2;
			set_sig(out, sigs, i);
			best_lu = c_lu;
			best_post = c_post;
		} else if (!pass && rank < 1) {
			rank = 1;
			set_sig(out, sigs, i);
		}
	}
	if (rank == 3)
		return;
	if (rank == 2) {
		problem(out, UNSUB_P_UNSIGNED_COPY,
		    "signature %d (d=%s) signs List-Unsubscribe %u and List-Unsubscribe-Post %u "
		    "time(s), the message has %u and %u: a copy is unsigned",
		    out->sig_index + 1, out->sig_domain, best_lu, best_post,
		    out->n_list_unsub, out->n_post);
	} else if (rank == 1) {
		problem(out, UNSUB_P_SIG_FAILED,
		    "List-Unsubscribe and List-Unsubscribe-Post are signed only by signature %d "
		    "(d=%s), which did not pass (%s)", out->sig_index + 1, out->sig_domain,
		    dkim_res_str(out->sig_result));
	} else if (nsigs == 0) {
		problem(out, UNSUB_P_NOT_SIGNED,
		    "no DKIM signature covers List-Unsubscribe and List-Unsubscribe-Post "
		    "(RFC 8058 section 4)");
	} else if (lu_signed && post_signed) {
		problem(out, UNSUB_P_NOT_SIGNED,
		    "List-Unsubscribe and List-Unsubscribe-Post are not in h= of the same passing "
		    "DKIM signature (RFC 8058 section 4)");
	} else {
		problem(out, UNSUB_P_NOT_SIGNED, "%s not in h= of a passing DKIM signature "
		    "(RFC 8058 section 4)", lu_signed ? "List-Unsubscribe-Post is" :
		    post_signed ? "List-Unsubscribe is" :
		    "List-Unsubscribe and List-Unsubscribe-Post are");
	}
}

void
unsub_check(const struct header_list *hl, const struct dkim_sig_result *sigs,
    size_t nsigs, struct unsub_result *out)
{
	memset(out, 0, sizeof(*out));
	out->sig_index = -1;
	out->sig_result = DKIM_RES_NONE;
	out->n_list_unsub = header_count(hl, "List-Unsubscribe");
	out->n_post = header_count(hl, "List-Unsubscribe-Post");
	check_list_unsub(hl, out);
	check_post(hl, out);
	if (out->n_list_unsub > 0 && out->n_post > 0)
		check_signed(out, sigs, sigs ? nsigs : 0);
	out->pass = out->problems == 0;
}

/* ---- bulk hints ---- */

static int
precedence_bulk(const struct header *h)
{
	const char *v = h->value;
	size_t len = h->value_len;

	while (len > 0 && is_blank(*v)) {
		v++;
		len--;
	}
	while (len > 0 && is_blank(v[len - 1]))
		len--;
	return (len == 4 && (strncasecmp(v, "bulk", 4) == 0 || strncasecmp(v, "list", 4) == 0));
}

unsigned
unsub_bulk_hints(const struct header_list *hl, char *names, size_t namelen)
{
	static const char *const hint_names[] = {
		"List-Unsubscribe", "List-Id", "Precedence", "Feedback-ID"
	};
	const struct header *h;
	unsigned hints = 0;
	size_t o = 0;

	if (header_count(hl, "List-Unsubscribe") > 0)
		hints |= BULK_HINT_LIST_UNSUB;
	if (header_count(hl, "List-Id") > 0)
		hints |= BULK_HINT_LIST_ID;
	for (h = header_next(hl, "Precedence", NULL); h != NULL && !(hints & BULK_HINT_PRECEDENCE);
	    h = header_next(hl, "Precedence", h))
		if (precedence_bulk(h))
			hints |= BULK_HINT_PRECEDENCE;
	if (header_count(hl, "Feedback-ID") > 0)
		hints |= BULK_HINT_FEEDBACK_ID;
	if (names == NULL || namelen == 0)
		return hints;
	names[0] = '\0';
	for (unsigned b = 0; b < 4; b++) {
		int w;

		if (!(hints & (1u << b)))
			continue;
		w = str_format(names + o, namelen - o, "%s%s", o ? ", " : "", hint_names[b]);
		if (w < 0 || (size_t)w >= namelen - o)
			break;
		o += (size_t)w;
	}
	return hints;
}
