/*
 * report: the renderers of a verdict that write text: resinfo header
 * fields, the log line, the report and the JSON record. Each is a sink
 * of the field table's walk (fields.h) and knows only its syntax.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "escape.h"
#include "fields.h"
#include "json.h"
#include "log.h"
#include "report.h"
#include "sbuf.h"

size_t
report_clean_text(char *dst, size_t dstlen, const char *src)
{
	/* measured first: the copy is then a plain loop (dst may be src) */
	size_t n = dstlen > 0 ? strnlen(src, dstlen - 1) : 0;

	if (dstlen == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = ch < ' ' ? ' ' : ch >= 0x7f ? '?' : (char)ch;
	}
	dst[n] = '\0';
	return n;
}

/* The text of a value: enum names (or the report's words), numbers,
 * yes/no; NULL when absent, empty or blank. */
static const char *
value_text(const struct vfield *f, const struct vval *val, int words, char *buf, size_t len)
{
	const char *s;

	if (!val->present)
		return NULL;
	switch (f->type) {
	case VF_INT:
		str_format(buf, len, "%lld", val->n);
		s = buf;
		break;
	case VF_BOOL:
		s = words && f->tname ? f->tname((int)val->n) : val->n ? "yes" : "no";
		break;
	case VF_ENUM:
		s = words && f->tname ? f->tname((int)val->n) : val->s;
		break;
	default:
		s = val->s;
		break;
	}
	if (s == NULL || s[0] == '\0' || (f->blank && strcmp(s, f->blank) == 0))
		return NULL;
	return s;
}

/* ---- resinfo: Authentication-Results and the compliance field ---- */

struct ar_sink {
	struct authres a;
	const char *method;	/* of the group or item being written */
	int writing;		/* its result was written */
};

static void
ar_open(void *arg, const struct vfield *f, const struct vctx *c)
{
	struct ar_sink *s = arg;

	if (f->ar_role == AR_METHOD && (f->type == VF_GROUP || c->via == f)) {
		s->method = f->ar ? f->ar : vctx_key(c);
		s->writing = 0;
	}
}

static void
ar_value(void *arg, const struct vfield *f, const struct vctx *c, const struct vval *val)
{
	struct ar_sink *s = arg;
	char num[32];
	const char *t = value_text(f, val, 0, num, sizeof(num));

	(void)c;
	if (f->type == VF_GROUP || f->type == VF_MAP)
		return;
	if (f->type == VF_LIST) {
		/* an empty list of results: what it says ("dkim=none") */
		if (f->ar_role == AR_METHOD && t != NULL)
			authres_method(&s->a, f->ar, t);
		return;
	}
	switch (f->ar_role) {
	case AR_RESULT:
		s->writing = t != NULL;
		if (t != NULL)
			authres_method(&s->a, s->method, t);
		break;
	case AR_REASON:
		if (s->writing && t != NULL)
			authres_reason(&s->a, t);
		break;
	case AR_COMMENT:
		if (s->writing && t != NULL)
			authres_comment(&s->a, t);
		break;
	case AR_PROP:
		if (s->writing && t != NULL)
			authres_prop(&s->a, f->ar, t);
		break;
	case AR_PROP_QUOTED:
		if (s->writing && t != NULL)
			authres_prop_quoted(&s->a, f->ar, t);
		break;
	case AR_METHOD:
	case AR_NONE:
		break;
	}
}

static char *
resinfo(const struct verdict *v, const char *authserv_id, unsigned output)
{
	static const struct vsink sink = { ar_open, NULL, ar_value };
	struct ar_sink s = { .method = "" };
	char why[160];

	authres_begin(&s.a, authserv_id);
	if (verdict_walk(verdict_fields, v, output, &sink, &s, why, sizeof(why)) < 0)
		log_warn("resinfo: %s", why);
	return authres_end(&s.a);
}

char *
report_authres(const struct verdict *v, const char *authserv_id)
{
	return resinfo(v, authserv_id, VO_AR);
}

/* "mx.example.net; bulk=yes (List-Unsubscribe); google=fail
 * policy.rules="oneclick,dmarc-record"; yahoo=pass; microsoft=pass" */
char *
report_compliance(const struct verdict *v, const char *authserv_id)
{
	return resinfo(v, authserv_id, VO_COMPL);
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
	/* RFC 7208 2.4: the null sender's identity is MAIL FROM's too
	 * (postmaster@HELO) */
	sbuf_addstr(&b, "; identity=mailfrom");
	return sbuf_detach(&b);
}

/* ---- the log line and the report: formats per field ---- */

#define LINE_DEPTH 8
#define REPORT_COLUMN 12

struct line_sink {
	struct sbuf *b;
	int report;		/* sendercheck-test's report, else the log line */
	size_t depth;
	struct { const struct vfield *list; size_t items; } open[LINE_DEPTH];
	struct sbuf esc;	/* the value being escaped: one buffer for the whole line */
};

