/*
 * engine: runs the checks of one message and builds its verdict; see
 * engine.h. Order of work: envelope and headers are collected, DKIM is fed
 * from the end of headers on; format, unsubscribe and bulk classification
 * run in check_finish; policy.c then judges the results (rules and
 * action) and report.c writes the header fields and log line.
 *
 * DNS: every check has its own dns_ctx, with the whole DNSTimeout as its
 * budget, so a slow or dead name only ever uses up the time of the check
 * that asked it. Questions are asked as soon as their names are known,
 * all into the message's dns_session: iprev runs (on a task thread) from
 * check_set_client, SPF from check_set_mail_from, each DKIM key is asked
 * when its DKIM-Signature field arrives, the DMARC record when From
 * arrives and the rest of DMARC's discovery from the end of headers on.
 * check_finish then waits for all of them at once: the message waits
 * about as long as its slowest check, at most DNSTimeout after the end of
 * the message for anything asked by then. Nothing is asked that the
 * checks would not ask (see dkimkey.h for which signatures get an early
 * key lookup, dmarc_warm for DMARC); check_free cancels what is pending.
 */
#include "config.h"

#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arc_seal.h"
#include "authres.h"
#include "author.h"
#include "dkim_canon.h"
#include "dkimkey.h"
#include "domain.h"
#include "engine.h"
#include "log.h"
#include "netaddr.h"
#include "policy.h"
#include "report.h"
#include "reportmsg.h"
#include "sbuf.h"
#include "sharedstate.h"
#include "smtppath.h"
#include "taskpool.h"
#include "volume.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define SPARE_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define SPARE_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define SPARE_POISON(p, n) ((void)(p), (void)(n))
#define SPARE_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Fields we write: incoming copies with our authserv-id are forgeries. */
static const char *const owned_fields[] = { "Authentication-Results", COMPLIANCE_FIELD };
#define N_OWNED (sizeof(owned_fields) / sizeof(owned_fields[0]))

#define VOLUME_MAX_DOMAINS 200000
#define VOLUME_SAVE_SECONDS 60
#define CHECK_THREADS 64	/* task threads for SPF, iprev, DMARC (waiting on DNS) */
#define EARLY_FROM_MAX 4	/* From domains whose DMARC record is asked early */
#define EARLY_IDS_MAX 8		/* identifiers DMARC's tree walk may need early */
#define EARLY_ARC_KEYS_MAX 8	/* ARC keys asked early (the newest sets come first) */
#define EARLY_NAME_MAX 256	/* a name kept for early DMARC discovery */

/*
 * What outlives a reload: the volume counts and the fleet's shared state,
 * one set for the engines of every generation (engine_renew), started
 * with the first and freed with the last of them.
 */
struct lasting {
	atomic_uint engines;
	struct volume *volume;
	struct sharedstate *shared;	/* SharedState; NULL when off */
};

struct engine {
	const struct sc_config *cfg;
	unsigned flags;
	struct dns_resolver *res;
	struct spf_engine *spf;
	struct dkim_verifier *dkim;
	struct dmarc *dmarc;
	struct lasting *lasting;
	struct volume *volume;		/* lasting's */
	struct sharedstate *shared;	/* lasting's */
	struct policy policy;	/* the config's actions, for policy_decide */
	struct task_pool *pool;
	struct arc_signer *sealer;	/* ARCSign; NULL when off */
};

/* What DMARC's early discovery needs: the DKIM d= as each signature
 * comes, the rest copied at the end of headers. */
struct dmarc_early {
	char from[EARLY_FROM_MAX][EARLY_NAME_MAX];
	size_t n_from;
	char ids[EARLY_IDS_MAX][EARLY_NAME_MAX];	/* SPF domain, DKIM d= */
	size_t n_ids;
	size_t n_dkim_ids;	/* d= in ids[1..] */
};

struct check_conn {
	struct engine *e;
	struct dns_session *dns;
	struct dns_ctx ctx;
	struct task task;
	int started;		/* the task was started and not yet joined */
	int counted;		/* its DNS counts went into a message's */
	char ip[64];		/* as check_set_client normalizes it */
	struct iprev_outcome iprev;
};

struct check {
	struct engine *e;
	struct check_conn *conn;	/* NULL, or where iprev began at connect */
	int iprev_from_conn;
	/* DNS: the message's early questions and one budget per check */
	struct dns_session *dns;
	struct dns_ctx dns_spf, dns_dkim, dns_arc, dns_dmarc, dns_dmarc_early, dns_iprev;
	struct task spf_task, iprev_task, dmarc_task;
	int spf_started, iprev_started, dmarc_started;
	int spf_ready, iprev_ready;	/* done inline: every answer was there */
	int spf_stale, iprev_stale;	/* input changed after the task began */
	char ips[MAX_SENDING_IPS][64];	/* the judged addresses, for the tasks */
	size_t nips;
	unsigned early_keys;		/* DKIM keys asked early */
	unsigned early_arc_keys;	/* ARC keys asked early */
	struct dmarc_early dmarc_early;
	struct dmarc_memo *dmarc_memo;	/* the _dmarc names read, for the early and the final walks */
	int internal;
	struct header_list headers;
	unsigned owned_seen[N_OWNED];	/* fields seen per owned_fields[] name */
	struct header_removal *forged;	/* incoming copies of our fields */
	size_t n_forged, cap_forged;
	int eoh_done;
	char over_limits[160];		/* why fields were not kept (header.h), "" if all were */
	struct dkim_sig_result unverified;	/* DKIM's result then */
	size_t body_line;		/* length of the body line being read */
	int body_line_cr;		/* the last chunk ended in CR */
	unsigned long long_body_lines;	/* body lines over 998 octets */
	struct dkim_msg *dkim;
	struct arc_msg *arc;
	struct arc_seal_msg *seal;	/* ARCSign: our set's body hash */
	struct dkim_bodies bodies;	/* the body hashes DKIM, ARC and the seal share */
	struct verdict v;
};

/* The actions of the config, as policy_decide takes them. */
static void
policy_from_config(const struct sc_config *cfg, struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->profiles = cfg->profiles;
	p->on[CAUSE_ERROR] = cfg->on_error;
	p->on[CAUSE_DNS] = cfg->on_dns_error;
	p->on[CAUSE_SPF_FAIL] = cfg->on_spf_fail;
	p->on[CAUSE_SPF_SOFTFAIL] = cfg->on_spf_softfail;
	p->on[CAUSE_DKIM_FAIL] = cfg->on_dkim_fail;
	p->dmarc_follows_domain = cfg->on_dmarc_fail == DMARC_ACT_POLICY;
	p->on[CAUSE_DMARC_FAIL] = p->dmarc_follows_domain ? ACT_ACCEPT : (enum action)cfg->on_dmarc_fail;
	p->on[CAUSE_NONCOMPLIANT] = (enum action)cfg->on_noncompliant;
	/* no From domain to judge: at least as strict as a DMARC fail, and
	 * with no domain policy to read, "policy" means the strictest */
	if (cfg->on_bad_from != ACT_INHERIT)
		p->on[CAUSE_BAD_FROM] = (enum action)cfg->on_bad_from;
	else
		p->on[CAUSE_BAD_FROM] = p->dmarc_follows_domain ? ACT_REJECT :
		    (enum action)cfg->on_dmarc_fail;
	for (int i = 0; i < PROFILE_COUNT; i++)
		p->on_profile[i] = cfg->on_noncompliant_profile[i] == ACT_INHERIT ? POLICY_INHERIT :
		    cfg->on_noncompliant_profile[i];
}

