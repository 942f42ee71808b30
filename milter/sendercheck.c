/*
 * sendercheck: the milter daemon. Thin libmilter glue around the engine:
 * it collects the envelope, macros, header fields and body of each message
 * into a check, renders the verdict (header edits, reply, action) and logs
 * one line per message. Per-connection state lives only in smfi_setpriv
 * (Debian's libmilter runs callbacks on a worker pool): what the MTA
 * negotiated, and the configuration generation the session started on
 * (a reload changes the rules for new sessions only; see generation.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <libmilter/mfapi.h>
#include <opendkim/dkim.h>
#include <spf2/spf_lib_version.h>

#include "engine.h"
#include "generation.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "pidfile.h"
#include "report.h"
#include "sbuf.h"
#include "signals.h"
#include "sqldb.h"
#include "startcheck.h"
#include "stats.h"

#define DEFAULT_CONFIG SYSCONFDIR "/sendercheck.conf"

/* The configuration read at start: restart-only options (Socket, UserID,
 * PidFile, ...) are used from here; sessions use their generation's. */
static const struct sc_config *boot;
/* Statistics (StatsDB) and the metrics endpoint (MetricsSocket); NULL when off. */
static struct stats *stats;
static struct metrics_server *metrics;
/* Set once before the first session when the endpoint serves: verdicts
 * are counted only then (nothing else reads the counters). */
static int metrics_served;
/* Sessions being checked now, against MilterMaxSessions. */
static atomic_uint sessions;

struct conn {
	struct generation *gen;	/* the configuration this session runs on */
	unsigned long nr_flags;	/* steps negotiated as "no reply" */
	int symlist_ok;		/* the MTA takes macro requests: no {tls_version} means no TLS */
	int counted;		/* holds one of MilterMaxSessions */
	int refused;		/* over MilterMaxSessions: tempfail at connect */
	int internal;		/* InternalHosts, not checked: accepted at DATA */
	char ip[64];
	char name[256];
	char helo[256];
	struct check_conn *early;	/* iprev, begun at connect */
	struct check *msg;
	struct conn *parked_next;	/* closed while stopping: see park() */
	/* SMFIP_HDR_LEADSPC negotiated: the MTA writes the values of fields
	 * we add exactly as given, so they carry their own leading space */
	int leadspc;
};

static sfsistat
noreply(const struct conn *c, unsigned long flag)
{
	return c != NULL && (c->nr_flags & flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* Counts the session against MilterMaxSessions, or marks it refused. */
static void
session_count(struct conn *c)
{
	unsigned limit = c->gen->cfg.milter_max_sessions;

	if (atomic_fetch_add(&sessions, 1) < limit) {
		c->counted = 1;
		return;
	}
	atomic_fetch_sub(&sessions, 1);
	c->refused = 1;
}

static void
session_uncount(struct conn *c)
{
	if (c->counted)
		atomic_fetch_sub(&sessions, 1);
	c->counted = 0;
}

/* The session's state, made at its first callback (negotiation). */
static struct conn *
conn_get(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->gen = generation_get()) == NULL) {
		free(c);
		return NULL;
	}
	session_count(c);
	smfi_setpriv(ctx, c);
	return c;
}

static void
msg_end(struct conn *c)
{
	if (c != NULL && c->msg != NULL) {
		check_free(c->msg);
		c->msg = NULL;
	}
}

static void
copy(char *dst, size_t len, const char *src)
{
	str_copy(dst, len, src);
}

/* The action for an internal error, as a milter status (quarantine only
 * takes effect at end of message; elsewhere it is accept). */
