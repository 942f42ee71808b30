/*
 * engine: runs the checks of one message and builds its verdict; see
 * engine.h. Order of work: envelope and headers are collected, DKIM is fed
 * from the end of headers on, SPF and the rest run in check_finish.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authres.h"
#include "engine.h"
#include "log.h"
#include "netaddr.h"
#include "sbuf.h"

/* Fields we write: incoming copies with our authserv-id are forgeries. */
static const char *const owned_fields[] = { "Authentication-Results" };
#define N_OWNED (sizeof(owned_fields) / sizeof(owned_fields[0]))

struct engine {
	const struct sc_config *cfg;
	struct dns_resolver *res;
	struct spf_engine *spf;
	struct dkim_verifier *dkim;
};

struct check {
	struct engine *e;
	struct dns_ctx dns;
	char client_ip[64];
	char client_name[256];
	char helo[256];
	char mail_from[512];
	char queue_id[64];
	char tls_version[32];
	char cipher[64];
	unsigned n_rcpt;
	int internal;
	int null_sender;
	struct header_list headers;
	char input_error[160];		/* first problem with the input, "" if none */
	unsigned owned_seen[1];		/* fields seen per owned_fields[] name */
	struct header_removal *forged;	/* incoming copies of our fields */
	size_t n_forged, cap_forged;
	int eoh_done;
	struct dkim_msg *dkim;
	struct verdict v;
};

struct engine *
engine_new(const struct sc_config *cfg, char *why, size_t whylen)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	e->cfg = cfg;
	e->res = dns_resolver_new(cfg->nameservers, cfg->n_nameservers, cfg->dns_cache_size,
	    why, whylen);
	if (e->res == NULL)
		goto fail;
	e->spf = spf_engine_new((enum spf_engine_kind)cfg->spf_engine, cfg->authserv_id, why, whylen);
	if (e->spf == NULL)
		goto fail;
	e->dkim = dkim_verifier_new(cfg->max_signatures, why, whylen);
	if (e->dkim == NULL)
		goto fail;
	return e;
fail:
	engine_free(e);
	return NULL;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	if (e->dkim)
		dkim_verifier_free(e->dkim);
	if (e->spf)
		spf_engine_free(e->spf);
	if (e->res)
		dns_resolver_free(e->res);
	free(e);
}

const struct sc_config *
engine_config(const struct engine *e)
{
	return e->cfg;
}

struct check *
check_new(struct engine *e)
{
	struct check *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->e = e;
	dns_ctx_init(&c->dns, e->res, e->cfg->dns_timeout_ms);
	header_list_init(&c->headers);
	return c;
}

void
check_free(struct check *c)
{
	if (c == NULL)
		return;
	if (c->dkim)
		dkim_msg_free(c->dkim);
	header_list_free(&c->headers);
	free(c->forged);
	for (size_t i = 0; i < c->v.n_add; i++) {
		free(c->v.add[i].name);
		free(c->v.add[i].value);
	}
	free(c->v.log_line);
	free(c);
}

/* Copies an envelope value; notes when it had to be cut. */
static void
set_field(struct check *c, char *dst, size_t dstlen, const char *src, const char *what)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= dstlen) {
		if (c->input_error[0] == '\0')
			snprintf(c->input_error, sizeof(c->input_error),
			    "%s longer than %zu characters", what, dstlen - 1);
		n = dstlen - 1;
	}
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

void
check_set_client(struct check *c, const char *ip, const char *hostname)
{
	struct netaddr a;

	set_field(c, c->client_ip, sizeof(c->client_ip), ip, "client address");
	set_field(c, c->client_name, sizeof(c->client_name), hostname, "client name");
	if (netaddr_parse(c->client_ip, &a) == 0) {
		netaddr_str(&a, c->client_ip, sizeof(c->client_ip));
		c->internal = cidr_list_match(&c->e->cfg->internal_hosts, &a);
	}
}

void
check_set_helo(struct check *c, const char *helo)
{
	set_field(c, c->helo, sizeof(c->helo), helo, "HELO name");
}

