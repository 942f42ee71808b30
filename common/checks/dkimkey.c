/*
 * dkimkey: see dkimkey.h. The tag list is read by dkim_tags.c, the parser
 * the builtin verifier uses, so that a key is asked early exactly when
 * that verifier will ask for it.
 */
#include "config.h"

#include <string.h>

#include "dkim_tags.h"
#include "dkimkey.h"
#include "dnsname.h"

#define KEY_NAME_MAX	253

/* A selector or domain: a host name (letters, digits, '-', '_'). */
static int
name_ok(const struct dkim_tag *t)
{
	return t != NULL && dns_name_check(t->value, t->value_len, DNS_NAME_HOST, NULL, 0) == 0;
}

/* The key name of a tag list that has every tag of required; v= if v1. */
static int
key_name(const char *value, size_t len, const char *const *required, int v1, char *out,
    size_t outlen)
{
	struct dkim_tags tags;
	const struct dkim_tag *d, *s, *q;
	char why[120];
	size_t n;

	if (value == NULL || out == NULL || outlen == 0)
		return -1;
	out[0] = '\0';
	if (dkim_tags_parse(value, len, &tags, why, sizeof why) < 0 ||
	    (v1 && !dkim_tag_is(dkim_tags_get(&tags, "v"), "1", 0)))
		return -1;
	for (size_t i = 0; required[i] != NULL; i++)
		if (dkim_tags_get(&tags, required[i]) == NULL)
			return -1;
	q = dkim_tags_get(&tags, "q");
	if (q != NULL && !dkim_tag_is(q, "dns/txt", 0))
		return -1;
	d = dkim_tags_get(&tags, "d");
	s = dkim_tags_get(&tags, "s");
	if (!name_ok(d) || !name_ok(s))
		return -1;
	n = s->value_len + strlen("._domainkey.") + d->value_len;
	if (n > KEY_NAME_MAX || n + 1 > outlen)
		return -1;
	memcpy(out, s->value, s->value_len);
	memcpy(out + s->value_len, "._domainkey.", 12);
	memcpy(out + s->value_len + 12, d->value, d->value_len);
	out[n] = '\0';
	return 0;
}

int
dkim_key_name(const char *value, size_t len, char *out, size_t outlen)
{
	static const char *const required[] = { "a", "b", "bh", "h", NULL };

	return key_name(value, len, required, 1, out, outlen);
}

int
arc_key_name(const char *value, size_t len, int seal, char *out, size_t outlen)
{
	static const char *const seal_tags[] = { "i", "a", "b", "cv", NULL };
	static const char *const ams_tags[] = { "i", "a", "b", "bh", "h", NULL };

	return key_name(value, len, seal ? seal_tags : ams_tags, 0, out, outlen);
}
