/*
 * miltergen: a load generator that speaks the milter protocol (version 6) to
 * a filter as Postfix does, for `make bench`. libmilter has no client side.
 *
 *   miltergen -s SOCKET -c CORPUS [-n CONC] [-t SECONDS] [-w WARMUP] [-p PID[,PID...]]
 *             [-k MSGS_PER_CONN] [-r SEED] [-m MSGS] [-S SOCKET2 -C CORPUS2] [-v]
 *
 * With -S, each message goes through a second filter after the first, as
 * Postfix chains smtpd_milters (OpenDKIM, then OpenDMARC): the same
 * message number from CORPUS2 (which may carry the first filter's
 * Authentication-Results), and the latency runs to the second filter's
 * final reply. -p takes a comma list of up to 16 PIDs (both filters', or
 * every process of a filter that has several): CPU and RSS are summed.
 *
 * SOCKET is unix:/path or inet:PORT@HOST (as libmilter writes it). CORPUS is
 * bench/gencorpus.py's corpus.bin. CONC threads each keep a connection and
 * send messages from the corpus (a shared cursor) until the run ends; with
 * -k N a connection is closed (QUIT) and a new one opened after N messages
 * (-k 1: one connection per message). The first WARMUP seconds are not
 * counted (they fill the filters' DNS caches); then SECONDS are measured.
 * With -m N, exactly N messages are sent, all measured, and the run ends
 * when they are done (no warm-up, no time limit): for counts per message
 * that must not depend on the machine's speed (bench/insns.py).
 *
 * As Postfix's milter8 client does: OPTNEG offers every action and every
 * protocol step with all no-reply bits; the filter's reply decides what is
 * sent (SMFIP_NO* steps are skipped) and which replies are awaited (SMFIP_NR_*
 * steps get none); macros go in a SMFIC_MACRO packet before each step (the
 * filter's symbol lists, when it sends any, replace the default lists); header
 * values lose their leading space unless SMFIP_HDR_LEADSPC; folded headers
 * are sent with "\n" line breaks and the body with CRLF in chunks of up to
 * 65535 octets. Writes go through a buffer that is flushed when full and
 * before each read, like Postfix's VSTREAM (4096 octets, or twice the MSS
 * over TCP as Postfix's vstream_tweak_tcp() sets it); the socket is a plain
 * TCP socket with Nagle and delayed ACKs on, as Postfix's is, so that a filter
 * whose replies are held by Nagle stalls here as it would under Postfix.
 *
 * Output: one line of key=value: msgs, secs, rate (msgs/s), p50/p90/p99
 * (ms, from the MAIL step to the final end-of-message reply), cpu_ms (of
 * PID per message, from /proc/PID/stat), rss_kb (peak RSS of PID during
 * the measured part: VmHWM after resetting it via /proc/PID/clear_refs),
 * errors (protocol errors, timeouts, failed connections, tempfail
 * replies) and counts of final replies and header changes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#define WBUF 4096		/* Postfix VSTREAM_BUFSIZE */
#define MAX_PKT (1 << 20)
#define N_STAGES 7		/* SMFIM_CONNECT .. SMFIM_EOH */

struct hdr {
	char *name;
	char *value;	/* after the colon, folds as "\n" */
};

struct msg {
	char ip[64], client[256], helo[256], from[512], rcpt[512], qid[32];
	struct hdr *h;
	size_t nh;
	char *body;	/* CRLF */
	size_t body_len;
};

static struct msg *corpus;
static size_t n_corpus;
static atomic_size_t cursor;

/* 0 warm-up, 1 measuring, 2 stopping */
static atomic_int phase;
static struct timespec t_start, t_stop;

static const char *sockspec, *sockspec2;
static struct msg *corpus2;
static size_t n_corpus2;
static int per_conn;
static size_t max_msgs;		/* -m: this many messages, then stop */
static atomic_size_t taken;
static int verbose;
static atomic_int dump_left;	/* -H N: print the fields added to the first N messages */
static atomic_ulong seen_pflags;

struct stats {
	uint32_t *lat_us;
	size_t n, cap;
	unsigned long errors, accept, reject, tempfail, discard, cont, other, hdr_add, hdr_chg, quarantine;
};

