/* libFuzzer target: the aggregate report writer (dmarcreport.c) on stored
 * values a sender chose (header_from, envelope_from, d=, s=, the SPF
 * domain) or anyone with access to the store wrote. The input is split at
 * NUL bytes into the policy's and a record's texts. Checks what
 * dmarcreport.h promises: every report is a gzip file whose XML libxml2
 * parses (well-formed, no byte XML cannot carry), in the RFC 9990
 * namespace, with a file name of no '/' and the policy domain as given.
 * statsdb_dmarc_day (the store) is not linked: the target is the store. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zlib.h>

#include "dmarcreport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
statsdb_dmarc_day(struct statsdb *db, long long begin, long long end,
    const struct statsdb_dmarc_sink *sink, void *arg, char *why, size_t whylen)
{
	(void)db, (void)begin, (void)end, (void)sink, (void)arg, (void)why, (void)whylen;
	return -1;
}

static void
check_report(const struct report_file *f, const char *domain)
{
	static unsigned char xml[1 << 20];
	z_stream z;
	xmlDocPtr doc;
	xmlNodePtr root;

	if (strchr(f->filename, '/') != NULL || strcmp(f->policy_domain, domain) != 0 ||
	    strncmp(f->filename, "mx.example!", 11) != 0)
		abort();
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		abort();
	z.next_in = (Bytef *)(uintptr_t)f->gz;
	z.avail_in = (uInt)f->gz_len;
	z.next_out = xml;
	z.avail_out = sizeof(xml);
	if (inflate(&z, Z_FINISH) != Z_STREAM_END || z.total_out != f->xml_len)
		abort();
	inflateEnd(&z);
	doc = xmlReadMemory((const char *)xml, (int)f->xml_len, "report.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || (root = xmlDocGetRootElement(doc)) == NULL || root->ns == NULL ||
	    strcmp((const char *)root->ns->href, "urn:ietf:params:xml:ns:dmarc-2.0") != 0)
		abort();
	xmlFreeDoc(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum { DOMAIN, RUA, P, SP, NP, ADKIM, ASPF, TESTING, DISCOVERY, IP, HFROM, EFROM, SPFD,
		SPF, DKIM, DISP, OVER, COMMENT, OTHER, NFIELDS };
	const char *f[NFIELDS] = { 0 };
	char *copy = malloc(size + 1), *p;
	struct dmarcreport_opts o = { "mx.example", "Example Receiver & Co <ops>", "dmarc@mx.example",
		"fuzz" };
	struct dmarcreport_set s;
	char why[300];
	size_t n = 0;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (p = copy; n < NFIELDS && p <= copy + size; p += strlen(p) + 1)
		f[n++] = p;
	/* an empty text stands for NULL (SQL NULL) in the first fields given */
	for (size_t i = 0; i < n; i++)
		if (f[i][0] == '\0' && i % 3 == 0)
			f[i] = NULL;
	struct statsdb_dmarc_policy pol = { f[DOMAIN], f[RUA], f[P], f[SP], f[NP], f[ADKIM], f[ASPF],
		f[TESTING], f[DISCOVERY] };
	struct statsdb_dmarc_record rec = {
		.domain = f[DOMAIN], .source_ip = f[IP], .header_from = f[HFROM],
		.envelope_from = f[EFROM], .spf_domain = f[SPFD], .spf = f[SPF], .dkim = f[DKIM],
		.dkim_aligned = size & 1, .spf_aligned = size & 2, .disposition = f[DISP],
		.override = f[OVER], .override_comment = f[COMMENT], .count = 1,
	};

	if (dmarcreport_begin(&s, &o, "2026-12-01", why, sizeof(why)) < 0)
		abort();
	if (dmarcreport_sink.policy(&s, &pol, why, sizeof(why)) < 0 ||
	    dmarcreport_sink.other(&s, f[DOMAIN], f[HFROM], f[OTHER], 1, why, sizeof(why)) < 0 ||
	    dmarcreport_sink.record(&s, &rec, why, sizeof(why)) < 0)
		abort();
	rec.count = 2;
	if (dmarcreport_sink.record(&s, &rec, why, sizeof(why)) < 0 || dmarcreport_end(&s, why, sizeof(why)) < 0)
		abort();
	if (s.n > 1)
		abort();
	for (size_t i = 0; i < s.n; i++) {
		check_report(&s.v[i], f[DOMAIN]);
		if (s.v[i].messages != 3 || s.v[i].records != 2)
			abort();
	}
	dmarcreport_free(&s);
	free(copy);
	return 0;
}
