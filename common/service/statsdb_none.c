/*
 * statsdb_none: the statistics store of a build without SQLite (configure
 * found none, or --without-sqlite3). Opening it is an error that says so,
 * which the daemon logs ("no statistics: ...") before filtering on without
 * statistics, as for any StatsDB it cannot open; see statsdb.h.
 * sendercheck-stats is not built then.
 */
#include "config.h"

#include <stdio.h>

#include "statsdb.h"

struct statsdb *
statsdb_open(const char *path, unsigned flags, char *why, size_t whylen)
{
	(void)flags;
	snprintf(why, whylen, "StatsDB %s: this sendercheck was built without SQLite "
	    "(apt-get install libsqlite3-dev, then configure and build again)", path);
	return NULL;
}

/* No handle is ever opened: nothing below is reached with one. */

void
statsdb_close(struct statsdb *db)
{
	(void)db;
}

int
statsdb_insert(struct statsdb *db, struct vrow *const *recs, size_t n,
    char *why, size_t whylen)
{
	(void)db; (void)recs; (void)n;
	snprintf(why, whylen, "built without SQLite");
	return -1;
}

long
statsdb_prune(struct statsdb *db, long long before, long limit, char *why, size_t whylen)
{
	(void)db; (void)before; (void)limit;
	snprintf(why, whylen, "built without SQLite");
	return -1;
}