/* The volume counts and the shared state for a first engine. */
static struct lasting *
lasting_new(const struct sc_config *cfg, unsigned flags, char *why, size_t whylen)
{
	struct lasting *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		str_format(why, whylen, "out of memory");
		return NULL;
	}
	atomic_init(&l->engines, 1);
	l->volume = volume_new((flags & ENGINE_READ_ONLY) ? "" : cfg->volume_file,
	    VOLUME_MAX_DOMAINS, cfg->bulk_sticky_days, why, whylen);
	if (l->volume == NULL)
		goto fail;
	if (cfg->shared_state[0] && !(flags & ENGINE_READ_ONLY)) {
		struct sharedstate_config sc = {
			.uri = cfg->shared_state,
			.password_file = cfg->shared_state_password_file,
			.host = cfg->host_name,
			.timeout_ms = cfg->shared_state_timeout_ms,
			.threshold = cfg->bulk_threshold,
			.sticky_days = cfg->bulk_sticky_days,
			.max_domains = VOLUME_MAX_DOMAINS,
		};

		if ((l->shared = sharedstate_new(&sc, why, whylen)) == NULL)
			goto fail;
	}
	return l;
fail:
	if (l->volume)
		volume_free(l->volume);
	free(l);
	return NULL;
}

static void
lasting_put(struct lasting *l)
{
	if (l == NULL || atomic_fetch_sub(&l->engines, 1) > 1)
		return;
	sharedstate_free(l->shared);
	volume_free(l->volume);
	free(l);
}

static struct engine *
engine_build(const struct sc_config *cfg, unsigned flags, const struct engine *prev,
    char *why, size_t whylen)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		str_format(why, whylen, "out of memory");
		return NULL;
	}
	e->cfg = cfg;
	e->flags = flags;
	policy_from_config(cfg, &e->policy);
	e->res = dns_resolver_new(cfg->nameservers, cfg->n_nameservers, cfg->dns_cache_size,
	    why, whylen);
	if (e->res == NULL)
		goto fail;
	e->spf = spf_engine_new((enum spf_engine_kind)cfg->spf_engine, cfg->authserv_id, why, whylen);
	if (e->spf == NULL)
		goto fail;
	e->dkim = dkim_verifier_new((enum dkim_engine_kind)cfg->dkim_engine,
	    cfg->max_signatures, why, whylen);
	if (e->dkim == NULL)
		goto fail;
	e->dmarc = dmarc_new((enum dmarc_standard)cfg->dmarc_standard,
	    (enum dmarc_discovery)cfg->dmarc_discovery, why, whylen);
	if (e->dmarc == NULL)
		goto fail;
	if (prev != NULL) {
		e->lasting = prev->lasting;
		atomic_fetch_add(&e->lasting->engines, 1);
	} else if ((e->lasting = lasting_new(cfg, flags, why, whylen)) == NULL) {
		goto fail;
	}
	e->volume = e->lasting->volume;
	e->shared = e->lasting->shared;
	if (cfg->arc_sign &&
	    (e->sealer = arc_signer_new(cfg->arc_key_file, cfg->arc_domain, cfg->arc_selector,
	    why, whylen)) == NULL) {
		char inner[400];

		str_format(inner, sizeof inner, "%s", why);
		str_format(why, whylen, "ARCSign: %s", inner);
		goto fail;
	}
	if ((e->pool = task_pool_new(CHECK_THREADS)) == NULL) {
		str_format(why, whylen, "out of memory");
		goto fail;
	}
	return e;
fail:
	engine_free(e);
	return NULL;
}

struct engine *
engine_new(const struct sc_config *cfg, unsigned flags, char *why, size_t whylen)
{
	return engine_build(cfg, flags, NULL, why, whylen);
}

struct engine *
engine_renew(const struct engine *prev, const struct sc_config *cfg, char *why, size_t whylen)
{
	return engine_build(cfg, prev->flags, prev, why, whylen);
}

int
engine_start(struct engine *e, char *why, size_t whylen)
{
	if (volume_start_saver(e->volume, VOLUME_SAVE_SECONDS, why, whylen) < 0)
		return -1;
	if (e->shared != NULL) {
		char msg[512];
		int rc = sharedstate_probe(e->shared, msg, sizeof(msg));

		/* refused (password, database) is a configuration error; not
		 * reachable is an outage: count locally until it is back */
		if (rc < 0) {
			str_format(why, whylen, "SharedState %s: %s", sharedstate_uri(e->shared), msg);
			return -1;
		}
		if (rc > 0)
			log_warn("SharedState %s not reachable at start (%s): judging volume on local counts "
			    "until it is", sharedstate_uri(e->shared), msg);
		return sharedstate_start(e->shared, why, whylen);
	}
	return 0;
}

void
engine_stop(struct engine *e)
{
	sharedstate_stop(e->shared);
	volume_stop(e->volume);
}

struct sharedstate *
engine_sharedstate(const struct engine *e)
{
	return e->shared;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	task_pool_free(e->pool);
	arc_signer_free(e->sealer);
	lasting_put(e->lasting);
	if (e->dmarc)
		dmarc_free(e->dmarc);
	if (e->dkim)
		dkim_verifier_free(e->dkim);
	if (e->spf)
		spf_engine_free(e->spf);
	if (e->res)
		dns_resolver_free(e->res);
	free(e);
}

int
engine_seals(const struct engine *e)
{
	return e->sealer != NULL;
}

const struct sc_config *
engine_config(const struct engine *e)
{
	return e->cfg;
}

static void start_iprev(struct check *c);

static void
check_dns_init(struct check *c, struct dns_ctx *ctx)
{
	dns_ctx_init(ctx, c->e->res, c->e->cfg->dns_timeout_ms);
	dns_ctx_bind(ctx, c->dns);
}

/*
 * Spare check records. A record is ~88 KB (most of it the verdict), one
 * per message: glibc's free() of a chunk that large consolidates the
 * arena's fast bins and may hand the top of the heap back to the kernel,
 * and the next message's calloc() then faults those pages in afresh. So
 * freed records wait here, up to SPARE_CHECKS of them (more sessions at
 * once than that take the malloc path); a reused one is zeroed as calloc
 * would. Under ASan a spare is poisoned: a use after check_free is
 * still reported.
 */
#define SPARE_CHECKS 16
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static struct check *spare[SPARE_CHECKS];
static size_t n_spare;

/*
 * A used record as calloc would give it, but the texts read only up to a
 * count are left as they are: DMARC early's names (up to n_from, n_ids)
 * and the verdict's (verdict_clear): ~53 of its ~88 KB.
 */
#define C_EARLY		offsetof(struct check, dmarc_early)
#define C_EARLY_END	(C_EARLY + sizeof(((struct check *)0)->dmarc_early))
#define C_VERDICT	offsetof(struct check, v)
_Static_assert(C_EARLY_END <= C_VERDICT && C_VERDICT + sizeof(struct verdict) == sizeof(struct check),
    "check_clear's spans are out of order");

static void
check_clear(struct check *c)
{
	memset(c, 0, C_EARLY);
	c->dmarc_early.n_from = c->dmarc_early.n_ids = c->dmarc_early.n_dkim_ids = 0;
	memset((char *)c + C_EARLY_END, 0, C_VERDICT - C_EARLY_END);
	verdict_clear(&c->v);
}