static double
ts_sec(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

static double
now_sec(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ts_sec(&t);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "miltergen: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

/* ---- corpus ---- */

static char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Splits a CRLF message into header fields ("\n" folds) and body. */
static void
parse_message(struct msg *m, const char *p, size_t len)
{
	const char *end = p + len, *q;
	size_t cap = 16;

	m->h = xmalloc(cap * sizeof(*m->h));
	m->nh = 0;
	while (p < end) {
		const char *eol, *colon, *fend;
		char *v;
		size_t vl = 0;

		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			p += 2;
			break;
		}
		/* the field runs to the CRLF not followed by a space or tab */
		fend = p;
		for (;;) {
			eol = memmem(fend, (size_t)(end - fend), "\r\n", 2);
			if (eol == NULL) {
				eol = end;
				break;
			}
			if (eol + 2 < end && (eol[2] == ' ' || eol[2] == '\t')) {
				fend = eol + 2;
				continue;
			}
			break;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL)
			die("corpus: header line without a colon");
		if (m->nh == cap) {
			cap *= 2;
			m->h = realloc(m->h, cap * sizeof(*m->h));
			if (m->h == NULL)
				die("out of memory");
		}
		m->h[m->nh].name = xstrndup(p, (size_t)(colon - p));
		v = xmalloc((size_t)(eol - colon));
		for (q = colon + 1; q < eol; q++) {
			if (q[0] == '\r' && q + 1 < eol && q[1] == '\n')
				continue;	/* CRLF fold -> LF */
			v[vl++] = *q;
		}
		v[vl] = '\0';
		m->h[m->nh].value = v;
		m->nh++;
		p = eol < end ? eol + 2 : end;
	}
	m->body_len = (size_t)(end - p);
	m->body = xmalloc(m->body_len);
	memcpy(m->body, p, m->body_len);
}

static void
load_corpus(const char *path)
{
	FILE *f = fopen(path, "rb");
	char line[2048];
	size_t n;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	if (fgets(line, sizeof(line), f) == NULL || sscanf(line, "SCBENCH1 %zu", &n) != 1 || n == 0)
		die("%s: not a bench corpus", path);
	corpus = calloc(n, sizeof(*corpus));
	if (corpus == NULL)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		struct msg *m = &corpus[i];
		size_t len;
		char *raw;

		if (fgets(line, sizeof(line), f) == NULL ||
		    sscanf(line, "%63s %255s %255s %511s %511s %zu", m->ip, m->client, m->helo, m->from,
		    m->rcpt, &len) != 6)
			die("%s: bad envelope line for message %zu", path, i + 1);
		raw = xmalloc(len);
		if (fread(raw, 1, len, f) != len)
			die("%s: short message %zu", path, i + 1);
		snprintf(m->qid, sizeof(m->qid), "4Q%06zuX", i);
		parse_message(m, raw, len);
		free(raw);
	}
	n_corpus = n;
	fclose(f);
}

/* ---- connection with Postfix-like buffering ---- */

struct conn {
	int fd;
	unsigned char *wbuf;
	size_t wlen, wsize;
	unsigned char rbuf[WBUF];
	size_t rpos, rlen;
	unsigned char *pkt;	/* last packet's data */
	uint32_t pkt_len;
	unsigned long version, actions, pflags;
	char *symlist[N_STAGES];	/* the filter's lists, or NULL */
};

static int
write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
flush(struct conn *c)
{
	if (c->wlen == 0)
		return 0;
	if (write_all(c->fd, c->wbuf, c->wlen) < 0)
		return -1;
	c->wlen = 0;
	return 0;
}

static int
put(struct conn *c, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n > 0) {
		size_t k = c->wsize - c->wlen;

		if (k == 0) {
			if (flush(c) < 0)
				return -1;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(c->wbuf + c->wlen, s, k);
		c->wlen += k;
		s += k;
		n -= k;
	}
	return 0;
}

static int
put_u32(struct conn *c, uint32_t v)
{
	v = htonl(v);
	return put(c, &v, 4);
}

/* One packet: command and data pieces (NULL-terminated list of ptr,len). */
static int
send_pkt(struct conn *c, char cmd, const void *d1, size_t n1, const void *d2, size_t n2)
{
	if (put_u32(c, (uint32_t)(1 + n1 + n2)) < 0 || put(c, &cmd, 1) < 0)
		return -1;
	if (n1 && put(c, d1, n1) < 0)
		return -1;
	if (n2 && put(c, d2, n2) < 0)
		return -1;
	return 0;
}

