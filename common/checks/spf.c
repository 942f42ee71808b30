/*
 * spf: the engines behind spf.h: dispatch to the builtin evaluator
 * (spf_builtin.c) and the libspf2 engine, which lives here.
 *
 * Both engines get the same validated inputs (prepare() below): the
 * checks of a missing or bad IP or domain are made once, here.
 *
 * Promises:
 * - every DNS lookup libspf2 makes goes through dns_query() on the
 *   caller's dns_ctx (a custom SPF_dns_server_t), so the check obeys the
 *   configured nameservers, the shared cache and the DNSTimeout budget;
 * - libspf2 never sees a NULL argument or a NULL DNS answer, and its
 *   fatal-error hook never takes the process down from inside a check:
 *   the check ends with temperror instead (see on_spf_error);
 * - the result is one of the seven RFC 7208 results, taken from
 *   SPF_response_result(), with libspf2's "(invalid)" mapped by the
 *   query's return code, and a reason a person can read;
 * - one engine may be used from many threads at once.
 *
 * Inputs we do not hand to libspf2 (documented choice): no client IP, an
 * IP that does not parse, no domain to check, or a domain that is not a
 * valid multi-label DNS name give "none" with a reason. RFC 7208 §4.3
 * says "none" for a malformed domain; for a missing or bad IP there is
 * no SPF answer at all, and "none" (no verdict) is the result that no
 * policy turns into a rejection.
 *
 * Known libspf2 behaviours kept as they are: a loopback client always
 * passes ("localhost is always allowed"); the gaps measured on the RFC
 * 7208 suite are listed in tests/spf/libspf2-known-gaps.txt.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spf2/spf.h>

#include "dns.h"
#include "log.h"
#include "dnsname.h"
#include "sbuf.h"
#include "spf.h"
#include "spf_builtin.h"

struct spf_engine {
	enum spf_engine_kind kind;
	SPF_server_t *server;	/* libspf2 only */
	SPF_dns_server_t *dns;	/* ours: libspf2 does not free it */
	char receiver[256];	/* builtin: %{r} */
};

/*
 * How a check's dns_ctx reaches the lookup callback: a thread-local
 * pointer, set only for the duration of the libspf2 calls of one check
 * (spf_check clears it before returning). libspf2 runs a query
 * synchronously on the caller's thread, so the callback always runs on
 * the thread that set it, and no state outlives the call (which matters
 * under libmilter's worker pool). The alternative, one SPF_server_t per
 * check with the ctx in its DNS layer's hook, costs a gethostname(), the
 * compilation of the default explanation and local policy, and about
 * ten mallocs per check (measured: ~0.5 us per new+free); cheap, but the
 * shared server is read-only while queries run, so there is no reason
 * to pay it, and the escape from on_spf_error is per thread anyway.
 */
static _Thread_local struct dns_ctx *tl_dns;

/*
 * The names the connecting client chooses, for this check (spf_builtin.c's
 * lookup_client says why): its PTR, the only PTR libspf2 asks, and the
 * names that PTR gave (up to CLIENT_NAMES, as libspf2 checks at most 10 of
 * them), whose address lookups validate them. Their lookups together
 * wait at most tl_client_ms, half the check's budget.
 */
#define CLIENT_NAMES 16
static _Thread_local long tl_client_ms;
static _Thread_local size_t tl_n_client_names;
static _Thread_local char tl_client_names[CLIENT_NAMES][256];

/* Whether a lookup of domain/type is of a name the client chooses. */
static int
client_name(const char *domain, int type)
{
	if (type == ns_t_ptr)
		return 1;
	if (type != ns_t_a && type != ns_t_aaaa)
		return 0;
	for (size_t i = 0; i < tl_n_client_names; i++)
		if (strcasecmp(tl_client_names[i], domain) == 0)
			return 1;
	return 0;
}

