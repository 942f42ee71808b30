/*
 * dmarccheck: runs DMARC checks read from stdin through the dmarc module,
 * for tests/dmarc/test_dmarc.py.
 *
 *   dmarccheck --ns IP:PORT [--standard rfc9989|rfc7489]
 *              [--discovery psl|treewalk] [--timeout-ms N] [--threads N] [--org]
 *
 * The defaults are the option table's: --standard rfc9989 and its
 * discovery (treewalk; psl under rfc7489).
 *
 * Input, one check per line, TAB-separated:
 *   id  FROM  SPF  DKIM
 *     FROM  From domains, comma-separated ("-": none)
 *     SPF   RESULT:DOMAIN, e.g. pass:bounce.example.com ("-": none)
 *     DKIM  RESULT:D,RESULT:D..., e.g. pass:example.com,fail:x.org ("-": none)
 * With --org, lines are "id TAB domain" and dmarc_org_domain() is asked.
 * Output: one JSON object per line (see print_outcome).
 *
 * --threads N runs every check on N threads at once against the one
 * shared struct dmarc and resolver, and compares the outputs: exit 3 if
 * they differ. Exit 0, 2 on a usage or set-up error.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "dns.h"
#include "json.h"
#include "log.h"
#include "sbuf.h"

#define MAX_LINES	512
#define MAX_DKIM	8

struct opts {
	const char *ns;
	enum dmarc_standard std;
	enum dmarc_discovery disc;
	int disc_given;
	unsigned timeout_ms;
	unsigned threads;
	int org;
};

struct check {
	char *id;
	char *from_buf;
	const char *from[DMARC_MAX_FROM + 4];
	size_t n_from;
	char *spf_domain;
	enum spf_result spf;
	struct dkim_sig_result dkim[MAX_DKIM];
	size_t n_dkim;
};

struct job {
	pthread_t tid;
	const struct dmarc *d;
	struct dns_resolver *r;
	const struct opts *o;
	struct check *checks;
	size_t n;
	char **out;	/* one JSON line per check */
};

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: dmarccheck --ns IP:PORT [--standard rfc9989|rfc7489] [--discovery psl|treewalk]"
	    " [--timeout-ms N] [--threads N] [--org]\n");
	exit(2);
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->std = DMARC_STD_RFC9989;
	o->timeout_ms = 1500;
	o->threads = 1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ns") == 0 && i + 1 < argc)
			o->ns = argv[++i];
		else if (strcmp(argv[i], "--standard") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "rfc9989") == 0)
				o->std = DMARC_STD_RFC9989;
			else if (strcmp(argv[i], "rfc7489") == 0)
				o->std = DMARC_STD_RFC7489;
			else
				usage();
		} else if (strcmp(argv[i], "--discovery") == 0 && i + 1 < argc) {
			i++;
			o->disc_given = 1;
			if (strcmp(argv[i], "psl") == 0)
				o->disc = DMARC_DISCOVERY_PSL;
			else if (strcmp(argv[i], "treewalk") == 0)
				o->disc = DMARC_DISCOVERY_TREEWALK;
			else
				usage();
		} else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
			o->timeout_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			o->threads = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--org") == 0)
			o->org = 1;
		else
			usage();
	}
	if (o->ns == NULL || o->threads == 0 || o->threads > 64)
		usage();
	if (!o->disc_given)
		o->disc = o->std == DMARC_STD_RFC7489 ? DMARC_DISCOVERY_PSL : DMARC_DISCOVERY_TREEWALK;
}

static enum spf_result
spf_parse(const char *s)
{
	static const enum spf_result all[] = { SPF_RES_NONE, SPF_RES_NEUTRAL,
	    SPF_RES_PASS, SPF_RES_FAIL, SPF_RES_SOFTFAIL, SPF_RES_TEMPERROR,
	    SPF_RES_PERMERROR };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, spf_result_str(all[i])) == 0)
			return all[i];
	return SPF_RES_NONE;
}

static enum dkim_res
dkim_parse(const char *s)
{
	static const enum dkim_res all[] = { DKIM_RES_NONE, DKIM_RES_PASS,
	    DKIM_RES_FAIL, DKIM_RES_POLICY, DKIM_RES_NEUTRAL, DKIM_RES_TEMPERROR,
	    DKIM_RES_PERMERROR };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, dkim_res_str(all[i])) == 0)
			return all[i];
	return DKIM_RES_NONE;
}

