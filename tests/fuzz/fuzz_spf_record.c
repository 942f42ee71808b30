/*
 * libFuzzer target: the SPF record parser (common/checks/spf_record.c) and the
 * macro expander on every domain-spec and modifier value it accepts
 * (common/checks/spf_macro.c). Input: one TXT record's text (any octets);
 * "v=spf1 " is put in front when it is not there, so that the parser,
 * not the version check, gets the input. What the parser accepts is
 * expanded with fixed values, for an IPv4 and an IPv6 client (no DNS:
 * %{p} is "unknown"), and cut as a domain name.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "spf_macro.h"
#include "spf_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
vars(struct spf_macro_vars *v, int v4)
{
	static const unsigned char ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0x10 };
	static const unsigned char ip4[4] = { 192, 0, 2, 10 };

	memset(v, 0, sizeof(*v));
	v->sender = "strong-bad@email.example.com";
	v->local = "strong-bad";
	v->sender_domain = "email.example.com";
	v->domain = "email.example.com";
	v->helo = "mx.example.org";
	v->receiver = "mx.example.net";
	v->v4 = v4;
	memcpy(v->ip, v4 ? ip4 : ip6, v4 ? 4 : 16);
	v->now = 1700000000;
}

static void
expand_terms(const struct spf_record *rec, int v4)
{
	struct spf_macro_vars v;
	struct sbuf b;
	char term[128];
	size_t i;

	for (i = 0; i < rec->n; i++) {
		const struct spf_term *t = &rec->terms[i];

		spf_term_text(rec, i, term, sizeof(term));
		if (t->spec_len == 0)
			continue;
		vars(&v, v4);
		sbuf_init(&b, 4096);
		if (spf_macro_expand(rec->text + t->spec, t->spec_len,
		    t->kind == SPF_T_UNKNOWN_MOD, &v, &b) == 0)
			spf_domain_truncate(b.s);
		sbuf_free(&b);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spf_record rec;
	char err[256], *txt;
	size_t len = size;

	if (size > 65536)
		return 0;
	txt = malloc(size + 8);
	if (txt == NULL)
		return 0;
	if (spf_record_is_spf((const char *)data, size)) {
		memcpy(txt, data, size);
	} else {
		memcpy(txt, "v=spf1 ", 7);
		memcpy(txt + 7, data, size);
		len += 7;
	}
	if (spf_record_parse(txt, len, &rec, err, sizeof(err)) == 0) {
		expand_terms(&rec, 1);
		expand_terms(&rec, 0);
	} else if (strnlen(err, sizeof(err)) == sizeof(err)) {
		abort();	/* the message must be a terminated string */
	}
	spf_record_free(&rec);
	free(txt);
	return 0;
}
