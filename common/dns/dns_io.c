/*
 * dns_io: the network side of the resolver. One thread per resolver
 * (started with the first question) sends every question and reads every
 * reply, for all flights at once, in one poll() loop; askers wait on the
 * flight (dns.c) and are woken when it is done.
 *
 * Queries are built with res_nmkquery() on this thread's res_state. The
 * query ID is then replaced by one from getrandom(), and an EDNS0 OPT
 * record (payload 1232) is appended.
 *
 * Sending. One flight makes at most two rounds over the servers, one UDP
 * datagram per attempt. Attempt k waits
 *	min(remaining, max(1000 ms, remaining / attempts_left))
 * where remaining is what is left of the flight's time (the budget of
 * whoever asked it, extended when a later asker has more) and
 * attempts_left counts this attempt and the later ones to servers still
 * in the game. So with [dead, good] and 1500 ms the dead server gets
 * 1000 ms and the good one the rest; with one server the time is split
 * over a send and one resend. Each server has its own connected UDP
 * socket for the whole flight (a random source port per question): a
 * late reply to an earlier attempt still counts while a later attempt
 * waits. A datagram counts only if it comes from the server's address
 * and port, carries the query ID, has QR set, opcode QUERY and echoes the
 * question (name compared case-insensitively); anything else is dropped
 * and waiting goes on until the attempt's deadline.
 * TC set over UDP: the query is repeated over TCP to that server (same
 * window rule) while the UDP sockets are still read. TC set over TCP:
 * that reply cannot be used (DNS_ERROR), never read as "no records".
 * FORMERR while sending EDNS0: EDNS0 is dropped for the rest of the
 * flight and the query resent to that server at once.
 * A server that gives SERVFAIL/REFUSED/another rcode, a malformed reply,
 * an ICMP unreachable or a broken TCP reply is not asked again in this
 * flight; its result is kept and returned if no other server answers
 * (the first such failure wins over timeouts).
 * A flight that nobody waits for or holds any more (its session was
 * freed) is cancelled: its sockets are closed at the next wake-up.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns_impl.h"
#include "thread.h"

#define DNS_MIN_WAIT_MS	1000
#define DNS_ROUNDS	2
#define DNS_UDP_BUF	65536
#define DNS_POLL_MAX	60000	/* longest single poll(), ms */
#define DNS_READ_MAX	64	/* datagrams read per wakeup */

static int
lc(int ch)
{
	return (ch >= 'A' && ch <= 'Z') ? ch + ('a' - 'A') : ch;
}

/* --- time --- */

static long long
budget_left(const struct flight *f)
{
	return f->net.deadline - dns_now_ms();
}

static size_t
attempts_left(const struct dns_resolver *r, const struct flight *f, size_t att)
{
	size_t a, n = 0, ns = r->nservers;

	for (a = att; a < DNS_ROUNDS * ns; a++)
		if (!f->net.out[a % ns])
			n++;
	return n ? n : 1;
}

/* The wait of attempt att (or of a TCP exchange during it). */
static long long
window(const struct dns_resolver *r, const struct flight *f, size_t att)
{
	long long rem = budget_left(f), w;

	w = rem / (long long)attempts_left(r, f, att);
	if (w < DNS_MIN_WAIT_MS)
		w = DNS_MIN_WAIT_MS;
	return w < rem ? w : rem;
}

/* --- failures and replies --- */

