/*
 * sharedstate: the fleet's bulk-sender counts in Redis; see sharedstate.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "htable.h"
#include "log.h"
#include "sbuf.h"
#include "sharedstate.h"
#include "thread.h"

#define SLOTS 24
#define ORG_MAX 254
#define TICK_MS 100		/* writes: at most this long after a count */
#define REFRESH_MS 500		/* fetches of what other daemons counted */
#define RETRY_MS 1000		/* reconnects while Redis is away */
#define PRUNE_S 60
#define WARN_EVERY_S 60
#define WRITE_BATCH 1000	/* domains per write pipeline */
#define FETCH_PAGE 2000		/* changed domains per fetch */
#define KEY_TTL "90000"		/* 25 h */
#define MAX_ARGS 64

#define KEY_VOL "sendercheck:vol:"
#define KEY_RECENT "sendercheck:recent"
#define KEY_BULK "sendercheck:bulk"

/*
 * KEYS: vol:ORG, recent, bulk. ARGV: ORG, ":HOST:RUN", the hour now,
 * BulkThreshold, then HOUR COUNT pairs of this run. Raises this run's
 * fields to the counts given (a run's count of an hour only grows, so a
 * late copy of an older write can never lower it), drops hours older than
 * 24 h, sums the last 24 h, notes the domain as changed (Redis clock, ms)
 * and marks it bulk at or over the threshold. Returns the fleet's count.
 */
static const char write_script[] =
	"local t = redis.call('TIME')\n"
	"local f = redis.call('HGETALL', KEYS[1])\n"
	"local now, total, old, cur = tonumber(ARGV[3]), 0, {}, {}\n"
	"for i = 1, #f, 2 do cur[f[i]] = tonumber(f[i + 1]) or 0 end\n"
	"for i = 5, #ARGV, 2 do\n"
	"  local name, n = ARGV[i] .. ARGV[2], tonumber(ARGV[i + 1])\n"
	"  if n > (cur[name] or 0) then redis.call('HSET', KEYS[1], name, n); cur[name] = n end\n"
	"end\n"
	"for name, n in pairs(cur) do\n"
	"  local h = tonumber(string.match(name, '^(%d+):'))\n"
	"  if h == nil or h <= now - 24 then old[#old + 1] = name\n"
	"  elseif h <= now then total = total + n end\n"
	"end\n"
	"if #old > 0 then redis.call('HDEL', KEYS[1], unpack(old)) end\n"
	"redis.call('EXPIRE', KEYS[1], " KEY_TTL ")\n"
	"redis.call('ZADD', KEYS[2], t[1] * 1000 + math.floor(t[2] / 1000), ARGV[1])\n"
	"if total >= tonumber(ARGV[4]) then\n"
	"  local s = redis.call('ZSCORE', KEYS[3], ARGV[1])\n"
	"  if not s or tonumber(s) < tonumber(t[1]) then redis.call('ZADD', KEYS[3], t[1], ARGV[1]) end\n"
	"end\n"
	"return total\n";

struct redis_addr {
	char host[256];		/* "" for a unix socket */
	char path[108];
	int port;
	unsigned db;
};

struct entry {
	struct hlink link;		/* in the table */
	struct entry *dirty_next;
	int64_t hour[SLOTS];		/* the hour each slot holds */
	uint32_t mine[SLOTS];		/* this run's counts */
	uint32_t others[SLOTS];		/* every other run's, as last fetched */
	int64_t bulk_at;
	int dirty;			/* in the dirty list */
	char org[];
};

struct sharedstate {
	struct redis_addr addr;
	char *uri, *password_file, *suffix;
	unsigned timeout_ms, threshold;
	int64_t sticky;
	size_t max;

	pthread_mutex_t lock;		/* the table and the dirty list */
	struct htable table;		/* of struct entry, by organizational domain */
	struct entry *dirty;
	size_t n_dirty;

	pthread_mutex_t run_lock;	/* the thread's sleep */
	pthread_cond_t wake;
	pthread_t thread;
	int running, stopping;

	/* the thread's own */
	redisContext *rc;
	char sha[48];
	char run_id[48];		/* the Redis process we last talked to */
	int full;			/* next fetch takes everything */
	int stumbled;			/* one round trip failed since the last good one */
	long long since_ms, bulk_since;
	time_t last_warn, down_since;

	atomic_int up;
	atomic_ulong fallbacks, errors, outages;
	struct histo rtt;
};

/* ---- configuration ---- */

static int
parse_db(const char *p, unsigned *db)
{
	char *end;
	unsigned long v;

	if (*p == '\0')
		return 0;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno || end == p || *end != '\0' || !isdigit((unsigned char)*p) || v > 65535)
		return -1;
	*db = (unsigned)v;
	return 0;
}

