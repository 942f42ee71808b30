/*
 * stats: bounded queue and writer thread of the statistics store; see stats.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "stats.h"
#include "thread.h"

#define PRUNE_EVERY 3600	/* seconds */
#define PRUNE_CHUNK 5000	/* messages per pruning transaction */
#define BUSY_RETRY_MS 250
#define STOP_GRACE_S 10		/* at shutdown, how long a busy store is waited for */
#define WARN_EVERY_S 60		/* a store that stays away: one warning a minute */

struct stats {
	struct statsdb *db;
	unsigned retention_days;

	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct vrow **ring;
	size_t cap, head, n;
	struct vrow **spare; /* rows written, kept for the next verdicts */
	size_t n_spare, spare_cap;
	size_t full_batch;	/* a batch is full: STATS_BATCH, or the whole queue if smaller */
	int stopping;
	int writer_idle;	/* waiting for records: signal it */
	int running;
	pthread_t writer;

	atomic_ulong queued, dropped, written, lost, batches;
	atomic_ulong in_flight;		/* taken by the writer, not committed yet */
	atomic_ulong errors, outages;	/* failed attempts; times the store went away */
	atomic_int up;
	time_t down_since, last_warn;	/* the writer's */
};

struct stats *
stats_open(const char *target, const char *host, unsigned queue_size, unsigned retention_days,
    char *why, size_t whylen)
{
	struct stats *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->ring = calloc(queue_size ? queue_size : 1, sizeof(*s->ring))) == NULL) {
		free(s);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	s->cap = queue_size ? queue_size : 1;
	s->full_batch = s->cap < STATS_BATCH ? s->cap : STATS_BATCH;
	/* without it, a row is malloc'd and freed, as before */
	s->spare_cap =
	    (s->spare = calloc(s->full_batch, sizeof(*s->spare))) != NULL ? s->full_batch : 0;
	s->retention_days = retention_days ? retention_days : 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	why[0] = '\0';
	if ((s->db = statsdb_open(target, STATSDB_WRITE | STATSDB_LATER, why, whylen)) == NULL) {
		stats_free(s);
		return NULL;
	}
	statsdb_set_host(s->db, host);
	if (!statsdb_ready(s->db)) {
		log_warn("statistics: %s; verdicts wait in the queue (at most %zu) until it answers", why, s->cap);
		s->down_since = s->last_warn = time(NULL);
		atomic_fetch_add_explicit(&s->outages, 1, memory_order_relaxed);
	} else {
		atomic_store(&s->up, 1);
	}
	return s;
}

int
stats_record(struct stats *s, const struct verdict *v)
{
	struct vrow *r;
	int signal_writer = 0;
	char why[160];

	if (s == NULL)
		return -1;
	/* a row the writer is done with (a malloc of 8 KB, and a free by
	 * another thread into this one's arena, saved) */
	pthread_mutex_lock(&s->lock);
	r = s->n_spare > 0 ? s->spare[--s->n_spare] : NULL;
	pthread_mutex_unlock(&s->lock);
	if (r == NULL && (r = malloc(sizeof(*r))) == NULL) {
		atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
		return -1;
	}
	if (verdict_row(v, v->time_ms > 0 ? v->time_ms / 1000 : (long long)time(NULL), r, why,
	    sizeof(why)) < 0)
		log_warn("stats: %s", why);	/* the row keeps what could be read */
	pthread_mutex_lock(&s->lock);
	if (s->n == s->cap || s->stopping) {
		pthread_mutex_unlock(&s->lock);
		free(r);
		atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
		return -1;
	}
	s->ring[(s->head + s->n) % s->cap] = r;
	s->n++;
	/* wake it for the first record, then once a batch is full (a queue
	 * smaller than a batch: when it is full, before anything is dropped) */
	if (s->writer_idle && (s->n == 1 || s->n == s->full_batch))
		signal_writer = 1;
	pthread_mutex_unlock(&s->lock);
	if (signal_writer)
		pthread_cond_signal(&s->wake);
	atomic_fetch_add_explicit(&s->queued, 1, memory_order_relaxed);
	return 0;
}

