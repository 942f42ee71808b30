/*
 * options: option table and config file parser; see options.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "options.h"
#include "dnsname.h"
#include "log.h"
#include "netaddr.h"
#include "rua.h"
#include "sharedstate.h"
#include "spf.h"

#define OFF(f) offsetof(struct sc_config, f)

static const char *const dmarc_standard_names[] = { "rfc9989", "rfc7489", NULL };
/* index = enum dmarc_discovery; "standard" is resolved in finish() */
static const char *const dmarc_discovery_names[] = { "psl", "treewalk", "standard", NULL };
#define DISCOVERY_STANDARD 2
static const char *const dmarc_action_names[] = { "accept", "reject", "tempfail", "quarantine",
	"policy", NULL };
static const char *const inherit_action_names[] = { "accept", "reject", "tempfail", "quarantine",
	"inherit", NULL };
static const char *const bulk_names[] = { "headers", "volume", "always", "never", NULL };
static const char *const mode_names[] = { "inbound", "outbound", NULL };
static const char *const log_format_names[] = { "text", "json", NULL };
/* in the order of enum dkim_engine_kind */
static const char *const dkim_engine_names[] = { "libopendkim", "builtin", NULL };

const struct config_option config_options[] = {
	{ "Socket", OPT_SOCKET, "inet:8894@127.0.0.1",
	  "where the milter listens: inet:PORT@HOST, inet6:PORT@HOST or unix:/path", OFF(socket), 0, 0, NULL, OPTF_RESTART },
	{ "AuthservID", OPT_STRING, "",
	  "authserv-id written in Authentication-Results (empty: this host's name)", OFF(authserv_id), 0, 0, NULL, 0 },
	{ "Nameservers", OPT_SERVERS, "",
	  "DNS servers as IP or IP:PORT ([IPv6]:PORT), space separated (empty: /etc/resolv.conf)",
	  OFF(nameservers), 0, 0, NULL, 0 },
	{ "DNSTimeout", OPT_SECONDS, "8",
	  "seconds each check (SPF, DKIM, DMARC, iprev) may wait for DNS; they wait at once, so also the longest a message waits", OFF(dns_timeout_ms), 0, 0, NULL, 0 },
	{ "DNSCacheSize", OPT_UINT, "10000",
	  "number of DNS answers kept in the shared cache (0 disables it)", OFF(dns_cache_size), 0, 10000000, NULL, 0 },
	{ "InternalHosts", OPT_CIDRS, "127.0.0.0/8 ::1",
	  "inbound mode: client networks whose mail is passed without checks (none: check everything)", OFF(internal_hosts), 0, 0, NULL, 0 },
	{ "AddReceivedSPF", OPT_BOOL, "no",
	  "also add a Received-SPF header (RFC 7208 section 9.1)", OFF(add_received_spf), 0, 0, NULL, 0 },
	{ "On-SPFFail", OPT_ACTION, "accept",
	  "action when SPF fails: accept, reject, tempfail or quarantine", OFF(on_spf_fail), 0, 0, NULL, 0 },
	{ "On-SPFSoftFail", OPT_ACTION, "accept",
	  "action when SPF soft-fails", OFF(on_spf_softfail), 0, 0, NULL, 0 },
	{ "On-DKIMFail", OPT_ACTION, "accept",
	  "action when a DKIM signature is present and none passes", OFF(on_dkim_fail), 0, 0, NULL, 0 },
	{ "On-DNSError", OPT_ACTION, "accept",
	  "action when a check could not finish because of DNS (temperror)", OFF(on_dns_error), 0, 0, NULL, 0 },
	{ "On-Error", OPT_ACTION, "accept",
	  "action on an internal error (e.g. out of memory)", OFF(on_error), 0, 0, NULL, 0 },
	{ "MaxSignatures", OPT_UINT, "5",
	  "DKIM signatures verified per message; further ones are listed as not checked",
	  OFF(max_signatures), 1, 32, NULL, 0 },
	{ "DKIMEngine", OPT_ENUM, "builtin",
	  "DKIM implementation: builtin (RFC 6376/8463 verifier, keys cached) or libopendkim",
	  OFF(dkim_engine), 0, 0, dkim_engine_names, 0 },
	{ "TrustedARCSealers", OPT_DOMAINS, "",
	  "domains (ARC-Seal d=) whose ARC results are believed: a passing chain in which one says DMARC passed lifts the DMARC policy (forwarders, lists)",
	  OFF(trusted_arc_sealers), 0, 0, NULL, 0 },
	{ "ARCSign", OPT_BOOL, "no",
	  "seal the messages passed on (lists, forwarders): ARC-Authentication-Results from our Authentication-Results, ARC-Message-Signature and ARC-Seal at the top; mail from InternalHosts (a list re-sending) is sealed with the Authentication-Results we wrote when it arrived",
	  OFF(arc_sign), 0, 0, NULL, 0 },
	{ "ARCDomain", OPT_STRING, "",
	  "ARCSign: the sealing domain (d=); its key is published at ARCSelector._domainkey.ARCDomain",
	  OFF(arc_domain), 0, 0, NULL, 0 },
	{ "ARCSelector", OPT_STRING, "",
	  "ARCSign: the selector (s=)", OFF(arc_selector), 0, 0, NULL, 0 },
	{ "ARCKeyFile", OPT_STRING, "",
	  "ARCSign: PEM private key, RSA (2048 bits advised; rsa-sha256) or Ed25519 (ed25519-sha256); must not be readable by other users",
	  OFF(arc_key_file), 0, 0, NULL, 0 },
	{ "SPFEngine", OPT_SPFENGINE, "builtin",
	  "SPF implementation: builtin (RFC 7208 evaluator with limits and lint) or libspf2",
	  OFF(spf_engine), 0, 0, NULL, 0 },
	{ "DMARCStandard", OPT_ENUM, "rfc9989",
	  "DMARC as RFC 9989 says (tree walk, t=y honoured, pct= ignored, several records discarded) or as RFC 7489 did (public suffix list, pct=)",
	  OFF(dmarc_standard), 0, 0, dmarc_standard_names, 0 },
	{ "DMARCDiscovery", OPT_ENUM, "standard",
	  "how DMARC finds the organizational domain: standard (treewalk under rfc9989, psl under rfc7489), psl (public suffix list) or treewalk (DNS tree walk)",
	  OFF(dmarc_discovery), 0, 0, dmarc_discovery_names, 0 },
	{ "On-DMARCFail", OPT_ENUM, "accept",
	  "action when DMARC fails: accept, reject, tempfail, quarantine, or policy (the domain's p=)",
	  OFF(on_dmarc_fail), 0, 0, dmarc_action_names, 0 },
	{ "On-BadFrom", OPT_ENUM, "inherit",
	  "action when no From address has a domain DMARC could judge (a domain literal, junk, no From, too many): accept, reject, tempfail, quarantine, or inherit (On-DMARCFail's action; its 'policy' means reject here)",
	  OFF(on_bad_from), 0, 0, inherit_action_names, 0 },
	{ "Profiles", OPT_FLAGS, "google yahoo microsoft",
	  "bulk-sender rule sets to judge each message by: google, yahoo, microsoft",
	  OFF(profiles), 0, 0, profile_names, 0 },
	{ "On-Noncompliant", OPT_ACTION, "accept",
	  "action when a message breaks a profile's rules", OFF(on_noncompliant), 0, 0, NULL, 0 },
	{ "On-Noncompliant-Google", OPT_ENUM, "inherit",
	  "action when it breaks Google's rules (inherit: On-Noncompliant)",
	  OFF(on_noncompliant_profile[PROFILE_GOOGLE]), 0, 0, inherit_action_names, 0 },
	{ "On-Noncompliant-Yahoo", OPT_ENUM, "inherit",
	  "action when it breaks Yahoo's rules (inherit: On-Noncompliant)",
	  OFF(on_noncompliant_profile[PROFILE_YAHOO]), 0, 0, inherit_action_names, 0 },
	{ "On-Noncompliant-Microsoft", OPT_ENUM, "inherit",
	  "action when it breaks Microsoft's rules (inherit: On-Noncompliant)",
	  OFF(on_noncompliant_profile[PROFILE_MICROSOFT]), 0, 0, inherit_action_names, 0 },
	{ "BulkDetection", OPT_FLAGS, "headers volume",
	  "what makes a message bulk: headers (List-Unsubscribe, List-Id, Precedence, Feedback-ID), volume, always, never",
	  OFF(bulk_detection), 0, 0, bulk_names, 0 },
	{ "BulkThreshold", OPT_UINT, "5000",
	  "messages per organizational domain in 24 hours from which its mail is bulk",
	  OFF(bulk_threshold), 1, 100000000, NULL, OPTF_RESTART },
	{ "BulkStickyDays", OPT_UINT, "365",
	  "days a domain stays bulk after its volume reached BulkThreshold (0: only while it does)",
	  OFF(bulk_sticky_days), 0, 36500, NULL, OPTF_RESTART },
	{ "VolumeFile", OPT_STRING, "/var/lib/sendercheck/volume.txt",
	  "where the 24-hour volume counts are kept across restarts (empty: memory only; with SharedState: the fallback)",
	  OFF(volume_file), 0, 0, NULL, OPTF_RESTART },
	{ "SharedState", OPT_STRING, "",
	  "Redis holding the fleet's volume counts and bulk marks: redis://HOST[:PORT][/DB] or unix:/path[?db=N] (empty: each host counts alone)",
	  OFF(shared_state), 0, 0, NULL, OPTF_RESTART },
	{ "SharedStatePasswordFile", OPT_STRING, "",
	  "file whose first line is the Redis password, or USER PASSWORD for an ACL user (empty: no AUTH)",
	  OFF(shared_state_password_file), 0, 0, NULL, OPTF_RESTART },
	{ "SharedStateTimeout", OPT_SECONDS, "0.05",
	  "longest wait for one Redis round trip; mail never waits for Redis (counts go in the background)",
	  OFF(shared_state_timeout_ms), 0, 0, NULL, OPTF_RESTART },
	{ "HostName", OPT_STRING, "",
	  "this host's name in the fleet's counts and statistics rows (empty: the system's host name)",
	  OFF(host_name), 0, 0, NULL, OPTF_RESTART },
	{ "Mode", OPT_ENUM, "inbound",
	  "inbound (judge the connecting client) or outbound (self-test: judge SendingIPs, no TLS rule)",
	  OFF(mode), 0, 0, mode_names, 0 },
	{ "SendingIPs", OPT_CIDRS, "",
	  "outbound mode: the public IP addresses the mail leaves from (SPF and iprev use them)",
	  OFF(sending_ips), 0, 0, NULL, 0 },
	{ "StatsDB", OPT_STRING, "",
	  "where every verdict is stored for sendercheck-stats: an SQLite file, e.g. /var/lib/sendercheck/stats.db, or postgresql://USER@HOST/DB?passfile=FILE (empty: no statistics)",
	  OFF(stats_db), 0, 0, NULL, OPTF_RESTART },
	{ "StatsRetention", OPT_UINT, "90",
	  "days of statistics kept; older messages and daily totals are pruned",
	  OFF(stats_retention), 1, 36500, NULL, OPTF_RESTART },
	{ "StatsQueueSize", OPT_UINT, "10000",
	  "verdicts waiting for the stats writer; beyond it a message is dropped from the statistics, never delayed",
	  OFF(stats_queue_size), 1, 10000000, NULL, OPTF_RESTART },
	{ "ReportOrgName", OPT_STRING, "",
	  "the organization named in the DMARC aggregate reports sendercheck-reports builds (free text; empty: the AuthservID)",
	  OFF(report_org_name), 0, 0, NULL, 0 },
	{ "ReportEmail", OPT_STRING, "",
	  "the contact address in those reports (empty: postmaster@ the AuthservID)",
	  OFF(report_email), 0, 0, NULL, 0 },
	{ "ReportSender", OPT_STRING, "",
	  "sendercheck-reports: envelope sender (MAIL FROM) of report mail, where bounces go (the only news of a refusal after the MTA queued a report), e.g. dmarc-bounces@example.net (empty: ReportEmail)",
	  OFF(report_sender), 0, 0, NULL, 0 },
	{ "ReportSMTP", OPT_STRING, "",
	  "sendercheck-reports: hand report mail to this SMTP server, HOST:PORT: a refusal in its reply is recorded (empty: /usr/sbin/sendmail -i -f ReportSender, which only queues: a destination's refusal comes back as a bounce to ReportSender and is not recorded)",
	  OFF(report_smtp), 0, 0, NULL, 0 },
	{ "ReportSendmail", OPT_STRING, "/usr/sbin/sendmail",
	  "sendercheck-reports without ReportSMTP: the local MTA's sendmail command, an absolute path, run as PATH -i -f ReportSender -- RCPT; its exit status (sysexits.h) decides: queued (0), refused like a 5xx (EX_NOUSER, EX_NOHOST: this recipient is never taken), else tried again",
	  OFF(report_sendmail), 0, 0, NULL, 0 },
	{ "ReportMaxSize", OPT_UINT, "10485760",
	  "sendercheck-reports: largest report message in bytes, for every destination (a smaller !size in rua= wins)",
	  OFF(report_max_size), 1024, 4294967295u, NULL, 0 },
	{ "ReportCopyTo", OPT_STRING, "",
	  "sendercheck-reports: also send every report message to this address, as an archive (empty: none)",
	  OFF(report_copy_to), 0, 0, NULL, 0 },
	{ "ReportMaxPerRun", OPT_UINT, "1000",
	  "sendercheck-reports: at most this many report messages per run; the rest are postponed (exit status 75) to a later run of the same day",
	  OFF(report_max_per_run), 1, 1000000, NULL, 0 },
	{ "MetricsSocket", OPT_STRING, "",
	  "serve Prometheus metrics at /metrics on inet:PORT@HOST or inet6:PORT@HOST (empty: off)",
	  OFF(metrics_socket), 0, 0, NULL, OPTF_RESTART },
	{ "LogFormat", OPT_ENUM, "text",
	  "per-message log record: text (one line of key=value) or json (one JSON object)",
	  OFF(log_format), 0, 0, log_format_names, 0 },
	{ "MilterTimeout", OPT_UINT, "120",
	  "seconds libmilter waits on an MTA stalled in a command or reply, and keeps a session with no command",
	  OFF(milter_timeout), 1, 86400, NULL, OPTF_RESTART },
	{ "MilterMaxData", OPT_UINT, "1048576",
	  "largest milter command in bytes, i.e. one header field (Postfix's header_size_limit is 102400)",
	  OFF(milter_max_data), 131072, 16777216, NULL, OPTF_RESTART },
	{ "MilterMaxSessions", OPT_UINT, "1000",
	  "milter sessions served at once; further ones are told to try again later (tempfail)",
	  OFF(milter_max_sessions), 1, 1000000, NULL, 0 },
	{ "UserID", OPT_STRING, "",
	  "user (or user:group) to run as after binding the socket (empty: stay)", OFF(user_id), 0, 0, NULL, OPTF_RESTART },
	{ "PidFile", OPT_STRING, "",
	  "file to write the process id to (empty: none)", OFF(pid_file), 0, 0, NULL, OPTF_RESTART },
	{ "Syslog", OPT_BOOL, "yes",
	  "log to syslog (otherwise, and always with -f, to stderr)", OFF(syslog), 0, 0, NULL, OPTF_RESTART },
	{ "SyslogFacility", OPT_FACILITY, "mail",
	  "syslog facility: mail, daemon, user, local0..local7", OFF(syslog_facility), 0, 0, NULL, OPTF_RESTART },
	{ "LogLevel", OPT_LOGLEVEL, "info",
	  "error, warning, notice, info (one line per message) or debug", OFF(log_level), 0, 0, NULL, 0 },
};
const size_t config_n_options = sizeof(config_options) / sizeof(config_options[0]);

