/*
 * dns_impl: what dns.c (answers, cache, sessions, waiting) and dns_io.c
 * (the network thread) share. Not for other modules.
 *
 * A flight is one question on the network, shared by everyone who asks
 * it. Its fields are guarded by the resolver's lock, except the network
 * state (struct flight_net), which only the network thread touches.
 * A flight is freed when its last reference goes: the network thread
 * holds one until the flight is done, every session that asked it and
 * every waiter hold one each.
 */
#ifndef SC_DNS_IMPL_H
#define SC_DNS_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "dns.h"
#include "htable.h"

#define DNS_QBUF	512
#define DNS_ESCBUF	(253 * 4 + 8)	/* a name with every octet as \DDD */

struct cache_ent;
struct flight;

/* Network state of a flight: the network thread's alone. */
enum tcp_phase { TCP_NONE = 0, TCP_CONNECT, TCP_WRITE, TCP_READLEN, TCP_READ };

struct flight_net {
	unsigned char q[DNS_QBUF];	/* query, with room for OPT */
	size_t qbase;			/* length without OPT */
	int edns;
	int fd[DNS_MAX_SERVERS];	/* one connected UDP socket per server */
	int out[DNS_MAX_SERVERS];	/* not to be asked again */
	int asked[DNS_MAX_SERVERS];
	size_t att;			/* next attempt number */
	size_t cur;			/* server of the running attempt */
	long long start;
	long long att_deadline;
	long long deadline;		/* the flight's, as last read */
	int running;			/* an attempt is running */
	int alone;			/* nobody but the thread holds it */
	int timed_out;
	int final;			/* ans holds OK/NXDOMAIN/NODATA */
	size_t ans_srv;
	struct dns_result ans;
	uint32_t ans_ttl;
	int have_fail;			/* fail holds the first failure */
	size_t fail_srv;
	struct dns_result fail;
	/* one TCP exchange at a time */
	int tfd;
	size_t tsrv;
	enum tcp_phase tphase;
	long long tdeadline;
	unsigned char *tbuf;
	size_t tlen, toff;
	unsigned char thdr[2];
};

struct flight {
	struct hlink link;		/* in the table of flights in the air */
	struct flight *next;		/* the network thread's lists */
	int refs;
	int done;			/* the result below is final */
	int in_table;
	long long deadline;		/* network work ends by then (ms) */
	pthread_cond_t cond;		/* broadcast when done */
	uint16_t type;
	/* the result, written once before done is set */
	enum dns_status status;
	unsigned char *wire;		/* the reply, when one was kept */
	size_t wirelen;
	long long done_at;
	char why[160];
	struct flight_net net;
	char name[DNS_ESCBUF];		/* as res_nmkquery reads it */
	char key[DNS_ESCBUF];		/* cache key: lower case */
};

struct dns_resolver {
	struct dns_server servers[DNS_MAX_SERVERS];
	size_t nservers;
	pthread_mutex_t cache_lock;	/* guards the cache */
	struct htable cache;		/* of struct cache_ent, newest used first */
	size_t cache_max;
	/* flights and sessions */
	pthread_mutex_t lock;
	pthread_condattr_t condattr;	/* CLOCK_MONOTONIC */
	struct htable flights;		/* flights in the air, by name and type */
	struct flight *newq;		/* to be started by the network thread */
	int wakefd;			/* eventfd: wakes the network thread */
	int io_started;
	int io_stop;
	pthread_t io;
	atomic_ulong queries;
	atomic_ulong cache_hits;
	atomic_ulong timeouts;
	atomic_ulong tcp_retries;
};

long long dns_now_ms(void);
const char *dns_type_str(uint16_t type, char *buf, size_t buflen);
int dns_same_addr(const struct sockaddr_storage *a, const struct dns_server *s);
void dns_explain(struct dns_result *out, const struct dns_server *sv,
    const char *name, uint16_t type);
enum dns_status dns_parse_wire(unsigned char *wire, size_t len, uint16_t qtype,
    struct dns_result *out, uint32_t *cttl);
/* Keeps a parsed answer (its records and wire) for ttl seconds. */
void dns_cache_put(struct dns_resolver *r, const char *key, uint16_t type,
    const struct dns_result *res, uint32_t ttl);
void dns_flight_unref(struct dns_resolver *r, struct flight *f);	/* lock held */
/* The hash of a cache key and type: the cache's and the flights'. */
uint64_t dns_key_hash(const char *key, uint16_t type);

/* dns_io.c: starts f (lock held; f is new and already in the table). */
int dns_io_submit(struct dns_resolver *r, struct flight *f, char *why, size_t whylen);
/* Wakes the network thread (to notice flights nobody wants any more). */
void dns_io_wake(struct dns_resolver *r);
/* Stops and joins the network thread, freeing the flights it held. */
void dns_io_stop(struct dns_resolver *r);

#endif
