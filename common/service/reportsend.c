/* reportsend: sends built DMARC aggregate reports safely (see reportsend.h). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "dmarc.h"
#include "dns.h"
#include "log.h"
#include "reportsend.h"
#include "rua.h"

#define REFUSAL_SECONDS	86400	/* a 5xx destination is skipped this long */
#define SMTP_TIMEOUT_S	120	/* one whole SMTP transaction */
#define MESSAGE_MAX	(64u << 20)
#define LOCK_STALE_SECONDS (12 * 3600)	/* a run that died keeps the lock this long */

static const char *const schema[] = {
	"CREATE TABLE IF NOT EXISTS report_sends ("
	" day TEXT NOT NULL, policy_domain TEXT NOT NULL, destination TEXT NOT NULL,"
	" status TEXT NOT NULL, report_id TEXT, at INTEGER NOT NULL, detail TEXT,"
	" PRIMARY KEY (day, policy_domain, destination))",
	"CREATE TABLE IF NOT EXISTS report_refusals ("
	" destination TEXT PRIMARY KEY, until INTEGER NOT NULL, reply TEXT)",
	/* one sending run at a time (the timer and a hand-started run) */
	"CREATE TABLE IF NOT EXISTS report_run_lock ("
	" name TEXT PRIMARY KEY, owner TEXT NOT NULL, at INTEGER NOT NULL)",
};

/* What happened to one message: SENT, accepted by the SMTP server in a
 * reply (ReportSMTP); QUEUED, taken by the local MTA's sendmail, which
 * answers nothing about the destination (its refusal comes back later as
 * a bounce to the envelope sender); REFUSED, a 5xx reply or a sendmail
 * exit status that names the recipient (EX_NOUSER, EX_NOHOST); TRY_LATER;
 * NO_SENDMAIL, ReportSendmail cannot be run at all (said once per run). */
enum outcome { SENT, QUEUED, REFUSED, TRY_LATER, NO_SENDMAIL };

struct run {
	const struct sc_config *cfg;
	const struct dmarcreport_opts *from;
	struct sqldb *db;
	struct dns_resolver *res;
	struct dmarc *dmarc;
	const char *sender;	/* envelope sender */
	unsigned flags;
	struct reportsend_counts c;
	time_t now;
	int sendmail_errno;	/* ReportSendmail could not be run: errno */
	unsigned said_exits;	/* bit (status - EX__BASE): a local fault logged */
};

/* --- the state tables --- */

static int
state_create(struct sqldb *db, struct sbuf *err)
{
	size_t i;

	if (sqldb_begin(db, SQLDB_TX_WRITE) != 0)
		goto fail;
	for (i = 0; i < sizeof(schema) / sizeof(schema[0]); i++)
		if (sqldb_exec(db, schema[i]) != 0) {
			sqldb_rollback(db);
			goto fail;
		}
	if (sqldb_commit(db) == 0)
		return 0;
fail:
	sbuf_printf(err, "the report state tables in %s: %s", sqldb_target(db), sqldb_errmsg(db));
	return -1;
}

/* The status stored for (day, domain, dest) into status; 0 none, 1 found, -1 error. */
static int
state_get(struct run *R, const struct report_file *r, const char *dest, char *status, size_t len)
{
	struct sqldb_stmt *st;
	int rc;

	if (sqldb_prepare(R->db, "SELECT status FROM report_sends WHERE day = ?1 AND"
	    " policy_domain = ?2 AND destination = ?3", &st) != 0)
		return -1;
	sqldb_bind_text(st, 1, r->day);
	sqldb_bind_text(st, 2, r->policy_domain);
	sqldb_bind_text(st, 3, dest);
	rc = sqldb_step(st);
	if (rc == SQLDB_ROW)
		snprintf(status, len, "%s", sqldb_col_text(st, 0) ? sqldb_col_text(st, 0) : "");
	sqldb_finalize(st);
	return rc == SQLDB_ROW ? 1 : rc == SQLDB_DONE ? 0 : -1;
}