static int
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (int i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

static int
parse_socket(const char *v, char *why, size_t whylen)
{
	const char *p;

	if (strncmp(v, "unix:", 5) == 0 || strncmp(v, "local:", 6) == 0) {
		p = strchr(v, ':') + 1;
		if (*p != '/') {
			snprintf(why, whylen, "socket path '%s' must be absolute", p);
			return -1;
		}
		return 0;
	}
	if (strncmp(v, "inet:", 5) == 0 || strncmp(v, "inet6:", 6) == 0) {
		struct inet_spec is;

		return inet_spec_parse(v, &is, why, whylen);
	}
	snprintf(why, whylen, "'%s': expected inet:PORT@HOST, inet6:PORT@HOST or unix:/path", v);
	return -1;
}

static int
parse_servers(const char *v, struct sc_config *c, char *why, size_t whylen)
{
	char *copy = strdup(v), *save = NULL, *tok;
	size_t n = 0;
	int rc = 0;

	if (copy == NULL)
		return snprintf(why, whylen, "out of memory"), -1;
	for (tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (n == DNS_MAX_SERVERS) {
			snprintf(why, whylen, "at most %d nameservers", DNS_MAX_SERVERS);
			rc = -1;
			break;
		}
		if (dns_parse_server(tok, &c->nameservers[n], why, whylen) < 0) {
			rc = -1;
			break;
		}
		n++;
	}
	free(copy);
	if (rc == 0)
		c->n_nameservers = n;
	return rc;
}

static int
parse_seconds(const char *v, unsigned *ms)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	/* the negated range test also refuses NaN */
	if (errno || end == v || *end != '\0' || !(d >= 0.001 && d <= 600))
		return -1;
	*ms = (unsigned)(d * 1000 + 0.5);
	return 0;
}

