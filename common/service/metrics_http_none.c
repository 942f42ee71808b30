/*
 * metrics_http_none: the /metrics endpoint of a build without
 * libmicrohttpd (configure found none, or --without-mhd). Asking for it
 * (MetricsSocket) is an error that says so; see metrics.h.
 */
#include "config.h"

#include <stdio.h>

#include "metrics.h"

struct metrics_server *
metrics_listen(const char *spec, char *why, size_t whylen)
{
	snprintf(why, whylen, "MetricsSocket %s: this sendercheck was built without libmicrohttpd "
	    "(apt-get install libmicrohttpd-dev, then configure and build again)", spec);
	return NULL;
}

int
metrics_start(struct metrics_server *m, char *why, size_t whylen)
{
	(void)m;
	snprintf(why, whylen, "built without libmicrohttpd");
	return -1;
}

void
metrics_stop(struct metrics_server *m)
{
	(void)m;
}
