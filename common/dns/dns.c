/*
 * dns: the one resolver (see dns.h).
 *
 * Queries are built with res_nmkquery() on a per-thread res_state (a
 * pthread key; freed by the key destructor at thread exit, or by
 * dns_thread_done()). The query ID is then replaced by one from
 * getrandom(), and an EDNS0 OPT record (payload 1232) is appended.
 * Replies are parsed with ns_initparse()/ns_parserr()/ns_name_uncompress().
 *
 * Network work (sending, retries, TCP, failover) is done by one thread
 * per resolver: see dns_io.c. This file holds what askers see: a lookup
 * looks in the asker's session (dns_session: the early questions and
 * earlier answers of the same message), then the cache, then joins the
 * same question if it is in flight for anyone (single flight), and only
 * then starts a new flight; then it waits on the flight, at most as long
 * as its dns_ctx budget allows.
 *
 * Budget: the wall time an asker waits is subtracted from ctx->budget_ms;
 * at <= 0, lookups that would have to wait fail at once with DNS_TIMEOUT
 * (an answer that is already there is still given). A new flight gets the
 * asker's remaining budget as its network time; a later asker with more
 * time left extends it. A waiter whose flight should end by itself at its
 * own deadline waits a little longer (DNS_GRACE_MS) for the flight's own
 * result, which explains the timeout better.
 * Counters: ctx->queries counts every valid lookup (cache hits included);
 * resolver stats "queries" counts flights (lookups that went to the
 * network), "tcp_retries" TCP fallbacks, "timeouts" lookups that ended in
 * DNS_TIMEOUT.
 *
 * Cache: hash table (FNV-1a, chained) plus an LRU list, under one mutex;
 * key = lower-cased name without trailing dot + type; value = the answer
 * as parsed when it came (status, records and the wire reply in one
 * block), copied out whole on a hit: a hit parses nothing again. TTL:
 * minimum over the records used (the CNAME chain and the answers), at
 * most one day; NXDOMAIN/NODATA: min(SOA
 * TTL, SOA MINIMUM) from the authority section, at most 15 minutes, or
 * 60 s without SOA. A full cache evicts the least recently used entry.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/eventfd.h>
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

#include "dns_impl.h"
#include "dnsname.h"
#include "sbuf.h"

#define DNS_MAX_CNAME	8
#define DNS_EDNS_SIZE	1232
#define DNS_MAX_TTL	86400
#define DNS_MAX_NEG_TTL	900
#define DNS_NOSOA_TTL	60
#define DNS_NAMEBUF	256
#define DNS_GRACE_MS	250	/* extra wait for a flight's own timeout */

struct cache_ent {
	struct hlink link;		/* in r->cache */
	uint16_t type;
	long long expires;		/* monotonic ms */
	struct dns_result res;		/* the parsed answer; res.block holds it all */
	size_t blocklen;
	char name[];			/* lower case, no trailing dot */
};

/* --- small helpers --- */

static void
setwhy(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	str_vformat(why, whylen, fmt, ap);
	va_end(ap);
}

long long
dns_now_ms(void)
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

/* What the cache and the flights are found by. */
struct dns_key {
	const char *key;
	uint16_t type;
};

static int
cache_same(const struct hlink *l, const void *k)
{
	const struct cache_ent *e = HTABLE_RECORD(l, struct cache_ent, link);
	const struct dns_key *dk = k;

	return e->type == dk->type && strcmp(e->name, dk->key) == 0;
}

static int
flight_same(const struct hlink *l, const void *k)
{
	const struct flight *f = HTABLE_RECORD(l, struct flight, link);
	const struct dns_key *dk = k;

	return f->type == dk->type && strcmp(f->key, dk->key) == 0;
}

const char *
dns_type_str(uint16_t type, char *buf, size_t buflen)
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
	str_format(buf, buflen, "TYPE%u", (unsigned)type);
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
	case DNS_BADNAME:	return "BADNAME";
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
		str_format(buf, buflen, "%s:%u", a, ntohs(sin->sin_port));
	else if (s->addr.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)) != NULL)
		str_format(buf, buflen, "[%s]:%u", a, ntohs(sin6->sin6_port));
	else
		str_format(buf, buflen, "(bad address)");
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

int
dns_same_addr(const struct sockaddr_storage *a, const struct dns_server *s)
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

