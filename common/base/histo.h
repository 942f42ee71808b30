/*
 * histo: a latency histogram with fixed buckets (50 us .. 10 s), for the
 * round trips of the daemon's backends (Redis, PostgreSQL, SQLite).
 *
 * histo_add may be called from any thread: relaxed atomic increments only,
 * no lock, no allocation. histo_read takes a snapshot for rendering; the
 * buckets are returned cumulative (Prometheus "le" semantics) and count is
 * never below the last bucket, so a reader always sees a consistent
 * histogram even while writers add.
 */
#ifndef SC_HISTO_H
#define SC_HISTO_H

#include <stdatomic.h>

#define HISTO_BUCKETS 17

struct histo {
	atomic_ulong bucket[HISTO_BUCKETS];	/* not cumulative here */
	atomic_ulong count;
	atomic_ulong sum_us;
};

/* Upper bounds in microseconds and as Prometheus "le" labels (seconds). */
extern const unsigned long histo_bound_us[HISTO_BUCKETS];
extern const char *const histo_le[HISTO_BUCKETS];

struct histo_snapshot {
	unsigned long cumulative[HISTO_BUCKETS];
	unsigned long count;
	unsigned long sum_us;
};

void histo_add_us(struct histo *h, unsigned long us);
/* The monotonic clock in microseconds, to measure what goes into one. */
long long histo_now_us(void);
void histo_read(struct histo *h, struct histo_snapshot *out);

#endif
