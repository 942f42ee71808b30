/*
 * metrics_http: /metrics served over HTTP by libmicrohttpd; see metrics.h.
 * The text comes from metrics_render() (metrics.c).
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "metrics.h"
#include "netaddr.h"

struct metrics_server {
	int fd;
	struct MHD_Daemon *d;
};

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_size, void **req)
{
	struct MHD_Response *resp;
	unsigned status = MHD_HTTP_OK;
	const char *type = "text/plain; version=0.0.4; charset=utf-8";
	char *body = NULL;
	static const char not_found[] = "not found: try /metrics\n";
	static const char bad_method[] = "only GET and HEAD\n";
	enum MHD_Result rc;

	(void)cls; (void)version; (void)upload_data;
	if (*req == NULL) {	/* first call: headers only */
		*req = (void *)1;
		return MHD_YES;
	}
	*upload_size = 0;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		resp = MHD_create_response_from_buffer(sizeof(bad_method) - 1, (void *)bad_method,
		    MHD_RESPMEM_PERSISTENT);
	} else if (strcmp(url, "/metrics") != 0) {
		status = MHD_HTTP_NOT_FOUND;
		resp = MHD_create_response_from_buffer(sizeof(not_found) - 1, (void *)not_found,
		    MHD_RESPMEM_PERSISTENT);
	} else if ((body = metrics_render()) == NULL) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	}
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    status == MHD_HTTP_OK ? type : "text/plain; charset=utf-8");
	rc = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

struct metrics_server *
metrics_listen(const char *spec, char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL;
	struct metrics_server *m;
	struct inet_spec is;
	char msg[400];
	int one = 1, rc;

	if (inet_spec_parse(spec, &is, msg, sizeof(msg)) < 0) {
		snprintf(why, whylen, "MetricsSocket %s", msg);
		return NULL;
	}
	if (is.host[0] == '\0') {
		snprintf(why, whylen, "MetricsSocket '%s': expected inet:PORT@HOST", spec);
		return NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = is.six ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(is.host, is.port, &hints, &res)) != 0) {
		snprintf(why, whylen, "MetricsSocket '%s': %s", spec, gai_strerror(rc));
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		freeaddrinfo(res);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	m->fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(m->fd, res->ai_addr, res->ai_addrlen) != 0 || listen(m->fd, 64) != 0) {
		snprintf(why, whylen, "MetricsSocket %s: %s", spec, strerror(errno));
		if (m->fd >= 0)
			close(m->fd);
		free(m);
		freeaddrinfo(res);
		return NULL;
	}
	freeaddrinfo(res);
	return m;
}

int
metrics_start(struct metrics_server *m, char *why, size_t whylen)
{
	sigset_t all, old;

	/* libmicrohttpd's threads take no signals: they belong to libmilter */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, answer, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)m->fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
	    MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (m->d == NULL) {
		snprintf(why, whylen, "cannot start the metrics server");
		return -1;
	}
	return 0;
}

void
metrics_stop(struct metrics_server *m)
{
	if (m == NULL)
		return;
	if (m->d != NULL)
		MHD_stop_daemon(m->d);
	else
		close(m->fd);
	free(m);
}
