/*
 * dkim: the interface of dkim.h over the two engines, and the result rules
 * they share (dkim_engine.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"
#include "dkim_engine.h"
#include "dkim_key.h"
#include "dkim_tags.h"
#include "sbuf.h"

struct dkim_verifier {
	const struct dkim_engine_ops *ops;
	void *impl;
};

struct dkim_msg {
	const struct dkim_engine_ops *ops;
	void *impl;
};

const char *
dkim_res_str(enum dkim_res r)
{
	static const char *const names[DKIM_RES_COUNT] = {
		"none", "pass", "fail", "policy", "neutral", "temperror", "permerror",
	};

	return (unsigned)r < DKIM_RES_COUNT ? names[r] : "permerror";
}

struct dkim_verifier *
dkim_verifier_new(enum dkim_engine_kind kind, unsigned max_signatures,
    char *why, size_t whylen)
{
	struct dkim_verifier *v;

	/* both engines' ARC and the builtin verifier check signatures here */
	if (dkim_key_init() < 0) {
		str_format(why, whylen, "libsodium could not start (sodium_init failed)");
		return NULL;
	}
	if ((v = calloc(1, sizeof *v)) == NULL) {
		str_format(why, whylen, "out of memory");
		return NULL;
	}
	v->ops = kind == DKIM_ENGINE_LIBOPENDKIM ? &dkim_opendkim_ops : &dkim_builtin_ops;
	v->impl = v->ops->verifier_new(max_signatures, why, whylen);
	if (v->impl == NULL) {
		free(v);
		return NULL;
	}
	return v;
}

const char *
dkim_engine_name(const struct dkim_verifier *v)
{
	return v != NULL ? v->ops->name : "none";
}

void
dkim_verifier_free(struct dkim_verifier *v)
{
	if (v == NULL)
		return;
	v->ops->verifier_free(v->impl);
	free(v);
}