void
check_set_mail_from(struct check *c, const char *mail_from)
{
	const char *p = mail_from ? mail_from : "";
	size_t n;

	while (*p == ' ')
		p++;
	n = strlen(p);
	if (n >= 2 && p[0] == '<') {
		const char *close = strchr(p, '>');
		n = close ? (size_t)(close - p - 1) : n - 1;
		p++;
	}
	if (n >= sizeof(c->mail_from))
		n = sizeof(c->mail_from) - 1;
	memcpy(c->mail_from, p, n);
	c->mail_from[n] = '\0';
	c->null_sender = n == 0;
}

void
check_add_rcpt(struct check *c, const char *rcpt)
{
	(void)rcpt;
	c->n_rcpt++;
}

void
check_set_queue_id(struct check *c, const char *qid)
{
	set_field(c, c->queue_id, sizeof(c->queue_id), qid, "queue id");
}

void
check_set_tls(struct check *c, const char *tls_version, const char *cipher)
{
	set_field(c, c->tls_version, sizeof(c->tls_version), tls_version, "TLS version");
	set_field(c, c->cipher, sizeof(c->cipher), cipher, "TLS cipher");
}

int
check_is_internal(const struct check *c)
{
	return c->internal;
}

int
engine_client_internal(const struct engine *e, const char *ip)
{
	struct netaddr a;

	return netaddr_parse(ip, &a) == 0 && cidr_list_match(&e->cfg->internal_hosts, &a);
}

const struct header_list *
check_headers(const struct check *c)
{
	return &c->headers;
}

/*
 * Notes an incoming copy of a field we write if it carries our
 * authserv-id. Every field is seen here, before any limit of the header
 * list, so that no forged copy slips through by coming late.
 */
static void
note_forged(struct check *c, const char *name, const char *value)
{
	for (size_t k = 0; k < N_OWNED; k++) {
		char *id;

		if (strcasecmp(name, owned_fields[k]) != 0)
			continue;
		c->owned_seen[k]++;
		id = authres_authserv_id(value);
		if (id != NULL && strcasecmp(id, c->e->cfg->authserv_id) == 0) {
			if (c->n_forged == c->cap_forged) {
				size_t ncap = c->cap_forged ? 2 * c->cap_forged : 4;
				struct header_removal *nf = realloc(c->forged, ncap * sizeof(*nf));

				if (nf == NULL) {
					snprintf(c->v.error, sizeof(c->v.error),
					    "out of memory noting forged %s fields", owned_fields[k]);
					free(id);
					return;
				}
				c->forged = nf;
				c->cap_forged = ncap;
			}
			c->forged[c->n_forged].name = owned_fields[k];
			c->forged[c->n_forged].index = c->owned_seen[k];
			c->n_forged++;
		}
		free(id);
	}
}

void
check_header(struct check *c, const char *name, const char *value, size_t len)
{
	char why[160];

	if (c->internal)
		return;
	note_forged(c, name, value);
	if (!header_name_valid(name)) {
		if (c->input_error[0] == '\0')
			snprintf(c->input_error, sizeof(c->input_error),
			    "invalid header field name skipped");
		return;
	}
	if (header_list_add(&c->headers, name, value, len, why, sizeof(why)) < 0 &&
	    c->input_error[0] == '\0')
		snprintf(c->input_error, sizeof(c->input_error), "%s", why);
}

void
check_eoh(struct check *c)
{
	/* once only: a verifier made later would miss the body */
	if (c->internal || c->eoh_done)
		return;
	c->eoh_done = 1;
	c->dkim = dkim_msg_new(c->e->dkim, &c->dns, c->queue_id[0] ? c->queue_id : "-");
	if (c->dkim == NULL)
		return;
	for (size_t i = 0; i < c->headers.n; i++)
		dkim_msg_header(c->dkim, c->headers.v[i].name, c->headers.v[i].value);
	dkim_msg_eoh(c->dkim);
}

void
check_body(struct check *c, const unsigned char *p, size_t n)
{
	if (c->dkim != NULL)
		dkim_msg_body(c->dkim, p, n);
}

/* ---- verdict ---- */

static void
run_spf(struct check *c)
{
	struct spf_query q = {
		.client_ip = c->client_ip,
		.helo = c->helo,
		.sender = c->mail_from,
		.identity = c->null_sender ? SPF_ID_HELO : SPF_ID_MAILFROM,
	};

	if (c->client_ip[0] == '\0') {
		memset(&c->v.spf, 0, sizeof(c->v.spf));
		c->v.spf.result = SPF_RES_NONE;
		snprintf(c->v.spf.why, sizeof(c->v.spf.why), "no client address known");
		c->v.spf_done = 0;
		return;
	}
	spf_check(c->e->spf, &c->dns, &q, &c->v.spf);
	c->v.spf_done = 1;
}

