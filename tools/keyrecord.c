/*
 * keyrecord: DKIM key record check; see keyrecord.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "keyrecord.h"

#define MAX_TAGS 32

struct tag {
	const char *name, *value;
	size_t name_len, value_len;
};

static void
note(char (*list)[160], size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
note(char (*list)[160], size_t *n, const char *fmt, ...)
{
	va_list ap;

	if (*n == KEYREC_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(list[(*n)++], 160, fmt, ap);
	va_end(ap);
}

#define PROBLEM(o, ...) note((o)->problems, &(o)->n_problems, __VA_ARGS__)
#define WARNING(o, ...) note((o)->warnings, &(o)->n_warnings, __VA_ARGS__)

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Splits "a=b; c=d" into tags (white space trimmed); -1 on a syntax error. */
static int
split(const char *s, size_t len, struct tag *t, size_t *n, struct keyrecord *o)
{
	size_t i = 0;

	*n = 0;
	while (i < len) {
		size_t start = i, end, eq;

		while (i < len && s[i] != ';')
			i++;
		end = i++;
		while (start < end && is_ws(s[start]))
			start++;
		while (end > start && is_ws(s[end - 1]))
			end--;
		if (start == end)
			continue;	/* empty item: a trailing ';' */
		for (eq = start; eq < end && s[eq] != '='; eq++)
			;
		if (eq == end) {
			PROBLEM(o, "syntax: '%.*s' is not tag=value", (int)(end - start > 40 ? 40 : end - start),
			    s + start);
			return -1;
		}
		if (*n == MAX_TAGS) {
			PROBLEM(o, "syntax: more than %d tags", MAX_TAGS);
			return -1;
		}
		t[*n].name = s + start;
		t[*n].name_len = eq;
		while (t[*n].name_len > start && is_ws(s[t[*n].name_len - 1]))
			t[*n].name_len--;
		t[*n].name_len -= start;
		t[*n].value = s + eq + 1;
		t[*n].value_len = end - eq - 1;
		while (t[*n].value_len > 0 && is_ws(*t[*n].value)) {
			t[*n].value++;
			t[*n].value_len--;
		}
		if (t[*n].name_len == 0 || !isalpha((unsigned char)t[*n].name[0])) {
			PROBLEM(o, "syntax: a tag name must start with a letter");
			return -1;
		}
		for (size_t k = 0; k < *n; k++)
			if (t[k].name_len == t[*n].name_len &&
			    strncmp(t[k].name, t[*n].name, t[k].name_len) == 0) {
				PROBLEM(o, "tag %.*s= appears twice (RFC 6376 3.2: the record is invalid)",
				    (int)(t[k].name_len > 16 ? 16 : t[k].name_len), t[k].name);
				return -1;
			}
		(*n)++;
	}
	return 0;
}

static const struct tag *
find(const struct tag *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].name_len == strlen(name) && strncmp(t[i].name, name, t[i].name_len) == 0)
			return &t[i];
	return NULL;
}

static int
value_is(const struct tag *t, const char *v)
{
	return t->value_len == strlen(v) && strncasecmp(t->value, v, t->value_len) == 0;
}

/* Whether the colon list holds item (white space around items allowed). */
static int
list_has(const struct tag *t, const char *item)
{
	size_t i = 0;

	while (i < t->value_len) {
		size_t s = i, e;

		while (i < t->value_len && t->value[i] != ':')
			i++;
		e = i++;
		while (s < e && is_ws(t->value[s]))
			s++;
		while (e > s && is_ws(t->value[e - 1]))
			e--;
		if (e - s == strlen(item) && strncasecmp(t->value + s, item, e - s) == 0)
			return 1;
	}
	return 0;
}