static sfsistat
on_error(SMFICTX *ctx, const struct conn *c, const char *why)
{
	struct generation *g = c != NULL ? c->gen : generation_get();
	enum action act = g != NULL ? g->cfg.on_error : ACT_TEMPFAIL;

	if (c == NULL)
		generation_put(g);
	log_err("%s", why);
	switch (act) {
	case ACT_REJECT:
		smfi_setreply(ctx, "550", "5.3.0", "Internal error while checking the sender");
		return SMFIS_REJECT;
	case ACT_TEMPFAIL:
		smfi_setreply(ctx, "451", "4.3.0", "Internal error while checking the sender; try again later");
		return SMFIS_TEMPFAIL;
	case ACT_QUARANTINE:
		if (smfi_quarantine(ctx, "sendercheck: internal error") == MI_SUCCESS)
			return SMFIS_CONTINUE;
		return SMFIS_ACCEPT;
	default:
		return SMFIS_ACCEPT;
	}
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
    unsigned long *pf3)
{
	unsigned long want_act = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST;
	unsigned long want_nr = SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR |
	    SMFIP_NR_EOH | SMFIP_NR_BODY;
	/*
	 * DATA is taken, with a reply, on purpose: Postfix sends the macros of
	 * a skipped event anyway, with no reply to wait for, and its cleanup
	 * then writes the whole header/body phase behind that small unacked
	 * segment; Nagle on the MTA's side holds it until our delayed ACK
	 * (~40 ms per message over TCP, measured with Postfix 3.7). Our reply
	 * to DATA acknowledges it and costs one round trip.
	 */
	unsigned long skip = SMFIP_NOUNKNOWN;
	struct conn *c = conn_get(ctx);

	(void)f2; (void)f3; (void)pf2; (void)pf3;
	*pf0 = want_act & f0;
	/* what this MTA agreed to holds for this connection only */
	if (c == NULL)
		want_nr = 0;	/* no state to remember it in: answer every step */
	/*
	 * CONNECT needs no reply unless the session is over MilterMaxSessions
	 * (known now): that one is told to try again later at connect. An
	 * InternalHosts client is accepted at DATA instead (cb_data).
	 */
	else if (!c->refused)
		want_nr |= SMFIP_NR_CONN;
	*pf1 |= (want_nr | skip | SMFIP_HDR_LEADSPC) & f1;
	if (c == NULL)
		return SMFIS_CONTINUE;
	c->nr_flags = *pf1 & want_nr;
	c->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	c->symlist_ok = (f0 & SMFIF_SETSYMLIST) != 0;
	if (c->symlist_ok) {
		smfi_setsymlist(ctx, SMFIM_CONNECT, "{client_addr} {client_name} j");
		smfi_setsymlist(ctx, SMFIM_HELO, "{tls_version} {cipher}");
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {tls_version} {cipher}");
		smfi_setsymlist(ctx, SMFIM_EOH, "i {tls_version} {cipher}");
		smfi_setsymlist(ctx, SMFIM_EOM, "i {tls_version} {cipher}");
	}
	return SMFIS_CONTINUE;
}

static void
sockaddr_ip(const struct sockaddr *sa, char *buf, size_t len)
{
	buf[0] = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf, (socklen_t)len);
}

/*
 * Callbacks at work on the engine (DKIM, SPF, DMARC: OpenSSL, libspf2,
 * libpsl), for the stop: the running ones finish (a verdict in progress is
 * still given), new ones leave the engine alone, and only then does the
 * process exit, so that no callback uses a library that exit() tears down
 * (OpenSSL frees its state in an atexit handler).
 */
static atomic_int at_work, stopping;

/* 1: go ahead and call work_end() after; 0: the daemon is stopping. */
static int
work_begin(void)
{
	atomic_fetch_add(&at_work, 1);
	if (!atomic_load(&stopping))
		return 1;
	atomic_fetch_sub(&at_work, 1);
	return 0;
}

static void
work_end(void)
{
	atomic_fetch_sub(&at_work, 1);
}

/* For the stop: no new work from now on; waits up to max_ms for the
 * running callbacks. Returns how many are still at work. */
static int
work_drain(long max_ms)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };

	atomic_store(&stopping, 1);
	for (long waited = 0; atomic_load(&at_work) > 0 && waited < max_ms; waited += 10)
		nanosleep(&step, NULL);
	return atomic_load(&at_work);
}