static struct check *
check_alloc(void)
{
	struct check *c = NULL;

	pthread_mutex_lock(&spare_lock);
	if (n_spare > 0)
		c = spare[--n_spare];
	pthread_mutex_unlock(&spare_lock);
	if (c == NULL)
		return calloc(1, sizeof(*c));
	SPARE_UNPOISON(c, sizeof(*c));
	check_clear(c);
	return c;
}

static void
check_release(struct check *c)
{
	pthread_mutex_lock(&spare_lock);
	if (n_spare < SPARE_CHECKS) {
		SPARE_POISON(c, sizeof(*c));
		spare[n_spare++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&spare_lock);
	free(c);
}

struct check *
check_new(struct engine *e)
{
	struct check *c = check_alloc();

	if (c == NULL)
		return NULL;
	c->e = e;
	if ((c->dns = dns_session_new(e->res, e->cfg->dns_timeout_ms)) == NULL) {
		check_release(c);
		return NULL;
	}
	check_dns_init(c, &c->dns_spf);
	check_dns_init(c, &c->dns_dkim);
	check_dns_init(c, &c->dns_arc);
	check_dns_init(c, &c->dns_dmarc);
	check_dns_init(c, &c->dns_dmarc_early);
	check_dns_init(c, &c->dns_iprev);
	header_list_init(&c->headers);
	c->v.env.tls = e->cfg->mode == MODE_OUTBOUND ? TLS_NOT_APPLICABLE : TLS_UNKNOWN;
	if (e->cfg->mode == MODE_OUTBOUND)
		start_iprev(c);		/* SendingIPs: known now */
	return c;
}

static void
conn_iprev_task(void *arg)
{
	struct check_conn *cc = arg;

	iprev_check(&cc->ctx, cc->ip, &cc->iprev);
}

struct check_conn *
check_conn_new(struct engine *e, const char *ip)
{
	struct check_conn *cc;
	struct netaddr a;

	if (e->cfg->mode != MODE_INBOUND || netaddr_parse(ip ? ip : "", &a) != 0 ||
	    engine_client_internal(e, ip))
		return NULL;
	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		return NULL;
	if ((cc->dns = dns_session_new(e->res, e->cfg->dns_timeout_ms)) == NULL) {
		free(cc);
		return NULL;
	}
	cc->e = e;
	netaddr_str(&a, cc->ip, sizeof(cc->ip));
	/* all answers at hand (the cache): done here, no thread needed */
	dns_ctx_init(&cc->ctx, e->res, e->cfg->dns_timeout_ms);
	dns_ctx_bind(&cc->ctx, cc->dns);
	cc->ctx.nowait = 1;
	conn_iprev_task(cc);
	if (!cc->ctx.would_block)
		return cc;
	dns_ctx_init(&cc->ctx, e->res, e->cfg->dns_timeout_ms);
	dns_ctx_bind(&cc->ctx, cc->dns);
	task_start(e->pool, &cc->task, conn_iprev_task, cc);
	cc->started = 1;
	return cc;
}

void
check_conn_free(struct check_conn *cc)
{
	if (cc == NULL)
		return;
	dns_session_cancel(cc->dns);
	if (cc->started)
		task_join(cc->e->pool, &cc->task, 0);
	dns_session_free(cc->dns);
	free(cc);
}

struct check *
check_new_in(struct engine *e, struct check_conn *cc)
{
	struct check *c = check_new(e);

	if (c != NULL)
		c->conn = cc;
	return c;
}

/* Waits for the check's tasks; run_queued 0 drops those not yet begun (abort). */
static void
join_tasks(struct check *c, int run_queued)
{
	if (c->spf_started)
		task_join(c->e->pool, &c->spf_task, run_queued);
	if (c->iprev_started)
		task_join(c->e->pool, &c->iprev_task, run_queued);
	if (c->dmarc_started)
		task_join(c->e->pool, &c->dmarc_task, run_queued);
	c->spf_started = c->iprev_started = c->dmarc_started = 0;
}

void
check_free(struct check *c)
{
	if (c == NULL)
		return;
	dns_session_cancel(c->dns);
	join_tasks(c, 0);
	dns_session_free(c->dns);
	if (c->dkim)
		dkim_msg_free(c->dkim);
	arc_msg_free(c->arc);
	arc_seal_msg_free(c->seal);
	dkim_bodies_free(&c->bodies);
	dmarc_memo_free(c->dmarc_memo);
	header_list_free(&c->headers);
	free(c->forged);
	for (size_t i = 0; i < c->v.n_add; i++) {
		free(c->v.add[i].name);
		free(c->v.add[i].value);
	}
	free(c->v.log_line);
	check_release(c);
}

/* Copies an envelope value; notes when it had to be cut. */
static void
set_field(struct check *c, char *dst, size_t dstlen, const char *src, const char *what)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= dstlen) {
		if (c->v.input_error[0] == '\0')
			str_format(c->v.input_error, sizeof(c->v.input_error),
			    "%s longer than %zu characters", what, dstlen - 1);
		n = dstlen - 1;
	}
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * An envelope value changes while SPF (or iprev) already runs on the old
 * one: wait for that run, and run again at the end.
 */
static void
spf_input_changes(struct check *c)
{
	if (c->spf_started) {
		task_join(c->e->pool, &c->spf_task, 1);
		c->spf_started = 0;
		c->spf_stale = 1;
	}
	if (c->spf_ready) {
		c->spf_ready = 0;
		c->spf_stale = 1;
	}
}

void
check_set_client(struct check *c, const char *ip, const char *hostname)
{
	struct envelope *env = &c->v.env;
	struct netaddr a;

	spf_input_changes(c);
	if ((c->iprev_started || c->iprev_ready) && c->e->cfg->mode == MODE_INBOUND) {
		if (c->iprev_started)
			task_join(c->e->pool, &c->iprev_task, 1);
		c->iprev_started = c->iprev_ready = 0;
		c->iprev_stale = 1;
	}
	set_field(c, env->client_ip, sizeof(env->client_ip), ip, "client address");
	set_field(c, env->client_name, sizeof(env->client_name), hostname, "client name");
	if (netaddr_parse(env->client_ip, &a) == 0) {
		netaddr_str(&a, env->client_ip, sizeof(env->client_ip));
		c->internal = engine_client_internal(c->e, env->client_ip);
	}
	c->iprev_from_conn = c->conn != NULL && !c->iprev_stale && !c->internal &&
	    strcmp(c->conn->ip, env->client_ip) == 0;
	if (c->e->cfg->mode == MODE_INBOUND && !c->iprev_stale && !c->iprev_from_conn)
		start_iprev(c);
}

void
check_set_helo(struct check *c, const char *helo)
{
	spf_input_changes(c);
	set_field(c, c->v.env.helo, sizeof(c->v.env.helo), helo, "HELO name");
}

static void start_spf(struct check *c);

/* The one reading of the envelope sender: smtppath.h. */
void
check_set_mail_from(struct check *c, const char *mail_from)
{
	struct envelope *env = &c->v.env;
	struct smtp_path p;
	int rc;

	spf_input_changes(c);
	rc = smtp_path_parse(mail_from, &p);
	env->null_sender = p.null;
	env->mail_from[0] = env->mail_from_domain[0] = '\0';
	if (!p.null) {
		if (rc == 0) {
			str_format(env->mail_from, sizeof(env->mail_from), "%s@%s", p.local, p.domain);
			str_format(env->mail_from_domain, sizeof(env->mail_from_domain), "%s", p.domain);
		} else {
			set_field(c, env->mail_from, sizeof(env->mail_from), mail_from, "MAIL FROM");
		}
		if (!p.strict && c->v.input_error[0] == '\0')
			str_format(c->v.input_error, sizeof(c->v.input_error), "MAIL FROM: %.140s", p.why);
	}
	if (!c->spf_stale)
		start_spf(c);
}