/* Records a failure of server s (the first one is kept). */
static void
fail_msg(struct flight *f, size_t s, enum dns_status st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
fail_msg(struct flight *f, size_t s, enum dns_status st, const char *fmt, ...)
{
	struct flight_net *n = &f->net;
	va_list ap;

	n->out[s] = 1;
	if (n->have_fail)
		return;
	memset(&n->fail, 0, sizeof(n->fail));
	n->fail.status = st;
	va_start(ap, fmt);
	vsnprintf(n->fail.why, sizeof(n->fail.why), fmt, ap);
	va_end(ap);
	n->have_fail = 1;
	n->fail_srv = s;
}

/* Does p/n answer our query? (ID, QR, opcode, question) */
static int
reply_matches(const struct flight *f, const unsigned char *p, size_t n)
{
	const struct flight_net *q = &f->net;
	size_t qlen = q->qbase - NS_HFIXEDSZ, i;

	if (n < NS_HFIXEDSZ || p[0] != q->q[0] || p[1] != q->q[1])
		return 0;
	if (!(p[2] & 0x80) || (p[2] & 0x78) != 0)
		return 0;
	/* Some servers answer FORMERR to EDNS without the question. */
	if ((p[3] & 0x0f) == ns_r_formerr && p[4] == 0 && p[5] == 0)
		return 1;
	if (p[4] != 0 || p[5] != 1 || n < NS_HFIXEDSZ + qlen)
		return 0;
	for (i = NS_HFIXEDSZ; i < q->qbase - 4; i++)
		if (lc(p[i]) != lc(q->q[i]))
			return 0;
	return memcmp(p + q->qbase - 4, q->q + q->qbase - 4, 4) == 0;
}

static size_t
query_len(const struct flight *f)
{
	return f->net.edns ? f->net.qbase + 11 : f->net.qbase;
}

static int
build_query(struct flight *f, res_state st, char *why, size_t whylen)
{
	struct flight_net *n = &f->net;
	uint16_t id;
	int len;

	if (st == NULL) {
		snprintf(why, whylen, "cannot set up the resolver state");
		return -1;
	}
	len = res_nmkquery(st, ns_o_query, f->name, ns_c_in, f->type, NULL, 0,
	    NULL, n->q, DNS_QBUF - 11);
	if (len < NS_HFIXEDSZ + 5) {
		snprintf(why, whylen, "cannot build a query for %.100s", f->name);
		return -1;
	}
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) == sizeof(id))
		memcpy(n->q, &id, 2);
	n->qbase = (size_t)len;
	/* OPT: root, type 41, payload 1232 */
	memcpy(n->q + len, "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);
	n->edns = 1;
	n->q[10] = 0;
	n->q[11] = 1;
	return 0;
}

static void
set_edns(struct flight *f, int on)
{
	f->net.edns = on;
	f->net.q[11] = on ? 1 : 0;
}