static int
get(struct conn *c, void *p, size_t n)
{
	unsigned char *d = p;

	if (flush(c) < 0)
		return -1;
	while (n > 0) {
		if (c->rpos == c->rlen) {
			ssize_t r = read(c->fd, c->rbuf, sizeof(c->rbuf));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1;	/* EOF, error or SO_RCVTIMEO */
			c->rpos = 0;
			c->rlen = (size_t)r;
		}
		size_t k = c->rlen - c->rpos;
		if (k > n)
			k = n;
		memcpy(d, c->rbuf + c->rpos, k);
		c->rpos += k;
		d += k;
		n -= k;
	}
	return 0;
}

/* Reads one reply packet; returns its command or -1. */
static int
read_pkt(struct conn *c)
{
	uint32_t len;
	unsigned char cmd;

	if (get(c, &len, 4) < 0)
		return -1;
	len = ntohl(len);
	if (len < 1 || len > MAX_PKT)
		return -1;
	if (get(c, &cmd, 1) < 0)
		return -1;
	c->pkt_len = len - 1;
	free(c->pkt);
	c->pkt = xmalloc(c->pkt_len + 1);
	if (c->pkt_len && get(c, c->pkt, c->pkt_len) < 0)
		return -1;
	c->pkt[c->pkt_len] = '\0';
	return cmd;
}

static int
conn_open(struct conn *c, const char *spec)
{
	int fd = -1;
	struct timeval tv = { 30, 0 };

	memset(c, 0, sizeof(*c));
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", strchr(spec, ':') + 1);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			goto fail;
	} else if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0) {
		char port[16], host[256] = "127.0.0.1";
		const char *p = strchr(spec, ':') + 1, *at = strchr(p, '@');
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;

		snprintf(port, sizeof(port), "%.*s", at ? (int)(at - p) : (int)strlen(p), p);
		if (at)
			snprintf(host, sizeof(host), "%s", at + 1);
		if (getaddrinfo(host, port, &hints, &ai) != 0)
			goto fail;
		fd = socket(ai->ai_family, SOCK_STREAM, 0);
		/* no TCP_NODELAY: Postfix leaves Nagle on */
		if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			freeaddrinfo(ai);
			goto fail;
		}
		freeaddrinfo(ai);
	} else {
		die("bad socket %s (unix:/path or inet:PORT@HOST)", spec);
	}
	/*
	 * Postfix's vstream_tweak_tcp(): over TCP the write buffer is twice
	 * the MSS (Nagle then holds no short segment between full ones);
	 * otherwise VSTREAM_BUFSIZE.
	 */
	c->wsize = WBUF;
	if (strncmp(spec, "inet", 4) == 0) {
		int mss = 0;
		socklen_t ml = sizeof(mss);

		if (getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &ml) == 0 && mss > 0)
			c->wsize = 2 * (size_t)mss;
	}
	c->wbuf = xmalloc(c->wsize);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->fd = fd;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	c->fd = -1;
	return -1;
}

static void
conn_close(struct conn *c, int quit)
{
	if (c->fd >= 0) {
		if (quit) {
			send_pkt(c, SMFIC_QUIT, NULL, 0, NULL, 0);
			flush(c);
		}
		close(c->fd);
	}
	c->fd = -1;
	free(c->wbuf);
	c->wbuf = NULL;
	free(c->pkt);
	c->pkt = NULL;
	for (int i = 0; i < N_STAGES; i++) {
		free(c->symlist[i]);
		c->symlist[i] = NULL;
	}
}

/* ---- macros ---- */

static const char *const default_macros[N_STAGES] = {
	[SMFIM_CONNECT] = "j {daemon_name} {daemon_addr} v _ {client_addr} {client_name} {client_ptr} {client_port}",
	[SMFIM_HELO] = "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}",
	[SMFIM_ENVFROM] = "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}",
	[SMFIM_ENVRCPT] = "{rcpt_addr} {rcpt_host} {rcpt_mailer}",
	[SMFIM_DATA] = "i",
	[SMFIM_EOM] = "i",
	[SMFIM_EOH] = "i",
};