/* "a, b or c" for messages. */
static const char *
names_list(const char *const *names)
{
	static _Thread_local char buf[256];
	size_t n = 0;

	buf[0] = '\0';
	for (; names[n] != NULL; n++)
		;
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
	return buf;
}

static int
parse_flags(const struct config_option *o, const char *v, unsigned *out, char *why, size_t whylen)
{
	char *copy = strdup(v), *save = NULL, *tok;
	unsigned mask = 0;
	int rc = 0;

	if (copy == NULL)
		return snprintf(why, whylen, "out of memory"), -1;
	for (tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		int i;

		for (i = 0; o->names[i] != NULL && strcasecmp(tok, o->names[i]) != 0; i++)
			;
		if (o->names[i] == NULL) {
			snprintf(why, whylen, "'%s' is not one of %s", tok, names_list(o->names));
			rc = -1;
			break;
		}
		mask |= 1u << i;
	}
	free(copy);
	if (rc == 0)
		*out = mask;
	return rc;
}

/* A list of domain names: each checked, lower-cased, one space between. */
static int
parse_domains(const char *v, char **out, char *why, size_t whylen)
{
	struct sbuf b;
	char name[256];

	sbuf_init(&b, 64 * 1024);
	for (const char *p = v; *p;) {
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		n = strcspn(p, " \t,");
		if (n == 0)
			break;
		if (n >= sizeof(name) || dns_name_check(p, n, DNS_NAME_HOST | DNS_NAME_MULTI_LABEL,
		    NULL, 0) < 0) {
			snprintf(why, whylen, "'%.*s' is not a domain name", (int)(n < 80 ? n : 80), p);
			sbuf_free(&b);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			name[i] = (char)tolower((unsigned char)p[i]);
		name[n] = '\0';
		sbuf_printf(&b, "%s%s", b.len ? " " : "", name);
		p += n;
	}
	if (b.overflow) {
		sbuf_free(&b);
		return snprintf(why, whylen, "too long"), -1;
	}
	*out = sbuf_detach(&b);
	return *out == NULL ? (snprintf(why, whylen, "out of memory"), -1) : 0;
}

/* Sets one option from its text value; returns 0 or -1 with why. */
static int
option_set(struct sc_config *c, const struct config_option *o, const char *v,
    char *why, size_t whylen)
{
	void *field = (char *)c + o->offset;
	unsigned long u;
	char *end;
	int i;

	switch (o->type) {
	case OPT_DOMAINS: {
		char *list;

		if (parse_domains(v, &list, why, whylen) < 0)
			return -1;
		free(*(char **)field);
		*(char **)field = list;
		return 0;
	}
	case OPT_STRING:
	case OPT_SOCKET:
		if (o->type == OPT_SOCKET && parse_socket(v, why, whylen) < 0)
			return -1;
		free(*(char **)field);
		if ((*(char **)field = strdup(v)) == NULL)
			return snprintf(why, whylen, "out of memory"), -1;
		return 0;
	case OPT_BOOL:
		if (parse_bool(v, field) < 0)
			return snprintf(why, whylen, "'%s' is not yes or no", v), -1;
		return 0;
	case OPT_UINT:
		errno = 0;
		u = strtoul(v, &end, 10);
		if (errno || end == v || *end != '\0' || v[0] == '-' || u < o->min || u > o->max)
			return snprintf(why, whylen, "'%s' is not a whole number from %u to %u",
			    v, o->min, o->max), -1;
		*(unsigned *)field = (unsigned)u;
		return 0;
	case OPT_SECONDS:
		if (parse_seconds(v, field) < 0)
			return snprintf(why, whylen, "'%s' is not a number of seconds from 0.001 to 600", v), -1;
		return 0;
	case OPT_ACTION:
		for (i = 0; i < ACT_COUNT; i++)
			if (strcasecmp(v, action_str((enum action)i)) == 0)
				return *(enum action *)field = (enum action)i, 0;
		return snprintf(why, whylen, "'%s' is not one of accept, reject, tempfail, quarantine", v), -1;
	case OPT_SERVERS:
		return parse_servers(v, c, why, whylen);
	case OPT_CIDRS: {
		struct cidr_list l;

		if (cidr_list_parse(v, &l, why, whylen) < 0)
			return -1;
		cidr_list_free(field);
		*(struct cidr_list *)field = l;
		return 0;
	}
	case OPT_FACILITY:
		if ((i = log_facility_parse(v)) < 0)
			return snprintf(why, whylen, "'%s' is not a syslog facility (mail, daemon, local0..7, ...)", v), -1;
		*(int *)field = i;
		return 0;
	case OPT_LOGLEVEL:
		if ((i = log_level_parse(v)) < 0)
			return snprintf(why, whylen, "'%s' is not one of error, warning, notice, info, debug", v), -1;
		*(int *)field = i;
		return 0;
	case OPT_ENUM:
		for (i = 0; o->names[i] != NULL; i++)
			if (strcasecmp(v, o->names[i]) == 0)
				return *(int *)field = i, 0;
		return snprintf(why, whylen, "'%s' is not one of %s", v, names_list(o->names)), -1;
	case OPT_FLAGS:
		return parse_flags(o, v, field, why, whylen);
	case OPT_SPFENGINE:
		if (strcasecmp(v, "builtin") == 0)
			return *(int *)field = SPF_ENGINE_BUILTIN, 0;
		if (strcasecmp(v, "libspf2") == 0)
			return *(int *)field = SPF_ENGINE_LIBSPF2, 0;
		return snprintf(why, whylen, "'%s' is not a known SPF engine (builtin, libspf2)", v), -1;
	}
	return snprintf(why, whylen, "internal: unknown option type"), -1;
}

static const struct config_option *
option_find(const char *name)
{
	for (size_t i = 0; i < config_n_options; i++)
		if (strcasecmp(config_options[i].name, name) == 0)
			return &config_options[i];
	return NULL;
}

void
config_defaults(struct sc_config *c)
{
	char why[256];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < config_n_options; i++)
		if (option_set(c, &config_options[i], config_options[i].def, why, sizeof(why)) < 0)
			log_err("internal: default of %s: %s", config_options[i].name, why);
}

