/*
 * metrics: process-wide counters of the daemon's verdicts, served in the
 * Prometheus text exposition format (version 0.0.4) at /metrics by
 * libmicrohttpd.
 *
 * metrics_count adds one verdict with relaxed atomic increments only (no
 * lock, no allocation): the fields of the table (fields.h) marked
 * VO_METRIC, each in its family (.metric) with its labels: messages by
 * action, results by method and result, verdicts by profile, rule
 * failures, bulk, one-click, DNS lookups / cache hits / timeouts, and the
 * check latency histogram. The stats queue's counters and the backends'
 * (Redis: SharedState) are read from their modules when a scrape comes,
 * as sendercheck_backend_* with a backend label: up, round-trip latency
 * histogram, errors, fallbacks, queue length. Every label combination is
 * exported from the start (zeros included), so that rate() works from the
 * first scrape.
 *
 * The listening socket is made by metrics_listen (before dropping
 * privileges, so a port below 1024 works) and served by metrics_start
 * (after any fork: libmicrohttpd starts its own thread, with all signals
 * blocked). Only GET/HEAD /metrics is answered; anything else gets 404 or
 * 405. Errors are values with a reason.
 */
#ifndef SC_METRICS_H
#define SC_METRICS_H

#include <stddef.h>

#include "sharedstate.h"
#include "stats.h"
#include "verdict.h"

struct metrics_server;

/* Counts one verdict. */
void metrics_count(const struct verdict *v);
/* Where the stats queue counters come from (NULL: none). */
void metrics_set_stats(struct stats *s);
/* Where the Redis counters come from (NULL: SharedState off). */
void metrics_set_sharedstate(struct sharedstate *s);
/* The exposition text, malloc'd; NULL when out of memory. */
char *metrics_render(void);

/* spec: inet:PORT@HOST or inet6:PORT@HOST. Binds and listens. */
struct metrics_server *metrics_listen(const char *spec, char *why, size_t whylen);
int metrics_start(struct metrics_server *m, char *why, size_t whylen);
void metrics_stop(struct metrics_server *m);

#endif