void
check_add_rcpt(struct check *c, const char *rcpt)
{
	(void)rcpt;
	c->v.env.n_rcpt++;
}

void
check_set_queue_id(struct check *c, const char *qid)
{
	set_field(c, c->v.env.queue_id, sizeof(c->v.env.queue_id), qid, "queue id");
}

void
check_set_tls(struct check *c, const char *tls_version, const char *cipher)
{
	struct envelope *env = &c->v.env;

	set_field(c, env->tls_version, sizeof(env->tls_version), tls_version, "TLS version");
	set_field(c, env->cipher, sizeof(env->cipher), cipher, "TLS cipher");
	if (env->tls != TLS_NOT_APPLICABLE)
		env->tls = TLS_YES;
}

void
check_set_no_tls(struct check *c)
{
	if (c->v.env.tls == TLS_UNKNOWN)
		c->v.env.tls = TLS_NO;
}

int
check_is_internal(const struct check *c)
{
	return c->internal;
}

/* Outbound mode checks the submitters' own mail: nobody is skipped. */
int
engine_client_internal(const struct engine *e, const char *ip)
{
	struct netaddr a;

	return e->cfg->mode == MODE_INBOUND && netaddr_parse(ip, &a) == 0 &&
	    cidr_list_match(&e->cfg->internal_hosts, &a);
}

/* name is field (case-insensitive), white space before the colon allowed as Postfix does */
static int
field_is(const char *name, const char *field)
{
	size_t n = strlen(name), fn = strlen(field);

	while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
		n--;
	return n == fn && strncasecmp(name, field, fn) == 0;
}

/*
 * Keeps the d= of a signature's key name (SEL._domainkey.D) for DMARC's
 * early discovery, when the field was kept (else it is never verified):
 * parsed here once, not again at the end of headers.
 */
static void
note_dkim_domain(struct check *c, const char *key, int kept)
{
	static const char sfx[] = "._domainkey.";
	struct dmarc_early *de = &c->dmarc_early;
	const char *p, *d = NULL;

	if (!kept || de->n_dkim_ids >= EARLY_IDS_MAX - 1)
		return;
	for (p = key; (p = strstr(p, sfx)) != NULL; p++)
		d = p + strlen(sfx);
	if (d != NULL)
		str_copy(de->ids[1 + de->n_dkim_ids++], EARLY_NAME_MAX, d);
}

/*
 * Early questions from a header field: the key of a DKIM signature the
 * verifier will check (the first MaxSignatures), the key of an ARC seal or
 * message signature (the first EARLY_ARC_KEYS_MAX), the DMARC record of a
 * From domain. Asked into the message's session; they count against
 * nothing until a check uses them.
 */
static void
ask_early(struct check *c, const char *name, const char *value, size_t len, int kept)
{
	char key[EARLY_NAME_MAX], q[EARLY_NAME_MAX + 8];

	if (field_is(name, "DKIM-Signature")) {
		if (c->early_keys >= c->e->cfg->max_signatures)
			return;
		c->early_keys++;
		if (dkim_key_name(value, len, key, sizeof(key)) != 0)
			return;
		dns_prefetch(c->dns, key, DNS_T_TXT);
		note_dkim_domain(c, key, kept);
	} else if (field_is(name, "ARC-Seal") || field_is(name, "ARC-Message-Signature")) {
		/* a chain holds up to 100; sealers mostly sign with one key for both */
		if (c->early_arc_keys >= EARLY_ARC_KEYS_MAX)
			return;
		c->early_arc_keys++;
		if (arc_key_name(value, len, field_is(name, "ARC-Seal"), key, sizeof(key)) == 0)
			dns_prefetch(c->dns, key, DNS_T_TXT);
	} else if (field_is(name, "From")) {
		struct addr_list l;

		if (addr_parse(value, len, &l) < 0)
			return;
		for (size_t k = 0; k < l.n && k < EARLY_FROM_MAX; k++)
			if (dmarc_domain_normalize(l.v[k].domain, key, sizeof(key), NULL, 0) == 0) {
				str_format(q, sizeof(q), "_dmarc.%s", key);
				dns_prefetch(c->dns, q, DNS_T_TXT);
			}
	}
}

/*
 * Notes an incoming copy of a field we write if any reader could take it
 * for ours (authres_claims_id). Every field is seen here, before any limit
 * of the header list, so that no forged copy slips through by coming late.
 */
static void
note_forged(struct check *c, const char *name, const char *value, size_t len)
{
	for (size_t k = 0; k < N_OWNED; k++) {
		if (!field_is(name, owned_fields[k]))
			continue;
		c->owned_seen[k]++;
		if (!authres_claims_id(value, len, c->e->cfg->authserv_id))
			continue;
		if (c->n_forged == c->cap_forged) {
			size_t ncap = c->cap_forged ? 2 * c->cap_forged : 4;
			struct header_removal *nf = realloc(c->forged, ncap * sizeof(*nf));

			if (nf == NULL) {
				str_format(c->v.error, sizeof(c->v.error),
				    "out of memory noting forged %s fields", owned_fields[k]);
				return;
			}
			c->forged = nf;
			c->cap_forged = ncap;
		}
		c->forged[c->n_forged].name = owned_fields[k];
		c->forged[c->n_forged].index = c->owned_seen[k];
		c->n_forged++;
	}
}

void
check_header(struct check *c, const char *name, const char *value, size_t len)
{
	char why[160];
	int kept;

	if (c->internal) {	/* only kept to be sealed (ARCSign) */
		if (c->e->sealer != NULL && header_name_valid(name) &&
		    header_list_add(&c->headers, name, value, len, why, sizeof(why)) < 0 &&
		    c->over_limits[0] == '\0')
			str_format(c->over_limits, sizeof(c->over_limits), "%s", why);
		return;
	}
	note_forged(c, name, value, len);
	if (!header_name_valid(name)) {
		if (c->v.input_error[0] == '\0')
			str_format(c->v.input_error, sizeof(c->v.input_error),
			    "invalid header field name skipped");
		return;
	}
	kept = header_list_add(&c->headers, name, value, len, why, sizeof(why)) == 0;
	if (!kept) {
		if (c->over_limits[0] == '\0')
			str_format(c->over_limits, sizeof(c->over_limits), "%s", why);
		if (c->v.input_error[0] == '\0')
			str_format(c->v.input_error, sizeof(c->v.input_error), "%s", why);
	}
	ask_early(c, name, value, len, kept);
}

static void start_dmarc_early(struct check *c);

/* ARCSign: the chain as found (for internal mail, read only for this) and our body hash. */
static void
seal_eoh(struct check *c)
{
	if (c->e->sealer == NULL)
		return;
	if (c->internal)
		c->arc = arc_msg_new(&c->dns_arc, c->v.env.queue_id[0] ? c->v.env.queue_id : "-");
	if (c->internal && c->arc != NULL && c->over_limits[0] == '\0')
		arc_msg_eoh(c->arc, &c->headers);
	c->seal = arc_seal_msg_new(c->e->sealer);
	arc_seal_msg_share_bodies(c->seal, &c->bodies);
}