/* The authserv-id and HostName are written bare: a host name (letters,
 * digits, '.', '-', '_'). */
static int
check_host_name(const char *s)
{
	if (*s == '\0' || *s == '.')
		return -1;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_')
			return -1;
	return 0;
}

/* An address written bare (ReportEmail): local@domain of printable
 * characters without blanks, quotes, brackets or a second '@'. */
static int
check_mailbox(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    check_host_name(at + 1) < 0 || strlen(s) > 254)
		return -1;
	for (; s < at; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || strchr("\"<>()[],;:\\", *s))
			return -1;
	return 0;
}

/* An empty string option becomes the system's host name. */
static void
default_host_name(char **field)
{
	char host[256];

	if ((*field)[0] != '\0')
		return;
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	free(*field);
	*field = strdup(host);
}

/* The sendercheck-reports options: addresses that go into SMTP commands,
 * header fields and a command line, HOST:PORT and the sendmail path. */
static int
check_report_options(const struct sc_config *c, const char *name, struct sbuf *errs)
{
	const char *const addrs[] = { c->report_sender, c->report_copy_to };
	const char *const names[] = { "ReportSender", "ReportCopyTo" };
	const char *colon = strrchr(c->report_smtp, ':');
	struct rua_dest d;
	const char *why;
	size_t i;

	for (i = 0; i < 2; i++)
		if (addrs[i][0] != '\0' && (why = rua_address(addrs[i], &d)) != NULL) {
			sbuf_printf(errs, "%s: %s '%s': %s\n", name, names[i], addrs[i], why);
			return -1;
		}
	if (c->report_sendmail[0] != '/') {
		sbuf_printf(errs, "%s: ReportSendmail '%s': expected an absolute path, e.g. /usr/sbin/sendmail\n",
		    name, c->report_sendmail);
		return -1;
	}
	if (c->report_smtp[0] != '\0') {
		char *end;
		unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
		const char *p;

		for (p = c->report_smtp; p < colon && isgraph((unsigned char)*p) && *p != '/' && *p != '@'; p++)
			;
		if (colon == NULL || colon == c->report_smtp || p != colon || !isdigit((unsigned char)colon[1]) ||
		    *end != '\0' || port == 0 || port > 65535) {
			sbuf_printf(errs, "%s: ReportSMTP '%s': expected HOST:PORT, e.g. 127.0.0.1:25 or [::1]:25\n",
			    name, c->report_smtp);
			return -1;
		}
	}
	return 0;
}

