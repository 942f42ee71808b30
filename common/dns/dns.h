/*
 * dns: the one resolver for everything (SPF, DKIM, DMARC, iprev).
 *
 * Queries are built and parsed with libresolv and sent by this module
 * itself over UDP to the configured nameservers (IPv4 or IPv6, any port),
 * retried over TCP when the UDP reply is truncated. One thread per
 * resolver does all network work (dns_io.c), so any number of questions
 * are in flight at once; a question already in flight is never sent
 * twice (single flight: every asker gets the one answer). Answers are
 * kept in a bounded TTL cache shared by all threads.
 *
 * Every lookup is charged to a dns_ctx, which carries the time budget of
 * one check (DNSTimeout): time spent waiting for an answer is subtracted,
 * and once the budget is used up lookups that would have to wait fail
 * fast with DNS_TIMEOUT. Each check has its own dns_ctx, so one slow name
 * can only use up the budget of the check that asked it. A dns_ctx belongs
 * to one thread at a time; a dns_resolver and a dns_session are shared
 * and thread-safe.
 *
 * Errors are values: every result carries a dns_status and a reason a
 * person can read. Nothing here aborts or exits on bad input. Temporary
 * (ask again later): DNS_SERVFAIL, DNS_TIMEOUT, DNS_ERROR (every reply
 * that cannot be used: malformed, truncated over TCP, a CNAME loop; and
 * local failures). Permanent: DNS_NXDOMAIN, DNS_NODATA, DNS_BADNAME.
 *
 * How tries are spread over the servers, what is cached and for how long:
 * see the top of dns.c and dns_io.c.
 */
#ifndef SC_DNS_H
#define SC_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_T_A		1
#define DNS_T_CNAME	5
#define DNS_T_PTR	12
#define DNS_T_MX	15
#define DNS_T_TXT	16
#define DNS_T_AAAA	28
#define DNS_T_SPF	99

#define DNS_MAX_SERVERS	8

enum dns_status {
	DNS_OK = 0,	/* answers of the asked type present */
	DNS_NXDOMAIN,	/* the name does not exist */
	DNS_NODATA,	/* the name exists, no record of this type */
	DNS_SERVFAIL,	/* server failure or refusal */
	DNS_TIMEOUT,	/* no answer in time, budget used up, or cancelled */
	DNS_ERROR,	/* no usable reply (malformed, truncated over TCP,
			 * CNAME loop) or a local failure: temporary */
	DNS_BADNAME	/* not a valid DNS name: nothing was asked */
};

const char *dns_status_str(enum dns_status st);