/* Keeps the names a PTR answer gave. */
static void
keep_client_names(const struct dns_result *res)
{
	for (size_t i = 0; res->status == DNS_OK && i < res->n; i++) {
		const char *name = (const char *)res->rr[i].data;

		if (tl_n_client_names == CLIENT_NAMES)
			return;
		if (res->rr[i].type == ns_t_ptr && strlen(name) < sizeof(tl_client_names[0]))
			memcpy(tl_client_names[tl_n_client_names++], name, strlen(name) + 1);
	}
}

/*
 * Where on_spf_error escapes to when libspf2 reports a fatal error on
 * this thread; NULL outside our calls into libspf2.
 */
static _Thread_local jmp_buf *tl_escape;

static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

const char *
spf_result_str(enum spf_result r)
{
	static const char *const names[SPF_RES_COUNT] = {
		"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror",
	};

	return (unsigned)r < SPF_RES_COUNT ? names[r] : "permerror";
}

/* ---- small helpers ---- */

/* Copies src into dst (size > 0), cut to fit, always NUL-terminated. */
static void
copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- libspf2 message handlers -> log.h ---- */

static const char *
base_name(const char *file)
{
	const char *s;

	if (file == NULL)
		return "?";
	s = strrchr(file, '/');
	return s ? s + 1 : file;
}

/*
 * libspf2 calls its error handler for fatal errors (mostly failed
 * SPF_ASSERT_NOTNULL checks and out-of-memory) and calls abort() as soon
 * as the handler returns; the handler is declared noreturn. Inside one of
 * our calls we jump back to it: that check ends with temperror and leaks
 * what libspf2 had allocated for it (its state cannot be trusted, so it
 * is not freed). Outside our calls there is nowhere to go, and returning
 * would abort anyway, so we abort after logging.
 */
static _Noreturn void
on_spf_error(const char *file, int line, const char *msg)
{
	log_err("libspf2 fatal error: %s (%s:%d)", msg ? msg : "",
	    base_name(file), line);
	if (tl_escape != NULL)
		longjmp(*tl_escape, 1);
	abort();
}

static void
on_spf_warning(const char *file, int line, const char *msg)
{
	log_warn("libspf2: %s (%s:%d)", msg ? msg : "", base_name(file), line);
}

static void
on_spf_info(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	log_info("libspf2: %s", msg ? msg : "");
}

static void
on_spf_debug(const char *file, int line, const char *msg)
{
	log_debug("libspf2: %s (%s:%d)", msg ? msg : "", base_name(file), line);
}

/* Set once, before any engine (and so any check thread) exists. */
static void
install_handlers(void)
{
	SPF_error_handler = on_spf_error;
	SPF_warning_handler = on_spf_warning;
	SPF_info_handler = on_spf_info;
	SPF_debug_handler = on_spf_debug;
}

/* ---- names ---- */

/* A DNS name we may look up (dnsname.h: what the dns module sends);
 * multi_label asks for at least two labels. */
static int
name_ok(const char *name, int multi_label)
{
	return dns_name_ok(name, DNS_NAME_PRINTABLE | DNS_NAME_FINAL_DOT |
	    (multi_label ? DNS_NAME_MULTI_LABEL : 0));
}

/* ---- the DNS layer: libspf2 lookups through dns_query() ---- */

static SPF_dns_rr_t *
rr_status(SPF_dns_server_t *ds, const char *domain, ns_type type,
    SPF_dns_stat_t herrno)
{
	/* Returns NULL only when out of memory; libspf2 then calls
	 * on_spf_error, which ends the check with temperror. */
	return SPF_dns_rr_new_init(ds, domain, type, 0, herrno);
}

/*
 * The h_errno libspf2 expects. A name that cannot be asked is one that
 * does not exist; every reply that cannot be used (DNS_ERROR: malformed,
 * truncated over TCP, a CNAME loop) is temporary, like a server failure:
 * TRY_AGAIN, never read as "no records".
 */
static SPF_dns_stat_t
herrno_of(const struct dns_result *res)
{
	switch (res->status) {
	case DNS_OK:		return NETDB_SUCCESS;
	case DNS_NXDOMAIN:	return HOST_NOT_FOUND;
	case DNS_NODATA:	return NO_DATA;
	case DNS_BADNAME:	return HOST_NOT_FOUND;
	case DNS_ERROR:
	case DNS_SERVFAIL:
	case DNS_TIMEOUT:
		break;
	}
	return TRY_AGAIN;	/* libspf2: temperror */
}

