/* libFuzzer target: the DMARC record parser (dmarc_record_parse, dmarc.c)
 * on any TXT bytes a sender's DNS can publish. Checks what dmarc.h
 * promises: a result of the three kinds, a reason, values in their ranges
 * and strings within their fields. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* dmarc.c names SPF results in its reasons; spf.c (libspf2) is not linked */
const char *
spf_result_str(enum spf_result r)
{
	(void)r;
	return "spf";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmarc_record rec;
	char why[200];
	int rc;

	memset(why, 'X', sizeof(why));
	rc = dmarc_record_parse((const char *)data, size, &rec, why, sizeof(why));
	if (rc != DMARC_PARSE_OK && rc != DMARC_PARSE_NOT_DMARC && rc != DMARC_PARSE_SYNTAX)
		abort();
	if (memchr(why, '\0', sizeof(why)) == NULL)
		abort();
	if (rc == DMARC_PARSE_SYNTAX && why[0] == '\0')
		abort();
	if (rc != DMARC_PARSE_OK)
		return 0;
	if (rec.pct > 100 || rec.p > DMARC_POLICY_REJECT || rec.sp > DMARC_POLICY_REJECT ||
	    rec.np > DMARC_POLICY_REJECT || rec.psd > DMARC_PSD_N ||
	    (rec.invalid & ~rec.present) != 0)
		abort();
	if (memchr(rec.rua, '\0', sizeof(rec.rua)) == NULL || memchr(rec.ruf, '\0', sizeof(rec.ruf)) == NULL ||
	    memchr(rec.fo, '\0', sizeof(rec.fo)) == NULL)
		abort();
	return 0;
}