/* At most one line per 10 seconds while sessions are refused. */
static void
refused_log(const struct conn *c)
{
	static atomic_long last, refused;
	long now = (long)time(NULL), then = atomic_load(&last);
	long n = atomic_fetch_add(&refused, 1) + 1;

	if (now - then >= 10 && atomic_compare_exchange_strong(&last, &then, now)) {
		atomic_fetch_sub(&refused, n);
		log_warn("MilterMaxSessions %u reached: session from %s told to try again later "
		    "(%ld refused since the last note)", c->gen->cfg.milter_max_sessions, c->ip, n);
	}
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct conn *c = conn_get(ctx);
	const char *addr = smfi_getsymval(ctx, "{client_addr}");
	const char *name = smfi_getsymval(ctx, "{client_name}");

	if (c == NULL)
		return on_error(ctx, c, "out of memory at connect");
	if (addr != NULL && *addr)
		copy(c->ip, sizeof(c->ip), addr);
	else
		sockaddr_ip(hostaddr, c->ip, sizeof(c->ip));
	if (name == NULL)
		name = hostname;
	/* "[ip]" (libmilter) or "unknown" (Postfix): the name did not verify */
	if (name == NULL || name[0] == '[' || strcmp(name, "unknown") == 0)
		name = "";
	copy(c->name, sizeof(c->name), name);
	/* internal mail is not checked, but sealed when ARCSign is on; with
	 * CONNECT a no-reply step, its messages are accepted at DATA */
	if (engine_client_internal(c->gen->engine, c->ip) && !engine_seals(c->gen->engine)) {
		log_debug("client %s is in InternalHosts: not checked", c->ip);
		session_uncount(c);
		c->internal = 1;
		return c->nr_flags & SMFIP_NR_CONN ? SMFIS_NOREPLY : SMFIS_ACCEPT;
	}
	if (c->refused) {
		refused_log(c);
		smfi_setreply(ctx, "451", "4.3.2", "Too many sessions in the sender checks; try again later");
		return SMFIS_TEMPFAIL;
	}
	if (work_begin()) {	/* stopping: end of message tempfails */
		check_conn_free(c->early);
		c->early = check_conn_new(c->gen->engine, c->ip);
		work_end();
	}
	return noreply(c, SMFIP_NR_CONN);
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	struct conn *c = conn_get(ctx);

	if (c != NULL)
		copy(c->helo, sizeof(c->helo), helo);
	return noreply(c, SMFIP_NR_HELO);
}

static void
take_macros(SMFICTX *ctx, struct check *m)
{
	const char *qid = smfi_getsymval(ctx, "i");
	const char *tls = smfi_getsymval(ctx, "{tls_version}");
	const char *cipher = smfi_getsymval(ctx, "{cipher}");

	if (qid != NULL)
		check_set_queue_id(m, qid);
	if (tls != NULL)
		check_set_tls(m, tls, cipher);
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_get(ctx);

	/* MAIL is a no-reply step: on failure, end of message applies On-Error */
	if (c == NULL) {
		log_err("out of memory at MAIL FROM");
		return noreply(c, SMFIP_NR_MAIL);
	}
	if (c->internal || !work_begin())	/* stopping: end of message tempfails */
		return noreply(c, SMFIP_NR_MAIL);
	msg_end(c);
	if ((c->msg = check_new_in(c->gen->engine, c->early)) == NULL) {
		log_err("out of memory at MAIL FROM");
		work_end();
		return noreply(c, SMFIP_NR_MAIL);
	}
	check_set_client(c->msg, c->ip, c->name);
	check_set_helo(c->msg, c->helo);
	check_set_mail_from(c->msg, argv && argv[0] ? argv[0] : "");
	take_macros(ctx, c->msg);
	work_end();
	return noreply(c, SMFIP_NR_MAIL);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL && c->msg != NULL && argv != NULL && argv[0] != NULL && work_begin()) {
		check_add_rcpt(c->msg, argv[0]);
		work_end();
	}
	return noreply(c, SMFIP_NR_RCPT);
}

/* Answered to acknowledge the MTA's DATA step (see cb_negotiate); the
 * first step after a no-reply CONNECT that can accept an internal client's
 * message unchecked. */
static sfsistat
cb_data(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	return c != NULL && c->internal ? SMFIS_ACCEPT : SMFIS_CONTINUE;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL && c->msg != NULL && name != NULL && value != NULL && work_begin()) {
		check_header(c->msg, name, value, strlen(value));
		work_end();
	}
	return noreply(c, SMFIP_NR_HDR);
}

/* Sessions that close while the daemon stops: kept whole (and reachable)
 * until the process ends, freeing them would be work on the engine. */
static _Atomic(struct conn *) parked;

static void
park(struct conn *c)
{
	c->parked_next = atomic_load(&parked);
	while (!atomic_compare_exchange_weak(&parked, &c->parked_next, c))
		;
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL && c->msg != NULL && work_begin()) {
		take_macros(ctx, c->msg);
		check_eoh(c->msg);
		work_end();
	}
	return noreply(c, SMFIP_NR_EOH);
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *p, size_t n)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL && c->msg != NULL && work_begin()) {
		check_body(c->msg, p, n);
		work_end();
	}
	return noreply(c, SMFIP_NR_BODY);
}

/* smfi_setreply treats '%' as a format character: write "%%". */
static void
escape_percent(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; *src && i + 2 < len; src++) {
		if (*src == '%')
			dst[i++] = '%';
		dst[i++] = *src;
	}
	dst[i] = '\0';
}