static int
udp_send(struct dns_resolver *r, struct flight *f, size_t s)
{
	const struct dns_server *sv = &r->servers[s];
	struct flight_net *n = &f->net;
	int fd = n->fd[s];

	if (fd < 0) {
		fd = socket(sv->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fail_msg(f, s, DNS_ERROR, "cannot create a socket: %s", strerror(errno));
			return -1;
		}
		if (connect(fd, (const struct sockaddr *)&sv->addr, sv->addrlen) < 0) {
			fail_msg(f, s, DNS_ERROR, "cannot reach: %s", strerror(errno));
			close(fd);
			return -1;
		}
		n->fd[s] = fd;
	}
	n->asked[s] = 1;
	if (send(fd, n->q, query_len(f), 0) < 0) {
		fail_msg(f, s, DNS_SERVFAIL, "unreachable: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* --- TCP (after a truncated UDP reply) --- */

static void
tcp_end(struct flight *f)
{
	struct flight_net *n = &f->net;

	if (n->tfd >= 0)
		close(n->tfd);
	n->tfd = -1;
	free(n->tbuf);
	n->tbuf = NULL;
	n->tphase = TCP_NONE;
}

static const char *
tcp_what(enum tcp_phase p)
{
	switch (p) {
	case TCP_CONNECT:	return "connecting";
	case TCP_WRITE:		return "sending";
	case TCP_READLEN:	return "reading the length";
	default:		return "reading the reply";
	}
}

static void
tcp_fail(struct flight *f)
{
	fail_msg(f, f->net.tsrv, DNS_ERROR, "TCP failed while %s", tcp_what(f->net.tphase));
	tcp_end(f);
}

static void
tcp_begin(struct dns_resolver *r, struct flight *f, size_t s)
{
	const struct dns_server *sv = &r->servers[s];
	struct flight_net *n = &f->net;
	size_t qlen = query_len(f);

	tcp_end(f);
	atomic_fetch_add(&r->tcp_retries, 1);
	n->tsrv = s;
	n->tphase = TCP_CONNECT;
	n->tdeadline = dns_now_ms() + window(r, f, n->att ? n->att - 1 : 0);
	n->tfd = socket(sv->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n->tfd < 0 || (n->tbuf = malloc(qlen + 2)) == NULL) {
		tcp_fail(f);
		return;
	}
	n->tbuf[0] = (unsigned char)(qlen >> 8);
	n->tbuf[1] = (unsigned char)qlen;
	memcpy(n->tbuf + 2, n->q, qlen);
	n->tlen = qlen + 2;
	n->toff = 0;
	if (connect(n->tfd, (const struct sockaddr *)&sv->addr, sv->addrlen) == 0)
		n->tphase = TCP_WRITE;
	else if (errno != EINPROGRESS)
		tcp_fail(f);
}

static void handle_reply(struct dns_resolver *, struct flight *, size_t,
    const unsigned char *, size_t, int);

/* One step of the TCP exchange when its socket is ready. */
static void
tcp_step(struct dns_resolver *r, struct flight *f)
{
	struct flight_net *n = &f->net;
	int err = 0;
	socklen_t elen = sizeof(err);
	ssize_t k;
	size_t want;

	switch (n->tphase) {
	case TCP_CONNECT:
		if (getsockopt(n->tfd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
			tcp_fail(f);
			return;
		}
		n->tphase = TCP_WRITE;
		/* FALLTHROUGH */
	case TCP_WRITE:
		k = send(n->tfd, n->tbuf + n->toff, n->tlen - n->toff, MSG_NOSIGNAL);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (k <= 0) {
			tcp_fail(f);
			return;
		}
		n->toff += (size_t)k;
		if (n->toff < n->tlen)
			return;
		n->tphase = TCP_READLEN;
		n->toff = 0;
		return;
	case TCP_READLEN:
		k = read(n->tfd, n->thdr + n->toff, 2 - n->toff);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (k <= 0) {
			tcp_fail(f);
			return;
		}
		if ((n->toff += (size_t)k) < 2)
			return;
		want = ((size_t)n->thdr[0] << 8) | n->thdr[1];
		n->tphase = TCP_READ;
		free(n->tbuf);
		n->tbuf = NULL;
		if (want < NS_HFIXEDSZ || (n->tbuf = malloc(want)) == NULL) {
			tcp_fail(f);
			return;
		}
		n->tlen = want;
		n->toff = 0;
		return;
	case TCP_READ:
		k = read(n->tfd, n->tbuf + n->toff, n->tlen - n->toff);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (k <= 0) {
			tcp_fail(f);
			return;
		}
		if ((n->toff += (size_t)k) < n->tlen)
			return;
		if (!reply_matches(f, n->tbuf, n->tlen)) {
			fail_msg(f, n->tsrv, DNS_ERROR, "TCP reply does not match the query");
			tcp_end(f);
			return;
		}
		{
			unsigned char *rep = n->tbuf;
			size_t len = n->tlen, s = n->tsrv;

			n->tbuf = NULL;
			tcp_end(f);
			handle_reply(r, f, s, rep, len, 1);
			free(rep);
		}
		return;
	case TCP_NONE:
		return;
	}
}

/* A matching reply from server s. */
static void
handle_reply(struct dns_resolver *r, struct flight *f, size_t s, const unsigned char *p,
    size_t len, int tcp)
{
	struct flight_net *n = &f->net;
	struct dns_result res;
	unsigned char *copy;
	uint32_t ttl;
	int rcode = p[3] & 0x0f;

	if (rcode == ns_r_formerr && n->edns) {
		set_edns(f, 0);
		if (tcp)
			tcp_begin(r, f, s);
		else
			udp_send(r, f, s);
		return;
	}
	if (p[2] & 0x02) {
		/* truncated: over UDP ask again over TCP; over TCP nothing
		 * better can come, and a cut reply is not "no records" */
		if (tcp)
			fail_msg(f, s, DNS_ERROR, "truncated reply over TCP");
		else if (n->tphase == TCP_NONE)
			tcp_begin(r, f, s);
		return;
	}
	if ((copy = malloc(len)) == NULL) {
		fail_msg(f, s, DNS_ERROR, "out of memory");
		return;
	}
	memcpy(copy, p, len);
	dns_parse_wire(copy, len, f->type, &res, &ttl);
	if (res.status == DNS_OK || res.status == DNS_NXDOMAIN || res.status == DNS_NODATA) {
		n->ans = res;
		n->ans_ttl = ttl;
		n->ans_srv = s;
		n->final = 1;
		return;
	}
	n->out[s] = 1;
	if (n->have_fail) {
		dns_result_free(&res);
		return;
	}
	n->fail = res;
	n->fail_srv = s;
	n->have_fail = 1;
}

/* Reads all pending datagrams of server s. */
static void
udp_read(struct dns_resolver *r, struct flight *f, size_t s, unsigned char *buf)
{
	struct flight_net *n = &f->net;
	struct sockaddr_storage from;
	socklen_t flen;
	ssize_t k;
	int i;

	for (i = 0; i < DNS_READ_MAX && !n->final && !n->out[s]; i++) {
		flen = sizeof(from);
		k = recvfrom(n->fd[s], buf, DNS_UDP_BUF, 0, (struct sockaddr *)&from, &flen);
		if (k < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			fail_msg(f, s, DNS_SERVFAIL, "unreachable: %s", strerror(errno));
			return;
		}
		if (!dns_same_addr(&from, &r->servers[s]) || !reply_matches(f, buf, (size_t)k))
			continue;
		handle_reply(r, f, s, buf, (size_t)k, 0);
	}
}

/* --- attempts --- */

/* Starts the next attempt; 0 when none is left. */
static int
attempt_next(struct dns_resolver *r, struct flight *f)
{
	struct flight_net *n = &f->net;
	size_t ns = r->nservers, s, att;

	n->running = 0;
	while (n->att < DNS_ROUNDS * ns && !n->final) {
		att = n->att++;
		s = att % ns;
		if (n->out[s])
			continue;
		if (budget_left(f) <= 0)
			return 0;
		if (udp_send(r, f, s) < 0)
			continue;
		n->cur = s;
		n->att_deadline = dns_now_ms() + window(r, f, att);
		n->running = 1;
		return 1;
	}
	return 0;
}

/*
 * Moves f on after events and timers: 1 while it still waits, 0 when it
 * is over (answered, or no attempt left).
 */
static int
advance(struct dns_resolver *r, struct flight *f, long long now)
{
	struct flight_net *n = &f->net;

	if (n->tphase != TCP_NONE && now >= n->tdeadline) {
		n->timed_out = 1;
		n->out[n->tsrv] = 1;
		tcp_end(f);
	}
	if (n->final)
		return 0;
	if (n->tphase != TCP_NONE)
		return 1;
	if (n->running && !n->out[n->cur] && now < n->att_deadline)
		return 1;
	if (n->running && !n->out[n->cur])
		n->timed_out = 1;
	return attempt_next(r, f);
}

static void
asked_str(const struct dns_resolver *r, const struct flight *f, char *buf, size_t buflen)
{
	char one[INET6_ADDRSTRLEN + 10];
	size_t s, o = 0;
	int k;

	buf[0] = '\0';
	for (s = 0; s < r->nservers; s++) {
		if (!f->net.asked[s])
			continue;
		dns_server_str(&r->servers[s], one, sizeof(one));
		k = snprintf(buf + o, buflen - o, "%s%s", o ? ", " : "", one);
		if (k < 0 || (size_t)k >= buflen - o)
			return;
		o += (size_t)k;
	}
}

static void
close_all(struct flight *f)
{
	size_t s;

	for (s = 0; s < DNS_MAX_SERVERS; s++)
		if (f->net.fd[s] >= 0) {
			close(f->net.fd[s]);
			f->net.fd[s] = -1;
		}
	tcp_end(f);
}

/* Turns the network state into the flight's result (not yet published). */
static void
conclude(struct dns_resolver *r, struct flight *f)
{
	struct flight_net *n = &f->net;
	struct dns_result *res = NULL;
	char srv[200], tb[16];
	long long waited = dns_now_ms() - n->start;

	close_all(f);
	if (n->final) {
		res = &n->ans;
		dns_cache_put(r, f->key, f->type, res, n->ans_ttl);
		if (res->status != DNS_OK)
			dns_explain(res, &r->servers[n->ans_srv], f->name, f->type);
		if (n->have_fail)
			dns_result_free(&n->fail);
	} else if (n->have_fail) {
		res = &n->fail;
		dns_explain(res, &r->servers[n->fail_srv], f->name, f->type);
	}
	if (res != NULL) {
		f->status = res->status;
		f->wire = res->wire;
		f->wirelen = res->wirelen;
		res->wire = NULL;
		memcpy(f->why, res->why, sizeof(f->why));
		dns_result_free(res);
	} else {
		f->status = DNS_TIMEOUT;
		asked_str(r, f, srv, sizeof(srv));
		snprintf(f->why, sizeof(f->why), "timed out after %lld ms asking %.60s for %.60s/%s",
		    waited, srv[0] ? srv : "no server", f->name,
		    dns_type_str(f->type, tb, sizeof(tb)));
	}
}

/* Takes f out of the table of flights in the air (lock held). */
static void
table_remove(struct dns_resolver *r, struct flight *f)
{
	if (!f->in_table)
		return;
	htable_del(&r->flights, &f->link);
	f->in_table = 0;
}

/* Publishes f's result to its waiters and drops the thread's reference. */
static void
publish(struct dns_resolver *r, struct flight *f)
{
	pthread_mutex_lock(&r->lock);
	table_remove(r, f);
	f->done = 1;
	f->done_at = dns_now_ms();
	pthread_cond_broadcast(&f->cond);
	dns_flight_unref(r, f);
	pthread_mutex_unlock(&r->lock);
}

/* A flight nobody wants any more: out of the table, closed, dropped. */
static void
abandon(struct dns_resolver *r, struct flight *f)
{
	close_all(f);
	if (f->net.final)
		dns_result_free(&f->net.ans);
	if (f->net.have_fail)
		dns_result_free(&f->net.fail);
	f->status = DNS_TIMEOUT;
	snprintf(f->why, sizeof(f->why), "lookup cancelled");
	publish(r, f);
}

/* --- the thread --- */

static res_state
io_res(void)
{
	res_state st = calloc(1, sizeof(*st));

	if (st != NULL && res_ninit(st) != 0) {
		res_nclose(st);
		free(st);
		st = NULL;
	}
	return st;
}

static void
begin(struct dns_resolver *r, struct flight *f, res_state st)
{
	char why[160];

	f->net.start = dns_now_ms();
	if (build_query(f, st, why, sizeof(why)) < 0) {
		f->net.have_fail = 1;
		memset(&f->net.fail, 0, sizeof(f->net.fail));
		f->net.fail.status = DNS_ERROR;
		snprintf(f->net.fail.why, sizeof(f->net.fail.why), "%s", why);
		f->net.fail_srv = 0;
		f->net.att = DNS_ROUNDS * r->nservers;
	}
}

struct pollset {
	struct pollfd *pfd;
	struct flight **owner;
	int *srv;		/* server index, -1 for the TCP socket */
	size_t n, cap;
};

static int
ps_add(struct pollset *ps, int fd, short ev, struct flight *f, int srv)
{
	if (ps->n == ps->cap) {
		size_t ncap = ps->cap ? 2 * ps->cap : 64;
		struct pollfd *p = realloc(ps->pfd, ncap * sizeof(*p));
		struct flight **o;
		int *s;

		if (p == NULL)
			return -1;
		ps->pfd = p;
		if ((o = realloc(ps->owner, ncap * sizeof(*o))) == NULL)
			return -1;
		ps->owner = o;
		if ((s = realloc(ps->srv, ncap * sizeof(*s))) == NULL)
			return -1;
		ps->srv = s;
		ps->cap = ncap;
	}
	ps->pfd[ps->n].fd = fd;
	ps->pfd[ps->n].events = ev;
	ps->pfd[ps->n].revents = 0;
	ps->owner[ps->n] = f;
	ps->srv[ps->n] = srv;
	ps->n++;
	return 0;
}

/* Pushes f on list; returns the old head (for f->next). */
static struct flight *
fresh_list_push(struct flight **list, struct flight *f)
{
	struct flight *old = *list;

	*list = f;
	return old;
}

static void
drain_wake(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) > 0)
		;
}

static void *
io_main(void *arg)
{
	struct dns_resolver *r = arg;
	struct flight *active = NULL, *f, **pp, *fresh = NULL;
	struct pollset ps = { 0 };
	unsigned char *buf = malloc(DNS_UDP_BUF);
	res_state st = io_res();
	long long now, next;
	size_t k, s;

	pthread_setname_np(pthread_self(), "sc-dns");	/* top -H, and the tests */
	for (;;) {
		/* take new flights; note deadlines and who is still wanted */
		pthread_mutex_lock(&r->lock);
		if (r->io_stop) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		while ((f = r->newq) != NULL) {
			r->newq = f->next;
			f->next = fresh_list_push(&fresh, f);
		}
		for (f = active; f != NULL; f = f->next) {
			f->net.deadline = f->deadline;
			/* out of the table now, so that nobody joins it meanwhile */
			if ((f->net.alone = f->refs == 1))
				table_remove(r, f);
		}
		for (f = fresh; f != NULL; f = f->next)
			f->net.deadline = f->deadline;
		pthread_mutex_unlock(&r->lock);
		while ((f = fresh) != NULL) {
			fresh = f->next;
			begin(r, f, buf != NULL ? st : NULL);
			f->net.alone = 0;
			f->next = active;
			active = f;
		}
		/* timers, and flights that are over or abandoned */
		now = dns_now_ms();
		next = now + DNS_POLL_MAX;
		for (pp = &active; (f = *pp) != NULL;) {
			if (f->net.alone) {
				*pp = f->next;
				abandon(r, f);
				continue;
			}
			if (!advance(r, f, now)) {
				*pp = f->next;
				conclude(r, f);
				publish(r, f);
				continue;
			}
			if (f->net.tphase != TCP_NONE && f->net.tdeadline < next)
				next = f->net.tdeadline;
			else if (f->net.tphase == TCP_NONE && f->net.att_deadline < next)
				next = f->net.att_deadline;
			pp = &f->next;
		}
		/* wait for replies */
		ps.n = 0;
		ps_add(&ps, r->wakefd, POLLIN, NULL, -1);
		for (f = active; f != NULL; f = f->next) {
			for (s = 0; s < r->nservers; s++)
				if (f->net.fd[s] >= 0 && !f->net.out[s])
					ps_add(&ps, f->net.fd[s], POLLIN, f, (int)s);
			if (f->net.tphase != TCP_NONE && f->net.tfd >= 0)
				ps_add(&ps, f->net.tfd, (f->net.tphase == TCP_CONNECT ||
				    f->net.tphase == TCP_WRITE) ? POLLOUT : POLLIN, f, -1);
		}
		now = dns_now_ms();
		if (poll(ps.pfd, ps.n, next > now ? (int)(next - now) : 0) <= 0)
			continue;
		if (ps.pfd[0].revents)
			drain_wake(r->wakefd);
		for (k = 1; k < ps.n; k++) {
			if (!ps.pfd[k].revents)
				continue;
			f = ps.owner[k];
			if (ps.srv[k] < 0)
				tcp_step(r, f);
			else if (buf != NULL && !f->net.final)
				udp_read(r, f, (size_t)ps.srv[k], buf);
		}
	}
	/* stopping: whatever is left is cancelled */
	while ((f = active) != NULL) {
		active = f->next;
		abandon(r, f);
	}
	free(ps.pfd);
	free(ps.owner);
	free(ps.srv);
	free(buf);
	if (st != NULL) {
		res_nclose(st);
		free(st);
	}
	return NULL;
}

int
dns_io_submit(struct dns_resolver *r, struct flight *f, char *why, size_t whylen)
{
	size_t s;

	for (s = 0; s < DNS_MAX_SERVERS; s++)
		f->net.fd[s] = -1;
	f->net.tfd = -1;
	if (!r->io_started) {
		if (thread_start_quiet(&r->io, io_main, r) != 0) {
			snprintf(why, whylen, "cannot start the resolver thread");
			return -1;
		}
		r->io_started = 1;
	}
	f->refs++;			/* the thread's */
	f->next = r->newq;
	r->newq = f;
	atomic_fetch_add(&r->queries, 1);
	dns_io_wake(r);
	return 0;
}

void
dns_io_wake(struct dns_resolver *r)
{
	uint64_t one = 1;

	if (write(r->wakefd, &one, sizeof(one)) < 0) {
		/* a full counter still wakes the thread */
	}
}

void
dns_io_stop(struct dns_resolver *r)
{
	struct flight *f;

	pthread_mutex_lock(&r->lock);
	r->io_stop = 1;
	pthread_mutex_unlock(&r->lock);
	if (r->io_started) {
		dns_io_wake(r);
		pthread_join(r->io, NULL);
		r->io_started = 0;
	}
	/* flights submitted but never started */
	pthread_mutex_lock(&r->lock);
	while ((f = r->newq) != NULL) {
		r->newq = f->next;
		table_remove(r, f);
		f->done = 1;
		f->status = DNS_TIMEOUT;
		snprintf(f->why, sizeof(f->why), "lookup cancelled");
		pthread_cond_broadcast(&f->cond);
		dns_flight_unref(r, f);
	}
	pthread_mutex_unlock(&r->lock);
}