/* The next item of the innermost list: its heading first, a separator between. */
static void
line_item(struct line_sink *s, const struct vfield *list, const struct vctx *c)
{
	if (s->depth == 0 || s->open[s->depth - 1].list != list)
		return;
	if (s->open[s->depth - 1].items == 0 && s->report && list->head)
		vfield_format(s->b, list->head, c, NULL, REPORT_COLUMN);
	else if (s->open[s->depth - 1].items > 0 && list->sep)
		sbuf_addstr(s->b, list->sep);
	s->open[s->depth - 1].items++;
}

static void
line_open(void *arg, const struct vfield *f, const struct vctx *c)
{
	struct line_sink *s = arg;

	if (f->type == VF_GROUP) {
		if (s->report && f->head)
			vfield_format(s->b, f->head, c, NULL, REPORT_COLUMN);
	} else if (c->via == f) {
		line_item(s, f, c);
	} else if (s->depth < LINE_DEPTH) {
		s->open[s->depth].list = f;
		s->open[s->depth++].items = 0;
	}
}

static void
line_close(void *arg, const struct vfield *f, const struct vctx *c)
{
	struct line_sink *s = arg;

	if (f->type != VF_GROUP && c->via != f && s->depth > 0 && s->open[s->depth - 1].list == f)
		s->depth--;
}

static void
line_value(void *arg, const struct vfield *f, const struct vctx *c, const struct vval *val)
{
	struct line_sink *s = arg;
	const char *fmt = s->report ? f->text : f->log, *none = s->report ? f->text_none : f->log_none;
	char num[32];
	const char *t;

	if (val->na)
		return;		/* does not apply: left out */
	if (f->key == NULL && c->via != NULL)
		line_item(s, c->via, c);
	/* a boolean written as a phrase: only when true */
	if (f->type == VF_BOOL && fmt != NULL && strstr(fmt, "%s") == NULL) {
		if (val->present && val->n)
			vfield_format(s->b, fmt, c, NULL, s->report ? REPORT_COLUMN : 0);
		return;
	}
	t = value_text(f, val, s->report, num, sizeof(num));
	if (t != NULL && fmt != NULL) {
		/* text can come from the sender (HELO, MAIL FROM, d=, reasons):
		 * one value, no forged pair, no terminal control (escape.h) */
		sbuf_reset(&s->esc);
		escape_text(&s->esc, t, s->report ? ESCAPE_KEEP_SPACE | ESCAPE_KEEP_QUOTES | ESCAPE_KEEP_LAYOUT :
		    strstr(fmt, "\"%s\"") ? ESCAPE_KEEP_SPACE : 0);
		vfield_format(s->b, fmt, c, s->esc.s, s->report ? REPORT_COLUMN : 0);
	} else if (t == NULL && none != NULL) {
		vfield_format(s->b, none, c, NULL, s->report ? REPORT_COLUMN : 0);
	}
}

/* The log line or the report: of every field, or of the one named key. */
static char *
lines(const struct verdict *v, int report, const char *key)
{
	static const struct vsink sink = { line_open, line_close, line_value };
	unsigned out = report ? VO_TEXT : VO_LOG;
	struct sbuf b;
	struct line_sink s = { &b, report, 0, { { NULL, 0 } }, { NULL, 0, 0, 0, 0 } };
	char why[160];
	int rc;

	sbuf_init(&b, 1 << 20);
	sbuf_presize(&b, report ? 4096 : 1024);	/* a usual one in one allocation */
	sbuf_init(&s.esc, 4 << 20);	/* escaping at most quadruples a value */
	sbuf_presize(&s.esc, 256);
	rc = key ? verdict_walk_key(verdict_fields, key, 0, v, out, &sink, &s, why, sizeof(why)) :
	    verdict_walk(verdict_fields, v, out, &sink, &s, why, sizeof(why));
	if (rc < 0)
		log_warn("%s: %s", report ? "report" : "log line", why);
	if (report)
		sbuf_addc(&b, '\n');
	sbuf_free(&s.esc);
	return sbuf_detach(&b);
}

char *
report_log_line(const struct verdict *v)
{
	return lines(v, 0, NULL);
}

char *
report_text(const struct verdict *v, const char *key)
{
	return lines(v, 1, key);
}

/* ---- JSON ---- */

static void
json_open(void *arg, const struct vfield *f, const struct vctx *c)
{
	struct json *j = arg;

	if (f->type == VF_GROUP)
		json_obj_begin(j, f->key);
	else if (c->via == f)
		json_obj_begin(j, f->type == VF_MAP ? f->name((int)c->index) : NULL);
	else if (f->type == VF_LIST)
		json_arr_begin(j, f->key);
	else
		json_obj_begin(j, f->key);
}