#define REPLY_LINE 76		/* text per reply line, as Gmail folds */
#define REPLY_LINES 32		/* smfi_setmlreply's limit */

/*
 * The reply, folded at spaces into lines of at most REPLY_LINE octets (a
 * word longer than that, a URL, gets a line of its own): a provider's
 * reply is several hundred octets, more than one line should carry
 * (RFC 5321 4.5.3.1.5: 512 with the code).
 */
static int
set_reply(SMFICTX *ctx, const struct verdict *v)
{
	char text[2 * sizeof(v->smtp_text)], *line[REPLY_LINES + 1] = { NULL };
	char *p = text;
	size_t n = 0;

	escape_percent(text, sizeof(text), v->smtp_text);
	while (*p != '\0' && n < REPLY_LINES) {
		char *end = p, *cut = NULL;

		while (*end != '\0' && (size_t)(end - p) <= REPLY_LINE) {
			if (*end == ' ')
				cut = end;
			end++;
		}
		line[n++] = p;
		if (*end == '\0' && (size_t)(end - p) <= REPLY_LINE)
			break;
		if (cut == NULL)	/* one long word: up to the next space */
			for (cut = end; *cut != '\0' && *cut != ' '; cut++)
				;
		if (*cut == '\0')
			break;
		*cut++ = '\0';
		p = cut;
	}
	if (n <= 1)
		return smfi_setreply(ctx, (char *)v->smtp_rcode, (char *)v->smtp_xcode, text);
	return smfi_setmlreply(ctx, v->smtp_rcode, v->smtp_xcode, line[0], line[1], line[2],
	    line[3], line[4], line[5], line[6], line[7], line[8], line[9], line[10], line[11],
	    line[12], line[13], line[14], line[15], line[16], line[17], line[18], line[19], line[20],
	    line[21], line[22], line[23], line[24], line[25], line[26], line[27], line[28], line[29],
	    line[30], line[31], (char *)NULL);
}

/*
 * A field at the top, "Name: value" as MTAs write them: with
 * SMFIP_HDR_LEADSPC negotiated, Sendmail writes "Name:" and the value
 * exactly as given (no space of its own); Postfix adds a space only when
 * the value lacks one. So the value brings its space when negotiated.
 */
static int
insert_field(SMFICTX *ctx, const char *name, const char *value)
{
	struct conn *c = smfi_getpriv(ctx);
	char *spaced;
	int rc;

	if (c == NULL || !c->leadspc || value[0] == ' ' || value[0] == '\t')
		return smfi_insheader(ctx, 0, (char *)name, (char *)value);
	if ((spaced = malloc(strlen(value) + 2)) == NULL)
		return MI_FAILURE;
	spaced[0] = ' ';
	memcpy(spaced + 1, value, strlen(value) + 1);
	rc = smfi_insheader(ctx, 0, (char *)name, spaced);
	free(spaced);
	return rc;
}