/* Copies one record into slot i of rr; 0 or -1 (out of memory). */
static int
rr_put(SPF_dns_rr_t *rr, int i, const struct dns_rr *d)
{
	size_t need;

	switch (rr->rr_type) {
	case ns_t_a:
		if (d->len != 4)
			return 1;	/* skip, not an A record */
		need = sizeof(struct in_addr);
		break;
	case ns_t_aaaa:
		if (d->len != 16)
			return 1;
		need = sizeof(struct in6_addr);
		break;
	default:			/* TXT, MX, PTR: C strings */
		need = d->len + 1;
		break;
	}
	if (SPF_dns_rr_buf_realloc(rr, i, need) != SPF_E_SUCCESS)
		return -1;
	if (rr->rr_type == ns_t_a || rr->rr_type == ns_t_aaaa) {
		memcpy(rr->rr[i], d->data, d->len);
	} else {
		/* A NUL inside a TXT string ends it for libspf2. */
		memcpy(rr->rr[i]->txt, d->data, d->len);
		rr->rr[i]->txt[d->len] = '\0';
	}
	return 0;
}

static SPF_dns_rr_t *
rr_from_result(SPF_dns_server_t *ds, const char *domain, ns_type type,
    const struct dns_result *res)
{
	SPF_dns_rr_t *rr;
	size_t i;
	int n = 0, r;

	rr = rr_status(ds, domain, type, herrno_of(res));
	if (rr == NULL || res->status != DNS_OK)
		return rr;
	for (i = 0; i < res->n && n < 1000; i++) {
		r = rr_put(rr, n, &res->rr[i]);
		if (r < 0) {
			rr->herrno = TRY_AGAIN;
			break;
		}
		if (r == 0)
			rr->num_rr = ++n;
	}
	if (rr->num_rr == 0 && rr->herrno == NETDB_SUCCESS)
		rr->herrno = NO_DATA;
	if (res->n > 0)
		rr->ttl = res->rr[0].ttl;
	return rr;
}

/*
 * libspf2's lookup callback. It must return an rr, never NULL: libspf2
 * treats NULL as a fatal error (abort()).
 */
static SPF_dns_rr_t *
dns_lookup_cb(SPF_dns_server_t *ds, const char *domain, ns_type type,
    int should_cache)
{
	struct dns_result res;
	SPF_dns_rr_t *rr;

	(void)should_cache;	/* the dns module caches by TTL */

	/* libspf2 asks for type SPF (99) first and would believe a
	 * temperror or an NXDOMAIN there; RFC 7208 §3.1/§4.4 checkers use
	 * TXT only, so type SPF has no data and libspf2 goes on to TXT. */
	if (type == ns_t_spf)
		return rr_status(ds, domain, type, NO_DATA);
	/* A name that cannot exist is not looked up (RFC 7208 §4.3). */
	if (!name_ok(domain, 0))
		return rr_status(ds, domain, type, HOST_NOT_FOUND);
	if (tl_dns == NULL) {
		log_err("spf: libspf2 lookup of %s outside a check", domain);
		return rr_status(ds, domain, type, TRY_AGAIN);
	}
	if (client_name(domain, type)) {
		long saved = dns_share_enter(tl_dns, tl_client_ms);

		dns_query(tl_dns, domain, (uint16_t)type, &res);
		dns_share_leave(tl_dns, saved, &tl_client_ms);
		if (type == ns_t_ptr)
			keep_client_names(&res);
		if (dns_status_temporary(res.status)) {
			/* RFC 7208 5.5, 7.3: no match, not temperror; libspf2
			 * would make the whole check temperror */
			log_debug("spf: lookup %s/%d: %s %s: a name the client chooses, read as"
			    " no records", domain, (int)type, dns_status_str(res.status), res.why);
			dns_result_free(&res);
			return rr_status(ds, domain, type, HOST_NOT_FOUND);
		}
	} else {
		dns_query(tl_dns, domain, (uint16_t)type, &res);
	}
	log_debug("spf: lookup %s/%d: %s %s", domain, (int)type,
	    dns_status_str(res.status), res.why);
	rr = rr_from_result(ds, domain, type, &res);
	dns_result_free(&res);
	return rr;
}