/* Queries are built on the network thread (dns_io.c): askers keep no state. */
void
dns_thread_done(void)
{
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
	r->wakefd = -1;
	if (htable_init(&r->cache, cache_max > 0 ? cache_max : 1, cache_same) < 0 ||
	    htable_init(&r->flights, 256, flight_same) < 0 ||
	    (r->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    pthread_mutex_init(&r->cache_lock, NULL) != 0) {
		if (r->wakefd >= 0)
			close(r->wakefd);
		htable_free(&r->flights);
		htable_free(&r->cache);
		free(r);
		setwhy(why, whylen, "cannot set up the resolver: %s", strerror(errno));
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&r->condattr);
	pthread_condattr_setclock(&r->condattr, CLOCK_MONOTONIC);
	return r;
}

void
dns_resolver_free(struct dns_resolver *r)
{
	struct hlink *l;

	if (r == NULL)
		return;
	dns_io_stop(r);
	while ((l = htable_oldest(&r->cache)) != NULL) {
		struct cache_ent *e = HTABLE_RECORD(l, struct cache_ent, link);

		htable_del(&r->cache, l);
		free(e->res.block);
		free(e);
	}
	htable_free(&r->cache);
	htable_free(&r->flights);
	close(r->wakefd);
	pthread_condattr_destroy(&r->condattr);
	pthread_mutex_destroy(&r->cache_lock);
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

/* The wait a share allows: the share, never past the budget, never negative. */
static long
share_cap(long share_ms, long budget_ms)
{
	long cap = share_ms < budget_ms ? share_ms : budget_ms;

	return cap > 0 ? cap : 0;
}

long
dns_share_enter(struct dns_ctx *c, long share_ms)
{
	long saved = c->budget_ms;

	c->budget_ms = share_cap(share_ms, saved);
	return saved;
}

void
dns_share_leave(struct dns_ctx *c, long saved, long *share_ms)
{
	long spent = share_cap(*share_ms, saved) - c->budget_ms;

	c->budget_ms = saved - spent;
	*share_ms -= spent;
}

/* --- cache --- */

uint64_t
dns_key_hash(const char *key, uint16_t type)
{
	return htable_hash(htable_hash_str(HTABLE_HASH_INIT, key), &type, sizeof(type));
}

/* Takes e out of the cache and frees it (cache lock held). */
static void
cache_drop(struct dns_resolver *r, struct cache_ent *e)
{
	htable_del(&r->cache, &e->link);
	free(e->res.block);
	free(e);
}

/*
 * Copies res (records and wire) into one new block that out points into,
 * *len its size; 0, or -1 out of memory. Each record's data stays
 * NUL-terminated beyond its length.
 */
static int
result_pack(const struct dns_result *res, struct dns_result *out, size_t *len)
{
	size_t size = res->n * sizeof(struct dns_rr) + res->wirelen, off, i;
	unsigned char *b;

	for (i = 0; i < res->n; i++)
		size += res->rr[i].len + 1;
	if ((b = malloc(size ? size : 1)) == NULL)
		return -1;
	*out = *res;
	out->block = b;
	out->rr = res->n ? (struct dns_rr *)(void *)b : NULL;
	off = res->n * sizeof(struct dns_rr);
	for (i = 0; i < res->n; i++) {
		out->rr[i] = res->rr[i];
		out->rr[i].data = b + off;
		memcpy(b + off, res->rr[i].data, res->rr[i].len);
		b[off + res->rr[i].len] = '\0';
		off += res->rr[i].len + 1;
	}
	out->wire = res->wirelen ? b + off : NULL;
	if (res->wirelen)
		memcpy(b + off, res->wire, res->wirelen);
	*len = size;
	return 0;
}

/* A copy of e's answer in one block of its own (cache lock held); 0, or -1. */
static int
cache_copy(const struct cache_ent *e, struct dns_result *out)
{
	const struct dns_result *src = &e->res;
	unsigned char *b = malloc(e->blocklen ? e->blocklen : 1);

	if (b == NULL)
		return -1;
	memcpy(b, src->block, e->blocklen);
	*out = *src;
	out->block = b;
	out->rr = src->n ? (struct dns_rr *)(void *)b : NULL;
	for (size_t i = 0; i < src->n; i++)
		out->rr[i].data = b + (src->rr[i].data - src->block);
	out->wire = src->wire ? b + (src->wire - src->block) : NULL;
	return 0;
}

/*
 * A live entry's answer copied into out (from_cache not yet set); 0 on a
 * hit. out is untouched on a miss. With out NULL: only whether it is there.
 */
static int
cache_get(struct dns_resolver *r, const char *key, uint16_t type,
    struct dns_result *out, long long *left_ms)
{
	struct dns_key k = { key, type };
	struct hlink *l;
	int hit = -1;

	if (r->cache_max == 0)
		return -1;
	pthread_mutex_lock(&r->cache_lock);
	if ((l = htable_find(&r->cache, dns_key_hash(key, type), &k)) != NULL) {
		struct cache_ent *e = HTABLE_RECORD(l, struct cache_ent, link);

		*left_ms = e->expires - dns_now_ms();
		if (*left_ms <= 0)
			cache_drop(r, e);
		else if (out == NULL || cache_copy(e, out) == 0) {
			htable_touch(&r->cache, l);
			hit = 0;
		}
	}
	pthread_mutex_unlock(&r->cache_lock);
	return hit;
}

void
dns_cache_put(struct dns_resolver *r, const char *key, uint16_t type,
    const struct dns_result *res, uint32_t ttl)
{
	struct dns_key k = { key, type };
	uint64_t h = dns_key_hash(key, type);
	struct cache_ent *e;
	struct hlink *l;
	size_t klen = strlen(key);

	if (r->cache_max == 0 || ttl == 0)
		return;
	if ((e = calloc(1, sizeof(*e) + klen + 1)) == NULL)
		return;
	if (result_pack(res, &e->res, &e->blocklen) < 0) {
		free(e);
		return;
	}
	e->res.from_cache = 0;
	memcpy(e->name, key, klen + 1);
	e->type = type;
	e->expires = dns_now_ms() + (long long)ttl * 1000;
	pthread_mutex_lock(&r->cache_lock);
	if ((l = htable_find(&r->cache, h, &k)) != NULL)
		cache_drop(r, HTABLE_RECORD(l, struct cache_ent, link));
	while (r->cache.n >= r->cache_max && (l = htable_oldest(&r->cache)) != NULL)
		cache_drop(r, HTABLE_RECORD(l, struct cache_ent, link));
	htable_add(&r->cache, &e->link, h);
	pthread_mutex_unlock(&r->cache_lock);
}

/* --- parsing --- */

static enum dns_status
bad(struct dns_result *out, const char *fmt, ...)
{
	va_list ap;
	char msg[120];

	va_start(ap, fmt);
	str_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	str_format(out->why, sizeof(out->why), "malformed reply: %s", msg);
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
	/* the names of the chain, for loops: made at the first CNAME (9 KB,
	 * off the stack of every lookup) */
	char (*seen)[NS_MAXDNAME] = NULL;
	char target[NS_MAXDNAME];
	int i, k, hops, found, rc = 0, an = ns_msg_count(*msg, ns_s_an);
	ns_rr rr;

	for (hops = 0;; hops++) {
		found = 0;
		target[0] = '\0';
		for (i = 0; i < an && !found; i++) {
			if (ns_parserr(msg, ns_s_an, i, &rr) < 0) {
				rc = bad(out, "answer record %d", i + 1);
				goto done;
			}
			if (ns_rr_class(rr) != ns_c_in ||
			    strcasecmp(ns_rr_name(rr), cur) != 0)
				continue;
			if (ns_rr_type(rr) == qtype)
				found = 1;
			else if (ns_rr_type(rr) == ns_t_cname &&
			    qtype != ns_t_cname && target[0] == '\0') {
				if (rdata_name(msg, &rr, 0, target,
				    sizeof(target)) < 0 || target[0] == '\0') {
					rc = bad(out, "bad CNAME for %s", cur);
					goto done;
				}
				if (rr_ttl(&rr) < *ttl)
					*ttl = rr_ttl(&rr);
			}
		}
		if (found || target[0] == '\0')
			goto done;
		if (seen == NULL) {
			if ((seen = malloc((DNS_MAX_CNAME + 1) * sizeof(*seen))) == NULL) {
				out->status = DNS_ERROR;
				str_format(out->why, sizeof(out->why), "out of memory");
				rc = DNS_ERROR;
				goto done;
			}
			str_format(seen[0], sizeof(seen[0]), "%s", cur);
		}
		for (k = 0; k <= hops; k++)
			if (strcasecmp(seen[k], target) == 0) {
				out->status = DNS_ERROR;
				str_format(out->why, sizeof(out->why),
				    "CNAME loop at %s", target);
				rc = DNS_ERROR;
				goto done;
			}
		if (hops >= DNS_MAX_CNAME) {
			out->status = DNS_ERROR;
			str_format(out->why, sizeof(out->why),
			    "CNAME chain longer than %d", DNS_MAX_CNAME);
			rc = DNS_ERROR;
			goto done;
		}
		str_format(seen[hops + 1], sizeof(seen[0]), "%s", target);
		str_format(cur, curlen, "%s", target);
	}
done:
	free(seen);
	return rc;
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
		str_format(out->why, sizeof(out->why), "out of memory");
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
enum dns_status
dns_parse_wire(unsigned char *wire, size_t len, uint16_t qtype,
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
			str_format(out->why, sizeof(out->why), "%s",
			    rcode_str(rcode));
		else
			str_format(out->why, sizeof(out->why), "rcode %d", rcode);
		return out->status;
	}
	if (ns_msg_count(msg, ns_s_qd) != 1)
		return bad(out, "%d questions", ns_msg_count(msg, ns_s_qd));
	if (ns_parserr(&msg, ns_s_qd, 0, &rr) < 0)
		return bad(out, "question");
	str_copy(cur, sizeof(cur), ns_rr_name(rr));
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
		str_format(out->why, sizeof(out->why), "%s",
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
		str_format(out->why, sizeof(out->why), "out of memory");
		return DNS_ERROR;
	}
	if (len)
		memcpy(copy, wire, len);
	return dns_parse_wire(copy, len, qtype, out, &ttl);
}

void
dns_result_free(struct dns_result *r)
{
	if (r == NULL)
		return;
	if (r->block != NULL) {		/* a cache copy: one block */
		free(r->block);
		r->block = NULL;
		r->rr = NULL;
		r->n = 0;
		r->wire = NULL;
		r->wirelen = 0;
		return;
	}
	result_clear_rrs(r);
	free(r->wire);
	r->wire = NULL;
	r->wirelen = 0;
}

/* --- names --- */

/*
 * Checks name once and copies it without the trailing dot into qname as
 * it is and into key lower-cased (each at least DNS_NAMEBUF bytes).
 * Backslashes and control characters are refused:
 * res_nmkquery would read them as escapes and the name would not be the
 * one asked for.
 */
static int
check_name(const char *name, char *qname, char *key, char *why, size_t whylen)
{
	size_t len = name ? strnlen(name, 1024) : 0;

	if (dns_name_check(name ? name : "", len, DNS_NAME_PRINTABLE | DNS_NAME_FINAL_DOT, why,
	    whylen) < 0)
		return -1;
	if (name[len - 1] == '.')
		len--;
	memcpy(qname, name, len);
	qname[len] = '\0';
	for (size_t i = 0; i < len; i++)
		key[i] = (char)lc((unsigned char)name[i]);
	key[len] = '\0';
	return 0;
}

static int
reverse4(const unsigned char *a, char *buf, size_t buflen)
{
	int n = str_format(buf, buflen, "%u.%u.%u.%u.in-addr.arpa",
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

/* out holds a cache copy: the counts, the TTLs lowered to the time left. */
static enum dns_status
from_cache(struct dns_ctx *c, const char *name, uint16_t type,
    long long left_ms, struct dns_result *out)
{
	uint32_t left = (uint32_t)((left_ms + 999) / 1000);
	size_t i;

	out->from_cache = 1;
	c->cache_hits++;
	atomic_fetch_add(&c->res->cache_hits, 1);
	for (i = 0; i < out->n; i++)
		if (out->rr[i].ttl > left)
			out->rr[i].ttl = left;
	if (out->status != DNS_OK)
		dns_explain(out, NULL, name, type);
	return out->status;
}

/* --- flights, sessions and waiting --- */

/* Rewrites why as "<why> from SERVER for NAME/TYPE" ("(cached)" without a server). */
void
dns_explain(struct dns_result *out, const struct dns_server *sv,
    const char *name, uint16_t type)
{
	char old[sizeof(out->why)], srv[INET6_ADDRSTRLEN + 10], tb[16];

	memcpy(old, out->why, sizeof(old));
	if (sv != NULL)
		dns_server_str(sv, srv, sizeof(srv));
	str_format(out->why, sizeof(out->why), "%s %s%s for %s/%s", old,
	    sv ? "from " : "(cached)", sv ? srv : "", name,
	    dns_type_str(type, tb, sizeof(tb)));
}

static void
count_timeout(struct dns_ctx *c)
{
	c->timeouts++;
	atomic_fetch_add(&c->res->timeouts, 1);
}

struct dns_session {
	struct dns_resolver *r;
	unsigned budget_ms;
	int cancelled;
	size_t n, cap;
	struct flight **f;	/* each holds a reference */
};

/* Lock held. */
void
dns_flight_unref(struct dns_resolver *r, struct flight *f)
{
	(void)r;
	if (--f->refs > 0)
		return;
	pthread_cond_destroy(&f->cond);
	free(f->wire);
	free(f);
}

/* The flight for key/type that is still in the air (lock held). */
static struct flight *
table_find(struct dns_resolver *r, const char *key, uint16_t type, uint64_t h)
{
	struct dns_key k = { key, type };
	struct hlink *l = htable_find(&r->flights, h, &k);

	return l != NULL ? HTABLE_RECORD(l, struct flight, link) : NULL;
}

/*
 * The flight for qname/type with a reference for the caller: one in the
 * air, or a new one with budget_ms of network time. Lock held. NULL with
 * why on failure.
 */
static struct flight *
flight_get(struct dns_resolver *r, const char *qname, const char *key, uint16_t type,
    long budget_ms, char *why, size_t whylen)
{
	uint64_t h = dns_key_hash(key, type);
	long long until = dns_now_ms() + (budget_ms > 0 ? budget_ms : 0);
	struct flight *f = table_find(r, key, type, h);

	if (f != NULL) {
		if (until > f->deadline)
			f->deadline = until;
		f->refs++;
		return f;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		str_format(why, whylen, "out of memory");
		return NULL;
	}
	pthread_cond_init(&f->cond, &r->condattr);
	f->type = type;
	f->deadline = until;
	str_format(f->name, sizeof(f->name), "%s", qname);
	str_format(f->key, sizeof(f->key), "%s", key);
	f->refs = 1;
	if (dns_io_submit(r, f, why, whylen) < 0) {
		dns_flight_unref(r, f);
		return NULL;
	}
	htable_add(&r->flights, &f->link, h);
	f->in_table = 1;
	return f;
}

/* The session's flight for key/type, with a reference (lock held). */
static struct flight *
session_find(struct dns_session *s, const char *key, uint16_t type)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->f[i]->type == type && strcmp(s->f[i]->key, key) == 0) {
			s->f[i]->refs++;
			return s->f[i];
		}
	return NULL;
}

/* Keeps f in the session (one more reference); lock held. */
static void
session_keep(struct dns_session *s, struct flight *f)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->f[i] == f)
			return;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 16;
		struct flight **nf = realloc(s->f, ncap * sizeof(*nf));

		if (nf == NULL)
			return;		/* not kept: it is asked again if needed */
		s->f = nf;
		s->cap = ncap;
	}
	f->refs++;
	s->f[s->n++] = f;
}

