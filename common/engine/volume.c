/*
 * volume: rolling 24 h message counts per domain; see volume.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "sbuf.h"
#include "htable.h"
#include "thread.h"
#include "volume.h"

#define SLOTS 24
#define DOMAIN_MAX 254

struct counter {
	struct hlink link;		/* in volume.table */
	int64_t hour[SLOTS];		/* the hour (since the epoch) each slot counts */
	uint32_t count[SLOTS];
	int64_t bulk_at;		/* last bulk mark, unix seconds; 0 none */
	char domain[DOMAIN_MAX];
};

struct volume {
	pthread_mutex_t lock;
	struct htable table;		/* of struct counter, by domain (any case) */
	size_t max;
	int64_t sticky;			/* seconds a bulk mark is kept */
	char *state_file;
	pthread_t saver;
	int saver_running;
	pthread_cond_t wake;
	int stopping;
	unsigned interval;
};

/* Domains are found in any case: the hash of the lower-case name. */
static uint64_t
hash(const char *s)
{
	uint64_t h = HTABLE_HASH_INIT;

	for (; *s; s++) {
		unsigned char c = (unsigned char)(*s | 0x20);

		h = htable_hash(h, &c, 1);
	}
	return h;
}

static int
same_domain(const struct hlink *l, const void *domain)
{
	return strcasecmp(HTABLE_RECORD(l, struct counter, link)->domain, domain) == 0;
}