static SPF_dns_server_t *
dns_layer_new(void)
{
	SPF_dns_server_t *ds = calloc(1, sizeof(*ds));

	if (ds == NULL)
		return NULL;
	/* No destroy hook: the layer is not libspf2's to free
	 * (SPF_server_new_dns does not take ownership); spf_engine_free
	 * frees it after the server. */
	ds->destroy = NULL;
	ds->lookup = dns_lookup_cb;
	ds->get_spf = NULL;		/* libspf2's own record selection */
	ds->get_exp = NULL;
	ds->add_cache = NULL;
	ds->layer_below = NULL;
	ds->name = "sendercheck-dns";
	ds->debug = 0;
	ds->hook = NULL;
	return ds;
}

/* ---- engine ---- */

static void
set_why(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		str_format(why, whylen, "%s", msg);
}

/* The libspf2 part of spf_engine_new, run under on_spf_error's escape. */
static SPF_server_t *
server_new(SPF_dns_server_t *ds, const char *receiver, char *why,
    size_t whylen)
{
	jmp_buf jb;
	SPF_server_t *sp;
	SPF_response_t *resp = NULL;

	if (setjmp(jb) != 0) {
		tl_escape = NULL;
		set_why(why, whylen, "libspf2 failed to start (see the log)");
		return NULL;
	}
	tl_escape = &jb;
	sp = SPF_server_new_dns(ds, 0);
	if (sp == NULL) {
		tl_escape = NULL;
		set_why(why, whylen, "libspf2: out of memory");
		return NULL;
	}
	if (receiver != NULL && receiver[0] != '\0')
		SPF_server_set_rec_dom(sp, receiver);
	/* No default explanation: spf_outcome.explanation holds only the
	 * domain's own exp= text (libspf2's default points to a dead site). */
	SPF_server_set_explanation(sp, "", &resp);
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_server_set_sanitize(sp, 1);
	tl_escape = NULL;
	return sp;
}

struct spf_engine *
spf_engine_new(enum spf_engine_kind kind, const char *receiver,
    char *why, size_t whylen)
{
	struct spf_engine *e;

	if (kind == SPF_ENGINE_BUILTIN) {
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			set_why(why, whylen, "out of memory");
			return NULL;
		}
		e->kind = kind;
		copy_str(e->receiver, sizeof(e->receiver), receiver ? receiver : "");
		return e;
	}
	if (kind != SPF_ENGINE_LIBSPF2) {
		set_why(why, whylen, "unknown SPF engine");
		return NULL;
	}
	pthread_once(&handlers_once, install_handlers);
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		set_why(why, whylen, "out of memory");
		return NULL;
	}
	e->kind = kind;
	e->dns = dns_layer_new();
	if (e->dns != NULL)
		e->server = server_new(e->dns, receiver, why, whylen);
	else
		set_why(why, whylen, "out of memory");
	if (e->server == NULL) {
		free(e->dns);	/* a failed server_new may leak its part */
		free(e);
		return NULL;
	}
	return e;
}

void
spf_engine_free(struct spf_engine *e)
{
	jmp_buf jb;

	if (e == NULL)
		return;
	if (e->kind == SPF_ENGINE_BUILTIN) {
		free(e);
		return;
	}
	if (setjmp(jb) == 0) {
		tl_escape = &jb;
		SPF_server_free(e->server);
	}
	tl_escape = NULL;
	free(e->dns);
	free(e);
}

/* ---- one check ---- */

