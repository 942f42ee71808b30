/*
 * dns: the one resolver (see dns.h).
 *
 * Queries are built with res_nmkquery() on a per-thread res_state (a
 * pthread key; freed by the key destructor at thread exit, or by
 * dns_thread_done()). The query ID is then replaced by one from
 * getrandom(), and an EDNS0 OPT record (payload 1232) is appended.
 * Replies are parsed with ns_initparse()/ns_parserr()/ns_name_uncompress().
 *
 * Sending. One lookup makes at most two rounds over the servers, one UDP
 * datagram per attempt. Attempt k waits
 *	min(remaining, max(1000 ms, remaining / attempts_left))
 * where remaining is what is left of the ctx budget and attempts_left
 * counts this attempt and the later ones to servers still in the game.
 * So with [dead, good] and 1500 ms the dead server gets 1000 ms and the
 * good one the rest; with one server the budget is split over a send and
 * one resend. Each server has its own connected UDP socket for the whole
 * lookup: a late reply to an earlier attempt still counts while a later
 * attempt waits. A datagram counts only if it comes from the server's
 * address and port, carries the query ID, has QR set, opcode QUERY and
 * echoes the question (name compared case-insensitively); anything else
 * is dropped and waiting goes on until the attempt's deadline.
 * TC set: the query is repeated over TCP to that server (same window rule).
 * FORMERR while sending EDNS0: EDNS0 is dropped for the rest of the
 * lookup and the query resent to that server at once.
 * A server that gives SERVFAIL/REFUSED/another rcode, a malformed reply,
 * an ICMP unreachable or a broken TCP reply is not asked again in this
 * lookup; its result is kept and returned if no other server answers
 * (the first such failure wins over timeouts).
 *
 * Budget: the wall time from the first send to the result is subtracted
 * from ctx->budget_ms; at <= 0, lookups fail at once with DNS_TIMEOUT.
 * Counters: ctx->queries counts every valid lookup (cache hits included);
 * resolver stats "queries" counts lookups that went to the network,
 * "tcp_retries" TCP fallbacks, "timeouts" lookups that ended in DNS_TIMEOUT.
 *
 * Cache: hash table (FNV-1a, chained) plus an LRU list, under one mutex;
 * key = lower-cased name without trailing dot + type; value = the wire
 * reply, parsed again on a hit. TTL: minimum over the records used (the
 * CNAME chain and the answers), at most one day; NXDOMAIN/NODATA: min(SOA
 * TTL, SOA MINIMUM) from the authority section, at most 15 minutes, or
 * 60 s without SOA. A full cache evicts the least recently used entry.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"

#define DNS_MIN_WAIT_MS	1000
#define DNS_ROUNDS	2
#define DNS_MAX_CNAME	8
#define DNS_EDNS_SIZE	1232
#define DNS_MAX_TTL	86400
#define DNS_MAX_NEG_TTL	900
#define DNS_NOSOA_TTL	60
#define DNS_QBUF	512
#define DNS_UDP_BUF	65536
#define DNS_NAMEBUF	256
#define DNS_ESCBUF	(253 * 4 + 8)	/* a name with every octet as \DDD */
#define DNS_POLL_MAX	60000	/* longest single poll(), ms */
#define DNS_READ_MAX	64	/* datagrams read per wakeup */

struct cache_ent {
	struct cache_ent *hnext;	/* hash chain */
	struct cache_ent *prev;		/* LRU list, most recent first */
	struct cache_ent *next;
	uint64_t hash;
	uint16_t type;
	long long expires;		/* monotonic ms */
	unsigned char *wire;
	size_t wirelen;
	char name[];			/* lower case, no trailing dot */
};

struct dns_resolver {
	struct dns_server servers[DNS_MAX_SERVERS];
	size_t nservers;
	pthread_mutex_t lock;		/* guards the cache */
	struct cache_ent **buckets;
	size_t nbuckets;		/* power of two */
	size_t cache_max;
	size_t cache_n;
	struct cache_ent *lru_head;
	struct cache_ent *lru_tail;
	atomic_ulong queries;
	atomic_ulong cache_hits;
	atomic_ulong timeouts;
	atomic_ulong tcp_retries;
};

/* State of one lookup on the network. */
struct lookup {
	struct dns_ctx *c;
	struct dns_resolver *r;
	const char *name;
	uint16_t type;
	unsigned char q[DNS_QBUF];	/* query, with room for OPT */
	size_t qbase;			/* length without OPT */
	int edns;
	unsigned char *buf;		/* UDP receive buffer */
	int fd[DNS_MAX_SERVERS];
	int done[DNS_MAX_SERVERS];	/* not to be asked again */
	int asked[DNS_MAX_SERVERS];
	size_t att;			/* current attempt number */
	long long start;
	int timed_out;
	int final;			/* ans holds OK/NXDOMAIN/NODATA */
	size_t ans_srv;
	struct dns_result ans;
	uint32_t ans_ttl;
	int have_fail;			/* fail holds the first failure */
	size_t fail_srv;
	struct dns_result fail;
};

static void lookup_handle(struct lookup *, size_t, const unsigned char *,
    size_t, int);

/* --- small helpers --- */

