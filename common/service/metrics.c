/*
 * metrics: the counters and their exposition text; see metrics.h. The
 * HTTP side is metrics_http.c (or metrics_http_none.c without libmicrohttpd).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "metrics.h"
#include "sqldb.h"
#include "sbuf.h"

/* upper bounds of the latency buckets, in microseconds (le="0.001" ... "10") */
static const long bucket_us[] = { 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000 };
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))
static const char *const bucket_le[N_BUCKETS] = { "0.001", "0.0025", "0.005", "0.01", "0.025",
	"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10" };

#define HISTOGRAM "sendercheck_check_duration_seconds"

/*
 * The families, in the order of the page. A field of the table names its
 * family in .metric; NULL type: the stats queue's counters (not a verdict's).
 */
static const struct family {
	const char *name, *type, *help;
} families[] = {
	{ "sendercheck_messages_total", "counter", "Messages judged, by the action taken." },
	{ "sendercheck_skipped_total", "counter",
	  "Messages from InternalHosts passed without checks at end of message." },
	{ "sendercheck_results_total", "counter",
	  "Authentication results by method and result (dkim: per signature; none: unsigned)." },
	{ "sendercheck_verdicts_total", "counter", "Compliance verdicts by profile." },
	{ "sendercheck_rule_failures_total", "counter", "Messages failing a rule, by profile and rule id." },
	{ "sendercheck_bulk_messages_total", "counter", "Messages classified as bulk." },
	{ "sendercheck_oneclick_total", "counter",
	  "One-click unsubscribe (RFC 8058): pass, fail (List-Unsubscribe not one-click), none." },
	{ "sendercheck_dns_queries_total", "counter", "DNS lookups of the checks (cache hits included)." },
	{ "sendercheck_dns_cache_hits_total", "counter", "DNS lookups answered from the cache." },
	{ "sendercheck_dns_timeouts_total", "counter", "DNS lookups that timed out." },
	{ "stats queue and backends", NULL, NULL },
	{ HISTOGRAM, "histogram", "Time spent judging one message (check_finish), at microsecond resolution." },
};
#define N_FAMILIES (sizeof(families) / sizeof(families[0]))

/*
 * The series: one per label set of a field (per map key, per value of an
 * enum), registered once from the table. Two fields that make the same
 * series (an empty list of signatures counts dkim="none" like a signature
 * would) share it.
 */
#define MAX_SERIES 512
#define MAX_REGS 32

struct series {
	const char *family;
	char labels[160];
};

struct reg {
	const struct vfield *row;
	int nmap, nval;		/* series per map key, values per series */
	int slot[MAX_SERIES];	/* [map * nval + value]: the series, -1 none */
};