/* The parsed inputs of one check, all non-NULL. */
struct check_in {
	int v4;			/* 1: ip4, 0: ip6 */
	struct in_addr ip4;
	struct in6_addr ip6;
	const char *helo;	/* "" if none */
	char sender[512];	/* without <> */
	const char *domain;	/* the domain to evaluate, in sender or helo */
};

/* IPv4, IPv6, or IPv4-mapped IPv6 (checked as IPv4). 0 or -1. */
static int
parse_ip(const char *s, struct check_in *in)
{
	if (inet_pton(AF_INET, s, &in->ip4) == 1) {
		in->v4 = 1;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in->ip6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&in->ip6)) {
		memcpy(&in->ip4, &in->ip6.s6_addr[12], 4);
		in->v4 = 1;
	} else {
		in->v4 = 0;
	}
	return 0;
}

/* Copies the sender without one pair of enclosing <>. */
static void
strip_brackets(const char *s, char *out, size_t outlen)
{
	size_t len = strlen(s);

	if (len >= 2 && s[0] == '<' && s[len - 1] == '>')
		str_format(out, outlen, "%.*s", (int)(len - 2), s + 1);
	else
		str_format(out, outlen, "%s", s);
}

static enum spf_result
finish(struct spf_outcome *out, enum spf_result r, const char *why)
{
	out->result = r;
	copy_str(out->why, sizeof(out->why), why);
	return r;
}

/*
 * Validates the query, fills identity/domain, and returns 0, or -1 with
 * *out finished ("none" and a reason).
 */
static int
prepare(const struct spf_query *q, struct check_in *in, struct spf_outcome *out)
{
	const char *at;
	char msg[300];

	in->helo = q->helo ? q->helo : "";
	strip_brackets(q->sender ? q->sender : "", in->sender, sizeof(in->sender));
	if (q->identity == SPF_ID_HELO) {
		copy_str(out->identity, sizeof(out->identity), in->helo);
		in->domain = in->helo;
	} else if (in->sender[0] == '\0') {
		str_format(out->identity, sizeof(out->identity), "postmaster@%s", in->helo);
		in->domain = in->helo;
	} else {
		copy_str(out->identity, sizeof(out->identity), in->sender);
		at = strrchr(in->sender, '@');
		in->domain = q->sender_domain ? q->sender_domain : at ? at + 1 : in->sender;
	}
	copy_str(out->domain, sizeof(out->domain), in->domain);

	if (q->client_ip == NULL || q->client_ip[0] == '\0') {
		finish(out, SPF_RES_NONE, "no client IP address to check");
		return -1;
	}
	if (parse_ip(q->client_ip, in) != 0) {
		str_format(msg, sizeof(msg), "client IP '%.64s' is not an IPv4 or IPv6 address",
		    q->client_ip);
		finish(out, SPF_RES_NONE, msg);
		return -1;
	}
	if (in->domain[0] == '\0') {
		finish(out, SPF_RES_NONE, q->identity == SPF_ID_HELO ?
		    "no HELO name to check" : in->sender[0] == '\0' ?
		    "null sender and no HELO name to check" :
		    "no domain in the sender address");
		return -1;
	}
	if (in->domain[0] == '[') {
		/* RFC 7208 2.3 and 4.3: SPF checks domain names only; an
		 * address literal has no record to ask for */
		str_format(msg, sizeof(msg), "the %s '%.100s' is an address literal, not a domain "
		    "name: SPF has no record to look up (RFC 7208 2.3, 4.3), nothing was asked",
		    q->identity == SPF_ID_HELO || in->sender[0] == '\0' ? "HELO name" :
		    "MAIL FROM domain", in->domain);
		finish(out, SPF_RES_NONE, msg);
		return -1;
	}
	if (!name_ok(in->domain, 1)) {
		str_format(msg, sizeof(msg), "'%.200s' is not a valid multi-label domain name",
		    in->domain);
		finish(out, SPF_RES_NONE, msg);
		return -1;
	}
	return 0;
}

/* Fills a new request; SPF_E_SUCCESS or the failing step's code. */
static SPF_errcode_t
request_fill(SPF_request_t *req, const struct check_in *in,
    enum spf_identity id)
{
	SPF_errcode_t rc;