static void
setwhy(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
lc(int ch)
{
	return (ch >= 'A' && ch <= 'Z') ? ch + ('a' - 'A') : ch;
}

static const char *
type_str(uint16_t type, char *buf, size_t buflen)
{
	switch (type) {
	case DNS_T_A:		return "A";
	case DNS_T_CNAME:	return "CNAME";
	case DNS_T_PTR:		return "PTR";
	case DNS_T_MX:		return "MX";
	case DNS_T_TXT:		return "TXT";
	case DNS_T_AAAA:	return "AAAA";
	case DNS_T_SPF:		return "SPF";
	}
	snprintf(buf, buflen, "TYPE%u", (unsigned)type);
	return buf;
}

static const char *
rcode_str(int rcode)
{
	switch (rcode) {
	case ns_r_formerr:	return "FORMERR";
	case ns_r_servfail:	return "SERVFAIL";
	case ns_r_nxdomain:	return "NXDOMAIN";
	case ns_r_notimpl:	return "NOTIMP";
	case ns_r_refused:	return "REFUSED";
	}
	return NULL;
}

const char *
dns_status_str(enum dns_status st)
{
	switch (st) {
	case DNS_OK:		return "OK";
	case DNS_NXDOMAIN:	return "NXDOMAIN";
	case DNS_NODATA:	return "NODATA";
	case DNS_SERVFAIL:	return "SERVFAIL";
	case DNS_TIMEOUT:	return "TIMEOUT";
	case DNS_ERROR:		return "ERROR";
	}
	return "UNKNOWN";
}

/* --- servers --- */

static int
parse_port(const char *s, unsigned *port)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

/* Splits spec into host and port text; v6 set when bracketed. */
static int
split_server(const char *spec, char *host, size_t hostlen,
    const char **port, int *v6, char *why, size_t whylen)
{
	const char *end, *colon;
	size_t hl;

	*port = NULL;
	*v6 = 0;
	if (spec[0] == '[') {
		if ((end = strchr(spec, ']')) == NULL) {
			setwhy(why, whylen, "missing ']' in nameserver \"%s\"",
			    spec);
			return -1;
		}
		if (end[1] == ':')
			*port = end + 2;
		else if (end[1] != '\0') {
			setwhy(why, whylen, "junk after ']' in nameserver "
			    "\"%s\"", spec);
			return -1;
		}
		spec++;
		hl = (size_t)(end - spec);
		*v6 = 1;
	} else if ((colon = strchr(spec, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		hl = (size_t)(colon - spec);
		*port = colon + 1;
	} else
		hl = strlen(spec);
	if (hl == 0 || hl >= hostlen) {
		setwhy(why, whylen, "bad nameserver address \"%s\"", spec);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	return 0;
}

int
dns_parse_server(const char *spec, struct dns_server *out,
    char *why, size_t whylen)
{
	char host[INET6_ADDRSTRLEN + 1];
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
	const char *port;
	unsigned pnum = 53;
	int v6;

	memset(out, 0, sizeof(*out));
	if (spec == NULL || *spec == '\0') {
		setwhy(why, whylen, "empty nameserver address");
		return -1;
	}
	if (split_server(spec, host, sizeof(host), &port, &v6, why,
	    whylen) < 0)
		return -1;
	if (port != NULL && parse_port(port, &pnum) < 0) {
		setwhy(why, whylen, "bad port \"%s\" in nameserver \"%s\" "
		    "(want 1-65535)", port, spec);
		return -1;
	}
	if (!v6 && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)pnum);
		out->addrlen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)pnum);
		out->addrlen = sizeof(*sin6);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	setwhy(why, whylen, "nameserver \"%s\" is not an IPv4 or IPv6 "
	    "address (\"IP\", \"IP:PORT\", \"[IPv6]:PORT\")", spec);
	return -1;
}

void
dns_server_str(const struct dns_server *s, char *buf, size_t buflen)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&s->addr;
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)&s->addr;
	char a[INET6_ADDRSTRLEN];

	if (buflen == 0)
		return;
	if (s->addr.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)) != NULL)
		snprintf(buf, buflen, "%s:%u", a, ntohs(sin->sin_port));
	else if (s->addr.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)) != NULL)
		snprintf(buf, buflen, "[%s]:%u", a, ntohs(sin6->sin6_port));
	else
		snprintf(buf, buflen, "(bad address)");
}

static int
server_ok(const struct dns_server *s)
{
	if (s->addr.ss_family == AF_INET)
		return s->addrlen >= sizeof(struct sockaddr_in);
	if (s->addr.ss_family == AF_INET6)
		return s->addrlen >= sizeof(struct sockaddr_in6);
	return 0;
}

static int
same_addr(const struct sockaddr_storage *a, const struct dns_server *s)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&s->addr;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *s6 =
	    (const struct sockaddr_in6 *)&s->addr;

	if (a->ss_family != s->addr.ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == s4->sin_port &&
		    a4->sin_addr.s_addr == s4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return a6->sin6_port == s6->sin6_port &&
		    memcmp(&a6->sin6_addr, &s6->sin6_addr, 16) == 0;
	return 0;
}

/* --- per-thread res_state --- */

static pthread_key_t res_key;
static pthread_once_t res_once = PTHREAD_ONCE_INIT;
static int res_key_ok;

static void
res_free(void *p)
{
	res_nclose((res_state)p);
	free(p);
}

static void
res_key_init(void)
{
	res_key_ok = pthread_key_create(&res_key, res_free) == 0;
}

static res_state
thread_res(void)
{
	res_state st;

	if (pthread_once(&res_once, res_key_init) != 0 || !res_key_ok)
		return NULL;
	if ((st = pthread_getspecific(res_key)) != NULL)
		return st;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if (res_ninit(st) != 0 || pthread_setspecific(res_key, st) != 0) {
		res_nclose(st);
		free(st);
		return NULL;
	}
	return st;
}

void
dns_thread_done(void)
{
	res_state st;

	if (pthread_once(&res_once, res_key_init) != 0 || !res_key_ok)
		return;
	if ((st = pthread_getspecific(res_key)) != NULL) {
		pthread_setspecific(res_key, NULL);
		res_free(st);
	}
}

/* --- resolver --- */

static int
system_servers(struct dns_resolver *r, char *why, size_t whylen)
{
	struct __res_state st;
	int i;

	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) != 0) {
		res_nclose(&st);
		setwhy(why, whylen, "cannot read the system resolver "
		    "configuration (/etc/resolv.conf)");
		return -1;
	}
	for (i = 0; i < st.nscount && r->nservers < DNS_MAX_SERVERS; i++) {
		struct dns_server *s = &r->servers[r->nservers];

		/* glibc keeps IPv6 nameservers in _u._ext.nsaddrs. */
		if (i < MAXNS && st._u._ext.nsaddrs[i] != NULL) {
			memcpy(&s->addr, st._u._ext.nsaddrs[i],
			    sizeof(struct sockaddr_in6));
			s->addrlen = sizeof(struct sockaddr_in6);
		} else if (st.nsaddr_list[i].sin_family == AF_INET) {
			memcpy(&s->addr, &st.nsaddr_list[i],
			    sizeof(struct sockaddr_in));
			s->addrlen = sizeof(struct sockaddr_in);
		} else
			continue;
		if (server_ok(s))
			r->nservers++;
	}
	res_nclose(&st);
	if (r->nservers == 0) {
		setwhy(why, whylen, "no usable nameserver in /etc/resolv.conf");
		return -1;
	}
	return 0;
}