static const char *
after_at(const char *a)
{
	const char *at = strrchr(a, '@');

	return at ? at + 1 : "";
}

/* The value of a macro for message m, or NULL when Postfix has none. */
static const char *
macro_value(const struct msg *m, const char *name, char *buf, size_t len)
{
	if (strcmp(name, "j") == 0 || strcmp(name, "{daemon_name}") == 0)
		return "mx.receiver.example";
	if (strcmp(name, "{daemon_addr}") == 0)
		return "192.0.2.250";
	if (strcmp(name, "v") == 0)
		return "Postfix 3.7.11";
	if (strcmp(name, "_") == 0) {
		snprintf(buf, len, "%s [%s]", m->client, m->ip);
		return buf;
	}
	if (strcmp(name, "{client_addr}") == 0)
		return m->ip;
	if (strcmp(name, "{client_name}") == 0 || strcmp(name, "{client_ptr}") == 0)
		return m->client;
	if (strcmp(name, "{client_port}") == 0)
		return "40000";
	if (strcmp(name, "i") == 0)
		return m->qid;
	if (strcmp(name, "{mail_addr}") == 0)
		return m->from;
	if (strcmp(name, "{mail_host}") == 0)
		return after_at(m->from);
	if (strcmp(name, "{mail_mailer}") == 0 || strcmp(name, "{rcpt_mailer}") == 0)
		return "smtp";
	if (strcmp(name, "{rcpt_addr}") == 0)
		return m->rcpt;
	if (strcmp(name, "{rcpt_host}") == 0)
		return after_at(m->rcpt);
	return NULL;	/* no TLS, no AUTH */
}

/* Sends the SMFIC_MACRO packet of a stage before its command. */
static int
send_macros(struct conn *c, int stage, char cmd, const struct msg *m)
{
	const char *list = c->symlist[stage] ? c->symlist[stage] : default_macros[stage];
	char data[4096], name[128], vbuf[600];
	size_t n = 0;

	data[n++] = cmd;
	while (*list) {
		size_t k = strcspn(list, " ");
		const char *v;

		if (k > 0 && k < sizeof(name)) {
			memcpy(name, list, k);
			name[k] = '\0';
			v = macro_value(m, name, vbuf, sizeof(vbuf));
			/* a filter may ask for "{i}" or "i": Postfix answers both */
			if (v == NULL && name[0] == '{' && k > 2 && name[k - 1] == '}') {
				char bare[128];

				snprintf(bare, sizeof(bare), "%.*s", (int)(k - 2), name + 1);
				v = macro_value(m, bare, vbuf, sizeof(vbuf));
			}
			if (v != NULL && n + k + strlen(v) + 2 < sizeof(data)) {
				memcpy(data + n, name, k + 1);
				n += k + 1;
				memcpy(data + n, v, strlen(v) + 1);
				n += strlen(v) + 1;
			}
		}
		list += k;
		while (*list == ' ')
			list++;
	}
	if (n == 1)
		return 0;
	return send_pkt(c, SMFIC_MACRO, data, n, NULL, 0);
}

/* ---- the protocol ---- */

/* Waits for the reply to a non-final step: continue (or progress). */
static int
expect_continue(struct conn *c, struct stats *st)
{
	for (;;) {
		int r = read_pkt(c);

		if (r == SMFIR_PROGRESS)
			continue;
		if (r == SMFIR_CONTINUE)
			return 0;
		if (r == SMFIR_SKIP)
			return 1;
		if (r == SMFIR_ACCEPT || r == SMFIR_REJECT || r == SMFIR_DISCARD ||
		    r == SMFIR_TEMPFAIL || r == SMFIR_REPLYCODE) {
			if (verbose)
				fprintf(stderr, "miltergen: early reply '%c'\n", r);
			st->other++;
			return 2;
		}
		if (verbose)
			fprintf(stderr, "miltergen: unexpected reply %d\n", r);
		return -1;
	}
}