struct dns_session *
dns_session_new(struct dns_resolver *r, unsigned budget_ms)
{
	struct dns_session *s = calloc(1, sizeof(*s));

	if (s != NULL) {
		s->r = r;
		s->budget_ms = budget_ms;
	}
	return s;
}

void
dns_ctx_bind(struct dns_ctx *c, struct dns_session *s)
{
	c->session = s;
}

/* dns_prefetch of a checked name (qname, key as in query_checked). */
static void
prefetch_checked(struct dns_session *s, const char *qname, const char *key, uint16_t type)
{
	char why[160];
	struct flight *f = NULL;

	pthread_mutex_lock(&s->r->lock);
	if (!s->cancelled && (f = session_find(s, key, type)) == NULL &&
	    (f = flight_get(s->r, qname, key, type, (long)s->budget_ms, why, sizeof(why))) != NULL)
		session_keep(s, f);
	if (f != NULL)
		dns_flight_unref(s->r, f);
	pthread_mutex_unlock(&s->r->lock);
}

void
dns_prefetch(struct dns_session *s, const char *name, uint16_t type)
{
	char qname[DNS_NAMEBUF], key[DNS_NAMEBUF];
	long long left;

	if (s == NULL || check_name(name, qname, key, NULL, 0) < 0)
		return;
	if (cache_get(s->r, key, type, NULL, &left) == 0)
		return;		/* nothing to ask */
	prefetch_checked(s, qname, key, type);
}