static int
state_put(struct run *R, const struct report_file *r, const char *dest, const char *status,
    const char *detail)
{
	struct sqldb_stmt *st;
	int rc;

	if (sqldb_prepare(R->db, "INSERT INTO report_sends (day, policy_domain, destination,"
	    " status, report_id, at, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	    " ON CONFLICT (day, policy_domain, destination) DO UPDATE SET"
	    " status = excluded.status, report_id = excluded.report_id, at = excluded.at,"
	    " detail = excluded.detail", &st) != 0)
		return -1;
	sqldb_bind_text(st, 1, r->day);
	sqldb_bind_text(st, 2, r->policy_domain);
	sqldb_bind_text(st, 3, dest);
	sqldb_bind_text(st, 4, status);
	sqldb_bind_text(st, 5, r->report_id);
	sqldb_bind_int(st, 6, (long long)R->now);
	sqldb_bind_text(st, 7, detail);
	rc = sqldb_step(st);
	sqldb_finalize(st);
	return rc == SQLDB_DONE ? 0 : -1;
}

/* Until when dest is skipped for a 5xx (0: not), reply into reply. */
static long long
refusal_get(struct run *R, const char *dest, char *reply, size_t len)
{
	struct sqldb_stmt *st;
	long long until = 0;

	if (sqldb_prepare(R->db, "SELECT until, reply FROM report_refusals WHERE destination = ?1",
	    &st) != 0)
		return -1;
	sqldb_bind_text(st, 1, dest);
	if (sqldb_step(st) == SQLDB_ROW) {
		until = sqldb_col_int(st, 0);
		snprintf(reply, len, "%s", sqldb_col_text(st, 1) ? sqldb_col_text(st, 1) : "");
	}
	sqldb_finalize(st);
	return until > (long long)R->now ? until : 0;
}

static int
refusal_put(struct run *R, const char *dest, const char *reply)
{
	struct sqldb_stmt *st;
	int rc;

	if (sqldb_prepare(R->db, "INSERT INTO report_refusals (destination, until, reply)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (destination) DO UPDATE SET"
	    " until = excluded.until, reply = excluded.reply", &st) != 0)
		return -1;
	sqldb_bind_text(st, 1, dest);
	sqldb_bind_int(st, 2, (long long)R->now + REFUSAL_SECONDS);
	sqldb_bind_text(st, 3, reply);
	rc = sqldb_step(st);
	sqldb_finalize(st);
	return rc == SQLDB_DONE ? 0 : -1;
}

/*
 * Takes the sending lock: 1, 0 when another run holds it (since *since),
 * -1 on a store error. A lock older than LOCK_STALE_SECONDS is taken over.
 */
static int
lock_take(struct run *R, const char *owner, long long *since)
{
	struct sqldb_stmt *st;
	int rc;

	if (sqldb_prepare(R->db, "INSERT INTO report_run_lock (name, owner, at) VALUES ('send', ?1, ?2)"
	    " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, at = excluded.at"
	    " WHERE report_run_lock.at < ?3", &st) != 0)
		return -1;
	sqldb_bind_text(st, 1, owner);
	sqldb_bind_int(st, 2, (long long)R->now);
	sqldb_bind_int(st, 3, (long long)R->now - LOCK_STALE_SECONDS);
	rc = sqldb_step(st);
	sqldb_finalize(st);
	if (rc != SQLDB_DONE)
		return -1;
	if (sqldb_changes(R->db) == 1)
		return 1;
	*since = 0;
	if (sqldb_prepare(R->db, "SELECT at FROM report_run_lock WHERE name = 'send'", &st) == 0) {
		if (sqldb_step(st) == SQLDB_ROW)
			*since = sqldb_col_int(st, 0);
		sqldb_finalize(st);
	}
	return 0;
}

static void
lock_release(struct run *R, const char *owner)
{
	struct sqldb_stmt *st;

	if (sqldb_prepare(R->db, "DELETE FROM report_run_lock WHERE name = 'send' AND owner = ?1",
	    &st) != 0)
		return;
	sqldb_bind_text(st, 1, owner);
	(void)sqldb_step(st);
	sqldb_finalize(st);
}

/* --- authorization of external destinations (RFC 9990 section 4) --- */