static int
negotiate(struct conn *c)
{
	unsigned char data[12];
	uint32_t v[3];
	int r;

	v[0] = htonl(6);
	v[1] = htonl(SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_CHGHDRS |
	    SMFIF_QUARANTINE | SMFIF_CHGFROM | SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST);
	v[2] = htonl(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT | SMFIP_NOBODY |
	    SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_HDR | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP |
	    SMFIP_RCPT_REJ | SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |
	    SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC);
	memcpy(data, v, 12);
	if (send_pkt(c, SMFIC_OPTNEG, data, 12, NULL, 0) < 0)
		return -1;
	if ((r = read_pkt(c)) != SMFIC_OPTNEG || c->pkt_len < 12)
		return -1;
	memcpy(v, c->pkt, 12);
	c->version = ntohl(v[0]);
	c->actions = ntohl(v[1]);
	c->pflags = ntohl(v[2]);
	/* symbol lists: (uint32 stage, "names\0")* */
	for (size_t off = 12; off + 5 <= c->pkt_len;) {
		uint32_t stage;
		size_t l;

		memcpy(&stage, c->pkt + off, 4);
		stage = ntohl(stage);
		off += 4;
		l = strnlen((char *)c->pkt + off, c->pkt_len - off);
		if (stage < N_STAGES) {
			free(c->symlist[stage]);
			c->symlist[stage] = xstrndup((char *)c->pkt + off, l);
		}
		off += l + 1;
	}
	atomic_store(&seen_pflags, c->pflags);
	return 0;
}

/* Opens a connection and sends CONNECT and HELO for message m's client. */
static int
session_start(struct conn *c, const char *spec, const struct msg *m, struct stats *st)
{
	unsigned long f;

	if (conn_open(c, spec) < 0 || negotiate(c) < 0)
		return -1;
	f = c->pflags;
	if (send_macros(c, SMFIM_CONNECT, SMFIC_CONNECT, m) < 0)
		return -1;
	if (!(f & SMFIP_NOCONNECT)) {
		char d[600];
		size_t n = 0, l = strlen(m->client) + 1;
		uint16_t port = htons(40000);

		memcpy(d + n, m->client, l);
		n += l;
		d[n++] = strchr(m->ip, ':') ? SMFIA_INET6 : SMFIA_INET;
		memcpy(d + n, &port, 2);
		n += 2;
		l = strlen(m->ip) + 1;
		memcpy(d + n, m->ip, l);
		n += l;
		if (send_pkt(c, SMFIC_CONNECT, d, n, NULL, 0) < 0)
			return -1;
		if (!(f & SMFIP_NR_CONN) && expect_continue(c, st) != 0)
			return -1;
	}
	if (send_macros(c, SMFIM_HELO, SMFIC_HELO, m) < 0)
		return -1;
	if (!(f & SMFIP_NOHELO)) {
		if (send_pkt(c, SMFIC_HELO, m->helo, strlen(m->helo) + 1, NULL, 0) < 0)
			return -1;
		if (!(f & SMFIP_NR_HELO) && expect_continue(c, st) != 0)
			return -1;
	}
	return 0;
}

/* A step that may need a reply: 0 go on, 1 message ended early, -1 error. */
static int
step_reply(struct conn *c, unsigned long nr_bit, struct stats *st)
{
	int r;

	if (c->pflags & nr_bit)
		return 0;
	r = expect_continue(c, st);
	if (r < 0)
		return -1;
	return r == 2 ? 1 : 0;
}