void
check_eoh(struct check *c)
{
	/* once only: a verifier made later would miss the body */
	if (c->eoh_done)
		return;
	if (c->internal) {
		c->eoh_done = 1;
		seal_eoh(c);
		return;
	}
	c->eoh_done = 1;
	seal_eoh(c);
	start_dmarc_early(c);
	/* the chain is read from the header list, which lives as long as c */
	c->arc = arc_msg_new(&c->dns_arc, c->v.env.queue_id[0] ? c->v.env.queue_id : "-");
	arc_msg_share_bodies(c->arc, &c->bodies);
	if (c->arc != NULL && c->over_limits[0] == '\0')
		arc_msg_eoh(c->arc, &c->headers);
	c->dkim = dkim_msg_new(c->e->dkim, &c->dns_dkim, c->v.env.queue_id[0] ? c->v.env.queue_id : "-");
	if (c->dkim == NULL)
		return;
	dkim_msg_share_bodies(c->dkim, &c->bodies);
	for (size_t i = 0; i < c->headers.n; i++)
		dkim_msg_header(c->dkim, c->headers.v[i].name, c->headers.v[i].value);
	dkim_msg_eoh(c->dkim);
}

/*
 * RFC 5322 2.1.1: at most 998 octets per line, CRLF excluded. Lines are
 * not looked at one by one: where an LF comes within 999 octets of where a
 * line starts, every line up to the last such LF is short, and one memrchr
 * finds it. Only a line with no LF in that stretch is measured.
 */
static void
count_long_lines(struct check *c, const unsigned char *start, size_t n)
{
	const unsigned char *p = start, *end = start + n, *nl;

	while (p < end) {
		size_t room = c->body_line < 999 ? 999 - c->body_line : 0;
		size_t left = (size_t)(end - p);

		if (room > 0 && (nl = memrchr(p, '\n', room < left ? room : left)) != NULL) {
			c->body_line = 0;
			p = nl + 1;
			continue;
		}
		if (room >= left) {
			c->body_line += left;
			break;
		}
		nl = memchr(p + room, '\n', left - room);
		c->body_line += (size_t)((nl ? nl : end) - p);
		if (nl == NULL)
			break;
		if (c->body_line > 0 && (nl > start ? nl[-1] == '\r' : c->body_line_cr))
			c->body_line--;
		if (c->body_line > 998)
			c->long_body_lines++;
		c->body_line = 0;
		p = nl + 1;
	}
	c->body_line_cr = n > 0 && end[-1] == '\r';
}

void
check_body(struct check *c, const unsigned char *p, size_t n)
{
	/* each body hash once, whoever needs it (DKIM, ARC, our seal) */
	dkim_bodies_update(&c->bodies, p, n);
	if (c->dkim != NULL)
		dkim_msg_body(c->dkim, p, n);
	if (c->seal != NULL)
		arc_seal_msg_body(c->seal, p, n);
	if (c->internal)
		return;
	if (c->arc != NULL)
		arc_msg_body(c->arc, p, n);
	count_long_lines(c, p, n);
}

/* ---- the checks ---- */

/* Ranks SPF results for outbound mode: the worst of the SendingIPs counts. */
static int
spf_badness(enum spf_result r)
{
	static const int rank[] = { [SPF_RES_PASS] = 0, [SPF_RES_NEUTRAL] = 1, [SPF_RES_NONE] = 2,
	    [SPF_RES_SOFTFAIL] = 3, [SPF_RES_FAIL] = 4, [SPF_RES_TEMPERROR] = 5,
	    [SPF_RES_PERMERROR] = 6 };

	return rank[r];
}

/* The addresses SPF and iprev judge: the client, or SendingIPs when outbound. */
static size_t
judged_ips(struct check *c, char ips[][64], size_t max)
{
	const struct sc_config *cfg = c->e->cfg;
	size_t n = 0;

	if (cfg->mode == MODE_OUTBOUND) {
		for (size_t i = 0; i < cfg->sending_ips.n && n < max; i++)
			netaddr_str(&cfg->sending_ips.v[i].net, ips[n++], 64);
	} else if (c->v.env.client_ip[0]) {
		str_format(ips[n++], 64, "%s", c->v.env.client_ip);
	}
	return n;
}

/* Another SendingIP's SPF outcome replaces the verdict's if it is worse
 * (its 19 KB on the stack only here, not on every message's). */
static __attribute__((noinline)) void
spf_keep_worse(struct check *c, const struct spf_query *q)
{
	struct spf_outcome o;

	spf_check(c->e->spf, &c->dns_spf, q, &o);
	if (spf_badness(o.result) > spf_badness(c->v.spf.result)) {
		c->v.spf = o;
		str_format(c->v.spf_ip, sizeof(c->v.spf_ip), "%s", q->client_ip);
	}
}

static void
run_spf(struct check *c, char ips[][64], size_t nips)
{
	struct envelope *env = &c->v.env;

	if (nips == 0) {
		c->v.spf.result = SPF_RES_NONE;
		str_format(c->v.spf.why, sizeof(c->v.spf.why), "no client address known");
		return;
	}
	for (size_t i = 0; i < nips; i++) {
		struct spf_query q = {
			.client_ip = ips[i],
			.helo = env->helo,
			.sender = env->mail_from,
			.sender_domain = env->mail_from_domain,
			/* RFC 7208 2.4: for the null sender the MAIL FROM
			 * identity is postmaster@HELO (spf.c fills it in) */
			.identity = SPF_ID_MAILFROM,
		};

		/* the first (mostly the only) address straight into the verdict:
		 * an outcome is 19 KB */
		if (i == 0) {
			spf_check(c->e->spf, &c->dns_spf, &q, &c->v.spf);
			str_format(c->v.spf_ip, sizeof(c->v.spf_ip), "%s", ips[i]);
		} else {
			spf_keep_worse(c, &q);
		}
	}
	c->v.spf_done = 1;
}

static void
run_iprev(struct check *c, char ips[][64], size_t nips)
{
	for (size_t i = 0; i < nips; i++) {
		struct iprev_outcome o;

		iprev_check(&c->dns_iprev, ips[i], &o);
		if (i == 0 || (o.result != IPREV_RES_PASS && c->v.iprev.result == IPREV_RES_PASS))
			c->v.iprev = o;
	}
	c->v.iprev_done = nips > 0;
}

/* ---- the checks as tasks, started as soon as their input is known ---- */

static void
spf_task(void *arg)
{
	struct check *c = arg;

	run_spf(c, c->ips, c->nips);
}

static void
iprev_task(void *arg)
{
	struct check *c = arg;

	run_iprev(c, c->ips, c->nips);
}

/*
 * Runs fn(c) here with ctx in nowait mode: 1 when it finished with every
 * answer at hand (the cache, or the session), 0 when it would have had
 * to wait: then its result is void, ctx is made afresh, and the
 * questions it could not answer are already asked (in the session).
 */
static int
try_inline(struct check *c, struct dns_ctx *ctx, void (*fn)(void *))
{
	ctx->nowait = 1;
	fn(c);
	ctx->nowait = 0;
	if (!ctx->would_block)
		return 1;
	check_dns_init(c, ctx);
	return 0;
}

/* SPF from MAIL FROM on: the client (or SendingIPs), HELO and sender are known. */
static void
start_spf(struct check *c)
{
	if (c->internal || c->spf_started || c->spf_ready)
		return;
	if (!c->iprev_started)		/* else c->ips is set, and the task reads it */
		c->nips = judged_ips(c, c->ips, MAX_SENDING_IPS);
	if (try_inline(c, &c->dns_spf, spf_task)) {
		c->spf_ready = 1;
		return;
	}
	task_start(c->e->pool, &c->spf_task, spf_task, c);
	c->spf_started = 1;
}

