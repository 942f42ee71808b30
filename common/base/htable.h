/*
 * htable: the one hash table, for every table of the daemon that finds a
 * record by a key (the DNS cache and its flights in the air, the decoded
 * DKIM keys, the volume counters, the Redis counters, the statistics
 * batch totals).
 *
 * Intrusive: the caller's record embeds a struct hlink and keeps its own
 * key; the table never allocates an entry nor frees one. Each table also
 * keeps its entries in order of use, newest first (htable_add and
 * htable_touch make an entry the newest), so that a bounded cache drops
 * htable_oldest() and a table can be walked without its buckets. Chains
 * of buckets, a power of two of them, doubled when there are more
 * entries than buckets; hashes are FNV-1a (htable_hash).
 *
 * No locking: the owner of a table locks it. Errors: htable_init and the
 * growth in htable_add can run out of memory; htable_add still adds then
 * (the chains grow longer), so only htable_init fails.
 */
#ifndef SC_HTABLE_H
#define SC_HTABLE_H

#include <stddef.h>
#include <stdint.h>

struct hlink {
	struct hlink *chain;		/* next in the bucket */
	struct hlink *newer, *older;	/* order of use */
	uint64_t hash;
};

struct htable {
	struct hlink **bucket;
	size_t nbuckets, n;
	struct hlink *newest, *oldest;
	/* whether the record of e has this key */
	int (*same)(const struct hlink *e, const void *key);
};

/* The record that holds link (a member named member of type). */
#define HTABLE_RECORD(link, type, member) \
	((type *)(void *)((char *)(link) - offsetof(type, member)))

#define HTABLE_HASH_INIT 14695981039346656037ULL	/* FNV-1a 64-bit offset basis */
/* FNV-1a of len octets, from h (HTABLE_HASH_INIT, or a previous part's hash) */
uint64_t htable_hash(uint64_t h, const void *p, size_t len);
/* of a NUL-terminated string */
uint64_t htable_hash_str(uint64_t h, const char *s);

/* A table for about expect entries; 0, or -1 when out of memory. */
int htable_init(struct htable *t, size_t expect, int (*same)(const struct hlink *, const void *));
/* Frees the buckets, not the entries. */
void htable_free(struct htable *t);

/* The entry with this key, NULL if none. */
struct hlink *htable_find(const struct htable *t, uint64_t hash, const void *key);
/* Adds e (not in the table) as the newest entry. */
void htable_add(struct htable *t, struct hlink *e, uint64_t hash);
/* Takes e out of the table. */
void htable_del(struct htable *t, struct hlink *e);
/* Makes e the newest. */
void htable_touch(struct htable *t, struct hlink *e);
/* The least recently added or touched entry, NULL when empty. */
struct hlink *htable_oldest(const struct htable *t);

#endif