/* One message; returns 0, or -1 on a protocol error (connection unusable). */
static int
send_message(struct conn *c, const struct msg *m, struct stats *st)
{
	unsigned long f = c->pflags;
	char addr[520];
	int r;

	snprintf(addr, sizeof(addr), "<%s>", m->from);
	if (send_macros(c, SMFIM_ENVFROM, SMFIC_MAIL, m) < 0)
		return -1;
	if (!(f & SMFIP_NOMAIL)) {
		if (send_pkt(c, SMFIC_MAIL, addr, strlen(addr) + 1, NULL, 0) < 0)
			return -1;
		if ((r = step_reply(c, SMFIP_NR_MAIL, st)) != 0)
			return r < 0 ? -1 : 0;
	}
	snprintf(addr, sizeof(addr), "<%s>", m->rcpt);
	if (send_macros(c, SMFIM_ENVRCPT, SMFIC_RCPT, m) < 0)
		return -1;
	if (!(f & SMFIP_NORCPT)) {
		if (send_pkt(c, SMFIC_RCPT, addr, strlen(addr) + 1, NULL, 0) < 0)
			return -1;
		if ((r = step_reply(c, SMFIP_NR_RCPT, st)) != 0)
			return r < 0 ? -1 : 0;
	}
	if (send_macros(c, SMFIM_DATA, SMFIC_DATA, m) < 0)
		return -1;
	if (!(f & SMFIP_NODATA)) {
		if (send_pkt(c, SMFIC_DATA, NULL, 0, NULL, 0) < 0)
			return -1;
		if ((r = step_reply(c, SMFIP_NR_DATA, st)) != 0)
			return r < 0 ? -1 : 0;
	}
	if (!(f & SMFIP_NOHDRS)) {
		for (size_t i = 0; i < m->nh; i++) {
			const char *v = m->h[i].value;

			if (!(f & SMFIP_HDR_LEADSPC))
				while (*v == ' ' || *v == '\t')
					v++;
			if (send_pkt(c, SMFIC_HEADER, m->h[i].name, strlen(m->h[i].name) + 1, v,
			    strlen(v) + 1) < 0)
				return -1;
			if ((r = step_reply(c, SMFIP_NR_HDR, st)) != 0)
				return r < 0 ? -1 : 0;
		}
	}
	if (send_macros(c, SMFIM_EOH, SMFIC_EOH, m) < 0)
		return -1;
	if (!(f & SMFIP_NOEOH)) {
		if (send_pkt(c, SMFIC_EOH, NULL, 0, NULL, 0) < 0)
			return -1;
		if ((r = step_reply(c, SMFIP_NR_EOH, st)) != 0)
			return r < 0 ? -1 : 0;
	}
	if (!(f & SMFIP_NOBODY)) {
		for (size_t off = 0; off < m->body_len;) {
			size_t k = m->body_len - off;

			if (k > MILTER_CHUNK_SIZE)
				k = MILTER_CHUNK_SIZE;
			if (send_pkt(c, SMFIC_BODY, m->body + off, k, NULL, 0) < 0)
				return -1;
			off += k;
			if (!(f & SMFIP_NR_BODY)) {
				r = expect_continue(c, st);
				if (r < 0)
					return -1;
				if (r == 2)
					return 0;
				if (r == 1)
					break;	/* SMFIR_SKIP */
			}
		}
	}
	if (send_macros(c, SMFIM_EOM, SMFIC_BODYEOB, m) < 0)
		return -1;
	if (send_pkt(c, SMFIC_BODYEOB, NULL, 0, NULL, 0) < 0)
		return -1;
	for (;;) {
		int cmd = read_pkt(c);

		switch (cmd) {
		case SMFIR_ACCEPT:	st->accept++; atomic_fetch_sub(&dump_left, 1); return 0;
		case SMFIR_CONTINUE:	st->cont++; return 0;
		case SMFIR_DISCARD:	st->discard++; return 0;
		case SMFIR_REJECT:	st->reject++; return 0;
		case SMFIR_TEMPFAIL:	st->tempfail++; return 0;
		case SMFIR_REPLYCODE:
			if (c->pkt_len > 0 && c->pkt[0] == '4')
				st->tempfail++;
			else
				st->reject++;
			return 0;
		case SMFIR_ADDHEADER:
		case SMFIR_INSHEADER:
			st->hdr_add++;
			if (atomic_load(&dump_left) > 0) {
				const unsigned char *p = c->pkt + (cmd == SMFIR_INSHEADER ? 4 : 0);
				size_t nl = strnlen((const char *)p, c->pkt_len);

				fprintf(stderr, "%s: %s:%s\n", m->qid, p, p + nl + 1);
			}
			break;
		case SMFIR_CHGHEADER:	st->hdr_chg++; break;
		case SMFIR_QUARANTINE:	st->quarantine++; break;
		case SMFIR_PROGRESS:
		case SMFIR_ADDRCPT:
		case SMFIR_DELRCPT:
		case SMFIR_ADDRCPT_PAR:
		case SMFIR_CHGFROM:
		case SMFIR_REPLBODY:
			break;
		default:
			return -1;
		}
	}
}

static void
record(struct stats *st, double t0, double t1)
{
	if (st->n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 4096;
		st->lat_us = realloc(st->lat_us, st->cap * sizeof(*st->lat_us));
		if (st->lat_us == NULL)
			die("out of memory");
	}
	st->lat_us[st->n++] = (uint32_t)((t1 - t0) * 1e6);
}