/* iprev from the client address on (inbound), or from the start (SendingIPs). */
static void
start_iprev(struct check *c)
{
	if (c->internal || c->iprev_started || c->iprev_ready || c->spf_started)
		return;
	c->nips = judged_ips(c, c->ips, MAX_SENDING_IPS);
	if (c->nips == 0)
		return;
	if (try_inline(c, &c->dns_iprev, iprev_task)) {
		c->iprev_ready = 1;
		return;
	}
	task_start(c->e->pool, &c->iprev_task, iprev_task, c);
	c->iprev_started = 1;
}

static void
dmarc_early_task(void *arg)
{
	struct check *c = arg;
	struct dmarc_early *de = &c->dmarc_early;
	const char *ids[EARLY_IDS_MAX];

	for (size_t i = 0; i < de->n_ids; i++)
		ids[i] = de->ids[i];
	for (size_t i = 0; i < de->n_from; i++)
		dmarc_warm(c->e->dmarc, &c->dns_dmarc_early, c->dmarc_memo, de->from[i], ids,
		    de->n_ids);
}

/* DMARC's record discovery from the end of headers on: From is known. */
static void
start_dmarc_early(struct check *c)
{
	struct dmarc_early *de = &c->dmarc_early;
	struct author a;

	if (c->internal || c->dmarc_started)
		return;
	/* the domains run_dmarc will judge */
	author_domains(&c->headers, &a);
	for (size_t i = 0; i < a.n && de->n_from < EARLY_FROM_MAX; i++)
		str_format(de->from[de->n_from++], EARLY_NAME_MAX, "%s", a.domain[i]);
	if (de->n_from == 0)
		return;
	/* identifiers the tree walk may need: the SPF domain and each d=
	 * (noted as the signatures came: ask_early) */
	str_format(de->ids[0], EARLY_NAME_MAX, "%.255s",
	    c->v.env.null_sender ? c->v.env.helo : c->v.env.mail_from_domain);
	de->n_ids = 1 + de->n_dkim_ids;
	if (c->dmarc_memo == NULL)
		c->dmarc_memo = dmarc_memo_new();	/* NULL: the final walks read again */
	if (try_inline(c, &c->dns_dmarc_early, dmarc_early_task))
		return;		/* every answer was at hand: nothing to ask early */
	task_start(c->e->pool, &c->dmarc_task, dmarc_early_task, c);
	c->dmarc_started = 1;
}

static void
run_dkim(struct check *c)
{
	const char *why = NULL;

	if (c->dkim == NULL) {
		str_format(c->v.dkim_error, sizeof(c->v.dkim_error), "DKIM verifier unavailable");
		return;
	}
	if (dkim_msg_finish(c->dkim, &c->v.dkim, &c->v.n_dkim, &why) < 0) {
		str_format(c->v.dkim_error, sizeof(c->v.dkim_error), "%s", why ? why : "DKIM error");
		c->v.dkim = NULL;
		c->v.n_dkim = 0;
	}
}

/* The ARC chain; not read when header fields were over the limits (none:
 * nothing it says is believed). */
static void
run_arc(struct check *c)
{
	arc_msg_finish(c->arc, &c->v.arc);
	if (c->over_limits[0] != '\0')
		str_format(c->v.arc.why, sizeof(c->v.arc.why), "not verified: %.100s", c->over_limits);
	c->v.arc_done = 1;
}

/*
 * DMARC failed: does a trusted sealer of a passing ARC chain say it passed
 * when the sealer received the message (arc_trust.h)? Then the policy is
 * not applied (policy.c) and the message counts as forwarded (rules.c).
 */
static void
run_arc_trust(struct check *c)
{
	const struct dmarc_outcome *d = &c->v.dmarc;

	memset(&c->v.arc_trust, 0, sizeof(c->v.arc_trust));
	if (!c->v.dmarc_done || d->result != DMARC_RES_FAIL || !c->v.arc_done ||
	    c->e->cfg->trusted_arc_sealers == NULL || c->e->cfg->trusted_arc_sealers[0] == '\0')
		return;
	arc_trust_judge(&c->v.arc, c->e->cfg->trusted_arc_sealers, d->from_domain, c->e->dmarc,
	    &c->dns_arc, d->record.aspf, d->record.adkim, &c->v.arc_trust);
	if (c->v.arc_trust.vouched)
		log_info("%s: DMARC policy of %s not applied: ARC sealer %s (i=%u) says %s",
		    c->v.env.queue_id[0] ? c->v.env.queue_id : "NOQUEUE", d->from_domain,
		    c->v.arc_trust.sealer, c->v.arc_trust.instance, c->v.arc_trust.claim);
}

/* Worst first: a failure with a policy is what a spoofer must not escape. */
static int
dmarc_badness(enum dmarc_res r)
{
	static const int rank[] = { [DMARC_RES_PASS] = 0, [DMARC_RES_NONE] = 1,
	    [DMARC_RES_PERMERROR] = 2, [DMARC_RES_TEMPERROR] = 3, [DMARC_RES_FAIL] = 4 };

	return rank[r];
}

static void
dmarc_one(struct check *c, const char *const *doms, size_t n, struct dmarc_outcome *out)
{
	struct dmarc_input in;

	memset(&in, 0, sizeof(in));
	in.from_domains = doms;
	in.n_from = n;
	in.spf_domain = c->v.spf_done ? c->v.spf.domain : NULL;
	in.spf_result = c->v.spf_done ? c->v.spf.result : SPF_RES_NONE;
	in.dkim = c->v.dkim;
	in.n_dkim = c->v.n_dkim;
	in.memo = c->dmarc_memo;
	dmarc_check(c->e->dmarc, &c->dns_dmarc, &in, out);
}

/*
 * Without a usable DMARC policy there is nothing to align by, but the
 * bulk-sender rules still ask whether From aligns (relaxed) with a
 * passing SPF or DKIM domain.
 */
static void
relaxed_alignment(struct check *c)
{
	struct dmarc_outcome *d = &c->v.dmarc;

	if (c->v.spf_done && c->v.spf.result == SPF_RES_PASS &&
	    dmarc_aligned(c->e->dmarc, &c->dns_dmarc, d->from_domain, c->v.spf.domain, DMARC_ALIGN_RELAXED) == 1) {
		d->spf_aligned = 1;
		str_format(d->spf_domain, sizeof(d->spf_domain), "%s", c->v.spf.domain);
	}
	for (size_t i = 0; i < c->v.n_dkim && !d->dkim_aligned; i++)
		if (c->v.dkim[i].result == DKIM_RES_PASS &&
		    dmarc_aligned(c->e->dmarc, &c->dns_dmarc, d->from_domain, c->v.dkim[i].domain,
		    DMARC_ALIGN_RELAXED) == 1) {
			d->dkim_aligned = 1;
			str_format(d->dkim_domain, sizeof(d->dkim_domain), "%s", c->v.dkim[i].domain);
		}
}

/*
 * An aggregate report (its Subject, reportmsg.h) that passed DMARC: never
 * counted in the reports we send, so that reports about reports cannot
 * loop between two receivers. One Subject field only.
 */
static void
mark_report_message(struct check *c)
{
	const struct header *subject;
	char domain[DOMAIN_MAX + 1];

	if (c->v.dmarc.result != DMARC_RES_PASS || header_count(&c->headers, "Subject") != 1 ||
	    (subject = header_get(&c->headers, "Subject", 1)) == NULL)
		return;
	c->v.dmarc_report_msg = reportmsg_subject(subject->value, subject->value_len, domain,
	    sizeof(domain));
}