static void
deadline_after(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
prune(struct stats *s)
{
	long long before = (long long)time(NULL) - (long long)s->retention_days * 86400;
	char why[300];
	long n, total = 0;

	if (!statsdb_connected(s->db))
		return;		/* the next hour, or at the next start */
	do {
		if ((n = statsdb_prune(s->db, before, PRUNE_CHUNK, why, sizeof(why))) < 0) {
			log_warn("stats: pruning: %s", why);
			return;
		}
		total += n;
	} while (n == PRUNE_CHUNK);
	if (total > 0)
		log_info("stats: pruned %ld messages older than %u days", total, s->retention_days);
}

/* A failed attempt: the store locked, or away (logged once a minute). */
static void
note_busy(struct stats *s, const char *why)
{
	time_t now = time(NULL);

	atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
	if (statsdb_connected(s->db))
		return;		/* a file locked by another writer, a deadlock: not away */
	if (atomic_exchange(&s->up, 0)) {
		atomic_fetch_add_explicit(&s->outages, 1, memory_order_relaxed);
		s->down_since = now;
	}
	if (now - s->last_warn >= WARN_EVERY_S) {
		log_warn("statistics: %s store unavailable: %s; verdicts wait in the queue (%lu), then are dropped",
		    statsdb_backend(s->db), why, atomic_load(&s->in_flight));
		s->last_warn = now;
	}
}

static void
note_up(struct stats *s)
{
	if (!atomic_exchange(&s->up, 1) && s->down_since != 0) {
		log_notice("statistics: %s store back after %ld s", statsdb_backend(s->db),
		    (long)(time(NULL) - s->down_since));
		s->down_since = 0;
		s->last_warn = 0;
	}
}

/* Commits one batch; keeps trying while the store is busy (a file locked
 * by another writer, a server away: the queue absorbs, then drops). */
static void
write_batch(struct stats *s, struct vrow **batch, size_t k)
{
	struct timespec t0;
	char why[600];
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&s->in_flight, k);
	for (;;) {
		rc = statsdb_insert(s->db, batch, k, why, sizeof(why));
		if (rc != 1)
			break;
		note_busy(s, why);
		pthread_mutex_lock(&s->lock);
		int stopping = s->stopping;
		if (!stopping) {
			struct timespec ts;

			deadline_after(&ts, BUSY_RETRY_MS);
			s->writer_idle = 0;
			pthread_cond_timedwait(&s->wake, &s->lock, &ts);
		}
		pthread_mutex_unlock(&s->lock);
		if (stopping) {
			if (ms_since(&t0) > STOP_GRACE_S * 1000) {
				snprintf(why, sizeof(why), "the store stayed busy or away for %d s at shutdown",
				    STOP_GRACE_S);
				rc = -1;
				break;
			}
			struct timespec nap = { 0, BUSY_RETRY_MS * 1000000L };
			nanosleep(&nap, NULL);
		}
	}
	atomic_store(&s->in_flight, 0);
	if (rc == 0) {
		note_up(s);
		atomic_fetch_add_explicit(&s->written, k, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->batches, 1, memory_order_relaxed);
		log_debug("stats: committed %zu", k);
	} else {
		atomic_fetch_add_explicit(&s->lost, k, memory_order_relaxed);
		log_warn("stats: %zu verdicts not written: %s", k, why);
	}
	pthread_mutex_lock(&s->lock);
	for (; k > 0 && s->n_spare < s->spare_cap; k--)
		s->spare[s->n_spare++] = batch[k - 1];
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < k; i++)
		free(batch[i]);
}