struct dns_resolver *
dns_resolver_new(const struct dns_server *servers, size_t nservers,
    size_t cache_max, char *why, size_t whylen)
{
	struct dns_resolver *r;
	size_t i;

	if (nservers > DNS_MAX_SERVERS) {
		setwhy(why, whylen, "too many nameservers: %zu (at most %d)",
		    nservers, DNS_MAX_SERVERS);
		return NULL;
	}
	for (i = 0; i < nservers; i++)
		if (!server_ok(&servers[i])) {
			setwhy(why, whylen, "nameserver %zu has no IPv4 or "
			    "IPv6 address", i + 1);
			return NULL;
		}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		setwhy(why, whylen, "out of memory");
		return NULL;
	}
	if (nservers > 0) {
		memcpy(r->servers, servers, nservers * sizeof(*servers));
		r->nservers = nservers;
	} else if (system_servers(r, why, whylen) < 0) {
		free(r);
		return NULL;
	}
	r->cache_max = cache_max;
	if (cache_max > 0) {
		r->nbuckets = 16;
		while (r->nbuckets < cache_max && r->nbuckets < (1u << 20))
			r->nbuckets <<= 1;
		r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
		if (r->buckets == NULL) {
			free(r);
			setwhy(why, whylen, "out of memory");
			return NULL;
		}
	}
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r->buckets);
		free(r);
		setwhy(why, whylen, "cannot create a mutex");
		return NULL;
	}
	return r;
}

void
dns_resolver_free(struct dns_resolver *r)
{
	struct cache_ent *e, *next;

	if (r == NULL)
		return;
	for (e = r->lru_head; e != NULL; e = next) {
		next = e->next;
		free(e->wire);
		free(e);
	}
	free(r->buckets);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void
dns_resolver_stats(struct dns_resolver *r, struct dns_resolver_stats *out)
{
	out->queries = atomic_load(&r->queries);
	out->cache_hits = atomic_load(&r->cache_hits);
	out->timeouts = atomic_load(&r->timeouts);
	out->tcp_retries = atomic_load(&r->tcp_retries);
}

void
dns_ctx_init(struct dns_ctx *c, struct dns_resolver *r, unsigned budget_ms)
{
	memset(c, 0, sizeof(*c));
	c->res = r;
	c->budget_ms = (long)budget_ms;
}

/* --- cache --- */

static uint64_t
cache_hash(const char *name, uint16_t type)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *name; name++) {
		h ^= (unsigned char)*name;
		h *= 1099511628211ULL;
	}
	h ^= type;
	h *= 1099511628211ULL;
	return h;
}

