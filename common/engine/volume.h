/*
 * volume: messages per organizational domain over a rolling 24 hours, for
 * the "volume" bulk classification (Google and Microsoft count a sender as
 * bulk from about 5,000 messages a day).
 *
 * Counts live in 24 hourly slots per domain, in a bounded hash table shared
 * by all threads (one mutex, held for a few hundred nanoseconds). They are
 * kept across restarts in a state file, written atomically (temporary file
 * and rename) by volume_save: by a background thread in the daemon
 * (volume_start_saver), so that no message ever waits for the disk.
 * A state file that cannot be read gives a warning and empty counts, never
 * a failed start.
 *
 * Each domain also keeps the last time it was judged bulk by volume
 * (volume_mark_bulk), for BulkStickyDays: Google's bulk-sender status does
 * not end when the volume drops. A marked domain is kept (and saved) until
 * its mark is sticky_days old, even with no messages in 24 hours.
 */
#ifndef SC_VOLUME_H
#define SC_VOLUME_H

#include <stddef.h>
#include <time.h>

struct volume;

/* state_file "" keeps counts in memory only; max_domains bounds the table;
 * sticky_days: how long a bulk mark is kept (0: marks are not kept). */
struct volume *volume_new(const char *state_file, size_t max_domains, unsigned sticky_days,
    char *why, size_t whylen);
void volume_free(struct volume *v);

/* Counts n messages (recipients) for domain at time now; returns the 24 h
 * count with them, and in *bulk_at (if not NULL) the domain's last bulk
 * mark (unix seconds, 0: none). A full table counts nothing new until
 * expired entries are pruned (at each save). */
unsigned long volume_add(struct volume *v, const char *domain, unsigned n, time_t now,
    long long *bulk_at);
/* Marks domain as judged bulk by volume at time now. */
void volume_mark_bulk(struct volume *v, const char *domain, time_t now);
/* The 24 h count for domain at time now. */
unsigned long volume_count(struct volume *v, const char *domain, time_t now);

/* Writes the state file now. Returns 0, or -1 with a reason. */
int volume_save(struct volume *v, char *why, size_t whylen);
/* Saves every interval seconds from a thread of its own, and once at free. */
int volume_start_saver(struct volume *v, unsigned interval, char *why, size_t whylen);
/* Stops the saver thread and saves once more (at shutdown). */
void volume_stop(struct volume *v);

#endif