static void *
worker(void *arg)
{
	struct stats *st = arg;
	struct conn c = { .fd = -1 }, c2 = { .fd = -1 };
	int in_conn = 0;

	while (atomic_load(&phase) < 2) {
		if (max_msgs > 0 && atomic_fetch_add(&taken, 1) >= max_msgs)
			break;
		size_t i = atomic_fetch_add(&cursor, 1) % n_corpus;
		const struct msg *m = &corpus[i], *m2 = corpus2 ? &corpus2[i % n_corpus2] : NULL;
		double t0, t1;
		int measuring;

		if (c.fd < 0 || (sockspec2 && c2.fd < 0)) {
			if (session_start(&c, sockspec, m, st) < 0 ||
			    (sockspec2 && session_start(&c2, sockspec2, m2, st) < 0)) {
				if (atomic_load(&phase) == 1)
					st->errors++;
				conn_close(&c, 0);
				conn_close(&c2, 0);
				usleep(10000);
				continue;
			}
			in_conn = 0;
		}
		t0 = now_sec();
		measuring = atomic_load(&phase) == 1 && t0 >= ts_sec(&t_start);
		unsigned long tf = st->tempfail;
		if (send_message(&c, m, st) < 0 || (sockspec2 && send_message(&c2, m2, st) < 0)) {
			if (measuring && atomic_load(&phase) == 1)
				st->errors++;
			if (verbose)
				fprintf(stderr, "miltergen: protocol error on message %zu\n", i);
			conn_close(&c, 0);
			conn_close(&c2, 0);
			continue;
		}
		t1 = now_sec();
		if (measuring && atomic_load(&phase) == 1) {
			record(st, t0, t1);
			if (st->tempfail != tf)
				st->errors++;
		}
		if (per_conn > 0 && ++in_conn >= per_conn) {
			conn_close(&c, 1);
			conn_close(&c2, 1);
		}
	}
	conn_close(&c, 1);
	conn_close(&c2, 1);
	return NULL;
}

/* ---- the filter process ---- */

static double
proc_cpu_sec(int pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut = 0, stime = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* fields after ")": state(3) ... utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stime) != 2)
		return -1;
	return (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
}

static long
proc_status_kb(int pid, const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return v;
}