static struct cache_ent **
cache_slot(struct dns_resolver *r, const char *name, uint16_t type,
    uint64_t h)
{
	struct cache_ent **pp = &r->buckets[h & (r->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if ((*pp)->hash == h && (*pp)->type == type &&
		    strcmp((*pp)->name, name) == 0)
			break;
	return pp;
}

static void
lru_unlink(struct dns_resolver *r, struct cache_ent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		r->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		r->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(struct dns_resolver *r, struct cache_ent *e)
{
	e->prev = NULL;
	e->next = r->lru_head;
	if (r->lru_head)
		r->lru_head->prev = e;
	r->lru_head = e;
	if (r->lru_tail == NULL)
		r->lru_tail = e;
}

/* Unlinks e (found at *pp, or looked up when pp is NULL) and frees it. */
static void
cache_drop(struct dns_resolver *r, struct cache_ent **pp, struct cache_ent *e)
{
	if (pp == NULL)
		pp = cache_slot(r, e->name, e->type, e->hash);
	*pp = e->hnext;
	lru_unlink(r, e);
	r->cache_n--;
	free(e->wire);
	free(e);
}

/* Copies a live entry's wire out; 0 on a hit. */
static int
cache_get(struct dns_resolver *r, const char *key, uint16_t type,
    unsigned char **wire, size_t *len, long long *left_ms)
{
	uint64_t h = cache_hash(key, type);
	struct cache_ent **pp, *e;
	int hit = -1;

	if (r->cache_max == 0)
		return -1;
	pthread_mutex_lock(&r->lock);
	pp = cache_slot(r, key, type, h);
	if ((e = *pp) != NULL) {
		*left_ms = e->expires - now_ms();
		if (*left_ms <= 0)
			cache_drop(r, pp, e);
		else if ((*wire = malloc(e->wirelen)) != NULL) {
			memcpy(*wire, e->wire, e->wirelen);
			*len = e->wirelen;
			lru_unlink(r, e);
			lru_push(r, e);
			hit = 0;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return hit;
}

static void
cache_put(struct dns_resolver *r, const char *key, uint16_t type,
    const unsigned char *wire, size_t len, uint32_t ttl)
{
	struct cache_ent *e, **pp;
	size_t klen = strlen(key);

	if (r->cache_max == 0 || ttl == 0)
		return;
	if ((e = calloc(1, sizeof(*e) + klen + 1)) == NULL)
		return;
	if ((e->wire = malloc(len)) == NULL) {
		free(e);
		return;
	}
	memcpy(e->wire, wire, len);
	e->wirelen = len;
	memcpy(e->name, key, klen + 1);
	e->type = type;
	e->hash = cache_hash(key, type);
	e->expires = now_ms() + (long long)ttl * 1000;
	pthread_mutex_lock(&r->lock);
	pp = cache_slot(r, key, type, e->hash);
	if (*pp != NULL)
		cache_drop(r, pp, *pp);
	while (r->cache_n >= r->cache_max && r->lru_tail != NULL)
		cache_drop(r, NULL, r->lru_tail);
	pp = &r->buckets[e->hash & (r->nbuckets - 1)];
	e->hnext = *pp;
	*pp = e;
	lru_push(r, e);
	r->cache_n++;
	pthread_mutex_unlock(&r->lock);
}

/* --- parsing --- */

static enum dns_status
bad(struct dns_result *out, const char *fmt, ...)
{
	va_list ap;
	char msg[120];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(out->why, sizeof(out->why), "malformed reply: %s", msg);
	out->status = DNS_ERROR;
	return DNS_ERROR;
}

static void
result_clear_rrs(struct dns_result *out)
{
	size_t i;

	for (i = 0; i < out->n; i++)
		free(out->rr[i].data);
	free(out->rr);
	out->rr = NULL;
	out->n = 0;
}

/* Expands the name at rdata+off that must end exactly at rdata+rdlen. */
static int
rdata_name(const ns_msg *msg, const ns_rr *rr, size_t off, char *dst,
    size_t dstlen)
{
	const unsigned char *p = ns_rr_rdata(*rr) + off;
	int n;

	if (off >= ns_rr_rdlen(*rr))
		return -1;
	n = ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), p,
	    dst, dstlen);
	if (n < 0 || (size_t)n != ns_rr_rdlen(*rr) - off)
		return -1;
	if (strcmp(dst, ".") == 0)	/* root (null MX): "" */
		dst[0] = '\0';
	return 0;
}

static int
rr_txt(const ns_rr *rr, struct dns_rr *out)
{
	const unsigned char *p = ns_rr_rdata(*rr);
	size_t rdlen = ns_rr_rdlen(*rr), i = 0, n = 0, l;

	if ((out->data = malloc(rdlen + 1)) == NULL)
		return -1;
	while (i < rdlen) {
		l = p[i++];
		if (l > rdlen - i)
			return -1;
		memcpy(out->data + n, p + i, l);
		n += l;
		i += l;
	}
	out->data[n] = '\0';
	out->len = n;
	return 0;
}

static int
rr_name(const ns_msg *msg, const ns_rr *rr, size_t off, struct dns_rr *out)
{
	char name[NS_MAXDNAME];

	if (rdata_name(msg, rr, off, name, sizeof(name)) < 0)
		return -1;
	out->len = strlen(name);
	if ((out->data = malloc(out->len + 1)) == NULL)
		return -1;
	memcpy(out->data, name, out->len + 1);
	return 0;
}

static int
rr_fixed(const ns_rr *rr, size_t want, struct dns_rr *out)
{
	if (ns_rr_rdlen(*rr) != want)
		return -1;
	if ((out->data = malloc(want + 1)) == NULL)
		return -1;
	memcpy(out->data, ns_rr_rdata(*rr), want);
	out->data[want] = '\0';
	out->len = want;
	return 0;
}

/* Decodes one record of the asked type; -1 when its rdata is bad. */
static int
rr_decode(const ns_msg *msg, const ns_rr *rr, struct dns_rr *out)
{
	uint32_t ttl = ns_rr_ttl(*rr);

	out->type = ns_rr_type(*rr);
	out->ttl = ttl > 0x7fffffffU ? 0 : ttl;	/* RFC 2181 §8 */
	switch (out->type) {
	case DNS_T_A:
		return rr_fixed(rr, 4, out);
	case DNS_T_AAAA:
		return rr_fixed(rr, 16, out);
	case DNS_T_TXT:
	case DNS_T_SPF:
		return rr_txt(rr, out);
	case DNS_T_MX:
		if (ns_rr_rdlen(*rr) < 3)
			return -1;
		out->pref = ns_get16(ns_rr_rdata(*rr));
		return rr_name(msg, rr, 2, out);
	case DNS_T_PTR:
	case DNS_T_CNAME:
		return rr_name(msg, rr, 0, out);
	}
	return rr_fixed(rr, ns_rr_rdlen(*rr), out);
}

static uint32_t
rr_ttl(const ns_rr *rr)
{
	uint32_t t = ns_rr_ttl(*rr);

	return t > 0x7fffffffU ? 0 : t;
}

/* Negative-answer TTL from the SOA in the authority section. */
static uint32_t
neg_ttl(ns_msg *msg)
{
	int i, n = ns_msg_count(*msg, ns_s_ns);
	uint32_t t, min;
	ns_rr rr;
	const unsigned char *p, *end;
	int skip;

	for (i = 0; i < n; i++) {
		if (ns_parserr(msg, ns_s_ns, i, &rr) < 0)
			return 0;
		if (ns_rr_type(rr) != ns_t_soa)
			continue;
		p = ns_rr_rdata(rr);
		end = p + ns_rr_rdlen(rr);
		/* MNAME and RNAME, then five 32-bit numbers. */
		if ((skip = dn_skipname(p, end)) < 0)
			return 0;
		p += skip;
		if ((skip = dn_skipname(p, end)) < 0)
			return 0;
		p += skip;
		if (end - p != 20)
			return 0;
		min = ns_get32(p + 16);
		t = rr_ttl(&rr);
		if (min < t)
			t = min;
		return t > DNS_MAX_NEG_TTL ? DNS_MAX_NEG_TTL : t;
	}
	return DNS_NOSOA_TTL;
}

/*
 * Follows the CNAME chain from the question name in the answer section.
 * On return cur holds the name whose records are wanted; *ttl is lowered
 * to the chain's TTLs.
 */
static int
follow_chain(ns_msg *msg, uint16_t qtype, char *cur, size_t curlen,
    uint32_t *ttl, struct dns_result *out)
{
	char seen[DNS_MAX_CNAME + 1][NS_MAXDNAME];
	char target[NS_MAXDNAME];
	int i, k, hops, found, an = ns_msg_count(*msg, ns_s_an);
	ns_rr rr;

	snprintf(seen[0], sizeof(seen[0]), "%s", cur);
	for (hops = 0;; hops++) {
		found = 0;
		target[0] = '\0';
		for (i = 0; i < an && !found; i++) {
			if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
				return bad(out, "answer record %d", i + 1);
			if (ns_rr_class(rr) != ns_c_in ||
			    strcasecmp(ns_rr_name(rr), cur) != 0)
				continue;
			if (ns_rr_type(rr) == qtype)
				found = 1;
			else if (ns_rr_type(rr) == ns_t_cname &&
			    qtype != ns_t_cname && target[0] == '\0') {
				if (rdata_name(msg, &rr, 0, target,
				    sizeof(target)) < 0 || target[0] == '\0')
					return bad(out, "bad CNAME for %s",
					    cur);
				if (rr_ttl(&rr) < *ttl)
					*ttl = rr_ttl(&rr);
			}
		}
		if (found || target[0] == '\0')
			return 0;
		for (k = 0; k <= hops; k++)
			if (strcasecmp(seen[k], target) == 0) {
				out->status = DNS_ERROR;
				snprintf(out->why, sizeof(out->why),
				    "CNAME loop at %s", target);
				return DNS_ERROR;
			}
		if (hops >= DNS_MAX_CNAME) {
			out->status = DNS_ERROR;
			snprintf(out->why, sizeof(out->why),
			    "CNAME chain longer than %d", DNS_MAX_CNAME);
			return DNS_ERROR;
		}
		snprintf(seen[hops + 1], sizeof(seen[0]), "%s", target);
		snprintf(cur, curlen, "%s", target);
	}
}

/* Collects the records of qtype owned by name into out->rr. */
static int
collect(ns_msg *msg, uint16_t qtype, const char *name, uint32_t *ttl,
    struct dns_result *out)
{
	int i, an = ns_msg_count(*msg, ns_s_an);
	size_t n = 0;
	ns_rr rr;

	for (i = 0; i < an; i++) {
		if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
			return bad(out, "answer record %d", i + 1);
		if (ns_rr_type(rr) == qtype && ns_rr_class(rr) == ns_c_in &&
		    strcasecmp(ns_rr_name(rr), name) == 0)
			n++;
	}
	if (n == 0)
		return 0;
	if ((out->rr = calloc(n, sizeof(*out->rr))) == NULL) {
		snprintf(out->why, sizeof(out->why), "out of memory");
		out->status = DNS_ERROR;
		return DNS_ERROR;
	}
	for (i = 0; i < an && out->n < n; i++) {
		if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
			return bad(out, "answer record %d", i + 1);
		if (ns_rr_type(rr) != qtype || ns_rr_class(rr) != ns_c_in ||
		    strcasecmp(ns_rr_name(rr), name) != 0)
			continue;
		if (rr_decode(msg, &rr, &out->rr[out->n++]) < 0)
			return bad(out, "bad rdata in %s record %zu",
			    ns_rr_name(rr), out->n);
		if (out->rr[out->n - 1].ttl < *ttl)
			*ttl = out->rr[out->n - 1].ttl;
	}
	return 0;
}

/*
 * Parses wire (which out takes over) for records of qtype. *cttl gets
 * the cache lifetime (0: do not cache).
 */
static enum dns_status
parse_wire(unsigned char *wire, size_t len, uint16_t qtype,
    struct dns_result *out, uint32_t *cttl)
{
	char cur[NS_MAXDNAME];
	uint32_t ttl = DNS_MAX_TTL;
	ns_msg msg;
	ns_rr rr;
	int rcode;

	memset(out, 0, sizeof(*out));
	out->wire = wire;
	out->wirelen = len;
	*cttl = 0;
	if (len < NS_HFIXEDSZ)
		return bad(out, "%zu bytes, shorter than a DNS header", len);
	if (len > 65535)
		return bad(out, "longer than 65535 bytes");
	if (ns_initparse(wire, (int)len, &msg) < 0)
		return bad(out, "records or counts run past the end");
	if (!ns_msg_getflag(msg, ns_f_qr))
		return bad(out, "QR bit not set");
	rcode = ns_msg_getflag(msg, ns_f_rcode);
	if (rcode != ns_r_noerror && rcode != ns_r_nxdomain) {
		out->status = DNS_SERVFAIL;
		if (rcode_str(rcode) != NULL)
			snprintf(out->why, sizeof(out->why), "%s",
			    rcode_str(rcode));
		else
			snprintf(out->why, sizeof(out->why), "rcode %d", rcode);
		return out->status;
	}
	if (ns_msg_count(msg, ns_s_qd) != 1)
		return bad(out, "%d questions", ns_msg_count(msg, ns_s_qd));
	if (ns_parserr(&msg, ns_s_qd, 0, &rr) < 0)
		return bad(out, "question");
	snprintf(cur, sizeof(cur), "%s", ns_rr_name(rr));
	if (follow_chain(&msg, qtype, cur, sizeof(cur), &ttl, out) != 0)
		return out->status;
	if (collect(&msg, qtype, cur, &ttl, out) != 0) {
		result_clear_rrs(out);
		return out->status;
	}
	if (rcode == ns_r_nxdomain || out->n == 0) {
		result_clear_rrs(out);
		*cttl = neg_ttl(&msg);
		out->status = rcode == ns_r_nxdomain ? DNS_NXDOMAIN :
		    DNS_NODATA;
		snprintf(out->why, sizeof(out->why), "%s",
		    rcode == ns_r_nxdomain ? "NXDOMAIN" :
		    "NODATA (no record of this type)");
		return out->status;
	}
	*cttl = ttl;
	out->status = DNS_OK;
	return DNS_OK;
}

enum dns_status
dns_parse_reply(const unsigned char *wire, size_t len, uint16_t qtype,
    struct dns_result *out)
{
	unsigned char *copy;
	uint32_t ttl;

	if ((copy = malloc(len ? len : 1)) == NULL) {
		memset(out, 0, sizeof(*out));
		out->status = DNS_ERROR;
		snprintf(out->why, sizeof(out->why), "out of memory");
		return DNS_ERROR;
	}
	if (len)
		memcpy(copy, wire, len);
	return parse_wire(copy, len, qtype, out, &ttl);
}

void
dns_result_free(struct dns_result *r)
{
	if (r == NULL)
		return;
	result_clear_rrs(r);
	free(r->wire);
	r->wire = NULL;
	r->wirelen = 0;
}

/* --- names --- */

/*
 * Checks name and copies it without the trailing dot into buf (at least
 * DNS_NAMEBUF bytes), lower-cased if lower is set. Backslashes and
 * control characters are refused: res_nmkquery would read them as
 * escapes and the name would not be the one asked for.
 */
static int
check_name(const char *name, char *buf, int lower, char *why, size_t whylen)
{
	size_t len, i, lab = 0;
	unsigned char ch;

	len = name ? strnlen(name, 1024) : 0;
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0) {
		setwhy(why, whylen, "empty name");
		return -1;
	}
	if (len > 253) {
		setwhy(why, whylen, "name longer than 253 octets");
		return -1;
	}
	for (i = 0; i < len; i++) {
		ch = (unsigned char)name[i];
		buf[i] = (char)(lower ? lc(ch) : ch);
		if (ch == '.') {
			if (lab == 0)
				goto empty;
			lab = 0;
		} else if (ch <= ' ' || ch == 0x7f || ch == '\\') {
			setwhy(why, whylen, "bad character 0x%02x in name",
			    ch);
			return -1;
		} else if (++lab > 63) {
			setwhy(why, whylen, "label longer than 63 octets");
			return -1;
		}
	}
	buf[len] = '\0';
	if (lab == 0)
		goto empty;
	return 0;
empty:
	setwhy(why, whylen, "empty label in name");
	return -1;
}

static int
reverse4(const unsigned char *a, char *buf, size_t buflen)
{
	int n = snprintf(buf, buflen, "%u.%u.%u.%u.in-addr.arpa",
	    a[3], a[2], a[1], a[0]);

	return (n < 0 || (size_t)n >= buflen) ? -1 : 0;
}

int
dns_reverse_name(const char *ip, char *buf, size_t buflen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char a[16];
	size_t o = 0;
	int i;

	if (ip == NULL || buf == NULL || buflen == 0)
		return -1;
	if (inet_pton(AF_INET, ip, a) == 1)
		return reverse4(a, buf, buflen);
	if (inet_pton(AF_INET6, ip, a) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a))
		return reverse4(a + 12, buf, buflen);
	if (buflen < 64 + 8 + 1)	/* 32 nibbles + dots + "ip6.arpa" */
		return -1;
	for (i = 15; i >= 0; i--) {
		buf[o++] = hex[a[i] & 0xf];
		buf[o++] = '.';
		buf[o++] = hex[a[i] >> 4];
		buf[o++] = '.';
	}
	memcpy(buf + o, "ip6.arpa", 9);
	return 0;
}

/* --- network --- */

static long long
budget_left(const struct lookup *l)
{
	return (long long)l->c->budget_ms - (now_ms() - l->start);
}

static size_t
attempts_left(const struct lookup *l)
{
	size_t a, n = 0, ns = l->r->nservers;

	for (a = l->att; a < DNS_ROUNDS * ns; a++)
		if (!l->done[a % ns])
			n++;
	return n ? n : 1;
}

static long long
window(const struct lookup *l)
{
	long long rem = budget_left(l), w;

	w = rem / (long long)attempts_left(l);
	if (w < DNS_MIN_WAIT_MS)
		w = DNS_MIN_WAIT_MS;
	return w < rem ? w : rem;
}

/* Records a failure of server s (the first one is kept). */
static void
fail_msg(struct lookup *l, size_t s, enum dns_status st, const char *fmt,
    ...)
{
	va_list ap;

	l->done[s] = 1;
	if (l->have_fail)
		return;
	memset(&l->fail, 0, sizeof(l->fail));
	l->fail.status = st;
	va_start(ap, fmt);
	vsnprintf(l->fail.why, sizeof(l->fail.why), fmt, ap);
	va_end(ap);
	l->have_fail = 1;
	l->fail_srv = s;
}

/* Does p/n answer our query? (ID, QR, opcode, question) */
static int
reply_matches(const struct lookup *l, const unsigned char *p, size_t n)
{
	size_t qlen = l->qbase - NS_HFIXEDSZ, i;

	if (n < NS_HFIXEDSZ || p[0] != l->q[0] || p[1] != l->q[1])
		return 0;
	if (!(p[2] & 0x80) || (p[2] & 0x78) != 0)
		return 0;
	/* Some servers answer FORMERR to EDNS without the question. */
	if ((p[3] & 0x0f) == ns_r_formerr && p[4] == 0 && p[5] == 0)
		return 1;
	if (p[4] != 0 || p[5] != 1 || n < NS_HFIXEDSZ + qlen)
		return 0;
	for (i = NS_HFIXEDSZ; i < l->qbase - 4; i++)
		if (lc(p[i]) != lc(l->q[i]))
			return 0;
	return memcmp(p + l->qbase - 4, l->q + l->qbase - 4, 4) == 0;
}

static size_t
query_len(const struct lookup *l)
{
	return l->edns ? l->qbase + 11 : l->qbase;
}

static int
build_query(struct lookup *l, char *why, size_t whylen)
{
	res_state st = thread_res();
	unsigned char *o;
	uint16_t id;
	int n;

	if (st == NULL) {
		setwhy(why, whylen, "cannot set up the resolver state");
		return -1;
	}
	n = res_nmkquery(st, ns_o_query, l->name, ns_c_in, l->type, NULL, 0,
	    NULL, l->q, DNS_QBUF - 11);
	if (n < NS_HFIXEDSZ + 5) {
		setwhy(why, whylen, "cannot build a query for %s", l->name);
		return -1;
	}
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) == sizeof(id))
		memcpy(l->q, &id, 2);
	l->qbase = (size_t)n;
	o = l->q + n;			/* OPT: root, type 41, payload */
	memcpy(o, "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);
	l->edns = 1;
	l->q[10] = 0;
	l->q[11] = 1;
	return 0;
}