struct dns_server {
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

/*
 * Parses "IP", "IP:PORT", "[IPv6]:PORT" or "IPv6" (no port) into a server
 * address; the port defaults to 53. Returns 0, or -1 with a reason.
 */
int dns_parse_server(const char *spec, struct dns_server *out,
    char *why, size_t whylen);

/* Formats a server as "IP:PORT" / "[IPv6]:PORT". */
void dns_server_str(const struct dns_server *s, char *buf, size_t buflen);

struct dns_resolver_stats {
	unsigned long queries;		/* lookups that went to the network */
	unsigned long cache_hits;
	unsigned long timeouts;		/* lookups that ended in DNS_TIMEOUT */
	unsigned long tcp_retries;	/* TCP tries after a truncated reply */
};

struct dns_resolver;

/*
 * Creates the shared resolver. With nservers == 0 the system resolver's
 * nameservers (/etc/resolv.conf) are used. cache_max bounds the number of
 * cached answers (0 disables the cache).
 */
struct dns_resolver *dns_resolver_new(const struct dns_server *servers,
    size_t nservers, size_t cache_max, char *why, size_t whylen);
void dns_resolver_free(struct dns_resolver *r);
void dns_resolver_stats(struct dns_resolver *r, struct dns_resolver_stats *out);

struct dns_session;

/* Per-check context: budget and counters. Plain struct, no allocation. */
struct dns_ctx {
	struct dns_resolver *res;
	struct dns_session *session;	/* NULL, or see dns_ctx_bind */
	long budget_ms;		/* remaining wait time */
	/*
	 * nowait set: an answer that is not there at once (cache, or done
	 * in the session) is not waited for: the question is asked into the
	 * session (when bound), would_block is set and the lookup gives
	 * DNS_TIMEOUT "would wait". For trying a check inline first and
	 * handing it to a thread only when it would wait.
	 */
	int nowait;
	int would_block;
	unsigned queries;	/* lookups asked for (cache hits included) */
	unsigned cache_hits;
	unsigned timeouts;
};

void dns_ctx_init(struct dns_ctx *c, struct dns_resolver *r, unsigned budget_ms);

/*
 * A share of c's budget for lookups the check must not let use up its
 * time: names another party chooses whose failure the check ignores (SPF:
 * the client's PTR and the names it gives). Between dns_share_enter and
 * dns_share_leave, lookups on c wait at most *share_ms (and never past
 * c's budget); the time waited is taken from both, so *share_ms is what
 * later such lookups may still wait. An answer already there (cache,
 * session) is read even when the share is used up.
 *
 *	long saved = dns_share_enter(c, *share_ms);
 *	dns_query(c, name, type, &res);
 *	dns_share_leave(c, saved, share_ms);
 */
long dns_share_enter(struct dns_ctx *c, long share_ms);
void dns_share_leave(struct dns_ctx *c, long saved, long *share_ms);

/*
 * Early questions (prefetch) and sessions.
 *
 * A dns_session holds the questions of one message (or one SMTP
 * connection): the answers asked for early and every answer its checks
 * got from the network. It lets a question be asked as soon as its name
 * is known (PTR at connect, the SPF record at MAIL FROM, a DKIM key when
 * its DKIM-Signature field arrives, the DMARC record when From arrives)
 * and the check that needs it find the answer later, still in flight or
 * already there, even with the cache off (DNSCacheSize 0).
 *
 *	s = dns_session_new(resolver, budget_ms);
 *	dns_prefetch(s, "sel._domainkey.example.com", DNS_T_TXT);   (returns at once)
 *	...
 *	dns_ctx_init(&ctx, resolver, budget_ms);
 *	dns_ctx_bind(&ctx, s);
 *	dns_query(&ctx, "sel._domainkey.example.com", DNS_T_TXT, &res);
 *	    -> the prefetched answer (waits for it if still in flight)
 *	dns_session_cancel(s);	(abort: wakes every waiter, DNS_TIMEOUT)
 *	dns_session_free(s);	(after the last dns_query on a bound ctx)
 *
 * A prefetch counts against nothing: no ctx counter, no budget, no SPF
 * limit sees it until a dns_query uses its answer (then it counts as
 * that query, from_cache 0). It gets budget_ms of network time from when
 * it is asked. Names that are not valid DNS names are ignored. A
 * dns_query on a bound ctx looks in the session first, then the cache,
 * then joins the same question in flight for anyone, and only then asks
 * the network; what it gets from the network is kept in the session too.
 * dns_session_free drops what was never used; questions nobody else
 * waits for are then cancelled (their sockets closed).
 *
 * A DKIM verifier needs nothing of this: the engine prefetches the key
 * name s._domainkey.d when the DKIM-Signature field arrives and binds the
 * verifier's dns_ctx to the message's session; the verifier's own
 * dns_query for that name then finds the answer.
 */
struct dns_session *dns_session_new(struct dns_resolver *r, unsigned budget_ms);
void dns_ctx_bind(struct dns_ctx *c, struct dns_session *s);
void dns_prefetch(struct dns_session *s, const char *name, uint16_t type);
void dns_session_cancel(struct dns_session *s);
void dns_session_free(struct dns_session *s);

/* One resource record of the asked type. */
struct dns_rr {
	uint16_t type;
	uint32_t ttl;
	uint16_t pref;		/* MX preference */
	size_t len;		/* bytes in data */
	/*
	 * A: 4 bytes, AAAA: 16 bytes (network order).
	 * TXT/SPF: the character-strings concatenated (RFC 7208 §3.3), may
	 * hold any byte; NUL-terminated beyond len.
	 * MX (exchange), PTR, CNAME: the name in presentation form without
	 * the trailing dot, NUL-terminated; special and non-printable bytes
	 * escaped as by ns_name_ntop ("\\.", "\\032"); the root (null MX,
	 * RFC 7505) is "".
	 */
	unsigned char *data;
};

struct dns_result {
	enum dns_status status;
	size_t n;		/* records of the asked type */
	struct dns_rr *rr;
	unsigned char *wire;	/* the whole reply as received (or cached) */
	size_t wirelen;
	int from_cache;
	char why[160];		/* reason when status != DNS_OK */
	unsigned char *block;	/* a cached answer's copy: rr, their data and wire in one */
};

/*
 * Looks up name/type. name may end with a dot; a name that is not a valid
 * DNS name (empty label, label > 63, name > 253 octets) gives DNS_BADNAME
 * without a query; so do spaces, backslashes and control characters (a
 * backslash would be read as an escape). Always fills *out (free it with dns_result_free), and
 * returns out->status; *out is overwritten, so free an earlier result
 * first. A cached answer is a copy of the one parsed when it came
 * (from_cache set; record TTLs lowered to the time left). why is empty on DNS_OK.
 */
enum dns_status dns_query(struct dns_ctx *c, const char *name, uint16_t type,
    struct dns_result *out);
void dns_result_free(struct dns_result *r);

/*
 * dns_query for a name taken from data (an SPF macro expansion): labels
 * may hold any octet but NUL (RFC 2181 section 11), so spaces,
 * backslashes and control octets are sent as they are (escaped for
 * libresolv) instead of refused. Length and label rules as dns_query.
 */
enum dns_status dns_query_octets(struct dns_ctx *c, const char *name,
    uint16_t type, struct dns_result *out);

/*
 * Parses a reply in wire form into out (for code and tests that hold a raw
 * reply). qtype selects the records kept: those owned by the question
 * name or by the end of its CNAME chain in the answer section. out->wire
 * gets a copy of wire. Returns out->status.
 */
enum dns_status dns_parse_reply(const unsigned char *wire, size_t len,
    uint16_t qtype, struct dns_result *out);

/* Whether a dns_status is temporary trouble (SERVFAIL, TIMEOUT, ERROR). */
int dns_status_temporary(enum dns_status st);

/*
 * A short cause of DNS trouble read from a reason this module wrote (a
 * dns_result's why, kept in a check's reason): "DNS time budget used up",
 * "no DNS answer in time", "DNS server failure (SERVFAIL)", "DNS query
 * refused (REFUSED)", "unusable DNS reply", "DNS lookup cancelled"; else
 * "temporary DNS failure". For texts that leave the host (SMTP replies,
 * header fields): it never names a server or a port.
 */
const char *dns_trouble_cause(const char *why);

/*
 * Frees the calling thread's resolver state, if it has one. Queries are
 * built on the resolver's own thread now, so callers need not call this;
 * it stays for the programs that do. Optional.
 */
void dns_thread_done(void);

/* The PTR query name for an IPv4 or IPv6 address in text form. */
int dns_reverse_name(const char *ip, char *buf, size_t buflen);

#endif