static void
reset_hwm(int pid)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", pid);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("5", f);
		fclose(f);
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i] / 1000.0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: miltergen -s SOCKET -c CORPUS [-n CONC] [-t SECONDS] [-w WARMUP] "
	    "[-p PID[,PID...]] [-k MSGS_PER_CONN] [-r START] [-m MSGS] [-S SOCKET2 -C CORPUS2] [-v]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *corpus_path = NULL, *corpus2_path = NULL;
	int conc = 1, pids[16], npids = 0, pid = 0, opt;
	char *tok, *save;
	double secs = 3, warm = 1, cpu0 = 0, cpu1 = 0;
	pthread_t *th;
	struct stats *st, tot = { 0 };
	long rss = -1;

	while ((opt = getopt(argc, argv, "s:c:n:t:w:p:k:r:m:vH:S:C:")) != -1) {
		switch (opt) {
		case 's': sockspec = optarg; break;
		case 'c': corpus_path = optarg; break;
		case 'S': sockspec2 = optarg; break;
		case 'C': corpus2_path = optarg; break;
		case 'n': conc = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'w': warm = atof(optarg); break;
		case 'p':
			for (tok = strtok_r(optarg, ",", &save); tok && npids < 16;
			    tok = strtok_r(NULL, ",", &save))
				pids[npids++] = atoi(tok);
			pid = npids > 0 ? pids[0] : 0;
			break;
		case 'k': per_conn = atoi(optarg); break;
		case 'm': max_msgs = (size_t)strtoul(optarg, NULL, 10); break;
		case 'r': atomic_store(&cursor, (size_t)strtoul(optarg, NULL, 10)); break;
		case 'v': verbose = 1; break;
		case 'H': atomic_store(&dump_left, atoi(optarg)); break;
		default: usage();
		}
	}
	if (sockspec == NULL || corpus_path == NULL || conc < 1 || secs <= 0)
		usage();
	if ((sockspec2 == NULL) != (corpus2_path == NULL))
		usage();
	if (corpus2_path != NULL) {
		load_corpus(corpus2_path);
		corpus2 = corpus;
		n_corpus2 = n_corpus;
	}
	load_corpus(corpus_path);
	th = xmalloc((size_t)conc * sizeof(*th));
	st = calloc((size_t)conc, sizeof(*st));
	if (st == NULL)
		die("out of memory");
	if (max_msgs > 0) {
		/* every message counts: measuring from before the first one */
		warm = 0;
		for (int k = 0; k < npids; k++) {
			reset_hwm(pids[k]);
			cpu0 += proc_cpu_sec(pids[k]);
		}
		atomic_store(&phase, 1);
	}
	/* measuring starts after the warm-up, from a time set before it begins */
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	t_start.tv_sec += (time_t)warm;
	t_start.tv_nsec += (long)((warm - (double)(time_t)warm) * 1e9);
	if (t_start.tv_nsec >= 1000000000L) {
		t_start.tv_sec++;
		t_start.tv_nsec -= 1000000000L;
	}
	for (int i = 0; i < conc; i++)
		if (pthread_create(&th[i], NULL, worker, &st[i]) != 0)
			die("pthread_create failed");
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t_start, NULL);
	for (int k = 0; k < npids && max_msgs == 0; k++) {
		reset_hwm(pids[k]);
		cpu0 += proc_cpu_sec(pids[k]);
	}
	atomic_store(&phase, 1);
	if (max_msgs > 0) {
		/* the workers stop after the last message: wait for them */
		for (int i = 0; i < conc; i++)
			pthread_join(th[i], NULL);
	} else {
		struct timespec end = t_start;
		end.tv_sec += (time_t)secs;
		end.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
		if (end.tv_nsec >= 1000000000L) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000L;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL);
	}
	for (int k = 0; k < npids; k++) {
		cpu1 += proc_cpu_sec(pids[k]);
		rss = (rss < 0 ? 0 : rss) + proc_status_kb(pids[k], "VmHWM");
	}
	clock_gettime(CLOCK_MONOTONIC, &t_stop);
	if (max_msgs == 0) {
		atomic_store(&phase, 2);
		for (int i = 0; i < conc; i++)
			pthread_join(th[i], NULL);
	}

	/* only messages that ended inside the measured window count */
	for (int i = 0; i < conc; i++) {
		tot.errors += st[i].errors;
		tot.accept += st[i].accept;
		tot.reject += st[i].reject;
		tot.tempfail += st[i].tempfail;
		tot.discard += st[i].discard;
		tot.cont += st[i].cont;
		tot.other += st[i].other;
		tot.hdr_add += st[i].hdr_add;
		tot.hdr_chg += st[i].hdr_chg;
		tot.quarantine += st[i].quarantine;
		for (size_t k = 0; k < st[i].n; k++) {
			if (tot.n == tot.cap) {
				tot.cap = tot.cap ? 2 * tot.cap : 65536;
				tot.lat_us = realloc(tot.lat_us, tot.cap * sizeof(*tot.lat_us));
				if (tot.lat_us == NULL)
					die("out of memory");
			}
			tot.lat_us[tot.n++] = st[i].lat_us[k];
		}
	}
	double window = ts_sec(&t_stop) - ts_sec(&t_start);
	qsort(tot.lat_us, tot.n, sizeof(*tot.lat_us), cmp_u32);
	printf("msgs=%zu secs=%.3f rate=%.1f p50=%.3f p90=%.3f p99=%.3f cpu_ms=%.4f rss_kb=%ld "
	    "errors=%lu accept=%lu continue=%lu reject=%lu tempfail=%lu discard=%lu early=%lu "
	    "hdr_add=%lu hdr_chg=%lu quarantine=%lu pflags=0x%x\n",
	    tot.n, window, tot.n / window, pct(tot.lat_us, tot.n, 0.50), pct(tot.lat_us, tot.n, 0.90),
	    pct(tot.lat_us, tot.n, 0.99),
	    (pid > 0 && tot.n) ? (cpu1 - cpu0) * 1000.0 / (double)tot.n : 0.0, rss, tot.errors,
	    tot.accept, tot.cont, tot.reject, tot.tempfail, tot.discard, tot.other, tot.hdr_add,
	    tot.hdr_chg, tot.quarantine, (unsigned)atomic_load(&seen_pflags));
	return 0;
}