static struct counter *
find(struct volume *v, const char *domain, int create)
{
	uint64_t h = hash(domain);
	struct hlink *l = htable_find(&v->table, h, domain);
	struct counter *c;

	if (l != NULL)
		return HTABLE_RECORD(l, struct counter, link);
	if (!create || strlen(domain) >= DOMAIN_MAX)
		return NULL;
	if (v->table.n >= v->max)
		return NULL;	/* no scan here: pruning happens when saving */
	if ((c = malloc(sizeof(*c))) == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	snprintf(c->domain, sizeof(c->domain), "%s", domain);
	htable_add(&v->table, &c->link, h);
	return c;
}

static unsigned long
sum(const struct counter *c, int64_t now_hour)
{
	unsigned long n = 0;

	for (int i = 0; i < SLOTS; i++)
		if (c->hour[i] > now_hour - SLOTS && c->hour[i] <= now_hour)
			n += c->count[i];
	return n;
}

static void
bump(struct counter *c, int64_t hour, uint32_t by)
{
	int i = (int)(hour % SLOTS);

	if (c->hour[i] != hour) {
		c->hour[i] = hour;
		c->count[i] = 0;
	}
	c->count[i] = c->count[i] > UINT32_MAX - by ? UINT32_MAX : c->count[i] + by;
}

/* Whether c's bulk mark still counts at now. */
static int
sticky(const struct volume *v, const struct counter *c, int64_t now)
{
	return c->bulk_at > 0 && c->bulk_at + v->sticky > now;
}

unsigned long
volume_add(struct volume *v, const char *domain, unsigned by, time_t now, long long *bulk_at)
{
	int64_t hour = (int64_t)now / 3600;
	struct counter *c;
	unsigned long n = by;

	if (bulk_at != NULL)
		*bulk_at = 0;
	pthread_mutex_lock(&v->lock);
	if ((c = find(v, domain, 1)) != NULL) {
		bump(c, hour, by);
		n = sum(c, hour);
		if (bulk_at != NULL && sticky(v, c, now))
			*bulk_at = c->bulk_at;
	}
	pthread_mutex_unlock(&v->lock);
	return n;
}

void
volume_mark_bulk(struct volume *v, const char *domain, time_t now)
{
	struct counter *c;

	if (v->sticky <= 0)
		return;
	pthread_mutex_lock(&v->lock);
	if ((c = find(v, domain, 1)) != NULL && c->bulk_at < (int64_t)now)
		c->bulk_at = (int64_t)now;
	pthread_mutex_unlock(&v->lock);
}

unsigned long
volume_count(struct volume *v, const char *domain, time_t now)
{
	int64_t hour = (int64_t)now / 3600;
	struct counter *c;
	unsigned long n = 0;

	pthread_mutex_lock(&v->lock);
	if ((c = find(v, domain, 0)) != NULL)
		n = sum(c, hour);
	pthread_mutex_unlock(&v->lock);
	return n;
}

/* State file: "domain hour:count hour:count ... [bulk:TIME]" per line. */
static void
load(struct volume *v)
{
	FILE *f = fopen(v->state_file, "r");
	char line[4096];
	unsigned lineno = 0, bad = 0;
	int64_t now_hour = (int64_t)time(NULL) / 3600;

	if (f == NULL) {
		if (errno != ENOENT)
			log_warn("volume state %s: %s; starting with empty counts", v->state_file,
			    strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
		struct counter *c;

		lineno++;
		if (tok == NULL || tok[0] == '#')
			continue;
		if ((c = find(v, tok, 1)) == NULL) {
			bad++;
			continue;
		}
		while ((tok = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
			long long hour, at;
			unsigned long count;

			if (sscanf(tok, "bulk:%lld", &at) == 1) {
				if (at > 0 && at + v->sticky > now_hour * 3600)
					c->bulk_at = at;
				continue;
			}
			if (sscanf(tok, "%lld:%lu", &hour, &count) != 2 || count > UINT32_MAX) {
				bad++;
				continue;
			}
			if (hour > now_hour - SLOTS && hour <= now_hour)
				bump(c, hour, (uint32_t)count);
		}
	}
	fclose(f);
	if (bad)
		log_warn("volume state %s: %u unreadable entries ignored", v->state_file, bad);
}

struct volume *
volume_new(const char *state_file, size_t max_domains, unsigned sticky_days,
    char *why, size_t whylen)
{
	struct volume *v = calloc(1, sizeof(*v));

	if (v == NULL || (v->state_file = strdup(state_file)) == NULL) {
		free(v);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	v->max = max_domains ? max_domains : 1;
	v->sticky = (int64_t)sticky_days * 86400;
	if (htable_init(&v->table, v->max < 1024 ? 1024 : v->max, same_domain) < 0) {
		free(v->state_file);
		free(v);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->wake, NULL);
	if (v->state_file[0])
		load(v);
	return v;
}

/* Drops domains whose 24 hours and bulk mark have passed; called with the
 * lock held. */
static void
prune(struct volume *v, int64_t now_hour)
{
	for (struct hlink *l = v->table.newest, *older; l != NULL; l = older) {
		struct counter *c = HTABLE_RECORD(l, struct counter, link);

		older = l->older;
		if (sum(c, now_hour) == 0 && !sticky(v, c, now_hour * 3600)) {
			htable_del(&v->table, l);
			free(c);
		}
	}
}

int
volume_save(struct volume *v, char *why, size_t whylen)
{
	char tmp[4096];
	int64_t now_hour = (int64_t)time(NULL) / 3600;
	struct sbuf text;
	FILE *f;
	int rc = 0;

	if (v->state_file[0] == '\0')
		return 0;
	/* copy under the lock, write without it: mail never waits for the disk */
	sbuf_init(&text, 256u << 20);
	sbuf_addstr(&text, "# sendercheck volume counts: domain hour:count... [bulk:TIME] (hours, seconds since 1970)\n");
	pthread_mutex_lock(&v->lock);
	prune(v, now_hour);
	for (struct hlink *l = v->table.newest; l != NULL; l = l->older) {
		struct counter *c = HTABLE_RECORD(l, struct counter, link);

		if (sum(c, now_hour) == 0 && !sticky(v, c, now_hour * 3600))
			continue;
		sbuf_addstr(&text, c->domain);
		for (int i = 0; i < SLOTS; i++)
			if (c->count[i] && c->hour[i] > now_hour - SLOTS)
				sbuf_printf(&text, " %lld:%lu", (long long)c->hour[i],
				    (unsigned long)c->count[i]);
		if (sticky(v, c, now_hour * 3600))
			sbuf_printf(&text, " bulk:%lld", (long long)c->bulk_at);
		sbuf_addc(&text, '\n');
	}
	pthread_mutex_unlock(&v->lock);
	snprintf(tmp, sizeof(tmp), "%s.tmp", v->state_file);
	if (text.overflow || (f = fopen(tmp, "w")) == NULL) {
		snprintf(why, whylen, "cannot write %s: %s", tmp,
		    text.overflow ? "too many domains" : strerror(errno));
		sbuf_free(&text);
		return -1;
	}
	if (fwrite(text.s, 1, text.len, f) != text.len || fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, v->state_file) != 0)
		rc = -1;
	if (rc < 0) {
		snprintf(why, whylen, "cannot write %s: %s", v->state_file, strerror(errno));
		unlink(tmp);
	}
	sbuf_free(&text);
	return rc;
}

static void *
saver(void *arg)
{
	struct volume *v = arg;
	char why[512];

	pthread_mutex_lock(&v->lock);
	while (!v->stopping) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += v->interval;
		pthread_cond_timedwait(&v->wake, &v->lock, &until);
		pthread_mutex_unlock(&v->lock);
		if (volume_save(v, why, sizeof(why)) < 0)
			log_warn("volume counts: %s", why);
		pthread_mutex_lock(&v->lock);
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

int
volume_start_saver(struct volume *v, unsigned interval, char *why, size_t whylen)
{
	if (v->state_file[0] == '\0' || v->saver_running)
		return 0;
	v->interval = interval ? interval : 60;
	if (thread_start_quiet(&v->saver, saver, v) != 0) {
		snprintf(why, whylen, "cannot start the volume saver thread");
		return -1;
	}
	v->saver_running = 1;
	return 0;
}

void
volume_stop(struct volume *v)
{
	char why[512];

	if (v->saver_running) {
		pthread_mutex_lock(&v->lock);
		v->stopping = 1;
		pthread_cond_signal(&v->wake);
		pthread_mutex_unlock(&v->lock);
		pthread_join(v->saver, NULL);
		v->saver_running = 0;
	}
	if (volume_save(v, why, sizeof(why)) < 0)
		log_warn("volume counts: %s", why);
}

void
volume_free(struct volume *v)
{
	if (v == NULL)
		return;
	volume_stop(v);
	for (struct hlink *l; (l = htable_oldest(&v->table)) != NULL;) {
		htable_del(&v->table, l);
		free(HTABLE_RECORD(l, struct counter, link));
	}
	htable_free(&v->table);
	free(v->state_file);
	pthread_mutex_destroy(&v->lock);
	pthread_cond_destroy(&v->wake);
	free(v);
}