/* Splits line into at most n TAB-separated fields; returns the count. */
static int
split_tabs(char *line, char **f, int n)
{
	int k = 0;

	line[strcspn(line, "\r\n")] = '\0';
	f[k++] = line;
	while (k < n && (line = strchr(line, '\t')) != NULL) {
		*line++ = '\0';
		f[k++] = line;
	}
	return k;
}

static int
parse_check(char *line, struct check *c, int org)
{
	char *f[4], *p, *tok, *save = NULL;
	int nf = split_tabs(line, f, 4);

	memset(c, 0, sizeof(*c));
	if ((org && nf != 2) || (!org && nf != 4))
		return -1;
	c->id = strdup(f[0]);
	c->from_buf = strdup(f[1]);
	if (c->id == NULL || c->from_buf == NULL)
		return -1;
	if (strcmp(c->from_buf, "-") != 0)
		for (tok = strtok_r(c->from_buf, ",", &save); tok != NULL &&
		    c->n_from < sizeof(c->from) / sizeof(c->from[0]);
		    tok = strtok_r(NULL, ",", &save))
			c->from[c->n_from++] = tok;
	if (org)
		return 0;
	c->spf = SPF_RES_NONE;
	if (strcmp(f[2], "-") != 0 && (p = strchr(f[2], ':')) != NULL) {
		*p++ = '\0';
		c->spf = spf_parse(f[2]);
		if ((c->spf_domain = strdup(p)) == NULL)
			return -1;
	}
	if (strcmp(f[3], "-") != 0)
		for (tok = strtok_r(f[3], ",", &save); tok != NULL && c->n_dkim < MAX_DKIM;
		    tok = strtok_r(NULL, ",", &save)) {
			struct dkim_sig_result *s = &c->dkim[c->n_dkim++];

			if ((p = strchr(tok, ':')) == NULL)
				return -1;
			*p++ = '\0';
			s->result = dkim_parse(tok);
			snprintf(s->domain, sizeof(s->domain), "%s", p);
		}
	return 0;
}

static void
free_check(struct check *c)
{
	free(c->id);
	free(c->from_buf);
	free(c->spf_domain);
}

static const char *
align_str(enum dmarc_align a)
{
	return a == DMARC_ALIGN_STRICT ? "s" : "r";
}

static const char *
psd_str(enum dmarc_psd p)
{
	return p == DMARC_PSD_Y ? "y" : p == DMARC_PSD_N ? "n" : "u";
}

static char *
print_outcome(const char *id, const struct dmarc_outcome *o)
{
	struct sbuf b;
	struct json j;
	const struct dmarc_record *r = &o->record;

	sbuf_init(&b, 1 << 16);
	json_init(&j, &b);
	json_obj_begin(&j, NULL);
	json_str(&j, "id", id);
	json_str(&j, "result", dmarc_res_str(o->result));
	json_str(&j, "standard", dmarc_standard_str(o->standard));
	json_str(&j, "discovery", dmarc_discovery_str(o->discovery));
	json_int(&j, "n_from", (long)o->n_from);
	json_str(&j, "from", o->from_domain);
	json_str(&j, "org", o->org_domain);
	json_str(&j, "record_domain", o->record_domain);
	json_int(&j, "n_records", (long)o->n_records);
	json_bool(&j, "have_record", o->have_record);
	json_str(&j, "policy", dmarc_policy_str(o->policy));
	json_str(&j, "policy_tag", o->policy_tag);
	json_str(&j, "applied", dmarc_policy_str(o->applied));
	json_str(&j, "discarded", o->discarded);
	json_str(&j, "org_other", o->org_other);
	json_int(&j, "from_exists", o->from_exists);
	json_int(&j, "pct", (long)o->pct);
	json_bool(&j, "testing", o->testing);
	json_bool(&j, "spf_aligned", o->spf_aligned);
	json_str(&j, "spf_domain", o->spf_domain);
	json_bool(&j, "dkim_aligned", o->dkim_aligned);
	json_str(&j, "dkim_domain", o->dkim_domain);
	json_str(&j, "why", o->why);
	if (o->have_record) {
		json_obj_begin(&j, "record");
		json_int(&j, "present", (long)r->present);
		json_int(&j, "invalid", (long)r->invalid);
		json_bool(&j, "p_present", r->p_present);
		json_str(&j, "p", dmarc_policy_str(r->p));
		json_str(&j, "sp", dmarc_policy_str(r->sp));
		json_str(&j, "np", dmarc_policy_str(r->np));
		json_str(&j, "adkim", align_str(r->adkim));
		json_str(&j, "aspf", align_str(r->aspf));
		json_int(&j, "pct", (long)r->pct);
		json_str(&j, "psd", psd_str(r->psd));
		json_str(&j, "rua", r->rua);
		json_bool(&j, "rua_valid", r->rua_valid);
		json_obj_end(&j);
	}
	json_obj_end(&j);
	return sbuf_detach(&b);
}