static int
finish(struct sc_config *c, const char *name, struct sbuf *errs)
{
	default_host_name(&c->authserv_id);
	default_host_name(&c->host_name);
	if (c->dmarc_discovery == DISCOVERY_STANDARD)
		c->dmarc_discovery = c->dmarc_standard == DMARC_STD_RFC7489 ? DMARC_DISCOVERY_PSL :
		    DMARC_DISCOVERY_TREEWALK;
	if ((c->bulk_detection & BULK_ALWAYS) && (c->bulk_detection & BULK_NEVER)) {
		sbuf_printf(errs, "%s: BulkDetection cannot be both always and never\n", name);
		return 1;
	}
	if (c->mode == MODE_OUTBOUND && c->sending_ips.n == 0) {
		sbuf_printf(errs, "%s: Mode outbound needs SendingIPs (the addresses your mail leaves from)\n",
		    name);
		return 1;
	}
	if (c->sending_ips.n > MAX_SENDING_IPS) {
		sbuf_printf(errs, "%s: SendingIPs: at most %d addresses\n", name, MAX_SENDING_IPS);
		return 1;
	}
	for (size_t i = 0; i < c->sending_ips.n; i++)
		if (c->sending_ips.v[i].prefix != (c->sending_ips.v[i].net.family == AF_INET ? 32u : 128u)) {
			sbuf_printf(errs, "%s: SendingIPs takes addresses, not networks\n", name);
			return 1;
		}
	if (c->metrics_socket[0] != '\0') {
		char why[256];

		if ((strncmp(c->metrics_socket, "inet:", 5) != 0 && strncmp(c->metrics_socket, "inet6:", 6) != 0) ||
		    parse_socket(c->metrics_socket, why, sizeof(why)) < 0 || strchr(c->metrics_socket, '@') == NULL) {
			sbuf_printf(errs, "%s: MetricsSocket '%s': expected inet:PORT@HOST or inet6:PORT@HOST\n",
			    name, c->metrics_socket);
			return 1;
		}
	}
	if (c->authserv_id == NULL || check_host_name(c->authserv_id) < 0) {
		sbuf_printf(errs, "%s: AuthservID must be a host name (letters, digits, '.', '-', '_')\n", name);
		return 1;
	}
	if (c->host_name == NULL || check_host_name(c->host_name) < 0 || strlen(c->host_name) > 200) {
		sbuf_printf(errs, "%s: HostName must be a host name (letters, digits, '.', '-', '_')\n", name);
		return 1;
	}
	for (const char *p = c->report_org_name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			sbuf_printf(errs, "%s: ReportOrgName: no control characters\n", name);
			return 1;
		}
	if (c->report_email[0] != '\0' && check_mailbox(c->report_email) < 0) {
		sbuf_printf(errs, "%s: ReportEmail '%s': expected one address, local@domain\n", name,
		    c->report_email);
		return 1;
	}
	if (check_report_options(c, name, errs) < 0)
		return 1;
	if (c->shared_state[0] != '\0') {
		char why[300];

		if (sharedstate_check_uri(c->shared_state, why, sizeof(why)) < 0) {
			sbuf_printf(errs, "%s: SharedState: %s\n", name, why);
			return 1;
		}
	}
	return 0;
}