	rc = in->v4 ? SPF_request_set_ipv4(req, in->ip4) :
	    SPF_request_set_ipv6(req, in->ip6);
	/* HELO before MAIL FROM: "" then becomes postmaster@HELO. */
	if (rc == SPF_E_SUCCESS && in->helo[0] != '\0')
		rc = SPF_request_set_helo_dom(req, in->helo);
	if (rc == SPF_E_SUCCESS)
		rc = (SPF_errcode_t)SPF_request_set_env_from(req,
		    id == SPF_ID_HELO ? "" : in->sender);
	/* HELO identity: evaluate the HELO name (cur_dom = helo_dom). */
	req->use_helo = id == SPF_ID_HELO;
	return rc;
}

/* The first error message libspf2 recorded, or NULL. */
static const char *
first_error(SPF_response_t *resp)
{
	int i, n = SPF_response_messages(resp);

	for (i = 0; i < n; i++) {
		SPF_error_t *e = SPF_response_message(resp, i);

		if (SPF_error_errorp(e) && SPF_error_message(e) != NULL)
			return SPF_error_message(e);
	}
	return NULL;
}

/* Whether libspf2 recorded only "no SPF record" errors. */
static int
only_not_spf(SPF_response_t *resp)
{
	int i, n = SPF_response_messages(resp);

	for (i = 0; i < n; i++) {
		SPF_error_t *e = SPF_response_message(resp, i);

		if (SPF_error_errorp(e) && SPF_error_code(e) != SPF_E_NOT_SPF)
			return 0;
	}
	return 1;
}

/*
 * libspf2's "(invalid)" result means it stopped before a verdict; the
 * query's return code says why. A DNS failure is a temperror; "no SPF
 * record among the TXT records" is none (RFC 7208 §4.5); anything else
 * (a record that did not compile, ...) is a permerror.
 */
static enum spf_result
map_invalid(SPF_errcode_t rc, SPF_response_t *resp)
{
	if (rc == SPF_E_DNS_ERROR)
		return SPF_RES_TEMPERROR;
	if (rc == SPF_E_NOT_SPF && only_not_spf(resp))
		return SPF_RES_NONE;
	return SPF_RES_PERMERROR;
}

static enum spf_result
map_result(SPF_result_t r, SPF_errcode_t rc, SPF_response_t *resp)
{
	switch (r) {
	case SPF_RESULT_NEUTRAL:	return SPF_RES_NEUTRAL;
	case SPF_RESULT_PASS:		return SPF_RES_PASS;
	case SPF_RESULT_FAIL:		return SPF_RES_FAIL;
	case SPF_RESULT_SOFTFAIL:	return SPF_RES_SOFTFAIL;
	case SPF_RESULT_NONE:		return SPF_RES_NONE;
	case SPF_RESULT_TEMPERROR:	return SPF_RES_TEMPERROR;
	case SPF_RESULT_PERMERROR:	return SPF_RES_PERMERROR;
	case SPF_RESULT_INVALID:
		break;
	}
	return map_invalid(rc, resp);
}

/* libspf2's header comment without its "receiver: " prefix. */
static const char *
comment_text(SPF_response_t *resp)
{
	const char *c = SPF_response_get_header_comment(resp);
	const char *sep;

	if (c == NULL)
		return NULL;
	sep = strstr(c, ": ");
	return sep ? sep + 2 : c;
}

static void
fill_outcome(struct spf_outcome *out, SPF_response_t *resp, SPF_errcode_t rc)
{
	const char *why = NULL, *exp;
	char buf[256];

	out->result = map_result(SPF_response_result(resp), rc, resp);
	if (out->result == SPF_RES_PERMERROR || out->result == SPF_RES_TEMPERROR ||
	    SPF_response_result(resp) == SPF_RESULT_INVALID)
		why = first_error(resp);
	if (why == NULL)
		why = comment_text(resp);
	if (why == NULL) {
		str_format(buf, sizeof(buf), "libspf2: %s", SPF_strerror(rc));
		why = buf;
	}
	copy_str(out->why, sizeof(out->why), why);
	exp = SPF_response_get_explanation(resp);
	if (out->result == SPF_RES_FAIL && exp != NULL)
		copy_str(out->explanation, sizeof(out->explanation), exp);
}