static void
run_dkim(struct check *c)
{
	const char *why = NULL;

	if (c->dkim == NULL) {
		if (!c->internal)
			snprintf(c->v.dkim_error, sizeof(c->v.dkim_error), "DKIM verifier unavailable");
		return;
	}
	if (dkim_msg_finish(c->dkim, &c->v.dkim, &c->v.n_dkim, &why) < 0) {
		snprintf(c->v.dkim_error, sizeof(c->v.dkim_error), "%s", why ? why : "DKIM error");
		c->v.dkim = NULL;
		c->v.n_dkim = 0;
	}
}

static int
dkim_any(const struct verdict *v, enum dkim_res r)
{
	for (size_t i = 0; i < v->n_dkim; i++)
		if (v->dkim[i].result == r)
			return 1;
	return 0;
}

/*
 * The first signature that failed verification or our key policy. A
 * permerror (no key, bad syntax, expired) counts as no signature, as
 * RFC 6376 §6.1 says, so it never triggers On-DKIMFail.
 */
static const struct dkim_sig_result *
dkim_first_failed(const struct verdict *v)
{
	for (size_t i = 0; i < v->n_dkim; i++)
		if (v->dkim[i].result == DKIM_RES_FAIL || v->dkim[i].result == DKIM_RES_POLICY)
			return &v->dkim[i];
	return NULL;
}

static const struct dkim_sig_result *
dkim_first_temp(const struct verdict *v)
{
	for (size_t i = 0; i < v->n_dkim; i++)
		if (v->dkim[i].result == DKIM_RES_TEMPERROR)
			return &v->dkim[i];
	return &v->dkim[0];
}

static int
severity(enum action a)
{
	static const int rank[] = { [ACT_ACCEPT] = 0, [ACT_QUARANTINE] = 1,
	    [ACT_TEMPFAIL] = 2, [ACT_REJECT] = 3 };

	return rank[a];
}

/* Printable ASCII, single-line copy for SMTP replies and headers. */
static void
clean_text(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;

	for (; *src && i + 1 < dstlen; src++) {
		unsigned char ch = (unsigned char)*src;
		dst[i++] = ch < ' ' ? ' ' : ch >= 0x7f ? '?' : (char)ch;
	}
	dst[i] = '\0';
}