static void
set_edns(struct lookup *l, int on)
{
	l->edns = on;
	l->q[11] = on ? 1 : 0;
}

static int
udp_send(struct lookup *l, size_t s)
{
	const struct dns_server *sv = &l->r->servers[s];
	int fd = l->fd[s];

	if (fd < 0) {
		fd = socket(sv->addr.ss_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fail_msg(l, s, DNS_ERROR, "cannot create a socket: %s",
			    strerror(errno));
			return -1;
		}
		if (connect(fd, (const struct sockaddr *)&sv->addr,
		    sv->addrlen) < 0) {
			fail_msg(l, s, DNS_ERROR, "cannot reach: %s",
			    strerror(errno));
			close(fd);
			return -1;
		}
		l->fd[s] = fd;
	}
	l->asked[s] = 1;
	if (send(fd, l->q, query_len(l), 0) < 0) {
		fail_msg(l, s, DNS_SERVFAIL, "unreachable: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Waits for fd to become ready for ev until deadline: 1 ready, 0 timeout. */
static int
wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd p;
	long long left;
	int n;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return 0;
		p.fd = fd;
		p.events = ev;
		p.revents = 0;
		n = poll(&p, 1, (int)(left < DNS_POLL_MAX ? left :
		    DNS_POLL_MAX));
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Reads exactly n bytes: 0 done, -1 timeout, -2 closed or error. */
static int
read_full(int fd, unsigned char *p, size_t n, long long deadline)
{
	ssize_t k;
	int w;

	while (n > 0) {
		k = read(fd, p, n);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k == 0 || (errno != EAGAIN && errno != EINTR))
			return -2;
		if ((w = wait_fd(fd, POLLIN, deadline)) <= 0)
			return w == 0 ? -1 : -2;
	}
	return 0;
}

static int
write_full(int fd, const unsigned char *p, size_t n, long long deadline)
{
	ssize_t k;
	int w;

	while (n > 0) {
		k = send(fd, p, n, MSG_NOSIGNAL);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k == 0 || (errno != EAGAIN && errno != EINTR))
			return -2;
		if ((w = wait_fd(fd, POLLOUT, deadline)) <= 0)
			return w == 0 ? -1 : -2;
	}
	return 0;
}

static int
tcp_connect(const struct dns_server *sv, long long deadline, int *fdp)
{
	int fd, err = 0, w;
	socklen_t elen = sizeof(err);

	fd = socket(sv->addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -2;
	*fdp = fd;
	if (connect(fd, (const struct sockaddr *)&sv->addr, sv->addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -2;
	if ((w = wait_fd(fd, POLLOUT, deadline)) <= 0)
		return w == 0 ? -1 : -2;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
		errno = err;
		return -2;
	}
	return 0;
}

/*
 * One query over TCP to server s. Returns the reply (malloc'd) or NULL
 * with *timeout set when it was a timeout, else a failure is recorded.
 */
static unsigned char *
tcp_query(struct lookup *l, size_t s, size_t *replen)
{
	long long deadline = now_ms() + window(l);
	unsigned char hdr[2], *rep = NULL, *out;
	size_t qlen = query_len(l), n = 0;
	int fd = -1, rc;
	const char *what = "connecting";

	atomic_fetch_add(&l->r->tcp_retries, 1);
	rc = tcp_connect(&l->r->servers[s], deadline, &fd);
	if (rc == 0 && (out = malloc(qlen + 2)) != NULL) {
		what = "sending";
		out[0] = (unsigned char)(qlen >> 8);
		out[1] = (unsigned char)qlen;
		memcpy(out + 2, l->q, qlen);
		rc = write_full(fd, out, qlen + 2, deadline);
		free(out);
	} else if (rc == 0)
		rc = -2;
	if (rc == 0) {
		what = "reading the length";
		rc = read_full(fd, hdr, 2, deadline);
	}
	if (rc == 0) {
		what = "reading the reply";
		n = ((size_t)hdr[0] << 8) | hdr[1];
		if (n < NS_HFIXEDSZ || (rep = malloc(n)) == NULL)
			rc = -2;
		else
			rc = read_full(fd, rep, n, deadline);
	}
	if (fd >= 0)
		close(fd);
	if (rc == 0 && reply_matches(l, rep, n)) {
		*replen = n;
		return rep;
	}
	free(rep);
	if (rc == -1) {
		l->timed_out = 1;
		l->done[s] = 1;
	} else if (rc == 0)
		fail_msg(l, s, DNS_ERROR, "TCP reply does not match the query");
	else
		fail_msg(l, s, DNS_ERROR, "TCP failed while %s", what);
	return NULL;
}

static void
lookup_tcp(struct lookup *l, size_t s)
{
	unsigned char *rep;
	size_t n;

	if ((rep = tcp_query(l, s, &n)) != NULL) {
		lookup_handle(l, s, rep, n, 1);
		free(rep);
	}
}

/* A matching reply from server s. */
static void
lookup_handle(struct lookup *l, size_t s, const unsigned char *p, size_t n,
    int tcp)
{
	struct dns_result res;
	unsigned char *copy;
	uint32_t ttl;
	int rcode = p[3] & 0x0f;

	if (rcode == ns_r_formerr && l->edns) {
		set_edns(l, 0);
		if (tcp)
			lookup_tcp(l, s);
		else
			udp_send(l, s);
		return;
	}
	if ((p[2] & 0x02) && !tcp) {
		lookup_tcp(l, s);
		return;
	}
	if ((copy = malloc(n)) == NULL) {
		fail_msg(l, s, DNS_ERROR, "out of memory");
		return;
	}
	memcpy(copy, p, n);
	parse_wire(copy, n, l->type, &res, &ttl);
	if (res.status == DNS_OK || res.status == DNS_NXDOMAIN ||
	    res.status == DNS_NODATA) {
		l->ans = res;
		l->ans_ttl = ttl;
		l->ans_srv = s;
		l->final = 1;
		return;
	}
	l->done[s] = 1;
	if (l->have_fail) {
		dns_result_free(&res);
		return;
	}
	l->fail = res;
	l->fail_srv = s;
	l->have_fail = 1;
}

/* Reads all pending datagrams of server s. */
static void
udp_read(struct lookup *l, size_t s)
{
	struct sockaddr_storage from;
	socklen_t flen;
	ssize_t n;
	int i;

	for (i = 0; i < DNS_READ_MAX && !l->final && !l->done[s]; i++) {
		flen = sizeof(from);
		n = recvfrom(l->fd[s], l->buf, DNS_UDP_BUF, 0,
		    (struct sockaddr *)&from, &flen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			fail_msg(l, s, DNS_SERVFAIL, "unreachable: %s",
			    strerror(errno));
			return;
		}
		if (!same_addr(&from, &l->r->servers[s]) ||
		    !reply_matches(l, l->buf, (size_t)n))
			continue;
		lookup_handle(l, s, l->buf, (size_t)n, 0);
	}
}

/* Waits for replies from any server until deadline or server cur is out. */
static void
lookup_wait(struct lookup *l, size_t cur, long long deadline)
{
	struct pollfd pfd[DNS_MAX_SERVERS];
	size_t idx[DNS_MAX_SERVERS], k, s;
	long long left;
	int n;

	while (!l->final && !l->done[cur]) {
		if ((left = deadline - now_ms()) <= 0) {
			l->timed_out = 1;
			return;
		}
		for (k = s = 0; s < l->r->nservers; s++)
			if (l->fd[s] >= 0 && !l->done[s]) {
				pfd[k].fd = l->fd[s];
				pfd[k].events = POLLIN;
				pfd[k].revents = 0;
				idx[k++] = s;
			}
		n = poll(pfd, k, (int)(left < DNS_POLL_MAX ? left :
		    DNS_POLL_MAX));
		if (n < 0 && errno != EINTR) {
			fail_msg(l, cur, DNS_ERROR, "poll: %s",
			    strerror(errno));
			return;
		}
		for (s = 0; n > 0 && s < k && !l->final; s++)
			if (pfd[s].revents)
				udp_read(l, idx[s]);
	}
}

static void
lookup_run(struct lookup *l)
{
	size_t ns = l->r->nservers, s;

	for (l->att = 0; l->att < DNS_ROUNDS * ns && !l->final; l->att++) {
		s = l->att % ns;
		if (l->done[s])
			continue;
		if (budget_left(l) <= 0)
			break;
		if (udp_send(l, s) < 0)
			continue;
		lookup_wait(l, s, now_ms() + window(l));
	}
}

/* Appends the server list asked to buf. */
static void
asked_str(const struct lookup *l, char *buf, size_t buflen)
{
	char one[INET6_ADDRSTRLEN + 10];
	size_t s, o = 0;
	int n;

	buf[0] = '\0';
	for (s = 0; s < l->r->nservers; s++) {
		if (!l->asked[s])
			continue;
		dns_server_str(&l->r->servers[s], one, sizeof(one));
		n = snprintf(buf + o, buflen - o, "%s%s", o ? ", " : "", one);
		if (n < 0 || (size_t)n >= buflen - o)
			return;
		o += (size_t)n;
	}
}

/* Rewrites why as "<why> from SERVER for NAME/TYPE". */
static void
explain(struct dns_result *out, const struct dns_server *sv,
    const char *name, uint16_t type)
{
	char old[sizeof(out->why)], srv[INET6_ADDRSTRLEN + 10], tb[16];

	memcpy(old, out->why, sizeof(old));
	if (sv != NULL)
		dns_server_str(sv, srv, sizeof(srv));
	snprintf(out->why, sizeof(out->why), "%s %s%s for %s/%s", old,
	    sv ? "from " : "(cached)", sv ? srv : "", name,
	    type_str(type, tb, sizeof(tb)));
}

static void
count_timeout(struct dns_ctx *c)
{
	c->timeouts++;
	atomic_fetch_add(&c->res->timeouts, 1);
}

static void
network_lookup(struct lookup *l, const char *key, struct dns_result *out)
{
	char srv[200], tb[16];
	size_t s;
	long long waited;

	atomic_fetch_add(&l->r->queries, 1);
	l->start = now_ms();
	lookup_run(l);
	waited = now_ms() - l->start;
	l->c->budget_ms -= (long)waited;
	for (s = 0; s < l->r->nservers; s++)
		if (l->fd[s] >= 0)
			close(l->fd[s]);
	if (l->final) {
		*out = l->ans;
		if (l->have_fail)
			dns_result_free(&l->fail);
		cache_put(l->r, key, l->type, out->wire, out->wirelen,
		    l->ans_ttl);
		if (out->status != DNS_OK)
			explain(out, &l->r->servers[l->ans_srv], l->name,
			    l->type);
	} else if (l->have_fail) {
		*out = l->fail;
		explain(out, &l->r->servers[l->fail_srv], l->name, l->type);
	} else {
		memset(out, 0, sizeof(*out));
		out->status = DNS_TIMEOUT;
		asked_str(l, srv, sizeof(srv));
		snprintf(out->why, sizeof(out->why), "timed out after %lld ms "
		    "asking %s for %s/%s", waited, srv[0] ? srv : "no server",
		    l->name, type_str(l->type, tb, sizeof(tb)));
	}
}

static enum dns_status
from_cache(struct dns_ctx *c, const char *name, uint16_t type,
    unsigned char *wire, size_t len, long long left_ms,
    struct dns_result *out)
{
	uint32_t ttl, left = (uint32_t)((left_ms + 999) / 1000);
	size_t i;

	parse_wire(wire, len, type, out, &ttl);
	out->from_cache = 1;
	c->cache_hits++;
	atomic_fetch_add(&c->res->cache_hits, 1);
	for (i = 0; i < out->n; i++)
		if (out->rr[i].ttl > left)
			out->rr[i].ttl = left;
	if (out->status != DNS_OK)
		explain(out, NULL, name, type);
	return out->status;
}

/*
 * The lookup of a checked name: qname as res_nmkquery reads it, key the
 * cache key (lower case). Both outlive the call's use of them.
 */
static enum dns_status
query_checked(struct dns_ctx *c, const char *qname, const char *key,
    uint16_t type, struct dns_result *out)
{
	struct lookup *l;
	unsigned char *wire;
	size_t len, s;
	long long left_ms;

	if (c == NULL || c->res == NULL) {
		snprintf(out->why, sizeof(out->why), "no resolver");
		return DNS_ERROR;
	}
	c->queries++;
	if (cache_get(c->res, key, type, &wire, &len, &left_ms) == 0)
		return from_cache(c, qname, type, wire, len, left_ms, out);
	if (c->budget_ms <= 0) {
		out->status = DNS_TIMEOUT;
		snprintf(out->why, sizeof(out->why), "DNS time budget used up");
		count_timeout(c);
		return DNS_TIMEOUT;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->buf = malloc(DNS_UDP_BUF)) == NULL) {
		free(l);
		snprintf(out->why, sizeof(out->why), "out of memory");
		return DNS_ERROR;
	}
	l->c = c;
	l->r = c->res;
	l->name = qname;
	l->type = type;
	for (s = 0; s < DNS_MAX_SERVERS; s++)
		l->fd[s] = -1;
	if (build_query(l, out->why, sizeof(out->why)) == 0)
		network_lookup(l, key, out);
	if (out->status == DNS_TIMEOUT)
		count_timeout(c);
	free(l->buf);
	free(l);
	return out->status;
}

enum dns_status
dns_query(struct dns_ctx *c, const char *name, uint16_t type,
    struct dns_result *out)
{
	char qname[DNS_NAMEBUF], key[DNS_NAMEBUF];

	memset(out, 0, sizeof(*out));
	out->status = DNS_ERROR;
	if (check_name(name, qname, 0, out->why, sizeof(out->why)) < 0)
		return DNS_ERROR;
	check_name(name, key, 1, NULL, 0);
	return query_checked(c, qname, key, type, out);
}

/*
 * Writes name (octets, '.' between labels) in the presentation form
 * res_nmkquery reads: '\\' and octets outside 0x21..0x7e as \DDD,
 * lower-cased if lower is set. 0, or -1 with why (a bad name).
 */
static int
escape_name(const char *name, char *buf, size_t buflen, int lower,
    char *why, size_t whylen)
{
	size_t len, i, lab = 0, o = 0;
	unsigned char ch;

	len = name ? strnlen(name, 1024) : 0;
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253) {
		setwhy(why, whylen, len ? "name longer than 253 octets" : "empty name");
		return -1;
	}
	for (i = 0; i < len; i++) {
		ch = (unsigned char)name[i];
		if (ch == '.') {
			if (lab == 0)
				break;
			lab = 0;
		} else if (++lab > 63) {
			setwhy(why, whylen, "label longer than 63 octets");
			return -1;
		}
		if (o + 5 > buflen)
			break;
		if (ch == '.' || (ch > 0x20 && ch < 0x7f && ch != '\\'))
			buf[o++] = (char)(lower ? lc(ch) : ch);
		else if (ch == '\\')
			o += (size_t)snprintf(buf + o, buflen - o, "\\\\");
		else
			o += (size_t)snprintf(buf + o, buflen - o, "\\%03u", ch);
	}
	if (i < len || lab == 0) {
		setwhy(why, whylen, "empty label in name");
		return -1;
	}
	buf[o] = '\0';
	return 0;
}

enum dns_status
dns_query_octets(struct dns_ctx *c, const char *name, uint16_t type,
    struct dns_result *out)
{
	char qname[DNS_ESCBUF], key[DNS_ESCBUF];

	memset(out, 0, sizeof(*out));
	out->status = DNS_ERROR;
	if (escape_name(name, qname, sizeof(qname), 0, out->why, sizeof(out->why)) < 0)
		return DNS_ERROR;
	escape_name(name, key, sizeof(key), 1, NULL, 0);
	return query_checked(c, qname, key, type, out);
}
