/*
 * sqldb_none: the drivers of a build without their library (configure
 * found no SQLite or no libpq, or was told --without-sqlite3 /
 * --without-libpq): opening such a store is an error that says how to get
 * it; see sqldb.h.
 */
#include "config.h"

#include <stdio.h>

#include "sqldb_impl.h"

#ifndef HAVE_SQLITE3
struct sqldb *
sqldb_sqlite_open(const char *path, unsigned flags, char *why, size_t whylen)
{
	(void)flags;
	snprintf(why, whylen, "%s: this sendercheck was built without SQLite "
	    "(apt-get install libsqlite3-dev, then configure and build again)", path);
	return NULL;
}
#endif

#ifndef HAVE_LIBPQ
struct sqldb *
sqldb_pg_open(const char *uri, unsigned flags, int *unreachable, char *why, size_t whylen)
{
	(void)flags;
	(void)unreachable;
	snprintf(why, whylen, "%s: this sendercheck was built without PostgreSQL "
	    "(apt-get install libpq-dev, then configure and build again)", uri);
	return NULL;
}

struct histo *
sqldb_pg_latency(void)
{
	return NULL;
}
#endif