/* 1 authorized, 0 not (why says so), -1 DNS trouble: ask again next run. */
static int
authorized(struct run *R, const char *policy_domain, const char *dest_domain,
    char *why, size_t whylen)
{
	char name[540];
	struct dns_ctx ctx;
	struct dns_result res;
	enum dns_status st;
	int aligned, ok = 0;
	size_t i;

	dns_ctx_init(&ctx, R->res, R->cfg->dns_timeout_ms);
	aligned = dmarc_aligned(R->dmarc, &ctx, policy_domain, dest_domain, DMARC_ALIGN_RELAXED);
	if (aligned == 1)
		return 1;	/* the domain's own organization: no record needed */
	/* not aligned, or not known (DNS trouble in a tree walk): external */
	snprintf(name, sizeof(name), "%s._report._dmarc.%s", policy_domain, dest_domain);
	dns_ctx_init(&ctx, R->res, R->cfg->dns_timeout_ms);
	st = dns_query(&ctx, name, DNS_T_TXT, &res);
	if (dns_status_temporary(st)) {
		snprintf(why, whylen, "the authorization record %s could not be looked up (%s)",
		    name, res.why);
		dns_result_free(&res);
		return -1;
	}
	for (i = 0; st == DNS_OK && i < res.n && !ok; i++) {
		const char *t = (const char *)res.rr[i].data;
		size_t k = 8;

		if (res.rr[i].len < 8 || strncmp(t, "v=DMARC1", 8) != 0)
			continue;
		while (k < res.rr[i].len && (t[k] == ' ' || t[k] == '\t'))
			k++;
		ok = k == res.rr[i].len || t[k] == ';';
	}
	if (!ok)
		snprintf(why, whylen, "%s is outside %s's organizational domain and %s has no"
		    " v=DMARC1 record (%s)", dest_domain, policy_domain, name,
		    st == DNS_OK ? "no record starts with v=DMARC1" : res.why);
	dns_result_free(&res);
	return ok;
}

/* --- the message (RFC 9990 section 5) --- */

static int
add_base64(struct sbuf *out, const unsigned char *p, size_t n)
{
	unsigned char line[80];
	size_t i;

	for (i = 0; i < n; i += 57) {
		size_t k = n - i < 57 ? n - i : 57;
		int m = EVP_EncodeBlock(line, p + i, (int)k);

		if (sbuf_add(out, line, (size_t)m) < 0 || sbuf_add(out, "\r\n", 2) < 0)
			return -1;
	}
	return 0;
}

/* A header field value from configuration: no line breaks or controls. */
static void
clean_copy(char *dst, size_t len, const char *src)
{
	size_t k = 0;

	for (; src && *src && k + 1 < len; src++)
		dst[k++] = ((unsigned char)*src < ' ' || *src == 0x7f) ? ' ' : *src;
	dst[k] = '\0';
}

int
reportsend_message(const struct sc_config *cfg, const struct dmarcreport_opts *from,
    const struct report_file *r, const char *to, struct sbuf *out)
{
	char date[64], org[256];
	time_t now = time(NULL);
	struct tm tm;
	const char *b = "=_sendercheck_report_";

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	clean_copy(org, sizeof(org), from->org_name);
	sbuf_printf(out, "From: %s\r\nTo: %s\r\nDate: %s\r\n", from->email, to, date);
	sbuf_printf(out, "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n",
	    r->policy_domain, cfg->authserv_id, r->report_id);
	sbuf_printf(out, "Message-ID: <%s.%s@%s>\r\n", r->report_id, r->policy_domain,
	    cfg->authserv_id);
	sbuf_printf(out, "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", b);
	sbuf_printf(out, "This is a multi-part message in MIME format.\r\n\r\n--%s\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
	    "This is a DMARC aggregate report (RFC 9990) from %s for %s,\r\n"
	    "for the messages received on %s (UTC), report id %s.\r\n\r\n",
	    b, org[0] ? org : cfg->authserv_id, r->policy_domain, r->day, r->report_id);
	sbuf_printf(out, "--%s\r\nContent-Type: application/gzip; name=\"%s\"\r\n"
	    "Content-Disposition: attachment; filename=\"%s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", b, r->filename, r->filename);
	if (add_base64(out, r->gz, r->gz_len) < 0)
		return -1;
	sbuf_printf(out, "\r\n--%s--\r\n", b);
	return out->overflow ? -1 : 0;
}

