/*
 * histo: fixed-bucket latency histogram; see histo.h.
 */
#include "config.h"

#include <time.h>

#include "histo.h"

const unsigned long histo_bound_us[HISTO_BUCKETS] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};
const char *const histo_le[HISTO_BUCKETS] = {
	"0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
	"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
};

void
histo_add_us(struct histo *h, unsigned long us)
{
	int b;

	for (b = 0; b < HISTO_BUCKETS && us > histo_bound_us[b]; b++)
		;
	if (b < HISTO_BUCKETS)
		atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

long long
histo_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
histo_read(struct histo *h, struct histo_snapshot *out)
{
	unsigned long cum = 0;

	for (int b = 0; b < HISTO_BUCKETS; b++) {
		cum += atomic_load_explicit(&h->bucket[b], memory_order_relaxed);
		out->cumulative[b] = cum;
	}
	out->sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
	out->count = atomic_load_explicit(&h->count, memory_order_relaxed);
	/* +Inf must equal _count and never be below a bucket */
	if (out->count < cum)
		out->count = cum;
}