static char *
print_org(const char *id, int rc, const char *org)
{
	struct sbuf b;
	struct json j;

	sbuf_init(&b, 4096);
	json_init(&j, &b);
	json_obj_begin(&j, NULL);
	json_str(&j, "id", id);
	json_int(&j, "rc", rc);
	json_str(&j, "org", org);
	json_obj_end(&j);
	return sbuf_detach(&b);
}

static void *
run_job(void *arg)
{
	struct job *jb = arg;
	struct dns_ctx ctx;
	struct dmarc_outcome out;
	struct dmarc_input in;
	char org[DMARC_DOMAIN_MAX];
	size_t i;
	int rc;

	for (i = 0; i < jb->n; i++) {
		struct check *c = &jb->checks[i];

		dns_ctx_init(&ctx, jb->r, jb->o->timeout_ms);
		if (jb->o->org) {
			rc = dmarc_org_domain(jb->d, &ctx, c->n_from ? c->from[0] : "",
			    org, sizeof(org));
			jb->out[i] = print_org(c->id, rc, org);
			continue;
		}
		memset(&in, 0, sizeof(in));
		in.from_domains = c->from;
		in.n_from = c->n_from;
		in.spf_domain = c->spf_domain;
		in.spf_result = c->spf;
		in.dkim = c->dkim;
		in.n_dkim = c->n_dkim;
		dmarc_check(jb->d, &ctx, &in, &out);
		jb->out[i] = print_outcome(c->id, &out);
	}
	dns_thread_done();
	return NULL;
}

int
main(int argc, char **argv)
{
	static struct check checks[MAX_LINES];
	struct opts o;
	struct dns_server srv;
	struct dns_resolver *r;
	struct dmarc *d;
	struct job jobs[64];
	char line[8192], why[256];
	size_t n = 0, i, t;
	int rc = 0;

	parse_args(argc, argv, &o);
	log_open("dmarccheck", 0, 0, LOG_LVL_WARN);
	if (dns_parse_server(o.ns, &srv, why, sizeof(why)) != 0) {
		fprintf(stderr, "dmarccheck: --ns %s: %s\n", o.ns, why);
		return 2;
	}
	while (n < MAX_LINES && fgets(line, sizeof(line), stdin) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (parse_check(line, &checks[n], o.org) < 0) {
			fprintf(stderr, "dmarccheck: bad input line: %s\n", line);
			free_check(&checks[n]);
			for (i = 0; i < n; i++)
				free_check(&checks[i]);
			return 2;
		}
		n++;
	}
	if ((r = dns_resolver_new(&srv, 1, 1000, why, sizeof(why))) == NULL) {
		fprintf(stderr, "dmarccheck: resolver: %s\n", why);
		return 2;
	}
	if ((d = dmarc_new(o.std, o.disc, why, sizeof(why))) == NULL) {
		fprintf(stderr, "dmarccheck: %s\n", why);
		dns_resolver_free(r);
		return 2;
	}
	fprintf(stderr, "dmarccheck: suffix list: %s\n", dmarc_psl_source(d));
	for (t = 0; t < o.threads; t++) {
		jobs[t].d = d;
		jobs[t].r = r;
		jobs[t].o = &o;
		jobs[t].checks = checks;
		jobs[t].n = n;
		jobs[t].out = calloc(n + 1, sizeof(char *));
		if (jobs[t].out == NULL || pthread_create(&jobs[t].tid, NULL, run_job, &jobs[t]) != 0) {
			fprintf(stderr, "dmarccheck: cannot start thread\n");
			return 2;
		}
	}
	for (t = 0; t < o.threads; t++)
		pthread_join(jobs[t].tid, NULL);
	for (i = 0; i < n; i++) {
		printf("%s\n", jobs[0].out[i]);
		for (t = 1; t < o.threads; t++)
			if (strcmp(jobs[0].out[i], jobs[t].out[i]) != 0) {
				fprintf(stderr, "dmarccheck: thread %zu differs on %s:\n%s\n",
				    t, checks[i].id, jobs[t].out[i]);
				rc = 3;
			}
	}
	for (t = 0; t < o.threads; t++) {
		for (i = 0; i < n; i++)
			free(jobs[t].out[i]);
		free(jobs[t].out);
	}
	for (i = 0; i < n; i++)
		free_check(&checks[i]);
	dmarc_free(d);
	dns_resolver_free(r);
	dns_thread_done();
	return rc;
}