/*
 * DMARC on the From domains a reader sees (author.h), whether in one field
 * or several. Several (RFC 7489 6.6.1): each is judged on its own and the
 * worst result stands, so that adding an address never hides a p=reject
 * domain; when none fails, permerror. A From with an address no domain can
 * stand for is a cause of its own (bad_from) and never better than
 * permerror here, whatever the readable domains say.
 */
static void
run_dmarc(struct check *c)
{
	struct dmarc_outcome *d = &c->v.dmarc;
	const char *ptrs[AUTHOR_MAX_DOMAINS];
	struct author a;

	author_domains(&c->headers, &a);
	for (size_t i = 0; i < a.n; i++)
		ptrs[i] = a.domain[i];
	dmarc_one(c, ptrs, a.n, d);
	c->v.dmarc_done = 1;
	if (a.n > 1) {
		struct dmarc_outcome *worst = NULL, *o = malloc(sizeof(*o));

		for (size_t i = 0; o != NULL && i < a.n; i++) {
			dmarc_one(c, &ptrs[i], 1, o);
			if (worst == NULL || dmarc_badness(o->result) > dmarc_badness(worst->result)) {
				if (worst == NULL && (worst = malloc(sizeof(*worst))) == NULL)
					break;
				*worst = *o;
			}
		}
		if (worst != NULL && dmarc_badness(worst->result) > dmarc_badness(DMARC_RES_PERMERROR)) {
			*d = *worst;
			str_format(d->why + strlen(d->why), sizeof(d->why) - strlen(d->why),
			    "; message has %zu From domains", a.n);
		}
		free(worst);
		free(o);
	}
	if (a.unusable) {
		str_format(c->v.bad_from, sizeof(c->v.bad_from), "%s", a.why);
		if (d->result != DMARC_RES_FAIL) {
			d->result = DMARC_RES_PERMERROR;
			str_format(d->why, sizeof(d->why), "%s", a.why);
		}
	} else if (a.note[0] != '\0') {
		str_format(d->why + strlen(d->why), sizeof(d->why) - strlen(d->why), "%s%s",
		    d->why[0] ? "; " : "", a.note);
	}
	if (d->n_from == 1 && !d->spf_aligned && !d->dkim_aligned &&
	    d->result != DMARC_RES_FAIL && d->result != DMARC_RES_PASS)
		relaxed_alignment(c);
}

static void
run_unsub(struct check *c)
{
	struct unsub_result *u = &c->v.unsub;

	unsub_check(&c->headers, c->v.dkim, c->v.n_dkim, u);
	/* information: is a signature covering the unsubscribe fields aligned with From? */
	for (size_t i = 0; i < u->n_covering && c->v.dmarc.from_domain[0]; i++) {
		const char *d = c->v.dkim[u->covering[i]].domain;

		if (dmarc_aligned(c->e->dmarc, &c->dns_dmarc, c->v.dmarc.from_domain, d, DMARC_ALIGN_RELAXED) == 1)
			c->v.unsub_aligned = 1;
	}
}

/*
 * The 24 h count of org with this message, and whether org is bulk by
 * volume: at or over BulkThreshold now, or within BulkStickyDays of when
 * it was. With SharedState the count is the fleet's (the local file's
 * count is a floor when Redis is away or knows less).
 */
static void
count_volume(struct check *c, const char *org)
{
	const struct sc_config *cfg = c->e->cfg;
	unsigned by = c->v.env.n_rcpt ? c->v.env.n_rcpt : 1;
	time_t now = time(NULL);
	long long bulk_at = 0;
	unsigned long n = volume_add(c->e->volume, org, by, now, &bulk_at);

	if (c->e->shared != NULL) {
		struct sharedstate_count fleet;

		sharedstate_add(c->e->shared, org, by, now, &fleet);
		if (fleet.messages > n)
			n = fleet.messages;
		if (fleet.bulk_at > bulk_at)
			bulk_at = fleet.bulk_at;
	}
	c->v.volume = n;
	if (n >= cfg->bulk_threshold)
		volume_mark_bulk(c->e->volume, org, now);
	if (c->v.bulk)
		return;
	if (n >= cfg->bulk_threshold) {
		c->v.bulk = 1;
		str_format(c->v.bulk_why, sizeof(c->v.bulk_why), "%lu messages from %s in 24 h", n, org);
	} else if (bulk_at > 0) {
		char day[16];
		struct tm tm;
		time_t t = (time_t)bulk_at;

		if (gmtime_r(&t, &tm) == NULL || strftime(day, sizeof(day), "%Y-%m-%d", &tm) == 0)
			str_format(day, sizeof(day), "?");
		c->v.bulk = 1;
		str_format(c->v.bulk_why, sizeof(c->v.bulk_why), "%s reached BulkThreshold on %s", org, day);
	}
}

static void
run_bulk(struct check *c)
{
	const struct sc_config *cfg = c->e->cfg;
	char names[160] = "", org[256];

	if (cfg->bulk_detection & BULK_NEVER)
		return;
	if (cfg->bulk_detection & BULK_ALWAYS) {
		c->v.bulk = 1;
		str_format(c->v.bulk_why, sizeof(c->v.bulk_why), "BulkDetection always");
		return;
	}
	if ((cfg->bulk_detection & BULK_HEADERS) && unsub_bulk_hints(&c->headers, names, sizeof(names))) {
		c->v.bulk = 1;
		str_format(c->v.bulk_why, sizeof(c->v.bulk_why), "%s", names);
	}
	/* only authenticated mail counts: nobody can push another's domain over */
	if ((cfg->bulk_detection & BULK_VOLUME) && c->v.dmarc.from_domain[0] &&
	    (c->v.dmarc.spf_aligned || c->v.dmarc.dkim_aligned) &&
	    dmarc_org_domain(c->e->dmarc, &c->dns_dmarc, c->v.dmarc.from_domain, org, sizeof(org)) == 0)
		count_volume(c, org);
}

static void
add_header(struct verdict *v, const char *name, char *value)
{
	if (value == NULL || v->n_add == VERDICT_MAX_ADD) {
		free(value);
		return;
	}
	if ((v->add[v->n_add].name = strdup(name)) == NULL) {
		free(value);
		return;
	}
	v->add[v->n_add].value = value;
	v->n_add++;
}

/*
 * A header section past the list's limits (header.h) is judged on what is
 * known: the envelope (SPF) and every From field, which the list keeps
 * past its limits, so DMARC still applies the From domain's policy. What
 * was not kept could be signed, so DKIM is not verified: one neutral
 * result, never a pass. The format rule fails. This is no internal error:
 * a flood of fields never buys a milder action than the policy.
 */
static void
judge_over_limits(struct check *c)
{
	struct dkim_sig_result *u = &c->unverified;

	memset(u, 0, sizeof(*u));
	u->result = DKIM_RES_NEUTRAL;
	str_format(u->why, sizeof(u->why), "not verified: %.100s (%zu not kept)", c->over_limits,
	    c->headers.dropped);
	c->v.dkim = u;
	c->v.n_dkim = 1;
	format_add_problem(&c->v.format, FORMAT_FAIL, "header", "%s; %zu fields not checked",
	    c->over_limits, c->headers.dropped);
}