void
dns_session_cancel(struct dns_session *s)
{
	size_t i;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->r->lock);
	s->cancelled = 1;
	for (i = 0; i < s->n; i++)
		pthread_cond_broadcast(&s->f[i]->cond);
	pthread_mutex_unlock(&s->r->lock);
}

void
dns_session_free(struct dns_session *s)
{
	size_t i;
	int pending = 0;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->r->lock);
	for (i = 0; i < s->n; i++) {
		pending |= !s->f[i]->done;
		dns_flight_unref(s->r, s->f[i]);
	}
	pthread_mutex_unlock(&s->r->lock);
	if (pending)
		dns_io_wake(s->r);	/* to cancel what nobody wants now */
	free(s->f);
	free(s);
}

/* Fills out from a finished flight; lock held. */
static void
from_flight(const struct flight *f, struct dns_result *out)
{
	unsigned char *copy;
	uint32_t ttl, age;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (f->wire != NULL && (copy = malloc(f->wirelen)) != NULL) {
		memcpy(copy, f->wire, f->wirelen);
		if (f->status == DNS_OK || f->status == DNS_NXDOMAIN || f->status == DNS_NODATA) {
			dns_parse_wire(copy, f->wirelen, f->type, out, &ttl);
			age = (uint32_t)((dns_now_ms() - f->done_at) / 1000);
			for (i = 0; i < out->n; i++)
				out->rr[i].ttl = out->rr[i].ttl > age ? out->rr[i].ttl - age : 0;
		} else {
			out->wire = copy;
			out->wirelen = f->wirelen;
		}
	}
	out->status = f->status;
	if (out->status != DNS_OK)
		memcpy(out->why, f->why, sizeof(out->why));
}

