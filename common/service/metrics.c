/*
 * metrics: counters and the /metrics endpoint; see metrics.h.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "metrics.h"
#include "report.h"
#include "sbuf.h"

#define N_SPF SPF_RES_COUNT
#define N_DKIM DKIM_RES_COUNT
#define N_DMARC DMARC_RES_COUNT
#define N_IPREV IPREV_RES_COUNT

/* upper bounds of the latency buckets, in ms (le="0.001" ... "10") */
static const long bucket_ms[] = { 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 };
#define N_BUCKETS (sizeof(bucket_ms) / sizeof(bucket_ms[0]))
static const char *const bucket_le[N_BUCKETS] = { "0.001", "0.0025", "0.005", "0.01", "0.025",
	"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10" };

static struct {
	atomic_ulong messages[ACT_COUNT];
	atomic_ulong skipped;
	atomic_ulong spf[N_SPF];
	atomic_ulong dkim[N_DKIM];		/* each signature; none: unsigned message */
	atomic_ulong dmarc[N_DMARC];
	atomic_ulong iprev[N_IPREV];
	atomic_ulong verdict[PROFILE_COUNT][PROFILE_RESULT_COUNT];
	atomic_ulong rule_fail[PROFILE_COUNT][RULE_COUNT];
	atomic_ulong bulk;
	atomic_ulong oneclick[3];		/* pass, fail, none */
	atomic_ulong dns_queries, dns_cache_hits, dns_timeouts;
	atomic_ulong latency_bucket[N_BUCKETS];	/* not cumulative here */
	atomic_ulong latency_count, latency_sum_ms;
} M;

static struct stats *stats_src;
static struct sharedstate *shared_src;