/*
 * Runs the libspf2 part of one check under on_spf_error's escape.
 * Returns 0 with *out filled, or -1 after a libspf2 fatal error.
 */
static int
run_libspf2(struct spf_engine *e, const struct check_in *in,
    enum spf_identity id, struct spf_outcome *out)
{
	jmp_buf jb;
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	SPF_errcode_t rc;

	if (setjmp(jb) != 0)
		return -1;	/* req/resp leak: libspf2 state is unknown */
	tl_escape = &jb;
	req = SPF_request_new(e->server);
	if (req == NULL) {
		tl_escape = NULL;
		finish(out, SPF_RES_TEMPERROR, "libspf2: out of memory");
		return 0;
	}
	rc = request_fill(req, in, id);
	if (rc != SPF_E_SUCCESS) {
		SPF_request_free(req);
		tl_escape = NULL;
		finish(out, SPF_RES_TEMPERROR, SPF_strerror(rc));
		return 0;
	}
	/* The verdict is SPF_response_result(), not rc. */
	rc = SPF_request_query_mailfrom(req, &resp);
	if (resp != NULL) {
		fill_outcome(out, resp, rc);
		SPF_response_free(resp);
	} else {
		finish(out, SPF_RES_TEMPERROR, "libspf2: out of memory");
	}
	SPF_request_free(req);
	tl_escape = NULL;
	return 0;
}

/* The builtin engine on the prepared inputs. */
static enum spf_result
run_builtin(const struct spf_engine *e, struct dns_ctx *dns,
    const struct check_in *in, struct spf_outcome *out)
{
	struct spf_builtin_in bi;

	memset(&bi, 0, sizeof(bi));
	bi.v4 = in->v4;
	if (in->v4)
		memcpy(bi.ip, &in->ip4, 4);
	else
		memcpy(bi.ip, &in->ip6, 16);
	bi.sender = out->identity;	/* local@domain, postmaster@HELO, or the HELO name */
	bi.helo = in->helo;
	bi.domain = in->domain;
	bi.receiver = e->receiver;
	return spf_builtin_check(dns, &bi, out);
}

_Static_assert(offsetof(struct spf_outcome, n_lint) ==
    offsetof(struct spf_outcome, walk) + sizeof(((struct spf_outcome *)0)->walk) &&
    offsetof(struct spf_outcome, lint) + sizeof(((struct spf_outcome *)0)->lint) ==
    sizeof(struct spf_outcome), "spf_check clears all of spf_outcome but walk[] and lint[]");

enum spf_result
spf_check(struct spf_engine *e, struct dns_ctx *dns,
    const struct spf_query *q, struct spf_outcome *out)
{
	struct check_in in;
	int r;

	/* walk[] and lint[] (16 KB) are filled entry by entry as they are used
	 * and read only up to n_walk and n_lint: not zeroed */
	memset(out, 0, offsetof(struct spf_outcome, walk));
	out->n_lint = 0;
	memset(&in, 0, sizeof(in));
	if (e == NULL || dns == NULL || q == NULL)
		return finish(out, SPF_RES_TEMPERROR, "SPF engine not set up");
	if (prepare(q, &in, out) != 0)
		return out->result;
	if (e->kind == SPF_ENGINE_BUILTIN)
		return run_builtin(e, dns, &in, out);
	copy_str(out->engine, sizeof(out->engine), "libspf2");
	tl_dns = dns;
	tl_client_ms = spf_client_share_ms(dns->budget_ms);
	tl_n_client_names = 0;
	r = run_libspf2(e, &in, q->identity, out);
	tl_dns = NULL;
	tl_escape = NULL;
	if (r != 0)
		return finish(out, SPF_RES_TEMPERROR,
		    "libspf2 internal error (see the log)");
	return out->result;
}