static void
ms_to_ts(long long ms, struct timespec *ts)
{
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = (ms % 1000) * 1000000;
}

/*
 * Waits for f (the caller's reference is dropped here) as long as the
 * budget allows, counted from start (taken before f was made, whose
 * network time was counted from then too), and fills out. Lock held.
 */
static enum dns_status
wait_flight(struct dns_ctx *c, struct flight *f, const char *qname, uint16_t type,
    long long start, struct dns_result *out)
{
	struct dns_resolver *r = c->res;
	long long limit, now;
	struct timespec ts;
	char tb[16];

	limit = start + (c->budget_ms > 0 ? c->budget_ms : 0);
	if (f->deadline <= limit && c->budget_ms > 0)
		limit = f->deadline + DNS_GRACE_MS;	/* it ends by itself */
	while (!f->done && !(c->session != NULL && c->session->cancelled)) {
		if ((now = dns_now_ms()) >= limit)
			break;
		ms_to_ts(limit, &ts);
		pthread_cond_timedwait(&f->cond, &r->lock, &ts);
	}
	now = dns_now_ms();
	c->budget_ms -= (long)(now - start);
	if (f->done)
		from_flight(f, out);
	else {
		memset(out, 0, sizeof(*out));
		out->status = DNS_TIMEOUT;
		if (c->session != NULL && c->session->cancelled)
			str_format(out->why, sizeof(out->why), "lookup cancelled for %s/%s", qname,
			    dns_type_str(type, tb, sizeof(tb)));
		else if (now == start)
			str_format(out->why, sizeof(out->why), "DNS time budget used up");
		else
			str_format(out->why, sizeof(out->why), "no answer within the check's DNS time "
			    "(%lld ms) for %s/%s", now - start, qname, dns_type_str(type, tb, sizeof(tb)));
	}
	dns_flight_unref(r, f);
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
	struct dns_resolver *r;
	struct flight *f = NULL;
	long long left_ms, start;

	if (c == NULL || c->res == NULL) {
		str_format(out->why, sizeof(out->why), "no resolver");
		return DNS_ERROR;
	}
	r = c->res;
	c->queries++;
	if (c->session != NULL) {
		pthread_mutex_lock(&r->lock);
		f = session_find(c->session, key, type);
		if (f != NULL && (f->done || !c->nowait)) {
			wait_flight(c, f, qname, type, dns_now_ms(), out);
			pthread_mutex_unlock(&r->lock);
			goto done;
		}
		if (f != NULL)
			dns_flight_unref(r, f);
		pthread_mutex_unlock(&r->lock);
	}
	if (cache_get(r, key, type, out, &left_ms) == 0)
		return from_cache(c, qname, type, left_ms, out);
	if (c->nowait) {
		c->would_block = 1;
		if (c->session != NULL && f == NULL)
			prefetch_checked(c->session, qname, key, type);
		out->status = DNS_TIMEOUT;
		str_format(out->why, sizeof(out->why), "would wait");
		return DNS_TIMEOUT;
	}
	if (c->budget_ms <= 0) {
		out->status = DNS_TIMEOUT;
		str_format(out->why, sizeof(out->why), "DNS time budget used up");
		goto done;
	}
	pthread_mutex_lock(&r->lock);
	start = dns_now_ms();
	f = flight_get(r, qname, key, type, c->budget_ms, out->why, sizeof(out->why));
	if (f == NULL) {
		pthread_mutex_unlock(&r->lock);
		out->status = DNS_ERROR;
		return DNS_ERROR;
	}
	if (c->session != NULL && !c->session->cancelled)
		session_keep(c->session, f);
	wait_flight(c, f, qname, type, start, out);
	pthread_mutex_unlock(&r->lock);
done:
	if (out->status == DNS_TIMEOUT)
		count_timeout(c);
	return out->status;
}