int
config_load_string(struct sc_config *c, const char *name, const char *text,
    struct sbuf *errs)
{
	const struct config_option *seen_opt[sizeof(config_options) / sizeof(config_options[0])] = { 0 };
	unsigned seen_line[sizeof(config_options) / sizeof(config_options[0])] = { 0 };
	unsigned lineno = 0;
	int problems = 0;
	const char *p = text;

	config_defaults(c);
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[4096], *k, *v, *e;
		char why[512];
		const struct config_option *o;

		lineno++;
		if (len >= sizeof(line)) {
			sbuf_printf(errs, "%s:%u: line longer than %zu characters\n", name, lineno, sizeof(line) - 1);
			problems++;
			goto next;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		for (e = line; *e; e++)
			if (*e == '#' && (e == line || e[-1] == ' ' || e[-1] == '\t')) {
				*e = '\0';
				break;
			}
		for (e = line + strlen(line); e > line && strchr(" \t\r", e[-1]); e--)
			*(e - 1) = '\0';
		for (k = line; *k == ' ' || *k == '\t'; k++)
			;
		if (*k == '\0')
			goto next;
		for (v = k; *v && *v != ' ' && *v != '\t'; v++)
			;
		if (*v)
			*v++ = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		if ((o = option_find(k)) == NULL) {
			sbuf_printf(errs, "%s:%u: unknown option '%s'\n", name, lineno, k);
			problems++;
			goto next;
		}
		size_t idx = (size_t)(o - config_options);
		if (seen_opt[idx] != NULL) {
			sbuf_printf(errs, "%s:%u: %s given again (first on line %u)\n", name, lineno,
			    o->name, seen_line[idx]);
			problems++;
			goto next;
		}
		seen_opt[idx] = o;
		seen_line[idx] = lineno;
		if (option_set(c, o, v, why, sizeof(why)) < 0) {
			sbuf_printf(errs, "%s:%u: %s: %s\n", name, lineno, o->name, why);
			problems++;
		}
next:
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	return problems + finish(c, name, errs);
}

/* What a file that is not a regular file is, for messages. */
static const char *
file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "a special file";
}

