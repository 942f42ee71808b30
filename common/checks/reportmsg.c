/*
 * reportmsg: a DMARC aggregate report's Subject; see reportmsg.h.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "domain.h"
#include "reportmsg.h"

struct cursor {
	const char *p, *end;
};

static int
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips blanks; returns how many. */
static size_t
skip_blanks(struct cursor *c)
{
	size_t n = 0;

	for (; c->p < c->end && blank(*c->p); c->p++)
		n++;
	return n;
}

/* The keyword (any case), then blanks: at least one when need_blank. */
static int
keyword(struct cursor *c, const char *word, int need_blank)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, word, n) != 0)
		return 0;
	c->p += n;
	return skip_blanks(c) > 0 || !need_blank;
}

/* A token up to the next blank: a valid domain name, normalized into out. */
static int
domain_token(struct cursor *c, char *out, size_t outlen)
{
	const char *start = c->p;
	char text[DOMAIN_MAX + 2], why[80];
	size_t n;

	while (c->p < c->end && !blank(*c->p))
		c->p++;
	n = (size_t)(c->p - start);
	if (n == 0 || n > DOMAIN_MAX + 1 || memchr(start, '\0', n) != NULL)
		return 0;
	memcpy(text, start, n);
	text[n] = '\0';
	if (domain_normalize(text, out, outlen, why, sizeof(why)) < 0)
		return 0;
	return skip_blanks(c) > 0;
}

int
reportmsg_subject(const char *value, size_t len, char *domain, size_t domainlen)
{
	struct cursor c = { value, value + len };
	char submitter[DOMAIN_MAX + 1];

	if (domainlen > 0)
		domain[0] = '\0';
	if (value == NULL || domain == NULL || domainlen == 0)
		return 0;
	skip_blanks(&c);
	if (!keyword(&c, "Report", 1) || !keyword(&c, "Domain:", 1) ||
	    !domain_token(&c, domain, domainlen) || !keyword(&c, "Submitter:", 1) ||
	    !domain_token(&c, submitter, sizeof(submitter)) || !keyword(&c, "Report-ID:", 0)) {
		domain[0] = '\0';
		return 0;
	}
	/* the Report-ID: a msg-id ("<...>") as the RFC writes it, or any word */
	while (c.end > c.p && blank(c.end[-1]))
		c.end--;
	if (c.p == c.end) {
		domain[0] = '\0';
		return 0;
	}
	return 1;
}