/* The key bits of p= (base64, white space allowed) for key type k. */
static void
key_size(const struct tag *p, int ed25519, struct keyrecord *o)
{
	unsigned char b64[4096], der[3072];
	const unsigned char *q = der;
	size_t n = 0;
	int len;
	EVP_PKEY *pk;

	for (size_t i = 0; i < p->value_len; i++) {
		if (is_ws(p->value[i]))
			continue;
		if (n + 1 >= sizeof(b64)) {
			PROBLEM(o, "p= is longer than any key in use");
			return;
		}
		b64[n++] = (unsigned char)p->value[i];
	}
	b64[n] = '\0';
	if (n % 4 != 0 || (len = EVP_DecodeBlock(der, b64, (int)n)) < 0) {
		PROBLEM(o, "p= is not valid base64");
		return;
	}
	/* EVP_DecodeBlock counts the '=' padding as zero bytes */
	len -= (n > 0 && b64[n - 1] == '=') + (n > 1 && b64[n - 2] == '=');
	if (ed25519) {
		if (len != 32)
			PROBLEM(o, "an ed25519 p= must be the 32-byte raw key (RFC 8463), not %d bytes", len);
		else
			o->bits = 256;
		return;
	}
	if ((pk = d2i_PUBKEY(NULL, &q, len)) == NULL || EVP_PKEY_base_id(pk) != EVP_PKEY_RSA) {
		PROBLEM(o, "p= is not an RSA public key (SubjectPublicKeyInfo)");
		EVP_PKEY_free(pk);
		return;
	}
	o->bits = (unsigned)EVP_PKEY_get_bits(pk);
	EVP_PKEY_free(pk);
	if (o->bits < 1024)
		PROBLEM(o, "RSA key of %u bits: receivers reject keys under 1024 bits (RFC 8301)", o->bits);
	else if (o->bits < 2048)
		WARNING(o, "RSA key of %u bits: 2048 is advised (Google, Yahoo)", o->bits);
}

void
keyrecord_check(const char *text, size_t len, struct keyrecord *o)
{
	struct tag t[MAX_TAGS];
	const struct tag *v, *k, *h, *p, *s, *fl;
	size_t n;
	int ed = 0;

	memset(o, 0, sizeof(*o));
	snprintf(o->k, sizeof(o->k), "rsa");
	if (split(text, len, t, &n, o) < 0)
		return;
	if ((v = find(t, n, "v")) != NULL && (v != &t[0] || !value_is(v, "DKIM1")))
		PROBLEM(o, "v= must be DKIM1 and the first tag, if present");
	if ((k = find(t, n, "k")) != NULL) {
		snprintf(o->k, sizeof(o->k), "%.*s", (int)(k->value_len < 15 ? k->value_len : 15), k->value);
		if (value_is(k, "ed25519")) {
			ed = 1;
			WARNING(o, "ed25519 only: some receivers do not verify ed25519 (RFC 8463); sign with an "
			    "RSA-2048 key too");
		} else if (!value_is(k, "rsa")) {
			PROBLEM(o, "k=%s is not a key type receivers know (rsa, ed25519)", o->k);
		}
	}
	if ((h = find(t, n, "h")) != NULL && !list_has(h, "sha256"))
		PROBLEM(o, "h= does not allow sha256: rsa-sha1 alone is not accepted (RFC 8301)");
	if ((s = find(t, n, "s")) != NULL && !list_has(s, "*") && !list_has(s, "email"))
		PROBLEM(o, "s= does not allow email");
	if ((fl = find(t, n, "t")) != NULL && list_has(fl, "y")) {
		o->testing = 1;
		WARNING(o, "t=y: testing mode, some receivers treat signatures as unsigned; remove it");
	}
	if ((p = find(t, n, "p")) == NULL) {
		PROBLEM(o, "no p= tag: the record holds no key");
		return;
	}
	if (p->value_len == 0) {
		o->revoked = 1;
		PROBLEM(o, "p= is empty: the key is revoked");
		return;
	}
	if (k == NULL || value_is(k, "rsa") || ed)
		key_size(p, ed, o);
}