static void
json_close(void *arg, const struct vfield *f, const struct vctx *c)
{
	struct json *j = arg;

	if (f->type == VF_LIST && c->via != f)
		json_arr_end(j);
	else
		json_obj_end(j);
}

static void
json_value(void *arg, const struct vfield *f, const struct vctx *c, const struct vval *val)
{
	struct json *j = arg;

	(void)c;
	if (!val->present) {
		json_str(j, f->key, NULL);
		return;
	}
	switch (f->type) {
	case VF_STR:
	case VF_ENUM:
		json_str(j, f->key, val->s);
		break;
	case VF_INT:
		json_int(j, f->key, (long)val->n);
		break;
	case VF_BOOL:
		json_bool(j, f->key, (int)val->n);
		break;
	default:
		break;		/* what an empty list says: the list is [] */
	}
}

static const struct vsink json_sink = { json_open, json_close, json_value };

char *
report_json(const struct verdict *v, int full)
{
	struct sbuf b;
	struct json j;
	char why[160];

	sbuf_init(&b, 1 << 24);
	sbuf_presize(&b, 4096);
	json_init(&j, &b);
	json_obj_begin(&j, NULL);
	if (verdict_walk(verdict_fields, v, VO_JSON | (full ? VO_FULL : 0), &json_sink, &j, why,
	    sizeof(why)) < 0)
		log_warn("JSON record: %s", why);
	json_obj_end(&j);
	return sbuf_detach(&b);
}

void
report_json_key(struct json *j, const struct verdict *v, const char *key, int inner, int full)
{
	char why[160];

	if (verdict_walk_key(verdict_fields, key, inner, v, VO_JSON | (full ? VO_FULL : 0), &json_sink,
	    j, why, sizeof(why)) < 0)
		log_warn("JSON record: %s", why);
}

/* ---- the table itself, for people: sendercheck-test --fields ---- */

static const char *
type_name(const struct vfield *f)
{
	static const char *const n[] = { [VF_STR] = "string", [VF_INT] = "number", [VF_BOOL] = "bool",
		[VF_ENUM] = "name", [VF_GROUP] = "object", [VF_LIST] = "array", [VF_MAP] = "object" };

	return n[f->type] ? n[f->type] : "?";
}

static void
fields_of(struct sbuf *b, const struct vfield *rows, const char *prefix)
{
	static const struct { unsigned bit; const char *name; } outs[] = {
		{ VO_JSON, "json" }, { VO_FULL, "full" }, { VO_LOG, "log" }, { VO_TEXT, "report" },
		{ VO_STATS, "stats" }, { VO_METRIC, "metrics" }, { VO_AR, "A-R" },
		{ VO_COMPL, "compliance" },
	};

	for (const struct vfield *f = rows; f->type != VF_END; f++) {
		unsigned reach = vfield_reach(f);
		char path[256], where[80] = "";

		if (!(reach & (VO_JSON | VO_FULL)))
			continue;	/* not in the record (a renderer's helper) */
		str_format(path, sizeof(path), "%s%s%s%s", prefix, prefix[0] && f->key ? "." : "",
		    f->key ? f->key : "", f->type == VF_LIST ? "[]" : f->type == VF_MAP ? ".NAME" : "");
		for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++)
			if (reach & outs[i].bit)
				str_format(where + strlen(where), sizeof(where) - strlen(where), "%s%s",
				    where[0] ? "," : "", outs[i].name);
		sbuf_printf(b, "%-40s %-7s %-38s %s", path, type_name(f), where, f->doc ? f->doc : "");
		if (f->type == VF_ENUM || f->type == VF_MAP) {
			const char *sep = f->type == VF_MAP ? " (NAME: " : " (";

			for (int i = 0; i < f->count; i++)
				if (f->name(i)[0] != '?') {
					sbuf_printf(b, "%s%s", sep, f->name(i));
					sep = " ";
				}
			sbuf_addc(b, ')');
		}
		if (f->col != NULL) {
			sbuf_addstr(b, " [column ");
			for (const char *p = f->col; *p; p++)
				if (p[0] == '%' && p[1] == 'k')
					sbuf_addstr(b, "NAME"), p++;
				else
					sbuf_addc(b, *p);
			sbuf_addc(b, ']');
		}
		sbuf_addc(b, '\n');
		if (f->sub != NULL && f->sub[0].key != NULL)
			fields_of(b, f->sub, path);
	}
}

char *
report_fields(void)
{
	struct sbuf b;

	sbuf_init(&b, 1 << 20);
	sbuf_printf(&b, "# the JSON record, version %d: path, type, where it appears, meaning\n",
	    VERDICT_JSON_VERSION);
	fields_of(&b, verdict_fields, "");
	return sbuf_detach(&b);
}