/* --- transports --- */

struct upload {
	const struct sbuf *msg;
	size_t off;
};

static size_t
upload_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nitems, left = u->msg->len - u->off;

	if (n > left)
		n = left;
	memcpy(buf, u->msg->s + u->off, n);
	u->off += n;
	return n;
}

static enum outcome
send_smtp(struct run *R, const char *rcpt, const struct sbuf *msg, char *reply, size_t len)
{
	char url[600], from[300], to[300], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *rcpts;
	struct upload u = { msg, 0 };
	long code = 0;
	CURLcode rc;
	CURL *c = curl_easy_init();

	if (c == NULL) {
		snprintf(reply, len, "libcurl could not start");
		return TRY_LATER;
	}
	snprintf(url, sizeof(url), "smtp://%s/%s", R->cfg->report_smtp, R->cfg->host_name);
	snprintf(from, sizeof(from), "<%s>", R->sender);
	snprintf(to, sizeof(to), "<%s>", rcpt);
	rcpts = curl_slist_append(NULL, to);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg->len);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)SMTP_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(rcpts);
	curl_easy_cleanup(c);
	if (rc == CURLE_OK) {
		snprintf(reply, len, "accepted by %s", R->cfg->report_smtp);
		return SENT;
	}
	snprintf(reply, len, "%s: %s (reply code %ld)", R->cfg->report_smtp,
	    errbuf[0] ? errbuf : curl_easy_strerror(rc), code);
	return code >= 500 && code < 600 ? REFUSED : TRY_LATER;
}

/*
 * sendmail's exit statuses (sysexits.h), as Postfix's sendmail, Sendmail 8,
 * exim and OpenSMTPD use them. RCPT: the local MTA will never take this
 * recipient (Sendmail 8: a local user it does not know, a domain that
 * does not exist; RFC 3463's 5.1.1 and 5.1.2); only these are refusals
 * that skip the destination for a day: the recipient comes from rua=, the
 * message and the command line do not depend on it alone. LOCAL: a fault
 * of the local mail system or of how it is called (Sendmail 8: EX_OSFILE
 * without its sendmail.cf; EX_USAGE also for an address it cannot parse),
 * the same for every destination: postponed, and said once per run as an
 * error. TEMP: postponed. An unknown status is TEMP. Postfix's sendmail
 * refuses no recipient and exits EX_TEMPFAIL for every fatal error (its
 * clean-up handler exits before the status its source names).
 */
enum exit_class { EXIT_TEMP, EXIT_LOCAL, EXIT_RCPT };

static const struct sysexit {
	const char *name, *meaning;
	enum exit_class cls;
} sysexits[] = {
	[EX_USAGE - EX__BASE] = { "EX_USAGE", "command line usage error", EXIT_LOCAL },
	[EX_DATAERR - EX__BASE] = { "EX_DATAERR", "data format error", EXIT_LOCAL },
	[EX_NOINPUT - EX__BASE] = { "EX_NOINPUT", "cannot open input", EXIT_LOCAL },
	[EX_NOUSER - EX__BASE] = { "EX_NOUSER", "addressee unknown", EXIT_RCPT },
	[EX_NOHOST - EX__BASE] = { "EX_NOHOST", "host name unknown", EXIT_RCPT },
	[EX_UNAVAILABLE - EX__BASE] = { "EX_UNAVAILABLE", "service unavailable", EXIT_TEMP },
	[EX_SOFTWARE - EX__BASE] = { "EX_SOFTWARE", "internal software error", EXIT_LOCAL },
	[EX_OSERR - EX__BASE] = { "EX_OSERR", "system error", EXIT_TEMP },
	[EX_OSFILE - EX__BASE] = { "EX_OSFILE", "critical OS file missing", EXIT_LOCAL },
	[EX_CANTCREAT - EX__BASE] = { "EX_CANTCREAT", "can't create output file", EXIT_TEMP },
	[EX_IOERR - EX__BASE] = { "EX_IOERR", "input/output error", EXIT_TEMP },
	[EX_TEMPFAIL - EX__BASE] = { "EX_TEMPFAIL", "temporary failure", EXIT_TEMP },
	[EX_PROTOCOL - EX__BASE] = { "EX_PROTOCOL", "remote error in protocol", EXIT_TEMP },
	[EX_NOPERM - EX__BASE] = { "EX_NOPERM", "permission denied", EXIT_LOCAL },
	[EX_CONFIG - EX__BASE] = { "EX_CONFIG", "configuration error", EXIT_LOCAL },
};