/* SPF's result: from its task, or evaluated now (not begun, or its input changed). */
static void
wait_spf(struct check *c)
{
	if (c->spf_started)
		task_join(c->e->pool, &c->spf_task, 1);
	if ((!c->spf_started && !c->spf_ready) || c->spf_stale) {
		/* addresses of its own: iprev's task may still read c->ips, c->nips */
		char ips[MAX_SENDING_IPS][64];

		run_spf(c, ips, judged_ips(c, ips, MAX_SENDING_IPS));
	}
	c->spf_started = c->spf_ready = 0;
}

static void
wait_iprev(struct check *c)
{
	struct check_conn *cc = c->conn;

	if (c->iprev_from_conn) {
		if (cc->started)		/* the connection's first message */
			task_join(c->e->pool, &cc->task, 1);
		cc->started = 0;
		c->v.iprev = cc->iprev;
		c->v.iprev_done = 1;
		return;
	}
	if (c->iprev_started)
		task_join(c->e->pool, &c->iprev_task, 1);
	if ((!c->iprev_started && !c->iprev_ready) || c->iprev_stale) {
		c->nips = judged_ips(c, c->ips, MAX_SENDING_IPS);
		run_iprev(c, c->ips, c->nips);
	}
	c->iprev_started = c->iprev_ready = 0;
}

/* The message's DNS counts: every check's, added up. */
static void
count_dns(struct check *c)
{
	const struct dns_ctx *all[] = { &c->dns_spf, &c->dns_dkim, &c->dns_arc, &c->dns_dmarc,
	    &c->dns_dmarc_early, &c->dns_iprev };

	c->v.dns_queries = c->v.dns_cache_hits = c->v.dns_timeouts = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		c->v.dns_queries += all[i]->queries;
		c->v.dns_cache_hits += all[i]->cache_hits;
		c->v.dns_timeouts += all[i]->timeouts;
	}
	if (c->iprev_from_conn && !c->conn->counted) {	/* iprev's, once per connection */
		c->conn->counted = 1;
		c->v.dns_queries += c->conn->ctx.queries;
		c->v.dns_cache_hits += c->conn->ctx.cache_hits;
		c->v.dns_timeouts += c->conn->ctx.timeouts;
	}
}

/*
 * ARCSign: our set at the very top, above our Authentication-Results, in
 * RFC 8617's order (ARC-Seal, ARC-Message-Signature, ARC-Authentication-
 * Results). Checked mail carries what we found now; mail from InternalHosts
 * (a list sending a message on) what we wrote when it arrived. A message
 * that is refused, or whose header section passed the limits (the
 * signature would not cover what leaves), is not sealed.
 */
static void
seal(struct check *c)
{
	const struct sc_config *cfg = c->e->cfg;
	const char *qid = c->v.env.queue_id[0] ? c->v.env.queue_id : "NOQUEUE";
	struct arc_new_set set;
	char why[200], *own = NULL;
	const char *results = NULL;
	enum arc_result cv = ARC_RES_COUNT;
	struct header_edit top[3];

	if (c->e->sealer == NULL || c->v.action == ACT_REJECT || c->v.action == ACT_TEMPFAIL)
		return;
	if (c->seal == NULL || c->arc == NULL || c->over_limits[0] != '\0') {
		log_warn("%s: not sealed (ARCSign): %s", qid,
		    c->over_limits[0] ? c->over_limits : "out of memory");
		return;
	}
	if (c->internal) {
		results = own = arc_seal_own_results(&c->headers, cfg->authserv_id);
		if (results == NULL) {
			log_info("%s: not sealed (ARCSign): no Authentication-Results of %s to seal",
			    qid, cfg->authserv_id);
			return;
		}
	} else {
		for (size_t i = 0; i < c->v.n_add && results == NULL; i++)
			if (strcmp(c->v.add[i].name, "Authentication-Results") == 0)
				results = c->v.add[i].value;
		cv = c->v.arc_done ? c->v.arc.result : ARC_RES_FAIL;
	}
	if (results == NULL || c->v.n_add + 3 > VERDICT_MAX_ADD ||
	    arc_seal_msg_finish(c->seal, &c->headers, c->arc, results, cv, (long long)time(NULL),
	    &set, why, sizeof why) < 0) {
		log_info("%s: not sealed (ARCSign): %s", qid,
		    results == NULL ? "no Authentication-Results" : why);
		free(own);
		return;
	}
	free(own);
	top[0] = (struct header_edit){ strdup("ARC-Seal"), set.as };
	top[1] = (struct header_edit){ strdup("ARC-Message-Signature"), set.ams };
	top[2] = (struct header_edit){ strdup("ARC-Authentication-Results"), set.aar };
	if (top[0].name == NULL || top[1].name == NULL || top[2].name == NULL) {
		for (int i = 0; i < 3; i++)
			free(top[i].name);
		arc_new_set_free(&set);
		log_warn("%s: not sealed (ARCSign): out of memory", qid);
		return;
	}
	memmove(&c->v.add[3], &c->v.add[0], c->v.n_add * sizeof c->v.add[0]);
	memcpy(&c->v.add[0], top, sizeof top);
	c->v.n_add += 3;
	log_info("%s: sealed ARC set i=%u cv=%s as %s (%s)", qid, set.instance,
	    arc_res_str(set.cv), cfg->arc_domain, arc_signer_algorithm(c->e->sealer));
}

const struct verdict *
check_finish(struct check *c)
{
	const struct sc_config *cfg = c->e->cfg;
	struct timespec started, now;

	if (c->v.log_line != NULL)
		return &c->v;
	clock_gettime(CLOCK_MONOTONIC, &started);
	if (c->internal) {
		c->v.skipped = 1;
		str_format(c->v.skip_reason, sizeof(c->v.skip_reason),
		    "client %s is in InternalHosts", c->v.env.client_ip);
		seal(c);
	} else {
		check_eoh(c);
		/* the checks begun early run on; the rest start now */
		wait_spf(c);
		format_check(&c->headers, &c->v.format);
		if (c->over_limits[0] != '\0')
			judge_over_limits(c);
		else
			run_dkim(c);
		run_arc(c);
		if (c->long_body_lines)
			format_add_kind(&c->v.format, FORMAT_K_LONG_LINE, FORMAT_FAIL, "body",
			    "%lu body line%s longer than 998 octets (RFC 5322 section 2.1.1)",
			    c->long_body_lines, c->long_body_lines == 1 ? "" : "s");
		if (c->dmarc_started)
			task_join(c->e->pool, &c->dmarc_task, 1);
		c->dmarc_started = 0;
		run_dmarc(c);
		mark_report_message(c);
		run_arc_trust(c);
		wait_iprev(c);
		run_unsub(c);
		run_bulk(c);
		c->v.remove = c->forged;
		c->v.n_remove = c->n_forged;
		policy_decide(&c->e->policy, &c->v);
		add_header(&c->v, "Authentication-Results", report_authres(&c->v, cfg->authserv_id));
		add_header(&c->v, COMPLIANCE_FIELD, report_compliance(&c->v, cfg->authserv_id));
		if (cfg->add_received_spf && c->v.spf_done)
			add_header(&c->v, "Received-SPF", report_received_spf(&c->v, cfg->authserv_id));
		seal(c);
	}
	count_dns(c);
	clock_gettime(CLOCK_REALTIME, &now);
	c->v.time_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	clock_gettime(CLOCK_MONOTONIC, &now);
	c->v.elapsed_us = (now.tv_sec - started.tv_sec) * 1000000 +
	    (now.tv_nsec - started.tv_nsec) / 1000;
	c->v.elapsed_ms = c->v.elapsed_us / 1000;
	c->v.log_line = report_log_line(&c->v);
	return &c->v;
}