static struct series series[MAX_SERIES];
static size_t n_series;
static struct reg regs[MAX_REGS];
static size_t n_regs;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static struct {
	atomic_ulong count[MAX_SERIES];
	atomic_ulong latency_bucket[N_BUCKETS];	/* not cumulative here */
	atomic_ulong latency_count, latency_sum_us;
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

/* The series of family with labels, made if new; -1 when there is no room. */
static int
series_of(const char *family, const char *labels)
{
	for (size_t i = 0; i < n_series; i++)
		if (strcmp(series[i].family, family) == 0 && strcmp(series[i].labels, labels) == 0)
			return (int)i;
	if (n_series == MAX_SERIES)
		return -1;
	series[n_series].family = family;
	snprintf(series[n_series].labels, sizeof(series[0].labels), "%s", labels);
	return (int)n_series++;
}

static void
register_row(const struct vfield *f, const struct vfield *map)
{
	struct reg *r;
	int has_names = f->name != NULL && f->count > 0;

	if (n_regs == MAX_REGS || strcmp(f->metric, HISTOGRAM) == 0)
		return;
	r = &regs[n_regs++];
	r->row = f;
	r->nmap = map ? map->count : 1;
	r->nval = has_names ? f->count : 1;
	for (int m = 0; m < r->nmap; m++)
		for (int v = 0; v < r->nval; v++) {
			char labels[160] = "";
			int *slot = &r->slot[m * r->nval + v];

			*slot = -1;
			if (m * r->nval + v >= MAX_SERIES || (f->mfilter && !f->mfilter(m, v)))
				continue;
			if (map)
				snprintf(labels, sizeof(labels), "%s=\"%s\"", map->vlabel, map->name(m));
			if (f->mlabels)
				snprintf(labels + strlen(labels), sizeof(labels) - strlen(labels), "%s%s",
				    labels[0] ? "," : "", f->mlabels);
			if (has_names && f->vlabel)
				snprintf(labels + strlen(labels), sizeof(labels) - strlen(labels),
				    "%s%s=\"%s\"", labels[0] ? "," : "", f->vlabel, f->name(v));
			*slot = series_of(f->metric, labels);
		}
}

static void
register_rows(const struct vfield *rows, const struct vfield *map)
{
	for (const struct vfield *f = rows; f->type != VF_END; f++) {
		if (!(vfield_reach(f) & VO_METRIC))
			continue;
		if (f->metric != NULL && (f->out & VO_METRIC))
			register_row(f, map);
		if (f->sub != NULL)
			register_rows(f->sub, f->type == VF_MAP ? f : map);
	}
}

static void
init(void)
{
	register_rows(verdict_fields, NULL);
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

/* In microseconds: whole milliseconds made the sum 0 for checks under 1 ms. */
static void
observe_latency(long us)
{
	size_t b;

	for (b = 0; b < N_BUCKETS && us > bucket_us[b]; b++)
		;
	if (b < N_BUCKETS)
		inc(&M.latency_bucket[b], 1);
	inc(&M.latency_count, 1);
	inc(&M.latency_sum_us, us > 0 ? (unsigned long)us : 0);
}

static void
count_value(void *arg, const struct vfield *f, const struct vctx *c, const struct vval *val)
{
	const struct reg *r = NULL;
	int m, v;

	(void)arg;
	if (f->metric == NULL || !(f->out & VO_METRIC) || !val->present)
		return;
	for (size_t i = 0; i < n_regs && r == NULL; i++)
		if (regs[i].row == f)
			r = &regs[i];
	if (r == NULL) {
		if (strcmp(f->metric, HISTOGRAM) == 0)
			observe_latency((long)val->n);
		return;
	}
	m = r->nmap > 1 ? (int)vctx_map_index(c) : 0;
	v = r->nval > 1 ? (int)val->n : 0;
	if (f->type == VF_BOOL && !val->n)
		return;		/* a boolean counts the true ones */
	if (m >= r->nmap || v < 0 || v >= r->nval || r->slot[m * r->nval + v] < 0)
		return;
	inc(&M.count[r->slot[m * r->nval + v]], f->type == VF_INT ? (unsigned long)val->n : 1);
}

void
metrics_count(const struct verdict *v)
{
	static const struct vsink sink = { NULL, NULL, count_value };
	char why[160];

	pthread_once(&once, init);
	(void)verdict_walk(verdict_fields, v, VO_METRIC, &sink, NULL, why, sizeof(why));
}

static void
head(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
render_stats_queue(struct sbuf *b)
{
	struct stats_counters sc;

	stats_get_counters(stats_src, &sc);
	head(b, "sendercheck_stats_queued_total", "counter", "Verdicts queued for the statistics file.");
	sbuf_printf(b, "sendercheck_stats_queued_total %lu\n", sc.queued);
	head(b, "sendercheck_stats_dropped_total", "counter",
	    "Verdicts dropped from the statistics because the queue was full (mail went on).");
	sbuf_printf(b, "sendercheck_stats_dropped_total %lu\n", sc.dropped);
	head(b, "sendercheck_stats_written_total", "counter", "Verdicts committed to the statistics file.");
	sbuf_printf(b, "sendercheck_stats_written_total %lu\n", sc.written);
	head(b, "sendercheck_stats_lost_total", "counter", "Verdicts not written because of a write error.");
	sbuf_printf(b, "sendercheck_stats_lost_total %lu\n", sc.lost);
	head(b, "sendercheck_stats_queue_length", "gauge", "Verdicts waiting for the statistics writer.");
	sbuf_printf(b, "sendercheck_stats_queue_length %lu\n", sc.queue_length);
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

/* One backend's figures, for the sendercheck_backend_* families. */
struct backend {
	char label[32];			/* backend="..." */
	int up;
	struct histo *rtt;		/* NULL: none measured (SQLite) */
	unsigned long errors, outages, queue;
	long fallbacks;			/* -1: not this backend's notion */
};

/* The backends the daemon talks to, one label value each (only those
 * configured): Redis (SharedState) and the statistics store. */
static void
render_backends(struct sbuf *b)
{
	struct backend be[2];
	size_t n = 0;
	int any_rtt = 0, any_fallbacks = 0;

	if (shared_src != NULL) {
		struct sharedstate_counters sc;

		sharedstate_get_counters(shared_src, &sc);
		be[n++] = (struct backend){ "backend=\"redis\"", sc.up, sharedstate_latency(shared_src),
			sc.errors, sc.outages, sc.pending, (long)sc.fallbacks };
	}
	if (stats_src != NULL) {
		struct stats_counters st;

		stats_get_counters(stats_src, &st);
		be[n] = (struct backend){ "", st.up, NULL, st.errors, st.outages,
			st.queue_length + st.in_flight, -1 };
		snprintf(be[n].label, sizeof(be[n].label), "backend=\"%s\"", st.backend);
		if (strcmp(st.backend, "postgresql") == 0)
			be[n].rtt = sqldb_pg_latency();
		n++;
	}
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		any_rtt |= be[i].rtt != NULL;
		any_fallbacks |= be[i].fallbacks >= 0;
	}
	head(b, "sendercheck_backend_up", "gauge",
	    "1 while the backend is reachable and in use (redis: SharedState; sqlite, postgresql: StatsDB).");
	for (size_t i = 0; i < n; i++)
		sbuf_printf(b, "sendercheck_backend_up{%s} %d\n", be[i].label, be[i].up);
	if (any_rtt)
		head(b, "sendercheck_backend_roundtrip_seconds", "histogram",
		    "Round trips to the backend (redis: a pipeline of writes or fetches; postgresql: a command or pipeline).");
	for (size_t i = 0; i < n; i++)
		if (be[i].rtt != NULL)
			histo_lines(b, "sendercheck_backend_roundtrip_seconds", be[i].label, be[i].rtt);
	head(b, "sendercheck_backend_errors_total", "counter",
	    "Failed connections, round trips and transactions (a locked file or a server away: tried again).");
	for (size_t i = 0; i < n; i++)
		sbuf_printf(b, "sendercheck_backend_errors_total{%s} %lu\n", be[i].label, be[i].errors);
	head(b, "sendercheck_backend_outages_total", "counter", "Times the backend became unreachable.");
	for (size_t i = 0; i < n; i++)
		sbuf_printf(b, "sendercheck_backend_outages_total{%s} %lu\n", be[i].label, be[i].outages);
	if (any_fallbacks)
		head(b, "sendercheck_backend_fallbacks_total", "counter",
		    "redis: messages judged on this host's counts because Redis was unreachable.");
	for (size_t i = 0; i < n; i++)
		if (be[i].fallbacks >= 0)
			sbuf_printf(b, "sendercheck_backend_fallbacks_total{%s} %ld\n", be[i].label, be[i].fallbacks);
	head(b, "sendercheck_backend_queue_length", "gauge",
	    "Work waiting for the backend (redis: domains whose counts are not written yet; "
	    "statistics: verdicts queued or being written).");
	for (size_t i = 0; i < n; i++)
		sbuf_printf(b, "sendercheck_backend_queue_length{%s} %lu\n", be[i].label, be[i].queue);
}

static void
render_histogram(struct sbuf *b)
{
	unsigned long cum = 0, count, sum;

	for (size_t i = 0; i < N_BUCKETS; i++) {
		cum += get(&M.latency_bucket[i]);
		sbuf_printf(b, HISTOGRAM "_bucket{le=\"%s\"} %lu\n", bucket_le[i], cum);
	}
	count = get(&M.latency_count);
	sum = get(&M.latency_sum_us);
	/* +Inf must equal _count: read once, and never below the buckets */
	if (count < cum)
		count = cum;
	sbuf_printf(b, HISTOGRAM "_bucket{le=\"+Inf\"} %lu\n", count);
	sbuf_printf(b, HISTOGRAM "_sum %lu.%06lu\n", sum / 1000000, sum % 1000000);
	sbuf_printf(b, HISTOGRAM "_count %lu\n", count);
}

char *
metrics_render(void)
{
	struct sbuf b;

	pthread_once(&once, init);
	sbuf_init(&b, 1 << 20);
	for (size_t f = 0; f < N_FAMILIES; f++) {
		const struct family *fa = &families[f];

		if (fa->type == NULL) {
			render_stats_queue(&b);
			render_backends(&b);
			continue;
		}
		head(&b, fa->name, fa->type, fa->help);
		if (strcmp(fa->name, HISTOGRAM) == 0) {
			render_histogram(&b);
			continue;
		}
		/* every series from the start, zeros included, so that rate() works at once */
		for (size_t i = 0; i < n_series; i++)
			if (strcmp(series[i].family, fa->name) == 0)
				sbuf_printf(&b, series[i].labels[0] ? "%s{%s} %lu\n" : "%s%s %lu\n", fa->name,
				    series[i].labels, get(&M.count[i]));
	}
	if (b.overflow) {
		sbuf_free(&b);
		return NULL;
	}
	return sbuf_detach(&b);
}