/* The outcome of sendmail's exit status st, with a readable reply. */
static enum outcome
sendmail_status(struct run *R, int st, size_t wrote, size_t len, char *reply, size_t rlen)
{
	const char *path = R->cfg->report_sendmail;
	const struct sysexit *e = st >= EX__BASE && st <= EX__MAX ? &sysexits[st - EX__BASE] : NULL;
	const char *why = "";

	if (st == 0) {	/* took the message, though not all of it: not queued */
		snprintf(reply, rlen, "%s exit 0 after taking %zu of %zu bytes", path, wrote, len);
		return TRY_LATER;
	}
	if (e == NULL || e->name == NULL) {
		snprintf(reply, rlen, "%s exit %d (not a sysexits.h status)", path, st);
		return TRY_LATER;
	}
	if (e->cls == EXIT_LOCAL)
		why = "; a fault of the local mail system, not of the destination";
	else if (e->cls == EXIT_RCPT)
		why = "; the local MTA will not take this recipient";
	snprintf(reply, rlen, "%s exit %d (%s: %s)%s", path, st, e->name, e->meaning, why);
	if (e->cls == EXIT_LOCAL && !(R->said_exits & (1u << (st - EX__BASE)))) {
		R->said_exits |= 1u << (st - EX__BASE);
		log_err("reports: %s exits %d (%s: %s): a fault of the local mail system, the same"
		    " for every destination (its message is on standard error); reports wait until"
		    " it is fixed (said once per run)",
		    path, st, e->name, e->meaning);
	}
	return e->cls == EXIT_RCPT ? REFUSED : TRY_LATER;
}

/* Whether exec's errno says the file is not a program that can run there
 * (missing, not executable, not a program), and not a passing fault
 * (ENOMEM, EAGAIN, ETXTBSY while a package upgrade replaces it). */
static int
exec_errno_is_lasting(int e)
{
	switch (e) {
	case ENOENT:
	case EACCES:
	case ENOEXEC:
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
		return 1;
	default:
		return 0;
	}
}

