/*
 * sharedstate: the site's bulk-sender counts in Redis (SharedState), so
 * that every daemon of a fleet judges BulkDetection volume by the fleet's
 * total, and keeps the "was bulk" mark (BulkStickyDays) the fleet shares.
 *
 * In Redis (readable with redis-cli; ORG is the organizational domain):
 *   sendercheck:vol:ORG   hash, one field per daemon run and hour:
 *                         "HOUR:HOST:RUN" = messages that run counted in that
 *                         hour (HOUR: hours since 1970 UTC, HOST: HostName,
 *                         RUN: a random id per process start); expires
 *                         25 h after its last write
 *   sendercheck:recent    sorted set: ORG scored by the time (ms, Redis
 *                         clock) of its last count, so a daemon fetches
 *                         only what changed
 *   sendercheck:bulk      sorted set: ORG scored by the last time (s) its
 *                         fleet count reached BulkThreshold
 *
 * A run writes only its own fields, with absolute values that only grow (a
 * small Lua script: raise the fields, prune hours older than 24 h, sum,
 * mark bulk). A write repeated after a timeout or an outage, or a late
 * copy of an older one, changes nothing, so a message is never counted
 * twice and never uncounted; counts made while Redis was away are
 * written when it is back, and after every reconnect all of the run's
 * fields are written again (a Redis that lost its data gets them back).
 *
 * The message path never talks to Redis: sharedstate_add counts in a local
 * table under one mutex and answers from the local copy (other runs'
 * counts as last fetched + this run's own, exact). A background thread
 * writes what changed (one pipeline per 100 ms tick at most) and fetches
 * what other daemons changed (every 500 ms): a count made on one daemon is
 * seen by the others within a second. Each round trip waits at most
 * SharedStateTimeout; one that fails is tried again at once on a new
 * connection (a slow moment is not an outage). With Redis unreachable the
 * local copy goes on counting, the thread retries every second, a warning
 * is logged at most once a minute, and the counters say so
 * (sharedstate_get_counters). After a reconnect to the same Redis process
 * only what is pending is written; a new process (another run_id: it may
 * have lost data) gets all of this run's counts again and is read whole.
 *
 * Errors are values with a reason; nothing here exits.
 */
#ifndef SC_SHAREDSTATE_H
#define SC_SHAREDSTATE_H

#include <stddef.h>
#include <time.h>

#include "histo.h"

struct sharedstate_config {
	const char *uri;		/* redis://HOST[:PORT][/DB] or unix:/path[?db=N] */
	const char *password_file;	/* "" = no AUTH; "PASSWORD" or "USER PASSWORD" */
	const char *host;		/* HostName */
	unsigned timeout_ms;		/* SharedStateTimeout */
	unsigned threshold;		/* BulkThreshold: the fleet count that marks bulk */
	unsigned sticky_days;		/* BulkStickyDays: how long a mark counts (0: not) */
	size_t max_domains;		/* bound of the local copy */
};

struct sharedstate;

/* Checks the syntax of a SharedState value: 0, or -1 with a reason. */
int sharedstate_check_uri(const char *uri, char *why, size_t whylen);

/* No connection yet. */
struct sharedstate *sharedstate_new(const struct sharedstate_config *cfg, char *why, size_t whylen);
/*
 * Connects once (AUTH, SELECT, the script), at start-up: 0 reached; 1 not
 * reachable (the daemon counts locally until it is), with why; -1 refused
 * by the server (wrong password, no such database): a configuration error.
 */
int sharedstate_probe(struct sharedstate *s, char *why, size_t whylen);
/* Starts the background thread (after any fork; all signals blocked in it). */
int sharedstate_start(struct sharedstate *s, char *why, size_t whylen);
/* Writes what is pending once more (bounded by the timeout), stops the thread. */
void sharedstate_stop(struct sharedstate *s);
void sharedstate_free(struct sharedstate *s);

struct sharedstate_count {
	unsigned long messages;		/* the fleet's 24 h count, this message included */
	long long bulk_at;		/* last time the fleet count reached the threshold, 0 none */
	int local_only;			/* Redis unreachable: others' counts may be stale */
};

/* Counts n messages of org at now. Never waits for Redis. */
void sharedstate_add(struct sharedstate *s, const char *org, unsigned n, time_t now,
    struct sharedstate_count *out);

struct sharedstate_counters {
	int up;				/* connected and in sync */
	unsigned long fallbacks;	/* messages judged while Redis was unreachable */
	unsigned long errors;		/* failed connections and round trips */
	unsigned long outages;		/* times Redis became unreachable */
	unsigned long pending;		/* domains with counts not yet written */
	unsigned long domains;		/* domains in the local copy */
};
void sharedstate_get_counters(struct sharedstate *s, struct sharedstate_counters *out);
/* Round-trip latency of the background thread's pipelines. */
struct histo *sharedstate_latency(struct sharedstate *s);
const char *sharedstate_uri(const struct sharedstate *s);

#endif