/*
 * Reads a whole config file of at most CONFIG_MAX_BYTES into text. Only
 * regular files: opening does not wait for a FIFO's writer (O_NONBLOCK),
 * and reading stops at the cap, so /dev/zero or a pipe cannot stall the
 * start or a reload.
 */
#define CONFIG_MAX_BYTES (1 << 20)

static int
read_config_file(const char *path, struct sbuf *text, struct sbuf *errs)
{
	char buf[8192];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		sbuf_printf(errs, "%s: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		sbuf_printf(errs, "%s: cannot read: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		sbuf_printf(errs, "%s: not a regular file (%s)\n", path, file_kind(st.st_mode));
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sbuf_printf(errs, "%s: cannot read: %s\n", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (sbuf_add(text, buf, (size_t)n) < 0)
			break;
	}
	close(fd);
	if (text->overflow || memchr(text->s, '\0', text->len) != NULL) {
		sbuf_printf(errs, "%s: not a text file of at most 1 MiB\n", path);
		return -1;
	}
	return 0;
}

int
config_load(struct sc_config *c, const char *path, struct sbuf *errs)
{
	struct sbuf text;
	int rc;

	sbuf_init(&text, CONFIG_MAX_BYTES);
	if (read_config_file(path, &text, errs) < 0) {
		config_defaults(c);
		sbuf_free(&text);
		return 1;
	}
	rc = config_load_string(c, path, text.s, errs);
	sbuf_free(&text);
	return rc;
}

void
config_free(struct sc_config *c)
{
	for (size_t i = 0; i < config_n_options; i++) {
		void *field = (char *)c + config_options[i].offset;

		if (OPT_IS_TEXT(config_options[i].type)) {
			free(*(char **)field);
			*(char **)field = NULL;
		} else if (config_options[i].type == OPT_CIDRS) {
			cidr_list_free(field);
		}
	}
}

static int
str_equal(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

int
config_option_equal(const struct config_option *o, const struct sc_config *a,
    const struct sc_config *b)
{
	const void *fa = (const char *)a + o->offset, *fb = (const char *)b + o->offset;

	switch (o->type) {
	case OPT_STRING:
	case OPT_SOCKET:
	case OPT_DOMAINS:
		return str_equal(*(char *const *)fa, *(char *const *)fb);
	case OPT_UINT:
	case OPT_SECONDS:
	case OPT_FLAGS:
		return *(const unsigned *)fa == *(const unsigned *)fb;
	case OPT_ACTION:
		return *(const enum action *)fa == *(const enum action *)fb;
	case OPT_BOOL:
	case OPT_FACILITY:
	case OPT_LOGLEVEL:
	case OPT_SPFENGINE:
	case OPT_ENUM:
		return *(const int *)fa == *(const int *)fb;
	case OPT_SERVERS:
		if (a->n_nameservers != b->n_nameservers)
			return 0;
		for (size_t i = 0; i < a->n_nameservers; i++)
			if (a->nameservers[i].addrlen != b->nameservers[i].addrlen ||
			    memcmp(&a->nameservers[i].addr, &b->nameservers[i].addr,
			    a->nameservers[i].addrlen) != 0)
				return 0;
		return 1;
	case OPT_CIDRS: {
		const struct cidr_list *la = fa, *lb = fb;

		if (la->n != lb->n)
			return 0;
		for (size_t i = 0; i < la->n; i++)
			if (la->v[i].prefix != lb->v[i].prefix ||
			    la->v[i].net.family != lb->v[i].net.family ||
			    memcmp(la->v[i].net.a, lb->v[i].net.a, sizeof(la->v[i].net.a)) != 0)
				return 0;
		return 1;
	}
	}
	return 0;
}

int
config_option_copy(const struct config_option *o, struct sc_config *dst,
    const struct sc_config *src)
{
	void *fd = (char *)dst + o->offset;
	const void *fs = (const char *)src + o->offset;

	switch (o->type) {
	case OPT_STRING:
	case OPT_SOCKET:
	case OPT_DOMAINS: {
		char *copy = strdup(*(char *const *)fs ? *(char *const *)fs : "");

		if (copy == NULL)
			return -1;
		free(*(char **)fd);
		*(char **)fd = copy;
		return 0;
	}
	case OPT_UINT:
	case OPT_SECONDS:
	case OPT_FLAGS:
		*(unsigned *)fd = *(const unsigned *)fs;
		return 0;
	case OPT_ACTION:
		*(enum action *)fd = *(const enum action *)fs;
		return 0;
	case OPT_BOOL:
	case OPT_FACILITY:
	case OPT_LOGLEVEL:
	case OPT_SPFENGINE:
	case OPT_ENUM:
		*(int *)fd = *(const int *)fs;
		return 0;
	case OPT_SERVERS:
		memcpy(dst->nameservers, src->nameservers, sizeof(dst->nameservers));
		dst->n_nameservers = src->n_nameservers;
		return 0;
	case OPT_CIDRS: {
		const struct cidr_list *ls = fs;
		struct cidr_list copy = { ls->n, NULL };

		if (ls->n > 0 && (copy.v = malloc(ls->n * sizeof(*copy.v))) == NULL)
			return -1;
		if (ls->n > 0)
			memcpy(copy.v, ls->v, ls->n * sizeof(*copy.v));
		cidr_list_free(fd);
		*(struct cidr_list *)fd = copy;
		return 0;
	}
	}
	return -1;
}