static enum outcome
send_sendmail(struct run *R, const char *rcpt, const struct sbuf *msg, char *reply, size_t len)
{
	const char *path = R->cfg->report_sendmail;
	int fds[2], efd[2], status = 0, waited, child_errno = 0;
	size_t off = 0;
	ssize_t got;
	pid_t pid;

	if (R->sendmail_errno) {
		snprintf(reply, len, "%s cannot be run: %s", path, strerror(R->sendmail_errno));
		return NO_SENDMAIL;
	}
	if (pipe(fds) < 0) {
		snprintf(reply, len, "pipe: %s", strerror(errno));
		return TRY_LATER;
	}
	/* exec's errno comes back on efd: exit status 127 may be sendmail's own */
	if (pipe2(efd, O_CLOEXEC) < 0) {
		snprintf(reply, len, "pipe: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return TRY_LATER;
	}
	if ((pid = fork()) < 0) {
		snprintf(reply, len, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		close(efd[0]);
		close(efd[1]);
		return TRY_LATER;
	}
	if (pid == 0) {
		int e;

		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		close(efd[0]);
		execl(path, "sendmail", "-i", "-f", R->sender, "--", rcpt, (char *)NULL);
		e = errno;
		(void)!write(efd[1], &e, sizeof(e));
		_exit(127);
	}
	close(fds[0]);
	close(efd[1]);
	while ((got = read(efd[0], &child_errno, sizeof(child_errno))) < 0 && errno == EINTR)
		;
	close(efd[0]);
	if (got != (ssize_t)sizeof(child_errno))
		child_errno = 0;
	while (child_errno == 0 && off < msg->len) {
		ssize_t w = write(fds[1], msg->s + off, msg->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fds[1]);
	while ((waited = (int)waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (child_errno && !exec_errno_is_lasting(child_errno)) {
		snprintf(reply, len, "%s could not be started: %s", path, strerror(child_errno));
		return TRY_LATER;
	}
	if (child_errno) {
		/* no sendmail there: the same for every report of the run */
		R->sendmail_errno = child_errno;
		snprintf(reply, len, "%s cannot be run: %s", path, strerror(child_errno));
		log_err("reports: %s cannot be run (%s): no MTA's sendmail command there; install"
		    " one (Postfix, Sendmail, exim, OpenSMTPD), set ReportSendmail to it or send"
		    " through ReportSMTP; no report of this run is sent (said once per run)",
		    path, strerror(child_errno));
		return NO_SENDMAIL;
	}
	if (waited < 0) {
		snprintf(reply, len, "waitpid: %s", strerror(errno));
		return TRY_LATER;
	}
	if (WIFSIGNALED(status)) {
		snprintf(reply, len, "%s killed by signal %d", path, WTERMSIG(status));
		return TRY_LATER;
	}
	if (off == msg->len && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		snprintf(reply, len, "queued by %s", path);
		return QUEUED;
	}
	return sendmail_status(R, WIFEXITED(status) ? WEXITSTATUS(status) : -1, off, msg->len,
	    reply, len);
}

static enum outcome
transmit(struct run *R, const char *rcpt, const struct sbuf *msg, char *reply, size_t len)
{
	return R->cfg->report_smtp[0] ? send_smtp(R, rcpt, msg, reply, len)
	    : send_sendmail(R, rcpt, msg, reply, len);
}

/* --- one destination --- */

/* ReportCopyTo's copy of a message handed on (a failure is only logged). */
static void
send_copy(struct run *R, const struct report_file *r, const struct sbuf *msg)
{
	char reply[600];
	enum outcome o = transmit(R, R->cfg->report_copy_to, msg, reply, sizeof(reply));

	if (o != SENT && o != QUEUED && o != NO_SENDMAIL)	/* that one is said once */
		log_warn("report %s for %s: the copy to %s failed: %s", r->report_id, r->policy_domain,
		    R->cfg->report_copy_to, reply);
}

/* Sends r to d. Returns -1 when the store failed (stop), else 0. */
static int
send_one(struct run *R, const struct report_file *r, const struct rua_dest *d)
{
	char status[32] = "", why[1400] = "", reply[600] = "";
	struct sbuf msg;
	unsigned long long limit = R->cfg->report_max_size;
	long long until;
	enum outcome o;
	int rc;

	if ((rc = state_get(R, r, d->addr, status, sizeof(status))) < 0)
		return -1;
	if (rc == 1 && !(R->flags & REPORTSEND_FORCE)) {
		log_info("report %s for %s to %s: not sent again (%s earlier; --force sends again)",
		    r->report_id, r->policy_domain, d->addr, status);
		R->c.skipped++;
		return 0;
	}
	if ((until = refusal_get(R, d->addr, reply, sizeof(reply))) < 0)
		return -1;
	if (until > 0) {
		log_notice("report %s for %s to %s: skipped, the destination refused report mail"
		    " within the last day (%s)", r->report_id, r->policy_domain, d->addr, reply);
		printf("skipped %s %s: refused earlier: %s\n", r->policy_domain, d->addr, reply);
		R->c.skipped++;
		return 0;
	}
	if (R->c.sent + R->c.queued >= R->cfg->report_max_per_run) {
		log_notice("report %s for %s to %s: postponed, ReportMaxPerRun (%u) reached",
		    r->report_id, r->policy_domain, d->addr, R->cfg->report_max_per_run);
		printf("postponed %s %s: ReportMaxPerRun reached\n", r->policy_domain, d->addr);
		R->c.postponed++;
		return 0;
	}
	rc = authorized(R, r->policy_domain, d->domain, why, sizeof(why));
	if (rc <= 0) {
		log_notice("report %s for %s to %s: %s: %s", r->report_id, r->policy_domain, d->addr,
		    rc < 0 ? "postponed" : "not sent", why);
		printf("%s %s %s: %s\n", rc < 0 ? "postponed" : "unauthorized", r->policy_domain,
		    d->addr, why);
		if (rc < 0)
			R->c.postponed++;
		else
			R->c.skipped++;
		return 0;
	}
	sbuf_init(&msg, MESSAGE_MAX);
	if (reportsend_message(R->cfg, R->from, r, d->addr, &msg) < 0) {
		log_err("report %s for %s: the message could not be made (out of memory or"
		    " larger than %u bytes)", r->report_id, r->policy_domain, MESSAGE_MAX);
		sbuf_free(&msg);
		R->c.failed++;
		return 0;
	}
	if (d->max_size && d->max_size < limit)
		limit = d->max_size;
	if (msg.len > limit) {
		snprintf(why, sizeof(why), "the message has %zu bytes, more than the %llu the"
		    " destination accepts (%s)", msg.len, limit,
		    d->max_size == limit ? "!size in rua=" : "ReportMaxSize");
		log_notice("report %s for %s to %s: not sent: %s", r->report_id, r->policy_domain,
		    d->addr, why);
		printf("too-large %s %s: %s\n", r->policy_domain, d->addr, why);
		sbuf_free(&msg);
		R->c.skipped++;
		return (R->flags & REPORTSEND_DRY_RUN) ? 0 : state_put(R, r, d->addr, "too-large", why);
	}
	if (R->flags & REPORTSEND_DRY_RUN) {
		printf("would send %s %s %zu bytes\n", r->policy_domain, d->addr, msg.len);
		sbuf_free(&msg);
		R->c.skipped++;
		return 0;
	}
	o = transmit(R, d->addr, &msg, reply, sizeof(reply));
	if (o == SENT) {
		R->c.sent++;
		log_info("report %s for %s sent to %s: %s", r->report_id, r->policy_domain, d->addr,
		    reply);
		printf("sent %s %s %zu bytes\n", r->policy_domain, d->addr, msg.len);
		rc = state_put(R, r, d->addr, "sent", reply);
	} else if (o == QUEUED) {
		/* say what is known, no more: the MTA has it, the destination may
		 * still refuse it, and that refusal is a bounce we never see */
		R->c.queued++;
		log_info("report %s for %s to %s: %s; whether the destination accepts it is not known"
		    " here (a refusal comes back as a bounce to %s and is not recorded: ReportSMTP"
		    " sees 5xx replies)", r->report_id, r->policy_domain, d->addr, reply, R->sender);
		printf("queued %s %s %zu bytes (a refusal comes back as a bounce to %s)\n",
		    r->policy_domain, d->addr, msg.len, R->sender);
		snprintf(why, sizeof(why), "%s; a refusal by the destination is a bounce to %s, not"
		    " seen here", reply, R->sender);
		rc = state_put(R, r, d->addr, "queued", why);
	} else if (o == REFUSED) {
		R->c.refused++;
		log_warn("report %s for %s to %s: refused (%s); the destination is skipped for a day",
		    r->report_id, r->policy_domain, d->addr, reply);
		printf("refused %s %s: %s\n", r->policy_domain, d->addr, reply);
		rc = refusal_put(R, d->addr, reply);
	} else if (o == NO_SENDMAIL) {
		/* a fault here, said once as an error; nothing stored: a later run sends it */
		R->c.failed++;
		log_notice("report %s for %s to %s: not sent: %s", r->report_id, r->policy_domain,
		    d->addr, reply);
		printf("failed %s %s: %s\n", r->policy_domain, d->addr, reply);
		rc = 0;
	} else {
		R->c.postponed++;
		log_warn("report %s for %s to %s: not sent, tried again at the next run: %s",
		    r->report_id, r->policy_domain, d->addr, reply);
		printf("postponed %s %s: %s\n", r->policy_domain, d->addr, reply);
		rc = 0;
	}
	if ((o == SENT || o == QUEUED) && R->cfg->report_copy_to[0])
		send_copy(R, r, &msg);
	sbuf_free(&msg);
	return rc;
}

int
reportsend_run(const struct sc_config *cfg, const struct dmarcreport_opts *from,
    struct sqldb *db, const struct report_file *reports, size_t n, unsigned flags,
    struct reportsend_counts *counts, struct sbuf *err)
{
	struct run R;
	struct rua_dest check;
	char why[256], host[256], owner[320];
	const char *bad;
	size_t i, k;
	int rc = 0;

	memset(&R, 0, sizeof(R));
	R.cfg = cfg;
	R.from = from;
	R.db = db;
	R.flags = flags;
	R.now = time(NULL);
	if (counts)
		memset(counts, 0, sizeof(*counts));
	if (from->email == NULL || from->email[0] == '\0') {
		sbuf_printf(err, "ReportEmail is not set: report mail needs a From address");
		return -1;
	}
	if ((bad = rua_address(from->email, &check)) != NULL) {
		sbuf_printf(err, "ReportEmail '%s': %s", from->email, bad);
		return -1;
	}
	R.sender = cfg->report_sender[0] ? cfg->report_sender : from->email;
	if (state_create(db, err) < 0)
		return -1;
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(owner, sizeof(owner), "%s:%ld:%lld", host, (long)getpid(), (long long)R.now);
	if (!(flags & REPORTSEND_DRY_RUN)) {
		long long since;
		int got = lock_take(&R, owner, &since);

		if (got <= 0) {
			if (got < 0)
				sbuf_printf(err, "the report state in %s: %s", sqldb_target(db),
				    sqldb_errmsg(db));
			else
				sbuf_printf(err, "another sendercheck-reports run is sending (since %lld,"
				    " unix time); nothing sent", since);
			return got < 0 ? -1 : 1;
		}
	}
	R.res = dns_resolver_new(cfg->nameservers, cfg->n_nameservers, 1000, why, sizeof(why));
	R.dmarc = R.res ? dmarc_new((enum dmarc_standard)cfg->dmarc_standard,
	    (enum dmarc_discovery)cfg->dmarc_discovery, why, sizeof(why)) : NULL;
	if (R.dmarc == NULL) {
		sbuf_printf(err, "cannot check report destinations: %s", why);
		dns_resolver_free(R.res);
		if (!(flags & REPORTSEND_DRY_RUN))
			lock_release(&R, owner);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);	/* a sendmail that exits early is an error value */
	if (cfg->report_smtp[0])
		curl_global_init(CURL_GLOBAL_DEFAULT);
	for (i = 0; i < n && rc == 0; i++) {
		const struct report_file *r = &reports[i];
		struct rua_list l;

		rua_parse(r->rua, strlen(r->rua), &l);
		if (l.n_skipped)
			log_notice("report %s for %s: %u of the rua= URIs not used: %s", r->report_id,
			    r->policy_domain, l.n_skipped, l.why);
		if (l.n == 0)
			printf("no-destination %s: %s\n", r->policy_domain,
			    l.why[0] ? l.why : "rua= is empty");
		for (k = 0; k < l.n && rc == 0; k++)
			if (send_one(&R, r, &l.dest[k]) < 0) {
				sbuf_printf(err, "the report state in %s: %s", sqldb_target(db),
				    sqldb_errmsg(db));
				rc = -1;
			}
	}
	if (cfg->report_smtp[0])
		curl_global_cleanup();
	if (!(flags & REPORTSEND_DRY_RUN))
		lock_release(&R, owner);
	dmarc_free(R.dmarc);
	dns_resolver_free(R.res);
	fflush(stdout);
	if (counts)
		*counts = R.c;
	return rc;
}

int
reportsend_exit_status(const struct reportsend_counts *c)
{
	if (c->failed)
		return REPORTSEND_EXIT_FAILED;
	return c->postponed ? REPORTSEND_EXIT_LATER : 0;
}