static void
inc(atomic_ulong *c, unsigned long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static unsigned long
get(atomic_ulong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void
metrics_set_stats(struct stats *s)
{
	stats_src = s;
}

void
metrics_set_sharedstate(struct sharedstate *s)
{
	shared_src = s;
}

void
metrics_count(const struct verdict *v)
{
	size_t b;

	inc(&M.messages[(unsigned)v->action < ACT_COUNT ? v->action : 0], 1);
	inc(&M.dns_queries, v->dns_queries);
	inc(&M.dns_cache_hits, v->dns_cache_hits);
	inc(&M.dns_timeouts, v->dns_timeouts);
	for (b = 0; b < N_BUCKETS && v->elapsed_ms > bucket_ms[b]; b++)
		;
	if (b < N_BUCKETS)
		inc(&M.latency_bucket[b], 1);
	inc(&M.latency_count, 1);
	inc(&M.latency_sum_ms, v->elapsed_ms > 0 ? (unsigned long)v->elapsed_ms : 0);
	if (v->skipped) {
		inc(&M.skipped, 1);
		return;
	}
	if (v->spf_done && (unsigned)v->spf.result < N_SPF)
		inc(&M.spf[v->spf.result], 1);
	if (v->n_dkim == 0)
		inc(&M.dkim[DKIM_RES_NONE], 1);
	for (size_t i = 0; i < v->n_dkim; i++)
		if ((unsigned)v->dkim[i].result < N_DKIM)
			inc(&M.dkim[v->dkim[i].result], 1);
	if (v->dmarc_done && (unsigned)v->dmarc.result < N_DMARC)
		inc(&M.dmarc[v->dmarc.result], 1);
	if (v->iprev_done && (unsigned)v->iprev.result < N_IPREV)
		inc(&M.iprev[v->iprev.result], 1);
	for (int p = 0; p < PROFILE_COUNT; p++) {
		const struct profile_verdict *pv = &v->compliance.profile[p];

		if (!pv->enabled)
			continue;
		inc(&M.verdict[p][rules_profile_result(&v->compliance, (enum profile_id)p)], 1);
		for (size_t i = 0; i < pv->n_failed; i++)
			if ((unsigned)pv->failed[i] < RULE_COUNT)
				inc(&M.rule_fail[p][pv->failed[i]], 1);
	}
	if (v->bulk)
		inc(&M.bulk, 1);
	const char *oc = report_oneclick(v);
	inc(&M.oneclick[strcmp(oc, "pass") == 0 ? 0 : strcmp(oc, "fail") == 0 ? 1 : 2], 1);
}

static void
head(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
histo_lines(struct sbuf *b, const char *name, const char *label, struct histo *h)
{
	struct histo_snapshot hs;

	histo_read(h, &hs);
	for (int i = 0; i < HISTO_BUCKETS; i++)
		sbuf_printf(b, "%s_bucket{%s,le=\"%s\"} %lu\n", name, label, histo_le[i], hs.cumulative[i]);
	sbuf_printf(b, "%s_bucket{%s,le=\"+Inf\"} %lu\n", name, label, hs.count);
	sbuf_printf(b, "%s_sum{%s} %lu.%06lu\n", name, label, hs.sum_us / 1000000, hs.sum_us % 1000000);
	sbuf_printf(b, "%s_count{%s} %lu\n", name, label, hs.count);
}

/* The backends the daemon talks to, one label value each (only those configured). */
static void
render_backends(struct sbuf *b)
{
	struct sharedstate_counters sc;
	const char *redis = "backend=\"redis\"";

	if (shared_src == NULL)
		return;
	sharedstate_get_counters(shared_src, &sc);
	head(b, "sendercheck_backend_up", "gauge",
	    "1 while the backend is reachable and in use (redis: SharedState).");
	sbuf_printf(b, "sendercheck_backend_up{%s} %d\n", redis, sc.up);
	head(b, "sendercheck_backend_roundtrip_seconds", "histogram",
	    "Round trips to the backend (redis: one pipeline of writes or fetches).");
	histo_lines(b, "sendercheck_backend_roundtrip_seconds", redis, sharedstate_latency(shared_src));
	head(b, "sendercheck_backend_errors_total", "counter",
	    "Failed connections and round trips to the backend.");
	sbuf_printf(b, "sendercheck_backend_errors_total{%s} %lu\n", redis, sc.errors);
	head(b, "sendercheck_backend_outages_total", "counter", "Times the backend became unreachable.");
	sbuf_printf(b, "sendercheck_backend_outages_total{%s} %lu\n", redis, sc.outages);
	head(b, "sendercheck_backend_fallbacks_total", "counter",
	    "redis: messages judged on this host's counts because Redis was unreachable.");
	sbuf_printf(b, "sendercheck_backend_fallbacks_total{%s} %lu\n", redis, sc.fallbacks);
	head(b, "sendercheck_backend_queue_length", "gauge",
	    "Work waiting for the backend (redis: domains whose counts are not written yet).");
	sbuf_printf(b, "sendercheck_backend_queue_length{%s} %lu\n", redis, sc.pending);
}

char *
metrics_render(void)
{
	static const char *const oc_names[3] = { "pass", "fail", "none" };
	struct sbuf b;
	unsigned long cum = 0;

	sbuf_init(&b, 1 << 20);
	head(&b, "sendercheck_messages_total", "counter", "Messages judged, by the action taken.");
	for (int a = 0; a < ACT_COUNT; a++)
		sbuf_printf(&b, "sendercheck_messages_total{action=\"%s\"} %lu\n",
		    action_str((enum action)a), get(&M.messages[a]));
	head(&b, "sendercheck_skipped_total", "counter",
	    "Messages from InternalHosts passed without checks at end of message.");
	sbuf_printf(&b, "sendercheck_skipped_total %lu\n", get(&M.skipped));

	head(&b, "sendercheck_results_total", "counter",
	    "Authentication results by method and result (dkim: per signature; none: unsigned).");
	for (int r = 0; r < N_SPF; r++)
		sbuf_printf(&b, "sendercheck_results_total{method=\"spf\",result=\"%s\"} %lu\n",
		    spf_result_str((enum spf_result)r), get(&M.spf[r]));
	for (int r = 0; r < N_DKIM; r++)
		sbuf_printf(&b, "sendercheck_results_total{method=\"dkim\",result=\"%s\"} %lu\n",
		    dkim_res_str((enum dkim_res)r), get(&M.dkim[r]));
	for (int r = 0; r < N_DMARC; r++)
		sbuf_printf(&b, "sendercheck_results_total{method=\"dmarc\",result=\"%s\"} %lu\n",
		    dmarc_res_str((enum dmarc_res)r), get(&M.dmarc[r]));
	for (int r = 0; r < N_IPREV; r++)
		sbuf_printf(&b, "sendercheck_results_total{method=\"iprev\",result=\"%s\"} %lu\n",
		    iprev_res_str((enum iprev_res)r), get(&M.iprev[r]));

	head(&b, "sendercheck_verdicts_total", "counter", "Compliance verdicts by profile.");
	for (int p = 0; p < PROFILE_COUNT; p++)
		for (int k = 0; k < PROFILE_RESULT_COUNT; k++)
			sbuf_printf(&b, "sendercheck_verdicts_total{profile=\"%s\",verdict=\"%s\"} %lu\n",
			    profile_name((enum profile_id)p), profile_result_str((enum profile_result)k),
			    get(&M.verdict[p][k]));
	head(&b, "sendercheck_rule_failures_total", "counter",
	    "Messages failing a rule, by profile and rule id.");
	for (int p = 0; p < PROFILE_COUNT; p++)
		for (int r = 0; r < RULE_COUNT; r++)
			if (rules_applies((enum profile_id)p, (enum rule_id)r) != SCOPE_NONE)
				sbuf_printf(&b, "sendercheck_rule_failures_total{profile=\"%s\",rule=\"%s\"} %lu\n",
				    profile_name((enum profile_id)p), rule_name((enum rule_id)r),
				    get(&M.rule_fail[p][r]));
	head(&b, "sendercheck_bulk_messages_total", "counter", "Messages classified as bulk.");
	sbuf_printf(&b, "sendercheck_bulk_messages_total %lu\n", get(&M.bulk));
	head(&b, "sendercheck_oneclick_total", "counter",
	    "One-click unsubscribe (RFC 8058): pass, fail (List-Unsubscribe not one-click), none.");
	for (int k = 0; k < 3; k++)
		sbuf_printf(&b, "sendercheck_oneclick_total{result=\"%s\"} %lu\n", oc_names[k],
		    get(&M.oneclick[k]));

	head(&b, "sendercheck_dns_queries_total", "counter", "DNS lookups of the checks (cache hits included).");
	sbuf_printf(&b, "sendercheck_dns_queries_total %lu\n", get(&M.dns_queries));
	head(&b, "sendercheck_dns_cache_hits_total", "counter", "DNS lookups answered from the cache.");
	sbuf_printf(&b, "sendercheck_dns_cache_hits_total %lu\n", get(&M.dns_cache_hits));
	head(&b, "sendercheck_dns_timeouts_total", "counter", "DNS lookups that timed out.");
	sbuf_printf(&b, "sendercheck_dns_timeouts_total %lu\n", get(&M.dns_timeouts));

	struct stats_counters sc;
	stats_get_counters(stats_src, &sc);
	head(&b, "sendercheck_stats_queued_total", "counter", "Verdicts queued for the statistics file.");
	sbuf_printf(&b, "sendercheck_stats_queued_total %lu\n", sc.queued);
	head(&b, "sendercheck_stats_dropped_total", "counter",
	    "Verdicts dropped from the statistics because the queue was full (mail went on).");
	sbuf_printf(&b, "sendercheck_stats_dropped_total %lu\n", sc.dropped);
	head(&b, "sendercheck_stats_written_total", "counter", "Verdicts committed to the statistics file.");
	sbuf_printf(&b, "sendercheck_stats_written_total %lu\n", sc.written);
	head(&b, "sendercheck_stats_lost_total", "counter", "Verdicts not written because of a write error.");
	sbuf_printf(&b, "sendercheck_stats_lost_total %lu\n", sc.lost);
	head(&b, "sendercheck_stats_queue_length", "gauge", "Verdicts waiting for the statistics writer.");
	sbuf_printf(&b, "sendercheck_stats_queue_length %lu\n", sc.queue_length);

	render_backends(&b);

	head(&b, "sendercheck_check_duration_seconds", "histogram",
	    "Time spent judging one message (check_finish), at millisecond resolution.");
	for (size_t i = 0; i < N_BUCKETS; i++) {
		cum += get(&M.latency_bucket[i]);
		sbuf_printf(&b, "sendercheck_check_duration_seconds_bucket{le=\"%s\"} %lu\n", bucket_le[i], cum);
	}
	unsigned long count = get(&M.latency_count), sum = get(&M.latency_sum_ms);
	/* +Inf must equal _count: read once, and never below the buckets */
	if (count < cum)
		count = cum;
	sbuf_printf(&b, "sendercheck_check_duration_seconds_bucket{le=\"+Inf\"} %lu\n", count);
	sbuf_printf(&b, "sendercheck_check_duration_seconds_sum %lu.%03lu\n", sum / 1000, sum % 1000);
	sbuf_printf(&b, "sendercheck_check_duration_seconds_count %lu\n", count);
	if (b.overflow) {
		sbuf_free(&b);
		return NULL;
	}
	return sbuf_detach(&b);
}

/* ---- the HTTP server ---- */

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
	char host[256], port[8];
	const char *p = strchr(spec, ':'), *at = strchr(spec, '@');
	int six = strncmp(spec, "inet6:", 6) == 0, one = 1, rc;

	if (p == NULL || at == NULL || (size_t)(at - p - 1) >= sizeof(port) || at - p - 1 < 1) {
		snprintf(why, whylen, "MetricsSocket '%s': expected inet:PORT@HOST", spec);
		return NULL;
	}
	memcpy(port, p + 1, (size_t)(at - p - 1));
	port[at - p - 1] = '\0';
	snprintf(host, sizeof(host), "%s", at + 1);
	/* "[::1]" as well as "::1" */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = six ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
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