static void
set_reply(struct verdict *v, const char *xcode_perm, const char *xcode_temp, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
set_reply(struct verdict *v, const char *xcode_perm, const char *xcode_temp, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (v->action == ACT_TEMPFAIL)
		strncat(text, "; try again later", sizeof(text) - strlen(text) - 1);
	clean_text(v->smtp_text, sizeof(v->smtp_text), text);
	snprintf(v->quarantine_reason, sizeof(v->quarantine_reason), "sendercheck: %s", v->smtp_text);
	if (v->action == ACT_REJECT) {
		snprintf(v->smtp_rcode, sizeof(v->smtp_rcode), "550");
		snprintf(v->smtp_xcode, sizeof(v->smtp_xcode), "%s", xcode_perm);
	} else if (v->action == ACT_TEMPFAIL) {
		snprintf(v->smtp_rcode, sizeof(v->smtp_rcode), "451");
		snprintf(v->smtp_xcode, sizeof(v->smtp_xcode), "%s", xcode_temp);
	}
}

static void
decide(struct check *c)
{
	const struct sc_config *cfg = c->e->cfg;
	struct verdict *v = &c->v;
	int dkim_pass = dkim_any(v, DKIM_RES_PASS);
	int spf_pass = v->spf_done && v->spf.result == SPF_RES_PASS;
	/* DNS trouble matters only when it leaves the message unauthenticated */
	int spf_temp = v->spf_done && v->spf.result == SPF_RES_TEMPERROR && !dkim_pass;
	int dkim_temp = !dkim_pass && !spf_pass && dkim_any(v, DKIM_RES_TEMPERROR);
	const struct dkim_sig_result *dfail = dkim_pass ? NULL : dkim_first_failed(v);
	struct { int hit; enum action act; const char *cause; } cand[] = {
		{ v->error[0] != '\0' || v->dkim_error[0] != '\0', cfg->on_error, "error" },
		{ spf_temp || dkim_temp, cfg->on_dns_error, "dns-error" },
		{ v->spf_done && v->spf.result == SPF_RES_FAIL, cfg->on_spf_fail, "spf-fail" },
		{ v->spf_done && v->spf.result == SPF_RES_SOFTFAIL, cfg->on_spf_softfail, "spf-softfail" },
		{ dfail != NULL, cfg->on_dkim_fail, "dkim-fail" },
	};
	const size_t ncand = sizeof(cand) / sizeof(cand[0]);
	size_t pick = ncand;

	/* the first condition met, unless a later one asks for a harsher action */
	v->action = ACT_ACCEPT;
	for (size_t i = 0; i < ncand; i++) {
		if (!cand[i].hit)
			continue;
		if (pick == ncand || severity(cand[i].act) > severity(v->action)) {
			v->action = cand[i].act;
			pick = i;
		}
	}
	if (pick == ncand) {
		snprintf(v->cause, sizeof(v->cause), "none");
		return;
	}
	snprintf(v->cause, sizeof(v->cause), "%s", cand[pick].cause);
	switch (pick) {
	case 0:
		set_reply(v, "5.3.0", "4.3.0", "Internal error while checking the sender (%s)",
		    v->error[0] ? v->error : v->dkim_error);
		break;
	case 1:
		if (spf_temp)
			set_reply(v, "5.7.27", "4.7.27", "DNS failure checking the SPF record of %s",
			    v->spf.domain[0] ? v->spf.domain : "the sender");
		else
			set_reply(v, "5.7.30", "4.7.30", "DNS failure fetching the DKIM key of %s",
			    dkim_first_temp(v)->domain);
		break;
	case 2:
	case 3:
		set_reply(v, "5.7.27", "4.7.27", "SPF %s: %s is not authorized to send mail for %s%s%s",
		    spf_result_str(v->spf.result), c->client_ip,
		    v->spf.domain[0] ? v->spf.domain : "the sender",
		    v->spf.explanation[0] ? ": " : "", v->spf.explanation);
		break;
	case 4:
		set_reply(v, "5.7.30", "4.7.30", "DKIM signature of %s did not verify: %s",
		    dfail->domain, dfail->why);
		break;
	}
}

static void
add_header(struct verdict *v, const char *name, char *value)
{
	if (value == NULL || v->n_add == VERDICT_MAX_ADD) {
		free(value);
		return;
	}
	v->add[v->n_add].name = strdup(name);
	v->add[v->n_add].value = value;
	v->n_add++;
}

static void
write_spf(struct check *c, struct authres *a)
{
	const struct spf_outcome *s = &c->v.spf;

	if (!c->v.spf_done)
		return;
	authres_method(a, "spf", spf_result_str(s->result));
	/* DNS details (server addresses) stay in the log */
	if (s->result == SPF_RES_TEMPERROR)
		authres_reason(a, "temporary DNS failure");
	else if (s->result != SPF_RES_PASS && s->why[0])
		authres_reason(a, s->why);
	if (c->null_sender)
		authres_prop(a, "smtp.helo", c->helo);
	else
		authres_prop(a, "smtp.mailfrom", c->mail_from);
}

static void
write_dkim(struct check *c, struct authres *a)
{
	for (size_t i = 0; i < c->v.n_dkim; i++) {
		const struct dkim_sig_result *d = &c->v.dkim[i];

		authres_method(a, "dkim", dkim_res_str(d->result));
		if (d->result == DKIM_RES_TEMPERROR)
			authres_reason(a, "temporary DNS failure fetching the key");
		else if (d->result != DKIM_RES_PASS && d->why[0])
			authres_reason(a, d->why);
		else if (d->key_bits > 0) {
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
	if (c->v.n_dkim == 0 && c->v.dkim_error[0] == '\0') {
		authres_method(a, "dkim", "none");
	}
}

static char *received_spf(struct check *c);

static void
write_headers(struct check *c)
{
	const struct sc_config *cfg = c->e->cfg;
	struct authres a;

	authres_begin(&a, cfg->authserv_id);
	write_spf(c, &a);
	write_dkim(c, &a);
	add_header(&c->v, "Authentication-Results", authres_end(&a));

	if (cfg->add_received_spf && c->v.spf_done)
		add_header(&c->v, "Received-SPF", received_spf(c));
}

/* A Received-SPF key=value value: a dot-atom as is, else a quoted-string. */
static void
rspf_value(struct sbuf *b, const char *v)
{
	int atom = v[0] != '\0' && v[0] != '.';

	for (const char *p = v; *p && atom; p++)
		atom = isalnum((unsigned char)*p) || strchr("!#$%&'*+-/=?^_`{|}~.", *p) != NULL;
	if (atom) {
		sbuf_addstr(b, v);
		return;
	}
	sbuf_addc(b, '"');
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;
		if (ch == '"' || ch == '\\')
			sbuf_addc(b, '\\');
		if (ch >= ' ')
			sbuf_addc(b, ch < 0x7f ? (char)ch : '?');
	}
	sbuf_addc(b, '"');
}

/* RFC 7208 §9.1 Received-SPF. */
static char *
received_spf(struct check *c)
{
	const char *id = c->e->cfg->authserv_id;
	char comment[300];
	struct sbuf b;

	sbuf_init(&b, 4096);
	clean_text(comment, sizeof(comment), c->v.spf.why);
	for (char *p = comment; *p; p++)
		if (*p == '(' || *p == ')' || *p == '\\')
			*p = ' ';
	sbuf_printf(&b, "%s (%s: %s)\n\tclient-ip=", spf_result_str(c->v.spf.result), id, comment);
	rspf_value(&b, c->client_ip);
	sbuf_addstr(&b, "; envelope-from=");
	rspf_value(&b, c->mail_from);
	sbuf_addstr(&b, "; helo=");
	rspf_value(&b, c->helo[0] ? c->helo : "unknown");
	sbuf_addstr(&b, ";\n\treceiver=");
	rspf_value(&b, id);
	sbuf_printf(&b, "; identity=%s", c->null_sender ? "helo" : "mailfrom");
	return sbuf_detach(&b);
}

static void
write_log(struct check *c)
{
	struct verdict *v = &c->v;
	struct sbuf b;

	sbuf_init(&b, 8192);
	sbuf_printf(&b, "%s: client=%s", c->queue_id[0] ? c->queue_id : "NOQUEUE",
	    c->client_ip[0] ? c->client_ip : "unknown");
	if (c->client_name[0])
		sbuf_printf(&b, " (%s)", c->client_name);
	sbuf_printf(&b, " helo=%s from=<%s> rcpts=%u", c->helo[0] ? c->helo : "-",
	    c->mail_from, c->n_rcpt);
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
	sbuf_printf(&b, " action=%s", action_str(v->action));
	if (strcmp(v->cause, "none") != 0)
		sbuf_printf(&b, " cause=%s", v->cause);
	if (c->input_error[0])
		sbuf_printf(&b, " input=\"%s\"", c->input_error);
	if (v->n_remove)
		sbuf_printf(&b, " removed_forged_ar=%zu", v->n_remove);
	sbuf_printf(&b, " dns=%u/%u/%u", v->dns_queries, v->dns_cache_hits, v->dns_timeouts);
out:
	sbuf_printf(&b, " ms=%ld", v->elapsed_ms);
	v->log_line = sbuf_detach(&b);
}

const struct verdict *
check_finish(struct check *c)
{
	struct timespec started, now;

	if (c->v.log_line != NULL)
		return &c->v;
	clock_gettime(CLOCK_MONOTONIC, &started);
	if (c->internal) {
		c->v.skipped = 1;
		snprintf(c->v.skip_reason, sizeof(c->v.skip_reason),
		    "client %s is in InternalHosts", c->client_ip);
		snprintf(c->v.cause, sizeof(c->v.cause), "none");
	} else {
		check_eoh(c);
		run_spf(c);
		run_dkim(c);
		c->v.remove = c->forged;
		c->v.n_remove = c->n_forged;
		decide(c);
		write_headers(c);
	}
	c->v.dns_queries = c->dns.queries;
	c->v.dns_cache_hits = c->dns.cache_hits;
	c->v.dns_timeouts = c->dns.timeouts;
	clock_gettime(CLOCK_MONOTONIC, &now);
	c->v.elapsed_ms = (now.tv_sec - started.tv_sec) * 1000 +
	    (now.tv_nsec - started.tv_nsec) / 1000000;
	write_log(c);
	return &c->v;
}