static sfsistat
render(SMFICTX *ctx, const struct verdict *v)
{
	switch (v->action) {
	case ACT_REJECT:
	case ACT_TEMPFAIL:
		if (set_reply(ctx, v) != MI_SUCCESS)
			log_warn("could not set the SMTP reply text");
		return v->action == ACT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	case ACT_QUARANTINE:
		if (smfi_quarantine(ctx, (char *)v->quarantine_reason) != MI_SUCCESS)
			log_warn("the MTA refused to quarantine the message");
		break;
	case ACT_ACCEPT:
	case ACT_COUNT:
		break;
	}
	/* delete forged fields from the last, so indexes stay valid */
	for (size_t i = v->n_remove; i-- > 0;)
		if (smfi_chgheader(ctx, (char *)v->remove[i].name, (int)v->remove[i].index, NULL) != MI_SUCCESS)
			log_warn("could not remove %s #%u", v->remove[i].name, v->remove[i].index);
	/* insert in reverse at the top, so the first ends up first */
	for (size_t i = v->n_add; i-- > 0;)
		if (insert_field(ctx, v->add[i].name, v->add[i].value) != MI_SUCCESS)
			log_warn("could not add %s", v->add[i].name);
	return SMFIS_ACCEPT;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	const struct verdict *v;
	sfsistat rc;

	if (c != NULL && c->internal)
		return SMFIS_ACCEPT;	/* an MTA that skipped DATA */
	if (!work_begin()) {
		smfi_setreply(ctx, "451", "4.3.2", "The sender checks are restarting; try again later");
		return SMFIS_TEMPFAIL;
	}
	if (c == NULL || c->msg == NULL) {
		work_end();
		return on_error(ctx, c, "end of message without a message");
	}
	take_macros(ctx, c->msg);
	if (c->symlist_ok)
		check_set_no_tls(c->msg);	/* unless a version was seen */
	v = check_finish(c->msg);
	if (c->gen->cfg.log_format == LOG_FORMAT_JSON && log_enabled(LOG_LVL_INFO)) {
		char *j = report_json(v, 0);
		log_info("%s", j ? j : v->log_line);
		free(j);
	} else {
		log_info("%s", v->log_line);
	}
	if (metrics_served)
		metrics_count(v);
	if (stats != NULL)
		stats_record(stats, v);	/* never waits: a full queue drops it from stats */
	/* a skipped message may still carry our ARC set (ARCSign) */
	rc = v->skipped && v->n_add == 0 ? SMFIS_ACCEPT : render(ctx, v);
	msg_end(c);
	work_end();
	return rc;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	if (work_begin()) {
		msg_end(smfi_getpriv(ctx));
		work_end();
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	smfi_setpriv(ctx, NULL);
	if (!work_begin()) {
		park(c);	/* stopping: the process ends with it */
		return SMFIS_CONTINUE;
	}
	msg_end(c);
	check_conn_free(c->early);
	session_uncount(c);
	generation_put(c->gen);
	free(c);
	work_end();
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter = {
	.xxfi_name = "sendercheck",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_data = cb_data,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_negotiate = cb_negotiate,
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: sendercheck [-c FILE] [-f] [-n] [-V] [-h]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -f       stay in the foreground (logs go where Syslog says)\n"
	    "  -n       check the configuration and exit\n"
	    "  -V       print the version and the libraries' versions\n"
	    "  -h       print this summary and exit\n", DEFAULT_CONFIG);
}

static void
print_version(void)
{
	unsigned int maj, min, pl;
	uint32_t dv = dkim_libversion();

	smfi_version(&maj, &min, &pl);
	printf("sendercheck %s\n", PACKAGE_VERSION);
	printf("libmilter %u.%u.%u\n", maj, min, pl);
	printf("libspf2 %d.%d.%d\n", SPF_LIB_VERSION_MAJOR, SPF_LIB_VERSION_MINOR, SPF_LIB_VERSION_PATCH);
	printf("libopendkim %u.%u.%u\n", dv >> 24, (dv >> 16) & 0xff, (dv >> 8) & 0xff);
}

/* Resolves UserID "user" or "user:group". */
static int
lookup_user(const char *spec, uid_t *uid, gid_t *gid, char *why, size_t whylen)
{
	char user[256], *colon;
	struct passwd *pw;

	snprintf(user, sizeof(user), "%s", spec);
	if ((colon = strchr(user, ':')) != NULL)
		*colon++ = '\0';
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(why, whylen, "UserID: no such user '%s'", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (colon != NULL) {
		struct group *gr = getgrnam(colon);
		if (gr == NULL) {
			snprintf(why, whylen, "UserID: no such group '%s'", colon);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* The user to run as, resolved before detaching so that a bad UserID
 * fails the start (and -n) with a message. */
static int have_user;
static uid_t run_uid;
static gid_t run_gid;

static int
resolve_user(char *why, size_t whylen)
{
	if (boot->user_id[0] == '\0')
		return 0;
	if (lookup_user(boot->user_id, &run_uid, &run_gid, why, whylen) < 0)
		return -1;
	have_user = 1;
	return 0;
}

/* The directory of a state file (VolumeFile, StatsDB), made if missing
 * and given to UserID. */
static void
prepare_state_dir(const char *file, const char *option)
{
	char dir[4096], *slash;

	if (file[0] == '\0')
		return;
	snprintf(dir, sizeof(dir), "%s", file);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0750) == 0) {
		if (have_user && chown(dir, run_uid, run_gid) != 0)
			log_warn("chown %s: %s", dir, strerror(errno));
	} else if (errno != EEXIST) {
		log_warn("cannot make %s for %s: %s", dir, option, strerror(errno));
	}
}

static int
drop_privileges(char *why, size_t whylen)
{
	const char *sock = boot->socket;

	if (!have_user || geteuid() != 0)
		return 0;
	/* the MTA must reach a unix socket: hand it to the user's group */
	if (strncmp(sock, "unix:", 5) == 0 || strncmp(sock, "local:", 6) == 0) {
		const char *path = strchr(sock, ':') + 1;
		if (chown(path, run_uid, run_gid) != 0)
			log_warn("chown %s: %s", path, strerror(errno));
	}
	if (setgroups(1, &run_gid) != 0 || setgid(run_gid) != 0 || setuid(run_uid) != 0) {
		snprintf(why, whylen, "cannot switch to %s: %s", boot->user_id, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * TCP_NODELAY on libmilter's listening socket; Linux gives it to every
 * accepted connection. At end of message we send several small replies
 * (one SMFIR_INSHEADER per field, then SMFIR_ACCEPT), each its own write().
 * With Nagle on, each waits for the ACK of the one before, and the MTA
 * delays that ACK (~40 ms) because it sends nothing until our last reply:
 * measured with Postfix 3.7 over inet: on loopback, ~90 ms per message
 * instead of ~2 ms. libmilter has no hook for its sockets, so find the
 * listening TCP socket among our descriptors after smfi_opensocket().
 */
static void
tcp_nodelay_listener(void)
{
	int one = 1, fd, max = (int)sysconf(_SC_OPEN_MAX);

	if (max <= 0 || max > 65536)
		max = 65536;
	for (fd = 0; fd < max; fd++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int listening = 0;
		socklen_t ol = sizeof(listening);

		if (fcntl(fd, F_GETFD) < 0)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) != 0 || !listening)
			continue;
		if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
			log_warn("TCP_NODELAY on the milter socket: %s", strerror(errno));
	}
}

/*
 * Statistics and metrics never stop the mail: a failure is logged and the
 * daemon runs without them; a PostgreSQL server that is down is waited for
 * by the writer. One exception, at start only: a PostgreSQL server that
 * refuses us (password, role, database: configuration) stops the start,
 * naming the URI (which holds no password). Threads: after daemonize and
 * dropping privileges. -1 to stop.
 */
static int
start_stats(void)
{
	char why[600];

	if (boot->stats_db[0]) {
		stats = stats_open(boot->stats_db, boot->host_name, boot->stats_queue_size, boot->stats_retention,
		    why, sizeof(why));
		if (stats == NULL && sqldb_is_uri(boot->stats_db)) {
			log_err("StatsDB %s", why);
			fprintf(stderr, "sendercheck: StatsDB %s\n", why);
			return -1;
		}
		if (stats != NULL && stats_start(stats, why, sizeof(why)) < 0) {
			stats_free(stats);
			stats = NULL;
		}
		if (stats == NULL)
			log_err("no statistics: %s", why);
		metrics_set_stats(stats);
	}
	/* one shared state for every generation (engine_renew) */
	metrics_set_sharedstate(engine_sharedstate(generation_current()->engine));
	if (metrics != NULL && metrics_start(metrics, why, sizeof(why)) < 0) {
		log_err("no metrics: %s", why);
		metrics_stop(metrics);
		metrics = NULL;
	}
	metrics_served = metrics != NULL;
	return 0;
}

/* A password in a PostgreSQL URI, or a URI libpq cannot read, is an error
 * of the configuration: -1, said on stderr. */
static int
statsdb_target_ok(const char *path, const struct sc_config *c)
{
	char why[600];

	if (c->stats_db[0] && sqldb_check_target(c->stats_db, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: StatsDB: %s\n", path, why);
		return -1;
	}
	return 0;
}

/* At shutdown: the writer commits what is queued. The stats object stays
 * allocated: libmilter workers still in a callback find it stopped and
 * count their verdict as dropped. */
static void
stop_stats(void)
{
	struct stats_counters sc;

	if (metrics != NULL)
		metrics_stop(metrics);
	metrics = NULL;
	if (stats == NULL)
		return;
	stats_stop(stats);
	stats_get_counters(stats, &sc);
	log_notice("statistics: %lu verdicts written in %lu batches, %lu dropped (queue full), %lu lost",
	    sc.written, sc.batches, sc.dropped, sc.lost);
}

static int
daemonize(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		return -1;
	if (freopen("/dev/null", "r", stdin) == NULL || freopen("/dev/null", "w", stdout) == NULL ||
	    freopen("/dev/null", "w", stderr) == NULL)
		return -1;
	return 0;
}

/*
 * -n: the config parsed and UserID exists; now what the start would find:
 * sockets, state directories, permissions (startcheck.h). Exit 0 or 1.
 */
static int
check_start(const char *path, struct sc_config *config)
{
	struct run_as ru = { have_user, run_uid, run_gid };
	struct sbuf errs, notes;
	int problems;

	sbuf_init(&errs, 1 << 16);
	sbuf_init(&notes, 1 << 16);
	problems = startcheck_all(config, path, &ru, &errs, &notes);
	fputs(notes.s, stderr);
	fputs(errs.s, stderr);
	if (problems == 0)
		printf("%s: configuration OK\n", path);
	else
		fprintf(stderr, "sendercheck: %d problem%s in %s\n", problems, problems == 1 ? "" : "s", path);
	sbuf_free(&errs);
	sbuf_free(&notes);
	config_free(config);
	return problems == 0 ? 0 : 1;
}

/* The unix socket's file, if it is one: the MTA finds no filter at once. */
static void
remove_unix_socket(void)
{
	const char *sock = boot->socket, *path;
	struct stat st;

	if (strncmp(sock, "unix:", 5) != 0 && strncmp(sock, "local:", 6) != 0)
		return;
	path = strchr(sock, ':') + 1;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) != 0)
		log_debug("cannot remove %s: %s", path, strerror(errno));
}

/*
 * The end of the daemon (SIGTERM, SIGINT, or libmilter giving up): the PID
 * file and the socket file go first (the MTA finds no filter at once), the
 * callbacks at work finish (see work_begin), then the volume counts and
 * the statistics queue are saved, and the process exits. libmilter is not
 * unwound (its stop destroys mutexes its other threads still use):
 * sessions between messages are cut, as its stop would cut them, and a
 * message that reaches its end meanwhile is told to try again later.
 */
static void __attribute__((noreturn))
shut_down(int status)
{
	static atomic_int once;
	struct generation *g;
	int busy;

	/* SIGTERM's thread and a listener that gave up can both get here */
	if (atomic_exchange(&once, 1))
		for (;;)
			pause();	/* the first caller's exit() ends this thread */
	service_notify("STOPPING=1");
	pidfile_remove();
	remove_unix_socket();
	g = generation_get();	/* held to the end: a reload cannot free it */
	/* a check waits at most DNSTimeout on DNS; then a little for the rest */
	if ((busy = work_drain((long)g->cfg.dns_timeout_ms + 2000)) > 0)
		log_warn("stopping with %d callback%s still at work", busy, busy == 1 ? "" : "s");
	engine_stop(g->engine);
	stop_stats();
	log_notice("sendercheck stopped");
	exit(status);
}

static void
on_stop(int sig)
{
	(void)sig;
	shut_down(0);
}

/* A copy of the configuration read at start, kept for the whole run. */
static int
keep_boot_config(const struct sc_config *c)
{
	static struct sc_config copy;

	config_defaults(&copy);
	for (size_t i = 0; i < config_n_options; i++)
		if (config_option_copy(&config_options[i], &copy, c) < 0)
			return -1;
	boot = &copy;
	return 0;
}

/* The config path as an absolute one: a reload reads it after chdir("/"). */
static int
absolute_path(const char *path, char *out, size_t len)
{
	char cwd[4096];

	if (path[0] == '/')
		return (size_t)snprintf(out, len, "%s", path) < len ? 0 : -1;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	return (size_t)snprintf(out, len, "%s/%s", cwd, path) < len ? 0 : -1;
}

/* Prints "FILE:LINE: why" lines and the count, as -n does. */
static int
config_problems(const char *path, const struct sbuf *errs)
{
	int n = 0;

	for (const char *p = errs->s; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	fputs(errs->s, stderr);
	fprintf(stderr, "sendercheck: %d problem%s in %s\n", n, n == 1 ? "" : "s", path);
	return 1;
}

int
main(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG;
	char conf[4096], why[512];
	int foreground = 0, check_only = 0, listening = 0, opt, rc;
	struct generation *gen;
	struct sbuf errs;

	/* before any thread: every thread inherits it (see signals.h) */
	signals_block();
	while ((opt = getopt(argc, argv, "c:fnVh")) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'f': foreground = 1; break;
		case 'n': check_only = 1; break;
		case 'V': print_version(); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (absolute_path(path, conf, sizeof(conf)) < 0) {
		fprintf(stderr, "sendercheck: %s: path too long\n", path);
		return 1;
	}
	sbuf_init(&errs, 1 << 16);
	if (check_only) {
		static struct sc_config config;

		rc = config_load(&config, path, &errs) > 0 ? config_problems(path, &errs) : 0;
		sbuf_free(&errs);
		boot = &config;
		if (rc == 0 && resolve_user(why, sizeof(why)) < 0) {
			fprintf(stderr, "%s: %s\n", path, why);
			rc = 1;
		}
		if (rc == 0 && statsdb_target_ok(path, &config) < 0)
			rc = 1;
		if (rc != 0) {
			config_free(&config);
			return rc;
		}
		return check_start(path, &config);
	}
	if ((gen = generation_load(conf, NULL, &errs)) == NULL) {
		rc = config_problems(path, &errs);
		sbuf_free(&errs);
		return rc;
	}
	sbuf_free(&errs);
	if (keep_boot_config(&gen->cfg) < 0) {
		fprintf(stderr, "sendercheck: out of memory\n");
		goto failed;
	}
	if (statsdb_target_ok(path, boot) < 0)
		goto failed;
	if (resolve_user(why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: %s\n", path, why);
		goto failed;
	}
	/* -f only keeps the process in front (systemd, supervisors): where the
	 * log lines go is the config's choice, so they reach mail.log */
	log_open("sendercheck", boot->syslog, boot->syslog_facility, (enum log_level)boot->log_level);
	if (!foreground && !boot->syslog)
		fprintf(stderr, "sendercheck: Syslog no without -f: log lines are lost once it detaches\n");
	if (smfi_register(filter) != MI_SUCCESS || smfi_setconn(boot->socket) != MI_SUCCESS) {
		fprintf(stderr, "sendercheck: cannot register the milter on %s\n", boot->socket);
		goto failed;
	}
	/* a stalled MTA (or anything else on the socket) holds a worker at most
	 * this long; the data size admits any header field Postfix passes */
	smfi_settimeout((int)boot->milter_timeout);
	smfi_setmaxdatasize(boot->milter_max_data);
	umask(007);
	if (smfi_opensocket(true) != MI_SUCCESS) {
		int in_use;

		/* libmilter says only that it failed: probe the same socket for why */
		if (startcheck_socket(boot->socket, why, sizeof(why), &in_use) == 0)
			snprintf(why, sizeof(why), "libmilter could not open it");
		fprintf(stderr, "sendercheck: cannot listen on %s: %s\n", boot->socket, why);
		goto failed;
	}
	listening = 1;
	tcp_nodelay_listener();
	/* a configured service: if it cannot be bound (as root: a port below
	 * 1024 works), the start fails here, while stderr still reaches the
	 * admin; served after dropping privileges */
	if (boot->metrics_socket[0] && (metrics = metrics_listen(boot->metrics_socket, why, sizeof(why))) == NULL) {
		fprintf(stderr, "sendercheck: %s\n", why);
		goto failed;
	}
	if (!foreground && daemonize() < 0) {
		fprintf(stderr, "sendercheck: cannot detach: %s\n", strerror(errno));
		goto failed;
	}
	if (boot->pid_file[0] && pidfile_write(boot->pid_file, why, sizeof(why)) < 0)
		log_warn("%s", why);
	/* root now, not later: the keeper removes the PID file that UserID cannot */
	if (have_user && geteuid() == 0 && pidfile_keep(why, sizeof(why)) < 0)
		log_warn("%s; it will be left behind at exit", why);
	prepare_state_dir(boot->volume_file, "VolumeFile");
	if (!sqldb_is_uri(boot->stats_db))	/* a file, not a server */
		prepare_state_dir(boot->stats_db, "StatsDB");
	if (drop_privileges(why, sizeof(why)) < 0 || engine_start(gen->engine, why, sizeof(why)) < 0) {
		log_err("%s", why);
		fprintf(stderr, "sendercheck: %s\n", why);
		goto failed;	/* a refused SharedState: nothing left running */
	}
	generation_install(gen);
	if (start_stats() < 0)
		shut_down(1);
	/* without it SIGTERM could not stop the daemon (see signals.h) */
	if (signals_start(conf, on_stop, why, sizeof(why)) < 0) {
		log_err("%s", why);
		fprintf(stderr, "sendercheck: %s\n", why);
		shut_down(1);
	}
	log_notice("sendercheck %s listening on %s (authserv-id %s)", PACKAGE_VERSION, boot->socket,
	    boot->authserv_id);
	service_notify("READY=1");
	rc = smfi_main();
	/* a stop ends the process in on_stop(): here libmilter gave up */
	log_err("libmilter's listener ended (%s)", rc == MI_SUCCESS ? "stopped" : "failed");
	shut_down(1);
failed:
	/* the one way out of a start that failed before serving: what was
	 * built so far goes (shut_down is the way out once it serves) */
	pidfile_remove();
	if (listening)
		remove_unix_socket();
	metrics_stop(metrics);
	metrics = NULL;
	generation_put(gen);
	return 1;
}
