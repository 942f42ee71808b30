/*
 * libFuzzer target: the macro expander (common/checks/spf_macro.c) on its own.
 * Input: one flags byte (bit 0: explain-string rules, bit 1: IPv6 client,
 * bit 2: empty sender and HELO values), then the macro-string. Checks
 * the promises of spf_macro.h that a fuzzer can see: what
 * spf_macro_check accepts, spf_macro_expand expands (or reports an
 * overflow of the bounded buffer); a domain-spec that passes its check
 * also passes the macro-string check; a truncated name is <= 253 octets
 * whenever it has a dot to cut at.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "spf_macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
get_p(void *arg, char *buf, size_t buflen)
{
	(void)arg;
	if (buflen > 0)
		strncpy(buf, "mail.example.com", buflen - 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0xca, 0xfe };
	static const unsigned char ip4[4] = { 203, 0, 113, 7 };
	struct spf_macro_vars v;
	struct sbuf b;
	const char *s;
	size_t len, bad = 0;
	int flags, exp_text, rc;

	if (size < 1 || size > 16384)
		return 0;
	flags = data[0];
	s = (const char *)data + 1;
	len = size - 1;
	exp_text = flags & 1;
	memset(&v, 0, sizeof(v));
	v.sender = flags & 4 ? "" : "a.b-c+d@x.example.com";
	v.local = flags & 4 ? "" : "a.b-c+d";
	v.sender_domain = "x.example.com";
	v.domain = "x.example.com";
	v.helo = flags & 4 ? "" : "[192.0.2.1]";
	v.receiver = flags & 8 ? NULL : "mx.example.net";
	v.v4 = !(flags & 2);
	memcpy(v.ip, v.v4 ? ip4 : ip6, v.v4 ? 4 : 16);
	v.now = 1700000000;
	v.get_p = get_p;

	rc = spf_macro_check(s, len, exp_text, &bad);
	if (rc < 0 && bad > len)
		abort();
	if (spf_domain_spec_check(s, len, &bad) == 0 &&
	    spf_macro_check(s, len, 0, NULL) != 0)
		abort();
	if (rc == 0) {
		sbuf_init(&b, 2048);
		if (spf_macro_expand(s, len, exp_text, &v, &b) < 0 && !b.overflow)
			abort();	/* checked input only fails by overflow */
		if (!b.overflow && !exp_text) {
			spf_domain_truncate(b.s);
			if (strlen(b.s) > 254 && strchr(b.s, '.') != NULL &&
			    strchr(b.s, '.')[1] != '\0')
				abort();
		}
		sbuf_free(&b);
	}
	return 0;
}