static void *
writer(void *arg)
{
	struct stats *s = arg;
	struct vrow **batch = calloc(STATS_BATCH, sizeof(*batch));
	struct timespec last_commit, last_prune;

	clock_gettime(CLOCK_MONOTONIC, &last_prune);
	prune(s);
	clock_gettime(CLOCK_MONOTONIC, &last_commit);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		size_t k;

		/* gather: until a batch is full or the linger time is over */
		while (!s->stopping && (s->n == 0 ||
		    (s->n < s->full_batch && ms_since(&last_commit) < STATS_LINGER_MS))) {
			struct timespec ts;

			deadline_after(&ts, s->n == 0 ? 1000 : STATS_LINGER_MS - ms_since(&last_commit));
			s->writer_idle = 1;
			pthread_cond_timedwait(&s->wake, &s->lock, &ts);
			s->writer_idle = 0;
			if (s->n == 0 && ms_since(&last_prune) > PRUNE_EVERY * 1000L)
				break;
		}
		if (s->n == 0 && s->stopping)
			break;
		k = 0;
		if (batch != NULL)
			for (; k < STATS_BATCH && s->n > 0; k++, s->n--) {
				batch[k] = s->ring[s->head];
				s->head = (s->head + 1) % s->cap;
			}
		pthread_mutex_unlock(&s->lock);
		if (batch == NULL) {
			/* no memory for the batch at start: sleep and try again */
			struct timespec nap = { 1, 0 };
			nanosleep(&nap, NULL);
			batch = calloc(STATS_BATCH, sizeof(*batch));
		} else if (k > 0) {
			write_batch(s, batch, k);
			clock_gettime(CLOCK_MONOTONIC, &last_commit);
		}
		if (ms_since(&last_prune) > PRUNE_EVERY * 1000L) {
			prune(s);
			clock_gettime(CLOCK_MONOTONIC, &last_prune);
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	free(batch);
	return NULL;
}

int
stats_start(struct stats *s, char *why, size_t whylen)
{
	int rc;

	if (s->running)
		return 0;
	if ((rc = thread_start_quiet(&s->writer, writer, s)) != 0) {
		snprintf(why, whylen, "cannot start the stats writer thread: %s", strerror(rc));
		return -1;
	}
	s->running = 1;
	return 0;
}

void
stats_stop(struct stats *s)
{
	struct statsdb *db;

	if (s == NULL)
		return;
	if (s->running) {
		pthread_mutex_lock(&s->lock);
		s->stopping = 1;
		pthread_mutex_unlock(&s->lock);
		pthread_cond_signal(&s->wake);
		pthread_join(s->writer, NULL);
		s->running = 0;
	}
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	/* never started: what was queued is lost */
	for (; s->n > 0; s->n--) {
		free(s->ring[s->head]);
		s->head = (s->head + 1) % s->cap;
		atomic_fetch_add_explicit(&s->lost, 1, memory_order_relaxed);
	}
	db = s->db;	/* stats_get_counters reads it under the lock */
	s->db = NULL;
	pthread_mutex_unlock(&s->lock);
	statsdb_close(db);
}

void
stats_free(struct stats *s)
{
	if (s == NULL)
		return;
	stats_stop(s);
	for (size_t i = 0; i < s->n_spare; i++)
		free(s->spare[i]);
	free(s->spare);
	free(s->ring);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s);
}

void
stats_get_counters(struct stats *s, struct stats_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return;
	out->queued = atomic_load_explicit(&s->queued, memory_order_relaxed);
	out->dropped = atomic_load_explicit(&s->dropped, memory_order_relaxed);
	out->written = atomic_load_explicit(&s->written, memory_order_relaxed);
	out->lost = atomic_load_explicit(&s->lost, memory_order_relaxed);
	out->batches = atomic_load_explicit(&s->batches, memory_order_relaxed);
	out->in_flight = atomic_load(&s->in_flight);
	out->errors = atomic_load_explicit(&s->errors, memory_order_relaxed);
	out->outages = atomic_load_explicit(&s->outages, memory_order_relaxed);
	out->up = atomic_load(&s->up);
	pthread_mutex_lock(&s->lock);
	out->queue_length = s->n;
	out->backend = s->db ? statsdb_backend(s->db) : "sqlite";
	pthread_mutex_unlock(&s->lock);
}