static int
parse_uri(const char *uri, struct redis_addr *a, char *why, size_t whylen)
{
	const char *p, *e;

	memset(a, 0, sizeof(*a));
	a->port = 6379;
	if (strncmp(uri, "rediss://", 9) == 0) {
		snprintf(why, whylen, "'%s': rediss:// (TLS) is not available: Debian 12's hiredis 0.14 "
		    "has no TLS; use a unix socket or a local TLS tunnel", uri);
		return -1;
	}
	if (strncmp(uri, "unix:", 5) == 0) {
		p = uri + 5;
		e = strchr(p, '?');
		if (*p != '/' || (size_t)((e ? e : p + strlen(p)) - p) >= sizeof(a->path)) {
			snprintf(why, whylen, "'%s': expected unix:/absolute/path (at most %zu characters)",
			    uri, sizeof(a->path) - 1);
			return -1;
		}
		memcpy(a->path, p, (size_t)((e ? e : p + strlen(p)) - p));
		if (e != NULL && (strncmp(e, "?db=", 4) != 0 || e[4] == '\0' || parse_db(e + 4, &a->db) < 0)) {
			snprintf(why, whylen, "'%s': after the path only ?db=N (0..65535)", uri);
			return -1;
		}
		return 0;
	}
	if (strncmp(uri, "redis://", 8) != 0) {
		snprintf(why, whylen, "'%s': expected redis://HOST[:PORT][/DB] or unix:/path", uri);
		return -1;
	}
	p = uri + 8;
	if (strchr(p, '@') != NULL) {
		snprintf(why, whylen, "no user or password in the URI: put them in SharedStatePasswordFile");
		return -1;
	}
	if (*p == '[') {
		if ((e = strchr(p, ']')) == NULL) {
			snprintf(why, whylen, "'%s': unclosed '[' in the host", uri);
			return -1;
		}
		p++;
	} else {
		e = p + strcspn(p, ":/");
	}
	if (e == p || (size_t)(e - p) >= sizeof(a->host)) {
		snprintf(why, whylen, "'%s': no host", uri);
		return -1;
	}
	memcpy(a->host, p, (size_t)(e - p));
	if (*e == ']')
		e++;
	if (*e == ':') {
		char *end;
		unsigned long port;

		errno = 0;
		port = strtoul(e + 1, &end, 10);
		if (errno || end == e + 1 || port == 0 || port > 65535 || (*end != '\0' && *end != '/')) {
			snprintf(why, whylen, "'%s': the port must be 1..65535", uri);
			return -1;
		}
		a->port = (int)port;
		e = end;
	}
	if (*e == '/' && parse_db(e + 1, &a->db) < 0) {
		snprintf(why, whylen, "'%s': the database must be a number 0..65535", uri);
		return -1;
	}
	if (*e != '\0' && *e != '/') {
		snprintf(why, whylen, "'%s': unexpected '%s'", uri, e);
		return -1;
	}
	return 0;
}

int
sharedstate_check_uri(const char *uri, char *why, size_t whylen)
{
	struct redis_addr a;

	return parse_uri(uri, &a, why, whylen);
}

const char *
sharedstate_uri(const struct sharedstate *s)
{
	return s->uri;
}

struct histo *
sharedstate_latency(struct sharedstate *s)
{
	return &s->rtt;
}

/* ---- the local copy ---- */

static int
same_org(const struct hlink *l, const void *org)
{
	return strcmp(HTABLE_RECORD(l, struct entry, link)->org, org) == 0;
}

/* With s->lock held. NULL: not there (create 0), table full or no memory. */
static struct entry *
find(struct sharedstate *s, const char *org, int create)
{
	uint64_t h = htable_hash_str(HTABLE_HASH_INIT, org);
	struct hlink *l = htable_find(&s->table, h, org);
	struct entry *e;
	size_t len;

	if (l != NULL)
		return HTABLE_RECORD(l, struct entry, link);
	if (!create || s->table.n >= s->max)
		return NULL;
	len = strlen(org);
	if ((e = calloc(1, sizeof(*e) + len + 1)) == NULL)
		return NULL;
	memcpy(e->org, org, len + 1);
	htable_add(&s->table, &e->link, h);
	return e;
}

/* The slot of hour, emptied if it held an older hour; -1 if it holds a newer one. */
static int
slot(struct entry *e, int64_t hour)
{
	int i = (int)(hour % SLOTS);

	if (e->hour[i] > hour)
		return -1;
	if (e->hour[i] != hour) {
		e->hour[i] = hour;
		e->mine[i] = 0;
		e->others[i] = 0;
	}
	return i;
}

static unsigned long
window_sum(const struct entry *e, int64_t now_hour)
{
	unsigned long n = 0;

	for (int i = 0; i < SLOTS; i++)
		if (e->hour[i] > now_hour - SLOTS && e->hour[i] <= now_hour)
			n += (unsigned long)e->mine[i] + e->others[i];
	return n;
}

static int
sticky(const struct sharedstate *s, const struct entry *e, int64_t now)
{
	return e->bulk_at > 0 && e->bulk_at + s->sticky > now;
}

/* With s->lock held. */
static void
mark_dirty(struct sharedstate *s, struct entry *e)
{
	if (e->dirty)
		return;
	e->dirty = 1;
	e->dirty_next = s->dirty;
	s->dirty = e;
	s->n_dirty++;
}