struct dkim_msg *
dkim_msg_new(struct dkim_verifier *v, struct dns_ctx *dns, const char *id)
{
	struct dkim_msg *m;

	if (v == NULL || dns == NULL || (m = calloc(1, sizeof *m)) == NULL)
		return NULL;
	m->ops = v->ops;
	m->impl = v->ops->msg_new(v->impl, dns, id);
	if (m->impl == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
dkim_msg_header(struct dkim_msg *m, const char *name, const char *value)
{
	if (m != NULL && name != NULL && value != NULL)
		m->ops->header(m->impl, name, value);
}

void
dkim_msg_eoh(struct dkim_msg *m)
{
	if (m != NULL)
		m->ops->eoh(m->impl);
}

void
dkim_msg_share_bodies(struct dkim_msg *m, struct dkim_bodies *l)
{
	if (m != NULL && m->ops->share_bodies != NULL)
		m->ops->share_bodies(m->impl, l);
}

void
dkim_msg_body(struct dkim_msg *m, const unsigned char *p, size_t n)
{
	if (m != NULL && p != NULL && n > 0)
		m->ops->body(m->impl, p, n);
}

int
dkim_msg_finish(struct dkim_msg *m, const struct dkim_sig_result **res,
    size_t *nres, const char **why)
{
	*res = NULL;
	*nres = 0;
	*why = NULL;
	if (m == NULL) {
		*why = "no message";
		return -1;
	}
	return m->ops->finish(m->impl, res, nres, why);
}

void
dkim_msg_free(struct dkim_msg *m)
{
	if (m == NULL)
		return;
	m->ops->msg_free(m->impl);
	free(m);
}

/* ---- shared result rules ---- */

void
dkim_copy(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t i;

	if (dstlen == 0)
		return;
	for (i = 0; src != NULL && i < len && src[i] != '\0' && i + 1 < dstlen; i++)
		dst[i] = iscntrl((unsigned char)src[i]) ? '?' : src[i];
	dst[i] = '\0';
}

void
dkim_why(struct dkim_sig_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vformat(r->why, sizeof r->why, fmt, ap);
	va_end(ap);
}

void
dkim_sig_set_hlist(struct dkim_sig_result *r, const char *h, size_t len)
{
	static const char *const counted[DKIM_H_COUNT] = {
		"from", "list-unsubscribe", "list-unsubscribe-post",
	};
	const char *p = h, *name;
	size_t n;

	r->n_signed = 0;
	memset(r->signs, 0, sizeof r->signs);
	while (h != NULL && dkim_list_item(&p, h + len, &name, &n)) {
		for (int k = 0; k < DKIM_H_COUNT; k++)
			if (n == strlen(counted[k]) && strncasecmp(name, counted[k], n) == 0)
				r->signs[k]++;
		if (n > 0 && r->n_signed < DKIM_MAX_SIGNED_HDRS) {
			char *cur = r->signed_hdrs[r->n_signed++];
			size_t i;

			for (i = 0; i < n && i + 1 < sizeof r->signed_hdrs[0]; i++) {
				unsigned char c = (unsigned char)name[i];

				cur[i] = iscntrl(c) || isspace(c) ? '?' : (char)tolower(c);
			}
			cur[i] = '\0';
		}
	}
}

/* Fields of the result that come straight from tags, valid or not. */
void
dkim_result_tags(struct dkim_sig_result *r, const struct dkim_tags *tags)
{
	const struct dkim_tag *t;
	size_t k = 0;

	if ((t = dkim_tags_get(tags, "d")) != NULL)
		dkim_copy(r->domain, sizeof r->domain, t->value, t->value_len);
	if ((t = dkim_tags_get(tags, "s")) != NULL)
		dkim_copy(r->selector, sizeof r->selector, t->value, t->value_len);
	if ((t = dkim_tags_get(tags, "a")) != NULL)
		dkim_copy(r->algorithm, sizeof r->algorithm, t->value, t->value_len);
	if ((t = dkim_tags_get(tags, "b")) != NULL)
		for (size_t i = 0; i < t->value_len && k < 8; i++)
			if (!isspace((unsigned char)t->value[i]))
				r->b_prefix[k++] = iscntrl((unsigned char)t->value[i]) ? '?' : t->value[i];
	r->b_prefix[k] = '\0';
	if ((t = dkim_tags_get(tags, "h")) != NULL)
		dkim_sig_set_hlist(r, t->value, t->value_len);
	if ((t = dkim_tags_get(tags, "l")) != NULL) {
		unsigned long long l = 0;

		r->has_length = 1;
		if (dkim_tag_number(t, &l) == 0)
			r->length = (unsigned long)l;
	}
}

/* RFC 8301: rsa-sha1 and short RSA keys are never acceptable. */
static void
rule_rfc8301(struct dkim_sig_result *r)
{
	char was[sizeof r->why];

	if (r->result != DKIM_RES_PASS && r->result != DKIM_RES_FAIL)
		return;
	memcpy(was, r->why, sizeof was);
	if (strcasecmp(r->algorithm, "rsa-sha1") == 0)
		dkim_why(r, "rsa-sha1 is not acceptable (RFC 8301)");
	else if (strncasecmp(r->algorithm, "rsa-", 4) == 0 &&
	    r->key_bits > 0 && r->key_bits < 1024)
		dkim_why(r, "RSA key of %u bits is below 1024 (RFC 8301)", r->key_bits);
	else
		return;
	if (r->result == DKIM_RES_FAIL && was[0] != '\0') {
		size_t n = strlen(r->why);

		str_format(r->why + n, sizeof r->why - n, "; %s", was);
	}
	r->result = DKIM_RES_POLICY;
}

static void
add_note(struct dkim_sig_result *r, const char *note)
{
	size_t n = strlen(r->why);

	str_format(r->why + n, sizeof r->why - n, "%s%s", n > 0 ? "; " : "", note);
}

void
dkim_result_rules(struct dkim_sig_result *r)
{
	rule_rfc8301(r);
	if (r->result == DKIM_RES_PASS && r->has_length)
		dkim_why(r, "l=%lu: only the first %lu body bytes are signed",
		    r->length, r->length);
	if (r->testing)
		add_note(r, "key in testing mode (t=y)");
}

void
dkim_result_not_checked(struct dkim_sig_result *r, unsigned max_signatures)
{
	r->result = DKIM_RES_NEUTRAL;
	dkim_why(r, "not checked: over the limit of %u signatures", max_signatures);
}