const char *
dns_trouble_cause(const char *why)
{
	/* the marks of the reasons written in this module and dns_io.c */
	static const struct { const char *mark, *cause; } causes[] = {
		{ "budget used up", "DNS time budget used up" },
		{ "no answer within", "no DNS answer in time" },
		{ "timed out", "no DNS answer in time" },
		{ "TIMEOUT", "no DNS answer in time" },
		{ "cancelled", "DNS lookup cancelled" },
		{ "SERVFAIL", "DNS server failure (SERVFAIL)" },
		{ "REFUSED", "DNS query refused (REFUSED)" },
		{ "malformed", "unusable DNS reply" },
		{ "truncated", "unusable DNS reply" },
		{ "CNAME", "unusable DNS reply" },
	};

	for (size_t i = 0; why != NULL && i < sizeof(causes) / sizeof(causes[0]); i++)
		if (strstr(why, causes[i].mark) != NULL)
			return causes[i].cause;
	return "temporary DNS failure";
}

int
dns_status_temporary(enum dns_status st)
{
	return st == DNS_SERVFAIL || st == DNS_TIMEOUT || st == DNS_ERROR;
}
enum dns_status
dns_query(struct dns_ctx *c, const char *name, uint16_t type,
    struct dns_result *out)
{
	char qname[DNS_NAMEBUF], key[DNS_NAMEBUF];

	memset(out, 0, sizeof(*out));
	out->status = DNS_BADNAME;
	if (check_name(name, qname, key, out->why, sizeof(out->why)) < 0)
		return DNS_BADNAME;
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
	size_t len = name ? strnlen(name, 1024) : 0, o = 0;

	if (dns_name_check(name ? name : "", len, DNS_NAME_ANY | DNS_NAME_FINAL_DOT, why, whylen) < 0)
		return -1;
	if (name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (o + 5 > buflen) {
			setwhy(why, whylen, "name longer than its buffer");
			return -1;
		}
		if (ch == '.' || (ch > 0x20 && ch < 0x7f && ch != '\\'))
			buf[o++] = (char)(lower ? lc(ch) : ch);
		else if (ch == '\\')
			o += (size_t)str_format(buf + o, buflen - o, "\\\\");
		else
			o += (size_t)str_format(buf + o, buflen - o, "\\%03u", ch);
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
	out->status = DNS_BADNAME;
	if (escape_name(name, qname, sizeof(qname), 0, out->why, sizeof(out->why)) < 0)
		return DNS_BADNAME;
	escape_name(name, key, sizeof(key), 1, NULL, 0);
	return query_checked(c, qname, key, type, out);
}
