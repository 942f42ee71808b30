/*
 * stats: every verdict of the daemon into the statistics store (statsdb:
 * SQLite or PostgreSQL), without ever making a message wait.
 *
 * stats_record copies what the store keeps of a verdict (its row of
 * columns, columns.h) into a bounded queue and returns at once; a
 * single writer thread takes what has gathered (at most STATS_BATCH
 * records, at most every STATS_LINGER_MS unless a batch is full; a queue
 * smaller than STATS_BATCH is a full batch when it is full, so that the
 * linger never drops a verdict) and commits it in one transaction. When the queue is full the verdict is
 * counted as dropped and the message goes on. The only lock a message
 * thread takes is the queue's mutex, which the writer holds just long
 * enough to move pointers, never during I/O. If the store is busy (a file
 * locked by someone else, a PostgreSQL server down or hung) the writer
 * keeps its batch and tries again (the queue absorbs, then drops; a server
 * away is logged once a minute and counted: errors, outages, up); on any
 * other write error the batch is counted as lost and logged.
 *
 * A kill -9 loses at most what was queued and not yet committed; committed
 * batches survive (SQLite WAL, PostgreSQL). At shutdown stats_stop writes
 * everything still queued (waiting at most STOP_GRACE_S for a busy store). The writer also prunes rows older than the retention, at
 * start and hourly, in small transactions.
 */
#ifndef SC_STATS_H
#define SC_STATS_H

#include <stddef.h>
#include <time.h>

#include "statsdb.h"
#include "verdict.h"

#define STATS_BATCH 1000
#define STATS_LINGER_MS 200

struct stats;

struct stats_counters {
	unsigned long queued;		/* accepted into the queue */
	unsigned long dropped;		/* queue full (or no memory): not in the store */
	unsigned long written;		/* committed */
	unsigned long lost;		/* taken but not committed: write errors */
	unsigned long batches;		/* transactions committed */
	unsigned long queue_length;	/* now */
	unsigned long in_flight;	/* taken by the writer, waiting for the store */
	unsigned long errors;		/* attempts the store refused (busy, away) */
	unsigned long outages;		/* times the store went away (PostgreSQL) */
	int up;				/* the last attempt got through */
	const char *backend;		/* "sqlite" or "postgresql" */
};

/*
 * Opens (creating or upgrading) the store, an SQLite file or a postgresql://
 * URI; host (HostName) goes on every row. A server that cannot be reached
 * is not an error (logged; the writer tries again); one that refuses us,
 * or a store not ours, is: NULL with a reason. No thread yet.
 */
struct stats *stats_open(const char *target, const char *host, unsigned queue_size,
    unsigned retention_days, char *why, size_t whylen);
/* Starts the writer thread (after any fork; with all signals blocked in it). */
int stats_start(struct stats *s, char *why, size_t whylen);
/* Queues the verdict; never blocks on I/O. 0 queued, -1 dropped. */
int stats_record(struct stats *s, const struct verdict *v);
/* Writes what is queued, stops the writer and closes the store. */
void stats_stop(struct stats *s);
void stats_free(struct stats *s);
void stats_get_counters(struct stats *s, struct stats_counters *out);

#endif