/* Lower-case copy; -1 if it does not fit. */
static int
org_key(const char *org, char out[ORG_MAX])
{
	size_t i;

	for (i = 0; org[i]; i++) {
		if (i + 1 >= ORG_MAX)
			return -1;
		out[i] = (char)tolower((unsigned char)org[i]);
	}
	out[i] = '\0';
	return i > 0 ? 0 : -1;
}

void
sharedstate_add(struct sharedstate *s, const char *org, unsigned n, time_t now,
    struct sharedstate_count *out)
{
	int64_t hour = (int64_t)now / 3600;
	char key[ORG_MAX];
	struct entry *e;
	int i;

	memset(out, 0, sizeof(*out));
	out->messages = n;
	out->local_only = !atomic_load(&s->up);
	if (out->local_only)
		atomic_fetch_add_explicit(&s->fallbacks, 1, memory_order_relaxed);
	if (org_key(org, key) < 0)
		return;
	pthread_mutex_lock(&s->lock);
	if ((e = find(s, key, 1)) != NULL && (i = slot(e, hour)) >= 0) {
		e->mine[i] = e->mine[i] > UINT32_MAX - n ? UINT32_MAX : e->mine[i] + n;
		mark_dirty(s, e);
		out->messages = window_sum(e, hour);
		if (out->messages >= s->threshold && e->bulk_at < (int64_t)now)
			e->bulk_at = (int64_t)now;
		if (sticky(s, e, (int64_t)now))
			out->bulk_at = e->bulk_at;
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- Redis ---- */

/* One command's arguments, built in one buffer; wire: the command in
 * Redis's protocol (RESP), as it is sent. */
struct cmd {
	int argc;
	size_t off[MAX_ARGS], len[MAX_ARGS];
	struct sbuf b, wire;
};

static void
cmd_init(struct cmd *c)
{
	c->argc = 0;
	sbuf_init(&c->b, 1 << 16);
	sbuf_init(&c->wire, 1 << 17);
}

static void
cmd_free(struct cmd *c)
{
	sbuf_free(&c->b);
	sbuf_free(&c->wire);
}

static void
cmd_start(struct cmd *c)
{
	c->argc = 0;
	sbuf_reset(&c->b);
}

/* The octets added since before are the next argument. */
static void
cmd_took(struct cmd *c, size_t before)
{
	c->off[c->argc] = before;
	c->len[c->argc] = c->b.len - before;
	c->argc++;
}

static void
cmd_arg(struct cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
cmd_arg(struct cmd *c, const char *fmt, ...)
{
	va_list ap;
	size_t before = c->b.len;

	if (c->argc >= MAX_ARGS)
		return;
	va_start(ap, fmt);
	sbuf_vprintf(&c->b, fmt, ap);
	va_end(ap);
	cmd_took(c, before);
}

/* An argument as it is, and a number (the hot write path: no format). */
static void
cmd_str(struct cmd *c, const char *s)
{
	size_t before = c->b.len;

	if (c->argc >= MAX_ARGS)
		return;
	sbuf_addstr(&c->b, s);
	cmd_took(c, before);
}

static void
cmd_num(struct cmd *c, long long n)
{
	size_t before = c->b.len;

	if (c->argc >= MAX_ARGS)
		return;
	sbuf_addnum(&c->b, n);
	cmd_took(c, before);
}

/* Appends c to the connection's output buffer, in RESP formatted here
 * (hiredis's own formatting cost more than the rest of a write). */
static int
cmd_append(redisContext *rc, struct cmd *c)
{
	struct sbuf *w = &c->wire;

	if (c->b.overflow)
		return -1;
	sbuf_reset(w);
	sbuf_addc(w, '*');
	sbuf_addnum(w, c->argc);
	sbuf_add(w, "\r\n", 2);
	for (int i = 0; i < c->argc; i++) {
		sbuf_addc(w, '$');
		sbuf_addnum(w, (long long)c->len[i]);
		sbuf_add(w, "\r\n", 2);
		sbuf_add(w, c->b.s + c->off[i], c->len[i]);
		sbuf_add(w, "\r\n", 2);
	}
	if (w->overflow)
		return -1;
	return redisAppendFormattedCommand(rc, w->s, w->len) == REDIS_OK ? 0 : -1;
}

/* The next reply of the pipeline; NULL on a connection error (why set). */
static redisReply *
next_reply(redisContext *rc, char *why, size_t whylen)
{
	void *r = NULL;

	if (redisGetReply(rc, &r) != REDIS_OK || r == NULL) {
		snprintf(why, whylen, "%s", rc->errstr[0] ? rc->errstr : "connection lost");
		return NULL;
	}
	return r;
}

/* Runs one command and waits for its reply (start-up and connecting). */
static redisReply *
command(struct sharedstate *s, redisContext *rc, struct cmd *c, char *why, size_t whylen)
{
	long long t0 = histo_now_us();
	redisReply *r;

	if (cmd_append(rc, c) < 0) {
		snprintf(why, whylen, "%s", rc->errstr[0] ? rc->errstr : "out of memory");
		return NULL;
	}
	r = next_reply(rc, why, whylen);
	histo_add_us(&s->rtt, (unsigned long)(histo_now_us() - t0));
	return r;
}

/* "PASSWORD" or "USER PASSWORD" from the first line of the file. */
static int
read_password(const char *path, char *user, size_t ulen, char *pass, size_t plen,
    char *why, size_t whylen)
{
	FILE *f = fopen(path, "r");
	char line[1024], *sp;

	if (f == NULL) {
		snprintf(why, whylen, "SharedStatePasswordFile %s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0') {
		snprintf(why, whylen, "SharedStatePasswordFile %s: empty first line", path);
		return -1;
	}
	user[0] = '\0';
	if ((sp = strchr(line, ' ')) != NULL) {
		*sp = '\0';
		snprintf(user, ulen, "%s", line);
		snprintf(pass, plen, "%s", sp + 1);
	} else {
		snprintf(pass, plen, "%s", line);
	}
	explicit_bzero(line, sizeof(line));
	return 0;
}

/*
 * A connection ready for work: AUTH, SELECT, the script loaded, and the
 * server's run_id. 0; 1 when Redis cannot be reached (or the link broke);
 * -1 when it refused us.
 */
static int
open_conn(struct sharedstate *s, redisContext **out, char run_id[48], char *why, size_t whylen)
{
	struct timeval tv = { (time_t)(s->timeout_ms / 1000), (suseconds_t)(s->timeout_ms % 1000) * 1000 };
	redisContext *rc;
	redisReply *r;
	struct cmd c;
	int rcode = 1;

	*out = NULL;
	rc = s->addr.host[0] ? redisConnectWithTimeout(s->addr.host, s->addr.port, tv) :
	    redisConnectUnixWithTimeout(s->addr.path, tv);
	if (rc == NULL || rc->err) {
		snprintf(why, whylen, "cannot connect: %s", rc ? rc->errstr : "out of memory");
		if (rc)
			redisFree(rc);
		return 1;
	}
	redisSetTimeout(rc, tv);
	if (s->addr.host[0])
		redisEnableKeepAlive(rc);
	cmd_init(&c);
	if (s->password_file[0]) {
		char user[256], pass[768];

		if (read_password(s->password_file, user, sizeof(user), pass, sizeof(pass), why, whylen) < 0) {
			rcode = -1;
			goto fail;
		}
		cmd_start(&c);
		cmd_arg(&c, "AUTH");
		if (user[0])
			cmd_arg(&c, "%s", user);
		cmd_arg(&c, "%s", pass);
		explicit_bzero(pass, sizeof(pass));
		r = command(s, rc, &c, why, whylen);
		explicit_bzero(c.b.s, c.b.cap);
		if (r == NULL)
			goto fail;
		if (r->type == REDIS_REPLY_ERROR) {
			snprintf(why, whylen, "AUTH refused (password from %s): %s", s->password_file, r->str);
			freeReplyObject(r);
			rcode = -1;
			goto fail;
		}
		freeReplyObject(r);
	}
	cmd_start(&c);
	cmd_arg(&c, "SELECT");
	cmd_arg(&c, "%u", s->addr.db);
	if ((r = command(s, rc, &c, why, whylen)) == NULL)
		goto fail;
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, whylen, "SELECT %u refused: %s", s->addr.db, r->str);
		freeReplyObject(r);
		rcode = -1;
		goto fail;
	}
	freeReplyObject(r);
	cmd_start(&c);
	cmd_arg(&c, "SCRIPT");
	cmd_arg(&c, "LOAD");
	cmd_arg(&c, "%s", write_script);
	if ((r = command(s, rc, &c, why, whylen)) == NULL)
		goto fail;
	if (r->type != REDIS_REPLY_STRING || r->len >= sizeof(s->sha)) {
		snprintf(why, whylen, "SCRIPT LOAD refused: %s",
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		rcode = -1;
		goto fail;
	}
	memcpy(s->sha, r->str, r->len);
	s->sha[r->len] = '\0';
	freeReplyObject(r);
	/* which Redis process this is: a restarted one may have lost data */
	cmd_start(&c);
	cmd_arg(&c, "INFO");
	cmd_arg(&c, "server");
	if ((r = command(s, rc, &c, why, whylen)) == NULL)
		goto fail;
	run_id[0] = '\0';
	if (r->type == REDIS_REPLY_STRING) {
		const char *p = strstr(r->str, "run_id:");

		if (p != NULL)
			snprintf(run_id, 41, "%.40s", p + 7);
	}
	freeReplyObject(r);
	cmd_free(&c);
	*out = rc;
	return 0;
fail:
	cmd_free(&c);
	redisFree(rc);
	return rcode;
}

int
sharedstate_probe(struct sharedstate *s, char *why, size_t whylen)
{
	sigset_t all, old, pipe_only;
	redisContext *rc;
	struct timespec zero = { 0, 0 };
	int rcode;

	/* hiredis writes with write(): a peer that closes must not SIGPIPE us */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rcode = open_conn(s, &rc, s->run_id, why, whylen);
	if (rc != NULL)
		redisFree(rc);
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	while (sigtimedwait(&pipe_only, NULL, &zero) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rcode;
}

/* ---- the background thread ---- */

static void
went_down(struct sharedstate *s, const char *why)
{
	time_t now = time(NULL);

	if (s->rc != NULL) {
		redisFree(s->rc);
		s->rc = NULL;
	}
	atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
	if (atomic_exchange(&s->up, 0) || s->down_since == 0) {
		atomic_fetch_add_explicit(&s->outages, 1, memory_order_relaxed);
		s->down_since = now;
	}
	if (now - s->last_warn >= WARN_EVERY_S) {
		log_warn("SharedState %s unreachable: %s; judging volume on local counts, retrying every second",
		    s->uri, why);
		s->last_warn = now;
	} else {
		log_debug("SharedState %s: %s", s->uri, why);
	}
}

/*
 * A round trip failed. A single slow one (a busy machine, a Redis that
 * paused) is a stumble: the link is closed and opened again at once,
 * quietly; only a reconnect that fails, or a second failure before a good
 * round trip, makes it an outage. 1: reconnect now.
 */
static int
stumbled(struct sharedstate *s, const char *why)
{
	if (!s->stumbled && atomic_load(&s->up)) {
		s->stumbled = 1;
		atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
		log_debug("SharedState %s: %s; connecting again", s->uri, why);
		redisFree(s->rc);
		s->rc = NULL;
		return 1;
	}
	went_down(s, why);
	return 0;
}

/* After a (re)connect: every count of this run is written again. */
static void
mark_all_dirty(struct sharedstate *s)
{
	pthread_mutex_lock(&s->lock);
	for (struct hlink *l = s->table.newest; l != NULL; l = l->older) {
		struct entry *e = HTABLE_RECORD(l, struct entry, link);

		for (int i = 0; i < SLOTS; i++)
			if (e->mine[i]) {
				mark_dirty(s, e);
				break;
			}
	}
	pthread_mutex_unlock(&s->lock);
}

/* Up to WRITE_BATCH dirty domains in one pipeline. 0, or -1 (link lost). */
static int
write_dirty(struct sharedstate *s, int *more, char *why, size_t whylen)
{
	struct entry *batch[WRITE_BATCH];
	size_t k = 0, sent = 0;
	int64_t now_hour = (int64_t)time(NULL) / 3600;
	long long t0;
	struct cmd c;
	int rc = 0;

	*more = 0;
	pthread_mutex_lock(&s->lock);
	if (s->dirty == NULL) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	cmd_init(&c);
	t0 = histo_now_us();
	while (s->dirty != NULL && k < WRITE_BATCH) {
		struct entry *e = s->dirty;
		int pairs = 0;

		s->dirty = e->dirty_next;
		s->n_dirty--;
		e->dirty = 0;
		cmd_start(&c);
		cmd_str(&c, "EVALSHA");
		cmd_str(&c, s->sha);
		cmd_str(&c, "3");
		cmd_arg(&c, KEY_VOL "%s", e->org);
		cmd_str(&c, KEY_RECENT);
		cmd_str(&c, KEY_BULK);
		cmd_str(&c, e->org);
		cmd_str(&c, s->suffix);
		cmd_num(&c, (long long)now_hour);
		cmd_num(&c, (long long)s->threshold);
		for (int i = 0; i < SLOTS; i++)
			if (e->mine[i] && e->hour[i] > now_hour - SLOTS && e->hour[i] <= now_hour) {
				cmd_num(&c, (long long)e->hour[i]);
				cmd_num(&c, (long long)e->mine[i]);
				pairs++;
			}
		if (pairs == 0)
			continue;	/* nothing of this run's in the window */
		batch[k++] = e;
		if (cmd_append(s->rc, &c) < 0) {
			snprintf(why, whylen, "cannot queue a command: %s", s->rc->errstr);
			rc = -1;
			break;
		}
	}
	*more = s->dirty != NULL;
	pthread_mutex_unlock(&s->lock);
	cmd_free(&c);

	for (; rc == 0 && sent < k; sent++) {
		redisReply *r = next_reply(s->rc, why, whylen);

		if (r == NULL) {
			rc = -1;
			break;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			/* NOSCRIPT: Redis restarted under us; anything else is this key's */
			if (strncmp(r->str, "NOSCRIPT", 8) == 0) {
				snprintf(why, whylen, "%s", r->str);
				freeReplyObject(r);
				rc = -1;
				break;
			}
			atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
			log_warn("SharedState %s: writing %s%s: %s", s->uri, KEY_VOL, batch[sent]->org, r->str);
		}
		freeReplyObject(r);
	}
	if (k > 0)
		histo_add_us(&s->rtt, (unsigned long)(histo_now_us() - t0));
	if (rc < 0) {
		/* not confirmed: written again (the same absolute values) later */
		pthread_mutex_lock(&s->lock);
		for (size_t i = sent; i < k; i++)
			mark_dirty(s, batch[i]);
		pthread_mutex_unlock(&s->lock);
	}
	return rc;
}

/* One domain's other runs, from its hash: per hour of the window. */
struct others {
	int64_t hour[SLOTS];
	uint32_t count[SLOTS];
};

static void
parse_fields(const struct sharedstate *s, const redisReply *r, int64_t now_hour, struct others *o)
{
	size_t suffix_len = strlen(s->suffix);

	memset(o, 0, sizeof(*o));
	if (r->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *f = r->element[i], *v = r->element[i + 1];
		char *end;
		long long h;
		unsigned long long n;
		int j;

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		h = strtoll(f->str, &end, 10);
		if (end == f->str || *end != ':' || h <= now_hour - SLOTS || h > now_hour)
			continue;
		if (strlen(end) == suffix_len && strcmp(end, s->suffix) == 0)
			continue;	/* this run's own: known exactly here */
		n = strtoull(v->str, NULL, 10);
		j = (int)(h % SLOTS);
		if (o->hour[j] != h) {
			o->hour[j] = h;
			o->count[j] = 0;
		}
		o->count[j] = n > UINT32_MAX - o->count[j] ? UINT32_MAX : o->count[j] + (uint32_t)n;
	}
}

/* With s->lock held: the fetched counts of other runs replace the old ones. */
static void
apply_others(struct sharedstate *s, const char *org, const struct others *o, int64_t now_hour)
{
	char key[ORG_MAX];
	struct entry *e;

	if (org_key(org, key) < 0 || (e = find(s, key, 1)) == NULL)
		return;
	for (int i = 0; i < SLOTS; i++)
		e->others[i] = 0;
	for (int i = 0; i < SLOTS; i++) {
		int j;

		if (o->hour[i] <= now_hour - SLOTS || o->hour[i] > now_hour)
			continue;
		if ((j = slot(e, o->hour[i])) >= 0)
			e->others[j] = o->count[i];
	}
}

static long long
reply_ll(const redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return strtoll(r->str, NULL, 10);
	return 0;
}

/*
 * Fetches the domains changed since the last fetch (all of them after a
 * connect) and the bulk marks. 0, or -1 (link lost).
 */
static int
refresh(struct sharedstate *s, int prune_remote, int *more, char *why, size_t whylen)
{
	redisReply *r[5] = { NULL }, *page, *bulk;
	int64_t now_hour = (int64_t)time(NULL) / 3600;
	long long t0 = histo_now_us(), now_s, now_ms, next_since;
	size_t n_cmds = 3, got = 0;
	struct cmd c;
	int rc = -1;

	*more = 0;
	cmd_init(&c);
	cmd_start(&c);
	cmd_arg(&c, "TIME");
	if (cmd_append(s->rc, &c) < 0)
		goto out;
	cmd_start(&c);
	cmd_arg(&c, "ZRANGEBYSCORE");
	cmd_arg(&c, KEY_RECENT);
	if (s->full)
		cmd_arg(&c, "-inf");
	else
		cmd_arg(&c, "%lld", s->since_ms);
	cmd_arg(&c, "+inf");
	cmd_arg(&c, "WITHSCORES");
	cmd_arg(&c, "LIMIT");
	cmd_arg(&c, "0");
	cmd_arg(&c, "%d", FETCH_PAGE);
	if (cmd_append(s->rc, &c) < 0)
		goto out;
	cmd_start(&c);
	cmd_arg(&c, "ZRANGEBYSCORE");
	cmd_arg(&c, KEY_BULK);
	/* all marks each minute too: one set with a past time (by hand, or a
	 * restored backup) is seen as well */
	if (s->full || prune_remote)
		cmd_arg(&c, "-inf");
	else
		cmd_arg(&c, "%lld", s->bulk_since);
	cmd_arg(&c, "+inf");
	cmd_arg(&c, "WITHSCORES");
	if (cmd_append(s->rc, &c) < 0)
		goto out;
	if (prune_remote) {
		/* what no daemon needs any more: counts older than 25 h, old marks */
		long long keep = s->sticky > 86400 ? s->sticky : 86400;

		cmd_start(&c);
		cmd_arg(&c, "EVAL");
		cmd_arg(&c, "local t = redis.call('TIME')\n"
		    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t[1] * 1000 - 90000000)\n"
		    "return redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', t[1] - tonumber(ARGV[1]))");
		cmd_arg(&c, "2");
		cmd_arg(&c, KEY_RECENT);
		cmd_arg(&c, KEY_BULK);
		cmd_arg(&c, "%lld", keep);
		if (cmd_append(s->rc, &c) < 0)
			goto out;
		n_cmds++;
	}
	for (got = 0; got < n_cmds; got++)
		if ((r[got] = next_reply(s->rc, why, whylen)) == NULL)
			goto out;
	histo_add_us(&s->rtt, (unsigned long)(histo_now_us() - t0));
	if (r[0]->type != REDIS_REPLY_ARRAY || r[0]->elements != 2) {
		snprintf(why, whylen, "TIME: unexpected reply");
		goto out;
	}
	now_s = reply_ll(r[0]->element[0]);
	now_ms = now_s * 1000 + reply_ll(r[0]->element[1]) / 1000;
	page = r[1];
	bulk = r[2];
	if (page->type != REDIS_REPLY_ARRAY || bulk->type != REDIS_REPLY_ARRAY) {
		snprintf(why, whylen, "ZRANGEBYSCORE: %s",
		    page->type == REDIS_REPLY_ERROR ? page->str : bulk->type == REDIS_REPLY_ERROR ?
		    bulk->str : "unexpected reply");
		goto out;
	}

	/* the bulk marks */
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i + 1 < bulk->elements; i += 2) {
		long long at = reply_ll(bulk->element[i + 1]);
		char key[ORG_MAX];
		struct entry *e;

		if (bulk->element[i]->type != REDIS_REPLY_STRING || at + s->sticky <= now_s ||
		    org_key(bulk->element[i]->str, key) < 0 || (e = find(s, key, 1)) == NULL)
			continue;
		if (e->bulk_at < at)
			e->bulk_at = at;
	}
	pthread_mutex_unlock(&s->lock);

	/* the changed domains' counts: one HGETALL each, pipelined */
	size_t n_page = page->elements / 2;
	next_since = now_ms;
	if (n_page >= FETCH_PAGE) {
		long long last = reply_ll(page->element[page->elements - 1]);

		next_since = last > s->since_ms ? last : last + 1;
		*more = 1;
	}
	long long t1 = histo_now_us();
	size_t appended = 0;
	for (size_t i = 0; i < n_page; i++) {
		const redisReply *m = page->element[2 * i];

		if (m->type != REDIS_REPLY_STRING)
			continue;
		cmd_start(&c);
		cmd_arg(&c, "HGETALL");
		cmd_arg(&c, KEY_VOL "%s", m->str);
		if (cmd_append(s->rc, &c) < 0)
			goto out;
		appended++;
	}
	for (size_t i = 0, k = 0; k < appended; i++) {
		const redisReply *m = page->element[2 * i];
		redisReply *h;
		struct others o;

		if (m->type != REDIS_REPLY_STRING)
			continue;
		k++;
		if ((h = next_reply(s->rc, why, whylen)) == NULL)
			goto out;
		parse_fields(s, h, now_hour, &o);
		freeReplyObject(h);
		pthread_mutex_lock(&s->lock);
		apply_others(s, m->str, &o, now_hour);
		pthread_mutex_unlock(&s->lock);
	}
	if (appended > 0)
		histo_add_us(&s->rtt, (unsigned long)(histo_now_us() - t1));
	s->since_ms = next_since;
	s->bulk_since = now_s;
	s->full = 0;
	rc = 0;
out:
	for (size_t i = 0; i < got && i < 5; i++)
		if (r[i] != NULL)
			freeReplyObject(r[i]);
	cmd_free(&c);
	return rc;
}

/* Forgets domains with nothing in 24 h, nothing to write and no mark. */
static void
prune_local(struct sharedstate *s)
{
	time_t now = time(NULL);
	int64_t now_hour = (int64_t)now / 3600;

	pthread_mutex_lock(&s->lock);
	for (struct hlink *l = s->table.newest, *older; l != NULL; l = older) {
		struct entry *e = HTABLE_RECORD(l, struct entry, link);

		older = l->older;
		if (!e->dirty && window_sum(e, now_hour) == 0 && !sticky(s, e, (int64_t)now)) {
			htable_del(&s->table, l);
			free(e);
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static int
connect_now(struct sharedstate *s)
{
	char why[512], run_id[48];
	int rc = open_conn(s, &s->rc, run_id, why, sizeof(why));

	if (rc != 0) {
		went_down(s, why);
		return -1;
	}
	if (s->down_since != 0 && s->last_warn != 0)
		log_notice("SharedState %s is back after %ld s; writing the counts made meanwhile",
		    s->uri, (long)(time(NULL) - s->down_since));
	else if (!s->stumbled)
		log_info("SharedState %s: connected (this run writes fields *%s)", s->uri, s->suffix);
	/* counts not confirmed are still marked; a new Redis process (or the
	 * first connection) gets everything of this run and is read whole */
	if (s->full || run_id[0] == '\0' || strcmp(run_id, s->run_id) != 0) {
		mark_all_dirty(s);
		s->full = 1;
	}
	snprintf(s->run_id, sizeof(s->run_id), "%s", run_id);
	return 0;
}

static void
sleep_ms(struct sharedstate *s, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->run_lock);
	if (!s->stopping)
		pthread_cond_timedwait(&s->wake, &s->run_lock, &ts);
	pthread_mutex_unlock(&s->run_lock);
}

static int
stopping(struct sharedstate *s)
{
	int v;

	pthread_mutex_lock(&s->run_lock);
	v = s->stopping;
	pthread_mutex_unlock(&s->run_lock);
	return v;
}

static void *
sync_main(void *arg)
{
	struct sharedstate *s = arg;
	long long next_refresh = 0, next_connect = 0, next_prune = histo_now_us() + PRUNE_S * 1000000LL;
	char why[512];

	while (!stopping(s)) {
		long long now = histo_now_us();
		int more_w = 0, more_r = 0;

		if (s->rc == NULL) {
			if (now < next_connect) {
				sleep_ms(s, TICK_MS);
				continue;
			}
			next_connect = now + RETRY_MS * 1000LL;
			if (connect_now(s) < 0)
				continue;
			next_refresh = 0;
		}
		if (write_dirty(s, &more_w, why, sizeof(why)) < 0) {
			if (stumbled(s, why))
				next_connect = 0;
			continue;
		}
		if (now >= next_refresh) {
			int prune = now >= next_prune;

			if (refresh(s, prune, &more_r, why, sizeof(why)) < 0) {
				if (stumbled(s, why))
					next_connect = 0;
				continue;
			}
			atomic_store(&s->up, 1);
			s->down_since = 0;
			s->stumbled = 0;
			next_refresh = more_r ? 0 : now + REFRESH_MS * 1000LL;
			if (prune) {
				prune_local(s);
				next_prune = now + PRUNE_S * 1000000LL;
			}
		}
		if (!more_w && !more_r)
			sleep_ms(s, TICK_MS);
	}
	/* the last counts of this run, once, within the timeout */
	if (s->rc == NULL && open_conn(s, &s->rc, s->run_id, why, sizeof(why)) != 0)
		log_warn("SharedState %s: the last counts of this run were not written: %s", s->uri, why);
	for (int more = 1, rounds = 0; s->rc != NULL && more && rounds < 100; rounds++)
		if (write_dirty(s, &more, why, sizeof(why)) < 0) {
			log_warn("SharedState %s: the last counts of this run were not written: %s", s->uri, why);
			break;
		}
	if (s->rc != NULL) {
		redisFree(s->rc);
		s->rc = NULL;
	}
	atomic_store(&s->up, 0);
	return NULL;
}

/* ---- life cycle ---- */

struct sharedstate *
sharedstate_new(const struct sharedstate_config *cfg, char *why, size_t whylen)
{
	struct sharedstate *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;
	uint32_t run = 0;
	char suffix[300];

	if (s == NULL)
		return snprintf(why, whylen, "out of memory"), NULL;
	if (parse_uri(cfg->uri, &s->addr, why, whylen) < 0) {
		free(s);
		return NULL;
	}
	/* a new field per process start: a restart never overwrites an
	 * earlier run's counts with smaller ones */
	if (getrandom(&run, sizeof(run), 0) != (ssize_t)sizeof(run))
		run = (uint32_t)getpid() ^ (uint32_t)time(NULL) ^ (uint32_t)histo_now_us();
	snprintf(suffix, sizeof(suffix), ":%s:%08x", cfg->host, run);
	s->uri = strdup(cfg->uri);
	s->password_file = strdup(cfg->password_file ? cfg->password_file : "");
	s->suffix = strdup(suffix);
	s->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 50;
	s->threshold = cfg->threshold ? cfg->threshold : 1;
	s->sticky = (int64_t)cfg->sticky_days * 86400;
	s->max = cfg->max_domains ? cfg->max_domains : 1;
	if (s->uri == NULL || s->password_file == NULL || s->suffix == NULL ||
	    htable_init(&s->table, s->max < 1024 ? 1024 : s->max, same_org) < 0) {
		free(s->uri);
		free(s->password_file);
		free(s->suffix);
		htable_free(&s->table);
		free(s);
		return snprintf(why, whylen, "out of memory"), NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->run_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	s->full = 1;
	return s;
}

int
sharedstate_start(struct sharedstate *s, char *why, size_t whylen)
{
	int rc;

	if (s->running)
		return 0;
	/* (a SIGPIPE from a closed Redis link stays pending, harmless) */
	if ((rc = thread_start_quiet(&s->thread, sync_main, s)) != 0) {
		snprintf(why, whylen, "cannot start the SharedState thread: %s", strerror(rc));
		return -1;
	}
	s->running = 1;
	return 0;
}

void
sharedstate_stop(struct sharedstate *s)
{
	if (s == NULL || !s->running)
		return;
	pthread_mutex_lock(&s->run_lock);
	s->stopping = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->run_lock);
	pthread_join(s->thread, NULL);
	s->running = 0;
}

void
sharedstate_free(struct sharedstate *s)
{
	if (s == NULL)
		return;
	sharedstate_stop(s);
	for (struct hlink *l; (l = htable_oldest(&s->table)) != NULL;) {
		htable_del(&s->table, l);
		free(HTABLE_RECORD(l, struct entry, link));
	}
	htable_free(&s->table);
	free(s->uri);
	free(s->password_file);
	free(s->suffix);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->run_lock);
	pthread_cond_destroy(&s->wake);
	free(s);
}

void
sharedstate_get_counters(struct sharedstate *s, struct sharedstate_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return;
	out->up = atomic_load(&s->up);
	out->fallbacks = atomic_load_explicit(&s->fallbacks, memory_order_relaxed);
	out->errors = atomic_load_explicit(&s->errors, memory_order_relaxed);
	out->outages = atomic_load_explicit(&s->outages, memory_order_relaxed);
	pthread_mutex_lock(&s->lock);
	out->pending = s->n_dirty;
	out->domains = s->table.n;
	pthread_mutex_unlock(&s->lock);
}
